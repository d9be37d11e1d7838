//! Repository hygiene: every source file says what it is.

use std::path::{Path, PathBuf};

fn source_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).expect("read a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// As rust-analyzer's tidy check: a `//!` first line makes each file explain itself.
#[test]
fn every_source_file_starts_with_a_module_comment() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("read crates/") {
        let source = entry.expect("a crate directory").path().join("src");
        if source.is_dir() {
            source_files(&source, &mut files);
        }
    }
    assert!(
        files.len() > 20,
        "found only {} source files under {}",
        files.len(),
        crates.display()
    );
    let missing: Vec<String> = files
        .iter()
        .filter(|file| {
            !std::fs::read_to_string(file)
                .expect("read a source file")
                .starts_with("//!")
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "source files without a leading `//!` comment:\n{}",
        missing.join("\n")
    );
}

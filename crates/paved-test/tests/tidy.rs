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

/// The rows of the Markdown table between `<!-- tidy:NAME -->` and `<!-- /tidy:NAME -->` in
/// ARCHITECTURE.md, as (first cell, names listed in the second cell).
fn architecture_table(name: &str) -> Vec<(String, Vec<String>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).expect("read ARCHITECTURE.md");
    let start = format!("<!-- tidy:{name} -->");
    let end = format!("<!-- /tidy:{name} -->");
    let table = text
        .split_once(&start)
        .and_then(|(_, rest)| rest.split_once(&end))
        .map(|(table, _)| table)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no `{start}` ... `{end}` table"));
    table
        .lines()
        .filter(|line| line.starts_with('|') && !line.starts_with("|---"))
        .skip(1) // the header
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let names = cells[1].split(',').map(|name| name.trim().to_owned());
            (cells[0].to_owned(), names.collect())
        })
        .collect()
}

/// Each crate's name and the names of its `[dependencies]` (not dev or build ones).
fn crate_dependencies() -> Vec<(String, Vec<String>)> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("read crates/") {
        let manifest = entry.expect("a crate directory").path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let mut name = None;
        let mut dependencies = Vec::new();
        let mut section = "";
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line;
                continue;
            }
            let key = line.split(['=', '.', ' ']).next().unwrap_or_default();
            if key.is_empty() || key.starts_with('#') {
                continue;
            }
            match section {
                "[package]" if key == "name" => {
                    name = line.split('"').nth(1).map(str::to_owned);
                }
                "[dependencies]" => dependencies.push(key.to_owned()),
                _ => {}
            }
        }
        let name = name.unwrap_or_else(|| panic!("{} names no package", manifest.display()));
        found.push((name, dependencies));
    }
    assert!(found.len() > 10, "found only {} crates", found.len());
    found
}

/// The layers in ARCHITECTURE.md are the rule: dependencies point down only, and every crate
/// is in a layer.
#[test]
fn crate_dependencies_follow_the_layers() {
    let layers = architecture_table("layers");
    // Lower layers come later in the table; the dev-only row may depend on anything.
    let rank = |name: &str| -> Option<(usize, &str)> {
        layers
            .iter()
            .enumerate()
            .find(|(_, (_, crates))| crates.iter().any(|listed| listed == name))
            .map(|(index, (layer, _))| (layers.len() - index, layer.as_str()))
    };
    let mut violations = Vec::new();
    for (name, dependencies) in crate_dependencies() {
        let Some((own, own_layer)) = rank(&name) else {
            violations.push(format!("`{name}` is in no layer of ARCHITECTURE.md"));
            continue;
        };
        if own_layer == "dev-only" {
            continue;
        }
        for dependency in dependencies
            .iter()
            .filter(|dependency| dependency.starts_with("paved"))
        {
            match rank(dependency) {
                Some((_, "dev-only")) => violations.push(format!(
                    "`{name}` depends on the dev-only `{dependency}`"
                )),
                Some((theirs, their_layer)) if theirs > own => violations.push(format!(
                    "`{name}` ({own_layer}) depends on `{dependency}` ({their_layer}), a layer above it"
                )),
                Some(_) => {}
                None => violations.push(format!("`{dependency}` is in no layer of ARCHITECTURE.md")),
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// Libraries that belong to one box are used by that box only.
#[test]
fn exclusive_libraries_stay_in_their_crates() {
    let exclusive = architecture_table("exclusive");
    assert!(exclusive.len() >= 5, "the exclusive table is missing rows");
    let mut violations = Vec::new();
    for (name, dependencies) in crate_dependencies() {
        if name == "paved-test" {
            continue;
        }
        for (library, owners) in &exclusive {
            if dependencies.contains(library) && !owners.contains(&name) {
                violations.push(format!(
                    "`{name}` depends on `{library}`, which only {} may use",
                    owners.join(", ")
                ));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

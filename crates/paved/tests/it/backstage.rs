//! Backstage's own catalog validator (`@backstage/catalog-model` and the scaffolder's Template
//! v1beta3 validator), installed by `.ci/setup-oracles`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Backstage's verdict on one document of one file.
pub struct Verdict {
    pub file: PathBuf,
    pub document: usize,
    pub ok: bool,
    /// The validator's line and, for an invalid document, its reason.
    pub text: String,
}

/// `node validate-catalog.js` in the oracles directory.
pub struct BackstageValidator {
    dir: PathBuf,
}

impl BackstageValidator {
    /// Fails (never skips) when the oracle is not installed.
    pub fn locate() -> BackstageValidator {
        BackstageValidator {
            dir: paved_test::backstage_validator_dir(),
        }
    }

    /// Backstage's verdict on every document of `files`, in order. Relative paths are taken
    /// from this crate, since the validator runs in its own directory.
    pub fn run(&self, files: &[PathBuf]) -> Vec<Verdict> {
        let absolute: Vec<PathBuf> = files
            .iter()
            .map(|file| Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
            .collect();
        let output = Command::new("node")
            .arg("validate-catalog.js")
            .args(&absolute)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|error| {
                panic!("cannot run `node` for Backstage's validator ({error}); install Node.js and run `.ci/setup-oracles`")
            });
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut verdicts: Vec<Verdict> = Vec::new();
        for line in stdout.lines() {
            if line.starts_with("    ") {
                let last = verdicts
                    .last_mut()
                    .unwrap_or_else(|| panic!("a reason before any verdict:\n{stdout}"));
                last.text.push('\n');
                last.text.push_str(line);
                continue;
            }
            let (position, rest) = absolute
                .iter()
                .enumerate()
                .find_map(|(position, file)| {
                    line.strip_prefix(&format!("{}#", file.display()))
                        .map(|rest| (position, rest))
                })
                .unwrap_or_else(|| panic!("unexpected validator output `{line}`:\n{stdout}"));
            let (index, _) = rest
                .split_once(' ')
                .unwrap_or_else(|| panic!("unexpected validator output `{line}`"));
            let ok = match line.rsplit(' ').next() {
                Some("OK") => true,
                Some("INVALID") => false,
                _ => panic!("unexpected validator output `{line}`"),
            };
            verdicts.push(Verdict {
                file: files[position].clone(),
                document: index.parse().expect("a document index"),
                ok,
                text: line.to_owned(),
            });
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.code().is_some_and(|code| code <= 1) && stderr.trim().is_empty(),
            "Backstage's validator failed:\n{stdout}\n{stderr}"
        );
        assert_eq!(
            output.status.success(),
            verdicts.iter().all(|verdict| verdict.ok),
            "the validator's exit status disagrees with its output:\n{stdout}"
        );
        for file in files {
            assert!(
                verdicts.iter().any(|verdict| &verdict.file == file),
                "Backstage's validator saw no document in `{}`:\n{stdout}",
                file.display()
            );
        }
        verdicts
    }
}

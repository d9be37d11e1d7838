//! Backstage's validator (`paved_test::backstage`) on files named relative to this crate.

use std::path::{Path, PathBuf};

pub use paved_test::backstage::{BackstageValidator, Verdict};

/// Runs the validator on `files`, relative paths taken from this crate, and reports each
/// verdict against the path as given.
pub fn run(files: &[PathBuf]) -> Vec<Verdict> {
    let absolute: Vec<PathBuf> = files
        .iter()
        .map(|file| Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .collect();
    let mut verdicts = BackstageValidator::locate().run(&absolute);
    for verdict in &mut verdicts {
        let position = absolute
            .iter()
            .position(|file| *file == verdict.file)
            .expect("a verdict names one of the files");
        verdict.file = files[position].clone();
    }
    verdicts
}

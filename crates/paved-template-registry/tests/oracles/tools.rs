//! Finding and running the independent checkers (.ci/setup-oracles installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `$ORACLES_HOME`, by default `~/.cache/paved-oracles`.
pub fn oracles_home() -> PathBuf {
    match std::env::var_os("ORACLES_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => {
            let home = std::env::var_os("HOME").expect("HOME or ORACLES_HOME is set");
            Path::new(&home).join(".cache/paved-oracles")
        }
    }
}

/// A file of the oracles' home; fails the test (never skips it) when it is missing.
pub fn oracle(relative: &str) -> PathBuf {
    let path = oracles_home().join(relative);
    assert!(
        path.exists(),
        "oracle missing: {} does not exist; run .ci/setup-oracles (ORACLES_HOME={})",
        path.display(),
        oracles_home().display()
    );
    path
}

/// A helper file of this test target (`tests/oracles/NAME`).
pub fn helper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracles")
        .join(name)
}

/// Runs `command` to its end and returns its output; fails the test if it cannot start.
pub fn run(mut command: Command) -> Output {
    command.env("ORACLES_HOME", oracles_home());
    let shown = format!("{command:?}");
    command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {shown}: {err}; run .ci/setup-oracles"))
}

/// stdout and stderr of `output`, for failure messages.
pub fn shown(output: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

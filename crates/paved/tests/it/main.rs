//! Integration tests of the `paved` binary: `paved catalog validate` against Backstage's own
//! validator, and `paved up` with the catalog, template and service commands talking to it.

mod backstage;
mod config;
mod engine;
mod engine_cli;
mod examples;
mod refusals;
mod services;
mod templates;
mod up;
mod validate;

use std::path::{Path, PathBuf};
use std::process::Command;

/// `paved` with the working directory at this crate and no `PAVED_*` settings inherited.
pub fn paved() -> Command {
    paved_in(Command::new(env!("CARGO_BIN_EXE_paved")))
}

/// `paved` started by `sh` under `umask` (such as `000`), with the same environment.
pub fn paved_under_umask(umask: &str) -> Command {
    let mut shell = Command::new("sh");
    shell.args([
        "-c",
        &format!("umask {umask} && exec \"$0\" \"$@\""),
        env!("CARGO_BIN_EXE_paved"),
    ]);
    paved_in(shell)
}

/// `command` in the crate's directory, without the test runner's `PAVED_*` variables and with
/// a config directory that holds no `paved/config.toml`, so the user's own never applies.
pub(crate) fn paved_in(mut command: Command) -> Command {
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PAVED_") {
            command.env_remove(key);
        }
    }
    command.env(
        "XDG_CONFIG_HOME",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-user-config"),
    );
    command
}

/// What a finished command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

#[track_caller]
pub fn run(command: &mut Command) -> Run {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    Run::from(output)
}

/// Runs `command` with `input` on its stdin.
pub fn run_with_stdin(command: &mut Command, input: &str) -> Run {
    use std::io::Write as _;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("write stdin");
    Run::from(child.wait_with_output().expect("wait for the command"))
}

impl From<std::process::Output> for Run {
    fn from(output: std::process::Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The shared oracle fixtures, relative to this crate (the directory `paved()` runs in).
pub const FIXTURES: &str = "../../../shared/oracles/fixtures";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

/// The same fixture as an absolute path, for commands that run elsewhere.
pub fn fixture_absolute(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture(name))
}

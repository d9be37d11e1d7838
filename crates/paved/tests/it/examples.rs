//! The README's and the docs' examples, run as written against a fresh `paved up` (a real
//! process), from a copy of `examples/`.
//!
//! The convention (ARCHITECTURE.md, "Examples that run"): every ```` ```sh ```` block of
//! `README.md` and `docs/*.md` is preceded by a marker line,
//!
//! - `<!-- example: run -->`: run by this test, in order, as one `bash` script with
//!   `set -euo pipefail`; every command must exit 0;
//! - `<!-- example: not run: REASON -->`: not run; the text around it says what it needs;
//!
//! and a ```` ```text ```` block preceded by `<!-- example: output -->` is the sample output
//! of the last command of the run block before it: its lines must match that command's
//! standard output line for line, `…` standing for any text within a line.
//!
//! Each document gets its own `paved up`, started in the copy of `examples/` on a free port
//! with its data in `./.paved`, before its first block runs: a `paved up &` line is that
//! server, not run again. `PAVED_SERVER` points at it, and `127.0.0.1:7080` in a block is
//! replaced by its address; nothing else in a block is changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::up::Up;
use crate::{Run, run};

/// How long one block may run (a service creation, an image build, a rollout start).
const BLOCK_SECONDS: u32 = 300;
/// The address the documents use, and the server's default.
const DOCUMENTED_ADDRESS: &str = "127.0.0.1:7080";
const RUN: &str = "<!-- example: run -->";
const OUTPUT: &str = "<!-- example: output -->";
const NOT_RUN: &str = "<!-- example: not run: ";
/// Printed before each command, on stdout, so that a command's own output can be told apart.
const SEPARATOR: &str = "\u{1}example command\u{1}";

/// A block to run, with where it is and the sample output that follows it.
#[derive(Debug)]
struct Example {
    document: String,
    line: usize,
    commands: Vec<String>,
    output: Option<Vec<String>>,
}

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md, then docs/*.md by name.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("read docs/")
        .map(|entry| entry.expect("a docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    docs.sort();
    let mut all = vec![root().join("README.md")];
    all.extend(docs);
    all
}

/// The marked blocks of one document; panics, naming the line, on a `sh` block without a
/// marker or a marker without its block.
fn parse(document: &str, text: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut examples: Vec<Example> = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].trim();
        let marker = if line == RUN || line == OUTPUT {
            Some(line)
        } else if line.starts_with(NOT_RUN) && line.ends_with("-->") {
            Some(NOT_RUN)
        } else {
            None
        };
        if line.starts_with("```sh") {
            panic!(
                "{document}:{}: a ```sh block without a marker line before it \
                 (`{RUN}` or `{NOT_RUN}REASON -->`)",
                index + 1
            );
        }
        let Some(marker) = marker else {
            index += 1;
            continue;
        };
        let fence = if marker == OUTPUT { "```text" } else { "```sh" };
        assert_eq!(
            lines.get(index + 1).map(|line| line.trim()),
            Some(fence),
            "{document}:{}: `{marker}` must be followed by a {fence} block",
            index + 1
        );
        let start = index + 2;
        let end = start
            + lines[start..]
                .iter()
                .position(|line| line.trim() == "```")
                .unwrap_or_else(|| panic!("{document}:{}: the block never ends", index + 2));
        let body = &lines[start..end];
        match marker {
            RUN => examples.push(Example {
                document: document.to_owned(),
                line: index + 2,
                commands: commands(body),
                output: None,
            }),
            OUTPUT => {
                let example = examples.last_mut().unwrap_or_else(|| {
                    panic!(
                        "{document}:{}: a sample output with no run block before it",
                        index + 1
                    )
                });
                assert!(
                    example.output.is_none(),
                    "{document}:{}: a second sample output for one block",
                    index + 1
                );
                example.output = Some(body.iter().map(|line| line.to_string()).collect());
            }
            _ => {}
        }
        index = end + 1;
    }
    examples
}

/// A block's commands: lines joined over trailing backslashes; blank lines, comment lines and
/// `paved up &` (the test's own server) left out.
fn commands(body: &[&str]) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in body {
        if current.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with('#')) {
            continue;
        }
        current.push_str(line);
        if current.ends_with('\\') {
            current.push('\n');
            continue;
        }
        let command = std::mem::take(&mut current);
        let program = command.split('#').next().unwrap_or_default().trim();
        if program != "paved up &" {
            commands.push(command);
        }
    }
    assert!(current.is_empty(), "a block ends with a continuation line");
    commands
}

/// Whether `actual` matches `sample`, where `…` in the sample stands for any text.
fn line_matches(sample: &str, actual: &str) -> bool {
    let parts: Vec<&str> = sample.split('…').collect();
    if parts.len() == 1 {
        return sample == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The bash script of a block: each command announced on stdout (for the sample output) and
/// on stderr (to say which one failed).
fn script(example: &Example, address: &str) -> String {
    let mut script = String::from("set -euo pipefail\nshopt -s expand_aliases\n");
    for command in &example.commands {
        let shown = command.replace('\'', "'\\''");
        script.push_str(&format!(
            "printf '%s\\n' '{SEPARATOR}'; printf '+ %s\\n' '{shown}' >&2\n{}\n",
            command.replace(DOCUMENTED_ADDRESS, address)
        ));
    }
    script
}

/// Runs one block in `work_dir` against `server`.
fn run_block(example: &Example, server: &Up, work_dir: &Path, home: &Path) -> Run {
    let address = server.url().trim_start_matches("http://").to_owned();
    let paved_dir = Path::new(env!("CARGO_BIN_EXE_paved"))
        .parent()
        .expect("the binary's directory")
        .to_owned();
    let aws_dir = paved_test::oracles_home().join("py/bin");
    assert!(
        aws_dir.join("aws").exists(),
        "the AWS CLI is missing under `{}`; install it with `.ci/setup-oracles`",
        aws_dir.display()
    );
    let path = std::env::join_paths(
        [paved_dir, aws_dir]
            .into_iter()
            .chain(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            )),
    )
    .expect("a PATH");
    let mut command = crate::paved_in(Command::new("timeout"));
    command
        .args([&format!("{BLOCK_SECONDS}s"), "bash", "-c"])
        .arg(script(example, &address))
        .current_dir(work_dir)
        .env("PATH", path)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("PAVED_SERVER", server.url())
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .env("AWS_MAX_ATTEMPTS", "1");
    for variable in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"] {
        command.env_remove(variable);
    }
    run(&mut command)
}

/// Copies `from` into `to`, recursively (the examples are small files and folders), leaving
/// out what `skip` names: what a user's own run of the examples left in the checkout.
fn copy_dir(from: &Path, to: &Path, skip: &[String]) {
    std::fs::create_dir_all(to).expect("create a directory");
    for entry in std::fs::read_dir(from).expect("read a directory") {
        let entry = entry.expect("a directory entry");
        if skip.contains(&entry.file_name().to_string_lossy().into_owned()) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target, &[]);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// The top-level names `examples/.gitignore` lists (`/.paved/` is `.paved`).
fn ignored_examples() -> Vec<String> {
    std::fs::read_to_string(root().join("examples/.gitignore"))
        .expect("read examples/.gitignore")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| line.trim().trim_matches('/').to_owned())
        .collect()
}

/// Runs every marked block of one document, in order, against its own fresh `paved up`.
fn run_document(path: &Path) -> usize {
    let document = path
        .strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string();
    let text = std::fs::read_to_string(path).expect("read the document");
    let examples = parse(&document, &text);
    if examples.is_empty() {
        return 0;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let work_dir = dir.path().join("examples");
    copy_dir(&root().join("examples"), &work_dir, &ignored_examples());
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("a home directory");
    let server = Up::start_quiet(&work_dir, &work_dir.join(".paved"));
    for example in &examples {
        let ran = run_block(example, &server, &work_dir, &home);
        assert_eq!(
            ran.code,
            Some(0),
            "{}:{}: the example failed (the last `+` line on stderr is the failing command):\n{ran}\n--- paved up\n{}",
            example.document,
            example.line,
            server.log()
        );
        if let Some(sample) = &example.output {
            let last = ran.stdout.rsplit(SEPARATOR).next().unwrap_or_default();
            let actual: Vec<&str> = last
                .trim_start_matches('\n')
                .lines()
                .map(str::trim_end)
                .collect();
            let matches = sample.len() == actual.len()
                && sample
                    .iter()
                    .zip(&actual)
                    .all(|(sample, actual)| line_matches(sample.trim_end(), actual));
            assert!(
                matches,
                "{}:{}: the sample output does not match the output of `{}`\n--- sample\n{}\n--- actual\n{}",
                example.document,
                example.line,
                example.commands.last().map_or("", String::as_str),
                sample.join("\n"),
                actual.join("\n")
            );
        }
    }
    examples.len()
}

#[test]
fn the_readme_and_docs_examples_run_as_written() {
    let mut ran = Vec::new();
    for path in documents() {
        let count = run_document(&path);
        ran.push((path.file_name().unwrap_or_default().to_owned(), count));
    }
    // The README's quick start is the point: it must have blocks that run.
    assert!(
        ran.first().is_some_and(|(_, count)| *count >= 5),
        "README.md has fewer than 5 blocks marked `{RUN}`: {ran:?}"
    );
}

#[test]
fn the_example_convention_is_checked() {
    let text = format!(
        "{RUN}\n```sh\npaved up &\npaved template list   # comment\n# output\npaved a \\\n  b\n```\n\
         {OUTPUT}\n```text\nweb-service …\n```\n{NOT_RUN}needs AWS -->\n```sh\naws s3 ls\n```\n"
    );
    let examples = parse("doc.md", &text);
    assert_eq!(examples.len(), 1, "{examples:?}");
    assert_eq!(
        examples[0].commands,
        ["paved template list   # comment", "paved a \\\n  b"]
    );
    assert_eq!(
        examples[0].output.as_deref(),
        Some(&["web-service …".to_owned()][..])
    );
    let unmarked = std::panic::catch_unwind(|| parse("doc.md", "text\n```sh\nls\n```\n"));
    assert!(unmarked.is_err(), "an unmarked sh block is refused");
    for (sample, actual, expect) in [
        ("created payments", "created payments", true),
        ("created payments", "created billing", false),
        (
            "clone it: git clone file:///…/payments.git",
            "clone it: git clone file:///tmp/x/.paved/repositories/payments.git",
            true,
        ),
        (
            "clone it: git clone file:///…/payments.git",
            "clone it: git clone file:///tmp/x/orders.git",
            false,
        ),
        ("… 1.0 …", "web-service 1.0 published", true),
        ("a…b…c", "abc", true),
        ("a…b…c", "ac", false),
        ("…", "", true),
    ] {
        assert_eq!(
            line_matches(sample, actual),
            expect,
            "`{sample}` ~ `{actual}`"
        );
    }
}

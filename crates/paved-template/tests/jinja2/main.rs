//! Differential test against Python's Jinja2: every case of the corpus (`corpus/*.yaml`) is
//! rendered by Jinja2 (pinned by `.ci/setup-oracles` in `$ORACLES_HOME/py`, run by `render.py`)
//! and by Paved, over the same context, and the outputs must be byte-identical.
//!
//! Both sides render as AWS Proton does: Jinja2's default environment (no autoescape, no
//! `trim_blocks` or `lstrip_blocks`, the final line break of a file dropped) with strict
//! undefined variables. A case may instead say `refused: TEXT`: Paved's registration check must
//! refuse it with a message containing TEXT (while Jinja2 renders it), which is how what Paved
//! does not do is shown, not hidden. A case with `error: both` must fail on both sides.
//!
//! A missing Python or Jinja2 fails the test (run `.ci/setup-oracles`); it never skips.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use paved_template::{Limits, Namespace, Newlines, TemplateFile, check_templates};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// One corpus file: a default context and its cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusFile {
    #[serde(default)]
    context: Map<String, Value>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    template: String,
    /// Replaces the file's context for this case.
    #[serde(default)]
    context: Option<Map<String, Value>>,
    /// Other templates the case includes or imports, by name.
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// Paved refuses the case at registration with a message containing this.
    #[serde(default)]
    refused: Option<String>,
    /// `both`: the case must fail in Jinja2 and in Paved.
    #[serde(default)]
    error: Option<String>,
    /// Render with `keep_trailing_newline=True` (Paved's own format) instead of Proton's
    /// default.
    #[serde(default)]
    keep_trailing_newline: bool,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jinja2/corpus")
}

/// Every case of every corpus file, named `FILE/CASE`, with its context resolved.
fn load_corpus() -> Vec<(String, Case, Map<String, Value>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus directory exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    paths.sort();
    let mut cases = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("a readable corpus file");
        let file: CorpusFile = serde_saphyr::from_str(&text)
            .unwrap_or_else(|err| panic!("{}: not a corpus file: {err}", path.display()));
        let stem = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("a UTF-8 file name")
            .to_owned();
        for case in file.cases {
            let context = case.context.clone().unwrap_or_else(|| file.context.clone());
            cases.push((format!("{stem}/{}", case.name), case, context));
        }
    }
    cases
}

fn oracles_home() -> PathBuf {
    match std::env::var_os("ORACLES_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => Path::new(&std::env::var_os("HOME").expect("HOME or ORACLES_HOME is set"))
            .join(".cache/paved-oracles"),
    }
}

/// Renders every case with Jinja2 in one Python process.
fn render_with_jinja2(cases: &[(String, Case, Map<String, Value>)]) -> Map<String, Value> {
    let python = oracles_home().join("py/bin/python");
    assert!(
        python.exists(),
        "oracle missing: {} does not exist; run .ci/setup-oracles",
        python.display()
    );
    let input: Vec<Value> = cases
        .iter()
        .map(|(name, case, context)| {
            json!({
                "name": name,
                "template": case.template,
                "context": context,
                "files": case.files,
                "keep_trailing_newline": case.keep_trailing_newline,
            })
        })
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jinja2/render.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", python.display()));
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(&serde_json::to_vec(&input).expect("JSON"))
        .expect("write the cases to render.py");
    let output = child.wait_with_output().expect("render.py ran");
    assert!(
        output.status.success(),
        "render.py failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("render.py writes a JSON object")
}

/// Paved's result for one case: the registration check's problems, or the render.
enum PavedResult {
    Refused(Vec<String>),
    Rendered(String),
    Failed(String),
}

fn render_with_paved(case: &Case, context: &Map<String, Value>) -> PavedResult {
    let mut files = vec![TemplateFile::new("case", case.template.clone())];
    files.extend(
        case.files
            .iter()
            .map(|(path, text)| TemplateFile::new(path.clone(), text.clone())),
    );
    let problems = check_templates(&files, &Namespace::open());
    if !problems.is_empty() {
        return PavedResult::Refused(problems.iter().map(ToString::to_string).collect());
    }
    let newlines = if case.keep_trailing_newline {
        Newlines::AsWritten
    } else {
        Newlines::Jinja2
    };
    // The other files render too (they must render on their own); only the case is compared.
    match paved_template::render_files(
        &files,
        &Value::Object(context.clone()),
        &Limits::default(),
        newlines,
    ) {
        Ok(rendered) => PavedResult::Rendered(
            rendered
                .into_iter()
                .find(|file| file.path == "case")
                .map(|file| file.contents)
                .unwrap_or_default(),
        ),
        Err(error) => PavedResult::Failed(error.to_string()),
    }
}

#[test]
fn paved_renders_the_corpus_as_jinja2_does() {
    let cases = load_corpus();
    assert!(cases.len() > 100, "the corpus has {} cases", cases.len());
    let jinja2 = render_with_jinja2(&cases);
    let mut failures = Vec::new();
    for (name, case, context) in &cases {
        let expected = &jinja2[name.as_str()];
        let paved = render_with_paved(case, context);
        let failure = match (&case.refused, &case.error, expected.get("output"), paved) {
            (Some(reason), _, _, PavedResult::Refused(problems)) => (!problems
                .iter()
                .any(|problem| problem.contains(reason.as_str())))
            .then(|| format!("refused, but not for `{reason}`: {problems:?}")),
            (Some(reason), _, _, _) => Some(format!("expected a refusal for `{reason}`")),
            (None, _, _, PavedResult::Refused(problems)) => {
                Some(format!("refused at registration: {problems:?}"))
            }
            (None, Some(both), None, PavedResult::Failed(_)) if both == "both" => None,
            (None, Some(both), _, result) if both == "both" => Some(format!(
                "expected both to fail; Jinja2: {expected}, Paved: {}",
                describe(&result)
            )),
            (None, _, Some(Value::String(output)), PavedResult::Rendered(text)) => {
                (text != *output).then(|| format!("Jinja2: {output:?}\n     Paved:  {text:?}"))
            }
            (None, _, _, result) => Some(format!(
                "Jinja2: {expected}\n     Paved:  {}",
                describe(&result)
            )),
        };
        if let Some(failure) = failure {
            failures.push(format!("{name}:\n     {failure}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Jinja2:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn describe(result: &PavedResult) -> String {
    match result {
        PavedResult::Refused(problems) => format!("refused: {problems:?}"),
        PavedResult::Rendered(text) => format!("rendered {text:?}"),
        PavedResult::Failed(error) => format!("failed: {error}"),
    }
}

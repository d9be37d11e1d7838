//! `paved template ...`: thin clients of `/api/templates` and `/api/template-syncs`, plus
//! `init`, which works offline. This module holds what the verbs share: selectors, refusals
//! printed like a compiler's, and YAML or JSON input files.

pub mod init;
pub mod list;
pub mod publish;
pub mod register;
pub mod render;
pub mod show;
pub mod sync;
pub mod versions;
mod write;

use std::path::Path;

use paved_cli::OutputFormat;
use paved_model::problem::Problem;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Failure;
use crate::client::ClientError;
use crate::output::emit;

/// Splits `NAME[@VERSION]`.
pub(crate) fn split_selector(text: &str) -> (&str, Option<&str>) {
    match text.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (text, None),
    }
}

/// Splits `NAME@MAJOR.MINOR`, or ends the program with a usage error.
fn exact_version(text: &str) -> (&str, &str) {
    let is_exact = |version: &str| {
        version.split_once('.').is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
        })
    };
    match split_selector(text) {
        (name, Some(version)) if !name.is_empty() && is_exact(version) => (name, version),
        _ => usage_error(format_args!(
            "`{text}` is not an exact version: give NAME@MAJOR.MINOR, such as `web-service@1.2`"
        )),
    }
}

/// Ends the program as clap does for a bad argument: the message, the usage, exit code 2.
pub(crate) fn usage_error(message: impl std::fmt::Display) -> ! {
    use clap::CommandFactory as _;
    paved_cli::Cli::command()
        .error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

/// Prints `error: MESSAGE` and returns a refusal (exit code 1).
pub(crate) fn refuse(message: impl std::fmt::Display) -> Failure {
    eprintln!("error: {message}");
    Failure::Refused
}

/// Turns a refusal that carries problems into one line per problem on stderr, then
/// `error: WHAT: N problems`, and exit code 1. Any other error is passed on unchanged.
///
/// `file_prefix` is put before problem files, so that a bundle read from a directory names
/// files as the caller sees them.
pub(crate) fn report_problems(
    error: anyhow::Error,
    what: &str,
    file_prefix: Option<&Path>,
) -> Failure {
    let Some(ClientError::Api {
        status,
        code,
        message,
        problems,
    }) = error.downcast_ref::<ClientError>()
    else {
        return Failure::Other(error);
    };
    if problems.is_empty() || !(400..500).contains(status) {
        return Failure::Other(error);
    }
    let label = match code.as_str() {
        "invalid_inputs" if message.starts_with("the pipeline inputs") => "pipeline input",
        "invalid_inputs" | "incompatible_version" => "input",
        _ => "field",
    };
    for problem in problems {
        eprintln!("{}", problem_line(problem, label, file_prefix));
    }
    let count = problems.len();
    eprintln!(
        "error: {what}: {count} problem{}",
        if count == 1 { "" } else { "s" }
    );
    if code == "incompatible_version" {
        eprintln!(
            "hint: a minor version must accept what the previous one accepted; a new major \
             version may change anything (`--major N`)"
        );
    }
    Failure::Refused
}

/// `FILE:LINE: LABEL `X`: message (rule `R`)`, like a compiler; parts that are unknown are
/// left out.
fn problem_line(problem: &Problem, label: &str, file_prefix: Option<&Path>) -> String {
    let mut line = String::new();
    let mut message = problem.message.as_str();
    if let Some(file) = &problem.file {
        // Some messages already say where they are; it is said once, in front.
        let written = match problem.line {
            Some(number) => format!("`{file}` line {number}: "),
            None => format!("`{file}`: "),
        };
        message = message.strip_prefix(written.as_str()).unwrap_or(message);
        match file_prefix {
            Some(prefix) => line.push_str(&prefix.join(file).display().to_string()),
            None => line.push_str(file),
        }
        if let Some(number) = problem.line {
            line.push_str(&format!(":{number}"));
        }
        line.push_str(": ");
    }
    if let Some(field) = problem.field.as_deref().filter(|field| !field.is_empty()) {
        let named = format!("{label} `{field}`: ");
        for prefix in [named.as_str(), &format!("`{field}`: ")] {
            message = message.strip_prefix(prefix).unwrap_or(message);
        }
        line.push_str(&named);
    }
    line.push_str(&format!("{message} (rule `{}`)", problem.rule));
    line
}

/// Prints `value` as JSON or YAML; for the table format, `text` prints instead.
pub(crate) fn print_or_text<T: Serialize>(
    format: OutputFormat,
    value: &T,
    text: impl FnOnce(),
) -> Result<(), Failure> {
    match format {
        OutputFormat::Json => {
            emit(serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?);
        }
        OutputFormat::Yaml => emit(
            serde_saphyr::to_string(value)
                .map_err(anyhow::Error::from)?
                .trim_end(),
        ),
        OutputFormat::Table => text(),
    }
    Ok(())
}

/// Parses YAML (JSON is YAML too) as catalog files are: only `true` and `false` are
/// booleans, duplicate keys and runaway nesting are refused.
fn parse_yaml(text: &str) -> Result<Value, paved_model::yaml::YamlError> {
    paved_model::yaml::parse_value(text)
}

/// Reads a YAML or JSON file holding a mapping; an empty file is an empty mapping. `what`
/// names the file's role in messages (`inputs`, `context`).
fn read_mapping(path: &Path, what: &str) -> Result<Map<String, Value>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        refuse(format_args!(
            "cannot read the {what} file `{}`: {error}",
            path.display()
        ))
    })?;
    let value = parse_yaml(&text).map_err(|error| {
        refuse(format_args!(
            "the {what} file `{}` is not valid YAML or JSON: {error}",
            path.display()
        ))
    })?;
    match value {
        Value::Object(mapping) => Ok(mapping),
        Value::Null => Ok(Map::new()),
        _ => Err(refuse(format_args!(
            "the {what} file `{}` must hold a mapping, such as `port: 8080`",
            path.display()
        ))),
    }
}

pub(crate) fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `2025-01-31T10:20:30.123Z` as `2025-01-31 10:20`; other text as it is.
pub(crate) fn short_time(timestamp: &str) -> String {
    match (timestamp.get(..10), timestamp.get(11..16)) {
        (Some(date), Some(time)) if timestamp.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {time}")
        }
        _ => timestamp.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_lines_read_like_a_compiler() {
        let problem = |file: Option<&str>, line: Option<usize>, field: Option<&str>| Problem {
            file: file.map(str::to_owned),
            document_index: None,
            line,
            field: field.map(str::to_owned),
            rule: "maximum".to_owned(),
            message: "70000 is greater than the maximum 65535".to_owned(),
            severity: paved_model::problem::Severity::Error,
        };
        let cases = [
            (
                problem(Some("schema.yaml"), Some(3), Some("port")),
                "field",
                Some(Path::new("bundle")),
                "bundle/schema.yaml:3: field `port`: 70000 is greater than the maximum 65535 (rule `maximum`)",
            ),
            (
                problem(None, None, Some("/port")),
                "input",
                None,
                "input `/port`: 70000 is greater than the maximum 65535 (rule `maximum`)",
            ),
            (
                Problem {
                    message: "input `/port`: type no longer accepts integers".to_owned(),
                    rule: "type-narrowed".to_owned(),
                    ..problem(None, None, Some("/port"))
                },
                "input",
                None,
                "input `/port`: type no longer accepts integers (rule `type-narrowed`)",
            ),
            (
                Problem {
                    message: "`a.yaml` line 5: syntax error: unexpected end".to_owned(),
                    rule: "jinja-syntax".to_owned(),
                    ..problem(Some("a.yaml"), Some(5), None)
                },
                "field",
                None,
                "a.yaml:5: syntax error: unexpected end (rule `jinja-syntax`)",
            ),
            (
                problem(Some("a.yaml"), None, None),
                "field",
                None,
                "a.yaml: 70000 is greater than the maximum 65535 (rule `maximum`)",
            ),
        ];
        for (problem, label, prefix, expected) in cases {
            assert_eq!(problem_line(&problem, label, prefix), expected);
        }
    }

    #[test]
    fn short_time_keeps_minutes() {
        assert_eq!(short_time("2025-01-31T10:20:30.123Z"), "2025-01-31 10:20");
        assert_eq!(short_time("yesterday"), "yesterday");
    }
}

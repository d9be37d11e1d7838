//! `paved catalog validate FILE...`: offline validation for CI.

use std::path::{Path, PathBuf};

use paved_api::ApiProblem;
use paved_catalog::budget::ReadLimits;
use paved_catalog::ingest::validate_file;
use paved_catalog::source::{ReadContext, read_local_file};
use paved_cli::OutputFormat;
use paved_model::problem::Problem;
use serde::Serialize;

use crate::Failure;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileResult {
    file: String,
    entities: Vec<String>,
    problems: Vec<ApiProblem>,
}

#[derive(Serialize)]
struct Report {
    valid: bool,
    files: Vec<FileResult>,
}

pub fn run(files: &[PathBuf], output: OutputFormat) -> Result<(), Failure> {
    let mut results = Vec::new();
    // The same bounds as a location's read: only regular files, each through the size cap,
    // and the limits of one read over all the files.
    let context = ReadContext::standalone(ReadLimits::default());
    for path in files {
        let name = path.display().to_string();
        let (entities, problems) = match read_file(path, &context) {
            Ok(text) => {
                let report = validate_file(&name, &text, &context);
                (report.entity_refs, report.problems)
            }
            Err(problem) => (Vec::new(), vec![problem]),
        };
        results.push(FileResult {
            file: name,
            entities,
            problems: problems.into_iter().map(ApiProblem::from).collect(),
        });
    }
    // Warnings tell, errors refuse.
    let valid = results.iter().all(|result| {
        result
            .problems
            .iter()
            .all(|problem| problem.severity.is_some())
    });
    let report = Report {
        valid,
        files: results,
    };
    match output {
        OutputFormat::Json => {
            crate::output::emit(serde_json::to_string_pretty(&report).map_err(anyhow::Error::from)?)
        }
        OutputFormat::Yaml => crate::output::emit(
            serde_saphyr::to_string(&report)
                .map_err(anyhow::Error::from)?
                .trim_end(),
        ),
        OutputFormat::Table => print_text(&report),
    }
    if valid { Ok(()) } else { Err(Failure::Refused) }
}

/// Reads one file as a location would, except that the user's own files may be anywhere
/// (the root is `/`).
fn read_file(path: &Path, context: &ReadContext) -> Result<String, Problem> {
    read_local_file(path, Path::new("/"), context)
}

/// `file:line: document N: field `x`: message (rule `r`)`, like a compiler.
fn print_text(report: &Report) {
    let mut problem_count = 0;
    for file in &report.files {
        for problem in &file.problems {
            problem_count += 1;
            let mut location = file.file.clone();
            if let Some(line) = problem.line {
                location.push_str(&format!(":{line}"));
            }
            let document = problem
                .document_index
                .map(|index| format!(" document {index}:"))
                .unwrap_or_default();
            let field = problem
                .field
                .as_deref()
                .filter(|field| !field.is_empty())
                .map(|field| format!(" field `{field}`:"))
                .unwrap_or_default();
            let severity = problem
                .severity
                .as_deref()
                .map(|severity| format!(" {severity}:"))
                .unwrap_or_default();
            crate::output::emit(format_args!(
                "{location}:{document}{field}{severity} {} (rule `{}`)",
                problem.message, problem.rule
            ));
        }
    }
    let entities: usize = report.files.iter().map(|file| file.entities.len()).sum();
    if problem_count == 0 {
        crate::output::emit(format_args!(
            "ok: {} in {}",
            plural(entities, "valid entity", "valid entities"),
            plural(report.files.len(), "file", "files")
        ));
    } else {
        crate::output::emit(format_args!(
            "{}; {} in {}",
            plural(problem_count, "problem", "problems"),
            plural(entities, "valid entity", "valid entities"),
            plural(report.files.len(), "file", "files")
        ));
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

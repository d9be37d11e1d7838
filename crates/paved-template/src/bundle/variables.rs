//! The static variable check at registration: every variable a template reads must exist in
//! the render context, and every `inputs.X` must be an input the schema declares. This is what
//! refuses a bundle with a misspelt variable before anyone renders it.

use std::collections::{BTreeMap, BTreeSet};

use paved_model::problem::{Problem, Severity};

use super::context::{known_attributes, roots};
use super::{Bundle, TemplateKind};

/// Every unknown variable of `files` (the bundle's Jinja files, and any Jinja string of its
/// manifest); `variables` holds what each file reads ([`crate::analyse`]).
pub(super) fn check(
    bundle: &Bundle,
    files: &[crate::TemplateFile],
    variables: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Problem> {
    let instance_inputs: BTreeSet<&str> = bundle.schema.input_names().collect();
    let pipeline_inputs: Option<BTreeSet<&str>> = bundle
        .pipeline_schema
        .as_ref()
        .map(|schema| schema.input_names().collect());
    let mut problems = Vec::new();
    for file in files {
        let Some(names) = variables.get(&file.path) else {
            // Syntax errors are reported by the syntax check.
            continue;
        };
        for name in names {
            let Some(message) = unknown(
                bundle.kind,
                name,
                &instance_inputs,
                pipeline_inputs.as_ref(),
            ) else {
                continue;
            };
            problems.push(Problem {
                file: Some(file.path.clone()),
                document_index: None,
                line: line_of(&file.text, name),
                field: None,
                rule: "unknown-variable".to_owned(),
                message,
                severity: Severity::Error,
            });
        }
    }
    problems
}

/// Why `name` (a dotted variable path) is not in the context, or `None` if it is.
fn unknown(
    kind: TemplateKind,
    name: &str,
    instance_inputs: &BTreeSet<&str>,
    pipeline_inputs: Option<&BTreeSet<&str>>,
) -> Option<String> {
    let parts: Vec<&str> = name.split('.').collect();
    let root = parts[0];
    let kind_roots = roots(kind);
    if !kind_roots.contains(&root) {
        return Some(format!(
            "unknown variable `{name}`: a {kind} template can read {}",
            list(kind_roots.iter().copied())
        ));
    }
    let attribute = *parts.get(1)?;
    if let Some(allowed) = known_attributes(kind, root)
        && !allowed.contains(&attribute)
    {
        return Some(format!(
            "unknown variable `{name}`: `{root}` has {}",
            if allowed.is_empty() {
                "no attributes".to_owned()
            } else {
                list(allowed.iter().copied())
            }
        ));
    }
    let below = parts.get(2).copied();
    let inputs_of = |declared: Option<&BTreeSet<&str>>, what: &str| -> Option<String> {
        let input = below?;
        match declared {
            Some(declared) if declared.contains(input) => None,
            Some(declared) => Some(format!(
                "unknown variable `{name}`: `{input}` is not an input of the {what} schema, \
                 which declares {}",
                list(declared.iter().copied())
            )),
            None => Some(format!(
                "unknown variable `{name}`: the bundle has no {what} schema, so there are no \
                 {what} inputs"
            )),
        }
    };
    match (kind, root, attribute) {
        (TemplateKind::Environment, "environment", "inputs")
        | (TemplateKind::Service, "service_instance", "inputs") => {
            inputs_of(Some(instance_inputs), "input")
        }
        (TemplateKind::Service, "pipeline", "inputs") => inputs_of(pipeline_inputs, "pipeline"),
        (_, "service_instance", "environment") => below
            .filter(|attribute| !["name", "outputs"].contains(attribute))
            .map(|_| format!("unknown variable `{name}`: an environment has `name`, `outputs`")),
        (_, "service_instance", "components") => below
            .filter(|c| *c != "default")
            .map(|_| format!("unknown variable `{name}`: the only component is `default`")),
        (_, "paved", "template") => below
            .filter(|attribute| !["name", "version"].contains(attribute))
            .map(|_| format!("unknown variable `{name}`: `paved.template` has `name`, `version`")),
        _ => None,
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.map(|item| format!("`{item}`")).collect();
    if items.is_empty() {
        "nothing".to_owned()
    } else {
        items.join(", ")
    }
}

/// The first line that mentions `name`, or failing that its last segment.
fn line_of(text: &str, name: &str) -> Option<usize> {
    let last = name.rsplit('.').next().unwrap_or(name);
    let find = |needle: &str| {
        text.lines()
            .position(|line| line.contains(needle))
            .map(|index| index + 1)
    };
    find(name).or_else(|| find(last))
}

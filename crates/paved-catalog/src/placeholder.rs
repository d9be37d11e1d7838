//! Placeholders: `{$text: PATH}`, `{$json: PATH}` and `{$yaml: PATH}` anywhere in an entity
//! are replaced by what PATH holds, before the entity is validated, as Backstage's
//! `PlaceholderProcessor` does.
//!
//! As in Backstage, only a mapping whose single key is one of these three is a placeholder;
//! a mapping with other keys beside a `$` key, or an unknown `$` key (`$ref` in a JSON
//! Schema), is left as it is. PATH is an absolute URL, or is relative to the file or URL
//! that holds the entity. Unlike Backstage, which reads relative paths only for URL
//! locations, Paved reads them for local files and git repositories too, confined to the
//! location's root (the same rule as Location targets); URLs must be on a configured host.
//! Every read counts against the location's budget and is capped like a catalog file.

use paved_model::problem::Problem;
use paved_model::yaml::parse_documents;
use serde_json::{Map, Value};

use crate::source::{self, FileOrigin, ReadContext, SourceFile};

/// The rule of a placeholder that cannot be substituted.
pub const PLACEHOLDER_RULE: &str = "placeholder";

/// What a placeholder turns its file into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolver {
    Text,
    Json,
    Yaml,
}

impl Resolver {
    fn parse(key: &str) -> Option<Resolver> {
        match key {
            "$text" => Some(Resolver::Text),
            "$json" => Some(Resolver::Json),
            "$yaml" => Some(Resolver::Yaml),
            _ => None,
        }
    }
}

/// Where placeholder paths are read from: the holding file, the read's context, and the
/// other files of a git repository (placeholders in a repository name files of its tree).
pub struct PlaceholderContext<'a> {
    pub file: &'a SourceFile,
    pub read: &'a ReadContext,
    pub git_files: &'a std::collections::HashMap<String, SourceFile>,
}

/// Replaces every placeholder in `value`; a placeholder that cannot be read is a problem
/// on its field, and the value is left as it was there.
pub fn substitute(
    value: &mut Value,
    context: &PlaceholderContext<'_>,
    problems: &mut Vec<Problem>,
) {
    substitute_at(value, "", context, problems);
}

fn substitute_at(
    value: &mut Value,
    field: &str,
    context: &PlaceholderContext<'_>,
    problems: &mut Vec<Problem>,
) {
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                substitute_at(item, &format!("{field}[{index}]"), context, problems);
            }
        }
        Value::Object(map) => {
            if let Some((resolver, target)) = placeholder_of(map) {
                if let Value::String(url) = target
                    && url.contains("://")
                    && context.read.urls.is_none()
                {
                    // Offline (`paved catalog validate`): the URL is not fetched, and the
                    // entity is checked as if the field held it.
                    problems.push(
                        Problem::new(
                            field,
                            PLACEHOLDER_RULE,
                            format!(
                                "placeholder target `{}` is a URL, not read offline; the entity is checked as if the field held the URL",
                                paved_model::problem::excerpt(url)
                            ),
                        )
                        .warning(),
                    );
                    *value = Value::String(url.clone());
                    return;
                }
                match resolve(resolver, target, field, context) {
                    Ok(resolved) => *value = resolved,
                    Err(problem) => problems.push(problem),
                }
                return;
            }
            for (key, item) in map.iter_mut() {
                let path = if field.is_empty() {
                    key.clone()
                } else {
                    format!("{field}.{key}")
                };
                substitute_at(item, &path, context, problems);
            }
        }
        _ => {}
    }
}

/// The placeholder a mapping is, if it is one: exactly one key, a known `$` resolver.
fn placeholder_of(map: &Map<String, Value>) -> Option<(Resolver, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (key, target) = map.iter().next()?;
    Resolver::parse(key).map(|resolver| (resolver, target))
}

fn resolve(
    resolver: Resolver,
    target: &Value,
    field: &str,
    context: &PlaceholderContext<'_>,
) -> Result<Value, Problem> {
    let key = match resolver {
        Resolver::Text => "$text",
        Resolver::Json => "$json",
        Resolver::Yaml => "$yaml",
    };
    let problem = |message: String| Problem::new(field, PLACEHOLDER_RULE, message);
    let Value::String(target) = target else {
        return Err(problem(format!(
            "placeholder `{key}` expects a string: an absolute URL or a path relative to this file"
        )));
    };
    let shown = paved_model::problem::excerpt(target);
    let text = read_target(target, context).map_err(|message| {
        problem(format!(
            "placeholder `{key}` cannot read `{shown}`: {message}"
        ))
    })?;
    match resolver {
        Resolver::Text => Ok(Value::String(text)),
        Resolver::Json => serde_json::from_str(&text).map_err(|error| {
            problem(format!(
                "placeholder `{key}`: `{shown}` is not valid JSON (line {}, column {})",
                error.line(),
                error.column()
            ))
        }),
        Resolver::Yaml => {
            let mut parsed = parse_documents(target, &text);
            if let Some(syntax) = parsed.problems.first() {
                return Err(problem(format!(
                    "placeholder `{key}`: `{shown}` is not valid YAML (line {}): {}",
                    syntax.line.unwrap_or(1),
                    syntax.message
                )));
            }
            if parsed.documents.len() != 1 {
                return Err(problem(format!(
                    "placeholder `{key}` expects exactly one YAML document in `{shown}`, found {}",
                    parsed.documents.len()
                )));
            }
            Ok(std::mem::take(&mut parsed.documents[0].value))
        }
    }
}

/// The text at `target`, relative to the holding file. The error says why it cannot be
/// read, without quoting any content.
fn read_target(target: &str, context: &PlaceholderContext<'_>) -> Result<String, String> {
    let is_url = target.contains("://");
    let problem_message = |problem: Problem| problem.message;
    match &context.file.origin {
        FileOrigin::Url { url } => {
            let resolved = context.read.resolve_url(target, url)?;
            context
                .read
                .read_url(&resolved)
                .map(|file| file.text)
                .map_err(problem_message)
        }
        _ if is_url => context
            .read
            .read_url(target)
            .map(|file| file.text)
            .map_err(problem_message),
        FileOrigin::Local { path, root } => {
            let base = path.parent().unwrap_or(root);
            let resolved = source::normalize(&base.join(target));
            if !resolved.starts_with(root) {
                return Err(format!(
                    "it resolves to `{}`, outside the location's directory `{}`",
                    resolved.display(),
                    root.display()
                ));
            }
            let canonical_root = root
                .canonicalize()
                .map_err(|error| format!("the location's directory cannot be read: {error}"))?;
            source::read_local_file(&resolved, &canonical_root, context.read)
                .map_err(problem_message)
        }
        FileOrigin::Git { repository, path } => {
            let directory = std::path::Path::new(path)
                .parent()
                .unwrap_or(std::path::Path::new(""));
            let resolved = source::normalize(&directory.join(target));
            if target.starts_with('/')
                || resolved
                    .components()
                    .any(|part| matches!(part, std::path::Component::ParentDir))
                || crate::ingest::escapes(directory, target)
            {
                return Err("it leaves the repository".to_owned());
            }
            let name = format!("{repository}#{}", resolved.display());
            context
                .git_files
                .get(&name)
                .map(|file| file.text.clone())
                .ok_or_else(|| {
                    format!(
                        "it is not a YAML or JSON file of `{repository}` (placeholders in git locations read those)"
                    )
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::ReadLimits;
    use serde_json::json;

    #[track_caller]
    fn check(entity: Value, files: &[(&str, &str)], expect: Value, expect_problems: &[&str]) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("canonical");
        for (name, text) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("directories");
            std::fs::write(path, text).expect("a file");
        }
        let file = SourceFile {
            name: "catalog-info.yaml".to_owned(),
            text: String::new(),
            origin: FileOrigin::Local {
                path: root.join("svc/catalog-info.yaml"),
                root: root.clone(),
            },
        };
        let read = ReadContext::standalone(ReadLimits::default());
        let git_files = std::collections::HashMap::new();
        let context = PlaceholderContext {
            file: &file,
            read: &read,
            git_files: &git_files,
        };
        let mut value = entity;
        let mut problems = Vec::new();
        substitute(&mut value, &context, &mut problems);
        assert_eq!(value, expect);
        let problems: Vec<String> = problems
            .iter()
            .map(|problem| {
                let parent = root.parent().expect("a parent").display().to_string();
                problem
                    .to_string()
                    .replace(&root.display().to_string(), "[ROOT]")
                    .replace(&parent, "[PARENT]")
            })
            .collect();
        assert_eq!(problems, expect_problems);
    }

    #[test]
    fn substitutes_as_backstage_does() {
        check(
            json!({"spec": {"definition": {"$text": "./openapi.yaml"}, "list": [{"$json": "../data.json"}], "schema": {"$yaml": "schema.yaml"}}}),
            &[
                ("svc/openapi.yaml", "openapi: 3.0.0\n"),
                ("data.json", "{\"a\": [1, 2]}"),
                ("svc/schema.yaml", "type: object\n"),
            ],
            json!({"spec": {"definition": "openapi: 3.0.0\n", "list": [{"a": [1, 2]}], "schema": {"type": "object"}}}),
            &[],
        );
        // Not placeholders: other keys beside, or a `$` key no resolver knows.
        let untouched = json!({"a": {"$text": "x", "b": 1}, "c": {"$ref": "#/definitions/x"}});
        check(untouched.clone(), &[], untouched, &[]);
    }

    #[test]
    fn reports_what_cannot_be_read() {
        check(
            json!({"spec": {"a": {"$text": "missing.txt"}, "b": {"$text": "../../outside"}, "c": {"$json": "bad.json"}, "d": {"$yaml": "two.yaml"}, "e": {"$text": 5}}}),
            &[
                ("svc/bad.json", "{nope"),
                ("svc/two.yaml", "a: 1\n---\nb: 2\n"),
            ],
            json!({"spec": {"a": {"$text": "missing.txt"}, "b": {"$text": "../../outside"}, "c": {"$json": "bad.json"}, "d": {"$yaml": "two.yaml"}, "e": {"$text": 5}}}),
            &[
                "field `spec.a`: placeholder `$text` cannot read `missing.txt`: file does not exist (or is a broken symlink) (rule `placeholder`)",
                "field `spec.b`: placeholder `$text` cannot read `../../outside`: it resolves to `[PARENT]/outside`, outside the location's directory `[ROOT]` (rule `placeholder`)",
                "field `spec.c`: placeholder `$json`: `bad.json` is not valid JSON (line 1, column 2) (rule `placeholder`)",
                "field `spec.d`: placeholder `$yaml` expects exactly one YAML document in `two.yaml`, found 2 (rule `placeholder`)",
                "field `spec.e`: placeholder `$text` expects a string: an absolute URL or a path relative to this file (rule `placeholder`)",
            ],
        );
    }
}

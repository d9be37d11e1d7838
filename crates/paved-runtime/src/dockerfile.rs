//! The part of a Dockerfile the local runtime uses: `ENTRYPOINT`, `CMD`, `WORKDIR`, `ENV`,
//! and where `COPY . <dest>` puts the repository. `FROM`, `RUN` and the rest are ignored:
//! the host's interpreters run the code.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What an image runs and how; stored as the image's `config.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageConfig {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// An absolute container path.
    pub working_dir: Option<String>,
    pub env: Vec<(String, String)>,
    /// The absolute container path the repository root is copied to (`COPY . /app`).
    pub copy_destination: Option<String>,
}

impl ImageConfig {
    /// Where the container path `path` lives in the image's rootfs, relative to it: a
    /// path under the copy destination maps to the matching subdirectory, any other path
    /// to the rootfs root. A relative `path` is taken from the image's working directory.
    pub fn rootfs_relative(&self, path: &str) -> String {
        let base = self.working_dir.as_deref().unwrap_or("/");
        let path = normalize(&join(base, path));
        let Some(destination) = &self.copy_destination else {
            return String::new();
        };
        let destination = normalize(destination);
        if destination == "/" {
            return path.trim_start_matches('/').to_owned();
        }
        match path.strip_prefix(&destination) {
            Some("") => String::new(),
            Some(rest) if rest.starts_with('/') => rest.trim_start_matches('/').to_owned(),
            _ => String::new(),
        }
    }
}

/// Reads a Dockerfile; unknown instructions and malformed lines are skipped, as the
/// file was already accepted by whoever wrote it for Docker. Only the last stage counts.
pub fn parse(text: &str) -> ImageConfig {
    let mut config = ImageConfig::default();
    let mut variables: HashMap<String, String> = HashMap::new();
    for line in logical_lines(text) {
        let (instruction, arguments) = match line.split_once(char::is_whitespace) {
            Some((instruction, arguments)) => (instruction, arguments.trim()),
            None => (line.as_str(), ""),
        };
        match instruction.to_ascii_uppercase().as_str() {
            "FROM" => {
                config = ImageConfig::default();
                variables.retain(|_, _| false);
            }
            "ENTRYPOINT" => config.entrypoint = Some(command_form(arguments)),
            "CMD" => config.cmd = Some(command_form(arguments)),
            "WORKDIR" => {
                let base = config.working_dir.as_deref().unwrap_or("/");
                config.working_dir =
                    Some(normalize(&join(base, &substitute(arguments, &variables))));
            }
            "ENV" => {
                for (key, value) in env_pairs(arguments, &variables) {
                    variables.insert(key.clone(), value.clone());
                    config.env.retain(|(existing, _)| *existing != key);
                    config.env.push((key, value));
                }
            }
            "ARG" => {
                for word in words(arguments) {
                    if let Some((key, value)) = word.split_once('=') {
                        variables
                            .entry(key.to_owned())
                            .or_insert_with(|| value.to_owned());
                    }
                }
            }
            "COPY" | "ADD" => {
                let mut paths = if arguments.starts_with('[') {
                    serde_json::from_str::<Vec<String>>(arguments).unwrap_or_default()
                } else {
                    words(arguments)
                };
                if paths.iter().any(|path| path.starts_with("--from")) {
                    continue;
                }
                paths.retain(|path| !path.starts_with("--"));
                let Some((destination, sources)) = paths.split_last() else {
                    continue;
                };
                if sources
                    .iter()
                    .any(|source| matches!(source.as_str(), "." | "./"))
                {
                    let base = config.working_dir.as_deref().unwrap_or("/");
                    let destination = substitute(destination, &variables);
                    config.copy_destination = Some(normalize(&join(base, &destination)));
                }
            }
            _ => {}
        }
    }
    config
}

/// Joins continuation lines (`\` at the end) and drops comments and blank lines.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && !current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(start) => {
                current.push_str(start);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                if !current.trim().is_empty() {
                    lines.push(current.trim().to_owned());
                }
                current.clear();
            }
        }
    }
    if !current.trim().is_empty() {
        lines.push(current.trim().to_owned());
    }
    lines
}

/// The exec form (a JSON array) or the shell form (run by `/bin/sh -c`).
fn command_form(arguments: &str) -> Vec<String> {
    if arguments.starts_with('[')
        && let Ok(argv) = serde_json::from_str::<Vec<String>>(arguments)
    {
        return argv;
    }
    vec!["/bin/sh".into(), "-c".into(), arguments.to_owned()]
}

/// `K=V K2="v 2"`, or the legacy `K the rest of the line`.
fn env_pairs(arguments: &str, variables: &HashMap<String, String>) -> Vec<(String, String)> {
    let substituted = substitute(arguments, variables);
    let tokens = words(&substituted);
    match tokens.first() {
        Some(first) if first.contains('=') => tokens
            .iter()
            .filter_map(|token| token.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
        Some(_) => match substituted.trim().split_once(char::is_whitespace) {
            Some((key, value)) => vec![(key.to_owned(), unquote(value.trim()))],
            None => Vec::new(),
        },
        None => Vec::new(),
    }
}

fn unquote(text: &str) -> String {
    words(text).join(" ")
}

/// Splits on unquoted whitespace, removing quotes and backslash escapes.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        match (quote, ch) {
            (Some(open), ch) if ch == open => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
                in_word = true;
            }
            (Some(_), ch) => current.push(ch),
            (None, '"' | '\'') => {
                quote = Some(ch);
                in_word = true;
            }
            (None, ch) if ch.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, ch) => {
                current.push(ch);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// Replaces `$NAME`, `${NAME}` and `${NAME:-default}`; unknown names become empty.
fn substitute(text: &str, variables: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '\\' && chars.peek() == Some(&'$') {
            out.push('$');
            chars.next();
            continue;
        }
        if ch != '$' {
            out.push(ch);
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            let inner: String = chars.by_ref().take_while(|&c| c != '}').collect();
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner.as_str(), None),
            };
            match (variables.get(name), default) {
                (Some(value), _) if !value.is_empty() || default.is_none() => out.push_str(value),
                (_, Some(default)) => out.push_str(default),
                _ => {}
            }
        } else {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    name.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            if name.is_empty() {
                out.push('$');
            } else if let Some(value) = variables.get(&name) {
                out.push_str(value);
            }
        }
    }
    out
}

fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{base}/{path}")
    }
}

/// An absolute path without `.`, `..`, empty components or a trailing slash.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn reads_the_instructions_the_runtime_uses() {
        let config = parse(
            r#"
# syntax=docker/dockerfile:1
FROM python:3.12 AS base
RUN pip install flask
FROM python:3.12-slim
ARG APP=/srv/app
WORKDIR $APP
ENV GREETING="hello world" \
    # a comment inside a continuation
    MODE=prod
ENV LEGACY value with spaces
COPY --chown=app:app . .
WORKDIR static
ENTRYPOINT ["python3"]
CMD ["app.py", "--port", "8080"]
EXPOSE 8080
"#,
        );
        assert_eq!(
            config,
            ImageConfig {
                entrypoint: Some(strings(&["python3"])),
                cmd: Some(strings(&["app.py", "--port", "8080"])),
                working_dir: Some("/srv/app/static".into()),
                env: vec![
                    ("GREETING".into(), "hello world".into()),
                    ("MODE".into(), "prod".into()),
                    ("LEGACY".into(), "value with spaces".into()),
                ],
                copy_destination: Some("/srv/app".into()),
            }
        );
        assert_eq!(config.rootfs_relative("/srv/app/static"), "static");
        assert_eq!(config.rootfs_relative("/srv/app"), "");
        assert_eq!(config.rootfs_relative("/srv/application"), "");
        assert_eq!(config.rootfs_relative("/tmp"), "");
        assert_eq!(config.rootfs_relative("sub"), "static/sub");
    }

    #[test]
    fn shell_form_runs_through_sh() {
        let config = parse("CMD python3 -m http.server $PORT\nentrypoint [not json");
        assert_eq!(
            config.cmd,
            Some(strings(&["/bin/sh", "-c", "python3 -m http.server $PORT"]))
        );
        assert_eq!(
            config.entrypoint,
            Some(strings(&["/bin/sh", "-c", "[not json"]))
        );
        assert_eq!(config.rootfs_relative("/anything"), "");
    }

    #[test]
    fn copy_from_another_stage_is_not_the_repository() {
        let config =
            parse("FROM a AS build\nCOPY . /src\nFROM b\nCOPY --from=build /src/out /app\n");
        assert_eq!(config.copy_destination, None);
        let config = parse("COPY [\".\", \"/app/\"]\n");
        assert_eq!(config.copy_destination, Some("/app".into()));
        assert_eq!(config.rootfs_relative("/app/x/../y"), "y");
    }
}

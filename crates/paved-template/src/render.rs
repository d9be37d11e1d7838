//! The sandboxed environment, and rendering a bundle's files (and paths) in it.

use std::collections::BTreeMap;
use std::io;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::block;
use crate::error::RenderError;
use crate::{Limits, Newlines, RenderedFile, TemplateFile, filters, jinja2, paths};

/// Renders every file with Jinja in strict mode over `context` (a JSON object). Paths may be
/// templated too (`{{ service.name }}/main.py`); a templated path that renders to nothing or to
/// a folder (`ci/{% if gitlab %}.gitlab-ci.yml{% endif %}`) leaves its file out. Deterministic: same inputs → byte-identical
/// outputs, sorted by path.
///
/// Files render in the order given and share one fuel budget; the first error stops the render.
/// `newlines` says how line breaks come out (see [`Newlines`]). Two files that render to the
/// same path are an error.
pub fn render_files(
    files: &[TemplateFile],
    context: &serde_json::Value,
    limits: &Limits,
    newlines: Newlines,
) -> Result<Vec<RenderedFile>, RenderError> {
    if files.len() > limits.max_files {
        return Err(RenderError::TooManyFiles {
            count: files.len(),
            limit: limits.max_files,
        });
    }
    if !context.is_object() {
        return Err(RenderError::Context {
            found: json_kind(context),
        });
    }
    let mut env = environment(limits);
    let mut syntax = minijinja::syntax::SyntaxConfig::builder();
    syntax.keep_trailing_newline(newlines == Newlines::AsWritten);
    env.set_syntax(syntax.build().expect("the default delimiters are valid"));
    for file in files {
        let text = match newlines {
            Newlines::AsWritten => file.text.clone(),
            Newlines::Jinja2 => jinja2_newlines(&file.text),
        };
        env.add_template_owned(file.path.clone(), text)
            .map_err(|err| RenderError::from_minijinja(&err, &file.path, false, limits))?;
    }
    let context = Value::from(Serde(context));
    let mut fuel = limits.fuel;
    let mut total = 0usize;
    // Output path → (bundle path it came from, contents).
    let mut rendered: BTreeMap<String, (&str, String)> = BTreeMap::new();
    for file in files {
        let Some(path) = render_path(&mut env, file, &context, limits, &mut fuel)? else {
            continue;
        };
        let contents = render_text(&mut env, file, &context, limits, &mut fuel)?;
        total = total.saturating_add(contents.len());
        if total > limits.max_total_bytes {
            return Err(RenderError::TotalTooLarge {
                file: file.path.clone(),
                size: total,
                limit: limits.max_total_bytes,
            });
        }
        if let Some((first, _)) = rendered.get(&path) {
            return Err(RenderError::DuplicatePath {
                path,
                first: (*first).to_owned(),
                second: file.path.clone(),
            });
        }
        rendered.insert(path, (&file.path, contents));
    }
    Ok(rendered
        .into_iter()
        .map(|(path, (_, contents))| RenderedFile::text(path, contents))
        .collect())
}

/// Checks syntax of every file without rendering (for registration): reports every file's
/// error, not just the first. Templated paths are checked for syntax, plain paths for being
/// allowed output paths.
pub fn check_syntax(files: &[TemplateFile]) -> Vec<RenderError> {
    let limits = Limits::default();
    let env = environment(&limits);
    let mut errors = Vec::new();
    for file in files {
        if is_templated(&file.path) {
            if let Err(err) = env.template_from_named_str(&file.path, &file.path) {
                errors.push(RenderError::from_minijinja(&err, &file.path, true, &limits));
            }
        } else if let Err(problem) = paths::normalise(&file.path) {
            errors.push(RenderError::Path {
                file: file.path.clone(),
                path: file.path.clone(),
                problem,
            });
        }
        if let Err(err) = env.template_from_named_str(&file.path, &file.text) {
            errors.push(RenderError::from_minijinja(
                &err, &file.path, false, &limits,
            ));
        }
    }
    errors
}

/// Line breaks as Jinja2's lexer leaves them: `\r\n` and `\r` become `\n`.
fn jinja2_newlines(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_owned();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The sandbox: strict undefined, no auto-escaping, no loader, fuel and recursion limits,
/// Jinja2's filters, tests and methods, and this crate's filters. minijinja has no function
/// that reads the environment, files or the network, and none is added here.
pub(crate) fn environment<'source>(limits: &Limits) -> Environment<'source> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Before any template is added: the callback is read when a template compiles.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Debug mode names the undefined expression in errors ("`replicas` is undefined").
    env.set_debug(true);
    env.set_recursion_limit(limits.max_recursion);
    env.set_fuel(Some(limits.fuel));
    jinja2::register(&mut env);
    filters::register(&mut env);
    env
}

fn is_templated(path: &str) -> bool {
    path.contains("{{") || path.contains("{%") || path.contains("{#")
}

/// Renders and checks the output path of `file`.
fn render_path(
    env: &mut Environment<'_>,
    file: &TemplateFile,
    context: &Value,
    limits: &Limits,
    fuel: &mut u64,
) -> Result<Option<String>, RenderError> {
    let rendered = if is_templated(&file.path) {
        env.set_fuel(Some(*fuel));
        let to_error =
            |err: minijinja::Error| RenderError::from_minijinja(&err, &file.path, true, limits);
        let template = env
            .template_from_named_str(&file.path, &file.path)
            .map_err(to_error)?;
        let captured = template
            .render_captured(context.clone())
            .map_err(to_error)?;
        *fuel = remaining_fuel(captured.state(), *fuel);
        let rendered = block::resolve(captured.output());
        // A templated file name that renders to nothing (`ci/{% if gitlab %}.gitlab-ci.yml{%
        // endif %}`) leaves the file out: that is how a bundle offers alternatives.
        if rendered.is_empty() || rendered.ends_with('/') {
            return Ok(None);
        }
        rendered
    } else {
        file.path.clone()
    };
    paths::normalise(&rendered)
        .map(Some)
        .map_err(|problem| RenderError::Path {
            file: file.path.clone(),
            path: rendered,
            problem,
        })
}

/// Renders the text of `file`, enforcing the per-file size limit.
fn render_text(
    env: &mut Environment<'_>,
    file: &TemplateFile,
    context: &Value,
    limits: &Limits,
    fuel: &mut u64,
) -> Result<String, RenderError> {
    env.set_fuel(Some(*fuel));
    let to_error =
        |err: minijinja::Error| RenderError::from_minijinja(&err, &file.path, false, limits);
    let template = env.get_template(&file.path).map_err(to_error)?;
    let mut sink = Sink::new(limits.max_file_bytes);
    let captured = template
        .render_captured_to(context.clone(), &mut sink)
        .map_err(to_error)?;
    *fuel = remaining_fuel(captured.state(), *fuel);
    let too_large = |size| RenderError::FileTooLarge {
        file: file.path.clone(),
        size,
        limit: limits.max_file_bytes,
    };
    if sink.overflowed() {
        return Err(too_large(sink.written));
    }
    let raw = String::from_utf8_lossy(&sink.kept);
    let size = block::resolved_len(&raw);
    if size > limits.max_file_bytes {
        return Err(too_large(size));
    }
    Ok(block::resolve(&raw))
}

fn remaining_fuel(state: &minijinja::State<'_, '_>, before: u64) -> u64 {
    state
        .fuel_levels()
        .map_or(before, |(_, remaining)| remaining)
}

/// Collects a file's output, keeping at most twice the file limit (block markers can shrink
/// when resolved) and counting the rest, so an oversized file costs no memory and its error
/// still says how big it was.
struct Sink {
    kept: Vec<u8>,
    written: usize,
    cap: usize,
}

impl Sink {
    fn new(limit: usize) -> Sink {
        Sink {
            kept: Vec::new(),
            written: 0,
            cap: limit.saturating_mul(2),
        }
    }

    fn overflowed(&self) -> bool {
        self.written > self.cap
    }
}

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written = self.written.saturating_add(buf.len());
        if !self.overflowed() {
            self.kept.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

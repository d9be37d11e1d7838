//! What can go wrong in a render, with the file and line it went wrong at.

use std::fmt;

use crate::Limits;

/// Where in a bundle a problem is: a file, maybe a line, or the file's templated path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The bundle path of the file (for errors inside an included file, the included file).
    pub file: String,
    /// The 1-based line, when minijinja knows it.
    pub line: Option<usize>,
    /// Whether the problem is in the file's path template rather than its text.
    pub in_path: bool,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.in_path, self.line) {
            (true, _) => write!(f, "path `{}`", self.file),
            (false, Some(line)) => write!(f, "`{}` line {line}", self.file),
            (false, None) => write!(f, "`{}`", self.file),
        }
    }
}

/// Why an output path is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathProblem {
    #[error("it is empty")]
    Empty,
    #[error("it is absolute; output paths are relative to the output directory")]
    Absolute,
    #[error("`..` would leave the output directory")]
    ParentComponent,
    #[error("it has an empty component (`//` or a trailing `/`)")]
    EmptyComponent,
    #[error("it contains a backslash; separate directories with `/`")]
    Backslash,
    #[error("it contains a NUL character")]
    Nul,
    #[error("it contains a control character")]
    ControlCharacter,
}

/// A render or syntax check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The Jinja source does not parse.
    #[error("{at}: syntax error: {message}")]
    Syntax { at: Location, message: String },
    /// Strict undefined: a variable or attribute the context does not have.
    #[error("{at}: {}", undefined_message(.name.as_deref(), .message))]
    Undefined {
        at: Location,
        /// The undefined expression (`replicas`, `service_instance.inputs.port`) when minijinja
        /// can tell.
        name: Option<String>,
        /// minijinja's message.
        message: String,
    },
    /// The render used up [`Limits::fuel`].
    #[error("{at}: render exceeded its fuel ({fuel}): loops or recursion too deep")]
    OutOfFuel { at: Location, fuel: u64 },
    /// Macros or includes nested deeper than [`Limits::max_recursion`].
    #[error("{at}: recursion exceeded its limit ({limit}): macros or includes nested too deep")]
    RecursionLimit { at: Location, limit: usize },
    /// An `include`, `import` or `extends` names a file that is not one of the bundle's
    /// template files.
    #[error(
        "{at}: {} is not a template file of the bundle; `include`, `import` and `extends` \
         take the bundle paths of files rendered with Jinja",
        printable(.name)
    )]
    MissingTemplate { at: Location, name: String },
    /// `range()` asked for more items than the sandbox creates (minijinja's cap).
    #[error("{at}: `range()` of more than {limit} items: loops are bounded by the sandbox")]
    RangeTooLarge { at: Location, limit: usize },
    /// Any other error minijinja reports: a bad filter argument, a failing filter.
    #[error("{at}: {message}")]
    Template { at: Location, message: String },
    /// One rendered file is larger than [`Limits::max_file_bytes`].
    #[error("`{file}`: output is {size} bytes, over the {limit}-byte limit")]
    FileTooLarge {
        file: String,
        size: usize,
        limit: usize,
    },
    /// All rendered files together are larger than [`Limits::max_total_bytes`].
    #[error("`{file}`: output of all files reaches {size} bytes, over the {limit}-byte limit")]
    TotalTooLarge {
        file: String,
        size: usize,
        limit: usize,
    },
    /// More files than [`Limits::max_files`].
    #[error("the bundle has {count} files, over the limit of {limit}")]
    TooManyFiles { count: usize, limit: usize },
    /// A rendered output path that could leave the output directory.
    #[error("path `{}` from `{}` is not allowed: {problem}", printable(.path), printable(.file))]
    Path {
        file: String,
        path: String,
        problem: PathProblem,
    },
    /// Two files render to the same output path.
    #[error("path `{path}` is rendered from both `{first}` and `{second}`")]
    DuplicatePath {
        path: String,
        first: String,
        second: String,
    },
    /// The context is not a JSON object.
    #[error("the render context must be a JSON object, not {found}")]
    Context { found: &'static str },
}

/// `text` with control characters escaped (`\n`, `\u{0}`), so a message stays on one line.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// "undefined variable `x`", plus where `x` came from when minijinja says so ("(from line 3)").
fn undefined_message(name: Option<&str>, message: &str) -> String {
    let Some(name) = name else {
        return message.to_owned();
    };
    let origin = message
        .split_once(&format!("`{name}` is undefined"))
        .map(|(_, rest)| rest.trim())
        .filter(|rest| rest.starts_with("(from "))
        .map(|rest| format!(" {rest}"))
        .unwrap_or_default();
    format!("undefined variable `{name}`{origin}")
}

impl RenderError {
    /// Where the error is, when it is in one file.
    pub fn location(&self) -> Option<&Location> {
        match self {
            RenderError::Syntax { at, .. }
            | RenderError::Undefined { at, .. }
            | RenderError::OutOfFuel { at, .. }
            | RenderError::RecursionLimit { at, .. }
            | RenderError::MissingTemplate { at, .. }
            | RenderError::RangeTooLarge { at, .. }
            | RenderError::Template { at, .. } => Some(at),
            RenderError::FileTooLarge { .. }
            | RenderError::TotalTooLarge { .. }
            | RenderError::TooManyFiles { .. }
            | RenderError::Path { .. }
            | RenderError::DuplicatePath { .. }
            | RenderError::Context { .. } => None,
        }
    }

    /// A stable identifier of the kind of error, for tools: `jinja-syntax`, `undefined`, ...
    pub fn rule(&self) -> &'static str {
        match self {
            RenderError::Syntax { .. } => "jinja-syntax",
            RenderError::Undefined { .. } => "undefined-variable",
            RenderError::OutOfFuel { .. } => "render-fuel",
            RenderError::RecursionLimit { .. } => "render-recursion",
            RenderError::MissingTemplate { .. } => "missing-template",
            RenderError::RangeTooLarge { .. } => "render-range",
            RenderError::Template { .. } => "render",
            RenderError::FileTooLarge { .. } => "render-file-size",
            RenderError::TotalTooLarge { .. } => "render-total-size",
            RenderError::TooManyFiles { .. } => "render-file-count",
            RenderError::Path { .. } => "output-path",
            RenderError::DuplicatePath { .. } => "duplicate-output-path",
            RenderError::Context { .. } => "render-context",
        }
    }

    /// Converts a minijinja error raised while compiling or rendering `file` (its text, or its
    /// path when `in_path`). Errors in included files are unwrapped to the innermost one, so
    /// the location is where the problem is.
    pub(crate) fn from_minijinja(
        err: &minijinja::Error,
        file: &str,
        in_path: bool,
        limits: &Limits,
    ) -> RenderError {
        let err = innermost(err);
        let name = err.name().unwrap_or(file);
        let at = Location {
            file: name.to_owned(),
            line: if in_path && name == file {
                None
            } else {
                err.line()
            },
            in_path: in_path && name == file,
        };
        let detail = err.detail().unwrap_or_default();
        let message = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        match err.kind() {
            minijinja::ErrorKind::SyntaxError => RenderError::Syntax {
                at,
                message: detail.to_owned(),
            },
            minijinja::ErrorKind::UndefinedError => RenderError::Undefined {
                at,
                name: undefined_name(detail),
                message,
            },
            minijinja::ErrorKind::OutOfFuel => RenderError::OutOfFuel {
                at,
                fuel: limits.fuel,
            },
            minijinja::ErrorKind::InvalidOperation if detail == "recursion limit exceeded" => {
                RenderError::RecursionLimit {
                    at,
                    limit: limits.max_recursion,
                }
            }
            minijinja::ErrorKind::TemplateNotFound => RenderError::MissingTemplate {
                at,
                name: missing_template_name(detail),
            },
            minijinja::ErrorKind::InvalidOperation if detail == "range has too many elements" => {
                RenderError::RangeTooLarge {
                    at,
                    limit: MAX_RANGE,
                }
            }
            _ => RenderError::Template { at, message },
        }
    }

    /// Whether a trial render with sample inputs can blame the bundle for this error: limits
    /// and missing files fail whatever the inputs, while an undefined variable or a failing
    /// filter may only come from a sample value the real inputs would not have.
    pub fn is_bundle_fault(&self) -> bool {
        match self {
            RenderError::Undefined { .. } | RenderError::Template { .. } => false,
            RenderError::Syntax { .. }
            | RenderError::OutOfFuel { .. }
            | RenderError::RecursionLimit { .. }
            | RenderError::MissingTemplate { .. }
            | RenderError::RangeTooLarge { .. }
            | RenderError::FileTooLarge { .. }
            | RenderError::TotalTooLarge { .. }
            | RenderError::TooManyFiles { .. }
            | RenderError::Path { .. }
            | RenderError::DuplicatePath { .. }
            | RenderError::Context { .. } => true,
        }
    }
}

/// The most items minijinja's `range()` creates (its documented cap).
const MAX_RANGE: usize = 100_000;

/// The missing template's name from minijinja's message (`template "x" does not exist`,
/// `tried to include non-existing template 'x'`), in backticks; the whole message when it
/// lists several.
fn missing_template_name(detail: &str) -> String {
    let quoted = detail.find(['\'', '"']).and_then(|start| {
        let quote = detail[start..].chars().next()?;
        let end = detail.rfind(quote)?;
        (end > start).then(|| &detail[start + 1..end])
    });
    match quoted {
        Some(name) if !detail.contains("multiple") => format!("`{name}`"),
        _ => detail.to_owned(),
    }
}

/// Follows `BadInclude` and `EvalBlock` wrappers down to the error that caused them.
fn innermost(err: &minijinja::Error) -> &minijinja::Error {
    let mut current = err;
    let mut source = std::error::Error::source(current);
    while let Some(cause) = source {
        if let Some(inner) = cause.downcast_ref::<minijinja::Error>() {
            current = inner;
        }
        source = cause.source();
    }
    current
}

/// minijinja describes an undefined value as "`service.replicas` is undefined", sometimes after
/// or before more words; this picks out the expression.
fn undefined_name(detail: &str) -> Option<String> {
    let (before, _) = detail.split_once("` is undefined")?;
    let (_, name) = before.rsplit_once('`')?;
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_names() {
        let cases = [
            ("`replicas` is undefined", Some("replicas")),
            (
                "`service.nme` is undefined (from line 3)",
                Some("service.nme"),
            ),
            ("cannot call method (`x.y` is undefined)", Some("x.y")),
            ("undefined value", None),
        ];
        for (detail, expect) in cases {
            assert_eq!(undefined_name(detail).as_deref(), expect, "{detail}");
        }
    }
}

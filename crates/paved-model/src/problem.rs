//! A problem found in a catalog document: where it is, which rule it breaks, and what is wrong.

use serde::{Deserialize, Serialize};

/// How serious a problem is. An error keeps the document out of the catalog; a warning
/// only tells (something Backstage accepts that Paved's own rules would not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

impl Severity {
    pub fn is_error(&self) -> bool {
        *self == Severity::Error
    }
}

/// The most characters of a user's value a problem quotes.
pub const MAX_EXCERPT_CHARS: usize = 64;

/// A user's value as a problem may quote it: its first line, at most
/// [`MAX_EXCERPT_CHARS`] characters, with `…` where it was cut.
///
/// Problems are shown to anonymous callers (a location's problems), so they quote only
/// short excerpts, and only of documents that parsed as catalog entities.
pub fn excerpt(text: &str) -> String {
    let first_line = text.lines().next().unwrap_or("");
    let mut shown: String = first_line.chars().take(MAX_EXCERPT_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

/// One problem with one document, precise enough to fix without guessing.
///
/// `field` is a dotted path such as `metadata.tags[0]`; `rule` is a stable identifier
/// (`name-format`, `required`, `yaml-syntax`, ...) that tools can match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_index: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub rule: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Severity::is_error")]
    pub severity: Severity,
}

impl Problem {
    pub fn new(field: impl Into<String>, rule: &str, message: impl Into<String>) -> Problem {
        Problem {
            file: None,
            document_index: None,
            line: None,
            field: Some(field.into()),
            rule: rule.to_owned(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    /// The same problem as a warning.
    pub fn warning(self) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..self
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity.is_error()
    }

    /// A problem with the document or file as a whole, not one field.
    pub fn whole(rule: &str, message: impl Into<String>) -> Problem {
        Problem {
            field: None,
            ..Problem::new("", rule, message)
        }
    }

    pub fn in_document(mut self, file: &str, document_index: usize) -> Problem {
        self.file = Some(file.to_owned());
        self.document_index = Some(document_index);
        self
    }
}

impl std::fmt::Display for Problem {
    /// `file` document N line L: field `x`: message (rule `r`)
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut wrote = false;
        if let Some(file) = &self.file {
            write!(f, "`{file}`")?;
            wrote = true;
        }
        if let Some(index) = self.document_index {
            write!(f, "{}document {index}", if wrote { " " } else { "" })?;
            wrote = true;
        }
        if let Some(line) = self.line {
            write!(f, "{}line {line}", if wrote { " " } else { "" })?;
            wrote = true;
        }
        if let Some(field) = self.field.as_deref().filter(|field| !field.is_empty()) {
            write!(f, "{}field `{field}`", if wrote { ": " } else { "" })?;
            wrote = true;
        }
        if wrote {
            f.write_str(": ")?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        write!(f, "{} (rule `{}`)", self.message, self.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_one_line() {
        assert_eq!(excerpt("team-a"), "team-a");
        assert_eq!(excerpt("a\nsecond line"), "a…");
        assert_eq!(excerpt(&"x".repeat(100)), format!("{}…", "x".repeat(64)));
        assert_eq!(excerpt(""), "");
    }
}

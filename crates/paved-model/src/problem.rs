//! A problem found in a catalog document: where it is, which rule it breaks, and what is wrong.

use serde::{Deserialize, Serialize};

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
        }
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
        write!(f, "{} (rule `{}`)", self.message, self.rule)
    }
}

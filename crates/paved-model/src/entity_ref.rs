//! Entity references, `[kind:][namespace/]name`, as Backstage writes them.

use std::fmt;

use crate::problem::excerpt;

/// The namespace an entity lives in when its `metadata.namespace` is absent.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A fully resolved reference to an entity.
///
/// The parts keep the case they were written in; [`EntityRef::key`] is the lowercase form used
/// to compare and look up references, as Backstage compares them case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// Why a string is not an entity reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntityRefError {
    #[error("reference `{reference}` is empty")]
    Empty { reference: String },
    #[error(
        "reference `{reference}` is not of the form `[kind:][namespace/]name`: no part may be empty"
    )]
    Shape { reference: String },
    #[error("reference `{reference}` has no kind, and `{field}` has no default kind")]
    MissingKind { reference: String, field: String },
    #[error("reference `{reference}` has an invalid {part} `{value}`: expected {expected}")]
    InvalidPart {
        reference: String,
        part: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl EntityRefError {
    /// The part an [`EntityRefError::InvalidPart`] names; `reference` otherwise.
    pub fn part(&self) -> &'static str {
        match self {
            EntityRefError::InvalidPart { part, .. } => part,
            _ => "reference",
        }
    }

    /// The same error quoting `reference` (bounded) as the user wrote it.
    fn quoting(self, reference: &str) -> EntityRefError {
        let reference = excerpt(reference);
        match self {
            EntityRefError::Empty { .. } => EntityRefError::Empty { reference },
            EntityRefError::Shape { .. } => EntityRefError::Shape { reference },
            EntityRefError::MissingKind { field, .. } => {
                EntityRefError::MissingKind { reference, field }
            }
            EntityRefError::InvalidPart {
                part,
                value,
                expected,
                ..
            } => EntityRefError::InvalidPart {
                reference,
                part,
                value,
                expected,
            },
        }
    }
}

/// Defaults applied to the parts a reference leaves out.
#[derive(Debug, Clone, Copy)]
pub struct RefDefaults<'a> {
    pub kind: Option<&'a str>,
    pub namespace: &'a str,
}

impl EntityRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> EntityRef {
        EntityRef {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// Parses `[kind:][namespace/]name`, filling the missing parts from `defaults`, and
    /// checks every part against Paved's (and Backstage's entity) format rules.
    ///
    /// `field` only names the field in the error when the kind is missing and has no default.
    pub fn parse(
        reference: &str,
        defaults: RefDefaults<'_>,
        field: &str,
    ) -> Result<EntityRef, EntityRefError> {
        let parsed = EntityRef::parse_as_backstage(reference.trim(), defaults, field)
            .map_err(|error| error.quoting(reference))?;
        match parsed.format_problem(reference) {
            Some(error) => Err(error),
            None => Ok(parsed),
        }
    }

    /// Parses a reference exactly as Backstage's `parseEntityRef` does: only the shape
    /// `[kind:][namespace/]name` is checked (no part may be empty; a `/` before the first
    /// `:` makes the whole text namespace and name; the name is everything after the first
    /// `:` and `/`), and the kind must be given or defaulted. The parts are not checked
    /// against the format rules: see [`EntityRef::format_problem`].
    pub fn parse_as_backstage(
        reference: &str,
        defaults: RefDefaults<'_>,
        field: &str,
    ) -> Result<EntityRef, EntityRefError> {
        if reference.is_empty() {
            return Err(EntityRefError::Empty {
                reference: reference.to_owned(),
            });
        }
        let slash = reference.find('/');
        let colon = reference
            .find(':')
            .filter(|colon| slash.is_none_or(|slash| *colon < slash));
        let kind = colon.map(|colon| &reference[..colon]);
        let namespace_start = colon.map_or(0, |colon| colon + 1);
        let namespace = slash.map(|slash| &reference[namespace_start..slash]);
        let name_start = namespace_start.max(slash.map_or(0, |slash| slash + 1));
        let name = &reference[name_start..];
        if kind == Some("") || namespace == Some("") || name.is_empty() {
            return Err(EntityRefError::Shape {
                reference: excerpt(reference),
            });
        }
        let Some(kind) = kind.or(defaults.kind) else {
            return Err(EntityRefError::MissingKind {
                reference: excerpt(reference),
                field: field.to_owned(),
            });
        };
        let namespace = namespace.unwrap_or(defaults.namespace);
        Ok(EntityRef::new(kind, namespace, name))
    }

    /// The first part that breaks the format rules of entity kinds, namespaces and names,
    /// which Backstage's catalog enforces on entities but not on references.
    pub fn format_problem(&self, reference: &str) -> Option<EntityRefError> {
        let invalid = |part, value: &str, expected| EntityRefError::InvalidPart {
            reference: excerpt(reference),
            part,
            value: excerpt(value),
            expected,
        };
        if !crate::validation::is_valid_kind(&self.kind) {
            return Some(invalid("kind", &self.kind, crate::validation::KIND_RULE));
        }
        if !crate::validation::is_valid_namespace(&self.namespace) {
            return Some(invalid(
                "namespace",
                &self.namespace,
                crate::validation::NAMESPACE_RULE,
            ));
        }
        if !crate::validation::is_valid_name(&self.name) {
            return Some(invalid("name", &self.name, crate::validation::NAME_RULE));
        }
        None
    }

    /// Parses a full reference such as `component:default/web`, with Backstage's defaults
    /// (namespace `default`, no default kind).
    pub fn parse_full(reference: &str) -> Result<EntityRef, EntityRefError> {
        EntityRef::parse(
            reference,
            RefDefaults {
                kind: None,
                namespace: DEFAULT_NAMESPACE,
            },
            "reference",
        )
    }

    /// The canonical lowercase `kind:namespace/name`, as Backstage's `stringifyEntityRef`.
    pub fn key(&self) -> String {
        let mut key =
            String::with_capacity(self.kind.len() + self.namespace.len() + self.name.len() + 2);
        key.push_str(&self.kind.to_ascii_lowercase());
        key.push(':');
        key.push_str(&self.namespace.to_ascii_lowercase());
        key.push('/');
        key.push_str(&self.name.to_ascii_lowercase());
        key
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backstage's `parseEntityRef` results for the same inputs (catalog-model 1.10.3, run
    /// with `defaultKind: Group` and `defaultNamespace: ns`).
    #[test]
    fn splits_references_as_backstage_does() {
        let defaults = RefDefaults {
            kind: Some("Group"),
            namespace: "ns",
        };
        let cases = [
            ("john@example.com", "Group ns john@example.com"),
            ("user:john@example.com", "user ns john@example.com"),
            ("a/b:c", "Group a b:c"),
            ("k:n/x/y", "k n x/y"),
            ("k:a:b", "k ns a:b"),
            (" team-a", "Group ns  team-a"),
            ("Bad Kind:x", "Bad Kind ns x"),
            ("k:", "error"),
            (":x", "error"),
            ("k:/x", "error"),
            ("/x", "error"),
            ("n/", "error"),
        ];
        for (input, expect) in cases {
            let actual = match EntityRef::parse_as_backstage(input, defaults, "spec.owner") {
                Ok(reference) => {
                    format!(
                        "{} {} {}",
                        reference.kind, reference.namespace, reference.name
                    )
                }
                Err(_) => "error".to_owned(),
            };
            assert_eq!(actual, expect, "{input}");
        }
    }

    #[track_caller]
    fn check(input: &str, default_kind: Option<&str>, expect: &str) {
        let defaults = RefDefaults {
            kind: default_kind,
            namespace: "ns",
        };
        let actual = match EntityRef::parse(input, defaults, "spec.owner") {
            Ok(reference) => reference.key(),
            Err(error) => error.to_string(),
        };
        assert_eq!(actual, expect);
    }

    #[test]
    fn parses_references_with_defaults() {
        check("team-a", Some("Group"), "group:ns/team-a");
        check("group:default/Team-A", None, "group:default/team-a");
        check("other/x", Some("Group"), "group:other/x");
        check("user:x", Some("Group"), "user:ns/x");
        check(
            "x",
            None,
            "reference `x` has no kind, and `spec.owner` has no default kind",
        );
        check("", Some("Group"), "reference `` is empty");
        check(
            "group:bad name",
            None,
            "reference `group:bad name` has an invalid name `bad name`: expected sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total",
        );
        check(
            "group:/x",
            None,
            "reference `group:/x` is not of the form `[kind:][namespace/]name`: no part may be empty",
        );
        check(
            "group:Bad/x",
            None,
            "reference `group:Bad/x` has an invalid namespace `Bad`: expected sequences of [a-z0-9] separated by [-], at most 63 characters in total",
        );
    }
}

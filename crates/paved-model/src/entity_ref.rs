//! Entity references, `[kind:][namespace/]name`, as Backstage writes them.

use std::fmt;

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

    /// Parses `[kind:][namespace/]name`, filling the missing parts from `defaults`.
    ///
    /// `field` only names the field in the error when the kind is missing and has no default.
    pub fn parse(
        reference: &str,
        defaults: RefDefaults<'_>,
        field: &str,
    ) -> Result<EntityRef, EntityRefError> {
        let trimmed = reference.trim();
        if trimmed.is_empty() {
            return Err(EntityRefError::Empty {
                reference: reference.to_owned(),
            });
        }
        let (kind, rest) = match trimmed.split_once(':') {
            Some((kind, rest)) => (Some(kind), rest),
            None => (None, trimmed),
        };
        let (namespace, name) = match rest.split_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, rest),
        };
        let kind = match kind.or(defaults.kind) {
            Some(kind) => kind,
            None => {
                return Err(EntityRefError::MissingKind {
                    reference: reference.to_owned(),
                    field: field.to_owned(),
                });
            }
        };
        let namespace = namespace.unwrap_or(defaults.namespace);
        let invalid = |part, value: &str, expected| EntityRefError::InvalidPart {
            reference: reference.to_owned(),
            part,
            value: value.to_owned(),
            expected,
        };
        if !crate::validation::is_valid_kind(kind) {
            return Err(invalid("kind", kind, crate::validation::KIND_RULE));
        }
        if !crate::validation::is_valid_namespace(namespace) {
            return Err(invalid(
                "namespace",
                namespace,
                crate::validation::NAMESPACE_RULE,
            ));
        }
        if !crate::validation::is_valid_name(name) {
            return Err(invalid("name", name, crate::validation::NAME_RULE));
        }
        Ok(EntityRef::new(kind, namespace, name))
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
            "group:Bad/x",
            None,
            "reference `group:Bad/x` has an invalid namespace `Bad`: expected sequences of [a-z0-9] separated by [-], at most 63 characters in total",
        );
    }
}

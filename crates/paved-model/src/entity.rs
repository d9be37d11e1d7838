//! The entity kinds Paved knows, their accepted `apiVersion`s, and relation types.

use serde::{Deserialize, Serialize};

/// The kinds of entity the catalog accepts, as Backstage's built-in kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Component,
    Api,
    Resource,
    System,
    Domain,
    Group,
    User,
    Location,
    Template,
}

pub const BACKSTAGE_API_VERSIONS: &[&str] = &["backstage.io/v1alpha1", "backstage.io/v1beta1"];
pub const TEMPLATE_API_VERSIONS: &[&str] = &["scaffolder.backstage.io/v1beta3"];

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Component,
        Kind::Api,
        Kind::Resource,
        Kind::System,
        Kind::Domain,
        Kind::Group,
        Kind::User,
        Kind::Location,
        Kind::Template,
    ];

    /// The kind as written in `kind:` (Backstage spells the API kind `API`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Component => "Component",
            Kind::Api => "API",
            Kind::Resource => "Resource",
            Kind::System => "System",
            Kind::Domain => "Domain",
            Kind::Group => "Group",
            Kind::User => "User",
            Kind::Location => "Location",
            Kind::Template => "Template",
        }
    }

    pub fn api_versions(self) -> &'static [&'static str] {
        match self {
            Kind::Template => TEMPLATE_API_VERSIONS,
            _ => BACKSTAGE_API_VERSIONS,
        }
    }

    /// Kinds compare case-insensitively, as in Backstage.
    pub fn parse(kind: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|known| known.as_str().eq_ignore_ascii_case(kind))
    }
}

/// A relation as Backstage's API returns it: `{type, targetRef}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relation {
    #[serde(rename = "type")]
    pub relation_type: std::borrow::Cow<'static, str>,
    pub target_ref: String,
}

/// Each relation type and the type of the relation seen from the other end.
pub const RELATION_PAIRS: &[(&str, &str)] = &[
    ("ownedBy", "ownerOf"),
    ("partOf", "hasPart"),
    ("dependsOn", "dependencyOf"),
    ("providesApi", "apiProvidedBy"),
    ("consumesApi", "apiConsumedBy"),
    ("memberOf", "hasMember"),
    ("parentOf", "childOf"),
];

/// The type of `relation_type` seen from its target.
pub fn reverse_relation(relation_type: &str) -> &'static str {
    for (forward, reverse) in RELATION_PAIRS {
        if *forward == relation_type {
            return reverse;
        }
        if *reverse == relation_type {
            return forward;
        }
    }
    // INVARIANT: relation types come only from `relations::RELATION_FIELDS`, all of them paired.
    unreachable!("relation type `{relation_type}` has no pair")
}

/// Annotations Paved sets on the entities it manages.
pub mod annotation {
    /// The location that produced the entity, as `type:target`.
    pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";
    pub const MANAGED_BY_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";
    /// Set to `"true"` when the entity's location no longer produces it.
    pub const ORPHAN: &str = "backstage.io/orphan";
}

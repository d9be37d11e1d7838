//! The relations an entity emits from its spec, with the default kind each field implies.
//!
//! Only the emitting side is computed here; the catalog adds each relation's reverse to its
//! target ([`crate::entity::reverse_relation`]).

use serde_json::Value;

use crate::entity::{Kind, Relation};
use crate::entity_ref::{EntityRef, RefDefaults};
use crate::problem::Problem;

/// A spec field holding references, the kind its references default to, and the relation
/// it emits.
struct RelationField {
    field: &'static str,
    default_kind: Option<&'static str>,
    relation_type: &'static str,
}

const fn field(
    field: &'static str,
    default_kind: Option<&'static str>,
    relation_type: &'static str,
) -> RelationField {
    RelationField {
        field,
        default_kind,
        relation_type,
    }
}

const OWNER: RelationField = field("owner", Some("Group"), "ownedBy");
const SYSTEM: RelationField = field("system", Some("System"), "partOf");
const DEPENDS_ON: RelationField = field("dependsOn", None, "dependsOn");
const DEPENDENCY_OF: RelationField = field("dependencyOf", None, "dependencyOf");
const COMPONENT_FIELDS: &[RelationField] = &[
    OWNER,
    field("subcomponentOf", Some("Component"), "partOf"),
    field("providesApis", Some("API"), "providesApi"),
    field("consumesApis", Some("API"), "consumesApi"),
    DEPENDS_ON,
    DEPENDENCY_OF,
    SYSTEM,
];
const API_FIELDS: &[RelationField] = &[OWNER, SYSTEM];
const RESOURCE_FIELDS: &[RelationField] = &[OWNER, DEPENDS_ON, DEPENDENCY_OF, SYSTEM];
const SYSTEM_FIELDS: &[RelationField] = &[OWNER, field("domain", Some("Domain"), "partOf")];
const DOMAIN_FIELDS: &[RelationField] = &[OWNER, field("subdomainOf", Some("Domain"), "partOf")];
const GROUP_FIELDS: &[RelationField] = &[
    field("parent", Some("Group"), "childOf"),
    field("children", Some("Group"), "parentOf"),
    field("members", Some("User"), "hasMember"),
];
const USER_FIELDS: &[RelationField] = &[field("memberOf", Some("Group"), "memberOf")];
const TEMPLATE_FIELDS: &[RelationField] = &[OWNER];

fn relation_fields(kind: Kind) -> &'static [RelationField] {
    match kind {
        Kind::Component => COMPONENT_FIELDS,
        Kind::Api => API_FIELDS,
        Kind::Resource => RESOURCE_FIELDS,
        Kind::System => SYSTEM_FIELDS,
        Kind::Domain => DOMAIN_FIELDS,
        Kind::Group => GROUP_FIELDS,
        Kind::User => USER_FIELDS,
        Kind::Template => TEMPLATE_FIELDS,
        Kind::Location => &[],
    }
}

/// The rule of the warning for a reference whose parts break the entity format rules.
pub const REFERENCE_FORMAT_RULE: &str = "reference-format";

/// The relations a whole entity emits: its kind and namespace are read from the entity (the
/// namespace defaults to `default`); an unknown kind emits nothing.
pub fn entity_relations(entity: &Value) -> (Vec<Relation>, Vec<Problem>) {
    let kind = entity
        .get("kind")
        .and_then(Value::as_str)
        .and_then(Kind::parse);
    let namespace = entity
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(crate::entity_ref::DEFAULT_NAMESPACE);
    match kind {
        Some(kind) => emitted_relations(kind, namespace, entity.get("spec")),
        None => (Vec::new(), Vec::new()),
    }
}

/// The relations `entity` emits, sorted and without duplicates, a problem for each
/// reference that cannot be parsed (Backstage's shape check), and a warning for each
/// reference whose parts break the entity format rules (Backstage loads those). `entity` must already be valid (see
/// [`crate::validation::validate_entity`]); fields of the wrong type are skipped.
pub fn emitted_relations(
    kind: Kind,
    namespace: &str,
    spec: Option<&Value>,
) -> (Vec<Relation>, Vec<Problem>) {
    let mut relations = Vec::new();
    let mut problems = Vec::new();
    let Some(spec) = spec.and_then(Value::as_object) else {
        return (relations, problems);
    };
    for relation_field in relation_fields(kind) {
        let references: Vec<(String, &str)> = match spec.get(relation_field.field) {
            Some(Value::String(reference)) => {
                vec![(format!("spec.{}", relation_field.field), reference)]
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(index, item)| {
                    item.as_str().map(|reference| {
                        (format!("spec.{}[{index}]", relation_field.field), reference)
                    })
                })
                .collect(),
            _ => continue,
        };
        for (field_path, reference) in references {
            let defaults = RefDefaults {
                kind: relation_field.default_kind,
                namespace,
            };
            match EntityRef::parse_as_backstage(reference, defaults, &field_path) {
                Ok(target) => {
                    // Backstage loads such references and emits the relation; Paved does
                    // too, and says which rule the target's own entity could not meet.
                    if let Some(format_problem) = target.format_problem(reference) {
                        problems.push(
                            Problem::new(
                                field_path,
                                REFERENCE_FORMAT_RULE,
                                format!(
                                    "{format_problem}; Backstage accepts the reference, but no entity can have this {}",
                                    format_problem.part()
                                ),
                            )
                            .warning(),
                        );
                    }
                    relations.push(Relation {
                        relation_type: relation_field.relation_type.into(),
                        target_ref: target.key(),
                    })
                }
                Err(error) => {
                    problems.push(Problem::new(field_path, "reference", error.to_string()))
                }
            }
        }
    }
    relations.sort();
    relations.dedup();
    (relations, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[track_caller]
    fn check(kind: Kind, spec: Value, expect: &[&str]) {
        let (relations, problems) = emitted_relations(kind, "ns", Some(&spec));
        let mut actual: Vec<String> = relations
            .iter()
            .map(|relation| format!("{} {}", relation.relation_type, relation.target_ref))
            .collect();
        actual.extend(problems.iter().map(ToString::to_string));
        assert_eq!(actual, expect);
    }

    #[test]
    fn emits_relations_with_default_kinds() {
        check(
            Kind::Component,
            json!({"owner": "team-a", "system": "shop", "providesApis": ["orders"], "dependsOn": ["resource:db", "x"]}),
            &[
                "dependsOn resource:ns/db",
                "ownedBy group:ns/team-a",
                "partOf system:ns/shop",
                "providesApi api:ns/orders",
                "field `spec.dependsOn[1]`: reference `x` has no kind, and `spec.dependsOn[1]` has no default kind (rule `reference`)",
            ],
        );
        check(
            Kind::User,
            json!({"memberOf": ["team-a", "other/team-b"]}),
            &["memberOf group:ns/team-a", "memberOf group:other/team-b"],
        );
        check(
            Kind::Group,
            json!({"type": "team", "children": [], "parent": "org", "members": ["jdoe"]}),
            &["childOf group:ns/org", "hasMember user:ns/jdoe"],
        );
        check(Kind::Location, json!({"targets": ["./a.yaml"]}), &[]);
        check(
            Kind::Component,
            json!({"owner": "john@example.com", "system": "a:/b"}),
            &[
                "ownedBy group:ns/john@example.com",
                "field `spec.owner`: warning: reference `john@example.com` has an invalid name `john@example.com`: expected sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total; Backstage accepts the reference, but no entity can have this name (rule `reference-format`)",
                "field `spec.system`: reference `a:/b` is not of the form `[kind:][namespace/]name`: no part may be empty (rule `reference`)",
            ],
        );
    }
}

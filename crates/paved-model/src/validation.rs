//! Backstage's entity validation rules, reporting every problem rather than the first.
//!
//! The rules follow Backstage's catalog-model (envelope, metadata field formats, and the
//! built-in kind schemas); `tests/it` checks them against Backstage's own validator.

use serde_json::{Map, Value};

use crate::entity::{BACKSTAGE_API_VERSIONS, Kind, TEMPLATE_API_VERSIONS};
use crate::problem::{Problem, excerpt};

pub const NAME_RULE: &str =
    "sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total";
pub const NAMESPACE_RULE: &str =
    "sequences of [a-z0-9] separated by [-], at most 63 characters in total";
pub const KIND_RULE: &str = "a letter followed by letters and digits, at most 63 characters";
pub const TAG_RULE: &str =
    "sequences of [a-z0-9:+#] separated by [-], at most 63 characters in total";
pub const KEY_RULE: &str = "an optional DNS subdomain prefix and `/`, then sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters";

/// Backstage's catalog refuses `relations` and `status` in what a location reads: they are
/// computed.
const ROOT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec"];

fn is_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
}

/// `metadata.name`: 1 to 63 characters, starting and ending with `[A-Za-z0-9]`, with
/// `[-_.]` allowed between.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && is_alphanumeric(bytes[0])
        && is_alphanumeric(bytes[bytes.len() - 1])
        && bytes
            .iter()
            .all(|&byte| is_alphanumeric(byte) || matches!(byte, b'-' | b'_' | b'.'))
}

/// A DNS label: `[a-z0-9]` runs separated by single `-`, at most 63 characters.
pub fn is_valid_namespace(namespace: &str) -> bool {
    !namespace.is_empty()
        && namespace.len() <= 63
        && namespace.split('-').all(|run| {
            !run.is_empty()
                && run
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        })
}

pub fn is_valid_kind(kind: &str) -> bool {
    let bytes = kind.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphabetic()
        && bytes.iter().all(|byte| byte.is_ascii_alphanumeric())
}

pub fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 63
        && tag.split('-').all(|run| {
            !run.is_empty()
                && run.bytes().all(|byte| {
                    byte.is_ascii_lowercase()
                        || byte.is_ascii_digit()
                        || matches!(byte, b':' | b'+' | b'#')
                })
        })
}

/// A DNS subdomain: dot-separated DNS labels, at most 253 characters.
fn is_valid_dns_subdomain(prefix: &str) -> bool {
    !prefix.is_empty() && prefix.len() <= 253 && prefix.split('.').all(is_valid_namespace)
}

/// Label and annotation keys: `[prefix/]name`.
pub fn is_valid_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => is_valid_dns_subdomain(prefix) && is_valid_name(name),
        None => is_valid_name(key),
    }
}

fn is_valid_label_value(value: &str) -> bool {
    value.is_empty() || is_valid_name(value)
}

/// The rule of a document that is not a catalog entity at all.
pub const NOT_AN_ENTITY_RULE: &str = "not-an-entity";

/// Validates an entity as Backstage's catalog does, returning every problem found.
///
/// A document that is not a mapping with `apiVersion` or `kind` is not taken for a catalog
/// entity: it gets one problem that quotes none of its content, since locations can sweep
/// up files that are not catalog files (a `.env`, a token) and problems are public.
pub fn validate_entity(entity: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let root = match entity.as_object() {
        Some(root) if root.contains_key("apiVersion") || root.contains_key("kind") => root,
        _ => {
            let found = match entity {
                Value::Object(_) => "a mapping without `apiVersion` or `kind`",
                Value::Array(_) => "a sequence",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                Value::Null => "null",
            };
            problems.push(Problem::whole(
                NOT_AN_ENTITY_RULE,
                format!(
                    "not a catalog entity: expected a mapping with `apiVersion`, `kind`, `metadata` and `spec`, found {found}"
                ),
            ));
            return problems;
        }
    };
    for key in root.keys() {
        if !ROOT_FIELDS.contains(&key.as_str()) {
            problems.push(Problem::new(
                key.clone(),
                "unknown-field",
                format!(
                    "unknown root field `{}`: accepted fields are {}",
                    excerpt(key),
                    ROOT_FIELDS.join(", ")
                ),
            ));
        }
    }
    let api_version = required_string(root, "", "apiVersion", &mut problems);
    let kind = required_string(root, "", "kind", &mut problems);
    if let Some(kind) = kind
        && !is_valid_kind(kind)
    {
        problems.push(Problem::new(
            "kind",
            "kind-format",
            format!(
                "`{}` is not a valid kind: expected {KIND_RULE}",
                excerpt(kind)
            ),
        ));
    }
    match root.get("metadata") {
        Some(Value::Object(metadata)) => validate_metadata(metadata, &mut problems),
        Some(other) => problems.push(type_problem("metadata", "a mapping", other)),
        None => problems.push(Problem::new(
            "metadata",
            "required",
            "`metadata` is required",
        )),
    }
    if let (Some(api_version), Some(kind)) = (api_version, kind) {
        validate_kind(api_version, kind, root.get("spec"), &mut problems);
    }
    problems
}

/// [`validate_entity`], then every reference in the spec: all a location checks before it
/// accepts an entity.
pub fn validate_entity_with_references(entity: &Value) -> Vec<Problem> {
    let mut problems = validate_entity(entity);
    if problems.is_empty() {
        problems.extend(crate::relations::entity_relations(entity).1);
    }
    problems
}

fn validate_metadata(metadata: &Map<String, Value>, problems: &mut Vec<Problem>) {
    if let Some(name) = required_string(metadata, "metadata.", "name", problems)
        && !is_valid_name(name)
    {
        problems.push(Problem::new(
            "metadata.name",
            "name-format",
            format!(
                "`{}` is not a valid name: expected {NAME_RULE}",
                excerpt(name)
            ),
        ));
    }
    if let Some(namespace) = optional_string(metadata, "metadata.", "namespace", problems)
        && !is_valid_namespace(namespace)
    {
        problems.push(Problem::new(
            "metadata.namespace",
            "namespace-format",
            format!(
                "`{}` is not a valid namespace: expected {NAMESPACE_RULE}",
                excerpt(namespace)
            ),
        ));
    }
    optional_string(metadata, "metadata.", "title", problems);
    optional_string(metadata, "metadata.", "description", problems);
    for field in ["uid", "etag"] {
        if let Some(value) = optional_string(metadata, "metadata.", field, problems)
            && value.is_empty()
        {
            problems.push(Problem::new(
                format!("metadata.{field}"),
                "min-length",
                format!("`metadata.{field}` must not be empty"),
            ));
        }
    }
    validate_string_map(metadata, "labels", "label", problems, |field, text| {
        (!is_valid_label_value(text)).then(|| {
            Problem::new(
                field,
                "label-value-format",
                format!(
                    "label value `{}` is not valid: expected an empty string or {NAME_RULE}",
                    excerpt(text)
                ),
            )
        })
    });
    // Annotation values are free text.
    validate_string_map(metadata, "annotations", "annotation", problems, |_, _| None);
    match metadata.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(tags)) => {
            for (index, tag) in tags.iter().enumerate() {
                let field = format!("metadata.tags[{index}]");
                match tag {
                    Value::String(text) if is_valid_tag(text) => {}
                    Value::String(text) => problems.push(Problem::new(
                        &field,
                        "tag-format",
                        format!("tag `{}` is not valid: expected {TAG_RULE}", excerpt(text)),
                    )),
                    other => problems.push(type_problem(&field, "a string", other)),
                }
            }
        }
        Some(other) => problems.push(type_problem(
            "metadata.tags",
            "a sequence of strings",
            other,
        )),
    }
    match metadata.get("links") {
        None | Some(Value::Null) => {}
        Some(Value::Array(links)) => {
            for (index, link) in links.iter().enumerate() {
                let prefix = format!("metadata.links[{index}].");
                match link {
                    Value::Object(link) => {
                        if let Some(url) = required_string(link, &prefix, "url", problems)
                            && url.is_empty()
                        {
                            problems.push(Problem::new(
                                format!("{prefix}url"),
                                "min-length",
                                "a link's `url` must not be empty",
                            ));
                        }
                        for optional in ["title", "icon", "type"] {
                            optional_string(link, &prefix, optional, problems);
                        }
                    }
                    other => problems.push(type_problem(
                        &format!("metadata.links[{index}]"),
                        "a mapping with `url`",
                        other,
                    )),
                }
            }
        }
        Some(other) => problems.push(type_problem("metadata.links", "a sequence", other)),
    }
}

/// `metadata.labels` and `metadata.annotations`: keys `[prefix/]name`, string values that
/// `check_value` may refuse.
fn validate_string_map(
    metadata: &Map<String, Value>,
    key_name: &str,
    noun: &str,
    problems: &mut Vec<Problem>,
    check_value: impl Fn(&str, &str) -> Option<Problem>,
) {
    match metadata.get(key_name) {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            for (key, value) in entries {
                let field = format!("metadata.{key_name}.{key}");
                if !is_valid_key(key) {
                    problems.push(Problem::new(
                        &field,
                        "key-format",
                        format!(
                            "{noun} key `{}` is not valid: expected {KEY_RULE}",
                            excerpt(key)
                        ),
                    ));
                }
                match value {
                    Value::String(text) => problems.extend(check_value(&field, text)),
                    other => problems.push(type_problem(&field, "a string", other)),
                }
            }
        }
        Some(other) => problems.push(type_problem(
            &format!("metadata.{key_name}"),
            "a mapping of strings",
            other,
        )),
    }
}

/// What a kind's spec holds, as Backstage's kind schemas describe it.
#[derive(Clone, Copy)]
enum FieldShape {
    RequiredString,
    OptionalString,
    RequiredStrings,
    OptionalStrings,
    OptionalMapping,
}

fn spec_fields(kind: Kind) -> &'static [(&'static str, FieldShape)] {
    use FieldShape::*;
    match kind {
        Kind::Component => &[
            ("type", RequiredString),
            ("lifecycle", RequiredString),
            ("owner", RequiredString),
            ("subcomponentOf", OptionalString),
            ("system", OptionalString),
            ("providesApis", OptionalStrings),
            ("consumesApis", OptionalStrings),
            ("dependsOn", OptionalStrings),
            ("dependencyOf", OptionalStrings),
        ],
        Kind::Api => &[
            ("type", RequiredString),
            ("lifecycle", RequiredString),
            ("owner", RequiredString),
            ("definition", RequiredString),
            ("system", OptionalString),
        ],
        Kind::Resource => &[
            ("type", RequiredString),
            ("owner", RequiredString),
            ("system", OptionalString),
            ("dependsOn", OptionalStrings),
            ("dependencyOf", OptionalStrings),
        ],
        Kind::System => &[
            ("owner", RequiredString),
            ("domain", OptionalString),
            ("type", OptionalString),
        ],
        Kind::Domain => &[
            ("owner", RequiredString),
            ("subdomainOf", OptionalString),
            ("type", OptionalString),
        ],
        Kind::Group => &[
            ("type", RequiredString),
            ("children", RequiredStrings),
            ("parent", OptionalString),
            ("members", OptionalStrings),
            ("profile", OptionalMapping),
        ],
        Kind::User => &[("memberOf", RequiredStrings), ("profile", OptionalMapping)],
        Kind::Location => &[
            ("type", OptionalString),
            ("target", OptionalString),
            ("targets", OptionalStrings),
            ("presence", OptionalString),
        ],
        Kind::Template => &[
            ("type", RequiredString),
            ("owner", OptionalString),
            ("lifecycle", OptionalString),
            ("output", OptionalMapping),
        ],
    }
}

fn validate_kind(
    api_version: &str,
    kind_name: &str,
    spec: Option<&Value>,
    problems: &mut Vec<Problem>,
) {
    // Backstage's kind validators match `kind` exactly (references compare it without case).
    let Some(kind) = Kind::parse(kind_name)
        .filter(|kind| kind.as_str() == kind_name && kind.api_versions().contains(&api_version))
    else {
        let backstage_kinds: Vec<&str> = Kind::ALL
            .iter()
            .filter(|kind| **kind != Kind::Template)
            .map(|kind| kind.as_str())
            .collect();
        problems.push(Problem::new(
            "kind",
            "unknown-kind",
            format!(
                "unsupported kind `{}` with apiVersion `{}`: accepted are {} with `{}`, and Template with `{}`",
                excerpt(kind_name),
                excerpt(api_version),
                backstage_kinds.join(", "),
                BACKSTAGE_API_VERSIONS.join("` or `"),
                TEMPLATE_API_VERSIONS[0]
            ),
        ));
        return;
    };
    let spec = match spec {
        Some(Value::Object(spec)) => spec,
        Some(other) => {
            problems.push(type_problem("spec", "a mapping", other));
            return;
        }
        None => {
            problems.push(Problem::new(
                "spec",
                "required",
                format!("`spec` is required for kind `{}`", kind.as_str()),
            ));
            return;
        }
    };
    for (name, shape) in spec_fields(kind) {
        let field = format!("spec.{name}");
        let value = spec.get(*name);
        match (shape, value) {
            (FieldShape::RequiredString | FieldShape::RequiredStrings, None) => {
                problems.push(Problem::new(
                    &field,
                    "required",
                    format!("`{field}` is required for kind `{}`", kind.as_str()),
                ))
            }
            (
                FieldShape::OptionalString
                | FieldShape::OptionalStrings
                | FieldShape::OptionalMapping,
                None,
            ) => {}
            (
                FieldShape::RequiredString | FieldShape::OptionalString,
                Some(Value::String(text)),
            ) => {
                if text.is_empty() {
                    problems.push(Problem::new(
                        &field,
                        "min-length",
                        format!("`{field}` must not be empty"),
                    ));
                }
            }
            (FieldShape::RequiredString | FieldShape::OptionalString, Some(other)) => {
                problems.push(type_problem(&field, "a string", other));
            }
            (
                FieldShape::RequiredStrings | FieldShape::OptionalStrings,
                Some(Value::Array(items)),
            ) => {
                for (index, item) in items.iter().enumerate() {
                    match item {
                        Value::String(text) if !text.is_empty() => {}
                        Value::String(_) => problems.push(Problem::new(
                            format!("{field}[{index}]"),
                            "min-length",
                            "must not be empty",
                        )),
                        other => problems.push(type_problem(
                            &format!("{field}[{index}]"),
                            "a string",
                            other,
                        )),
                    }
                }
            }
            (FieldShape::RequiredStrings | FieldShape::OptionalStrings, Some(other)) => {
                problems.push(type_problem(&field, "a sequence of strings", other));
            }
            (FieldShape::OptionalMapping, Some(Value::Object(_))) => {}
            (FieldShape::OptionalMapping, Some(other)) => {
                problems.push(type_problem(&field, "a mapping", other))
            }
        }
    }
    match kind {
        Kind::Location => {
            if let Some(presence) = spec.get("presence").and_then(Value::as_str)
                && presence != "required"
                && presence != "optional"
            {
                problems.push(Problem::new(
                    "spec.presence",
                    "enum",
                    format!(
                        "`{}` is not accepted: expected `required` or `optional`",
                        excerpt(presence)
                    ),
                ));
            }
        }
        Kind::Template => validate_template_steps(spec, problems),
        Kind::Group | Kind::User => {
            if let Some(Value::Object(profile)) = spec.get("profile") {
                for field in ["displayName", "email", "picture"] {
                    if let Some(value) = optional_string(profile, "spec.profile.", field, problems)
                        && value.is_empty()
                    {
                        problems.push(Problem::new(
                            format!("spec.profile.{field}"),
                            "min-length",
                            format!("`spec.profile.{field}` must not be empty"),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
}

fn validate_template_steps(spec: &Map<String, Value>, problems: &mut Vec<Problem>) {
    match spec.get("steps") {
        None => problems.push(Problem::new(
            "spec.steps",
            "required",
            "`spec.steps` is required for kind `Template`",
        )),
        Some(Value::Array(steps)) => {
            for (index, step) in steps.iter().enumerate() {
                let prefix = format!("spec.steps[{index}].");
                match step {
                    Value::Object(step) => {
                        required_string(step, &prefix, "action", problems);
                        for optional in ["id", "name", "if"] {
                            if !matches!(
                                step.get(optional),
                                None | Some(Value::String(_) | Value::Bool(_))
                            ) {
                                optional_string(step, &prefix, optional, problems);
                            }
                        }
                    }
                    other => problems.push(type_problem(
                        &format!("spec.steps[{index}]"),
                        "a mapping with `action`",
                        other,
                    )),
                }
            }
        }
        Some(other) => problems.push(type_problem("spec.steps", "a sequence", other)),
    }
    if let Some(parameters) = spec.get("parameters")
        && !parameters.is_object()
        && !parameters.is_array()
    {
        problems.push(type_problem(
            "spec.parameters",
            "a mapping or a sequence of mappings",
            parameters,
        ));
    }
}

fn required_string<'a>(
    map: &'a Map<String, Value>,
    prefix: &str,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a str> {
    match map.get(key) {
        Some(Value::String(text)) => Some(text),
        Some(other) => {
            problems.push(type_problem(&format!("{prefix}{key}"), "a string", other));
            None
        }
        None => {
            problems.push(Problem::new(
                format!("{prefix}{key}"),
                "required",
                format!("`{prefix}{key}` is required"),
            ));
            None
        }
    }
}

fn optional_string<'a>(
    map: &'a Map<String, Value>,
    prefix: &str,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a str> {
    match map.get(key) {
        Some(Value::String(text)) => Some(text),
        None => None,
        Some(other) => {
            problems.push(type_problem(&format!("{prefix}{key}"), "a string", other));
            None
        }
    }
}

fn type_problem(field: &str, expected: &str, found: &Value) -> Problem {
    Problem::new(
        field,
        "type",
        format!("expected {expected}, found {}", type_name(found)),
    )
}

fn type_name(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(value) => format!("boolean `{value}`"),
        Value::Number(number) => format!("number `{}`", excerpt(&number.to_string())),
        Value::String(text) => format!("string `{}`", excerpt(text)),
        Value::Array(_) => "a sequence".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(yaml: &str, expect: &[&str]) {
        let parsed = crate::yaml::parse_documents("t.yaml", yaml);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let entity = parsed.documents[0].value.clone();
        let actual: Vec<String> = validate_entity(&entity)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(actual, expect);
    }

    const COMPONENT_SPEC: &str = "spec: {type: service, lifecycle: production, owner: team-a}\n";

    #[test]
    fn accepts_names_as_backstage_does() {
        for name in ["a", "a--b", "a_b.c", "A1", &"x".repeat(63)] {
            assert!(is_valid_name(name), "{name}");
        }
        for name in ["", "a_b.c-", "-a", "Web Service!", &"x".repeat(64)] {
            assert!(!is_valid_name(name), "{name}");
        }
        for tag in ["a:b", "c+#", "java"] {
            assert!(is_valid_tag(tag), "{tag}");
        }
        for tag in ["A", "a--b", ""] {
            assert!(!is_valid_tag(tag), "{tag}");
        }
        assert!(is_valid_key("a.b/C_d"));
        assert!(!is_valid_key("A.b/c"));
        assert!(!is_valid_key("a/b/c"));
    }

    #[test]
    fn reports_every_problem() {
        check(
            &format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: \"Web Service!\"\n  tags: [\"\"]\n  labels: {{team: 5}}\nextra: 1\n{COMPONENT_SPEC}"
            ),
            &[
                "field `extra`: unknown root field `extra`: accepted fields are apiVersion, kind, metadata, spec (rule `unknown-field`)",
                "field `metadata.name`: `Web Service!` is not a valid name: expected sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total (rule `name-format`)",
                "field `metadata.labels.team`: expected a string, found number `5` (rule `type`)",
                "field `metadata.tags[0]`: tag `` is not valid: expected sequences of [a-z0-9:+#] separated by [-], at most 63 characters in total (rule `tag-format`)",
            ],
        );
    }

    #[test]
    fn checks_the_kind_schema() {
        check(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: platform}\nspec: {type: team}\n",
            &[
                "field `spec.children`: `spec.children` is required for kind `Group` (rule `required`)",
            ],
        );
        check(
            "apiVersion: backstage.io/v1alpha1\nkind: Widget\nmetadata: {name: x}\nspec: {}\n",
            &[
                "field `kind`: unsupported kind `Widget` with apiVersion `backstage.io/v1alpha1`: accepted are Component, API, Resource, System, Domain, Group, User, Location with `backstage.io/v1alpha1` or `backstage.io/v1beta1`, and Template with `scaffolder.backstage.io/v1beta3` (rule `unknown-kind`)",
            ],
        );
        check(
            "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps:\n    - name: no id or action\n",
            &["field `spec.steps[0].action`: `spec.steps[0].action` is required (rule `required`)"],
        );
        check(
            &format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: x, namespace: Foo}}\n{COMPONENT_SPEC}"
            ),
            &[
                "field `metadata.namespace`: `Foo` is not a valid namespace: expected sequences of [a-z0-9] separated by [-], at most 63 characters in total (rule `namespace-format`)",
            ],
        );
    }
}

//! Walking a JSON Schema document: which keywords hold subschemas, JSON pointers, and local
//! `$ref`s resolved inside the document.

use std::ptr;

use serde_json::Value;

/// Keywords whose value is one subschema (`items` too, when it is not a list).
const SINGLE_KEYWORDS: &[&str] = &[
    "additionalItems",
    "additionalProperties",
    "contains",
    "contentSchema",
    "else",
    "if",
    "items",
    "not",
    "propertyNames",
    "then",
    "unevaluatedItems",
    "unevaluatedProperties",
];

/// Keywords whose value is a list of subschemas (`items` too, in drafts before 2020-12).
const LIST_KEYWORDS: &[&str] = &["allOf", "anyOf", "items", "oneOf", "prefixItems"];

/// Keywords whose value maps names to subschemas (`dependencies` maps some names to lists of
/// property names, which are not schemas).
const MAP_KEYWORDS: &[&str] = &[
    "$defs",
    "definitions",
    "dependencies",
    "dependentSchemas",
    "patternProperties",
    "properties",
];

/// How the value of `keyword` holds subschemas, given the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holds {
    /// One subschema.
    One,
    /// A list of subschemas.
    List,
    /// A map from names to subschemas.
    Map,
    /// Data, not schemas (`type`, `enum`, `default`, `ui:widget`, ...).
    Data,
}

/// How `keyword`'s value `value` holds subschemas.
pub(crate) fn holds(keyword: &str, value: &Value) -> Holds {
    if keyword == "items" && value.is_array() {
        Holds::List
    } else if SINGLE_KEYWORDS.contains(&keyword) {
        Holds::One
    } else if LIST_KEYWORDS.contains(&keyword) {
        Holds::List
    } else if MAP_KEYWORDS.contains(&keyword) {
        Holds::Map
    } else {
        Holds::Data
    }
}

/// Whether `value` can be a schema: JSON Schema allows objects and booleans.
fn is_schema(value: &Value) -> bool {
    value.is_object() || value.is_boolean()
}

/// The subschemas directly below `schema`, each with its pointer relative to `schema`.
pub(crate) fn children(schema: &Value) -> Vec<(String, &Value)> {
    let Some(object) = schema.as_object() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (keyword, value) in object {
        let at = join("", keyword);
        match (holds(keyword, value), value) {
            (Holds::One, value) if is_schema(value) => found.push((at, value)),
            (Holds::List, Value::Array(list)) => found.extend(
                list.iter()
                    .enumerate()
                    .filter(|(_, value)| is_schema(value))
                    .map(|(index, value)| (format!("{at}/{index}"), value)),
            ),
            (Holds::Map, Value::Object(map)) => found.extend(
                map.iter()
                    .filter(|(_, value)| is_schema(value))
                    .map(|(name, value)| (join(&at, name), value)),
            ),
            _ => {}
        }
    }
    found
}

/// Every schema of the document, the root first, in document order, with its pointer.
pub(crate) fn all_schemas(root: &Value) -> Vec<(String, &Value)> {
    let mut found = Vec::new();
    let mut stack = vec![(String::new(), root)];
    while let Some((pointer, schema)) = stack.pop() {
        let mut below = children(schema);
        below.reverse();
        stack.extend(
            below
                .into_iter()
                .map(|(relative, child)| (format!("{pointer}{relative}"), child)),
        );
        found.push((pointer, schema));
    }
    found
}

/// `segment` escaped for a JSON pointer (RFC 6901): `~` as `~0`, `/` as `~1`.
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// `pointer` extended by one unescaped `segment`.
pub(crate) fn join(pointer: &str, segment: &str) -> String {
    format!("{pointer}/{}", escape(segment))
}

/// Resolves a local reference (`#`, `#/json/pointer`, `#anchor`) inside `root`. `None` when
/// the reference is not local or names nothing.
pub(crate) fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = percent_decode(reference.strip_prefix('#')?)?;
    if fragment.is_empty() {
        Some(root)
    } else if fragment.starts_with('/') {
        root.pointer(&fragment)
    } else {
        all_schemas(root)
            .into_iter()
            .map(|(_, schema)| schema)
            .find(|schema| names_anchor(schema, &fragment))
    }
}

/// Whether `schema` declares the plain-name anchor `name` (`$anchor`, `$dynamicAnchor`, or the
/// `$id: "#name"` / `id: "#name"` of drafts 4 to 7).
fn names_anchor(schema: &Value, name: &str) -> bool {
    let text = |keyword: &str| schema.get(keyword).and_then(Value::as_str);
    text("$anchor") == Some(name)
        || text("$dynamicAnchor") == Some(name)
        || ["$id", "id"]
            .iter()
            .any(|keyword| text(keyword).and_then(|id| id.strip_prefix('#')) == Some(name))
}

/// Decodes `%XX` escapes of a URI fragment; `None` for a malformed escape or invalid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// The most schemas [`applicable`] follows from one place, against reference cycles that never
/// reach the instance (`A: {$ref: B}`, `B: {$ref: A}`).
const MAX_APPLICABLE: usize = 64;

/// The schemas that apply at the place of `schema`: itself, then, depth first, the targets of
/// its local `$ref` and the members of its `allOf`. Each schema appears once.
pub(crate) fn applicable<'a>(root: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let mut found: Vec<&Value> = Vec::new();
    let mut stack = vec![schema];
    while let Some(current) = stack.pop() {
        if found.len() >= MAX_APPLICABLE || found.iter().any(|seen| ptr::eq(*seen, current)) {
            continue;
        }
        found.push(current);
        let mut next = Vec::new();
        if let Some(target) = current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|reference| resolve(root, reference))
        {
            next.push(target);
        }
        if let Some(Value::Array(members)) = current.get("allOf") {
            next.extend(members.iter());
        }
        stack.extend(next.into_iter().rev());
    }
    found
}

/// The first value of `keyword` among the schemas applicable at `schema`.
pub(crate) fn first_keyword<'a>(
    root: &'a Value,
    schema: &'a Value,
    keyword: &str,
) -> Option<&'a Value> {
    applicable(root, schema)
        .into_iter()
        .find_map(|schema| schema.get(keyword))
}

/// The properties of the object schema at `schema`, merged over the applicable schemas (the
/// first declaration of a name wins), in declaration order.
pub(crate) fn properties<'a>(root: &'a Value, schema: &'a Value) -> Vec<(&'a str, &'a Value)> {
    let mut found: Vec<(&str, &Value)> = Vec::new();
    for schema in applicable(root, schema) {
        if let Some(Value::Object(map)) = schema.get("properties") {
            for (name, property) in map {
                if !found.iter().any(|(seen, _)| seen == name) {
                    found.push((name, property));
                }
            }
        }
    }
    found
}

/// The names `required` by the schemas applicable at `schema`.
pub(crate) fn required<'a>(root: &'a Value, schema: &'a Value) -> Vec<&'a str> {
    let mut found: Vec<&str> = Vec::new();
    for schema in applicable(root, schema) {
        if let Some(Value::Array(names)) = schema.get("required") {
            for name in names.iter().filter_map(Value::as_str) {
                if !found.contains(&name) {
                    found.push(name);
                }
            }
        }
    }
    found
}

/// A value as one-line JSON for a message, `, ` between items (`[256, 512]`,
/// `{"min": 1}`), shortened past 100 characters.
pub(crate) fn show(value: &Value) -> String {
    const LIMIT: usize = 100;
    let mut text = String::new();
    write_value(&mut text, value);
    if text.chars().count() <= LIMIT {
        return text;
    }
    let mut short: String = text.chars().take(LIMIT).collect();
    short.push('…');
    short
}

/// A list of values as [`show`] writes it.
pub(crate) fn show_list(values: &[Value]) -> String {
    let mut text = String::new();
    write_list(&mut text, values);
    text
}

fn write_value(text: &mut String, value: &Value) {
    match value {
        Value::Array(items) => write_list(text, items),
        Value::Object(map) => {
            text.push('{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    text.push_str(", ");
                }
                text.push_str(&Value::from(key.as_str()).to_string());
                text.push_str(": ");
                write_value(text, item);
            }
            text.push('}');
        }
        scalar => text.push_str(&scalar.to_string()),
    }
}

fn write_list(text: &mut String, items: &[Value]) {
    text.push('[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            text.push_str(", ");
        }
        write_value(text, item);
    }
    text.push(']');
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn one_of_phrase(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resolves_pointers_anchors_and_escapes() {
        let root = json!({
            "$defs": {
                "a/b": { "const": 1 },
                "with space": { "const": 2 },
                "named": { "$anchor": "here", "const": 3 }
            }
        });
        assert_eq!(resolve(&root, "#/$defs/a~1b"), Some(&json!({ "const": 1 })));
        assert_eq!(
            resolve(&root, "#/$defs/with%20space"),
            Some(&json!({ "const": 2 }))
        );
        assert_eq!(
            resolve(&root, "#here").and_then(|schema| schema.get("const")),
            Some(&json!(3))
        );
        assert_eq!(resolve(&root, "#"), Some(&root));
        assert_eq!(resolve(&root, "#/$defs/missing"), None);
        assert_eq!(resolve(&root, "other.json#/a"), None);
        assert_eq!(resolve(&root, "#/%zz"), None);
    }

    #[test]
    fn applicable_follows_refs_and_all_of_once() {
        let root = json!({
            "$defs": {
                "a": { "$ref": "#/$defs/b", "minimum": 1 },
                "b": { "$ref": "#/$defs/a", "maximum": 2 }
            },
            "allOf": [{ "$ref": "#/$defs/a" }]
        });
        let found = applicable(&root, &root);
        assert_eq!(found.len(), 4, "{found:?}");
    }

    #[test]
    fn children_know_which_keywords_hold_schemas() {
        let schema = json!({
            "properties": { "a/b": { "type": "string" }, "c": 12 },
            "items": [{ "type": "string" }],
            "enum": [{ "type": "string" }],
            "ui:options": { "type": "x" },
            "dependencies": { "a": ["b"], "c": { "required": ["d"] } }
        });
        let pointers: Vec<String> = children(&schema)
            .into_iter()
            .map(|(pointer, _)| pointer)
            .collect();
        assert_eq!(
            pointers,
            ["/properties/a~1b", "/items/0", "/dependencies/c"]
        );
    }
}

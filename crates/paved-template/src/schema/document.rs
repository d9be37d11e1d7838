//! Checks that a JSON value is an acceptable input schema: valid against its draft's
//! meta-schema, an object schema at the top, self-contained, with messages that say what is
//! accepted.

use jsonschema::{Draft, ValidationError, error::ValidationErrorKind};
use serde_json::Value;

use crate::schema::SchemaProblem;
use crate::schema::walk::{self, Holds};

/// The `$schema` URIs accepted, for messages.
const ACCEPTED_DRAFTS: &str = "`https://json-schema.org/draft/2020-12/schema` (the default), \
     `https://json-schema.org/draft/2019-09/schema`, `http://json-schema.org/draft-07/schema#`, \
     `http://json-schema.org/draft-06/schema#` or `http://json-schema.org/draft-04/schema#`";

/// Checks `json` and returns the draft it is written in.
pub(crate) fn check(json: &Value) -> Result<Draft, Vec<SchemaProblem>> {
    let draft = Draft::default().detect(json);
    if draft == Draft::Unknown {
        let uri = json
            .get("$schema")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(vec![SchemaProblem::new(
            "/$schema",
            "unknown-draft",
            format!("`{uri}` is not a JSON Schema draft Paved knows; accepted: {ACCEPTED_DRAFTS}"),
        )]);
    }
    let meta_problems = meta_problems(json, draft);
    if !meta_problems.is_empty() {
        return Err(meta_problems);
    }
    let mut problems = Vec::new();
    check_object_schema(json, &mut problems);
    check_references(json, draft, &mut problems);
    if problems.is_empty() {
        Ok(draft)
    } else {
        problems.sort();
        problems.dedup();
        Err(problems)
    }
}

/// A problem found while compiling a schema that passed [`check`], such as a `pattern` that is
/// not a regular expression.
pub(crate) fn compile_problem(error: &ValidationError<'_>) -> SchemaProblem {
    let pointer = error.instance_path().as_str().to_owned();
    match error.kind() {
        ValidationErrorKind::Format { format } if format == "regex" => SchemaProblem::new(
            pointer,
            "json-schema",
            format!(
                "{} is not a regular expression Paved can compile (ECMA 262 syntax is expected)",
                walk::show(error.instance())
            ),
        ),
        _ => SchemaProblem::new(pointer, "json-schema", error.to_string()),
    }
}

/// The meta-schema's objections to `json`, one per place, each saying what is accepted.
fn meta_problems(json: &Value, draft: Draft) -> Vec<SchemaProblem> {
    let validator = match jsonschema::meta::validator_for(json) {
        Ok(validator) => validator,
        Err(error) => {
            return vec![SchemaProblem::new(
                "/$schema",
                "unknown-draft",
                error.to_string(),
            )];
        }
    };
    let mut problems: Vec<SchemaProblem> = validator
        .iter_errors(json)
        .map(|error| meta_problem(json, draft, &error))
        .collect();
    problems.sort();
    problems.dedup();
    problems
}

/// One meta-schema error as a problem at the keyword that is wrong.
fn meta_problem(json: &Value, draft: Draft, error: &ValidationError<'_>) -> SchemaProblem {
    let pointer = error.instance_path().as_str();
    match place_of(json, pointer) {
        Place::Keyword {
            schema_pointer,
            keyword,
        } => {
            let keyword_pointer = walk::join(&schema_pointer, &keyword);
            let found = json
                .pointer(&keyword_pointer)
                .map(walk::show)
                .unwrap_or_default();
            let message = match accepted(&keyword, draft) {
                Some(accepted) => format!("`{keyword}` must be {accepted}, found {found}"),
                None => format!("`{keyword}` is not valid: {error}"),
            };
            SchemaProblem::new(keyword_pointer, "json-schema", message)
        }
        Place::Schema if pointer.is_empty() => SchemaProblem::new(
            "",
            "json-schema",
            format!(
                "an input schema must be a JSON Schema object with `type: object`, found {}",
                walk::show(error.instance())
            ),
        ),
        Place::Schema if matches!(error.kind(), ValidationErrorKind::Type { .. }) => {
            SchemaProblem::new(
                pointer,
                "json-schema",
                format!(
                    "a schema must be an object or a boolean, found {}",
                    walk::show(error.instance())
                ),
            )
        }
        Place::Schema => {
            let message = match error.kind() {
                // Draft 4's `exclusiveMinimum` needs `minimum`, and so on.
                ValidationErrorKind::Required { property } => format!(
                    "{} is required here: another keyword of this schema depends on it",
                    property
                        .as_str()
                        .map_or_else(|| walk::show(property), |name| format!("`{name}`"))
                ),
                _ => error.to_string(),
            };
            SchemaProblem::new(pointer, "json-schema", message)
        }
    }
}

/// Where a pointer into a schema document lands.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// On a schema (or a list or map of schemas).
    Schema,
    /// Inside the value of `keyword` of the schema at `schema_pointer`, a keyword whose value is
    /// data (`type`, `required`, `minimum`) or which holds schemas but is malformed.
    Keyword {
        schema_pointer: String,
        keyword: String,
    },
}

/// Where `pointer` lands in `json`, walking the segments from the root and knowing which
/// keywords hold schemas.
fn place_of(json: &Value, pointer: &str) -> Place {
    #[derive(Clone, Copy)]
    enum State {
        Schema,
        Holder,
    }
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut state = State::Schema;
    let mut at = String::new();
    let mut current = Some(json);
    for segment in &segments {
        let value = current.and_then(|value| match value {
            Value::Object(map) => map.get(segment),
            Value::Array(list) => segment
                .parse::<usize>()
                .ok()
                .and_then(|index| list.get(index)),
            _ => None,
        });
        match state {
            State::Schema => {
                let holds = value.map_or(Holds::Data, |value| walk::holds(segment, value));
                let well_formed = matches!(
                    (holds, value),
                    (Holds::One, _)
                        | (Holds::List, Some(Value::Array(_)))
                        | (Holds::Map, Some(Value::Object(_)))
                );
                if holds == Holds::Data || !well_formed {
                    return Place::Keyword {
                        schema_pointer: at,
                        keyword: segment.clone(),
                    };
                }
                state = match holds {
                    Holds::One => State::Schema,
                    _ => State::Holder,
                };
            }
            State::Holder => state = State::Schema,
        }
        at = walk::join(&at, segment);
        current = value;
    }
    match (state, segments.split_last()) {
        // A malformed list or map of schemas, reported at its keyword.
        (State::Holder, Some((keyword, parents))) => Place::Keyword {
            schema_pointer: parents.iter().fold(String::new(), |pointer, segment| {
                walk::join(&pointer, segment)
            }),
            keyword: keyword.clone(),
        },
        _ => Place::Schema,
    }
}

/// What the meta-schema of `draft` accepts for `keyword`, for messages.
fn accepted(keyword: &str, draft: Draft) -> Option<&'static str> {
    let before_2020 = matches!(
        draft,
        Draft::Draft4 | Draft::Draft6 | Draft::Draft7 | Draft::Draft201909
    );
    Some(match keyword {
        "type" => {
            "one of `array`, `boolean`, `integer`, `null`, `number`, `object` and `string`, or a \
             list of them"
        }
        "exclusiveMinimum" | "exclusiveMaximum" if draft == Draft::Draft4 => {
            "`true` or `false` in draft 4 (the bound itself is `minimum` or `maximum`)"
        }
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => "a number",
        "multipleOf" => "a number greater than 0",
        "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties"
        | "minContains" | "maxContains" => "a non-negative integer",
        "required" if draft == Draft::Draft4 => "a non-empty list of unique property names",
        "required" => "a list of unique property names",
        "enum" => "a list of the accepted values",
        "examples" => "a list of example values",
        "pattern" => "a string holding a regular expression",
        "$ref" | "$dynamicRef" | "$recursiveRef" => {
            "a string holding a URI reference, such as `#/$defs/Name`"
        }
        "$anchor" | "$dynamicAnchor" => "a plain name such as `address`",
        "$schema" | "$id" | "id" | "title" | "description" | "$comment" | "format"
        | "contentMediaType" | "contentEncoding" => "a string",
        "uniqueItems" | "readOnly" | "writeOnly" | "deprecated" | "$recursiveAnchor" => {
            "`true` or `false`"
        }
        "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
            "an object whose values are schemas (objects or booleans)"
        }
        "dependencies" => "an object whose values are schemas or lists of unique property names",
        "dependentRequired" => "an object whose values are lists of unique property names",
        "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
            "a non-empty list of schemas (objects or booleans)"
        }
        "items" if before_2020 => "a schema (an object or a boolean) or a list of schemas",
        "additionalItems"
        | "additionalProperties"
        | "contains"
        | "contentSchema"
        | "else"
        | "if"
        | "items"
        | "not"
        | "propertyNames"
        | "then"
        | "unevaluatedItems"
        | "unevaluatedProperties" => "a schema (an object or a boolean)",
        _ => return None,
    })
}

/// The top level must accept objects only: `type: object` there or in a top-level `$ref` or
/// `allOf` target.
fn check_object_schema(json: &Value, problems: &mut Vec<SchemaProblem>) {
    if !json.is_object() {
        problems.push(SchemaProblem::new(
            "",
            "object-schema",
            format!(
                "an input schema must be an object with `type: object` at the top level, found {}",
                walk::show(json)
            ),
        ));
        return;
    }
    let is_object_type = |schema: &&Value| match schema.get("type") {
        Some(Value::String(name)) => name == "object",
        Some(Value::Array(names)) => names == &[Value::from("object")],
        _ => false,
    };
    if walk::applicable(json, json).iter().any(is_object_type) {
        return;
    }
    let (pointer, found) = match json.get("type") {
        Some(found) => ("/type", format!("found `type: {}`", walk::show(found))),
        None => ("", "`type` is missing".to_owned()),
    };
    problems.push(SchemaProblem::new(
        pointer,
        "object-schema",
        format!(
            "the top level of an input schema must be `type: object` (each property is one \
             input); {found}"
        ),
    ));
}

/// Every `$ref` must point inside the document and resolve there, and only the root may have a
/// `$id` (a nested one would start another resource, where `#...` means something else).
fn check_references(json: &Value, draft: Draft, problems: &mut Vec<SchemaProblem>) {
    let id_keyword = if draft == Draft::Draft4 { "id" } else { "$id" };
    let definitions: Vec<String> = ["$defs", "definitions"]
        .iter()
        .filter_map(|keyword| Some((keyword, json.get(keyword)?.as_object()?)))
        .flat_map(|(keyword, map)| map.keys().map(move |name| format!("`#/{keyword}/{name}`")))
        .collect();
    for (pointer, schema) in walk::all_schemas(json) {
        for keyword in ["$ref", "$dynamicRef", "$recursiveRef"] {
            let Some(reference) = schema.get(keyword).and_then(Value::as_str) else {
                continue;
            };
            let at = walk::join(&pointer, keyword);
            if !reference.starts_with('#') {
                problems.push(SchemaProblem::new(
                    at,
                    "remote-ref",
                    format!(
                        "`{reference}` is not a local reference: an input schema is one \
                         document, and only references into it are accepted, such as \
                         `#/$defs/Name`"
                    ),
                ));
            } else if keyword == "$ref" && walk::resolve(json, reference).is_none() {
                let known = if definitions.is_empty() {
                    "the document has no `$defs`".to_owned()
                } else {
                    format!("the document defines {}", definitions.join(", "))
                };
                problems.push(SchemaProblem::new(
                    at,
                    "unresolved-ref",
                    format!("`{reference}` points to nothing in this document; {known}"),
                ));
            }
        }
        let nested_id = schema
            .get(id_keyword)
            .and_then(Value::as_str)
            .is_some_and(|id| !id.starts_with('#'));
        if !pointer.is_empty() && nested_id {
            problems.push(SchemaProblem::new(
                walk::join(&pointer, id_keyword),
                "nested-id",
                format!(
                    "`{id_keyword}` is accepted only at the top level of an input schema: a \
                     nested one starts another document; use `$anchor` to name a subschema"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn place_of_tells_keywords_from_schemas() {
        let json = json!({
            "properties": { "type": { "type": 12 }, "list": { "items": [1] } },
            "required": ["a", 1],
            "allOf": {}
        });
        let keyword = |schema_pointer: &str, keyword: &str| Place::Keyword {
            schema_pointer: schema_pointer.to_owned(),
            keyword: keyword.to_owned(),
        };
        assert_eq!(
            place_of(&json, "/properties/type/type"),
            keyword("/properties/type", "type")
        );
        assert_eq!(place_of(&json, "/properties/type"), Place::Schema);
        assert_eq!(place_of(&json, "/properties/list/items/0"), Place::Schema);
        assert_eq!(place_of(&json, "/required/1"), keyword("", "required"));
        assert_eq!(place_of(&json, "/allOf"), keyword("", "allOf"));
        assert_eq!(place_of(&json, ""), Place::Schema);
    }
}

//! Inputs against a schema: defaults applied where inputs are absent, and the validator's errors
//! turned into problems that name the input, the keyword and what is accepted.

use std::collections::BTreeSet;

use jsonschema::{ValidationError, error::TypeKind, error::ValidationErrorKind};
use serde_json::Value;

use crate::schema::InputProblem;
use crate::schema::walk;

/// How deep [`apply_defaults`] descends into the inputs.
const MAX_DEPTH: usize = 64;

/// Inserts, in `instance`, the defaults of `schema`'s properties that are absent, then does the
/// same in every nested object and array item, following local `$ref`s and `allOf`.
pub(crate) fn apply_defaults(root: &Value, schema: &Value, instance: &mut Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let applicable = walk::applicable(root, schema);
    match instance {
        Value::Object(map) => {
            let properties = walk::properties(root, schema);
            for (name, property) in &properties {
                if !map.contains_key(*name)
                    && let Some(default) = walk::first_keyword(root, property, "default")
                {
                    map.insert((*name).to_owned(), default.clone());
                }
            }
            for schema in &applicable {
                let Some(Value::Object(properties)) = schema.get("properties") else {
                    continue;
                };
                for (name, property) in properties {
                    if let Some(child) = map.get_mut(name) {
                        apply_defaults(root, property, child, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) => {
            for schema in &applicable {
                let (positional, rest) = match (schema.get("prefixItems"), schema.get("items")) {
                    (Some(Value::Array(prefix)), rest) => (prefix.as_slice(), rest),
                    // Drafts before 2020-12: `items` as a list is positional, and
                    // `additionalItems` covers the rest.
                    (_, Some(Value::Array(prefix))) => {
                        (prefix.as_slice(), schema.get("additionalItems"))
                    }
                    (_, rest) => (&[][..], rest),
                };
                for (index, item) in items.iter_mut().enumerate() {
                    if let Some(item_schema) =
                        positional.get(index).or(if index >= positional.len() {
                            rest
                        } else {
                            None
                        })
                    {
                        apply_defaults(root, item_schema, item, depth + 1);
                    }
                }
            }
        }
        _ => {}
    }
}

/// The problems one validation error stands for: usually one, one per unexpected property for
/// `additionalProperties` and `unevaluatedProperties`.
pub(crate) fn input_problems(root: &Value, error: &ValidationError<'_>) -> Vec<InputProblem> {
    let input = error.instance_path().as_str().to_owned();
    let rule = error.kind().keyword().to_owned();
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            vec![InputProblem {
                input: walk::join(&input, &name),
                rule,
                message: format!("`{name}` is required and has no default"),
            }]
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let accepted = accepted_properties(root, error);
            unexpected
                .iter()
                .map(|name| InputProblem {
                    input: walk::join(&input, name),
                    rule: rule.clone(),
                    message: format!("`{name}` is not accepted here; {accepted}"),
                })
                .collect()
        }
        _ => vec![InputProblem {
            input,
            rule,
            message: message(error),
        }],
    }
}

/// The properties accepted by the schema holding the failed `additionalProperties`, as a
/// phrase.
fn accepted_properties(root: &Value, error: &ValidationError<'_>) -> String {
    let keyword_pointer = error.schema_path().as_str();
    let schema = keyword_pointer
        .rsplit_once('/')
        .and_then(|(parent, _)| root.pointer(parent));
    let names: Vec<String> = schema
        .map(|schema| walk::properties(root, schema))
        .unwrap_or_default()
        .into_iter()
        .map(|(name, _)| format!("`{name}`"))
        .collect();
    if names.is_empty() {
        "no other property is accepted".to_owned()
    } else {
        format!("accepted: {}", names.join(", "))
    }
}

/// What is wrong and what is accepted, for one error.
fn message(error: &ValidationError<'_>) -> String {
    let instance: &Value = error.instance();
    let found = walk::show(instance);
    match error.kind() {
        ValidationErrorKind::Type { kind } => {
            let expected: Vec<String> = match kind {
                TypeKind::Single(single) => vec![type_phrase(single.as_str()).to_owned()],
                TypeKind::Multiple(set) => {
                    let mut names: Vec<&str> = set.iter().map(|single| single.as_str()).collect();
                    // `null` last: "a string or null".
                    names.sort_by_key(|name| *name == "null");
                    names
                        .into_iter()
                        .map(|name| type_phrase(name).to_owned())
                        .collect()
                }
            };
            format!(
                "expected {}, found {}",
                walk::one_of_phrase(&expected),
                found_phrase(instance)
            )
        }
        ValidationErrorKind::Enum { options } => {
            let options = options.as_array().map(Vec::as_slice).unwrap_or_default();
            format!(
                "{found} is not one of the accepted values {}",
                walk::show_list(options)
            )
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!(
                "{found} is not the accepted value {}",
                walk::show(expected_value)
            )
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("{found} is greater than the maximum {limit}")
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("{found} is less than the minimum {limit}")
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("{found} is not less than the exclusive maximum {limit}")
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("{found} is not greater than the exclusive minimum {limit}")
        }
        ValidationErrorKind::MultipleOf { multiple_of } => {
            format!("{found} is not a multiple of {multiple_of}")
        }
        ValidationErrorKind::MaxLength { limit } => format!(
            "{found} is {} long, more than the maximum length {limit}",
            characters(instance)
        ),
        ValidationErrorKind::MinLength { limit } => format!(
            "{found} is {} long, less than the minimum length {limit}",
            characters(instance)
        ),
        ValidationErrorKind::Pattern { pattern } => {
            format!("{found} does not match the pattern `{pattern}`")
        }
        ValidationErrorKind::Format { format } => {
            format!("{found} is not a valid `{format}`")
        }
        ValidationErrorKind::MaxItems { limit } => format!(
            "the list has {}, more than the maximum {limit}",
            count(instance.as_array().map_or(0, Vec::len), "item")
        ),
        ValidationErrorKind::MinItems { limit } => format!(
            "the list has {}, less than the minimum {limit}",
            count(instance.as_array().map_or(0, Vec::len), "item")
        ),
        ValidationErrorKind::UniqueItems => match first_duplicate(instance) {
            Some(duplicate) => format!(
                "{} appears more than once; the items must be unique",
                walk::show(duplicate)
            ),
            None => "the items must be unique".to_owned(),
        },
        ValidationErrorKind::MaxProperties { limit } => format!(
            "the object has {}, more than the maximum {limit}",
            count(instance.as_object().map_or(0, |map| map.len()), "property")
        ),
        ValidationErrorKind::MinProperties { limit } => format!(
            "the object has {}, less than the minimum {limit}",
            count(instance.as_object().map_or(0, |map| map.len()), "property")
        ),
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let alternatives: Vec<String> = context
                .iter()
                .map(|errors| match errors.first() {
                    Some(first) => message(first),
                    None => "accepted".to_owned(),
                })
                .collect();
            format!(
                "{found} matches none of the accepted alternatives: {}",
                alternatives.join("; ")
            )
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            format!("{found} matches more than one alternative; exactly one is accepted")
        }
        ValidationErrorKind::Not { schema } => {
            format!(
                "{found} is refused: it matches the `not` schema {}",
                walk::show(schema)
            )
        }
        ValidationErrorKind::FalseSchema => format!("{found} is refused: nothing is accepted here"),
        ValidationErrorKind::Contains => {
            "none of the items matches the `contains` schema".to_owned()
        }
        ValidationErrorKind::PropertyNames { error } => {
            format!("a property name is refused: {}", message(error))
        }
        _ => error.to_string(),
    }
}

/// `a string`, `an integer`, `null`... for a JSON Schema type name.
fn type_phrase(name: &str) -> &'static str {
    match name {
        "array" => "a list",
        "boolean" => "a boolean",
        "integer" => "an integer",
        "null" => "null",
        "number" => "a number",
        "object" => "an object",
        _ => "a string",
    }
}

/// The found value and its type: `"8080" (a string)`, `null`, `an object`.
fn found_phrase(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => format!("{value} (a boolean)"),
        Value::Number(number) if number.is_i64() || number.is_u64() => {
            format!("{value} (an integer)")
        }
        Value::Number(_) => format!("{value} (a number)"),
        Value::String(_) => format!("{} (a string)", walk::show(value)),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// `6 characters`, counted as JSON Schema does (Unicode code points).
fn characters(value: &Value) -> String {
    count(
        value.as_str().map_or(0, |text| text.chars().count()),
        "character",
    )
}

/// `1 item`, `2 items`, `3 properties`.
fn count(number: usize, noun: &str) -> String {
    match (number, noun) {
        (1, noun) => format!("1 {noun}"),
        (number, "property") => format!("{number} properties"),
        (number, noun) => format!("{number} {noun}s"),
    }
}

/// The first item of a list that equals an earlier one.
fn first_duplicate(value: &Value) -> Option<&Value> {
    let items = value.as_array()?;
    let mut seen = BTreeSet::new();
    items.iter().find(|item| !seen.insert(item.to_string()))
}

//! AWS Proton's `schema.yaml` (an OpenAPI 3.0 subset) converted to standalone JSON Schema
//! 2020-12 documents, one per input type.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::schema::walk;
use crate::schema::{InputSchema, SchemaProblem};

/// The draft every converted document declares.
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Which kind of template a Proton `schema.yaml` belongs to, from the input type it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtonSchemaKind {
    /// `environment_input_type`: an environment template.
    Environment,
    /// `service_input_type` (and maybe `pipeline_input_type`): a service template.
    Service,
}

/// The JSON Schema documents converted from one Proton `schema.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtonSchemas {
    /// Environment or service, from the input type named.
    pub kind: ProtonSchemaKind,
    /// The environment's or service instance's inputs.
    pub instance: Value,
    /// The pipeline's inputs, when `pipeline_input_type` is set.
    pub pipeline: Option<Value>,
}

/// Converts Proton's `schema.yaml`, already parsed to JSON, to JSON Schema 2020-12.
///
/// The named input type becomes the top level of a standalone document declaring
/// `"$schema": "https://json-schema.org/draft/2020-12/schema"`; the types it references
/// (directly or not) go under `$defs`, and `$ref: '#/types/X'` becomes `#/$defs/X`. OpenAPI 3.0
/// keywords become their JSON Schema forms: a boolean `exclusiveMinimum`/`exclusiveMaximum` takes
/// the number of `minimum`/`maximum`, `nullable: true` adds `"null"` to `type`, and `example`
/// becomes `examples: [..]`. Other keywords, `ui:` hints included, are kept as they are.
///
/// Each converted document is also checked as [`InputSchema::new`] does.
///
/// # Errors
///
/// Every problem, with a JSON pointer into `schema_yaml` (`/schema/service_input_type`,
/// `/schema/types/Service/properties/port/$ref`): a missing `schema`, `format.openapi` or input
/// type key, an input type that is not in `types`, a `$ref` that names no type, or a type that
/// is not a valid object schema.
pub fn from_proton(schema_yaml: &Value) -> Result<ProtonSchemas, Vec<SchemaProblem>> {
    let mut problems = Vec::new();
    let Some(schema) = schema_yaml.get("schema").and_then(Value::as_object) else {
        return Err(vec![SchemaProblem::new(
            "",
            "proton-schema",
            "`schema` is missing or is not a mapping: Proton's schema.yaml holds `schema` with \
             `format`, `types` and `environment_input_type` or `service_input_type`",
        )]);
    };
    check_format(schema, &mut problems);
    let types = match schema.get("types") {
        Some(Value::Object(types)) => types,
        _ => {
            problems.push(SchemaProblem::new(
                "/schema/types",
                "proton-schema",
                "`types` is missing or is not a mapping: it maps each type name to an OpenAPI \
                 schema, and the input types name some of them",
            ));
            return Err(problems);
        }
    };
    let kind = input_kind(schema, &mut problems);
    let names =
        |key: &str, problems: &mut Vec<SchemaProblem>| input_type(schema, types, key, problems);
    let (instance, pipeline) = match kind {
        Some(ProtonSchemaKind::Environment) => {
            (names("environment_input_type", &mut problems), None)
        }
        Some(ProtonSchemaKind::Service) => (
            names("service_input_type", &mut problems),
            schema
                .contains_key("pipeline_input_type")
                .then(|| names("pipeline_input_type", &mut problems))
                .flatten(),
        ),
        None => (None, None),
    };
    let converted: Map<String, Value> = types
        .iter()
        .map(|(name, schema)| {
            let pointer = walk::join("/schema/types", name);
            (
                name.clone(),
                convert(schema, &pointer, types, &mut problems),
            )
        })
        .collect();
    if !problems.is_empty() {
        problems.sort();
        problems.dedup();
        return Err(problems);
    }
    // A missing kind or input type was reported as a problem, returned above.
    let (Some(kind), Some(instance)) = (kind, instance) else {
        return Err(problems);
    };
    let instance = document(schema_yaml, instance, &converted, &mut problems);
    let pipeline = pipeline.map(|name| document(schema_yaml, name, &converted, &mut problems));
    if !problems.is_empty() {
        problems.sort();
        problems.dedup();
        return Err(problems);
    }
    Ok(ProtonSchemas {
        kind,
        instance,
        pipeline,
    })
}

/// `format: {openapi: "3.0.x"}` must be there (YAML may have read an unquoted `3.0` as a
/// number).
fn check_format(schema: &Map<String, Value>, problems: &mut Vec<SchemaProblem>) {
    let version = schema
        .get("format")
        .and_then(|format| format.get("openapi"));
    let text = match version {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    };
    if !text.is_some_and(|text| text.starts_with("3.0")) {
        let found = match version {
            Some(version) => format!("found {}", walk::show(version)),
            None => "it is missing".to_owned(),
        };
        problems.push(SchemaProblem::new(
            "/schema/format",
            "proton-schema",
            format!("`format.openapi` must be `3.0.0` (Proton's schemas are OpenAPI 3.0); {found}"),
        ));
    }
}

/// Environment or service, from which input type key is present.
fn input_kind(
    schema: &Map<String, Value>,
    problems: &mut Vec<SchemaProblem>,
) -> Option<ProtonSchemaKind> {
    let environment = schema.contains_key("environment_input_type");
    let service = schema.contains_key("service_input_type");
    match (environment, service) {
        (true, false) => {
            if schema.contains_key("pipeline_input_type") {
                problems.push(SchemaProblem::new(
                    "/schema/pipeline_input_type",
                    "proton-schema",
                    "`pipeline_input_type` is accepted only with `service_input_type`: \
                     environment templates have no pipeline",
                ));
            }
            Some(ProtonSchemaKind::Environment)
        }
        (false, true) => Some(ProtonSchemaKind::Service),
        (true, true) => {
            problems.push(SchemaProblem::new(
                "/schema",
                "proton-schema",
                "both `environment_input_type` and `service_input_type` are set: an environment \
                 template sets `environment_input_type`, a service template \
                 `service_input_type`, not both",
            ));
            None
        }
        (false, false) => {
            problems.push(SchemaProblem::new(
                "/schema",
                "proton-schema",
                "neither `environment_input_type` nor `service_input_type` is set: an \
                 environment template names its input type in `environment_input_type`, a \
                 service template in `service_input_type` (and its pipeline's in \
                 `pipeline_input_type`)",
            ));
            None
        }
    }
}

/// The type named by `key`, which must be one of `types`.
fn input_type<'a>(
    schema: &'a Map<String, Value>,
    types: &Map<String, Value>,
    key: &str,
    problems: &mut Vec<SchemaProblem>,
) -> Option<&'a str> {
    let pointer = walk::join("/schema", key);
    let known = || {
        let names: Vec<String> = types.keys().map(|name| format!("`{name}`")).collect();
        if names.is_empty() {
            "`types` is empty".to_owned()
        } else {
            format!("accepted: {}", names.join(", "))
        }
    };
    match schema.get(key) {
        Some(Value::String(name)) if types.contains_key(name) => Some(name),
        Some(Value::String(name)) => {
            problems.push(SchemaProblem::new(
                pointer,
                "unknown-input-type",
                format!("`{name}` is not one of `types`; {}", known()),
            ));
            None
        }
        found => {
            let found = found.map(walk::show).unwrap_or_default();
            problems.push(SchemaProblem::new(
                pointer,
                "proton-schema",
                format!(
                    "`{key}` must be the name of one of `types`, found {found}; {}",
                    known()
                ),
            ));
            None
        }
    }
}

/// One OpenAPI schema converted to JSON Schema 2020-12, with every problem reported at its
/// pointer into `schema.yaml`.
fn convert(
    schema: &Value,
    pointer: &str,
    types: &Map<String, Value>,
    problems: &mut Vec<SchemaProblem>,
) -> Value {
    let Some(object) = schema.as_object() else {
        // Booleans and malformed values are left to the JSON Schema checks.
        return schema.clone();
    };
    let mut converted = Map::new();
    for (keyword, value) in object {
        let at = walk::join(pointer, keyword);
        match (keyword.as_str(), value) {
            ("$ref", Value::String(reference)) => {
                converted.insert(
                    keyword.clone(),
                    Value::from(convert_ref(reference, &at, types, problems)),
                );
            }
            ("nullable" | "exclusiveMinimum" | "exclusiveMaximum", Value::Bool(_)) => {}
            ("example", example) if !object.contains_key("examples") => {
                converted.insert("examples".to_owned(), Value::Array(vec![example.clone()]));
            }
            (keyword, value) => {
                let value = match (walk::holds(keyword, value), value) {
                    (walk::Holds::One, value) => convert(value, &at, types, problems),
                    (walk::Holds::List, Value::Array(list)) => Value::Array(
                        list.iter()
                            .enumerate()
                            .map(|(index, item)| {
                                convert(item, &format!("{at}/{index}"), types, problems)
                            })
                            .collect(),
                    ),
                    (walk::Holds::Map, Value::Object(map)) => Value::Object(
                        map.iter()
                            .map(|(name, item)| {
                                (
                                    name.clone(),
                                    convert(item, &walk::join(&at, name), types, problems),
                                )
                            })
                            .collect(),
                    ),
                    (_, value) => value.clone(),
                };
                converted.insert(keyword.to_owned(), value);
            }
        }
    }
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if object.get(exclusive) == Some(&Value::Bool(true))
            && let Some(limit) = converted.remove(bound)
        {
            converted.insert(exclusive.to_owned(), limit);
        }
    }
    if object.get("nullable") == Some(&Value::Bool(true)) {
        match converted.get_mut("type") {
            Some(Value::String(single)) if single != "null" => {
                let single = std::mem::take(single);
                converted.insert(
                    "type".to_owned(),
                    Value::from(vec![single, "null".to_owned()]),
                );
            }
            Some(Value::Array(list)) if !list.contains(&Value::from("null")) => {
                list.push(Value::from("null"));
            }
            _ => {}
        }
    }
    Value::Object(converted)
}

/// `#/types/X` as `#/$defs/X`.
fn convert_ref(
    reference: &str,
    pointer: &str,
    types: &Map<String, Value>,
    problems: &mut Vec<SchemaProblem>,
) -> String {
    let name = reference
        .strip_prefix("#/types/")
        .map(|escaped| escaped.replace("~1", "/").replace("~0", "~"));
    match name {
        Some(name) if types.contains_key(&name) => format!("#/$defs/{}", walk::escape(&name)),
        _ => {
            let known: Vec<String> = types
                .keys()
                .map(|name| format!("`#/types/{name}`"))
                .collect();
            problems.push(SchemaProblem::new(
                pointer,
                "unresolved-ref",
                format!(
                    "`{reference}` names no type of `types`; accepted: {}",
                    known.join(", ")
                ),
            ));
            reference.to_owned()
        }
    }
}

/// The standalone document of the input type `name`: its keywords at the top, the types it
/// reaches through `$ref` under `$defs`. The document is checked as an input schema, with
/// problems pointing back into `schema.yaml`.
fn document(
    schema_yaml: &Value,
    name: &str,
    converted: &Map<String, Value>,
    problems: &mut Vec<SchemaProblem>,
) -> Value {
    let mut reached = BTreeSet::new();
    let mut pending = vec![name.to_owned()];
    while let Some(next) = pending.pop() {
        let Some(schema) = converted.get(&next) else {
            continue;
        };
        for (_, subschema) in walk::all_schemas(schema) {
            let target = subschema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|reference| reference.strip_prefix("#/$defs/"))
                .map(|escaped| escaped.replace("~1", "/").replace("~0", "~"));
            if let Some(target) = target
                && reached.insert(target.clone())
            {
                pending.push(target);
            }
        }
    }
    let mut document = Map::new();
    document.insert("$schema".to_owned(), Value::from(DRAFT_2020_12));
    if let Some(Value::Object(keywords)) = converted.get(name) {
        document.extend(
            keywords
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
    }
    // Definitions keep the order of `types`.
    let definitions: Map<String, Value> = converted
        .iter()
        .filter(|(type_name, _)| reached.contains(*type_name))
        .map(|(type_name, schema)| (type_name.clone(), schema.clone()))
        .collect();
    if !definitions.is_empty() {
        document.insert("$defs".to_owned(), Value::Object(definitions));
    }
    let document = Value::Object(document);
    if let Err(found) = InputSchema::new(document.clone()) {
        problems.extend(found.into_iter().map(|problem| SchemaProblem {
            pointer: yaml_pointer(schema_yaml, name, &problem.pointer),
            ..problem
        }));
    }
    document
}

/// A pointer into the converted document of the input type `name` as the pointer into
/// `schema.yaml` it came from.
fn yaml_pointer(schema_yaml: &Value, name: &str, pointer: &str) -> String {
    let (type_name, rest) = match pointer.strip_prefix("/$defs/") {
        Some(inside) => {
            let (escaped, rest) = inside
                .split_once('/')
                .map_or((inside, ""), |(head, tail)| (head, tail));
            (
                escaped.replace("~1", "/").replace("~0", "~"),
                rest.to_owned(),
            )
        }
        None => (name.to_owned(), pointer.trim_start_matches('/').to_owned()),
    };
    let mut yaml = walk::join("/schema/types", &type_name);
    let segments: Vec<&str> = rest
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let mut index = 0;
    while index < segments.len() {
        // `examples/0` came from `example` when the type has no `examples` of its own.
        let from_example = schema_yaml.pointer(&yaml).is_some_and(|schema| {
            schema.get("example").is_some() && schema.get("examples").is_none()
        });
        if segments[index] == "examples" && from_example {
            yaml.push_str("/example");
            index += if segments.get(index + 1) == Some(&"0") {
                2
            } else {
                1
            };
            continue;
        }
        yaml.push('/');
        yaml.push_str(segments[index]);
        index += 1;
    }
    yaml
}

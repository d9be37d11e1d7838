//! Entity filters: Backstage's `filter=` query syntax and its JSON predicate syntax, parsed into
//! one [`Filter`] tree.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A condition on entities. Keys are dotted field paths, compared lowercase; values are compared
/// case-insensitively, and a field holding a list matches when any element matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
    /// The field equals one of the values.
    Equals {
        key: String,
        values: Vec<String>,
    },
    /// The field is present.
    Exists {
        key: String,
    },
    /// The field has a value starting with the prefix.
    HasPrefix {
        key: String,
        prefix: String,
    },
}

/// Why a filter could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("invalid filter `{filter}`: {reason}")]
    Syntax { filter: String, reason: String },
    #[error("invalid query predicate at `{path}`: {reason}")]
    Predicate { path: String, reason: String },
}

/// Parses `filter=` query parameters: within one parameter, comma-separated `key=value`
/// conditions must all hold (a key repeated means any of its values); several parameters mean
/// any of them. A bare `key` means the key exists.
pub fn parse_filter_params(params: &[String]) -> Result<Option<Filter>, FilterError> {
    let mut alternatives = Vec::new();
    for param in params {
        let mut conditions: Vec<Filter> = Vec::new();
        for part in param.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (key, value) = match part.split_once('=') {
                Some((key, value)) => (key.trim(), Some(value.trim())),
                None => (part, None),
            };
            if key.is_empty() {
                return Err(FilterError::Syntax {
                    filter: param.clone(),
                    reason: format!("condition `{part}` has no key; expected `key=value` or `key`"),
                });
            }
            let key = key.to_lowercase();
            match value {
                None => conditions.push(Filter::Exists { key }),
                Some(value) => {
                    let value = value.to_lowercase();
                    let existing = conditions.iter_mut().find_map(|condition| match condition {
                        Filter::Equals {
                            key: existing,
                            values,
                        } if *existing == key => Some(values),
                        _ => None,
                    });
                    match existing {
                        Some(values) => values.push(value),
                        None => conditions.push(Filter::Equals {
                            key,
                            values: vec![value],
                        }),
                    }
                }
            }
        }
        if !conditions.is_empty() {
            alternatives.push(if conditions.len() == 1 {
                conditions.remove(0)
            } else {
                Filter::All(conditions)
            });
        }
    }
    Ok(match alternatives.len() {
        0 => None,
        1 => alternatives.pop(),
        _ => Some(Filter::Any(alternatives)),
    })
}

/// Parses Backstage's predicate syntax used by `POST /entities/by-query`:
/// `{"kind": "component", "spec.type": {"$in": ["service"]}, "$not": {...}}`, with `$all`,
/// `$any`, `$not`, and per-field `$exists`, `$in`, `$hasPrefix` and `$contains`.
pub fn parse_predicate(predicate: &Value) -> Result<Filter, FilterError> {
    parse_predicate_at(predicate, "$")
}

fn parse_predicate_at(predicate: &Value, path: &str) -> Result<Filter, FilterError> {
    let error = |path: &str, reason: &str| FilterError::Predicate {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let Value::Object(map) = predicate else {
        return Err(error(
            path,
            "expected an object of field conditions or `$all`, `$any`, `$not`",
        ));
    };
    let mut conditions = Vec::with_capacity(map.len());
    for (key, value) in map {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "$all" | "$any" => {
                let Value::Array(items) = value else {
                    return Err(error(&here, "expected an array of predicates"));
                };
                let children = items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| parse_predicate_at(item, &format!("{here}[{index}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                conditions.push(if key == "$all" {
                    Filter::All(children)
                } else {
                    Filter::Any(children)
                });
            }
            "$not" => conditions.push(Filter::Not(Box::new(parse_predicate_at(value, &here)?))),
            operator if operator.starts_with('$') => {
                return Err(error(
                    &here,
                    "unknown operator; expected `$all`, `$any`, `$not` or a field name",
                ));
            }
            field => conditions.push(parse_field_condition(&field.to_lowercase(), value, &here)?),
        }
    }
    Ok(if conditions.len() == 1 {
        conditions.remove(0)
    } else {
        Filter::All(conditions)
    })
}

fn parse_field_condition(key: &str, value: &Value, path: &str) -> Result<Filter, FilterError> {
    let error = |reason: &str| FilterError::Predicate {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(scalar) = scalar_text(value) {
        return Ok(Filter::Equals {
            key: key.to_owned(),
            values: vec![scalar],
        });
    }
    let Value::Object(operators) = value else {
        return Err(error(
            "expected a value or an object with `$exists`, `$in`, `$hasPrefix` or `$contains`",
        ));
    };
    let mut conditions = Vec::new();
    for (operator, operand) in operators {
        match operator.as_str() {
            "$exists" => match operand {
                Value::Bool(true) => conditions.push(Filter::Exists {
                    key: key.to_owned(),
                }),
                Value::Bool(false) => conditions.push(Filter::Not(Box::new(Filter::Exists {
                    key: key.to_owned(),
                }))),
                _ => return Err(error("`$exists` takes true or false")),
            },
            "$in" => {
                let Value::Array(items) = operand else {
                    return Err(error("`$in` takes an array of values"));
                };
                let values = items
                    .iter()
                    .map(|item| {
                        scalar_text(item).ok_or_else(|| {
                            error("`$in` values must be strings, numbers or booleans")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                conditions.push(Filter::Equals {
                    key: key.to_owned(),
                    values,
                });
            }
            "$contains" => {
                let value = scalar_text(operand)
                    .ok_or_else(|| error("`$contains` takes a string, number or boolean"))?;
                conditions.push(Filter::Equals {
                    key: key.to_owned(),
                    values: vec![value],
                });
            }
            "$hasPrefix" => {
                let Value::String(prefix) = operand else {
                    return Err(error("`$hasPrefix` takes a string"));
                };
                conditions.push(Filter::HasPrefix {
                    key: key.to_owned(),
                    prefix: prefix.to_lowercase(),
                });
            }
            _ => {
                return Err(error(&format!(
                    "unknown operator `{operator}`; expected `$exists`, `$in`, `$hasPrefix` or `$contains`"
                )));
            }
        }
    }
    Ok(if conditions.len() == 1 {
        conditions.remove(0)
    } else {
        Filter::All(conditions)
    })
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.to_lowercase()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[track_caller]
    fn check_params(params: &[&str], expect: &str) {
        let params: Vec<String> = params.iter().map(|param| param.to_string()).collect();
        let actual = match parse_filter_params(&params) {
            Ok(filter) => format!("{filter:?}"),
            Err(error) => error.to_string(),
        };
        assert_eq!(actual, expect);
    }

    #[test]
    fn parses_query_parameters() {
        check_params(&[], "None");
        check_params(
            &["kind=Component,spec.owner=group:default/team-7"],
            r#"Some(All([Equals { key: "kind", values: ["component"] }, Equals { key: "spec.owner", values: ["group:default/team-7"] }]))"#,
        );
        check_params(
            &["kind=api,kind=component"],
            r#"Some(Equals { key: "kind", values: ["api", "component"] })"#,
        );
        check_params(
            &["kind=api", "metadata.annotations.backstage.io/orphan"],
            r#"Some(Any([Equals { key: "kind", values: ["api"] }, Exists { key: "metadata.annotations.backstage.io/orphan" }]))"#,
        );
        check_params(
            &["=x"],
            "invalid filter `=x`: condition `=x` has no key; expected `key=value` or `key`",
        );
    }

    #[test]
    fn parses_predicates() {
        let filter = parse_predicate(&json!({
            "kind": "Component",
            "$not": {"spec.lifecycle": {"$in": ["experimental"]}},
            "metadata.tags": {"$exists": true}
        }))
        .expect("valid predicate");
        assert_eq!(
            format!("{filter:?}"),
            r#"All([Equals { key: "kind", values: ["component"] }, Not(Equals { key: "spec.lifecycle", values: ["experimental"] }), Exists { key: "metadata.tags" }])"#
        );
        let error = parse_predicate(&json!({"$any": [{"kind": {"$regex": "x"}}]}))
            .expect_err("unknown operator");
        assert_eq!(
            error.to_string(),
            "invalid query predicate at `$.$any[0].kind`: unknown operator `$regex`; expected `$exists`, `$in`, `$hasPrefix` or `$contains`"
        );
    }
}

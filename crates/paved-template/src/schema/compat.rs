//! Compatibility between the input schemas of two minor versions: everything in the new schema
//! that would refuse inputs the old one accepted.

use std::collections::BTreeSet;
use std::fmt;
use std::ptr;

use serde_json::Value;

use crate::schema::walk;

/// One way the new schema refuses inputs the old one accepted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Incompatibility {
    /// JSON pointer to the input, e.g. `/autoscaling/max`; `*` stands for every item of a list
    /// or every value of a map (`/subnets/*`), and `""` for the inputs as a whole.
    pub input: String,
    /// Which rule is broken.
    pub rule: IncompatibilityRule,
    /// The input and the exact change, e.g. ``input `/cpu`: enum no longer accepts 4096 (old:
    /// [256, 512, 1024, 2048, 4096]; new: [256, 512, 1024, 2048])``.
    pub message: String,
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The compatibility rules between minor versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IncompatibilityRule {
    /// A property of the old schema is not a property of the new one.
    InputRemoved,
    /// The new schema requires an input, without a default, that inputs valid under the old
    /// one could leave out: it was optional, or it had a default that is gone.
    RequiredWithoutDefault,
    /// The set of JSON types accepted shrank: `number` → `integer`, `["string", "null"]` →
    /// `string`, no `type` (any) → `string`.
    TypeNarrowed,
    /// The new `enum` (or `const`) lacks a value of the old one, or the new schema adds an
    /// `enum` where the old had none.
    EnumNarrowed,
    /// A bound got stricter: `maximum`/`exclusiveMaximum` lowered, `minimum`/`exclusiveMinimum`
    /// raised, `maxLength`/`maxItems`/`maxProperties` lowered, `minLength`/`minItems`/
    /// `minProperties` raised (added counts as stricter than absent), a `pattern` added or
    /// changed (any change, since regular expressions are not compared), `multipleOf` added
    /// or changed to a value the old one is not a multiple of, or `uniqueItems` turned on.
    BoundNarrowed,
}

impl IncompatibilityRule {
    /// The rule's kebab-case name: `input-removed`, `required-without-default`,
    /// `type-narrowed`, `enum-narrowed`, `bound-narrowed`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncompatibilityRule::InputRemoved => "input-removed",
            IncompatibilityRule::RequiredWithoutDefault => "required-without-default",
            IncompatibilityRule::TypeNarrowed => "type-narrowed",
            IncompatibilityRule::EnumNarrowed => "enum-narrowed",
            IncompatibilityRule::BoundNarrowed => "bound-narrowed",
        }
    }
}

impl fmt::Display for IncompatibilityRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything in `new` that would refuse inputs valid under `old`, sorted by input, then rule.
///
/// Both are input schemas (JSON Schema documents); the comparison starts at their roots and
/// descends through `properties` present in both, `items` (against an old `items` or, when the
/// old has none, against "anything"), schema-valued `additionalProperties` (likewise), local
/// `$ref`s (each resolved in its own document) and `allOf`. Widening (an input added, a type or
/// enum value added, a bound relaxed, a default added) is always fine.
///
/// Caveats: `anyOf`, `oneOf`, `not`, `if`, `prefixItems`, `patternProperties` and an
/// `additionalProperties: false` turned on are not compared, and `format` is an annotation, not
/// checked. A new optional property is fine even when the old schema accepted any value under
/// that name.
pub fn compatibility(old: &Value, new: &Value) -> Vec<Incompatibility> {
    let mut comparison = Comparison {
        old_root: old,
        new_root: new,
        ancestors: Vec::new(),
        found: Vec::new(),
    };
    comparison.compare(old, new, "");
    let mut found = comparison.found;
    found.sort();
    found.dedup();
    found
}

/// How deep the comparison descends into nested inputs.
const MAX_DEPTH: usize = 64;

/// The schema that accepts anything, standing in for an absent `items`.
static ANYTHING: Value = Value::Bool(true);

/// The JSON types, in the order messages list them.
const JSON_TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// One comparison of two documents.
struct Comparison<'a> {
    old_root: &'a Value,
    new_root: &'a Value,
    /// The pairs of schemas being compared, from the roots down to the current one: a pair
    /// met again is a recursive schema, compared once. A definition used at two places is
    /// compared at both, so each place is reported.
    ancestors: Vec<(*const Value, *const Value)>,
    found: Vec<Incompatibility>,
}

impl<'a> Comparison<'a> {
    fn compare(&mut self, old: &'a Value, new: &'a Value, input: &str) {
        let pair = (ptr::from_ref(old), ptr::from_ref(new));
        if self.ancestors.contains(&pair) || self.ancestors.len() >= MAX_DEPTH {
            return;
        }
        self.ancestors.push(pair);
        self.compare_here(old, new, input);
        self.ancestors.pop();
    }

    fn compare_here(&mut self, old: &'a Value, new: &'a Value, input: &str) {
        let old_schemas = walk::applicable(self.old_root, old);
        let new_schemas = walk::applicable(self.new_root, new);
        self.compare_types(&old_schemas, &new_schemas, input);
        self.compare_enums(&old_schemas, &new_schemas, input);
        self.compare_bounds(&old_schemas, &new_schemas, input);
        self.compare_properties(old, new, input);
        for keyword in ["items", "additionalProperties"] {
            let subschema = |root: &'a Value, schema: &'a Value| {
                walk::first_keyword(root, schema, keyword).filter(|value| value.is_object())
            };
            if let Some(new_subschema) = subschema(self.new_root, new) {
                let old_subschema = subschema(self.old_root, old).unwrap_or(&ANYTHING);
                self.compare(old_subschema, new_subschema, &walk::join(input, "*"));
            }
        }
    }

    fn compare_types(&mut self, old: &[&Value], new: &[&Value], input: &str) {
        let old_types = accepted_types(old);
        let new_types = accepted_types(new);
        let covered = |name: &str| {
            new_types.contains(name) || (name == "integer" && new_types.contains("number"))
        };
        let dropped: Vec<String> = JSON_TYPES
            .iter()
            .filter(|name| old_types.contains(**name) && !covered(name))
            // Numbers dropped altogether include integers.
            .filter(|name| {
                !(**name == "integer" && !covered("number") && old_types.contains("number"))
            })
            .map(|name| match *name {
                "number" if new_types.contains("integer") => "non-integer numbers".to_owned(),
                "number" => "numbers".to_owned(),
                "integer" => "integers".to_owned(),
                "string" => "strings".to_owned(),
                "boolean" => "booleans".to_owned(),
                "object" => "objects".to_owned(),
                "array" => "lists".to_owned(),
                _ => "null".to_owned(),
            })
            .collect();
        if dropped.is_empty() {
            return;
        }
        self.push(
            input,
            IncompatibilityRule::TypeNarrowed,
            format!(
                "type no longer accepts {} (old: {}; new: {})",
                and_phrase(&dropped),
                show_types(old),
                show_types(new)
            ),
        );
    }

    fn compare_enums(&mut self, old: &[&Value], new: &[&Value], input: &str) {
        let Some(new_values) = accepted_values(new) else {
            return;
        };
        match accepted_values(old) {
            Some(old_values) => {
                let dropped: Vec<String> = old_values
                    .iter()
                    .filter(|old_value| !new_values.iter().any(|value| same(old_value, value)))
                    .map(walk::show)
                    .collect();
                if !dropped.is_empty() {
                    self.push(
                        input,
                        IncompatibilityRule::EnumNarrowed,
                        format!(
                            "enum no longer accepts {} (old: {}; new: {})",
                            dropped.join(", "),
                            walk::show_list(&old_values),
                            walk::show_list(&new_values)
                        ),
                    );
                }
            }
            None => self.push(
                input,
                IncompatibilityRule::EnumNarrowed,
                format!(
                    "enum added: only {} is accepted (old: any value)",
                    walk::show_list(&new_values)
                ),
            ),
        }
    }

    fn compare_bounds(&mut self, old: &[&Value], new: &[&Value], input: &str) {
        let mut narrowed = Vec::new();
        let (old_upper, new_upper) = (
            number_bound(old, Side::Upper),
            number_bound(new, Side::Upper),
        );
        if stricter(new_upper.as_ref(), old_upper.as_ref(), Side::Upper) {
            narrowed.push(format!(
                "maximum {} (old: {}; new: {})",
                if old_upper.is_some() {
                    "lowered"
                } else {
                    "added"
                },
                show_bound(old_upper.as_ref(), Side::Upper),
                show_bound(new_upper.as_ref(), Side::Upper)
            ));
        }
        let (old_lower, new_lower) = (
            number_bound(old, Side::Lower),
            number_bound(new, Side::Lower),
        );
        if stricter(new_lower.as_ref(), old_lower.as_ref(), Side::Lower) {
            narrowed.push(format!(
                "minimum {} (old: {}; new: {})",
                if old_lower.is_some() {
                    "raised"
                } else {
                    "added"
                },
                show_bound(old_lower.as_ref(), Side::Lower),
                show_bound(new_lower.as_ref(), Side::Lower)
            ));
        }
        for (keyword, side) in [
            ("maxLength", Side::Upper),
            ("minLength", Side::Lower),
            ("maxItems", Side::Upper),
            ("minItems", Side::Lower),
            ("maxProperties", Side::Upper),
            ("minProperties", Side::Lower),
        ] {
            let (old_limit, new_limit) = (
                count_bound(old, keyword, side),
                count_bound(new, keyword, side),
            );
            let stricter = match (old_limit, new_limit, side) {
                (_, None, _) => false,
                (None, Some(_), _) => true,
                (Some(old_limit), Some(new_limit), Side::Upper) => new_limit < old_limit,
                (Some(old_limit), Some(new_limit), Side::Lower) => new_limit > old_limit,
            };
            if stricter {
                let change = match (old_limit, side) {
                    (None, _) => "added",
                    (Some(_), Side::Upper) => "lowered",
                    (Some(_), Side::Lower) => "raised",
                };
                let old_text =
                    old_limit.map_or_else(|| "none".to_owned(), |limit| limit.to_string());
                let new_text = new_limit.map_or_else(String::new, |limit| limit.to_string());
                narrowed.push(format!(
                    "`{keyword}` {change} (old: {old_text}; new: {new_text})"
                ));
            }
        }
        let old_patterns = strings(old, "pattern");
        let new_patterns = strings(new, "pattern");
        if new_patterns
            .iter()
            .any(|pattern| !old_patterns.contains(pattern))
        {
            let show = |patterns: &[&str]| {
                if patterns.is_empty() {
                    "none".to_owned()
                } else {
                    patterns
                        .iter()
                        .map(|pattern| format!("`{pattern}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            narrowed.push(format!(
                "pattern {} (old: {}; new: {})",
                if old_patterns.is_empty() {
                    "added"
                } else {
                    "changed"
                },
                show(&old_patterns),
                show(&new_patterns)
            ));
        }
        let multiple = |schemas: &[&Value]| {
            schemas
                .iter()
                .find_map(|schema| schema.get("multipleOf").and_then(Value::as_f64))
        };
        if let Some(new_multiple) = multiple(new) {
            let old_multiple = multiple(old);
            let still_divides = old_multiple
                .is_some_and(|old_multiple| (old_multiple / new_multiple).fract() == 0.0);
            if !still_divides {
                let old_text =
                    old_multiple.map_or_else(|| "none".to_owned(), |value| value.to_string());
                narrowed.push(format!(
                    "`multipleOf` changed (old: {old_text}; new: {new_multiple})"
                ));
            }
        }
        let unique = |schemas: &[&Value]| {
            schemas
                .iter()
                .any(|schema| schema.get("uniqueItems") == Some(&Value::Bool(true)))
        };
        if unique(new) && !unique(old) {
            narrowed
                .push("`uniqueItems` turned on: lists with repeated items are refused".to_owned());
        }
        for change in narrowed {
            self.push(input, IncompatibilityRule::BoundNarrowed, change);
        }
    }

    fn compare_properties(&mut self, old: &'a Value, new: &'a Value, input: &str) {
        let old_properties = walk::properties(self.old_root, old);
        let new_properties = walk::properties(self.new_root, new);
        let old_required = walk::required(self.old_root, old);
        let new_required = walk::required(self.new_root, new);
        let default_of = |root: &'a Value, properties: &[(&'a str, &'a Value)], name: &str| {
            properties
                .iter()
                .find(|(property, _)| *property == name)
                .and_then(|(_, schema)| walk::first_keyword(root, schema, "default"))
        };
        for name in &new_required {
            if default_of(self.new_root, &new_properties, name).is_some() {
                continue;
            }
            let message = if !old_required.contains(name) {
                "is required now and has no default: inputs without it were valid (give it a \
                 `default`, or keep it optional)"
                    .to_owned()
            } else if let Some(old_default) = default_of(self.old_root, &old_properties, name) {
                format!(
                    "is required and lost its default {}: inputs without it were valid",
                    walk::show(old_default)
                )
            } else {
                continue;
            };
            self.push(
                &walk::join(input, name),
                IncompatibilityRule::RequiredWithoutDefault,
                message,
            );
        }
        for (name, old_property) in &old_properties {
            let child = walk::join(input, name);
            match new_properties.iter().find(|(property, _)| property == name) {
                Some((_, new_property)) => self.compare(old_property, new_property, &child),
                None => self.push(
                    &child,
                    IncompatibilityRule::InputRemoved,
                    "was removed: it is a property of the old version, not of the new one"
                        .to_owned(),
                ),
            }
        }
    }

    fn push(&mut self, input: &str, rule: IncompatibilityRule, change: String) {
        let subject = if input.is_empty() {
            "the inputs".to_owned()
        } else {
            format!("input `{input}`")
        };
        let separator = match rule {
            IncompatibilityRule::InputRemoved | IncompatibilityRule::RequiredWithoutDefault => " ",
            _ => ": ",
        };
        self.found.push(Incompatibility {
            input: input.to_owned(),
            rule,
            message: format!("{subject}{separator}{change}"),
        });
    }
}

/// The JSON types the schemas accept together; all of them when none has `type`.
fn accepted_types(schemas: &[&Value]) -> BTreeSet<&'static str> {
    let mut accepted: BTreeSet<&'static str> = JSON_TYPES.into_iter().collect();
    for schema in schemas {
        if *schema == &Value::Bool(false) {
            accepted.clear();
        }
        let names: Vec<&str> = match schema.get("type") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        // `number` includes `integer`: `{type: number}` and `{type: integer}` together accept
        // integers.
        let allows =
            |name: &str| names.contains(&name) || (name == "integer" && names.contains(&"number"));
        accepted.retain(|name| allows(name));
    }
    accepted
}

/// The `type`s of the schemas as written, for messages: `"number"`, `["string", "null"]`, or
/// `any` when none has one.
fn show_types(schemas: &[&Value]) -> String {
    let written: Vec<String> = schemas
        .iter()
        .filter_map(|schema| schema.get("type"))
        .map(|types| match types {
            Value::Array(list) => walk::show_list(list),
            single => walk::show(single),
        })
        .collect();
    if written.is_empty() {
        "any".to_owned()
    } else {
        written.join(" and ")
    }
}

/// The values an `enum` (or `const`) allows, from the first of the schemas having one.
fn accepted_values(schemas: &[&Value]) -> Option<Vec<Value>> {
    schemas
        .iter()
        .find_map(|schema| match (schema.get("enum"), schema.get("const")) {
            (Some(Value::Array(values)), _) => Some(values.clone()),
            (_, Some(value)) => Some(vec![value.clone()]),
            _ => None,
        })
}

/// JSON equality where `1` and `1.0` are the same number, as in JSON Schema.
fn same(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => left.as_f64() == right.as_f64(),
        (Value::Array(left), Value::Array(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .zip(right)
                    .all(|(left, right)| same(left, right))
        }
        (Value::Object(left), Value::Object(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .all(|(key, value)| right.get(key).is_some_and(|other| same(value, other)))
        }
        _ => left == right,
    }
}

/// Which way a bound limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Upper,
    Lower,
}

/// A numeric bound: the limit and whether it is exclusive.
#[derive(Debug, Clone, Copy)]
struct Bound {
    limit: f64,
    exclusive: bool,
}

/// The strictest numeric bound of the schemas on `side`, from `maximum`/`minimum` and
/// `exclusiveMaximum`/`exclusiveMinimum` (a number, or draft 4's boolean that makes
/// `maximum`/`minimum` exclusive).
fn number_bound(schemas: &[&Value], side: Side) -> Option<Bound> {
    let (inclusive, exclusive) = match side {
        Side::Upper => ("maximum", "exclusiveMaximum"),
        Side::Lower => ("minimum", "exclusiveMinimum"),
    };
    let mut strictest: Option<Bound> = None;
    for schema in schemas {
        let draft4_exclusive = schema.get(exclusive) == Some(&Value::Bool(true));
        let candidates = [
            schema
                .get(inclusive)
                .and_then(Value::as_f64)
                .map(|limit| Bound {
                    limit,
                    exclusive: draft4_exclusive,
                }),
            schema
                .get(exclusive)
                .and_then(Value::as_f64)
                .map(|limit| Bound {
                    limit,
                    exclusive: true,
                }),
        ];
        for candidate in candidates.into_iter().flatten() {
            if stricter(Some(&candidate), strictest.as_ref(), side) {
                strictest = Some(candidate);
            }
        }
    }
    strictest
}

/// Whether `new` accepts less than `old` on `side` (no bound accepts everything).
fn stricter(new: Option<&Bound>, old: Option<&Bound>, side: Side) -> bool {
    match (new, old) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(new), Some(old)) => {
            let tighter = match side {
                Side::Upper => new.limit < old.limit,
                Side::Lower => new.limit > old.limit,
            };
            tighter || (new.limit == old.limit && new.exclusive && !old.exclusive)
        }
    }
}

/// `at most 65535`, `less than 10`, `at least 1`, `more than 0`, `none`.
fn show_bound(bound: Option<&Bound>, side: Side) -> String {
    let Some(bound) = bound else {
        return "none".to_owned();
    };
    let relation = match (side, bound.exclusive) {
        (Side::Upper, false) => "at most",
        (Side::Upper, true) => "less than",
        (Side::Lower, false) => "at least",
        (Side::Lower, true) => "more than",
    };
    format!("{relation} {}", bound.limit)
}

/// The strictest count bound `keyword` (`maxLength`, `minItems`...) of the schemas.
fn count_bound(schemas: &[&Value], keyword: &str, side: Side) -> Option<u64> {
    let limits = schemas
        .iter()
        .filter_map(|schema| schema.get(keyword).and_then(Value::as_f64))
        .filter(|limit| *limit >= 0.0)
        .map(|limit| limit as u64);
    match side {
        Side::Upper => limits.min(),
        Side::Lower => limits.max(),
    }
}

/// The string values of `keyword` among the schemas.
fn strings<'a>(schemas: &[&'a Value], keyword: &str) -> Vec<&'a str> {
    schemas
        .iter()
        .filter_map(|schema| schema.get(keyword).and_then(Value::as_str))
        .collect()
}

/// `a`, `a and b`, `a, b and c`.
fn and_phrase(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

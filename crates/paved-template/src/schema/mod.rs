//! Input schemas: JSON Schema with `ui:` hints, Proton's OpenAPI subset converted to it,
//! validation with defaults, and the compatibility rules between minor versions.
//!
//! Start with [`InputSchema::new`], which checks and compiles a schema, and
//! [`InputSchema::validate`], which completes inputs with their defaults and checks them.
//! [`from_proton`] turns Proton's `schema.yaml` into JSON Schema documents, and
//! [`compatibility`] lists what a new minor version would break.
//!
//! An input schema is one self-contained document: every `$ref` points inside it (`#/$defs/X`),
//! so nothing is ever fetched, and a `$id` is accepted only at the top level. Keywords starting
//! with `ui:` are form hints and are ignored, as are other unknown keywords. `format` is an
//! annotation, as in draft 2020-12: it is not checked.

mod compat;
mod document;
mod proton;
mod validate;
mod walk;

use serde_json::Value;

pub use compat::{Incompatibility, IncompatibilityRule, compatibility};
pub use proton::{ProtonSchemaKind, ProtonSchemas, from_proton};

/// A checked and compiled input schema: a JSON Schema document whose top level is an object
/// schema, each of its properties one input.
#[derive(Debug, Clone)]
pub struct InputSchema {
    json: Value,
    validator: jsonschema::Validator,
}

impl InputSchema {
    /// Checks that `json` is a valid JSON Schema (against the meta-schema of the draft its
    /// `$schema` names, 2020-12 when absent), that its top level is `type: object`, that every
    /// `$ref` is local (`#...`) and resolves, and compiles it.
    ///
    /// # Errors
    ///
    /// Every problem found, each with a JSON pointer into `json`. Meta-schema problems are
    /// reported alone: the other checks need a well-formed document.
    pub fn new(json: Value) -> Result<InputSchema, Vec<SchemaProblem>> {
        let draft = document::check(&json)?;
        let validator = jsonschema::options()
            .with_draft(draft)
            .offline()
            .build(&json)
            .map_err(|error| vec![document::compile_problem(&error)])?;
        Ok(InputSchema { json, validator })
    }

    /// The schema document, as given.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Names of the top-level properties: the inputs templates reference as `...inputs.X`, in
    /// declaration order (following a top-level `$ref` and `allOf`).
    pub fn input_names(&self) -> impl Iterator<Item = &str> {
        walk::properties(&self.json, &self.json)
            .into_iter()
            .map(|(name, _)| name)
    }

    /// Completes `inputs` with the schema's defaults, then validates them.
    ///
    /// A `default` is applied where its property is absent, at the top level and in nested
    /// objects, following local `$ref`s and `allOf`. A default that is itself an object is
    /// completed too, so `autoscaling: {default: {}}` plus defaults on its properties yields a
    /// full `autoscaling` object. An absent object without a default stays absent.
    ///
    /// # Errors
    ///
    /// Every problem, sorted by input pointer, then rule, then message.
    pub fn validate(&self, inputs: &Value) -> Result<Value, Vec<InputProblem>> {
        let mut completed = inputs.clone();
        validate::apply_defaults(&self.json, &self.json, &mut completed, 0);
        let mut problems: Vec<InputProblem> = self
            .validator
            .iter_errors(&completed)
            .flat_map(|error| validate::input_problems(&self.json, &error))
            .collect();
        if problems.is_empty() {
            return Ok(completed);
        }
        problems.sort();
        problems.dedup();
        Err(problems)
    }
}

/// A problem with a schema document: it is not valid JSON Schema, or not an acceptable input
/// schema, or (for [`from_proton`]) not a valid Proton `schema.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchemaProblem {
    /// JSON pointer into the schema document (`""` for the root), e.g. `/properties/port/type`.
    pub pointer: String,
    /// What kind of problem, in kebab-case: `json-schema` (the meta-schema refuses it),
    /// `unknown-draft`, `object-schema` (the top level is not `type: object`), `remote-ref`,
    /// `unresolved-ref`, `nested-id`, or for Proton `proton-schema` and `unknown-input-type`.
    pub rule: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl SchemaProblem {
    fn new(pointer: impl Into<String>, rule: &str, message: impl Into<String>) -> SchemaProblem {
        SchemaProblem {
            pointer: pointer.into(),
            rule: rule.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SchemaProblem {
    /// `` `/properties/port/type`: message ``, or the message alone for the root.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.pointer, self.message)
        }
    }
}

/// A problem with inputs: one failed JSON Schema keyword at one input.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InputProblem {
    /// JSON pointer into the inputs: `/port`, `/autoscaling/max`, `/subnets/2`; for a missing
    /// required input, the pointer it would have.
    pub input: String,
    /// The JSON Schema keyword that failed: `maximum`, `required`, `enum`, `type`, ...
    pub rule: String,
    /// What is wrong and what is accepted, e.g. `70000 is greater than the maximum 65535`.
    pub message: String,
}

impl std::fmt::Display for InputProblem {
    /// `` `/port`: message ``, or the message alone for the inputs as a whole.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.input.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.input, self.message)
        }
    }
}

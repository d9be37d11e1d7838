//! AWS Proton spec files as the inputs of a render: `proton: EnvironmentSpec` (the environment's
//! inputs under `spec`) and `proton: ServiceSpec` (`pipeline` inputs and `instances`, each with
//! a `name`, an `environment` and its inputs under `spec`), so a Proton user's specs work
//! unchanged. `paved template render` reads them; deployments will too.
//!
//! A document without a top-level `proton` key is not a spec (plain inputs); one with it must be
//! a valid spec, or every problem is reported with its field.

use serde_json::{Map, Value};

use crate::bundle::{PipelineInstance, RenderContext};

/// A parsed Proton spec.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtonSpec {
    /// `proton: EnvironmentSpec`.
    Environment { inputs: Map<String, Value> },
    /// `proton: ServiceSpec`.
    Service {
        /// `pipeline:`, the pipeline's inputs, when the spec has them.
        pipeline: Option<Map<String, Value>>,
        instances: Vec<SpecInstance>,
    },
}

/// One of a `ServiceSpec`'s `instances`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecInstance {
    pub name: String,
    /// The name of the environment the instance runs in.
    pub environment: String,
    /// `spec:`, the instance's inputs.
    pub inputs: Map<String, Value>,
}

/// What a spec contributes to one render: the inputs, the pipeline inputs and the context.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecRender {
    pub inputs: Map<String, Value>,
    pub pipeline_inputs: Option<Map<String, Value>>,
    pub context: RenderContext,
}

/// One problem of a spec: the field (`instances[1].environment`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

/// What Proton writes for "keep the deployed value" in an update's spec.
const CURRENT_VALUE: &str = "${Proton::CURRENT_VAL}";

impl ProtonSpec {
    /// Reads `document` (a parsed YAML or JSON file) as a Proton spec: `Ok(None)` when it has no
    /// top-level `proton` key, so it is plain inputs.
    pub fn from_document(document: &Value) -> Result<Option<ProtonSpec>, Vec<SpecProblem>> {
        let Some(object) = document.as_object() else {
            return Ok(None);
        };
        let Some(kind) = object.get("proton") else {
            return Ok(None);
        };
        let mut problems = Vec::new();
        let problem = |field: &str, message: String| SpecProblem {
            field: field.to_owned(),
            message,
        };
        let spec = match kind.as_str() {
            Some("EnvironmentSpec") => {
                for key in object
                    .keys()
                    .filter(|key| !["proton", "spec"].contains(&key.as_str()))
                {
                    problems.push(problem(
                        key,
                        "an EnvironmentSpec has `proton` and `spec` only".to_owned(),
                    ));
                }
                let inputs = mapping(object.get("spec"), "spec", &mut problems);
                ProtonSpec::Environment { inputs }
            }
            Some("ServiceSpec") => {
                for key in object
                    .keys()
                    .filter(|key| !["proton", "pipeline", "instances"].contains(&key.as_str()))
                {
                    problems.push(problem(
                        key,
                        "a ServiceSpec has `proton`, `pipeline` and `instances` only".to_owned(),
                    ));
                }
                let pipeline = object
                    .get("pipeline")
                    .map(|pipeline| mapping(Some(pipeline), "pipeline", &mut problems));
                let instances = match object.get("instances") {
                    Some(Value::Array(items)) if !items.is_empty() => items
                        .iter()
                        .enumerate()
                        .filter_map(|(index, item)| instance(index, item, &mut problems))
                        .collect(),
                    _ => {
                        problems.push(problem(
                            "instances",
                            "a ServiceSpec needs `instances`: a list of `{name, environment, \
                             spec}`, at least one"
                                .to_owned(),
                        ));
                        Vec::new()
                    }
                };
                let mut seen = std::collections::BTreeSet::new();
                for (index, instance) in instances.iter().enumerate() {
                    if !seen.insert(instance.name.as_str()) {
                        problems.push(problem(
                            &format!("instances[{index}].name"),
                            format!("instance `{}` is named twice", instance.name),
                        ));
                    }
                }
                ProtonSpec::Service {
                    pipeline,
                    instances,
                }
            }
            _ => {
                return Err(vec![problem(
                    "proton",
                    format!(
                        "`{}` is not a Proton spec kind: `EnvironmentSpec` or `ServiceSpec`",
                        match kind {
                            Value::String(text) => text.clone(),
                            other => other.to_string(),
                        }
                    ),
                )]);
            }
        };
        if problems.is_empty() {
            Ok(Some(spec))
        } else {
            Err(problems)
        }
    }

    /// The inputs and context of rendering this spec: for a `ServiceSpec`, the instance named
    /// `instance` (by default the first), with every instance of the spec as the pipeline's
    /// `service_instances`. `base` gives what the spec does not: outputs, account ids, the
    /// service's names.
    pub fn render_inputs(
        &self,
        instance: Option<&str>,
        base: &RenderContext,
    ) -> Result<SpecRender, SpecProblem> {
        let mut context = base.clone();
        match self {
            ProtonSpec::Environment { inputs } => {
                if let Some(name) = instance {
                    return Err(SpecProblem {
                        field: "proton".to_owned(),
                        message: format!(
                            "an EnvironmentSpec has no instances, so there is no instance \
                             `{name}` to render"
                        ),
                    });
                }
                Ok(SpecRender {
                    inputs: inputs.clone(),
                    pipeline_inputs: None,
                    context,
                })
            }
            ProtonSpec::Service {
                pipeline,
                instances,
            } => {
                let chosen = match instance {
                    None => &instances[0],
                    Some(name) => instances
                        .iter()
                        .find(|candidate| candidate.name == name)
                        .ok_or_else(|| SpecProblem {
                            field: "instances".to_owned(),
                            message: format!(
                                "the spec has no instance `{name}`; it has {}",
                                instances
                                    .iter()
                                    .map(|instance| format!("`{}`", instance.name))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        })?,
                };
                let environment_of = |name: &str| {
                    let mut environment = base.environment.clone();
                    if environment.name != name {
                        // Outputs belong to the environment the context names.
                        environment.outputs = Map::new();
                    }
                    environment.name = name.to_owned();
                    environment
                };
                context.environment = environment_of(&chosen.environment);
                context.service_instance.name = chosen.name.clone();
                context.service_instances = instances
                    .iter()
                    .map(|instance| PipelineInstance {
                        name: instance.name.clone(),
                        inputs: instance.inputs.clone(),
                        outputs: base
                            .service_instances
                            .iter()
                            .find(|known| known.name == instance.name)
                            .map(|known| known.outputs.clone())
                            .unwrap_or_default(),
                        environment: environment_of(&instance.environment),
                    })
                    .collect();
                Ok(SpecRender {
                    inputs: chosen.inputs.clone(),
                    pipeline_inputs: pipeline.clone(),
                    context,
                })
            }
        }
    }
}

/// A mapping of inputs at `field`; an absent one is empty.
fn mapping(
    value: Option<&Value>,
    field: &str,
    problems: &mut Vec<SpecProblem>,
) -> Map<String, Value> {
    match value {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(inputs)) => {
            for (name, value) in inputs {
                if value.as_str() == Some(CURRENT_VALUE) {
                    problems.push(SpecProblem {
                        field: format!("{field}.{name}"),
                        message: format!(
                            "`{CURRENT_VALUE}` keeps a deployed value, and a render from a spec \
                             has none; give the value"
                        ),
                    });
                }
            }
            inputs.clone()
        }
        Some(_) => {
            problems.push(SpecProblem {
                field: field.to_owned(),
                message: "expected a mapping of input names to values".to_owned(),
            });
            Map::new()
        }
    }
}

fn instance(index: usize, item: &Value, problems: &mut Vec<SpecProblem>) -> Option<SpecInstance> {
    let field = format!("instances[{index}]");
    let Some(object) = item.as_object() else {
        problems.push(SpecProblem {
            field,
            message: "expected `{name, environment, spec}`".to_owned(),
        });
        return None;
    };
    for key in object
        .keys()
        .filter(|key| !["name", "environment", "spec"].contains(&key.as_str()))
    {
        problems.push(SpecProblem {
            field: format!("{field}.{key}"),
            message: "an instance has `name`, `environment` and `spec` only".to_owned(),
        });
    }
    let text = |key: &str, problems: &mut Vec<SpecProblem>| match object.get(key) {
        Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
        _ => {
            problems.push(SpecProblem {
                field: format!("{field}.{key}"),
                message: format!("an instance needs `{key}`, a non-empty string"),
            });
            None
        }
    };
    let name = text("name", problems);
    let environment = text("environment", problems);
    let inputs = mapping(object.get("spec"), &format!("{field}.spec"), problems);
    Some(SpecInstance {
        name: name?,
        environment: environment?,
        inputs,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn service_specs_render_one_instance_with_every_instance_in_the_pipeline() {
        let document = json!({
            "proton": "ServiceSpec",
            "pipeline": {"unit_test_command": "make test"},
            "instances": [
                {"name": "frontend-dev", "environment": "Beta", "spec": {"port": 80}},
                {"name": "frontend-prod", "environment": "Prod", "spec": {"port": 443}}
            ]
        });
        let spec = ProtonSpec::from_document(&document)
            .expect("a valid spec")
            .expect("a spec");
        let render = spec
            .render_inputs(Some("frontend-prod"), &RenderContext::default())
            .expect("renders");
        assert_eq!(
            render.inputs,
            *json!({"port": 443}).as_object().expect("a map")
        );
        assert_eq!(
            render.pipeline_inputs,
            json!({"unit_test_command": "make test"})
                .as_object()
                .cloned()
        );
        assert_eq!(render.context.service_instance.name, "frontend-prod");
        assert_eq!(render.context.environment.name, "Prod");
        let names: Vec<(&str, &str)> = render
            .context
            .service_instances
            .iter()
            .map(|instance| (instance.name.as_str(), instance.environment.name.as_str()))
            .collect();
        assert_eq!(names, [("frontend-dev", "Beta"), ("frontend-prod", "Prod")]);
        let first = spec
            .render_inputs(None, &RenderContext::default())
            .expect("renders");
        assert_eq!(first.context.service_instance.name, "frontend-dev");
        let missing = spec
            .render_inputs(Some("nope"), &RenderContext::default())
            .expect_err("no such instance");
        assert_eq!(
            missing.to_string(),
            "`instances`: the spec has no instance `nope`; it has `frontend-dev`, `frontend-prod`"
        );
    }

    #[test]
    fn plain_inputs_are_not_a_spec_and_bad_specs_say_where() {
        assert_eq!(ProtonSpec::from_document(&json!({"port": 80})), Ok(None));
        assert_eq!(
            ProtonSpec::from_document(&json!({"proton": "EnvironmentSpec", "spec": {"vpc": "x"}})),
            Ok(Some(ProtonSpec::Environment {
                inputs: json!({"vpc": "x"}).as_object().cloned().expect("a map")
            }))
        );
        let problems = ProtonSpec::from_document(&json!({
            "proton": "ServiceSpec",
            "extra": 1,
            "instances": [{"name": "a", "spec": {"x": "${Proton::CURRENT_VAL}"}}, {"name": "a", "environment": "e"}]
        }))
        .expect_err("invalid");
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "`extra`: a ServiceSpec has `proton`, `pipeline` and `instances` only",
                "`instances[0].environment`: an instance needs `environment`, a non-empty string",
                "`instances[0].spec.x`: `${Proton::CURRENT_VAL}` keeps a deployed value, and a \
                 render from a spec has none; give the value",
            ]
        );
        let kind = ProtonSpec::from_document(&json!({"proton": "Other"})).expect_err("bad kind");
        assert_eq!(
            kind[0].to_string(),
            "`proton`: `Other` is not a Proton spec kind: `EnvironmentSpec` or `ServiceSpec`"
        );
    }
}

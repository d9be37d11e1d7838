//! The render context: AWS Proton's namespace (`environment`, `service`, `service_instance`,
//! `pipeline`, `service_instances`) plus `paved.template`, the same for both bundle formats,
//! and the [`Namespace`] the registration check holds templates to.
//!
//! Proton documents the namespace in "AWS Proton parameters" (User Guide); what its own
//! generated Terraform files declare (`proton.*.variables.tf`) shows the shape of each value:
//! an environment has `name`, `account_id` and `outputs`, a pipeline's `service_instances` each
//! have `name`, `inputs`, `outputs` and `environment`. Component templates (`component.name`)
//! are not a kind of template in Paved; a service instance reads its component's outputs as
//! `service_instance.components.default.outputs`. Proton components take no inputs of their own
//! (they read their service instance's), so there is no `component.inputs`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::TemplateKind;
use crate::check::{Namespace, Shape};

/// The AWS account id of environments on the `local` target. The local engine's ARNs use the
/// same id (`arn:aws:ecs:us-east-1:000000000000:...`), as moto and LocalStack do.
pub const LOCAL_ACCOUNT_ID: &str = "000000000000";

/// The template version being rendered, visible as `paved.template.name` and `.version`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateVersionRef {
    pub name: String,
    pub version: String,
}

/// Names and outputs around a render, everything but the inputs. Every field has a default so
/// a dry run needs none of them; a deployment fills them all. This is also the format of the
/// `--context` file of `paved template render`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenderContext {
    pub environment: EnvironmentContext,
    pub service: ServiceContext,
    pub service_instance: ServiceInstanceContext,
    /// Outputs of the component attached to the service instance
    /// (`service_instance.components.default.outputs.X`).
    pub component_outputs: Map<String, Value>,
    /// The instances a pipeline deploys to (`service_instances`); empty means the one instance
    /// being rendered.
    pub service_instances: Vec<PipelineInstance>,
}

impl Default for RenderContext {
    fn default() -> Self {
        RenderContext {
            environment: EnvironmentContext::default(),
            service: ServiceContext::default(),
            service_instance: ServiceInstanceContext::default(),
            component_outputs: Map::new(),
            service_instances: Vec::new(),
        }
    }
}

/// `environment.name`, `environment.account_id` and `environment.outputs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvironmentContext {
    pub name: String,
    /// The AWS account the environment's target deploys to: an `aws` target's account, or
    /// [`LOCAL_ACCOUNT_ID`] for the `local` target (the default).
    pub account_id: String,
    pub outputs: Map<String, Value>,
}

impl Default for EnvironmentContext {
    fn default() -> Self {
        EnvironmentContext {
            name: "dev".to_owned(),
            account_id: LOCAL_ACCOUNT_ID.to_owned(),
            outputs: Map::new(),
        }
    }
}

/// `service.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceContext {
    pub name: String,
    pub branch_name: String,
    pub repository_id: String,
    pub repository_connection_arn: String,
}

impl Default for ServiceContext {
    fn default() -> Self {
        ServiceContext {
            name: "example".to_owned(),
            branch_name: "main".to_owned(),
            repository_id: "example".to_owned(),
            repository_connection_arn: String::new(),
        }
    }
}

/// `service_instance.name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceInstanceContext {
    pub name: String,
}

impl Default for ServiceInstanceContext {
    fn default() -> Self {
        ServiceInstanceContext {
            name: "dev".to_owned(),
        }
    }
}

/// One entry of `service_instances` in a pipeline template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineInstance {
    pub name: String,
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// The instance's own outputs (its stack's outputs, once deployed).
    #[serde(default)]
    pub outputs: Map<String, Value>,
    #[serde(default)]
    pub environment: EnvironmentContext,
}

/// The JSON object a bundle renders over. `inputs` are already validated with defaults.
pub(super) fn build(
    kind: TemplateKind,
    template: &TemplateVersionRef,
    context: &RenderContext,
    inputs: &Value,
    pipeline_inputs: &Value,
) -> Value {
    let environment = &context.environment;
    let paved = json!({ "template": { "name": template.name, "version": template.version } });
    match kind {
        TemplateKind::Environment => json!({
            "environment": {
                "name": environment.name,
                "account_id": environment.account_id,
                "inputs": inputs,
                "outputs": environment.outputs,
            },
            "paved": paved,
        }),
        TemplateKind::Service => {
            let instances: Vec<Value> = if context.service_instances.is_empty() {
                vec![json!({
                    "name": context.service_instance.name,
                    "inputs": inputs,
                    "outputs": {},
                    "environment": environment,
                })]
            } else {
                context
                    .service_instances
                    .iter()
                    .map(|instance| serde_json::to_value(instance).unwrap_or_default())
                    .collect()
            };
            json!({
                "environment": environment,
                "service": context.service,
                "service_instance": {
                    "name": context.service_instance.name,
                    "inputs": inputs,
                    "environment": environment,
                    "components": { "default": { "outputs": context.component_outputs } },
                },
                "pipeline": { "inputs": pipeline_inputs },
                "service_instances": instances,
                "paved": paved,
            })
        }
    }
}

/// What a template of `kind` may read, for the registration check: the context [`build`]
/// makes, with the inputs the schemas declare (`pipeline_inputs` is `None` without a pipeline
/// schema). Outputs and the inside of inputs are open: they are known only at deployment.
pub(super) fn namespace(
    kind: TemplateKind,
    inputs: Vec<String>,
    pipeline_inputs: Option<Vec<String>>,
) -> Namespace {
    let environment = |with_inputs: Option<Shape>| {
        let mut fields = vec![
            ("name", Shape::Any),
            ("account_id", Shape::Any),
            ("outputs", Shape::Any),
        ];
        if let Some(inputs) = with_inputs {
            fields.push(("inputs", inputs));
        }
        Shape::object(fields)
    };
    let paved = Shape::object(vec![(
        "template",
        Shape::object(vec![("name", Shape::Any), ("version", Shape::Any)]),
    )]);
    match kind {
        TemplateKind::Environment => Namespace::new(
            "an environment template",
            vec![
                (
                    "environment",
                    environment(Some(Shape::inputs("input", Some(inputs)))),
                ),
                ("paved", paved),
            ],
        ),
        TemplateKind::Service => Namespace::new(
            "a service template",
            vec![
                ("environment", environment(None)),
                (
                    "service",
                    Shape::object(vec![
                        ("name", Shape::Any),
                        ("branch_name", Shape::Any),
                        ("repository_id", Shape::Any),
                        ("repository_connection_arn", Shape::Any),
                    ]),
                ),
                (
                    "service_instance",
                    Shape::object(vec![
                        ("name", Shape::Any),
                        ("inputs", Shape::inputs("input", Some(inputs.clone()))),
                        ("environment", environment(None)),
                        (
                            "components",
                            Shape::object(vec![(
                                "default",
                                Shape::object(vec![("outputs", Shape::Any)]),
                            )]),
                        ),
                    ]),
                ),
                (
                    "pipeline",
                    Shape::object(vec![("inputs", Shape::inputs("pipeline", pipeline_inputs))]),
                ),
                (
                    "service_instances",
                    Shape::List(Box::new(Shape::object(vec![
                        ("name", Shape::Any),
                        ("inputs", Shape::inputs("input", Some(inputs))),
                        ("outputs", Shape::Any),
                        ("environment", environment(None)),
                    ]))),
                ),
                ("paved", paved),
            ],
        ),
    }
}

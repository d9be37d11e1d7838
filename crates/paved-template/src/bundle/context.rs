//! The render context: AWS Proton's namespace (`environment`, `service`, `service_instance`,
//! `pipeline`, `service_instances`) plus `paved.template`, the same for both bundle formats.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::TemplateKind;

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

/// `environment.name` and `environment.outputs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvironmentContext {
    pub name: String,
    pub outputs: Map<String, Value>,
}

impl Default for EnvironmentContext {
    fn default() -> Self {
        EnvironmentContext {
            name: "dev".to_owned(),
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
                "environment": { "name": environment.name, "outputs": environment.outputs },
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

/// The attributes each top-level variable has, for the static variable check: `None` means
/// any attribute is allowed below that point (inputs are checked separately, outputs are not
/// known before deployment).
pub(super) fn known_attributes(kind: TemplateKind, root: &str) -> Option<&'static [&'static str]> {
    match (kind, root) {
        (TemplateKind::Environment, "environment") => Some(&["name", "inputs", "outputs"]),
        (TemplateKind::Environment, "paved") | (TemplateKind::Service, "paved") => {
            Some(&["template"])
        }
        (TemplateKind::Service, "environment") => Some(&["name", "outputs"]),
        (TemplateKind::Service, "service") => Some(&[
            "name",
            "branch_name",
            "repository_id",
            "repository_connection_arn",
        ]),
        (TemplateKind::Service, "service_instance") => {
            Some(&["name", "inputs", "environment", "components"])
        }
        (TemplateKind::Service, "pipeline") => Some(&["inputs"]),
        (TemplateKind::Service, "service_instances") => Some(&[]),
        _ => None,
    }
}

/// The top-level variables of a context for `kind`.
pub(super) fn roots(kind: TemplateKind) -> &'static [&'static str] {
    match kind {
        TemplateKind::Environment => &["environment", "paved"],
        TemplateKind::Service => &[
            "environment",
            "service",
            "service_instance",
            "pipeline",
            "service_instances",
            "paved",
        ],
    }
}

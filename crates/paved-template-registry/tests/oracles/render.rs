//! Rendering a built-in template the way Paved does: the bundle embedded in the binary
//! ([`paved_template_registry::builtin`]), parsed and checked by
//! [`paved_template::bundle::Bundle`], inputs validated with the schema's defaults applied.

use std::path::PathBuf;

use paved_template::bundle::{
    Bundle, EnvironmentContext, RenderContext, RenderRequest, ServiceContext,
    ServiceInstanceContext, TemplateVersionRef,
};
use paved_template::{Limits, RenderedFile};
use paved_template_registry::builtin;
use serde_json::Value;

/// The names a render uses: environment, service and service instance.
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub environment: &'static str,
    pub service: &'static str,
    pub instance: &'static str,
}

/// Renders built-in template `name` (`infrastructure/`, `pipeline/`, `skeleton/`) with
/// `instance_inputs` and `pipeline_inputs` (`None`: the pipeline schema's defaults) for `names`.
pub fn render_builtin(
    name: &str,
    names: &Names,
    instance_inputs: Value,
    pipeline_inputs: Option<Value>,
) -> Vec<RenderedFile> {
    let files = builtin::files(name).unwrap_or_else(|| panic!("no built-in template `{name}`"));
    let bundle = Bundle::parse(files)
        .unwrap_or_else(|problems| panic!("{name} does not parse: {problems:?}"));
    let request = RenderRequest {
        template: TemplateVersionRef {
            name: name.to_owned(),
            version: "1.0".to_owned(),
        },
        inputs: instance_inputs,
        pipeline_inputs,
        context: RenderContext {
            environment: EnvironmentContext {
                name: names.environment.to_owned(),
                ..EnvironmentContext::default()
            },
            service: ServiceContext {
                name: names.service.to_owned(),
                repository_id: format!("example/{}", names.service),
                ..ServiceContext::default()
            },
            service_instance: ServiceInstanceContext {
                name: names.instance.to_owned(),
            },
            ..RenderContext::default()
        },
    };
    bundle
        .render(&request, &Limits::default())
        .unwrap_or_else(|err| panic!("{name} does not render: {err}"))
}

/// `templates/` at the repository root.
pub fn templates_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates")
}

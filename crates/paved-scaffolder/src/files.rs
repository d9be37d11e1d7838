//! The files of a new service repository: the rendered skeleton and pipeline at the root, a
//! `catalog-info.yaml` (a Backstage Component, and a System when the call names none), and
//! the service spec `paved.yaml`. Pure: the same request and render give the same files.

use paved_template::RenderedFile;
use serde_json::{Value, json};

use crate::CreateServiceRequest;

/// Annotation on the Component: the template and version it was created from.
pub const TEMPLATE_ANNOTATION: &str = "paved.dev/template";
/// Annotation: the ECS cluster of the first instance: its environment's name
/// ([`ecs_cluster_name`]), as the built-in `ecs-environment` template names the cluster and as
/// the local engine's walkthrough creates it.
pub const ECS_CLUSTER_ANNOTATION: &str = "paved.dev/ecs-cluster";
/// Annotation: the ECS service of the first instance.
pub const ECS_SERVICE_ANNOTATION: &str = "paved.dev/ecs-service";

/// A file of the new repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryFile {
    pub path: String,
    pub contents: String,
}

/// The repository's files: rendered `skeleton/` and `pipeline/` files at the root, then the
/// generated ones. Infrastructure files stay with Paved (it deploys them) and are not
/// committed. Sorted by path.
pub fn repository_files(
    request: &CreateServiceRequest,
    template_version: &str,
    clone_url: &str,
    rendered: &[RenderedFile],
) -> Vec<RepositoryFile> {
    let mut files: Vec<RepositoryFile> = rendered
        .iter()
        .filter_map(|file| {
            let path = file
                .path
                .strip_prefix("skeleton/")
                .or_else(|| file.path.strip_prefix("pipeline/"))?;
            Some(RepositoryFile {
                path: path.to_owned(),
                contents: file.contents.clone(),
            })
        })
        .collect();
    files.retain(|file| file.path != "catalog-info.yaml" && file.path != "paved.yaml");
    files.push(RepositoryFile {
        path: "catalog-info.yaml".to_owned(),
        contents: catalog_info(request, template_version, clone_url),
    });
    files.push(RepositoryFile {
        path: "paved.yaml".to_owned(),
        contents: service_spec(request, template_version),
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// The ECS cluster of an environment: the environment's own name, so that the environment a
/// service is created for, its `paved.yaml`, its catalog annotation and its cluster all say
/// the same (`dev`). ECS cluster names take no dots, and `ecs-environment` turns dots and
/// underscores into hyphens for its export names, so this does the same.
pub fn ecs_cluster_name(environment: &str) -> String {
    environment.replace(['.', '_'], "-")
}

/// The system the Component belongs to: the call's, or one named after the service.
pub fn system_of(request: &CreateServiceRequest) -> String {
    request
        .system
        .clone()
        .unwrap_or_else(|| request.name.clone())
}

fn catalog_info(request: &CreateServiceRequest, template_version: &str, clone_url: &str) -> String {
    let system = system_of(request);
    let ecs_name = request.name.replace('.', "-");
    let component = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": request.name,
            "description": request.description.clone().unwrap_or_else(|| format!(
                "{} (created from {} {template_version})", request.name, request.template_name())),
            "annotations": {
                TEMPLATE_ANNOTATION: format!("{}@{template_version}", request.template_name()),
                "backstage.io/source-location": format!("url:{clone_url}"),
                ECS_CLUSTER_ANNOTATION: ecs_cluster_name(&request.environment),
                ECS_SERVICE_ANNOTATION: ecs_name,
            },
        },
        "spec": {
            "type": "service",
            "lifecycle": request.lifecycle,
            "owner": request.owner,
            "system": system,
        },
    });
    let mut documents = vec![component];
    if request.system.is_none() {
        documents.push(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "System",
            "metadata": {
                "name": system,
                "description": format!("The system of {}", request.name),
            },
            "spec": { "owner": request.owner },
        }));
    }
    documents.iter().map(yaml).collect::<Vec<_>>().join("---\n")
}

fn service_spec(request: &CreateServiceRequest, template_version: &str) -> String {
    let mut text = String::from(
        "# The service spec: which template this service follows and its instances per\n\
         # environment with their inputs, as AWS Proton's service spec does. Deployments will\n\
         # read it; until then README.md says how to render and deploy an instance.\n",
    );
    text.push_str(&yaml(&spec_value(request, template_version)));
    text
}

/// The service spec as JSON (also stored with the service).
pub fn spec_value(request: &CreateServiceRequest, template_version: &str) -> Value {
    json!({
        "apiVersion": "paved.dev/v1",
        "kind": "ServiceSpec",
        "service": {
            "name": request.name,
            "owner": request.owner,
            "template": request.template_name(),
            "templateVersion": template_version,
        },
        "pipeline": { "inputs": request.pipeline_inputs.clone().unwrap_or_else(|| json!({})) },
        "instances": [{
            "name": request.environment,
            "environment": request.environment,
            "inputs": request.inputs,
        }],
    })
}

fn yaml(value: &Value) -> String {
    serde_saphyr::to_string(value).expect("JSON values serialise to YAML")
}

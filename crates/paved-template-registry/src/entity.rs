//! Each template as a catalog entity: a Backstage `Template` (scaffolder.backstage.io/v1beta3)
//! whose parameters are the recommended version's input schema, with every version listed in
//! annotations, so Backstage clients and the catalog API see golden paths like any template.

use serde_json::{Map, Value, json};

use crate::TemplateInfo;

/// The catalog provider of one template's entity: it lives under location
/// `paved:templates/NAME`.
pub fn provider(template: &str) -> String {
    format!("templates/{template}")
}

/// Annotation: `environment` or `service`.
pub const KIND_ANNOTATION: &str = "paved.dev/template-kind";
/// Annotation: the recommended version, when there is one.
pub const RECOMMENDED_ANNOTATION: &str = "paved.dev/recommended-version";
/// Annotation: every version with its state, `1.0=published,1.1=draft`.
pub const VERSIONS_ANNOTATION: &str = "paved.dev/versions";

/// The Template entity of one template.
pub fn template_entity(info: &TemplateInfo) -> Value {
    let template = &info.template;
    let versions = info
        .versions
        .iter()
        .map(|version| format!("{}={}", version.version, version.status))
        .collect::<Vec<_>>()
        .join(",");
    let mut annotations = Map::new();
    annotations.insert(KIND_ANNOTATION.to_owned(), json!(template.kind));
    annotations.insert(VERSIONS_ANNOTATION.to_owned(), json!(versions));
    if let Some(recommended) = info.recommended {
        annotations.insert(
            RECOMMENDED_ANNOTATION.to_owned(),
            json!(recommended.to_string()),
        );
    }
    let shown = info
        .recommended
        .and_then(|wanted| {
            info.versions
                .iter()
                .find(|version| version.version == wanted)
        })
        .or_else(|| info.versions.last());
    let mut parameters = shown
        .map(|version| (*version.schema).clone())
        .unwrap_or_else(|| json!({ "type": "object" }));
    if let Value::Object(schema) = &mut parameters {
        // Backstage's form renders one page per parameter object; `title` names the page.
        schema.remove("$schema");
        schema.entry("title").or_insert_with(|| json!("Inputs"));
    }
    let selector = match info.recommended {
        Some(version) => format!("{}@{}", template.name, version.major),
        None => template.name.clone(),
    };
    let tags: Vec<&String> = template
        .tags
        .iter()
        .filter(|tag| paved_model::validation::is_valid_tag(tag))
        .collect();
    let mut metadata = json!({
        "name": template.name,
        "description": template.description,
        "annotations": annotations,
        "tags": tags,
    });
    if let Some(title) = &template.title {
        metadata["title"] = json!(title);
    }
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": metadata,
        "spec": {
            "type": template.kind,
            "owner": template.owner,
            "parameters": [parameters],
            "steps": [{
                "id": "create",
                "name": "Create with Paved",
                "action": format!("paved:{}:create", template.kind),
                "input": { "template": selector },
            }],
        },
    })
}

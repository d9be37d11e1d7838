//! Rendering a built-in template from `templates/<name>/` the way Paved will.
//!
//! STOPGAP: `render_builtin` reads the bundle from disk and builds the render context of
//! docs/templates.md by hand (schema defaults merged here). It is to be replaced by the
//! bundle API of `paved-template` (manifest parsing, schema validation and defaults) when that
//! lands; nothing else in this test target depends on how it works.

use std::path::{Path, PathBuf};

use paved_template::{Limits, RenderedFile, TemplateFile};
use serde_json::{Value, json};

/// The names a render uses: environment, service and service instance.
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub environment: &'static str,
    pub service: &'static str,
    pub instance: &'static str,
}

/// Renders the files of built-in template `name` (`infrastructure/`, `pipeline/`, `skeleton/`)
/// with `instance_inputs` (the schema's defaults are filled in) for `names`.
pub fn render_builtin(name: &str, names: &Names, instance_inputs: Value) -> Vec<RenderedFile> {
    let bundle = templates_dir().join(name);
    let manifest = read_yaml(&bundle.join("paved-template.yaml"));
    let schema = read_yaml(&bundle.join("schema.yaml"));
    let inputs = with_defaults(&schema, instance_inputs);
    let paved = json!({"template": {"name": name, "version": "1.0"}});
    let context = match manifest["kind"].as_str() {
        Some("EnvironmentTemplate") => json!({
            "environment": {"name": names.environment, "inputs": inputs},
            "paved": paved,
        }),
        Some("ServiceTemplate") => json!({
            "environment": {"name": names.environment, "outputs": {}},
            "service": {
                "name": names.service,
                "branch_name": "main",
                "repository_id": format!("example/{}", names.service),
                "repository_connection_arn": "",
            },
            "service_instance": {
                "name": names.instance,
                "inputs": inputs,
                "environment": {"name": names.environment, "outputs": {}},
                "components": {"default": {"outputs": {}}},
            },
            "paved": paved,
        }),
        other => panic!("{name}: unknown template kind {other:?}"),
    };
    let mut files = Vec::new();
    for folder in ["infrastructure", "pipeline", "skeleton"] {
        if bundle.join(folder).is_dir() {
            collect_files(&bundle, &bundle.join(folder), &mut files);
        }
    }
    paved_template::render_files(&files, &context, &Limits::default())
        .unwrap_or_else(|err| panic!("{name} does not render: {err}"))
}

/// `templates/` at the repository root.
pub fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not YAML: {err}", path.display()))
}

/// `value` with the `default` of every absent property of `schema`, recursively into objects.
fn with_defaults(schema: &Value, mut value: Value) -> Value {
    let (Some(properties), Some(map)) = (schema["properties"].as_object(), value.as_object_mut())
    else {
        return value;
    };
    for (key, property) in properties {
        if let Some(given) = map.get_mut(key) {
            *given = with_defaults(property, given.take());
        } else if let Some(default) = property.get("default") {
            map.insert(key.clone(), with_defaults(property, default.clone()));
        }
    }
    value
}

fn collect_files(bundle: &Path, dir: &Path, files: &mut Vec<TemplateFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(bundle, &path, files);
        } else {
            let relative = path.strip_prefix(bundle).expect("under the bundle");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
            files.push(TemplateFile::new(
                relative.to_string_lossy().replace('\\', "/"),
                text,
            ));
        }
    }
}

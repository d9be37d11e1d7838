//! `paved template show NAME[@VERSION]`: a template, one version and its inputs.

use paved_api::{TemplateDetail, TemplateVersion};
use paved_cli::{OutputFormat, ServerArgs};
use serde::Serialize;
use serde_json::Value;

use crate::Failure;
use crate::client::Client;
use crate::commands::template::{print_or_text, split_selector, usage_error};
use crate::output::{self, emit};

/// What `-o json` and `-o yaml` print: the template with every version, plus the one shown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    #[serde(flatten)]
    detail: TemplateDetail,
    /// The version selected; absent when the template has none.
    selected_version: Option<TemplateVersion>,
}

pub async fn run(server: &ServerArgs, template: &str, format: OutputFormat) -> Result<(), Failure> {
    let (name, selector) = split_selector(template);
    if name.is_empty() || selector.is_some_and(str::is_empty) {
        usage_error(format_args!(
            "`{template}` is not a template: give NAME, NAME@MAJOR or NAME@MAJOR.MINOR"
        ));
    }
    let client = Client::new(server)?;
    let detail: TemplateDetail = client.get(&format!("/api/templates/{name}")).await?;
    let selected_version = match selector {
        Some(selector) => Some(
            client
                .get::<TemplateVersion>(&format!("/api/templates/{name}/versions/{selector}"))
                .await?,
        ),
        // The recommended version, or the latest when none is published yet (fetched on its
        // own, as only that answer carries the README).
        None => match detail
            .summary
            .recommended_version
            .as_ref()
            .or(detail.summary.latest_version.as_ref())
        {
            Some(wanted) => Some(
                client
                    .get::<TemplateVersion>(&format!("/api/templates/{name}/versions/{wanted}"))
                    .await?,
            ),
            None => None,
        },
    };
    let shown = Shown {
        detail,
        selected_version,
    };
    print_or_text(format, &shown, || print_text(&shown))
}

/// `draft`, `published` or `withdrawn: REASON`.
fn version_state(version: &TemplateVersion) -> String {
    match version
        .withdrawn_reason
        .as_ref()
        .filter(|_| version.status == "withdrawn")
    {
        Some(reason) => format!("{}: {reason}", version.status),
        None => version.status.clone(),
    }
}

fn print_text(shown: &Shown) {
    let summary = &shown.detail.summary;
    match &summary.title {
        Some(title) => emit(format_args!("{}: {title}", summary.name)),
        None => emit(&summary.name),
    }
    if !summary.description.is_empty() {
        emit(&summary.description);
    }
    emit("");
    let field = |name: &str, value: &str| emit(format_args!("{name:<25}{value}"));
    field("kind", &summary.kind);
    field("owner", &summary.owner);
    if !summary.tags.is_empty() {
        field("tags", &summary.tags.join(", "));
    }
    field(
        "recommended",
        summary
            .recommended_version
            .as_deref()
            .unwrap_or("none (no published version)"),
    );
    let Some(version) = &shown.selected_version else {
        emit("");
        emit("The template has no versions yet.");
        return;
    };
    emit("");
    let mut versions = output::table(&["version", "state", "recommended"]);
    for listed in &shown.detail.versions {
        versions.add_row(vec![
            listed.version.clone(),
            version_state(listed),
            if listed.recommended { "✓" } else { "" }.to_owned(),
        ]);
    }
    emit(versions);
    emit("");
    let mut state = version_state(version);
    if version.recommended {
        state.push_str(", recommended");
    }
    field("version", &format!("{} ({state})", version.version));
    field("format", &version.format);
    field("engine", &version.engine);
    field("source", &version.source);
    if summary.kind == "service" || !version.compatible_environments.is_empty() {
        let environments: Vec<String> = version
            .compatible_environments
            .iter()
            .map(|environment| format!("{}@{}", environment.template, environment.major))
            .collect();
        field("compatible environments", &environments.join(", "));
    }
    emit("");
    let rows = input_rows(&version.schema);
    if rows.is_empty() {
        emit(format_args!("Version {} takes no inputs.", version.version));
    } else {
        emit(format_args!("Inputs of {}:", version.version));
        let mut table = output::table(&["name", "type", "required", "default", "description"]);
        for row in rows {
            table.add_row(row.to_vec());
        }
        emit(table);
    }
    if let Some(pipeline_schema) = &version.pipeline_schema {
        let rows = input_rows(pipeline_schema);
        if !rows.is_empty() {
            emit("");
            emit("Pipeline inputs:");
            let mut table = output::table(&["name", "type", "required", "default", "description"]);
            for row in rows {
                table.add_row(row.to_vec());
            }
            emit(table);
        }
    }
    if let Some(readme) = version
        .readme
        .as_deref()
        .filter(|text| !text.trim().is_empty())
    {
        emit("");
        emit(format_args!("README.md of {}:", version.version));
        emit("");
        emit(readme.trim_end());
    }
}

/// One row per top-level property of an object schema: name, type, required, default,
/// description. Properties come in `ui:order` order, then in the schema's order.
fn input_rows(schema: &Value) -> Vec<[String; 5]> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<&str> = schema
        .get("ui:order")
        .and_then(Value::as_array)
        .map(|order| {
            order
                .iter()
                .filter_map(Value::as_str)
                .filter(|name| properties.contains_key(*name))
                .collect()
        })
        .unwrap_or_default();
    for name in properties.keys() {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let property = resolve(schema, &properties[name]);
            let description = ["description", "title"]
                .iter()
                .find_map(|key| property.get(*key).and_then(Value::as_str))
                .unwrap_or_default();
            [
                name.to_owned(),
                type_text(schema, property),
                if required.contains(&name) {
                    "yes"
                } else {
                    "no"
                }
                .to_owned(),
                property.get("default").map(value_text).unwrap_or_default(),
                description.to_owned(),
            ]
        })
        .collect()
}

/// Follows local `$ref`s (`#/$defs/X`), a few levels deep.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut current = schema;
    for _ in 0..8 {
        let Some(target) = current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|reference| reference.strip_prefix('#'))
            .and_then(|pointer| root.pointer(pointer))
        else {
            break;
        };
        current = target;
    }
    current
}

/// `integer`, `string|null`, `array of string`, or the accepted values: `256|512|1024`.
fn type_text(root: &Value, schema: &Value) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().map(value_text).collect::<Vec<_>>().join("|");
    }
    if let Some(value) = schema.get("const") {
        return value_text(value);
    }
    match schema.get("type") {
        Some(Value::String(name)) if name == "array" => match schema.get("items") {
            Some(items) => format!("array of {}", type_text(root, resolve(root, items))),
            None => "array".to_owned(),
        },
        Some(Value::String(name)) => name.clone(),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ => "any".to_owned(),
    }
}

/// Strings as they are, anything else as compact JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn template_input_rows_follow_ui_order_and_show_enums() {
        let schema = json!({
            "type": "object",
            "required": ["image"],
            "ui:order": ["port", "image"],
            "$defs": {"Size": {"type": "string", "enum": ["small", "large"]}},
            "properties": {
                "image": {"type": "string", "title": "Container image"},
                "cpu": {"type": "integer", "enum": [256, 512], "default": 256,
                        "description": "CPU units"},
                "size": {"$ref": "#/$defs/Size"},
                "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                "port": {"type": ["integer", "null"], "default": 80},
            }
        });
        let rows: Vec<Vec<String>> = input_rows(&schema)
            .into_iter()
            .map(|row| row.to_vec())
            .collect();
        let expected = [
            ["port", "integer|null", "no", "80", ""],
            ["image", "string", "yes", "", "Container image"],
            ["cpu", "256|512", "no", "256", "CPU units"],
            ["size", "small|large", "no", "", ""],
            ["tags", "array of string", "no", "[]", ""],
        ];
        assert_eq!(rows, expected.map(|row| row.map(str::to_owned).to_vec()));
    }
}

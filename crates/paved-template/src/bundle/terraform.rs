//! The variables files AWS Proton writes next to a Terraform bundle's `.tf` files:
//! `proton.<namespace>.variables.tf` declares the Proton namespace as Terraform variables and
//! `proton.auto.tfvars.json` gives their values, so `var.environment.inputs.vpc_cidr` works.

use serde_json::{Map, Value, json};

use super::{Bundle, TerraformFolder};
use crate::RenderedFile;

/// The two files for one folder of `.tf` files, from the render context.
pub(super) fn variables_files(
    folder: &TerraformFolder,
    bundle: &Bundle,
    context: &Value,
) -> Vec<RenderedFile> {
    let schema = match folder.namespace {
        "pipeline" => bundle.pipeline_schema.as_ref().unwrap_or(&bundle.schema),
        _ => &bundle.schema,
    };
    let inputs_type = object_type(schema.json(), 2);
    let declarations = match folder.namespace {
        "environment" => vec![(
            "environment",
            format!("object({{\n    name   = string\n    inputs = {inputs_type}\n  }})"),
        )],
        "service_instance" => vec![
            (
                "environment",
                "object({\n    name    = string\n    outputs = map(string)\n  })".to_owned(),
            ),
            (
                "service",
                "object({\n    name                       = string\n    branch_name                \
                 = string\n    repository_id              = string\n    \
                 repository_connection_arn = string\n  })"
                    .to_owned(),
            ),
            (
                "service_instance",
                format!("object({{\n    name   = string\n    inputs = {inputs_type}\n  }})"),
            ),
        ],
        _ => vec![
            ("service", "object({\n    name = string\n  })".to_owned()),
            (
                "pipeline",
                format!("object({{\n    inputs = {inputs_type}\n  }})"),
            ),
        ],
    };
    let mut tf = String::from(
        "# Written by Paved, as AWS Proton writes it: the template's namespace as variables.\n",
    );
    let mut values = Map::new();
    for (name, declared) in &declarations {
        tf.push_str(&format!(
            "\nvariable \"{name}\" {{\n  type = {declared}\n}}\n"
        ));
        let value = match (*name, folder.namespace) {
            ("environment", "environment") => json!({
                "name": context["environment"]["name"],
                "inputs": context["environment"]["inputs"],
            }),
            ("environment", _) => context["environment"].clone(),
            ("service_instance", _) => json!({
                "name": context["service_instance"]["name"],
                "inputs": context["service_instance"]["inputs"],
            }),
            ("service", "pipeline") => json!({ "name": context["service"]["name"] }),
            _ => context[*name].clone(),
        };
        values.insert((*name).to_owned(), value);
    }
    tf.push_str("\nvariable \"proton_tags\" {\n  type    = map(string)\n  default = null\n}\n");
    values.insert(
        "proton_tags".to_owned(),
        json!({
            "paved:template": context["paved"]["template"]["name"],
            "paved:template-version": context["paved"]["template"]["version"],
        }),
    );
    let mut tfvars =
        serde_json::to_string_pretty(&Value::Object(values)).expect("JSON values always serialise");
    tfvars.push('\n');
    vec![
        RenderedFile {
            path: format!("{}/proton.{}.variables.tf", folder.folder, folder.namespace),
            contents: tf,
        },
        RenderedFile {
            path: format!("{}/proton.auto.tfvars.json", folder.folder),
            contents: tfvars,
        },
    ]
}

/// The Terraform type of an object schema's properties, indented for nesting `depth`.
fn object_type(schema: &Value, depth: usize) -> String {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return "map(any)".to_owned();
    };
    if properties.is_empty() {
        return "map(any)".to_owned();
    }
    let pad = "  ".repeat(depth + 1);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let width = properties.keys().map(String::len).max().unwrap_or(0);
    let mut out = String::from("object({\n");
    for (name, property) in properties {
        let declared = terraform_type(property, depth + 1);
        // An input that may be absent is `optional()`, or Terraform refuses the value.
        let declared = if required.contains(&name.as_str()) || property.get("default").is_some() {
            declared
        } else {
            format!("optional({declared})")
        };
        out.push_str(&format!("{pad}{name:width$} = {declared}\n"));
    }
    out.push_str(&format!("{}}})", "  ".repeat(depth)));
    out
}

fn terraform_type(schema: &Value, depth: usize) -> String {
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        // A union or no type at all.
        _ => return "any".to_owned(),
    };
    match kind {
        "string" => "string".to_owned(),
        "number" | "integer" => "number".to_owned(),
        "boolean" => "bool".to_owned(),
        "array" => match schema.get("items") {
            Some(items) => format!("list({})", terraform_type(items, depth)),
            None => "list(any)".to_owned(),
        },
        "object" => object_type(schema, depth),
        _ => "any".to_owned(),
    }
}

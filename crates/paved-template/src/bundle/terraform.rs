//! The variables files AWS Proton writes next to a Terraform bundle's `.tf` files:
//! `proton.<namespace>.variables.tf` declares the Proton namespace as Terraform variables and
//! `proton.auto.tfvars.json` gives their values, so `var.environment.inputs.vpc_cidr` works.
//!
//! The declarations are the ones Proton's own generated files hold (as found in repositories
//! Proton provisioned), type for type:
//!
//! - environment: `environment = object({inputs = any, name = string})`, to which Paved adds
//!   `account_id`, which its environment templates can read too;
//! - service instance: `environment = object({account_id, name, outputs = map(string)})`,
//!   `service = object({name, branch_name, repository_connection_arn, repository_id})`,
//!   `service_instance = object({name, inputs = any, components = map(any)})`;
//! - pipeline: `service_instances = list(object({name, inputs = any, outputs = map(string),
//!   environment = object({account_id, name, outputs = map(string)})}))`, `service` as above,
//!   `pipeline = object({inputs = any})`;
//! - and `proton_tags = map(string)` for all.
//!
//! `inputs = any` takes the inputs as they are: an optional input without a default is absent
//! from the values, as in Proton's files, so `contains(keys(var.service_instance.inputs), "x")`
//! and `lookup(..., "x", "")` see it missing rather than null.

use serde_json::{Map, Value, json};

use super::TerraformFolder;
use crate::RenderedFile;

/// `name = type` lines of one `object({...})`, aligned as `terraform fmt` aligns them.
fn object(fields: &[(&str, String)], depth: usize) -> String {
    let pad = "  ".repeat(depth + 1);
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::from("object({\n");
    for (name, declared) in fields {
        out.push_str(&format!("{pad}{name:width$} = {declared}\n"));
    }
    out.push_str(&format!("{}}})", "  ".repeat(depth)));
    out
}

fn environment_type(depth: usize) -> String {
    object(
        &[
            ("account_id", "string".to_owned()),
            ("name", "string".to_owned()),
            ("outputs", "map(string)".to_owned()),
        ],
        depth,
    )
}

fn service_type() -> String {
    object(
        &[
            ("name", "string".to_owned()),
            ("branch_name", "string".to_owned()),
            ("repository_connection_arn", "string".to_owned()),
            ("repository_id", "string".to_owned()),
        ],
        1,
    )
}

/// One `variable` block: its type and whether it defaults to null.
struct Declaration {
    name: &'static str,
    declared: String,
    nullable: bool,
    value: Value,
}

/// The two files for one folder of `.tf` files, from the render context.
pub(super) fn variables_files(folder: &TerraformFolder, context: &Value) -> Vec<RenderedFile> {
    let environment_value = |environment: &Value| {
        json!({
            "account_id": environment["account_id"],
            "name": environment["name"],
            "outputs": environment["outputs"],
        })
    };
    let service = &context["service"];
    let service_value = json!({
        "name": service["name"],
        "branch_name": service["branch_name"],
        "repository_connection_arn": service["repository_connection_arn"],
        "repository_id": service["repository_id"],
    });
    let declarations = match folder.namespace {
        "environment" => vec![Declaration {
            name: "environment",
            declared: object(
                &[
                    ("account_id", "string".to_owned()),
                    ("inputs", "any".to_owned()),
                    ("name", "string".to_owned()),
                ],
                1,
            ),
            nullable: true,
            value: json!({
                "account_id": context["environment"]["account_id"],
                "inputs": context["environment"]["inputs"],
                "name": context["environment"]["name"],
            }),
        }],
        "service_instance" => vec![
            Declaration {
                name: "environment",
                declared: environment_type(1),
                nullable: true,
                value: environment_value(&context["environment"]),
            },
            Declaration {
                name: "service",
                declared: service_type(),
                nullable: false,
                value: service_value,
            },
            Declaration {
                name: "service_instance",
                declared: object(
                    &[
                        ("name", "string".to_owned()),
                        ("inputs", "any".to_owned()),
                        ("components", "map(any)".to_owned()),
                    ],
                    1,
                ),
                nullable: true,
                value: json!({
                    "name": context["service_instance"]["name"],
                    "inputs": context["service_instance"]["inputs"],
                    "components": context["service_instance"]["components"],
                }),
            },
        ],
        _ => vec![
            Declaration {
                name: "service_instances",
                declared: format!(
                    "list(\n    {}\n  )",
                    object(
                        &[
                            ("name", "string".to_owned()),
                            ("inputs", "any".to_owned()),
                            ("outputs", "map(string)".to_owned()),
                            ("environment", environment_type(3)),
                        ],
                        2,
                    )
                ),
                nullable: false,
                value: Value::Array(
                    context["service_instances"]
                        .as_array()
                        .map(|instances| {
                            instances
                                .iter()
                                .map(|instance| {
                                    json!({
                                        "name": instance["name"],
                                        "inputs": instance["inputs"],
                                        "outputs": instance["outputs"],
                                        "environment": environment_value(&instance["environment"]),
                                    })
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
            },
            Declaration {
                name: "service",
                declared: service_type(),
                nullable: true,
                value: service_value,
            },
            Declaration {
                name: "pipeline",
                declared: object(&[("inputs", "any".to_owned())], 1),
                nullable: true,
                value: json!({ "inputs": context["pipeline"]["inputs"] }),
            },
        ],
    };
    let mut tf = String::from(
        "# Written by Paved, as AWS Proton writes it: the template's namespace as variables.\n",
    );
    let mut values = Map::new();
    for declaration in declarations {
        tf.push_str(&format!(
            "\nvariable \"{}\" {{\n  type = {}\n{}}}\n",
            declaration.name,
            declaration.declared,
            if declaration.nullable {
                "  default = null\n"
            } else {
                ""
            }
        ));
        values.insert(declaration.name.to_owned(), declaration.value);
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
        RenderedFile::text(
            format!("{}/proton.{}.variables.tf", folder.folder, folder.namespace),
            tf,
        ),
        RenderedFile::text(format!("{}/proton.auto.tfvars.json", folder.folder), tfvars),
    ]
}

//! Integration tests of `paved-template`: rendering Proton-style bundles, errors with their file
//! and line, the sandbox's limits and path checks, and every filter's output.

mod errors;
mod filters;
mod limits;
mod paths;
mod proton_bundles;
mod rendering;
mod schema;

use paved_template::{Limits, Newlines, RenderError, RenderedFile, TemplateFile, render_files};
use serde_json::{Value, json};

/// Files from `(path, text)` pairs.
pub fn files(pairs: &[(&str, &str)]) -> Vec<TemplateFile> {
    pairs
        .iter()
        .map(|(path, text)| TemplateFile::new(*path, *text))
        .collect()
}

/// The context Proton gives a service instance's infrastructure, trimmed to what tests use.
pub fn proton_context() -> Value {
    json!({
        "environment": {
            "name": "prod",
            "outputs": { "VpcId": "vpc-0abc1234", "ClusterName": "prod-cluster" }
        },
        "service": { "name": "billing-api", "branch_name": "main" },
        "service_instance": {
            "name": "billing-api-prod",
            "inputs": { "port": 8080, "desired_count": 2, "image": "public.ecr.aws/nginx/nginx:1.27" },
            "components": {
                "default": {
                    "outputs": {
                        "Output1": "hello",
                        "Output2": "world",
                        "PolicyArn1": "arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1",
                        "PolicyArn2": "arn:aws:iam::123456789012:policy/cfn-generated-policy-name-2"
                    }
                }
            }
        },
        "service_instances": [
            { "name": "billing-api-staging", "environment": "staging", "inputs": { "port": 8081 } },
            { "name": "billing-api-prod", "environment": "prod", "inputs": { "port": 8080 } }
        ]
    })
}

/// Renders `files` over the Proton context with default limits.
pub fn render(files: &[TemplateFile]) -> Result<Vec<RenderedFile>, RenderError> {
    render_files(
        files,
        &proton_context(),
        &Limits::default(),
        Newlines::AsWritten,
    )
}

/// Renders one file named `template.yaml` and returns its text.
#[track_caller]
pub fn render_one(text: &str) -> String {
    match render(&files(&[("template.yaml", text)])) {
        Ok(mut rendered) if rendered.len() == 1 => rendered.remove(0).contents,
        other => panic!("expected one rendered file, got {other:?}"),
    }
}

/// The error message of rendering `files` with `limits`.
#[track_caller]
pub fn render_error(files: &[TemplateFile], limits: &Limits) -> String {
    match render_files(files, &proton_context(), limits, Newlines::AsWritten) {
        Ok(rendered) => panic!("expected an error, rendered {rendered:?}"),
        Err(err) => err.to_string(),
    }
}

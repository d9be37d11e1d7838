//! `paved template init NAME`: writes a new bundle to edit, offline, in Paved's format or AWS
//! Proton's. What it writes registers as it is; the tests check that.

use std::path::{Path, PathBuf};

use paved_cli::{BundleFormatArg, TemplateKindArg};

use crate::Failure;
use crate::commands::template::usage_error;
use crate::commands::template::write::write_new_directory;
use crate::output::emit;

pub fn run(
    name: &str,
    dir: Option<PathBuf>,
    kind: TemplateKindArg,
    format: BundleFormatArg,
) -> Result<(), Failure> {
    if !paved_model::validation::is_valid_name(name) {
        usage_error(format_args!(
            "`{name}` is not a valid template name: use letters, digits, `-`, `_` and `.`, \
             starting and ending with a letter or digit, at most 63 characters"
        ));
    }
    let dir = dir.unwrap_or_else(|| Path::new(".").join(name));
    let files = bundle_files(name, &dir, kind, format);
    let as_bytes: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(path, text)| ((*path).to_owned(), text.clone().into_bytes()))
        .collect();
    write_new_directory(&dir, &as_bytes, false)?;
    let (kind_text, format_text) = describe(kind, format);
    emit(format_args!(
        "wrote the {kind_text} template `{name}` in {format_text} format:"
    ));
    for (path, _) in &files {
        emit(format_args!("  {}", dir.join(path).display()));
    }
    emit(format_args!(
        "next: edit the files, then `{}` (see README.md)",
        register_command(name, &dir, kind, format)
    ));
    Ok(())
}

fn describe(kind: TemplateKindArg, format: BundleFormatArg) -> (&'static str, &'static str) {
    (
        match kind {
            TemplateKindArg::Service => "service",
            TemplateKindArg::Environment => "environment",
        },
        match format {
            BundleFormatArg::Paved => "Paved's",
            BundleFormatArg::Proton => "AWS Proton's",
        },
    )
}

/// Proton bundles do not name themselves, nor, for services, their environments.
fn register_command(
    name: &str,
    dir: &Path,
    kind: TemplateKindArg,
    format: BundleFormatArg,
) -> String {
    let mut command = format!("paved template register {}", dir.display());
    if format == BundleFormatArg::Proton {
        command.push_str(&format!(" --name {name}"));
        if kind == TemplateKindArg::Service {
            command.push_str(" --compatible-environment ecs-environment:1");
        }
    }
    command
}

/// The bundle's files, by path.
fn bundle_files(
    name: &str,
    dir: &Path,
    kind: TemplateKindArg,
    format: BundleFormatArg,
) -> Vec<(&'static str, String)> {
    let readme = readme(name, dir, kind, format);
    match (format, kind) {
        (BundleFormatArg::Paved, TemplateKindArg::Service) => vec![
            ("README.md", readme),
            (
                "infrastructure/cloudformation.yaml",
                SERVICE_CLOUDFORMATION.to_owned(),
            ),
            (
                "paved-template.yaml",
                PAVED_SERVICE_MANIFEST.replace("NAME", name),
            ),
            ("schema.yaml", PAVED_SERVICE_SCHEMA.to_owned()),
        ],
        (BundleFormatArg::Paved, TemplateKindArg::Environment) => vec![
            ("README.md", readme),
            (
                "infrastructure/cloudformation.yaml",
                ENVIRONMENT_CLOUDFORMATION.to_owned(),
            ),
            (
                "paved-template.yaml",
                PAVED_ENVIRONMENT_MANIFEST.replace("NAME", name),
            ),
            ("schema.yaml", PAVED_ENVIRONMENT_SCHEMA.to_owned()),
        ],
        (BundleFormatArg::Proton, TemplateKindArg::Service) => vec![
            ("README.md", readme),
            (
                "instance_infrastructure/cloudformation.yaml",
                SERVICE_CLOUDFORMATION.to_owned(),
            ),
            (
                "instance_infrastructure/manifest.yaml",
                PROTON_MANIFEST.to_owned(),
            ),
            ("schema/schema.yaml", PROTON_SERVICE_SCHEMA.to_owned()),
        ],
        (BundleFormatArg::Proton, TemplateKindArg::Environment) => vec![
            ("README.md", readme),
            (
                "infrastructure/cloudformation.yaml",
                ENVIRONMENT_CLOUDFORMATION.to_owned(),
            ),
            ("infrastructure/manifest.yaml", PROTON_MANIFEST.to_owned()),
            ("schema/schema.yaml", PROTON_ENVIRONMENT_SCHEMA.to_owned()),
        ],
    }
}

fn readme(name: &str, dir: &Path, kind: TemplateKindArg, format: BundleFormatArg) -> String {
    let (kind_text, format_text) = describe(kind, format);
    let files = match (format, kind) {
        (BundleFormatArg::Paved, TemplateKindArg::Service) => {
            "- `paved-template.yaml`: the manifest: name, description, owner, and the environment \
             templates this service deploys into (`spec.compatibleEnvironments`).\n\
             - `schema.yaml`: the inputs a team gives, as JSON Schema; `ui:` keys are hints for \
             forms.\n\
             - `infrastructure/cloudformation.yaml`: CloudFormation, rendered with Jinja for each \
             service instance (`service.name`, `environment.name`, `service_instance.inputs.X`).\n\
             \n\
             Add `pipeline/` (CI files) or `skeleton/` (the app a new repository starts from) if \
             the golden path has them; they are rendered with Jinja too."
        }
        (BundleFormatArg::Paved, TemplateKindArg::Environment) => {
            "- `paved-template.yaml`: the manifest: name, description, owner.\n\
             - `schema.yaml`: the inputs of an environment, as JSON Schema; `ui:` keys are hints \
             for forms.\n\
             - `infrastructure/cloudformation.yaml`: CloudFormation, rendered with Jinja for each \
             environment (`environment.name`, `environment.inputs.X`). Its outputs are what \
             service templates read as `environment.outputs.X`."
        }
        (BundleFormatArg::Proton, TemplateKindArg::Service) => {
            "- `schema/schema.yaml`: the inputs, in Proton's OpenAPI format \
             (`service_input_type`).\n\
             - `instance_infrastructure/manifest.yaml`: the files of the service instance's \
             infrastructure and how they render.\n\
             - `instance_infrastructure/cloudformation.yaml`: CloudFormation, rendered with \
             Jinja (`service.name`, `environment.name`, `service_instance.inputs.X`).\n\
             \n\
             A Proton bundle does not name itself or its environments: registration gives them \
             (`--name`, `--compatible-environment NAME:MAJOR`)."
        }
        (BundleFormatArg::Proton, TemplateKindArg::Environment) => {
            "- `schema/schema.yaml`: the inputs, in Proton's OpenAPI format \
             (`environment_input_type`).\n\
             - `infrastructure/manifest.yaml`: the files of the environment's infrastructure and \
             how they render.\n\
             - `infrastructure/cloudformation.yaml`: CloudFormation, rendered with Jinja \
             (`environment.name`, `environment.inputs.X`).\n\
             \n\
             A Proton bundle does not name itself: registration gives the name (`--name`)."
        }
    };
    let register = register_command(name, dir, kind, format);
    let example_input = match kind {
        TemplateKindArg::Service => " --input port=8080",
        TemplateKindArg::Environment => " --input log_retention_days=14",
    };
    format!(
        "# {name}\n\
         \n\
         A {kind_text} template in {format_text} bundle format, started by `paved template init`.\n\
         See docs/templates.md for the format, the inputs and the render context.\n\
         \n\
         ## Files\n\
         \n\
         {files}\n\
         \n\
         ## Next steps\n\
         \n\
         1. Edit the files: describe the template, shape the inputs, write the infrastructure.\n\
         2. Check the bundle without storing anything:\n\
         \x20  `{register} --dry-run`\n\
         3. Register it as a draft version (1.0 the first time, then 1.1, 1.2, ...):\n\
         \x20  `{register}`\n\
         4. Render the draft to see what a team would get:\n\
         \x20  `paved template render {name}@1.0{example_input}`\n\
         5. Publish it, so it becomes the recommended version:\n\
         \x20  `paved template publish {name}@1.0`\n\
         \n\
         A new minor version must accept what the previous one accepted (no input removed, no \
         new required input without a default, no narrowed type or enum); register a new major \
         version with `--major 2` for anything else.\n"
    )
}

const PAVED_SERVICE_MANIFEST: &str = r#"apiVersion: paved.dev/v1
kind: ServiceTemplate
metadata:
  name: NAME
  description: Describe in one line what a team gets from this golden path
  owner: group:default/platform
spec:
  infrastructure:
    engine: cloudformation
  # The environment templates this service deploys into, with their major version.
  compatibleEnvironments:
    - template: ecs-environment
      major: 1
"#;

const PAVED_ENVIRONMENT_MANIFEST: &str = r#"apiVersion: paved.dev/v1
kind: EnvironmentTemplate
metadata:
  name: NAME
  description: Describe in one line what an environment of this template provides
  owner: group:default/platform
spec:
  infrastructure:
    engine: cloudformation
"#;

const PAVED_SERVICE_SCHEMA: &str = r#"# The inputs of a service instance, as JSON Schema. Keys starting with `ui:` are hints for
# forms (as in Backstage) and are ignored by validation.
$schema: https://json-schema.org/draft/2020-12/schema
type: object
additionalProperties: false
ui:order: [image, port]
properties:
  image:
    title: Container image
    description: The image the container runs, with a tag or digest.
    type: string
    minLength: 1
    maxLength: 255
    default: public.ecr.aws/docker/library/nginx:stable
    ui:placeholder: 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-service:1.0.0
  port:
    title: Container port
    description: The port the container listens on.
    type: integer
    minimum: 1
    maximum: 65535
    default: 80
    ui:help: Traffic for the service is sent to this port of the container.
"#;

const PAVED_ENVIRONMENT_SCHEMA: &str = r#"# The inputs of an environment, as JSON Schema. Keys starting with `ui:` are hints for forms
# (as in Backstage) and are ignored by validation.
$schema: https://json-schema.org/draft/2020-12/schema
type: object
additionalProperties: false
ui:order: [log_retention_days, container_insights]
properties:
  log_retention_days:
    title: Log retention (days)
    description: How long the environment's logs are kept.
    type: integer
    enum: [7, 14, 30, 90, 365]
    default: 30
    ui:help: Longer retention costs more.
  container_insights:
    title: Container Insights
    description: Collect CloudWatch Container Insights metrics for the cluster.
    type: boolean
    default: false
    ui:widget: checkbox
"#;

const PROTON_SERVICE_SCHEMA: &str = r#"schema:
  format:
    openapi: "3.0.0"
  service_input_type: "ServiceInput"
  types:
    ServiceInput:
      type: object
      description: "The inputs of a service instance"
      properties:
        image:
          type: string
          description: "The image the container runs, with a tag or digest"
          default: "public.ecr.aws/docker/library/nginx:stable"
          minLength: 1
          maxLength: 255
        port:
          type: integer
          description: "The port the container listens on"
          default: 80
          minimum: 1
          maximum: 65535
"#;

const PROTON_ENVIRONMENT_SCHEMA: &str = r#"schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "EnvironmentInput"
  types:
    EnvironmentInput:
      type: object
      description: "The inputs of an environment"
      properties:
        log_retention_days:
          type: integer
          description: "How long the environment's logs are kept, in days"
          enum: [7, 14, 30, 90, 365]
          default: 30
        container_insights:
          type: boolean
          description: "Collect CloudWatch Container Insights metrics for the cluster"
          default: false
"#;

const PROTON_MANIFEST: &str = r#"infrastructure:
  templates:
    - file: "cloudformation.yaml"
      rendering_engine: jinja
      template_language: cloudformation
"#;

const SERVICE_CLOUDFORMATION: &str = r#"{#- Rendered with Jinja for each service instance; docs/templates.md lists the variables. -#}
AWSTemplateFormatVersion: "2010-09-09"
Description: {{ ("Service " ~ service.name ~ " in environment " ~ environment.name) | to_json }}

Resources:
  LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: {{ ("/paved/" ~ environment.name ~ "/" ~ service.name) | to_json }}
      RetentionInDays: 30

  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: {{ (environment.name ~ "-" ~ service.name) | to_json }}
      RequiresCompatibilities: [FARGATE]
      NetworkMode: awsvpc
      Cpu: "256"
      Memory: "512"
      ContainerDefinitions:
        - Name: {{ service.name | to_json }}
          Image: {{ service_instance.inputs.image | to_json }}
          Essential: true
          PortMappings:
            - ContainerPort: {{ service_instance.inputs.port }}
              Protocol: tcp

Outputs:
  TaskDefinitionArn:
    Description: The task definition of this service instance.
    Value: !Ref TaskDefinition
"#;

const ENVIRONMENT_CLOUDFORMATION: &str = r#"{#- Rendered with Jinja for each environment; docs/templates.md lists the variables. -#}
AWSTemplateFormatVersion: "2010-09-09"
Description: {{ ("Environment " ~ environment.name) | to_json }}

Resources:
  Cluster:
    Type: AWS::ECS::Cluster
    Properties:
      ClusterName: {{ environment.name | replace(".", "-") | replace("_", "-") | to_json }}
      ClusterSettings:
        - Name: containerInsights
          Value: {{ "enabled" if environment.inputs.container_insights else "disabled" }}

  LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: {{ ("/paved/" ~ environment.name) | to_json }}
      RetentionInDays: {{ environment.inputs.log_retention_days }}

# Service templates read these as `environment.outputs.X`.
Outputs:
  ClusterName:
    Description: The environment's ECS cluster.
    Value: !Ref Cluster
    Export:
      Name: {{ ("paved-" ~ environment.name ~ "-ClusterName") | to_json }}
  LogGroupName:
    Description: The environment's log group.
    Value: !Ref LogGroup
"#;

//! AWS Proton's bundle layout, read unchanged: `schema/schema.yaml` and one folder per
//! rendered part (`infrastructure/` for environments; `instance_infrastructure/` and optionally
//! `pipeline_infrastructure/` for services), each with a `manifest.yaml` naming its files.
//!
//! Proton's repository files in a version folder (the bundle root) that carry settings Paved
//! has too are read: `.template-registration.yaml` (`compatible_environments`; its
//! `supported_component_sources` is accepted and has no effect, Paved having no components)
//! and the older `.compatible-envs` (one `TEMPLATE:MAJOR` a line). Both say which environment
//! templates a service template's version is compatible with, for registration and template
//! sync alike.

use std::collections::BTreeMap;

use paved_model::problem::{Problem, Severity};
use serde_json::Value;

use super::{
    Bundle, BundleFile, BundleFormat, BundleMetadata, CompatibleEnvironment, Engine, FileRole,
    TemplateKind, TerraformFolder, parse_yaml, schema_problems, text_of,
};
use crate::schema::{self, InputSchema, ProtonSchemaKind};

pub(super) const SCHEMA: &str = "schema/schema.yaml";
/// Template sync's file of a service template version's registration settings.
const REGISTRATION: &str = ".template-registration.yaml";
/// Template sync's older file of compatible environments.
const COMPATIBLE_ENVS: &str = ".compatible-envs";

/// The folders of each kind of bundle: (folder, required, Terraform namespace).
const ENVIRONMENT_FOLDERS: [(&str, bool, &str); 1] = [("infrastructure", true, "environment")];
const SERVICE_FOLDERS: [(&str, bool, &str); 2] = [
    ("instance_infrastructure", true, "service_instance"),
    ("pipeline_infrastructure", false, "pipeline"),
];

/// Parses a bundle in Proton's layout.
pub(super) fn parse(files: Vec<BundleFile>) -> Result<Bundle, Vec<Problem>> {
    let find = |path: &str| files.iter().find(|file| file.path == path);
    let schema_file = find(SCHEMA).expect("the caller checked the schema exists");
    let schemas = schema::from_proton(&parse_yaml(schema_file)?)
        .map_err(|problems| schema_problems(schema_file, problems))?;
    let kind = match schemas.kind {
        ProtonSchemaKind::Environment => TemplateKind::Environment,
        ProtonSchemaKind::Service => TemplateKind::Service,
    };
    let mut problems = Vec::new();
    let compile = |json: Value, problems: &mut Vec<Problem>| match InputSchema::new(json) {
        Ok(schema) => Some(schema),
        Err(found) => {
            problems.extend(schema_problems(schema_file, found));
            None
        }
    };
    let schema = compile(schemas.instance, &mut problems);
    let pipeline_schema = schemas
        .pipeline
        .and_then(|json| compile(json, &mut problems));

    let (folders, other): (&[(&str, bool, &str)], &str) = match kind {
        TemplateKind::Environment => (&ENVIRONMENT_FOLDERS, "instance_infrastructure"),
        TemplateKind::Service => (&SERVICE_FOLDERS, "infrastructure"),
    };
    if files
        .iter()
        .any(|file| file.path.starts_with(&format!("{other}/")))
    {
        problems.push(Problem {
            file: Some(SCHEMA.to_owned()),
            ..Problem::whole(
                "bundle-layout",
                format!(
                    "the schema declares a{} {kind} template, which has no `{other}/` folder",
                    if kind == TemplateKind::Environment {
                        "n"
                    } else {
                        ""
                    }
                ),
            )
        })
    }
    let mut outputs = BTreeMap::new();
    let mut terraform = Vec::new();
    let mut engine = Engine::Cloudformation;
    for (folder, required, namespace) in folders {
        let manifest_path = format!("{folder}/manifest.yaml");
        let Some(manifest) = find(&manifest_path) else {
            if *required {
                problems.push(Problem::whole(
                    "bundle-layout",
                    format!(
                        "a Proton {kind} bundle needs `{manifest_path}` listing the files of \
                         `{folder}/`"
                    ),
                ));
            } else if files
                .iter()
                .any(|file| file.path.starts_with(&format!("{folder}/")))
            {
                problems.push(Problem::whole(
                    "bundle-layout",
                    format!("`{folder}/` has files but no `manifest.yaml` listing them"),
                ));
            }
            continue;
        };
        match read_manifest(manifest, folder, &files) {
            Ok(listed) => {
                for (path, role) in listed {
                    if role == FileRole::Verbatim {
                        engine = Engine::Terraform;
                        if !terraform
                            .iter()
                            .any(|found: &TerraformFolder| found.folder == *folder)
                        {
                            terraform.push(TerraformFolder {
                                folder: (*folder).to_owned(),
                                namespace,
                            });
                        }
                    }
                    outputs.insert(path, role);
                }
            }
            Err(found) => problems.extend(found),
        }
    }
    let compatible_environments = compatible_environments(&files, kind, &mut problems);
    match schema {
        Some(schema) if problems.is_empty() => Ok(Bundle {
            format: BundleFormat::Proton,
            kind,
            engine,
            metadata: BundleMetadata::default(),
            compatible_environments,
            repository_url: None,
            schema,
            pipeline_schema,
            readme: None,
            files,
            outputs,
            terraform,
        }),
        _ => Err(problems),
    }
}

/// The compatible environments `.template-registration.yaml` or `.compatible-envs` name.
fn compatible_environments(
    files: &[BundleFile],
    kind: TemplateKind,
    problems: &mut Vec<Problem>,
) -> Vec<CompatibleEnvironment> {
    let find = |path: &str| files.iter().find(|file| file.path == path);
    let (registration, listed) = (find(REGISTRATION), find(COMPATIBLE_ENVS));
    let found: Vec<&BundleFile> = [registration, listed].into_iter().flatten().collect();
    if kind == TemplateKind::Environment {
        for file in found {
            problems.push(Problem {
                file: Some(file.path.clone()),
                ..Problem::whole(
                    "bundle-layout",
                    "only service templates have compatible environments; an environment \
                     template's version folder has no such file",
                )
            });
        }
        return Vec::new();
    }
    if let (Some(_), Some(_)) = (registration, listed) {
        problems.push(Problem {
            file: Some(COMPATIBLE_ENVS.to_owned()),
            ..Problem::whole(
                "bundle-layout",
                format!(
                    "both `{REGISTRATION}` and `{COMPATIBLE_ENVS}` name compatible environments; \
                     keep `{REGISTRATION}` (Proton's current file)"
                ),
            )
        });
        return Vec::new();
    }
    if let Some(file) = registration {
        return read_registration(file, problems);
    }
    if let Some(file) = listed {
        let text = match text_of(file) {
            Ok(text) => text,
            Err(problem) => {
                problems.push(problem);
                return Vec::new();
            }
        };
        return text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .filter_map(|(index, line)| {
                compatible_environment(line.trim())
                    .map_err(|message| {
                        problems.push(Problem {
                            file: Some(file.path.clone()),
                            document_index: None,
                            line: Some(index + 1),
                            field: None,
                            rule: "compatible-environment".to_owned(),
                            message,
                            severity: Severity::Error,
                        });
                    })
                    .ok()
            })
            .collect();
    }
    Vec::new()
}

/// `.template-registration.yaml`: `compatible_environments: [TEMPLATE:MAJOR, ...]` and the
/// optional `supported_component_sources: [DIRECTLY_DEFINED]`.
fn read_registration(file: &BundleFile, problems: &mut Vec<Problem>) -> Vec<CompatibleEnvironment> {
    let value = match parse_yaml(file) {
        Ok(value) => value,
        Err(found) => {
            problems.extend(found);
            return Vec::new();
        }
    };
    let at = |field: &str, rule: &str, message: String| Problem {
        file: Some(file.path.clone()),
        document_index: None,
        line: super::line_of_pointer(file, &format!("/{}", field.replace('.', "/"))),
        field: Some(field.to_owned()),
        rule: rule.to_owned(),
        message,
        severity: Severity::Error,
    };
    let Some(object) = value.as_object() else {
        problems.push(at(
            "",
            "type",
            "expected `compatible_environments: [TEMPLATE:MAJOR, ...]`".to_owned(),
        ));
        return Vec::new();
    };
    for key in object.keys() {
        match key.as_str() {
            "compatible_environments" => {}
            "supported_component_sources" => {
                let valid = object[key]
                    .as_array()
                    .is_some_and(|sources| sources.iter().all(|s| s == "DIRECTLY_DEFINED"));
                if !valid {
                    problems.push(at(
                        key,
                        "enum",
                        "`supported_component_sources` is a list of `DIRECTLY_DEFINED`, the only \
                         source Proton has"
                            .to_owned(),
                    ));
                }
            }
            other => problems.push(at(
                other,
                "unknown-field",
                format!(
                    "unknown field `{other}`: the file has `compatible_environments` and \
                     `supported_component_sources`"
                ),
            )),
        }
    }
    let Some(items) = object
        .get("compatible_environments")
        .and_then(Value::as_array)
    else {
        problems.push(at(
            "compatible_environments",
            "required",
            "`compatible_environments` is required: a list of `TEMPLATE:MAJOR`".to_owned(),
        ));
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            let parsed = match item.as_str() {
                Some(text) => compatible_environment(text.trim()),
                None => Err(format!("expected `TEMPLATE:MAJOR`, got `{item}`")),
            };
            parsed
                .map_err(|message| {
                    problems.push(at(
                        &format!("compatible_environments.{index}"),
                        "compatible-environment",
                        message,
                    ));
                })
                .ok()
        })
        .collect()
}

/// `TEMPLATE:MAJOR`.
pub(crate) fn compatible_environment(text: &str) -> Result<CompatibleEnvironment, String> {
    let parsed = text.rsplit_once(':').and_then(|(template, major)| {
        let major: u32 = major.trim().parse().ok().filter(|major| *major > 0)?;
        let template = template.trim();
        (!template.is_empty()).then(|| CompatibleEnvironment {
            template: template.to_owned(),
            major,
        })
    });
    parsed.ok_or_else(|| {
        format!(
            "`{text}` is not a compatible environment: give `TEMPLATE:MAJOR`, such as \
             `ecs-environment:1`"
        )
    })
}

/// Reads `{folder}/manifest.yaml`: the files it lists and how each renders.
fn read_manifest(
    manifest: &BundleFile,
    folder: &str,
    files: &[BundleFile],
) -> Result<Vec<(String, FileRole)>, Vec<Problem>> {
    let value = parse_yaml(manifest)?;
    let at = |field: &str, rule: &str, message: String| Problem {
        file: Some(manifest.path.clone()),
        document_index: None,
        line: super::line_of_pointer(manifest, &format!("/{}", field.replace('.', "/"))),
        field: Some(field.to_owned()),
        rule: rule.to_owned(),
        message,
        severity: Severity::Error,
    };
    let Some(templates) = value
        .get("infrastructure")
        .and_then(|infrastructure| infrastructure.get("templates"))
        .and_then(Value::as_array)
    else {
        return Err(vec![at(
            "infrastructure.templates",
            "required",
            "a Proton manifest has `infrastructure: {templates: [{file, rendering_engine, \
             template_language}]}`"
                .to_owned(),
        )]);
    };
    let in_folder: Vec<&BundleFile> = files
        .iter()
        .filter(|file| {
            file.path
                .strip_prefix(folder)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| rest != "manifest.yaml")
        })
        .collect();
    let mut problems = Vec::new();
    let mut listed = Vec::new();
    for (index, template) in templates.iter().enumerate() {
        let field = format!("infrastructure.templates[{index}]");
        let engine = template.get("rendering_engine").and_then(Value::as_str);
        let role = match engine {
            Some("jinja") => FileRole::Jinja,
            Some("hcl") => FileRole::Verbatim,
            Some(other) => {
                problems.push(at(
                    &format!("{field}.rendering_engine"),
                    "enum",
                    format!(
                        "rendering engine `{other}` is not supported; Paved renders `jinja` \
                         (CloudFormation) and `hcl` (Terraform). CodeBuild provisioning is not \
                         supported"
                    ),
                ));
                continue;
            }
            None => {
                problems.push(at(
                    &format!("{field}.rendering_engine"),
                    "required",
                    "`rendering_engine` is required: `jinja` or `hcl`".to_owned(),
                ));
                continue;
            }
        };
        let Some(pattern) = template.get("file").and_then(Value::as_str) else {
            problems.push(at(
                &format!("{field}.file"),
                "required",
                "`file` is required: a file name in the folder, or `*` for all of them".to_owned(),
            ));
            continue;
        };
        let matched: Vec<&BundleFile> = if pattern == "*" {
            in_folder.clone()
        } else {
            let path = format!("{folder}/{pattern}");
            in_folder
                .iter()
                .copied()
                .filter(|file| file.path == path)
                .collect()
        };
        if matched.is_empty() {
            problems.push(at(
                &format!("{field}.file"),
                "file-not-found",
                format!("`{folder}/{pattern}` is not in the bundle"),
            ));
        }
        for file in matched {
            // Terraform files are copied, not rendered: binaries (a `.zip` Terraform deploys)
            // are kept byte for byte.
            if role == FileRole::Jinja
                && let Err(problem) = text_of(file)
            {
                problems.push(problem);
                continue;
            }
            listed.push((file.path.clone(), role));
        }
    }
    if problems.is_empty() {
        Ok(listed)
    } else {
        Err(problems)
    }
}

//! AWS Proton's bundle layout, read unchanged: `schema/schema.yaml` and one folder per
//! rendered part (`infrastructure/` for environments; `instance_infrastructure/` and optionally
//! `pipeline_infrastructure/` for services), each with a `manifest.yaml` naming its files.

use std::collections::BTreeMap;

use paved_model::problem::{Problem, Severity};
use serde_json::Value;

use super::{
    Bundle, BundleFile, BundleFormat, BundleMetadata, Engine, FileRole, TemplateKind,
    TerraformFolder, parse_yaml, schema_problems, text_of,
};
use crate::schema::{self, InputSchema, ProtonSchemaKind};

pub(super) const SCHEMA: &str = "schema/schema.yaml";

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
    match schema {
        Some(schema) if problems.is_empty() => Ok(Bundle {
            format: BundleFormat::Proton,
            kind,
            engine,
            metadata: BundleMetadata::default(),
            compatible_environments: Vec::new(),
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
            if let Err(problem) = text_of(file) {
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

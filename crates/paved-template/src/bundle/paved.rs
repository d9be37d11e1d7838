//! Paved's own bundle layout: `paved-template.yaml`, `schema.yaml` (or `schema.json`), an
//! optional `pipeline-schema.yaml`, and the rendered folders `infrastructure/`, `pipeline/`,
//! `skeleton/`. The format is documented in `docs/templates.md`.

use std::collections::BTreeMap;

use paved_model::problem::{Problem, Severity};
use serde_json::{Map, Value};

use super::{
    Bundle, BundleFile, BundleFormat, BundleMetadata, CompatibleEnvironment, Engine, FileRole,
    TemplateKind, parse_yaml, schema_problems, text_of,
};
use crate::schema::InputSchema;

pub(super) const MANIFEST: &str = "paved-template.yaml";
const API_VERSION: &str = "paved.dev/v1";
const SCHEMA_FILES: [&str; 2] = ["schema.yaml", "schema.json"];
const PIPELINE_SCHEMA_FILES: [&str; 2] = ["pipeline-schema.yaml", "pipeline-schema.json"];
/// The folders whose files are rendered, and the kinds of template that may have them.
const RENDERED_FOLDERS: [(&str, &[TemplateKind]); 3] = [
    (
        "infrastructure/",
        &[TemplateKind::Environment, TemplateKind::Service],
    ),
    ("pipeline/", &[TemplateKind::Service]),
    ("skeleton/", &[TemplateKind::Service]),
];

/// Parses a bundle in Paved's layout.
pub(super) fn parse(files: Vec<BundleFile>) -> Result<Bundle, Vec<Problem>> {
    let find = |path: &str| files.iter().find(|file| file.path == path);
    let manifest_file = find(MANIFEST).expect("the caller checked the manifest exists");
    let manifest_value = parse_yaml(manifest_file)?;
    let mut problems = Vec::new();
    let manifest = Manifest::read(manifest_file, &manifest_value, &mut problems);

    let schema = read_schema(&files, &SCHEMA_FILES, true, &mut problems);
    let pipeline_schema = read_schema(&files, &PIPELINE_SCHEMA_FILES, false, &mut problems);

    let mut outputs = BTreeMap::new();
    for file in &files {
        let Some((folder, kinds)) = RENDERED_FOLDERS
            .iter()
            .find(|(folder, _)| file.path.starts_with(folder))
        else {
            continue;
        };
        if let Some(kind) = manifest.as_ref().map(|manifest| manifest.kind)
            && !kinds.contains(&kind)
        {
            problems.push(Problem {
                file: Some(file.path.clone()),
                ..Problem::whole(
                    "bundle-layout",
                    format!("an {kind} template has no `{folder}` folder; only `infrastructure/`"),
                )
            });
            continue;
        }
        if let Err(problem) = text_of(file) {
            problems.push(problem);
            continue;
        }
        outputs.insert(file.path.clone(), FileRole::Jinja);
    }
    if !outputs
        .keys()
        .any(|path| path.starts_with("infrastructure/"))
    {
        problems.push(Problem::whole(
            "bundle-layout",
            "the bundle has no files under `infrastructure/`; it needs at least one \
             infrastructure file (CloudFormation or Terraform)",
        ));
    }
    if let Some(manifest) = &manifest
        && manifest.kind == TemplateKind::Environment
        && matches!(pipeline_schema, Some(Some(_)))
    {
        problems.push(Problem::whole(
            "bundle-layout",
            "an environment template has no pipeline, so no `pipeline-schema.yaml`",
        ));
    }
    match (manifest, schema) {
        (Some(manifest), Some(Some(schema))) if problems.is_empty() => Ok(Bundle {
            format: BundleFormat::Paved,
            kind: manifest.kind,
            engine: manifest.engine,
            metadata: manifest.metadata,
            compatible_environments: manifest.compatible_environments,
            repository_url: manifest.repository_url,
            schema,
            pipeline_schema: pipeline_schema.flatten(),
            readme: None,
            files,
            outputs,
            terraform: Vec::new(),
        }),
        _ => Err(problems),
    }
}

/// Reads the first of `names` that exists as an input schema. `Some(None)` when it is optional
/// and absent.
fn read_schema(
    files: &[BundleFile],
    names: &[&str],
    required: bool,
    problems: &mut Vec<Problem>,
) -> Option<Option<InputSchema>> {
    let Some(file) = names
        .iter()
        .find_map(|name| files.iter().find(|file| file.path == *name))
    else {
        if required {
            problems.push(Problem::whole(
                "bundle-layout",
                format!(
                    "the bundle has no input schema: add `{}` (JSON Schema of the inputs; `{{}}` \
                     properties if there are none)",
                    names[0]
                ),
            ));
            return None;
        }
        return Some(None);
    };
    let value = match parse_yaml(file) {
        Ok(value) => value,
        Err(found) => {
            problems.extend(found);
            return None;
        }
    };
    match InputSchema::new(value) {
        Ok(schema) => Some(Some(schema)),
        Err(found) => {
            problems.extend(schema_problems(file, found));
            None
        }
    }
}

/// `paved-template.yaml`, read.
struct Manifest {
    kind: TemplateKind,
    engine: Engine,
    metadata: BundleMetadata,
    compatible_environments: Vec<CompatibleEnvironment>,
    repository_url: Option<String>,
}

impl Manifest {
    /// Reads the manifest, pushing a problem per wrong field; `None` if any was wrong.
    fn read(file: &BundleFile, value: &Value, problems: &mut Vec<Problem>) -> Option<Manifest> {
        let before = problems.len();
        let mut reader = Reader { file, problems };
        let root = reader.object(Some(value), "")?;
        reader.only(root, "", &["apiVersion", "kind", "metadata", "spec"]);
        match reader.string(root, "", "apiVersion", true).as_deref() {
            Some(API_VERSION) | None => {}
            Some(other) => reader.problem(
                "apiVersion",
                "api-version",
                format!("`{other}` is not a Paved manifest version; expected `{API_VERSION}`"),
            ),
        }
        let kind = match reader.string(root, "", "kind", true).as_deref() {
            Some("EnvironmentTemplate") => Some(TemplateKind::Environment),
            Some("ServiceTemplate") => Some(TemplateKind::Service),
            Some(other) => {
                reader.problem(
                    "kind",
                    "enum",
                    format!(
                        "`{other}` is not a template kind; expected `EnvironmentTemplate` or \
                         `ServiceTemplate`"
                    ),
                );
                None
            }
            None => None,
        };
        let metadata = reader.object(root.get("metadata"), "metadata");
        let metadata = metadata.map(|metadata| {
            reader.only(
                metadata,
                "metadata",
                &["name", "title", "description", "owner", "tags"],
            );
            let name = reader.string(metadata, "metadata", "name", true);
            if let Some(name) = &name
                && !paved_model::validation::is_valid_name(name)
            {
                reader.problem(
                    "metadata.name",
                    "name-format",
                    format!(
                        "`{name}` is not a valid template name: 1-63 characters `[a-zA-Z0-9]` \
                         separated by `-`, `_` or `.`"
                    ),
                );
            }
            let tags = match metadata.get("tags") {
                None => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(index, item)| match item {
                        Value::String(tag) => Some(tag.clone()),
                        _ => {
                            reader.problem(
                                &format!("metadata.tags[{index}]"),
                                "type",
                                "a tag must be a string".to_owned(),
                            );
                            None
                        }
                    })
                    .collect(),
                Some(_) => {
                    reader.problem(
                        "metadata.tags",
                        "type",
                        "`tags` must be a list of strings".to_owned(),
                    );
                    Vec::new()
                }
            };
            BundleMetadata {
                name,
                title: reader.string(metadata, "metadata", "title", false),
                description: reader.string(metadata, "metadata", "description", false),
                owner: reader.string(metadata, "metadata", "owner", false),
                tags,
            }
        });
        let spec = match root.get("spec") {
            None => Some(&*EMPTY),
            some => reader.object(some, "spec"),
        };
        let mut engine = Engine::Cloudformation;
        let mut compatible_environments = Vec::new();
        let mut repository_url = None;
        if let Some(spec) = spec {
            reader.only(
                spec,
                "spec",
                &["infrastructure", "compatibleEnvironments", "repositoryUrl"],
            );
            repository_url = reader.string(spec, "spec", "repositoryUrl", false);
            if let Some(infrastructure) = spec.get("infrastructure")
                && let Some(infrastructure) =
                    reader.object(Some(infrastructure), "spec.infrastructure")
            {
                reader.only(infrastructure, "spec.infrastructure", &["engine"]);
                match reader
                    .string(infrastructure, "spec.infrastructure", "engine", false)
                    .as_deref()
                {
                    None | Some("cloudformation") => {}
                    Some("terraform") => engine = Engine::Terraform,
                    Some(other) => reader.problem(
                        "spec.infrastructure.engine",
                        "enum",
                        format!(
                            "`{other}` is not an engine; expected `cloudformation` or \
                             `terraform`"
                        ),
                    ),
                }
            }
            compatible_environments =
                reader.compatible_environments(spec.get("compatibleEnvironments"));
        }
        match kind {
            Some(TemplateKind::Service) if compatible_environments.is_empty() => reader.problem(
                "spec.compatibleEnvironments",
                "required",
                "a service template lists at least one compatible environment template: \
                 `compatibleEnvironments: [{template: NAME, major: N}]`"
                    .to_owned(),
            ),
            Some(TemplateKind::Environment) if !compatible_environments.is_empty() => reader
                .problem(
                    "spec.compatibleEnvironments",
                    "not-allowed",
                    "only service templates have compatible environments".to_owned(),
                ),
            _ => {}
        }
        if reader.problems.len() > before {
            return None;
        }
        Some(Manifest {
            kind: kind?,
            engine,
            metadata: metadata?,
            compatible_environments,
            repository_url,
        })
    }
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// Reads fields of the manifest, recording a problem (with line) per mistake.
struct Reader<'a> {
    file: &'a BundleFile,
    problems: &'a mut Vec<Problem>,
}

impl<'a> Reader<'a> {
    fn problem(&mut self, field: &str, rule: &str, message: String) {
        let pointer = format!("/{}", field.replace('.', "/"));
        self.problems.push(Problem {
            file: Some(self.file.path.clone()),
            document_index: None,
            line: super::line_of_pointer(self.file, &pointer),
            field: Some(field.to_owned()),
            rule: rule.to_owned(),
            message,
            severity: Severity::Error,
        });
    }

    fn object<'v>(
        &mut self,
        value: Option<&'v Value>,
        field: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Some(Value::Object(map)) => Some(map),
            None => {
                self.problem(field, "required", format!("`{field}` is required"));
                None
            }
            Some(_) => {
                let shown = if field.is_empty() {
                    "the manifest"
                } else {
                    field
                };
                self.problem(field, "type", format!("{shown} must be a mapping"));
                None
            }
        }
    }

    /// Refuses fields not in `allowed`, naming the ones that are.
    fn only(&mut self, map: &Map<String, Value>, at: &str, allowed: &[&str]) {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let field = join(at, key);
                self.problem(
                    &field,
                    "unknown-field",
                    format!(
                        "unknown field `{key}`; expected one of {}",
                        allowed
                            .iter()
                            .map(|name| format!("`{name}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }

    fn string(
        &mut self,
        map: &Map<String, Value>,
        at: &str,
        key: &str,
        required: bool,
    ) -> Option<String> {
        let field = join(at, key);
        match map.get(key) {
            Some(Value::String(text)) => Some(text.clone()),
            None if !required => None,
            None => {
                self.problem(&field, "required", format!("`{field}` is required"));
                None
            }
            Some(_) => {
                self.problem(&field, "type", format!("`{field}` must be a string"));
                None
            }
        }
    }

    fn compatible_environments(&mut self, value: Option<&Value>) -> Vec<CompatibleEnvironment> {
        let field = "spec.compatibleEnvironments";
        let items = match value {
            None => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.problem(
                    field,
                    "type",
                    "`compatibleEnvironments` must be a list".to_owned(),
                );
                return Vec::new();
            }
        };
        let mut found = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let at = format!("{field}[{index}]");
            let Some(map) = self.object(Some(item), &at) else {
                continue;
            };
            self.only(map, &at, &["template", "major"]);
            let template = self.string(map, &at, "template", true);
            let major = match map.get("major") {
                Some(Value::Number(number)) => number
                    .as_u64()
                    .filter(|major| *major >= 1)
                    .and_then(|major| u32::try_from(major).ok()),
                _ => None,
            };
            if major.is_none() {
                self.problem(
                    &format!("{at}.major"),
                    "type",
                    "`major` must be a whole number, 1 or more".to_owned(),
                );
            }
            if let (Some(template), Some(major)) = (template, major) {
                found.push(CompatibleEnvironment { template, major });
            }
        }
        found
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

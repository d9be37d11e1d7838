//! A template bundle: the files of one template version, in Paved's layout or AWS Proton's,
//! understood (manifest, input schemas, which files render and how) and rendered.
//!
//! [`Bundle::parse`] reads a bundle's files and checks everything that can be checked before a
//! render: the manifest, the schemas, the Jinja syntax of every rendered file, and every variable
//! a template reads against the render context and the schema's inputs. A bundle that parses
//! is one that can be stored. [`Bundle::render`] validates inputs (defaults applied) and renders.

mod context;
mod paved;
mod proton;
mod terraform;

use std::collections::BTreeMap;

use paved_model::problem::{Problem, Severity};
use serde::{Deserialize, Serialize};

use crate::schema::{InputProblem, InputSchema};
use crate::{Limits, RenderError, RenderedFile, TemplateFile};

pub use context::{
    EnvironmentContext, LOCAL_ACCOUNT_ID, PipelineInstance, RenderContext, ServiceContext,
    ServiceInstanceContext, TemplateVersionRef,
};

/// How problems name the manifest's repository URL template.
const REPOSITORY_URL_FIELD: &str = "paved-template.yaml#spec.repositoryUrl";

/// One file of a bundle as read from its source: a normalised, `/`-separated relative path and
/// its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl BundleFile {
    /// A file at `path` holding `bytes`.
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> BundleFile {
        BundleFile {
            path: path.into(),
            bytes: bytes.into(),
        }
    }
}

/// Whether a template describes shared infrastructure or one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TemplateKind {
    Environment,
    Service,
}

impl TemplateKind {
    /// `environment` or `service`.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Environment => "environment",
            TemplateKind::Service => "service",
        }
    }
}

impl std::fmt::Display for TemplateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which layout a bundle follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleFormat {
    /// `paved-template.yaml` at the root.
    Paved,
    /// AWS Proton's `schema/schema.yaml` with `infrastructure/` or `instance_infrastructure/`.
    Proton,
}

/// The infrastructure language of a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Cloudformation,
    Terraform,
}

/// A service template's compatible environment template: its name and major version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompatibleEnvironment {
    pub template: String,
    pub major: u32,
}

/// What a bundle says about its template. Proton bundles say nothing here: the registration
/// call names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleMetadata {
    pub name: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
}

/// How one bundle file becomes output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileRole {
    /// Rendered with Jinja.
    Jinja,
    /// Copied unchanged (Terraform in Proton bundles).
    Verbatim,
}

/// The Terraform variables files Proton writes next to a folder of `.tf` files.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TerraformFolder {
    /// The bundle folder (`infrastructure`, `instance_infrastructure`, ...).
    folder: String,
    /// Proton's namespace for it: `environment` or `service_instance` (or `pipeline`).
    namespace: &'static str,
}

/// A parsed, checked bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub format: BundleFormat,
    pub kind: TemplateKind,
    pub engine: Engine,
    pub metadata: BundleMetadata,
    /// Service templates only: the manifest's, or for Proton bundles those of
    /// `.template-registration.yaml` or `.compatible-envs` (or none; the registration call may
    /// name them).
    pub compatible_environments: Vec<CompatibleEnvironment>,
    /// Where new service repositories are pushed (Paved manifests, `spec.repositoryUrl`), a
    /// Jinja string over the render context: `/srv/git/{{ service.name }}.git`.
    pub repository_url: Option<String>,
    /// The inputs of the environment or service instance.
    pub schema: InputSchema,
    /// The pipeline's inputs, if the bundle has a pipeline with inputs.
    pub pipeline_schema: Option<InputSchema>,
    /// `README.md` at the bundle root, if any.
    pub readme: Option<String>,
    /// Every file, sorted by path.
    files: Vec<BundleFile>,
    /// The bundle paths that become output, and how.
    outputs: BTreeMap<String, FileRole>,
    terraform: Vec<TerraformFolder>,
}

/// Why a render did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderFailure {
    /// The inputs do not satisfy the schema. `namespace` is `inputs` or `pipeline inputs`.
    #[error("the {namespace} are not valid: {}", join_input_problems(.problems))]
    Inputs {
        namespace: &'static str,
        problems: Vec<InputProblem>,
    },
    /// Jinja failed (undefined variable, limit, bad path, ...).
    #[error(transparent)]
    Render(#[from] RenderError),
}

fn join_input_problems(problems: &[InputProblem]) -> String {
    problems
        .iter()
        .map(|problem| {
            format!(
                "`{}`: {} (rule `{}`)",
                problem.input, problem.message, problem.rule
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What to render: the template version (for `paved.template`), the inputs, and the names and
/// outputs around them.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    pub template: TemplateVersionRef,
    /// The environment's or service instance's inputs (a JSON object).
    pub inputs: serde_json::Value,
    /// The pipeline's inputs; `None` is an empty object.
    pub pipeline_inputs: Option<serde_json::Value>,
    pub context: RenderContext,
}

impl Bundle {
    /// Understands and checks a bundle. `files` must have normalised paths (the sources ensure
    /// it). Every problem found is reported, each with its file, and line and field where known.
    pub fn parse(files: Vec<BundleFile>) -> Result<Bundle, Vec<Problem>> {
        let mut files = files;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let has = |path: &str| files.iter().any(|file| file.path == path);
        let mut bundle = if has(paved::MANIFEST) {
            paved::parse(files)?
        } else if has(proton::SCHEMA) {
            proton::parse(files)?
        } else {
            return Err(vec![Problem::whole(
                "bundle-layout",
                format!(
                    "not a template bundle: expected `{}` (Paved's format) or `{}` (AWS Proton's) \
                     at the bundle root",
                    paved::MANIFEST,
                    proton::SCHEMA
                ),
            )]);
        };
        bundle.readme = bundle
            .file("README.md")
            .and_then(|file| String::from_utf8(file.bytes.clone()).ok());
        let mut files = bundle.jinja_files();
        files.extend(bundle.repository_url_template());
        let mut problems: Vec<Problem> = crate::check_syntax(&files)
            .iter()
            .map(render_problem)
            .collect();
        if problems.is_empty() {
            let namespace = bundle.namespace();
            problems.extend(crate::check_templates(&files, &namespace).into_iter().map(
                |problem| Problem {
                    file: Some(problem.file),
                    document_index: None,
                    line: Some(problem.line),
                    field: None,
                    rule: problem.rule.to_owned(),
                    message: problem.message,
                    severity: Severity::Error,
                },
            ));
        }
        if problems.is_empty() {
            Ok(bundle)
        } else {
            Err(problems)
        }
    }

    /// What the bundle's templates may read: the render context, with the schemas' inputs.
    pub fn namespace(&self) -> crate::Namespace {
        let names = |schema: &InputSchema| schema.input_names().map(str::to_owned).collect();
        context::namespace(
            self.kind,
            names(&self.schema),
            self.pipeline_schema.as_ref().map(names),
        )
    }

    /// Every file of the bundle, sorted by path.
    pub fn files(&self) -> &[BundleFile] {
        &self.files
    }

    /// The bytes of the bundle's files with their paths (what it holds in memory, roughly).
    pub fn size_bytes(&self) -> usize {
        self.files
            .iter()
            .map(|file| file.path.len() + file.bytes.len())
            .sum()
    }

    /// The file at `path`, if the bundle has it.
    pub fn file(&self, path: &str) -> Option<&BundleFile> {
        self.files
            .binary_search_by(|file| file.path.as_str().cmp(path))
            .ok()
            .map(|index| &self.files[index])
    }

    /// The bundle paths that become output (rendered or copied), sorted.
    pub fn output_paths(&self) -> impl Iterator<Item = &str> {
        self.outputs.keys().map(String::as_str)
    }

    /// Validates the inputs (defaults applied), builds the context and renders every output
    /// file. Deterministic: the same bundle and request give byte-identical files, sorted by
    /// path.
    pub fn render(
        &self,
        request: &RenderRequest,
        limits: &Limits,
    ) -> Result<Vec<RenderedFile>, RenderFailure> {
        let inputs =
            self.schema
                .validate(&request.inputs)
                .map_err(|problems| RenderFailure::Inputs {
                    namespace: "inputs",
                    problems,
                })?;
        let empty = serde_json::Value::Object(serde_json::Map::new());
        let pipeline_inputs = request.pipeline_inputs.as_ref().unwrap_or(&empty);
        let pipeline_inputs = match &self.pipeline_schema {
            Some(schema) => {
                schema
                    .validate(pipeline_inputs)
                    .map_err(|problems| RenderFailure::Inputs {
                        namespace: "pipeline inputs",
                        problems,
                    })?
            }
            None => pipeline_inputs.clone(),
        };
        // A pipeline's instances are instances of this template: their inputs get the schema's
        // defaults too, as each instance's own render does.
        let mut around = request.context.clone();
        for instance in &mut around.service_instances {
            let validated = self
                .schema
                .validate(&serde_json::Value::Object(instance.inputs.clone()))
                .map_err(|problems| RenderFailure::Inputs {
                    namespace: "inputs of `service_instances`",
                    problems,
                })?;
            if let serde_json::Value::Object(validated) = validated {
                instance.inputs = validated;
            }
        }
        let context = context::build(
            self.kind,
            &request.template,
            &around,
            &inputs,
            &pipeline_inputs,
        );
        let mut rendered =
            crate::render_files(&self.jinja_files(), &context, limits, self.newlines())?;
        for (path, role) in &self.outputs {
            if *role == FileRole::Verbatim
                && let Some(file) = self.file(path)
            {
                rendered.push(RenderedFile::copied(path.clone(), &file.bytes));
            }
        }
        for folder in &self.terraform {
            rendered.extend(terraform::variables_files(folder, &context));
        }
        rendered.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(rendered)
    }

    /// Renders once with sample inputs (the defaults, and a plausible value for each required
    /// input without one) to catch, at registration, a template that never finishes, outgrows
    /// the limits or includes a file the bundle does not have. Errors that depend on the real
    /// context (an environment output a trial does not have, a value the samples do not
    /// satisfy) are not reported: only those [`RenderError::is_bundle_fault`] names are.
    pub fn trial_render(&self, limits: &Limits) -> Vec<Problem> {
        let request = RenderRequest {
            inputs: sample_inputs(self.schema.json()),
            pipeline_inputs: self
                .pipeline_schema
                .as_ref()
                .map(|schema| sample_inputs(schema.json())),
            ..RenderRequest::default()
        };
        match self.render(&request, limits) {
            Err(RenderFailure::Render(error)) if error.is_bundle_fault() => {
                vec![render_problem(&error)]
            }
            _ => Vec::new(),
        }
    }

    /// The repository URL of new services (`spec.repositoryUrl`), rendered over the same
    /// context as the files, or `None` when the bundle sets none.
    pub fn render_repository_url(
        &self,
        request: &RenderRequest,
        limits: &Limits,
    ) -> Result<Option<String>, RenderFailure> {
        let Some(template) = self.repository_url_template() else {
            return Ok(None);
        };
        let inputs =
            self.schema
                .validate(&request.inputs)
                .map_err(|problems| RenderFailure::Inputs {
                    namespace: "inputs",
                    problems,
                })?;
        let empty = serde_json::Value::Object(serde_json::Map::new());
        let context = context::build(
            self.kind,
            &request.template,
            &request.context,
            &inputs,
            request.pipeline_inputs.as_ref().unwrap_or(&empty),
        );
        let rendered = crate::render_files(
            std::slice::from_ref(&template),
            &context,
            limits,
            self.newlines(),
        )?;
        Ok(rendered
            .into_iter()
            .next()
            .map(|file| file.contents.trim().to_owned()))
    }

    /// How rendered files end: Proton bundles as Jinja2 (and so Proton) renders them, Paved's
    /// as they are written.
    fn newlines(&self) -> crate::Newlines {
        match self.format {
            BundleFormat::Paved => crate::Newlines::AsWritten,
            BundleFormat::Proton => crate::Newlines::Jinja2,
        }
    }

    /// `spec.repositoryUrl` as a template, named after where it is.
    fn repository_url_template(&self) -> Option<TemplateFile> {
        self.repository_url
            .as_ref()
            .map(|url| TemplateFile::new(REPOSITORY_URL_FIELD, url.clone()))
    }

    /// The files rendered with Jinja, as the renderer takes them.
    fn jinja_files(&self) -> Vec<TemplateFile> {
        self.outputs
            .iter()
            .filter(|(_, role)| **role == FileRole::Jinja)
            .filter_map(|(path, _)| self.file(path))
            .map(|file| {
                TemplateFile::new(
                    file.path.clone(),
                    String::from_utf8_lossy(&file.bytes).into_owned(),
                )
            })
            .collect()
    }
}

/// An object with a plausible value for every required property that has no default.
fn sample_inputs(schema: &serde_json::Value) -> serde_json::Value {
    let mut inputs = serde_json::Map::new();
    let properties = schema
        .get("properties")
        .and_then(serde_json::Value::as_object);
    let required = schema.get("required").and_then(serde_json::Value::as_array);
    if let (Some(properties), Some(required)) = (properties, required) {
        for name in required.iter().filter_map(serde_json::Value::as_str) {
            let Some(property) = properties.get(name) else {
                continue;
            };
            if property.get("default").is_some() {
                continue;
            }
            inputs.insert(name.to_owned(), sample_value(property));
        }
    }
    serde_json::Value::Object(inputs)
}

fn sample_value(schema: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|values| values.first())
    {
        return first.clone();
    }
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds.first().and_then(Value::as_str).unwrap_or("string"),
        _ => "string",
    };
    match kind {
        "integer" | "number" => schema.get("minimum").cloned().unwrap_or(json!(1)),
        "boolean" => json!(false),
        "array" => json!([]),
        "object" => sample_inputs(schema),
        "null" => Value::Null,
        _ => {
            let length = schema
                .get("minLength")
                .and_then(Value::as_u64)
                .unwrap_or(7)
                .max(7);
            json!("example".repeat(1 + length as usize / 7)[..length as usize])
        }
    }
}

/// A render error found at registration, as a problem with file and line.
fn render_problem(error: &RenderError) -> Problem {
    let (file, line) = match error.location() {
        Some(at) => (Some(at.file.clone()), at.line),
        None => (None, None),
    };
    Problem {
        file,
        document_index: None,
        line,
        field: None,
        rule: error.rule().to_owned(),
        message: error.to_string(),
        severity: Severity::Error,
    }
}

/// Reads a bundle file as UTF-8 text, or says why not.
fn text_of(file: &BundleFile) -> Result<&str, Problem> {
    std::str::from_utf8(&file.bytes).map_err(|err| Problem {
        file: Some(file.path.clone()),
        ..Problem::whole(
            "utf-8",
            format!(
                "the file is not UTF-8 text (invalid byte at offset {}); template files must be \
                 text",
                err.valid_up_to()
            ),
        )
    })
}

/// Parses a YAML (or JSON) bundle file into one JSON value, with problems placed in the file.
fn parse_yaml(file: &BundleFile) -> Result<serde_json::Value, Vec<Problem>> {
    let text = text_of(file).map_err(|problem| vec![problem])?;
    let parsed = paved_model::yaml::parse_documents(&file.path, text);
    if !parsed.problems.is_empty() {
        return Err(parsed.problems);
    }
    match parsed.documents.len() {
        1 => Ok(parsed
            .documents
            .into_iter()
            .next()
            .map(|document| document.value)
            .unwrap_or_default()),
        count => Err(vec![Problem {
            file: Some(file.path.clone()),
            ..Problem::whole(
                "yaml-documents",
                format!("expected exactly one YAML document, found {count}"),
            )
        }]),
    }
}

/// The 1-based line at which a JSON pointer's value starts in a YAML file, if it can be found.
fn line_of_pointer(file: &BundleFile, pointer: &str) -> Option<usize> {
    let text = std::str::from_utf8(&file.bytes).ok()?;
    let parsed = paved_model::yaml::parse_documents(&file.path, text);
    let document = parsed.documents.first()?;
    let field = pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".");
    Some(document.line_of(&field))
}

/// Schema problems (pointers into a schema file) as bundle problems with lines.
fn schema_problems(file: &BundleFile, problems: Vec<crate::schema::SchemaProblem>) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|problem| Problem {
            file: Some(file.path.clone()),
            document_index: None,
            line: line_of_pointer(file, &problem.pointer),
            field: Some(pointer_to_field(&problem.pointer)),
            rule: problem.rule,
            message: problem.message,
            severity: Severity::Error,
        })
        .collect()
}

/// `/properties/port/type` → `properties.port.type`.
fn pointer_to_field(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

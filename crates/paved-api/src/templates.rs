//! Wire types of `/api/templates`: templates, versions, registration, rendering and sync.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::ApiProblem;

/// A template as listed: its description and its recommended version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSummary {
    pub name: String,
    /// `environment` or `service`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub description: String,
    /// An entity reference such as `group:default/platform`.
    pub owner: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The highest published version, `MAJOR.MINOR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_version: Option<String>,
    /// The highest registered version, whatever its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_version: Option<String>,
    pub version_count: usize,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/templates` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateSummary>,
}

/// A template with every version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateDetail {
    #[serde(flatten)]
    pub summary: TemplateSummary,
    /// Oldest first.
    pub versions: Vec<TemplateVersion>,
}

/// A template's compatible environment template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompatibleEnvironment {
    pub template: String,
    pub major: u32,
}

/// One version of a template.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateVersion {
    /// `MAJOR.MINOR`.
    pub version: String,
    /// `draft`, `published` or `withdrawn`.
    pub status: String,
    /// Whether this is the recommended version.
    pub recommended: bool,
    /// `paved` or `proton`.
    pub format: String,
    /// `cloudformation` or `terraform`.
    pub engine: String,
    /// SHA-256 of the bundle's files.
    pub digest: String,
    /// Where the bundle came from.
    pub source: String,
    #[serde(default)]
    pub compatible_environments: Vec<CompatibleEnvironment>,
    /// The inputs, as JSON Schema (with `ui:` hints).
    pub schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_schema: Option<Value>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_reason: Option<String>,
    /// The bundle's `README.md`; only `GET /api/templates/{name}/versions/{version}` returns
    /// it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readme: Option<String>,
}

/// Where a bundle comes from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TemplateSource {
    /// A `.tar.gz` of the bundle, base64-encoded; a single top-level folder is stripped.
    Archive { data: String },
    /// A git repository: `REPO[#ref=REF][&path=DIR]`, read by the server.
    Git { target: String },
}

/// `POST /api/templates/versions` body: register a version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterTemplateRequest {
    pub source: TemplateSource,
    /// The template's name; required for AWS Proton bundles, which do not name themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// For service templates in Proton's format, which do not list them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compatible_environments: Vec<CompatibleEnvironment>,
    /// Add a minor version to this major (or start it at `N.0`); by default the highest major.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major: Option<u32>,
    /// Publish at once instead of registering a draft.
    #[serde(default)]
    pub publish: bool,
    /// Check everything and store nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// `POST /api/templates/versions` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterTemplateResponse {
    pub template: String,
    pub kind: String,
    pub version: TemplateVersion,
    /// The bundle equals the latest version of its major, which was kept.
    pub unchanged: bool,
    pub dry_run: bool,
    /// The bundle's files.
    pub files: Vec<String>,
}

/// `POST /api/templates/{name}/versions/{version}/withdraw` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WithdrawTemplateRequest {
    /// Why; shown to anyone who looks at the version.
    pub reason: String,
}

/// `POST /api/templates/{name}/render` body: a dry run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenderTemplateRequest {
    /// `1`, `1.2`, or absent for the recommended version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The environment's or service instance's inputs.
    #[serde(default = "empty_object")]
    pub inputs: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_inputs: Option<Value>,
    /// Names and outputs around the render: `{environment: {name, outputs}, service: {name,
    /// branch_name, repository_id}, service_instance: {name}, component_outputs,
    /// service_instances}`; everything defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// One rendered file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RenderedFileBody {
    pub path: String,
    /// The text, or with `encoding: base64` the bytes of a file that is not UTF-8 text (a
    /// Terraform folder's `.zip`, copied as it is).
    pub contents: String,
    /// `base64` when `contents` holds bytes; absent for text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// `POST /api/templates/{name}/render` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RenderTemplateResponse {
    pub template: String,
    pub version: String,
    pub files: Vec<RenderedFileBody>,
}

/// A git repository synced into templates.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSync {
    pub id: String,
    pub repository: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_at: Option<String>,
    #[serde(default)]
    pub problems: Vec<ApiProblem>,
}

/// `GET /api/template-syncs` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TemplateSyncList {
    pub items: Vec<TemplateSync>,
}

/// `POST /api/template-syncs` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddTemplateSyncRequest {
    /// `REPO[#ref=REF][&path=DIR]`; the repository holds `{template}/v{major}/` folders.
    pub target: String,
}

/// The outcome of a sync run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSyncRunResponse {
    pub sync: TemplateSync,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// `NAME@MAJOR.MINOR` of every version registered.
    pub registered: Vec<String>,
    /// Bundles identical to their latest version.
    pub unchanged: usize,
    #[serde(default)]
    pub problems: Vec<ApiProblem>,
}

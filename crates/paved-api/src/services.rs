//! Wire types of `/api/services` and `/api/jobs`: creating services, and following the
//! durable jobs that do it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::RenderedFileBody;

/// `POST /api/services` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceBody {
    /// The service's name: catalog name rules, unique.
    pub name: String,
    /// `NAME`, `NAME@MAJOR` or `NAME@MAJOR.MINOR` of a service template.
    pub template: String,
    /// An existing Group: `group:default/team-a` or `team-a`.
    pub owner: String,
    /// The System the Component belongs to; by default one named after the service is
    /// created with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Backstage lifecycle; default `experimental`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The environment of the first instance; default `dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default = "empty_object")]
    pub inputs: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_inputs: Option<Value>,
    /// Also push the repository here (a path or `file://` URL in this build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
    /// Return the repository's files and create nothing.
    #[serde(default)]
    pub dry_run: bool,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// `POST /api/services` response: `202` with a job, or `200` with the files of a dry run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceResponse {
    pub dry_run: bool,
    pub template_version: String,
    /// Where `git clone` finds the repository.
    pub clone_url: String,
    /// The job creating the service (absent for a dry run); follow it at
    /// `/api/jobs/{jobId}/events`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// For a dry run: every file of the repository.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<RenderedFileBody>,
}

/// One line of a job's log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobEvent {
    pub seq: i64,
    /// RFC 3339.
    pub at: String,
    pub step: String,
    /// `info`, `step` (started), `done` (finished), `warning` or `error`.
    pub level: String,
    pub message: String,
}

/// A durable job: background work that survives crashes (creating a service, a deployment).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    /// What kind of work (`service.create`).
    pub kind: String,
    /// What it acts on (`service:payments`).
    pub subject: String,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub state: String,
    /// Who asked for it.
    pub principal: String,
    /// How many times a replica took it (more than 1: it was resumed).
    pub attempts: i64,
    pub cancel_requested: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The log, for a single job; empty in lists.
    #[serde(default)]
    pub events: Vec<JobEvent>,
}

/// `GET /api/jobs` response, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub items: Vec<Job>,
}

/// A service created by Paved.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub name: String,
    pub owner: String,
    pub template: String,
    pub template_version: String,
    pub repository_url: String,
    /// The service spec (`paved.yaml`).
    pub spec: Value,
    /// The job that created it.
    pub job_id: String,
    pub created_at: String,
}

/// `GET /api/services` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceList {
    pub items: Vec<Service>,
}

/// One audit record: who did what to what, from where, and how it ended.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    /// `admin`, `user:default/alice`, `service-account:ci`, `system:catalog-refresh`, `anonymous`.
    pub principal: String,
    /// `location.create`, `ecs.update-service`, ...
    pub action: String,
    /// `location`, `template`, `ecs-service`, ...
    pub resource_kind: String,
    pub resource_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `ok`, `refused: <why>` or `error: <code>`.
    pub outcome: String,
    /// A short before/after summary; never secrets.
    pub details: Value,
}

/// `GET /api/audit` response, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventList {
    pub items: Vec<AuditEvent>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

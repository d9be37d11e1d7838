//! Wire types of `/api/services` and `/api/tasks`: creating services, and following the
//! durable tasks that do it.

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

/// `POST /api/services` response: `202` with a task, or `200` with the files of a dry run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceResponse {
    pub dry_run: bool,
    pub template_version: String,
    /// Where `git clone` finds the repository.
    pub clone_url: String,
    /// The task creating the service (absent for a dry run); follow it at
    /// `/api/tasks/{taskId}/events`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// For a dry run: every file of the repository.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<RenderedFileBody>,
}

/// One line of a task's log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskEvent {
    pub seq: i64,
    /// RFC 3339.
    pub at: String,
    pub step: String,
    /// `info`, `step` (started), `done` (finished) or `error`.
    pub level: String,
    pub message: String,
}

/// A durable task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    pub kind: String,
    /// `pending`, `running`, `succeeded` or `failed`.
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub events: Vec<TaskEvent>,
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
    pub task_id: String,
    pub created_at: String,
}

/// `GET /api/services` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceList {
    pub items: Vec<Service>,
}

//! The HTTP API's wire types: what clients send and receive, in Backstage's shapes where the
//! catalog API is concerned.
//!
//! These types are the only serialized contract of the server; they change with care. The
//! CLI deserializes the same types it sends. Entities themselves travel as JSON objects in
//! Backstage's envelope, so they appear here as `serde_json::Value`.

mod engine;
mod error_code;
mod services;
mod templates;

pub use engine::*;
pub use error_code::ErrorCode;
pub use services::*;
pub use templates::*;

use paved_model::problem::Problem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Every error response: Backstage's error envelope, plus a stable machine-readable `code`
/// and the problems behind it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
    pub response: ErrorStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Backstage's error class name, such as `NotFoundError` or `InputError`.
    pub name: String,
    pub message: String,
    /// A stable code such as `entity_not_found`; see the API reference for the full list.
    pub code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ApiProblem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorStatus {
    pub status_code: u16,
}

/// A problem with an input document: file, document, line, field and rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiProblem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_index: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub rule: String,
    pub message: String,
    /// `warning` for a problem that does not keep the document out (absent for errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

impl From<Problem> for ApiProblem {
    fn from(problem: Problem) -> ApiProblem {
        let Problem {
            file,
            document_index,
            line,
            field,
            rule,
            message,
            severity,
        } = problem;
        ApiProblem {
            file,
            document_index,
            line,
            field,
            rule,
            message,
            severity: (!severity.is_error()).then(|| "warning".to_owned()),
        }
    }
}

impl From<ApiProblem> for Problem {
    fn from(problem: ApiProblem) -> Problem {
        let ApiProblem {
            file,
            document_index,
            line,
            field,
            rule,
            message,
            severity,
        } = problem;
        Problem {
            file,
            document_index,
            line,
            field,
            rule,
            message,
            severity: match severity.as_deref() {
                Some("warning") => paved_model::problem::Severity::Warning,
                _ => paved_model::problem::Severity::Error,
            },
        }
    }
}

/// `POST /api/catalog/locations` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocationSpec {
    /// `file` (a path or glob on the server), `git` (`REPOSITORY[#ref=REF][&path=GLOB]`) or
    /// `url` (`https://HOST/OWNER/REPO/blob/REF/PATH`).
    #[serde(rename = "type")]
    pub location_type: String,
    pub target: String,
}

/// A registered location, with its refresh status.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: String,
    #[serde(rename = "type")]
    pub location_type: String,
    pub target: String,
    /// When the location was last read (RFC 3339), absent before the first read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<String>,
    #[serde(default)]
    pub next_refresh_at: Option<String>,
    /// Problems found at the last read.
    #[serde(default)]
    pub problems: Vec<ApiProblem>,
}

/// An item of `GET /api/catalog/locations`, as Backstage wraps it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocationItem {
    pub data: Location,
}

/// `POST /api/catalog/locations` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddLocationResponse {
    pub location: Location,
    /// For a dry run, the entities the location would produce; empty otherwise, as in
    /// Backstage (read them from the catalog).
    #[schema(value_type = Vec<Object>)]
    pub entities: Vec<Value>,
    /// References of the entities the location produced (or would produce).
    #[serde(default)]
    pub entity_refs: Vec<String>,
    /// For a dry run: whether the location is already registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// Problems with individual documents (the valid ones were registered).
    #[serde(default)]
    pub problems: Vec<ApiProblem>,
}

/// `GET|POST /api/catalog/entities/by-query` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryEntitiesResponse {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub total_items: usize,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<String>,
}

/// `POST /api/catalog/entities/by-query` body (Backstage's predicate query).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryEntitiesRequest {
    /// A predicate: `{"kind": "component", "spec.type": {"$in": ["service"]}}` with `$all`,
    /// `$any`, `$not`, `$exists`, `$in`, `$hasPrefix`, `$contains`.
    #[schema(value_type = Option<Object>)]
    pub query: Option<Value>,
    #[serde(default)]
    pub fields: Vec<String>,
    pub limit: Option<usize>,
    #[serde(default)]
    pub order_by: Vec<OrderBy>,
    pub full_text_filter: Option<FullTextFilterRequest>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderBy {
    pub field: String,
    /// `asc` (default) or `desc`.
    #[serde(default)]
    pub order: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FullTextFilterRequest {
    pub term: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// `POST /api/catalog/entities/by-refs` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntitiesByRefsRequest {
    pub entity_refs: Vec<String>,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// `POST /api/catalog/entities/by-refs` response: one item per reference, null if missing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EntitiesByRefsResponse {
    /// In the order asked for; `null` where no entity has the reference, as Backstage answers.
    #[schema(value_type = Vec<Option<Object>>)]
    pub items: Vec<Option<Value>>,
}

/// `GET /api/catalog/entity-facets` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FacetsResponse {
    pub facets: std::collections::BTreeMap<String, Vec<FacetCount>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: usize,
}

/// `POST /api/catalog/refresh` body: Backstage's `entityRef`, or Paved's `locationId`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub entity_ref: Option<String>,
    pub location_id: Option<String>,
}

/// What a refresh did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefreshResponse {
    pub written: usize,
    pub unchanged: usize,
    pub orphaned: usize,
    pub deleted: usize,
    pub problems: Vec<ApiProblem>,
}

/// `POST /api/catalog/validate-entity` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidateEntityRequest {
    #[schema(value_type = Object)]
    pub entity: Value,
    /// Backstage sends the location the entity comes from, as `type:target`; unused.
    #[serde(default)]
    pub location: Option<String>,
}

/// `POST /api/catalog/validate-entity` failure body (status 400), as Backstage's, with problems.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidateEntityErrors {
    pub errors: Vec<ValidationError>,
    pub problems: Vec<ApiProblem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidationError {
    pub name: String,
    pub message: String,
}

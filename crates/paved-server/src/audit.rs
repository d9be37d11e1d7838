//! `GET /api/audit`: the audit log, for admins. Nothing edits or deletes it through the API.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use paved_api::{AuditEvent, AuditEventList, ErrorCode};
use paved_model::access::{Action, Resource, ResourceKind};
use paved_store::{AuditEventRow, AuditFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::Caller;
use crate::error::ApiError;
use crate::{AppState, timestamp};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/audit", get(list_audit))
}

/// Which audit records to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this principal (`admin`, `system:catalog-refresh`, ...).
    principal: Option<String>,
    /// Only this resource: `KIND:NAME`, `KIND` or `NAME`.
    resource: Option<String>,
    /// Only this action (`location.create`).
    action: Option<String>,
    /// Only records at or after this time (RFC 3339).
    since: Option<String>,
    /// Only records older than this id (the previous page's `nextBefore`).
    #[param(minimum = 1)]
    before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

fn event_view(row: AuditEventRow) -> AuditEvent {
    AuditEvent {
        id: row.id,
        at: timestamp(row.at).unwrap_or_default(),
        principal: row.principal,
        action: row.action,
        resource_kind: row.resource_kind,
        resource_name: row.resource_name,
        resource_owner: row.resource_owner,
        request_id: row.request_id,
        source: row.source,
        outcome: row.outcome,
        details: serde_json::from_str(&row.details).unwrap_or_default(),
    }
}

#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditEventList), (status = 400, body = paved_api::ErrorResponse),
        (status = 401, body = paved_api::ErrorResponse), (status = 403, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditEventList>, ApiError> {
    state
        .policy
        .authorize(
            &caller.principal,
            Action::ReadAudit,
            Resource::new(ResourceKind::AuditLog, "audit"),
            &caller.origin,
        )
        .await?;
    let since = match query.since.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<jiff::Timestamp>()
                .map_err(|error| {
                    ApiError::bad_request(
                        ErrorCode::InvalidParameter,
                        format!("`since`: `{text}` is not an RFC 3339 time: {error}"),
                    )
                })?
                .as_millisecond(),
        ),
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let rows = state
        .store
        .audit_events(&AuditFilter {
            principal: query.principal,
            resource: query.resource,
            action: query.action,
            since,
            before_id: query.before,
            limit,
        })
        .await
        .map_err(paved_catalog::CatalogError::from)?;
    let next_before = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|row| row.id))
        .flatten();
    Ok(Json(AuditEventList {
        items: rows.into_iter().map(event_view).collect(),
        next_before,
    }))
}

//! Reading the audit log. Records are written by [`crate::Tx::audit`], in the transaction of
//! the change they record; nothing here edits or deletes them.

use crate::{Store, StoreError, with_pool};

/// One audit record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEventRow {
    pub id: i64,
    pub at: i64,
    pub principal: String,
    /// A verb-noun such as `location.create`.
    pub action: String,
    pub resource_kind: String,
    pub resource_name: String,
    pub resource_owner: Option<String>,
    pub request_id: Option<String>,
    pub source: Option<String>,
    /// `ok`, `refused: <why>` or `error: <code>`.
    pub outcome: String,
    /// A JSON object: a short before/after summary; never secrets.
    pub details: String,
}

/// Which audit records to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub principal: Option<String>,
    /// `KIND:NAME`, `KIND` or `NAME`.
    pub resource: Option<String>,
    pub action: Option<String>,
    /// Only records at or after this time (ms since the epoch).
    pub since: Option<i64>,
    /// Only records older than this id (for paging).
    pub before_id: Option<i64>,
    pub limit: i64,
}

type AuditTuple = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
);

impl Store {
    /// Audit records matching `filter`, the most recent first.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEventRow>, StoreError> {
        let (kind, name) = match filter.resource.as_deref() {
            None => (None, None),
            Some(resource) => match resource.split_once(':') {
                Some((kind, name)) => (Some(kind), Some(name)),
                None => (None, Some(resource)),
            },
        };
        let rows: Vec<AuditTuple> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, at, principal, action, resource_kind, resource_name, resource_owner, request_id, \
             source, outcome, details FROM audit_events \
             WHERE ($1 IS NULL OR principal = $1) AND ($2 IS NULL OR resource_kind = $2) \
             AND ($3 IS NULL OR resource_name = $3) AND ($4 IS NULL OR action = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR id < $6) \
             ORDER BY id DESC LIMIT $7",
        )
        .bind(filter.principal.as_deref())
        .bind(kind)
        .bind(name)
        .bind(filter.action.as_deref())
        .bind(filter.since)
        .bind(filter.before_id)
        .bind(filter.limit.max(1))
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    at,
                    principal,
                    action,
                    resource_kind,
                    resource_name,
                    resource_owner,
                    request_id,
                    source,
                    outcome,
                    details,
                )| AuditEventRow {
                    id,
                    at,
                    principal,
                    action,
                    resource_kind,
                    resource_name,
                    resource_owner,
                    request_id,
                    source,
                    outcome,
                    details,
                },
            )
            .collect())
    }
}

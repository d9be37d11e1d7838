//! The audit log: one row for every mutation, who did it and how it ended.

use crate::{Store, StoreError, with_pool};

/// One audited action.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: i64,
    pub actor: String,
    /// A verb-noun such as `location.create`.
    pub action: String,
    pub target: String,
    /// `ok` or `error: <code>`.
    pub outcome: String,
    /// A JSON object with action-specific details; never secrets.
    pub details: String,
}

impl Store {
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO audit_events (at, actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(event.at)
        .bind(&event.actor)
        .bind(&event.action)
        .bind(&event.target)
        .bind(&event.outcome)
        .bind(&event.details)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The most recent events first.
    pub async fn recent_audit_events(&self, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<(i64, String, String, String, String, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT at, actor, action, target, outcome, details FROM audit_events ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(at, actor, action, target, outcome, details)| AuditEvent {
                at,
                actor,
                action,
                target,
                outcome,
                details,
            })
            .collect())
    }
}

//! Portal sign-in sessions, stored by the SHA-256 of their id so every replica shares them.

use crate::tx::with_tx;
use crate::{Store, StoreError, Tx, with_pool};

/// A session as stored (the id itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id_sha256: String,
    pub principal: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

type SessionTuple = (String, String, String, i64, i64);

impl Store {
    /// The session with this id hash, unless it expired before `now`.
    pub async fn session(
        &self,
        id_sha256: &str,
        now: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row: Option<SessionTuple> = with_pool!(self, pool =>
            sqlx::query_as("SELECT id_sha256, principal, csrf_token, created_at, expires_at FROM portal_sessions WHERE id_sha256 = $1 AND expires_at > $2")
                .bind(id_sha256).bind(now).fetch_optional(pool).await)?;
        Ok(row.map(
            |(id_sha256, principal, csrf_token, created_at, expires_at)| SessionRow {
                id_sha256,
                principal,
                csrf_token,
                created_at,
                expires_at,
            },
        ))
    }
}

impl Tx {
    /// Records a new session, and forgets every session that expired before it began.
    pub async fn insert_session(&mut self, session: &SessionRow) -> Result<(), StoreError> {
        with_tx!(self, conn => {
            sqlx::query("DELETE FROM portal_sessions WHERE expires_at <= $1")
                .bind(session.created_at).execute(&mut **conn).await?;
            sqlx::query("INSERT INTO portal_sessions (id_sha256, principal, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&session.id_sha256).bind(&session.principal).bind(&session.csrf_token)
                .bind(session.created_at).bind(session.expires_at).execute(&mut **conn).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Ends a session (sign-out); ending one that is gone is not an error.
    pub async fn delete_session(&mut self, id_sha256: &str) -> Result<(), StoreError> {
        with_tx!(self, conn =>
            sqlx::query("DELETE FROM portal_sessions WHERE id_sha256 = $1")
                .bind(id_sha256).execute(&mut **conn).await.map(|_| ()))?;
        Ok(())
    }
}

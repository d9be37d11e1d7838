//! Write transactions: [`Tx`], one type over both back ends, through which every mutation
//! writes, so a change, its audit record and its lease fence commit or roll back together.
//!
//! A SQLite transaction starts with `BEGIN IMMEDIATE`: it takes the write lock first, so two
//! writers queue on the busy timeout instead of one failing to upgrade a read snapshot.

use paved_model::access::{AuditRecord, Outcome};

use crate::lease::Lease;
use crate::{Store, StoreError, now_millis};

/// An open write transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    pub(crate) inner: TxInner,
    /// Audit records written in this transaction, marked recorded once it commits.
    audits: Vec<AuditRecord>,
}

pub(crate) enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Tx").finish_non_exhaustive()
    }
}

/// Runs the same code against whichever connection the transaction holds: `$conn` is a
/// `&mut Transaction` of the back end, so queries execute on `&mut **$conn`.
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match &mut $tx.inner {
            $crate::tx::TxInner::Sqlite($conn) => $body,
            $crate::tx::TxInner::Postgres($conn) => $body,
        }
    };
}
pub(crate) use with_tx;

impl Store {
    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match self {
            Store::Sqlite(pool) => TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            inner,
            audits: Vec::new(),
        })
    }

    /// Writes one audit record on its own: for refusals, and for calls whose change never
    /// committed (they failed before, or outside, the store).
    pub async fn record_audit(
        &self,
        record: &AuditRecord,
        outcome: &Outcome,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.audit(record, outcome).await?;
        tx.commit().await
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        for record in &self.audits {
            record.mark_recorded();
        }
        Ok(())
    }

    /// Writes `record` with `outcome` in this transaction: it is recorded exactly when the
    /// change it records commits.
    pub async fn audit(
        &mut self,
        record: &AuditRecord,
        outcome: &Outcome,
    ) -> Result<(), StoreError> {
        let details = record.details_text();
        let principal = record.principal.to_string();
        with_tx!(self, conn => sqlx::query(
            "INSERT INTO audit_events (at, principal, action, resource_kind, resource_name, resource_owner, \
             request_id, source, outcome, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(now_millis())
        .bind(&principal)
        .bind(record.action.as_str())
        .bind(record.resource.kind.as_str())
        .bind(&record.resource.name)
        .bind(record.resource.owner.as_deref())
        .bind(record.origin.request_id.as_deref())
        .bind(record.origin.source.as_deref())
        .bind(outcome.as_text())
        .bind(&details)
        .execute(&mut **conn)
        .await
        .map(|_| ()))?;
        self.audits.push(record.clone());
        Ok(())
    }

    /// Proves that `lease` is still held at `now`, and holds it until this transaction ends: every write
    /// a lease holder makes goes through a transaction that starts here, so a holder that lost
    /// its lease (expired, or taken by another replica with a newer generation) writes nothing.
    ///
    /// The check is itself a write on the lease's row, so it locks the row (PostgreSQL) or the
    /// database (SQLite) until commit: a replica taking the lease over waits for this
    /// transaction, then sees the expiry it checks.
    pub async fn fence(&mut self, lease: &Lease, now: i64) -> Result<(), StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE leases SET expires_at = expires_at WHERE name = $1 AND holder = $2 \
             AND generation = $3 AND expires_at >= $4",
        )
        .bind(&lease.name)
        .bind(lease.holder.as_str())
        .bind(lease.generation)
        .bind(now)
        .execute(&mut **conn)
        .await
        .map(|done| done.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::LeaseLost {
                name: lease.name.clone(),
                generation: lease.generation,
            });
        }
        Ok(())
    }
}

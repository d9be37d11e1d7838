//! [`Mutation`]: one audited change, as the application layer writes it.
//!
//! Every application function that changes state takes a `&Mutation`: it opens its write
//! transaction with [`Mutation::begin`] (fenced, when a lease holder writes) and ends it with
//! [`Mutation::commit`], which writes the audit record in the same transaction. So a change
//! and its audit record exist together or not at all.

use paved_model::access::{AuditRecord, Outcome};

use crate::lease::Lease;
use crate::{Store, StoreError, Tx};

/// A writer that holds a lease: its writes pass [`Tx::fence`].
pub trait Fence: Send + Sync {
    fn lease(&self) -> &Lease;
    /// Now, by the clock the lease is measured with.
    fn now(&self) -> i64;
}

/// One audited change: its audit record, and the fence of the lease its writer holds.
#[derive(Clone, Copy)]
pub struct Mutation<'a> {
    pub audit: &'a AuditRecord,
    pub fence: Option<&'a dyn Fence>,
}

impl std::fmt::Debug for Mutation<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Mutation")
            .field("audit", self.audit)
            .field("fenced", &self.fence.is_some())
            .finish()
    }
}

impl<'a> Mutation<'a> {
    pub fn new(audit: &'a AuditRecord) -> Mutation<'a> {
        Mutation { audit, fence: None }
    }

    pub fn fenced(audit: &'a AuditRecord, fence: &'a dyn Fence) -> Mutation<'a> {
        Mutation {
            audit,
            fence: Some(fence),
        }
    }

    /// Opens the change's write transaction, fenced if the writer holds a lease.
    pub async fn begin(&self, store: &Store) -> Result<Tx, StoreError> {
        let mut tx = store.begin().await?;
        if let Some(fence) = self.fence {
            tx.fence(fence.lease(), fence.now()).await?;
        }
        Ok(tx)
    }

    /// Writes the audit record (succeeded) and commits.
    pub async fn commit(&self, mut tx: Tx) -> Result<(), StoreError> {
        tx.audit(self.audit, &Outcome::Succeeded).await?;
        tx.commit().await
    }
}

//! Named leases with a fencing generation: the one mechanism by which a replica owns
//! something for a while (a job, a location's refresh, the local engine).
//!
//! # Guarantees
//! - At most one holder has an unexpired lease of a name at any time.
//! - Every acquisition gets a higher generation than any before it, also when the same
//!   replica takes its own lease back after a restart; so a writer holding an older
//!   generation is refused by [`crate::Tx::fence`] even if it still believes it holds the lease.
//! - A released lease can be taken at once; its generation is kept, never reset.
//!
//! # Assumptions
//! Replicas' clocks agree to well within a lease's time to live: expiry is compared against
//! each replica's own clock.

use std::time::Duration;

use paved_model::ids::ReplicaId;

use crate::tx::with_tx;
use crate::{Store, StoreError, with_pool};

/// A lease held by this replica: renew it before it expires, and fence writes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: ReplicaId,
    pub generation: i64,
    pub ttl: Duration,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Takes lease `name` for `holder` for `ttl`, if it is free, expired, or already
    /// `holder`'s (a restarted replica takes its own leases back at once). Each acquisition
    /// bumps the generation.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &ReplicaId,
        ttl: Duration,
        now: i64,
    ) -> Result<Option<Lease>, StoreError> {
        let mut tx = self.begin().await?;
        let lease = tx.acquire_lease(name, holder, ttl, now).await?;
        tx.commit().await?;
        Ok(lease)
    }

    /// Extends a held lease to `now + ttl`; false if it was lost (expired, or taken over).
    pub async fn renew_lease(&self, lease: &Lease, now: i64) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => sqlx::query(
            "UPDATE leases SET expires_at = $1 WHERE name = $2 AND holder = $3 AND generation = $4 \
             AND expires_at >= $5",
        )
        .bind(now.saturating_add(millis(lease.ttl)))
        .bind(&lease.name)
        .bind(lease.holder.as_str())
        .bind(lease.generation)
        .bind(now)
        .execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Gives a lease up, so another replica can take it at once. Keeps the row, so the next
    /// acquisition's generation is still higher.
    pub async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND generation = $3",
        )
        .bind(&lease.name).bind(lease.holder.as_str()).bind(lease.generation)
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The current holder and expiry of a lease, for status pages and tests.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<(String, i64, i64)>, StoreError> {
        let row = with_pool!(self, pool => sqlx::query_as(
            "SELECT holder, generation, expires_at FROM leases WHERE name = $1",
        ).bind(name).fetch_optional(pool).await)?;
        Ok(row)
    }
}

impl crate::Tx {
    /// [`Store::acquire_lease`] inside a transaction, so taking a lease and what it guards
    /// (a job's state) change together.
    pub async fn acquire_lease(
        &mut self,
        name: &str,
        holder: &ReplicaId,
        ttl: Duration,
        now: i64,
    ) -> Result<Option<Lease>, StoreError> {
        let generation: Option<(i64,)> = with_tx!(self, conn => sqlx::query_as(
            "INSERT INTO leases (name, holder, generation, expires_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             generation = leases.generation + 1, expires_at = excluded.expires_at \
             WHERE leases.expires_at < $4 OR leases.holder = excluded.holder \
             RETURNING generation",
        )
        .bind(name)
        .bind(holder.as_str())
        .bind(now.saturating_add(millis(ttl)))
        .bind(now)
        .fetch_optional(&mut **conn)
        .await)?;
        Ok(generation.map(|(generation,)| Lease {
            name: name.to_owned(),
            holder: holder.clone(),
            generation,
            ttl,
        }))
    }

    /// Removes a lease whose subject is gone for good (a finished job), after [`Tx::fence`].
    pub async fn drop_lease(&mut self, lease: &Lease) -> Result<(), StoreError> {
        with_tx!(self, conn => sqlx::query(
            "DELETE FROM leases WHERE name = $1 AND holder = $2 AND generation = $3",
        )
        .bind(&lease.name).bind(lease.holder.as_str()).bind(lease.generation)
        .execute(&mut **conn).await.map(|_| ()))?;
        Ok(())
    }
}

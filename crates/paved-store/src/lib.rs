//! Paved's store: the one source of truth, on SQLite (embedded default) or PostgreSQL.
//!
//! [`Store`] is a plain enum over the two pools rather than a trait: both back ends run the
//! same SQL text (`$1` placeholders work in both), so each query is written once and compiled
//! for both pools by [`with_pool!`]. Only the migrations differ, in `migrations/sqlite` and
//! `migrations/postgres`.
//!
//! The catalog tables carry a global `revision` counter, bumped by every write transaction,
//! so any replica can follow changes with [`Store::entity_changes_since`].
//!
//! Every write goes through a [`Tx`] (`Store::begin`), so a change, its audit record and the
//! fence of the lease its writer holds commit together ([`Tx::audit`], [`Tx::fence`]).
//! [`Lease`]s are the one ownership mechanism across replicas (jobs, location refreshes, the
//! local engine).
//!
//! This crate is the only one with SQL. Start reading at [`Store::open`].

mod audit;
mod catalog;
mod engine;
mod engine_services;
mod error;
mod jobs;
mod lease;
mod mutation;
mod services;
mod sessions;
mod templates;
mod tx;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use crate::audit::{AuditEventRow, AuditFilter};
pub use crate::catalog::{
    EntityChanges, EntityRow, EntityWrite, LocationRow, LocationSync, NewLocation,
};
pub use crate::engine::{EcsClusterRow, EcsTaskDefinitionRow};
pub use crate::engine_services::{
    EcsServiceEventRow, EcsServiceRow, EcsTaskFilter, EcsTaskProgress, EcsTaskRow,
};
pub use crate::error::StoreError;
pub use crate::jobs::{JobEventRow, JobFilter, JobRow, NewJob, job_lease_name};
pub use crate::lease::Lease;
pub use crate::mutation::{Fence, Mutation};
pub use crate::services::ServiceRow;
pub use crate::sessions::SessionRow;
pub use crate::templates::{TemplateRow, TemplateSyncRow, TemplateVersionRow};
pub use crate::tx::Tx;

/// Where the store keeps its data.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// A SQLite database file (created with its directory if missing), in WAL mode.
    Sqlite { path: std::path::PathBuf },
    /// A PostgreSQL URL, `postgres://user@host:port/database`.
    Postgres { url: String },
}

/// A handle to the store; cheap to clone.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same code against whichever pool the store holds.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::Store::Sqlite($pool) => $body,
            $crate::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

impl Store {
    /// Connects, creating the SQLite file if needed, and applies pending migrations.
    pub async fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        let store = match config {
            StoreConfig::Sqlite { path } => Store::Sqlite(open_sqlite(path).await?),
            StoreConfig::Postgres { url } => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(|source| StoreError::Connect {
                        target: redact_url(url),
                        source,
                    })?;
                Store::Postgres(pool)
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await?,
            Store::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// `sqlite` or `postgres`, for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    /// Reads a setting (a small named value such as the admin token's hash).
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let value: Option<(String,)> = with_pool!(self, pool =>
            sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(pool).await)?;
        Ok(value.map(|(value,)| value))
    }

    /// Writes a setting unless it is already set; returns the value in force.
    pub async fn ensure_setting(&self, key: &str, value: &str) -> Result<String, StoreError> {
        with_pool!(self, pool =>
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key).bind(value).execute(pool).await.map(|_| ()))?;
        Ok(self.setting(key).await?.unwrap_or_else(|| value.to_owned()))
    }
}

async fn open_sqlite(path: &Path) -> Result<SqlitePool, StoreError> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDirectory {
            path: parent.to_owned(),
            source,
        })?;
    }
    let options = SqliteConnectOptions::from_str("sqlite:")
        .map_err(|source| StoreError::Connect {
            target: path.display().to_string(),
            source,
        })?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Checkpoint the WAL every ~32 MiB rather than every 4 MiB: a large refresh then
        // commits without stopping for checkpoints halfway.
        .pragma("wal_autocheckpoint", "8192");
    SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect {
            target: path.display().to_string(),
            source,
        })
}

/// The URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Milliseconds since the Unix epoch, the store's one time format.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact_url("postgres://h/db"), "postgres://h/db");
    }
}

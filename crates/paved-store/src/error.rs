//! The store's error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to the database `{target}`: {source}")]
    Connect { target: String, source: sqlx::Error },
    #[error("cannot create the data directory `{}`: {source}", path.display())]
    CreateDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored value in `{table}` is corrupt: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
    #[error("a location of type `{location_type}` with target `{target}` already exists")]
    LocationExists {
        location_type: String,
        target: String,
    },
    #[error("version {version} of template `{template}` already exists")]
    VersionExists { template: String, version: String },
    #[error("`{subject}` is busy with another job")]
    SubjectBusy { subject: String },
    #[error(
        "lease `{name}` (generation {generation}) was lost: another replica took it over or it expired"
    )]
    LeaseLost { name: String, generation: i64 },
}

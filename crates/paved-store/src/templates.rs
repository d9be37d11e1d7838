//! Template tables: templates, their versions with the bundle of each, and sync sources.

use crate::tx::with_tx;
use crate::{Store, StoreError, Tx, with_pool};

/// A template as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    pub name: String,
    /// `environment` or `service`.
    pub kind: String,
    pub title: Option<String>,
    pub description: String,
    /// An entity reference, `group:default/platform`.
    pub owner: String,
    pub tags: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One version of a template, without its bundle (read with [`Store::template_bundle`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateVersionRow {
    pub template: String,
    pub major: u32,
    pub minor: u32,
    /// `draft`, `published` or `withdrawn`.
    pub status: String,
    /// `paved` or `proton`.
    pub format: String,
    /// `cloudformation` or `terraform`.
    pub engine: String,
    /// SHA-256 of the bundle's files.
    pub digest: String,
    /// Where the bundle came from: `archive`, `builtin`, `git:REPO#ref=..@COMMIT`, ...
    pub source: String,
    pub description: String,
    /// JSON list of `{template, major}`.
    pub compatible_environments: String,
    /// The instance input schema (JSON Schema, as JSON text).
    pub schema: String,
    pub pipeline_schema: Option<String>,
    pub created_at: i64,
    pub published_at: Option<i64>,
    pub withdrawn_at: Option<i64>,
    pub withdrawn_reason: Option<String>,
}

/// A git repository synced into templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSyncRow {
    pub id: String,
    pub repository: String,
    /// The branch, tag or commit; empty for the default branch.
    pub reference: String,
    pub created_at: i64,
    pub last_commit: Option<String>,
    pub last_synced_at: Option<i64>,
    /// JSON list of problems found at the last sync.
    pub problems: String,
}

const VERSION_COLUMNS: &str = "template, major, minor, status, format, engine, digest, source, description, \
     compatible_environments, schema, pipeline_schema, created_at, published_at, withdrawn_at, withdrawn_reason";
const SYNC_COLUMNS: &str =
    "id, repository, reference, created_at, last_commit, last_synced_at, problems";

type TemplateTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    i64,
    i64,
);
type VersionTuple = (
    String,
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);
type SyncTuple = (
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    String,
);

fn template_from(row: TemplateTuple) -> Result<TemplateRow, StoreError> {
    let (name, kind, title, description, owner, tags, created_at, updated_at) = row;
    let tags = serde_json::from_str(&tags).map_err(|error| StoreError::Corrupt {
        table: "templates",
        message: format!("tags of `{name}`: {error}"),
    })?;
    Ok(TemplateRow {
        name,
        kind,
        title,
        description,
        owner,
        tags,
        created_at,
        updated_at,
    })
}

fn version_from(row: VersionTuple) -> TemplateVersionRow {
    let (
        template,
        major,
        minor,
        status,
        format,
        engine,
        digest,
        source,
        description,
        compatible_environments,
        schema,
        pipeline_schema,
        created_at,
        published_at,
        withdrawn_at,
        withdrawn_reason,
    ) = row;
    TemplateVersionRow {
        template,
        major: major as u32,
        minor: minor as u32,
        status,
        format,
        engine,
        digest,
        source,
        description,
        compatible_environments,
        schema,
        pipeline_schema,
        created_at,
        published_at,
        withdrawn_at,
        withdrawn_reason,
    }
}

fn sync_from(row: SyncTuple) -> TemplateSyncRow {
    let (id, repository, reference, created_at, last_commit, last_synced_at, problems) = row;
    TemplateSyncRow {
        id,
        repository,
        reference,
        created_at,
        last_commit,
        last_synced_at,
        problems,
    }
}

impl Store {
    /// Every template, by name.
    pub async fn templates(&self) -> Result<Vec<TemplateRow>, StoreError> {
        let rows: Vec<TemplateTuple> = with_pool!(self, pool => sqlx::query_as(
            "SELECT name, kind, title, description, owner, tags, created_at, updated_at FROM templates ORDER BY name",
        ).fetch_all(pool).await)?;
        rows.into_iter().map(template_from).collect()
    }

    pub async fn template(&self, name: &str) -> Result<Option<TemplateRow>, StoreError> {
        let row: Option<TemplateTuple> = with_pool!(self, pool => sqlx::query_as(
            "SELECT name, kind, title, description, owner, tags, created_at, updated_at FROM templates WHERE name = $1",
        ).bind(name).fetch_optional(pool).await)?;
        row.map(template_from).transpose()
    }

    /// The versions of one template, or of every template when `name` is `None`, ordered by
    /// template and version.
    pub async fn template_versions(
        &self,
        name: Option<&str>,
    ) -> Result<Vec<TemplateVersionRow>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM template_versions WHERE ($1 IS NULL OR template = $1) \
             ORDER BY template, major, minor"
        );
        let rows: Vec<VersionTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(version_from).collect())
    }

    /// The bundle (a `.tar.gz` of its files) of one version.
    pub async fn template_bundle(
        &self,
        name: &str,
        major: u32,
        minor: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>,)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT bundle FROM template_versions WHERE template = $1 AND major = $2 AND minor = $3",
        ).bind(name).bind(i64::from(major)).bind(i64::from(minor)).fetch_optional(pool).await)?;
        Ok(row.map(|(bundle,)| bundle))
    }

    pub async fn template_syncs(&self) -> Result<Vec<TemplateSyncRow>, StoreError> {
        let sql = format!("SELECT {SYNC_COLUMNS} FROM template_syncs ORDER BY created_at, id");
        let rows: Vec<SyncTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(sync_from).collect())
    }

    pub async fn template_sync(&self, id: &str) -> Result<Option<TemplateSyncRow>, StoreError> {
        let sql = format!("SELECT {SYNC_COLUMNS} FROM template_syncs WHERE id = $1");
        let row: Option<SyncTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(sync_from))
    }
}

impl Tx {
    /// Stores a new version and creates or updates its template, in the transaction. Refuses
    /// a version number that exists ([`StoreError::VersionExists`]): two replicas registering
    /// at once cannot both take the same number.
    pub async fn insert_template_version(
        &mut self,
        template: &TemplateRow,
        version: &TemplateVersionRow,
        bundle: &[u8],
    ) -> Result<(), StoreError> {
        let tags = serde_json::to_string(&template.tags).expect("strings serialise");
        let sql = format!(
            "INSERT INTO template_versions ({VERSION_COLUMNS}, bundle) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (template, major, minor) DO NOTHING"
        );
        let inserted = with_tx!(self, tx => async {
            sqlx::query(
                "INSERT INTO templates (name, kind, title, description, owner, tags, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO UPDATE SET \
                 title = excluded.title, description = excluded.description, owner = excluded.owner, \
                 tags = excluded.tags, updated_at = excluded.updated_at",
            )
            .bind(&template.name).bind(&template.kind).bind(&template.title).bind(&template.description)
            .bind(&template.owner).bind(&tags).bind(template.created_at).bind(template.updated_at)
            .execute(&mut **tx).await?;
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&version.template).bind(i64::from(version.major)).bind(i64::from(version.minor))
                .bind(&version.status).bind(&version.format).bind(&version.engine).bind(&version.digest)
                .bind(&version.source).bind(&version.description).bind(&version.compatible_environments)
                .bind(&version.schema).bind(&version.pipeline_schema).bind(version.created_at)
                .bind(version.published_at).bind(version.withdrawn_at).bind(&version.withdrawn_reason)
                .bind(bundle)
                .execute(&mut **tx).await?;
            Ok::<_, sqlx::Error>(done.rows_affected() > 0)
        }.await)?;
        if !inserted {
            return Err(StoreError::VersionExists {
                template: version.template.clone(),
                version: format!("{}.{}", version.major, version.minor),
            });
        }
        Ok(())
    }

    /// Sets a version's status (`published`, `withdrawn`, back to `published`), with the time
    /// and, for a withdrawal, the reason. Returns false if the version does not exist.
    pub async fn set_template_version_status(
        &mut self,
        name: &str,
        major: u32,
        minor: u32,
        status: &str,
        at: i64,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE template_versions SET status = $1, \
             published_at = CASE WHEN $1 = 'published' THEN COALESCE(published_at, $2) ELSE published_at END, \
             withdrawn_at = CASE WHEN $1 = 'withdrawn' THEN $2 ELSE NULL END, \
             withdrawn_reason = CASE WHEN $1 = 'withdrawn' THEN $3 ELSE NULL END \
             WHERE template = $4 AND major = $5 AND minor = $6",
        )
        .bind(status).bind(at).bind(reason).bind(name).bind(i64::from(major)).bind(i64::from(minor))
        .execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Registers a sync source, or returns the existing one for the same repository and
    /// reference.
    pub async fn ensure_template_sync(
        &mut self,
        id: &str,
        repository: &str,
        reference: &str,
        now: i64,
    ) -> Result<TemplateSyncRow, StoreError> {
        with_tx!(self, conn => sqlx::query(
            "INSERT INTO template_syncs (id, repository, reference, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (repository, reference) DO NOTHING",
        ).bind(id).bind(repository).bind(reference).bind(now).execute(&mut **conn).await.map(|_| ()))?;
        let sql = format!(
            "SELECT {SYNC_COLUMNS} FROM template_syncs WHERE repository = $1 AND reference = $2"
        );
        let row: SyncTuple = with_tx!(self, conn =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(repository).bind(reference).fetch_one(&mut **conn).await)?;
        Ok(sync_from(row))
    }

    /// Records the outcome of a sync run.
    pub async fn record_template_sync(
        &mut self,
        id: &str,
        commit: Option<&str>,
        at: i64,
        problems: &str,
    ) -> Result<(), StoreError> {
        with_tx!(self, conn => sqlx::query(
            "UPDATE template_syncs SET last_commit = COALESCE($1, last_commit), last_synced_at = $2, problems = $3 WHERE id = $4",
        ).bind(commit).bind(at).bind(problems).bind(id).execute(&mut **conn).await.map(|_| ()))?;
        Ok(())
    }

    /// Replaces a sync source's repository with `repository` (the same URL without its
    /// credentials). When another source already has that repository and reference, this
    /// one is a duplicate and is removed instead. Idempotent.
    pub async fn redact_template_sync_repository(
        &mut self,
        id: &str,
        repository: &str,
    ) -> Result<(), StoreError> {
        let updated = with_tx!(self, conn => sqlx::query(
            "UPDATE template_syncs SET repository = $1 WHERE id = $2 AND NOT EXISTS \
             (SELECT 1 FROM template_syncs AS other WHERE other.repository = $1 \
              AND other.reference = template_syncs.reference AND other.id <> $2)",
        ).bind(repository).bind(id).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        if updated == 0 {
            with_tx!(self, conn => sqlx::query(
                "DELETE FROM template_syncs WHERE id = $1 AND repository <> $2",
            ).bind(id).bind(repository).execute(&mut **conn).await.map(|_| ()))?;
        }
        Ok(())
    }

    /// Forgets a sync source (the versions it registered stay). False if it did not exist.
    pub async fn delete_template_sync(&mut self, id: &str) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query("DELETE FROM template_syncs WHERE id = $1")
            .bind(id).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }
}

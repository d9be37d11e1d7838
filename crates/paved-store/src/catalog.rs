//! Catalog tables: locations, entities, tombstones and the revision counter.

use paved_model::ids::LocationId;
use paved_model::problem::Problem;

use crate::tx::with_tx;
use crate::{Store, StoreError, Tx, with_pool};

/// A registered location as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationRow {
    pub id: LocationId,
    pub location_type: String,
    pub target: String,
    pub created_at: i64,
    pub refreshed_at: Option<i64>,
    pub next_refresh_at: i64,
    /// Problems found at the last refresh, per file and document.
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone)]
pub struct NewLocation {
    pub id: LocationId,
    pub location_type: String,
    pub target: String,
    pub created_at: i64,
}

impl NewLocation {
    /// The location as it reads once inserted (never refreshed yet).
    pub fn row(&self) -> LocationRow {
        LocationRow {
            id: self.id.clone(),
            location_type: self.location_type.clone(),
            target: self.target.clone(),
            created_at: self.created_at,
            refreshed_at: None,
            next_refresh_at: self.created_at,
            problems: Vec::new(),
        }
    }
}

/// An entity as stored: its canonical reference, the JSON body (without relations, which are
/// derived) and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRow {
    pub entity_ref: String,
    pub uid: String,
    pub location_id: Option<LocationId>,
    /// The file (or URL) inside the location that produced the entity.
    pub source: String,
    pub body: String,
    /// A hash of the source document and location, to skip unchanged entities on refresh.
    pub content_hash: String,
    pub orphaned_at: Option<i64>,
    pub revision: i64,
}

/// An entity to insert or replace.
#[derive(Debug, Clone)]
pub struct EntityWrite {
    pub entity_ref: String,
    pub uid: String,
    pub source: String,
    pub body: String,
    pub content_hash: String,
    pub orphaned_at: Option<i64>,
}

/// The outcome of refreshing one location, applied in one transaction.
#[derive(Debug, Clone, Default)]
pub struct LocationSync {
    pub location_id: Option<LocationId>,
    pub upserts: Vec<EntityWrite>,
    pub deletes: Vec<String>,
    pub problems: Vec<Problem>,
    pub refreshed_at: i64,
    pub next_refresh_at: i64,
}

/// What changed after a revision: rows written and references deleted.
#[derive(Debug, Default)]
pub struct EntityChanges {
    pub revision: i64,
    pub upserted: Vec<EntityRow>,
    pub deleted: Vec<String>,
}

type LocationTuple = (String, String, String, i64, Option<i64>, i64, String);
type EntityTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<i64>,
    i64,
);

const LOCATION_COLUMNS: &str =
    "id, type, target, created_at, refreshed_at, next_refresh_at, problems";
const ENTITY_COLUMNS: &str =
    "entity_ref, uid, location_id, source, body, content_hash, orphaned_at, revision";
/// Rows per multi-row INSERT: 6 parameters each, well under both back ends' limits.
const UPSERT_BATCH: usize = 500;

fn location_from(row: LocationTuple) -> Result<LocationRow, StoreError> {
    let (id, location_type, target, created_at, refreshed_at, next_refresh_at, problems) = row;
    let problems = serde_json::from_str(&problems).map_err(|error| StoreError::Corrupt {
        table: "locations",
        message: format!("problems of `{id}`: {error}"),
    })?;
    Ok(LocationRow {
        id: LocationId(id),
        location_type,
        target,
        created_at,
        refreshed_at,
        next_refresh_at,
        problems,
    })
}

fn entity_from(row: EntityTuple) -> EntityRow {
    let (entity_ref, uid, location_id, source, body, content_hash, orphaned_at, revision) = row;
    EntityRow {
        entity_ref,
        uid,
        location_id: location_id.map(LocationId),
        source,
        body,
        content_hash,
        orphaned_at,
        revision,
    }
}

impl Store {
    pub async fn locations(&self) -> Result<Vec<LocationRow>, StoreError> {
        let sql = format!("SELECT {LOCATION_COLUMNS} FROM locations ORDER BY created_at, id");
        let rows: Vec<LocationTuple> = with_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        rows.into_iter().map(location_from).collect()
    }

    /// Locations whose next refresh is due at `now`, most overdue first.
    pub async fn due_locations(&self, now: i64) -> Result<Vec<LocationRow>, StoreError> {
        let sql = format!(
            "SELECT {LOCATION_COLUMNS} FROM locations WHERE next_refresh_at <= $1 ORDER BY next_refresh_at, id"
        );
        let rows: Vec<LocationTuple> = with_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).fetch_all(pool).await)?;
        rows.into_iter().map(location_from).collect()
    }

    /// The location with this type and target, if registered.
    pub async fn location_by_target(
        &self,
        location_type: &str,
        target: &str,
    ) -> Result<Option<LocationRow>, StoreError> {
        let sql =
            format!("SELECT {LOCATION_COLUMNS} FROM locations WHERE type = $1 AND target = $2");
        let row: Option<LocationTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(location_type).bind(target).fetch_optional(pool).await)?;
        row.map(location_from).transpose()
    }

    pub async fn location(&self, id: &LocationId) -> Result<Option<LocationRow>, StoreError> {
        let sql = format!("SELECT {LOCATION_COLUMNS} FROM locations WHERE id = $1");
        let row: Option<LocationTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(pool).await)?;
        row.map(location_from).transpose()
    }

    /// Every entity, for building in-memory indexes at start.
    pub async fn entities(&self) -> Result<(i64, Vec<EntityRow>), StoreError> {
        let sql = format!("SELECT {ENTITY_COLUMNS} FROM entities");
        let (revision, rows) = with_pool!(self, pool => {
            // One transaction so the revision and the rows agree.
            let mut tx = pool.begin().await?;
            let (revision,): (i64,) = sqlx::query_as("SELECT value FROM catalog_revision WHERE id = 1").fetch_one(&mut *tx).await?;
            let rows: Vec<EntityTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>((revision, rows))
        })?;
        Ok((revision, rows.into_iter().map(entity_from).collect()))
    }

    /// Entities written and deleted after `revision`, and the revision they bring the reader to.
    pub async fn entity_changes_since(&self, revision: i64) -> Result<EntityChanges, StoreError> {
        let sql = format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE revision > $1");
        let (current, rows, deleted) = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (current,): (i64,) = sqlx::query_as("SELECT value FROM catalog_revision WHERE id = 1").fetch_one(&mut *tx).await?;
            let rows: Vec<EntityTuple> = if current > revision {
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(revision).fetch_all(&mut *tx).await?
            } else {
                Vec::new()
            };
            let deleted: Vec<(String,)> = if current > revision {
                sqlx::query_as("SELECT entity_ref FROM entity_tombstones WHERE revision > $1").bind(revision).fetch_all(&mut *tx).await?
            } else {
                Vec::new()
            };
            tx.commit().await?;
            Ok::<_, sqlx::Error>((current, rows, deleted))
        })?;
        Ok(EntityChanges {
            revision: current,
            upserted: rows.into_iter().map(entity_from).collect(),
            deleted: deleted
                .into_iter()
                .map(|(entity_ref,)| entity_ref)
                .collect(),
        })
    }
}

impl Tx {
    /// Registers a location; refuses a second one with the same type and target.
    pub async fn insert_location(
        &mut self,
        location: &NewLocation,
    ) -> Result<LocationRow, StoreError> {
        let result = with_tx!(self, conn => sqlx::query(
            "INSERT INTO locations (id, type, target, created_at, next_refresh_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (type, target) DO NOTHING",
        )
        .bind(location.id.as_str())
        .bind(&location.location_type)
        .bind(&location.target)
        .bind(location.created_at)
        .execute(&mut **conn)
        .await
        .map(|done| done.rows_affected()))?;
        if result == 0 {
            return Err(StoreError::LocationExists {
                location_type: location.location_type.clone(),
                target: location.target.clone(),
            });
        }
        Ok(location.row())
    }

    /// Deletes a location and every entity it produced; returns false if it did not exist.
    pub async fn delete_location(&mut self, id: &LocationId) -> Result<bool, StoreError> {
        let deleted = with_tx!(self, tx => {
            let revision: (i64,) = sqlx::query_as("UPDATE catalog_revision SET value = value + 1 WHERE id = 1 RETURNING value")
                .fetch_one(&mut **tx).await?;
            sqlx::query(
                "INSERT INTO entity_tombstones (entity_ref, revision) SELECT entity_ref, $1 FROM entities WHERE location_id = $2 \
                 ON CONFLICT (entity_ref) DO UPDATE SET revision = excluded.revision",
            )
            .bind(revision.0).bind(id.as_str()).execute(&mut **tx).await?;
            sqlx::query("DELETE FROM entities WHERE location_id = $1").bind(id.as_str()).execute(&mut **tx).await?;
            let done = sqlx::query("DELETE FROM locations WHERE id = $1").bind(id.as_str()).execute(&mut **tx).await?;
            Ok::<_, sqlx::Error>(done.rows_affected() > 0)
        })?;
        Ok(deleted)
    }

    /// Applies one refresh: upserts, deletions (with tombstones), and
    /// the location's problems and schedule. Returns the new catalog revision.
    ///
    /// An upsert never takes an entity from another location: such rows are left as they are.
    pub async fn sync_location(&mut self, sync: &LocationSync) -> Result<i64, StoreError> {
        let location_id = sync.location_id.as_ref().map(LocationId::as_str);
        let problems = serde_json::to_string(&sync.problems).expect("problems serialize to JSON");
        let revision = with_tx!(self, tx => {
            let (revision,): (i64,) = sqlx::query_as("UPDATE catalog_revision SET value = value + 1 WHERE id = 1 RETURNING value")
                .fetch_one(&mut **tx).await?;
            for batch in sync.upserts.chunks(UPSERT_BATCH) {
                let mut builder = sqlx::QueryBuilder::new(
                    "INSERT INTO entities (entity_ref, uid, location_id, source, body, content_hash, orphaned_at, revision, updated_at) ",
                );
                builder.push_values(batch, |mut row, entity| {
                    row.push_bind(&entity.entity_ref)
                        .push_bind(&entity.uid)
                        .push_bind(location_id)
                        .push_bind(&entity.source)
                        .push_bind(&entity.body)
                        .push_bind(&entity.content_hash)
                        .push_bind(entity.orphaned_at)
                        .push_bind(revision)
                        .push_bind(sync.refreshed_at);
                });
                builder.push(
                    " ON CONFLICT (entity_ref) DO UPDATE SET source = excluded.source, body = excluded.body, \
                     content_hash = excluded.content_hash, orphaned_at = excluded.orphaned_at, \
                     revision = excluded.revision, updated_at = excluded.updated_at \
                     WHERE entities.location_id IS NOT DISTINCT FROM excluded.location_id",
                );
                builder.build().execute(&mut **tx).await?;
                let mut tombstones = sqlx::QueryBuilder::new("DELETE FROM entity_tombstones WHERE entity_ref IN ");
                tombstones.push_tuples(batch, |mut row, entity| {
                    row.push_bind(&entity.entity_ref);
                });
                tombstones.build().execute(&mut **tx).await?;
            }
            for batch in sync.deletes.chunks(UPSERT_BATCH) {
                let mut tombstones = sqlx::QueryBuilder::new("INSERT INTO entity_tombstones (entity_ref, revision) ");
                tombstones.push_values(batch, |mut row, entity_ref| {
                    row.push_bind(entity_ref).push_bind(revision);
                });
                tombstones.push(" ON CONFLICT (entity_ref) DO UPDATE SET revision = excluded.revision");
                tombstones.build().execute(&mut **tx).await?;
                let mut delete = sqlx::QueryBuilder::new("DELETE FROM entities WHERE location_id IS NOT DISTINCT FROM ");
                delete.push_bind(location_id);
                delete.push(" AND entity_ref IN ");
                delete.push_tuples(batch, |mut row, entity_ref| {
                    row.push_bind(entity_ref);
                });
                delete.build().execute(&mut **tx).await?;
            }
            if let Some(location_id) = location_id {
                sqlx::query(
                    "UPDATE locations SET problems = $1, refreshed_at = $2, next_refresh_at = $3 \
                     WHERE id = $4",
                )
                .bind(&problems).bind(sync.refreshed_at).bind(sync.next_refresh_at).bind(location_id)
                .execute(&mut **tx).await?;
            }
            Ok::<_, sqlx::Error>(revision)
        })?;
        Ok(revision)
    }
}

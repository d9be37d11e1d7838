//! The engine's tables: ECS clusters and task definitions (`family:revision`).
//!
//! Bodies and tags are JSON text written and read by `paved-engine-local`; this module only stores
//! them. Revisions are numbered by the insert itself, so two replicas registering the same
//! family at once cannot both take a number (the primary key refuses the second, which retries).

use crate::tx::with_tx;
use crate::{Mutation, Store, StoreError, Tx, with_pool};

/// An ECS cluster as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsClusterRow {
    pub name: String,
    pub arn: String,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// JSON list of `{key, value}`.
    pub tags: String,
    pub created_at: i64,
}

/// One revision of an ECS task definition as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsTaskDefinitionRow {
    pub family: String,
    pub revision: i64,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// The full TaskDefinition as the API returns it (JSON).
    pub body: String,
    /// JSON list of `{key, value}`.
    pub tags: String,
    pub registered_at: i64,
    pub deregistered_at: Option<i64>,
}

const CLUSTER_COLUMNS: &str = "name, arn, status, tags, created_at";
const TASK_DEFINITION_COLUMNS: &str =
    "family, revision, status, body, tags, registered_at, deregistered_at";

type ClusterTuple = (String, String, String, String, i64);
type TaskDefinitionTuple = (String, i64, String, String, String, i64, Option<i64>);

fn cluster_from(row: ClusterTuple) -> EcsClusterRow {
    let (name, arn, status, tags, created_at) = row;
    EcsClusterRow {
        name,
        arn,
        status,
        tags,
        created_at,
    }
}

fn task_definition_from(row: TaskDefinitionTuple) -> EcsTaskDefinitionRow {
    let (family, revision, status, body, tags, registered_at, deregistered_at) = row;
    EcsTaskDefinitionRow {
        family,
        revision,
        status,
        body,
        tags,
        registered_at,
        deregistered_at,
    }
}

/// How many times a registration retries after losing a revision number to another replica.
const REVISION_ATTEMPTS: usize = 8;

impl Store {
    /// [`Tx::ensure_ecs_cluster`] on its own (the default cluster, made on demand).
    pub async fn ensure_ecs_cluster(
        &self,
        cluster: &EcsClusterRow,
    ) -> Result<EcsClusterRow, StoreError> {
        let mut tx = self.begin().await?;
        let row = tx.ensure_ecs_cluster(cluster).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn ecs_cluster(&self, name: &str) -> Result<Option<EcsClusterRow>, StoreError> {
        let sql = format!("SELECT {CLUSTER_COLUMNS} FROM ecs_clusters WHERE name = $1");
        let row: Option<ClusterTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(pool).await)?;
        Ok(row.map(cluster_from))
    }

    /// Clusters with `status` (every cluster when `None`), by name.
    pub async fn ecs_clusters(
        &self,
        status: Option<&str>,
    ) -> Result<Vec<EcsClusterRow>, StoreError> {
        let sql = format!(
            "SELECT {CLUSTER_COLUMNS} FROM ecs_clusters WHERE ($1 IS NULL OR status = $1) ORDER BY name"
        );
        let rows: Vec<ClusterTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(status).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(cluster_from).collect())
    }

    /// Registers the next revision of `family` as `mutation` (its audit record in the same
    /// transaction): the insert takes `MAX(revision) + 1` and `body` (given the revision) is
    /// written in the same transaction. Registrations of one family take turns; should another
    /// writer still take the number first, the primary key refuses this one and the whole
    /// transaction is tried again.
    pub async fn insert_ecs_task_definition(
        &self,
        mutation: &Mutation<'_>,
        family: &str,
        tags: &str,
        registered_at: i64,
        body: impl Fn(i64) -> String,
    ) -> Result<EcsTaskDefinitionRow, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = mutation.begin(self).await?;
            // PostgreSQL: registrations of one family take turns (a lock held until the
            // transaction ends), so concurrent ones do not all compute the same next number
            // and exhaust their retries. SQLite's write transactions already take turns.
            if let crate::tx::TxInner::Postgres(conn) = &mut tx.inner {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(family)
                    .execute(&mut **conn)
                    .await?;
            }
            let inserted: Result<(i64,), sqlx::Error> = with_tx!(tx, conn => sqlx::query_as(
                "INSERT INTO ecs_task_definitions (family, revision, status, body, tags, registered_at) \
                 SELECT $1, COALESCE(MAX(revision), 0) + 1, 'ACTIVE', '{}', $2, $3 \
                 FROM ecs_task_definitions WHERE family = $1 RETURNING revision",
            )
            .bind(family).bind(tags).bind(registered_at)
            .fetch_one(&mut **conn).await);
            let revision = match inserted {
                Ok((revision,)) => revision,
                Err(sqlx::Error::Database(error))
                    if error.is_unique_violation() && attempt < REVISION_ATTEMPTS =>
                {
                    tracing::debug!(
                        family,
                        attempt,
                        "revision taken by another writer; retrying"
                    );
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let text = body(revision);
            with_tx!(tx, conn => sqlx::query(
                "UPDATE ecs_task_definitions SET body = $1 WHERE family = $2 AND revision = $3",
            )
            .bind(&text).bind(family).bind(revision)
            .execute(&mut **conn).await.map(|_| ()))?;
            mutation.commit(tx).await?;
            return Ok(EcsTaskDefinitionRow {
                family: family.to_owned(),
                revision,
                status: "ACTIVE".to_owned(),
                body: text,
                tags: tags.to_owned(),
                registered_at,
                deregistered_at: None,
            });
        }
    }

    pub async fn ecs_task_definition(
        &self,
        family: &str,
        revision: i64,
    ) -> Result<Option<EcsTaskDefinitionRow>, StoreError> {
        let sql = format!(
            "SELECT {TASK_DEFINITION_COLUMNS} FROM ecs_task_definitions WHERE family = $1 AND revision = $2"
        );
        let row: Option<TaskDefinitionTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(family).bind(revision).fetch_optional(pool).await)?;
        Ok(row.map(task_definition_from))
    }

    /// The highest `ACTIVE` revision of a family.
    pub async fn latest_active_ecs_task_definition(
        &self,
        family: &str,
    ) -> Result<Option<EcsTaskDefinitionRow>, StoreError> {
        let sql = format!(
            "SELECT {TASK_DEFINITION_COLUMNS} FROM ecs_task_definitions \
             WHERE family = $1 AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1"
        );
        let row: Option<TaskDefinitionTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(family).fetch_optional(pool).await)?;
        Ok(row.map(task_definition_from))
    }

    /// `(family, revision, status)` of the revisions whose family starts with `family_prefix`
    /// (all when `None`) and whose status is `status` (any when `None`), by family and revision.
    pub async fn ecs_task_definition_keys(
        &self,
        family_prefix: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<(String, i64, String)>, StoreError> {
        // `substr` rather than LIKE: `_` is a LIKE wildcard and valid in family names.
        let rows: Vec<(String, i64, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT family, revision, status FROM ecs_task_definitions \
             WHERE ($1 IS NULL OR substr(family, 1, length(CAST($1 AS TEXT))) = $1) \
             AND ($2 IS NULL OR status = $2) ORDER BY family, revision",
        ).bind(family_prefix).bind(status).fetch_all(pool).await)?;
        Ok(rows)
    }
}

/// The same writes inside a caller's transaction (with its audit record).
impl Tx {
    /// Creates a cluster, or makes an `INACTIVE` one active again (with the new tags); an
    /// active cluster of that name is left as it is (CreateCluster is idempotent in ECS).
    /// Returns the cluster in force.
    pub async fn ensure_ecs_cluster(
        &mut self,
        cluster: &EcsClusterRow,
    ) -> Result<EcsClusterRow, StoreError> {
        with_tx!(self, conn => sqlx::query(
            "INSERT INTO ecs_clusters (name, arn, status, tags, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET status = excluded.status, tags = excluded.tags, \
             created_at = excluded.created_at WHERE ecs_clusters.status = 'INACTIVE'",
        )
        .bind(&cluster.name).bind(&cluster.arn).bind(&cluster.status).bind(&cluster.tags)
        .bind(cluster.created_at)
        .execute(&mut **conn).await.map(|_| ()))?;
        let sql = format!("SELECT {CLUSTER_COLUMNS} FROM ecs_clusters WHERE name = $1");
        let row: Option<ClusterTuple> = with_tx!(self, conn =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&cluster.name).fetch_optional(&mut **conn).await)?;
        row.map(cluster_from).ok_or_else(|| StoreError::Corrupt {
            table: "ecs_clusters",
            message: format!("cluster `{}` vanished after its insert", cluster.name),
        })
    }

    /// Sets a cluster's status; false if it does not exist.
    pub async fn set_ecs_cluster_status(
        &mut self,
        name: &str,
        status: &str,
    ) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE ecs_clusters SET status = $1 WHERE name = $2",
        ).bind(status).bind(name).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Replaces a cluster's tags (JSON); false if it does not exist.
    pub async fn set_ecs_cluster_tags(
        &mut self,
        name: &str,
        tags: &str,
    ) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE ecs_clusters SET tags = $1 WHERE name = $2",
        ).bind(tags).bind(name).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Marks a revision `INACTIVE` with the time and its new body; false if it does not exist.
    pub async fn deregister_ecs_task_definition(
        &mut self,
        family: &str,
        revision: i64,
        at: i64,
        body: &str,
    ) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE ecs_task_definitions SET status = 'INACTIVE', deregistered_at = $1, body = $2 \
             WHERE family = $3 AND revision = $4",
        ).bind(at).bind(body).bind(family).bind(revision).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Replaces a revision's tags (JSON); false if it does not exist.
    pub async fn set_ecs_task_definition_tags(
        &mut self,
        family: &str,
        revision: i64,
        tags: &str,
    ) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE ecs_task_definitions SET tags = $1 WHERE family = $2 AND revision = $3",
        ).bind(tags).bind(family).bind(revision).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }
}

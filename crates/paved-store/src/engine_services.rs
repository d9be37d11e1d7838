//! The engine's services (with their events), tasks, local secrets and local load balancers.
//!
//! Bodies are JSON text written and read by `paved-engine-local`. A service write names the
//! `version` it read and fails (returns false) when another writer came first, so an API call
//! and the scheduler never overwrite each other's changes. A task's columns are split by
//! writer: API calls and scheduling decisions write `desired_status` and `stop_request`; only
//! the replica running a task writes `last_status`, `body` and `processes`.

use crate::tx::with_tx;
use crate::{Store, StoreError, Tx, with_pool};

/// An ECS service as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsServiceRow {
    pub cluster: String,
    pub name: String,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    pub body: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One service event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsServiceEventRow {
    pub event_id: String,
    pub created_at: i64,
    pub message: String,
}

/// An ECS task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsTaskRow {
    pub id: String,
    pub cluster: String,
    pub service: Option<String>,
    pub desired_status: String,
    /// JSON `{stopCode, reason}` asked for with `desired_status` `STOPPED`.
    pub stop_request: Option<String>,
    pub last_status: String,
    pub host: Option<String>,
    pub body: String,
    pub processes: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub stopped_at: Option<i64>,
}

/// What the running replica records about a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsTaskProgress<'a> {
    pub last_status: &'a str,
    pub body: &'a str,
    pub processes: &'a str,
    pub stopped_at: Option<i64>,
}

const SERVICE_COLUMNS: &str = "cluster, name, status, body, version, created_at, updated_at";
const TASK_COLUMNS: &str = "id, cluster, service, desired_status, stop_request, last_status, host, \
     body, processes, created_at, updated_at, stopped_at";

type ServiceTuple = (String, String, String, String, i64, i64, i64);
type TaskTuple = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Option<i64>,
);

fn service_from(row: ServiceTuple) -> EcsServiceRow {
    let (cluster, name, status, body, version, created_at, updated_at) = row;
    EcsServiceRow {
        cluster,
        name,
        status,
        body,
        version,
        created_at,
        updated_at,
    }
}

fn task_from(row: TaskTuple) -> EcsTaskRow {
    let (
        id,
        cluster,
        service,
        desired_status,
        stop_request,
        last_status,
        host,
        body,
        processes,
        created_at,
        updated_at,
        stopped_at,
    ) = row;
    EcsTaskRow {
        id,
        cluster,
        service,
        desired_status,
        stop_request,
        last_status,
        host,
        body,
        processes,
        created_at,
        updated_at,
        stopped_at,
    }
}

/// Which tasks [`Store::ecs_tasks`] returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct EcsTaskFilter<'a> {
    pub cluster: Option<&'a str>,
    /// `Some(name)`: that service's tasks.
    pub service: Option<&'a str>,
    /// Only tasks whose `desired_status` is this.
    pub desired_status: Option<&'a str>,
    /// Only tasks not yet `STOPPED`.
    pub live: bool,
}

impl Store {
    pub async fn ecs_service(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<EcsServiceRow>, StoreError> {
        let sql =
            format!("SELECT {SERVICE_COLUMNS} FROM ecs_services WHERE cluster = $1 AND name = $2");
        let row: Option<ServiceTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cluster).bind(name).fetch_optional(pool).await)?;
        Ok(row.map(service_from))
    }

    /// Services of `cluster` (all clusters when `None`) not `INACTIVE`, by cluster and name.
    pub async fn live_ecs_services(
        &self,
        cluster: Option<&str>,
    ) -> Result<Vec<EcsServiceRow>, StoreError> {
        let sql = format!(
            "SELECT {SERVICE_COLUMNS} FROM ecs_services WHERE ($1 IS NULL OR cluster = $1) \
             AND status <> 'INACTIVE' ORDER BY cluster, name"
        );
        let rows: Vec<ServiceTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cluster).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(service_from).collect())
    }

    pub async fn insert_ecs_service_event(
        &self,
        cluster: &str,
        service: &str,
        event: &EcsServiceEventRow,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO ecs_service_events (cluster, service, event_id, created_at, message) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(cluster).bind(service).bind(&event.event_id).bind(event.created_at).bind(&event.message)
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// A service's latest `limit` events, newest first (as DescribeServices lists them).
    pub async fn ecs_service_events(
        &self,
        cluster: &str,
        service: &str,
        limit: i64,
    ) -> Result<Vec<EcsServiceEventRow>, StoreError> {
        let rows: Vec<(String, i64, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT event_id, created_at, message FROM ecs_service_events \
             WHERE cluster = $1 AND service = $2 ORDER BY id DESC LIMIT $3",
        ).bind(cluster).bind(service).bind(limit).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(event_id, created_at, message)| EcsServiceEventRow {
                event_id,
                created_at,
                message,
            })
            .collect())
    }

    pub async fn insert_ecs_task(&self, row: &EcsTaskRow) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.insert_ecs_task(row).await?;
        tx.commit().await
    }

    pub async fn ecs_task(&self, id: &str) -> Result<Option<EcsTaskRow>, StoreError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM ecs_tasks WHERE id = $1");
        let row: Option<TaskTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(task_from))
    }

    /// Tasks matching `filter`, oldest first.
    pub async fn ecs_tasks(
        &self,
        filter: EcsTaskFilter<'_>,
    ) -> Result<Vec<EcsTaskRow>, StoreError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM ecs_tasks WHERE ($1 IS NULL OR cluster = $1) \
             AND ($2 IS NULL OR service = $2) AND ($3 IS NULL OR desired_status = $3) \
             AND ($4 = 0 OR last_status <> 'STOPPED') ORDER BY created_at, id"
        );
        let rows: Vec<TaskTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(filter.cluster).bind(filter.service).bind(filter.desired_status)
                .bind(i64::from(filter.live))
                .fetch_all(pool).await)?;
        Ok(rows.into_iter().map(task_from).collect())
    }

    /// Asks for a task to stop (keeping the first request's code and reason); false if it
    /// does not exist.
    pub async fn request_ecs_task_stop(
        &self,
        id: &str,
        stop_request: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let value = tx.request_ecs_task_stop(id, stop_request, at).await?;
        tx.commit().await?;
        Ok(value)
    }

    /// Takes a task for `host` (the replica that will run it); false if another has it.
    pub async fn take_ecs_task(&self, id: &str, host: &str, at: i64) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => sqlx::query(
            "UPDATE ecs_tasks SET host = $1, updated_at = $2 WHERE id = $3 AND (host IS NULL OR host = $1)",
        ).bind(host).bind(at).bind(id).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Records a task's progress, as seen by the replica running it. A stopped task's desired
    /// status becomes `STOPPED` too, as in ECS.
    pub async fn record_ecs_task(
        &self,
        id: &str,
        progress: &EcsTaskProgress<'_>,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE ecs_tasks SET last_status = $1, body = $2, processes = $3, stopped_at = $4, \
             updated_at = $5, \
             desired_status = CASE WHEN $1 = 'STOPPED' THEN 'STOPPED' ELSE desired_status END \
             WHERE id = $6",
        )
        .bind(progress.last_status).bind(progress.body).bind(progress.processes)
        .bind(progress.stopped_at).bind(at).bind(id)
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes tasks stopped before `before` (ECS forgets stopped tasks after about an hour).
    pub async fn prune_ecs_tasks(&self, before: i64) -> Result<u64, StoreError> {
        let done = with_pool!(self, pool => sqlx::query(
            "DELETE FROM ecs_tasks WHERE last_status = 'STOPPED' AND stopped_at < $1",
        ).bind(before).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done)
    }

    pub async fn engine_secret(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT value FROM engine_secrets WHERE name = $1",
        ).bind(name).fetch_optional(pool).await)?;
        Ok(row.map(|(value,)| value))
    }

    /// Every secret's `(name, created_at, updated_at)`, by name; never the values.
    pub async fn engine_secret_names(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let rows = with_pool!(self, pool => sqlx::query_as(
            "SELECT name, created_at, updated_at FROM engine_secrets ORDER BY name",
        ).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// Every cluster's load balancer `(cluster, body)`, by cluster.
    pub async fn engine_load_balancers(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = with_pool!(self, pool => sqlx::query_as(
            "SELECT cluster, body FROM engine_load_balancers ORDER BY cluster",
        ).fetch_all(pool).await)?;
        Ok(rows)
    }
}

/// The same writes inside a caller's transaction (with its audit record).
impl Tx {
    /// Sets a secret's value (creating it); returns whether it existed.
    pub async fn put_engine_secret(
        &mut self,
        name: &str,
        value: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let existed: Option<(String,)> = with_tx!(self, conn => sqlx::query_as(
            "SELECT name FROM engine_secrets WHERE name = $1",
        ).bind(name).fetch_optional(&mut **conn).await)?;
        with_tx!(self, conn => sqlx::query(
            "INSERT INTO engine_secrets (name, value, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        ).bind(name).bind(value).bind(at).execute(&mut **conn).await.map(|_| ()))?;
        Ok(existed.is_some())
    }

    /// Deletes a secret; false when there was none.
    pub async fn delete_engine_secret(&mut self, name: &str) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query("DELETE FROM engine_secrets WHERE name = $1")
            .bind(name).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Sets a cluster's load balancer configuration (JSON).
    pub async fn put_engine_load_balancer(
        &mut self,
        cluster: &str,
        body: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, conn => sqlx::query(
            "INSERT INTO engine_load_balancers (cluster, body, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (cluster) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        ).bind(cluster).bind(body).bind(at).execute(&mut **conn).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes a cluster's load balancer configuration; false when there was none.
    pub async fn delete_engine_load_balancer(&mut self, cluster: &str) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query("DELETE FROM engine_load_balancers WHERE cluster = $1")
            .bind(cluster).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Creates a service; false when an `ACTIVE` or `DRAINING` one has the name (an
    /// `INACTIVE` one is replaced, as ECS lets a deleted service's name be reused).
    pub async fn insert_ecs_service(&mut self, row: &EcsServiceRow) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "INSERT INTO ecs_services (cluster, name, status, body, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (cluster, name) DO UPDATE SET status = excluded.status, body = excluded.body, \
             version = ecs_services.version + 1, created_at = excluded.created_at, updated_at = excluded.updated_at \
             WHERE ecs_services.status = 'INACTIVE'",
        )
        .bind(&row.cluster).bind(&row.name).bind(&row.status).bind(&row.body)
        .bind(row.version).bind(row.created_at).bind(row.updated_at)
        .execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Writes a service if it is still at `version`; false when another writer came first.
    pub async fn update_ecs_service(
        &mut self,
        cluster: &str,
        name: &str,
        version: i64,
        status: &str,
        body: &str,
        updated_at: i64,
    ) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE ecs_services SET status = $1, body = $2, version = version + 1, updated_at = $3 \
             WHERE cluster = $4 AND name = $5 AND version = $6",
        )
        .bind(status).bind(body).bind(updated_at).bind(cluster).bind(name).bind(version)
        .execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    pub async fn insert_ecs_task(&mut self, row: &EcsTaskRow) -> Result<(), StoreError> {
        with_tx!(self, conn => sqlx::query(
            "INSERT INTO ecs_tasks (id, cluster, service, desired_status, stop_request, last_status, host, \
             body, processes, created_at, updated_at, stopped_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&row.id).bind(&row.cluster).bind(&row.service).bind(&row.desired_status)
        .bind(&row.stop_request).bind(&row.last_status).bind(&row.host).bind(&row.body)
        .bind(&row.processes).bind(row.created_at).bind(row.updated_at).bind(row.stopped_at)
        .execute(&mut **conn).await.map(|_| ()))?;
        Ok(())
    }

    /// Asks for a task to stop (keeping the first request's code and reason); false if it
    /// does not exist.
    pub async fn request_ecs_task_stop(
        &mut self,
        id: &str,
        stop_request: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE ecs_tasks SET desired_status = 'STOPPED', \
             stop_request = COALESCE(stop_request, $1), updated_at = $2 WHERE id = $3",
        ).bind(stop_request).bind(at).bind(id).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }
}

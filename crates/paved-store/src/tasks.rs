//! Durable tasks (with their event log) and the services they create.

use crate::{Store, StoreError, with_pool};

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub id: String,
    /// `service.create`.
    pub kind: String,
    /// What the task creates (`service:NAME`); one task per subject at a time.
    pub subject: String,
    /// `pending`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// The request, as JSON.
    pub request: String,
    /// The result, as JSON, once succeeded.
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One line of a task's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEventRow {
    pub seq: i64,
    pub at: i64,
    pub step: String,
    /// `info`, `step` (a step started), `done` (a step finished) or `error`.
    pub level: String,
    pub message: String,
}

/// A service as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub name: String,
    pub owner: String,
    pub template: String,
    pub template_version: String,
    pub repository_url: String,
    /// The service spec (`paved.yaml`), as JSON.
    pub spec: String,
    pub task_id: String,
    pub created_at: i64,
}

const TASK_COLUMNS: &str =
    "id, kind, subject, state, request, result, error, created_at, updated_at";
const SERVICE_COLUMNS: &str =
    "name, owner, template, template_version, repository_url, spec, task_id, created_at";

type TaskTuple = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
);
type ServiceTuple = (String, String, String, String, String, String, String, i64);

fn task_from(row: TaskTuple) -> TaskRow {
    let (id, kind, subject, state, request, result, error, created_at, updated_at) = row;
    TaskRow {
        id,
        kind,
        subject,
        state,
        request,
        result,
        error,
        created_at,
        updated_at,
    }
}

fn service_from(row: ServiceTuple) -> ServiceRow {
    let (name, owner, template, template_version, repository_url, spec, task_id, created_at) = row;
    ServiceRow {
        name,
        owner,
        template,
        template_version,
        repository_url,
        spec,
        task_id,
        created_at,
    }
}

impl Store {
    /// Records a new pending task. Refuses a second task for the same subject while the
    /// first exists ([`StoreError::TaskSubjectTaken`]).
    pub async fn insert_task(&self, task: &TaskRow) -> Result<(), StoreError> {
        let done = with_pool!(self, pool => sqlx::query(
            "INSERT INTO tasks (id, kind, subject, state, request, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (subject) DO NOTHING",
        )
        .bind(&task.id).bind(&task.kind).bind(&task.subject).bind(&task.state).bind(&task.request)
        .bind(task.created_at)
        .execute(pool).await.map(|done| done.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::TaskSubjectTaken {
                subject: task.subject.clone(),
            });
        }
        Ok(())
    }

    pub async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        let row: Option<TaskTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(task_from))
    }

    /// Tasks not finished that `replica` may take: never leased, lease expired, or leased by
    /// `replica` itself (a replica restarted after a crash takes its own tasks back at once).
    pub async fn unfinished_tasks(
        &self,
        now: i64,
        replica: &str,
    ) -> Result<Vec<TaskRow>, StoreError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE state IN ('pending', 'running') \
             AND (lease_until IS NULL OR lease_until < $1 OR lease_owner = $2) ORDER BY created_at"
        );
        let rows: Vec<TaskTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(replica).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(task_from).collect())
    }

    /// Takes the lease on an unfinished task; false if another replica holds it.
    pub async fn lease_task(
        &self,
        id: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => sqlx::query(
            "UPDATE tasks SET lease_owner = $1, lease_until = $2, state = 'running', updated_at = $3 \
             WHERE id = $4 AND state IN ('pending', 'running') \
             AND (lease_until IS NULL OR lease_until < $3 OR lease_owner = $1)",
        )
        .bind(owner).bind(until).bind(now).bind(id)
        .execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Appends a line to a task's log; returns its sequence number.
    pub async fn append_task_event(
        &self,
        task_id: &str,
        at: i64,
        step: &str,
        level: &str,
        message: &str,
    ) -> Result<i64, StoreError> {
        // One statement, so the next number is taken under the write lock: a separate SELECT
        // would have to upgrade a read transaction, which SQLite refuses under concurrent writes.
        let (seq,): (i64,) = with_pool!(self, pool => sqlx::query_as(
            "INSERT INTO task_events (task_id, seq, at, step, level, message) \
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM task_events WHERE task_id = $1 \
             RETURNING seq",
        )
        .bind(task_id).bind(at).bind(step).bind(level).bind(message)
        .fetch_one(pool).await)?;
        Ok(seq)
    }

    /// A task's log lines after `after`, in order.
    pub async fn task_events(
        &self,
        task_id: &str,
        after: i64,
    ) -> Result<Vec<TaskEventRow>, StoreError> {
        let rows: Vec<(i64, i64, String, String, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT seq, at, step, level, message FROM task_events WHERE task_id = $1 AND seq > $2 ORDER BY seq",
        ).bind(task_id).bind(after).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(seq, at, step, level, message)| TaskEventRow {
                seq,
                at,
                step,
                level,
                message,
            })
            .collect())
    }

    /// Ends a task that failed. Its subject is freed, so the same name can be tried again.
    pub async fn fail_task(&self, id: &str, error: &str, now: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE tasks SET state = 'failed', error = $1, updated_at = $2, lease_owner = NULL, \
             lease_until = NULL, subject = id WHERE id = $3",
        ).bind(error).bind(now).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Ends a task that succeeded and records the service it created, in one transaction.
    pub async fn complete_service_task(
        &self,
        id: &str,
        result: &str,
        service: &ServiceRow,
        now: i64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO services ({SERVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO NOTHING"
        );
        with_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&service.name).bind(&service.owner).bind(&service.template)
                .bind(&service.template_version).bind(&service.repository_url).bind(&service.spec)
                .bind(&service.task_id).bind(service.created_at)
                .execute(&mut *tx).await?;
            sqlx::query(
                "UPDATE tasks SET state = 'succeeded', result = $1, updated_at = $2, lease_owner = NULL, \
                 lease_until = NULL WHERE id = $3",
            ).bind(result).bind(now).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        }.await)?;
        Ok(())
    }

    pub async fn services(&self) -> Result<Vec<ServiceRow>, StoreError> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services ORDER BY name");
        let rows: Vec<ServiceTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(service_from).collect())
    }

    pub async fn service(&self, name: &str) -> Result<Option<ServiceRow>, StoreError> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services WHERE name = $1");
        let row: Option<ServiceTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(pool).await)?;
        Ok(row.map(service_from))
    }
}

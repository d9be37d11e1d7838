//! Durable jobs and their event logs (the tables behind `paved-jobs`).
//!
//! A job holds its subject while it runs: `exclusive_subject` is set to the subject by the
//! claim (or at submission, for kinds that refuse a second job on a busy subject) and cleared
//! when the job ends, and a unique index on it keeps two jobs of one subject from running at
//! once, on both back ends and across replicas.
//!
//! Every write a running job makes goes through a [`Tx`] fenced by the job's lease (`job:ID`).

use std::time::Duration;

use paved_model::ids::{JobId, ReplicaId};
use paved_model::job::{EventLevel, JobState};

use crate::lease::Lease;
use crate::tx::with_tx;
use crate::{Store, StoreError, Tx, with_pool};

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: JobId,
    /// What kind of work (`service.create`); its handler is registered under this name.
    pub kind: String,
    /// What the job acts on (`service:payments`); one job of a subject runs at a time.
    pub subject: String,
    pub state: JobState,
    /// Who asked for it, as `Principal`'s display form.
    pub principal: String,
    /// What the job will do, resolved when it was accepted (JSON).
    pub plan: String,
    /// What it has done so far, as its handler records it (JSON).
    pub progress: String,
    /// Its result once succeeded (JSON).
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    pub cancel_requested: bool,
    /// How many times a replica took it (1 for a job that never had to be resumed).
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// A job to record.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: JobId,
    pub kind: String,
    pub subject: String,
    pub principal: String,
    pub plan: String,
    /// Refuse the job ([`StoreError::SubjectBusy`]) while another unfinished job holds the
    /// subject, instead of queueing behind it.
    pub exclusive: bool,
    pub created_at: i64,
}

/// One line of a job's event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEventRow {
    pub seq: i64,
    pub at: i64,
    pub step: String,
    pub level: EventLevel,
    pub message: String,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub kind: Option<String>,
    pub subject: Option<String>,
    pub state: Option<JobState>,
    pub limit: i64,
}

const JOB_COLUMNS: &str = "id, kind, subject, state, principal, plan, progress, result, error, \
     cancel_requested, attempts, created_at, updated_at, finished_at";

type JobTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    i64,
    i64,
    i64,
    Option<i64>,
);

fn job_from(row: JobTuple) -> Result<JobRow, StoreError> {
    let (
        id,
        kind,
        subject,
        state,
        principal,
        plan,
        progress,
        result,
        error,
        cancel_requested,
        attempts,
        created_at,
        updated_at,
        finished_at,
    ) = row;
    let state = JobState::parse(&state).ok_or_else(|| StoreError::Corrupt {
        table: "jobs",
        message: format!("job `{id}` has an unknown state `{state}`"),
    })?;
    Ok(JobRow {
        id: JobId(id),
        kind,
        subject,
        state,
        principal,
        plan,
        progress,
        result,
        error,
        cancel_requested,
        attempts,
        created_at,
        updated_at,
        finished_at,
    })
}

/// The lease that guards job `id`.
pub fn job_lease_name(id: &JobId) -> String {
    format!("job:{id}")
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}

impl Store {
    pub async fn job(&self, id: &JobId) -> Result<Option<JobRow>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(pool).await)?;
        row.map(job_from).transpose()
    }

    /// Jobs matching `filter`, newest first.
    pub async fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR subject = $2) \
             AND ($3 IS NULL OR state = $3) ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let rows: Vec<JobTuple> = with_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(filter.kind.as_deref()).bind(filter.subject.as_deref())
            .bind(filter.state.map(JobState::as_str)).bind(filter.limit.max(1))
            .fetch_all(pool).await)?;
        rows.into_iter().map(job_from).collect()
    }

    /// Unfinished jobs of `kinds` that `holder` may take now, oldest first: queued jobs at the
    /// head of their subject's queue, and running jobs whose lease expired or is `holder`'s own
    /// (left by a crash of this replica). Jobs of other kinds are never returned, so a job whose
    /// kind no handler here knows is left alone.
    pub async fn claimable_jobs(
        &self,
        kinds: &[&str],
        holder: &ReplicaId,
        now: i64,
        limit: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kinds_json = serde_json::to_string(kinds).expect("strings serialise");
        // The kinds travel as one JSON array, read by each back end's own JSON function.
        let kinds_filter = match self {
            Store::Sqlite(_) => "j.kind IN (SELECT value FROM json_each($1))",
            Store::Postgres(_) => "j.kind IN (SELECT jsonb_array_elements_text($1::jsonb))",
        };
        let columns = JOB_COLUMNS
            .split(", ")
            .map(|column| format!("j.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM jobs j LEFT JOIN leases l ON l.name = 'job:' || j.id \
             WHERE {kinds_filter} AND ( \
               (j.state = 'queued' AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.subject = j.subject \
                  AND o.state IN ('queued', 'running') AND (o.created_at < j.created_at \
                  OR (o.created_at = j.created_at AND o.id < j.id)))) \
               OR (j.state = 'running' AND (l.name IS NULL OR l.expires_at < $2 OR l.holder = $3))) \
             ORDER BY j.created_at, j.id LIMIT $4"
        );
        let rows: Vec<JobTuple> = with_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&kinds_json).bind(now).bind(holder.as_str()).bind(limit)
            .fetch_all(pool).await)?;
        rows.into_iter().map(job_from).collect()
    }

    /// Takes job `id` for `holder`: its lease (a new generation) and its subject, and marks it
    /// running. `None` when another replica holds it, it has ended, or another job of its
    /// subject is running.
    pub async fn claim_job(
        &self,
        id: &JobId,
        holder: &ReplicaId,
        ttl: Duration,
        now: i64,
    ) -> Result<Option<Lease>, StoreError> {
        let mut tx = self.begin().await?;
        let Some(lease) = tx
            .acquire_lease(&job_lease_name(id), holder, ttl, now)
            .await?
        else {
            return Ok(None);
        };
        let claimed = with_tx!(tx, conn => sqlx::query(
            "UPDATE jobs SET state = 'running', exclusive_subject = subject, attempts = attempts + 1, \
             updated_at = $1 WHERE id = $2 AND state IN ('queued', 'running')",
        )
        .bind(now).bind(id.as_str())
        .execute(&mut **conn).await.map(|done| done.rows_affected()));
        match claimed {
            Ok(1) => {
                tx.commit().await?;
                Ok(Some(lease))
            }
            Ok(_) => Ok(None),
            // Another job of the same subject runs: the transaction rolls back, lease included.
            Err(error) if is_unique_violation(&error) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// The kinds of every unfinished job (to report kinds no handler here knows).
    pub async fn unfinished_job_kinds(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT DISTINCT kind FROM jobs WHERE state IN ('queued', 'running')",
        ).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(kind,)| kind).collect())
    }

    /// A job's log lines after `after`, in order.
    pub async fn job_events(&self, id: &JobId, after: i64) -> Result<Vec<JobEventRow>, StoreError> {
        let rows: Vec<(i64, i64, String, String, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT seq, at, step, level, message FROM job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq",
        ).bind(id.as_str()).bind(after).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(seq, at, step, level, message)| {
                let level = EventLevel::parse(&level).ok_or_else(|| StoreError::Corrupt {
                    table: "job_events",
                    message: format!("unknown level `{level}`"),
                })?;
                Ok(JobEventRow {
                    seq,
                    at,
                    step,
                    level,
                    message,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Records a new queued job. An exclusive job is refused with [`StoreError::SubjectBusy`]
    /// while another unfinished job holds its subject.
    pub async fn insert_job(&mut self, job: &NewJob) -> Result<(), StoreError> {
        let exclusive_subject = job.exclusive.then_some(job.subject.as_str());
        let inserted = with_tx!(self, conn => sqlx::query(
            "INSERT INTO jobs (id, kind, subject, exclusive_subject, state, principal, plan, progress, \
             cancel_requested, attempts, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'queued', $5, $6, '{}', FALSE, 0, $7, $7)",
        )
        .bind(job.id.as_str()).bind(&job.kind).bind(&job.subject).bind(exclusive_subject)
        .bind(&job.principal).bind(&job.plan).bind(job.created_at)
        .execute(&mut **conn).await.map(|_| ()));
        match inserted {
            Ok(()) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(StoreError::SubjectBusy {
                subject: job.subject.clone(),
            }),
            Err(error) => Err(error.into()),
        }
    }

    /// Appends a line to a job's log; returns its sequence number.
    pub async fn append_job_event(
        &mut self,
        id: &JobId,
        at: i64,
        step: &str,
        level: EventLevel,
        message: &str,
    ) -> Result<i64, StoreError> {
        // One statement, so the next number is taken under the write lock.
        let (seq,): (i64,) = with_tx!(self, conn => sqlx::query_as(
            "INSERT INTO job_events (job_id, seq, at, step, level, message) \
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM job_events WHERE job_id = $1 \
             RETURNING seq",
        )
        .bind(id.as_str()).bind(at).bind(step).bind(level.as_str()).bind(message)
        .fetch_one(&mut **conn).await)?;
        Ok(seq)
    }

    /// Replaces what a job records as done so far.
    pub async fn set_job_progress(
        &mut self,
        id: &JobId,
        progress: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, conn => sqlx::query("UPDATE jobs SET progress = $1, updated_at = $2 WHERE id = $3")
            .bind(progress).bind(now).bind(id.as_str())
            .execute(&mut **conn).await.map(|_| ()))?;
        Ok(())
    }

    /// Asks a job to stop; its handler sees it at its next step. False if it has ended.
    pub async fn request_job_cancel(&mut self, id: &JobId, now: i64) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE jobs SET cancel_requested = TRUE, updated_at = $1 WHERE id = $2 \
             AND state IN ('queued', 'running')",
        ).bind(now).bind(id.as_str()).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Ends a queued job that never ran (cancelled before a replica took it). False if a
    /// replica took it meanwhile.
    pub async fn cancel_queued_job(&mut self, id: &JobId, now: i64) -> Result<bool, StoreError> {
        let done = with_tx!(self, conn => sqlx::query(
            "UPDATE jobs SET state = 'cancelled', exclusive_subject = NULL, cancel_requested = TRUE, \
             error = 'cancelled before it started', updated_at = $1, finished_at = $1 \
             WHERE id = $2 AND state = 'queued'",
        ).bind(now).bind(id.as_str()).execute(&mut **conn).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Ends a job: frees its subject and records the result or the reason.
    pub async fn finish_job(
        &mut self,
        id: &JobId,
        state: JobState,
        result: Option<&str>,
        error: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        debug_assert!(state.is_finished());
        with_tx!(self, conn => sqlx::query(
            "UPDATE jobs SET state = $1, result = $2, error = $3, exclusive_subject = NULL, \
             updated_at = $4, finished_at = $4 WHERE id = $5",
        )
        .bind(state.as_str()).bind(result).bind(error).bind(now).bind(id.as_str())
        .execute(&mut **conn).await.map(|_| ()))?;
        Ok(())
    }
}

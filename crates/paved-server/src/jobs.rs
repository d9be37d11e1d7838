//! `/api/jobs`: durable jobs (creating a service, deployments), their logs as JSON or as
//! server-sent events, and cancelling one.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use paved_api::{Job, JobEvent, JobList};
use paved_model::access::{Action, Resource, ResourceKind};
use paved_model::ids::JobId;
use paved_model::job::JobState;
use paved_store::{JobEventRow, JobFilter, JobRow};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::{Caller, mutation};
use crate::error::ApiError;
use crate::{AppState, timestamp};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/jobs", get(list_jobs))
        .route("/api/jobs/{id}", get(get_job))
        .route("/api/jobs/{id}/events", get(job_events))
        .route("/api/jobs/{id}/cancel", post(cancel_job))
}

fn event_view(event: JobEventRow) -> JobEvent {
    JobEvent {
        seq: event.seq,
        at: timestamp(event.at).unwrap_or_default(),
        step: event.step,
        level: event.level.as_str().to_owned(),
        message: event.message,
    }
}

fn job_view(job: JobRow, events: Vec<JobEventRow>) -> Job {
    Job {
        id: job.id.to_string(),
        kind: job.kind,
        subject: job.subject,
        state: job.state.as_str().to_owned(),
        principal: job.principal,
        attempts: job.attempts,
        cancel_requested: job.cancel_requested,
        created_at: timestamp(job.created_at).unwrap_or_default(),
        updated_at: timestamp(job.updated_at).unwrap_or_default(),
        finished_at: job.finished_at.and_then(timestamp),
        result: job
            .result
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok()),
        error: job.error,
        events: events.into_iter().map(event_view).collect(),
    }
}

/// Which jobs to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only jobs of this kind (`service.create`).
    kind: Option<String>,
    /// Only jobs on this subject (`service:payments`).
    subject: Option<String>,
    /// Only jobs in this state: `queued`, `running`, `succeeded`, `failed`, `cancelled`.
    state: Option<String>,
    /// At most this many (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/jobs", tag = "jobs", params(JobQuery),
    responses((status = 200, body = JobList), (status = 400, body = paved_api::ErrorResponse)))]
pub async fn list_jobs(
    State(state): State<AppState>,
    Query(query): Query<JobQuery>,
) -> Result<Json<JobList>, ApiError> {
    let job_state = match query.state.as_deref() {
        None => None,
        Some(text) => Some(JobState::parse(text).ok_or_else(|| {
            ApiError::bad_request(
                paved_api::ErrorCode::InvalidParameter,
                format!(
                    "`state`: `{text}` is not a job state: use queued, running, succeeded, failed or cancelled"
                ),
            )
        })?),
    };
    let filter = JobFilter {
        kind: query.kind,
        subject: query.subject,
        state: job_state,
        limit: query.limit.unwrap_or(50).clamp(1, 500),
    };
    let jobs = state.jobs.jobs(&filter).await?;
    Ok(Json(JobList {
        items: jobs
            .into_iter()
            .map(|job| job_view(job, Vec::new()))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = Job), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn get_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let id = JobId(id);
    let job = state.jobs.job(&id).await?;
    let events = state.jobs.events(&id, 0).await?;
    Ok(Json(job_view(job, events)))
}

/// Asks a job to stop: a queued job ends cancelled at once; a running one stops at its next
/// step (a deployment returns its target to its last good state).
#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = Job), (status = 401, body = paved_api::ErrorResponse),
        (status = 404, body = paved_api::ErrorResponse), (status = 409, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn cancel_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let id = JobId(id);
    let resource = Resource::new(ResourceKind::Job, id.to_string());
    mutation(
        &state,
        &caller,
        Action::CancelJob,
        resource,
        async |mutation| {
            state.jobs.cancel(&id, mutation).await?;
            Ok(Json(job_view(state.jobs.job(&id).await?, Vec::new())))
        },
    )
    .await
}

/// The job's log as server-sent events: every line so far, then new ones as they come, then
/// one `end` event with the job's final state, after which the stream closes.
#[utoipa::path(get, path = "/api/jobs/{id}/events", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, description = "`text/event-stream`: `log` events (a JobEvent as JSON), then one `end` event (the Job)"),
        (status = 404, body = paved_api::ErrorResponse)))]
pub async fn job_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = JobId(id);
    state.jobs.job(&id).await?;
    let jobs = state.jobs.clone();
    let watch = jobs.watch_events();
    let stream = futures_util::stream::unfold(
        (jobs, watch, id, 0_i64, false, Vec::<Event>::new()),
        |(jobs, mut watch, id, mut after, mut finished, mut pending)| async move {
            loop {
                if let Some(event) = pending.pop() {
                    return Some((Ok(event), (jobs, watch, id, after, finished, pending)));
                }
                if finished {
                    return None;
                }
                watch.borrow_and_update();
                // The job before its lines: a job writes its last line in the transaction that
                // ends it, so a job seen ended here has all its lines in the read that follows.
                let job = jobs.job(&id).await.ok();
                let events = jobs.events(&id, after).await.unwrap_or_default();
                let mut batch = Vec::new();
                for event in events {
                    after = event.seq;
                    let json = serde_json::to_string(&event_view(event)).unwrap_or_default();
                    batch.push(Event::default().event("log").data(json));
                }
                if let Some(job) = job.filter(|job| job.state.is_finished()) {
                    let json =
                        serde_json::to_string(&job_view(job, Vec::new())).unwrap_or_default();
                    batch.push(Event::default().event("end").data(json));
                    finished = true;
                }
                if batch.is_empty() {
                    // Lines from this replica wake the stream at once; another replica's are
                    // seen within a second.
                    let _ = tokio::time::timeout(Duration::from_secs(1), watch.changed()).await;
                    continue;
                }
                batch.reverse();
                pending = batch;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

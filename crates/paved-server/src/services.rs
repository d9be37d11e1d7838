//! `/api/services` and `/api/tasks`: create a service from a golden path (a durable task) and
//! follow the task, as JSON or as server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use paved_api::{
    CreateServiceBody, CreateServiceResponse, RenderedFileBody, Service, ServiceList, Task,
    TaskEvent,
};
use paved_scaffolder::{CreateServiceRequest, Created};
use paved_store::{ServiceRow, TaskEventRow, TaskRow};

use crate::auth::{Action, Caller, mutation};
use crate::error::{ApiError, ApiJson};
use crate::{AppState, timestamp};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/services", post(create_service).get(list_services))
        .route("/api/services/{name}", get(get_service))
        .route("/api/tasks/{id}", get(get_task))
        .route("/api/tasks/{id}/events", get(task_events))
}

fn event_view(event: TaskEventRow) -> TaskEvent {
    TaskEvent {
        seq: event.seq,
        at: timestamp(event.at).unwrap_or_default(),
        step: event.step,
        level: event.level,
        message: event.message,
    }
}

fn task_view(task: TaskRow, events: Vec<TaskEventRow>) -> Task {
    Task {
        id: task.id,
        kind: task.kind,
        state: task.state,
        created_at: timestamp(task.created_at).unwrap_or_default(),
        updated_at: timestamp(task.updated_at).unwrap_or_default(),
        result: task
            .result
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok()),
        error: task.error,
        events: events.into_iter().map(event_view).collect(),
    }
}

fn service_view(service: ServiceRow) -> Service {
    Service {
        spec: serde_json::from_str(&service.spec).unwrap_or_default(),
        name: service.name,
        owner: service.owner,
        template: service.template,
        template_version: service.template_version,
        repository_url: service.repository_url,
        task_id: service.task_id,
        created_at: timestamp(service.created_at).unwrap_or_default(),
    }
}

/// Creates a service: checks the request at once (name, owner, template, inputs), then
/// answers `202` with the task that creates the repository and registers it. `dryRun`
/// answers `200` with the repository's files and creates nothing.
#[utoipa::path(post, path = "/api/services", tag = "services", request_body = CreateServiceBody,
    responses((status = 202, body = CreateServiceResponse), (status = 200, description = "Dry run", body = CreateServiceResponse),
        (status = 400, body = paved_api::ErrorResponse), (status = 401, body = paved_api::ErrorResponse), (status = 409, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn create_service(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateServiceBody>,
) -> Result<(StatusCode, Json<CreateServiceResponse>), ApiError> {
    let target = format!("service:{}", body.name);
    mutation(&state, &caller, Action::CreateService, &target, async {
        let dry_run = body.dry_run;
        let request = CreateServiceRequest {
            name: body.name,
            template: body.template,
            owner: body.owner,
            system: body.system,
            lifecycle: body.lifecycle.unwrap_or_else(|| "experimental".to_owned()),
            description: body.description,
            environment: body.environment.unwrap_or_else(|| "dev".to_owned()),
            inputs: body.inputs,
            pipeline_inputs: body.pipeline_inputs,
            repository_url: body.repository_url,
        };
        match state.scaffolder.create(request, dry_run).await? {
            Created::DryRun {
                template_version,
                clone_url,
                files,
            } => Ok((
                StatusCode::OK,
                Json(CreateServiceResponse {
                    dry_run: true,
                    template_version,
                    clone_url,
                    task_id: None,
                    files: files
                        .into_iter()
                        .map(|file| RenderedFileBody {
                            path: file.path,
                            contents: file.contents,
                            encoding: None,
                        })
                        .collect(),
                }),
            )),
            Created::Task { task, clone_url } => {
                let plan: serde_json::Value =
                    serde_json::from_str(&task.request).unwrap_or_default();
                Ok((
                    StatusCode::ACCEPTED,
                    Json(CreateServiceResponse {
                        dry_run: false,
                        template_version: plan["templateVersion"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        clone_url,
                        task_id: Some(task.id),
                        files: Vec::new(),
                    }),
                ))
            }
        }
    })
    .await
}

#[utoipa::path(get, path = "/api/services", tag = "services", responses((status = 200, body = ServiceList)))]
pub async fn list_services(State(state): State<AppState>) -> Result<Json<ServiceList>, ApiError> {
    let services = state.scaffolder.services().await?;
    Ok(Json(ServiceList {
        items: services.into_iter().map(service_view).collect(),
    }))
}

#[utoipa::path(get, path = "/api/services/{name}", tag = "services", params(("name" = String, Path)),
    responses((status = 200, body = Service), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn get_service(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Service>, ApiError> {
    Ok(Json(service_view(state.scaffolder.service(&name).await?)))
}

#[utoipa::path(get, path = "/api/tasks/{id}", tag = "services", params(("id" = String, Path)),
    responses((status = 200, body = Task), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn get_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let task = state.scaffolder.task(&id).await?;
    let events = state.scaffolder.task_events(&id, 0).await?;
    Ok(Json(task_view(task, events)))
}

/// The task's log as server-sent events: every line so far, then new ones as they come, then
/// one `end` event with the task's final state, after which the stream closes.
#[utoipa::path(get, path = "/api/tasks/{id}/events", tag = "services", params(("id" = String, Path)),
    responses((status = 200, description = "`text/event-stream`: `log` events (a TaskEvent as JSON), then one `end` event (the Task)"),
        (status = 404, body = paved_api::ErrorResponse)))]
pub async fn task_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    state.scaffolder.task(&id).await?;
    let scaffolder = state.scaffolder.clone();
    let watch = scaffolder.watch_events();
    // State: (last sequence sent, finished).
    let stream = futures_util::stream::unfold(
        (scaffolder, watch, id, 0_i64, false, Vec::<Event>::new()),
        |(scaffolder, mut watch, id, mut after, mut finished, mut pending)| async move {
            loop {
                if let Some(event) = pending.pop() {
                    return Some((Ok(event), (scaffolder, watch, id, after, finished, pending)));
                }
                if finished {
                    return None;
                }
                watch.borrow_and_update();
                // The task before its lines: a task writes its last line before it ends, so
                // a task seen ended here has all its lines in the read that follows.
                let task = scaffolder.task(&id).await.ok();
                let events = scaffolder.task_events(&id, after).await.unwrap_or_default();
                let mut batch = Vec::new();
                for event in events {
                    after = event.seq;
                    let json = serde_json::to_string(&event_view(event)).unwrap_or_default();
                    batch.push(Event::default().event("log").data(json));
                }
                if let Some(task) =
                    task.filter(|task| matches!(task.state.as_str(), "succeeded" | "failed"))
                {
                    // Every line written before the end was read above.
                    let json =
                        serde_json::to_string(&task_view(task, Vec::new())).unwrap_or_default();
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

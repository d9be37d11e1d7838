//! `/api/engine`: the local engine's images (built from service repositories), secrets, load
//! balancers, services and their logs, as JSON or as server-sent events.
//!
//! Handlers extract, authorise and audit mutations, call [`paved_engine_local::LocalEngine`] and map
//! the result to `paved-api`'s wire types. A secret's value is never logged, audited or
//! returned.

use std::convert::Infallible;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use paved_api::{
    BuildImageBody, EngineContainer, EngineDeployment, EngineEvent, EngineService,
    EngineServiceDetail, EngineServiceList, EngineTask, HealthCheckSpec, Image, ImageList,
    ListenerRule, LoadBalancer, LoadBalancerList, LoadBalancerSpec, LogLine, LogLineList,
    PutSecretBody, Secret, SecretList, Target, TargetGroupSpec, TargetGroupStatus,
};
use paved_engine_local::{
    DEFAULT_REFERENCE, FollowEvent, HealthCheckSettings, LoadBalancerConfig, LoadBalancerSettings,
    LoadBalancerStatus, LocalError, LogQuery, Rule, ServiceOverview, TargetGroupSettings,
};

use crate::access::{Caller, mutation};
use crate::error::{ApiError, ApiJson};
use crate::{AppState, timestamp};
use paved_api::ErrorCode;
use paved_model::access::{Action, Resource, ResourceKind};

/// Lines a log read returns when the request names no limit.
const DEFAULT_LOG_LIMIT: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/engine/images", get(list_images).post(build_image))
        .route("/api/engine/secrets", get(list_secrets))
        .route(
            "/api/engine/secrets/{name}",
            put(put_secret).delete(delete_secret),
        )
        .route("/api/engine/load-balancers", get(list_load_balancers))
        .route(
            "/api/engine/load-balancers/{cluster}",
            put(put_load_balancer)
                .get(get_load_balancer)
                .delete(delete_load_balancer),
        )
        .route("/api/engine/services", get(list_services))
        .route("/api/engine/services/{cluster}/{service}", get(get_service))
        .route(
            "/api/engine/services/{cluster}/{service}/logs",
            get(service_logs),
        )
}

fn image_view(image: paved_engine_local::ImageRef) -> Image {
    Image {
        image: image.reference(),
        name: image.name,
        commit: image.commit,
    }
}

/// Builds `local/SERVICE:COMMIT` from the service's repository at `ref` (default `main`).
#[utoipa::path(post, path = "/api/engine/images", tag = "engine", request_body = BuildImageBody,
    responses((status = 201, body = Image), (status = 400, body = paved_api::ErrorResponse),
        (status = 401, body = paved_api::ErrorResponse), (status = 404, description = "No such service repository", body = paved_api::ErrorResponse),
        (status = 422, description = "The ref is not in the repository", body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn build_image(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<BuildImageBody>,
) -> Result<(StatusCode, Json<Image>), ApiError> {
    let reference = body
        .reference
        .unwrap_or_else(|| DEFAULT_REFERENCE.to_owned());
    let target = format!("{}@{reference}", body.service);
    let resource = Resource::new(ResourceKind::Image, target);
    mutation(
        &state,
        &caller,
        Action::BuildImage,
        resource,
        async |_mutation| {
            let repository = state.scaffolder.repository_path(&body.service);
            let image = state
                .local
                .build_image(&body.service, repository, &reference)
                .await?;
            Ok((StatusCode::CREATED, Json(image_view(image))))
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/engine/images", tag = "engine", responses((status = 200, body = ImageList)))]
pub async fn list_images(State(state): State<AppState>) -> Json<ImageList> {
    Json(ImageList {
        items: state.local.images().into_iter().map(image_view).collect(),
    })
}

#[utoipa::path(get, path = "/api/engine/secrets", tag = "engine", responses((status = 200, body = SecretList)))]
pub async fn list_secrets(State(state): State<AppState>) -> Result<Json<SecretList>, ApiError> {
    let secrets = state.local.secrets().await?;
    Ok(Json(SecretList {
        items: secrets
            .into_iter()
            .map(|secret| Secret {
                name: secret.name,
                created_at: timestamp(secret.created_at).unwrap_or_default(),
                updated_at: timestamp(secret.updated_at).unwrap_or_default(),
            })
            .collect(),
    }))
}

/// Stores a secret that task definitions name in `secrets[].valueFrom` (the name, or a
/// Secrets Manager or SSM ARN ending in it). `201` when new, `200` when replaced.
#[utoipa::path(put, path = "/api/engine/secrets/{name}", tag = "engine", request_body = PutSecretBody,
    params(("name" = String, Path, description = "1-512 of `A-Za-z0-9/_+=.@-`", pattern = r"^[A-Za-z0-9/_+=.@-]{1,512}$")),
    responses((status = 201, body = Secret), (status = 200, body = Secret), (status = 400, body = paved_api::ErrorResponse),
        (status = 401, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn put_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<PutSecretBody>,
) -> Result<(StatusCode, Json<Secret>), ApiError> {
    // The target names the secret, never its value.
    let resource = Resource::new(ResourceKind::Secret, name.clone());
    mutation(
        &state,
        &caller,
        Action::PutSecret,
        resource,
        async |mutation| {
            let created = state.local.put_secret(&name, &body.value, mutation).await?;
            let secret = state
                .local
                .secrets()
                .await?
                .into_iter()
                .find(|secret| secret.name == name)
                .ok_or_else(|| LocalError::Internal(format!("secret `{name}` vanished")))?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((
                status,
                Json(Secret {
                    name: secret.name,
                    created_at: timestamp(secret.created_at).unwrap_or_default(),
                    updated_at: timestamp(secret.updated_at).unwrap_or_default(),
                }),
            ))
        },
    )
    .await
}

#[utoipa::path(delete, path = "/api/engine/secrets/{name}", tag = "engine", params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = paved_api::ErrorResponse), (status = 404, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn delete_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let resource = Resource::new(ResourceKind::Secret, name.clone());
    mutation(
        &state,
        &caller,
        Action::DeleteSecret,
        resource,
        async |mutation| {
            state.local.delete_secret(&name, mutation).await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}

/// The wire spec as the engine's settings (unset values stay unset: the engine defaults them).
fn load_balancer_settings(spec: &LoadBalancerSpec) -> LoadBalancerSettings {
    LoadBalancerSettings {
        port: spec.port,
        rules: spec
            .rules
            .iter()
            .map(|rule| Rule {
                priority: rule.priority,
                host_headers: rule.host_headers.clone(),
                path_patterns: rule.path_patterns.clone(),
                target_group: rule.target_group.clone(),
            })
            .collect(),
        default_target_group: spec.default_target_group.clone(),
        target_groups: spec
            .target_groups
            .iter()
            .map(|group| TargetGroupSettings {
                name: group.name.clone(),
                health_check: group
                    .health_check
                    .as_ref()
                    .map(|check| HealthCheckSettings {
                        path: check.path.clone(),
                        interval_seconds: check.interval_seconds,
                        timeout_seconds: check.timeout_seconds,
                        healthy_threshold: check.healthy_threshold,
                        unhealthy_threshold: check.unhealthy_threshold,
                        matcher: check.matcher.clone(),
                    }),
                deregistration_delay_seconds: group.deregistration_delay_seconds,
            })
            .collect(),
    }
}

fn load_balancer_spec(config: &LoadBalancerConfig) -> LoadBalancerSpec {
    LoadBalancerSpec {
        port: u32::from(config.port),
        rules: config
            .rules
            .iter()
            .map(|rule| ListenerRule {
                priority: rule.priority,
                host_headers: rule.host_headers.clone(),
                path_patterns: rule.path_patterns.clone(),
                target_group: rule.target_group.clone(),
            })
            .collect(),
        default_target_group: config.default_target_group.clone(),
        target_groups: config
            .target_groups
            .iter()
            .map(|group| TargetGroupSpec {
                name: group.name.clone(),
                health_check: group.health_check.as_ref().map(|check| HealthCheckSpec {
                    path: Some(check.path.clone()),
                    interval_seconds: Some(check.interval.as_secs_f64()),
                    timeout_seconds: Some(check.timeout.as_secs_f64()),
                    healthy_threshold: Some(check.healthy_threshold),
                    unhealthy_threshold: Some(check.unhealthy_threshold),
                    matcher: Some(if check.matcher.0 == check.matcher.1 {
                        check.matcher.0.to_string()
                    } else {
                        format!("{}-{}", check.matcher.0, check.matcher.1)
                    }),
                }),
                deregistration_delay_seconds: Some(group.deregistration_delay.as_secs()),
            })
            .collect(),
    }
}

fn load_balancer_view(status: LoadBalancerStatus) -> LoadBalancer {
    LoadBalancer {
        spec: load_balancer_spec(&status.config),
        cluster: status.cluster,
        address: status.address.map(|address| address.to_string()),
        target_groups: status
            .target_groups
            .into_iter()
            .map(|group| TargetGroupStatus {
                healthy: group.healthy(),
                targets: group
                    .targets
                    .into_iter()
                    .map(|target| Target {
                        id: target.id,
                        address: target.addr.to_string(),
                        health: target.health.as_str().to_owned(),
                        in_flight: target.in_flight,
                        requests: target.requests,
                    })
                    .collect(),
                name: group.name,
            })
            .collect(),
    }
}

/// Sets a cluster's load balancer: every problem is named (unknown target groups, repeated
/// priorities, ports other clusters take, health check settings). The engine applies it at
/// once; the response shows what runs so far.
#[utoipa::path(put, path = "/api/engine/load-balancers/{cluster}", tag = "engine", request_body = LoadBalancerSpec,
    params(("cluster" = String, Path)),
    responses((status = 200, body = LoadBalancer), (status = 400, body = paved_api::ErrorResponse),
        (status = 401, body = paved_api::ErrorResponse), (status = 404, description = "No such cluster", body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn put_load_balancer(
    State(state): State<AppState>,
    caller: Caller,
    Path(cluster): Path<String>,
    ApiJson(spec): ApiJson<LoadBalancerSpec>,
) -> Result<Json<LoadBalancer>, ApiError> {
    let resource = Resource::new(ResourceKind::LoadBalancer, cluster.clone());
    mutation(
        &state,
        &caller,
        Action::PutLoadBalancer,
        resource,
        async |mutation| {
            let (config, mut problems) = load_balancer_settings(&spec).config();
            if !problems.is_empty() {
                problems.extend(state.local.check_load_balancer(&cluster, &config).await?);
                return Err(LocalError::Invalid {
                    message: format!("the load balancer of cluster `{cluster}` was not changed"),
                    problems,
                }
                .into());
            }
            state
                .local
                .put_load_balancer(&cluster, &config, mutation)
                .await?;
            Ok(Json(load_balancer_view(
                state.local.load_balancer(&cluster).await?,
            )))
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/engine/load-balancers/{cluster}", tag = "engine", params(("cluster" = String, Path)),
    responses((status = 200, body = LoadBalancer), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn get_load_balancer(
    State(state): State<AppState>,
    Path(cluster): Path<String>,
) -> Result<Json<LoadBalancer>, ApiError> {
    Ok(Json(load_balancer_view(
        state.local.load_balancer(&cluster).await?,
    )))
}

#[utoipa::path(get, path = "/api/engine/load-balancers", tag = "engine", responses((status = 200, body = LoadBalancerList)))]
pub async fn list_load_balancers(
    State(state): State<AppState>,
) -> Result<Json<LoadBalancerList>, ApiError> {
    let statuses = state.local.load_balancers().await?;
    Ok(Json(LoadBalancerList {
        items: statuses.into_iter().map(load_balancer_view).collect(),
    }))
}

#[utoipa::path(delete, path = "/api/engine/load-balancers/{cluster}", tag = "engine", params(("cluster" = String, Path)),
    responses((status = 204), (status = 401, body = paved_api::ErrorResponse), (status = 404, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn delete_load_balancer(
    State(state): State<AppState>,
    caller: Caller,
    Path(cluster): Path<String>,
) -> Result<StatusCode, ApiError> {
    let resource = Resource::new(ResourceKind::LoadBalancer, cluster.clone());
    mutation(
        &state,
        &caller,
        Action::DeleteLoadBalancer,
        resource,
        async |mutation| {
            state.local.delete_load_balancer(&cluster, mutation).await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}

/// ECS times (seconds since the epoch) as RFC 3339.
fn seconds_text(seconds: f64) -> String {
    timestamp((seconds * 1000.0) as i64).unwrap_or_default()
}

fn deployment_view(deployment: &paved_engine::ecs::Deployment) -> EngineDeployment {
    EngineDeployment {
        id: deployment.id.clone(),
        status: deployment.status.as_str().to_owned(),
        task_definition: deployment.task_definition.clone(),
        desired_count: deployment.desired_count,
        running_count: deployment.running_count,
        pending_count: deployment.pending_count,
        failed_tasks: deployment.failed_tasks,
        rollout_state: deployment.rollout_state.as_str().to_owned(),
        rollout_state_reason: deployment.rollout_state_reason.clone(),
        created_at: seconds_text(deployment.created_at),
        updated_at: seconds_text(deployment.updated_at),
    }
}

fn service_view(overview: &ServiceOverview) -> EngineService {
    let service = &overview.record.service;
    EngineService {
        cluster: overview.cluster.clone(),
        name: overview.row.name.clone(),
        status: overview.row.status.clone(),
        desired_count: service.desired_count,
        running_count: service.running_count,
        pending_count: service.pending_count,
        task_definition: service.task_definition.clone(),
        deployments: service.deployments.iter().map(deployment_view).collect(),
        history: overview
            .record
            .history
            .iter()
            .map(deployment_view)
            .collect(),
        created_at: timestamp(overview.row.created_at).unwrap_or_default(),
    }
}

fn task_view(record: &paved_engine_local::TaskRecord) -> EngineTask {
    let task = &record.task;
    EngineTask {
        id: task
            .task_arn
            .rsplit('/')
            .next()
            .unwrap_or(&task.task_arn)
            .to_owned(),
        last_status: task.last_status.as_str().to_owned(),
        desired_status: task.desired_status.as_str().to_owned(),
        health_status: task.health_status.clone(),
        task_definition: task.task_definition_arn.clone(),
        deployment: record.deployment.clone(),
        created_at: seconds_text(task.created_at),
        started_at: task.started_at.map(seconds_text),
        stopped_at: task.stopped_at.map(seconds_text),
        stop_code: task.stop_code.map(|code| code.as_str().to_owned()),
        stopped_reason: task.stopped_reason.clone(),
        containers: task
            .containers
            .iter()
            .map(|container| EngineContainer {
                name: container.name.clone(),
                last_status: container.last_status.as_str().to_owned(),
                health_status: container.health_status.clone(),
                exit_code: container.exit_code,
                reason: container.reason.clone(),
                ports: container
                    .network_bindings
                    .iter()
                    .map(|binding| {
                        format!(
                            "{}:{}->{}",
                            binding.bind_ip, binding.host_port, binding.container_port
                        )
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The local engine's services (not yet `INACTIVE`), of one cluster or all.
#[utoipa::path(get, path = "/api/engine/services", tag = "engine",
    params(("cluster" = Option<String>, Query, description = "Only this cluster's services")),
    responses((status = 200, body = EngineServiceList), (status = 404, description = "No such cluster", body = paved_api::ErrorResponse)))]
pub async fn list_services(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EngineServiceList>, ApiError> {
    let mut cluster = None;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "cluster" => cluster = Some(value.into_owned()),
            other => return Err(unknown_parameter(other, "`cluster`")),
        }
    }
    let overviews = state.local.service_overviews(cluster.as_deref()).await?;
    Ok(Json(EngineServiceList {
        items: overviews.iter().map(service_view).collect(),
    }))
}

/// A service with its deployments (rollout states), history, latest events and tasks.
#[utoipa::path(get, path = "/api/engine/services/{cluster}/{service}", tag = "engine",
    params(("cluster" = String, Path), ("service" = String, Path)),
    responses((status = 200, body = EngineServiceDetail), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn get_service(
    State(state): State<AppState>,
    Path((cluster, service)): Path<(String, String)>,
) -> Result<Json<EngineServiceDetail>, ApiError> {
    let detail = state.local.service_detail(&cluster, &service).await?;
    Ok(Json(EngineServiceDetail {
        service: service_view(&detail.overview),
        events: detail
            .events
            .into_iter()
            .map(|event| EngineEvent {
                created_at: timestamp(event.created_at).unwrap_or_default(),
                message: event.message,
            })
            .collect(),
        tasks: detail.tasks.iter().map(task_view).collect(),
    }))
}

fn unknown_parameter(name: &str, accepted: &str) -> ApiError {
    ApiError::bad_request(
        ErrorCode::InvalidParameter,
        format!("unknown query parameter `{name}`: accepted are {accepted}"),
    )
}

fn log_line_view(line: paved_engine_local::LogLine) -> LogLine {
    LogLine {
        timestamp: format!("{:.3}", line.timestamp),
        task_id: line.task_id,
        container: line.container,
        stream: line.stream.as_str().to_owned(),
        message: line.message,
        truncated: line.truncated,
    }
}

/// The service's log lines (of its running tasks and the stopped ones the engine still
/// keeps), newest `limit` merged in time order. With `follow=true`, server-sent events: one
/// `log` event per line (a LogLine as JSON), those lines first and then new ones as they come,
/// including lines of tasks started later; a `missed` event (a count) when the stream fell
/// behind.
#[utoipa::path(get, path = "/api/engine/services/{cluster}/{service}/logs", tag = "engine",
    params(("cluster" = String, Path), ("service" = String, Path),
        ("limit" = Option<usize>, Query, description = "The newest this many lines, 1-10000; default 100"),
        ("task" = Option<String>, Query, description = "Only this task: its id or a unique prefix"),
        ("follow" = Option<bool>, Query, description = "Stream as server-sent events")),
    responses((status = 200, body = LogLineList, description = "A list; `text/event-stream` with `follow=true`"),
        (status = 400, body = paved_api::ErrorResponse), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn service_logs(
    State(state): State<AppState>,
    Path((cluster, service)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let accepted = "`limit`, `task` and `follow`";
    let mut query = LogQuery {
        limit: DEFAULT_LOG_LIMIT,
        task: None,
    };
    let mut follow = false;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "limit" => {
                query.limit = value.parse().map_err(|_| {
                    ApiError::bad_request(
                        ErrorCode::InvalidParameter,
                        format!(
                            "`limit={value}`: give a number of lines from 1 to {}",
                            paved_engine_local::MAX_LOG_LINES
                        ),
                    )
                })?;
            }
            "task" => query.task = Some(value.into_owned()),
            "follow" => {
                follow = match value.as_ref() {
                    "true" | "1" | "" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(ApiError::bad_request(
                            ErrorCode::InvalidParameter,
                            format!("`follow={value}`: give `true` or `false`"),
                        ));
                    }
                };
            }
            other => return Err(unknown_parameter(other, accepted)),
        }
    }
    if !follow {
        let lines = state.local.service_logs(&cluster, &service, &query).await?;
        return Ok(Json(LogLineList {
            items: lines.into_iter().map(log_line_view).collect(),
        })
        .into_response());
    }
    let (history, follower) = state
        .local
        .follow_service_logs(&cluster, &service, &query)
        .await?;
    let history: Vec<Result<Event, Infallible>> = history
        .into_iter()
        .map(|line| Ok(log_event(line)))
        .collect();
    // The stream ends when the server shuts down; the client sees the end of the stream.
    let shutting_down = state.shutting_down.subscribe();
    let live = futures_util::stream::unfold(
        (follower, shutting_down),
        |(mut follower, mut shutting_down)| async move {
            let next = tokio::select! {
                next = follower.next() => next?,
                _ = shutting_down.wait_for(|stopping| *stopping) => return None,
            };
            let event = match next {
                FollowEvent::Line(line) => log_event(line),
                FollowEvent::Missed(count) => {
                    Event::default().event("missed").data(count.to_string())
                }
            };
            Some((Ok(event), (follower, shutting_down)))
        },
    );
    let stream = futures_util::StreamExt::chain(futures_util::stream::iter(history), live);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn log_event(line: paved_engine_local::LogLine) -> Event {
    let json = serde_json::to_string(&log_line_view(line)).unwrap_or_default();
    Event::default().event("log").data(json)
}

//! `/api/services`: create a service from a golden path (a durable job, followed at
//! `/api/jobs`) and list services.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use paved_api::{CreateServiceBody, CreateServiceResponse, RenderedFileBody, Service, ServiceList};
use paved_model::access::{Action, Resource, ResourceKind};
use paved_scaffolder::{CreateServiceRequest, Created};
use paved_store::ServiceRow;

use crate::access::{Caller, mutation};
use crate::error::{ApiError, ApiJson};
use crate::{AppState, timestamp};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/services", post(create_service).get(list_services))
        .route("/api/services/{name}", get(get_service))
}

fn service_view(service: ServiceRow) -> Service {
    Service {
        spec: serde_json::from_str(&service.spec).unwrap_or_default(),
        name: service.name,
        owner: service.owner,
        template: service.template,
        template_version: service.template_version,
        repository_url: service.repository_url,
        job_id: service.job_id.to_string(),
        created_at: timestamp(service.created_at).unwrap_or_default(),
    }
}

/// Creates a service: checks the request at once (name, owner, template, inputs), then
/// answers `202` with the job that creates the repository and registers it. `dryRun`
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
    let resource =
        Resource::new(ResourceKind::Service, body.name.clone()).owned_by(body.owner.clone());
    mutation(
        &state,
        &caller,
        Action::CreateService,
        resource,
        async |mutation| {
            let dry_run = body.dry_run;
            let request = CreateServiceRequest {
                name: body.name,
                template: body.template,
                owner: body.owner,
                system: body.system,
                lifecycle: body
                    .lifecycle
                    .unwrap_or_else(paved_scaffolder::default_lifecycle),
                description: body.description,
                environment: body
                    .environment
                    .unwrap_or_else(paved_scaffolder::default_environment),
                inputs: body.inputs,
                pipeline_inputs: body.pipeline_inputs,
                repository_url: body.repository_url,
            };
            match state
                .scaffolder
                .create(request, dry_run, &caller.principal, mutation)
                .await?
            {
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
                        job_id: None,
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
                Created::Job {
                    job,
                    template_version,
                    clone_url,
                } => Ok((
                    StatusCode::ACCEPTED,
                    Json(CreateServiceResponse {
                        dry_run: false,
                        template_version,
                        clone_url,
                        job_id: Some(job.to_string()),
                        files: Vec::new(),
                    }),
                )),
            }
        },
    )
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

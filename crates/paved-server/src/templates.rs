//! `/api/templates` and `/api/template-syncs`: golden paths, their versions, dry-run renders
//! and template sync. Handlers extract, authorise, call `paved-template-registry` and map.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use paved_api::{
    AddTemplateSyncRequest, ApiProblem, CompatibleEnvironment, RegisterTemplateRequest,
    RegisterTemplateResponse, RenderTemplateRequest, RenderTemplateResponse, RenderedFileBody,
    TemplateDetail, TemplateList, TemplateSource, TemplateSummary, TemplateSync, TemplateSyncList,
    TemplateSyncRunResponse, TemplateVersion, WithdrawTemplateRequest,
};
use paved_store::TemplateSyncRow;
use paved_template::bundle::RenderContext;
use paved_template_registry::source::{self, GitSource, SourceLimits};
use paved_template_registry::sync::SyncOutcome;
use paved_template_registry::{
    RegisterRequest, RegistryError, RenderInput, TemplateInfo, TemplateOverrides, Version,
    VersionInfo, VersionSelector,
};

use crate::access::{Caller, mutation};
use crate::error::{ApiError, ApiJson};
use crate::{AppState, timestamp};
use paved_api::ErrorCode;
use paved_model::access::{Action, Resource, ResourceKind};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/templates", get(list_templates))
        .route("/api/templates/{name}", get(get_template))
        .route("/api/templates/{name}/versions/{version}", get(get_version))
        .route(
            "/api/templates/{name}/versions/{version}/publish",
            post(publish_version),
        )
        .route(
            "/api/templates/{name}/versions/{version}/withdraw",
            post(withdraw_version),
        )
        .route("/api/templates/{name}/render", post(render_template))
        .route("/api/template-syncs", get(list_syncs).post(add_sync))
        .route("/api/template-syncs/{id}", delete(remove_sync))
        .route("/api/template-syncs/{id}/run", post(run_sync))
}

/// `POST /api/templates/versions`, apart: a registration carries a whole bundle archive, so
/// its body limit is the bundle limits', not the API's default.
pub fn registration_router() -> Router<AppState> {
    crate::http::with_body_limit(
        Router::new().route("/api/templates/versions", post(register_version)),
        crate::http::registration_body_bytes(),
    )
}

fn summary(info: &TemplateInfo) -> TemplateSummary {
    let template = &info.template;
    TemplateSummary {
        name: template.name.clone(),
        kind: template.kind.clone(),
        title: template.title.clone(),
        description: template.description.clone(),
        owner: template.owner.clone(),
        tags: template.tags.clone(),
        recommended_version: info.recommended.map(|version| version.to_string()),
        latest_version: info
            .versions
            .iter()
            .map(|version| version.version)
            .max()
            .map(|version| version.to_string()),
        version_count: info.versions.len(),
        created_at: timestamp(template.created_at).unwrap_or_default(),
        updated_at: timestamp(template.updated_at).unwrap_or_default(),
    }
}

fn version_view(version: &VersionInfo, recommended: Option<Version>) -> TemplateVersion {
    TemplateVersion {
        version: version.version.to_string(),
        status: version.status.to_string(),
        recommended: recommended == Some(version.version),
        format: version.format.clone(),
        engine: version.engine.clone(),
        digest: version.digest.clone(),
        source: version.source.clone(),
        compatible_environments: version
            .compatible_environments
            .iter()
            .map(|compatible| CompatibleEnvironment {
                template: compatible.template.clone(),
                major: compatible.major,
            })
            .collect(),
        schema: (*version.schema).clone(),
        pipeline_schema: version.pipeline_schema.as_deref().cloned(),
        created_at: timestamp(version.created_at).unwrap_or_default(),
        published_at: version.published_at.and_then(timestamp),
        withdrawn_at: version.withdrawn_at.and_then(timestamp),
        withdrawn_reason: version.withdrawn_reason.clone(),
        readme: None,
    }
}

fn detail(info: &TemplateInfo) -> TemplateDetail {
    TemplateDetail {
        summary: summary(info),
        versions: info
            .versions
            .iter()
            .map(|version| version_view(version, info.recommended))
            .collect(),
    }
}

fn sync_view(row: TemplateSyncRow) -> TemplateSync {
    let problems: Vec<paved_model::problem::Problem> =
        serde_json::from_str(&row.problems).unwrap_or_default();
    TemplateSync {
        id: row.id,
        repository: row.repository,
        reference: Some(row.reference).filter(|reference| !reference.is_empty()),
        created_at: timestamp(row.created_at).unwrap_or_default(),
        last_commit: row.last_commit,
        last_synced_at: row.last_synced_at.and_then(timestamp),
        problems: problems.into_iter().map(ApiProblem::from).collect(),
    }
}

fn selector(text: &str) -> Result<VersionSelector, ApiError> {
    text.parse().map_err(
        |error: paved_template_registry::version::VersionSyntaxError| {
            ApiError::Registry(error.into())
        },
    )
}

fn exact(text: &str) -> Result<Version, ApiError> {
    match selector(text)? {
        VersionSelector::Exact(version) => Ok(version),
        _ => Err(ApiError::bad_request(
            ErrorCode::InvalidVersion,
            format!("`{text}` is not an exact version: give MAJOR.MINOR, such as `1.2`"),
        )),
    }
}

#[utoipa::path(get, path = "/api/templates", tag = "templates", responses((status = 200, body = TemplateList)))]
pub async fn list_templates(State(state): State<AppState>) -> Result<Json<TemplateList>, ApiError> {
    let templates = state.registry.list().await?;
    Ok(Json(TemplateList {
        items: templates.iter().map(summary).collect(),
    }))
}

#[utoipa::path(get, path = "/api/templates/{name}", tag = "templates", params(("name" = String, Path)),
    responses((status = 200, body = TemplateDetail), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn get_template(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TemplateDetail>, ApiError> {
    Ok(Json(detail(&state.registry.get(&name).await?)))
}

/// `version` is `1.2` (exactly), `1` (the highest published of major 1) or `recommended`.
#[utoipa::path(get, path = "/api/templates/{name}/versions/{version}", tag = "templates",
    params(("name" = String, Path), ("version" = String, Path, description = "`1.2`, `1` or `recommended`")),
    responses((status = 200, body = TemplateVersion), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn get_version(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<TemplateVersion>, ApiError> {
    let found = state.registry.resolve(&name, selector(&version)?).await?;
    let info = state.registry.get(&name).await?;
    let bundle = state.registry.bundle(&name, &found).await?;
    Ok(Json(TemplateVersion {
        readme: bundle.readme.clone(),
        ..version_view(&found, info.recommended)
    }))
}

/// Registers a version from an archive or a git repository. `201` when stored, `200` for a
/// dry run or a bundle identical to the latest version of its major.
#[utoipa::path(post, path = "/api/templates/versions", tag = "templates", request_body = RegisterTemplateRequest,
    responses((status = 201, body = RegisterTemplateResponse), (status = 200, body = RegisterTemplateResponse),
        (status = 400, body = paved_api::ErrorResponse), (status = 401, body = paved_api::ErrorResponse), (status = 409, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn register_version(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<RegisterTemplateRequest>,
) -> Result<(StatusCode, Json<RegisterTemplateResponse>), ApiError> {
    let target = request
        .name
        .clone()
        .unwrap_or_else(|| "(bundle)".to_owned());
    let resource = Resource::new(ResourceKind::Template, target);
    mutation(
        &state,
        &caller,
        Action::RegisterTemplate,
        resource,
        async |mutation| {
            let (files, source) = read_source(&state, &request.source).await?;
            let registered = state
                .registry
                .register(
                    RegisterRequest {
                        files,
                        source,
                        overrides: TemplateOverrides {
                            name: request.name.clone(),
                            title: request.title.clone(),
                            description: request.description.clone(),
                            owner: request.owner.clone(),
                            compatible_environments: request
                                .compatible_environments
                                .iter()
                                .map(|compatible| paved_template::bundle::CompatibleEnvironment {
                                    template: compatible.template.clone(),
                                    major: compatible.major,
                                })
                                .collect(),
                        },
                        major: request.major,
                        publish: request.publish,
                        dry_run: request.dry_run,
                    },
                    mutation,
                )
                .await?;
            let recommended = if request.dry_run {
                None
            } else {
                state.registry.get(&registered.template).await?.recommended
            };
            let status = if request.dry_run || registered.unchanged {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok((
                status,
                Json(RegisterTemplateResponse {
                    template: registered.template,
                    kind: registered.kind.to_string(),
                    version: version_view(&registered.version, recommended),
                    unchanged: registered.unchanged,
                    dry_run: request.dry_run,
                    files: registered.files,
                }),
            ))
        },
    )
    .await
}

/// The bundle's files and a description of where they came from.
async fn read_source(
    state: &AppState,
    source: &TemplateSource,
) -> Result<(Vec<paved_template::bundle::BundleFile>, String), ApiError> {
    match source {
        TemplateSource::Archive { data } => {
            let archive = base64::engine::general_purpose::STANDARD
                .decode(data.as_bytes())
                .map_err(|error| {
                    ApiError::bad_request(
                        ErrorCode::InvalidArchive,
                        format!("`source.data` is not base64: {error}"),
                    )
                })?;
            let files = tokio::task::spawn_blocking(move || {
                source::read_tar_gz(&archive, &SourceLimits::default())
            })
            .await
            .map_err(|error| ApiError::Registry(RegistryError::Internal(error.to_string())))?
            .map_err(RegistryError::from)?;
            Ok((files, "archive".to_owned()))
        }
        TemplateSource::Git { target } => {
            let git = state
                .registry
                .authenticate(GitSource::parse(target).map_err(RegistryError::from)?);
            let cache = state.registry.config().git_cache.clone();
            let shown = git.to_string();
            let (commit, files) = tokio::task::spawn_blocking(move || {
                source::read_git(&cache, &git, &SourceLimits::default())
            })
            .await
            .map_err(|error| ApiError::Registry(RegistryError::Internal(error.to_string())))?
            .map_err(RegistryError::from)?;
            Ok((files, format!("git:{shown}@{commit}")))
        }
    }
}

#[utoipa::path(post, path = "/api/templates/{name}/versions/{version}/publish", tag = "templates",
    params(("name" = String, Path), ("version" = String, Path, description = "`MAJOR.MINOR`", pattern = r"^[0-9]+\.[0-9]+$")),
    responses((status = 200, body = TemplateVersion), (status = 401, body = paved_api::ErrorResponse),
        (status = 404, body = paved_api::ErrorResponse), (status = 409, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn publish_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<TemplateVersion>, ApiError> {
    let resource = Resource::new(ResourceKind::Template, format!("{name}@{version}"));
    mutation(
        &state,
        &caller,
        Action::PublishTemplate,
        resource,
        async |mutation| {
            let published = state
                .registry
                .publish(&name, exact(&version)?, mutation)
                .await?;
            let recommended = state.registry.get(&name).await?.recommended;
            Ok(Json(version_view(&published, recommended)))
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/templates/{name}/versions/{version}/withdraw", tag = "templates",
    params(("name" = String, Path), ("version" = String, Path, description = "`MAJOR.MINOR`", pattern = r"^[0-9]+\.[0-9]+$")),
    request_body = WithdrawTemplateRequest,
    responses((status = 200, body = TemplateVersion), (status = 401, body = paved_api::ErrorResponse),
        (status = 404, body = paved_api::ErrorResponse), (status = 409, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn withdraw_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
    ApiJson(request): ApiJson<WithdrawTemplateRequest>,
) -> Result<Json<TemplateVersion>, ApiError> {
    let resource = Resource::new(ResourceKind::Template, format!("{name}@{version}"));
    mutation(
        &state,
        &caller,
        Action::WithdrawTemplate,
        resource,
        async |mutation| {
            let withdrawn = state
                .registry
                .withdraw(&name, exact(&version)?, &request.reason, mutation)
                .await?;
            let recommended = state.registry.get(&name).await?.recommended;
            Ok(Json(version_view(&withdrawn, recommended)))
        },
    )
    .await
}

/// Renders a version over inputs: a dry run, nothing is stored, so it needs no token.
#[utoipa::path(post, path = "/api/templates/{name}/render", tag = "templates",
    params(("name" = String, Path)), request_body = RenderTemplateRequest,
    responses((status = 200, body = RenderTemplateResponse), (status = 400, body = paved_api::ErrorResponse),
        (status = 404, body = paved_api::ErrorResponse), (status = 422, body = paved_api::ErrorResponse)))]
pub async fn render_template(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<RenderTemplateRequest>,
) -> Result<Json<RenderTemplateResponse>, ApiError> {
    let selector = match &request.version {
        Some(version) => selector(version)?,
        None => VersionSelector::Recommended,
    };
    let context: RenderContext = match request.context {
        Some(context) => serde_json::from_value(context).map_err(|error| {
            ApiError::bad_request(ErrorCode::InvalidContext, format!("`context`: {error}"))
        })?,
        None => RenderContext::default(),
    };
    let rendered = state
        .registry
        .render(
            &name,
            selector,
            RenderInput {
                inputs: request.inputs,
                pipeline_inputs: request.pipeline_inputs,
                context,
            },
        )
        .await?;
    Ok(Json(RenderTemplateResponse {
        template: rendered.template,
        version: rendered.version.to_string(),
        files: rendered.files.into_iter().map(rendered_file_body).collect(),
    }))
}

/// A rendered file as the API sends it: text, or base64 with `encoding: base64`.
pub(crate) fn rendered_file_body(file: paved_template::RenderedFile) -> RenderedFileBody {
    RenderedFileBody {
        encoding: match file.encoding {
            paved_template::Encoding::Text => None,
            paved_template::Encoding::Base64 => Some("base64".to_owned()),
        },
        path: file.path,
        contents: file.contents,
    }
}

#[utoipa::path(get, path = "/api/template-syncs", tag = "templates", responses((status = 200, body = TemplateSyncList)))]
pub async fn list_syncs(State(state): State<AppState>) -> Result<Json<TemplateSyncList>, ApiError> {
    let syncs = state.registry.syncs().await?;
    Ok(Json(TemplateSyncList {
        items: syncs.into_iter().map(sync_view).collect(),
    }))
}

fn run_view(row: TemplateSyncRow, outcome: SyncOutcome) -> TemplateSyncRunResponse {
    TemplateSyncRunResponse {
        sync: sync_view(row),
        commit: outcome.commit,
        registered: outcome
            .registered
            .iter()
            .map(|(name, version)| format!("{name}@{version}"))
            .collect(),
        unchanged: outcome.unchanged,
        problems: outcome.problems.into_iter().map(ApiProblem::from).collect(),
    }
}

/// Registers a repository for template sync and syncs it at once.
#[utoipa::path(post, path = "/api/template-syncs", tag = "templates", request_body = AddTemplateSyncRequest,
    responses((status = 200, body = TemplateSyncRunResponse), (status = 400, body = paved_api::ErrorResponse), (status = 401, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn add_sync(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<AddTemplateSyncRequest>,
) -> Result<Json<TemplateSyncRunResponse>, ApiError> {
    let resource = Resource::new(
        ResourceKind::TemplateSync,
        source::redact_url(&request.target),
    );
    mutation(
        &state,
        &caller,
        Action::CreateTemplateSync,
        resource,
        async |mutation| {
            let (row, outcome) = state.registry.add_sync(&request.target, mutation).await?;
            Ok(Json(run_view(row, outcome)))
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/template-syncs/{id}/run", tag = "templates", params(("id" = String, Path)),
    responses((status = 200, body = TemplateSyncRunResponse), (status = 401, body = paved_api::ErrorResponse), (status = 404, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn run_sync(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TemplateSyncRunResponse>, ApiError> {
    let resource = Resource::new(ResourceKind::TemplateSync, id.clone());
    mutation(
        &state,
        &caller,
        Action::RunTemplateSync,
        resource,
        async |mutation| {
            let outcome = state.registry.run_sync(&id, Some(mutation)).await?;
            let row = state
                .store
                .template_sync(&id)
                .await
                .map_err(RegistryError::from)?
                .ok_or_else(|| RegistryError::SyncNotFound(id.clone()))?;
            Ok(Json(run_view(row, outcome)))
        },
    )
    .await
}

#[utoipa::path(delete, path = "/api/template-syncs/{id}", tag = "templates", params(("id" = String, Path)),
    responses((status = 204, description = "Forgotten; the versions it registered stay"), (status = 401, body = paved_api::ErrorResponse), (status = 404, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn remove_sync(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let resource = Resource::new(ResourceKind::TemplateSync, id.clone());
    mutation(
        &state,
        &caller,
        Action::DeleteTemplateSync,
        resource,
        async |mutation| {
            state.registry.remove_sync(&id, mutation).await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}

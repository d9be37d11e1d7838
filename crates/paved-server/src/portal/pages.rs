//! Home, templates, jobs and the audit log. Each page calls the API's own handler and
//! renders its answer; each action calls the API's handler with the viewer's caller.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use minijinja::context;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiJson;
use crate::portal::render::{Refusal, api_error_page, error_page, page, see_other, to_value};
use crate::portal::session::{CsrfForm, Viewer};

/// A query string as the extractor of an API handler would read it.
pub(crate) fn query<T: DeserializeOwned>(pairs: &[(&str, &str)]) -> Result<Query<T>, Refusal> {
    let encoded: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(_, value)| !value.is_empty()))
        .finish();
    let uri: Uri = format!("/?{encoded}").parse().map_err(|_| {
        Refusal::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "the query is not valid",
        )
    })?;
    Query::try_from_uri(&uri).map_err(|error| {
        Refusal::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_parameter",
            error.body_text(),
        )
    })
}

/// Recent jobs, failed jobs, the viewer's own, and what needs attention.
pub async fn home(State(state): State<AppState>, viewer: Viewer) -> Response {
    let facets = crate::catalog::entities::entity_facets(
        State(state.clone()),
        axum::extract::RawQuery(Some("facet=kind".to_owned())),
    )
    .await;
    let kinds = match facets {
        Ok(axum::Json(facets)) => facets.facets.get("kind").cloned().unwrap_or_default(),
        Err(error) => return api_error_page(&viewer, error).await,
    };
    let templates = match crate::templates::list_templates(State(state.clone())).await {
        Ok(axum::Json(list)) => list.items,
        Err(error) => return api_error_page(&viewer, error).await,
    };
    let recent = match jobs_list(&state, &[("limit", "100")]).await {
        Ok(jobs) => jobs,
        Err(refusal) => return error_page(&viewer, &refusal),
    };
    let failed = match jobs_list(&state, &[("state", "failed"), ("limit", "10")]).await {
        Ok(jobs) => jobs,
        Err(refusal) => return error_page(&viewer, &refusal),
    };
    let principal = viewer.caller.principal.to_string();
    let mine: Vec<&paved_api::Job> = recent
        .iter()
        .filter(|job| viewer.signed_in() && job.principal == principal)
        .take(10)
        .collect();
    let engine_services =
        match crate::engine::list_services(State(state.clone()), axum::extract::RawQuery(None))
            .await
        {
            Ok(axum::Json(list)) => list.items,
            Err(error) => return api_error_page(&viewer, error).await,
        };
    let degraded: Vec<&paved_api::EngineService> = engine_services
        .iter()
        .filter(|service| service.running_count < service.desired_count)
        .collect();
    let entity_total: usize = kinds.iter().map(|count| count.count).sum();
    page(
        &viewer,
        "home.html",
        "Home",
        context! {
            kinds => to_value(&kinds),
            entity_total => entity_total,
            template_count => templates.len(),
            engine_service_count => engine_services.len(),
            running_jobs => recent.iter().filter(|job| job.state == "running" || job.state == "queued").count(),
            mine => to_value(&mine),
            failed => to_value(&failed),
            degraded => to_value(&degraded),
        },
    )
}

async fn jobs_list(
    state: &AppState,
    pairs: &[(&str, &str)],
) -> Result<Vec<paved_api::Job>, Refusal> {
    match crate::jobs::list_jobs(State(state.clone()), query(pairs)?).await {
        Ok(axum::Json(list)) => Ok(list.items),
        Err(error) => Err(Refusal::from_api(error).await),
    }
}

pub async fn templates(State(state): State<AppState>, viewer: Viewer) -> Response {
    match crate::templates::list_templates(State(state)).await {
        Ok(axum::Json(list)) => page(
            &viewer,
            "templates.html",
            "Templates",
            context! { templates => to_value(&list.items) },
        ),
        Err(error) => api_error_page(&viewer, error).await,
    }
}

pub async fn template(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Response {
    match crate::templates::get_template(State(state), Path(name.clone())).await {
        Ok(axum::Json(detail)) => {
            let mut versions = detail.versions.clone();
            versions.reverse();
            page(
                &viewer,
                "template.html",
                &name,
                context! {
                    template => to_value(&detail.summary),
                    versions => to_value(&versions),
                },
            )
        }
        Err(error) => api_error_page(&viewer, error).await,
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct RegisterForm {
    csrf: Option<String>,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    publish: Option<String>,
}

/// Registers a version from a git repository (`URL#REF:FOLDER`), as `POST
/// /api/templates/versions` does.
pub async fn register_template(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    axum::Form(form): axum::Form<RegisterForm>,
) -> Response {
    if let Err(refusal) = viewer.check_form(&headers, form.csrf.as_deref()) {
        return error_page(&viewer, &refusal);
    }
    let request = paved_api::RegisterTemplateRequest {
        source: paved_api::TemplateSource::Git {
            target: form.repository.trim().to_owned(),
        },
        name: None,
        title: None,
        description: None,
        owner: None,
        compatible_environments: Vec::new(),
        major: None,
        publish: form.publish.is_some(),
        dry_run: false,
    };
    match crate::templates::register_version(State(state), viewer.caller.clone(), ApiJson(request))
        .await
    {
        Ok((_, axum::Json(registered))) => {
            see_other(&format!("/templates/{}", registered.template))
        }
        Err(error) => api_error_page(&viewer, error).await,
    }
}

pub async fn publish_template(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Err(refusal) = viewer.check_form(&headers, form.csrf.as_deref()) {
        return error_page(&viewer, &refusal);
    }
    match crate::templates::publish_version(
        State(state),
        viewer.caller.clone(),
        Path((name.clone(), version)),
    )
    .await
    {
        Ok(_) => see_other(&format!("/templates/{name}")),
        Err(error) => api_error_page(&viewer, error).await,
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct WithdrawForm {
    csrf: Option<String>,
    #[serde(default)]
    reason: String,
}

pub async fn withdraw_template(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
    axum::Form(form): axum::Form<WithdrawForm>,
) -> Response {
    if let Err(refusal) = viewer.check_form(&headers, form.csrf.as_deref()) {
        return error_page(&viewer, &refusal);
    }
    match crate::templates::withdraw_version(
        State(state),
        viewer.caller.clone(),
        Path((name.clone(), version)),
        ApiJson(paved_api::WithdrawTemplateRequest {
            reason: form.reason,
        }),
    )
    .await
    {
        Ok(_) => see_other(&format!("/templates/{name}")),
        Err(error) => api_error_page(&viewer, error).await,
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct JobsQuery {
    state: Option<String>,
}

pub async fn jobs(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<JobsQuery>,
) -> Response {
    let job_state = filter.state.unwrap_or_default();
    match jobs_list(&state, &[("state", &job_state), ("limit", "200")]).await {
        Ok(jobs) => page(
            &viewer,
            "jobs.html",
            "Jobs",
            context! {
                jobs => to_value(&jobs),
                state => job_state,
                states => ["queued", "running", "succeeded", "failed", "cancelled"],
            },
        ),
        Err(refusal) => error_page(&viewer, &refusal),
    }
}

/// A job with its log so far; the page follows the rest as server-sent events from
/// `/api/jobs/{id}/events` when JavaScript runs.
pub async fn job(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    match crate::jobs::get_job(State(state), Path(id.clone())).await {
        Ok(axum::Json(job)) => {
            let finished = matches!(job.state.as_str(), "succeeded" | "failed" | "cancelled");
            page(
                &viewer,
                "job.html",
                &format!("Job {id}"),
                context! {
                    job => to_value(&job),
                    finished => finished,
                    last_seq => job.events.last().map(|event| event.seq).unwrap_or(0),
                },
            )
        }
        Err(error) => api_error_page(&viewer, error).await,
    }
}

pub async fn cancel_job(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Err(refusal) = viewer.check_form(&headers, form.csrf.as_deref()) {
        return error_page(&viewer, &refusal);
    }
    match crate::jobs::cancel_job(State(state), viewer.caller.clone(), Path(id.clone())).await {
        Ok(_) => see_other(&format!("/jobs/{id}")),
        Err(error) => api_error_page(&viewer, error).await,
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct AuditPageQuery {
    principal: Option<String>,
    resource: Option<String>,
    action: Option<String>,
    before: Option<String>,
}

/// The audit log, for admins: the API handler authorises the read itself.
pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<AuditPageQuery>,
) -> Response {
    let principal = filter.principal.unwrap_or_default();
    let resource = filter.resource.unwrap_or_default();
    let action = filter.action.unwrap_or_default();
    let before = filter.before.unwrap_or_default();
    let query = match query(&[
        ("principal", &principal),
        ("resource", &resource),
        ("action", &action),
        ("before", &before),
        ("limit", "100"),
    ]) {
        Ok(query) => query,
        Err(refusal) => return error_page(&viewer, &refusal),
    };
    match crate::audit::list_audit(State(state), viewer.caller.clone(), query).await {
        Ok(axum::Json(list)) => page(
            &viewer,
            "audit.html",
            "Audit log",
            context! {
                events => to_value(&list.items),
                next_before => list.next_before,
                principal => principal,
                resource => resource,
                action => action,
            },
        ),
        Err(error) => api_error_page(&viewer, error).await,
    }
}

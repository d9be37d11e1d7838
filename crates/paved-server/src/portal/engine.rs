//! The local engine: clusters, services (running/desired, deployments), tasks and live logs.
//! Reads through the engine API's handlers; kept in this one file since the engine's types
//! are about to be renamed (paved-engine's split).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use minijinja::{Value, context};

use crate::AppState;
use crate::portal::render::{Refusal, api_error_page, error_page, page, to_value};
use crate::portal::session::Viewer;

pub async fn overview(State(state): State<AppState>, viewer: Viewer) -> Response {
    let clusters = match state.store.ecs_clusters(Some("ACTIVE")).await {
        Ok(clusters) => clusters,
        Err(error) => {
            tracing::error!(%error, "clusters could not be read");
            return error_page(
                &viewer,
                &Refusal::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log",
                ),
            );
        }
    };
    let services = match crate::engine::list_services(State(state), RawQuery(None)).await {
        Ok(axum::Json(list)) => list.items,
        Err(error) => return api_error_page(&viewer, error).await,
    };
    let clusters: Vec<Value> = clusters
        .iter()
        .map(|cluster| {
            let own: Vec<&paved_api::EngineService> = services
                .iter()
                .filter(|service| service.cluster == cluster.name)
                .collect();
            context! {
                name => cluster.name.clone(),
                created_at => crate::timestamp(cluster.created_at),
                services => to_value(&own),
            }
        })
        .collect();
    page(
        &viewer,
        "engine.html",
        "Engine",
        context! { clusters => clusters },
    )
}

pub async fn service(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((cluster, service)): Path<(String, String)>,
) -> Response {
    let detail = match crate::engine::get_service(
        State(state.clone()),
        Path((cluster.clone(), service.clone())),
    )
    .await
    {
        Ok(axum::Json(detail)) => detail,
        Err(error) => return api_error_page(&viewer, error).await,
    };
    let logs = match crate::engine::service_logs(
        State(state),
        Path((cluster.clone(), service.clone())),
        RawQuery(Some("limit=200".to_owned())),
    )
    .await
    {
        Ok(response) => {
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            serde_json::from_slice::<paved_api::LogLineList>(&body)
                .map(|list| list.items)
                .unwrap_or_default()
        }
        Err(error) => return api_error_page(&viewer, error).await,
    };
    page(
        &viewer,
        "engine_service.html",
        &service,
        context! {
            cluster => cluster.clone(),
            detail => to_value(&detail),
            logs => to_value(&logs),
            follow_url => format!(
                "/api/engine/services/{}/{}/logs?follow=true&limit=200",
                crate::portal::catalog::segment(&cluster),
                crate::portal::catalog::segment(&service)
            ),
        },
    )
}

//! `/locations`: register, list, read and remove locations.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use paved_api::{AddLocationResponse, ApiProblem, Location, LocationItem, LocationSpec};
use paved_model::entity_ref::EntityRef;
use paved_model::ids::LocationId;
use paved_store::LocationRow;

use crate::access::{Caller, mutation};
use crate::catalog::params::Params;
use crate::error::{ApiError, ApiJson};
use crate::{AppState, timestamp};
use paved_model::access::{Action, Resource, ResourceKind};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/locations", get(list_locations).post(create_location))
        .route("/locations/{id}", get(get_location).delete(delete_location))
        .route(
            "/locations/by-entity/{kind}/{namespace}/{name}",
            get(location_by_entity),
        )
}

pub fn location_view(row: LocationRow) -> Location {
    Location {
        id: row.id.0,
        location_type: row.location_type,
        target: row.target,
        refreshed_at: row.refreshed_at.and_then(timestamp),
        next_refresh_at: timestamp(row.next_refresh_at),
        problems: row.problems.into_iter().map(ApiProblem::from).collect(),
    }
}

#[utoipa::path(get, path = "/api/catalog/locations", tag = "catalog", responses((status = 200, body = Vec<LocationItem>)))]
pub async fn list_locations(
    State(state): State<AppState>,
) -> Result<Json<Vec<LocationItem>>, ApiError> {
    let locations = state.catalog.locations().await?;
    Ok(Json(
        locations
            .into_iter()
            .map(|row| LocationItem {
                data: location_view(row),
            })
            .collect(),
    ))
}

/// `POST /locations[?dryRun=true]`: registers a location and reads it at once.
#[utoipa::path(post, path = "/api/catalog/locations", tag = "catalog", request_body = LocationSpec,
    params(("dryRun" = Option<bool>, Query, description = "only read the location and return what it would produce")),
    responses((status = 201, body = AddLocationResponse), (status = 200, description = "Dry run", body = AddLocationResponse),
        (status = 400, body = paved_api::ErrorResponse), (status = 401, body = paved_api::ErrorResponse), (status = 409, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn create_location(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    ApiJson(spec): ApiJson<LocationSpec>,
) -> Result<(StatusCode, Json<AddLocationResponse>), ApiError> {
    let dry_run = matches!(
        Params::parse(raw.as_deref()).first("dryRun"),
        Some("true" | "1")
    );
    let action = if dry_run {
        Action::AnalyzeLocation
    } else {
        Action::CreateLocation
    };
    let resource = Resource::new(
        ResourceKind::Location,
        format!("{}:{}", spec.location_type, spec.target),
    );
    mutation(&state, &caller, action, resource, async |mutation| {
        let added = state
            .catalog
            .add_location(&spec.location_type, &spec.target, dry_run, mutation)
            .await?;
        let status = if dry_run {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok((
            status,
            Json(AddLocationResponse {
                location: location_view(added.location),
                entities: added.entities,
                entity_refs: added.entity_refs,
                exists: dry_run.then_some(added.exists),
                problems: added.problems.into_iter().map(ApiProblem::from).collect(),
            }),
        ))
    })
    .await
}

#[utoipa::path(get, path = "/api/catalog/locations/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Location), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn get_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Location>, ApiError> {
    Ok(Json(location_view(
        state.catalog.location(&LocationId(id)).await?,
    )))
}

#[utoipa::path(delete, path = "/api/catalog/locations/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted with its entities"), (status = 401, body = paved_api::ErrorResponse), (status = 404, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn delete_location(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let resource = Resource::new(ResourceKind::Location, id.clone());
    mutation(
        &state,
        &caller,
        Action::DeleteLocation,
        resource,
        async |mutation| {
            state
                .catalog
                .remove_location(&LocationId(id.clone()), mutation)
                .await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Location), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn location_by_entity(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Json<Location>, ApiError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name).key();
    Ok(Json(location_view(
        state.catalog.location_of_entity(&entity_ref).await?,
    )))
}

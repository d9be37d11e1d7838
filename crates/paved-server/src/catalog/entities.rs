//! Reading entities: by query, name, uid and refs; facets; validation; refresh.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use paved_api::{
    ApiProblem, EntitiesByRefsRequest, FacetCount, FacetsResponse, QueryEntitiesRequest,
    RefreshRequest, RefreshResponse, ValidateEntityErrors, ValidateEntityRequest, ValidationError,
};
use paved_catalog::filter::parse_predicate;
use paved_catalog::query::{EntityQuery, FullTextFilter, QueryPage};
use paved_model::entity_ref::EntityRef;
use paved_model::ids::LocationId;

use crate::AppState;
use crate::access::{Caller, mutation};
use crate::catalog::params::{Params, order_field};
use crate::catalog::raw_json;
use crate::error::{ApiError, ApiJson};
use paved_api::ErrorCode;
use paved_model::access::{Action, Resource, ResourceKind};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/entities", get(list_entities))
        .route(
            "/entities/by-query",
            get(query_entities).post(query_entities_by_predicate),
        )
        .route(
            "/entities/by-name/{kind}/{namespace}/{name}",
            get(entity_by_name),
        )
        .route("/entities/by-uid/{uid}", get(entity_by_uid))
        .route("/entities/by-refs", post(entities_by_refs))
        .route("/entity-facets", get(entity_facets))
        .route("/refresh", post(refresh))
        .route("/validate-entity", post(validate_entity))
}

/// `GET /entities`: Backstage's older list, a bare array.
#[utoipa::path(get, path = "/api/catalog/entities", tag = "catalog",
    params(("filter" = Option<String>, Query, description = "`key=value,...`; repeat for OR"), ("fields" = Option<String>, Query), ("limit" = Option<usize>, Query), ("offset" = Option<usize>, Query)),
    responses((status = 200, description = "Entities", body = Vec<Object>)))]
pub async fn list_entities(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let query = EntityQuery {
        filter: params.filter()?,
        order: params.order()?,
        full_text: None,
        limit: params.number("limit")?,
        offset: params.number("offset")?.unwrap_or(0),
        fields: params.list("fields"),
    };
    let page = state.catalog.query(&query);
    Ok(raw_json(format!("[{}]", page.items_json)))
}

/// `GET /entities/by-query`: filtered, ordered, cursor-paginated.
#[utoipa::path(get, path = "/api/catalog/entities/by-query", tag = "catalog",
    params(("filter" = Option<String>, Query, description = "`key=value,...`; repeat for OR"), ("fields" = Option<String>, Query),
        ("limit" = Option<usize>, Query), ("orderField" = Option<String>, Query, description = "`field,asc|desc`"),
        ("fullTextFilterTerm" = Option<String>, Query), ("fullTextFilterFields" = Option<String>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = paved_api::QueryEntitiesResponse), (status = 400, body = paved_api::ErrorResponse)))]
pub async fn query_entities(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let query = match params.first("cursor") {
        Some(cursor) => {
            let mut query = EntityQuery::from_cursor(cursor)?;
            query.limit = params.number("limit")?.or(query.limit);
            let fields = params.list("fields");
            if !fields.is_empty() {
                query.fields = fields;
            }
            query
        }
        None => EntityQuery {
            filter: params.filter()?,
            order: params.order()?,
            full_text: params.full_text(),
            limit: params.number("limit")?,
            offset: params.number("offset")?.unwrap_or(0),
            fields: params.list("fields"),
        },
    };
    Ok(page_response(state.catalog.query(&query)))
}

/// `POST /entities/by-query`: Backstage's predicate query.
#[utoipa::path(post, path = "/api/catalog/entities/by-query", tag = "catalog", request_body = QueryEntitiesRequest,
    responses((status = 200, body = paved_api::QueryEntitiesResponse), (status = 400, body = paved_api::ErrorResponse)))]
pub async fn query_entities_by_predicate(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<QueryEntitiesRequest>,
) -> Result<Response, ApiError> {
    let query = match &request.cursor {
        Some(cursor) => {
            let mut query = EntityQuery::from_cursor(cursor)?;
            query.limit = request.limit.or(query.limit);
            if !request.fields.is_empty() {
                query.fields = request.fields.clone();
            }
            query
        }
        None => EntityQuery {
            filter: request.query.as_ref().map(parse_predicate).transpose()?,
            order: request
                .order_by
                .iter()
                .map(|order| order_field(&order.field, order.order.as_deref()))
                .collect::<Result<_, _>>()?,
            full_text: request
                .full_text_filter
                .as_ref()
                .filter(|filter| !filter.term.trim().is_empty())
                .map(|filter| FullTextFilter {
                    term: filter.term.trim().to_lowercase(),
                    fields: filter
                        .fields
                        .iter()
                        .map(|field| field.to_lowercase())
                        .collect(),
                }),
            limit: request.limit,
            offset: 0,
            fields: request.fields.clone(),
        },
    };
    Ok(page_response(state.catalog.query(&query)))
}

fn page_response(page: QueryPage) -> Response {
    let mut page_info = serde_json::Map::new();
    if let Some(cursor) = page.next_cursor {
        page_info.insert("nextCursor".to_owned(), cursor.into());
    }
    if let Some(cursor) = page.prev_cursor {
        page_info.insert("prevCursor".to_owned(), cursor.into());
    }
    let page_info = serde_json::Value::Object(page_info).to_string();
    let mut body = String::with_capacity(page.items_json.len() + page_info.len() + 64);
    body.push_str("{\"items\":[");
    body.push_str(&page.items_json);
    body.push_str("],\"totalItems\":");
    body.push_str(&page.total_items.to_string());
    body.push_str(",\"pageInfo\":");
    body.push_str(&page_info);
    body.push('}');
    raw_json(body)
}

#[utoipa::path(get, path = "/api/catalog/entities/by-name/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The entity", body = Object), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn entity_by_name(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name).key();
    state
        .catalog
        .entity_by_ref(&entity_ref)
        .map(raw_json)
        .ok_or_else(|| ApiError::EntityNotFound(format!("entity `{entity_ref}` not found")))
}

#[utoipa::path(get, path = "/api/catalog/entities/by-uid/{uid}", tag = "catalog", params(("uid" = String, Path)),
    responses((status = 200, description = "The entity", body = Object), (status = 404, body = paved_api::ErrorResponse)))]
pub async fn entity_by_uid(
    State(state): State<AppState>,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    state
        .catalog
        .entity_by_uid(&uid)
        .map(raw_json)
        .ok_or_else(|| ApiError::EntityNotFound(format!("entity with uid `{uid}` not found")))
}

#[utoipa::path(post, path = "/api/catalog/entities/by-refs", tag = "catalog", request_body = EntitiesByRefsRequest,
    responses((status = 200, body = paved_api::EntitiesByRefsResponse)))]
pub async fn entities_by_refs(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    ApiJson(request): ApiJson<EntitiesByRefsRequest>,
) -> Result<Response, ApiError> {
    let mut fields = request.fields;
    fields.extend(Params::parse(raw.as_deref()).list("fields"));
    let items = state
        .catalog
        .entities_by_refs(&request.entity_refs, &fields);
    let items: Vec<String> = items
        .into_iter()
        .map(|item| item.unwrap_or_else(|| "null".to_owned()))
        .collect();
    Ok(raw_json(format!("{{\"items\":[{}]}}", items.join(","))))
}

#[utoipa::path(get, path = "/api/catalog/entity-facets", tag = "catalog",
    params(("facet" = String, Query, description = "repeatable"), ("filter" = Option<String>, Query)),
    responses((status = 200, body = FacetsResponse)))]
pub async fn entity_facets(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<FacetsResponse>, ApiError> {
    let params = Params::parse(raw.as_deref());
    let facets = params.all("facet");
    if facets.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidParameter,
            "at least one `facet` parameter is required, such as `facet=kind`",
        ));
    }
    let filter = params.filter()?;
    let counted = state.catalog.facets(&facets, filter.as_ref());
    Ok(Json(FacetsResponse {
        facets: counted
            .into_iter()
            .map(|(facet, counts)| {
                (
                    facet,
                    counts
                        .into_iter()
                        .map(|(value, count)| FacetCount { value, count })
                        .collect(),
                )
            })
            .collect(),
    }))
}

/// `POST /refresh`: reads the location of `entityRef` (Backstage) or `locationId` again now.
#[utoipa::path(post, path = "/api/catalog/refresh", tag = "catalog", request_body = RefreshRequest,
    responses((status = 200, body = RefreshResponse), (status = 401, body = paved_api::ErrorResponse), (status = 404, body = paved_api::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn refresh(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<RefreshResponse>, ApiError> {
    let target = request
        .entity_ref
        .clone()
        .or(request.location_id.clone())
        .unwrap_or_default();
    let resource = Resource::new(ResourceKind::Location, target);
    mutation(
        &state,
        &caller,
        Action::RefreshCatalog,
        resource,
        async |mutation| {
            let location_id = match (&request.entity_ref, &request.location_id) {
                (_, Some(location_id)) => LocationId(location_id.clone()),
                (Some(entity_ref), None) => {
                    let key = EntityRef::parse_full(entity_ref)
                        .map_err(|error| {
                            ApiError::bad_request(ErrorCode::InvalidEntityRef, error.to_string())
                        })?
                        .key();
                    state.catalog.location_of_entity(&key).await?.id
                }
                (None, None) => {
                    return Err(ApiError::bad_request(
                        ErrorCode::InvalidBody,
                        "send `entityRef` or `locationId`",
                    ));
                }
            };
            let outcome = state
                .catalog
                .refresh_location(&location_id, mutation)
                .await?;
            Ok(Json(RefreshResponse {
                written: outcome.written,
                unchanged: outcome.unchanged,
                orphaned: outcome.orphaned,
                deleted: outcome.deleted,
                problems: outcome.problems.into_iter().map(ApiProblem::from).collect(),
            }))
        },
    )
    .await
}

/// `POST /validate-entity`: 200 when valid; 400 with every problem when not.
#[utoipa::path(post, path = "/api/catalog/validate-entity", tag = "catalog", request_body = ValidateEntityRequest,
    responses((status = 200, description = "Valid"), (status = 400, body = ValidateEntityErrors)))]
pub async fn validate_entity(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ValidateEntityRequest>,
) -> Result<Response, ApiError> {
    let problems = state.catalog.validate(&request.entity);
    if problems.is_empty() {
        return Ok((StatusCode::OK, Json(serde_json::json!({}))).into_response());
    }
    let errors = problems
        .iter()
        .map(|problem| ValidationError {
            name: "InputError".to_owned(),
            message: problem.to_string(),
        })
        .collect();
    let body = ValidateEntityErrors {
        errors,
        problems: problems.into_iter().map(ApiProblem::from).collect(),
    };
    Ok((StatusCode::BAD_REQUEST, Json(body)).into_response())
}

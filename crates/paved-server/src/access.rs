//! Who is calling, and the one path every mutation takes through the policy point.
//!
//! 1. [`authenticate`] (middleware, before any handler or body extractor) turns the
//!    credential into a [`Principal`]. A request to a route of [`GUARDED_ROUTES`] without
//!    a valid credential is refused there with 401, and its refusal recorded, before its body
//!    is read: so an anonymous mutation with a malformed body is a 401, not a 400.
//! 2. Handlers take a [`Caller`] and run their change through [`mutation`]:
//!    `paved_policy::PolicyPoint::authorize` with the resource, the change (which writes the
//!    audit record in its own transaction), then `settle` for calls whose change never
//!    committed. So every call leaves exactly one audit record, refusals included.

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use paved_model::access::{Action, AuditRecord, CallOrigin, Principal, Resource, ResourceKind};
use paved_store::Mutation;

use crate::{ApiError, AppState};

/// The routes that need a valid credential, each with the action its refusal is recorded as.
/// Every mutating route is here (a test holds the OpenAPI document to it), and the reads that
/// only admins may make.
pub const GUARDED_ROUTES: &[(Method, &str, Action)] = &[
    (
        Method::POST,
        "/api/catalog/locations",
        Action::CreateLocation,
    ),
    (
        Method::DELETE,
        "/api/catalog/locations/{id}",
        Action::DeleteLocation,
    ),
    (Method::POST, "/api/catalog/refresh", Action::RefreshCatalog),
    (
        Method::POST,
        "/api/templates/versions",
        Action::RegisterTemplate,
    ),
    (
        Method::POST,
        "/api/templates/{name}/versions/{version}/publish",
        Action::PublishTemplate,
    ),
    (
        Method::POST,
        "/api/templates/{name}/versions/{version}/withdraw",
        Action::WithdrawTemplate,
    ),
    (
        Method::POST,
        "/api/template-syncs",
        Action::CreateTemplateSync,
    ),
    (
        Method::POST,
        "/api/template-syncs/{id}/run",
        Action::RunTemplateSync,
    ),
    (
        Method::DELETE,
        "/api/template-syncs/{id}",
        Action::DeleteTemplateSync,
    ),
    (Method::POST, "/api/services", Action::CreateService),
    (Method::POST, "/api/jobs/{id}/cancel", Action::CancelJob),
    (Method::POST, "/api/engine/images", Action::BuildImage),
    (Method::PUT, "/api/engine/secrets/{name}", Action::PutSecret),
    (
        Method::DELETE,
        "/api/engine/secrets/{name}",
        Action::DeleteSecret,
    ),
    (
        Method::PUT,
        "/api/engine/load-balancers/{cluster}",
        Action::PutLoadBalancer,
    ),
    (
        Method::DELETE,
        "/api/engine/load-balancers/{cluster}",
        Action::DeleteLoadBalancer,
    ),
    (Method::GET, "/api/audit", Action::ReadAudit),
];

/// The action a guarded route's refusal is recorded as, if `method` on `path` is guarded.
pub fn guarded_action(method: &Method, path: &str) -> Option<Action> {
    GUARDED_ROUTES
        .iter()
        .find(|(guarded_method, guarded_path, _)| guarded_method == method && *guarded_path == path)
        .map(|(_, _, action)| *action)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub origin: CallOrigin,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Caller, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(|| Caller {
                principal: Principal::Anonymous,
                origin: origin_of(parts),
            }))
    }
}

/// Where a request came from: its id (`x-request-id`) and peer address.
pub fn origin_of(parts: &Parts) -> CallOrigin {
    CallOrigin {
        request_id: parts
            .headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(|value| paved_model::access::bounded(value.to_owned(), 128)),
        source: parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip().to_string()),
    }
}

/// Authenticates every request before its handler runs (see the module's docs).
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let origin = origin_of(&parts);
    let guarded = parts
        .extensions
        .get::<MatchedPath>()
        .and_then(|path| guarded_action(&parts.method, path.as_str()));
    let credential = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|header| header.to_str().ok())
        .and_then(bearer_token)
        .map(|token| Some(token).filter(|token| state.auth.is_admin(token)));
    let refusal = match credential {
        Some(Some(_)) => None,
        Some(None) => Some(ApiError::InvalidToken),
        None if guarded.is_some() => Some(ApiError::Unauthenticated),
        None => None,
    };
    if let Some(error) = refusal {
        if let Some(action) = guarded {
            let record = AuditRecord::new(
                Principal::Anonymous,
                action,
                Resource::new(ResourceKind::Route, parts.uri.path()),
                origin,
            );
            state
                .policy
                .record_refusal(&record, &error.to_string())
                .await;
        }
        return error.into_response();
    }
    let principal = match credential {
        Some(Some(_)) => admin_principal(),
        _ => Principal::Anonymous,
    };
    parts.extensions.insert(Caller { principal, origin });
    next.run(Request::from_parts(parts, body)).await
}

/// Who a valid admin credential is: the API's bearer token, or (at `/ecs`) a SigV4
/// signature made with it.
pub fn admin_principal() -> Principal {
    Principal::Admin
}

/// The token of an `Authorization: Bearer TOKEN` header (empty when only the scheme is
/// there); `None` for other schemes, such as AWS SigV4 at `/ecs`, checked by the route that
/// speaks them.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authorises `action` on `resource` for `caller`, runs `change` with the call's
/// [`Mutation`], and makes sure exactly one audit record says how it ended.
pub async fn mutation<T>(
    state: &AppState,
    caller: &Caller,
    action: Action,
    resource: Resource,
    change: impl AsyncFnOnce(&Mutation<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let record = state
        .policy
        .authorize(&caller.principal, action, resource, &caller.origin)
        .await
        .map_err(ApiError::Forbidden)?;
    let result = change(&Mutation::new(&record)).await;
    state
        .policy
        .settle(
            &record,
            result
                .as_ref()
                .map(|_| ())
                .map_err(|error| format!("{}: {error}", error.code())),
        )
        .await
        .map_err(ApiError::AuditUnavailable)?;
    result
}

//! `/api/catalog`: Backstage's catalog API.

pub(crate) mod entities;
pub(crate) mod locations;
mod params;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::auth::{Action, Caller, audit};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(entities::router())
        .merge(locations::router())
}

/// A response whose body is already JSON text (entities are kept rendered).
fn raw_json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Authorises, runs and audits one mutation.
async fn mutation<T>(
    state: &AppState,
    caller: &Caller,
    action: Action,
    target: &str,
    run: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let result = match caller.authorize(action) {
        Ok(()) => run.await,
        Err(error) => Err(error),
    };
    audit(state, caller, action, target, &result.as_ref().map(|_| ())).await;
    result
}

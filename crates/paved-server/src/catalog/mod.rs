//! `/api/catalog`: Backstage's catalog API.

pub(crate) mod entities;
pub(crate) mod locations;
mod params;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(entities::router())
        .merge(locations::router())
}

/// A response whose body is already JSON text (entities are kept rendered).
fn raw_json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

//! One error type for every handler: a status, a stable code, Backstage's error envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paved_api::{ApiProblem, ErrorBody, ErrorResponse, ErrorStatus};
use paved_catalog::CatalogError;
use paved_catalog::filter::FilterError;
use paved_catalog::query::CursorError;
use paved_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Cursor(#[from] CursorError),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    EntityNotFound(String),
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Unauthenticated,
    #[error("the token is not valid: send the admin token as `Authorization: Bearer <token>`")]
    InvalidToken,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// Status, Backstage error name and stable code. Exhaustive, so a new variant forces a
    /// decision.
    fn classify(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Catalog(error) => match error {
                CatalogError::Store(StoreError::LocationExists { .. }) => {
                    (StatusCode::CONFLICT, "ConflictError", "location_exists")
                }
                CatalogError::Store(_) | CatalogError::Task(_) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "Error", "internal")
                }
                CatalogError::Target(_) => {
                    (StatusCode::BAD_REQUEST, "InputError", "invalid_location")
                }
                CatalogError::Unreadable { .. } => {
                    (StatusCode::BAD_REQUEST, "InputError", "location_unreadable")
                }
                CatalogError::LocationNotFound(_) => {
                    (StatusCode::NOT_FOUND, "NotFoundError", "location_not_found")
                }
                CatalogError::EntityNotFound(_) => {
                    (StatusCode::NOT_FOUND, "NotFoundError", "entity_not_found")
                }
            },
            ApiError::Filter(_) => (StatusCode::BAD_REQUEST, "InputError", "invalid_filter"),
            ApiError::Cursor(_) => (StatusCode::BAD_REQUEST, "InputError", "invalid_cursor"),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, "InputError", code),
            ApiError::EntityNotFound(_) => {
                (StatusCode::NOT_FOUND, "NotFoundError", "entity_not_found")
            }
            ApiError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "AuthenticationError",
                "invalid_token",
            ),
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "AuthenticationError",
                "unauthenticated",
            ),
        }
    }

    fn problems(&self) -> Vec<ApiProblem> {
        match self {
            ApiError::Catalog(CatalogError::Unreadable { problems, .. }) => {
                problems.iter().cloned().map(ApiProblem::from).collect()
            }
            _ => Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, name, code) = self.classify();
        let message = if status.is_server_error() {
            // Clients see no internals; the full chain goes to the log.
            tracing::error!(error = %self, "request failed");
            "internal error; see the server log".to_owned()
        } else {
            self.to_string()
        };
        let body = ErrorResponse {
            error: ErrorBody {
                name: name.to_owned(),
                message,
                code: code.to_owned(),
                problems: self.problems(),
            },
            response: ErrorStatus {
                status_code: status.as_u16(),
            },
        };
        (status, axum::Json(body)).into_response()
    }
}

/// A JSON request body whose rejection (malformed JSON, wrong shape, wrong content type) is an
/// [`ApiError`] with code `invalid_body`, in the API's own error shape.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
        ApiError::bad_request("invalid_body", rejection.body_text())
    }
}

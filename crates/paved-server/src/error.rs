//! One error type for every handler: a status, a stable code, Backstage's error envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paved_api::{ApiProblem, ErrorBody, ErrorResponse, ErrorStatus};
use paved_catalog::CatalogError;
use paved_catalog::filter::FilterError;
use paved_catalog::query::CursorError;
use paved_engine::{ErrorType, LocalError};
use paved_scaffolder::ScaffolderError;
use paved_store::StoreError;
use paved_template::bundle::RenderFailure;
use paved_template_registry::RegistryError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Scaffolder(#[from] ScaffolderError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Cursor(#[from] CursorError),
    #[error(transparent)]
    Engine(#[from] LocalError),
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
                CatalogError::ProvidedLocation(_) => {
                    (StatusCode::CONFLICT, "ConflictError", "provided_location")
                }
                CatalogError::Stopping { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailableError",
                    "stopping",
                ),
            },
            ApiError::Registry(error) => classify_registry(error),
            ApiError::Scaffolder(error) => match error {
                ScaffolderError::Registry(error) => classify_registry(error),
                ScaffolderError::InvalidRequest(_) => {
                    (StatusCode::BAD_REQUEST, "InputError", "invalid_request")
                }
                ScaffolderError::UnknownOwner(_) => {
                    (StatusCode::BAD_REQUEST, "InputError", "unknown_owner")
                }
                ScaffolderError::NameTaken(_) => {
                    (StatusCode::CONFLICT, "ConflictError", "service_exists")
                }
                ScaffolderError::TaskNotFound(_) => {
                    (StatusCode::NOT_FOUND, "NotFoundError", "task_not_found")
                }
                ScaffolderError::ServiceNotFound(_) => {
                    (StatusCode::NOT_FOUND, "NotFoundError", "service_not_found")
                }
                ScaffolderError::Store(_) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "Error", "internal")
                }
            },
            ApiError::Engine(error) => classify_engine(error),
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
            ApiError::Registry(error) | ApiError::Scaffolder(ScaffolderError::Registry(error)) => {
                registry_problems(error)
            }
            ApiError::Engine(LocalError::Invalid { problems, .. }) => problems
                .iter()
                .map(|problem| ApiProblem {
                    field: Some(problem.field.clone()),
                    rule: problem.rule.to_owned(),
                    message: problem.message.clone(),
                    ..ApiProblem::default()
                })
                .collect(),
            ApiError::Engine(LocalError::UnknownReference { field, message }) => {
                vec![ApiProblem {
                    field: Some((*field).to_owned()),
                    rule: "git-reference".to_owned(),
                    message: message.clone(),
                    ..ApiProblem::default()
                }]
            }
            _ => Vec::new(),
        }
    }
}

/// Status, name and code of a local engine error. Exhaustive, so a new variant forces a
/// decision.
fn classify_engine(error: &LocalError) -> (StatusCode, &'static str, &'static str) {
    match error {
        LocalError::Invalid { .. } => (StatusCode::BAD_REQUEST, "InputError", "invalid_request"),
        LocalError::UnknownReference { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "InputError",
            "unknown_reference",
        ),
        LocalError::NotFound { code, .. } => (StatusCode::NOT_FOUND, "NotFoundError", code),
        LocalError::Ecs(error) => match error.kind {
            ErrorType::ClusterNotFoundException => {
                (StatusCode::NOT_FOUND, "NotFoundError", "cluster_not_found")
            }
            ErrorType::ServiceNotFoundException => {
                (StatusCode::NOT_FOUND, "NotFoundError", "service_not_found")
            }
            ErrorType::ResourceNotFoundException => {
                (StatusCode::NOT_FOUND, "NotFoundError", "not_found")
            }
            ErrorType::ServerException => (StatusCode::INTERNAL_SERVER_ERROR, "Error", "internal"),
            ErrorType::ClientException
            | ErrorType::InvalidParameterException
            | ErrorType::ClusterContainsServicesException
            | ErrorType::ClusterContainsTasksException
            | ErrorType::ServiceNotActiveException
            | ErrorType::UnknownOperationException
            | ErrorType::SerializationException => {
                (StatusCode::BAD_REQUEST, "InputError", "invalid_request")
            }
        },
        LocalError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Error", "internal"),
    }
}

/// The problems behind a registry error: bundle problems with file and line, incompatible
/// or invalid inputs with the input as `field`, a render error with its file and line.
fn registry_problems(error: &RegistryError) -> Vec<ApiProblem> {
    let input_problem = |input: &str, rule: String, message: &str| ApiProblem {
        field: Some(input.to_owned()),
        rule,
        message: message.to_owned(),
        ..ApiProblem::default()
    };
    match error {
        RegistryError::InvalidBundle(problems) => {
            problems.iter().cloned().map(ApiProblem::from).collect()
        }
        RegistryError::Incompatible { problems, .. } => problems
            .iter()
            .map(|problem| {
                input_problem(&problem.input, problem.rule.to_string(), &problem.message)
            })
            .collect(),
        RegistryError::Render(RenderFailure::Inputs { problems, .. }) => problems
            .iter()
            .map(|problem| input_problem(&problem.input, problem.rule.clone(), &problem.message))
            .collect(),
        RegistryError::Render(RenderFailure::Render(error)) => vec![ApiProblem {
            file: error.location().map(|at| at.file.clone()),
            line: error.location().and_then(|at| at.line),
            rule: error.rule().to_owned(),
            message: error.to_string(),
            ..ApiProblem::default()
        }],
        _ => Vec::new(),
    }
}

/// Status, name and code of a registry error. Exhaustive, so a new variant forces a decision.
fn classify_registry(error: &RegistryError) -> (StatusCode, &'static str, &'static str) {
    let not_found = |code| (StatusCode::NOT_FOUND, "NotFoundError", code);
    let input = |code| (StatusCode::BAD_REQUEST, "InputError", code);
    let conflict = |code| (StatusCode::CONFLICT, "ConflictError", code);
    match error {
        RegistryError::TemplateNotFound(_) => not_found("template_not_found"),
        RegistryError::VersionNotFound { .. } => not_found("template_version_not_found"),
        RegistryError::NoPublishedVersion { .. } => not_found("no_published_version"),
        RegistryError::SyncNotFound(_) => not_found("template_sync_not_found"),
        RegistryError::Selector(_) => input("invalid_version"),
        RegistryError::Source(_) => input("invalid_bundle_source"),
        RegistryError::InvalidBundle(_) => input("invalid_bundle"),
        RegistryError::InvalidRequest(_) => input("invalid_request"),
        RegistryError::Incompatible { .. } => input("incompatible_version"),
        RegistryError::Render(RenderFailure::Inputs { .. }) => input("invalid_inputs"),
        RegistryError::Render(RenderFailure::Render(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "InputError",
            "render_failed",
        ),
        RegistryError::KindMismatch { .. } => conflict("template_kind_mismatch"),
        RegistryError::InvalidTransition { .. } => conflict("invalid_version_transition"),
        RegistryError::Conflict { .. } => conflict("version_conflict"),
        RegistryError::Store(_) | RegistryError::Catalog(_) | RegistryError::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Error", "internal")
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

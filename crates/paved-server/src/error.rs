//! One error type for every handler: a status, a stable code, Backstage's error envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paved_api::ErrorCode;
use paved_api::{ApiProblem, ErrorBody, ErrorResponse, ErrorStatus};
use paved_catalog::CatalogError;
use paved_catalog::filter::FilterError;
use paved_catalog::query::CursorError;
use paved_engine::ErrorType;
use paved_engine_local::{LocalError, Missing};
use paved_jobs::JobError;
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
    #[error(transparent)]
    Jobs(#[from] JobError),
    #[error(transparent)]
    Forbidden(#[from] paved_policy::Denied),
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    /// The call's audit record could not be written (see `access::mutation`).
    #[error("the audit log cannot be written, so the call was not done: {0}")]
    AuditUnavailable(paved_store::StoreError),
    #[error("{0}")]
    EntityNotFound(String),
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Unauthenticated,
    #[error("the token is not valid: send the admin token as `Authorization: Bearer <token>`")]
    InvalidToken,
    #[error("{}", payload_too_large(*.limit))]
    PayloadTooLarge { limit: Option<usize> },
    /// An error answer of the HTTP layer (no route, a method a route does not take, a
    /// timeout), put in the envelope by `http::harden`.
    #[error("{message}")]
    Http {
        status: StatusCode,
        code: ErrorCode,
        message: String,
    },
}

fn payload_too_large(limit: Option<usize>) -> String {
    match limit {
        Some(limit) => format!("the request body is over this route's limit of {limit} bytes"),
        None => "the request body is over this route's limit".to_owned(),
    }
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        self.classify().2.as_str()
    }

    /// Status, Backstage error name and stable code. Exhaustive, so a new variant forces a
    /// decision; this is the one place codes are assigned.
    fn classify(&self) -> (StatusCode, &'static str, ErrorCode) {
        match self {
            ApiError::Catalog(error) => match error {
                CatalogError::Store(StoreError::LocationExists { .. }) => (
                    StatusCode::CONFLICT,
                    "ConflictError",
                    ErrorCode::LocationExists,
                ),
                CatalogError::Store(_) | CatalogError::Task(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Error",
                    ErrorCode::Internal,
                ),
                CatalogError::Busy(_) => (
                    StatusCode::CONFLICT,
                    "ConflictError",
                    ErrorCode::LocationBusy,
                ),
                CatalogError::Target(_) => (
                    StatusCode::BAD_REQUEST,
                    "InputError",
                    ErrorCode::InvalidLocation,
                ),
                CatalogError::Unreadable { .. } => (
                    StatusCode::BAD_REQUEST,
                    "InputError",
                    ErrorCode::LocationUnreadable,
                ),
                CatalogError::LocationNotFound(_) => (
                    StatusCode::NOT_FOUND,
                    "NotFoundError",
                    ErrorCode::LocationNotFound,
                ),
                CatalogError::EntityNotFound(_) => (
                    StatusCode::NOT_FOUND,
                    "NotFoundError",
                    ErrorCode::EntityNotFound,
                ),
                CatalogError::ProvidedLocation(_) => (
                    StatusCode::CONFLICT,
                    "ConflictError",
                    ErrorCode::ProvidedLocation,
                ),
                CatalogError::Stopping { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailableError",
                    ErrorCode::Stopping,
                ),
            },
            ApiError::Registry(error) => classify_registry(error),
            ApiError::Scaffolder(error) => match error {
                ScaffolderError::Registry(error) => classify_registry(error),
                ScaffolderError::InvalidRequest(_) => (
                    StatusCode::BAD_REQUEST,
                    "InputError",
                    ErrorCode::InvalidRequest,
                ),
                ScaffolderError::UnknownOwner(_) => (
                    StatusCode::BAD_REQUEST,
                    "InputError",
                    ErrorCode::UnknownOwner,
                ),
                ScaffolderError::NameTaken(_) | ScaffolderError::NameClash(_) => (
                    StatusCode::CONFLICT,
                    "ConflictError",
                    ErrorCode::ServiceExists,
                ),

                ScaffolderError::ServiceNotFound(_) => (
                    StatusCode::NOT_FOUND,
                    "NotFoundError",
                    ErrorCode::ServiceNotFound,
                ),
                ScaffolderError::Jobs(error) => classify_jobs(error),
                ScaffolderError::Store(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Error",
                    ErrorCode::Internal,
                ),
            },
            ApiError::Jobs(error) => classify_jobs(error),
            ApiError::Forbidden(denied) => match denied.principal {
                paved_model::access::Principal::Anonymous => (
                    StatusCode::UNAUTHORIZED,
                    "AuthenticationError",
                    ErrorCode::Unauthenticated,
                ),
                _ => (
                    StatusCode::FORBIDDEN,
                    "NotAllowedError",
                    ErrorCode::Forbidden,
                ),
            },
            ApiError::Engine(error) => classify_engine(error),
            ApiError::Filter(_) => (
                StatusCode::BAD_REQUEST,
                "InputError",
                ErrorCode::InvalidFilter,
            ),
            ApiError::Cursor(_) => (
                StatusCode::BAD_REQUEST,
                "InputError",
                ErrorCode::InvalidCursor,
            ),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, "InputError", *code),
            ApiError::AuditUnavailable(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                ErrorCode::AuditUnavailable,
            ),
            ApiError::EntityNotFound(_) => (
                StatusCode::NOT_FOUND,
                "NotFoundError",
                ErrorCode::EntityNotFound,
            ),
            ApiError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "AuthenticationError",
                ErrorCode::InvalidToken,
            ),
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "AuthenticationError",
                ErrorCode::Unauthenticated,
            ),
            ApiError::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLargeError",
                ErrorCode::PayloadTooLarge,
            ),
            ApiError::Http { status, code, .. } => {
                let name = match *status {
                    StatusCode::NOT_FOUND => "NotFoundError",
                    StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowedError",
                    status if status.is_server_error() => "Error",
                    _ => "InputError",
                };
                (*status, name, *code)
            }
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

/// Status, name and code of a job runner error. Exhaustive, so a new variant forces a decision.
fn classify_jobs(error: &JobError) -> (StatusCode, &'static str, ErrorCode) {
    match error {
        JobError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            "NotFoundError",
            ErrorCode::JobNotFound,
        ),
        JobError::Finished(_) => (
            StatusCode::CONFLICT,
            "ConflictError",
            ErrorCode::JobFinished,
        ),
        JobError::SubjectBusy(_) => (
            StatusCode::CONFLICT,
            "ConflictError",
            ErrorCode::ServiceExists,
        ),
        JobError::UnknownKind(_) | JobError::Store(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            ErrorCode::Internal,
        ),
    }
}

/// Status, name and code of a local engine error. Exhaustive, so a new variant forces a
/// decision.
fn classify_engine(error: &LocalError) -> (StatusCode, &'static str, ErrorCode) {
    match error {
        LocalError::Invalid { .. } => (
            StatusCode::BAD_REQUEST,
            "InputError",
            ErrorCode::InvalidRequest,
        ),
        LocalError::UnknownReference { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "InputError",
            ErrorCode::UnknownReference,
        ),
        LocalError::NotFound { missing, .. } => (
            StatusCode::NOT_FOUND,
            "NotFoundError",
            match missing {
                Missing::Repository => ErrorCode::RepositoryNotFound,
                Missing::Secret => ErrorCode::SecretNotFound,
                Missing::EngineService => ErrorCode::EngineServiceNotFound,
                Missing::EngineTask => ErrorCode::EngineTaskNotFound,
                Missing::Cluster => ErrorCode::ClusterNotFound,
                Missing::LoadBalancer => ErrorCode::LoadBalancerNotFound,
            },
        ),
        LocalError::Ecs(error) => match error.kind {
            ErrorType::ClusterNotFoundException => (
                StatusCode::NOT_FOUND,
                "NotFoundError",
                ErrorCode::ClusterNotFound,
            ),
            ErrorType::ServiceNotFoundException => (
                StatusCode::NOT_FOUND,
                "NotFoundError",
                ErrorCode::EngineServiceNotFound,
            ),
            ErrorType::ResourceNotFoundException => (
                StatusCode::NOT_FOUND,
                "NotFoundError",
                ErrorCode::EcsResourceNotFound,
            ),
            ErrorType::ServerException => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                ErrorCode::Internal,
            ),
            ErrorType::AccessDeniedException => (
                StatusCode::FORBIDDEN,
                "NotAllowedError",
                ErrorCode::Forbidden,
            ),
            ErrorType::ClientException
            | ErrorType::InvalidParameterException
            | ErrorType::ClusterContainsServicesException
            | ErrorType::ClusterContainsTasksException
            | ErrorType::ServiceNotActiveException
            | ErrorType::UnknownOperationException
            | ErrorType::SerializationException => (
                StatusCode::BAD_REQUEST,
                "InputError",
                ErrorCode::EcsRequestRefused,
            ),
        },
        LocalError::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            ErrorCode::Internal,
        ),
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
fn classify_registry(error: &RegistryError) -> (StatusCode, &'static str, ErrorCode) {
    let not_found = |code| (StatusCode::NOT_FOUND, "NotFoundError", code);
    let input = |code| (StatusCode::BAD_REQUEST, "InputError", code);
    let conflict = |code| (StatusCode::CONFLICT, "ConflictError", code);
    match error {
        RegistryError::TemplateNotFound { .. } => not_found(ErrorCode::TemplateNotFound),
        RegistryError::VersionNotFound { .. } => not_found(ErrorCode::TemplateVersionNotFound),
        RegistryError::NoPublishedVersion { .. } => not_found(ErrorCode::NoPublishedVersion),
        RegistryError::SyncNotFound(_) => not_found(ErrorCode::TemplateSyncNotFound),
        RegistryError::Selector(_) => input(ErrorCode::InvalidVersion),
        RegistryError::Source(_) => input(ErrorCode::InvalidBundleSource),
        RegistryError::InvalidBundle(_) => input(ErrorCode::InvalidBundle),
        RegistryError::InvalidRequest(_) => input(ErrorCode::InvalidRequest),
        RegistryError::UnknownCompatibleEnvironment { .. } => {
            input(ErrorCode::UnknownCompatibleEnvironment)
        }
        RegistryError::Incompatible { .. } => input(ErrorCode::IncompatibleVersion),
        RegistryError::Render(RenderFailure::Inputs { .. }) => input(ErrorCode::InvalidInputs),
        RegistryError::Render(RenderFailure::Render(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "InputError",
            ErrorCode::RenderFailed,
        ),
        RegistryError::KindMismatch { .. } => conflict(ErrorCode::TemplateKindMismatch),
        RegistryError::InvalidTransition { .. } => conflict(ErrorCode::InvalidVersionTransition),
        RegistryError::Conflict { .. } => conflict(ErrorCode::VersionConflict),
        RegistryError::Store(_) | RegistryError::Catalog(_) | RegistryError::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            ErrorCode::Internal,
        ),
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
                code: code.as_str().to_owned(),
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
        // A body over the route's limit (declared or streamed) is 413, not a bad body;
        // `http::with_body_limit` names the limit in the answer.
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::PayloadTooLarge { limit: None };
        }
        ApiError::bad_request(ErrorCode::InvalidBody, rejection.body_text())
    }
}

//! [`ErrorCode`]: every stable error code the API answers, each with one meaning.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Generates [`ErrorCode`] with its wire name.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A stable, machine-readable error code. One code means one thing; the server assigns
        /// them in one place (`ApiError::classify`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

error_codes! {
    /// The server failed; the log has the cause.
    Internal = "internal",
    /// The call's audit record could not be written, so the call did not count (a change in
    /// the store was not made; one outside it, such as an image build, may have been).
    AuditUnavailable = "audit_unavailable",
    /// No credential was sent for a call that needs one.
    Unauthenticated = "unauthenticated",
    /// The credential sent is not valid.
    InvalidToken = "invalid_token",
    /// The policy point refused the call; the message names the rule.
    Forbidden = "forbidden",
    /// The request body is not valid JSON of the expected shape.
    InvalidBody = "invalid_body",
    /// A request field or parameter breaks a rule (the problems say which).
    InvalidRequest = "invalid_request",
    /// A query parameter is not valid (its message names it and what is accepted).
    InvalidParameter = "invalid_parameter",
    /// A bundle archive (base64 `.tar.gz`) cannot be decoded.
    InvalidArchive = "invalid_archive",
    /// The request body is larger than the route accepts.
    PayloadTooLarge = "payload_too_large",
    /// Paved is shutting down and stopped the work; try again once it is back.
    Stopping = "stopping",
    /// The request took too long and was given up.
    RequestTimeout = "request_timeout",
    /// No route answers this path.
    RouteNotFound = "route_not_found",
    /// The route does not answer this method.
    MethodNotAllowed = "method_not_allowed",
    /// A catalog filter cannot be parsed.
    InvalidFilter = "invalid_filter",
    /// A catalog paging cursor cannot be read.
    InvalidCursor = "invalid_cursor",
    /// A string is not an entity reference.
    InvalidEntityRef = "invalid_entity_ref",
    EntityNotFound = "entity_not_found",
    /// A location's type or target is not valid.
    InvalidLocation = "invalid_location",
    /// A location cannot be read at all.
    LocationUnreadable = "location_unreadable",
    LocationExists = "location_exists",
    LocationNotFound = "location_not_found",
    /// Another replica is refreshing the location.
    LocationBusy = "location_busy",
    /// The location holds entities Paved provides itself.
    ProvidedLocation = "provided_location",
    TemplateNotFound = "template_not_found",
    TemplateVersionNotFound = "template_version_not_found",
    NoPublishedVersion = "no_published_version",
    TemplateSyncNotFound = "template_sync_not_found",
    /// A version selector (`1`, `1.2`) cannot be parsed.
    InvalidVersion = "invalid_version",
    /// A bundle source (archive, git target) cannot be read.
    InvalidBundleSource = "invalid_bundle_source",
    /// A bundle's files break the bundle rules (the problems say which).
    InvalidBundle = "invalid_bundle",
    /// A service template names a compatible environment template (and major) that does not exist.
    UnknownCompatibleEnvironment = "unknown_compatible_environment",
    /// A new minor would break inputs valid under the previous one.
    IncompatibleVersion = "incompatible_version",
    /// Inputs do not match the version's input schema.
    InvalidInputs = "invalid_inputs",
    /// The render context file is not valid.
    InvalidContext = "invalid_context",
    /// A template failed to render.
    RenderFailed = "render_failed",
    TemplateKindMismatch = "template_kind_mismatch",
    InvalidVersionTransition = "invalid_version_transition",
    /// Another replica registered the same version number first.
    VersionConflict = "version_conflict",
    /// The owner is not a Group in the catalog.
    UnknownOwner = "unknown_owner",
    /// The service's name is taken: by a service, a catalog Component or System the new
    /// service would create, or a repository; the message names which and the fix.
    ServiceExists = "service_exists",
    ServiceNotFound = "service_not_found",
    JobNotFound = "job_not_found",
    /// The job has already ended.
    JobFinished = "job_finished",
    /// A git reference the repository does not have.
    UnknownReference = "unknown_reference",
    /// A Paved service has no repository to build from.
    RepositoryNotFound = "repository_not_found",
    SecretNotFound = "secret_not_found",
    ClusterNotFound = "cluster_not_found",
    EngineServiceNotFound = "engine_service_not_found",
    EngineTaskNotFound = "engine_task_not_found",
    LoadBalancerNotFound = "load_balancer_not_found",
    /// An ECS resource (by ARN) does not exist.
    EcsResourceNotFound = "ecs_resource_not_found",
    /// The engine refused an ECS request (the message carries ECS's reason).
    EcsRequestRefused = "ecs_request_refused",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn codes_are_unique() {
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "two error codes share a name");
    }
}

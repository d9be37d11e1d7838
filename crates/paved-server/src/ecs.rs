//! `POST /ecs`: Amazon ECS's JSON protocol (`X-Amz-Target:
//! AmazonEC2ContainerServiceV20141113.<Operation>`, `application/x-amz-json-1.1`), answered by
//! `paved-engine`, so `aws ecs --endpoint-url http://HOST/ecs` and the AWS SDKs work.
//!
//! Every call must be signed with AWS SigV4 (access key id `paved`, the admin token as the
//! secret; see [`crate::sigv4`]) or carry the API's own `Authorization: Bearer TOKEN`, reads
//! included, as ECS requires. Mutations are audited with
//! actor `admin` (or `invalid-signature` when refused). Errors take the protocol's shape:
//! `{"__type": "ClientException", "message": "..."}`, HTTP 400 (500 for `ServerException`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use paved_engine::{EcsError, ErrorType, Operation};
use serde_json::{Value, json};

use crate::AppState;
use paved_model::access::{AuditRecord, Principal, Resource, ResourceKind};

use crate::access::Caller;
use crate::sigv4::{self, SignedRequest};

/// The `X-Amz-Target` prefix of ECS operations.
const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

pub(crate) fn router() -> Router<AppState> {
    crate::http::with_body_limit(
        Router::new()
            .route("/ecs", post(call))
            .route("/ecs/", post(call)),
        crate::http::ECS_BODY_BYTES,
    )
}

async fn call(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = caller.origin;
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let operation = target
        .strip_prefix(TARGET_PREFIX)
        .and_then(Operation::parse);
    let signed = SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or_default(),
        headers: &headers,
        body: &body,
    };
    let now = jiff::Timestamp::now().as_second();
    // The API's own credential (`Authorization: Bearer TOKEN`) is accepted as well as SigV4.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let verified = match bearer {
        Some(token) if state.auth.is_admin(token) => Ok(()),
        Some(_) => Err(sigv4::Refusal {
            kind: "UnrecognizedClientException",
            message: "The bearer token is not valid.".to_owned(),
        }),
        None => sigv4::verify(&signed, state.auth.sigv4_secret(), now),
    };
    if let Err(refusal) = verified {
        tracing::warn!(
            kind = refusal.kind,
            target,
            "refused an unsigned or badly signed ECS call"
        );
        if let Some(action) = operation.and_then(Operation::audit_action) {
            let request = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let resource = operation
                .map(|op| op.audit_target(&request))
                .unwrap_or_default();
            let record = AuditRecord::new(
                Principal::Anonymous,
                action,
                Resource::new(ResourceKind::EcsCluster, resource),
                origin.clone(),
            );
            state.policy.record_refusal(&record, refusal.kind).await;
        }
        return respond(
            StatusCode::BAD_REQUEST,
            json!({"__type": refusal.kind, "message": refusal.message}),
        );
    }
    let Some(operation) = operation else {
        let error = EcsError::new(
            ErrorType::UnknownOperationException,
            format!("The operation `{target}` is not known to this endpoint."),
        );
        return error_response(&error);
    };
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(error) => {
                return error_response(&EcsError::new(
                    ErrorType::SerializationException,
                    format!("The request body is not JSON: {error}"),
                ));
            }
        }
    };
    let record = match operation.audit_action() {
        Some(action) => {
            let resource =
                Resource::new(ResourceKind::EcsCluster, operation.audit_target(&request));
            match state
                .policy
                .authorize(&Principal::Admin, action, resource, &origin)
                .await
            {
                Ok(record) => Some(record),
                Err(denied) => {
                    return error_response(&EcsError::new(
                        ErrorType::AccessDeniedException,
                        denied.to_string(),
                    ));
                }
            }
        }
        None => None,
    };
    let result = state.engine.handle(operation, request).await;
    if let Some(record) = &record {
        let outcome = result
            .as_ref()
            .map(|_| ())
            .map_err(|error| format!("{}: {}", error.kind.as_str(), error.message));
        if let Err(error) = state.policy.settle(record, outcome).await {
            return error_response(&EcsError::new(
                ErrorType::ServerException,
                format!("The audit log cannot be written, so the call was not done: {error}"),
            ));
        }
    }
    match result {
        Ok(response) => respond(StatusCode::OK, response),
        Err(error) => error_response(&error),
    }
}

fn error_response(error: &EcsError) -> Response {
    let status = if error.kind.is_server_fault() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    respond(status, error.body())
}

/// An answer in the protocol's error shape, for errors of the HTTP layer (a body over the
/// limit, no such route).
pub(crate) fn protocol_error(status: StatusCode, kind: &str, message: &str) -> Response {
    respond(status, json!({"__type": kind, "message": message}))
}

fn respond(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

//! `POST /ecs`: Amazon ECS's JSON protocol (`X-Amz-Target:
//! AmazonEC2ContainerServiceV20141113.<Operation>`, `application/x-amz-json-1.1`), answered by
//! the engine behind `AppState::engine` ([`paved_engine::Engine`]), so
//! `aws ecs --endpoint-url http://HOST/ecs` and the AWS SDKs work.
//!
//! This is the only place ECS's JSON is decoded and encoded: [`call`] decodes the body into
//! the operation's typed request (ECS's error types for bad input), passes a mutation through
//! the policy point with the resource it changes (a cluster, a task definition family, a
//! service `CLUSTER/NAME`, a task `CLUSTER/ID`), calls the engine and encodes its response.
//!
//! Every call must be signed with AWS SigV4 (access key id `paved`, the admin token as the
//! secret; see [`crate::sigv4`]) or carry the API's own `Authorization: Bearer TOKEN`, reads
//! included, as ECS requires; either maps to the admin principal, as the API's token does.
//! A refused mutation is recorded as the anonymous principal's. Errors take the protocol's
//! shape: `{"__type": "ClientException", "message": "..."}`, HTTP 400 (500 for
//! `ServerException`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use paved_engine::api::*;
use paved_engine::{EcsError, Engine, ErrorType, Operation, validate};
use paved_model::access::{AuditRecord, CallOrigin, Principal, Resource, ResourceKind};
use paved_policy::PolicyPoint;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::AppState;
use crate::access::Caller;
use crate::sigv4::{self, SignedRequest};

/// The `X-Amz-Target` prefix of ECS operations.
const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

pub(crate) fn router() -> Router<AppState> {
    crate::http::with_body_limit(
        Router::new()
            .route("/ecs", post(handle))
            .route("/ecs/", post(handle)),
        crate::http::ECS_BODY_BYTES,
    )
}

async fn handle(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = caller.origin.clone();
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
    // The API's own credential (`Authorization: Bearer TOKEN`) is accepted as well as SigV4;
    // the authentication middleware has already turned a valid token into the caller.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let verified = match bearer {
        Some(token) if state.auth.is_admin(token) => Ok(caller.principal.clone()),
        Some(_) => Err(sigv4::Refusal {
            kind: "UnrecognizedClientException",
            message: "The bearer token is not valid.".to_owned(),
        }),
        None => sigv4::verify(&signed, state.auth.sigv4_secret(), now)
            .map(|()| crate::access::admin_principal()),
    };
    let principal = match verified {
        Ok(principal) => principal,
        Err(refusal) => {
            tracing::warn!(
                kind = refusal.kind,
                target,
                "refused an unsigned or badly signed ECS call"
            );
            if let Some(operation) = operation
                && let Some(action) = operation.audit_action()
            {
                let request = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let record = AuditRecord::new(
                    Principal::Anonymous,
                    action,
                    resource_of(operation, &request),
                    origin,
                );
                state.policy.record_refusal(&record, refusal.kind).await;
            }
            return respond(
                StatusCode::BAD_REQUEST,
                json!({"__type": refusal.kind, "message": refusal.message}),
            );
        }
    };
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
    let caller = EcsCaller {
        policy: &state.policy,
        principal: &principal,
        origin: &caller.origin,
    };
    match call(state.engine.as_ref(), &caller, operation, request).await {
        Ok(response) => respond(StatusCode::OK, response),
        Err(error) => error_response(&error),
    }
}

/// Who makes an ECS call, and the policy point its mutations pass.
#[derive(Debug, Clone, Copy)]
pub struct EcsCaller<'a> {
    pub policy: &'a PolicyPoint,
    pub principal: &'a Principal,
    pub origin: &'a CallOrigin,
}

/// Runs one ECS operation on its JSON request (`null` for none) and returns its JSON
/// response: decode, authorise (mutations), call `engine`, encode. Every mutation leaves
/// exactly one audit record: written by the engine in the change's transaction, or by
/// `settle` when the call failed or wrote nothing.
pub async fn call(
    engine: &dyn Engine,
    caller: &EcsCaller<'_>,
    operation: Operation,
    request: Value,
) -> Result<Value, EcsError> {
    let request = if request.is_null() {
        json!({})
    } else {
        request
    };
    if !request.is_object() {
        return Err(EcsError::new(
            ErrorType::SerializationException,
            "The request body must be a JSON object.",
        ));
    }
    let body = &request;
    match operation {
        Operation::CreateCluster => {
            mutate(
                caller,
                operation,
                body,
                CreateClusterRequest::resource,
                async |request, audit| engine.create_cluster(request, audit).await,
            )
            .await
        }
        Operation::DescribeClusters => {
            read(operation, body, async |request| {
                engine.describe_clusters(request).await
            })
            .await
        }
        Operation::ListClusters => {
            read(operation, body, async |request| {
                engine.list_clusters(request).await
            })
            .await
        }
        Operation::DeleteCluster => {
            mutate(
                caller,
                operation,
                body,
                DeleteClusterRequest::resource,
                async |request, audit| engine.delete_cluster(request, audit).await,
            )
            .await
        }
        Operation::RegisterTaskDefinition => {
            mutate(
                caller,
                operation,
                body,
                RegisterTaskDefinitionRequest::resource,
                async |request, audit| engine.register_task_definition(request, audit).await,
            )
            .await
        }
        Operation::DescribeTaskDefinition => {
            read(operation, body, async |request| {
                engine.describe_task_definition(request).await
            })
            .await
        }
        Operation::DeregisterTaskDefinition => {
            mutate(
                caller,
                operation,
                body,
                DeregisterTaskDefinitionRequest::resource,
                async |request, audit| engine.deregister_task_definition(request, audit).await,
            )
            .await
        }
        Operation::ListTaskDefinitions => {
            read(operation, body, async |request| {
                engine.list_task_definitions(request).await
            })
            .await
        }
        Operation::ListTaskDefinitionFamilies => {
            read(operation, body, async |request| {
                engine.list_task_definition_families(request).await
            })
            .await
        }
        Operation::TagResource => {
            mutate(
                caller,
                operation,
                body,
                TagResourceRequest::resource,
                async |request, audit| engine.tag_resource(request, audit).await,
            )
            .await
        }
        Operation::UntagResource => {
            mutate(
                caller,
                operation,
                body,
                UntagResourceRequest::resource,
                async |request, audit| engine.untag_resource(request, audit).await,
            )
            .await
        }
        Operation::ListTagsForResource => {
            read(operation, body, async |request| {
                engine.list_tags_for_resource(request).await
            })
            .await
        }
        Operation::CreateService => {
            mutate(
                caller,
                operation,
                body,
                CreateServiceRequest::resource,
                async |request, audit| engine.create_service(request, audit).await,
            )
            .await
        }
        Operation::UpdateService => {
            mutate(
                caller,
                operation,
                body,
                UpdateServiceRequest::resource,
                async |request, audit| engine.update_service(request, audit).await,
            )
            .await
        }
        Operation::DeleteService => {
            mutate(
                caller,
                operation,
                body,
                DeleteServiceRequest::resource,
                async |request, audit| engine.delete_service(request, audit).await,
            )
            .await
        }
        Operation::DescribeServices => {
            read(operation, body, async |request| {
                engine.describe_services(request).await
            })
            .await
        }
        Operation::ListServices => {
            read(operation, body, async |request| {
                engine.list_services(request).await
            })
            .await
        }
        Operation::RunTask => {
            mutate(
                caller,
                operation,
                body,
                RunTaskRequest::resource,
                async |request, audit| engine.run_task(request, audit).await,
            )
            .await
        }
        Operation::StopTask => {
            mutate(
                caller,
                operation,
                body,
                StopTaskRequest::resource,
                async |request, audit| engine.stop_task(request, audit).await,
            )
            .await
        }
        Operation::ListTasks => {
            read(operation, body, async |request| {
                engine.list_tasks(request).await
            })
            .await
        }
        Operation::DescribeTasks => {
            read(operation, body, async |request| {
                engine.describe_tasks(request).await
            })
            .await
        }
    }
}

/// A read: decode, call, encode.
async fn read<Request: DeserializeOwned, Response: Serialize>(
    operation: Operation,
    body: &Value,
    run: impl AsyncFnOnce(Request) -> Result<Response, EcsError>,
) -> Result<Value, EcsError> {
    encode(run(decode(operation, body)?).await?)
}

/// A mutation: decode, authorise on the resource it changes, call with the audit record,
/// settle. A body that does not decode is still authorised (on the resource the raw body
/// names) and recorded as failed, so every mutation leaves one record.
async fn mutate<Request: DeserializeOwned, Response: Serialize>(
    caller: &EcsCaller<'_>,
    operation: Operation,
    body: &Value,
    resource: fn(&Request) -> Resource,
    run: impl AsyncFnOnce(Request, &AuditRecord) -> Result<Response, EcsError>,
) -> Result<Value, EcsError> {
    let Some(action) = operation.audit_action() else {
        unreachable!("{} is a mutation", operation.name());
    };
    let decoded: Result<Request, EcsError> = decode(operation, body);
    let target = match &decoded {
        Ok(request) => resource(request),
        Err(_) => resource_of(operation, body),
    };
    let record = caller
        .policy
        .authorize(caller.principal, action, target, caller.origin)
        .await
        .map_err(|denied| EcsError::new(ErrorType::AccessDeniedException, denied.to_string()))?;
    let result = match decoded {
        Ok(request) => run(request, &record).await,
        Err(error) => Err(error),
    };
    caller
        .policy
        .settle(
            &record,
            result
                .as_ref()
                .map(|_| ())
                .map_err(|error| format!("{}: {}", error.kind.as_str(), error.message)),
        )
        .await
        .map_err(|error| {
            EcsError::new(
                ErrorType::ServerException,
                format!("The audit log cannot be written, so the call was not done: {error}"),
            )
        })?;
    encode(result?)
}

/// The typed request of `operation` from its JSON body, with ECS's errors: the problems
/// ECS's checks find in the body (RegisterTaskDefinition, RunTask), a missing required field
/// (`InvalidParameterException`), or a value of the wrong shape (`ClientException`).
fn decode<Request: DeserializeOwned>(
    operation: Operation,
    body: &Value,
) -> Result<Request, EcsError> {
    Request::deserialize(body).map_err(|error| {
        let checked = match operation {
            Operation::RegisterTaskDefinition => validate::register_task_definition(body),
            Operation::RunTask => validate::run_task(body),
            _ => Ok(()),
        };
        if let Err(problems) = checked {
            return problems;
        }
        let message = error.to_string();
        match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(field) => EcsError::invalid_parameter(format!("`{field}` must be specified.")),
            None => EcsError::client(format!("The request is invalid: {message}")),
        }
    })
}

fn encode(response: impl Serialize) -> Result<Value, EcsError> {
    Ok(serde_json::to_value(response).expect("ECS responses serialise"))
}

/// The resource a mutation's raw body names, for a call refused or failed before its typed
/// request could be read: the field that names it, whatever its shape.
fn resource_of(operation: Operation, body: &Value) -> Resource {
    let (kind, field) = match operation {
        Operation::CreateCluster => (ResourceKind::EcsCluster, "clusterName"),
        Operation::DeleteCluster => (ResourceKind::EcsCluster, "cluster"),
        Operation::RegisterTaskDefinition => (ResourceKind::EcsTaskDefinition, "family"),
        Operation::DeregisterTaskDefinition | Operation::RunTask => {
            (ResourceKind::EcsTaskDefinition, "taskDefinition")
        }
        Operation::CreateService => (ResourceKind::EcsService, "serviceName"),
        Operation::UpdateService | Operation::DeleteService => {
            (ResourceKind::EcsService, "service")
        }
        Operation::StopTask => (ResourceKind::EcsTask, "task"),
        _ => (ResourceKind::EcsCluster, "resourceArn"),
    };
    let name = body.get(field).and_then(Value::as_str).unwrap_or_default();
    Resource::new(kind, name)
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

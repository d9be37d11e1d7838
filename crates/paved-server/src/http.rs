//! HTTP as a server open to a network needs it: connections that must send their headers in
//! time and are closed when idle, request bodies bounded per route (the documented limits
//! are the effective ones), one JSON error envelope for every error answer, 404, 405, 408,
//! 413 and a panic's 500 included (`/ecs` in ECS's own shape), and headers that keep
//! browsers from sniffing types or reading answers across origins.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

use crate::ApiError;
use paved_api::ErrorCode;

/// How long a client may take to send a request's headers, and how long a kept-alive
/// connection may stay idle before its next request: after it, the connection is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request body of most routes (entities to validate, queries, inputs): the
/// largest catalog file.
pub const MAX_BODY_BYTES: usize = paved_model::yaml::MAX_FILE_BYTES;

/// The largest request body of `/ecs`: ECS's largest request, a 64 KiB task definition,
/// with room to spare, so that a task definition over ECS's limit gets ECS's own error.
pub const ECS_BODY_BYTES: usize = 1024 * 1024;

/// What JSON around an archive adds to a registration's body (name, flags, overrides).
const REGISTRATION_JSON_BYTES: usize = 64 * 1024;

/// The largest body of `POST /api/templates/versions`: the largest bundle archive the
/// bundle limits allow, base64-encoded, and its JSON.
pub fn registration_body_bytes() -> usize {
    let archive = paved_template_registry::source::SourceLimits::default().max_archive_bytes();
    let archive = usize::try_from(archive).unwrap_or(usize::MAX);
    archive.div_ceil(3).saturating_mul(4) + REGISTRATION_JSON_BYTES
}

/// A route's body limit, in bytes; extractors read it from the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// `router` with request bodies of at most `bytes`: a declared length over it is refused
/// before anything is read, a body that grows over it (chunked) when it does, both with 413
/// in the route's error shape naming the limit.
pub fn with_body_limit<S>(router: Router<S>, bytes: usize) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(DefaultBodyLimit::max(bytes))
        .layer(axum::middleware::from_fn_with_state(
            BodyLimit(bytes),
            limit_body,
        ))
}

async fn limit_body(
    State(BodyLimit(limit)): State<BodyLimit>,
    mut request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let ecs = is_ecs(request.uri().path());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(ecs, limit);
    }
    request.extensions_mut().insert(BodyLimit(limit));
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // Whatever refused the body (an extractor, mid-stream), the answer names the limit.
        return too_large(ecs, limit);
    }
    response
}

fn too_large(ecs: bool, limit: usize) -> Response {
    let mut response = too_large_body(ecs, limit);
    // The rest of the body is not wanted: close rather than read it.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn too_large_body(ecs: bool, limit: usize) -> Response {
    if ecs {
        crate::ecs::protocol_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ClientException",
            &format!("The request body is over the limit of {limit} bytes."),
        )
    } else {
        ApiError::PayloadTooLarge { limit: Some(limit) }.into_response()
    }
}

fn is_ecs(path: &str) -> bool {
    path == "/ecs" || path.starts_with("/ecs/")
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json") || value.starts_with("text/html"))
}

/// The outermost middleware: every error answer not already in JSON (or a portal page) (axum's 404 and 405,
/// extractor rejections, the timeout's 408, a panic's 500) is given the API's error envelope,
/// or ECS's `{"__type", "message"}` under `/ecs`; and every answer gets headers that stop
/// type sniffing and cross-origin reads.
pub async fn harden(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let mut response = if response.status().is_client_error() || response.status().is_server_error()
    {
        if is_json(&response) {
            response
        } else {
            envelope(response, &method, &path).await
        }
    } else {
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The error envelope for an error answer that has none: its status, a stable code, and what
/// went wrong in words (the answer's own text for a client error, never for a server one).
async fn envelope(response: Response, method: &axum::http::Method, path: &str) -> Response {
    let status = response.status();
    // axum names the allowed methods only when no layer wraps the route; the OpenAPI
    // document knows them for every route.
    let allow = response.headers().get(header::ALLOW).cloned().or_else(|| {
        (status == StatusCode::METHOD_NOT_ALLOWED)
            .then(|| {
                if is_ecs(path) {
                    Some("POST".to_owned())
                } else {
                    crate::openapi::allowed_methods(path)
                }
            })
            .flatten()
            .and_then(|methods| HeaderValue::from_str(&methods).ok())
    });
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (
            ErrorCode::RouteNotFound,
            format!("no route for `{method} {path}`: the API's routes are in `/api/openapi.json`"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            match allow.as_ref().and_then(|allow| allow.to_str().ok()) {
                Some(allowed) => format!("`{path}` does not take `{method}`; it takes {allowed}"),
                None => format!("`{path}` does not take `{method}`"),
            },
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::RequestTimeout,
            "the request took too long to answer and was given up".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            "the request body is over this route's limit".to_owned(),
        ),
        status if status.is_server_error() => {
            tracing::error!(%status, %path, body = %text, "request failed");
            (
                ErrorCode::Internal,
                "internal error; see the server log".to_owned(),
            )
        }
        _ => (ErrorCode::InvalidRequest, lowercase_first(&text)),
    };
    let mut answer = if is_ecs(path) {
        let kind = match status {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => "UnknownOperationException",
            status if status.is_server_error() => "ServerException",
            _ => "ClientException",
        };
        crate::ecs::protocol_error(status, kind, &message)
    } else {
        ApiError::Http {
            status,
            code,
            message,
        }
        .into_response()
    };
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "the request is not valid".to_owned(),
    }
}

/// Serves `router` on `listener` over HTTP/1.1 until `shutdown` resolves, then lets the
/// requests in flight finish. Unlike `axum::serve`, a connection must send its headers
/// within [`HEADER_READ_TIMEOUT`] and is closed when idle that long, so slow or idle
/// clients cannot hold connections (and file descriptors) forever.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Handlers read the peer's address as `ConnectInfo`, as under `axum::serve`.
                    let service = tower::ServiceBuilder::new()
                        .map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
                            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                            request
                        })
                        .service(router.clone());
                    let service = TowerToHyperService::new(service);
                    let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%error, "connection closed with an error");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors, most likely: wait for connections to close
                    // rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// A server of one route, `GET /` → `ok`, on a free port.
    async fn start() -> (String, tokio::sync::oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("an address").to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = Router::new().route("/", get(|| async { "ok" }));
        tokio::spawn(serve_router(listener, router, async move {
            let _ = stopped.await;
        }));
        (address, stop)
    }

    /// Sends `lines` one every `every`, until the server closes the connection; returns how
    /// long after connecting that was.
    async fn closed_after(address: &str, first: &str, line: &str, every: Duration) -> Duration {
        let started = tokio::time::Instant::now();
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.write_all(first.as_bytes()).await.expect("write");
        let mut buffer = [0_u8; 1024];
        // Never closed at all is reported as "after ten timeouts", not a hang.
        while started.elapsed() < HEADER_READ_TIMEOUT * 10 {
            tokio::select! {
                read = stream.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => return started.elapsed(),
                    // An answer (to a complete request): keep waiting for the close.
                    Ok(_) => {}
                },
                () = tokio::time::sleep(every) => {
                    if stream.write_all(line.as_bytes()).await.is_err() {
                        return started.elapsed();
                    }
                }
            }
        }
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn slow_and_idle_clients_are_disconnected() {
        let (address, _stop) = start().await;
        let cases = [
            // Slowloris: one more header line every 3 s, never the end of the headers.
            (
                "GET / HTTP/1.1\r\nHost: x\r\n",
                "X-Slow: 1\r\n",
                Duration::from_secs(3),
            ),
            // Connected, silent.
            ("", "", Duration::from_secs(7)),
            // A kept-alive connection after its answer, then silent.
            (
                "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                "",
                Duration::from_secs(7),
            ),
        ];
        for (first, line, every) in cases {
            let elapsed = closed_after(&address, first, line, every).await;
            assert!(
                elapsed >= HEADER_READ_TIMEOUT
                    && elapsed < HEADER_READ_TIMEOUT + Duration::from_secs(3),
                "`{}` closed after {elapsed:?}",
                first.escape_debug()
            );
        }
    }

    #[tokio::test]
    async fn a_complete_request_is_answered() {
        let (address, _stop) = start().await;
        let mut stream = tokio::net::TcpStream::connect(&address)
            .await
            .expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
    }
}

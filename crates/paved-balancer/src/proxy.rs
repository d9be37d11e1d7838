//! Forwarding one request: route it, pick a target, send it there and stream the response back.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri, Version};

use crate::Inner;
use crate::listener::{ListenerShared, Outcome};
use crate::targets::{InFlight, TargetGroup};

/// A response body: either our own short text, or the target's body streamed through while the
/// request counts as in flight on the target.
pub(crate) struct ProxyBody {
    kind: Kind,
}

enum Kind {
    Fixed(Option<Bytes>),
    Streamed {
        body: Incoming,
        /// Dropped when the body ends or the client goes away (hyper drops the body).
        in_flight: Option<InFlight>,
    },
}

/// Handles one request from a client of `listener`, whose connection came from `remote` to `local`.
pub(crate) async fn forward(
    inner: &Inner,
    listener: &ListenerShared,
    remote: SocketAddr,
    local: SocketAddr,
    request: Request<Incoming>,
) -> Response<ProxyBody> {
    listener.count_request();
    let (response, outcome) = route_and_send(inner, listener, remote, local, request).await;
    listener.count_response(response.status().as_u16(), outcome);
    response
}

async fn route_and_send(
    inner: &Inner,
    listener: &ListenerShared,
    remote: SocketAddr,
    local: SocketAddr,
    request: Request<Incoming>,
) -> (Response<ProxyBody>, Outcome) {
    let host = match request.headers().get(header::HOST) {
        Some(host) => host.to_str().ok(),
        None => request
            .uri()
            .authority()
            .map(|authority| authority.as_str()),
    };
    let Some(target_group) = listener.route(host, request.uri().path()) else {
        return (
            fixed(
                StatusCode::NOT_FOUND,
                "no rule matched the request\n".to_owned(),
            ),
            Outcome::Response,
        );
    };
    let selected = inner
        .lock()
        .target_groups
        .get_mut(&target_group)
        .and_then(TargetGroup::select);
    let Some(in_flight) = selected else {
        let message = format!("no healthy targets in target group `{target_group}`\n");
        return (
            fixed(StatusCode::SERVICE_UNAVAILABLE, message),
            Outcome::NoTarget,
        );
    };
    let target = Arc::clone(&in_flight.target);
    let upstream = match upstream_request(request, target.addr, remote, local) {
        Ok(upstream) => upstream,
        Err(error) => {
            tracing::debug!(%error, "cannot build the request to the target");
            return (
                fixed(StatusCode::BAD_REQUEST, format!("bad request: {error}\n")),
                Outcome::Response,
            );
        }
    };
    match inner.proxy_client.request(upstream).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            let body = ProxyBody {
                kind: Kind::Streamed {
                    body,
                    in_flight: Some(in_flight),
                },
            };
            (Response::from_parts(parts, body), Outcome::Response)
        }
        Err(error) => {
            tracing::debug!(target_group, target = target.id, addr = %target.addr, %error, "target request failed");
            let message = format!(
                "target `{}` ({}) in target group `{target_group}` cannot be reached\n",
                target.id, target.addr
            );
            (
                fixed(StatusCode::BAD_GATEWAY, message),
                Outcome::TargetError,
            )
        }
    }
}

/// The client's request as the target gets it: origin form, hop-by-hop headers stripped,
/// `X-Forwarded-*` added. The Host header stays the client's.
fn upstream_request(
    request: Request<Incoming>,
    target: SocketAddr,
    remote: SocketAddr,
    local: SocketAddr,
) -> Result<Request<Incoming>, hyper::http::Error> {
    let (mut parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str());
    let uri = Uri::builder()
        .scheme("http")
        .authority(target.to_string())
        .path_and_query(path_and_query)
        .build()?;
    if !parts.headers.contains_key(header::HOST)
        && let Some(authority) = parts.uri.authority()
    {
        parts
            .headers
            .insert(header::HOST, HeaderValue::from_str(authority.as_str())?);
    }
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    // The listener's own connection answers `100-continue` when the body is read.
    parts.headers.remove(header::EXPECT);

    let forwarded_for = HeaderName::from_static("x-forwarded-for");
    let mut chain: Vec<String> = parts
        .headers
        .get_all(&forwarded_for)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::to_owned)
        .collect();
    chain.push(remote.ip().to_string());
    parts
        .headers
        .insert(&forwarded_for, HeaderValue::from_str(&chain.join(", "))?);
    parts.headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("http"),
    );
    parts.headers.insert(
        HeaderName::from_static("x-forwarded-port"),
        HeaderValue::from(local.port()),
    );
    Ok(Request::from_parts(parts, body))
}

/// Removes the headers that describe one connection rather than the message (RFC 9110 §7.6.1),
/// including those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

fn fixed(status: StatusCode, message: String) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody {
        kind: Kind::Fixed(Some(Bytes::from(message))),
    });
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match &mut self.get_mut().kind {
            Kind::Fixed(message) => {
                Poll::Ready(message.take().map(|message| Ok(Frame::data(message))))
            }
            Kind::Streamed { body, in_flight } => {
                let frame = Pin::new(&mut *body).poll_frame(cx);
                if matches!(frame, Poll::Ready(None | Some(Err(_)))) || body.is_end_stream() {
                    // The whole body has been handed to the client connection.
                    in_flight.take();
                }
                frame
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Fixed(message) => message.is_none(),
            Kind::Streamed { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Fixed(message) => {
                SizeHint::with_exact(message.as_ref().map_or(0, |message| message.len() as u64))
            }
            Kind::Streamed { body, .. } => body.size_hint(),
        }
    }
}

//! Test targets (small hyper servers), config builders and waiting helpers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use paved_balancer::{
    Balancer, HttpHealthCheck, ListenerConfig, Rule, TargetGroupConfig, TargetHealth,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// How long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A target server. Every response carries `x-target: NAME`; the paths are:
///
/// - `/health`: the status set with [`TestTarget::set_health_status`] (200 at first);
/// - `/headers`: the request's headers, one `name: value` per line;
/// - `/upload`: the number of request body bytes;
/// - `/slow`: sends `begin;` at once, then `end` once [`TestTarget::release`] is called; each
///   `/slow` request is announced on [`TestTarget::slow_started`];
/// - anything else: the body `NAME`.
pub struct TestTarget {
    pub name: String,
    pub addr: SocketAddr,
    health_status: Arc<AtomicU16>,
    released: watch::Sender<bool>,
    slow_started: mpsc::UnboundedReceiver<()>,
}

impl TestTarget {
    pub async fn start(name: &str) -> TestTarget {
        let socket = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a test target");
        let addr = socket.local_addr().expect("test target address");
        let health_status = Arc::new(AtomicU16::new(200));
        let released = watch::Sender::new(false);
        let (slow_started_sender, slow_started) = mpsc::unbounded_channel();
        let handler = Handler {
            name: name.to_owned(),
            health_status: Arc::clone(&health_status),
            released: released.subscribe(),
            slow_started: slow_started_sender,
        };
        tokio::spawn(async move {
            while let Ok((stream, _)) = socket.accept().await {
                let handler = handler.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let handler = handler.clone();
                        async move { Ok::<_, Infallible>(handler.respond(request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestTarget {
            name: name.to_owned(),
            addr,
            health_status,
            released,
            slow_started,
        }
    }

    pub fn set_health_status(&self, status: u16) {
        self.health_status.store(status, Ordering::SeqCst);
    }

    /// Lets every `/slow` response (current and future) finish.
    pub fn release(&self) {
        self.released.send_replace(true);
    }

    /// Waits until a `/slow` request has reached this target.
    pub async fn slow_started(&mut self) {
        tokio::time::timeout(PATIENCE, self.slow_started.recv())
            .await
            .expect("a slow request reaches the target in time")
            .expect("the target server runs");
    }
}

#[derive(Clone)]
struct Handler {
    name: String,
    health_status: Arc<AtomicU16>,
    released: watch::Receiver<bool>,
    slow_started: mpsc::UnboundedSender<()>,
}

impl Handler {
    async fn respond(&self, request: Request<Incoming>) -> Response<BoxBody<Bytes, Infallible>> {
        let (status, body) = match request.uri().path() {
            "/health" => (
                self.health_status.load(Ordering::SeqCst),
                full(self.name.clone()),
            ),
            "/headers" => {
                let lines: Vec<String> = request
                    .headers()
                    .iter()
                    .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
                    .collect();
                (200, full(lines.join("\n")))
            }
            "/upload" => {
                let bytes = request
                    .into_body()
                    .collect()
                    .await
                    .expect("read the upload")
                    .to_bytes();
                (200, full(bytes.len().to_string()))
            }
            "/slow" => {
                let (sender, receiver) = mpsc::channel(2);
                let mut released = self.released.clone();
                let _ = self.slow_started.send(());
                tokio::spawn(async move {
                    let _ = sender.send(Bytes::from_static(b"begin;")).await;
                    let _ = released.wait_for(|released| *released).await;
                    let _ = sender.send(Bytes::from_static(b"end")).await;
                });
                (200, ChannelBody(receiver).boxed())
            }
            _ => (200, full(self.name.clone())),
        };
        let mut response = Response::new(body);
        *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
        response
            .headers_mut()
            .insert("x-target", self.name.parse().expect("a valid header value"));
        response
    }
}

fn full(body: String) -> BoxBody<Bytes, Infallible> {
    Full::new(Bytes::from(body)).boxed()
}

/// A response body whose chunks the handler sends when it likes.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| Ok(Frame::data(chunk))))
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build the test client")
}

/// GETs `path` from `addr`; returns the status and body.
pub async fn get(client: &reqwest::Client, addr: SocketAddr, path: &str) -> (u16, String) {
    let response = client
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .expect("the balancer answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("read the body"))
}

/// GETs `path` from `addr` `count` times; returns the bodies (the target names).
pub async fn get_many(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    count: usize,
) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..count {
        let (status, body) = get(client, addr, path).await;
        assert_eq!(status, 200, "body: {body}");
        bodies.push(body);
    }
    bodies
}

pub fn group(name: &str) -> TargetGroupConfig {
    TargetGroupConfig {
        name: name.to_owned(),
        health_check: None,
        deregistration_delay: Duration::from_secs(30),
    }
}

/// A target group whose health check runs every 20 ms and needs two results either way.
pub fn checked_group(name: &str) -> TargetGroupConfig {
    TargetGroupConfig {
        health_check: Some(HttpHealthCheck {
            path: "/health".to_owned(),
            interval: Duration::from_millis(20),
            timeout: Duration::from_secs(2),
            healthy_threshold: 2,
            unhealthy_threshold: 2,
            matcher: (200, 399),
        }),
        ..group(name)
    }
}

pub fn listener(
    name: &str,
    rules: Vec<Rule>,
    default_target_group: Option<&str>,
) -> ListenerConfig {
    ListenerConfig {
        name: name.to_owned(),
        port: 0,
        rules,
        default_target_group: default_target_group.map(str::to_owned),
    }
}

pub fn rule(
    priority: u32,
    host_headers: &[&str],
    path_patterns: &[&str],
    target_group: &str,
) -> Rule {
    Rule {
        priority,
        host_headers: host_headers.iter().map(|host| (*host).to_owned()).collect(),
        path_patterns: path_patterns
            .iter()
            .map(|path| (*path).to_owned())
            .collect(),
        target_group: target_group.to_owned(),
    }
}

/// Waits, through `changed()`, until the target has `health`.
pub async fn wait_for_health(
    balancer: &Balancer,
    target_group: &str,
    target_id: &str,
    health: TargetHealth,
) {
    let mut changed = balancer.changed();
    let reached = tokio::time::timeout(PATIENCE, async {
        while balancer.target_health(target_group, target_id) != Some(health) {
            changed.changed().await.expect("the balancer lives");
        }
    })
    .await;
    assert!(
        reached.is_ok(),
        "target `{target_id}` is {:?}, not {health}",
        balancer.target_health(target_group, target_id)
    );
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> SocketAddr {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    socket.local_addr().expect("its address")
}

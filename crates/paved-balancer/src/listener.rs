//! A listener's socket, accept loop and client connections.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ListenerConfig;
use crate::routing::Routes;
use crate::{Inner, ListenerStats};

/// A running listener. Closing (or dropping) it closes its socket: the accept loop ends, and each
/// client connection closes once its current request (if any) is done.
pub(crate) struct Listener {
    /// The port as configured (0 for any), to tell whether a new config changes it.
    pub(crate) configured_port: u16,
    pub(crate) addr: SocketAddr,
    pub(crate) shared: Arc<ListenerShared>,
    /// Never sent on; its receivers see it closed when the listener is dropped.
    open: watch::Sender<()>,
    accept_task: JoinHandle<()>,
}

/// What a listener's connections share with the balancer; survives a port change.
pub(crate) struct ListenerShared {
    routes: Mutex<Routes>,
    stats: Stats,
}

#[derive(Default)]
pub(crate) struct Stats {
    requests: AtomicU64,
    responses_2xx: AtomicU64,
    responses_3xx: AtomicU64,
    responses_4xx: AtomicU64,
    responses_5xx: AtomicU64,
    no_target: AtomicU64,
    target_errors: AtomicU64,
}

/// How a response came about, for the counters.
#[derive(Clone, Copy)]
pub(crate) enum Outcome {
    /// Our own response (404 without a matching rule) or the target's.
    Response,
    NoTarget,
    TargetError,
}

/// Binds `127.0.0.1:port` (any free port for 0).
pub(crate) fn bind(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let socket = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
    socket.set_nonblocking(true)?;
    let addr = socket.local_addr()?;
    Ok((TcpListener::from_std(socket)?, addr))
}

impl Listener {
    /// Starts accepting on `socket`, keeping `shared` (routes and counters) when the listener
    /// already ran on another port.
    pub(crate) fn start(
        inner: &Arc<Inner>,
        config: &ListenerConfig,
        routes: Routes,
        (socket, addr): (TcpListener, SocketAddr),
        shared: Option<Arc<ListenerShared>>,
    ) -> Listener {
        let shared = match shared {
            Some(shared) => {
                shared.set_routes(routes);
                shared
            }
            None => Arc::new(ListenerShared {
                routes: Mutex::new(routes),
                stats: Stats::default(),
            }),
        };
        let (open, open_receiver) = watch::channel(());
        let accept_task = tokio::spawn(accept_loop(
            Arc::clone(inner),
            Arc::clone(&shared),
            socket,
            addr,
            open_receiver,
        ));
        Listener {
            configured_port: config.port,
            addr,
            shared,
            open,
            accept_task,
        }
    }

    /// Closes the socket and waits until it is closed; connections finish their current request.
    pub(crate) async fn close(self) {
        drop(self.open);
        // The accept loop owns the socket and drops it when it ends; it cannot panic.
        let _ = self.accept_task.await;
    }
}

impl ListenerShared {
    pub(crate) fn set_routes(&self, routes: Routes) {
        *self.routes.lock().unwrap_or_else(PoisonError::into_inner) = routes;
    }

    /// The target group for a request, or `None` when no rule matches and there is no default.
    pub(crate) fn route(&self, host: Option<&str>, path: &str) -> Option<String> {
        let routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        routes.route(host, path).map(str::to_owned)
    }

    pub(crate) fn count_request(&self) {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_response(&self, status: u16, outcome: Outcome) {
        let stats = &self.stats;
        let class = match status {
            200..=299 => &stats.responses_2xx,
            300..=399 => &stats.responses_3xx,
            400..=499 => &stats.responses_4xx,
            500..=599 => &stats.responses_5xx,
            _ => return,
        };
        class.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Response => {}
            Outcome::NoTarget => _ = stats.no_target.fetch_add(1, Ordering::Relaxed),
            Outcome::TargetError => _ = stats.target_errors.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub(crate) fn stats(&self) -> ListenerStats {
        let stats = &self.stats;
        ListenerStats {
            requests: stats.requests.load(Ordering::Relaxed),
            responses_2xx: stats.responses_2xx.load(Ordering::Relaxed),
            responses_3xx: stats.responses_3xx.load(Ordering::Relaxed),
            responses_4xx: stats.responses_4xx.load(Ordering::Relaxed),
            responses_5xx: stats.responses_5xx.load(Ordering::Relaxed),
            no_target: stats.no_target.load(Ordering::Relaxed),
            target_errors: stats.target_errors.load(Ordering::Relaxed),
        }
    }
}

async fn accept_loop(
    inner: Arc<Inner>,
    shared: Arc<ListenerShared>,
    socket: TcpListener,
    addr: SocketAddr,
    mut open: watch::Receiver<()>,
) {
    let mut shutdown = inner.shutdown.clone();
    loop {
        let (stream, remote) = tokio::select! {
            _ = open.changed() => break,
            _ = shutdown.changed() => break,
            accepted = socket.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Per-connection errors (the client hung up, out of file descriptors for a
                    // moment); the socket itself stays usable.
                    tracing::debug!(%addr, %error, "accept failed");
                    continue;
                }
            },
        };
        tokio::spawn(serve_connection(
            Arc::clone(&inner),
            Arc::clone(&shared),
            stream,
            remote,
            addr,
            open.clone(),
        ));
    }
    tracing::debug!(%addr, "listener closed");
}

/// Serves one client connection; each request on it is routed on its own.
async fn serve_connection(
    inner: Arc<Inner>,
    shared: Arc<ListenerShared>,
    stream: TcpStream,
    remote: SocketAddr,
    local: SocketAddr,
    mut open: watch::Receiver<()>,
) {
    let mut shutdown = inner.shutdown.clone();
    let service = service_fn(move |request| {
        let inner = Arc::clone(&inner);
        let shared = Arc::clone(&shared);
        async move {
            Ok::<_, Infallible>(
                crate::proxy::forward(&inner, &shared, remote, local, request).await,
            )
        }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = async { tokio::select! { _ = open.changed() => {}, _ = shutdown.changed() => {} } } => {
            // Finish the request in progress, then close.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%remote, %error, "client connection ended with an error");
    }
}

//! A real HTTPS server on 127.0.0.1 for tests of URL locations: a test CA generated at
//! start (rcgen), a certificate for 127.0.0.1 signed by it, and files served at the paths a
//! git hosting service serves them, with ETags, `If-None-Match` and an optional token.
//! `git http-backend` can serve bare repositories for git over HTTPS.
//!
//! Every request is logged, so a test can assert what Paved asked for and what it got.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub if_none_match: Option<String>,
    pub authorization: Option<String>,
    pub status: u16,
}

#[derive(Debug, Default)]
struct Files {
    /// Path and query → body.
    files: HashMap<String, String>,
    /// When set, every request must carry `Authorization: Bearer TOKEN`; others get 404,
    /// as GitHub and GitLab answer for private files.
    token: Option<String>,
    /// `git http-backend`'s project root: paths with `.git/` in them go there.
    git_root: Option<PathBuf>,
    /// Paths never answered: the request waits until the client gives up.
    stalled: Vec<String>,
    log: Vec<LoggedRequest>,
}

/// A running HTTPS server; dropped, it stops accepting.
#[derive(Debug)]
pub struct HttpsServer {
    /// `127.0.0.1:PORT`, as integrations name hosts.
    pub authority: String,
    /// The test CA's certificate (PEM), for `--ca-bundle`.
    pub ca_pem: String,
    state: Arc<Mutex<Files>>,
    /// How many requests have arrived, for tests that wait for one.
    arrived: tokio::sync::watch::Receiver<usize>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl HttpsServer {
    pub async fn start() -> HttpsServer {
        let ca_key = rcgen::KeyPair::generate().expect("a CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Paved test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("the CA");
        let server_key = rcgen::KeyPair::generate().expect("a server key");
        let mut server_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("server params");
        server_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        let server_certificate = server_params
            .signed_by(&server_key, &ca)
            .expect("the server certificate");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![server_certificate.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der())
                    .expect("a private key"),
            )
            .expect("a TLS configuration");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let authority = listener.local_addr().expect("an address").to_string();
        let state = Arc::new(Mutex::new(Files::default()));
        let (arrivals, arrived) = tokio::sync::watch::channel(0_usize);
        let router = axum::Router::new()
            .fallback(serve)
            .with_state((state.clone(), Arc::new(arrivals)));
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        move |request: Request<hyper::body::Incoming>| {
                            let router = router.clone();
                            async move {
                                tower::ServiceExt::oneshot(router, request.map(Body::new)).await
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        HttpsServer {
            authority,
            ca_pem: ca.pem(),
            state,
            arrived,
            accept,
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.authority)
    }

    /// Serves `body` at `path_and_query` (replacing what was there).
    pub fn put(&self, path_and_query: &str, body: &str) {
        self.lock()
            .files
            .insert(path_and_query.to_owned(), body.to_owned());
    }

    /// Requires `Authorization: Bearer TOKEN` from now on.
    pub fn require_token(&self, token: &str) {
        self.lock().token = Some(token.to_owned());
    }

    /// Serves the bare repositories under `root` (`root/acme/shop.git` at
    /// `/acme/shop.git`) over git's smart HTTP protocol, through `git http-backend`.
    pub fn serve_git(&self, root: PathBuf) {
        self.lock().git_root = Some(root);
    }

    /// Never answers requests for `path_and_query`.
    pub fn stall(&self, path_and_query: &str) {
        self.lock().stalled.push(path_and_query.to_owned());
    }

    /// Waits until `count` requests have arrived in all (answered or not).
    pub async fn wait_for_requests(&self, count: usize) {
        let mut arrived = self.arrived.clone();
        let _ = arrived.wait_for(|arrived| *arrived >= count).await;
    }

    /// Every request so far, in order.
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// Forgets the requests logged so far.
    pub fn clear_log(&self) {
        self.lock().log.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Files> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An ETag for a body: its hash, quoted.
fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("\"{hex}\"")
}

type ServerState = (Arc<Mutex<Files>>, Arc<tokio::sync::watch::Sender<usize>>);

async fn serve(State((state, arrivals)): State<ServerState>, request: Request) -> Response {
    arrivals.send_modify(|arrived| *arrived += 1);
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_default();
    let header_text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let if_none_match = header_text(header::IF_NONE_MATCH);
    let authorization = header_text(header::AUTHORIZATION);
    let (token, git_root, found, stalled) = {
        let files = state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (
            files.token.clone(),
            files.git_root.clone(),
            files.files.get(&target).cloned(),
            files.stalled.contains(&target),
        )
    };
    if stalled {
        std::future::pending::<()>().await;
    }
    let authorized = match &token {
        Some(token) => authorization.as_deref() == Some(&format!("Bearer {token}")),
        None => true,
    };
    let response = if !authorized {
        StatusCode::NOT_FOUND.into_response()
    } else if let (Some(root), true) = (git_root, parts.uri.path().contains(".git/")) {
        let body = axum::body::to_bytes(body, 64 * 1024 * 1024)
            .await
            .unwrap_or_default();
        git_http_backend(&root, &parts.method, &parts.uri, &parts.headers, body).await
    } else {
        match found {
            Some(body) => {
                let etag = etag_of(&body);
                if if_none_match.as_deref() == Some(etag.as_str()) {
                    (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response()
                } else {
                    (StatusCode::OK, [(header::ETAG, etag)], body).into_response()
                }
            }
            None => StatusCode::NOT_FOUND.into_response(),
        }
    };
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .log
        .push(LoggedRequest {
            method: parts.method.to_string(),
            target,
            if_none_match,
            authorization,
            status: response.status().as_u16(),
        });
    response
}

/// Runs `git http-backend` as a CGI program for one request.
async fn git_http_backend(
    root: &std::path::Path,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let output = crate::git_http::run_backend(
        root.to_owned(),
        &[
            ("REQUEST_METHOD", method.as_str().to_owned()),
            ("PATH_INFO", uri.path().to_owned()),
            ("QUERY_STRING", uri.query().unwrap_or_default().to_owned()),
            ("CONTENT_TYPE", header(header::CONTENT_TYPE)),
            ("HTTP_CONTENT_ENCODING", header(header::CONTENT_ENCODING)),
            ("CONTENT_LENGTH", body.len().to_string()),
            (
                "GIT_PROTOCOL",
                header(header::HeaderName::from_static("git-protocol")),
            ),
            ("REMOTE_ADDR", "127.0.0.1".to_owned()),
        ],
        body,
    )
    .await;
    crate::git_http::cgi_response(&output).map(Body::new)
}

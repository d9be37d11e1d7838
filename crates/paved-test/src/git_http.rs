//! A git server over plain HTTP that asks for Basic credentials: the real git's smart HTTP
//! (`git http-backend`, run as a CGI program per request) behind a small hyper server, for
//! tests of fetches that must authenticate.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt as _;

/// A running server; it stops when dropped.
#[derive(Debug)]
pub struct GitHttpServer {
    /// `http://127.0.0.1:PORT`; a repository `ROOT/NAME.git` is at `{url}/NAME.git`.
    pub url: String,
    counts: Arc<Counts>,
    accepting: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Counts {
    authorized: AtomicUsize,
    refused: AtomicUsize,
}

impl GitHttpServer {
    /// Serves the repositories under `root` to callers presenting `user` and `password`.
    pub async fn start(root: &Path, user: &str, password: &str) -> GitHttpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let counts = Arc::new(Counts::default());
        let root = root.to_owned();
        let accepting = tokio::spawn({
            let counts = Arc::clone(&counts);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (root, expected, counts) =
                        (root.clone(), expected.clone(), Arc::clone(&counts));
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let (root, expected, counts) =
                                (root.clone(), expected.clone(), Arc::clone(&counts));
                            async move {
                                Ok::<_, Infallible>(
                                    answer(request, &root, &expected, &counts).await,
                                )
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        GitHttpServer {
            url,
            counts,
            accepting,
        }
    }

    /// Requests that presented the credentials.
    pub fn authorized_requests(&self) -> usize {
        self.counts.authorized.load(Ordering::SeqCst)
    }

    /// Requests refused with 401 (no or wrong credentials).
    pub fn refused_requests(&self) -> usize {
        self.counts.refused.load(Ordering::SeqCst)
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn answer(
    request: Request<Incoming>,
    root: &Path,
    expected: &str,
    counts: &Counts,
) -> Response<Full<Bytes>> {
    let authorized = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .is_some_and(|value| value.as_bytes() == expected.as_bytes());
    if !authorized {
        counts.refused.fetch_add(1, Ordering::SeqCst);
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header(hyper::header::WWW_AUTHENTICATE, "Basic realm=\"git\"")
            .body(Full::new(Bytes::new()))
            .expect("a response");
    }
    counts.authorized.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let header = |name: hyper::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let output = run_backend(
        root.to_owned(),
        &[
            ("REQUEST_METHOD", parts.method.as_str().to_owned()),
            ("PATH_INFO", parts.uri.path().to_owned()),
            (
                "QUERY_STRING",
                parts.uri.query().unwrap_or_default().to_owned(),
            ),
            ("CONTENT_TYPE", header(hyper::header::CONTENT_TYPE)),
            (
                "HTTP_CONTENT_ENCODING",
                header(hyper::header::CONTENT_ENCODING),
            ),
            ("CONTENT_LENGTH", body.len().to_string()),
            ("REMOTE_USER", "test".to_owned()),
            ("REMOTE_ADDR", "127.0.0.1".to_owned()),
        ],
        body,
    )
    .await;
    cgi_response(&output)
}

/// Runs `git http-backend` over `root` with the request in CGI variables and on stdin.
pub(crate) async fn run_backend(
    root: PathBuf,
    variables: &[(&str, String)],
    body: Bytes,
) -> Vec<u8> {
    let mut child = tokio::process::Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", &root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", &root)
        .envs(
            variables
                .iter()
                .map(|(name, value)| (*name, value.as_str())),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("git http-backend starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writing = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let output = child
        .wait_with_output()
        .await
        .expect("git http-backend runs");
    let _ = writing.await;
    output.stdout
}

/// A CGI program's output (header lines, a blank line, the body) as an HTTP response.
pub(crate) fn cgi_response(output: &[u8]) -> Response<Full<Bytes>> {
    let (head, body) = [&b"\r\n\r\n"[..], b"\n\n"]
        .iter()
        .find_map(|separator| {
            output
                .windows(separator.len())
                .position(|window| window == *separator)
                .map(|at| (&output[..at], &output[at + separator.len()..]))
        })
        .unwrap_or((&[][..], output));
    let mut response = Response::builder();
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split(' ').next().and_then(|code| code.parse().ok());
            response = response.status(code.unwrap_or(500));
        } else {
            response = response.header(name, value);
        }
    }
    response
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("a response")
}

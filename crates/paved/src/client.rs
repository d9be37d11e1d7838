//! A small HTTP client for the Paved API, shared by every command that talks to a server.

use std::path::Path;

use anyhow::Context as _;
use paved_api::ErrorResponse;
use paved_cli::ServerArgs;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An error the server answered with, in its own words.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{message}{}", problems_text(.problems))]
    Api {
        status: u16,
        code: String,
        message: String,
        problems: Vec<paved_model::problem::Problem>,
    },
    #[error(
        "cannot reach the Paved server at `{server}`: {source}\nhint: start it with `paved up`, or pass --server URL"
    )]
    Unreachable {
        server: String,
        source: reqwest::Error,
    },
}

fn problems_text(problems: &[paved_model::problem::Problem]) -> String {
    problems
        .iter()
        .map(|problem| format!("\n  - {problem}"))
        .collect()
}

impl ClientError {
    /// A 4xx: the request was refused because of what was sent.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ClientError::Api { status, .. } if (400..500).contains(status))
    }
}

pub struct Client {
    http: reqwest::Client,
    server: String,
    token: Option<String>,
}

impl Client {
    pub fn new(args: &ServerArgs) -> Client {
        let token = args.token.clone().or_else(|| read_token(&args.data_dir));
        Client {
            http: reqwest::Client::new(),
            server: args.server.trim_end_matches('/').to_owned(),
            token,
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send(self.http.post(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send_checked(self.http.delete(self.url(path)))
            .await
            .map(|_| ())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends with credentials and turns error statuses into [`ClientError::Api`].
    async fn send_checked(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let response =
            self.authorize(request)
                .send()
                .await
                .map_err(|source| ClientError::Unreachable {
                    server: self.server.clone(),
                    source,
                })?;
        check(response).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<T> {
        let response = self.send_checked(request).await?;
        let bytes = response
            .bytes()
            .await
            .context("reading the server's response")?;
        serde_json::from_slice(&bytes).context("the server's response is not the JSON expected")
    }
}

async fn check(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap_or_default();
    let error = match serde_json::from_slice::<ErrorResponse>(&bytes) {
        Ok(body) => ClientError::Api {
            status,
            code: body.error.code,
            message: body.error.message,
            problems: body.error.problems.into_iter().map(Into::into).collect(),
        },
        Err(_) => ClientError::Api {
            status,
            code: "unknown".to_owned(),
            message: format!(
                "the server answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            ),
            problems: Vec::new(),
        },
    };
    Err(error.into())
}

/// The admin token `paved up` wrote for local use, if any.
fn read_token(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join("admin-token"))
        .ok()
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

//! A small HTTP client for the Paved API, shared by every command that talks to a server.

use std::path::PathBuf;

use anyhow::Context as _;
use paved_api::ErrorResponse;
use paved_cli::ServerArgs;

use crate::config::{self, Source};
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
        "cannot reach the Paved server at `{server}`: {cause}\nhint: start it with `paved up`, or name another with --server URL, PAVED_SERVER or `paved config set server URL`"
    )]
    Unreachable {
        server: String,
        /// The innermost cause only (`Connection refused`): the layers above it repeat the
        /// URL, and the error is printed once.
        cause: String,
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
    token: Option<(String, Source)>,
    config_path: PathBuf,
}

impl Client {
    /// A client for the server and token `args`, the environment and the config file name
    /// ([`config::resolve`]); fails only on an unreadable config file.
    pub fn new(args: &ServerArgs) -> anyhow::Result<Client> {
        let resolved = config::resolve(args)?;
        Ok(Client {
            http: reqwest::Client::new(),
            server: resolved.server,
            token: resolved.token,
            config_path: resolved.config_path,
        })
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

    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send(self.http.put(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send_checked(self.http.delete(self.url(path)))
            .await
            .map(|_| ())
    }

    /// Opens a stream of server-sent events (`text/event-stream`), read as it arrives.
    pub async fn events(&self, path: &str) -> anyhow::Result<EventStream> {
        let request = self
            .http
            .get(self.url(path))
            .header(reqwest::header::ACCEPT, "text/event-stream");
        let response = self.send_checked(request).await?;
        Ok(EventStream {
            response,
            parser: EventParser::default(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some((token, _)) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends with credentials and turns error statuses into [`ClientError::Api`].
    async fn send_checked(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let response = self
            .authorize(request)
            .send()
            .await
            .map_err(|error| self.unreachable(&error))?;
        check(response)
            .await
            .map_err(|error| self.in_cli_terms(error).into())
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        let mut cause: &dyn std::error::Error = error;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        ClientError::Unreachable {
            server: self.server.clone(),
            cause: cause.to_string(),
        }
    }

    /// A refused or missing token, explained with the CLI's ways to give one.
    fn in_cli_terms(&self, error: ClientError) -> ClientError {
        let ClientError::Api {
            status: 401,
            code,
            problems,
            ..
        } = error
        else {
            return error;
        };
        let ways = format!(
            "pass it with --token TOKEN, set PAVED_TOKEN, or save it with `paved config set token` (in `{}`)",
            self.config_path.display()
        );
        let message = match &self.token {
            Some((_, source)) => format!(
                "the server at `{}` refused the token from {source}\nhint: use a valid token: {ways}",
                self.server
            ),
            None => format!(
                "this command needs a token and none was given\nhint: {ways}; the admin token of a server started with `paved up` is in its data directory's `admin-token`"
            ),
        };
        ClientError::Api {
            status: 401,
            code,
            message,
            problems,
        }
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

/// One server-sent event: its type (`message` when the server names none) and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSentEvent {
    pub event: String,
    pub data: String,
}

/// A response body read chunk by chunk as server-sent events.
pub struct EventStream {
    response: reqwest::Response,
    parser: EventParser,
}

impl EventStream {
    /// The next event; `None` once the server closed the stream.
    pub async fn next(&mut self) -> anyhow::Result<Option<ServerSentEvent>> {
        loop {
            if let Some(event) = self.parser.next_event() {
                return Ok(Some(event));
            }
            match self
                .response
                .chunk()
                .await
                .context("reading the server's event stream")?
            {
                Some(chunk) => self.parser.push(&chunk),
                // An event cut off by the end of the stream is dropped, as browsers do.
                None => return Ok(None),
            }
        }
    }
}

/// The `text/event-stream` format: `field: value` lines, an event ends at a blank line.
/// Chunks may split lines, and even UTF-8 characters, anywhere.
#[derive(Debug, Default)]
struct EventParser {
    /// Bytes not yet ending in a newline.
    buffer: Vec<u8>,
    event: Option<String>,
    data: Option<String>,
}

impl EventParser {
    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete event in what was pushed, if any.
    fn next_event(&mut self) -> Option<ServerSentEvent> {
        while let Some(end) = self.buffer.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches('\n').trim_end_matches('\r');
            if line.is_empty() {
                let event = self.event.take();
                // An event without data is not dispatched (keep-alives are comments anyway).
                if let Some(data) = self.data.take() {
                    return Some(ServerSentEvent {
                        event: event.unwrap_or_else(|| "message".to_owned()),
                        data,
                    });
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.event = Some(value.to_owned()),
                "data" => match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                },
                // `id` and `retry` matter to reconnecting browsers only.
                _ => {}
            }
        }
        None
    }
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response, ClientError> {
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
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event: &str, data: &str) -> ServerSentEvent {
        ServerSentEvent {
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }

    #[test]
    fn server_sent_events_are_parsed_across_chunks() {
        let stream = "event: log\ndata: {\"a\":1}\n\n:\n\nevent: log\r\ndata:x\r\ndata: y\r\n\r\n\
                      data: é\n\nevent: end\ndata: {}\n\nevent: cut\ndata: off";
        let expected = vec![
            event("log", "{\"a\":1}"),
            event("log", "x\ny"),
            event("message", "é"),
            event("end", "{}"),
        ];
        // Every split point, including inside the two bytes of `é`.
        for split in 0..=stream.len() {
            let (first, second) = stream.as_bytes().split_at(split);
            let mut parser = EventParser::default();
            let mut events = Vec::new();
            for chunk in [first, second] {
                parser.push(chunk);
                while let Some(event) = parser.next_event() {
                    events.push(event);
                }
            }
            assert_eq!(events, expected, "split at {split}");
        }
    }
}

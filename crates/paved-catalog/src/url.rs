//! URL locations: catalog files read over HTTPS, from git hosting services through their
//! raw-content or API conventions, and from plain HTTPS hosts, configured per host as
//! Backstage's `integrations` (and `backend.reading.allow`) are.
//!
//! Only HTTPS is spoken, through rustls with the platform's trust store and an optional
//! extra CA bundle. Credentials come from the integrations file (whose values may name
//! environment variables, `${GITHUB_TOKEN}`); they are sent only to their own host, never
//! stored in the catalog, never logged, and never part of a problem. Every read counts
//! against its [`ReadBudget`], is capped at [`MAX_FILE_BYTES`], and is answered from an
//! in-memory cache when the server says the file did not change (`If-None-Match`, 304).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paved_model::problem::Problem;
use paved_model::yaml::MAX_FILE_BYTES;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Url;
use serde::Deserialize;

use crate::budget::{ReadBudget, ReadStop};

/// Backstage's integrations, as in its `app-config.yaml`: `integrations` and
/// `backend.reading.allow`, so a team moving from Backstage copies these sections as they
/// are. Values may be `${VARIABLE}`, read from the environment when the file is loaded.
/// Other top-level sections (a whole `app-config.yaml`) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationsFile {
    #[serde(default)]
    pub integrations: IntegrationsSection,
    #[serde(default)]
    pub backend: Option<BackendSection>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationsSection {
    #[serde(default)]
    pub github: Vec<GithubConfig>,
    #[serde(default)]
    pub gitlab: Vec<GitlabConfig>,
    #[serde(default)]
    pub bitbucket_cloud: Vec<BitbucketCloudConfig>,
    #[serde(default)]
    pub bitbucket_server: Vec<BitbucketServerConfig>,
    #[serde(default)]
    pub azure: Vec<AzureConfig>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GithubConfig {
    #[serde(default = "github_host")]
    pub host: String,
    pub api_base_url: Option<String>,
    pub raw_base_url: Option<String>,
    pub token: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitlabConfig {
    #[serde(default = "gitlab_host")]
    pub host: String,
    pub api_base_url: Option<String>,
    pub base_url: Option<String>,
    pub token: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BitbucketCloudConfig {
    pub username: Option<String>,
    pub app_password: Option<String>,
    pub token: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BitbucketServerConfig {
    pub host: String,
    pub api_base_url: Option<String>,
    pub token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureConfig {
    #[serde(default = "azure_host")]
    pub host: String,
    #[serde(default)]
    pub credentials: Vec<AzureCredential>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureCredential {
    pub personal_access_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendSection {
    #[serde(default)]
    pub reading: ReadingSection,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadingSection {
    #[serde(default)]
    pub allow: Vec<AllowedHost>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllowedHost {
    pub host: String,
}

fn github_host() -> String {
    "github.com".to_owned()
}
fn gitlab_host() -> String {
    "gitlab.com".to_owned()
}
fn azure_host() -> String {
    "dev.azure.com".to_owned()
}

// The configuration holds secrets: its Debug shows hosts only.
macro_rules! debug_without_secrets {
    ($($type:ty),*) => {$(
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($type), " { .. }"))
            }
        }
    )*};
}
debug_without_secrets!(
    GithubConfig,
    GitlabConfig,
    BitbucketCloudConfig,
    BitbucketServerConfig,
    AzureConfig,
    AzureCredential
);

/// Why the integrations could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationsError {
    #[error("integrations file `{file}`: {message}")]
    File { file: String, message: String },
    #[error("integrations file `{file}`: `${{{variable}}}` is not set in the environment")]
    MissingVariable { file: String, variable: String },
    #[error("CA bundle `{file}`: {message}")]
    CaBundle { file: String, message: String },
    #[error("cannot set up the HTTPS client: {0}")]
    Client(String),
}

impl IntegrationsFile {
    /// Parses an integrations file, replacing each `${VARIABLE}` with `environment`'s value.
    pub fn parse(
        file: &str,
        text: &str,
        environment: &dyn Fn(&str) -> Option<String>,
    ) -> Result<IntegrationsFile, IntegrationsError> {
        let substituted = substitute_variables(file, text, environment)?;
        serde_saphyr::from_str(&substituted).map_err(|error| IntegrationsError::File {
            file: file.to_owned(),
            message: error
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid")
                .to_owned(),
        })
    }
}

fn substitute_variables(
    file: &str,
    text: &str,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<String, IntegrationsError> {
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        output.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            output.push_str(&rest[start..]);
            return Ok(output);
        };
        let variable = &after[..end];
        let value = environment(variable).ok_or_else(|| IntegrationsError::MissingVariable {
            file: file.to_owned(),
            variable: variable.to_owned(),
        })?;
        // Quoted as a YAML string, so a token with YAML syntax in it stays one string.
        output.push_str(&serde_json::Value::String(value).to_string());
        rest = &after[end + 1..];
    }
    output.push_str(rest);
    Ok(output)
}

/// How a host is read.
#[derive(Clone, PartialEq, Eq)]
enum HostKind {
    Github {
        api_base_url: Option<String>,
        raw_base_url: Option<String>,
    },
    Gitlab {
        /// The path GitLab is served under (`https://host/gitlab`), if any.
        relative_path: String,
    },
    BitbucketCloud,
    BitbucketServer {
        api_base_url: String,
    },
    Azure,
    /// A host allowed by `backend.reading.allow`: URLs are read as they are.
    Https,
}

/// What a host's requests carry. Never printed.
#[derive(Clone, PartialEq, Eq)]
enum Credentials {
    None,
    Bearer(String),
    Basic { user: String, password: String },
}

#[derive(Clone)]
struct Host {
    /// `host[:port]`, lowercase.
    authority: String,
    kind: HostKind,
    credentials: Credentials,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("authority", &self.authority)
            .field("credentials", &(self.credentials != Credentials::None))
            .finish()
    }
}

fn credentials_of(token: Option<&str>) -> Credentials {
    match token.map(str::trim).filter(|token| !token.is_empty()) {
        Some(token) => Credentials::Bearer(token.to_owned()),
        None => Credentials::None,
    }
}

fn hosts_of(file: &IntegrationsFile) -> Vec<Host> {
    let section = &file.integrations;
    let mut hosts = Vec::new();
    for github in &section.github {
        let is_github_com = github.host == "github.com";
        hosts.push(Host {
            authority: github.host.to_lowercase(),
            kind: HostKind::Github {
                api_base_url: github
                    .api_base_url
                    .clone()
                    .or_else(|| is_github_com.then(|| "https://api.github.com".to_owned()))
                    .map(|url| url.trim_end_matches('/').to_owned()),
                raw_base_url: github
                    .raw_base_url
                    .clone()
                    .or_else(|| {
                        is_github_com.then(|| "https://raw.githubusercontent.com".to_owned())
                    })
                    .map(|url| url.trim_end_matches('/').to_owned()),
            },
            credentials: credentials_of(github.token.as_deref()),
        });
    }
    for gitlab in &section.gitlab {
        let relative_path = gitlab
            .base_url
            .as_deref()
            .and_then(|base| Url::parse(base).ok())
            .map(|base| base.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        hosts.push(Host {
            authority: gitlab.host.to_lowercase(),
            kind: HostKind::Gitlab { relative_path },
            credentials: credentials_of(gitlab.token.as_deref()),
        });
    }
    for bitbucket in &section.bitbucket_cloud {
        let secret = bitbucket
            .token
            .as_deref()
            .or(bitbucket.app_password.as_deref());
        hosts.push(Host {
            authority: "bitbucket.org".to_owned(),
            kind: HostKind::BitbucketCloud,
            credentials: match (&bitbucket.username, secret) {
                (Some(user), Some(password)) => Credentials::Basic {
                    user: user.clone(),
                    password: password.to_owned(),
                },
                (None, token) => credentials_of(token),
                (Some(_), None) => Credentials::None,
            },
        });
    }
    for bitbucket in &section.bitbucket_server {
        hosts.push(Host {
            authority: bitbucket.host.to_lowercase(),
            kind: HostKind::BitbucketServer {
                api_base_url: bitbucket
                    .api_base_url
                    .clone()
                    .unwrap_or_else(|| format!("https://{}/rest/api/1.0", bitbucket.host))
                    .trim_end_matches('/')
                    .to_owned(),
            },
            credentials: match (&bitbucket.token, &bitbucket.username, &bitbucket.password) {
                (Some(token), _, _) => credentials_of(Some(token)),
                (None, Some(user), Some(password)) => Credentials::Basic {
                    user: user.clone(),
                    password: password.clone(),
                },
                _ => Credentials::None,
            },
        });
    }
    for azure in &section.azure {
        let token = azure
            .credentials
            .iter()
            .find_map(|credential| credential.personal_access_token.clone());
        hosts.push(Host {
            authority: azure.host.to_lowercase(),
            kind: HostKind::Azure,
            credentials: match token {
                Some(token) => Credentials::Basic {
                    user: String::new(),
                    password: token,
                },
                None => Credentials::None,
            },
        });
    }
    // Backstage's defaults: the public hosting services, without credentials.
    let defaults = [
        (
            "github.com",
            HostKind::Github {
                api_base_url: Some("https://api.github.com".to_owned()),
                raw_base_url: Some("https://raw.githubusercontent.com".to_owned()),
            },
        ),
        (
            "gitlab.com",
            HostKind::Gitlab {
                relative_path: String::new(),
            },
        ),
        ("bitbucket.org", HostKind::BitbucketCloud),
        ("dev.azure.com", HostKind::Azure),
    ];
    for (authority, kind) in defaults {
        if !hosts.iter().any(|host| host.authority == authority) {
            hosts.push(Host {
                authority: authority.to_owned(),
                kind,
                credentials: Credentials::None,
            });
        }
    }
    if let Some(backend) = &file.backend {
        for allowed in &backend.reading.allow {
            let authority = allowed.host.to_lowercase();
            if !hosts.iter().any(|host| host.authority == authority) {
                hosts.push(Host {
                    authority,
                    kind: HostKind::Https,
                    credentials: Credentials::None,
                });
            }
        }
    }
    hosts
}

/// The rule of a URL that cannot be read.
pub const URL_RULE: &str = "url";

/// Reads URLs for the catalog. Cheap to clone; clones share the client and the cache.
#[derive(Clone)]
pub struct UrlReader {
    inner: Arc<ReaderInner>,
}

struct ReaderInner {
    client: reqwest::Client,
    hosts: Vec<Host>,
    cache: Mutex<ResponseCache>,
}

impl std::fmt::Debug for UrlReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlReader")
            .field("hosts", &self.inner.hosts)
            .finish_non_exhaustive()
    }
}

/// The last answer for each fetched URL that had an ETag, for `If-None-Match`. Bounded:
/// the oldest entries go first.
#[derive(Default)]
struct ResponseCache {
    entries: HashMap<String, (String, Arc<str>)>,
    order: VecDeque<String>,
    bytes: usize,
}

const CACHE_MAX_BYTES: usize = 64 * 1024 * 1024;

impl ResponseCache {
    fn get(&self, key: &str) -> Option<(String, Arc<str>)> {
        self.entries.get(key).cloned()
    }

    fn insert(&mut self, key: String, etag: String, body: Arc<str>) {
        if let Some((_, old)) = self.entries.remove(&key) {
            self.bytes -= old.len();
            self.order.retain(|existing| *existing != key);
        }
        self.bytes += body.len();
        self.order.push_back(key.clone());
        self.entries.insert(key, (etag, body));
        while self.bytes > CACHE_MAX_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, body)) = self.entries.remove(&oldest) {
                self.bytes -= body.len();
            }
        }
    }
}

/// One file read from a URL.
#[derive(Debug, Clone)]
pub struct FetchedText {
    pub text: Arc<str>,
    /// Whether the server answered 304 Not Modified (the text is the cached one).
    pub not_modified: bool,
}

impl UrlReader {
    /// A reader for the hosts of `file` (and Backstage's default hosts), trusting the
    /// platform's roots and `extra_roots` (PEM).
    pub fn new(
        file: &IntegrationsFile,
        extra_roots_pem: Option<(&str, &[u8])>,
    ) -> Result<UrlReader, IntegrationsError> {
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::limited(5))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("paved/", env!("CARGO_PKG_VERSION")));
        if let Some((name, pem)) = extra_roots_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|error| {
                IntegrationsError::CaBundle {
                    file: name.to_owned(),
                    message: error.to_string(),
                }
            })?;
            if certificates.is_empty() {
                return Err(IntegrationsError::CaBundle {
                    file: name.to_owned(),
                    message: "no PEM certificate in it".to_owned(),
                });
            }
            builder = builder.tls_certs_merge(certificates);
        }
        let client = builder
            .build()
            .map_err(|error| IntegrationsError::Client(error.to_string()))?;
        Ok(UrlReader {
            inner: Arc::new(ReaderInner {
                client,
                hosts: hosts_of(file),
                cache: Mutex::new(ResponseCache::default()),
            }),
        })
    }

    /// Backstage's default hosts, no credentials, the platform's roots only.
    pub fn with_defaults() -> UrlReader {
        UrlReader::new(&IntegrationsFile::default(), None).expect("the default HTTPS client builds")
    }

    fn host_of(&self, url: &Url) -> Option<&Host> {
        let authority = authority_of(url);
        self.inner
            .hosts
            .iter()
            .find(|host| host.authority == authority)
    }

    /// Checks that `url` may be read: HTTPS, no credentials in it, a configured host.
    pub fn check(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|error| format!("`{url}` is not a URL: {error}"))?;
        if parsed.scheme() != "https" {
            return Err(format!(
                "`{}` is not an HTTPS URL; only HTTPS is read",
                shown(&parsed)
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(format!(
                "`{}` holds credentials; configure them per host in the integrations file instead",
                shown(&parsed)
            ));
        }
        if self.host_of(&parsed).is_none() {
            return Err(format!(
                "host `{}` is not configured: add it to `integrations` or `backend.reading.allow` in the integrations file",
                authority_of(&parsed)
            ));
        }
        Ok(parsed)
    }

    /// Resolves `target` (absolute, relative, or absolute within the repository when it
    /// starts with `/`) against the URL of the file that holds it, as Backstage's
    /// `resolveUrl` does.
    pub fn resolve(&self, target: &str, base: &str) -> Result<String, String> {
        if let Ok(absolute) = Url::parse(target) {
            return Ok(absolute.to_string());
        }
        let base_url =
            Url::parse(base).map_err(|error| format!("`{base}` is not a URL: {error}"))?;
        let kind = self.host_of(&base_url).map(|host| &host.kind);
        if kind == Some(&HostKind::Azure) {
            let mut resolved = base_url.clone();
            let path = base_url
                .query_pairs()
                .find(|(key, _)| key == "path")
                .map(|(_, value)| value.into_owned())
                .unwrap_or_else(|| "/".to_owned());
            let joined = if target.starts_with('/') {
                target.to_owned()
            } else {
                let directory = path.rsplit_once('/').map_or("", |(directory, _)| directory);
                crate::source::normalize(std::path::Path::new(&format!("{directory}/{target}")))
                    .display()
                    .to_string()
            };
            let pairs: Vec<(String, String)> = base_url
                .query_pairs()
                .map(|(key, value)| {
                    if key == "path" {
                        (key.into_owned(), joined.clone())
                    } else {
                        (key.into_owned(), value.into_owned())
                    }
                })
                .collect();
            resolved.query_pairs_mut().clear().extend_pairs(pairs);
            return Ok(resolved.to_string());
        }
        let mut resolved = if let Some(rooted) = target.strip_prefix('/') {
            let root = repository_root(&base_url, kind);
            let mut url = base_url.clone();
            url.set_path(&format!("{}/{rooted}", root.trim_end_matches('/')));
            url
        } else {
            base_url.join(target).map_err(|error| {
                format!("`{target}` cannot be resolved against `{base}`: {error}")
            })?
        };
        // Bitbucket Server keeps the ref in the query (`?at=`); the others have none.
        resolved.set_query(base_url.query());
        Ok(resolved.to_string())
    }

    /// Reads `url` within `budget`: the service's raw-content URL with the host's
    /// credentials, `If-None-Match` when an answer is cached, at most [`MAX_FILE_BYTES`].
    /// Blocks the calling (non-async) thread on `runtime`.
    pub fn read_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        url: &str,
        budget: &ReadBudget,
    ) -> Result<FetchedText, Problem> {
        runtime.block_on(self.read(url, budget))
    }

    async fn read(&self, url: &str, budget: &ReadBudget) -> Result<FetchedText, Problem> {
        let problem = |message: String| Problem {
            file: Some(url.to_owned()),
            ..Problem::whole(URL_RULE, message)
        };
        let stopped = |stop: ReadStop| Problem {
            file: Some(url.to_owned()),
            ..stop.problem(budget.limits())
        };
        budget.visit().map_err(stopped)?;
        let parsed = self.check(url).map_err(problem)?;
        let host = self.host_of(&parsed).expect("checked above").clone();
        let fetch_url = fetch_url(&parsed, &host).map_err(problem)?;
        let cache_key = fetch_url.to_string();
        let cached = self
            .inner
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&cache_key);
        let mut request = self.inner.client.get(fetch_url.clone());
        if let HostKind::Github { .. } = host.kind {
            request = request.header(reqwest::header::ACCEPT, "application/vnd.github.v3.raw");
        }
        request = match &host.credentials {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        };
        if let Some((etag, _)) = &cached {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let remaining = budget.time_left();
        let response = tokio::select! {
            response = request.timeout(remaining).send() => response.map_err(|error| problem(request_error(error)))?,
            stop = watch_cancellation(budget) => return Err(stopped(stop)),
        };
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED
            && let Some((_, text)) = cached
        {
            return Ok(FetchedText {
                text,
                not_modified: true,
            });
        }
        if !status.is_success() {
            return Err(problem(format!(
                "the server answered {status}{}",
                match status.as_u16() {
                    401 | 403 => "; check the host's credentials in the integrations file",
                    404 => "; check the URL (and the credentials, as private files answer 404)",
                    _ => "",
                }
            )));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_FILE_BYTES as u64)
        {
            return Err(Problem {
                file: Some(url.to_owned()),
                ..crate::source::file_size_problem()
            });
        }
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let bytes =
            read_body(response, budget, MAX_FILE_BYTES)
                .await
                .map_err(|error| match error {
                    BodyError::Stopped(stop) => stopped(stop),
                    BodyError::TooLarge => Problem {
                        file: Some(url.to_owned()),
                        ..crate::source::file_size_problem()
                    },
                    BodyError::Request(message) => problem(message),
                })?;
        let text: Arc<str> = String::from_utf8(bytes)
            .map_err(|_| problem("the file is not valid UTF-8".to_owned()))?
            .into();
        if let Some(etag) = etag {
            self.inner
                .cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(cache_key, etag, text.clone());
        }
        Ok(FetchedText {
            text,
            not_modified: false,
        })
    }
}

enum BodyError {
    Stopped(ReadStop),
    TooLarge,
    Request(String),
}

/// A response's body, at most `cap` bytes, each chunk counted against the budget.
async fn read_body(
    mut response: reqwest::Response,
    budget: &ReadBudget,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::new();
    loop {
        let chunk = tokio::select! {
            chunk = response.chunk() => chunk.map_err(|error| BodyError::Request(request_error(error)))?,
            stop = watch_cancellation(budget) => return Err(BodyError::Stopped(stop)),
        };
        let Some(chunk) = chunk else {
            return Ok(bytes);
        };
        budget
            .read_bytes(chunk.len() as u64)
            .map_err(BodyError::Stopped)?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() > cap {
            return Err(BodyError::TooLarge);
        }
    }
}

/// Git's smart HTTP protocol over a [`UrlReader`]: the same hosts, roots and bounds, and
/// the host's credentials as git hosts take them (basic authentication).
pub struct GitOverHttps<'a> {
    reader: &'a UrlReader,
    runtime: &'a tokio::runtime::Handle,
    budget: &'a ReadBudget,
}

impl UrlReader {
    /// A git transport for one read, within `budget`.
    pub fn smart_http<'a>(
        &'a self,
        runtime: &'a tokio::runtime::Handle,
        budget: &'a ReadBudget,
    ) -> GitOverHttps<'a> {
        GitOverHttps {
            reader: self,
            runtime,
            budget,
        }
    }
}

impl GitOverHttps<'_> {
    fn send(
        &self,
        request: impl FnOnce(&reqwest::Client, Url) -> reqwest::RequestBuilder,
        url: &str,
    ) -> Result<Vec<u8>, String> {
        self.runtime.block_on(async {
            self.budget.visit().map_err(|stop| stop.problem(self.budget.limits()).message)?;
            let parsed = self.reader.check(url)?;
            let host = self.reader.host_of(&parsed).expect("checked above");
            let mut builder = request(&self.reader.inner.client, parsed.clone());
            builder = match (&host.credentials, &host.kind) {
                (Credentials::None, _) => builder,
                (Credentials::Basic { user, password }, _) => builder.basic_auth(user, Some(password)),
                // Each host's user name for a token over git's HTTP protocol.
                (Credentials::Bearer(token), HostKind::Github { .. }) => builder.basic_auth("x-access-token", Some(token)),
                (Credentials::Bearer(token), HostKind::Gitlab { .. }) => builder.basic_auth("oauth2", Some(token)),
                (Credentials::Bearer(token), HostKind::BitbucketCloud) => builder.basic_auth("x-token-auth", Some(token)),
                (Credentials::Bearer(token), _) => builder.bearer_auth(token),
            };
            let response = tokio::select! {
                response = builder.timeout(self.budget.time_left()).send() => response.map_err(request_error)?,
                stop = watch_cancellation(self.budget) => return Err(stop.problem(self.budget.limits()).message),
            };
            let status = response.status();
            if !status.is_success() {
                return Err(format!("`{}` answered {status}", shown(&parsed)));
            }
            let cap = usize::try_from(self.budget.bytes_left()).unwrap_or(usize::MAX);
            read_body(response, self.budget, cap).await.map_err(|error| match error {
                BodyError::Stopped(stop) => stop.problem(self.budget.limits()).message,
                BodyError::TooLarge => ReadStop::BytesRead.problem(self.budget.limits()).message,
                BodyError::Request(message) => message,
            })
        })
    }
}

impl paved_git::SmartHttp for GitOverHttps<'_> {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        self.send(|client, url| client.get(url), url)
    }

    fn post(&self, url: &str, content_type: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
        self.send(
            |client, url| {
                client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .header(
                        reqwest::header::ACCEPT,
                        "application/x-git-upload-pack-result",
                    )
                    .body(body)
            },
            url,
        )
    }
}

/// Resolves once the budget says stop (cancellation or time), checking it every 100 ms:
/// a stalled server cannot hold a read that was cancelled.
async fn watch_cancellation(budget: &ReadBudget) -> ReadStop {
    loop {
        if let Err(stop) = budget.check() {
            return stop;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An error from the HTTP client, without the URL (it is the problem's file already) and
/// so without any query that could hold a secret.
fn request_error(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    format!("the request failed: {message}")
}

/// `host[:port]`, lowercase, as integrations name hosts.
fn authority_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// The URL without credentials, for messages.
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Path segments of a URL, decoded.
fn segments(url: &Url) -> Vec<String> {
    url.path_segments()
        .map(|segments| {
            segments
                .map(|segment| {
                    percent_encoding::percent_decode_str(segment)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `encodeURIComponent`'s set: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// The URL that serves a file's raw content, by the conventions of its host's service (as
/// Backstage's `getGithubFileFetchUrl`, `getGitLabFileFetchUrl`, ... build them).
fn fetch_url(url: &Url, host: &Host) -> Result<Url, String> {
    let kind = &host.kind;
    let has_token = host.credentials != Credentials::None;
    let parts = segments(url);
    let invalid = |expected: &str| {
        format!(
            "`{}` is not a file URL of this host: expected {expected}",
            shown(url)
        )
    };
    let parse = |text: String| Url::parse(&text).map_err(|error| format!("`{text}`: {error}"));
    match kind {
        HostKind::Github {
            api_base_url,
            raw_base_url,
        } => {
            if parts.len() < 5 || !matches!(parts[2].as_str(), "blob" | "tree" | "raw") {
                return Err(invalid("`https://HOST/OWNER/REPO/blob/REF/PATH`"));
            }
            let (owner, repository, reference) = (&parts[0], &parts[1], &parts[3]);
            let path = parts[4..].join("/");
            // Backstage's `chooseEndpoint`: the API with a token (or without a raw host),
            // the raw host otherwise.
            match (api_base_url, raw_base_url) {
                (Some(api), None) => parse(format!(
                    "{api}/repos/{owner}/{repository}/contents/{path}?ref={reference}"
                )),
                (Some(api), Some(_)) if has_token => parse(format!(
                    "{api}/repos/{owner}/{repository}/contents/{path}?ref={reference}"
                )),
                (_, Some(raw)) => parse(format!("{raw}/{owner}/{repository}/{reference}/{path}")),
                (None, None) => Err(format!(
                    "the GitHub host `{}` has neither `apiBaseUrl` nor `rawBaseUrl`",
                    authority_of(url)
                )),
            }
        }
        HostKind::Gitlab { relative_path } => {
            let path = url.path();
            let path = path.strip_prefix(relative_path.as_str()).unwrap_or(path);
            let (project, rest) = path
                .split_once("/-/blob/")
                .or_else(|| path.split_once("/blob/"))
                .ok_or_else(|| invalid("`https://HOST/GROUP/PROJECT/-/blob/REF/PATH`"))?;
            let (reference, file) = rest
                .split_once('/')
                .ok_or_else(|| invalid("`https://HOST/GROUP/PROJECT/-/blob/REF/PATH`"))?;
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(text)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let mut fetch = url.clone();
            fetch.set_path(&format!(
                "{relative_path}/api/v4/projects/{}/repository/files/{}/raw",
                encode_component(&decode(project.trim_start_matches('/'))),
                encode_component(&decode(file))
            ));
            fetch.set_query(None);
            fetch
                .query_pairs_mut()
                .append_pair("ref", &decode(reference));
            Ok(fetch)
        }
        HostKind::BitbucketCloud => {
            if parts.len() < 5 || !matches!(parts[2].as_str(), "src" | "raw") {
                return Err(invalid(
                    "`https://bitbucket.org/WORKSPACE/REPO/src/REF/PATH`",
                ));
            }
            parse(format!(
                "https://api.bitbucket.org/2.0/repositories/{}/{}/src/{}/{}",
                parts[0],
                parts[1],
                parts[3],
                parts[4..].join("/")
            ))
        }
        HostKind::BitbucketServer { api_base_url } => {
            if parts.len() < 6
                || parts[0] != "projects"
                || parts[2] != "repos"
                || !matches!(parts[4].as_str(), "browse" | "raw")
            {
                return Err(invalid(
                    "`https://HOST/projects/PROJECT/repos/REPO/browse/PATH?at=REF`",
                ));
            }
            let mut fetch = parse(format!(
                "{api_base_url}/projects/{}/repos/{}/raw/{}",
                parts[1],
                parts[3],
                parts[5..].join("/")
            ))?;
            if let Some((_, reference)) = url.query_pairs().find(|(key, _)| key == "at") {
                fetch.query_pairs_mut().append_pair("at", &reference);
            }
            Ok(fetch)
        }
        HostKind::Azure => {
            let git = parts
                .iter()
                .position(|part| part == "_git")
                .filter(|git| *git >= 1 && parts.len() > git + 1)
                .ok_or_else(|| {
                    invalid("`https://dev.azure.com/ORG/PROJECT/_git/REPO?path=PATH`")
                })?;
            let (owner, project) = match git {
                1 => (&parts[0], &parts[2]),
                _ => (&parts[0], &parts[1]),
            };
            let repository = &parts[git + 1];
            let path = url
                .query_pairs()
                .find(|(key, _)| key == "path")
                .map(|(_, value)| value.into_owned())
                .ok_or_else(|| invalid("a `path=` query parameter"))?;
            let mut fetch = url.clone();
            fetch.set_path(&format!(
                "/{}/{}/_apis/git/repositories/{}/items",
                encode_component(owner),
                encode_component(project),
                encode_component(repository)
            ));
            fetch.set_query(None);
            {
                let mut query = fetch.query_pairs_mut();
                query.append_pair("api-version", "6.0");
                query.append_pair("path", &path);
                if let Some((_, version)) = url.query_pairs().find(|(key, _)| key == "version") {
                    let (kind, reference) = version.split_at(version.len().min(2));
                    query.append_pair("versionDescriptor.version", reference);
                    query.append_pair(
                        "versionDescriptor.versionType",
                        if kind == "GT" { "tag" } else { "branch" },
                    );
                }
            }
            Ok(fetch)
        }
        HostKind::Https => Ok(url.clone()),
    }
}

/// The path of a repository's root in a file URL of its host (what a target starting with
/// `/` is relative to).
fn repository_root(url: &Url, kind: Option<&HostKind>) -> String {
    let parts: Vec<&str> = url.path().split('/').skip(1).collect();
    let take = |count: usize| format!("/{}", parts[..count.min(parts.len())].join("/"));
    match kind {
        Some(HostKind::Github { .. } | HostKind::BitbucketCloud) => take(4),
        Some(HostKind::Gitlab { .. }) => {
            let path = url.path();
            match path.find("/-/blob/").or_else(|| path.find("/blob/")) {
                Some(at) => {
                    let marker_end = at + if path[at..].starts_with("/-/") { 8 } else { 6 };
                    let reference_end = path[marker_end..]
                        .find('/')
                        .map_or(path.len(), |slash| marker_end + slash);
                    path[..reference_end].to_owned()
                }
                None => String::new(),
            }
        }
        Some(HostKind::BitbucketServer { .. }) => take(5),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(file: &str) -> UrlReader {
        let environment = |name: &str| (name == "TOKEN").then(|| "s3cret".to_owned());
        let file = IntegrationsFile::parse("test.yaml", file, &environment).expect("parses");
        UrlReader::new(&file, None).expect("builds")
    }

    #[track_caller]
    fn check_fetch(reader: &UrlReader, url: &str, expect: &str) {
        let parsed = Url::parse(url).expect("a URL");
        let host = reader.host_of(&parsed).expect("a host");
        let actual = match fetch_url(&parsed, host) {
            Ok(fetch) => fetch.to_string(),
            Err(error) => error,
        };
        assert_eq!(actual, expect, "{url}");
    }

    /// The same URLs as Backstage's integration package builds them (catalog's
    /// `@backstage/integration` 2.2.0: `getGithubFileFetchUrl`, `getGitLabFileFetchUrl`,
    /// `getBitbucketCloudFileFetchUrl`, `getBitbucketServerFileFetchUrl`,
    /// `AzureUrl.toFileUrl`).
    #[test]
    fn fetch_urls_follow_each_service() {
        let reader = reader(
            "integrations:\n  bitbucketServer:\n    - host: bitbucket.example.com\n  gitlab:\n    - host: git.example.com\n      baseUrl: https://git.example.com/gitlab\nbackend:\n  reading:\n    allow:\n      - host: docs.example.com\n",
        );
        check_fetch(
            &reader,
            "https://github.com/acme/shop/blob/main/services/catalog-info.yaml",
            "https://raw.githubusercontent.com/acme/shop/main/services/catalog-info.yaml",
        );
        check_fetch(
            &reader,
            "https://gitlab.com/group/sub/shop/-/blob/main/a%20b/catalog-info.yaml",
            "https://gitlab.com/api/v4/projects/group%2Fsub%2Fshop/repository/files/a%20b%2Fcatalog-info.yaml/raw?ref=main",
        );
        check_fetch(
            &reader,
            "https://git.example.com/gitlab/team/shop/-/blob/v1/catalog-info.yaml",
            "https://git.example.com/gitlab/api/v4/projects/team%2Fshop/repository/files/catalog-info.yaml/raw?ref=v1",
        );
        check_fetch(
            &reader,
            "https://bitbucket.org/acme/shop/src/main/catalog-info.yaml",
            "https://api.bitbucket.org/2.0/repositories/acme/shop/src/main/catalog-info.yaml",
        );
        check_fetch(
            &reader,
            "https://bitbucket.example.com/projects/ACME/repos/shop/browse/catalog-info.yaml?at=main",
            "https://bitbucket.example.com/rest/api/1.0/projects/ACME/repos/shop/raw/catalog-info.yaml?at=main",
        );
        check_fetch(
            &reader,
            "https://dev.azure.com/acme/shop/_git/web?path=/catalog-info.yaml&version=GBmain",
            "https://dev.azure.com/acme/shop/_apis/git/repositories/web/items?api-version=6.0&path=%2Fcatalog-info.yaml&versionDescriptor.version=main&versionDescriptor.versionType=branch",
        );
        check_fetch(
            &reader,
            "https://docs.example.com/catalog/catalog-info.yaml",
            "https://docs.example.com/catalog/catalog-info.yaml",
        );
        check_fetch(
            &reader,
            "https://github.com/acme/shop",
            "`https://github.com/acme/shop` is not a file URL of this host: expected `https://HOST/OWNER/REPO/blob/REF/PATH`",
        );
    }

    #[test]
    fn relative_targets_resolve_as_backstage_resolves_them() {
        let reader = reader("{}\n");
        let base = "https://github.com/acme/shop/blob/main/services/all.yaml";
        for (target, expect) in [
            (
                "./web.yaml",
                "https://github.com/acme/shop/blob/main/services/web.yaml",
            ),
            (
                "../api/openapi.yaml",
                "https://github.com/acme/shop/blob/main/api/openapi.yaml",
            ),
            (
                "/docs/x.yaml",
                "https://github.com/acme/shop/blob/main/docs/x.yaml",
            ),
            (
                "https://gitlab.com/a/b/-/blob/main/c.yaml",
                "https://gitlab.com/a/b/-/blob/main/c.yaml",
            ),
        ] {
            assert_eq!(
                reader.resolve(target, base).as_deref(),
                Ok(expect),
                "{target}"
            );
        }
        assert_eq!(
            reader
                .resolve("/x.yaml", "https://gitlab.com/a/b/-/blob/main/c/d.yaml")
                .as_deref(),
            Ok("https://gitlab.com/a/b/-/blob/main/x.yaml")
        );
        assert_eq!(
            reader
                .resolve(
                    "../x.yaml",
                    "https://dev.azure.com/acme/shop/_git/web?path=/a/b.yaml&version=GBmain"
                )
                .as_deref(),
            Ok("https://dev.azure.com/acme/shop/_git/web?path=%2Fx.yaml&version=GBmain")
        );
    }

    #[test]
    fn only_configured_https_hosts_without_inline_credentials_are_read() {
        let reader = reader("{}\n");
        for (url, expect) in [
            (
                "http://github.com/a/b/blob/main/c.yaml",
                "`http://github.com/a/b/blob/main/c.yaml` is not an HTTPS URL; only HTTPS is read",
            ),
            (
                "https://user:pw@github.com/a/b/blob/main/c.yaml",
                "`https://github.com/a/b/blob/main/c.yaml` holds credentials; configure them per host in the integrations file instead",
            ),
            (
                "https://example.com/c.yaml",
                "host `example.com` is not configured: add it to `integrations` or `backend.reading.allow` in the integrations file",
            ),
        ] {
            assert_eq!(reader.check(url).err().as_deref(), Some(expect), "{url}");
        }
    }

    #[test]
    fn variables_come_from_the_environment_and_secrets_stay_out_of_debug() {
        let reader = reader(
            "integrations:\n  github:\n    - host: ghe.example.com\n      apiBaseUrl: https://ghe.example.com/api/v3\n      token: ${TOKEN}\n",
        );
        let host = reader
            .host_of(&Url::parse("https://ghe.example.com/x").expect("a URL"))
            .expect("configured");
        assert!(host.credentials == Credentials::Bearer("s3cret".to_owned()));
        assert!(!format!("{reader:?}").contains("s3cret"));
        let environment = |_: &str| None;
        let error = IntegrationsFile::parse(
            "f.yaml",
            "integrations:\n  github:\n    - token: ${NOPE}\n",
            &environment,
        )
        .expect_err("refused");
        assert_eq!(
            error.to_string(),
            "integrations file `f.yaml`: `${NOPE}` is not set in the environment"
        );
    }
}

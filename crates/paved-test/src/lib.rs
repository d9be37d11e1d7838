//! Test support (dev-only): a real Paved server on a free port over SQLite in a temporary
//! directory or a fresh PostgreSQL database, and helpers to call it.
//!
//! Every integration test runs on both back ends through [`both_backends!`]. PostgreSQL is
//! reached at `PAVED_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! each test gets its own database, dropped afterwards.

pub mod engine;
pub mod git_http;
pub mod https;

use std::path::{Path, PathBuf};
use std::time::Duration;

use paved_catalog::{Catalog, CatalogConfig};
use paved_jobs::JobRunnerConfig;
use paved_model::ids::ReplicaId;
use paved_scaffolder::ScaffolderConfig;
use paved_server::{AppConfig, AppState};
use paved_store::{Store, StoreConfig};
use paved_template_registry::RegistryConfig;
use serde_json::Value;
use tokio::sync::watch;

/// Where `.ci/setup-oracles` installs the oracles: `ORACLES_HOME`, by default
/// `~/.cache/paved-oracles` (the AWS CLI is `py/bin/aws` there).
pub fn oracles_home() -> PathBuf {
    std::env::var_os("ORACLES_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/paved-oracles"))
        })
        .expect("ORACLES_HOME or HOME is set")
}

/// Backstage's own catalog validator (`@backstage/catalog-model` and the scaffolder's Template
/// v1beta3 validator), installed by `.ci/setup-oracles` under `ORACLES_HOME` (default
/// `~/.cache/paved-oracles`), run with Node.js.
pub mod backstage {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// The `catalog-info.yaml` that Backstage's starter app (`@backstage/create-app`'s
    /// `default-app` template) generates, with `{{name}}` filled in: its owner
    /// `john@example.com` is a reference Backstage loads, whose name breaks the entity
    /// name rules.
    pub const STARTER_APP_CATALOG_INFO: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: backstage
  description: An example of a Backstage application.
  # Example for optional annotations
  # annotations:
  #   github.com/project-slug: backstage/backstage
  #   backstage.io/techdocs-ref: dir:.
spec:
  type: website
  owner: john@example.com
  lifecycle: experimental
";

    /// Backstage's verdict on one document of one file.
    #[derive(Debug)]
    pub struct Verdict {
        pub file: PathBuf,
        pub document: usize,
        pub ok: bool,
        /// The validator's own line for the document.
        pub line: String,
        /// For an invalid document, the validator's reason (one line per line of reason).
        pub reason: String,
    }

    impl Verdict {
        /// The line and the reason, for messages.
        pub fn text(&self) -> String {
            format!("{}\n{}", self.line, self.reason)
        }
    }

    /// `node validate-catalog.js` in the oracles directory.
    #[derive(Debug)]
    pub struct BackstageValidator {
        dir: PathBuf,
    }

    impl BackstageValidator {
        /// Fails, never skips, when the validator is not installed.
        pub fn locate() -> BackstageValidator {
            let dir = crate::oracles_home().join("backstage");
            for needed in [
                "validate-catalog.js",
                "node_modules/@backstage/catalog-model",
                "node_modules/@backstage/plugin-scaffolder-common",
            ] {
                assert!(
                    dir.join(needed).exists(),
                    "Backstage's validator is missing (`{}` not found); install it with `.ci/setup-oracles`",
                    dir.join(needed).display()
                );
            }
            BackstageValidator { dir }
        }

        /// Backstage's verdict on every document of `files` (absolute paths), in order.
        pub fn run(&self, files: &[PathBuf]) -> Vec<Verdict> {
            self.run_script(&self.dir.join("validate-catalog.js"), files)
        }

        /// The same with the validator script edited first: each `(from, to)` must match the
        /// script exactly once. The edited script is written beside `file`.
        pub fn run_edited(&self, file: &Path, edits: &[(&str, &str)]) -> Vec<Verdict> {
            let mut text = std::fs::read_to_string(self.dir.join("validate-catalog.js"))
                .expect("read validate-catalog.js");
            for (from, to) in edits {
                assert_eq!(
                    text.matches(from).count(),
                    1,
                    "validate-catalog.js changed: `{from}` is not in it once"
                );
                text = text.replace(from, to);
            }
            let script = file.with_extension("validate.js");
            std::fs::write(&script, text).expect("write the edited validator");
            self.run_script(&script, std::slice::from_ref(&file.to_owned()))
        }

        fn run_script(&self, script: &Path, files: &[PathBuf]) -> Vec<Verdict> {
            let output = Command::new("node")
                .arg(script)
                .args(files)
                .env("NODE_PATH", self.dir.join("node_modules"))
                .current_dir(&self.dir)
                .output()
                .unwrap_or_else(|error| {
                    panic!("cannot run `node` for Backstage's validator ({error}); install Node.js and run `.ci/setup-oracles`")
                });
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            let mut verdicts: Vec<Verdict> = Vec::new();
            for line in stdout.lines() {
                if let Some(reason) = line.strip_prefix("    ") {
                    let last = verdicts
                        .last_mut()
                        .unwrap_or_else(|| panic!("a reason before any verdict:\n{stdout}"));
                    last.reason.push_str(reason);
                    last.reason.push('\n');
                    continue;
                }
                let (file, rest) = files
                    .iter()
                    .find_map(|file| {
                        line.strip_prefix(&format!("{}#", file.display()))
                            .map(|rest| (file, rest))
                    })
                    .unwrap_or_else(|| panic!("unexpected validator output `{line}`:\n{stdout}"));
                let (index, _) = rest
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("unexpected validator output `{line}`"));
                let ok = match line.rsplit(' ').next() {
                    Some("OK") => true,
                    Some("INVALID") => false,
                    _ => panic!("unexpected validator output `{line}`"),
                };
                verdicts.push(Verdict {
                    file: file.clone(),
                    document: index.parse().expect("a document index"),
                    ok,
                    line: line.to_owned(),
                    reason: String::new(),
                });
            }
            assert!(
                output.status.code().is_some_and(|code| code <= 1) && stderr.trim().is_empty(),
                "Backstage's validator failed:\n{stdout}\n{stderr}"
            );
            assert_eq!(
                output.status.success(),
                verdicts.iter().all(|verdict| verdict.ok),
                "the validator's exit status disagrees with its output:\n{stdout}"
            );
            for file in files {
                let documents: Vec<usize> = verdicts
                    .iter()
                    .filter(|verdict| &verdict.file == file)
                    .map(|verdict| verdict.document)
                    .collect();
                assert!(
                    !documents.is_empty(),
                    "Backstage's validator saw no document in `{}`:\n{stdout}",
                    file.display()
                );
                assert!(
                    documents.iter().copied().eq(0..documents.len()),
                    "documents in order: {stdout}"
                );
            }
            verdicts
        }
    }
}

/// The admin token every test server accepts.
pub const TEST_TOKEN: &str = "pvd_test_token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Expands `both_backends!(check_something);` into a module with one test per back end, each
/// calling `check_something(Backend::X).await`.
#[macro_export]
macro_rules! both_backends {
    ($($check:ident),* $(,)?) => {
        $(
            mod $check {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$check($crate::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$check($crate::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// A PostgreSQL database created for one test and dropped with it.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let admin_url = std::env::var("PAVED_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("paved_test_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!("PostgreSQL at `{admin_url}` is needed for tests: {error}")
            });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create a test database");
        pool.close().await;
        let url = match admin_url.rfind('/') {
            Some(slash) => format!("{}/{name}", &admin_url[..slash]),
            None => panic!("PAVED_TEST_POSTGRES_URL `{admin_url}` has no database part"),
        };
        TestDatabase {
            url,
            admin_url,
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee; use a private one on its own thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for cleanup");
            runtime.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&pool)
                    .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// Where a test server keeps its state, so a restart finds it again.
#[derive(Debug)]
pub struct TestData {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub database: Option<TestDatabase>,
    /// Whether the server registers the built-in templates at start, as `paved up` does. Off
    /// by default so catalog tests see only their own entities.
    pub builtin_templates: bool,
    /// How often the local engine wakes with nothing to wake it: 200 ms, so tests that miss
    /// a signal still move quickly (`paved up` uses 1 s).
    pub engine_tick: Duration,
    /// The bounds of every read of a location (the defaults unless a test lowers them).
    pub read_limits: paved_catalog::budget::ReadLimits,
    /// How URLs are read (Backstage's default hosts unless a test configures its own).
    pub url_reader: paved_catalog::url::UrlReader,
}

impl TestData {
    pub async fn new(backend: Backend) -> TestData {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await),
        };
        TestData {
            backend,
            dir,
            database,
            builtin_templates: false,
            engine_tick: Duration::from_millis(200),
            read_limits: paved_catalog::budget::ReadLimits::default(),
            url_reader: paved_catalog::url::UrlReader::with_defaults(),
        }
    }

    /// The same, with the built-in templates registered at start.
    pub async fn with_builtin_templates(backend: Backend) -> TestData {
        TestData {
            builtin_templates: true,
            ..TestData::new(backend).await
        }
    }

    pub fn registry_config(&self) -> RegistryConfig {
        RegistryConfig {
            git_cache: self.dir.path().join("git-cache"),
            sync_interval: Duration::from_secs(3600),
            builtin_templates: self.builtin_templates,
            cache_bytes: paved_template_registry::DEFAULT_CACHE_BYTES,
        }
    }

    pub fn scaffolder_config(&self) -> ScaffolderConfig {
        ScaffolderConfig {
            repositories_dir: self.dir.path().join("repositories"),
            git_credentials: None,
            crash_after_step: None,
        }
    }

    pub fn engine_config(&self) -> paved_engine_local::LocalEngineConfig {
        let mut config = paved_engine_local::LocalEngineConfig::new(
            self.dir.path().join("engine"),
            test_replica(),
        );
        config.tick = self.engine_tick;
        config
    }

    pub fn jobs_config(&self) -> JobRunnerConfig {
        JobRunnerConfig {
            poll_interval: Duration::from_millis(200),
            ..JobRunnerConfig::new(test_replica())
        }
    }

    /// Every part's configuration.
    pub fn app_config(&self) -> AppConfig {
        AppConfig {
            catalog: self.catalog_config(),
            registry: self.registry_config(),
            scaffolder: self.scaffolder_config(),
            engine: self.engine_config(),
            jobs: self.jobs_config(),
        }
    }

    pub fn store_config(&self) -> StoreConfig {
        match &self.database {
            Some(database) => StoreConfig::Postgres {
                url: database.url.clone(),
            },
            None => StoreConfig::Sqlite {
                path: self.dir.path().join("paved.db"),
            },
        }
    }

    /// Paved's own files in a test's data directory, which no location may read. Test
    /// inputs live beside them, under `input/`.
    pub fn private_paths(&self) -> Vec<PathBuf> {
        [
            "admin-token",
            "paved.db",
            "paved.db-wal",
            "paved.db-shm",
            "git-cache",
            "repositories",
            "engine",
        ]
        .iter()
        .map(|name| self.dir.path().join(name))
        .collect()
    }

    pub fn catalog_config(&self) -> CatalogConfig {
        CatalogConfig {
            git_cache: self.dir.path().join("git-cache"),
            working_dir: self.dir.path().to_owned(),
            refresh_interval: Duration::from_secs(3600),
            orphan_grace: Duration::ZERO,
            replica: test_replica(),
            private_paths: self.private_paths(),
            read_limits: self.read_limits,
            url_reader: self.url_reader.clone(),
        }
    }

    /// A directory for the test's own input files.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join("input").join(relative)
    }
}

/// The replica id of every test server (a restart is the same replica, as with `paved up`).
pub fn test_replica() -> ReplicaId {
    ReplicaId("replica-test".to_owned())
}

/// A running server. Dropping it stops the server (but keeps its data in `data`).
#[derive(Debug)]
pub struct TestServer {
    pub base_url: String,
    /// The local engine, for tests that await its changes.
    pub local: paved_engine_local::LocalEngine,
    pub catalog: Catalog,
    pub store: Store,
    pub jobs: paved_jobs::JobRunner,
    /// The server's template registry (to give it git credentials, as `paved up` does).
    pub registry: paved_template_registry::Registry,
    pub data: TestData,
    client: reqwest::Client,
    stop: watch::Sender<bool>,
    served: Option<tokio::task::JoinHandle<()>>,
}

/// A response: status and parsed JSON body (Null when the body is empty or not JSON).
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        TestServer::start_with(TestData::new(backend).await).await
    }

    /// Starts a server over existing data (a restart).
    pub async fn start_with(data: TestData) -> TestServer {
        let store = Store::open(&data.store_config())
            .await
            .expect("the store opens");
        let (state, _) = AppState::build(store.clone(), data.app_config(), TEST_TOKEN)
            .await
            .expect("the application starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let base_url = format!("http://{}", listener.local_addr().expect("a local address"));
        let catalog = state.catalog.clone();
        let local = state.local.clone();
        let jobs = state.jobs.clone();
        let registry = state.registry.clone();
        let (stop, stopped) = watch::channel(false);
        let background = state.start(stopped.clone());
        let served = tokio::spawn(async move {
            let mut stopped = stopped;
            paved_server::serve(listener, state, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
            .expect("the server runs");
            // The engine stops its tasks before the server counts as stopped.
            background.stopped().await;
        });
        TestServer {
            base_url,
            local,
            catalog,
            store,
            jobs,
            registry,
            data,
            client: reqwest::Client::new(),
            stop,
            served: Some(served),
        }
    }

    /// Stops the server, waits for it, and starts a new one over the same data.
    pub async fn restart(mut self) -> TestServer {
        let _ = self.stop.send(true);
        if let Some(served) = self.served.take() {
            served.await.expect("the server stops cleanly");
        }
        self.store.close().await;
        let data = std::mem::replace(
            &mut self.data,
            TestData {
                backend: Backend::Sqlite,
                dir: tempfile::tempdir().expect("tempdir"),
                database: None,
                builtin_templates: false,
                engine_tick: Duration::from_millis(200),
                read_limits: paved_catalog::budget::ReadLimits::default(),
                url_reader: paved_catalog::url::UrlReader::with_defaults(),
            },
        );
        TestServer::start_with(data).await
    }

    /// Stops the server and the local engine's tasks, and waits for both.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(served) = self.served.take() {
            served.await.expect("the server stops cleanly");
        }
    }

    /// The audit log, newest first (the last 500 records: more than any test writes).
    pub async fn audit_log(&self) -> Vec<paved_store::AuditEventRow> {
        self.store
            .audit_events(&paved_store::AuditFilter {
                limit: 500,
                ..paved_store::AuditFilter::default()
            })
            .await
            .expect("the audit log reads")
    }

    /// Writes an input file under the test's data directory and returns its path.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.data.path(relative);
        std::fs::create_dir_all(path.parent().expect("files have a parent"))
            .expect("create input directories");
        std::fs::write(&path, contents).expect("write an input file");
        path
    }

    pub fn input_dir(&self) -> PathBuf {
        self.data.path("")
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.client.get(self.url(path))).await
    }

    /// POST with the admin token.
    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(TEST_TOKEN)
                .json(&body),
        )
        .await
    }

    /// POST without credentials.
    pub async fn post_anonymous(&self, path: &str, body: Value) -> TestResponse {
        self.send(self.client.post(self.url(path)).json(&body))
            .await
    }

    /// DELETE with the admin token.
    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(self.client.delete(self.url(path)).bearer_auth(TEST_TOKEN))
            .await
    }

    /// Registers a location and asserts it was created.
    pub async fn add_location(&self, location_type: &str, target: &Path) -> TestResponse {
        let response = self
            .post(
                "/api/catalog/locations",
                serde_json::json!({"type": location_type, "target": target.display().to_string()}),
            )
            .await;
        assert_eq!(
            response.status,
            201,
            "registering `{}`: {}",
            target.display(),
            response.text
        );
        response
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        let response = request.send().await.expect("the test server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        TestResponse { status, body, text }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// An audit record for a change a test makes directly through an application crate, as the
/// admin would through the API: `catalog.refresh_location(&id, &Mutation::new(&record))`.
pub fn admin_record(
    action: paved_model::access::Action,
    kind: paved_model::access::ResourceKind,
    name: &str,
) -> paved_model::access::AuditRecord {
    paved_model::access::AuditRecord::new(
        paved_model::access::Principal::Admin,
        action,
        paved_model::access::Resource::new(kind, name),
        paved_model::access::CallOrigin::default(),
    )
}

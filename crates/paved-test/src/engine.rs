//! Fixtures for the local engine's tests and benchmarks: a small HTTP app in a service
//! repository, its image, ECS calls in-process, and waiting on the engine's changes.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use paved_engine::{EcsError, Operation};
use paved_model::access::{CallOrigin, Principal};
use serde_json::Value;

use crate::TestServer;

/// A small HTTP app: answers `version $VERSION` on every path, and `/health` with 500 when
/// `HEALTH=fail`. It listens on `$PORT`, as the local engine asks.
pub const APP: &str = r#"import http.server, os
port = int(os.environ["PORT"])
version = os.environ.get("VERSION", "?")
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        failing = self.path == "/health" and os.environ.get("HEALTH") == "fail"
        body = ("version " + version + "\n").encode()
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
print("listening on", port, flush=True)
Server(("127.0.0.1", port), Handler).serve_forever()
"#;

/// The app's Dockerfile: the local engine reads its WORKDIR, COPY, ENV and CMD.
pub const DOCKERFILE: &str = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . /app\nENV VERSION=1\nCMD [\"python3\", \"app.py\"]\n";

/// Commits `files` to the bare repository `<data_dir>/repositories/NAME.git` (made if
/// missing), where the scaffolder keeps service repositories; returns its path and the commit.
pub fn service_repository(
    data_dir: &Path,
    name: &str,
    files: &[(&str, &str)],
) -> (PathBuf, String) {
    let path = data_dir.join("repositories").join(format!("{name}.git"));
    if !path.exists() {
        paved_git::init_bare(&path).expect("a bare repository");
    }
    let files: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(path, contents)| ((*path).to_owned(), contents.as_bytes().to_vec()))
        .collect();
    let commit =
        paved_git::commit_files(&path, "main", &files, "The app", "Test", "test@example.com")
            .expect("a commit");
    (path, commit)
}

impl TestServer {
    /// Commits [`APP`] to the service repository `name` and builds its image; returns the
    /// image (`local/NAME:COMMIT`).
    pub fn build_app(&self, name: &str) -> String {
        let (repository, _) = service_repository(
            self.data.dir.path(),
            name,
            &[("app.py", APP), ("Dockerfile", DOCKERFILE)],
        );
        self.local
            .runtime()
            .images()
            .build(name, &repository, "main")
            .expect("the image builds")
            .to_string()
    }

    /// Runs one ECS operation in-process, as the admin, through the `/ecs` adapter (decode,
    /// authorise, engine, encode) without HTTP; panics on an error.
    pub async fn ecs(&self, operation: Operation, request: Value) -> Value {
        self.try_ecs(operation, request.clone())
            .await
            .unwrap_or_else(|error| panic!("{} {request} failed: {error}", operation.name()))
    }

    /// [`TestServer::ecs`], returning ECS's error.
    pub async fn try_ecs(&self, operation: Operation, request: Value) -> Result<Value, EcsError> {
        let policy = paved_policy::PolicyPoint::new(self.store.clone());
        let caller = paved_server::ecs::EcsCaller {
            policy: &policy,
            principal: &Principal::Admin,
            origin: &CallOrigin::default(),
        };
        paved_server::ecs::call(self.local.engine(), &caller, operation, request).await
    }

    /// Registers a revision of `family`: one essential container `app` running `image`, port
    /// 8080, `environment` (ECS's `[{name, value}]`), an optional container health check, a
    /// 2 s stop timeout, Fargate-sized. Returns the revision's ARN.
    pub async fn register_app(
        &self,
        family: &str,
        image: &str,
        environment: Value,
        health_check: Option<Value>,
    ) -> String {
        let mut container = serde_json::json!({
            "name": "app",
            "image": image,
            "essential": true,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": environment,
            "stopTimeout": 2,
        });
        if let Some(check) = health_check {
            container["healthCheck"] = check;
        }
        let response = self
            .ecs(
                Operation::RegisterTaskDefinition,
                serde_json::json!({"family": family, "containerDefinitions": [container],
                    "cpu": "256", "memory": "512", "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"]}),
            )
            .await;
        response["taskDefinition"]["taskDefinitionArn"]
            .as_str()
            .expect("an ARN")
            .to_owned()
    }

    /// Waits until `check` returns `Some`, checking again after every change of the engine;
    /// panics after `patience`.
    pub async fn until<T, F, Fut>(&self, what: &str, patience: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let mut changes = self.local.changes();
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            changes.borrow_and_update();
            if let Some(value) = check().await {
                return value;
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                panic!("timed out waiting for {what}");
            }
        }
    }
}

/// Makes every insert into the audit log fail (a trigger raising an error) until dropped, so
/// a test can show that a change and its audit record commit together or not at all.
pub struct AuditTrap {
    store: paved_store::Store,
}

impl AuditTrap {
    pub async fn install(store: &paved_store::Store) -> AuditTrap {
        let statements: &[&str] = match store {
            paved_store::Store::Sqlite(_) => {
                &["CREATE TRIGGER audit_trap BEFORE INSERT ON audit_events \
                 BEGIN SELECT RAISE(ABORT, 'the audit log refuses writes'); END"]
            }
            paved_store::Store::Postgres(_) => &[
                "CREATE FUNCTION audit_trap() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'the audit log refuses writes'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER audit_trap BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION audit_trap()",
            ],
        };
        run_sql(store, statements).await;
        AuditTrap {
            store: store.clone(),
        }
    }

    /// Drops the trigger: audit writes succeed again.
    pub async fn remove(self) {
        let statements: &[&str] = match &self.store {
            paved_store::Store::Sqlite(_) => &["DROP TRIGGER audit_trap"],
            paved_store::Store::Postgres(_) => &[
                "DROP TRIGGER audit_trap ON audit_events",
                "DROP FUNCTION audit_trap()",
            ],
        };
        run_sql(&self.store, statements).await;
    }
}

async fn run_sql(store: &paved_store::Store, statements: &[&str]) {
    for statement in statements {
        let safe = sqlx::AssertSqlSafe(*statement);
        match store {
            paved_store::Store::Sqlite(pool) => sqlx::query(safe).execute(pool).await.map(|_| ()),
            paved_store::Store::Postgres(pool) => sqlx::query(safe).execute(pool).await.map(|_| ()),
        }
        .unwrap_or_else(|error| panic!("`{statement}` failed: {error}"));
    }
}

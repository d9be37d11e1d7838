//! `paved up` as a child process, driven by the catalog commands: register, list, get, query,
//! refresh, remove; refusals; SIGTERM; a restart over the same data; PostgreSQL.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{Run, fixture_absolute, paved, run};

/// How long `paved up` may take to answer, or to stop after SIGTERM.
const DEADLINE: Duration = Duration::from_secs(60);
/// What `paved up` prints on stderr once it accepts connections.
const READY_LINE: &str = "Paved is listening on";

#[test]
fn serves_the_catalog_commands_and_resumes_after_sigterm() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let catalog = dir.path().join("catalog-info.yaml");
    std::fs::copy(fixture_absolute("catalog-info.yaml"), &catalog).expect("copy the fixture");

    let server = Up::start(dir.path(), &data_dir, &[]);
    let (status, health) = server.get("/healthz");
    assert_eq!((status, health["store"].as_str()), (200, Some("sqlite")));
    let token = std::fs::read_to_string(data_dir.join("admin-token")).expect("an admin token");
    assert!(token.trim().starts_with("pvd_"), "token `{token}`");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data_dir.join("admin-token"))
            .expect("the token file")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the token is readable by its owner only"
        );
    }

    // A dry run reads the file but registers nothing.
    let dry_run = server.cli(
        &["catalog", "locations", "add", "--dry-run", "-o", "json"],
        &[&catalog],
    );
    assert_eq!(dry_run.code, Some(0), "{dry_run}");
    assert_eq!(dry_run.json()["entities"].as_array().map(Vec::len), Some(6));
    let listed = server.cli(&["catalog", "locations", "list", "-o", "json"], &[]);
    assert_eq!(listed.json(), json!({"items": []}), "{listed}");

    // A relative path is the caller's: it is sent absolute.
    let added = server.cli_in(
        dir.path(),
        &[
            "catalog",
            "locations",
            "add",
            "-o",
            "json",
            "catalog-info.yaml",
        ],
    );
    assert_eq!(added.code, Some(0), "{added}");
    let added = added.json();
    assert_eq!(added["problems"], json!([]));
    assert_eq!(added["entityRefs"].as_array().map(Vec::len), Some(6));
    let id = added["location"]["id"]
        .as_str()
        .expect("the location has an id")
        .to_owned();

    let listed = server.cli(&["catalog", "locations", "list", "-o", "json"], &[]);
    assert_eq!(listed.code, Some(0), "{listed}");
    let listed = listed.json();
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert_eq!(listed["items"][0]["type"], "file");
    assert_eq!(listed["items"][0]["target"], catalog.display().to_string());

    let web = server.cli(
        &["catalog", "get", "component:default/web", "-o", "json"],
        &[],
    );
    assert_eq!(web.code, Some(0), "{web}");
    let web = web.json();
    assert_eq!(web["metadata"]["name"], "web");
    let relations = web["relations"].as_array().expect("relations are listed");
    for expected in [
        json!({"type": "ownedBy", "targetRef": "group:default/platform"}),
        json!({"type": "partOf", "targetRef": "system:default/storefront"}),
        json!({"type": "providesApi", "targetRef": "api:default/web-api"}),
    ] {
        assert!(relations.contains(&expected), "{expected} in {relations:?}");
    }

    let components = server.cli(
        &[
            "catalog",
            "query",
            "--filter",
            "kind=component",
            "-o",
            "json",
        ],
        &[],
    );
    assert_eq!(components.code, Some(0), "{components}");
    let components = components.json();
    assert_eq!(components["totalItems"], 1, "{components}");
    assert_eq!(components["items"][0]["metadata"]["name"], "web");

    let refreshed = server.cli(
        &["catalog", "refresh", "component:default/web", "-o", "json"],
        &[],
    );
    assert_eq!(refreshed.code, Some(0), "{refreshed}");
    let refreshed = refreshed.json();
    assert_eq!(refreshed["problems"], json!([]));
    assert_eq!(refreshed["unchanged"], 6, "{refreshed}");

    let refused = server.cli(
        &["catalog", "locations", "add", "--token", "not-the-token"],
        &[&catalog],
    );
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("refused the token from --token"),
        "{refused}"
    );
    let refused = server.cli(
        &[
            "catalog",
            "locations",
            "remove",
            &id,
            "--token",
            "not-the-token",
        ],
        &[],
    );
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("refused the token from --token"),
        "{refused}"
    );

    let status = server.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM stops paved cleanly: {status}"
    );

    // Same data directory: the catalog and the token survive.
    let server = Up::start(dir.path(), &data_dir, &[]);
    assert_eq!(
        std::fs::read_to_string(data_dir.join("admin-token")).expect("the admin token"),
        token,
        "the admin token is kept across restarts"
    );
    let web = server.cli(&["catalog", "get", "web", "-o", "json"], &[]);
    assert_eq!(web.code, Some(0), "{web}");
    assert_eq!(web.json()["metadata"]["name"], "web");
    let (_, everything) = server.get("/api/catalog/entities/by-query");
    // The file's 6 entities and the 5 built-in templates.
    assert_eq!(everything["totalItems"], 11, "{everything}");

    let removed = server.cli(&["catalog", "locations", "remove", &id], &[]);
    assert_eq!(removed.code, Some(0), "{removed}");
    let listed = server.cli(&["catalog", "locations", "list", "-o", "json"], &[]);
    assert_eq!(listed.json(), json!({"items": []}), "{listed}");
    let gone = server.cli(&["catalog", "get", "component:default/web"], &[]);
    assert_eq!(gone.code, Some(1), "a 404 is a refusal: {gone}");
    assert!(gone.stderr.contains("not found"), "{gone}");
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

/// SIGTERM stops `paved up` in the middle of a read that would take minutes (a glob over the
/// whole file system with its limits raised): the read is cancelled at once, and the
/// process exits well within its grace period, without the grace period's forced exit.
#[test]
fn sigterm_stops_a_long_read() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let server = Up::start_with_env(
        dir.path(),
        &data_dir,
        &[
            "--catalog-max-files-visited",
            "1000000000",
            "--catalog-max-bytes-read",
            "1000000000000",
            "--catalog-max-read-time",
            "3600",
            "--shutdown-grace",
            "30",
        ],
        &[("PAVED_LOG", "info,paved_catalog=debug")],
    );
    // The registration waits for the read; its answer is not awaited.
    let token = std::fs::read_to_string(data_dir.join("admin-token")).expect("a token");
    let body = json!({"type": "file", "target": "/**/*"}).to_string();
    let mut request = TcpStream::connect(&server.address).expect("connect");
    write!(
        request,
        "POST /api/catalog/locations HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        token.trim(),
        body.len()
    )
    .expect("send the registration");
    server.wait_for_log("reading location", 1);
    let started = std::time::Instant::now();
    let log = server.log.clone();
    let status = server.terminate();
    let log = log
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    assert!(status.success(), "{status}:\n{log}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "stopped after {:?}:\n{log}",
        started.elapsed()
    );
    assert!(!log.contains("grace period is over"), "{log}");
}

/// Run as a user runs it, `paved up` prints its banner and then only warnings; with its
/// output not a terminal, no colour codes. `--verbose` logs what it does.
#[test]
fn up_prints_a_banner_then_only_warnings_without_colours() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let quiet = Up::start_quiet(dir.path(), &dir.path().join("quiet"));
    let file = dir.path().join("group.yaml");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-quiet\nspec:\n  type: team\n  children: []\n",
    )
    .expect("write a group");
    let added = quiet.cli(&["catalog", "locations", "add"], &[&file]);
    assert_eq!(added.code, Some(0), "{added}");
    let log = quiet.log();
    for wanted in [
        READY_LINE,
        "Admin token for mutating calls",
        "/api/openapi.json",
        "--verbose",
    ] {
        assert!(log.contains(wanted), "{wanted:?} in the banner:\n{log}");
    }
    assert!(!log.contains("INFO"), "only warnings:\n{log}");
    assert!(!log.contains('\x1b'), "no colour codes:\n{log}");
    drop(quiet);

    let verbose = Up::start(dir.path(), &dir.path().join("verbose"), &[]);
    let log = verbose.log();
    assert!(log.contains("INFO") && log.contains("paved is up"), "{log}");
    assert!(!log.contains('\x1b'), "no colour codes:\n{log}");
}

#[test]
fn unreachable_server_exits_3_with_a_hint() {
    let port = free_port();
    let result = run(paved().args([
        "catalog",
        "get",
        "component:default/web",
        "--server",
        &format!("http://127.0.0.1:{port}"),
    ]));
    assert_eq!(result.code, Some(3), "{result}");
    assert!(result.stderr.contains("paved up"), "{result}");
    assert!(result.stdout.is_empty(), "{result}");
    // The connection error is printed once, without the layers that repeat the URL.
    assert_eq!(
        result.stderr.matches(&format!("127.0.0.1:{port}")).count(),
        1,
        "{result}"
    );
    assert_eq!(result.stderr.matches("refused").count(), 1, "{result}");
}

#[test]
fn help_mentions_the_key_flags() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--help"], &["up", "catalog", "paved up"]),
        (
            &["up", "--help"],
            &[
                "--listen",
                "--data-dir",
                "--database-url",
                "admin-token",
                "--verbose",
                // Every environment variable `paved up` reads.
                "PAVED_LISTEN",
                "PAVED_DATA_DIR",
                "PAVED_DATABASE_URL",
                "PAVED_LOG_FORMAT",
                "PAVED_SHUTDOWN_GRACE",
                "PAVED_LOG",
                "PAVED_ADMIN_TOKEN",
                "PAVED_GIT_USERNAME",
                "PAVED_GIT_PASSWORD",
                "PAVED_CRASH_AFTER_STEP",
            ],
        ),
        (
            &["catalog", "locations", "add", "--help"],
            &["--dry-run", "--type", "--server", "--token", "--data-dir"],
        ),
    ];
    for (args, flags) in cases {
        let result = run(paved().args(*args));
        assert_eq!(result.code, Some(0), "{args:?}: {result}");
        for flag in *flags {
            assert!(
                result.stdout.contains(flag),
                "{args:?} mentions `{flag}`: {result}"
            );
        }
    }
}

#[test]
fn runs_on_postgres() {
    let database = Database::create();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let server = Up::start(dir.path(), &data_dir, &["--database-url", &database.url]);
    let (status, health) = server.get("/healthz");
    assert_eq!((status, health["store"].as_str()), (200, Some("postgres")));
    assert!(
        !data_dir.join("paved.db").exists(),
        "no SQLite database next to PostgreSQL"
    );
    let added = server.cli(
        &["catalog", "locations", "add", "-o", "json"],
        &[&fixture_absolute("catalog-info.yaml")],
    );
    assert_eq!(added.code, Some(0), "{added}");
    let user = server.cli(&["catalog", "get", "user:jdoe", "-o", "json"], &[]);
    assert_eq!(user.code, Some(0), "{user}");
    assert!(
        user.json()["relations"]
            .as_array()
            .is_some_and(|relations| relations
                .contains(&json!({"type": "memberOf", "targetRef": "group:default/platform"}))),
        "{user}"
    );
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

/// A `paved up` child process; killed if the test ends without stopping it.
pub(crate) struct Up {
    child: Option<Child>,
    address: String,
    data_dir: PathBuf,
    /// Everything the process wrote to stderr so far, and a signal for each new line.
    log: Arc<(Mutex<String>, Condvar)>,
}

impl Up {
    /// Starts `paved up` in `work_dir` on a free port and waits for its ready line, then checks
    /// that /healthz answers 200.
    #[track_caller]
    pub(crate) fn start(work_dir: &Path, data_dir: &Path, extra: &[&str]) -> Up {
        Up::start_command(paved(), work_dir, data_dir, extra)
    }

    /// [`Up::start`] with environment variables.
    #[track_caller]
    pub(crate) fn start_with_env(
        work_dir: &Path,
        data_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Up {
        let mut paved = paved();
        paved.envs(env.iter().copied());
        Up::start_command(paved, work_dir, data_dir, extra)
    }

    /// [`Up::start`] with `paved` (`paved()` or `paved_under_umask(...)`) as given. Tests
    /// read its info-level log (`--verbose`).
    #[track_caller]
    pub(crate) fn start_command(
        paved: Command,
        work_dir: &Path,
        data_dir: &Path,
        extra: &[&str],
    ) -> Up {
        Up::start_logging(paved, work_dir, data_dir, extra, true)
    }

    /// [`Up::start`] as a user runs it: without `--verbose`.
    #[track_caller]
    pub(crate) fn start_quiet(work_dir: &Path, data_dir: &Path) -> Up {
        Up::start_logging(paved(), work_dir, data_dir, &[], false)
    }

    #[track_caller]
    fn start_logging(
        mut paved: Command,
        work_dir: &Path,
        data_dir: &Path,
        extra: &[&str],
        verbose: bool,
    ) -> Up {
        let address = format!("127.0.0.1:{}", free_port());
        if verbose {
            paved.arg("up").arg("--verbose");
        } else {
            paved.arg("up");
        }
        let mut child = paved
            .current_dir(work_dir)
            .args(["--listen", &address, "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start `paved up`");
        let log = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let (ready, readiness) = channel();
        let stderr = child.stderr.take().expect("stderr is piped");
        std::thread::spawn({
            let log = Arc::clone(&log);
            move || {
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    let is_ready = line.contains(READY_LINE);
                    let (text, signal) = &*log;
                    let mut text = text.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    text.push_str(&line);
                    text.push('\n');
                    drop(text);
                    signal.notify_all();
                    if is_ready {
                        let _ = ready.send(());
                    }
                }
                // End of stderr: the process exited; dropping `ready` tells the waiter.
            }
        });
        let up = Up {
            child: Some(child),
            address,
            data_dir: data_dir.to_owned(),
            log,
        };
        match readiness.recv_timeout(DEADLINE) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => panic!(
                "`paved up` was not ready within {DEADLINE:?}:\n{}",
                up.log()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("`paved up` exited before it was ready:\n{}", up.log())
            }
        }
        let health = http_get(&up.address, "/healthz");
        assert!(
            matches!(health, Ok((200, _))),
            "/healthz after the ready line: {health:?}\n{}",
            up.log()
        );
        up
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub(crate) fn log(&self) -> String {
        self.log
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Waits until the log holds `text` at least `count` times; returns the log.
    #[track_caller]
    pub(crate) fn wait_for_log(&self, text: &str, count: usize) -> String {
        let (log, signal) = &*self.log;
        let guard = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (guard, timeout) = signal
            .wait_timeout_while(guard, DEADLINE, |log| log.matches(text).count() < count)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        assert!(
            !timeout.timed_out(),
            "`{text}` did not appear {count} times within {DEADLINE:?}:\n{}",
            *guard
        );
        guard.clone()
    }

    /// POST with the admin token and a JSON body; returns the status and the parsed body.
    #[track_caller]
    pub(crate) fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
        let token = std::fs::read_to_string(self.data_dir.join("admin-token")).expect("a token");
        let body = body.to_string();
        let mut stream = TcpStream::connect(&self.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("a read timeout");
        let mut head = format!(
            "POST {path} HTTP/1.0\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.address,
            token.trim(),
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        write!(stream, "{head}\r\n{body}").expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let (head, body) = response.split_once("\r\n\r\n").expect("a response");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|status| status.parse().ok())
            .expect("a status");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Kills the process with SIGKILL (a crash) and waits for it.
    pub(crate) fn crash(mut self) {
        let mut child = self.child.take().expect("the process is running");
        child.kill().expect("SIGKILL");
        child.wait().expect("wait for `paved up`");
    }

    /// GET with a parsed JSON body.
    #[track_caller]
    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        let (status, body) = http_get(&self.address, path)
            .unwrap_or_else(|error| panic!("GET {path}: {error}\n{}", self.log()));
        let body = serde_json::from_str(&body)
            .unwrap_or_else(|error| panic!("GET {path}: not JSON ({error}): {body}"));
        (status, body)
    }

    /// `paved ARGS FILES --server URL --data-dir DATA`.
    #[track_caller]
    pub(crate) fn cli(&self, args: &[&str], files: &[&Path]) -> Run {
        run(paved()
            .args(args)
            .args(files)
            .args(["--server", &self.url(), "--data-dir"])
            .arg(&self.data_dir))
    }

    /// `paved GROUP ARGS` (`paved template list`, ...) against this server.
    #[track_caller]
    pub(crate) fn group(&self, group: &str, args: &[&str]) -> Run {
        let mut full = vec![group];
        full.extend_from_slice(args);
        self.cli(&full, &[])
    }

    /// The same, expected to succeed.
    #[track_caller]
    pub(crate) fn group_ok(&self, group: &str, args: &[&str]) -> Run {
        let result = self.group(group, args);
        assert_eq!(result.code, Some(0), "paved {group} {args:?}: {result}");
        result
    }

    /// The same, run from `work_dir`.
    #[track_caller]
    pub(crate) fn cli_in(&self, work_dir: &Path, args: &[&str]) -> Run {
        run(paved()
            .current_dir(work_dir)
            .args(args)
            .args(["--server", &self.url(), "--data-dir"])
            .arg(&self.data_dir))
    }

    /// Sends SIGTERM and waits for the exit.
    #[track_caller]
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the process is running");
        let pid = child.id().to_string();
        let kill = run(Command::new("kill").args(["-TERM", &pid]));
        assert_eq!(kill.code, Some(0), "kill -TERM {pid}: {kill}");
        let (exited, exit) = channel();
        std::thread::spawn(move || {
            let _ = exited.send(child.wait().expect("wait for `paved up`"));
        });
        match exit.recv_timeout(DEADLINE) {
            Ok(status) => status,
            Err(error) => {
                let _ = run(Command::new("kill").args(["-KILL", &pid]));
                panic!(
                    "`paved up` did not stop within {DEADLINE:?} of SIGTERM ({error}):\n{}",
                    self.log()
                );
            }
        }
    }
}

impl Drop for Up {
    /// A test that ends early (a failed assertion) stops the server with SIGTERM, so the
    /// local engine stops its tasks too; SIGKILL only if it does not stop in time.
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let (exited, exit) = channel();
        std::thread::spawn(move || {
            let _ = exited.send(child.wait());
        });
        if exit.recv_timeout(DEADLINE).is_err() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
}

/// A port nothing listens on (it could be taken again before use; unlikely in a test run).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A plain HTTP/1.0 GET: status and body.
fn http_get(address: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, response.clone());
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(invalid)?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(invalid)?;
    Ok((status, body.to_owned()))
}

/// A fresh PostgreSQL database, made and dropped with `psql`.
pub(crate) struct Database {
    pub(crate) url: String,
    name: String,
}

impl Database {
    pub(crate) fn create() -> Database {
        let name = format!(
            "paved_cli_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("the clock is after 1970")
                .as_nanos()
        );
        let created = psql(&format!("CREATE DATABASE {name}"));
        assert_eq!(
            created.code,
            Some(0),
            "PostgreSQL at 127.0.0.1:5432 (user postgres) is needed for this test: {created}"
        );
        Database {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(sql: &str) -> Run {
    run(Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .env("PGCONNECT_TIMEOUT", "10"))
}

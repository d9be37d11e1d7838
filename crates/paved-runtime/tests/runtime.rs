//! The runtime against real git repositories and real processes.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

use paved_runtime::{
    Condition, ContainerSpec, ContainerStatus, Dependency, Health, HealthCheckSpec, LogLine,
    Runtime, RuntimeConfig, StopCode, Stream, TaskSpec, TaskState, TaskStatus,
};

const DOCKERFILE: &str = r#"FROM python:3.12-slim
# The base image and RUN are ignored locally.
RUN pip install --no-cache-dir flask
WORKDIR /app
ENV GREETING=hello \
    MODE="local dev"
COPY . .
WORKDIR /app/src
CMD ["python3", "app.py"]
"#;

const APP: &str = r#"import os
print(os.environ["GREETING"], os.environ["MODE"], os.getcwd(), flush=True)
"#;

struct Fixture {
    dir: tempfile::TempDir,
    runtime: Runtime,
    image: String,
}

fn fixture_with(configure: impl FnOnce(&mut RuntimeConfig)) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo.git");
    paved_git::init_bare(&repo).expect("init");
    let files = vec![
        ("Dockerfile".to_owned(), DOCKERFILE.as_bytes().to_vec()),
        ("src/app.py".to_owned(), APP.as_bytes().to_vec()),
    ];
    paved_git::commit_files(&repo, "main", &files, "first", "Test", "test@example.com")
        .expect("commit");
    let mut config = RuntimeConfig::new(dir.path().join("engine"));
    configure(&mut config);
    let runtime = Runtime::new(config).expect("runtime");
    let image = runtime
        .images()
        .build("app", &repo, "main")
        .expect("build")
        .reference();
    Fixture {
        dir,
        runtime,
        image,
    }
}

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

impl Fixture {
    /// An essential container that runs `script` with `/bin/sh -c`.
    fn shell(&self, name: &str, script: &str) -> ContainerSpec {
        ContainerSpec {
            name: name.into(),
            image: self.image.clone(),
            entry_point: Some(vec!["/bin/sh".into(), "-c".into()]),
            command: Some(vec![script.into()]),
            working_directory: None,
            environment: Vec::new(),
            port_mappings: Vec::new(),
            essential: true,
            depends_on: Vec::new(),
            health_check: None,
            stop_timeout: Duration::from_secs(2),
            cpu_units: None,
            memory_mib: None,
        }
    }

    fn start(&self, task_id: &str, containers: Vec<ContainerSpec>) {
        self.runtime.start(TaskSpec {
            task_id: task_id.into(),
            cpu_units: Some(256),
            memory_mib: Some(512),
            containers,
        });
    }

    async fn wait_for(&self, task_id: &str, until: impl FnMut(&TaskState) -> bool) -> TaskState {
        let mut watch = self.runtime.watch(task_id).expect("task is known");
        tokio::time::timeout(Duration::from_secs(15), watch.wait_for(until))
            .await
            .expect("state not reached in time")
            .expect("state channel open")
            .clone()
    }

    async fn stopped(&self, task_id: &str) -> TaskState {
        self.wait_for(task_id, |state| state.status == TaskStatus::Stopped)
            .await
    }

    fn messages(&self, task_id: &str, container: &str) -> Vec<String> {
        self.runtime
            .logs()
            .read(task_id, Some(container), 10_000)
            .into_iter()
            .map(|line| line.message)
            .collect()
    }
}

/// Waits for the first followed line that satisfies `matches`.
async fn next_line(
    lines: &mut tokio::sync::broadcast::Receiver<LogLine>,
    mut matches: impl FnMut(&LogLine) -> bool,
) -> LogLine {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let line = lines.recv().await.expect("log channel open");
            if matches(&line) {
                return line;
            }
        }
    })
    .await
    .expect("line not logged in time")
}

fn health_check(
    command: &[&str],
    interval_ms: u64,
    retries: u32,
    start_period_ms: u64,
) -> HealthCheckSpec {
    HealthCheckSpec {
        command: command.iter().map(|part| (*part).to_owned()).collect(),
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(500),
        start_period: Duration::from_millis(start_period_ms),
        retries,
    }
}

#[tokio::test]
async fn builds_an_image_and_runs_its_cmd_in_its_workdir_with_its_env() {
    let fixture = fixture();
    let images = fixture.runtime.images();
    let repo = fixture.dir.path().join("repo.git");
    let built = images.build("app", &repo, "main").expect("second build");
    assert_eq!(
        built.reference(),
        fixture.image,
        "building a commit twice is a no-op"
    );
    assert_eq!(built.commit.len(), 40);
    assert_eq!(images.list(), vec![built.clone()]);

    let image = images.resolve(&fixture.image).expect("resolve");
    assert_eq!(
        image.config.cmd,
        Some(vec!["python3".to_owned(), "app.py".to_owned()])
    );
    assert_eq!(image.config.working_dir.as_deref(), Some("/app/src"));
    assert_eq!(
        image.config.env,
        vec![
            ("GREETING".to_owned(), "hello".to_owned()),
            ("MODE".to_owned(), "local dev".to_owned())
        ]
    );
    assert!(image.rootfs.join("src/app.py").is_file());
    assert!(images.build("App", &repo, "main").is_err());

    let mut web = fixture.shell("web", "");
    web.entry_point = None;
    web.command = None;
    fixture.start("t-image", vec![web]);
    let state = fixture.stopped("t-image").await;
    assert_eq!(state.containers[0].exit_code, Some(0), "{state:?}");
    let workdir = fixture
        .dir
        .path()
        .join("engine/tasks/t-image/containers/web/src");
    assert_eq!(
        fixture.messages("t-image", "web"),
        vec![format!("hello local dev {}", workdir.display())]
    );
}

#[tokio::test]
async fn an_image_that_was_not_built_cannot_be_pulled() {
    let fixture = fixture();
    let error = fixture
        .runtime
        .images()
        .resolve("nginx:latest")
        .expect_err("not built");
    assert!(error.to_string().starts_with(
        "CannotPullContainerError: pull image manifest has been retried 1 time(s): nginx:latest: not found"
    ));
    let mut web = fixture.shell("web", "true");
    web.image = "local/app:0000000000000000000000000000000000000000".into();
    fixture.start("t-pull", vec![web]);
    let state = fixture.stopped("t-pull").await;
    let stop = state.stop.expect("stop");
    assert_eq!(stop.code, StopCode::TaskFailedToStart);
    assert!(
        stop.reason.starts_with("CannotPullContainerError:"),
        "{}",
        stop.reason
    );
    assert_eq!(
        state.containers[0].reason.as_deref(),
        Some(stop.reason.as_str())
    );
    assert_eq!(state.containers[0].process, None);
}

#[tokio::test]
async fn logs_are_captured_with_timestamps_and_streams() {
    let fixture = fixture();
    let mut followed = fixture.runtime.logs().subscribe();
    let before = jiff::Timestamp::now();
    fixture.start(
        "t-logs",
        vec![fixture.shell("web", "echo out1; echo err1 >&2; echo out2")],
    );
    let state = fixture.stopped("t-logs").await;
    let after = jiff::Timestamp::now();
    assert_eq!(state.containers[0].exit_code, Some(0));

    let lines = fixture.runtime.logs().read("t-logs", None, 100);
    let mut seen: Vec<(Stream, &str)> = lines
        .iter()
        .map(|l| (l.stream, l.message.as_str()))
        .collect();
    seen.sort_by_key(|(stream, _)| stream.as_str());
    assert_eq!(
        seen,
        vec![
            (Stream::Stderr, "err1"),
            (Stream::Stdout, "out1"),
            (Stream::Stdout, "out2")
        ]
    );
    for line in &lines {
        // Stored timestamps have millisecond precision.
        let earliest = before
            .checked_sub(jiff::SignedDuration::from_millis(1))
            .expect("time");
        assert!(
            earliest <= line.timestamp && line.timestamp <= after,
            "{line:?}"
        );
        assert_eq!(
            (line.task_id.as_str(), line.container.as_str()),
            ("t-logs", "web")
        );
    }
    assert_eq!(
        fixture.runtime.logs().read("t-logs", Some("web"), 1).len(),
        1
    );

    let raw = std::fs::read_to_string(fixture.dir.path().join("engine/tasks/t-logs/logs/web.log"))
        .expect("log file");
    let first: serde_json::Value =
        serde_json::from_str(raw.lines().next().expect("a line")).expect("json");
    let timestamp = first["timestamp"].as_str().expect("timestamp");
    assert_eq!(
        timestamp.len(),
        "2025-01-01T00:00:00.000Z".len(),
        "{timestamp}"
    );
    assert!(first["stream"] == "stdout" || first["stream"] == "stderr");

    let followed_line = next_line(&mut followed, |line| line.task_id == "t-logs").await;
    assert!(["out1", "err1"].contains(&followed_line.message.as_str()));
    let json = serde_json::to_value(&followed_line).expect("serialize");
    assert!(json.get("taskId").is_some());
}

#[tokio::test]
async fn logs_rotate_within_bounds_and_long_lines_are_cut() {
    let fixture = fixture_with(|config| {
        config.log_max_bytes = 2000;
        config.log_max_files = 2;
    });
    let script = "i=0; while [ $i -lt 300 ]; do echo \"line $i padding padding\"; i=$((i+1)); done; \
                  head -c 20000 /dev/zero | tr '\\0' x; echo";
    fixture.start("t-rotate", vec![fixture.shell("web", script)]);
    fixture.stopped("t-rotate").await;

    let dir = fixture.dir.path().join("engine/tasks/t-rotate/logs");
    for file in ["web.log", "web.log.1", "web.log.2"] {
        let size = std::fs::metadata(dir.join(file)).expect(file).len();
        // A file over the limit holds the single cut line only.
        assert!(size <= 2000 || file == "web.log", "{file} is {size} bytes");
    }
    assert!(!dir.join("web.log.3").exists());

    let lines = fixture.runtime.logs().read("t-rotate", Some("web"), 10_000);
    let last = lines.last().expect("a line");
    assert!(last.truncated);
    assert_eq!(last.message.len(), paved_runtime::logs::MAX_LINE_BYTES);
    let numbered: Vec<&LogLine> = lines.iter().filter(|line| !line.truncated).collect();
    assert!(numbered.len() < 300, "older lines were rotated away");
    assert_eq!(
        numbered.last().expect("numbered").message,
        "line 299 padding padding"
    );
    // What is kept is the contiguous end of the output.
    let first_kept: usize = numbered[0]
        .message
        .split(' ')
        .nth(1)
        .expect("n")
        .parse()
        .expect("number");
    for (offset, line) in numbered.iter().enumerate() {
        assert_eq!(
            line.message,
            format!("line {} padding padding", first_kept + offset)
        );
    }
}

#[tokio::test]
async fn an_essential_container_exit_stops_the_task() {
    let fixture = fixture();
    let mut sidecar = fixture.shell("sidecar", "exec sleep 30");
    sidecar.essential = false;
    fixture.start(
        "t-exit",
        vec![fixture.shell("web", "sleep 0.2; exit 3"), sidecar],
    );
    let running = fixture
        .wait_for("t-exit", |state| state.status == TaskStatus::Running)
        .await;
    assert!(running.started_at.is_some());
    let state = fixture.stopped("t-exit").await;
    let stop = state.stop.clone().expect("stop");
    assert_eq!(stop.code, StopCode::EssentialContainerExited);
    assert_eq!(stop.reason, "Essential container in task exited");
    assert_eq!(state.container("web").expect("web").exit_code, Some(3));
    assert_eq!(
        state.container("sidecar").expect("sidecar").exit_code,
        Some(143),
        "SIGTERM"
    );
    assert!(state.stopping_at.is_some() && state.stopped_at.is_some());
}

#[tokio::test]
async fn a_non_essential_exit_is_only_recorded_and_stop_uses_the_callers_reason() {
    let fixture = fixture();
    let mut sidecar = fixture.shell("sidecar", "exit 5");
    sidecar.essential = false;
    fixture.start(
        "t-side",
        vec![fixture.shell("web", "exec sleep 30"), sidecar],
    );
    let state = fixture
        .wait_for("t-side", |state| {
            state
                .container("sidecar")
                .is_some_and(|c| c.status == ContainerStatus::Stopped)
        })
        .await;
    assert_eq!(
        state.container("sidecar").expect("sidecar").exit_code,
        Some(5)
    );
    assert_eq!(state.status, TaskStatus::Running);

    fixture
        .runtime
        .stop("t-side", StopCode::UserInitiated, "Scaled down".into());
    fixture.runtime.stop(
        "t-side",
        StopCode::ServiceSchedulerInitiated,
        "again".into(),
    );
    let state = fixture.stopped("t-side").await;
    let stop = state.stop.expect("stop");
    assert_eq!(
        (stop.code, stop.reason.as_str()),
        (StopCode::UserInitiated, "Scaled down")
    );
    assert_eq!(state.containers[0].exit_code, Some(143));

    let working_copy = fixture.dir.path().join("engine/tasks/t-side/containers");
    assert!(working_copy.exists());
    fixture.runtime.forget("t-side");
    assert!(fixture.runtime.state("t-side").is_none());
    assert!(!fixture.runtime.task_ids().contains(&"t-side".to_owned()));
    assert!(!working_copy.exists());
    fixture.runtime.logs().remove_logs("t-side");
    assert!(!fixture.dir.path().join("engine/tasks/t-side").exists());
}

/// The state letter of a process (`Z` for a zombie), or `None` when it is gone.
/// Whether process `pid` (any process, not only a child) has exited, or exits within 5 s:
/// a pidfd becomes readable when its process terminates.
async fn exits(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return true;
    };
    let Ok(pidfd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        // No such process any more.
        return true;
    };
    tokio::task::spawn_blocking(move || {
        let mut fds = [rustix::event::PollFd::new(
            &pidfd,
            rustix::event::PollFlags::IN,
        )];
        let timeout = rustix::event::Timespec {
            tv_sec: 5,
            tv_nsec: 0,
        };
        rustix::event::poll(&mut fds, Some(&timeout)).is_ok_and(|ready| ready == 1)
    })
    .await
    .expect("the poll runs")
}

fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

#[tokio::test]
async fn stop_kills_a_process_group_that_ignores_sigterm_after_the_stop_timeout() {
    let fixture = fixture();
    let mut followed = fixture.runtime.logs().subscribe();
    let mut web = fixture.shell("web", "trap '' TERM; sleep 30 & echo \"child $!\"; wait");
    web.stop_timeout = Duration::from_millis(300);
    fixture.start("t-term", vec![web]);
    let line = next_line(&mut followed, |line| line.task_id == "t-term").await;
    let child: u32 = line
        .message
        .strip_prefix("child ")
        .expect("child line")
        .parse()
        .expect("pid");
    let leader = fixture.runtime.state("t-term").expect("state").containers[0]
        .process
        .clone()
        .expect("process");
    assert!(process_state(child).is_some_and(|state| state != 'Z'));

    fixture
        .runtime
        .stop("t-term", StopCode::UserInitiated, "Stopped by test".into());
    let state = fixture.stopped("t-term").await;
    assert_eq!(state.containers[0].exit_code, Some(137), "SIGKILL");
    let stopping = state.stopping_at.expect("stopping_at");
    let stopped = state.stopped_at.expect("stopped_at");
    assert!(stopped.duration_since(stopping) >= jiff::SignedDuration::from_millis(300));
    assert!(process_state(leader.pid).is_none_or(|state| state == 'Z'));
    // The child was killed with its group (it is not ours: its exit is awaited on a pidfd).
    assert!(exits(child).await, "child {child} survived");
}

#[tokio::test]
async fn a_program_that_does_not_exist_fails_the_task() {
    let fixture = fixture();
    let mut web = fixture.shell("web", "");
    web.entry_point = Some(vec!["no-such-program-paved".into()]);
    web.command = None;
    fixture.start("t-spawn", vec![web]);
    let state = fixture.stopped("t-spawn").await;
    let stop = state.stop.expect("stop");
    assert_eq!(stop.code, StopCode::TaskFailedToStart);
    assert!(
        stop.reason.starts_with("CannotStartContainerError:"),
        "{}",
        stop.reason
    );
    assert!(
        stop.reason.contains("executable file not found in $PATH"),
        "{}",
        stop.reason
    );
}

#[tokio::test]
async fn a_passing_health_check_makes_the_task_healthy() {
    let fixture = fixture();
    let mut web = fixture.shell("web", "exec sleep 30");
    web.health_check = Some(health_check(
        &["CMD-SHELL", "test -d . && exit 0"],
        50,
        2,
        0,
    ));
    fixture.start("t-healthy", vec![web]);
    let state = fixture
        .wait_for("t-healthy", |state| state.health == Health::Healthy)
        .await;
    assert_eq!(state.containers[0].health, Health::Healthy);
    assert_eq!(state.health.as_str(), "HEALTHY");
    fixture
        .runtime
        .stop("t-healthy", StopCode::UserInitiated, "done".into());
    fixture.stopped("t-healthy").await;
}

#[tokio::test]
async fn failing_health_checks_make_the_task_unhealthy_after_the_start_period() {
    let fixture = fixture();
    let mut fast = fixture.shell("fast", "exec sleep 30");
    fast.health_check = Some(health_check(&["CMD", "false"], 50, 2, 0));
    let mut slow = fixture.shell("slow", "exec sleep 30");
    slow.health_check = Some(health_check(&["CMD-SHELL", "exit 1"], 50, 1, 700));

    fixture.start("t-unhealthy", vec![fast]);
    let state = fixture
        .wait_for("t-unhealthy", |state| state.health == Health::Unhealthy)
        .await;
    assert_eq!(
        state.status,
        TaskStatus::Running,
        "health never stops a task"
    );

    fixture.start("t-start-period", vec![slow]);
    let running = fixture
        .wait_for("t-start-period", |state| {
            state.status == TaskStatus::Running
        })
        .await;
    let state = fixture
        .wait_for("t-start-period", |state| {
            state.containers[0].health == Health::Unhealthy
        })
        .await;
    let elapsed = jiff::Timestamp::now().duration_since(running.started_at.expect("started_at"));
    assert!(
        elapsed >= jiff::SignedDuration::from_millis(700),
        "unhealthy after {elapsed:?}"
    );
    assert_eq!(state.health, Health::Unhealthy);

    // A check that outlives its timeout fails, and its process group is killed.
    let mut hanging = fixture.shell("hanging", "exec sleep 30");
    let mut check = health_check(
        &["CMD-SHELL", "echo $$ > check.pid; exec sleep 30"],
        50,
        1,
        0,
    );
    check.timeout = Duration::from_millis(100);
    hanging.health_check = Some(check);
    fixture.start("t-timeout", vec![hanging]);
    fixture
        .wait_for("t-timeout", |state| state.health == Health::Unhealthy)
        .await;
    let pid_file = fixture
        .dir
        .path()
        .join("engine/tasks/t-timeout/containers/hanging/src/check.pid");
    let check_pid: u32 = std::fs::read_to_string(pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(
        exits(check_pid).await,
        "check {check_pid} survived its timeout"
    );
    for task in ["t-unhealthy", "t-start-period", "t-timeout"] {
        fixture
            .runtime
            .stop(task, StopCode::UserInitiated, "done".into());
        fixture.stopped(task).await;
    }
}

#[tokio::test]
async fn depends_on_healthy_waits_for_the_health_check() {
    let fixture = fixture();
    let mut db = fixture.shell("db", "sleep 0.3; echo ready; touch ready; exec sleep 30");
    // Failing checks before the file exists fall in the start period.
    db.health_check = Some(health_check(&["CMD-SHELL", "test -f ready"], 50, 1, 5000));
    let mut app = fixture.shell("app", "echo app started; exec sleep 30");
    app.depends_on = vec![Dependency {
        container: "db".into(),
        condition: Condition::Healthy,
    }];
    let mut followed = fixture.runtime.logs().subscribe();
    fixture.start("t-healthy-dep", vec![app, db]);
    // app logs as soon as it starts, which must be after db's check saw the file.
    let app_line = next_line(&mut followed, |line| {
        line.task_id == "t-healthy-dep" && line.container == "app"
    })
    .await;
    let ready = fixture.runtime.logs().read("t-healthy-dep", Some("db"), 10);
    assert_eq!(ready[0].message, "ready");
    assert!(app_line.timestamp > ready[0].timestamp);
    fixture
        .runtime
        .stop("t-healthy-dep", StopCode::UserInitiated, "done".into());
    fixture.stopped("t-healthy-dep").await;
}

#[tokio::test]
async fn depends_on_success_orders_containers_and_fails_when_the_dependency_fails() {
    let fixture = fixture();
    let containers = |code: i32| {
        let mut migrate =
            fixture.shell("migrate", &format!("sleep 0.2; echo migrated; exit {code}"));
        migrate.essential = false;
        let mut web = fixture.shell("web", "echo web started; exec sleep 30");
        web.depends_on = vec![Dependency {
            container: "migrate".into(),
            condition: Condition::Success,
        }];
        vec![web, migrate]
    };
    fixture.start("t-success", containers(0));
    let state = fixture
        .wait_for("t-success", |state| state.status == TaskStatus::Running)
        .await;
    assert_eq!(
        state.container("migrate").expect("migrate").exit_code,
        Some(0)
    );
    let web_start = state
        .container("web")
        .expect("web")
        .process
        .clone()
        .expect("web process");
    let migrate_start = state
        .container("migrate")
        .expect("migrate")
        .process
        .clone()
        .expect("process");
    assert!(web_start.start_time >= migrate_start.start_time);
    let migrated = fixture
        .runtime
        .logs()
        .read("t-success", Some("migrate"), 10);
    assert_eq!(
        migrated.len(),
        1,
        "migrate finished (and logged) before web started"
    );
    fixture
        .runtime
        .stop("t-success", StopCode::UserInitiated, "done".into());
    fixture.stopped("t-success").await;

    fixture.start("t-success-failed", containers(2));
    let state = fixture.stopped("t-success-failed").await;
    let stop = state.stop.clone().expect("stop");
    assert_eq!(stop.code, StopCode::TaskFailedToStart);
    assert!(
        stop.reason.contains("`migrate`") && stop.reason.contains("exited with code 2"),
        "{}",
        stop.reason
    );
    assert_eq!(
        state.container("web").expect("web").process,
        None,
        "web never started"
    );
}

#[tokio::test]
async fn port_is_the_allocated_host_port_and_the_host_environment_does_not_leak() {
    assert!(
        std::env::var("CARGO_MANIFEST_DIR").is_ok(),
        "the test process has an env to leak"
    );
    let fixture = fixture();
    let mut followed = fixture.runtime.logs().subscribe();
    let mut web = fixture.shell(
        "web",
        "env | sort; exec python3 -u -m http.server \"$PORT\" --bind 127.0.0.1",
    );
    web.port_mappings = vec![8080, 9090];
    web.environment = vec![
        ("PORT".into(), "1".into()),
        ("APP_ENV".into(), "test".into()),
    ];
    fixture.start("t-port", vec![web]);
    next_line(&mut followed, |line| {
        line.task_id == "t-port" && line.message.starts_with("Serving HTTP")
    })
    .await;
    let state = fixture.runtime.state("t-port").expect("state");
    let ports = &state.containers[0].ports;
    assert_eq!(
        ports.iter().map(|p| p.container_port).collect::<Vec<_>>(),
        vec![8080, 9090]
    );
    let host_port = ports[0].host_port;

    let mut stream = std::net::TcpStream::connect(("127.0.0.1", host_port)).expect("connect");
    stream
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");

    let environment = fixture.messages("t-port", "web");
    let workdir = fixture
        .dir
        .path()
        .join("engine/tasks/t-port/containers/web/src");
    for expected in [
        format!("PORT={host_port}"),
        format!("PAVED_PORT_8080={host_port}"),
        format!("PAVED_PORT_9090={}", ports[1].host_port),
        format!("HOME={}", workdir.display()),
        "APP_ENV=test".to_owned(),
        "GREETING=hello".to_owned(),
    ] {
        assert!(
            environment.contains(&expected),
            "{expected} not in {environment:?}"
        );
    }
    assert!(
        !environment.iter().any(|line| line.starts_with("CARGO")),
        "{environment:?}"
    );
    fixture
        .runtime
        .stop("t-port", StopCode::UserInitiated, "done".into());
    fixture.stopped("t-port").await;
}

#[test]
fn kill_leftovers_checks_the_start_time() {
    use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
    let mut child = std::process::Command::new("/bin/sh")
        .args(["-c", "sleep 30 & exec sleep 30"])
        .process_group(0)
        .spawn()
        .expect("spawn");
    let record = paved_runtime::process_record(child.id()).expect("record");
    let reused = paved_runtime::ProcessRecord {
        pid: record.pid,
        start_time: record.start_time + 1,
    };
    assert_eq!(paved_runtime::kill_leftovers(&[reused]), 0);
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "a reused pid is not killed"
    );
    assert_eq!(paved_runtime::kill_leftovers(&[record]), 1);
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(9));
}

#[test]
fn working_directory_is_mapped_onto_the_working_copy() {
    // Checked through the image config the runtime uses for it.
    let fixture = fixture();
    let image = fixture
        .runtime
        .images()
        .resolve(&fixture.image)
        .expect("resolve");
    assert_eq!(image.config.rootfs_relative("/app/src"), "src");
    assert_eq!(image.config.rootfs_relative("/var/empty"), "");
    assert!(
        Path::new(&image.rootfs)
            .join(image.config.rootfs_relative("/app/src"))
            .join("app.py")
            .is_file()
    );
}

#[test]
fn runtime_is_send_sync_and_cheap_to_clone() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Runtime>();
}

//! The local engine's commands as a user runs them: the real `paved` binary against an
//! in-process test server. `paved secret set` reads the value from stdin and never shows it;
//! `paved logs` prints `TIMESTAMP TASK/CONTAINER MESSAGE` with stderr lines marked.

use std::process::{Command, Stdio};
use std::time::Duration;

use paved_engine::Operation;
use paved_test::{Backend, TEST_TOKEN, TestServer, both_backends};
use serde_json::json;

use crate::{Run, paved, run, run_with_stdin};

both_backends!(
    secret_set_reads_stdin_and_never_shows_the_value,
    logs_show_task_container_and_stream,
    lb_apply_on_a_missing_cluster_says_what_to_do
);

const PATIENCE: Duration = Duration::from_secs(60);

/// `paved ARGS --server URL --token TOKEN`, with `stdin` piped in; run off the async workers.
async fn cli(server: &TestServer, args: &[&str], stdin: Option<&str>) -> Run {
    let mut command: Command = paved();
    command
        .args(args)
        .args(["--server", &server.base_url, "--token", TEST_TOKEN]);
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || match stdin {
        None => run(command.stdin(Stdio::null())),
        Some(input) => run_with_stdin(&mut command, &input),
    })
    .await
    .expect("the command runs")
}

async fn secret_set_reads_stdin_and_never_shows_the_value(backend: Backend) {
    let server = TestServer::start(backend).await;
    let set = cli(
        &server,
        &["secret", "set", "db-password"],
        Some("hunter2-value\n"),
    )
    .await;
    assert_eq!(set.code, Some(0), "{set}");
    assert_eq!(
        server
            .store
            .engine_secret("db-password")
            .await
            .expect("reads"),
        Some("hunter2-value".to_owned()),
        "one trailing newline is dropped"
    );
    assert!(
        !format!("{}{}", set.stdout, set.stderr).contains("hunter2"),
        "{set}"
    );

    let list = cli(&server, &["secret", "list", "-o", "json"], None).await;
    assert_eq!(list.code, Some(0), "{list}");
    assert_eq!(list.json()["items"][0]["name"], "db-password");
    assert!(!list.stdout.contains("hunter2"), "{list}");

    let refused = cli(&server, &["secret", "set", "bad name"], Some("x")).await;
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("field `name`"), "{refused}");

    let removed = cli(&server, &["secret", "rm", "db-password"], None).await;
    assert_eq!(removed.code, Some(0), "{removed}");
    assert_eq!(
        server
            .store
            .engine_secret("db-password")
            .await
            .expect("reads"),
        None
    );
}

async fn lb_apply_on_a_missing_cluster_says_what_to_do(backend: Backend) {
    let server = TestServer::start(backend).await;
    let spec = server.write(
        "lb.yaml",
        "port: 0\nrules: []\ntargetGroups: [{name: web}]\n",
    );
    let spec = spec.display().to_string();
    let cases = [
        (
            "default",
            "error: cluster `default` does not exist yet: create it with `aws ecs create-cluster`, or start a task or a service without naming a cluster\n",
        ),
        (
            "shop",
            "error: cluster `shop` does not exist: create it with `aws ecs create-cluster --cluster-name shop`\n",
        ),
    ];
    for (cluster, expected) in cases {
        let refused = cli(&server, &["lb", "apply", cluster, "-f", &spec], None).await;
        assert_eq!(refused.code, Some(1), "{refused}");
        assert_eq!(refused.stderr, expected);
    }
}

async fn logs_show_task_container_and_stream(backend: Backend) {
    let server = TestServer::start(backend).await;
    paved_test::engine::service_repository(
        server.data.dir.path(),
        "chatty",
        &[
            ("Dockerfile", "FROM alpine\nCMD [\"sh\", \"run.sh\"]\n"),
            (
                "run.sh",
                "echo hello out\necho hello err >&2\nexec sleep 600\n",
            ),
        ],
    );
    let built = cli(&server, &["build", "chatty"], None).await;
    assert_eq!(built.code, Some(0), "{built}");
    let image = built.stdout.trim().to_owned();
    assert!(image.starts_with("local/chatty:"), "{built}");

    server
        .ecs(
            Operation::RegisterTaskDefinition,
            json!({"family": "chatty", "memory": "512", "containerDefinitions": [
            {"name": "app", "image": image, "essential": true, "stopTimeout": 1}]}),
        )
        .await;
    let mut lines = server.local.runtime().logs().subscribe();
    server
        .ecs(
            Operation::CreateService,
            json!({"serviceName": "chatty", "taskDefinition": "chatty", "desiredCount": 1}),
        )
        .await;
    let (mut out, mut err) = (None, None);
    tokio::time::timeout(PATIENCE, async {
        while out.is_none() || err.is_none() {
            let line = lines.recv().await.expect("the log broadcast runs");
            match line.message.as_str() {
                "hello out" => out = Some(line),
                "hello err" => err = Some(line),
                _ => {}
            }
        }
    })
    .await
    .expect("both lines are written in time");
    let task = out.expect("a stdout line").task_id;

    let logs = cli(&server, &["logs", "chatty"], None).await;
    assert_eq!(logs.code, Some(0), "{logs}");
    let mut shown: Vec<String> = logs
        .stdout
        .lines()
        .map(|line| {
            let (timestamp, rest) = line.split_once(' ').expect("a timestamp first");
            // `2025-01-31T10:20:30.123Z`
            assert!(
                timestamp.len() == 24
                    && timestamp.as_bytes()[10] == b'T'
                    && timestamp.ends_with('Z'),
                "`{timestamp}` is an RFC 3339 time in milliseconds: {logs}"
            );
            rest.to_owned()
        })
        .collect();
    shown.sort();
    let short = &task[..8];
    assert_eq!(
        shown,
        [
            format!("{short}/app [stderr] hello err"),
            format!("{short}/app hello out"),
        ],
        "{logs}"
    );

    let json = cli(
        &server,
        &[
            "logs",
            "chatty",
            "--cluster",
            "default",
            "--task",
            short,
            "-o",
            "json",
        ],
        None,
    )
    .await;
    assert_eq!(json.code, Some(0), "{json}");
    for line in json.stdout.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).expect("one JSON object per line");
        assert_eq!(value["taskId"], task.as_str(), "{json}");
    }

    let unknown = cli(&server, &["logs", "chatty", "--cluster", "nowhere"], None).await;
    assert_eq!(unknown.code, Some(1), "{unknown}");
    assert!(
        unknown.stderr.contains("cluster `nowhere` does not exist"),
        "{unknown}"
    );
    drop(err);
    server.shutdown().await;
}

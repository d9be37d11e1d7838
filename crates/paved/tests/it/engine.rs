//! The local engine inside a real `paved up`: `kill -9` in the middle of a deployment, then a
//! restart. The deployment completes, the crashed run's processes are gone, and the service
//! runs exactly its desired count. A graceful stop then leaves no process behind.

use std::path::Path;

use serde_json::{Value, json};

use paved_test::engine::{APP, DOCKERFILE, service_repository};

use crate::up::{Database, Up};

const TARGET: &str = "AmazonEC2ContainerServiceV20141113.";

fn ecs(server: &Up, operation: &str, request: Value) -> Value {
    let (status, body) = server.post(
        "/ecs",
        &[("X-Amz-Target", &format!("{TARGET}{operation}"))],
        &request,
    );
    assert_eq!(
        status,
        200,
        "{operation} {request}: {body}\n{}",
        server.log()
    );
    body
}

fn register(server: &Up, image: &str, version: &str) -> String {
    let body = ecs(
        server,
        "RegisterTaskDefinition",
        json!({"family": "web", "memory": "512", "containerDefinitions": [{
            "name": "app", "image": image, "portMappings": [{"containerPort": 8080}],
            "environment": [{"name": "VERSION", "value": version}], "stopTimeout": 2,
            "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 1, "timeout": 1, "retries": 1},
        }]}),
    );
    body["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .expect("an ARN")
        .to_owned()
}

/// The pids of live (not zombie) processes whose working directory is under `dir`.
fn processes_under(dir: &Path) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(") ")
                    .map(|(_, rest)| rest.starts_with('Z'))
            })
            .unwrap_or(true);
        if cwd.starts_with(dir) && !zombie {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_crash_mid_deployment_loses_nothing_and_duplicates_nothing() {
    crash_mid_deployment(&[]);
}

#[test]
fn a_crash_mid_deployment_on_postgres() {
    let database = Database::create();
    crash_mid_deployment(&["--database-url", &database.url]);
}

fn crash_mid_deployment(extra: &[&str]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let (repository, _) = service_repository(
        &data_dir,
        "web",
        &[("app.py", APP), ("Dockerfile", DOCKERFILE)],
    );
    let engine_root = data_dir.join("engine");
    let image = paved_runtime::Runtime::new(paved_runtime::RuntimeConfig::new(&engine_root))
        .expect("a runtime")
        .images()
        .build("web", &repository, "main")
        .expect("the image builds")
        .to_string();

    let server = Up::start(dir.path(), &data_dir, extra);
    let first = register(&server, &image, "1");
    ecs(
        &server,
        "CreateService",
        json!({"serviceName": "web", "taskDefinition": first, "desiredCount": 2}),
    );
    server.wait_for_log("deployment completed", 1);
    let second = register(&server, &image, "2");
    let updated = ecs(
        &server,
        "UpdateService",
        json!({"service": "web", "taskDefinition": second}),
    );
    let deployment = updated["service"]["deployments"][0]["id"]
        .as_str()
        .expect("the new deployment")
        .to_owned();
    assert_eq!(
        updated["service"]["deployments"][0]["taskDefinition"],
        second
    );
    // The new deployment's tasks have started, and none can be healthy before its first
    // health check a second later: the deployment is in flight. Crash now.
    server.wait_for_log("has started 2 tasks", 2);
    let in_flight = ecs(&server, "DescribeServices", json!({"services": ["web"]}));
    assert_eq!(
        in_flight["services"][0]["deployments"][0]["rolloutState"], "IN_PROGRESS",
        "{in_flight}"
    );
    // At least the first revision's two processes run (the second's may still be spawning).
    let before = processes_under(&engine_root);
    assert!(before.len() >= 2, "{before:?}");
    server.crash();

    let server = Up::start(dir.path(), &data_dir, extra);
    let log = server.wait_for_log(
        &format!("(deployment {deployment}) deployment completed"),
        1,
    );
    assert!(
        log.contains("killed process groups left by a previous run"),
        "{log}"
    );
    let described = ecs(&server, "DescribeServices", json!({"services": ["web"]}));
    let service = &described["services"][0];
    assert_eq!(service["taskDefinition"], second);
    assert_eq!(
        service["deployments"].as_array().map(Vec::len),
        Some(1),
        "{service}"
    );
    assert_eq!(service["deployments"][0]["id"], deployment.as_str());
    assert_eq!(service["deployments"][0]["rolloutState"], "COMPLETED");
    assert_eq!(service["runningCount"], 2);
    let listed = ecs(&server, "ListTasks", json!({"serviceName": "web"}));
    let arns = listed["taskArns"].as_array().cloned().unwrap_or_default();
    assert_eq!(arns.len(), 2, "exactly the desired count: {listed}");
    let tasks = ecs(&server, "DescribeTasks", json!({"tasks": arns}));
    for task in tasks["tasks"].as_array().expect("tasks") {
        assert_eq!(task["taskDefinitionArn"], second, "{task}");
        assert_eq!(task["lastStatus"], "RUNNING", "{task}");
    }
    let after = processes_under(&engine_root);
    assert_eq!(
        after.len(),
        2,
        "only the two running tasks' processes: {after:?}"
    );
    assert!(
        after.iter().all(|pid| !before.contains(pid)),
        "the crashed run's processes are gone: before {before:?}, after {after:?}"
    );
    // The tasks lost in the crash are recorded as stopped, with the reason.
    let stopped = ecs(
        &server,
        "ListTasks",
        json!({"serviceName": "web", "desiredStatus": "STOPPED"}),
    );
    let stopped = ecs(
        &server,
        "DescribeTasks",
        json!({"tasks": stopped["taskArns"]}),
    );
    let reasons: Vec<&str> = stopped["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|task| task["stoppedReason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .filter(|reason| reason.contains("Paved restarted"))
            .count()
            >= 4,
        "{reasons:?}"
    );

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
    assert_eq!(
        processes_under(&engine_root),
        Vec::<u32>::new(),
        "a graceful stop stops every task"
    );
}

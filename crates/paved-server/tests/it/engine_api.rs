//! `/api/engine`: secrets (values never listed or audited), load balancer validation, images
//! built from a service repository, and a service's logs as JSON and as server-sent events.
//!
//! Tests wait on the runtime's log broadcast or the engine's change counter, never on timers.

use std::time::Duration;

use paved_engine::Operation;
use paved_test::{Backend, TEST_TOKEN, TestServer, both_backends};
use serde_json::{Value, json};

both_backends!(
    secrets_are_stored_but_never_shown,
    load_balancer_configurations_are_checked_field_by_field,
    images_are_built_from_a_service_repository,
    service_logs_merge_tasks_and_follow_new_ones,
);

/// How long any one condition may take.
const PATIENCE: Duration = Duration::from_secs(60);

const SECRET_VALUE: &str = "s3cr3t-value-that-must-not-leak";

/// PUT with the admin token, or without credentials.
async fn put(server: &TestServer, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .put(format!("{}{path}", server.base_url))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Registers the next revision of `chatty`: one container of `image` labelled `label`.
async fn register_chatty(server: &TestServer, image: &str, label: &str) {
    server
        .ecs(
            Operation::RegisterTaskDefinition,
            json!({"family": "chatty", "memory": "512", "containerDefinitions": [{
                "name": "app", "image": image, "essential": true, "stopTimeout": 1,
                "environment": [{"name": "TASK_LABEL", "value": label}],
            }]}),
        )
        .await;
}

/// The problems' fields of an error response.
fn problem_fields(body: &Value) -> Vec<String> {
    body["error"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("problems in {body}"))
        .iter()
        .map(|problem| problem["field"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn secrets_are_stored_but_never_shown(backend: Backend) {
    let server = TestServer::start(backend).await;

    let (status, body) = put(
        &server,
        "/api/engine/secrets/db-password",
        json!({"value": SECRET_VALUE}),
        None,
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        server
            .store
            .engine_secret("db-password")
            .await
            .expect("reads"),
        None,
        "a refused PUT stores nothing"
    );

    let (status, body) = put(
        &server,
        "/api/engine/secrets/db-password",
        json!({"value": SECRET_VALUE}),
        Some(TEST_TOKEN),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "db-password");
    assert!(!body.to_string().contains(SECRET_VALUE), "{body}");
    let (status, _) = put(
        &server,
        "/api/engine/secrets/db-password",
        json!({"value": "replaced"}),
        Some(TEST_TOKEN),
    )
    .await;
    assert_eq!(status, 200, "a replaced secret answers 200");
    assert_eq!(
        server
            .store
            .engine_secret("db-password")
            .await
            .expect("reads"),
        Some("replaced".to_owned())
    );

    let (status, body) = put(
        &server,
        "/api/engine/secrets/has%20space",
        json!({"value": ""}),
        Some(TEST_TOKEN),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(problem_fields(&body), ["name", "value"], "{body}");

    let list = server.get("/api/engine/secrets").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["db-password"]);
    assert!(
        !list.text.contains(SECRET_VALUE) && !list.text.contains("replaced"),
        "{}",
        list.text
    );

    let audit = server.audit_log().await;
    let puts: Vec<_> = audit
        .iter()
        .filter(|event| event.action == "engine.put-secret")
        .collect();
    assert_eq!(
        puts.len(),
        4,
        "every PUT is audited, refused ones too: {audit:?}"
    );
    assert!(
        puts.iter()
            .any(|event| event.principal == "anonymous" && event.outcome.starts_with("refused"))
    );
    for event in &audit {
        let text = format!(
            "{} {} {}",
            event.resource_name, event.outcome, event.details
        );
        assert!(
            !text.contains(SECRET_VALUE) && !text.contains("replaced"),
            "{event:?}"
        );
    }

    assert_eq!(
        server
            .delete("/api/engine/secrets/db-password")
            .await
            .status,
        204
    );
    let again = server.delete("/api/engine/secrets/db-password").await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert_eq!(again.body["error"]["code"], "secret_not_found");
}

async fn load_balancer_configurations_are_checked_field_by_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let valid = json!({
        "port": 0,
        "rules": [{"priority": 10, "pathPatterns": ["/api/*"], "targetGroup": "api"}],
        "defaultTargetGroup": "web",
        "targetGroups": [{"name": "api", "healthCheck": {"path": "/health"}}, {"name": "web"}],
    });

    let (status, body) = put(
        &server,
        "/api/engine/load-balancers/nowhere",
        valid.clone(),
        Some(TEST_TOKEN),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "cluster_not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`nowhere`"),
        "{body}"
    );

    server
        .ecs(Operation::CreateCluster, json!({"clusterName": "shop"}))
        .await;
    let invalid = json!({
        "port": 70000,
        "rules": [
            {"priority": 10, "pathPatterns": ["/a/*"], "targetGroup": "api"},
            {"priority": 10, "pathPatterns": ["/b/*"], "targetGroup": "missing"},
        ],
        "targetGroups": [{"name": "api", "healthCheck": {"timeoutSeconds": 40, "matcher": "200-abc"}}],
    });
    let (status, body) = put(
        &server,
        "/api/engine/load-balancers/shop",
        invalid,
        Some(TEST_TOKEN),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        problem_fields(&body),
        [
            "port",
            "targetGroups[0].healthCheck.matcher",
            "targetGroups[0].healthCheck.timeoutSeconds",
            "rules[1].priority",
            "rules[1].targetGroup",
        ],
        "{body}"
    );
    let message = body.to_string();
    assert!(message.contains("1-65535, or 0"), "{message}");
    assert!(message.contains("known: api"), "{message}");
    assert_eq!(
        server.store.engine_load_balancers().await.expect("reads"),
        Vec::<(String, String)>::new(),
        "nothing is stored"
    );

    let (status, body) = put(
        &server,
        "/api/engine/load-balancers/shop",
        json!({"port": 0, "bogus": 1}),
        Some(TEST_TOKEN),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("bogus"), "{body}");

    let (status, body) = put(
        &server,
        "/api/engine/load-balancers/shop",
        valid.clone(),
        None,
    )
    .await;
    assert_eq!(status, 401, "{body}");

    let (status, body) = put(
        &server,
        "/api/engine/load-balancers/shop",
        valid,
        Some(TEST_TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cluster"], "shop");
    assert_eq!(
        body["spec"]["targetGroups"][1]["deregistrationDelaySeconds"], 300,
        "ALB's default, the one the engine applies"
    );
    let names: Vec<&str> = body["targetGroups"]
        .as_array()
        .expect("target groups")
        .iter()
        .map(|group| group["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["api", "web"]);

    // The engine binds the listener; the API reports where.
    let mut changes = server.local.changes();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let address = loop {
        changes.borrow_and_update();
        let got = server.get("/api/engine/load-balancers/shop").await;
        if let Some(address) = got.body["address"].as_str() {
            break address.to_owned();
        }
        tokio::time::timeout_at(deadline, changes.changed())
            .await
            .expect("the listener is bound in time")
            .expect("the engine runs");
    };
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let list = server.get("/api/engine/load-balancers").await;
    assert_eq!(list.body["items"][0]["address"], address.as_str());

    assert_eq!(
        server
            .delete("/api/engine/load-balancers/shop")
            .await
            .status,
        204
    );
    let gone = server.get("/api/engine/load-balancers/shop").await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    assert_eq!(gone.body["error"]["code"], "load_balancer_not_found");
    let audited: Vec<String> = server
        .audit_log()
        .await
        .into_iter()
        .filter(|event| event.action.starts_with("engine.") && event.outcome == "ok")
        .map(|event| format!("{} {}", event.action, event.resource_name))
        .collect();
    assert_eq!(
        audited,
        [
            "engine.delete-load-balancer shop",
            "engine.put-load-balancer shop",
        ]
    );
}

/// A service repository in the server's data directory, as the scaffolder makes them;
/// returns the commit.
fn repository(server: &TestServer, name: &str, files: &[(&str, &str)]) -> String {
    paved_test::engine::service_repository(server.data.dir.path(), name, files).1
}

async fn images_are_built_from_a_service_repository(backend: Backend) {
    let server = TestServer::start(backend).await;
    let commit = repository(
        &server,
        "hello",
        &[
            ("Dockerfile", "FROM alpine\nCMD [\"sh\", \"run.sh\"]\n"),
            ("run.sh", "echo hi\n"),
        ],
    );

    let anonymous = server
        .post_anonymous("/api/engine/images", json!({"service": "hello"}))
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert!(
        server.local.images().is_empty(),
        "a refused build builds nothing"
    );

    let built = server
        .post("/api/engine/images", json!({"service": "hello"}))
        .await;
    assert_eq!(built.status, 201, "{}", built.text);
    assert_eq!(
        built.body,
        json!({"name": "hello", "commit": commit, "image": format!("local/hello:{commit}")})
    );
    let listed = server.get("/api/engine/images").await;
    assert_eq!(listed.body["items"], json!([built.body]));

    let unknown_ref = server
        .post(
            "/api/engine/images",
            json!({"service": "hello", "ref": "no-such-branch"}),
        )
        .await;
    assert_eq!(unknown_ref.status, 422, "{}", unknown_ref.text);
    assert_eq!(unknown_ref.body["error"]["code"], "unknown_reference");
    assert_eq!(problem_fields(&unknown_ref.body), ["ref"]);
    assert!(
        unknown_ref.text.contains("no-such-branch"),
        "{}",
        unknown_ref.text
    );

    let bad_ref = server
        .post(
            "/api/engine/images",
            json!({"service": "hello", "ref": "--upload-pack=x"}),
        )
        .await;
    assert_eq!(bad_ref.status, 400, "{}", bad_ref.text);
    assert_eq!(problem_fields(&bad_ref.body), ["ref"]);

    let unknown = server
        .post("/api/engine/images", json!({"service": "nothing"}))
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(unknown.body["error"]["code"], "repository_not_found");

    let audit = server.audit_log().await;
    assert!(
        audit
            .iter()
            .any(|event| event.action == "engine.build-image"
                && event.resource_name == "hello@main"
                && event.resource_kind == "image"
                && event.outcome == "ok"),
        "{audit:?}"
    );
}

/// Waits for a line of `task` containing `text` on the runtime's log broadcast.
async fn until_line(
    lines: &mut tokio::sync::broadcast::Receiver<paved_engine_local::LogLine>,
    text: &str,
) -> paved_engine_local::LogLine {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let line = lines.recv().await.expect("the log broadcast runs");
            if line.message.contains(text) {
                return line;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no log line `{text}` in time"))
}

/// The next `log` event of a server-sent event stream, as JSON.
async fn next_log_event(response: &mut reqwest::Response, buffer: &mut String) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                if event.lines().any(|line| line == "event: log") {
                    let data = event
                        .lines()
                        .find_map(|line| line.strip_prefix("data: "))
                        .expect("a data line");
                    return serde_json::from_str(data).expect("a JSON log line");
                }
                continue;
            }
            let chunk = response
                .chunk()
                .await
                .expect("the stream reads")
                .expect("the stream stays open");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .expect("a log event in time")
}

async fn service_logs_merge_tasks_and_follow_new_ones(backend: Backend) {
    let server = TestServer::start(backend).await;
    repository(
        &server,
        "chatty",
        &[
            (
                "Dockerfile",
                "FROM alpine\nWORKDIR /app\nCOPY . /app\nCMD [\"sh\", \"run.sh\"]\n",
            ),
            (
                "run.sh",
                "echo \"hello from $TASK_LABEL\"\necho \"oops from $TASK_LABEL\" >&2\nexec sleep 600\n",
            ),
        ],
    );
    let built = server
        .post("/api/engine/images", json!({"service": "chatty"}))
        .await;
    assert_eq!(built.status, 201, "{}", built.text);
    let image = built.body["image"].as_str().expect("an image").to_owned();
    register_chatty(&server, &image, "first").await;
    // No task yet: a follower opened now must see the task started later.
    server
        .ecs(
            Operation::CreateService,
            json!({"serviceName": "chatty", "taskDefinition": "chatty", "desiredCount": 0}),
        )
        .await;

    let empty = server.get("/api/engine/services/default/chatty/logs").await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.body["items"], json!([]));
    let missing = server
        .get("/api/engine/services/default/nothing/logs")
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    let bad_limit = server
        .get("/api/engine/services/default/chatty/logs?limit=0")
        .await;
    assert_eq!(bad_limit.status, 400, "{}", bad_limit.text);
    assert_eq!(problem_fields(&bad_limit.body), ["limit"]);

    let mut follow = reqwest::Client::new()
        .get(format!(
            "{}/api/engine/services/default/chatty/logs?follow=true",
            server.base_url
        ))
        .send()
        .await
        .expect("the follow request is answered");
    assert_eq!(follow.status().as_u16(), 200);
    let mut buffer = String::new();

    let mut lines = server.local.runtime().logs().subscribe();
    server
        .ecs(
            Operation::UpdateService,
            json!({"service": "chatty", "desiredCount": 1}),
        )
        .await;
    let oops = until_line(&mut lines, "oops from first").await;
    let followed_first = next_log_event(&mut follow, &mut buffer).await;
    let followed_second = next_log_event(&mut follow, &mut buffer).await;
    let mut followed: Vec<&str> = [&followed_first, &followed_second]
        .iter()
        .map(|line| line["message"].as_str().expect("a message"))
        .collect();
    followed.sort_unstable();
    assert_eq!(followed, ["hello from first", "oops from first"]);
    assert_eq!(followed_first["taskId"], oops.task_id.as_str());

    let logs = server.get("/api/engine/services/default/chatty/logs").await;
    assert_eq!(logs.status, 200, "{}", logs.text);
    let items = logs.body["items"].as_array().expect("items").clone();
    let shown: Vec<(String, String)> = items
        .iter()
        .map(|line| {
            (
                line["stream"].as_str().expect("a stream").to_owned(),
                line["message"].as_str().expect("a message").to_owned(),
            )
        })
        .collect();
    let mut sorted = shown.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            ("stderr".to_owned(), "oops from first".to_owned()),
            ("stdout".to_owned(), "hello from first".to_owned()),
        ]
    );
    assert!(
        items
            .iter()
            .all(|line| line["taskId"] == oops.task_id.as_str() && line["container"] == "app")
    );
    let timestamps: Vec<&str> = items
        .iter()
        .map(|line| line["timestamp"].as_str().expect("a time"))
        .collect();
    let mut ordered = timestamps.clone();
    ordered.sort_unstable();
    assert_eq!(timestamps, ordered, "lines are in time order");

    // A second revision: its task's lines merge with the first task's, newest last.
    register_chatty(&server, &image, "second").await;
    server
        .ecs(
            Operation::UpdateService,
            json!({"service": "chatty", "taskDefinition": "chatty:2"}),
        )
        .await;
    let second = until_line(&mut lines, "oops from second").await;
    assert_ne!(second.task_id, oops.task_id);
    let merged = server
        .get("/api/engine/services/default/chatty/logs?limit=3")
        .await;
    let messages: Vec<&str> = merged.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|line| line["message"].as_str().expect("a message"))
        .collect();
    assert_eq!(messages.len(), 3, "{}", merged.text);
    assert!(messages[1..].contains(&"oops from second"), "{messages:?}");

    let prefix = &oops.task_id[..8];
    let one = server
        .get(&format!(
            "/api/engine/services/default/chatty/logs?task={prefix}"
        ))
        .await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert!(
        one.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|line| line["taskId"] == oops.task_id.as_str()),
        "{}",
        one.text
    );
    let unknown_task = server
        .get("/api/engine/services/default/chatty/logs?task=ffffffffffff")
        .await;
    assert_eq!(unknown_task.status, 404, "{}", unknown_task.text);
    assert_eq!(unknown_task.body["error"]["code"], "engine_task_not_found");

    let detail = server.get("/api/engine/services/default/chatty").await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert_eq!(detail.body["name"], "chatty");
    assert!(
        detail.body["deployments"][0]["taskDefinition"]
            .as_str()
            .is_some_and(|arn| arn.ends_with("chatty:2")),
        "{}",
        detail.text
    );
    assert!(
        detail.body["tasks"]
            .as_array()
            .is_some_and(|tasks| tasks.len() >= 2),
        "{}",
        detail.text
    );
    let listed = server.get("/api/engine/services?cluster=default").await;
    assert_eq!(listed.body["items"][0]["name"], "chatty", "{}", listed.text);

    // A followed log does not hold up the server's shutdown: the stream ends.
    tokio::time::timeout(PATIENCE, server.shutdown())
        .await
        .expect("the server stops while a log is followed");
    let rest = tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(_)) = follow.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the follow stream ends with the server");
}

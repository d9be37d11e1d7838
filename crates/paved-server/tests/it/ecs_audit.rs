//! `/ecs` and the policy point: every mutating ECS operation writes exactly one audit event,
//! with its action and the resource it changes, in the change's own transaction; a refused
//! mutation writes one refused event and changes nothing.

use paved_store::{AuditEventRow, AuditFilter};
use paved_test::engine::AuditTrap;
use paved_test::{Backend, TEST_TOKEN, TestServer, both_backends};
use serde_json::{Value, json};

both_backends!(
    every_ecs_mutation_writes_one_audit_event,
    an_ecs_change_and_its_audit_event_commit_together,
    a_refused_ecs_mutation_is_recorded_and_changes_nothing,
);

/// One `/ecs` call over HTTP with the admin bearer token (or none); status and body.
async fn ecs(server: &TestServer, token: Option<&str>, target: &str, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/ecs", server.base_url))
        .header(
            "x-amz-target",
            format!("AmazonEC2ContainerServiceV20141113.{target}"),
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn audit_events(server: &TestServer) -> Vec<AuditEventRow> {
    server
        .store
        .audit_events(&AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .expect("the audit log reads")
}

/// The `(principal, action, resource, outcome)` of the events written since `before` events,
/// leaving out the scheduler's own (it may finish a deleted service meanwhile).
fn new_events(events: &[AuditEventRow], before: usize) -> Vec<(String, String, String, String)> {
    let mut new: Vec<_> = events[..events.len() - before]
        .iter()
        .filter(|event| event.principal != "system:engine")
        .map(|event| {
            (
                event.principal.clone(),
                event.action.clone(),
                format!("{}:{}", event.resource_kind, event.resource_name),
                event.outcome.clone(),
            )
        })
        .collect();
    new.reverse();
    new
}

fn container(name: &str) -> Value {
    json!({"name": name, "image": "local/app:1", "essential": true, "memory": 512,
           "portMappings": [{"containerPort": 8080}]})
}

async fn every_ecs_mutation_writes_one_audit_event(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = Some(TEST_TOKEN);
    let registered = ecs(
        &server,
        token,
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": [container("app")]}),
    )
    .await;
    assert_eq!(registered.0, 200, "{}", registered.1);
    let (_, run) = ecs(
        &server,
        token,
        "RunTask",
        json!({"cluster": "prod", "taskDefinition": "web"}),
    )
    .await;
    // RunTask on a cluster that does not exist fails, and is recorded as failed.
    assert_eq!(run["__type"], "ClusterNotFoundException", "{run}");
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "CreateCluster",
            json!({"clusterName": "prod"}),
            "ecs.create-cluster",
            "ecs-cluster:prod",
        ),
        (
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": [container("app")]}),
            "ecs.register-task-definition",
            "ecs-task-definition:web",
        ),
        (
            "TagResource",
            json!({"resourceArn": "arn:aws:ecs:us-east-1:000000000000:cluster/prod",
                   "tags": [{"key": "team", "value": "a"}]}),
            "ecs.tag-resource",
            "ecs-cluster:prod",
        ),
        (
            "UntagResource",
            json!({"resourceArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
                   "tagKeys": ["team"]}),
            "ecs.untag-resource",
            "ecs-task-definition:web",
        ),
        (
            "CreateService",
            json!({"cluster": "prod", "serviceName": "api", "taskDefinition": "web:2",
                   "desiredCount": 0}),
            "ecs.create-service",
            "ecs-service:prod/api",
        ),
        (
            "UpdateService",
            json!({"cluster": "prod", "service": "api", "taskDefinition": "web:1"}),
            "ecs.update-service",
            "ecs-service:prod/api",
        ),
        (
            "DeleteService",
            json!({"cluster": "prod", "service": "api"}),
            "ecs.delete-service",
            "ecs-service:prod/api",
        ),
        (
            "DeregisterTaskDefinition",
            json!({"taskDefinition": "web:1"}),
            "ecs.deregister-task-definition",
            "ecs-task-definition:web",
        ),
    ];
    for (target, body, action, resource) in cases {
        let before = audit_events(&server).await.len();
        let (status, response) = ecs(&server, token, target, body).await;
        assert_eq!(status, 200, "{target}: {response}");
        let events = audit_events(&server).await;
        assert_eq!(
            new_events(&events, before),
            vec![(
                "admin".to_owned(),
                action.to_owned(),
                resource.to_owned(),
                "ok".to_owned()
            )],
            "{target}"
        );
    }

    // RunTask and StopTask name the task definition and the task.
    let before = audit_events(&server).await.len();
    let (status, run) = ecs(
        &server,
        token,
        "RunTask",
        json!({"cluster": "prod", "taskDefinition": "web:2"}),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    let arn = run["tasks"][0]["taskArn"].as_str().expect("a task ARN");
    let id = arn.rsplit('/').next().expect("an id");
    let (status, stopped) = ecs(
        &server,
        token,
        "StopTask",
        json!({"cluster": "prod", "task": arn}),
    )
    .await;
    assert_eq!(status, 200, "{stopped}");
    let events = audit_events(&server).await;
    assert_eq!(
        new_events(&events, before),
        vec![
            (
                "admin".to_owned(),
                "ecs.run-task".to_owned(),
                "ecs-task-definition:web".to_owned(),
                "ok".to_owned()
            ),
            (
                "admin".to_owned(),
                "ecs.stop-task".to_owned(),
                format!("ecs-task:prod/{id}"),
                "ok".to_owned()
            ),
        ]
    );

    // A failed call is recorded once, as failed; so is the earlier RunTask.
    let before = audit_events(&server).await.len();
    let (status, _) = ecs(&server, token, "DeleteCluster", json!({"cluster": "nope"})).await;
    assert_eq!(status, 400);
    let events = audit_events(&server).await;
    let new = new_events(&events, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0].1, "ecs.delete-cluster");
    assert_eq!(new[0].2, "ecs-cluster:nope");
    assert!(
        new[0].3.starts_with("error: ClusterNotFoundException"),
        "{new:?}"
    );
    assert!(
        events.iter().any(|event| event.action == "ecs.run-task"
            && event.resource_name == "web"
            && event.outcome.starts_with("error: ClusterNotFoundException")),
        "the first RunTask is recorded as failed"
    );

    // Reads write nothing.
    let before = audit_events(&server).await.len();
    let (status, body) = ecs(&server, token, "ListTasks", json!({"cluster": "prod"})).await;
    assert_eq!(status, 200, "{body}");
    let events = audit_events(&server).await;
    assert_eq!(new_events(&events, before), vec![], "reads are not audited");
}

async fn an_ecs_change_and_its_audit_event_commit_together(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = Some(TEST_TOKEN);
    let (status, body) = ecs(
        &server,
        token,
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": [container("app")]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let trap = AuditTrap::install(&server.store).await;
    let (status, body) = ecs(
        &server,
        token,
        "CreateCluster",
        json!({"clusterName": "prod"}),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["__type"], "ServerException");
    let (status, body) = ecs(
        &server,
        token,
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": [container("app")]}),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    let (status, body) = ecs(
        &server,
        token,
        "DeregisterTaskDefinition",
        json!({"taskDefinition": "web:1"}),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    trap.remove().await;

    // Nothing of the three changes is there.
    let (_, described) = ecs(
        &server,
        token,
        "DescribeClusters",
        json!({"clusters": ["prod"]}),
    )
    .await;
    assert_eq!(described["clusters"], json!([]), "{described}");
    assert_eq!(described["failures"][0]["reason"], "MISSING");
    let (_, listed) = ecs(
        &server,
        token,
        "ListTaskDefinitions",
        json!({"familyPrefix": "web"}),
    )
    .await;
    assert_eq!(
        listed["taskDefinitionArns"],
        json!(["arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"]),
        "no revision 2, and revision 1 still ACTIVE"
    );
    // With the audit log writable again, the next revision is 2: nothing was half-written.
    let (status, body) = ecs(
        &server,
        token,
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": [container("app")]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["taskDefinition"]["revision"], 2);
}

async fn a_refused_ecs_mutation_is_recorded_and_changes_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let before = audit_events(&server).await.len();
    let (status, body) = ecs(
        &server,
        None,
        "CreateCluster",
        json!({"clusterName": "prod"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");
    let events = audit_events(&server).await;
    let new = new_events(&events, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(
        (new[0].0.as_str(), new[0].1.as_str(), new[0].2.as_str()),
        ("anonymous", "ecs.create-cluster", "ecs-cluster:prod")
    );
    assert!(new[0].3.starts_with("refused"), "{new:?}");
    let (_, described) = ecs(
        &server,
        Some(TEST_TOKEN),
        "DescribeClusters",
        json!({"clusters": ["prod"]}),
    )
    .await;
    assert_eq!(described["clusters"], json!([]), "{described}");
}

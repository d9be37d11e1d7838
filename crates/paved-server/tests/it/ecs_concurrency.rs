//! The engine's store claims under concurrent calls, on SQLite and PostgreSQL: revision
//! numbers are never shared or lost, and the service compare-and-swap loses no update.

use std::collections::BTreeSet;
use std::sync::Arc;

use paved_engine::Operation;
use paved_engine_local::ServiceRecord;
use paved_test::{Backend, TestServer, both_backends};
use serde_json::{Value, json};

both_backends!(
    concurrent_registrations_get_consecutive_revisions,
    concurrent_service_updates_lose_nothing,
);

/// How many calls race at once.
const RACERS: usize = 16;

fn definition(family: &str, marker: usize) -> Value {
    json!({"family": family, "containerDefinitions": [{
        "name": "app", "image": "local/app:1", "essential": true, "memory": 512,
        "environment": [{"name": "MARKER", "value": marker.to_string()}],
    }]})
}

async fn concurrent_registrations_get_consecutive_revisions(backend: Backend) {
    let server = Arc::new(TestServer::start(backend).await);
    let mut racers = Vec::new();
    for marker in 0..RACERS {
        let server = server.clone();
        racers.push(tokio::spawn(async move {
            let response = server
                .ecs(Operation::RegisterTaskDefinition, definition("web", marker))
                .await;
            let revision = response["taskDefinition"]["revision"]
                .as_i64()
                .expect("a revision");
            let environment = &response["taskDefinition"]["containerDefinitions"][0]["environment"];
            assert_eq!(environment[0]["value"], marker.to_string(), "its own body");
            revision
        }));
    }
    let mut revisions = BTreeSet::new();
    for racer in racers {
        revisions.insert(racer.await.expect("a racer finishes"));
    }
    let expected: BTreeSet<i64> = (1..=RACERS as i64).collect();
    assert_eq!(revisions, expected, "distinct and consecutive");
    // Every revision is stored with the body of the call that got it.
    let listed = server
        .ecs(
            Operation::ListTaskDefinitions,
            json!({"familyPrefix": "web"}),
        )
        .await;
    assert_eq!(
        listed["taskDefinitionArns"].as_array().map(Vec::len),
        Some(RACERS)
    );
}

async fn concurrent_service_updates_lose_nothing(backend: Backend) {
    let server = Arc::new(TestServer::start(backend).await);
    let first = server
        .ecs(Operation::RegisterTaskDefinition, definition("web", 0))
        .await;
    let first = first["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .expect("an ARN")
        .to_owned();
    let second = server
        .ecs(Operation::RegisterTaskDefinition, definition("web", 1))
        .await;
    let second = second["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .expect("an ARN")
        .to_owned();
    // No tasks (desiredCount 0 throughout), so only the calls and the scheduler write.
    server
        .ecs(
            Operation::CreateService,
            json!({"serviceName": "api", "taskDefinition": first, "desiredCount": 0}),
        )
        .await;

    let updates = 8;
    let mut racers = Vec::new();
    for index in 0..updates {
        let server = server.clone();
        let task_definition = if index % 2 == 0 { &second } else { &first }.clone();
        racers.push(tokio::spawn(async move {
            // Every update names a desired count no other does, and forces a deployment.
            let request = json!({"service": "api", "desiredCount": 0, "taskDefinition": task_definition,
                "forceNewDeployment": true, "healthCheckGracePeriodSeconds": index});
            let response = server.ecs(Operation::UpdateService, request).await;
            let deployment = response["service"]["deployments"]
                .as_array()
                .and_then(|deployments| {
                    deployments
                        .iter()
                        .find(|deployment| deployment["status"] == "PRIMARY")
                })
                .expect("a primary deployment")["id"]
                .as_str()
                .expect("an id")
                .to_owned();
            (index, task_definition, deployment)
        }));
    }
    let mut accepted = Vec::new();
    for racer in racers {
        accepted.push(racer.await.expect("an update finishes"));
    }

    let row = server
        .store
        .ecs_service("default", "api")
        .await
        .expect("the store reads")
        .expect("the service");
    let record = ServiceRecord::parse(&row).expect("a service record");
    let service = &record.service;
    // The final state is exactly one of the requests: its grace period and its revision.
    let grace = service
        .health_check_grace_period_seconds
        .expect("a grace period");
    let winner = accepted
        .iter()
        .find(|(index, _, _)| *index as i64 == grace)
        .expect("the final state is one request's");
    assert_eq!(service.task_definition, winner.1, "no stale revision");
    let primary = record.primary().expect("a primary deployment");
    assert_eq!(primary.task_definition, winner.1);
    assert_eq!(
        primary.id, winner.2,
        "the last accepted update's deployment"
    );
    // One deployment per accepted update, none lost: each returned id is in the service's
    // deployments or its history.
    let known: BTreeSet<&str> = service
        .deployments
        .iter()
        .chain(&record.history)
        .map(|deployment| deployment.id.as_str())
        .collect();
    let returned: BTreeSet<&str> = accepted.iter().map(|(_, _, id)| id.as_str()).collect();
    assert_eq!(returned.len(), updates, "a deployment per update");
    assert!(
        returned.is_subset(&known),
        "{returned:?} not all in {known:?}"
    );
    // Every deployment points at one of the two revisions the calls named.
    for deployment in service.deployments.iter().chain(&record.history) {
        assert!(
            deployment.task_definition == first || deployment.task_definition == second,
            "{deployment:?}"
        );
    }
}

//! The local engine end to end: real processes built from a real git repository, the local
//! load balancer under load, rolling deployments, the circuit breaker, task replacement, and
//! the AWS CLI driving it all through `/ecs`.
//!
//! Tests wait on the engine's change counter (`LocalEngine::changes`), never on timers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use paved_engine::Operation;
use paved_engine_local::{LoadBalancerConfig, ServiceRecord};
use paved_test::{Backend, TestServer, both_backends};
use serde_json::{Value, json};

use crate::ecs::Aws;

both_backends!(
    rolls_out_with_zero_failed_requests,
    circuit_breaker_rolls_back_a_failing_revision,
    replaces_a_killed_task_and_says_why,
    aws_cli_runs_a_service,
    run_task_and_stop_task_with_secrets,
    tasks_fail_as_ecs_says,
);

/// How long any one condition may take (generous: CI machines are slow and shared).
const PATIENCE: Duration = Duration::from_secs(90);

async fn service(server: &TestServer, name: &str) -> ServiceRecord {
    let row = server
        .store
        .ecs_service("default", name)
        .await
        .expect("the store reads")
        .expect("the service exists");
    ServiceRecord::parse(&row).expect("the record parses")
}

/// Waits for the service's primary deployment of `task_definition` to complete.
async fn until_completed(server: &TestServer, name: &str, task_definition: &str) -> ServiceRecord {
    server
        .until(
            &format!("{name} to complete {task_definition}"),
            PATIENCE,
            || async {
                let record = service(server, name).await;
                let primary = record.primary()?;
                (primary.task_definition == task_definition
                    && primary.rollout_state == paved_engine::ecs::RolloutState::Completed)
                    .then_some(record)
            },
        )
        .await
}

/// The service's tasks as DescribeTasks returns them.
async fn tasks(server: &TestServer, name: &str, desired: &str) -> Vec<Value> {
    let listed = server
        .ecs(
            Operation::ListTasks,
            json!({"serviceName": name, "desiredStatus": desired}),
        )
        .await;
    let arns = listed["taskArns"].as_array().cloned().unwrap_or_default();
    if arns.is_empty() {
        return Vec::new();
    }
    let described = server
        .ecs(Operation::DescribeTasks, json!({"tasks": arns}))
        .await;
    described["tasks"].as_array().cloned().unwrap_or_default()
}

async fn configure_load_balancer(server: &TestServer, target_group: &str) -> std::net::SocketAddr {
    let config: LoadBalancerConfig = serde_json::from_value(json!({
        "port": 0,
        "rules": [{"priority": 10, "hostHeaders": [], "pathPatterns": ["/*"], "targetGroup": target_group}],
        "targetGroups": [{
            "name": target_group,
            "healthCheck": {"path": "/health", "intervalSeconds": 0.2, "timeoutSeconds": 1,
                            "healthyThreshold": 2, "unhealthyThreshold": 10},
            "deregistrationDelaySeconds": 10,
        }],
    }))
    .expect("a load balancer configuration");
    let record = paved_test::admin_record(
        paved_model::access::Action::PutLoadBalancer,
        paved_model::access::ResourceKind::LoadBalancer,
        "default",
    );
    let mutation = paved_store::Mutation::new(&record);
    let mut tx = mutation.begin(&server.store).await.expect("a transaction");
    tx.put_engine_load_balancer(
        "default",
        &serde_json::to_string(&config).expect("serialises"),
        paved_store::now_millis(),
    )
    .await
    .expect("stored");
    mutation.commit(tx).await.expect("committed");
    // The default cluster exists once any call names it.
    server.ecs(Operation::DescribeClusters, json!({})).await;
    server
        .until("the listener", PATIENCE, || async {
            server.local.balancer().listener_addr("default")
        })
        .await
}

async fn rolls_out_with_zero_failed_requests(backend: Backend) {
    let server = TestServer::start(backend).await;
    let image = server.build_app("web");
    let group = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1";
    let address = configure_load_balancer(&server, group).await;
    let first = server
        .register_app(
            "web",
            &image,
            json!([{"name": "VERSION", "value": "1"}]),
            None,
        )
        .await;
    server.ecs(Operation::CreateService,
        // The grace period covers the app's start: the balancer probes every 0.2 s, faster
        // than Python starts on a busy machine (and the unhealthy threshold of 10 keeps a
        // starved machine's slow probes from taking a healthy target out).
        json!({"serviceName": "web", "taskDefinition": first, "desiredCount": 2,
               "healthCheckGracePeriodSeconds": 10,
               "loadBalancers": [{"targetGroupArn": group, "containerName": "app", "containerPort": 8080}]}),
    )
    .await;
    until_completed(&server, "web", &first).await;

    // Clients send requests through the load balancer for the whole rollout.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (stop, sent) = (stop.clone(), sent.clone());
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut failures = Vec::new();
            let mut versions = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                sent.fetch_add(1, Ordering::Relaxed);
                match client.get(format!("http://{address}/orders")).send().await {
                    Ok(response) if response.status() == 200 => {
                        versions.insert(response.text().await.unwrap_or_default());
                    }
                    Ok(response) => failures.push(format!("HTTP {}", response.status())),
                    Err(error) => failures.push(error.to_string()),
                }
            }
            (failures, versions)
        }));
    }
    let second = server
        .register_app(
            "web",
            &image,
            json!([{"name": "VERSION", "value": "2"}]),
            None,
        )
        .await;
    server
        .ecs(
            Operation::UpdateService,
            json!({"service": "web", "taskDefinition": second}),
        )
        .await;
    let record = until_completed(&server, "web", &second).await;
    // Keep the load going until at least 2,000 requests went through the rollout and after.
    let mut changes = server.local.changes();
    while sent.load(Ordering::Relaxed) < 2_000 {
        tokio::select! {
            _ = changes.changed() => {}
            () = tokio::task::yield_now() => {}
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    let mut versions = std::collections::BTreeSet::new();
    for client in clients {
        let (client_failures, client_versions) = client.await.expect("a client");
        failures.extend(client_failures);
        versions.extend(client_versions);
    }
    let total = sent.load(Ordering::Relaxed);
    assert!(total >= 2_000, "{total} requests");
    assert_eq!(
        failures,
        Vec::<String>::new(),
        "failed requests out of {total}"
    );
    assert!(
        versions.contains("version 1\n") && versions.contains("version 2\n"),
        "{versions:?}"
    );
    assert_eq!(record.service.deployments.len(), 1, "{record:?}");
    assert_eq!(record.history[0].task_definition, first);
    let running = tasks(&server, "web", "RUNNING").await;
    assert_eq!(running.len(), 2, "{running:#?}");
    assert!(
        running
            .iter()
            .all(|task| task["taskDefinitionArn"] == second)
    );
    let targets = server.local.balancer().targets(group);
    assert_eq!(targets.len(), 2, "{targets:?}");
    server.shutdown().await;
}

async fn circuit_breaker_rolls_back_a_failing_revision(backend: Backend) {
    let server = TestServer::start(backend).await;
    let image = server.build_app("web");
    let passing =
        json!({"command": ["CMD-SHELL", "true"], "interval": 1, "timeout": 1, "retries": 1});
    let failing =
        json!({"command": ["CMD-SHELL", "exit 1"], "interval": 1, "timeout": 1, "retries": 1});
    let good = server
        .register_app("web", &image, json!([]), Some(passing))
        .await;
    server
        .ecs(
            Operation::CreateService,
            json!({"serviceName": "web", "taskDefinition": good, "desiredCount": 2,
               "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200,
                   "deploymentCircuitBreaker": {"enable": true, "rollback": true}}}),
        )
        .await;
    until_completed(&server, "web", &good).await;
    let bad = server
        .register_app("web", &image, json!([]), Some(failing))
        .await;
    server
        .ecs(
            Operation::UpdateService,
            json!({"service": "web", "taskDefinition": bad}),
        )
        .await;
    // Through the whole failed rollout and the rollback, healthy capacity stays at 2.
    let lowest = std::cell::Cell::new(usize::MAX);
    let record = server
        .until("the rollback to complete", PATIENCE, || async {
            let healthy = tasks(&server, "web", "RUNNING")
                .await
                .iter()
                .filter(|task| task["lastStatus"] == "RUNNING" && task["healthStatus"] == "HEALTHY")
                .count();
            lowest.set(lowest.get().min(healthy));
            let record = service(&server, "web").await;
            let primary = record.primary()?;
            (primary.task_definition == good
                && primary.rollout_state == paved_engine::ecs::RolloutState::Completed
                && record
                    .history
                    .iter()
                    .any(|deployment| deployment.task_definition == bad))
            .then_some(record)
        })
        .await;
    assert!(
        lowest.get() >= 2,
        "healthy tasks dropped to {}",
        lowest.get()
    );
    let failed = record
        .history
        .iter()
        .find(|deployment| deployment.task_definition == bad)
        .expect("the failed deployment is kept");
    assert_eq!(
        failed.rollout_state,
        paved_engine::ecs::RolloutState::Failed
    );
    assert!(
        failed.rollout_state_reason.contains("circuit breaker"),
        "{failed:?}"
    );
    assert!(failed.failed_tasks >= 3, "{failed:?}");
    // The scheduler's rollback is audited as its own, with what it rolled back to.
    let rollbacks = server
        .store
        .audit_events(&paved_store::AuditFilter {
            action: Some("engine.roll-back".to_owned()),
            limit: 10,
            ..paved_store::AuditFilter::default()
        })
        .await
        .expect("the audit log reads");
    assert_eq!(rollbacks.len(), 1, "{rollbacks:?}");
    assert_eq!(rollbacks[0].principal, "system:engine");
    assert_eq!(rollbacks[0].resource_kind, "ecs-service");
    assert_eq!(rollbacks[0].resource_name, "default/web");
    assert_eq!(rollbacks[0].outcome, "ok");
    let details: Value = serde_json::from_str(&rollbacks[0].details).expect("JSON details");
    assert_eq!(details["rollback"]["to"], good.as_str(), "{details}");
    assert_eq!(details["rollback"]["from"], bad.as_str(), "{details}");
    let described = server
        .ecs(Operation::DescribeServices, json!({"services": ["web"]}))
        .await;
    let events: Vec<&str> = described["services"][0]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["message"].as_str())
        .collect();
    assert!(
        events
            .iter()
            .any(|event| event.contains("deployment failed")),
        "{events:#?}"
    );
    assert!(
        events.iter().any(|event| event.contains("rolling back to")),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|event| event.contains("failed container health checks")),
        "{events:#?}"
    );
    assert_eq!(described["services"][0]["taskDefinition"], good);
    let refused = server
        .try_ecs(Operation::DeleteCluster, json!({"cluster": "default"}))
        .await
        .expect_err("the cluster has a service");
    assert_eq!(refused.kind.as_str(), "ClusterContainsServicesException");
    server.shutdown().await;
}

async fn replaces_a_killed_task_and_says_why(backend: Backend) {
    let server = TestServer::start(backend).await;
    let image = server.build_app("web");
    let definition = server.register_app("web", &image, json!([]), None).await;
    server
        .ecs(
            Operation::CreateService,
            json!({"serviceName": "web", "taskDefinition": definition, "desiredCount": 1}),
        )
        .await;
    until_completed(&server, "web", &definition).await;
    let first = tasks(&server, "web", "RUNNING").await;
    assert_eq!(first.len(), 1);
    let victim = first[0]["taskArn"].as_str().expect("an ARN").to_owned();
    let pid: i32 = first[0]["containers"][0]["runtimeId"]
        .as_str()
        .and_then(|pid| pid.parse().ok())
        .expect("the container's pid");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    let replacement = server
        .until("a replacement task", PATIENCE, || async {
            let running = tasks(&server, "web", "RUNNING").await;
            running
                .into_iter()
                .find(|task| task["taskArn"] != victim.as_str() && task["lastStatus"] == "RUNNING")
        })
        .await;
    assert_eq!(replacement["taskDefinitionArn"], definition);
    let stopped = server
        .ecs(Operation::DescribeTasks, json!({"tasks": [victim]}))
        .await;
    let stopped = &stopped["tasks"][0];
    assert_eq!(stopped["lastStatus"], "STOPPED");
    assert_eq!(stopped["stopCode"], "EssentialContainerExited");
    assert_eq!(stopped["containers"][0]["exitCode"], 137);
    let described = server
        .ecs(Operation::DescribeServices, json!({"services": ["web"]}))
        .await;
    let id = victim.rsplit('/').next().expect("an id");
    let events = described["services"][0]["events"].to_string();
    assert!(
        events.contains(&format!(
            "has stopped 1 running tasks: (task {id}). Reason: Essential container in task exited"
        )),
        "{events}"
    );
    server.shutdown().await;
}

async fn aws_cli_runs_a_service(backend: Backend) {
    let server = TestServer::start(backend).await;
    let image = server.build_app("web");
    let aws = Aws::new(&server);
    let containers = json!([{"name": "app", "image": image, "essential": true,
        "portMappings": [{"containerPort": 8080}], "environment": [{"name": "VERSION", "value": "cli"}]}])
    .to_string();
    let registered = aws
        .ok(&[
            "register-task-definition",
            "--family",
            "web",
            "--memory",
            "512",
            "--container-definitions",
            &containers,
        ])
        .await;
    assert_eq!(registered["taskDefinition"]["revision"], 1);
    let created = aws
        .ok(&[
            "create-service",
            "--service-name",
            "web",
            "--task-definition",
            "web",
            "--desired-count",
            "1",
            "--deployment-configuration",
            "maximumPercent=200,minimumHealthyPercent=50,deploymentCircuitBreaker={enable=true,rollback=true}",
        ])
        .await;
    let service = &created["service"];
    assert_eq!(service["serviceName"], "web");
    assert_eq!(service["status"], "ACTIVE");
    assert_eq!(service["deployments"][0]["status"], "PRIMARY");
    assert_eq!(service["deployments"][0]["rolloutState"], "IN_PROGRESS");
    until_completed(
        &server,
        "web",
        registered["taskDefinition"]["taskDefinitionArn"]
            .as_str()
            .expect("an ARN"),
    )
    .await;

    let described = aws
        .ok(&["describe-services", "--services", "web", "missing"])
        .await;
    assert_eq!(described["services"][0]["runningCount"], 1);
    assert_eq!(
        described["services"][0]["deployments"][0]["rolloutState"],
        "COMPLETED"
    );
    assert_eq!(described["failures"][0]["reason"], "MISSING");
    let listed = aws.ok(&["list-tasks", "--service-name", "web"]).await;
    let arn = listed["taskArns"][0].as_str().expect("a task").to_owned();
    let task = aws.ok(&["describe-tasks", "--tasks", &arn]).await;
    assert_eq!(task["tasks"][0]["lastStatus"], "RUNNING");
    let port = task["tasks"][0]["containers"][0]["networkBindings"][0]["hostPort"]
        .as_u64()
        .expect("a host port");
    let answer = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .expect("the task answers")
        .text()
        .await
        .expect("a body");
    assert_eq!(answer, "version cli\n");
    let services = aws.ok(&["list-services"]).await;
    assert_eq!(services["serviceArns"].as_array().map(Vec::len), Some(1));

    let missing = aws
        .fails(&[
            "update-service",
            "--service",
            "nope",
            "--desired-count",
            "2",
        ])
        .await;
    assert!(
        missing.stderr.contains("ServiceNotFoundException"),
        "{}",
        missing.stderr
    );
    let refused = aws.fails(&["delete-service", "--service", "web"]).await;
    assert!(
        refused.stderr.contains("InvalidParameterException"),
        "{}",
        refused.stderr
    );
    let deleted = aws
        .ok(&["delete-service", "--service", "web", "--force"])
        .await;
    assert_eq!(deleted["service"]["status"], "DRAINING");
    server
        .until("the service to become INACTIVE", PATIENCE, || async {
            let row = server.store.ecs_service("default", "web").await.ok()??;
            (row.status == "INACTIVE").then_some(())
        })
        .await;
    let stopped = aws.ok(&["describe-tasks", "--tasks", &arn]).await;
    assert_eq!(stopped["tasks"][0]["lastStatus"], "STOPPED");
    assert_eq!(stopped["tasks"][0]["stopCode"], "ServiceSchedulerInitiated");
    server.shutdown().await;
}

/// Waits for a standalone task to reach `status` and returns it as DescribeTasks does.
async fn until_task(server: &TestServer, arn: &str, status: &str) -> Value {
    server
        .until(&format!("task {arn} to be {status}"), PATIENCE, || async {
            let described = server
                .ecs(Operation::DescribeTasks, json!({"tasks": [arn]}))
                .await;
            let task = described["tasks"][0].clone();
            (task["lastStatus"] == status).then_some(task)
        })
        .await
}

async fn run_task_and_stop_task_with_secrets(backend: Backend) {
    let server = TestServer::start(backend).await;
    let image = server.build_app("job");
    let record = paved_test::admin_record(
        paved_model::access::Action::PutSecret,
        paved_model::access::ResourceKind::Secret,
        "db-password",
    );
    let mutation = paved_store::Mutation::new(&record);
    let mut tx = mutation.begin(&server.store).await.expect("a transaction");
    tx.put_engine_secret("db-password", "s3cret-value", paved_store::now_millis())
        .await
        .expect("a secret");
    mutation.commit(tx).await.expect("committed");
    server.ecs(Operation::RegisterTaskDefinition,
        json!({"family": "job", "memory": "512", "containerDefinitions": [{
            "name": "main", "image": image, "stopTimeout": 1,
            "command": ["/bin/sh", "-c", "echo \"password has ${#DB_PASSWORD} characters\"; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"],
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-password"}],
        }]}),
    )
    .await;
    let ran = server
        .ecs(
            Operation::RunTask,
            json!({"taskDefinition": "job", "startedBy": "test"}),
        )
        .await;
    let task = &ran["tasks"][0];
    assert_eq!(task["lastStatus"], "PROVISIONING");
    assert_eq!(task["desiredStatus"], "RUNNING");
    assert_eq!(task["group"], "family:job");
    let arn = task["taskArn"].as_str().expect("an ARN").to_owned();
    until_task(&server, &arn, "RUNNING").await;
    let listed = server
        .ecs(Operation::ListTasks, json!({"family": "job"}))
        .await;
    assert_eq!(listed["taskArns"], json!([arn]));
    let listed = server
        .ecs(Operation::ListTasks, json!({"startedBy": "nobody"}))
        .await;
    assert_eq!(listed["taskArns"], json!([]));

    let stopped = server
        .ecs(
            Operation::StopTask,
            json!({"task": arn, "reason": "done with it"}),
        )
        .await;
    assert_eq!(stopped["task"]["desiredStatus"], "STOPPED");
    let task = until_task(&server, &arn, "STOPPED").await;
    assert_eq!(task["stopCode"], "UserInitiated");
    assert_eq!(task["stoppedReason"], "done with it");
    assert_eq!(
        task["containers"][0]["exitCode"], 0,
        "the container exited on SIGTERM itself"
    );
    let id = arn.rsplit('/').next().expect("an id");
    let lines: Vec<String> = server
        .local
        .runtime()
        .logs()
        .read(id, None, 100)
        .into_iter()
        .map(|line| line.message)
        .collect();
    assert!(
        lines.contains(&"password has 12 characters".to_owned()),
        "{lines:?}"
    );
    assert!(lines.contains(&"bye".to_owned()), "{lines:?}");
    assert!(
        !format!("{task}").contains("s3cret-value"),
        "the secret is not in the task"
    );
    server.shutdown().await;
}

async fn tasks_fail_as_ecs_says(backend: Backend) {
    let server = TestServer::start(backend).await;
    let image = server.build_app("job");
    let register = |family: &str, container: Value| {
        let server = &server;
        let family = family.to_owned();
        async move {
            server
                .ecs(
                    Operation::RegisterTaskDefinition,
                    json!({"family": family, "memory": "512", "containerDefinitions": [container]}),
                )
                .await;
        }
    };
    register("remote", json!({"name": "main", "image": "nginx:latest"})).await;
    register(
        "unknown-secret",
        json!({"name": "main", "image": image, "secrets": [{"name": "TOKEN", "valueFrom": "missing-token"}]}),
    )
    .await;
    register(
        "exits",
        json!({"name": "main", "image": image, "command": ["/bin/sh", "-c", "exit 3"]}),
    )
    .await;

    let mut arns = Vec::new();
    for family in ["remote", "unknown-secret", "exits"] {
        let ran = server
            .ecs(Operation::RunTask, json!({"taskDefinition": family}))
            .await;
        arns.push(
            ran["tasks"][0]["taskArn"]
                .as_str()
                .expect("an ARN")
                .to_owned(),
        );
    }
    let remote = until_task(&server, &arns[0], "STOPPED").await;
    assert_eq!(remote["stopCode"], "TaskFailedToStart");
    let reason = remote["stoppedReason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("CannotPullContainerError"), "{reason}");
    assert!(
        reason.contains("nginx:latest") && reason.contains("paved build"),
        "{reason}"
    );
    let secret = until_task(&server, &arns[1], "STOPPED").await;
    assert_eq!(secret["stopCode"], "TaskFailedToStart");
    let reason = secret["stoppedReason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("ResourceInitializationError") && reason.contains("missing-token"),
        "{reason}"
    );
    let exited = until_task(&server, &arns[2], "STOPPED").await;
    assert_eq!(exited["stopCode"], "EssentialContainerExited");
    assert_eq!(
        exited["stoppedReason"],
        "Essential container in task exited"
    );
    assert_eq!(exited["containers"][0]["exitCode"], 3);

    // ECS's errors for calls that name what does not exist.
    let missing = server
        .try_ecs(
            Operation::UpdateService,
            json!({"service": "nope", "desiredCount": 1}),
        )
        .await
        .expect_err("no such service");
    assert_eq!(missing.kind.as_str(), "ServiceNotFoundException");
    let missing = server
        .try_ecs(
            Operation::RunTask,
            json!({"cluster": "nope", "taskDefinition": "exits"}),
        )
        .await
        .expect_err("no such cluster");
    assert_eq!(missing.kind.as_str(), "ClusterNotFoundException");
    let refused = server
        .try_ecs(
            Operation::CreateService,
            json!({"serviceName": "web", "taskDefinition": "exits", "desiredCount": 1,
                   "deploymentConfiguration": {"maximumPercent": 250}}),
        )
        .await
        .expect_err("a bad maximum");
    assert_eq!(refused.kind.as_str(), "InvalidParameterException");
    assert!(refused.message.contains("maximumPercent 250"), "{refused}");
    let refused = server
        .try_ecs(
            Operation::CreateService,
            json!({"serviceName": "web", "taskDefinition": "exits",
                   "loadBalancers": [{"targetGroupArn": "tg", "containerName": "main", "containerPort": 80}]}),
        )
        .await
        .expect_err("no such port");
    assert!(
        refused.message.contains("did not have a container port 80"),
        "{refused}"
    );
    server.shutdown().await;
}

//! Every mutating route of the OpenAPI document, walked: each passes the policy point with the
//! resource it changes and writes exactly one audit event, refusals included, and the event
//! is written in the change's own transaction (with audit writes failing, the change does not
//! happen either).

use std::collections::BTreeSet;
use std::process::Command;

use paved_test::engine::AuditTrap;
use paved_test::{Backend, TEST_TOKEN, TestData, TestServer, both_backends};
use serde_json::{Value, json};

const TEAM: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n";
const COMPONENT: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: walk\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n";

/// One call of the walk.
struct Call {
    method: &'static str,
    /// The route as the OpenAPI document names it.
    route: &'static str,
    path: String,
    body: Option<Value>,
    /// What it answers when it works (or, for a call that cannot work here, what it answers).
    status: u16,
    action: &'static str,
    /// The audited resource, `kind:name`.
    resource: String,
    /// A read that shows the call's change; it must read the same after the call failed.
    observe: String,
    /// The change happens outside the store (files, processes), so it cannot share the audit
    /// record's transaction: the call must fail when the record cannot be written.
    outside_store: bool,
}

async fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", server.base_url);
    let mut request = client.request(method.parse().expect("a method"), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn read(server: &TestServer, path: &str) -> Value {
    let (status, body) = send(server, "GET", path, None, Some(TEST_TOKEN)).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

async fn audit_count(server: &TestServer) -> usize {
    server.audit_log().await.len()
}

/// A git repository for template sync: `network/v1/` holds an environment template.
fn sync_repository(server: &TestServer) -> String {
    let root = server.input_dir().join("sync-repo");
    let bundle = root.join("network/v1");
    std::fs::create_dir_all(bundle.join("infrastructure")).expect("bundle directories");
    std::fs::write(
        bundle.join("paved-template.yaml"),
        "apiVersion: paved.dev/v1\nkind: EnvironmentTemplate\nmetadata:\n  name: network\n  owner: group:default/platform\nspec:\n  infrastructure:\n    engine: cloudformation\n",
    )
    .expect("manifest");
    std::fs::write(bundle.join("schema.yaml"), "type: object\nproperties: {}\n").expect("schema");
    std::fs::write(
        bundle.join("infrastructure/cloudformation.yaml"),
        "Resources:\n  Synced:\n    Type: AWS::SNS::Topic\n",
    )
    .expect("template");
    for arguments in [
        &["init", "-q", "-b", "main"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "-q",
            "-m",
            "network",
        ],
    ] {
        let status = Command::new("git")
            .args(arguments)
            .current_dir(&root)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {arguments:?}");
    }
    root.display().to_string()
}

/// A bundle archive for registration: an environment template `walk-env`.
fn bundle_archive() -> String {
    use base64::Engine as _;
    let file = |path: &str, text: &str| paved_template::bundle::BundleFile {
        path: path.to_owned(),
        bytes: text.as_bytes().to_vec(),
    };
    let files = [
        file(
            "paved-template.yaml",
            "apiVersion: paved.dev/v1\nkind: EnvironmentTemplate\nmetadata:\n  name: walk-env\n  owner: group:default/platform\nspec:\n  infrastructure:\n    engine: cloudformation\n",
        ),
        file("schema.yaml", "type: object\nproperties: {}\n"),
        file(
            "infrastructure/cloudformation.yaml",
            "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n",
        ),
    ];
    base64::engine::general_purpose::STANDARD
        .encode(paved_template_registry::source::pack_tar_gz(&files).expect("the bundle packs"))
}

/// The id a creation answered, from the fields that carry one.
fn id_of(body: &Value) -> String {
    for pointer in ["/id", "/location/id", "/sync/id", "/job/id", "/jobId"] {
        if let Some(id) = body.pointer(pointer).and_then(Value::as_str) {
            return id.to_owned();
        }
    }
    panic!("no id in {body}")
}

/// Runs one call: first with audit writes failing (it must fail and change nothing), then
/// as it is (one audit event with the call's action and resource). Returns its answer.
async fn walk(server: &TestServer, call: &Call, walked: &mut BTreeSet<(String, String)>) -> Value {
    walked.insert((call.method.to_lowercase(), call.route.to_owned()));
    let label = format!("{} {}", call.method, call.path);

    // Anonymous: refused before anything else, one refusal recorded.
    let before = audit_count(server).await;
    let (status, body) = send(server, call.method, &call.path, call.body.as_ref(), None).await;
    assert_eq!(status, 401, "{label} anonymous: {body}");
    let log = server.audit_log().await;
    assert_eq!(log.len(), before + 1, "{label}: one refusal recorded");
    assert_eq!(log[0].action, call.action, "{label}");
    assert_eq!(log[0].principal, "anonymous", "{label}");
    assert!(
        log[0].outcome.starts_with("refused"),
        "{label}: {:?}",
        log[0]
    );

    // Audit writes fail: so does the call, and nothing changed.
    let observed = read(server, &call.observe).await;
    let trap = AuditTrap::install(&server.store).await;
    let (status, body) = send(
        server,
        call.method,
        &call.path,
        call.body.as_ref(),
        Some(TEST_TOKEN),
    )
    .await;
    trap.remove().await;
    assert!(
        status >= 500,
        "{label} succeeded although its audit record could not be written: {status} {body}"
    );
    if !call.outside_store {
        assert_eq!(
            read(server, &call.observe).await,
            observed,
            "{label} changed {} although its audit record was not written",
            call.observe
        );
    }

    // As it is: the answer, and exactly one audit event naming the action and the resource.
    let before = audit_count(server).await;
    let (status, body) = send(
        server,
        call.method,
        &call.path,
        call.body.as_ref(),
        Some(TEST_TOKEN),
    )
    .await;
    assert_eq!(status, call.status, "{label}: {body}");
    let log = server.audit_log().await;
    let new: Vec<_> = log[..log.len() - before]
        .iter()
        .filter(|event| event.principal == "admin")
        .collect();
    assert_eq!(new.len(), 1, "{label}: audit events {new:#?}");
    assert_eq!(new[0].action, call.action, "{label}");
    assert_eq!(
        format!("{}:{}", new[0].resource_kind, new[0].resource_name),
        call.resource,
        "{label}"
    );
    body
}

async fn every_mutating_route_is_authorized_and_audited_once_in_its_transaction(backend: Backend) {
    let server = TestServer::start_with(TestData::with_builtin_templates(backend).await).await;
    let team = server.write("teams/team-a.yaml", TEAM);
    let added = server.add_location("file", &team).await;
    assert_eq!(added.status, 201, "{}", added.text);
    server
        .ecs(
            paved_engine::Operation::CreateCluster,
            json!({"clusterName": "shop"}),
        )
        .await;
    let component = server.write("walk/catalog-info.yaml", COMPONENT);
    let repository = sync_repository(&server);
    let mut walked = BTreeSet::new();

    let location = walk(
        &server,
        &Call {
            method: "POST",
            route: "/api/catalog/locations",
            path: "/api/catalog/locations".to_owned(),
            body: Some(json!({"type": "file", "target": component.display().to_string()})),
            status: 201,
            action: "location.create",
            resource: format!("location:file:{}", component.display()),
            observe: "/api/catalog/locations".to_owned(),
            outside_store: false,
        },
        &mut walked,
    )
    .await;
    let location = id_of(&location);
    walk(
        &server,
        &Call {
            method: "POST",
            route: "/api/catalog/refresh",
            path: "/api/catalog/refresh".to_owned(),
            body: Some(json!({"locationId": location})),
            status: 200,
            action: "catalog.refresh",
            resource: format!("location:{location}"),
            observe: "/api/catalog/locations".to_owned(),
            outside_store: false,
        },
        &mut walked,
    )
    .await;
    walk(
        &server,
        &Call {
            method: "DELETE",
            route: "/api/catalog/locations/{id}",
            path: format!("/api/catalog/locations/{location}"),
            body: None,
            status: 204,
            action: "location.delete",
            resource: format!("location:{location}"),
            observe: "/api/catalog/locations".to_owned(),
            outside_store: false,
        },
        &mut walked,
    )
    .await;

    walk(
        &server,
        &Call {
            method: "POST",
            route: "/api/templates/versions",
            path: "/api/templates/versions".to_owned(),
            body: Some(json!({"source": {"type": "archive", "data": bundle_archive()}})),
            status: 201,
            action: "template.register",
            // The name is in the bundle, read after authorisation; the audit details have it.
            resource: "template:(bundle)".to_owned(),
            observe: "/api/templates".to_owned(),
            outside_store: false,
        },
        &mut walked,
    )
    .await;
    for (verb, status, body) in [
        ("publish", 200, None),
        ("withdraw", 200, Some(json!({"reason": "superseded"}))),
    ] {
        walk(
            &server,
            &Call {
                method: "POST",
                route: if verb == "publish" {
                    "/api/templates/{name}/versions/{version}/publish"
                } else {
                    "/api/templates/{name}/versions/{version}/withdraw"
                },
                path: format!("/api/templates/walk-env/versions/1.0/{verb}"),
                body,
                status,
                action: if verb == "publish" {
                    "template.publish"
                } else {
                    "template.withdraw"
                },
                resource: "template:walk-env@1.0".to_owned(),
                observe: "/api/templates/walk-env".to_owned(),
                outside_store: false,
            },
            &mut walked,
        )
        .await;
    }

    let sync = walk(
        &server,
        &Call {
            method: "POST",
            route: "/api/template-syncs",
            path: "/api/template-syncs".to_owned(),
            body: Some(json!({"target": repository})),
            status: 200,
            action: "template-sync.create",
            resource: format!("template-sync:{repository}"),
            observe: "/api/template-syncs".to_owned(),
            outside_store: false,
        },
        &mut walked,
    )
    .await;
    let sync = id_of(&sync);
    walk(
        &server,
        &Call {
            method: "POST",
            route: "/api/template-syncs/{id}/run",
            path: format!("/api/template-syncs/{sync}/run"),
            body: None,
            status: 200,
            action: "template-sync.run",
            resource: format!("template-sync:{sync}"),
            observe: "/api/template-syncs".to_owned(),
            outside_store: false,
        },
        &mut walked,
    )
    .await;
    walk(
        &server,
        &Call {
            method: "DELETE",
            route: "/api/template-syncs/{id}",
            path: format!("/api/template-syncs/{sync}"),
            body: None,
            status: 204,
            action: "template-sync.delete",
            resource: format!("template-sync:{sync}"),
            observe: "/api/template-syncs".to_owned(),
            outside_store: false,
        },
        &mut walked,
    )
    .await;

    let job = walk(
        &server,
        &Call {
            method: "POST",
            route: "/api/services",
            path: "/api/services".to_owned(),
            body: Some(json!({
                "name": "payments",
                "template": "web-service@1",
                "owner": "team-a",
                "inputs": {"port": 8080, "health_check_path": "/healthz"},
            })),
            status: 202,
            action: "service.create",
            resource: "service:payments".to_owned(),
            observe: "/api/jobs".to_owned(),
            outside_store: false,
        },
        &mut walked,
    )
    .await;
    let job = id_of(&job);
    server.jobs.run_until_idle().await;
    let ended = read(&server, &format!("/api/jobs/{job}")).await;
    assert_eq!(ended["state"], "succeeded", "{ended}");
    // The job has ended: cancelling is refused, and the refusal is the one record.
    walk(
        &server,
        &Call {
            method: "POST",
            route: "/api/jobs/{id}/cancel",
            path: format!("/api/jobs/{job}/cancel"),
            body: None,
            status: 409,
            action: "job.cancel",
            resource: format!("job:{job}"),
            observe: format!("/api/jobs/{job}"),
            outside_store: false,
        },
        &mut walked,
    )
    .await;
    walk(
        &server,
        &Call {
            method: "POST",
            route: "/api/engine/images",
            path: "/api/engine/images".to_owned(),
            body: Some(json!({"service": "payments"})),
            status: 201,
            action: "engine.build-image",
            resource: "image:payments@main".to_owned(),
            observe: "/api/engine/images".to_owned(),
            outside_store: true,
        },
        &mut walked,
    )
    .await;

    for (method, status, body) in [
        ("PUT", 201, Some(json!({"value": "s3cr3t-value"}))),
        ("DELETE", 204, None),
    ] {
        walk(
            &server,
            &Call {
                method,
                route: "/api/engine/secrets/{name}",
                path: "/api/engine/secrets/db-password".to_owned(),
                body,
                status,
                action: if method == "PUT" {
                    "engine.put-secret"
                } else {
                    "engine.delete-secret"
                },
                resource: "secret:db-password".to_owned(),
                observe: "/api/engine/secrets".to_owned(),
                outside_store: false,
            },
            &mut walked,
        )
        .await;
    }
    for (method, status, body) in [
        (
            "PUT",
            200,
            Some(
                json!({"port": 0, "defaultTargetGroup": "web", "targetGroups": [{"name": "web"}]}),
            ),
        ),
        ("DELETE", 204, None),
    ] {
        walk(
            &server,
            &Call {
                method,
                route: "/api/engine/load-balancers/{cluster}",
                path: "/api/engine/load-balancers/shop".to_owned(),
                body,
                status,
                action: if method == "PUT" {
                    "engine.put-load-balancer"
                } else {
                    "engine.delete-load-balancer"
                },
                resource: "load-balancer:shop".to_owned(),
                observe: "/api/engine/load-balancers".to_owned(),
                outside_store: false,
            },
            &mut walked,
        )
        .await;
    }

    // The walk covered every mutating operation the API documents.
    let document = read(&server, "/api/openapi.json").await;
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|method| matches!(method.as_str(), "post" | "put" | "patch" | "delete"))
                .map(|method| (method.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        // Reads that take a body (queries, dry runs and checks), which change nothing.
        .filter(|(_, path)| {
            !matches!(
                path.as_str(),
                "/api/catalog/validate-entity"
                    | "/api/templates/{name}/render"
                    | "/api/catalog/entities/by-query"
                    | "/api/catalog/entities/by-refs"
            )
        })
        .collect();
    assert_eq!(
        documented, walked,
        "mutating routes the walk does not cover (or that no longer exist)"
    );
}

/// A stream of refused calls cannot fill the disk: each refusal's record is bounded, and a
/// source's refusals are recorded at a bounded rate (a burst of 20, then 2 a second).
async fn a_flood_of_refused_calls_writes_a_bounded_audit_log(backend: Backend) {
    let server = TestServer::start(backend).await;
    let long_id = "x".repeat(4000);
    let started = std::time::Instant::now();
    let calls = 300;
    for call in 0..calls {
        let token = (call % 2 == 0).then_some("pvd_wrong");
        let (status, body) = send(
            &server,
            "DELETE",
            &format!("/api/catalog/locations/{long_id}{call}"),
            None,
            token,
        )
        .await;
        assert_eq!(status, 401, "{body}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let log = server.audit_log().await;
    let allowed = 20 + (elapsed * 2.0).ceil() as usize;
    assert!(
        !log.is_empty() && log.len() <= allowed,
        "{} refusals recorded of {calls} in {elapsed:.1} s (at most {allowed})",
        log.len()
    );
    for event in &log {
        assert_eq!(event.principal, "anonymous");
        assert_eq!(event.action, "location.delete");
        assert!(
            event.resource_name.len() <= 256,
            "a resource name of {} bytes",
            event.resource_name.len()
        );
        assert!(event.outcome.len() <= 512, "{}", event.outcome);
        assert!(event.details.len() <= 4096, "{}", event.details.len());
    }
}

both_backends!(
    every_mutating_route_is_authorized_and_audited_once_in_its_transaction,
    a_flood_of_refused_calls_writes_a_bounded_audit_log,
);

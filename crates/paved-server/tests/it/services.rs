//! `/api/services` and `/api/jobs`: a service created from a built-in golden path as a
//! durable job, followed through server-sent events; dry runs; refusals before any job;
//! and all-or-nothing when a step fails.

use paved_test::{Backend, TestData, TestServer, both_backends};
use serde_json::{Value, json};

both_backends!(
    creates_a_service_repository_and_registers_it_at_once,
    dry_run_returns_the_files_and_creates_nothing,
    bad_requests_are_refused_before_any_job,
    names_taken_in_the_catalog_are_refused_before_any_job,
    a_failed_step_leaves_nothing_behind,
    a_template_can_name_where_repositories_are_pushed,
);

const TEAM: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n";

/// A server with the built-in templates and a Group `team-a` in the catalog.
async fn server(backend: Backend) -> TestServer {
    let server = TestServer::start_with(TestData::with_builtin_templates(backend).await).await;
    let team = server.write("teams/team-a.yaml", TEAM);
    server.add_location("file", &team).await;
    server
}

fn request(name: &str) -> Value {
    json!({
        "name": name,
        "template": "web-service@1",
        "owner": "team-a",
        "inputs": {"port": 8080, "health_check_path": "/healthz"},
    })
}

/// Reads the task's event stream to its end: the `log` events' JSON and the final task.
async fn follow(server: &TestServer, task: &str) -> (Vec<Value>, Value) {
    let mut response = reqwest::Client::new()
        .get(format!("{}/api/jobs/{task}/events", server.base_url))
        .send()
        .await
        .expect("the event stream opens");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "server-sent events"
    );
    let mut text = String::new();
    while let Some(chunk) = response.chunk().await.expect("the stream reads") {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let mut logs = Vec::new();
    let mut end = Value::Null;
    for block in text.split("\n\n").filter(|block| !block.trim().is_empty()) {
        let mut kind = "";
        let mut data = String::new();
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("event:") {
                kind = value.trim();
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push_str(value.trim_start());
            }
        }
        match kind {
            "log" => logs.push(serde_json::from_str(&data).expect("a log event is JSON")),
            "end" => end = serde_json::from_str(&data).expect("the end event is JSON"),
            _ => {}
        }
    }
    (logs, end)
}

async fn creates_a_service_repository_and_registers_it_at_once(backend: Backend) {
    let server = server(backend).await;
    let accepted = server.post("/api/services", request("payments")).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    assert_eq!(accepted.body["templateVersion"], "1.0");
    let task = accepted.body["jobId"]
        .as_str()
        .expect("a job id")
        .to_owned();
    let clone_url = accepted.body["cloneUrl"]
        .as_str()
        .expect("a clone URL")
        .to_owned();

    let (logs, end) = follow(&server, &task).await;
    assert_eq!(end["state"], "succeeded", "{end}\n{logs:#?}");
    let steps: Vec<String> = logs
        .iter()
        .map(|log| {
            format!(
                "{} {}",
                log["step"].as_str().unwrap_or_default(),
                log["level"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            "accepted info",
            "render step",
            "render done",
            "repository step",
            "repository done",
            "catalog step",
            "catalog done",
            "record step"
        ]
    );
    assert_eq!(end["result"]["cloneUrl"], clone_url.as_str());

    // The repository: one commit on main that names the task.
    let path = clone_url.strip_prefix("file://").expect("a file URL");
    let (_, message) = paved_git::branch_tip(std::path::Path::new(path), "main")
        .expect("the repository opens")
        .expect("main exists");
    assert!(message.contains(&format!("Paved-Job: {task}")), "{message}");
    let snapshot = paved_git::read_tree(
        &server.data.dir.path().join("git-cache"),
        path,
        Some("main"),
        &|_| true,
        1 << 20,
    )
    .expect("the repository reads");
    let paths: Vec<&str> = snapshot
        .files
        .iter()
        .map(|file| file.path.as_str())
        .collect();
    for expected in [
        "app.py",
        "test_app.py",
        "Dockerfile",
        "catalog-info.yaml",
        "paved.yaml",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
    assert!(
        paths
            .iter()
            .all(|path| !path.starts_with("infrastructure/")),
        "infrastructure stays with Paved: {paths:?}"
    );

    // In the catalog as soon as the task ends: the Component, its System, its location.
    let component = server
        .get("/api/catalog/entities/by-name/component/default/payments")
        .await;
    assert_eq!(component.status, 200, "{}", component.text);
    let annotations = &component.body["metadata"]["annotations"];
    assert_eq!(annotations["paved.dev/template"], "web-service@1.0");
    assert_eq!(
        annotations["backstage.io/source-location"],
        format!("url:{clone_url}")
    );
    assert_eq!(annotations["paved.dev/ecs-cluster"], "dev");
    assert_eq!(annotations["paved.dev/ecs-service"], "payments");
    assert_eq!(component.body["spec"]["owner"], "group:default/team-a");
    assert_eq!(component.body["spec"]["system"], "payments");
    assert_eq!(component.body["spec"]["lifecycle"], "experimental");
    let system = server
        .get("/api/catalog/entities/by-name/system/default/payments")
        .await;
    assert_eq!(system.status, 200, "{}", system.text);

    let service = server.get("/api/services/payments").await;
    assert_eq!(service.status, 200, "{}", service.text);
    assert_eq!(service.body["templateVersion"], "1.0");
    assert_eq!(service.body["spec"]["instances"][0]["inputs"]["port"], 8080);
    let job_view = server.get(&format!("/api/jobs/{task}")).await;
    assert_eq!(job_view.body["state"], "succeeded");

    // The name is taken now, by the service and by the Component.
    let again = server.post("/api/services", request("payments")).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["error"]["code"], "service_exists");
}

/// A Component or System the new repository's catalog-info.yaml would clash with is refused
/// at once, naming where it comes from and the fix, instead of failing the job's catalog step.
async fn names_taken_in_the_catalog_are_refused_before_any_job(backend: Backend) {
    let server = server(backend).await;
    let shop = server.write(
        "shop/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: shop\nspec:\n  owner: team-a\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web\nspec:\n  type: website\n  lifecycle: production\n  owner: team-a\n",
    );
    server.add_location("file", &shop).await;
    let location = format!("from location `file:{}`", shop.display());
    for (name, clash, fix) in [
        (
            "web",
            "`component:default/web` is already in the catalog",
            "choose another name",
        ),
        (
            "shop",
            "`system:default/shop` is already in the catalog",
            "`--system shop`",
        ),
    ] {
        let refused = server.post("/api/services", request(name)).await;
        assert_eq!(refused.status, 409, "{name}: {}", refused.text);
        assert_eq!(refused.body["error"]["code"], "service_exists");
        let message = refused.body["error"]["message"]
            .as_str()
            .unwrap_or_default();
        for part in [clash, location.as_str(), fix] {
            assert!(message.contains(part), "{name}: `{part}` in {message}");
        }
    }
    // Joining the existing System is the fix, and it works.
    let mut joined = request("shop");
    joined["system"] = json!("shop");
    joined["dryRun"] = json!(true);
    let dry = server.post("/api/services", joined).await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    let jobs = server.get("/api/jobs").await;
    assert_eq!(jobs.body["items"], json!([]), "no job was recorded");
}

async fn dry_run_returns_the_files_and_creates_nothing(backend: Backend) {
    let server = server(backend).await;
    let mut body = request("orders");
    body["dryRun"] = json!(true);
    body["pipelineInputs"] = json!({});
    let dry = server.post("/api/services", body).await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.body["dryRun"], true);
    assert!(dry.body["jobId"].is_null());
    let files: Vec<&str> = dry.body["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|file| file["path"].as_str())
        .collect();
    for expected in ["app.py", "Dockerfile", "catalog-info.yaml", "paved.yaml"] {
        assert!(
            files.contains(&expected),
            "{expected} missing from {files:?}"
        );
    }
    let catalog_info = dry.body["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|file| file["path"] == "catalog-info.yaml")
        .expect("catalog-info.yaml");
    assert!(
        catalog_info["contents"]
            .as_str()
            .unwrap_or_default()
            .contains("paved.dev/template: web-service@1.0"),
        "{catalog_info}"
    );
    assert!(
        !server
            .data
            .dir
            .path()
            .join("repositories/orders.git")
            .exists()
    );
    let services = server.get("/api/services").await;
    assert_eq!(services.body["items"], json!([]));
    let component = server
        .get("/api/catalog/entities/by-name/component/default/orders")
        .await;
    assert_eq!(component.status, 404);
}

async fn bad_requests_are_refused_before_any_job(backend: Backend) {
    let server = server(backend).await;
    let cases = [
        (json!({"inputs": {"port": 70000}}), 400, "invalid_inputs"),
        (json!({"owner": "team-nobody"}), 400, "unknown_owner"),
        (
            json!({"owner": "user:default/someone"}),
            400,
            "unknown_owner",
        ),
        (json!({"name": "Not A Name"}), 400, "invalid_request"),
        (
            json!({"template": "ecs-environment"}),
            400,
            "invalid_request",
        ),
        (
            json!({"template": "no-such-template"}),
            404,
            "template_not_found",
        ),
        (
            json!({"template": "web-service@7"}),
            404,
            "no_published_version",
        ),
    ];
    for (change, status, code) in cases {
        let mut body = request("billing");
        if let (Value::Object(body), Value::Object(change)) = (&mut body, change.clone()) {
            body.extend(change);
        }
        let refused = server.post("/api/services", body).await;
        assert_eq!(refused.status, status, "{change}: {}", refused.text);
        assert_eq!(
            refused.body["error"]["code"], code,
            "{change}: {}",
            refused.text
        );
    }
    let invalid = server
        .post("/api/services", {
            let mut body = request("billing");
            body["inputs"]["port"] = json!(70000);
            body
        })
        .await;
    assert_eq!(invalid.body["error"]["problems"][0]["field"], "/port");
    assert_eq!(invalid.body["error"]["problems"][0]["rule"], "maximum");
    let anonymous = server
        .post_anonymous("/api/services", request("billing"))
        .await;
    assert_eq!(anonymous.status, 401);
    // A repository URL with credentials is refused without storing or echoing them.
    for url in [
        "https://alice:s3cret-pass@git.example.com/shop/billing.git",
        "https://s3cret-pass@git.example.com/shop/billing.git",
    ] {
        let mut body = request("billing");
        body["repositoryUrl"] = json!(url);
        let refused = server.post("/api/services", body).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.body["error"]["code"], "invalid_request");
        assert!(!refused.text.contains("s3cret"), "{}", refused.text);
        assert!(
            refused
                .text
                .contains("https://git.example.com/shop/billing.git"),
            "{}",
            refused.text
        );
    }
    let audit = server.audit_log().await;
    assert!(
        audit
            .iter()
            .all(|event| !format!("{event:?}").contains("s3cret")),
        "a credential reached the audit log"
    );
    // Nothing was created by any of them.
    assert!(!server.data.dir.path().join("repositories").exists());
    let services = server.get("/api/services").await;
    assert_eq!(services.body["items"], json!([]));
    let jobs = server.get("/api/jobs").await;
    assert_eq!(jobs.body["items"], json!([]), "{}", jobs.text);
}

async fn a_failed_step_leaves_nothing_behind(backend: Backend) {
    let server = server(backend).await;
    // A remote whose `main` already has history: the push is refused (not a fast-forward).
    let remote = server.data.dir.path().join("remote.git");
    paved_git::init_bare(&remote).expect("a bare repository");
    paved_git::commit_files(
        &remote,
        "main",
        &[("README.md".to_owned(), b"someone else's\n".to_vec())],
        "first",
        "Someone",
        "someone@example.com",
    )
    .expect("commit");
    let mut body = request("ledger");
    body["repositoryUrl"] = json!(remote.display().to_string());
    let accepted = server.post("/api/services", body).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let task = accepted.body["jobId"]
        .as_str()
        .expect("a job id")
        .to_owned();
    let (logs, end) = follow(&server, &task).await;
    assert_eq!(end["state"], "failed", "{end}");
    let error = end["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("step `repository` failed"), "{error}");
    assert!(logs.iter().any(|log| log["level"] == "error"), "{logs:#?}");
    // Nothing remains: no repository, no entity, no service; the remote is untouched.
    assert!(
        !server
            .data
            .dir
            .path()
            .join("repositories/ledger.git")
            .exists()
    );
    let component = server
        .get("/api/catalog/entities/by-name/component/default/ledger")
        .await;
    assert_eq!(component.status, 404);
    let services = server.get("/api/services").await;
    assert_eq!(services.body["items"], json!([]));
    let (_, message) = paved_git::branch_tip(&remote, "main")
        .expect("the remote opens")
        .expect("main exists");
    assert_eq!(message, "first");
    // The name is free again.
    let retried = server.post("/api/services", request("ledger")).await;
    assert_eq!(retried.status, 202, "{}", retried.text);
    let task = retried.body["jobId"].as_str().expect("a job id").to_owned();
    let (_, end) = follow(&server, &task).await;
    assert_eq!(end["state"], "succeeded", "{end}");
}

async fn a_template_can_name_where_repositories_are_pushed(backend: Backend) {
    use base64::Engine as _;
    let server = server(backend).await;
    let remotes = server.data.dir.path().join("remotes");
    let manifest = format!(
        "apiVersion: paved.dev/v1\nkind: ServiceTemplate\nmetadata:\n  name: pushed\nspec:\n  \
         compatibleEnvironments:\n    - template: ecs-environment\n      major: 1\n  \
         repositoryUrl: '{}/{{{{ service.name }}}}.git'\n",
        remotes.display()
    );
    let files = vec![
        paved_template::bundle::BundleFile::new("paved-template.yaml", manifest),
        paved_template::bundle::BundleFile::new("schema.yaml", "type: object\nproperties: {}\n"),
        paved_template::bundle::BundleFile::new(
            "infrastructure/cloudformation.yaml",
            "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n",
        ),
        paved_template::bundle::BundleFile::new("skeleton/README.md", "# {{ service.name }}\n"),
    ];
    let archive = base64::engine::general_purpose::STANDARD
        .encode(paved_template_registry::source::pack_tar_gz(&files).expect("the bundle packs"));
    let registered = server
        .post(
            "/api/templates/versions",
            json!({"source": {"type": "archive", "data": archive}, "publish": true}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let remote = remotes.join("inventory.git");
    paved_git::init_bare(&remote).expect("the remote exists");

    let accepted = server
        .post(
            "/api/services",
            json!({"name": "inventory", "template": "pushed", "owner": "team-a"}),
        )
        .await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    assert_eq!(accepted.body["cloneUrl"], remote.display().to_string());
    let task = accepted.body["jobId"]
        .as_str()
        .expect("a job id")
        .to_owned();
    let (_, end) = follow(&server, &task).await;
    assert_eq!(end["state"], "succeeded", "{end}");
    let (_, message) = paved_git::branch_tip(&remote, "main")
        .expect("the remote opens")
        .expect("main was pushed");
    assert!(message.contains(&task), "{message}");
    let component = server
        .get("/api/catalog/entities/by-name/component/default/inventory")
        .await;
    assert_eq!(
        component.body["metadata"]["annotations"]["backstage.io/source-location"],
        format!("url:{}", remote.display())
    );
}

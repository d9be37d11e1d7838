//! Health, metrics, the OpenAPI document, validation, the audit log, restarts and replicas.

use paved_catalog::Catalog;
use paved_store::Store;
use paved_test::{Backend, TEST_TOKEN, TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{entity, exists, location_id, locations, refs, request, scrub};

const CATALOG: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: web
spec:
  type: website
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: api
spec:
  type: service
  lifecycle: production
  owner: team-a
"#;

async fn all_entities(server: &TestServer) -> Value {
    let response = server.get("/api/catalog/entities/by-query").await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["items"].clone()
}

async fn health_is_reported(backend: Backend) {
    let server = TestServer::start(backend).await;
    let health = server.get("/healthz").await;
    assert_eq!(health.status, 200, "{}", health.text);
    let store = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(health.body, json!({"status": "ok", "store": store}));

    // Once the store is gone, the server says so.
    server.store.close().await;
    let health = server.get("/healthz").await;
    assert_eq!(health.status, 503, "{}", health.text);
    assert_eq!(
        health.body,
        json!({"status": "unavailable", "store": store})
    );
}

/// The value of the sample `name` (with its labels, as written) in a Prometheus text.
#[track_caller]
fn sample(text: &str, name: &str) -> f64 {
    let line = text
        .lines()
        .find(|line| line.split_once(' ').is_some_and(|(key, _)| key == name))
        .unwrap_or_else(|| panic!("no sample `{name}` in:\n{text}"));
    line.rsplit(' ')
        .next()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("sample `{line}` has no value"))
}

async fn metrics_are_exposed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert_eq!(sample(&metrics.text, "paved_catalog_entities"), 0.0);

    let file = server.write("catalog-info.yaml", CATALOG);
    let id = location_id(&server.add_location("file", &file).await);
    for _ in 0..3 {
        assert_eq!(server.get("/healthz").await.status, 200);
    }
    assert_eq!(
        server
            .get("/api/catalog/entities/by-name/component/default/missing")
            .await
            .status,
        404
    );
    let refreshed = server
        .post("/api/catalog/refresh", json!({"locationId": id.as_str()}))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);

    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text.ends_with("# EOF\n"),
        "an OpenMetrics text: {}",
        metrics.text
    );
    let text = &metrics.text;
    assert!(
        text.contains("# TYPE paved_http_requests counter\n"),
        "{text}"
    );
    assert_eq!(sample(text, "paved_catalog_entities"), 3.0);
    assert_eq!(
        sample(
            text,
            r#"paved_http_requests_total{method="GET",route="/healthz",status="200"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(
            text,
            r#"paved_http_requests_total{method="GET",route="/api/catalog/entities/by-name/{kind}/{namespace}/{name}",status="404"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            text,
            r#"paved_http_requests_total{method="POST",route="/api/catalog/locations",status="201"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            text,
            r#"paved_http_request_duration_seconds_count{route="/healthz"}"#
        ),
        3.0
    );
    // Refreshes, not the first read at registration.
    assert_eq!(sample(text, "paved_catalog_refreshes_total"), 1.0);
    assert_eq!(sample(text, "paved_catalog_refresh_failures_total"), 0.0);
}

async fn openapi_document_describes_the_api(backend: Backend) {
    let server = TestServer::start(backend).await;
    let document = server.get("/api/openapi.json").await;
    assert_eq!(document.status, 200, "{}", document.text);
    assert!(
        document.body["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3."))
    );
    let paths: Vec<&str> = document.body["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    for expected in [
        "/api/catalog/entities",
        "/api/catalog/entities/by-query",
        "/api/catalog/entities/by-name/{kind}/{namespace}/{name}",
        "/api/catalog/entities/by-uid/{uid}",
        "/api/catalog/entities/by-refs",
        "/api/catalog/entity-facets",
        "/api/catalog/refresh",
        "/api/catalog/validate-entity",
        "/api/catalog/locations",
        "/api/catalog/locations/{id}",
        "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}",
    ] {
        assert!(
            paths.contains(&expected),
            "`{expected}` missing from {paths:?}"
        );
    }
    let by_query = &document.body["paths"]["/api/catalog/entities/by-query"];
    assert!(by_query["get"].is_object() && by_query["post"].is_object());
    assert_eq!(
        document.body["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer"})
    );
    // Every documented path is served: none answers with the router's bare 404.
    for path in &paths {
        let concrete = path
            .replace("{kind}", "component")
            .replace("{namespace}", "default")
            .replace("{name}", "x")
            .replace("{uid}", "x")
            .replace("{id}", "x");
        let response = server.get(&concrete).await;
        assert!(
            response.body["error"]["code"] != "route_not_found",
            "`{concrete}` is not routed: {} {}",
            response.status,
            response.text
        );
    }
}

/// The document declares every answer a route can give (the HTTP layer's errors included,
/// so schemathesis' conformance checks hold; `.ci/schemathesis` runs them), the bounds of
/// path parameters, and the system routes.
async fn openapi_document_declares_every_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let document = server.get("/api/openapi.json").await.body;
    let paths = document["paths"].as_object().expect("paths");
    for system in ["/healthz", "/metrics", "/api/openapi.json"] {
        assert!(paths[system]["get"].is_object(), "`{system}` is documented");
    }
    assert_eq!(
        paths["/healthz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/Health"})
    );
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("an item") {
            operations += 1;
            let responses = operation["responses"].as_object().expect("responses");
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let has_body = operation.get("requestBody").is_some();
            let mut expected = vec!["408", "500"];
            if has_body || !parameters.is_empty() {
                expected.push("400");
            }
            if has_body {
                expected.push("413");
            }
            if operation.get("security").is_some() {
                expected.push("401");
            }
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not declare {status}: {:?}",
                    responses.keys().collect::<Vec<_>>()
                );
            }
            for parameter in parameters
                .iter()
                .filter(|parameter| parameter["in"] == "path")
            {
                assert_eq!(
                    parameter["schema"]["minLength"], 1,
                    "{method} {path}: {parameter}"
                );
            }
        }
    }
    assert!(operations >= 44, "{operations} operations");
    // A route that answers Backstage's own shape for 400 may also answer the envelope.
    assert_eq!(
        paths["/api/catalog/validate-entity"]["post"]["responses"]["400"]["content"]
            ["application/json"]["schema"]["oneOf"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

async fn validates_entities(backend: Backend) {
    let server = TestServer::start(backend).await;
    let valid = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "web", "tags": ["frontend"]},
        "spec": {"type": "website", "lifecycle": "production", "owner": "group:default/team-a"},
    });
    let response = server
        .post(
            "/api/catalog/validate-entity",
            json!({"entity": valid, "location": "url:https://example.com/catalog-info.yaml"}),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body, json!({}));

    let invalid = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "bad name", "tags": ["Not-A-Tag"]},
        "spec": {"type": "website", "owner": 5},
        "extra": true,
    });
    let response = server
        .post("/api/catalog/validate-entity", json!({"entity": invalid}))
        .await;
    assert_eq!(response.status, 400, "{}", response.text);
    let rules: Vec<&str> = response.body["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|problem| problem["rule"].as_str())
        .collect();
    assert_eq!(
        rules,
        [
            "unknown-field",
            "name-format",
            "tag-format",
            "required",
            "type"
        ]
    );
    assert_eq!(
        response.body["errors"].as_array().map(Vec::len),
        Some(rules.len()),
        "one error per problem"
    );
    insta::assert_json_snapshot!("validate_entity_invalid", response.body);

    // References are checked only once the entity is otherwise valid, as a location does,
    // and as Backstage's reference parser checks them: the shape only.
    let bad_reference = json!({"entity": {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "web"},
        "spec": {"type": "website", "lifecycle": "production", "owner": "group:/x"},
    }});
    let response = server
        .post("/api/catalog/validate-entity", bad_reference)
        .await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.body["problems"][0]["rule"], "reference");
    assert_eq!(response.body["problems"][0]["field"], "spec.owner");

    let response = server
        .post("/api/catalog/validate-entity", json!({"entity": "web"}))
        .await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.body["problems"][0]["rule"], "not-an-entity");
    let response = server
        .post("/api/catalog/validate-entity", json!({"nothing": 1}))
        .await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.body["error"]["code"], "invalid_body");
    // Nothing was stored.
    assert_eq!(all_entities(&server).await, json!([]));
}

async fn mutations_are_audited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write("catalog-info.yaml", CATALOG);
    let body = json!({"type": "file", "target": file.display().to_string()});

    let statuses = [
        server
            .post_anonymous("/api/catalog/locations", body.clone())
            .await
            .status,
        server
            .post("/api/catalog/locations?dryRun=true", body.clone())
            .await
            .status,
    ];
    assert_eq!(statuses, [401, 200]);
    let id = location_id(&server.add_location("file", &file).await);
    let location = format!("/api/catalog/locations/{}", id.as_str());
    let statuses = [
        server
            .post("/api/catalog/locations", body.clone())
            .await
            .status,
        server
            .post("/api/catalog/refresh", json!({"locationId": id.as_str()}))
            .await
            .status,
        server
            .post(
                "/api/catalog/refresh",
                json!({"entityRef": "component:default/web"}),
            )
            .await
            .status,
        server
            .post_anonymous("/api/catalog/refresh", json!({"locationId": id.as_str()}))
            .await
            .status,
        request(&server, Method::DELETE, &location, None, None)
            .await
            .status,
        server.delete(&location).await.status,
        server.delete(&location).await.status,
    ];
    assert_eq!(statuses, [409, 200, 200, 401, 401, 204, 404]);

    let events = server.audit_log().await;
    let mut lines: Vec<String> = events
        .iter()
        .map(|event| {
            assert!(event.at > 0, "{event:?}");
            format!(
                "{} {} {}:{} {}",
                event.principal,
                event.action,
                event.resource_kind,
                event.resource_name,
                event.outcome
            )
            .replace(&file.display().to_string(), "[FILE]")
            .replace(id.as_str(), "[ID]")
        })
        .collect();
    lines.reverse();
    let refused = "refused: authentication required: send `Authorization: Bearer <token>`";
    assert_eq!(
        lines,
        [
            format!("anonymous location.create route:/api/catalog/locations {refused}"),
            "admin location.analyze location:file:[FILE] ok".to_owned(),
            "admin location.create location:file:[FILE] ok".to_owned(),
            "admin location.create location:file:[FILE] error: location_exists: a location of type `file` with target `[FILE]` already exists".to_owned(),
            "admin catalog.refresh location:[ID] ok".to_owned(),
            "admin catalog.refresh location:component:default/web ok".to_owned(),
            format!("anonymous catalog.refresh route:/api/catalog/refresh {refused}"),
            format!("anonymous location.delete route:/api/catalog/locations/[ID] {refused}"),
            "admin location.delete location:[ID] ok".to_owned(),
            "admin location.delete location:[ID] error: location_not_found: location `[ID]` not found".to_owned(),
        ]
    );
    // A change's record says what it changed.
    let created = events
        .iter()
        .find(|event| event.action == "location.create" && event.outcome == "ok")
        .expect("the location's record");
    let details: serde_json::Value = serde_json::from_str(&created.details).expect("JSON details");
    assert_eq!(details["written"], 3, "{details}");

    // Reads are not audited.
    server.get("/api/catalog/locations").await;
    server.get("/api/catalog/entities/by-query").await;
    let after = server.audit_log().await;
    assert_eq!(after.len(), events.len());
}

async fn state_survives_a_restart(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write("catalog-info.yaml", CATALOG);
    server.write(
        "more/a/catalog-info.yaml",
        &CATALOG
            .replace("name: web", "name: more-web")
            .replace("name: api", "name: more-api")
            .replace("name: team-a\nspec", "name: team-b\nspec"),
    );
    server.add_location("file", &file).await;
    let glob = server
        .add_location("file", &server.data.path("more/*/catalog-info.yaml"))
        .await;
    let entities = all_entities(&server).await;
    assert_eq!(entities.as_array().map(Vec::len), Some(6));
    let listed = server.get("/api/catalog/locations").await.body;

    let server = server.restart().await;
    assert_eq!(
        all_entities(&server).await,
        entities,
        "same entities, uids and etags"
    );
    assert_eq!(server.get("/api/catalog/locations").await.body, listed);
    let web = entity(&server, "component/default/web").await;
    let uid = web["metadata"]["uid"].as_str().expect("a uid");
    assert_eq!(
        server
            .get(&format!("/api/catalog/entities/by-uid/{uid}"))
            .await
            .body,
        web
    );

    // The admin token still works, and a refresh finds nothing changed.
    let refreshed = server
        .post(
            "/api/catalog/refresh",
            json!({"locationId": location_id(&glob).as_str()}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(
        refreshed.body,
        json!({"written": 0, "unchanged": 3, "orphaned": 0, "deleted": 0, "problems": []})
    );
    assert_eq!(all_entities(&server).await, entities);
    // And the location is still known as registered.
    let again = server
        .post(
            "/api/catalog/locations",
            json!({"type": "file", "target": file.display().to_string()}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
}

/// The entity a replica's catalog renders, parsed.
fn rendered(catalog: &Catalog, entity_ref: &str) -> Option<Value> {
    catalog
        .entity_by_ref(entity_ref)
        .map(|text| serde_json::from_str(&text).expect("entities render as JSON"))
}

async fn replicas_follow_each_other(backend: Backend) {
    let server = TestServer::start(backend).await;
    let store = Store::open(&server.data.store_config())
        .await
        .expect("a second connection to the store");
    let replica = Catalog::open(store, server.data.catalog_config())
        .await
        .expect("a second catalog");

    // A location registered through the server appears in the replica once it catches up.
    let file = server.write("catalog-info.yaml", CATALOG);
    let id = location_id(&server.add_location("file", &file).await);
    assert_eq!(replica.index().len(), 0, "not before catching up");
    replica.catch_up().await.expect("catch up");
    let web = entity(&server, "component/default/web").await;
    assert_eq!(rendered(&replica, "component:default/web"), Some(web));
    assert_eq!(
        rendered(&replica, "group:default/team-a"),
        Some(entity(&server, "group/default/team-a").await),
        "with the same relations"
    );
    let replica_locations = replica.locations().await.expect("locations");
    assert_eq!(
        replica_locations
            .iter()
            .map(|location| location.id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );

    // Changes and removals follow too: `api` orphaned, then deleted.
    server.write(
        "catalog-info.yaml",
        &CATALOG[..CATALOG.rfind("---\n").expect("documents")],
    );
    server
        .catalog
        .refresh_location(
            &id,
            &paved_store::Mutation::new(&paved_test::admin_record(
                paved_model::access::Action::RefreshCatalog,
                paved_model::access::ResourceKind::Location,
                "test",
            )),
        )
        .await
        .expect("refresh");
    replica.catch_up().await.expect("catch up");
    assert_eq!(
        rendered(&replica, "component:default/api")
            .map(|api| api["metadata"]["annotations"]["backstage.io/orphan"].clone()),
        Some(json!("true"))
    );
    server
        .catalog
        .refresh_location(
            &id,
            &paved_store::Mutation::new(&paved_test::admin_record(
                paved_model::access::Action::RefreshCatalog,
                paved_model::access::ResourceKind::Location,
                "test",
            )),
        )
        .await
        .expect("refresh");
    replica.catch_up().await.expect("catch up");
    assert_eq!(rendered(&replica, "component:default/api"), None);
    assert!(
        !rendered(&replica, "group:default/team-a").expect("the group")["relations"]
            .to_string()
            .contains("component:default/api"),
        "the reverse relation went with it"
    );

    // The other way round: a refresh by the replica reaches the server at its catch-up.
    server.write("catalog-info.yaml", CATALOG);
    replica
        .refresh_location(
            &id,
            &paved_store::Mutation::new(&paved_test::admin_record(
                paved_model::access::Action::RefreshCatalog,
                paved_model::access::ResourceKind::Location,
                "test",
            )),
        )
        .await
        .expect("refresh");
    assert!(rendered(&replica, "component:default/api").is_some());
    assert!(!exists(&server, "component/default/api").await);
    server.catalog.catch_up().await.expect("catch up");
    assert!(exists(&server, "component/default/api").await);

    // Removing the location empties both.
    let deleted = server
        .delete(&format!("/api/catalog/locations/{}", id.as_str()))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    replica.catch_up().await.expect("catch up");
    assert_eq!(replica.index().len(), 0);
    assert!(replica.locations().await.expect("locations").is_empty());
    assert_eq!(refs(&all_entities(&server).await), Vec::<String>::new());
    assert_eq!(locations(&server).await, Vec::<String>::new());
    replica.store().close().await;
}

/// A request with a token that is not the admin's is refused, and the attempt is audited.
async fn wrong_tokens_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write("catalog-info.yaml", CATALOG);
    let body = json!({"type": "file", "target": file.display().to_string()});
    for token in ["pvd_wrong", "", &TEST_TOKEN[..TEST_TOKEN.len() - 1]] {
        let response = request(
            &server,
            Method::POST,
            "/api/catalog/locations",
            Some(token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(response.status, 401, "token `{token}`: {}", response.text);
        assert_eq!(response.body["error"]["code"], "invalid_token");
    }
    let accepted = request(
        &server,
        Method::POST,
        "/api/catalog/locations",
        Some(TEST_TOKEN),
        Some(body),
    )
    .await;
    assert_eq!(accepted.status, 201, "{}", accepted.text);
    let events = server.audit_log().await;
    let lines: Vec<String> = events
        .iter()
        .rev()
        .map(|event| {
            format!(
                "{} {}",
                event.principal,
                scrub(&server, &json!(event.outcome))
            )
        })
        .collect();
    let refusal = r#"anonymous "refused: the token is not valid: send the admin token as `Authorization: Bearer <token>`""#;
    assert_eq!(lines, [refusal, refusal, refusal, r#"admin "ok""#]);
}

/// A component to append to [`CATALOG`].
const LATER: &str = "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: later\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n";

/// Registers `file` as a location of `catalog` directly, as the admin.
async fn add_file_location(catalog: &Catalog, file: &std::path::Path) {
    catalog
        .add_location(
            "file",
            &file.display().to_string(),
            false,
            &paved_store::Mutation::new(&paved_test::admin_record(
                paved_model::access::Action::CreateLocation,
                paved_model::access::ResourceKind::Location,
                "test",
            )),
        )
        .await
        .expect("registered");
}

/// The background loop reads a due location again by itself, without any request.
async fn the_schedule_refreshes_due_locations(backend: Backend) {
    let server = TestServer::start(backend).await;
    let store = Store::open(&server.data.store_config())
        .await
        .expect("a second connection to the store");
    let config = paved_catalog::CatalogConfig {
        refresh_interval: std::time::Duration::from_secs(1),
        ..server.data.catalog_config()
    };
    let replica = Catalog::open(store, config)
        .await
        .expect("a catalog with a one-second schedule");
    let file = server.write("catalog-info.yaml", CATALOG);
    add_file_location(&replica, &file).await;
    server.write("catalog-info.yaml", &format!("{CATALOG}{LATER}"));
    assert!(
        replica.entity_by_ref("component:default/later").is_none(),
        "not before the next refresh"
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let replica = replica.clone();
        async move { replica.run(async move { drop(stopped.await) }).await }
    });
    let mut revisions = replica.watch_revision();
    let appeared = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        revisions.wait_for(|_| replica.entity_by_ref("component:default/later").is_some()),
    )
    .await;
    assert!(
        matches!(appeared, Ok(Ok(_))),
        "the scheduled refresh did not pick up the new entity"
    );
    let _ = stop.send(());
    running.await.expect("the loop stops when asked");
    replica.store().close().await;
}

/// The refresh loop's own change, deleting an orphan, is audited as the loop's principal, in
/// the deletion's transaction.
async fn orphan_deletion_is_audited_as_the_refresh_loop(backend: Backend) {
    let data = paved_test::TestData::new(backend).await;
    let store = Store::open(&data.store_config())
        .await
        .expect("open the store");
    let config = paved_catalog::CatalogConfig {
        // Always due, no grace: each `refresh_due` is one scheduled round.
        refresh_interval: std::time::Duration::ZERO,
        orphan_grace: std::time::Duration::ZERO,
        ..data.catalog_config()
    };
    let catalog = Catalog::open(store.clone(), config)
        .await
        .expect("open the catalog");
    let file = data.path("catalog-info.yaml");
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("input directory");
    std::fs::write(&file, format!("{CATALOG}{LATER}")).expect("write the file");
    add_file_location(&catalog, &file).await;
    assert!(catalog.entity_by_ref("component:default/later").is_some());

    std::fs::write(&file, CATALOG).expect("rewrite the file");
    catalog
        .refresh_due()
        .await
        .expect("a round that flags the orphan");
    assert!(catalog.entity_by_ref("component:default/later").is_some());
    catalog
        .refresh_due()
        .await
        .expect("a round that deletes it");
    assert!(catalog.entity_by_ref("component:default/later").is_none());

    let deletions = store
        .audit_events(&paved_store::AuditFilter {
            action: Some("catalog.delete-orphans".to_owned()),
            limit: 10,
            ..paved_store::AuditFilter::default()
        })
        .await
        .expect("read the audit log");
    assert_eq!(deletions.len(), 1, "{deletions:#?}");
    assert_eq!(deletions[0].principal, "system:catalog-refresh");
    assert_eq!(deletions[0].outcome, "ok");
    assert!(
        deletions[0].details.contains("component:default/later"),
        "{}",
        deletions[0].details
    );
    // The rounds that only read or flagged wrote no audit event of their own.
    let all = store
        .audit_events(&paved_store::AuditFilter {
            limit: 100,
            ..paved_store::AuditFilter::default()
        })
        .await
        .expect("read the audit log");
    assert_eq!(all.len(), 2, "the registration and the deletion: {all:#?}");
    store.close().await;
}

both_backends!(
    orphan_deletion_is_audited_as_the_refresh_loop,
    the_schedule_refreshes_due_locations,
    health_is_reported,
    metrics_are_exposed,
    openapi_document_describes_the_api,
    openapi_document_declares_every_answer,
    validates_entities,
    mutations_are_audited,
    state_survives_a_restart,
    replicas_follow_each_other,
    wrong_tokens_are_refused,
);

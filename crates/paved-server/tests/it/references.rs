//! References as Backstage reads them (issue 19): the starter app's `catalog-info.yaml`
//! (owner `john@example.com`) loads, with a warning that names the rule, and its relation is
//! emitted as Backstage emits it.

use paved_test::{Backend, TestServer, both_backends};
use serde_json::json;

use crate::common::{entity, relations};

async fn the_starter_app_loads_with_a_warning(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write(
        "catalog-info.yaml",
        paved_test::backstage::STARTER_APP_CATALOG_INFO,
    );
    let added = server.add_location("file", &file).await;
    assert_eq!(
        added.body["entityRefs"],
        json!(["component:default/backstage"])
    );
    let problems = &added.body["problems"];
    assert_eq!(problems.as_array().map(Vec::len), Some(1), "{problems}");
    assert_eq!(problems[0]["severity"], "warning");
    assert_eq!(problems[0]["rule"], "reference-format");
    assert_eq!(problems[0]["field"], "spec.owner");
    assert_eq!(problems[0]["line"], 12);
    let component = entity(&server, "component/default/backstage").await;
    assert_eq!(
        relations(&component),
        ["ownedBy group:default/john@example.com"]
    );
    // The entity is found by the relation's target as Backstage writes it.
    let owned = server
        .get("/api/catalog/entities/by-query?filter=relations.ownedBy=group:default/john@example.com")
        .await;
    assert_eq!(owned.body["totalItems"], 1, "{}", owned.text);
}

both_backends!(the_starter_app_loads_with_a_warning);

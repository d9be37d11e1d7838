//! The first end-to-end path: register a file, read its entities back with relations.

use paved_test::{Backend, TestServer, both_backends};

async fn registers_a_file_and_serves_its_entities(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write(
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n",
    );
    server.add_location("file", &file).await;
    let group = server
        .get("/api/catalog/entities/by-name/group/default/team-a")
        .await;
    assert_eq!(group.status, 200, "{}", group.text);
    assert_eq!(
        group.body["relations"],
        serde_json::json!([{"type": "ownerOf", "targetRef": "component:default/web"}])
    );
    let server = server.restart().await;
    let query = server
        .get("/api/catalog/entities/by-query?filter=kind=component")
        .await;
    assert_eq!(query.body["totalItems"], 1, "{}", query.text);
}

both_backends!(registers_a_file_and_serves_its_entities);

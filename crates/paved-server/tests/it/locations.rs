//! Registering, reading, refreshing and removing locations, and how bad input is reported.

use std::time::Duration;

use paved_test::{Backend, TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{entity, exists, location_id, locations, refs, request, scrub, strings};

/// A catalog file with one Component per name, owned by `team-a`.
fn components(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The entity references in the catalog, in order.
async fn catalog_refs(server: &TestServer) -> Vec<String> {
    let response = server.get("/api/catalog/entities/by-query").await;
    assert_eq!(response.status, 200, "{}", response.text);
    refs(&response.body["items"])
}

/// A location's problems as `file doc N line L field F rule R`, the data directory scrubbed.
async fn problems(server: &TestServer, id: &str) -> Vec<String> {
    let location = server.get(&format!("/api/catalog/locations/{id}")).await;
    assert_eq!(location.status, 200, "{}", location.text);
    problem_lines(&scrub(server, &location.body["problems"]))
}

fn problem_lines(problems: &Value) -> Vec<String> {
    problems
        .as_array()
        .unwrap_or_else(|| panic!("problems are an array: {problems}"))
        .iter()
        .map(|problem| {
            let part = |key: &str| match &problem[key] {
                Value::Null => "-".to_owned(),
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            format!(
                "{} doc {} line {} field {} rule {}",
                part("file"),
                part("documentIndex"),
                part("line"),
                part("field"),
                part("rule")
            )
        })
        .collect()
}

async fn refresh(server: &TestServer, id: &str) -> Value {
    let response = server
        .post("/api/catalog/refresh", json!({"locationId": id}))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body
}

async fn registers_a_single_file(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write("catalog-info.yaml", &components(&["web"]));
    let added = server.add_location("file", &file).await;
    insta::assert_json_snapshot!("single_file_added", scrub(&server, &added.body), {
        ".location.id" => "[id]",
        ".location.refreshedAt" => "[time]",
        ".location.nextRefreshAt" => "[time]",
        ".entities[].metadata.uid" => "[uid]",
        ".entities[].metadata.etag" => "[etag]",
    });
    let id = location_id(&added);
    // As in Backstage, the entities are read from the catalog; the response names them.
    assert_eq!(added.body["entities"], json!([]));
    assert_eq!(added.body["entityRefs"], json!(["component:default/web"]));
    assert_eq!(
        entity(&server, "component/default/web").await["metadata"]["name"],
        "web"
    );

    // Listed, readable by id, and found from its entities.
    assert_eq!(
        locations(&server).await,
        ["file [DATA]/input/catalog-info.yaml"]
    );
    let listed = server.get("/api/catalog/locations").await;
    assert_eq!(listed.body, json!([{"data": added.body["location"]}]));
    let by_id = server
        .get(&format!("/api/catalog/locations/{}", id.as_str()))
        .await;
    assert_eq!(by_id.body, added.body["location"]);
    let by_entity = server
        .get("/api/catalog/locations/by-entity/Component/default/WEB")
        .await;
    assert_eq!(by_entity.body, added.body["location"]);

    // The same file again, written another way (relative targets start at the working
    // directory): refused, nothing added.
    let again = server
        .post(
            "/api/catalog/locations",
            json!({"type": "file", "target": "input/./sub/../catalog-info.yaml"}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    insta::assert_json_snapshot!("location_exists", scrub(&server, &again.body));
    assert_eq!(locations(&server).await.len(), 1);
}

async fn registers_a_directory_glob(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.write("repos/a/catalog-info.yaml", &components(&["a"]));
    server.write("repos/b/catalog-info.yaml", &components(&["b1", "b2"]));
    server.write("repos/c/other.yaml", &components(&["not-matched"]));
    server.write("repos/catalog-info.yaml", &components(&["not-nested"]));
    let added = server
        .add_location("file", &server.data.path("repos/*/catalog-info.yaml"))
        .await;
    assert_eq!(added.body["problems"], json!([]));
    assert_eq!(
        strings(&added.body["entityRefs"]),
        [
            "component:default/a",
            "component:default/b1",
            "component:default/b2"
        ]
    );
    assert_eq!(
        entity(&server, "component/default/b2").await["metadata"]["annotations"],
        json!({
            "backstage.io/managed-by-location": format!("file:{}", server.data.path("repos/b/catalog-info.yaml").display()),
            "backstage.io/managed-by-origin-location": format!("file:{}", server.data.path("repos/*/catalog-info.yaml").display()),
        })
    );

    // A new directory is picked up at the next refresh; the others are left as they are.
    server.write("repos/d/catalog-info.yaml", &components(&["d"]));
    let outcome = refresh(&server, location_id(&added).as_str()).await;
    assert_eq!(
        outcome,
        json!({"written": 1, "unchanged": 3, "orphaned": 0, "deleted": 0, "problems": []})
    );
    assert_eq!(
        catalog_refs(&server).await,
        [
            "component:default/a",
            "component:default/b1",
            "component:default/b2",
            "component:default/d",
        ]
    );
}

async fn registers_a_git_repository(backend: Backend) {
    let server = TestServer::start(backend).await;
    let repository = server.data.path("repos/shop.git");
    paved_git::init_bare(&repository).expect("a bare repository");
    let commit = |files: &[(&str, String)], message: &str| {
        let files: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(path, text)| ((*path).to_owned(), text.clone().into_bytes()))
            .collect();
        paved_git::commit_files(
            &repository,
            "main",
            &files,
            message,
            "Test",
            "test@example.com",
        )
        .expect("a commit");
    };
    commit(
        &[
            ("catalog-info.yaml", components(&["shop"])),
            ("docs/readme.yaml", components(&["not-a-catalog-file"])),
        ],
        "first",
    );
    let target = format!("{}#ref=main", repository.display());
    let added = server
        .post(
            "/api/catalog/locations",
            json!({"type": "git", "target": target}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.body["location"]["type"], "git");
    assert_eq!(added.body["location"]["target"], target);
    assert_eq!(
        strings(&added.body["entityRefs"]),
        ["component:default/shop"]
    );
    let shop = entity(&server, "component/default/shop").await;
    assert_eq!(
        shop["metadata"]["annotations"]["backstage.io/managed-by-location"],
        format!("git:{}#path=catalog-info.yaml", repository.display())
    );
    assert_eq!(
        shop["metadata"]["annotations"]["backstage.io/managed-by-origin-location"],
        format!("git:{target}")
    );

    // A new commit: a changed entity and a new nested catalog file, read at the next refresh.
    commit(
        &[
            (
                "catalog-info.yaml",
                components(&["shop"]).replace("lifecycle: production", "lifecycle: deprecated"),
            ),
            ("services/cart/catalog-info.yaml", components(&["cart"])),
        ],
        "second",
    );
    assert_eq!(
        catalog_refs(&server).await,
        ["component:default/shop"],
        "nothing changes before the refresh"
    );
    let outcome = refresh(&server, location_id(&added).as_str()).await;
    assert_eq!(
        (&outcome["written"], &outcome["problems"]),
        (&json!(2), &json!([]))
    );
    assert_eq!(
        catalog_refs(&server).await,
        ["component:default/cart", "component:default/shop"]
    );
    let updated = entity(&server, "component/default/shop").await;
    assert_eq!(updated["spec"]["lifecycle"], "deprecated");
    assert_eq!(
        updated["metadata"]["uid"], shop["metadata"]["uid"],
        "same uid"
    );
    assert_ne!(
        updated["metadata"]["etag"], shop["metadata"]["etag"],
        "new etag"
    );

    // Backstage's refresh by entity reference reads the entity's location.
    commit(
        &[(
            "services/cart/catalog-info.yaml",
            components(&["cart", "cart-worker"]),
        )],
        "third",
    );
    let outcome = server
        .post(
            "/api/catalog/refresh",
            json!({"entityRef": "Component:default/Cart"}),
        )
        .await;
    assert_eq!(outcome.status, 200, "{}", outcome.text);
    assert_eq!(outcome.body["written"], 1);
    assert!(exists(&server, "component/default/cart-worker").await);
}

const ALL_YAML: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: root
spec:
  targets:
    - ./a.yaml
    - ./b.yaml
"#;

async fn follows_location_entities(backend: Backend) {
    let server = TestServer::start(backend).await;
    let all = server.write("workload/all.yaml", ALL_YAML);
    server.write("workload/a.yaml", &components(&["a1", "a2"]));
    server.write("workload/b.yaml", &components(&["b1"]));
    server.write("outside.yaml", &components(&["outside"]));
    let added = server.add_location("file", &all).await;
    let id = location_id(&added);
    assert_eq!(added.body["problems"], json!([]));
    assert_eq!(
        catalog_refs(&server).await,
        [
            "component:default/a1",
            "component:default/a2",
            "component:default/b1",
            "location:default/root",
        ]
    );
    let a1 = entity(&server, "component/default/a1").await;
    assert_eq!(
        scrub(&server, &a1["metadata"]["annotations"]),
        json!({
            "backstage.io/managed-by-location": "file:[DATA]/input/workload/a.yaml",
            "backstage.io/managed-by-origin-location": "file:[DATA]/input/workload/all.yaml",
        })
    );

    // A target removed from the Location: its entities are orphaned, then deleted.
    server.write(
        "workload/all.yaml",
        &ALL_YAML.replace("    - ./b.yaml\n", ""),
    );
    let first = refresh(&server, id.as_str()).await;
    assert_eq!(
        (&first["orphaned"], &first["deleted"]),
        (&json!(1), &json!(0))
    );
    let second = refresh(&server, id.as_str()).await;
    assert_eq!(
        (&second["orphaned"], &second["deleted"]),
        (&json!(0), &json!(1))
    );
    assert!(!exists(&server, "component/default/b1").await);

    // Targets that leave the location's directory or match nothing are reported on the
    // Location's document; the other targets are still read.
    server.write(
        "workload/all.yaml",
        &ALL_YAML.replace(
            "    - ./b.yaml\n",
            "    - ../outside.yaml\n    - ./missing.yaml\n",
        ),
    );
    let outcome = refresh(&server, id.as_str()).await;
    assert_eq!(
        problem_lines(&scrub(&server, &outcome["problems"])),
        [
            "[DATA]/input/workload/all.yaml doc 0 line 8 field spec.targets[1] rule path-escape",
            "[DATA]/input/workload/all.yaml doc 0 line 9 field spec.targets[2] rule not-found",
        ]
    );
    insta::assert_json_snapshot!(
        "location_target_problems",
        scrub(&server, &outcome["problems"])
    );
    assert!(!exists(&server, "component/default/outside").await);
    assert_eq!(
        catalog_refs(&server).await,
        [
            "component:default/a1",
            "component:default/a2",
            "location:default/root",
        ]
    );
}

async fn dry_runs_store_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write("catalog-info.yaml", &components(&["web"]));
    let body = json!({"type": "file", "target": file.display().to_string()});

    let anonymous = server
        .post_anonymous("/api/catalog/locations?dryRun=true", body.clone())
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert_eq!(anonymous.body["error"]["code"], "unauthenticated");

    let dry = server
        .post("/api/catalog/locations?dryRun=true", body.clone())
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    insta::assert_json_snapshot!("dry_run", scrub(&server, &dry.body), {
        ".location.id" => "[id]",
        ".location.nextRefreshAt" => "[time]",
    });
    assert_eq!(locations(&server).await, Vec::<String>::new());
    assert!(!exists(&server, "component/default/web").await);
    assert_eq!(catalog_refs(&server).await, Vec::<String>::new());

    // Once registered, a dry run says so, and still adds nothing.
    server.add_location("file", &file).await;
    let dry = server
        .post("/api/catalog/locations?dryRun=true", body)
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.body["exists"], true);
    assert_eq!(locations(&server).await.len(), 1);
}

async fn refuses_unauthenticated_mutations(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write("catalog-info.yaml", &components(&["web"]));
    let body = json!({"type": "file", "target": file.display().to_string()});

    let anonymous = server
        .post_anonymous("/api/catalog/locations", body.clone())
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    insta::assert_json_snapshot!("unauthenticated", anonymous.body);
    let wrong_token = request(
        &server,
        Method::POST,
        "/api/catalog/locations",
        Some("pvd_wrong"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(wrong_token.status, 401, "{}", wrong_token.text);
    assert_eq!(wrong_token.body["error"]["code"], "invalid_token");
    assert_eq!(locations(&server).await, Vec::<String>::new());
    assert!(!exists(&server, "component/default/web").await);

    // Nor may anonymous callers refresh or remove a location.
    let id = location_id(&server.add_location("file", &file).await);
    let refresh = server
        .post_anonymous("/api/catalog/refresh", json!({"locationId": id.as_str()}))
        .await;
    assert_eq!(refresh.status, 401, "{}", refresh.text);
    let delete = request(
        &server,
        Method::DELETE,
        &format!("/api/catalog/locations/{}", id.as_str()),
        None,
        None,
    )
    .await;
    assert_eq!(delete.status, 401, "{}", delete.text);
    assert_eq!(locations(&server).await.len(), 1);
    assert!(exists(&server, "component/default/web").await);
}

async fn deleting_a_location_removes_its_entities(backend: Backend) {
    let server = TestServer::start(backend).await;
    let kept = server.write("kept.yaml", &components(&["kept"]));
    let removed = server.write("removed.yaml", &components(&["gone-1", "gone-2"]));
    server.add_location("file", &kept).await;
    let id = location_id(&server.add_location("file", &removed).await);
    let path = format!("/api/catalog/locations/{}", id.as_str());

    let deleted = server.delete(&path).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(deleted.text, "");
    assert_eq!(catalog_refs(&server).await, ["component:default/kept"]);
    assert!(!exists(&server, "component/default/gone-1").await);
    assert_eq!(locations(&server).await, ["file [DATA]/input/kept.yaml"]);

    let read = server.get(&path).await;
    assert_eq!(read.status, 404, "{}", read.text);
    let again = server.delete(&path).await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert_eq!(again.body, read.body);
    insta::assert_json_snapshot!("location_not_found", again.body, {
        ".error.message" => "[message]",
    });
    assert_eq!(
        again.body["error"]["message"],
        format!("location `{}` not found", id.as_str())
    );
    let refresh = server
        .post("/api/catalog/refresh", json!({"locationId": id.as_str()}))
        .await;
    assert_eq!(refresh.status, 404, "{}", refresh.text);
    assert_eq!(refresh.body["error"]["code"], "location_not_found");
}

async fn an_entity_belongs_to_its_first_location(backend: Backend) {
    let server = TestServer::start(backend).await;
    let first = server.write(
        "first.yaml",
        &components(&["shared", "first-only"]).replacen(
            "lifecycle: production",
            "lifecycle: first",
            1,
        ),
    );
    let second = server.write(
        "second.yaml",
        &components(&["second-only", "shared"]).replace(
            "lifecycle: production\n  owner: team-a\n",
            "lifecycle: second\n  owner: team-a\n",
        ),
    );
    let first_id = location_id(&server.add_location("file", &first).await);
    let shared = entity(&server, "component/default/shared").await;
    let added = server.add_location("file", &second).await;
    let second_id = location_id(&added);
    assert_eq!(
        problem_lines(&scrub(&server, &added.body["problems"])),
        ["[DATA]/input/second.yaml doc 1 line - field metadata.name rule conflict"]
    );
    assert_eq!(
        added.body["problems"][0]["message"],
        format!(
            "entity `component:default/shared` is already provided by location `{}`; this location's copy is ignored",
            first_id.as_str()
        )
    );
    assert_eq!(
        strings(&added.body["entityRefs"]),
        ["component:default/second-only"]
    );
    assert_eq!(
        problems(&server, second_id.as_str()).await,
        ["[DATA]/input/second.yaml doc 1 line - field metadata.name rule conflict"]
    );
    // Refreshing either location leaves the first copy as it was.
    refresh(&server, second_id.as_str()).await;
    refresh(&server, first_id.as_str()).await;
    assert_eq!(entity(&server, "component/default/shared").await, shared);
    assert_eq!(shared["spec"]["lifecycle"], "first");

    // Once the first location is gone, the second one's copy is read at its next refresh.
    assert_eq!(
        server
            .delete(&format!("/api/catalog/locations/{}", first_id.as_str()))
            .await
            .status,
        204
    );
    assert!(!exists(&server, "component/default/shared").await);
    let outcome = refresh(&server, second_id.as_str()).await;
    assert_eq!(outcome["problems"], json!([]));
    let taken_over = entity(&server, "component/default/shared").await;
    assert_eq!(taken_over["spec"]["lifecycle"], "second");
    assert_ne!(taken_over["metadata"]["uid"], shared["metadata"]["uid"]);
}

async fn removed_entities_are_orphaned_then_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write("catalog-info.yaml", &components(&["stays", "leaves"]));
    let id = location_id(&server.add_location("file", &file).await);
    let stays = entity(&server, "component/default/stays").await;
    let leaves = entity(&server, "component/default/leaves").await;

    server.write("catalog-info.yaml", &components(&["stays"]));
    let outcome = refresh(&server, id.as_str()).await;
    assert_eq!(
        outcome,
        json!({"written": 0, "unchanged": 1, "orphaned": 1, "deleted": 0, "problems": []})
    );
    let orphan = entity(&server, "component/default/leaves").await;
    assert_eq!(
        orphan["metadata"]["annotations"]["backstage.io/orphan"],
        "true"
    );
    assert_eq!(orphan["metadata"]["uid"], leaves["metadata"]["uid"]);
    assert_eq!(entity(&server, "component/default/stays").await, stays);
    let orphans = server
        .get("/api/catalog/entities/by-query?filter=metadata.annotations.backstage.io/orphan=true")
        .await;
    assert_eq!(refs(&orphans.body["items"]), ["component:default/leaves"]);

    let outcome = refresh(&server, id.as_str()).await;
    assert_eq!(
        outcome,
        json!({"written": 0, "unchanged": 1, "orphaned": 0, "deleted": 1, "problems": []})
    );
    assert!(!exists(&server, "component/default/leaves").await);
    assert_eq!(catalog_refs(&server).await, ["component:default/stays"]);

    // Back in the file, it is a new entity.
    server.write("catalog-info.yaml", &components(&["stays", "leaves"]));
    let outcome = refresh(&server, id.as_str()).await;
    assert_eq!(outcome["written"], 1);
    let back = entity(&server, "component/default/leaves").await;
    assert_eq!(
        back["metadata"]["annotations"].get("backstage.io/orphan"),
        None
    );
}

async fn a_broken_document_keeps_its_entity(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write("catalog-info.yaml", &components(&["healthy", "fragile"]));
    let id = location_id(&server.add_location("file", &file).await);
    let fragile = entity(&server, "component/default/fragile").await;

    // The second document no longer parses: its entity stays as it was, twice over.
    let broken = components(&["healthy", "fragile"])
        .replace("name: fragile\n", "name: fragile\n  description: a: b\n");
    server.write("catalog-info.yaml", &broken);
    for _ in 0..2 {
        let outcome = refresh(&server, id.as_str()).await;
        assert_eq!(
            (&outcome["orphaned"], &outcome["deleted"]),
            (&json!(0), &json!(0))
        );
        assert_eq!(
            problem_lines(&scrub(&server, &outcome["problems"])),
            ["[DATA]/input/catalog-info.yaml doc 1 line 14 field - rule yaml-syntax"]
        );
        assert_eq!(entity(&server, "component/default/fragile").await, fragile);
    }
    assert_eq!(
        problems(&server, id.as_str()).await,
        ["[DATA]/input/catalog-info.yaml doc 1 line 14 field - rule yaml-syntax"]
    );

    // An invalid entity is kept the same way.
    server.write(
        "catalog-info.yaml",
        &components(&["healthy", "fragile"]).replacen("owner: team-a", "owner: [team-a]", 2),
    );
    let outcome = refresh(&server, id.as_str()).await;
    assert_eq!(
        problem_lines(&scrub(&server, &outcome["problems"])),
        [
            "[DATA]/input/catalog-info.yaml doc 0 line 8 field spec.owner rule type",
            "[DATA]/input/catalog-info.yaml doc 1 line 17 field spec.owner rule type",
        ]
    );
    assert_eq!(entity(&server, "component/default/fragile").await, fragile);

    // So is everything when the file itself is gone.
    std::fs::remove_file(&file).expect("remove the file");
    let outcome = refresh(&server, id.as_str()).await;
    assert_eq!(
        (&outcome["orphaned"], &outcome["deleted"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(
        problem_lines(&scrub(&server, &outcome["problems"])),
        ["[DATA]/input/catalog-info.yaml doc - line - field - rule not-found"]
    );
    assert_eq!(
        catalog_refs(&server).await,
        ["component:default/fragile", "component:default/healthy"]
    );

    // Fixed: the problems are gone and the entity is read again.
    server.write(
        "catalog-info.yaml",
        &components(&["healthy", "fragile"]).replace("lifecycle: production", "lifecycle: mature"),
    );
    let outcome = refresh(&server, id.as_str()).await;
    assert_eq!(outcome["problems"], json!([]));
    assert_eq!(outcome["written"], 2);
    assert_eq!(problems(&server, id.as_str()).await, Vec::<String>::new());
    assert_eq!(
        entity(&server, "component/default/fragile").await["spec"]["lifecycle"],
        "mature"
    );
}

/// A document defining `name` with `spec` written out, as the problems' lines assume.
const GOOD: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: NAME\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n";

fn good(name: &str) -> String {
    GOOD.replace("NAME", name)
}

/// A billion-laughs document: eleven levels of ten aliases each.
fn alias_bomb() -> String {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12u8 {
        let previous = (b'a' + level - 1) as char;
        let current = (b'a' + level) as char;
        let aliases = vec![format!("*{previous}"); 10].join(", ");
        text.push_str(&format!("{current}: &{current} [{aliases}]\n"));
    }
    text
}

async fn bad_documents_are_reported_precisely(backend: Backend) {
    let server = TestServer::start(backend).await;
    // Each directory holds one kind of mistake next to valid documents.
    server.write(
        "repos/1-syntax/catalog-info.yaml",
        &[
            good("syntax-before"),
            good("syntax-broken").replace("  type: service\n", "  type: a: b\n"),
            good("syntax-after"),
        ]
        .join("---\n"),
    );
    server.write(
        "repos/2-type/catalog-info.yaml",
        &[
            good("type-ok"),
            good("type-bad").replace("name: type-bad", "name: 5"),
        ]
        .join("---\n"),
    );
    server.write(
        "repos/3-kind/catalog-info.yaml",
        &[
            good("kind-ok"),
            good("kind-bad").replace("kind: Component", "kind: Widget"),
        ]
        .join("---\n"),
    );
    server.write(
        "repos/4-name/catalog-info.yaml",
        &[good("name-ok"), good("bad name")].join("---\n"),
    );
    server.write(
        "repos/5-reference/catalog-info.yaml",
        &[
            good("reference-ok"),
            good("reference-bad").replace("owner: team-a", "owner: \"group:/bad\""),
        ]
        .join("---\n"),
    );
    server.write(
        "repos/6-size/catalog-info.yaml",
        &good("huge").replace(
            "metadata:\n",
            &format!(
                "metadata:\n  description: {}\n",
                "x".repeat(10 * 1024 * 1024)
            ),
        ),
    );
    server.write(
        "repos/7-bomb/catalog-info.yaml",
        &[alias_bomb(), good("bomb-neighbour")].join("---\n"),
    );
    let outside = server.write("outside/catalog-info.yaml", &good("outside"));
    std::fs::create_dir_all(server.data.path("repos/8-escape")).expect("a directory");
    std::os::unix::fs::symlink(
        &outside,
        server.data.path("repos/8-escape/catalog-info.yaml"),
    )
    .expect("a symlink");

    let added = tokio::time::timeout(
        Duration::from_secs(30),
        server.add_location("file", &server.data.path("repos/*/catalog-info.yaml")),
    )
    .await
    .expect("bad input is refused quickly");
    let id = location_id(&added);
    let expected = [
        "[DATA]/input/repos/6-size/catalog-info.yaml doc - line - field - rule file-size",
        "[DATA]/input/repos/8-escape/catalog-info.yaml doc - line - field - rule path-escape",
        "[DATA]/input/repos/1-syntax/catalog-info.yaml doc 1 line 15 field - rule yaml-syntax",
        "[DATA]/input/repos/2-type/catalog-info.yaml doc 1 line 13 field metadata.name rule type",
        "[DATA]/input/repos/3-kind/catalog-info.yaml doc 1 line 11 field kind rule unknown-kind",
        "[DATA]/input/repos/4-name/catalog-info.yaml doc 1 line 13 field metadata.name rule name-format",
        "[DATA]/input/repos/5-reference/catalog-info.yaml doc 1 line 17 field spec.owner rule reference",
        "[DATA]/input/repos/7-bomb/catalog-info.yaml doc 0 line 6 field - rule yaml-syntax",
    ];
    assert_eq!(
        problem_lines(&scrub(&server, &added.body["problems"])),
        expected
    );
    assert_eq!(problems(&server, id.as_str()).await, expected);
    insta::assert_json_snapshot!("bad_documents", scrub(&server, &added.body["problems"]));

    // Every valid neighbour is loaded, and nothing from outside the directory.
    assert_eq!(
        catalog_refs(&server).await,
        [
            "component:default/bomb-neighbour",
            "component:default/kind-ok",
            "component:default/name-ok",
            "component:default/reference-ok",
            "component:default/syntax-after",
            "component:default/syntax-before",
            "component:default/type-ok",
        ]
    );
}

async fn unusable_locations_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.write("exists.yaml", &components(&["x"]));
    let data = server.data.dir.path().display().to_string();
    let cases = [
        (
            "missing_file",
            json!({"type": "file", "target": format!("{data}/input/missing.yaml")}),
        ),
        (
            "missing_directory",
            json!({"type": "file", "target": format!("{data}/input/nowhere/*/catalog-info.yaml")}),
        ),
        (
            "missing_repository",
            json!({"type": "git", "target": format!("{data}/input/missing.git#ref=main")}),
        ),
        (
            "unknown_type",
            json!({"type": "s3", "target": "bucket/catalog-info.yaml"}),
        ),
        ("empty_target", json!({"type": "file", "target": " "})),
        (
            "bad_git_path",
            json!({"type": "git", "target": "/srv/shop.git#path=../x"}),
        ),
        (
            "bad_url",
            json!({"type": "url", "target": "https://example.com/catalog-info.yaml"}),
        ),
        ("bad_body", json!({"type": "file"})),
    ];
    for (name, body) in cases {
        let response = server.post("/api/catalog/locations", body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {}", response.text);
        let scrubbed = scrub(&server, &response.body);
        if name == "missing_repository" {
            // libgit2's own words; only their shape is ours.
            assert_eq!(scrubbed["error"]["code"], "location_unreadable");
            assert_eq!(scrubbed["error"]["problems"][0]["rule"], "git");
        } else {
            insta::assert_json_snapshot!(format!("refused_{name}"), scrubbed);
        }
    }
    assert_eq!(locations(&server).await, Vec::<String>::new());
    assert_eq!(catalog_refs(&server).await, Vec::<String>::new());
}

both_backends!(
    registers_a_single_file,
    registers_a_directory_glob,
    registers_a_git_repository,
    follows_location_entities,
    dry_runs_store_nothing,
    refuses_unauthenticated_mutations,
    deleting_a_location_removes_its_entities,
    an_entity_belongs_to_its_first_location,
    removed_entities_are_orphaned_then_deleted,
    a_broken_document_keeps_its_entity,
    bad_documents_are_reported_precisely,
    unusable_locations_are_refused,
);

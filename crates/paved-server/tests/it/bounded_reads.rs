//! Reads of locations are bounded (issue 17, items 1 and 2): only regular files, a size cap,
//! no endless globs, limits on files, bytes and time; problems quote no file contents; Paved's
//! own files are never read.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use paved_catalog::budget::ReadLimits;
use paved_model::ids::LocationId;
use paved_store::NewLocation;
use paved_test::{Backend, TEST_TOKEN, TestData, TestResponse, TestServer, both_backends};
use serde_json::{Value, json};

use crate::common::{exists, location_id, scrub};

const COMPONENT: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n";

/// A secret that must never appear in any answer.
const SECRET: &str = "hunter2-0f3b9a7c-very-secret";

/// How long any one registration here may take; the bounded reads take milliseconds, the
/// unbounded ones they replace never ended.
const DEADLINE: Duration = Duration::from_secs(60);

async fn register(server: &TestServer, target: &str) -> TestResponse {
    tokio::time::timeout(
        DEADLINE,
        server.post(
            "/api/catalog/locations",
            json!({"type": "file", "target": target}),
        ),
    )
    .await
    .unwrap_or_else(|_| panic!("registering `{target}` did not end within {DEADLINE:?}"))
}

/// `rule message` of each problem of a response (a refusal's or a registration's).
fn rules_and_messages(server: &TestServer, response: &TestResponse) -> Vec<String> {
    let problems = match &response.body["problems"] {
        Value::Array(_) => response.body["problems"].clone(),
        _ => response.body["error"]["problems"].clone(),
    };
    let problems = scrub(server, &problems);
    problems
        .as_array()
        .unwrap_or_else(|| panic!("problems in {}", response.text))
        .iter()
        .map(|problem| {
            format!(
                "{} {} {}",
                problem["file"].as_str().unwrap_or("-"),
                problem["rule"].as_str().unwrap_or("-"),
                problem["message"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A glob over a tree with a symlink loop (`d/sub/loop -> ..`) ends, and reads each file
/// once: directory symlinks are not followed.
async fn a_symlink_loop_in_a_glob_ends(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = server.write("d/sub/catalog-info.yaml", COMPONENT);
    let sub = file.parent().expect("a parent");
    std::os::unix::fs::symlink("..", sub.join("loop")).expect("a symlink loop");
    std::os::unix::fs::symlink(".", sub.join("self")).expect("a second loop");
    let glob = format!("{}/**/*.yaml", server.input_dir().join("d").display());
    let response = register(&server, &glob).await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(response.body["problems"], json!([]), "{}", response.text);
    assert!(exists(&server, "component/default/web").await);
}

/// Devices and FIFOs are refused by name, at once and without reading them.
async fn devices_and_fifos_are_refused_by_name(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fifo = server.input_dir().join("pipe.yaml");
    std::fs::create_dir_all(server.input_dir()).expect("the input directory");
    mkfifo(&fifo);
    for (target, what) in [
        ("/dev/zero", "a character device"),
        ("/dev/urandom", "a character device"),
        (fifo.to_str().expect("a UTF-8 path"), "a FIFO (named pipe)"),
    ] {
        let response = register(&server, target).await;
        assert_eq!(response.status, 400, "{target}: {}", response.text);
        assert_eq!(
            rules_and_messages(&server, &response),
            [format!(
                "{} not-a-file {what}, not a regular file; only regular files are read",
                target.replace(&server.data.dir.path().display().to_string(), "[DATA]")
            )],
            "{target}"
        );
    }
    // In a glob, the FIFO is one problem and the other files are read.
    server.write("catalog-info.yaml", COMPONENT);
    let glob = format!("{}/*.yaml", server.input_dir().display());
    let response = register(&server, &glob).await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(
        rules_and_messages(&server, &response),
        [
            "[DATA]/input/pipe.yaml not-a-file a FIFO (named pipe), not a regular file; only regular files are read"
        ]
    );
    assert!(exists(&server, "component/default/web").await);
}

/// A glob as wide as the whole file system stops at the read's limits with one problem that
/// names the limit, and nothing is registered.
async fn a_very_wide_glob_stops_at_a_limit(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = register(&server, "/**/*").await;
    assert_eq!(response.status, 400, "{}", response.text);
    let problems = rules_and_messages(&server, &response);
    assert!(
        problems[0].starts_with("- read-limit the read was stopped after"),
        "{problems:?}"
    );
    // Besides the limit, only the directories the glob did not enter: kernel file systems
    // and Paved's own data.
    assert!(
        problems[1..]
            .iter()
            .all(|problem| problem.starts_with("- private-path ")),
        "{problems:?}"
    );
    assert_eq!(server.get("/api/catalog/locations").await.body, json!([]));
}

/// Each limit is its own precise problem: files visited, then bytes read.
async fn each_limit_names_itself(backend: Backend) {
    let mut data = TestData::new(backend).await;
    data.read_limits = ReadLimits {
        max_files_visited: 20,
        max_bytes_read: 10_000,
        ..ReadLimits::default()
    };
    let server = TestServer::start_with(data).await;
    for index in 0..30 {
        server.write(&format!("wide/{index}.yaml"), "# nothing\n");
    }
    let response = register(
        &server,
        &format!("{}/wide/*.yaml", server.input_dir().display()),
    )
    .await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(
        rules_and_messages(&server, &response),
        [
            "- read-limit the read was stopped after visiting 20 files and directories, the limit `files visited` of one read; narrow the glob or split the location"
        ]
    );
    let large = server.write("large.yaml", &format!("# {}\n", "x".repeat(20_000)));
    let response = register(&server, large.to_str().expect("a UTF-8 path")).await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(
        rules_and_messages(&server, &response),
        [
            "- read-limit the read was stopped after 10000 bytes, the limit `bytes read` of one read; split the location"
        ]
    );
}

/// Paved's own files cannot be a location, alone or swept up by a glob, and no answer ever
/// holds the admin token.
async fn paveds_own_files_are_never_read(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token_file = server.data.dir.path().join("admin-token");
    std::fs::write(&token_file, format!("{TEST_TOKEN}\n")).expect("the token file");
    let response = register(&server, token_file.to_str().expect("a UTF-8 path")).await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(
        rules_and_messages(&server, &response),
        [
            "[DATA]/admin-token private-path `[DATA]/admin-token` is Paved's own data; locations may not read it"
        ]
    );
    assert!(!response.text.contains(TEST_TOKEN), "{}", response.text);
    for glob in [
        format!("{}/*", server.data.dir.path().display()),
        format!("{}/**/*", server.data.dir.path().display()),
    ] {
        let response = register(&server, &glob).await;
        assert!(!response.text.contains(TEST_TOKEN), "{}", response.text);
    }
    // A glob whose root holds Paved's data directory reads around it.
    let parent_glob = format!("{}/*", server.data.dir.path().display());
    let response = server
        .post(
            "/api/catalog/locations?dryRun=true",
            json!({"type": "file", "target": parent_glob}),
        )
        .await;
    assert!(!response.text.contains(TEST_TOKEN), "{}", response.text);
    let listed = server.get("/api/catalog/locations").await;
    assert!(!listed.text.contains(TEST_TOKEN), "{}", listed.text);
}

/// A file that is not a catalog document, swept up by a glob, is reported by name and rule
/// only; no answer, public or not, quotes it.
async fn non_catalog_files_are_reported_by_name_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.write("svc/catalog-info.yaml", COMPONENT);
    server.write("svc/.env", &format!("DATABASE_PASSWORD={SECRET}\n"));
    server.write("svc/token", &format!("{SECRET}\n"));
    server.write("svc/config.yaml", &format!("password: {SECRET}\n"));
    server.write("svc/list.yaml", &format!("- {SECRET}\n"));
    server.write(
        "svc/broken.yaml",
        &format!("{{\"{SECRET}\": 1, \"{SECRET}\": 2}}\n"),
    );
    let glob = format!("{}/svc/*", server.input_dir().display());
    let response = register(&server, &glob).await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert!(!response.text.contains(SECRET), "{}", response.text);
    let mut problems = rules_and_messages(&server, &response);
    problems.sort();
    insta::assert_debug_snapshot!(problems);
    let id = location_id(&response).0;
    let listed = server.get("/api/catalog/locations").await;
    assert!(listed.text.contains(&id), "{}", listed.text);
    assert!(!listed.text.contains(SECRET), "{}", listed.text);
    assert!(exists(&server, "component/default/web").await);
}

/// A stored location that turned bad (here `/dev/zero`, as a location added before these
/// checks could have been) is refused at every refresh, and the server keeps running.
async fn a_stored_bad_location_does_not_stop_the_server(backend: Backend) {
    let server = TestServer::start(backend).await;
    for target in ["/dev/zero", "/dev/urandom"] {
        let mut tx = server.store.begin().await.expect("a transaction");
        tx.insert_location(&NewLocation {
            id: LocationId(uuid::Uuid::new_v4().to_string()),
            location_type: "file".to_owned(),
            target: target.to_owned(),
            created_at: 0,
        })
        .await
        .expect("a stored location");
        tx.commit().await.expect("commit");
    }
    let server = server.restart().await;
    // The server's own refresh loop may take one of them first; between the two, both are
    // refreshed (each refresh bumps the catalog's revision), and neither stops anything.
    let mut revision = server.catalog.watch_revision();
    tokio::time::timeout(DEADLINE, server.catalog.refresh_due())
        .await
        .expect("the refresh ends")
        .expect("the refresh runs");
    let rules = tokio::time::timeout(DEADLINE, async {
        loop {
            let rules = location_rules(&server).await;
            if rules.iter().all(|(_, rule)| rule != "-") {
                return rules;
            }
            revision.changed().await.expect("the catalog is alive");
        }
    })
    .await
    .expect("both locations are refreshed");
    let mut rules = rules;
    rules.sort();
    assert_eq!(
        rules,
        [
            ("/dev/urandom".to_owned(), "not-a-file".to_owned()),
            ("/dev/zero".to_owned(), "not-a-file".to_owned())
        ]
    );
    assert_eq!(server.get("/healthz").await.status, 200);
}

both_backends!(
    a_symlink_loop_in_a_glob_ends,
    devices_and_fifos_are_refused_by_name,
    a_very_wide_glob_stops_at_a_limit,
    each_limit_names_itself,
    paveds_own_files_are_never_read,
    non_catalog_files_are_reported_by_name_only,
    a_stored_bad_location_does_not_stop_the_server,
);

/// Each location's target and the rule of its first problem (`-` when it has none).
async fn location_rules(server: &TestServer) -> Vec<(String, String)> {
    let listed = server.get("/api/catalog/locations").await;
    listed
        .body
        .as_array()
        .expect("locations")
        .iter()
        .map(|location| {
            (
                location["data"]["target"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
                location["data"]["problems"][0]["rule"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
            )
        })
        .collect()
}

//! URL locations over HTTPS (issue 19): a local HTTPS server with a test CA serves GitHub-
//! and GitLab-style layouts; Location entities with relative targets, a `$text` API
//! definition, a token-protected host, and refreshes answered by 304.

use paved_catalog::url::{IntegrationsFile, UrlReader};
use paved_test::https::HttpsServer;
use paved_test::{Backend, TestData, TestServer, both_backends};
use serde_json::{Value, json};

use crate::common::{entity, location_id, relations};

/// A token only the integrations file knows (through an environment variable).
const TOKEN: &str = "ghp_test_0123456789abcdef";

/// A server whose catalog reads `github` as a GitHub Enterprise host (API and raw content
/// on the same host) and `gitlab` as a GitLab host, trusting the test CA.
async fn server_with(
    backend: Backend,
    github: &HttpsServer,
    gitlab: &HttpsServer,
    github_token: bool,
) -> TestServer {
    let token_line = if github_token {
        "      token: ${PAVED_TEST_GITHUB_TOKEN}\n"
    } else {
        ""
    };
    let file = format!(
        "integrations:\n  github:\n    - host: {github_host}\n      apiBaseUrl: {github_url}/api/v3\n      rawBaseUrl: {github_url}/raw\n{token_line}  gitlab:\n    - host: {gitlab_host}\n",
        github_host = github.authority,
        github_url = github.base_url(),
        gitlab_host = gitlab.authority,
    );
    let environment = |name: &str| (name == "PAVED_TEST_GITHUB_TOKEN").then(|| TOKEN.to_owned());
    let integrations =
        IntegrationsFile::parse("integrations.yaml", &file, &environment).expect("integrations");
    // Each test server has its own CA; one bundle trusts both.
    let bundle = format!("{}{}", github.ca_pem, gitlab.ca_pem);
    let mut data = TestData::new(backend).await;
    data.url_reader = UrlReader::new(&integrations, Some(("test-ca.pem", bundle.as_bytes())))
        .expect("a URL reader");
    TestServer::start_with(data).await
}

const API: &str = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: orders\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./openapi.yaml\n";
const OPENAPI: &str = "openapi: 3.0.0\ninfo:\n  title: Orders\n  version: 1.0.0\npaths: {}\n";
const COMPONENT: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  providesApis: [orders]\n";

/// A Location entity read by blob URL from a GitHub-style host points at files relative to
/// it (and one absolute within the repository), and at a GitLab-style host; an API's
/// definition comes from a `$text` placeholder; a refresh of unchanged files costs one
/// conditional request per file, each answered 304.
async fn reads_github_and_gitlab_layouts(backend: Backend) {
    let github = HttpsServer::start().await;
    let gitlab = HttpsServer::start().await;
    let gitlab_group = format!(
        "{}/team/platform/-/blob/main/catalog-info.yaml",
        gitlab.base_url()
    );
    github.put(
        "/raw/acme/shop/main/catalog-info.yaml",
        &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: shop\nspec:\n  type: url\n  targets:\n    - ./services/web.yaml\n    - /apis/orders.yaml\n    - {gitlab_group}\n"
        ),
    );
    github.put("/raw/acme/shop/main/services/web.yaml", COMPONENT);
    github.put("/raw/acme/shop/main/apis/orders.yaml", API);
    github.put("/raw/acme/shop/main/apis/openapi.yaml", OPENAPI);
    gitlab.put(
        "/api/v4/projects/team%2Fplatform/repository/files/catalog-info.yaml/raw?ref=main",
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n",
    );
    let server = server_with(backend, &github, &gitlab, false).await;
    let blob = format!(
        "{}/acme/shop/blob/main/catalog-info.yaml",
        github.base_url()
    );
    let added = server
        .post(
            "/api/catalog/locations",
            json!({"type": "url", "target": blob}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.body["problems"], json!([]), "{}", added.text);
    assert_eq!(added.body["location"]["type"], "url");
    let mut refs: Vec<String> = added.body["entityRefs"]
        .as_array()
        .expect("entity refs")
        .iter()
        .map(|entity_ref| entity_ref.as_str().unwrap_or_default().to_owned())
        .collect();
    refs.sort();
    assert_eq!(
        refs,
        [
            "api:default/orders",
            "component:default/web",
            "group:default/team-a",
            "location:default/shop"
        ]
    );
    let api = entity(&server, "api/default/orders").await;
    assert_eq!(api["spec"]["definition"], OPENAPI);
    assert_eq!(
        api["metadata"]["annotations"]["backstage.io/managed-by-location"],
        format!(
            "url:{}/acme/shop/blob/main/apis/orders.yaml",
            github.base_url()
        )
    );
    assert_eq!(
        api["metadata"]["annotations"]["backstage.io/managed-by-origin-location"],
        format!("url:{blob}")
    );
    let web = entity(&server, "component/default/web").await;
    assert!(
        relations(&web).contains(&"providesApi api:default/orders".to_owned()),
        "{:?}",
        relations(&web)
    );
    // Raw content for GitHub (no token: Backstage's raw endpoint), the API for GitLab.
    let github_targets: Vec<String> = github
        .log()
        .iter()
        .map(|request| request.target.clone())
        .collect();
    assert_eq!(
        github_targets,
        [
            "/raw/acme/shop/main/catalog-info.yaml",
            "/raw/acme/shop/main/services/web.yaml",
            "/raw/acme/shop/main/apis/orders.yaml",
            "/raw/acme/shop/main/apis/openapi.yaml",
        ]
    );

    // Nothing changed: every file is asked for once with its ETag, and answered 304.
    github.clear_log();
    gitlab.clear_log();
    let id = location_id(&added).0;
    let refreshed = server
        .post("/api/catalog/refresh", json!({"locationId": id}))
        .await;
    assert!(refreshed.status < 300, "{}", refreshed.text);
    for request in github.log().iter().chain(gitlab.log().iter()) {
        assert_eq!(request.status, 304, "{request:?}");
        assert!(request.if_none_match.is_some(), "{request:?}");
    }
    assert_eq!(github.log().len() + gitlab.log().len(), 5);
    assert_eq!(
        entity(&server, "api/default/orders").await["spec"]["definition"],
        OPENAPI
    );

    // A changed file is read again in full.
    github.put(
        "/raw/acme/shop/main/apis/openapi.yaml",
        &OPENAPI.replace("1.0.0", "1.1.0"),
    );
    github.clear_log();
    server
        .post("/api/catalog/refresh", json!({"locationId": id}))
        .await;
    let statuses: Vec<(String, u16)> = github
        .log()
        .iter()
        .map(|request| (request.target.clone(), request.status))
        .collect();
    assert!(
        statuses.contains(&("/raw/acme/shop/main/apis/openapi.yaml".to_owned(), 200)),
        "{statuses:?}"
    );
    assert_eq!(
        entity(&server, "api/default/orders").await["spec"]["definition"],
        OPENAPI.replace("1.0.0", "1.1.0")
    );
}

/// A single-file URL location whose file did not change costs one small request at refresh.
async fn an_unchanged_refresh_is_one_304(backend: Backend) {
    let github = HttpsServer::start().await;
    let gitlab = HttpsServer::start().await;
    gitlab.put(
        "/api/v4/projects/team%2Fweb/repository/files/catalog-info.yaml/raw?ref=v2",
        COMPONENT.replace("  providesApis: [orders]\n", "").as_str(),
    );
    let server = server_with(backend, &github, &gitlab, false).await;
    let added = server
        .post(
            "/api/catalog/locations",
            json!({"type": "url", "target": format!("{}/team/web/-/blob/v2/catalog-info.yaml", gitlab.base_url())}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    gitlab.clear_log();
    let refreshed = server
        .post(
            "/api/catalog/refresh",
            json!({"locationId": location_id(&added).0}),
        )
        .await;
    assert!(refreshed.status < 300, "{}", refreshed.text);
    let log = gitlab.log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].status, 304);
    assert!(log[0].if_none_match.is_some());
}

/// A private repository: with the host's token (from the environment, through the
/// integrations file) the file is read through GitHub's API; the token is sent to its own
/// host only and appears in no answer. Without it, the refusal says what to check.
async fn a_token_protected_host(backend: Backend) {
    let github = HttpsServer::start().await;
    let gitlab = HttpsServer::start().await;
    github.require_token(TOKEN);
    github.put(
        "/api/v3/repos/acme/private/contents/catalog-info.yaml?ref=main",
        COMPONENT.replace("  providesApis: [orders]\n", "").as_str(),
    );
    let blob = format!(
        "{}/acme/private/blob/main/catalog-info.yaml",
        github.base_url()
    );

    let without_token = server_with(backend, &github, &gitlab, false).await;
    let refused = without_token
        .post(
            "/api/catalog/locations",
            json!({"type": "url", "target": blob}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    let problem = &refused.body["error"]["problems"][0];
    assert_eq!(problem["rule"], "url");
    assert_eq!(problem["file"].as_str(), Some(blob.as_str()));
    assert!(
        problem["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("the server answered 404 Not Found")),
        "{problem}"
    );
    drop(without_token);

    let server = server_with(backend, &github, &gitlab, true).await;
    github.clear_log();
    let added = server
        .post(
            "/api/catalog/locations",
            json!({"type": "url", "target": blob}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert!(!added.text.contains(TOKEN));
    let log = github.log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        log[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(gitlab.log(), []);
    let listed = server.get("/api/catalog/locations").await;
    assert!(!listed.text.contains(TOKEN));
    let web: Value = entity(&server, "component/default/web").await;
    assert!(!web.to_string().contains(TOKEN));
}

both_backends!(
    reads_github_and_gitlab_layouts,
    an_unchanged_refresh_is_one_304,
    a_token_protected_host,
);

/// Git over HTTPS: a `git` location on an HTTPS repository, and a `url` location whose
/// blob URL holds a glob, both fetched with git's smart HTTP protocol from `git
/// http-backend` behind the test's HTTPS server; a refresh after a new commit fetches it.
async fn git_over_https(backend: Backend) {
    let github = HttpsServer::start().await;
    let gitlab = HttpsServer::start().await;
    let repositories = tempfile::tempdir().expect("a temporary directory");
    let repository = repositories.path().join("acme/shop.git");
    paved_git::init_bare(&repository).expect("a bare repository");
    let component = |name: &str| {
        COMPONENT
            .replace("name: web", &format!("name: {name}"))
            .replace("  providesApis: [orders]\n", "")
    };
    paved_git::commit_files(
        &repository,
        "main",
        &[
            (
                "services/web/catalog-info.yaml".to_owned(),
                component("web").into_bytes(),
            ),
            (
                "services/api/catalog-info.yaml".to_owned(),
                component("api").into_bytes(),
            ),
            ("README.md".to_owned(), b"# shop\n".to_vec()),
        ],
        "first",
        "Paved Test",
        "paved@example.com",
    )
    .expect("a commit");
    github.serve_git(repositories.path().to_owned());
    let server = server_with(backend, &github, &gitlab, false).await;

    let git_target = format!(
        "{}/acme/shop.git#ref=main&path=services/*/catalog-info.yaml",
        github.base_url()
    );
    let added = server
        .post(
            "/api/catalog/locations",
            json!({"type": "git", "target": git_target}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(
        added.body["entityRefs"],
        json!(["component:default/api", "component:default/web"])
    );
    let requests: Vec<(String, String, u16)> = github
        .log()
        .iter()
        .map(|request| {
            (
                request.method.clone(),
                request.target.clone(),
                request.status,
            )
        })
        .collect();
    assert_eq!(
        requests,
        [
            (
                "GET".to_owned(),
                "/acme/shop.git/info/refs?service=git-upload-pack".to_owned(),
                200
            ),
            (
                "POST".to_owned(),
                "/acme/shop.git/git-upload-pack".to_owned(),
                200
            ),
        ]
    );

    // A glob in a blob URL reads the repository through git too.
    let glob = format!(
        "{}/acme/shop/blob/main/services/*/catalog-info.yaml",
        github.base_url()
    );
    let dry_run = server
        .post(
            "/api/catalog/locations?dryRun=true",
            json!({"type": "url", "target": glob}),
        )
        .await;
    assert_eq!(dry_run.status, 200, "{}", dry_run.text);
    assert_eq!(
        dry_run.body["entityRefs"],
        json!(["component:default/api", "component:default/web"])
    );

    // A new commit is fetched (only what is new: the mirror's tips go as haves).
    paved_git::commit_files(
        &repository,
        "main",
        &[(
            "services/jobs/catalog-info.yaml".to_owned(),
            component("jobs").into_bytes(),
        )],
        "second",
        "Paved Test",
        "paved@example.com",
    )
    .expect("a second commit");
    let refreshed = server
        .post(
            "/api/catalog/refresh",
            json!({"locationId": location_id(&added).0}),
        )
        .await;
    assert!(refreshed.status < 300, "{}", refreshed.text);
    entity(&server, "component/default/jobs").await;
}

both_backends!(git_over_https);

/// Template sync fetches an HTTPS repository the same way.
async fn template_sync_over_https(backend: Backend) {
    let github = HttpsServer::start().await;
    let gitlab = HttpsServer::start().await;
    let repositories = tempfile::tempdir().expect("a temporary directory");
    let repository = repositories.path().join("acme/templates.git");
    paved_git::init_bare(&repository).expect("a bare repository");
    paved_git::commit_files(
        &repository,
        "main",
        &[
            (
                "api/v1/paved-template.yaml".to_owned(),
                b"apiVersion: paved.dev/v1\nkind: ServiceTemplate\nmetadata:\n  name: api\nspec:\n  compatibleEnvironments:\n    - template: ecs-environment\n      major: 1\n".to_vec(),
            ),
            ("api/v1/schema.yaml".to_owned(), crate::templates::SCHEMA_V1.as_bytes().to_vec()),
            (
                "api/v1/infrastructure/cloudformation.yaml".to_owned(),
                crate::templates::TEMPLATE.as_bytes().to_vec(),
            ),
        ],
        "api v1",
        "Platform",
        "platform@example.com",
    )
    .expect("a commit");
    github.serve_git(repositories.path().to_owned());
    let server = server_with(backend, &github, &gitlab, false).await;
    // The service template names the built-in environment template.
    server
        .registry
        .register_builtins()
        .await
        .expect("the built-in templates register");
    let added = server
        .post(
            "/api/template-syncs",
            json!({"target": format!("{}/acme/templates.git#ref=main", github.base_url())}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(
        added.body["registered"],
        json!(["api@1.0"]),
        "{}",
        added.text
    );
    assert!(
        github
            .log()
            .iter()
            .any(|request| request.target == "/acme/templates.git/git-upload-pack"),
        "{:?}",
        github.log()
    );
}

both_backends!(template_sync_over_https);

/// A registration whose client goes away stops reading: the read waits on a URL that is
/// never answered, the client disconnects, and the read ends (rather than holding a thread
/// and a connection until the read's time limit).
async fn an_abandoned_registration_stops_reading(backend: Backend) {
    let github = HttpsServer::start().await;
    let gitlab = HttpsServer::start().await;
    github.stall("/raw/acme/shop/main/catalog-info.yaml");
    let server = server_with(backend, &github, &gitlab, false).await;
    let mut reads = server.catalog.watch_reads_running();
    let url = format!("{}/api/catalog/locations", server.base_url);
    let body = json!({"type": "url", "target": format!("{}/acme/shop/blob/main/catalog-info.yaml", github.base_url())});
    let client = reqwest::Client::new();
    let registration = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(paved_test::TEST_TOKEN)
            .json(&body)
            .send()
            .await
    });
    github.wait_for_requests(1).await;
    assert_eq!(*reads.borrow_and_update(), 1);
    // The client gives up: its connection closes.
    registration.abort();
    let _ = registration.await;
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        reads.wait_for(|running| *running == 0),
    )
    .await
    .expect("the read stops once its client is gone")
    .expect("the catalog is alive");
    assert_eq!(server.get("/api/catalog/locations").await.body, json!([]));
}

both_backends!(an_abandoned_registration_stops_reading);

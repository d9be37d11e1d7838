//! The portal's HTML pages against a real server, on SQLite and PostgreSQL: every page for an
//! anonymous visitor (and no action in sight), sign-in and its cookie, forged posts refused
//! with nothing changed, and a service created through the form.

use paved_test::{Backend, TEST_TOKEN, TestData, TestServer, both_backends};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};

both_backends!(
    portal_pages_render_for_anonymous_visitors_without_actions,
    portal_sign_in_gives_a_hardened_session_that_sign_out_ends,
    portal_forged_posts_are_refused_and_change_nothing,
    portal_creates_a_service_through_the_form,
    portal_shows_the_engines_services_tasks_and_logs,
    portal_admin_actions_are_the_apis_calls,
);

const TEAM: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\n  description: The payments team\nspec:\n  type: team\n  children: []\n";
const SYSTEM: &str = "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: shop\nspec:\n  owner: team-a\n";

async fn server(backend: Backend) -> TestServer {
    let server = TestServer::start_with(TestData::with_builtin_templates(backend).await).await;
    let team = server.write("catalog/team-a.yaml", TEAM);
    server.add_location("file", &team).await;
    let system = server.write("catalog/shop.yaml", SYSTEM);
    server.add_location("file", &system).await;
    server
}

/// A browser-like client: no redirects followed, cookies given by hand.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

async fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> Page {
    let mut request = client().get(format!("{}{path}", server.base_url));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    page(request).await
}

/// A form post as a browser on the portal's own origin sends it.
async fn post(
    server: &TestServer,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> Page {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut request = client()
        .post(format!("{}{path}", server.base_url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    if let Some(origin) = origin {
        request = request.header(ORIGIN, origin);
    }
    page(request).await
}

async fn page(request: reqwest::RequestBuilder) -> Page {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    // minijinja's HTML escaping writes `/` as `&#x2f;`; the tests read text as a browser would.
    let text = response
        .text()
        .await
        .expect("a body")
        .replace("&#x2f;", "/");
    Page {
        status,
        headers,
        text,
    }
}

/// Signs in with the admin token; returns the `Cookie` header value and the CSRF token.
async fn sign_in(server: &TestServer) -> (String, String) {
    let signed_in = post(
        server,
        "/sign-in",
        None,
        Some(&server.base_url),
        &[("token", TEST_TOKEN)],
    )
    .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let set_cookie = signed_in.headers[SET_COOKIE].to_str().expect("ASCII");
    let cookie = set_cookie.split(';').next().expect("a pair").to_owned();
    let home = get(server, "/", Some(&cookie)).await;
    let csrf = home
        .text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a signed-in page carries the CSRF token:\n{}", home.text))
        .to_owned();
    (cookie, csrf)
}

async fn job_count(server: &TestServer) -> usize {
    let jobs = server.get("/api/jobs").await;
    jobs.body["items"].as_array().expect("jobs").len()
}

fn assert_html(page: &Page, path: &str) {
    assert_eq!(page.status, 200, "{path}: {}", page.text);
    assert_eq!(
        page.headers[CONTENT_TYPE], "text/html; charset=utf-8",
        "{path}"
    );
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .expect("ASCII")
            .contains("default-src 'self'"),
        "{path}"
    );
}

async fn portal_pages_render_for_anonymous_visitors_without_actions(backend: Backend) {
    let server = server(backend).await;
    let expectations: &[(&str, &[&str])] = &[
        ("/", &["catalog entities", "Needs attention"]),
        ("/catalog", &["team-a", "shop", "Kind", "entities"]),
        ("/catalog?q=payments", &["team-a", "1 entity"]),
        ("/catalog?kind=system", &["shop", "1 entity"]),
        ("/catalog?sort=name&dir=desc", &["aria-sort=\"descending\""]),
        (
            "/catalog/system/default/shop",
            &["<svg", "ownedBy", "group:default/team-a", "Relations"],
        ),
        ("/create", &["Web service", "/create/web-service"]),
        (
            "/create/web-service",
            &[
                "Container port",
                "name=\"input.port\"",
                "min=\"1\"",
                "Sign in",
            ],
        ),
        ("/templates", &["web-service", "Recommended"]),
        ("/templates/web-service", &["1.0", "published"]),
        ("/jobs", &["Jobs"]),
        ("/engine", &["Engine"]),
        ("/sign-in", &["type=\"password\""]),
    ];
    for (path, contents) in expectations {
        let page = get(&server, path, None).await;
        assert_html(&page, path);
        for content in *contents {
            assert!(
                page.text.contains(content),
                "{path} should show `{content}`:\n{}",
                page.text
            );
        }
        // Anonymous visitors see no action they may not take.
        for action in [
            "Create service",
            "Preview files",
            "Publish ",
            "Withdraw ",
            "Cancel this job",
            "Sign out",
            "Register a version",
            "Audit log",
        ] {
            assert!(
                !page.text.contains(action),
                "{path} shows `{action}` to an anonymous visitor"
            );
        }
    }
    // The audit log is for admins: the API's own refusal, as a page.
    let audit = get(&server, "/audit", None).await;
    assert_eq!(audit.status, 401, "{}", audit.text);
    assert!(audit.text.contains("Not allowed"), "{}", audit.text);
    // An unknown entity is the API's 404, as a page.
    let missing = get(&server, "/catalog/component/default/nope", None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.text.contains("component:default/nope"));
    // Static files carry their version and may be kept a year.
    let home = get(&server, "/", None).await;
    let htmx = get(&server, "/static/htmx-2.0.4.min.js", None).await;
    assert_eq!(htmx.status, 200);
    assert!(
        htmx.headers["cache-control"]
            .to_str()
            .expect("ASCII")
            .contains("immutable")
    );
    assert!(home.text.contains("/static/htmx-2.0.4.min.js"));
    let css = home
        .text
        .split("href=\"/static/portal.")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page links its style sheet");
    let sheet = get(&server, &format!("/static/portal.{css}"), None).await;
    assert_eq!(sheet.status, 200);
    assert_eq!(sheet.headers[CONTENT_TYPE], "text/css; charset=utf-8");
}

async fn portal_sign_in_gives_a_hardened_session_that_sign_out_ends(backend: Backend) {
    let server = server(backend).await;
    // A wrong token: refused by its field, no cookie.
    let refused = post(
        &server,
        "/sign-in",
        None,
        Some(&server.base_url),
        &[("token", "not-the-token")],
    )
    .await;
    assert_eq!(refused.status, 401);
    assert!(refused.headers.get(SET_COOKIE).is_none());
    assert!(
        refused.text.contains("id=\"token-error\""),
        "{}",
        refused.text
    );

    let signed_in = post(
        &server,
        "/sign-in",
        None,
        Some(&server.base_url),
        &[("token", TEST_TOKEN)],
    )
    .await;
    assert_eq!(signed_in.status, 303);
    assert_eq!(signed_in.headers[LOCATION], "/");
    let set_cookie = signed_in.headers[SET_COOKIE].to_str().expect("ASCII");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(flag), "{set_cookie} lacks {flag}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let cookie = set_cookie.split(';').next().expect("a pair").to_owned();
    let id = cookie
        .strip_prefix("paved_session=")
        .expect("the session cookie");
    // Stored hashed: the id itself finds nothing, its hash finds the session.
    let now = paved_store::now_millis();
    assert!(
        server
            .store
            .session(id, now)
            .await
            .expect("reads")
            .is_none()
    );
    let stored = server
        .store
        .session(&paved_server::auth::sha256_hex(id), now)
        .await
        .expect("reads")
        .expect("the session is stored by its hash");
    assert_eq!(stored.principal, "admin");
    assert!(stored.expires_at > now);

    // Over HTTPS (behind a proxy), the cookie is Secure.
    let secure = page(
        client()
            .post(format!("{}/sign-in", server.base_url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ORIGIN, &server.base_url)
            .header("x-forwarded-proto", "https")
            .body(format!("token={TEST_TOKEN}")),
    )
    .await;
    assert!(
        secure.headers[SET_COOKIE]
            .to_str()
            .expect("ASCII")
            .contains("; Secure")
    );

    // Signed in: the admin's pages and actions appear.
    let audit = get(&server, "/audit", Some(&cookie)).await;
    assert_html(&audit, "/audit");
    let templates = get(&server, "/templates/web-service", Some(&cookie)).await;
    assert!(
        templates.text.contains("Withdraw 1.0"),
        "{}",
        templates.text
    );
    let (_, csrf) = sign_in(&server).await;
    assert!(!csrf.is_empty());

    // Sign-out (with the session's CSRF token) ends the session in the store.
    let home = get(&server, "/", Some(&cookie)).await;
    let own_csrf = home
        .text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the token")
        .to_owned();
    let signed_out = post(
        &server,
        "/sign-out",
        Some(&cookie),
        Some(&server.base_url),
        &[("csrf", &own_csrf)],
    )
    .await;
    assert_eq!(signed_out.status, 303, "{}", signed_out.text);
    assert!(
        signed_out.headers[SET_COOKIE]
            .to_str()
            .expect("ASCII")
            .contains("Max-Age=0")
    );
    let after = get(&server, "/audit", Some(&cookie)).await;
    assert_eq!(after.status, 401, "the old cookie no longer signs in");
    // Sign-in and sign-out pass the policy point: the refused token, two sessions started
    // and one ended are in the audit log.
    let log = server.audit_log().await;
    let count = |action: &str, outcome: &str| {
        log.iter()
            .filter(|event| event.action == action && event.outcome.starts_with(outcome))
            .count()
    };
    assert_eq!(count("session.create", "ok"), 3, "{log:#?}");
    assert_eq!(count("session.create", "refused"), 1, "{log:#?}");
    assert_eq!(count("session.delete", "ok"), 1, "{log:#?}");
}

async fn portal_forged_posts_are_refused_and_change_nothing(backend: Backend) {
    let server = server(backend).await;
    let (cookie, csrf) = sign_in(&server).await;
    let jobs_before = job_count(&server).await;
    let admin_records = |log: Vec<paved_store::AuditEventRow>| {
        log.iter()
            .filter(|event| event.principal == "admin")
            .count()
    };
    let audit_before = admin_records(server.audit_log().await);
    let fields = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("version", "1.0"),
            ("name", "forged"),
            ("owner", "team-a"),
            ("action", "create"),
        ]
    };
    let own = server.base_url.clone();
    let leaked: &'static str = Box::leak(csrf.clone().into_boxed_str());
    // What is wrong, the Origin, the fields, and what the refusal says.
    type Attempt<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let attempts: Vec<Attempt> = vec![
        ("no CSRF token", Some(&own), fields(""), "CSRF token"),
        (
            "a wrong CSRF token",
            Some(&own),
            fields("pvd_forged"),
            "CSRF token",
        ),
        (
            "a foreign Origin",
            Some("https://evil.example"),
            fields(leaked),
            "https://evil.example",
        ),
        ("no Origin", None, fields(leaked), "no `Origin`"),
    ];
    for (what, origin, fields, message) in attempts {
        let refused = post(
            &server,
            "/create/web-service",
            Some(&cookie),
            origin,
            &fields,
        )
        .await;
        assert_eq!(refused.status, 403, "{what}: {}", refused.text);
        assert!(refused.text.contains(message), "{what}: {}", refused.text);
    }
    // Other actions are guarded the same way.
    let refused = post(
        &server,
        "/templates/web-service/1.0/withdraw",
        Some(&cookie),
        Some(&server.base_url),
        &[("reason", "forged")],
    )
    .await;
    assert_eq!(refused.status, 403);
    // Without a session, a form is refused even with the right Origin.
    let anonymous = post(
        &server,
        "/create/web-service",
        None,
        Some(&server.base_url),
        &fields(leaked),
    )
    .await;
    assert_eq!(anonymous.status, 403);

    assert_eq!(job_count(&server).await, jobs_before, "no job was created");
    assert_eq!(
        admin_records(server.audit_log().await),
        audit_before,
        "nothing was done"
    );
    let template = server.get("/api/templates/web-service").await;
    assert_eq!(template.body["versions"][0]["status"], "published");
}

async fn portal_creates_a_service_through_the_form(backend: Backend) {
    let server = server(backend).await;
    let (cookie, csrf) = sign_in(&server).await;
    let own = server.base_url.clone();
    let form = |name: &'static str, memory: &'static str, action: &'static str| {
        vec![
            ("version", "1.0"),
            ("name", name),
            ("owner", "team-a"),
            ("lifecycle", "experimental"),
            ("input.port", "8080"),
            ("input.cpu", "256"),
            ("input.memory", memory),
            ("input.service_connect", "true"),
            ("action", action),
        ]
    };
    let with_csrf = |mut fields: Vec<(&'static str, &'static str)>, csrf: &'static str| {
        fields.push(("csrf", csrf));
        fields
    };
    let csrf: &'static str = Box::leak(csrf.into_boxed_str());

    // A value the schema refuses (256 CPU units allow 512, 1024 or 2048 MiB): the API's
    // message, by its field, and nothing created.
    let invalid = post(
        &server,
        "/create/web-service",
        Some(&cookie),
        Some(&own),
        &with_csrf(form("checkout", "3000", "create"), csrf),
    )
    .await;
    assert_eq!(invalid.status, 400, "{}", invalid.text);
    assert!(
        invalid.text.contains("id=\"memory-error\""),
        "the error is shown by the memory field:\n{}",
        invalid.text
    );
    assert!(invalid.text.contains("aria-invalid=\"true\""));
    assert!(invalid.text.contains("value=\"checkout\""), "input is kept");
    // A value that is not a number at all is refused by its field before the API.
    let not_number = post(
        &server,
        "/create/web-service",
        Some(&cookie),
        Some(&own),
        &with_csrf(form("checkout", "lots", "create"), csrf),
    )
    .await;
    assert_eq!(not_number.status, 400);
    assert!(not_number.text.contains("`lots` is not a whole number"));
    // A name the scaffolder refuses is shown by the name field.
    let bad_name = post(
        &server,
        "/create/web-service",
        Some(&cookie),
        Some(&own),
        &with_csrf(form("-bad-", "512", "create"), csrf),
    )
    .await;
    assert_eq!(bad_name.status, 400, "{}", bad_name.text);
    assert!(
        bad_name.text.contains("id=\"name-error\""),
        "{}",
        bad_name.text
    );
    assert_eq!(job_count(&server).await, 0);

    // The preview: the repository's files, nothing created.
    let preview = post(
        &server,
        "/create/web-service",
        Some(&cookie),
        Some(&own),
        &with_csrf(form("checkout", "512", "preview"), csrf),
    )
    .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert!(preview.text.contains("id=\"preview\""));
    assert!(preview.text.contains("catalog-info.yaml"));
    assert!(preview.text.contains("Nothing was created"));
    assert_eq!(job_count(&server).await, 0);

    // Created: a job, followed on its page to success.
    let created = post(
        &server,
        "/create/web-service",
        Some(&cookie),
        Some(&own),
        &with_csrf(form("checkout", "512", "create"), csrf),
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.text);
    let location = created.headers[LOCATION]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let job = location.strip_prefix("/jobs/").expect("the job's page");
    let job_page = get(&server, &location, Some(&cookie)).await;
    assert_html(&job_page, &location);
    assert!(job_page.text.contains("service.create"));
    assert!(
        job_page
            .text
            .contains(&format!("data-job-events=\"/api/jobs/{job}/events\""))
    );
    // The job's event stream (what the page follows) reaches its end.
    let events = client()
        .get(format!("{}/api/jobs/{job}/events", server.base_url))
        .send()
        .await
        .expect("the stream opens")
        .text()
        .await
        .expect("the stream ends");
    assert!(events.contains("event: end"), "{events}");
    let finished = get(&server, &location, Some(&cookie)).await;
    assert!(
        finished.text.contains("state-succeeded"),
        "{}",
        finished.text
    );
    assert!(finished.text.contains("git clone "), "{}", finished.text);
    // The same call as the API's: the service exists, audited as the admin's.
    let service = server.get("/api/services/checkout").await;
    assert_eq!(service.status, 200);
    assert_eq!(service.body["templateVersion"], "1.0");
    let audit = server.audit_log().await;
    assert!(
        audit.iter().any(|event| event.action == "service.create"
            && event.principal == "admin"
            && event.resource_name == "checkout"),
        "{audit:#?}"
    );
    // Its catalog page has its repository.
    server
        .catalog
        .catch_up()
        .await
        .expect("the catalog catches up");
    let entity = get(&server, "/catalog/component/default/checkout", None).await;
    assert_html(&entity, "entity");
    assert!(entity.text.contains("git clone file://"), "{}", entity.text);
}

async fn portal_shows_the_engines_services_tasks_and_logs(backend: Backend) {
    use paved_engine::Operation;
    use serde_json::json;

    let server = TestServer::start(backend).await;
    paved_test::engine::service_repository(
        server.data.dir.path(),
        "chatty",
        &[
            (
                "Dockerfile",
                "FROM alpine\nWORKDIR /app\nCOPY . /app\nCMD [\"sh\", \"run.sh\"]\n",
            ),
            (
                "run.sh",
                "echo \"hello from the portal test\"\nexec sleep 600\n",
            ),
        ],
    );
    let built = server
        .post("/api/engine/images", json!({"service": "chatty"}))
        .await;
    assert_eq!(built.status, 201, "{}", built.text);
    let image = built.body["image"].as_str().expect("an image").to_owned();
    server
        .ecs(
            Operation::RegisterTaskDefinition,
            json!({"family": "chatty", "memory": "512", "containerDefinitions": [{
                "name": "app", "image": image, "essential": true, "stopTimeout": 1,
            }]}),
        )
        .await;
    let mut lines = server.local.runtime().logs().subscribe();
    server
        .ecs(
            Operation::CreateService,
            json!({"serviceName": "chatty", "taskDefinition": "chatty", "desiredCount": 1}),
        )
        .await;
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while !lines
            .recv()
            .await
            .expect("the log broadcast runs")
            .message
            .contains("hello from the portal test")
        {}
    })
    .await
    .expect("the task logs in time");
    server
        .until(
            "the service runs",
            std::time::Duration::from_secs(60),
            || async {
                let services = server.local.service_overviews(None).await.ok()?;
                services
                    .iter()
                    .any(|service| service.record.service.running_count == 1)
                    .then_some(())
            },
        )
        .await;

    let engine = get(&server, "/engine", None).await;
    assert_html(&engine, "/engine");
    for content in [
        "Cluster default",
        "/engine/default/chatty",
        "1 / 1",
        "chatty:1",
    ] {
        assert!(
            engine.text.contains(content),
            "`{content}`:\n{}",
            engine.text
        );
    }
    let service = get(&server, "/engine/default/chatty", None).await;
    assert_html(&service, "/engine/default/chatty");
    for content in [
        "Deployments",
        "RUNNING",
        "hello from the portal test",
        "data-service-logs=\"/api/engine/services/default/chatty/logs?follow=true",
    ] {
        assert!(
            service.text.contains(content),
            "`{content}`:\n{}",
            service.text
        );
    }
    let missing = get(&server, "/engine/default/nothing", None).await;
    assert_eq!(missing.status, 404);
    let home = get(&server, "/", None).await;
    assert!(
        home.text.contains("Nothing needs attention"),
        "{}",
        home.text
    );
}

async fn portal_admin_actions_are_the_apis_calls(backend: Backend) {
    let server = server(backend).await;
    let (cookie, csrf) = sign_in(&server).await;
    let own = server.base_url.clone();

    // Withdraw, as POST /api/templates/{name}/versions/{v}/withdraw does it.
    let withdrawn = post(
        &server,
        "/templates/worker-service/1.0/withdraw",
        Some(&cookie),
        Some(&own),
        &[("csrf", &csrf), ("reason", "replaced by the queue service")],
    )
    .await;
    assert_eq!(withdrawn.status, 303, "{}", withdrawn.text);
    assert_eq!(withdrawn.headers[LOCATION], "/templates/worker-service");
    let version = server
        .get("/api/templates/worker-service/versions/1.0")
        .await;
    assert_eq!(version.body["status"], "withdrawn", "{}", version.text);
    assert_eq!(
        version.body["withdrawnReason"],
        "replaced by the queue service"
    );
    let page = get(&server, "/templates/worker-service", Some(&cookie)).await;
    assert!(page.text.contains("replaced by the queue service"));
    assert!(
        !page.text.contains("Withdraw 1.0"),
        "a withdrawn version offers no withdraw"
    );
    // Published again; publishing it once more is the API's refusal, with the API's words,
    // as a page.
    let republished = post(
        &server,
        "/templates/worker-service/1.0/publish",
        Some(&cookie),
        Some(&own),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(republished.status, 303, "{}", republished.text);
    let version = server
        .get("/api/templates/worker-service/versions/1.0")
        .await;
    assert_eq!(version.body["status"], "published", "{}", version.text);
    let refused = post(
        &server,
        "/templates/worker-service/1.0/publish",
        Some(&cookie),
        Some(&own),
        &[("csrf", &csrf)],
    )
    .await;
    let api = server
        .post(
            "/api/templates/worker-service/versions/1.0/publish",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(api.status, 409, "{}", api.text);
    assert_eq!(refused.status, api.status, "{}", refused.text);
    let message = api.body["error"]["message"].as_str().expect("a message");
    assert!(
        refused.text.contains(&message.replace('`', "&#x60;")) || refused.text.contains(message),
        "the page shows the API's message `{message}`:\n{}",
        refused.text
    );

    // Cancelling a finished job: the API's 409, as a page.
    let created = server
        .post(
            "/api/services",
            serde_json::json!({"name": "ledger", "template": "web-service", "owner": "team-a"}),
        )
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    let job = created.body["jobId"].as_str().expect("a job").to_owned();
    client()
        .get(format!("{}/api/jobs/{job}/events", server.base_url))
        .send()
        .await
        .expect("the stream opens")
        .text()
        .await
        .expect("the stream ends");
    let cancel = post(
        &server,
        &format!("/jobs/{job}/cancel"),
        Some(&cookie),
        Some(&own),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(cancel.status, 409, "{}", cancel.text);
    let job_page = get(&server, &format!("/jobs/{job}"), Some(&cookie)).await;
    assert!(!job_page.text.contains("Cancel this job"));

    // Every action is audited as the admin's, once.
    let log = server.audit_log().await;
    let by_admin = |action: &str| {
        log.iter()
            .filter(|event| event.action == action && event.principal == "admin")
            .count()
    };
    assert_eq!(by_admin("template.withdraw"), 1, "{log:#?}");
    assert_eq!(
        by_admin("template.publish"),
        3,
        "the portal's publication, its refusal and the API's"
    );
    assert_eq!(by_admin("job.cancel"), 1, "{log:#?}");
}

//! The portal in a real headless Chromium: `tests/portal/e2e.cjs` (playwright-core, installed
//! with Debian's chromium by `.ci/setup-oracles`) signs in, searches the catalog, opens an
//! entity with its relation graph, creates a service through the form (a validation error
//! shown by its field, then fixed) and follows the job's live log to success, saving a
//! screenshot of every page at 1280 and 390 pixels wide.

use std::path::PathBuf;
use std::time::Duration;

use paved_test::{Backend, TEST_TOKEN, TestData, TestServer, both_backends};

both_backends!(portal_in_a_browser_from_sign_in_to_a_created_service);

const TEAM: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n";
const SYSTEM: &str = "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: shop\n  description: The online shop\nspec:\n  owner: team-a\n";

/// The playwright-core package; fails, never skips, when it is not installed.
fn playwright_core() -> PathBuf {
    let home = std::env::var_os("ORACLES_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/paved-oracles"))
        })
        .expect("ORACLES_HOME or HOME is set");
    let package = home.join("portal-e2e/node_modules/playwright-core");
    assert!(
        package.join("package.json").exists(),
        "playwright-core is missing (`{}` not found); install it with `.ci/setup-oracles`",
        package.display()
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing (/usr/bin/chromium); install it with `.ci/setup-oracles`"
    );
    package
}

async fn portal_in_a_browser_from_sign_in_to_a_created_service(backend: Backend) {
    let playwright = playwright_core();
    let server = TestServer::start_with(TestData::with_builtin_templates(backend).await).await;
    let team = server.write("catalog/team-a.yaml", TEAM);
    server.add_location("file", &team).await;
    let system = server.write("catalog/shop.yaml", SYSTEM);
    server.add_location("file", &system).await;
    let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("portal-screenshots")
        .join(format!("{backend:?}").to_lowercase());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/portal/e2e.cjs");
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .env("PLAYWRIGHT_CORE", &playwright)
        .env("BASE_URL", &server.base_url)
        .env("TOKEN", TEST_TOKEN)
        .env("SCREENSHOTS", &screenshots)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the browser run ends within four minutes")
        .expect("node starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser run failed:\n{stdout}\n{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or(""))
            .unwrap_or_else(|error| panic!("the run's summary is JSON ({error}): {stdout}"));
    assert_eq!(
        summary["screenshots"], 30,
        "15 pages and states at two widths"
    );
    println!("portal screenshots: {}", screenshots.display());
    // What the browser did went through the API's own calls.
    let service = server.get("/api/services/storefront").await;
    assert_eq!(service.status, 200, "{}", service.text);
}

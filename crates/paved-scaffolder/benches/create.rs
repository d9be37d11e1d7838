//! Scaffolder benchmark: create a service from the built-in `web-service` template, git
//! commit and catalog registration included, 20 times; prints the median and the tail.
//! Target (issue 4): median under 200 ms. `cargo bench -p paved-scaffolder --bench create`.

use std::time::{Duration, Instant};

use paved_catalog::{Catalog, CatalogConfig};
use paved_scaffolder::{CreateServiceRequest, Created, Scaffolder, ScaffolderConfig};
use paved_store::{Store, StoreConfig};
use paved_template_registry::{Registry, RegistryConfig};
use serde_json::json;

/// The allocator of the `paved` binary, so figures match what it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&StoreConfig::Sqlite {
        path: dir.path().join("paved.db"),
    })
    .await
    .expect("the store opens");
    let catalog = Catalog::open(
        store.clone(),
        CatalogConfig {
            git_cache: dir.path().join("git-cache"),
            working_dir: dir.path().to_owned(),
            refresh_interval: Duration::from_secs(3600),
            orphan_grace: Duration::ZERO,
            private_paths: Vec::new(),
            read_limits: paved_catalog::budget::ReadLimits::default(),
            url_reader: paved_catalog::url::UrlReader::with_defaults(),
        },
    )
    .await
    .expect("the catalog opens");
    let team = dir.path().join("team.yaml");
    std::fs::write(
        &team,
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n",
    )
    .expect("write the team");
    catalog
        .add_location("file", &team.display().to_string(), false)
        .await
        .expect("the team registers");
    let registry = Registry::new(
        store.clone(),
        catalog.clone(),
        RegistryConfig {
            git_cache: dir.path().join("git-cache"),
            sync_interval: Duration::from_secs(3600),
            builtin_templates: true,
        },
    );
    registry
        .register_builtins()
        .await
        .expect("the built-ins register");
    let scaffolder = Scaffolder::new(
        store,
        catalog,
        registry,
        ScaffolderConfig {
            repositories_dir: dir.path().join("repositories"),
            replica: "bench".to_owned(),
            git_credentials: None,
            crash_after_step: None,
        },
    );
    let mut times = Vec::new();
    for index in 0..21 {
        let request = CreateServiceRequest {
            name: format!("service-{index}"),
            template: "web-service@1".to_owned(),
            owner: "team-a".to_owned(),
            system: None,
            lifecycle: "experimental".to_owned(),
            description: None,
            environment: "dev".to_owned(),
            inputs: json!({"port": 8080}),
            pipeline_inputs: None,
            repository_url: None,
        };
        let mut events = scaffolder.watch_events();
        let started = Instant::now();
        let Created::Task { task, .. } = scaffolder
            .create(request, false)
            .await
            .expect("the request is accepted")
        else {
            unreachable!("not a dry run")
        };
        let state = loop {
            let state = scaffolder.task(&task.id).await.expect("the task").state;
            if state == "succeeded" || state == "failed" {
                break state;
            }
            events.changed().await.expect("the scaffolder is alive");
        };
        let elapsed = started.elapsed();
        assert_eq!(state, "succeeded");
        // The first run warms the caches (parsed bundle, git mirror directory).
        if index > 0 {
            times.push(elapsed);
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "create a service from web-service@1 (render, git commit, catalog): median {:.1} ms, p90 {:.1} ms, max {:.1} ms (n = {})",
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
        times.len()
    );
}

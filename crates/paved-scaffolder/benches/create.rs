//! Scaffolder benchmark: create a service from the built-in `web-service` template, git
//! commit and catalog registration included, 20 times; prints the median and the tail.
//! Target (issue 4): median under 200 ms. `cargo bench -p paved-scaffolder --bench create`.

use std::time::{Duration, Instant};

use paved_catalog::{Catalog, CatalogConfig};
use paved_jobs::{JobRunner, JobRunnerConfig};
use paved_model::access::{Action, AuditRecord, CallOrigin, Principal, Resource, ResourceKind};
use paved_model::ids::ReplicaId;
use paved_scaffolder::{CreateServiceRequest, Created, Scaffolder, ScaffolderConfig};
use paved_store::{Mutation, Store, StoreConfig};
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
            replica: replica(),
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
    let record = admin(Action::CreateLocation, ResourceKind::Location);
    catalog
        .add_location(
            "file",
            &team.display().to_string(),
            false,
            &Mutation::new(&record),
        )
        .await
        .expect("the team registers");
    let registry = Registry::new(
        store.clone(),
        catalog.clone(),
        RegistryConfig {
            git_cache: dir.path().join("git-cache"),
            sync_interval: Duration::from_secs(3600),
            builtin_templates: true,
            cache_bytes: paved_template_registry::DEFAULT_CACHE_BYTES,
        },
    );
    registry
        .register_builtins()
        .await
        .expect("the built-ins register");
    let jobs = JobRunner::new(store.clone(), JobRunnerConfig::new(replica()));
    let scaffolder = Scaffolder::new(
        store,
        catalog,
        registry,
        jobs.clone(),
        ScaffolderConfig {
            repositories_dir: dir.path().join("repositories"),
            git_credentials: None,
            crash_after_step: None,
        },
    );
    tokio::spawn({
        let jobs = jobs.clone();
        async move { jobs.run(std::future::pending()).await }
    });
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
        let mut events = jobs.watch_events();
        let started = Instant::now();
        let record = admin(Action::CreateService, ResourceKind::Service);
        let Created::Job { job, .. } = scaffolder
            .create(request, false, &Principal::Admin, &Mutation::new(&record))
            .await
            .expect("the request is accepted")
        else {
            unreachable!("not a dry run")
        };
        let state = loop {
            let state = jobs.job(&job).await.expect("the job").state;
            if state.is_finished() {
                break state;
            }
            events.changed().await.expect("the runner is alive");
        };
        let elapsed = started.elapsed();
        assert_eq!(state, paved_model::job::JobState::Succeeded);
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

fn replica() -> ReplicaId {
    ReplicaId("replica-bench".to_owned())
}

fn admin(action: Action, kind: ResourceKind) -> AuditRecord {
    AuditRecord::new(
        Principal::Admin,
        action,
        Resource::new(kind, "bench"),
        CallOrigin::default(),
    )
}

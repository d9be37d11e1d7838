//! Template benchmarks: rendering a built-in service template, and registering 500 versions.
//!
//! `cargo bench -p paved-template-registry --bench templates` prints medians and tails; the
//! figures and the machine they were taken on go in `bench/README.md`. Targets (issue 3): a
//! built-in service template renders in under 5 ms; 500 versions register in under 2 s.

use std::time::{Duration, Instant};

use paved_catalog::{Catalog, CatalogConfig};
use paved_store::{Store, StoreConfig};
use paved_template::Limits;
use paved_template::bundle::{Bundle, BundleFile, RenderRequest};
use paved_template_registry::{RegisterRequest, Registry, RegistryConfig, builtin};
use serde_json::json;

/// The allocator of the `paved` binary, so figures match what it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `PAVED_BENCH_PROFILE=parse` only parses, in a loop, for a profiler.
    if std::env::var("PAVED_BENCH_PROFILE").as_deref() == Ok("parse") {
        let files = builtin::files("web-service").expect("a built-in");
        for _ in 0..2000 {
            std::hint::black_box(Bundle::parse(files.clone()).expect("it parses"));
        }
        return;
    }
    if std::env::var("PAVED_BENCH_PROFILE").as_deref() == Ok("register") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(register_versions());
        return;
    }
    parse_builtin();
    render_builtin();
    runaway_renders();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(register_versions());
}

fn parse_builtin() {
    let files = builtin::files("web-service").expect("a built-in");
    let mut parse = Vec::new();
    let mut trial = Vec::new();
    let mut pack = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        let bundle = Bundle::parse(files.clone()).expect("it parses");
        parse.push(started.elapsed());
        let started = Instant::now();
        std::hint::black_box(bundle.trial_render(&Limits::default()));
        trial.push(started.elapsed());
        let started = Instant::now();
        std::hint::black_box(
            paved_template_registry::source::pack_tar_gz(&files).expect("it packs"),
        );
        pack.push(started.elapsed());
    }
    report("parse and check web-service bundle", &mut parse);
    report("trial render web-service bundle", &mut trial);
    report("pack web-service bundle (.tar.gz)", &mut pack);
}

fn render_builtin() {
    for name in [
        "web-service",
        "backend-service",
        "worker-service",
        "scheduled-job",
    ] {
        let bundle = Bundle::parse(builtin::files(name).expect("a built-in")).expect("it parses");
        let request = RenderRequest {
            inputs: json!({
                "environment_variables": {"LOG_LEVEL": "info", "REGION": "eu-west-1"},
                "secrets": {"DB_PASSWORD": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"},
            }),
            ..RenderRequest::default()
        };
        let mut times = Vec::new();
        for _ in 0..300 {
            let started = Instant::now();
            let files = bundle
                .render(&request, &Limits::default())
                .expect("it renders");
            times.push(started.elapsed());
            std::hint::black_box(files);
        }
        report(
            &format!("render {name} (inputs validated, every file)"),
            &mut times[50..].to_vec(),
        );
    }
}

/// How long the sandbox takes to stop a runaway render (fuel, recursion, output size): the
/// limits' error must come quickly, or a hostile bundle holds a worker.
fn runaway_renders() {
    use paved_template::{Newlines, TemplateFile, render_files};
    let cases = [
        (
            "nested loops (fuel)",
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        ),
        (
            "unbounded recursion",
            "{% macro forever(n) %}{{ forever(n + 1) }}{% endmacro %}{{ forever(0) }}",
        ),
        ("2 MB output (size limit)", "{{ 'x' * 2000000 }}"),
    ];
    for (label, text) in cases {
        let files = [TemplateFile::new("t.yaml", text)];
        let mut times = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let outcome = render_files(&files, &json!({}), &Limits::default(), Newlines::AsWritten);
            times.push(started.elapsed());
            assert!(outcome.is_err(), "{label}: the sandbox stops it");
        }
        report(&format!("runaway render stopped: {label}"), &mut times);
    }
    // Nine files of 1 MB each: stopped by the limit on all files together.
    let paths: Vec<String> = (0..9).map(|n| format!("f{n}.txt")).collect();
    let files: Vec<TemplateFile> = paths
        .iter()
        .map(|path| TemplateFile::new(path, "{{ 'x' * 1000000 }}"))
        .collect();
    let mut times = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let outcome = render_files(&files, &json!({}), &Limits::default(), Newlines::AsWritten);
        times.push(started.elapsed());
        assert!(outcome.is_err(), "the bundle's output limit stops it");
    }
    report(
        "runaway render stopped: 9 files of 1 MB (bundle limit)",
        &mut times,
    );
}

async fn register_versions() {
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
            replica: paved_model::ids::ReplicaId("replica-bench".to_owned()),
            private_paths: Vec::new(),
            read_limits: paved_catalog::budget::ReadLimits::default(),
            url_reader: paved_catalog::url::UrlReader::with_defaults(),
        },
    )
    .await
    .expect("the catalog opens");
    let record = paved_model::access::AuditRecord::new(
        paved_model::access::Principal::Admin,
        paved_model::access::Action::RegisterTemplate,
        paved_model::access::Resource::new(paved_model::access::ResourceKind::Template, "bench"),
        paved_model::access::CallOrigin::default(),
    );
    let mutation = paved_store::Mutation::new(&record);
    let registry = Registry::new(
        store,
        catalog,
        RegistryConfig {
            git_cache: dir.path().join("git-cache"),
            sync_interval: Duration::from_secs(3600),
            builtin_templates: false,
            cache_bytes: paved_template_registry::DEFAULT_CACHE_BYTES,
        },
    );
    // Service templates name a compatible environment template, which must exist first.
    registry
        .register(
            RegisterRequest {
                files: builtin::files("ecs-environment").expect("a built-in"),
                source: "bench".to_owned(),
                publish: true,
                ..RegisterRequest::default()
            },
            &mutation,
        )
        .await
        .expect("the environment template registers");
    let base = builtin::files("web-service").expect("a built-in");
    // 500 versions: 50 templates of 10 minor versions each, every one a changed bundle.
    let mut times = Vec::new();
    let started = Instant::now();
    for template in 0..50 {
        for minor in 0..10 {
            let files = variant(&base, template, minor);
            let one = Instant::now();
            let registered = registry
                .register(
                    RegisterRequest {
                        files,
                        source: "bench".to_owned(),
                        publish: true,
                        ..RegisterRequest::default()
                    },
                    &mutation,
                )
                .await
                .expect("it registers");
            times.push(one.elapsed());
            assert!(!registered.unchanged);
        }
    }
    let total = started.elapsed();
    registry.catalog_written().await;
    let with_catalog = started.elapsed();
    report("register one version (web-service bundle)", &mut times);
    // The same checks without the writes: what registration costs before the store.
    let mut dry = Vec::new();
    for minor in 0..100 {
        let one = Instant::now();
        registry
            .register(
                RegisterRequest {
                    files: variant(&base, 0, 100 + minor),
                    source: "bench".to_owned(),
                    dry_run: true,
                    ..RegisterRequest::default()
                },
                &mutation,
            )
            .await
            .expect("it checks");
        dry.push(one.elapsed());
    }
    report("register one version, dry run (no writes)", &mut dry);
    println!(
        "register 500 versions (50 templates x 10): {:.2} s in all; {:.2} s until the catalog shows them",
        total.as_secs_f64(),
        with_catalog.as_secs_f64()
    );
}

/// The built-in bundle renamed to `bench-{template}`, with a comment making version `minor`
/// a different bundle.
fn variant(base: &[BundleFile], template: usize, minor: usize) -> Vec<BundleFile> {
    base.iter()
        .map(|file| {
            let mut file = file.clone();
            if file.path == "paved-template.yaml" {
                let text = String::from_utf8_lossy(&file.bytes)
                    .replace("name: web-service", &format!("name: bench-{template}"));
                file.bytes = text.into_bytes();
            }
            if file.path == "infrastructure/cloudformation.yaml" {
                file.bytes
                    .extend_from_slice(format!("# version {minor}\n").as_bytes());
            }
            file
        })
        .collect()
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n = {})",
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
        times.len()
    );
}

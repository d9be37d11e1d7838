//! The template registry's promises: across replicas racing on one store (two independent
//! registries over one database), and to anonymous callers, whose renders cannot grow its
//! memory without bound.

use paved_catalog::Catalog;
use paved_model::access::{Action, AuditRecord, CallOrigin, Principal, Resource, ResourceKind};
use paved_store::{Mutation, Store};
use paved_template::bundle::BundleFile;
use paved_template_registry::{
    RegisterRequest, Registry, RegistryConfig, RegistryError, TemplateOverrides,
};
use paved_test::{Backend, TestData, both_backends};

/// An environment template whose infrastructure differs by `variant`, so each registration is
/// a new version, padded with a comment of `padding` bytes.
fn environment_bundle_padded(variant: usize, padding: usize) -> Vec<BundleFile> {
    let file = |path: &str, text: String| BundleFile {
        path: path.to_owned(),
        bytes: text.into_bytes(),
    };
    vec![
        file(
            "paved-template.yaml",
            "apiVersion: paved.dev/v1\nkind: EnvironmentTemplate\nmetadata:\n  name: network\n  owner: group:default/platform\nspec:\n  infrastructure:\n    engine: cloudformation\n".to_owned(),
        ),
        file(
            "schema.yaml",
            "type: object\nproperties:\n  cidr:\n    type: string\n    default: 10.0.0.0/16\n".to_owned(),
        ),
        file(
            "infrastructure/cloudformation.yaml",
            format!(
                "# {}\nResources:\n  Vpc{variant}:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: '{{{{ environment.inputs.cidr }}}}'\n",
                "x".repeat(padding)
            ),
        ),
    ]
}

async fn replica(data: &TestData, store: &Store) -> Registry {
    replica_with(data, store, data.registry_config()).await
}

async fn replica_with(data: &TestData, store: &Store, config: RegistryConfig) -> Registry {
    let catalog = Catalog::open(store.clone(), data.catalog_config())
        .await
        .expect("open the catalog");
    Registry::new(store.clone(), catalog, config)
}

fn register_request(variant: usize, padding: usize) -> RegisterRequest {
    RegisterRequest {
        files: environment_bundle_padded(variant, padding),
        source: "archive".to_owned(),
        overrides: TemplateOverrides::default(),
        major: None,
        publish: true,
        dry_run: false,
    }
}

fn register_record() -> AuditRecord {
    AuditRecord::new(
        Principal::Admin,
        Action::RegisterTemplate,
        Resource::new(ResourceKind::Template, "network"),
        CallOrigin::default(),
    )
}

/// Registrations of one template from two replicas at once: every stored version has its own
/// number, the numbers have no gaps, and a registration that lost a number to the other
/// replica is refused as a conflict (never stored twice, never overwritten).
async fn template_version_numbers_are_unique_across_replicas(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = Store::open(&data.store_config())
        .await
        .expect("open the store");
    let replicas = [replica(&data, &store).await, replica(&data, &store).await];
    let per_replica = 8;
    let mut attempts = tokio::task::JoinSet::new();
    for (number, registry) in replicas.iter().enumerate() {
        for attempt in 0..per_replica {
            let registry = registry.clone();
            let variant = number * per_replica + attempt;
            attempts.spawn(async move {
                let record = register_record();
                registry
                    .register(register_request(variant, 0), &Mutation::new(&record))
                    .await
            });
        }
    }
    let mut numbered = Vec::new();
    let mut conflicts = 0;
    while let Some(outcome) = attempts.join_next().await {
        match outcome.expect("a registration task") {
            Ok(registered) => {
                assert!(!registered.unchanged);
                numbered.push(registered.version.version.to_string());
            }
            Err(RegistryError::Conflict { .. }) => conflicts += 1,
            Err(error) => panic!("unexpected registration error: {error}"),
        }
    }
    assert_eq!(numbered.len() + conflicts, 2 * per_replica);

    let mut stored: Vec<String> = store
        .template_versions(Some("network"))
        .await
        .expect("read versions")
        .iter()
        .map(|version| format!("{}.{}", version.major, version.minor))
        .collect();
    stored.sort();
    numbered.sort();
    assert_eq!(stored, numbered, "what was answered is what was stored");
    let mut minors: Vec<u32> = store
        .template_versions(Some("network"))
        .await
        .expect("read versions")
        .iter()
        .map(|version| version.minor)
        .collect();
    minors.sort_unstable();
    let expected: Vec<u32> = (0..u32::try_from(minors.len()).expect("a few versions")).collect();
    assert_eq!(minors, expected, "version numbers without gaps or repeats");
    // Each replica registers one at a time, so at least one of each pair of racing calls wins.
    assert!(
        numbered.len() >= per_replica,
        "only {} of {} registrations were stored",
        numbered.len(),
        2 * per_replica
    );
    let audited = store
        .audit_events(&paved_store::AuditFilter {
            action: Some("template.register".to_owned()),
            limit: 1000,
            ..paved_store::AuditFilter::default()
        })
        .await
        .expect("read the audit log");
    let registered = audited.iter().filter(|event| event.outcome == "ok").count();
    assert_eq!(
        registered,
        numbered.len(),
        "one audit event per stored version"
    );
}

/// Parsing every stored version (as renders of each do) keeps the caches within their bound,
/// and a version that was evicted is parsed again when asked for.
async fn parsed_versions_stay_within_the_cache_bound(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = Store::open(&data.store_config())
        .await
        .expect("open the store");
    let bound = 16 * 1024;
    let registry = replica_with(
        &data,
        &store,
        RegistryConfig {
            cache_bytes: bound,
            ..data.registry_config()
        },
    )
    .await;
    let mut versions = Vec::new();
    for variant in 0..12 {
        let record = register_record();
        let registered = registry
            .register(register_request(variant, 4096), &Mutation::new(&record))
            .await
            .expect("register a version");
        versions.push(registered.version);
    }
    for version in versions.iter().chain(versions.iter()) {
        let bundle = registry
            .bundle("network", version)
            .await
            .expect("parse a stored version");
        assert!(bundle.size_bytes() > 4096);
        assert!(
            registry.cached_bytes() <= 2 * bound,
            "the caches hold {} bytes, over twice {bound}",
            registry.cached_bytes()
        );
    }
    assert!(registry.cached_bytes() > 0, "nothing was cached");
}

both_backends!(
    template_version_numbers_are_unique_across_replicas,
    parsed_versions_stay_within_the_cache_bound,
);

//! Every entity the API returns passes Backstage's own validator (`@backstage/catalog-model`
//! plus the scaffolder's Template v1beta3 validator), installed by `.ci/setup-oracles`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use paved_test::backstage::BackstageValidator;
use paved_test::{Backend, TestServer, both_backends};
use serde_json::Value;

/// Documents in `extra.yaml` and `more/catalog-info.yaml`, which cover the kinds and fields
/// the shared fixture does not: Domain, Resource, Location, a nested Group, every relation
/// field, links, labels, annotations and tags.
const EXTRA: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Domain
metadata:
  name: commerce
  title: Commerce
spec:
  owner: platform
---
apiVersion: backstage.io/v1beta1
kind: Domain
metadata:
  name: payments
spec:
  owner: group:default/platform
  subdomainOf: commerce
  type: product-area
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: checkout-system
  namespace: shop
spec:
  owner: group:default/team-a
  domain: default/commerce
  type: product
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: orders-db
  description: Orders database
  labels:
    tier: data
spec:
  type: database
  owner: platform
  system: storefront
  dependencyOf: [component:web]
  dependsOn: [resource:queue]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  namespace: shop
  title: Checkout
  tags: [java, "c++", "a:b"]
  labels:
    example.com/tier: front_end.v2
    empty: ""
  annotations:
    example.com/owner-note: anything goes here, even spaces
    github.com/project-slug: org/checkout
  links:
    - url: https://example.com/checkout
      title: Dashboard
      icon: dashboard
      type: admin-dashboard
spec:
  type: website
  lifecycle: experimental
  owner: group:default/team-a
  system: checkout-system
  subcomponentOf: component:default/web
  providesApis: [checkout-api]
  consumesApis: [api:default/web-api]
  dependsOn: [resource:default/orders-db, component:default/worker]
  dependencyOf: [component:default/web]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: checkout-api
  namespace: shop
spec:
  type: grpc
  lifecycle: experimental
  owner: group:default/team-a
  system: checkout-system
  definition: "syntax = \"proto3\";"
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  parent: platform
  children: []
  members: [asmith, user:default/jdoe]
  profile:
    displayName: Team A
    email: team-a@example.com
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: asmith
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: more
  description: Points at the worker's own file
spec:
  type: file
  target: ./more/catalog-info.yaml
  presence: required
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: several
spec:
  targets: [./more/catalog-info.yaml]
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: static-site
  tags: [website]
spec:
  owner: group:default/team-a
  type: website
  lifecycle: experimental
  parameters:
    title: Site
    required: [name]
    properties:
      name: {type: string, title: Name}
  steps:
    - id: fetch
      name: Fetch
      action: fetch:template
      input:
        url: ./skeleton
    - id: publish
      if: ${{ parameters.publish }}
      action: publish:github
      input: {repoUrl: "github.com?owner=org&repo=site"}
  output:
    links:
      - title: Repository
        url: ${{ steps.publish.output.remoteUrl }}
"#;

const MORE: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: worker
spec:
  type: service
  lifecycle: production
  owner: platform
  dependsOn: [resource:queue]
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: queue
spec:
  type: sqs-queue
  owner: platform
"#;

/// Six from the shared fixture, eleven from `extra.yaml`, two from `more/catalog-info.yaml`.
const EXPECTED_ENTITIES: usize = 19;

async fn every_returned_entity_passes_backstage(backend: Backend) {
    let validator = BackstageValidator::locate();
    let server = TestServer::start(backend).await;
    let fixture = std::fs::read_to_string(shared_dir().join("oracles/fixtures/catalog-info.yaml"))
        .expect("read the shared catalog-info.yaml fixture");
    let fixture_file = server.write("catalog-info.yaml", &fixture);
    let extra_file = server.write("extra.yaml", EXTRA);
    server.write("more/catalog-info.yaml", MORE);
    for file in [&fixture_file, &extra_file] {
        let added = server.add_location("file", file).await;
        assert_eq!(
            added.body["problems"],
            serde_json::json!([]),
            "registering `{}`: {}",
            file.display(),
            added.text
        );
    }

    let entities = all_entities(&server).await;
    let kinds: BTreeSet<&str> = entities
        .iter()
        .map(|entity| entity["kind"].as_str().expect("every entity has a kind"))
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "API",
            "Component",
            "Domain",
            "Group",
            "Location",
            "Resource",
            "System",
            "Template",
            "User"
        ]),
    );
    assert_eq!(entities.len(), EXPECTED_ENTITIES, "{entities:#?}");
    assert!(
        entities.iter().any(|entity| entity["relations"]
            .as_array()
            .is_some_and(|relations| !relations.is_empty())),
        "relations are part of what is checked"
    );

    // The entities as catalog files: Backstage's default policy refuses root `relations` and
    // `status` in a file (the catalog computes them), so those are checked on their own below.
    let out = tempfile::tempdir().expect("a temporary directory");
    let as_files: Vec<Value> = entities
        .iter()
        .map(|entity| {
            let mut entity = entity.clone();
            let root = entity.as_object_mut().expect("entities are objects");
            root.remove("relations");
            root.remove("status");
            entity
        })
        .collect();
    let file = out.path().join("entities.yaml");
    check_all_ok(&validator, &file, &as_files, None);

    // The entities exactly as returned: Backstage's validator with its root-field policy set
    // to what its catalog API returns (relations and status against Backstage's Entity schema),
    // and each `targetRef` in the form Backstage itself writes
    // (`stringifyEntityRef(parseEntityRef(ref))`).
    let file = out.path().join("entities-with-relations.yaml");
    check_all_ok(&validator, &file, &entities, Some(ALLOW_RELATIONS));
}

both_backends!(every_returned_entity_passes_backstage);

/// Edits to `validate-catalog.js` for entities as the API returns them.
const ALLOW_RELATIONS: &[(&str, &str)] = &[
    (
        "new cm.NoForeignRootFieldsEntityPolicy()",
        "new cm.NoForeignRootFieldsEntityPolicy(['apiVersion', 'kind', 'metadata', 'spec', 'relations', 'status'])",
    ),
    (
        "const e = await policy.enforce(entity);",
        "const e = await policy.enforce(entity);
        for (const r of e.relations ?? []) {
          const canonical = cm.stringifyEntityRef(cm.parseEntityRef(r.targetRef));
          if (canonical !== r.targetRef) throw new Error(`relation ${r.type}: targetRef ${r.targetRef} is not canonical (${canonical})`);
        }",
    ),
];

/// Writes `entities` as one multi-document YAML file (JSON documents separated by `---`) and
/// asserts Backstage's validator accepts every one of them.
#[track_caller]
fn check_all_ok(
    validator: &BackstageValidator,
    file: &Path,
    entities: &[Value],
    edits: Option<&[(&str, &str)]>,
) {
    let documents: Vec<String> = entities
        .iter()
        .map(|entity| serde_json::to_string_pretty(entity).expect("entities serialize"))
        .collect();
    std::fs::write(file, documents.join("\n---\n")).expect("write the entities");
    let verdicts = match edits {
        Some(edits) => validator.run_edited(file, edits),
        None => validator.run(std::slice::from_ref(&file.to_owned())),
    };
    let invalid: Vec<String> = verdicts
        .iter()
        .filter(|verdict| !verdict.ok)
        .map(|verdict| {
            format!(
                "{}\n{}{}",
                verdict.line, verdict.reason, documents[verdict.document]
            )
        })
        .collect();
    assert!(
        invalid.is_empty(),
        "Backstage rejects entities the API returned:\n{}",
        invalid.join("\n")
    );
    assert_eq!(
        verdicts.iter().filter(|verdict| verdict.ok).count(),
        entities.len(),
        "one OK per entity:\n{}",
        verdicts
            .iter()
            .map(|verdict| verdict.line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Every entity, following `pageInfo.nextCursor` with small pages.
async fn all_entities(server: &TestServer) -> Vec<Value> {
    let mut entities = Vec::new();
    let mut refs = BTreeSet::new();
    let mut path = "/api/catalog/entities/by-query?limit=4".to_owned();
    let mut total = None;
    for pages in 1..100 {
        let page = server.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        let items = page.body["items"].as_array().expect("items is an array");
        assert!(items.len() <= 4, "{path} returned {} items", items.len());
        total.get_or_insert(page.body["totalItems"].clone());
        for item in items {
            let entity_ref = format!(
                "{}:{}/{}",
                item["kind"], item["metadata"]["namespace"], item["metadata"]["name"]
            );
            assert!(refs.insert(entity_ref.clone()), "`{entity_ref}` seen twice");
            entities.push(item.clone());
        }
        match page.body["pageInfo"]["nextCursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/api/catalog/entities/by-query?limit=4&cursor={}",
                    encode(cursor)
                );
            }
            None => {
                assert_eq!(total, Some(Value::from(entities.len())), "totalItems");
                assert!(pages > 1, "pages of 4 need cursors");
                return entities;
            }
        }
    }
    panic!("the cursors never end");
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

//! Reading the catalog with Backstage's semantics: filters, predicates, ordering, cursors, field
//! selection, facets, lookups, and relations in both directions.

use paved_model::ids::LocationId;
use paved_test::{Backend, TestResponse, TestServer, both_backends};
use serde_json::{Value, json};

use crate::common::{entity, entity_ref, exists, location_id, refs, relations, scrub};

const ORG: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: org
spec:
  type: organization
  children: [team-a, team-b]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  parent: org
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-b
spec:
  type: team
  parent: org
  children: []
  members: [bob]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: alice
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: bob
spec:
  memberOf: [team-b]
"#;

const SYSTEMS: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Domain
metadata:
  name: shop
spec:
  owner: org
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: storefront
spec:
  owner: team-a
  domain: shop
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: db
spec:
  type: database
  owner: team-a
  system: storefront
"#;

const COMPONENTS: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: web
  tags: [frontend, typescript]
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: website
  lifecycle: production
  owner: group:default/team-a
  system: storefront
  dependsOn: [component:default/orders]
  consumesApis: [orders-api]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  tags: [java]
spec:
  type: service
  lifecycle: production
  owner: group:default/team-a
  system: storefront
  dependsOn: [resource:db]
  providesApis: [orders-api]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: Billing
  description: Charges customers every month
  tags: [java]
spec:
  type: service
  lifecycle: experimental
  owner: team-b
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: search
spec:
  type: service
  lifecycle: experimental
  owner: team-b
"#;

const APIS: &str = r#"apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: orders-api
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  system: storefront
  definition: "openapi: 3.0.0"
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: billing-events
spec:
  type: asyncapi
  lifecycle: production
  owner: team-b
  definition: "asyncapi: 2.6.0"
"#;

/// Every entity of the fixture, in reference order.
const ALL: &[&str] = &[
    "api:default/billing-events",
    "api:default/orders-api",
    "component:default/billing",
    "component:default/orders",
    "component:default/search",
    "component:default/web",
    "domain:default/shop",
    "group:default/org",
    "group:default/team-a",
    "group:default/team-b",
    "resource:default/db",
    "system:default/storefront",
    "user:default/alice",
    "user:default/bob",
];

/// A server with the fixture catalog registered as one glob location.
async fn catalog(backend: Backend) -> (TestServer, LocationId) {
    let server = TestServer::start(backend).await;
    server.write("catalog/org.yaml", ORG);
    server.write("catalog/systems.yaml", SYSTEMS);
    server.write("catalog/components.yaml", COMPONENTS);
    server.write("catalog/apis.yaml", APIS);
    let added = server
        .add_location("file", &server.data.path("catalog/*.yaml"))
        .await;
    assert_eq!(added.body["problems"], json!([]), "{}", added.text);
    assert_eq!(
        added.body["entityRefs"].as_array().map(Vec::len),
        Some(ALL.len())
    );
    (server, location_id(&added))
}

/// `text` without the document that defines `name`.
fn without(text: &str, name: &str) -> String {
    let documents: Vec<&str> = text
        .split("---\n")
        .filter(|document| !document.contains(&format!("  name: {name}\n")))
        .collect();
    assert_eq!(
        documents.len() + 1,
        text.split("---\n").count(),
        "`{name}` is defined once"
    );
    documents.join("---\n")
}

#[track_caller]
fn check(query: &str, response: &TestResponse, expect: &[&str]) {
    assert_eq!(response.status, 200, "`{query}`: {}", response.text);
    let actual = refs(&response.body["items"]);
    assert_eq!(actual, expect, "`{query}`");
    assert_eq!(
        response.body["totalItems"],
        expect.len(),
        "`{query}`: totalItems"
    );
}

async fn filters_follow_backstage_semantics(backend: Backend) {
    let (server, _) = catalog(backend).await;
    let cases: &[(&str, &[&str])] = &[
        // No filter: everything, in reference order.
        ("", ALL),
        // Conditions of one `filter` must all hold.
        (
            "filter=kind=component,spec.owner=group:default/team-a",
            &["component:default/orders", "component:default/web"],
        ),
        // Several `filter` parameters: any of them.
        (
            "filter=kind=api&filter=kind=resource",
            &[
                "api:default/billing-events",
                "api:default/orders-api",
                "resource:default/db",
            ],
        ),
        // A key repeated in one `filter`: any of its values.
        (
            "filter=kind=api,kind=resource",
            &[
                "api:default/billing-events",
                "api:default/orders-api",
                "resource:default/db",
            ],
        ),
        (
            "filter=kind=component,spec.lifecycle=production,spec.lifecycle=experimental,spec.type=service",
            &[
                "component:default/billing",
                "component:default/orders",
                "component:default/search",
            ],
        ),
        // A bare key: the field exists.
        (
            "filter=metadata.tags",
            &[
                "component:default/billing",
                "component:default/orders",
                "component:default/web",
            ],
        ),
        // Keys and values compare case-insensitively; list fields match any element.
        (
            "filter=KIND=Component,Spec.Lifecycle=EXPERIMENTAL",
            &["component:default/billing", "component:default/search"],
        ),
        (
            "filter=metadata.name=BILLING",
            &["component:default/billing"],
        ),
        (
            "filter=metadata.tags=JAVA",
            &["component:default/billing", "component:default/orders"],
        ),
        // Annotation keys hold dots and slashes.
        (
            "filter=metadata.annotations.backstage.io/techdocs-ref=dir:.",
            &["component:default/web"],
        ),
        // `spec.owner` matches as written (web and orders write it in full, the others short);
        // `relations.ownedBy` below matches the resolved reference.
        (
            "filter=spec.owner=group:default/team-a",
            &["component:default/orders", "component:default/web"],
        ),
        // Relations, both directions.
        (
            "filter=relations.ownedBy=group:default/team-a",
            &[
                "api:default/orders-api",
                "component:default/orders",
                "component:default/web",
                "resource:default/db",
                "system:default/storefront",
            ],
        ),
        (
            "filter=relations.ownerOf=component:default/web",
            &["group:default/team-a"],
        ),
        (
            "filter=relations.hasMember=user:default/bob",
            &["group:default/team-b"],
        ),
        (
            "filter=relations.childOf=group:default/org",
            &["group:default/team-a", "group:default/team-b"],
        ),
        (
            "filter=relations.dependencyOf=component:default/web",
            &["component:default/orders"],
        ),
        // Nothing matches.
        ("filter=kind=template", &[]),
        ("filter=spec.owner=group:default/nobody", &[]),
        ("filter=metadata.nothing", &[]),
        // Full-text search, alone and with a filter.
        ("fullTextFilterTerm=CHARGES", &["component:default/billing"]),
        (
            "fullTextFilterTerm=ord&fullTextFilterFields=metadata.name",
            &["api:default/orders-api", "component:default/orders"],
        ),
        (
            "filter=kind=component&fullTextFilterTerm=ord&fullTextFilterFields=metadata.name",
            &["component:default/orders"],
        ),
        // Ordering: by a field, descending, then by reference.
        (
            "filter=kind=component&orderField=metadata.name,desc",
            &[
                "component:default/web",
                "component:default/search",
                "component:default/orders",
                "component:default/billing",
            ],
        ),
        (
            "filter=kind=component,kind=api&orderField=spec.lifecycle,asc&orderField=metadata.name,desc",
            &[
                "component:default/search",
                "component:default/billing",
                "component:default/web",
                "api:default/orders-api",
                "component:default/orders",
                "api:default/billing-events",
            ],
        ),
        // Entities without the order field sort last.
        (
            "filter=kind=component&orderField=metadata.description,asc",
            &[
                "component:default/billing",
                "component:default/orders",
                "component:default/search",
                "component:default/web",
            ],
        ),
    ];
    for (query, expect) in cases {
        let response = server
            .get(&format!("/api/catalog/entities/by-query?{query}"))
            .await;
        check(query, &response, expect);
    }
}

async fn fields_select_parts_of_entities(backend: Backend) {
    let (server, _) = catalog(backend).await;
    let response = server
        .get("/api/catalog/entities/by-query?filter=kind=api&fields=kind,metadata.name")
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        response.body,
        json!({
            "items": [
                {"kind": "API", "metadata": {"name": "billing-events"}},
                {"kind": "API", "metadata": {"name": "orders-api"}},
            ],
            "totalItems": 2,
            "pageInfo": {},
        })
    );
    // Dotted annotation keys and relations can be selected too.
    let response = server
        .get("/api/catalog/entities/by-query?filter=metadata.name=web&fields=metadata.annotations.backstage.io/techdocs-ref&fields=relations")
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let item = &response.body["items"][0];
    assert_eq!(
        item["metadata"],
        json!({"annotations": {"backstage.io/techdocs-ref": "dir:."}})
    );
    assert_eq!(
        item.as_object()
            .map(|item| item.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["metadata".to_owned(), "relations".to_owned()])
    );
    assert_eq!(relations(item).len(), 4, "{item}");
}

async fn cursors_walk_every_page_once(backend: Backend) {
    let (server, _) = catalog(backend).await;
    let mut seen = Vec::new();
    let mut response = server.get("/api/catalog/entities/by-query?limit=4").await;
    let mut pages = 0;
    loop {
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(response.body["totalItems"], ALL.len(), "stable total");
        let items = refs(&response.body["items"]);
        assert!(items.len() <= 4, "page larger than the limit: {items:?}");
        let page_info = &response.body["pageInfo"];
        assert_eq!(
            page_info.get("prevCursor").is_some(),
            pages > 0,
            "prevCursor on page {}: {page_info}",
            pages + 1
        );
        seen.extend(items);
        pages += 1;
        let Some(next) = page_info["nextCursor"].as_str() else {
            break;
        };
        assert!(pages < 10, "the cursors do not end");
        response = server
            .get(&format!("/api/catalog/entities/by-query?cursor={next}"))
            .await;
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, ALL, "every entity once, in order");

    // A cursor keeps the filter and order; `prevCursor` leads back to the previous page.
    let first = server
        .get("/api/catalog/entities/by-query?filter=kind=component&orderField=metadata.name,desc&limit=3")
        .await;
    assert_eq!(
        refs(&first.body["items"]),
        [
            "component:default/web",
            "component:default/search",
            "component:default/orders",
        ]
    );
    assert_eq!(first.body["totalItems"], 4);
    let next = first.body["pageInfo"]["nextCursor"]
        .as_str()
        .expect("a next page");
    let second = server
        .get(&format!("/api/catalog/entities/by-query?cursor={next}"))
        .await;
    assert_eq!(refs(&second.body["items"]), ["component:default/billing"]);
    assert_eq!(second.body["totalItems"], 4);
    assert_eq!(second.body["pageInfo"].get("nextCursor"), None);
    let previous = second.body["pageInfo"]["prevCursor"]
        .as_str()
        .expect("a previous page");
    let back = server
        .get(&format!("/api/catalog/entities/by-query?cursor={previous}"))
        .await;
    assert_eq!(back.body["items"], first.body["items"]);
    // `limit` may change along the way.
    let wider = server
        .get(&format!(
            "/api/catalog/entities/by-query?cursor={previous}&limit=10"
        ))
        .await;
    assert_eq!(
        refs(&wider.body["items"]),
        [
            "component:default/web",
            "component:default/search",
            "component:default/orders",
            "component:default/billing",
        ]
    );
}

async fn bad_queries_are_refused(backend: Backend) {
    let (server, _) = catalog(backend).await;
    let cases: &[(&str, &str)] = &[
        (
            "invalid_filter",
            "/api/catalog/entities/by-query?filter==component",
        ),
        ("invalid_cursor", "/api/catalog/entities/by-query?cursor=!!"),
        (
            "invalid_cursor_json",
            "/api/catalog/entities/by-query?cursor=bm90IGEgcXVlcnk",
        ),
        ("invalid_limit", "/api/catalog/entities/by-query?limit=-1"),
        (
            "invalid_order",
            "/api/catalog/entities/by-query?orderField=metadata.name,sideways",
        ),
        ("invalid_list_filter", "/api/catalog/entities?filter=,=x"),
        ("facet_required", "/api/catalog/entity-facets"),
    ];
    for (name, path) in cases {
        let response = server.get(path).await;
        assert_eq!(response.status, 400, "`{path}`: {}", response.text);
        assert_eq!(response.body["response"]["statusCode"], 400, "{path}");
        insta::assert_json_snapshot!(format!("bad_query_{name}"), response.body);
    }
}

async fn predicates_select_entities(backend: Backend) {
    let (server, _) = catalog(backend).await;
    let cases: Vec<(Value, &[&str])> = vec![
        (
            json!({
                "query": {"kind": "component", "$not": {"spec.lifecycle": "experimental"}},
                "limit": 2,
                "orderBy": [{"field": "metadata.name", "order": "asc"}],
            }),
            &["component:default/orders", "component:default/web"],
        ),
        (
            json!({"query": {"$any": [{"kind": "resource"}, {"spec.type": "OpenAPI"}]}}),
            &["api:default/orders-api", "resource:default/db"],
        ),
        (
            json!({"query": {"$all": [{"kind": "component"}, {"spec.type": "service"}]}}),
            &[
                "component:default/billing",
                "component:default/orders",
                "component:default/search",
            ],
        ),
        (
            json!({"query": {
                "kind": "component",
                "spec.lifecycle": {"$in": ["EXPERIMENTAL", "retired"]},
            }}),
            &["component:default/billing", "component:default/search"],
        ),
        (
            json!({"query": {"kind": "component", "metadata.tags": {"$exists": false}}}),
            &["component:default/search"],
        ),
        (
            json!({"query": {"metadata.description": {"$exists": true}}}),
            &["component:default/billing"],
        ),
        (
            json!({"query": {"metadata.name": {"$hasPrefix": "ORD"}}}),
            &["api:default/orders-api", "component:default/orders"],
        ),
        (
            json!({"query": {"metadata.tags": {"$contains": "java"}}}),
            &["component:default/billing", "component:default/orders"],
        ),
        (
            json!({"query": {"relations.ownedBy": "group:default/team-b"}, "orderBy": [{"field": "kind", "order": "desc"}]}),
            &[
                "component:default/billing",
                "component:default/search",
                "api:default/billing-events",
            ],
        ),
        (
            json!({"query": {"kind": "group"}, "fullTextFilter": {"term": "TEAM-", "fields": ["metadata.name"]}}),
            &["group:default/team-a", "group:default/team-b"],
        ),
        (json!({}), ALL),
    ];
    for (body, expect) in &cases {
        let response = server
            .post("/api/catalog/entities/by-query", body.clone())
            .await;
        check(&body.to_string(), &response, expect);
        assert_eq!(response.body["pageInfo"], json!({}), "{body}");
    }

    // Cursors work the same way through the predicate endpoint.
    let first = server
        .post(
            "/api/catalog/entities/by-query",
            json!({"query": {"kind": "component"}, "limit": 3, "orderBy": [{"field": "metadata.name"}]}),
        )
        .await;
    assert_eq!(
        refs(&first.body["items"]),
        [
            "component:default/billing",
            "component:default/orders",
            "component:default/search",
        ]
    );
    assert_eq!(first.body["totalItems"], 4);
    let cursor = first.body["pageInfo"]["nextCursor"]
        .as_str()
        .expect("a next page");
    let second = server
        .post(
            "/api/catalog/entities/by-query",
            json!({"cursor": cursor, "fields": ["metadata.name"]}),
        )
        .await;
    assert_eq!(
        second.body,
        json!({
            "items": [{"metadata": {"name": "web"}}],
            "totalItems": 4,
            "pageInfo": {"prevCursor": second.body["pageInfo"]["prevCursor"]},
        })
    );
    assert!(second.body["pageInfo"]["prevCursor"].is_string());

    let cases = [
        (
            "unknown_operator",
            json!({"query": {"kind": {"$regex": "x"}}}),
        ),
        ("bad_any", json!({"query": {"$any": {"kind": "component"}}})),
        (
            "bad_in",
            json!({"query": {"$not": {"kind": {"$in": [{"a": 1}]}}}}),
        ),
        (
            "bad_order",
            json!({"orderBy": [{"field": "kind", "order": "up"}]}),
        ),
        ("bad_body", json!({"limit": "two"})),
        ("bad_cursor", json!({"cursor": "!!"})),
    ];
    for (name, body) in cases {
        let response = server
            .post("/api/catalog/entities/by-query", body.clone())
            .await;
        assert_eq!(response.status, 400, "{body}: {}", response.text);
        insta::assert_json_snapshot!(format!("bad_predicate_{name}"), response.body);
    }
}

async fn entities_lists_and_lookups(backend: Backend) {
    let (server, _) = catalog(backend).await;

    // `GET /entities`: Backstage's older bare array.
    let list = server.get("/api/catalog/entities?filter=kind=group").await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        refs(&list.body),
        [
            "group:default/org",
            "group:default/team-a",
            "group:default/team-b"
        ]
    );
    let list = server
        .get("/api/catalog/entities?filter=kind=user&fields=metadata.name")
        .await;
    assert_eq!(
        list.body,
        json!([{"metadata": {"name": "alice"}}, {"metadata": {"name": "bob"}}])
    );
    let list = server.get("/api/catalog/entities?limit=2&offset=12").await;
    assert_eq!(refs(&list.body), ["user:default/alice", "user:default/bob"]);

    // By name, kind and name compare case-insensitively; the name keeps its case.
    let billing = entity(&server, "COMPONENT/default/billing").await;
    assert_eq!(billing["metadata"]["name"], "Billing");
    let same = entity(&server, "component/Default/BILLING").await;
    assert_eq!(same, billing);
    let missing = server
        .get("/api/catalog/entities/by-name/component/default/nothing")
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    insta::assert_json_snapshot!("by_name_not_found", missing.body);

    // By uid.
    let uid = billing["metadata"]["uid"].as_str().expect("a uid");
    let by_uid = server
        .get(&format!("/api/catalog/entities/by-uid/{uid}"))
        .await;
    assert_eq!(by_uid.status, 200, "{}", by_uid.text);
    assert_eq!(by_uid.body, billing);
    let missing = server
        .get("/api/catalog/entities/by-uid/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_eq!(missing.body["error"]["code"], "entity_not_found");

    // By refs: in the order asked, null where missing, short forms and any case accepted.
    let by_refs = server
        .post(
            "/api/catalog/entities/by-refs",
            json!({"entityRefs": [
                "user:default/bob",
                "component:default/missing",
                "API:ORDERS-API",
                "not a ref",
                "group:team-a",
            ]}),
        )
        .await;
    assert_eq!(by_refs.status, 200, "{}", by_refs.text);
    let items: Vec<Option<String>> = by_refs.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| (!item.is_null()).then(|| entity_ref(item)))
        .collect();
    assert_eq!(
        items,
        [
            Some("user:default/bob".to_owned()),
            None,
            Some("api:default/orders-api".to_owned()),
            None,
            Some("group:default/team-a".to_owned()),
        ]
    );
    assert_eq!(
        by_refs.body["items"][0],
        entity(&server, "user/default/bob").await,
        "whole entities, relations included"
    );
    let by_refs = server
        .post(
            "/api/catalog/entities/by-refs?fields=kind",
            json!({"entityRefs": ["component:web", "component:nothing"], "fields": ["metadata.name"]}),
        )
        .await;
    assert_eq!(
        by_refs.body,
        json!({"items": [{"kind": "Component", "metadata": {"name": "web"}}, null]})
    );

    // The whole shape of one entity as the API returns it.
    let team = entity(&server, "group/default/team-a").await;
    insta::assert_json_snapshot!("group_team_a", scrub(&server, &team), {
        ".metadata.uid" => "[uid]",
        ".metadata.etag" => "[etag]",
    });
}

async fn facets_count_values(backend: Backend) {
    let (server, _) = catalog(backend).await;
    let all = server
        .get("/api/catalog/entity-facets?facet=kind&facet=spec.type")
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(
        all.body,
        json!({"facets": {
            "kind": [
                {"value": "Component", "count": 4},
                {"value": "Group", "count": 3},
                {"value": "API", "count": 2},
                {"value": "User", "count": 2},
                {"value": "Domain", "count": 1},
                {"value": "Resource", "count": 1},
                {"value": "System", "count": 1},
            ],
            "spec.type": [
                {"value": "service", "count": 3},
                {"value": "team", "count": 2},
                {"value": "asyncapi", "count": 1},
                {"value": "database", "count": 1},
                {"value": "openapi", "count": 1},
                {"value": "organization", "count": 1},
                {"value": "website", "count": 1},
            ],
        }})
    );
    let filtered = server
        .get("/api/catalog/entity-facets?facet=kind&facet=spec.type&facet=metadata.tags&filter=spec.owner=group:default/team-a&filter=kind=user")
        .await;
    assert_eq!(filtered.status, 200, "{}", filtered.text);
    assert_eq!(
        filtered.body,
        json!({"facets": {
            "kind": [
                {"value": "Component", "count": 2},
                {"value": "User", "count": 2},
            ],
            "metadata.tags": [
                {"value": "frontend", "count": 1},
                {"value": "java", "count": 1},
                {"value": "typescript", "count": 1},
            ],
            "spec.type": [
                {"value": "service", "count": 1},
                {"value": "website", "count": 1},
            ],
        }})
    );
    let none = server
        .get("/api/catalog/entity-facets?facet=spec.nothing&filter=kind=template")
        .await;
    assert_eq!(none.body, json!({"facets": {"spec.nothing": []}}));
}

/// Each relation type the fixture declares, from the entity that declares it, with the reverse
/// its target must show.
const RELATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "component/default/web",
        "ownedBy",
        "group:default/team-a",
        "ownerOf",
    ),
    (
        "component/default/web",
        "partOf",
        "system:default/storefront",
        "hasPart",
    ),
    (
        "system/default/storefront",
        "partOf",
        "domain:default/shop",
        "hasPart",
    ),
    (
        "component/default/web",
        "dependsOn",
        "component:default/orders",
        "dependencyOf",
    ),
    (
        "component/default/orders",
        "dependsOn",
        "resource:default/db",
        "dependencyOf",
    ),
    (
        "component/default/orders",
        "providesApi",
        "api:default/orders-api",
        "apiProvidedBy",
    ),
    (
        "component/default/web",
        "consumesApi",
        "api:default/orders-api",
        "apiConsumedBy",
    ),
    (
        "user/default/alice",
        "memberOf",
        "group:default/team-a",
        "hasMember",
    ),
    (
        "group/default/team-b",
        "hasMember",
        "user:default/bob",
        "memberOf",
    ),
    (
        "group/default/org",
        "parentOf",
        "group:default/team-a",
        "childOf",
    ),
    (
        "group/default/team-a",
        "childOf",
        "group:default/org",
        "parentOf",
    ),
];

async fn relations_go_both_ways(backend: Backend) {
    let (server, location) = catalog(backend).await;
    for (source, relation, target, reverse) in RELATIONS {
        let source_entity = entity(&server, source).await;
        let source_ref = entity_ref(&source_entity);
        assert!(
            relations(&source_entity).contains(&format!("{relation} {target}")),
            "`{source}` lacks `{relation} {target}`: {:?}",
            relations(&source_entity)
        );
        let target_path = target.replacen(':', "/", 1);
        let target_entity = entity(&server, &target_path).await;
        assert!(
            relations(&target_entity).contains(&format!("{reverse} {source_ref}")),
            "`{target}` lacks `{reverse} {source_ref}`: {:?}",
            relations(&target_entity)
        );
    }
    // Every relation of every entity, sorted and without duplicates (team-b and bob, org and
    // its children declare theirs from both ends).
    let mut all = serde_json::Map::new();
    for entity_ref in ALL {
        let path = entity_ref.replacen(':', "/", 1);
        all.insert(
            (*entity_ref).to_owned(),
            json!(relations(&entity(&server, &path).await)),
        );
    }
    insta::assert_json_snapshot!("relations_of_every_entity", all);

    // Removing `web` and `team-b` from their files: orphaned at the first refresh, gone at the
    // second, and the reverse relations of their targets go with them.
    server.write("catalog/components.yaml", &without(COMPONENTS, "web"));
    server.write("catalog/org.yaml", &without(ORG, "team-b"));
    let first = server
        .catalog
        .refresh_location(
            &location,
            &paved_store::Mutation::new(&paved_test::admin_record(
                paved_model::access::Action::RefreshCatalog,
                paved_model::access::ResourceKind::Location,
                "test",
            )),
        )
        .await
        .expect("refresh");
    assert_eq!((first.orphaned, first.deleted), (2, 0), "{first:?}");
    let web = entity(&server, "component/default/web").await;
    assert_eq!(
        web["metadata"]["annotations"]["backstage.io/orphan"],
        "true"
    );
    assert!(
        relations(&entity(&server, "group/default/team-a").await)
            .contains(&"ownerOf component:default/web".to_owned())
    );
    let second = server
        .catalog
        .refresh_location(
            &location,
            &paved_store::Mutation::new(&paved_test::admin_record(
                paved_model::access::Action::RefreshCatalog,
                paved_model::access::ResourceKind::Location,
                "test",
            )),
        )
        .await
        .expect("refresh");
    assert_eq!((second.orphaned, second.deleted), (0, 2), "{second:?}");
    assert!(!exists(&server, "component/default/web").await);
    assert!(!exists(&server, "group/default/team-b").await);
    let cases: &[(&str, &[&str])] = &[
        (
            "group/default/team-a",
            &[
                "childOf group:default/org",
                "hasMember user:default/alice",
                "ownerOf api:default/orders-api",
                "ownerOf component:default/orders",
                "ownerOf resource:default/db",
                "ownerOf system:default/storefront",
            ],
        ),
        (
            "system/default/storefront",
            &[
                "hasPart api:default/orders-api",
                "hasPart component:default/orders",
                "hasPart resource:default/db",
                "ownedBy group:default/team-a",
                "partOf domain:default/shop",
            ],
        ),
        (
            "component/default/orders",
            &[
                "dependsOn resource:default/db",
                "ownedBy group:default/team-a",
                "partOf system:default/storefront",
                "providesApi api:default/orders-api",
            ],
        ),
        (
            "api/default/orders-api",
            &[
                "apiProvidedBy component:default/orders",
                "ownedBy group:default/team-a",
                "partOf system:default/storefront",
            ],
        ),
        // Relations an entity declares itself stay, even towards an entity that is gone.
        (
            "group/default/org",
            &[
                "ownerOf domain:default/shop",
                "parentOf group:default/team-a",
                "parentOf group:default/team-b",
            ],
        ),
        ("user/default/bob", &["memberOf group:default/team-b"]),
    ];
    for (path, expect) in cases {
        let mut actual = relations(&entity(&server, path).await);
        let mut expect: Vec<String> = expect.iter().map(|line| (*line).to_owned()).collect();
        actual.sort();
        expect.sort();
        assert_eq!(actual, expect, "relations of `{path}`");
    }
    // Filters agree with the relations shown.
    let cases: &[(&str, &[&str])] = &[
        ("filter=relations.ownerOf=component:default/web", &[]),
        ("filter=relations.dependencyOf=component:default/web", &[]),
        ("filter=relations.apiConsumedBy", &[]),
        ("filter=relations.hasPart=component:default/web", &[]),
        (
            "filter=relations.childOf=group:default/org",
            &["group:default/team-a"],
        ),
        (
            "filter=relations.parentOf=group:default/team-b",
            &["group:default/org"],
        ),
        (
            "filter=relations.memberOf=group:default/team-b",
            &["user:default/bob"],
        ),
        ("filter=relations.hasMember", &["group:default/team-a"]),
    ];
    for (query, expect) in cases {
        let response = server
            .get(&format!("/api/catalog/entities/by-query?{query}"))
            .await;
        check(query, &response, expect);
    }
}

both_backends!(
    filters_follow_backstage_semantics,
    fields_select_parts_of_entities,
    cursors_walk_every_page_once,
    bad_queries_are_refused,
    predicates_select_entities,
    entities_lists_and_lookups,
    facets_count_values,
    relations_go_both_ways,
);

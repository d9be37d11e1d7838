//! Helpers shared by the HTTP API tests: reading references and relations out of responses,
//! scrubbing temporary paths for snapshots, and requests the harness does not make.

use paved_model::ids::LocationId;
use paved_test::{TestResponse, TestServer};
use serde_json::Value;

/// An entity's canonical reference, `kind:namespace/name` in lowercase, read from its body.
pub fn entity_ref(entity: &Value) -> String {
    let text = |pointer: &str| {
        entity
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("entity without `{pointer}`: {entity}"))
            .to_lowercase()
    };
    let namespace = entity
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_lowercase();
    format!("{}:{namespace}/{}", text("/kind"), text("/metadata/name"))
}

/// The references of a list of entities (`items` of a page, or a bare array).
/// The strings of a JSON array.
pub fn strings(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("expected an array of strings, got {items}"))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("expected a string, got {item}"))
                .to_owned()
        })
        .collect()
}

pub fn refs(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("expected an array of entities, got {items}"))
        .iter()
        .map(entity_ref)
        .collect()
}

/// An entity's relations as `type targetRef` lines, in the order the API returns them.
pub fn relations(entity: &Value) -> Vec<String> {
    entity["relations"]
        .as_array()
        .unwrap_or_else(|| panic!("entity without relations: {entity}"))
        .iter()
        .map(|relation| {
            let keys: Vec<&str> = relation
                .as_object()
                .map(|object| object.keys().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(
                keys,
                ["type", "targetRef"],
                "a relation is exactly {{type, targetRef}}"
            );
            format!(
                "{} {}",
                relation["type"].as_str().unwrap_or_default(),
                relation["targetRef"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// Replaces the test's data directory in every string with `[DATA]`, so snapshots hold no
/// temporary paths.
pub fn scrub(server: &TestServer, value: &Value) -> Value {
    let data_dir = server.data.dir.path().display().to_string();
    scrub_with(&data_dir, value)
}

fn scrub_with(data_dir: &str, value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(text.replace(data_dir, "[DATA]")),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| scrub_with(data_dir, item))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.replace(data_dir, "[DATA]"), scrub_with(data_dir, item)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The id of the location a `POST /locations` created.
pub fn location_id(response: &TestResponse) -> LocationId {
    LocationId(
        response.body["location"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no location id in {}", response.text))
            .to_owned(),
    )
}

/// Fetches an entity by `kind/namespace/name` and asserts it exists.
pub async fn entity(server: &TestServer, kind_namespace_name: &str) -> Value {
    let response = server
        .get(&format!(
            "/api/catalog/entities/by-name/{kind_namespace_name}"
        ))
        .await;
    assert_eq!(
        response.status, 200,
        "entity `{kind_namespace_name}`: {}",
        response.text
    );
    response.body
}

/// Whether an entity exists, by `kind/namespace/name`.
pub async fn exists(server: &TestServer, kind_namespace_name: &str) -> bool {
    let response = server
        .get(&format!(
            "/api/catalog/entities/by-name/{kind_namespace_name}"
        ))
        .await;
    match response.status {
        200 => true,
        404 => false,
        other => panic!(
            "by-name `{kind_namespace_name}` answered {other}: {}",
            response.text
        ),
    }
}

/// The registered locations, as `type target` with the data directory scrubbed.
pub async fn locations(server: &TestServer) -> Vec<String> {
    let response = server.get("/api/catalog/locations").await;
    assert_eq!(response.status, 200, "{}", response.text);
    scrub(server, &response.body)
        .as_array()
        .expect("locations are an array")
        .iter()
        .map(|item| {
            format!(
                "{} {}",
                item["data"]["type"].as_str().unwrap_or_default(),
                item["data"]["target"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// Sends a request the harness has no helper for: any method, optional bearer token, optional
/// JSON body.
pub async fn request(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the test server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    TestResponse { status, body, text }
}

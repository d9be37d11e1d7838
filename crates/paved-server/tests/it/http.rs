//! HTTP as a hardened server answers it: the documented body limits are the effective ones,
//! over them is 413 in the route's error shape (declared or chunked), every error answer is
//! in the JSON envelope (404, 405 and rejections included; ECS's shape under `/ecs`), and
//! every answer carries `nosniff` and a same-origin resource policy, with no CORS.

use std::path::Path;

use base64::Engine as _;
use paved_template_registry::source::{self, SourceLimits};
use paved_test::{Backend, TEST_TOKEN, TestServer, both_backends};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

both_backends!(
    a_bundle_file_just_under_the_documented_limit_registers,
    bodies_over_the_limit_get_413_in_the_envelope,
    every_error_answer_is_in_an_envelope,
);

/// `size` bytes of text that compresses poorly: lines of pseudo-random hexadecimal in a
/// Terraform comment (a xorshift generator, so the text is the same every run).
fn incompressible_terraform(size: usize) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut text = String::with_capacity(size);
    while text.len() + 66 <= size {
        text.push_str("# ");
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(&format!("{state:016x}"));
        }
        text.push('\n');
    }
    text
}

async fn a_bundle_file_just_under_the_documented_limit_registers(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proton/env-tf");
    let mut files = source::read_dir(&fixture, &SourceLimits::default()).expect("the fixture");
    // 3.9 MB, under the documented 4 MiB a file; as base64 in JSON it is far over axum's
    // 2 MB default body limit.
    let big = incompressible_terraform(3_900_000);
    files.push(paved_template::bundle::BundleFile {
        path: "infrastructure/big.tf".to_owned(),
        bytes: big.clone().into_bytes(),
    });
    let archive = base64::engine::general_purpose::STANDARD
        .encode(source::pack_tar_gz(&files).expect("the bundle packs"));
    assert!(archive.len() > 2_000_000, "{} bytes", archive.len());
    let registered = server
        .post(
            "/api/templates/versions",
            json!({"name": "big-env", "source": {"type": "archive", "data": archive}}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let files = server
        .post(
            "/api/templates/big-env/render",
            json!({"version": "1.0", "inputs": {"ssm_parameter_value": "x"}}),
        )
        .await;
    assert_eq!(files.status, 200);
    let rendered = files.body["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|file| file["path"] == "infrastructure/big.tf")
        .and_then(|file| file["contents"].as_str())
        .map(str::len);
    assert_eq!(rendered, Some(big.len()));
}

/// Sends `head` (and then `body`, concurrently) on a new connection and returns the
/// answer's status line and JSON body.
async fn raw_exchange(server: &TestServer, head: String, body: Vec<u8>) -> (String, Value) {
    let address = server.base_url.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let (mut reading, mut writing) = stream.into_split();
    writing.write_all(head.as_bytes()).await.expect("write");
    // The server may answer and close before the body is all sent: that is the point.
    let sending = tokio::spawn(async move {
        let _ = writing.write_all(&body).await;
        writing
    });
    let mut answer = Vec::new();
    let _ = reading.read_to_end(&mut answer).await;
    drop(sending.await);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    // A chunked answer: the JSON is between the chunk size line and the final chunk.
    let json = body
        .find('{')
        .zip(body.rfind('}'))
        .and_then(|(start, end)| serde_json::from_str(&body[start..=end]).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

async fn bodies_over_the_limit_get_413_in_the_envelope(backend: Backend) {
    let server = TestServer::start(backend).await;
    let limit = paved_server::http::MAX_BODY_BYTES;
    let expected = json!({
        "error": {"name": "PayloadTooLargeError", "code": "payload_too_large",
                  "message": format!("the request body is over this route's limit of {limit} bytes")},
        "response": {"statusCode": 413}
    });

    // A declared length over the limit: refused before the body is read (none is sent).
    let head = format!(
        "POST /api/catalog/validate-entity HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TEST_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        limit + 1
    );
    let (status, body) = raw_exchange(&server, head, Vec::new()).await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(body, expected);

    // A chunked body that grows over the limit.
    let head = format!(
        "POST /api/catalog/validate-entity HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TEST_TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let chunk = vec![b' '; 64 * 1024];
    let mut body = Vec::new();
    for _ in 0..=(limit / chunk.len()) {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let (status, answer) = raw_exchange(&server, head, body).await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(answer, expected);

    // `/ecs` answers in ECS's shape.
    let head = format!(
        "POST /ecs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TEST_TOKEN}\r\n\
         X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters\r\n\
         Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
        paved_server::http::ECS_BODY_BYTES + 1
    );
    let (status, body) = raw_exchange(&server, head, Vec::new()).await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(
        body,
        json!({"__type": "ClientException", "message": format!(
            "The request body is over the limit of {} bytes.", paved_server::http::ECS_BODY_BYTES)})
    );

    // Under the limit, the same route answers as usual.
    let fine = server
        .post(
            "/api/catalog/validate-entity",
            json!({"entity": {}, "location": "url:x"}),
        )
        .await;
    // (Backstage's own shape for this route: a list of errors.)
    assert_eq!(fine.status, 400, "{}", fine.text);
    assert_eq!(
        fine.body["errors"][0]["name"], "InputError",
        "{}",
        fine.text
    );
}

async fn every_error_answer_is_in_an_envelope(backend: Backend) {
    let server = TestServer::start(backend).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base_url);
    let cases = [
        (
            reqwest::Method::GET,
            "/nowhere",
            404,
            "route_not_found",
            "no route for `GET /nowhere`",
        ),
        (
            reqwest::Method::DELETE,
            "/api/templates",
            405,
            "method_not_allowed",
            "`/api/templates` does not take `DELETE`; it takes GET",
        ),
        (
            reqwest::Method::GET,
            "/api/templates/%FF",
            400,
            "invalid_request",
            "invalid utf-8",
        ),
    ];
    for (method, path, status, code, message) in cases {
        let response = client
            .request(method.clone(), url(path))
            .header("Origin", "https://elsewhere.example")
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let headers = response.headers().clone();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cross-origin-resource-policy"], "same-origin");
        assert!(!headers.contains_key("access-control-allow-origin"));
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(body["error"]["code"], code, "{method} {path}: {body}");
        assert_eq!(body["response"]["statusCode"], status);
        let text = body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        assert!(
            text.contains(&message.to_lowercase()),
            "{method} {path}: {body}"
        );
    }

    // `/ecs` in ECS's shape.
    let response = client.get(url("/ecs")).send().await.expect("an answer");
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["__type"], "UnknownOperationException", "{body}");

    // A successful answer has the same headers, and no CORS either.
    let response = client
        .get(url("/healthz"))
        .header("Origin", "https://elsewhere.example")
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        response.headers()["cross-origin-resource-policy"],
        "same-origin"
    );
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

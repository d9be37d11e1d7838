//! Each golden path's inputs reach the app as ECS would run it, read from the rendered files
//! alone (no local-engine behaviour): the task definition's container environment over the
//! Dockerfile's `ENV` is what the container sees, and its `PORT` and `HEALTH_CHECK_PATH` must be
//! the container port, the target group's port and health check path, the load balancer's
//! container port and Service Connect's port. The app started from the Dockerfile's `CMD` with
//! exactly that environment must then answer its health check on that port.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::render::{Names, render_builtin};
use crate::{scaffold, tempdir};

/// What one golden path's rendered files say about the app's port and health check.
#[derive(Debug, Default)]
struct Wiring {
    /// The container's environment as ECS builds it: the image's `ENV`, then the task
    /// definition's `Environment` over it.
    container_environment: BTreeMap<String, String>,
    /// The Dockerfile's `ENV` alone: what `docker run` of the image sees.
    image_environment: BTreeMap<String, String>,
    exposed_port: Option<u16>,
    cmd: Vec<String>,
    container_port: Option<u16>,
    target_group_port: Option<u16>,
    target_group_health_check_path: Option<String>,
    load_balancer_container_port: Option<u16>,
    service_connect_port: Option<u16>,
}

/// Renders `template` with `inputs` into `dir` (the repository's files) and reads the wiring.
fn wiring(dir: &Path, template: &str, inputs: Value) -> Wiring {
    let names = Names {
        environment: "prod-eu",
        service: "payments-api",
        instance: "prod-eu",
    };
    let files = render_builtin(template, &names, inputs, None);
    scaffold(dir, &files);
    let cloudformation = files
        .iter()
        .find(|f| f.path == "infrastructure/cloudformation.yaml")
        .expect("a CloudFormation template");
    let stack: Value = serde_saphyr::from_str(&cloudformation.contents.replace("!ImportValue", ""))
        .unwrap_or_else(|err| panic!("{template}: the CloudFormation is not YAML: {err}"));
    let resources = &stack["Resources"];
    let container = &resources["TaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    let service = &resources["Service"]["Properties"];
    let dockerfile =
        std::fs::read_to_string(dir.join("Dockerfile")).expect("the repository has a Dockerfile");

    let mut wiring = Wiring::default();
    for line in dockerfile.lines().map(str::trim) {
        if let Some(pairs) = line.strip_prefix("ENV ") {
            wiring.image_environment.extend(dockerfile_env(pairs));
        } else if let Some(port) = line.strip_prefix("EXPOSE ") {
            wiring.exposed_port = port.trim().parse().ok();
        } else if let Some(cmd) = line.strip_prefix("CMD ") {
            wiring.cmd = serde_json::from_str(cmd).expect("CMD in the exec (JSON) form");
        }
    }
    wiring.container_environment = wiring.image_environment.clone();
    for variable in container["Environment"].as_array().into_iter().flatten() {
        let name = variable["Name"].as_str().expect("a variable's name");
        let value = match &variable["Value"] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        wiring.container_environment.insert(name.to_owned(), value);
    }
    let port = |value: &Value| value.as_u64().and_then(|p| u16::try_from(p).ok());
    wiring.container_port = port(&container["PortMappings"][0]["ContainerPort"]);
    wiring.target_group_port = port(&resources["TargetGroup"]["Properties"]["Port"]);
    wiring.target_group_health_check_path =
        resources["TargetGroup"]["Properties"]["HealthCheckPath"]
            .as_str()
            .map(str::to_owned);
    wiring.load_balancer_container_port = port(&service["LoadBalancers"][0]["ContainerPort"]);
    wiring.service_connect_port =
        port(&service["ServiceConnectConfiguration"]["Services"][0]["ClientAliases"][0]["Port"]);
    wiring
}

/// The `KEY=VALUE` pairs of a Dockerfile `ENV` line; values may be double-quoted.
fn dockerfile_env(pairs: &str) -> Vec<(String, String)> {
    let mut variables = Vec::new();
    let mut rest = pairs.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').expect("a closing quote");
                (quoted[..end].to_owned(), &quoted[end + 1..])
            }
            None => {
                let end = after.find(' ').unwrap_or(after.len());
                (after[..end].to_owned(), &after[end..])
            }
        };
        variables.push((key.trim().to_owned(), value));
        rest = next.trim_start();
    }
    variables
}

/// A port nothing listens on now, so the app can take it.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("an address").port()
}

/// Starts the Dockerfile's `CMD` in `dir` with only `environment` (and the host's `PATH`, to
/// find `python3`), and waits until it says it listens.
fn start(dir: &Path, wiring: &Wiring) -> Child {
    let (program, args) = wiring.cmd.split_first().expect("a CMD");
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(&wiring.container_environment)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {:?}: {err}", wiring.cmd));
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut line = String::new();
    stderr
        .read_line(&mut line)
        .expect("read the app's first line");
    assert!(
        line.contains("listening on port"),
        "the app did not start: {line:?}"
    );
    // The app logs each request to stderr: keep reading it so its writes never fail.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    child
}

/// The status code of `GET path` on 127.0.0.1:`port`.
fn get_status(port: u16, path: &str) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|err| panic!("nothing listens on port {port}: {err}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .expect("send a request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

/// web-service with a non-default port and health check path: the app, the container, the
/// target group, the load balancer and Service Connect agree, and the app answers there.
#[test]
fn web_service_inputs_reach_the_app_the_container_and_the_load_balancer() {
    let port = free_port();
    let health = "/ready/deep";
    let dir = tempdir();
    let wiring = wiring(
        dir.path(),
        "web-service",
        json!({"port": port, "health_check_path": health, "environment_variables": {"LOG_LEVEL": "debug"}}),
    );
    let port_text = port.to_string();
    for (what, value) in [
        (
            "the container's PORT",
            wiring.container_environment.get("PORT"),
        ),
        ("the image's PORT", wiring.image_environment.get("PORT")),
    ] {
        assert_eq!(value, Some(&port_text), "{what}: {wiring:#?}");
    }
    for (what, value) in [
        ("EXPOSE", wiring.exposed_port),
        ("the container port", wiring.container_port),
        ("the target group's port", wiring.target_group_port),
        (
            "the load balancer's container port",
            wiring.load_balancer_container_port,
        ),
        ("Service Connect's port", wiring.service_connect_port),
    ] {
        assert_eq!(value, Some(port), "{what}: {wiring:#?}");
    }
    assert_eq!(
        wiring.target_group_health_check_path.as_deref(),
        Some(health),
        "{wiring:#?}"
    );
    for (what, value) in [
        (
            "the container's HEALTH_CHECK_PATH",
            wiring.container_environment.get("HEALTH_CHECK_PATH"),
        ),
        (
            "the image's HEALTH_CHECK_PATH",
            wiring.image_environment.get("HEALTH_CHECK_PATH"),
        ),
    ] {
        assert_eq!(
            value.map(String::as_str),
            Some(health),
            "{what}: {wiring:#?}"
        );
    }
    assert_eq!(
        wiring
            .container_environment
            .get("LOG_LEVEL")
            .map(String::as_str),
        Some("debug"),
        "the user's variables stay"
    );
    assert_eq!(wiring.cmd.first().map(String::as_str), Some("python3"));

    let mut app = start(dir.path(), &wiring);
    let health_status = get_status(port, health);
    let other_status = get_status(port, "/healthz");
    app.kill().expect("stop the app");
    app.wait().expect("reap the app");
    assert_eq!(health_status, 200, "the target group's health check path");
    assert_eq!(other_status, 404, "only the configured health check path");
}

/// backend-service with a non-default port: the app, the container and Service Connect agree,
/// and the app answers there.
#[test]
fn backend_service_port_reaches_the_app_the_container_and_service_connect() {
    let port = free_port();
    let dir = tempdir();
    let wiring = wiring(dir.path(), "backend-service", json!({"port": port}));
    let port_text = port.to_string();
    assert_eq!(
        wiring.container_environment.get("PORT"),
        Some(&port_text),
        "{wiring:#?}"
    );
    assert_eq!(
        wiring.image_environment.get("PORT"),
        Some(&port_text),
        "{wiring:#?}"
    );
    for (what, value) in [
        ("EXPOSE", wiring.exposed_port),
        ("the container port", wiring.container_port),
        ("Service Connect's port", wiring.service_connect_port),
    ] {
        assert_eq!(value, Some(port), "{what}: {wiring:#?}");
    }
    assert_eq!(wiring.cmd.first().map(String::as_str), Some("python3"));

    let mut app = start(dir.path(), &wiring);
    let status = get_status(port, "/healthz");
    app.kill().expect("stop the app");
    app.wait().expect("reap the app");
    assert_eq!(status, 200);
}

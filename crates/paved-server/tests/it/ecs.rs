//! `/ecs`: ECS's JSON protocol driven by the real AWS CLI (installed by `.ci/setup-oracles`),
//! signing with SigV4 (access key `paved`, the admin token as the secret). botocore parsing
//! every response is itself a check: the CLI fails on a response that does not fit ECS's model.

use std::path::{Path, PathBuf};

use paved_test::{Backend, TEST_TOKEN, TestServer, both_backends};
use serde_json::{Value, json};

both_backends!(
    aws_cli_manages_clusters_and_task_definitions,
    bad_task_definitions_are_refused_with_ecs_errors,
    ecs_quotas_are_enforced_as_ecs_does,
    bad_signatures_are_refused_and_change_nothing,
);

/// The AWS CLI under `ORACLES_HOME` (default `~/.cache/paved-oracles`), with its own empty
/// home and configuration so nothing of the machine's AWS setup leaks in.
pub(crate) struct Aws {
    program: PathBuf,
    home: tempfile::TempDir,
    endpoint: String,
}

/// What one CLI run returned.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("the CLI printed no JSON ({error}):\n{}", self.stdout))
    }
}

impl Aws {
    pub(crate) fn new(server: &TestServer) -> Aws {
        let program = paved_test::oracles_home().join("py/bin/aws");
        assert!(
            program.exists(),
            "the AWS CLI is missing (`{}` not found); install it with `.ci/setup-oracles`",
            program.display()
        );
        let home = tempfile::tempdir().expect("a home for the CLI");
        std::fs::write(home.path().join("config"), "[default]\n").expect("write the CLI config");
        std::fs::write(home.path().join("credentials"), "").expect("write the CLI credentials");
        Aws {
            program,
            home,
            endpoint: format!("{}/ecs", server.base_url),
        }
    }

    /// Turns botocore's client-side parameter validation off, so malformed requests reach the
    /// server.
    fn without_parameter_validation(&self) {
        std::fs::write(
            self.home.path().join("config"),
            "[default]\nparameter_validation = false\n",
        )
        .expect("write the CLI config");
    }

    pub(crate) async fn run_with_secret(&self, secret: &str, args: &[&str]) -> Run {
        let home = self.home.path();
        let output = tokio::process::Command::new(&self.program)
            .arg("ecs")
            .args(args)
            .args(["--endpoint-url", &self.endpoint, "--output", "json"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("AWS_CONFIG_FILE", home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
            .env("AWS_ACCESS_KEY_ID", "paved")
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .env("AWS_MAX_ATTEMPTS", "1")
            .output()
            .await
            .unwrap_or_else(|error| panic!("cannot run `{}`: {error}", self.program.display()));
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `aws ecs ARGS` signed with the admin token and asserts it succeeded.
    pub(crate) async fn ok(&self, args: &[&str]) -> Value {
        let run = self.run_with_secret(TEST_TOKEN, args).await;
        assert_eq!(
            run.code,
            0,
            "`aws ecs {}` failed:\n{}\n{}",
            args.join(" "),
            run.stdout,
            run.stderr
        );
        if run.stdout.trim().is_empty() {
            Value::Null
        } else {
            run.json()
        }
    }

    /// POSTs `body` with target `operation`, signed by botocore's SigV4 signer with the admin
    /// token (for calls the CLI cannot make); returns the status and the JSON body.
    async fn signed_call(&self, operation: &str, body: &str) -> (u16, Value) {
        const SCRIPT: &str = r#"
import json, sys, urllib.error, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, target, body, secret = sys.argv[1:5]
request = AWSRequest(method="POST", url=url, data=body.encode(), headers={
    "X-Amz-Target": "AmazonEC2ContainerServiceV20141113." + target,
    "Content-Type": "application/x-amz-json-1.1"})
SigV4Auth(Credentials("paved", secret), "ecs", "us-east-1").add_auth(request)
prepared = request.prepare()
call = urllib.request.Request(url, data=body.encode(), headers=dict(prepared.headers), method="POST")
try:
    response = urllib.request.urlopen(call)
    print(json.dumps({"status": response.status, "body": json.loads(response.read())}))
except urllib.error.HTTPError as error:
    print(json.dumps({"status": error.code, "body": json.loads(error.read())}))
"#;
        let python = self.program.with_file_name("python");
        let output = tokio::process::Command::new(&python)
            .args([
                "-c",
                SCRIPT,
                &format!("{}/", self.endpoint),
                operation,
                body,
                TEST_TOKEN,
            ])
            .env_clear()
            .env("HOME", self.home.path())
            .output()
            .await
            .unwrap_or_else(|error| panic!("cannot run `{}`: {error}", python.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "the signing script failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let result: Value = serde_json::from_str(&stdout).expect("the script prints JSON");
        (
            result["status"].as_u64().expect("a status") as u16,
            result["body"].clone(),
        )
    }

    pub(crate) async fn fails(&self, args: &[&str]) -> Run {
        let run = self.run_with_secret(TEST_TOKEN, args).await;
        assert_ne!(
            run.code,
            0,
            "`aws ecs {}` succeeded:\n{}",
            args.join(" "),
            run.stdout
        );
        run
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ecs")
        .join(name)
}

fn file_arg(path: &Path) -> String {
    format!("file://{}", path.display())
}

const ARN: &str = "arn:aws:ecs:us-east-1:000000000000";

async fn aws_cli_manages_clusters_and_task_definitions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let aws = Aws::new(&server);

    let created = aws
        .ok(&[
            "create-cluster",
            "--cluster-name",
            "apps",
            "--tags",
            "key=team,value=a",
        ])
        .await;
    assert_eq!(
        created["cluster"]["clusterArn"],
        format!("{ARN}:cluster/apps")
    );
    assert_eq!(created["cluster"]["status"], "ACTIVE");
    // CreateCluster is idempotent.
    let again = aws.ok(&["create-cluster", "--cluster-name", "apps"]).await;
    assert_eq!(
        again["cluster"]["clusterArn"],
        created["cluster"]["clusterArn"]
    );

    let described = aws
        .ok(&[
            "describe-clusters",
            "--clusters",
            "apps",
            "nope",
            "--include",
            "TAGS",
        ])
        .await;
    assert_eq!(described["clusters"][0]["clusterName"], "apps");
    assert_eq!(described["clusters"][0]["runningTasksCount"], 0);
    assert_eq!(
        described["clusters"][0]["tags"],
        json!([{"key": "team", "value": "a"}])
    );
    assert_eq!(
        described["failures"],
        json!([{"arn": format!("{ARN}:cluster/nope"), "reason": "MISSING"}])
    );
    // With no names, the `default` cluster is described: missing until something creates it.
    let default = aws.ok(&["describe-clusters"]).await;
    assert_eq!(
        default["failures"][0]["arn"],
        format!("{ARN}:cluster/default")
    );
    let listed = aws.ok(&["list-clusters"]).await;
    assert_eq!(
        listed["clusterArns"],
        json!([format!("{ARN}:cluster/apps")])
    );

    // Two registrations of one family: revisions 1 and 2, with everything the client sent.
    let good = file_arg(&fixture("taskdef-good.json"));
    let first = aws
        .ok(&["register-task-definition", "--cli-input-json", &good])
        .await;
    let second = aws
        .ok(&["register-task-definition", "--cli-input-json", &good])
        .await;
    assert_eq!(first["taskDefinition"]["revision"], 1);
    assert_eq!(second["taskDefinition"]["revision"], 2);
    assert_eq!(
        second["taskDefinition"]["taskDefinitionArn"],
        format!("{ARN}:task-definition/web:2")
    );
    let sent: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("taskdef-good.json")).expect("the fixture reads"),
    )
    .expect("the fixture is JSON");
    assert_eq!(
        first["taskDefinition"]["containerDefinitions"], sent["containerDefinitions"],
        "container definitions read back as sent"
    );
    assert_eq!(first["taskDefinition"]["cpu"], "256");
    assert!(
        first["taskDefinition"]["registeredAt"].is_number(),
        "the CLI prints timestamps it parsed: {first}"
    );

    let latest = aws
        .ok(&["describe-task-definition", "--task-definition", "web"])
        .await;
    assert_eq!(latest["taskDefinition"]["revision"], 2);
    let one = aws
        .ok(&["describe-task-definition", "--task-definition", "web:1"])
        .await;
    assert_eq!(one["taskDefinition"]["revision"], 1);

    let deregistered = aws
        .ok(&["deregister-task-definition", "--task-definition", "web:1"])
        .await;
    assert_eq!(deregistered["taskDefinition"]["status"], "INACTIVE");
    assert!(deregistered["taskDefinition"]["deregisteredAt"].is_number());
    let active = aws
        .ok(&["list-task-definitions", "--status", "ACTIVE"])
        .await;
    assert_eq!(
        active["taskDefinitionArns"],
        json!([format!("{ARN}:task-definition/web:2")])
    );
    let inactive = aws
        .ok(&[
            "list-task-definitions",
            "--status",
            "INACTIVE",
            "--family-prefix",
            "we",
        ])
        .await;
    assert_eq!(
        inactive["taskDefinitionArns"],
        json!([format!("{ARN}:task-definition/web:1")])
    );
    let families = aws.ok(&["list-task-definition-families"]).await;
    assert_eq!(families["families"], json!(["web"]));

    // Tags, on a task definition and on a cluster.
    let web2 = format!("{ARN}:task-definition/web:2");
    aws.ok(&[
        "tag-resource",
        "--resource-arn",
        &web2,
        "--tags",
        "key=tier,value=front",
    ])
    .await;
    let tags = aws
        .ok(&["list-tags-for-resource", "--resource-arn", &web2])
        .await;
    assert_eq!(tags["tags"], json!([{"key": "tier", "value": "front"}]));
    let apps = format!("{ARN}:cluster/apps");
    aws.ok(&[
        "tag-resource",
        "--resource-arn",
        &apps,
        "--tags",
        "key=team,value=b",
    ])
    .await;
    let tags = aws
        .ok(&["list-tags-for-resource", "--resource-arn", &apps])
        .await;
    assert_eq!(tags["tags"], json!([{"key": "team", "value": "b"}]));

    // Mutations are audited as the admin.
    let audit = server.audit_log().await;
    assert!(
        audit
            .iter()
            .any(|event| event.action == "ecs.register-task-definition"
                && event.principal == "admin"
                && event.resource_name == "web"
                && event.outcome == "ok"),
        "{audit:?}"
    );

    // Everything survives a restart.
    let server = server.restart().await;
    let aws = Aws {
        endpoint: format!("{}/ecs", server.base_url),
        ..aws
    };
    let latest = aws
        .ok(&[
            "describe-task-definition",
            "--task-definition",
            "web",
            "--include",
            "TAGS",
        ])
        .await;
    assert_eq!(latest["taskDefinition"]["revision"], 2);
    assert_eq!(latest["tags"], json!([{"key": "tier", "value": "front"}]));
    let one = aws
        .ok(&[
            "describe-task-definition",
            "--task-definition",
            &format!("{ARN}:task-definition/web:1"),
        ])
        .await;
    assert_eq!(one["taskDefinition"]["status"], "INACTIVE");
    let third = aws
        .ok(&["register-task-definition", "--cli-input-json", &good])
        .await;
    assert_eq!(third["taskDefinition"]["revision"], 3);

    // A deleted cluster is INACTIVE, no longer listed, and refused by name.
    let deleted = aws.ok(&["delete-cluster", "--cluster", "apps"]).await;
    assert_eq!(deleted["cluster"]["status"], "INACTIVE");
    assert_eq!(aws.ok(&["list-clusters"]).await["clusterArns"], json!([]));
    let run = aws.fails(&["delete-cluster", "--cluster", "apps"]).await;
    assert!(
        run.stderr.contains("ClusterNotFoundException"),
        "{}",
        run.stderr
    );
}

async fn bad_task_definitions_are_refused_with_ecs_errors(backend: Backend) {
    let server = TestServer::start(backend).await;
    let aws = Aws::new(&server);
    let bad_path = fixture("taskdef-bad.json");

    // As it is, botocore refuses the fixture before sending it (unknown and mistyped fields).
    let run = aws
        .fails(&[
            "register-task-definition",
            "--cli-input-json",
            &file_arg(&bad_path),
        ])
        .await;
    assert!(
        run.stderr.contains("Parameter validation failed"),
        "{}",
        run.stderr
    );

    // Sent anyway (without the field botocore cannot serialise), the server refuses it with
    // every problem named.
    aws.without_parameter_validation();
    let mut bad: Value =
        serde_json::from_str(&std::fs::read_to_string(&bad_path).expect("the fixture reads"))
            .expect("the fixture is JSON");
    bad.as_object_mut()
        .expect("an object")
        .remove("healthcheck");
    let sent = server.write("taskdef-bad-sendable.json", &bad.to_string());
    let run = aws
        .fails(&[
            "register-task-definition",
            "--cli-input-json",
            &file_arg(&sent),
        ])
        .await;
    assert!(
        matches!(run.code, 254 | 255),
        "exit code {}: {}",
        run.code,
        run.stderr
    );
    assert!(run.stderr.contains("ClientException"), "{}", run.stderr);
    for fragment in [
        "networkMode `bridged`",
        "cpu should be a string",
        "Container.name should not be null or empty",
        "essential should be a boolean",
        "containerPort should be an integer",
        "options should be a map of strings",
    ] {
        assert!(
            run.stderr.contains(fragment),
            "`{fragment}` in {}",
            run.stderr
        );
    }

    // Bad cpu and memory values alone are InvalidParameterException.
    let mut sized: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("taskdef-good.json")).expect("the fixture reads"),
    )
    .expect("the fixture is JSON");
    sized["cpu"] = json!("a lot");
    sized["requiresCompatibilities"] = json!(["EC2"]);
    let sent = server.write("taskdef-bad-cpu.json", &sized.to_string());
    let run = aws
        .fails(&[
            "register-task-definition",
            "--cli-input-json",
            &file_arg(&sent),
        ])
        .await;
    assert!(
        run.stderr.contains("InvalidParameterException"),
        "{}",
        run.stderr
    );

    // Nothing was stored.
    let families = aws
        .ok(&["list-task-definition-families", "--status", "ALL"])
        .await;
    assert_eq!(families["families"], json!([]));
    let run = aws
        .fails(&["describe-task-definition", "--task-definition", "web"])
        .await;
    assert!(run.stderr.contains("ClientException"), "{}", run.stderr);
}

/// What ECS's quotas and rules refuse, sent by the real AWS CLI (botocore's model has no
/// bounds for these, so the requests reach the server as they would reach ECS).
async fn ecs_quotas_are_enforced_as_ecs_does(backend: Backend) {
    let server = TestServer::start(backend).await;
    let aws = Aws::new(&server);
    let good: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("taskdef-good.json")).expect("the fixture reads"),
    )
    .expect("the fixture is JSON");
    let container = good["containerDefinitions"][0].clone();
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut body = good.clone();
        edit(&mut body);
        body
    };
    let cases = [
        (
            "eleven-containers",
            edited(&|body| {
                body["containerDefinitions"] = (0..11)
                    .map(|index| {
                        let mut item = container.clone();
                        item["name"] = json!(format!("c{index}"));
                        item
                    })
                    .collect();
            }),
            "ClientException",
            "Too many containers: 11 container definitions",
        ),
        (
            "over-64-kib",
            edited(&|body| {
                body["containerDefinitions"][0]["environment"] =
                    json!([{"name": "BIG", "value": "x".repeat(66_000)}]);
            }),
            "ClientException",
            "Max allowed length is '65536' bytes.",
        ),
        (
            "negative-cpu",
            edited(&|body| body["containerDefinitions"][0]["cpu"] = json!(-10)),
            "ClientException",
            "`-10` is negative",
        ),
        (
            "no-essential",
            edited(&|body| body["containerDefinitions"][0]["essential"] = json!(false)),
            "ClientException",
            "Task definition doesn't have any essential container.",
        ),
    ];
    for (name, body, kind, message) in cases {
        let sent = server.write(&format!("{name}.json"), &body.to_string());
        let run = aws
            .fails(&[
                "register-task-definition",
                "--cli-input-json",
                &file_arg(&sent),
            ])
            .await;
        assert!(
            run.stderr.contains(&format!("({kind})")) && run.stderr.contains(message),
            "{name}: `{kind}` and `{message}` in {}",
            run.stderr
        );
    }
    let families = aws
        .ok(&["list-task-definition-families", "--status", "ALL"])
        .await;
    assert_eq!(families["families"], json!([]), "nothing was stored");

    // RunTask starts 1 to 10 tasks a call, as ECS does.
    aws.ok(&[
        "register-task-definition",
        "--cli-input-json",
        &file_arg(&fixture("taskdef-good.json")),
    ])
    .await;
    for count in ["11", "0"] {
        let run = aws
            .fails(&["run-task", "--task-definition", "web", "--count", count])
            .await;
        assert!(
            run.stderr.contains("(InvalidParameterException)")
                && run.stderr.contains("count must be between 1 and 10"),
            "{}",
            run.stderr
        );
    }
    // Refused before anything happened: not even the default cluster was created.
    let run = aws.fails(&["list-tasks", "--cluster", "default"]).await;
    assert!(
        run.stderr.contains("(ClusterNotFoundException)"),
        "{}",
        run.stderr
    );
}

async fn bad_signatures_are_refused_and_change_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let aws = Aws::new(&server);
    let good = file_arg(&fixture("taskdef-good.json"));

    let run = aws
        .run_with_secret(
            "not-the-token",
            &["register-task-definition", "--cli-input-json", &good],
        )
        .await;
    assert!(
        matches!(run.code, 254 | 255),
        "exit code {}: {}",
        run.code,
        run.stderr
    );
    assert!(
        run.stderr.contains("InvalidSignatureException"),
        "{}",
        run.stderr
    );
    let run = aws
        .run_with_secret("not-the-token", &["create-cluster", "--cluster-name", "x"])
        .await;
    assert!(
        run.stderr.contains("InvalidSignatureException"),
        "{}",
        run.stderr
    );
    // Reads need a signature too.
    let run = aws
        .run_with_secret("not-the-token", &["list-clusters"])
        .await;
    assert!(
        run.stderr.contains("InvalidSignatureException"),
        "{}",
        run.stderr
    );

    // An unsigned call, and an unsigned call to an unknown operation.
    let client = reqwest::Client::new();
    for target in ["ListClusters", "NoSuchOperation"] {
        let response = client
            .post(format!("{}/ecs", server.base_url))
            .header(
                "x-amz-target",
                format!("AmazonEC2ContainerServiceV20141113.{target}"),
            )
            .header("content-type", "application/x-amz-json-1.1")
            .body("{}")
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()["content-type"],
            "application/x-amz-json-1.1"
        );
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(body["__type"], "MissingAuthenticationTokenException");
    }

    // A signed call to an operation the endpoint does not know (signed by botocore itself).
    let (status, body) = aws.signed_call("NoSuchOperation", "{}").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], "UnknownOperationException", "{body}");
    let (status, body) = aws.signed_call("ListClusters", "[1]").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], "SerializationException", "{body}");

    // Nothing was stored, and the refusals were audited.
    assert_eq!(
        aws.ok(&["list-task-definition-families"]).await["families"],
        json!([])
    );
    assert_eq!(aws.ok(&["list-clusters"]).await["clusterArns"], json!([]));
    let audit = server.audit_log().await;
    assert!(
        audit
            .iter()
            .any(|event| event.action == "ecs.create-cluster"
                && event.principal == "anonymous"
                && event.outcome.starts_with("refused")
                && event.resource_name == "x"),
        "{audit:?}"
    );
}

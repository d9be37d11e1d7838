//! `/api/templates`: registration of both bundle formats, version rules, bad bundles refused
//! with nothing stored, dry-run renders with Proton's variables, template sync from git, the
//! catalog's Template entities, and the built-in golden paths.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use paved_template_registry::source::{self, SourceLimits};
use paved_test::{Backend, TestData, TestServer, both_backends};
use serde_json::{Value, json};

both_backends!(
    proton_bundles_register_unchanged_and_render_protons_variables,
    terraform_bundles_render_their_files_and_a_variables_file,
    publish_withdraw_and_the_recommended_version,
    incompatible_minor_versions_are_refused_with_the_exact_change,
    bad_bundles_are_refused_and_nothing_is_stored,
    template_sync_registers_new_majors_and_minor_drafts,
    template_sync_registers_an_environment_named_by_a_service_of_the_same_commit,
    template_sync_credentials_are_never_stored_shown_or_audited,
    stored_sync_credentials_are_forgotten_at_start,
    mutations_need_the_admin_token_and_are_audited,
    builtin_templates_are_registered_on_first_start,
);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/proton")
        .join(name)
}

/// A directory as the base64 `.tar.gz` the API takes.
fn archive_of(dir: &Path) -> String {
    let files = source::read_dir(dir, &SourceLimits::default()).expect("the bundle reads");
    archive_of_files(&files)
}

fn archive_of_files(files: &[paved_template::bundle::BundleFile]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(source::pack_tar_gz(files).expect("the bundle packs"))
}

async fn register(server: &TestServer, body: Value) -> paved_test::TestResponse {
    server.post("/api/templates/versions", body).await
}

/// Registers a directory as it is, whatever the answer.
async fn register_bundle(server: &TestServer, dir: &Path) -> paved_test::TestResponse {
    register(
        server,
        json!({"source": {"type": "archive", "data": archive_of(dir)}}),
    )
    .await
}

/// Registers a directory, asserting the status.
async fn register_dir(server: &TestServer, dir: &Path, extra: Value, status: u16) -> Value {
    let mut body = json!({ "source": { "type": "archive", "data": archive_of(dir) } });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let response = register(server, body).await;
    assert_eq!(response.status, status, "{}", response.text);
    response.body
}

/// Registers a small environment template `ecs-environment` (major 1), which the service
/// bundles of these tests name as compatible: a compatible environment must exist.
async fn register_ecs_environment(server: &TestServer) {
    server.write(
        "ecs-environment/paved-template.yaml",
        "apiVersion: paved.dev/v1\nkind: EnvironmentTemplate\nmetadata:\n  name: ecs-environment\n",
    );
    server.write("ecs-environment/schema.yaml", "type: object\n");
    server.write(
        "ecs-environment/infrastructure/cloudformation.yaml",
        "Resources:\n  Cluster:\n    Type: AWS::ECS::Cluster\n",
    );
    register_dir(
        server,
        &server.input_dir().join("ecs-environment"),
        json!({}),
        201,
    )
    .await;
}

/// A small bundle in Paved's format, written under the test's input directory.
fn paved_bundle(server: &TestServer, folder: &str, schema: &str, template: &str) -> PathBuf {
    server.write(
        &format!("{folder}/paved-template.yaml"),
        "apiVersion: paved.dev/v1\nkind: ServiceTemplate\nmetadata:\n  name: api\n  description: An API\n  owner: group:default/platform\nspec:\n  compatibleEnvironments:\n    - template: ecs-environment\n      major: 1\n",
    );
    server.write(&format!("{folder}/schema.yaml"), schema);
    server.write(
        &format!("{folder}/infrastructure/cloudformation.yaml"),
        template,
    );
    server.input_dir().join(folder)
}

pub(crate) const SCHEMA_V1: &str = "type: object\nproperties:\n  port:\n    type: integer\n    default: 80\n    minimum: 1\n    maximum: 65535\n  size:\n    type: string\n    enum: [small, medium, large]\n    default: small\n";
pub(crate) const TEMPLATE: &str = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: '{{ service.name }}-{{ service_instance.inputs.port }}-{{ service_instance.inputs.size }}'\n";

fn files_by_path(response: &Value) -> std::collections::BTreeMap<String, String> {
    response["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files: {response}"))
        .iter()
        .map(|file| {
            (
                file["path"].as_str().unwrap_or_default().to_owned(),
                file["contents"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn proton_bundles_register_unchanged_and_render_protons_variables(backend: Backend) {
    let server = TestServer::start(backend).await;
    let env = register_dir(
        &server,
        &fixture("env-cfn"),
        json!({"name": "proton-env", "publish": true}),
        201,
    )
    .await;
    assert_eq!(env["kind"], "environment");
    assert_eq!(env["version"]["version"], "1.0");
    assert_eq!(env["version"]["format"], "proton");
    assert_eq!(env["version"]["recommended"], true);
    // Proton's OpenAPI schema, converted: the `$ref` to another type resolves, defaults stay.
    let retention = &env["version"]["schema"]["properties"]["retention"];
    assert!(retention.is_object(), "{}", env["version"]["schema"]);

    // A Proton service bundle does not list its environments: the call does.
    let refused = register(
        &server,
        json!({"source": {"type": "archive", "data": archive_of(&fixture("svc-cfn"))}, "name": "proton-svc"}),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("compatible"), "{}", refused.text);
    let service = register_dir(
        &server,
        &fixture("svc-cfn"),
        json!({"name": "proton-svc", "publish": true,
               "compatibleEnvironments": [{"template": "proton-env", "major": 1}]}),
        201,
    )
    .await;
    assert_eq!(service["kind"], "service");
    assert!(service["version"]["pipelineSchema"].is_object());

    let rendered = server
        .post(
            "/api/templates/proton-svc/render",
            json!({
                "inputs": {"port": 8080, "policy_arns": [
                    "arn:aws:iam::123456789012:policy/billing-read",
                    "arn:aws:iam::aws:policy/ReadOnlyAccess"]},
                "pipelineInputs": {"unit_test_command": "make test"},
                "context": {
                    "environment": {"name": "staging", "outputs": {
                        "ClusterName": "staging-cluster", "PublicSubnets": "subnet-a,subnet-b",
                        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/exec"}},
                    "service": {"name": "billing", "branch_name": "main", "repository_id": "acme/billing"},
                    "service_instance": {"name": "staging-1"},
                    "component_outputs": {"QueueUrl": "https://sqs.example/queue"},
                    "service_instances": [
                        {"name": "staging-1", "inputs": {"port": 8080},
                         "environment": {"name": "staging", "outputs": {"ClusterName": "staging-cluster"}}},
                        {"name": "prod-1", "inputs": {"port": 80},
                         "environment": {"name": "prod", "outputs": {"ClusterName": "prod-cluster"}}}
                    ]
                }
            }),
        )
        .await;
    assert_eq!(rendered.status, 200, "{}", rendered.text);
    assert_eq!(rendered.body["version"], "1.0");
    let files = files_by_path(&rendered.body);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "instance_infrastructure/cloudformation.yaml",
            "pipeline_infrastructure/cloudformation.yaml"
        ]
    );
    insta::assert_snapshot!(
        "proton_service_instance",
        files["instance_infrastructure/cloudformation.yaml"]
    );
    insta::assert_snapshot!(
        "proton_pipeline",
        files["pipeline_infrastructure/cloudformation.yaml"]
    );

    // An environment output the context does not give is an error naming it, file and line.
    let missing = server
        .post("/api/templates/proton-svc/render", json!({"inputs": {}}))
        .await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    assert_eq!(missing.body["error"]["code"], "render_failed");
    let problem = &missing.body["error"]["problems"][0];
    assert_eq!(
        problem["file"],
        "instance_infrastructure/cloudformation.yaml"
    );
    assert!(problem["line"].as_u64().is_some(), "{problem}");
    assert!(
        missing.text.contains("ExecutionRoleArn"),
        "{}",
        missing.text
    );

    // Deterministic: the same request renders byte-identical files.
    let again = server
        .post(
            "/api/templates/proton-env/render",
            json!({"inputs": {"vpc_cidr": "10.1.0.0/16"}}),
        )
        .await;
    let once = server
        .post(
            "/api/templates/proton-env/render",
            json!({"inputs": {"vpc_cidr": "10.1.0.0/16"}}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.text, once.text);
    assert!(again.text.contains("RetentionInDays: 30"), "{}", again.text);
}

async fn terraform_bundles_render_their_files_and_a_variables_file(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = register_dir(
        &server,
        &fixture("env-tf"),
        json!({"name": "tf-env", "publish": true}),
        201,
    )
    .await;
    assert_eq!(registered["version"]["engine"], "terraform");
    let missing = server
        .post("/api/templates/tf-env/render", json!({"inputs": {}}))
        .await;
    assert_eq!(missing.status, 400, "{}", missing.text);
    assert_eq!(missing.body["error"]["code"], "invalid_inputs");
    assert_eq!(
        missing.body["error"]["problems"][0]["field"],
        "/ssm_parameter_value"
    );
    let rendered = server
        .post(
            "/api/templates/tf-env/render",
            json!({"inputs": {"ssm_parameter_value": "hello"}, "context": {"environment": {"name": "dev"}}}),
        )
        .await;
    assert_eq!(rendered.status, 200, "{}", rendered.text);
    let files = files_by_path(&rendered.body);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "infrastructure/main.tf",
            "infrastructure/proton.auto.tfvars.json",
            "infrastructure/proton.environment.variables.tf"
        ]
    );
    // `.tf` files are Terraform, not Jinja: copied as they are.
    assert_eq!(
        files["infrastructure/main.tf"],
        std::fs::read_to_string(fixture("env-tf/infrastructure/main.tf")).expect("fixture")
    );
    let values: Value =
        serde_json::from_str(&files["infrastructure/proton.auto.tfvars.json"]).expect("JSON");
    assert_eq!(values["environment"]["name"], "dev");
    assert_eq!(
        values["environment"]["inputs"]["ssm_parameter_value"],
        "hello"
    );
    assert_eq!(values["environment"]["inputs"]["retention"], 14);
    insta::assert_snapshot!(
        "proton_terraform_variables",
        files["infrastructure/proton.environment.variables.tf"]
    );
}

async fn publish_withdraw_and_the_recommended_version(backend: Backend) {
    let server = TestServer::start(backend).await;
    register_ecs_environment(&server).await;
    let v1 = paved_bundle(&server, "api-v1", SCHEMA_V1, TEMPLATE);
    let first = register_dir(&server, &v1, json!({}), 201).await;
    assert_eq!(first["version"]["version"], "1.0");
    assert_eq!(first["version"]["status"], "draft");
    // A draft is not offered: no recommended version, `@1` finds nothing published.
    let none = server
        .post("/api/templates/api/render", json!({"version": "1"}))
        .await;
    assert_eq!(none.status, 404, "{}", none.text);
    assert_eq!(none.body["error"]["code"], "no_published_version");
    // ...but an exact version renders, draft or not.
    let draft = server
        .post("/api/templates/api/render", json!({"version": "1.0"}))
        .await;
    assert_eq!(draft.status, 200, "{}", draft.text);
    assert!(draft.text.contains("example-80-small"), "{}", draft.text);

    let published = server
        .post("/api/templates/api/versions/1.0/publish", json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(published.body["recommended"], true);
    // Publishing twice is refused: nothing to do is not silently done.
    let twice = server
        .post("/api/templates/api/versions/1.0/publish", json!({}))
        .await;
    assert_eq!(twice.status, 409, "{}", twice.text);

    // The same bundle again is not a new version.
    let same = register_dir(&server, &v1, json!({}), 200).await;
    assert_eq!(same["unchanged"], true);
    assert_eq!(same["version"]["version"], "1.0");

    // A compatible change: a new optional input.
    let v2 = paved_bundle(
        &server,
        "api-v1-1",
        &format!("{SCHEMA_V1}  debug:\n    type: boolean\n    default: false\n"),
        TEMPLATE,
    );
    let second = register_dir(&server, &v2, json!({"publish": true}), 201).await;
    assert_eq!(second["version"]["version"], "1.1");
    let detail = server.get("/api/templates/api").await;
    assert_eq!(detail.body["recommendedVersion"], "1.1");

    let withdrawn = server
        .post(
            "/api/templates/api/versions/1.1/withdraw",
            json!({"reason": "breaks health checks"}),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(withdrawn.body["status"], "withdrawn");
    assert_eq!(withdrawn.body["withdrawnReason"], "breaks health checks");
    let detail = server.get("/api/templates/api").await;
    assert_eq!(detail.body["recommendedVersion"], "1.0");
    let recommended = server.get("/api/templates/api/versions/recommended").await;
    assert_eq!(recommended.body["version"], "1.0");
    let no_reason = server
        .post(
            "/api/templates/api/versions/1.0/withdraw",
            json!({"reason": " "}),
        )
        .await;
    assert_eq!(no_reason.status, 400, "{}", no_reason.text);

    // The catalog shows the template as a Backstage Template entity with its versions.
    let entity = server
        .get("/api/catalog/entities/by-name/template/default/api")
        .await;
    assert_eq!(entity.status, 200, "{}", entity.text);
    let annotations = &entity.body["metadata"]["annotations"];
    assert_eq!(annotations["paved.dev/recommended-version"], "1.0");
    assert_eq!(
        annotations["paved.dev/versions"],
        "1.0=published,1.1=withdrawn"
    );
    assert_eq!(entity.body["spec"]["type"], "service");
    assert_eq!(entity.body["spec"]["owner"], "group:default/platform");
    // Checked as a catalog file: Backstage's policy refuses the computed root fields there.
    let mut source = entity.body.clone();
    if let Value::Object(root) = &mut source {
        root.remove("relations");
        root.remove("status");
    }
    let validator = paved_test::backstage::BackstageValidator::locate();
    let file = server.write(
        "template-entity.yaml",
        &serde_json::to_string_pretty(&source).expect("JSON"),
    );
    for verdict in validator.run(&[file]) {
        assert!(
            verdict.ok,
            "Backstage refuses the Template entity: {}",
            verdict.text()
        );
    }

    // Versions survive a restart, and render the same.
    let before = server
        .post("/api/templates/api/render", json!({"version": "1.1"}))
        .await;
    let server = server.restart().await;
    let after = server
        .post("/api/templates/api/render", json!({"version": "1.1"}))
        .await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(before.text, after.text);
}

async fn incompatible_minor_versions_are_refused_with_the_exact_change(backend: Backend) {
    let server = TestServer::start(backend).await;
    register_ecs_environment(&server).await;
    let v1 = paved_bundle(&server, "base", SCHEMA_V1, TEMPLATE);
    register_dir(&server, &v1, json!({"publish": true}), 201).await;
    let cases = [
        (
            "removed",
            "type: object\nproperties:\n  port:\n    type: integer\n    default: 80\n",
            "/size",
            "input-removed",
        ),
        (
            "required",
            &*format!("{SCHEMA_V1}  region:\n    type: string\nrequired: [region]\n"),
            "/region",
            "required-without-default",
        ),
        (
            "narrowed-type",
            "type: object\nproperties:\n  port:\n    type: string\n    default: '80'\n  size:\n    type: string\n    enum: [small, medium, large]\n    default: small\n",
            "/port",
            "type-narrowed",
        ),
        (
            "narrowed-enum",
            "type: object\nproperties:\n  port:\n    type: integer\n    default: 80\n  size:\n    type: string\n    enum: [small, medium]\n    default: small\n",
            "/size",
            "enum-narrowed",
        ),
    ];
    let template = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n";
    for (name, schema, input, rule) in cases {
        let dir = paved_bundle(&server, name, schema, template);
        let refused = register_bundle(&server, &dir).await;
        assert_eq!(refused.status, 400, "{name}: {}", refused.text);
        assert_eq!(
            refused.body["error"]["code"], "incompatible_version",
            "{name}"
        );
        let problems = refused.body["error"]["problems"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            problems
                .iter()
                .any(|problem| problem["field"] == input && problem["rule"] == rule),
            "{name}: expected {rule} on {input}: {}",
            refused.text
        );
        assert!(refused.text.contains("1.1"), "{name}: {}", refused.text);
    }
    // Nothing was stored by the refusals.
    let detail = server.get("/api/templates/api").await;
    assert_eq!(detail.body["versionCount"], 1, "{}", detail.text);
    // A new major may change anything.
    let dir = paved_bundle(&server, "major", cases[0].1, template);
    let major = register_dir(&server, &dir, json!({"major": 2}), 201).await;
    assert_eq!(major["version"]["version"], "2.0");
}

async fn bad_bundles_are_refused_and_nothing_is_stored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let expect_refused = |response: paved_test::TestResponse, code: &str, needle: &str| {
        assert_eq!(response.status, 400, "{}", response.text);
        assert_eq!(response.body["error"]["code"], code, "{}", response.text);
        assert!(
            response.text.contains(needle),
            "expected `{needle}` in {}",
            response.text
        );
        response
    };
    // A Jinja syntax error: file and line.
    let dir = paved_bundle(
        &server,
        "syntax",
        SCHEMA_V1,
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: '{{ service.name }'\n",
    );
    let response = expect_refused(
        register_bundle(&server, &dir).await,
        "invalid_bundle",
        "syntax",
    );
    let problem = &response.body["error"]["problems"][0];
    assert_eq!(problem["file"], "infrastructure/cloudformation.yaml");
    assert_eq!(problem["line"], 5);
    assert_eq!(problem["rule"], "jinja-syntax");

    // An unknown variable, and an input the schema does not declare.
    let dir = paved_bundle(
        &server,
        "unknown",
        SCHEMA_V1,
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: '{{ servce.name }}-{{ service_instance.inputs.prot }}'\n",
    );
    let response = expect_refused(
        register_bundle(&server, &dir).await,
        "invalid_bundle",
        "servce",
    );
    assert!(
        response.text.contains("`prot` is not an input"),
        "{}",
        response.text
    );
    assert_eq!(response.body["error"]["problems"][0]["line"], 5);

    // A schema that is not JSON Schema.
    let dir = paved_bundle(
        &server,
        "schema",
        "type: object\nproperties:\n  port:\n    type: 12\n",
        TEMPLATE,
    );
    let response = expect_refused(
        register_bundle(&server, &dir).await,
        "invalid_bundle",
        "schema.yaml",
    );
    assert!(
        response.body["error"]["problems"][0]["line"]
            .as_u64()
            .is_some(),
        "{}",
        response.text
    );

    // A file name with `../`, and a 100 MB file, in archives built by hand.
    let escape = tar_gz(&[
        ("paved-template.yaml", b"x".as_slice()),
        ("../evil.yaml", b"x"),
    ]);
    expect_refused(
        register(
            &server,
            json!({"source": {"type": "archive", "data": escape}}),
        )
        .await,
        "invalid_bundle_source",
        "../evil.yaml",
    );
    let big = big_archive(100 * 1024 * 1024);
    expect_refused(
        register(&server, json!({"source": {"type": "archive", "data": big}})).await,
        "invalid_bundle_source",
        "infrastructure/big.yaml",
    );

    // A template that never finishes is refused at registration (a trial render runs out of
    // fuel), not left to hang a deployment.
    let dir = paved_bundle(
        &server,
        "loop",
        SCHEMA_V1,
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}\n",
    );
    let response = expect_refused(
        register_bundle(&server, &dir).await,
        "invalid_bundle",
        "render-fuel",
    );
    assert_eq!(
        response.body["error"]["problems"][0]["file"],
        "infrastructure/cloudformation.yaml"
    );

    // What cannot render with the schema's defaults is refused with its file and line: a
    // range too large to loop over, and a file the bundle does not have (here chosen by an
    // input's default).
    let cases = [
        (
            "range",
            "Resources: {}\n{% for i in range(10**9) %}{{ i }}{% endfor %}\n",
            "render-range",
            2,
        ),
        (
            "include",
            "Resources: {}\n\n{% include 'partials/' ~ service_instance.inputs.size ~ '.yaml' %}\n",
            "missing-template",
            3,
        ),
    ];
    for (folder, template, rule, line) in cases {
        let dir = paved_bundle(&server, folder, SCHEMA_V1, template);
        let response = expect_refused(register_bundle(&server, &dir).await, "invalid_bundle", rule);
        let problem = &response.body["error"]["problems"][0];
        assert_eq!(
            (&problem["file"], &problem["line"], &problem["rule"]),
            (
                &json!("infrastructure/cloudformation.yaml"),
                &json!(line),
                &json!(rule)
            ),
            "{}",
            response.text
        );
    }
    let response = expect_refused(
        register_bundle(&server, &server.input_dir().join("include")).await,
        "invalid_bundle",
        "`partials/small.yaml` is not a template file of the bundle",
    );
    assert_eq!(response.status, 400);

    // None of it was stored.
    let list = server.get("/api/templates").await;
    assert_eq!(list.body["items"], json!([]), "{}", list.text);
}

/// A `.tar.gz` of raw entries (no path checks: this is the attacker's side), base64.
fn tar_gz(entries: &[(&str, &[u8])]) -> String {
    archive(|builder| {
        for (path, contents) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            // `set_path` refuses `..`; write the name bytes directly, as a hostile tool would.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *contents).expect("append");
        }
    })
}

/// An archive holding one file of `size` zero bytes (it compresses to ~100 KB), streamed so
/// the test never holds it.
fn big_archive(size: u64) -> String {
    archive(|builder| {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header
            .set_path("infrastructure/big.yaml")
            .expect("a plain path");
        header.set_cksum();
        builder
            .append(&header, std::io::Read::take(std::io::repeat(0), size))
            .expect("append");
    })
}

/// A gzip-compressed tar archive filled by `fill`, base64.
fn archive(fill: impl FnOnce(&mut tar::Builder<flate2::write::GzEncoder<Vec<u8>>>)) -> String {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    fill(&mut builder);
    let archive = builder.into_inner().expect("tar").finish().expect("gzip");
    base64::engine::general_purpose::STANDARD.encode(archive)
}

async fn template_sync_registers_new_majors_and_minor_drafts(backend: Backend) {
    let server = TestServer::start(backend).await;
    register_ecs_environment(&server).await;
    let repository = server.data.dir.path().join("templates.git");
    paved_git::init_bare(&repository).expect("a bare repository");
    let bundle = |schema: &str, folder: &str| -> Vec<(String, Vec<u8>)> {
        vec![
            (
                format!("{folder}/paved-template.yaml"),
                b"apiVersion: paved.dev/v1\nkind: ServiceTemplate\nmetadata:\n  name: api\nspec:\n  compatibleEnvironments:\n    - template: ecs-environment\n      major: 1\n".to_vec(),
            ),
            (format!("{folder}/schema.yaml"), schema.as_bytes().to_vec()),
            (
                format!("{folder}/infrastructure/cloudformation.yaml"),
                TEMPLATE.as_bytes().to_vec(),
            ),
        ]
    };
    let commit = |files: Vec<(String, Vec<u8>)>, message: &str| {
        paved_git::commit_files(
            &repository,
            "main",
            &files,
            message,
            "Platform",
            "platform@example.com",
        )
        .expect("commit");
    };
    let mut files = bundle(SCHEMA_V1, "api/v1");
    files.push(("README.md".to_owned(), b"Templates\n".to_vec()));
    commit(files.clone(), "api v1");

    let added = server
        .post(
            "/api/template-syncs",
            json!({"target": format!("{}#ref=main", repository.display())}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.body["registered"], json!(["api@1.0"]));
    let id = added.body["sync"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(added.body["sync"]["reference"], "main");

    // Nothing changed: nothing registered.
    let again = server
        .post(&format!("/api/template-syncs/{id}/run"), json!({}))
        .await;
    assert_eq!(again.body["registered"], json!([]), "{}", again.text);
    assert_eq!(again.body["unchanged"], 1);

    // A changed bundle is a new minor draft; a new folder a new major.
    let mut files = bundle(
        &format!("{SCHEMA_V1}  debug:\n    type: boolean\n    default: false\n"),
        "api/v1",
    );
    files.extend(bundle(SCHEMA_V1, "api/v2"));
    commit(files, "api 1.1 and v2");
    let synced = server
        .post(&format!("/api/template-syncs/{id}/run"), json!({}))
        .await;
    assert_eq!(
        synced.body["registered"],
        json!(["api@1.1", "api@2.0"]),
        "{}",
        synced.text
    );
    let detail = server.get("/api/templates/api").await;
    let statuses: Vec<(String, String)> = detail.body["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|version| {
            (
                version["version"].as_str().unwrap_or_default().to_owned(),
                version["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("1.0".to_owned(), "draft".to_owned()),
            ("1.1".to_owned(), "draft".to_owned()),
            ("2.0".to_owned(), "draft".to_owned())
        ]
    );

    // An incompatible change in v1 is a problem of that folder; v2's change still syncs.
    let mut files = bundle(
        "type: object\nproperties:\n  port:\n    type: integer\n",
        "api/v1",
    );
    files.extend(bundle(
        &format!("{SCHEMA_V1}  note:\n    type: string\n    default: hi\n"),
        "api/v2",
    ));
    commit(files, "break v1");
    let partial = server
        .post(&format!("/api/template-syncs/{id}/run"), json!({}))
        .await;
    assert_eq!(
        partial.body["registered"],
        json!(["api@2.1"]),
        "{}",
        partial.text
    );
    let problems = partial.body["problems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(problems.len(), 1, "{}", partial.text);
    assert_eq!(problems[0]["file"], "api/v1");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("size"),
        "{}",
        partial.text
    );
    let listed = server.get("/api/template-syncs").await;
    assert_eq!(
        listed.body["items"][0]["problems"].as_array().map(Vec::len),
        Some(1)
    );
}

/// Every value the API serves, every audit event and every stored sync row, as text.
async fn everything_shown_or_stored(server: &TestServer) -> String {
    let mut shown = Vec::new();
    for path in [
        "/api/template-syncs".to_owned(),
        "/api/templates".to_owned(),
        "/api/templates/api".to_owned(),
    ] {
        shown.push(server.get(&path).await.text);
    }
    for event in server.audit_log().await {
        shown.push(format!("{event:?}"));
    }
    for row in server.store.template_syncs().await.expect("the syncs") {
        shown.push(format!("{row:?}"));
    }
    for row in server
        .store
        .template_versions(None)
        .await
        .expect("the versions")
    {
        shown.push(format!("{row:?}"));
    }
    shown.join("\n")
}

async fn template_sync_credentials_are_never_stored_shown_or_audited(backend: Backend) {
    const SECRET: &str = "s3cret-token";
    let server = TestServer::start_with(TestData::with_builtin_templates(backend).await).await;
    let root = server.data.dir.path().join("git-server");
    let repository = root.join("templates.git");
    paved_git::init_bare(&repository).expect("a bare repository");
    let files = [
        ("api/v1/paved-template.yaml", "apiVersion: paved.dev/v1\nkind: ServiceTemplate\nmetadata:\n  name: api\nspec:\n  compatibleEnvironments:\n    - template: ecs-environment\n      major: 1\n"),
        ("api/v1/schema.yaml", SCHEMA_V1),
        ("api/v1/infrastructure/cloudformation.yaml", TEMPLATE),
    ]
    .map(|(path, text)| (path.to_owned(), text.as_bytes().to_vec()));
    paved_git::commit_files(
        &repository,
        "main",
        &files,
        "api v1",
        "Platform",
        "platform@example.com",
    )
    .expect("commit");
    let git = paved_test::git_http::GitHttpServer::start(&root, "bot", SECRET).await;
    let plain_url = format!("{}/templates.git", git.url);
    let secret_url = plain_url.replacen("http://", &format!("http://bot:{SECRET}@"), 1);

    // Without configured credentials for the host, a URL carrying some is refused: stored
    // redacted it could not authenticate later, and stored in clear it would leak.
    let refused = server
        .post(
            "/api/template-syncs",
            json!({"target": format!("{secret_url}#ref=main")}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.body["error"]["code"], "invalid_request");
    assert!(
        refused
            .text
            .contains(&format!("`{plain_url}` carries credentials"))
            && refused.text.contains("--git-credentials"),
        "{}",
        refused.text
    );
    assert_eq!(git.authorized_requests(), 0, "nothing was fetched");

    // With the host's credentials configured (as `paved up --git-credentials` does), the
    // same call syncs, and only the redacted URL is kept.
    server.registry.set_git_credentials(
        paved_git::CredentialStore::parse(&format!(
            "http://bot:{SECRET}@{}\n",
            &git.url["http://".len()..]
        ))
        .expect("a credential store"),
    );
    let added = server
        .post(
            "/api/template-syncs",
            json!({"target": format!("{secret_url}#ref=main")}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(
        added.body["registered"],
        json!(["api@1.0"]),
        "{}",
        added.text
    );
    assert_eq!(added.body["sync"]["repository"], plain_url.as_str());
    let id = added.body["sync"]["id"].as_str().expect("an id").to_owned();
    let fetched = git.authorized_requests();
    assert!(fetched > 0, "the fetch authenticated");
    assert!(
        git.refused_requests() > 0,
        "the server asked for credentials"
    );

    // Later runs authenticate with the configured credentials.
    let again = server
        .post(&format!("/api/template-syncs/{id}/run"), json!({}))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["problems"], json!([]), "{}", again.text);
    assert!(git.authorized_requests() > fetched);

    // A registration from git may carry its own credentials: used for that read, kept nowhere.
    let registered = server
        .post(
            "/api/templates/versions",
            json!({"major": 2, "source": {"type": "git",
                "target": format!("{secret_url}#ref=main&path=api/v1")}}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let source = registered.body["version"]["source"]
        .as_str()
        .unwrap_or_default();
    assert!(
        source.starts_with(&format!("git:{plain_url}#ref=main&path=api/v1@")),
        "{source}"
    );

    let everything = everything_shown_or_stored(&server).await;
    assert!(everything.contains(&plain_url), "{everything}");
    assert!(!everything.contains(SECRET), "{everything}");
    // Nor is it in the data directory's files (SQLite, the git mirror's config).
    let mut pending = vec![server.data.dir.path().to_owned()];
    while let Some(path) = pending.pop() {
        if path.starts_with(&root) {
            continue;
        }
        if path.is_dir() {
            pending.extend(
                std::fs::read_dir(&path)
                    .expect("a directory")
                    .map(|entry| entry.expect("an entry").path()),
            );
        } else if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes
                    .windows(SECRET.len())
                    .any(|window| window == SECRET.as_bytes()),
                "`{}` holds the secret",
                path.display()
            );
        }
    }

    // Without the configuration, a run fails naming the repository, not the secret.
    server
        .registry
        .set_git_credentials(paved_git::CredentialStore::default());
    let unauthenticated = server
        .post(&format!("/api/template-syncs/{id}/run"), json!({}))
        .await;
    assert_eq!(unauthenticated.status, 200, "{}", unauthenticated.text);
    assert_eq!(unauthenticated.body["problems"][0]["rule"], "sync-read");
    assert!(!unauthenticated.text.contains(SECRET));
}

/// A sync stored with credentials before Paved stopped storing them is redacted at start;
/// one that becomes a duplicate of another is removed.
async fn stored_sync_credentials_are_forgotten_at_start(backend: Backend) {
    let server = TestServer::start(backend).await;
    let store = server.store.clone();
    for (id, repository) in [
        ("old", "http://bot:s3cret@git.example.com/templates.git"),
        ("twin", "http://other:s3cret@git.example.com/shared.git"),
        ("plain", "http://git.example.com/shared.git"),
    ] {
        // As an earlier version stored them.
        let mut tx = store.begin().await.expect("a transaction");
        tx.ensure_template_sync(id, repository, "main", 1)
            .await
            .expect("a sync row");
        tx.commit().await.expect("commit");
    }
    let server = server.restart().await;
    let rows: Vec<(String, String)> = server
        .store
        .template_syncs()
        .await
        .expect("the syncs")
        .into_iter()
        .map(|row| (row.id, row.repository))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "old".to_owned(),
                "http://git.example.com/templates.git".to_owned()
            ),
            (
                "plain".to_owned(),
                "http://git.example.com/shared.git".to_owned()
            ),
        ]
    );
}

async fn mutations_need_the_admin_token_and_are_audited(backend: Backend) {
    let server = TestServer::start(backend).await;
    register_ecs_environment(&server).await;
    let dir = paved_bundle(&server, "api", SCHEMA_V1, TEMPLATE);
    let body = json!({"source": {"type": "archive", "data": archive_of(&dir)}});
    let anonymous = server
        .post_anonymous("/api/templates/versions", body.clone())
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    let refused_sync = server
        .post_anonymous("/api/template-syncs", json!({"target": "/nowhere"}))
        .await;
    assert_eq!(refused_sync.status, 401);
    register_dir(&server, &dir, json!({}), 201).await;
    let publish = server
        .post_anonymous("/api/templates/api/versions/1.0/publish", json!({}))
        .await;
    assert_eq!(publish.status, 401);
    // Rendering stores nothing and needs no token.
    let render = server
        .post_anonymous("/api/templates/api/render", json!({"version": "1.0"}))
        .await;
    assert_eq!(render.status, 200, "{}", render.text);

    let events = server.audit_log().await;
    let actions: Vec<(String, String, bool)> = events
        .iter()
        .map(|event| {
            (
                event.action.clone(),
                event.principal.clone(),
                event.outcome == "ok",
            )
        })
        .collect();
    assert!(
        actions.contains(&("template.register".to_owned(), "admin".to_owned(), true)),
        "{actions:?}"
    );
    assert!(
        actions.contains(&(
            "template.register".to_owned(),
            "anonymous".to_owned(),
            false
        )),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("template.publish".to_owned(), "anonymous".to_owned(), false)),
        "{actions:?}"
    );
}

async fn builtin_templates_are_registered_on_first_start(backend: Backend) {
    let server = TestServer::start_with(TestData::with_builtin_templates(backend).await).await;
    let list = server.get("/api/templates").await;
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "backend-service",
            "ecs-environment",
            "scheduled-job",
            "web-service",
            "worker-service"
        ]
    );
    for item in list.body["items"].as_array().expect("items") {
        assert_eq!(item["recommendedVersion"], "1.0", "{item}");
    }
    // A version's answer carries the bundle's README (here, with its security checks).
    let version = server
        .get("/api/templates/ecs-environment/versions/1")
        .await;
    assert!(
        version.body["readme"]
            .as_str()
            .is_some_and(|readme| readme.contains("## Security checks")),
        "{}",
        version.text
    );
    // An admin replaces a built-in by registering a new version; a restart leaves it alone.
    let server = server.restart().await;
    let detail = server.get("/api/templates/web-service").await;
    assert_eq!(detail.body["versionCount"], 1, "{}", detail.text);
    let rendered = server
        .post(
            "/api/templates/web-service/render",
            json!({"version": "1", "inputs": {"port": 8080}}),
        )
        .await;
    assert_eq!(rendered.status, 200, "{}", rendered.text);
    let entities = server
        .get("/api/catalog/entities/by-query?filter=kind=template")
        .await;
    assert_eq!(entities.body["totalItems"], 5, "{}", entities.text);
}

/// Files of a Proton-layout test bundle of `paved-template` under `folder/`, in a repository.
fn proton_test_bundle_files(name: &str, folder: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../paved-template/tests/bundles")
        .join(name)
        .join("v1");
    source::read_dir(&root, &SourceLimits::default())
        .expect("the bundle reads")
        .into_iter()
        .map(|file| (format!("{folder}/{}", file.path), file.bytes))
        .collect()
}

async fn template_sync_registers_an_environment_named_by_a_service_of_the_same_commit(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let repository = server.data.dir.path().join("proton.git");
    paved_git::init_bare(&repository).expect("a bare repository");
    // `a-service` sorts before `z-environment`, and its `.compatible-envs` names it.
    let mut files = proton_test_bundle_files("svc-cfn", "a-service/v1");
    for (path, bytes) in &mut files {
        if path.ends_with(".compatible-envs") {
            *bytes = b"z-environment:1\n".to_vec();
        }
    }
    files.extend(proton_test_bundle_files("env-cfn", "z-environment/v1"));
    paved_git::commit_files(
        &repository,
        "main",
        &files,
        "Proton templates",
        "Platform",
        "platform@example.com",
    )
    .expect("commit");
    let added = server
        .post(
            "/api/template-syncs",
            json!({"target": format!("{}#ref=main", repository.display())}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(
        added.body["registered"],
        json!(["z-environment@1.0", "a-service@1.0"]),
        "{}",
        added.text
    );
    let service = server.get("/api/templates/a-service").await;
    assert_eq!(
        service.body["versions"][0]["compatibleEnvironments"],
        json!([{"template": "z-environment", "major": 1}]),
        "{}",
        service.text
    );
}

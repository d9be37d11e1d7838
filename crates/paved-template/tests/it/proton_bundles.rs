//! The bundles of `tests/bundles`, written as for AWS Proton: they parse (as registration does),
//! read their compatible environments from Proton's repository files, and render over a context
//! holding every field of Proton's namespace. Terraform output is checked with an HCL parser:
//! every `var.X.Y` a `.tf` file reads is declared by the generated variables file, with a value
//! in `proton.auto.tfvars.json`; a binary file comes out byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use paved_template::bundle::{
    Bundle, BundleFile, EnvironmentContext, PipelineInstance, RenderContext, RenderRequest,
    ServiceContext, ServiceInstanceContext, TemplateVersionRef,
};
use paved_template::{Limits, RenderedFile};
use serde_json::{Map, Value, json};

pub fn bundle_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bundles")
        .join(name)
        .join("v1")
}

/// A bundle's files as a source reads them: relative `/` paths, sorted.
pub fn read_bundle(name: &str) -> Vec<BundleFile> {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<BundleFile>) {
        for entry in std::fs::read_dir(dir).expect("a readable directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let relative = path.strip_prefix(root).expect("inside the root");
                files.push(BundleFile::new(
                    relative.to_string_lossy().replace('\\', "/"),
                    std::fs::read(&path).expect("a readable file"),
                ));
            }
        }
    }
    let root = bundle_dir(name);
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn map(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("a mapping")
}

/// A context with every field of the namespace set.
pub fn full_context() -> RenderContext {
    let staging = EnvironmentContext {
        name: "staging".to_owned(),
        account_id: "210987654321".to_owned(),
        outputs: map(
            json!({"ClusterName": "staging-cluster", "SubnetId": "subnet-0def5678", "RoleName": "lambda"}),
        ),
    };
    let prod = EnvironmentContext {
        name: "prod".to_owned(),
        account_id: "123456789012".to_owned(),
        outputs: map(
            json!({"ClusterName": "prod-cluster", "SubnetId": "subnet-0abc1234", "RoleName": "lambda"}),
        ),
    };
    RenderContext {
        environment: prod.clone(),
        service: ServiceContext {
            name: "billing-api".to_owned(),
            branch_name: "main".to_owned(),
            repository_id: "acme/billing-api".to_owned(),
            repository_connection_arn:
                "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc".to_owned(),
        },
        service_instance: ServiceInstanceContext {
            name: "billing-api-prod".to_owned(),
        },
        component_outputs: map(json!({"BucketName": "billing-bucket"})),
        service_instances: vec![
            PipelineInstance {
                name: "billing-api-staging".to_owned(),
                inputs: map(json!({"port": 8081, "memory": 128})),
                outputs: map(json!({"ServiceName": "billing-staging"})),
                environment: staging,
            },
            PipelineInstance {
                name: "billing-api-prod".to_owned(),
                inputs: map(json!({"port": 8080, "memory": 256})),
                outputs: Map::new(),
                environment: prod,
            },
        ],
    }
}

/// Parses and renders bundle `name` with its inputs' defaults and [`full_context`].
pub fn render_bundle(name: &str, inputs: Value) -> (Bundle, BTreeMap<String, RenderedFile>) {
    let bundle = Bundle::parse(read_bundle(name))
        .unwrap_or_else(|problems| panic!("{name} does not parse: {problems:#?}"));
    let request = RenderRequest {
        template: TemplateVersionRef {
            name: name.to_owned(),
            version: "1.0".to_owned(),
        },
        inputs,
        pipeline_inputs: None,
        context: full_context(),
    };
    let rendered = bundle
        .render(&request, &Limits::default())
        .unwrap_or_else(|err| panic!("{name} does not render: {err}"));
    let files = rendered
        .into_iter()
        .map(|file| (file.path.clone(), file))
        .collect();
    (bundle, files)
}

#[test]
fn cloudformation_bundles_register_from_their_own_files_and_render() {
    let (environment, files) = render_bundle("env-cfn", json!({}));
    assert!(environment.compatible_environments.is_empty());
    let template = &files["infrastructure/cloudformation.yaml"].contents;
    assert!(template.contains("Value: '123456789012'"), "{template}");
    assert!(
        template.contains("ClusterName: 'prod-cluster'"),
        "{template}"
    );
    // Jinja2 drops the final line break, as Proton renders.
    assert!(template.ends_with("Value: !Ref Cluster"), "{template:?}");

    let (service, files) = render_bundle("svc-cfn", json!({}));
    let compatible: Vec<(&str, u32)> = service
        .compatible_environments
        .iter()
        .map(|environment| (environment.template.as_str(), environment.major))
        .collect();
    assert_eq!(compatible, [("env-cfn", 1)]);
    let instance = &files["instance_infrastructure/cloudformation.yaml"].contents;
    insta::assert_snapshot!("proton_bundle_service_instance", instance);
    let pipeline = &files["pipeline_infrastructure/cloudformation.yaml"].contents;
    insta::assert_snapshot!("proton_bundle_pipeline", pipeline);
    for account in ["210987654321", "123456789012"] {
        assert!(
            pipeline.contains(&format!("arn:aws:iam::{account}:root")),
            "{pipeline}"
        );
    }
}

/// The `variable` blocks of an HCL file: name → the text of its type.
fn declared_variables(text: &str) -> BTreeMap<String, String> {
    let body = hcl::parse(text).unwrap_or_else(|err| panic!("not HCL: {err}\n{text}"));
    body.blocks()
        .filter(|block| block.identifier() == "variable")
        .map(|block| {
            let name = block.labels()[0].as_str().to_owned();
            let declared = block
                .body()
                .attributes()
                .find(|attribute| attribute.key() == "type")
                .map(|attribute| hcl::format::to_string(attribute.expr()).expect("formats"))
                .unwrap_or_default();
            (name, declared)
        })
        .collect()
}

/// Every `var.A.B...` a `.tf` file reads (indexes dropped), after checking it is valid HCL.
fn variable_reads(text: &str) -> Vec<Vec<String>> {
    hcl::parse(text).unwrap_or_else(|err| panic!("not HCL: {err}\n{text}"));
    let pattern = regex::Regex::new(
        r"var\.([A-Za-z_][A-Za-z0-9_]*(?:(?:\[[^\]]*\])?\.[A-Za-z_][A-Za-z0-9_]*)*)",
    )
    .expect("a valid pattern");
    pattern
        .captures_iter(text)
        .map(|captures| {
            let index = regex::Regex::new(r"\[[^\]]*\]").expect("a valid pattern");
            index
                .replace_all(&captures[1], "")
                .split('.')
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// Checks a Terraform folder: each variable read is declared (its attribute too, when the
/// declared type is an object) and has a value.
fn check_terraform_folder(files: &BTreeMap<String, RenderedFile>, folder: &str, namespace: &str) {
    let variables = &files[&format!("{folder}/proton.{namespace}.variables.tf")].contents;
    let declared = declared_variables(variables);
    let values: Value =
        serde_json::from_str(&files[&format!("{folder}/proton.auto.tfvars.json")].contents)
            .expect("JSON");
    let main = &files[&format!("{folder}/main.tf")].contents;
    let reads = variable_reads(main);
    assert!(!reads.is_empty());
    for read in reads {
        let name = &read[0];
        let declared_type = declared.get(name).unwrap_or_else(|| {
            panic!(
                "{folder}: `var.{}` is not declared:\n{variables}",
                read.join(".")
            )
        });
        assert!(
            values.get(name).is_some(),
            "{folder}: no value for `{name}`"
        );
        if let Some(attribute) = read.get(1)
            && declared_type.starts_with("object(")
        {
            assert!(
                declared_type.contains(&format!("{attribute} ")),
                "{folder}: `var.{}`: `{attribute}` is not in `{declared_type}`",
                read.join(".")
            );
        }
    }
}

#[test]
fn terraform_bundles_declare_every_variable_their_files_read() {
    let (_, files) = render_bundle("env-tf", json!({}));
    check_terraform_folder(&files, "infrastructure", "environment");
    insta::assert_snapshot!(
        "proton_bundle_environment_variables",
        files["infrastructure/proton.environment.variables.tf"].contents
    );
    let values: Value =
        serde_json::from_str(&files["infrastructure/proton.auto.tfvars.json"].contents)
            .expect("JSON");
    // `retention` is optional without a default: absent, as in Proton's files, not null.
    assert_eq!(
        values["environment"]["inputs"],
        json!({"ssm_parameter_value": "hello", "tags": ["a", "b"]})
    );
    assert_eq!(values["environment"]["account_id"], "123456789012");

    let (service, files) = render_bundle("svc-tf", json!({}));
    assert_eq!(service.compatible_environments[0].template, "env-tf");
    check_terraform_folder(&files, "instance_infrastructure", "service_instance");
    check_terraform_folder(&files, "pipeline_infrastructure", "pipeline");
    insta::assert_snapshot!(
        "proton_bundle_pipeline_variables",
        files["pipeline_infrastructure/proton.pipeline.variables.tf"].contents
    );
    let values: Value =
        serde_json::from_str(&files["pipeline_infrastructure/proton.auto.tfvars.json"].contents)
            .expect("JSON");
    assert_eq!(
        values["service_instances"][0]["environment"]["account_id"],
        "210987654321"
    );
    assert_eq!(
        values["service_instances"][0]["outputs"]["ServiceName"],
        "billing-staging"
    );
    assert_eq!(values["service"]["branch_name"], "main");

    // The `.zip` is copied byte for byte.
    let zip = &files["instance_infrastructure/function.zip"];
    let original = std::fs::read(bundle_dir("svc-tf").join("instance_infrastructure/function.zip"))
        .expect("the fixture");
    assert_eq!(zip.bytes(), original);
    assert_eq!(zip.encoding, paved_template::Encoding::Base64);
}

#[test]
fn repository_files_that_are_wrong_are_refused_naming_the_line() {
    let mut files = read_bundle("svc-cfn");
    for file in &mut files {
        if file.path == ".compatible-envs" {
            file.bytes = b"env-cfn:1\nno-major\n".to_vec();
        }
    }
    let problems = Bundle::parse(files).expect_err("refused");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].file.as_deref(), Some(".compatible-envs"));
    assert_eq!(problems[0].line, Some(2));
    assert!(
        problems[0]
            .message
            .contains("`no-major` is not a compatible environment")
    );
}

#[test]
fn registration_refuses_what_rendering_would_fail_on_with_file_and_line() {
    let mut files = read_bundle("svc-cfn");
    for file in &mut files {
        if file.path == "pipeline_infrastructure/cloudformation.yaml" {
            file.bytes = b"Resources:\n{% for service_instance in service_instances %}\n  R{{ loop.index }}:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: '{{ service_instance.environment.acount_id }}'\n      DisplayName: '{{ service_instance.inputs.prot | no_such_filter }}'\n{% endfor %}\n"
                .to_vec();
        }
    }
    let problems = Bundle::parse(files).expect_err("refused");
    let shown: Vec<(Option<usize>, &str, &str)> = problems
        .iter()
        .map(|problem| {
            (
                problem.line,
                problem.rule.as_str(),
                problem.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                Some(6),
                "unknown-variable",
                "unknown variable `service_instances[].environment.acount_id`: \
                 `service_instances[].environment` has `account_id`, `name`, `outputs`"
            ),
            (
                Some(7),
                "unknown-variable",
                "unknown variable `service_instances[].inputs.prot`: `prot` is not an input of \
                 the input schema, which declares `description`, `desired_count`, `image`, `port`"
            ),
            (Some(7), "unknown-filter", "unknown filter `no_such_filter`"),
        ]
    );
    assert!(
        problems.iter().all(|problem| problem.file.as_deref()
            == Some("pipeline_infrastructure/cloudformation.yaml"))
    );
}

//! The built-in golden paths (`templates/`), rendered over a matrix of inputs and checked by
//! tools AWS and others wrote, not us (.ci/setup-oracles installs them under $ORACLES_HOME):
//!
//! - cfn-lint 1.58: every rendered template is valid CloudFormation (no error, no unexplained
//!   warning);
//! - botocore's service models: the ECS task definitions and services (and the scheduler's and
//!   autoscaling's requests) are valid API requests (`ecs_api_check.py`), and that check does
//!   catch a broken task definition;
//! - checkov 3.3: every failed security check is listed, with a reason, in the template's
//!   README under `## Security checks`, and every listed exception still happens;
//! - JSON Schema 2020-12 (Python's `jsonschema`): the schemas (instance and pipeline) are
//!   valid, accept the matrix's inputs and refuse invalid ones such as a CPU/memory pair Fargate
//!   does not offer or an unknown CI provider;
//! - each service template's pipeline is exactly the CI file of the chosen provider (GitHub
//!   Actions or GitLab CI), YAML that runs the unit tests and builds the image;
//! - the service templates' app skeletons, rendered with their pipeline into the repository the
//!   scaffolder creates, are complete (the Dockerfile's files exist) and pass their own unit
//!   tests; the worker's loop consumes a real SQS API (moto, with botocore's request checks)
//!   and stops on SIGTERM (`worker_check.py`);
//! - the web and backend services' port and health check path agree across the app, the
//!   Dockerfile, the task definition and the load balancer (`golden_paths.rs`).
//!
//! `PAVED_ORACLES_KEEP=1` keeps the rendered files (their directories are printed).
//! Each tool runs once, over every rendered case. A missing tool fails the test.

mod cases;
mod golden_paths;
mod render;
mod tools;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use cases::{Case, PROVIDERS, SERVICE_TEMPLATES, TEMPLATES, matrix};
use render::render_builtin;
use tools::{helper, oracle, run, shown};

/// Renders every case into `dir/<template>/<case>.yaml`; returns the cases and their files.
fn render_matrix(dir: &Path) -> Vec<(Case, PathBuf)> {
    matrix()
        .into_iter()
        .map(|case| {
            let files = render_builtin(
                case.template,
                &case.names,
                case.inputs.clone(),
                case.pipeline_inputs.clone(),
            );
            let infrastructure: Vec<_> = files
                .iter()
                .filter(|f| f.path.starts_with("infrastructure/"))
                .collect();
            let [file] = infrastructure.as_slice() else {
                panic!(
                    "{}: expected one infrastructure file, got {infrastructure:?}",
                    case.template
                );
            };
            assert_eq!(file.path, "infrastructure/cloudformation.yaml");
            let path = dir.join(case.template).join(format!("{}.yaml", case.name));
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("create a directory");
            std::fs::write(&path, &file.contents).expect("write a rendered template");
            (case, path)
        })
        .collect()
}

/// A temporary directory for one test's files; kept (and its path printed) when
/// `PAVED_ORACLES_KEEP` is set, to look at the rendered templates.
fn tempdir() -> tempfile::TempDir {
    let mut dir = tempfile::tempdir().expect("a temporary directory");
    if std::env::var_os("PAVED_ORACLES_KEEP").is_some() {
        dir.disable_cleanup(true);
        eprintln!("kept {}", dir.path().display());
    }
    dir
}

// ------------------------------------------------------------------------------------------
// cfn-lint

/// cfn-lint warnings (W) and informational findings (I) that are expected, with the reason:
/// (rule, template, reason). Errors (E) cannot be explained away.
const EXPLAINED_WARNINGS: &[(&str, &str, &str)] = &[];

#[test]
fn cfn_lint_accepts_every_case() {
    let dir = tempdir();
    let rendered = render_matrix(dir.path());
    let mut command = Command::new(oracle("py/bin/cfn-lint"));
    command
        .args(["--format", "parseable", "--regions", "us-east-1"])
        // Informational findings too (e.g. stateful resources without a DeletionPolicy).
        .args(["--include-checks", "I", "--"])
        .args(rendered.iter().map(|(_, path)| path));
    let output = run(command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("cfn-lint was killed\n{}", shown(&output)));
    // The exit code is a bitmask: 2 errors, 4 warnings, 8 informational; 1 means cfn-lint failed.
    assert_eq!(code & 1, 0, "cfn-lint failed to run\n{}", shown(&output));
    let mut unexplained = Vec::new();
    for line in stdout.lines().filter(|line| !line.trim().is_empty()) {
        // FILE:LINE:COLUMN:END_LINE:END_COLUMN:RULE:MESSAGE
        let fields: Vec<&str> = line.splitn(7, ':').collect();
        let [file, _, _, _, _, rule, _] = fields.as_slice() else {
            panic!(
                "unexpected cfn-lint output line: {line}\n{}",
                shown(&output)
            );
        };
        let template = template_of(dir.path(), Path::new(file));
        let explained = !rule.starts_with('E')
            && EXPLAINED_WARNINGS
                .iter()
                .any(|(r, t, _)| r == rule && *t == template);
        if !explained {
            unexplained.push(line.to_owned());
        }
    }
    assert!(
        unexplained.is_empty() && code & 2 == 0,
        "cfn-lint findings over {} rendered templates:\n{}\n{}",
        rendered.len(),
        unexplained.join("\n"),
        shown(&output)
    );
}

/// The template a rendered file belongs to: the first component under `dir`.
fn template_of(dir: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(dir).unwrap_or(file);
    let relative = relative.strip_prefix("/").unwrap_or(relative);
    relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------------
// botocore's ECS (and Scheduler, Application Auto Scaling) models

/// A rendered web service with two deliberate mistakes the API check must report: an unknown
/// container property and a network mode that is not one of the API's enum values.
fn broken(rendered_web_service: &str) -> String {
    let unknown = "          Essential: true\n          Privilegedd: true\n";
    let text = rendered_web_service.replacen("          Essential: true\n", unknown, 1);
    let text = text.replacen("NetworkMode: awsvpc", "NetworkMode: awsvpcx", 1);
    assert_ne!(text, rendered_web_service, "the broken copy must differ");
    text
}

#[test]
fn ecs_requests_match_the_botocore_models() {
    oracle("validate_taskdef.py");
    let dir = tempdir();
    let rendered = render_matrix(&dir.path().join("good"));
    let web = rendered
        .iter()
        .find(|(case, _)| case.template == "web-service")
        .expect("a web-service case");
    let broken_path = dir.path().join("broken.yaml");
    let web_text = std::fs::read_to_string(&web.1).expect("read the rendered web service");
    std::fs::write(&broken_path, broken(&web_text)).expect("write the broken template");

    let mut command = Command::new(oracle("py/bin/python"));
    command
        .arg(helper("ecs_api_check.py"))
        .args(rendered.iter().map(|(_, path)| path))
        .arg(&broken_path);
    let output = run(command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "ecs_api_check.py must exit 1 (the broken template)\n{}",
        shown(&output)
    );

    // file → checked requests: (operation, errors)
    let mut checked: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for line in stdout.lines() {
        let report: Value = serde_json::from_str(line).unwrap_or_else(|err| {
            panic!("unexpected output line {line:?}: {err}\n{}", shown(&output))
        });
        let errors = report["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors list in {line}"))
            .iter()
            .map(|e| e.as_str().unwrap_or_default().to_owned())
            .collect();
        checked
            .entry(report["file"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push((
                report["operation"].as_str().unwrap_or_default().to_owned(),
                errors,
            ));
    }

    let mut problems = Vec::new();
    for (case, path) in &rendered {
        let requests = checked
            .remove(&path.display().to_string())
            .unwrap_or_default();
        let operations: BTreeSet<&str> = requests.iter().map(|(op, _)| op.as_str()).collect();
        for expected in expected_operations(case) {
            if !operations.contains(expected) {
                problems.push(format!(
                    "{}/{}: no {expected} request checked",
                    case.template, case.name
                ));
            }
        }
        for (operation, errors) in &requests {
            for error in errors {
                problems.push(format!(
                    "{}/{}: {operation}: {error}",
                    case.template, case.name
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "API request problems:\n{}\n{}",
        problems.join("\n"),
        shown(&output)
    );

    let broken_errors: Vec<String> = checked
        .remove(&broken_path.display().to_string())
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(_, errors)| errors)
        .collect();
    let all = broken_errors.join("\n");
    assert!(
        all.contains(r#"Unknown parameter in containerDefinitions[0]: "privilegedd""#)
            && all.contains("Invalid enum value for params.networkMode: 'awsvpcx'"),
        "the check must report the broken template's unknown property and bad enum, got:\n{all}"
    );
}

/// The API requests a case's rendered template must contain.
fn expected_operations(case: &Case) -> Vec<&'static str> {
    let mut operations = match case.template {
        "ecs-environment" => vec![],
        "scheduled-job" => vec!["ecs:RegisterTaskDefinition", "scheduler:CreateSchedule"],
        _ => vec!["ecs:RegisterTaskDefinition", "ecs:CreateService"],
    };
    if case.inputs.get("autoscaling").is_some() {
        operations.extend([
            "application-autoscaling:RegisterScalableTarget",
            "application-autoscaling:PutScalingPolicy",
        ]);
    }
    operations
}

// ------------------------------------------------------------------------------------------
// checkov

/// One row of a README's `## Security checks` table (checkov's exceptions).
#[derive(Debug)]
struct Exception {
    check: String,
    resource: String,
}

/// Reads the `## Security checks` table of `templates/<template>/README.md`.
fn checkov_exceptions(template: &str) -> Vec<Exception> {
    let path = render::templates_dir().join(template).join("README.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let section = text
        .split("\n## ")
        .find(|s| {
            s.trim_start()
                .to_ascii_lowercase()
                .starts_with("security checks")
        })
        .unwrap_or_else(|| panic!("{}: no `## Security checks` section", path.display()));
    let rows: Vec<Vec<String>> = section
        .lines()
        .skip_while(|line| !line.trim_start().starts_with('|'))
        .take_while(|line| line.trim_start().starts_with('|'))
        .map(|line| {
            line.trim()
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect();
    let header = rows
        .first()
        .unwrap_or_else(|| panic!("{}: no exceptions table", path.display()));
    assert_eq!(
        header
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect::<Vec<_>>(),
        ["check", "resource", "reason"],
        "{}: the exceptions table's columns",
        path.display()
    );
    rows.iter()
        .skip(2) // the header and the |---| line
        .map(|row| {
            let [check, resource, reason] = row.as_slice() else {
                panic!("{}: a row without 3 cells: {row:?}", path.display());
            };
            assert!(
                check.starts_with("CKV") && !resource.is_empty() && reason.len() >= 20,
                "{}: an exception needs a check id, a resource (or *) and a real reason: {row:?}",
                path.display()
            );
            Exception {
                check: check.clone(),
                resource: resource.clone(),
            }
        })
        .collect()
}

#[test]
fn checkov_failures_are_the_readme_exceptions() {
    let dir = tempdir();
    let rendered = render_matrix(dir.path());
    let mut command = Command::new(oracle("checkov/bin/checkov"));
    command
        .arg("-d")
        .arg(dir.path())
        .args([
            "--framework",
            "cloudformation",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ])
        .args(["--skip-download", "--no-fail-on-crash"]);
    let output = run(command);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("checkov did not print JSON ({err})\n{}", shown(&output)));
    let reports = match report {
        Value::Array(reports) => reports,
        report => vec![report],
    };
    let report = reports
        .iter()
        .find(|r| r["check_type"] == "cloudformation")
        .unwrap_or_else(|| panic!("no cloudformation report from checkov\n{}", shown(&output)));
    let summary = &report["summary"];
    assert_eq!(
        summary["parsing_errors"],
        json!(0),
        "checkov could not parse a template: {summary}"
    );
    assert!(
        summary["passed"].as_u64().unwrap_or(0) > 0,
        "checkov checked nothing: {summary}\n{}",
        shown(&output)
    );

    let exceptions: BTreeMap<&str, Vec<Exception>> = TEMPLATES
        .iter()
        .map(|template| (*template, checkov_exceptions(template)))
        .collect();
    let mut used: BTreeSet<(&str, usize)> = BTreeSet::new();
    let mut unexcepted = Vec::new();
    let failed = report["results"]["failed_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for failure in &failed {
        let check = failure["check_id"].as_str().unwrap_or_default();
        let resource = failure["resource"].as_str().unwrap_or_default();
        let file = failure["file_path"].as_str().unwrap_or_default();
        let template = template_of(dir.path(), Path::new(file));
        let logical_id = resource.rsplit('.').next().unwrap_or(resource);
        let listed = exceptions
            .get_key_value(template.as_str())
            .and_then(|(template, rows)| {
                rows.iter()
                    .position(|e| {
                        e.check == check
                            && (e.resource == "*"
                                || e.resource == logical_id
                                || e.resource == resource)
                    })
                    .map(|index| (*template, index))
            });
        match listed {
            Some(key) => {
                used.insert(key);
            }
            None => unexcepted.push(format!(
                "{template}{file}: {check} on {resource}: {}",
                failure["check_name"].as_str().unwrap_or_default()
            )),
        }
    }
    let mut stale = Vec::new();
    for (template, rows) in &exceptions {
        for (index, e) in rows.iter().enumerate() {
            if !used.contains(&(*template, index)) {
                stale.push(format!("{template}: {} on {}", e.check, e.resource));
            }
        }
    }
    assert!(
        unexcepted.is_empty() && stale.is_empty(),
        "checkov over {} rendered templates.\nFailed checks not listed under `## Security checks` \
         in the template's README (fix the template, or list them with a reason):\n{}\n\
         Exceptions that no case triggers any more (remove them):\n{}",
        rendered.len(),
        unexcepted.join("\n"),
        stale.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// JSON Schema

/// Inputs each template's schema must refuse: (template, inputs, why).
fn invalid_inputs() -> Vec<(&'static str, Value, &'static str)> {
    let mut invalid = vec![
        (
            "web-service",
            json!({"environment_variables": {"PORT": "8080"}}),
            "PORT, which the port input sets",
        ),
        (
            "web-service",
            json!({"secrets": {"HEALTH_CHECK_PATH": "arn:aws:ssm:eu-west-1:123456789012:parameter/p"}}),
            "HEALTH_CHECK_PATH, which the health check path input sets",
        ),
        (
            "backend-service",
            json!({"environment_variables": {"PORT": "8080"}}),
            "PORT, which the port input sets",
        ),
        (
            "ecs-environment",
            json!({"vpc_cidr": "10.0.0.0/8"}),
            "a VPC larger than /16",
        ),
        (
            "ecs-environment",
            json!({"public_subnet_cidrs": ["10.0.0.0/24"]}),
            "one public subnet",
        ),
        (
            "ecs-environment",
            json!({"log_retention_days": 31}),
            "a retention CloudWatch does not offer",
        ),
        ("ecs-environment", json!({"alb_listener_port": 0}), "port 0"),
        (
            "ecs-environment",
            json!({"unknown": true}),
            "an unknown input",
        ),
    ];
    for template in &TEMPLATES[1..] {
        invalid.extend([
            (
                *template,
                json!({"cpu": 256, "memory": 4096}),
                "256 CPU with 4 GiB",
            ),
            (
                *template,
                json!({"cpu": 1024, "memory": 1024}),
                "1024 CPU with 1 GiB",
            ),
            (
                *template,
                json!({"cpu": 4096, "memory": 8704}),
                "4096 CPU with memory off the 1 GiB step",
            ),
            (
                *template,
                json!({"cpu": 300}),
                "a CPU size Fargate does not offer",
            ),
            (
                *template,
                json!({"environment_variables": {"1BAD": "x"}}),
                "a variable name starting with a digit",
            ),
            (
                *template,
                json!({"environment_variables": {"OK": 1}}),
                "a variable value that is not a string",
            ),
            (
                *template,
                json!({"secrets": {"DB": "my-secret"}}),
                "a secret that is not an ARN",
            ),
            (
                *template,
                json!({"secrets": {"DB": "arn:aws:s3:::bucket/key"}}),
                "an ARN of neither Secrets Manager nor SSM",
            ),
            (*template, json!({"image": ""}), "an empty image"),
            (*template, json!({"unknown": true}), "an unknown input"),
        ]);
    }
    for template in ["web-service", "backend-service", "worker-service"] {
        invalid.extend([
            (template, json!({"desired_count": -1}), "a negative count"),
            (
                template,
                json!({"autoscaling": {"min_count": 1, "max_count": 0}}),
                "autoscaling to at most 0 tasks",
            ),
            (
                template,
                json!({"autoscaling": {"min_count": 1, "cpu_target_percent": 100}}),
                "a CPU target of 100%",
            ),
            (
                template,
                json!({"max_percent": 99}),
                "a maximum percent below 100",
            ),
        ]);
    }
    invalid.extend([
        (
            "web-service",
            json!({"alb_rule_priority": 50001}),
            "a rule priority above 50000",
        ),
        (
            "web-service",
            json!({"path_pattern": "api/*"}),
            "a path pattern without a leading /",
        ),
        ("web-service", json!({"port": 70000}), "a port above 65535"),
        (
            "backend-service",
            json!({"app_protocol": "tcp"}),
            "an app protocol Service Connect does not know",
        ),
        (
            "worker-service",
            json!({"environment_variables": {"QUEUE_URL": "x"}}),
            "overriding QUEUE_URL",
        ),
        (
            "worker-service",
            json!({"max_receive_count": 0}),
            "a receive count of 0",
        ),
        (
            "scheduled-job",
            json!({"schedule_expression": "every hour"}),
            "a schedule that is not rate(), cron() or at()",
        ),
        (
            "scheduled-job",
            json!({"schedule_expression": "rate(0 hours)"}),
            "a rate of 0",
        ),
        (
            "scheduled-job",
            json!({"retries": 186}),
            "more retries than the scheduler allows",
        ),
    ]);
    invalid
}

/// Pipeline inputs every service template's pipeline schema must refuse: (inputs, why).
fn invalid_pipeline_inputs() -> Vec<(Value, &'static str)> {
    vec![
        (
            json!({"provider": "jenkins"}),
            "a CI provider the template has no file for",
        ),
        (
            json!({"provider": "GitLab-CI"}),
            "a provider in the wrong case",
        ),
        (json!({"provider": ""}), "an empty provider"),
        (json!({"provider": 1}), "a provider that is not a string"),
        (json!({"unknown": true}), "an unknown pipeline input"),
    ]
}

/// The key of a service template's pipeline schema in `schema_check.py`'s request.
fn pipeline_key(template: &str) -> String {
    format!("{template} (pipeline)")
}

#[test]
fn schemas_accept_the_matrix_and_refuse_invalid_inputs() {
    let templates = render::templates_dir();
    let cases = matrix();
    let mut valid: Vec<Value> = cases
        .iter()
        .map(|case| json!({"template": case.template, "name": case.name, "inputs": case.inputs}))
        .collect();
    let mut invalid: Vec<Value> = invalid_inputs()
        .into_iter()
        .map(|(template, inputs, why)| json!({"template": template, "name": why, "inputs": inputs}))
        .collect();
    let mut schemas: serde_json::Map<String, Value> = TEMPLATES
        .iter()
        .map(|t| (t.to_string(), json!(templates.join(t).join("schema.yaml"))))
        .collect();
    for template in SERVICE_TEMPLATES {
        let key = pipeline_key(template);
        schemas.insert(
            key.clone(),
            json!(templates.join(template).join("pipeline-schema.yaml")),
        );
        valid.extend(
            cases
                .iter()
                .filter(|case| case.template == *template)
                .map(|case| json!({"template": key, "name": case.name, "inputs": case.pipeline_inputs.clone().unwrap_or_else(|| json!({}))})),
        );
        valid.extend(PROVIDERS.iter().map(
            |provider| json!({"template": key, "name": provider, "inputs": {"provider": provider}}),
        ));
        invalid.extend(
            invalid_pipeline_inputs()
                .into_iter()
                .map(|(inputs, why)| json!({"template": key, "name": why, "inputs": inputs})),
        );
    }
    let request = json!({
        "schemas": schemas,
        "valid": valid,
        "invalid": invalid,
    });
    let dir = tempdir();
    let request_path = dir.path().join("request.json");
    std::fs::write(&request_path, request.to_string()).expect("write the request");
    let mut command = Command::new(oracle("py/bin/python"));
    command.arg(helper("schema_check.py")).arg(&request_path);
    let output = run(command);
    assert!(
        output.status.success(),
        "JSON Schema check failed\n{}",
        shown(&output)
    );
}

// ------------------------------------------------------------------------------------------
// Pipelines

/// The CI file a provider's pipeline is, at the new repository's root.
fn ci_file(provider: &str) -> &'static str {
    match provider {
        "github-actions" => ".github/workflows/ci.yml",
        "gitlab-ci" => ".gitlab-ci.yml",
        other => panic!("no CI file known for provider `{other}`"),
    }
}

/// A YAML mapping's entries, or none.
fn entries(value: &Value) -> Vec<(&String, &Value)> {
    value
        .as_object()
        .map(|map| map.iter().collect())
        .unwrap_or_default()
}

/// The strings of a YAML list, or none.
fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// What is wrong with a rendered CI file (parsed), for `provider` and service `service`: it must
/// run the unit tests, then build the image tagged with the service's name in lower case, for
/// pull or merge requests and pushes to the service's branch (`main` here).
fn ci_problems(provider: &str, ci: &Value, service: &str) -> Vec<String> {
    let build = format!("docker build --tag {} .", json!(service.to_lowercase()));
    let tests = "python -m unittest -v";
    let mut problems = Vec::new();
    let mut commands = Vec::new();
    match provider {
        "github-actions" => {
            if strings(&ci["on"]["push"]["branches"]) != ["main"] {
                problems.push(format!("on.push.branches is not [main]: {}", ci["on"]));
            }
            if ci["on"].get("pull_request").is_none() {
                problems.push(format!("no on.pull_request: {}", ci["on"]));
            }
            for (_, job) in entries(&ci["jobs"]) {
                let steps = job["steps"].as_array().cloned().unwrap_or_default();
                if !steps.iter().any(|step| {
                    step["uses"]
                        .as_str()
                        .is_some_and(|uses| uses.starts_with("actions/checkout@"))
                }) {
                    problems.push("a job does not check the repository out".to_owned());
                }
                commands.extend(
                    steps
                        .iter()
                        .filter_map(|step| step["run"].as_str().map(str::to_owned)),
                );
            }
        }
        "gitlab-ci" => {
            let rules: Vec<&str> = ci["workflow"]["rules"]
                .as_array()
                .map(|rules| rules.iter().filter_map(|r| r["if"].as_str()).collect())
                .unwrap_or_default();
            let expected = [
                r#"$CI_PIPELINE_SOURCE == "merge_request_event""#,
                r#"$CI_COMMIT_BRANCH == "main""#,
            ];
            if rules != expected {
                problems.push(format!(
                    "workflow.rules are {rules:?}, expected {expected:?}"
                ));
            }
            let stages = strings(&ci["stages"]);
            // Jobs in the order their stages run.
            let mut jobs: Vec<(&String, &Value)> = entries(ci)
                .into_iter()
                .filter(|(_, job)| job.get("script").is_some())
                .collect();
            jobs.sort_by_key(|(_, job)| {
                stages
                    .iter()
                    .position(|stage| job["stage"].as_str() == Some(stage))
                    .unwrap_or(usize::MAX)
            });
            for (name, job) in jobs {
                let stage = job["stage"].as_str().unwrap_or("test");
                if !stages.contains(&stage) {
                    problems.push(format!(
                        "job {name}: stage {stage} is not in stages {stages:?}"
                    ));
                }
                let script = strings(&job["script"]);
                if script.iter().any(|command| command.starts_with("docker ")) {
                    let dind = job["services"].as_array().is_some_and(|services| {
                        services.iter().any(|service| {
                            service
                                .as_str()
                                .or(service["name"].as_str())
                                .is_some_and(|image| {
                                    image.starts_with("docker:") && image.ends_with("-dind")
                                })
                        })
                    });
                    if !dind
                        || !job["image"]
                            .as_str()
                            .is_some_and(|i| i.starts_with("docker:"))
                    {
                        problems.push(format!(
                            "job {name} runs docker without a docker image and a docker:*-dind service"
                        ));
                    }
                }
                commands.extend(script.into_iter().map(str::to_owned));
            }
        }
        other => problems.push(format!("unknown provider {other}")),
    }
    let position = |wanted: &str| commands.iter().position(|command| command == wanted);
    match (position(tests), position(&build)) {
        (Some(t), Some(b)) if t < b => {}
        found => problems.push(format!(
            "expected `{tests}`, then `{build}`; found them at {found:?} in {commands:?}"
        )),
    }
    problems
}

/// Every service case of the matrix renders exactly one pipeline file, the CI file of its
/// provider, and it is YAML that runs the tests and builds the image; the pipeline schemas
/// offer both providers, GitHub Actions by default.
#[test]
fn pipelines_follow_the_provider() {
    let mut problems = Vec::new();
    let mut rendered: BTreeSet<(&str, String)> = BTreeSet::new();
    for case in matrix()
        .iter()
        .filter(|case| SERVICE_TEMPLATES.contains(&case.template))
    {
        let label = format!("{}/{} ({})", case.template, case.name, case.provider());
        let files = render_builtin(
            case.template,
            &case.names,
            case.inputs.clone(),
            case.pipeline_inputs.clone(),
        );
        let pipeline: Vec<(&str, &str)> = files
            .iter()
            .filter_map(|f| {
                f.path
                    .strip_prefix("pipeline/")
                    .map(|path| (path, f.contents.as_str()))
            })
            .collect();
        let paths: Vec<&str> = pipeline.iter().map(|(path, _)| *path).collect();
        let expected = ci_file(case.provider());
        if paths != [expected] {
            problems.push(format!(
                "{label}: pipeline files {paths:?}, expected [{expected}]"
            ));
            continue;
        }
        match serde_saphyr::from_str::<Value>(pipeline[0].1) {
            Ok(ci) => problems.extend(
                ci_problems(case.provider(), &ci, case.names.service)
                    .into_iter()
                    .map(|problem| format!("{label}: {expected}: {problem}")),
            ),
            Err(err) => problems.push(format!("{label}: {expected} is not YAML: {err}")),
        }
        rendered.insert((case.template, case.provider().to_owned()));
    }
    for template in SERVICE_TEMPLATES {
        for provider in PROVIDERS {
            if !rendered.contains(&(*template, provider.to_string())) {
                problems.push(format!(
                    "{template}: no case renders the {provider} pipeline"
                ));
            }
        }
        let path = render::templates_dir()
            .join(template)
            .join("pipeline-schema.yaml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        let schema: Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|err| panic!("{} is not YAML: {err}", path.display()));
        let provider = &schema["properties"]["provider"];
        if strings(&provider["enum"]) != PROVIDERS || provider["default"] != json!(PROVIDERS[0]) {
            problems.push(format!(
                "{}: provider must be one of {PROVIDERS:?}, by default {}: {provider}",
                path.display(),
                PROVIDERS[0]
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "pipeline problems:\n{}",
        problems.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// Skeletons

/// The files of a new service's repository from `template`, besides its CI file and what the
/// scaffolder adds (`catalog-info.yaml`, `paved.yaml`), sorted.
fn repository_files(template: &str) -> Vec<&'static str> {
    match template {
        "web-service" | "backend-service" => vec![
            ".dockerignore",
            "Dockerfile",
            "README.md",
            "app.py",
            "test_app.py",
        ],
        "worker-service" => vec![
            ".dockerignore",
            "Dockerfile",
            "README.md",
            "app.py",
            "requirements.txt",
            "test_app.py",
        ],
        "scheduled-job" => vec![
            ".dockerignore",
            "Dockerfile",
            "README.md",
            "job.py",
            "test_job.py",
        ],
        other => panic!("{other} has no skeleton"),
    }
}

/// Writes a rendered template's `skeleton/**` and `pipeline/**` into `dir` with those prefixes
/// stripped, as the scaffolder does; returns the repository's paths, sorted.
fn scaffold(dir: &Path, files: &[paved_template::RenderedFile]) -> Vec<String> {
    let mut paths = Vec::new();
    for file in files {
        let Some(path) = file
            .path
            .strip_prefix("skeleton/")
            .or_else(|| file.path.strip_prefix("pipeline/"))
        else {
            continue;
        };
        assert!(
            !paths.iter().any(|p| p == path),
            "{path} is in both skeleton/ and pipeline/"
        );
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("create a directory");
        std::fs::write(&target, &file.contents).expect("write a repository file");
        paths.push(path.to_owned());
    }
    paths.sort();
    paths
}

/// Whether `name` matches a `.dockerignore` pattern (`*` wildcards only, as the skeletons use).
fn docker_ignored(patterns: &[&str], name: &str) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.split_once('*') {
            Some((prefix, suffix)) => {
                name.len() >= prefix.len() + suffix.len()
                    && name.starts_with(prefix)
                    && name.ends_with(suffix)
            }
            None => name == *pattern,
        })
}

/// What would break `docker build` or the container: a `COPY` source missing from the
/// repository or left out of the build context by `.dockerignore`, or a `CMD` running a Python
/// file the image does not copy, or running something other than `python3`.
fn dockerfile_problems(dir: &Path) -> Vec<String> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let ignore = read(".dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let dockerfile = read("Dockerfile");
    let mut problems = Vec::new();
    let mut copied = Vec::new();
    let mut cmd = None;
    for line in dockerfile.lines().map(str::trim) {
        if let Some(args) = line.strip_prefix("COPY ") {
            let args: Vec<&str> = args
                .split_whitespace()
                .filter(|a| !a.starts_with("--"))
                .collect();
            for source in &args[..args.len().saturating_sub(1)] {
                if !dir.join(source).is_file() {
                    problems.push(format!("COPY {source}: not in the repository"));
                } else if docker_ignored(&patterns, source) {
                    problems.push(format!("COPY {source}: excluded by .dockerignore"));
                }
                copied.push(source.to_string());
            }
        } else if let Some(args) = line.strip_prefix("CMD ") {
            cmd = serde_json::from_str::<Vec<String>>(args).ok();
        }
    }
    match cmd {
        Some(cmd) => {
            // The image and a stock Debian or Ubuntu host (the local engine) both have python3.
            if cmd.first().map(String::as_str) != Some("python3") {
                problems.push(format!("CMD {cmd:?} does not run python3"));
            }
            for script in cmd.iter().filter(|arg| arg.ends_with(".py")) {
                if !copied.contains(script) {
                    problems.push(format!("CMD runs {script}, which the image does not copy"));
                }
            }
        }
        None => problems.push("no CMD in the exec (JSON) form".to_owned()),
    }
    problems
}

/// How many tests `python -m unittest` ran, from its summary line.
fn tests_ran(stderr: &str) -> Option<usize> {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("Ran "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
}

/// Every service template, with each CI provider, renders (skeleton and pipeline, prefixes
/// stripped) into a complete repository: the expected files and one CI file, a README naming
/// the service, its CI file and how to run the tests, a Dockerfile whose files are there; and
/// its unit tests pass.
#[test]
fn skeletons_pass_their_own_tests() {
    let python = oracle("py/bin/python");
    let names = render::Names {
        environment: "dev",
        service: "payments-api",
        instance: "dev",
    };
    let mut checked = BTreeSet::new();
    for template in SERVICE_TEMPLATES {
        for provider in PROVIDERS {
            let label = format!("{template} ({provider})");
            let files = render_builtin(
                template,
                &names,
                json!({}),
                Some(json!({ "provider": provider })),
            );
            let dir = tempdir();
            let repository = scaffold(dir.path(), &files);
            let mut expected = repository_files(template);
            expected.push(ci_file(provider));
            expected.sort_unstable();
            assert_eq!(repository, expected, "{label}: the repository's files");

            let readme = std::fs::read_to_string(dir.path().join("README.md")).expect("a README");
            for wanted in ["# payments-api\n", ci_file(provider), "python3 -m unittest"] {
                assert!(
                    readme.contains(wanted),
                    "{label}: README.md does not mention {wanted:?}:\n{readme}"
                );
            }
            let other = PROVIDERS
                .iter()
                .find(|p| *p != provider)
                .expect("two providers");
            assert!(
                !readme.contains(ci_file(other)),
                "{label}: README.md mentions the other provider's {}:\n{readme}",
                ci_file(other)
            );
            let problems = dockerfile_problems(dir.path());
            assert!(
                problems.is_empty(),
                "{label}: Dockerfile problems:\n{}",
                problems.join("\n")
            );

            let mut command = Command::new(&python);
            command
                .args(["-m", "unittest", "-v"])
                .current_dir(dir.path())
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .env_remove("QUEUE_URL");
            let output = run(command);
            let ran = tests_ran(&String::from_utf8_lossy(&output.stderr));
            assert!(
                output.status.success() && ran.is_some_and(|ran| ran >= 3),
                "{label}: the skeleton's tests fail or did not run (ran {ran:?})\n{}",
                shown(&output)
            );
            let kind = if repository.iter().any(|p| p == "job.py") {
                "job"
            } else {
                "app"
            };
            checked.insert((*template, kind));
        }
    }
    let kinds: BTreeSet<&str> = checked.iter().map(|(_, kind)| *kind).collect();
    assert_eq!(
        checked.len(),
        SERVICE_TEMPLATES.len(),
        "every service template has a skeleton: {checked:?}"
    );
    assert_eq!(kinds, BTreeSet::from(["app", "job"]), "both skeleton kinds");
}

/// The worker skeleton's `main()` consumes a real SQS API (moto in process, botocore checking
/// the requests): handled messages are deleted, a refused one reaches the dead-letter queue,
/// and SIGTERM ends the loop with status 0.
#[test]
fn worker_skeleton_consumes_a_queue() {
    let names = render::Names {
        environment: "dev",
        service: "payments-worker",
        instance: "dev",
    };
    let files = render_builtin("worker-service", &names, json!({}), None);
    let dir = tempdir();
    scaffold(dir.path(), &files);
    let mut command = Command::new(oracle("py/bin/python"));
    command
        .arg(helper("worker_check.py"))
        .arg(dir.path())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = run(command);
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "OK",
        "the worker skeleton against SQS (moto)\n{}",
        shown(&output)
    );
}

// ------------------------------------------------------------------------------------------
// AWS Proton bundles

/// The Proton-layout test bundles of `paved-template` (`tests/bundles`), rendered over a context
/// holding every namespace field: their CloudFormation passes cfn-lint with no finding.
#[test]
fn cfn_lint_accepts_the_proton_test_bundles() {
    use paved_template::bundle::{
        EnvironmentContext, PipelineInstance, RenderContext, RenderRequest, ServiceContext,
        ServiceInstanceContext, TemplateVersionRef,
    };
    let dir = tempdir();
    let environment = EnvironmentContext {
        name: "prod".to_owned(),
        account_id: "123456789012".to_owned(),
        outputs: json!({"ClusterName": "prod-cluster", "SubnetId": "subnet-0abc1234"})
            .as_object()
            .cloned()
            .expect("a mapping"),
    };
    let context = RenderContext {
        environment: environment.clone(),
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
        component_outputs: json!({"BucketName": "billing-bucket"})
            .as_object()
            .cloned()
            .expect("a mapping"),
        service_instances: vec![PipelineInstance {
            name: "billing-api-prod".to_owned(),
            inputs: serde_json::Map::new(),
            outputs: serde_json::Map::new(),
            environment,
        }],
    };
    let mut paths = Vec::new();
    for name in ["env-cfn", "svc-cfn"] {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../paved-template/tests/bundles")
            .join(name)
            .join("v1");
        let files = paved_template_registry::source::read_dir(
            &root,
            &paved_template_registry::source::SourceLimits::default(),
        )
        .expect("the bundle reads");
        let bundle = paved_template::bundle::Bundle::parse(files)
            .unwrap_or_else(|problems| panic!("{name}: {problems:?}"));
        let request = RenderRequest {
            template: TemplateVersionRef {
                name: name.to_owned(),
                version: "1.0".to_owned(),
            },
            inputs: json!({}),
            pipeline_inputs: None,
            context: context.clone(),
        };
        let rendered = bundle
            .render(&request, &paved_template::Limits::default())
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        for file in rendered {
            let path = dir.path().join(name).join(&file.path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
            std::fs::write(&path, file.bytes()).expect("write");
            paths.push(path);
        }
    }
    assert_eq!(paths.len(), 3);
    let mut command = Command::new(oracle("py/bin/cfn-lint"));
    command
        .args(["--format", "parseable", "--regions", "us-east-1"])
        .args(["--include-checks", "I", "--"])
        .args(&paths);
    let output = run(command);
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "cfn-lint has findings\n{}",
        shown(&output)
    );
}

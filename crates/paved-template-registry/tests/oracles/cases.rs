//! The input matrix: every built-in template with its defaults, a maximal case (big tasks,
//! several environment variables and secrets, autoscaling, non-default ports and paths) and a
//! minimal one (no tasks, optional parts off), under varied names. The service templates'
//! cases cover both CI providers: the default (no pipeline inputs), GitLab CI (maximal) and
//! GitHub Actions named explicitly (minimal).

use serde_json::{Value, json};

use crate::render::Names;

/// The built-in templates.
pub const TEMPLATES: &[&str] = &[
    "ecs-environment",
    "web-service",
    "backend-service",
    "worker-service",
    "scheduled-job",
];

/// The service templates: the ones with a pipeline and an app skeleton.
pub const SERVICE_TEMPLATES: &[&str] = &[
    "web-service",
    "backend-service",
    "worker-service",
    "scheduled-job",
];

/// The CI providers of the service templates' `pipeline-schema.yaml`, the default first.
pub const PROVIDERS: &[&str] = &["github-actions", "gitlab-ci"];

/// One render of one template.
#[derive(Debug)]
pub struct Case {
    pub template: &'static str,
    pub name: &'static str,
    pub names: Names,
    pub inputs: Value,
    /// The pipeline inputs; `None` renders with the pipeline schema's defaults.
    pub pipeline_inputs: Option<Value>,
}

impl Case {
    /// The CI provider this case renders the pipeline for.
    pub fn provider(&self) -> &str {
        self.pipeline_inputs
            .as_ref()
            .and_then(|inputs| inputs["provider"].as_str())
            .unwrap_or(PROVIDERS[0])
    }
}

const DEFAULT_NAMES: Names = Names {
    environment: "dev",
    service: "example",
    instance: "dev",
};

const PROD_NAMES: Names = Names {
    environment: "prod-eu",
    service: "payments-api",
    instance: "prod-eu",
};

/// Catalog names may hold dots, underscores and capitals, which some AWS names refuse.
const DOTTED_NAMES: Names = Names {
    environment: "qa_eu.2",
    service: "Billing_v2.api",
    instance: "qa_eu.2",
};

/// Environment variables whose values YAML would misread if they were not quoted.
fn tricky_environment() -> Value {
    json!({
        "LOG_LEVEL": "debug",
        "FEATURE_FLAGS": "a: b # not a comment, [not a list], {not: a map}",
        "ENABLED": "true",
        "RETRIES": "3",
        "EMPTY": "",
        "GREETING": "\"quoted\" & 'single' <tags> émoji ✓",
        "MULTI_LINE": "first line\nsecond line",
    })
}

fn secrets() -> Value {
    json!({
        "DB_PASSWORD": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/db-AbCdEf",
        "API_TOKEN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/api-XyZ123:token::",
        "LICENSE_KEY": "arn:aws:ssm:eu-west-1:123456789012:parameter/payments/license",
    })
}

/// Every case, in a stable order.
pub fn matrix() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |template, name, names, inputs| {
        cases.push(Case {
            template,
            name,
            names,
            inputs,
            pipeline_inputs: None,
        })
    };

    add("ecs-environment", "defaults", DEFAULT_NAMES, json!({}));
    add(
        "ecs-environment",
        "custom",
        PROD_NAMES,
        json!({
            "vpc_cidr": "10.42.0.0/16",
            "public_subnet_cidrs": ["10.42.0.0/20", "10.42.16.0/20"],
            "private_subnet_cidrs": ["10.42.128.0/18", "10.42.192.0/18"],
            "log_retention_days": 3653,
            "alb_listener_port": 8080,
            "alb_access_logs_bucket": "example-org-elb-access-logs",
        }),
    );
    add(
        "ecs-environment",
        "minimal",
        DOTTED_NAMES,
        json!({
            "nat_gateway": false,
            "container_insights": false,
            "log_retention_days": 1,
        }),
    );

    add("web-service", "defaults", DEFAULT_NAMES, json!({}));
    add(
        "web-service",
        "maximal",
        PROD_NAMES,
        json!({
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api@sha256:0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100",
            "cpu": 4096,
            "memory": 30720,
            "cpu_architecture": "ARM64",
            "port": 8443,
            "path_pattern": "/api/payments/*",
            "alb_rule_priority": 50000,
            "health_check_path": "/healthz/deep",
            "health_check_grace_period_seconds": 600,
            "deregistration_delay_seconds": 5,
            "health_check_command": ["CMD-SHELL", "curl -f http://localhost:8443/healthz || exit 1"],
            "environment_variables": tricky_environment(),
            "secrets": secrets(),
            "autoscaling": {"min_count": 2, "max_count": 20, "cpu_target_percent": 55},
            "min_healthy_percent": 50,
            "max_percent": 150,
            "readonly_root_filesystem": true,
        }),
    );
    add(
        "web-service",
        "minimal",
        DOTTED_NAMES,
        json!({
            "desired_count": 0,
            "cpu": 256,
            "memory": 2048,
            "min_healthy_percent": 0,
            "max_percent": 100,
            "health_check_grace_period_seconds": 0,
            "service_connect": false,
        }),
    );

    add("backend-service", "defaults", DEFAULT_NAMES, json!({}));
    add(
        "backend-service",
        "maximal",
        PROD_NAMES,
        json!({
            "image": "ghcr.io/example/payments-ledger:2.3.1",
            "cpu": 16384,
            "memory": 122880,
            "port": 50051,
            "app_protocol": "grpc",
            "health_check_command": ["CMD", "/bin/grpc_health_probe", "-addr=:50051"],
            "environment_variables": tricky_environment(),
            "secrets": secrets(),
            "autoscaling": {"min_count": 1, "max_count": 8},
            "min_healthy_percent": 50,
            "max_percent": 200,
            "readonly_root_filesystem": true,
        }),
    );
    add(
        "backend-service",
        "minimal",
        DOTTED_NAMES,
        json!({"desired_count": 0, "cpu": 512, "memory": 1024, "port": 1}),
    );

    add("worker-service", "defaults", DEFAULT_NAMES, json!({}));
    add(
        "worker-service",
        "maximal",
        PROD_NAMES,
        json!({
            "cpu": 8192,
            "memory": 61440,
            "cpu_architecture": "ARM64",
            "max_receive_count": 1000,
            "visibility_timeout_seconds": 43200,
            "message_retention_seconds": 1209600,
            "health_check_command": ["CMD-SHELL", "test -f /tmp/healthy"],
            "environment_variables": tricky_environment(),
            "secrets": secrets(),
            "autoscaling": {"min_count": 0, "max_count": 50, "cpu_target_percent": 80},
            "readonly_root_filesystem": true,
        }),
    );
    add(
        "worker-service",
        "minimal",
        DOTTED_NAMES,
        json!({
            "desired_count": 0,
            "max_receive_count": 1,
            "visibility_timeout_seconds": 0,
            "message_retention_seconds": 60,
            "service_connect": false,
        }),
    );

    add("scheduled-job", "defaults", DEFAULT_NAMES, json!({}));
    add(
        "scheduled-job",
        "maximal",
        PROD_NAMES,
        json!({
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-reports:latest",
            "cpu": 2048,
            "memory": 16384,
            "schedule_expression": "cron(15 3 ? * MON-FRI *)",
            "schedule_timezone": "Europe/Paris",
            "command": ["python", "-m", "reports", "--since", "yesterday"],
            "task_count": 3,
            "retries": 185,
            "maximum_event_age_seconds": 86400,
            "environment_variables": tricky_environment(),
            "secrets": secrets(),
            "readonly_root_filesystem": true,
        }),
    );
    add(
        "scheduled-job",
        "minimal",
        DOTTED_NAMES,
        json!({
            "schedule_expression": "at(2030-01-01T00:00:00)",
            "enabled": false,
            "retries": 0,
            "maximum_event_age_seconds": 60,
        }),
    );
    for case in &mut cases {
        if SERVICE_TEMPLATES.contains(&case.template) {
            case.pipeline_inputs = match case.name {
                "maximal" => Some(json!({"provider": "gitlab-ci"})),
                "minimal" => Some(json!({"provider": "github-actions"})),
                _ => None,
            };
        }
    }
    cases
}

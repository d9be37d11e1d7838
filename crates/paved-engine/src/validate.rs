//! RegisterTaskDefinition's checks, run on the JSON body before anything is stored.
//!
//! Every problem is reported, not only the first, in one message (`; `-separated), under
//! ECS's error types: `InvalidParameterException` when the only problems are task `cpu` or
//! `memory` values, `ClientException` otherwise (as ECS does for names, missing containers
//! and images, and for a Fargate size it does not offer).

use serde_json::Value;

use crate::ecs::{EcsError, ErrorType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    String,
    Integer,
    Boolean,
    Object,
    StringList,
    List,
    StringMap,
}

impl Expected {
    fn accepts(self, value: &Value) -> bool {
        match self {
            Expected::String => value.is_string(),
            Expected::Integer => value.is_i64(),
            Expected::Boolean => value.is_boolean(),
            Expected::Object => value.is_object(),
            Expected::List => value.is_array(),
            Expected::StringList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            Expected::StringMap => value
                .as_object()
                .is_some_and(|map| map.values().all(Value::is_string)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Expected::String => "a string",
            Expected::Integer => "an integer",
            Expected::Boolean => "a boolean",
            Expected::Object => "an object",
            Expected::List => "a list",
            Expected::StringList => "a list of strings",
            Expected::StringMap => "a map of strings",
        }
    }
}

const TASK_FIELDS: &[(&str, Expected)] = &[
    ("family", Expected::String),
    ("cpu", Expected::String),
    ("memory", Expected::String),
    ("networkMode", Expected::String),
    ("requiresCompatibilities", Expected::StringList),
    ("executionRoleArn", Expected::String),
    ("taskRoleArn", Expected::String),
    ("containerDefinitions", Expected::List),
    ("tags", Expected::List),
];

const CONTAINER_FIELDS: &[(&str, Expected)] = &[
    ("name", Expected::String),
    ("image", Expected::String),
    ("cpu", Expected::Integer),
    ("memory", Expected::Integer),
    ("memoryReservation", Expected::Integer),
    ("essential", Expected::Boolean),
    ("entryPoint", Expected::StringList),
    ("command", Expected::StringList),
    ("environment", Expected::List),
    ("secrets", Expected::List),
    ("portMappings", Expected::List),
    ("dependsOn", Expected::List),
    ("stopTimeout", Expected::Integer),
    ("logConfiguration", Expected::Object),
    ("healthCheck", Expected::Object),
];

const HEALTH_CHECK_FIELDS: &[(&str, Expected)] = &[
    ("command", Expected::StringList),
    ("interval", Expected::Integer),
    ("timeout", Expected::Integer),
    ("retries", Expected::Integer),
    ("startPeriod", Expected::Integer),
];

const PORT_FIELDS: &[(&str, Expected)] = &[
    ("containerPort", Expected::Integer),
    ("hostPort", Expected::Integer),
    ("protocol", Expected::String),
    ("name", Expected::String),
];

const NETWORK_MODES: &[&str] = &["bridge", "host", "awsvpc", "none"];
const COMPATIBILITIES: &[&str] = &["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"];
const DEPENDENCY_CONDITIONS: &[&str] = &["START", "COMPLETE", "SUCCESS", "HEALTHY"];

struct Problems {
    list: Vec<String>,
    /// Whether any problem is not about task `cpu` or `memory` values.
    client: bool,
}

impl Problems {
    fn client(&mut self, message: String) {
        self.list.push(message);
        self.client = true;
    }

    fn parameter(&mut self, message: String) {
        self.list.push(message);
    }

    fn types(&mut self, object: &Value, at: &str, fields: &[(&str, Expected)]) {
        for (field, expected) in fields {
            if let Some(value) = object.get(field)
                && !value.is_null()
                && !expected.accepts(value)
            {
                self.client(format!(
                    "{at}{field} should be {}, not `{value}`",
                    expected.name()
                ));
            }
        }
    }
}

/// Checks a RegisterTaskDefinition body; the error carries every problem found.
pub fn register_task_definition(body: &Value) -> Result<(), EcsError> {
    let mut problems = Problems {
        list: Vec::new(),
        client: false,
    };
    if !body.is_object() {
        return Err(EcsError::client("The request body must be a JSON object."));
    }
    problems.types(body, "", TASK_FIELDS);
    match body.get("family").and_then(Value::as_str) {
        None => problems.client("Family should not be null or empty.".to_owned()),
        Some(family) if !valid_family(family) => problems.client(format!(
            "Family `{family}` is invalid: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
        )),
        Some(_) => {}
    }
    let network_mode = body.get("networkMode").and_then(Value::as_str);
    if let Some(mode) = network_mode
        && !NETWORK_MODES.contains(&mode)
    {
        problems.client(format!(
            "networkMode `{mode}` is invalid: use one of bridge, host, awsvpc, none."
        ));
    }
    let compatibilities: Vec<&str> = body
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for compatibility in &compatibilities {
        if !COMPATIBILITIES.contains(compatibility) {
            problems.client(format!(
                "requiresCompatibilities `{compatibility}` is invalid: use EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES."
            ));
        }
    }
    let cpu = body
        .get("cpu")
        .and_then(Value::as_str)
        .map(|cpu| (cpu, cpu_units(cpu)));
    let memory = body
        .get("memory")
        .and_then(Value::as_str)
        .map(|memory| (memory, memory_mib(memory)));
    if let Some((text, None)) = cpu {
        problems.parameter(format!(
            "Invalid 'cpu' setting for task: `{text}` is neither CPU units (`256`) nor vCPUs (`0.25 vCPU`)."
        ));
    }
    if let Some((text, None)) = memory {
        problems.parameter(format!(
            "Invalid 'memory' setting for task: `{text}` is neither MiB (`512`) nor GB (`0.5 GB`)."
        ));
    }
    if compatibilities.contains(&"FARGATE") {
        if network_mode.is_some_and(|mode| mode != "awsvpc") {
            problems.client("Fargate only supports network mode 'awsvpc'.".to_owned());
        }
        match (cpu, memory) {
            (Some((_, Some(cpu))), Some((_, Some(memory)))) if !fargate_size(cpu, memory) => {
                problems.client(format!(
                    "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS documentation for the valid combinations."
                ));
            }
            (None, _) | (_, None) => problems.client(
                "Fargate requires that 'cpu' and 'memory' be defined at the task level.".to_owned(),
            ),
            _ => {}
        }
    }
    match body.get("containerDefinitions").and_then(Value::as_array) {
        None => problems.client("Container list cannot be empty.".to_owned()),
        Some(containers) if containers.is_empty() => {
            problems.client("Container list cannot be empty.".to_owned())
        }
        Some(containers) => containers_problems(containers, &mut problems),
    }
    if problems.list.is_empty() {
        return Ok(());
    }
    let kind = if problems.client {
        ErrorType::ClientException
    } else {
        ErrorType::InvalidParameterException
    };
    Err(EcsError::new(kind, problems.list.join("; ")))
}

fn containers_problems(containers: &[Value], problems: &mut Problems) {
    let mut names: Vec<&str> = Vec::new();
    for (index, container) in containers.iter().enumerate() {
        let at = format!("containerDefinitions[{index}].");
        if !container.is_object() {
            problems.client(format!("containerDefinitions[{index}] should be an object"));
            continue;
        }
        problems.types(container, &at, CONTAINER_FIELDS);
        match container.get("name").and_then(Value::as_str) {
            None | Some("") => {
                problems.client(format!("{at}name: Container.name should not be null or empty."))
            }
            Some(name) if names.contains(&name) => problems.client(format!(
                "{at}name: container name `{name}` is used twice; container names must be unique."
            )),
            Some(name) if !valid_family(name) => problems.client(format!(
                "{at}name: `{name}` is invalid: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
            )),
            Some(name) => names.push(name),
        }
        if container
            .get("image")
            .and_then(Value::as_str)
            .is_none_or(|image| image.trim().is_empty())
        {
            problems.client(format!(
                "{at}image: Container.image should not be null or empty."
            ));
        }
        if let Some(check) = container
            .get("healthCheck")
            .filter(|check| check.is_object())
        {
            problems.types(check, &format!("{at}healthCheck."), HEALTH_CHECK_FIELDS);
            let command: Vec<&str> = check
                .get("command")
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match command.first() {
                Some(&"CMD") | Some(&"CMD-SHELL") if command.len() > 1 => {}
                Some(&"NONE") => {}
                _ => problems.client(format!(
                    "{at}healthCheck.command should start with `CMD` or `CMD-SHELL` followed by the command."
                )),
            }
        }
        for (port, mapping) in container
            .get("portMappings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            problems.types(mapping, &format!("{at}portMappings[{port}]."), PORT_FIELDS);
        }
        for (dependency, item) in container
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let condition = item.get("condition").and_then(Value::as_str);
            if !condition.is_some_and(|condition| DEPENDENCY_CONDITIONS.contains(&condition)) {
                problems.client(format!(
                    "{at}dependsOn[{dependency}].condition should be START, COMPLETE, SUCCESS or HEALTHY."
                ));
            }
        }
        if let Some(logs) = container
            .get("logConfiguration")
            .filter(|logs| logs.is_object())
        {
            problems.types(
                logs,
                &format!("{at}logConfiguration."),
                &[
                    ("logDriver", Expected::String),
                    ("options", Expected::StringMap),
                ],
            );
        }
    }
}

/// ECS's family (and container name) rule: 1 to 255 letters, digits, `-` and `_`.
pub fn valid_family(family: &str) -> bool {
    !family.is_empty()
        && family.len() <= 255
        && family
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// CPU units from `1024` or `1 vCPU`.
fn cpu_units(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Some(vcpu) = text
        .strip_suffix("vCPU")
        .or_else(|| text.strip_suffix("vcpu"))
    {
        let vcpu: f64 = vcpu.trim().parse().ok()?;
        return (vcpu > 0.0).then(|| (vcpu * 1024.0).round() as u64);
    }
    text.parse().ok().filter(|units| *units > 0)
}

/// MiB from `512` or `0.5 GB`.
fn memory_mib(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Some(gb) = text.strip_suffix("GB").or_else(|| text.strip_suffix("gb")) {
        let gb: f64 = gb.trim().parse().ok()?;
        return (gb > 0.0).then(|| (gb * 1024.0).round() as u64);
    }
    text.parse().ok().filter(|mib| *mib > 0)
}

/// Whether Fargate offers this task size (ECS's table of CPU and memory combinations).
fn fargate_size(cpu: u64, memory: u64) -> bool {
    let (low, high, step) = match cpu {
        256 => return matches!(memory, 512 | 1024 | 2048),
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => return false,
    };
    (low..=high).contains(&memory) && (memory - low).is_multiple_of(step)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(body: Value, expected: Option<(ErrorType, &[&str])>) {
        let result = register_task_definition(&body);
        match (result, expected) {
            (Ok(()), None) => {}
            (Err(error), Some((kind, fragments))) => {
                assert_eq!(error.kind, kind, "{body}: {error}");
                for fragment in fragments {
                    assert!(error.message.contains(fragment), "`{fragment}` in {error}");
                }
            }
            (result, expected) => panic!("{body}: got {result:?}, expected {expected:?}"),
        }
    }

    fn good() -> Value {
        json!({"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
               "cpu": "256", "memory": "512",
               "containerDefinitions": [{"name": "web", "image": "nginx"}]})
    }

    #[test]
    fn task_definitions() {
        check(good(), None);
        let mut body = good();
        body["cpu"] = json!(".25 vCPU");
        body["memory"] = json!("0.5 GB");
        check(body, None);
        let mut body = good();
        body["family"] = json!("web app");
        check(
            body,
            Some((ErrorType::ClientException, &["Family `web app`"])),
        );
        let mut body = good();
        body["containerDefinitions"] = json!([]);
        check(
            body,
            Some((
                ErrorType::ClientException,
                &["Container list cannot be empty"],
            )),
        );
        let mut body = good();
        body["containerDefinitions"] = json!([{"essential": "yes"}]);
        check(
            body,
            Some((
                ErrorType::ClientException,
                &[
                    "Container.name",
                    "Container.image",
                    "essential should be a boolean",
                ],
            )),
        );
        let mut body = good();
        body["cpu"] = json!("lots");
        body["requiresCompatibilities"] = json!(["EC2"]);
        check(
            body,
            Some((ErrorType::InvalidParameterException, &["Invalid 'cpu'"])),
        );
        let mut body = good();
        body["memory"] = json!("4096");
        check(
            body,
            Some((ErrorType::ClientException, &["No Fargate configuration"])),
        );
    }

    #[test]
    fn fargate_sizes() {
        assert!(fargate_size(256, 512));
        assert!(!fargate_size(256, 4096));
        assert!(fargate_size(4096, 30720));
        assert!(!fargate_size(8192, 18432));
        assert!(fargate_size(8192, 20480));
    }
}

//! RegisterTaskDefinition's and RunTask's checks, run on the JSON body before anything is
//! stored: field types, and the quotas and rules of ECS's API reference, botocore's model and
//! ECS's service quotas (at most 10 containers and 64 KiB a task definition, at least one
//! essential container, container resources within the task's, health check and port ranges,
//! dependencies that name containers of the task).
//!
//! Every problem is reported, not only the first, in one message (`; `-separated), under
//! ECS's error types: `InvalidParameterException` when the only problems are task `cpu` or
//! `memory` values, `ClientException` otherwise (as ECS does for names, missing containers
//! and images, sizes, and for a Fargate size it does not offer). Where ECS's own wording is
//! known (`Too many containers.`, `Actual length: ...`), it is kept.

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
const PROTOCOLS: &[&str] = &["tcp", "udp"];

/// ECS's service quota: container definitions in one task definition.
pub const MAX_CONTAINERS: usize = 10;
/// ECS's service quota: the size of a task definition, as JSON.
pub const MAX_TASK_DEFINITION_BYTES: usize = 64 * 1024;
/// RunTask's `count`: ECS starts at most 10 tasks a call.
pub const MAX_RUN_TASK_COUNT: i64 = 10;
/// RunTask's `overrides`, as JSON ("a total of 8192 characters are allowed for overrides").
pub const MAX_OVERRIDES_BYTES: usize = 8192;
/// Task-level CPU units ECS accepts outside Fargate's table: 0.125 to 192 vCPUs.
const TASK_CPU_UNITS: std::ops::RangeInclusive<u64> = 128..=196_608;
/// Fargate's longest `stopTimeout`, in seconds.
const FARGATE_MAX_STOP_TIMEOUT: i64 = 120;

/// The ranges of a container health check's fields, in seconds (retries: a count). ECS's,
/// except that intervals under 5 s and timeouts under 2 s are accepted: the local engine
/// checks as often as asked, which keeps rollouts on a laptop quick (docs/engine.md).
const HEALTH_CHECK_RANGES: &[(&str, std::ops::RangeInclusive<i64>)] = &[
    ("interval", 1..=300),
    ("timeout", 1..=60),
    ("retries", 1..=10),
    ("startPeriod", 0..=300),
];
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
    let length = body.to_string().len();
    if length > MAX_TASK_DEFINITION_BYTES {
        // ECS's own message, which names no field: the whole definition is too large.
        problems.client(format!(
            "Actual length: '{length}'. Max allowed length is '{MAX_TASK_DEFINITION_BYTES}' bytes."
        ));
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
    if let Some((text, Some(units))) = cpu
        && !compatibilities.contains(&"FARGATE")
        && !TASK_CPU_UNITS.contains(&units)
    {
        problems.parameter(format!(
            "Invalid 'cpu' setting for task: `{text}` is outside {} to {} CPU units (0.125 to 192 vCPU).",
            TASK_CPU_UNITS.start(),
            TASK_CPU_UNITS.end()
        ));
    }
    if let Some(constraints) = body.get("placementConstraints").and_then(Value::as_array)
        && constraints.len() > 10
    {
        problems.client(format!(
            "Too many placement constraints: {} given, at most 10 are allowed.",
            constraints.len()
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
        Some(containers) => {
            if containers.len() > MAX_CONTAINERS {
                problems.client(format!(
                    "Too many containers: {} container definitions, at most {MAX_CONTAINERS} are allowed in a task definition.",
                    containers.len()
                ));
            }
            let task = TaskSettings {
                cpu: cpu.and_then(|(_, units)| units),
                memory: memory.and_then(|(_, mib)| mib),
                network_mode: network_mode.unwrap_or("bridge"),
                fargate: compatibilities.contains(&"FARGATE"),
            };
            containers_problems(containers, &task, &mut problems);
        }
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

/// What container checks need from the task level.
struct TaskSettings<'a> {
    cpu: Option<u64>,
    memory: Option<u64>,
    network_mode: &'a str,
    fargate: bool,
}

fn containers_problems(containers: &[Value], task: &TaskSettings<'_>, problems: &mut Problems) {
    let mut names: Vec<&str> = Vec::new();
    let all_names: Vec<&str> = containers
        .iter()
        .filter_map(|container| container.get("name").and_then(Value::as_str))
        .collect();
    let essential = |container: &Value| {
        container
            .get("essential")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    };
    if containers
        .iter()
        .filter(|container| container.is_object())
        .all(|container| !essential(container))
    {
        problems.client("Task definition doesn't have any essential container.".to_owned());
    }
    let mut total_cpu: i64 = 0;
    let mut total_reserved: i64 = 0;
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
        let image = container.get("image").and_then(Value::as_str);
        match image {
            None => problems.client(format!(
                "{at}image: Container.image should not be null or empty."
            )),
            Some(image) if image.trim().is_empty() => problems.client(format!(
                "{at}image: Container.image should not be null or empty."
            )),
            Some(image) if image.split('@').next().unwrap_or(image).len() > 255 => problems.client(
                format!("{at}image: up to 255 characters are allowed before any `@digest`."),
            ),
            Some(_) => {}
        }
        let shown = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        resource_problems(container, shown, &at, task, problems);
        total_cpu += container
            .get("cpu")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .max(0);
        total_reserved += container
            .get("memoryReservation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .max(0);
        if let Some(timeout) = container.get("stopTimeout").and_then(Value::as_i64)
            && (timeout < 0 || (task.fargate && timeout > FARGATE_MAX_STOP_TIMEOUT))
        {
            problems.client(format!(
                "{at}stopTimeout: `{timeout}` is invalid: use 0 to {FARGATE_MAX_STOP_TIMEOUT} seconds on Fargate, 0 or more otherwise."
            ));
        }
        if let Some(files) = container.get("environmentFiles").and_then(Value::as_array)
            && files.len() > 10
        {
            problems.client(format!(
                "{at}environmentFiles: {} files given, at most 10 are allowed.",
                files.len()
            ));
        }
        if container.get("links").is_some_and(|links| !links.is_null())
            && task.network_mode != "bridge"
        {
            problems.client(format!(
                "{at}links: links are only supported in the bridge network mode, not `{}`.",
                task.network_mode
            ));
        }
        for (field, pair_field) in [("environment", "value"), ("secrets", "valueFrom")] {
            for (item_index, item) in container
                .get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let item_at = format!("{at}{field}[{item_index}].");
                if !item.is_object() {
                    problems.client(format!("{item_at} should be an object with `name`"));
                    continue;
                }
                problems.types(
                    item,
                    &item_at,
                    &[("name", Expected::String), (pair_field, Expected::String)],
                );
                if field == "secrets"
                    && ["name", pair_field].iter().any(|key| {
                        item.get(key)
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                    })
                {
                    problems.client(format!(
                        "{item_at}name and {item_at}valueFrom are required."
                    ));
                }
            }
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
            for (field, range) in HEALTH_CHECK_RANGES {
                if let Some(value) = check.get(field).and_then(Value::as_i64)
                    && !range.contains(&value)
                {
                    problems.client(format!(
                        "{at}healthCheck.{field}: `{value}` is invalid: use {} to {}.",
                        range.start(),
                        range.end()
                    ));
                }
            }
        }
        for (port, mapping) in container
            .get("portMappings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let port_at = format!("{at}portMappings[{port}].");
            problems.types(mapping, &port_at, PORT_FIELDS);
            port_problems(mapping, &port_at, task.network_mode, problems);
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
            let target = item.get("containerName").and_then(Value::as_str);
            match target {
                None => problems.client(format!(
                    "{at}dependsOn[{dependency}].containerName is required."
                )),
                Some(target) if target == shown => problems.client(format!(
                    "{at}dependsOn[{dependency}].containerName: container `{target}` cannot depend on itself."
                )),
                Some(target) if !all_names.contains(&target) => problems.client(format!(
                    "{at}dependsOn[{dependency}].containerName: `{target}` is not a container of this task definition."
                )),
                Some(target) => {
                    let target_is_essential = containers
                        .iter()
                        .find(|other| other.get("name").and_then(Value::as_str) == Some(target))
                        .is_some_and(essential);
                    if matches!(condition, Some("COMPLETE" | "SUCCESS")) && target_is_essential {
                        problems.client(format!(
                            "{at}dependsOn[{dependency}]: A dependency container with SUCCESS or COMPLETE condition cannot be an essential container (`{target}`)."
                        ));
                    }
                }
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
    if let Some(task_cpu) = task.cpu
        && total_cpu > task_cpu as i64
    {
        problems.client(format!(
            "The containers' 'cpu' settings add up to {total_cpu} CPU units, more than the task's {task_cpu}."
        ));
    }
    if let Some(task_memory) = task.memory
        && total_reserved > task_memory as i64
    {
        problems.client(format!(
            "The containers' 'memoryReservation' settings add up to {total_reserved} MiB, more than the task's {task_memory}."
        ));
    }
}

/// A container's `cpu`, `memory` and `memoryReservation` against each other and the task's.
fn resource_problems(
    container: &Value,
    name: &str,
    at: &str,
    task: &TaskSettings<'_>,
    problems: &mut Problems,
) {
    let cpu = container.get("cpu").and_then(Value::as_i64);
    let memory = container.get("memory").and_then(Value::as_i64);
    let reservation = container.get("memoryReservation").and_then(Value::as_i64);
    if let Some(cpu) = cpu
        && cpu < 0
    {
        problems.client(format!(
            "{at}cpu: Invalid 'cpu' setting for container '{name}': `{cpu}` is negative; use 0 or more CPU units."
        ));
    }
    for (field, value) in [("memory", memory), ("memoryReservation", reservation)] {
        if let Some(value) = value
            && value <= 0
        {
            problems.client(format!(
                "{at}{field}: Invalid '{field}' setting for container '{name}': `{value}` is not a positive number of MiB."
            ));
        }
    }
    if let (Some(memory), Some(reservation)) = (memory, reservation)
        && reservation >= memory
    {
        problems.client(format!(
            "{at}memoryReservation: Invalid 'memoryReservation' setting for container '{name}': the soft limit ({reservation} MiB) must be less than 'memory' ({memory} MiB)."
        ));
    }
    match task.memory {
        None if memory.is_none() && reservation.is_none() => problems.client(format!(
            "{at}memory: Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
        )),
        Some(task_memory) if memory.is_some_and(|memory| memory > task_memory as i64) => {
            problems.client(format!(
                "{at}memory: The 'memory' setting for container '{name}' is greater than for the task."
            ))
        }
        _ => {}
    }
}

/// A port mapping's ranges, protocol and name, and its host port under the network mode.
fn port_problems(mapping: &Value, at: &str, network_mode: &str, problems: &mut Problems) {
    let container_port = mapping.get("containerPort").and_then(Value::as_i64);
    let host_port = mapping.get("hostPort").and_then(Value::as_i64);
    if let Some(port) = container_port
        && !(1..=65535).contains(&port)
    {
        problems.client(format!(
            "{at}containerPort: `{port}` is invalid: use 1 to 65535."
        ));
    }
    if let Some(port) = host_port
        && !(0..=65535).contains(&port)
    {
        problems.client(format!(
            "{at}hostPort: `{port}` is invalid: use 0 to 65535."
        ));
    }
    match network_mode {
        "none" => problems.client(format!(
            "{at}: port mappings are not allowed when networkMode is `none`."
        )),
        "awsvpc" | "host" => {
            if let (Some(host), Some(container)) = (host_port, container_port)
                && host != 0
                && host != container
            {
                problems.client(format!(
                    "{at}hostPort: When networkMode={network_mode}, the host ports and container ports in port mappings must match."
                ));
            }
        }
        _ => {}
    }
    if let Some(protocol) = mapping.get("protocol").and_then(Value::as_str)
        && !PROTOCOLS.contains(&protocol)
    {
        problems.client(format!(
            "{at}protocol: `{protocol}` is invalid: use tcp or udp."
        ));
    }
    if let Some(name) = mapping.get("name").and_then(Value::as_str)
        && (name.is_empty() || name.len() > 64 || name.starts_with('-'))
    {
        problems.client(format!(
            "{at}name: `{name}` is invalid: up to 64 characters, not starting with a hyphen."
        ));
    }
}

/// Checks a RunTask body's `count`, `overrides` and `startedBy` against ECS's limits.
pub fn run_task(body: &Value) -> Result<(), EcsError> {
    let mut problems = Vec::new();
    match body.get("count") {
        None | Some(Value::Null) => {}
        Some(count) => match count.as_i64() {
            Some(count) if (1..=MAX_RUN_TASK_COUNT).contains(&count) => {}
            _ => problems.push(format!(
                "count `{count}` is invalid: count must be between 1 and {MAX_RUN_TASK_COUNT}."
            )),
        },
    }
    if let Some(overrides) = body
        .get("overrides")
        .filter(|overrides| !overrides.is_null())
    {
        let length = overrides.to_string().len();
        if length > MAX_OVERRIDES_BYTES {
            problems.push(format!(
                "Container Overrides length must be at most {MAX_OVERRIDES_BYTES} (it is {length})."
            ));
        }
    }
    if let Some(started_by) = body.get("startedBy").and_then(Value::as_str)
        && (started_by.len() > 128
            || !started_by
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'/')))
    {
        problems.push(format!(
            "startedBy `{started_by}` is invalid: up to 128 letters, numbers, hyphens, forward slashes and underscores are allowed."
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(EcsError::invalid_parameter(problems.join("; ")))
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

    /// `good()` with `edit` applied.
    fn edited(edit: impl FnOnce(&mut Value)) -> Value {
        let mut body = good();
        edit(&mut body);
        body
    }

    fn container(name: &str) -> Value {
        json!({"name": name, "image": "nginx"})
    }

    #[test]
    fn quotas_and_rules_of_ecs() {
        use ErrorType::{ClientException, InvalidParameterException};
        let cases: Vec<(&str, Value, ErrorType, &str)> = vec![
            (
                "eleven containers",
                edited(|body| {
                    body["containerDefinitions"] = (0..11)
                        .map(|index| container(&format!("c{index}")))
                        .collect();
                }),
                ClientException,
                "Too many containers: 11 container definitions, at most 10",
            ),
            (
                "over 64 KiB",
                edited(|body| {
                    body["containerDefinitions"][0]["environment"] =
                        json!([{"name": "BIG", "value": "x".repeat(70_000)}]);
                }),
                ClientException,
                "Max allowed length is '65536' bytes.",
            ),
            (
                "negative container cpu",
                edited(|body| body["containerDefinitions"][0]["cpu"] = json!(-1)),
                ClientException,
                "containerDefinitions[0].cpu: Invalid 'cpu' setting for container 'web': `-1` is negative",
            ),
            (
                "no essential container",
                edited(|body| body["containerDefinitions"][0]["essential"] = json!(false)),
                ClientException,
                "Task definition doesn't have any essential container.",
            ),
            (
                "no memory anywhere",
                edited(|body| {
                    body.as_object_mut().map(|task| task.remove("memory"));
                    body["requiresCompatibilities"] = json!(["EC2"]);
                }),
                ClientException,
                "At least one of 'memory' or 'memoryReservation' must be specified.",
            ),
            (
                "container memory over the task's",
                edited(|body| body["containerDefinitions"][0]["memory"] = json!(1024)),
                ClientException,
                "The 'memory' setting for container 'web' is greater than for the task.",
            ),
            (
                "soft limit over the hard one",
                edited(|body| {
                    body["containerDefinitions"][0]["memory"] = json!(256);
                    body["containerDefinitions"][0]["memoryReservation"] = json!(300);
                }),
                ClientException,
                "the soft limit (300 MiB) must be less than 'memory' (256 MiB)",
            ),
            (
                "containers' cpu over the task's",
                edited(|body| {
                    body["containerDefinitions"] = json!([
                        {"name": "a", "image": "nginx", "cpu": 200},
                        {"name": "b", "image": "nginx", "cpu": 100}
                    ]);
                }),
                ClientException,
                "add up to 300 CPU units, more than the task's 256",
            ),
            (
                "health check interval",
                edited(|body| {
                    body["containerDefinitions"][0]["healthCheck"] =
                        json!({"command": ["CMD", "true"], "interval": 301, "retries": 0});
                }),
                ClientException,
                "healthCheck.interval: `301` is invalid: use 1 to 300.; containerDefinitions[0].healthCheck.retries: `0` is invalid: use 1 to 10.",
            ),
            (
                "awsvpc host port",
                edited(|body| {
                    body["containerDefinitions"][0]["portMappings"] =
                        json!([{"containerPort": 80, "hostPort": 8080}]);
                }),
                ClientException,
                "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
            ),
            (
                "dependency on a missing container",
                edited(|body| {
                    body["containerDefinitions"][0]["dependsOn"] =
                        json!([{"containerName": "db", "condition": "START"}]);
                }),
                ClientException,
                "`db` is not a container of this task definition.",
            ),
            (
                "completion of an essential container",
                edited(|body| {
                    body["containerDefinitions"] = json!([
                        {"name": "app", "image": "nginx",
                         "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
                        {"name": "init", "image": "busybox"}
                    ]);
                }),
                ClientException,
                "cannot be an essential container (`init`)",
            ),
            (
                "Fargate stop timeout",
                edited(|body| body["containerDefinitions"][0]["stopTimeout"] = json!(600)),
                ClientException,
                "stopTimeout: `600` is invalid",
            ),
            (
                "task cpu outside ECS's range",
                edited(|body| {
                    body["requiresCompatibilities"] = json!(["EC2"]);
                    body["cpu"] = json!("64");
                }),
                InvalidParameterException,
                "`64` is outside 128 to 196608 CPU units",
            ),
        ];
        for (case, body, kind, fragment) in cases {
            let error = register_task_definition(&body)
                .err()
                .unwrap_or_else(|| panic!("{case}: accepted"));
            assert_eq!(error.kind, kind, "{case}: {error}");
            assert!(
                error.message.contains(fragment),
                "{case}: `{fragment}` in {error}"
            );
        }
        // Within every limit: ten containers, an explicit non-essential sidecar, a soft limit.
        let mut body = good();
        let mut containers: Vec<Value> = (0..9)
            .map(|index| container(&format!("side{index}")))
            .collect();
        containers[0]["essential"] = json!(false);
        containers[1]["memoryReservation"] = json!(64);
        containers.push(container("web"));
        body["containerDefinitions"] = Value::Array(containers);
        check(body, None);
    }

    #[test]
    fn run_task_limits() {
        let cases = [
            (json!({"count": 11}), Some("count `11` is invalid")),
            (json!({"count": 0}), Some("count `0` is invalid")),
            (json!({"count": "2"}), Some("count `\"2\"` is invalid")),
            (
                json!({"startedBy": "a b"}),
                Some("startedBy `a b` is invalid"),
            ),
            (
                json!({"overrides": {"containerOverrides": [{"name": "web",
                    "environment": [{"name": "X", "value": "x".repeat(9000)}]}]}}),
                Some("Container Overrides length must be at most 8192"),
            ),
            (json!({"count": 10, "startedBy": "ci/job-1"}), None),
            (json!({}), None),
        ];
        for (body, expected) in cases {
            match (run_task(&body), expected) {
                (Ok(()), None) => {}
                (Err(error), Some(fragment)) => {
                    assert_eq!(error.kind, ErrorType::InvalidParameterException);
                    assert!(error.message.contains(fragment), "`{fragment}` in {error}");
                }
                (result, expected) => panic!("{body}: got {result:?}, expected {expected:?}"),
            }
        }
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

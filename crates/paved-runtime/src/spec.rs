//! What the caller asks to run: a task and its containers, in ECS's vocabulary.

use std::time::Duration;

/// One task to start: the resolved containers of a task definition.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    /// Names the task's directory, so it may hold only letters, digits, `-`, `_` and `.`.
    pub task_id: String,
    /// Task-level CPU in ECS units (1024 = 1 vCPU).
    pub cpu_units: Option<u32>,
    pub memory_mib: Option<u64>,
    pub containers: Vec<ContainerSpec>,
}

/// One container of a task, as a container definition describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    /// `local/<name>:<commit>`, the only kind of image the local runtime runs.
    pub image: String,
    /// Overrides the image's `ENTRYPOINT` (and, as in Docker, drops the image's `CMD`).
    pub entry_point: Option<Vec<String>>,
    /// Overrides the image's `CMD`.
    pub command: Option<Vec<String>>,
    /// A container path, mapped onto the working copy like the image's `WORKDIR`.
    pub working_directory: Option<String>,
    /// The task definition's environment and resolved secrets, applied over the image's `ENV`.
    pub environment: Vec<(String, String)>,
    /// Container ports; each gets a free host port on 127.0.0.1.
    pub port_mappings: Vec<u16>,
    pub essential: bool,
    pub depends_on: Vec<Dependency>,
    pub health_check: Option<HealthCheckSpec>,
    /// How long a container gets between SIGTERM and SIGKILL.
    pub stop_timeout: Duration,
    pub cpu_units: Option<u32>,
    pub memory_mib: Option<u64>,
}

/// A `dependsOn` entry: this container starts once `container` meets `condition`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub container: String,
    pub condition: Condition,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The dependency has started.
    Start,
    /// The dependency has exited, with any code.
    Complete,
    /// The dependency has exited with code 0.
    Success,
    /// The dependency's health check has passed.
    Healthy,
}

impl Condition {
    /// ECS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Start => "START",
            Condition::Complete => "COMPLETE",
            Condition::Success => "SUCCESS",
            Condition::Healthy => "HEALTHY",
        }
    }
}

/// A container health check, with ECS's semantics; durations may be below a second.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheckSpec {
    /// ECS form: `["CMD", "prog", "arg"]`, `["CMD-SHELL", "shell text"]` or `["NONE"]`.
    pub command: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub retries: u32,
}

impl HealthCheckSpec {
    /// The argv the check runs, or `None` for `["NONE"]` and an empty command.
    pub(crate) fn argv(&self) -> Option<Vec<String>> {
        let (first, rest) = self.command.split_first()?;
        match first.as_str() {
            "NONE" => None,
            "CMD" if !rest.is_empty() => Some(rest.to_vec()),
            "CMD" => None,
            "CMD-SHELL" => Some(vec!["/bin/sh".into(), "-c".into(), rest.join(" ")]),
            _ => Some(self.command.clone()),
        }
    }
}

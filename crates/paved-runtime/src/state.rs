//! What the runtime reports: a task's state and its containers', in ECS's vocabulary.

use serde::{Deserialize, Serialize};

/// A task's state, as `DescribeTasks` would show it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskState {
    pub status: TaskStatus,
    /// ECS's aggregate over essential containers: any `UNHEALTHY` makes the task
    /// `UNHEALTHY`; all essential containers that have a check `HEALTHY` make it `HEALTHY`;
    /// otherwise (or with no checks at all) `UNKNOWN`.
    pub health: Health,
    pub containers: Vec<ContainerState>,
    pub stop: Option<Stop>,
    /// When all essential containers were running.
    pub started_at: Option<jiff::Timestamp>,
    pub stopping_at: Option<jiff::Timestamp>,
    pub stopped_at: Option<jiff::Timestamp>,
}

impl TaskState {
    /// The container named `name`.
    pub fn container(&self, name: &str) -> Option<&ContainerState> {
        self.containers
            .iter()
            .find(|container| container.name == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskStatus {
    Pending,
    Running,
    Stopping,
    Stopped,
}

impl TaskStatus {
    /// ECS's spelling (`lastStatus`).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "PENDING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Stopped => "STOPPED",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Healthy,
    Unhealthy,
}

impl Health {
    /// ECS's spelling (`healthStatus`).
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "UNKNOWN",
            Health::Healthy => "HEALTHY",
            Health::Unhealthy => "UNHEALTHY",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stop {
    pub code: StopCode,
    pub reason: String,
}

/// ECS's `stopCode` values that the local runtime produces or is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopCode {
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
}

impl StopCode {
    /// ECS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StopCode::TaskFailedToStart => "TaskFailedToStart",
            StopCode::EssentialContainerExited => "EssentialContainerExited",
            StopCode::UserInitiated => "UserInitiated",
            StopCode::ServiceSchedulerInitiated => "ServiceSchedulerInitiated",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContainerState {
    pub name: String,
    pub status: ContainerStatus,
    /// The container's process, leader of its own process group; record it to clean up
    /// after a crash with [`crate::kill_leftovers`].
    pub process: Option<ProcessRecord>,
    /// The exit code, or 128 + the signal number when a signal ended the process (as Docker).
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub health: Health,
    pub ports: Vec<PortBinding>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerStatus {
    Pending,
    Running,
    Stopped,
}

impl ContainerStatus {
    /// ECS's spelling (`lastStatus`).
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Pending => "PENDING",
            ContainerStatus::Running => "RUNNING",
            ContainerStatus::Stopped => "STOPPED",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortBinding {
    pub container_port: u16,
    pub host_port: u16,
}

/// A process that leads its own process group, identified across PID reuse by its start
/// time (field 22 of `/proc/PID/stat`, in clock ticks since boot).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessRecord {
    pub pid: u32,
    pub start_time: u64,
}

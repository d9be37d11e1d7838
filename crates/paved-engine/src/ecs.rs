//! Amazon ECS's API shapes, with ECS's own field names (botocore's `ecs/2014-11-13` model),
//! the engine's ARNs, and ECS's error types.
//!
//! Fields the engine does not model yet are kept in `extra` maps (serde `flatten`), so a
//! task definition reads back with everything its client sent.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The region in every ARN the engine makes. The local engine has no regions; clients
/// sign for `us-east-1` (any region signs, but ARNs always say this one).
pub const REGION: &str = "us-east-1";
/// The account in every ARN the engine makes (the placeholder account ECS emulators use).
pub const ACCOUNT: &str = "000000000000";
/// The cluster used when a call names none, as in ECS.
pub const DEFAULT_CLUSTER: &str = "default";

pub const ACTIVE: &str = "ACTIVE";
pub const INACTIVE: &str = "INACTIVE";

/// `arn:aws:ecs:us-east-1:000000000000:cluster/NAME`.
pub fn cluster_arn(name: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}")
}

/// `arn:aws:ecs:us-east-1:000000000000:task-definition/FAMILY:REVISION`.
pub fn task_definition_arn(family: &str, revision: i64) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}")
}

/// The resource an ARN names: `(type, rest)`, e.g. `("cluster", "NAME")` or
/// `("task-definition", "FAMILY:1")`. Any region and account are accepted.
pub fn parse_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, _account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "ecs" {
        return None;
    }
    resource.split_once('/')
}

/// One ECS tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSetting {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub cluster_arn: String,
    pub cluster_name: String,
    pub status: ClusterStatus,
    pub registered_container_instances_count: i64,
    pub running_tasks_count: i64,
    pub pending_tasks_count: i64,
    pub active_services_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Vec<ClusterSetting>>,
}

/// `{arn, reason, detail}`, for each item of a bulk call that could not be answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub arn: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValuePair {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    pub value_from: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A container health check: `CMD` or `CMD-SHELL` and its timings (seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    pub container_name: String,
    /// `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    pub condition: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<std::collections::BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One container of a task definition; fields not modelled are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_mappings: Option<Vec<PortMapping>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Vec<KeyValuePair>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<Secret>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<ContainerDependency>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A task definition as ECS returns it; fields not modelled are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub task_definition_arn: String,
    pub family: String,
    pub revision: i64,
    pub status: String,
    pub container_definitions: Vec<ContainerDefinition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_compatibilities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibilities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// Epoch seconds (botocore's timestamp format in the JSON protocol).
    pub registered_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deregistered_at: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `arn:aws:ecs:us-east-1:000000000000:service/CLUSTER/NAME`.
pub fn service_arn(cluster: &str, name: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}")
}

/// `arn:aws:ecs:us-east-1:000000000000:task/CLUSTER/ID`.
pub fn task_arn(cluster: &str, id: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/{cluster}/{id}")
}

/// `arn:aws:ecs:us-east-1:000000000000:container/CLUSTER/TASK/NAME`.
pub fn container_arn(cluster: &str, task: &str, name: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:container/{cluster}/{task}/{name}")
}

/// An enum of ECS strings: serde, `as_str` and `parse` all use ECS's spelling.
macro_rules! ecs_strings {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value ECS spells `text`.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

ecs_strings! {
    /// A cluster's `status`.
    ClusterStatus {
        Active = "ACTIVE",
        Provisioning = "PROVISIONING",
        Deprovisioning = "DEPROVISIONING",
        Failed = "FAILED",
        Inactive = "INACTIVE",
    }
}

ecs_strings! {
    /// A service's `status`: `DRAINING` after DeleteService while its tasks stop.
    ServiceStatus {
        Active = "ACTIVE",
        Draining = "DRAINING",
        Inactive = "INACTIVE",
    }
}

ecs_strings! {
    /// A task's `lastStatus` and `desiredStatus` (a task's life cycle, in order).
    TaskStatus {
        Provisioning = "PROVISIONING",
        Pending = "PENDING",
        Activating = "ACTIVATING",
        Running = "RUNNING",
        Deactivating = "DEACTIVATING",
        Stopping = "STOPPING",
        Deprovisioning = "DEPROVISIONING",
        Stopped = "STOPPED",
    }
}

ecs_strings! {
    /// Why a task stopped (`stopCode`).
    StopCode {
        TaskFailedToStart = "TaskFailedToStart",
        EssentialContainerExited = "EssentialContainerExited",
        UserInitiated = "UserInitiated",
        ServiceSchedulerInitiated = "ServiceSchedulerInitiated",
        SpotInterruption = "SpotInterruption",
        TerminationNotice = "TerminationNotice",
    }
}

ecs_strings! {
    /// A deployment's `status`: the `PRIMARY` one, `ACTIVE` ones still draining, `INACTIVE`
    /// once finished.
    DeploymentStatus {
        Primary = "PRIMARY",
        Active = "ACTIVE",
        Inactive = "INACTIVE",
    }
}

ecs_strings! {
    /// A deployment's `rolloutState`.
    RolloutState {
        InProgress = "IN_PROGRESS",
        Completed = "COMPLETED",
        Failed = "FAILED",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

/// A service's `deploymentConfiguration`; fields not modelled are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One of a service's `loadBalancers`: which container port the target group routes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i64>,
}

/// One of a service's deployments (`PRIMARY`, or `ACTIVE` while its tasks drain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub status: DeploymentStatus,
    pub task_definition: String,
    pub desired_count: i64,
    pub pending_count: i64,
    pub running_count: i64,
    pub failed_tasks: i64,
    pub created_at: f64,
    pub updated_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    pub rollout_state: RolloutState,
    pub rollout_state_reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: String,
    pub created_at: f64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentController {
    #[serde(rename = "type")]
    pub kind: String,
}

/// A service as ECS returns it; request fields not modelled are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub service_arn: String,
    pub service_name: String,
    pub cluster_arn: String,
    pub load_balancers: Vec<LoadBalancer>,
    pub status: ServiceStatus,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    pub task_definition: String,
    pub deployment_configuration: DeploymentConfiguration,
    pub deployments: Vec<Deployment>,
    pub events: Vec<ServiceEvent>,
    pub created_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i64>,
    pub scheduling_strategy: String,
    pub deployment_controller: DeploymentController,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkBinding {
    #[serde(rename = "bindIP")]
    pub bind_ip: String,
    pub container_port: i64,
    pub host_port: i64,
    pub protocol: String,
}

/// One container of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub container_arn: String,
    pub task_arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub last_status: TaskStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub health_status: String,
    pub network_bindings: Vec<NetworkBinding>,
    /// The container's process id on this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_id: Option<String>,
}

/// A task as ECS returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub last_status: TaskStatus,
    pub desired_status: TaskStatus,
    pub containers: Vec<Container>,
    pub created_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<StopCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    pub health_status: String,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

/// ECS's error types, as `__type` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    ClientException,
    InvalidParameterException,
    ClusterNotFoundException,
    ClusterContainsServicesException,
    ClusterContainsTasksException,
    ResourceNotFoundException,
    ServiceNotFoundException,
    ServiceNotActiveException,
    ServerException,
    /// The caller may not make this call.
    AccessDeniedException,
    /// Not an ECS error but the JSON protocol's, for a target it does not know.
    UnknownOperationException,
    /// The JSON protocol's, for a body that is not JSON.
    SerializationException,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::ClientException => "ClientException",
            ErrorType::InvalidParameterException => "InvalidParameterException",
            ErrorType::ClusterNotFoundException => "ClusterNotFoundException",
            ErrorType::ClusterContainsServicesException => "ClusterContainsServicesException",
            ErrorType::ClusterContainsTasksException => "ClusterContainsTasksException",
            ErrorType::ResourceNotFoundException => "ResourceNotFoundException",
            ErrorType::ServiceNotFoundException => "ServiceNotFoundException",
            ErrorType::ServiceNotActiveException => "ServiceNotActiveException",
            ErrorType::ServerException => "ServerException",
            ErrorType::AccessDeniedException => "AccessDeniedException",
            ErrorType::UnknownOperationException => "UnknownOperationException",
            ErrorType::SerializationException => "SerializationException",
        }
    }

    /// Whether the server, not the client, is at fault (HTTP 500).
    pub fn is_server_fault(self) -> bool {
        matches!(self, ErrorType::ServerException)
    }
}

/// An error as ECS reports it: a type and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.as_str())]
pub struct EcsError {
    pub kind: ErrorType,
    pub message: String,
}

impl EcsError {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> EcsError {
        EcsError {
            kind,
            message: message.into(),
        }
    }

    pub fn client(message: impl Into<String>) -> EcsError {
        EcsError::new(ErrorType::ClientException, message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> EcsError {
        EcsError::new(ErrorType::InvalidParameterException, message)
    }

    pub fn cluster_not_found() -> EcsError {
        EcsError::new(ErrorType::ClusterNotFoundException, "Cluster not found.")
    }

    pub fn service_not_found() -> EcsError {
        EcsError::new(ErrorType::ServiceNotFoundException, "Service not found.")
    }

    /// The JSON body ECS's protocol answers with.
    pub fn body(&self) -> Value {
        serde_json::json!({"__type": self.kind.as_str(), "message": self.message})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        assert_eq!(
            cluster_arn("a"),
            "arn:aws:ecs:us-east-1:000000000000:cluster/a"
        );
        assert_eq!(
            parse_arn(&task_definition_arn("web", 3)),
            Some(("task-definition", "web:3"))
        );
        assert_eq!(parse_arn("arn:aws:s3:::bucket/x"), None);
        assert_eq!(parse_arn("web:3"), None);
    }

    /// Each enum's values serialise as ECS spells them, and parse back (serde and `parse`).
    fn check_round_trip<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + std::fmt::Debug + Serialize + serde::de::DeserializeOwned,
    {
        for value in all {
            let text = as_str(*value);
            assert_eq!(
                serde_json::to_value(value).expect("serialises"),
                Value::String(text.to_owned())
            );
            let back: T = serde_json::from_value(Value::String(text.to_owned())).expect("parses");
            assert_eq!(back, *value);
            assert_eq!(parse(text), Some(*value));
        }
        assert_eq!(parse("running"), None, "ECS's strings are case-sensitive");
        assert!(serde_json::from_value::<T>(Value::String("NOPE".to_owned())).is_err());
    }

    #[test]
    fn cluster_status_round_trips() {
        check_round_trip(
            ClusterStatus::ALL,
            ClusterStatus::as_str,
            ClusterStatus::parse,
        );
        assert_eq!(ClusterStatus::Active.as_str(), "ACTIVE");
    }

    #[test]
    fn service_status_round_trips() {
        check_round_trip(
            ServiceStatus::ALL,
            ServiceStatus::as_str,
            ServiceStatus::parse,
        );
        assert_eq!(ServiceStatus::Draining.as_str(), "DRAINING");
    }

    #[test]
    fn task_status_round_trips() {
        check_round_trip(TaskStatus::ALL, TaskStatus::as_str, TaskStatus::parse);
        assert_eq!(TaskStatus::Deprovisioning.as_str(), "DEPROVISIONING");
    }

    #[test]
    fn stop_code_round_trips() {
        check_round_trip(StopCode::ALL, StopCode::as_str, StopCode::parse);
        assert_eq!(
            StopCode::ServiceSchedulerInitiated.as_str(),
            "ServiceSchedulerInitiated"
        );
    }

    #[test]
    fn deployment_status_round_trips() {
        check_round_trip(
            DeploymentStatus::ALL,
            DeploymentStatus::as_str,
            DeploymentStatus::parse,
        );
        assert_eq!(DeploymentStatus::Primary.as_str(), "PRIMARY");
    }

    #[test]
    fn rollout_state_round_trips() {
        check_round_trip(RolloutState::ALL, RolloutState::as_str, RolloutState::parse);
        assert_eq!(RolloutState::InProgress.as_str(), "IN_PROGRESS");
    }

    #[test]
    fn unknown_container_fields_survive() {
        let text = r#"{"name":"a","image":"b","ulimits":[{"name":"nofile","softLimit":1,"hardLimit":2}],"healthCheck":{"command":["CMD","true"],"startPeriod":5}}"#;
        let container: ContainerDefinition = serde_json::from_str(text).expect("parses");
        assert_eq!(
            container.health_check.as_ref().and_then(|h| h.start_period),
            Some(5)
        );
        let back: Value = serde_json::to_value(&container).expect("serialises");
        let original: Value = serde_json::from_str(text).expect("parses");
        assert_eq!(back, original);
    }
}

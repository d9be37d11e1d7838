//! Wire types of `/api/engine`: the local engine's images, secrets, load balancers, services
//! and logs. Times are RFC 3339.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/engine/images` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildImageBody {
    /// A service created by Paved; its repository is built.
    pub service: String,
    /// A branch, tag or commit of the repository; default `main`.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// A built image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Image {
    pub name: String,
    /// The full commit id.
    pub commit: String,
    /// `local/NAME:COMMIT`, as a container definition's `image` names it.
    pub image: String,
}

/// `GET /api/engine/images` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImageList {
    pub items: Vec<Image>,
}

/// `PUT /api/engine/secrets/{name}` body.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSecretBody {
    /// 1 to 65536 bytes; never returned.
    pub value: String,
}

impl std::fmt::Debug for PutSecretBody {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PutSecretBody { value: <redacted> }")
    }
}

/// A secret, without its value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/engine/secrets` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretList {
    pub items: Vec<Secret>,
}

/// A cluster's load balancer: one HTTP listener on 127.0.0.1 with forward rules, and the
/// settings of its target groups. Services register their tasks into target groups through
/// their `loadBalancers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// The listener's port on 127.0.0.1: 1-65535, or 0 for any free port.
    pub port: u32,
    /// Evaluated by ascending priority; the first match wins.
    #[serde(default)]
    pub rules: Vec<ListenerRule>,
    /// Where requests no rule matches go; without one they get a 404.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_target_group: Option<String>,
    #[serde(default)]
    pub target_groups: Vec<TargetGroupSpec>,
}

/// A forward rule: when every non-empty condition matches, forward to `targetGroup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerRule {
    /// Unique within the listener; lower is evaluated first.
    pub priority: u32,
    /// Host names, with `*` and `?` wildcards.
    #[serde(default)]
    pub host_headers: Vec<String>,
    /// Paths, with `*` and `?` wildcards.
    #[serde(default)]
    pub path_patterns: Vec<String>,
    /// A target group declared in `targetGroups` or named by a service's `loadBalancers`.
    pub target_group: String,
}

/// A target group's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetGroupSpec {
    /// The name (or ARN) services' `loadBalancers[].targetGroupArn` give.
    pub name: String,
    /// Without one, a registered target is healthy at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckSpec>,
    /// The longest a deregistered target keeps serving in-flight requests, in seconds; default
    /// 300 (ALB's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistration_delay_seconds: Option<u64>,
}

/// An HTTP `GET` health check per target; unset fields take ALB's defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// Default `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Default 30; fractions allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
    /// Default 5; shorter than the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    /// Consecutive successes that make a target healthy; default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<u32>,
    /// Consecutive failures that make a target unhealthy; default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<u32>,
    /// Status codes that count as a success: `200` or `200-399` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
}

/// A cluster's load balancer with its address and targets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    pub cluster: String,
    pub spec: LoadBalancerSpec,
    /// `127.0.0.1:PORT` once the listener is bound; absent until the engine applied the
    /// configuration, or when the port could not be bound (see the server log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub target_groups: Vec<TargetGroupStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupStatus {
    pub name: String,
    pub healthy: usize,
    pub targets: Vec<Target>,
}

/// A registered target.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// The task's id.
    pub id: String,
    pub address: String,
    /// `initial`, `healthy`, `unhealthy` or `draining`.
    pub health: String,
    pub in_flight: u64,
    pub requests: u64,
}

/// `GET /api/engine/load-balancers` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoadBalancerList {
    pub items: Vec<LoadBalancer>,
}

/// A deployment of a service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngineDeployment {
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or (in the history) `INACTIVE`.
    pub status: String,
    pub task_definition: String,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub failed_tasks: i64,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub rollout_state: String,
    pub rollout_state_reason: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A service of the local engine.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngineService {
    pub cluster: String,
    pub name: String,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub task_definition: String,
    /// Live deployments, the primary first.
    pub deployments: Vec<EngineDeployment>,
    /// Finished deployments, newest first.
    pub history: Vec<EngineDeployment>,
    pub created_at: String,
}

/// `GET /api/engine/services` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EngineServiceList {
    pub items: Vec<EngineService>,
}

/// A service event, as ECS words them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngineEvent {
    pub created_at: String,
    pub message: String,
}

/// A container of a task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngineContainer {
    pub name: String,
    pub last_status: String,
    pub health_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `127.0.0.1:HOST_PORT->CONTAINER_PORT`.
    #[serde(default)]
    pub ports: Vec<String>,
}

/// A task of a service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngineTask {
    pub id: String,
    pub last_status: String,
    pub desired_status: String,
    pub health_status: String,
    pub task_definition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    pub containers: Vec<EngineContainer>,
}

/// `GET /api/engine/services/{cluster}/{service}` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngineServiceDetail {
    #[serde(flatten)]
    pub service: EngineService,
    /// The latest events, newest first.
    pub events: Vec<EngineEvent>,
    /// Live tasks and stopped ones the engine still keeps, oldest first.
    pub tasks: Vec<EngineTask>,
}

/// One line a container wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    pub timestamp: String,
    pub task_id: String,
    pub container: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    pub message: String,
    /// The line was longer than 16 KiB and was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// `GET /api/engine/services/{cluster}/{service}/logs` response (without `follow`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogLineList {
    /// Oldest first.
    pub items: Vec<LogLine>,
}

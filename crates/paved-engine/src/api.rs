//! The typed requests and responses of the ECS operations the engine answers, with ECS's field
//! names (serde camelCase), so the `/ecs` adapter only decodes and encodes them.
//!
//! Fields are optional where ECS's are, and where the engine reports a missing value itself
//! with ECS's error (`tags must be specified.`); a required field is a plain value, and a
//! request without it does not decode. Values are checked by the implementation, not here
//! (an AWS implementation leaves that to ECS).

use paved_model::access::{Resource, ResourceKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ecs::{
    Cluster, ContainerDefinition, DEFAULT_CLUSTER, DeploymentConfiguration, Failure, KeyValuePair,
    LoadBalancer, Service, Tag, Task, TaskDefinition, parse_arn,
};

/// ECS's `maxResults` and `nextToken` of a List call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateClusterRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateClusterResponse {
    pub cluster: Cluster,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeClustersRequest {
    /// Names or ARNs; the default cluster when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeClustersResponse {
    pub clusters: Vec<Cluster>,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersRequest {
    #[serde(flatten)]
    pub page: PageRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersResponse {
    pub cluster_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteClusterRequest {
    pub cluster: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteClusterResponse {
    pub cluster: Cluster,
}

/// RegisterTaskDefinition's request; fields not modelled are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterTaskDefinitionRequest {
    pub family: String,
    pub container_definitions: Vec<ContainerDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_compatibilities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterTaskDefinitionResponse {
    pub task_definition: TaskDefinition,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTaskDefinitionRequest {
    /// `FAMILY`, `FAMILY:REVISION` or an ARN.
    pub task_definition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTaskDefinitionResponse {
    pub task_definition: TaskDefinition,
    /// Present when the request includes `TAGS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterTaskDefinitionRequest {
    /// `FAMILY:REVISION` or an ARN.
    pub task_definition: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterTaskDefinitionResponse {
    pub task_definition: TaskDefinition,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionsRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_prefix: Option<String>,
    /// `ACTIVE` (the default) or `INACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `ASC` (the default) or `DESC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(flatten)]
    pub page: PageRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionsResponse {
    pub task_definition_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionFamiliesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_prefix: Option<String>,
    /// `ACTIVE` (the default), `INACTIVE` or `ALL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionFamiliesResponse {
    pub families: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceRequest {
    pub resource_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceRequest {
    pub resource_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_keys: Option<Vec<String>>,
}

/// TagResource's and UntagResource's (empty) response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TagsChanged {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceRequest {
    pub resource_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceResponse {
    pub tags: Vec<Tag>,
}

/// CreateService's request; fields not modelled are kept in `extra` (and in the service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceRequest {
    pub service_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancers: Option<Vec<LoadBalancer>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateServiceRequest {
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_new_deployment: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancers: Option<Vec<LoadBalancer>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteServiceRequest {
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}

/// CreateService's, UpdateService's and DeleteService's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceResponse {
    pub service: Service,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeServicesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeServicesResponse {
    pub services: Vec<Service>,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServicesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(flatten)]
    pub page: PageRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServicesResponse {
    pub service_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// One of RunTask's `overrides.containerOverrides`; fields not modelled are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverride {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Vec<KeyValuePair>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// RunTask's `overrides`; fields not modelled are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_overrides: Option<Vec<ContainerOverride>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskRequest {
    pub task_definition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<TaskOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

/// RunTask's and DescribeTasks' response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TasksResponse {
    pub tasks: Vec<Task>,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTaskRequest {
    /// A task id or ARN.
    pub task: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTaskResponse {
    pub task: Task,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    /// `RUNNING` (the default), `PENDING` or `STOPPED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_status: Option<String>,
    #[serde(flatten)]
    pub page: PageRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksResponse {
    pub task_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTasksRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
}

/// The name a cluster reference (name or ARN, or none: the default cluster) stands for.
fn cluster_part(reference: Option<&str>) -> &str {
    match reference {
        None | Some("") => DEFAULT_CLUSTER,
        Some(reference) => match parse_arn(reference) {
            Some(("cluster", name)) => name,
            _ => reference,
        },
    }
}

/// The last part of a name or an ARN (`…:service/CLUSTER/NAME` → `NAME`).
fn last_part(reference: &str) -> &str {
    match parse_arn(reference) {
        Some((_, rest)) => rest.rsplit('/').next().unwrap_or(rest),
        None => reference,
    }
}

/// `CLUSTER/NAME`, how the policy point names a service or a task.
fn in_cluster(cluster: Option<&str>, reference: &str) -> String {
    format!("{}/{}", cluster_part(cluster), last_part(reference))
}

/// What a mutation acts on, for the policy point and the audit log.
impl CreateClusterRequest {
    pub fn resource(&self) -> Resource {
        Resource::new(
            ResourceKind::EcsCluster,
            cluster_part(self.cluster_name.as_deref()),
        )
    }
}

impl DeleteClusterRequest {
    pub fn resource(&self) -> Resource {
        Resource::new(ResourceKind::EcsCluster, cluster_part(Some(&self.cluster)))
    }
}

impl RegisterTaskDefinitionRequest {
    pub fn resource(&self) -> Resource {
        Resource::new(ResourceKind::EcsTaskDefinition, &self.family)
    }
}

/// A task definition's family from `FAMILY`, `FAMILY:REVISION` or its ARN.
fn family_part(reference: &str) -> &str {
    let key = match parse_arn(reference) {
        Some((_, key)) => key,
        None => reference,
    };
    key.rsplit_once(':').map_or(key, |(family, _)| family)
}

impl DeregisterTaskDefinitionRequest {
    pub fn resource(&self) -> Resource {
        Resource::new(
            ResourceKind::EcsTaskDefinition,
            family_part(&self.task_definition),
        )
    }
}

/// The resource a taggable ARN names: a cluster, or a task definition's family.
fn tagged_resource(arn: &str) -> Resource {
    match parse_arn(arn) {
        Some(("cluster", name)) => Resource::new(ResourceKind::EcsCluster, name),
        Some(("task-definition", key)) => {
            Resource::new(ResourceKind::EcsTaskDefinition, family_part(key))
        }
        _ => Resource::new(ResourceKind::EcsCluster, arn),
    }
}

impl TagResourceRequest {
    pub fn resource(&self) -> Resource {
        tagged_resource(&self.resource_arn)
    }
}

impl UntagResourceRequest {
    pub fn resource(&self) -> Resource {
        tagged_resource(&self.resource_arn)
    }
}

impl CreateServiceRequest {
    pub fn resource(&self) -> Resource {
        Resource::new(
            ResourceKind::EcsService,
            in_cluster(self.cluster.as_deref(), &self.service_name),
        )
    }
}

impl UpdateServiceRequest {
    pub fn resource(&self) -> Resource {
        Resource::new(
            ResourceKind::EcsService,
            in_cluster(self.cluster.as_deref(), &self.service),
        )
    }
}

impl DeleteServiceRequest {
    pub fn resource(&self) -> Resource {
        Resource::new(
            ResourceKind::EcsService,
            in_cluster(self.cluster.as_deref(), &self.service),
        )
    }
}

impl RunTaskRequest {
    /// The task definition it runs (its tasks have no ids yet).
    pub fn resource(&self) -> Resource {
        Resource::new(
            ResourceKind::EcsTaskDefinition,
            family_part(&self.task_definition),
        )
    }
}

impl StopTaskRequest {
    pub fn resource(&self) -> Resource {
        Resource::new(
            ResourceKind::EcsTask,
            in_cluster(self.cluster.as_deref(), &self.task),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_name_what_a_mutation_changes() {
        let cases = [
            (
                CreateClusterRequest::default().resource(),
                "ecs-cluster",
                "default",
            ),
            (
                DeleteClusterRequest {
                    cluster: "arn:aws:ecs:us-east-1:000000000000:cluster/prod".into(),
                }
                .resource(),
                "ecs-cluster",
                "prod",
            ),
            (
                DeregisterTaskDefinitionRequest {
                    task_definition: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3"
                        .into(),
                }
                .resource(),
                "ecs-task-definition",
                "web",
            ),
            (
                UpdateServiceRequest {
                    service: "arn:aws:ecs:us-east-1:000000000000:service/prod/web".into(),
                    cluster: Some("prod".into()),
                    ..UpdateServiceRequest::default()
                }
                .resource(),
                "ecs-service",
                "prod/web",
            ),
            (
                StopTaskRequest {
                    task: "abc".into(),
                    ..StopTaskRequest::default()
                }
                .resource(),
                "ecs-task",
                "default/abc",
            ),
            (
                TagResourceRequest {
                    resource_arn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1".into(),
                    tags: None,
                }
                .resource(),
                "ecs-task-definition",
                "web",
            ),
        ];
        for (resource, kind, name) in cases {
            assert_eq!(
                (resource.kind.as_str(), resource.name.as_str()),
                (kind, name)
            );
        }
    }

    #[test]
    fn list_requests_take_ecs_paging_fields() {
        let request: ListTasksRequest = serde_json::from_value(
            serde_json::json!({"cluster": "c", "maxResults": 5, "nextToken": "10"}),
        )
        .expect("decodes");
        assert_eq!(request.page.max_results, Some(5));
        assert_eq!(request.page.next_token.as_deref(), Some("10"));
        let back = serde_json::to_value(&request).expect("encodes");
        assert_eq!(
            back,
            serde_json::json!({"cluster": "c", "maxResults": 5, "nextToken": "10"})
        );
    }
}

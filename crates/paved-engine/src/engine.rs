//! [`Engine`]: the typed interface to an engine with Amazon ECS's semantics, one method per
//! ECS operation ([`Operation`]), implemented by the local engine (`paved-engine-local`) and
//! next by Amazon ECS itself.
//!
//! A mutation takes the caller's audit record, authorised by the policy point: an
//! implementation that keeps state in Paved's store writes it in the change's own transaction;
//! one that does not (Amazon ECS) leaves it to the caller's `settle`.

use async_trait::async_trait;
use paved_model::access::{Action, AuditRecord};

use crate::api::*;
use crate::ecs::EcsError;

/// The ECS operations the engine answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateCluster,
    DescribeClusters,
    ListClusters,
    DeleteCluster,
    RegisterTaskDefinition,
    DescribeTaskDefinition,
    DeregisterTaskDefinition,
    ListTaskDefinitions,
    ListTaskDefinitionFamilies,
    TagResource,
    UntagResource,
    ListTagsForResource,
    CreateService,
    UpdateService,
    DeleteService,
    DescribeServices,
    ListServices,
    RunTask,
    StopTask,
    ListTasks,
    DescribeTasks,
}

impl Operation {
    pub const ALL: [Operation; 21] = [
        Operation::CreateCluster,
        Operation::DescribeClusters,
        Operation::ListClusters,
        Operation::DeleteCluster,
        Operation::RegisterTaskDefinition,
        Operation::DescribeTaskDefinition,
        Operation::DeregisterTaskDefinition,
        Operation::ListTaskDefinitions,
        Operation::ListTaskDefinitionFamilies,
        Operation::TagResource,
        Operation::UntagResource,
        Operation::ListTagsForResource,
        Operation::CreateService,
        Operation::UpdateService,
        Operation::DeleteService,
        Operation::DescribeServices,
        Operation::ListServices,
        Operation::RunTask,
        Operation::StopTask,
        Operation::ListTasks,
        Operation::DescribeTasks,
    ];

    /// The operation ECS names `name` (`CreateCluster`), if the engine answers it.
    pub fn parse(name: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|operation| operation.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateCluster => "CreateCluster",
            Operation::DescribeClusters => "DescribeClusters",
            Operation::ListClusters => "ListClusters",
            Operation::DeleteCluster => "DeleteCluster",
            Operation::RegisterTaskDefinition => "RegisterTaskDefinition",
            Operation::DescribeTaskDefinition => "DescribeTaskDefinition",
            Operation::DeregisterTaskDefinition => "DeregisterTaskDefinition",
            Operation::ListTaskDefinitions => "ListTaskDefinitions",
            Operation::ListTaskDefinitionFamilies => "ListTaskDefinitionFamilies",
            Operation::TagResource => "TagResource",
            Operation::UntagResource => "UntagResource",
            Operation::ListTagsForResource => "ListTagsForResource",
            Operation::CreateService => "CreateService",
            Operation::UpdateService => "UpdateService",
            Operation::DeleteService => "DeleteService",
            Operation::DescribeServices => "DescribeServices",
            Operation::ListServices => "ListServices",
            Operation::RunTask => "RunTask",
            Operation::StopTask => "StopTask",
            Operation::ListTasks => "ListTasks",
            Operation::DescribeTasks => "DescribeTasks",
        }
    }

    /// The policy point's action for a mutation; `None` for reads.
    pub fn audit_action(self) -> Option<Action> {
        Some(match self {
            Operation::CreateCluster => Action::EcsCreateCluster,
            Operation::DeleteCluster => Action::EcsDeleteCluster,
            Operation::RegisterTaskDefinition => Action::EcsRegisterTaskDefinition,
            Operation::DeregisterTaskDefinition => Action::EcsDeregisterTaskDefinition,
            Operation::TagResource => Action::EcsTagResource,
            Operation::UntagResource => Action::EcsUntagResource,
            Operation::CreateService => Action::EcsCreateService,
            Operation::UpdateService => Action::EcsUpdateService,
            Operation::DeleteService => Action::EcsDeleteService,
            Operation::RunTask => Action::EcsRunTask,
            Operation::StopTask => Action::EcsStopTask,
            Operation::DescribeClusters
            | Operation::ListClusters
            | Operation::DescribeTaskDefinition
            | Operation::ListTaskDefinitions
            | Operation::ListTaskDefinitionFamilies
            | Operation::ListTagsForResource
            | Operation::DescribeServices
            | Operation::ListServices
            | Operation::ListTasks
            | Operation::DescribeTasks => return None,
        })
    }
}

/// An engine with ECS's control plane. Reads take the request; mutations also take the
/// caller's audit record (see the module's documentation).
#[async_trait]
pub trait Engine: Send + Sync + std::fmt::Debug {
    async fn create_cluster(
        &self,
        request: CreateClusterRequest,
        audit: &AuditRecord,
    ) -> Result<CreateClusterResponse, EcsError>;
    async fn describe_clusters(
        &self,
        request: DescribeClustersRequest,
    ) -> Result<DescribeClustersResponse, EcsError>;
    async fn list_clusters(
        &self,
        request: ListClustersRequest,
    ) -> Result<ListClustersResponse, EcsError>;
    async fn delete_cluster(
        &self,
        request: DeleteClusterRequest,
        audit: &AuditRecord,
    ) -> Result<DeleteClusterResponse, EcsError>;

    async fn register_task_definition(
        &self,
        request: RegisterTaskDefinitionRequest,
        audit: &AuditRecord,
    ) -> Result<RegisterTaskDefinitionResponse, EcsError>;
    async fn describe_task_definition(
        &self,
        request: DescribeTaskDefinitionRequest,
    ) -> Result<DescribeTaskDefinitionResponse, EcsError>;
    async fn deregister_task_definition(
        &self,
        request: DeregisterTaskDefinitionRequest,
        audit: &AuditRecord,
    ) -> Result<DeregisterTaskDefinitionResponse, EcsError>;
    async fn list_task_definitions(
        &self,
        request: ListTaskDefinitionsRequest,
    ) -> Result<ListTaskDefinitionsResponse, EcsError>;
    async fn list_task_definition_families(
        &self,
        request: ListTaskDefinitionFamiliesRequest,
    ) -> Result<ListTaskDefinitionFamiliesResponse, EcsError>;

    async fn tag_resource(
        &self,
        request: TagResourceRequest,
        audit: &AuditRecord,
    ) -> Result<TagsChanged, EcsError>;
    async fn untag_resource(
        &self,
        request: UntagResourceRequest,
        audit: &AuditRecord,
    ) -> Result<TagsChanged, EcsError>;
    async fn list_tags_for_resource(
        &self,
        request: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, EcsError>;

    async fn create_service(
        &self,
        request: CreateServiceRequest,
        audit: &AuditRecord,
    ) -> Result<ServiceResponse, EcsError>;
    async fn update_service(
        &self,
        request: UpdateServiceRequest,
        audit: &AuditRecord,
    ) -> Result<ServiceResponse, EcsError>;
    async fn delete_service(
        &self,
        request: DeleteServiceRequest,
        audit: &AuditRecord,
    ) -> Result<ServiceResponse, EcsError>;
    async fn describe_services(
        &self,
        request: DescribeServicesRequest,
    ) -> Result<DescribeServicesResponse, EcsError>;
    async fn list_services(
        &self,
        request: ListServicesRequest,
    ) -> Result<ListServicesResponse, EcsError>;

    async fn run_task(
        &self,
        request: RunTaskRequest,
        audit: &AuditRecord,
    ) -> Result<TasksResponse, EcsError>;
    async fn stop_task(
        &self,
        request: StopTaskRequest,
        audit: &AuditRecord,
    ) -> Result<StopTaskResponse, EcsError>;
    async fn list_tasks(&self, request: ListTasksRequest) -> Result<ListTasksResponse, EcsError>;
    async fn describe_tasks(
        &self,
        request: DescribeTasksRequest,
    ) -> Result<TasksResponse, EcsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_round_trip() {
        for operation in Operation::ALL {
            assert_eq!(Operation::parse(operation.name()), Some(operation));
        }
        assert_eq!(Operation::parse("RunTasks"), None);
        assert!(Operation::RegisterTaskDefinition.audit_action().is_some());
        assert!(Operation::ListClusters.audit_action().is_none());
    }
}

//! The local engine's control plane as an [`Engine`]: each operation of the trait answered by
//! [`ControlPlane`] over the store.

use async_trait::async_trait;
use paved_model::access::AuditRecord;

use crate::control::{ControlPlane, TagChange};
use paved_engine::Engine;
use paved_engine::api::*;
use paved_engine::ecs::EcsError;

#[async_trait]
impl Engine for ControlPlane {
    async fn create_cluster(
        &self,
        request: CreateClusterRequest,
        audit: &AuditRecord,
    ) -> Result<CreateClusterResponse, EcsError> {
        ControlPlane::create_cluster(self, request, audit).await
    }

    async fn describe_clusters(
        &self,
        request: DescribeClustersRequest,
    ) -> Result<DescribeClustersResponse, EcsError> {
        ControlPlane::describe_clusters(self, request).await
    }

    async fn list_clusters(
        &self,
        request: ListClustersRequest,
    ) -> Result<ListClustersResponse, EcsError> {
        ControlPlane::list_clusters(self, request).await
    }

    async fn delete_cluster(
        &self,
        request: DeleteClusterRequest,
        audit: &AuditRecord,
    ) -> Result<DeleteClusterResponse, EcsError> {
        ControlPlane::delete_cluster(self, request, audit).await
    }

    async fn register_task_definition(
        &self,
        request: RegisterTaskDefinitionRequest,
        audit: &AuditRecord,
    ) -> Result<RegisterTaskDefinitionResponse, EcsError> {
        ControlPlane::register_task_definition(self, request, audit).await
    }

    async fn describe_task_definition(
        &self,
        request: DescribeTaskDefinitionRequest,
    ) -> Result<DescribeTaskDefinitionResponse, EcsError> {
        ControlPlane::describe_task_definition(self, request).await
    }

    async fn deregister_task_definition(
        &self,
        request: DeregisterTaskDefinitionRequest,
        audit: &AuditRecord,
    ) -> Result<DeregisterTaskDefinitionResponse, EcsError> {
        ControlPlane::deregister_task_definition(self, request, audit).await
    }

    async fn list_task_definitions(
        &self,
        request: ListTaskDefinitionsRequest,
    ) -> Result<ListTaskDefinitionsResponse, EcsError> {
        ControlPlane::list_task_definitions(self, request).await
    }

    async fn list_task_definition_families(
        &self,
        request: ListTaskDefinitionFamiliesRequest,
    ) -> Result<ListTaskDefinitionFamiliesResponse, EcsError> {
        ControlPlane::list_task_definition_families(self, request).await
    }

    async fn tag_resource(
        &self,
        request: TagResourceRequest,
        audit: &AuditRecord,
    ) -> Result<TagsChanged, EcsError> {
        self.change_tags(&request.resource_arn, TagChange::Add(request.tags), audit)
            .await
    }

    async fn untag_resource(
        &self,
        request: UntagResourceRequest,
        audit: &AuditRecord,
    ) -> Result<TagsChanged, EcsError> {
        self.change_tags(
            &request.resource_arn,
            TagChange::Remove(request.tag_keys),
            audit,
        )
        .await
    }

    async fn list_tags_for_resource(
        &self,
        request: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, EcsError> {
        ControlPlane::list_tags_for_resource(self, &request.resource_arn).await
    }

    async fn create_service(
        &self,
        request: CreateServiceRequest,
        audit: &AuditRecord,
    ) -> Result<ServiceResponse, EcsError> {
        ControlPlane::create_service(self, request, audit).await
    }

    async fn update_service(
        &self,
        request: UpdateServiceRequest,
        audit: &AuditRecord,
    ) -> Result<ServiceResponse, EcsError> {
        ControlPlane::update_service(self, request, audit).await
    }

    async fn delete_service(
        &self,
        request: DeleteServiceRequest,
        audit: &AuditRecord,
    ) -> Result<ServiceResponse, EcsError> {
        ControlPlane::delete_service(self, request, audit).await
    }

    async fn describe_services(
        &self,
        request: DescribeServicesRequest,
    ) -> Result<DescribeServicesResponse, EcsError> {
        ControlPlane::describe_services(self, request).await
    }

    async fn list_services(
        &self,
        request: ListServicesRequest,
    ) -> Result<ListServicesResponse, EcsError> {
        ControlPlane::list_services(self, request).await
    }

    async fn run_task(
        &self,
        request: RunTaskRequest,
        audit: &AuditRecord,
    ) -> Result<TasksResponse, EcsError> {
        ControlPlane::run_task(self, request, audit).await
    }

    async fn stop_task(
        &self,
        request: StopTaskRequest,
        audit: &AuditRecord,
    ) -> Result<StopTaskResponse, EcsError> {
        ControlPlane::stop_task(self, request, audit).await
    }

    async fn list_tasks(&self, request: ListTasksRequest) -> Result<ListTasksResponse, EcsError> {
        ControlPlane::list_tasks(self, request).await
    }

    async fn describe_tasks(
        &self,
        request: DescribeTasksRequest,
    ) -> Result<TasksResponse, EcsError> {
        ControlPlane::describe_tasks(self, request).await
    }
}

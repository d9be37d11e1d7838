//! [`Engine`]: ECS's control-plane operations over the store.
//!
//! Every operation reads and writes the store only (no in-memory state), so any replica
//! answers any call. [`Engine::handle`] takes an operation name and its JSON request, as ECS's
//! JSON protocol carries them, and returns the JSON response.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::Notify;

use paved_model::access::Action;
use paved_store::{EcsClusterRow, EcsTaskDefinitionRow, Store};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::ecs::{
    ACTIVE, Cluster, ClusterStatus, DEFAULT_CLUSTER, EcsError, ErrorType, Failure, INACTIVE,
    RegisterTaskDefinitionRequest, Tag, TaskDefinition, cluster_arn, parse_arn,
    task_definition_arn,
};
use crate::services::{paginate, with_next};
use crate::validate;

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
    const ALL: [Operation; 21] = [
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

    /// What a mutation acts on, for the audit log: the cluster, family or resource named in
    /// the request (empty when it names none).
    pub fn audit_target(self, request: &Value) -> String {
        let field = match self {
            Operation::CreateCluster => "clusterName",
            Operation::DeleteCluster => "cluster",
            Operation::RegisterTaskDefinition => "family",
            Operation::DeregisterTaskDefinition
            | Operation::DescribeTaskDefinition
            | Operation::RunTask => "taskDefinition",
            Operation::CreateService => "serviceName",
            Operation::UpdateService | Operation::DeleteService => "service",
            Operation::StopTask => "task",
            _ => "resourceArn",
        };
        request
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }
}

/// The engine's control plane; cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) store: Store,
    /// Wakes this process's scheduler after a change, so it need not wait for its tick.
    wake: Arc<Notify>,
}

/// A resource that carries tags.
enum Tagged {
    Cluster(String),
    TaskDefinition(String, i64),
}

impl Engine {
    pub fn new(store: Store) -> Engine {
        Engine {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Tells the scheduler that desired state changed.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when desired state changed in this process since the last call.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Runs one operation on its JSON request (`null` or `{}` for none).
    pub async fn handle(&self, operation: Operation, request: Value) -> Result<Value, EcsError> {
        let request = if request.is_null() {
            json!({})
        } else {
            request
        };
        if !request.is_object() {
            return Err(EcsError::new(
                ErrorType::SerializationException,
                "The request body must be a JSON object.",
            ));
        }
        match operation {
            Operation::CreateCluster => self.create_cluster(&request).await,
            Operation::DescribeClusters => self.describe_clusters(&request).await,
            Operation::ListClusters => self.list_clusters(&request).await,
            Operation::DeleteCluster => self.delete_cluster(&request).await,
            Operation::RegisterTaskDefinition => self.register_task_definition(request).await,
            Operation::DescribeTaskDefinition => self.describe_task_definition(&request).await,
            Operation::DeregisterTaskDefinition => self.deregister_task_definition(&request).await,
            Operation::ListTaskDefinitions => self.list_task_definitions(&request).await,
            Operation::ListTaskDefinitionFamilies => {
                self.list_task_definition_families(&request).await
            }
            Operation::TagResource => self.tag_resource(&request, true).await,
            Operation::UntagResource => self.tag_resource(&request, false).await,
            Operation::ListTagsForResource => self.list_tags_for_resource(&request).await,
            Operation::CreateService => self.create_service(request).await,
            Operation::UpdateService => self.update_service(request).await,
            Operation::DeleteService => self.delete_service(&request).await,
            Operation::DescribeServices => self.describe_services(&request).await,
            Operation::ListServices => self.list_services(&request).await,
            Operation::RunTask => self.run_task(&request).await,
            Operation::StopTask => self.stop_task(&request).await,
            Operation::ListTasks => self.list_tasks(&request).await,
            Operation::DescribeTasks => self.describe_tasks(&request).await,
        }
    }

    /// The cluster a call names (by name or ARN), or [`DEFAULT_CLUSTER`] when it names none,
    /// created on demand as ECS does for its default cluster. A named cluster must exist and
    /// be active ([`ErrorType::ClusterNotFoundException`]).
    pub async fn cluster_or_default(&self, reference: Option<&str>) -> Result<Cluster, EcsError> {
        match reference {
            None | Some("") => {
                let row = self
                    .store
                    .ensure_ecs_cluster(&new_cluster(DEFAULT_CLUSTER, &[]))
                    .await?;
                Ok(cluster_from(&row, false))
            }
            Some(reference) => {
                let name = cluster_name(reference)?;
                match self.store.ecs_cluster(&name).await? {
                    Some(row) if row.status == ACTIVE => Ok(cluster_from(&row, false)),
                    _ => Err(EcsError::cluster_not_found()),
                }
            }
        }
    }

    async fn create_cluster(&self, request: &Value) -> Result<Value, EcsError> {
        let name = optional_string(request, "clusterName")?.unwrap_or(DEFAULT_CLUSTER);
        if !valid_cluster_name(name) {
            return Err(EcsError::invalid_parameter(format!(
                "Cluster name `{name}` is invalid: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed."
            )));
        }
        let tags: Vec<Tag> = field(request, "tags")?.unwrap_or_default();
        check_tags(&tags)?;
        let row = self
            .store
            .ensure_ecs_cluster(&new_cluster(name, &tags))
            .await?;
        Ok(json!({"cluster": cluster_from(&row, true)}))
    }

    async fn describe_clusters(&self, request: &Value) -> Result<Value, EcsError> {
        let references: Vec<String> =
            field(request, "clusters")?.unwrap_or_else(|| vec![DEFAULT_CLUSTER.to_owned()]);
        let include: Vec<String> = field(request, "include")?.unwrap_or_default();
        let with_tags = include.iter().any(|item| item == "TAGS");
        let mut clusters = Vec::new();
        let mut failures = Vec::new();
        for reference in references {
            let row = match cluster_name(&reference) {
                Ok(name) => self.store.ecs_cluster(&name).await?,
                Err(_) => None,
            };
            match row {
                Some(row) => clusters.push(cluster_from(&row, with_tags)),
                None => failures.push(Failure {
                    arn: if reference.starts_with("arn:") {
                        reference
                    } else {
                        cluster_arn(&reference)
                    },
                    reason: "MISSING".to_owned(),
                    detail: None,
                }),
            }
        }
        Ok(json!({"clusters": clusters, "failures": failures}))
    }

    async fn list_clusters(&self, request: &Value) -> Result<Value, EcsError> {
        let arns: Vec<String> = self
            .store
            .ecs_clusters(Some(ACTIVE))
            .await?
            .into_iter()
            .map(|row| row.arn)
            .collect();
        let (page, next) = paginate(arns, request, 100, 100)?;
        Ok(with_next(json!({"clusterArns": page}), next))
    }

    async fn delete_cluster(&self, request: &Value) -> Result<Value, EcsError> {
        let reference = required_string(request, "cluster")?;
        let name = cluster_name(reference)?;
        match self.store.ecs_cluster(&name).await? {
            Some(row) if row.status == ACTIVE => {
                if !self.store.live_ecs_services(Some(&name)).await?.is_empty() {
                    return Err(EcsError::new(
                        ErrorType::ClusterContainsServicesException,
                        "The Cluster cannot be deleted while Services are active.",
                    ));
                }
                let running = self
                    .store
                    .ecs_tasks(paved_store::EcsTaskFilter {
                        cluster: Some(&name),
                        live: true,
                        ..paved_store::EcsTaskFilter::default()
                    })
                    .await?;
                if !running.is_empty() {
                    return Err(EcsError::new(
                        ErrorType::ClusterContainsTasksException,
                        "The Cluster cannot be deleted while Tasks are active.",
                    ));
                }
                self.store.set_ecs_cluster_status(&name, INACTIVE).await?;
                let row = EcsClusterRow {
                    status: INACTIVE.to_owned(),
                    ..row
                };
                Ok(json!({"cluster": cluster_from(&row, false)}))
            }
            _ => Err(EcsError::cluster_not_found()),
        }
    }

    async fn register_task_definition(&self, request: Value) -> Result<Value, EcsError> {
        validate::register_task_definition(&request)?;
        let request: RegisterTaskDefinitionRequest =
            serde_json::from_value(request).map_err(|error| {
                EcsError::client(format!("The task definition is invalid: {error}"))
            })?;
        let tags = request.tags.clone().unwrap_or_default();
        check_tags(&tags)?;
        let tags_text = serde_json::to_string(&tags).expect("tags serialise");
        let registered_at = paved_store::now_millis();
        let compatibilities = compatibilities(&request);
        let row = self
            .store
            .insert_ecs_task_definition(&request.family, &tags_text, registered_at, |revision| {
                let definition = TaskDefinition {
                    task_definition_arn: task_definition_arn(&request.family, revision),
                    family: request.family.clone(),
                    revision,
                    status: ACTIVE.to_owned(),
                    container_definitions: request.container_definitions.clone(),
                    cpu: request.cpu.clone(),
                    memory: request.memory.clone(),
                    network_mode: request.network_mode.clone(),
                    requires_compatibilities: request.requires_compatibilities.clone(),
                    compatibilities: Some(compatibilities.clone()),
                    execution_role_arn: request.execution_role_arn.clone(),
                    task_role_arn: request.task_role_arn.clone(),
                    registered_at: seconds(registered_at),
                    deregistered_at: None,
                    extra: request.extra.clone(),
                };
                serde_json::to_string(&definition).expect("task definitions serialise")
            })
            .await?;
        let definition = definition_from(&row)?;
        Ok(json!({"taskDefinition": definition, "tags": tags}))
    }

    /// The revision `reference` names: `FAMILY:REVISION`, its ARN, or `FAMILY` (the latest
    /// ACTIVE revision).
    pub(crate) async fn find_task_definition(
        &self,
        reference: &str,
    ) -> Result<EcsTaskDefinitionRow, EcsError> {
        let missing = || EcsError::client("Unable to describe task definition.");
        let key = match parse_arn(reference) {
            Some(("task-definition", key)) => key,
            Some(_) => return Err(missing()),
            None => reference,
        };
        let row = match key.rsplit_once(':') {
            Some((family, revision)) => {
                let revision: i64 = revision.parse().map_err(|_| {
                    EcsError::client(format!(
                        "Invalid revision number `{revision}` in `{reference}`: use FAMILY:REVISION."
                    ))
                })?;
                self.store.ecs_task_definition(family, revision).await?
            }
            None => self.store.latest_active_ecs_task_definition(key).await?,
        };
        row.ok_or_else(missing)
    }

    async fn describe_task_definition(&self, request: &Value) -> Result<Value, EcsError> {
        let row = self
            .find_task_definition(required_string(request, "taskDefinition")?)
            .await?;
        let include: Vec<String> = field(request, "include")?.unwrap_or_default();
        let mut response = json!({"taskDefinition": definition_from(&row)?});
        if include.iter().any(|item| item == "TAGS") {
            response["tags"] = serde_json::from_str(&row.tags).map_err(corrupt)?;
        }
        Ok(response)
    }

    async fn deregister_task_definition(&self, request: &Value) -> Result<Value, EcsError> {
        let reference = required_string(request, "taskDefinition")?;
        // ECS needs the revision: a bare family is refused.
        let key = parse_arn(reference).map_or(reference, |(_, key)| key);
        if !key.contains(':') {
            return Err(EcsError::client(format!(
                "The task definition `{reference}` has no revision: use FAMILY:REVISION or its full ARN."
            )));
        }
        let row = self.find_task_definition(reference).await?;
        let mut definition = definition_from(&row)?;
        if definition.status != INACTIVE {
            let at = paved_store::now_millis();
            definition.status = INACTIVE.to_owned();
            definition.deregistered_at = Some(seconds(at));
            let body = serde_json::to_string(&definition).expect("task definitions serialise");
            self.store
                .deregister_ecs_task_definition(&row.family, row.revision, at, &body)
                .await?;
        }
        Ok(json!({"taskDefinition": definition}))
    }

    async fn list_task_definitions(&self, request: &Value) -> Result<Value, EcsError> {
        let prefix = optional_string(request, "familyPrefix")?;
        let status = status_filter(request, &[ACTIVE, INACTIVE])?.unwrap_or(ACTIVE);
        let descending = match optional_string(request, "sort")? {
            None | Some("ASC") => false,
            Some("DESC") => true,
            Some(other) => {
                return Err(EcsError::invalid_parameter(format!(
                    "sort `{other}` is invalid: use ASC or DESC."
                )));
            }
        };
        let mut arns: Vec<String> = self
            .store
            .ecs_task_definition_keys(prefix, Some(status))
            .await?
            .into_iter()
            .map(|(family, revision, _)| task_definition_arn(&family, revision))
            .collect();
        if descending {
            arns.reverse();
        }
        let (page, next) = paginate(arns, request, 100, 100)?;
        Ok(with_next(json!({"taskDefinitionArns": page}), next))
    }

    async fn list_task_definition_families(&self, request: &Value) -> Result<Value, EcsError> {
        let prefix = optional_string(request, "familyPrefix")?;
        let status = status_filter(request, &[ACTIVE, INACTIVE, "ALL"])?.unwrap_or(ACTIVE);
        let keys = self.store.ecs_task_definition_keys(prefix, None).await?;
        let active: BTreeSet<&str> = keys
            .iter()
            .filter(|(_, _, row_status)| row_status == ACTIVE)
            .map(|(family, _, _)| family.as_str())
            .collect();
        // A family is ACTIVE while one of its revisions is, INACTIVE once none is.
        let families: BTreeSet<&str> = keys
            .iter()
            .map(|(family, _, _)| family.as_str())
            .filter(|family| match status {
                "ALL" => true,
                ACTIVE => active.contains(family),
                _ => !active.contains(family),
            })
            .collect();
        Ok(json!({"families": families}))
    }

    /// Where `resourceArn` points; refuses ARNs of resources the engine does not tag.
    async fn tagged(&self, request: &Value) -> Result<(Tagged, Vec<Tag>), EcsError> {
        let arn = required_string(request, "resourceArn")?;
        let not_found = || {
            EcsError::new(
                ErrorType::ResourceNotFoundException,
                format!("The specified resource `{arn}` is not found."),
            )
        };
        match parse_arn(arn) {
            Some(("cluster", name)) => {
                let row = self.store.ecs_cluster(name).await?;
                match row {
                    Some(row) if row.status == ACTIVE => Ok((
                        Tagged::Cluster(row.name),
                        serde_json::from_str(&row.tags).map_err(corrupt)?,
                    )),
                    _ => Err(EcsError::cluster_not_found()),
                }
            }
            Some(("task-definition", key)) => {
                let (family, revision) = key
                    .rsplit_once(':')
                    .and_then(|(family, revision)| Some((family, revision.parse().ok()?)))
                    .ok_or_else(not_found)?;
                let row = self
                    .store
                    .ecs_task_definition(family, revision)
                    .await?
                    .ok_or_else(not_found)?;
                Ok((
                    Tagged::TaskDefinition(row.family, row.revision),
                    serde_json::from_str(&row.tags).map_err(corrupt)?,
                ))
            }
            Some(_) => Err(not_found()),
            None => Err(EcsError::invalid_parameter(format!(
                "`{arn}` is not a valid ARN."
            ))),
        }
    }

    /// TagResource (`add`: the request's tags replace same-key tags) or UntagResource.
    async fn tag_resource(&self, request: &Value, add: bool) -> Result<Value, EcsError> {
        let (resource, mut tags) = self.tagged(request).await?;
        if add {
            let new: Vec<Tag> = field(request, "tags")?
                .ok_or_else(|| EcsError::client("tags must be specified."))?;
            check_tags(&new)?;
            for tag in new {
                match tags.iter_mut().find(|old| old.key == tag.key) {
                    Some(old) => old.value = tag.value,
                    None => tags.push(tag),
                }
            }
            check_tags(&tags)?;
        } else {
            let keys: Vec<String> = field(request, "tagKeys")?
                .ok_or_else(|| EcsError::client("tagKeys must be specified."))?;
            tags.retain(|tag| !keys.contains(&tag.key));
        }
        let text = serde_json::to_string(&tags).expect("tags serialise");
        match resource {
            Tagged::Cluster(name) => self.store.set_ecs_cluster_tags(&name, &text).await?,
            Tagged::TaskDefinition(family, revision) => {
                self.store
                    .set_ecs_task_definition_tags(&family, revision, &text)
                    .await?
            }
        };
        Ok(json!({}))
    }

    async fn list_tags_for_resource(&self, request: &Value) -> Result<Value, EcsError> {
        let (_, tags) = self.tagged(request).await?;
        Ok(json!({"tags": tags}))
    }
}

fn new_cluster(name: &str, tags: &[Tag]) -> EcsClusterRow {
    EcsClusterRow {
        name: name.to_owned(),
        arn: cluster_arn(name),
        status: ACTIVE.to_owned(),
        tags: serde_json::to_string(tags).expect("tags serialise"),
        created_at: paved_store::now_millis(),
    }
}

fn cluster_from(row: &EcsClusterRow, with_tags: bool) -> Cluster {
    Cluster {
        cluster_arn: row.arn.clone(),
        cluster_name: row.name.clone(),
        // A status this version does not know reads as INACTIVE (not usable).
        status: ClusterStatus::parse(&row.status).unwrap_or(ClusterStatus::Inactive),
        registered_container_instances_count: 0,
        running_tasks_count: 0,
        pending_tasks_count: 0,
        active_services_count: 0,
        tags: with_tags.then(|| serde_json::from_str(&row.tags).unwrap_or_default()),
        settings: None,
    }
}

pub(crate) fn definition_from(row: &EcsTaskDefinitionRow) -> Result<TaskDefinition, EcsError> {
    serde_json::from_str(&row.body).map_err(corrupt)
}

pub(crate) fn corrupt(error: serde_json::Error) -> EcsError {
    tracing::error!(%error, "a stored engine value does not parse");
    EcsError::new(ErrorType::ServerException, "Server error.")
}

/// The cluster name from a name or a cluster ARN.
fn cluster_name(reference: &str) -> Result<String, EcsError> {
    match parse_arn(reference) {
        Some(("cluster", name)) => Ok(name.to_owned()),
        Some(_) => Err(EcsError::invalid_parameter(format!(
            "`{reference}` is not a cluster ARN."
        ))),
        None => Ok(reference.to_owned()),
    }
}

fn valid_cluster_name(name: &str) -> bool {
    validate::valid_family(name)
}

/// ECS's tag limits: at most 50, keys 1-128 characters, values up to 256, no `aws:` prefix.
pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), EcsError> {
    if tags.len() > 50 {
        return Err(EcsError::invalid_parameter(
            "A resource can have at most 50 tags.",
        ));
    }
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 {
            return Err(EcsError::invalid_parameter(format!(
                "Tag key `{}` must be 1 to 128 characters long.",
                tag.key
            )));
        }
        if tag.value.chars().count() > 256 {
            return Err(EcsError::invalid_parameter(format!(
                "The value of tag `{}` must be at most 256 characters long.",
                tag.key
            )));
        }
        let allowed = |c: char| {
            c.is_alphanumeric()
                || c.is_whitespace()
                || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
        };
        if !tag.key.chars().all(allowed) || !tag.value.chars().all(allowed) {
            return Err(EcsError::invalid_parameter(format!(
                "Tag `{}` is invalid: keys and values may hold letters, numbers, spaces and `_.:/=+-@`.",
                tag.key
            )));
        }
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(EcsError::invalid_parameter(format!(
                "Tag key `{}` uses the reserved prefix `aws:`.",
                tag.key
            )));
        }
    }
    Ok(())
}

/// ECS's `compatibilities`: what the definition can run on.
fn compatibilities(request: &RegisterTaskDefinitionRequest) -> Vec<String> {
    let mut list = vec!["EC2".to_owned()];
    if request.network_mode.as_deref() == Some("awsvpc")
        && request.cpu.is_some()
        && request.memory.is_some()
    {
        list.push("FARGATE".to_owned());
    }
    list
}

pub(crate) fn seconds(millis: i64) -> f64 {
    millis as f64 / 1000.0
}

/// An optional request field, typed; a wrong type is a ClientException naming it.
pub(crate) fn field<T: DeserializeOwned>(
    request: &Value,
    name: &str,
) -> Result<Option<T>, EcsError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|error| EcsError::client(format!("`{name}` is invalid: {error}"))),
    }
}

pub(crate) fn optional_string<'a>(
    request: &'a Value,
    name: &str,
) -> Result<Option<&'a str>, EcsError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(EcsError::client(format!(
            "`{name}` should be a string, not `{other}`."
        ))),
    }
}

pub(crate) fn required_string<'a>(request: &'a Value, name: &str) -> Result<&'a str, EcsError> {
    optional_string(request, name)?
        .filter(|text| !text.is_empty())
        .ok_or_else(|| EcsError::invalid_parameter(format!("`{name}` must be specified.")))
}

fn status_filter(
    request: &Value,
    allowed: &[&'static str],
) -> Result<Option<&'static str>, EcsError> {
    match optional_string(request, "status")? {
        None => Ok(None),
        Some(status) => allowed
            .iter()
            .find(|allowed| **allowed == status)
            .copied()
            .map(Some)
            .ok_or_else(|| {
                EcsError::invalid_parameter(format!(
                    "status `{status}` is invalid: use {}.",
                    allowed.join(", ")
                ))
            }),
    }
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

    #[test]
    fn tags_follow_ecs_rules() {
        let tag = |key: &str, value: &str| Tag {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        let cases: Vec<(Vec<Tag>, Option<&str>)> = vec![
            (
                vec![tag("team", "a b"), tag("cost/centre", "x@y.z=1+2:3_4-5")],
                None,
            ),
            (vec![tag("", "x")], Some("must be 1 to 128 characters")),
            (
                vec![tag(&"k".repeat(129), "x")],
                Some("must be 1 to 128 characters"),
            ),
            (
                vec![tag("k", &"v".repeat(257))],
                Some("at most 256 characters"),
            ),
            (vec![tag("k<", "x")], Some("Tag `k<` is invalid")),
            (vec![tag("k", "{x}")], Some("Tag `k` is invalid")),
            (vec![tag("aws:owner", "x")], Some("reserved prefix")),
            (
                (0..51).map(|index| tag(&index.to_string(), "")).collect(),
                Some("at most 50 tags"),
            ),
        ];
        for (tags, expected) in cases {
            match (check_tags(&tags), expected) {
                (Ok(()), None) => {}
                (Err(error), Some(fragment)) => {
                    assert_eq!(error.kind, ErrorType::InvalidParameterException);
                    assert!(error.message.contains(fragment), "`{fragment}` in {error}");
                }
                (result, expected) => panic!("got {result:?}, expected {expected:?}"),
            }
        }
    }
}

//! [`ControlPlane`]: the local engine's answers to ECS's control-plane operations, over the
//! store.
//!
//! Every operation reads and writes the store only (no in-memory state), so any replica
//! answers any call. The [`crate::Engine`] trait's implementation (`local.rs`) calls these.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::Notify;

use paved_model::access::AuditRecord;
use paved_store::{EcsClusterRow, EcsTaskDefinitionRow, Mutation, Store, StoreError, Tx};

use crate::services::paginate;
use paved_engine::api::{
    CreateClusterRequest, CreateClusterResponse, DeleteClusterRequest, DeleteClusterResponse,
    DeregisterTaskDefinitionRequest, DeregisterTaskDefinitionResponse, DescribeClustersRequest,
    DescribeClustersResponse, DescribeTaskDefinitionRequest, DescribeTaskDefinitionResponse,
    ListClustersRequest, ListClustersResponse, ListTagsForResourceResponse,
    ListTaskDefinitionFamiliesRequest, ListTaskDefinitionFamiliesResponse,
    ListTaskDefinitionsRequest, ListTaskDefinitionsResponse, RegisterTaskDefinitionRequest,
    RegisterTaskDefinitionResponse, TagsChanged,
};
use paved_engine::ecs::{
    ACTIVE, Cluster, ClusterStatus, DEFAULT_CLUSTER, EcsError, ErrorType, Failure, INACTIVE, Tag,
    TaskDefinition, cluster_arn, parse_arn, task_definition_arn,
};
use paved_engine::validate;

/// The local engine's control plane; cheap to clone.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    pub(crate) store: Store,
    /// Wakes this process's scheduler after a change, so it need not wait for its tick.
    wake: Arc<Notify>,
}

/// A resource that carries tags.
pub(crate) enum Tagged {
    Cluster(String),
    TaskDefinition(String, i64),
}

/// How TagResource changes a resource's tags.
pub(crate) enum TagChange {
    /// The request's tags replace same-key tags.
    Add(Option<Vec<Tag>>),
    Remove(Option<Vec<String>>),
}

impl ControlPlane {
    pub fn new(store: Store) -> ControlPlane {
        ControlPlane {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs `change` in one transaction that also writes `audit` (succeeded): the change and
    /// its audit record commit together or not at all.
    pub(crate) async fn audited<T>(
        &self,
        audit: &AuditRecord,
        change: impl AsyncFnOnce(&mut Tx) -> Result<T, StoreError>,
    ) -> Result<T, EcsError> {
        let mutation = Mutation::new(audit);
        let mut tx = mutation.begin(&self.store).await.map_err(store_failed)?;
        let value = change(&mut tx).await.map_err(store_failed)?;
        mutation.commit(tx).await.map_err(store_failed)?;
        Ok(value)
    }

    /// Tells the scheduler that desired state changed.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when desired state changed in this process since the last call.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
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
                    .await
                    .map_err(store_failed)?;
                Ok(cluster_from(&row, false))
            }
            Some(reference) => {
                let name = cluster_name(reference)?;
                match self.store.ecs_cluster(&name).await.map_err(store_failed)? {
                    Some(row) if row.status == ACTIVE => Ok(cluster_from(&row, false)),
                    _ => Err(EcsError::cluster_not_found()),
                }
            }
        }
    }

    pub(crate) async fn create_cluster(
        &self,
        request: CreateClusterRequest,
        audit: &AuditRecord,
    ) -> Result<CreateClusterResponse, EcsError> {
        let name = request.cluster_name.as_deref().unwrap_or(DEFAULT_CLUSTER);
        if !valid_cluster_name(name) {
            return Err(EcsError::invalid_parameter(format!(
                "Cluster name `{name}` is invalid: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed."
            )));
        }
        let tags = request.tags.unwrap_or_default();
        check_tags(&tags)?;
        let cluster = new_cluster(name, &tags);
        let row = self
            .audited(audit, async |tx| tx.ensure_ecs_cluster(&cluster).await)
            .await?;
        Ok(CreateClusterResponse {
            cluster: cluster_from(&row, true),
        })
    }

    pub(crate) async fn describe_clusters(
        &self,
        request: DescribeClustersRequest,
    ) -> Result<DescribeClustersResponse, EcsError> {
        let references = request
            .clusters
            .unwrap_or_else(|| vec![DEFAULT_CLUSTER.to_owned()]);
        let with_tags = includes_tags(request.include.as_deref());
        let mut clusters = Vec::new();
        let mut failures = Vec::new();
        for reference in references {
            let row = match cluster_name(&reference) {
                Ok(name) => self.store.ecs_cluster(&name).await.map_err(store_failed)?,
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
        Ok(DescribeClustersResponse { clusters, failures })
    }

    pub(crate) async fn list_clusters(
        &self,
        request: ListClustersRequest,
    ) -> Result<ListClustersResponse, EcsError> {
        let arns: Vec<String> = self
            .store
            .ecs_clusters(Some(ACTIVE))
            .await
            .map_err(store_failed)?
            .into_iter()
            .map(|row| row.arn)
            .collect();
        let (cluster_arns, next_token) = paginate(arns, &request.page, 100, 100)?;
        Ok(ListClustersResponse {
            cluster_arns,
            next_token,
        })
    }

    pub(crate) async fn delete_cluster(
        &self,
        request: DeleteClusterRequest,
        audit: &AuditRecord,
    ) -> Result<DeleteClusterResponse, EcsError> {
        let name = cluster_name(required(&request.cluster, "cluster")?)?;
        match self.store.ecs_cluster(&name).await.map_err(store_failed)? {
            Some(row) if row.status == ACTIVE => {
                if !self
                    .store
                    .live_ecs_services(Some(&name))
                    .await
                    .map_err(store_failed)?
                    .is_empty()
                {
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
                    .await
                    .map_err(store_failed)?;
                if !running.is_empty() {
                    return Err(EcsError::new(
                        ErrorType::ClusterContainsTasksException,
                        "The Cluster cannot be deleted while Tasks are active.",
                    ));
                }
                self.audited(audit, async |tx| {
                    tx.set_ecs_cluster_status(&name, INACTIVE).await
                })
                .await?;
                let row = EcsClusterRow {
                    status: INACTIVE.to_owned(),
                    ..row
                };
                Ok(DeleteClusterResponse {
                    cluster: cluster_from(&row, false),
                })
            }
            _ => Err(EcsError::cluster_not_found()),
        }
    }

    pub(crate) async fn register_task_definition(
        &self,
        request: RegisterTaskDefinitionRequest,
        audit: &AuditRecord,
    ) -> Result<RegisterTaskDefinitionResponse, EcsError> {
        // ECS's checks run on the request as ECS's JSON carries it (its quotas are in bytes).
        validate::register_task_definition(
            &serde_json::to_value(&request).expect("requests serialise"),
        )?;
        let tags = request.tags.clone().unwrap_or_default();
        check_tags(&tags)?;
        let tags_text = serde_json::to_string(&tags).expect("tags serialise");
        let registered_at = paved_store::now_millis();
        let compatibilities = compatibilities(&request);
        let row = self
            .store
            .insert_ecs_task_definition(
                &Mutation::new(audit),
                &request.family,
                &tags_text,
                registered_at,
                |revision| {
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
                },
            )
            .await
            .map_err(store_failed)?;
        Ok(RegisterTaskDefinitionResponse {
            task_definition: definition_from(&row)?,
            tags,
        })
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
                self.store
                    .ecs_task_definition(family, revision)
                    .await
                    .map_err(store_failed)?
            }
            None => self
                .store
                .latest_active_ecs_task_definition(key)
                .await
                .map_err(store_failed)?,
        };
        row.ok_or_else(missing)
    }

    pub(crate) async fn describe_task_definition(
        &self,
        request: DescribeTaskDefinitionRequest,
    ) -> Result<DescribeTaskDefinitionResponse, EcsError> {
        let row = self
            .find_task_definition(required(&request.task_definition, "taskDefinition")?)
            .await?;
        let tags = if includes_tags(request.include.as_deref()) {
            Some(serde_json::from_str(&row.tags).map_err(corrupt)?)
        } else {
            None
        };
        Ok(DescribeTaskDefinitionResponse {
            task_definition: definition_from(&row)?,
            tags,
        })
    }

    pub(crate) async fn deregister_task_definition(
        &self,
        request: DeregisterTaskDefinitionRequest,
        audit: &AuditRecord,
    ) -> Result<DeregisterTaskDefinitionResponse, EcsError> {
        let reference = required(&request.task_definition, "taskDefinition")?;
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
            self.audited(audit, async |tx| {
                tx.deregister_ecs_task_definition(&row.family, row.revision, at, &body)
                    .await
            })
            .await?;
        }
        Ok(DeregisterTaskDefinitionResponse {
            task_definition: definition,
        })
    }

    pub(crate) async fn list_task_definitions(
        &self,
        request: ListTaskDefinitionsRequest,
    ) -> Result<ListTaskDefinitionsResponse, EcsError> {
        let status =
            status_filter(request.status.as_deref(), &[ACTIVE, INACTIVE])?.unwrap_or(ACTIVE);
        let descending = match request.sort.as_deref() {
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
            .ecs_task_definition_keys(request.family_prefix.as_deref(), Some(status))
            .await
            .map_err(store_failed)?
            .into_iter()
            .map(|(family, revision, _)| task_definition_arn(&family, revision))
            .collect();
        if descending {
            arns.reverse();
        }
        let (task_definition_arns, next_token) = paginate(arns, &request.page, 100, 100)?;
        Ok(ListTaskDefinitionsResponse {
            task_definition_arns,
            next_token,
        })
    }

    pub(crate) async fn list_task_definition_families(
        &self,
        request: ListTaskDefinitionFamiliesRequest,
    ) -> Result<ListTaskDefinitionFamiliesResponse, EcsError> {
        let status =
            status_filter(request.status.as_deref(), &[ACTIVE, INACTIVE, "ALL"])?.unwrap_or(ACTIVE);
        let keys = self
            .store
            .ecs_task_definition_keys(request.family_prefix.as_deref(), None)
            .await
            .map_err(store_failed)?;
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
        Ok(ListTaskDefinitionFamiliesResponse {
            families: families.into_iter().map(str::to_owned).collect(),
        })
    }

    /// Where `arn` points, and its tags; refuses ARNs of resources the engine does not tag.
    pub(crate) async fn tagged(&self, arn: &str) -> Result<(Tagged, Vec<Tag>), EcsError> {
        let arn = required(arn, "resourceArn")?;
        let not_found = || {
            EcsError::new(
                ErrorType::ResourceNotFoundException,
                format!("The specified resource `{arn}` is not found."),
            )
        };
        match parse_arn(arn) {
            Some(("cluster", name)) => {
                let row = self.store.ecs_cluster(name).await.map_err(store_failed)?;
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
                    .await
                    .map_err(store_failed)?
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

    /// TagResource or UntagResource.
    pub(crate) async fn change_tags(
        &self,
        arn: &str,
        change: TagChange,
        audit: &AuditRecord,
    ) -> Result<TagsChanged, EcsError> {
        let (resource, mut tags) = self.tagged(arn).await?;
        match change {
            TagChange::Add(new) => {
                let new = new.ok_or_else(|| EcsError::client("tags must be specified."))?;
                check_tags(&new)?;
                for tag in new {
                    match tags.iter_mut().find(|old| old.key == tag.key) {
                        Some(old) => old.value = tag.value,
                        None => tags.push(tag),
                    }
                }
                check_tags(&tags)?;
            }
            TagChange::Remove(keys) => {
                let keys = keys.ok_or_else(|| EcsError::client("tagKeys must be specified."))?;
                tags.retain(|tag| !keys.contains(&tag.key));
            }
        }
        let text = serde_json::to_string(&tags).expect("tags serialise");
        self.audited(audit, async |tx| match resource {
            Tagged::Cluster(name) => tx.set_ecs_cluster_tags(&name, &text).await,
            Tagged::TaskDefinition(family, revision) => {
                tx.set_ecs_task_definition_tags(&family, revision, &text)
                    .await
            }
        })
        .await?;
        Ok(TagsChanged {})
    }

    pub(crate) async fn list_tags_for_resource(
        &self,
        arn: &str,
    ) -> Result<ListTagsForResourceResponse, EcsError> {
        let (_, tags) = self.tagged(arn).await?;
        Ok(ListTagsForResourceResponse { tags })
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

/// A store failure, as ECS reports a fault of its own (the detail goes to the log).
pub(crate) fn store_failed(error: paved_store::StoreError) -> EcsError {
    tracing::error!(%error, "engine store error");
    EcsError::new(ErrorType::ServerException, "Server error.")
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

/// A required name, which ECS refuses when empty.
pub(crate) fn required<'a>(value: &'a str, name: &str) -> Result<&'a str, EcsError> {
    if value.is_empty() {
        return Err(EcsError::invalid_parameter(format!(
            "`{name}` must be specified."
        )));
    }
    Ok(value)
}

/// Whether a Describe call's `include` asks for tags.
pub(crate) fn includes_tags(include: Option<&[String]>) -> bool {
    include
        .unwrap_or_default()
        .iter()
        .any(|item| item == "TAGS")
}

fn status_filter(
    status: Option<&str>,
    allowed: &[&'static str],
) -> Result<Option<&'static str>, EcsError> {
    match status {
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

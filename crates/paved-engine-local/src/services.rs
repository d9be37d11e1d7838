//! ECS's service and task operations: CreateService … DescribeTasks.
//!
//! These write desired state only (a service and its deployments, a task row asking to run or
//! to stop); the scheduler ([`crate::scheduler`]) on the replica that holds the local engine's
//! lease acts on it. So any replica answers any call, and a call returns at once, as in ECS.

use serde::{Deserialize, Serialize};

use paved_model::access::AuditRecord;
use paved_store::{EcsServiceRow, EcsTaskFilter, EcsTaskRow, Mutation};

use crate::control::{
    ControlPlane, check_tags, corrupt, definition_from, includes_tags, required, seconds,
    store_failed,
};
use paved_engine::api::{
    ContainerOverride, CreateServiceRequest, DeleteServiceRequest, DescribeServicesRequest,
    DescribeServicesResponse, DescribeTasksRequest, ListServicesRequest, ListServicesResponse,
    ListTasksRequest, ListTasksResponse, PageRequest, RunTaskRequest, ServiceResponse,
    StopTaskRequest, StopTaskResponse, TasksResponse, UpdateServiceRequest,
};
use paved_engine::ecs::{
    ACTIVE, Container, Deployment, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentController, DeploymentStatus, EcsError, ErrorType, Failure, INACTIVE, LoadBalancer,
    RolloutState, Service, ServiceEvent, ServiceStatus, StopCode, Tag, Task, TaskDefinition,
    TaskStatus, container_arn, parse_arn, service_arn, task_arn,
};
use paved_engine::validate;

/// ECS's defaults for a rolling update.
pub const DEFAULT_MAXIMUM_PERCENT: i64 = 200;
pub const DEFAULT_MINIMUM_HEALTHY_PERCENT: i64 = 100;
/// How many finished deployments a service keeps in its history.
const HISTORY: usize = 10;
/// How many events DescribeServices returns, as ECS does.
const EVENTS: i64 = 100;

/// A service as the engine stores it: the ECS shape plus what the scheduler needs to remember.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRecord {
    pub service: Service,
    /// The task definition of the last deployment that completed: where a rollback returns.
    pub last_completed: Option<String>,
    /// Finished deployments (completed, failed or replaced), newest first.
    pub history: Vec<Deployment>,
}

/// A task as the engine stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    pub task: Task,
    /// The service deployment that started it.
    pub deployment: Option<String>,
    /// Whether it has ever been healthy (a task that stops before is a failed launch).
    pub became_healthy: bool,
    /// RunTask's `overrides.containerOverrides`.
    #[serde(default)]
    pub overrides: Vec<ContainerOverride>,
}

/// What a stop request carries (`ecs_tasks.stop_request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopRequest {
    pub stop_code: StopCode,
    pub reason: String,
}

impl ServiceRecord {
    pub fn parse(row: &EcsServiceRow) -> Result<ServiceRecord, EcsError> {
        serde_json::from_str(&row.body).map_err(corrupt)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("service records serialise")
    }

    pub fn primary(&self) -> Option<&Deployment> {
        self.service
            .deployments
            .iter()
            .find(|deployment| deployment.status == DeploymentStatus::Primary)
    }

    pub fn primary_mut(&mut self) -> Option<&mut Deployment> {
        self.service
            .deployments
            .iter_mut()
            .find(|deployment| deployment.status == DeploymentStatus::Primary)
    }

    /// Makes a new primary deployment of `task_definition`; the previous primary becomes
    /// `ACTIVE` (its tasks drain as the new one rolls out).
    pub fn deploy(&mut self, task_definition: &str, now: i64) -> String {
        for deployment in &mut self.service.deployments {
            if deployment.status == DeploymentStatus::Primary {
                deployment.status = DeploymentStatus::Active;
                deployment.updated_at = seconds(now);
            }
        }
        let id = deployment_id();
        self.service.deployments.insert(
            0,
            Deployment {
                id: id.clone(),
                status: DeploymentStatus::Primary,
                task_definition: task_definition.to_owned(),
                desired_count: self.service.desired_count,
                pending_count: 0,
                running_count: 0,
                failed_tasks: 0,
                created_at: seconds(now),
                updated_at: seconds(now),
                launch_type: self.service.launch_type.clone(),
                rollout_state: RolloutState::InProgress,
                rollout_state_reason: format!("ECS deployment {id} in progress."),
            },
        );
        self.service.task_definition = task_definition.to_owned();
        id
    }

    /// Moves deployments that are no longer in `deployments` into the history.
    pub fn retire(&mut self, deployment: Deployment) {
        self.history.insert(0, deployment);
        self.history.truncate(HISTORY);
    }

    pub fn circuit_breaker(&self) -> DeploymentCircuitBreaker {
        self.service
            .deployment_configuration
            .deployment_circuit_breaker
            .unwrap_or(DeploymentCircuitBreaker {
                enable: false,
                rollback: false,
            })
    }

    /// `(minimumHealthyPercent, maximumPercent)` with ECS's defaults.
    pub fn percents(&self) -> (i64, i64) {
        let configuration = &self.service.deployment_configuration;
        (
            configuration
                .minimum_healthy_percent
                .unwrap_or(DEFAULT_MINIMUM_HEALTHY_PERCENT),
            configuration
                .maximum_percent
                .unwrap_or(DEFAULT_MAXIMUM_PERCENT),
        )
    }
}

impl TaskRecord {
    pub fn parse(row: &EcsTaskRow) -> Result<TaskRecord, EcsError> {
        serde_json::from_str(&row.body).map_err(corrupt)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("task records serialise")
    }

    /// The task as the API returns it: the desired status is the row's (an API call may have
    /// changed it since the runner last wrote the body).
    pub fn api_task(&self, row: &EcsTaskRow) -> Task {
        let mut task = self.task.clone();
        // The row's desired status is the one in force (StopTask writes only the row).
        task.desired_status = TaskStatus::parse(&row.desired_status).unwrap_or(task.desired_status);
        task
    }
}

/// A fresh ECS deployment id: `ecs-svc/` and 19 digits.
fn deployment_id() -> String {
    let random = uuid::Uuid::new_v4().as_u128();
    format!("ecs-svc/{:019}", random % 10u128.pow(19))
}

/// A fresh task id: 32 lowercase hex digits, as ECS's.
pub fn new_task_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Who starts a task and how: what RunTask or a service deployment asks for.
#[derive(Debug, Clone, Default)]
pub struct TaskOrigin {
    /// The service that starts it, with its deployment.
    pub service: Option<(String, String)>,
    pub started_by: Option<String>,
    pub group: String,
    pub overrides: Vec<ContainerOverride>,
    pub tags: Option<Vec<Tag>>,
}

/// The new task row for `definition`, waiting for the scheduler to run it.
pub fn new_task_row(
    cluster: &str,
    definition: &TaskDefinition,
    origin: TaskOrigin,
    now: i64,
) -> EcsTaskRow {
    let TaskOrigin {
        service,
        started_by,
        group,
        overrides,
        tags,
    } = origin;
    let (service, deployment) = match service {
        Some((service, deployment)) => (Some(service), Some(deployment)),
        None => (None, None),
    };
    let id = new_task_id();
    let arn = task_arn(cluster, &id);
    let containers = definition
        .container_definitions
        .iter()
        .map(|container| {
            let name = container.name.clone().unwrap_or_default();
            Container {
                container_arn: container_arn(cluster, &id, &name),
                task_arn: arn.clone(),
                name,
                image: container.image.clone(),
                last_status: TaskStatus::Provisioning,
                exit_code: None,
                reason: None,
                health_status: "UNKNOWN".to_owned(),
                network_bindings: Vec::new(),
                runtime_id: None,
            }
        })
        .collect();
    let record = TaskRecord {
        task: Task {
            task_arn: arn,
            cluster_arn: paved_engine::ecs::cluster_arn(cluster),
            task_definition_arn: definition.task_definition_arn.clone(),
            last_status: TaskStatus::Provisioning,
            desired_status: TaskStatus::Running,
            containers,
            created_at: seconds(now),
            started_at: None,
            stopping_at: None,
            stopped_at: None,
            stop_code: None,
            stopped_reason: None,
            group,
            started_by,
            launch_type: Some(
                if definition
                    .requires_compatibilities
                    .iter()
                    .flatten()
                    .any(|item| item == "FARGATE")
                {
                    "FARGATE"
                } else {
                    "EC2"
                }
                .to_owned(),
            ),
            cpu: definition.cpu.clone(),
            memory: definition.memory.clone(),
            health_status: "UNKNOWN".to_owned(),
            version: 1,
            tags,
        },
        deployment,
        became_healthy: false,
        overrides,
    };
    EcsTaskRow {
        id,
        cluster: cluster.to_owned(),
        service,
        desired_status: TaskStatus::Running.as_str().to_owned(),
        stop_request: None,
        last_status: TaskStatus::Provisioning.as_str().to_owned(),
        host: None,
        body: record.to_json(),
        processes: "[]".to_owned(),
        created_at: now,
        updated_at: now,
        stopped_at: None,
    }
}

/// `{"stopCode", "reason"}` as stored with a stop request.
pub fn stop_request(code: StopCode, reason: &str) -> String {
    serde_json::to_string(&StopRequest {
        stop_code: code,
        reason: reason.to_owned(),
    })
    .expect("stop requests serialise")
}

/// How many times a service write retries after another writer came first.
const WRITE_ATTEMPTS: usize = 16;

impl ControlPlane {
    /// The active task definition a call names, as ECS resolves it for services and tasks.
    async fn active_definition(&self, reference: &str) -> Result<TaskDefinition, EcsError> {
        let row = self
            .find_task_definition(reference)
            .await
            .map_err(|_| EcsError::client(format!("TaskDefinition not found: `{reference}`.")))?;
        let definition = definition_from(&row)?;
        if definition.status != ACTIVE {
            return Err(EcsError::client(format!(
                "TaskDefinition is inactive: `{}`.",
                definition.task_definition_arn
            )));
        }
        Ok(definition)
    }

    /// The service a call names in `cluster`, which must be ACTIVE for `active_only`.
    async fn find_service(
        &self,
        cluster: &str,
        reference: &str,
        active_only: bool,
    ) -> Result<(EcsServiceRow, ServiceRecord), EcsError> {
        let name = service_name(reference)?;
        let row = self
            .store
            .ecs_service(cluster, &name)
            .await
            .map_err(store_failed)?
            .filter(|row| row.status != INACTIVE)
            .ok_or_else(EcsError::service_not_found)?;
        if active_only && row.status != ACTIVE {
            return Err(EcsError::new(
                ErrorType::ServiceNotActiveException,
                "Service was not ACTIVE.",
            ));
        }
        let record = ServiceRecord::parse(&row)?;
        Ok((row, record))
    }

    pub(crate) async fn create_service(
        &self,
        request: CreateServiceRequest,
        audit: &AuditRecord,
    ) -> Result<ServiceResponse, EcsError> {
        let cluster = self
            .cluster_or_default(request.cluster.as_deref())
            .await?
            .cluster_name;
        if !validate::valid_family(&request.service_name) {
            return Err(EcsError::invalid_parameter(format!(
                "Service name `{}` is invalid: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
                request.service_name
            )));
        }
        if let Some(strategy) = request.scheduling_strategy.as_deref()
            && strategy != "REPLICA"
        {
            return Err(EcsError::invalid_parameter(format!(
                "schedulingStrategy `{strategy}` is not supported by the local engine: use REPLICA."
            )));
        }
        let reference = request
            .task_definition
            .as_deref()
            .ok_or_else(|| EcsError::invalid_parameter("taskDefinition must be specified."))?;
        let definition = self.active_definition(reference).await?;
        let desired_count = request.desired_count.unwrap_or(1);
        check_desired_count(desired_count)?;
        let load_balancers = request.load_balancers.unwrap_or_default();
        check_load_balancers(&load_balancers, &definition)?;
        let configuration = request.deployment_configuration.unwrap_or_default();
        check_deployment_configuration(&configuration)?;
        check_grace_period(request.health_check_grace_period_seconds)?;
        let tags = request.tags.unwrap_or_default();
        check_tags(&tags)?;
        let now = paved_store::now_millis();
        let mut record = ServiceRecord {
            service: Service {
                service_arn: service_arn(&cluster, &request.service_name),
                service_name: request.service_name.clone(),
                cluster_arn: paved_engine::ecs::cluster_arn(&cluster),
                load_balancers,
                status: ServiceStatus::Active,
                desired_count,
                running_count: 0,
                pending_count: 0,
                launch_type: Some(request.launch_type.unwrap_or_else(|| "FARGATE".to_owned())),
                task_definition: definition.task_definition_arn.clone(),
                deployment_configuration: configuration,
                deployments: Vec::new(),
                events: Vec::new(),
                created_at: seconds(now),
                health_check_grace_period_seconds: request.health_check_grace_period_seconds,
                scheduling_strategy: "REPLICA".to_owned(),
                deployment_controller: DeploymentController {
                    kind: "ECS".to_owned(),
                },
                tags: Some(tags),
                extra: request.extra,
            },
            last_completed: None,
            history: Vec::new(),
        };
        record.deploy(&definition.task_definition_arn, now);
        let row = EcsServiceRow {
            cluster: cluster.clone(),
            name: request.service_name.clone(),
            status: ACTIVE.to_owned(),
            body: record.to_json(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        if !self
            .audited(audit, async |tx| tx.insert_ecs_service(&row).await)
            .await?
        {
            return Err(EcsError::invalid_parameter(
                "Creation of service was not idempotent.",
            ));
        }
        self.wake();
        Ok(ServiceResponse {
            service: self
                .service_for_api(&row.cluster, record.service, false)
                .await?,
        })
    }

    pub(crate) async fn update_service(
        &self,
        request: UpdateServiceRequest,
        audit: &AuditRecord,
    ) -> Result<ServiceResponse, EcsError> {
        let reference = required(&request.service, "service")?;
        let cluster = self
            .cluster_or_default(request.cluster.as_deref())
            .await?
            .cluster_name;
        let definition = match request.task_definition.as_deref() {
            Some(reference) => Some(self.active_definition(reference).await?),
            None => None,
        };
        if let Some(count) = request.desired_count {
            check_desired_count(count)?;
        }
        if let Some(configuration) = &request.deployment_configuration {
            check_deployment_configuration(configuration)?;
        }
        check_grace_period(request.health_check_grace_period_seconds)?;
        for _ in 0..WRITE_ATTEMPTS {
            let (row, mut record) = self.find_service(&cluster, reference, true).await?;
            let current = match &definition {
                Some(definition) => definition.clone(),
                None => {
                    self.active_or_inactive(&record.service.task_definition)
                        .await?
                }
            };
            let mut new_deployment = request.force_new_deployment == Some(true)
                || current.task_definition_arn != record.service.task_definition;
            if let Some(load_balancers) = &request.load_balancers {
                check_load_balancers(load_balancers, &current)?;
                if *load_balancers != record.service.load_balancers {
                    record.service.load_balancers = load_balancers.clone();
                    new_deployment = true;
                }
            } else {
                check_load_balancers(&record.service.load_balancers, &current)?;
            }
            if let Some(count) = request.desired_count {
                record.service.desired_count = count;
                if let Some(primary) = record.primary_mut() {
                    primary.desired_count = count;
                }
            }
            if let Some(configuration) = &request.deployment_configuration {
                let mut merged = configuration.clone();
                let old = &record.service.deployment_configuration;
                merged.maximum_percent = merged.maximum_percent.or(old.maximum_percent);
                merged.minimum_healthy_percent = merged
                    .minimum_healthy_percent
                    .or(old.minimum_healthy_percent);
                merged.deployment_circuit_breaker = merged
                    .deployment_circuit_breaker
                    .or(old.deployment_circuit_breaker);
                record.service.deployment_configuration = merged;
            }
            if let Some(grace) = request.health_check_grace_period_seconds {
                record.service.health_check_grace_period_seconds = Some(grace);
            }
            if new_deployment {
                record.deploy(&current.task_definition_arn, paved_store::now_millis());
            }
            if let Some(response) = self
                .write_service(&cluster, &row, ACTIVE, record, audit)
                .await?
            {
                return Ok(response);
            }
        }
        Err(too_busy("updating"))
    }

    /// Writes a service if no one else did since `row` was read; the response to return, or
    /// `None` to read again and retry.
    async fn write_service(
        &self,
        cluster: &str,
        row: &EcsServiceRow,
        status: &str,
        record: ServiceRecord,
        audit: &AuditRecord,
    ) -> Result<Option<ServiceResponse>, EcsError> {
        let mutation = Mutation::new(audit);
        let mut tx = mutation.begin(&self.store).await.map_err(store_failed)?;
        let written = tx
            .update_ecs_service(
                cluster,
                &row.name,
                row.version,
                status,
                &record.to_json(),
                paved_store::now_millis(),
            )
            .await
            .map_err(store_failed)?;
        if !written {
            // Another writer came first: nothing to record yet (dropping `tx` rolls back).
            return Ok(None);
        }
        mutation.commit(tx).await.map_err(store_failed)?;
        self.wake();
        let service = self.service_for_api(cluster, record.service, false).await?;
        Ok(Some(ServiceResponse { service }))
    }

    /// A task definition by ARN whatever its status (a service keeps running an INACTIVE one).
    async fn active_or_inactive(&self, arn: &str) -> Result<TaskDefinition, EcsError> {
        definition_from(&self.find_task_definition(arn).await?)
    }

    pub(crate) async fn delete_service(
        &self,
        request: DeleteServiceRequest,
        audit: &AuditRecord,
    ) -> Result<ServiceResponse, EcsError> {
        let cluster = self
            .cluster_or_default(request.cluster.as_deref())
            .await?
            .cluster_name;
        let reference = required(&request.service, "service")?;
        let force = request.force.unwrap_or(false);
        for _ in 0..WRITE_ATTEMPTS {
            let (row, mut record) = self.find_service(&cluster, reference, false).await?;
            if row.status == ServiceStatus::Draining.as_str() {
                return Ok(ServiceResponse {
                    service: self
                        .service_for_api(&cluster, record.service, false)
                        .await?,
                });
            }
            if record.service.desired_count > 0 && !force {
                return Err(EcsError::invalid_parameter(
                    "The service cannot be stopped while it is scaled above 0: set desiredCount to 0 first, or use force.",
                ));
            }
            record.service.status = ServiceStatus::Draining;
            record.service.desired_count = 0;
            for deployment in &mut record.service.deployments {
                deployment.desired_count = 0;
            }
            if let Some(response) = self
                .write_service(
                    &cluster,
                    &row,
                    ServiceStatus::Draining.as_str(),
                    record,
                    audit,
                )
                .await?
            {
                return Ok(response);
            }
        }
        Err(too_busy("deleting"))
    }

    /// The service with its latest events (and tags only when asked for).
    async fn service_for_api(
        &self,
        cluster: &str,
        mut service: Service,
        with_tags: bool,
    ) -> Result<Service, EcsError> {
        service.events = self
            .store
            .ecs_service_events(cluster, &service.service_name, EVENTS)
            .await
            .map_err(store_failed)?
            .into_iter()
            .map(|event| ServiceEvent {
                id: event.event_id,
                created_at: seconds(event.created_at),
                message: event.message,
            })
            .collect();
        if !with_tags {
            service.tags = None;
        }
        Ok(service)
    }

    pub(crate) async fn describe_services(
        &self,
        request: DescribeServicesRequest,
    ) -> Result<DescribeServicesResponse, EcsError> {
        let cluster = self
            .cluster_or_default(request.cluster.as_deref())
            .await?
            .cluster_name;
        let references = describe_list(request.services, "services", 10)?;
        let with_tags = includes_tags(request.include.as_deref());
        let mut services = Vec::new();
        let mut failures = Vec::new();
        for reference in references {
            let row = match service_name(&reference) {
                Ok(name) => self
                    .store
                    .ecs_service(&cluster, &name)
                    .await
                    .map_err(store_failed)?,
                Err(_) => None,
            };
            match row {
                Some(row) => {
                    let record = ServiceRecord::parse(&row)?;
                    services.push(
                        self.service_for_api(&cluster, record.service, with_tags)
                            .await?,
                    );
                }
                None => failures.push(Failure {
                    arn: if reference.starts_with("arn:") {
                        reference
                    } else {
                        service_arn(&cluster, &reference)
                    },
                    reason: "MISSING".to_owned(),
                    detail: None,
                }),
            }
        }
        Ok(DescribeServicesResponse { services, failures })
    }

    pub(crate) async fn list_services(
        &self,
        request: ListServicesRequest,
    ) -> Result<ListServicesResponse, EcsError> {
        let cluster = self
            .cluster_or_default(request.cluster.as_deref())
            .await?
            .cluster_name;
        let arns: Vec<String> = self
            .store
            .live_ecs_services(Some(&cluster))
            .await
            .map_err(store_failed)?
            .into_iter()
            .map(|row| service_arn(&row.cluster, &row.name))
            .collect();
        let (service_arns, next_token) = paginate(arns, &request.page, 10, 100)?;
        Ok(ListServicesResponse {
            service_arns,
            next_token,
        })
    }

    pub(crate) async fn run_task(
        &self,
        request: RunTaskRequest,
        audit: &AuditRecord,
    ) -> Result<TasksResponse, EcsError> {
        // ECS's limits are on the request as its JSON carries it (overrides: in characters).
        validate::run_task(&serde_json::to_value(&request).expect("requests serialise"))?;
        let cluster = self
            .cluster_or_default(request.cluster.as_deref())
            .await?
            .cluster_name;
        let definition = self
            .active_definition(required(&request.task_definition, "taskDefinition")?)
            .await?;
        let count = request.count.unwrap_or(1);
        let started_by = request.started_by;
        let group = request
            .group
            .unwrap_or_else(|| format!("family:{}", definition.family));
        let overrides: Vec<ContainerOverride> = request
            .overrides
            .and_then(|overrides| overrides.container_overrides)
            .unwrap_or_default();
        for item in &overrides {
            if !definition
                .container_definitions
                .iter()
                .any(|container| container.name.as_deref() == Some(&item.name))
            {
                return Err(EcsError::invalid_parameter(format!(
                    "Override for container `{}` does not match a container in {}.",
                    item.name, definition.task_definition_arn
                )));
            }
        }
        let tags: Vec<Tag> = request.tags.unwrap_or_default();
        check_tags(&tags)?;
        let now = paved_store::now_millis();
        let mut rows = Vec::new();
        for _ in 0..count {
            rows.push(new_task_row(
                &cluster,
                &definition,
                TaskOrigin {
                    service: None,
                    started_by: started_by.clone(),
                    group: group.clone(),
                    overrides: overrides.clone(),
                    tags: Some(tags.clone()),
                },
                now,
            ));
        }
        self.audited(audit, async |tx| {
            for row in &rows {
                tx.insert_ecs_task(row).await?;
            }
            Ok(())
        })
        .await?;
        let mut tasks = Vec::new();
        for row in &rows {
            tasks.push(TaskRecord::parse(row)?.api_task(row));
        }
        self.wake();
        Ok(TasksResponse {
            tasks,
            failures: Vec::new(),
        })
    }

    pub(crate) async fn stop_task(
        &self,
        request: StopTaskRequest,
        audit: &AuditRecord,
    ) -> Result<StopTaskResponse, EcsError> {
        let cluster = self
            .cluster_or_default(request.cluster.as_deref())
            .await?
            .cluster_name;
        let id = task_id(required(&request.task, "task")?);
        let reason = request.reason.as_deref().unwrap_or("Task stopped by user");
        let missing = || EcsError::invalid_parameter("The referenced task was not found.");
        let row = self
            .store
            .ecs_task(&id)
            .await
            .map_err(store_failed)?
            .filter(|row| row.cluster == cluster)
            .ok_or_else(missing)?;
        if row.desired_status != TaskStatus::Stopped.as_str() {
            let stop = stop_request(StopCode::UserInitiated, reason);
            self.audited(audit, async |tx| {
                tx.request_ecs_task_stop(&id, &stop, paved_store::now_millis())
                    .await
            })
            .await?;
            self.wake();
        }
        let row = self
            .store
            .ecs_task(&id)
            .await
            .map_err(store_failed)?
            .ok_or_else(missing)?;
        let mut task = TaskRecord::parse(&row)?.api_task(&row);
        if task.stopped_reason.is_none() {
            task.stopped_reason = Some(reason.to_owned());
        }
        Ok(StopTaskResponse { task })
    }

    pub(crate) async fn list_tasks(
        &self,
        request: ListTasksRequest,
    ) -> Result<ListTasksResponse, EcsError> {
        let cluster = self
            .cluster_or_default(request.cluster.as_deref())
            .await?
            .cluster_name;
        let service = request
            .service_name
            .as_deref()
            .map(service_name)
            .transpose()?;
        let family = request.family.as_deref();
        let started_by = request.started_by.as_deref();
        let desired = request.desired_status.as_deref().unwrap_or("RUNNING");
        if !matches!(desired, "RUNNING" | "PENDING" | "STOPPED") {
            return Err(EcsError::invalid_parameter(format!(
                "desiredStatus `{desired}` is invalid: use RUNNING, PENDING or STOPPED."
            )));
        }
        // ECS lists PENDING tasks under desiredStatus RUNNING; PENDING selects none.
        let desired_status = if desired == "STOPPED" {
            TaskStatus::Stopped.as_str()
        } else {
            TaskStatus::Running.as_str()
        };
        let rows = self
            .store
            .ecs_tasks(EcsTaskFilter {
                cluster: Some(&cluster),
                service: service.as_deref(),
                desired_status: Some(desired_status),
                live: false,
            })
            .await
            .map_err(store_failed)?;
        let mut arns = Vec::new();
        for row in rows {
            let record = TaskRecord::parse(&row)?;
            if let Some(family) = family
                && record.task.group != format!("family:{family}")
                && !record
                    .task
                    .task_definition_arn
                    .contains(&format!("/{family}:"))
            {
                continue;
            }
            if started_by.is_some() && record.task.started_by.as_deref() != started_by {
                continue;
            }
            if desired == "PENDING" {
                continue;
            }
            arns.push(record.task.task_arn);
        }
        let (task_arns, next_token) = paginate(arns, &request.page, 100, 100)?;
        Ok(ListTasksResponse {
            task_arns,
            next_token,
        })
    }

    pub(crate) async fn describe_tasks(
        &self,
        request: DescribeTasksRequest,
    ) -> Result<TasksResponse, EcsError> {
        let cluster = self
            .cluster_or_default(request.cluster.as_deref())
            .await?
            .cluster_name;
        let references = describe_list(request.tasks, "tasks", 100)?;
        let with_tags = includes_tags(request.include.as_deref());
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        for reference in references {
            let id = task_id(&reference);
            match self
                .store
                .ecs_task(&id)
                .await
                .map_err(store_failed)?
                .filter(|row| row.cluster == cluster)
            {
                Some(row) => {
                    let mut task = TaskRecord::parse(&row)?.api_task(&row);
                    if !with_tags {
                        task.tags = None;
                    }
                    tasks.push(task);
                }
                None => failures.push(Failure {
                    arn: if reference.starts_with("arn:") {
                        reference
                    } else {
                        task_arn(&cluster, &reference)
                    },
                    reason: "MISSING".to_owned(),
                    detail: None,
                }),
            }
        }
        Ok(TasksResponse { tasks, failures })
    }
}

/// The error when a service kept changing under a write.
fn too_busy(doing: &str) -> EcsError {
    EcsError::new(
        ErrorType::ServerException,
        format!("The service changed too often while {doing} it; retry."),
    )
}

/// A Describe call's list of names or ARNs, `list` (1 to `most`).
fn describe_list(
    references: Option<Vec<String>>,
    list: &str,
    most: usize,
) -> Result<Vec<String>, EcsError> {
    let references = references
        .ok_or_else(|| EcsError::invalid_parameter(format!("{list} must be specified.")))?;
    if references.is_empty() || references.len() > most {
        return Err(EcsError::invalid_parameter(format!(
            "{list} must name between 1 and {most} {list}."
        )));
    }
    Ok(references)
}

/// A service name from a name or a service ARN (`…:service/CLUSTER/NAME` or `…:service/NAME`).
fn service_name(reference: &str) -> Result<String, EcsError> {
    match parse_arn(reference) {
        Some(("service", rest)) => Ok(rest.rsplit('/').next().unwrap_or(rest).to_owned()),
        Some(_) => Err(EcsError::invalid_parameter(format!(
            "`{reference}` is not a service ARN."
        ))),
        None => Ok(reference.to_owned()),
    }
}

/// A task id from an id or a task ARN (`…:task/CLUSTER/ID` or `…:task/ID`).
fn task_id(reference: &str) -> String {
    match parse_arn(reference) {
        Some(("task", rest)) => rest.rsplit('/').next().unwrap_or(rest).to_owned(),
        _ => reference.to_owned(),
    }
}

fn check_desired_count(count: i64) -> Result<(), EcsError> {
    if !(0..=5000).contains(&count) {
        return Err(EcsError::invalid_parameter(format!(
            "desiredCount {count} is invalid: use 0 to 5000."
        )));
    }
    Ok(())
}

fn check_grace_period(grace: Option<i64>) -> Result<(), EcsError> {
    if let Some(grace) = grace
        && !(0..=2_147_483_647).contains(&grace)
    {
        return Err(EcsError::invalid_parameter(format!(
            "healthCheckGracePeriodSeconds {grace} is invalid: use 0 to 2147483647."
        )));
    }
    Ok(())
}

/// The local engine accepts `minimumHealthyPercent` 0-100 and `maximumPercent` 100-200
/// (the range ECS accepts for rolling updates of REPLICA services on Fargate).
fn check_deployment_configuration(configuration: &DeploymentConfiguration) -> Result<(), EcsError> {
    if let Some(min) = configuration.minimum_healthy_percent
        && !(0..=100).contains(&min)
    {
        return Err(EcsError::invalid_parameter(format!(
            "deploymentConfiguration.minimumHealthyPercent {min} is invalid: use 0 to 100."
        )));
    }
    if let Some(max) = configuration.maximum_percent
        && !(100..=200).contains(&max)
    {
        return Err(EcsError::invalid_parameter(format!(
            "deploymentConfiguration.maximumPercent {max} is invalid: use 100 to 200."
        )));
    }
    Ok(())
}

/// Each load balancer names a target group, and a container and port of the task definition.
fn check_load_balancers(
    load_balancers: &[LoadBalancer],
    definition: &TaskDefinition,
) -> Result<(), EcsError> {
    for balancer in load_balancers {
        if balancer
            .target_group_arn
            .as_deref()
            .unwrap_or("")
            .is_empty()
        {
            return Err(EcsError::invalid_parameter(
                "loadBalancers: targetGroupArn must be specified (the local engine has no Classic Load Balancers).",
            ));
        }
        let (Some(name), Some(port)) = (&balancer.container_name, balancer.container_port) else {
            return Err(EcsError::invalid_parameter(
                "loadBalancers: containerName and containerPort must be specified.",
            ));
        };
        let container = definition
            .container_definitions
            .iter()
            .find(|container| container.name.as_deref() == Some(name.as_str()))
            .ok_or_else(|| {
                EcsError::invalid_parameter(format!(
                    "The container {name} does not exist in the task definition."
                ))
            })?;
        let has_port = container
            .port_mappings
            .iter()
            .flatten()
            .any(|mapping| mapping.container_port == Some(port));
        if !has_port {
            return Err(EcsError::invalid_parameter(format!(
                "The container {name} did not have a container port {port} defined."
            )));
        }
    }
    Ok(())
}

/// One page of `items` after ECS's `nextToken` (an offset here), of `maxResults` items
/// (`default` when absent, at most `limit`).
pub(crate) fn paginate<T>(
    items: Vec<T>,
    request: &PageRequest,
    default: usize,
    limit: usize,
) -> Result<(Vec<T>, Option<String>), EcsError> {
    let size = match request.max_results {
        None => default,
        Some(size) if (1..=limit as i64).contains(&size) => size as usize,
        Some(size) => {
            return Err(EcsError::invalid_parameter(format!(
                "maxResults {size} is invalid: use 1 to {limit}."
            )));
        }
    };
    let start = match request.next_token.as_deref() {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| EcsError::invalid_parameter("nextToken is invalid."))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(size).collect();
    let end = start + page.len();
    Ok((page, (end < total).then(|| end.to_string())))
}

/// The state a rollout ends in, for events and the history.
pub fn completed_reason(deployment: &str) -> String {
    format!("ECS deployment {deployment} completed.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        let id = deployment_id();
        assert!(id.starts_with("ecs-svc/"));
        assert_eq!(id.len(), "ecs-svc/".len() + 19);
        assert_eq!(new_task_id().len(), 32);
        assert_eq!(
            service_name("arn:aws:ecs:us-east-1:1:service/c/web").ok(),
            Some("web".to_owned())
        );
        assert_eq!(service_name("web").ok(), Some("web".to_owned()));
        assert_eq!(task_id("arn:aws:ecs:us-east-1:1:task/c/abc"), "abc");
    }

    #[test]
    fn pages() {
        let items: Vec<u32> = (0..25).collect();
        let page_of = |max_results, next_token: Option<&str>| PageRequest {
            max_results,
            next_token: next_token.map(str::to_owned),
        };
        let (page, next) =
            paginate(items.clone(), &page_of(Some(10), None), 100, 100).expect("valid");
        assert_eq!(page.len(), 10);
        assert_eq!(next.as_deref(), Some("10"));
        let (page, next) =
            paginate(items.clone(), &page_of(Some(10), Some("20")), 100, 100).expect("valid");
        assert_eq!(page, (20..25).collect::<Vec<_>>());
        assert_eq!(next, None);
        assert!(paginate(items, &page_of(Some(0), None), 100, 100).is_err());
    }
}

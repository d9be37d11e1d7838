//! What the server's `/api/engine` routes ask of the local engine: images built from service
//! repositories, the local secret store, each cluster's load balancer, and a service's state
//! and logs.
//!
//! Every function checks its input and answers with a [`LocalError`] that names the field and
//! what is accepted. Secret values go into the store and out to tasks only: no function here
//! logs or returns one.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use paved_balancer::{TargetHealth, TargetInfo};
use paved_runtime::{ImageError, ImageRef, LogLine};
use paved_store::{EcsServiceEventRow, EcsServiceRow, EcsTaskFilter, Mutation};
use tokio::sync::broadcast;

use crate::scheduler::{LoadBalancerConfig, LocalEngine};
use crate::services::{ServiceRecord, TaskRecord};
use paved_engine::ecs::{DEFAULT_CLUSTER, EcsError, ErrorType};

/// The branch `build_image` builds when no reference is given.
pub const DEFAULT_REFERENCE: &str = "main";
/// Secrets Manager's limit on a secret's value.
const MAX_SECRET_BYTES: usize = 65_536;
/// The most log lines one read returns.
pub const MAX_LOG_LINES: usize = 10_000;
/// How many events a service's details show.
const DETAIL_EVENTS: i64 = 20;

/// One problem with a request: the field, the rule it breaks and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub rule: &'static str,
    pub message: String,
}

impl FieldProblem {
    fn new(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            rule,
            message: message.into(),
        }
    }
}

/// What a [`LocalError::NotFound`] did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// A Paved service's repository (to build an image from).
    Repository,
    Secret,
    EngineService,
    EngineTask,
    Cluster,
    LoadBalancer,
}

/// Why a local engine operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The request breaks rules; every problem is listed.
    #[error("{message}")]
    Invalid {
        message: String,
        problems: Vec<FieldProblem>,
    },
    /// A git reference that the repository does not have.
    #[error("{message}")]
    UnknownReference {
        field: &'static str,
        message: String,
    },
    /// Something named does not exist.
    #[error("{message}")]
    NotFound { missing: Missing, message: String },
    #[error(transparent)]
    Ecs(#[from] EcsError),
    #[error("{0}")]
    Internal(String),
}

impl LocalError {
    fn invalid(field: &str, rule: &'static str, message: String) -> LocalError {
        LocalError::Invalid {
            message: message.clone(),
            problems: vec![FieldProblem::new(field, rule, message)],
        }
    }
}

impl From<paved_store::StoreError> for LocalError {
    fn from(error: paved_store::StoreError) -> LocalError {
        LocalError::Internal(error.to_string())
    }
}

/// A secret as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A cluster's load balancer: its stored configuration and what runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerStatus {
    pub cluster: String,
    pub config: LoadBalancerConfig,
    /// Where the listener is bound; `None` until the scheduler applied the configuration
    /// (or when the port could not be bound: see the server log).
    pub address: Option<std::net::SocketAddr>,
    /// Every target group the listener forwards to or declares, with its targets.
    pub target_groups: Vec<TargetGroupStatus>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroupStatus {
    pub name: String,
    pub targets: Vec<TargetInfo>,
}

impl TargetGroupStatus {
    pub fn healthy(&self) -> usize {
        self.targets
            .iter()
            .filter(|target| target.health == TargetHealth::Healthy)
            .count()
    }
}

/// A service as the overview shows it.
#[derive(Debug, Clone)]
pub struct ServiceOverview {
    pub cluster: String,
    pub row: EcsServiceRow,
    pub record: ServiceRecord,
}

/// A service with its latest events and its tasks (live ones and stopped ones still kept).
#[derive(Debug, Clone)]
pub struct ServiceDetail {
    pub overview: ServiceOverview,
    /// Newest first.
    pub events: Vec<EcsServiceEventRow>,
    /// Oldest first.
    pub tasks: Vec<TaskRecord>,
}

/// Which lines [`LocalEngine::service_logs`] returns.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// The newest this many lines (at most [`MAX_LOG_LINES`]).
    pub limit: usize,
    /// Only this task: its id, or a prefix of it naming one task of the service.
    pub task: Option<String>,
}

/// What a follower of a service's logs receives.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowEvent {
    Line(LogLine),
    /// The follower fell behind and this many lines (of any task) were skipped.
    Missed(u64),
}

/// New log lines of one service's tasks, including tasks started after following began.
pub struct LogFollower {
    engine: LocalEngine,
    cluster: String,
    service: String,
    task: Option<String>,
    receiver: broadcast::Receiver<LogLine>,
    /// Whether each task id seen belongs to the service.
    belongs: HashMap<String, bool>,
    /// The last millisecond already sent per `(task, container)` from the history read.
    sent_until: HashMap<(String, String), i64>,
}

impl LogFollower {
    /// The next line of the service (or a gap); `None` when the engine shut down.
    pub async fn next(&mut self) -> Option<FollowEvent> {
        loop {
            let line = match self.receiver.recv().await {
                Ok(line) => line,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(FollowEvent::Missed(missed));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            if let Some(task) = &self.task
                && &line.task_id != task
            {
                continue;
            }
            let key = (line.task_id.clone(), line.container.clone());
            if let Some(until) = self.sent_until.get(&key) {
                // Lines read from the files are stored with millisecond precision.
                if line.timestamp.as_millisecond() <= *until {
                    continue;
                }
                self.sent_until.remove(&key);
            }
            if self.belongs(&line.task_id).await {
                return Some(FollowEvent::Line(line));
            }
        }
    }

    async fn belongs(&mut self, task_id: &str) -> bool {
        if let Some(known) = self.belongs.get(task_id) {
            return *known;
        }
        let belongs = match self.engine.engine().store().ecs_task(task_id).await {
            Ok(Some(row)) => {
                row.cluster == self.cluster && row.service.as_deref() == Some(&self.service)
            }
            Ok(None) => false,
            Err(error) => {
                // Not cached: the next line of the task asks again.
                tracing::warn!(%error, task = task_id, "cannot look up a task's service");
                return false;
            }
        };
        self.belongs.insert(task_id.to_owned(), belongs);
        belongs
    }
}

/// Secrets Manager's name rule: 1 to 512 of `A-Za-z0-9/_+=.@-`.
pub fn valid_secret_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"/_+=.@-".contains(&byte))
}

/// An image's name, as `local/NAME:COMMIT` takes it: up to 128 lowercase letters, digits,
/// `-`, `_` and `.`, starting with a letter or digit.
pub fn valid_image_name(name: &str) -> bool {
    name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        && name.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"-_.".contains(&byte)
        })
}

/// A git reference as `build_image` takes it: a branch, tag or commit; no spaces, control
/// characters, leading `-` or `..`.
fn valid_reference(reference: &str) -> bool {
    !reference.is_empty()
        && reference.len() <= 255
        && !reference.starts_with('-')
        && !reference.contains("..")
        && reference
            .chars()
            .all(|character| !character.is_whitespace() && !character.is_control())
}

impl LocalEngine {
    /// Builds `local/SERVICE:COMMIT` from `reference` of the bare repository at `repository`
    /// (a service's repository, `<data>/repositories/SERVICE.git`).
    pub async fn build_image(
        &self,
        service: &str,
        repository: PathBuf,
        reference: &str,
    ) -> Result<ImageRef, LocalError> {
        let mut problems = Vec::new();
        if !valid_image_name(service) {
            problems.push(FieldProblem::new(
                "service",
                "image-name",
                format!(
                    "`{service}` cannot name an image: use up to 128 lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit"
                ),
            ));
        }
        if !valid_reference(reference) {
            problems.push(FieldProblem::new(
                "ref",
                "git-reference",
                format!(
                    "`{reference}` is not a git reference: give a branch, a tag or a commit id, such as `main`"
                ),
            ));
        }
        if !problems.is_empty() {
            return Err(LocalError::Invalid {
                message: format!("cannot build an image of `{service}`"),
                problems,
            });
        }
        if !repository.join("HEAD").is_file() {
            return Err(LocalError::NotFound {
                missing: Missing::Repository,
                message: format!(
                    "service `{service}` has no repository on this server (`{}`): create it with `paved service create {service}`",
                    repository.display()
                ),
            });
        }
        let images = self.runtime().images().clone();
        let (name, reference_owned) = (service.to_owned(), reference.to_owned());
        let built =
            tokio::task::spawn_blocking(move || images.build(&name, &repository, &reference_owned))
                .await
                .map_err(|error| {
                    LocalError::Internal(format!("the image build panicked: {error}"))
                })?;
        built.map_err(|error| match error {
            ImageError::Git {
                source:
                    paved_git::GitError::ReferenceNotFound { .. }
                    | paved_git::GitError::NotACommit { .. },
                ..
            } => LocalError::UnknownReference {
                field: "ref",
                message: format!(
                    "`{reference}` is not a branch, tag or commit of service `{service}`'s repository: push it first, or give another `ref` (default `{DEFAULT_REFERENCE}`)"
                ),
            },
            ImageError::InvalidName { .. } => LocalError::invalid(
                "service",
                "image-name",
                error.to_string(),
            ),
            ImageError::InvalidPath { .. } => LocalError::UnknownReference {
                field: "ref",
                message: format!("`{reference}` of service `{service}` cannot be an image: {error}"),
            },
            other => LocalError::Internal(other.to_string()),
        })
    }

    /// Every built image, by name then commit.
    pub fn images(&self) -> Vec<ImageRef> {
        self.runtime().images().list()
    }

    /// Stores a secret for tasks' `secrets` (`valueFrom` names it); true if it was new.
    pub async fn put_secret(
        &self,
        name: &str,
        value: &str,
        mutation: &Mutation<'_>,
    ) -> Result<bool, LocalError> {
        let mut problems = Vec::new();
        if !valid_secret_name(name) {
            problems.push(secret_name_problem(name));
        }
        if value.is_empty() || value.len() > MAX_SECRET_BYTES {
            problems.push(FieldProblem::new(
                "value",
                "secret-value",
                format!(
                    "the value must be 1 to {MAX_SECRET_BYTES} bytes; it is {} bytes",
                    value.len()
                ),
            ));
        }
        if !problems.is_empty() {
            return Err(LocalError::Invalid {
                message: "the secret was not stored".to_owned(),
                problems,
            });
        }
        let mut tx = mutation.begin(self.engine().store()).await?;
        let existed = tx
            .put_engine_secret(name, value, paved_store::now_millis())
            .await?;
        mutation.commit(tx).await?;
        Ok(!existed)
    }

    /// Every secret's name and times; never a value.
    pub async fn secrets(&self) -> Result<Vec<SecretInfo>, LocalError> {
        let rows = self.engine().store().engine_secret_names().await?;
        Ok(rows
            .into_iter()
            .map(|(name, created_at, updated_at)| SecretInfo {
                name,
                created_at,
                updated_at,
            })
            .collect())
    }

    pub async fn delete_secret(
        &self,
        name: &str,
        mutation: &Mutation<'_>,
    ) -> Result<(), LocalError> {
        if !valid_secret_name(name) {
            let problem = secret_name_problem(name);
            return Err(LocalError::Invalid {
                message: problem.message.clone(),
                problems: vec![problem],
            });
        }
        let mut tx = mutation.begin(self.engine().store()).await?;
        if tx.delete_engine_secret(name).await? {
            mutation.commit(tx).await?;
            Ok(())
        } else {
            Err(LocalError::NotFound {
                missing: Missing::Secret,
                message: format!(
                    "secret `{name}` does not exist: see them with `paved secret list`"
                ),
            })
        }
    }

    /// The problems with `config` as `cluster`'s load balancer, every one of them; an
    /// error when the cluster does not exist (ECS's `ClusterNotFoundException`).
    pub async fn check_load_balancer(
        &self,
        cluster: &str,
        config: &LoadBalancerConfig,
    ) -> Result<Vec<FieldProblem>, LocalError> {
        self.existing_cluster(cluster).await?;
        let store = self.engine().store();
        let mut problems = Vec::new();
        // What other clusters' balancers take: ports and target group names are shared.
        let mut other_ports = HashMap::new();
        let mut other_groups = HashMap::new();
        for (other, body) in store.engine_load_balancers().await? {
            if other == cluster {
                continue;
            }
            if let Ok(other_config) = serde_json::from_str::<LoadBalancerConfig>(&body) {
                if other_config.port != 0 {
                    other_ports.insert(other_config.port, other.clone());
                }
                for group in other_config.target_groups {
                    other_groups.insert(group.name, other.clone());
                }
            }
        }
        if let Some(other) = other_ports.get(&config.port) {
            problems.push(FieldProblem::new(
                "port",
                "unique-port",
                format!(
                    "port {} is taken by the load balancer of cluster `{other}`: choose another, or 0 for any free port",
                    config.port
                ),
            ));
        }
        let mut declared = HashSet::new();
        for (index, group) in config.target_groups.iter().enumerate() {
            let field = format!("targetGroups[{index}]");
            if group.name.is_empty() {
                problems.push(FieldProblem::new(
                    format!("{field}.name"),
                    "required",
                    "a target group needs a name",
                ));
            } else if !declared.insert(group.name.as_str()) {
                problems.push(FieldProblem::new(
                    format!("{field}.name"),
                    "unique-target-group",
                    format!("target group `{}` is declared more than once", group.name),
                ));
            } else if let Some(other) = other_groups.get(&group.name) {
                problems.push(FieldProblem::new(
                    format!("{field}.name"),
                    "unique-target-group",
                    format!(
                        "target group `{}` is declared by the load balancer of cluster `{other}`: target group names are shared by every cluster",
                        group.name
                    ),
                ));
            }
            if let Some(check) = &group.health_check {
                if !check.path.starts_with('/') {
                    problems.push(FieldProblem::new(
                        format!("{field}.healthCheck.path"),
                        "health-check",
                        format!("`{}` is not a path: it must start with `/`", check.path),
                    ));
                }
                if check.healthy_threshold == 0 || check.unhealthy_threshold == 0 {
                    problems.push(FieldProblem::new(
                        format!("{field}.healthCheck"),
                        "health-check",
                        "healthyThreshold and unhealthyThreshold must be at least 1",
                    ));
                }
                if check.interval.is_zero()
                    || check.timeout.is_zero()
                    || check.timeout >= check.interval
                {
                    problems.push(FieldProblem::new(
                        format!("{field}.healthCheck.timeoutSeconds"),
                        "health-check",
                        "the timeout must be at least 1 second and shorter than the interval",
                    ));
                }
                let (low, high) = check.matcher;
                if !(100..=599).contains(&low) || !(100..=599).contains(&high) || low > high {
                    problems.push(FieldProblem::new(
                        format!("{field}.healthCheck.matcher"),
                        "health-check",
                        format!("`{low}-{high}` is not a range of HTTP status codes: give `200` or `200-399`"),
                    ));
                }
            }
        }
        // Target groups services name exist without being declared.
        let mut referenced = HashSet::new();
        for row in store.live_ecs_services(None).await? {
            if let Ok(record) = ServiceRecord::parse(&row) {
                for balancer in record.service.load_balancers {
                    referenced.extend(balancer.target_group_arn);
                }
            }
        }
        let known = |name: &str| declared.contains(name) || referenced.contains(name);
        let accepted = {
            let mut names: Vec<&str> = declared
                .iter()
                .copied()
                .chain(referenced.iter().map(String::as_str))
                .collect();
            names.sort_unstable();
            names.dedup();
            if names.is_empty() {
                "none is declared: add it under `targetGroups`".to_owned()
            } else {
                format!("known: {}", names.join(", "))
            }
        };
        let mut priorities = HashMap::new();
        for (index, rule) in config.rules.iter().enumerate() {
            let field = format!("rules[{index}]");
            if let Some(first) = priorities.insert(rule.priority, index) {
                problems.push(FieldProblem::new(
                    format!("{field}.priority"),
                    "unique-priority",
                    format!(
                        "priority {} is also the priority of rules[{first}]: each rule needs its own",
                        rule.priority
                    ),
                ));
            }
            if rule.host_headers.is_empty() && rule.path_patterns.is_empty() {
                problems.push(FieldProblem::new(
                    field.clone(),
                    "rule-condition",
                    "a rule needs hostHeaders or pathPatterns; to forward everything, use defaultTargetGroup",
                ));
            }
            if !known(&rule.target_group) {
                problems.push(FieldProblem::new(
                    format!("{field}.targetGroup"),
                    "known-target-group",
                    format!(
                        "target group `{}` is neither declared nor named by a service ({accepted})",
                        rule.target_group
                    ),
                ));
            }
        }
        if let Some(group) = &config.default_target_group
            && !known(group)
        {
            problems.push(FieldProblem::new(
                "defaultTargetGroup",
                "known-target-group",
                format!(
                    "target group `{group}` is neither declared nor named by a service ({accepted})"
                ),
            ));
        }
        Ok(problems)
    }

    /// Stores `cluster`'s load balancer after checking it; the scheduler applies it at once.
    pub async fn put_load_balancer(
        &self,
        cluster: &str,
        config: &LoadBalancerConfig,
        mutation: &Mutation<'_>,
    ) -> Result<(), LocalError> {
        let problems = self.check_load_balancer(cluster, config).await?;
        if !problems.is_empty() {
            return Err(LocalError::Invalid {
                message: format!("the load balancer of cluster `{cluster}` was not changed"),
                problems,
            });
        }
        let body = serde_json::to_string(config)
            .map_err(|error| LocalError::Internal(error.to_string()))?;
        let mut tx = mutation.begin(self.engine().store()).await?;
        tx.put_engine_load_balancer(cluster, &body, paved_store::now_millis())
            .await?;
        mutation.commit(tx).await?;
        self.engine().wake();
        Ok(())
    }

    pub async fn load_balancer(&self, cluster: &str) -> Result<LoadBalancerStatus, LocalError> {
        self.load_balancers()
            .await?
            .into_iter()
            .find(|status| status.cluster == cluster)
            .ok_or_else(|| no_load_balancer(cluster))
    }

    /// Every cluster's load balancer with its address and targets, by cluster.
    pub async fn load_balancers(&self) -> Result<Vec<LoadBalancerStatus>, LocalError> {
        let mut statuses = Vec::new();
        for (cluster, body) in self.engine().store().engine_load_balancers().await? {
            let config: LoadBalancerConfig = serde_json::from_str(&body).map_err(|error| {
                LocalError::Internal(format!(
                    "the stored load balancer of cluster `{cluster}` does not parse: {error}"
                ))
            })?;
            let mut names: Vec<String> = config
                .target_groups
                .iter()
                .map(|group| group.name.clone())
                .collect();
            for name in config
                .rules
                .iter()
                .map(|rule| &rule.target_group)
                .chain(&config.default_target_group)
            {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            let balancer = self.balancer();
            statuses.push(LoadBalancerStatus {
                address: balancer.listener_addr(&cluster),
                target_groups: names
                    .into_iter()
                    .map(|name| TargetGroupStatus {
                        targets: balancer.targets(&name),
                        name,
                    })
                    .collect(),
                cluster,
                config,
            });
        }
        Ok(statuses)
    }

    pub async fn delete_load_balancer(
        &self,
        cluster: &str,
        mutation: &Mutation<'_>,
    ) -> Result<(), LocalError> {
        let mut tx = mutation.begin(self.engine().store()).await?;
        if tx.delete_engine_load_balancer(cluster).await? {
            mutation.commit(tx).await?;
            self.engine().wake();
            Ok(())
        } else {
            Err(no_load_balancer(cluster))
        }
    }

    /// Services not yet `INACTIVE`, of `cluster` or of every cluster, by cluster and name.
    pub async fn service_overviews(
        &self,
        cluster: Option<&str>,
    ) -> Result<Vec<ServiceOverview>, LocalError> {
        if let Some(cluster) = cluster {
            self.existing_cluster(cluster).await?;
        }
        let rows = self.engine().store().live_ecs_services(cluster).await?;
        rows.into_iter()
            .map(|row| {
                Ok(ServiceOverview {
                    cluster: row.cluster.clone(),
                    record: ServiceRecord::parse(&row)?,
                    row,
                })
            })
            .collect()
    }

    /// One service with its latest events and its tasks.
    pub async fn service_detail(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<ServiceDetail, LocalError> {
        let overview = self.service_overview(cluster, service).await?;
        let store = self.engine().store();
        let events = store
            .ecs_service_events(cluster, service, DETAIL_EVENTS)
            .await?;
        let tasks = store
            .ecs_tasks(EcsTaskFilter {
                cluster: Some(cluster),
                service: Some(service),
                ..EcsTaskFilter::default()
            })
            .await?
            .iter()
            .map(|row| {
                TaskRecord::parse(row).map(|mut record| {
                    record.task = record.api_task(row);
                    record
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ServiceDetail {
            overview,
            events,
            tasks,
        })
    }

    /// The newest `query.limit` lines of the service's tasks (running ones, and stopped ones
    /// the engine still keeps), oldest first.
    pub async fn service_logs(
        &self,
        cluster: &str,
        service: &str,
        query: &LogQuery,
    ) -> Result<Vec<LogLine>, LocalError> {
        if query.limit == 0 || query.limit > MAX_LOG_LINES {
            return Err(LocalError::invalid(
                "limit",
                "range",
                format!("limit must be 1 to {MAX_LOG_LINES}; it is {}", query.limit),
            ));
        }
        let tasks = self
            .log_tasks(cluster, service, query.task.as_deref())
            .await?;
        let logs = self.runtime().logs().clone();
        let limit = query.limit;
        tokio::task::spawn_blocking(move || {
            let mut lines: Vec<LogLine> = tasks
                .iter()
                .flat_map(|task| logs.read(task, None, limit))
                .collect();
            // Stable: lines of one container with one timestamp keep their order.
            lines.sort_by_key(|line| line.timestamp);
            let skip = lines.len().saturating_sub(limit);
            lines.split_off(skip)
        })
        .await
        .map_err(|error| LocalError::Internal(format!("reading logs panicked: {error}")))
    }

    /// The newest `query.limit` lines, as [`Self::service_logs`], and a follower for the
    /// lines written after them.
    pub async fn follow_service_logs(
        &self,
        cluster: &str,
        service: &str,
        query: &LogQuery,
    ) -> Result<(Vec<LogLine>, LogFollower), LocalError> {
        // Subscribed before reading, so no line falls between the two.
        let receiver = self.runtime().logs().subscribe();
        let task = match query.task.as_deref() {
            Some(task) => self.log_tasks(cluster, service, Some(task)).await?.pop(),
            None => None,
        };
        let history = self.service_logs(cluster, service, query).await?;
        let mut sent_until = HashMap::new();
        for line in &history {
            sent_until.insert(
                (line.task_id.clone(), line.container.clone()),
                line.timestamp.as_millisecond(),
            );
        }
        let follower = LogFollower {
            engine: self.clone(),
            cluster: cluster.to_owned(),
            service: service.to_owned(),
            task,
            receiver,
            belongs: HashMap::new(),
            sent_until,
        };
        Ok((history, follower))
    }

    async fn service_overview(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<ServiceOverview, LocalError> {
        self.existing_cluster(cluster).await?;
        let row = self
            .engine()
            .store()
            .ecs_service(cluster, service)
            .await?
            .ok_or_else(|| LocalError::NotFound {
                missing: Missing::EngineService,
                message: format!(
                    "cluster `{cluster}` has no service `{service}`: see them with `paved engine services`"
                ),
            })?;
        Ok(ServiceOverview {
            cluster: row.cluster.clone(),
            record: ServiceRecord::parse(&row)?,
            row,
        })
    }

    /// The ids of the service's tasks in the store, or of the one task `task` names (its id
    /// or a prefix naming one task).
    async fn log_tasks(
        &self,
        cluster: &str,
        service: &str,
        task: Option<&str>,
    ) -> Result<Vec<String>, LocalError> {
        self.service_overview(cluster, service).await?;
        let ids: Vec<String> = self
            .engine()
            .store()
            .ecs_tasks(EcsTaskFilter {
                cluster: Some(cluster),
                service: Some(service),
                ..EcsTaskFilter::default()
            })
            .await?
            .into_iter()
            .map(|row| row.id)
            .collect();
        let Some(task) = task else {
            return Ok(ids);
        };
        // A task ARN names the task by its last segment.
        let task = task.rsplit('/').next().unwrap_or(task);
        let matching: Vec<String> = ids
            .into_iter()
            .filter(|id| !task.is_empty() && id.starts_with(task))
            .collect();
        match matching.len() {
            1 => Ok(matching),
            0 => Err(LocalError::NotFound {
                missing: Missing::EngineTask,
                message: format!(
                    "`{task}` names no task of service `{service}` in cluster `{cluster}`: see its tasks with `paved engine service {service} --cluster {cluster}`"
                ),
            }),
            _ => Err(LocalError::invalid(
                "task",
                "unique-task",
                format!(
                    "`{task}` names {} tasks of service `{service}`: give more of the id",
                    matching.len()
                ),
            )),
        }
    }

    async fn existing_cluster(&self, cluster: &str) -> Result<(), LocalError> {
        let missing = || LocalError::NotFound {
            missing: Missing::Cluster,
            message: missing_cluster_message(cluster),
        };
        if cluster.is_empty() {
            return Err(missing());
        }
        match self.engine().cluster_or_default(Some(cluster)).await {
            Ok(_) => Ok(()),
            Err(error) if error.kind == ErrorType::ClusterNotFoundException => Err(missing()),
            Err(error) => Err(error.into()),
        }
    }
}

/// What to do about a cluster that does not exist. `default` is also created by the first
/// task or service started without naming a cluster, as ECS does.
fn missing_cluster_message(cluster: &str) -> String {
    if cluster == DEFAULT_CLUSTER {
        format!(
            "cluster `{DEFAULT_CLUSTER}` does not exist yet: create it with `aws ecs create-cluster`, \
             or start a task or a service without naming a cluster"
        )
    } else {
        format!(
            "cluster `{cluster}` does not exist: create it with `aws ecs create-cluster --cluster-name {cluster}`"
        )
    }
}

fn secret_name_problem(name: &str) -> FieldProblem {
    FieldProblem::new(
        "name",
        "secret-name",
        format!("`{name}` is not a secret name: use 1 to 512 letters, digits and `/_+=.@-`"),
    )
}

fn no_load_balancer(cluster: &str) -> LocalError {
    LocalError::NotFound {
        missing: Missing::LoadBalancer,
        message: format!(
            "cluster `{cluster}` has no load balancer: add one with `paved lb apply {cluster} -f lb.yaml`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_follow_secrets_manager() {
        for (name, valid) in [
            ("db-password", true),
            ("app/prod/key_1+=.@-", true),
            ("", false),
            ("has space", false),
            ("semi;colon", false),
            ("é", false),
        ] {
            assert_eq!(valid_secret_name(name), valid, "{name}");
        }
        assert!(valid_secret_name(&"a".repeat(512)));
        assert!(!valid_secret_name(&"a".repeat(513)));
    }

    #[test]
    fn references_refuse_options_and_ranges() {
        for (reference, valid) in [
            ("main", true),
            ("v1.2.0", true),
            ("feature/x", true),
            ("0123abcd", true),
            ("", false),
            ("--upload-pack=x", false),
            ("main..dev", false),
            ("has space", false),
        ] {
            assert_eq!(valid_reference(reference), valid, "{reference}");
        }
    }
}

//! The local engine's scheduler: the loop that makes this machine's processes match the
//! engine's desired state, as ECS's service scheduler and container agent do together.
//!
//! One replica at a time runs it (the `engine:local` lease). Each pass is level-triggered and
//! idempotent: it reads every live task and service from the store, compares them with what the
//! runtime ([`paved_runtime::Runtime`]) and the load balancer ([`paved_balancer::Balancer`])
//! report, acts, and records what changed. A pass runs when an API call in this process changed
//! desired state, when a task or target changed, and otherwise every tick (for changes made
//! through other replicas).
//!
//! After a crash, the next pass finds the tasks this replica was running with no process behind
//! them: their leftover process groups are killed, they are recorded STOPPED, and the services
//! start replacements, so an interrupted deployment carries on with no duplicate tasks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paved_balancer::{
    Balancer, BalancerConfig, HttpHealthCheck, ListenerConfig, Rule, TargetGroupConfig,
    TargetHealth,
};
use paved_model::access::{Action, AuditRecord, Resource, ResourceKind, SystemLoop};
use paved_model::ids::ReplicaId;
use paved_runtime::{
    Condition, ContainerSpec, ContainerStatus, Dependency, Health, HealthCheckSpec, ProcessRecord,
    Runtime, StopCode as RuntimeStopCode, TaskSpec, TaskState, TaskStatus,
};
use paved_store::{
    EcsServiceEventRow, EcsServiceRow, EcsTaskFilter, EcsTaskProgress, EcsTaskRow, Lease, Mutation,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::control::{ControlPlane, definition_from, seconds, store_failed};
use crate::services::{
    ServiceRecord, StopRequest, TaskOrigin, TaskRecord, completed_reason, new_task_row,
    stop_request,
};
use paved_engine::ecs::{
    ContainerDefinition, DeploymentStatus, EcsError, NetworkBinding, RolloutState, ServiceStatus,
    StopCode, TaskDefinition, TaskStatus as EcsTaskStatus,
};
use paved_engine::rollout::{self, Bounds, Phase, StopWhy, TaskView};

/// The lease that makes one replica the local engine's runner.
const LEASE: &str = "engine:local";
/// Why the scheduler stops a task that fails its container health checks.
const UNHEALTHY_REASON: &str = "Task failed container health checks";
/// Stop code for tasks whose processes were lost with a replica.
const LOST_CODE: StopCode = StopCode::TerminationNotice;
/// How long ECS keeps a stopped task visible.
const STOPPED_RETENTION_MS: i64 = 60 * 60 * 1000;
/// Deregistration delay of a target group the load balancer configuration does not declare.
const DEFAULT_DEREGISTRATION_DELAY: Duration = Duration::from_secs(30);

/// How the local engine runs.
#[derive(Debug, Clone)]
pub struct LocalEngineConfig {
    /// `<data>/engine`: images, and each task's working copy and logs.
    pub root: std::path::PathBuf,
    /// This replica's identity (stable across restarts: it finds its own tasks again).
    pub replica: ReplicaId,
    /// How often a pass runs when nothing wakes it.
    pub tick: Duration,
    /// How long the runner's lease lasts without renewal.
    pub lease_ttl: Duration,
}

impl LocalEngineConfig {
    pub fn new(root: impl Into<std::path::PathBuf>, replica: ReplicaId) -> LocalEngineConfig {
        LocalEngineConfig {
            root: root.into(),
            replica,
            tick: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(15),
        }
    }
}

/// A cluster's local load balancer, as stored (`engine_load_balancers`) and as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerConfig {
    /// The listener's port on 127.0.0.1 (0: any free port).
    pub port: u16,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub default_target_group: Option<String>,
    #[serde(default)]
    pub target_groups: Vec<TargetGroupConfig>,
}

/// The local engine: scheduler, runtime and load balancer of one replica; cheap to clone.
#[derive(Clone)]
pub struct LocalEngine {
    engine: ControlPlane,
    runtime: Runtime,
    balancer: Balancer,
    config: LocalEngineConfig,
    memory: Arc<Mutex<Memory>>,
    changes: Arc<watch::Sender<u64>>,
}

impl std::fmt::Debug for LocalEngine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LocalEngine")
            .field("replica", &self.config.replica)
            .finish_non_exhaustive()
    }
}

/// What the scheduler remembers between passes (rebuilt from the store after a restart).
#[derive(Default)]
struct Memory {
    /// The engine's lease, while this replica holds it (and so has cleaned up after a crash).
    lease: Option<Lease>,
    /// Each running task's last recorded runtime state, to write only what changed.
    recorded: HashMap<String, TaskState>,
    /// `(target group, task)` pairs registered with the load balancer.
    registered: HashSet<(String, String)>,
    /// Tasks whose stop has begun (draining, then stopping).
    stopping: HashSet<String>,
    /// The load balancer configuration last applied.
    applied: Option<BalancerConfig>,
    /// Task definitions by ARN (immutable once registered, except their status).
    definitions: HashMap<String, TaskDefinition>,
    /// When stopped tasks past their retention were last deleted.
    pruned_at: i64,
}

/// A task as one pass sees it.
struct SeenTask {
    row: EcsTaskRow,
    record: TaskRecord,
    state: Option<TaskState>,
    /// It reached STOPPED during this pass.
    just_stopped: bool,
}

impl LocalEngine {
    /// The local engine over `engine`'s store, with its runtime under `config.root`. Nothing
    /// runs until [`LocalEngine::run`].
    pub fn new(
        engine: ControlPlane,
        config: LocalEngineConfig,
    ) -> Result<LocalEngine, paved_runtime::RuntimeError> {
        let runtime = Runtime::new(paved_runtime::RuntimeConfig::new(config.root.clone()))?;
        Ok(LocalEngine::with_parts(
            engine,
            runtime,
            Balancer::new(),
            config,
        ))
    }

    pub fn with_parts(
        engine: ControlPlane,
        runtime: Runtime,
        balancer: Balancer,
        config: LocalEngineConfig,
    ) -> LocalEngine {
        LocalEngine {
            engine,
            runtime,
            balancer,
            config,
            memory: Arc::new(Mutex::new(Memory::default())),
            changes: Arc::new(watch::channel(0).0),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn balancer(&self) -> &Balancer {
        &self.balancer
    }

    pub fn engine(&self) -> &ControlPlane {
        &self.engine
    }

    /// A counter bumped after every pass that changed something, for whoever waits on the
    /// engine (tests, the portal's live pages).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Runs passes until `stop` resolves; then stops this machine's tasks (their desired state
    /// stays in the store, so the next start recreates them) and gives up the lease.
    pub async fn run(&self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut runtime_changes = self.runtime.changed();
        let mut balancer_changes = self.balancer.changed();
        let mut eager = 0;
        loop {
            match self.pass().await {
                Ok(true) => {
                    self.changes.send_modify(|count| *count += 1);
                    // What a pass changed may enable the next step at once (a stop recorded,
                    // a task started); a few passes in a row, then wait for an event.
                    eager += 1;
                    if eager < 3 {
                        continue;
                    }
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "engine pass failed; retrying"),
            }
            eager = 0;
            tokio::select! {
                () = &mut stop => break,
                () = self.engine.woken() => {}
                _ = runtime_changes.changed() => {}
                _ = balancer_changes.changed() => {}
                () = tokio::time::sleep(self.config.tick) => {}
            }
        }
        self.stop_all("Paved stopped").await;
        let lease = self.memory().lease.take();
        if let Some(lease) = lease
            && let Err(error) = self.engine.store.release_lease(&lease).await
        {
            tracing::warn!(%error, "could not release the engine lease");
        }
    }

    /// Stops every task this process runs and waits until they have stopped.
    async fn stop_all(&self, reason: &str) {
        let ids = self.runtime.task_ids();
        for id in &ids {
            self.runtime.stop(
                id,
                RuntimeStopCode::ServiceSchedulerInitiated,
                reason.to_owned(),
            );
        }
        for id in ids {
            if let Some(mut watch) = self.runtime.watch(&id) {
                let _ = watch
                    .wait_for(|state| state.status == TaskStatus::Stopped)
                    .await;
            }
        }
    }

    /// One pass; true if it changed anything.
    pub async fn pass(&self) -> Result<bool, EcsError> {
        let store = &self.engine.store;
        let now = paved_store::now_millis();
        let held = self.memory().lease.clone();
        let lease = match held {
            Some(lease) if store.renew_lease(&lease, now).await.map_err(store_failed)? => {
                Some(lease)
            }
            Some(_) => {
                self.memory().lease = None;
                tracing::warn!("lost the local engine's lease: stopping local tasks");
                self.stop_all("This replica lost the local engine's lease")
                    .await;
                return Ok(false);
            }
            None => None,
        };
        let mut changed = false;
        if lease.is_none() {
            let Some(lease) = store
                .acquire_lease(LEASE, &self.config.replica, self.config.lease_ttl, now)
                .await
                .map_err(store_failed)?
            else {
                return Ok(false);
            };
            changed |= self.recover().await?;
            self.memory().lease = Some(lease);
        }
        changed |= self.apply_load_balancers().await?;
        let rows = store
            .ecs_tasks(EcsTaskFilter {
                live: true,
                ..EcsTaskFilter::default()
            })
            .await
            .map_err(store_failed)?;
        let mut seen = Vec::with_capacity(rows.len());
        for row in rows {
            let (task, task_changed) = self.sync_task(row).await?;
            changed |= task_changed;
            seen.push(task);
        }
        let mut by_service: BTreeMap<(String, String), Vec<SeenTask>> = BTreeMap::new();
        for task in seen {
            if let Some(service) = task.row.service.clone() {
                by_service
                    .entry((task.row.cluster.clone(), service))
                    .or_default()
                    .push(task);
            }
        }
        for row in store.live_ecs_services(None).await.map_err(store_failed)? {
            let tasks = by_service
                .remove(&(row.cluster.clone(), row.name.clone()))
                .unwrap_or_default();
            changed |= self.reconcile_service(row, tasks).await?;
        }
        if now - self.memory().pruned_at > 60_000 {
            self.memory().pruned_at = now;
            store
                .prune_ecs_tasks(now - STOPPED_RETENTION_MS)
                .await
                .map_err(store_failed)?;
        }
        Ok(changed)
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// After taking the lease: kills process groups a crashed run of this replica left behind.
    /// Their tasks are then found with no process and recorded as lost by [`Self::sync_task`].
    async fn recover(&self) -> Result<bool, EcsError> {
        let rows = self
            .engine
            .store
            .ecs_tasks(EcsTaskFilter {
                live: true,
                ..EcsTaskFilter::default()
            })
            .await
            .map_err(store_failed)?;
        let mut leftovers = Vec::new();
        for row in &rows {
            if self.runtime.state(&row.id).is_some() {
                continue;
            }
            let processes: Vec<ProcessRecord> =
                serde_json::from_str(&row.processes).unwrap_or_default();
            leftovers.extend(processes);
        }
        let mut killed = paved_runtime::kill_leftovers(&leftovers);
        // Containers spawned after their process record could be written are found by
        // their working directory.
        killed +=
            paved_runtime::kill_strays(&self.config.root.join("tasks"), &self.runtime.task_ids());
        if killed > 0 {
            tracing::info!(killed, "killed process groups left by a previous run");
        }
        Ok(killed > 0)
    }

    /// Makes the load balancer match the stored configuration and the target groups services
    /// name; true if it changed.
    async fn apply_load_balancers(&self) -> Result<bool, EcsError> {
        let store = &self.engine.store;
        let mut config = BalancerConfig {
            listeners: Vec::new(),
            target_groups: Vec::new(),
        };
        for (cluster, body) in store.engine_load_balancers().await.map_err(store_failed)? {
            let balancer: LoadBalancerConfig = match serde_json::from_str(&body) {
                Ok(balancer) => balancer,
                Err(error) => {
                    tracing::error!(%cluster, %error, "a stored load balancer does not parse");
                    continue;
                }
            };
            config.listeners.push(ListenerConfig {
                name: cluster,
                port: balancer.port,
                rules: balancer.rules,
                default_target_group: balancer.default_target_group,
            });
            config.target_groups.extend(balancer.target_groups);
        }
        // Target groups that rules or services name without declaring them get defaults.
        let mut named: Vec<String> = config
            .listeners
            .iter()
            .flat_map(|listener| {
                listener
                    .rules
                    .iter()
                    .map(|rule| rule.target_group.clone())
                    .chain(listener.default_target_group.clone())
            })
            .collect();
        for row in store.live_ecs_services(None).await.map_err(store_failed)? {
            let record = ServiceRecord::parse(&row)?;
            named.extend(
                record
                    .service
                    .load_balancers
                    .iter()
                    .filter_map(|balancer| balancer.target_group_arn.clone()),
            );
        }
        for name in named {
            if !config.target_groups.iter().any(|group| group.name == name) {
                config.target_groups.push(TargetGroupConfig {
                    name,
                    health_check: None::<HttpHealthCheck>,
                    deregistration_delay: DEFAULT_DEREGISTRATION_DELAY,
                });
            }
        }
        if self.memory().applied.as_ref() == Some(&config) {
            return Ok(false);
        }
        match self.balancer.apply(config.clone()).await {
            Ok(addresses) => {
                for (listener, address) in addresses {
                    tracing::info!(%listener, %address, "load balancer listening");
                }
                self.memory().applied = Some(config);
                Ok(true)
            }
            Err(error) => {
                tracing::warn!(%error, "could not apply the load balancer configuration");
                Ok(false)
            }
        }
    }

    async fn definition(&self, arn: &str) -> Result<TaskDefinition, EcsError> {
        if let Some(definition) = self.memory().definitions.get(arn) {
            return Ok(definition.clone());
        }
        let row = self.engine.find_task_definition(arn).await?;
        let definition = definition_from(&row)?;
        self.memory()
            .definitions
            .insert(arn.to_owned(), definition.clone());
        Ok(definition)
    }

    /// Brings one live task's row and this machine in line; true if it wrote anything.
    async fn sync_task(&self, row: EcsTaskRow) -> Result<(SeenTask, bool), EcsError> {
        let store = &self.engine.store;
        let mut record = TaskRecord::parse(&row)?;
        let me = self.config.replica.as_str();
        let now = paved_store::now_millis();
        let requested: Option<StopRequest> = row
            .stop_request
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok());
        let stop_now = |record: &mut TaskRecord, code: StopCode, reason: &str| {
            record.task.last_status = EcsTaskStatus::Stopped;
            record.task.desired_status = EcsTaskStatus::Stopped;
            record.task.stop_code = Some(code);
            record.task.stopped_reason = Some(reason.to_owned());
            record.task.stopping_at.get_or_insert(seconds(now));
            record.task.stopped_at = Some(seconds(now));
            for container in &mut record.task.containers {
                container.last_status = EcsTaskStatus::Stopped;
            }
        };
        match row.host.as_deref() {
            None if row.desired_status == EcsTaskStatus::Stopped.as_str() => {
                let request = requested.unwrap_or(StopRequest {
                    stop_code: StopCode::UserInitiated,
                    reason: "Task stopped by user".to_owned(),
                });
                stop_now(&mut record, request.stop_code, &request.reason);
                self.write_task(&row, &record, "[]", Some(now)).await?;
                return Ok((self.seen(row, record, None, true), true));
            }
            None => {
                if !store
                    .take_ecs_task(&row.id, me, now)
                    .await
                    .map_err(store_failed)?
                {
                    return Ok((self.seen(row, record, None, false), false));
                }
                self.start(&row, &mut record).await?;
                return Ok((self.seen(row, record, None, false), true));
            }
            Some(host) if host != me => {
                let reason = format!(
                    "The replica running the task ({host}) stopped; this replica now runs the local engine."
                );
                stop_now(&mut record, LOST_CODE, &reason);
                self.write_task(&row, &record, "[]", Some(now)).await?;
                return Ok((self.seen(row, record, None, true), true));
            }
            Some(_) => {}
        }
        let Some(state) = self.runtime.state(&row.id) else {
            if row.last_status == EcsTaskStatus::Provisioning.as_str()
                && row.desired_status == EcsTaskStatus::Running.as_str()
            {
                self.start(&row, &mut record).await?;
                return Ok((self.seen(row, record, None, false), true));
            }
            stop_now(
                &mut record,
                LOST_CODE,
                "Paved restarted; the task's processes were stopped.",
            );
            self.write_task(&row, &record, "[]", Some(now)).await?;
            return Ok((self.seen(row, record, None, true), true));
        };
        let mut changed = false;
        if row.desired_status == EcsTaskStatus::Stopped.as_str()
            && state.status != TaskStatus::Stopped
            && self.memory().stopping.insert(row.id.clone())
        {
            let request = requested.clone().unwrap_or(StopRequest {
                stop_code: StopCode::UserInitiated,
                reason: "Task stopped by user".to_owned(),
            });
            self.begin_stop(&row.id, request);
            changed = true;
        }
        let previous = self.memory().recorded.get(&row.id).cloned();
        let stopped = state.status == TaskStatus::Stopped;
        if previous.as_ref() != Some(&state)
            || (row.desired_status == EcsTaskStatus::Stopped.as_str()
                && record.task.stopping_at.is_none())
        {
            apply_state(
                &mut record,
                &state,
                row.desired_status == EcsTaskStatus::Stopped.as_str(),
                &requested,
            );
            let processes: Vec<ProcessRecord> = state
                .containers
                .iter()
                .filter_map(|container| container.process.clone())
                .collect();
            let processes = serde_json::to_string(&processes).expect("processes serialise");
            self.write_task(&row, &record, &processes, stopped.then_some(now))
                .await?;
            let mut memory = self.memory();
            if stopped {
                memory.recorded.remove(&row.id);
                memory.stopping.remove(&row.id);
                memory.registered.retain(|(_, task)| task != &row.id);
            } else {
                memory.recorded.insert(row.id.clone(), state.clone());
            }
            changed = true;
        }
        if stopped {
            self.runtime.forget(&row.id);
        }
        Ok((self.seen(row, record, Some(state), stopped), changed))
    }

    fn seen(
        &self,
        mut row: EcsTaskRow,
        record: TaskRecord,
        state: Option<TaskState>,
        just_stopped: bool,
    ) -> SeenTask {
        row.last_status = record.task.last_status.as_str().to_owned();
        SeenTask {
            row,
            record,
            state,
            just_stopped,
        }
    }

    async fn write_task(
        &self,
        row: &EcsTaskRow,
        record: &TaskRecord,
        processes: &str,
        stopped_at: Option<i64>,
    ) -> Result<(), EcsError> {
        self.engine
            .store
            .record_ecs_task(
                &row.id,
                &EcsTaskProgress {
                    last_status: record.task.last_status.as_str(),
                    body: &record.to_json(),
                    processes,
                    stopped_at,
                },
                paved_store::now_millis(),
            )
            .await
            .map_err(store_failed)?;
        Ok(())
    }

    /// Hands a task to the runtime (secrets resolved); a task that cannot start is recorded
    /// STOPPED with ECS's reason.
    async fn start(&self, row: &EcsTaskRow, record: &mut TaskRecord) -> Result<(), EcsError> {
        let definition = self.definition(&record.task.task_definition_arn).await?;
        match self.task_spec(&row.id, &definition, record).await {
            Ok(spec) => {
                self.runtime.start(spec);
                record.task.last_status = EcsTaskStatus::Pending;
                for container in &mut record.task.containers {
                    container.last_status = EcsTaskStatus::Pending;
                }
                self.write_task(row, record, "[]", None).await
            }
            Err(reason) => {
                let now = paved_store::now_millis();
                record.task.last_status = EcsTaskStatus::Stopped;
                record.task.desired_status = EcsTaskStatus::Stopped;
                record.task.stop_code = Some(StopCode::TaskFailedToStart);
                record.task.stopped_reason = Some(reason);
                record.task.stopped_at = Some(seconds(now));
                for container in &mut record.task.containers {
                    container.last_status = EcsTaskStatus::Stopped;
                }
                self.engine
                    .store
                    .request_ecs_task_stop(
                        &row.id,
                        &stop_request(StopCode::TaskFailedToStart, "Task failed to start"),
                        now,
                    )
                    .await
                    .map_err(store_failed)?;
                self.write_task(row, record, "[]", Some(now)).await
            }
        }
    }

    /// The runtime's view of a task: the definition's containers with RunTask's overrides and
    /// secrets from the local secret store. Errors are ECS's stop reasons.
    async fn task_spec(
        &self,
        task_id: &str,
        definition: &TaskDefinition,
        record: &TaskRecord,
    ) -> Result<TaskSpec, String> {
        let mut containers = Vec::new();
        for container in &definition.container_definitions {
            let name = container.name.clone().unwrap_or_default();
            let override_ = record.overrides.iter().find(|item| item.name == name);
            let mut environment: Vec<(String, String)> = container
                .environment
                .iter()
                .flatten()
                .map(|pair| (pair.name.clone(), pair.value.clone()))
                .collect();
            if let Some(extra) = override_.and_then(|item| item.environment.as_ref()) {
                for pair in extra {
                    environment.retain(|(key, _)| key != &pair.name);
                    environment.push((pair.name.clone(), pair.value.clone()));
                }
            }
            for secret in container.secrets.iter().flatten() {
                let key = secret_name(&secret.value_from);
                let value = self
                    .engine
                    .store
                    .engine_secret(key)
                    .await
                    .map_err(|error| format!("ResourceInitializationError: {error}"))?
                    .ok_or_else(|| {
                        format!(
                            "ResourceInitializationError: unable to pull secrets: secret `{key}` (from `{}`) does not exist in Paved's secret store: add it with `paved secret set {key}`",
                            secret.value_from
                        )
                    })?;
                environment.push((secret.name.clone(), value));
            }
            containers.push(container_spec(
                name,
                container,
                environment,
                override_.and_then(|item| item.command.clone()),
            ));
        }
        Ok(TaskSpec {
            task_id: task_id.to_owned(),
            cpu_units: definition.cpu.as_deref().and_then(|cpu| cpu.parse().ok()),
            memory_mib: definition
                .memory
                .as_deref()
                .and_then(|memory| memory.parse().ok()),
            containers,
        })
    }

    /// Drains the task's targets, then stops its processes (in the background: draining can
    /// take the target group's deregistration delay).
    fn begin_stop(&self, task_id: &str, request: StopRequest) {
        let groups: Vec<String> = self
            .memory()
            .registered
            .iter()
            .filter(|(_, task)| task == task_id)
            .map(|(group, _)| group.clone())
            .collect();
        let balancer = self.balancer.clone();
        let runtime = self.runtime.clone();
        let task_id = task_id.to_owned();
        let code = match request.stop_code {
            StopCode::ServiceSchedulerInitiated => RuntimeStopCode::ServiceSchedulerInitiated,
            StopCode::TaskFailedToStart => RuntimeStopCode::TaskFailedToStart,
            StopCode::EssentialContainerExited => RuntimeStopCode::EssentialContainerExited,
            StopCode::UserInitiated | StopCode::SpotInterruption | StopCode::TerminationNotice => {
                RuntimeStopCode::UserInitiated
            }
        };
        tokio::spawn(async move {
            let drains: Vec<_> = groups
                .iter()
                .map(|group| balancer.deregister(group, &task_id))
                .collect();
            for drain in drains {
                drain.await;
            }
            runtime.stop(&task_id, code, request.reason);
        });
    }

    /// One service: its tasks' phases, the rollout plan, the circuit breaker, completion, and
    /// events. True if it wrote anything.
    async fn reconcile_service(
        &self,
        row: EcsServiceRow,
        tasks: Vec<SeenTask>,
    ) -> Result<bool, EcsError> {
        let store = &self.engine.store;
        let now = paved_store::now_millis();
        let mut record = ServiceRecord::parse(&row)?;
        let before = record.clone();
        let name = row.name.clone();
        // Facts (tasks started and stopped) are recorded whatever happens to this pass's write
        // of the service; decisions (a deployment completed, failed, rolled back) only with it.
        let mut events: Vec<String> = Vec::new();
        let mut decisions: Vec<String> = Vec::new();
        let mut changed = false;

        // Register healthy tasks with their target groups; work out every task's phase.
        let grace_ms = record
            .service
            .health_check_grace_period_seconds
            .unwrap_or(0)
            .saturating_mul(1000);
        let mut views = Vec::new();
        let mut unhealthy_targets: HashMap<String, String> = HashMap::new();
        for task in &tasks {
            if task.just_stopped || task.row.last_status == EcsTaskStatus::Stopped.as_str() {
                continue;
            }
            let deployment = task.record.deployment.clone().unwrap_or_default();
            let phase = if task.row.desired_status == EcsTaskStatus::Stopped.as_str()
                || task.row.last_status == EcsTaskStatus::Deprovisioning.as_str()
            {
                Phase::Stopping
            } else {
                match &task.state {
                    None => Phase::Starting,
                    Some(state) => {
                        let definition = self
                            .definition(&task.record.task.task_definition_arn)
                            .await?;
                        let checked = has_health_checks(&definition);
                        let running = state.status == TaskStatus::Running;
                        let container_ok = running
                            && if checked {
                                state.health == Health::Healthy
                            } else {
                                state.health != Health::Unhealthy
                            };
                        let mut balancer_ok = true;
                        let mut balancer_failed = None;
                        if container_ok {
                            for balancer in &record.service.load_balancers {
                                let Some(group) = &balancer.target_group_arn else {
                                    continue;
                                };
                                self.register(group, &task.row.id, state, balancer);
                                match self.balancer.target_health(group, &task.row.id) {
                                    Some(TargetHealth::Healthy) => {}
                                    Some(TargetHealth::Unhealthy) => {
                                        balancer_ok = false;
                                        balancer_failed = Some(group.clone());
                                    }
                                    _ => balancer_ok = false,
                                }
                            }
                        }
                        let started_ms = task
                            .record
                            .task
                            .started_at
                            .map(|at| (at * 1000.0) as i64)
                            .unwrap_or(now);
                        let in_grace = now < started_ms.saturating_add(grace_ms);
                        if container_ok && balancer_ok {
                            Phase::Healthy
                        } else if !in_grace
                            && (state.health == Health::Unhealthy || balancer_failed.is_some())
                        {
                            if let Some(group) = balancer_failed {
                                unhealthy_targets.insert(task.row.id.clone(), group);
                            }
                            Phase::Unhealthy
                        } else {
                            Phase::Starting
                        }
                    }
                }
            };
            if phase == Phase::Healthy && !task.record.became_healthy {
                let mut updated = task.record.clone();
                updated.became_healthy = true;
                self.write_task(&task.row, &updated, &task.row.processes, None)
                    .await?;
                changed = true;
            }
            views.push(TaskView {
                id: task.row.id.clone(),
                deployment,
                phase,
            });
        }

        // Failed launches: tasks of a deployment that stopped before they were ever healthy.
        for task in &tasks {
            if !task.just_stopped || task.record.became_healthy {
                continue;
            }
            let reason = task.record.task.stopped_reason.clone().unwrap_or_default();
            let code = task.record.task.stop_code;
            let scheduler_replaced = code == Some(StopCode::ServiceSchedulerInitiated)
                && reason != UNHEALTHY_REASON
                && !reason.starts_with("Task failed ELB health checks");
            if code == Some(LOST_CODE)
                || code == Some(StopCode::UserInitiated)
                || scheduler_replaced
            {
                continue;
            }
            if let Some(deployment) = record
                .service
                .deployments
                .iter_mut()
                .find(|deployment| Some(&deployment.id) == task.record.deployment.as_ref())
            {
                deployment.failed_tasks += 1;
                deployment.updated_at = seconds(now);
            }
        }
        for task in &tasks {
            if task.just_stopped {
                events.push(format!(
                    "(service {name}) has stopped 1 running tasks: (task {}). Reason: {}",
                    task.row.id,
                    task.record
                        .task
                        .stopped_reason
                        .as_deref()
                        .unwrap_or("unknown")
                ));
            }
        }

        // What the scheduler decided on its own that the audit log records: a rollback, or the
        // end of a deleted service. (Counts and rollout progress are not audited.)
        let mut decided: Option<(Action, serde_json::Value)> = None;

        // The circuit breaker, and the rollback it may start.
        let breaker = record.circuit_breaker();
        let desired = u32::try_from(record.service.desired_count).unwrap_or(0);
        let live_primary = record.primary().cloned();
        if let Some(primary) = &live_primary
            && breaker.enable
            && primary.rollout_state == RolloutState::InProgress
            && primary.failed_tasks >= i64::from(rollout::failure_threshold(desired))
        {
            let reason = "ECS deployment circuit breaker: tasks failed to start.".to_owned();
            if let Some(deployment) = record.primary_mut() {
                deployment.rollout_state = RolloutState::Failed;
                deployment.rollout_state_reason = reason.clone();
                deployment.updated_at = seconds(now);
            }
            decisions.push(format!(
                "(service {name}) (deployment {}) deployment failed: tasks failed to start.",
                primary.id
            ));
            if breaker.rollback
                && let Some(target) = record.last_completed.clone()
            {
                let id = record.deploy(&target, now);
                decided = Some((
                    Action::RollBackEngineService,
                    serde_json::json!({
                        "rollback": {"from": primary.task_definition, "to": target, "deployment": id},
                        "reason": reason,
                    }),
                ));
                decisions.push(format!(
                    "(service {name}) rolling back to {target} (deployment {id})."
                ));
            }
        }

        // The rollout step.
        let primary = record.primary().cloned();
        if let Some(primary) = &primary {
            let (min, max) = record.percents();
            let bounds = Bounds::new(
                desired,
                u32::try_from(min).unwrap_or(0),
                u32::try_from(max).unwrap_or(0),
            );
            let accepting = primary.rollout_state != RolloutState::Failed
                && row.status != ServiceStatus::Draining.as_str();
            let plan = rollout::plan(
                if row.status == ServiceStatus::Draining.as_str() {
                    0
                } else {
                    desired
                },
                bounds,
                &primary.id,
                accepting,
                &views,
            );
            for (id, why) in &plan.stop {
                let reason = match why {
                    StopWhy::Unhealthy => match unhealthy_targets.get(id) {
                        Some(group) => {
                            events.push(format!(
                                "(service {name}) (task {id}) failed ELB health checks in (target-group {group})."
                            ));
                            format!("Task failed ELB health checks in (target-group {group})")
                        }
                        None => {
                            events.push(format!(
                                "(service {name}) (task {id}) failed container health checks."
                            ));
                            UNHEALTHY_REASON.to_owned()
                        }
                    },
                    StopWhy::Replaced => {
                        format!("Scaling activity initiated by (deployment {})", primary.id)
                    }
                    StopWhy::ScaleIn => "Service scaled in".to_owned(),
                };
                // The scheduler's own decision, audited as `system:engine` with the change.
                let audit = AuditRecord::system(
                    SystemLoop::Engine,
                    Action::EcsStopTask,
                    Resource::new(ResourceKind::EcsTask, format!("{}/{id}", row.cluster)),
                );
                audit.set_details(serde_json::json!({"service": name, "reason": reason}));
                let stop = stop_request(StopCode::ServiceSchedulerInitiated, &reason);
                self.engine
                    .audited(&audit, async |tx| {
                        tx.request_ecs_task_stop(id, &stop, now).await
                    })
                    .await?;
                let running_here = tasks
                    .iter()
                    .any(|task| &task.row.id == id && task.state.is_some());
                if running_here && self.memory().stopping.insert(id.clone()) {
                    self.begin_stop(
                        id,
                        StopRequest {
                            stop_code: StopCode::ServiceSchedulerInitiated,
                            reason: reason.clone(),
                        },
                    );
                }
                if let Some(view) = views.iter_mut().find(|view| &view.id == id) {
                    view.phase = Phase::Stopping;
                }
                changed = true;
            }
            if plan.start > 0 {
                let definition = self.definition(&primary.task_definition).await?;
                let mut started = Vec::new();
                for _ in 0..plan.start {
                    let mut task_row = new_task_row(
                        &row.cluster,
                        &definition,
                        TaskOrigin {
                            service: Some((name.clone(), primary.id.clone())),
                            started_by: Some(primary.id.clone()),
                            group: format!("service:{name}"),
                            ..TaskOrigin::default()
                        },
                        now,
                    );
                    task_row.host = Some(self.config.replica.to_string());
                    store
                        .insert_ecs_task(&task_row)
                        .await
                        .map_err(store_failed)?;
                    let mut task_record = TaskRecord::parse(&task_row)?;
                    self.start(&task_row, &mut task_record).await?;
                    views.push(TaskView {
                        id: task_row.id.clone(),
                        deployment: primary.id.clone(),
                        phase: Phase::Starting,
                    });
                    started.push(format!("(task {})", task_row.id));
                }
                events.push(format!(
                    "(service {name}) has started {} tasks: {}.",
                    started.len(),
                    started.join(" ")
                ));
                changed = true;
            }
        }

        // Counts, completion, retirement of drained deployments.
        let live_of = |deployment: &str| {
            views
                .iter()
                .filter(|view| view.deployment == deployment && view.phase != Phase::Stopping)
                .count()
        };
        let any_live_of = |deployment: &str| views.iter().any(|view| view.deployment == deployment);
        let mut running_total = 0;
        let mut pending_total = 0;
        for deployment in &mut record.service.deployments {
            let (running, pending) = tasks
                .iter()
                .filter(|task| {
                    !task.just_stopped
                        && task.row.desired_status == EcsTaskStatus::Running.as_str()
                        && task.record.deployment.as_deref() == Some(&deployment.id)
                })
                .fold((0, 0), |(running, pending), task| {
                    if task.record.task.last_status == EcsTaskStatus::Running {
                        (running + 1, pending)
                    } else {
                        (running, pending + 1)
                    }
                });
            if (deployment.running_count, deployment.pending_count) != (running, pending) {
                deployment.running_count = running;
                deployment.pending_count = pending;
            }
            running_total += running;
            pending_total += pending;
        }
        record.service.running_count = running_total;
        record.service.pending_count = pending_total;
        if let Some(primary) = record.primary().cloned() {
            let healthy = views
                .iter()
                .filter(|view| view.deployment == primary.id && view.phase == Phase::Healthy)
                .count();
            let others_live = record
                .service
                .deployments
                .iter()
                .filter(|deployment| deployment.id != primary.id)
                .any(|deployment| any_live_of(&deployment.id));
            if primary.rollout_state == RolloutState::InProgress
                && row.status != ServiceStatus::Draining.as_str()
                && healthy == desired as usize
                && live_of(&primary.id) == desired as usize
                && !others_live
            {
                if let Some(deployment) = record.primary_mut() {
                    deployment.rollout_state = RolloutState::Completed;
                    deployment.rollout_state_reason = completed_reason(&primary.id);
                    deployment.updated_at = seconds(now);
                }
                record.last_completed = Some(primary.task_definition.clone());
                decisions.push(format!(
                    "(service {name}) (deployment {}) deployment completed.",
                    primary.id
                ));
                decisions.push(format!("(service {name}) has reached a steady state."));
            }
        }
        let (drained, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut record.service.deployments)
            .into_iter()
            .partition(|deployment| {
                deployment.status != DeploymentStatus::Primary && !any_live_of(&deployment.id)
            });
        record.service.deployments = kept;
        for mut deployment in drained {
            deployment.status = DeploymentStatus::Inactive;
            record.retire(deployment);
        }
        let mut status = row.status.clone();
        if row.status == ServiceStatus::Draining.as_str() && views.is_empty() {
            status = ServiceStatus::Inactive.as_str().to_owned();
            record.service.status = ServiceStatus::Inactive;
            decided = Some((
                Action::EcsUpdateService,
                serde_json::json!({"status": {"from": row.status, "to": status}}),
            ));
        }

        let mut written = true;
        if record != before || status != row.status {
            let audit = decided.map(|(action, details)| {
                let audit = AuditRecord::system(
                    SystemLoop::Engine,
                    action,
                    Resource::new(ResourceKind::EcsService, format!("{}/{name}", row.cluster)),
                );
                audit.set_details(details);
                audit
            });
            let mut tx = store.begin().await.map_err(store_failed)?;
            written = tx
                .update_ecs_service(
                    &row.cluster,
                    &name,
                    row.version,
                    &status,
                    &record.to_json(),
                    now,
                )
                .await
                .map_err(store_failed)?;
            if written {
                match &audit {
                    Some(audit) => Mutation::new(audit).commit(tx).await,
                    None => tx.commit().await,
                }
                .map_err(store_failed)?;
            } else {
                // An API call changed the service meanwhile; the next pass starts from it.
                self.engine.wake();
            }
            changed = true;
        }
        if written {
            events.append(&mut decisions);
        }
        for message in &events {
            tracing::info!(cluster = %row.cluster, "{message}");
            store
                .insert_ecs_service_event(
                    &row.cluster,
                    &name,
                    &EcsServiceEventRow {
                        event_id: uuid::Uuid::new_v4().to_string(),
                        created_at: now,
                        message: message.clone(),
                    },
                )
                .await
                .map_err(store_failed)?;
        }
        Ok(changed || !events.is_empty())
    }

    /// Registers a running task's container port with a target group (once).
    fn register(
        &self,
        group: &str,
        task_id: &str,
        state: &TaskState,
        balancer: &paved_engine::ecs::LoadBalancer,
    ) {
        let key = (group.to_owned(), task_id.to_owned());
        if self.memory().registered.contains(&key) {
            return;
        }
        let port = state
            .containers
            .iter()
            .filter(|container| Some(&container.name) == balancer.container_name.as_ref())
            .flat_map(|container| container.ports.iter())
            .find(|binding| Some(i64::from(binding.container_port)) == balancer.container_port);
        if let Some(binding) = port {
            let address = std::net::SocketAddr::from(([127, 0, 0, 1], binding.host_port));
            self.balancer.register(group, task_id, address);
            self.memory().registered.insert(key);
        }
    }
}

/// The runtime's state written into the ECS task.
fn apply_state(
    record: &mut TaskRecord,
    state: &TaskState,
    stop_requested: bool,
    requested: &Option<StopRequest>,
) {
    let task = &mut record.task;
    task.last_status = match state.status {
        TaskStatus::Pending => EcsTaskStatus::Pending,
        TaskStatus::Running if stop_requested => EcsTaskStatus::Deprovisioning,
        TaskStatus::Running => EcsTaskStatus::Running,
        TaskStatus::Stopping => EcsTaskStatus::Deprovisioning,
        TaskStatus::Stopped => EcsTaskStatus::Stopped,
    };
    task.health_status = state.health.as_str().to_owned();
    task.started_at = state.started_at.map(timestamp);
    if stop_requested || state.stopping_at.is_some() {
        task.stopping_at = state
            .stopping_at
            .map(timestamp)
            .or(task.stopping_at)
            .or_else(|| Some(seconds(paved_store::now_millis())));
    }
    task.stopped_at = state.stopped_at.map(timestamp);
    if let Some(stop) = &state.stop {
        task.stop_code = StopCode::parse(stop.code.as_str());
        task.stopped_reason = Some(stop.reason.clone());
    } else if let Some(request) = requested {
        task.stop_code = Some(request.stop_code);
        task.stopped_reason = Some(request.reason.clone());
    }
    if state.status == TaskStatus::Stopped {
        task.desired_status = EcsTaskStatus::Stopped;
    }
    for container in &mut task.containers {
        let Some(seen) = state
            .containers
            .iter()
            .find(|seen| seen.name == container.name)
        else {
            continue;
        };
        container.last_status = match seen.status {
            ContainerStatus::Pending => EcsTaskStatus::Pending,
            ContainerStatus::Running => EcsTaskStatus::Running,
            ContainerStatus::Stopped => EcsTaskStatus::Stopped,
        };
        container.exit_code = seen.exit_code.map(i64::from);
        container.reason = seen.reason.clone();
        container.health_status = seen.health.as_str().to_owned();
        container.runtime_id = seen.process.as_ref().map(|process| process.pid.to_string());
        container.network_bindings = seen
            .ports
            .iter()
            .map(|binding| NetworkBinding {
                bind_ip: "127.0.0.1".to_owned(),
                container_port: i64::from(binding.container_port),
                host_port: i64::from(binding.host_port),
                protocol: "tcp".to_owned(),
            })
            .collect();
    }
}

fn timestamp(at: jiff::Timestamp) -> f64 {
    at.as_millisecond() as f64 / 1000.0
}

/// Whether an essential container of the definition has a health check.
fn has_health_checks(definition: &TaskDefinition) -> bool {
    definition
        .container_definitions
        .iter()
        .any(|container| container.essential != Some(false) && container.health_check.is_some())
}

/// The local secret a `valueFrom` names: a Secrets Manager ARN (`…:secret:NAME`), an SSM
/// parameter ARN (`…:parameter/NAME`) or the name itself.
pub fn secret_name(value_from: &str) -> &str {
    if let Some((_, name)) = value_from.split_once(":secret:") {
        // Secrets Manager ARNs may name a JSON key after the secret: `NAME:KEY::`.
        return name.split(':').next().unwrap_or(name);
    }
    if let Some((_, name)) = value_from.split_once(":parameter/") {
        return name;
    }
    value_from
}

/// One container of the runtime's task spec, with ECS's defaults.
fn container_spec(
    name: String,
    container: &ContainerDefinition,
    environment: Vec<(String, String)>,
    command: Option<Vec<String>>,
) -> ContainerSpec {
    let health_check = container
        .health_check
        .as_ref()
        .map(|check| HealthCheckSpec {
            command: check.command.clone(),
            interval: Duration::from_secs(
                u64::try_from(check.interval.unwrap_or(30)).unwrap_or(30),
            ),
            timeout: Duration::from_secs(u64::try_from(check.timeout.unwrap_or(5)).unwrap_or(5)),
            start_period: Duration::from_secs(
                u64::try_from(check.start_period.unwrap_or(0)).unwrap_or(0),
            ),
            retries: u32::try_from(check.retries.unwrap_or(3)).unwrap_or(3),
        });
    ContainerSpec {
        name,
        image: container.image.clone().unwrap_or_default(),
        entry_point: container.entry_point.clone(),
        command: command.or_else(|| container.command.clone()),
        working_directory: container
            .extra
            .get("workingDirectory")
            .and_then(|value| value.as_str())
            .map(str::to_owned),
        environment,
        port_mappings: container
            .port_mappings
            .iter()
            .flatten()
            .filter_map(|mapping| mapping.container_port)
            .filter_map(|port| u16::try_from(port).ok())
            .collect(),
        essential: container.essential.unwrap_or(true),
        depends_on: container
            .depends_on
            .iter()
            .flatten()
            .map(|dependency| Dependency {
                container: dependency.container_name.clone(),
                condition: match dependency.condition.as_str() {
                    "COMPLETE" => Condition::Complete,
                    "SUCCESS" => Condition::Success,
                    "HEALTHY" => Condition::Healthy,
                    _ => Condition::Start,
                },
            })
            .collect(),
        health_check,
        stop_timeout: Duration::from_secs(
            u64::try_from(container.stop_timeout.unwrap_or(30)).unwrap_or(30),
        ),
        cpu_units: container.cpu.and_then(|cpu| u32::try_from(cpu).ok()),
        memory_mib: container
            .memory
            .and_then(|memory| u64::try_from(memory).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        assert_eq!(
            secret_name("arn:aws:secretsmanager:us-east-1:1:secret:db-password"),
            "db-password"
        );
        assert_eq!(
            secret_name("arn:aws:secretsmanager:us-east-1:1:secret:db:password::"),
            "db"
        );
        assert_eq!(
            secret_name("arn:aws:ssm:us-east-1:1:parameter/app/key"),
            "app/key"
        );
        assert_eq!(secret_name("plain"), "plain");
    }
}

//! The runtime: starts tasks, supervises their containers' processes, stops them.

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustix::process::Signal;
use tokio::sync::{mpsc, watch};

use crate::cgroup::{self, Cgroups};
use crate::health::{self, CheckContext};
use crate::image::{Image, ImageStore};
use crate::logs::{self, LogStore, Stream};
use crate::process::{process_record, signal_group};
use crate::spec::{Condition, ContainerSpec, TaskSpec};
use crate::state::{
    ContainerState, ContainerStatus, Health, PortBinding, Stop, StopCode, TaskState, TaskStatus,
};

/// How long a container's output may stay open after its process group is gone (a
/// process that left the group can hold the pipes).
const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the runtime keeps its files, and how much log it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// `<data>/engine`: images under `images/`, per-task directories under `tasks/<task_id>/`.
    pub root: PathBuf,
    /// Per log file before rotation.
    pub log_max_bytes: u64,
    /// How many rotated files to keep (`.log.1 … .log.N`).
    pub log_max_files: usize,
}

impl RuntimeConfig {
    /// `root` with 1 MiB log files and 3 rotated files.
    pub fn new(root: impl Into<PathBuf>) -> RuntimeConfig {
        RuntimeConfig {
            root: root.into(),
            log_max_bytes: 1024 * 1024,
            log_max_files: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot create the runtime directory `{}`: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Runs ECS tasks as supervised local process groups. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    tasks_dir: PathBuf,
    images: ImageStore,
    logs: LogStore,
    tasks: Mutex<HashMap<String, TaskEntry>>,
    changed: watch::Sender<u64>,
    cgroups: Cgroups,
    limits_reported: AtomicBool,
    ports_in_use: Mutex<HashSet<u16>>,
}

struct TaskEntry {
    state: watch::Sender<TaskState>,
    stop: watch::Sender<Option<Stop>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    fn bump(&self) {
        self.changed.send_modify(|counter| *counter += 1);
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let images_dir = config.root.join("images");
        let tasks_dir = config.root.join("tasks");
        for path in [&images_dir, &tasks_dir] {
            std::fs::create_dir_all(path).map_err(|source| RuntimeError::CreateDir {
                path: path.clone(),
                source,
            })?;
        }
        Ok(Runtime {
            inner: Arc::new(Inner {
                images: ImageStore::new(images_dir),
                logs: LogStore::new(
                    tasks_dir.clone(),
                    config.log_max_bytes,
                    config.log_max_files,
                ),
                tasks_dir,
                tasks: Mutex::new(HashMap::new()),
                changed: watch::channel(0).0,
                cgroups: Cgroups::detect(),
                limits_reported: AtomicBool::new(false),
                ports_in_use: Mutex::new(HashSet::new()),
            }),
        })
    }

    pub fn images(&self) -> &ImageStore {
        &self.inner.images
    }

    pub fn logs(&self) -> &LogStore {
        &self.inner.logs
    }

    /// Starts a task and returns at once; a Tokio task (so this must be called within a
    /// Tokio runtime) supervises it. Failures (an image that cannot be resolved, a
    /// program that cannot be started…) stop the task with a stop code and reason.
    /// A task id that is already known is ignored (and logged).
    pub fn start(&self, spec: TaskSpec) {
        let initial = TaskState {
            status: TaskStatus::Pending,
            health: Health::Unknown,
            containers: spec
                .containers
                .iter()
                .map(|container| ContainerState {
                    name: container.name.clone(),
                    status: ContainerStatus::Pending,
                    process: None,
                    exit_code: None,
                    reason: None,
                    health: Health::Unknown,
                    ports: Vec::new(),
                })
                .collect(),
            stop: None,
            started_at: None,
            stopping_at: None,
            stopped_at: None,
        };
        let (state, stop_receiver) = {
            let mut tasks = lock(&self.inner.tasks);
            if tasks.contains_key(&spec.task_id) {
                tracing::warn!(task = %spec.task_id, "a task with this id is already known; not started again");
                return;
            }
            let state = watch::channel(initial).0;
            let (stop, stop_receiver) = watch::channel(None);
            tasks.insert(
                spec.task_id.clone(),
                TaskEntry {
                    state: state.clone(),
                    stop,
                },
            );
            (state, stop_receiver)
        };
        self.inner.bump();
        let (events, event_receiver) = mpsc::unbounded_channel();
        let supervisor = Supervisor {
            inner: self.inner.clone(),
            slots: spec.containers.iter().map(|_| Slot::default()).collect(),
            spec,
            state,
            stop_receiver,
            events,
            event_receiver,
            started: Vec::new(),
            stop: None,
            cgroup: None,
            ports: Vec::new(),
        };
        tokio::spawn(supervisor.run());
    }

    /// Stops a task: SIGTERM to each running container's process group (dependents
    /// before their dependencies), SIGKILL after that container's stop timeout.
    /// Idempotent; the first stop (this one, or an essential container's exit) gives the
    /// stop code and reason.
    pub fn stop(&self, task_id: &str, code: StopCode, reason: String) {
        let tasks = lock(&self.inner.tasks);
        if let Some(entry) = tasks.get(task_id) {
            entry.stop.send_if_modified(|stop| {
                if stop.is_some() {
                    return false;
                }
                *stop = Some(Stop { code, reason });
                true
            });
        }
    }

    pub fn state(&self, task_id: &str) -> Option<TaskState> {
        let tasks = lock(&self.inner.tasks);
        tasks.get(task_id).map(|entry| entry.state.borrow().clone())
    }

    pub fn watch(&self, task_id: &str) -> Option<watch::Receiver<TaskState>> {
        let tasks = lock(&self.inner.tasks);
        tasks.get(task_id).map(|entry| entry.state.subscribe())
    }

    /// A counter bumped on every state change of any task.
    pub fn changed(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    pub fn task_ids(&self) -> Vec<String> {
        let tasks = lock(&self.inner.tasks);
        let mut ids: Vec<String> = tasks.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Drops a stopped task from memory and deletes its working copies; its logs stay
    /// until [`LogStore::remove_logs`]. A task that is not stopped is left alone.
    pub fn forget(&self, task_id: &str) {
        {
            let mut tasks = lock(&self.inner.tasks);
            match tasks.get(task_id) {
                Some(entry) if entry.state.borrow().status == TaskStatus::Stopped => {
                    tasks.remove(task_id);
                }
                Some(_) => {
                    tracing::warn!(task = task_id, "not forgetting a task that has not stopped");
                    return;
                }
                None => return,
            }
        }
        if is_valid_id(task_id) {
            let dir = self.inner.tasks_dir.join(task_id).join("containers");
            if let Err(err) = std::fs::remove_dir_all(&dir)
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %dir.display(), %err, "cannot remove working copies");
            }
            let _ = std::fs::remove_dir(self.inner.tasks_dir.join(task_id));
        }
        self.inner.bump();
    }
}

/// Letters, digits, `-`, `_` and `.`, not `.` or `..`: safe as a path component.
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

enum Event {
    Exited {
        index: usize,
        exit_code: Option<i32>,
    },
    Health {
        index: usize,
        health: Health,
    },
}

#[derive(Default)]
struct Slot {
    image: Option<Image>,
    /// The container's working copy of the image.
    root: PathBuf,
    /// The process's working directory, inside `root`.
    working_dir: PathBuf,
    pid: Option<u32>,
    exited: bool,
    health_check: Option<tokio::task::AbortHandle>,
}

/// Supervises one task: owned by the Tokio task that runs it.
struct Supervisor {
    inner: Arc<Inner>,
    spec: TaskSpec,
    state: watch::Sender<TaskState>,
    stop_receiver: watch::Receiver<Option<Stop>>,
    events: mpsc::UnboundedSender<Event>,
    event_receiver: mpsc::UnboundedReceiver<Event>,
    slots: Vec<Slot>,
    /// Indexes of started containers, in start order.
    started: Vec<usize>,
    stop: Option<Stop>,
    cgroup: Option<PathBuf>,
    ports: Vec<u16>,
}

fn failed_to_start(reason: String) -> Stop {
    Stop {
        code: StopCode::TaskFailedToStart,
        reason,
    }
}

impl Supervisor {
    async fn run(mut self) {
        match self.prepare().await {
            Ok(()) => self.run_containers().await,
            Err(stop) => self.begin_stop(stop),
        }
        self.stop_containers().await;
        self.finish();
    }

    fn update(&self, change: impl FnOnce(&mut TaskState)) {
        self.state.send_modify(|state| {
            change(state);
            state.health = aggregate_health(&self.spec, state);
        });
        self.inner.bump();
    }

    fn container_state(&self, index: usize) -> ContainerState {
        self.state.borrow().containers[index].clone()
    }

    /// Checks the spec, resolves images and makes the working copies.
    async fn prepare(&mut self) -> Result<(), Stop> {
        validate(&self.spec).map_err(failed_to_start)?;
        for (index, container) in self.spec.containers.iter().enumerate() {
            match self.inner.images.resolve(&container.image) {
                Ok(image) => self.slots[index].image = Some(image),
                Err(err) => {
                    let reason = err.to_string();
                    self.update(|state| state.containers[index].reason = Some(reason.clone()));
                    return Err(failed_to_start(reason));
                }
            }
        }
        let task_dir = self
            .inner
            .tasks_dir
            .join(&self.spec.task_id)
            .join("containers");
        for (index, container) in self.spec.containers.iter().enumerate() {
            if self.stop_receiver.borrow().is_some() {
                return Ok(());
            }
            let slot = &mut self.slots[index];
            let Some(image) = &slot.image else { continue };
            let root = task_dir.join(&container.name);
            let working_dir = root.join(
                image.config.rootfs_relative(
                    container
                        .working_directory
                        .as_deref()
                        .or(image.config.working_dir.as_deref())
                        .unwrap_or("/"),
                ),
            );
            let copy = {
                let (rootfs, root, working_dir) =
                    (image.rootfs.clone(), root.clone(), working_dir.clone());
                move || -> std::io::Result<()> {
                    if root.exists() {
                        std::fs::remove_dir_all(&root)?;
                    }
                    copy_tree(&rootfs, &root)?;
                    std::fs::create_dir_all(&working_dir)
                }
            };
            let result = tokio::task::spawn_blocking(copy)
                .await
                .unwrap_or_else(|err| Err(std::io::Error::other(err)));
            if let Err(err) = result {
                let reason = format!(
                    "CannotCreateContainerError: cannot copy image `{}` for container `{}`: {err}",
                    container.image, container.name
                );
                self.update(|state| state.containers[index].reason = Some(reason.clone()));
                return Err(failed_to_start(reason));
            }
            slot.root = root;
            slot.working_dir = working_dir;
        }
        self.cgroup = self.create_cgroup();
        Ok(())
    }

    fn create_cgroup(&self) -> Option<PathBuf> {
        let sum = |values: Vec<Option<u64>>| -> Option<u64> {
            values
                .iter()
                .any(Option::is_some)
                .then(|| values.iter().flatten().sum())
        };
        let cpu_units = self.spec.cpu_units.map(u64::from).or_else(|| {
            sum(self
                .spec
                .containers
                .iter()
                .map(|c| c.cpu_units.map(u64::from))
                .collect())
        });
        let memory_mib = self
            .spec
            .memory_mib
            .or_else(|| sum(self.spec.containers.iter().map(|c| c.memory_mib).collect()));
        if cpu_units.is_none() && memory_mib.is_none() {
            return None;
        }
        if let Cgroups::Unavailable { why } = &self.inner.cgroups {
            if !self.inner.limits_reported.swap(true, Ordering::Relaxed) {
                tracing::info!(%why, "task cpu and memory limits are not enforced");
            }
            return None;
        }
        let cpu_units = cpu_units.map(|units| u32::try_from(units).unwrap_or(u32::MAX));
        self.inner
            .cgroups
            .create(&self.spec.task_id, cpu_units, memory_mib)
    }

    /// Starts containers as their dependencies allow and follows their events, until the
    /// task has to stop.
    async fn run_containers(&mut self) {
        loop {
            let requested = self.stop_receiver.borrow_and_update().clone();
            if let Some(stop) = requested {
                self.begin_stop(stop);
            }
            if self.stop.is_some() {
                return;
            }
            if let Err(stop) = self.start_ready_containers() {
                self.begin_stop(stop);
                return;
            }
            tokio::select! {
                event = self.event_receiver.recv() => {
                    if let Some(event) = event {
                        self.handle(event);
                    }
                }
                changed = self.stop_receiver.changed() => {
                    if changed.is_err() {
                        self.begin_stop(Stop {
                            code: StopCode::UserInitiated,
                            reason: "Task forgotten by the runtime".into(),
                        });
                    }
                }
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Exited { index, exit_code } => {
                let slot = &mut self.slots[index];
                slot.exited = true;
                if let Some(check) = slot.health_check.take() {
                    check.abort();
                }
                self.update(|state| {
                    let container = &mut state.containers[index];
                    container.status = ContainerStatus::Stopped;
                    container.exit_code = exit_code;
                });
                let container = &self.spec.containers[index];
                tracing::info!(task = %self.spec.task_id, container = %container.name, ?exit_code, "container exited");
                if container.essential && self.stop.is_none() {
                    self.begin_stop(Stop {
                        code: StopCode::EssentialContainerExited,
                        reason: "Essential container in task exited".into(),
                    });
                }
            }
            Event::Health { index, health } => {
                if !self.slots[index].exited {
                    self.update(|state| state.containers[index].health = health);
                }
            }
        }
    }

    fn begin_stop(&mut self, stop: Stop) {
        if self.stop.is_some() {
            return;
        }
        tracing::info!(task = %self.spec.task_id, code = stop.code.as_str(), reason = %stop.reason, "stopping task");
        self.stop = Some(stop.clone());
        self.update(|state| {
            state.status = TaskStatus::Stopping;
            state.stopping_at = Some(jiff::Timestamp::now());
            state.stop = Some(stop);
        });
    }

    /// Starts every pending container whose dependencies are met, until none is left to
    /// start; then marks the task running once all essential containers run.
    fn start_ready_containers(&mut self) -> Result<(), Stop> {
        loop {
            let mut started_any = false;
            for index in 0..self.spec.containers.len() {
                if self.container_state(index).status == ContainerStatus::Pending
                    && self.dependencies_met(index)?
                {
                    self.start_container(index)?;
                    started_any = true;
                }
            }
            if !started_any {
                break;
            }
        }
        let all_essential_running = {
            let state = self.state.borrow();
            state.status == TaskStatus::Pending
                && self
                    .spec
                    .containers
                    .iter()
                    .zip(&state.containers)
                    .all(|(spec, state)| {
                        !spec.essential || state.status == ContainerStatus::Running
                    })
        };
        if all_essential_running {
            self.update(|state| {
                state.status = TaskStatus::Running;
                state.started_at = Some(jiff::Timestamp::now());
            });
        }
        Ok(())
    }

    /// Whether container `index` may start; an error when it never can.
    fn dependencies_met(&self, index: usize) -> Result<bool, Stop> {
        let state = self.state.borrow();
        let container = &self.spec.containers[index];
        for dependency in &container.depends_on {
            let Some(target) = state.container(&dependency.container) else {
                continue;
            };
            let stopped = target.status == ContainerStatus::Stopped;
            let never = |why: String| {
                failed_to_start(format!(
                    "CannotStartContainerError: container `{}` depends on `{}` ({}), which {why}",
                    container.name,
                    dependency.container,
                    dependency.condition.as_str()
                ))
            };
            let met = match dependency.condition {
                Condition::Start => target.process.is_some(),
                Condition::Complete => stopped,
                Condition::Success => match (stopped, target.exit_code) {
                    (false, _) => false,
                    (true, Some(0)) => true,
                    (true, Some(code)) => return Err(never(format!("exited with code {code}"))),
                    (true, None) => return Err(never("stopped without an exit code".into())),
                },
                Condition::Healthy => match target.health {
                    Health::Healthy => true,
                    Health::Unhealthy => return Err(never("is unhealthy".into())),
                    Health::Unknown if stopped => {
                        return Err(never("exited before its health check passed".into()));
                    }
                    Health::Unknown => false,
                },
            };
            if !met {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn start_container(&mut self, index: usize) -> Result<(), Stop> {
        let container = self.spec.containers[index].clone();
        let fail = |this: &Self, reason: String| {
            this.update(|state| state.containers[index].reason = Some(reason.clone()));
            failed_to_start(reason)
        };
        let Some(image) = self.slots[index].image.clone() else {
            return Err(fail(self, "CannotStartContainerError: no image".into()));
        };
        let argv = container_argv(&container, &image);
        let Some(program) = argv.first() else {
            return Err(fail(
                self,
                format!(
                    "CannotStartContainerError: container `{}` has no command: no entryPoint or command, and its image has no ENTRYPOINT or CMD",
                    container.name
                ),
            ));
        };
        let mut ports = Vec::new();
        for &container_port in &container.port_mappings {
            match self.allocate_port() {
                Ok(host_port) => ports.push(PortBinding {
                    container_port,
                    host_port,
                }),
                Err(err) => {
                    return Err(fail(
                        self,
                        format!("CannotStartContainerError: cannot allocate a host port: {err}"),
                    ));
                }
            }
        }
        let slot = &self.slots[index];
        let environment =
            container_environment(&container, &image, &slot.root, &slot.working_dir, &ports);
        let path = environment
            .iter()
            .find(|(key, _)| key == "PATH")
            .map(|(_, value)| value.as_str());
        let resolved = match resolve_program(program, path, &slot.working_dir) {
            Ok(resolved) => resolved,
            Err(why) => {
                return Err(fail(
                    self,
                    format!(
                        "CannotStartContainerError: failed to start container `{}`: exec: `{program}`: {why}",
                        container.name
                    ),
                ));
            }
        };
        let mut command = tokio::process::Command::new(&resolved);
        command
            .arg0(program)
            .args(&argv[1..])
            .env_clear()
            .envs(environment.iter().map(|(key, value)| (key, value)))
            .current_dir(&slot.working_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                return Err(fail(
                    self,
                    format!(
                        "CannotStartContainerError: failed to start container `{}`: exec: `{program}`: {err}",
                        container.name
                    ),
                ));
            }
        };
        let Some(pid) = child.id() else {
            return Err(fail(
                self,
                "CannotStartContainerError: the process exited at once".into(),
            ));
        };
        if let Some(cgroup) = &self.cgroup {
            cgroup::add_process(cgroup, pid);
        }
        let record = process_record(pid);
        tracing::info!(task = %self.spec.task_id, container = %container.name, pid, "container started");

        let writer = Arc::new(self.inner.logs.writer(&self.spec.task_id, &container.name));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let writer = writer.clone();
            readers.push(tokio::spawn(async move {
                logs::copy_lines(stdout, Stream::Stdout, &writer).await;
            }));
        }
        if let Some(stderr) = child.stderr.take() {
            let writer = writer.clone();
            readers.push(tokio::spawn(async move {
                logs::copy_lines(stderr, Stream::Stderr, &writer).await;
            }));
        }
        let events = self.events.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            // Whatever the container left running in its group goes with it, as in Docker.
            signal_group(pid, Signal::KILL);
            let exit_code = match status {
                Ok(status) => status
                    .code()
                    .or_else(|| status.signal().map(|signal| 128 + signal)),
                Err(err) => {
                    tracing::warn!(pid, %err, "cannot wait for a container process");
                    None
                }
            };
            let aborts: Vec<_> = readers.iter().map(|reader| reader.abort_handle()).collect();
            let drained = tokio::time::timeout(LOG_DRAIN_TIMEOUT, async {
                for reader in readers {
                    let _ = reader.await;
                }
            })
            .await;
            if drained.is_err() {
                aborts.iter().for_each(tokio::task::AbortHandle::abort);
            }
            let _ = events.send(Event::Exited { index, exit_code });
        });

        if let Some(check) = &container.health_check
            && let Some(argv) = check.argv()
        {
            let events = self.events.clone();
            let context = CheckContext {
                argv,
                environment: environment.clone(),
                working_dir: slot.working_dir.clone(),
            };
            let task = tokio::spawn(health::run(check.clone(), context, move |health| {
                let _ = events.send(Event::Health { index, health });
            }));
            self.slots[index].health_check = Some(task.abort_handle());
        }
        self.slots[index].pid = Some(pid);
        self.started.push(index);
        self.update(|state| {
            let state = &mut state.containers[index];
            state.status = ContainerStatus::Running;
            state.process = record;
            state.ports = ports;
        });
        Ok(())
    }

    fn allocate_port(&mut self) -> std::io::Result<u16> {
        for _ in 0..32 {
            let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
            let port = listener.local_addr()?.port();
            if lock(&self.inner.ports_in_use).insert(port) {
                self.ports.push(port);
                return Ok(port);
            }
        }
        Err(std::io::Error::other("no free port found"))
    }

    /// Stops the running containers, dependents first: SIGTERM, then SIGKILL after each
    /// one's stop timeout.
    async fn stop_containers(&mut self) {
        for &index in self.started.clone().iter().rev() {
            let Some(pid) = self.slots[index].pid else {
                continue;
            };
            if self.slots[index].exited {
                continue;
            }
            signal_group(pid, Signal::TERM);
            let deadline = tokio::time::Instant::now() + self.spec.containers[index].stop_timeout;
            let mut killed = false;
            while !self.slots[index].exited {
                tokio::select! {
                    event = self.event_receiver.recv() => match event {
                        Some(event) => self.handle(event),
                        None => break,
                    },
                    () = tokio::time::sleep_until(deadline), if !killed => {
                        tracing::info!(task = %self.spec.task_id, container = %self.spec.containers[index].name, "stop timeout passed; killing");
                        signal_group(pid, Signal::KILL);
                        killed = true;
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        for slot in &mut self.slots {
            if let Some(check) = slot.health_check.take() {
                check.abort();
            }
        }
        {
            let mut in_use = lock(&self.inner.ports_in_use);
            for port in &self.ports {
                in_use.remove(port);
            }
        }
        if let Some(cgroup) = &self.cgroup {
            cgroup::remove(cgroup);
        }
        let stop = self.stop.clone();
        self.update(|state| {
            let now = jiff::Timestamp::now();
            for container in &mut state.containers {
                container.status = ContainerStatus::Stopped;
            }
            state.status = TaskStatus::Stopped;
            state.stopping_at.get_or_insert(now);
            state.stopped_at = Some(now);
            state.stop = stop;
        });
        tracing::info!(task = %self.spec.task_id, "task stopped");
    }
}

/// The checks ECS makes when a task definition is registered, repeated because a bad
/// spec would otherwise never start or never stop.
fn validate(spec: &TaskSpec) -> Result<(), String> {
    if !is_valid_id(&spec.task_id) {
        return Err(format!(
            "task id `{}` is not valid: use letters, digits, `-`, `_` and `.`",
            spec.task_id
        ));
    }
    if !spec.containers.iter().any(|container| container.essential) {
        return Err("the task has no essential container".into());
    }
    let mut names = HashSet::new();
    for container in &spec.containers {
        if !is_valid_id(&container.name) {
            return Err(format!(
                "container name `{}` is not valid: use letters, digits, `-` and `_`",
                container.name
            ));
        }
        if !names.insert(container.name.as_str()) {
            return Err(format!("container name `{}` is used twice", container.name));
        }
    }
    for container in &spec.containers {
        for dependency in &container.depends_on {
            let Some(target) = spec
                .containers
                .iter()
                .find(|c| c.name == dependency.container)
            else {
                return Err(format!(
                    "container `{}` depends on `{}`, which is not in the task",
                    container.name, dependency.container
                ));
            };
            if target.name == container.name {
                return Err(format!("container `{}` depends on itself", container.name));
            }
            if dependency.condition == Condition::Healthy
                && target
                    .health_check
                    .as_ref()
                    .and_then(|check| check.argv())
                    .is_none()
            {
                return Err(format!(
                    "container `{}` depends on `{}` being HEALTHY, but `{}` has no health check",
                    container.name, target.name, target.name
                ));
            }
        }
    }
    // Kahn's algorithm: whatever cannot be ordered is in a cycle.
    let mut remaining: Vec<&ContainerSpec> = spec.containers.iter().collect();
    let mut ordered: HashSet<&str> = HashSet::new();
    while !remaining.is_empty() {
        let before = remaining.len();
        remaining.retain(|container| {
            let ready = container
                .depends_on
                .iter()
                .all(|dependency| ordered.contains(dependency.container.as_str()));
            if ready {
                ordered.insert(container.name.as_str());
            }
            !ready
        });
        if remaining.len() == before {
            let names: Vec<&str> = remaining.iter().map(|c| c.name.as_str()).collect();
            return Err(format!(
                "containers `{}` depend on each other in a cycle",
                names.join("`, `")
            ));
        }
    }
    Ok(())
}

/// ECS's aggregate of the essential containers' health.
fn aggregate_health(spec: &TaskSpec, state: &TaskState) -> Health {
    let checked: Vec<Health> = spec
        .containers
        .iter()
        .zip(&state.containers)
        .filter(|(spec, _)| {
            spec.essential
                && spec
                    .health_check
                    .as_ref()
                    .and_then(|check| check.argv())
                    .is_some()
        })
        .map(|(_, state)| state.health)
        .collect();
    if checked.contains(&Health::Unhealthy) {
        Health::Unhealthy
    } else if !checked.is_empty() && checked.iter().all(|health| *health == Health::Healthy) {
        Health::Healthy
    } else {
        Health::Unknown
    }
}

/// ECS's (Docker's) rule: `entryPoint` replaces the image's ENTRYPOINT and then drops its
/// CMD; `command` replaces the CMD; the process runs ENTRYPOINT followed by CMD.
fn container_argv(container: &ContainerSpec, image: &Image) -> Vec<String> {
    let entrypoint_overridden = container
        .entry_point
        .as_ref()
        .is_some_and(|e| !e.is_empty());
    let entrypoint = match &container.entry_point {
        Some(entry_point) if entrypoint_overridden => entry_point.clone(),
        _ => image.config.entrypoint.clone().unwrap_or_default(),
    };
    let cmd = match &container.command {
        Some(command) => command.clone(),
        None if entrypoint_overridden => Vec::new(),
        None => image.config.cmd.clone().unwrap_or_default(),
    };
    entrypoint.into_iter().chain(cmd).collect()
}

/// The container's environment, built from nothing: never the runtime's own (which
/// holds secrets).
fn container_environment(
    container: &ContainerSpec,
    image: &Image,
    root: &Path,
    working_dir: &Path,
    ports: &[PortBinding],
) -> Vec<(String, String)> {
    fn set(environment: &mut Vec<(String, String)>, key: &str, value: String) {
        environment.retain(|(existing, _)| existing != key);
        environment.push((key.to_owned(), value));
    }
    let mut environment = Vec::new();
    let host_path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    set(&mut environment, "PATH", host_path.clone());
    if let Ok(lang) = std::env::var("LANG") {
        set(&mut environment, "LANG", lang);
    }
    set(
        &mut environment,
        "HOME",
        working_dir.to_string_lossy().into_owned(),
    );
    for (key, value) in &image.config.env {
        if key == "PATH" {
            // Only the directories the image itself provides make sense on the host;
            // they go before the host's PATH.
            let mut path: Vec<String> = value
                .split(':')
                .filter(|dir| dir.starts_with('/'))
                .filter(|dir| {
                    image
                        .config
                        .copy_destination
                        .as_deref()
                        .is_some_and(|d| dir.starts_with(d))
                })
                .map(|dir| {
                    root.join(image.config.rootfs_relative(dir))
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            path.push(host_path.clone());
            set(&mut environment, "PATH", path.join(":"));
        } else {
            set(&mut environment, key, value.clone());
        }
    }
    for (key, value) in &container.environment {
        set(&mut environment, key, value.clone());
    }
    if let Some(first) = ports.first() {
        set(&mut environment, "PORT", first.host_port.to_string());
    }
    for binding in ports {
        set(
            &mut environment,
            &format!("PAVED_PORT_{}", binding.container_port),
            binding.host_port.to_string(),
        );
    }
    environment
}

/// Finds `program` as `execvp` would, but relative to the container's working directory
/// and along the container's PATH; the error is Docker's wording.
pub(crate) fn resolve_program(
    program: &str,
    path: Option<&str>,
    working_dir: &Path,
) -> Result<PathBuf, &'static str> {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = |candidate: &Path| {
        std::fs::metadata(candidate)
            .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let candidate = working_dir.join(program);
        return if executable(&candidate) {
            Ok(candidate)
        } else if candidate.exists() {
            Err("permission denied")
        } else {
            Err("no such file or directory")
        };
    }
    for dir in path.unwrap_or_default().split(':') {
        let candidate = working_dir.join(dir).join(program);
        if executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err("executable file not found in $PATH")
}

/// Copies a directory tree of regular files and directories, keeping permissions.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

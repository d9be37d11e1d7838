//! The scaffolder: a new service from a golden path, as a real git repository, in one step.
//!
//! [`Scaffolder::create`] checks everything it can at once (name, owner, template, inputs: a
//! dry render) and then records a durable **task**; the task's steps run in the background
//! and log every step to the store, where `GET /api/tasks/{id}/events` streams them from:
//!
//! 1. `render`: the template version (resolved once, stored with the task) renders over the
//!    inputs; the repository's files are the skeleton, the pipeline, `catalog-info.yaml` and
//!    `paved.yaml` ([`files`]).
//! 2. `repository`: a bare repository under the data directory gets one commit on `main`,
//!    whose message carries the task id; it is pushed to a remote if the call gave one.
//! 3. `catalog`: the repository becomes a catalog location, read at once.
//! 4. `record`: the service is stored and the task succeeds, in one transaction.
//!
//! All or nothing: a failed step undoes what the task did (the location, the repository) and
//! the task fails naming the step. Crash-safe: a replica that starts picks up unfinished tasks
//! whose lease expired and runs them again; every step sees what a previous run left (a
//! repository whose commit carries this task's id is reused, never created twice).

pub mod files;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use paved_catalog::{Catalog, CatalogError};
use paved_model::entity_ref::{EntityRef, RefDefaults};
use paved_store::{ServiceRow, Store, StoreError, TaskEventRow, TaskRow, now_millis};
use paved_template::Limits;
use paved_template::bundle::{EnvironmentContext, RenderRequest, TemplateKind, TemplateVersionRef};
use paved_template::bundle::{RenderContext, ServiceContext, ServiceInstanceContext};
use paved_template_registry::{
    Registry, RegistryError, RenderInput, VersionSelector, parse_template_selector,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::files::RepositoryFile;

/// The task kind that creates a service.
pub const CREATE_SERVICE: &str = "service.create";
/// How long a replica owns a running task before another may take it over.
const LEASE: Duration = Duration::from_secs(60);
const BRANCH: &str = "main";

/// Where repositories go and how the scaffolder runs.
#[derive(Debug, Clone)]
pub struct ScaffolderConfig {
    /// Bare repositories of new services: `<dir>/<name>.git`.
    pub repositories_dir: PathBuf,
    /// This replica's name, for task leases. Stable across restarts of the same replica
    /// (`paved up` keeps it in the data directory), so a restarted replica takes its own
    /// unfinished tasks back at once instead of waiting for their leases to expire.
    pub replica: String,
    /// User name and password (or token) for pushing to remote repositories; from the
    /// environment, never stored.
    pub git_credentials: Option<(String, String)>,
    /// Fault injection for crash tests: the process aborts right after this step completes.
    pub crash_after_step: Option<String>,
}

/// A request to create a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceRequest {
    pub name: String,
    /// `NAME`, `NAME@MAJOR` or `NAME@MAJOR.MINOR`.
    pub template: String,
    /// An entity reference to an existing Group (`group:default/team-a`, or `team-a`).
    pub owner: String,
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default = "default_lifecycle")]
    pub lifecycle: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The environment of the first instance.
    #[serde(default = "default_environment")]
    pub environment: String,
    #[serde(default = "empty_object")]
    pub inputs: Value,
    #[serde(default)]
    pub pipeline_inputs: Option<Value>,
    /// Push the repository here too; by default it lives only under the data directory.
    #[serde(default)]
    pub repository_url: Option<String>,
}

fn default_lifecycle() -> String {
    "experimental".to_owned()
}

fn default_environment() -> String {
    "dev".to_owned()
}

fn empty_object() -> Value {
    json!({})
}

impl CreateServiceRequest {
    /// The template's name without the version.
    pub fn template_name(&self) -> &str {
        self.template
            .split_once('@')
            .map_or(self.template.as_str(), |(name, _)| name)
    }
}

/// What a task records once it is accepted: the request with everything resolved, so a
/// resumed run does exactly what the first run would have.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskPlan {
    request: CreateServiceRequest,
    /// The exact template version, `MAJOR.MINOR`.
    template_version: String,
}

/// A dry run's answer, or an accepted task.
#[derive(Debug, Clone)]
pub enum Created {
    DryRun {
        template_version: String,
        clone_url: String,
        files: Vec<RepositoryFile>,
    },
    Task {
        task: TaskRow,
        clone_url: String,
    },
}

/// What the scaffolder refuses.
#[derive(Debug, thiserror::Error)]
pub enum ScaffolderError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("a service named `{0}` already exists")]
    NameTaken(String),
    #[error("owner `{0}` is not a Group in the catalog; register the group first")]
    UnknownOwner(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("task `{0}` not found")]
    TaskNotFound(String),
    #[error("service `{0}` not found")]
    ServiceNotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The scaffolder; cheap to clone.
#[derive(Clone)]
pub struct Scaffolder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Scaffolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scaffolder").finish_non_exhaustive()
    }
}

struct Inner {
    store: Store,
    catalog: Catalog,
    registry: Registry,
    config: ScaffolderConfig,
    /// Bumped on every task event this replica writes, so event streams wake at once.
    events: tokio::sync::watch::Sender<u64>,
}

/// Why a step failed: the step and the reason.
struct StepFailure {
    step: &'static str,
    reason: String,
}

impl Scaffolder {
    pub fn new(
        store: Store,
        catalog: Catalog,
        registry: Registry,
        config: ScaffolderConfig,
    ) -> Scaffolder {
        Scaffolder {
            inner: Arc::new(Inner {
                store,
                catalog,
                registry,
                config,
                events: tokio::sync::watch::channel(0).0,
            }),
        }
    }

    /// A receiver that changes whenever this replica writes a task event.
    pub fn watch_events(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.events.subscribe()
    }

    /// The clone URL of a service's repository.
    pub fn clone_url(&self, request: &CreateServiceRequest) -> String {
        match &request.repository_url {
            Some(url) => url.clone(),
            None => format!("file://{}", self.repository_path(&request.name).display()),
        }
    }

    /// Where the bare repository of service `name` lives: `<repositories_dir>/NAME.git`.
    pub fn repository_path(&self, name: &str) -> PathBuf {
        self.inner
            .config
            .repositories_dir
            .join(format!("{name}.git"))
    }

    /// Checks the request, renders it, and either returns the files (`dry_run`) or records a
    /// task and starts it.
    pub async fn create(
        &self,
        request: CreateServiceRequest,
        dry_run: bool,
    ) -> Result<Created, ScaffolderError> {
        let mut request = request;
        request.owner = self.check_owner(&request.owner)?;
        self.check_name(&request).await?;
        let Rendered {
            template_version,
            files,
            repository_url,
        } = self.render(&request, None).await?;
        request.repository_url = repository_url;
        let clone_url = self.clone_url(&request);
        if dry_run {
            return Ok(Created::DryRun {
                template_version,
                clone_url,
                files,
            });
        }
        let now = now_millis();
        let plan = TaskPlan {
            request,
            template_version,
        };
        let task = TaskRow {
            id: uuid::Uuid::new_v4().to_string(),
            kind: CREATE_SERVICE.to_owned(),
            subject: format!("service:{}", plan.request.name),
            state: "pending".to_owned(),
            request: serde_json::to_string(&plan).expect("plain data serialises"),
            result: None,
            error: None,
            created_at: now,
            updated_at: now,
        };
        match self.inner.store.insert_task(&task).await {
            Ok(()) => {}
            Err(StoreError::TaskSubjectTaken { .. }) => {
                return Err(ScaffolderError::NameTaken(plan.request.name));
            }
            Err(error) => return Err(error.into()),
        }
        self.event(
            &task.id,
            "accepted",
            "info",
            &format!("creating service `{}`", plan.request.name),
        )
        .await;
        let runner = self.clone();
        let id = task.id.clone();
        tokio::spawn(async move { runner.run_task(&id).await });
        Ok(Created::Task { task, clone_url })
    }

    /// Picks up every unfinished task this replica may take: its own (after a crash or a
    /// restart) and those whose lease expired (another replica died).
    pub async fn resume(&self) -> Result<usize, ScaffolderError> {
        let tasks = self
            .inner
            .store
            .unfinished_tasks(now_millis(), &self.inner.config.replica)
            .await?;
        let count = tasks.len();
        for task in tasks {
            let runner = self.clone();
            tokio::spawn(async move { runner.run_task(&task.id).await });
        }
        Ok(count)
    }

    /// Resumes tasks every lease period until `shutdown` resolves, so the tasks of a replica
    /// that died are finished by another.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        let mut ticker = tokio::time::interval(LEASE);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = ticker.tick() => {}
            }
            if let Err(error) = self.resume().await {
                tracing::warn!(%error, "cannot resume unfinished tasks");
            }
        }
    }

    pub async fn task(&self, id: &str) -> Result<TaskRow, ScaffolderError> {
        self.inner
            .store
            .task(id)
            .await?
            .ok_or_else(|| ScaffolderError::TaskNotFound(id.to_owned()))
    }

    pub async fn task_events(
        &self,
        id: &str,
        after: i64,
    ) -> Result<Vec<TaskEventRow>, ScaffolderError> {
        Ok(self.inner.store.task_events(id, after).await?)
    }

    pub async fn services(&self) -> Result<Vec<ServiceRow>, ScaffolderError> {
        Ok(self.inner.store.services().await?)
    }

    pub async fn service(&self, name: &str) -> Result<ServiceRow, ScaffolderError> {
        self.inner
            .store
            .service(name)
            .await?
            .ok_or_else(|| ScaffolderError::ServiceNotFound(name.to_owned()))
    }

    /// The owner as a canonical reference, if it is a Group the catalog knows.
    fn check_owner(&self, owner: &str) -> Result<String, ScaffolderError> {
        let reference = EntityRef::parse(
            owner,
            RefDefaults {
                kind: Some("group"),
                namespace: "default",
            },
            "owner",
        )
        .map_err(|error| ScaffolderError::InvalidRequest(format!("owner: {error}")))?;
        if !reference.kind.eq_ignore_ascii_case("group") {
            return Err(ScaffolderError::UnknownOwner(owner.to_owned()));
        }
        let key = reference.key();
        if self.inner.catalog.entity_by_ref(&key).is_none() {
            return Err(ScaffolderError::UnknownOwner(key));
        }
        Ok(key)
    }

    /// Name rules, and no service, catalog Component or repository of that name yet.
    async fn check_name(&self, request: &CreateServiceRequest) -> Result<(), ScaffolderError> {
        let name = &request.name;
        if !paved_model::validation::is_valid_name(name) {
            return Err(ScaffolderError::InvalidRequest(format!(
                "`{name}` is not a valid service name: 1-63 characters `[a-zA-Z0-9]` separated by \
                 `-`, `_` or `.`, as catalog names are"
            )));
        }
        if !paved_model::validation::is_valid_name(&request.environment) {
            return Err(ScaffolderError::InvalidRequest(format!(
                "`{}` is not a valid environment name",
                request.environment
            )));
        }
        if let Some(system) = &request.system
            && !paved_model::validation::is_valid_name(system)
        {
            return Err(ScaffolderError::InvalidRequest(format!(
                "`{system}` is not a valid system name"
            )));
        }
        let component = EntityRef::new("component", "default", name).key();
        if self.inner.store.service(name).await?.is_some()
            || self.inner.catalog.entity_by_ref(&component).is_some()
            || self.repository_path(name).exists()
        {
            return Err(ScaffolderError::NameTaken(name.clone()));
        }
        Ok(())
    }

    /// Resolves the template (or takes the version a task recorded) and renders the
    /// repository's files.
    async fn render(
        &self,
        request: &CreateServiceRequest,
        recorded_version: Option<&str>,
    ) -> Result<Rendered, ScaffolderError> {
        let selector = match recorded_version {
            Some(version) => version.parse().map_err(RegistryError::from)?,
            None => {
                parse_template_selector(&request.template)
                    .map_err(RegistryError::from)?
                    .1
            }
        };
        let name = request.template_name();
        let version = self.inner.registry.resolve(name, selector).await?;
        let info = self.inner.registry.get(name).await?;
        if info.template.kind != TemplateKind::Service.as_str() {
            return Err(ScaffolderError::InvalidRequest(format!(
                "`{name}` is an {} template; services are created from service templates",
                info.template.kind
            )));
        }
        let input = RenderInput {
            inputs: request.inputs.clone(),
            pipeline_inputs: request.pipeline_inputs.clone(),
            context: RenderContext {
                environment: EnvironmentContext {
                    name: request.environment.clone(),
                    ..EnvironmentContext::default()
                },
                service: ServiceContext {
                    name: request.name.clone(),
                    repository_id: request.name.clone(),
                    ..ServiceContext::default()
                },
                service_instance: ServiceInstanceContext {
                    name: request.environment.clone(),
                },
                ..RenderContext::default()
            },
        };
        // The call's repository URL, or else the template's (`spec.repositoryUrl`).
        let mut request = request.clone();
        if request.repository_url.is_none() {
            let bundle = self.inner.registry.bundle(name, &version).await?;
            let render_request = RenderRequest {
                template: TemplateVersionRef {
                    name: name.to_owned(),
                    version: version.version.to_string(),
                },
                inputs: input.inputs.clone(),
                pipeline_inputs: input.pipeline_inputs.clone(),
                context: input.context.clone(),
            };
            request.repository_url = bundle
                .render_repository_url(&render_request, &Limits::default())
                .map_err(RegistryError::from)?;
        }
        let exact = VersionSelector::Exact(version.version);
        let rendered = self.inner.registry.render(name, exact, input).await?;
        let template_version = version.version.to_string();
        let files = files::repository_files(
            &request,
            &template_version,
            &self.clone_url(&request),
            &rendered.files,
        );
        Ok(Rendered {
            template_version,
            files,
            repository_url: request.repository_url,
        })
    }

    async fn event(&self, task: &str, step: &str, level: &str, message: &str) {
        match self
            .inner
            .store
            .append_task_event(task, now_millis(), step, level, message)
            .await
        {
            Ok(seq) => {
                self.inner.events.send_replace(seq as u64);
            }
            Err(error) => tracing::error!(%error, task, "cannot record a task event"),
        }
    }

    /// Runs (or resumes) one task to its end, if this replica gets its lease.
    pub async fn run_task(&self, id: &str) {
        let now = now_millis();
        let leased = self
            .inner
            .store
            .lease_task(
                id,
                &self.inner.config.replica,
                now,
                now + LEASE.as_millis() as i64,
            )
            .await;
        match leased {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::error!(%error, task = id, "cannot lease a task");
                return;
            }
        }
        let task = match self.inner.store.task(id).await {
            Ok(Some(task)) => task,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, task = id, "cannot read a task");
                return;
            }
        };
        let plan: TaskPlan = match serde_json::from_str(&task.request) {
            Ok(plan) => plan,
            Err(error) => {
                let reason = format!("the stored request cannot be read: {error}");
                self.fail(id, "render", &reason).await;
                return;
            }
        };
        let mut undo = Undo::default();
        match self.steps(id, &plan, &mut undo).await {
            Ok(()) => {}
            Err(failure) => {
                self.undo(id, &undo).await;
                self.fail(id, failure.step, &failure.reason).await;
            }
        }
    }

    async fn steps(&self, id: &str, plan: &TaskPlan, undo: &mut Undo) -> Result<(), StepFailure> {
        let request = &plan.request;
        let failure = |step: &'static str| move |reason: String| StepFailure { step, reason };

        self.event(id, "render", "step", "rendering the template")
            .await;
        let Rendered {
            template_version: version,
            files,
            ..
        } = self
            .render(request, Some(&plan.template_version))
            .await
            .map_err(|error| failure("render")(error.to_string()))?;
        self.event(
            id,
            "render",
            "done",
            &format!(
                "{} files from {}@{version}",
                files.len(),
                request.template_name()
            ),
        )
        .await;
        self.crash_point("render");

        self.event(id, "repository", "step", "creating the repository")
            .await;
        let path = self.repository_path(&request.name);
        let message = format!(
            "Create {} from {}@{version}\n\nPaved-Task: {id}\n",
            request.name,
            request.template_name()
        );
        let created = self
            .write_repository(&path, id, &message, &files, undo)
            .await
            .map_err(failure("repository"))?;
        if let Some(url) = &request.repository_url {
            let credentials = self.inner.config.git_credentials.clone();
            let (repository, url) = (path.clone(), url.clone());
            tokio::task::spawn_blocking(move || {
                let credentials = credentials
                    .as_ref()
                    .map(|(user, password)| (user.as_str(), password.as_str()));
                paved_git::push(&repository, &url, BRANCH, credentials)
            })
            .await
            .map_err(|error| failure("repository")(error.to_string()))?
            .map_err(|error| failure("repository")(error.to_string()))?;
        }
        self.event(
            id,
            "repository",
            "done",
            &format!(
                "{} {}",
                if created {
                    "committed to"
                } else {
                    "found this task's commit in"
                },
                self.clone_url(request)
            ),
        )
        .await;
        self.crash_point("repository");

        self.event(
            id,
            "catalog",
            "step",
            "registering the repository in the catalog",
        )
        .await;
        let target = format!(
            "{}#ref={BRANCH}&path=catalog-info.yaml",
            request
                .repository_url
                .clone()
                .unwrap_or_else(|| path.display().to_string())
        );
        match self.inner.catalog.add_location("git", &target, false).await {
            Ok(added) => {
                undo.location = Some(added.location.id.clone());
                if !added.problems.is_empty() {
                    let problems: Vec<String> =
                        added.problems.iter().map(ToString::to_string).collect();
                    return Err(failure("catalog")(format!(
                        "the catalog refused the new repository's entities: {}",
                        problems.join("; ")
                    )));
                }
            }
            Err(CatalogError::Store(StoreError::LocationExists { .. })) => {
                // A previous run of this task registered it before a crash: still ours.
                let locations = self
                    .inner
                    .catalog
                    .locations()
                    .await
                    .map_err(|error| failure("catalog")(error.to_string()))?;
                undo.location = locations
                    .into_iter()
                    .find(|location| location.target == target)
                    .map(|location| location.id);
            }
            Err(error) => return Err(failure("catalog")(error.to_string())),
        }
        self.event(
            id,
            "catalog",
            "done",
            &format!("component:default/{} is in the catalog", request.name),
        )
        .await;
        self.crash_point("catalog");

        let now = now_millis();
        let clone_url = self.clone_url(request);
        let service = ServiceRow {
            name: request.name.clone(),
            owner: request.owner.clone(),
            template: request.template_name().to_owned(),
            template_version: version.clone(),
            repository_url: clone_url.clone(),
            spec: files::spec_value(request, &version).to_string(),
            task_id: id.to_owned(),
            created_at: now,
        };
        let result = json!({
            "service": request.name,
            "templateVersion": version,
            "cloneUrl": clone_url,
            "entityRef": format!("component:default/{}", request.name),
        });
        // The last line comes before the task ends: readers stop at the end.
        self.event(
            id,
            "record",
            "step",
            &format!("recording service `{}`", request.name),
        )
        .await;
        self.inner
            .store
            .complete_service_task(id, &result.to_string(), &service, now)
            .await
            .map_err(|error| failure("record")(error.to_string()))?;
        self.inner.events.send_modify(|seq| *seq += 1);
        Ok(())
    }

    /// Creates the repository with its one commit, or finds the commit a previous run of
    /// this task made. Returns whether it created it.
    async fn write_repository(
        &self,
        path: &Path,
        task: &str,
        message: &str,
        files: &[RepositoryFile],
        undo: &mut Undo,
    ) -> Result<bool, String> {
        let marker = format!("Paved-Task: {task}");
        let path = path.to_owned();
        let message = message.to_owned();
        let files: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|file| (file.path.clone(), file.contents.clone().into_bytes()))
            .collect();
        let existed = path.exists();
        let outcome = tokio::task::spawn_blocking({
            let path = path.clone();
            move || -> Result<bool, String> {
                if path.exists() {
                    return match paved_git::branch_tip(&path, BRANCH) {
                        Ok(Some((_, tip_message))) if tip_message.contains(&marker) => Ok(false),
                        Ok(_) => Err(format!(
                            "`{}` exists and was not created by this task",
                            path.display()
                        )),
                        Err(error) => Err(error.to_string()),
                    };
                }
                paved_git::init_bare(&path).map_err(|error| error.to_string())?;
                paved_git::commit_files(
                    &path,
                    BRANCH,
                    &files,
                    &message,
                    "Paved",
                    "paved@localhost",
                )
                .map_err(|error| error.to_string())?;
                Ok(true)
            }
        })
        .await
        .map_err(|error| error.to_string())?;
        // Ours to remove if a later step fails: created by this run, or by an earlier run of
        // this task (its commit carries the task id), or left half-made by this run.
        if outcome.is_ok() || (!existed && path.exists()) {
            undo.repository = Some(path);
        }
        outcome
    }

    fn crash_point(&self, step: &str) {
        if self.inner.config.crash_after_step.as_deref() == Some(step) {
            tracing::error!(step, "crash injected after step (PAVED_CRASH_AFTER_STEP)");
            std::process::abort();
        }
    }

    /// Undoes what a failed run did, newest first.
    async fn undo(&self, id: &str, undo: &Undo) {
        if let Some(location) = &undo.location
            && let Err(error) = self.inner.catalog.remove_location(location).await
        {
            tracing::error!(%error, task = id, "cannot remove the location of a failed task");
        }
        if let Some(path) = &undo.repository
            && let Err(error) = std::fs::remove_dir_all(path)
        {
            tracing::error!(%error, task = id, "cannot remove the repository of a failed task");
        }
    }

    async fn fail(&self, id: &str, step: &str, reason: &str) {
        let message = format!("step `{step}` failed: {reason}");
        self.event(id, step, "error", &message).await;
        if let Err(error) = self.inner.store.fail_task(id, &message, now_millis()).await {
            tracing::error!(%error, task = id, "cannot record a task's failure");
        }
        self.inner.events.send_modify(|seq| *seq += 1);
    }
}

/// A request rendered: the exact version, the repository's files, and where the repository
/// is pushed (the call's URL or the template's), if anywhere.
struct Rendered {
    template_version: String,
    files: Vec<RepositoryFile>,
    repository_url: Option<String>,
}

/// What a run created, to remove if a later step fails.
#[derive(Debug, Default)]
struct Undo {
    repository: Option<PathBuf>,
    location: Option<paved_model::ids::LocationId>,
}

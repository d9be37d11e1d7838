//! The scaffolder: a new service from a golden path, as a real git repository, in one step.
//!
//! [`Scaffolder::create`] checks everything it can at once (name, owner, template, inputs: a
//! dry render) and then records a durable **job** (`paved-jobs`, kind [`CREATE_SERVICE`]); its
//! steps run in the background and log every step to the job's event log, which
//! `GET /api/jobs/{id}/events` streams:
//!
//! 1. `render`: the template version (resolved once, stored with the task) renders over the
//!    inputs; the repository's files are the skeleton, the pipeline, `catalog-info.yaml` and
//!    `paved.yaml` ([`files`]).
//! 2. `repository`: a bare repository under the data directory gets one commit on `main`,
//!    whose message carries the job id; it is pushed to a remote if the call gave one.
//! 3. `catalog`: the repository becomes a catalog location, read at once.
//! 4. `record`: the service is stored and the job succeeds, in one transaction.
//!
//! All or nothing: a failed step undoes what the job did (the location, the repository) and
//! the job fails naming the step. Crash-safe: the job runner resumes a job whose replica died;
//! every step sees what a previous run left (a repository whose commit carries this job's id
//! is reused, never created twice), and every store write is fenced by the job's lease, so a
//! replica that lost it can neither record the service nor undo anything.

pub mod files;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use paved_catalog::{Catalog, CatalogError};
use paved_jobs::{JobContext, JobFailure, JobHandler, JobRequest, JobRunner, Succeeded};
use paved_model::access::{Action, Principal, Resource, ResourceKind};
use paved_model::entity_ref::{EntityRef, RefDefaults};
use paved_model::ids::JobId;
use paved_model::job::EventLevel;
use paved_store::{Mutation, ServiceRow, Store, StoreError, now_millis};
use paved_template::Limits;
use paved_template::bundle::{EnvironmentContext, RenderRequest, TemplateKind, TemplateVersionRef};
use paved_template::bundle::{RenderContext, ServiceContext, ServiceInstanceContext};
use paved_template_registry::{
    Registry, RegistryError, RenderInput, VersionSelector, parse_template_selector,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::files::RepositoryFile;

/// The job kind that creates a service.
pub const CREATE_SERVICE: &str = "service.create";
const BRANCH: &str = "main";

/// Where repositories go and how the scaffolder runs.
#[derive(Debug, Clone)]
pub struct ScaffolderConfig {
    /// Bare repositories of new services: `<dir>/<name>.git`.
    pub repositories_dir: PathBuf,
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

/// The lifecycle of a service created without one.
pub fn default_lifecycle() -> String {
    "experimental".to_owned()
}

/// The environment of a service's first instance when the request names none.
pub fn default_environment() -> String {
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

/// What a job records once it is accepted: the request with everything resolved, so a
/// resumed run does exactly what the first run would have.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobPlan {
    request: CreateServiceRequest,
    /// The exact template version, `MAJOR.MINOR`.
    template_version: String,
}

/// A dry run's answer, or an accepted job.
#[derive(Debug, Clone)]
pub enum Created {
    DryRun {
        template_version: String,
        clone_url: String,
        files: Vec<RepositoryFile>,
    },
    Job {
        job: JobId,
        template_version: String,
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
    /// The name is free as a service but the new repository's catalog entities (or the
    /// repository itself) would clash with something that exists: the message names it and
    /// the fix, since the job would otherwise fail at its `catalog` or `repository` step.
    #[error("{0}")]
    NameClash(String),
    #[error("owner `{0}` is not a Group in the catalog; register the group first")]
    UnknownOwner(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("service `{0}` not found")]
    ServiceNotFound(String),
    #[error(transparent)]
    Jobs(#[from] paved_jobs::JobError),
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
    jobs: JobRunner,
    config: ScaffolderConfig,
}

impl Scaffolder {
    /// A scaffolder whose jobs run on `jobs` (it registers its handler there).
    pub fn new(
        store: Store,
        catalog: Catalog,
        registry: Registry,
        jobs: JobRunner,
        config: ScaffolderConfig,
    ) -> Scaffolder {
        let scaffolder = Scaffolder {
            inner: Arc::new(Inner {
                store,
                catalog,
                registry,
                jobs: jobs.clone(),
                config,
            }),
        };
        jobs.register(Arc::new(CreateServiceJob(scaffolder.clone())));
        scaffolder
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
    /// job (with the call's audit record, in one transaction) and wakes the job runner.
    pub async fn create(
        &self,
        request: CreateServiceRequest,
        dry_run: bool,
        principal: &Principal,
        mutation: &Mutation<'_>,
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
        if let Some(url) = &request.repository_url
            && carries_credentials(url)
        {
            // Refused, not stripped: the job's plan, the service and the catalog would keep
            // the URL, and a push with the credentials removed would fail later anyway.
            return Err(ScaffolderError::InvalidRequest(format!(
                "the repository URL `{}` carries credentials, which Paved does not store: give \
                 them to `paved up` (`PAVED_GIT_USERNAME` and `PAVED_GIT_PASSWORD`) and use the \
                 URL without them",
                paved_git::redact_url(url)
            )));
        }
        let clone_url = self.clone_url(&request);
        if dry_run {
            return Ok(Created::DryRun {
                template_version,
                clone_url,
                files,
            });
        }
        let name = request.name.clone();
        let plan = JobPlan {
            request,
            template_version: template_version.clone(),
        };
        let mut tx = mutation.begin(&self.inner.store).await?;
        let job = self
            .inner
            .jobs
            .submit(
                &mut tx,
                JobRequest {
                    kind: CREATE_SERVICE,
                    subject: format!("service:{name}"),
                    principal: principal.clone(),
                    plan,
                    exclusive: true,
                },
            )
            .await
            .map_err(|error| match error {
                paved_jobs::JobError::SubjectBusy(_) => ScaffolderError::NameTaken(name.clone()),
                error => ScaffolderError::Jobs(error),
            })?;
        mutation.audit.set_details(json!({
            "job": job,
            "templateVersion": template_version,
        }));
        mutation.commit(tx).await?;
        self.inner.jobs.wake();
        Ok(Created::Job {
            job,
            template_version,
            clone_url,
        })
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
        if self.inner.store.service(name).await?.is_some() {
            return Err(ScaffolderError::NameTaken(name.clone()));
        }
        let component = EntityRef::new("component", "default", name).key();
        if let Some(location) = self.location_of(&component) {
            return Err(ScaffolderError::NameClash(format!(
                "`{component}` is already in the catalog ({location}), and a service's \
                 Component takes the service's name: choose another name, or remove that \
                 location first"
            )));
        }
        // Without `system`, the repository's catalog-info.yaml also holds a System named
        // after the service (`files::system_of`); one from another location would make the
        // job's catalog step fail on the conflict.
        if request.system.is_none() {
            let system = EntityRef::new("system", "default", name).key();
            if let Some(location) = self.location_of(&system) {
                return Err(ScaffolderError::NameClash(format!(
                    "`{system}` is already in the catalog ({location}), and a service created \
                     without a system gets a System of its own name: pass `system: {name}` \
                     (`--system {name}`) to make the service part of it, or choose another name"
                )));
            }
        }
        let repository = self.repository_path(name);
        if repository.exists() {
            return Err(ScaffolderError::NameClash(format!(
                "a repository `{}` already exists under the data directory, left by no service \
                 Paved knows: move it away or choose another name",
                repository.display()
            )));
        }
        Ok(())
    }

    /// Where the catalog entity `key` comes from (its managed-by location), if it exists.
    fn location_of(&self, key: &str) -> Option<String> {
        let entity = self.inner.catalog.entity_by_ref(key)?;
        let location = serde_json::from_str::<Value>(&entity)
            .ok()
            .and_then(|entity| {
                entity["metadata"]["annotations"]
                    [paved_model::entity::annotation::MANAGED_BY_LOCATION]
                    .as_str()
                    .map(|location| format!("from location `{location}`"))
            });
        Some(location.unwrap_or_else(|| "from an unknown location".to_owned()))
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

    /// The steps of one run of a creation job. On failure, undoes what this run (or an
    /// earlier run of the same job) made, if the job's lease is still held.
    async fn run_job(&self, job: &JobContext) -> Result<Succeeded, JobFailure> {
        let plan: JobPlan = job.plan()?;
        let mut undo = Undo::default();
        match self.steps(job, &plan, &mut undo).await {
            Ok(succeeded) => Ok(succeeded),
            Err(JobFailure::Failed { step, reason }) => {
                // Only the replica that owns the job may undo: another one may have finished it.
                job.ensure_held().await?;
                self.undo(job, &undo).await;
                Err(JobFailure::Failed { step, reason })
            }
            Err(other) => Err(other),
        }
    }

    async fn steps(
        &self,
        job: &JobContext,
        plan: &JobPlan,
        undo: &mut Undo,
    ) -> Result<Succeeded, JobFailure> {
        let request = &plan.request;
        let failed = |step: &'static str| move |reason: String| JobFailure::failed(step, reason);

        job.event("render", EventLevel::Step, "rendering the template")
            .await?;
        let Rendered {
            template_version: version,
            files,
            ..
        } = self
            .render(request, Some(&plan.template_version))
            .await
            .map_err(|error| failed("render")(error.to_string()))?;
        job.event(
            "render",
            EventLevel::Done,
            &format!(
                "{} files from {}@{version}",
                files.len(),
                request.template_name()
            ),
        )
        .await?;
        self.crash_point("render");

        job.event("repository", EventLevel::Step, "creating the repository")
            .await?;
        let path = self.repository_path(&request.name);
        let message = format!(
            "Create {} from {}@{version}\n\nPaved-Job: {}\n",
            request.name,
            request.template_name(),
            job.id()
        );
        let created = self
            .write_repository(&path, job.id(), &message, &files, undo)
            .await
            .map_err(failed("repository"))?;
        if let Some(url) = &request.repository_url {
            job.ensure_held().await?;
            let credentials = self.inner.config.git_credentials.clone();
            let (repository, url) = (path.clone(), url.clone());
            tokio::task::spawn_blocking(move || {
                let credentials = credentials
                    .as_ref()
                    .map(|(user, password)| (user.as_str(), password.as_str()));
                paved_git::push(&repository, &url, BRANCH, credentials)
            })
            .await
            .map_err(|error| failed("repository")(error.to_string()))?
            .map_err(|error| failed("repository")(error.to_string()))?;
        }
        job.event(
            "repository",
            EventLevel::Done,
            &format!(
                "{} {}",
                if created {
                    "committed to"
                } else {
                    "found this job's commit in"
                },
                self.clone_url(request)
            ),
        )
        .await?;
        self.crash_point("repository");

        job.event(
            "catalog",
            EventLevel::Step,
            "registering the repository in the catalog",
        )
        .await?;
        let target = format!(
            "{}#ref={BRANCH}&path=catalog-info.yaml",
            request
                .repository_url
                .clone()
                .unwrap_or_else(|| path.display().to_string())
        );
        let record = job.audit_record(
            Action::CreateLocation,
            Resource::new(ResourceKind::Location, format!("git:{target}")),
        );
        let mutation = Mutation::fenced(&record, job);
        match self
            .inner
            .catalog
            .add_location("git", &target, false, &mutation)
            .await
        {
            Ok(added) => {
                undo.location = Some(added.location.id.clone());
                if !added.problems.is_empty() {
                    let problems: Vec<String> =
                        added.problems.iter().map(ToString::to_string).collect();
                    return Err(failed("catalog")(format!(
                        "the catalog refused the new repository's entities: {}",
                        problems.join("; ")
                    )));
                }
            }
            Err(CatalogError::Store(StoreError::LocationExists { .. })) => {
                // A previous run of this job registered it before a crash: still ours.
                let locations = self
                    .inner
                    .catalog
                    .locations()
                    .await
                    .map_err(|error| failed("catalog")(error.to_string()))?;
                undo.location = locations
                    .into_iter()
                    .find(|location| location.target == target)
                    .map(|location| location.id);
            }
            Err(CatalogError::Store(error)) => return Err(error.into()),
            Err(error) => return Err(failed("catalog")(error.to_string())),
        }
        job.event(
            "catalog",
            EventLevel::Done,
            &format!("component:default/{} is in the catalog", request.name),
        )
        .await?;
        self.crash_point("catalog");

        let clone_url = self.clone_url(request);
        let service = ServiceRow {
            name: request.name.clone(),
            owner: request.owner.clone(),
            template: request.template_name().to_owned(),
            template_version: version.clone(),
            repository_url: clone_url.clone(),
            spec: files::spec_value(request, &version).to_string(),
            job_id: job.id().clone(),
            created_at: now_millis(),
        };
        let result = json!({
            "service": request.name,
            "templateVersion": version,
            "cloneUrl": clone_url,
            "entityRef": format!("component:default/{}", request.name),
        });
        job.event(
            "record",
            EventLevel::Step,
            &format!("recording service `{}`", request.name),
        )
        .await?;
        let mut tx = job.transaction().await?;
        tx.insert_service(&service).await?;
        job.succeed(tx, &result).await
    }

    /// Creates the repository with its one commit, or finds the commit a previous run of
    /// this job made. Returns whether it created it.
    async fn write_repository(
        &self,
        path: &Path,
        job: &JobId,
        message: &str,
        files: &[RepositoryFile],
        undo: &mut Undo,
    ) -> Result<bool, String> {
        // Repositories made before tasks became jobs carry `Paved-Task`.
        let markers = [format!("Paved-Job: {job}"), format!("Paved-Task: {job}")];
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
                        Ok(Some((_, tip_message)))
                            if markers.iter().any(|marker| tip_message.contains(marker)) =>
                        {
                            Ok(false)
                        }
                        Ok(_) => Err(format!(
                            "`{}` exists and was not created by this job",
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
        // this job (its commit carries the job id), or left half-made by this run.
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
    async fn undo(&self, job: &JobContext, undo: &Undo) {
        if let Some(location) = &undo.location {
            let record = job.audit_record(
                Action::DeleteLocation,
                Resource::new(ResourceKind::Location, location.to_string()),
            );
            let mutation = Mutation::fenced(&record, job);
            if let Err(error) = self
                .inner
                .catalog
                .remove_location(location, &mutation)
                .await
            {
                tracing::error!(%error, job = %job.id(), "cannot remove the location of a failed job");
            }
        }
        if let Some(path) = &undo.repository
            && let Err(error) = std::fs::remove_dir_all(path)
        {
            tracing::error!(%error, job = %job.id(), "cannot remove the repository of a failed job");
        }
    }
}

/// The handler of [`CREATE_SERVICE`] jobs.
struct CreateServiceJob(Scaffolder);

#[async_trait::async_trait]
impl JobHandler for CreateServiceJob {
    fn kind(&self) -> &'static str {
        CREATE_SERVICE
    }

    async fn run(&self, job: &JobContext) -> Result<Succeeded, JobFailure> {
        self.0.run_job(job).await
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

/// Whether a repository URL holds a secret: a password, or any user part of an HTTP(S) URL
/// (`https://TOKEN@host/...`). `ssh://git@host/...` names a user, not a secret.
fn carries_credentials(url: &str) -> bool {
    let web = url.starts_with("https://") || url.starts_with("http://");
    paved_git::url_credentials(url).is_some() || (web && paved_git::has_userinfo(url))
}

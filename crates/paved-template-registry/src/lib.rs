//! The template registry: golden paths and their versions, kept in the store.
//!
//! A version is registered from a bundle's files (read by [`source`] from a directory, a
//! `.tar.gz` or git), checked by [`paved_template::bundle::Bundle::parse`] and, for a new
//! minor, against the previous minor's schema; then stored in one transaction with its bundle.
//! Nothing half-registered can exist: every check runs before the single insert.
//!
//! The registry also keeps the catalog's Template entities in step ([`entity`]), syncs git
//! repositories laid out `{template}/v{major}/` ([`sync`]), and registers the built-in golden
//! paths on first start ([`builtin`]).
//!
//! Start reading at [`Registry::register`].

pub mod builtin;
pub mod entity;
mod error;
pub mod source;
pub mod sync;
pub mod sync_plan;
pub mod version;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use paved_catalog::Catalog;
use paved_store::{Mutation, Store, StoreError, TemplateRow, TemplateVersionRow, now_millis};
use paved_template::bundle::{
    Bundle, BundleFile, CompatibleEnvironment, RenderContext, RenderRequest, TemplateKind,
    TemplateVersionRef,
};
use paved_template::schema;
use paved_template::{Limits, RenderedFile};
use serde_json::Value;

pub use crate::error::RegistryError;
use crate::source::SourceLimits;
pub use crate::version::{Version, VersionSelector, VersionStatus, parse_template_selector};

/// How long the catalog writer gathers changed templates before writing their entities.
const CATALOG_DEBOUNCE: Duration = Duration::from_millis(25);

/// The owner of a template whose bundle names none.
pub const DEFAULT_OWNER: &str = "group:default/platform";

/// Where the registry keeps its caches, and how often it syncs.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Mirrors of git repositories read for registration and sync.
    pub git_cache: PathBuf,
    /// The interval between template sync runs.
    pub sync_interval: Duration,
    /// Register the built-in golden paths at start when they are missing. `paved up` always
    /// does; tests of other things may not want them in the catalog.
    pub builtin_templates: bool,
    /// How many bytes of parsed bundles (and, apart, of parsed schemas) stay in memory. Any
    /// caller can make the registry parse any stored version (the render endpoint needs no
    /// token), so the caches are bounded by size; the least recently used go first.
    pub cache_bytes: u64,
}

/// [`RegistryConfig::cache_bytes`] by default: 64 MiB each for bundles and for schemas.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A template with its versions.
#[derive(Debug, Clone)]
pub struct TemplateInfo {
    pub template: TemplateRow,
    /// Oldest first.
    pub versions: Vec<VersionInfo>,
    /// The highest published version.
    pub recommended: Option<Version>,
}

/// One version, with its schemas parsed.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    pub version: Version,
    pub status: VersionStatus,
    pub format: String,
    pub engine: String,
    pub digest: String,
    pub source: String,
    pub description: String,
    pub compatible_environments: Vec<CompatibleEnvironment>,
    /// Shared: a stored version's schemas never change, so each is parsed once per process.
    pub schema: Arc<Value>,
    pub pipeline_schema: Option<Arc<Value>>,
    pub created_at: i64,
    pub published_at: Option<i64>,
    pub withdrawn_at: Option<i64>,
    pub withdrawn_reason: Option<String>,
}

/// What the registration call adds to, or overrides in, the bundle's own description.
/// Proton bundles need `name` (and, for services, `compatible_environments`) from here.
#[derive(Debug, Clone, Default)]
pub struct TemplateOverrides {
    pub name: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub compatible_environments: Vec<CompatibleEnvironment>,
}

/// A registration.
#[derive(Debug, Clone, Default)]
pub struct RegisterRequest {
    pub files: Vec<BundleFile>,
    /// Where the files came from, for the record (`archive`, `git:...@COMMIT`, `builtin`).
    pub source: String,
    pub overrides: TemplateOverrides,
    /// The major version to add a minor to (or to start at `N.0`); by default the highest.
    pub major: Option<u32>,
    /// Publish at once rather than register a draft.
    pub publish: bool,
    /// Check everything, store nothing.
    pub dry_run: bool,
}

/// The outcome of a registration.
#[derive(Debug, Clone)]
pub struct Registered {
    pub template: String,
    pub kind: TemplateKind,
    pub version: VersionInfo,
    /// The bundle was identical to the latest version of its major, which is returned.
    pub unchanged: bool,
    /// The bundle's file paths.
    pub files: Vec<String>,
}

/// A render's result.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub template: String,
    pub version: Version,
    pub files: Vec<RenderedFile>,
}

/// Inputs and context of a render.
#[derive(Debug, Clone, Default)]
pub struct RenderInput {
    pub inputs: Value,
    pub pipeline_inputs: Option<Value>,
    pub context: RenderContext,
}

/// The registry; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

struct Inner {
    store: Store,
    catalog: Catalog,
    config: RegistryConfig,
    /// Parsed bundles by template, version and digest; bundles never change once stored.
    bundles: SizedCache<Arc<Bundle>>,
    /// Parsed schemas (instance, pipeline) by template, version and digest, for the same reason.
    schemas: SizedCache<ParsedSchemas>,
    /// One registration at a time in this replica; across replicas the store's primary key
    /// refuses a second version with the same number.
    registering: tokio::sync::Mutex<()>,
    /// Held by a template sync run (see `Registry::run_sync`).
    syncing: tokio::sync::Mutex<()>,
    /// One catalog write at a time, each reading the template's state inside the lock, so
    /// the last write is always of the latest state.
    writing_catalog: tokio::sync::Mutex<()>,
    /// Templates whose catalog entity is to be rewritten by the background writer.
    catalog_queue: tokio::sync::mpsc::UnboundedSender<String>,
    /// How many queued rewrites were asked for, and how many are done.
    catalog_asked: std::sync::atomic::AtomicU64,
    catalog_done: tokio::sync::watch::Sender<u64>,
    /// Credentials for git remotes over HTTP, by host ([`Registry::set_git_credentials`]).
    git_credentials: std::sync::RwLock<Arc<paved_git::CredentialStore>>,
}

impl Registry {
    /// A registry over `store`, keeping `catalog`'s Template entities in step. Must be called
    /// inside a tokio runtime: it starts the background writer of catalog entities.
    pub fn new(store: Store, catalog: Catalog, config: RegistryConfig) -> Registry {
        let cache_bytes = config.cache_bytes;
        let (catalog_queue, mut queued) = tokio::sync::mpsc::unbounded_channel::<String>();
        let registry = Registry {
            inner: Arc::new(Inner {
                store,
                catalog,
                config,
                bundles: sized_cache(cache_bytes),
                schemas: sized_cache(cache_bytes),
                registering: tokio::sync::Mutex::new(()),
                syncing: tokio::sync::Mutex::new(()),
                writing_catalog: tokio::sync::Mutex::new(()),
                catalog_queue,
                catalog_asked: std::sync::atomic::AtomicU64::new(0),
                catalog_done: tokio::sync::watch::channel(0).0,
                git_credentials: std::sync::RwLock::default(),
            }),
        };
        // The writer holds only a weak handle, so dropping the last registry stops it.
        let weak = Arc::downgrade(&registry.inner);
        tokio::spawn(async move {
            while let Some(first) = queued.recv().await {
                // A burst of registrations (a sync, a script) becomes one write per template:
                // the writer gathers what arrives within a short debounce window.
                tokio::time::sleep(CATALOG_DEBOUNCE).await;
                let mut names = std::collections::BTreeSet::from([first]);
                let mut taken = 1;
                while let Ok(name) = queued.try_recv() {
                    names.insert(name);
                    taken += 1;
                }
                let Some(inner) = weak.upgrade() else { return };
                let registry = Registry { inner };
                for name in names {
                    if let Err(error) = registry.update_catalog(&name).await {
                        tracing::warn!(template = %name, %error, "cannot update a template's catalog entity");
                    }
                }
                registry
                    .inner
                    .catalog_done
                    .send_modify(|done| *done += taken);
            }
        });
        registry
    }

    /// Waits until every catalog write asked for before this call is done.
    pub async fn catalog_written(&self) {
        let asked = self
            .inner
            .catalog_asked
            .load(std::sync::atomic::Ordering::SeqCst);
        let mut done = self.inner.catalog_done.subscribe();
        let _ = done.wait_for(|done| *done >= asked).await;
    }

    /// Asks the background writer to rewrite a template's catalog entity.
    pub(crate) fn queue_catalog_update(&self, name: &str) {
        self.inner
            .catalog_asked
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.inner.catalog_queue.send(name.to_owned()).is_err() {
            tracing::warn!(template = name, "the catalog writer has stopped");
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.inner.config
    }

    /// Sets the credentials git sources over HTTP authenticate with, by host (`paved up`
    /// reads them from `--git-credentials`). Every clone of this registry uses them.
    pub fn set_git_credentials(&self, credentials: paved_git::CredentialStore) {
        *self
            .inner
            .git_credentials
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(credentials);
    }

    /// The configured credentials of `url`'s host, if any.
    pub fn git_credentials_for(&self, url: &str) -> Option<paved_git::Credentials> {
        self.inner
            .git_credentials
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .for_url(url)
            .cloned()
    }

    /// `source` with the configured credentials of its host, unless its URL brought its own.
    pub fn authenticate(&self, mut source: source::GitSource) -> source::GitSource {
        if source.credentials.is_none() {
            source.credentials = self.git_credentials_for(&source.repository);
        }
        source
    }

    /// Every template with its versions, by name.
    pub async fn list(&self) -> Result<Vec<TemplateInfo>, RegistryError> {
        let templates = self.inner.store.templates().await?;
        let mut versions: HashMap<String, Vec<VersionInfo>> = HashMap::new();
        for row in self.inner.store.template_versions(None).await? {
            versions
                .entry(row.template.clone())
                .or_default()
                .push(self.version_info(&row)?);
        }
        Ok(templates
            .into_iter()
            .map(|template| {
                let versions = versions.remove(&template.name).unwrap_or_default();
                TemplateInfo {
                    recommended: recommended(&versions),
                    template,
                    versions,
                }
            })
            .collect())
    }

    /// One template with its versions.
    pub async fn get(&self, name: &str) -> Result<TemplateInfo, RegistryError> {
        let Some(template) = self.inner.store.template(name).await? else {
            let names: Vec<String> = self
                .inner
                .store
                .templates()
                .await?
                .into_iter()
                .map(|template| template.name)
                .collect();
            let hint = nearest_name(name, &names)
                .map(|nearest| format!("; did you mean `{nearest}`?"))
                .unwrap_or_default();
            return Err(RegistryError::TemplateNotFound {
                name: name.to_owned(),
                hint,
            });
        };
        let versions = self
            .inner
            .store
            .template_versions(Some(name))
            .await?
            .iter()
            .map(|row| self.version_info(row))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TemplateInfo {
            recommended: recommended(&versions),
            template,
            versions,
        })
    }

    /// The version `selector` means: recommended and major selectors take published versions
    /// only; an exact version is taken whatever its state.
    pub async fn resolve(
        &self,
        name: &str,
        selector: VersionSelector,
    ) -> Result<VersionInfo, RegistryError> {
        let info = self.get(name).await?;
        let published = info
            .versions
            .iter()
            .filter(|version| version.status == VersionStatus::Published);
        let found = match selector {
            VersionSelector::Recommended => published.max_by_key(|version| version.version),
            VersionSelector::Major(major) => published
                .filter(|version| version.version.major == major)
                .max_by_key(|version| version.version),
            VersionSelector::Exact(wanted) => {
                return info
                    .versions
                    .into_iter()
                    .find(|version| version.version == wanted)
                    .ok_or(RegistryError::VersionNotFound {
                        template: name.to_owned(),
                        version: wanted,
                    });
            }
        };
        found.cloned().ok_or(RegistryError::NoPublishedVersion {
            template: name.to_owned(),
            selector,
        })
    }

    /// The bundle of a version, parsed (cached: stored bundles never change).
    pub async fn bundle(
        &self,
        name: &str,
        version: &VersionInfo,
    ) -> Result<Arc<Bundle>, RegistryError> {
        let key = (name.to_owned(), version.version, version.digest.clone());
        if let Some(bundle) = self.cached_bundle(&key) {
            return Ok(bundle);
        }
        let archive = self
            .inner
            .store
            .template_bundle(name, version.version.major, version.version.minor)
            .await?
            .ok_or_else(|| RegistryError::VersionNotFound {
                template: name.to_owned(),
                version: version.version,
            })?;
        let bundle = tokio::task::spawn_blocking(move || {
            let files = source::read_tar_gz(&archive, &SourceLimits::default())?;
            Bundle::parse(files).map_err(RegistryError::InvalidBundle)
        })
        .await
        .map_err(|error| RegistryError::Internal(error.to_string()))??;
        let bundle = Arc::new(bundle);
        self.inner.bundles.insert(key, bundle.clone());
        Ok(bundle)
    }

    /// How many bytes the caches of parsed bundles and schemas hold now.
    pub fn cached_bytes(&self) -> u64 {
        self.inner.bundles.weight() + self.inner.schemas.weight()
    }

    fn cached_bundle(&self, key: &(String, Version, String)) -> Option<Arc<Bundle>> {
        self.inner.bundles.get(key)
    }

    /// Registers a version from a bundle's files: parses and checks the bundle, numbers the
    /// version, checks a new minor's compatibility with the previous minor, and stores it with
    /// its bundle in one transaction. A bundle identical to the latest version of its major is
    /// not stored again; that version is returned with `unchanged`.
    pub async fn register(
        &self,
        request: RegisterRequest,
        mutation: &Mutation<'_>,
    ) -> Result<Registered, RegistryError> {
        let RegisterRequest {
            files,
            source,
            overrides,
            major,
            publish,
            dry_run,
        } = request;
        let digest = source::digest(&files);
        let paths: Vec<String> = files.iter().map(|file| file.path.clone()).collect();
        let (bundle, archive) = tokio::task::spawn_blocking(move || {
            let archive = source::pack_tar_gz(&files)?;
            let bundle = Bundle::parse(files).map_err(RegistryError::InvalidBundle)?;
            let problems = bundle.trial_render(&Limits::default());
            if !problems.is_empty() {
                return Err(RegistryError::InvalidBundle(problems));
            }
            Ok::<_, RegistryError>((bundle, archive))
        })
        .await
        .map_err(|error| RegistryError::Internal(error.to_string()))??;

        let name = template_name(&bundle, &overrides)?;
        let compatible_environments = if overrides.compatible_environments.is_empty() {
            bundle.compatible_environments.clone()
        } else {
            overrides.compatible_environments.clone()
        };
        match bundle.kind {
            TemplateKind::Service if compatible_environments.is_empty() => {
                return Err(RegistryError::InvalidRequest(
                    "a service template needs at least one compatible environment template: \
                     list it in the manifest's `spec.compatibleEnvironments`, or for a Proton \
                     bundle in `.template-registration.yaml` (`compatible_environments: \
                     [NAME:MAJOR]`) or `.compatible-envs`, or pass `--compatible-environment \
                     NAME:MAJOR`"
                        .to_owned(),
                ));
            }
            TemplateKind::Environment if !compatible_environments.is_empty() => {
                return Err(RegistryError::InvalidRequest(
                    "only service templates have compatible environment templates".to_owned(),
                ));
            }
            _ => {}
        }

        self.check_compatible_environments(&compatible_environments)
            .await?;

        let _registering = self.inner.registering.lock().await;
        let existing = self.inner.store.template(&name).await?;
        if let Some(existing) = &existing
            && existing.kind != bundle.kind.as_str()
        {
            return Err(RegistryError::KindMismatch {
                template: name,
                existing: existing.kind.clone(),
                found: bundle.kind.as_str().to_owned(),
            });
        }
        let versions = self.inner.store.template_versions(Some(&name)).await?;
        let major = major
            .or_else(|| versions.iter().map(|version| version.major).max())
            .unwrap_or(1);
        if major == 0 {
            return Err(RegistryError::InvalidRequest(
                "major versions start at 1".to_owned(),
            ));
        }
        let in_major: Vec<&TemplateVersionRow> = versions
            .iter()
            .filter(|version| version.major == major)
            .collect();
        if let Some(latest) = in_major.iter().max_by_key(|version| version.minor)
            && latest.digest == digest
        {
            let mut info = self.version_info(latest)?;
            if publish && !dry_run && info.status == VersionStatus::Draft {
                drop(_registering);
                info = self.publish(&name, info.version, mutation).await?;
            }
            return Ok(Registered {
                template: name,
                kind: bundle.kind,
                version: info,
                unchanged: true,
                files: paths,
            });
        }
        let minor = in_major
            .iter()
            .map(|version| version.minor + 1)
            .max()
            .unwrap_or(0);
        let version = Version::new(major, minor);
        if let Some(previous) = in_major
            .iter()
            .filter(|version| version.status != VersionStatus::Withdrawn.as_str())
            .max_by_key(|version| version.minor)
        {
            let previous_info = self.version_info(previous)?;
            check_compatible(&name, version, &previous_info, &bundle)?;
        }

        let now = now_millis();
        let metadata = &bundle.metadata;
        let template = TemplateRow {
            name: name.clone(),
            kind: bundle.kind.as_str().to_owned(),
            title: overrides.title.clone().or_else(|| metadata.title.clone()),
            description: overrides
                .description
                .clone()
                .or_else(|| metadata.description.clone())
                .or_else(|| {
                    existing
                        .as_ref()
                        .map(|existing| existing.description.clone())
                })
                .unwrap_or_default(),
            owner: overrides
                .owner
                .clone()
                .or_else(|| metadata.owner.clone())
                .or_else(|| existing.as_ref().map(|existing| existing.owner.clone()))
                .unwrap_or_else(|| DEFAULT_OWNER.to_owned()),
            tags: metadata.tags.clone(),
            created_at: existing
                .as_ref()
                .map_or(now, |existing| existing.created_at),
            updated_at: now,
        };
        let status = if publish {
            VersionStatus::Published
        } else {
            VersionStatus::Draft
        };
        let row = TemplateVersionRow {
            template: name.clone(),
            major,
            minor,
            status: status.as_str().to_owned(),
            format: enum_text(&bundle.format),
            engine: enum_text(&bundle.engine),
            digest,
            source,
            description: template.description.clone(),
            compatible_environments: serde_json::to_string(&compatible_environments)
                .expect("plain data serialises"),
            schema: bundle.schema.json().to_string(),
            pipeline_schema: bundle
                .pipeline_schema
                .as_ref()
                .map(|schema| schema.json().to_string()),
            created_at: now,
            published_at: publish.then_some(now),
            withdrawn_at: None,
            withdrawn_reason: None,
        };
        let info = self.version_info(&row)?;
        let registered = Registered {
            template: name.clone(),
            kind: bundle.kind,
            version: info,
            unchanged: false,
            files: paths,
        };
        if dry_run {
            return Ok(registered);
        }
        let mut tx = mutation.begin(&self.inner.store).await?;
        match tx.insert_template_version(&template, &row, &archive).await {
            Ok(()) => {}
            Err(StoreError::VersionExists { .. }) => {
                return Err(RegistryError::Conflict {
                    template: name,
                    version,
                });
            }
            Err(error) => return Err(error.into()),
        }
        mutation.audit.set_details(serde_json::json!({
            "template": name,
            "version": version.to_string(),
            "status": row.status,
            "digest": row.digest,
            "source": row.source,
        }));
        mutation.commit(tx).await?;
        self.inner
            .bundles
            .insert((name, version, row.digest.clone()), Arc::new(bundle));
        drop(_registering);
        // The catalog's view follows in the background (milliseconds): registration is done
        // once stored, and a burst of registrations becomes one catalog write per template.
        self.queue_catalog_update(&registered.template);
        Ok(registered)
    }

    /// Refuses compatible environments that are not an existing environment template with a
    /// version in that major, naming the first such one.
    async fn check_compatible_environments(
        &self,
        compatible: &[CompatibleEnvironment],
    ) -> Result<(), RegistryError> {
        for environment in compatible {
            let refuse = |reason: String| RegistryError::UnknownCompatibleEnvironment {
                template: environment.template.clone(),
                major: environment.major,
                reason,
            };
            let Some(template) = self.inner.store.template(&environment.template).await? else {
                return Err(refuse(format!(
                    "does not exist: no template is named `{}`; register the environment \
                     template first",
                    environment.template
                )));
            };
            if template.kind != TemplateKind::Environment.as_str() {
                return Err(refuse(format!(
                    "is a {} template, not an environment template",
                    template.kind
                )));
            }
            let versions = self
                .inner
                .store
                .template_versions(Some(&environment.template))
                .await?;
            if !versions
                .iter()
                .any(|version| version.major == environment.major)
            {
                return Err(refuse(format!(
                    "does not exist: `{}` has no major version {}",
                    environment.template, environment.major
                )));
            }
        }
        Ok(())
    }

    /// Publishes a draft (or a withdrawn version again). The recommended version becomes the
    /// highest published one.
    pub async fn publish(
        &self,
        name: &str,
        version: Version,
        mutation: &Mutation<'_>,
    ) -> Result<VersionInfo, RegistryError> {
        self.transition(name, version, VersionStatus::Published, None, mutation)
            .await
    }

    /// Withdraws a version: it is no longer offered or recommended; the previous published
    /// version becomes recommended again. Reversible with [`Registry::publish`].
    pub async fn withdraw(
        &self,
        name: &str,
        version: Version,
        reason: &str,
        mutation: &Mutation<'_>,
    ) -> Result<VersionInfo, RegistryError> {
        if reason.trim().is_empty() {
            return Err(RegistryError::InvalidRequest(
                "give a reason for withdrawing the version; teams see it".to_owned(),
            ));
        }
        self.transition(
            name,
            version,
            VersionStatus::Withdrawn,
            Some(reason),
            mutation,
        )
        .await
    }

    async fn transition(
        &self,
        name: &str,
        version: Version,
        to: VersionStatus,
        reason: Option<&str>,
        mutation: &Mutation<'_>,
    ) -> Result<VersionInfo, RegistryError> {
        let current = self.resolve(name, VersionSelector::Exact(version)).await?;
        let allowed = match to {
            VersionStatus::Published => current.status != VersionStatus::Published,
            VersionStatus::Withdrawn => current.status != VersionStatus::Withdrawn,
            VersionStatus::Draft => false,
        };
        if !allowed {
            return Err(RegistryError::InvalidTransition {
                template: name.to_owned(),
                version,
                status: current.status,
                action: match to {
                    VersionStatus::Published => "published",
                    VersionStatus::Withdrawn => "withdrawn",
                    VersionStatus::Draft => "made a draft",
                },
            });
        }
        let mut tx = mutation.begin(&self.inner.store).await?;
        tx.set_template_version_status(
            name,
            version.major,
            version.minor,
            to.as_str(),
            now_millis(),
            reason,
        )
        .await?;
        mutation.audit.set_details(serde_json::json!({
            "template": name,
            "version": version.to_string(),
            "before": current.status.as_str(),
            "after": to.as_str(),
            "reason": reason,
        }));
        mutation.commit(tx).await?;
        self.update_catalog(name).await?;
        self.resolve(name, VersionSelector::Exact(version)).await
    }

    /// Renders a version over inputs and a context: a dry run, nothing is stored.
    pub async fn render(
        &self,
        name: &str,
        selector: VersionSelector,
        input: RenderInput,
    ) -> Result<Rendered, RegistryError> {
        let version = self.resolve(name, selector).await?;
        let bundle = self.bundle(name, &version).await?;
        let request = RenderRequest {
            template: TemplateVersionRef {
                name: name.to_owned(),
                version: version.version.to_string(),
            },
            inputs: input.inputs,
            pipeline_inputs: input.pipeline_inputs,
            context: input.context,
        };
        let files =
            tokio::task::spawn_blocking(move || bundle.render(&request, &Limits::default()))
                .await
                .map_err(|error| RegistryError::Internal(error.to_string()))??;
        Ok(Rendered {
            template: name.to_owned(),
            version: version.version,
            files,
        })
    }

    /// Writes the catalog's Template entity of one template from the registry's current
    /// state. Each template is its own provided location (`paved:templates/NAME`), so a
    /// change reads and writes that template only.
    pub async fn update_catalog(&self, name: &str) -> Result<(), RegistryError> {
        let _writing = self.inner.writing_catalog.lock().await;
        let info = self.get(name).await?;
        let entities = vec![entity::template_entity(&info)];
        let problems = self
            .inner
            .catalog
            .provide_entities(&entity::provider(name), entities)
            .await?;
        for problem in problems {
            tracing::warn!(%problem, "a template's catalog entity is not valid");
        }
        Ok(())
    }
}

/// The template's name: from the call, or the manifest; both must agree when both are given.
fn template_name(bundle: &Bundle, overrides: &TemplateOverrides) -> Result<String, RegistryError> {
    let name = match (&overrides.name, &bundle.metadata.name) {
        (Some(given), Some(manifest)) if given != manifest => {
            return Err(RegistryError::InvalidRequest(format!(
                "the bundle's manifest names the template `{manifest}`, but the request names \
                 it `{given}`"
            )));
        }
        (Some(name), _) | (None, Some(name)) => name.clone(),
        (None, None) => {
            return Err(RegistryError::InvalidRequest(
                "an AWS Proton bundle does not name its template: pass the name (`--name NAME`)"
                    .to_owned(),
            ));
        }
    };
    if !paved_model::validation::is_valid_name(&name) {
        return Err(RegistryError::InvalidRequest(format!(
            "`{name}` is not a valid template name: 1-63 characters `[a-zA-Z0-9]` separated by \
             `-`, `_` or `.`"
        )));
    }
    Ok(name)
}

/// Refuses a new minor whose schemas would break inputs valid under the previous minor.
fn check_compatible(
    name: &str,
    version: Version,
    previous: &VersionInfo,
    bundle: &Bundle,
) -> Result<(), RegistryError> {
    let mut problems = schema::compatibility(&previous.schema, bundle.schema.json());
    let empty = serde_json::json!({ "type": "object" });
    let old_pipeline = previous.pipeline_schema.as_deref().unwrap_or(&empty);
    let new_pipeline = bundle
        .pipeline_schema
        .as_ref()
        .map_or(&empty, |schema| schema.json());
    problems.extend(
        schema::compatibility(old_pipeline, new_pipeline)
            .into_iter()
            .map(|mut problem| {
                problem.message = format!("pipeline {}", problem.message);
                problem
            }),
    );
    if problems.is_empty() {
        return Ok(());
    }
    Err(RegistryError::Incompatible {
        template: name.to_owned(),
        version,
        previous: previous.version,
        problems,
    })
}

fn recommended(versions: &[VersionInfo]) -> Option<Version> {
    versions
        .iter()
        .filter(|version| version.status == VersionStatus::Published)
        .map(|version| version.version)
        .max()
}

/// A serde enum's wire name (`proton`, `cloudformation`).
fn enum_text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        _ => String::new(),
    }
}

/// A version's instance and pipeline schemas, parsed.
type ParsedSchemas = (Arc<Value>, Option<Arc<Value>>);

/// A version's key in the caches: template, version and digest.
type VersionKey = (String, Version, String);

/// A cache of parsed versions bounded by their estimated size in memory.
type SizedCache<V> = quick_cache::sync::Cache<VersionKey, V, BySize>;

fn sized_cache<V: Clone>(bytes: u64) -> SizedCache<V>
where
    BySize: quick_cache::Weighter<VersionKey, V>,
{
    // The estimated item count only sizes the cache's tables; the weight bounds it.
    let estimated_items = usize::try_from(bytes / 4096).unwrap_or(usize::MAX).max(16);
    quick_cache::sync::Cache::with_weighter(estimated_items, bytes, BySize)
}

/// Weighs a cached version by the bytes it holds.
#[derive(Debug, Clone, Copy)]
struct BySize;

impl quick_cache::Weighter<VersionKey, Arc<Bundle>> for BySize {
    fn weight(&self, key: &VersionKey, bundle: &Arc<Bundle>) -> u64 {
        let bytes = key.0.len() + key.2.len() + bundle.size_bytes();
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }
}

impl quick_cache::Weighter<VersionKey, ParsedSchemas> for BySize {
    fn weight(&self, key: &VersionKey, (schema, pipeline): &ParsedSchemas) -> u64 {
        // The JSON text's length stands in for the parsed value's footprint.
        let text = |value: &Value| value.to_string().len();
        let bytes = key.0.len() + key.2.len() + text(schema) + pipeline.as_deref().map_or(0, text);
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }
}

impl Registry {
    /// A stored version row with its state and schemas parsed (schemas from the cache).
    fn version_info(&self, row: &TemplateVersionRow) -> Result<VersionInfo, RegistryError> {
        let corrupt = |what: &str, error: String| {
            RegistryError::Store(StoreError::Corrupt {
                table: "template_versions",
                message: format!(
                    "{what} of `{}` {}.{}: {error}",
                    row.template, row.major, row.minor
                ),
            })
        };
        let key = (
            row.template.clone(),
            Version::new(row.major, row.minor),
            row.digest.clone(),
        );
        let cached = self.inner.schemas.get(&key);
        let (schema, pipeline_schema) = match cached {
            Some(parsed) => parsed,
            None => {
                let schema: Value = serde_json::from_str(&row.schema)
                    .map_err(|error| corrupt("schema", error.to_string()))?;
                let pipeline_schema: Option<Value> = row
                    .pipeline_schema
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|error| corrupt("pipeline schema", error.to_string()))?;
                let parsed = (Arc::new(schema), pipeline_schema.map(Arc::new));
                self.inner.schemas.insert(key, parsed.clone());
                parsed
            }
        };
        Ok(VersionInfo {
            version: Version::new(row.major, row.minor),
            status: VersionStatus::parse(&row.status)
                .ok_or_else(|| corrupt("status", row.status.clone()))?,
            format: row.format.clone(),
            engine: row.engine.clone(),
            digest: row.digest.clone(),
            source: row.source.clone(),
            description: row.description.clone(),
            compatible_environments: serde_json::from_str(&row.compatible_environments)
                .map_err(|error| corrupt("compatible environments", error.to_string()))?,
            schema,
            pipeline_schema,
            created_at: row.created_at,
            published_at: row.published_at,
            withdrawn_at: row.withdrawn_at,
            withdrawn_reason: row.withdrawn_reason.clone(),
        })
    }
}

/// The registered name nearest to a mistyped `name` (`web-servise`, `web`, `Web-Service`),
/// if one is near enough to be what was meant: a normalised Damerau-Levenshtein similarity of
/// at least 0.6 (a typo or two in a short name), or `name` is a prefix of it.
pub fn nearest_name<'a>(name: &str, names: &'a [String]) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    names
        .iter()
        .map(|candidate| {
            let lower = candidate.to_lowercase();
            let mut score = strsim::normalized_damerau_levenshtein(&wanted, &lower);
            if !wanted.is_empty() && lower.starts_with(&wanted) {
                score = score.max(0.6);
            }
            (score, candidate.as_str())
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::nearest_name;

    #[test]
    fn a_mistyped_name_suggests_the_nearest_registered_one() {
        let names: Vec<String> = [
            "ecs-environment",
            "web-service",
            "backend-service",
            "worker-service",
            "scheduled-job",
        ]
        .map(str::to_owned)
        .to_vec();
        for (name, expect) in [
            ("web-servise", Some("web-service")),
            ("Web-Service", Some("web-service")),
            ("web", Some("web-service")),
            ("webservice", Some("web-service")),
            ("worker", Some("worker-service")),
            ("scheduled-jobs", Some("scheduled-job")),
            ("ecs-env", Some("ecs-environment")),
            ("payments", None),
            ("", None),
        ] {
            assert_eq!(nearest_name(name, &names), expect, "{name}");
        }
        assert_eq!(nearest_name("web", &[]), None);
    }
}

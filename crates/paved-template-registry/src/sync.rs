//! Template sync: a git repository laid out `{template}/v{major}/` kept registered, as AWS
//! Proton's template sync does. A new `vN` folder becomes `N.0`; a changed folder becomes the
//! next minor draft of its major (checked for compatibility like any minor); an unchanged one
//! adds nothing. Runs on demand and every sync interval; each bundle succeeds or fails alone.
//!
//! A sync's URL is stored without credentials: a sync runs again and again, long after the
//! call that added it, so it authenticates with the configured credentials of its host
//! ([`Registry::set_git_credentials`]). A URL with credentials the configuration does not
//! have for its host is refused, rather than stored in clear or left to fail later.

use paved_model::access::{Action, AuditRecord, Resource, ResourceKind, SystemLoop};
use paved_model::problem::Problem;
use paved_store::{Mutation, TemplateSyncRow, now_millis};

use crate::source::{self, BundleFile, GitSource, SourceLimits};
use crate::{RegisterRequest, Registry, RegistryError, TemplateOverrides, Version, sync_plan};

/// What one sync run did.
#[derive(Debug, Clone, Default)]
pub struct SyncOutcome {
    /// The commit read.
    pub commit: Option<String>,
    /// Versions registered by this run.
    pub registered: Vec<(String, Version)>,
    /// Bundles identical to their latest version.
    pub unchanged: usize,
    /// Per-bundle (or per-folder) problems; the other bundles were synced all the same.
    pub problems: Vec<Problem>,
}

impl Registry {
    /// Registers a repository for sync (or finds it registered) and syncs it now.
    pub async fn add_sync(
        &self,
        target: &str,
        mutation: &Mutation<'_>,
    ) -> Result<(TemplateSyncRow, SyncOutcome), RegistryError> {
        let parsed = GitSource::parse(target)?;
        if parsed.credentials.is_some() && self.git_credentials_for(&parsed.repository).is_none() {
            return Err(RegistryError::InvalidRequest(format!(
                "`{}` carries credentials, which Paved does not store: a sync runs again later, so \
                 give them to `paved up` for this host in its git credentials file \
                 (`--git-credentials FILE`, lines such as `https://USER:TOKEN@HOST`) and add the \
                 URL without them",
                parsed.repository
            )));
        }
        let canonical = GitSource {
            reference: None,
            credentials: None,
            ..parsed.clone()
        }
        .to_string();
        let reference = parsed.reference.as_deref().unwrap_or("");
        let sync_target = sync_target(&canonical, reference);
        // A repository that cannot be read now is refused at once, with nothing recorded, as
        // a catalog location that cannot be read is; what was read is the first run's.
        let running = self.inner.syncing.lock().await;
        let read = match self.read_repository(&sync_target).await? {
            Ok(read) => read,
            Err(error) => {
                return Err(RegistryError::InvalidRequest(format!(
                    "repository `{}` cannot be read, so no sync was added: {error}",
                    parsed.repository
                )));
            }
        };
        let mut tx = mutation.begin(self.store()).await?;
        let row = tx
            .ensure_template_sync(
                &uuid::Uuid::new_v4().to_string(),
                &canonical,
                reference,
                now_millis(),
            )
            .await?;
        mutation
            .audit
            .set_details(serde_json::json!({ "id": row.id }));
        mutation.commit(tx).await?;
        let outcome = self
            .apply_sync(&row.id, &sync_target, Ok(read), None)
            .await?;
        drop(running);
        let row = self
            .store()
            .template_sync(&row.id)
            .await?
            .ok_or_else(|| RegistryError::SyncNotFound(row.id.clone()))?;
        Ok((row, outcome))
    }

    /// Every sync source.
    pub async fn syncs(&self) -> Result<Vec<TemplateSyncRow>, RegistryError> {
        Ok(self.store().template_syncs().await?)
    }

    /// Forgets a sync source; the versions it registered stay.
    pub async fn remove_sync(
        &self,
        id: &str,
        mutation: &Mutation<'_>,
    ) -> Result<(), RegistryError> {
        let mut tx = mutation.begin(self.store()).await?;
        if !tx.delete_template_sync(id).await? {
            return Err(RegistryError::SyncNotFound(id.to_owned()));
        }
        mutation.commit(tx).await?;
        Ok(())
    }

    /// Reads the repository of a sync target (`REPOSITORY[#ref=REF]`) at its reference, with
    /// the configured credentials of its host; the outer error is an internal failure, the
    /// inner one the read's.
    async fn read_repository(
        &self,
        target: &str,
    ) -> Result<Result<(String, Vec<BundleFile>), source::SourceError>, RegistryError> {
        let git = self.authenticate(GitSource::parse(target)?);
        let cache = self.config().git_cache.clone();
        // HTTPS repositories are fetched as the catalog fetches them.
        let url_reader = self.inner.catalog.url_reader().clone();
        let budget = self.inner.catalog.read_budget();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let limits = SourceLimits {
                max_total_bytes: 256 * 1024 * 1024,
                max_files: 20_000,
                ..SourceLimits::default()
            };
            let https = url_reader.smart_http(&runtime, &budget);
            source::read_git_over(&cache, &git, &limits, Some(&https))
        })
        .await
        .map_err(|error| RegistryError::Internal(error.to_string()))
    }

    /// Syncs one source now. The versions it registers are recorded as the sync loop's
    /// changes; the run itself as the caller's (`mutation`), if a caller asked for it.
    pub async fn run_sync(
        &self,
        id: &str,
        mutation: Option<&Mutation<'_>>,
    ) -> Result<SyncOutcome, RegistryError> {
        // One run at a time in this process, so two runs of one source never split its
        // registrations between their answers.
        let _running = self.inner.syncing.lock().await;
        let row = self
            .store()
            .template_sync(id)
            .await?
            .ok_or_else(|| RegistryError::SyncNotFound(id.to_owned()))?;
        let target = sync_target(&row.repository, &row.reference);
        let read = self.read_repository(&target).await?;
        self.apply_sync(id, &target, read, mutation).await
    }

    /// Registers what a run read (or records why it could not read) and records the run.
    async fn apply_sync(
        &self,
        id: &str,
        target: &str,
        read: Result<(String, Vec<BundleFile>), source::SourceError>,
        mutation: Option<&Mutation<'_>>,
    ) -> Result<SyncOutcome, RegistryError> {
        let mut outcome = SyncOutcome::default();
        match read {
            Err(error) => outcome
                .problems
                .push(Problem::whole("sync-read", error.to_string())),
            Ok((commit, files)) => {
                let (bundles, problems) = sync_plan::plan(files);
                outcome
                    .problems
                    .extend(problems.into_iter().map(|problem| Problem {
                        file: Some(problem.path),
                        ..Problem::whole("sync-layout", problem.message)
                    }));
                // A service template may name an environment template of the same commit, as
                // Proton allows: what waits for one is tried again once the others are in.
                let mut waiting = Vec::new();
                for bundle in bundles {
                    let request = sync_request(&bundle, target, &commit);
                    let audit = sync_audit_record(&bundle.template);
                    match self.register(request, &Mutation::new(&audit)).await {
                        Err(RegistryError::UnknownCompatibleEnvironment { .. }) => {
                            waiting.push(bundle);
                        }
                        result => record(&mut outcome, &bundle, result),
                    }
                }
                for bundle in waiting {
                    let audit = sync_audit_record(&bundle.template);
                    let result = self
                        .register(
                            sync_request(&bundle, target, &commit),
                            &Mutation::new(&audit),
                        )
                        .await;
                    record(&mut outcome, &bundle, result);
                }
                outcome.commit = Some(commit);
            }
        }
        let problems =
            serde_json::to_string(&outcome.problems).expect("problems serialise to JSON");
        let mut tx = match mutation {
            Some(mutation) => mutation.begin(self.store()).await?,
            None => self.store().begin().await?,
        };
        tx.record_template_sync(id, outcome.commit.as_deref(), now_millis(), &problems)
            .await?;
        match mutation {
            Some(mutation) => {
                mutation.audit.set_details(serde_json::json!({
                    "commit": outcome.commit,
                    "registered": outcome.registered.iter()
                        .map(|(template, version)| format!("{template}@{version}"))
                        .collect::<Vec<_>>(),
                    "problems": outcome.problems.len(),
                }));
                mutation.commit(tx).await?;
            }
            None => tx.commit().await?,
        }
        Ok(outcome)
    }

    /// Takes credentials out of stored sync URLs (written before Paved stopped storing them),
    /// warning about each: the sync now uses the configured credentials of its host. A sync
    /// that becomes a duplicate of another is removed. Returns how many were changed.
    pub async fn forget_stored_credentials(&self) -> Result<usize, RegistryError> {
        let mut changed = 0;
        for sync in self.syncs().await? {
            if !paved_git::has_userinfo(&sync.repository) {
                continue;
            }
            let repository = paved_git::redact_url(&sync.repository);
            let record = AuditRecord::system(
                SystemLoop::Startup,
                Action::ForgetSyncCredentials,
                Resource::new(ResourceKind::TemplateSync, sync.id.clone()),
            );
            record.set_details(serde_json::json!({ "repository": repository }));
            let mutation = Mutation::new(&record);
            let mut tx = mutation.begin(self.store()).await?;
            tx.redact_template_sync_repository(&sync.id, &repository)
                .await?;
            mutation.commit(tx).await?;
            tracing::warn!(
                sync = %sync.id,
                %repository,
                "a template sync's URL held credentials; they are no longer stored: give them for its host with `paved up --git-credentials FILE`"
            );
            changed += 1;
        }
        Ok(changed)
    }

    /// Syncs every source every interval until `shutdown` resolves. Each round also rewrites
    /// every template's catalog entity, so a replica's view catches up with writes another
    /// replica raced with. The first round comes one interval after start, not at once: a
    /// sync added just after start runs on its own call, and its answer tells what it did.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        let interval = self.config().sync_interval;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = ticker.tick() => {}
            }
            match self.store().templates().await {
                Ok(templates) => {
                    for template in templates {
                        self.queue_catalog_update(&template.name);
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot list templates"),
            }
            let syncs = match self.syncs().await {
                Ok(syncs) => syncs,
                Err(error) => {
                    tracing::warn!(%error, "cannot list template syncs");
                    continue;
                }
            };
            for sync in syncs {
                match self.run_sync(&sync.id, None).await {
                    Ok(outcome) if !outcome.registered.is_empty() => tracing::info!(
                        repository = %sync.repository,
                        registered = outcome.registered.len(),
                        "template sync registered new versions"
                    ),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(repository = %sync.repository, %error, "template sync failed")
                    }
                }
            }
        }
    }
}

/// The registration of one synced bundle: a draft of its folder's major.
fn sync_request(bundle: &sync_plan::SyncBundle, target: &str, commit: &str) -> RegisterRequest {
    let folder = format!("{}/v{}", bundle.template, bundle.major);
    RegisterRequest {
        files: bundle.files.clone(),
        source: format!("git:{target}@{commit}#path={folder}"),
        overrides: TemplateOverrides {
            name: Some(bundle.template.clone()),
            ..TemplateOverrides::default()
        },
        major: Some(bundle.major),
        publish: false,
        dry_run: false,
    }
}

/// Adds one bundle's registration to the run's outcome.
fn record(
    outcome: &mut SyncOutcome,
    bundle: &sync_plan::SyncBundle,
    result: Result<crate::Registered, RegistryError>,
) {
    match result {
        Ok(registered) if registered.unchanged => outcome.unchanged += 1,
        Ok(registered) => outcome
            .registered
            .push((registered.template, registered.version.version)),
        Err(error) => outcome.problems.push(Problem {
            file: Some(format!("{}/v{}", bundle.template, bundle.major)),
            ..Problem::whole("sync-register", error.to_string())
        }),
    }
}

/// `REPO[#path=P]` with `ref=R` added.
/// What a sync reads: its repository (`REPOSITORY[#path=DIR]`) at its reference, if it has one.
fn sync_target(repository: &str, reference: &str) -> String {
    if reference.is_empty() {
        return repository.to_owned();
    }
    match repository.split_once('#') {
        Some((repository, rest)) => format!("{repository}#ref={reference}&{rest}"),
        None => format!("{repository}#ref={reference}"),
    }
}

/// The audit record of a version the sync loop registers.
fn sync_audit_record(template: &str) -> AuditRecord {
    AuditRecord::system(
        SystemLoop::TemplateSync,
        Action::RegisterTemplate,
        Resource::new(ResourceKind::Template, template),
    )
}

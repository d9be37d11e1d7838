//! Template sync: a git repository laid out `{template}/v{major}/` kept registered, as AWS
//! Proton's template sync does. A new `vN` folder becomes `N.0`; a changed folder becomes the
//! next minor draft of its major (checked for compatibility like any minor); an unchanged one
//! adds nothing. Runs on demand and every sync interval; each bundle succeeds or fails alone.

use paved_model::problem::Problem;
use paved_store::{TemplateSyncRow, now_millis};

use crate::source::{self, GitSource, SourceLimits};
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
    ) -> Result<(TemplateSyncRow, SyncOutcome), RegistryError> {
        let parsed = GitSource::parse(target)?;
        let canonical = GitSource {
            reference: None,
            ..parsed.clone()
        }
        .to_string();
        let row = self
            .store()
            .ensure_template_sync(
                &uuid::Uuid::new_v4().to_string(),
                &canonical,
                parsed.reference.as_deref().unwrap_or(""),
                now_millis(),
            )
            .await?;
        let outcome = self.run_sync(&row.id).await?;
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
    pub async fn remove_sync(&self, id: &str) -> Result<(), RegistryError> {
        if !self.store().delete_template_sync(id).await? {
            return Err(RegistryError::SyncNotFound(id.to_owned()));
        }
        Ok(())
    }

    /// Syncs one source now.
    pub async fn run_sync(&self, id: &str) -> Result<SyncOutcome, RegistryError> {
        let row = self
            .store()
            .template_sync(id)
            .await?
            .ok_or_else(|| RegistryError::SyncNotFound(id.to_owned()))?;
        let mut target = row.repository.clone();
        if !row.reference.is_empty() {
            target = with_reference(&target, &row.reference);
        }
        let git = GitSource::parse(&target)?;
        let cache = self.config().git_cache.clone();
        // HTTPS repositories are fetched as the catalog fetches them.
        let url_reader = self.inner.catalog.url_reader().clone();
        let budget = self.inner.catalog.read_budget();
        let runtime = tokio::runtime::Handle::current();
        let read = tokio::task::spawn_blocking(move || {
            let limits = SourceLimits {
                max_total_bytes: 256 * 1024 * 1024,
                max_files: 20_000,
                ..SourceLimits::default()
            };
            let https = url_reader.smart_http(&runtime, &budget);
            source::read_git_over(&cache, &git, &limits, Some(&https))
        })
        .await
        .map_err(|error| RegistryError::Internal(error.to_string()))?;
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
                for bundle in bundles {
                    let folder = format!("{}/v{}", bundle.template, bundle.major);
                    let request = RegisterRequest {
                        files: bundle.files,
                        source: format!("git:{target}@{commit}#path={folder}"),
                        overrides: TemplateOverrides {
                            name: Some(bundle.template.clone()),
                            ..TemplateOverrides::default()
                        },
                        major: Some(bundle.major),
                        publish: false,
                        dry_run: false,
                    };
                    match self.register(request).await {
                        Ok(registered) if registered.unchanged => outcome.unchanged += 1,
                        Ok(registered) => outcome
                            .registered
                            .push((registered.template, registered.version.version)),
                        Err(error) => outcome.problems.push(Problem {
                            file: Some(folder),
                            ..Problem::whole("sync-register", error.to_string())
                        }),
                    }
                }
                outcome.commit = Some(commit);
            }
        }
        let problems =
            serde_json::to_string(&outcome.problems).expect("problems serialise to JSON");
        self.store()
            .record_template_sync(id, outcome.commit.as_deref(), now_millis(), &problems)
            .await?;
        Ok(outcome)
    }

    /// Syncs every source every interval until `shutdown` resolves. Each round also rewrites
    /// every template's catalog entity, so a replica's view catches up with writes another
    /// replica raced with.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        let mut ticker = tokio::time::interval(self.config().sync_interval);
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
                match self.run_sync(&sync.id).await {
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

/// `REPO[#path=P]` with `ref=R` added.
fn with_reference(target: &str, reference: &str) -> String {
    match target.split_once('#') {
        Some((repository, rest)) => format!("{repository}#ref={reference}&{rest}"),
        None => format!("{target}#ref={reference}"),
    }
}

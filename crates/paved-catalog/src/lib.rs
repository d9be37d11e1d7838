//! The software catalog: locations in, entities out, with Backstage's model and query semantics.
//!
//! [`Catalog`] owns the in-memory [`index::Index`] and keeps it following the store: every
//! write goes to the store first, then the index catches up from the store's change feed, so
//! several replicas on one PostgreSQL serve the same catalog. Reading a location
//! ([`ingest`]) is separate from deciding what to write ([`refresh::plan_sync`], pure) and from
//! writing it.
//!
//! This crate knows nothing about HTTP. Start reading at [`Catalog::add_location`].

pub mod budget;
pub mod filter;
pub mod index;
pub mod ingest;
pub mod placeholder;
pub mod query;
pub mod refresh;
pub mod source;
pub mod url;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use paved_model::access::{Action, AuditRecord, Outcome, Resource, ResourceKind, SystemLoop};
use paved_model::ids::{LocationId, ReplicaId};
use paved_model::problem::Problem;
use paved_store::{Lease, LocationRow, Mutation, NewLocation, Store, StoreError, now_millis};
use serde_json::Value;

use crate::budget::{CancelFlag, CancelOnDrop, ReadBudget, ReadLimits};
use crate::index::Index;
use crate::query::{EntityQuery, QueryPage};
use crate::refresh::RefreshOutcome;
use crate::source::{LocationTarget, TargetError};

/// How the catalog reads and refreshes locations.
#[derive(Debug, Clone)]
pub struct CatalogConfig {
    /// Where git repositories are mirrored.
    pub git_cache: PathBuf,
    /// Relative `file` targets are taken from here.
    pub working_dir: PathBuf,
    /// How often each location is read again.
    pub refresh_interval: Duration,
    /// How long an orphaned entity stays (flagged) before it is deleted; it is deleted at the
    /// first refresh after this has passed.
    pub orphan_grace: Duration,
    /// This replica, for the leases that keep two replicas from refreshing one location.
    pub replica: ReplicaId,
    /// Paved's own files (`paved up` passes its data directory): no location reads inside
    /// them, whatever its target, so no admin token or database can reach a problem.
    pub private_paths: Vec<PathBuf>,
    /// The bounds of every read of a location.
    pub read_limits: ReadLimits,
    /// How `url` locations, URL targets and URL placeholders are read: per-host
    /// integrations and trusted roots.
    pub url_reader: url::UrlReader,
}

/// How long a replica may take to read and apply one location before another may take over.
const REFRESH_LEASE: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("location `{0}` not found")]
    LocationNotFound(LocationId),
    #[error("entity `{0}` not found")]
    EntityNotFound(String),
    #[error("location `{target}` cannot be read: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Unreadable {
        target: String,
        problems: Vec<Problem>,
    },
    #[error("reading the location failed: {0}")]
    Task(String),
    #[error("location `{0}` is being refreshed by another replica; try again shortly")]
    Busy(LocationId),
    #[error("the read of location `{target}` was cancelled: Paved is stopping")]
    Stopping { target: String },
    #[error(
        "location `{0}` holds entities Paved provides itself; they change with what provides them, not through the locations API"
    )]
    ProvidedLocation(LocationId),
}

/// Counts one read as running from its start until it is dropped, on whatever thread.
struct ReadRunning(tokio::sync::watch::Sender<usize>);

impl ReadRunning {
    fn start(counter: tokio::sync::watch::Sender<usize>) -> ReadRunning {
        counter.send_modify(|running| *running += 1);
        ReadRunning(counter)
    }
}

impl Drop for ReadRunning {
    fn drop(&mut self) {
        self.0.send_modify(|running| *running -= 1);
    }
}

/// What registering a location produced.
#[derive(Debug)]
pub struct AddedLocation {
    pub location: LocationRow,
    /// For a dry run, the entities it would produce; empty otherwise, as in Backstage (the
    /// entities are in the catalog).
    pub entities: Vec<Value>,
    /// The references of the entities it produced (or would produce).
    pub entity_refs: Vec<String>,
    /// Problems with individual documents; the valid ones were registered all the same.
    pub problems: Vec<Problem>,
    /// For a dry run: whether a location with the same type and target already exists.
    pub exists: bool,
}

/// How a refresh is written: a new location to insert with it, the refresh lease that fences
/// it, and the caller's audited change (none for the schedule and for provided entities).
#[derive(Debug, Default, Clone, Copy)]
struct RefreshWrite<'a> {
    insert: Option<&'a NewLocation>,
    lease: Option<&'a Lease>,
    mutation: Option<&'a Mutation<'a>>,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct CatalogStats {
    pub refreshes: AtomicU64,
    pub refresh_failures: AtomicU64,
    pub refresh_millis_total: AtomicU64,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    index: RwLock<Index>,
    config: CatalogConfig,
    /// Serialises catch-ups so revisions apply in order.
    catch_up: tokio::sync::Mutex<()>,
    /// Serialises this replica's refreshes; other replicas are kept out by leases.
    refreshing: tokio::sync::Mutex<()>,
    stats: CatalogStats,
    /// The index's revision, published after every change so waiters need not poll.
    revision: tokio::sync::watch::Sender<i64>,
    /// Raised when Paved stops: every read in progress stops at once.
    stopping: CancelFlag,
    /// How many reads of locations are running (on blocking threads).
    reads_running: tokio::sync::watch::Sender<usize>,
    /// `config.private_paths`, canonical.
    private_paths: Vec<PathBuf>,
}

impl Catalog {
    /// Builds the index from the store.
    pub async fn open(store: Store, config: CatalogConfig) -> Result<Catalog, CatalogError> {
        let (revision, rows) = store.entities().await?;
        let mut index = Index::default();
        index.apply(rows, &[], revision);
        tracing::info!(entities = index.len(), revision, "catalog index built");
        let private_paths = source::canonical_paths(&config.private_paths);
        Ok(Catalog {
            inner: Arc::new(Inner {
                store,
                index: RwLock::new(index),
                config,
                catch_up: tokio::sync::Mutex::new(()),
                refreshing: tokio::sync::Mutex::new(()),
                revision: tokio::sync::watch::Sender::new(revision),
                stats: CatalogStats::default(),
                stopping: CancelFlag::default(),
                reads_running: tokio::sync::watch::Sender::new(0),
                private_paths,
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn stats(&self) -> &CatalogStats {
        &self.inner.stats
    }

    /// A budget for one read outside the catalog (template sync reads git over HTTPS this
    /// way): the catalog's limits, stopped when Paved stops.
    pub fn read_budget(&self) -> ReadBudget {
        ReadBudget::new(
            self.inner.config.read_limits,
            vec![self.inner.stopping.clone()],
        )
    }

    /// How many reads of locations are running: a read outlives its request only until it
    /// notices the request is gone.
    pub fn watch_reads_running(&self) -> tokio::sync::watch::Receiver<usize> {
        self.inner.reads_running.subscribe()
    }

    /// How URLs (and git over HTTPS) are read: hosts, credentials, trusted roots.
    pub fn url_reader(&self) -> &url::UrlReader {
        &self.inner.config.url_reader
    }

    /// A read view of the index.
    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        // A panic while holding the lock leaves the index as it was between two `apply`s,
        // which is consistent; keep serving.
        self.inner
            .index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Follows the index's revision: changes whenever the index does (this replica's writes,
    /// other replicas' writes it caught up with, scheduled refreshes).
    pub fn watch_revision(&self) -> tokio::sync::watch::Receiver<i64> {
        self.inner.revision.subscribe()
    }

    /// Applies every store change after the index's revision.
    pub async fn catch_up(&self) -> Result<(), CatalogError> {
        let _guard = self.inner.catch_up.lock().await;
        let revision = self.index().revision;
        let changes = self.inner.store.entity_changes_since(revision).await?;
        if changes.revision > revision {
            let mut index = self
                .inner
                .index
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            index.apply(changes.upserted, &changes.deleted, changes.revision);
            self.inner.revision.send_replace(index.revision);
        }
        Ok(())
    }

    pub fn query(&self, query: &EntityQuery) -> QueryPage {
        query::run_query(&self.index(), query)
    }

    /// The rendered entity with this canonical reference, if any.
    pub fn entity_by_ref(&self, entity_ref: &str) -> Option<String> {
        let index = self.index();
        index
            .by_ref(&entity_ref.to_lowercase())
            .map(|entity| index.render(entity))
    }

    pub fn entity_by_uid(&self, uid: &str) -> Option<String> {
        let index = self.index();
        index.by_uid(uid).map(|entity| index.render(entity))
    }

    /// Entities for each reference, in order, `None` where missing (Backstage's by-refs).
    pub fn entities_by_refs(
        &self,
        entity_refs: &[String],
        fields: &[String],
    ) -> Vec<Option<String>> {
        let index = self.index();
        entity_refs
            .iter()
            .map(|entity_ref| {
                let key = paved_model::entity_ref::EntityRef::parse_full(entity_ref)
                    .ok()?
                    .key();
                index
                    .by_ref(&key)
                    .map(|entity| query::render_fields(&index, entity, fields))
            })
            .collect()
    }

    pub fn facets(
        &self,
        facets: &[String],
        filter: Option<&filter::Filter>,
    ) -> Vec<(String, Vec<(String, usize)>)> {
        query::facets(&self.index(), facets, filter)
    }

    /// The registered locations. Locations of entities Paved provides itself (type `paved`)
    /// are not registered by anyone and are left out.
    pub async fn locations(&self) -> Result<Vec<LocationRow>, CatalogError> {
        let mut locations = self.inner.store.locations().await?;
        locations.retain(|location| location.location_type != ingest::PROVIDED_LOCATION_TYPE);
        Ok(locations)
    }

    pub async fn location(&self, id: &LocationId) -> Result<LocationRow, CatalogError> {
        self.inner
            .store
            .location(id)
            .await?
            .ok_or_else(|| CatalogError::LocationNotFound(id.clone()))
    }

    /// The location that produced an entity.
    pub async fn location_of_entity(&self, entity_ref: &str) -> Result<LocationRow, CatalogError> {
        let location_id = {
            let index = self.index();
            let entity = index
                .by_ref(&entity_ref.to_lowercase())
                .ok_or_else(|| CatalogError::EntityNotFound(entity_ref.to_owned()))?;
            entity.row.location_id.clone()
        };
        let location_id =
            location_id.ok_or_else(|| CatalogError::EntityNotFound(entity_ref.to_owned()))?;
        self.location(&location_id).await
    }

    /// Registers a location and reads it at once, or with `dry_run` only reads it.
    ///
    /// A target that cannot be read at all is refused and nothing is stored. Documents with
    /// problems are reported and skipped; the valid ones are registered.
    pub async fn add_location(
        &self,
        location_type: &str,
        target: &str,
        dry_run: bool,
        mutation: &Mutation<'_>,
    ) -> Result<AddedLocation, CatalogError> {
        let parsed = LocationTarget::parse(location_type, target, &self.inner.config.working_dir)?;
        let canonical_target = parsed.canonical_target();
        // The read stops when the caller stops waiting for it (a client that disconnected).
        let abandoned = CancelOnDrop(CancelFlag::default());
        let ingested = self
            .read_location(parsed.clone(), &canonical_target, Some(abandoned.0.clone()))
            .await?;
        if ingested.fatal {
            return Err(CatalogError::Unreadable {
                target: canonical_target,
                problems: ingested.problems,
            });
        }
        let now = now_millis();
        if dry_run {
            let exists = self.inner.store.locations().await?.iter().any(|location| {
                location.location_type == parsed.location_type()
                    && location.target == canonical_target
            });
            return Ok(AddedLocation {
                location: LocationRow {
                    id: LocationId(uuid::Uuid::new_v4().to_string()),
                    location_type: parsed.location_type().to_owned(),
                    target: canonical_target,
                    created_at: now,
                    refreshed_at: None,
                    next_refresh_at: now,
                    problems: ingested.problems.clone(),
                },
                entities: ingest::candidates_as_json(&ingested.candidates),
                entity_refs: ingested
                    .candidates
                    .iter()
                    .map(|candidate| candidate.entity_ref.clone())
                    .collect(),
                problems: ingested.problems,
                exists,
            });
        }
        let new = NewLocation {
            id: LocationId(uuid::Uuid::new_v4().to_string()),
            location_type: parsed.location_type().to_owned(),
            target: canonical_target,
            created_at: now,
        };
        let location = new.row();
        let write = RefreshWrite {
            insert: Some(&new),
            lease: None,
            mutation: Some(mutation),
        };
        let outcome = self.apply_refresh(&location, ingested, write).await?;
        let entity_refs = self
            .index()
            .refs_of_location(Some(&location.id))
            .map(str::to_owned)
            .collect();
        let location = self.location(&location.id).await?;
        Ok(AddedLocation {
            location,
            entities: Vec::new(),
            entity_refs,
            problems: outcome.problems,
            exists: false,
        })
    }

    /// Replaces the entities `provider` (a part of Paved, such as `templates`) provides with
    /// `entities`, at once, under the location `paved:{provider}`. Entities it no longer
    /// provides are orphaned, then deleted, as for any location. Invalid entities are returned
    /// as problems and skipped.
    pub async fn provide_entities(
        &self,
        provider: &str,
        entities: Vec<Value>,
    ) -> Result<Vec<Problem>, CatalogError> {
        let location_type = ingest::PROVIDED_LOCATION_TYPE;
        let store = &self.inner.store;
        let ingested = ingest::provided(provider, entities.clone());
        let problems = ingested.problems.clone();
        match store.location_by_target(location_type, provider).await? {
            Some(location) => {
                self.apply_refresh(&location, ingested, RefreshWrite::default())
                    .await?;
            }
            None => {
                let new = NewLocation {
                    id: LocationId(uuid::Uuid::new_v4().to_string()),
                    location_type: location_type.to_owned(),
                    target: provider.to_owned(),
                    created_at: now_millis(),
                };
                let write = RefreshWrite {
                    insert: Some(&new),
                    ..RefreshWrite::default()
                };
                match self.apply_refresh(&new.row(), ingested, write).await {
                    Ok(_) => {}
                    // Another replica created it first.
                    Err(CatalogError::Store(StoreError::LocationExists { .. })) => {
                        let location = store
                            .location_by_target(location_type, provider)
                            .await?
                            .ok_or_else(|| {
                                CatalogError::Task("provided location vanished".into())
                            })?;
                        let ingested = ingest::provided(provider, entities);
                        self.apply_refresh(&location, ingested, RefreshWrite::default())
                            .await?;
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(problems)
    }

    /// Deletes a location and every entity it produced.
    pub async fn remove_location(
        &self,
        id: &LocationId,
        mutation: &Mutation<'_>,
    ) -> Result<(), CatalogError> {
        let location = self.location(id).await?;
        if location.location_type == ingest::PROVIDED_LOCATION_TYPE {
            return Err(CatalogError::ProvidedLocation(id.clone()));
        }
        let mut tx = mutation.begin(&self.inner.store).await?;
        if !tx.delete_location(id).await? {
            return Err(CatalogError::LocationNotFound(id.clone()));
        }
        mutation.audit.set_details(serde_json::json!({
            "type": location.location_type,
            "target": location.target,
        }));
        mutation.commit(tx).await?;
        self.catch_up().await
    }

    /// Reads a location again now, whatever its schedule, for a caller (`mutation`, whose
    /// record the refresh writes).
    ///
    /// The refresh runs on its own task: a caller that stops waiting (a client that
    /// disconnected) does not stop it, since it holds the location's lease and is bounded
    /// like every read. Callers hold no lease of their own, so the refresh is fenced by the
    /// location's lease only.
    pub async fn refresh_location(
        &self,
        id: &LocationId,
        mutation: &Mutation<'_>,
    ) -> Result<RefreshOutcome, CatalogError> {
        let location = self.location(id).await?;
        if location.location_type == ingest::PROVIDED_LOCATION_TYPE {
            return Err(CatalogError::ProvidedLocation(id.clone()));
        }
        let record = mutation.audit.clone();
        let catalog = self.clone();
        tokio::spawn(async move {
            catalog
                .refresh(&location, Some(&Mutation::new(&record)))
                .await
        })
        .await
        .map_err(|error| CatalogError::Task(error.to_string()))??
        .ok_or_else(|| CatalogError::Busy(id.clone()))
    }

    /// Refreshes every location that is due; returns how many were refreshed.
    pub async fn refresh_due(&self) -> Result<usize, CatalogError> {
        let mut refreshed = 0;
        for location in self.inner.store.due_locations(now_millis()).await? {
            if location.location_type == ingest::PROVIDED_LOCATION_TYPE {
                continue;
            }
            // One location failing must not hold back the others; it is retried when due again.
            match self.refresh(&location, None).await {
                Ok(Some(_)) => refreshed += 1,
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(location = %location.id, %error, "scheduled refresh failed")
                }
            }
        }
        Ok(refreshed)
    }

    /// Reads and applies one location if this replica gets its lease: for a caller
    /// (`mutation`) at once, for the schedule only if it is still due. None when it did not.
    async fn refresh(
        &self,
        location: &LocationRow,
        mutation: Option<&Mutation<'_>>,
    ) -> Result<Option<RefreshOutcome>, CatalogError> {
        let store = &self.inner.store;
        let lease_name = format!("location:{}", location.id);
        let Some(lease) = store
            .acquire_lease(
                &lease_name,
                &self.inner.config.replica,
                REFRESH_LEASE,
                now_millis(),
            )
            .await?
        else {
            return Ok(None);
        };
        let outcome = self.refresh_leased(location, mutation, &lease).await;
        if let Err(error) = store.release_lease(&lease).await {
            tracing::warn!(%error, location = %location.id, "cannot release a refresh lease");
        }
        outcome
    }

    async fn refresh_leased(
        &self,
        location: &LocationRow,
        mutation: Option<&Mutation<'_>>,
        lease: &Lease,
    ) -> Result<Option<RefreshOutcome>, CatalogError> {
        // The schedule refreshes only what is still due: another replica may have refreshed it
        // between the listing and the lease.
        let location = match self.inner.store.location(&location.id).await? {
            Some(current) if mutation.is_some() || current.next_refresh_at <= now_millis() => {
                current
            }
            Some(_) => return Ok(None),
            None => return Err(CatalogError::LocationNotFound(location.id.clone())),
        };
        let location = &location;
        let started = std::time::Instant::now();
        let target = LocationTarget::parse(
            &location.location_type,
            &location.target,
            &self.inner.config.working_dir,
        )?;
        let ingested = self.read_location(target, &location.target, None).await?;
        let write = RefreshWrite {
            insert: None,
            lease: Some(lease),
            mutation,
        };
        let outcome = self.apply_refresh(location, ingested, write).await;
        let stats = &self.inner.stats;
        stats.refreshes.fetch_add(1, Ordering::Relaxed);
        stats
            .refresh_millis_total
            .fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        if outcome.is_err() {
            stats.refresh_failures.fetch_add(1, Ordering::Relaxed);
        }
        outcome.map(Some)
    }

    /// Reads a location within the configured limits; the read stops when Paved stops, and
    /// when `cancel` is raised.
    async fn read_location(
        &self,
        target: LocationTarget,
        canonical_target: &str,
        cancel: Option<CancelFlag>,
    ) -> Result<ingest::Ingested, CatalogError> {
        let origin = format!("{}:{canonical_target}", target.location_type());
        let git_cache = self.inner.config.git_cache.clone();
        let started = std::time::Instant::now();
        let mut cancel_flags = vec![self.inner.stopping.clone()];
        cancel_flags.extend(cancel);
        let context = source::ReadContext {
            budget: ReadBudget::new(self.inner.config.read_limits, cancel_flags),
            private_paths: self.inner.private_paths.clone(),
            urls: Some((
                self.inner.config.url_reader.clone(),
                tokio::runtime::Handle::current(),
            )),
        };
        tracing::debug!(target = canonical_target, "reading location");
        let running = ReadRunning::start(self.inner.reads_running.clone());
        let ingested = tokio::task::spawn_blocking(move || {
            let _running = running;
            ingest::ingest(&target, &origin, &git_cache, &context)
        })
        .await
        .map_err(|error| CatalogError::Task(error.to_string()))?;
        if self.inner.stopping.is_cancelled() {
            return Err(CatalogError::Stopping {
                target: canonical_target.to_owned(),
            });
        }
        tracing::debug!(
            read_ms = started.elapsed().as_millis() as u64,
            candidates = ingested.candidates.len(),
            "location read"
        );
        Ok(ingested)
    }

    async fn apply_refresh(
        &self,
        location: &LocationRow,
        ingested: ingest::Ingested,
        write: RefreshWrite<'_>,
    ) -> Result<RefreshOutcome, CatalogError> {
        let _refreshing = self.inner.refreshing.lock().await;
        self.catch_up().await?;
        let started = std::time::Instant::now();
        let now = now_millis();
        let (sync, outcome) = {
            let index = self.index();
            refresh::plan_sync(&index, location, ingested, now, &self.inner.config)
        };
        let planned = started.elapsed();
        let revision = self.write_sync(&sync, &outcome, write).await?;
        let written = started.elapsed();
        self.apply_own_write(location, sync, revision).await?;
        tracing::debug!(
            plan_ms = planned.as_millis() as u64,
            write_ms = (written - planned).as_millis() as u64,
            index_ms = (started.elapsed() - written).as_millis() as u64,
            "refresh timings"
        );
        tracing::info!(
            location = %location.id,
            written = outcome.written,
            orphaned = outcome.orphaned,
            deleted = outcome.deleted,
            problems = outcome.problems.len(),
            "location refreshed"
        );
        Ok(outcome)
    }

    /// Writes one refresh in one transaction: the new location (if any), the entities, and the
    /// audit record: the caller's, or for the schedule's own deletions of orphans, the refresh
    /// loop's.
    async fn write_sync(
        &self,
        sync: &paved_store::LocationSync,
        outcome: &RefreshOutcome,
        write: RefreshWrite<'_>,
    ) -> Result<i64, CatalogError> {
        let store = &self.inner.store;
        let mut tx = match write.mutation {
            Some(mutation) => mutation.begin(store).await?,
            None => store.begin().await?,
        };
        if let Some(lease) = write.lease {
            tx.fence(lease, now_millis()).await?;
        }
        if let Some(new) = write.insert {
            tx.insert_location(new).await?;
        }
        let revision = tx.sync_location(sync).await?;
        let details = serde_json::json!({
            "written": outcome.written,
            "orphaned": outcome.orphaned,
            "deleted": outcome.deleted,
            "problems": outcome.problems.len(),
        });
        match write.mutation {
            Some(mutation) => {
                mutation.audit.set_details(details);
                mutation.commit(tx).await?;
            }
            None if !sync.deletes.is_empty() => {
                let location = sync
                    .location_id
                    .as_ref()
                    .map_or_else(String::new, ToString::to_string);
                let record = AuditRecord::system(
                    SystemLoop::CatalogRefresh,
                    Action::DeleteOrphans,
                    Resource::new(ResourceKind::Location, location),
                );
                record.set_details(serde_json::json!({
                    "deleted": sync.deletes.iter().take(20).collect::<Vec<_>>(),
                    "count": sync.deletes.len(),
                }));
                tx.audit(&record, &Outcome::Succeeded).await?;
                tx.commit().await?;
            }
            None => tx.commit().await?,
        }
        Ok(revision)
    }

    /// Brings the index to `revision` after this replica's own write. When no other write came
    /// between the plan and this one, the rows written are exactly the store's change, and are
    /// applied without reading them back; otherwise the index catches up from the store.
    async fn apply_own_write(
        &self,
        location: &LocationRow,
        sync: paved_store::LocationSync,
        revision: i64,
    ) -> Result<(), CatalogError> {
        {
            let _guard = self.inner.catch_up.lock().await;
            let mut index = self
                .inner
                .index
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if index.revision == revision - 1 {
                let rows = sync
                    .upserts
                    .into_iter()
                    .map(|write| paved_store::EntityRow {
                        entity_ref: write.entity_ref,
                        uid: write.uid,
                        location_id: Some(location.id.clone()),
                        source: write.source,
                        body: write.body,
                        content_hash: write.content_hash,
                        orphaned_at: write.orphaned_at,
                        revision,
                    })
                    .collect();
                index.apply(rows, &sync.deletes, revision);
                self.inner.revision.send_replace(index.revision);
                return Ok(());
            }
        }
        self.catch_up().await
    }

    /// Refreshes due locations and follows other replicas' writes until `shutdown` resolves;
    /// then stops every read in progress ([`Catalog::stop_reads`]) and returns at once,
    /// whatever it was doing (a refresh interrupted before its write writes nothing).
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        let work = async {
            loop {
                ticker.tick().await;
                if let Err(error) = self.catch_up().await {
                    tracing::warn!(%error, "catalog catch-up failed; retrying");
                }
                if let Err(error) = self.refresh_due().await {
                    tracing::warn!(%error, "scheduled refresh failed; retrying");
                }
            }
        };
        tokio::select! {
            _ = &mut shutdown => {}
            _ = work => {}
        }
        self.stop_reads();
    }

    /// Stops every read of a location in progress, and every later one: for shutdown.
    pub fn stop_reads(&self) {
        self.inner.stopping.cancel();
    }

    /// Validates one entity as a location would, without storing anything: the errors that
    /// would keep it out (warnings are left out, as Backstage's validator has none).
    pub fn validate(&self, entity: &Value) -> Vec<Problem> {
        let mut problems = paved_model::validation::validate_entity_with_references(entity);
        problems.retain(Problem::is_error);
        problems
    }
}

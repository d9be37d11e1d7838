//! Durable jobs: background work that survives crashes and runs exactly once across replicas.
//!
//! A **job** has a kind, a subject, a plan (resolved when it was accepted), a state
//! ([`JobState`]), an append-only event log, and an owner lease (`job:ID`) with a fencing
//! generation. Work of every kind runs through one [`JobRunner`]; what a kind does is a
//! [`JobHandler`] registered under its name.
//!
//! # Expected flow
//! 1. A caller records a job with [`JobRunner::submit`] inside its own store transaction
//!    (which also holds the call's audit record), commits, and calls [`JobRunner::wake`].
//! 2. A replica's runner claims it (lease plus subject, in one transaction) and runs its handler
//!    with a [`JobContext`], renewing the lease by heartbeat while it runs.
//! 3. The handler writes only through the context ([`JobContext::event`],
//!    [`JobContext::transaction`], [`JobContext::succeed`]): each write is fenced by the lease.
//! 4. The job ends succeeded (the handler's [`JobContext::succeed`]), failed (the handler's
//!    [`JobFailure`]) or cancelled.
//!
//! # Guarantees
//! - At most one replica runs a job at a time; jobs of one subject run one at a time, in the
//!   order they were accepted.
//! - A replica that lost a job's lease writes nothing more for it (no event, no state change,
//!   no domain write made through [`JobContext::transaction`]); its handler future is dropped
//!   at its next await.
//! - A job whose replica died is taken over after its lease expires; a replica restarted on
//!   the same data directory takes its own jobs back at once.
//! - A job of a kind no handler here knows is never touched: it waits, reported in the log,
//!   for a replica that knows it.
//!
//! # Assumptions
//! - Handlers are idempotent: a resumed job runs its handler again from the start, and the
//!   handler must find what an earlier run did (the plan and [`JobContext::progress`] help).
//! - Side effects outside the store (git, processes, AWS) cannot be fenced; handlers check
//!   [`JobContext::ensure_held`] before irreversible ones.
//!
//! Start reading at [`JobRunner`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use paved_model::access::{Action, AuditRecord, Principal, Resource, SystemLoop};
use paved_model::ids::{JobId, ReplicaId};
use paved_model::job::{EventLevel, JobState};
use paved_store::{
    Fence, JobEventRow, JobFilter, JobRow, Lease, Mutation, NewJob, Store, StoreError, Tx,
    now_millis,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};

/// What a kind of job does.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The kind this handler runs (`service.create`).
    fn kind(&self) -> &'static str;

    /// Runs a job, or resumes it after a crash or a takeover (see the crate's Assumptions).
    /// Succeeds only through [`JobContext::succeed`].
    async fn run(&self, job: &JobContext) -> Result<Succeeded, JobFailure>;
}

/// Proof that a job's success was committed under its lease; only
/// [`JobContext::succeed`] makes one.
#[derive(Debug)]
pub struct Succeeded(());

/// How a job did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobFailure {
    /// It failed at `step`; the job ends failed with this reason.
    #[error("step `{step}` failed: {reason}")]
    Failed { step: String, reason: String },
    /// It stopped because it was asked to; the job ends cancelled.
    #[error("cancelled: {reason}")]
    Cancelled { reason: String },
    /// The lease was lost: another replica owns the job now, and this one writes nothing.
    #[error("lost the lease of the job")]
    LeaseLost,
    /// The store failed; the job stays running and is resumed after its lease expires.
    #[error("store: {0}")]
    Store(StoreError),
}

impl JobFailure {
    pub fn failed(step: impl Into<String>, reason: impl Into<String>) -> JobFailure {
        JobFailure::Failed {
            step: step.into(),
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for JobFailure {
    fn from(error: StoreError) -> JobFailure {
        match error {
            StoreError::LeaseLost { .. } => JobFailure::LeaseLost,
            error => JobFailure::Store(error),
        }
    }
}

/// What the runner refuses.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("no job kind `{0}` is registered")]
    UnknownKind(String),
    #[error("`{0}` is busy with another job")]
    SubjectBusy(String),
    #[error("job `{0}` not found")]
    NotFound(JobId),
    #[error("job `{0}` has already ended")]
    Finished(JobId),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for JobError {
    fn from(error: StoreError) -> JobError {
        match error {
            StoreError::SubjectBusy { subject } => JobError::SubjectBusy(subject),
            error => JobError::Store(error),
        }
    }
}

/// How the runner runs.
#[derive(Debug, Clone)]
pub struct JobRunnerConfig {
    /// This replica (its leases are held under this name).
    pub replica: ReplicaId,
    /// How long a job's lease lasts without a heartbeat; renewed every third of it.
    pub lease_ttl: Duration,
    /// How often to look for jobs this replica was not told about (other replicas' jobs,
    /// expired leases).
    pub poll_interval: Duration,
    /// At most this many jobs run at once on this replica.
    pub max_concurrent: usize,
    /// The clock leases are measured by.
    pub clock: Clock,
}

/// The clock a runner measures leases by: the system's, plus an offset that only tests move
/// (to play a replica that stalled past its lease while another took the job over).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_millis: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the epoch.
    pub fn now(&self) -> i64 {
        now_millis().saturating_add(self.offset_millis.load(Ordering::Relaxed))
    }

    /// Moves this clock forward (tests).
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_millis.fetch_add(by, Ordering::Relaxed);
    }
}

impl JobRunnerConfig {
    pub fn new(replica: ReplicaId) -> JobRunnerConfig {
        JobRunnerConfig {
            replica,
            lease_ttl: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            max_concurrent: 16,
            clock: Clock::default(),
        }
    }
}

/// A job to accept.
#[derive(Debug, Clone)]
pub struct JobRequest<P> {
    pub kind: &'static str,
    /// What it acts on (`service:payments`).
    pub subject: String,
    pub principal: Principal,
    pub plan: P,
    /// Refuse it while another unfinished job holds the subject, instead of queueing.
    pub exclusive: bool,
}

/// Runs jobs; cheap to clone.
#[derive(Clone)]
pub struct JobRunner {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JobRunner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("JobRunner")
            .field("replica", &self.inner.config.replica)
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Store,
    config: JobRunnerConfig,
    handlers: RwLock<HashMap<&'static str, Arc<dyn JobHandler>>>,
    /// Jobs running in this process, with the sender that interrupts each.
    running: Mutex<HashMap<JobId, watch::Sender<Interrupt>>>,
    /// Kinds already reported as unknown, so the log says it once.
    reported_kinds: Mutex<HashSet<String>>,
    wake: Notify,
    /// Bumped whenever this replica writes a job event or ends a job.
    events: watch::Sender<u64>,
    /// Bumped whenever a job this replica ran ended (for `run_until_idle`).
    finished: watch::Sender<u64>,
}

/// Why a running job's handler should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    None,
    /// Someone asked to cancel it; the handler decides how to stop.
    CancelRequested,
    /// The lease is gone; the handler is dropped.
    LeaseLost,
    /// This replica is shutting down; the lease is given up so another can resume at once.
    Shutdown,
}

impl JobRunner {
    pub fn new(store: Store, config: JobRunnerConfig) -> JobRunner {
        JobRunner {
            inner: Arc::new(Inner {
                store,
                config,
                handlers: RwLock::default(),
                running: Mutex::default(),
                reported_kinds: Mutex::default(),
                wake: Notify::new(),
                events: watch::Sender::new(0),
                finished: watch::Sender::new(0),
            }),
        }
    }

    /// Registers the handler of one kind. Call before [`JobRunner::run`].
    pub fn register(&self, handler: Arc<dyn JobHandler>) {
        self.inner
            .handlers
            .write()
            .expect("handlers lock")
            .insert(handler.kind(), handler);
    }

    pub fn replica(&self) -> &ReplicaId {
        &self.inner.config.replica
    }

    /// Records a job in `tx` (the caller's transaction, with its audit record). Call
    /// [`JobRunner::wake`] after it commits.
    pub async fn submit<P: Serialize>(
        &self,
        tx: &mut Tx,
        request: JobRequest<P>,
    ) -> Result<JobId, JobError> {
        if !self.knows(request.kind) {
            return Err(JobError::UnknownKind(request.kind.to_owned()));
        }
        let id = JobId(uuid::Uuid::now_v7().to_string());
        let job = NewJob {
            id: id.clone(),
            kind: request.kind.to_owned(),
            subject: request.subject,
            principal: request.principal.to_string(),
            plan: serde_json::to_string(&request.plan).expect("a job plan is plain data"),
            exclusive: request.exclusive,
            created_at: self.now(),
        };
        tx.insert_job(&job).await?;
        tx.append_job_event(
            &id,
            job.created_at,
            "accepted",
            EventLevel::Info,
            "accepted",
        )
        .await?;
        Ok(id)
    }

    /// Looks for work now (after a submission commits, or a job ends).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    pub async fn job(&self, id: &JobId) -> Result<JobRow, JobError> {
        self.inner
            .store
            .job(id)
            .await?
            .ok_or_else(|| JobError::NotFound(id.clone()))
    }

    pub async fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobRow>, JobError> {
        Ok(self.inner.store.jobs(filter).await?)
    }

    pub async fn events(&self, id: &JobId, after: i64) -> Result<Vec<JobEventRow>, JobError> {
        Ok(self.inner.store.job_events(id, after).await?)
    }

    /// A receiver that changes whenever this replica writes a job event or ends a job, so
    /// followers wake at once (other replicas' writes are found by polling).
    pub fn watch_events(&self) -> watch::Receiver<u64> {
        self.inner.events.subscribe()
    }

    /// Asks a job to stop. A queued job ends cancelled at once; a running one is told, and its
    /// handler decides how to stop. Returns the job's state after the request.
    pub async fn cancel(&self, id: &JobId, mutation: &Mutation<'_>) -> Result<JobState, JobError> {
        let job = self.job(id).await?;
        if job.state.is_finished() {
            return Err(JobError::Finished(id.clone()));
        }
        let now = self.now();
        let mut tx = mutation.begin(&self.inner.store).await?;
        let state = if job.state == JobState::Queued && tx.cancel_queued_job(id, now).await? {
            tx.append_job_event(
                id,
                now,
                "cancel",
                EventLevel::Info,
                "cancelled before it started",
            )
            .await?;
            JobState::Cancelled
        } else if tx.request_job_cancel(id, now).await? {
            tx.append_job_event(id, now, "cancel", EventLevel::Info, "cancel requested")
                .await?;
            JobState::Running
        } else {
            return Err(JobError::Finished(id.clone()));
        };
        mutation
            .audit
            .set_details(serde_json::json!({ "before": job.state, "after": state }));
        mutation.commit(tx).await?;
        if let Some(interrupt) = self.inner.running.lock().expect("running lock").get(id) {
            interrupt.send_replace(Interrupt::CancelRequested);
        }
        self.inner.events.send_modify(|count| *count += 1);
        Ok(state)
    }

    /// Claims and runs jobs until `shutdown` resolves: at once when woken, and every poll
    /// interval otherwise. At shutdown, running jobs are interrupted and their leases given
    /// up, so the next replica (or this one, restarted) resumes them at once.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            self.claim_available().await;
            tokio::select! {
                () = &mut shutdown => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(self.inner.config.poll_interval) => {}
            }
        }
        let running: Vec<watch::Sender<Interrupt>> = self
            .inner
            .running
            .lock()
            .expect("running lock")
            .values()
            .cloned()
            .collect();
        for interrupt in &running {
            interrupt.send_replace(Interrupt::Shutdown);
        }
        let mut finished = self.inner.finished.subscribe();
        while !self.inner.running.lock().expect("running lock").is_empty() {
            if finished.changed().await.is_err() {
                break;
            }
        }
    }

    /// Runs every job this replica can take until none is left (tests and benchmarks).
    pub async fn run_until_idle(&self) {
        let mut finished = self.inner.finished.subscribe();
        loop {
            let started = self.claim_available().await;
            let running = !self.inner.running.lock().expect("running lock").is_empty();
            if started == 0 && !running {
                return;
            }
            if running {
                let _ = finished.changed().await;
            }
        }
    }

    fn now(&self) -> i64 {
        self.inner.config.clock.now()
    }

    fn knows(&self, kind: &str) -> bool {
        self.inner
            .handlers
            .read()
            .expect("handlers lock")
            .contains_key(kind)
    }

    /// Claims what this replica may run now and starts it; returns how many it started.
    async fn claim_available(&self) -> usize {
        let kinds: Vec<&'static str> = self
            .inner
            .handlers
            .read()
            .expect("handlers lock")
            .keys()
            .copied()
            .collect();
        self.report_unknown_kinds(&kinds).await;
        let free = self
            .inner
            .config
            .max_concurrent
            .saturating_sub(self.inner.running.lock().expect("running lock").len());
        if free == 0 {
            return 0;
        }
        let now = self.now();
        let candidates = match self
            .inner
            .store
            .claimable_jobs(
                &kinds,
                &self.inner.config.replica,
                now,
                i64::try_from(free * 4).unwrap_or(i64::MAX),
            )
            .await
        {
            Ok(candidates) => candidates,
            Err(error) => {
                tracing::warn!(%error, "cannot look for jobs");
                return 0;
            }
        };
        let mut started = 0;
        for job in candidates {
            if started == free {
                break;
            }
            if self
                .inner
                .running
                .lock()
                .expect("running lock")
                .contains_key(&job.id)
            {
                continue;
            }
            let lease = match self
                .inner
                .store
                .claim_job(
                    &job.id,
                    &self.inner.config.replica,
                    self.inner.config.lease_ttl,
                    self.now(),
                )
                .await
            {
                Ok(Some(lease)) => lease,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, job = %job.id, "cannot claim a job");
                    continue;
                }
            };
            started += 1;
            self.start(job, lease);
        }
        started
    }

    async fn report_unknown_kinds(&self, kinds: &[&'static str]) {
        let Ok(unfinished) = self.inner.store.unfinished_job_kinds().await else {
            return;
        };
        for kind in unfinished {
            if kinds.contains(&kind.as_str()) {
                continue;
            }
            if self
                .inner
                .reported_kinds
                .lock()
                .expect("reported lock")
                .insert(kind.clone())
            {
                tracing::warn!(
                    kind,
                    "unfinished jobs of a kind this replica does not know are left for a replica that does"
                );
            }
        }
    }

    /// Runs one claimed job in its own task, with its heartbeat.
    fn start(&self, job: JobRow, lease: Lease) {
        let Some(handler) = self
            .inner
            .handlers
            .read()
            .expect("handlers lock")
            .get(job.kind.as_str())
            .cloned()
        else {
            return;
        };
        if job.attempts > 0 {
            tracing::info!(
                job = %job.id,
                kind = job.kind,
                attempt = job.attempts + 1,
                "resuming a job a crash, a takeover or a restart interrupted"
            );
        }
        let initial = if job.cancel_requested {
            Interrupt::CancelRequested
        } else {
            Interrupt::None
        };
        let (interrupt, interrupted) = watch::channel(initial);
        self.inner
            .running
            .lock()
            .expect("running lock")
            .insert(job.id.clone(), interrupt.clone());
        let runner = self.clone();
        tokio::spawn(async move {
            let id = job.id.clone();
            let context = JobContext {
                runner: runner.clone(),
                job,
                lease,
                interrupted,
            };
            runner.execute(handler, &context, interrupt).await;
            runner
                .inner
                .running
                .lock()
                .expect("running lock")
                .remove(&id);
            runner.inner.finished.send_modify(|count| *count += 1);
            runner.inner.events.send_modify(|count| *count += 1);
            // A job of the same subject may be next.
            runner.wake();
        });
    }

    async fn execute(
        &self,
        handler: Arc<dyn JobHandler>,
        job: &JobContext,
        interrupt: watch::Sender<Interrupt>,
    ) {
        let heartbeat = self.heartbeat(job.lease.clone(), job.job.id.clone(), interrupt);
        let mut interrupted = job.interrupted.clone();
        let outcome = tokio::select! {
            outcome = handler.run(job) => Some(outcome),
            () = heartbeat => None,
            _ = interrupted.wait_for(|interrupt| matches!(interrupt, Interrupt::LeaseLost | Interrupt::Shutdown)) => None,
        };
        let interrupt = *job.interrupted.borrow();
        match outcome {
            Some(Ok(Succeeded(()))) => {}
            Some(Err(failure)) => self.record_failure(job, failure).await,
            None if interrupt == Interrupt::Shutdown => {
                // Give the lease up: whoever starts next resumes the job at once.
                if let Err(error) = self.inner.store.release_lease(&job.lease).await {
                    tracing::warn!(%error, job = %job.job.id, "cannot release a job's lease");
                }
                tracing::info!(job = %job.job.id, "job interrupted by shutdown; it resumes at the next start");
            }
            None => {
                tracing::warn!(job = %job.job.id, "lost the lease of a running job; stopped running it here");
            }
        }
    }

    async fn record_failure(&self, job: &JobContext, failure: JobFailure) {
        let (state, message) = match &failure {
            JobFailure::Failed { .. } => (JobState::Failed, failure.to_string()),
            JobFailure::Cancelled { reason } => (JobState::Cancelled, reason.clone()),
            JobFailure::LeaseLost => {
                tracing::warn!(job = %job.job.id, "lost the lease of a running job; another replica owns it");
                return;
            }
            JobFailure::Store(error) => {
                tracing::error!(%error, job = %job.job.id, "a job's store write failed; it resumes after its lease expires");
                return;
            }
        };
        let step = match &failure {
            JobFailure::Failed { step, .. } => step.as_str(),
            _ => "cancel",
        };
        let level = if state == JobState::Cancelled {
            EventLevel::Info
        } else {
            EventLevel::Error
        };
        let result = async {
            let mut tx = job.transaction().await?;
            let now = self.now();
            tx.append_job_event(&job.job.id, now, step, level, &message)
                .await?;
            tx.finish_job(&job.job.id, state, None, Some(&message), now)
                .await?;
            tx.drop_lease(&job.lease).await?;
            tx.commit().await?;
            Ok::<(), JobFailure>(())
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, job = %job.job.id, "cannot record how a job ended");
        }
    }

    /// Renews the lease every third of its time to live; resolves when it is lost (and tells
    /// the handler through `interrupt`), never otherwise.
    async fn heartbeat(&self, lease: Lease, id: JobId, interrupt: watch::Sender<Interrupt>) {
        let period = lease.ttl / 3;
        loop {
            tokio::time::sleep(period).await;
            match self.inner.store.renew_lease(&lease, self.now()).await {
                Ok(true) => {}
                Ok(false) => {
                    interrupt.send_replace(Interrupt::LeaseLost);
                    return;
                }
                // The store is unreachable: keep trying until the lease would have expired.
                Err(error) => tracing::warn!(%error, job = %id, "cannot renew a job's lease"),
            }
            if *interrupt.borrow() == Interrupt::None
                && let Ok(Some(row)) = self.inner.store.job(&id).await
                && row.cancel_requested
            {
                interrupt.send_replace(Interrupt::CancelRequested);
            }
        }
    }
}

/// A running job, as its handler sees it: its record, and fenced ways to write.
pub struct JobContext {
    runner: JobRunner,
    job: JobRow,
    lease: Lease,
    interrupted: watch::Receiver<Interrupt>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("JobContext")
            .field("id", &self.job.id)
            .field("generation", &self.lease.generation)
            .finish_non_exhaustive()
    }
}

impl Fence for JobContext {
    fn lease(&self) -> &Lease {
        &self.lease
    }

    fn now(&self) -> i64 {
        self.runner.now()
    }
}

impl JobContext {
    /// The audit record of a change this job makes: by `system:jobs`, on behalf of the
    /// principal who asked for the job. Write it with `Mutation::fenced(&record, job)`.
    pub fn audit_record(&self, action: Action, resource: Resource) -> AuditRecord {
        let record = AuditRecord::system(SystemLoop::Jobs, action, resource);
        record.set_details(serde_json::json!({
            "job": self.job.id,
            "onBehalfOf": self.job.principal,
        }));
        record
    }

    pub fn id(&self) -> &JobId {
        &self.job.id
    }

    pub fn subject(&self) -> &str {
        &self.job.subject
    }

    /// Who asked for the job.
    pub fn principal(&self) -> Option<Principal> {
        Principal::parse(&self.job.principal)
    }

    /// How many times a replica took this job (more than 1: it is being resumed).
    pub fn attempt(&self) -> i64 {
        self.job.attempts + 1
    }

    /// The plan the job was accepted with.
    pub fn plan<P: DeserializeOwned>(&self) -> Result<P, JobFailure> {
        serde_json::from_str(&self.job.plan).map_err(|error| {
            JobFailure::failed("plan", format!("the stored plan cannot be read: {error}"))
        })
    }

    /// What an earlier run recorded with [`JobContext::set_progress`] (`{}` at first).
    pub fn progress<P: DeserializeOwned + Default>(&self) -> P {
        serde_json::from_str(&self.job.progress).unwrap_or_default()
    }

    /// Records how far the job got, for a resumed run.
    pub async fn set_progress(&self, progress: &impl Serialize) -> Result<(), JobFailure> {
        let text = serde_json::to_string(progress).expect("progress is plain data");
        let mut tx = self.transaction().await?;
        tx.set_job_progress(&self.job.id, &text, self.runner.now())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appends a line to the job's log.
    pub async fn event(
        &self,
        step: &str,
        level: EventLevel,
        message: &str,
    ) -> Result<(), JobFailure> {
        let mut tx = self.transaction().await?;
        tx.append_job_event(&self.job.id, self.runner.now(), step, level, message)
            .await?;
        tx.commit().await?;
        self.runner.inner.events.send_modify(|count| *count += 1);
        Ok(())
    }

    /// A store transaction fenced by the job's lease: it commits only if this replica still
    /// holds the lease, so domain writes made in it cannot outlive a takeover.
    pub async fn transaction(&self) -> Result<Tx, JobFailure> {
        let mut tx = self.runner.inner.store.begin().await?;
        tx.fence(&self.lease, self.runner.now()).await?;
        Ok(tx)
    }

    /// Fails with [`JobFailure::LeaseLost`] unless this replica still holds the lease; call it
    /// before a side effect the store cannot fence (deleting a repository, stopping tasks).
    pub async fn ensure_held(&self) -> Result<(), JobFailure> {
        // A fenced transaction that writes nothing: the check itself.
        let tx = self.transaction().await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether someone asked to cancel the job.
    pub fn cancel_requested(&self) -> bool {
        *self.interrupted.borrow() == Interrupt::CancelRequested
    }

    /// Resolves when someone asks to cancel the job (handlers of long waits select on it).
    pub async fn until_cancel_requested(&self) {
        let mut interrupted = self.interrupted.clone();
        let _ = interrupted
            .wait_for(|interrupt| *interrupt == Interrupt::CancelRequested)
            .await;
    }

    /// Ends the job succeeded with `result`, in `tx` (opened by [`JobContext::transaction`],
    /// holding the job's last domain writes), and commits.
    pub async fn succeed(
        &self,
        mut tx: Tx,
        result: &impl Serialize,
    ) -> Result<Succeeded, JobFailure> {
        let result = serde_json::to_string(result).expect("a job result is plain data");
        let now = self.runner.now();
        tx.finish_job(&self.job.id, JobState::Succeeded, Some(&result), None, now)
            .await?;
        tx.drop_lease(&self.lease).await?;
        tx.commit().await?;
        Ok(Succeeded(()))
    }
}

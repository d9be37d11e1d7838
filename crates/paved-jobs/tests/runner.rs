//! The job runner's guarantees, shown with two replicas on one store (SQLite and PostgreSQL):
//! exactly one replica runs each job, a replica that lost its lease writes nothing, and a job
//! of a kind no handler knows is left alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use paved_jobs::{
    Clock, JobContext, JobFailure, JobHandler, JobRequest, JobRunner, JobRunnerConfig, Succeeded,
};
use paved_model::access::Principal;
use paved_model::ids::{JobId, ReplicaId};
use paved_model::job::{EventLevel, JobState};
use paved_store::{NewJob, Store, now_millis};
use paved_test::{Backend, TestData, both_backends};
use tokio::sync::{Notify, mpsc};

const STEPS: [&str; 3] = ["render", "repository", "catalog"];

/// Which replica ran which step of which job.
type Runs = Arc<Mutex<Vec<(String, JobId, &'static str)>>>;

/// Writes one event per step, fenced by the lease, and notes who ran it.
struct Steps {
    replica: String,
    runs: Runs,
}

#[async_trait::async_trait]
impl JobHandler for Steps {
    fn kind(&self) -> &'static str {
        "test.steps"
    }

    async fn run(&self, job: &JobContext) -> Result<Succeeded, JobFailure> {
        for step in STEPS {
            job.event(
                step,
                EventLevel::Info,
                &format!("{step} by {}", self.replica),
            )
            .await?;
            self.runs.lock().expect("the store answers").push((
                self.replica.clone(),
                job.id().clone(),
                step,
            ));
            // Let the other replica's runner interleave its claims with this one's steps.
            tokio::task::yield_now().await;
        }
        let tx = job.transaction().await?;
        job.succeed(tx, &serde_json::json!({ "by": self.replica }))
            .await
    }
}

fn runner(store: &Store, name: &str, ttl: Duration, clock: Clock) -> JobRunner {
    JobRunner::new(
        store.clone(),
        JobRunnerConfig {
            lease_ttl: ttl,
            poll_interval: Duration::from_millis(50),
            clock,
            ..JobRunnerConfig::new(ReplicaId(name.to_owned()))
        },
    )
}

async fn submit(store: &Store, runner: &JobRunner, kind: &'static str, subject: &str) -> JobId {
    let mut tx = store.begin().await.expect("the store answers");
    let id = runner
        .submit(
            &mut tx,
            JobRequest {
                kind,
                subject: subject.to_owned(),
                principal: Principal::Admin,
                plan: serde_json::json!({}),
                exclusive: false,
            },
        )
        .await
        .expect("the store answers");
    tx.commit().await.expect("the store answers");
    id
}

async fn two_replicas_race_and_exactly_one_runs_each_step(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = Store::open(&data.store_config())
        .await
        .expect("the store answers");
    let runs = Runs::default();
    let replicas: Vec<JobRunner> = ["replica-a", "replica-b"]
        .into_iter()
        .map(|name| {
            let runner = runner(&store, name, Duration::from_secs(30), Clock::default());
            runner.register(Arc::new(Steps {
                replica: name.to_owned(),
                runs: runs.clone(),
            }));
            runner
        })
        .collect();
    let mut jobs = Vec::new();
    for number in 0..24 {
        jobs.push(
            submit(
                &store,
                &replicas[0],
                "test.steps",
                &format!("service:s{number}"),
            )
            .await,
        );
    }

    // Both replicas claim at the same moment, each until it finds nothing left.
    tokio::join!(replicas[0].run_until_idle(), replicas[1].run_until_idle());

    let runs = runs.lock().expect("the runs lock").clone();
    for id in &jobs {
        let job = store
            .job(id)
            .await
            .expect("the store answers")
            .expect("the store answers");
        assert_eq!(job.state, JobState::Succeeded, "job {id}: {job:?}");
        assert_eq!(job.attempts, 1, "job {id} was claimed more than once");
        let ran: Vec<&(String, JobId, &str)> = runs.iter().filter(|run| &run.1 == id).collect();
        assert_eq!(
            ran.iter().map(|run| run.2).collect::<Vec<_>>(),
            STEPS,
            "job {id}: each step exactly once, in order: {ran:?}"
        );
        assert!(
            ran.iter().all(|run| run.0 == ran[0].0),
            "job {id} ran on two replicas: {ran:?}"
        );
        let events = store.job_events(id, 0).await.expect("the store answers");
        let steps: Vec<&str> = events.iter().map(|event| event.step.as_str()).collect();
        assert_eq!(steps, ["accepted", "render", "repository", "catalog"]);
    }
}

/// Replica A's handler: one step, then it stalls (a slow push, a paused process) until the
/// test releases it, then it tries to write and to fail the job.
struct Stalls {
    started: Arc<Notify>,
    release: Arc<Notify>,
    late_writes: mpsc::UnboundedSender<Vec<String>>,
}

#[async_trait::async_trait]
impl JobHandler for Stalls {
    fn kind(&self) -> &'static str {
        "test.steps"
    }

    async fn run(&self, job: &JobContext) -> Result<Succeeded, JobFailure> {
        job.event("render", EventLevel::Info, "render by replica-a")
            .await?;
        self.started.notify_one();
        self.release.notified().await;
        let mut refused = Vec::new();
        if let Err(JobFailure::LeaseLost) = job
            .event("repository", EventLevel::Info, "late write by replica-a")
            .await
        {
            refused.push("event".to_owned());
        }
        if let Err(JobFailure::LeaseLost) = job.set_progress(&"late progress").await {
            refused.push("progress".to_owned());
        }
        if let Err(JobFailure::LeaseLost) = job.transaction().await {
            refused.push("transaction".to_owned());
        }
        if let Err(JobFailure::LeaseLost) = job.ensure_held().await {
            refused.push("ensure_held".to_owned());
        }
        self.late_writes.send(refused).expect("the test listens");
        // The undo path: its failure write must be refused as well.
        Err(JobFailure::failed("repository", "replica-a gave up"))
    }
}

async fn a_replica_whose_lease_expired_mid_step_writes_nothing(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = Store::open(&data.store_config())
        .await
        .expect("the store answers");
    let ttl = Duration::from_secs(60);
    // A's lease is long enough that its heartbeat does not run during the test; B's clock is
    // moved past it, so B sees A's lease as expired, as it would after A stalled for a minute.
    let replica_a = runner(&store, "replica-a", ttl, Clock::default());
    let clock_b = Clock::default();
    let replica_b = runner(&store, "replica-b", ttl, clock_b.clone());
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (late_writes, mut refused) = mpsc::unbounded_channel();
    replica_a.register(Arc::new(Stalls {
        started: started.clone(),
        release: release.clone(),
        late_writes,
    }));
    let runs = Runs::default();
    replica_b.register(Arc::new(Steps {
        replica: "replica-b".to_owned(),
        runs: runs.clone(),
    }));
    let id = submit(&store, &replica_a, "test.steps", "service:payments").await;

    let a_running = tokio::spawn({
        let replica_a = replica_a.clone();
        async move { replica_a.run_until_idle().await }
    });
    started.notified().await;

    // While A holds the lease, B cannot take the job.
    replica_b.run_until_idle().await;
    assert!(
        runs.lock().expect("the runs lock").is_empty(),
        "B ran a job A holds"
    );

    clock_b.advance(ttl + Duration::from_secs(1));
    replica_b.run_until_idle().await;
    let after_b = store
        .job(&id)
        .await
        .expect("the store answers")
        .expect("the store answers");
    assert_eq!(after_b.state, JobState::Succeeded, "{after_b:?}");
    assert_eq!(after_b.attempts, 2);

    release.notify_one();
    let refused = refused.recv().await.expect("replica A reports");
    assert_eq!(refused, ["event", "progress", "transaction", "ensure_held"]);
    a_running.await.expect("replica A's runner ends");

    let job = store
        .job(&id)
        .await
        .expect("the store answers")
        .expect("the store answers");
    assert_eq!(
        job.state,
        JobState::Succeeded,
        "A's failure overwrote B's result"
    );
    assert_eq!(job.result.as_deref(), Some(r#"{"by":"replica-b"}"#));
    assert_eq!(job.error, None);
    assert_eq!(job.progress, "{}", "A's late progress was written");
    let messages: Vec<String> = store
        .job_events(&id, 0)
        .await
        .expect("the store answers")
        .into_iter()
        .map(|event| event.message)
        .collect();
    assert!(
        messages
            .iter()
            .all(|message| !message.contains("late write") && !message.contains("gave up")),
        "A wrote after losing its lease: {messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|message| message == "catalog by replica-b")
    );
}

async fn a_job_of_an_unknown_kind_is_left_untouched(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = Store::open(&data.store_config())
        .await
        .expect("the store answers");
    // A job a newer replica accepted, of a kind this one has no handler for.
    let id = JobId("job-from-the-future".to_owned());
    let mut tx = store.begin().await.expect("the store answers");
    tx.insert_job(&NewJob {
        id: id.clone(),
        kind: "fleet.upgrade".to_owned(),
        subject: "template:ecs-service".to_owned(),
        principal: "admin".to_owned(),
        plan: r#"{"to":"2.0"}"#.to_owned(),
        exclusive: false,
        created_at: now_millis(),
    })
    .await
    .expect("the store answers");
    tx.commit().await.expect("the store answers");
    let before = store
        .job(&id)
        .await
        .expect("the store answers")
        .expect("the store answers");

    let old = runner(
        &store,
        "replica-old",
        Duration::from_secs(30),
        Clock::default(),
    );
    old.register(Arc::new(Steps {
        replica: "replica-old".to_owned(),
        runs: Runs::default(),
    }));
    let known = submit(&store, &old, "test.steps", "service:known").await;
    old.run_until_idle().await;

    assert_eq!(
        store
            .job(&known)
            .await
            .expect("the store answers")
            .expect("the store answers")
            .state,
        JobState::Succeeded
    );
    let after = store
        .job(&id)
        .await
        .expect("the store answers")
        .expect("the store answers");
    assert_eq!(after.state, JobState::Queued);
    assert_eq!(after.attempts, 0);
    assert_eq!(after.updated_at, before.updated_at);
    assert_eq!(after.plan, before.plan);
    assert!(
        store
            .job_events(&id, 0)
            .await
            .expect("the store answers")
            .is_empty()
    );

    // A replica that knows the kind runs it.
    struct Upgrade;
    #[async_trait::async_trait]
    impl JobHandler for Upgrade {
        fn kind(&self) -> &'static str {
            "fleet.upgrade"
        }
        async fn run(&self, job: &JobContext) -> Result<Succeeded, JobFailure> {
            let tx = job.transaction().await?;
            job.succeed(tx, &"upgraded").await
        }
    }
    let new = runner(
        &store,
        "replica-new",
        Duration::from_secs(30),
        Clock::default(),
    );
    new.register(Arc::new(Upgrade));
    new.run_until_idle().await;
    assert_eq!(
        store
            .job(&id)
            .await
            .expect("the store answers")
            .expect("the store answers")
            .state,
        JobState::Succeeded
    );
}

/// Sixteen replicas claim one job at the same moment: exactly one gets its lease.
async fn exactly_one_of_many_concurrent_claims_wins(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = Store::open(&data.store_config())
        .await
        .expect("the store answers");
    let submitter = runner(
        &store,
        "replica-0",
        Duration::from_secs(30),
        Clock::default(),
    );
    submitter.register(Arc::new(Steps {
        replica: "replica-0".to_owned(),
        runs: Runs::default(),
    }));
    let id = submit(&store, &submitter, "test.steps", "service:contended").await;
    let mut claims = tokio::task::JoinSet::new();
    for replica in 0..16 {
        let store = store.clone();
        let id = id.clone();
        claims.spawn(async move {
            let holder = ReplicaId(format!("replica-{replica}"));
            let claim = store
                .claim_job(&id, &holder, Duration::from_secs(30), now_millis())
                .await;
            (holder, claim)
        });
    }
    let mut winners = Vec::new();
    while let Some(claim) = claims.join_next().await {
        let (holder, claim) = claim.expect("a claim task ends");
        // A claim that lost the race is `None`; on SQLite it may also find the database busy,
        // which the runner treats the same way (it tries again at its next poll).
        match claim {
            Ok(Some(lease)) => winners.push((holder, lease)),
            Ok(None) => {}
            Err(error) => assert!(
                error.to_string().contains("locked") || error.to_string().contains("busy"),
                "unexpected claim error: {error}"
            ),
        }
    }
    assert_eq!(winners.len(), 1, "claims won: {winners:?}");
    let job = store
        .job(&id)
        .await
        .expect("the store answers")
        .expect("the store answers");
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.attempts, 1);
}

both_backends!(
    exactly_one_of_many_concurrent_claims_wins,
    two_replicas_race_and_exactly_one_runs_each_step,
    a_replica_whose_lease_expired_mid_step_writes_nothing,
    a_job_of_an_unknown_kind_is_left_untouched,
);

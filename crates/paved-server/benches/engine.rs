//! Local engine benchmark: real processes, built from a real git repository, run by the
//! in-process server and engine loop (SQLite). Prints two figures:
//!
//! 1. **Rollout time** (target: under 3 health-check intervals). A 2-task service (default
//!    deploymentConfiguration, 100/200) of a small Python app with a container health check
//!    `CMD-SHELL true` every 1 s. Time from the `UpdateService` call (a new revision: another
//!    environment value) to the new deployment's `rolloutState` COMPLETED, awaited on the
//!    engine's change counter. 10 rollouts; every run, the median and the max, with where the
//!    time went (task processes running, health checks passed, old tasks stopped), taken from
//!    the runtime's own state changes.
//! 2. **Idle load** (target: Paved's own CPU under 5 % while idle). 100 services × 2 tasks of
//!    the same app, each with a container health check every 30 s (ECS's default interval),
//!    all COMPLETED; then this process's CPU time (user + sys from `/proc/self/stat`; the app
//!    processes and the health checks' own processes are children and not included, but
//!    spawning the checks is) over a 30 s idle window, as a percentage of one core, with the
//!    number of RUNNING tasks and this process's RSS.
//!
//! `cargo bench -p paved-server --bench engine`. Environment:
//! - `PAVED_BENCH_QUICK=1`: 3 rollouts, 10 services, a 10 s idle window (a smoke test).
//! - `PAVED_BENCH_ROLLOUTS`, `PAVED_BENCH_SERVICES`, `PAVED_BENCH_IDLE_SECONDS`: override.
//! - `PAVED_BENCH_IDLE_HEALTH`: the idle services' check interval in seconds (default 30), or
//!   `none` for no container health check.
//! - `PAVED_BENCH_TICK_MS`: the engine's tick (default: `paved up`'s, 1 s; `paved-test`'s
//!   servers use 200 ms).
//! - `PAVED_BENCH_ONLY=rollout|idle`: run one part.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paved_engine::Operation;
use paved_engine_local::{LocalEngine, ServiceRecord};
use paved_test::{Backend, TestData, TestServer};
use serde_json::json;

/// The allocator of the `paved` binary, so figures match what it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long any one condition may take before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(600);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

struct Settings {
    rollouts: usize,
    services: usize,
    idle: Duration,
    idle_health: Option<u64>,
    tick: Duration,
    only: Option<String>,
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|value| {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not `{value}`"))
    })
}

impl Settings {
    fn from_env() -> Settings {
        let quick = std::env::var("PAVED_BENCH_QUICK").is_ok_and(|value| value == "1");
        let idle_health = match std::env::var("PAVED_BENCH_IDLE_HEALTH").as_deref() {
            Ok("none") => None,
            Ok(_) => env_number("PAVED_BENCH_IDLE_HEALTH"),
            Err(_) => Some(30),
        };
        Settings {
            rollouts: env_number("PAVED_BENCH_ROLLOUTS").map_or(if quick { 3 } else { 10 }, |n| {
                usize::try_from(n).unwrap_or(10)
            }),
            services: env_number("PAVED_BENCH_SERVICES")
                .map_or(if quick { 10 } else { 100 }, |n| {
                    usize::try_from(n).unwrap_or(100)
                }),
            idle: Duration::from_secs(env_number("PAVED_BENCH_IDLE_SECONDS").unwrap_or(if quick {
                10
            } else {
                30
            })),
            idle_health,
            tick: env_number("PAVED_BENCH_TICK_MS").map_or(
                paved_engine_local::LocalEngineConfig::new("unused", paved_test::test_replica())
                    .tick,
                Duration::from_millis,
            ),
            only: std::env::var("PAVED_BENCH_ONLY").ok(),
        }
    }
}

async fn run() {
    let settings = Settings::from_env();
    println!(
        "engine benchmark: engine tick {} ms, {} build",
        settings.tick.as_millis(),
        if cfg!(debug_assertions) {
            "dev-profile"
        } else {
            "release"
        }
    );
    if settings.only.as_deref() != Some("idle") {
        rollouts(&settings).await;
    }
    if settings.only.as_deref() != Some("rollout") {
        idle(&settings).await;
    }
}

/// The server and engine loop in this process (`paved_test::TestServer`), with the engine
/// tick of `paved up` (the tick decides how often an idle engine wakes up).
async fn start_server(tick: Duration) -> TestServer {
    let mut data = TestData::new(Backend::Sqlite).await;
    data.engine_tick = tick;
    TestServer::start_with(data).await
}

/// What the benchmark asks of its server beyond `TestServer`'s own helpers.
trait Bench {
    async fn service(&self, name: &str) -> ServiceRecord;
    async fn until_completed(&self, name: &str, task_definition: &str) -> ServiceRecord;
    async fn running_tasks(&self) -> usize;
}

impl Bench for TestServer {
    async fn service(&self, name: &str) -> ServiceRecord {
        let row = self
            .store
            .ecs_service("default", name)
            .await
            .expect("the store reads")
            .expect("the service exists");
        ServiceRecord::parse(&row).expect("the record parses")
    }

    async fn until_completed(&self, name: &str, task_definition: &str) -> ServiceRecord {
        self.until(
            &format!("{name} to complete {task_definition}"),
            PATIENCE,
            || async {
                let record = self.service(name).await;
                let primary = record.primary()?;
                (primary.task_definition == task_definition
                    && primary.rollout_state == paved_engine::ecs::RolloutState::Completed)
                    .then_some(record)
            },
        )
        .await
    }

    /// Tasks whose `lastStatus` is RUNNING, from the store.
    async fn running_tasks(&self) -> usize {
        self.store
            .ecs_tasks(paved_store::EcsTaskFilter {
                live: true,
                ..paved_store::EcsTaskFilter::default()
            })
            .await
            .expect("the store reads")
            .iter()
            .filter(|task| task.last_status == "RUNNING")
            .count()
    }
}

/// When the runtime first reported each of a task's states, as seen by a watcher of the
/// runtime's change counter (independent of the engine's passes).
#[derive(Debug, Default, Clone, Copy)]
struct Marks {
    seen: Option<Instant>,
    running: Option<Instant>,
    healthy: Option<Instant>,
    stopping: Option<Instant>,
    stopped: Option<Instant>,
}

type Timeline = Arc<Mutex<HashMap<String, Marks>>>;

fn watch_runtime(local: &LocalEngine) -> (Timeline, tokio::task::JoinHandle<()>) {
    let timeline: Timeline = Arc::default();
    let handle = {
        let timeline = timeline.clone();
        let local = local.clone();
        tokio::spawn(async move {
            let mut changed = local.runtime().changed();
            loop {
                let now = Instant::now();
                {
                    let mut timeline = timeline.lock().expect("the timeline");
                    for id in local.runtime().task_ids() {
                        let Some(state) = local.runtime().state(&id) else {
                            continue;
                        };
                        let marks = timeline.entry(id).or_default();
                        marks.seen.get_or_insert(now);
                        let status = state.status.as_str();
                        if status == "RUNNING" {
                            marks.running.get_or_insert(now);
                        }
                        if state.health.as_str() == "HEALTHY" {
                            marks.healthy.get_or_insert(now);
                        }
                        if status == "STOPPING" || status == "STOPPED" {
                            marks.stopping.get_or_insert(now);
                        }
                        if status == "STOPPED" {
                            marks.stopped.get_or_insert(now);
                        }
                    }
                }
                if changed.changed().await.is_err() {
                    break;
                }
            }
        })
    };
    (timeline, handle)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

/// Seconds from `start` to the latest of `marks` (None if any is missing).
fn latest(start: Instant, marks: impl Iterator<Item = Option<Instant>>) -> Option<f64> {
    let mut latest: Option<f64> = Some(0.0);
    for mark in marks {
        let seconds = mark.map(|mark| mark.saturating_duration_since(start).as_secs_f64());
        latest = match (latest, seconds) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    latest
}

fn show(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "   ?  ".to_owned(), |s| format!("{s:6.3}"))
}

async fn rollouts(settings: &Settings) {
    const INTERVAL: f64 = 1.0;
    let server = start_server(settings.tick).await;
    let image = server.build_app("web");
    let check =
        json!({"command": ["CMD-SHELL", "true"], "interval": 1, "timeout": 1, "retries": 1});
    let first = server
        .register_app(
            "web",
            &image,
            json!([{"name": "VERSION", "value": "0"}]),
            Some(check.clone()),
        )
        .await;
    let created = Instant::now();
    server
        .ecs(
            Operation::CreateService,
            json!({"serviceName": "web", "taskDefinition": first, "desiredCount": 2}),
        )
        .await;
    server.until_completed("web", &first).await;
    println!(
        "\nrollout: 2 tasks, health check every {INTERVAL} s, maximumPercent 200, minimumHealthyPercent 100"
    );
    println!(
        "  first deployment (CreateService) COMPLETED after {:.3} s",
        created.elapsed().as_secs_f64()
    );
    let (timeline, watcher) = watch_runtime(&server.local);
    println!(
        "  run   total s  intervals | new tasks: launched running  healthy | old tasks stopped"
    );
    let mut totals = Vec::new();
    let mut parts: Vec<[Option<f64>; 4]> = Vec::new();
    for run in 1..=settings.rollouts {
        let definition = server
            .register_app(
                "web",
                &image,
                json!([{"name": "VERSION", "value": run.to_string()}]),
                Some(check.clone()),
            )
            .await;
        let old: Vec<String> = server.local.runtime().task_ids();
        let start = Instant::now();
        server
            .ecs(
                Operation::UpdateService,
                json!({"service": "web", "taskDefinition": definition}),
            )
            .await;
        server.until_completed("web", &definition).await;
        let total = start.elapsed().as_secs_f64();
        let marks = timeline.lock().expect("the timeline").clone();
        let new: Vec<Marks> = marks
            .iter()
            .filter(|(id, _)| !old.contains(id))
            .map(|(_, marks)| *marks)
            .filter(|marks| marks.seen.is_some_and(|seen| seen >= start))
            .collect();
        let old_marks: Vec<Marks> = old
            .iter()
            .filter_map(|id| marks.get(id).copied())
            .filter(|marks| marks.stopped.is_none_or(|stopped| stopped >= start))
            .collect();
        let started = latest(start, new.iter().map(|marks| marks.seen));
        let running = latest(start, new.iter().map(|marks| marks.running));
        let healthy = latest(start, new.iter().map(|marks| marks.healthy));
        let stopped = latest(start, old_marks.iter().map(|marks| marks.stopped));
        println!(
            "  {run:3}   {total:6.3}  {:6.2}    |           {}   {}   {} |            {}",
            total / INTERVAL,
            show(started),
            show(running),
            show(healthy),
            show(stopped),
        );
        totals.push(total);
        parts.push([started, running, healthy, stopped]);
        // Forget stopped tasks, so the next run's old tasks are the live ones.
        timeline
            .lock()
            .expect("the timeline")
            .retain(|_, marks| marks.stopped.is_none());
    }
    watcher.abort();
    let part = |index: usize| -> String {
        let values: Vec<f64> = parts.iter().filter_map(|part| part[index]).collect();
        if values.is_empty() {
            "?".to_owned()
        } else {
            format!("{:.3}", median(&values))
        }
    };
    println!(
        "  median {:.3} s = {:.2} intervals, max {:.3} s = {:.2} intervals (target: under 3 intervals, {:.1} s)",
        median(&totals),
        median(&totals) / INTERVAL,
        max(&totals),
        max(&totals) / INTERVAL,
        3.0 * INTERVAL
    );
    println!(
        "  medians of the parts (s from UpdateService): new tasks launched {}, running {}, healthy {}, old tasks stopped {}",
        part(0),
        part(1),
        part(2),
        part(3)
    );
    server.shutdown().await;
}

/// This process's CPU time so far (user, system), from `/proc/self/stat`.
fn cpu_time() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |index: usize| -> Duration {
        let ticks: u64 = fields[index].parse().expect("a number of ticks");
        // USER_HZ is 100 on Linux.
        Duration::from_millis(ticks * 10)
    };
    (ticks(11), ticks(12))
}

/// A field of `/proc/self/status` in kB (`VmRSS`, `VmHWM`).
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

async fn idle(settings: &Settings) {
    let server = start_server(settings.tick).await;
    let image = server.build_app("idle");
    let check = settings.idle_health.map(|interval| {
        json!({"command": ["CMD-SHELL", "true"], "interval": interval, "timeout": 5, "retries": 3})
    });
    let definition = server
        .register_app(
            "idle",
            &image,
            json!([{"name": "VERSION", "value": "idle"}]),
            check,
        )
        .await;
    let services = settings.services;
    println!(
        "\nidle: {services} services × 2 tasks, {}",
        match settings.idle_health {
            Some(interval) => format!("container health check `true` every {interval} s"),
            None => "no container health check".to_owned(),
        }
    );
    let start = Instant::now();
    for index in 0..services {
        server
            .ecs(
                Operation::CreateService,
                json!({"serviceName": format!("svc-{index:03}"), "taskDefinition": definition,
                       "desiredCount": 2}),
            )
            .await;
    }
    let created = start.elapsed();
    let last_report = std::cell::Cell::new(Instant::now());
    let all_running = std::cell::Cell::new(None::<Duration>);
    let wanted = services * 2;
    server
        .until("every service to complete", PATIENCE, || async {
            let rows = server
                .store
                .live_ecs_services(None)
                .await
                .expect("the store reads");
            let completed = rows
                .iter()
                .filter(|row| {
                    ServiceRecord::parse(row).is_ok_and(|record| {
                        record.primary().is_some_and(|primary| {
                            primary.task_definition == definition
                                && primary.rollout_state
                                    == paved_engine::ecs::RolloutState::Completed
                        })
                    })
                })
                .count();
            if all_running.get().is_none() {
                let runtime = server.local.runtime();
                let running = runtime
                    .task_ids()
                    .iter()
                    .filter_map(|id| runtime.state(id))
                    .filter(|state| state.status.as_str() == "RUNNING")
                    .count();
                if running >= wanted {
                    all_running.set(Some(start.elapsed()));
                }
            }
            if last_report.get().elapsed() > Duration::from_secs(10) {
                eprintln!(
                    "  … {completed}/{services} COMPLETED after {:.0} s",
                    start.elapsed().as_secs_f64()
                );
                last_report.set(Instant::now());
            }
            (completed == services).then_some(())
        })
        .await;
    let all_completed = start.elapsed();
    println!(
        "  {services} CreateService calls took {:.2} s; all {wanted} task processes RUNNING after {}; \
         all {services} services COMPLETED after {:.1} s",
        created.as_secs_f64(),
        all_running
            .get()
            .map_or_else(|| "?".to_owned(), |at| format!("{:.1} s", at.as_secs_f64())),
        all_completed.as_secs_f64()
    );
    if let Some(interval) = settings.idle_health {
        println!(
            "  (a task counts as healthy after its first check, one interval ({interval} s) after it starts)"
        );
    }
    // Let the last passes and process starts settle before the window opens.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let changes_before = *server.local.changes().borrow();
    let (user_before, system_before) = cpu_time();
    let opened = Instant::now();
    tokio::time::sleep(settings.idle).await;
    let (user_after, system_after) = cpu_time();
    let wall = opened.elapsed().as_secs_f64();
    let changes_after = *server.local.changes().borrow();
    let user = (user_after - user_before).as_secs_f64();
    let system = (system_after - system_before).as_secs_f64();
    let percent = (user + system) / wall * 100.0;
    let running = server.running_tasks().await;
    let processes = server.local.runtime().task_ids().len();
    println!(
        "  idle window {wall:.1} s: CPU {:.2} s (user {user:.2}, sys {system:.2}) = {percent:.2} % of one core (target < 5 %)",
        user + system
    );
    println!(
        "  engine passes that changed something during the window: {}",
        changes_after - changes_before
    );
    println!(
        "  tasks RUNNING: {running} (runtime tasks in memory: {processes}); RSS {:.1} MiB (peak {:.1} MiB)",
        status_kb("VmRSS") as f64 / 1024.0,
        status_kb("VmHWM") as f64 / 1024.0
    );
    println!(
        "  (CPU is this process only: Paved's server, engine and runtime; the app processes and \
         the health-check commands are child processes and not counted)"
    );
    server.shutdown().await;
}

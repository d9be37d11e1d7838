//! Container health checks, with ECS's (Docker's) semantics.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::Signal;
use tokio::time::Instant;

use crate::process::signal_group;
use crate::spec::HealthCheckSpec;
use crate::state::Health;

/// Sends SIGKILL to a process group when dropped (a timed-out or abandoned check).
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            signal_group(pid, Signal::KILL);
        }
    }
}

/// Where and how a check runs: the container's environment and working directory.
pub(crate) struct CheckContext {
    pub(crate) argv: Vec<String>,
    pub(crate) environment: Vec<(String, String)>,
    pub(crate) working_dir: PathBuf,
}

/// Runs the check every `interval` until the task aborts it, calling `report` on every
/// change of health. The first check runs one interval after the start, as in Docker.
/// Failures during the start period do not count, until a check has succeeded once.
pub(crate) async fn run(check: HealthCheckSpec, context: CheckContext, report: impl Fn(Health)) {
    let started = Instant::now();
    let retries = check.retries.max(1);
    let interval = check.interval.max(Duration::from_millis(10));
    let mut failures = 0;
    let mut succeeded_once = false;
    let mut current = Health::Unknown;
    let mut next_run = started + interval;
    loop {
        tokio::time::sleep_until(next_run).await;
        next_run = Instant::now() + interval;
        let passed = run_once(&context, check.timeout).await;
        let next = if passed {
            succeeded_once = true;
            failures = 0;
            Health::Healthy
        } else if !succeeded_once && started.elapsed() < check.start_period {
            current
        } else {
            failures += 1;
            if failures >= retries {
                Health::Unhealthy
            } else {
                current
            }
        };
        if next != current {
            current = next;
            report(next);
        }
    }
}

/// Runs the check once: exit code 0 within `timeout` passes.
async fn run_once(context: &CheckContext, timeout: Duration) -> bool {
    let Some((program, args)) = context.argv.split_first() else {
        return false;
    };
    let path = context
        .environment
        .iter()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| value.as_str());
    let Ok(resolved) = crate::runtime::resolve_program(program, path, &context.working_dir) else {
        return false;
    };
    let mut command = tokio::process::Command::new(resolved);
    command
        .arg0(program)
        .args(args)
        .env_clear()
        .envs(context.environment.iter().map(|(key, value)| (key, value)))
        .current_dir(&context.working_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let Ok(mut child) = command.spawn() else {
        return false;
    };
    let mut guard = GroupGuard(child.id());
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => {
            // The group may still hold background processes of the check.
            drop(guard);
            status.success()
        }
        Ok(Err(_)) => false,
        Err(_) => {
            if let Some(pid) = guard.0.take() {
                signal_group(pid, Signal::KILL);
            }
            let _ = child.wait().await;
            false
        }
    }
}

//! The service scheduler's arithmetic, as ECS does it: which tasks to start and which to stop
//! so a service converges on its primary deployment without going outside
//! `minimumHealthyPercent` and `maximumPercent`, and when the deployment circuit breaker trips.
//!
//! Pure functions over counts and task phases; the scheduler gathers the phases and acts.

/// What the scheduler knows of one of a service's tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub id: String,
    pub deployment: String,
    pub phase: Phase,
}

/// A task's phase, as far as a rollout is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Provisioning, pending, or running but not yet healthy.
    Starting,
    /// Running and passing every health check it has (container and load balancer).
    Healthy,
    /// Failing a health check after its grace period: to be replaced.
    Unhealthy,
    /// Asked to stop (draining or stopping).
    Stopping,
}

/// Why the scheduler stops a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhy {
    /// It failed its health checks.
    Unhealthy,
    /// It belongs to an older deployment.
    Replaced,
    /// The primary deployment has more tasks than its desired count.
    ScaleIn,
}

/// What to do for a service now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// How many tasks to start for the primary deployment.
    pub start: u32,
    pub stop: Vec<(String, StopWhy)>,
}

/// The bounds a deployment configuration sets for `desired` tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Most tasks (running or pending) at once: `desired × maximumPercent / 100`, rounded down.
    pub max_tasks: u32,
    /// Fewest healthy tasks: `desired × minimumHealthyPercent / 100`, rounded up.
    pub min_healthy: u32,
}

impl Bounds {
    pub fn new(desired: u32, minimum_healthy_percent: u32, maximum_percent: u32) -> Bounds {
        let desired = u64::from(desired);
        let max_tasks = desired * u64::from(maximum_percent) / 100;
        let min_healthy = (desired * u64::from(minimum_healthy_percent)).div_ceil(100);
        Bounds {
            max_tasks: u32::try_from(max_tasks).unwrap_or(u32::MAX),
            min_healthy: u32::try_from(min_healthy).unwrap_or(u32::MAX),
        }
    }
}

/// The deployment circuit breaker's threshold: failed launches reaching half the desired
/// count (rounded up), at least 3 and at most 200.
pub fn failure_threshold(desired: u32) -> u32 {
    desired.div_ceil(2).clamp(3, 200)
}

/// Plans one step of a service's rollout towards `primary`.
///
/// - Unhealthy tasks are always stopped: they serve nothing.
/// - Tasks of older deployments are stopped while the healthy count stays at or above
///   `min_healthy` (those not yet healthy first, as they cost no capacity).
/// - Primary tasks beyond `desired` are stopped (scale in), not-yet-healthy ones first.
/// - Primary tasks are started up to `desired`, while the live count stays at or below
///   `max_tasks`; none when `accepting` is false (a failed deployment without rollback).
pub fn plan(
    desired: u32,
    bounds: Bounds,
    primary: &str,
    accepting: bool,
    tasks: &[TaskView],
) -> Plan {
    let mut plan = Plan::default();
    let live: Vec<&TaskView> = tasks
        .iter()
        .filter(|task| task.phase != Phase::Stopping)
        .collect();
    for task in &live {
        if task.phase == Phase::Unhealthy {
            plan.stop.push((task.id.clone(), StopWhy::Unhealthy));
        }
    }
    let kept: Vec<&TaskView> = live
        .into_iter()
        .filter(|task| task.phase != Phase::Unhealthy)
        .collect();
    let mut healthy = count(&kept, |task| task.phase == Phase::Healthy);
    let mut live_count = u32::try_from(kept.len()).unwrap_or(u32::MAX);

    // Scale in: the primary's extra tasks, the least useful first.
    let mut primary_tasks: Vec<&TaskView> = kept
        .iter()
        .copied()
        .filter(|task| task.deployment == primary)
        .collect();
    primary_tasks.sort_by_key(|task| task.phase == Phase::Healthy);
    let mut primary_count = u32::try_from(primary_tasks.len()).unwrap_or(u32::MAX);
    for task in primary_tasks {
        if primary_count <= desired {
            break;
        }
        plan.stop.push((task.id.clone(), StopWhy::ScaleIn));
        primary_count -= 1;
        live_count -= 1;
        if task.phase == Phase::Healthy {
            healthy -= 1;
        }
    }

    // Older deployments: not-yet-healthy tasks always; healthy ones while capacity allows.
    let mut old: Vec<&TaskView> = kept
        .iter()
        .copied()
        .filter(|task| task.deployment != primary)
        .collect();
    old.sort_by_key(|task| task.phase == Phase::Healthy);
    for task in old {
        if task.phase == Phase::Healthy {
            if healthy <= bounds.min_healthy {
                continue;
            }
            healthy -= 1;
        }
        plan.stop.push((task.id.clone(), StopWhy::Replaced));
        live_count -= 1;
    }

    if accepting {
        let wanted = desired.saturating_sub(primary_count);
        let room = bounds.max_tasks.saturating_sub(live_count);
        plan.start = wanted.min(room);
    }
    plan
}

fn count(tasks: &[&TaskView], predicate: impl Fn(&TaskView) -> bool) -> u32 {
    u32::try_from(tasks.iter().filter(|task| predicate(task)).count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(spec: &[(&str, Phase)]) -> Vec<TaskView> {
        spec.iter()
            .enumerate()
            .map(|(index, (deployment, phase))| TaskView {
                id: format!("t{index}"),
                deployment: (*deployment).to_owned(),
                phase: *phase,
            })
            .collect()
    }

    fn stopped(plan: &Plan) -> Vec<&str> {
        plan.stop.iter().map(|(id, _)| id.as_str()).collect()
    }

    #[test]
    fn bounds_round_as_ecs_does() {
        // desired 3: 50 % → 1.5 rounds up to 2; 150 % → 4.5 rounds down to 4.
        assert_eq!(
            Bounds::new(3, 50, 150),
            Bounds {
                max_tasks: 4,
                min_healthy: 2
            }
        );
        assert_eq!(
            Bounds::new(2, 100, 200),
            Bounds {
                max_tasks: 4,
                min_healthy: 2
            }
        );
        assert_eq!(
            Bounds::new(0, 100, 200),
            Bounds {
                max_tasks: 0,
                min_healthy: 0
            }
        );
        assert_eq!(
            Bounds::new(7, 33, 100),
            Bounds {
                max_tasks: 7,
                min_healthy: 3
            }
        );
    }

    #[test]
    fn circuit_breaker_threshold() {
        for (desired, threshold) in [
            (1, 3),
            (2, 3),
            (6, 3),
            (7, 4),
            (10, 5),
            (401, 200),
            (1000, 200),
        ] {
            assert_eq!(failure_threshold(desired), threshold, "desired {desired}");
        }
    }

    #[test]
    fn a_new_service_starts_its_tasks() {
        let plan = plan(2, Bounds::new(2, 100, 200), "new", true, &[]);
        assert_eq!(plan.start, 2);
        assert!(plan.stop.is_empty());
    }

    #[test]
    fn rolling_update_at_100_200_starts_first_and_keeps_capacity() {
        let bounds = Bounds::new(2, 100, 200);
        let old = tasks(&[("old", Phase::Healthy), ("old", Phase::Healthy)]);
        let step = plan(2, bounds, "new", true, &old);
        assert_eq!(step.start, 2);
        assert!(
            step.stop.is_empty(),
            "no old task stops before new ones are healthy"
        );

        let mixed = tasks(&[
            ("old", Phase::Healthy),
            ("old", Phase::Healthy),
            ("new", Phase::Healthy),
            ("new", Phase::Starting),
        ]);
        let step = plan(2, bounds, "new", true, &mixed);
        assert_eq!(step.start, 0);
        assert_eq!(
            stopped(&step),
            ["t0"],
            "one healthy new task frees one old task"
        );
    }

    #[test]
    fn rolling_update_at_50_100_stops_first() {
        let bounds = Bounds::new(2, 50, 100);
        let old = tasks(&[("old", Phase::Healthy), ("old", Phase::Healthy)]);
        let step = plan(2, bounds, "new", true, &old);
        assert_eq!(stopped(&step), ["t0"]);
        assert_eq!(step.start, 1, "room for one once an old task is stopping");
    }

    #[test]
    fn unhealthy_tasks_are_replaced() {
        let bounds = Bounds::new(2, 100, 200);
        let current = tasks(&[("d", Phase::Healthy), ("d", Phase::Unhealthy)]);
        let step = plan(2, bounds, "d", true, &current);
        assert_eq!(step.stop, vec![("t1".to_owned(), StopWhy::Unhealthy)]);
        assert_eq!(step.start, 1);
    }

    #[test]
    fn scale_in_stops_unhealthy_first() {
        let bounds = Bounds::new(1, 100, 200);
        let current = tasks(&[
            ("d", Phase::Healthy),
            ("d", Phase::Starting),
            ("d", Phase::Healthy),
        ]);
        let step = plan(1, bounds, "d", true, &current);
        assert_eq!(stopped(&step), ["t1", "t0"]);
        assert_eq!(step.start, 0);
    }

    #[test]
    fn a_failed_deployment_without_rollback_starts_nothing() {
        let bounds = Bounds::new(2, 100, 200);
        let step = plan(2, bounds, "d", false, &[]);
        assert_eq!(step.start, 0);
    }

    #[test]
    fn stopping_tasks_count_for_nothing() {
        let bounds = Bounds::new(2, 100, 200);
        let current = tasks(&[("d", Phase::Stopping), ("d", Phase::Stopping)]);
        let step = plan(2, bounds, "d", true, &current);
        assert_eq!(step.start, 2);
        assert!(step.stop.is_empty());
    }

    /// Whatever the phases, a plan never takes the healthy count below the minimum (unless
    /// it was already below) and never starts beyond the maximum.
    #[test]
    fn plans_respect_bounds_for_every_small_case() {
        let phases = [
            Phase::Starting,
            Phase::Healthy,
            Phase::Unhealthy,
            Phase::Stopping,
        ];
        for desired in 0..4u32 {
            for (min, max) in [(100, 200), (50, 100), (0, 100), (50, 150), (100, 150)] {
                let bounds = Bounds::new(desired, min, max);
                for n in 0..5usize {
                    for combination in 0..(8usize.pow(n as u32)) {
                        let mut spec = Vec::new();
                        let mut rest = combination;
                        for _ in 0..n {
                            let deployment = if rest % 2 == 0 { "new" } else { "old" };
                            spec.push((deployment, phases[(rest / 2) % 4]));
                            rest /= 8;
                        }
                        let current = tasks(&spec);
                        let step = plan(desired, bounds, "new", true, &current);
                        let healthy_before = current
                            .iter()
                            .filter(|task| task.phase == Phase::Healthy)
                            .count() as u32;
                        let healthy_stopped = step
                            .stop
                            .iter()
                            .filter(|(id, why)| {
                                *why == StopWhy::Replaced
                                    && current
                                        .iter()
                                        .any(|task| task.id == *id && task.phase == Phase::Healthy)
                            })
                            .count() as u32;
                        if healthy_stopped > 0 {
                            assert!(
                                healthy_before - healthy_stopped >= bounds.min_healthy,
                                "{spec:?} desired {desired} {min}/{max}: {step:?}"
                            );
                        }
                        let live_after = current
                            .iter()
                            .filter(|task| task.phase != Phase::Stopping)
                            .count() as u32
                            - step.stop.len() as u32
                            + step.start;
                        if step.start > 0 {
                            assert!(
                                live_after <= bounds.max_tasks,
                                "{spec:?} desired {desired} {min}/{max}: {step:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}

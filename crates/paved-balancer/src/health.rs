//! The health check loop each registered target runs until it is removed.

use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::header::USER_AGENT;
use hyper::{Request, Uri};

use crate::config::HttpHealthCheck;
use crate::targets::Target;
use crate::{Inner, TargetHealth};

/// Consecutive results of one target's health checks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Streak {
    successes: u32,
    failures: u32,
}

/// Checks `target` every interval of its group's health check (the first check at once), and sets
/// its health from the results. Without a health check, the target is simply healthy; a draining
/// target is not checked. Ends when the target is removed, its group is gone or the balancer is
/// dropped; re-reads the settings after each `apply` that changes them.
pub(crate) async fn run(inner: Arc<Inner>, target_group: String, target: Arc<Target>) {
    let mut removed = target.removed.subscribe();
    let mut settings = inner.settings.subscribe();
    let mut shutdown = inner.shutdown.clone();
    let mut streak = Streak::default();
    let mut previous_check: Option<HttpHealthCheck> = None;
    loop {
        let health_check = {
            let state = inner.lock();
            match state.target_groups.get(&target_group) {
                Some(group) => group.config.health_check.clone(),
                None => break,
            }
        };
        settings.borrow_and_update();
        if target.is_removed() {
            break;
        }
        let interval = match health_check {
            // A draining target only waits for its removal; ALB doesn't check it either.
            _ if target.health() == TargetHealth::Draining => None,
            None => {
                update_health(&inner, &target, |health| match health {
                    TargetHealth::Initial | TargetHealth::Unhealthy => Some(TargetHealth::Healthy),
                    TargetHealth::Healthy | TargetHealth::Draining => None,
                });
                None
            }
            Some(health_check) => {
                if previous_check.as_ref() != Some(&health_check) {
                    streak = Streak::default();
                }
                let passed = probe(&inner, &target, &health_check).await;
                streak = streak.record(passed);
                update_health(&inner, &target, |health| {
                    next_health(health, streak, &health_check)
                });
                let interval = health_check.interval;
                previous_check = Some(health_check);
                Some(interval)
            }
        };
        tokio::select! {
            _ = removed.wait_for(|removed| *removed) => break,
            _ = shutdown.changed() => break,
            _ = settings.changed() => {}
            _ = async {
                match interval {
                    Some(interval) => tokio::time::sleep(interval).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}

impl Streak {
    fn record(self, passed: bool) -> Streak {
        if passed {
            Streak {
                successes: self.successes.saturating_add(1),
                failures: 0,
            }
        } else {
            Streak {
                successes: 0,
                failures: self.failures.saturating_add(1),
            }
        }
    }
}

/// The health a target moves to after its latest check, if it changes.
fn next_health(
    health: TargetHealth,
    streak: Streak,
    health_check: &HttpHealthCheck,
) -> Option<TargetHealth> {
    let healthy = streak.successes >= health_check.healthy_threshold.max(1);
    let unhealthy = streak.failures >= health_check.unhealthy_threshold.max(1);
    match health {
        TargetHealth::Initial | TargetHealth::Unhealthy if healthy => Some(TargetHealth::Healthy),
        TargetHealth::Initial | TargetHealth::Healthy if unhealthy => Some(TargetHealth::Unhealthy),
        _ => None,
    }
}

/// Sets the target's health as `next` says, unless the target is draining or removed; bumps
/// `changed` when it changes.
fn update_health(
    inner: &Inner,
    target: &Target,
    next: impl FnOnce(TargetHealth) -> Option<TargetHealth>,
) {
    let changed = {
        let _state = inner.lock();
        match next(target.health()) {
            Some(health) if !target.is_removed() && target.health() != TargetHealth::Draining => {
                target.set_health(health)
            }
            _ => false,
        }
    };
    if changed {
        tracing::info!(target_id = target.id, addr = %target.addr, health = %target.health(), "target health changed");
        inner.bump_changed();
    }
}

/// One `GET` of the health check path; passes when the status is in the matcher's range within
/// the timeout.
async fn probe(inner: &Inner, target: &Target, health_check: &HttpHealthCheck) -> bool {
    let path = if health_check.path.starts_with('/') {
        health_check.path.clone()
    } else {
        format!("/{}", health_check.path)
    };
    let Ok(uri) = format!("http://{}{path}", target.addr).parse::<Uri>() else {
        return false;
    };
    let Ok(request) = Request::get(uri)
        .header(USER_AGENT, "ELB-HealthChecker/2.0")
        .body(Empty::new())
    else {
        return false;
    };
    let attempt = async {
        let response = inner.health_client.request(request).await.ok()?;
        let status = response.status().as_u16();
        // Read the body so that the connection can serve the next check.
        response.into_body().collect().await.ok()?;
        Some(status)
    };
    let (low, high) = health_check.matcher;
    match tokio::time::timeout(health_check.timeout, attempt).await {
        Ok(Some(status)) => (low..=high).contains(&status),
        Ok(None) | Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let health_check = HttpHealthCheck {
            healthy_threshold: 2,
            unhealthy_threshold: 3,
            ..HttpHealthCheck::default()
        };
        // (health, results so far, expected next health)
        let cases: &[(TargetHealth, &[bool], Option<TargetHealth>)] = &[
            (TargetHealth::Initial, &[true], None),
            (
                TargetHealth::Initial,
                &[true, true],
                Some(TargetHealth::Healthy),
            ),
            (TargetHealth::Initial, &[true, false, true], None),
            (
                TargetHealth::Initial,
                &[false, false, false],
                Some(TargetHealth::Unhealthy),
            ),
            (TargetHealth::Healthy, &[false, false], None),
            (
                TargetHealth::Healthy,
                &[false, false, false],
                Some(TargetHealth::Unhealthy),
            ),
            (TargetHealth::Healthy, &[true, true, true], None),
            (
                TargetHealth::Unhealthy,
                &[false, true, true],
                Some(TargetHealth::Healthy),
            ),
            (TargetHealth::Unhealthy, &[false, false, false, false], None),
            (TargetHealth::Draining, &[true, true, true], None),
            (TargetHealth::Draining, &[false, false, false], None),
        ];
        for (health, results, expected) in cases {
            let streak = results
                .iter()
                .fold(Streak::default(), |streak, passed| streak.record(*passed));
            assert_eq!(
                next_health(*health, streak, &health_check),
                *expected,
                "{health} after {results:?}"
            );
        }
    }

    #[test]
    fn zero_thresholds_count_as_one() {
        let health_check = HttpHealthCheck {
            healthy_threshold: 0,
            unhealthy_threshold: 0,
            ..HttpHealthCheck::default()
        };
        let failed = Streak::default().record(false);
        assert_eq!(
            next_health(TargetHealth::Healthy, failed, &health_check),
            Some(TargetHealth::Unhealthy)
        );
        assert_eq!(
            next_health(TargetHealth::Unhealthy, Streak::default(), &health_check),
            None
        );
    }
}

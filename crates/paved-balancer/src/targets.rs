//! Target groups and their targets: health, round-robin selection and in-flight counting.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use tokio::sync::watch;

use crate::TargetHealth;
use crate::config::TargetGroupConfig;

/// A target group as the balancer runs it.
pub(crate) struct TargetGroup {
    pub(crate) config: TargetGroupConfig,
    /// In registration order; a draining target stays here until it is removed.
    pub(crate) targets: Vec<Arc<Target>>,
    /// Round-robin position among the healthy targets.
    next: usize,
}

impl TargetGroup {
    pub(crate) fn new(config: TargetGroupConfig) -> TargetGroup {
        TargetGroup {
            config,
            targets: Vec::new(),
            next: 0,
        }
    }

    /// Picks the next healthy target round robin and counts the request on it.
    pub(crate) fn select(&mut self) -> Option<InFlight> {
        let healthy: Vec<&Arc<Target>> = self
            .targets
            .iter()
            .filter(|target| target.health() == TargetHealth::Healthy)
            .collect();
        if healthy.is_empty() {
            return None;
        }
        let target = healthy[self.next % healthy.len()];
        self.next = self.next.wrapping_add(1);
        target.requests.fetch_add(1, Ordering::Relaxed);
        target.in_flight.send_modify(|in_flight| *in_flight += 1);
        Some(InFlight {
            target: Arc::clone(target),
        })
    }

    pub(crate) fn find(&self, target_id: &str) -> Option<&Arc<Target>> {
        self.targets.iter().find(|target| target.id == target_id)
    }
}

/// One registered target.
///
/// A target that is re-registered with another address is a new `Target`; the old one finishes
/// on its own (its health check loop ends, its in-flight requests complete).
pub(crate) struct Target {
    pub(crate) id: String,
    pub(crate) addr: SocketAddr,
    /// INVARIANT: only written while the balancer's state lock is held, so that selection
    /// (also under the lock) never picks a target that has started draining.
    health: AtomicU8,
    pub(crate) requests: AtomicU64,
    /// Requests from selection until their response body is done; draining waits for 0.
    pub(crate) in_flight: watch::Sender<u64>,
    /// Becomes `true` once the target is gone; its health check loop and `deregister` callers wait for it.
    pub(crate) removed: watch::Sender<bool>,
}

impl Target {
    pub(crate) fn new(id: &str, addr: SocketAddr, health: TargetHealth) -> Target {
        Target {
            id: id.to_owned(),
            addr,
            health: AtomicU8::new(health as u8),
            requests: AtomicU64::new(0),
            in_flight: watch::Sender::new(0),
            removed: watch::Sender::new(false),
        }
    }

    pub(crate) fn health(&self) -> TargetHealth {
        match self.health.load(Ordering::Acquire) {
            0 => TargetHealth::Initial,
            1 => TargetHealth::Healthy,
            2 => TargetHealth::Unhealthy,
            _ => TargetHealth::Draining,
        }
    }

    /// Call only with the state lock held (see the invariant on `health`). Returns whether the
    /// health changed.
    pub(crate) fn set_health(&self, health: TargetHealth) -> bool {
        self.health.swap(health as u8, Ordering::AcqRel) != health as u8
    }

    pub(crate) fn is_removed(&self) -> bool {
        *self.removed.borrow()
    }

    pub(crate) fn mark_removed(&self) {
        self.removed.send_replace(true);
    }
}

/// One request counted against a target; dropping it ends the request.
pub(crate) struct InFlight {
    pub(crate) target: Arc<Target>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.target
            .in_flight
            .send_modify(|in_flight| *in_flight = in_flight.saturating_sub(1));
    }
}

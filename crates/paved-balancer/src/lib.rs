//! The local engine's load balancer: an HTTP reverse proxy per environment with Application Load
//! Balancer semantics.
//!
//! Start reading at [`Balancer`]. The model is ALB's:
//!
//! - A **listener** ([`ListenerConfig`]) accepts HTTP/1.1 on `127.0.0.1:port`. Its **rules** ([`Rule`])
//!   are evaluated by ascending priority; a rule matches when each of its non-empty condition lists
//!   (host headers, path patterns) has a matching value. The first match forwards the request to its
//!   **target group**; with no match, the listener's default target group gets it, or the client gets
//!   a fixed 404.
//! - A **target group** ([`TargetGroupConfig`]) holds **targets** (an id and an address), registered
//!   and deregistered by the scheduler. Requests go round robin to its `healthy` targets; with none,
//!   the client gets a 503, and when the chosen target cannot be reached, a 502.
//! - **Health checks** ([`HttpHealthCheck`]) run per target: consecutive successes make a target
//!   `healthy`, consecutive failures `unhealthy`. Every health change bumps [`Balancer::changed`].
//! - **Deregistration** stops new requests to a target at once (`draining`) and removes it when its
//!   in-flight requests (response bodies included) have finished, or after the group's
//!   deregistration delay.
//!
//! Where it differs from an ALB, deliberately:
//!
//! - HTTP/1.1 only: no HTTPS listeners, no HTTP/2, no WebSocket or other upgrades (the `Upgrade`
//!   header is stripped like any hop-by-hop header).
//! - One address per listener, always on 127.0.0.1; no availability zones, no cross-zone settings.
//! - Only forward actions and path-pattern and host-header conditions: no redirects, fixed responses
//!   of one's own, weighted target groups, header, query-string, method or source-IP conditions.
//! - Round robin only: no sticky sessions, no least-outstanding-requests, no slow start.
//! - No idle timeout towards clients or targets, and no request-size limits.
//! - When the deregistration delay ends before a target's requests do, the target is removed but
//!   those requests are not cut off (ALB closes their connections).
//! - No `X-Amzn-Trace-Id`, access logs or CloudWatch metrics; [`Balancer::stats`] has counters.
//! - A target group can exist without being named by `apply`: registering into an unknown group
//!   creates it with no health check and ALB's 300-second deregistration delay, until `apply`
//!   names it. `apply` removes groups it doesn't name, with their targets.
//!
//! Not part of this crate: ECS, the scheduler (`paved-engine-local` registers and deregisters targets),
//! or any AWS API shape.

mod config;
mod health;
mod listener;
mod proxy;
mod routing;
mod targets;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use crate::config::{BalancerConfig, HttpHealthCheck, ListenerConfig, Rule, TargetGroupConfig};
use crate::listener::Listener;
use crate::routing::Routes;
use crate::targets::{Target, TargetGroup};

/// A handle on the running balancer: listeners, target groups and their health check loops.
///
/// Cheap to clone. When the last clone is dropped, listeners stop accepting, idle client
/// connections close and health checks stop; requests already in flight still finish.
///
/// Every method that starts tasks (`apply`, `register`, `deregister`) must run inside a Tokio
/// runtime.
#[derive(Clone)]
pub struct Balancer {
    inner: Arc<Inner>,
    /// Dropped with the last handle; every task watches it and stops.
    _shutdown: Arc<watch::Sender<()>>,
}

/// A target's health, as ELB reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum TargetHealth {
    /// Registered, health check not passed yet.
    Initial = 0,
    /// Receives requests.
    Healthy = 1,
    /// Failed its health check; receives no requests until it passes again.
    Unhealthy = 2,
    /// Deregistered; finishing its in-flight requests, receives no new ones.
    Draining = 3,
}

impl TargetHealth {
    /// ELB's spelling: `initial`, `healthy`, `unhealthy`, `draining`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetHealth::Initial => "initial",
            TargetHealth::Healthy => "healthy",
            TargetHealth::Unhealthy => "unhealthy",
            TargetHealth::Draining => "draining",
        }
    }
}

impl std::fmt::Display for TargetHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered target as [`Balancer::targets`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetInfo {
    pub id: String,
    pub addr: SocketAddr,
    pub health: TargetHealth,
    /// Requests forwarded to the target whose response body has not been fully sent yet.
    pub in_flight: u64,
    /// Requests forwarded to the target since it was registered.
    pub requests: u64,
}

/// A listener's counters since it was first created (they survive a port change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStats {
    pub requests: u64,
    pub responses_2xx: u64,
    pub responses_3xx: u64,
    pub responses_4xx: u64,
    pub responses_5xx: u64,
    /// 503s because the target group had no healthy target (also counted in `responses_5xx`).
    pub no_target: u64,
    /// 502s because the target could not be reached (also counted in `responses_5xx`).
    pub target_errors: u64,
}

/// Why `apply` refused a configuration; when it does, nothing has changed.
#[derive(Debug, thiserror::Error)]
pub enum BalancerError {
    #[error("listener `{listener}`: cannot listen on port {port}: {error}")]
    Bind {
        listener: String,
        port: u16,
        error: std::io::Error,
    },
    #[error("listener `{listener}` is configured more than once")]
    DuplicateListener { listener: String },
    #[error(
        "listener `{listener}`: port {port} is also configured for listener `{other_listener}`"
    )]
    DuplicatePort {
        listener: String,
        other_listener: String,
        port: u16,
    },
    #[error("listener `{listener}`: rule priority {priority} is used by more than one rule")]
    DuplicatePriority { listener: String, priority: u32 },
    #[error("listener `{listener}`: forwards to unknown target group `{target_group}`")]
    UnknownTargetGroup {
        listener: String,
        target_group: String,
    },
    #[error("target group `{target_group}` is configured more than once")]
    DuplicateTargetGroup { target_group: String },
}

pub(crate) struct Inner {
    state: Mutex<State>,
    /// Bumped on every target health change, deregistration and removal.
    changed: watch::Sender<u64>,
    /// Bumped when `apply` changes target group settings, so health check loops re-read them.
    settings: watch::Sender<u64>,
    /// Closed (sender dropped) when the last `Balancer` handle is dropped.
    shutdown: watch::Receiver<()>,
    proxy_client: Client<HttpConnector, Incoming>,
    health_client: Client<HttpConnector, Empty<Bytes>>,
}

/// What `apply` did under the state lock, and what is left to do without it.
struct Applied {
    /// Each configured listener's bound address, in config order.
    addrs: Vec<(String, SocketAddr)>,
    /// Removed listeners and the old sockets of rebound ones, to close.
    closed: Vec<Listener>,
}

#[derive(Default)]
pub(crate) struct State {
    listeners: HashMap<String, Listener>,
    target_groups: HashMap<String, TargetGroup>,
}

impl Default for Balancer {
    fn default() -> Balancer {
        Balancer::new()
    }
}

impl Balancer {
    pub fn new() -> Balancer {
        let (shutdown_sender, shutdown) = watch::channel(());
        let inner = Inner {
            state: Mutex::new(State::default()),
            changed: watch::Sender::new(0),
            settings: watch::Sender::new(0),
            shutdown,
            proxy_client: Client::builder(TokioExecutor::new()).build_http(),
            health_client: Client::builder(TokioExecutor::new()).build_http(),
        };
        Balancer {
            inner: Arc::new(inner),
            _shutdown: Arc::new(shutdown_sender),
        }
    }

    /// Makes the running listeners and target groups match `config`.
    ///
    /// Binds new listeners on `127.0.0.1:port` (port 0 takes any free port), rebinds a listener
    /// whose configured port changed, closes removed ones (they stop accepting; requests in flight
    /// finish), and updates rules and target group settings in place: registered targets stay.
    /// Target groups missing from `config` are removed with their targets.
    ///
    /// Returns each listener's bound address, in `config` order.
    ///
    /// # Errors
    ///
    /// A port that cannot be bound, a duplicate name, port or rule priority, or a rule forwarding
    /// to a target group not in `config`. Then nothing has changed.
    pub async fn apply(
        &self,
        config: BalancerConfig,
    ) -> Result<Vec<(String, SocketAddr)>, BalancerError> {
        config::validate(&config)?;
        let applied = self.apply_to_state(&config)?;
        // Returning only once the old sockets are closed lets a caller reuse their ports at once.
        for listener in applied.closed {
            listener.close().await;
        }
        Ok(applied.addrs)
    }

    /// The synchronous part of `apply`: everything that happens under the state lock.
    fn apply_to_state(&self, config: &BalancerConfig) -> Result<Applied, BalancerError> {
        let mut state = self.inner.lock();

        // Bind every socket first, so that a port in use changes nothing.
        let mut sockets = HashMap::new();
        for listener in &config.listeners {
            let rebind = match state.listeners.get(&listener.name) {
                Some(running) => running.configured_port != listener.port,
                None => true,
            };
            if rebind {
                let socket =
                    listener::bind(listener.port).map_err(|error| BalancerError::Bind {
                        listener: listener.name.clone(),
                        port: listener.port,
                        error,
                    })?;
                sockets.insert(listener.name.clone(), socket);
            }
        }

        let mut changed = false;
        let mut settings_changed = false;
        state.target_groups.retain(|name, target_group| {
            let keep = config
                .target_groups
                .iter()
                .any(|config| &config.name == name);
            if !keep {
                for target in &target_group.targets {
                    target.mark_removed();
                    changed = true;
                }
            }
            keep
        });
        for target_group_config in &config.target_groups {
            let Some(target_group) = state.target_groups.get_mut(&target_group_config.name) else {
                state.target_groups.insert(
                    target_group_config.name.clone(),
                    TargetGroup::new(target_group_config.clone()),
                );
                continue;
            };
            if target_group.config == *target_group_config {
                continue;
            }
            settings_changed = true;
            target_group.config = target_group_config.clone();
            if target_group.config.health_check.is_none() {
                for target in &target_group.targets {
                    if matches!(
                        target.health(),
                        TargetHealth::Initial | TargetHealth::Unhealthy
                    ) {
                        changed |= target.set_health(TargetHealth::Healthy);
                    }
                }
            }
        }

        let mut closed = Vec::new();
        let removed: Vec<String> = state
            .listeners
            .keys()
            .filter(|name| {
                !config
                    .listeners
                    .iter()
                    .any(|listener| &listener.name == *name)
            })
            .cloned()
            .collect();
        for name in removed {
            closed.extend(state.listeners.remove(&name));
        }
        let mut addrs = Vec::with_capacity(config.listeners.len());
        for listener_config in &config.listeners {
            let routes = Routes::new(listener_config);
            let previous = state.listeners.remove(&listener_config.name);
            let running = match sockets.remove(&listener_config.name) {
                Some(socket) => {
                    // A rebound listener keeps its counters; its old socket closes after the new one is open.
                    let shared = previous
                        .as_ref()
                        .map(|previous| Arc::clone(&previous.shared));
                    closed.extend(previous);
                    Listener::start(&self.inner, listener_config, routes, socket, shared)
                }
                None => {
                    let running =
                        previous.expect("a listener is either running or has a fresh socket");
                    running.shared.set_routes(routes);
                    running
                }
            };
            addrs.push((listener_config.name.clone(), running.addr));
            state
                .listeners
                .insert(listener_config.name.clone(), running);
        }
        drop(state);

        if settings_changed {
            self.inner
                .settings
                .send_modify(|generation| *generation += 1);
        }
        if changed {
            self.inner.bump_changed();
        }
        Ok(Applied { addrs, closed })
    }

    /// The address `listener` is bound to, if it runs.
    pub fn listener_addr(&self, listener: &str) -> Option<SocketAddr> {
        self.inner
            .lock()
            .listeners
            .get(listener)
            .map(|running| running.addr)
    }

    /// Adds a target to a target group.
    ///
    /// Its health is `initial` until its first health check passes, or `healthy` at once when the
    /// group has no health check. Registering the same id with the same address again is a no-op,
    /// unless the target is draining: then it is registered anew (as is a known id with another
    /// address), and the old one finishes draining on its own.
    pub fn register(&self, target_group: &str, target_id: &str, addr: SocketAddr) {
        let mut state = self.inner.lock();
        let group = state
            .target_groups
            .entry(target_group.to_owned())
            .or_insert_with(|| {
                TargetGroup::new(TargetGroupConfig {
                    name: target_group.to_owned(),
                    health_check: None,
                    deregistration_delay: TargetGroupConfig::DEFAULT_DEREGISTRATION_DELAY,
                })
            });
        if let Some(position) = group
            .targets
            .iter()
            .position(|target| target.id == target_id)
        {
            let existing = &group.targets[position];
            if existing.addr == addr && existing.health() != TargetHealth::Draining {
                return;
            }
            let replaced = group.targets.remove(position);
            // A draining target is removed by its drain task, which its `deregister` callers await.
            if replaced.health() != TargetHealth::Draining {
                replaced.mark_removed();
            }
        }
        let health = match group.config.health_check {
            Some(_) => TargetHealth::Initial,
            None => TargetHealth::Healthy,
        };
        let target = Arc::new(Target::new(target_id, addr, health));
        group.targets.push(Arc::clone(&target));
        drop(state);
        self.inner.bump_changed();
        tokio::spawn(health::run(
            Arc::clone(&self.inner),
            target_group.to_owned(),
            target,
        ));
    }

    /// Deregisters a target: it gets no new requests from now on (`draining`).
    ///
    /// The returned future completes when the target's in-flight requests have finished or the
    /// group's deregistration delay has passed, whichever comes first; by then the target is
    /// removed. The draining happens whether or not the future is awaited. For an unknown target,
    /// the future completes at once.
    pub fn deregister(
        &self,
        target_group: &str,
        target_id: &str,
    ) -> impl Future<Output = ()> + Send + 'static {
        let removed = self.start_draining(target_group, target_id);
        async move {
            if let Some(mut removed) = removed {
                // An error means the target is gone altogether, which is just as removed.
                let _ = removed.wait_for(|removed| *removed).await;
            }
        }
    }

    fn start_draining(&self, target_group: &str, target_id: &str) -> Option<watch::Receiver<bool>> {
        let state = self.inner.lock();
        let group = state.target_groups.get(target_group)?;
        let target = Arc::clone(group.find(target_id)?);
        let removed = target.removed.subscribe();
        if !target.set_health(TargetHealth::Draining) {
            // Already draining: wait for the same removal.
            return Some(removed);
        }
        let delay = group.config.deregistration_delay;
        drop(state);
        self.inner.bump_changed();
        tokio::spawn(drain(
            Arc::clone(&self.inner),
            target_group.to_owned(),
            target,
            delay,
        ));
        Some(removed)
    }

    pub fn target_health(&self, target_group: &str, target_id: &str) -> Option<TargetHealth> {
        let state = self.inner.lock();
        state
            .target_groups
            .get(target_group)?
            .find(target_id)
            .map(|target| target.health())
    }

    /// The group's targets in registration order (draining ones included until removed).
    pub fn targets(&self, target_group: &str) -> Vec<TargetInfo> {
        let state = self.inner.lock();
        let Some(group) = state.target_groups.get(target_group) else {
            return Vec::new();
        };
        group
            .targets
            .iter()
            .map(|target| TargetInfo {
                id: target.id.clone(),
                addr: target.addr,
                health: target.health(),
                in_flight: *target.in_flight.borrow(),
                requests: target.requests.load(std::sync::atomic::Ordering::Relaxed),
            })
            .collect()
    }

    /// A counter bumped on every target health change, registration, deregistration and removal,
    /// so that a scheduler awaits changes instead of polling. The receiver starts with the current
    /// value seen: `changed().await` waits for the next bump.
    pub fn changed(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    pub fn stats(&self, listener: &str) -> Option<ListenerStats> {
        self.inner
            .lock()
            .listeners
            .get(listener)
            .map(|running| running.shared.stats())
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump_changed(&self) {
        self.changed.send_modify(|generation| *generation += 1);
    }
}

/// Waits for the target's in-flight requests (at most `delay`), then removes it.
async fn drain(
    inner: Arc<Inner>,
    target_group: String,
    target: Arc<Target>,
    delay: std::time::Duration,
) {
    let mut in_flight = target.in_flight.subscribe();
    // Elapsed or not, the target goes now; the sender lives in `target`, so `wait_for` cannot fail.
    let _ = tokio::time::timeout(delay, in_flight.wait_for(|in_flight| *in_flight == 0)).await;
    {
        let mut state = inner.lock();
        if let Some(group) = state.target_groups.get_mut(&target_group) {
            group
                .targets
                .retain(|registered| !Arc::ptr_eq(registered, &target));
        }
    }
    target.mark_removed();
    inner.bump_changed();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_futures_cross_threads() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<Balancer>();
        fn assert_send<T: Send>(_: &T) {}
        fn assert_send_static<T: Send + 'static>(_: &T) {}
        let balancer = Balancer::new();
        assert_send(&balancer.apply(BalancerConfig::default()));
        assert_send_static(&balancer.deregister("web", "a"));
    }

    #[test]
    fn health_spelling_and_storage() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        for (health, spelled) in [
            (TargetHealth::Initial, "initial"),
            (TargetHealth::Healthy, "healthy"),
            (TargetHealth::Unhealthy, "unhealthy"),
            (TargetHealth::Draining, "draining"),
        ] {
            assert_eq!(
                (health.as_str(), health.to_string().as_str()),
                (spelled, spelled)
            );
            assert_eq!(serde_json::to_value(health).expect("serialize"), spelled);
            assert_eq!(Target::new("a", addr, health).health(), health);
        }
    }
}

//! Deregistration: draining waits for in-flight requests (bodies included), bounded by the delay.

use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use paved_balancer::{Balancer, BalancerConfig, TargetGroupConfig, TargetHealth};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::{PATIENCE, TestTarget, client, get_many, group, listener};

async fn balancer_with(target_group: TargetGroupConfig) -> (Balancer, std::net::SocketAddr) {
    let balancer = Balancer::new();
    let name = target_group.name.clone();
    let config = BalancerConfig {
        listeners: vec![listener("prod", vec![], Some(&name))],
        target_groups: vec![target_group],
    };
    let addrs = balancer.apply(config).await.expect("apply");
    (balancer, addrs[0].1)
}

/// Starts a `/slow` request; returns once its response headers (and first chunk) have arrived,
/// with a task that reads the rest of the body.
pub async fn start_slow_request(addr: std::net::SocketAddr) -> JoinHandle<(u16, String)> {
    let (headers_received, headers) = oneshot::channel();
    let request = tokio::spawn(async move {
        let response = client()
            .get(format!("http://{addr}/slow"))
            .send()
            .await
            .expect("the balancer answers");
        let status = response.status().as_u16();
        let _ = headers_received.send(());
        (status, response.text().await.expect("the whole body"))
    });
    tokio::time::timeout(PATIENCE, headers)
        .await
        .expect("headers in time")
        .expect("the request runs");
    request
}

#[tokio::test]
async fn draining_waits_for_a_streaming_response() {
    let (mut a, b) = (TestTarget::start("a").await, TestTarget::start("b").await);
    let (balancer, addr) = balancer_with(group("web")).await;
    balancer.register("web", "a", a.addr);
    let slow = start_slow_request(addr).await;
    a.slow_started().await;
    balancer.register("web", "b", b.addr);

    let changed = balancer.changed();
    let mut deregistration = tokio::spawn(balancer.deregister("web", "a"));
    assert_eq!(
        balancer.target_health("web", "a"),
        Some(TargetHealth::Draining)
    );
    assert_eq!(TargetHealth::Draining.as_str(), "draining");
    assert!(changed.has_changed().expect("the balancer lives"));

    // New requests go to the other target while the slow body is still streaming.
    assert_eq!(get_many(&client(), addr, "/", 4).await, vec!["b"; 4]);
    let draining = balancer
        .targets("web")
        .into_iter()
        .find(|target| target.id == "a")
        .expect("still listed");
    assert_eq!(
        (draining.health, draining.in_flight, draining.requests),
        (TargetHealth::Draining, 1, 1)
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut deregistration)
            .await
            .is_err(),
        "deregistration finished with a response still streaming"
    );

    a.release();
    let (status, body) = tokio::time::timeout(PATIENCE, slow)
        .await
        .expect("in time")
        .expect("the request task");
    assert_eq!((status, body.as_str()), (200, "begin;end"));
    tokio::time::timeout(PATIENCE, deregistration)
        .await
        .expect("deregistered in time")
        .expect("the task");
    assert_eq!(balancer.target_health("web", "a"), None);
    assert_eq!(
        balancer
            .targets("web")
            .iter()
            .map(|target| target.id.as_str())
            .collect::<Vec<_>>(),
        vec!["b"]
    );
}

#[tokio::test]
async fn deregistration_delay_bounds_the_wait() {
    let mut a = TestTarget::start("a").await;
    let target_group = TargetGroupConfig {
        deregistration_delay: Duration::from_millis(100),
        ..group("web")
    };
    let (balancer, addr) = balancer_with(target_group).await;
    balancer.register("web", "a", a.addr);
    let slow = start_slow_request(addr).await;
    a.slow_started().await;

    tokio::time::timeout(PATIENCE, balancer.deregister("web", "a"))
        .await
        .expect("the delay ends the draining");
    assert_eq!(balancer.target_health("web", "a"), None);
    assert!(!slow.is_finished(), "the slow response was never released");

    // The request outlives its target's registration; it is not cut off.
    a.release();
    let (status, body) = tokio::time::timeout(PATIENCE, slow)
        .await
        .expect("in time")
        .expect("the request task");
    assert_eq!((status, body.as_str()), (200, "begin;end"));
}

#[tokio::test]
async fn deregistering_an_unknown_target_completes_at_once() {
    let a = TestTarget::start("a").await;
    let (balancer, _) = balancer_with(group("web")).await;
    balancer.register("web", "a", a.addr);
    let changed = balancer.changed();
    for (target_group, target_id) in [("web", "nobody"), ("nowhere", "a")] {
        let deregistration = pin!(balancer.deregister(target_group, target_id));
        let polled = deregistration.poll(&mut Context::from_waker(Waker::noop()));
        assert_eq!(polled, Poll::Ready(()), "`{target_group}` `{target_id}`");
    }
    assert!(!changed.has_changed().expect("the balancer lives"));
    assert_eq!(
        balancer.target_health("web", "a"),
        Some(TargetHealth::Healthy)
    );

    // An idle target is removed without waiting for the (30 s) delay.
    tokio::time::timeout(PATIENCE, balancer.deregister("web", "a"))
        .await
        .expect("no in-flight requests to wait for");
    assert_eq!(balancer.target_health("web", "a"), None);
    assert!(changed.has_changed().expect("the balancer lives"));
}

#[tokio::test]
async fn registering_a_draining_target_again_makes_it_new() {
    let (mut a, b) = (TestTarget::start("a").await, TestTarget::start("b").await);
    let (balancer, addr) = balancer_with(group("web")).await;
    balancer.register("web", "a", a.addr);
    let slow = start_slow_request(addr).await;
    a.slow_started().await;

    let deregistration = tokio::spawn(balancer.deregister("web", "a"));
    assert_eq!(
        balancer.target_health("web", "a"),
        Some(TargetHealth::Draining)
    );
    // The task is back at another address while its old one drains.
    balancer.register("web", "a", b.addr);
    assert_eq!(
        balancer.target_health("web", "a"),
        Some(TargetHealth::Healthy)
    );
    assert_eq!(get_many(&client(), addr, "/", 2).await, vec!["b"; 2]);

    a.release();
    assert_eq!(
        tokio::time::timeout(PATIENCE, slow)
            .await
            .expect("in time")
            .expect("the task")
            .0,
        200
    );
    tokio::time::timeout(PATIENCE, deregistration)
        .await
        .expect("the old target drained")
        .expect("the task");
    let targets = balancer.targets("web");
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].addr, targets[0].health),
        (b.addr, TargetHealth::Healthy)
    );
}

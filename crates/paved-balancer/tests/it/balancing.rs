//! Round robin, health checks, 503 and 502.

use std::time::Duration;

use paved_balancer::{Balancer, BalancerConfig, HttpHealthCheck, TargetHealth};

use crate::support::{
    TestTarget, checked_group, client, closed_port, get, get_many, group, listener, wait_for_health,
};

async fn balancer_with(
    target_group: paved_balancer::TargetGroupConfig,
) -> (Balancer, std::net::SocketAddr) {
    let balancer = Balancer::new();
    let name = target_group.name.clone();
    let config = BalancerConfig {
        listeners: vec![listener("prod", vec![], Some(&name))],
        target_groups: vec![target_group],
    };
    let addrs = balancer.apply(config).await.expect("apply");
    (balancer, addrs[0].1)
}

#[tokio::test]
async fn round_robin_across_healthy_targets() {
    let (a, b) = (TestTarget::start("a").await, TestTarget::start("b").await);
    let (balancer, addr) = balancer_with(group("web")).await;
    balancer.register("web", "a", a.addr);
    balancer.register("web", "b", b.addr);

    // One keep-alive client: every request is routed on its own.
    let bodies = get_many(&client(), addr, "/", 6).await;
    for pair in bodies.windows(2) {
        assert_ne!(pair[0], pair[1], "not alternating: {bodies:?}");
    }
    let targets = balancer.targets("web");
    let requests: Vec<(&str, u64, u64)> = targets
        .iter()
        .map(|target| (target.id.as_str(), target.requests, target.in_flight))
        .collect();
    assert_eq!(requests, vec![("a", 3, 0), ("b", 3, 0)]);
}

#[tokio::test]
async fn registration_sets_initial_or_healthy() {
    let a = TestTarget::start("a").await;
    let balancer = Balancer::new();
    let slow_check = HttpHealthCheck {
        interval: Duration::from_secs(3600),
        healthy_threshold: 2,
        ..HttpHealthCheck::default()
    };
    let config = BalancerConfig {
        listeners: vec![],
        target_groups: vec![
            paved_balancer::TargetGroupConfig {
                health_check: Some(slow_check),
                ..group("checked")
            },
            group("unchecked"),
        ],
    };
    balancer.apply(config).await.expect("apply");
    let mut changed = balancer.changed();

    // Two checks are needed and the second is an hour away: the target stays `initial`.
    balancer.register("checked", "a", a.addr);
    assert_eq!(
        balancer.target_health("checked", "a"),
        Some(TargetHealth::Initial)
    );
    balancer.register("unchecked", "a", a.addr);
    assert_eq!(
        balancer.target_health("unchecked", "a"),
        Some(TargetHealth::Healthy)
    );
    assert_eq!(TargetHealth::Initial.as_str(), "initial");
    assert!(changed.has_changed().expect("the balancer lives"));

    // The same id and address again changes nothing.
    changed.borrow_and_update();
    balancer.register("unchecked", "a", a.addr);
    assert!(!changed.has_changed().expect("the balancer lives"));
    assert_eq!(balancer.targets("unchecked").len(), 1);
    assert_eq!(balancer.target_health("unchecked", "b"), None);
    assert_eq!(balancer.target_health("nowhere", "a"), None);
}

#[tokio::test]
async fn unhealthy_target_gets_nothing_until_it_recovers() {
    let (a, b) = (TestTarget::start("a").await, TestTarget::start("b").await);
    b.set_health_status(500);
    let (balancer, addr) = balancer_with(checked_group("web")).await;
    balancer.register("web", "a", a.addr);
    balancer.register("web", "b", b.addr);
    wait_for_health(&balancer, "web", "a", TargetHealth::Healthy).await;
    wait_for_health(&balancer, "web", "b", TargetHealth::Unhealthy).await;

    let client = client();
    assert_eq!(get_many(&client, addr, "/", 4).await, vec!["a"; 4]);

    b.set_health_status(204);
    wait_for_health(&balancer, "web", "b", TargetHealth::Healthy).await;
    let mut bodies = get_many(&client, addr, "/", 4).await;
    bodies.sort();
    assert_eq!(bodies, vec!["a", "a", "b", "b"]);

    // And it can fail again.
    a.set_health_status(404);
    wait_for_health(&balancer, "web", "a", TargetHealth::Unhealthy).await;
    assert_eq!(get_many(&client, addr, "/", 2).await, vec!["b"; 2]);
}

#[tokio::test]
async fn no_healthy_target_is_503() {
    let a = TestTarget::start("a").await;
    a.set_health_status(500);
    let (balancer, addr) = balancer_with(checked_group("web")).await;
    let client = client();
    let expected = (503, "no healthy targets in target group `web`\n".to_owned());

    // No target at all, then one that is unhealthy.
    assert_eq!(get(&client, addr, "/").await, expected);
    balancer.register("web", "a", a.addr);
    wait_for_health(&balancer, "web", "a", TargetHealth::Unhealthy).await;
    assert_eq!(get(&client, addr, "/").await, expected);

    let stats = balancer.stats("prod").expect("stats");
    assert_eq!(
        (
            stats.requests,
            stats.responses_5xx,
            stats.no_target,
            stats.target_errors
        ),
        (2, 2, 2, 0)
    );
    assert_eq!(balancer.targets("web")[0].requests, 0);
}

#[tokio::test]
async fn unreachable_target_is_502() {
    let (balancer, addr) = balancer_with(group("web")).await;
    let closed = closed_port();
    balancer.register("web", "gone", closed);

    let (status, body) = get(&client(), addr, "/").await;
    assert_eq!(status, 502);
    assert_eq!(
        body,
        format!("target `gone` ({closed}) in target group `web` cannot be reached\n")
    );
    let stats = balancer.stats("prod").expect("stats");
    assert_eq!(
        (stats.responses_5xx, stats.no_target, stats.target_errors),
        (1, 0, 1)
    );
    let targets = balancer.targets("web");
    assert_eq!((targets[0].requests, targets[0].in_flight), (1, 0));
}

#[tokio::test]
async fn unreachable_health_check_makes_a_target_unhealthy() {
    let (balancer, _) = balancer_with(checked_group("web")).await;
    balancer.register("web", "gone", closed_port());
    wait_for_health(&balancer, "web", "gone", TargetHealth::Unhealthy).await;
}

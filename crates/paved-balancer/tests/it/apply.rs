//! `apply`: rules and settings change in place, ports rebind, errors change nothing.

use std::time::Duration;

use paved_balancer::{Balancer, BalancerConfig, TargetGroupConfig, TargetHealth};

use crate::draining::start_slow_request;
use crate::support::{PATIENCE, TestTarget, client, closed_port, get, group, listener, rule};

fn two_groups(default_target_group: &str) -> BalancerConfig {
    BalancerConfig {
        listeners: vec![listener(
            "prod",
            vec![rule(1, &[], &["/one/*"], "one")],
            Some(default_target_group),
        )],
        target_groups: vec![group("one"), group("two")],
    }
}

async fn refused(addr: std::net::SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn changing_rules_and_settings_keeps_targets() {
    let (one, two) = (
        TestTarget::start("one").await,
        TestTarget::start("two").await,
    );
    let balancer = Balancer::new();
    let addr = balancer.apply(two_groups("one")).await.expect("apply")[0].1;
    balancer.register("one", "one", one.addr);
    balancer.register("two", "two", two.addr);
    let client = client();
    assert_eq!(get(&client, addr, "/").await, (200, "one".to_owned()));

    let mut config = two_groups("two");
    config.target_groups[0].deregistration_delay = Duration::from_secs(5);
    let addrs = balancer.apply(config).await.expect("apply again");
    assert_eq!(
        addrs,
        vec![("prod".to_owned(), addr)],
        "same port configured, same socket"
    );
    assert_eq!(get(&client, addr, "/").await, (200, "two".to_owned()));
    assert_eq!(get(&client, addr, "/one/x").await, (200, "one".to_owned()));
    let targets = balancer.targets("one");
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].health, targets[0].requests),
        (TargetHealth::Healthy, 2)
    );
    assert_eq!(balancer.stats("prod").expect("stats").requests, 3);
}

#[tokio::test]
async fn removing_a_health_check_makes_targets_healthy() {
    let a = TestTarget::start("a").await;
    a.set_health_status(500);
    let balancer = Balancer::new();
    let checked = BalancerConfig {
        listeners: vec![],
        target_groups: vec![crate::support::checked_group("web")],
    };
    balancer.apply(checked).await.expect("apply");
    balancer.register("web", "a", a.addr);
    crate::support::wait_for_health(&balancer, "web", "a", TargetHealth::Unhealthy).await;

    balancer
        .apply(BalancerConfig {
            listeners: vec![],
            target_groups: vec![group("web")],
        })
        .await
        .expect("apply");
    assert_eq!(
        balancer.target_health("web", "a"),
        Some(TargetHealth::Healthy)
    );
}

#[tokio::test]
async fn removing_a_target_group_removes_its_targets() {
    let a = TestTarget::start("a").await;
    let balancer = Balancer::new();
    balancer
        .apply(BalancerConfig {
            listeners: vec![],
            target_groups: vec![group("web")],
        })
        .await
        .expect("apply");
    balancer.register("web", "a", a.addr);
    let changed = balancer.changed();

    balancer
        .apply(BalancerConfig::default())
        .await
        .expect("apply");
    assert_eq!(balancer.target_health("web", "a"), None);
    assert!(balancer.targets("web").is_empty());
    assert!(changed.has_changed().expect("the balancer lives"));
}

#[tokio::test]
async fn a_port_in_use_changes_nothing() {
    let (one, two) = (
        TestTarget::start("one").await,
        TestTarget::start("two").await,
    );
    let balancer = Balancer::new();
    let addr = balancer.apply(two_groups("one")).await.expect("apply")[0].1;
    balancer.register("one", "one", one.addr);
    balancer.register("two", "two", two.addr);

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("take a port");
    let taken_port = taken.local_addr().expect("its address").port();
    let mut blocked = listener("staging", vec![], Some("one"));
    blocked.port = taken_port;
    // Would change prod's rules, drop target group `two` and add a listener.
    let config = BalancerConfig {
        listeners: vec![listener("prod", vec![], None), blocked],
        target_groups: vec![group("one")],
    };

    let error = balancer.apply(config).await.expect_err("the port is taken");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "listener `staging`: cannot listen on port {taken_port}: "
        )),
        "{message}"
    );
    assert_eq!(balancer.listener_addr("staging"), None);
    assert_eq!(balancer.listener_addr("prod"), Some(addr));
    assert_eq!(
        balancer.targets("two").len(),
        1,
        "target group `two` is still there"
    );
    assert_eq!(get(&client(), addr, "/").await, (200, "one".to_owned()));
}

#[tokio::test]
async fn invalid_configs_change_nothing() {
    let balancer = Balancer::new();
    let addr = balancer.apply(two_groups("one")).await.expect("apply")[0].1;
    let cases: Vec<(BalancerConfig, &str)> = vec![
        (
            BalancerConfig {
                listeners: vec![listener("prod", vec![], Some("three"))],
                target_groups: vec![group("one")],
            },
            "listener `prod`: forwards to unknown target group `three`",
        ),
        (
            BalancerConfig {
                listeners: vec![listener(
                    "prod",
                    vec![rule(1, &["a"], &[], "one"), rule(1, &["b"], &[], "one")],
                    None,
                )],
                target_groups: vec![group("one")],
            },
            "listener `prod`: rule priority 1 is used by more than one rule",
        ),
        (
            BalancerConfig {
                listeners: vec![
                    listener("prod", vec![], None),
                    listener("prod", vec![], None),
                ],
                target_groups: vec![],
            },
            "listener `prod` is configured more than once",
        ),
        (
            BalancerConfig {
                listeners: vec![],
                target_groups: vec![group("one"), group("one")],
            },
            "target group `one` is configured more than once",
        ),
    ];
    for (config, expected) in cases {
        let error = balancer.apply(config).await.expect_err(expected);
        assert_eq!(error.to_string(), expected);
    }
    assert_eq!(balancer.listener_addr("prod"), Some(addr));
    let (status, body) = get(&client(), addr, "/").await;
    assert_eq!(
        (status, body.as_str()),
        (503, "no healthy targets in target group `one`\n")
    );
}

#[tokio::test]
async fn a_port_change_rebinds_and_removal_closes() {
    let one = TestTarget::start("one").await;
    let balancer = Balancer::new();
    let port = closed_port().port();
    let mut config = two_groups("one");
    config.listeners[0].port = port;
    let first = balancer.apply(config).await.expect("apply")[0].1;
    assert_eq!(first.port(), port);
    balancer.register("one", "one", one.addr);
    let client = client();
    assert_eq!(get(&client, first, "/").await, (200, "one".to_owned()));

    let second = balancer.apply(two_groups("one")).await.expect("rebind")[0].1;
    assert_ne!(second, first);
    assert_eq!(get(&client, second, "/").await, (200, "one".to_owned()));
    assert!(refused(first).await, "the old port is closed");
    assert_eq!(
        balancer
            .stats("prod")
            .expect("stats survive a rebind")
            .requests,
        2
    );

    balancer
        .apply(BalancerConfig {
            listeners: vec![],
            target_groups: vec![group("one")],
        })
        .await
        .expect("apply");
    assert_eq!(balancer.listener_addr("prod"), None);
    assert_eq!(balancer.stats("prod"), None);
    assert!(refused(second).await, "a removed listener is closed");
    assert_eq!(
        balancer.target_health("one", "one"),
        Some(TargetHealth::Healthy)
    );
}

#[tokio::test]
async fn closing_a_listener_lets_in_flight_requests_finish() {
    let mut one = TestTarget::start("one").await;
    let balancer = Balancer::new();
    let addr = balancer.apply(two_groups("one")).await.expect("apply")[0].1;
    balancer.register("one", "one", one.addr);
    let slow = start_slow_request(addr).await;
    one.slow_started().await;

    balancer
        .apply(BalancerConfig {
            listeners: vec![],
            target_groups: vec![group("one")],
        })
        .await
        .expect("apply");
    assert!(refused(addr).await);
    one.release();
    let (status, body) = tokio::time::timeout(PATIENCE, slow)
        .await
        .expect("in time")
        .expect("the request task");
    assert_eq!((status, body.as_str()), (200, "begin;end"));
}

#[test]
fn config_is_camel_case_json() {
    let config = BalancerConfig {
        listeners: vec![listener(
            "prod",
            vec![rule(1, &["a.test"], &["/x"], "web")],
            Some("web"),
        )],
        target_groups: vec![TargetGroupConfig {
            ..crate::support::checked_group("web")
        }],
    };
    let json = serde_json::to_value(&config).expect("serialize");
    let listener_json = &json["listeners"][0];
    assert_eq!(listener_json["defaultTargetGroup"], "web");
    assert_eq!(listener_json["rules"][0]["hostHeaders"][0], "a.test");
    assert_eq!(listener_json["rules"][0]["pathPatterns"][0], "/x");
    assert_eq!(listener_json["rules"][0]["targetGroup"], "web");
    let health_check = &json["targetGroups"][0]["healthCheck"];
    assert_eq!(health_check["healthyThreshold"], 2);
    assert_eq!(health_check["matcher"], serde_json::json!([200, 399]));
    assert!(json["targetGroups"][0]["deregistrationDelaySeconds"].is_number());
    assert!(health_check["intervalSeconds"].is_number());
    // Durations are seconds, fractions allowed; left-out health check fields take defaults.
    let written: TargetGroupConfig = serde_json::from_value(serde_json::json!({
        "name": "web", "healthCheck": {"path": "/health", "intervalSeconds": 0.25},
    }))
    .expect("a minimal target group");
    let check = written.health_check.expect("a health check");
    assert_eq!(check.interval, std::time::Duration::from_millis(250));
    assert_eq!(check.healthy_threshold, 5);
    assert_eq!(
        written.deregistration_delay,
        TargetGroupConfig::DEFAULT_DEREGISTRATION_DELAY
    );
    let back: BalancerConfig = serde_json::from_value(json).expect("deserialize");
    assert_eq!(back, config);
}

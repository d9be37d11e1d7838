//! Many requests while targets come and go: none fails.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use paved_balancer::{Balancer, BalancerConfig, TargetHealth};
use tokio::sync::Notify;

use crate::support::{PATIENCE, TestTarget, client, get, group, listener};

const CLIENTS: usize = 4;
const REQUESTS_PER_CLIENT: usize = 250;
/// Completed requests after which target `a` is replaced by `c`.
const REPLACE_AFTER: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_fails_while_targets_change() {
    let (a, b, c) = (
        TestTarget::start("a").await,
        TestTarget::start("b").await,
        TestTarget::start("c").await,
    );
    let balancer = Balancer::new();
    let config = BalancerConfig {
        listeners: vec![listener("prod", vec![], Some("web"))],
        target_groups: vec![group("web")],
    };
    let addr = balancer.apply(config).await.expect("apply")[0].1;
    balancer.register("web", "a", a.addr);
    balancer.register("web", "b", b.addr);

    let completed = Arc::new(AtomicUsize::new(0));
    let replace_now = Arc::new(Notify::new());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (completed, replace_now) = (Arc::clone(&completed), Arc::clone(&replace_now));
            tokio::spawn(async move {
                // One keep-alive client per task; each keeps its connections across the change.
                let client = client();
                let mut results = Vec::with_capacity(REQUESTS_PER_CLIENT);
                for _ in 0..REQUESTS_PER_CLIENT {
                    results.push(get(&client, addr, "/").await);
                    if completed.fetch_add(1, Ordering::SeqCst) + 1 == REPLACE_AFTER {
                        replace_now.notify_one();
                    }
                }
                results
            })
        })
        .collect();

    tokio::time::timeout(PATIENCE, replace_now.notified())
        .await
        .expect("the clients make progress");
    balancer.register("web", "c", c.addr);
    tokio::time::timeout(PATIENCE, balancer.deregister("web", "a"))
        .await
        .expect("`a` drains in time");
    let served_after_deregistration = completed.load(Ordering::SeqCst);
    assert_eq!(balancer.target_health("web", "a"), None);

    let mut by_target: HashMap<String, usize> = HashMap::new();
    let mut failures = Vec::new();
    for client in clients {
        for (status, body) in tokio::time::timeout(PATIENCE * 3, client)
            .await
            .expect("in time")
            .expect("the client task")
        {
            match status {
                200 => *by_target.entry(body).or_default() += 1,
                _ => failures.push((status, body)),
            }
        }
    }
    assert_eq!(failures, Vec::new());
    assert_eq!(
        by_target.values().sum::<usize>(),
        CLIENTS * REQUESTS_PER_CLIENT
    );
    assert!(
        served_after_deregistration < CLIENTS * REQUESTS_PER_CLIENT,
        "the change happened under load"
    );
    for target in ["a", "b", "c"] {
        assert!(
            by_target.get(target).copied().unwrap_or(0) > 0,
            "`{target}` served nothing: {by_target:?}"
        );
    }
    let stats = balancer.stats("prod").expect("stats");
    let total = (CLIENTS * REQUESTS_PER_CLIENT) as u64;
    assert_eq!(
        (stats.requests, stats.responses_2xx, stats.responses_5xx),
        (total, total, 0)
    );
    let remaining: Vec<(String, TargetHealth)> = balancer
        .targets("web")
        .into_iter()
        .map(|target| (target.id, target.health))
        .collect();
    assert_eq!(
        remaining,
        vec![
            ("b".to_owned(), TargetHealth::Healthy),
            ("c".to_owned(), TargetHealth::Healthy)
        ]
    );
}

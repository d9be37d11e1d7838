//! Rules, the default target group, the 404, forwarded headers and bodies.

use paved_balancer::{Balancer, BalancerConfig, ListenerStats};

use crate::support::{TestTarget, client, get, group, listener, rule};

#[tokio::test]
async fn rules_route_by_priority_then_default() {
    let (api, admin, web) = (
        TestTarget::start("api").await,
        TestTarget::start("admin").await,
        TestTarget::start("web").await,
    );
    let balancer = Balancer::new();
    let config = BalancerConfig {
        listeners: vec![listener(
            "prod",
            vec![
                rule(20, &[], &["/api/*"], "api"),
                rule(10, &["Admin.test"], &[], "admin"),
            ],
            Some("web"),
        )],
        target_groups: vec![group("api"), group("admin"), group("web")],
    };
    let addrs = balancer.apply(config).await.expect("apply");
    let addr = addrs[0].1;
    assert_eq!(addrs, vec![("prod".to_owned(), addr)]);
    assert_eq!(balancer.listener_addr("prod"), Some(addr));
    for target in [&api, &admin, &web] {
        balancer.register(&target.name, &target.name, target.addr);
    }

    let client = client();
    // (Host header, path, expected target)
    let cases = [
        ("admin.test", "/api/users", "admin"),
        ("ADMIN.TEST:8080", "/", "admin"),
        ("shop.test", "/api/users?id=1", "api"),
        ("shop.test", "/API/users", "web"),
        ("shop.test", "/apis", "web"),
        ("shop.test", "/?next=/api/x", "web"),
    ];
    for (host, path, expected) in cases {
        let response = client
            .get(format!("http://{addr}{path}"))
            .header("host", host)
            .send()
            .await
            .expect("the balancer answers");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.text().await.expect("body"),
            expected,
            "host `{host}`, path `{path}`"
        );
    }
    let stats = balancer.stats("prod").expect("stats");
    assert_eq!(
        stats,
        ListenerStats {
            requests: 6,
            responses_2xx: 6,
            ..ListenerStats::default()
        }
    );
}

#[tokio::test]
async fn no_matching_rule_without_default_is_404() {
    let api = TestTarget::start("api").await;
    let balancer = Balancer::new();
    let config = BalancerConfig {
        listeners: vec![listener(
            "prod",
            vec![rule(1, &[], &["/api/*"], "api")],
            None,
        )],
        target_groups: vec![group("api")],
    };
    balancer.apply(config).await.expect("apply");
    balancer.register("api", "api", api.addr);
    let addr = balancer.listener_addr("prod").expect("listening");

    let client = client();
    assert_eq!(get(&client, addr, "/api/x").await, (200, "api".to_owned()));
    assert_eq!(
        get(&client, addr, "/other").await,
        (404, "no rule matched the request\n".to_owned())
    );
    let stats = balancer.stats("prod").expect("stats");
    assert_eq!(
        stats,
        ListenerStats {
            requests: 2,
            responses_2xx: 1,
            responses_4xx: 1,
            ..ListenerStats::default()
        }
    );
    assert_eq!(balancer.stats("staging"), None);
}

#[tokio::test]
async fn forwarded_and_hop_by_hop_headers() {
    let web = TestTarget::start("web").await;
    let balancer = Balancer::new();
    let config = BalancerConfig {
        listeners: vec![listener("prod", vec![], Some("web"))],
        target_groups: vec![group("web")],
    };
    balancer.apply(config).await.expect("apply");
    balancer.register("web", "web", web.addr);
    let addr = balancer.listener_addr("prod").expect("listening");

    let response = client()
        .get(format!("http://{addr}/headers"))
        .header("host", "app.test:8080")
        .header("x-forwarded-for", "10.0.0.1")
        .header("connection", "x-per-connection")
        .header("x-per-connection", "dropped")
        .header("proxy-authorization", "Basic dropped")
        .header("x-kept", "kept")
        .send()
        .await
        .expect("the balancer answers");
    assert_eq!(
        response
            .headers()
            .get("x-target")
            .map(|value| value.as_bytes()),
        Some(&b"web"[..])
    );
    let body = response.text().await.expect("body");
    let headers: Vec<&str> = body.lines().collect();
    for expected in [
        "host: app.test:8080".to_owned(),
        "x-forwarded-for: 10.0.0.1, 127.0.0.1".to_owned(),
        "x-forwarded-proto: http".to_owned(),
        format!("x-forwarded-port: {}", addr.port()),
        "x-kept: kept".to_owned(),
    ] {
        assert!(
            headers.contains(&expected.as_str()),
            "`{expected}` missing from:\n{body}"
        );
    }
    for dropped in ["x-per-connection", "proxy-authorization"] {
        assert!(
            !headers.iter().any(|header| header.starts_with(dropped)),
            "`{dropped}` forwarded:\n{body}"
        );
    }
}

#[tokio::test]
async fn request_bodies_reach_the_target() {
    let web = TestTarget::start("web").await;
    let balancer = Balancer::new();
    let config = BalancerConfig {
        listeners: vec![listener("prod", vec![], Some("web"))],
        target_groups: vec![group("web")],
    };
    balancer.apply(config).await.expect("apply");
    balancer.register("web", "web", web.addr);
    let addr = balancer.listener_addr("prod").expect("listening");

    let response = client()
        .post(format!("http://{addr}/upload"))
        .body(vec![7_u8; 3 * 1024 * 1024])
        .send()
        .await
        .expect("the balancer answers");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.text().await.expect("body"),
        (3 * 1024 * 1024).to_string()
    );
}

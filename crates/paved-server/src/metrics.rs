//! Prometheus metrics: request counts and latencies per route, and catalog gauges.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    entities: Gauge,
    refreshes: Counter,
    refresh_failures: Counter,
    refreshes_seen: AtomicU64,
    refresh_failures_seen: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("paved");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        let entities = Gauge::default();
        let refreshes = Counter::default();
        let refresh_failures = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "catalog_entities",
            "Entities in the catalog",
            entities.clone(),
        );
        registry.register("catalog_refreshes", "Location refreshes", refreshes.clone());
        registry.register(
            "catalog_refresh_failures",
            "Location refreshes that failed",
            refresh_failures.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            entities,
            refreshes,
            refresh_failures,
            refreshes_seen: AtomicU64::new(0),
            refresh_failures_seen: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition, with catalog figures read now.
    pub fn render(&self, catalog: &paved_catalog::Catalog) -> String {
        self.entities.set(catalog.index().len() as i64);
        let stats = catalog.stats();
        sync_counter(
            &self.refreshes,
            &self.refreshes_seen,
            stats.refreshes.load(Ordering::Relaxed),
        );
        sync_counter(
            &self.refresh_failures,
            &self.refresh_failures_seen,
            stats.refresh_failures.load(Ordering::Relaxed),
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// Advances a Prometheus counter to a total kept elsewhere.
fn sync_counter(counter: &Counter, seen: &AtomicU64, total: u64) {
    let previous = seen.swap(total, Ordering::Relaxed);
    if total > previous {
        counter.inc_by(total - previous);
    }
}

/// Middleware: counts and times every request by its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status: response.status().as_u16(),
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

//! Paved's HTTP server: the catalog API (Backstage-compatible paths and shapes under
//! `/api/catalog`), templates and services, ECS's JSON protocol at `/ecs` (the engine), health,
//! Prometheus metrics and the OpenAPI document.
//!
//! Handlers are thin: they extract, authorise (through [`access::mutation`], the one path to
//! the policy point), call one application function and map the result. No SQL and no domain
//! logic live here. [`router`] builds every route; [`AppState::build`] assembles the
//! application and [`AppState::start`] its background loops; `paved up` and the tests both call
//! them. Start reading at [`router`].

pub mod access;
mod audit;
pub mod auth;
pub(crate) mod catalog;
pub mod ecs;
mod engine;
mod error;
pub mod http;
mod jobs;
mod metrics;
mod openapi;
pub mod portal;
mod services;
mod sigv4;
mod system;
mod templates;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use paved_catalog::Catalog;
use paved_jobs::{JobRunner, JobRunnerConfig};
use paved_policy::PolicyPoint;
use paved_scaffolder::{Scaffolder, ScaffolderConfig};
use paved_store::Store;
use paved_template_registry::{Registry, RegistryConfig};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use crate::error::ApiError;
pub use crate::metrics::Metrics;

/// Everything a handler needs: one `Arc`, so the clones every request makes (extractors,
/// middleware) cost one reference count, not one per part (they were a quarter of a read's
/// CPU time).
#[derive(Debug, Clone)]
pub struct AppState(Arc<AppParts>);

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The parts of [`AppState`].
#[derive(Debug)]
pub struct AppParts {
    pub catalog: Catalog,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<auth::Authenticator>,
    /// The one policy point every mutation passes.
    pub policy: PolicyPoint,
    /// Durable background work of every kind.
    pub jobs: JobRunner,
    pub registry: Registry,
    pub scaffolder: Scaffolder,
    /// The engine, behind ECS's JSON protocol at `/ecs` ([`ecs::call`]): today the local
    /// engine's control plane over the store.
    pub engine: Arc<dyn paved_engine::Engine>,
    /// The local engine (scheduler, runtime, load balancer), and what it offers beyond ECS's
    /// operations (images, secrets, logs, load balancers); its loop runs where
    /// [`paved_engine_local::LocalEngine::run`] is called.
    pub local: paved_engine_local::LocalEngine,
    /// Becomes true when [`serve`] begins to shut down, so that endless streams (followed
    /// logs) end instead of holding up the graceful shutdown.
    pub shutting_down: Arc<tokio::sync::watch::Sender<bool>>,
}

/// How to assemble the application: each part's configuration, and the admin token.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub catalog: paved_catalog::CatalogConfig,
    pub registry: RegistryConfig,
    pub scaffolder: ScaffolderConfig,
    pub engine: paved_engine_local::LocalEngineConfig,
    pub jobs: JobRunnerConfig,
}

impl AppState {
    /// Assembles the application over an opened store: loads (or on first start, stores) the
    /// admin token, builds the catalog index, registers the built-in golden paths on first
    /// start, and every job kind's handler. Returns whether `admin_token` was new, so the
    /// caller can hand it out. Nothing runs in the background until [`AppState::start`].
    pub async fn build(
        store: Store,
        config: AppConfig,
        admin_token: &str,
    ) -> Result<(AppState, bool), paved_template_registry::RegistryError> {
        let (authenticator, created) =
            auth::Authenticator::load_or_init(&store, admin_token).await?;
        let catalog = Catalog::open(store.clone(), config.catalog).await?;
        let registry = Registry::new(store.clone(), catalog.clone(), config.registry);
        registry.forget_stored_credentials().await?;
        if registry.config().builtin_templates {
            registry.register_builtins().await?;
        }
        let jobs = JobRunner::new(store.clone(), config.jobs);
        let scaffolder = Scaffolder::new(
            store.clone(),
            catalog.clone(),
            registry.clone(),
            jobs.clone(),
            config.scaffolder,
        );
        let control = paved_engine_local::ControlPlane::new(store.clone());
        let local = paved_engine_local::LocalEngine::new(control.clone(), config.engine)
            .map_err(|error| paved_template_registry::RegistryError::Internal(error.to_string()))?;
        let state = AppParts {
            engine: Arc::new(control),
            local,
            catalog,
            policy: PolicyPoint::new(store.clone()),
            jobs,
            store,
            metrics: Arc::new(Metrics::default()),
            auth: Arc::new(authenticator),
            registry,
            scaffolder,
            shutting_down: Arc::new(tokio::sync::watch::channel(false).0),
        };
        Ok((AppState(Arc::new(state)), created))
    }

    /// Starts every background loop (catalog refresh and change feed, template sync, the job
    /// runner, which resumes unfinished jobs at once, and the local engine) until `shutdown`
    /// resolves. `paved up` and the test server both start them here.
    pub fn start(&self, shutdown: tokio::sync::watch::Receiver<bool>) -> Background {
        let stopped = move || {
            let mut shutdown = shutdown.clone();
            async move {
                // An error means the sender is gone, which also means stop.
                let _ = shutdown.wait_for(|stop| *stop).await;
            }
        };
        let mut loops = tokio::task::JoinSet::new();
        let catalog = self.catalog.clone();
        let until = stopped();
        loops.spawn(async move { catalog.run(until).await });
        let registry = self.registry.clone();
        let until = stopped();
        loops.spawn(async move { registry.run(until).await });
        let jobs = self.jobs.clone();
        let until = stopped();
        loops.spawn(async move { jobs.run(until).await });
        let local = self.local.clone();
        let until = stopped();
        loops.spawn(async move { local.run(until).await });
        Background { loops }
    }
}

/// The background loops of one replica, started by [`AppState::start`].
#[derive(Debug)]
pub struct Background {
    loops: tokio::task::JoinSet<()>,
}

impl Background {
    /// Waits for every loop to end (after the shutdown signal).
    pub async fn stopped(mut self) {
        while let Some(result) = self.loops.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, "a background loop failed");
            }
        }
    }
}

/// Milliseconds since the epoch as RFC 3339, the API's time format.
pub(crate) fn timestamp(millis: i64) -> Option<String> {
    jiff::Timestamp::from_millisecond(millis)
        .ok()
        .map(|timestamp| timestamp.to_string())
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .nest("/api/catalog", catalog::router())
        .merge(templates::router())
        .merge(services::router())
        .merge(jobs::router())
        .merge(audit::router())
        .merge(engine::router())
        .merge(system::router())
        .merge(portal::router());
    // Two routes take larger bodies than the API's default: registration and `/ecs`.
    http::with_body_limit(api, http::MAX_BODY_BYTES)
        .merge(templates::registration_router())
        .merge(ecs::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(http::harden))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests (see
/// [`http::serve_router`] for the connection limits).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shutting_down = state.shutting_down.clone();
    http::serve_router(listener, router(state), async move {
        shutdown.await;
        shutting_down.send_replace(true);
    })
    .await
}

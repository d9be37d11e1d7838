//! Paved's HTTP server: the catalog API (Backstage-compatible paths and shapes under
//! `/api/catalog`), templates and services, ECS's JSON protocol at `/ecs` (the engine), health,
//! Prometheus metrics and the OpenAPI document.
//!
//! Handlers are thin: they extract, authorise, call `paved-catalog` and map the result. No SQL
//! and no catalog logic live here. [`router`] builds every route; `paved up` and the tests both
//! call it. Start reading at [`router`].

pub mod auth;
pub(crate) mod catalog;
mod ecs;
mod engine;
mod error;
pub mod http;
mod metrics;
mod openapi;
mod services;
mod sigv4;
mod system;
mod templates;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use paved_catalog::Catalog;
use paved_scaffolder::{Scaffolder, ScaffolderConfig};
use paved_store::Store;
use paved_template_registry::{Registry, RegistryConfig};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use crate::error::ApiError;
pub use crate::metrics::Metrics;

/// Everything a handler needs; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub catalog: Catalog,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<auth::Authenticator>,
    pub registry: Registry,
    pub scaffolder: Scaffolder,
    /// The engine's control plane, answering ECS's JSON protocol at `/ecs`.
    pub engine: paved_engine::Engine,
    /// The local engine (scheduler, runtime, load balancer); its loop runs where
    /// [`paved_engine::LocalEngine::run`] is called.
    pub local: paved_engine::LocalEngine,
    /// Becomes true when [`serve`] begins to shut down, so that endless streams (followed
    /// logs) end instead of holding up the graceful shutdown.
    pub shutting_down: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// Assembles the application over an opened store: loads (or on first start, stores) the
    /// admin token and builds the catalog index. Returns whether `admin_token` was new, so the
    /// caller can hand it out.
    /// On first start it also registers the built-in golden paths; unfinished tasks resume.
    pub async fn build(
        store: Store,
        catalog_config: paved_catalog::CatalogConfig,
        registry_config: RegistryConfig,
        scaffolder_config: ScaffolderConfig,
        engine_config: paved_engine::LocalEngineConfig,
        admin_token: &str,
    ) -> Result<(AppState, bool), paved_template_registry::RegistryError> {
        let (authenticator, created) =
            auth::Authenticator::load_or_init(&store, admin_token).await?;
        let catalog = Catalog::open(store.clone(), catalog_config).await?;
        let registry = Registry::new(store.clone(), catalog.clone(), registry_config);
        registry.forget_stored_credentials().await?;
        if registry.config().builtin_templates {
            registry.register_builtins().await?;
        }
        let scaffolder = Scaffolder::new(
            store.clone(),
            catalog.clone(),
            registry.clone(),
            scaffolder_config,
        );
        // Tasks a crash or a restart interrupted carry on.
        let resumed = scaffolder
            .resume()
            .await
            .map_err(|error| paved_template_registry::RegistryError::Internal(error.to_string()))?;
        if resumed > 0 {
            tracing::info!(tasks = resumed, "resuming unfinished tasks");
        }
        let engine = paved_engine::Engine::new(store.clone());
        let local = paved_engine::LocalEngine::new(engine.clone(), engine_config)
            .map_err(|error| paved_template_registry::RegistryError::Internal(error.to_string()))?;
        let state = AppState {
            engine,
            local,
            catalog,
            store,
            metrics: Arc::new(Metrics::default()),
            auth: Arc::new(authenticator),
            registry,
            scaffolder,
            shutting_down: Arc::new(tokio::sync::watch::channel(false).0),
        };
        Ok((state, created))
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
        .merge(engine::router())
        .merge(system::router());
    // Two routes take larger bodies than the API's default: registration and `/ecs`.
    http::with_body_limit(api, http::MAX_BODY_BYTES)
        .merge(templates::registration_router())
        .merge(ecs::router())
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

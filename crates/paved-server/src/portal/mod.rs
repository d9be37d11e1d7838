//! The developer portal: server-rendered HTML pages at `/`, for people.
//!
//! Every page reads through the same calls the API's handlers make, and most pages call the
//! API handler itself and render its answer (the `paved_api` view types), so the portal and the
//! API cannot disagree. Every action calls the API's handler with the session's [`Caller`], so
//! it passes the same policy point (`access::mutation`) and leaves the same audit record.
//!
//! Pages are minijinja templates embedded in the binary (`templates/`, HTML auto-escaped),
//! progressively enhanced with htmx (`static/`, served from the binary with a version in the
//! URL). Reading needs no JavaScript. Sign-in with a token gives a session cookie
//! (`session.rs`); every form carries the session's CSRF token and is checked with its Origin.
//!
//! Environments and deployments are not here yet: their pages plug into [`router`] and
//! [`NAV`] when they exist.

mod assets;
mod catalog;
mod create;
mod engine;
mod graph;
mod pages;
mod render;
mod session;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub use session::SESSION_COOKIE;

/// The navigation: path, label, and whether only admins see it.
pub(crate) const NAV: &[(&str, &str, bool)] = &[
    ("/", "Home", false),
    ("/catalog", "Catalog", false),
    ("/create", "Create", false),
    ("/templates", "Templates", false),
    ("/jobs", "Jobs", false),
    ("/engine", "Engine", false),
    ("/audit", "Audit log", true),
];

/// Every portal route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/catalog", get(catalog::catalog))
        .route("/catalog/{kind}/{namespace}/{name}", get(catalog::entity))
        .route("/create", get(create::gallery))
        .route("/create/{template}", get(create::form).post(create::submit))
        .route("/templates", get(pages::templates))
        .route("/templates/register", post(pages::register_template))
        .route("/templates/{name}", get(pages::template))
        .route(
            "/templates/{name}/{version}/publish",
            post(pages::publish_template),
        )
        .route(
            "/templates/{name}/{version}/withdraw",
            post(pages::withdraw_template),
        )
        .route("/jobs", get(pages::jobs))
        .route("/jobs/{id}", get(pages::job))
        .route("/jobs/{id}/cancel", post(pages::cancel_job))
        .route("/engine", get(engine::overview))
        .route("/engine/{cluster}/{service}", get(engine::service))
        .route("/audit", get(pages::audit))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/static/{file}", get(assets::serve))
}

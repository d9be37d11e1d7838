//! Rendering: the template environment (templates embedded in the binary, HTML auto-escaped),
//! the page frame every page shares, and error pages.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, Value, context};

use crate::ApiError;
use crate::portal::session::Viewer;
use crate::portal::{NAV, assets};

/// Every template, by name; `.html` names are auto-escaped.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("home.html", include_str!("templates/home.html")),
    ("catalog.html", include_str!("templates/catalog.html")),
    ("entity.html", include_str!("templates/entity.html")),
    ("gallery.html", include_str!("templates/gallery.html")),
    ("create.html", include_str!("templates/create.html")),
    ("templates.html", include_str!("templates/templates.html")),
    ("template.html", include_str!("templates/template.html")),
    ("jobs.html", include_str!("templates/jobs.html")),
    ("job.html", include_str!("templates/job.html")),
    ("engine.html", include_str!("templates/engine.html")),
    (
        "engine_service.html",
        include_str!("templates/engine_service.html"),
    ),
    ("audit.html", include_str!("templates/audit.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("error.html", include_str!("templates/error.html")),
];

fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut environment = Environment::new();
        environment.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            if let Err(error) = environment.add_template(name, source) {
                // The templates are part of the binary; a test renders every page.
                panic!("portal template {name} does not parse: {error}");
            }
        }
        environment.add_filter("ago", ago);
        environment.add_function("asset", |name: String| assets::url(&name));
        environment
    })
}

/// `2026-01-02T03:04:05Z` as "3 minutes ago" (the exact time goes in the element's title).
fn ago(time: String) -> String {
    let Ok(then) = time.parse::<jiff::Timestamp>() else {
        return time;
    };
    let seconds = jiff::Timestamp::now().as_second() - then.as_second();
    let (amount, unit) = match seconds.abs() {
        0..60 => return "just now".to_owned(),
        60..3600 => (seconds.abs() / 60, "minute"),
        3600..86_400 => (seconds.abs() / 3600, "hour"),
        86_400..2_592_000 => (seconds.abs() / 86_400, "day"),
        2_592_000..31_536_000 => (seconds.abs() / 2_592_000, "month"),
        _ => (seconds.abs() / 31_536_000, "year"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    if seconds >= 0 {
        format!("{amount} {unit}{plural} ago")
    } else {
        format!("in {amount} {unit}{plural}")
    }
}

/// Renders `template` inside the frame, for `viewer`, with the page's own values.
pub(crate) fn page(viewer: &Viewer, template: &str, title: &str, values: Value) -> Response {
    page_with_status(viewer, StatusCode::OK, template, title, values)
}

pub(crate) fn page_with_status(
    viewer: &Viewer,
    status: StatusCode,
    template: &str,
    title: &str,
    values: Value,
) -> Response {
    let nav: Vec<Value> = NAV
        .iter()
        .filter(|(_, _, admin_only)| !admin_only || viewer.is_admin())
        .map(|(path, label, _)| {
            let current = viewer.path == *path
                || (*path != "/" && viewer.path.starts_with(&format!("{path}/")));
            context! { path => *path, label => *label, current => current }
        })
        .collect();
    let frame = context! {
        title => title,
        nav => nav,
        viewer => context! {
            signed_in => viewer.signed_in(),
            admin => viewer.is_admin(),
            principal => viewer.caller.principal.to_string(),
            csrf => viewer.csrf(),
        },
        htmx => assets::url(assets::HTMX),
        current => viewer.path.clone(),
    };
    let rendered = environment()
        .get_template(template)
        .and_then(|template| template.render(minijinja::value::merge_maps([values, frame])));
    match rendered {
        Ok(html) => html_response(status, html),
        Err(error) => {
            tracing::error!(%error, template, "a portal page failed to render");
            html_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>The page could not be rendered; see the server log.</p>".to_owned(),
            )
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Only our own scripts and styles; no framing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// What the API answered for an error: its status, its message and its problems (each with
/// the field it concerns, when it names one).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub problems: Vec<paved_api::ApiProblem>,
}

impl Refusal {
    /// The API's own answer for `error`, read back from its response, so the portal shows
    /// exactly what the API says (internal errors stay hidden there too).
    pub async fn from_api(error: ApiError) -> Refusal {
        let response = error.into_response();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        match serde_json::from_slice::<paved_api::ErrorResponse>(&body) {
            Ok(parsed) => Refusal {
                status,
                code: parsed.error.code,
                message: parsed.error.message,
                problems: parsed.error.problems,
            },
            Err(_) => Refusal {
                status,
                code: "internal".to_owned(),
                message: "internal error; see the server log".to_owned(),
                problems: Vec::new(),
            },
        }
    }

    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            status: status.as_u16(),
            code: code.to_owned(),
            message: message.into(),
            problems: Vec::new(),
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// An error page with the API's message.
pub(crate) fn error_page(viewer: &Viewer, refusal: &Refusal) -> Response {
    page_with_status(
        viewer,
        refusal.status(),
        "error.html",
        "Error",
        context! { refusal => to_value(refusal) },
    )
}

/// The error page of an API error.
pub(crate) async fn api_error_page(viewer: &Viewer, error: ApiError) -> Response {
    error_page(viewer, &Refusal::from_api(error).await)
}

/// A `303 See Other` to `location`, the answer to a form that worked.
pub(crate) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

/// A serialisable value (an API view) as a template value.
pub(crate) fn to_value<T: serde::Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page renders with nothing but the frame: a template error shows here, with its
    /// line, rather than as a 500 in an integration test.
    #[test]
    fn every_template_renders_with_an_empty_page() {
        let frame = context! {
            title => "T", nav => Vec::<Value>::new(), current => "/",
            viewer => context! { signed_in => true, admin => true, principal => "admin", csrf => "x" },
            htmx => "/static/htmx.js",
        };
        for (name, _) in TEMPLATES {
            if *name == "macros.html" {
                continue;
            }
            let rendered = environment()
                .get_template(name)
                .and_then(|template| template.render(frame.clone()));
            if let Err(error) = rendered {
                panic!("{name}: {error:#}");
            }
        }
    }

    #[test]
    fn times_are_relative() {
        assert_eq!(ago("not a time".to_owned()), "not a time");
        let earlier = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3 * 3600 + 5);
        assert_eq!(ago(earlier.to_string()), "3 hours ago");
        let now = jiff::Timestamp::now();
        assert_eq!(ago(now.to_string()), "just now");
    }
}

//! Who is looking at the portal: sign-in with a token gives a session cookie; forms are
//! checked against the session's CSRF token and the request's Origin.
//!
//! The cookie holds a random id (`auth::generate_token`); the store keeps only its SHA-256,
//! with the principal, the CSRF token and an expiry, so every replica knows every session and
//! a copy of the database signs nobody in. The cookie is `HttpOnly`, `SameSite=Strict`, and
//! `Secure` when the portal is reached over HTTPS.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use paved_model::access::{Action, AuditRecord, Principal, Resource, ResourceKind};
use paved_store::SessionRow;

use crate::access::{Caller, mutation};
use crate::auth::{generate_token, sha256_hex};
use crate::portal::render::{
    Refusal, api_error_page, error_page, page, page_with_status, see_other,
};
use crate::{ApiError, AppState};

pub const SESSION_COOKIE: &str = "paved_session";

/// How long a session lasts.
const SESSION_TTL_MILLIS: i64 = 12 * 3600 * 1000;

/// The viewer of a page: the caller (anonymous, or the principal of their session), and the
/// session when signed in.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub caller: Caller,
    session: Option<SessionRow>,
    /// The path asked for, to mark the current navigation entry.
    pub path: String,
    /// `scheme://host` of this server as the browser sees it, for the Origin check.
    expected_origins: Vec<String>,
    https: bool,
}

impl Viewer {
    pub fn signed_in(&self) -> bool {
        self.session.is_some()
    }

    pub fn is_admin(&self) -> bool {
        self.caller.principal == Principal::Admin
    }

    pub fn csrf(&self) -> Option<&str> {
        self.session
            .as_ref()
            .map(|session| session.csrf_token.as_str())
    }

    /// Checks a form post: it comes from this server's own pages (Origin), and, when
    /// `needs_session`, carries the session's CSRF token. A refusal changes nothing.
    pub fn check_form(&self, headers: &HeaderMap, csrf: Option<&str>) -> Result<(), Refusal> {
        self.check_origin(headers)?;
        let expected = self.csrf().ok_or_else(|| {
            Refusal::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "the form was refused: sign in first (forms need a session)",
            )
        })?;
        let given = csrf.unwrap_or_default();
        let equal = given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !equal {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "the form was refused: its CSRF token is missing or not this session's; reload the page and try again",
            ));
        }
        Ok(())
    }

    /// Refuses a post whose `Origin` is not this server (or that has none).
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok());
        match origin {
            Some(origin) if self.expected_origins.iter().any(|own| own == origin) => Ok(()),
            Some(origin) => Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "csrf",
                format!("the form was refused: it was sent from `{origin}`, not from this portal"),
            )),
            None => Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "the form was refused: the request has no `Origin` header",
            )),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Viewer, Self::Rejection> {
        let Ok(mut caller) = Caller::from_request_parts(parts, state).await;
        let session = match session_id(&parts.headers) {
            Some(id) => state
                .store
                .session(&sha256_hex(id), paved_store::now_millis())
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "a portal session could not be read");
                    None
                }),
            None => None,
        };
        let session = session.and_then(|session| {
            let principal = Principal::parse(&session.principal)?;
            caller.principal = principal;
            Some(session)
        });
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
            || parts.uri.scheme_str() == Some("https");
        Ok(Viewer {
            caller,
            session,
            path: parts.uri.path().to_owned(),
            expected_origins: vec![format!("http://{host}"), format!("https://{host}")],
            https,
        })
    }
}

/// The session id of the request's cookie.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

fn store_error(error: paved_store::StoreError) -> ApiError {
    ApiError::Catalog(error.into())
}

fn cookie(viewer: &Viewer, value: &str, max_age_seconds: i64) -> String {
    let secure = if viewer.https { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"
    )
}

pub async fn sign_in_page(viewer: Viewer) -> Response {
    page(&viewer, "sign_in.html", "Sign in", context! {})
}

#[derive(Debug, serde::Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
}

/// Checks the token and starts a session. Only the Origin is checked: there is no session
/// yet whose token a form could carry, and the cookie is `SameSite=Strict`.
pub async fn sign_in(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SignInForm>,
) -> Response {
    if let Err(refusal) = viewer.check_origin(&headers) {
        return error_page(&viewer, &refusal);
    }
    let token = form.token.trim();
    let resource = Resource::new(ResourceKind::Session, Principal::Admin.to_string());
    if !state.auth.is_admin(token) {
        // Recorded as the API records a bad token (rate-limited per source).
        let record = AuditRecord::new(
            Principal::Anonymous,
            Action::CreateSession,
            resource,
            viewer.caller.origin.clone(),
        );
        state
            .policy
            .record_refusal(&record, "the token is not valid")
            .await;
        return page_with_status(
            &viewer,
            StatusCode::UNAUTHORIZED,
            "sign_in.html",
            "Sign in",
            context! { error => "this token is not valid: give the admin token (`<data-dir>/admin-token`)" },
        );
    }
    let id = generate_token();
    let now = paved_store::now_millis();
    let session = SessionRow {
        id_sha256: sha256_hex(&id),
        principal: Principal::Admin.to_string(),
        csrf_token: generate_token(),
        created_at: now,
        expires_at: now + SESSION_TTL_MILLIS,
    };
    // The token proved who this is: the session is started by, and audited as, them.
    let caller = Caller {
        principal: Principal::Admin,
        origin: viewer.caller.origin.clone(),
    };
    let stored = mutation(
        &state,
        &caller,
        Action::CreateSession,
        resource,
        async |mutation| {
            let mut tx = mutation.begin(&state.store).await.map_err(store_error)?;
            tx.insert_session(&session).await.map_err(store_error)?;
            mutation.commit(tx).await.map_err(store_error)
        },
    )
    .await;
    if let Err(error) = stored {
        return api_error_page(&viewer, error).await;
    }
    let mut response = see_other("/");
    if let Ok(value) = cookie(&viewer, &id, SESSION_TTL_MILLIS / 1000).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

/// Ends the session, here and in the store.
pub async fn sign_out(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Err(refusal) = viewer.check_form(&headers, form.csrf.as_deref()) {
        return error_page(&viewer, &refusal);
    }
    if let Some(session) = &viewer.session {
        let resource = Resource::new(ResourceKind::Session, session.principal.clone());
        let deleted = mutation(
            &state,
            &viewer.caller,
            Action::DeleteSession,
            resource,
            async |mutation| {
                let mut tx = mutation.begin(&state.store).await.map_err(store_error)?;
                tx.delete_session(&session.id_sha256)
                    .await
                    .map_err(store_error)?;
                mutation.commit(tx).await.map_err(store_error)
            },
        )
        .await;
        if let Err(error) = deleted {
            return api_error_page(&viewer, error).await;
        }
    }
    let mut response = see_other("/");
    if let Ok(value) = cookie(&viewer, "", 0).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response.into_response()
}

//! Who is calling. Every mutating route takes a [`Caller`] and asks [`Caller::authorize`].
//!
//! Today there is one credential: the admin token, generated at first start, kept in the store
//! as a SHA-256 hash, and written once (mode 0600) to `<data-dir>/admin-token` for the local
//! CLI. Reads are open to anonymous callers. Permissions per team (Cedar) come with the
//! permissions issue and plug in at [`Caller::authorize`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState};

const ADMIN_TOKEN_SETTING: &str = "admin_token_sha256";

/// Checks bearer tokens, and holds the secret that AWS SigV4 signatures (the `/ecs`
/// endpoint) are checked with.
#[derive(Debug)]
pub struct Authenticator {
    admin_token_sha256: String,
    /// The admin token itself, in memory only and only when the token given at start is the
    /// stored one: SigV4 needs the secret, not its hash. Never stored, logged or printed.
    sigv4_secret: Option<Redacted>,
}

/// A secret whose `Debug` prints nothing of it.
pub(crate) struct Redacted(String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Redacted")
    }
}

impl Authenticator {
    /// Loads the admin token's hash from the store, or stores the hash of `new_token` when the
    /// store has none yet. Returns whether `new_token` was stored (so the caller can write it
    /// out for the CLI).
    pub async fn load_or_init(
        store: &paved_store::Store,
        new_token: &str,
    ) -> Result<(Authenticator, bool), paved_store::StoreError> {
        let hash = sha256_hex(new_token);
        let stored = store.ensure_setting(ADMIN_TOKEN_SETTING, &hash).await?;
        let created = stored == hash;
        if !created {
            tracing::warn!(
                "the admin token given at start is not the stored one; AWS SigV4 calls to `/ecs` are refused until `paved up` starts with it (PAVED_ADMIN_TOKEN or <data-dir>/admin-token)"
            );
        }
        Ok((
            Authenticator {
                admin_token_sha256: stored,
                sigv4_secret: created.then(|| Redacted(new_token.to_owned())),
            },
            created,
        ))
    }

    /// The SigV4 secret access key (the admin token), when this process knows it.
    pub(crate) fn sigv4_secret(&self) -> Option<&str> {
        self.sigv4_secret.as_ref().map(|secret| secret.0.as_str())
    }

    pub(crate) fn is_admin(&self, token: &str) -> bool {
        let presented = sha256_hex(token);
        // Compare hashes in constant time with respect to their content.
        presented.len() == self.admin_token_sha256.len()
            && presented
                .bytes()
                .zip(self.admin_token_sha256.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A fresh random token (two UUIDv4s: 244 random bits).
pub fn generate_token() -> String {
    format!(
        "pvd_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Admin,
    /// Presented a token that is not valid; refused at `authorize`, so the attempt is audited.
    InvalidToken,
}

/// What a caller wants to do, for authorisation and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateLocation,
    DeleteLocation,
    Refresh,
    /// Reading files on the server through a dry run is as sensitive as registering them.
    AnalyzeLocation,
    RegisterTemplate,
    PublishTemplate,
    WithdrawTemplate,
    AddTemplateSync,
    RunTemplateSync,
    RemoveTemplateSync,
    CreateService,
    BuildImage,
    PutSecret,
    DeleteSecret,
    PutLoadBalancer,
    DeleteLoadBalancer,
    /// A mutation through the ECS endpoint, named by the engine (`ecs.create-cluster`).
    Ecs(&'static str),
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateLocation => "location.create",
            Action::DeleteLocation => "location.delete",
            Action::Refresh => "catalog.refresh",
            Action::AnalyzeLocation => "location.analyze",
            Action::RegisterTemplate => "template.register",
            Action::PublishTemplate => "template.publish",
            Action::WithdrawTemplate => "template.withdraw",
            Action::AddTemplateSync => "template-sync.create",
            Action::RunTemplateSync => "template-sync.run",
            Action::RemoveTemplateSync => "template-sync.delete",
            Action::CreateService => "service.create",
            Action::BuildImage => "engine.build-image",
            Action::PutSecret => "engine.put-secret",
            Action::DeleteSecret => "engine.delete-secret",
            Action::PutLoadBalancer => "engine.put-load-balancer",
            Action::DeleteLoadBalancer => "engine.delete-load-balancer",
            Action::Ecs(action) => action,
        }
    }
}

impl Caller {
    pub fn name(&self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Admin => "admin",
            Caller::InvalidToken => "invalid-token",
        }
    }

    /// Allows or refuses an action. Anonymous callers may only read.
    pub fn authorize(&self, action: Action) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Anonymous => {
                tracing::debug!(action = action.as_str(), "refused anonymous mutation");
                Err(ApiError::Unauthenticated)
            }
            Caller::InvalidToken => {
                tracing::warn!(
                    action = action.as_str(),
                    "refused a mutation with an invalid token"
                );
                Err(ApiError::InvalidToken)
            }
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Caller, Self::Rejection> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Caller::Anonymous);
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim);
        Ok(match token {
            Some(token) if state.auth.is_admin(token) => Caller::Admin,
            _ => Caller::InvalidToken,
        })
    }
}

/// Records a mutation in the audit log; a failure to record is logged, not hidden.
pub async fn audit(
    state: &AppState,
    caller: &Caller,
    action: Action,
    target: &str,
    outcome: &Result<(), &ApiError>,
) {
    let outcome = match outcome {
        Ok(()) => "ok".to_owned(),
        Err(error) => format!("error: {error}"),
    };
    record(state, caller.name(), action, target, outcome).await;
}

/// Records one audit event with an outcome already put in words (`ok` or `error: ...`).
pub(crate) async fn record(
    state: &AppState,
    actor: &str,
    action: Action,
    target: &str,
    outcome: String,
) {
    let event = paved_store::AuditEvent {
        at: paved_store::now_millis(),
        actor: actor.to_owned(),
        action: action.as_str().to_owned(),
        target: target.to_owned(),
        outcome,
        details: "{}".to_owned(),
    };
    if let Err(error) = state.store.record_audit(&event).await {
        tracing::error!(%error, action = action.as_str(), "cannot write the audit log");
    }
}

/// Authorises, runs and audits one mutation.
pub(crate) async fn mutation<T>(
    state: &AppState,
    caller: &Caller,
    action: Action,
    target: &str,
    run: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let result = match caller.authorize(action) {
        Ok(()) => run.await,
        Err(error) => Err(error),
    };
    audit(state, caller, action, target, &result.as_ref().map(|_| ())).await;
    result
}

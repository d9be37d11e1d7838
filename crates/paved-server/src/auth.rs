//! Credentials: what proves who is calling (see `access.rs` for what they may do).
//!
//! Today there is one credential: the admin token, generated at first start, kept in the store
//! as a SHA-256 hash, and written once (mode 0600) to `<data-dir>/admin-token` for the local
//! CLI; `/ecs` also takes it as the secret of AWS SigV4 signatures.

use sha2::{Digest, Sha256};

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

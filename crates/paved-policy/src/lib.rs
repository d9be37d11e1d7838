//! The one policy point: `authorize(principal, action, resource)`, and the audit record of
//! every decision.
//!
//! [`PolicyPoint::authorize`] is called for every mutation, by every interface (the HTTP API,
//! the ECS endpoint, background loops). It allows or refuses by the rules in force, and
//! returns the mutation's [`AuditRecord`], which the change's own store transaction writes
//! (`paved_store::Mutation`); a refusal is written here and then, at once. [`PolicyPoint::settle`]
//! writes the record of a call whose change never committed (it failed, or it changed nothing
//! in the store), so every call leaves exactly one record.
//!
//! The rule in force today: the admin token and Paved's own loops may do everything; anonymous
//! callers may only read. Cedar permissions by ownership plug in at [`PolicyPoint::decide`].
//!
//! Refusals are recorded at a bounded rate per source ([`RefusalLimiter`]), so a stream of
//! refused calls cannot fill the disk; the fields of every record are bounded in length by
//! `paved_model::access`.

mod limiter;

use paved_model::access::{Action, AuditRecord, CallOrigin, Outcome, Principal, Resource};
use paved_store::{Store, StoreError};

pub use crate::limiter::RefusalLimiter;

/// Why a call was refused: who, what, on what, and the rule that decided.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{principal}` may not `{action}` `{resource}`: {reason}")]
pub struct Denied {
    pub principal: Principal,
    pub action: Action,
    pub resource: Resource,
    /// The rule that decided.
    pub rule: &'static str,
    pub reason: String,
}

/// The policy point; cheap to clone.
#[derive(Debug, Clone)]
pub struct PolicyPoint {
    store: Store,
    limiter: std::sync::Arc<RefusalLimiter>,
}

impl PolicyPoint {
    pub fn new(store: Store) -> PolicyPoint {
        PolicyPoint {
            store,
            limiter: std::sync::Arc::new(RefusalLimiter::default()),
        }
    }

    /// Decides, without recording anything (for showing which actions a caller may take).
    pub fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
    ) -> Result<(), Denied> {
        decide(principal, action, resource)
    }

    /// Allows or refuses `action` on `resource`. Allowed: the mutation's audit record, for its
    /// transaction to write. Refused: the refusal is recorded now (rate-limited per source).
    pub async fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        resource: Resource,
        origin: &CallOrigin,
    ) -> Result<AuditRecord, Denied> {
        let decision = self.decide(principal, action, &resource);
        let record = AuditRecord::new(principal.clone(), action, resource, origin.clone());
        match decision {
            Ok(()) => Ok(record),
            Err(denied) => {
                tracing::info!(%denied, rule = denied.rule, "refused");
                self.record_refusal(&record, &denied.reason).await;
                Err(denied)
            }
        }
    }

    /// Records a call refused before it could be authorised (no or bad credentials).
    pub async fn record_refusal(&self, record: &AuditRecord, reason: &str) {
        let source = record.origin.source.as_deref().unwrap_or("local");
        if !self.limiter.admit(source) {
            return;
        }
        let outcome = Outcome::Refused(reason.to_owned());
        if let Err(error) = self.store.record_audit(record, &outcome).await {
            tracing::error!(%error, action = %record.action, "cannot write the audit log");
        }
    }

    /// Writes the record of an allowed call unless its transaction already did: a failure
    /// (`Err(why)`, its code and message), or a success that wrote nothing to the store (a
    /// change outside it). When the record cannot be written the caller must not report the
    /// call as done: every call leaves a record, or it fails.
    pub async fn settle(
        &self,
        record: &AuditRecord,
        result: Result<(), String>,
    ) -> Result<(), StoreError> {
        if record.is_recorded() {
            return Ok(());
        }
        let outcome = match result {
            Ok(()) => Outcome::Succeeded,
            Err(why) => Outcome::Failed(why),
        };
        self.store
            .record_audit(record, &outcome)
            .await
            .inspect_err(|error| {
                tracing::error!(%error, action = %record.action, "cannot write the audit log");
            })
    }

    /// Records a background loop's change that has no transaction of its own.
    pub async fn record(&self, record: &AuditRecord, outcome: &Outcome) -> Result<(), StoreError> {
        self.store.record_audit(record, outcome).await
    }

    /// How many refusals were not recorded because their source went over the rate.
    pub fn suppressed_refusals(&self) -> u64 {
        self.limiter.suppressed()
    }
}

/// The rules in force, as a pure function of the request.
fn decide(principal: &Principal, action: Action, resource: &Resource) -> Result<(), Denied> {
    let deny = |rule: &'static str, reason: &str| Denied {
        principal: principal.clone(),
        action,
        resource: resource.clone(),
        rule,
        reason: reason.to_owned(),
    };
    match principal {
        Principal::Admin | Principal::System(_) => Ok(()),
        Principal::Anonymous if !action.mutates() && action != Action::ReadAudit => Ok(()),
        Principal::Anonymous => Err(deny(
            "authenticated-mutations",
            "authentication required: send a token",
        )),
        Principal::User(_) | Principal::ServiceAccount(_) => Err(deny(
            "admin-only",
            "only the admin token may change Paved until permissions by ownership are configured",
        )),
    }
}

#[cfg(test)]
mod tests {
    use paved_model::access::{ResourceKind, SystemLoop};

    use super::*;

    #[track_caller]
    fn check(principal: Principal, action: Action, expect: Option<&str>) {
        let resource = Resource::new(ResourceKind::Location, "x");
        let decided = decide(&principal, action, &resource)
            .err()
            .map(|denied| denied.rule);
        assert_eq!(decided, expect, "{principal} {action}");
    }

    #[test]
    fn todays_rule() {
        for action in Action::ALL {
            check(Principal::Admin, *action, None);
            check(Principal::System(SystemLoop::Jobs), *action, None);
            let anonymous = if action.mutates() || *action == Action::ReadAudit {
                Some("authenticated-mutations")
            } else {
                None
            };
            check(Principal::Anonymous, *action, anonymous);
        }
        check(
            Principal::User("user:default/alice".into()),
            Action::CreateLocation,
            Some("admin-only"),
        );
    }
}

//! Who acts, what they do, and on what: the vocabulary of the one policy point.
//!
//! Every mutation names a [`Principal`], an [`Action`] and a [`Resource`]; `paved-policy`
//! decides, and the decision with its outcome becomes one [`AuditRecord`], written in the same
//! store transaction as the change it records. These are plain values: deciding lives in
//! `paved-policy`, writing in `paved-store`.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// No credential.
    Anonymous,
    /// The bootstrap admin token.
    Admin,
    /// A person, by the reference of their catalog `User` entity (`user:default/alice`).
    User(String),
    /// A service account, by name (a token's subject that is not a person).
    ServiceAccount(String),
    /// A background loop of Paved itself (`system:catalog-refresh`).
    System(SystemLoop),
}

/// The background loops that change state on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemLoop {
    CatalogRefresh,
    TemplateSync,
    Jobs,
    Engine,
    /// What `paved up` does when it starts (registering the built-in golden paths).
    Startup,
}

impl SystemLoop {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemLoop::CatalogRefresh => "catalog-refresh",
            SystemLoop::TemplateSync => "template-sync",
            SystemLoop::Jobs => "jobs",
            SystemLoop::Engine => "engine",
            SystemLoop::Startup => "startup",
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anonymous => formatter.write_str("anonymous"),
            Principal::Admin => formatter.write_str("admin"),
            Principal::User(reference) => formatter.write_str(reference),
            Principal::ServiceAccount(name) => write!(formatter, "service-account:{name}"),
            Principal::System(system) => write!(formatter, "system:{}", system.as_str()),
        }
    }
}

impl Principal {
    /// Reads back what [`Principal`]'s `Display` wrote (job records keep their principal).
    pub fn parse(text: &str) -> Option<Principal> {
        Some(match text {
            "anonymous" => Principal::Anonymous,
            "admin" => Principal::Admin,
            _ => {
                if let Some(name) = text.strip_prefix("service-account:") {
                    Principal::ServiceAccount(name.to_owned())
                } else if let Some(system) = text.strip_prefix("system:") {
                    Principal::System(match system {
                        "catalog-refresh" => SystemLoop::CatalogRefresh,
                        "template-sync" => SystemLoop::TemplateSync,
                        "jobs" => SystemLoop::Jobs,
                        "engine" => SystemLoop::Engine,
                        "startup" => SystemLoop::Startup,
                        _ => return None,
                    })
                } else if text.starts_with("user:") {
                    Principal::User(text.to_owned())
                } else {
                    return None;
                }
            }
        })
    }
}

/// Generates [`Action`] with its stable name and whether it changes anything.
macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $mutates:literal;)*) => {
        /// Everything a principal can ask for that the policy point decides.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The stable name, as the audit log and policies spell it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// Whether the action changes state (and so is audited).
            pub fn mutates(self) -> bool {
                match self {
                    $(Action::$variant => $mutates,)*
                }
            }

            pub fn parse(name: &str) -> Option<Action> {
                match name {
                    $($name => Some(Action::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    CreateLocation = "location.create", true;
    DeleteLocation = "location.delete", true;
    /// Reading files on the server through a dry run is as sensitive as registering them.
    AnalyzeLocation = "location.analyze", true;
    RefreshCatalog = "catalog.refresh", true;
    /// The refresh loop deletes entities whose grace period as orphans ended.
    DeleteOrphans = "catalog.delete-orphans", true;
    RegisterTemplate = "template.register", true;
    PublishTemplate = "template.publish", true;
    WithdrawTemplate = "template.withdraw", true;
    CreateTemplateSync = "template-sync.create", true;
    RunTemplateSync = "template-sync.run", true;
    DeleteTemplateSync = "template-sync.delete", true;
    /// `paved up` takes credentials out of sync URLs an earlier version stored.
    ForgetSyncCredentials = "template-sync.forget-credentials", true;
    CreateService = "service.create", true;
    CancelJob = "job.cancel", true;
    BuildImage = "engine.build-image", true;
    PutSecret = "engine.put-secret", true;
    DeleteSecret = "engine.delete-secret", true;
    PutLoadBalancer = "engine.put-load-balancer", true;
    DeleteLoadBalancer = "engine.delete-load-balancer", true;
    /// The local engine's scheduler rolled a service back (circuit breaker).
    RollBackEngineService = "engine.roll-back", true;
    EcsCreateCluster = "ecs.create-cluster", true;
    EcsDeleteCluster = "ecs.delete-cluster", true;
    EcsRegisterTaskDefinition = "ecs.register-task-definition", true;
    EcsDeregisterTaskDefinition = "ecs.deregister-task-definition", true;
    EcsTagResource = "ecs.tag-resource", true;
    EcsUntagResource = "ecs.untag-resource", true;
    EcsCreateService = "ecs.create-service", true;
    EcsUpdateService = "ecs.update-service", true;
    EcsDeleteService = "ecs.delete-service", true;
    EcsRunTask = "ecs.run-task", true;
    EcsStopTask = "ecs.stop-task", true;
    /// Reading the ECS endpoint (ECS authenticates reads too).
    EcsRead = "ecs.read", false;
    ReadAudit = "audit.read", false;
    /// Signing in to the portal starts a session; signing out ends it.
    CreateSession = "session.create", true;
    DeleteSession = "session.delete", true;
}

impl fmt::Display for Action {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The kinds of things actions act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    Catalog,
    Location,
    Template,
    TemplateSync,
    Service,
    Job,
    Image,
    Secret,
    LoadBalancer,
    EcsCluster,
    EcsTaskDefinition,
    EcsService,
    EcsTask,
    AuditLog,
    /// A portal sign-in session (named by its principal; the id is never recorded).
    Session,
    /// An API route, for refusals recorded before the resource could be known.
    Route,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Catalog => "catalog",
            ResourceKind::Location => "location",
            ResourceKind::Template => "template",
            ResourceKind::TemplateSync => "template-sync",
            ResourceKind::Service => "service",
            ResourceKind::Job => "job",
            ResourceKind::Image => "image",
            ResourceKind::Secret => "secret",
            ResourceKind::LoadBalancer => "load-balancer",
            ResourceKind::EcsCluster => "ecs-cluster",
            ResourceKind::EcsTaskDefinition => "ecs-task-definition",
            ResourceKind::EcsService => "ecs-service",
            ResourceKind::EcsTask => "ecs-task",
            ResourceKind::AuditLog => "audit-log",
            ResourceKind::Session => "session",
            ResourceKind::Route => "route",
        }
    }
}

/// What an action acts on: its kind, a name or reference, and its owner where it has one
/// (the owning Group's entity reference), which permissions by ownership decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: ResourceKind,
    pub name: String,
    pub owner: Option<String>,
}

impl Resource {
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Resource {
        Resource {
            kind,
            name: bounded(name.into(), MAX_AUDIT_NAME_BYTES),
            owner: None,
        }
    }

    pub fn owned_by(mut self, owner: impl Into<String>) -> Resource {
        self.owner = Some(bounded(owner.into(), MAX_AUDIT_NAME_BYTES));
        self
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.kind.as_str(), self.name)
    }
}

/// Where a call came from, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOrigin {
    /// The request id (`x-request-id`, or the one Paved generated), if the call came over HTTP.
    pub request_id: Option<String>,
    /// The peer address, if the call came over HTTP.
    pub source: Option<String>,
}

/// The longest resource name or owner an audit record keeps; longer ones are cut (with `…`), so
/// a refused call cannot write an unbounded row.
pub const MAX_AUDIT_NAME_BYTES: usize = 256;
/// The longest details (JSON) an audit record keeps.
pub const MAX_AUDIT_DETAILS_BYTES: usize = 4096;

/// How a mutation ended, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// The policy point refused it; the reason names the rule.
    Refused(String),
    /// It was allowed but failed: the error's stable code and message (`code: message`).
    Failed(String),
}

impl Outcome {
    pub fn as_text(&self) -> String {
        match self {
            Outcome::Succeeded => "ok".to_owned(),
            Outcome::Refused(reason) => bounded(format!("refused: {reason}"), 512),
            Outcome::Failed(code) => bounded(format!("error: {code}"), 512),
        }
    }
}

/// One mutation as the audit log records it: who, what, on what, from where, how it ended,
/// and a short before/after summary (`details`, JSON). Built by the policy point when it
/// allows or refuses; the change's own transaction writes it (see `paved_store::Tx::audit`)
/// and marks it recorded, so the policy point writes a failure record only for calls whose
/// change never committed.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub principal: Principal,
    pub action: Action,
    pub resource: Resource,
    pub origin: CallOrigin,
    shared: Arc<AuditShared>,
}

#[derive(Debug, Default)]
struct AuditShared {
    details: Mutex<Option<serde_json::Value>>,
    recorded: AtomicBool,
}

impl AuditRecord {
    pub fn new(
        principal: Principal,
        action: Action,
        resource: Resource,
        origin: CallOrigin,
    ) -> AuditRecord {
        AuditRecord {
            principal,
            action,
            resource,
            origin,
            shared: Arc::default(),
        }
    }

    /// A record for a background loop's own change.
    pub fn system(system: SystemLoop, action: Action, resource: Resource) -> AuditRecord {
        AuditRecord::new(
            Principal::System(system),
            action,
            resource,
            CallOrigin::default(),
        )
    }

    /// Sets the before/after summary (never secrets). Kept to [`MAX_AUDIT_DETAILS_BYTES`].
    pub fn set_details(&self, details: serde_json::Value) {
        *self.shared.details.lock().expect("audit details lock") = Some(details);
    }

    /// The summary as JSON text, bounded.
    pub fn details_text(&self) -> String {
        let details = self.shared.details.lock().expect("audit details lock");
        let text = details
            .as_ref()
            .map_or_else(|| "{}".to_owned(), serde_json::Value::to_string);
        if text.len() > MAX_AUDIT_DETAILS_BYTES {
            serde_json::json!({ "truncated": bounded(text, MAX_AUDIT_DETAILS_BYTES - 64) })
                .to_string()
        } else {
            text
        }
    }

    /// Marks the record written (called by the store after the transaction holding it commits).
    pub fn mark_recorded(&self) {
        self.shared.recorded.store(true, Ordering::Release);
    }

    pub fn is_recorded(&self) -> bool {
        self.shared.recorded.load(Ordering::Acquire)
    }
}

/// `text` cut to at most `limit` bytes on a character boundary, marked with `…` when cut.
pub fn bounded(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_round_trip() {
        for principal in [
            Principal::Anonymous,
            Principal::Admin,
            Principal::User("user:default/alice".to_owned()),
            Principal::ServiceAccount("ci".to_owned()),
            Principal::System(SystemLoop::CatalogRefresh),
            Principal::System(SystemLoop::TemplateSync),
            Principal::System(SystemLoop::Jobs),
            Principal::System(SystemLoop::Engine),
            Principal::System(SystemLoop::Startup),
        ] {
            assert_eq!(
                Principal::parse(&principal.to_string()),
                Some(principal.clone())
            );
        }
        assert_eq!(Principal::parse("system:nope"), None);
        assert_eq!(Principal::parse("root"), None);
    }

    #[test]
    fn actions_have_unique_names() {
        let mut names: Vec<&str> = Action::ALL.iter().map(|action| action.as_str()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
        }
    }

    #[test]
    fn bounds_cut_on_character_boundaries() {
        assert_eq!(bounded("short".to_owned(), 10), "short");
        let cut = bounded("é".repeat(300), 256);
        assert!(cut.len() <= 256, "{}", cut.len());
        assert!(cut.ends_with('…'));
        let resource = Resource::new(ResourceKind::Location, "x".repeat(100_000));
        assert!(resource.name.len() <= MAX_AUDIT_NAME_BYTES);
    }

    #[test]
    fn details_are_bounded() {
        let record = AuditRecord::system(
            SystemLoop::Jobs,
            Action::CreateService,
            Resource::new(ResourceKind::Service, "a"),
        );
        assert_eq!(record.details_text(), "{}");
        record.set_details(serde_json::json!({ "big": "y".repeat(10_000) }));
        let text = record.details_text();
        assert!(text.len() <= MAX_AUDIT_DETAILS_BYTES, "{}", text.len());
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    }
}

//! What the registry refuses, and why, precisely enough to fix.

use paved_model::problem::Problem;
use paved_template::bundle::RenderFailure;
use paved_template::schema::Incompatibility;

use crate::source::SourceError;
use crate::version::{Version, VersionSelector, VersionStatus, VersionSyntaxError};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// `hint` is empty, or `; did you mean `NAME`?` with the nearest registered name.
    #[error("template `{name}` not found{hint}")]
    TemplateNotFound { name: String, hint: String },
    #[error("template `{template}` has no version {version}")]
    VersionNotFound { template: String, version: Version },
    #[error("template `{template}` has no published version{}", match .selector {
        VersionSelector::Major(major) => format!(" in major {major}"),
        _ => String::new(),
    })]
    NoPublishedVersion {
        template: String,
        selector: VersionSelector,
    },
    #[error(transparent)]
    Selector(#[from] VersionSyntaxError),
    #[error("the bundle cannot be read: {0}")]
    Source(#[from] SourceError),
    #[error("the bundle is not valid: {}", join(.0))]
    InvalidBundle(Vec<Problem>),
    #[error("{0}")]
    InvalidRequest(String),
    /// A compatible environment template (from the call, the manifest, `.compatible-envs` or
    /// `.template-registration.yaml`) that cannot be one.
    #[error("compatible environment `{template}:{major}` {reason}")]
    UnknownCompatibleEnvironment {
        template: String,
        major: u32,
        reason: String,
    },
    #[error("version {version} of `{template}` is not compatible with {previous}, the previous minor version (a new major version may change anything): {}", .problems.iter().map(|problem| problem.message.clone()).collect::<Vec<_>>().join("; "))]
    Incompatible {
        template: String,
        version: Version,
        previous: Version,
        problems: Vec<Incompatibility>,
    },
    #[error("template `{template}` is a{} {existing} template; this bundle is a{} {found} template", article(.existing), article(.found))]
    KindMismatch {
        template: String,
        existing: String,
        found: String,
    },
    #[error("version {version} of `{template}` is {status}; it cannot be {action}")]
    InvalidTransition {
        template: String,
        version: Version,
        status: VersionStatus,
        action: &'static str,
    },
    #[error(
        "version {version} of template `{template}` was registered at the same moment by another request; retry"
    )]
    Conflict { template: String, version: Version },
    #[error("rendering failed: {0}")]
    Render(#[from] RenderFailure),
    #[error("template sync `{0}` not found")]
    SyncNotFound(String),
    #[error(transparent)]
    Store(#[from] paved_store::StoreError),
    #[error(transparent)]
    Catalog(#[from] paved_catalog::CatalogError),
    #[error("internal error: {0}")]
    Internal(String),
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "n"
    } else {
        ""
    }
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

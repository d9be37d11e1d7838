//! The built-in golden paths (`templates/` at the repository root), shipped inside the binary
//! and registered, published, on the first start. Afterwards they are templates like any other:
//! an admin may register new versions of them, or withdraw them.

use include_dir::{Dir, include_dir};
use paved_model::access::{Action, AuditRecord, Resource, ResourceKind, SystemLoop};
use paved_store::Mutation;
use paved_template::bundle::BundleFile;

use crate::{RegisterRequest, Registered, Registry, RegistryError};

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../templates");

/// The source recorded for built-in versions.
pub const SOURCE: &str = "builtin";

/// The names of the built-in templates, environment first.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = BUILTIN
        .dirs()
        .filter_map(|dir| dir.path().to_str())
        .collect();
    // Services name the environment template as compatible; registering it first keeps the
    // catalog's view consistent from the start.
    names.sort_by_key(|name| (*name != "ecs-environment", *name));
    names
}

/// The files of one built-in template, with paths relative to its folder.
pub fn files(name: &str) -> Option<Vec<BundleFile>> {
    let dir = BUILTIN.get_dir(name)?;
    let mut files = Vec::new();
    collect(dir, name, &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Some(files)
}

fn collect(dir: &Dir<'_>, root: &str, files: &mut Vec<BundleFile>) {
    for file in dir.files() {
        let path = file.path().to_string_lossy();
        let relative = path
            .strip_prefix(root)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(&path);
        files.push(BundleFile::new(relative, file.contents()));
    }
    for sub in dir.dirs() {
        collect(sub, root, files);
    }
}

impl Registry {
    /// Registers and publishes every built-in template that does not exist yet. Returns what
    /// was registered; templates that exist (built-in or replaced by an admin) are left alone.
    pub async fn register_builtins(&self) -> Result<Vec<Registered>, RegistryError> {
        let mut registered = Vec::new();
        for name in names() {
            if self.store().template(name).await?.is_some() {
                continue;
            }
            let files = files(name).expect("names() lists existing folders");
            let record = AuditRecord::system(
                SystemLoop::Startup,
                Action::RegisterTemplate,
                Resource::new(ResourceKind::Template, name),
            );
            let request = RegisterRequest {
                files,
                source: SOURCE.to_owned(),
                publish: true,
                ..RegisterRequest::default()
            };
            registered.push(self.register(request, &Mutation::new(&record)).await?);
        }
        // Started replicas show the built-ins in the catalog at once.
        self.catalog_written().await;
        Ok(registered)
    }
}

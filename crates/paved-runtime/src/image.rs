//! Images: a repository's tree at one commit, written under `<root>/images/<name>/<commit>/`
//! as `rootfs/` plus `config.json` (what the Dockerfile says to run).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::dockerfile::{self, ImageConfig};

/// Largest file an image holds; bigger files are left out (and logged).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A built image: `local/<name>:<commit>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImageRef {
    pub name: String,
    /// The full commit id, in hex.
    pub commit: String,
}

impl ImageRef {
    /// `local/<name>:<commit>`, the reference a container definition names.
    pub fn reference(&self) -> String {
        format!("local/{}:{}", self.name, self.commit)
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "local/{}:{}", self.name, self.commit)
    }
}

/// A resolved image, ready to be copied into a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub reference: ImageRef,
    /// The image's files; never written to (each task gets a copy).
    pub rootfs: PathBuf,
    pub config: ImageConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(
        "image name `{name}` is not valid: use lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit"
    )]
    InvalidName { name: String },
    #[error("cannot read `{reference}` of `{}`: {source}", repository.display())]
    Git {
        repository: PathBuf,
        reference: String,
        source: paved_git::GitError,
    },
    #[error("path `{path}` in the repository is not allowed in an image")]
    InvalidPath { path: String },
    #[error("cannot write the image at `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// ECS's message for an image that cannot be pulled.
#[derive(Debug, thiserror::Error)]
#[error(
    "CannotPullContainerError: pull image manifest has been retried 1 time(s): {image}: not found: the local engine runs only images built with `paved build` (local/<name>:<commit>)"
)]
pub struct PullError {
    pub image: String,
}

/// The images under `<root>/images`.
#[derive(Clone, Debug)]
pub struct ImageStore {
    dir: PathBuf,
    /// `paved_git::read_tree` must not run twice at once on one mirror.
    build_lock: Arc<Mutex<()>>,
}

impl ImageStore {
    pub(crate) fn new(dir: PathBuf) -> ImageStore {
        ImageStore {
            dir,
            build_lock: Arc::new(Mutex::new(())),
        }
    }

    /// Builds `local/<name>:<commit>` from `reference` (a branch, tag or commit) of the
    /// bare repository at `repository`. Building a commit that is already built does
    /// nothing. Blocking: call it from `spawn_blocking` in async code.
    ///
    /// Files are written as they are in git, except that files starting with `#!` are
    /// made executable (read_tree reports no file modes). Symbolic links, submodules and
    /// files over 64 MiB are left out.
    pub fn build(
        &self,
        name: &str,
        repository: &Path,
        reference: &str,
    ) -> Result<ImageRef, ImageError> {
        if !is_valid_name(name) {
            return Err(ImageError::InvalidName { name: name.into() });
        }
        let _guard = self
            .build_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let snapshot = paved_git::read_tree(
            &self.dir.join(".mirrors"),
            &repository.to_string_lossy(),
            Some(reference),
            &|_| true,
            MAX_FILE_BYTES,
        )
        .map_err(|source| ImageError::Git {
            repository: repository.to_owned(),
            reference: reference.to_owned(),
            source,
        })?;
        let image = ImageRef {
            name: name.to_owned(),
            commit: snapshot.commit.clone(),
        };
        let target = self.dir.join(name).join(&snapshot.commit);
        if target.join("config.json").exists() {
            return Ok(image);
        }
        for skipped in &snapshot.skipped {
            tracing::warn!(image = %image, path = %skipped.path, reason = %skipped.reason, "file left out of the image");
        }
        let config = snapshot
            .files
            .iter()
            .find(|file| file.path == "Dockerfile")
            .map(|file| dockerfile::parse(&String::from_utf8_lossy(&file.contents)))
            .unwrap_or_default();

        let temporary = self.dir.join(".tmp").join(format!(
            "{name}-{}-{}",
            snapshot.commit,
            std::process::id()
        ));
        let write_error = |path: &Path| {
            let path = path.to_owned();
            move |source| ImageError::Write { path, source }
        };
        if temporary.exists() {
            std::fs::remove_dir_all(&temporary).map_err(write_error(&temporary))?;
        }
        let rootfs = temporary.join("rootfs");
        std::fs::create_dir_all(&rootfs).map_err(write_error(&rootfs))?;
        for file in &snapshot.files {
            let relative =
                safe_relative_path(&file.path).ok_or_else(|| ImageError::InvalidPath {
                    path: file.path.clone(),
                })?;
            let path = rootfs.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(write_error(parent))?;
            }
            std::fs::write(&path, &file.contents).map_err(write_error(&path))?;
            if file.contents.starts_with(b"#!") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .map_err(write_error(&path))?;
            }
        }
        let config_path = temporary.join("config.json");
        let config_json = serde_json::to_vec_pretty(&config).map_err(|err| ImageError::Write {
            path: config_path.clone(),
            source: err.into(),
        })?;
        std::fs::write(&config_path, config_json).map_err(write_error(&config_path))?;
        let parent = self.dir.join(name);
        std::fs::create_dir_all(&parent).map_err(write_error(&parent))?;
        if let Err(source) = std::fs::rename(&temporary, &target) {
            // Another process built the same commit in the meantime.
            let _ = std::fs::remove_dir_all(&temporary);
            if !target.join("config.json").exists() {
                return Err(ImageError::Write {
                    path: target,
                    source,
                });
            }
        }
        tracing::info!(image = %image, files = snapshot.files.len(), "built image");
        Ok(image)
    }

    /// The built image `image` names, or ECS's `CannotPullContainerError`.
    pub fn resolve(&self, image: &str) -> Result<Image, PullError> {
        let not_found = || PullError {
            image: image.to_owned(),
        };
        let (name, commit) = image
            .strip_prefix("local/")
            .and_then(|rest| rest.split_once(':'))
            .ok_or_else(not_found)?;
        let is_commit = matches!(commit.len(), 40 | 64)
            && commit
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_valid_name(name) || !is_commit {
            return Err(not_found());
        }
        let dir = self.dir.join(name).join(commit);
        let config = std::fs::read(dir.join("config.json")).map_err(|_| not_found())?;
        let config: ImageConfig = serde_json::from_slice(&config).map_err(|_| not_found())?;
        Ok(Image {
            reference: ImageRef {
                name: name.to_owned(),
                commit: commit.to_owned(),
            },
            rootfs: dir.join("rootfs"),
            config,
        })
    }

    /// Every built image, sorted by name then commit.
    pub fn list(&self) -> Vec<ImageRef> {
        let mut images = Vec::new();
        for name in read_dir_names(&self.dir) {
            if !is_valid_name(&name) {
                continue;
            }
            for commit in read_dir_names(&self.dir.join(&name)) {
                if self
                    .dir
                    .join(&name)
                    .join(&commit)
                    .join("config.json")
                    .exists()
                {
                    images.push(ImageRef {
                        name: name.clone(),
                        commit,
                    });
                }
            }
        }
        images.sort();
        images
    }
}

fn read_dir_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit.
pub(crate) fn is_valid_name(name: &str) -> bool {
    name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

/// `path` as a relative path that stays inside its root, or `None`.
fn safe_relative_path(path: &str) -> Option<PathBuf> {
    let mut relative = PathBuf::new();
    for part in path.split('/') {
        if matches!(part, "" | "." | "..") {
            return None;
        }
        relative.push(part);
    }
    Some(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for name in ["web", "web-2", "a.b_c", "0day"] {
            assert!(is_valid_name(name), "{name}");
        }
        for name in ["", "Web", ".hidden", "-x", "a/b", "..", "a b"] {
            assert!(!is_valid_name(name), "{name}");
        }
        assert!(safe_relative_path("a/../b").is_none());
        assert!(safe_relative_path("/etc/passwd").is_none());
        assert_eq!(safe_relative_path("a/b"), Some(PathBuf::from("a/b")));
    }
}

//! Git access for Paved: reading files from a repository's tree and writing commits.
//!
//! This is the only crate that links libgit2 (through `git2`), and no `git2` type
//! appears in its API. It is deliberately not a general git library: it knows nothing
//! about catalogs or templates, never checks out a working tree, and uses credentials
//! only as its callers hand them over ([`CredentialStore`], in git's credential-store
//! format), never writing them anywhere.
//! libgit2 is built without TLS or SSH, so only local paths, `file://` URLs and plain
//! `http://` URLs can be fetched.
//!
//! Start with [`read_tree`], which keeps a mirror of a repository in a cache directory
//! and reads the files a caller asks for; [`commit_files`] and [`init_bare`] write to
//! repositories.

mod credentials;
mod smart_http;

use std::path::{Path, PathBuf};

pub use crate::credentials::{
    CredentialStore, CredentialStoreError, Credentials, has_userinfo, redact_url, url_credentials,
};
pub use crate::smart_http::SmartHttp;

use git2::{
    AutotagOption, ErrorCode, FetchOptions, FetchPrune, FileMode, ObjectType, Oid, Repository,
    Signature, build::TreeUpdateBuilder,
};

/// One file read from a git tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// The repository-relative path, with forward slashes.
    pub path: String,
    pub contents: Vec<u8>,
}

/// An entry of the tree that was not read, and why (a symlink, a submodule, a file over
/// the size limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    pub path: String,
    pub reason: String,
}

/// The files read from the tree of one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeSnapshot {
    /// The id of the commit that was read, in hex.
    pub commit: String,
    /// Sorted by path.
    pub files: Vec<TreeFile>,
    /// Sorted by path.
    pub skipped: Vec<SkippedEntry>,
}

/// Everything that can go wrong in this crate.
///
/// URLs in messages never carry credentials: the `user:password@` part is removed.
/// `message` fields hold libgit2's own message.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot prepare the mirror of `{url}` at `{}`: {message}", path.display())]
    Mirror {
        url: String,
        path: PathBuf,
        message: String,
    },
    #[error("cannot fetch `{url}`: {message}")]
    Fetch { url: String, message: String },
    #[error("`{url}` has no default branch")]
    NoDefaultBranch { url: String },
    #[error("reference `{reference}` not found in `{url}`")]
    ReferenceNotFound { url: String, reference: String },
    #[error("reference `{reference}` in `{url}` does not point to a commit")]
    NotACommit { url: String, reference: String },
    #[error("cannot read the tree of commit `{commit}` in `{url}`: {message}")]
    ReadTree {
        url: String,
        commit: String,
        message: String,
    },
    #[error("cannot create a repository at `{}`: {message}", path.display())]
    Init { path: PathBuf, message: String },
    #[error("branch name `{branch}` is not valid")]
    InvalidBranch { branch: String },
    #[error("path `{path}` is not allowed: paths must be relative and stay inside the repository")]
    InvalidPath { path: String },
    #[error("cannot commit to branch `{branch}` of `{}`: {message}", path.display())]
    Commit {
        path: PathBuf,
        branch: String,
        message: String,
    },
    #[error("cannot read `{}`: {message}", path.display())]
    Open { path: PathBuf, message: String },
    #[error("reading `{url}` was stopped by its caller")]
    Stopped { url: String },
    #[error("pushing `{branch}` to `{url}` failed: {message}")]
    Push {
        url: String,
        branch: String,
        message: String,
    },
}

/// Brings a mirror of `url` up to date under `cache_dir`, then reads the tree at
/// `reference` and returns every blob whose path satisfies `include`.
///
/// `url` is a local path (`/srv/repos/x.git`, `/home/me/repo`) or a `file://` URL.
/// `reference` is a branch name, a tag, a full ref name or a (possibly abbreviated)
/// commit id; `None` or `HEAD` mean the remote's default branch. Paths passed to
/// `include` and returned are repository-relative with forward slashes.
///
/// # Guarantees
///
/// - The mirror is a bare repository in a subdirectory of `cache_dir` named from a
///   hash of `url` without its credentials. It is created and filled on first use and
///   fetched on every call (branches and tags, pruned), so the result is never staler
///   than the call.
/// - Symlinks and submodules whose path satisfies `include` are reported in `skipped`
///   and never followed, as are blobs larger than `max_file_bytes`; those blobs are
///   never loaded into memory.
///
/// # Caveats
///
/// Two concurrent calls for the same `url` and `cache_dir` may fail to lock the
/// mirror's refs; callers that read in parallel should serialise per `url`.
///
/// # Errors
///
/// A failed fetch is an error ([`GitError::Fetch`]), never a fallback to the cached
/// state. `https://` and SSH URLs always fail this way, as libgit2 is built without
/// TLS and SSH support.
pub fn read_tree(
    cache_dir: &Path,
    url: &str,
    reference: Option<&str>,
    include: &dyn Fn(&str) -> bool,
    max_file_bytes: u64,
) -> Result<TreeSnapshot, GitError> {
    let fetch = Fetch {
        credentials: None,
        keep_going: &|_| true,
        https: None,
    };
    read_tree_bounded(cache_dir, url, reference, include, max_file_bytes, &fetch)
}

/// How [`read_tree_bounded`] fetches and how far it may go.
#[derive(Clone, Copy)]
pub struct Fetch<'a> {
    /// Answers an `http://` remote's challenge (once: a remote that refuses them fails the
    /// fetch).
    pub credentials: Option<&'a Credentials>,
    /// Asked before each [`ReadStep`]; the read stops with [`GitError::Stopped`] as soon as
    /// it answers false.
    pub keep_going: &'a dyn Fn(ReadStep) -> bool,
    /// Fetches `https://` URLs (git's smart HTTP protocol, see [`SmartHttp`]) with the
    /// caller's client, which bounds and authenticates them; without one they fail.
    pub https: Option<&'a dyn SmartHttp>,
}

impl std::fmt::Debug for Fetch<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Fetch")
            .field("credentials", &self.credentials)
            .field("https", &self.https.is_some())
            .finish_non_exhaustive()
    }
}

/// What [`read_tree_bounded`] is about to do, for its caller to allow or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStep {
    /// The fetch is transferring data (asked many times while it does).
    Fetching,
    /// One tree entry is examined.
    Entry,
    /// A blob of this many bytes is read.
    Blob(u64),
}

/// [`read_tree`], fetching as `fetch` says: callers bound a read's time, entries and bytes
/// with its `keep_going`, and give the credentials and the HTTPS client of the remote.
pub fn read_tree_bounded(
    cache_dir: &Path,
    url: &str,
    reference: Option<&str>,
    include: &dyn Fn(&str) -> bool,
    max_file_bytes: u64,
    fetch: &Fetch<'_>,
) -> Result<TreeSnapshot, GitError> {
    let Fetch {
        credentials,
        keep_going,
        https,
    } = *fetch;
    let shown_url = redact_url(url);
    let stopped = || GitError::Stopped {
        url: shown_url.clone(),
    };
    let fetch_error = |message: String| GitError::Fetch {
        url: shown_url.clone(),
        message,
    };
    // These are checked before the mirror is created, and because libgit2 explains them
    // poorly ("there is no TLS stream available", and "unsupported URL protocol" for a
    // missing path).
    let smart_http = https.filter(|_| url.starts_with("https://"));
    if url.starts_with("https://") && smart_http.is_none() && !git2::Version::get().https() {
        return Err(fetch_error(
            "`https://` URLs are not supported: libgit2 is built without TLS".into(),
        ));
    }
    // `host:path` and `user@host:path` are SSH addresses, not local paths.
    let local_path = match url.strip_prefix("file://") {
        Some(path) => Some(path),
        None if url.contains("://") => None,
        None => match url.find(':') {
            Some(colon) if !url[..colon].contains('/') => None,
            _ => Some(url),
        },
    };
    if local_path.is_some_and(|path| !Path::new(path).exists()) {
        return Err(fetch_error("no such file or directory".into()));
    }
    let mirror_path = cache_dir.join(mirror_dir_name(&shown_url));
    let mirror_error = |message: String| GitError::Mirror {
        url: shown_url.clone(),
        path: mirror_path.clone(),
        message,
    };
    let mirror = if mirror_path.exists() {
        tracing::debug!(url = %shown_url, mirror = %mirror_path.display(), "fetching mirror");
        Repository::open_bare(&mirror_path)
    } else {
        tracing::info!(url = %shown_url, mirror = %mirror_path.display(), "cloning mirror");
        std::fs::create_dir_all(&mirror_path).map_err(|err| mirror_error(err.to_string()))?;
        Repository::init_bare(&mirror_path)
    }
    .map_err(|err| mirror_error(err.message().to_owned()))?;

    let default_branch = match smart_http {
        Some(http) => smart_http::fetch(&mirror, url, http),
        None => fetch_mirror(&mirror, url, credentials, keep_going)
            .map_err(|err| err.message().to_owned()),
    }
    .map_err(|message| {
        if keep_going(ReadStep::Fetching) {
            fetch_error(redact_message(&message, url))
        } else {
            stopped()
        }
    })?;

    let commit = match reference {
        None | Some("HEAD") => {
            let branch = default_branch.ok_or_else(|| GitError::NoDefaultBranch {
                url: shown_url.clone(),
            })?;
            resolve_commit(&mirror, &branch, &shown_url)?
        }
        Some(reference) => resolve_commit(&mirror, reference, &shown_url)?,
    };
    let commit_hex = commit.id().to_string();
    let read_error = |err: git2::Error| GitError::ReadTree {
        url: shown_url.clone(),
        commit: commit_hex.clone(),
        message: err.message().to_owned(),
    };

    let mut snapshot = TreeSnapshot {
        commit: commit_hex.clone(),
        files: Vec::new(),
        skipped: Vec::new(),
    };
    let odb = mirror.odb().map_err(read_error)?;
    let mut pending = vec![(String::new(), commit.tree().map_err(read_error)?)];
    while let Some((prefix, tree)) = pending.pop() {
        for entry in tree.iter() {
            if !keep_going(ReadStep::Entry) {
                return Err(stopped());
            }
            let name = String::from_utf8_lossy(entry.name_bytes());
            let path = format!("{prefix}{name}");
            let skip = |reason: String| SkippedEntry {
                path: path.clone(),
                reason,
            };
            match entry.filemode() {
                0o040000 => {
                    let subtree = mirror.find_tree(entry.id()).map_err(read_error)?;
                    pending.push((format!("{path}/"), subtree));
                }
                _ if !include(&path) => {}
                _ if entry.name().is_err() => {
                    snapshot
                        .skipped
                        .push(skip("path is not valid UTF-8".into()));
                }
                0o120000 => snapshot.skipped.push(skip("symbolic link".into())),
                0o160000 => snapshot.skipped.push(skip("submodule".into())),
                _ => {
                    let (size, _) = odb.read_header(entry.id()).map_err(read_error)?;
                    if size as u64 > max_file_bytes {
                        snapshot.skipped.push(skip(format!(
                            "file is {size} bytes, over the limit of {max_file_bytes} bytes"
                        )));
                    } else {
                        if !keep_going(ReadStep::Blob(size as u64)) {
                            return Err(stopped());
                        }
                        let blob = mirror.find_blob(entry.id()).map_err(read_error)?;
                        snapshot.files.push(TreeFile {
                            path,
                            contents: blob.content().to_vec(),
                        });
                    }
                }
            }
        }
    }
    snapshot.files.sort_by(|a, b| a.path.cmp(&b.path));
    snapshot.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(snapshot)
}

/// Creates a bare repository at `path`, creating its parent directories.
///
/// Its `HEAD` names libgit2's default branch until [`commit_files`] makes the first
/// commit, which points `HEAD` at the branch it commits to.
pub fn init_bare(path: &Path) -> Result<(), GitError> {
    let init_error = |message: String| GitError::Init {
        path: path.to_owned(),
        message,
    };
    std::fs::create_dir_all(path).map_err(|err| init_error(err.to_string()))?;
    Repository::init_bare(path).map_err(|err| init_error(err.message().to_owned()))?;
    Ok(())
}

/// Commits `files` (path, contents) on `branch` of the repository at `repo_path`, bare
/// or not, and returns the new commit id in hex.
///
/// # Guarantees
///
/// - The new commit's parent is the branch's current tip, and its tree is the tip's
///   tree with `files` added or replaced (as regular, non-executable files); every
///   other file is kept. A missing branch is created with a parentless commit.
/// - If the branch moves while the commit is being made, the commit fails instead of
///   overwriting it.
/// - If `HEAD` names a branch with no commits, it is pointed at `branch`, so the first
///   branch committed to becomes the default branch that clones and [`read_tree`] use.
///
/// # Caveats
///
/// The index and working tree of a non-bare repository are not touched, so committing
/// to its checked-out branch makes the working tree look out of date.
///
/// # Errors
///
/// Each path must be relative with forward slashes and must not contain empty, `.`,
/// `..` or `.git` components ([`GitError::InvalidPath`]).
pub fn commit_files(
    repo_path: &Path,
    branch: &str,
    files: &[(String, Vec<u8>)],
    message: &str,
    author_name: &str,
    author_email: &str,
) -> Result<String, GitError> {
    if let Some((path, _)) = files.iter().find(|(path, _)| !is_allowed_path(path)) {
        return Err(GitError::InvalidPath { path: path.clone() });
    }
    let branch_ref = format!("refs/heads/{branch}");
    if !git2::Reference::is_valid_name(&branch_ref) {
        return Err(GitError::InvalidBranch {
            branch: branch.to_owned(),
        });
    }
    let commit = || -> Result<Oid, git2::Error> {
        let repo = Repository::open(repo_path)?;
        let parent = match repo.find_reference(&branch_ref) {
            Ok(tip) => Some(tip.peel_to_commit()?),
            Err(err) if err.code() == ErrorCode::NotFound => None,
            Err(err) => return Err(err),
        };
        let baseline = match &parent {
            Some(parent) => parent.tree()?,
            None => repo.find_tree(repo.treebuilder(None)?.write()?)?,
        };
        let mut updates = TreeUpdateBuilder::new();
        for (path, contents) in files {
            updates.upsert(path.as_str(), repo.blob(contents)?, FileMode::Blob);
        }
        let tree = repo.find_tree(updates.create_updated(&repo, &baseline)?)?;
        let signature = Signature::now(author_name, author_email)?;
        let parents: Vec<_> = parent.iter().collect();
        let id = repo.commit(
            Some(&branch_ref),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )?;
        if let Err(err) = repo.head()
            && err.code() == ErrorCode::UnbornBranch
        {
            repo.set_head(&branch_ref)?;
        }
        Ok(id)
    };
    let id = commit().map_err(|err| GitError::Commit {
        path: repo_path.to_owned(),
        branch: branch.to_owned(),
        message: err.message().to_owned(),
    })?;
    tracing::debug!(repo = %repo_path.display(), branch, commit = %id, "committed files");
    Ok(id.to_string())
}

/// The commit at the tip of `branch` (id in hex) and its message, or `None` when the
/// repository has no such branch.
pub fn branch_tip(repo_path: &Path, branch: &str) -> Result<Option<(String, String)>, GitError> {
    let open_error = |err: git2::Error| GitError::Open {
        path: repo_path.to_owned(),
        message: err.message().to_owned(),
    };
    let repo = Repository::open(repo_path).map_err(open_error)?;
    let tip = match repo.find_reference(&format!("refs/heads/{branch}")) {
        Ok(reference) => reference.peel_to_commit().map_err(open_error)?,
        Err(err) if err.code() == ErrorCode::NotFound => return Ok(None),
        Err(err) => return Err(open_error(err)),
    };
    Ok(Some((
        tip.id().to_string(),
        tip.message().unwrap_or_default().to_owned(),
    )))
}

/// Pushes `branch` of the repository at `repo_path` to `url` (a local path or `file://`
/// URL; this build has no TLS), without force: a remote branch with other history refuses
/// it. `credentials` (user name, password or token) answer the remote's challenge, and are
/// never written anywhere.
pub fn push(
    repo_path: &Path,
    url: &str,
    branch: &str,
    credentials: Option<(&str, &str)>,
) -> Result<(), GitError> {
    let shown_url = redact_url(url);
    let push_error = |message: String| GitError::Push {
        url: shown_url.clone(),
        branch: branch.to_owned(),
        message,
    };
    let repo = Repository::open(repo_path).map_err(|err| push_error(err.message().to_owned()))?;
    // An anonymous remote: nothing about `url` is saved in the repository's config.
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(|err| push_error(err.message().to_owned()))?;
    let rejected = std::cell::RefCell::new(None::<String>);
    let mut callbacks = git2::RemoteCallbacks::new();
    callbacks.push_update_reference(|reference, status| {
        if let Some(status) = status {
            *rejected.borrow_mut() = Some(format!("`{reference}` was refused: {status}"));
        }
        Ok(())
    });
    if let Some((user, password)) = credentials {
        callbacks.credentials(move |_, _, _| git2::Cred::userpass_plaintext(user, password));
    }
    let mut options = git2::PushOptions::new();
    options.remote_callbacks(callbacks);
    let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
    remote
        .push(&[refspec.as_str()], Some(&mut options))
        .map_err(|err| push_error(err.message().to_owned()))?;
    drop(options);
    if let Some(reason) = rejected.into_inner() {
        return Err(push_error(reason));
    }
    Ok(())
}

/// Fetches every branch and tag of `url` into `mirror`, dropping the ones that are gone,
/// and returns the remote's default branch as a full ref name, if it has one.
fn fetch_mirror(
    mirror: &Repository,
    url: &str,
    credentials: Option<&Credentials>,
    keep_going: &dyn Fn(ReadStep) -> bool,
) -> Result<Option<String>, git2::Error> {
    // An anonymous remote keeps `url`, and any credentials in it, out of the mirror's
    // config.
    let mut remote = mirror.remote_anonymous(url)?;
    let mut callbacks = git2::RemoteCallbacks::new();
    // Returning false aborts the transfer.
    callbacks.transfer_progress(|_| keep_going(ReadStep::Fetching));
    callbacks.sideband_progress(|_| keep_going(ReadStep::Fetching));
    if let Some(credentials) = credentials {
        answer_once(&mut callbacks, credentials);
    }
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks)
        .prune(FetchPrune::On)
        .download_tags(AutotagOption::None)
        .update_fetchhead(false);
    remote.fetch(
        &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
        Some(&mut options),
        None,
    )?;
    match remote.default_branch() {
        Ok(branch) => Ok(branch.as_str().ok().map(str::to_owned)),
        Err(err) if err.code() == ErrorCode::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Makes `callbacks` answer one authentication challenge with `credentials`. libgit2 asks
/// again when a remote refuses them; a second answer would only repeat the refusal.
fn answer_once<'a>(callbacks: &mut git2::RemoteCallbacks<'a>, credentials: &'a Credentials) {
    let mut asked = false;
    callbacks.credentials(move |_, _, _| {
        if std::mem::replace(&mut asked, true) {
            return Err(git2::Error::from_str(
                "the remote refused the configured credentials",
            ));
        }
        git2::Cred::userpass_plaintext(&credentials.user, &credentials.password)
    });
}

/// Resolves a branch, tag, full ref name or commit id prefix to a commit.
fn resolve_commit<'repo>(
    repo: &'repo Repository,
    reference: &str,
    shown_url: &str,
) -> Result<git2::Commit<'repo>, GitError> {
    let is_id_prefix = reference.len() >= 4 && reference.bytes().all(|b| b.is_ascii_hexdigit());
    let object = match repo.resolve_reference_from_short_name(reference) {
        Ok(found) => found.peel(ObjectType::Any).ok(),
        Err(_) if is_id_prefix => repo.find_object_by_prefix(reference, None).ok(),
        Err(_) => None,
    }
    .ok_or_else(|| GitError::ReferenceNotFound {
        url: shown_url.to_owned(),
        reference: reference.to_owned(),
    })?;
    object.peel_to_commit().map_err(|_| GitError::NotACommit {
        url: shown_url.to_owned(),
        reference: reference.to_owned(),
    })
}

fn is_allowed_path(path: &str) -> bool {
    !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|part| !matches!(part, "" | "." | "..") && !part.eq_ignore_ascii_case(".git"))
}

/// Names the mirror directory with a 64-bit FNV-1a hash, which, unlike std's
/// `DefaultHasher`, is stable across Rust releases.
fn mirror_dir_name(url: &str) -> String {
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}.git")
}

/// Removes credentials from a libgit2 message, which may quote the URL it was given.
fn redact_message(message: &str, url: &str) -> String {
    message.replace(url, &redact_url(url))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    const AUTHOR: (&str, &str) = ("Paved Test", "paved@example.com");

    fn is_catalog_file(path: &str) -> bool {
        path.ends_with("catalog-info.yaml")
    }

    fn commit(repo: &Path, files: &[(&str, &str)]) -> String {
        let files: Vec<_> = files
            .iter()
            .map(|(path, contents)| (path.to_string(), contents.as_bytes().to_vec()))
            .collect();
        commit_files(repo, "main", &files, "test commit", AUTHOR.0, AUTHOR.1)
            .expect("test commit should succeed")
    }

    /// Adds entries that `commit_files` cannot write: a symlink and a submodule.
    fn commit_link_and_submodule(repo_path: &Path) {
        let repo = Repository::open(repo_path).expect("repo opens");
        let tip = repo
            .find_reference("refs/heads/main")
            .and_then(|tip| tip.peel_to_commit())
            .expect("main has a commit");
        let target = repo.blob(b"../svc/catalog-info.yaml").expect("blob");
        let tree_id = TreeUpdateBuilder::new()
            .upsert("links/catalog-info.yaml", target, FileMode::Link)
            .upsert("vendor/catalog-info.yaml", tip.id(), FileMode::Commit)
            .create_updated(&repo, &tip.tree().expect("tree"))
            .expect("tree with link");
        let tree = repo.find_tree(tree_id).expect("tree");
        let signature = Signature::now(AUTHOR.0, AUTHOR.1).expect("signature");
        repo.commit(
            Some("refs/heads/main"),
            &signature,
            &signature,
            "link",
            &tree,
            &[&tip],
        )
        .expect("link commit");
    }

    fn paths(snapshot: &TreeSnapshot) -> Vec<&str> {
        snapshot
            .files
            .iter()
            .map(|file| file.path.as_str())
            .collect()
    }

    fn git(args: &[&str]) -> String {
        let output = Command::new("git").args(args).output().expect("git runs");
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8(output.stdout).expect("git prints UTF-8")
    }

    #[test]
    fn read_tree_reads_included_files_and_skips_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("repos/app.git");
        let cache = dir.path().join("cache");
        init_bare(&repo).expect("init");
        commit(
            &repo,
            &[
                ("catalog-info.yaml", "root"),
                ("svc/b/catalog-info.yaml", "b"),
                ("svc/a/catalog-info.yaml", "a"),
                ("svc/a/README.md", "not included"),
                ("big/catalog-info.yaml", &"x".repeat(2000)),
            ],
        );
        commit_link_and_submodule(&repo);

        let url = repo.to_str().expect("UTF-8 path");
        let snapshot = read_tree(&cache, url, None, &is_catalog_file, 1000).expect("read");
        assert_eq!(
            paths(&snapshot),
            [
                "catalog-info.yaml",
                "svc/a/catalog-info.yaml",
                "svc/b/catalog-info.yaml"
            ]
        );
        assert_eq!(snapshot.files[1].contents, b"a");
        let skipped: Vec<_> = snapshot
            .skipped
            .iter()
            .map(|entry| (entry.path.as_str(), entry.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                (
                    "big/catalog-info.yaml",
                    "file is 2000 bytes, over the limit of 1000 bytes"
                ),
                ("links/catalog-info.yaml", "symbolic link"),
                ("vendor/catalog-info.yaml", "submodule"),
            ]
        );

        // A second read fetches into the existing mirror and sees the new commit.
        let second = commit(&repo, &[("svc/a/catalog-info.yaml", "a2")]);
        let file_url = format!("file://{url}");
        let snapshot = read_tree(&cache, url, Some("main"), &is_catalog_file, 1000).expect("read");
        assert_eq!(snapshot.commit, second);
        assert_eq!(snapshot.files[1].contents, b"a2");
        assert_eq!(std::fs::read_dir(&cache).expect("cache").count(), 1);

        // Commit ids, abbreviated ones and file:// URLs work too.
        let by_id = read_tree(
            &cache,
            &file_url,
            Some(&second[..10]),
            &is_catalog_file,
            1000,
        )
        .expect("read by id");
        assert_eq!(by_id.commit, second);
    }

    #[test]
    fn read_tree_reports_missing_references_and_failed_fetches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("app.git");
        init_bare(&repo).expect("init");
        commit(&repo, &[("catalog-info.yaml", "root")]);
        let url = repo.to_str().expect("UTF-8 path");
        let read = |url: &str, reference| {
            read_tree(dir.path(), url, reference, &is_catalog_file, 1000)
                .expect_err("read should fail")
                .to_string()
        };

        assert_eq!(
            read(url, Some("nope")),
            format!("reference `nope` not found in `{url}`")
        );
        let missing = dir.path().join("missing.git");
        let missing = missing.to_str().expect("UTF-8 path");
        assert_eq!(
            read(missing, None),
            format!("cannot fetch `{missing}`: no such file or directory")
        );
        assert_eq!(
            read("https://user:secret@example.invalid/app.git", None),
            "cannot fetch `https://example.invalid/app.git`: \
             `https://` URLs are not supported: libgit2 is built without TLS"
        );
    }

    #[test]
    fn git_cli_sees_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("app.git");
        init_bare(&repo).expect("init");
        let first = commit(&repo, &[("a.txt", "one")]);
        let second = commit(&repo, &[("dir/b.txt", "two")]);

        let clone = dir.path().join("clone");
        let (repo, clone) = (
            repo.to_str().expect("UTF-8"),
            clone.to_str().expect("UTF-8"),
        );
        git(&["clone", "--quiet", repo, clone]);
        assert_eq!(
            git(&["-C", clone, "log", "--format=%H %an <%ae> %s"]),
            format!(
                "{second} Paved Test <paved@example.com> test commit\n\
                 {first} Paved Test <paved@example.com> test commit\n"
            )
        );
        assert_eq!(git(&["-C", clone, "branch", "--show-current"]), "main\n");
        let contents = std::fs::read_to_string(Path::new(clone).join("dir/b.txt"));
        assert_eq!(contents.expect("file checked out"), "two");
    }

    #[test]
    fn commit_files_rejects_paths_outside_the_repository() {
        let dir = tempfile::tempdir().expect("tempdir");
        init_bare(dir.path()).expect("init");
        for path in ["../x", "/abs", "a//b", "a/./b", ".git/config", "a\\b", "a/"] {
            let files = [(path.to_owned(), Vec::new())];
            let err = commit_files(dir.path(), "main", &files, "m", AUTHOR.0, AUTHOR.1)
                .expect_err("path should be rejected");
            assert_eq!(
                err.to_string(),
                format!(
                    "path `{path}` is not allowed: \
                     paths must be relative and stay inside the repository"
                )
            );
        }
    }

    #[test]
    fn redact_url_removes_credentials() {
        let cases = [
            ("https://user:pw@host/x.git", "https://host/x.git"),
            ("https://token@host/a@b", "https://host/a@b"),
            ("https://host/x.git", "https://host/x.git"),
            ("/srv/repos/x.git", "/srv/repos/x.git"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected, "{url}");
        }
    }
}

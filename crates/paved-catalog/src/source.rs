//! Location targets and how to read them: local files and directory globs, and git
//! repositories (a local path or URL, read through `paved-git`).
//!
//! Every read stays inside its location's root: a file reached through a symlink that points
//! outside the registered directory is refused, and so is a relative target that climbs out.

use std::path::{Component, Path, PathBuf};

use paved_model::problem::Problem;
use paved_model::yaml::MAX_FILE_BYTES;

use crate::budget::{ReadBudget, ReadLimits, ReadStop};

/// A location target, validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationTarget {
    /// A file or a glob of files. `root` is the directory no file may leave: the file's own
    /// directory, or the glob's longest directory prefix without wildcards.
    File { pattern: PathBuf, root: PathBuf },
    /// Files in a git repository matching `path` (a glob) at `reference` (the default branch
    /// when None).
    Git {
        repository: String,
        reference: Option<String>,
        path: String,
    },
    /// One file over HTTPS: a blob URL of a git hosting service, or any URL of a host
    /// allowed to be read (see [`crate::url`]).
    Url { url: String },
}

/// The glob used for a git repository without `path=`.
pub const DEFAULT_GIT_PATH: &str = "**/catalog-info.yaml";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("unknown location type `{location_type}`: accepted types are `file`, `git` and `url`")]
    UnknownType { location_type: String },
    #[error("location target is empty")]
    Empty,
    #[error(
        "url target `{target}` is not an HTTPS URL: expected `https://HOST/PATH`, such as `https://HOST/OWNER/REPO/blob/REF/PATH`"
    )]
    UnsupportedUrl { target: String },
    #[error("invalid git target `{target}`: {reason}")]
    InvalidGit { target: String, reason: String },
    #[error("invalid glob `{pattern}`: {reason}")]
    InvalidGlob { pattern: String, reason: String },
}

impl LocationTarget {
    /// Parses a location as registered through the API (`type` and `target`). Relative file
    /// paths are taken from `base` (the server's working directory).
    ///
    /// Git targets are `REPOSITORY[#ref=REF][&path=GLOB]`, for example
    /// `/srv/git/shop.git#ref=main&path=services/**/catalog-info.yaml`.
    pub fn parse(
        location_type: &str,
        target: &str,
        base: &Path,
    ) -> Result<LocationTarget, TargetError> {
        let target = target.trim();
        if target.is_empty() {
            return Err(TargetError::Empty);
        }
        match location_type {
            "file" => {
                let path = target.strip_prefix("file://").unwrap_or(target);
                file_target(&normalize(&base.join(path)))
            }
            "git" => git_target(target),
            "url" => url_target(target),
            other => Err(TargetError::UnknownType {
                location_type: other.to_owned(),
            }),
        }
    }

    /// The canonical `target` string stored for this location.
    pub fn canonical_target(&self) -> String {
        match self {
            LocationTarget::File { pattern, .. } => pattern.display().to_string(),
            LocationTarget::Git {
                repository,
                reference,
                path,
            } => {
                let mut target = repository.clone();
                let mut parts = Vec::new();
                if let Some(reference) = reference {
                    parts.push(format!("ref={reference}"));
                }
                if path != DEFAULT_GIT_PATH {
                    parts.push(format!("path={path}"));
                }
                if !parts.is_empty() {
                    target.push('#');
                    target.push_str(&parts.join("&"));
                }
                target
            }
            LocationTarget::Url { url } => url.clone(),
        }
    }

    /// The type stored for this location.
    pub fn location_type(&self) -> &'static str {
        match self {
            LocationTarget::File { .. } => "file",
            LocationTarget::Git { .. } => "git",
            LocationTarget::Url { .. } => "url",
        }
    }
}

fn has_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

fn file_target(pattern: &Path) -> Result<LocationTarget, TargetError> {
    let text = pattern.display().to_string();
    let root = if has_glob(&text) {
        glob::Pattern::new(&text).map_err(|error| TargetError::InvalidGlob {
            pattern: text.clone(),
            reason: error.msg.to_owned(),
        })?;
        let mut root = PathBuf::new();
        for component in pattern.components() {
            if has_glob(&component.as_os_str().to_string_lossy()) {
                break;
            }
            root.push(component);
        }
        root
    } else {
        pattern
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("/"))
    };
    Ok(LocationTarget::File {
        pattern: pattern.to_owned(),
        root,
    })
}

fn git_target(target: &str) -> Result<LocationTarget, TargetError> {
    let (repository, options) = match target.split_once('#') {
        Some((repository, options)) => (repository, options),
        None => (target, ""),
    };
    let invalid = |reason: String| TargetError::InvalidGit {
        target: target.to_owned(),
        reason,
    };
    let mut reference = None;
    let mut path = DEFAULT_GIT_PATH.to_owned();
    for option in options.split('&').filter(|option| !option.is_empty()) {
        match option.split_once('=') {
            Some(("ref", value)) if !value.is_empty() => reference = Some(value.to_owned()),
            Some(("path", value)) if !value.is_empty() => {
                glob::Pattern::new(value).map_err(|error| {
                    invalid(format!("`path` is not a valid glob: {}", error.msg))
                })?;
                if value.starts_with('/') || value.split('/').any(|part| part == "..") {
                    return Err(invalid(
                        "`path` must be relative and stay inside the repository".to_owned(),
                    ));
                }
                path = value.to_owned();
            }
            _ => {
                return Err(invalid(format!(
                    "unknown option `{option}`: expected `ref=REF` or `path=GLOB`"
                )));
            }
        }
    }
    if repository.is_empty() {
        return Err(invalid("the repository is empty".to_owned()));
    }
    Ok(LocationTarget::Git {
        repository: repository.to_owned(),
        reference,
        path,
    })
}

/// A `url` target: one file read over HTTPS, or, when its path holds a glob, the matching
/// files of the git repository it names (`https://HOST/OWNER/REPO/blob/REF/GLOB`), read
/// through git as Backstage's `search` reads them.
fn url_target(target: &str) -> Result<LocationTarget, TargetError> {
    let unsupported = || TargetError::UnsupportedUrl {
        target: target.to_owned(),
    };
    let rest = target.strip_prefix("https://").ok_or_else(unsupported)?;
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    if rest.is_empty() || rest.starts_with('/') {
        return Err(unsupported());
    }
    // A tree URL names a directory: its catalog files are read through git, as a glob is.
    if !has_glob(path) && !path.split('/').any(|part| part == "tree") {
        return Ok(LocationTarget::Url {
            url: target.to_owned(),
        });
    }
    let scheme = &target[..target.len() - rest.len()];
    let parts: Vec<&str> = rest.split('/').collect();
    let marker = parts
        .iter()
        .position(|part| *part == "blob" || *part == "tree")
        .ok_or_else(unsupported)?;
    let repository_parts: Vec<&str> = parts[..marker]
        .iter()
        .copied()
        .filter(|part| *part != "-")
        .collect();
    if repository_parts.len() < 3 || parts.len() < marker + 2 {
        return Err(unsupported());
    }
    let reference = parts[marker + 1].to_owned();
    let file_path = parts[marker + 2..].join("/");
    let path = if parts[marker] == "tree" || file_path.is_empty() {
        if file_path.is_empty() {
            DEFAULT_GIT_PATH.to_owned()
        } else {
            format!("{file_path}/{DEFAULT_GIT_PATH}")
        }
    } else {
        file_path
    };
    Ok(LocationTarget::Git {
        repository: format!(
            "{scheme}{}.git",
            repository_parts.join("/").trim_end_matches(".git")
        ),
        reference: Some(reference),
        path,
    })
}

/// Removes `.` and `..` components without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normalized.pop();
            }
            Component::CurDir => {}
            other => normalized.push(other),
        }
    }
    normalized
}

/// A catalog file read from a location.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// How the file is named in problems and annotations: an absolute path, or
    /// `REPOSITORY#PATH` inside a git repository.
    pub name: String,
    pub text: String,
    /// Where relative targets of Location entities in this file resolve.
    pub origin: FileOrigin,
}

#[derive(Debug, Clone)]
pub enum FileOrigin {
    Local {
        path: PathBuf,
        root: PathBuf,
    },
    Git {
        repository: String,
        path: String,
    },
    /// Read over HTTPS; relative targets resolve against this URL.
    Url {
        url: String,
    },
}

/// What every file of one read shares: its budget, the paths no read may enter, and how
/// to read URLs.
#[derive(Debug)]
pub struct ReadContext {
    pub budget: ReadBudget,
    /// Paved's own files (its data directory), canonical: never read, whatever the target.
    pub private_paths: Vec<PathBuf>,
    /// How URLs are read, and the runtime their requests run on (reads run on blocking
    /// threads); None where URLs are not read (`paved catalog validate` is offline).
    pub urls: Option<(crate::url::UrlReader, tokio::runtime::Handle)>,
}

impl ReadContext {
    /// A read with `limits` and no private paths, cancelled by nothing: for tools such as
    /// `paved catalog validate` that read the user's own files.
    pub fn standalone(limits: ReadLimits) -> ReadContext {
        ReadContext {
            budget: ReadBudget::new(limits, Vec::new()),
            private_paths: Vec::new(),
            urls: None,
        }
    }

    /// Resolves `target` against the URL `base` as Backstage does (see
    /// [`crate::url::UrlReader::resolve`]).
    pub fn resolve_url(&self, target: &str, base: &str) -> Result<String, String> {
        match &self.urls {
            Some((reader, _)) => reader.resolve(target, base),
            None => Err("URLs are not read here: this check reads local files only".to_owned()),
        }
    }

    /// Reads one URL as a catalog file.
    pub fn read_url(&self, url: &str) -> Result<SourceFile, Problem> {
        let Some((reader, runtime)) = &self.urls else {
            return Err(Problem {
                file: Some(url.to_owned()),
                ..Problem::whole(
                    crate::url::URL_RULE,
                    "URLs are not read here: this check reads local files only",
                )
            });
        };
        let fetched = reader.read_blocking(runtime, url, &self.budget)?;
        Ok(SourceFile {
            name: url.to_owned(),
            text: fetched.text.to_string(),
            origin: FileOrigin::Url {
                url: url.to_owned(),
            },
        })
    }

    /// The private path (or kernel file system) that `canonical` is inside, if any.
    fn private_path_of<'a>(&'a self, canonical: &Path) -> Option<&'a Path> {
        self.private_paths
            .iter()
            .map(PathBuf::as_path)
            .chain(KERNEL_FILE_SYSTEMS.iter().map(Path::new))
            .find(|private| canonical.starts_with(private))
    }
}

/// Canonical forms of `paths` (those that exist; a path that does not exist yet holds no
/// file to protect, and is kept as given).
pub fn canonical_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .iter()
        .map(|path| path.canonicalize().unwrap_or_else(|_| path.clone()))
        .collect()
}

/// The rule of a file refused because Paved owns it, or the kernel serves it.
pub const PRIVATE_PATH_RULE: &str = "private-path";

/// Kernel file systems: they hold no catalog files, and their regular files can be
/// endless, block, or hold the process's own secrets (`/proc/self/environ`).
const KERNEL_FILE_SYSTEMS: &[&str] = &["/proc", "/sys", "/dev"];

fn private_path_problem(private: &Path) -> Problem {
    let whose = if KERNEL_FILE_SYSTEMS
        .iter()
        .any(|kernel| private == Path::new(kernel))
    {
        "a kernel file system"
    } else {
        "Paved's own data"
    };
    Problem::whole(
        PRIVATE_PATH_RULE,
        format!(
            "`{}` is {whose}; locations may not read it",
            private.display()
        ),
    )
}

/// Reads the files of a local file or glob target. `fatal` is set when the target itself
/// cannot be read (so nothing it produced before should be treated as removed).
///
/// Globs walk the directory tree themselves: directory symlinks are never followed (a
/// symlink loop cannot make a read endless, and no directory is read twice), directories
/// that are Paved's own data are skipped with a problem, and every entry counts against the
/// read's budget. A symlink to a file is read when it resolves inside the root.
pub fn read_local(
    pattern: &Path,
    root: &Path,
    context: &ReadContext,
    problems: &mut Vec<Problem>,
) -> (Vec<SourceFile>, bool) {
    let text = pattern.display().to_string();
    let canonical_root = match root.canonicalize() {
        Ok(root) => root,
        Err(error) => {
            problems.push(Problem::whole(
                "unreadable",
                format!("directory `{}` cannot be read: {error}", root.display()),
            ));
            return (Vec::new(), true);
        }
    };
    let paths: Vec<PathBuf> = if has_glob(&text) {
        if let Some(private) = context.private_path_of(&canonical_root) {
            problems.push(private_path_problem(private));
            return (Vec::new(), true);
        }
        match glob::Pattern::new(&text) {
            Ok(glob_pattern) => {
                match walk_glob(&glob_pattern, root, context, problems) {
                    Ok(paths) => paths,
                    // The budget keeps the reason; the caller reports it once.
                    Err(_) => return (Vec::new(), true),
                }
            }
            Err(error) => {
                problems.push(Problem::whole(
                    "glob",
                    format!("invalid glob `{text}`: {}", error.msg),
                ));
                return (Vec::new(), true);
            }
        }
    } else {
        vec![pattern.to_owned()]
    };
    let mut files = Vec::new();
    let mut fatal = false;
    for path in paths {
        match read_local_file(&path, &canonical_root, context) {
            Ok(text) => files.push(SourceFile {
                name: path.display().to_string(),
                text,
                origin: FileOrigin::Local {
                    path: path.clone(),
                    root: root.to_owned(),
                },
            }),
            Err(problem) => {
                // A single file that cannot be read is the whole target; one file of a
                // glob is not.
                fatal |= !has_glob(&text);
                problems.push(problem);
            }
        }
        if context.budget.stopped().is_some() {
            return (files, true);
        }
    }
    (files, fatal)
}

/// Options that give a glob's `*` the meaning it has in a shell: one path component.
const GLOB_OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// The paths under `root` that match `pattern` (an absolute path glob), sorted, without
/// directories. Directory symlinks are not followed; see [`read_local`].
fn walk_glob(
    pattern: &glob::Pattern,
    root: &Path,
    context: &ReadContext,
    problems: &mut Vec<Problem>,
) -> Result<Vec<PathBuf>, ReadStop> {
    let pattern_text = pattern.as_str();
    // Without `**`, nothing deeper than the pattern's own depth can match.
    let max_depth = if pattern_text.contains("**") {
        usize::MAX
    } else {
        Path::new(pattern_text).components().count()
    };
    let mut matched = Vec::new();
    let mut pending = vec![root.to_owned()];
    while let Some(directory) = pending.pop() {
        context.budget.visit()?;
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            // A directory that vanished or cannot be listed holds nothing to read; the
            // root itself was checked by the caller.
            Err(_) => continue,
        };
        for entry in entries {
            context.budget.visit()?;
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                if path.components().count() >= max_depth {
                    continue;
                }
                let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
                match context.private_path_of(&canonical) {
                    Some(private) => problems.push(private_path_problem(private)),
                    None => pending.push(path),
                }
                continue;
            }
            // A symlink to a directory is not followed; see the doc comment above.
            if file_type.is_symlink() && path.metadata().is_ok_and(|target| target.is_dir()) {
                continue;
            }
            if pattern.matches_path_with(&path, GLOB_OPTIONS) {
                matched.push(path);
            }
        }
    }
    matched.sort();
    Ok(matched)
}

/// Reads one file that must resolve (through any symlinks) inside `canonical_root`.
///
/// Only regular files are read: a device, FIFO, socket or directory is refused by name
/// before it is opened (a FIFO would block the reader). The file is opened without
/// blocking and checked again through its handle, then read through a cap of
/// [`MAX_FILE_BYTES`] whatever its metadata says (`/proc` files report a size of 0).
pub fn read_local_file(
    path: &Path,
    canonical_root: &Path,
    context: &ReadContext,
) -> Result<String, Problem> {
    let name = path.display().to_string();
    let with_file = |problem: Problem| Problem {
        file: Some(name.clone()),
        ..problem
    };
    let stopped = |stop: ReadStop| with_file(stop.problem(context.budget.limits()));
    context.budget.visit().map_err(stopped)?;
    let canonical = match path.canonicalize() {
        Ok(canonical) => canonical,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(with_file(Problem::whole(
                "not-found",
                "file does not exist (or is a broken symlink)",
            )));
        }
        Err(error) => {
            return Err(with_file(Problem::whole(
                "unreadable",
                format!("cannot read file: {error}"),
            )));
        }
    };
    let unreadable = |error: std::io::Error| {
        with_file(Problem::whole(
            "unreadable",
            format!("cannot read file: {error}"),
        ))
    };
    let metadata = std::fs::metadata(&canonical).map_err(unreadable)?;
    check_regular_file(&metadata.file_type()).map_err(with_file)?;
    if let Some(private) = context.private_path_of(&canonical) {
        return Err(with_file(private_path_problem(private)));
    }
    if !canonical.starts_with(canonical_root) {
        return Err(with_file(Problem::whole(
            "path-escape",
            format!(
                "file resolves to `{}`, outside the location's directory `{}`; symlinks may not leave it",
                canonical.display(),
                canonical_root.display()
            ),
        )));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        (rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOFOLLOW).bits() as i32,
    );
    let file = options.open(&canonical).map_err(unreadable)?;
    // The path may have been replaced between the check and the open.
    check_regular_file(&file.metadata().map_err(unreadable)?.file_type()).map_err(with_file)?;
    let bytes = read_capped(file, context).map_err(|error| match error {
        CappedReadError::Io(error) => unreadable(error),
        CappedReadError::TooLarge => with_file(file_size_problem()),
        CappedReadError::Stopped(stop) => stopped(stop),
    })?;
    String::from_utf8(bytes)
        .map_err(|_| with_file(Problem::whole("encoding", "file is not valid UTF-8")))
}

/// The problem of a file over [`MAX_FILE_BYTES`].
pub fn file_size_problem() -> Problem {
    Problem::whole(
        "file-size",
        format!(
            "file is larger than the limit of {MAX_FILE_BYTES} bytes (4 MiB) for a catalog file"
        ),
    )
}

/// Refuses anything but a regular file, naming what it is.
fn check_regular_file(file_type: &std::fs::FileType) -> Result<(), Problem> {
    use std::os::unix::fs::FileTypeExt as _;
    let what = if file_type.is_file() {
        return Ok(());
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(Problem::whole(
        NOT_A_FILE_RULE,
        format!("{what}, not a regular file; only regular files are read"),
    ))
}

/// The rule of a path that is not a regular file.
pub const NOT_A_FILE_RULE: &str = "not-a-file";

pub(crate) enum CappedReadError {
    Io(std::io::Error),
    TooLarge,
    Stopped(ReadStop),
}

/// Reads at most [`MAX_FILE_BYTES`] (and what the budget has left), in chunks so that the
/// budget's clock and cancellation are checked while reading.
pub(crate) fn read_capped(
    mut reader: impl std::io::Read,
    context: &ReadContext,
) -> Result<Vec<u8>, CappedReadError> {
    let mut bytes = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        context.budget.check().map_err(CappedReadError::Stopped)?;
        let read = match reader.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(CappedReadError::Io(error)),
        };
        context
            .budget
            .read_bytes(read as u64)
            .map_err(CappedReadError::Stopped)?;
        bytes.extend_from_slice(&chunk[..read]);
        if bytes.len() > MAX_FILE_BYTES {
            return Err(CappedReadError::TooLarge);
        }
    }
}

/// Reads the catalog files of a git target, and every other YAML file of the tree so that
/// Location entities inside the repository can point at them.
pub fn read_git(
    cache_dir: &Path,
    repository: &str,
    reference: Option<&str>,
    path: &str,
    context: &ReadContext,
    problems: &mut Vec<Problem>,
) -> (Vec<SourceFile>, Vec<SourceFile>, bool) {
    let pattern = match glob::Pattern::new(path) {
        Ok(pattern) => pattern,
        Err(error) => {
            problems.push(Problem::whole(
                "glob",
                format!("invalid glob `{path}`: {}", error.msg),
            ));
            return (Vec::new(), Vec::new(), true);
        }
    };
    // YAML files for Location targets, JSON too for placeholders.
    let include = |file: &str| {
        file.ends_with(".yaml")
            || file.ends_with(".yml")
            || file.ends_with(".json")
            || pattern.matches(file)
    };
    let keep_going = |step: paved_git::ReadStep| match step {
        paved_git::ReadStep::Fetching => context.budget.check().is_ok(),
        paved_git::ReadStep::Entry => context.budget.visit().is_ok(),
        paved_git::ReadStep::Blob(bytes) => context.budget.read_bytes(bytes).is_ok(),
    };
    let https = context
        .urls
        .as_ref()
        .map(|(reader, runtime)| reader.smart_http(runtime, &context.budget));
    let fetch = paved_git::Fetch {
        credentials: None,
        keep_going: &keep_going,
        https: https
            .as_ref()
            .map(|https| https as &dyn paved_git::SmartHttp),
    };
    let snapshot = match paved_git::read_tree_bounded(
        cache_dir,
        repository,
        reference,
        &include,
        MAX_FILE_BYTES as u64,
        &fetch,
    ) {
        Ok(snapshot) => snapshot,
        // The budget keeps the reason; the caller reports it once.
        Err(paved_git::GitError::Stopped { .. }) => return (Vec::new(), Vec::new(), true),
        Err(error) => {
            problems.push(Problem::whole("git", error.to_string()));
            return (Vec::new(), Vec::new(), true);
        }
    };
    for skipped in &snapshot.skipped {
        if pattern.matches(&skipped.path) {
            problems.push(Problem {
                file: Some(format!("{repository}#{}", skipped.path)),
                ..Problem::whole("skipped", skipped.reason.clone())
            });
        }
    }
    let mut entry_files = Vec::new();
    let mut other_files = Vec::new();
    for file in snapshot.files {
        let name = format!("{repository}#{}", file.path);
        let text = match String::from_utf8(file.contents) {
            Ok(text) => text,
            Err(_) => {
                if pattern.matches(&file.path) {
                    problems.push(Problem {
                        file: Some(name),
                        ..Problem::whole("encoding", "file is not valid UTF-8")
                    });
                }
                continue;
            }
        };
        let source = SourceFile {
            name,
            text,
            origin: FileOrigin::Git {
                repository: repository.to_owned(),
                path: file.path.clone(),
            },
        };
        if pattern.matches(&file.path) {
            entry_files.push(source);
        } else {
            other_files.push(source);
        }
    }
    (entry_files, other_files, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(location_type: &str, target: &str, expect: &str) {
        let actual = match LocationTarget::parse(location_type, target, Path::new("/work")) {
            Ok(parsed) => format!(
                "{} {} {parsed:?}",
                parsed.location_type(),
                parsed.canonical_target()
            ),
            Err(error) => error.to_string(),
        };
        assert_eq!(actual, expect);
    }

    #[test]
    fn parses_targets() {
        check(
            "file",
            "cat/../catalog-info.yaml",
            r#"file /work/catalog-info.yaml File { pattern: "/work/catalog-info.yaml", root: "/work" }"#,
        );
        check(
            "file",
            "/srv/repos/*/catalog-info.yaml",
            r#"file /srv/repos/*/catalog-info.yaml File { pattern: "/srv/repos/*/catalog-info.yaml", root: "/srv/repos" }"#,
        );
        check(
            "git",
            "/srv/shop.git#ref=main&path=svc/*.yaml",
            r#"git /srv/shop.git#ref=main&path=svc/*.yaml Git { repository: "/srv/shop.git", reference: Some("main"), path: "svc/*.yaml" }"#,
        );
        check(
            "git",
            "/srv/shop.git#path=../x",
            "invalid git target `/srv/shop.git#path=../x`: `path` must be relative and stay inside the repository",
        );
        check(
            "url",
            "https://github.com/acme/shop/blob/main/services/catalog-info.yaml",
            r#"url https://github.com/acme/shop/blob/main/services/catalog-info.yaml Url { url: "https://github.com/acme/shop/blob/main/services/catalog-info.yaml" }"#,
        );
        check(
            "url",
            "https://example.com/catalog-info.yaml",
            r#"url https://example.com/catalog-info.yaml Url { url: "https://example.com/catalog-info.yaml" }"#,
        );
        check(
            "url",
            "http://example.com/catalog-info.yaml",
            "url target `http://example.com/catalog-info.yaml` is not an HTTPS URL: expected `https://HOST/PATH`, such as `https://HOST/OWNER/REPO/blob/REF/PATH`",
        );
        check(
            "url",
            "https://github.com/acme/shop/blob/main/services/*/catalog-info.yaml",
            r#"git https://github.com/acme/shop.git#ref=main&path=services/*/catalog-info.yaml Git { repository: "https://github.com/acme/shop.git", reference: Some("main"), path: "services/*/catalog-info.yaml" }"#,
        );
        check(
            "s3",
            "x",
            "unknown location type `s3`: accepted types are `file`, `git` and `url`",
        );
    }

    #[test]
    fn globs_match_nested_and_root_files() {
        let pattern = glob::Pattern::new(DEFAULT_GIT_PATH).expect("valid glob");
        assert!(pattern.matches("a/b/catalog-info.yaml"));
        assert!(pattern.matches("catalog-info.yaml"));
        assert!(!pattern.matches("a/other.yaml"));
    }
}

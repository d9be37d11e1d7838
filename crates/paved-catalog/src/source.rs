//! Location targets and how to read them: local files and directory globs, and git
//! repositories (a local path or URL, read through `paved-git`).
//!
//! Every read stays inside its location's root: a file reached through a symlink that points
//! outside the registered directory is refused, and so is a relative target that climbs out.

use std::path::{Component, Path, PathBuf};

use paved_model::problem::Problem;
use paved_model::yaml::MAX_FILE_BYTES;

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
        "url target `{target}` is not a git repository file URL: expected `https://HOST/OWNER/REPO/blob/REF/PATH` (or `/tree/REF/PATH`); use type `git` for other repositories"
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
        }
    }

    /// The type stored for this location.
    pub fn location_type(&self) -> &'static str {
        match self {
            LocationTarget::File { .. } => "file",
            LocationTarget::Git { .. } => "git",
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

/// Reads `https://HOST/OWNER/REPO/blob/REF/PATH` (GitHub, GitLab `/-/blob/`, Gitea style) as a
/// git target, which is how Backstage's `url` locations usually point at catalog files.
fn url_target(target: &str) -> Result<LocationTarget, TargetError> {
    let unsupported = || TargetError::UnsupportedUrl {
        target: target.to_owned(),
    };
    let rest = target
        .strip_prefix("https://")
        .or_else(|| target.strip_prefix("http://"))
        .ok_or_else(unsupported)?;
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
    Local { path: PathBuf, root: PathBuf },
    Git { repository: String, path: String },
}

/// Reads the files of a local file or glob target. `fatal` is set when the target itself
/// cannot be read (so nothing it produced before should be treated as removed).
pub fn read_local(
    pattern: &Path,
    root: &Path,
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
        match glob::glob(&text) {
            Ok(paths) => paths
                .filter_map(Result::ok)
                .filter(|path| !path.is_dir())
                .collect(),
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
    if paths.is_empty() && !has_glob(&text) {
        problems.push(Problem::whole(
            "not-found",
            format!("file `{text}` does not exist"),
        ));
        return (Vec::new(), true);
    }
    let mut files = Vec::new();
    let mut fatal = false;
    for path in paths {
        match read_local_file(&path, &canonical_root) {
            Ok(text) => files.push(SourceFile {
                name: path.display().to_string(),
                text,
                origin: FileOrigin::Local {
                    path: path.clone(),
                    root: root.to_owned(),
                },
            }),
            Err(problem) => {
                fatal |= problem.rule == "not-found" && !has_glob(&text);
                problems.push(problem);
            }
        }
    }
    (files, fatal)
}

/// Reads one file that must resolve (through any symlinks) inside `canonical_root`.
pub fn read_local_file(path: &Path, canonical_root: &Path) -> Result<String, Problem> {
    let name = path.display().to_string();
    let with_file = |problem: Problem| Problem {
        file: Some(name.clone()),
        ..problem
    };
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
    let metadata = std::fs::metadata(&canonical).map_err(|error| {
        with_file(Problem::whole(
            "unreadable",
            format!("cannot read file: {error}"),
        ))
    })?;
    if metadata.len() > MAX_FILE_BYTES as u64 {
        return Err(with_file(Problem::whole(
            "file-size",
            format!(
                "file is {} bytes, over the limit of {MAX_FILE_BYTES} bytes (4 MiB) for a catalog file",
                metadata.len()
            ),
        )));
    }
    let bytes = std::fs::read(&canonical).map_err(|error| {
        with_file(Problem::whole(
            "unreadable",
            format!("cannot read file: {error}"),
        ))
    })?;
    String::from_utf8(bytes)
        .map_err(|_| with_file(Problem::whole("encoding", "file is not valid UTF-8")))
}

/// Reads the catalog files of a git target, and every other YAML file of the tree so that
/// Location entities inside the repository can point at them.
pub fn read_git(
    cache_dir: &Path,
    repository: &str,
    reference: Option<&str>,
    path: &str,
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
    let include =
        |file: &str| file.ends_with(".yaml") || file.ends_with(".yml") || pattern.matches(file);
    let snapshot = match paved_git::read_tree(
        cache_dir,
        repository,
        reference,
        &include,
        MAX_FILE_BYTES as u64,
    ) {
        Ok(snapshot) => snapshot,
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
            r#"git https://github.com/acme/shop.git#ref=main&path=services/catalog-info.yaml Git { repository: "https://github.com/acme/shop.git", reference: Some("main"), path: "services/catalog-info.yaml" }"#,
        );
        check(
            "url",
            "https://example.com/catalog-info.yaml",
            "url target `https://example.com/catalog-info.yaml` is not a git repository file URL: expected `https://HOST/OWNER/REPO/blob/REF/PATH` (or `/tree/REF/PATH`); use type `git` for other repositories",
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

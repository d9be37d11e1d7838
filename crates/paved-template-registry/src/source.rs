//! Reading a bundle's files from a directory, a `.tar.gz` archive or git, with limits.
//!
//! Every reader returns the same thing: [`BundleFile`]s with normalised relative paths, sorted
//! by path, within [`SourceLimits`]. Sizes are checked before a file is read and every read is
//! bounded, so an oversized file, a lying archive header or a gzip bomb costs no more memory
//! than the limits allow. Nothing is followed: symlinks, hard links and special files are
//! refused, naming the path.
//!
//! Start with [`read_dir`], [`read_tar_gz`] and [`read_git`]. [`digest`] identifies a bundle by
//! its content, whatever it was read from, and [`pack_tar_gz`] is the inverse of
//! [`read_tar_gz`].

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

/// One file of a bundle; its path is normalised by every reader here (see [`check_path`]).
pub use paved_template::bundle::BundleFile;

/// How much a bundle may hold. Every reader refuses a bundle over a limit, naming the file
/// that went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLimits {
    /// The size of one file.
    pub max_file_bytes: u64,
    /// The sum of the sizes of all files.
    pub max_total_bytes: u64,
    /// The number of files (directories are not counted).
    pub max_files: usize,
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

impl SourceLimits {
    /// The most a bundle archive may hold once decompressed: the files, plus an allowance
    /// of 4 KiB per file (tar headers, long names, padding) and 1 MiB for directories.
    pub fn max_decompressed_bytes(&self) -> u64 {
        self.max_total_bytes
            .saturating_add((self.max_files as u64).saturating_mul(4 * KIB))
            .saturating_add(MIB)
    }

    /// The largest `.tar.gz` of a bundle within the limits: gzip stores what it cannot
    /// compress in blocks of 64 KiB with a few bytes each of framing, so an archive is at
    /// most a thousandth (and a header) larger than what it holds.
    pub fn max_archive_bytes(&self) -> u64 {
        let decompressed = self.max_decompressed_bytes();
        decompressed
            .saturating_add(decompressed / 1000)
            .saturating_add(KIB)
    }
}

impl Default for SourceLimits {
    /// 4 MiB per file, 32 MiB per bundle, 2000 files.
    fn default() -> SourceLimits {
        SourceLimits {
            max_file_bytes: 4 * MIB,
            max_total_bytes: 32 * MIB,
            max_files: 2000,
        }
    }
}

/// What the path rules accept, appended to every path error.
const PATH_RULES: &str = "a bundle path must be relative and `/`-separated, without empty, \
                          `.` or `..` components, backslashes or NUL bytes";

/// Everything that can go wrong while reading or packing a bundle.
///
/// Paths in messages are bundle paths, except for git sources, whose messages give the
/// repository path of the file. Messages never show a git repository's URL.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("`{path}` is not a valid bundle path: {rule}; {}", PATH_RULES)]
    InvalidPath { path: String, rule: PathRule },
    #[error("`{path}` is a {kind}: a bundle may only contain regular files and directories")]
    UnsupportedEntry { path: String, kind: EntryKind },
    #[error("`{path}` is {size} bytes; a bundle file may be at most {}", Bytes(*limit))]
    FileTooLarge { path: String, size: u64, limit: u64 },
    #[error("the bundle has more than {limit} files; a bundle may have at most {limit} files")]
    TooManyFiles { limit: usize },
    #[error(
        "`{path}` takes the bundle over its size limit: a bundle's files may add up to at most {}",
        Bytes(*limit)
    )]
    BundleTooLarge { path: String, limit: u64 },
    #[error("the archive is not gzip-compressed: expected a `.tar.gz` file, as made by `tar czf`")]
    NotGzip,
    #[error(
        "the archive decompresses to more than {}: a bundle's files may add up to at most {}, plus tar headers",
        Bytes(*decompressed_limit),
        Bytes(*total_limit)
    )]
    ArchiveTooLarge {
        decompressed_limit: u64,
        total_limit: u64,
    },
    #[error("cannot read the archive: {source}")]
    Archive { source: io::Error },
    #[error("cannot read the archive at entry `{path}`: {source}")]
    ArchiveEntry { path: String, source: io::Error },
    #[error("`{path}` appears more than once in the archive")]
    DuplicatePath { path: String },
    #[error("`{path}` is both a file and a directory in the archive")]
    FileAndDirectory { path: String },
    #[error("cannot pack `{path}`: {source}")]
    Pack { path: String, source: io::Error },
    #[error("invalid git source `{target}`: {reason}")]
    InvalidGitSource { target: String, reason: String },
    #[error(transparent)]
    Git(#[from] paved_git::GitError),
    #[error(
        "`{path}` at commit `{commit}`: {reason}; a bundle may only contain regular files of at most {}",
        Bytes(*limit)
    )]
    GitEntry {
        commit: String,
        path: String,
        /// Why `paved-git` did not read it: a symbolic link, a submodule, a file over the limit.
        reason: String,
        limit: u64,
    },
    #[error("there are no files {} at commit `{commit}`", under(path.as_deref()))]
    NoGitFiles {
        commit: String,
        path: Option<String>,
    },
}

/// Why a path is not a valid bundle path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRule {
    Empty,
    Absolute,
    EmptyComponent,
    CurrentDirectory,
    ParentDirectory,
    Backslash,
    Nul,
    NotUtf8,
}

impl fmt::Display for PathRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathRule::Empty => "it is empty",
            PathRule::Absolute => "it is absolute",
            PathRule::EmptyComponent => "it has an empty component",
            PathRule::CurrentDirectory => "it has a `.` component",
            PathRule::ParentDirectory => "it has a `..` component",
            PathRule::Backslash => "it contains a backslash",
            PathRule::Nul => "it contains a NUL byte",
            PathRule::NotUtf8 => "it is not valid UTF-8",
        })
    }
}

/// What a refused directory or archive entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    SymbolicLink,
    HardLink,
    CharacterDevice,
    BlockDevice,
    NamedPipe,
    Socket,
    SparseFile,
    /// Any other archive entry type or file type.
    Other,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::SymbolicLink => "symbolic link",
            EntryKind::HardLink => "hard link",
            EntryKind::CharacterDevice => "character device",
            EntryKind::BlockDevice => "block device",
            EntryKind::NamedPipe => "named pipe",
            EntryKind::Socket => "socket",
            EntryKind::SparseFile => "sparse file",
            EntryKind::Other => "special file",
        })
    }
}

/// Checks that `path` is a normalised relative bundle path.
pub fn check_path(path: &str) -> Result<(), PathRule> {
    if path.is_empty() {
        return Err(PathRule::Empty);
    }
    if path.starts_with('/') {
        return Err(PathRule::Absolute);
    }
    if path.contains('\\') {
        return Err(PathRule::Backslash);
    }
    if path.contains('\0') {
        return Err(PathRule::Nul);
    }
    for component in path.split('/') {
        match component {
            "" => return Err(PathRule::EmptyComponent),
            "." => return Err(PathRule::CurrentDirectory),
            ".." => return Err(PathRule::ParentDirectory),
            _ => {}
        }
    }
    Ok(())
}

/// Reads every regular file under `root`, recursively, sorted by path.
///
/// # Guarantees
///
/// - Symlinks (to files or directories) and special files are refused, naming their path;
///   a `.git` directory is skipped, and nothing else is.
/// - A file's size is checked against the limits before it is read, and the read itself
///   stops one byte past `max_file_bytes`, so a file growing meanwhile is refused too.
///
/// # Errors
///
/// File and directory names must be valid UTF-8 and valid bundle paths (no backslash).
pub fn read_dir(root: &Path, limits: &SourceLimits) -> Result<Vec<BundleFile>, SourceError> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| SourceError::Io { path, source }
    };
    let mut budget = Budget::new(limits);
    let mut files = Vec::new();
    let mut pending = vec![(root.to_owned(), String::new())];
    while let Some((directory, prefix)) = pending.pop() {
        let mut entries = std::fs::read_dir(&directory)
            .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
            .map_err(io_error(&directory))?;
        // Sorted so that, of several problems, the same one is reported every time.
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let name = entry.file_name().into_string().map_err(|name| {
                let path = format!("{prefix}{}", name.to_string_lossy());
                SourceError::InvalidPath {
                    path,
                    rule: PathRule::NotUtf8,
                }
            })?;
            let path = format!("{prefix}{name}");
            check_path(&path).map_err(|rule| SourceError::InvalidPath {
                path: path.clone(),
                rule,
            })?;
            let full_path = entry.path();
            // `DirEntry::file_type` does not follow symlinks.
            let file_type = entry.file_type().map_err(io_error(&full_path))?;
            if file_type.is_dir() {
                if name != ".git" {
                    pending.push((full_path, format!("{path}/")));
                }
            } else if file_type.is_file() {
                let size = entry.metadata().map_err(io_error(&full_path))?.len();
                budget.admit(&path, size)?;
                let file = std::fs::File::open(&full_path).map_err(io_error(&full_path))?;
                let bytes = read_bounded(file, size, limits.max_file_bytes)
                    .map_err(io_error(&full_path))?;
                check_read_size(&path, &bytes, limits)?;
                files.push(BundleFile { path, bytes });
            } else {
                return Err(SourceError::UnsupportedEntry {
                    path,
                    kind: file_kind(file_type),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Reads a gzip-compressed tar archive held in memory, sorted by path.
///
/// # Guarantees
///
/// - Only regular files and directories are accepted; symlinks, hard links, devices, pipes
///   and sparse files are refused, naming the entry. A pax global header (which
///   `git archive` writes) is ignored.
/// - Entry paths are checked with [`check_path`] after removing a leading `./` (which
///   `tar czf x.tar.gz .` writes) and, for directories, a trailing `/`; a refused path is
///   named as it is written in the archive.
/// - Sizes are checked from the entry's header before its data is read, and the read is
///   bounded as well. The whole decompressed stream, headers included, is bounded by
///   `max_total_bytes` plus an allowance of 4 KiB per file and 1 MiB for directories, so
///   neither a lying header nor a gzip bomb allocates more than the limits.
/// - If every file lies under one single top-level directory, that directory is removed
///   from the paths: `tar czf x.tar.gz web-service/` is the common way to pack a bundle,
///   and a bundle never has only one top-level directory.
///
/// # Errors
///
/// Two entries with the same path, or a path that is both a file and a directory, are
/// refused.
pub fn read_tar_gz(archive: &[u8], limits: &SourceLimits) -> Result<Vec<BundleFile>, SourceError> {
    if !archive.starts_with(&[0x1f, 0x8b]) {
        return Err(SourceError::NotGzip);
    }
    let decompressed_limit = limits.max_decompressed_bytes();
    let mut decompressed = BoundedReader {
        inner: MultiGzDecoder::new(archive),
        remaining: decompressed_limit,
        exceeded: false,
    };
    let entries = read_tar_entries(&mut decompressed, limits);
    if decompressed.exceeded {
        return Err(SourceError::ArchiveTooLarge {
            decompressed_limit,
            total_limit: limits.max_total_bytes,
        });
    }
    let mut files = entries?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    check_unique_paths(&files)?;
    strip_single_top_level_directory(&mut files);
    Ok(files)
}

/// Packs files into a deterministic `.tar.gz`: the same files give the same bytes, whatever
/// their order.
///
/// Entries are regular files, sorted by path, with mode 0644, mtime 0, uid and gid 0 and no
/// user or group names; paths over 100 bytes use GNU long names. The gzip header has mtime 0
/// and an unknown operating system.
///
/// # Caveats
///
/// [`read_tar_gz`] reads the archive back as the same files unless they all lie under one
/// single top-level directory, which it strips. A bundle always has a file at its top (its
/// manifest) or two top-level folders (Proton's `schema/` and an infrastructure folder), so
/// this does not happen to one.
///
/// # Errors
///
/// Every path must pass [`check_path`] and appear once.
pub fn pack_tar_gz(files: &[BundleFile]) -> Result<Vec<u8>, SourceError> {
    let mut sorted: Vec<&BundleFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for file in &sorted {
        check_path(&file.path).map_err(|rule| SourceError::InvalidPath {
            path: file.path.clone(),
            rule,
        })?;
    }
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0].path == pair[1].path) {
        return Err(SourceError::DuplicatePath {
            path: pair[0].path.clone(),
        });
    }
    let encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for file in sorted {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(file.bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        builder
            .append_data(&mut header, &file.path, file.bytes.as_slice())
            .map_err(|source| SourceError::Pack {
                path: file.path.clone(),
                source,
            })?;
    }
    let encoder = builder
        .into_inner()
        .expect("writing a tar archive to memory cannot fail");
    Ok(encoder
        .finish()
        .expect("writing a gzip stream to memory cannot fail"))
}

/// A URL without its `user:password@` part, for what is stored, shown or audited.
pub use paved_git::redact_url;

/// A git source, `REPOSITORY[#ref=REF][&path=DIR]`: the files under `DIR` (the whole tree
/// without it) at `REF` (the default branch without it).
///
/// `REPOSITORY` is a local path or a `file://` or `http://` URL (anything
/// `paved_git::read_tree` accepts). The syntax is the one catalog locations use for git
/// targets, except that `path` is a directory, not a glob.
///
/// Credentials written into the URL (`http://user:password@host/...`) are taken out at
/// parse: `repository` and the display never hold them, so nothing stored or shown can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// A local path or URL, as given but without credentials.
    pub repository: String,
    /// A branch, tag, full ref name or commit id.
    pub reference: Option<String>,
    /// A directory of the repository, checked with [`check_path`], without a trailing `/`.
    pub path: Option<String>,
    /// What answers the remote's challenge: the URL's own credentials, or the configured
    /// ones of its host ([`crate::Registry::authenticate`]).
    pub credentials: Option<paved_git::Credentials>,
}

impl GitSource {
    /// Parses `REPOSITORY[#ref=REF][&path=DIR]`, for example
    /// `/srv/git/templates.git#ref=v2&path=web-service`. Surrounding whitespace and a
    /// trailing `/` on `DIR` are removed.
    ///
    /// # Errors
    ///
    /// An empty repository, an unknown, empty or repeated option, or a `DIR` that is not a
    /// relative path inside the repository.
    pub fn parse(target: &str) -> Result<GitSource, SourceError> {
        let target = target.trim();
        let invalid = |reason: String| SourceError::InvalidGitSource {
            target: paved_git::redact_url(target),
            reason,
        };
        let (repository, options) = target.split_once('#').unwrap_or((target, ""));
        if repository.is_empty() {
            return Err(invalid("the repository is empty".to_owned()));
        }
        let mut source = GitSource {
            repository: paved_git::redact_url(repository),
            reference: None,
            path: None,
            credentials: paved_git::url_credentials(repository),
        };
        for option in options.split('&').filter(|option| !option.is_empty()) {
            let (name, value) = option.split_once('=').unwrap_or((option, ""));
            let (slot, value) = match name {
                "ref" => (&mut source.reference, value),
                "path" => (&mut source.path, value.trim_end_matches('/')),
                _ => {
                    return Err(invalid(format!(
                        "unknown option `{option}`: expected `ref=REF` or `path=DIR`"
                    )));
                }
            };
            if value.is_empty() {
                return Err(invalid(format!("`{name}` is empty")));
            }
            if slot.is_some() {
                return Err(invalid(format!("`{name}` is given twice")));
            }
            *slot = Some(value.to_owned());
        }
        if let Some(path) = &source.path
            && let Err(rule) = check_path(path)
        {
            return Err(invalid(format!(
                "`path` `{path}` is not a directory inside the repository: {rule}; {PATH_RULES}"
            )));
        }
        Ok(source)
    }
}

impl fmt::Display for GitSource {
    /// The target syntax [`GitSource::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository)?;
        let mut separator = '#';
        if let Some(reference) = &self.reference {
            write!(f, "{separator}ref={reference}")?;
            separator = '&';
        }
        if let Some(path) = &self.path {
            write!(f, "{separator}path={path}")?;
        }
        Ok(())
    }
}

/// Reads the files of a git source with a mirror under `cache_dir` (see
/// `paved_git::read_tree`), and returns the commit read and the files, with the source's
/// directory removed from their paths, sorted by path.
///
/// # Guarantees
///
/// - Blobs over `max_file_bytes` are never loaded, and reading stops accepting files once
///   there are more than `max_files`.
///
/// # Caveats
///
/// `max_total_bytes` is checked after the files are read: `paved_git::read_tree` reads
/// every accepted blob.
///
/// # Errors
///
/// Symlinks, submodules and oversized blobs under the directory are refused, naming their
/// repository path, as is a directory with no files. Paths that are not valid bundle paths
/// (git allows backslashes) are refused.
pub fn read_git(
    cache_dir: &Path,
    source: &GitSource,
    limits: &SourceLimits,
) -> Result<(String, Vec<BundleFile>), SourceError> {
    read_git_over(cache_dir, source, limits, None)
}

/// [`read_git`], fetching `https://` repositories over `https` (git's smart HTTP protocol
/// on the catalog's HTTPS client: its hosts, credentials and bounds).
pub fn read_git_over(
    cache_dir: &Path,
    source: &GitSource,
    limits: &SourceLimits,
    https: Option<&dyn paved_git::SmartHttp>,
) -> Result<(String, Vec<BundleFile>), SourceError> {
    let prefix = source.path.as_ref().map(|path| format!("{path}/"));
    let included = Cell::new(0_usize);
    let include = |path: &str| {
        if prefix
            .as_ref()
            .is_some_and(|prefix| !path.starts_with(prefix.as_str()))
        {
            return false;
        }
        included.set(included.get() + 1);
        included.get() <= limits.max_files
    };
    let fetch = paved_git::Fetch {
        credentials: source.credentials.as_ref(),
        keep_going: &|_| true,
        https,
    };
    let snapshot = paved_git::read_tree_bounded(
        cache_dir,
        &source.repository,
        source.reference.as_deref(),
        &include,
        limits.max_file_bytes,
        &fetch,
    )?;
    if included.get() > limits.max_files {
        return Err(SourceError::TooManyFiles {
            limit: limits.max_files,
        });
    }
    if let Some(skipped) = snapshot.skipped.into_iter().next() {
        return Err(SourceError::GitEntry {
            commit: snapshot.commit,
            path: skipped.path,
            reason: skipped.reason,
            limit: limits.max_file_bytes,
        });
    }
    if snapshot.files.is_empty() {
        return Err(SourceError::NoGitFiles {
            commit: snapshot.commit,
            path: source.path.clone(),
        });
    }
    let mut budget = Budget::new(limits);
    let mut files = Vec::with_capacity(snapshot.files.len());
    for file in snapshot.files {
        check_path(&file.path).map_err(|rule| SourceError::InvalidPath {
            path: file.path.clone(),
            rule,
        })?;
        budget.admit(&file.path, file.contents.len() as u64)?;
        let path = match &prefix {
            Some(prefix) => file.path[prefix.len()..].to_owned(),
            None => file.path,
        };
        files.push(BundleFile {
            path,
            bytes: file.contents,
        });
    }
    Ok((snapshot.commit, files))
}

/// The SHA-256, in hex, of the files sorted by path, each framed as the big-endian u64
/// length of its path, the path, the u64 length of its bytes and the bytes, after the u64
/// number of files. Identical bundles have identical digests, whatever they were read from.
pub fn digest(files: &[BundleFile]) -> String {
    let mut sorted: Vec<&BundleFile> = files.iter().collect();
    sorted.sort_by(|a, b| (&a.path, &a.bytes).cmp(&(&b.path, &b.bytes)));
    let mut hasher = Sha256::new();
    hasher.update((sorted.len() as u64).to_be_bytes());
    for file in sorted {
        hasher.update((file.path.len() as u64).to_be_bytes());
        hasher.update(file.path.as_bytes());
        hasher.update((file.bytes.len() as u64).to_be_bytes());
        hasher.update(&file.bytes);
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Counts files and bytes against the limits, before each file is read.
struct Budget<'limits> {
    limits: &'limits SourceLimits,
    files: usize,
    total_bytes: u64,
}

impl Budget<'_> {
    fn new(limits: &SourceLimits) -> Budget<'_> {
        Budget {
            limits,
            files: 0,
            total_bytes: 0,
        }
    }

    fn admit(&mut self, path: &str, size: u64) -> Result<(), SourceError> {
        if size > self.limits.max_file_bytes {
            return Err(SourceError::FileTooLarge {
                path: path.to_owned(),
                size,
                limit: self.limits.max_file_bytes,
            });
        }
        self.files += 1;
        if self.files > self.limits.max_files {
            return Err(SourceError::TooManyFiles {
                limit: self.limits.max_files,
            });
        }
        self.total_bytes = self.total_bytes.saturating_add(size);
        if self.total_bytes > self.limits.max_total_bytes {
            return Err(SourceError::BundleTooLarge {
                path: path.to_owned(),
                limit: self.limits.max_total_bytes,
            });
        }
        Ok(())
    }
}

/// Reads at most `limit + 1` bytes, so that a caller can tell a file over the limit.
fn read_bounded(reader: impl Read, expected_size: u64, limit: u64) -> io::Result<Vec<u8>> {
    let capacity = expected_size.min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn check_read_size(path: &str, bytes: &[u8], limits: &SourceLimits) -> Result<(), SourceError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(SourceError::FileTooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    Ok(())
}

fn file_kind(file_type: std::fs::FileType) -> EntryKind {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return EntryKind::NamedPipe;
        }
        if file_type.is_socket() {
            return EntryKind::Socket;
        }
        if file_type.is_char_device() {
            return EntryKind::CharacterDevice;
        }
        if file_type.is_block_device() {
            return EntryKind::BlockDevice;
        }
    }
    if file_type.is_symlink() {
        EntryKind::SymbolicLink
    } else {
        EntryKind::Other
    }
}

/// Passes at most `remaining` bytes through, then fails (and remembers it) if there are more.
struct BoundedReader<R> {
    inner: R,
    remaining: u64,
    exceeded: bool,
}

impl<R: Read> Read for BoundedReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if buffer.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            if self.inner.read(&mut [0])? == 0 {
                return Ok(0);
            }
            self.exceeded = true;
            return Err(io::Error::other("the decompressed archive is too large"));
        }
        let length = buffer
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buffer[..length])?;
        self.remaining -= read as u64;
        Ok(read)
    }
}

fn read_tar_entries(
    decompressed: impl Read,
    limits: &SourceLimits,
) -> Result<Vec<BundleFile>, SourceError> {
    let archive_error = |source| SourceError::Archive { source };
    let mut archive = tar::Archive::new(decompressed);
    let mut budget = Budget::new(limits);
    let mut files = Vec::new();
    for entry in archive.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        let name = String::from_utf8(entry.path_bytes().into_owned()).map_err(|error| {
            SourceError::InvalidPath {
                path: String::from_utf8_lossy(error.as_bytes()).into_owned(),
                rule: PathRule::NotUtf8,
            }
        })?;
        let entry_type = entry.header().entry_type();
        let kind = match entry_type {
            // Old archives mark directories as regular files whose name ends with `/`.
            tar::EntryType::Regular | tar::EntryType::Continuous if !name.ends_with('/') => {
                let path = entry_path(&name, false)?;
                // `size` is the pax size when there is one, which is what the entry's reader
                // yields.
                let size = entry.size();
                budget.admit(&path, size)?;
                let bytes =
                    read_bounded(&mut entry, size, limits.max_file_bytes).map_err(|source| {
                        SourceError::ArchiveEntry {
                            path: name.clone(),
                            source,
                        }
                    })?;
                check_read_size(&path, &bytes, limits)?;
                if bytes.len() as u64 != size {
                    return Err(SourceError::ArchiveEntry {
                        path: name,
                        source: io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the archive ends inside this entry",
                        ),
                    });
                }
                files.push(BundleFile { path, bytes });
                continue;
            }
            tar::EntryType::Regular | tar::EntryType::Directory => {
                entry_path(&name, true)?;
                continue;
            }
            tar::EntryType::XGlobalHeader => continue,
            tar::EntryType::Symlink => EntryKind::SymbolicLink,
            tar::EntryType::Link => EntryKind::HardLink,
            tar::EntryType::Char => EntryKind::CharacterDevice,
            tar::EntryType::Block => EntryKind::BlockDevice,
            tar::EntryType::Fifo => EntryKind::NamedPipe,
            tar::EntryType::GNUSparse => EntryKind::SparseFile,
            _ => EntryKind::Other,
        };
        return Err(SourceError::UnsupportedEntry { path: name, kind });
    }
    Ok(files)
}

/// The bundle path of an archive entry, or `""` for the archive's root directory.
fn entry_path(name: &str, is_directory: bool) -> Result<String, SourceError> {
    let mut path = name;
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    if is_directory {
        path = path.trim_end_matches('/');
        if path.is_empty() || path == "." {
            return Ok(String::new());
        }
    }
    check_path(path).map_err(|rule| SourceError::InvalidPath {
        path: name.to_owned(),
        rule,
    })?;
    Ok(path.to_owned())
}

/// Refuses a path that appears twice, or as a file and as a directory of another file.
/// `files` is sorted by path.
fn check_unique_paths(files: &[BundleFile]) -> Result<(), SourceError> {
    if let Some(pair) = files.windows(2).find(|pair| pair[0].path == pair[1].path) {
        return Err(SourceError::DuplicatePath {
            path: pair[0].path.clone(),
        });
    }
    let paths: HashSet<&str> = files.iter().map(|file| file.path.as_str()).collect();
    for file in files {
        let mut ancestor = file.path.as_str();
        while let Some((parent, _)) = ancestor.rsplit_once('/') {
            if paths.contains(parent) {
                return Err(SourceError::FileAndDirectory {
                    path: parent.to_owned(),
                });
            }
            ancestor = parent;
        }
    }
    Ok(())
}

fn strip_single_top_level_directory(files: &mut [BundleFile]) {
    let Some((top, _)) = files.first().and_then(|file| file.path.split_once('/')) else {
        return;
    };
    let prefix = format!("{top}/");
    if files.iter().all(|file| file.path.starts_with(&prefix)) {
        for file in files {
            file.path.drain(..prefix.len());
        }
    }
}

/// Shows a byte count, with its size in KiB or MiB when it is a whole number of them.
struct Bytes(u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Bytes(bytes) = *self;
        write!(f, "{bytes} bytes")?;
        if bytes >= MIB && bytes % MIB == 0 {
            write!(f, " ({} MiB)", bytes / MIB)?;
        } else if bytes >= KIB && bytes % KIB == 0 {
            write!(f, " ({} KiB)", bytes / KIB)?;
        }
        Ok(())
    }
}

fn under(path: Option<&str>) -> String {
    match path {
        Some(path) => format!("under `{path}`"),
        None => "in the repository".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_path_names_the_first_rule_broken() {
        let cases = [
            ("a/b.txt", Ok(())),
            ("a/.hidden/b", Ok(())),
            ("", Err(PathRule::Empty)),
            ("/etc/passwd", Err(PathRule::Absolute)),
            ("a\\b", Err(PathRule::Backslash)),
            ("a\0b", Err(PathRule::Nul)),
            ("a//b", Err(PathRule::EmptyComponent)),
            ("a/", Err(PathRule::EmptyComponent)),
            ("./a", Err(PathRule::CurrentDirectory)),
            ("a/../../b", Err(PathRule::ParentDirectory)),
        ];
        for (path, expected) in cases {
            assert_eq!(check_path(path), expected, "{path:?}");
        }
    }

    #[test]
    fn bytes_shows_whole_kib_and_mib() {
        let cases = [
            (0, "0 bytes"),
            (1000, "1000 bytes"),
            (2048, "2048 bytes (2 KiB)"),
            (4 * MIB, "4194304 bytes (4 MiB)"),
            (MIB + 1, "1048577 bytes"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Bytes(bytes).to_string(), expected);
        }
    }

    #[test]
    fn bounded_reader_fails_only_when_there_is_more() {
        let mut exact = BoundedReader {
            inner: &b"abcd"[..],
            remaining: 4,
            exceeded: false,
        };
        let mut bytes = Vec::new();
        exact.read_to_end(&mut bytes).expect("fits exactly");
        assert_eq!((bytes.as_slice(), exact.exceeded), (&b"abcd"[..], false));

        let mut over = BoundedReader {
            inner: &b"abcde"[..],
            remaining: 4,
            exceeded: false,
        };
        assert!(over.read_to_end(&mut Vec::new()).is_err());
        assert!(over.exceeded);
    }
}

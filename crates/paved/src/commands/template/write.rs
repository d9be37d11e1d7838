//! Writing a set of files as a new directory, all at once or not at all.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use paved_template_registry::source::check_path;

use crate::Failure;
use crate::commands::template::refuse;

/// Writes `files` (bundle-style relative paths and their bytes) as the directory `dir`.
///
/// # Guarantees
///
/// - The files are written into a fresh temporary directory next to `dir`, which is renamed
///   to `dir` only once every file is written; on any failure the temporary directory is
///   removed, so `dir` never holds half the files.
/// - A path that is absolute, has an empty, `.` or `..` component or a backslash is refused
///   before anything is written (the server normalises paths; this is defence in depth).
///
/// # Errors
///
/// `dir` must not exist; with `allow_empty`, it may be an empty directory, which is replaced.
pub fn write_new_directory(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    allow_empty: bool,
) -> Result<(), Failure> {
    for (path, _) in files {
        if let Err(rule) = check_path(path) {
            return Err(refuse(format_args!(
                "refusing to write `{path}`: {rule}; nothing was written"
            )));
        }
    }
    let replace_empty = match std::fs::symlink_metadata(dir) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => {
            return Err(anyhow::Error::new(error)
                .context(format!("reading `{}`", dir.display()))
                .into());
        }
        Ok(metadata) if allow_empty && metadata.is_dir() && is_empty_dir(dir)? => true,
        Ok(_) if allow_empty => {
            return Err(refuse(format_args!(
                "`{}` exists and is not an empty directory; choose a new directory",
                dir.display()
            )));
        }
        Ok(_) => {
            return Err(refuse(format_args!(
                "`{}` already exists; choose a new directory",
                dir.display()
            )));
        }
    };
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating `{}`", parent.display()))?;
    let name = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let mut temporary = TemporaryDir {
        path: parent.join(format!(".{name}.paved-{}-{nanos}", std::process::id())),
        renamed: false,
    };
    std::fs::create_dir(&temporary.path)
        .with_context(|| format!("creating `{}`", temporary.path.display()))?;
    for (path, bytes) in files {
        let target = temporary.path.join(path);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating `{}`", folder.display()))?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .and_then(|mut file| std::io::Write::write_all(&mut file, bytes))
            .with_context(|| format!("writing `{}`", target.display()))?;
    }
    if replace_empty {
        std::fs::remove_dir(dir).with_context(|| format!("replacing `{}`", dir.display()))?;
    }
    std::fs::rename(&temporary.path, dir)
        .with_context(|| format!("moving the files into `{}`", dir.display()))?;
    temporary.renamed = true;
    Ok(())
}

fn is_empty_dir(dir: &Path) -> Result<bool, Failure> {
    let mut entries =
        std::fs::read_dir(dir).with_context(|| format!("reading `{}`", dir.display()))?;
    Ok(entries.next().is_none())
}

/// Removed when dropped, unless it was renamed into place.
struct TemporaryDir {
    path: PathBuf,
    renamed: bool,
}

impl Drop for TemporaryDir {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

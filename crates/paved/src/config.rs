//! The user config file (`$XDG_CONFIG_HOME/paved/config.toml`): the server URL and token the
//! CLI uses from any directory, and how a command picks each value (flag, environment, file,
//! default).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use paved_cli::ServerArgs;
use serde::{Deserialize, Serialize};

/// The server a command talks to when nothing names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:7080";

/// What the config file holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `$XDG_CONFIG_HOME/paved/config.toml`, or `$HOME/.config/paved/config.toml` when
/// XDG_CONFIG_HOME is unset, empty or relative (as the XDG specification says to ignore it).
pub fn path() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => {
            let home = std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .context(
                    "cannot find the config directory: neither XDG_CONFIG_HOME nor HOME is set",
                )?;
            PathBuf::from(home).join(".config")
        }
    };
    Ok(base.join("paved").join("config.toml"))
}

/// The config file at `path`; an absent file is an empty config.
pub fn load(path: &Path) -> anyhow::Result<UserConfig> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(UserConfig::default());
        }
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read `{}`", path.display()));
        }
    };
    toml::from_str(&text)
        .map_err(|error| anyhow::anyhow!("`{}`: {}", path.display(), error.message().trim_end()))
}

/// Writes `config` to `path` with mode 0600 (the directory 0700 if it is created), replacing
/// the file at once: a reader never sees half of it.
pub fn save(path: &Path, config: &UserConfig) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let dir = path.parent().context("the config file has no directory")?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))?;
    let text = toml::to_string(config).context("cannot write the config as TOML")?;
    let temporary = dir.join(format!(".config.toml.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        anyhow::Error::new(error).context(format!("cannot write `{}`", path.display()))
    })
}

/// Where a value a command uses came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Environment(&'static str),
    ConfigFile(PathBuf),
    /// The admin token a server started in this directory wrote.
    DataDir(PathBuf),
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::Environment(variable) => write!(f, "{variable}"),
            Source::ConfigFile(path) => write!(f, "the config file `{}`", path.display()),
            Source::DataDir(path) => write!(f, "`{}`", path.display()),
            Source::Default => write!(f, "the default"),
        }
    }
}

/// The server and token a command uses, with where each came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub server: String,
    pub server_source: Source,
    pub token: Option<(String, Source)>,
    pub config_path: PathBuf,
}

/// Picks the server and the token: flag, then environment (clap has merged the two; the
/// environment is named when it holds the same value), then the config file, then the
/// defaults.
pub fn resolve(args: &ServerArgs) -> anyhow::Result<Resolved> {
    let config_path = path()?;
    let config = load(&config_path)?;
    let given = |value: &Option<String>, flag, variable| {
        value.clone().map(|value| {
            let from_environment = std::env::var(variable).is_ok_and(|env| env == value);
            let source = if from_environment {
                Source::Environment(variable)
            } else {
                Source::Flag(flag)
            };
            (value, source)
        })
    };
    let (server, server_source) = given(&args.server, "--server", "PAVED_SERVER")
        .or_else(|| {
            config
                .server
                .clone()
                .map(|server| (server, Source::ConfigFile(config_path.clone())))
        })
        .unwrap_or_else(|| (DEFAULT_SERVER.to_owned(), Source::Default));
    let token = given(&args.token, "--token", "PAVED_TOKEN")
        .or_else(|| {
            config
                .token
                .clone()
                .map(|token| (token, Source::ConfigFile(config_path.clone())))
        })
        .or_else(|| {
            let file = args.data_dir.join("admin-token");
            read_token(&file).map(|token| (token, Source::DataDir(file)))
        });
    Ok(Resolved {
        server: server.trim_end_matches('/').to_owned(),
        server_source,
        token,
        config_path,
    })
}

/// The admin token `paved up` wrote for local use, if any.
fn read_token(file: &Path) -> Option<String> {
    std::fs::read_to_string(file)
        .ok()
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

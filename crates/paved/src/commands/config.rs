//! `paved config set|unset|show`: the user config file with the server URL and token.

use std::io::{IsTerminal as _, Read as _};

use anyhow::Context as _;
use paved_cli::{ConfigCommand, ConfigKey, OutputFormat};
use serde_json::json;

use crate::Failure;
use crate::config::{self, Source, UserConfig};
use crate::output::{emit, print, table};

pub fn run(command: ConfigCommand) -> Result<(), Failure> {
    match command {
        ConfigCommand::Set { key, value } => set(key, value),
        ConfigCommand::Unset { key } => update(key, None),
        ConfigCommand::Show { output, server } => show(&server, output),
    }
}

fn set(key: ConfigKey, value: Option<String>) -> Result<(), Failure> {
    let value = match (key, value) {
        (ConfigKey::Server, Some(url)) => checked_server(&url)?,
        (ConfigKey::Server, None) => {
            eprintln!("error: `paved config set server` needs a URL, e.g. http://127.0.0.1:7080");
            return Err(Failure::Refused);
        }
        (ConfigKey::Token, Some(token)) => token,
        (ConfigKey::Token, None) => read_token_from_stdin()?,
    };
    if value.trim().is_empty() || value.chars().any(char::is_control) {
        eprintln!("error: the {} must be one non-empty line", key_name(key));
        return Err(Failure::Refused);
    }
    update(key, Some(value))
}

/// Writes `value` (or removes the key) in the config file, keeping the other key.
fn update(key: ConfigKey, value: Option<String>) -> Result<(), Failure> {
    let path = config::path()?;
    let mut file: UserConfig = config::load(&path)?;
    match key {
        ConfigKey::Server => file.server = value.clone(),
        ConfigKey::Token => file.token = value.clone(),
    }
    config::save(&path, &file)?;
    let done = if value.is_some() { "saved" } else { "removed" };
    eprintln!("{} {done} in {}", key_name(key), path.display());
    Ok(())
}

fn key_name(key: ConfigKey) -> &'static str {
    match key {
        ConfigKey::Server => "server",
        ConfigKey::Token => "token",
    }
}

/// An http:// or https:// URL with a host, without a trailing slash.
fn checked_server(url: &str) -> Result<String, Failure> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => {
            eprintln!(
                "error: `{url}` is not a server URL: give http://HOST[:PORT] or https://HOST[:PORT]"
            );
            Err(Failure::Refused)
        }
    }
}

/// The token from stdin, without its trailing newline.
fn read_token_from_stdin() -> Result<String, Failure> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("reading the token from stdin; end it with Ctrl-D");
    }
    let mut token = String::new();
    stdin
        .read_to_string(&mut token)
        .context("reading the token from stdin (it must be UTF-8)")?;
    Ok(token.trim_end_matches(['\n', '\r']).to_owned())
}

fn show(server: &paved_cli::ServerArgs, format: OutputFormat) -> Result<(), Failure> {
    let resolved = config::resolve(server)?;
    let source = |source: &Source| source.to_string();
    let value = json!({
        "configFile": resolved.config_path.display().to_string(),
        "server": resolved.server,
        "serverSource": source(&resolved.server_source),
        "token": resolved.token.as_ref().map(|_| "(redacted)"),
        "tokenSource": resolved.token.as_ref().map(|(_, from)| source(from)),
    });
    if format != OutputFormat::Table {
        print(format, &value, || table(&[]))?;
        return Ok(());
    }
    emit(format_args!(
        "config file  {}",
        resolved.config_path.display()
    ));
    emit(format_args!(
        "server       {}  (from {})",
        resolved.server, resolved.server_source
    ));
    match &resolved.token {
        Some((_, from)) => emit(format_args!("token        (redacted)  (from {from})")),
        None => {
            emit("token        none: pass --token, set PAVED_TOKEN or `paved config set token`")
        }
    }
    Ok(())
}

//! `paved secret set|list|rm`: the local engine's secrets. Values come from stdin or a file,
//! never from the command line (where `ps` and shell history would see them).

use std::io::{IsTerminal as _, Read as _};

use anyhow::Context as _;
use paved_api::{PutSecretBody, Secret, SecretList};
use paved_cli::{OutputFormat, SecretCommand};

use crate::Failure;
use crate::client::Client;
use crate::commands::engine::segment;
use crate::commands::template::{refuse, report_problems, short_time};
use crate::output;

pub async fn run(command: SecretCommand) -> Result<(), Failure> {
    match command {
        SecretCommand::Set {
            name,
            from_file,
            server,
        } => {
            let value = match &from_file {
                Some(path) => std::fs::read_to_string(path).with_context(|| {
                    format!("reading the secret's value from `{}`", path.display())
                })?,
                None => read_stdin(&name)?,
            };
            if value.is_empty() {
                return Err(refuse(format_args!(
                    "the value of secret `{name}` is empty: pipe it on stdin or give --from-file PATH"
                )));
            }
            let body = PutSecretBody { value };
            let secret: Secret = Client::new(&server)?
                .put(&format!("/api/engine/secrets/{}", segment(&name)), &body)
                .await
                .map_err(|error| {
                    report_problems(error, &format!("secret `{name}` was not set"), None)
                })?;
            eprintln!("set secret {}", secret.name);
            Ok(())
        }
        SecretCommand::List { output, server } => list(&server, output).await,
        SecretCommand::Rm { name, server } => {
            Client::new(&server)?
                .delete(&format!("/api/engine/secrets/{}", segment(&name)))
                .await?;
            eprintln!("removed secret {name}");
            Ok(())
        }
    }
}

/// The whole of stdin, without one trailing newline.
fn read_stdin(name: &str) -> Result<String, Failure> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("reading the value of secret `{name}` from stdin; end it with Ctrl-D");
    }
    let mut value = String::new();
    stdin
        .read_to_string(&mut value)
        .context("reading the secret's value from stdin (it must be UTF-8)")?;
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(value)
}

async fn list(server: &paved_cli::ServerArgs, format: OutputFormat) -> Result<(), Failure> {
    let list: SecretList = Client::new(server)?.get("/api/engine/secrets").await?;
    output::print(format, &list, || {
        let mut table = output::table(&["name", "created", "updated"]);
        for secret in &list.items {
            table.add_row(vec![
                secret.name.clone(),
                short_time(&secret.created_at),
                short_time(&secret.updated_at),
            ]);
        }
        table
    })?;
    Ok(())
}

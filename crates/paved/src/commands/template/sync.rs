//! `paved template sync add|list|run|remove`: git repositories laid out
//! `{template}/v{major}/`, synced into template versions.

use paved_api::{AddTemplateSyncRequest, TemplateSyncList, TemplateSyncRunResponse};
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::commands::template::register::absolute_local_repository;
use crate::commands::template::{plural, print_or_text, problem_line, short_time};
use crate::output::{self, emit};

pub async fn add(server: &ServerArgs, target: &str, format: OutputFormat) -> Result<(), Failure> {
    let request = AddTemplateSyncRequest {
        target: absolute_local_repository(target),
    };
    let response: TemplateSyncRunResponse = Client::new(server)?
        .post("/api/template-syncs", &request)
        .await?;
    print_or_text(format, &response, || {
        emit(format_args!(
            "added template sync {} for {}",
            response.sync.id, response.sync.repository
        ));
        print_run(&response);
    })
}

pub async fn list(server: &ServerArgs, format: OutputFormat) -> Result<(), Failure> {
    let syncs: TemplateSyncList = Client::new(server)?.get("/api/template-syncs").await?;
    output::print(format, &syncs, || {
        let mut table = output::table(&["id", "repository", "ref", "commit", "synced", "problems"]);
        for sync in &syncs.items {
            table.add_row(vec![
                sync.id.clone(),
                sync.repository.clone(),
                sync.reference.clone().unwrap_or_default(),
                sync.last_commit
                    .as_deref()
                    .map(|commit| commit.chars().take(12).collect())
                    .unwrap_or_default(),
                sync.last_synced_at
                    .as_deref()
                    .map(short_time)
                    .unwrap_or_else(|| "never".to_owned()),
                sync.problems.len().to_string(),
            ]);
        }
        table
    })?;
    Ok(())
}

pub async fn run(server: &ServerArgs, id: &str, format: OutputFormat) -> Result<(), Failure> {
    let response: TemplateSyncRunResponse = Client::new(server)?
        .post(
            &format!("/api/template-syncs/{id}/run"),
            &serde_json::json!({}),
        )
        .await?;
    print_or_text(format, &response, || print_run(&response))
}

pub async fn remove(server: &ServerArgs, id: &str) -> Result<(), Failure> {
    Client::new(server)?
        .delete(&format!("/api/template-syncs/{id}"))
        .await?;
    eprintln!("removed template sync {id}; the versions it registered stay");
    Ok(())
}

/// The versions registered on stdout, one a line; the count of unchanged bundles; problems
/// on stderr, like a compiler's.
fn print_run(response: &TemplateSyncRunResponse) {
    if let Some(commit) = &response.commit {
        emit(format_args!(
            "synced commit {}",
            commit.chars().take(12).collect::<String>()
        ));
    }
    for version in &response.registered {
        emit(format_args!("registered {version}"));
    }
    emit(format_args!(
        "{} registered, {} unchanged",
        plural(response.registered.len(), "version", "versions"),
        response.unchanged
    ));
    for problem in &response.problems {
        eprintln!(
            "problem: {}",
            problem_line(&problem.clone().into(), "field", None)
        );
    }
}

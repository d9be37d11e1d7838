//! `paved service task ID`: a task's log so far, or (`--follow`) streamed until it ends.

use paved_api::Task;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::commands::service::{event_line, follow};
use crate::commands::template::print_or_text;
use crate::output::emit;

pub async fn run(
    server: &ServerArgs,
    id: &str,
    follow_task: bool,
    format: OutputFormat,
) -> Result<(), Failure> {
    let client = Client::new(server);
    if !follow_task {
        let task: Task = client.get(&format!("/api/tasks/{id}")).await?;
        return print_or_text(format, &task, || {
            emit(heading(&task));
            for event in &task.events {
                emit(event_line(event));
            }
            if let Some(error) = &task.error {
                emit(format_args!("error: {error}"));
            }
        });
    }
    let task = follow(&client, id).await?;
    print_or_text(format, &task, || {
        emit(heading(&task));
        if let Some(result) = task.result.as_ref().filter(|_| task.state == "succeeded")
            && let (Some(name), Some(clone_url)) =
                (result["service"].as_str(), result["cloneUrl"].as_str())
        {
            emit(format_args!("created {name}"));
            emit(format_args!("clone it: git clone {clone_url}"));
        }
    })?;
    match task.state.as_str() {
        "succeeded" => Ok(()),
        state => {
            let error = task.error.as_deref().unwrap_or("no reason was recorded");
            eprintln!("error: task `{}` {state}: {error}", task.id);
            Err(Failure::Refused)
        }
    }
}

/// `task ID (service.create): succeeded`
fn heading(task: &Task) -> String {
    format!("task {} ({}): {}", task.id, task.kind, task.state)
}

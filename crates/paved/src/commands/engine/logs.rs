//! `paved logs SERVICE`: a service's log lines, or (`--follow`) streamed as they come.

use anyhow::Context as _;
use paved_api::{LogLine, LogLineList};
use paved_cli::{LogsArgs, TextOutputFormat};

use crate::Failure;
use crate::client::Client;
use crate::commands::engine::segment;
use crate::output::emit;

pub async fn run(args: LogsArgs) -> Result<(), Failure> {
    let LogsArgs {
        service,
        cluster,
        follow,
        task,
        limit,
        output,
        server,
    } = args;
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &limit.to_string());
    if let Some(task) = &task {
        query.append_pair("task", task);
    }
    if follow {
        query.append_pair("follow", "true");
    }
    let path = format!(
        "/api/engine/services/{}/{}/logs?{}",
        segment(&cluster),
        segment(&service),
        query.finish()
    );
    let client = Client::new(&server)?;
    if !follow {
        let lines: LogLineList = client.get(&path).await?;
        for line in &lines.items {
            print_line(line, output)?;
        }
        return Ok(());
    }
    let mut events = client.events(&path).await?;
    while let Some(event) = events.next().await? {
        match event.event.as_str() {
            "log" => {
                let line: LogLine = serde_json::from_str(&event.data)
                    .context("a log line from the server is not the JSON expected")?;
                print_line(&line, output)?;
            }
            "missed" => eprintln!(
                "warning: {} log lines were skipped: this client fell behind",
                event.data
            ),
            // Event types a newer server may add.
            _ => {}
        }
    }
    Err(anyhow::anyhow!("the server closed the log stream").into())
}

fn print_line(line: &LogLine, format: TextOutputFormat) -> Result<(), Failure> {
    match format {
        TextOutputFormat::Json => {
            emit(serde_json::to_string(line).map_err(anyhow::Error::from)?);
        }
        TextOutputFormat::Text => emit(line_text(line)),
    }
    Ok(())
}

/// `TIMESTAMP TASK/CONTAINER MESSAGE`, the task as its first 8 characters; stderr lines marked.
fn line_text(line: &LogLine) -> String {
    let task: String = line.task_id.chars().take(8).collect();
    let marker = if line.stream == "stderr" {
        "[stderr] "
    } else {
        ""
    };
    let cut = if line.truncated { " [truncated]" } else { "" };
    format!(
        "{} {task}/{} {marker}{}{cut}",
        line.timestamp, line.container, line.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_name_the_task_and_mark_stderr() {
        let line = |stream: &str, truncated: bool| LogLine {
            timestamp: "2025-01-31T10:20:30.123Z".to_owned(),
            task_id: "0b6f3a4e5d1c4c2a9d8e2f1a7c3b9e10".to_owned(),
            container: "app".to_owned(),
            stream: stream.to_owned(),
            message: "listening on 8080".to_owned(),
            truncated,
        };
        assert_eq!(
            line_text(&line("stdout", false)),
            "2025-01-31T10:20:30.123Z 0b6f3a4e/app listening on 8080"
        );
        assert_eq!(
            line_text(&line("stderr", true)),
            "2025-01-31T10:20:30.123Z 0b6f3a4e/app [stderr] listening on 8080 [truncated]"
        );
    }
}

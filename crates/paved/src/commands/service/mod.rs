//! `paved service ...`: thin clients of `/api/services` and `/api/tasks`. This module holds
//! what the verbs share: following a task's event stream and showing its log lines.

pub mod create;
pub mod list;
pub mod show;
pub mod task;

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use paved_api::{Task, TaskEvent};

use crate::Failure;
use crate::client::Client;

/// Streams the task's log from `/api/tasks/{id}/events`, showing each line on stderr as it
/// comes, and returns the task as it ended.
async fn follow(client: &Client, id: &str) -> Result<Task, Failure> {
    let mut events = client.events(&format!("/api/tasks/{id}/events")).await?;
    let mut progress = Progress::new();
    while let Some(event) = events.next().await? {
        match event.event.as_str() {
            "log" => {
                let line: TaskEvent = serde_json::from_str(&event.data)
                    .context("a task log line from the server is not the JSON expected")?;
                progress.show(&line);
            }
            "end" => {
                let task: Task = serde_json::from_str(&event.data)
                    .context("the task from the server is not the JSON expected")?;
                progress.end(&task);
                return Ok(task);
            }
            // Event types a newer server may add.
            _ => {}
        }
    }
    progress.stop();
    Err(anyhow::anyhow!(
        "the server closed the event stream of task `{id}` before the task ended\n\
         hint: see where it is with `paved service task {id} --follow`"
    )
    .into())
}

/// A log line as text: `✓ render: 12 files from web-service@1.0`. Started steps show `…`,
/// finished ones `✓`, failures `✗`; other lines are indented.
fn event_line(event: &TaskEvent) -> String {
    let step = &event.step;
    match event.level.as_str() {
        "step" => format!("… {step}: {}", event.message),
        "done" => format!("✓ {step}: {}", event.message),
        "error" => {
            // The message names the step already: `step `x` failed: reason`.
            let reason = event
                .message
                .strip_prefix(&format!("step `{step}` failed: "))
                .unwrap_or(&event.message);
            format!("✗ {step}: {reason}")
        }
        _ => format!("  {}", event.message),
    }
}

/// Shows log lines on stderr: on a terminal a spinner while a step runs, replaced by its
/// result; otherwise one plain line per log line.
struct Progress {
    terminal: bool,
    spinner: Option<ProgressBar>,
    /// The last line, when it started a step that has not finished yet.
    running_step: Option<TaskEvent>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            spinner: None,
            running_step: None,
        }
    }

    fn show(&mut self, event: &TaskEvent) {
        // Whatever comes next ends the step that ran.
        self.stop();
        self.running_step = (event.level == "step").then(|| event.clone());
        if self.terminal && event.level == "step" {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .expect("a valid template")
                    .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
            );
            spinner.set_message(format!("{}: {}", event.step, event.message));
            spinner.enable_steady_tick(Duration::from_millis(100));
            self.spinner = Some(spinner);
        } else {
            eprintln!("{}", event_line(event));
        }
    }

    /// The task ended: a step still running when it succeeded (the last one ends with the
    /// task) is shown finished.
    fn end(&mut self, task: &Task) {
        self.stop();
        if let Some(step) = self.running_step.take()
            && task.state == "succeeded"
        {
            let done = TaskEvent {
                level: "done".to_owned(),
                ..step
            };
            eprintln!("{}", event_line(&done));
        }
    }

    /// Clears the spinner, if one runs.
    fn stop(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_task_log_lines_show_the_step_and_its_state() {
        let event = |step: &str, level: &str, message: &str| TaskEvent {
            seq: 1,
            at: "2025-01-31T10:20:30Z".to_owned(),
            step: step.to_owned(),
            level: level.to_owned(),
            message: message.to_owned(),
        };
        let cases = [
            (
                event("accepted", "info", "creating service `orders`"),
                "  creating service `orders`",
            ),
            (
                event("render", "step", "rendering the template"),
                "… render: rendering the template",
            ),
            (
                event("render", "done", "12 files from web-service@1.0"),
                "✓ render: 12 files from web-service@1.0",
            ),
            (
                event(
                    "repository",
                    "error",
                    "step `repository` failed: push refused",
                ),
                "✗ repository: push refused",
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(event_line(&event), expected);
        }
    }
}

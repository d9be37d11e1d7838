//! `paved job ...`: thin clients of `/api/jobs`. This module holds what the verbs (and
//! commands that start jobs) share: following a job's event stream and showing its log lines.

pub mod cancel;
pub mod list;
pub mod show;

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use paved_api::{Job, JobEvent};

use crate::Failure;
use crate::client::Client;

/// Streams the job's log from `/api/jobs/{id}/events`, showing each line on stderr as it
/// comes, and returns the job as it ended.
pub async fn follow(client: &Client, id: &str) -> Result<Job, Failure> {
    let mut events = client.events(&format!("/api/jobs/{id}/events")).await?;
    let mut progress = Progress::new();
    while let Some(event) = events.next().await? {
        match event.event.as_str() {
            "log" => {
                let line: JobEvent = serde_json::from_str(&event.data)
                    .context("a job log line from the server is not the JSON expected")?;
                progress.show(&line);
            }
            "end" => {
                let job: Job = serde_json::from_str(&event.data)
                    .context("the job from the server is not the JSON expected")?;
                progress.end(&job);
                return Ok(job);
            }
            // Event types a newer server may add.
            _ => {}
        }
    }
    progress.stop();
    Err(anyhow::anyhow!(
        "the server closed the event stream of job `{id}` before the job ended\n\
         hint: see where it is with `paved job follow {id}`"
    )
    .into())
}

/// A log line as text: `✓ render: 12 files from web-service@1.0`. Started steps show `…`,
/// finished ones `✓`, failures `✗`; other lines are indented.
pub fn event_line(event: &JobEvent) -> String {
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
    running_step: Option<JobEvent>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            spinner: None,
            running_step: None,
        }
    }

    fn show(&mut self, event: &JobEvent) {
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

    /// The job ended: a step still running when it succeeded (the last one ends with the
    /// job) is shown finished.
    fn end(&mut self, job: &Job) {
        self.stop();
        if let Some(step) = self.running_step.take()
            && job.state == "succeeded"
        {
            let done = JobEvent {
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
    fn job_log_lines_show_the_step_and_its_state() {
        let event = |step: &str, level: &str, message: &str| JobEvent {
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

//! `paved job show ID` and `paved job follow ID`: a job's log so far, or streamed until it
//! ends.

use paved_api::Job;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::commands::job::{event_line, follow};
use crate::commands::template::print_or_text;
use crate::output::emit;

pub async fn show(server: &ServerArgs, id: &str, format: OutputFormat) -> Result<(), Failure> {
    let client = Client::new(server)?;
    let job: Job = client.get(&format!("/api/jobs/{}", segment(id))).await?;
    print_or_text(format, &job, || {
        emit(heading(&job));
        for event in &job.events {
            emit(event_line(event));
        }
        if let Some(error) = &job.error {
            emit(format_args!("error: {error}"));
        }
    })
}

/// Follows the job to its end; exit code 0 when it succeeded, 1 otherwise.
pub async fn follow_to_end(
    server: &ServerArgs,
    id: &str,
    format: OutputFormat,
) -> Result<(), Failure> {
    let client = Client::new(server)?;
    let job = follow(&client, &segment(id)).await?;
    print_or_text(format, &job, || {
        emit(heading(&job));
        if let Some(result) = job.result.as_ref().filter(|_| job.state == "succeeded")
            && let (Some(name), Some(clone_url)) =
                (result["service"].as_str(), result["cloneUrl"].as_str())
        {
            emit(format_args!("created {name}"));
            emit(format_args!("clone it: git clone {clone_url}"));
        }
    })?;
    match job.state.as_str() {
        "succeeded" => Ok(()),
        state => {
            let error = job.error.as_deref().unwrap_or("no reason was recorded");
            eprintln!("error: job `{}` {state}: {error}", job.id);
            Err(Failure::Refused)
        }
    }
}

/// `job ID (service.create on service:orders): succeeded`
pub fn heading(job: &Job) -> String {
    format!(
        "job {} ({} on {}): {}",
        job.id, job.kind, job.subject, job.state
    )
}

/// A job id as one URL path segment.
pub fn segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

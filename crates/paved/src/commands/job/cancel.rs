//! `paved job cancel ID`: asks a job to stop.

use paved_api::Job;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::commands::job::show::{heading, segment};
use crate::commands::template::print_or_text;
use crate::output::emit;

pub async fn run(server: &ServerArgs, id: &str, format: OutputFormat) -> Result<(), Failure> {
    let client = Client::new(server)?;
    let job: Job = client
        .post(
            &format!("/api/jobs/{}/cancel", segment(id)),
            &serde_json::json!({}),
        )
        .await?;
    print_or_text(format, &job, || {
        emit(heading(&job));
        if job.state == "running" {
            eprintln!(
                "the job stops at its next step: follow it with `paved job follow {}`",
                job.id
            );
        }
    })
}

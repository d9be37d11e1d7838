//! `paved job list`: jobs, newest first.

use paved_api::JobList;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::output;

/// Which jobs to list.
#[derive(Debug)]
pub struct JobQuery {
    pub kind: Option<String>,
    pub subject: Option<String>,
    pub state: Option<String>,
    pub limit: i64,
}

pub async fn run(
    server: &ServerArgs,
    query: JobQuery,
    format: OutputFormat,
) -> Result<(), Failure> {
    let mut parameters = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("kind", &query.kind),
        ("subject", &query.subject),
        ("state", &query.state),
    ] {
        if let Some(value) = value {
            parameters.append_pair(name, value);
        }
    }
    parameters.append_pair("limit", &query.limit.to_string());
    let list: JobList = Client::new(server)?
        .get(&format!("/api/jobs?{}", parameters.finish()))
        .await?;
    output::print(format, &list, || {
        let mut table = output::table(&["id", "kind", "subject", "state", "principal", "created"]);
        for job in &list.items {
            table.add_row(vec![
                job.id.as_str(),
                job.kind.as_str(),
                job.subject.as_str(),
                job.state.as_str(),
                job.principal.as_str(),
                job.created_at.as_str(),
            ]);
        }
        table
    })?;
    Ok(())
}

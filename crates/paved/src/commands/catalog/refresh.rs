//! `paved catalog refresh [REF | --location ID]`

use paved_api::{RefreshRequest, RefreshResponse};
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::output;

pub async fn run(
    server: &ServerArgs,
    entity_ref: Option<String>,
    location: Option<String>,
    format: OutputFormat,
) -> Result<(), Failure> {
    if entity_ref.is_none() && location.is_none() {
        return Err(anyhow::anyhow!("name an entity (`paved catalog refresh component:default/web`) or a location (`--location ID`)").into());
    }
    let request = RefreshRequest {
        entity_ref,
        location_id: location,
    };
    let response: RefreshResponse = Client::new(server)?
        .post("/api/catalog/refresh", &request)
        .await?;
    output::print(format, &response, || {
        let mut table = output::table(&["written", "unchanged", "orphaned", "deleted", "problems"]);
        table.add_row(vec![
            response.written.to_string(),
            response.unchanged.to_string(),
            response.orphaned.to_string(),
            response.deleted.to_string(),
            response.problems.len().to_string(),
        ]);
        for problem in &response.problems {
            eprintln!(
                "problem: {}",
                paved_model::problem::Problem::from(problem.clone())
            );
        }
        table
    })?;
    Ok(())
}

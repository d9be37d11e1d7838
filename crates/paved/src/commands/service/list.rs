//! `paved service list`

use paved_api::ServiceList;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::output;

pub async fn run(server: &ServerArgs, format: OutputFormat) -> Result<(), Failure> {
    let list: ServiceList = Client::new(server)?.get("/api/services").await?;
    output::print(format, &list, || {
        let mut table = output::table(&["name", "owner", "template", "version", "repository"]);
        for service in &list.items {
            table.add_row(vec![
                service.name.clone(),
                service.owner.clone(),
                service.template.clone(),
                service.template_version.clone(),
                service.repository_url.clone(),
            ]);
        }
        table
    })?;
    Ok(())
}

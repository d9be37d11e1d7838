//! `paved template list`

use paved_api::TemplateList;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::output;

pub async fn run(server: &ServerArgs, format: OutputFormat) -> Result<(), Failure> {
    let list: TemplateList = Client::new(server)?.get("/api/templates").await?;
    output::print(format, &list, || {
        let mut table = output::table(&[
            "name",
            "kind",
            "recommended",
            "latest",
            "versions",
            "owner",
            "description",
        ]);
        for template in &list.items {
            table.add_row(vec![
                template.name.clone(),
                template.kind.clone(),
                template
                    .recommended_version
                    .clone()
                    .unwrap_or_else(|| "-".to_owned()),
                template
                    .latest_version
                    .clone()
                    .unwrap_or_else(|| "-".to_owned()),
                template.version_count.to_string(),
                template.owner.clone(),
                template.description.clone(),
            ]);
        }
        table
    })?;
    Ok(())
}

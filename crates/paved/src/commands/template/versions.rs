//! `paved template versions NAME`

use paved_api::TemplateDetail;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::commands::template::{short_time, usage_error};
use crate::output;

pub async fn run(server: &ServerArgs, name: &str, format: OutputFormat) -> Result<(), Failure> {
    if name.is_empty() || name.contains(['@', '/']) {
        usage_error(format_args!(
            "`{name}` is not a template name; `paved template versions` lists every version of \
             one template, e.g. `paved template versions web-service`"
        ));
    }
    let detail: TemplateDetail = Client::new(server)?
        .get(&format!("/api/templates/{name}"))
        .await?;
    let items = output::Items {
        items: &detail.versions,
    };
    output::print(format, &items, || {
        let mut table = output::table(&[
            "version",
            "status",
            "recommended",
            "format",
            "engine",
            "source",
            "created",
        ]);
        for version in &detail.versions {
            let status = match &version.withdrawn_reason {
                Some(reason) if version.status == "withdrawn" => {
                    format!("withdrawn: {reason}")
                }
                _ => version.status.clone(),
            };
            table.add_row(vec![
                version.version.clone(),
                status,
                if version.recommended { "✓" } else { "" }.to_owned(),
                version.format.clone(),
                version.engine.clone(),
                version.source.clone(),
                short_time(&version.created_at),
            ]);
        }
        table
    })?;
    Ok(())
}

//! `paved service show NAME`: a service and its spec.

use paved_api::Service;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::commands::template::{print_or_text, short_time};
use crate::output::emit;

pub async fn run(server: &ServerArgs, name: &str, format: OutputFormat) -> Result<(), Failure> {
    let service: Service = Client::new(server)?
        .get(&format!("/api/services/{name}"))
        .await?;
    let spec = serde_saphyr::to_string(&service.spec).map_err(anyhow::Error::from)?;
    print_or_text(format, &service, || {
        let field = |name: &str, value: &str| emit(format_args!("{name:<12}{value}"));
        field("name", &service.name);
        field("owner", &service.owner);
        field("template", &service.template);
        field("version", &service.template_version);
        field("repository", &service.repository_url);
        field("created", &short_time(&service.created_at));
        field("job", &service.job_id);
        emit("");
        emit("Spec (paved.yaml):");
        emit(spec.trim_end());
    })
}

//! `paved template publish NAME@MAJOR.MINOR` and `paved template withdraw NAME@MAJOR.MINOR`:
//! moving a version between draft, published and withdrawn.

use paved_api::{TemplateDetail, TemplateVersion, WithdrawTemplateRequest};
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::commands::template::{exact_version, print_or_text, usage_error};
use crate::output::emit;

pub async fn publish(
    server: &ServerArgs,
    version: &str,
    format: OutputFormat,
) -> Result<(), Failure> {
    let (name, number) = exact_version(version);
    let published: TemplateVersion = Client::new(server)?
        .post(
            &format!("/api/templates/{name}/versions/{number}/publish"),
            &serde_json::json!({}),
        )
        .await?;
    print_or_text(format, &published, || {
        if published.recommended {
            emit(format_args!(
                "published {name} {} (recommended)",
                published.version
            ));
        } else {
            emit(format_args!(
                "published {name} {}; a higher version stays recommended",
                published.version
            ));
        }
    })
}

pub async fn withdraw(
    server: &ServerArgs,
    version: &str,
    reason: &str,
    format: OutputFormat,
) -> Result<(), Failure> {
    let (name, number) = exact_version(version);
    if reason.trim().is_empty() {
        usage_error("`--reason` is empty: say why the version is withdrawn; teams see it");
    }
    let client = Client::new(server)?;
    let withdrawn: TemplateVersion = client
        .post(
            &format!("/api/templates/{name}/versions/{number}/withdraw"),
            &WithdrawTemplateRequest {
                reason: reason.to_owned(),
            },
        )
        .await?;
    let detail: TemplateDetail = client.get(&format!("/api/templates/{name}")).await?;
    print_or_text(format, &withdrawn, || {
        emit(format_args!(
            "withdrew {name} {}: {reason}",
            withdrawn.version
        ));
        match &detail.summary.recommended_version {
            Some(recommended) => emit(format_args!("{name} {recommended} is recommended now")),
            None => emit(format_args!(
                "{name} has no recommended version now: no other version is published"
            )),
        }
    })
}

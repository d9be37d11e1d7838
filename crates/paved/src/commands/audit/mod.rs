//! `paved audit list`: the audit log, newest first (admins only).

use paved_api::AuditEventList;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::output;

/// Which records to list.
#[derive(Debug)]
pub struct AuditQuery {
    pub principal: Option<String>,
    pub resource: Option<String>,
    pub action: Option<String>,
    pub since: Option<String>,
    pub limit: i64,
}

pub async fn list(
    server: &ServerArgs,
    query: AuditQuery,
    format: OutputFormat,
) -> Result<(), Failure> {
    let mut parameters = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("principal", &query.principal),
        ("resource", &query.resource),
        ("action", &query.action),
        ("since", &query.since),
    ] {
        if let Some(value) = value {
            parameters.append_pair(name, value);
        }
    }
    parameters.append_pair("limit", &query.limit.to_string());
    let list: AuditEventList = Client::new(server)?
        .get(&format!("/api/audit?{}", parameters.finish()))
        .await?;
    output::print(format, &list, || {
        let mut table = output::table(&["at", "principal", "action", "resource", "outcome"]);
        for event in &list.items {
            table.add_row(vec![
                event.at.clone(),
                event.principal.clone(),
                event.action.clone(),
                format!("{}:{}", event.resource_kind, event.resource_name),
                event.outcome.clone(),
            ]);
        }
        table
    })?;
    Ok(())
}

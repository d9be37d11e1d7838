//! `paved catalog query --filter ...`

use paved_api::QueryEntitiesResponse;
use paved_cli::{OutputFormat, ServerArgs};
use serde_json::Value;

use crate::Failure;
use crate::client::Client;
use crate::output;

pub struct QueryRequest {
    pub filter: Vec<String>,
    pub fields: Option<String>,
    pub full_text: Option<String>,
    pub order_field: Vec<String>,
    pub limit: usize,
}

pub async fn run(
    server: &ServerArgs,
    request: QueryRequest,
    format: OutputFormat,
) -> Result<(), Failure> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for filter in &request.filter {
        query.append_pair("filter", filter);
    }
    if let Some(fields) = &request.fields {
        query.append_pair("fields", fields);
    }
    if let Some(term) = &request.full_text {
        query.append_pair("fullTextFilterTerm", term);
    }
    for order in &request.order_field {
        query.append_pair("orderField", order);
    }
    query.append_pair("limit", &request.limit.to_string());
    let response: QueryEntitiesResponse = Client::new(server)?
        .get(&format!(
            "/api/catalog/entities/by-query?{}",
            query.finish()
        ))
        .await?;
    output::print(format, &response, || {
        let mut table = output::table(&["kind", "namespace", "name", "owner", "type", "lifecycle"]);
        let text = |entity: &Value, pointer: &str| {
            entity
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        for entity in &response.items {
            table.add_row(vec![
                text(entity, "/kind"),
                text(entity, "/metadata/namespace"),
                text(entity, "/metadata/name"),
                text(entity, "/spec/owner"),
                text(entity, "/spec/type"),
                text(entity, "/spec/lifecycle"),
            ]);
        }
        if response.total_items > response.items.len() {
            eprintln!(
                "showing {} of {} entities (raise --limit to see more)",
                response.items.len(),
                response.total_items
            );
        }
        table
    })?;
    Ok(())
}

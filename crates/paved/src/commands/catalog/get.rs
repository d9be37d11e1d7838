//! `paved catalog get REF`

use paved_cli::{OutputFormat, ServerArgs};
use paved_model::entity_ref::{DEFAULT_NAMESPACE, EntityRef, RefDefaults};
use serde_json::Value;

use crate::Failure;
use crate::client::Client;
use crate::output;

pub async fn run(
    server: &ServerArgs,
    entity_ref: &str,
    format: OutputFormat,
) -> Result<(), Failure> {
    let reference = EntityRef::parse(
        entity_ref,
        RefDefaults {
            kind: Some("component"),
            namespace: DEFAULT_NAMESPACE,
        },
        "reference",
    )
    .map_err(anyhow::Error::from)?;
    let path = format!(
        "/api/catalog/entities/by-name/{}/{}/{}",
        reference.kind, reference.namespace, reference.name
    );
    let entity: Value = Client::new(server)?.get(&path).await?;
    output::print(format, &entity, || {
        let mut table = output::table(&["field", "value"]);
        table.add_row(vec!["ref".to_owned(), reference.key()]);
        for pointer in [
            "/metadata/title",
            "/metadata/description",
            "/spec/type",
            "/spec/lifecycle",
            "/spec/owner",
            "/spec/system",
            "/metadata/uid",
        ] {
            if let Some(value) = entity.pointer(pointer).and_then(Value::as_str) {
                table.add_row(vec![
                    pointer.trim_start_matches('/').replace('/', "."),
                    value.to_owned(),
                ]);
            }
        }
        if let Some(relations) = entity.get("relations").and_then(Value::as_array) {
            for relation in relations {
                let relation_type = relation
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let target = relation
                    .get("targetRef")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                table.add_row(vec![format!("relation {relation_type}"), target.to_owned()]);
            }
        }
        table
    })?;
    Ok(())
}

//! Entity queries over the index: filter, full-text search, ordering, cursor pages, field
//! selection and facets, with Backstage's semantics.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::filter::Filter;
use crate::index::{EntityId, Index, IndexedEntity};

/// A query for a page of entities.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityQuery {
    pub filter: Option<Filter>,
    #[serde(default)]
    pub order: Vec<OrderField>,
    pub full_text: Option<FullTextFilter>,
    /// At most this many items; all when None.
    pub limit: Option<usize>,
    #[serde(default)]
    pub offset: usize,
    /// Only these dotted paths of each entity; whole entities when empty.
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderField {
    pub field: String,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullTextFilter {
    /// Lowercase search term.
    pub term: String,
    /// Lowercase keys to search; every key when empty.
    pub fields: Vec<String>,
}

/// One page of results.
#[derive(Debug)]
pub struct QueryPage {
    /// The rendered entities, comma-separated: the inside of a JSON array.
    pub items_json: String,
    pub total_items: usize,
    pub next_cursor: Option<String>,
    pub prev_cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid cursor: {reason}")]
pub struct CursorError {
    reason: String,
}

impl EntityQuery {
    /// Encodes the query at a given offset as an opaque cursor.
    fn cursor_at(&self, offset: usize) -> String {
        let query = EntityQuery {
            offset,
            ..self.clone()
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&query).expect("queries serialize"))
    }

    /// Decodes a cursor made by a previous page; `limit` and `fields` may be overridden by the
    /// caller afterwards.
    pub fn from_cursor(cursor: &str) -> Result<EntityQuery, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|error| CursorError {
                reason: error.to_string(),
            })?;
        serde_json::from_slice(&bytes).map_err(|error| CursorError {
            reason: error.to_string(),
        })
    }
}

/// Runs a query against the index.
pub fn run_query(index: &Index, query: &EntityQuery) -> QueryPage {
    let mut ids: Vec<EntityId> = match &query.filter {
        Some(filter) => index.matching(filter).into_owned(),
        None if query.order.is_empty() => index.ids_in_ref_order().collect(),
        None => index.ids_in_ref_order().collect(),
    };
    if let Some(full_text) = &query.full_text {
        let matches = index.full_text(&full_text.term, &full_text.fields);
        ids.retain(|id| matches.binary_search(id).is_ok());
    }
    order(
        index,
        &mut ids,
        &query.order,
        query.filter.is_none() && query.order.is_empty(),
    );
    let total_items = ids.len();
    let start = query.offset.min(total_items);
    let end = match query.limit {
        Some(limit) => start.saturating_add(limit).min(total_items),
        None => total_items,
    };
    let mut items_json = String::new();
    for (position, entity) in ids[start..end]
        .iter()
        .filter_map(|&id| index.slot(id))
        .enumerate()
    {
        if position > 0 {
            items_json.push(',');
        }
        if query.fields.is_empty() {
            index.render_into(entity, &mut items_json);
        } else {
            items_json.push_str(&render_fields(index, entity, &query.fields));
        }
    }
    let next_cursor = (end < total_items && end > start).then(|| query.cursor_at(end));
    let prev_cursor =
        (start > 0).then(|| query.cursor_at(start.saturating_sub(query.limit.unwrap_or(start))));
    QueryPage {
        items_json,
        total_items,
        next_cursor,
        prev_cursor,
    }
}

/// Sorts ids by the order fields, then by entity reference; `already_in_ref_order` skips the
/// sort when the ids came from the reference-ordered map.
fn order(index: &Index, ids: &mut [EntityId], fields: &[OrderField], already_in_ref_order: bool) {
    if fields.is_empty() {
        if !already_in_ref_order {
            ids.sort_unstable_by(|a, b| entity_ref_of(index, *a).cmp(entity_ref_of(index, *b)));
        }
        return;
    }
    let mut keyed: Vec<(Vec<Option<String>>, EntityId)> = ids
        .iter()
        .map(|&id| {
            let values = fields
                .iter()
                .map(|field| {
                    index
                        .slot(id)
                        .and_then(|entity| sort_value(entity, &field.field))
                })
                .collect();
            (values, id)
        })
        .collect();
    keyed.sort_by(|(left_values, left_id), (right_values, right_id)| {
        for (position, field) in fields.iter().enumerate() {
            // Entities without the field sort last, whatever the direction (as Backstage).
            let ordering = match (&left_values[position], &right_values[position]) {
                (Some(left), Some(right)) if field.descending => right.cmp(left),
                (Some(left), Some(right)) => left.cmp(right),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        entity_ref_of(index, *left_id).cmp(entity_ref_of(index, *right_id))
    });
    for (slot, (_, id)) in ids.iter_mut().zip(keyed) {
        *slot = id;
    }
}

fn entity_ref_of(index: &Index, id: EntityId) -> &str {
    index
        .slot(id)
        .map(|entity| entity.row.entity_ref.as_str())
        .unwrap_or("")
}

fn sort_value(entity: &IndexedEntity, field: &str) -> Option<String> {
    let body: Value = serde_json::from_str(&entity.row.body).ok()?;
    let value = lookup(&body, field)?;
    match value {
        Value::String(text) => Some(text.to_lowercase()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The value at a dotted path; keys under `annotations` and `labels` may contain dots.
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    let mut rest = path;
    while !rest.is_empty() {
        let map = current.as_object()?;
        // Prefer the longest key that matches, so `metadata.annotations.backstage.io/x` works.
        let (key, remainder) = match map
            .keys()
            .filter(|key| rest == key.as_str() || rest.starts_with(&format!("{key}.")))
            .max_by_key(|key| key.len())
        {
            Some(key) => (key.as_str(), rest[key.len()..].trim_start_matches('.')),
            None => return None,
        };
        current = map.get(key)?;
        rest = remainder;
    }
    Some(current)
}

/// Renders an entity, keeping only `fields` when given (Backstage's `fields=` selection).
pub(crate) fn render_fields(index: &Index, entity: &IndexedEntity, fields: &[String]) -> String {
    let full = index.render(entity);
    if fields.is_empty() {
        return full;
    }
    let Ok(value) = serde_json::from_str::<Value>(&full) else {
        return full;
    };
    let mut selected = Value::Object(Map::new());
    for field in fields {
        if let Some(found) = lookup(&value, field) {
            insert_path(&mut selected, &value, field, found.clone());
        }
    }
    selected.to_string()
}

/// Inserts `found` into `target` at `path`, splitting the path as `lookup` did on `source`.
fn insert_path(target: &mut Value, source: &Value, path: &str, found: Value) {
    let mut target = target;
    let mut source = source;
    let mut rest = path;
    loop {
        let Some(map) = source.as_object() else {
            return;
        };
        let Some(key) = map
            .keys()
            .filter(|key| rest == key.as_str() || rest.starts_with(&format!("{key}.")))
            .max_by_key(|key| key.len())
        else {
            return;
        };
        let remainder = rest[key.len()..].trim_start_matches('.');
        let Value::Object(target_map) = target else {
            return;
        };
        if remainder.is_empty() {
            target_map.insert(key.clone(), found);
            return;
        }
        target = target_map
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        source = &map[key];
        rest = remainder;
    }
}

/// Facet counts for each requested facet key over the entities matching `filter`.
pub fn facets(
    index: &Index,
    facet_keys: &[String],
    filter: Option<&Filter>,
) -> Vec<(String, Vec<(String, usize)>)> {
    let ids = filter.map(|filter| index.matching(filter));
    facet_keys
        .iter()
        .map(|facet| {
            (
                facet.clone(),
                index.facet(&facet.to_lowercase(), ids.as_deref()),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn looks_up_paths_with_dotted_keys() {
        let value = json!({"metadata": {"name": "a", "annotations": {"backstage.io/x": "y"}}});
        assert_eq!(
            lookup(&value, "metadata.annotations.backstage.io/x"),
            Some(&json!("y"))
        );
        assert_eq!(lookup(&value, "metadata.name"), Some(&json!("a")));
        assert_eq!(lookup(&value, "metadata.missing"), None);
    }

    #[test]
    fn cursors_round_trip() {
        let query = EntityQuery {
            limit: Some(2),
            offset: 4,
            ..EntityQuery::default()
        };
        let decoded = EntityQuery::from_cursor(&query.cursor_at(6)).expect("valid cursor");
        assert_eq!(decoded, EntityQuery { offset: 6, ..query });
        assert!(EntityQuery::from_cursor("!!").is_err());
    }
}

//! Deciding what one read of a location changes: new and changed entities, orphans, deletions
//! and conflicts. [`plan_sync`] is pure; the catalog applies its result in one transaction.

use std::collections::HashSet;

use paved_model::entity::annotation;
use paved_model::problem::Problem;
use paved_store::{EntityWrite, LocationRow, LocationSync};
use serde_json::{Map, Value};

use crate::CatalogConfig;
use crate::index::Index;
use crate::ingest::Ingested;

/// What a refresh did.
#[derive(Debug, Default, Clone)]
pub struct RefreshOutcome {
    /// Entities inserted or changed.
    pub written: usize,
    pub unchanged: usize,
    /// Entities newly flagged as orphans.
    pub orphaned: usize,
    pub deleted: usize,
    pub problems: Vec<Problem>,
}

/// Compares what a location produced now with what the index holds for it.
///
/// - A new or changed entity is written; an unchanged one (same content hash) is not.
/// - An entity another location already provides is a conflict: reported, never overwritten.
/// - An entity the location no longer produces is flagged as an orphan
///   (`backstage.io/orphan: "true"`), then deleted at the first refresh after the grace period.
///   Entities from files that had problems, or from a location that could not be read, are
///   kept as they are: a typo must not delete what it breaks.
pub fn plan_sync(
    index: &Index,
    location: &LocationRow,
    ingested: Ingested,
    now: i64,
    config: &CatalogConfig,
) -> (LocationSync, RefreshOutcome) {
    let mut outcome = RefreshOutcome {
        problems: ingested.problems,
        ..RefreshOutcome::default()
    };
    let mut sync = LocationSync {
        location_id: Some(location.id.clone()),
        refreshed_at: now,
        next_refresh_at: now + config.refresh_interval.as_millis() as i64,
        ..LocationSync::default()
    };
    let mut produced: HashSet<String> = HashSet::with_capacity(ingested.candidates.len());
    for candidate in ingested.candidates {
        let existing = index.by_ref(&candidate.entity_ref);
        if let Some(existing) =
            existing.filter(|existing| existing.row.location_id.as_ref() != Some(&location.id))
        {
            let owner = existing
                .row
                .location_id
                .as_ref()
                .map(|id| id.to_string())
                .unwrap_or_else(|| "none".to_owned());
            outcome.problems.push(
                Problem::new(
                    "metadata.name",
                    "conflict",
                    format!("entity `{}` is already provided by location `{owner}`; this location's copy is ignored", candidate.entity_ref),
                )
                .in_document(&candidate.source, candidate.document_index),
            );
            continue;
        }
        produced.insert(candidate.entity_ref.clone());
        if let Some(existing) = existing
            && existing.row.content_hash == candidate.content_hash
            && existing.row.orphaned_at.is_none()
        {
            outcome.unchanged += 1;
            continue;
        }
        // An entity keeps its uid for life; a new one takes the uid it was read with.
        let (uid, body) = match existing {
            Some(existing) => (
                existing.row.uid.clone(),
                candidate.with_uid(&existing.row.uid),
            ),
            None => (candidate.uid, candidate.body),
        };
        sync.upserts.push(EntityWrite {
            entity_ref: candidate.entity_ref,
            uid,
            source: candidate.source,
            body,
            content_hash: candidate.content_hash,
            orphaned_at: None,
        });
        outcome.written += 1;
    }
    if !ingested.fatal {
        let grace = config.orphan_grace.as_millis() as i64;
        for entity_ref in index.refs_of_location(Some(&location.id)) {
            if produced.contains(entity_ref) {
                continue;
            }
            let Some(entity) = index.by_ref(entity_ref) else {
                continue;
            };
            if ingested.files_with_problems.contains(&entity.row.source) {
                continue;
            }
            match entity.row.orphaned_at {
                Some(orphaned_at) if now - orphaned_at >= grace => {
                    sync.deletes.push(entity_ref.to_owned());
                    outcome.deleted += 1;
                }
                Some(_) => {}
                None => {
                    let Ok(Value::Object(mut body)) =
                        serde_json::from_str::<Value>(&entity.row.body)
                    else {
                        continue;
                    };
                    set_annotation(&mut body, annotation::ORPHAN, "true");
                    sync.upserts.push(EntityWrite {
                        entity_ref: entity_ref.to_owned(),
                        uid: entity.row.uid.clone(),
                        source: entity.row.source.clone(),
                        body: Value::Object(body).to_string(),
                        content_hash: format!("orphan:{}", entity.row.content_hash),
                        orphaned_at: Some(now),
                    });
                    outcome.orphaned += 1;
                }
            }
        }
    }
    sync.problems = outcome.problems.clone();
    (sync, outcome)
}

fn set_annotation(body: &mut Map<String, Value>, key: &str, value: &str) {
    if let Some(Value::Object(metadata)) = body.get_mut("metadata") {
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(annotations) = annotations {
            annotations.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
}

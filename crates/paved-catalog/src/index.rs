//! The in-memory catalog index: every entity, its relations in both directions, and an
//! inverted index of field values for filters.
//!
//! The index is derived state. It is built from the store at start and follows the store's
//! change feed ([`Index::apply`]); losing it loses nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;

// foldhash: the index hashes millions of short keys while loading; SipHash was a tenth of the
// load time. It is seeded per process, which keeps crafted catalogs from degrading it.
use foldhash::HashMap;

use paved_model::entity::{Kind, Relation, reverse_relation};
use paved_model::ids::LocationId;
use paved_model::relations::entity_relations;
use paved_store::EntityRow;
use serde_json::Value;

use crate::filter::Filter;

/// Values longer than this are not indexed for filtering (API definitions, long descriptions),
/// as Backstage's search table skips them.
const MAX_INDEXED_VALUE_LENGTH: usize = 200;

pub(crate) type EntityId = u32;

/// One entity in the index.
#[derive(Debug)]
pub struct IndexedEntity {
    pub row: EntityRow,
    pub kind: Option<Kind>,
    /// Relations this entity's spec emits; the reverse ones live with their targets.
    pub emitted: Vec<Relation>,
}

#[derive(Debug, Default)]
struct Posting {
    /// The value as first written, for facets, when it differs from its lowercase key (most
    /// values are lowercase already, and storing them twice would cost memory).
    original: Option<Box<str>>,
    ids: Vec<EntityId>,
}

#[derive(Debug, Default)]
struct FieldPostings {
    values: HashMap<Box<str>, Posting>,
    /// Every entity that has the field, sorted.
    present: Vec<EntityId>,
}

/// A relation pointing at an entity, seen from that entity.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Incoming {
    relation_type: &'static str,
    source_ref: Box<str>,
}

#[derive(Debug, Default)]
pub struct Index {
    slots: Vec<Option<IndexedEntity>>,
    free: Vec<EntityId>,
    by_ref: BTreeMap<Box<str>, EntityId>,
    by_uid: HashMap<Box<str>, EntityId>,
    fields: HashMap<Box<str>, FieldPostings>,
    incoming: HashMap<Box<str>, Vec<Incoming>>,
    by_location: HashMap<Option<LocationId>, BTreeMap<Box<str>, ()>>,
    /// The store revision this index reflects.
    pub revision: i64,
}

impl Index {
    pub fn len(&self) -> usize {
        self.by_ref.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_ref.is_empty()
    }

    pub fn by_ref(&self, entity_ref: &str) -> Option<&IndexedEntity> {
        self.by_ref.get(entity_ref).and_then(|&id| self.slot(id))
    }

    pub fn by_uid(&self, uid: &str) -> Option<&IndexedEntity> {
        self.by_uid.get(uid).and_then(|&id| self.slot(id))
    }

    /// The references of every entity a location produced, sorted.
    pub fn refs_of_location(&self, location_id: Option<&LocationId>) -> impl Iterator<Item = &str> {
        self.by_location
            .get(&location_id.cloned())
            .into_iter()
            .flat_map(|refs| refs.keys().map(|key| &**key))
    }

    pub(crate) fn slot(&self, id: EntityId) -> Option<&IndexedEntity> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }

    /// Every relation of an entity, its own and the reverse of those pointing at it, sorted.
    pub fn relations_of<'a>(&'a self, entity: &'a IndexedEntity) -> Vec<(&'a str, &'a str)> {
        let mut relations: Vec<(&str, &str)> = entity
            .emitted
            .iter()
            .map(|relation| {
                (
                    relation.relation_type.as_ref(),
                    relation.target_ref.as_str(),
                )
            })
            .collect();
        if let Some(incoming) = self.incoming.get(entity.row.entity_ref.as_str()) {
            relations.extend(
                incoming
                    .iter()
                    .map(|incoming| (incoming.relation_type, &*incoming.source_ref)),
            );
        }
        relations.sort_unstable();
        relations.dedup();
        relations
    }

    /// The entity as the API returns it: its stored body with `relations` added.
    pub fn render(&self, entity: &IndexedEntity) -> String {
        let mut out = String::with_capacity(entity.row.body.len() + 256);
        self.render_into(entity, &mut out);
        out
    }

    /// Appends the rendered entity to `out`; pages are built in one buffer this way.
    pub fn render_into(&self, entity: &IndexedEntity, out: &mut String) {
        let body = entity.row.body.trim_end();
        // INVARIANT: bodies are JSON objects without `relations` (see `ingest::candidate_from`).
        let without_brace = body.strip_suffix('}').unwrap_or(body);
        out.push_str(without_brace);
        if !without_brace.trim_end().ends_with('{') {
            out.push(',');
        }
        out.push_str("\"relations\":[");
        for (position, (relation_type, target_ref)) in
            self.relations_of(entity).into_iter().enumerate()
        {
            if position > 0 {
                out.push(',');
            }
            out.push_str("{\"type\":");
            push_json_string(out, relation_type);
            out.push_str(",\"targetRef\":");
            push_json_string(out, target_ref);
            out.push('}');
        }
        out.push_str("]}");
    }

    /// Replaces or inserts entities and removes deleted ones, keeping relations and postings
    /// consistent. Rows must carry valid JSON bodies.
    pub fn apply(&mut self, upserted: Vec<EntityRow>, deleted: &[String], revision: i64) {
        for entity_ref in deleted {
            self.remove(entity_ref);
        }
        // In chunks, so the derived pairs of a large refresh are never all in memory at once.
        const CHUNK: usize = 4096;
        let mut rows = upserted.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<EntityRow> = rows.by_ref().take(CHUNK).collect();
            for prepared in prepare_all(chunk) {
                self.remove(&prepared.row.entity_ref);
                self.insert(prepared);
            }
        }
        self.revision = self.revision.max(revision);
    }

    fn insert(&mut self, prepared: Prepared) {
        let Prepared {
            row,
            kind,
            emitted,
            mut pairs,
        } = prepared;
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as EntityId
            }
        };
        let entity_ref: Box<str> = row.entity_ref.as_str().into();
        for relation in &emitted {
            pairs.push((
                relation_key(&relation.relation_type),
                relation.target_ref.clone(),
            ));
            self.incoming
                .entry(relation.target_ref.as_str().into())
                .or_default()
                .push(Incoming {
                    relation_type: reverse_relation(&relation.relation_type),
                    source_ref: entity_ref.clone(),
                });
            if let Some(&target_id) = self.by_ref.get(relation.target_ref.as_str()) {
                let key = relation_key(reverse_relation(&relation.relation_type));
                self.add_posting(&key, &row.entity_ref, target_id);
            }
        }
        if let Some(incoming) = self.incoming.get(&entity_ref) {
            for incoming in incoming {
                pairs.push((
                    relation_key(incoming.relation_type),
                    incoming.source_ref.to_string(),
                ));
            }
        }
        for (key, value) in &pairs {
            self.add_posting(key, value, id);
        }
        self.by_ref.insert(entity_ref.clone(), id);
        self.by_uid.insert(row.uid.as_str().into(), id);
        self.by_location
            .entry(row.location_id.clone())
            .or_default()
            .insert(entity_ref, ());
        self.slots[id as usize] = Some(IndexedEntity { row, kind, emitted });
    }

    fn remove(&mut self, entity_ref: &str) {
        let Some(id) = self.by_ref.remove(entity_ref) else {
            return;
        };
        let Some(entity) = self.slots[id as usize].take() else {
            return;
        };
        self.free.push(id);
        self.by_uid.remove(entity.row.uid.as_str());
        if let Some(refs) = self.by_location.get_mut(&entity.row.location_id) {
            refs.remove(entity_ref);
        }
        let mut pairs = Vec::new();
        if let Ok(body) = serde_json::from_str::<Value>(&entity.row.body) {
            flatten(&body, &mut String::new(), &mut pairs);
        }
        if let Some(incoming) = self.incoming.get(entity_ref) {
            for incoming in incoming {
                pairs.push((
                    relation_key(incoming.relation_type),
                    incoming.source_ref.to_string(),
                ));
            }
        }
        for relation in &entity.emitted {
            pairs.push((
                relation_key(&relation.relation_type),
                relation.target_ref.clone(),
            ));
            let reverse = reverse_relation(&relation.relation_type);
            if let Some(incoming) = self.incoming.get_mut(relation.target_ref.as_str()) {
                if let Some(position) = incoming.iter().position(|item| {
                    item.relation_type == reverse && &*item.source_ref == entity_ref
                }) {
                    incoming.swap_remove(position);
                }
                if incoming.is_empty() {
                    self.incoming.remove(relation.target_ref.as_str());
                }
            }
            if let Some(&target_id) = self.by_ref.get(relation.target_ref.as_str()) {
                let key = relation_key(reverse);
                // The target may declare the same relation itself (a group's `parent` and its
                // parent's `children`); then it keeps it, and its posting, after this entity goes.
                let target_declares_it = self.slot(target_id).is_some_and(|target| {
                    target
                        .emitted
                        .iter()
                        .any(|own| own.relation_type == reverse && own.target_ref == entity_ref)
                });
                if !target_declares_it {
                    self.remove_posting(&key, entity_ref, target_id);
                }
                let target_keeps_type = self.slot(target_id).is_some_and(|target| {
                    self.relations_of(target)
                        .iter()
                        .any(|(relation_type, _)| *relation_type == reverse)
                });
                if !target_keeps_type {
                    self.drop_presence(&key, target_id);
                }
            }
        }
        for (key, value) in &pairs {
            self.remove_posting(key, value, id);
        }
        let mut keys: Vec<&str> = pairs.iter().map(|(key, _)| key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            self.drop_presence(key, id);
        }
    }

    fn add_posting(&mut self, key: &str, value: &str, id: EntityId) {
        // Look up before inserting: `entry` would allocate a key on every call.
        if !self.fields.contains_key(key) {
            self.fields.insert(key.into(), FieldPostings::default());
        }
        let field = self.fields.get_mut(key).expect("inserted above");
        insert_sorted(&mut field.present, id);
        let lowercase = lowercase(value);
        match field.values.get_mut(lowercase.as_ref()) {
            Some(posting) => insert_sorted(&mut posting.ids, id),
            None => {
                let original = (lowercase.as_ref() != value).then(|| value.into());
                field.values.insert(
                    lowercase.as_ref().into(),
                    Posting {
                        original,
                        ids: vec![id],
                    },
                );
            }
        }
    }

    /// Removes `id` from the posting of `value`; the caller drops the key's presence when the
    /// entity has no value left under it ([`Index::drop_presence`]).
    fn remove_posting(&mut self, key: &str, value: &str, id: EntityId) {
        let Some(field) = self.fields.get_mut(key) else {
            return;
        };
        let lowercase = lowercase(value);
        if let Some(posting) = field.values.get_mut(lowercase.as_ref()) {
            remove_sorted(&mut posting.ids, id);
            if posting.ids.is_empty() {
                field.values.remove(lowercase.as_ref());
            }
        }
    }

    fn drop_presence(&mut self, key: &str, id: EntityId) {
        let Some(field) = self.fields.get_mut(key) else {
            return;
        };
        remove_sorted(&mut field.present, id);
        if field.present.is_empty() {
            self.fields.remove(key);
        }
    }

    /// Every entity id in reference order.
    pub(crate) fn ids_in_ref_order(&self) -> impl Iterator<Item = EntityId> + '_ {
        self.by_ref.values().copied()
    }

    /// The ids matching `filter`, sorted by id.
    pub(crate) fn matching(&self, filter: &Filter) -> Cow<'_, [EntityId]> {
        match filter {
            Filter::Equals { key, values } => {
                let Some(field) = self.fields.get(key.as_str()) else {
                    return Cow::Owned(Vec::new());
                };
                let mut postings = values
                    .iter()
                    .filter_map(|value| field.values.get(value.as_str()))
                    .map(|posting| posting.ids.as_slice());
                match (postings.next(), postings.next()) {
                    (None, _) => Cow::Owned(Vec::new()),
                    (Some(only), None) => Cow::Borrowed(only),
                    (Some(first), Some(second)) => {
                        let mut union = union_sorted(first, second);
                        for posting in postings {
                            union = union_sorted(&union, posting);
                        }
                        Cow::Owned(union)
                    }
                }
            }
            Filter::Exists { key } => match self.fields.get(key.as_str()) {
                Some(field) => Cow::Borrowed(field.present.as_slice()),
                None => Cow::Owned(Vec::new()),
            },
            Filter::HasPrefix { key, prefix } => {
                let Some(field) = self.fields.get(key.as_str()) else {
                    return Cow::Owned(Vec::new());
                };
                let mut ids: Vec<EntityId> = field
                    .values
                    .iter()
                    .filter(|(value, _)| value.starts_with(prefix.as_str()))
                    .flat_map(|(_, posting)| posting.ids.iter().copied())
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                Cow::Owned(ids)
            }
            Filter::All(children) => {
                let mut sets: Vec<Cow<'_, [EntityId]>> =
                    children.iter().map(|child| self.matching(child)).collect();
                sets.sort_by_key(|set| set.len());
                let mut sets = sets.into_iter();
                let Some(first) = sets.next() else {
                    return Cow::Owned(self.all_ids());
                };
                let mut result = first;
                for set in sets {
                    result = Cow::Owned(
                        result
                            .iter()
                            .copied()
                            .filter(|id| set.binary_search(id).is_ok())
                            .collect(),
                    );
                }
                result
            }
            Filter::Any(children) => {
                let mut result: Vec<EntityId> = Vec::new();
                for child in children {
                    result = union_sorted(&result, &self.matching(child));
                }
                Cow::Owned(result)
            }
            Filter::Not(child) => {
                let excluded = self.matching(child);
                Cow::Owned(
                    self.all_ids()
                        .into_iter()
                        .filter(|id| excluded.binary_search(id).is_err())
                        .collect(),
                )
            }
        }
    }

    fn all_ids(&self) -> Vec<EntityId> {
        (0..self.slots.len() as EntityId)
            .filter(|&id| self.slots[id as usize].is_some())
            .collect()
    }

    /// Ids of entities with a value containing `term` (lowercase) under one of `keys`
    /// (every key when empty).
    pub(crate) fn full_text(&self, term: &str, keys: &[String]) -> Vec<EntityId> {
        let mut ids = Vec::new();
        for (key, field) in &self.fields {
            if !keys.is_empty() && !keys.iter().any(|wanted| wanted.as_str() == &**key) {
                continue;
            }
            for (value, posting) in &field.values {
                if value.contains(term) {
                    ids.extend_from_slice(&posting.ids);
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// For facet `key`, each original value and how many of `ids` (sorted; all when None) have it.
    pub(crate) fn facet(&self, key: &str, ids: Option<&[EntityId]>) -> Vec<(String, usize)> {
        let Some(field) = self.fields.get(key) else {
            return Vec::new();
        };
        let mut counts: Vec<(String, usize)> = field
            .values
            .iter()
            .map(|(value, posting)| {
                let count = match ids {
                    None => posting.ids.len(),
                    Some(ids) => posting
                        .ids
                        .iter()
                        .filter(|id| ids.binary_search(id).is_ok())
                        .count(),
                };
                (
                    posting.original.as_deref().unwrap_or(value).to_owned(),
                    count,
                )
            })
            .filter(|(_, count)| *count > 0)
            .collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }
}

/// An entity row with everything derived from its body, computed off the index lock.
struct Prepared {
    row: EntityRow,
    kind: Option<Kind>,
    emitted: Vec<Relation>,
    /// Flattened `(key, value)` pairs of the body; relation pairs are added at insertion.
    pairs: Vec<(String, String)>,
}

fn prepare(row: EntityRow) -> Option<Prepared> {
    let body: Value = match serde_json::from_str(&row.body) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(entity_ref = %row.entity_ref, %error, "stored entity body is not JSON; skipped");
            return None;
        }
    };
    let kind = body
        .get("kind")
        .and_then(Value::as_str)
        .and_then(Kind::parse);
    let emitted = entity_relations(&body).0;
    let mut pairs = Vec::new();
    flatten(&body, &mut String::new(), &mut pairs);
    Some(Prepared {
        row,
        kind,
        emitted,
        pairs,
    })
}

/// Prepares rows on all cores when there are enough to be worth it (start, large refreshes).
fn prepare_all(rows: Vec<EntityRow>) -> Vec<Prepared> {
    const PARALLEL_FROM: usize = 512;
    let threads = std::thread::available_parallelism()
        .map(|count| count.get())
        .unwrap_or(1);
    if rows.len() < PARALLEL_FROM || threads < 2 {
        return rows.into_iter().filter_map(prepare).collect();
    }
    let chunk_size = rows.len().div_ceil(threads);
    let mut chunks: Vec<Vec<EntityRow>> = Vec::with_capacity(threads);
    let mut rows = rows.into_iter();
    loop {
        let chunk: Vec<EntityRow> = rows.by_ref().take(chunk_size).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || chunk.into_iter().filter_map(prepare).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("index preparation does not panic"))
            .collect()
    })
}

fn relation_key(relation_type: &str) -> String {
    format!("relations.{}", relation_type.to_lowercase())
}

/// Flattens an entity into `(key, value)` pairs as Backstage's search table does: dotted
/// lowercase keys, list elements under their list's key, scalars as text. `relations` and
/// `status` are left out (relations are indexed from the relation graph).
fn flatten(value: &Value, prefix: &mut String, pairs: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if prefix.is_empty() && (key == "relations" || key == "status") {
                    continue;
                }
                let length = prefix.len();
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(&lowercase(key));
                flatten(child, prefix, pairs);
                prefix.truncate(length);
            }
        }
        Value::Array(items) => {
            for item in items {
                flatten(item, prefix, pairs);
            }
        }
        Value::String(text) => {
            // The etag changes with every edit and identifies nothing; not worth an index.
            if text.len() <= MAX_INDEXED_VALUE_LENGTH && prefix != "metadata.etag" {
                pairs.push((prefix.clone(), text.clone()));
            }
        }
        Value::Bool(flag) => pairs.push((prefix.clone(), flag.to_string())),
        Value::Number(number) => pairs.push((prefix.clone(), number.to_string())),
        Value::Null => {}
    }
}

/// Appends `text` as a JSON string. Relation types and entity references never need escaping
/// (their characters are validated), so the common case is a plain copy.
fn push_json_string(out: &mut String, text: &str) {
    if text
        .bytes()
        .any(|byte| byte == b'"' || byte == b'\\' || byte < 0x20)
    {
        out.push_str(&Value::String(text.to_owned()).to_string());
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

/// Lowercase, without allocating for text that is lowercase already.
fn lowercase(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_uppercase) {
        Cow::Owned(text.to_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

fn insert_sorted(ids: &mut Vec<EntityId>, id: EntityId) {
    match ids.last() {
        Some(&last) if last < id => ids.push(id),
        None => ids.push(id),
        _ => {
            if let Err(position) = ids.binary_search(&id) {
                ids.insert(position, id);
            }
        }
    }
}

fn remove_sorted(ids: &mut Vec<EntityId>, id: EntityId) {
    if let Ok(position) = ids.binary_search(&id) {
        ids.remove(position);
    }
}

fn union_sorted(left: &[EntityId], right: &[EntityId]) -> Vec<EntityId> {
    let mut result = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        match left[i].cmp(&right[j]) {
            std::cmp::Ordering::Less => {
                result.push(left[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                result.push(right[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                result.push(left[i]);
                i += 1;
                j += 1;
            }
        }
    }
    result.extend_from_slice(&left[i..]);
    result.extend_from_slice(&right[j..]);
    result
}

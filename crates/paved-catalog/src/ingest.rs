//! Reads a location's files and turns them into candidate entities: parse every document,
//! validate it, follow Location entities, and report each problem with its file, document,
//! line, field and rule.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use paved_model::entity::{Kind, annotation};
use paved_model::entity_ref::{DEFAULT_NAMESPACE, EntityRef};
use paved_model::problem::Problem;
use paved_model::validation::validate_entity_with_references;
use paved_model::yaml::{Document, parse_documents};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::budget;
use crate::placeholder::{self, PlaceholderContext};
use crate::source::{self, FileOrigin, LocationTarget, ReadContext, SourceFile};

/// How deep Location entities may nest before the chain is treated as a loop.
const MAX_LOCATION_DEPTH: usize = 8;

/// An entity read from a location, serialized as it will be stored.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Canonical lowercase reference.
    pub entity_ref: String,
    /// The entity as JSON, without `relations` or `status`, with a fresh `metadata.uid` and
    /// `metadata.etag` (the content hash).
    pub body: String,
    /// The fresh uid in `body`; an entity that already exists keeps its own
    /// ([`Candidate::with_uid`]).
    pub uid: String,
    /// A hash of the entity as read (before uid and etag), to skip unchanged entities.
    pub content_hash: String,
    /// The file that produced it, and the document's index in that file.
    pub source: String,
    pub document_index: usize,
}

impl Candidate {
    /// The body with `uid` in place of the fresh one. The fresh uid is a random UUID, so it
    /// occurs in the body exactly once, as `metadata.uid`.
    pub fn with_uid(&self, uid: &str) -> String {
        self.body.replacen(
            &format!("\"uid\":\"{}\"", self.uid),
            &format!("\"uid\":{}", Value::String(uid.to_owned())),
            1,
        )
    }
}

/// Everything one read of a location produced.
#[derive(Debug, Default)]
pub struct Ingested {
    pub candidates: Vec<Candidate>,
    pub problems: Vec<Problem>,
    /// Files with at least one problem: entities they produced before are kept as they were
    /// rather than treated as removed.
    pub files_with_problems: HashSet<String>,
    /// The location could not be read at all; nothing should be treated as removed.
    pub fatal: bool,
}

/// At most this many problems are kept from one read; the rest are counted in one more.
pub const MAX_PROBLEMS: usize = 1000;

/// Reads and validates everything a location target produces, within `context`'s budget.
/// A read the budget stopped is fatal, with one problem naming the limit.
pub fn ingest(
    target: &LocationTarget,
    origin_location: &str,
    git_cache: &Path,
    context: &ReadContext,
) -> Ingested {
    let mut ingested = ingest_unbounded_problems(target, origin_location, git_cache, context);
    if let Some(stop) = context.budget.stopped() {
        ingested.fatal = true;
        ingested.problems.retain(|problem| {
            problem.rule != budget::READ_LIMIT_RULE && problem.rule != budget::CANCELLED_RULE
        });
        ingested
            .problems
            .insert(0, stop.problem(context.budget.limits()));
    }
    if ingested.problems.len() > MAX_PROBLEMS {
        let more = ingested.problems.len() - MAX_PROBLEMS;
        ingested.problems.truncate(MAX_PROBLEMS);
        ingested.problems.push(Problem::whole(
            "too-many-problems",
            format!("{more} more problems are not shown; at most {MAX_PROBLEMS} are kept"),
        ));
    }
    ingested
}

fn ingest_unbounded_problems(
    target: &LocationTarget,
    origin_location: &str,
    git_cache: &Path,
    context: &ReadContext,
) -> Ingested {
    let mut ingested = Ingested::default();
    let mut git_files: HashMap<String, SourceFile> = HashMap::new();
    let entry = match target {
        LocationTarget::File { pattern, root } => {
            let (files, fatal) = source::read_local(pattern, root, context, &mut ingested.problems);
            ingested.fatal = fatal;
            files
        }
        LocationTarget::Git {
            repository,
            reference,
            path,
        } => {
            let (entry, others, fatal) = source::read_git(
                git_cache,
                repository,
                reference.as_deref(),
                path,
                context,
                &mut ingested.problems,
            );
            ingested.fatal = fatal;
            for file in entry.iter().chain(others.iter()) {
                git_files.insert(file.name.clone(), file.clone());
            }
            entry
        }
        LocationTarget::Url { url } => match context.read_url(url) {
            Ok(file) => vec![file],
            Err(problem) => {
                ingested.problems.push(problem);
                ingested.fatal = true;
                Vec::new()
            }
        },
    };
    mark_problem_files(&mut ingested);
    let mut seen_files: HashSet<String> = entry.iter().map(|file| file.name.clone()).collect();
    let mut defined_at: HashMap<String, (String, usize)> = HashMap::new();
    let mut batch = entry;
    for depth in 0..=MAX_LOCATION_DEPTH {
        if batch.is_empty() || context.budget.check().is_err() {
            break;
        }
        let file_context = FileContext {
            origin_location,
            git_files: &git_files,
            git_cache,
            follow_targets: depth < MAX_LOCATION_DEPTH,
            read: context,
        };
        let mut next = Vec::new();
        for (file, outcome) in batch.iter().zip(process_in_parallel(&batch, &file_context)) {
            let mut problems = outcome.problems;
            for candidate in outcome.candidates {
                match defined_at.get(&candidate.entity_ref) {
                    Some((other_file, other_index)) => problems.push(
                        Problem::new(
                            "metadata.name",
                            "conflict",
                            format!(
                                "entity `{}` is also defined in `{other_file}` document {other_index}; this copy is ignored",
                                candidate.entity_ref
                            ),
                        )
                        .in_document(&file.name, candidate.document_index),
                    ),
                    None => {
                        defined_at.insert(candidate.entity_ref.clone(), (file.name.clone(), candidate.document_index));
                        ingested.candidates.push(candidate);
                    }
                }
            }
            for target_file in outcome.targets {
                if seen_files.insert(target_file.name.clone()) {
                    next.push(target_file);
                }
            }
            if problems.iter().any(Problem::is_error) {
                ingested.files_with_problems.insert(file.name.clone());
            }
            ingested.problems.extend(problems);
        }
        batch = next;
    }
    ingested
}

/// What every file of one read shares.
struct FileContext<'a> {
    origin_location: &'a str,
    git_files: &'a HashMap<String, SourceFile>,
    git_cache: &'a Path,
    /// False at the deepest level: Location targets there are reported, not followed.
    follow_targets: bool,
    read: &'a ReadContext,
}

/// What one file produced.
#[derive(Default)]
struct FileOutcome {
    candidates: Vec<Candidate>,
    problems: Vec<Problem>,
    /// Files that Location entities in this file point at.
    targets: Vec<SourceFile>,
}

/// Parses, validates and serializes one file's documents. Each document's parsed form is
/// dropped as soon as it is serialized, which keeps memory flat on large catalogs.
fn process_file(file: &SourceFile, context: &FileContext<'_>) -> FileOutcome {
    if context.read.budget.check().is_err() {
        return FileOutcome::default();
    }
    let parsed = parse_documents(&file.name, &file.text);
    let mut outcome = FileOutcome {
        problems: parsed.problems,
        ..FileOutcome::default()
    };
    for mut document in parsed.documents {
        let mut document_problems = Vec::new();
        let mut value = std::mem::take(&mut document.value);
        let placeholders_failed = substitute_placeholders(
            &mut value,
            &PlaceholderContext {
                file,
                read: context.read,
                git_files: context.git_files,
            },
            document.index,
            &mut document_problems,
        );
        if placeholders_failed {
            outcome
                .problems
                .extend(with_lines(&document, document_problems));
            continue;
        }
        if let Some((entity_ref, body)) = candidate_from(
            &file.name,
            &file_location(file),
            document.index,
            value,
            context.origin_location,
            &mut document_problems,
        ) {
            if body_kind(&body) == Some(Kind::Location) {
                let targets =
                    location_targets(file, &document, &body, &mut document_problems, context);
                if context.follow_targets {
                    outcome.targets.extend(targets);
                } else if !targets.is_empty() {
                    document_problems.push(
                        Problem::new(
                            "spec.targets",
                            "location-depth",
                            format!("Location entities nest deeper than {MAX_LOCATION_DEPTH} levels; targets not followed"),
                        )
                        .in_document(&file.name, document.index),
                    );
                }
            }
            outcome.candidates.push(serialize_candidate(
                entity_ref,
                body,
                &file.name,
                document.index,
            ));
        }
        outcome
            .problems
            .extend(with_lines(&document, document_problems));
    }
    outcome
}

fn serialize_candidate(
    entity_ref: String,
    mut body: Map<String, Value>,
    source: &str,
    document_index: usize,
) -> Candidate {
    let content_hash = hash_text(&serde_json::to_string(&body).expect("JSON values serialize"));
    let uid = uuid::Uuid::new_v4().to_string();
    if let Some(Value::Object(metadata)) = body.get_mut("metadata") {
        metadata.insert("uid".to_owned(), Value::String(uid.clone()));
        metadata.insert("etag".to_owned(), Value::String(content_hash.clone()));
    }
    Candidate {
        entity_ref,
        body: Value::Object(body).to_string(),
        uid,
        content_hash,
        source: source.to_owned(),
        document_index,
    }
}

/// The first 128 bits of SHA-256, in hex.
pub(crate) fn hash_text(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Processes files on all cores; catalog files are independent of each other. Outcomes come
/// back in the order of `files`.
fn process_in_parallel(files: &[SourceFile], context: &FileContext<'_>) -> Vec<FileOutcome> {
    let threads = std::thread::available_parallelism()
        .map(|count| count.get())
        .unwrap_or(1)
        .min(files.len())
        .max(1);
    let chunk_size = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk_size)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|file| process_file(file, context))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("ingest threads do not panic"))
            .collect()
    })
}

/// Fills in the line of each problem from the field it names.
fn with_lines<'a>(
    document: &'a Document<'_>,
    problems: Vec<Problem>,
) -> impl Iterator<Item = Problem> + 'a {
    problems.into_iter().map(move |mut problem| {
        if problem.line.is_none() {
            problem.line = Some(match problem.field.as_deref() {
                Some(field) if !field.is_empty() => document.line_of(field),
                _ => document.first_line,
            });
        }
        problem
    })
}

/// Substitutes the placeholders of one document; true when one could not be, and the
/// document is refused (as Backstage refuses it).
fn substitute_placeholders(
    value: &mut Value,
    context: &PlaceholderContext<'_>,
    document_index: usize,
    problems: &mut Vec<Problem>,
) -> bool {
    let mut found = Vec::new();
    placeholder::substitute(value, context, &mut found);
    let failed = found.iter().any(Problem::is_error);
    problems.extend(
        found
            .into_iter()
            .map(|problem| problem.in_document(&context.file.name, document_index)),
    );
    failed
}

/// What `paved catalog validate` reports for one file.
#[derive(Debug, Default)]
pub struct FileReport {
    /// References of the valid entities.
    pub entity_refs: Vec<String>,
    pub problems: Vec<Problem>,
}

/// Validates one file offline with the rules a location applies (Location targets are not
/// followed). Placeholders are substituted from local files within `context`'s budget,
/// anywhere on the file system (the user's own files); URLs are not read.
pub fn validate_file(name: &str, text: &str, context: &ReadContext) -> FileReport {
    let parsed = parse_documents(name, text);
    let mut report = FileReport {
        problems: parsed.problems,
        ..FileReport::default()
    };
    let path = std::path::absolute(name).unwrap_or_else(|_| name.into());
    let file = SourceFile {
        name: name.to_owned(),
        text: String::new(),
        origin: FileOrigin::Local {
            path,
            root: "/".into(),
        },
    };
    let git_files = HashMap::new();
    let placeholder_context = PlaceholderContext {
        file: &file,
        read: context,
        git_files: &git_files,
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for mut document in parsed.documents {
        let mut document_problems = Vec::new();
        let mut value = std::mem::take(&mut document.value);
        if substitute_placeholders(
            &mut value,
            &placeholder_context,
            document.index,
            &mut document_problems,
        ) {
            report
                .problems
                .extend(with_lines(&document, document_problems));
            continue;
        }
        if let Some((entity_ref, _)) = candidate_from(
            &file.name,
            &file_location(&file),
            document.index,
            value,
            "file:validate",
            &mut document_problems,
        ) {
            match seen.get(&entity_ref) {
                Some(other_index) => document_problems.push(
                    Problem::new(
                        "metadata.name",
                        "conflict",
                        format!("entity `{entity_ref}` is also defined in document {other_index}"),
                    )
                    .in_document(name, document.index),
                ),
                None => {
                    seen.insert(entity_ref.clone(), document.index);
                    report.entity_refs.push(entity_ref);
                }
            }
        }
        report
            .problems
            .extend(with_lines(&document, document_problems));
    }
    report
        .problems
        .sort_by_key(|problem| (problem.document_index, problem.line));
    report
}

fn mark_problem_files(ingested: &mut Ingested) {
    for problem in ingested
        .problems
        .iter()
        .filter(|problem| problem.is_error())
    {
        if let Some(file) = &problem.file {
            ingested.files_with_problems.insert(file.clone());
        }
    }
}

fn body_kind(body: &Map<String, Value>) -> Option<Kind> {
    body.get("kind")
        .and_then(Value::as_str)
        .and_then(Kind::parse)
}

/// Validates one document and prepares its body; problems go to `problems`.
/// Validates one document's value and prepares its body: default namespace, location
/// annotations, no uid, etag, relations or status. Returns the reference and the body.
fn candidate_from(
    source_name: &str,
    managed_by: &str,
    document_index: usize,
    value: Value,
    origin_location: &str,
    problems: &mut Vec<Problem>,
) -> Option<(String, Map<String, Value>)> {
    let found = validate_entity_with_references(&value);
    let has_errors = found.iter().any(Problem::is_error);
    problems.extend(
        found
            .into_iter()
            .map(|problem| problem.in_document(source_name, document_index)),
    );
    if has_errors {
        return None;
    }
    let Value::Object(mut body) = value else {
        unreachable!("a valid entity is a mapping");
    };
    let namespace = body
        .get("metadata")
        .and_then(|metadata| metadata.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_owned();
    let kind_name = body
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let metadata = body
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .expect("validated entities have metadata");
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    metadata.insert("namespace".to_owned(), Value::String(namespace.clone()));
    metadata.remove("uid");
    metadata.remove("etag");
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(annotations) = annotations {
        annotations.insert(
            annotation::MANAGED_BY_LOCATION.to_owned(),
            Value::String(managed_by.to_owned()),
        );
        annotations.insert(
            annotation::MANAGED_BY_ORIGIN_LOCATION.to_owned(),
            Value::String(origin_location.to_owned()),
        );
    }
    body.remove("relations");
    body.remove("status");
    Some((EntityRef::new(&kind_name, &namespace, &name).key(), body))
}

/// Entities a part of Paved provides (the template registry's Template entities, say), made
/// ready for the catalog as if read from location `paved:{provider}`. Invalid ones are problems.
pub fn provided(provider: &str, entities: Vec<Value>) -> Ingested {
    let location = format!("{PROVIDED_LOCATION_TYPE}:{provider}");
    let mut ingested = Ingested::default();
    for (index, value) in entities.into_iter().enumerate() {
        if let Some((entity_ref, body)) = candidate_from(
            &location,
            &location,
            index,
            value,
            &location,
            &mut ingested.problems,
        ) {
            ingested
                .candidates
                .push(serialize_candidate(entity_ref, body, &location, index));
        }
    }
    ingested
}

/// The location type of entities Paved itself provides: never read from a source, never
/// refreshed, not removable through the locations API.
pub const PROVIDED_LOCATION_TYPE: &str = "paved";

/// The `type:target` of the file itself, for `backstage.io/managed-by-location`.
fn file_location(file: &SourceFile) -> String {
    match &file.origin {
        FileOrigin::Local { path, .. } => format!("file:{}", path.display()),
        FileOrigin::Git { repository, path } => format!("git:{repository}#path={path}"),
        FileOrigin::Url { url } => format!("url:{url}"),
    }
}

/// The files a Location entity points at, resolved against the file it is in.
fn location_targets(
    file: &SourceFile,
    document: &Document,
    body: &Map<String, Value>,
    problems: &mut Vec<Problem>,
    context: &FileContext<'_>,
) -> Vec<SourceFile> {
    let git_files = context.git_files;
    let spec = body.get("spec").and_then(Value::as_object);
    let spec_type = spec
        .and_then(|spec| spec.get("type"))
        .and_then(Value::as_str);
    let mut targets: Vec<(String, &str)> = Vec::new();
    if let Some(target) = spec
        .and_then(|spec| spec.get("target"))
        .and_then(Value::as_str)
    {
        targets.push(("spec.target".to_owned(), target));
    }
    if let Some(list) = spec
        .and_then(|spec| spec.get("targets"))
        .and_then(Value::as_array)
    {
        for (index, target) in list.iter().enumerate() {
            if let Some(target) = target.as_str() {
                targets.push((format!("spec.targets[{index}]"), target));
            }
        }
    }
    let mut files = Vec::new();
    for (field, target) in targets {
        let problem = |rule: &str, message: String| {
            Problem::new(&field, rule, message).in_document(&file.name, document.index)
        };
        // A problem of reading the target, told as one of this field.
        let read_problem = |read_problem: Problem| Problem {
            field: Some(field.clone()),
            document_index: Some(document.index),
            file: Some(file.name.clone()),
            message: format!("target `{target}`: {}", read_problem.message),
            ..read_problem
        };
        match (&file.origin, spec_type) {
            (FileOrigin::Local { path, root }, None | Some("file")) => {
                let base = path.parent().unwrap_or(root);
                let resolved =
                    source::normalize(&base.join(target.strip_prefix("file://").unwrap_or(target)));
                if !resolved.starts_with(root) {
                    problems.push(problem(
                        "path-escape",
                        format!("target `{target}` resolves to `{}`, outside the location's directory `{}`", resolved.display(), root.display()),
                    ));
                    continue;
                }
                let mut read_problems = Vec::new();
                let (found, _) =
                    source::read_local(&resolved, root, context.read, &mut read_problems);
                if found.is_empty() && read_problems.is_empty() {
                    read_problems.push(problem(
                        "not-found",
                        format!("target `{target}` matches no file"),
                    ));
                }
                problems.extend(read_problems.into_iter().map(read_problem));
                files.extend(found);
            }
            (FileOrigin::Git { repository, path }, None) => {
                let directory = Path::new(path).parent().unwrap_or(Path::new(""));
                let resolved = source::normalize(&directory.join(target));
                if target.starts_with('/')
                    || resolved
                        .components()
                        .any(|part| matches!(part, std::path::Component::ParentDir))
                    || escapes(directory, target)
                {
                    problems.push(problem(
                        "path-escape",
                        format!("target `{target}` leaves the repository"),
                    ));
                    continue;
                }
                let name = format!("{repository}#{}", resolved.display());
                match git_files.get(&name) {
                    Some(found) => files.push(found.clone()),
                    None => problems.push(problem(
                        "not-found",
                        format!("target `{target}` is not a YAML file in `{repository}`"),
                    )),
                }
            }
            (FileOrigin::Url { url }, None | Some("url")) => {
                match context.read.resolve_url(target, url) {
                    Ok(resolved) => match context.read.read_url(&resolved) {
                        Ok(found) => files.push(found),
                        Err(error) => problems.push(read_problem(error)),
                    },
                    Err(message) => problems.push(problem("target", message)),
                }
            }
            (_, Some(location_type @ ("git" | "url"))) => {
                match LocationTarget::parse(location_type, target, Path::new("/")) {
                    Ok(LocationTarget::Git {
                        repository,
                        reference,
                        path,
                    }) => {
                        let mut read_problems = Vec::new();
                        let (found, _, _) = source::read_git(
                            context.git_cache,
                            &repository,
                            reference.as_deref(),
                            &path,
                            context.read,
                            &mut read_problems,
                        );
                        problems.extend(read_problems.into_iter().map(read_problem));
                        files.extend(found);
                    }
                    Ok(LocationTarget::Url { url }) => match context.read.read_url(&url) {
                        Ok(found) => files.push(found),
                        Err(error) => problems.push(read_problem(error)),
                    },
                    Ok(LocationTarget::File { .. }) => {}
                    Err(error) => problems.push(problem("target", error.to_string())),
                }
            }
            (FileOrigin::Url { .. }, Some(other)) => {
                problems.push(problem("target-type", format!("a Location read from a URL cannot point at type `{other}` targets; accepted types are `url` and `git`")));
            }
            (FileOrigin::Git { .. }, Some(other)) => {
                problems.push(problem("target-type", format!("a Location in a git repository cannot point at type `{other}` targets; accepted types are `git` and `url`")));
            }
            (FileOrigin::Local { .. }, Some(other)) => {
                problems.push(problem(
                    "target-type",
                    format!(
                        "unknown target type `{other}`: accepted types are `file`, `git` and `url`"
                    ),
                ));
            }
        }
    }
    files
}

/// Whether a relative `target` climbs above the repository root from `directory`.
pub(crate) fn escapes(directory: &Path, target: &str) -> bool {
    let mut depth: i64 = directory.components().count() as i64;
    for part in target.split('/') {
        match part {
            ".." => depth -= 1,
            "." | "" => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

/// Used by dry runs to show what a location would produce.
pub fn candidates_as_json(candidates: &[Candidate]) -> Vec<Value> {
    candidates
        .iter()
        .filter_map(|candidate| serde_json::from_str::<Value>(&candidate.body).ok())
        .map(|mut entity| {
            // Nothing was stored: the entity has no identity yet.
            if let Some(Value::Object(metadata)) = entity.get_mut("metadata") {
                metadata.remove("uid");
                metadata.remove("etag");
            }
            entity
        })
        .collect()
}

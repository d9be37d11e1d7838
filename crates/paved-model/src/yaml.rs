//! Splits multi-document YAML and parses each document on its own, keeping line numbers.
//!
//! Documents are parsed one at a time so one malformed document never hides its neighbours.
//! Each value keeps the line it was written on, so a validation problem found later on a field
//! path can name its line ([`Document::line_of`]).

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use serde_saphyr::Spanned;
use std::cell::OnceCell;

use crate::problem::Problem;

/// The largest file accepted, in bytes. Catalog files are small; a larger one is a mistake
/// or an attack, and is refused before parsing.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// One parsed YAML document.
#[derive(Debug)]
pub struct Document<'a> {
    /// Zero-based position among the file's non-empty documents.
    pub index: usize,
    /// Line (1-based) in the file where the document's text starts.
    pub first_line: usize,
    pub value: Value,
    /// The document's text, parsed again with line numbers only when a problem needs one.
    text: &'a str,
    spanned: OnceCell<Option<Node>>,
}

/// A YAML value with the (file) line it starts on.
#[derive(Debug, Clone)]
struct Node {
    line: usize,
    value: NodeValue,
}

#[derive(Debug, Clone)]
enum NodeValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Sequence(Vec<Node>),
    Mapping(Vec<(String, Node)>),
}

/// The result of splitting and parsing one file: the documents that parsed, and a problem for
/// each one that did not.
#[derive(Debug, Default)]
pub struct ParsedFile<'a> {
    pub documents: Vec<Document<'a>>,
    pub problems: Vec<Problem>,
}

/// Parses every document of a (possibly multi-document) YAML text.
///
/// `file` only labels problems.
pub fn parse_documents<'a>(file: &str, text: &'a str) -> ParsedFile<'a> {
    let mut parsed = ParsedFile::default();
    if text.len() > MAX_FILE_BYTES {
        parsed.problems.push(Problem {
            file: Some(file.to_owned()),
            ..Problem::whole(
                "file-size",
                format!(
                    "file is {} bytes, over the limit of {} bytes (4 MiB) for a catalog file",
                    text.len(),
                    MAX_FILE_BYTES
                ),
            )
        });
        return parsed;
    }
    for (index, chunk) in split_documents(text).into_iter().enumerate() {
        match parse_chunk(chunk.text, chunk.first_line) {
            Ok(value) => parsed.documents.push(Document {
                index,
                first_line: chunk.first_line,
                value,
                text: chunk.text,
                spanned: OnceCell::new(),
            }),
            Err((line, message)) => {
                let mut problem = Problem::whole("yaml-syntax", without_content(&message))
                    .in_document(file, index);
                problem.line = Some(line);
                parsed.problems.push(problem);
            }
        }
    }
    parsed
}

/// A parser message without the text it quotes: a document that does not parse may not be
/// a catalog file at all (problems are public), so only the parser's description stays.
fn without_content(message: &str) -> String {
    for quoting in ["duplicate mapping key", "unexpected character"] {
        if let Some(at) = message.find(quoting) {
            return format!("{}{quoting}", &message[..at]);
        }
    }
    message.to_owned()
}

struct Chunk<'a> {
    text: &'a str,
    first_line: usize,
}

/// Splits at document markers (`---` or `...` at the start of a line). A document marker
/// cannot occur inside any YAML scalar at column 0, so this split agrees with a YAML parser.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (line_number, line) in (1..).zip(text.split_inclusive('\n')) {
        let content = line.trim_end_matches(['\n', '\r']);
        let is_marker = |marker: &str| {
            content == marker
                || (content.starts_with(marker) && content[marker.len()..].starts_with([' ', '\t']))
        };
        if is_marker("---") || is_marker("...") {
            push_chunk(&mut chunks, &text[start..offset], start_line);
            // The rest of a `---` line can hold the document's first value (`--- {a: 1}`).
            let rest_offset = offset + 3;
            if is_marker("---")
                && !content[3..].trim().is_empty()
                && !content[3..].trim().starts_with('#')
            {
                start = rest_offset;
                start_line = line_number;
            } else {
                start = offset + line.len();
                start_line = line_number + 1;
            }
        }
        offset += line.len();
    }
    push_chunk(&mut chunks, &text[start..], start_line);
    chunks
}

fn push_chunk<'a>(chunks: &mut Vec<Chunk<'a>>, text: &'a str, first_line: usize) {
    let has_content = text.lines().any(|line| {
        let trimmed = line.trim();
        !trimmed.is_empty() && !trimmed.starts_with('#') && !trimmed.starts_with('%')
    });
    if has_content {
        chunks.push(Chunk { text, first_line });
    }
}

/// How deep mappings and sequences may nest in one document. Deeper input is refused before
/// it is built, so a document cannot exhaust the stack.
pub const MAX_NESTING: usize = 64;

/// The parser's limits: its defaults, with [`MAX_NESTING`].
fn budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_NESTING;
    budget
}

fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    // YAML 1.2 core schema booleans (`true`/`false` only), as Backstage's parser reads them.
    options.strict_booleans = true;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.budget = Some(budget());
    options
}

/// A YAML text that does not parse: the 1-based line and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

/// Parses a text holding one YAML (or JSON) document into JSON, with the same rules and
/// messages as catalog files: for small inputs such as a CLI's inputs file.
pub fn parse_value(text: &str) -> Result<Value, YamlError> {
    serde_saphyr::from_str_with_options::<Value>(text, options()).map_err(|error| YamlError {
        line: error
            .location()
            .map_or(1, |location| location.line() as usize),
        message: error_message(&error),
    })
}

/// Parses a document straight into JSON, the fast path every document takes.
fn parse_chunk(text: &str, first_line: usize) -> Result<Value, (usize, String)> {
    serde_saphyr::from_str_with_options::<Value>(text, options()).map_err(|error| {
        let line = error
            .location()
            .map(|location| location.line() as usize)
            .unwrap_or(1);
        (line + first_line - 1, error_message(&error))
    })
}

/// Parses a document again keeping every value's line; only for documents with problems.
fn parse_spanned(text: &str, first_line: usize) -> Option<Node> {
    let spanned =
        serde_saphyr::from_str_with_options::<Spanned<NodeValue>>(text, options()).ok()?;
    let mut root = Node {
        line: spanned.referenced.line() as usize,
        value: spanned.value,
    };
    shift_lines(&mut root, first_line - 1);
    Some(root)
}

/// The parser's message on one line, without its source snippet and without its own line
/// number, which counts from the document rather than the file (the problem carries the file's).
/// Limits and duplicate keys are worded here: the parser's own text for them names its Rust
/// types and options, which mean nothing to someone editing a catalog file.
fn error_message(error: &serde_saphyr::Error) -> String {
    let mut cause = error;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = cause
    {
        cause = error;
    }
    let worded = match cause {
        serde_saphyr::Error::Budget { breach, .. } => budget_message(breach),
        // The key is not quoted: in a file that is not a catalog file it may be a secret.
        serde_saphyr::Error::DuplicateMappingKey { .. } => {
            "duplicate key: a key may appear only once in a mapping".to_owned()
        }
        _ => return parser_text(error),
    };
    // The same shape as the parser's messages: the column, then what is wrong.
    match error.location() {
        Some(location) => format!("column {}: {worded}", location.column()),
        None => worded,
    }
}

/// Which of the parser's limits a document breached, in words.
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach;
    let budget = budget();
    let exceeded = match breach {
        BudgetBreach::Depth { .. } => {
            return format!(
                "nesting deeper than {MAX_NESTING} levels: mappings and sequences may nest at most {MAX_NESTING} levels deep"
            );
        }
        BudgetBreach::Nodes { .. } => format!("more than {} nodes", budget.max_nodes),
        BudgetBreach::Events { .. } => format!("more than {} parser events", budget.max_events),
        BudgetBreach::ScalarBytes { .. } => {
            format!("more than {} bytes of text", budget.max_total_scalar_bytes)
        }
        BudgetBreach::Aliases { .. } => format!("more than {} aliases", budget.max_aliases),
        BudgetBreach::Anchors { .. } => format!("more than {} anchors", budget.max_anchors),
        _ => "more than the parser's limits allow".to_owned(),
    };
    format!(
        "document refused: it expands to {exceeded}; an alias counts every time it is used, so \
         aliases that multiply content are not accepted"
    )
}

/// The parser's own message, first line only, without its `line N` prefix.
fn parser_text(error: &serde_saphyr::Error) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(' '))
    {
        Some((number, rest)) if number.bytes().all(|byte| byte.is_ascii_digit()) => {
            rest.trim_start_matches(',').trim().to_owned()
        }
        _ => first.to_owned(),
    }
}

fn shift_lines(node: &mut Node, by: usize) {
    node.line += by;
    match &mut node.value {
        NodeValue::Sequence(items) => items.iter_mut().for_each(|item| shift_lines(item, by)),
        NodeValue::Mapping(entries) => entries
            .iter_mut()
            .for_each(|(_, value)| shift_lines(value, by)),
        _ => {}
    }
}

impl Document<'_> {
    /// The line of the value at a dotted field path such as `spec.owner` or `metadata.tags[0]`;
    /// the closest existing ancestor's line when the field itself is absent.
    pub fn line_of(&self, field: &str) -> usize {
        let spanned = self
            .spanned
            .get_or_init(|| parse_spanned(self.text, self.first_line));
        let Some(mut node) = spanned.as_ref() else {
            return self.first_line;
        };
        for segment in field_segments(field) {
            let next = match (&node.value, segment) {
                (NodeValue::Mapping(entries), Segment::Key(key)) => entries
                    .iter()
                    .find(|(name, _)| name == key)
                    .map(|(_, value)| value),
                (NodeValue::Sequence(items), Segment::Index(index)) => items.get(index),
                _ => None,
            };
            match next {
                Some(next) => node = next,
                None => break,
            }
        }
        node.line
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `metadata.annotations.backstage.io/x` style paths. Annotation and label keys can hold
/// dots, so a key under `annotations` or `labels` takes the rest of the path.
fn field_segments(field: &str) -> Vec<Segment<'_>> {
    let mut segments = Vec::new();
    let mut rest = field;
    while !rest.is_empty() {
        let previous_is_map_of_keys = matches!(
            segments.last(),
            Some(Segment::Key("annotations" | "labels"))
        );
        if previous_is_map_of_keys {
            segments.push(Segment::Key(rest));
            break;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        if end > 0 {
            segments.push(Segment::Key(&rest[..end]));
        }
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').unwrap_or(after.len());
            if let Ok(index) = after[..close].parse() {
                segments.push(Segment::Index(index));
            }
            rest = after.get(close + 1..).unwrap_or("");
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    segments
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<NodeValue, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

fn spanned_node(spanned: Spanned<NodeValue>) -> Node {
    Node {
        line: spanned.referenced.line() as usize,
        value: spanned.value,
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a YAML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(value.into()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(value.into()))
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<NodeValue, E> {
        Number::from_f64(value)
            .map(NodeValue::Number)
            .ok_or_else(|| E::custom("numbers must be finite (no .nan or .inf)"))
    }
    fn visit_str<E>(self, value: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value.to_owned()))
    }
    fn visit_string<E>(self, value: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value))
    }
    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Spanned<NodeValue>>()? {
            items.push(spanned_node(item));
        }
        Ok(NodeValue::Sequence(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<NodeValue, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(key) = access.next_key::<MapKey>()? {
            let value = spanned_node(access.next_value::<Spanned<NodeValue>>()?);
            if entries.iter().any(|(existing, _)| *existing == key.0) {
                return Err(de::Error::custom(format!("duplicate key `{}`", key.0)));
            }
            entries.push((key.0, value));
        }
        Ok(NodeValue::Mapping(entries))
    }
}

/// A mapping key: any scalar, as text (YAML allows `1: x`, JSON needs strings).
struct MapKey(String);

impl<'de> Deserialize<'de> for MapKey {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<MapKey, D::Error> {
        match NodeValue::deserialize(deserializer)? {
            NodeValue::String(text) => Ok(MapKey(text)),
            NodeValue::Bool(value) => Ok(MapKey(value.to_string())),
            NodeValue::Number(number) => Ok(MapKey(number.to_string())),
            NodeValue::Null => Ok(MapKey("null".to_owned())),
            NodeValue::Sequence(_) | NodeValue::Mapping(_) => {
                Err(de::Error::custom("mapping keys must be scalars"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_keeps_file_lines() {
        let text = "---\na: 1\n---\n# only a comment\n---\nb:\n  c: [x, y]\n";
        let parsed = parse_documents("f.yaml", text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(parsed.documents.len(), 2);
        let second = &parsed.documents[1];
        assert_eq!(second.index, 1);
        assert_eq!(second.value, serde_json::json!({"b": {"c": ["x", "y"]}}));
        assert_eq!(second.line_of("b.c[1]"), 7);
        assert_eq!(second.line_of("b.missing"), 7);
    }

    #[test]
    fn one_bad_document_does_not_hide_the_others() {
        let text = "a: 1\n---\nb: [unclosed\n---\nc: 3\n";
        let parsed = parse_documents("f.yaml", text);
        assert_eq!(parsed.documents.len(), 2);
        assert_eq!(parsed.problems.len(), 1);
        let problem = &parsed.problems[0];
        assert_eq!(problem.document_index, Some(1));
        assert_eq!(problem.rule, "yaml-syntax");
        assert!(problem.line.is_some_and(|line| line >= 3), "{problem:?}");
    }

    #[test]
    fn annotation_keys_with_dots_find_their_line() {
        let text = "metadata:\n  annotations:\n    backstage.io/x: y\n    a.b/c: 5\n";
        let parsed = parse_documents("f.yaml", text);
        assert_eq!(parsed.documents[0].line_of("metadata.annotations.a.b/c"), 4);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let previous = (b'a' + level - 1) as char;
            let current = (b'a' + level) as char;
            text.push_str(&format!(
                "{current}: &{current} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
            ));
        }
        let parsed = parse_documents("bomb.yaml", &text);
        assert_eq!(parsed.documents.len(), 0);
        assert_eq!(parsed.problems[0].rule, "yaml-syntax");
        let message = &parsed.problems[0].message;
        assert!(
            message.ends_with(": document refused: it expands to more than 250000 nodes; an alias counts every time it is used, so aliases that multiply content are not accepted"),
            "{message}"
        );
    }

    /// One-document files whose problem message must be exactly `message`, on `line`.
    #[track_caller]
    fn check_problem(text: &str, line: usize, message: &str) {
        let parsed = parse_documents("f.yaml", text);
        assert_eq!(parsed.documents.len(), 0, "{text}");
        let problem = &parsed.problems[0];
        assert_eq!(problem.rule, "yaml-syntax");
        assert_eq!(problem.message, message);
        assert_eq!(problem.line, Some(line), "{problem:?}");
    }

    #[test]
    fn limits_and_duplicate_keys_are_worded_for_people() {
        let deep_block: String = (0..=MAX_NESTING)
            .map(|level| format!("{}k{level}:\n", "  ".repeat(level)))
            .collect::<String>()
            + &"  ".repeat(MAX_NESTING + 1)
            + "leaf: 1\n";
        let deep_flow = format!("a: {}1{}\n", "[".repeat(100), "]".repeat(100));
        let nesting =
            "nesting deeper than 64 levels: mappings and sequences may nest at most 64 levels deep";
        // The 65th level starts on line 65, after 64 levels of two-space indentation.
        check_problem(
            &deep_block,
            MAX_NESTING + 1,
            &format!("column 129: {nesting}"),
        );
        // `a:` is the first level; the 64th `[` (column 67) opens the 65th.
        check_problem(&deep_flow, 1, &format!("column 67: {nesting}"));
        check_problem(
            "a: 1\nb: 2\na: 3\n",
            3,
            "column 1: duplicate key: a key may appear only once in a mapping",
        );
        assert_eq!(
            parse_value("a: 1\na: 2\n"),
            Err(YamlError {
                line: 2,
                message: "column 1: duplicate key: a key may appear only once in a mapping"
                    .to_owned()
            })
        );
        // Nothing of the parser's types or options leaks into messages.
        for text in [deep_block.as_str(), deep_flow.as_str(), "a: 1\na: 2\n"] {
            let message = &parse_documents("f.yaml", text).problems[0].message;
            for leak in ["Depth {", "Budget", "Options", "alias"] {
                assert!(!message.contains(leak), "`{leak}` in {message}");
            }
        }
    }

    #[test]
    fn syntax_problems_quote_no_content() {
        for (text, expect) in [
            (
                "{\"auths\": {\"x\": \"secret\"}, \"auths\": 1}\n",
                "column 28: duplicate key: a key may appear only once in a mapping",
            ),
            ("x: @secret\n", "column 4: unexpected character"),
            ("key: [unclosed secret\n", "column 6: unclosed bracket '['"),
        ] {
            let parsed = parse_documents("f.yaml", text);
            assert_eq!(parsed.problems[0].message, expect);
        }
    }

    #[test]
    fn large_files_are_refused_before_parsing() {
        let text = format!("a: \"{}\"\n", "x".repeat(MAX_FILE_BYTES));
        let parsed = parse_documents("big.yaml", &text);
        assert_eq!(parsed.problems[0].rule, "file-size");
    }
}

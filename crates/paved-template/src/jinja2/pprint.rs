//! Python's `pprint.pformat(value)` (width 80, indent 1, dictionaries sorted), which Jinja2's
//! `pprint` filter writes: one line when it fits, otherwise one item a line, long strings cut
//! into adjacent literals at spaces.

use minijinja::value::{Tuple, Value, ValueKind};

use super::python::{float_repr, string_repr};

const WIDTH: usize = 80;

pub(crate) fn pformat(value: &Value) -> String {
    let mut out = String::new();
    format(&mut out, value, 0, 0, 0);
    out
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// The one-line representation, dictionaries sorted by key (`pprint`'s `_safe_repr`).
fn safe_repr(value: &Value) -> String {
    if let Some(text) = value.as_str() {
        return string_repr(text);
    }
    if let Some(tuple) = value.downcast_object_ref::<Tuple>() {
        let items: Vec<String> = tuple.iter().map(safe_repr).collect();
        return if items.len() == 1 {
            format!("({},)", items[0])
        } else {
            format!("({})", items.join(", "))
        };
    }
    match value.kind() {
        ValueKind::Seq => {
            let items: Vec<String> = value
                .try_iter()
                .into_iter()
                .flatten()
                .map(|item| safe_repr(&item))
                .collect();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items: Vec<String> = sorted_items(value)
                .iter()
                .map(|(key, item)| format!("{}: {}", safe_repr(key), safe_repr(item)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        ValueKind::Number if !value.is_integer() => {
            float_repr(f64::try_from(value.clone()).unwrap_or(f64::NAN))
        }
        _ => super::python::repr(value),
    }
}

fn sorted_items(value: &Value) -> Vec<(Value, Value)> {
    let mut items: Vec<(Value, Value)> = value
        .try_iter()
        .into_iter()
        .flatten()
        .map(|key| {
            let item = value.get_item(&key).unwrap_or_default();
            (key, item)
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items
}

fn format(out: &mut String, value: &Value, indent: usize, allowance: usize, level: usize) {
    let rep = safe_repr(value);
    let max_width = WIDTH.saturating_sub(indent).saturating_sub(allowance);
    if chars(&rep) > max_width {
        if let Some(text) = value.as_str() {
            format_str(out, text, indent, allowance, level + 1);
            return;
        }
        if let Some(tuple) = value.downcast_object_ref::<Tuple>() {
            let end = if tuple.len() == 1 { ",)" } else { ")" };
            out.push('(');
            let items: Vec<Value> = tuple.iter().cloned().collect();
            format_items(out, &items, indent, allowance + end.len(), level + 1);
            out.push_str(end);
            return;
        }
        match value.kind() {
            ValueKind::Seq => {
                out.push('[');
                let items: Vec<Value> = value.try_iter().into_iter().flatten().collect();
                format_items(out, &items, indent, allowance + 1, level + 1);
                out.push(']');
                return;
            }
            ValueKind::Map => {
                out.push('{');
                format_dict_items(out, &sorted_items(value), indent, allowance + 1, level + 1);
                out.push('}');
                return;
            }
            _ => {}
        }
    }
    out.push_str(&rep);
}

fn format_dict_items(
    out: &mut String,
    items: &[(Value, Value)],
    indent: usize,
    allowance: usize,
    level: usize,
) {
    let indent = indent + 1;
    let separator = format!(",\n{}", " ".repeat(indent));
    for (index, (key, item)) in items.iter().enumerate() {
        let last = index + 1 == items.len();
        let rep = safe_repr(key);
        out.push_str(&rep);
        out.push_str(": ");
        format(
            out,
            item,
            indent + chars(&rep) + 2,
            if last { allowance } else { 1 },
            level,
        );
        if !last {
            out.push_str(&separator);
        }
    }
}

fn format_items(out: &mut String, items: &[Value], indent: usize, allowance: usize, level: usize) {
    let indent = indent + 1;
    let separator = format!(",\n{}", " ".repeat(indent));
    for (index, item) in items.iter().enumerate() {
        let last = index + 1 == items.len();
        if index > 0 {
            out.push_str(&separator);
        }
        format(out, item, indent, if last { allowance } else { 1 }, level);
    }
}

/// A string too long for its line: cut at spaces (and after line breaks) into literals that
/// Python would join again, in parentheses at the top level.
fn format_str(out: &mut String, text: &str, indent: usize, allowance: usize, level: usize) {
    let (indent, allowance) = if level == 1 {
        (indent + 1, allowance + 1)
    } else {
        (indent, allowance)
    };
    let max_width = WIDTH.saturating_sub(indent);
    let lines = split_keep_ends(text);
    let mut chunks: Vec<String> = Vec::new();
    let mut last_rep = String::new();
    for (i, line) in lines.iter().enumerate() {
        let rep = string_repr(line);
        let last_line = i + 1 == lines.len();
        let max_width1 = if last_line {
            max_width.saturating_sub(allowance)
        } else {
            max_width
        };
        last_rep = rep.clone();
        if chars(&rep) <= max_width1 {
            chunks.push(rep);
            continue;
        }
        let parts = words_with_spaces(line);
        let mut max_width2 = max_width;
        let mut current = String::new();
        for (j, part) in parts.iter().enumerate() {
            let candidate = format!("{current}{part}");
            if j + 1 == parts.len() && last_line {
                max_width2 = max_width2.saturating_sub(allowance);
            }
            if chars(&string_repr(&candidate)) > max_width2 {
                if !current.is_empty() {
                    chunks.push(string_repr(&current));
                }
                current = (*part).to_owned();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            chunks.push(string_repr(&current));
        }
    }
    if chunks.len() == 1 {
        out.push_str(&last_rep);
        return;
    }
    if level == 1 {
        out.push('(');
    }
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(chunk);
    }
    if level == 1 {
        out.push(')');
    }
}

/// `str.splitlines(True)`.
fn split_keep_ends(text: &str) -> Vec<String> {
    super::methods::split_lines(text, true)
}

/// `re.findall(r'\S*\s*', line)` without the final empty match.
fn words_with_spaces(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let space_end = rest[word_end..]
            .find(|c: char| !c.is_whitespace())
            .map_or(rest.len(), |offset| word_end + offset);
        parts.push(&rest[..space_end]);
        rest = &rest[space_end..];
    }
    parts
}

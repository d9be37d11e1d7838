//! Multi-line filter output that keeps the column it starts in.
//!
//! A Jinja filter cannot know where its output lands, but YAML cares: the second line of
//! `{{ arns | proton_cfn_iam_policy_arns }}` must start in the same column as the first. Filters
//! that produce several lines therefore return their text with two markers, and
//! [`resolve`] replaces them once the file is rendered:
//!
//! - [`START`] records the column where the output begins;
//! - [`BREAK`] stands for a line break followed by spaces up to that column.
//!
//! The markers are Unicode noncharacters (U+FDD0, U+FDD1), which Unicode sets aside for
//! internal use; they never appear in text meant for people. A template or context value that
//! contains one anyway only adds line breaks and spaces to its own output.

/// Marks where a multi-line block begins.
pub(crate) const START: char = '\u{FDD0}';
/// A line break inside a block: continue on a new line, in the block's column.
pub(crate) const BREAK: char = '\u{FDD1}';

/// Wraps `text` so that its lines after the first start in the column of its first line.
/// Single-line text is returned as it is. One trailing line break is dropped.
pub(crate) fn block(text: &str) -> String {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if !text.contains('\n') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + START.len_utf8());
    out.push(START);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push(BREAK);
        }
        out.push_str(line);
    }
    out
}

/// The length in bytes of `text` once [`resolve`]d, saturating; computed without allocating.
pub(crate) fn resolved_len(text: &str) -> usize {
    let mut len = 0usize;
    resolve_with(text, |piece| match piece {
        Piece::Text(s) => len = len.saturating_add(s.len()),
        Piece::Indent(n) => len = len.saturating_add(1).saturating_add(n),
    });
    len
}

/// Replaces the markers in `text` with line breaks and indentation.
pub(crate) fn resolve(text: &str) -> String {
    if !text.contains([START, BREAK]) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    resolve_with(text, |piece| match piece {
        Piece::Text(s) => out.push_str(s),
        Piece::Indent(n) => {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n));
        }
    });
    out
}

enum Piece<'a> {
    Text(&'a str),
    /// A line break followed by this many spaces.
    Indent(usize),
}

fn resolve_with<'a>(text: &'a str, mut emit: impl FnMut(Piece<'a>)) {
    // The column (in characters) of the cursor, and of the innermost block's start.
    let mut column = 0usize;
    let mut indent = 0usize;
    let mut rest = text;
    while let Some(at) = rest.find([START, BREAK, '\n']) {
        let (before, marker) = rest.split_at(at);
        emit(Piece::Text(before));
        column += before.chars().count();
        let marker_char = marker.chars().next().unwrap_or('\n');
        match marker_char {
            START => indent = column,
            BREAK => {
                emit(Piece::Indent(indent));
                column = indent;
            }
            _ => {
                emit(Piece::Text("\n"));
                column = 0;
            }
        }
        rest = &marker[marker_char.len_utf8()..];
    }
    emit(Piece::Text(rest));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(rendered: &str, expect: &str) {
        assert_eq!(resolve(rendered), expect);
        assert_eq!(resolved_len(rendered), expect.len());
    }

    #[test]
    fn blocks_keep_their_column() {
        let two = block("- a\n- b\n");
        check("x", "x");
        check(
            &format!("list:\n  {two}\nnext: 1\n"),
            "list:\n  - a\n  - b\nnext: 1\n",
        );
        check(&format!("  - {two}"), "  - - a\n    - b");
        check(&format!("{two}\n    {two}"), "- a\n- b\n    - a\n    - b");
        check(&format!("é: {two}"), "é: - a\n   - b");
        assert_eq!(block("single\n"), "single");
    }
}

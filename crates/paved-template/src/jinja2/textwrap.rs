//! Python's `textwrap.wrap`, as Jinja2's `wordwrap` calls it (`expand_tabs=False`,
//! `replace_whitespace=False`, `drop_whitespace=True`): words are filled first-fit into lines
//! of at most `width` characters, hyphenated words may break after a hyphen, and words longer
//! than a line are cut. minijinja-contrib's `wordwrap` balances lines instead (the `textwrap`
//! crate's optimal fit), which gives other lines than Jinja2.

/// How to wrap.
pub(crate) struct Options {
    pub width: usize,
    pub break_long_words: bool,
    pub break_on_hyphens: bool,
}

/// textwrap's whitespace: ASCII only (`\t\n\x0b\x0c\r `).
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// Python's `\w`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// textwrap's `letter`: `[^\d\W]`.
fn is_letter(c: char) -> bool {
    is_word(c) && !c.is_ascii_digit()
}

/// textwrap's `word_punct`: `[\w!"'&.,?]`.
fn is_word_punct(c: char) -> bool {
    is_word(c) || matches!(c, '!' | '"' | '\'' | '&' | '.' | ',' | '?')
}

/// The chunks `TextWrapper._split` makes: runs of whitespace, and words, cut after the hyphens
/// of hyphenated words and before em-dashes when `break_on_hyphens`.
fn split(text: &[char], break_on_hyphens: bool) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut i = 0;
    let len = text.len();
    let at = |index: usize| text.get(index).copied();
    // `-{2,}\w` at `index`.
    let em_dash_at = |index: usize| {
        let mut k = index;
        while at(k) == Some('-') {
            k += 1;
        }
        k - index >= 2 && at(k).is_some_and(is_word)
    };
    while i < len {
        let start = i;
        if is_space(text[i]) {
            while i < len && is_space(text[i]) {
                i += 1;
            }
        } else if !break_on_hyphens {
            while i < len && !is_space(text[i]) {
                i += 1;
            }
        } else if i > 0 && is_word_punct(text[i - 1]) && em_dash_at(i) {
            while at(i) == Some('-') {
                i += 1;
            }
        } else {
            // The shortest run of non-space characters followed by a break point.
            let mut k = i + 1;
            loop {
                let hyphen_break = at(k) == Some('-')
                    && ((k >= 2
                        && at(k - 2).is_some_and(is_letter)
                        && at(k - 1).is_some_and(is_letter))
                        || (k >= 3
                            && at(k - 3).is_some_and(is_letter)
                            && at(k - 2) == Some('-')
                            && at(k - 1).is_some_and(is_letter)))
                    && at(k + 1).is_some_and(is_letter)
                    && (at(k + 2).is_some_and(is_letter)
                        || (at(k + 2) == Some('-') && at(k + 3).is_some_and(is_letter)));
                if hyphen_break {
                    k += 1;
                    break;
                }
                if k >= len || is_space(text[k]) {
                    break;
                }
                if is_word_punct(text[k - 1]) && em_dash_at(k) {
                    break;
                }
                k += 1;
            }
            i = k;
        }
        chunks.push(text[start..i].iter().collect());
    }
    chunks
}

fn length(text: &str) -> usize {
    text.chars().count()
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// `textwrap.wrap(text, width, ...)`: the lines, without line breaks.
pub(crate) fn wrap(text: &str, options: &Options) -> Vec<String> {
    let characters: Vec<char> = text.chars().collect();
    let mut chunks = split(&characters, options.break_on_hyphens);
    chunks.reverse();
    let width = options.width;
    let mut lines: Vec<String> = Vec::new();
    while !chunks.is_empty() {
        let mut line: Vec<String> = Vec::new();
        let mut line_length = 0;
        if chunks.last().is_some_and(|chunk| is_blank(chunk)) && !lines.is_empty() {
            chunks.pop();
        }
        while let Some(chunk) = chunks.last() {
            let chunk_length = length(chunk);
            if line_length + chunk_length <= width {
                line_length += chunk_length;
                line.push(chunks.pop().expect("a chunk was just seen"));
            } else {
                break;
            }
        }
        if chunks.last().is_some_and(|chunk| length(chunk) > width) {
            handle_long_word(&mut chunks, &mut line, line_length, width, options);
            line_length = line.iter().map(|chunk| length(chunk)).sum();
        }
        if line.last().is_some_and(|chunk| is_blank(chunk)) {
            line_length -= line.last().map_or(0, |chunk| length(chunk));
            line.pop();
        }
        let _ = line_length;
        if !line.is_empty() {
            lines.push(line.concat());
        }
    }
    lines
}

fn handle_long_word(
    chunks: &mut Vec<String>,
    line: &mut Vec<String>,
    line_length: usize,
    width: usize,
    options: &Options,
) {
    let space_left = if width < 1 { 1 } else { width - line_length };
    if options.break_long_words {
        let Some(chunk) = chunks.last_mut() else {
            return;
        };
        let characters: Vec<char> = chunk.chars().collect();
        let mut end = space_left;
        if options.break_on_hyphens && characters.len() > space_left {
            let hyphen = characters[..space_left.min(characters.len())]
                .iter()
                .rposition(|c| *c == '-');
            if let Some(hyphen) = hyphen
                && hyphen > 0
                && characters[..hyphen].iter().any(|c| *c != '-')
            {
                end = hyphen + 1;
            }
        }
        let end = end.min(characters.len());
        line.push(characters[..end].iter().collect());
        *chunk = characters[end..].iter().collect();
    } else if line.is_empty()
        && let Some(chunk) = chunks.pop()
    {
        line.push(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_as_python_splits_them() {
        let text: Vec<char> = "Look, goof-ball -- use the -b option!".chars().collect();
        assert_eq!(
            split(&text, true),
            [
                "Look,", " ", "goof-", "ball", " ", "--", " ", "use", " ", "the", " ", "-b", " ",
                "option!"
            ]
        );
        assert_eq!(
            split(&text, false),
            [
                "Look,",
                " ",
                "goof-ball",
                " ",
                "--",
                " ",
                "use",
                " ",
                "the",
                " ",
                "-b",
                " ",
                "option!"
            ]
        );
    }
}

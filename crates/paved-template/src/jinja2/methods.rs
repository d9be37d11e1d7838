//! Python's `str`, `list` and `dict` methods on template values (`name.upper()`,
//! `csv.split(',')`, `outputs.get('VpcId', '')`, `'{}-{}'.format(a, b)`).
//!
//! minijinja-contrib's `pycompat` provides most of them; the methods here are the ones it does
//! not have, and the ones whose arguments or results differ from Python's (`split` with
//! `maxsplit=`, `startswith` with a start index, `splitlines` on every line boundary Python
//! knows). Methods that change a value in place are refused at registration instead
//! ([`super::refused_method`]).

use minijinja::value::{Kwargs, Rest, Tuple, Value, ValueKind, from_args};
use minijinja::{Error, ErrorKind, State};

/// The methods a template may call, for the registration check.
const KNOWN: &[&str] = &[
    // str
    "capitalize",
    "casefold",
    "center",
    "count",
    "endswith",
    "expandtabs",
    "find",
    "format",
    "index",
    "isalnum",
    "isalpha",
    "isascii",
    "isdecimal",
    "isdigit",
    "isidentifier",
    "islower",
    "isnumeric",
    "isspace",
    "istitle",
    "isupper",
    "join",
    "ljust",
    "lower",
    "lstrip",
    "partition",
    "removeprefix",
    "removesuffix",
    "replace",
    "rfind",
    "rindex",
    "rjust",
    "rpartition",
    "rsplit",
    "rstrip",
    "split",
    "splitlines",
    "startswith",
    "strip",
    "swapcase",
    "title",
    "upper",
    "zfill",
    // dict
    "copy",
    "get",
    "items",
    "keys",
    "values",
];

pub(crate) fn is_known(name: &str) -> bool {
    KNOWN.contains(&name)
}

/// The unknown-method callback: Python's methods on strings, lists and mappings.
pub(crate) fn call_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let own = match (value.as_str(), value.kind()) {
        (Some(text), _) => string_method(text, method, args)?,
        (None, ValueKind::Seq) => seq_method(value, method, args)?,
        (None, ValueKind::Map) => map_method(value, method, args)?,
        _ => None,
    };
    match own {
        Some(result) => Ok(result),
        None => minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args),
    }
}

/// Binds Python's parameters `names` from positional and keyword arguments, as filters bind
/// theirs; missing ones are `None`.
fn bind(method: &str, names: &[&str], args: &[Value]) -> Result<Vec<Option<Value>>, Error> {
    let (positional, kwargs): (Rest<Value>, Kwargs) = from_args(args)?;
    super::filters::Signature {
        filter: method,
        params: names,
    }
    .bind(&positional, &kwargs)
}

fn text_arg(method: &str, value: &Option<Value>) -> Result<Option<String>, Error> {
    match value {
        None => Ok(None),
        Some(value) if value.is_none() => Ok(None),
        Some(value) => value
            .as_str()
            .map(|text| Some(text.to_owned()))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("{method}() argument must be str, not {}", value.kind()),
                )
            }),
    }
}

fn int_arg(method: &str, value: &Option<Value>) -> Result<Option<i64>, Error> {
    match value {
        None => Ok(None),
        Some(value) if value.is_none() => Ok(None),
        Some(value) => i64::try_from(value.clone()).map(Some).map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "{method}() argument must be an integer, not {}",
                    value.kind()
                ),
            )
        }),
    }
}

/// Python's slice bounds `[start:end]` of a string of `len` characters.
fn char_range(len: usize, start: Option<i64>, end: Option<i64>) -> (usize, usize) {
    let clamp = |index: i64| -> usize {
        if index < 0 {
            (len as i64 + index).max(0) as usize
        } else {
            (index as usize).min(len)
        }
    };
    let start = start.map_or(0, clamp);
    let end = end.map_or(len, clamp);
    (start, end.max(start))
}

fn substring(text: &str, start: usize, end: usize) -> String {
    text.chars().skip(start).take(end - start).collect()
}

fn string_method(text: &str, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    let result = match method {
        "format" => Value::from(super::formatting::str_format(text, args)?),
        "split" | "rsplit" => {
            let bound = bind(method, &["sep", "maxsplit"], args)?;
            let separator = text_arg(method, &bound[0])?;
            let limit = int_arg(method, &bound[1])?.unwrap_or(-1);
            let limit = (limit >= 0).then_some(limit as usize);
            let parts = match separator {
                Some(separator) if separator.is_empty() => {
                    return Err(Error::new(ErrorKind::InvalidOperation, "empty separator"));
                }
                Some(separator) => split_on(text, &separator, limit, method == "rsplit"),
                None => split_whitespace(text, limit, method == "rsplit"),
            };
            Value::from_iter(parts.into_iter().map(Value::from))
        }
        "splitlines" => {
            let bound = bind(method, &["keepends"], args)?;
            let keep = bound[0].as_ref().is_some_and(Value::is_true);
            Value::from_iter(split_lines(text, keep).into_iter().map(Value::from))
        }
        "startswith" | "endswith" => {
            let bound = bind(method, &["prefix", "start", "end"], args)?;
            let length = text.chars().count();
            let (start, end) = char_range(
                length,
                int_arg(method, &bound[1])?,
                int_arg(method, &bound[2])?,
            );
            let window = substring(text, start, end);
            let candidates = match &bound[0] {
                Some(value) if value.as_str().is_some() => vec![value.clone()],
                Some(value) if matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable) => {
                    value.try_iter()?.collect()
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("{method} first arg must be str or a tuple of str"),
                    ));
                }
            };
            let mut found = false;
            for candidate in candidates {
                let candidate = candidate.as_str().ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("tuple for {method} must only contain str"),
                    )
                })?;
                found |= if method == "startswith" {
                    window.starts_with(candidate)
                } else {
                    window.ends_with(candidate)
                };
            }
            Value::from(found)
        }
        "index" | "rindex" | "find" | "rfind" | "count" => {
            let bound = bind(method, &["sub", "start", "end"], args)?;
            let needle = text_arg(method, &bound[0])?.ok_or_else(|| {
                Error::new(
                    ErrorKind::MissingArgument,
                    format!("{method}() takes a substring"),
                )
            })?;
            let length = text.chars().count();
            let (start, end) = char_range(
                length,
                int_arg(method, &bound[1])?,
                int_arg(method, &bound[2])?,
            );
            let window = substring(text, start, end);
            let at = |byte: usize| start + window[..byte].chars().count();
            match method {
                "count" => Value::from(count_non_overlapping(&window, &needle)),
                _ => {
                    let found = if method.starts_with('r') {
                        window.rfind(needle.as_str())
                    } else {
                        window.find(needle.as_str())
                    };
                    match (found, method.ends_with("index")) {
                        (Some(byte), _) => Value::from(at(byte)),
                        (None, false) => Value::from(-1),
                        (None, true) => {
                            return Err(Error::new(
                                ErrorKind::InvalidOperation,
                                "substring not found",
                            ));
                        }
                    }
                }
            }
        }
        "swapcase" => {
            let () = from_args(args)?;
            Value::from(
                text.chars()
                    .flat_map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<Vec<_>>()
                        } else if c.is_lowercase() {
                            c.to_uppercase().collect()
                        } else {
                            vec![c]
                        }
                    })
                    .collect::<String>(),
            )
        }
        "casefold" => {
            let () = from_args(args)?;
            // Lowercase, with the one full case folding templates meet: ß is ss.
            Value::from(text.to_lowercase().replace('ß', "ss"))
        }
        "istitle" => {
            let () = from_args(args)?;
            Value::from(is_title(text))
        }
        "isidentifier" => {
            let () = from_args(args)?;
            let mut chars = text.chars();
            Value::from(
                chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                    && chars.all(|c| c == '_' || c.is_alphanumeric()),
            )
        }
        "isdecimal" | "isdigit" => {
            let () = from_args(args)?;
            // Decimal digits; other scripts' digits are not recognised (documented).
            Value::from(!text.is_empty() && text.chars().all(|c| c.is_ascii_digit()))
        }
        "zfill" => {
            let (width,): (i64,) = from_args(args)?;
            let length = text.chars().count() as i64;
            if width <= length {
                Value::from(text)
            } else {
                let zeros = "0".repeat((width - length) as usize);
                match text.chars().next() {
                    Some(sign @ ('+' | '-')) => Value::from(format!("{sign}{zeros}{}", &text[1..])),
                    _ => Value::from(format!("{zeros}{text}")),
                }
            }
        }
        "ljust" | "rjust" | "center" => {
            let bound = bind(method, &["width", "fillchar"], args)?;
            let width = int_arg(method, &bound[0])?.unwrap_or(0);
            let fill = text_arg(method, &bound[1])?.unwrap_or_else(|| " ".to_owned());
            let mut fill_chars = fill.chars();
            let (Some(fill), None) = (fill_chars.next(), fill_chars.next()) else {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "the fill character must be exactly one character long",
                ));
            };
            Value::from(pad(text, width, fill, method))
        }
        "partition" | "rpartition" => {
            let (separator,): (&str,) = from_args(args)?;
            if separator.is_empty() {
                return Err(Error::new(ErrorKind::InvalidOperation, "empty separator"));
            }
            let found = if method == "partition" {
                text.find(separator)
            } else {
                text.rfind(separator)
            };
            let parts: [&str; 3] = match (found, method) {
                (Some(at), _) => [&text[..at], separator, &text[at + separator.len()..]],
                (None, "partition") => [text, "", ""],
                (None, _) => ["", "", text],
            };
            Value::from(Tuple::from(parts.map(Value::from)))
        }
        "removeprefix" => {
            let (prefix,): (&str,) = from_args(args)?;
            Value::from(text.strip_prefix(prefix).unwrap_or(text))
        }
        "removesuffix" => {
            let (suffix,): (&str,) = from_args(args)?;
            Value::from(text.strip_suffix(suffix).unwrap_or(text))
        }
        "expandtabs" => {
            let bound = bind(method, &["tabsize"], args)?;
            let size = int_arg(method, &bound[0])?.unwrap_or(8).max(0) as usize;
            Value::from(expand_tabs(text, size))
        }
        _ => return Ok(None),
    };
    Ok(Some(result))
}

fn seq_method(value: &Value, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    match method {
        "index" => {
            let (wanted,): (&Value,) = from_args(args)?;
            for (index, item) in value.try_iter()?.enumerate() {
                if item == *wanted {
                    return Ok(Some(Value::from(index)));
                }
            }
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{} is not in list", super::python::repr(wanted)),
            ))
        }
        "copy" => {
            let () = from_args(args)?;
            Ok(Some(Value::from_iter(value.try_iter()?)))
        }
        _ => Ok(None),
    }
}

fn map_method(value: &Value, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    match method {
        "copy" => {
            let () = from_args(args)?;
            let pairs: Result<Vec<(Value, Value)>, Error> = value
                .try_iter()?
                .map(|key| Ok((key.clone(), value.get_item(&key)?)))
                .collect();
            Ok(Some(Value::from_iter(pairs?)))
        }
        _ => Ok(None),
    }
}

/// `str.split(sep, maxsplit)` and `str.rsplit` with a separator.
fn split_on(text: &str, separator: &str, limit: Option<usize>, from_right: bool) -> Vec<String> {
    let parts: Vec<String> = match (limit, from_right) {
        (None, _) => text.split(separator).map(str::to_owned).collect(),
        (Some(limit), false) => text
            .splitn(limit + 1, separator)
            .map(str::to_owned)
            .collect(),
        (Some(limit), true) => {
            let mut parts: Vec<String> = text
                .rsplitn(limit + 1, separator)
                .map(str::to_owned)
                .collect();
            parts.reverse();
            parts
        }
    };
    parts
}

/// `str.split()` without a separator: runs of whitespace separate, and leading and trailing
/// whitespace gives no empty strings. With a limit, the rest keeps its inner whitespace.
fn split_whitespace(text: &str, limit: Option<usize>, from_right: bool) -> Vec<String> {
    if from_right {
        let reversed: String = text.chars().rev().collect();
        let mut parts: Vec<String> = split_whitespace(&reversed, limit, false)
            .into_iter()
            .map(|part| part.chars().rev().collect())
            .collect();
        parts.reverse();
        return parts;
    }
    let mut parts = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if limit.is_some_and(|limit| parts.len() == limit) {
            parts.push(rest.to_owned());
            break;
        }
        match rest.find(char::is_whitespace) {
            Some(end) => {
                parts.push(rest[..end].to_owned());
                rest = rest[end..].trim_start();
            }
            None => {
                parts.push(rest.to_owned());
                break;
            }
        }
    }
    parts
}

/// Python's line boundaries: `\n`, `\r`, `\r\n`, `\v`, `\f`, `\x1c`-`\x1e`, `\x85`, U+2028,
/// U+2029.
pub(crate) fn split_lines(text: &str, keep_ends: bool) -> Vec<String> {
    let is_boundary = |c: char| {
        matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        )
    };
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_boundary(c) {
            let mut end = String::from(c);
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
                end.push('\n');
            }
            if keep_ends {
                line.push_str(&end);
            }
            lines.push(std::mem::take(&mut line));
        } else {
            line.push(c);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn count_non_overlapping(text: &str, needle: &str) -> usize {
    if needle.is_empty() {
        return text.chars().count() + 1;
    }
    text.matches(needle).count()
}

/// `str.istitle()`: cased characters after uncased ones are upper case, after cased ones lower
/// case, and there is at least one cased character.
fn is_title(text: &str) -> bool {
    let mut previous_cased = false;
    let mut any_cased = false;
    for c in text.chars() {
        if c.is_uppercase() {
            if previous_cased {
                return false;
            }
            previous_cased = true;
            any_cased = true;
        } else if c.is_lowercase() {
            if !previous_cased {
                return false;
            }
            previous_cased = true;
            any_cased = true;
        } else {
            previous_cased = false;
        }
    }
    any_cased
}

/// `ljust`, `rjust` and `center` with Python's placement of the odd fill character.
pub(crate) fn pad(text: &str, width: i64, fill: char, how: &str) -> String {
    let length = text.chars().count() as i64;
    if width <= length {
        return text.to_owned();
    }
    let total = (width - length) as usize;
    let (left, right) = match how {
        "ljust" => (0, total),
        "rjust" => (total, 0),
        // CPython: left = pad / 2 + (pad & width & 1).
        _ => {
            let left = total / 2 + (total & (width as usize) & 1);
            (left, total - left)
        }
    };
    let fill = fill.to_string();
    format!("{}{text}{}", fill.repeat(left), fill.repeat(right))
}

fn expand_tabs(text: &str, size: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut column = 0;
    for c in text.chars() {
        match c {
            '\t' => {
                if size > 0 {
                    let spaces = size - column % size;
                    out.extend(std::iter::repeat_n(' ', spaces));
                    column += spaces;
                }
            }
            '\n' | '\r' => {
                out.push(c);
                column = 0;
            }
            c => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

//! Jinja2's built-in filters where minijinja has none, or one whose arguments or output differ
//! from Jinja2's. Each follows Jinja2 3.1's definition (`jinja2/filters.py`); the differential
//! corpus (`tests/jinja2`) holds them to it.
//!
//! Arguments are bound as Jinja2 binds them ([`Signature::bind`]): positionally in Jinja2's
//! order or by name, so `truncate(20, true, '', 0)` and `truncate(length=20, end='')` both work.

use std::fmt::Write;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Object, Rest, Value, ValueKind, from_args};
use minijinja::{Environment, Error, ErrorKind, State};

use super::methods::pad;
use super::python;

/// The longest string a filter may build (a render's total output limit).
const MAX_STRING: usize = 8 * 1024 * 1024;

/// Adds the filters of this module to `env`, replacing minijinja's where they differ.
pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter("truncate", truncate);
    env.add_filter("wordwrap", wordwrap);
    env.add_filter("wordcount", minijinja_contrib::filters::wordcount);
    env.add_filter("striptags", striptags);
    env.add_filter("filesizeformat", filesizeformat);
    env.add_filter("center", center);
    env.add_filter("forceescape", forceescape);
    env.add_filter("escape", escape);
    env.add_filter("e", escape);
    env.add_filter("urlize", urlize);
    env.add_filter("xmlattr", xmlattr);
    env.add_filter("pprint", pprint);
    env.add_filter("tojson", tojson);
    env.add_filter("title", title);
    env.add_filter("capitalize", capitalize);
    env.add_filter("string", string);
    env.add_filter("join", join);
    env.add_filter("replace", replace);
    env.add_filter("indent", indent);
    env.add_filter("trim", trim);
    env.add_filter("urlencode", urlencode);
    env.add_filter("round", round);
    env.add_filter("int", int);
    env.add_filter("float", float);
    env.add_filter("sum", sum);
    env.add_filter("attr", attr);
    env.add_filter("sort", sort);
    env.add_filter("dictsort", dictsort);
    env.add_filter("unique", unique);
    env.add_filter("min", min);
    env.add_filter("max", max);
    env.add_filter("lower", lower);
    env.add_filter("format", super::formatting::format_filter);
    env.add_filter("batch", batch);
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("upper", upper);
}

/// A filter's (or method's) parameters after its input, in Jinja2's (Python's) order.
pub(crate) struct Signature<'a> {
    pub(crate) filter: &'a str,
    pub(crate) params: &'a [&'a str],
}

impl Signature<'_> {
    /// Binds positional `args` in order and `kwargs` by name, refusing extra or repeated
    /// arguments as Python does. Missing arguments are `None`.
    pub(crate) fn bind(
        &self,
        args: &[Value],
        kwargs: &Kwargs,
    ) -> Result<Vec<Option<Value>>, Error> {
        if args.len() > self.params.len() {
            return Err(Error::new(
                ErrorKind::TooManyArguments,
                format!(
                    "{}: takes at most {} arguments, {} given",
                    self.filter,
                    self.params.len(),
                    args.len()
                ),
            ));
        }
        let mut bound: Vec<Option<Value>> = args.iter().cloned().map(Some).collect();
        bound.resize(self.params.len(), None);
        for (index, name) in self.params.iter().enumerate() {
            if let Some(value) = kwargs.get::<Option<Value>>(name)? {
                if bound[index].is_some() {
                    return Err(Error::new(
                        ErrorKind::TooManyArguments,
                        format!("{}: got multiple values for `{name}`", self.filter),
                    ));
                }
                bound[index] = Some(value);
            }
        }
        kwargs.assert_all_used()?;
        Ok(bound)
    }

    /// Binds and hands the arguments on as keyword arguments (for minijinja's and
    /// minijinja-contrib's filters that take keywords only). `None` values are left out, so the
    /// callee's defaults apply.
    fn as_kwargs(&self, args: &[Value], kwargs: &Kwargs) -> Result<Kwargs, Error> {
        let bound = self.bind(args, kwargs)?;
        Ok(self
            .params
            .iter()
            .zip(bound)
            .filter_map(|(name, value)| value.filter(|value| !value.is_none()).map(|v| (*name, v)))
            .collect())
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

fn checked_len(filter: &str, len: usize) -> Result<(), Error> {
    if len > MAX_STRING {
        return Err(invalid(format!(
            "{filter}: the result would be {len} bytes, over the {MAX_STRING}-byte limit"
        )));
    }
    Ok(())
}

fn is_true(value: &Option<Value>) -> bool {
    value.as_ref().is_some_and(Value::is_true)
}

fn int_of(filter: &str, name: &str, value: &Option<Value>) -> Result<Option<i64>, Error> {
    match value {
        None => Ok(None),
        Some(value) if value.is_none() => Ok(None),
        Some(value) => i64::try_from(value.clone())
            .map(Some)
            .map_err(|_| invalid(format!("{filter}: `{name}` must be an integer"))),
    }
}

fn text_of(value: &Option<Value>) -> Option<String> {
    value
        .as_ref()
        .filter(|value| !value.is_none())
        .map(python::str_of)
}

/// `truncate(length=255, killwords=False, end='...', leeway=None)`: minijinja-contrib's, with
/// Jinja2's positional arguments.
fn truncate(
    state: &mut State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "truncate",
        params: &["length", "killwords", "end", "leeway"],
    };
    let kwargs = SIGNATURE.as_kwargs(&args, &kwargs)?;
    minijinja_contrib::filters::truncate(state, &Value::from(python::str_of(value)), kwargs)
}

/// `wordwrap(width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True)`:
/// Python's `textwrap`, line by line ([`super::textwrap`]).
fn wordwrap(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "wordwrap",
        params: &[
            "width",
            "break_long_words",
            "wrapstring",
            "break_on_hyphens",
        ],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let width = int_of("wordwrap", "width", &bound[0])?.unwrap_or(79);
    if width <= 0 {
        return Err(invalid(format!(
            "wordwrap: invalid width {width} (must be > 0)"
        )));
    }
    let options = super::textwrap::Options {
        width: width as usize,
        break_long_words: bound[1].as_ref().is_none_or(Value::is_true),
        break_on_hyphens: bound[3].as_ref().is_none_or(Value::is_true),
    };
    let wrapstring = text_of(&bound[2]).unwrap_or_else(|| "\n".to_owned());
    let text = python::str_of(value);
    let lines: Vec<String> = super::methods::split_lines(&text, false)
        .iter()
        .map(|line| super::textwrap::wrap(line, &options).join(&wrapstring))
        .collect();
    let result = lines.join(&wrapstring);
    checked_len("wordwrap", result.len())?;
    Ok(Value::from(result))
}

/// `batch(linecount, fill_with=None)`: minijinja's, with the fill value by name too.
fn batch(state: &State, value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "batch",
        params: &["linecount", "fill_with"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let count = int_of("batch", "linecount", &bound[0])?
        .ok_or_else(|| Error::new(ErrorKind::MissingArgument, "batch: takes `linecount`"))?;
    minijinja::filters::batch(state, value, count.max(0) as usize, bound[1].clone())
}

/// `default(default_value='', boolean=False)`: the value, or `default_value` when it is
/// undefined (or false, with `boolean`).
fn default(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "default",
        params: &["default_value", "boolean"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let fallback = bound[0].clone().unwrap_or_else(|| Value::from(""));
    if value.is_undefined() || (is_true(&bound[1]) && !value.is_true()) {
        Ok(fallback)
    } else {
        Ok(value.clone())
    }
}

/// `striptags`: tags and comments removed, whitespace collapsed to single spaces, then HTML
/// entities decoded (MarkupSafe's order, so `&nbsp;` survives as a no-break space).
fn striptags(value: &Value) -> String {
    let text = python::str_of(value);
    let mut parts = String::with_capacity(text.len());
    let mut position = 0;
    while let Some(offset) = text[position..].find('<') {
        let start = position + offset;
        let end = if text[start..].starts_with("<!--") {
            text[start + 4..].find("-->").map(|end| start + 4 + end + 3)
        } else {
            text[start..].find('>').map(|end| start + end + 1)
        };
        let Some(end) = end else { break };
        parts.push_str(&text[position..start]);
        position = end;
    }
    parts.push_str(&text[position..]);
    let collapsed = parts.split_whitespace().collect::<Vec<_>>().join(" ");
    super::entities::unescape(&collapsed)
}

/// `filesizeformat(binary=False)`. minijinja-contrib's keeps fractions below 1 kB
/// (`100.7 Bytes`) where Jinja2 writes whole bytes, so this follows Jinja2.
fn filesizeformat(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "filesizeformat",
        params: &["binary"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let bytes = python_float(value).ok_or_else(|| {
        invalid(format!(
            "filesizeformat: cannot read {} as a number",
            python::repr(value)
        ))
    })?;
    let binary = is_true(&bound[0]);
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let prefixes = if binary {
        ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    } else {
        ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    };
    if bytes == 1.0 {
        return Ok("1 Byte".to_owned());
    }
    if bytes < base {
        return Ok(format!("{} Bytes", bytes.trunc() as i64));
    }
    let mut unit = base;
    let mut prefix = prefixes[0];
    for (index, name) in prefixes.iter().enumerate() {
        unit = base.powi(index as i32 + 2);
        prefix = name;
        if bytes < unit {
            break;
        }
    }
    Ok(format!("{:.1} {prefix}", base * bytes / unit))
}

/// `center(width=80)`.
fn center(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "center",
        params: &["width"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let width = int_of("center", "width", &bound[0])?.unwrap_or(80);
    checked_len("center", width.max(0) as usize)?;
    Ok(pad(&python::str_of(value), width, ' ', "center"))
}

/// HTML escaping as MarkupSafe does it: `& < > " '` as `&amp; &lt; &gt; &#34; &#39;`.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `escape`: the value HTML-escaped and marked safe; a safe value is kept as it is.
fn escape(value: &Value) -> Value {
    if value.is_safe() {
        return value.clone();
    }
    Value::from_safe_string(html_escape(&python::str_of(value)))
}

/// `forceescape`: HTML-escaped even when the value is marked safe.
fn forceescape(value: &Value) -> Value {
    Value::from_safe_string(html_escape(&python::str_of(value)))
}

/// `xmlattr(autospace=True)`: ` key="value"` for each item whose value is not none, escaped.
fn xmlattr(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "xmlattr",
        params: &["autospace"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let autospace = bound[0].as_ref().is_none_or(Value::is_true);
    if value.kind() != ValueKind::Map {
        return Err(invalid(format!(
            "xmlattr: expected a mapping, got {}",
            value.kind()
        )));
    }
    let mut items = Vec::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        if item.is_none() || item.is_undefined() {
            continue;
        }
        let key = python::str_of(&key);
        if key
            .chars()
            .any(|c| c.is_ascii_whitespace() || matches!(c, '/' | '>' | '='))
        {
            return Err(invalid(format!(
                "xmlattr: invalid character in attribute name: {}",
                python::string_repr(&key)
            )));
        }
        items.push(format!(
            "{}=\"{}\"",
            html_escape(&key),
            html_escape(&python::str_of(&item))
        ));
    }
    let mut result = items.join(" ");
    if autospace && !result.is_empty() {
        result.insert(0, ' ');
    }
    Ok(Value::from_safe_string(result))
}

/// `pprint`: Python's `pprint.pformat`.
fn pprint(value: &Value) -> String {
    super::pprint::pformat(value)
}

/// `tojson(indent=None)`: `json.dumps` with sorted keys, Python's separators and ASCII
/// escapes, then `<`, `>`, `&` and `'` as `\u003c`-style escapes, marked safe.
fn tojson(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "tojson",
        params: &["indent"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let indent = match &bound[0] {
        None => None,
        Some(value) if value.is_none() => None,
        Some(value) => match value.as_str() {
            Some(text) => Some(text.to_owned()),
            None => Some(
                " ".repeat(
                    int_of("tojson", "indent", &bound[0])?
                        .unwrap_or(0)
                        .clamp(0, 64) as usize,
                ),
            ),
        },
    };
    let mut out = String::new();
    write_json(&mut out, value, indent.as_deref(), 0)?;
    let escaped = out
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027");
    Ok(Value::from_safe_string(escaped))
}

/// `json.dumps(value, sort_keys=True, indent=indent)`.
fn write_json(
    out: &mut String,
    value: &Value,
    indent: Option<&str>,
    depth: usize,
) -> Result<(), Error> {
    if depth > 64 {
        return Err(invalid("tojson: the value is nested too deeply"));
    }
    let newline = |out: &mut String, depth: usize| {
        if let Some(indent) = indent {
            out.push('\n');
            out.push_str(&indent.repeat(depth));
        }
    };
    let item_separator = if indent.is_some() { "," } else { ", " };
    if let Some(text) = value.as_str() {
        write_json_string(out, text);
        return Ok(());
    }
    match value.kind() {
        ValueKind::Undefined => return Err(invalid("tojson: the value is undefined")),
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            if value.is_integer() {
                let _ = write!(out, "{value}");
            } else {
                let number = f64::try_from(value.clone()).unwrap_or(f64::NAN);
                out.push_str(&match number {
                    n if n.is_nan() => "NaN".to_owned(),
                    n if n.is_infinite() && n > 0.0 => "Infinity".to_owned(),
                    n if n.is_infinite() => "-Infinity".to_owned(),
                    n => python::float_repr(n),
                });
            }
        }
        ValueKind::Map => {
            let mut entries: Vec<(String, Value)> = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                let key = match key.as_str() {
                    Some(text) => text.to_owned(),
                    None if key.is_none() => "null".to_owned(),
                    None if key.kind() == ValueKind::Bool => {
                        if key.is_true() { "true" } else { "false" }.to_owned()
                    }
                    None => python::str_of(&key),
                };
                entries.push((key, item));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push_str(item_separator);
                }
                newline(out, depth + 1);
                write_json_string(out, key);
                out.push_str(": ");
                write_json(out, item, indent, depth + 1)?;
            }
            newline(out, depth);
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(item_separator);
                }
                newline(out, depth + 1);
                write_json(out, item, indent, depth + 1)?;
            }
            newline(out, depth);
            out.push(']');
        }
        _ => {
            return Err(invalid(format!(
                "tojson: Object of type {} is not JSON serializable",
                value.kind()
            )));
        }
    }
    Ok(())
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii=True`).
fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// `title`: each word (after `-`, whitespace, `(`, `{`, `[`, `<`) upper-cased at its first
/// character and lower-cased in the rest.
fn title(value: &Value) -> String {
    let text = python::str_of(value);
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        let separator = c == '-' || c.is_whitespace() || matches!(c, '(' | '{' | '[' | '<');
        if separator {
            out.push(c);
            at_word_start = true;
        } else if at_word_start {
            out.extend(c.to_uppercase());
            at_word_start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `capitalize`: the first character upper case, the rest lower case.
fn capitalize(value: &Value) -> String {
    let text = python::str_of(value);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

fn lower(value: &Value) -> String {
    python::str_of(value).to_lowercase()
}

fn upper(value: &Value) -> String {
    python::str_of(value).to_uppercase()
}

/// `string`: Python's `str()` of the value.
fn string(value: &Value) -> Value {
    if value.as_str().is_some() {
        return value.clone();
    }
    Value::from(python::str_of(value))
}

/// `join(d='', attribute=None)`: the items as Python strings.
fn join(state: &State, value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "join",
        params: &["d", "attribute"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let separator = text_of(&bound[0]).unwrap_or_default();
    let attribute = bound[1].clone();
    let items: Vec<Value> = match value.as_str() {
        Some(text) => text.chars().map(Value::from).collect(),
        None => value.try_iter()?.collect(),
    };
    let mut parts = Vec::with_capacity(items.len());
    let mut total = 0usize;
    for item in items {
        let item = match &attribute {
            Some(attribute) => lookup_attribute(state, &item, attribute)?,
            None => item,
        };
        if item.is_undefined() {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                "join: an item is undefined",
            ));
        }
        let part = python::str_of(&item);
        total = total.saturating_add(part.len() + separator.len());
        checked_len("join", total)?;
        parts.push(part);
    }
    Ok(Value::from(parts.join(&separator)))
}

/// `item[attribute]`, with Jinja2's dotted paths (`address.city`) and integer indexes (`0`).
fn lookup_attribute(state: &State, item: &Value, attribute: &Value) -> Result<Value, Error> {
    let _ = state;
    if let Some(path) = attribute.as_str() {
        let mut current = item.clone();
        for part in path.split('.') {
            current = match part.parse::<i64>() {
                Ok(index) if current.kind() == ValueKind::Seq => {
                    current.get_item(&Value::from(index))?
                }
                _ => current.get_attr(part)?,
            };
        }
        Ok(current)
    } else {
        item.get_item(attribute)
    }
}

/// `replace(old, new, count=None)` on the value as a string.
fn replace(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let _ = state;
    const SIGNATURE: Signature = Signature {
        filter: "replace",
        params: &["old", "new", "count"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let (Some(old), Some(new)) = (text_of(&bound[0]), text_of(&bound[1])) else {
        return Err(Error::new(
            ErrorKind::MissingArgument,
            "replace: takes `old` and `new`",
        ));
    };
    let count = int_of("replace", "count", &bound[2])?.unwrap_or(-1);
    let text = python::str_of(value);
    let replacements = if old.is_empty() {
        text.chars().count() + 1
    } else {
        text.matches(&old).count()
    };
    let replacements = if count >= 0 {
        replacements.min(count as usize)
    } else {
        replacements
    };
    checked_len(
        "replace",
        text.len()
            .saturating_add(replacements.saturating_mul(new.len())),
    )?;
    let result = if old.is_empty() {
        // Python inserts `new` before every character and at the end, up to `count` times.
        let mut out = String::new();
        let mut inserted = 0usize;
        for c in text.chars() {
            if inserted < replacements {
                out.push_str(&new);
                inserted += 1;
            }
            out.push(c);
        }
        if inserted < replacements {
            out.push_str(&new);
        }
        out
    } else if count >= 0 {
        text.replacen(&old, &new, count as usize)
    } else {
        text.replace(&old, &new)
    };
    Ok(if value.is_safe() {
        Value::from_safe_string(result)
    } else {
        Value::from(result)
    })
}

/// `indent(width=4, first=False, blank=False)`; `width` may be a string to indent with.
fn indent(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "indent",
        params: &["width", "first", "blank"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let indentation = match &bound[0] {
        Some(width) if width.as_str().is_some() => python::str_of(width),
        other => {
            let width = int_of("indent", "width", other)?.unwrap_or(4).max(0) as usize;
            checked_len("indent", width)?;
            " ".repeat(width)
        }
    };
    let first = is_true(&bound[1]);
    let blank = is_true(&bound[2]);
    let text = format!("{}\n", python::str_of(value));
    let lines = super::methods::split_lines(&text, false);
    checked_len(
        "indent",
        text.len()
            .saturating_add(lines.len().saturating_mul(indentation.len())),
    )?;
    let mut result = if blank {
        lines.join(&format!("\n{indentation}"))
    } else {
        let mut lines = lines.into_iter();
        let mut result = lines.next().unwrap_or_default();
        let rest: Vec<String> = lines
            .map(|line| {
                if line.is_empty() {
                    line
                } else {
                    format!("{indentation}{line}")
                }
            })
            .collect();
        if !rest.is_empty() {
            result.push('\n');
            result.push_str(&rest.join("\n"));
        }
        result
    };
    if first {
        result.insert_str(0, &indentation);
    }
    Ok(result)
}

/// `trim(chars=None)`: Python's `str.strip`.
fn trim(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "trim",
        params: &["chars"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let text = python::str_of(value);
    Ok(match text_of(&bound[0]) {
        Some(chars) => text.trim_matches(|c| chars.contains(c)).to_owned(),
        None => text.trim().to_owned(),
    })
}

/// `urlencode`: a string percent-encoded (`/` kept); a mapping or a list of pairs as a query
/// string (spaces as `+`).
fn urlencode(value: &Value) -> Result<String, Error> {
    fn quote(text: &str, for_query: bool) -> String {
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                    out.push(char::from(byte));
                }
                b'/' if !for_query => out.push('/'),
                b' ' if for_query => out.push('+'),
                byte => {
                    let _ = write!(out, "%{byte:02X}");
                }
            }
        }
        out
    }
    if value.as_str().is_some()
        || !matches!(
            value.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::Iterable
        )
    {
        return Ok(quote(&python::str_of(value), false));
    }
    let pairs: Vec<(Value, Value)> = if value.kind() == ValueKind::Map {
        value
            .try_iter()?
            .map(|key| Ok((key.clone(), value.get_item(&key)?)))
            .collect::<Result<_, Error>>()?
    } else {
        value
            .try_iter()?
            .map(|pair| {
                let items: Vec<Value> = pair.try_iter()?.collect();
                match items.as_slice() {
                    [key, value] => Ok((key.clone(), value.clone())),
                    _ => Err(invalid("urlencode: expected pairs of key and value")),
                }
            })
            .collect::<Result<_, Error>>()?
    };
    Ok(pairs
        .iter()
        .map(|(key, value)| {
            format!(
                "{}={}",
                quote(&python::str_of(key), true),
                quote(&python::str_of(value), true)
            )
        })
        .collect::<Vec<_>>()
        .join("&"))
}

/// `round(precision=0, method='common')`: `common` is Python's `round()` (half to even on the
/// exact binary value), `ceil` and `floor` round up and down.
fn round(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "round",
        params: &["precision", "method"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let precision = int_of("round", "precision", &bound[0])?.unwrap_or(0);
    let method = text_of(&bound[1]).unwrap_or_else(|| "common".to_owned());
    if !matches!(method.as_str(), "common" | "ceil" | "floor") {
        return Err(invalid("round: method must be common, ceil or floor"));
    }
    let number = python_float(value).ok_or_else(|| invalid("round: expected a number"))?;
    let scale = 10f64.powi(precision.clamp(-308, 308) as i32);
    // For negative precisions, divide by an exact power of ten rather than multiply by an
    // inexact fraction.
    let factor = 10f64.powi((-precision).clamp(0, 308) as i32);
    match method.as_str() {
        "common" if value.is_integer() && precision >= 0 => Ok(value.clone()),
        "common" if value.is_integer() => Ok(Value::from(
            (round_half_even(number / factor) * factor) as i64,
        )),
        "common" if precision >= 0 => {
            let text = format!("{number:.prec$}", prec = precision.min(300) as usize);
            Ok(Value::from(text.parse::<f64>().unwrap_or(number)))
        }
        "common" => Ok(Value::from(round_half_even(number / factor) * factor)),
        "ceil" => Ok(Value::from((number * scale).ceil() / scale)),
        _ => Ok(Value::from((number * scale).floor() / scale)),
    }
}

fn round_half_even(x: f64) -> f64 {
    let rounded = x.round();
    if (x - x.trunc()).abs() == 0.5 && rounded % 2.0 != 0.0 {
        rounded - x.signum()
    } else {
        rounded
    }
}

/// A value as Python's `float()` reads it: numbers, booleans, and strings of decimal,
/// exponent, `inf` or `nan` notation with surrounding whitespace and `_` between digits.
fn python_float(value: &Value) -> Option<f64> {
    match value.kind() {
        ValueKind::Number => f64::try_from(value.clone()).ok(),
        ValueKind::Bool => Some(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::String => {
            let text = value.as_str()?.trim();
            let lowered = text.to_ascii_lowercase();
            let unsigned = lowered.trim_start_matches(['+', '-']);
            if matches!(unsigned, "inf" | "infinity" | "nan") {
                return lowered.parse::<f64>().ok();
            }
            if text.contains("__") || text.starts_with('_') || text.ends_with('_') {
                return None;
            }
            let plain: String = text.chars().filter(|c| *c != '_').collect();
            if plain.is_empty()
                || !plain
                    .chars()
                    .all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
            {
                return None;
            }
            plain.parse::<f64>().ok()
        }
        _ => None,
    }
}

/// Python's `int(text, base)`: whitespace around, a sign, `_` between digits, and a `0x`,
/// `0o` or `0b` prefix matching the base (any of them with base 0).
fn python_int(text: &str, base: u32) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = digits.to_ascii_lowercase();
    let (base, digits) = match (base, lower.get(..2)) {
        (0 | 16, Some("0x")) => (16, &digits[2..]),
        (0 | 8, Some("0o")) => (8, &digits[2..]),
        (0 | 2, Some("0b")) => (2, &digits[2..]),
        (0, _) => {
            if digits.len() > 1
                && digits.starts_with('0')
                && !digits.trim_start_matches(['0', '_']).is_empty()
            {
                return None;
            }
            (10, digits)
        }
        (base, _) => (base, digits),
    };
    let digits = digits.strip_prefix('_').unwrap_or(digits);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let plain: String = digits.chars().filter(|c| *c != '_').collect();
    let magnitude = i64::from_str_radix(&plain, base).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// `int(default=0, base=10)`: strings in `base`, else as a float truncated; `default` when it
/// cannot be read.
fn int(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "int",
        params: &["default", "base"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let default = bound[0].clone().unwrap_or_else(|| Value::from(0));
    let base = int_of("int", "base", &bound[1])?.unwrap_or(10);
    if !(base == 0 || (2..=36).contains(&base)) {
        return Ok(default);
    }
    if let Some(text) = value.as_str()
        && let Some(number) = python_int(text, base as u32)
    {
        return Ok(Value::from(number));
    }
    if value.is_integer() {
        return Ok(value.clone());
    }
    match python_float(value) {
        Some(number) if number.is_finite() => Ok(Value::from(number.trunc() as i64)),
        _ => Ok(default),
    }
}

/// `float(default=0.0)`.
fn float(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "float",
        params: &["default"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    Ok(match python_float(value) {
        Some(number) => Value::from(number),
        None => bound[0].clone().unwrap_or_else(|| Value::from(0.0)),
    })
}

/// `sum(attribute=None, start=0)`: numbers added as Python adds them, or lists concatenated
/// from a list `start`.
fn sum(state: &State, value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "sum",
        params: &["attribute", "start"],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let mut total = bound[1].clone().unwrap_or_else(|| Value::from(0));
    for item in value.try_iter()? {
        let item = match &bound[0] {
            Some(attribute) if !attribute.is_none() => lookup_attribute(state, &item, attribute)?,
            _ => item,
        };
        total = add(&total, &item)?;
    }
    Ok(total)
}

/// Python's `a + b` for numbers and lists.
fn add(left: &Value, right: &Value) -> Result<Value, Error> {
    if left.kind() == ValueKind::Seq && right.kind() == ValueKind::Seq {
        return Ok(Value::from_iter(left.try_iter()?.chain(right.try_iter()?)));
    }
    let number = |value: &Value| match value.kind() {
        ValueKind::Number | ValueKind::Bool => Some(value.clone()),
        _ => None,
    };
    let (Some(a), Some(b)) = (number(left), number(right)) else {
        return Err(invalid(format!(
            "sum: unsupported operand types for +: {} and {}",
            left.kind(),
            right.kind()
        )));
    };
    let as_int = |value: &Value| -> Option<i64> {
        if value.kind() == ValueKind::Bool {
            Some(i64::from(value.is_true()))
        } else if value.is_integer() {
            i64::try_from(value.clone()).ok()
        } else {
            None
        }
    };
    if let (Some(a), Some(b)) = (as_int(&a), as_int(&b))
        && let Some(total) = a.checked_add(b)
    {
        return Ok(Value::from(total));
    }
    let float = |value: &Value| python_float(value).unwrap_or(f64::NAN);
    Ok(Value::from(float(&a) + float(&b)))
}

/// `attr(name)`: an attribute, never an item; data from the context (mappings, lists,
/// strings) has no attributes in Jinja2, so the result is undefined for them.
fn attr(value: &Value, name: &str) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::Plain => value.get_attr(name),
        _ => Ok(Value::UNDEFINED),
    }
}

/// `sort(reverse=False, case_sensitive=False, attribute=None)`: minijinja's, with Jinja2's
/// positional arguments.
fn sort(state: &State, value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "sort",
        params: &["reverse", "case_sensitive", "attribute"],
    };
    minijinja::filters::sort(state, value, SIGNATURE.as_kwargs(&args, &kwargs)?)
}

/// `dictsort(case_sensitive=False, by='key', reverse=False)`.
fn dictsort(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "dictsort",
        params: &["case_sensitive", "by", "reverse"],
    };
    minijinja::filters::dictsort(value, SIGNATURE.as_kwargs(&args, &kwargs)?)
}

/// `unique(case_sensitive=False, attribute=None)`.
fn unique(state: &State, value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "unique",
        params: &["case_sensitive", "attribute"],
    };
    minijinja::filters::unique(state, value, SIGNATURE.as_kwargs(&args, &kwargs)?)
}

/// `min(case_sensitive=False, attribute=None)`.
fn min(state: &State, value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "min",
        params: &["case_sensitive", "attribute"],
    };
    minijinja::filters::min(state, value, SIGNATURE.as_kwargs(&args, &kwargs)?)
}

/// `max(case_sensitive=False, attribute=None)`.
fn max(state: &State, value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "max",
        params: &["case_sensitive", "attribute"],
    };
    minijinja::filters::max(state, value, SIGNATURE.as_kwargs(&args, &kwargs)?)
}

/// `urlize(trim_url_limit=None, nofollow=False, target=None, rel=None, extra_schemes=None)`.
fn urlize(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const SIGNATURE: Signature = Signature {
        filter: "urlize",
        params: &[
            "trim_url_limit",
            "nofollow",
            "target",
            "rel",
            "extra_schemes",
        ],
    };
    let bound = SIGNATURE.bind(&args, &kwargs)?;
    let trim_url_limit = int_of("urlize", "trim_url_limit", &bound[0])?;
    let mut rel: Vec<String> = text_of(&bound[3])
        .map(|rel| rel.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if is_true(&bound[1]) {
        rel.push("nofollow".to_owned());
    }
    // Jinja2's policy `urlize.rel` adds `noopener`.
    rel.push("noopener".to_owned());
    rel.sort();
    rel.dedup();
    let extra_schemes: Vec<String> = match &bound[4] {
        Some(schemes) if !schemes.is_none() => {
            schemes.try_iter()?.map(|s| python::str_of(&s)).collect()
        }
        _ => Vec::new(),
    };
    let options = super::urlize::Options {
        trim_url_limit: trim_url_limit.map(|limit| limit.max(0) as usize),
        rel: Some(rel.join(" ")).filter(|rel| !rel.is_empty()),
        target: text_of(&bound[2]),
        extra_schemes,
    };
    Ok(Value::from(super::urlize::urlize(
        &python::str_of(value),
        &options,
    )))
}

/// `cycler(*items)`: `next()` returns the items in turn; `current` is the next one,
/// `reset()` starts again.
pub(crate) fn cycler(items: Rest<Value>) -> Result<Value, Error> {
    if items.is_empty() {
        return Err(Error::new(
            ErrorKind::MissingArgument,
            "cycler: at least one item is required",
        ));
    }
    Ok(Value::from_object(Cycler {
        items: items.0,
        position: Mutex::new(0),
    }))
}

#[derive(Debug)]
struct Cycler {
    items: Vec<Value>,
    position: Mutex<usize>,
}

impl Object for Cycler {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "current" => {
                let position = *self.position.lock().unwrap_or_else(|p| p.into_inner());
                Some(self.items[position].clone())
            }
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let () = from_args(args)?;
        let mut position = self.position.lock().unwrap_or_else(|p| p.into_inner());
        match method {
            "next" => {
                let item = self.items[*position].clone();
                *position = (*position + 1) % self.items.len();
                Ok(item)
            }
            "reset" => {
                *position = 0;
                Ok(Value::from(()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// `joiner(sep=', ')`: calling it returns nothing the first time, `sep` after that.
pub(crate) fn joiner(separator: Option<String>) -> Value {
    Value::from_object(Joiner {
        separator: separator.unwrap_or_else(|| ", ".to_owned()),
        used: Mutex::new(false),
    })
}

#[derive(Debug)]
struct Joiner {
    separator: String,
    used: Mutex<bool>,
}

impl Object for Joiner {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let () = from_args(args)?;
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if *used {
            Ok(Value::from(self.separator.clone()))
        } else {
            *used = true;
            Ok(Value::from(""))
        }
    }
}

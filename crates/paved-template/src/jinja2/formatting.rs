//! Python's string formatting: the `format` filter (`'%s-%d' % args`) and `str.format`.
//!
//! minijinja formats the values (widths, precisions, number types); what it lacks is the `repr`
//! conversions (`%r`, `{!r}`) and, for `str.format`, field names with attributes and indexes
//! (`{0.name}`, `{users[0]}`). So the format string is read here first: each `%r` becomes `%s`
//! of the value's `repr`, and each `str.format` field is resolved here and handed to minijinja
//! as a numbered field of its already converted value.

use minijinja::value::{Kwargs, Rest, Value, ValueOrKwargs};
use minijinja::{Error, ErrorKind, State};

use super::python;

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// The `format` filter: `value % (kwargs or args)`.
pub(crate) fn format_filter(
    state: &mut State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let template = python::str_of(value);
    let mut positional = args.0;
    let mut named: Vec<(String, Value)> = Vec::new();
    for key in kwargs.args().map(str::to_owned).collect::<Vec<_>>() {
        let item: Value = kwargs.get(&key)?;
        named.push((key, item));
    }
    if !named.is_empty() && !positional.is_empty() {
        return Err(invalid(
            "format: can't handle positional and keyword arguments at the same time",
        ));
    }
    let rewritten = rewrite_printf(&template, &mut positional, &mut named)?;
    let mut forwarded: Vec<ValueOrKwargs> =
        positional.into_iter().map(ValueOrKwargs::from).collect();
    if !named.is_empty() {
        let kwargs: Kwargs = named.into_iter().collect();
        forwarded.push(ValueOrKwargs::from(Value::from(kwargs)));
    }
    minijinja::filters::format(state, &Value::from(rewritten), Rest(forwarded))
}

/// Rewrites `%r` and `%a` conversions to `%s` of the value's `repr`.
fn rewrite_printf(
    template: &str,
    positional: &mut [Value],
    named: &mut Vec<(String, Value)>,
) -> Result<String, Error> {
    let chars: Vec<char> = template.chars().collect();
    let mut out = String::with_capacity(template.len());
    let mut i = 0;
    let mut index = 0usize;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        i += 1;
        if c != '%' {
            continue;
        }
        let spec_start = i;
        let mut key: Option<String> = None;
        if chars.get(i) == Some(&'(') {
            let end = chars[i..]
                .iter()
                .position(|c| *c == ')')
                .ok_or_else(|| invalid("format: incomplete format key"))?;
            key = Some(chars[i + 1..i + end].iter().collect());
            i += end + 1;
        }
        while chars.get(i).is_some_and(|c| "#0- +".contains(*c)) {
            i += 1;
        }
        for _part in 0..2 {
            if chars.get(i) == Some(&'*') {
                index += 1;
                i += 1;
            } else {
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
            }
            if chars.get(i) == Some(&'.') {
                i += 1;
                continue;
            }
            break;
        }
        while chars.get(i).is_some_and(|c| "hlL".contains(*c)) {
            i += 1;
        }
        let Some(&conversion) = chars.get(i) else {
            // minijinja reports the incomplete specification.
            out.extend(&chars[spec_start..]);
            break;
        };
        i += 1;
        let mut spec: String = chars[spec_start..i - 1].iter().collect();
        if conversion == '%' {
            out.push_str(&spec);
            out.push('%');
            continue;
        }
        let repr = matches!(conversion, 'r' | 'a');
        if repr {
            match &key {
                Some(key) => {
                    let renamed = format!("{key}__repr");
                    let value = named
                        .iter()
                        .find(|(name, _)| name == key)
                        .map(|(_, value)| value.clone())
                        .ok_or_else(|| invalid(format!("format: missing key `{key}`")))?;
                    named.push((renamed.clone(), Value::from(python::repr(&value))));
                    spec = spec.replacen(&format!("({key})"), &format!("({renamed})"), 1);
                }
                None => {
                    if let Some(value) = positional.get_mut(index) {
                        *value = Value::from(python::repr(value));
                    }
                }
            }
        }
        if key.is_none() {
            index += 1;
        }
        out.push_str(&spec);
        out.push(if repr { 's' } else { conversion });
    }
    Ok(out)
}

/// `str.format(*args, **kwargs)` on `template`.
pub(crate) fn str_format(template: &str, args: &[Value]) -> Result<String, Error> {
    let (positional, kwargs): (Rest<Value>, Kwargs) = minijinja::value::from_args(args)?;
    let mut resolver = FieldResolver {
        positional: &positional.0,
        kwargs: &kwargs,
        next_auto: 0,
        values: Vec::new(),
    };
    let rewritten = resolver.rewrite(template, 0)?;
    let values = resolver.values;
    // The keyword arguments were all read through the fields; unused ones are fine in Python.
    let _ = kwargs.assert_all_used();
    minijinja::formatting::format(
        minijinja::formatting::FormatStyle::StrFormat,
        &rewritten,
        &values,
    )
}

struct FieldResolver<'a> {
    positional: &'a [Value],
    kwargs: &'a Kwargs,
    next_auto: usize,
    /// The values of the rewritten fields, numbered in order.
    values: Vec<Value>,
}

impl FieldResolver<'_> {
    /// Rewrites every replacement field of `template` to `{N:spec}` with the converted value
    /// at `values[N]`; `{{` and `}}` stay as they are.
    fn rewrite(&mut self, template: &str, depth: usize) -> Result<String, Error> {
        if depth > 2 {
            return Err(invalid("Max string recursion exceeded"));
        }
        let chars: Vec<char> = template.chars().collect();
        let mut out = String::with_capacity(template.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '{' if chars.get(i + 1) == Some(&'{') => {
                    out.push_str("{{");
                    i += 2;
                }
                '}' if chars.get(i + 1) == Some(&'}') => {
                    out.push_str("}}");
                    i += 2;
                }
                '{' => {
                    // The field runs to the matching `}` (specs may nest one level of fields).
                    let mut level = 1;
                    let mut j = i + 1;
                    while j < chars.len() {
                        match chars[j] {
                            '{' => level += 1,
                            '}' => {
                                level -= 1;
                                if level == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    if j >= chars.len() {
                        return Err(invalid("expected '}' before end of string"));
                    }
                    let field: String = chars[i + 1..j].iter().collect();
                    out.push_str(&self.field(&field, depth)?);
                    i = j + 1;
                }
                '}' => return Err(invalid("Single '}' encountered in format string")),
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    fn field(&mut self, field: &str, depth: usize) -> Result<String, Error> {
        // field_name [! conversion] [: spec]
        let (head, spec) = match field.find(':') {
            Some(at) if !field[..at].contains('[') || field[..at].contains(']') => {
                (&field[..at], Some(&field[at + 1..]))
            }
            _ => (field, None),
        };
        let (name, conversion) = match head.find('!') {
            Some(at) => (&head[..at], Some(&head[at + 1..])),
            None => (head, None),
        };
        let mut value = self.resolve(name)?;
        match conversion {
            None => {}
            Some("s") => value = Value::from(python::str_of(&value)),
            Some("r") | Some("a") => value = Value::from(python::repr(&value)),
            Some(other) => {
                return Err(invalid(format!("Unknown conversion specifier {other}")));
            }
        }
        let spec = match spec {
            Some(spec) => self.rewrite_spec(spec, depth)?,
            None => String::new(),
        };
        self.values.push(value);
        let number = self.values.len() - 1;
        Ok(if spec.is_empty() {
            format!("{{{number}}}")
        } else {
            format!("{{{number}:{spec}}}")
        })
    }

    /// A spec with nested fields (`{:{width}}`) replaced by their values' text.
    fn rewrite_spec(&mut self, spec: &str, depth: usize) -> Result<String, Error> {
        if !spec.contains('{') {
            return Ok(spec.to_owned());
        }
        let mut out = String::new();
        let mut rest = spec;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| invalid("unmatched '{' in format spec"))?;
            let inner = &rest[start + 1..start + end];
            let _ = depth;
            out.push_str(&python::str_of(&self.resolve(inner)?));
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `0`, `name`, ``, then `.attr` and `[key]` parts.
    fn resolve(&mut self, name: &str) -> Result<Value, Error> {
        let first_end = name.find(['.', '[']).unwrap_or(name.len());
        let first = &name[..first_end];
        let mut value = if first.is_empty() {
            let index = self.next_auto;
            self.next_auto += 1;
            self.positional.get(index).cloned().ok_or_else(|| {
                invalid(format!(
                    "Replacement index {index} out of range for positional args tuple"
                ))
            })?
        } else if let Ok(index) = first.parse::<usize>() {
            self.positional.get(index).cloned().ok_or_else(|| {
                invalid(format!(
                    "Replacement index {index} out of range for positional args tuple"
                ))
            })?
        } else {
            self.kwargs.get::<Option<Value>>(first)?.ok_or_else(|| {
                Error::new(ErrorKind::UndefinedError, format!("KeyError: '{first}'"))
            })?
        };
        let mut rest = &name[first_end..];
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                value = value.get_attr(&after[..end])?;
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after
                    .find(']')
                    .ok_or_else(|| invalid("Missing ']' in format string"))?;
                let key = &after[..end];
                value = match key.parse::<i64>() {
                    Ok(index) => value.get_item(&Value::from(index))?,
                    Err(_) => value.get_item(&Value::from(key))?,
                };
                rest = &after[end + 1..];
            } else {
                return Err(invalid(
                    "Only '.' or '[' may follow ']' in format field specifier",
                ));
            }
            if value.is_undefined() {
                return Err(Error::new(
                    ErrorKind::UndefinedError,
                    format!("no field {name}"),
                ));
            }
        }
        Ok(value)
    }
}

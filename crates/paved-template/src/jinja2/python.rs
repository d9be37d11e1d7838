//! Python's `str()` and `repr()` of template values, which is what Jinja2 prints: `True`,
//! `None`, `1e+16`, `['a', 1]`, `{'k': 'v'}`, `(1,)`.

use std::fmt::Write;

use minijinja::value::{Tuple, Value, ValueKind};

/// `str(value)`: strings as they are, everything else as [`repr`].
pub(crate) fn str_of(value: &Value) -> String {
    match value.as_str() {
        Some(text) => text.to_owned(),
        None => repr(value),
    }
}

/// `repr(value)`.
pub(crate) fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    if let Some(text) = value.as_str() {
        out.push_str(&string_repr(text));
        return;
    }
    if let Some(number) = float_of(value) {
        out.push_str(&float_repr(number));
        return;
    }
    // `groupby`'s groups are tuples of `(grouper, list)` in Jinja2, printed as tuples.
    let group = value.kind() == ValueKind::Seq
        && value.as_object().is_some()
        && value
            .get_attr("grouper")
            .is_ok_and(|grouper| !grouper.is_undefined());
    if group {
        let items: Vec<Value> = value.try_iter().into_iter().flatten().collect();
        write_tuple(out, &items);
        return;
    }
    if let Some(tuple) = value.downcast_object_ref::<Tuple>() {
        let items: Vec<Value> = tuple.iter().cloned().collect();
        write_tuple(out, &items);
        return;
    }
    match value.kind() {
        ValueKind::Seq => {
            out.push('[');
            for (index, item) in value.try_iter().into_iter().flatten().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &item);
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            for (index, key) in value.try_iter().into_iter().flatten().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &key);
                out.push_str(": ");
                let item = value.get_item(&key).unwrap_or_default();
                write_repr(out, &item);
            }
            out.push('}');
        }
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

/// `(a, b)`, and `(a,)` for one item.
fn write_tuple(out: &mut String, items: &[Value]) {
    out.push('(');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        write_repr(out, item);
    }
    if items.len() == 1 {
        out.push(',');
    }
    out.push(')');
}

/// The value as an `f64` when it is a float (not an integer).
fn float_of(value: &Value) -> Option<f64> {
    if value.kind() != ValueKind::Number || value.is_integer() {
        return None;
    }
    f64::try_from(value.clone()).ok()
}

/// `repr(x)` of a Python float: the shortest digits that read back as `x`, in fixed notation
/// for exponents -4 to 15 (`0.0001`, `1000000000000000.0`) and scientific otherwise
/// (`1e-05`, `1.5e+16`).
pub(crate) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-trip digits: `1.5e-5`, `1e16`, `0e0`.
    let scientific = format!("{:e}", x.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("the exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let text = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else {
            let point = point as usize;
            if digits.len() <= point {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        };
        format!("{sign}{text}")
    } else {
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.abs())
    }
}

/// `repr(text)`: single quotes unless the text has one and no double quote; backslashes,
/// the quote, and characters Python does not print (controls, separators, format characters,
/// private use) escaped.
pub(crate) fn string_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let code = u32::from(c);
                let _ = if code <= 0xff {
                    write!(out, "\\x{code:02x}")
                } else if code <= 0xffff {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for one character, without the tables of unassigned code
/// points (those print as they are).
fn is_printable(c: char) -> bool {
    let code = u32::from(c);
    let separator = matches!(
        code,
        0xa0 | 0x1680 | 0x2000..=0x200a | 0x2028 | 0x2029 | 0x202f | 0x205f | 0x3000
    );
    let format = matches!(
        code,
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x890..=0x891
            | 0x8e2
            | 0x180e
            | 0x200b..=0x200f
            | 0x202a..=0x202e
            | 0x2060..=0x2064
            | 0x2066..=0x206f
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0x110bd
            | 0x110cd
            | 0x1bca0..=0x1bca3
            | 0x1d173..=0x1d17a
            | 0xe0001
            | 0xe0020..=0xe007f
    );
    let private_use = matches!(code, 0xe000..=0xf8ff | 0xf0000..=0xffffd | 0x100000..=0x10fffd);
    !(c.is_control() || separator || format || private_use)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_prints_them() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (2.5, "2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.5e-7, "-1.5e-07"),
            (1e100, "1e+100"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(value), expected, "{value:?}");
        }
    }

    #[test]
    fn strings_repr_as_python_does() {
        let cases = [
            ("plain", "'plain'"),
            ("it's", "\"it's\""),
            ("say \"hi\" it's", "'say \"hi\" it\\'s'"),
            ("tab\tnew\nback\\", "'tab\\tnew\\nback\\\\'"),
            ("nb\u{a0}sp\u{200b}", "'nb\\xa0sp\\u200b'"),
            ("héllo 日本 😀", "'héllo 日本 😀'"),
            ("\u{1}", "'\\x01'"),
        ];
        for (text, expected) in cases {
            assert_eq!(string_repr(text), expected, "{text:?}");
        }
    }
}

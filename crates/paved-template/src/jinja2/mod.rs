//! Jinja2 compatibility: what Paved adds to minijinja so templates written for Python's Jinja2
//! (AWS Proton's renderer) render byte for byte as Jinja2 renders them.
//!
//! minijinja already follows Jinja2's syntax, whitespace rules and most built-in filters and
//! tests. On top of it:
//!
//! - the filters minijinja does not ship, taken from `minijinja-contrib` where it has them
//!   (`truncate`, `wordwrap`, `wordcount`, `striptags`, `filesizeformat`), with Jinja2's
//!   positional arguments, and written here where no crate has them (`center`, `forceescape`,
//!   `urlize`, `xmlattr`);
//! - filters whose output differs from Jinja2's, replaced ([`filters`]): `tojson` (sorted keys,
//!   Python's separators), `pprint`, `escape`, `title`, ...; and Jinja2's positional arguments
//!   for the filters minijinja takes by keyword only (`sort(true)`, `dictsort(false, 'value')`);
//! - the tests `callable` and `==`, `!=`, `<`, `<=`, `>`, `>=`; the globals `cycler` and
//!   `joiner`;
//! - Python's `str`, `list` and `dict` methods ([`methods`]: minijinja-contrib's `pycompat`,
//!   plus the ones it lacks);
//! - values printed as Python prints them ([`python`]): `True`, `None`, `1e+16`, `['a']`.
//!
//! Refused at registration, with the reason (see [`refused_filter`], [`refused_global`],
//! [`refused_method`]): `random` and `lipsum()`, whose output is random, and the methods that
//! change a value in place (`append`, `update`, ...), since values are immutable here.
//!
//! The corpus of `tests/jinja2` renders every filter, test, method and statement with Jinja2
//! itself and with Paved, and requires byte-identical output.

mod entities;
pub(crate) mod filters;
mod formatting;
pub(crate) mod methods;
mod pprint;
pub(crate) mod python;
mod textwrap;
mod urlize;

use minijinja::{Environment, Error, Output, State, Value};

/// Adds Jinja2's filters, tests, globals, methods and value printing to `env`.
pub(crate) fn register(env: &mut Environment<'_>) {
    filters::register(env);
    env.add_test("callable", is_callable);
    env.add_test("sequence", is_sequence);
    // Jinja2 names its comparison tests by their operators too: `select('>', 2)`.
    env.add_test("==", minijinja::tests::is_eq);
    env.add_test("!=", minijinja::tests::is_ne);
    env.add_test("<", minijinja::tests::is_lt);
    env.add_test("<=", minijinja::tests::is_le);
    env.add_test(">", minijinja::tests::is_gt);
    env.add_test(">=", minijinja::tests::is_ge);
    env.add_function("cycler", filters::cycler);
    env.add_function("joiner", filters::joiner);
    env.set_unknown_method_callback(methods::call_method);
    env.set_formatter(format_value);
}

/// `x is callable`: functions, macros and methods (`s.upper`). Plain values are not.
fn is_callable(value: &Value) -> bool {
    value.kind() == minijinja::value::ValueKind::Plain && value.as_object().is_some()
}

/// `x is sequence`: what has a length and items, strings and mappings included.
fn is_sequence(value: &Value) -> bool {
    use minijinja::value::ValueKind;
    matches!(
        value.kind(),
        ValueKind::String | ValueKind::Seq | ValueKind::Map
    )
}

/// Prints a value as Jinja2 does: `str(value)`. Strings, undefined values (an error in strict
/// mode) and safe strings go through minijinja's own formatter.
fn format_value(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if value.is_undefined() || value.as_str().is_some() {
        return minijinja::escape_formatter(out, state, value);
    }
    out.write_str(&python::str_of(value))
        .map_err(|err| Error::new(minijinja::ErrorKind::WriteFailure, err.to_string()))
}

/// Why a filter is refused at registration, if it is.
pub(crate) fn refused_filter(name: &str) -> Option<String> {
    (name == "random").then(|| {
        "the `random` filter is refused: its output changes from one render to the next, and \
         Paved renders deterministically (pick an item by index instead)"
            .to_owned()
    })
}

/// Why a global function is refused at registration, if it is.
pub(crate) fn refused_global(name: &str) -> Option<String> {
    (name == "lipsum").then(|| {
        "`lipsum()` is refused: it writes random text, and Paved renders deterministically"
            .to_owned()
    })
}

/// Why a method is refused at registration, if it is.
pub(crate) fn refused_method(name: &str) -> Option<String> {
    const MUTATING: [&str; 12] = [
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "popitem",
        "clear",
        "update",
        "setdefault",
        "sort",
        "reverse",
        "discard",
    ];
    MUTATING.contains(&name).then(|| {
        format!(
            "the method `{name}()` is refused: it changes a value in place, and template values \
             cannot change; build a new value instead (`list + [x]`, `dict(d, key=value)`, the \
             `sort` and `reverse` filters, or `{{% set ns = namespace(...) %}}`)"
        )
    })
}

/// The filters, tests, globals and methods a template can use, for the registration check.
pub(crate) struct Known {
    env: Environment<'static>,
}

impl Known {
    pub(crate) fn new() -> Known {
        Known {
            env: crate::render::environment(&crate::Limits::default()),
        }
    }

    pub(crate) fn is_filter(&self, name: &str) -> bool {
        minijinja::tests::is_filter(&self.env.empty_state(), name)
    }

    pub(crate) fn is_test(&self, name: &str) -> bool {
        minijinja::tests::is_test(&self.env.empty_state(), name)
    }

    pub(crate) fn is_global(&self, name: &str) -> bool {
        self.env.globals().any(|(global, _)| global == name)
    }

    pub(crate) fn is_method(&self, name: &str) -> bool {
        methods::is_known(name)
    }
}

//! Jinja2's `urlize`: URLs (`http://`, `https://`, `www.`, bare domains of the common top-level
//! domains), `mailto:` links and e-mail addresses in text become `<a>` links; the rest of the
//! text is HTML-escaped. Leading `(`/`<` and trailing `)`/`>`/`.`/`,` stay outside a link
//! unless they balance parentheses inside it.

use std::sync::LazyLock;

use regex::Regex;

use super::filters::html_escape;

/// What `urlize` adds to links.
pub(crate) struct Options {
    /// Shorten the shown URL to this many characters, then `...`.
    pub trim_url_limit: Option<usize>,
    pub rel: Option<String>,
    pub target: Option<String>,
    /// Schemes recognised besides `http(s)://` and `mailto:`, such as `ftp://`.
    pub extra_schemes: Vec<String>,
}

static HTTP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        ^
        (
            (https?://|www\.)
            (([\w%-]+\.)+)?
            (
                [a-z]{2,63}
            |
                xn--[\w%]{2,59}
            )
        |
            ([\w%-]{2,63}\.)+
            (com|net|int|edu|gov|org|info|mil)
        |
            (https?://)
            (
                (([\d]{1,3})(\.[\d]{1,3}){3})
            |
                (\[([\da-f]{0,4}:){2}([\da-f]{0,4}:?){1,6}\])
            )
        )
        (?::[\d]{1,5})?
        (?:[/?\#]\S*)?
        $",
    )
    .expect("the URL pattern is valid")
});

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\S+@\w[\w.-]*\.\w+$").expect("the e-mail pattern is valid"));

static LEAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([(<]|&lt;)+").expect("the lead pattern is valid"));

static TRAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([)>.,\n]|&gt;)+$").expect("the trail pattern is valid"));

static WHITESPACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s+").expect("the whitespace pattern is valid"));

pub(crate) fn urlize(text: &str, options: &Options) -> String {
    let escaped = html_escape(text);
    let rel = options
        .rel
        .as_ref()
        .map(|rel| format!(" rel=\"{}\"", html_escape(rel)))
        .unwrap_or_default();
    let target = options
        .target
        .as_ref()
        .map(|target| format!(" target=\"{}\"", html_escape(target)))
        .unwrap_or_default();
    let trim = |url: &str| match options.trim_url_limit {
        Some(limit) if url.chars().count() > limit => {
            format!("{}...", url.chars().take(limit).collect::<String>())
        }
        _ => url.to_owned(),
    };
    let mut out = String::with_capacity(escaped.len());
    let mut last = 0;
    for separator in WHITESPACE.find_iter(&escaped) {
        out.push_str(&link_word(
            &escaped[last..separator.start()],
            options,
            &rel,
            &target,
            &trim,
        ));
        out.push_str(separator.as_str());
        last = separator.end();
    }
    out.push_str(&link_word(&escaped[last..], options, &rel, &target, &trim));
    out
}

fn link_word(
    word: &str,
    options: &Options,
    rel: &str,
    target: &str,
    trim: &dyn Fn(&str) -> String,
) -> String {
    let mut head = "";
    let mut middle = word.to_owned();
    let mut tail = String::new();
    if let Some(lead) = LEAD.find(word) {
        head = lead.as_str();
        middle = word[lead.end()..].to_owned();
    }
    if [")", ">", ".", ",", "\n", "&gt;"]
        .iter()
        .any(|end| middle.ends_with(end))
        && let Some(trail) = TRAIL.find(&middle)
    {
        tail = trail.as_str().to_owned();
        middle.truncate(trail.start());
    }
    for (start, end) in [("(", ")"), ("<", ">"), ("&lt;", "&gt;")] {
        let start_count = middle.matches(start).count();
        if start_count <= middle.matches(end).count() {
            continue;
        }
        for _ in 0..start_count.min(tail.matches(end).count()) {
            let Some(at) = tail.find(end) else { break };
            let end_index = at + end.len();
            middle.push_str(&tail[..end_index]);
            tail = tail[end_index..].to_owned();
        }
    }
    let middle = if HTTP.is_match(&middle) {
        let href = if middle.starts_with("https://") || middle.starts_with("http://") {
            middle.clone()
        } else {
            format!("https://{middle}")
        };
        format!("<a href=\"{href}\"{rel}{target}>{}</a>", trim(&middle))
    } else if let Some(address) = middle.strip_prefix("mailto:")
        && EMAIL.is_match(address)
    {
        format!("<a href=\"{middle}\">{address}</a>")
    } else if middle.contains('@')
        && !middle.starts_with("www.")
        && !middle.starts_with('@')
        && !middle.contains(':')
        && EMAIL.is_match(&middle)
    {
        format!("<a href=\"mailto:{middle}\">{middle}</a>")
    } else {
        let mut linked = middle.clone();
        for scheme in &options.extra_schemes {
            if middle != *scheme && middle.starts_with(scheme.as_str()) {
                linked = format!("<a href=\"{middle}\"{rel}{target}>{middle}</a>");
            }
        }
        linked
    };
    format!("{head}{middle}{tail}")
}

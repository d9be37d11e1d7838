//! Which target group a request goes to: rule conditions and wildcard matching, with no IO.

use crate::config::{ListenerConfig, Rule};

/// A listener's rules in evaluation order.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    /// Sorted by ascending priority; host patterns are lowercased.
    rules: Vec<Rule>,
    default_target_group: Option<String>,
}

impl Routes {
    pub(crate) fn new(listener: &ListenerConfig) -> Routes {
        let mut rules = listener.rules.clone();
        rules.sort_by_key(|rule| rule.priority);
        for rule in &mut rules {
            for host in &mut rule.host_headers {
                *host = host.to_ascii_lowercase();
            }
        }
        Routes {
            rules,
            default_target_group: listener.default_target_group.clone(),
        }
    }

    /// The target group for a request with this Host header (if any) and path, or `None` when
    /// no rule matches and there is no default.
    pub(crate) fn route(&self, host: Option<&str>, path: &str) -> Option<&str> {
        let host = host.map(|host| strip_port(host).to_ascii_lowercase());
        let matched = self.rules.iter().find(|rule| {
            let host_matches = rule.host_headers.is_empty()
                || host.as_deref().is_some_and(|host| {
                    rule.host_headers
                        .iter()
                        .any(|pattern| wildcard_match(pattern, host))
                });
            let path_matches = rule.path_patterns.is_empty()
                || rule
                    .path_patterns
                    .iter()
                    .any(|pattern| wildcard_match(pattern, path));
            host_matches && path_matches
        });
        matched
            .map(|rule| rule.target_group.as_str())
            .or(self.default_target_group.as_deref())
    }
}

/// `example.com:8080` → `example.com`, `[::1]:8080` → `[::1]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (also none) and
/// `?` matches exactly one.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently stands for the end of.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((star, star_text)) = backtrack {
            // Let the last `*` swallow one more character and retry from there.
            p = star + 1;
            t = star_text + 1;
            backtrack = Some((star, star_text + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_wildcard(cases: &[(&str, &str, bool)]) {
        for &(pattern, text, expected) in cases {
            assert_eq!(
                wildcard_match(pattern, text),
                expected,
                "pattern `{pattern}` against `{text}`"
            );
        }
    }

    #[test]
    fn wildcards() {
        check_wildcard(&[
            ("/api", "/api", true),
            ("/api", "/api/", false),
            ("/api", "/API", false),
            ("/api/*", "/api/", true),
            ("/api/*", "/api/users/1", true),
            ("/api/*", "/apis", false),
            ("*", "", true),
            ("*", "/anything", true),
            ("", "", true),
            ("", "/", false),
            ("/v?/x", "/v1/x", true),
            ("/v?/x", "/v10/x", false),
            ("/*/x/*", "/a/b/x/c", true),
            ("/*/x/*", "/a/b/y/c", false),
            ("*.example.com", "api.example.com", true),
            ("*.example.com", "example.com", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("/é?", "/éü", true),
        ]);
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        for (host, expected) in [
            ("example.com", "example.com"),
            ("example.com:8080", "example.com"),
            ("127.0.0.1:80", "127.0.0.1"),
            ("[::1]:8080", "[::1]"),
            ("[::1]", "[::1]"),
        ] {
            assert_eq!(strip_port(host), expected);
        }
    }

    fn rule(priority: u32, hosts: &[&str], paths: &[&str], target_group: &str) -> Rule {
        Rule {
            priority,
            host_headers: hosts.iter().map(|host| (*host).to_owned()).collect(),
            path_patterns: paths.iter().map(|path| (*path).to_owned()).collect(),
            target_group: target_group.to_owned(),
        }
    }

    #[track_caller]
    fn check_routes(listener: ListenerConfig, cases: &[(Option<&str>, &str, Option<&str>)]) {
        let routes = Routes::new(&listener);
        for &(host, path, expected) in cases {
            assert_eq!(
                routes.route(host, path),
                expected,
                "host {host:?}, path `{path}`"
            );
        }
    }

    #[test]
    fn rules_in_priority_order_with_all_conditions() {
        let listener = ListenerConfig {
            name: "prod".to_owned(),
            port: 0,
            // Deliberately out of order: priority decides, not position.
            rules: vec![
                rule(30, &[], &["/api/*"], "api"),
                rule(10, &["Admin.Example.com"], &[], "admin"),
                rule(20, &["*.example.com"], &["/api/*", "/v?/*"], "tenant-api"),
            ],
            default_target_group: Some("web".to_owned()),
        };
        check_routes(
            listener,
            &[
                (Some("admin.example.com"), "/api/x", Some("admin")),
                (Some("ADMIN.example.COM:8443"), "/", Some("admin")),
                (Some("shop.example.com"), "/api/x", Some("tenant-api")),
                (Some("shop.example.com"), "/v2/x", Some("tenant-api")),
                (Some("shop.example.com"), "/other", Some("web")),
                (Some("localhost"), "/api/x", Some("api")),
                (None, "/api/x", Some("api")),
                (None, "/API/x", Some("web")),
                (Some("localhost:1234"), "/", Some("web")),
            ],
        );
    }

    #[test]
    fn no_match_without_default() {
        let listener = ListenerConfig {
            name: "prod".to_owned(),
            port: 0,
            rules: vec![rule(1, &["a.test"], &[], "a")],
            default_target_group: None,
        };
        check_routes(
            listener,
            &[
                (Some("a.test"), "/", Some("a")),
                (Some("b.test"), "/", None),
                (None, "/", None),
            ],
        );
    }
}

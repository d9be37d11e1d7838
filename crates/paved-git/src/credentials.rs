//! Credentials for git remotes over HTTP: a user name and a password (or token) per host,
//! given to Paved in git's own credential-store format, and never written anywhere.
//!
//! The format is `git credential-store`'s (`~/.git-credentials`): one URL per line,
//! `SCHEME://USER:PASSWORD@HOST[:PORT][/PATH]`, with `%`-encoded user and password; blank
//! lines and lines starting with `#` are ignored. A remote matches an entry with the same
//! scheme and host (and port), and, when the entry has a path, a path under it; the first
//! match wins, as in git.

use std::fmt;

use percent_encoding::percent_decode_str;

/// A user name and a password or token. `Debug` shows the user only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A line of a credential store that is not a URL with a user and a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}: {reason}; expected `https://USER:PASSWORD@HOST`, as `git credential-store` writes"
)]
pub struct CredentialStoreError {
    pub line: usize,
    pub reason: &'static str,
}

/// Credentials by remote, read from git's credential-store format. `Debug` shows no secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialStore {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    scheme: String,
    /// Lowercase, with the port when one is given.
    host: String,
    /// Without leading or trailing `/`; empty when the entry names no path.
    path: String,
    credentials: Credentials,
}

/// The parts of a `scheme://[userinfo@]host[/path]` URL.
struct Parts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    path: &'a str,
}

fn parts(url: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    Some(Parts {
        scheme,
        userinfo,
        host,
        path: path.trim_matches('/'),
    })
}

/// `user:password` (either part `%`-encoded) as credentials; `token` alone is a user with an
/// empty password, as hosts that take a token as the user name expect.
fn userinfo_credentials(userinfo: &str) -> Option<Credentials> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |text: &str| {
        percent_decode_str(text)
            .decode_utf8()
            .ok()
            .map(String::from)
    };
    Some(Credentials {
        user: decode(user)?,
        password: decode(password)?,
    })
}

/// The credentials written into a URL (`https://user:password@host/...`), if any.
pub fn url_credentials(url: &str) -> Option<Credentials> {
    parts(url)?.userinfo.and_then(userinfo_credentials)
}

/// The URL without its `user:password@` part (anything after the host, such as
/// `#ref=main`, is kept); other text as it is.
pub fn redact_url(url: &str) -> String {
    match parts(url) {
        Some(Parts {
            scheme,
            userinfo: Some(userinfo),
            ..
        }) => url.replacen(
            &format!("{scheme}://{userinfo}@"),
            &format!("{scheme}://"),
            1,
        ),
        _ => url.to_owned(),
    }
}

/// Whether a URL has a `user[:password]@` part.
pub fn has_userinfo(url: &str) -> bool {
    parts(url).is_some_and(|parts| parts.userinfo.is_some())
}

impl CredentialStore {
    /// Reads git's credential-store format.
    ///
    /// # Errors
    ///
    /// The first line that is not a URL with a user, a password and a host.
    pub fn parse(text: &str) -> Result<CredentialStore, CredentialStoreError> {
        let mut entries = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let problem = |reason| CredentialStoreError {
                line: index + 1,
                reason,
            };
            let parts = parts(line).ok_or_else(|| problem("not a URL"))?;
            let userinfo = parts
                .userinfo
                .ok_or_else(|| problem("no `USER:PASSWORD@`"))?;
            if !userinfo.contains(':') {
                return Err(problem("no password"));
            }
            let credentials = userinfo_credentials(userinfo)
                .ok_or_else(|| problem("a part that is not UTF-8 once decoded"))?;
            if parts.host.is_empty() {
                return Err(problem("no host"));
            }
            entries.push(Entry {
                scheme: parts.scheme.to_ascii_lowercase(),
                host: parts.host.to_ascii_lowercase(),
                path: parts.path.to_owned(),
                credentials,
            });
        }
        Ok(CredentialStore { entries })
    }

    /// The credentials for a remote URL (its own `user:password@`, if any, is ignored).
    pub fn for_url(&self, url: &str) -> Option<&Credentials> {
        let remote = parts(url)?;
        let scheme = remote.scheme.to_ascii_lowercase();
        let host = remote.host.to_ascii_lowercase();
        self.entries
            .iter()
            .find(|entry| {
                entry.scheme == scheme
                    && entry.host == host
                    && (entry.path.is_empty()
                        || remote.path == entry.path
                        || remote
                            .path
                            .strip_prefix(entry.path.as_str())
                            .is_some_and(|rest| rest.starts_with('/')))
            })
            .map(|entry| &entry.credentials)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(user: &str, password: &str) -> Credentials {
        Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }

    #[test]
    fn urls_with_and_without_credentials() {
        let cases = [
            (
                "https://bot:t%40ken@git.example.com/t.git",
                Some(credentials("bot", "t@ken")),
            ),
            (
                "http://bot:pw@127.0.0.1:8080/t.git#ref=main",
                Some(credentials("bot", "pw")),
            ),
            (
                "https://ghp_token@github.com/o/r.git",
                Some(credentials("ghp_token", "")),
            ),
            ("https://git.example.com/t.git", None),
            ("/srv/git/t.git", None),
            ("file:///srv/git/t.git", None),
        ];
        for (url, expected) in cases {
            assert_eq!(url_credentials(url), expected, "{url}");
        }
        assert!(has_userinfo("https://ghp_token@github.com/o/r.git"));
        let redacted = [
            (
                "https://bot:pw@git.example.com/t.git#ref=main",
                "https://git.example.com/t.git#ref=main",
            ),
            (
                "https://ghp_token@github.com/o/r.git",
                "https://github.com/o/r.git",
            ),
            ("http://host#ref=a@b", "http://host#ref=a@b"),
            ("/srv/git/a@b.git", "/srv/git/a@b.git"),
        ];
        for (url, expected) in redacted {
            assert_eq!(redact_url(url), expected, "{url}");
        }
        assert!(!has_userinfo("https://github.com/o/r.git?a=b@c"));
    }

    #[test]
    fn stores_match_scheme_host_and_path() {
        let store = CredentialStore::parse(
            "# a comment\n\
             \n\
             https://team:one@git.example.com/team\n\
             https://any:two@GIT.example.com\n\
             http://local:three@127.0.0.1:8080\n",
        )
        .expect("the store parses");
        let cases = [
            (
                "https://git.example.com/team/templates.git",
                Some(credentials("team", "one")),
            ),
            (
                "https://git.example.com/teams/x.git",
                Some(credentials("any", "two")),
            ),
            (
                "https://someone:else@git.example.com/x.git",
                Some(credentials("any", "two")),
            ),
            (
                "http://127.0.0.1:8080/t.git",
                Some(credentials("local", "three")),
            ),
            ("http://127.0.0.1:9090/t.git", None),
            ("http://git.example.com/x.git", None),
            ("/srv/git/t.git", None),
        ];
        for (url, expected) in cases {
            assert_eq!(store.for_url(url), expected.as_ref(), "{url}");
        }
        let refused = [
            ("https://git.example.com\n", 1, "no `USER:PASSWORD@`"),
            ("\nhttps://bot@git.example.com\n", 2, "no password"),
            ("git.example.com\n", 1, "not a URL"),
            ("https://a:b@\n", 1, "no host"),
        ];
        for (text, line, reason) in refused {
            let error = CredentialStore::parse(text).expect_err(text);
            assert_eq!(
                (error.line, error.reason.starts_with(reason)),
                (line, true),
                "{text}: {error}"
            );
        }
        let shown = format!("{store:?}");
        for secret in ["one", "two", "three"] {
            assert!(!shown.contains(&format!("\"{secret}\"")), "{shown}");
        }
    }
}

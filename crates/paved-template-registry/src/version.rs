//! Version numbers (`MAJOR.MINOR`), version states, and selectors (`NAME`, `NAME@1`,
//! `NAME@1.2`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A template version number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    pub fn new(major: u32, minor: u32) -> Version {
        Version { major, minor }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The state of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionStatus {
    /// Registered, renderable by exact version, not offered to teams.
    Draft,
    /// Offered to teams; the highest published version is the recommended one.
    Published,
    /// Taken out by an admin, with a reason; publishing it again brings it back.
    Withdrawn,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Draft => "draft",
            VersionStatus::Published => "published",
            VersionStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<VersionStatus> {
        match text {
            "draft" => Some(VersionStatus::Draft),
            "published" => Some(VersionStatus::Published),
            "withdrawn" => Some(VersionStatus::Withdrawn),
            _ => None,
        }
    }
}

impl fmt::Display for VersionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which version of a template a caller means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSelector {
    /// The recommended version: the highest published one.
    Recommended,
    /// The highest published version of one major.
    Major(u32),
    /// Exactly this version, whatever its state.
    Exact(Version),
}

impl fmt::Display for VersionSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSelector::Recommended => f.write_str("recommended"),
            VersionSelector::Major(major) => write!(f, "{major}"),
            VersionSelector::Exact(version) => write!(f, "{version}"),
        }
    }
}

/// A version or selector that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a template version: expected MAJOR or MAJOR.MINOR, such as `1` or `1.2`")]
pub struct VersionSyntaxError {
    pub text: String,
}

impl FromStr for VersionSelector {
    type Err = VersionSyntaxError;

    /// `""` and `recommended` → the recommended version; `1` → major 1; `1.2` → exactly 1.2.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || VersionSyntaxError {
            text: text.to_owned(),
        };
        let number = |part: &str| -> Result<u32, VersionSyntaxError> {
            if part.is_empty()
                || !part.bytes().all(|byte| byte.is_ascii_digit())
                || (part.len() > 1 && part.starts_with('0'))
            {
                return Err(error());
            }
            part.parse().map_err(|_| error())
        };
        let text_without_v = text.strip_prefix('v').unwrap_or(text);
        match text_without_v.split_once('.') {
            _ if text.is_empty() || text == "recommended" => Ok(VersionSelector::Recommended),
            None => {
                let major = number(text_without_v)?;
                if major == 0 {
                    return Err(error());
                }
                Ok(VersionSelector::Major(major))
            }
            Some((major, minor)) => {
                let major = number(major)?;
                if major == 0 {
                    return Err(error());
                }
                Ok(VersionSelector::Exact(Version::new(major, number(minor)?)))
            }
        }
    }
}

/// Splits `NAME[@VERSION]` into the name and the selector.
pub fn parse_template_selector(
    text: &str,
) -> Result<(String, VersionSelector), VersionSyntaxError> {
    match text.split_once('@') {
        Some((name, version)) => Ok((name.to_owned(), version.parse()?)),
        None => Ok((text.to_owned(), VersionSelector::Recommended)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse() {
        assert_eq!("".parse(), Ok(VersionSelector::Recommended));
        assert_eq!("2".parse(), Ok(VersionSelector::Major(2)));
        assert_eq!("v2".parse(), Ok(VersionSelector::Major(2)));
        assert_eq!(
            "1.10".parse(),
            Ok(VersionSelector::Exact(Version::new(1, 10)))
        );
        for bad in ["0", "1.", ".1", "01", "1.02", "x", "1.2.3", "-1"] {
            assert!(bad.parse::<VersionSelector>().is_err(), "{bad}");
        }
        assert_eq!(
            parse_template_selector("web-service@1").map(|(name, _)| name),
            Ok("web-service".to_owned())
        );
    }

    #[test]
    fn versions_order_numerically() {
        assert!(Version::new(1, 10) > Version::new(1, 9));
        assert!(Version::new(2, 0) > Version::new(1, 99));
    }
}

//! The local engine's commands: `paved build`, `images`, `logs`, `secret`, `lb` and
//! `engine`, each a thin client of one `/api/engine` call. This module holds what they share.

pub mod build;
pub mod images;
pub mod lb;
pub mod logs;
pub mod secret;
pub mod services;

/// A path segment, percent-encoded (names may hold `/`, `+`, `=` and `@`).
pub(crate) fn segment(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        // `byte_serialize` writes a space as `+` (and `+` as `%2B`); a path reads `+` literally.
        .replace('+', "%20")
}

fn to_json(value: &impl serde::Serialize) -> Result<String, crate::Failure> {
    Ok(serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_secret_names_intact() {
        assert_eq!(
            segment("app/db+key=1@x.y-z_"),
            "app%2Fdb%2Bkey%3D1%40x.y-z_"
        );
        assert_eq!(segment("bad name"), "bad%20name");
    }
}

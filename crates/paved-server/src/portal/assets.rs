//! Static files, embedded in the binary. Each is served under a name that changes with its
//! contents (htmx's carries its version; ours a hash), so browsers may keep them for a year.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// htmx, as published on the npm registry (`npm pack htmx.org@2.0.4`, `dist/htmx.min.js`).
pub(crate) const HTMX: &str = "htmx-2.0.4.min.js";

struct Asset {
    /// The name pages link to.
    url_name: String,
    contents: &'static [u8],
    content_type: &'static str,
}

fn assets() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let hashed = |stem: &str, extension: &str, contents: &'static [u8], content_type| {
            let digest = crate::auth::sha256_hex(&String::from_utf8_lossy(contents));
            Asset {
                url_name: format!("{stem}.{}.{extension}", &digest[..12]),
                contents,
                content_type,
            }
        };
        vec![
            Asset {
                url_name: HTMX.to_owned(),
                contents: include_bytes!("static/htmx-2.0.4.min.js"),
                content_type: "text/javascript; charset=utf-8",
            },
            hashed(
                "portal",
                "css",
                include_bytes!("static/portal.css"),
                "text/css; charset=utf-8",
            ),
            hashed(
                "portal",
                "js",
                include_bytes!("static/portal.js"),
                "text/javascript; charset=utf-8",
            ),
        ]
    })
}

/// The URL of the asset `stem.extension` (`portal.css`, or htmx's file name).
pub(crate) fn url(name: &str) -> String {
    let found = assets().iter().find(|asset| {
        asset.url_name == name
            || name.split_once('.').is_some_and(|(stem, extension)| {
                asset.url_name.starts_with(&format!("{stem}."))
                    && asset.url_name.ends_with(&format!(".{extension}"))
            })
    });
    match found {
        Some(asset) => format!("/static/{}", asset.url_name),
        None => format!("/static/{name}"),
    }
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match assets().iter().find(|asset| asset.url_name == file) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            asset.contents,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            "no such file",
        )
            .into_response(),
    }
}

//! Static files (`assets/`), embedded in the binary with rust-embed and served at
//! `/assets/…`. Pages link them as `/assets/admin.css?v=<content hash>`, so a browser may keep
//! a file forever: a new version has a new URL.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
#[exclude = "*.md"]
struct Files;

/// The first 8 bytes of a file's SHA-256, hex.
fn version(path: &str) -> Option<String> {
    static VERSIONS: OnceLock<HashMap<String, String>> = OnceLock::new();
    let all = VERSIONS.get_or_init(|| {
        Files::iter()
            .filter_map(|p| {
                let hash = Files::get(&p)?.metadata.sha256_hash();
                Some((p.into_owned(), hex::encode(&hash[..8])))
            })
            .collect()
    });
    all.get(path).cloned()
}

/// The URL of an asset with its content hash: `/assets/admin.css?v=1a2b3c4d5e6f7081`.
pub fn url(path: &str) -> String {
    match version(path) {
        Some(v) => format!("/assets/{path}?v={v}"),
        None => format!("/assets/{path}"),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// `GET /assets/{path}`: the file; cached for a year when the URL names its current hash.
pub async fn serve(
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    // A segment that is not UTF-8 once decoded names no file either.
    let Some((path, file)) = path
        .ok()
        .and_then(|Path(path)| Files::get(&path).map(|file| (path, file)))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let current = version(&path).map(|v| format!("v={v}"));
    let cache = if query.is_some() && query == current {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_carry_their_content_hash() {
        let u = url("admin.css");
        assert!(u.starts_with("/assets/admin.css?v="), "{u}");
        assert_eq!(u.len(), "/assets/admin.css?v=".len() + 16);
        assert_eq!(url("missing.css"), "/assets/missing.css");
    }
}

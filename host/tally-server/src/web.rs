//! The web dashboard: a static single-page app (ES modules, CSS, pinned ECharts) embedded in the
//! binary, so `tally serve` needs neither the network nor files beside it. Every figure a page
//! shows comes from the same `/api/v1` call a script makes; this module only serves the files.
//!
//! Page paths answer `index.html` (the app routes in the browser); `/assets/…` answers the
//! embedded files. Third-party files live in `web/vendor/` under versioned names pinned by
//! `web/vendor/vendor.lock`, so they are cached as immutable; the app's own files are revalidated
//! by ETag. Every answer carries a self-only Content-Security-Policy.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// Paths the app draws in the browser (see `ROUTES` in `web/js/app.js`): each answers
/// `index.html`. Listed rather than a catch-all fallback so `/api/…` misses stay API 404s and
/// the API router can merge with this one.
pub const PAGES: &[&str] = &[
    "/",
    "/login",
    "/servers",
    "/servers/{name}",
    "/features",
    "/features/history",
    "/users",
    "/reports",
    "/admin",
    "/licensing",
    "/agents",
];

/// Scripts, styles, fonts, images and API calls from this origin only; no inline script or
/// style, no eval, no framing. Charts draw in a canvas and style elements through the CSSOM,
/// which style-src does not govern.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// One embedded file, served at `/assets/{path}`.
struct Asset {
    path: &'static str,
    bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset { path: $path, bytes: include_bytes!(concat!("../web/", $path)) }),*]
    };
}

const INDEX: &[u8] = include_bytes!("../web/index.html");

/// Every file of `web/` the browser may ask for (a test checks none is missing).
const ASSETS: &[Asset] = assets![
    "app.css",
    "icon.svg",
    "js/api.js",
    "js/app.js",
    "js/charts.js",
    "js/session.js",
    "js/state.js",
    "js/ui.js",
    "js/pages/admin.js",
    "js/pages/agents.js",
    "js/pages/common.js",
    "js/pages/dashboard.js",
    "js/pages/facts.js",
    "js/pages/features.js",
    "js/pages/licensing.js",
    "js/pages/login.js",
    "js/pages/reports.js",
    "js/pages/servers.js",
    "js/pages/users.js",
    "vendor/echarts-6.1.0.esm.min.mjs",
    "vendor/echarts-6.1.0.LICENSE",
    "vendor/echarts-6.1.0.LICENSE-d3",
    "vendor/echarts-6.1.0.NOTICE",
    "vendor/zrender-6.1.0.LICENSE",
    "vendor/vendor.lock",
];

/// Precompressed forms of the large files (`gzip -9 -n`, re-made by `web/vendor/fetch.sh` and
/// pinned in its lock): ECharts is 1.1 MB as is, 0.37 MB gzipped, which a phone feels.
const GZIPPED: &[(&str, &[u8])] = &[(
    "vendor/echarts-6.1.0.esm.min.mjs",
    include_bytes!("../web/vendor/echarts-6.1.0.esm.min.mjs.gz"),
)];

/// The dashboard's routes, to merge with the API's: page paths and `/assets/{*path}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new();
    for page in PAGES {
        router = router.route(page, get(index));
    }
    router.route("/assets/{*path}", get(asset))
}

async fn index(request_headers: HeaderMap) -> Response {
    respond(
        INDEX,
        "text/html; charset=utf-8",
        REVALIDATE,
        etag_of(None),
        &request_headers,
    )
}

async fn asset(Path(path): Path<String>, request_headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.path == path) else {
        return with_security_headers(
            (StatusCode::NOT_FOUND, format!("no asset named `{path}`")).into_response(),
        );
    };
    let a = &ASSETS[i];
    // Third-party files carry their pinned version in their names: they never change in place.
    let caching = if a.path.starts_with("vendor/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let gzipped = GZIPPED.iter().position(|(path, _)| *path == a.path);
    let Some(g) = gzipped else {
        return respond(
            a.bytes,
            content_type(a.path),
            caching,
            etag_of(Some(i)),
            &request_headers,
        );
    };
    let mut response = if accepts_gzip(&request_headers) {
        let mut r = respond(
            GZIPPED[g].1,
            content_type(a.path),
            caching,
            gzip_etag_of(g),
            &request_headers,
        );
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        respond(
            a.bytes,
            content_type(a.path),
            caching,
            etag_of(Some(i)),
            &request_headers,
        )
    };
    // Caches keep the two forms apart.
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// `Accept-Encoding` takes gzip (named, or `*`, with a non-zero quality).
fn accepts_gzip(request_headers: &HeaderMap) -> bool {
    request_headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let coding = parts.next()?.trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (!refused).then_some(coding)
        })
        .any(|coding| coding == "gzip" || coding == "x-gzip" || coding == "*")
}

/// Strong ETags of the gzipped forms: a different representation, a different tag.
fn gzip_etag_of(g: usize) -> &'static HeaderValue {
    static ETAGS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    let etags = ETAGS.get_or_init(|| {
        GZIPPED
            .iter()
            .map(|(_, bytes)| {
                let digest = Sha256::digest(bytes);
                let tag = format!("\"{}-gzip\"", hex::encode(&digest[..16]));
                HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
            })
            .collect()
    });
    &etags[g]
}

fn respond(
    bytes: &'static [u8],
    content_type: &'static str,
    caching: &'static str,
    etag: &'static HeaderValue,
    request_headers: &HeaderMap,
) -> Response {
    let status = if not_modified(request_headers, etag) {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut response = if status == StatusCode::NOT_MODIFIED {
        status.into_response()
    } else {
        (status, bytes).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
    headers.insert(header::ETAG, etag.clone());
    with_security_headers(response)
}

fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// `If-None-Match` lists this ETag (or `*`).
fn not_modified(request_headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// Strong ETags from the content, computed once: `None` is index.html, `Some(i)` is `ASSETS[i]`.
fn etag_of(asset: Option<usize>) -> &'static HeaderValue {
    static ETAGS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    let etags = ETAGS.get_or_init(|| {
        std::iter::once(INDEX)
            .chain(ASSETS.iter().map(|a| a.bytes))
            .map(|bytes| {
                let digest = Sha256::digest(bytes);
                let tag = format!("\"{}\"", hex::encode(&digest[..16]));
                HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
            })
            .collect()
    });
    &etags[asset.map_or(0, |i| i + 1)]
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "json" => "application/json",
        // Licences, notices and the lock file are text; anything else is served as bytes.
        "LICENSE" | "LICENSE-d3" | "NOTICE" | "lock" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get_with(uri: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::get(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        router::<()>()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    async fn body(response: Response) -> Vec<u8> {
        to_bytes(response.into_body(), 8 << 20)
            .await
            .expect("body")
            .to_vec()
    }

    fn header_of(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// The web directory in the source tree (this file is also compiled by the browser tests).
    fn web_dir() -> PathBuf {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        [here.join("web"), here.join("../../host/tally-server/web")]
            .into_iter()
            .find(|d| d.join("index.html").is_file())
            .expect("host/tally-server/web")
    }

    #[tokio::test]
    async fn every_page_path_answers_the_app_with_a_strict_policy() {
        for uri in [
            "/",
            "/login",
            "/servers",
            "/servers/flex%20one",
            "/features",
            "/features/history",
            "/users",
            "/reports",
            "/admin",
            "/licensing",
            "/agents",
        ] {
            let r = get_with(uri, &[]).await;
            assert_eq!(r.status(), StatusCode::OK, "{uri}");
            assert_eq!(
                header_of(&r, header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-cache");
            let csp = header_of(&r, header::CONTENT_SECURITY_POLICY);
            assert!(csp.contains("script-src 'self';"), "{csp}");
            assert!(!csp.contains("unsafe"), "{csp}");
            assert_eq!(body(r).await, INDEX, "{uri}");
        }
    }

    #[tokio::test]
    async fn api_and_unknown_paths_never_answer_the_app() {
        for uri in [
            "/api/v1/nothing",
            "/api/v1/license-servers",
            "/nowhere",
            "/servers/a/b",
            "/assets/",
        ] {
            let r = get_with(uri, &[]).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
        }
    }

    #[tokio::test]
    async fn assets_carry_their_content_type_and_caching() {
        let cases = [
            (
                "/assets/js/app.js",
                "text/javascript; charset=utf-8",
                REVALIDATE,
            ),
            ("/assets/app.css", "text/css; charset=utf-8", REVALIDATE),
            ("/assets/icon.svg", "image/svg+xml", REVALIDATE),
            (
                "/assets/vendor/echarts-6.1.0.esm.min.mjs",
                "text/javascript; charset=utf-8",
                IMMUTABLE,
            ),
            (
                "/assets/vendor/echarts-6.1.0.LICENSE",
                "text/plain; charset=utf-8",
                IMMUTABLE,
            ),
        ];
        for (uri, content_type, caching) in cases {
            let r = get_with(uri, &[]).await;
            assert_eq!(r.status(), StatusCode::OK, "{uri}");
            assert_eq!(header_of(&r, header::CONTENT_TYPE), content_type, "{uri}");
            assert_eq!(header_of(&r, header::CACHE_CONTROL), caching, "{uri}");
            assert_eq!(header_of(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
            assert!(!body(r).await.is_empty(), "{uri}");
        }
        for asset in ASSETS {
            assert_ne!(
                content_type(asset.path),
                "application/octet-stream",
                "{}",
                asset.path
            );
        }
    }

    #[tokio::test]
    async fn a_matching_etag_answers_not_modified_without_a_body() {
        let first = get_with("/assets/js/ui.js", &[]).await;
        let etag = header_of(&first, header::ETAG).to_owned();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");

        let again = get_with("/assets/js/ui.js", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header_of(&again, header::ETAG), etag);
        assert!(body(again).await.is_empty());

        let listed = format!("\"other\", W/{etag}");
        let weak = get_with("/assets/js/ui.js", &[("if-none-match", &listed)]).await;
        assert_eq!(weak.status(), StatusCode::NOT_MODIFIED);

        let stale = get_with("/assets/js/ui.js", &[("if-none-match", "\"stale\"")]).await;
        assert_eq!(stale.status(), StatusCode::OK);

        // Different files, different tags.
        let other = get_with("/assets/js/api.js", &[]).await;
        assert_ne!(header_of(&other, header::ETAG), etag);
    }

    #[tokio::test]
    async fn unknown_assets_are_404_and_never_reach_the_file_system() {
        for uri in [
            "/assets/nothing.js",
            "/assets/../Cargo.toml",
            "/assets/%2e%2e/Cargo.toml",
            "/assets/vendor/fetch.sh",
        ] {
            let r = get_with(uri, &[]).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
            assert!(
                r.headers().contains_key(header::CONTENT_SECURITY_POLICY),
                "{uri}"
            );
        }
    }

    #[test]
    fn every_file_of_the_app_is_embedded_and_nothing_else() {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).expect("web dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    let rel = path.strip_prefix(root).expect("under root");
                    out.insert(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let root = web_dir();
        let mut on_disk = BTreeSet::new();
        walk(&root, &root, &mut on_disk);
        // index.html is served at the page paths; the fetch script is for developers.
        on_disk.remove("index.html");
        on_disk.remove("vendor/fetch.sh");
        let embedded: BTreeSet<String> = ASSETS
            .iter()
            .map(|a| a.path.to_owned())
            .chain(GZIPPED.iter().map(|(path, _)| format!("{path}.gz")))
            .collect();
        assert_eq!(on_disk, embedded);
    }

    /// Every relative or absolute module import and every `/assets/` reference in the app names an
    /// embedded file, so a page never fails on a missing module.
    #[test]
    fn every_reference_between_the_app_files_resolves() {
        let mut sources: Vec<(&str, &str)> = ASSETS
            .iter()
            .filter(|a| a.path.starts_with("js/"))
            .map(|a| (a.path, std::str::from_utf8(a.bytes).expect("utf-8")))
            .collect();
        sources.push(("index.html", std::str::from_utf8(INDEX).expect("utf-8")));
        let mut checked = 0;
        for (file, text) in sources {
            let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
            for quote in ['\'', '"'] {
                for piece in text.split(quote).skip(1).step_by(2) {
                    let target = if let Some(abs) = piece.strip_prefix("/assets/") {
                        if abs.is_empty() {
                            continue;
                        }
                        abs.to_owned()
                    } else if piece.starts_with("./") || piece.starts_with("../") {
                        if !piece.ends_with(".js") {
                            continue;
                        }
                        resolve(dir, piece)
                    } else {
                        continue;
                    };
                    assert!(
                        ASSETS.iter().any(|a| a.path == target),
                        "{file} refers to {piece} ({target}), which is not embedded"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 20, "only {checked} references found");
    }

    /// CRC-32 (IEEE), bit by bit: a gzip member's trailer holds it and the length.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[tokio::test]
    async fn echarts_is_served_gzipped_to_browsers_that_take_it_and_as_is_to_others() {
        let uri = "/assets/vendor/echarts-6.1.0.esm.min.mjs";
        let plain = get_with(uri, &[]).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(header_of(&plain, header::VARY), "accept-encoding");
        let plain_tag = header_of(&plain, header::ETAG).to_owned();
        let original = body(plain).await;

        let zipped = get_with(uri, &[("accept-encoding", "gzip, deflate, br, zstd")]).await;
        assert_eq!(zipped.status(), StatusCode::OK);
        assert_eq!(header_of(&zipped, header::CONTENT_ENCODING), "gzip");
        assert_eq!(header_of(&zipped, header::VARY), "accept-encoding");
        assert_eq!(
            header_of(&zipped, header::CONTENT_TYPE),
            "text/javascript; charset=utf-8"
        );
        let tag = header_of(&zipped, header::ETAG).to_owned();
        assert_ne!(tag, plain_tag);
        let gz = body(zipped).await;
        assert!(
            gz.len() * 2 < original.len(),
            "{} of {}",
            gz.len(),
            original.len()
        );
        // A gzip member of exactly the original: magic, then CRC-32 and length in the trailer.
        assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
        let trailer = &gz[gz.len() - 8..];
        let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        assert_eq!(le(&trailer[..4]), crc32(&original));
        assert_eq!(le(&trailer[4..]), original.len() as u32);

        // Its own tag revalidates it; quality 0 or another coding gets the file as is.
        let again = get_with(uri, &[("accept-encoding", "gzip"), ("if-none-match", &tag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        for refusing in ["gzip;q=0", "br", "identity", "gzip; q=0.0, br"] {
            let r = get_with(uri, &[("accept-encoding", refusing)]).await;
            assert!(
                r.headers().get(header::CONTENT_ENCODING).is_none(),
                "{refusing}"
            );
            assert_eq!(body(r).await, original, "{refusing}");
        }
        // Small files are not compressed; the .gz itself is not an asset.
        let app = get_with("/assets/js/app.js", &[("accept-encoding", "gzip")]).await;
        assert!(app.headers().get(header::CONTENT_ENCODING).is_none());
        let raw = get_with("/assets/vendor/echarts-6.1.0.esm.min.mjs.gz", &[]).await;
        assert_eq!(raw.status(), StatusCode::NOT_FOUND);
    }

    fn resolve(dir: &str, relative: &str) -> String {
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for piece in relative.split('/') {
            match piece {
                "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        parts.join("/")
    }

    #[test]
    fn vendored_files_match_their_lock() {
        let lock = ASSETS
            .iter()
            .find(|a| a.path == "vendor/vendor.lock")
            .map(|a| std::str::from_utf8(a.bytes).expect("utf-8"))
            .expect("lock embedded");
        let mut locked = BTreeSet::new();
        for line in lock
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(cols.len(), 7, "vendor.lock line `{line}`");
            if cols[0] == "gzip" {
                // A precompressed form: embedded, of a locked file, with the sum locked.
                let (source, file, sha) = (cols[2], cols[5], cols[6]);
                assert_eq!(file, format!("{source}.gz"), "{line}");
                let (_, bytes) = GZIPPED
                    .iter()
                    .find(|(path, _)| *path == format!("vendor/{source}"))
                    .unwrap_or_else(|| panic!("{file} locked but not embedded"));
                assert_eq!(hex::encode(Sha256::digest(bytes)), sha, "{file}");
                continue;
            }
            let (version, url, file, sha) = (cols[1], cols[2], cols[5], cols[6]);
            assert!(url.starts_with("https://registry.npmjs.org/"), "{url}");
            assert!(
                file.contains(version),
                "{file} does not carry its version {version}"
            );
            let asset = ASSETS
                .iter()
                .find(|a| a.path == format!("vendor/{file}"))
                .unwrap_or_else(|| panic!("{file} locked but not embedded"));
            assert_eq!(hex::encode(Sha256::digest(asset.bytes)), sha, "{file}");
            locked.insert(format!("vendor/{file}"));
        }
        for (path, _) in GZIPPED {
            assert!(locked.contains(*path), "{path} is gzipped but not locked");
        }
        for asset in ASSETS.iter().filter(|a| a.path.starts_with("vendor/")) {
            assert!(
                asset.path == "vendor/vendor.lock" || locked.contains(asset.path),
                "{} is vendored but not in vendor.lock",
                asset.path
            );
        }
    }
}

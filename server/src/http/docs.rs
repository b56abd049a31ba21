//! The documentation pages: Swagger UI at `/docs` and ReDoc at `/redoc`, both reading the
//! document served at `/openapi.json`, byte for byte the checked-in contract.
//!
//! poem-openapi ships both user interfaces, but only inside pages that embed its own
//! rendering of the spec (without the completions `taskapi_api::spec_json` makes). So the
//! scripts and styles are taken out of those pages once, when the app is built, and served
//! beside pages of our own.

use bytes::Bytes;
use poem::{Endpoint, EndpointExt, Response, Route, endpoint::make_sync, http::header, web::Html};

/// Swagger UI, configured for the password flow: Authorize asks for an email and a
/// password, nothing else; no favicon is requested.
const SWAGGER_PAGE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>taskapi · API reference (Swagger UI)</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
<style>
  /* The password grant here needs no client credentials and has no scopes. */
  .auth-container .wrapper:has(> section > [data-name="clientId"]),
  .auth-container .wrapper:has(> section > [data-name="clientSecret"]),
  .auth-container .wrapper:has(> section > [data-name="passwordType"]),
  .auth-container .scope-def { display: none; }
</style>
</head>
<body>
<div id="ui"></div>
<script src="/docs/swagger-ui.js"></script>
<script>
  SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui", deepLinking: true });
</script>
</body>
</html>
"##;

const REDOC_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>taskapi · API reference (ReDoc)</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<div id="redoc"></div>
<script src="/redoc/redoc.js"></script>
<script>
  Redoc.init("/openapi.json", {}, document.getElementById("redoc"));
</script>
</body>
</html>
"#;

/// The scripts and styles of the two user interfaces.
struct Assets {
    swagger_js: Bytes,
    swagger_css: Bytes,
    redoc_js: Bytes,
}

impl Assets {
    /// Takes the assets out of poem-openapi's pages.
    fn from_pages(swagger_page: &str, redoc_page: &str) -> Option<Self> {
        Some(Self {
            swagger_css: between(swagger_page, "<style charset=\"UTF-8\">", "</style>")?,
            swagger_js: between(swagger_page, "<script charset=\"UTF-8\">", "</script>")?,
            redoc_js: between(redoc_page, "<script charset=\"UTF-8\">", "</script>")?,
        })
    }
}

/// The text between the first `start` and the next `end`.
fn between(page: &str, start: &str, end: &str) -> Option<Bytes> {
    let (_, rest) = page.split_once(start)?;
    let (inside, _) = rest.split_once(end)?;
    Some(Bytes::copy_from_slice(inside.as_bytes()))
}

/// The routes of `/docs` and `/redoc`.
pub fn routes() -> (Route, Route) {
    let (swagger_page, redoc_page) = taskapi_api::bundled_ui_pages::<crate::http::Endpoints>();
    // poem-openapi's pages have had this shape since its UIs were added; a test pins it.
    let assets = Assets::from_pages(&swagger_page, &redoc_page)
        .expect("poem-openapi's UI pages hold their scripts and styles inline");
    let docs = Route::new()
        .at("/", page(SWAGGER_PAGE))
        .at(
            "/swagger-ui.js",
            asset(assets.swagger_js, "text/javascript"),
        )
        .at("/swagger-ui.css", asset(assets.swagger_css, "text/css"));
    let redoc = Route::new()
        .at("/", page(REDOC_PAGE))
        .at("/redoc.js", asset(assets.redoc_js, "text/javascript"));
    (docs, redoc)
}

fn page(html: &'static str) -> impl Endpoint {
    make_sync(move |_| Html(html))
}

/// A script or style, shared by every response (a `Bytes` clone copies nothing).
fn asset(body: Bytes, content_type: &'static str) -> impl Endpoint {
    make_sync(move |_| {
        Response::builder()
            .content_type(content_type)
            .header(header::CACHE_CONTROL, "public, max-age=3600")
            .body(body.clone())
    })
    .map_to_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// poem-openapi's pages are taken apart by text; a version that changes their shape
    /// fails here rather than in a browser.
    #[test]
    fn the_assets_come_out_of_poem_openapis_pages() {
        let (swagger_page, redoc_page) = taskapi_api::bundled_ui_pages::<crate::http::Endpoints>();
        let assets = Assets::from_pages(&swagger_page, &redoc_page)
            .expect("the pages have their assets inline");
        let text = |bytes: &Bytes| String::from_utf8_lossy(bytes).into_owned();
        assert!(text(&assets.swagger_js).contains("SwaggerUIBundle"));
        assert!(text(&assets.swagger_css).contains(".swagger-ui"));
        assert!(text(&assets.redoc_js).contains("Redoc"));
    }
}

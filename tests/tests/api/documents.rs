use taskapi_tests::{Spec, TestApp};

#[tokio::test]
async fn the_served_spec_is_the_checked_in_contract() {
    let app = TestApp::spawn().await;
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
            .expect("openapi.yaml");

    assert_eq!(
        app.page_at("/openapi.yaml").await,
        (200, checked_in.clone())
    );

    let (status, json) = app.page_at("/openapi.json").await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    let from_yaml: serde_json::Value = serde_yaml::from_str(&checked_in).expect("yaml");
    assert_eq!(json, from_yaml);

    let served: Vec<String> = app
        .spec()
        .await
        .operations
        .into_iter()
        .map(|op| op.id)
        .collect();
    let published: Vec<String> = Spec::checked_in()
        .operations
        .into_iter()
        .map(|op| op.id)
        .collect();
    assert_eq!(served, published);
}

/// Both pages read the served document, so they show exactly the contract; their scripts
/// and styles come from the server itself (no network), and they ask for no favicon.
#[tokio::test]
async fn swagger_ui_and_redoc_read_the_served_document() {
    let app = TestApp::spawn().await;
    for (page, assets) in [
        (
            "/docs",
            &["/docs/swagger-ui.js", "/docs/swagger-ui.css"][..],
        ),
        ("/redoc", &["/redoc/redoc.js"][..]),
    ] {
        let (status, html) = app.page_at(page).await;
        assert_eq!(status, 200, "{page}");
        assert!(html.contains(r#""/openapi.json""#), "{page}: {html}");
        assert!(html.contains("<title>taskapi"), "{page}: {html}");
        assert!(html.contains(r#"rel="icon" href="data:,""#), "{page}");
        for asset in assets {
            assert!(html.contains(asset), "{page} loads {asset}");
            let (status, body) = app.page_at(asset).await;
            assert_eq!(status, 200, "{asset}");
            assert!(body.len() > 10_000, "{asset} is the real bundle");
        }
    }
}

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

#[tokio::test]
async fn swagger_ui_is_served_at_docs() {
    let app = TestApp::spawn().await;
    let (status, html) = app.page_at("/docs").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("swagger-ui"),
        "{}",
        &html[..html.len().min(200)]
    );
}

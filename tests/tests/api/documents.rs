use taskapi_tests::TestApp;

#[tokio::test]
async fn the_served_spec_is_the_checked_in_contract() {
    let app = TestApp::spawn().await;
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
            .expect("openapi.yaml");

    let yaml = app
        .http
        .get(app.url("/openapi.yaml"))
        .send()
        .await
        .expect("sent");
    assert_eq!(yaml.status().as_u16(), 200);
    assert_eq!(yaml.text().await.expect("text"), checked_in);

    let json: serde_json::Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let from_yaml: serde_json::Value = serde_yaml::from_str(&checked_in).expect("yaml");
    assert_eq!(json, from_yaml);
}

#[tokio::test]
async fn swagger_ui_is_served_at_docs() {
    let app = TestApp::spawn().await;
    let page = app.http.get(app.url("/docs")).send().await.expect("sent");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("swagger-ui"),
        "{}",
        &html[..html.len().min(200)]
    );
}

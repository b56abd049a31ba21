use taskapi_tests::TestApp;

#[tokio::test]
async fn the_current_user_is_the_tokens_owner() {
    let (app, alice) = TestApp::with_user().await;
    let bob = app.signed_up_user().await;

    let me = alice.client.get_current_user().send().await.expect("me");
    assert_eq!(me.status().as_u16(), 200);
    let me = me.into_inner();
    assert_eq!(me.id, alice.id);
    assert_eq!(me.email, alice.email);

    let other = bob
        .client
        .get_current_user()
        .send()
        .await
        .expect("me")
        .into_inner();
    assert_eq!(other.id, bob.id);
}

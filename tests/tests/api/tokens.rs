//! Every way a bearer token can be wrong ends in the same place: 401 with
//! `WWW-Authenticate: Bearer`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_query::{Expr, ExprTrait, PostgresQueryBuilder, Query};
use sea_query_sqlx::SqlxBinder;
use serde_json::json;
use taskapi_tests::{TestApp, claims, problem, sign};

/// Tokens that are not JWTs at all.
const MALFORMED_TOKENS: &[&str] = &[
    "",
    "not-a-jwt",
    "a.b.c",
    "Bearer",
    "....",
    "eyJhbGciOiJIUzI1NiJ9.e30.",
];

/// Calls `GET /users/me` with `token` and checks it is refused.
async fn assert_refused(app: &TestApp, token: &str) {
    let refused = problem(app.client_with_token(token).get_current_user().send().await);
    assert_eq!(refused.status().as_u16(), 401, "token {token:?}");
    let challenge = refused
        .headers()
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "challenge {challenge:?}");
}

#[tokio::test]
async fn a_request_without_a_token_is_refused() {
    let app = TestApp::spawn().await;
    let refused = problem(app.client.get_current_user().send().await);
    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(
        refused
            .headers()
            .get("www-authenticate")
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let app = TestApp::spawn().await;
    for token in MALFORMED_TOKENS {
        assert_refused(&app, token).await;
    }
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let (app, alice) = TestApp::with_user().await;
    let bob = app.signed_up_user().await;

    // Alice's signature over a payload that claims to be Bob.
    let parts: Vec<&str> = alice.token.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD.encode(claims(bob.id, 600).to_string());
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_refused(&app, &tampered).await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let (app, alice) = TestApp::with_user().await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(alice.id, 600).to_string());
    assert_refused(&app, &format!("{header}.{payload}.")).await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let (app, alice) = TestApp::with_user().await;
    // Past the 5 s leeway.
    let expired = app.forge(&claims(alice.id, -60));
    assert_refused(&app, &expired).await;

    // The same claims, still valid, are accepted: the secret and claims are right.
    let valid = app.forge(&claims(alice.id, 600));
    let me = app
        .client_with_token(&valid)
        .get_current_user()
        .send()
        .await
        .expect("accepted");
    assert_eq!(me.into_inner().id, alice.id);
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let (app, alice) = TestApp::with_user().await;
    let forged = sign(
        &claims(alice.id, 600),
        "some-other-secret-that-is-long-enough",
    );
    assert_refused(&app, &forged).await;
}

#[tokio::test]
async fn tokens_for_another_issuer_or_audience_or_without_claims_are_refused() {
    let (app, alice) = TestApp::with_user().await;
    let mut wrong_issuer = claims(alice.id, 600);
    wrong_issuer["iss"] = json!("someone-else");
    let mut wrong_audience = claims(alice.id, 600);
    wrong_audience["aud"] = json!("another-api");
    let mut not_yet_valid = claims(alice.id, 600);
    not_yet_valid["nbf"] = json!(jsonwebtoken::get_current_timestamp() + 300);
    // Valid now by `nbf` and `exp`, but claiming to be issued an hour from now.
    let mut issued_in_the_future = claims(alice.id, 7200);
    issued_in_the_future["nbf"] = json!(jsonwebtoken::get_current_timestamp());
    issued_in_the_future["iat"] = json!(jsonwebtoken::get_current_timestamp() + 3600);
    for missing in ["sub", "exp", "nbf", "iat", "iss", "aud"] {
        let mut incomplete = claims(alice.id, 600);
        incomplete.as_object_mut().expect("object").remove(missing);
        assert_refused(&app, &app.forge(&incomplete)).await;
    }
    for claims in [
        wrong_issuer,
        wrong_audience,
        not_yet_valid,
        issued_in_the_future,
    ] {
        assert_refused(&app, &app.forge(&claims)).await;
    }
}

#[tokio::test]
async fn a_deleted_users_token_is_refused() {
    let (app, alice) = TestApp::with_user().await;
    alice
        .client
        .get_current_user()
        .send()
        .await
        .expect("valid at first");

    // Removed behind the server's back (no revocation is recorded), the way an operator
    // might: what reads the account still finds it gone. (`DELETE /users/me` revokes the
    // tokens everywhere at once; see accounts.rs.)
    let (sql, values) = Query::delete()
        .from_table("users")
        .and_where(Expr::col("id").eq(alice.id))
        .build_sqlx(PostgresQueryBuilder);
    let database = app.database().await;
    sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
        .execute(&database)
        .await
        .expect("deleted");

    assert_refused(&app, &alice.token).await;
}

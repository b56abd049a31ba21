//! Signing keys: tokens name their key (`kid`); a key set lets a new key in before it
//! signs and keeps a retired one verifying, so rotating the signing key while sessions are
//! live logs no one out; the Ed25519 keys' public halves are served as a JWKS that verifies
//! the tokens without any secret of the server's.

use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey, pkcs8::spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use secrecy::SecretString;
use taskapi_tests::{TestApp, TestUser, status_of};

/// A fresh Ed25519 private key, PKCS#8 PEM.
fn ed25519_pem() -> String {
    let mut seed = [0; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let key = SigningKey::from_bytes(&seed);
    key.to_pkcs8_pem(LineEnding::LF).expect("PEM").to_string()
}

/// A key set of Ed25519 keys, `signing` signing.
fn key_set(signing: &str, keys: &[(&str, &str)]) -> Option<SecretString> {
    let keys: Vec<serde_json::Value> = (keys.iter())
        .map(|(kid, pem)| serde_json::json!({"kid": kid, "alg": "EdDSA", "private_key": pem}))
        .collect();
    let set = serde_json::json!({"signing_kid": signing, "keys": keys});
    Some(set.to_string().into())
}

fn kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).expect("a JWT").kid
}

async fn reads_account(app: &TestApp, token: &str) -> u16 {
    status_of(&app.client_with_token(token).get_current_user().send().await)
}

/// `token` checked as another service would: with the key the JWKS of `app` lists under
/// its `kid`, and nothing else.
async fn verified_with_jwks(app: &TestApp, token: &str) -> bool {
    let served = app
        .raw(reqwest::Method::GET, "/.well-known/jwks.json")
        .send()
        .await
        .expect("served");
    assert_eq!(served.status().as_u16(), 200);
    let set: JwkSet = served.json().await.expect("a JWK Set");
    let Some(jwk) = set.find(&kid(token).expect("a kid")) else {
        return false;
    };
    let key = DecodingKey::from_jwk(jwk).expect("a usable JWK");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["taskapi"]);
    validation.set_issuer(&["taskapi"]);
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).is_ok()
}

#[tokio::test]
async fn rotating_the_signing_key_while_sessions_are_live_logs_no_one_out() {
    let (old, new) = (ed25519_pem(), ed25519_pem());
    // Before: the old key signs.
    let before =
        TestApp::configured(|settings| settings.jwt_keys = key_set("old", &[("old", &old)])).await;
    let alice: TestUser = before.signed_up_user().await;
    assert_eq!(kid(&alice.token).as_deref(), Some("old"));
    assert!(verified_with_jwks(&before, &alice.token).await);

    // Step 1, on every server: the new key is listed; the old one still signs.
    let listed = before
        .another_instance_with(|settings| {
            settings.jwt_keys = key_set("old", &[("old", &old), ("new", &new)]);
        })
        .await;
    assert_eq!(reads_account(&listed, &alice.token).await, 200);

    // Step 2, on every server: the new key signs. The old token still works, and the next
    // refresh brings a token signed with the new key.
    let rotated = before
        .another_instance_with(|settings| {
            settings.jwt_keys = key_set("new", &[("old", &old), ("new", &new)]);
        })
        .await;
    assert_eq!(reads_account(&rotated, &alice.token).await, 200);
    let next = rotated.refreshed(&alice.refresh_token).await;
    assert_eq!(kid(&next.access_token).as_deref(), Some("new"));
    assert_eq!(reads_account(&rotated, &next.access_token).await, 200);
    // A server not yet at step 2 accepts it too: it listed the new key at step 1.
    assert_eq!(reads_account(&listed, &next.access_token).await, 200);
    assert!(verified_with_jwks(&rotated, &next.access_token).await);
    assert!(verified_with_jwks(&rotated, &alice.token).await);

    // Step 3, once every token the old key signed has expired: it leaves the set. A token
    // it signed is refused (that is why step 3 waits); the session goes on.
    let retired = before
        .another_instance_with(|settings| settings.jwt_keys = key_set("new", &[("new", &new)]))
        .await;
    assert_eq!(reads_account(&retired, &alice.token).await, 401);
    assert!(!verified_with_jwks(&retired, &alice.token).await);
    assert_eq!(reads_account(&retired, &next.access_token).await, 200);
    let after = retired.refreshed(&next.refresh_token).await;
    assert_eq!(reads_account(&retired, &after.access_token).await, 200);
}

#[tokio::test]
async fn tokens_name_their_key_and_older_ones_without_a_kid_still_verify() {
    let (app, alice) = TestApp::with_user().await;
    assert_eq!(kid(&alice.token).as_deref(), Some("default"));
    // Only Ed25519 keys are published: the secret never is.
    let served: serde_json::Value = app
        .raw(reqwest::Method::GET, "/.well-known/jwks.json")
        .send()
        .await
        .expect("served")
        .json()
        .await
        .expect("JSON");
    assert_eq!(served, serde_json::json!({"keys": []}));
    // A token from before keys had ids (no `kid`) is checked with the secret.
    let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode(&alice.token)
        .expect("claims")
        .claims;
    let legacy = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(app.jwt_secret.as_bytes()),
    )
    .expect("signed");
    assert_eq!(kid(&legacy), None);
    assert_eq!(reads_account(&app, &legacy).await, 200);
    // A `kid` the server does not have is refused, whatever the signature.
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.kid = Some("unknown".to_owned());
    let foreign = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(app.jwt_secret.as_bytes()),
    )
    .expect("signed");
    assert_eq!(reads_account(&app, &foreign).await, 401);
}

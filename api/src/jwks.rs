//! `/.well-known/jwks.json`: the public keys that verify access tokens, so that other
//! services can check a token without holding any secret of the server's.

use poem_openapi::{Object, payload::Json};

use crate::problem::error_sets;

/// A public key that verifies access tokens: an Ed25519 key (RFC 8037). A token names its
/// key in its header's `kid`.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example)]
pub struct Jwk {
    /// Always `OKP` (an octet key pair).
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, unpadded base64url.
    pub x: String,
    /// The key's id, as tokens signed with it name it.
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
    /// Always `sig`.
    #[oai(rename = "use")]
    pub use_: String,
}

impl Jwk {
    /// The JWK of the Ed25519 public key `x` (unpadded base64url) named `kid`.
    pub fn ed25519(kid: String, x: String) -> Self {
        Self {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x,
            kid,
            alg: "EdDSA".to_owned(),
            use_: "sig".to_owned(),
        }
    }
}

/// The server's public keys (RFC 7517 §5). Empty while tokens are signed with HS256
/// secrets only, which are never published.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

examples! {
    Jwk => Jwk::ed25519(
        "2026-12".to_owned(),
        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".to_owned(),
    );
    JwkSet => JwkSet {
        keys: vec![<Jwk as poem_openapi::types::Example>::example()],
    };
}

responses! {
    /// The public keys, as a JWK Set.
    JwksResponse: 200 Ok(Json<JwkSet>);
}

error_sets! {
    /// Errors of `get_jwks`: only the server's own.
    JwksErrors:;
}

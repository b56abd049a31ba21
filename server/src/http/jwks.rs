//! `/.well-known/jwks.json`: the public keys that verify access tokens.

use taskapi_api::jwks::{Jwk, JwkSet, JwksErrors, JwksResponse};

use super::prelude::*;

/// The operations on `/.well-known`.
pub enum WellKnown {}

#[OpenApi(prefix_path = "/.well-known", tag = "ApiTag::Auth")]
impl Api<WellKnown> {
    /// Public signing keys
    ///
    /// The public keys of the Ed25519 keys that sign or signed access tokens (a JWK Set),
    /// for services that verify tokens themselves: a token's header names its key (`kid`),
    /// and a key stays listed as long as tokens it signed can be valid. HS256 keys are
    /// secrets and are never listed.
    #[oai(path = "/jwks.json", method = "get", operation_id = "get_jwks")]
    async fn get_jwks(&self) -> Result<JwksResponse, Errors<JwksErrors>> {
        let keys = (self.auth.public_keys().iter())
            .map(|key| Jwk::ed25519(key.kid.clone(), key.x.clone()))
            .collect();
        Ok(JwksResponse::Ok(Json(JwkSet { keys })))
    }
}

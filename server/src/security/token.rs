//! Access tokens: HS256 JWTs with every registered claim checked.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{config::JwtSecret, domain::UserId, failure::Failure};

/// Who issues tokens, and for whom; a token minted for anything else is refused.
const ISSUER: &str = "taskapi";
const AUDIENCE: &str = "taskapi";
/// Clock skew tolerated between servers, in seconds.
const LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: u64,
    nbf: u64,
    exp: u64,
    iss: String,
    aud: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is invalid")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    #[error("the token has expired")]
    Expired,
    /// Its `iat` lies further in the future than clocks drift apart.
    #[error("the token claims to be issued in the future")]
    IssuedInTheFuture,
}

/// A freshly signed access token.
pub struct IssuedToken {
    pub token: String,
    pub expires_in: Duration,
}

#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenIssuer {
    pub fn new(secret: &JwtSecret, ttl: Duration) -> Self {
        // jsonwebtoken's defaults require only `exp`, check `aud` only when present, skip
        // `nbf` and allow 60 s of skew; pin all of it down.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["sub", "iat", "nbf", "exp", "iss", "aud"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation,
            ttl,
        }
    }

    /// A fresh token for `user`; signing fails only on a bug.
    pub fn issue(&self, user: UserId) -> Result<IssuedToken, Failure> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user.0,
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| Failure::internal("cannot sign an access token", error))?;
        Ok(IssuedToken {
            token,
            expires_in: self.ttl,
        })
    }

    pub fn verify(&self, token: &str) -> Result<UserId, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(error),
            })?;
        // jsonwebtoken checks `exp` and `nbf` but not `iat`.
        if data.claims.iat > jsonwebtoken::get_current_timestamp() + LEEWAY_SECONDS {
            return Err(TokenError::IssuedInTheFuture);
        }
        Ok(UserId(data.claims.sub))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(secret: &str) -> TokenIssuer {
        let secret = JwtSecret::new(secret.as_bytes().to_vec()).expect("long enough");
        TokenIssuer::new(&secret, Duration::from_secs(60))
    }

    #[test]
    fn issued_tokens_verify() {
        let issuer = issuer("a-perfectly-fine-secret-of-32-bytes!");
        let user = UserId(Uuid::now_v7());
        let issued = issuer.issue(user).expect("issue");
        assert_eq!(issuer.verify(&issued.token).expect("verify"), user);
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let ours = issuer("a-perfectly-fine-secret-of-32-bytes!");
        let theirs = issuer("another-perfectly-fine-secret-32-b!");
        let issued = theirs.issue(UserId(Uuid::now_v7())).expect("issue");
        assert!(matches!(
            ours.verify(&issued.token),
            Err(TokenError::Invalid(_))
        ));
    }
}

//! Access tokens: JWTs signed by the current signing key (HS256 by default, or Ed25519)
//! with its `kid` in the header, every registered claim checked, naming the account
//! (`sub`), its session (`sid`) and its role. Any key of the set verifies (see
//! [`super::keys`]).

use std::{
    str::FromStr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use super::keys::{DEFAULT_KID, PublicKey, SigningKeys};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    domain::{Caller, Credential, Role, SessionId, UserId},
    failure::Failure,
};

/// Who issues tokens, and for whom; a token minted for anything else is refused.
const ISSUER: &str = "taskapi";
const AUDIENCE: &str = "taskapi";
/// Clock skew tolerated between servers, in seconds.
const LEEWAY_SECONDS: u64 = 5;

/// The secret that signs and checks access tokens (HS256). Never printed.
#[derive(Clone, Debug)]
pub struct JwtSecret(SecretSlice<u8>);

impl JwtSecret {
    /// HS256 needs a key at least as long as its hash (RFC 7518 §3.2).
    pub const MIN_BYTES: usize = 32;

    /// The secret, if it is long enough; the refusal never repeats it.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < Self::MIN_BYTES {
            return Err(format!(
                "must be at least {} bytes (got {}); generate one with `openssl rand -base64 48`",
                Self::MIN_BYTES,
                bytes.len()
            ));
        }
        Ok(Self(bytes.into()))
    }

    pub(super) fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    sid: Uuid,
    role: String,
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
    #[error("the token names no known role")]
    UnknownRole,
    /// Its `kid` names no key this server has (never listed, or removed from the set).
    #[error("the token's key is unknown")]
    UnknownKey,
}

/// A freshly signed access token.
pub struct IssuedToken {
    pub token: String,
    pub expires_in: Duration,
}

#[derive(Clone)]
pub struct TokenIssuer {
    keys: SigningKeys,
    /// How a token signed with each algorithm is checked.
    validations: Vec<(Algorithm, Validation)>,
    /// The secret's own keys: sync tokens are sealed with them whichever key signs.
    seal: Seal,
    ttl: Duration,
}

impl TokenIssuer {
    /// Tokens signed with the secret alone.
    pub fn new(secret: &JwtSecret, ttl: Duration) -> Self {
        Self::with_keys(secret, SigningKeys::from_secret(secret), ttl)
    }

    /// Tokens signed with `keys`' signer and checked with any of its keys; `secret` seals.
    pub fn with_keys(secret: &JwtSecret, keys: SigningKeys, ttl: Duration) -> Self {
        let validations = [Algorithm::HS256, Algorithm::EdDSA]
            .into_iter()
            .map(|algorithm| (algorithm, validation(algorithm)))
            .collect();
        Self {
            keys,
            validations,
            seal: Seal {
                encoding: EncodingKey::from_secret(secret.expose()),
                decoding: DecodingKey::from_secret(secret.expose()),
            },
            ttl,
        }
    }

    /// A seal with the secret, for what the server hands out to be handed back.
    pub fn seal(&self) -> Seal {
        self.seal.clone()
    }

    /// The public halves of the Ed25519 keys, for `GET /.well-known/jwks.json`.
    pub fn public_keys(&self) -> &[PublicKey] {
        &self.keys.public
    }

    /// How long an access token lives; a revocation must be remembered this long.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The longest an access token can still be accepted after it was issued: its lifetime
    /// plus the clock skew tolerated.
    pub fn acceptance_window(&self) -> Duration {
        self.ttl + Duration::from_secs(LEEWAY_SECONDS)
    }

    /// A fresh token for `caller`, expiring after the configured lifetime or at
    /// `not_after` (the end of its session), whichever comes first. Signing fails only on
    /// a bug.
    pub fn issue(&self, caller: Caller, not_after: DateTime<Utc>) -> Result<IssuedToken, Failure> {
        let now = jsonwebtoken::get_current_timestamp();
        let session_end = u64::try_from(not_after.timestamp()).unwrap_or(0);
        let exp = (now + self.ttl.as_secs()).min(session_end).max(now);
        let role: &'static str = caller.role.into();
        let claims = Claims {
            sub: caller.user.0,
            sid: caller.credential.id(),
            role: role.to_owned(),
            iat: now,
            nbf: now,
            exp,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let signer = &self.keys.signer;
        let mut header = Header::new(signer.algorithm);
        header.kid = Some(signer.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &signer.key)
            .map_err(|error| Failure::internal("cannot sign an access token", error))?;
        Ok(IssuedToken {
            token,
            expires_in: Duration::from_secs(exp - now),
        })
    }

    /// The caller a token speaks for, if it is genuine, current and meant for this API.
    /// Whether its session or account has been revoked since is not this function's
    /// concern.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        Ok(self.verify_until(token)?.0)
    }

    /// [`Self::verify`], and when the token expires.
    pub fn verify_until(&self, token: &str) -> Result<(Caller, SystemTime), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(TokenError::Invalid)?;
        // No `kid`: a token from before keys had ids, signed with the secret.
        let kid = header.kid.as_deref().unwrap_or(DEFAULT_KID);
        let verifier = self.keys.verifiers.get(kid).ok_or(TokenError::UnknownKey)?;
        let validation = (self.validations.iter())
            .find_map(|(algorithm, validation)| {
                (*algorithm == verifier.algorithm).then_some(validation)
            })
            .ok_or(TokenError::UnknownKey)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, &verifier.key, validation).map_err(|error| {
                match error.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid(error),
                }
            })?;
        // jsonwebtoken checks `exp` and `nbf` but not `iat`.
        if data.claims.iat > jsonwebtoken::get_current_timestamp() + LEEWAY_SECONDS {
            return Err(TokenError::IssuedInTheFuture);
        }
        let role = Role::from_str(&data.claims.role).map_err(|_| TokenError::UnknownRole)?;
        let caller = Caller {
            user: UserId(data.claims.sub),
            credential: Credential::Session(SessionId(data.claims.sid)),
            role,
        };
        Ok((caller, UNIX_EPOCH + Duration::from_secs(data.claims.exp)))
    }
}

/// How tokens signed with `algorithm` are checked. jsonwebtoken's defaults require only
/// `exp`, check `aud` only when present, skip `nbf` and allow 60 s of skew; all of it is
/// pinned down. The header's `alg` must be the key's (no algorithm confusion).
fn validation(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_required_spec_claims(&["sub", "iat", "nbf", "exp", "iss", "aud"]);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    validation
}

/// Signs texts the server hands a client to hand back unchanged (sync tokens), so that
/// one it did not hand out, or handed to someone else, is refused: HMAC-SHA256 (the access
/// tokens' secret) of what the text is for, whom it was given to, and the text.
#[derive(Clone)]
pub struct Seal {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The length of a seal's signature: 32 bytes, unpadded URL-safe base64.
const SIGNATURE_CHARS: usize = 43;

impl Seal {
    fn message(purpose: &str, holder: Uuid, text: &str) -> String {
        format!("{purpose}\n{holder}\n{text}")
    }

    /// `text` (URL-safe characters) followed by its signature, URL-safe too.
    pub fn seal(&self, purpose: &str, holder: Uuid, text: &str) -> String {
        let message = Self::message(purpose, holder, text);
        // HMAC signs any message with any key: this cannot fail.
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, Algorithm::HS256)
                .expect("HMAC-SHA256 signs any message");
        format!("{text}{signature}")
    }

    /// The text `sealed` carries, if this server sealed it for `holder` and `purpose`.
    pub fn open<'a>(&self, purpose: &str, holder: Uuid, sealed: &'a str) -> Option<&'a str> {
        let split = sealed.len().checked_sub(SIGNATURE_CHARS)?;
        let (text, signature) = (sealed.get(..split)?, sealed.get(split..)?);
        let message = Self::message(purpose, holder, text);
        let verified = jsonwebtoken::crypto::verify(
            signature,
            message.as_bytes(),
            &self.decoding,
            Algorithm::HS256,
        );
        verified.unwrap_or(false).then_some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(secret: &str) -> TokenIssuer {
        let secret = JwtSecret::new(secret.as_bytes().to_vec()).expect("long enough");
        TokenIssuer::new(&secret, Duration::from_secs(60))
    }

    fn caller() -> Caller {
        Caller {
            user: UserId(Uuid::now_v7()),
            credential: Credential::Session(SessionId(Uuid::now_v7())),
            role: Role::Admin,
        }
    }

    fn far_future() -> DateTime<Utc> {
        Utc::now() + chrono::Duration::days(30)
    }

    #[test]
    fn short_secrets_are_refused_without_being_echoed() {
        let error = JwtSecret::new(b"too short".to_vec()).expect_err("short");
        assert!(!error.contains("too short"), "{error}");
        let secret = JwtSecret::new(b"s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t".to_vec()).expect("valid");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }

    #[test]
    fn issued_tokens_verify() {
        let issuer = issuer("a-perfectly-fine-secret-of-32-bytes!");
        let caller = caller();
        let issued = issuer.issue(caller, far_future()).expect("issue");
        assert_eq!(issuer.verify(&issued.token).expect("verify"), caller);
        assert_eq!(issued.expires_in, Duration::from_secs(60));
    }

    #[test]
    fn a_token_never_outlives_its_session() {
        let issuer = issuer("a-perfectly-fine-secret-of-32-bytes!");
        let session_end = Utc::now() + chrono::Duration::seconds(20);
        let issued = issuer.issue(caller(), session_end).expect("issue");
        assert!(issued.expires_in <= Duration::from_secs(20));
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let ours = issuer("a-perfectly-fine-secret-of-32-bytes!");
        let theirs = issuer("another-perfectly-fine-secret-32-b!");
        let issued = theirs.issue(caller(), far_future()).expect("issue");
        assert!(matches!(
            ours.verify(&issued.token),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn a_seal_opens_only_for_its_purpose_holder_and_text() {
        let seal = issuer("a-perfectly-fine-secret-of-32-bytes!").seal();
        let (alice, bob) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let sealed = seal.seal("sync", alice, "MS8xMjM");
        assert_eq!(seal.open("sync", alice, &sealed), Some("MS8xMjM"));
        assert_eq!(seal.open("sync", bob, &sealed), None, "another holder");
        assert_eq!(seal.open("cursor", alice, &sealed), None, "another purpose");
        let tampered = sealed.replacen("MS8x", "MS8y", 1);
        assert_eq!(seal.open("sync", alice, &tampered), None, "another text");
        let theirs = issuer("another-perfectly-fine-secret-32-b!").seal();
        assert_eq!(theirs.open("sync", alice, &sealed), None, "another secret");
        assert_eq!(seal.open("sync", alice, "short"), None);
        assert_eq!(seal.open("sync", alice, "é".repeat(30).as_str()), None);
    }
}

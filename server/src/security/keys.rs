//! The keys that sign and verify access tokens: each has a `kid`, carried in the header of
//! the tokens it signs. One signs; every listed key verifies, so a key retired from signing
//! keeps its tokens valid until they expire, and a key added before it signs is accepted
//! everywhere by the time it does. Ed25519 keys publish their public halves (the JWKS);
//! HS256 keys are secrets and never leave the server.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::Deserialize;

use super::JwtSecret;

/// The `kid` of the key made from `TASKAPI_JWT_SECRET`; a token without a `kid` (issued
/// before keys had ids) is checked with it.
pub const DEFAULT_KID: &str = "default";

/// Longest `kid` accepted.
const MAX_KID_CHARS: usize = 64;

/// The key set as its file (or `TASKAPI_JWT_KEYS`) states it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySetFile {
    /// The key that signs new tokens; the secret's (`default`) when absent.
    signing_kid: Option<String>,
    keys: Vec<KeyEntry>,
    /// Whether the secret's key (`default`) still verifies tokens (and so tokens without a
    /// `kid`); `false` retires it, as removing a key from the set does.
    #[serde(default = "verifies")]
    default_verifies: bool,
}

fn verifies() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(tag = "alg", deny_unknown_fields)]
enum KeyEntry {
    /// A shared secret of at least 32 bytes.
    #[serde(rename = "HS256")]
    Hs256 { kid: String, secret: String },
    /// An Ed25519 private key, PKCS#8 PEM (`openssl genpkey -algorithm ed25519`).
    #[serde(rename = "EdDSA")]
    EdDsa { kid: String, private_key: String },
}

/// A key that signs.
#[derive(Clone)]
pub struct Signer {
    pub kid: String,
    pub algorithm: Algorithm,
    pub key: EncodingKey,
}

/// A key that verifies.
#[derive(Clone)]
pub struct Verifier {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

/// The public half of an Ed25519 key, as a JWK (RFC 8037) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    /// The public key, unpadded base64url.
    pub x: String,
}

/// Every key the server knows: the one that signs, and all that verify.
#[derive(Clone)]
pub struct SigningKeys {
    pub signer: Signer,
    pub verifiers: HashMap<String, Verifier>,
    /// The Ed25519 keys' public halves, in the order the set lists them.
    pub public: Vec<PublicKey>,
}

impl SigningKeys {
    /// The secret alone: it signs, as `default`.
    pub fn from_secret(secret: &JwtSecret) -> Self {
        let (signer, verifier) = hs256(DEFAULT_KID, secret.expose());
        Self {
            signer,
            verifiers: HashMap::from([(DEFAULT_KID.to_owned(), verifier)]),
            public: Vec::new(),
        }
    }

    /// The secret's key and those of `set` (the key set's JSON), with its `signing_kid`
    /// signing. What is wrong with the set is said without repeating any key.
    pub fn new(secret: &JwtSecret, set: &str) -> Result<Self, String> {
        // serde's message may quote the text it read (a key): say only where and what kind.
        let file: KeySetFile = serde_json::from_str(set).map_err(|error| {
            format!(
                "not a key set ({:?} error at line {}, column {})",
                error.classify(),
                error.line(),
                error.column()
            )
        })?;
        let mut keys = Self::from_secret(secret);
        let mut signers = HashMap::from([(DEFAULT_KID.to_owned(), keys.signer.clone())]);
        for entry in file.keys {
            let (kid, signer, verifier, public) = match entry {
                KeyEntry::Hs256 { kid, secret } => {
                    let secret = JwtSecret::new(secret.into_bytes())
                        .map_err(|problem| format!("key {kid:?}: the secret {problem}"))?;
                    let (signer, verifier) = hs256(&kid, secret.expose());
                    (kid, signer, verifier, None)
                }
                KeyEntry::EdDsa { kid, private_key } => {
                    let (signer, verifier, public) = ed25519(&kid, &private_key)?;
                    (kid, signer, verifier, Some(public))
                }
            };
            if kid.is_empty() || kid.chars().count() > MAX_KID_CHARS {
                return Err(format!(
                    "a kid has 1 to {MAX_KID_CHARS} characters: {kid:?}"
                ));
            }
            if keys.verifiers.insert(kid.clone(), verifier).is_some() {
                return Err(format!(
                    "kid {kid:?} is listed twice (`default` is the secret's)"
                ));
            }
            keys.public.extend(public);
            signers.insert(kid, signer);
        }
        if let Some(kid) = file.signing_kid {
            keys.signer = signers
                .remove(&kid)
                .ok_or_else(|| format!("signing_kid {kid:?} names no key of the set"))?;
        }
        if !file.default_verifies {
            if keys.signer.kid == DEFAULT_KID {
                return Err("default_verifies is false: name another key as signing_kid".into());
            }
            keys.verifiers.remove(DEFAULT_KID);
        }
        Ok(keys)
    }
}

fn hs256(kid: &str, secret: &[u8]) -> (Signer, Verifier) {
    let signer = Signer {
        kid: kid.to_owned(),
        algorithm: Algorithm::HS256,
        key: EncodingKey::from_secret(secret),
    };
    let verifier = Verifier {
        algorithm: Algorithm::HS256,
        key: DecodingKey::from_secret(secret),
    };
    (signer, verifier)
}

fn ed25519(kid: &str, pem: &str) -> Result<(Signer, Verifier, PublicKey), String> {
    let private = SigningKey::from_pkcs8_pem(pem)
        .map_err(|_| format!("key {kid:?}: private_key is not an Ed25519 PKCS#8 PEM key"))?;
    let der = private
        .to_pkcs8_der()
        .map_err(|_| format!("key {kid:?}: cannot encode the key"))?;
    let x = URL_SAFE_NO_PAD.encode(private.verifying_key().as_bytes());
    let signer = Signer {
        kid: kid.to_owned(),
        algorithm: Algorithm::EdDSA,
        key: EncodingKey::from_ed_der(der.as_bytes()),
    };
    let verifier = Verifier {
        algorithm: Algorithm::EdDSA,
        key: DecodingKey::from_ed_components(&x)
            .map_err(|_| format!("key {kid:?}: cannot use its public key"))?,
    };
    let public = PublicKey {
        kid: kid.to_owned(),
        x,
    };
    Ok((signer, verifier, public))
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;

    use super::*;

    fn secret() -> JwtSecret {
        JwtSecret::new(vec![7; 32]).expect("long enough")
    }

    fn ed25519_pem(seed: u8) -> String {
        let key = SigningKey::from_bytes(&[seed; 32]);
        key.to_pkcs8_pem(LineEnding::LF).expect("PEM").to_string()
    }

    #[test]
    fn a_set_adds_its_keys_beside_the_secret_and_names_the_signer() {
        let set = serde_json::json!({
            "signing_kid": "ed-1",
            "keys": [
                {"kid": "ed-1", "alg": "EdDSA", "private_key": ed25519_pem(1)},
                {"kid": "hs-1", "alg": "HS256", "secret": "a second secret, thirty-two bytes+"},
            ],
        });
        let keys = SigningKeys::new(&secret(), &set.to_string()).expect("a key set");
        assert_eq!(keys.signer.kid, "ed-1");
        assert_eq!(keys.signer.algorithm, Algorithm::EdDSA);
        let mut kids: Vec<&str> = keys.verifiers.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["default", "ed-1", "hs-1"]);
        assert_eq!(keys.public.len(), 1, "only Ed25519 keys are published");
        assert_eq!(keys.public[0].kid, "ed-1");
    }

    #[test]
    fn the_secret_s_key_can_be_retired() {
        let set = serde_json::json!({
            "signing_kid": "ed-1",
            "default_verifies": false,
            "keys": [{"kid": "ed-1", "alg": "EdDSA", "private_key": ed25519_pem(3)}],
        });
        let keys = SigningKeys::new(&secret(), &set.to_string()).expect("a key set");
        assert!(!keys.verifiers.contains_key(DEFAULT_KID));
    }

    #[test]
    fn a_wrong_set_is_refused_without_repeating_a_key() {
        let refused = |set: serde_json::Value| {
            SigningKeys::new(&secret(), &set.to_string())
                .err()
                .expect("refused")
        };
        let short = refused(serde_json::json!({
            "keys": [{"kid": "hs", "alg": "HS256", "secret": "too short"}],
        }));
        assert!(
            short.contains("at least 32 bytes") && !short.contains("too short"),
            "{short}"
        );
        let twice = refused(serde_json::json!({
            "keys": [{"kid": "default", "alg": "EdDSA", "private_key": ed25519_pem(2)}],
        }));
        assert!(twice.contains("listed twice"), "{twice}");
        let unknown = refused(serde_json::json!({"signing_kid": "nope", "keys": []}));
        assert!(unknown.contains("names no key"), "{unknown}");
        let quoted = refused(serde_json::json!({"keys": ["-----BEGIN PRIVATE KEY----- secret"]}));
        assert!(!quoted.contains("secret"), "{quoted}");
        let unsigned = refused(serde_json::json!({"default_verifies": false, "keys": []}));
        assert!(unsigned.contains("signing_kid"), "{unsigned}");
        let garbage = refused(serde_json::json!({
            "keys": [{"kid": "ed", "alg": "EdDSA", "private_key": "-----BEGIN PRIVATE KEY-----"}],
        }));
        assert!(garbage.contains("not an Ed25519"), "{garbage}");
    }
}

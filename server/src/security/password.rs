//! argon2id password hashing on the blocking pool, behind a semaphore, in reused memory.
//!
//! Each hash takes 19 MiB and tens of milliseconds of CPU. Running it on the async runtime
//! would stall every other request; running an unbounded number at once would let a login
//! flood exhaust memory. So hashes run on the blocking pool, at most `concurrency` at once,
//! and a request that cannot get a slot within [`QUEUE_TIMEOUT`] is told to retry.
//!
//! Each slot owns its 19 MiB of argon2 memory for the life of the process. Allocating it per
//! hash would leave the allocator's per-thread arenas holding tens of megabytes each after a
//! flood; reused, the hashing memory is `concurrency × 19 MiB`, whatever the load.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{self, Output, ParamsString, PasswordHash, SaltString},
};
use rand_core::OsRng;
use secrecy::{ExposeSecret, SecretString};
use tokio::{sync::Semaphore, time::Instant};
use tracing::Instrument;

use crate::{
    domain::{Password, normalized_password},
    failure::Failure,
    telemetry::metrics,
};

/// How long a request waits for a hashing slot before it is refused with 503.
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    /// The argon2 memory of idle slots; a permit from `slots` guarantees one is here.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    queue_timeout: Duration,
    /// Verified against when the account does not exist, so that a login for an unknown
    /// email costs as much as one with a wrong password.
    dummy_hash: Arc<str>,
}

/// OWASP's argon2id baseline: m = 19 MiB, t = 2, p = 1.
fn params() -> Params {
    // The parameters are constants inside argon2's accepted ranges.
    Params::new(19 * 1024, 2, 1, None).expect("OWASP parameters are valid")
}

/// Runs argon2 in `memory`, growing it only if a stored hash asks for more than it holds.
fn hash_into(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> argon2::Result<()> {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..])
}

fn hash_blocking(password: &str, memory: &mut Vec<Block>) -> Result<String, password_hash::Error> {
    let params = params();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let mut out = [0; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    hash_into(&argon2, &params, password, salt_bytes, &mut out, memory)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(hash.to_string())
}

fn verify_blocking(password: &str, hash: &str, memory: &mut Vec<Block>) -> bool {
    // Parameters come from the stored hash, so raising them later keeps old hashes valid.
    let mut verified = || -> Result<bool, password_hash::Error> {
        let parsed = PasswordHash::new(hash)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let params = Params::try_from(&parsed)?;
        let argon2 = Argon2::new(
            Algorithm::try_from(parsed.algorithm)?,
            Version::try_from(parsed.version.unwrap_or(Version::V0x13.into()))?,
            params.clone(),
        );
        let mut salt_bytes = [0; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let mut out = vec![0; expected.len()];
        hash_into(&argon2, &params, password, salt_bytes, &mut out, memory)?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(&out)? == expected)
    };
    verified().unwrap_or(false)
}

impl PasswordHasher {
    /// Builds the hasher; computes the dummy hash, so call it before serving. A slot's
    /// memory is allocated by its first hash and kept from then on: a server that hashes
    /// nothing (one behind others that take the logins, say) holds none.
    pub async fn new(concurrency: usize) -> Result<Self, Failure> {
        let concurrency = concurrency.max(1);
        let hasher = Self {
            slots: Arc::new(Semaphore::new(concurrency)),
            memory: Arc::new(Mutex::new(vec![Vec::new(); concurrency])),
            queue_timeout: QUEUE_TIMEOUT,
            dummy_hash: Arc::from(""),
        };
        // In memory of its own, returned when done.
        let dummy = hasher
            .run(|_| hash_blocking("dummy password that no account has", &mut Vec::new()))
            .await?
            .map_err(hashing_failed)?;
        Ok(Self {
            dummy_hash: Arc::from(dummy),
            ..hasher
        })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, Failure> {
        // A copy of its own for the blocking pool, zeroed when dropped like the original.
        let password = password.clone();
        self.run(move |memory| hash_blocking(password.expose(), memory))
            .await?
            .map_err(hashing_failed)
    }

    /// Checks a password against a stored hash, or against the dummy hash when there is
    /// no account (the answer is then always `false`, after the same amount of work).
    /// The password is compared in Unicode NFC, the form it is hashed in; a hash made
    /// before passwords were normalised matches the password as typed, so a password typed
    /// otherwise than NFC is also compared as it is.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, Failure> {
        let normalized = SecretString::from(normalized_password(password));
        let as_typed =
            (normalized.expose_secret() != password).then(|| SecretString::from(password));
        let exists = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let matches = self
            .run(move |memory| {
                verify_blocking(normalized.expose_secret(), &hash, memory)
                    || as_typed
                        .is_some_and(|typed| verify_blocking(typed.expose_secret(), &hash, memory))
            })
            .await?;
        Ok(exists && matches)
    }

    /// Runs `work` on the blocking pool with a slot and that slot's memory.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, Failure> {
        let started = Instant::now();
        let permit =
            tokio::time::timeout(self.queue_timeout, Arc::clone(&self.slots).acquire_owned())
                .instrument(tracing::debug_span!("password.slot.wait"))
                .await;
        metrics::hash_waited(started.elapsed());
        let permit = permit
            .map_err(|_| Failure::Busy("every password-hashing slot stayed taken"))?
            // The semaphore is never closed.
            .expect("hashing semaphore is open");
        let memory = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let lock = || memory.lock().unwrap_or_else(PoisonError::into_inner);
            // One buffer per permit: with the permit held, one is always free.
            let mut blocks = lock().pop().unwrap_or_default();
            let in_flight = metrics::InFlight::hash();
            let result = work(&mut blocks);
            drop(in_flight);
            lock().push(blocks);
            result
        })
        .instrument(tracing::debug_span!("password.hash"))
        .await
        .map_err(|died| Failure::internal("the password-hashing task died", died))
    }
}

fn hashing_failed(error: password_hash::Error) -> Failure {
    Failure::internal("password hashing failed", error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `hasher` finds `typed` to be the password `stored` hashes.
    async fn accepts(hasher: &PasswordHasher, typed: &str, stored: &str) -> bool {
        hasher.verify(typed, Some(stored)).await.expect("verify")
    }

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let hasher = PasswordHasher::new(2).await.expect("hasher");
        let password = Password::parse("correct horse battery".to_owned()).expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(accepts(&hasher, "correct horse battery", &hash).await);
        assert!(!accepts(&hasher, "wrong horse battery", &hash).await);
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_instead_of_waiting_forever() {
        let mut hasher = PasswordHasher::new(1).await.expect("hasher");
        hasher.queue_timeout = Duration::from_millis(1);
        let password = Password::parse("correct horse battery".to_owned()).expect("valid");
        // One slot: the first hash holds it for tens of milliseconds, the second gives up.
        let (first, second) = tokio::join!(hasher.hash(&password), hasher.hash(&password));
        assert!(first.is_ok());
        assert!(matches!(second, Err(Failure::Busy(_))), "{second:?}");
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_still_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        let params = Params::new(8 * 1024, 1, 1, None).expect("valid");
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse battery", &salt)
            .expect("hash")
            .to_string();
        let hasher = PasswordHasher::new(1).await.expect("hasher");
        assert!(accepts(&hasher, "correct horse battery", &stored).await);
        assert!(!accepts(&hasher, "correct horse", &stored).await);
        assert!(!accepts(&hasher, "x", "not a hash").await);
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        let hasher = PasswordHasher::new(1).await.expect("hasher");
        let dummy_password = "dummy password that no account has";
        assert!(!hasher.verify(dummy_password, None).await.expect("verify"));
    }
}

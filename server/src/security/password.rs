//! argon2id password hashing on the blocking pool, behind a semaphore.
//!
//! Each hash takes 19 MiB and tens of milliseconds of CPU. Running it on the async runtime
//! would stall every other request; running an unbounded number at once would let a login
//! flood exhaust memory. So hashes run on the blocking pool, at most `concurrency` at once,
//! and a request that cannot get a slot within [`QUEUE_TIMEOUT`] is told to retry.

use std::{sync::Arc, time::Duration};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{self, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString},
};
use rand_core::OsRng;
use tokio::sync::Semaphore;

use crate::{domain::Password, failure::Failure};

/// How long a request waits for a hashing slot before it is refused with 503.
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    /// Verified against when the account does not exist, so that a login for an unknown
    /// email costs as much as one with a wrong password.
    dummy_hash: Arc<str>,
}

/// OWASP's argon2id baseline: m = 19 MiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    // The parameters are constants inside argon2's accepted ranges.
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    // Parameters come from the stored hash, so raising them later keeps old hashes valid.
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

impl PasswordHasher {
    /// Builds the hasher; computes the dummy hash, so call it before serving.
    pub async fn new(concurrency: usize) -> Result<Self, Failure> {
        let hasher = Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            queue_timeout: QUEUE_TIMEOUT,
            dummy_hash: Arc::from(""),
        };
        let dummy = hasher
            .run(|| hash_blocking("dummy password that no account has"))
            .await?
            .map_err(hashing_failed)?;
        Ok(Self {
            dummy_hash: Arc::from(dummy),
            ..hasher
        })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, Failure> {
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(&password))
            .await?
            .map_err(hashing_failed)
    }

    /// Checks a password against a stored hash, or against the dummy hash when there is
    /// no account (the answer is then always `false`, after the same amount of work).
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, Failure> {
        let password = password.to_owned();
        let exists = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let matches = self.run(move || verify_blocking(&password, &hash)).await?;
        Ok(exists && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Failure> {
        let permit =
            tokio::time::timeout(self.queue_timeout, Arc::clone(&self.slots).acquire_owned())
                .await
                .map_err(|_| Failure::Busy("every password-hashing slot stayed taken"))?
                // The semaphore is never closed.
                .expect("hashing semaphore is open");
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
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

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let hasher = PasswordHasher::new(2).await.expect("hasher");
        let password = Password::parse("correct horse battery".to_owned()).expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("correct horse battery", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("wrong horse battery", Some(&hash))
                .await
                .expect("verify")
        );
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
    async fn unknown_accounts_never_verify() {
        let hasher = PasswordHasher::new(1).await.expect("hasher");
        let dummy_password = "dummy password that no account has";
        assert!(!hasher.verify(dummy_password, None).await.expect("verify"));
    }
}

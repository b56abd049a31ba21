//! How long the tests give a revocation to reach every server instance that answers them.
//!
//! A server applies what it revokes to its own set before it answers; the other instances
//! hear of it through PostgreSQL `NOTIFY`, a moment later. A test that asks another
//! instance at once can win that race, so it asks again until [`REVOCATION_WINDOW`] is up.

use std::time::{Duration, Instant};

use crate::TestApp;

/// How long a revocation made on one server instance may take to be refused by the others,
/// as the README states it ("Revocation without a database round trip"). Measured with
/// `bench-revocation` on the 2-core test machine (BENCHMARKS.md, "Revocation across
/// instances"): under load the other instance refuses the token by the first request sent
/// after the logout's response (its round trip, p99 about 100 ms, at most about 0.5 s),
/// but that first request can still be accepted. 2 s is four times the slowest seen, short
/// enough that a revocation that never arrives fails the test quickly.
pub const REVOCATION_WINDOW: Duration = Duration::from_secs(2);

/// The pause between two polls.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

impl TestApp {
    /// How long a revocation made through this app may take to reach every instance that
    /// answers for it: no time at all when one instance answers (the one that made the
    /// revocation applied it before answering), else [`REVOCATION_WINDOW`].
    pub fn revocation_window(&self) -> Duration {
        match self.instances() {
            1 => Duration::ZERO,
            _ => REVOCATION_WINDOW,
        }
    }

    /// Waits until `GET /users/me` answers `token` with `status` on every instance, within
    /// [`TestApp::revocation_window`]; see [`TestApp::eventually_within`].
    pub async fn eventually_token_status(&self, token: &str, status: u16) {
        self.eventually_within(self.revocation_window(), status, || {
            self.token_status(token)
        })
        .await;
    }

    /// Asks `status` (a request to this app) until it answers `expected` as many times in a
    /// row as there are instances (nginx's round robin sends consecutive requests to each in
    /// turn), so that every instance has answered it; fails, with the answers, if that takes
    /// longer than `window`. A zero window allows one answer only.
    pub async fn eventually_within<F, Fut>(&self, window: Duration, expected: u16, mut status: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = u16>,
    {
        let every = usize::try_from(self.instances()).expect("a few instances");
        let started = Instant::now();
        let mut answers = Vec::new();
        loop {
            answers.push(status().await);
            let in_a_row = answers
                .iter()
                .rev()
                .take_while(|&&answer| answer == expected);
            if in_a_row.count() >= every {
                return;
            }
            let waited = started.elapsed();
            assert!(
                waited < window,
                "expected {expected} from every instance within {window:?}; after {waited:?} \
                 the last answers were {:?} ({} in all)",
                &answers[answers.len().saturating_sub(8)..],
                answers.len()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The status `GET /users/me` answers `token` with on every instance (one request each,
    /// in turn); fails if they disagree.
    pub async fn token_status_everywhere(&self, token: &str) -> u16 {
        let mut answers = Vec::new();
        for _ in 0..self.instances() {
            answers.push(self.token_status(token).await);
        }
        assert!(
            answers.windows(2).all(|pair| pair[0] == pair[1]),
            "the instances disagree about the token: {answers:?}"
        );
        answers[0]
    }
}

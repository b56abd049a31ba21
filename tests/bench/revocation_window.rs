//! How long a logout on one server instance takes to reach another: two instances on one
//! database, readers hammering both with `GET /tasks/{id}`, and, round after round, a
//! session logged in and out on the first while the second is asked with that session's
//! access token until it answers 401. The window is the time from the logout's response
//! to the second instance's first 401 (each poll is one round trip, so that is its grain).
//!
//! ```text
//! cargo run -p taskapi-tests --bin bench-revocation -- [--rounds N] [--readers N]
//! ```
//!
//! Needs PostgreSQL (`TASKAPI_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432`);
//! loopback only, and the database it creates is dropped at the end. Run it without
//! `TASKAPI_TEST_NGINX`: each side must be one instance. Prints a markdown table.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::Method;
use taskapi_tests::{PASSWORD, TestApp, test_settings};

/// What the command line asks for.
struct Options {
    rounds: usize,
    /// Concurrent readers per instance.
    readers: usize,
}

fn options() -> Options {
    let mut options = Options {
        rounds: 500,
        readers: 8,
    };
    taskapi_tests::flags(
        |_| true,
        |name, value| {
            let value = value.unwrap_or_default();
            match name {
                "--rounds" => options.rounds = value.parse().expect("--rounds N"),
                "--readers" => options.readers = value.parse().expect("--readers N"),
                other => panic!("unknown argument {other}"),
            }
        },
    );
    options
}

/// A round whose revocation has not arrived after this long fails the run.
const GIVE_UP: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() {
    let options = options();
    assert!(
        !taskapi_tests::behind_nginx(),
        "unset TASKAPI_TEST_NGINX: each side must be one instance"
    );
    let mut settings = test_settings();
    // The readers send far more than a user's quota, and register from one address.
    settings.rate_limits.requests_per_minute = 0;
    settings.rate_limits.registrations_per_address = 0;
    let first = TestApp::spawn_with(settings).await;
    let second = first.another_instance().await;

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for app in [&first, &second] {
        for _ in 0..options.readers {
            let reader = first.signed_up_user().await;
            let task = reader.create_task("Read over and over").await;
            let url = app.url(&format!("/tasks/{}", task.id));
            let (stop, reads) = (stop.clone(), reads.clone());
            let token = reader.token.clone();
            readers.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let response = http.get(&url).bearer_auth(&token).send().await;
                    assert_eq!(response.expect("read").status(), 200);
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
    }

    let alice = first.signed_up_user().await;
    let started = Instant::now();
    let mut windows = Vec::with_capacity(options.rounds);
    let mut polls = 0_u64;
    // Rounds whose first poll was still accepted: the race a test asking at once loses.
    let mut late = 0_usize;
    for round in 0..options.rounds {
        let token = first
            .log_in(&alice.email, PASSWORD)
            .await
            .expect("logged in")
            .access_token;
        assert_eq!(status(&second, &token).await, 200, "round {round}");
        let logout = first.client_with_token(&token).logout().send().await;
        logout.expect("logged out");
        let logged_out = Instant::now();
        for poll in 0_u64.. {
            polls += 1;
            if status(&second, &token).await == 401 {
                late += usize::from(poll > 0);
                break;
            }
            assert!(
                logged_out.elapsed() < GIVE_UP,
                "round {round}: still accepted"
            );
        }
        windows.push(logged_out.elapsed());
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.expect("a reader ends");
    }

    windows.sort_unstable();
    let at = |quantile: f64| windows[((windows.len() - 1) as f64 * quantile).round() as usize];
    println!(
        "| Rounds | Readers | Reads/s | Polls/round | First poll accepted | p50 | p90 | p99 | max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} × 2 | {:.0} | {:.2} | {late} | {} | {} | {} | {} |",
        windows.len(),
        options.readers,
        reads.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
        polls as f64 / windows.len() as f64,
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(windows[windows.len() - 1]),
    );
}

/// The status `GET /users/me` answers `token` on `app`, over the app's kept-alive client.
async fn status(app: &TestApp, token: &str) -> u16 {
    let response = app.raw(Method::GET, "/users/me").bearer_auth(token).send();
    response.await.expect("sent").status().as_u16()
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

//! The metrics as an operator's Prometheus meets them: on a listener of their own, every
//! family there, and labels that name route templates, never paths or ids.
//!
//! A test binary of its own, with one test: the metrics recorder is one per process, and
//! no other test's requests may move the series it counts.

use std::{collections::BTreeSet, time::Duration};

use futures::{StreamExt, stream};
use reqwest::{Method, StatusCode};
use taskapi_tests::{REVOCATION_WINDOW, TestApp};
use uuid::Uuid;

/// Every family the server exports (README, *Operating taskapi*); histograms by their
/// family name.
const FAMILIES: &[&str] = &[
    "http_server_request_duration_seconds",
    "http_server_active_requests",
    "taskapi_http_connections_open",
    "taskapi_http_connections_refused_total",
    "taskapi_http_connections_evicted_total",
    "taskapi_http_timeouts_total",
    "taskapi_http2_streams_refused_total",
    "db_client_connections_usage",
    "db_client_connections_max",
    "db_client_connections_wait_time_seconds",
    "db_client_connections_timeouts_total",
    "db_client_operation_duration_seconds",
    "taskapi_db_rollbacks_total",
    "taskapi_revocation_listener_connected",
    "taskapi_revocation_listener_reconnects_total",
    "taskapi_revocation_notification_lag_seconds",
    "taskapi_logins_total",
    "taskapi_rate_limited_total",
    "taskapi_tokens_refused_total",
    "taskapi_refresh_token_reuse_total",
    "taskapi_password_hash_wait_seconds",
    "taskapi_password_hashes_in_flight",
    "taskapi_tasks_created_total",
    "taskapi_tasks_changed_total",
    "taskapi_tasks_deleted_total",
    "taskapi_idempotent_replays_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "taskapi_build_info",
];

/// A scrape: its sample lines (series and value), comments left out.
struct Scrape(Vec<String>);

impl Scrape {
    async fn of(url: &str) -> Self {
        let response = reqwest::get(url)
            .await
            .expect("the metrics listener answers");
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.expect("a text exposition");
        Self(
            text.lines()
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_owned)
                .collect(),
        )
    }

    /// The series, values left out.
    fn series(&self) -> BTreeSet<&str> {
        self.0
            .iter()
            .map(|line| {
                line.rsplit_once(' ')
                    .map_or(line.as_str(), |(series, _)| series)
            })
            .collect()
    }

    /// Whether some sample belongs to `family` (a histogram's through its `_bucket`,
    /// `_sum` and `_count`).
    fn has_family(&self, family: &str) -> bool {
        self.series().iter().any(|series| {
            let name = series.split('{').next().unwrap_or_default();
            name == family
                || ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| name.strip_suffix(suffix) == Some(family))
        })
    }

    /// The value of the one series that is exactly `series`.
    fn value(&self, series: &str) -> Option<f64> {
        self.0.iter().find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
    }
}

#[tokio::test]
async fn metrics_are_served_apart_with_every_family_and_bounded_labels() {
    let app = TestApp::configured(|settings| {
        settings.metrics_bind = Some("127.0.0.1:0".parse().expect("an address"));
        // A thousand requests of one user within a minute are not what this test is about.
        settings.rate_limits.requests_per_minute = 0;
    })
    .await;
    let metrics = app.metrics_address.expect("the metrics listener is bound");
    assert_ne!(metrics, app.address);
    let url = format!("http://{metrics}/metrics");

    // The API's port does not serve them; the metrics listener serves nothing else.
    let on_api = app
        .raw(Method::GET, "/metrics")
        .send()
        .await
        .expect("answered");
    assert_eq!(on_api.status(), StatusCode::NOT_FOUND);
    let elsewhere = reqwest::get(format!("http://{metrics}/"))
        .await
        .expect("answered");
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);

    // A little of everything: a login (hashing), a task created, changed and deleted.
    let alice = app.signed_up_user().await;
    let task = alice.create_task("Water the plants").await;
    let done = serde_json::json!({ "status": "done" });
    let patched = alice
        .raw(Method::PATCH, &format!("/tasks/{}", task.id))
        .header("content-type", "application/merge-patch+json")
        .body(done.to_string())
        .send()
        .await
        .expect("answered");
    assert_eq!(patched.status(), StatusCode::OK);
    let deleted = alice
        .raw(Method::DELETE, &format!("/tasks/{}", task.id))
        .send()
        .await
        .expect("answered");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // A logout, which every server hears of (the revocation listener's lag), within the
    // documented window.
    let bob = app.signed_up_user().await;
    bob.log_out().await;
    let heard = async {
        while !Scrape::of(&url)
            .await
            .has_family("taskapi_revocation_notification_lag_seconds")
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(REVOCATION_WINDOW, heard)
        .await
        .expect("the logout is heard within the revocation window");

    // A few unknown tasks and unknown paths, so that their series exist already.
    let unknown_task = |_| alice.raw(Method::GET, &format!("/tasks/{}", Uuid::new_v4()));
    let unknown_path = |_| app.raw(Method::GET, &format!("/nowhere/{}", Uuid::new_v4()));
    answer_all((0..5).map(unknown_task), StatusCode::NOT_FOUND).await;
    answer_all((0..5).map(unknown_path), StatusCode::NOT_FOUND).await;
    let before = Scrape::of(&url).await;
    for family in FAMILIES {
        assert!(before.has_family(family), "{family} is not exported");
    }
    let count = |scrape: &Scrape, route: &str| {
        let series = format!(
            "http_server_request_duration_seconds_count{{http_request_method=\"GET\",http_route=\"{route}\",http_response_status_code=\"404\"}}"
        );
        scrape.value(&series).unwrap_or_default()
    };
    assert_eq!(count(&before, "/tasks/{task_id}"), 5.0);
    // The unknown paths, and `/metrics` asked of the API above.
    assert_eq!(count(&before, "unmatched"), 6.0);

    // A thousand more of each: counted under the same two series, and nothing else grows.
    answer_all((0..1000).map(unknown_task), StatusCode::NOT_FOUND).await;
    answer_all((0..1000).map(unknown_path), StatusCode::NOT_FOUND).await;
    let after = Scrape::of(&url).await;
    assert_eq!(count(&after, "/tasks/{task_id}"), 1005.0);
    assert_eq!(count(&after, "unmatched"), 1006.0);
    let routes = |scrape: &Scrape| -> BTreeSet<String> {
        scrape
            .series()
            .into_iter()
            .filter(|series| series.starts_with("http_server_request_duration_seconds"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(routes(&before), routes(&after));
    let grown: Vec<&str> = after
        .series()
        .difference(&before.series())
        .copied()
        .collect();
    // The server's own periodic work may add a statement's series; never one per request.
    assert!(grown.len() < 40, "new series: {grown:#?}");
    for series in after.series() {
        assert!(
            !series.contains("nowhere") && !series.contains(&task.id.to_string()),
            "a raw path or id became a label: {series}"
        );
    }
}

/// Sends `requests`, 16 at a time, and checks that each is answered with `status`.
async fn answer_all(requests: impl Iterator<Item = reqwest::RequestBuilder>, status: StatusCode) {
    let answered: Vec<StatusCode> = stream::iter(requests)
        .map(|request| async move { request.send().await.expect("answered").status() })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        answered.iter().all(|answer| *answer == status),
        "{answered:?}"
    );
}

//! Hand-written around the generated client: how each request is sent.
//!
//! Every client this crate makes (through [`session`](crate::session)) sends a
//! `User-Agent` that names this SDK and its version ([`USER_AGENT`]), gives up connecting
//! after [`CONNECT_TIMEOUT`] and on a whole request after [`REQUEST_TIMEOUT`], records a
//! `tracing` span per operation (`taskapi.request`, with the operation id, method and
//! path), and retries as its [`Retry`] policy says.
//!
//! # Retries
//!
//! The generated client hands every request to [`ClientHooks::exec`]; this crate's
//! implementation runs the retry loop there, around the one request the generated code
//! built, so every operation is covered without wrapping builders or adding middleware.
//! A request is sent again when
//!
//! - the answer is `429 Too Many Requests` or `503 Service Unavailable`, or the connection
//!   could not be made (nothing reached the server), and
//! - sending it twice does what sending it once does: its method is `GET`, `HEAD`, `PUT`,
//!   `DELETE` or `OPTIONS`, or it carries an `Idempotency-Key`. `create_task` is sent with
//!   an `Idempotency-Key` the SDK generates once per call (unless the caller gave one), so
//!   a retried create makes one task, never two. The other `POST`s and every `PATCH`
//!   (`create_list`, `create_invitation`, `accept_invitation`, `update_member`, …) are
//!   sent once.
//!
//! The wait before the next attempt is the answer's `Retry-After` (in seconds) when it has
//! one, else a "full jitter" exponential backoff: a random time up to
//! `base × 2^(attempt − 1)`, at most `cap`. When `Retry-After` asks for longer than `cap`,
//! the answer is returned as it is: the caller decides whether to wait that long.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use taskapi_client::{session, transport::Retry};
//!
//! let (client, _token) = session::log_in("http://127.0.0.1:8000", "alice@example.com", "pw").await?;
//! let patient = client.clone().with_retry(Retry {
//!     max_attempts: 6,
//!     base: Duration::from_millis(100),
//!     cap: Duration::from_secs(30),
//! });
//! let impatient = client.with_retry(Retry::off());
//! # Ok(())
//! # }
//! ```

use std::{
    hash::{BuildHasher, Hasher, RandomState},
    time::Duration,
};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{
    Method, StatusCode,
    header::{HeaderName, HeaderValue, RETRY_AFTER},
};
use tracing::Instrument;

use crate::{Client, Error, session::Auth};

/// The `User-Agent` every client of this crate sends: `taskapi-client/<version>`.
pub const USER_AGENT: &str = concat!("taskapi-client/", env!("CARGO_PKG_VERSION"));

/// How long a client waits for a connection to the server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client waits for one attempt of a request, from sending to the end of the
/// answer's body.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The operations that take an `Idempotency-Key`, which the SDK sends so that they can be
/// retried (a test holds this list to `openapi.yaml`).
pub const KEYED_OPERATIONS: [&str; 1] = ["create_task"];

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// When and how often a request is sent again (see the [module](self) documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included; 1 never retries.
    pub max_attempts: u32,
    /// The backoff before the second attempt (before jitter); it doubles with each attempt.
    pub base: Duration,
    /// The longest wait between two attempts.
    pub cap: Duration,
}

impl Default for Retry {
    /// Up to 4 attempts, backing off from 200 ms, never waiting more than 10 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
        }
    }
}

impl Retry {
    /// Never retries: every request is sent once.
    pub fn off() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// How long to wait before attempt `attempt + 1` after `answer`, or `None` when the
    /// answer stands.
    fn delay(&self, attempt: u32, answer: &reqwest::Result<reqwest::Response>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let retry_after = match answer {
            Ok(response) if retried_status(response.status()) => retry_after(response),
            Ok(_) => return None,
            Err(error) if error.is_connect() => None,
            Err(_) => return None,
        };
        match retry_after {
            Some(wait) if wait > self.cap => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(attempt)),
        }
    }

    /// Full jitter: a random time up to `base × 2^(attempt − 1)`, at most `cap`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.cap);
        ceiling.mul_f64(random_fraction())
    }
}

fn retried_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
}

/// `Retry-After` in seconds (the form this API sends); an HTTP date is not read.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    seconds.trim().parse().ok().map(Duration::from_secs)
}

/// A number in `[0, 1)`, random enough to spread clients' retries apart (no key or secret
/// depends on it): the standard library seeds each `RandomState` at random.
fn random_fraction() -> f64 {
    let bits = RandomState::new().build_hasher().finish() >> 11;
    // 53 bits: exactly representable, below 1.
    bits as f64 / (1u64 << 53) as f64
}

/// Whether sending `request` twice does what sending it once does.
fn repeatable(request: &reqwest::Request) -> bool {
    let method = request.method();
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .contains(method)
        || request.headers().contains_key(IDEMPOTENCY_KEY)
}

/// A `reqwest` client builder with this crate's `User-Agent` and timeouts.
pub(crate) fn http_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
}

/// A generated client for `base_url` that sends requests with `auth`, this crate's
/// `User-Agent` and timeouts.
pub(crate) fn client(base_url: &str, auth: Auth) -> Client {
    // Without TLS, proxies or a custom resolver, building cannot fail (the generated
    // `Client::new` relies on the same).
    let http = http_builder().build().expect("a plain HTTP client builds");
    Client::new_with_client(base_url, http, auth)
}

impl Client {
    /// This client with another retry policy (the default is [`Retry::default`]).
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.inner.retry = retry;
        self
    }

    /// The retry policy of this client.
    pub fn retry(&self) -> Retry {
        self.inner.retry
    }
}

impl ClientHooks<Auth> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let auth = self.inner();
        auth.authorize(request, info.operation_id)
            .await
            .map_err(|error| Error::Custom(error.to_string()))?;
        // Once per call, before the first attempt: every attempt carries the same key.
        if auth.retry.max_attempts > 1
            && KEYED_OPERATIONS.contains(&info.operation_id)
            && !request.headers().contains_key(IDEMPOTENCY_KEY)
        {
            let key = uuid::Uuid::new_v4().to_string();
            let value = HeaderValue::from_str(&key).expect("a UUID is a valid header value");
            request.headers_mut().insert(IDEMPOTENCY_KEY, value);
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::info_span!(
            "taskapi.request",
            operation = info.operation_id,
            method = %request.method(),
            path = request.url().path(),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.send_with_retries(request, info.operation_id)
            .instrument(span)
            .await
    }
}

impl Client {
    async fn send_with_retries(
        &self,
        mut request: reqwest::Request,
        operation: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let auth = self.inner();
        let mut attempt = 1;
        loop {
            let again = repeatable(&request).then(|| request.try_clone()).flatten();
            let answer = auth.execute(self.client(), request, operation).await;
            let span = tracing::Span::current();
            span.record("attempts", attempt);
            if let Ok(response) = &answer {
                span.record("status", response.status().as_u16());
            }
            let (Some(next), Some(delay)) = (again, auth.retry.delay(attempt, &answer)) else {
                return answer;
            };
            tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
            request = next;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_grows_and_stays_under_the_cap() {
        let retry = Retry {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for attempt in 1..=20 {
            let ceiling = Duration::from_millis(100 * 2u64.pow(attempt - 1)).min(retry.cap);
            assert!(retry.backoff(attempt) <= ceiling, "attempt {attempt}");
        }
        let fractions: Vec<f64> = (0..100).map(|_| random_fraction()).collect();
        assert!(fractions.iter().all(|f| (0.0..1.0).contains(f)));
        assert!(
            fractions.windows(2).any(|pair| pair[0] != pair[1]),
            "random"
        );
    }

    #[test]
    fn the_user_agent_names_the_sdk_and_its_version() {
        assert_eq!(
            USER_AGENT,
            format!("taskapi-client/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}

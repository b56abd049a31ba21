//! Rate limits: how often a client may fail to log in, register, invite, ask for a
//! password reset, or call the API.
//!
//! Limits that protect credentials (failed logins per account and client address, failed
//! logins per client address, registrations per client address) are fixed-window counters
//! in PostgreSQL, so every instance behind a load balancer sees the same counts and a
//! restart does not reset them. The per-user request quota is a GCRA bucket in this
//! process's memory: each instance enforces it on its own.
//!
//! A login attempt is counted before the password is checked, so that a flood past the
//! limit costs no hashing; a successful login clears the account's count for that address
//! and takes its hit back from the address's count. Throttling ends with its window; there
//! is no lockout an attacker could use to keep a victim out for good.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};
use uuid::Uuid;

use super::Failure;
use crate::{
    domain::UserId,
    store::{Database, rate_limits},
    telemetry::metrics,
};

/// The limits' quotas and windows. A quota of 0 turns its limit off.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    /// Failed logins per account and client address in a login window.
    pub login_failures_per_account: u32,
    /// Failed logins per client address, whatever the account, in a login window.
    pub login_failures_per_address: u32,
    /// Starts with the first failure.
    pub login_window: Duration,
    pub registrations_per_address: u32,
    pub registration_window: Duration,
    /// Invitations to lists each user may send in an invitation window.
    pub invitations_per_user: u32,
    pub invitation_window: Duration,
    /// Password-reset requests per client address, and per email address, in a window.
    pub password_resets_per_address: u32,
    pub password_resets_per_email: u32,
    pub password_reset_window: Duration,
    /// Authenticated requests per user and minute, in this process.
    pub requests_per_minute: u32,
}

/// A limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limited by {policy}")]
pub struct Limited {
    /// The policy's name, as the `RateLimit-Policy` header gives it.
    pub policy: &'static str,
    pub quota: u32,
    pub window: Duration,
    /// How long until a request would be allowed again.
    pub retry_after: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("rate limited by {}", .0.policy)]
    Limited(Limited),
    #[error(transparent)]
    Failed(#[from] Failure),
}

impl LimitError {
    /// The same outcome as the error of an operation that ran into a limit: `limited`
    /// makes its case for it, a failure stays one.
    pub fn into_error<E: From<Failure>>(self, limited: impl FnOnce(Limited) -> E) -> E {
        match self {
            Self::Limited(limit) => limited(limit),
            Self::Failed(failure) => failure.into(),
        }
    }
}

/// How a counted login attempt ended, when it did not fail.
#[derive(Debug, Clone, Copy)]
enum Settled {
    Succeeded,
    Abandoned,
}

/// One fixed-window limit kept in PostgreSQL.
#[derive(Debug, Clone, Copy)]
struct Policy {
    name: &'static str,
    /// Hits allowed per window; 0 turns the limit off.
    quota: u32,
    window: Duration,
}

impl Policy {
    fn refused(&self, count: &rate_limits::Count) -> Option<Limited> {
        let over = self.quota > 0 && i64::from(count.hits) > i64::from(self.quota);
        over.then(|| Limited {
            policy: self.name,
            quota: self.quota,
            window: self.window,
            retry_after: Duration::from_secs(count.resets_in_seconds.max(1).unsigned_abs()),
        })
    }
}

#[derive(Clone)]
pub struct RateLimits {
    db: Database,
    failed_logins_per_account: Policy,
    failed_logins_per_address: Policy,
    registrations_per_address: Policy,
    invitations_per_user: Policy,
    password_resets_per_address: Policy,
    password_resets_per_email: Policy,
    /// `None` when the quota is off.
    requests: Option<Arc<(DefaultKeyedRateLimiter<Uuid>, Limited)>>,
}

impl RateLimits {
    pub fn new(db: Database, quotas: &Quotas) -> Self {
        let requests = NonZeroU32::new(quotas.requests_per_minute).map(|per_minute| {
            let limited = Limited {
                policy: "requests",
                quota: per_minute.get(),
                window: Duration::from_secs(60),
                retry_after: Duration::ZERO,
            };
            Arc::new((RateLimiter::keyed(Quota::per_minute(per_minute)), limited))
        });
        let limits = Self {
            db,
            failed_logins_per_account: Policy {
                name: "failed-logins-per-account",
                quota: quotas.login_failures_per_account,
                window: quotas.login_window,
            },
            failed_logins_per_address: Policy {
                name: "failed-logins-per-address",
                quota: quotas.login_failures_per_address,
                window: quotas.login_window,
            },
            registrations_per_address: Policy {
                name: "registrations-per-address",
                quota: quotas.registrations_per_address,
                window: quotas.registration_window,
            },
            invitations_per_user: Policy {
                name: "invitations-per-user",
                quota: quotas.invitations_per_user,
                window: quotas.invitation_window,
            },
            password_resets_per_address: Policy {
                name: "password-resets-per-address",
                quota: quotas.password_resets_per_address,
                window: quotas.password_reset_window,
            },
            password_resets_per_email: Policy {
                name: "password-resets-per-email",
                quota: quotas.password_resets_per_email,
                window: quotas.password_reset_window,
            },
            requests,
        };
        let policies = [
            &limits.failed_logins_per_account,
            &limits.failed_logins_per_address,
            &limits.registrations_per_address,
            &limits.invitations_per_user,
            &limits.password_resets_per_address,
            &limits.password_resets_per_email,
        ];
        let in_force = policies
            .into_iter()
            .filter(|policy| policy.quota > 0)
            .map(|policy| policy.name)
            .chain(limits.requests.as_ref().map(|requests| requests.1.policy));
        in_force.for_each(metrics::rate_limit_in_force);
        limits
    }

    /// Whether either failed-login limit is on; with both off, logins touch no counter
    /// (with one off, its counter is kept but never refuses).
    fn limits_logins(&self) -> bool {
        self.failed_logins_per_account.quota > 0 || self.failed_logins_per_address.quota > 0
    }

    /// Counts a login attempt for `account` (the email's comparison key; `shown` is how the
    /// security log names it) from `client`; refused once either failed-login limit is
    /// reached.
    pub async fn login_attempt(
        &self,
        client: IpAddr,
        account: &str,
        shown: &str,
    ) -> Result<(), LimitError> {
        if !self.limits_logins() {
            return Ok(());
        }
        let (per_account, per_address) = login_buckets(client, account);
        let mut db = self.db.acquire().await?;
        let counts = rate_limits::hit(
            &mut *db,
            &[
                (&per_account, self.failed_logins_per_account.window),
                (&per_address, self.failed_logins_per_address.window),
            ],
        )
        .await?;
        db.release().await?;
        let refused = counts.iter().find_map(|count| {
            if count.bucket == per_account {
                self.failed_logins_per_account.refused(count)
            } else {
                self.failed_logins_per_address.refused(count)
            }
        });
        match refused {
            Some(limited) => {
                tracing::warn!(
                    target: "security",
                    %client,
                    email = shown,
                    policy = limited.policy,
                    "login refused: too many failed logins"
                );
                Err(LimitError::Limited(limited))
            }
            None => Ok(()),
        }
    }

    /// A login succeeded: its attempt was not a failure after all. The account's count
    /// for this address starts over.
    pub async fn login_succeeded(&self, client: IpAddr, account: &str) -> Result<(), Failure> {
        self.settle_login(client, account, Settled::Succeeded).await
    }

    /// A login could not be checked (the server failed): its attempt is taken back.
    pub async fn login_abandoned(&self, client: IpAddr, account: &str) -> Result<(), Failure> {
        self.settle_login(client, account, Settled::Abandoned).await
    }

    /// Undoes a login attempt's hit on both counters; a success clears the account's.
    async fn settle_login(
        &self,
        client: IpAddr,
        account: &str,
        settled: Settled,
    ) -> Result<(), Failure> {
        if !self.limits_logins() {
            return Ok(());
        }
        let (per_account, per_address) = login_buckets(client, account);
        // Two independent corrections to advisory counts: no transaction needed.
        let mut connection = self.db.acquire().await?;
        match settled {
            Settled::Succeeded => rate_limits::clear(&mut *connection, &per_account).await?,
            Settled::Abandoned => rate_limits::take_back(&mut *connection, &per_account).await?,
        }
        rate_limits::take_back(&mut *connection, &per_address).await?;
        connection.release().await
    }

    /// Counts a registration from `client`; refused past the limit.
    pub async fn registration(&self, client: IpAddr) -> Result<(), LimitError> {
        let bucket = format!("register:{}", address_key(client));
        self.count(&[(self.registrations_per_address, &bucket)])
            .await
            .inspect_err(|_| {
                tracing::warn!(
                    target: "security",
                    %client,
                    policy = self.registrations_per_address.name,
                    "registration refused: too many from this address"
                );
            })
    }

    /// Counts an invitation sent by `inviter`; refused past the limit.
    pub async fn invitation(&self, inviter: UserId) -> Result<(), LimitError> {
        let bucket = format!("invite:{}", inviter.0.simple());
        self.count(&[(self.invitations_per_user, &bucket)])
            .await
            .inspect_err(|_| {
                tracing::warn!(
                    target: "security",
                    user = %inviter.0,
                    policy = self.invitations_per_user.name,
                    "invitation refused: too many from this user"
                );
            })
    }

    /// Counts a hit on each bucket under its policy, in one statement; refused past any
    /// of their quotas (policies that are off are not counted).
    async fn count(&self, hits: &[(Policy, &str)]) -> Result<(), LimitError> {
        let hits: Vec<_> = hits.iter().filter(|(policy, _)| policy.quota > 0).collect();
        if hits.is_empty() {
            return Ok(());
        }
        let buckets: Vec<_> = hits
            .iter()
            .map(|(policy, bucket)| (*bucket, policy.window))
            .collect();
        let mut db = self.db.acquire().await?;
        let counts = rate_limits::hit(&mut *db, &buckets).await?;
        db.release().await?;
        let refused = counts.iter().find_map(|count| {
            let (policy, _) = hits.iter().find(|(_, bucket)| *bucket == count.bucket)?;
            policy.refused(count)
        });
        match refused {
            Some(limited) => Err(LimitError::Limited(limited)),
            None => Ok(()),
        }
    }

    /// Counts a password-reset request for `email` (its comparison key) from `client`:
    /// the same count whether or not an account has that address. Refused past either
    /// limit.
    pub async fn password_reset(&self, client: IpAddr, email: &str) -> Result<(), LimitError> {
        let per_address = format!("reset:{}", address_key(client));
        let per_email = format!("reset-email:{email}");
        self.count(&[
            (self.password_resets_per_address, &per_address),
            (self.password_resets_per_email, &per_email),
        ])
        .await
        .inspect_err(|error| {
            if let LimitError::Limited(limited) = error {
                tracing::warn!(
                    target: "security",
                    %client,
                    policy = limited.policy,
                    "password reset refused: too many requests"
                );
            }
        })
    }

    /// Takes one request from `user`'s quota.
    pub fn request(&self, user: UserId) -> Result<(), Limited> {
        let Some(requests) = &self.requests else {
            return Ok(());
        };
        let (limiter, limited) = requests.as_ref();
        limiter.check_key(&user.0).map_err(|not_until| {
            tracing::warn!(
                target: "security",
                user = %user.0,
                policy = limited.policy,
                "request refused: over quota"
            );
            Limited {
                retry_after: not_until.wait_time_from(limiter.clock().now()),
                ..*limited
            }
        })
    }

    /// Forgets counters whose window has ended, in PostgreSQL and in memory (a periodic
    /// job); how many rows it deleted.
    pub async fn purge_expired(&self) -> Result<u64, Failure> {
        if let Some(requests) = &self.requests {
            requests.0.retain_recent();
            requests.0.shrink_to_fit();
        }
        let mut db = self.db.acquire().await?;
        let purged = rate_limits::purge_expired(&mut *db).await?;
        db.release().await?;
        Ok(purged)
    }
}

fn login_buckets(client: IpAddr, account: &str) -> (String, String) {
    let address = address_key(client);
    (
        format!("login:{address}:{account}"),
        format!("login:{address}"),
    )
}

/// The part of an address one client controls: all of an IPv4 address, the /64 prefix of
/// an IPv6 one (a single host is routinely given a whole /64).
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("valid");
        let other: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("valid");
        assert_eq!(address_key(one), address_key(other));
        assert_eq!(address_key(one), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("valid");
        assert_eq!(address_key(mapped), "192.0.2.7");
    }

    #[test]
    fn a_policy_refuses_only_past_its_quota() {
        let policy = Policy {
            name: "test",
            quota: 2,
            window: Duration::from_secs(60),
        };
        let count = |hits| rate_limits::Count {
            bucket: "b".to_owned(),
            hits,
            resets_in_seconds: 42,
        };
        assert_eq!(policy.refused(&count(2)), None);
        let refused = policy.refused(&count(3)).expect("over");
        assert_eq!(refused.retry_after, Duration::from_secs(42));
        let off = Policy { quota: 0, ..policy };
        assert_eq!(off.refused(&count(1_000)), None);
    }
}

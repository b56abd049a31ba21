//! Registering accounts, the token endpoint's grants (a login starts a session; a refresh
//! rotates its refresh token), logging out, and turning a bearer token back into a caller.

use std::{
    net::IpAddr,
    time::{Duration, SystemTime},
};

use chrono::Utc;
use uuid::Uuid;

use super::{
    Failure,
    admin::create_account,
    after, audit,
    limits::{LimitError, Limited, RateLimits},
    now,
    passwords::{CheckError, Passwords, Verified},
    revocations::{RevocationSet, Revoker, Verdict},
};
use crate::{
    domain::{
        ACCESS_TOKEN_PREFIX, AuditKind, Caller, Credential, Credentials, Email, Grant,
        RefreshToken, Registration, Role, Session, SessionId, SessionOrigin, User, UserId,
    },
    security::{IssuedToken, TokenError, TokenIssuer, keys::PublicKey, opaque},
    store::{
        Database, access_tokens,
        sessions::{self, Presented},
        users,
    },
    telemetry::metrics::{self, LoginOutcome, TokenRefusal},
};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("too many registrations from this client")]
    Limited(Limited),
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password; deliberately not told apart.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The password was right, but an administrator has disabled the account.
    #[error("the account is disabled")]
    AccountDisabled,
    /// The password was right, but this server requires a verified address and the
    /// account's is not.
    #[error("the account's email address is not verified")]
    EmailNotVerified,
    /// The refresh token is unknown, expired, or its session has ended.
    #[error("the refresh token is not valid")]
    InvalidGrant,
    /// The refresh token was already used: its session has been ended.
    #[error("the refresh token was already used; its session is ended")]
    GrantReused,
    #[error("too many failed logins")]
    Limited(Limited),
    #[error(transparent)]
    Failed(#[from] Failure),
}

/// How a token request went, as the metrics count it.
fn outcome(granted: &Result<Tokens, LoginError>) -> LoginOutcome {
    match granted {
        Ok(_) => LoginOutcome::Success,
        Err(LoginError::InvalidCredentials) => LoginOutcome::InvalidCredentials,
        Err(LoginError::AccountDisabled) => LoginOutcome::AccountDisabled,
        Err(LoginError::EmailNotVerified) => LoginOutcome::EmailNotVerified,
        Err(LoginError::InvalidGrant) => LoginOutcome::InvalidGrant,
        Err(LoginError::GrantReused) => LoginOutcome::GrantReused,
        Err(LoginError::Limited(_)) => LoginOutcome::RateLimited,
        Err(LoginError::Failed(_)) => LoginOutcome::Error,
    }
}

impl From<LimitError> for RegisterError {
    fn from(error: LimitError) -> Self {
        error.into_error(Self::Limited)
    }
}

impl From<CheckError> for LoginError {
    fn from(error: CheckError) -> Self {
        match error {
            CheckError::Wrong { .. } => Self::InvalidCredentials,
            CheckError::Limited(limited) => Self::Limited(limited),
            CheckError::Failed(failure) => Self::Failed(failure),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    #[error("the token has expired")]
    TokenExpired,
    /// Malformed, forged, or issued for something else.
    #[error("the token is invalid")]
    TokenInvalid,
    /// The token is genuine, but its session has ended or its account is disabled or gone.
    #[error("the token has been revoked")]
    TokenRevoked,
    #[error("the caller is over its request quota")]
    Limited(Limited),
    #[error(transparent)]
    Failed(#[from] Failure),
}

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A refresh token expires this long after it is issued, unless used first.
    pub refresh_ttl: Duration,
    /// No session outlives this, however often it is refreshed.
    pub max_lifetime: Duration,
    /// Live sessions one account keeps; a login past it ends the oldest (0: no cap).
    pub max_per_user: u32,
    /// No session starts for an account whose address is not verified.
    pub require_verified_email: bool,
    /// Personal access tokens one account may hold (0: no cap).
    pub max_access_tokens_per_user: u32,
}

/// What the token endpoint answers with: an access token, and the refresh token that
/// gets the next one.
pub struct Tokens {
    pub access: IssuedToken,
    pub refresh: RefreshToken,
    pub refresh_expires_in: Duration,
}

/// Built by [`super::Services::new`], which hands it its share of the shared parts.
#[derive(Clone)]
pub struct AuthService {
    pub(super) db: Database,
    pub(super) passwords: Passwords,
    pub(super) tokens: TokenIssuer,
    pub(super) limits: RateLimits,
    pub(super) sessions: SessionPolicy,
    pub(super) revocations: RevocationSet,
    pub(super) revoker: Revoker,
    pub(super) outbox: super::mail::Outbox,
}

impl AuthService {
    /// The rate limits, for the periodic job that purges their expired counters.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Deletes sessions whose refresh token has expired, and revocations whose access
    /// tokens all have (a periodic job); how many rows it deleted.
    pub async fn purge_expired(&self) -> Result<u64, Failure> {
        let mut db = self.db.acquire().await?;
        let sessions = sessions::purge_expired(&mut *db).await?;
        let revocations = crate::store::revocations::purge_expired(&mut *db).await?;
        db.release().await?;
        Ok(sessions + revocations)
    }

    pub async fn register(
        &self,
        client: IpAddr,
        registration: Registration,
    ) -> Result<User, RegisterError> {
        self.limits.registration(client).await?;
        let Registration { email, password } = &registration;
        let user = create_account(&self.db, &self.passwords, email, password, Role::User)
            .await?
            .ok_or(RegisterError::EmailTaken)?;
        // Its verification mail is queued.
        self.outbox.wake();
        Ok(user)
    }

    /// The OAuth2 token endpoint: a new session for a matching email and password, or the
    /// next tokens of the session whose latest refresh token is presented.
    pub async fn grant(
        &self,
        client: IpAddr,
        user_agent: Option<String>,
        grant: Grant,
    ) -> Result<Tokens, LoginError> {
        let (kind, granted) = match grant {
            Grant::Password(credentials) => {
                let origin = SessionOrigin {
                    user_agent,
                    client_address: client.to_string(),
                };
                ("password", self.login(client, credentials, origin).await)
            }
            Grant::RefreshToken(token) => ("refresh_token", self.refresh(&token).await),
        };
        metrics::login(kind, outcome(&granted));
        granted
    }

    /// The password grant, unless `client` has failed too often (for this account, or at
    /// all) lately.
    async fn login(
        &self,
        client: IpAddr,
        credentials: Credentials,
        origin: SessionOrigin,
    ) -> Result<Tokens, LoginError> {
        let email = Email::parse(&credentials.username).ok();
        let account = async {
            match &email {
                Some(email) => users::find_credentials(&mut *self.db.acquire().await?, email).await,
                None => Ok(None),
            }
        };
        let checked = self
            .passwords
            .check(client, email.as_ref(), &credentials.password, account)
            .await;
        let verified = match checked {
            Ok(verified) => verified,
            Err(CheckError::Wrong { account }) => {
                self.login_failed(account, "wrong password").await?;
                return Err(LoginError::InvalidCredentials);
            }
            Err(other) => return Err(other.into()),
        };
        let user = verified.user.id;
        if verified.user.disabled_at.is_some() {
            tracing::warn!(target: "security", %client, user = %user.0, "login to a disabled account");
            self.login_failed(Some(user), "account disabled").await?;
            return Err(LoginError::AccountDisabled);
        }
        if self.sessions.require_verified_email && !verified.user.email_verified {
            self.login_failed(Some(user), "email not verified").await?;
            return Err(LoginError::EmailNotVerified);
        }
        self.start_session(&verified, origin).await
    }

    /// Records a refused password login of `account` (if one has the address).
    async fn login_failed(&self, account: Option<UserId>, why: &str) -> Result<(), Failure> {
        let event = audit::event(AuditKind::LoginFailed, None, account).detail(why);
        let mut db = self.db.acquire().await?;
        event.record(&mut *db).await?;
        db.release().await
    }

    /// Starts a session for an account whose password was just checked. Checking took a
    /// while: the session is made only if the account is still enabled and its password
    /// still the one checked, with the account's row locked until it is in, so a password
    /// change or a disable that ends every session cannot miss this one, and two logins of
    /// one account evict its oldest sessions one after the other.
    async fn start_session(
        &self,
        verified: &Verified,
        origin: SessionOrigin,
    ) -> Result<Tokens, LoginError> {
        let at = now();
        let max_expires_at = after(at, self.sessions.max_lifetime);
        let session = Session {
            id: SessionId(Uuid::now_v7()),
            user: verified.user.id,
            created_at: at,
            last_used_at: at,
            expires_at: after(at, self.sessions.refresh_ttl).min(max_expires_at),
            max_expires_at,
            origin,
        };
        let (refresh, hash) = opaque::generate();
        let mut transaction = self.db.begin().await?;
        let (user, current_hash) =
            users::find_credentials_for_update(&mut *transaction, verified.user.id)
                .await?
                .ok_or(LoginError::InvalidCredentials)?;
        if current_hash != verified.hash {
            return Err(LoginError::InvalidCredentials);
        }
        if user.disabled_at.is_some() {
            return Err(LoginError::AccountDisabled);
        }
        sessions::insert(&mut transaction, &session, &hash).await?;
        let event = audit::own(AuditKind::LoginSucceeded, user.id).detail(session.id.0.to_string());
        event.record(&mut *transaction).await?;
        let evicted = match self.sessions.max_per_user {
            0 => Vec::new(),
            cap => sessions::delete_all_but_newest(&mut *transaction, user.id, cap).await?,
        };
        let pending = self.revoker.sessions(&mut transaction, &evicted).await?;
        self.revoker.commit(transaction, pending).await?;
        self.tokens_for(user.role, &session, refresh)
    }

    /// The refresh-token grant. The token is exchanged for a new one in one transaction,
    /// with its row locked: of two refreshes with one token, one wins and the other finds
    /// it used. A used token is taken as stolen, and its session ends.
    async fn refresh(&self, token: &RefreshToken) -> Result<Tokens, LoginError> {
        let presented_hash = opaque::hash(token.expose());
        let mut transaction = self.db.begin().await?;
        let Some(presented) =
            sessions::find_by_token_for_update(&mut *transaction, &presented_hash).await?
        else {
            return Err(LoginError::InvalidGrant);
        };
        let Presented {
            session,
            rotated,
            account,
        } = presented;
        if rotated {
            sessions::delete(&mut *transaction, session.user, session.id).await?;
            let pending = self
                .revoker
                .sessions(&mut transaction, &[session.id])
                .await?;
            self.revoker.commit(transaction, pending).await?;
            metrics::refresh_token_reused();
            tracing::warn!(
                target: "security",
                user = %session.user.0,
                session = %session.id.0,
                "a used refresh token was presented again; the session is ended"
            );
            return Err(LoginError::GrantReused);
        }
        let at = now();
        if session.expires_at <= at || account.disabled {
            return Err(LoginError::InvalidGrant);
        }
        let (refresh, hash) = opaque::generate();
        let expires_at = after(at, self.sessions.refresh_ttl).min(session.max_expires_at);
        sessions::rotate(
            &mut transaction,
            session.id,
            &presented_hash,
            &hash,
            at,
            expires_at,
        )
        .await?;
        transaction.commit().await.map_err(Failure::from)?;
        let session = Session {
            last_used_at: at,
            expires_at,
            ..session
        };
        self.tokens_for(account.role, &session, refresh)
    }

    fn tokens_for(
        &self,
        role: Role,
        session: &Session,
        refresh: RefreshToken,
    ) -> Result<Tokens, LoginError> {
        let caller = Caller {
            user: session.user,
            credential: Credential::Session(session.id),
            role,
        };
        let access = self.tokens.issue(caller, session.expires_at)?;
        // Counted from the moment the session's expiry was set.
        let refresh_expires_in = (session.expires_at - session.last_used_at)
            .to_std()
            .unwrap_or_default();
        Ok(Tokens {
            access,
            refresh,
            refresh_expires_in,
        })
    }

    /// Ends the caller's session, on every server (an access token has none to end).
    pub async fn logout(&self, caller: Caller) -> Result<(), Failure> {
        let Some(session) = caller.session() else {
            return Ok(());
        };
        let mut transaction = self.db.begin().await?;
        sessions::delete(&mut *transaction, caller.user, session).await?;
        let event = audit::own(AuditKind::SessionEnded, caller.user).detail(session.0.to_string());
        event.record(&mut *transaction).await?;
        let pending = self.revoker.sessions(&mut transaction, &[session]).await?;
        self.revoker.commit(transaction, pending).await
    }

    /// The public halves of the Ed25519 keys that verify access tokens.
    pub fn public_keys(&self) -> &[PublicKey] {
        self.tokens.public_keys()
    }

    /// The caller a bearer token proves, if the token is genuine, current, and neither its
    /// credential (session or access token) nor its account has been revoked. A session's
    /// token is answered from memory: no database query, unless the revocation set cannot
    /// be trusted right now. A personal access token is looked up by its hash.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, AuthenticateError> {
        Ok(self.authenticate_until(token).await?.0)
    }

    /// [`Self::authenticate`], and when the token expires: what holds a request open (an
    /// event stream) ends it then.
    pub async fn authenticate_until(
        &self,
        token: &str,
    ) -> Result<(Caller, SystemTime), AuthenticateError> {
        if token.starts_with(ACCESS_TOKEN_PREFIX) {
            return self.authenticate_access_token(token).await;
        }
        let (caller, expires_at) =
            self.tokens
                .verify_until(token)
                .map_err(|error| match error {
                    TokenError::Expired => refused(TokenRefusal::Expired),
                    TokenError::Invalid(_)
                    | TokenError::IssuedInTheFuture
                    | TokenError::UnknownRole
                    | TokenError::UnknownKey => refused(TokenRefusal::Invalid),
                })?;
        // Before any lookup: a caller over its quota costs no database work.
        self.limits
            .request(caller.user)
            .map_err(AuthenticateError::Limited)?;
        let live = match (self.revocations.check(&caller), caller.session()) {
            (Verdict::Accepted, _) => true,
            (Verdict::Unknown, Some(session)) => {
                sessions::is_live(&mut *self.db.acquire().await?, caller.user, session).await?
            }
            (Verdict::Revoked | Verdict::Unknown, _) => false,
        };
        match live {
            true => Ok((caller, expires_at)),
            false => Err(refused(TokenRefusal::Revoked)),
        }
    }

    /// A personal access token: found by its hash with its account, so that a deleted
    /// token, or one whose account is disabled or deleted, stops working at once on every
    /// server. Its last use is recorded to the minute.
    async fn authenticate_access_token(
        &self,
        token: &str,
    ) -> Result<(Caller, SystemTime), AuthenticateError> {
        // Not the shape of a token this server makes: refused without a lookup.
        if !opaque::is_well_formed(token, ACCESS_TOKEN_PREFIX) {
            return Err(refused(TokenRefusal::Invalid));
        }
        let hash = opaque::hash(token);
        let mut db = self.db.acquire().await?;
        let presented = access_tokens::find_by_hash(&mut *db, &hash)
            .await?
            .ok_or_else(|| refused(TokenRefusal::Invalid))?;
        let at = Utc::now();
        let token = presented.token;
        if token.expires_at.is_some_and(|expiry| expiry <= at) {
            return Err(refused(TokenRefusal::Expired));
        }
        if presented.account.disabled {
            return Err(refused(TokenRefusal::Revoked));
        }
        self.limits
            .request(token.user)
            .map_err(AuthenticateError::Limited)?;
        if !access_tokens::is_fresh(token.last_used_at, at) {
            access_tokens::touch(&mut *db, token.id, at).await?;
        }
        // Behind a transaction pooler the connection is a transaction: the touch commits.
        db.release().await?;
        let caller = Caller {
            user: token.user,
            credential: Credential::AccessToken(token.id, token.scopes),
            role: presented.account.role,
        };
        // A token without an expiry holds a stream open for a year at most.
        let until = token.expires_at.unwrap_or(at + chrono::Duration::days(365));
        Ok((caller, until.into()))
    }
}

/// A token refused for `reason`, counted.
fn refused(reason: TokenRefusal) -> AuthenticateError {
    metrics::token_refused(reason);
    match reason {
        TokenRefusal::Expired => AuthenticateError::TokenExpired,
        TokenRefusal::Invalid => AuthenticateError::TokenInvalid,
        TokenRefusal::Revoked => AuthenticateError::TokenRevoked,
    }
}

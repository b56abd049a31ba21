//! Sending mail: through an SMTP server (lettre, STARTTLS or TLS from the start, on the
//! server's runtime), or to the log in `--dev` without one. What a mail says, and when it
//! is sent, is the mail service's (`service::mail`); this only delivers it.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::authentication::Credentials,
};
use secrecy::ExposeSecret;

use crate::config::MailSettings;

/// One mail: plain text to one address.
#[derive(Debug)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Why a mail was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// It never will be: the address is not one SMTP can take, or the server refused it
    /// for good (a 5xx answer).
    #[error("refused for good: {0}")]
    Refused(String),
    /// It may be later: the server could not be reached, timed out, or answered 4xx.
    #[error("not sent now: {0}")]
    Failed(String),
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// `--dev` without an SMTP server: each mail is written to the log, its token included.
    Log { from: Mailbox },
    /// No SMTP server and not `--dev`: mails wait in the outbox.
    Held,
}

impl Mailer {
    /// The mailer the settings describe; an SMTP URL or sender that cannot work stops the
    /// server at start-up.
    pub fn new(settings: &MailSettings, dev: bool) -> Result<Self, String> {
        let from: Mailbox = settings.mail_from.parse().map_err(|error| {
            format!("TASKAPI_MAIL_FROM is not a mailbox such as `taskapi <noreply@example.com>`: {error}")
        })?;
        let Some(url) = &settings.smtp_url else {
            return Ok(if dev { Self::Log { from } } else { Self::Held });
        };
        // The URL may hold a password: the error never repeats it.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|_| {
                "TASKAPI_SMTP_URL is not an SMTP URL such as smtp://host:587?tls=required or \
                 smtps://host:465"
                    .to_owned()
            })?
            .timeout(Some(Duration::from_millis(settings.smtp_timeout_ms)));
        if let Some(username) = &settings.smtp_username {
            let password = settings
                .smtp_password
                .as_ref()
                .map(|password| password.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(Self::Smtp {
            transport: builder.build(),
            from,
        })
    }

    /// Whether this mailer sends at all (a held outbox waits for a server that does).
    pub fn sends(&self) -> bool {
        !matches!(self, Self::Held)
    }

    pub async fn send(&self, mail: Outgoing) -> Result<(), SendError> {
        match self {
            Self::Smtp { transport, from } => {
                let message = message(from, &mail)?;
                transport.send(message).await.map(drop).map_err(|error| {
                    if error.is_permanent() {
                        SendError::Refused(error.to_string())
                    } else {
                        SendError::Failed(error.to_string())
                    }
                })
            }
            Self::Log { from } => {
                tracing::info!(target: "mail", %from, to = mail.to, subject = mail.subject, body = mail.body, "mail (--dev: written to the log, not sent)");
                Ok(())
            }
            Self::Held => Err(SendError::Failed("no SMTP server is configured".to_owned())),
        }
    }
}

fn message(from: &Mailbox, mail: &Outgoing) -> Result<Message, SendError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|error| SendError::Refused(format!("the address cannot be mailed: {error}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|error| SendError::Refused(format!("the mail cannot be built: {error}")))
}

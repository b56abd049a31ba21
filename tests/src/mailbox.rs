//! A real SMTP server on loopback for the tests that follow a mail: aiosmtpd (pinned in
//! `tests/mail/requirements.txt`, installed by `tests/run`) writing what it receives to a
//! Maildir, from which a test reads the mail sent to an address and the token in it.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tokio::net::{TcpListener, TcpStream};

/// The Python that has aiosmtpd: `TASKAPI_TEST_PYTHON` (tests/run sets it to its
/// virtualenv's), else that virtualenv's default place.
fn python() -> PathBuf {
    std::env::var_os("TASKAPI_TEST_PYTHON").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/taskapi/venv/bin/python")
        },
        PathBuf::from,
    )
}

/// An SMTP server on a port of its own; stopped, and its Maildir removed, when dropped.
pub struct Mailbox {
    pub port: u16,
    dir: PathBuf,
    server: Option<Child>,
}

impl Mailbox {
    /// Starts one, answering once it accepts connections.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port")
            .local_addr()
            .expect("an address")
            .port();
        let dir = std::env::temp_dir().join(format!("taskapi-mailbox-{}", uuid::Uuid::new_v4()));
        let mut mailbox = Self {
            port,
            dir,
            server: None,
        };
        mailbox.resume().await;
        mailbox
    }

    /// The URL the server under test sends through.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the SMTP server: nothing listens on its port until [`Mailbox::resume`].
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts the SMTP server again on the same port and Maildir.
    pub async fn resume(&mut self) {
        let server = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start aiosmtpd with {} ({error}): tests/run installs it \
                     (tests/mail/requirements.txt), or set TASKAPI_TEST_PYTHON",
                    python().display()
                )
            });
        self.server = Some(server);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every mail received so far to `address`, as raw messages, oldest first.
    pub fn mails_to(&self, address: &str) -> Vec<String> {
        let mut mails: Vec<(std::time::SystemTime, String)> = ["new", "cur"]
            .iter()
            .filter_map(|folder| std::fs::read_dir(self.dir.join(folder)).ok())
            .flatten()
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let modified = entry.metadata().ok()?.modified().ok()?;
                let raw = std::fs::read_to_string(entry.path()).ok()?;
                Some((modified, decoded(&raw)))
            })
            .filter(|(_, mail)| {
                mail.lines()
                    .any(|line| line.eq_ignore_ascii_case(&format!("To: {address}")))
            })
            .collect();
        mails.sort();
        mails.into_iter().map(|(_, mail)| mail).collect()
    }

    /// Waits (up to 10 s) for the `n`th mail (counting from 1) to `address`.
    pub async fn nth_mail_to(&self, address: &str, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(mail) = self.mails_to(address).into_iter().nth(n - 1) {
                return mail;
            }
            assert!(
                Instant::now() < deadline,
                "no mail #{n} to {address} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The token of the `n`th mail to `address`: the line that is one alone.
    pub async fn token_to(&self, address: &str, n: usize) -> String {
        token_in(&self.nth_mail_to(address, n).await)
    }
}

/// A mail with its body decoded, when it is quoted-printable (RFC 2045 §6.7): soft line
/// breaks joined, `=XX` turned back into its byte.
fn decoded(raw: &str) -> String {
    let Some((head, body)) = raw.split_once("\n\n") else {
        return raw.to_owned();
    };
    let quoted = head
        .lines()
        .any(|line| line.eq_ignore_ascii_case("Content-Transfer-Encoding: quoted-printable"));
    if !quoted {
        return raw.to_owned();
    }
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let mut bytes = Vec::with_capacity(joined.len());
    let mut rest = joined.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        let hex = tail.get(..2).and_then(|hex| std::str::from_utf8(hex).ok());
        match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
            Some(decoded) if byte == b'=' => {
                bytes.push(decoded);
                rest = &tail[2..];
            }
            _ => {
                bytes.push(byte);
                rest = tail;
            }
        }
    }
    format!("{head}\n\n{}", String::from_utf8_lossy(&bytes))
}

/// The bare token a mail carries: its line of 43 base64url characters.
pub fn token_in(mail: &str) -> String {
    let token = mail.lines().map(str::trim).find(|line| {
        line.len() == 43
            && line
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    });
    token
        .unwrap_or_else(|| panic!("no token in the mail:\n{mail}"))
        .to_owned()
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

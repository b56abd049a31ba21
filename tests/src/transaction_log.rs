//! A TCP proxy between the server and PostgreSQL that reads PostgreSQL's answers and logs
//! every transaction it sees end, with the commands that ran in it. Unlike
//! `pg_stat_database`, it counts only the connections that go through it (not autovacuum
//! workers, not other tests' servers), and at once, not when each backend next flushes
//! its statistics.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::tcp::{OwnedReadHalf, OwnedWriteHalf},
    task::JoinSet,
};

use crate::proxy::forward;

/// The command tags of one transaction, in order: `BEGIN`, `SELECT 1`, `COMMIT`, …, and
/// `ERROR` for a command that failed.
pub type Transaction = Vec<String>;

/// Forwards every connection to `target` (connect with `sslmode=disable`: the log reads
/// the protocol in the clear) and logs the transactions that end on them.
pub struct TransactionLog {
    pub address: SocketAddr,
    ended: Arc<Mutex<Vec<Transaction>>>,
    /// The accept loop and every forwarded connection; dropping them closes the sockets.
    _tasks: JoinSet<()>,
}

impl TransactionLog {
    pub async fn start(target: SocketAddr) -> Self {
        let ended = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&ended);
        let (address, tasks) = forward(target, move |client, server| {
            let log = Arc::clone(&log);
            async move {
                let (mut from_client, to_client) = client.into_split();
                let (from_server, mut to_server) = server.into_split();
                tokio::select! {
                    _ = tokio::io::copy(&mut from_client, &mut to_server) => {}
                    _ = relay_answers(from_server, to_client, &log) => {}
                }
            }
        })
        .await;
        Self {
            address,
            ended,
            _tasks: tasks,
        }
    }

    /// Every transaction ended so far, oldest first.
    pub fn ended(&self) -> Vec<Transaction> {
        self.ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The transactions that end after the first `skip`, once `wanted` of them are
    /// `counted` or `within` has passed: a transaction's last command (a rollback sqlx
    /// sends when a connection is next used) may reach the log after its response.
    pub async fn ended_after(
        &self,
        skip: usize,
        wanted: usize,
        counted: impl Fn(&Transaction) -> bool,
        within: Duration,
    ) -> Vec<Transaction> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let ended: Vec<Transaction> = self.ended().into_iter().skip(skip).collect();
            if ended.iter().filter(|t| counted(t)).count() >= wanted
                || tokio::time::Instant::now() >= deadline
            {
                return ended;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Copies PostgreSQL's messages to the client, noting each command's tag until a
/// `ReadyForQuery` says no transaction is open any more.
async fn relay_answers(
    mut server: OwnedReadHalf,
    mut client: OwnedWriteHalf,
    ended: &Mutex<Vec<Transaction>>,
) -> std::io::Result<()> {
    let mut commands = Transaction::new();
    loop {
        // Every backend message: a type byte, then its length (counting itself) in 4 bytes.
        let mut header = [0; 5];
        server.read_exact(&mut header).await?;
        let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let mut body = vec![0; (length as usize).saturating_sub(4)];
        server.read_exact(&mut body).await?;
        client.write_all(&header).await?;
        client.write_all(&body).await?;
        match header[0] {
            // CommandComplete: the tag, NUL-terminated.
            b'C' => {
                let tag = body.split(|&byte| byte == 0).next().unwrap_or_default();
                commands.push(String::from_utf8_lossy(tag).into_owned());
            }
            b'E' => commands.push("ERROR".to_owned()),
            // ReadyForQuery, idle: whatever ran since the last one was one transaction
            // (a Sync alone, as a ping, runs nothing and is none).
            b'Z' if body.first() == Some(&b'I') && !commands.is_empty() => {
                ended
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(std::mem::take(&mut commands));
            }
            _ => {}
        }
    }
}

//! A TCP proxy between the server and PostgreSQL that a test can cut, to make the database
//! unreachable for a server that started against it.

use std::{future::Future, net::SocketAddr, sync::Arc};

use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinSet,
};

/// Forwards every connection to `target` until [`CutProxy::cut`].
pub struct CutProxy {
    pub address: SocketAddr,
    /// The accept loop and every forwarded connection; dropping them closes the sockets.
    tasks: JoinSet<()>,
}

impl CutProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let (address, tasks) = forward(target, |mut client, mut server| async move {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        })
        .await;
        Self { address, tasks }
    }

    /// Closes every forwarded connection and stops listening: connecting is then refused.
    pub async fn cut(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Listens on a port of its own and hands every connection it accepts to `relay`, with a
/// new connection to `target`; its address, and the tasks to drop to close them all.
pub(crate) async fn forward<Relay, Relaying>(
    target: SocketAddr,
    relay: Relay,
) -> (SocketAddr, JoinSet<()>)
where
    Relay: Fn(TcpStream, TcpStream) -> Relaying + Send + Sync + 'static,
    Relaying: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the proxy");
    let address = listener.local_addr().expect("bound");
    let mut tasks = JoinSet::new();
    tasks.spawn(async move {
        let mut connections = JoinSet::new();
        let relay = Arc::new(relay);
        while let Ok((client, _)) = listener.accept().await {
            let relay = Arc::clone(&relay);
            connections.spawn(async move {
                if let Ok(server) = TcpStream::connect(target).await {
                    relay(client, server).await;
                }
            });
        }
    });
    (address, tasks)
}

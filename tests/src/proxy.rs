//! A TCP proxy between the server and PostgreSQL that a test can cut, to make the database
//! unreachable for a server that started against it.

use std::net::SocketAddr;

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
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the proxy");
        let address = listener.local_addr().expect("bound");
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { address, tasks }
    }

    /// Closes every forwarded connection and stops listening: connecting is then refused.
    pub async fn cut(mut self) {
        self.tasks.shutdown().await;
    }
}

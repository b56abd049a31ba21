//! Connections: accepting them, bounding how many are open and how long each may hold its
//! slot without using it, and closing them at shutdown. HTTP itself is hyper's; each request
//! is handed to the poem application.
//!
//! A connection is always in one of three states, and each has its own clock:
//! - *reading a head* (from its opening, or from its first byte after an idle spell): it has
//!   `header_read_timeout` to deliver a complete request head;
//! - *busy* (a request is being handled): the application bounds the body read and the
//!   database bounds the work, so no clock runs here;
//! - *idle* (between requests): it may stay `keep_alive_timeout`.
//!
//! At `max_connections`, the longest-idle connection is closed to admit a new one; when
//! every connection is busy, the new one is closed at once. Running out of file descriptors
//! is handled the same way, with a back-off instead of a busy loop.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use crate::telemetry::metrics::{self, Cap, Phase};
use hyper::{body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use ipnet::IpNet;
use poem::{
    Addr, Endpoint, EndpointExt, Request, Response,
    endpoint::BoxEndpoint,
    http::{Version, uri::Scheme},
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, watch},
    task::JoinSet,
    time::Instant,
};

/// How much larger than the configured head limit hyper's own parser lets a head grow.
/// Between the two, the application answers 431 with a problem document; beyond, hyper
/// closes the connection with a bare 431.
pub const HARD_HEAD_FACTOR: usize = 4;

/// hyper's own header-count limit, up to which it parses headers on the stack; a higher
/// limit moves every request's headers to the heap.
pub const HYPER_MAX_HEADERS: usize = 100;

/// How long an idle connection gets to close cleanly (an HTTP/2 client to take its GOAWAY)
/// before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The application, as every connection calls it.
type App = BoxEndpoint<'static, Response>;

/// The limits [`serve`] enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
    /// Most connections from one address (0: no cap); proxies given to [`serve`] are exempt.
    pub max_connections_per_address: usize,
    /// The application's head limit; hyper's parser stops at [`HARD_HEAD_FACTOR`] times it.
    pub max_header_bytes: usize,
    /// The application's header-count limit; hyper's parser stops at
    /// [`HYPER_MAX_HEADERS`] or at this, whichever is more.
    pub max_headers: usize,
    pub http2_max_streams: u32,
    /// How long in-flight requests get to finish after the shutdown signal.
    pub shutdown_grace: Duration,
}

/// Serves `endpoint` on `listener` until `shutdown` completes; then stops accepting, lets
/// in-flight requests finish for up to `limits.shutdown_grace`, and returns. Connections
/// from `proxies` (every client behind them shares their address) are not capped per
/// address.
pub async fn serve<E: Endpoint + 'static>(
    listener: TcpListener,
    endpoint: E,
    limits: Limits,
    proxies: Vec<IpNet>,
    shutdown: impl Future<Output = ()>,
) {
    // Boxed: one concrete type for every connection task, however deep the middleware.
    let endpoint: Arc<App> = Arc::new(endpoint.map_to_response().boxed());
    let protocols = Arc::new(protocols(&limits));
    let registry = Arc::new(Registry::new(
        limits.max_connections,
        limits.max_connections_per_address,
        proxies,
    ));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut refusals = Throttled::default();
    let mut accept_errors = Throttled::default();
    let mut backoff = Duration::ZERO;
    tokio::pin!(shutdown);
    loop {
        while let Some(finished) = connections.try_join_next() {
            if let Err(panicked) = finished {
                tracing::error!(error = %panicked, "a connection task failed");
            }
        }
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = Duration::ZERO;
                accepted
            }
            Err(error) if is_per_connection(&error) => continue,
            Err(error) => {
                // Out of descriptors or memory: make room if anyone is idle, and wait
                // rather than spin on a listener that stays readable.
                registry.evict_idlest();
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                accept_errors.warn(|suppressed| {
                    tracing::warn!(%error, suppressed, backoff_ms = backoff.as_millis(), "cannot accept connections");
                });
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        let (id, connection) = match registry.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                metrics::connection_refused(refusal);
                refusals.warn(|suppressed| {
                    tracing::warn!(%peer, suppressed, limit = ?refusal, "connection limit reached and no connection is idle; refusing connections");
                });
                drop(stream);
                continue;
            }
        };
        // Responses are small and written whole; waiting to coalesce them only adds latency.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let local = stream.local_addr().ok();
        connections.spawn(serve_connection(Accepted {
            stream,
            peer,
            local,
            connection,
            endpoint: Arc::clone(&endpoint),
            protocols: Arc::clone(&protocols),
            limits,
            stopping: stopping.clone(),
            done: Departure {
                registry: Arc::clone(&registry),
                id,
            },
        }));
    }
    drop(listener);
    // Receivers only ever see `true`; if every connection has gone, nobody is listening.
    let _ = stop.send(true);
    let open = connections.len();
    if open > 0 {
        tracing::info!(open, "waiting for open connections to finish");
    }
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            closing = connections.len(),
            "shutdown grace elapsed; closing the remaining connections"
        );
        connections.shutdown().await;
    }
}

/// Errors that concern one would-be connection, not the listener: try the next one.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// HTTP/1.1 and HTTP/2 (prior knowledge, as on cleartext), each bounded.
fn protocols(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let hard_head_bytes = limits.max_header_bytes.saturating_mul(HARD_HEAD_FACTOR);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if limits.max_headers > HYPER_MAX_HEADERS {
        builder.http1().max_headers(limits.max_headers);
    }
    builder
        .http1()
        // The read buffer holds a head, or a slice of a body; a head that does not fit is
        // refused with 431.
        .max_buf_size(hard_head_bytes.max(8 * 1024))
        // Head and idle clocks are this module's (see `Connection::closing`).
        .header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_streams)
        .max_header_list_size(u32::try_from(hard_head_bytes).unwrap_or(u32::MAX))
        // A client that keeps resetting streams, or provoking errors, is cut off.
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(Some(256))
        // What one stream may hold in its send buffer (responses here are small).
        .max_send_buf_size(64 * 1024);
    builder
}

/// A connection just accepted, with everything its task needs.
struct Accepted {
    stream: TcpStream,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    connection: Arc<Connection>,
    endpoint: Arc<App>,
    protocols: Arc<auto::Builder<TokioExecutor>>,
    limits: Limits,
    stopping: watch::Receiver<bool>,
    done: Departure,
}

async fn serve_connection(accepted: Accepted) {
    let Accepted {
        stream,
        peer,
        local,
        connection,
        endpoint,
        protocols,
        limits,
        mut stopping,
        done: _done,
    } = accepted;
    let local_addr = LocalAddr(local.map_or_else(Addr::default, Addr::from));
    let remote_addr = RemoteAddr(Addr::from(peer));
    let service = service_fn({
        let connection = Arc::clone(&connection);
        move |request: hyper::Request<Incoming>| {
            let in_flight = connection.begin_request(request.version());
            let endpoint = Arc::clone(&endpoint);
            let request = Request::from((
                request,
                local_addr.clone(),
                remote_addr.clone(),
                Scheme::HTTP,
            ));
            async move {
                let response = endpoint.get_response(request).await;
                // Answered once its body is sent: a response still streaming (an event
                // stream) keeps its connection in use, neither idle nor evictable.
                let response = hyper::Response::from(response);
                Ok::<_, Infallible>(response.map(|body| Answering::new(body, in_flight)))
            }
        }
    });
    let io = TokioIo::new(Watched {
        inner: stream,
        frames: ServerFrames::default(),
        connection: Arc::clone(&connection),
    });
    let served = protocols.serve_connection(io, service);
    tokio::pin!(served);
    let mut draining = false;
    loop {
        tokio::select! {
            // hyper first: a request already in its buffer is served, not cut off.
            biased;
            result = served.as_mut() => {
                if let Err(error) = result {
                    log_connection_error(peer, error.as_ref());
                }
                return;
            }
            closing = connection.closing(&limits) => {
                closing.log(peer, &limits);
                if closing == Closing::Idle {
                    // Between requests: hyper closes it cleanly (HTTP/2: GOAWAY). A slow
                    // head, or an eviction, must free the slot at once instead.
                    served.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(IDLE_CLOSE_GRACE, served.as_mut()).await;
                }
                return;
            }
            changed = stopping.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    // Finish what is in flight, then close (HTTP/2: GOAWAY).
                    served.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// One log line for each connection hyper gave up on: a request it refused before the
/// application saw it (malformed, or over the hard head limit), or a peer that vanished.
fn log_connection_error(peer: SocketAddr, error: &(dyn std::error::Error + 'static)) {
    match error.downcast_ref::<hyper::Error>() {
        Some(error) if error.is_parse() || error.is_parse_too_large() => {
            tracing::info!(%peer, %error, "refused a request hyper could not parse");
        }
        Some(error) if error.is_incomplete_message() || error.is_canceled() => {
            tracing::debug!(%peer, %error, "the client left mid-request");
        }
        _ => tracing::debug!(%peer, %error, "connection ended with an error"),
    }
}

/// Why this module closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    /// No complete request head within the header-read timeout.
    SlowHead,
    /// Idle for the keep-alive timeout.
    Idle,
    /// Idle while the connection cap was reached, to admit a new connection.
    Evicted,
    /// A response (an event stream, say) the client took no bytes of for the keep-alive
    /// timeout: a client that stopped reading does not hold its connection for good.
    Stalled,
}

impl Closing {
    fn log(self, peer: SocketAddr, limits: &Limits) {
        match self {
            Self::SlowHead => {
                metrics::timed_out(Phase::Header);
                tracing::info!(
                %peer,
                timeout_ms = limits.header_read_timeout.as_millis(),
                "closed a connection that sent no complete request head in time"
                );
            }
            Self::Idle => tracing::debug!(%peer, "closed an idle connection"),
            Self::Evicted => tracing::info!(
                %peer,
                "closed an idle connection to admit a new one at the connection limit"
            ),
            Self::Stalled => tracing::info!(
                %peer,
                timeout_ms = limits.keep_alive_timeout.as_millis(),
                "closed a connection whose client took no bytes of a response in time"
            ),
        }
    }
}

/// What the accept loop and a connection's task share about the connection.
struct Connection {
    /// The reference point of `since_ms`.
    epoch: Instant,
    /// Requests handed to the application and not yet answered.
    in_flight: AtomicUsize,
    /// Of those, the ones whose response is being sent (see [`Answering`]).
    answering: AtomicUsize,
    /// Whether the response's body last gave hyper something to send (not that it had
    /// nothing yet): until hyper asks again, the client has not taken it.
    body_ready: AtomicBool,
    /// Whether a request head is due: from the opening, and from the first byte after an
    /// idle spell, until the application receives the request.
    reading_head: AtomicBool,
    /// HTTP/2 (known from its first request): bytes between requests may be control frames
    /// (PING, WINDOW_UPDATE), so they do not start the head clock; only the idle clock runs.
    http2: AtomicBool,
    /// When the current state's clock started, in milliseconds after `epoch`.
    since_ms: AtomicU64,
    evicted: AtomicBool,
    /// Wakes [`Connection::closing`] when a clock changes.
    changed: Notify,
}

impl Connection {
    fn new(epoch: Instant) -> Self {
        let connection = Self {
            epoch,
            in_flight: AtomicUsize::new(0),
            answering: AtomicUsize::new(0),
            body_ready: AtomicBool::new(false),
            reading_head: AtomicBool::new(true),
            http2: AtomicBool::new(false),
            since_ms: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            changed: Notify::new(),
        };
        connection.restart_clock();
        connection
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn restart_clock(&self) {
        self.since_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// Called for bytes read: the first bytes after an idle spell start the head clock.
    fn on_read(&self) {
        if self.is_idle()
            && !self.http2.load(Ordering::Acquire)
            && !self.reading_head.swap(true, Ordering::AcqRel)
        {
            self.restart_clock();
            self.changed.notify_one();
        }
    }

    /// Called for bytes written: a response still going out keeps the connection in use.
    fn on_write(&self) {
        // On HTTP/2 a write between requests may be a reply to a PING the client sent to
        // keep the connection; it does not count as use.
        if self.is_idle()
            && !self.reading_head.load(Ordering::Acquire)
            && !self.http2.load(Ordering::Acquire)
        {
            self.restart_clock();
        }
    }

    fn begin_request(self: &Arc<Self>, version: Version) -> InFlight {
        if version == Version::HTTP_2 {
            self.http2.store(true, Ordering::Release);
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.reading_head.store(false, Ordering::Release);
        self.changed.notify_one();
        InFlight(Arc::clone(self))
    }

    /// Asks the connection to close if it is idle; true if it was.
    fn evict(&self) -> bool {
        if !self.is_idle() {
            return false;
        }
        self.evicted.store(true, Ordering::Release);
        self.changed.notify_one();
        true
    }

    /// Completes when this connection should be closed, and says why.
    async fn closing(&self, limits: &Limits) -> Closing {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let clock = if !self.is_idle() {
                // While a response is being sent and the client has yet to take what the
                // body gave last (a body with nothing to send yet runs no clock).
                let sending = self.answering.load(Ordering::Acquire) > 0
                    && self.body_ready.load(Ordering::Acquire);
                sending.then_some((limits.keep_alive_timeout, Closing::Stalled))
            } else if self.evicted.load(Ordering::Acquire) {
                return Closing::Evicted;
            } else if self.reading_head.load(Ordering::Acquire) {
                Some((limits.header_read_timeout, Closing::SlowHead))
            } else {
                Some((limits.keep_alive_timeout, Closing::Idle))
            };
            match clock {
                None => changed.await,
                Some((timeout, why)) => {
                    let since = Duration::from_millis(self.since_ms.load(Ordering::Relaxed));
                    let deadline = self.epoch + since + timeout;
                    if Instant::now() >= deadline {
                        return why;
                    }
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = &mut changed => {}
                    }
                }
            }
        }
    }
}

/// A request in the application's hands; dropping it marks the request answered.
struct InFlight(Arc<Connection>);

/// A response body that holds its request [`InFlight`] until it is sent or dropped. Each
/// frame it gives starts the connection's clock: hyper asks for the next once the client has
/// taken it (or the socket has room), so a client that stops reading is found out.
struct Answering<B> {
    body: B,
    in_flight: InFlight,
}

impl<B> Answering<B> {
    fn new(body: B, in_flight: InFlight) -> Self {
        in_flight.0.answering.fetch_add(1, Ordering::AcqRel);
        Self { body, in_flight }
    }
}

impl<B> Drop for Answering<B> {
    fn drop(&mut self) {
        let connection = &self.in_flight.0;
        connection.answering.fetch_sub(1, Ordering::AcqRel);
        connection.body_ready.store(false, Ordering::Release);
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Answering<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        let connection = &self.in_flight.0;
        let ready = frame.is_ready();
        if ready {
            connection.restart_clock();
        }
        if connection.body_ready.swap(ready, Ordering::AcqRel) != ready {
            connection.changed.notify_one();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.evicted.store(false, Ordering::Release);
            self.0.restart_clock();
            self.0.changed.notify_one();
        }
    }
}

/// The open connections, so that the accept loop can tell how many there are, how many
/// each address holds, and which has been idle longest.
struct Registry {
    epoch: Instant,
    max: usize,
    /// 0: no cap per address.
    max_per_address: usize,
    /// Addresses exempt from the per-address cap.
    proxies: Vec<IpNet>,
    next_id: AtomicU64,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    connections: HashMap<u64, (IpAddr, Arc<Connection>)>,
    per_address: HashMap<IpAddr, usize>,
}

impl Registry {
    fn new(max: usize, max_per_address: usize, proxies: Vec<IpNet>) -> Self {
        Self {
            epoch: Instant::now(),
            max: max.max(1),
            max_per_address,
            proxies,
            next_id: AtomicU64::new(0),
            open: Mutex::new(Open::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // The maps stay consistent even if a holder panicked: every update is one call.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new connection from `peer`. At a cap, the idlest connection it covers
    /// (that address's, or any) is closed first; with none idle, the connection is refused.
    fn admit(&self, peer: IpAddr) -> Result<(u64, Arc<Connection>), Cap> {
        let mut open = self.lock();
        let capped =
            self.max_per_address > 0 && !self.proxies.iter().any(|proxy| proxy.contains(&peer));
        let held = open.per_address.get(&peer).copied().unwrap_or(0);
        if capped && held >= self.max_per_address {
            let of_peer = open.connections.values().filter(|(from, _)| *from == peer);
            if !Self::evict_idlest_of(of_peer) {
                return Err(Cap::PerAddress);
            }
            metrics::connection_evicted(Cap::PerAddress);
        }
        if open.connections.len() >= self.max {
            if !Self::evict_idlest_of(open.connections.values()) {
                return Err(Cap::Total);
            }
            metrics::connection_evicted(Cap::Total);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection::new(self.epoch));
        open.connections.insert(id, (peer, Arc::clone(&connection)));
        metrics::connections_open(1.0);
        *open.per_address.entry(peer).or_insert(0) += 1;
        Ok((id, connection))
    }

    fn evict_idlest(&self) -> bool {
        Self::evict_idlest_of(self.lock().connections.values())
    }

    fn evict_idlest_of<'a>(
        candidates: impl Iterator<Item = &'a (IpAddr, Arc<Connection>)>,
    ) -> bool {
        candidates
            .map(|(_, connection)| connection)
            .filter(|connection| {
                connection.is_idle() && !connection.evicted.load(Ordering::Acquire)
            })
            .min_by_key(|connection| connection.since_ms.load(Ordering::Relaxed))
            .is_some_and(|connection| connection.evict())
    }

    fn remove(&self, id: u64) {
        let mut open = self.lock();
        let Some((peer, _)) = open.connections.remove(&id) else {
            return;
        };
        metrics::connections_open(-1.0);
        if let Some(held) = open.per_address.get_mut(&peer) {
            *held -= 1;
            if *held == 0 {
                open.per_address.remove(&peer);
            }
        }
    }
}

/// Removes a connection from the registry when its task ends, however it ends.
struct Departure {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Departure {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

/// A socket that reports its reads and writes to its [`Connection`].
struct Watched {
    inner: TcpStream,
    connection: Arc<Connection>,
    frames: ServerFrames,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.connection.on_read();
        }
        polled
    }
}

impl Watched {
    /// `written` bytes of `bufs` went out.
    fn wrote<'a>(&mut self, bufs: impl IntoIterator<Item = &'a [u8]>, mut written: usize) {
        if written == 0 {
            return;
        }
        self.connection.on_write();
        let mut refused = 0;
        for buf in bufs {
            let sent = &buf[..written.min(buf.len())];
            refused += self.frames.refused_in(sent);
            written -= sent.len();
            if written == 0 {
                break;
            }
        }
        if refused > 0 {
            metrics::http2_streams_refused(refused);
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = polled {
            self.wrote([buf], written);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = polled {
            self.wrote(bufs.iter().map(|buf| &**buf), written);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Reads the frames a server writes on an HTTP/2 connection, to count the streams it
/// refuses: hyper refuses a stream over `http2_max_streams` itself (`RST_STREAM` with
/// `REFUSED_STREAM`), out of the application's sight. On an HTTP/1.1 connection (its
/// first bytes are a status line) it stops reading at once.
#[derive(Debug, Default)]
struct ServerFrames {
    /// The frame header being read (9 bytes: length, type, flags, stream).
    header: [u8; 9],
    header_read: usize,
    /// What is left of the current frame's payload.
    payload_left: usize,
    /// An `RST_STREAM`'s error code being read.
    reset: Option<[u8; 4]>,
    reset_read: usize,
    http1: bool,
}

/// The frame type `RST_STREAM` and its error code `REFUSED_STREAM` (RFC 9113, 6.4 and 7).
const RST_STREAM: u8 = 0x3;
const REFUSED_STREAM: u32 = 0x7;

impl ServerFrames {
    /// How many streams the frames in `bytes` (the next bytes written) refuse.
    fn refused_in(&mut self, mut bytes: &[u8]) -> u64 {
        let mut refused = 0;
        if self.http1 || bytes.is_empty() {
            return refused;
        }
        if self.header_read == 0 && self.payload_left == 0 && bytes.starts_with(b"HTTP/") {
            self.http1 = true;
            return refused;
        }
        while !bytes.is_empty() {
            if self.payload_left == 0 {
                let take = (9 - self.header_read).min(bytes.len());
                self.header[self.header_read..self.header_read + take]
                    .copy_from_slice(&bytes[..take]);
                self.header_read += take;
                bytes = &bytes[take..];
                if self.header_read < 9 {
                    return refused;
                }
                self.header_read = 0;
                let [a, b, c, kind, ..] = self.header;
                self.payload_left = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
                self.reset = (kind == RST_STREAM && self.payload_left == 4).then_some([0; 4]);
                self.reset_read = 0;
                continue;
            }
            let take = self.payload_left.min(bytes.len());
            if let Some(code) = self.reset.as_mut() {
                code[self.reset_read..self.reset_read + take].copy_from_slice(&bytes[..take]);
                self.reset_read += take;
            }
            self.payload_left -= take;
            bytes = &bytes[take..];
            if self.payload_left == 0
                && let Some(code) = self.reset.take()
                && u32::from_be_bytes(code) == REFUSED_STREAM
            {
                refused += 1;
            }
        }
        refused
    }
}

/// A warning logged at most once a second, with how many were held back since the last.
#[derive(Default)]
struct Throttled {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttled {
    fn warn(&mut self, log: impl FnOnce(u64)) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return;
        }
        log(self.suppressed);
        self.last = Some(now);
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            max_connections: 2,
            max_connections_per_address: 0,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            http2_max_streams: 100,
            shutdown_grace: Duration::from_secs(1),
        }
    }

    /// An HTTP/2 frame: its header (length, type, flags, stream) and payload.
    fn frame(kind: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let length = u32::try_from(payload.len())
            .expect("a short payload")
            .to_be_bytes();
        let mut frame = vec![length[1], length[2], length[3], kind, 0];
        frame.extend(stream.to_be_bytes());
        frame.extend(payload);
        frame
    }

    #[test]
    fn refused_streams_are_counted_however_the_writes_split_the_frames() {
        let settings = frame(0x4, 0, &[0, 3, 0, 0, 0, 100]);
        let data = frame(0x0, 1, b"RST_STREAM is not in here");
        let refused = frame(RST_STREAM, 3, &REFUSED_STREAM.to_be_bytes());
        let cancelled = frame(RST_STREAM, 5, &8u32.to_be_bytes());
        let written = [settings, data, refused.clone(), cancelled, refused].concat();
        for chunk in [1, 2, 5, 9, 13, written.len()] {
            let mut frames = ServerFrames::default();
            let counted: u64 = written
                .chunks(chunk)
                .map(|bytes| frames.refused_in(bytes))
                .sum();
            assert_eq!(counted, 2, "written {chunk} bytes at a time");
        }
    }

    #[test]
    fn an_http1_connection_is_not_read_as_frames() {
        let mut frames = ServerFrames::default();
        let reset_lookalike = frame(RST_STREAM, 1, &REFUSED_STREAM.to_be_bytes());
        assert_eq!(frames.refused_in(b"HTTP/1.1 200 OK\r\n\r\n"), 0);
        assert_eq!(frames.refused_in(&reset_lookalike), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_has_the_header_timeout_then_the_idle_one() {
        let connection = Arc::new(Connection::new(Instant::now()));
        let started = Instant::now();
        assert_eq!(connection.closing(&limits()).await, Closing::SlowHead);
        assert_eq!(started.elapsed(), Duration::from_secs(10));

        let connection = Arc::new(Connection::new(Instant::now()));
        drop(connection.begin_request(Version::HTTP_11));
        let started = Instant::now();
        assert_eq!(connection.closing(&limits()).await, Closing::Idle);
        assert_eq!(started.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_has_no_clock_and_is_not_evicted() {
        let connection = Arc::new(Connection::new(Instant::now()));
        let request = connection.begin_request(Version::HTTP_11);
        assert!(!connection.evict());
        let limits = limits();
        let closing = tokio::time::timeout(Duration::from_secs(3600), connection.closing(&limits));
        assert!(closing.await.is_err(), "a busy connection was closed");
        drop(request);
        connection.on_read();
        let started = Instant::now();
        assert_eq!(connection.closing(&limits).await, Closing::SlowHead);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_between_http2_requests_keep_the_idle_clock() {
        let connection = Arc::new(Connection::new(Instant::now()));
        drop(connection.begin_request(Version::HTTP_2));
        // A PING and its reply: on HTTP/1.1 the read would start the head clock, and the
        // write would count as use.
        connection.on_read();
        tokio::time::advance(Duration::from_secs(30)).await;
        connection.on_write();
        let started = Instant::now();
        assert_eq!(connection.closing(&limits()).await, Closing::Idle);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_cap_the_idlest_connection_makes_room() {
        let peer = IpAddr::from([192, 0, 2, 1]);
        let registry = Registry::new(2, 0, Vec::new());
        let (_, first) = registry.admit(peer).expect("room");
        tokio::time::advance(Duration::from_secs(1)).await;
        let (_, second) = registry.admit(peer).expect("room");
        let (_, third) = registry.admit(peer).expect("the idlest is evicted");
        assert_eq!(first.closing(&limits()).await, Closing::Evicted);
        assert!(!second.evicted.load(Ordering::Acquire));

        // With everyone busy, there is no room.
        let registry = Registry::new(1, 0, Vec::new());
        let (_, only) = registry.admit(peer).expect("room");
        let _request = only.begin_request(Version::HTTP_11);
        assert_eq!(registry.admit(peer).err(), Some(Cap::Total));
        drop(third);
    }

    #[tokio::test(start_paused = true)]
    async fn one_address_makes_room_among_its_own_connections_only() {
        let (greedy, other) = (IpAddr::from([192, 0, 2, 1]), IpAddr::from([192, 0, 2, 2]));
        let registry = Registry::new(100, 2, Vec::new());
        let (_, bystander) = registry.admit(other).expect("room");
        tokio::time::advance(Duration::from_secs(1)).await;
        let (first_id, first) = registry.admit(greedy).expect("room");
        let (_, second) = registry.admit(greedy).expect("room");
        let _second_busy = second.begin_request(Version::HTTP_11);
        // Its third evicts its own idle one, not the older bystander.
        let (_, third) = registry.admit(greedy).expect("its idle one makes room");
        let _third_busy = third.begin_request(Version::HTTP_11);
        assert_eq!(first.closing(&limits()).await, Closing::Evicted);
        assert!(!bystander.evicted.load(Ordering::Acquire));
        // With the rest of its connections busy it is refused, while others still get in.
        assert_eq!(registry.admit(greedy).err(), Some(Cap::PerAddress));
        assert!(registry.admit(other).is_ok());
        // The evicted one gone, its two busy ones still fill its cap.
        registry.remove(first_id);
        assert_eq!(registry.admit(greedy).err(), Some(Cap::PerAddress));
        drop(_third_busy);
        assert!(registry.admit(greedy).is_ok(), "its idle third makes room");
        // Proxies are exempt.
        let proxied = Registry::new(100, 1, vec!["192.0.2.0/24".parse().expect("a range")]);
        assert!(proxied.admit(greedy).is_ok() && proxied.admit(greedy).is_ok());
    }
}

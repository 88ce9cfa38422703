//! Serving the node's HTTP listeners: the client API's, plain HTTP or TLS
//! (rustls) when `[api.tls]` is configured, and the admin endpoint's, plain
//! HTTP on loopback or a Unix socket. Every TCP connection has
//! `TCP_NODELAY`, handlers see the peer's address (`ConnectInfo<SocketAddr>`,
//! for per-address limits; a Unix socket's client counts as loopback, since
//! it is on this machine), and the server stops accepting and drains on the
//! node's shutdown token.
//!
//! Each connection is served by hyper's HTTP/1 connection in a task of its
//! own, under four limits of `[api]` against slow or idle clients
//! (slowloris): at most `max_connections` at once (handshakes and
//! WebSocket streams included; more are closed at once), a request's head
//! complete within `header_timeout_secs`, its body within
//! `body_timeout_secs` plus what its bytes earn at `body_min_bytes_per_sec`
//! (else `408 request_timeout` and the connection closed), and no
//! `idle_timeout_secs` without a byte read or written while a request is in
//! progress.
//!
//! On the client API's listener, a request from one of `api.trusted_proxies`
//! is served as from the client its forwarding header names
//! ([`Proxies`]): handlers, limits and logs see that address.

use super::ApiError;
use super::deadline::Deadlined;
use super::forwarded::Proxies;
use crate::config::ApiSection;
use crate::core::Tasks;
use accord_api::ErrorCode;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::ServerConfig;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::Service as _;

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// TLS handshakes in progress at once; connections beyond are closed.
const MAX_HANDSHAKES: usize = 1024;
/// The pause after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The limits every connection is served under, from `[api]`, and whom
/// it trusts to name its clients.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to send a request's complete head.
    pub header_timeout: Duration,
    /// Time without a byte read or written while a request is in progress.
    pub idle_timeout: Duration,
    /// Time for a request's body to arrive, besides what its bytes earn.
    pub body_timeout: Duration,
    /// Bytes of a body that earn it one more second (0: none do).
    pub body_min_rate: u64,
    /// The reverse proxies trusted to name the client.
    pub proxies: Arc<Proxies>,
}

impl ConnectionLimits {
    /// The limits `[api]` configures (a zero timeout counts as one second).
    pub fn of(api: &ApiSection) -> Self {
        Self {
            max_connections: api.max_connections.max(1),
            header_timeout: Duration::from_secs(api.header_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(api.idle_timeout_secs.max(1)),
            body_timeout: Duration::from_secs(api.body_timeout_secs.max(1)),
            body_min_rate: api.body_min_bytes_per_sec,
            proxies: Arc::new(Proxies::new(api.trusted_proxies.clone(), api.proxy_header)),
        }
    }

    /// The same limits, trusting no proxy (for the admin listener, which
    /// only this machine reaches).
    pub fn without_proxies(self) -> Self {
        Self { proxies: Arc::new(Proxies::none()), ..self }
    }
}

/// A bound listener: TCP, or a Unix socket.
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix socket listener.
    Unix(UnixListener),
}

/// An accepted connection.
enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// The address a Unix socket's client is given: loopback, port 0.
const UNIX_CLIENT: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

impl Listener {
    async fn accept(&self) -> io::Result<(Conn, SocketAddr)> {
        match self {
            Listener::Tcp(listener) => listener.accept().await.map(|(tcp, addr)| (Conn::Tcp(tcp), addr)),
            Listener::Unix(listener) => listener.accept().await.map(|(unix, _)| (Conn::Unix(unix), UNIX_CLIENT)),
        }
    }
}

/// Serves `router` on `listener` until the node's tasks are told to stop;
/// TCP connections over TLS if `tls` is given. Each connection is a task of
/// the node's that finishes its request in progress at shutdown and then
/// closes.
pub async fn serve(
    listener: Listener,
    router: Router,
    tls: Option<Arc<ServerConfig>>,
    limits: ConnectionLimits,
    tasks: Tasks,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let acceptor = tls.map(TlsAcceptor::from);
    let stop = tasks.shutdown().clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let (conn, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!("accepting a connection: {e}");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::debug!(%addr, "{} client connections open; connection closed", limits.max_connections);
            continue;
        };
        let tcp = match conn {
            Conn::Tcp(tcp) => tcp,
            Conn::Unix(unix) => {
                tasks.spawn_to_completion(connection(unix, addr, router.clone(), limits.clone(), stop.clone(), permit));
                continue;
            }
        };
        // Small frames (live items, acknowledgements) go out at once: with
        // Nagle's algorithm each could wait for the client's delayed ACK
        // (40 ms on Linux).
        no_delay(&tcp);
        let (router, stop) = (router.clone(), stop.clone());
        match &acceptor {
            None => {
                tasks.spawn_to_completion(connection(tcp, addr, router, limits.clone(), stop, permit));
            }
            Some(acceptor) => {
                let Ok(handshake) = handshakes.clone().try_acquire_owned() else {
                    tracing::debug!(%addr, "too many TLS handshakes in progress; connection closed");
                    continue;
                };
                let (acceptor, limits) = (acceptor.clone(), limits.clone());
                // A slow or failing handshake holds up nobody; it ends with
                // the node's other tasks at shutdown.
                let (spawner, done) = (tasks.clone(), stop.clone());
                tasks.spawn(async move {
                    let accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
                    drop(handshake);
                    match accepted {
                        Ok(Ok(stream)) => {
                            spawner.spawn_to_completion(connection(stream, addr, router, limits, done, permit));
                        }
                        Ok(Err(e)) => tracing::debug!(%addr, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

fn no_delay(tcp: &TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("TCP_NODELAY on a client connection: {e}");
    }
}

/// Serves one connection until it closes, times out, is upgraded to a
/// WebSocket (which then keeps `permit` until it ends) or, at shutdown,
/// has answered the request in progress.
async fn connection<I>(
    io: I,
    addr: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
    permit: OwnedSemaphorePermit,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = Watched { io, activity: activity.clone(), _permit: permit };
    let (proxies, body_timeout, body_min_rate) = (limits.proxies.clone(), limits.body_timeout, limits.body_min_rate);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let client = proxies.client(addr, request.headers());
        let expired = Arc::new(AtomicBool::new(false));
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(ConnectInfo(client));
        let body = Deadlined::new(body, body_timeout, body_min_rate, expired.clone());
        let answer = router.clone().call(hyper::Request::from_parts(parts, body));
        async move {
            let response = answer.await?;
            if !expired.load(Ordering::Relaxed) {
                return Ok::<_, std::convert::Infallible>(response);
            }
            // Whatever the handler made of its unreadable body, the
            // answer is the timeout, and the connection ends with it.
            tracing::debug!(%client, "request body not received within its deadline; connection closed");
            let mut response =
                ApiError::new(ErrorCode::RequestTimeout, "the request's body did not arrive in time").into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Ok(response)
        }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(served);
    let mut watch = tokio::time::interval((limits.idle_timeout / 4).max(Duration::from_millis(50)));
    let mut draining = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%addr, "client connection ended: {e}");
                }
                break;
            }
            () = stop.cancelled(), if !draining => {
                served.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = watch.tick() => {
                if activity.quiet_for() >= limits.idle_timeout {
                    tracing::debug!(%addr, "client connection idle for {:?}; closed", limits.idle_timeout);
                    break;
                }
            }
        }
    }
}

/// When a connection last read or wrote a byte.
struct Activity {
    origin: Instant,
    /// Milliseconds since `origin`.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self { origin: Instant::now(), last: AtomicU64::new(0) }
    }

    fn touch(&self) {
        self.last.store(self.origin.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }
}

/// A connection's stream, noting each byte read or written, and holding
/// its place among the open connections until it is dropped.
struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
    _permit: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

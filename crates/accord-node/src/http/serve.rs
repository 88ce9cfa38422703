//! Serving the client API on its listener: plain HTTP, or TLS (rustls)
//! when `[api.tls]` is configured. Either way every connection has
//! `TCP_NODELAY`, handlers see the peer's address (`ConnectInfo<SocketAddr>`,
//! for per-address limits), and the server stops accepting and drains on
//! the node's shutdown token.

use crate::core::Tasks;
use axum::Router;
use axum::serve::{Listener, ListenerExt as _};
use rustls::ServerConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// TLS handshakes in progress at once; connections beyond are closed.
const MAX_HANDSHAKES: usize = 1024;
/// Completed handshakes waiting for the HTTP server to take them.
const READY_QUEUE: usize = 64;
/// The pause after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until the node's tasks are told to stop
/// and the open requests are done; over TLS if `tls` is given. The TLS
/// acceptor and its handshakes are tasks of the node's too.
pub async fn serve(listener: TcpListener, router: Router, tls: Option<Arc<ServerConfig>>, tasks: Tasks) {
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    let stop = tasks.shutdown().clone();
    let stopped = async move { stop.cancelled().await };
    let served = match tls {
        None => {
            // Small frames (live items, acknowledgements) go out at once:
            // with Nagle's algorithm each could wait for the client's
            // delayed ACK (40 ms on Linux).
            let listener = listener.tap_io(|tcp| no_delay(tcp));
            axum::serve(listener, app).with_graceful_shutdown(stopped).await
        }
        Some(config) => {
            let (ready, incoming) = mpsc::channel(READY_QUEUE);
            let local = listener.local_addr();
            tasks.spawn(accept_tls(listener, TlsAcceptor::from(config), ready, tasks.clone()));
            // The tap does nothing (no-delay is set before the handshake);
            // axum gives tapped listeners their peer address as connect info.
            let listener = TlsListener { incoming, local }.tap_io(|_| {});
            axum::serve(listener, app).with_graceful_shutdown(stopped).await
        }
    };
    if let Err(e) = served {
        tracing::error!("API server failed: {e}");
    }
}

fn no_delay(tcp: &TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("TCP_NODELAY on a client connection: {e}");
    }
}

/// Accepts TCP connections and runs each one's TLS handshake in its own
/// task (bounded in time and number), so that a slow or failing client
/// holds up nobody; completed connections go to `ready`.
async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    tasks: Tasks,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let accepted = listener.accept().await;
        let (tcp, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!("accepting an API connection: {e}");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            tracing::debug!(%addr, "too many TLS handshakes in progress; connection closed");
            continue;
        };
        no_delay(&tcp);
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        // Ends with the node's other tasks at shutdown.
        tasks.spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
            drop(permit);
            match handshake {
                Ok(Ok(stream)) => {
                    // Fails only when the server has stopped.
                    let _ = ready.send((stream, addr)).await;
                }
                Ok(Err(e)) => tracing::debug!(%addr, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        });
    }
}

/// The connections whose TLS handshake completed, as an axum listener.
struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: std::io::Result<SocketAddr>,
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The acceptor stopped: the node is shutting down, and the
            // server stops on the same token.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.local {
            Ok(addr) => Ok(*addr),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}

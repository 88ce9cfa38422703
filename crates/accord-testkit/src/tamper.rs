//! A node that lies: an HTTP proxy in front of a node's API that rewrites a
//! chosen byte sequence inside the response bodies of chosen paths, as a
//! compromised or malicious node would serve altered events. Clients that
//! verify what they receive must notice; clients that trust their node
//! would not.
//!
//! The proxy speaks just enough HTTP/1.1 for this: it reads each
//! connection's request head, forwards WebSocket upgrades untouched, and
//! turns every other request into the only one of its connection
//! (`Connection: close`), so that the whole response can be read to its
//! end, rewritten and passed on. The replacement has the length of what it
//! replaces, so `Content-Length` stays right.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The largest request head read.
const MAX_HEAD: usize = 64 * 1024;

/// What the proxy rewrites: every occurrence of `from` by `to` in the
/// response bodies of requests whose path starts with `path_prefix` and
/// contains `path_contains`.
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// The start of the request paths rewritten, e.g. `/v1/rooms/`.
    pub path_prefix: String,
    /// A part the path must contain too, e.g. `/events`.
    pub path_contains: String,
    /// The bytes replaced.
    pub from: Vec<u8>,
    /// What replaces them: the same length.
    pub to: Vec<u8>,
}

impl Rewrite {
    /// Rewrites `from` into `to` in the history pages of every room
    /// (`GET /v1/rooms/{room}/events`).
    pub fn history(from: impl Into<Vec<u8>>, to: impl Into<Vec<u8>>) -> Rewrite {
        Rewrite { path_prefix: "/v1/rooms/".into(), path_contains: "/events".into(), from: from.into(), to: to.into() }
    }

    fn applies_to(&self, path: &str) -> bool {
        path.starts_with(&self.path_prefix) && path.contains(&self.path_contains)
    }
}

/// The proxy on 127.0.0.1. Stops when dropped.
pub struct TamperProxy {
    addr: SocketAddr,
    rewrites: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl TamperProxy {
    /// Starts a proxy to `upstream` (a node's API address) applying `rewrite`.
    pub async fn start(upstream: SocketAddr, rewrite: Rewrite) -> anyhow::Result<TamperProxy> {
        anyhow::ensure!(!rewrite.from.is_empty(), "nothing to rewrite");
        anyhow::ensure!(rewrite.from.len() == rewrite.to.len(), "a rewrite keeps the length of what it replaces");
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let rewrites = Arc::new(AtomicU64::new(0));
        let count = rewrites.clone();
        let rewrite = Arc::new(rewrite);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (rewrite, count) = (rewrite.clone(), count.clone());
                // A connection that fails is the client's to notice.
                tokio::spawn(async move {
                    let _ = serve(client, upstream, &rewrite, &count).await;
                });
            }
        });
        Ok(TamperProxy { addr, rewrites, task })
    }

    /// The proxy's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many occurrences the proxy has rewritten so far.
    pub fn rewrites(&self) -> u64 {
        self.rewrites.load(Ordering::Acquire)
    }
}

impl Drop for TamperProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    rewrite: &Rewrite,
    count: &AtomicU64,
) -> anyhow::Result<()> {
    let (head, rest) = read_head(&mut client).await?;
    let Some(head) = head else { return Ok(()) };
    let text = String::from_utf8_lossy(&head).into_owned();
    let path = text.split_whitespace().nth(1).unwrap_or_default().to_owned();
    let mut node = TcpStream::connect(upstream).await?;
    if text.to_ascii_lowercase().contains("upgrade: websocket") {
        node.write_all(&head).await?;
        node.write_all(&rest).await?;
        tokio::io::copy_bidirectional(&mut client, &mut node).await?;
        return Ok(());
    }
    node.write_all(&close_after(&text).into_bytes()).await?;
    node.write_all(&rest).await?;
    let (mut from_node, mut to_node) = node.into_split();
    let (mut from_client, mut to_client) = client.into_split();
    // A request body still on its way is passed on as it comes.
    let upload = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut to_node).await;
    });
    let mut response = Vec::new();
    from_node.read_to_end(&mut response).await?;
    upload.abort();
    if rewrite.applies_to(&path) {
        let n = replace_all(&mut response, &rewrite.from, &rewrite.to);
        count.fetch_add(n, Ordering::AcqRel);
    }
    to_client.write_all(&response).await?;
    to_client.shutdown().await?;
    Ok(())
}

/// Reads up to the end of the request head; answers the head (None if the
/// connection closed first) and the bytes read after it.
async fn read_head(client: &mut TcpStream) -> anyhow::Result<(Option<Vec<u8>>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((Some(buf), rest));
        }
        anyhow::ensure!(buf.len() <= MAX_HEAD, "request head too long");
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok((None, Vec::new()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The request head with `Connection: close` in place of any `Connection` header.
fn close_after(head: &str) -> String {
    let mut out = String::with_capacity(head.len() + 20);
    for line in head.trim_end_matches("\r\n").split("\r\n") {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

/// Replaces every occurrence of `from` in `bytes` by `to` (same length); answers how many.
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> u64 {
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_in_place() {
        let mut bytes = b"abcXYZabcXYabc".to_vec();
        assert_eq!(replace_all(&mut bytes, b"abc", b"123"), 3);
        assert_eq!(bytes, b"123XYZ123XY123");
        assert_eq!(replace_all(&mut bytes, b"zzz", b"yyy"), 0);
    }

    #[test]
    fn requests_are_made_the_last_of_their_connection() {
        let head = "GET /v1/rooms/x/events HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n";
        assert_eq!(close_after(head), "GET /v1/rooms/x/events HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    }

    #[test]
    fn history_rewrites_apply_to_history_pages_only() {
        let r = Rewrite::history("a", "b");
        assert!(r.applies_to("/v1/rooms/room1abc/events?before=9&limit=50"));
        assert!(!r.applies_to("/v1/rooms/room1abc"));
        assert!(!r.applies_to("/v1/identities/acct1"));
    }
}

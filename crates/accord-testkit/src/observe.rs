//! What tests observe of rooms through SDK clients: message texts, and
//! waiting for nodes to converge on one history.

use accord_sdk::{EventContent, HistoryQuery, Room};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Every message text of a room as the client's node serves it, each
/// event verified by the SDK.
pub async fn texts(room: &Room) -> anyhow::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut query = Some(HistoryQuery::after(0).limit(500));
    while let Some(q) = query {
        let page = room.history(q).await?;
        for item in page.items {
            if let EventContent::Message { text, .. } = item?.event.content() {
                out.insert(text.as_str().to_owned());
            }
        }
        query = page.next;
    }
    Ok(out)
}

/// Waits until every client's node holds the room with `accepted` events
/// and one history hash; returns the hash, or what each node held when
/// `patience` ran out.
pub async fn converged(rooms: &[Room], accepted: u64, patience: Duration) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let mut seen = Vec::new();
        for room in rooms {
            match room.state().await {
                Ok(s) => seen.push((s.history_hash.to_string(), s.accepted)),
                Err(e) => seen.push((e.to_string(), 0)),
            }
        }
        if seen.iter().all(|s| s.1 == accepted && s.0 == seen[0].0) {
            return Ok(seen[0].0.clone());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("no convergence on {accepted} events within {patience:?}: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `check` every 50 ms until it holds; fails with `what` after
/// `patience`.
pub async fn eventually<F, Fut>(what: &str, patience: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + patience;
    while !check().await {
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("not within {patience:?}: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// `count` messages from each room's client, all clients at once; the texts
/// sent (`"{label} from {i} #{k}"`).
pub async fn send_from_each(rooms: &[Room], label: &str, count: usize) -> BTreeSet<String> {
    let sends = rooms.iter().enumerate().map(|(i, room)| async move {
        let mut sent = Vec::new();
        for k in 0..count {
            let text = format!("{label} from {i} #{k}");
            room.send_text(&text).await.expect("send");
            sent.push(text);
        }
        sent
    });
    futures::future::join_all(sends).await.into_iter().flatten().collect()
}

/// Sends `n` messages one after the other; the median and 99th percentile
/// of their acknowledgement times.
pub async fn send_latencies(room: &Room, label: &str, n: usize) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        room.send_text(&format!("{label} {i}")).await.expect("an honest send is served");
        times.push(start.elapsed());
    }
    times.sort();
    (times[n / 2], times[(n * 99 / 100).min(n - 1)])
}

//! Media fan-out: three nodes; a member of node A uploads photos and sends
//! each in a message; nodes B and C fetch each from A over
//! `/accord/media/1` (chunked, hash-verified, decoded and checked) and
//! serve it to their members. Figures: the upload time (the node's
//! pipeline: sniff, decode, strip, re-encode, thumbnail), the send-to-served
//! latency on B and C, and the bytes per second the two fetched, beside the
//! ceilings measured here on the same bytes: SHA-256 (what a fetch must at
//! least hash) and a plain memory copy.

use crate::net::{room_across, unlimited};
use crate::report::Report;
use crate::stats::Samples;
use accord_media::image::codecs::jpeg::JpegEncoder;
use accord_media::image::{ImageBuffer, Rgb};
use accord_sdk::Client;
use accord_testkit::TestNet;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// How long one photo may take to be served by B and C.
const PATIENCE: Duration = Duration::from_secs(60);

/// A photo-like JPEG (gradients and noise, so it compresses like one).
fn photo(width: u32, height: u32, seed: u32) -> anyhow::Result<Vec<u8>> {
    let img = ImageBuffer::from_fn(width, height, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed).wrapping_mul(2_246_822_519) >> 27;
        Rgb([
            ((x * 255 / width) as u8).wrapping_add(n as u8),
            ((y * 255 / height) as u8),
            (seed as u8).wrapping_add(n as u8),
        ])
    });
    let mut out = Vec::new();
    img.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90))?;
    Ok(out)
}

/// Fetches `hash` from `client`'s node until it serves it; the time it
/// took from `since`.
async fn served(client: &Client, hash: &accord_sdk::Sha256Hash, since: Instant) -> anyhow::Result<Duration> {
    loop {
        match client.fetch_media(hash).await {
            Ok(_) => return Ok(since.elapsed()),
            Err(e) if e.code() == "unknown_media" && since.elapsed() < PATIENCE => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => anyhow::bail!("{} did not serve {hash}: {e}", client.node_url()),
        }
    }
}

/// Bytes per second of `work` over `bytes`, repeated until it took 0.2 s.
fn throughput(bytes: &[Vec<u8>], work: impl Fn(&[u8])) -> f64 {
    let started = Instant::now();
    let mut done = 0usize;
    while started.elapsed() < Duration::from_millis(200) {
        for b in bytes {
            work(b);
            done += b.len();
        }
    }
    done as f64 / started.elapsed().as_secs_f64()
}

pub(crate) async fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let (count, width, height) = if quick { (3, 640, 480) } else { (20, 2048, 1536) };
    let photos: Vec<Vec<u8>> = (0..count).map(|i| photo(width, height, i)).collect::<anyhow::Result<_>>()?;
    let net = TestNet::start_with(3, |_, _, c| unlimited(c)).await?;
    let (clients, rooms) = room_across(&net.nodes).await?;
    let mut upload = Samples::default();
    let mut fanout = Samples::default();
    let mut stored = Vec::new();
    let mut fanning = Duration::ZERO;
    for bytes in &photos {
        let t = Instant::now();
        let uploaded = clients[0].upload_media(bytes.clone()).await?;
        upload.push(t.elapsed());
        let sent = Instant::now();
        rooms[0].send_with_attachments("", vec![uploaded.attachment()]).await?;
        let (b, c) = tokio::join!(served(&clients[1], &uploaded.hash, sent), served(&clients[2], &uploaded.hash, sent));
        let (b, c) = (b?, c?);
        fanning += b.max(c);
        fanout.push(b);
        fanout.push(c);
        stored.push(clients[0].fetch_media(&uploaded.hash).await?);
    }
    let fetched: usize = stored.iter().map(Vec::len).sum::<usize>() * 2;
    let sha = throughput(&stored, |b| {
        std::hint::black_box(Sha256::digest(b));
    });
    let copy = throughput(&stored, |b| {
        std::hint::black_box(b.to_vec());
    });
    report.figure("media_photo_bytes", stored.iter().map(Vec::len).sum::<usize>() as f64 / count as f64, "bytes", None);
    report.figure("media_upload_p50", upload.percentile_ms(50.0), "ms", None);
    report.figure("media_fanout_p50", fanout.percentile_ms(50.0), "ms", None);
    report.figure("media_fanout_p95", fanout.percentile_ms(95.0), "ms", None);
    // Bytes served by B and C over the time from each send until both
    // served it (photos one after another).
    let rate = fetched as f64 / fanning.as_secs_f64() / 1e6;
    report.figure("media_fanout_throughput", rate, "MB/s", Some(sha / 1e6));
    report.figure("media_ceiling_copy", copy / 1e6, "MB/s", None);
    net.stop().await?;
    Ok(())
}

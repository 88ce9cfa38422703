//! List sync: an issuer imports an N-entry list (one import, one signed
//! checkpoint), then a fresh node subscribes and fetches, verifies
//! (checkpoint signature, every leaf against the Merkle root) and indexes
//! all of it. Both times are compared with raw SHA-256 over the tree's
//! nodes on one core, measured in the same run.

use crate::ceiling::{Ceilings, sha256_merkle_seconds};
use crate::net::start_net;
use crate::report::Report;
use accord_proto::Sha256Hash;
use accord_proto::Timestamp;
use accord_proto::blocklist::entry::{Action, Category, ListEntry, TargetKind};
use serde_json::json;
use std::time::{Duration, Instant};

/// Entries per import request.
const IMPORT_PART: u64 = 500_000;

/// The needle: a message whose hash is entry 0 of the list.
const NEEDLE: &str = "the needle message";

pub(crate) async fn run(quick: bool, _ceilings: &mut Ceilings, report: &mut Report) -> anyhow::Result<()> {
    let n: u64 = if quick { 20_000 } else { 1_000_000 };
    let leaf_len = ListEntry::Add {
        created: Timestamp::now(),
        target: accord_node::lists::target_of(TargetKind::Content, &Sha256Hash::digest(b"x").to_string())
            .map_err(anyhow::Error::msg)?,
        category: Category::Spam,
        action: Action::Reject,
        reason: None,
        evidence: None,
        expires: None,
    }
    .to_bytes()?
    .len();
    let ceiling = sha256_merkle_seconds(n as usize, leaf_len);
    report.figure(&format!("ceiling_sha256_merkle_{n}_leaf{leaf_len}"), ceiling, "s", None);

    let net = start_net(2).await?;
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let created = a.admin("POST", "/lists", Some(json!({"name": "big"}))).await?;
    let list = created["list"].as_str().unwrap_or_default().to_owned();
    // The import endpoint takes at most 64 MiB of text: the list is
    // imported in parts of at most 500,000 entries, one checkpoint each.
    let mut build = 0.0;
    let mut at = 0u64;
    while at < n {
        let part = (n - at).min(IMPORT_PART);
        let mut text = String::with_capacity(part as usize * 71);
        for i in at..at + part {
            let hash =
                if i == 0 { Sha256Hash::digest(NEEDLE.as_bytes()) } else { Sha256Hash::digest(&i.to_be_bytes()) };
            text.push_str(&hash.to_string());
            text.push_str(" spam\n");
        }
        let started = Instant::now();
        let imported = a.admin("POST", "/lists/big/import", Some(json!({"format": "plain", "text": text}))).await?;
        build += started.elapsed().as_secs_f64();
        anyhow::ensure!(imported["count"].as_u64() == Some(part), "import: {imported}");
        at += part;
    }
    report.figure(&format!("listsync_{n}_build_checkpoint"), build, "s", Some(ceiling));

    let started = Instant::now();
    b.admin("POST", "/subscriptions", Some(json!({"list": list}))).await?;
    let deadline = Instant::now() + Duration::from_secs(if quick { 60 } else { 110 });
    loop {
        let status = b.admin("GET", "/lists", None).await?;
        if status["lists"][0]["size"].as_u64() == Some(n) && status["indexed"].as_u64() == Some(n) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "not synced in time: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sync = started.elapsed().as_secs_f64();
    report.figure(&format!("listsync_{n}_fresh_sync_verify_index"), sync, "s", Some(ceiling));

    // The synced list is enforced: the needle is refused, anything else not.
    let bob = b.user("bob").await?;
    let room = bob.create_room("r", accord_sdk::JoinRule::Public).await?;
    match room.send_text(NEEDLE).await {
        Err(e) if e.provenance().is_some() => {}
        other => anyhow::bail!("the needle was not refused: {other:?}"),
    }
    room.send_text("anything else").await?;
    net.stop().await
}

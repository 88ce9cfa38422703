//! Lookup: the enforcement check every event goes through, with an
//! N-entry list enforced — its cost per event (`Lists::check_event`: the
//! author, origin node, room and content looked up), and the memory the
//! enforcement index takes per entry.

use crate::report::Report;
use crate::stats::rss_bytes;
use accord_node::lists::{Index, Lists, Policy};
use accord_proto::blocklist::entry::{Action, Category, ListEntry, Target, TargetKind, target_hash};
use accord_proto::event::{Event, EventBody, EventContent};
use accord_proto::{ListId, SecretKey, Sha256Hash, Timestamp, Verified};
use accord_store::{Migrate, Store, StoreConfig, SyncPolicy};
use std::hint::black_box;
use std::time::Instant;

/// Entries per `append_own` call while building the list.
const CHUNK: u64 = 100_000;

fn content_target(i: u64) -> anyhow::Result<Target> {
    accord_node::lists::target_of(TargetKind::Content, &Sha256Hash::digest(&i.to_be_bytes()).to_string())
        .map_err(anyhow::Error::msg)
}

/// Builds an index of `n` content entries and returns the growth of this
/// process's resident memory per entry.
pub(crate) fn index_bytes_per_entry(n: u64) -> anyhow::Result<f64> {
    let key = SecretKey::generate()?;
    let list = ListId { issuer: accord_proto::IssuerId::from(key.public()), name: "bench".parse()? };
    let before = rss_bytes().ok_or_else(|| anyhow::anyhow!("no /proc/self/status"))?;
    let mut index = Index::default();
    index.set_policy(&list, Policy { enforced: true, actions: Default::default(), ..Default::default() });
    for i in 0..n {
        let hash = target_hash(TargetKind::Content, &Sha256Hash::digest(&i.to_be_bytes()).to_string());
        index.add(&list, i, (TargetKind::Content, hash), Category::Spam, Action::Reject, None);
    }
    let after = rss_bytes().ok_or_else(|| anyhow::anyhow!("no /proc/self/status"))?;
    anyhow::ensure!(index.len() as u64 == n, "index holds {} of {n}", index.len());
    Ok(after.saturating_sub(before) as f64 / n as f64)
}

pub(crate) async fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let n: u64 = if quick { 20_000 } else { 1_000_000 };
    let key = SecretKey::generate()?;

    // Memory: the index alone, built from N content entries in a fresh
    // process (this one has freed memory it would reuse).
    let out = std::process::Command::new(std::env::current_exe()?).arg("--index-memory").arg(n.to_string()).output()?;
    anyhow::ensure!(out.status.success(), "index memory: {}", String::from_utf8_lossy(&out.stderr));
    let per_entry: f64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    report.figure(&format!("lookup_{n}_index_bytes_per_entry"), per_entry, "B", None);

    // Cost: the node's own lists, loaded from a real store holding the list.
    let dir = tempfile::tempdir()?;
    let store = Store::open(&StoreConfig::new(dir.path().join("db")).sync(SyncPolicy::Wal).migrate(Migrate::Apply))?;
    let lists = Lists::load(&store, &key)?;
    let record = lists.create(&store, "bench".parse()?, None).await?;
    let mut at = 0;
    while at < n {
        let entries = (at..(at + CHUNK).min(n))
            .map(|i| {
                Ok(ListEntry::Add {
                    created: Timestamp::now(),
                    target: content_target(i)?,
                    category: Category::Spam,
                    action: Action::Reject,
                    reason: None,
                    evidence: None,
                    expires: None,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        lists.append_own(&store, &record.list, &entries).await?;
        at += entries.len() as u64;
    }
    let needle = "a message a list names";
    let needle_target =
        accord_node::lists::target_of(TargetKind::Content, &Sha256Hash::digest(needle.as_bytes()).to_string())
            .map_err(anyhow::Error::msg)?;
    let entry = ListEntry::Add {
        created: Timestamp::now(),
        target: needle_target,
        category: Category::Spam,
        action: Action::Reject,
        reason: Some(accord_proto::text::Reason::new("benchmark")?),
        evidence: None,
        expires: None,
    };
    lists.append_own(&store, &record.list, &[entry]).await?;
    let n_total = n + 1;
    anyhow::ensure!(lists.indexed() as u64 == n_total, "lists index {} of {n_total}", lists.indexed());

    let author = SecretKey::generate()?;
    let event = |text: &str| -> anyhow::Result<Event> {
        let body = EventBody {
            room: Some(accord_proto::RoomId::from(accord_proto::EventId(Sha256Hash::digest(b"room")))),
            author: author.account_id(),
            ts: Timestamp::now(),
            content: EventContent::Message { text: text.to_string().try_into()?, reply_to: None, attachments: vec![] },
        };
        Ok(Event::stamp(
            Verified::sign(body, &author)?,
            &key,
            2,
            vec![accord_proto::EventId(Sha256Hash::digest(b"prev"))],
            1,
            Timestamp::now(),
        )?)
    };
    let clean = event("a message no list names")?;
    let iterations = if quick { 20_000 } else { 1_000_000 };
    let started = Instant::now();
    for _ in 0..iterations {
        anyhow::ensure!(black_box(lists.check_event(&store, black_box(&clean))).is_none(), "a clean event matched");
    }
    let ns = started.elapsed().as_nanos() as f64 / iterations as f64;
    report.figure(&format!("lookup_{n}_check_event_miss"), ns, "ns/op", None);

    // A hit also reads the entry's reason from the store for its provenance.
    let blocked = event(needle)?;
    let iterations = iterations / 10;
    let started = Instant::now();
    for _ in 0..iterations {
        anyhow::ensure!(
            black_box(lists.check_event(&store, black_box(&blocked))).is_some(),
            "the needle did not match"
        );
    }
    let ns = started.elapsed().as_nanos() as f64 / iterations as f64;
    report.figure(&format!("lookup_{n}_check_event_hit"), ns, "ns/op", None);
    Ok(())
}

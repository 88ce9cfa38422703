//! # accord-sdk
//!
//! The client library for Accord, the federated, accountable chat protocol.
//! It implements the client side of the node's client API
//! (`spec/client-api.md` in the repository):
//!
//! - **Keys stay here.** Every event, identity document and login answer is
//!   signed locally with the account's [`SecretKey`]; the node never sees it.
//!   [`keyfile`] stores a key on disk.
//! - **Nothing from the node is trusted.** Every event the SDK hands out —
//!   send receipts, history pages, the live stream — has had both its
//!   signatures checked ([`UnverifiedEvent::verify`]), and its origin node
//!   checked against the author's home node through [`Client::identity`]
//!   lookups (which verify the identity document and the home node's
//!   attestation). An event that fails is surfaced as
//!   [`SdkError::Verification`], never silently dropped.
//! - **Streams are lossless.** [`Room::subscribe`] tracks the last cursor it
//!   delivered, reconnects with bounded backoff when the socket drops,
//!   resubscribes from that cursor and fills any gap through history: each
//!   cursor is yielded exactly once, in order.
//! - **Many sends, one socket.** [`Room::send`] is one HTTP request per
//!   message; [`Client::stream_sender`] sends over the node's WebSocket
//!   instead, many in flight at once on one connection, each receipt
//!   verified as `Room::send` verifies it.
//! - **Blocklists show.** An item the node hides because of a blocklist
//!   entry keeps its cursor but has no event: history pages list it in
//!   [`HistoryPage::hidden`] with its [`Provenance`], the live stream passes
//!   over it (or yields it through [`Subscription::next_entry`]). A request
//!   the node refuses because of an entry fails with the code `blocked`,
//!   and [`SdkError::provenance`] names the entry.
//! - **Reports carry their evidence.** [`Client::report`] files a report
//!   signed by the account that holds the offending events exactly as
//!   their authors signed them; [`Client::my_reports`] follows it, with
//!   the moderator's signed [`Outcome`]. A node's moderators work its
//!   queue with [`Client::mod_cases`], [`Client::mod_case`] (every report
//!   and evidence event verified) and [`Client::mod_resolve`] (a signed
//!   action); anyone can verify the node's audit log with
//!   [`Client::audit`]. Identity lookups carry the node's
//!   [`TrustSignals`] (account age, quarantine flags, open reports).
//!
//! The shape follows the usual SDK layering: [`Client::builder`] →
//! [`Client`] (cheap to clone, one session shared by all clones) →
//! [`Room`] handles → [`Subscription`] streams.
//!
//! ```no_run
//! use accord_sdk::{Client, HistoryQuery, JoinRule, keyfile};
//! use futures::StreamExt as _;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = keyfile::read("alice.key")?;
//! let client = Client::builder().node_url("http://127.0.0.1:8080").key(key).build()?;
//!
//! // Once per account: bind a handle to the key on its home node.
//! let me = client.register("alice", None).await?;
//! println!("registered {} as {}", me.account(), me.handle());
//!
//! let room = client.create_room("general", JoinRule::Public).await?;
//! let receipt = room.send_text("hello").await?;
//! println!("sent {} at cursor {}", receipt.event_id, receipt.cursor);
//!
//! let page = room.history(HistoryQuery::after(0).limit(50)).await?;
//! println!("{} events so far", page.items.len());
//!
//! let mut live = room.subscribe(receipt.cursor);
//! while let Some(item) = live.next().await {
//!     match item {
//!         Ok(item) => println!("{}: {:?}", item.author(), item.text()),
//!         Err(err) => eprintln!("{err}"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Transport is HTTP and WebSocket, over TLS (rustls) for `https://` node
//! URLs (the live stream then uses `wss://`). The webpki roots are trusted;
//! a private CA is added with [`ClientBuilder::add_root_certificate_pem`].
//! A request the node refuses with `rate_limited` is retried after the
//! delay the node names when it is safe to repeat ([`RetryPolicy`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod account;
mod appeal;
mod client;
mod clock;
mod error;
mod http;
mod identity;
pub mod keyfile;
mod media;
mod moderation;
mod policy;
mod report;
mod retry;
mod room;
mod sender;
mod stream;
mod timeline;
mod tls;
mod verify;

pub use account::VerifiedExport;
pub use client::{Client, ClientBuilder};
pub use error::{BuildError, KeyFileError, Result, SdkError, VerificationError};
pub use identity::{TrustSignals, VerifiedIdentity};
pub use media::MAX_MEDIA_BYTES;
pub use moderation::{ActionReceipt, CaseDetail, CaseReport, VerifiedAuditLog};
pub use policy::{ReconnectPolicy, RetryPolicy};
pub use report::{DEFAULT_REPORT_CONTEXT, ReportBuilder};
pub use room::{HistoryPage, Room};
pub use sender::StreamSender;
pub use stream::Subscription;
pub use timeline::{HiddenItem, HistoryQuery, SendReceipt, TimelineEntry, TimelineItem};

/// The client API's wire types, re-exported: the SDK reads and sends
/// exactly these.
pub use accord_api as api;
pub use accord_api::admin::{ModeratorEntry, ModeratorRole};
pub use accord_api::media::MediaUploaded;
pub use accord_api::moderation::{
    CaseFilter, CaseNote, CaseSummary, ReportSource, Resolution, SourceFilter, WrittenEntry,
};
pub use accord_api::node::{NodeInfo, RegistrationPolicy};
pub use accord_api::reports::{CaseState, Forward, ForwardState, Outcome, OutcomeError, ReportStatus};
pub use accord_api::rooms::{RoomState as RoomStateView, RoomSummary};
pub use accord_api::teams::{AppealFilter, AppealState, AppealStatus};
pub use accord_api::{ErrorCode, Provenance};

/// The protocol crate, re-exported so that applications use the same types.
pub use accord_proto as proto;
pub use accord_proto::audit::{ModAction, Moderator, Verdict};
pub use accord_proto::blocklist::Category;
pub use accord_proto::event::{Event, EventContent, JoinRule, Role, UnverifiedEvent};
pub use accord_proto::identity::{Handle, NodeName, VerificationLevel};
pub use accord_proto::media::{Attachment, MediaType};
pub use accord_proto::{AccountId, EventId, ListName, NodeId, RoomId, SecretKey, Sha256Hash, Timestamp};

#[cfg(test)]
mod layers {
    //! The modules are layers: types, then transport, then the client,
    //! then rooms, streams, reports and moderation. No module reaches,
    //! directly or through others, back to one that reaches it.

    use std::collections::{BTreeMap, BTreeSet};

    /// Each module of `src/` and the modules it names (`crate::NAME`),
    /// comments left out.
    fn graph() -> BTreeMap<String, BTreeSet<String>> {
        let dir = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("src");
        let mut graph = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).expect("src/") {
            let path = entry.expect("entry").path();
            let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else { continue };
            if name == "lib" || path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            let mut uses = BTreeSet::new();
            for line in text.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
                for part in line.split("crate::").skip(1) {
                    let module: String = part.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                    if !module.is_empty() && module != name {
                        uses.insert(module);
                    }
                }
            }
            graph.insert(name, uses);
        }
        graph
    }

    /// A cycle through `from`, if there is one.
    fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
        let mut stack = vec![(from.to_owned(), vec![from.to_owned()])];
        let mut seen = BTreeSet::new();
        while let Some((module, path)) = stack.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                if next == from {
                    return Some([path.clone(), vec![next.clone()]].concat());
                }
                if seen.insert(next.clone()) {
                    stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
                }
            }
        }
        None
    }

    #[test]
    fn the_cycle_check_finds_a_cycle() {
        let mut graph = BTreeMap::new();
        graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
        graph.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
        assert_eq!(cycle(&graph, "a"), Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()]));
    }

    #[test]
    fn no_module_imports_one_that_imports_it() {
        let graph = graph();
        assert!(graph.len() >= 10, "expected the SDK's modules, found {graph:?}");
        assert!(graph["room"].contains("client"), "the scan sees imports: {graph:?}");
        let cycles: Vec<_> = graph.keys().filter_map(|m| cycle(&graph, m)).collect();
        assert!(cycles.is_empty(), "import cycles: {cycles:?}");
    }
}

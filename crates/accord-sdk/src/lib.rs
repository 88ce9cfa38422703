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

mod client;
mod clock;
mod error;
mod http;
mod identity;
pub mod keyfile;
mod moderation;
mod report;
mod retry;
mod room;
mod stream;
mod timeline;
mod tls;
mod verify;

pub use client::{Client, ClientBuilder};
pub use error::{BuildError, KeyFileError, Result, SdkError, VerificationError};
pub use identity::{TrustSignals, VerifiedIdentity};
pub use moderation::{ActionReceipt, CaseDetail, CaseReport, VerifiedAuditLog};
pub use report::{DEFAULT_REPORT_CONTEXT, ReportBuilder};
pub use retry::RetryPolicy;
pub use room::{HistoryPage, HistoryQuery, Room, SendReceipt};
pub use stream::{ReconnectPolicy, Subscription};
pub use timeline::{HiddenItem, TimelineEntry};
pub use verify::TimelineItem;

/// The client API's wire types, re-exported: the SDK reads and sends
/// exactly these.
pub use accord_api as api;
pub use accord_api::moderation::{CaseFilter, CaseSummary, ReportSource, Resolution, WrittenEntry};
pub use accord_api::node::{NodeInfo, RegistrationPolicy};
pub use accord_api::reports::{CaseState, Forward, ForwardState, Outcome, OutcomeError, ReportStatus};
pub use accord_api::rooms::{RoomState as RoomStateView, RoomSummary};
pub use accord_api::{ErrorCode, Provenance};

/// The protocol crate, re-exported so that applications use the same types.
pub use accord_proto as proto;
pub use accord_proto::audit::{ModAction, Moderator, Verdict};
pub use accord_proto::blocklist::Category;
pub use accord_proto::event::{Event, EventContent, JoinRule, Role, UnverifiedEvent};
pub use accord_proto::identity::{Handle, NodeName, VerificationLevel};
pub use accord_proto::{AccountId, EventId, ListName, NodeId, RoomId, SecretKey, Sha256Hash, Timestamp};

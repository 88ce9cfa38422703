//! The JSON the node answers today, built here as its handlers build it
//! (`json!` over the same fields, `crates/accord-node/src/api/`): each
//! accord-api type reads it and, written back through `serde_json::Value`
//! as the node writes its answers, gives the same bytes: no field dropped,
//! added, renamed or made optional by mistake.

use crate::fixtures::{account, create, key, list, node, reads_the_node};
use accord_api::admin::{
    AdminSession, AdminSessionClosed, Appended, AuditVerified, DiscoverResponse, EntriesResponse, EvidenceResponse,
    ExceptionSet, ImportResponse, ListCreated, ListsResponse, ModeratorsResponse, Parsed, PeersResponse,
    QuarantineResponse, Released, Staged, StatusResponse, Subscribed, Trusted, Unsubscribed,
};
use accord_api::auth::{ChallengeResponse, LoginResponse};
use accord_api::events::SendEventResponse;
use accord_api::identities::IdentityResponse;
use accord_api::moderation::{ActionReceipt, CaseDetail, CasesResponse, ReportSource};
use accord_api::node::{NodeInfo, RegistrationPolicy};
use accord_api::register::RegisterResponse;
use accord_api::reports::{CaseState, ReportStatus, ReportsResponse};
use accord_api::rooms::{HistoryResponse, RoomsResponse};
use accord_api::stream::ServerFrame;
use accord_api::teams::{AppealState, AppealStatus, AppealsResponse, MutedResponse, NotesResponse};
use accord_api::{ErrorBody, ErrorCode};
use accord_proto::audit::{ModAction, Moderator, Verdict};
use accord_proto::blocklist::ListEntry;
use accord_proto::blocklist::checkpoint::SignedCheckpoint;
use accord_proto::identity::{Attestation, Handle, IdentityDocument, VerificationLevel};
use accord_proto::report::ReportBody;
use accord_proto::{IssuerId, ListId, Sha256Hash, Timestamp, Verified};
use serde_json::{Value, json};

const TS: u64 = 1_764_000_000_000;

fn provenance() -> Value {
    json!({"list": list(), "entry": 3, "category": "spam", "action": "quarantine", "reason": "bulk ads"})
}

fn signed_identity() -> (Verified<IdentityDocument>, Verified<Attestation>) {
    let doc = IdentityDocument {
        account: account(1),
        handle: Handle::parse("alice@example.org").expect("handle"),
        home: node(200),
        created: Timestamp::from_millis(TS),
    };
    let doc = Verified::sign(doc, &key(1)).expect("sign");
    let att = Attestation {
        account: account(1),
        identity: doc.body_hash(),
        node: node(200),
        registered: Timestamp::from_millis(TS),
        level: VerificationLevel::Open,
    };
    (doc, Verified::sign(att, &key(200)).expect("attest"))
}

fn signed_action() -> Verified<ModAction> {
    let action = ModAction {
        node: node(200),
        moderator: Moderator::Account(account(6)),
        case: Sha256Hash::digest(b"case"),
        action: Verdict::Block,
        list: Some(ListId { issuer: IssuerId::from(key(200).public()), name: "abuse".parse().expect("name") }),
        reason: Some("sells drugs".to_string().try_into().expect("reason")),
        expires: None,
        assignee: None,
        report: None,
        appeal: None,
        ts: Timestamp::from_millis(TS),
    };
    Verified::sign(action, &key(6)).expect("sign")
}

fn checkpoint() -> SignedCheckpoint {
    SignedCheckpoint::from_note("example.org/spam\n1\nq83vEjVVpBi4sQ4gx0Ad4r7kyyCNi9NTSN8NE9MPJ1w=\n\n— key sig\n")
}

#[test]
fn node_info() {
    let info: NodeInfo = reads_the_node(json!({
        "node": node(200), "name": "example.org", "version": "0.1.0", "registration": "invite",
        "p2p": [format!("/ip4/127.0.0.1/tcp/9101/p2p/{}", node(200))], "peers": [node(201).to_string()],
    }));
    assert_eq!(info.registration, RegistrationPolicy::Invite);
}

#[test]
fn login() {
    let challenge: ChallengeResponse =
        reads_the_node(json!({"challenge": "q2VhbGx5IHJhbmRvbQ==", "node": node(200), "expires": TS}));
    assert_eq!(challenge.expires, Timestamp::from_millis(TS));
    reads_the_node::<LoginResponse>(json!({"token": "ab".repeat(32), "account": account(1), "expires": TS}));
}

#[test]
fn registration_and_identities() {
    let (doc, att) = signed_identity();
    let answer: RegisterResponse = reads_the_node(json!({"attestation": att.raw()}));
    assert!(answer.attestation.verify().is_ok());
    let trust = json!({
        "home": att.node, "level": att.level, "registered": att.registered, "age_ms": 86_400_000u64,
        "flags": [provenance()], "reports": 2,
    });
    let found: IdentityResponse =
        reads_the_node(json!({"identity": doc.raw(), "attestation": att.raw(), "trust": trust}));
    assert_eq!(found.trust.expect("trust").flags[0].entry, 3);
    // A stored attestation that does not read back gives no signals: `null`.
    let found: IdentityResponse =
        reads_the_node(json!({"identity": doc.raw(), "attestation": att.raw(), "trust": Value::Null}));
    assert!(found.trust.is_none());
}

#[test]
fn events_and_rooms() {
    let event = create();
    let sent: SendEventResponse = reads_the_node(
        json!({"event_id": event.id(), "room": event.room(), "cursor": 1, "event": event.to_unverified()}),
    );
    assert_eq!(sent.event.claimed_id(), event.id());
    reads_the_node::<RoomsResponse>(
        json!({"rooms": [{"room": event.room(), "name": "general", "role": "owner", "members": 1}]}),
    );
    let history: HistoryResponse = reads_the_node(json!({"events": [
        {"cursor": 1, "event": event.to_unverified(), "accepted": true, "redacted": false},
        {"cursor": 2, "accepted": false, "redacted": false, "hidden": provenance()},
    ], "more": true}));
    assert!(history.events[0].event().is_some() && history.events[1].hidden().is_some());
}

#[test]
fn live_stream_frames() {
    let event = create();
    let item = json!({"cursor": 1, "event": event.to_unverified(), "accepted": true, "redacted": false});
    let frame: ServerFrame = reads_the_node(json!({"type": "event", "room": event.room(), "item": item}));
    assert!(matches!(frame, ServerFrame::Event { .. }));
    reads_the_node::<ServerFrame>(json!({"type": "lagged", "room": event.room(), "resume_from": 41}));
    let frame: ServerFrame = reads_the_node(
        json!({"type": "error", "error": {"code": "not_member", "message": format!("not a member of {}", event.room())}}),
    );
    assert!(matches!(frame, ServerFrame::Error { error } if error.code == ErrorCode::NotMember));
    reads_the_node::<ServerFrame>(json!({"type": "error", "error": {"code": "blocked",
        "message": "refused by a blocklist this node enforces", "provenance": provenance()}}));
}

#[test]
fn api_errors() {
    let limited: ErrorBody = reads_the_node(
        json!({"error": {"code": "rate_limited", "message": "too many requests", "retry_after_ms": 250}}),
    );
    assert_eq!(limited.error.retry_after_ms, Some(250));
    reads_the_node::<ErrorBody>(json!({"error": {"code": "blocked",
        "message": format!("blocked by {} entry 3 (spam)", list()), "provenance": provenance()}}));
}

#[test]
fn reports_and_their_outcome() {
    let action = signed_action();
    // The node flattens the decision into the outcome (`OutcomeView`).
    let outcome = json!({
        "node": node(200), "action": "block", "moderator": account(6), "list": action.list, "reason": "sells drugs",
        "ts": TS, "signed": action.raw(),
    });
    let status = json!({
        "id": Sha256Hash::digest(b"report"), "case": Sha256Hash::digest(b"case"), "category": "drugs",
        "accused": [account(3)], "received": TS, "state": "resolved",
        "forwards": [{"node": node(201), "state": "delivered"}, {"node": node(202), "state": "pending", "code": "unreachable"}],
        "outcome": outcome,
    });
    let status: ReportStatus = reads_the_node(status);
    assert_eq!(status.state, CaseState::Resolved);
    assert_eq!(status.outcome.expect("outcome").verify().expect("verifies").action, Verdict::Block);
    let open = json!({
        "id": Sha256Hash::digest(b"report"), "case": Sha256Hash::digest(b"report"), "category": "spam",
        "accused": [], "received": TS, "state": "open", "forwards": [],
    });
    reads_the_node::<ReportsResponse>(json!({"reports": [open]}));
}

#[test]
fn moderation() {
    let summary = json!({
        "id": Sha256Hash::digest(b"case"), "category": "drugs", "state": "resolved", "opened": TS, "reports": 2,
        "reporters": 1, "accused": [account(3)], "evidence": [create().id()], "quarantined": false,
        "resolution": {"index": 0, "action": "block", "moderator": account(6), "list": list(),
                       "reason": "sells drugs", "ts": TS, "overturned": true},
        "source": "people", "assigned": account(7),
    });
    reads_the_node::<CasesResponse>(json!({"cases": [summary.clone()]}));
    let body = ReportBody {
        reporter: account(2),
        category: accord_proto::blocklist::Category::Drugs,
        subject: Some(account(1)),
        evidence: vec![create().to_unverified()],
        context: vec![],
        comment: None,
        ts: Timestamp::from_millis(TS),
    };
    let report = Verified::sign(body, &key(2)).expect("sign");
    let detail: CaseDetail = reads_the_node(json!({
        "case": summary,
        "reports": [{"id": report.body_hash(), "reporter": account(2), "category": "drugs", "ts": TS,
                     "from": node(201).to_string(), "report": report.raw()}],
        "evidence": [create()], "context": [],
        "notes": [{"author": account(7), "text": "seen this reporter before", "ts": TS},
                  {"author": node(200), "text": "operator: keep open", "ts": TS}],
    }));
    assert_eq!(detail.reports[0].from, ReportSource::Node(node(201)));
    assert_eq!(detail.notes.len(), 2);
    reads_the_node::<NotesResponse>(json!({"notes": [{"author": account(7), "text": "n", "ts": TS}]}));
    let receipt: ActionReceipt = reads_the_node(json!({"index": 0, "entries": [{"list": list(), "index": 4}]}));
    assert_eq!(receipt.entries[0].index, 4);
}

#[test]
fn appeals() {
    let appeal = json!(signed_action().raw());
    let forwarded = json!({
        "id": Sha256Hash::digest(b"appeal"), "account": account(3), "node": node(200),
        "case": Sha256Hash::digest(b"case"), "decision": Sha256Hash::digest(b"decision"),
        "reason": "I was quoting", "received": TS, "from": "local",
        "forward": {"node": node(200), "state": "delivered"}, "state": "open", "appeal": appeal,
    });
    let action = signed_action();
    let resolved_at_home = json!({
        "id": Sha256Hash::digest(b"appeal"), "account": account(3), "node": node(200),
        "case": Sha256Hash::digest(b"case"), "decision": Sha256Hash::digest(b"decision"),
        "reason": "I was quoting", "received": TS, "from": "local",
        "forward": {"node": node(200), "state": "delivered"}, "state": "upheld",
        "outcome": {"node": node(200), "action": "block", "moderator": account(6), "list": action.list,
                    "reason": "sells drugs", "ts": TS, "signed": action.raw()},
        "appeal": appeal,
    });
    let home: AppealStatus = reads_the_node(resolved_at_home);
    assert!(home.outcome.expect("outcome").verify().is_ok());
    let decided = json!({
        "id": Sha256Hash::digest(b"appeal"), "account": account(3), "node": node(200),
        "case": Sha256Hash::digest(b"case"), "decision": Sha256Hash::digest(b"decision"),
        "reason": "I was quoting", "received": TS, "from": node(201).to_string(), "state": "overturned",
        "decided_by": account(6),
        "resolution": {"index": 2, "action": "overturn", "moderator": account(7), "reason": "a warning", "ts": TS},
        "appeal": appeal,
    });
    let read: AppealsResponse = reads_the_node(json!({"appeals": [forwarded.clone(), decided]}));
    assert_eq!(read.appeals[1].state, AppealState::Overturned);
    reads_the_node::<AppealStatus>(forwarded);
}

#[test]
fn admin_lists() {
    let (list, checkpoint) = (list(), checkpoint());
    // C2SP verifier keys: name, key id, base64 of 0x01 ‖ the public key.
    let vkey = "example.org/spam+db46a7b3+AeqwlIB0JfYuS0B7r8hvSY8O2yHK36FUaqFb1FfEy0Dp";
    let witness = "witness.example.org+5c0a1e2d+AUsW5bqLq9A1zGYV3cXQJ3Xp8dnTGyjV1rZ6hUpPA3Yc";
    reads_the_node::<ListCreated>(json!({"list": list, "size": 0, "checkpoint": checkpoint}));
    let status = json!({
        "list": list, "own": false, "subscribed": true, "size": 4, "actions": {"spam": "quarantine"},
        "pdq_threshold": 31, "distrusted": Value::Null, "checkpoint": checkpoint, "followers": 2, "vkey": vkey,
        "mode": "suggest", "on_removal": "keep", "priority": 10,
        "description": "spam accounts seen here",
    });
    let unheld = json!({
        "list": list, "own": false, "subscribed": true, "size": 0, "actions": {},
        "pdq_threshold": 31, "distrusted": "the issuer signed two incompatible checkpoints", "checkpoint": Value::Null, "followers": 0,
        "vkey": vkey, "mode": "apply", "on_removal": "undo", "priority": 0,
    });
    reads_the_node::<ListsResponse>(
        json!({"lists": [status, unheld], "indexed": 4, "issuer_vkey": vkey, "witness_vkey": witness}),
    );
    let discovered: DiscoverResponse = reads_the_node(json!({"node": node(1), "lists": [
        {"list": list, "size": 4, "description": "spam accounts", "witnesses": [witness], "checkpoint_time": TS,
         "checkpoint": checkpoint},
        {"list": list, "size": 0, "description": Value::Null, "witnesses": [], "checkpoint_time": TS,
         "checkpoint": checkpoint},
    ]}));
    assert_eq!(discovered.lists[0].witnesses, [witness]);
    let appended: Appended = reads_the_node(json!({"list": list, "first": 4, "count": 2, "checkpoint": checkpoint}));
    assert_eq!(appended.first, Some(4));
    // An empty commit.
    reads_the_node::<Appended>(json!({"list": list, "count": 0}));
    let skipped = json!([{"line": 3, "text": "bad,row", "why": "no such category"}]);
    let imported: ImportResponse = reads_the_node(
        json!({"list": list, "first": 4, "count": 2, "checkpoint": checkpoint, "skipped": skipped.clone()}),
    );
    assert_eq!(imported.skipped[0].line, 3);
    reads_the_node::<ImportResponse>(json!({"list": list, "count": 0, "skipped": skipped}));
    let entry = ListEntry::Remove { created: Timestamp::from_millis(TS), entry: 0, reason: None };
    reads_the_node::<EntriesResponse>(json!({
        "list": list, "size": 2, "checkpoint": checkpoint,
        "entries": [{"index": 0, "error": "not an entry"}, {"index": 1, "entry": entry}],
    }));
    reads_the_node::<Staged>(json!({"list": list, "staged": 5000}));
    let parsed: Parsed = reads_the_node(json!({
        "entries": [{"target": {"type": "node", "id": node(3)}, "category": "spam", "action": "reject", "reason": "relay"}],
        "skipped": [{"line": 2, "text": "spam.example", "why": "DNS domains have no Accord node id"}],
    }));
    assert_eq!(parsed.entries.len(), 1);
}

#[test]
fn admin_dashboard_session_and_status() {
    reads_the_node::<AdminSession>(json!({"expires": TS}));
    reads_the_node::<AdminSessionClosed>(json!({"ended": true}));
    let status: StatusResponse = reads_the_node(json!({
        "node": node(1), "name": "example.org", "version": "0.1.0", "api": "127.0.0.1:8080",
        "p2p": [format!("/ip4/127.0.0.1/tcp/4001/p2p/{}", node(1))], "started": TS,
        "peers": [{"node": node(2), "connected": true, "score": 37.5, "penalized": false, "blocked": false}],
        "lists": [{"list": list(), "own": true, "size": 3, "latest": 3, "behind": 0, "signed": TS, "seen": Value::Null,
                   "followers": 1, "distrusted": Value::Null}],
        "metrics": {"accounts": 2, "rooms": 1, "streams": 0, "events_accepted": 9, "events_received": 4,
                    "list_entries_applied": 0, "indexed": 3, "open_cases": 1, "evidence": 0},
    }));
    assert_eq!((status.lists[0].followers, status.peers[0].score), (1, 37.5));
}

#[test]
fn admin_subscriptions_and_enforcement() {
    let (list, event) = (list(), create());
    reads_the_node::<Subscribed>(json!({
        "list": list, "subscribed": true, "size": 0, "actions": {"spam": "ignore"}, "pdq_threshold": 31, "distrusted": Value::Null,
        "mode": "notify", "on_removal": "undo", "priority": -1,
    }));
    reads_the_node::<Unsubscribed>(json!({"list": list, "subscribed": false}));
    reads_the_node::<ExceptionSet>(json!({"list": list, "entry": 3, "excepted": true}));
    reads_the_node::<Trusted>(json!({"issuer": list.issuer, "lists": [list]}));
    let evidence = json!({
        "peer": node(201), "event": event.to_unverified(), "provenance": provenance(),
        "manifest": signed_action().raw(),
        "entry": r#"{"op":"add","created":1,"target":{"type":"node","id":"x"},"category":"spam","action":"reject"}"#,
        "checkpoint": checkpoint(), "inclusion": [accord_proto::Sha256Hash::digest(b"sibling")], "recorded": TS,
    });
    reads_the_node::<EvidenceResponse>(json!({"evidence": [evidence]}));
    let held = json!({
        "room": event.room(), "cursor": 1, "event_id": event.id(), "event": event.to_unverified(),
        "provenance": provenance(),
    });
    reads_the_node::<QuarantineResponse>(json!({"quarantine": [held]}));
    reads_the_node::<Released>(json!({"event": event.id(), "released": true}));
}

#[test]
fn admin_moderators_audit_and_peers() {
    reads_the_node::<ModeratorsResponse>(json!({"moderators": [
        {"account": account(6), "since": TS, "source": "config", "role": "admin"},
        {"account": account(7), "since": TS, "source": "admin", "role": "moderator", "categories": ["drugs", "spam"]},
    ]}));
    reads_the_node::<MutedResponse>(json!({"muted": [
        {"account": account(2), "case": Sha256Hash::digest(b"case"), "reason": "reports everyone",
         "by": node(200), "since": TS, "index": 3, "kept_out": 4},
    ]}));
    reads_the_node::<AuditVerified>(json!({"ok": true, "size": 3, "root": Sha256Hash::digest(b"root")}));
    reads_the_node::<PeersResponse>(json!({"connected": [node(201)], "blocked": [node(202)]}));
}

#[test]
fn admin_suggestions_kept_entries_and_notes() {
    use accord_api::curation::{DecideResponse, KeptResponse, Note, NotesResponse, SuggestionsResponse};
    let list = list();
    let target = Sha256Hash::digest(b"target");
    let suggestions: SuggestionsResponse = reads_the_node(json!({"suggestions": [
        {"list": list, "entry": 0, "state": "pending", "kind": "content", "target": target, "category": "spam",
         "action": "reject", "reason": "bulk ads", "arrived": TS},
        {"list": list, "entry": 1, "state": "approved", "kind": "account", "target": target, "category": "harassment",
         "action": "quarantine", "arrived": TS, "decision": {"by": "ops-alice", "at": TS, "reason": "seen it"}},
        {"list": list, "entry": 2, "state": "declined", "kind": "node", "target": target, "category": "other",
         "action": "reject", "arrived": TS, "decision": {"by": "operator", "at": TS}},
    ]}));
    assert_eq!(suggestions.suggestions.len(), 3);
    reads_the_node::<DecideResponse>(json!({"list": list, "entries": [0, 3], "state": "approved"}));
    reads_the_node::<KeptResponse>(json!({"kept": [{"list": list, "entry": 4, "removed_by": 9, "at": TS,
        "reason": format!("kept after removal by {list} at 2025-11-24T16:00:00Z")}]}));
    let note = json!({"list": list, "entry": 4, "by": "mod-kim", "at": TS, "text": "the reporter is a victim"});
    reads_the_node::<Note>(note.clone());
    reads_the_node::<NotesResponse>(json!({"notes": [note]}));
    // Provenance with the operator's decision and the lists outranked.
    let decided = json!({"list": list, "entry": 3, "category": "spam", "action": "reject",
        "decision": {"kind": "kept", "by": "operator", "at": TS, "reason": "kept after removal"},
        "priority": 10, "outranked": [{"list": list, "entry": 7, "priority": 0, "verdict": "excepted"}]});
    reads_the_node::<accord_api::Provenance>(decided);
}

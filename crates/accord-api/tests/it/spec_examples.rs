//! The spec's examples, read and written again byte for byte (their
//! placeholders `acct1…`, `room1…`, `iss1…`, `64 hex` replaced by real
//! values). Each example is also checked to be in the spec as written
//! here, so that a change of the spec fails these tests until they follow.

use crate::fixtures::{concrete, list, round_trips_exactly, spec};
use accord_api::admin::{Enforce, SubscribeRequest, Subscribed};
use accord_api::rooms::{ItemContent, RoomState, TimelineItem};
use accord_api::{ErrorBody, ErrorCode, Provenance};
use accord_proto::blocklist::{Action, Category};
use accord_proto::event::{JoinRule, Role};

const NOT_MEMBER: &str = r#"{"error": {"code": "not_member", "message": "author is not a member of this room"}}"#;

const PROVENANCE: &str =
    r#"{"list": "iss1…/spam", "entry": 3, "category": "spam", "action": "reject", "reason": "bulk ads"}"#;

const BLOCKED: &str = r#"{"error": {"code": "blocked", "message": "the account is blocked",
           "provenance": {"list": "iss1…/spam", "entry": 3, "category": "spam", "action": "reject"}}}"#;

const ROOM_STATE: &str = r#"{"room": "room1…", "name": "general", "join_rule": "public", "creator": "acct1…",
 "members": ["acct1…"], "roles": {"acct1…": "owner"}, "bans": [], "invites": [],
 "history_hash": "64 hex", "accepted": 12, "latest_cursor": 12}"#;

const HIDDEN_ITEM: &str = r#"{"cursor": 7, "accepted": true, "redacted": false,
 "hidden": {"list": "iss1…/spam", "entry": 3, "category": "spam", "action": "reject", "reason": "bulk ads"}}"#;

const SUBSCRIBE: &str = r#"{"list": "iss1l5tjgwz65rr4ke8m0rxkqtapmxglm6lhdvfutrkhqt4vsd0f7cvq58rac3/abuse", "actions": {"spam": "ignore", "grooming": "reject"}}"#;

const SUBSCRIBED: &str = r#"{"list": "iss1l5tjgwz65rr4ke8m0rxkqtapmxglm6lhdvfutrkhqt4vsd0f7cvq58rac3/abuse", "subscribed": true, "size": 0, "actions": {"grooming": "reject", "spam": "ignore"}, "pdq_threshold": 31, "distrusted": null, "mode": "apply", "on_removal": "undo", "priority": 0}"#;

#[test]
fn the_examples_are_the_specs() {
    let client_api = spec("client-api.md");
    for example in [NOT_MEMBER, PROVENANCE, BLOCKED, ROOM_STATE, HIDDEN_ITEM] {
        assert!(client_api.contains(example), "client-api.md no longer holds {example}");
    }
    let blocklists = spec("blocklists.md");
    for example in [SUBSCRIBE, SUBSCRIBED] {
        assert!(blocklists.contains(example), "blocklists.md no longer holds {example}");
    }
}

#[test]
fn an_error_body_round_trips() {
    let body: ErrorBody = round_trips_exactly(NOT_MEMBER);
    assert_eq!(body.error.code, ErrorCode::NotMember);
    assert_eq!(body.error.code.status(), 403);
}

#[test]
fn a_provenance_round_trips() {
    let p: Provenance = round_trips_exactly(&concrete(PROVENANCE));
    assert_eq!(p.list, list());
    assert_eq!((p.entry, p.category, p.action), (3, Category::Spam, Action::Reject));
    assert_eq!(p.to_string(), format!("{} #3 (spam): bulk ads", list()));
}

#[test]
fn a_blocked_error_round_trips_with_its_provenance() {
    let body: ErrorBody = round_trips_exactly(&concrete(BLOCKED));
    assert_eq!(body.error.code, ErrorCode::Blocked);
    let p = body.error.provenance.expect("provenance");
    assert_eq!((p.entry, p.reason), (3, None));
}

#[test]
fn a_room_state_round_trips() {
    let state: RoomState = round_trips_exactly(&concrete(ROOM_STATE));
    assert_eq!(state.join_rule, JoinRule::Public);
    assert_eq!(state.roles.get(&state.creator), Some(&Role::Owner));
    assert_eq!((state.accepted, state.latest_cursor), (12, 12));
}

#[test]
fn a_hidden_timeline_item_round_trips() {
    let item: TimelineItem = round_trips_exactly(&concrete(HIDDEN_ITEM));
    assert_eq!(item.cursor, 7);
    assert!(item.event().is_none());
    assert!(matches!(&item.content, ItemContent::Hidden(p) if p.reason.as_deref() == Some("bulk ads")));
}

#[test]
fn the_subscription_example_reads_and_its_answer_round_trips() {
    let request: SubscribeRequest = serde_json::from_str(SUBSCRIBE).expect("request decodes");
    assert_eq!(request.actions.get(&Category::Spam), Some(&Enforce::Ignore));
    assert_eq!(request.actions.get(&Category::Grooming), Some(&Enforce::Reject));
    // The request's categories are written in the order of `Category`.
    assert_eq!(
        serde_json::to_value(&request).expect("encodes"),
        serde_json::from_str::<serde_json::Value>(SUBSCRIBE).expect("json")
    );
    let answer: Subscribed = round_trips_exactly(SUBSCRIBED);
    assert!(answer.subscribed && answer.distrusted.is_none());
}

#[test]
fn requests_refuse_unknown_fields_and_answers_take_them() {
    let extra = concrete(r#"{"list": "iss1…/spam", "actions": {}, "extra": 1}"#);
    assert!(serde_json::from_str::<SubscribeRequest>(&extra).is_err());
    let newer = concrete(
        r#"{"cursor": 7, "accepted": true, "redacted": false, "pinned": true,
            "hidden": {"list": "iss1…/spam", "entry": 3, "category": "spam", "action": "reject"}}"#,
    );
    assert!(serde_json::from_str::<TimelineItem>(&newer).is_ok());
}

#[test]
fn a_timeline_item_with_neither_event_nor_hidden_does_not_parse() {
    let err = serde_json::from_str::<TimelineItem>(r#"{"cursor": 7, "accepted": true, "redacted": false}"#)
        .expect_err("neither");
    assert!(err.to_string().contains("neither"), "{err}");
}

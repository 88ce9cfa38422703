//! Room rules: one order, one state, one history hash for a set of events,
//! whatever order they arrived in.

use crate::fixtures::{create, event, key, message};
use accord_proto::event::{Event, EventContent, JoinRule, Role};
use accord_proto::room::{AuthError, MessageIndex, RoomState, resolve};
use accord_proto::{EventId, SecretKey};
use proptest::prelude::*;

fn accepted(events: &[Event]) -> Vec<(EventId, bool)> {
    let room = events[0].room();
    resolve(room, events).unwrap().order.into_iter().map(|(id, v)| (id, v.is_ok())).collect()
}

#[test]
fn the_creator_owns_the_room() {
    let alice = key(1);
    let c = create(&alice);
    let state = RoomState::from_create(&c).unwrap();
    assert!(state.is_member(&alice.account_id()));
    assert_eq!(state.role(&alice.account_id()), Role::Owner);
}

#[test]
fn non_members_cannot_speak_and_banned_members_cannot_return() {
    let (alice, mallory) = (key(1), key(2));
    let c = create(&alice);
    let mut state = RoomState::from_create(&c).unwrap();
    let mut messages = MessageIndex::default();
    let early = event(&mallory, Some(c.room()), message("hi"), 2, vec![c.id()], 1);
    assert_eq!(state.apply_indexed(&early, &mut messages), Err(AuthError::NotMember));
    let join = event(&mallory, Some(c.room()), EventContent::Join {}, 3, vec![c.id()], 1);
    state.apply_indexed(&join, &mut messages).unwrap();
    let ban = event(
        &alice,
        Some(c.room()),
        EventContent::Ban { target: mallory.account_id(), reason: None },
        4,
        vec![join.id()],
        2,
    );
    state.apply_indexed(&ban, &mut messages).unwrap();
    let rejoin = event(&mallory, Some(c.room()), EventContent::Join {}, 5, vec![ban.id()], 3);
    assert_eq!(state.apply_indexed(&rejoin, &mut messages).unwrap_err().code(), "banned");
}

#[test]
fn invite_only_rooms_need_an_invite() {
    let (alice, bob) = (key(1), key(2));
    let c = event(
        &alice,
        None,
        EventContent::Create { name: "private".to_string().try_into().unwrap(), join_rule: JoinRule::Invite },
        1,
        vec![],
        0,
    );
    let mut state = RoomState::from_create(&c).unwrap();
    let mut messages = MessageIndex::default();
    let join = event(&bob, Some(c.room()), EventContent::Join {}, 2, vec![c.id()], 1);
    assert_eq!(state.authorize(&join, &messages), Err(AuthError::NotInvited));
    let invite = event(&alice, Some(c.room()), EventContent::Invite { target: bob.account_id() }, 3, vec![c.id()], 1);
    state.apply_indexed(&invite, &mut messages).unwrap();
    let join2 = event(&bob, Some(c.room()), EventContent::Join {}, 4, vec![invite.id()], 2);
    state.apply_indexed(&join2, &mut messages).unwrap();
    assert!(state.is_member(&bob.account_id()));
}

#[test]
fn moderators_cannot_ban_owners_and_members_cannot_moderate() {
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let c = create(&alice);
    let r = Some(c.room());
    let mut state = RoomState::from_create(&c).unwrap();
    let mut messages = MessageIndex::default();
    let jb = event(&bob, r, EventContent::Join {}, 2, vec![c.id()], 1);
    let jc = event(&carol, r, EventContent::Join {}, 3, vec![c.id()], 1);
    state.apply_indexed(&jb, &mut messages).unwrap();
    state.apply_indexed(&jc, &mut messages).unwrap();
    let kick = event(&carol, r, EventContent::Kick { target: bob.account_id(), reason: None }, 4, vec![jc.id()], 2);
    assert_eq!(state.authorize(&kick, &messages), Err(AuthError::Forbidden));
    let promote = event(
        &alice,
        r,
        EventContent::SetRole { target: bob.account_id(), role: Role::Moderator },
        5,
        vec![jc.id()],
        2,
    );
    state.apply_indexed(&promote, &mut messages).unwrap();
    let ban_owner =
        event(&bob, r, EventContent::Ban { target: alice.account_id(), reason: None }, 6, vec![promote.id()], 3);
    assert_eq!(state.authorize(&ban_owner, &messages), Err(AuthError::Forbidden));
    let self_promote =
        event(&bob, r, EventContent::SetRole { target: bob.account_id(), role: Role::Owner }, 7, vec![promote.id()], 3);
    assert_eq!(state.authorize(&self_promote, &messages), Err(AuthError::Forbidden));
}

#[test]
fn authors_redact_their_own_messages_moderators_anyone_s() {
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let c = create(&alice);
    let r = Some(c.room());
    let mut state = RoomState::from_create(&c).unwrap();
    let mut messages = MessageIndex::default();
    let jb = event(&bob, r, EventContent::Join {}, 2, vec![c.id()], 1);
    let jc = event(&carol, r, EventContent::Join {}, 3, vec![c.id()], 1);
    state.apply_indexed(&jb, &mut messages).unwrap();
    state.apply_indexed(&jc, &mut messages).unwrap();
    let m = event(&bob, r, message("oops"), 4, vec![jb.id()], 2);
    state.apply_indexed(&m, &mut messages).unwrap();
    let by_carol = event(&carol, r, EventContent::Redact { target: m.id(), reason: None }, 5, vec![m.id()], 3);
    assert_eq!(state.authorize(&by_carol, &messages), Err(AuthError::Forbidden));
    let by_bob = event(&bob, r, EventContent::Redact { target: m.id(), reason: None }, 6, vec![m.id()], 3);
    state.apply_indexed(&by_bob, &mut messages).unwrap();
    assert!(state.redacted().contains(&m.id()));
}

#[test]
fn a_ban_ordered_before_a_concurrent_message_rejects_it_everywhere() {
    // Same depth: (depth, id) decides. Try several messages until one sorts
    // after the ban, and one before, and check both verdicts.
    let (alice, carol) = (key(1), key(3));
    let c = create(&alice);
    let r = Some(c.room());
    let jc = event(&carol, r, EventContent::Join {}, 2, vec![c.id()], 1);
    let ban = event(&alice, r, EventContent::Ban { target: carol.account_id(), reason: None }, 3, vec![jc.id()], 2);
    let mut seen = (false, false);
    for i in 0..40 {
        let m = event(&carol, r, message(&format!("spam {i}")), 10 + i, vec![jc.id()], 2);
        let events = vec![c.clone(), jc.clone(), ban.clone(), m.clone()];
        let verdicts = accepted(&events);
        let accepted_msg = verdicts.iter().find(|(id, _)| *id == m.id()).unwrap().1;
        assert_eq!(accepted_msg, m.id() < ban.id(), "order (depth, id) decides");
        if accepted_msg { seen.0 = true } else { seen.1 = true }
    }
    assert!(seen.0 && seen.1, "both orders occurred");
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Step {
    Join(u8),
    Leave(u8),
    Say(u8),
    Ban(u8, u8),
    Unban(u8, u8),
    Promote(u8, u8),
    Kick(u8, u8),
}

fn arb_step() -> impl Strategy<Value = (Step, u8)> {
    let who = 0u8..5;
    let step = prop_oneof![
        who.clone().prop_map(Step::Join),
        who.clone().prop_map(Step::Leave),
        who.clone().prop_map(Step::Say),
        (who.clone(), who.clone()).prop_map(|(a, b)| Step::Ban(a, b)),
        (who.clone(), who.clone()).prop_map(|(a, b)| Step::Unban(a, b)),
        (who.clone(), who.clone()).prop_map(|(a, b)| Step::Promote(a, b)),
        (who.clone(), who).prop_map(|(a, b)| Step::Kick(a, b)),
    ];
    // The second value picks how far back the step's causal parent lies,
    // which makes many events concurrent (same depth).
    (step, 0u8..4)
}

/// Builds signed, stamped events for the steps; each references an earlier
/// event chosen by `back`, so depths repeat and events are concurrent.
fn history(steps: &[(Step, u8)]) -> Vec<Event> {
    let keys: Vec<SecretKey> = (1..=5).map(key).collect();
    let c = create(&keys[0]);
    let r = Some(c.room());
    let mut events = vec![c];
    for (i, (step, back)) in steps.iter().enumerate() {
        let parent = &events[events.len().saturating_sub(1 + *back as usize)];
        let (prev, depth) = (vec![parent.id()], parent.order_key().0 + 1);
        let seq = i as u64 + 2;
        let (author, content) = match step {
            Step::Join(a) => (*a, EventContent::Join {}),
            Step::Leave(a) => (*a, EventContent::Leave {}),
            Step::Say(a) => (*a, message(&format!("message {i}"))),
            Step::Ban(a, t) => (*a, EventContent::Ban { target: keys[*t as usize].account_id(), reason: None }),
            Step::Unban(a, t) => (*a, EventContent::Unban { target: keys[*t as usize].account_id() }),
            Step::Promote(a, t) => {
                (*a, EventContent::SetRole { target: keys[*t as usize].account_id(), role: Role::Moderator })
            }
            Step::Kick(a, t) => (*a, EventContent::Kick { target: keys[*t as usize].account_id(), reason: None }),
        };
        events.push(event(&keys[author as usize], r, content, seq, prev, depth));
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn order_state_and_history_hash_do_not_depend_on_arrival_order(
        (events, shuffled) in proptest::collection::vec(arb_step(), 1..40)
            .prop_map(|steps| history(&steps))
            .prop_flat_map(|events| (Just(events.clone()), Just(events).prop_shuffle()))
    ) {
        let room = events[0].room();
        let a = resolve(room, &events).unwrap();
        let b = resolve(room, &shuffled).unwrap();
        prop_assert_eq!(&a.order, &b.order);
        prop_assert_eq!(&a.state, &b.state);
        prop_assert_eq!(a.state.history_hash(), b.state.history_hash());

        // Duplicates (a peer sending an event twice) change nothing either.
        let mut doubled = shuffled.clone();
        doubled.extend(shuffled.iter().take(5).cloned());
        let d = resolve(room, &doubled).unwrap();
        prop_assert_eq!(d.state.history_hash(), a.state.history_hash());

        // Applying one by one in order gives the same state as resolving.
        let mut sorted = events.clone();
        sorted.sort_by_key(|e| e.order_key());
        let mut state = RoomState::from_create(&sorted[0]).unwrap();
        let mut messages = MessageIndex::default();
        for e in &sorted[1..] {
            let _ = state.apply_indexed(e, &mut messages);
        }
        prop_assert_eq!(&state, &a.state);
    }
}

#[test]
fn an_event_stamped_twice_counts_once() {
    let (alice, bob) = (key(1), key(2));
    let c = create(&alice);
    let r = Some(c.room());
    let jb = event(&bob, r, EventContent::Join {}, 2, vec![c.id()], 1);
    let m = event(&alice, r, message("between"), 3, vec![c.id()], 2);
    let body = event(&bob, r, message("twice"), 4, vec![jb.id()], 2).body().clone();
    // The same author-signed body, stamped at depth 2 and again at depth 5.
    let first = accord_proto::event::Event::stamp(
        body.clone(),
        &crate::fixtures::node(),
        4,
        vec![jb.id()],
        2,
        accord_proto::Timestamp::from_millis(1),
    )
    .unwrap();
    let second = accord_proto::event::Event::stamp(
        body,
        &crate::fixtures::node(),
        9,
        vec![m.id()],
        5,
        accord_proto::Timestamp::from_millis(2),
    )
    .unwrap();
    let t = resolve(c.room(), &[c.clone(), jb.clone(), m.clone(), first.clone(), second]).unwrap();
    assert_eq!(t.order.iter().filter(|(id, _)| *id == first.id()).count(), 1);
    assert_eq!(t.state.accepted(), 4);
}

#[test]
fn moderators_grant_only_roles_below_their_own_and_kicks_clear_roles() {
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let c = create(&alice);
    let r = Some(c.room());
    let mut state = RoomState::from_create(&c).unwrap();
    let mut messages = MessageIndex::default();
    for (i, k) in [&bob, &carol].into_iter().enumerate() {
        state.apply_indexed(&event(k, r, EventContent::Join {}, 2 + i as u64, vec![c.id()], 1), &mut messages).unwrap();
    }
    let promote =
        event(&alice, r, EventContent::SetRole { target: bob.account_id(), role: Role::Moderator }, 5, vec![c.id()], 2);
    state.apply_indexed(&promote, &mut messages).unwrap();
    let mod_makes_mod = event(
        &bob,
        r,
        EventContent::SetRole { target: carol.account_id(), role: Role::Moderator },
        6,
        vec![promote.id()],
        3,
    );
    assert_eq!(state.authorize(&mod_makes_mod, &messages), Err(AuthError::Forbidden));
    let kick =
        event(&alice, r, EventContent::Kick { target: bob.account_id(), reason: None }, 7, vec![promote.id()], 3);
    state.apply_indexed(&kick, &mut messages).unwrap();
    assert_eq!(state.role(&bob.account_id()), Role::Member);
    let ban = event(&alice, r, EventContent::Ban { target: carol.account_id(), reason: None }, 8, vec![kick.id()], 4);
    state.apply_indexed(&ban, &mut messages).unwrap();
    let again = event(
        &alice,
        r,
        EventContent::Ban { target: carol.account_id(), reason: Some("again".to_string().try_into().unwrap()) },
        9,
        vec![ban.id()],
        5,
    );
    assert_eq!(state.authorize(&again, &messages).unwrap_err().code(), "bad_target");
}

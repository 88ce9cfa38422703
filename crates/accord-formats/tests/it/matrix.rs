//! `matrix-policy`: a JSON array of Matrix policy rules (spec/blocklists.md §9.3).

use crate::fixtures::{account, node, reason, room, whys};
use accord_formats::{Format, Import, Imported, MATRIX_HASHES_WHY, QUARANTINE_RECOMMENDATION, export, import};
use accord_proto::ContentHash;
use accord_proto::blocklist::{Action, Category, Target};
use serde_json::Value;

#[test]
fn policy_rules_import_and_every_other_element_is_skipped_with_why() {
    let (a, n, r) = (account(1), node(2), room(3));
    let text = format!(
        r##"[
  {{
"type": "m.policy.rule.user",
"state_key": "rule:{a}",
"sender": "@mod:example.org",
"event_id": "$abc",
"origin_server_ts": 1764000000000,
"room_id": "!policies:example.org",
"content": {{"entity": "{a}", "reason": "spam bot", "recommendation": "m.ban"}}
  }},
  {{"type": "m.policy.rule.server", "content": {{"entity": "{n}", "reason": "", "recommendation": "m.ban", "org.accord.category": "drugs"}}}},
  {{"type": "m.room.rule.room", "content": {{"entity": "{r}", "reason": "grooming ring", "recommendation": "org.accord.quarantine"}}}},
  {{"type": "m.policy.rule.user", "content": {{"entity": "@*:evil.example", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.user", "content": {{"entity": "@spammer:example.org", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.server", "content": {{"entity": "evil.example", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.server", "content": {{"entity": "*.evil.example", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.room", "content": {{"entity": "!abc:example.org", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.room", "content": {{"entity": "#lobby:example.org", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.user", "content": {{"hashes": {{"sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}}, "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.user", "content": {{"entity": "{a}", "reason": "", "recommendation": "org.matrix.msc4204.takedown"}}}},
  {{"type": "m.policy.rule.user", "content": {{}}}},
  {{"type": "m.room.member", "content": {{"membership": "join"}}}},
  {{"type": "org.matrix.mjolnir.rule.server", "content": {{"entity": "{n}", "reason": "old", "recommendation": "org.matrix.mjolnir.ban", "org.accord.category": "nonsense"}}}},
  {{"type": "m.policy.rule.server", "content": {{"entity": "{a}", "reason": "", "recommendation": "m.ban"}}}},
  "a string",
  {{"content": {{}}}}
]"##
    );
    let got = import(Format::MatrixPolicy, &text, Category::Spam).unwrap();
    assert_eq!(
        got.entries,
        vec![
            Imported {
                target: Target::Account { id: a },
                category: Category::Spam,
                action: Action::Reject,
                reason: reason("spam bot")
            },
            Imported {
                target: Target::Node { id: n },
                category: Category::Drugs,
                action: Action::Reject,
                reason: None
            },
            Imported {
                target: Target::Room { id: r },
                category: Category::Spam,
                action: Action::Quarantine,
                reason: reason("grooming ring")
            },
            Imported { target: domain("evil.example"), category: Category::Spam, action: Action::Reject, reason: None },
            Imported {
                target: domain("*.evil.example"),
                category: Category::Spam,
                action: Action::Reject,
                reason: None
            },
            Imported {
                target: Target::Node { id: n },
                category: Category::Spam,
                action: Action::Reject,
                reason: reason("old")
            },
        ]
    );
    let w = whys(&got);
    let lines: Vec<usize> = w.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [13, 14].into_iter().chain(17..=22).chain([24, 25, 26]).collect::<Vec<_>>());
    assert!(w[0].1.starts_with("glob `@*:evil.example`"), "{w:?}");
    assert!(w[1].1.contains("is a Matrix user id"));
    assert!(w[2].1.contains("Matrix room id"));
    assert!(w[3].1.contains("Matrix room alias"));
    assert_eq!(w[4].1, MATRIX_HASHES_WHY);
    assert!(w[5].1.starts_with("recommendation `org.matrix.msc4204.takedown`"));
    assert!(w[6].1.contains("removed"));
    assert!(w[7].1.starts_with("not a policy rule (type `m.room.member`)"));
    assert!(w[8].1.starts_with("not an Accord node id or a DNS name"), "{w:?}");
    assert_eq!(w[9].1, "not a JSON object");
    assert_eq!(w[10].1, "no `type` string");
    assert_eq!(got.skipped[9].text, "\"a string\"");
    assert!(!got.skipped[0].text.contains('\n'));
}

#[test]
fn a_document_that_is_not_a_json_array_is_bad_json_naming_the_line() {
    for (text, needle) in [
        ("", "expected a JSON array"),
        ("{\"type\": \"m.policy.rule.user\"}", "expected a JSON array"),
        ("[{\"a\": 1}", "never closed"),
        ("[{\"a\": 1},]", "line 1"),
        ("[\n{\"a\": 1},\n{\"a\": tru}\n]", "line 3"),
        ("[{\"a\": 1}] x", "text after the array"),
        ("[1}", "expected `,` or `]`"),
        ("[\"\\\"]", "never closed"),
    ] {
        let err = import(Format::MatrixPolicy, text, Category::Spam).unwrap_err();
        assert_eq!(err.code(), "bad_json", "{text}");
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
    let empty = import(Format::MatrixPolicy, " [ ] \n", Category::Spam).unwrap();
    assert_eq!(empty, Import::default());
    // Deep nesting is refused by serde_json's depth limit, not a crash.
    let deep = format!("[{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(import(Format::MatrixPolicy, &deep, Category::Spam).unwrap_err().code(), "bad_json");
}

#[test]
fn export_then_import_gives_back_every_account_node_and_room_entry() {
    let entries = vec![
        (Target::Account { id: account(1) }, Category::Grooming, Action::Reject, reason("groomer \"quoted\"")),
        (Target::Node { id: node(2) }, Category::Spam, Action::Quarantine, None),
        (Target::Room { id: room(3) }, Category::Drugs, Action::Reject, reason("market\nroom")),
        (Target::Content { id: ContentHash::of(b"x") }, Category::Spam, Action::Reject, None),
        (Target::Account { id: account(4) }.to_hashed(), Category::Spam, Action::Reject, None),
    ];
    let text = export(Format::MatrixPolicy, &entries);
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 3);
    assert_eq!(parsed[0]["type"], "m.policy.rule.user");
    assert_eq!(parsed[0]["content"]["recommendation"], "m.ban");
    assert_eq!(parsed[1]["type"], "m.policy.rule.server");
    assert_eq!(parsed[1]["content"]["reason"], "");
    assert_eq!(parsed[1]["content"]["recommendation"], QUARANTINE_RECOMMENDATION);
    assert_eq!(parsed[2]["type"], "m.policy.rule.room");
    let got = import(Format::MatrixPolicy, &text, Category::Other).unwrap();
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    let back: Vec<_> = got.entries.into_iter().map(|e| (e.target, e.category, e.action, e.reason)).collect();
    assert_eq!(back, entries[..3].to_vec());
    assert_eq!(export(Format::MatrixPolicy, &[]), "[]\n");
}

fn domain(pattern: &str) -> Target {
    Target::Domain { name: pattern.parse().unwrap() }
}

#[test]
fn server_rules_with_names_and_leading_wildcards_import_as_domains_and_other_globs_are_skipped() {
    let rule = |entity: &str| {
        format!(
            r#"{{"type":"m.policy.rule.server","content":{{"entity":"{entity}","reason":"r","recommendation":"m.ban"}}}}"#
        )
    };
    let text = format!(
        "[{}]",
        ["Evil.Example", "*.evil.example", "evil*.example", "*", "?.example", "evil.example:8448", "*.*.example"]
            .map(rule)
            .join(",\n")
    );
    let got = import(Format::MatrixPolicy, &text, Category::Spam).unwrap();
    let targets: Vec<_> = got.entries.iter().map(|e| e.target.clone()).collect();
    assert_eq!(targets, vec![domain("evil.example"), domain("*.evil.example")]);
    let w = whys(&got);
    assert_eq!(w.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![3, 4, 5, 6, 7]);
    for (line, why) in [&w[0], &w[1], &w[2], &w[4]] {
        assert!(why.starts_with("glob"), "line {line}: {why}");
    }
    assert!(w[3].1.contains("port"), "{w:?}");
}

#[test]
fn domain_entries_export_as_server_rules_and_import_back_unchanged() {
    let entries = vec![
        (domain("*.badplace.example"), Category::Harassment, Action::Reject, reason("raids")),
        (domain("exact.example"), Category::Spam, Action::Quarantine, None),
    ];
    let text = export(Format::MatrixPolicy, &entries);
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed[0]["type"], "m.policy.rule.server");
    assert_eq!(parsed[0]["content"]["entity"], "*.badplace.example");
    let back = import(Format::MatrixPolicy, &text, Category::Other).unwrap();
    assert!(back.skipped.is_empty());
    let got: Vec<_> = back.entries.iter().map(|e| (e.target.clone(), e.category, e.action, e.reason.clone())).collect();
    assert_eq!(got, entries);
}

//! `plain`: one `TARGET [CATEGORY [ACTION]]` per line (spec/blocklists.md §9.1).

use crate::fixtures::{account, all_targets, node, reason, room};
use accord_formats::{Format, Imported, export, import};
use accord_proto::ContentHash;
use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::text::Reason;

#[test]
fn a_list_imports_every_target_kind_and_skips_each_bad_line_with_why() {
    let content = ContentHash::of(b"buy pills here");
    let hashed = Target::Account { id: account(5) }.to_hashed();
    let Target::Hashed { hash, .. } = &hashed else { unreachable!() };
    let text = format!(
        "\u{feff}# abuse list, exported 2025-11-24\r\n\
         \r\n\
         {acct}\r\n\
         {node}   spam\n\
         \t{room} grooming quarantine\n\
         {content_upper}\n\
         hashed:account:{hash}   child_sexual_abuse\n\
         \n\
         # a comment\n\
         {acct} bogus\n\
         example.org\n\
         12D3KooWtypo\n\
         acct1qqqq\n\
         {node} spam reject extra\n\
         {node} spam block\n\
         hashed:person:{hash}\n\
         hashed:account:abcd\n",
        acct = account(1),
        node = node(2),
        room = room(3),
        content_upper = content.to_string().to_uppercase(),
    );
    let got = import(Format::Plain, &text, Category::Other).unwrap();
    assert_eq!(
        got.entries,
        vec![
            Imported {
                target: Target::Account { id: account(1) },
                category: Category::Other,
                action: Action::Reject,
                reason: None
            },
            Imported {
                target: Target::Node { id: node(2) },
                category: Category::Spam,
                action: Action::Reject,
                reason: None
            },
            Imported {
                target: Target::Room { id: room(3) },
                category: Category::Grooming,
                action: Action::Quarantine,
                reason: None
            },
            Imported {
                target: Target::Content { id: content },
                category: Category::Other,
                action: Action::Reject,
                reason: None
            },
            Imported { target: hashed, category: Category::ChildSexualAbuse, action: Action::Reject, reason: None },
        ]
    );
    let skipped: Vec<usize> = got.skipped.iter().map(|s| s.line).collect();
    assert_eq!(skipped, vec![10, 11, 12, 13, 14, 15, 16, 17]);
    assert!(got.skipped[0].why.starts_with("unknown category `bogus`"), "{:?}", got.skipped[0]);
    assert!(got.skipped[0].why.contains("child_sexual_abuse"));
    assert_eq!(got.skipped[0].text, format!("{} bogus", account(1)));
    assert!(got.skipped[1].why.contains("is not a target"), "{:?}", got.skipped[1]);
    assert!(got.skipped[2].why.contains("node"), "{:?}", got.skipped[2]);
    assert!(got.skipped[3].why.contains("account"), "{:?}", got.skipped[3]);
    assert!(got.skipped[4].why.starts_with("unexpected field `extra`"), "{:?}", got.skipped[4]);
    assert!(got.skipped[5].why.starts_with("unknown action `block`"), "{:?}", got.skipped[5]);
    assert!(got.skipped[6].why.starts_with("unknown target kind `person`"), "{:?}", got.skipped[6]);
    assert!(got.skipped[7].why.contains("64 hex digits"), "{:?}", got.skipped[7]);
}

#[test]
fn export_then_import_gives_back_every_entry_except_its_reason() {
    let entries: Vec<(Target, Category, Action, Option<Reason>)> = all_targets()
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let action = if i % 3 == 0 { Action::Quarantine } else { Action::Reject };
            (t, Category::ALL[i % Category::ALL.len()], action, None)
        })
        .collect();
    let text = export(Format::Plain, &entries);
    assert_eq!(text.lines().count(), entries.len());
    assert!(text.lines().next().unwrap().ends_with(" child_sexual_abuse quarantine"));
    let got = import(Format::Plain, &text, Category::Other).unwrap();
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    let back: Vec<_> = got.entries.into_iter().map(|e| (e.target, e.category, e.action, e.reason)).collect();
    assert_eq!(back, entries);
    // Reasons are not carried by plain lists.
    let with_reason = vec![(Target::Node { id: node(2) }, Category::Spam, Action::Reject, reason("flood"))];
    let got = import(Format::Plain, &export(Format::Plain, &with_reason), Category::Other).unwrap();
    assert_eq!(got.entries[0].reason, None);
}

//! `mastodon-csv`: Mastodon's domain-block export (spec/blocklists.md §9.2).

use crate::fixtures::{account, node, reason, room, whys};
use accord_formats::{DNS_DOMAIN_WHY, Format, Imported, MASTODON_HEADER, export, import};
use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::limits::MAX_REASON;

#[test]
fn an_export_with_header_imports_node_ids_and_skips_what_accord_cannot_name() {
    let (n1, n2, n3, n4) = (node(1), node(2), node(3), node(4));
    let lowered = n4.to_string().to_lowercase();
    let text = format!(
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
         spam.example,suspend,true,true,Spam,false\n\
         {n1},suspend,false,false,\"Harassment, doxxing and \"\"raids\"\"\",false\n\
         {n2},silence,false,false,,false\n\
         mastodon.example,silence,false,false,,true\n\
         {n3},noop,true,false,media only,false\n\
         bad*.example,suspend,false,false,,true\n\
         {lowered},suspend,false,false,,false\n\
         \n\
         {n4},SUSPEND,false,false,\"multi\n\
         line, comment\",false\n\
         {n4},nuke,false,false,,false\n\
         ,suspend,false,false,,false\n"
    );
    let got = import(Format::MastodonCsv, &text, Category::Harassment).unwrap();
    assert_eq!(
        got.entries,
        vec![
            Imported {
                target: Target::Node { id: n1 },
                category: Category::Harassment,
                action: Action::Reject,
                reason: reason("Harassment, doxxing and \"raids\"")
            },
            Imported {
                target: Target::Node { id: n2 },
                category: Category::Harassment,
                action: Action::Quarantine,
                reason: None
            },
            Imported {
                target: Target::Node { id: n4 },
                category: Category::Harassment,
                action: Action::Reject,
                reason: reason("multi\nline, comment")
            },
        ]
    );
    let w = whys(&got);
    assert_eq!(w.len(), 7, "{w:?}");
    assert_eq!(w[0], (2, DNS_DOMAIN_WHY));
    assert_eq!(got.skipped[0].text, "spam.example,suspend,true,true,Spam,false");
    assert_eq!(w[1], (5, DNS_DOMAIN_WHY));
    assert_eq!(w[2].0, 6);
    assert!(w[2].1.starts_with("severity noop"));
    assert_eq!(w[3].0, 7);
    assert!(w[3].1.starts_with("obfuscated domain"));
    assert_eq!(w[4].0, 8);
    assert!(w[4].1.contains("lowercased"));
    // The multi-line record starts at line 10 and ends at 11.
    assert_eq!(w[5].0, 12);
    assert!(w[5].1.starts_with("unknown severity `nuke`"));
    assert_eq!(w[6], (13, "empty domain"));
}

#[test]
fn files_without_a_header_with_the_old_header_or_of_bare_domains_import() {
    let (n1, n2) = (node(1), node(2));
    // Positional, Mastodon's column order, CRLF line endings.
    let positional = format!(
        "{n1},suspend,false,false,\"spam, lots\",false\r\n\
         evil.example,suspend,false,false,,false\r\n\
         {n2},silence\r\n"
    );
    let got = import(Format::MastodonCsv, &positional, Category::Spam).unwrap();
    assert_eq!(got.entries.len(), 2);
    assert_eq!(got.entries[0].reason, reason("spam, lots"));
    assert_eq!(got.entries[1].action, Action::Quarantine);
    assert_eq!(whys(&got), vec![(2, DNS_DOMAIN_WHY)]);

    // The header without `#`, columns in another order, an unknown one.
    let old = format!(
        "domain,severity,reject_media,reject_reports,public_comment,obfuscate\n\
         {n1},silence,false,false,public,false\n\
         domain,severity,public_comment\n"
    );
    let got = import(Format::MastodonCsv, &old, Category::Spam).unwrap();
    assert_eq!(got.entries.len(), 1);
    assert_eq!(got.entries[0].target, Target::Node { id: n1 });
    assert_eq!(got.entries[0].action, Action::Quarantine);
    assert_eq!(got.entries[0].reason, reason("public"));
    assert_eq!(whys(&got), vec![(3, "repeated header row")]);
    let reordered = format!(
        "#severity,#domain,#public_comment,#private_comment\n\
         silence,{n2},public,private\n"
    );
    let got = import(Format::MastodonCsv, &reordered, Category::Spam).unwrap();
    let entry = (&got.entries[0].target, got.entries[0].action, got.entries[0].reason.clone());
    assert_eq!(entry, (&Target::Node { id: n2 }, Action::Quarantine, reason("public")));
    // A comment that happens to read "domain" does not make a header.
    let data = format!("{n1},suspend,false,false,Domain,false\n");
    let got = import(Format::MastodonCsv, &data, Category::Spam).unwrap();
    assert_eq!(got.entries[0].reason, reason("Domain"));

    // A bare list of domains (Mastodon's per-user export): suspend.
    let bare = format!("{n1}\nblocked.example\n \"{n2}\" \n");
    let got = import(Format::MastodonCsv, &bare, Category::Spam).unwrap();
    let targets: Vec<_> = got.entries.iter().map(|e| (&e.target, e.action)).collect();
    assert_eq!(targets, vec![(&Target::Node { id: n1 }, Action::Reject), (&Target::Node { id: n2 }, Action::Reject)]);
    assert_eq!(whys(&got), vec![(2, DNS_DOMAIN_WHY)]);
}

#[test]
fn a_quoted_field_never_closed_is_bad_csv_naming_its_line() {
    let text = format!("{MASTODON_HEADER}\n{},suspend,false,false,\"never closed,false\n", node(1));
    let err = import(Format::MastodonCsv, &text, Category::Spam).unwrap_err();
    assert_eq!(err.code(), "bad_csv");
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn export_then_import_gives_back_the_node_entries() {
    let entries = vec![
        (Target::Node { id: node(1) }, Category::Spam, Action::Reject, reason("spam, \"lots\"\nof it")),
        (Target::Account { id: account(2) }, Category::Spam, Action::Reject, None),
        (Target::Node { id: node(3) }, Category::Spam, Action::Quarantine, None),
        (Target::Node { id: node(4) }.to_hashed(), Category::Spam, Action::Reject, None),
        (Target::Node { id: node(5) }, Category::Spam, Action::Reject, reason(" padded ")),
        (Target::Room { id: room(6) }, Category::Spam, Action::Reject, None),
    ];
    let text = export(Format::MastodonCsv, &entries);
    assert!(text.starts_with(&format!("{MASTODON_HEADER}\n{},suspend,false,false,\"spam, ", node(1))));
    let got = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    let back: Vec<_> = got.entries.into_iter().map(|e| (e.target, e.category, e.action, e.reason)).collect();
    let nodes: Vec<_> = entries.into_iter().filter(|(t, ..)| matches!(t, Target::Node { .. })).collect();
    assert_eq!(back, nodes);
}

#[test]
fn reasons_are_cut_to_the_limit_cleaned_of_control_characters_and_blank_is_absent() {
    let comment = "é".repeat(2000);
    let text = format!("{},suspend,false,false,{comment},false\n", node(1));
    let got = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
    let r = got.entries[0].reason.as_ref().unwrap().as_str();
    assert!(r.len() <= MAX_REASON && r.len() > MAX_REASON - 8, "{}", r.len());
    assert!(r.ends_with('…'));
    // Control characters become spaces; blank comments are absent.
    let text = format!("{n},suspend,,,\"a\u{7}b\r\nc\",\n{n},suspend,,,\"  \",\n", n = node(1));
    let got = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
    assert_eq!(got.entries[0].reason, reason("a b\nc"));
    assert_eq!(got.entries[1].reason, None);
}

#[test]
fn the_reader_is_lenient_where_that_is_harmless() {
    let n = node(1);
    // A quote inside an unquoted field is kept; text after a closing quote
    // is appended; a lone CR is text; CR LF ends a record, also after a
    // quoted last field.
    let text = format!(
        "{n},suspend,,,say \"hi\" now,false\r\n\
         {n},suspend,,,\"quoted\" then more,false\n\
         {n},suspend,,,a\rb,false\n\
         {n},suspend,,,\"last, quoted\"\r\n\
         {n},suspend,,,last unquoted\r\n"
    );
    let got = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    let reasons: Vec<_> = got.entries.iter().map(|e| e.reason.as_ref().map(|r| r.as_str())).collect();
    assert_eq!(
        reasons,
        vec![
            Some("say \"hi\" now"),
            Some("quoted then more"),
            Some("a b"),
            Some("last, quoted"),
            Some("last unquoted")
        ]
    );
}

#[test]
fn an_unclosed_quote_anywhere_but_the_last_record_swallows_the_rest_and_is_bad_csv() {
    let n = node(1);
    for text in [
        format!("{n},suspend,,,\"open\n{n},suspend\n{n},silence\n"),
        format!("{n},suspend\n\"{n}"),
        format!("{n},suspend,,,\"escaped \"\" quote\r\n"),
        "\"".to_owned(),
    ] {
        let err = import(Format::MastodonCsv, &text, Category::Spam).unwrap_err();
        assert_eq!(err.code(), "bad_csv", "{text:?}");
    }
    // Closed at the very end, with or without a line ending: read.
    for text in
        [format!("{n},suspend,,,\"closed\""), format!("{n},suspend,,,\"closed\"\n"), String::new(), "\n\r\n".into()]
    {
        assert!(import(Format::MastodonCsv, &text, Category::Spam).is_ok(), "{text:?}");
    }
}

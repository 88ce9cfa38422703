//! `mastodon-csv`: Mastodon's domain-block export (spec/blocklists.md §9.2).

use crate::fixtures::{account, node, reason, room, whys};
use accord_formats::{Format, Imported, MASTODON_HEADER, export, import};
use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::limits::MAX_REASON;

#[test]
fn an_export_with_header_imports_node_ids_and_domains_and_skips_what_accord_cannot_name() {
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
                target: domain("*.spam.example"),
                category: Category::Harassment,
                action: Action::Reject,
                reason: reason("Spam")
            },
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
                target: domain("*.mastodon.example"),
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
    assert_eq!(w.len(), 5, "{w:?}");
    assert_eq!(w[0].0, 6);
    assert!(w[0].1.starts_with("severity noop"));
    assert_eq!(got.skipped[0].text, format!("{n3},noop,true,false,media only,false"));
    assert_eq!(w[1].0, 7);
    assert!(w[1].1.starts_with("obfuscated domain"));
    assert_eq!(w[2].0, 8);
    assert!(w[2].1.contains("lowercased"));
    // The multi-line record starts at line 10 and ends at 11.
    assert_eq!(w[3].0, 12);
    assert!(w[3].1.starts_with("unknown severity `nuke`"));
    assert_eq!(w[4], (13, "empty domain"));
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
    assert_eq!(got.entries.len(), 3);
    assert_eq!(got.entries[0].reason, reason("spam, lots"));
    assert_eq!(got.entries[1].target, domain("*.evil.example"));
    assert_eq!(got.entries[2].action, Action::Quarantine);
    assert!(got.skipped.is_empty());

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
    let targets: Vec<_> = got.entries.iter().map(|e| (e.target.clone(), e.action)).collect();
    assert_eq!(
        targets,
        vec![
            (Target::Node { id: n1 }, Action::Reject),
            (domain("*.blocked.example"), Action::Reject),
            (Target::Node { id: n2 }, Action::Reject)
        ]
    );
    assert!(got.skipped.is_empty());
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

fn domain(pattern: &str) -> Target {
    Target::Domain { name: pattern.parse().unwrap() }
}

#[test]
fn domains_import_as_wildcards_in_any_case_and_names_that_are_not_dns_are_skipped_with_why() {
    let text = format!(
        "{MASTODON_HEADER}\n\
         BadPlace.Example.,suspend,false,false,raids,false\n\
         quiet.example,silence,false,false,,false\n\
         noise.example,noop,true,false,,false\n\
         host.example:8080,suspend,false,false,,false\n\
         localhost,suspend,false,false,,false\n\
         10.0.0.1,suspend,false,false,,false\n"
    );
    let got = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
    let targets: Vec<_> = got.entries.iter().map(|e| (e.target.clone(), e.action)).collect();
    assert_eq!(
        targets,
        vec![(domain("*.badplace.example"), Action::Reject), (domain("*.quiet.example"), Action::Quarantine)]
    );
    assert_eq!(got.entries[0].reason, reason("raids"));
    let w = whys(&got);
    assert_eq!(w.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![4, 5, 6, 7]);
    assert!(w[0].1.starts_with("severity noop"), "{w:?}");
    assert!(w[1].1.contains("port"), "{w:?}");
    assert!(w[2].1.starts_with("not an Accord node id or a DNS name"), "{w:?}");
    assert!(w[3].1.starts_with("not an Accord node id or a DNS name"), "{w:?}");
}

#[test]
fn domain_entries_export_as_their_base_name_and_import_back_as_wildcards() {
    let entries = vec![
        (domain("*.badplace.example"), Category::Spam, Action::Reject, reason("raids, \"organised\"")),
        (domain("exact.example"), Category::Spam, Action::Quarantine, None),
    ];
    let text = export(Format::MastodonCsv, &entries);
    assert!(text.contains("\nbadplace.example,suspend,false,false,"), "{text}");
    assert!(text.contains("\nexact.example,silence,false,false,,false\n"), "{text}");
    let back = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
    assert!(back.skipped.is_empty());
    let got: Vec<_> = back.entries.iter().map(|e| (e.target.clone(), e.action, e.reason.clone())).collect();
    assert_eq!(
        got,
        vec![
            (domain("*.badplace.example"), Action::Reject, reason("raids, \"organised\"")),
            // Mastodon's block covers subdomains: an exact entry widens.
            (domain("*.exact.example"), Action::Quarantine, None),
        ]
    );
}

#[test]
fn the_summary_counts_entries_by_kind_and_skipped_rows_by_reason() {
    let text = format!(
        "{MASTODON_HEADER}\n\
         bad.example,suspend,false,false,,false\n\
         {},silence,false,false,,false\n\
         a.example,noop,false,false,,false\n\
         b.example,noop,false,false,,false\n\
         c*.example,suspend,false,false,,false\n",
        node(1)
    );
    let got = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
    let summary = got.summary();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines[0], "5 rows: 2 became entries (1 domain, 1 node), 3 skipped");
    assert!(lines[1].starts_with("  2 × severity noop"), "{summary}");
    assert!(lines[2].starts_with("  1 × obfuscated domain"), "{summary}");
    assert_eq!(lines.len(), 3);
}

//! Export then import gives back what the format carries, for any entries:
//! `plain` every entry but its reason, `mastodon-csv` the plain node entries
//! with the default category, `matrix-policy` every account, node and room
//! entry, `pdq-hex` the PDQ entries with the default category,
//! `threatexchange-csv` the PDQ entries with their category and reason
//! (spec/blocklists.md §9).

use accord_formats::{Format, Imported, export, import};
use accord_proto::blocklist::{Action, Category, Target, TargetKind};
use accord_proto::text::Reason;
use accord_proto::{ContentHash, NodeId, PdqHash, RoomId, SecretKey, Sha256Hash};
use proptest::prelude::*;

/// What an import fills in when the format names no category.
const DEFAULT: Category = Category::Other;

type Entry = (Target, Category, Action, Option<Reason>);

fn target() -> impl Strategy<Value = Target> {
    let kind = prop::sample::select(vec![TargetKind::Account, TargetKind::Node, TargetKind::Room, TargetKind::Content]);
    prop_oneof![
        any::<[u8; 32]>().prop_map(|seed| Target::Account { id: SecretKey::from_seed(seed).account_id() }),
        any::<[u8; 32]>().prop_map(|seed| Target::Node { id: NodeId::from(SecretKey::from_seed(seed).public()) }),
        any::<[u8; 32]>().prop_map(|bytes| Target::Room { id: RoomId::from_bytes(bytes) }),
        any::<[u8; 32]>().prop_map(|bytes| Target::Content { id: ContentHash(Sha256Hash(bytes)) }),
        (kind, any::<[u8; 32]>()).prop_map(|(kind, hash)| Target::Hashed { kind, hash: Sha256Hash(hash) }),
        any::<[u8; 32]>().prop_map(|bytes| Target::Pdq { hash: PdqHash(bytes) }),
    ]
}

/// Reasons as an import gives them: not blank, no control characters but
/// line feed and tab, within the limit; with the characters that need
/// quoting or escaping in CSV and JSON.
fn reason() -> impl Strategy<Value = Option<Reason>> {
    let text = "([,\"\\\\\n\t #]|\\PC){1,300}";
    proptest::option::of(text.prop_filter_map("a reason as imports give them", |s: String| {
        if s.trim().is_empty() { None } else { Reason::new(s).ok() }
    }))
}

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    let category = prop::sample::select(Category::ALL.to_vec());
    let action = prop::sample::select(vec![Action::Reject, Action::Quarantine]);
    proptest::collection::vec((target(), category, action, reason()), 0..24)
}

/// What `format` carries of `entries`, as an import gives it back.
fn carried(format: Format, entries: &[Entry]) -> Vec<Imported> {
    let imported = |(target, category, action, reason): &Entry| Imported {
        target: target.clone(),
        category: *category,
        action: *action,
        reason: reason.clone(),
    };
    match format {
        Format::Plain => entries.iter().map(|e| Imported { reason: None, ..imported(e) }).collect(),
        Format::MastodonCsv => entries
            .iter()
            .filter(|(t, ..)| matches!(t, Target::Node { .. }))
            .map(|e| Imported { category: DEFAULT, ..imported(e) })
            .collect(),
        Format::MatrixPolicy => entries
            .iter()
            .filter(|(t, ..)| matches!(t, Target::Account { .. } | Target::Node { .. } | Target::Room { .. }))
            .map(imported)
            .collect(),
        Format::PdqHex => pdq(entries)
            .map(|e| Imported {
                category: DEFAULT,
                action: Action::Reject,
                reason: e.3.as_ref().and_then(|r| Reason::new(r.as_str().replace('\n', " ").trim().to_owned()).ok()),
                ..imported(e)
            })
            .collect(),
        // A CSV field is read without its surrounding whitespace.
        Format::ThreatExchangeCsv => pdq(entries)
            .map(|e| Imported {
                action: Action::Reject,
                reason: e.3.as_ref().and_then(|r| Reason::new(r.as_str().trim().to_owned()).ok()),
                ..imported(e)
            })
            .collect(),
    }
}

fn pdq(entries: &[Entry]) -> impl Iterator<Item = &Entry> {
    entries.iter().filter(|(t, ..)| matches!(t, Target::Pdq { .. }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn import_of_an_export_gives_back_what_the_format_carries(entries in entries()) {
        for format in Format::ALL {
            let text = export(format, &entries);
            let got = import(format, &text, DEFAULT).unwrap();
            prop_assert!(got.skipped.is_empty(), "{format}: {:?}\n{text}", got.skipped);
            prop_assert_eq!(got.entries, carried(format, &entries), "{}:\n{}", format, text);
        }
    }

}

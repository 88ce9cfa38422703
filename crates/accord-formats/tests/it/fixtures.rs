//! Ids, reasons and documents the tests share.

use accord_formats::{Format, Import, export};
use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::text::Reason;
use accord_proto::{AccountId, ContentHash, NodeId, RoomId, SecretKey};

/// The node id of seed `n`.
pub(crate) fn node(n: u8) -> NodeId {
    NodeId::from(SecretKey::from_seed([n; 32]).public())
}

/// The account id of seed `n`.
pub(crate) fn account(n: u8) -> AccountId {
    SecretKey::from_seed([n; 32]).account_id()
}

/// A room id made of `n`.
pub(crate) fn room(n: u8) -> RoomId {
    RoomId::from_bytes([n; 32])
}

/// `s` as a reason.
pub(crate) fn reason(s: &str) -> Option<Reason> {
    Some(Reason::new(s).unwrap())
}

/// The line and why of every skipped row.
pub(crate) fn whys(import: &Import) -> Vec<(usize, &str)> {
    import.skipped.iter().map(|s| (s.line, s.why.as_str())).collect()
}

/// One target of every kind, plain then hashed.
pub(crate) fn all_targets() -> Vec<Target> {
    let plain = vec![
        Target::Account { id: account(1) },
        Target::Node { id: node(2) },
        Target::Room { id: room(3) },
        Target::Content { id: ContentHash::of(b"spam spam spam") },
    ];
    let hashed: Vec<Target> = plain.iter().map(Target::to_hashed).collect();
    plain.into_iter().chain(hashed).collect()
}

/// A valid document of each format, each with a reason that needs quoting
/// or escaping.
pub(crate) fn sample_documents() -> Vec<(Format, String)> {
    vec![
        (
            Format::Plain,
            export(
                Format::Plain,
                &all_targets().into_iter().map(|t| (t, Category::Spam, Action::Quarantine, None)).collect::<Vec<_>>(),
            ),
        ),
        (
            Format::MastodonCsv,
            export(
                Format::MastodonCsv,
                &[(Target::Node { id: node(1) }, Category::Spam, Action::Reject, reason("a, \"b\"\nc"))],
            ),
        ),
        (
            Format::MatrixPolicy,
            export(
                Format::MatrixPolicy,
                &all_targets()
                    .into_iter()
                    .map(|t| (t, Category::Spam, Action::Reject, reason("r\"é")))
                    .collect::<Vec<_>>(),
            ),
        ),
    ]
}

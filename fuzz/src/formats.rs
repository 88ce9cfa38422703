//! One function per blocklist format of `accord-formats`, fed arbitrary
//! bytes as the document an operator imports. The `cargo fuzz` targets of
//! the same names call them (through `lib.rs`), and
//! `crates/accord-formats/tests/it/robustness.rs` includes this file so that
//! proptest feeds them the same kinds of input in CI.
//!
//! Each function must not panic, whatever the bytes; a refusal must carry a
//! non-empty stable `code()`; every skipped row must name a line and keep
//! its text short; and what an import gives, exported in the same format and
//! imported again, must come back unchanged.

use accord_formats::{Format, MAX_SKIPPED_TEXT, export, import};
use accord_proto::blocklist::Category;

/// `plain`: one target per line.
pub fn plain(data: &[u8]) {
    import_and_round_trip(Format::Plain, data);
}

/// `mastodon-csv`: Mastodon's domain-block CSV.
pub fn mastodon_csv(data: &[u8]) {
    import_and_round_trip(Format::MastodonCsv, data);
}

/// `matrix-policy`: a JSON array of Matrix policy rules.
pub fn matrix_policy(data: &[u8]) {
    import_and_round_trip(Format::MatrixPolicy, data);
}

/// `pdq-hex`: PDQ hashes, one per line.
pub fn pdq_hex(data: &[u8]) {
    import_and_round_trip(Format::PdqHex, data);
}

/// `threatexchange-csv`: PDQ hashes as ThreatExchange and HMA export them.
pub fn threatexchange_csv(data: &[u8]) {
    import_and_round_trip(Format::ThreatExchangeCsv, data);
}

/// Every format at once (the proptests' entry point).
pub fn all_formats(data: &[u8]) {
    plain(data);
    mastodon_csv(data);
    matrix_policy(data);
    pdq_hex(data);
    threatexchange_csv(data);
}

/// Imports `data` as a document in `format`, checks what the import says,
/// and that exporting what it gave and importing that gives it back.
fn import_and_round_trip(format: Format, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let got = match import(format, &text, Category::Spam) {
        Ok(got) => got,
        Err(e) => {
            assert!(!e.code().is_empty(), "a refusal without a code");
            return;
        }
    };
    for skipped in &got.skipped {
        assert!(skipped.line >= 1, "a skipped row without a line: {skipped:?}");
        assert!(skipped.text.len() <= MAX_SKIPPED_TEXT + '…'.len_utf8(), "a skipped row's text is not cut");
    }
    let entries: Vec<_> =
        got.entries.iter().map(|e| (e.target.clone(), e.category, e.action, e.reason.clone())).collect();
    let again = import(format, &export(format, &entries), Category::Spam).map(|i| i.entries);
    assert_eq!(again.as_ref(), Ok(&got.entries), "{format}: export then import changed what was imported");
}

//! Format names, and the limits every format shares (spec/blocklists.md §9.4).

use crate::fixtures::node;
use accord_formats::{Format, FormatError, Limits, MASTODON_HEADER, MAX_IMPORT_BYTES, import, import_with_limits};
use accord_proto::blocklist::Category;

fn within(max_bytes: usize, max_rows: usize) -> Limits {
    Limits { max_bytes, max_rows }
}

#[test]
fn format_names_parse_back_and_an_unknown_name_is_unknown_format() {
    for f in Format::ALL {
        assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
    }
    assert_eq!("csv".parse::<Format>().unwrap_err().code(), "unknown_format");
}

#[test]
fn a_document_over_the_size_limit_is_too_large_in_every_format() {
    let err = import_with_limits(Format::Plain, "0123456789", Category::Spam, within(9, 10)).unwrap_err();
    assert_eq!(err, FormatError::TooLarge { len: 10, max: 9 });
    assert_eq!(err.code(), "too_large");
    let big = " ".repeat(MAX_IMPORT_BYTES + 1);
    for f in Format::ALL {
        assert_eq!(import(f, &big, Category::Spam).unwrap_err().code(), "too_large");
    }
}

#[test]
fn a_document_over_the_row_limit_is_too_many_rows_in_every_format() {
    let lines = format!("{}\n", node(1)).repeat(4);
    // Comments and blank lines are not rows.
    let padded = format!("# c\n\n{lines}");
    assert_eq!(import_with_limits(Format::Plain, &padded, Category::Spam, within(1000, 4)).unwrap().entries.len(), 4);
    let err = import_with_limits(Format::Plain, &lines, Category::Spam, within(1000, 3)).unwrap_err();
    assert_eq!(err, FormatError::TooManyRows { max: 3 });
    assert_eq!(err.code(), "too_many_rows");

    let rows = format!("{},suspend\n", node(1)).repeat(4);
    let csv = format!("{MASTODON_HEADER}\n{rows}");
    let err = import_with_limits(Format::MastodonCsv, &csv, Category::Spam, within(1000, 3)).unwrap_err();
    assert_eq!(err.code(), "too_many_rows");

    let err = import_with_limits(Format::MatrixPolicy, "[1,2,3,4]", Category::Spam, within(1000, 3)).unwrap_err();
    assert_eq!(err.code(), "too_many_rows");
    // Skipped rows count: the same four elements fit a limit of four.
    let got = import_with_limits(Format::MatrixPolicy, "[1,2,3,4]", Category::Spam, within(1000, 4)).unwrap();
    assert_eq!(got.skipped.len(), 4);
}

#[test]
fn the_default_limits_are_64_mib_and_two_million_rows() {
    assert_eq!(Limits::default(), within(64 * 1024 * 1024, 2_000_000));
}

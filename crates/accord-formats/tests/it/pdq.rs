//! `pdq-hex` and `threatexchange-csv`: PDQ hashes as hash-sharing
//! programmes exchange them (spec/blocklists.md §9.4a).

use accord_formats::{Format, THREATEXCHANGE_HEADER, export, import};
use accord_proto::PdqHash;
use accord_proto::blocklist::{Action, Category, Target};

const BRIDGE: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const OTHER: &str = "30a10efd71cc3d429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af";

fn pdq(hex: &str) -> Target {
    Target::Pdq { hash: hex.parse::<PdqHash>().unwrap() }
}

#[test]
fn pdq_hex_reads_the_hasher_output_of_hash_quality_and_file_and_skips_weak_hashes() {
    let text = format!(
        "# hash,quality,file\n{},100,bridge-1-original.jpg\r\n\n{OTHER}\n{BRIDGE}\t30\tflat.png\nnot-a-hash,100,x\n{BRIDGE},200\n",
        BRIDGE.to_uppercase()
    );
    let got = import(Format::PdqHex, &text, Category::ChildSexualAbuse).unwrap();
    let targets: Vec<_> = got.entries.iter().map(|e| (&e.target, e.category, e.action)).collect();
    assert_eq!(
        targets,
        vec![
            (&pdq(BRIDGE), Category::ChildSexualAbuse, Action::Reject),
            (&pdq(OTHER), Category::ChildSexualAbuse, Action::Reject)
        ]
    );
    assert_eq!(got.entries[0].reason.as_ref().map(|r| r.as_str()), Some("bridge-1-original.jpg"));
    assert_eq!(got.entries[1].reason, None);
    let skipped: Vec<_> = got.skipped.iter().map(|s| (s.line, s.why.as_str())).collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert_eq!(skipped[0].0, 5);
    assert!(skipped[0].1.contains("too weak"), "{}", skipped[0].1);
    assert_eq!(skipped[1].0, 6);
    assert!(skipped[1].1.contains("not a PDQ hash"));
    assert_eq!(skipped[2].0, 7);
    assert!(skipped[2].1.contains("not 0 to 100"));
}

#[test]
fn threatexchange_csv_reads_hma_signal_files_without_a_header() {
    let text = format!("{BRIDGE},1234567890,1650000000,grooming media_type_photo\n{OTHER},42,1650000001,\n");
    let got = import(Format::ThreatExchangeCsv, &text, Category::Other).unwrap();
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    assert_eq!(got.entries.len(), 2);
    assert_eq!((&got.entries[0].target, got.entries[0].category), (&pdq(BRIDGE), Category::Grooming));
    assert_eq!(got.entries[0].reason.as_ref().map(|r| r.as_str()), Some("media_type_photo"));
    assert_eq!((&got.entries[1].target, got.entries[1].category), (&pdq(OTHER), Category::Other));
}

#[test]
fn threatexchange_csv_with_a_header_finds_columns_by_name_and_skips_other_signal_types() {
    let text = format!(
        "id,indicator_type,indicator,tags,description\n\
         1,HASH_PDQ,{BRIDGE},sex_trafficking,\"advert, shared by a partner\"\n\
         2,HASH_MD5,d41d8cd98f00b204e9800998ecf8427e,spam,\n\
         3,pdq,{OTHER},,\n"
    );
    let got = import(Format::ThreatExchangeCsv, &text, Category::Other).unwrap();
    assert_eq!(got.entries.len(), 2);
    assert_eq!(got.entries[0].category, Category::SexTrafficking);
    assert_eq!(got.entries[0].reason.as_ref().map(|r| r.as_str()), Some("advert, shared by a partner"));
    assert_eq!(got.entries[1].target, pdq(OTHER));
    assert_eq!(got.skipped.len(), 1);
    assert_eq!(got.skipped[0].line, 3);
    assert!(got.skipped[0].why.contains("HASH_MD5"));
}

#[test]
fn exports_write_only_pdq_entries() {
    let entries = vec![
        (
            pdq(BRIDGE),
            Category::Violence,
            Action::Quarantine,
            Some(accord_proto::text::Reason::new("a reason").unwrap()),
        ),
        (Target::Content { id: accord_proto::ContentHash::of(b"text") }, Category::Spam, Action::Reject, None),
    ];
    assert_eq!(export(Format::PdqHex, &entries), format!("{BRIDGE},,a reason\n"));
    assert_eq!(
        export(Format::ThreatExchangeCsv, &entries),
        format!("{THREATEXCHANGE_HEADER}\n{BRIDGE},HASH_PDQ,violence,a reason\n")
    );
}

/// Found by the `pdq_hex` fuzz target: a control character at the end of a
/// reason became a trailing space, which export wrote and import (which
/// reads a line without its surrounding blanks) then dropped.
#[test]
fn a_reason_ending_in_a_control_character_comes_back_unchanged_through_export() {
    for (format, text) in [
        (Format::PdqHex, format!("{BRIDGE},,r, \"é\"x \u{4}\n{OTHER},, \u{1}lead\n")),
        (Format::ThreatExchangeCsv, format!("{BRIDGE},1,2,spam\u{4}\n{OTHER},1,2,tag \u{7}\n")),
    ] {
        let got = import(format, &text, Category::Spam).unwrap();
        let reasons: Vec<_> = got.entries.iter().map(|e| e.reason.as_ref().map(|r| r.as_str().to_owned())).collect();
        let again = import(
            format,
            &export(
                format,
                &got.entries
                    .iter()
                    .map(|e| (e.target.clone(), e.category, e.action, e.reason.clone()))
                    .collect::<Vec<_>>(),
            ),
            Category::Spam,
        )
        .unwrap();
        assert_eq!(again.entries, got.entries, "{format}");
        assert!(reasons.iter().flatten().all(|r| r.trim() == r), "{format}: {reasons:?}");
    }
}

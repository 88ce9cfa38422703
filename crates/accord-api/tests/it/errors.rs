//! Error codes: the spec's tables, the node's statuses, unknown codes.

use crate::fixtures::spec;
use accord_api::{ErrorBody, ErrorCode, ErrorDetail};

/// `(status, code)` of every row of the Markdown tables in `text` whose
/// first cell is an HTTP status and whose second holds codes in backticks.
fn table_codes(text: &str) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(status), Some(codes)) = (cells.get(1), cells.get(2)) else { continue };
        let Ok(status) = status.parse::<u16>() else { continue };
        for code in codes.split(',') {
            if let Some(code) = code.trim().strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
                out.push((status, code.to_owned()));
            }
        }
    }
    out
}

#[test]
fn every_code_of_the_client_api_table_has_its_status() {
    let rows = table_codes(&spec("client-api.md"));
    assert!(rows.len() >= 30, "the table of client-api.md §1.1 was not found: {rows:?}");
    for (status, code) in rows {
        let typed = ErrorCode::from_code(&code);
        assert!(!matches!(typed, ErrorCode::Unknown(_)), "{code} is not an ErrorCode");
        assert_eq!(typed.status(), status, "{code}");
    }
}

#[test]
fn every_code_of_the_admin_table_has_its_status() {
    let rows = table_codes(&spec("blocklists.md"));
    assert!(rows.len() >= 12, "the table of blocklists.md §12.1 was not found: {rows:?}");
    for (status, code) in rows {
        let typed = ErrorCode::from_code(&code);
        assert!(!matches!(typed, ErrorCode::Unknown(_)), "{code} is not an ErrorCode");
        // An import over its limit is `400 too_large` (§12.1); everywhere
        // else the node answers `too_large` with 413.
        if typed == ErrorCode::TooLarge {
            assert_eq!((status, typed.status()), (400, 413));
            continue;
        }
        assert_eq!(typed.status(), status, "{code}");
    }
}

#[test]
fn every_code_is_documented_in_the_spec() {
    let text = ["client-api.md", "blocklists.md", "reports.md"].map(spec).join("\n");
    for code in ErrorCode::ALL {
        let word = code.as_str();
        let found = text.match_indices(word).any(|(at, _)| {
            let before = text[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            let after = text[at + word.len()..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            before && after
        });
        assert!(found, "{word} is not in the spec");
    }
}

#[test]
fn codes_travel_as_their_snake_case_names() {
    for code in ErrorCode::ALL {
        let json = serde_json::to_string(code).expect("encodes");
        assert_eq!(json, format!("\"{}\"", code.as_str()));
        assert_eq!(&serde_json::from_str::<ErrorCode>(&json).expect("decodes"), code);
        assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code.clone()));
        assert_eq!(*code, code.as_str());
    }
    let mut names: Vec<&str> = ErrorCode::ALL.iter().map(ErrorCode::as_str).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ErrorCode::ALL.len(), "two codes share a name");
}

#[test]
fn a_code_from_a_newer_node_is_kept_as_it_came() {
    let code: ErrorCode = serde_json::from_str("\"a_code_from_the_future\"").expect("decodes");
    assert!(matches!(&code, ErrorCode::Unknown(c) if c.as_str() == "a_code_from_the_future"));
    assert_eq!(code.as_str(), "a_code_from_the_future");
    assert_eq!(code.status(), 500);
    assert!(code.is_transient());
    assert_eq!(serde_json::to_string(&code).expect("encodes"), "\"a_code_from_the_future\"");
    assert_eq!(ErrorCode::from_code("not_member"), ErrorCode::NotMember);
}

#[test]
fn transient_codes_are_the_retryable_ones() {
    for code in [ErrorCode::RateLimited, ErrorCode::Unauthenticated, ErrorCode::BadChallenge, ErrorCode::Internal] {
        assert!(code.is_transient(), "{code}");
    }
    for code in [ErrorCode::NotMember, ErrorCode::Blocked, ErrorCode::TooLarge, ErrorCode::Malformed] {
        assert!(!code.is_transient(), "{code}");
    }
}

#[test]
fn an_error_body_without_a_message_or_with_a_broken_provenance_still_reads() {
    let body: ErrorBody =
        serde_json::from_str(r#"{"error": {"code": "blocked", "provenance": {"list": 1}}}"#).expect("decodes");
    assert_eq!(body.error.code, ErrorCode::Blocked);
    assert_eq!(body.error.message, "");
    assert_eq!(body.error.provenance, None);
    assert!(serde_json::from_str::<ErrorBody>(r#"{"error": {"message": "no code"}}"#).is_err());
}

#[test]
fn a_rate_limited_error_carries_its_delay() {
    let detail = ErrorDetail::new(ErrorCode::RateLimited, "too many requests").with_retry_after_ms(1500);
    let json = serde_json::to_string(&ErrorBody::from(detail.clone())).expect("encodes");
    assert_eq!(json, r#"{"error":{"code":"rate_limited","message":"too many requests","retry_after_ms":1500}}"#);
    assert_eq!(detail.to_string(), "rate_limited: too many requests");
}

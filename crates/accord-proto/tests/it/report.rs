//! Reports carry verifiable evidence; altered evidence is refused.

use crate::fixtures::{create, event, key, message};
use accord_proto::blocklist::Category;
use accord_proto::event::EventContent;
use accord_proto::report::{Report, ReportBody};
use accord_proto::{Timestamp, Unverified, Verified};

fn scene() -> (Vec<accord_proto::event::Event>, accord_proto::SecretKey) {
    let (alice, mallory) = (key(1), key(2));
    let c = create(&alice);
    let r = Some(c.room());
    let j = event(&mallory, r, EventContent::Join {}, 2, vec![c.id()], 1);
    let m = event(&mallory, r, message("meet me alone, don't tell your parents"), 3, vec![j.id()], 2);
    (vec![c, j, m], alice)
}

#[test]
fn a_report_with_genuine_evidence_verifies_anywhere() {
    let (events, alice) = scene();
    let body = ReportBody {
        reporter: alice.account_id(),
        category: Category::Grooming,
        subject: None,
        evidence: vec![events[2].to_unverified()],
        context: vec![events[1].to_unverified()],
        comment: None,
        ts: Timestamp::from_millis(10),
    };
    let signed = Verified::sign(body, &alice).unwrap();
    let wire = serde_json::to_vec(&signed).unwrap();
    let received: Unverified<ReportBody> = serde_json::from_slice(&wire).unwrap();
    let report = Report::verify(&received).unwrap();
    assert_eq!(report.accused(), vec![key(2).account_id()]);
    assert_eq!(report.evidence()[0].id(), events[2].id());
    assert_eq!(report.id(), signed.body_hash());
}

#[test]
fn altered_evidence_is_refused() {
    let (events, alice) = scene();
    let mut forged = events[2].to_unverified();
    let mut raw = forged.author.raw().clone();
    let text = String::from_utf8(raw.body.clone()).unwrap().replace("meet me alone", "meet me at ten");
    raw.body = text.into_bytes();
    forged.author = Unverified::from_raw(raw);
    let body = ReportBody {
        reporter: alice.account_id(),
        category: Category::Grooming,
        subject: None,
        evidence: vec![forged],
        context: vec![],
        comment: None,
        ts: Timestamp::from_millis(10),
    };
    let signed = Verified::sign(body, &alice).unwrap();
    let err = Report::verify(&signed.to_unverified()).unwrap_err();
    assert_eq!(err.code(), "forged_evidence");
}

#[test]
fn a_report_needs_evidence_or_a_subject() {
    let alice = key(1);
    let body = ReportBody {
        reporter: alice.account_id(),
        category: Category::Spam,
        subject: None,
        evidence: vec![],
        context: vec![],
        comment: None,
        ts: Timestamp::from_millis(10),
    };
    assert_eq!(Verified::sign(body, &alice).unwrap_err().code(), "invalid");
}

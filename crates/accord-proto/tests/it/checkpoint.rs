//! Signed checkpoints and equivocation proofs.

use crate::fixtures::key;
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::blocklist::{Checkpoint, EquivocationProof, SignedCheckpoint};
use accord_proto::{ListId, SecretKey, Timestamp};

fn list(issuer: &SecretKey) -> ListId {
    ListId { issuer: issuer.public().into(), name: "abuse".parse().unwrap() }
}

fn log(prefix: &str, n: u64) -> MerkleLog {
    let mut log = MerkleLog::new();
    for i in 0..n {
        log.push(format!("{prefix}{i}").as_bytes());
    }
    log
}

fn checkpoint(issuer: &SecretKey, log: &MerkleLog, time: u64) -> SignedCheckpoint {
    Checkpoint { list: list(issuer), size: log.size(), root: log.root(), time: Timestamp::from_millis(time) }
        .sign(issuer)
        .unwrap()
}

#[test]
fn a_checkpoint_verifies_for_its_list_only() {
    let issuer = key(9);
    let signed = checkpoint(&issuer, &log("e", 5), 1000);
    let v = signed.verify(&list(&issuer)).unwrap();
    assert_eq!(v.checkpoint.size, 5);
    assert_eq!(v.checkpoint.time, Timestamp::from_millis(1000));
    let other = ListId { issuer: issuer.public().into(), name: "other".parse().unwrap() };
    assert_eq!(signed.verify(&other).unwrap_err().code(), "wrong_list");
    let stranger = list(&key(10));
    assert_eq!(signed.verify(&stranger).unwrap_err().code(), "missing_signature");
}

#[test]
fn a_forged_checkpoint_is_refused() {
    let issuer = key(9);
    let signed = checkpoint(&issuer, &log("e", 5), 1000);
    // Change the size line, keep the signature.
    let forged = SignedCheckpoint::from_note(signed.note().replacen("\n5\n", "\n6\n", 1));
    assert_eq!(forged.verify(&list(&issuer)).unwrap_err().code(), "bad_signature");
    // Signed by somebody else under the issuer's name.
    let mallory = key(66);
    let text = Checkpoint { list: list(&issuer), size: 5, root: log("e", 5).root(), time: Timestamp::from_millis(1) }
        .to_text();
    let sig = mallory.sign_raw(text.as_bytes());
    let name = list(&issuer).issuer.to_string();
    let key_id = accord_proto::blocklist::checkpoint::key_id(&name, &issuer.public());
    let mut blob = key_id.to_vec();
    blob.extend_from_slice(&sig.to_bytes());
    use base64::Engine as _;
    let note = format!("{text}\n\u{2014} {name} {}\n", base64::engine::general_purpose::STANDARD.encode(blob));
    assert_eq!(SignedCheckpoint::from_note(note).verify(&list(&issuer)).unwrap_err().code(), "bad_signature");
}

#[test]
fn witness_cosignature_lines_are_ignored() {
    let issuer = key(9);
    let signed = checkpoint(&issuer, &log("e", 3), 1000);
    let with_witness = format!("{}\u{2014} witness.example AAAAAAAAAAAAAAAA\n", signed.note());
    assert!(SignedCheckpoint::from_note(with_witness).verify(&list(&issuer)).is_ok());
}

#[test]
fn malformed_notes_get_typed_errors() {
    let issuer = key(9);
    let l = list(&issuer);
    for note in ["", "\n\n", "abc", "a\n\n\u{2014} x\n", "a\nb\n\n\u{2014} n !!!\n"] {
        let err = SignedCheckpoint::from_note(note).verify(&l).unwrap_err();
        assert!(matches!(err.code(), "malformed_note" | "missing_signature"), "{note:?}: {err}");
    }
}

#[test]
fn same_size_different_roots_is_equivocation() {
    let issuer = key(9);
    let l = list(&issuer);
    let a = checkpoint(&issuer, &log("a", 4), 1).verify(&l).unwrap();
    let b_log = log("b", 4);
    let b = checkpoint(&issuer, &b_log, 2).verify(&l).unwrap();
    let proof = EquivocationProof::build(&a, &b, &b_log).unwrap();
    proof.verify().unwrap();
    let json = serde_json::to_string(&proof).unwrap();
    let back: EquivocationProof = serde_json::from_str(&json).unwrap();
    back.verify().unwrap();
}

#[test]
fn a_fork_is_proved_for_every_pair_of_sizes() {
    let issuer = key(9);
    let l = list(&issuer);
    for m in 1..=12u64 {
        for n in (m + 1)..=16u64 {
            let honest = log("e", m);
            let mut fork = log("e", m - 1);
            for i in (m - 1)..n {
                fork.push(format!("fork{i}").as_bytes());
            }
            let a = checkpoint(&issuer, &honest, 1).verify(&l).unwrap();
            let b = checkpoint(&issuer, &fork, 2).verify(&l).unwrap();
            let proof = EquivocationProof::build(&a, &b, &fork).unwrap_or_else(|| panic!("no proof for {m}->{n}"));
            proof.verify().unwrap();
        }
    }
}

#[test]
fn consistent_checkpoints_are_not_equivocation() {
    let issuer = key(9);
    let l = list(&issuer);
    let full = log("e", 10);
    let a = checkpoint(&issuer, &log("e", 6), 1).verify(&l).unwrap();
    let b = checkpoint(&issuer, &full, 2).verify(&l).unwrap();
    assert!(EquivocationProof::build(&a, &b, &full).is_none());
    // A hand-made "proof" from the honest path is refused.
    let fake = EquivocationProof {
        list: l.clone(),
        a: a.signed.clone(),
        b: b.signed.clone(),
        path: full.consistency_proof(6, 10).unwrap(),
    };
    assert!(fake.verify().is_err());
}

#[test]
fn equivocation_needs_the_issuers_signatures() {
    let issuer = key(9);
    let l = list(&issuer);
    let a = checkpoint(&issuer, &log("a", 4), 1).verify(&l).unwrap();
    let b = checkpoint(&issuer, &log("b", 4), 2).verify(&l).unwrap();
    let mut proof = EquivocationProof::build(&a, &b, &log("b", 4)).unwrap();
    proof.b = SignedCheckpoint::from_note(proof.b.note().replacen("\n4\n", "\n5\n", 1));
    assert_eq!(proof.verify().unwrap_err().code(), "bad_signature");
}

//! The Merkle log: RFC 6962/9162 known answers, inclusion and consistency
//! proofs, checked by two implementations.

use accord_proto::Sha256Hash;
use accord_proto::blocklist::merkle::{
    MerkleLog, consistency_roots, empty_root, leaf_hash, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

/// The leaves of RFC 6962's reference test suite
/// (google/certificate-transparency, `cpp/merkletree/merkle_tree_test.cc`).
fn rfc6962_leaves() -> Vec<Vec<u8>> {
    vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        (0x60..=0x6f).collect(),
    ]
}

/// The roots published with those leaves for trees of 1 to 8 leaves.
const RFC6962_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn log_of(n: u64) -> MerkleLog {
    let mut log = MerkleLog::new();
    for i in 0..n {
        log.push(format!("entry {i}").as_bytes());
    }
    log
}

#[test]
fn roots_match_the_rfc6962_reference_values() {
    assert_eq!(MerkleLog::new().root(), empty_root());
    assert_eq!(empty_root().to_string(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    let mut log = MerkleLog::new();
    for (leaf, want) in rfc6962_leaves().iter().zip(RFC6962_ROOTS) {
        log.push(leaf);
        assert_eq!(log.root().to_string(), want, "size {}", log.size());
    }
}

#[test]
fn every_consistency_proof_up_to_64_verifies_in_both_implementations() {
    let log = log_of(64);
    for n in 1..=64u64 {
        let new_root = log.root_at(n).unwrap();
        for m in 1..=n {
            let old_root = log.root_at(m).unwrap();
            let proof = log.consistency_proof(m, n).unwrap();
            verify_consistency(m, n, &old_root, &new_root, &proof).unwrap_or_else(|e| panic!("{m}->{n}: {e}"));
            let tlog_proof: Vec<tlog_tiles::Hash> = proof.iter().map(|h| tlog_tiles::Hash(h.0)).collect();
            tlog_tiles::check_tree(&tlog_proof, n, tlog_tiles::Hash(new_root.0), m, tlog_tiles::Hash(old_root.0))
                .unwrap_or_else(|e| panic!("tlog {m}->{n}: {e}"));
        }
    }
}

#[test]
fn every_inclusion_proof_up_to_64_verifies() {
    let log = log_of(64);
    for n in 1..=64u64 {
        let root = log.root_at(n).unwrap();
        for i in 0..n {
            let proof = log.inclusion_proof(i, n).unwrap();
            let leaf = leaf_hash(format!("entry {i}").as_bytes());
            verify_inclusion(&leaf, i, n, &proof, &root).unwrap();
            assert!(verify_inclusion(&leaf, (i + 1) % n, n, &proof, &root).is_err() || n == 1);
        }
    }
}

#[test]
fn a_proof_against_a_forked_log_fails() {
    let honest = log_of(20);
    let mut fork = log_of(10);
    for i in 10..20 {
        fork.push(format!("forged {i}").as_bytes());
    }
    let proof = fork.consistency_proof(12, 20).unwrap();
    let err = verify_consistency(12, 20, &honest.root_at(12).unwrap(), &fork.root(), &proof);
    assert!(err.is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tampered_consistency_proofs_fail(
        n in 2u64..=64,
        m_frac in 0.0f64..1.0,
        which in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let m = 1 + ((n - 1) as f64 * m_frac) as u64; // 1 <= m <= n-1 < n
        let log = log_of(n);
        let (old_root, new_root) = (log.root_at(m).unwrap(), log.root_at(n).unwrap());
        let proof = log.consistency_proof(m, n).unwrap();
        prop_assert!(verify_consistency(m, n, &old_root, &new_root, &proof).is_ok());

        let mut tampered = proof.clone();
        let i = which.index(tampered.len());
        tampered[i].0[(bit as usize * 3) % 32] ^= 1 << bit;
        prop_assert!(verify_consistency(m, n, &old_root, &new_root, &tampered).is_err());

        let mut wrong_root = new_root;
        wrong_root.0[0] ^= 0x80;
        prop_assert!(verify_consistency(m, n, &old_root, &wrong_root, &proof).is_err());
        prop_assert!(verify_consistency(m, n, &new_root, &new_root, &proof).is_err());
        let mut shorter = proof.clone();
        shorter.pop();
        prop_assert!(verify_consistency(m, n, &old_root, &new_root, &shorter).is_err());
        let mut longer = proof;
        longer.push(Sha256Hash::digest(b"x"));
        prop_assert!(verify_consistency(m, n, &old_root, &new_root, &longer).is_err());
    }

    #[test]
    fn consistency_roots_never_panics(m in 0u64..100, n in 0u64..100, len in 0usize..12) {
        let path: Vec<Sha256Hash> = (0..len).map(|i| Sha256Hash::digest(&[i as u8])).collect();
        let _ = consistency_roots(m, n, &path);
        let _ = verify_consistency(m, n, &path.first().copied().unwrap_or(empty_root()), &empty_root(), &path);
    }
}

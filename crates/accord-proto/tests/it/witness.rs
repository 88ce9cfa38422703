//! A witness never cosigns two inconsistent checkpoints (spec/blocklists.md
//! §13.2): whatever a log submits, in any order, from any of several forks
//! of its log, with honest, stale or made-up proofs, every pair of
//! checkpoints the witness accepted is consistent, and its size never
//! goes back.

use crate::fixtures::key;
use accord_proto::blocklist::checkpoint::Checkpoint;
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::blocklist::witness::{AddCheckpoint, WitnessState, decide, verify_submitted};
use accord_proto::{ListId, Sha256Hash, Timestamp};
use proptest::prelude::*;

/// One submission: which fork, the old size claimed, the checkpoint's
/// size, and whether the proof is the fork's own or made up.
#[derive(Debug, Clone)]
struct Submission {
    fork: usize,
    old: u64,
    size: u64,
    made_up: Option<[u8; 32]>,
}

fn submissions() -> impl Strategy<Value = (Vec<(usize, Vec<u8>)>, Vec<Submission>)> {
    // Forks: (branch point in the shared prefix, the fork's own leaf tags).
    let forks = prop::collection::vec((0usize..6, prop::collection::vec(any::<u8>(), 0..6)), 1..4);
    let subs =
        prop::collection::vec((0usize..4, 0u64..12, 0u64..12, prop::option::weighted(0.2, any::<[u8; 32]>())), 1..24)
            .prop_map(|v| {
                v.into_iter()
                    .map(|(fork, old, size, made_up)| Submission { fork, old, size, made_up })
                    .collect::<Vec<_>>()
            });
    (forks, subs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_witness_never_cosigns_two_inconsistent_checkpoints((forks, subs) in submissions()) {
        let issuer = key(3);
        let list = ListId { issuer: issuer.public().into(), name: "watched".parse().unwrap() };
        // Every fork shares the first `branch` leaves, then has its own.
        let logs: Vec<MerkleLog> = forks
            .iter()
            .enumerate()
            .map(|(i, (branch, own))| {
                let mut log = MerkleLog::new();
                for leaf in 0..*branch {
                    log.push(format!("shared {leaf}").as_bytes());
                }
                for (j, tag) in own.iter().enumerate() {
                    log.push(format!("fork {i} leaf {j} {tag}").as_bytes());
                }
                log
            })
            .collect();
        let mut stored: Option<WitnessState> = None;
        let mut cosigned: Vec<(usize, u64, Sha256Hash)> = Vec::new();
        for sub in subs {
            let log = &logs[sub.fork % logs.len()];
            let size = sub.size.min(log.size());
            let old = sub.old;
            let root = log.root_at(size).unwrap();
            let proof = match sub.made_up {
                Some(hash) => vec![Sha256Hash(hash)],
                None if old == 0 || old >= size => vec![],
                None => log.consistency_proof(old, size).unwrap(),
            };
            let checkpoint = Checkpoint { list: list.clone(), size, root, time: Timestamp::from_millis(1) }
                .sign(&issuer)
                .unwrap();
            let request = AddCheckpoint { old_size: old, proof, checkpoint };
            let verified = verify_submitted(&request, &list).unwrap();
            if let Ok(state) = decide(&request, &verified, stored.as_ref()) {
                prop_assert!(stored.as_ref().is_none_or(|s| s.size <= state.size), "the size never goes back");
                cosigned.push((sub.fork % logs.len(), size, root));
                stored = Some(state);
            }
        }
        // Any two cosigned checkpoints: the larger one's log has the
        // smaller one's root at the smaller size.
        for (fork, size, _) in &cosigned {
            for (_, smaller, root) in cosigned.iter().filter(|c| c.1 <= *size) {
                prop_assert_eq!(logs[*fork].root_at(*smaller).unwrap(), *root);
            }
        }
    }
}

//! This node's witness (spec/blocklists.md §13): it cosigns a checkpoint
//! of a list it holds only if the checkpoint is consistent with the last
//! one it cosigned for that list. The check and the update of its state
//! are one store write under the list's witness lock, so two concurrent
//! requests cannot roll the state back.

use super::Lists;
use accord_proto::blocklist::checkpoint::VerifiedCheckpoint;
use accord_proto::blocklist::equivocation::EquivocationProof;
use accord_proto::blocklist::witness::{self, AddCheckpoint, WitnessError, WitnessKey};
use accord_proto::{ListId, NodeId, SecretKey, Timestamp};
use accord_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why the witness did not cosign. Each variant has a stable
/// [`code`](Self::code) and the HTTP status of C2SP tlog-witness.
#[derive(Debug, thiserror::Error)]
pub enum AddCheckpointError {
    /// Refused as C2SP tlog-witness says.
    #[error(transparent)]
    Refused(#[from] WitnessError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AddCheckpointError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AddCheckpointError::Refused(e) => e.code(),
            AddCheckpointError::Store(_) => "internal",
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            AddCheckpointError::Refused(e) => e.status(),
            AddCheckpointError::Store(_) => 500,
        }
    }

    /// The body of the answer (for a `409`, the witness's size).
    pub fn body(&self) -> String {
        match self {
            AddCheckpointError::Refused(e) => e.body(),
            AddCheckpointError::Store(e) => format!("{e}\n"),
        }
    }
}

/// What one `add-checkpoint` request came to.
#[derive(Debug)]
pub struct Witnessed {
    /// The cosignature lines (the `200` body), or why not.
    pub answer: Result<String, AddCheckpointError>,
    /// The checkpoint, when the issuer's signature verified (for the
    /// node to observe against the list it holds).
    pub verified: Option<VerifiedCheckpoint>,
    /// Proof that the issuer signed a checkpoint incompatible with the one
    /// this witness cosigned last.
    pub evidence: Option<EquivocationProof>,
}

/// This node's witness: its cosigner key and one lock per list.
pub struct Witness {
    key: SecretKey,
    id: WitnessKey,
    locks: Mutex<HashMap<ListId, Arc<tokio::sync::Mutex<()>>>>,
}

impl Witness {
    /// The witness of node `node` with cosigner key `key` (the data
    /// directory's `witness.key`, not the node key).
    pub fn new(node: &NodeId, key: SecretKey) -> Witness {
        let id = WitnessKey::of_node(node, key.public());
        Witness { key, id, locks: Mutex::new(HashMap::new()) }
    }

    /// The witness's name and public key (its C2SP verifier key is
    /// `id().vkey()`).
    pub fn id(&self) -> &WitnessKey {
        &self.id
    }

    fn lock(&self, list: &ListId) -> Arc<tokio::sync::Mutex<()>> {
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).entry(list.clone()).or_default().clone()
    }

    /// Handles an `add-checkpoint` request body. The lists this node
    /// holds are the logs it witnesses; their issuers' keys are in their
    /// ids.
    pub async fn add_checkpoint(&self, lists: &Lists, store: &Store, body: &[u8]) -> Witnessed {
        let mut out = Witnessed { answer: Err(WitnessError::UnknownOrigin.into()), verified: None, evidence: None };
        let request = match AddCheckpoint::parse(body) {
            Ok(request) => request,
            Err(e) => {
                out.answer = Err(e.into());
                return out;
            }
        };
        let Some(list) = request.list() else { return out };
        if lists.record(&list).await.is_none() {
            return out;
        }
        let verified = match witness::verify_submitted(&request, &list) {
            Ok(verified) => verified,
            Err(e) => {
                out.answer = Err(e.into());
                return out;
            }
        };
        out.verified = Some(verified.clone());
        let lock = self.lock(&list);
        let _held = lock.lock().await;
        let stored = match store.witness_state(&list) {
            Ok(stored) => stored,
            Err(e) => {
                out.answer = Err(e.into());
                return out;
            }
        };
        out.evidence = witness::evidence(&request, &verified, stored.as_ref());
        out.answer = match witness::decide(&request, &verified, stored.as_ref()) {
            Ok(state) => match store.put_witness_state(&list, &state).await {
                Ok(()) => {
                    let text = witness::checkpoint_text(&verified.signed).unwrap_or_default();
                    let now = Timestamp::now().as_millis() / 1000;
                    Ok(witness::cosign(&self.key, self.id.name(), text, now))
                }
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        };
        out
    }
}

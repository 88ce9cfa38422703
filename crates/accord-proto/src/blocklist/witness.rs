//! Witnesses of list checkpoints (spec/blocklists.md §13): the C2SP
//! `tlog-witness` `add-checkpoint` request, the C2SP `tlog-cosignature`
//! `cosignature/v1` (Ed25519) cosignatures a witness answers with, the
//! witness's decision, and counting a quorum of cosignatures on a note.
//!
//! An Accord list checkpoint is already a C2SP checkpoint (§4.1): its
//! origin line names the list, and the list id names the issuer key, so a
//! witness that knows the list knows the log's key. The cosignature layer
//! is written here from the C2SP text, like the signed-note layer of
//! [`super::checkpoint`].

use super::checkpoint::{CheckpointError, SignedCheckpoint, VerifiedCheckpoint};
use super::equivocation::EquivocationProof;
use super::merkle::{consistency_roots, empty_root, verify_consistency};
use crate::codec::{b64_decode, b64_encode};
use crate::hash::Sha256Hash;
use crate::ids::{ListId, NodeId};
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::limits::{MAX_CHECKPOINT_NOTE, MAX_NOTE_SIGNATURES};
use serde::{Deserialize, Serialize};

/// The signed-note signature type of timestamped Ed25519 cosignatures
/// (C2SP signed-note, `0x04`).
pub const COSIGNATURE_ALG: u8 = 0x04;
/// The prefix of an Accord witness's key name; the node id of the node
/// that runs the witness follows it.
pub const WITNESS_NAME_PREFIX: &str = "accord/v1/witness/";
/// The origin prefix of a list checkpoint (spec/blocklists.md §4.1).
pub const LIST_ORIGIN_PREFIX: &str = "accord/v1/list/";
/// Most consistency proof lines an `add-checkpoint` request may carry.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest `add-checkpoint` request body: the old size line, the proof
/// lines and a checkpoint note.
pub const MAX_ADD_CHECKPOINT: usize = 64 + MAX_PROOF_LINES * 45 + 1 + MAX_CHECKPOINT_NOTE;
/// The content type of a `409` answer's body (the witness's size).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// Largest cosignature timestamp (`2^63 - 1`).
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Why a witness refused an `add-checkpoint` request. Each variant has
/// the HTTP status of C2SP tlog-witness ([`status`](Self::status)) and a
/// stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The request body is not an `add-checkpoint` request, or its old
    /// size exceeds the checkpoint's size (400).
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(String),
    /// No valid signature by the log's key (403).
    #[error("the checkpoint is not signed by the log: {0}")]
    Forbidden(String),
    /// The origin is not a log this witness follows (404).
    #[error("unknown origin")]
    UnknownOrigin,
    /// The old size is not the size this witness last cosigned (409).
    #[error("the witness's size for this log is {size}")]
    Conflict {
        /// The size of the latest checkpoint the witness cosigned.
        size: u64,
    },
    /// The checkpoint is not consistent with what the witness cosigned:
    /// a bad consistency proof, another root at the same size, or a size-0
    /// checkpoint without the empty root (422).
    #[error("inconsistent checkpoint: {0}")]
    Inconsistent(String),
}

impl WitnessError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            WitnessError::Malformed(_) => "witness_bad_request",
            WitnessError::Forbidden(_) => "witness_forbidden",
            WitnessError::UnknownOrigin => "witness_unknown_origin",
            WitnessError::Conflict { .. } => "witness_conflict",
            WitnessError::Inconsistent(_) => "witness_inconsistent",
        }
    }

    /// The HTTP status C2SP tlog-witness gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::Malformed(_) => 400,
            WitnessError::Forbidden(_) => 403,
            WitnessError::UnknownOrigin => 404,
            WitnessError::Conflict { .. } => 409,
            WitnessError::Inconsistent(_) => 422,
        }
    }

    /// The body the witness answers with: the size and a newline for a
    /// `409` (content type [`SIZE_CONTENT_TYPE`]), else the message.
    pub fn body(&self) -> String {
        match self {
            WitnessError::Conflict { size } => format!("{size}\n"),
            other => format!("{other}\n"),
        }
    }

    /// Reads a refusal back from a witness's status and body.
    pub fn from_answer(status: u16, body: &str) -> Option<WitnessError> {
        let message = body.trim_end_matches('\n').to_string();
        Some(match status {
            400 => WitnessError::Malformed(message),
            403 => WitnessError::Forbidden(message),
            404 => WitnessError::UnknownOrigin,
            409 => WitnessError::Conflict { size: parse_decimal(body.strip_suffix('\n')?)? },
            422 => WitnessError::Inconsistent(message),
            _ => return None,
        })
    }
}

/// Why a witness key or a cosignature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// A verifier key string is not `NAME+KEYID+BASE64` with an Ed25519
    /// cosignature key (type `0x04`) whose key id matches.
    #[error("bad witness verifier key: {0}")]
    BadVerifierKey(String),
    /// A cosignature line by a required witness does not verify.
    #[error("the cosignature of {0} does not verify")]
    BadCosignature(String),
    /// Fewer required witnesses cosigned the checkpoint than needed.
    #[error("{found} of the {required} required witness cosignatures")]
    Missing {
        /// Valid cosignatures by required witnesses.
        found: usize,
        /// Cosignatures required.
        required: usize,
    },
    /// The note would be too large or carry too many signature lines.
    #[error("the cosigned note would be too large")]
    TooLarge,
}

impl CosignatureError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CosignatureError::BadVerifierKey(_) => "bad_verifier_key",
            CosignatureError::BadCosignature(_) => "bad_cosignature",
            CosignatureError::Missing { .. } => "missing_cosignatures",
            CosignatureError::TooLarge => "too_large",
        }
    }
}

/// A witness's public identity: its key name and its Ed25519 cosigner key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WitnessKey {
    name: String,
    key: PublicKey,
}

impl WitnessKey {
    /// The witness named `name` with cosigner key `key`. The name must be a
    /// valid signed-note key name: not empty, no spaces, no `+`, no
    /// newline.
    pub fn new(name: &str, key: PublicKey) -> Result<WitnessKey, CosignatureError> {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
            return Err(CosignatureError::BadVerifierKey(format!("bad key name {name:?}")));
        }
        Ok(WitnessKey { name: name.to_string(), key })
    }

    /// The key of the witness that node `node` runs with cosigner key
    /// `key`: named `accord/v1/witness/NODE_ID`.
    pub fn of_node(node: &NodeId, key: PublicKey) -> WitnessKey {
        WitnessKey { name: format!("{WITNESS_NAME_PREFIX}{node}"), key }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cosigner public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The node that runs the witness, when the name is
    /// `accord/v1/witness/NODE_ID`.
    pub fn node(&self) -> Option<NodeId> {
        self.name.strip_prefix(WITNESS_NAME_PREFIX)?.parse().ok()
    }

    /// The key id: `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[0..4]`.
    pub fn key_id(&self) -> [u8; 4] {
        let digest = Sha256Hash::digest_parts(&[self.name.as_bytes(), b"\n", &[COSIGNATURE_ALG], self.key.as_bytes()]);
        [digest.0[0], digest.0[1], digest.0[2], digest.0[3]]
    }

    /// The C2SP verifier key: `NAME+hex(KEYID)+base64(0x04 ‖ public key)`.
    pub fn vkey(&self) -> String {
        let mut blob = vec![COSIGNATURE_ALG];
        blob.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.key_id()), b64_encode(&blob))
    }

    /// Reads a C2SP verifier key of an Ed25519 cosigner (type `0x04`); its
    /// key id must be the one its name and key give.
    pub fn parse_vkey(text: &str) -> Result<WitnessKey, CosignatureError> {
        let bad = |m: &str| CosignatureError::BadVerifierKey(m.to_string());
        // The name and the hex key id hold no `+`; the base64 key may.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(blob)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected NAME+KEYID+KEY"));
        };
        let blob = b64_decode(blob).map_err(|_| bad("the key is not base64"))?;
        let (&alg, key) = blob.split_first().ok_or_else(|| bad("empty key"))?;
        if alg != COSIGNATURE_ALG {
            return Err(bad("not an Ed25519 cosignature key (type 0x04)"));
        }
        let key = PublicKey::from_slice(key).map_err(|e| bad(&e.to_string()))?;
        let witness = WitnessKey::new(name, key)?;
        if id.len() != 8 || hex::encode(witness.key_id()) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(witness)
    }

    /// Verifies a cosignature blob (key id ‖ timestamp ‖ signature) over
    /// the checkpoint text `text`; returns the timestamp.
    fn verify_blob(&self, text: &str, blob: &[u8]) -> Result<u64, CosignatureError> {
        let bad = || CosignatureError::BadCosignature(self.name.clone());
        if blob.len() != 4 + 8 + 64 || blob[..4] != self.key_id() {
            return Err(bad());
        }
        let time = u64::from_be_bytes(blob[4..12].try_into().map_err(|_| bad())?);
        if time > MAX_TIMESTAMP {
            return Err(bad());
        }
        let sig = Signature::from_slice(&blob[12..]).map_err(|_| bad())?;
        if self.key.verify(&cosignature_message(text, time), &sig) { Ok(time) } else { Err(bad()) }
    }
}

impl std::fmt::Display for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.vkey())
    }
}

impl std::str::FromStr for WitnessKey {
    type Err = CosignatureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WitnessKey::parse_vkey(s)
    }
}

/// In JSON and TOML a witness key is its verifier key string.
impl Serialize for WitnessKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.vkey())
    }
}

impl<'de> Deserialize<'de> for WitnessKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        WitnessKey::parse_vkey(&text).map_err(serde::de::Error::custom)
    }
}

/// The checkpoint text of a signed note (up to and including the first
/// LF of its last blank line), if the note has one.
pub fn checkpoint_text(note: &SignedCheckpoint) -> Option<&str> {
    note_text(note.note())
}

/// The message a `cosignature/v1` signs: `cosignature/v1\ntime T\n`
/// followed by the checkpoint text (with its final newline).
pub fn cosignature_message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

/// A cosignature line (`— NAME base64(KEYID ‖ u64 BE time ‖ signature)`
/// and a newline) by `key`, named `name`, over the checkpoint `text`, at
/// `time` (seconds since the epoch).
pub fn cosign(key: &SecretKey, name: &str, text: &str, time: u64) -> String {
    let witness = WitnessKey { name: name.to_string(), key: key.public() };
    let sig = key.sign_raw(&cosignature_message(text, time));
    let mut blob = witness.key_id().to_vec();
    blob.extend_from_slice(&time.to_be_bytes());
    blob.extend_from_slice(&sig.to_bytes());
    format!("\u{2014} {name} {}\n", b64_encode(&blob))
}

/// The checkpoint text of a note: everything up to and including the
/// first LF of the last blank line.
fn note_text(note: &str) -> Option<&str> {
    note.rfind("\n\n").map(|split| &note[..=split])
}

/// The signature lines of a note, split into name and decoded blob;
/// `None` if the note is not a well-formed signed note.
fn signature_lines(note: &str) -> Option<Vec<(&str, Vec<u8>)>> {
    let split = note.rfind("\n\n")?;
    let sigs = &note[split + 2..];
    if sigs.is_empty() || !sigs.ends_with('\n') || sigs.contains('\r') {
        return None;
    }
    sigs.trim_end_matches('\n')
        .split('\n')
        .map(|line| {
            let (name, blob) = line.strip_prefix("\u{2014} ")?.split_once(' ')?;
            if name.is_empty() || blob.contains(' ') {
                return None;
            }
            Some((name, b64_decode(blob).ok().filter(|b| b.len() >= 5)?))
        })
        .collect()
}

/// The valid cosignature lines in a witness's answer (`200` body) by
/// `witness` over the checkpoint of `note`, each with its newline; lines
/// by other keys are ignored. Empty if the witness did not cosign.
pub fn cosignatures_in_answer(note: &SignedCheckpoint, answer: &str, witness: &WitnessKey) -> Vec<String> {
    let Some(text) = note_text(note.note()) else { return Vec::new() };
    answer
        .split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .filter(|line| {
            let Some((name, blob)) =
                line.trim_end_matches('\n').strip_prefix("\u{2014} ").and_then(|rest| rest.split_once(' '))
            else {
                return false;
            };
            name == witness.name && b64_decode(blob).is_ok_and(|b| witness.verify_blob(text, &b).is_ok())
        })
        .map(str::to_string)
        .collect()
}

/// The note with cosignature `lines` appended (each one signature line
/// with its newline; a line whose name and key id are already on the note
/// is left out).
pub fn add_cosignatures(note: &SignedCheckpoint, lines: &[String]) -> Result<SignedCheckpoint, CosignatureError> {
    let mut out = note.note().to_string();
    let mut seen: std::collections::HashSet<(String, Vec<u8>)> = signature_lines(&out)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, blob)| (name.to_string(), blob[..4].to_vec()))
        .collect();
    for line in lines {
        let Some(body) = line.strip_suffix('\n').filter(|l| !l.contains('\n')) else { continue };
        let wrapped = format!("\n\n{body}\n");
        let Some(parsed) = signature_lines(&wrapped) else { continue };
        let [(name, blob)] = parsed.as_slice() else { continue };
        if seen.insert((name.to_string(), blob[..4].to_vec())) {
            out.push_str(line);
        }
    }
    if out.len() > MAX_CHECKPOINT_NOTE || seen.len() > MAX_NOTE_SIGNATURES {
        return Err(CosignatureError::TooLarge);
    }
    Ok(SignedCheckpoint::from_note(out))
}

/// Checks that at least `required` of `witnesses` cosigned the note's
/// checkpoint. A line by one of them that does not verify refuses the
/// note (`bad_cosignature`); lines by other keys are ignored. Returns the
/// number of those witnesses whose cosignature verified.
pub fn check_quorum(
    note: &SignedCheckpoint,
    witnesses: &[WitnessKey],
    required: usize,
) -> Result<usize, CosignatureError> {
    let text = note_text(note.note()).ok_or(CosignatureError::Missing { found: 0, required })?;
    let lines = signature_lines(note.note()).ok_or(CosignatureError::Missing { found: 0, required })?;
    let mut cosigned = std::collections::HashSet::new();
    for (name, blob) in &lines {
        for witness in witnesses.iter().filter(|w| w.name == *name && blob[..4] == w.key_id()) {
            witness.verify_blob(text, blob)?;
            cosigned.insert(witness.vkey());
        }
    }
    if cosigned.len() < required {
        return Err(CosignatureError::Missing { found: cosigned.len(), required });
    }
    Ok(cosigned.len())
}

/// An `add-checkpoint` request (C2SP tlog-witness): the size of the
/// checkpoint the client believes the witness cosigned last, a
/// consistency proof from that size, and the new checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The old size.
    pub old_size: u64,
    /// The RFC 6962 consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Sha256Hash>,
    /// The signed checkpoint.
    pub checkpoint: SignedCheckpoint,
}

fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

impl AddCheckpoint {
    /// The request body: `old N`, one base64 hash per line, a blank line,
    /// then the signed checkpoint.
    pub fn to_body(&self) -> String {
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&b64_encode(&hash.0));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(self.checkpoint.note());
        body
    }

    /// Reads a request body (`400` when it is not one).
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WitnessError> {
        let bad = |m: &str| WitnessError::Malformed(m.to_string());
        if body.len() > MAX_ADD_CHECKPOINT {
            return Err(bad("request too large"));
        }
        let body = std::str::from_utf8(body).map_err(|_| bad("not UTF-8"))?;
        let (first, mut rest) = body.split_once('\n').ok_or_else(|| bad("no old size line"))?;
        let old_size =
            first.strip_prefix("old ").and_then(parse_decimal).ok_or_else(|| bad("the first line must be `old N`"))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or_else(|| bad("no blank line before the checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let hash = b64_decode(line).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
            proof.push(Sha256Hash(hash.ok_or_else(|| bad("a proof line is not a base64 hash"))?));
        }
        if rest.is_empty() {
            return Err(bad("no checkpoint"));
        }
        Ok(AddCheckpoint { old_size, proof, checkpoint: SignedCheckpoint::from_note(rest) })
    }

    /// The list the checkpoint's origin line names, if it is a list
    /// origin (`accord/v1/list/ISSUER/NAME`).
    pub fn list(&self) -> Option<ListId> {
        self.checkpoint.note().split('\n').next()?.strip_prefix(LIST_ORIGIN_PREFIX)?.parse().ok()
    }
}

/// What a witness keeps per log: the latest checkpoint it cosigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessState {
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: Sha256Hash,
    /// The checkpoint as the log signed it (evidence if the log forks).
    pub checkpoint: SignedCheckpoint,
}

/// Verifies the log's signature on the request's checkpoint for `list`
/// (the list its origin names, which the witness follows): `403` for no
/// valid signature by the issuer, `400` for a note or checkpoint that is
/// not well formed, `422` for a size-0 checkpoint without the empty root.
pub fn verify_submitted(request: &AddCheckpoint, list: &ListId) -> Result<VerifiedCheckpoint, WitnessError> {
    request.checkpoint.verify(list).map_err(|e| match e {
        CheckpointError::MissingSignature | CheckpointError::BadSignature => WitnessError::Forbidden(e.to_string()),
        CheckpointError::MalformedCheckpoint(_) if size_zero_with_another_root(request.checkpoint.note()) => {
            WitnessError::Inconsistent("a checkpoint of size 0 must have the empty root".into())
        }
        CheckpointError::WrongList => WitnessError::UnknownOrigin,
        other => WitnessError::Malformed(other.to_string()),
    })
}

fn size_zero_with_another_root(note: &str) -> bool {
    let mut lines = note.split('\n');
    let (_, size, root) = (lines.next(), lines.next(), lines.next());
    size == Some("0") && root.is_some_and(|r| b64_decode(r).ok().as_deref() != Some(&empty_root().0[..]))
}

/// The witness's decision on a verified checkpoint, given what it cosigned
/// last for the log (`None`: nothing). On success the returned state is
/// what it must store, atomically with the check, before answering.
pub fn decide(
    request: &AddCheckpoint,
    verified: &VerifiedCheckpoint,
    stored: Option<&WitnessState>,
) -> Result<WitnessState, WitnessError> {
    let new = &verified.checkpoint;
    if request.old_size > new.size {
        return Err(WitnessError::Malformed(format!(
            "old size {} is larger than the checkpoint's size {}",
            request.old_size, new.size
        )));
    }
    let current = stored.map_or(0, |s| s.size);
    if request.old_size != current {
        return Err(WitnessError::Conflict { size: current });
    }
    let old_root = stored.map_or_else(empty_root, |s| s.root);
    if request.old_size == 0 && !request.proof.is_empty() {
        return Err(WitnessError::Inconsistent("a proof from size 0 must be empty".into()));
    }
    verify_consistency(request.old_size, new.size, &old_root, &new.root, &request.proof)
        .map_err(|e| WitnessError::Inconsistent(e.to_string()))?;
    Ok(WitnessState { size: new.size, root: new.root, checkpoint: verified.signed.clone() })
}

/// An equivocation proof from a verified checkpoint a log submitted and
/// the checkpoint the witness cosigned last, when the two cannot both be
/// true: the same size with another root, or (old size not a power of
/// two) a proof from the witness's size that leads to the new root but
/// implies another root at the witness's size.
pub fn evidence(
    request: &AddCheckpoint,
    verified: &VerifiedCheckpoint,
    stored: Option<&WitnessState>,
) -> Option<EquivocationProof> {
    let stored = stored?;
    let new = &verified.checkpoint;
    let list = new.list.clone();
    let path = if new.size == stored.size {
        if new.root == stored.root {
            return None;
        }
        Vec::new()
    } else {
        if request.old_size != stored.size || stored.size == 0 || stored.size > new.size {
            return None;
        }
        if stored.size.is_power_of_two() {
            return None;
        }
        let (old_root, new_root) = consistency_roots(stored.size, new.size, &request.proof).ok()?;
        if new_root != new.root || old_root == stored.root {
            return None;
        }
        request.proof.clone()
    };
    let proof = EquivocationProof { list, a: stored.checkpoint.clone(), b: verified.signed.clone(), path };
    proof.verify().ok().map(|_| proof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocklist::checkpoint::Checkpoint;
    use crate::blocklist::merkle::MerkleLog;
    use crate::ids::IssuerId;
    use crate::time::Timestamp;

    fn issuer() -> SecretKey {
        SecretKey::from_seed([9; 32])
    }

    fn list() -> ListId {
        ListId { issuer: IssuerId::from(issuer().public()), name: "abuse".parse().unwrap() }
    }

    fn log(leaves: &[&str]) -> MerkleLog {
        let mut log = MerkleLog::new();
        for leaf in leaves {
            log.push(leaf.as_bytes());
        }
        log
    }

    fn signed(log: &MerkleLog, size: u64) -> SignedCheckpoint {
        let root = log.root_at(size).unwrap();
        Checkpoint { list: list(), size, root, time: Timestamp::from_millis(1_764_000_000_000) }
            .sign(&issuer())
            .unwrap()
    }

    fn request(log: &MerkleLog, old: u64, size: u64) -> AddCheckpoint {
        let proof = if old == 0 || old == size { Vec::new() } else { log.consistency_proof(old, size).unwrap() };
        AddCheckpoint { old_size: old, proof, checkpoint: signed(log, size) }
    }

    /// The witness's whole handling of a request against `stored`.
    fn witness(request: &AddCheckpoint, stored: Option<&WitnessState>) -> Result<WitnessState, WitnessError> {
        let parsed = AddCheckpoint::parse(request.to_body().as_bytes())?;
        let list = parsed.list().filter(|l| *l == list()).ok_or(WitnessError::UnknownOrigin)?;
        let verified = verify_submitted(&parsed, &list)?;
        decide(&parsed, &verified, stored)
    }

    #[test]
    fn a_consistent_checkpoint_is_cosigned_and_becomes_the_witness_state() {
        let log = log(&["a", "b", "c", "d", "e"]);
        let first = witness(&request(&log, 0, 3), None).unwrap();
        assert_eq!((first.size, first.root), (3, log.root_at(3).unwrap()));
        let second = witness(&request(&log, 3, 5), Some(&first)).unwrap();
        assert_eq!((second.size, second.root), (5, log.root()));
        // The same checkpoint again is cosigned again.
        assert_eq!(witness(&request(&log, 5, 5), Some(&second)).unwrap().size, 5);
    }

    #[test]
    fn a_body_that_is_not_a_request_is_400() {
        for body in ["", "old 01\n\nx", "new 3\n\nx", "old 3\nnot base64\n\nx", "old 3\n", "old 0\n\n"] {
            let err = AddCheckpoint::parse(body.as_bytes()).unwrap_err();
            assert_eq!(err.status(), 400, "{body:?}");
        }
        let many = format!("old 1\n{}\nx", format!("{}\n", b64_encode(&[0; 32])).repeat(64));
        assert_eq!(AddCheckpoint::parse(many.as_bytes()).unwrap_err().status(), 400);
    }

    #[test]
    fn an_old_size_above_the_checkpoint_size_is_400() {
        let log = log(&["a", "b", "c"]);
        let mut req = request(&log, 0, 2);
        req.old_size = 3;
        assert_eq!(witness(&req, None).unwrap_err().status(), 400);
    }

    #[test]
    fn a_checkpoint_not_signed_by_the_issuer_is_403() {
        let log = log(&["a"]);
        let mut req = request(&log, 0, 1);
        let other = SecretKey::from_seed([7; 32]);
        let note = req.checkpoint.note().to_string();
        let (text, _) = note.split_at(note.rfind("\n\n").unwrap() + 1);
        let forged = format!(
            "{text}\n\u{2014} {} {}\n",
            list().issuer,
            b64_encode(
                &[
                    &crate::blocklist::checkpoint::key_id(&list().issuer.to_string(), &issuer().public())[..],
                    &other.sign_raw(text.as_bytes()).to_bytes()[..]
                ]
                .concat()
            )
        );
        req.checkpoint = SignedCheckpoint::from_note(forged);
        assert_eq!(
            witness(&req, None).unwrap_err(),
            WitnessError::Forbidden("issuer signature does not verify".into())
        );
        let unsigned = format!("{text}\n\u{2014} someone AAAAAAAA\n");
        req.checkpoint = SignedCheckpoint::from_note(unsigned);
        assert_eq!(witness(&req, None).unwrap_err().status(), 403);
    }

    #[test]
    fn a_checkpoint_of_an_unknown_origin_is_404() {
        let log = log(&["a"]);
        let mut req = request(&log, 0, 1);
        req.checkpoint = SignedCheckpoint::from_note(req.checkpoint.note().replace("/abuse\n", "/other\n"));
        assert_eq!(witness(&req, None).unwrap_err(), WitnessError::UnknownOrigin);
        assert_eq!(WitnessError::UnknownOrigin.status(), 404);
    }

    #[test]
    fn an_old_size_that_is_not_the_witness_size_is_409_with_that_size() {
        let log = log(&["a", "b", "c", "d"]);
        let state = witness(&request(&log, 0, 3), None).unwrap();
        let err = witness(&request(&log, 2, 4), Some(&state)).unwrap_err();
        assert_eq!(err, WitnessError::Conflict { size: 3 });
        assert_eq!((err.status(), err.body().as_str()), (409, "3\n"));
        assert_eq!(WitnessError::from_answer(409, "3\n"), Some(err));
        // A witness that never cosigned the log has size 0.
        assert_eq!(witness(&request(&log, 3, 4), None).unwrap_err(), WitnessError::Conflict { size: 0 });
    }

    #[test]
    fn a_bad_proof_another_root_or_a_bad_empty_root_is_422() {
        let honest = log(&["a", "b", "c", "d"]);
        let forked = log(&["a", "b", "x", "d", "e"]);
        let state = witness(&request(&honest, 0, 3), None).unwrap();
        // The fork's own proof does not lead from the witness's root.
        let err = witness(&request(&forked, 3, 5), Some(&state)).unwrap_err();
        assert_eq!(err.status(), 422);
        // Same size, another root.
        let err = witness(&request(&forked, 3, 3), Some(&state)).unwrap_err();
        assert_eq!(err.status(), 422);
        // A proof from size 0 must be empty.
        let mut req = request(&honest, 0, 3);
        req.proof = vec![honest.root_at(1).unwrap()];
        assert_eq!(witness(&req, None).unwrap_err().status(), 422);
        // A size-0 checkpoint must have the empty root.
        let text = format!("{}\n0\n{}\ntime 1\n", list().origin(), b64_encode(&[1; 32]));
        let sig = issuer().sign_raw(text.as_bytes());
        let blob = [
            &crate::blocklist::checkpoint::key_id(&list().issuer.to_string(), &issuer().public())[..],
            &sig.to_bytes()[..],
        ]
        .concat();
        let note = format!("{text}\n\u{2014} {} {}\n", list().issuer, b64_encode(&blob));
        let req = AddCheckpoint { old_size: 0, proof: vec![], checkpoint: SignedCheckpoint::from_note(note) };
        assert_eq!(witness(&req, None).unwrap_err().status(), 422);
    }

    #[test]
    fn a_fork_seen_by_a_witness_is_an_equivocation_proof() {
        let honest = log(&["a", "b", "c", "d"]);
        let forked = log(&["a", "b", "x", "d", "e"]);
        let state = witness(&request(&honest, 0, 3), None).unwrap();
        // Same size, another root.
        let req = request(&forked, 3, 3);
        let verified = verify_submitted(&req, &list()).unwrap();
        let proof = evidence(&req, &verified, Some(&state)).expect("same size, another root");
        assert!(proof.verify().is_ok());
        // A larger fork whose proof is the fork's own: 3 is not a power of two.
        let req = request(&forked, 3, 5);
        let verified = verify_submitted(&req, &list()).unwrap();
        assert!(evidence(&req, &verified, Some(&state)).unwrap().verify().is_ok());
        // The honest extension is no evidence.
        let req = request(&honest, 3, 4);
        let verified = verify_submitted(&req, &list()).unwrap();
        assert_eq!(evidence(&req, &verified, Some(&state)), None);
    }

    #[test]
    fn a_cosignature_verifies_under_the_witness_vkey_and_nothing_else() {
        let key = SecretKey::from_seed([5; 32]);
        let witness = WitnessKey::new("example.com/w1", key.public()).unwrap();
        let parsed = WitnessKey::parse_vkey(&witness.vkey()).unwrap();
        assert_eq!(parsed, witness);
        // The base64 key may hold `+`: every vkey reads back.
        for seed in 0..=255u8 {
            let w = WitnessKey::new("w", SecretKey::from_seed([seed; 32]).public()).unwrap();
            assert_eq!(WitnessKey::parse_vkey(&w.vkey()), Ok(w));
        }
        let log = log(&["a", "b"]);
        let note = signed(&log, 2);
        let text = note_text(note.note()).unwrap();
        let line = cosign(&key, witness.name(), text, 1_764_000_000);
        assert_eq!(cosignatures_in_answer(&note, &line, &witness), vec![line.clone()]);
        let cosigned = add_cosignatures(&note, std::slice::from_ref(&line)).unwrap();
        assert_eq!(check_quorum(&cosigned, std::slice::from_ref(&witness), 1), Ok(1));
        assert!(cosigned.verify(&list()).is_ok(), "the issuer's signature still verifies");
        // Added twice, kept once.
        assert_eq!(add_cosignatures(&cosigned, std::slice::from_ref(&line)).unwrap(), cosigned);
        // Another witness's key is not counted; one required is missing.
        let other = WitnessKey::new("example.com/w2", SecretKey::from_seed([6; 32]).public()).unwrap();
        assert_eq!(
            check_quorum(&cosigned, &[witness.clone(), other.clone()], 2),
            Err(CosignatureError::Missing { found: 1, required: 2 })
        );
        // A cosignature over another checkpoint does not verify.
        let moved = cosigned.note().replace("\n2\n", "\n1\n");
        assert!(matches!(
            check_quorum(&SignedCheckpoint::from_note(moved), std::slice::from_ref(&witness), 1),
            Err(CosignatureError::BadCosignature(_))
        ));
        // A vkey with another type or a wrong id is refused.
        let note_key = crate::blocklist::checkpoint::verifier_key("example.com/w1", &key.public());
        assert!(WitnessKey::parse_vkey(&note_key).is_err(), "a type 0x01 key is not a cosigner key");
        let mut wrong = witness.vkey();
        wrong.replace_range(15..16, if &wrong[15..16] == "0" { "1" } else { "0" });
        assert!(WitnessKey::parse_vkey(&wrong).is_err());
    }
}

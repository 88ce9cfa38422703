//! Writes the protocol test vectors in `spec/vectors/*.json`.
//!
//! The vectors are committed files: the test suite reads and checks them
//! and never writes them. Run this only when the protocol changes on
//! purpose, then review the diff:
//!
//! ```sh
//! cargo run -p accord-proto --example gen_vectors -- spec/vectors
//! ```

use accord_proto::appeal::AppealBody;
use accord_proto::audit::{ModAction, Moderator, Verdict};
use accord_proto::blocklist::equivocation::EquivocationProof;
use accord_proto::blocklist::merkle::{MerkleLog, leaf_hash};
use accord_proto::blocklist::{
    Action, Category, Checkpoint, ListEntry, SignedCheckpoint, Target, TargetKind, target_hash,
};
use accord_proto::envelope::Payload;
use accord_proto::event::Event;
use accord_proto::event::{EventBody, EventContent, JoinRule, Role};
use accord_proto::federation::{
    EQUIVOCATION_TOPIC, FedRequest, FedResponse, IdentityPair, IssuedList, ListAnnouncement, MANIFESTS_TOPIC,
    MAX_GOSSIP_BYTES, MAX_LIST_ENTRIES_PER_RESPONSE, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, PUSH_STREAM_PROTOCOL,
    PushOutcome, push_stream_frame,
};
use accord_proto::identity::{Attestation, Handle, IdentityDocument, KeyRotation, SignedRotation, VerificationLevel};
use accord_proto::media::{Attachment, MAX_CHUNK, MediaRequest, MediaResponse, MediaType};
use accord_proto::policy::{DeclaredList, PolicyManifest};
use accord_proto::report::{Report, ReportBody};
use accord_proto::room::resolve;
use accord_proto::text::Reason;
use accord_proto::{Domain, EventId, ListId, NodeId, RoomId, SecretKey, SignedBytes, Timestamp, Verified};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const T0: u64 = 1_764_000_000_000;

fn key(byte: u8) -> SecretKey {
    SecretKey::from_seed([byte; 32])
}

fn envelope_case<T: Payload>(name: &str, seed: u8, signed: &Verified<T>) -> Value {
    let raw = signed.raw();
    json!({
        "name": name,
        "seed": hex::encode([seed; 32]),
        "domain": T::DOMAIN.tag(),
        "body_utf8": String::from_utf8_lossy(&raw.body),
        "body_hex": hex::encode(&raw.body),
        "signing_input_hex": hex::encode(T::DOMAIN.signing_input(&raw.body)),
        "signature_hex": hex::encode(raw.sig.to_bytes()),
        "body_sha256": signed.body_hash().to_string(),
        "envelope": raw,
    })
}

fn event_json(e: &Event) -> Value {
    json!({
        "id": e.id().to_string(),

        "event": e,
    })
}

/// The signed note with one byte (`index`) of its last line's Ed25519
/// signature flipped; the key id and everything else stay as they are.
fn flip_signature_byte(signed: &SignedCheckpoint, index: usize) -> anyhow::Result<SignedCheckpoint> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (head, blob) = signed
        .note()
        .strip_suffix('\n')
        .and_then(|note| note.rsplit_once(' '))
        .ok_or_else(|| anyhow::anyhow!("note without a signature line"))?;
    let mut blob = b64.decode(blob)?;
    *blob.get_mut(4 + index).ok_or_else(|| anyhow::anyhow!("signature too short"))? ^= 0x01;
    Ok(SignedCheckpoint::from_note(format!("{head} {}\n", b64.encode(blob))))
}

fn write(dir: &Path, name: &str, value: &Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(dir.join(name), text)?;
    Ok(())
}

/// A PDQ entry (spec/blocklists.md §2.1) and distances between hashes:
/// Meta's published hash of its sample photograph and of the same photograph
/// mirrored, and hashes a few bits apart.
fn pdq_vectors() -> anyhow::Result<Value> {
    let bridge: accord_proto::PdqHash = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
    let mirrored: accord_proto::PdqHash = "f8f80f31e0f417b20e37f5cd028f980fb36ed02a9662c1e233e64c634e9c64dd".parse()?;
    let entry = ListEntry::Add {
        created: Timestamp::from_millis(T0 + 20_000),
        target: Target::Pdq { hash: bridge },
        category: Category::Other,
        action: Action::Reject,
        reason: Some(accord_proto::text::Reason::new("example: Meta's PDQ sample photograph")?),
        evidence: None,
        expires: None,
    };
    let bytes = entry.to_bytes()?;
    let mut near = bridge;
    for (byte, mask) in [(0usize, 0x81u8), (5, 0x10), (17, 0xff), (31, 0x0f)] {
        near.0[byte] ^= mask;
    }
    let mut far = bridge;
    for i in 0..32 {
        far.0[i] = !far.0[i];
    }
    let pair = |a: &accord_proto::PdqHash, b: &accord_proto::PdqHash| json!({"a": a.to_string(), "b": b.to_string(), "distance": a.distance(b)});
    Ok(json!({
        "entry": {"json": String::from_utf8(bytes.clone())?, "leaf_hash": leaf_hash(&bytes).to_string()},
        "distances": [pair(&bridge, &near), pair(&bridge, &mirrored), pair(&bridge, &far), pair(&near, &near)],
    }))
}

/// The seeds of the witness of the vectors: its node's and its witness key's.
const WITNESS_SEEDS: (u8, u8) = (8, 11);

/// The witness of the vectors (spec/blocklists.md §13.3).
fn vector_witness() -> accord_proto::blocklist::witness::WitnessKey {
    let (node_seed, seed) = WITNESS_SEEDS;
    accord_proto::blocklist::witness::WitnessKey::of_node(&NodeId::from(key(node_seed).public()), key(seed).public())
}

/// A witness's key, its cosignature of the size-4 checkpoint and the
/// `add-checkpoint` request 3 → 4 (spec/blocklists.md §13).
fn witness_vectors(signed4: &SignedCheckpoint, log: &MerkleLog) -> anyhow::Result<Value> {
    use accord_proto::blocklist::witness::{AddCheckpoint, checkpoint_text, cosign, cosignature_message};
    let (node_seed, seed) = WITNESS_SEEDS;
    let witness = vector_witness();
    let text = checkpoint_text(signed4).ok_or_else(|| anyhow::anyhow!("no text"))?;
    let time = 1_764_000_014u64;
    let line = cosign(&key(seed), witness.name(), text, time);
    let request = AddCheckpoint { old_size: 3, proof: log.consistency_proof(3, 4)?, checkpoint: signed4.clone() };
    Ok(json!({
        "node_seed": hex::encode([node_seed; 32]),
        "seed": hex::encode([seed; 32]),
        "name": witness.name(),
        "key_id_hex": hex::encode(witness.key_id()),
        "verifier_key": witness.vkey(),
        "time": time,
        "message": String::from_utf8(cosignature_message(text, time))?,
        "cosignature": line,
        "request": request.to_body(),
    }))
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "spec/vectors".into()));
    std::fs::create_dir_all(&dir)?;

    // Keys and identifiers.
    let keys: Vec<Value> = [1u8, 2, 3, 9, 42]
        .iter()
        .map(|&b| {
            let k = key(b);
            let p = k.public();
            json!({
                "seed": hex::encode([b; 32]),
                "public_key_hex": hex::encode(p.as_bytes()),
                "public_key_base64": p.to_string(),
                "account_id": p.account_id().to_string(),
                "issuer_id": accord_proto::IssuerId::from(p).to_string(),
                "node_id": NodeId::from(p).to_string(),
                "peer_id_bytes_hex": hex::encode(NodeId::from(p).to_peer_id_bytes()),
            })
        })
        .collect();
    let hash_ids = {
        let h = accord_proto::Sha256Hash::digest(b"accord");
        json!({
            "sha256_of": "accord",
            "sha256_hex": h.to_string(),
            "event_id": EventId(h).to_string(),
            "room_id": RoomId(h).to_string(),
        })
    };
    let target_hashes: Vec<Value> = [
        (TargetKind::Account, key(2).account_id().to_string()),
        (TargetKind::Node, NodeId::from(key(9).public()).to_string()),
        (TargetKind::Content, accord_proto::Sha256Hash::digest(b"spam spam spam").to_string()),
    ]
    .into_iter()
    .map(|(kind, text)| json!({"kind": kind, "text": text, "target_hash": target_hash(kind, &text).to_string()}))
    .collect();
    write(
        &dir,
        "keys.json",
        &json!({
            "description": "Key seeds and the identifiers derived from them (spec/identities.md §1, spec/encoding.md §3).",
            "keys": keys,
            "hash_ids": hash_ids,
            "target_hashes": target_hashes,
        }),
    )?;

    // Identity, attestation, rotation.
    let (alice, node) = (key(1), key(9));
    let doc = Verified::sign(
        IdentityDocument {
            account: alice.account_id(),
            handle: Handle::parse("alice@example.org")?,
            home: NodeId::from(node.public()),
            created: Timestamp::from_millis(T0),
        },
        &alice,
    )?;
    let att = Verified::sign(
        Attestation {
            account: alice.account_id(),
            identity: doc.body_hash(),
            node: NodeId::from(node.public()),
            registered: Timestamp::from_millis(T0 + 5),
            level: VerificationLevel::Invited,
        },
        &node,
    )?;
    let new_alice = key(42);
    let rotation = SignedRotation::sign(
        &KeyRotation {
            old: alice.account_id(),
            new: new_alice.account_id(),
            ts: Timestamp::from_millis(T0 + 86_400_000),
        },
        &alice,
        &new_alice,
    )?;

    // A room history: create, join, messages, a ban racing a message.
    let bob = key(2);
    let carol = key(3);
    let mut events: Vec<Event> = Vec::new();
    let mut seq = 0;
    let mut stamp = |body: EventBody, author: &SecretKey, prev: Vec<EventId>, depth: u64| -> anyhow::Result<Event> {
        seq += 1;
        let signed = Verified::sign(body, author)?;
        Ok(Event::stamp(signed, &node, seq, prev, depth, Timestamp::from_millis(T0 + 1000 + seq))?)
    };
    let create = stamp(
        EventBody {
            room: None,
            author: alice.account_id(),
            ts: Timestamp::from_millis(T0 + 1000),
            content: EventContent::Create { name: "general".to_string().try_into()?, join_rule: JoinRule::Public },
        },
        &alice,
        vec![],
        0,
    )?;
    let room = create.room();
    let body = |author: &SecretKey, ms: u64, content: EventContent| EventBody {
        room: Some(room),
        author: author.account_id(),
        ts: Timestamp::from_millis(T0 + ms),
        content,
    };
    let join_bob = stamp(body(&bob, 2000, EventContent::Join {}), &bob, vec![create.id()], 1)?;
    let join_carol = stamp(body(&carol, 2001, EventContent::Join {}), &carol, vec![create.id()], 1)?;
    let mod_bob = stamp(
        body(&alice, 3000, EventContent::SetRole { target: bob.account_id(), role: Role::Moderator }),
        &alice,
        vec![join_bob.id(), join_carol.id()],
        2,
    )?;
    let hello = stamp(
        body(
            &alice,
            4000,
            EventContent::Message { text: "hello, room".to_string().try_into()?, reply_to: None, attachments: vec![] },
        ),
        &alice,
        vec![mod_bob.id()],
        3,
    )?;
    // Concurrent: carol's message and bob's ban of carol have the same depth;
    // the order (depth, id) decides whether the message is accepted.
    let carol_msg = stamp(
        body(
            &carol,
            5000,
            EventContent::Message {
                text: "buy pills here".to_string().try_into()?,
                reply_to: None,
                attachments: vec![],
            },
        ),
        &carol,
        vec![hello.id()],
        4,
    )?;
    let ban_carol = stamp(
        body(
            &bob,
            5001,
            EventContent::Ban { target: carol.account_id(), reason: Some("drug sales".to_string().try_into()?) },
        ),
        &bob,
        vec![hello.id()],
        4,
    )?;
    let after = stamp(
        body(
            &bob,
            6000,
            EventContent::Message {
                text: "removed a spammer".to_string().try_into()?,
                reply_to: Some(hello.id()),
                attachments: vec![],
            },
        ),
        &bob,
        vec![carol_msg.id(), ban_carol.id()],
        5,
    )?;
    events.extend([create, join_bob, join_carol, mod_bob, hello, carol_msg, ban_carol, after]);
    let timeline = resolve(room, &events).map_err(|e| anyhow::anyhow!("{e}"))?;
    let state = &timeline.state;

    let auth = Verified::sign(
        accord_proto::auth::AuthResponse {
            account: alice.account_id(),
            node: NodeId::from(node.public()),
            challenge: "q2VhbGx5IHJhbmRvbSBjaGFsbGVuZ2UgYnl0ZXMhISE=".into(),
            ts: Timestamp::from_millis(T0 + 60_000),
        },
        &alice,
    )?;
    // alice deletes her account (spec/identities.md §5), a day later.
    let deletion = Verified::sign(
        accord_proto::identity::AccountDeletion {
            account: alice.account_id(),
            home: NodeId::from(node.public()),
            ts: Timestamp::from_millis(T0 + 86_400_000),
        },
        &alice,
    )?;
    // Node B's policy manifest (spec/federation.md §7): it declares that it
    // enforces the list of blocklist.json (issuer 09…09, name `abuse`) and
    // holds all four of its entries; checked against that list below.
    let node_b = key(11);
    let manifest = Verified::sign(
        PolicyManifest {
            node: NodeId::from(node_b.public()),
            name: None,
            lists: vec![DeclaredList {
                list: ListId { issuer: node.public().into(), name: "abuse".parse()? },
                size: 4,
            }],
            time: Timestamp::from_millis(T0 + 20_000),
        },
        &node_b,
    )?;
    // A message with two attachments (spec/events.md §2.3): a photo (its
    // dimensions) and a PDF (none). The hashes stand for files' bytes.
    let photo = Verified::sign(
        body(
            &alice,
            7000,
            EventContent::Message {
                text: "the harbour at dawn".to_string().try_into()?,
                reply_to: None,
                attachments: vec![
                    Attachment {
                        hash: accord_proto::Sha256Hash::digest(b"accord attachment: a jpeg"),
                        size: 48_213,
                        media_type: MediaType::Jpeg,
                        width: Some(640),
                        height: Some(480),
                    },
                    Attachment {
                        hash: accord_proto::Sha256Hash::digest(b"accord attachment: a pdf"),
                        size: 1_024,
                        media_type: MediaType::Pdf,
                        width: None,
                        height: None,
                    },
                ],
            },
        ),
        &alice,
    )?;
    // A report carrying carol's message as evidence.
    let report = Verified::sign(
        ReportBody {
            reporter: alice.account_id(),
            category: Category::Drugs,
            subject: None,
            evidence: vec![events[5].to_unverified()],
            context: vec![events[4].to_unverified()],
            comment: Some("selling drugs to members".to_string().try_into()?),
            ts: Timestamp::from_millis(T0 + 7000),
        },
        &alice,
    )?;
    let verified = Report::verify(&report.to_unverified()).map_err(|e| anyhow::anyhow!("{e}"))?;
    // carol appeals the block of that case (spec/reports.md §15): the
    // decision is the block action of audit.json (node 05…05, moderator
    // 06…06), and a second moderator (07…07) overturns it.
    let audit_node = key(5);
    let audit_list = ListId { issuer: audit_node.public().into(), name: "abuse".parse()? };
    let block = Verified::sign(
        ModAction {
            node: NodeId::from(audit_node.public()),
            moderator: Moderator::Account(key(6).account_id()),
            case: verified.id(),
            action: Verdict::Block,
            list: Some(audit_list),
            reason: Some(Reason::new("sells drugs in the room")?),
            expires: None,
            assignee: None,
            report: None,
            appeal: None,
            ts: Timestamp::from_millis(1_764_000_100_000),
        },
        &key(6),
    )?;
    let appeal = Verified::sign(
        AppealBody {
            account: carol.account_id(),
            node: NodeId::from(audit_node.public()),
            case: verified.id(),
            decision: block.body_hash(),
            reason: "I was quoting the spammer to warn the room".to_string().try_into()?,
            ts: Timestamp::from_millis(1_764_000_400_000),
        },
        &carol,
    )?;
    let overturn = Verified::sign(
        ModAction {
            node: NodeId::from(audit_node.public()),
            moderator: Moderator::Account(key(7).account_id()),
            case: verified.id(),
            action: Verdict::Overturn,
            list: None,
            reason: Some(Reason::new("a warning, not an offer")?),
            expires: None,
            assignee: None,
            report: None,
            appeal: Some(appeal.body_hash()),
            ts: Timestamp::from_millis(1_764_000_500_000),
        },
        &key(7),
    )?;
    write(
        &dir,
        "envelopes.json",
        &json!({
            "description": "Signed envelopes: signing input = domain tag || 0x00 || body; Ed25519 over it (spec/encoding.md §2).",
            "cases": [
                envelope_case("identity document", 1, &doc),
                envelope_case("attestation", 9, &att),
                envelope_case("event body (create)", 1, events[0].body()),
                envelope_case("origin stamp (create)", 9, events[0].stamp_part()),
                envelope_case("auth response", 1, &auth),
                envelope_case("policy manifest", 11, &manifest),
                envelope_case("event body (message with attachments)", 1, &photo),
                envelope_case("account deletion", 1, &deletion),
                envelope_case("appeal of audit.json's block", 3, &appeal),
                envelope_case("mod action (overturn of that appeal)", 7, &overturn),
            ],
            "rotation": {
                "old_seed": hex::encode([1u8; 32]),
                "new_seed": hex::encode([42u8; 32]),
                "domain": Domain::Rotation.tag(),
                "signed": rotation,
            },
        }),
    )?;

    // Media fetch frames (spec/federation.md §10): a request for the
    // second chunk of a 300,000-byte blob, and one answer of each status.
    let blob_hash = accord_proto::Sha256Hash::digest(b"accord attachment: a jpeg");
    let request = MediaRequest { hash: blob_hash, offset: 262_144, length: MAX_CHUNK };
    let chunk = MediaResponse::Chunk { total: 300_000, bytes: vec![0xff, 0xd8, 0xff, 0xe0] };
    let mut short = request.encode().to_vec();
    short.pop();
    let mut zero = request.encode();
    zero[40..].copy_from_slice(&0u32.to_be_bytes());
    let mut over = request.encode();
    over[40..].copy_from_slice(&(MAX_CHUNK + 1).to_be_bytes());
    write(
        &dir,
        "media.json",
        &json!({
            "description": "Media fetch frames on /accord/media/1 (spec/federation.md §10): a 44-byte request (hash, offset u64 BE, length u32 BE) for the second chunk of a 300,000-byte blob; a chunk answer (status 0, total u64 BE, the bytes) and the three other statuses; requests that must be refused (43 bytes, length 0, length 262145).",
            "request": {
                "hash": blob_hash.to_string(),
                "offset": request.offset,
                "length": request.length,
                "hex": hex::encode(request.encode()),
            },
            "responses": [
                {"status": 0, "total": 300_000, "bytes_hex": "ffd8ffe0", "hex": hex::encode(chunk.encode())},
                {"status": 1, "hex": hex::encode(MediaResponse::NotFound.encode())},
                {"status": 2, "hex": hex::encode(MediaResponse::RateLimited.encode())},
                {"status": 3, "hex": hex::encode(MediaResponse::BadRequest.encode())},
            ],
            "refused_requests_hex": [hex::encode(short), hex::encode(zero), hex::encode(over)],
        }),
    )?;

    write(
        &dir,
        "room.json",
        &json!({
            "description": "A room history with a ban racing a message; order = sort by (depth, event id bytes); history hash chain (spec/events.md §4-§6).",
            "node_seed": hex::encode([9u8; 32]),
            "room_id": room.to_string(),
            "events": events.iter().map(event_json).collect::<Vec<_>>(),
            "order": timeline.order.iter().map(|(id, v)| json!({
                "id": id.to_string(),
                "accepted": v.is_ok(),
                "reason": v.as_ref().err().map(|e| e.code()),
            })).collect::<Vec<_>>(),
            "state": {
                "members": state.members().iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                "bans": state.bans().iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                "roles": state.roles().iter().map(|(a, r)| json!([a.to_string(), r])).collect::<Vec<_>>(),
                "history_hash": state.history_hash().to_string(),
                "accepted": state.accepted(),
            },
        }),
    )?;

    // Merkle known answers (RFC 6962 test leaves) and proofs.
    let kat_leaves: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        (0x60..=0x6f).collect(),
    ];
    let mut log = MerkleLog::new();
    let mut roots = vec![];
    for leaf in &kat_leaves {
        log.push(leaf);
        roots.push(json!({"size": log.size(), "root": log.root().to_string()}));
    }
    let mut inclusion = vec![];
    for (index, size) in [(0u64, 1u64), (0, 8), (5, 8), (2, 3), (1, 5)] {
        inclusion.push(json!({
            "index": index, "size": size,
            "leaf_hash": leaf_hash(&kat_leaves[index as usize]).to_string(),
            "proof": log.inclusion_proof(index, size)?.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
            "root": log.root_at(size)?.to_string(),
        }));
    }
    let mut consistency = vec![];
    for (old, new) in [(1u64, 1u64), (1, 8), (6, 8), (2, 5), (3, 7), (4, 8)] {
        consistency.push(json!({
            "old": old, "new": new,
            "old_root": log.root_at(old)?.to_string(),
            "new_root": log.root_at(new)?.to_string(),
            "proof": log.consistency_proof(old, new)?.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
        }));
    }
    write(
        &dir,
        "merkle.json",
        &json!({
            "description": "RFC 9162 Merkle hashing. Leaves are the test inputs of RFC 6962's reference implementation (certificate-transparency merkle_tree_test.cc); the roots match its published values.",
            "empty_root": accord_proto::blocklist::merkle::empty_root().to_string(),
            "leaves_hex": kat_leaves.iter().map(hex::encode).collect::<Vec<_>>(),
            "roots": roots,
            "inclusion": inclusion,
            "consistency": consistency,
        }),
    )?;

    // A list with entries and a signed checkpoint.
    let issuer = key(9);
    let list = ListId { issuer: issuer.public().into(), name: "abuse".parse()? };
    let entries = vec![
        ListEntry::Add {
            created: Timestamp::from_millis(T0 + 10_000),
            target: Target::Account { id: carol.account_id() },
            category: Category::Drugs,
            action: Action::Reject,
            reason: Some("drug sales in public rooms".to_string().try_into()?),
            evidence: Some(accord_proto::Sha256Hash::digest(b"report")),
            expires: None,
        },
        ListEntry::Add {
            created: Timestamp::from_millis(T0 + 11_000),
            target: Target::Account { id: bob.account_id() }.to_hashed(),
            category: Category::Grooming,
            action: Action::Quarantine,
            reason: None,
            evidence: None,
            expires: Some(Timestamp::from_millis(T0 + 86_400_000)),
        },
        ListEntry::Add {
            created: Timestamp::from_millis(T0 + 12_000),
            target: Target::Content { id: accord_proto::ContentHash::of(b"buy pills here") },
            category: Category::Spam,
            action: Action::Reject,
            reason: None,
            evidence: None,
            expires: None,
        },
        ListEntry::Remove {
            created: Timestamp::from_millis(T0 + 13_000),
            entry: 1,
            reason: Some("mistaken identity".to_string().try_into()?),
        },
    ];
    let mut list_log = MerkleLog::new();
    let mut leaves = vec![];
    for e in &entries {
        let bytes = e.to_bytes()?;
        list_log.push(&bytes);
        leaves.push(json!({"json": String::from_utf8(bytes.clone())?, "leaf_hash": leaf_hash(&bytes).to_string()}));
    }
    let cp3 = Checkpoint {
        list: list.clone(),
        size: 3,
        root: list_log.root_at(3)?,
        time: Timestamp::from_millis(T0 + 12_500),
    };
    let cp4 =
        Checkpoint { list: list.clone(), size: 4, root: list_log.root(), time: Timestamp::from_millis(T0 + 13_500) };
    let signed3 = cp3.sign(&issuer)?;
    let signed4 = cp4.sign(&issuer)?;
    anyhow::ensure!(
        manifest.lists == [DeclaredList { list: list.clone(), size: cp4.size }],
        "node B's manifest must declare blocklist.json's list with its size"
    );
    write(
        &dir,
        "blocklist.json",
        &json!({
            "description": "A list's entries (Merkle leaves), two signed checkpoints and the consistency proof between them (spec/blocklists.md).",
            "issuer_seed": hex::encode([9u8; 32]),
            "list_id": list.to_string(),
            "origin": list.origin(),
            "key_id_hex": hex::encode(accord_proto::blocklist::checkpoint::key_id(&list.issuer.to_string(), &issuer.public())),
            "verifier_key": accord_proto::blocklist::checkpoint::verifier_key(&list.issuer.to_string(), &issuer.public()),
            "entries": leaves,
            "checkpoints": [
                {"size": 3, "text": cp3.to_text(), "note": signed3.note()},
                {"size": 4, "text": cp4.to_text(), "note": signed4.note()},
            ],
            "consistency_3_4": list_log.consistency_proof(3, 4)?.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
            "inclusion_0_of_4": list_log.inclusion_proof(0, 4)?.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
            "pdq": pdq_vectors()?,
            "witness": witness_vectors(&signed4, &list_log)?,
        }),
    )?;

    // Equivocation: a forked log of size 4 that replaces the last entry.
    let mut fork = MerkleLog::new();
    for e in &entries[..3] {
        fork.push(&e.to_bytes()?);
    }
    fork.push(b"{\"op\":\"remove\",\"created\":1764000013000,\"entry\":0}");
    let fork4 =
        Checkpoint { list: list.clone(), size: 4, root: fork.root(), time: Timestamp::from_millis(T0 + 13_600) }
            .sign(&issuer)?;
    let v4 = signed4.verify(&list)?;
    let vf4 = fork4.verify(&list)?;
    let same_size = EquivocationProof::build(&v4, &vf4, &fork).ok_or_else(|| anyhow::anyhow!("no proof"))?;
    // Fork at size 2 then grown to 5: the size-3 checkpoint above is not a prefix of it.
    let mut fork5 = MerkleLog::new();
    for e in &entries[..2] {
        fork5.push(&e.to_bytes()?);
    }
    for extra in [&entries[3], &entries[2], &entries[3]] {
        fork5.push(&extra.to_bytes()?);
    }
    let fork5cp =
        Checkpoint { list: list.clone(), size: 5, root: fork5.root(), time: Timestamp::from_millis(T0 + 14_000) }
            .sign(&issuer)?;
    let v3 = signed3.verify(&list)?;
    let vf5 = fork5cp.verify(&list)?;
    let fork_proof = EquivocationProof::build(&v3, &vf5, &fork5).ok_or_else(|| anyhow::anyhow!("no proof"))?;
    write(
        &dir,
        "equivocation.json",
        &json!({
            "description": "Equivocation proofs: two checkpoints signed by the issuer that cannot both be true (spec/blocklists.md §6).",
            "same_size": same_size,
            "fork": fork_proof,
        }),
    )?;

    // Federation (spec/federation.md §3): the identity fetch of envelopes.json,
    // then one example of every other message, carrying room.json's events.
    let fed_request = FedRequest::Identities { accounts: vec![alice.account_id()] };
    let pair = |d: &Verified<IdentityDocument>, a: &Verified<Attestation>| IdentityPair {
        identity: d.raw().clone(),
        attestation: a.raw().clone(),
    };
    let alice_pair = pair(&doc, &att);
    let fed_response = FedResponse::Identities { identities: vec![alice_pair.clone()] };
    let fed_error = FedResponse::Error { code: "too_many".into(), message: "at most 64 accounts per request".into() };
    // Identity pairs of bob and carol (homed at the room's node) and of dave,
    // homed at a second node B that asks to join the room for him.
    let identity_pair = |account: &SecretKey,
                         handle: &str,
                         home: &SecretKey,
                         ms: u64,
                         level: VerificationLevel|
     -> anyhow::Result<IdentityPair> {
        let d = Verified::sign(
            IdentityDocument {
                account: account.account_id(),
                handle: Handle::parse(handle)?,
                home: NodeId::from(home.public()),
                created: Timestamp::from_millis(T0 + ms),
            },
            account,
        )?;
        let a = Verified::sign(
            Attestation {
                account: account.account_id(),
                identity: d.body_hash(),
                node: NodeId::from(home.public()),
                registered: Timestamp::from_millis(T0 + ms + 5),
                level,
            },
            home,
        )?;
        Ok(pair(&d, &a))
    };
    let dave = key(4);
    let bob_pair = identity_pair(&bob, "bob@example.org", &node, 1, VerificationLevel::Open)?;
    let carol_pair = identity_pair(&carol, "carol@example.org", &node, 2, VerificationLevel::Open)?;
    let dave_pair = identity_pair(&dave, "dave@example.net", &node_b, 3, VerificationLevel::Verified)?;
    let wire = |range: std::ops::Range<usize>| events[range].iter().map(Event::to_unverified).collect::<Vec<_>>();
    let messages = [
        (
            "push",
            serde_json::to_value(FedRequest::Push { room, events: wire(4..5), identities: vec![alice_pair.clone()] })?,
        ),
        (
            "pushed",
            serde_json::to_value(FedResponse::Pushed {
                outcomes: vec![
                    PushOutcome::Accepted { event: events[4].id() },
                    PushOutcome::Duplicate { event: events[3].id() },
                    PushOutcome::Retry { event: events[7].id(), code: "missing_prev".into() },
                    PushOutcome::Refused { event: events[5].id(), code: "not_home".into() },
                ],
            })?,
        ),
        (
            "sync",
            serde_json::to_value(FedRequest::Sync {
                room,
                held: [(NodeId::from(node.public()), 5), (NodeId::from(node_b.public()), 2)].into_iter().collect(),
            })?,
        ),
        (
            "sync_answer",
            // In ascending order key (depth, id), a causal order: bob's ban
            // (seq 7) before carol's message (seq 6), of equal depth.
            serde_json::to_value(FedResponse::Events {
                events: [6, 5, 7].map(|i| events[i].to_unverified()).to_vec(),
                identities: vec![bob_pair.clone(), carol_pair.clone()],
                more: false,
                next: 0,
            })?,
        ),
        ("fetch", serde_json::to_value(FedRequest::Events { room, ids: vec![events[3].id(), events[4].id()] })?),
        ("join", serde_json::to_value(FedRequest::Join { room, joiner: Box::new(dave_pair), after: 0 })?),
        (
            "join_answer",
            serde_json::to_value(FedResponse::Events {
                events: wire(0..8),
                identities: vec![alice_pair, bob_pair, carol_pair],
                more: false,
                next: 8,
            })?,
        ),
    ];
    // A list range fetch (spec/federation.md §3.9, spec/blocklists.md §10):
    // a subscriber holding blocklist.json's first three entries (its size-3
    // checkpoint) asks from index 3 and gets the size-4 checkpoint with the
    // fourth leaf. Nothing new is signed: the leaves held plus the one
    // answered make the signed root.
    let held = cp3.size;
    let leaf_texts: Vec<String> =
        entries.iter().map(|e| Ok(String::from_utf8(e.to_bytes()?)?)).collect::<anyhow::Result<_>>()?;
    let range_request =
        FedRequest::ListEntries { list: list.clone(), from: held, limit: MAX_LIST_ENTRIES_PER_RESPONSE as u64 };
    let range_answer =
        FedResponse::ListEntries { checkpoint: signed4.clone(), entries: leaf_texts[held as usize..].to_vec() };
    let mut subscriber = MerkleLog::new();
    for leaf in leaf_texts[..held as usize].iter().chain(&leaf_texts[held as usize..]) {
        subscriber.push(leaf.as_bytes());
    }
    anyhow::ensure!(
        subscriber.size() == cp4.size && subscriber.root() == cp4.root,
        "the answered range does not make the signed root"
    );
    // Node 9 asks node B for its policy manifest (spec/federation.md §7.2);
    // the same envelope is what node B publishes on the manifests topic.
    let manifest_bytes = serde_json::to_vec(manifest.raw())?;
    anyhow::ensure!(manifest_bytes.len() <= MAX_GOSSIP_BYTES, "manifest over the gossip limit");
    accord_proto::Unverified::<PolicyManifest>::from_raw(serde_json::from_slice(&manifest_bytes)?).verify()?;
    let messages = messages.into_iter().chain([
        ("list_entries", serde_json::to_value(range_request)?),
        ("list_entries_answer", serde_json::to_value(range_answer)?),
        ("manifest", serde_json::to_value(FedRequest::Manifest {})?),
        (
            "manifest_answer",
            serde_json::to_value(FedResponse::Manifest { manifest: Box::new(manifest.raw().clone()) })?,
        ),
        ("lists", serde_json::to_value(FedRequest::Lists {})?),
        (
            "lists_answer",
            serde_json::to_value(FedResponse::Lists {
                lists: vec![IssuedList {
                    list: list.clone(),
                    description: Some("abuse confirmed by the moderators of node 9".into()),
                    witnesses: vec![vector_witness().vkey()],
                    checkpoint: signed4.clone(),
                }],
            })?,
        ),
    ]);
    // Gossip (spec/federation.md §1.3): blocklist.json's latest checkpoint
    // announced on the lists topic, and the same announcement with byte 10
    // of the issuer's Ed25519 signature flipped.
    let announcement = ListAnnouncement { list: list.clone(), checkpoint: signed4.clone() };
    let bad_announcement = ListAnnouncement { list: list.clone(), checkpoint: flip_signature_byte(&signed4, 10)? };
    ListAnnouncement::verify(&serde_json::to_vec(&announcement)?).map_err(|e| anyhow::anyhow!("announcement: {e}"))?;
    let refused = ListAnnouncement::verify(&serde_json::to_vec(&bad_announcement)?).err();
    anyhow::ensure!(refused.as_deref() == Some("bad_signature"), "bad announcement: {refused:?}");
    // The fork proof of equivocation.json, as a node that detected it
    // publishes it on the equivocation topic (spec/blocklists.md §10.6).
    let proof_bytes = serde_json::to_vec(&fork_proof)?;
    anyhow::ensure!(proof_bytes.len() <= MAX_GOSSIP_BYTES, "equivocation proof over the gossip limit");
    serde_json::from_slice::<EquivocationProof>(&proof_bytes)?.verify()?;
    write(
        &dir,
        "federation.json",
        &json!({
            "description": "Node-to-node messages on /accord/federation/1 (spec/federation.md §3). `request`, `response` and `error` are exact texts: an identity fetch, its answer (the identity document and attestation of envelopes.json) and an error. `messages` holds one example of every other message as a JSON value, carrying events of room.json: node 9 pushes alice's \"hello, room\"; a push answer with one outcome of each status; node B (seed 0b…0b), which holds node 9's events up to seq 5 and its own up to seq 2, syncs and gets node 9's events 6-8 in ascending order key (depth, id); an event fetch; node B asks to join the public room for dave (seed 04…04, homed at B) and gets node 9's whole timeline; a subscriber of blocklist.json's list that holds its first three entries asks for the entries from index 3 (`list_entries`) and gets the size-4 checkpoint and the fourth leaf (`list_entries_answer`), which with the three held make the signed root (spec/blocklists.md §10); node 9 asks node B for its policy manifest (`manifest`) and gets it (`manifest_answer`): signed by node B in domain accord/v1/manifest, it declares blocklist.json's list with its size, 4 (spec/federation.md §7; the same envelope is the `policy manifest` case of envelopes.json); node B asks node 9, the issuer of blocklist.json's list, for the lists it issues (`lists`) and gets that list with a description, the verifier key of blocklist.json's witness and the size-4 checkpoint (`lists_answer`, spec/federation.md §3.12). `gossip` holds a list announcement on the gossipsub topic (spec/federation.md §1.3), a JSON value: the list and size-4 checkpoint of blocklist.json; the same announcement with byte 10 of the issuer's Ed25519 signature flipped, which must fail verification (bad_signature); on the equivocation topic, the `fork` proof of equivocation.json as a node that detected it publishes it; and the manifests topic, on which a node publishes its signed manifest envelope, as in `manifest_answer`. `room_provider` is the Kademlia key under which the hosts of room.json's room announce it (spec/federation.md §1.4): SHA-256 of the domain, a zero byte and the room id's 32 bytes. `push_stream` is the push stream (spec/federation.md §1.2a): its protocol, `request` as one frame of it (`frame`, hex: the length as 4 bytes big-endian, then the bytes), the limits of a request's and an answer's length, and length prefixes a reader of requests refuses, each with the length it announces and its code.",
            "protocol": accord_proto::federation::PROTOCOL,
            "push_stream": {
                "protocol": PUSH_STREAM_PROTOCOL,
                "frame": hex::encode(
                    push_stream_frame(serde_json::to_string(&fed_request)?.as_bytes())
                        .ok_or_else(|| anyhow::anyhow!("the request is no frame"))?
                ),
                "request_limit": MAX_REQUEST_BYTES,
                "response_limit": MAX_RESPONSE_BYTES,
                "refused_requests": [
                    { "prefix": "00000000", "length": 0, "code": "bad_request" },
                    {
                        "prefix": hex::encode(u32::try_from(MAX_REQUEST_BYTES + 1)?.to_be_bytes()),
                        "length": MAX_REQUEST_BYTES + 1,
                        "code": "too_large",
                    },
                    { "prefix": "ffffffff", "length": u32::MAX, "code": "too_large" },
                ],
            },
            "gossip": {
                "topic": accord_proto::federation::LISTS_TOPIC,
                "announcement": announcement,
                "announcement_bad_signature": bad_announcement,
                "equivocation_topic": EQUIVOCATION_TOPIC,
                "equivocation": fork_proof,
                "manifests_topic": MANIFESTS_TOPIC,
            },
            "room_provider": {
                "domain": accord_proto::federation::ROOM_PROVIDER_DOMAIN,
                "room": room,
                "key": accord_proto::federation::room_provider_key(&room).to_string(),
            },
            "request": serde_json::to_string(&fed_request)?,
            "response": serde_json::to_string(&fed_response)?,
            "error": serde_json::to_string(&fed_error)?,
            "seeds": {
                "alice": hex::encode([1u8; 32]),
                "bob": hex::encode([2u8; 32]),
                "carol": hex::encode([3u8; 32]),
                "dave": hex::encode([4u8; 32]),
                "node": hex::encode([9u8; 32]),
                "node_b": hex::encode([11u8; 32]),
            },
            "messages": messages.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<serde_json::Map<_, _>>(),
        }),
    )?;

    write(
        &dir,
        "report.json",
        &json!({
            "description": "A report signed by the reporter, carrying the offending event and one event of context (spec/reports.md).",
            "reporter_seed": hex::encode([1u8; 32]),
            "report_id": verified.id().to_string(),
            "accused": verified.accused().iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "signed": report,
        }),
    )?;
    write(&dir, "names.json", &names_vectors()?)?;
    write(&dir, "list_pages.json", &list_page_vectors(&list, held, &signed4, &leaf_texts)?)?;
    let _ = SignedBytes::sign;
    Ok(())
}

/// Verified node names (spec/names.md): patterns of names, `domain`
/// entries, a name proof and proofs that are refused.
/// Binary list pages on `/accord/list-pages/1` (spec/federation.md §3.13):
/// the range fetch of federation.json's `list_entries` as a page request and
/// its page, an error page, and frames a reader must refuse, each with its
/// code.
fn list_page_vectors(
    list: &accord_proto::ListId,
    held: u64,
    checkpoint: &SignedCheckpoint,
    leaf_texts: &[String],
) -> anyhow::Result<Value> {
    use accord_proto::list_page::{ListPage, ListPageRequest, ListPageResponse, MAX_PAGE_LEAVES};
    let request = ListPageRequest { list: list.clone(), from: held, limit: MAX_PAGE_LEAVES as u32 };
    let leaves: Vec<Vec<u8>> = leaf_texts[held as usize..].iter().map(|l| l.clone().into_bytes()).collect();
    let page = ListPageResponse::Page(ListPage::filled(checkpoint.clone(), leaves.clone()));
    let page_bytes = page.encode();
    anyhow::ensure!(ListPageResponse::decode(&page_bytes)? == page, "the page does not round-trip");
    let error = ListPageResponse::error("unknown_list", "this node does not hold that list");
    let request_bytes = request.encode();
    let note_len = checkpoint.note().len();
    let count_at = 1 + 2 + note_len;
    let with_count = |n: u32| [&page_bytes[..count_at], &n.to_be_bytes()[..], &page_bytes[count_at + 4..]].concat();
    let mut long_leaf = page_bytes[..count_at + 4].to_vec();
    long_leaf.extend_from_slice(&4097u16.to_be_bytes());
    long_leaf.extend_from_slice(b"xyz");
    let refused_pages: Vec<(&str, &str, Vec<u8>)> = vec![
        ("the page cut inside its leaf", "page_truncated", page_bytes[..page_bytes.len() - 1].to_vec()),
        ("the page with a byte after its leaf", "page_trailing_bytes", [&page_bytes[..], &[0]].concat()),
        ("a leaf count of 16385", "page_bad_length", with_count(MAX_PAGE_LEAVES as u32 + 1)),
        ("a leaf count of 2 with one leaf", "page_truncated", with_count(2)),
        ("a leaf length of 4097", "page_bad_length", long_leaf),
        ("a leaf length of 0", "page_bad_length", [&page_bytes[..count_at + 4], &[0, 0][..], b"xyz"].concat()),
        ("a checkpoint length of 0", "page_bad_length", vec![0, 0, 0]),
        ("status 2", "page_bad_status", vec![2]),
        ("an error code with a capital", "page_bad_text", vec![1, 1, b'X', 0, 0]),
    ];
    let refused_requests: Vec<(&str, &str, Vec<u8>)> = vec![
        ("the request cut short", "page_truncated", request_bytes[..request_bytes.len() - 1].to_vec()),
        ("a limit of 0", "page_bad_length", [&request_bytes[..request_bytes.len() - 4], &[0u8; 4][..]].concat()),
        ("a list id length of 0", "page_bad_length", vec![0]),
        ("a list id that is none", "page_bad_text", [&[3u8][..], b"x/y", &[0u8; 12][..]].concat()),
        ("a byte after the limit", "page_trailing_bytes", [&request_bytes[..], &[0]].concat()),
    ];
    let refused = |cases: Vec<(&str, &str, Vec<u8>)>, decode: &dyn Fn(&[u8]) -> Option<&'static str>| {
        cases
            .into_iter()
            .map(|(what, code, bytes)| {
                anyhow::ensure!(decode(&bytes) == Some(code), "{what}: {:?}, not {code}", decode(&bytes));
                Ok(json!({"name": what, "code": code, "hex": hex::encode(&bytes)}))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    };
    Ok(json!({
        "description": "Binary list pages on /accord/list-pages/1 (spec/federation.md §3.13), integers big-endian. `request`: the subscriber of federation.json's `list_entries` (holding the first three entries of blocklist.json's list) asks from index 3 for up to 16384 leaves: the list id's length (u8) and text, `from` (u64), `limit` (u32). `page`: the answer, status 0, the size-4 checkpoint of blocklist.json behind its length (u16), the leaf count (u32) and the fourth leaf behind its length (u16); with the three held its leaves make the signed root (spec/blocklists.md §10.4). `error`: status 1, a code behind its length (u8), a message behind its length (u16). `refused_pages` and `refused_requests`: frames a reader refuses, each with its code; `limits`: the bounds of §3.13.",
        "protocol": accord_proto::list_page::LIST_PAGES_PROTOCOL,
        "limits": {
            "max_page_leaves": MAX_PAGE_LEAVES,
            "max_page_bytes": accord_proto::list_page::MAX_PAGE_BYTES,
            "max_request_bytes": accord_proto::list_page::MAX_PAGE_REQUEST_BYTES,
            "max_leaf_bytes": accord_proto::limits::MAX_LIST_ENTRY,
            "max_checkpoint_bytes": accord_proto::limits::MAX_CHECKPOINT_NOTE,
        },
        "request": {"list": list.to_string(), "from": held, "limit": MAX_PAGE_LEAVES, "hex": hex::encode(&request_bytes)},
        "page": {
            "checkpoint": checkpoint.note(),
            "leaves": leaf_texts[held as usize..],
            "hex": hex::encode(&page_bytes),
        },
        "error": {"code": "unknown_list", "message": "this node does not hold that list", "hex": hex::encode(error.encode())},
        "refused_pages": refused(refused_pages, &|b| ListPageResponse::decode(b).err().map(|e| e.code()))?,
        "refused_requests": refused(refused_requests, &|b| ListPageRequest::decode(b).err().map(|e| e.code()))?,
    }))
}

fn names_vectors() -> anyhow::Result<Value> {
    use accord_proto::names::{DomainName, DomainPattern, NameProof, check_name_proof};
    let node_b = key(11);
    let b = NodeId::from(node_b.public());
    let name: DomainName = "chat.example.org".parse()?;
    let proof_of = |name: &DomainName, node: NodeId, issued: u64, expires: u64, addrs: Vec<String>| NameProof {
        name: name.clone(),
        node,
        addrs,
        issued: Timestamp::from_millis(issued),
        expires: Timestamp::from_millis(expires),
    };
    let days = 24 * 3600 * 1000;
    let good = Verified::sign(
        proof_of(&name, b, T0, T0 + 30 * days, vec![format!("/dns4/chat.example.org/tcp/4001/p2p/{b}")]),
        &node_b,
    )?;
    let at = Timestamp::from_millis(T0 + days);
    let doc = serde_json::to_string(good.raw())?;
    check_name_proof(doc.as_bytes(), &b, &name, at)?;
    // Refused: another key signed it (a valid signature of node 9 over
    // node B's body), it names node 9, it expired.
    let mut forged = good.raw().clone();
    forged.signer = key(9).public();
    forged.sig = key(9).sign_raw(&Domain::NodeName.signing_input(&forged.body));
    let node9 = NodeId::from(key(9).public());
    let other = Verified::sign(proof_of(&name, node9, T0, T0 + 30 * days, vec![]), &key(9))?;
    let expired = Verified::sign(proof_of(&name, b, T0 - 2 * days, T0, vec![]), &node_b)?;
    let mut refused = Vec::new();
    for (what, signed) in [
        ("signed by node 9, body names node B", forged),
        ("names node 9", other.raw().clone()),
        ("expired", expired.raw().clone()),
    ] {
        let text = serde_json::to_string(&signed)?;
        let code = check_name_proof(text.as_bytes(), &b, &name, at).err().map(|e| e.code()).unwrap_or("accepted");
        anyhow::ensure!(code != "accepted", "{what}: must be refused");
        refused.push(json!({"what": what, "document": text, "code": code}));
    }
    let patterns: Vec<Value> = ["a.b.example.org", "example.org", "xn--bcher-kva.example"]
        .iter()
        .map(|n| -> anyhow::Result<Value> {
            let n: DomainName = n.parse()?;
            Ok(json!({"name": n.to_string(), "patterns": n.patterns().iter().map(ToString::to_string).collect::<Vec<_>>()}))
        })
        .collect::<anyhow::Result<_>>()?;
    let entries: Vec<Value> = [
        ("*.badplace.example", Category::Harassment, Some("harassment campaigns organised here")),
        ("spam.example.net", Category::Spam, None),
    ]
    .iter()
    .map(|(pattern, category, reason)| -> anyhow::Result<Value> {
        let pattern: DomainPattern = pattern.parse()?;
        let target = Target::Domain { name: pattern.clone() };
        let entry = ListEntry::Add {
            created: Timestamp::from_millis(T0 + 30_000),
            target: target.clone(),
            category: *category,
            action: Action::Reject,
            reason: reason.map(accord_proto::text::Reason::new).transpose()?,
            evidence: None,
            expires: None,
        };
        let bytes = entry.to_bytes()?;
        Ok(json!({
            "json": String::from_utf8(bytes.clone())?,
            "leaf_hash": leaf_hash(&bytes).to_string(),
            "target_hash": target_hash(TargetKind::Domain, &pattern.to_string()).to_string(),
            "hashed_target": serde_json::to_string(&target.to_hashed())?,
        }))
    })
    .collect::<anyhow::Result<_>>()?;
    Ok(json!({
        "description": "Verified node names (spec/names.md). `patterns`: the domain patterns of a name, in order (§1). `entries`: `domain` list entries (spec/blocklists.md §2.2) with their leaf hash, target hash target_hash(\"domain\", PATTERN) and hashed form. `proof`: node B (seed 0b…0b) proves chat.example.org, checked at `checked_at` (the envelope case has the signing input). `refused`: documents that must be refused when node B's claim to chat.example.org is checked at `checked_at`, with the code (§3).",
        "patterns": patterns,
        "entries": entries,
        "proof": {
            "node": b.to_string(),
            "name": name.to_string(),
            "checked_at": at.as_millis(),
            "document": doc,
            "case": envelope_case("name proof", 11, &good),
        },
        "refused": refused,
    }))
}

//! The committed test vectors in `spec/vectors/` hold for this
//! implementation, and changing any value in them is detected.
//!
//! The checks recompute every value from the seeds and inputs in the files
//! (signing is deterministic) and compare; they never write the files.

use accord_proto::audit::{AuditError, AuditHead, AuditLog, ModAction, Moderator, Verdict, audit_tree};
use accord_proto::auth::AuthResponse;
use accord_proto::blocklist::checkpoint::key_id;
use accord_proto::blocklist::merkle::{MerkleLog, empty_root, leaf_hash, verify_consistency, verify_inclusion};
use accord_proto::blocklist::{EquivocationProof, ListEntry, SignedCheckpoint, Target, TargetKind, target_hash};
use accord_proto::event::{Event, EventBody, OriginStamp, UnverifiedEvent};
use accord_proto::federation::IdentityPair;
use accord_proto::identity::{Attestation, IdentityDocument, SignedRotation};
use accord_proto::policy::{DeclaredList, MAX_MANIFEST_LISTS, PolicyManifest};
use accord_proto::report::{Report, ReportBody};
use accord_proto::room::resolve;
use accord_proto::{
    AccountId, Domain, EventId, IssuerId, ListId, NodeId, PdqHash, RoomId, SecretKey, Sha256Hash, SignedBytes,
    Timestamp, Unverified,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

type Files = BTreeMap<String, Value>;
type Check = Result<(), String>;

fn load() -> Files {
    // Read at run time: a test binary reused from a build in another
    // checkout (a shared target directory) must read this checkout's files.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    let dir = PathBuf::from(manifest).join("../../spec/vectors");
    let mut files = Files::new();
    for entry in std::fs::read_dir(&dir).expect("spec/vectors exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("read vector");
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            files.insert(name, serde_json::from_str(&text).expect("vector is JSON"));
        }
    }
    files
}

fn s<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| format!("missing string `{key}`"))
}

fn n(v: &Value, key: &str) -> Result<u64, String> {
    v.get(key).and_then(Value::as_u64).ok_or_else(|| format!("missing number `{key}`"))
}

fn arr<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.get(key).and_then(Value::as_array).ok_or_else(|| format!("missing array `{key}`"))
}

fn eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Check {
    if got == want { Ok(()) } else { Err(format!("{what}: got {got:?}, vector says {want:?}")) }
}

fn seed_key(hex_seed: &str) -> Result<SecretKey, String> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(hex_seed, &mut seed).map_err(|e| e.to_string())?;
    Ok(SecretKey::from_seed(seed))
}

fn from_value<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

fn hashes(v: &Value, key: &str) -> Result<Vec<Sha256Hash>, String> {
    arr(v, key)?
        .iter()
        .map(|h| {
            h.as_str()
                .ok_or("hash not a string")?
                .parse()
                .map_err(|e: accord_proto::hash::HashParseError| e.to_string())
        })
        .collect()
}

fn check_keys(f: &Value) -> Check {
    for k in arr(f, "keys")? {
        let key = seed_key(s(k, "seed")?)?;
        let p = key.public();
        eq("public key hex", hex::encode(p.as_bytes()).as_str(), s(k, "public_key_hex")?)?;
        eq("public key base64", p.to_string().as_str(), s(k, "public_key_base64")?)?;
        eq("account id", p.account_id().to_string().as_str(), s(k, "account_id")?)?;
        eq("issuer id", IssuerId::from(p).to_string().as_str(), s(k, "issuer_id")?)?;
        eq("node id", NodeId::from(p).to_string().as_str(), s(k, "node_id")?)?;
        eq("peer id bytes", hex::encode(NodeId::from(p).to_peer_id_bytes()).as_str(), s(k, "peer_id_bytes_hex")?)?;
        let parsed: AccountId = s(k, "account_id")?.parse().map_err(|e| format!("{e}"))?;
        eq("parsed account", parsed, p.account_id())?;
    }
    let h = &f["hash_ids"];
    let digest = Sha256Hash::digest(s(h, "sha256_of")?.as_bytes());
    eq("sha256", digest.to_string().as_str(), s(h, "sha256_hex")?)?;
    eq("event id", EventId(digest).to_string().as_str(), s(h, "event_id")?)?;
    eq("room id", RoomId(digest).to_string().as_str(), s(h, "room_id")?)?;
    for t in arr(f, "target_hashes")? {
        let kind: TargetKind = from_value(&t["kind"])?;
        eq("target hash", target_hash(kind, s(t, "text")?).to_string().as_str(), s(t, "target_hash")?)?;
    }
    Ok(())
}

/// One signed-envelope case: re-signed from its seed, it gives the same
/// bytes, and it verifies as its kind.
fn check_envelope_case(case: &Value) -> Check {
    let key = seed_key(s(case, "seed")?)?;
    let body = hex::decode(s(case, "body_hex")?).map_err(|e| e.to_string())?;
    eq("body utf8", String::from_utf8(body.clone()).map_err(|e| e.to_string())?.as_str(), s(case, "body_utf8")?)?;
    let domain = match s(case, "domain")? {
        "accord/v1/identity" => Domain::Identity,
        "accord/v1/attestation" => Domain::Attestation,
        "accord/v1/event" => Domain::Event,
        "accord/v1/event-origin" => Domain::EventOrigin,
        "accord/v1/auth" => Domain::AuthChallenge,
        "accord/v1/manifest" => Domain::Manifest,
        "accord/v1/node-name" => Domain::NodeName,
        "accord/v1/account-deletion" => Domain::AccountDeletion,
        "accord/v1/appeal" => Domain::Appeal,
        "accord/v1/mod-action" => Domain::ModAction,
        other => return Err(format!("unexpected domain {other}")),
    };
    let input = domain.signing_input(&body);
    eq("signing input", hex::encode(&input).as_str(), s(case, "signing_input_hex")?)?;
    let resigned = SignedBytes::sign(domain, body.clone(), &key);
    eq("signature", hex::encode(resigned.sig.to_bytes()).as_str(), s(case, "signature_hex")?)?;
    eq("body sha256", Sha256Hash::digest(&body).to_string().as_str(), s(case, "body_sha256")?)?;
    let env: SignedBytes = from_value(&case["envelope"])?;
    eq("envelope", &env, &resigned)?;
    let typed = match domain {
        Domain::Identity => Unverified::<IdentityDocument>::from_raw(env).verify().map(|_| ()),
        Domain::Attestation => Unverified::<Attestation>::from_raw(env).verify().map(|_| ()),
        Domain::Event => Unverified::<EventBody>::from_raw(env).verify().map(|_| ()),
        Domain::AuthChallenge => Unverified::<AuthResponse>::from_raw(env).verify().map(|_| ()),
        Domain::Manifest => Unverified::<PolicyManifest>::from_raw(env).verify().map(|_| ()),
        Domain::NodeName => Unverified::<accord_proto::names::NameProof>::from_raw(env).verify().map(|_| ()),
        Domain::AccountDeletion => {
            Unverified::<accord_proto::identity::AccountDeletion>::from_raw(env).verify().map(|_| ())
        }
        Domain::Appeal => Unverified::<accord_proto::appeal::AppealBody>::from_raw(env).verify().map(|_| ()),
        Domain::ModAction => Unverified::<ModAction>::from_raw(env).verify().map(|_| ()),
        _ => Unverified::<OriginStamp>::from_raw(env).verify().map(|_| ()),
    };
    typed.map_err(|e| format!("{}: {e}", s(case, "name").unwrap_or("?")))?;
    Ok(())
}

fn check_envelopes(f: &Value) -> Check {
    for case in arr(f, "cases")? {
        check_envelope_case(case)?;
    }
    let rot = &f["rotation"];
    eq("rotation domain", s(rot, "domain")?, Domain::Rotation.tag())?;
    let signed: SignedRotation = from_value(&rot["signed"])?;
    let statement = signed.verify().map_err(|e| e.to_string())?;
    let (old, new) = (seed_key(s(rot, "old_seed")?)?, seed_key(s(rot, "new_seed")?)?);
    eq("rotation old", statement.old, old.account_id())?;
    eq("rotation new", statement.new, new.account_id())?;
    eq("rotation resigned", SignedRotation::sign(&statement, &old, &new).map_err(|e| e.to_string())?, signed)?;
    Ok(())
}

fn check_room(f: &Value) -> Check {
    let node = seed_key(s(f, "node_seed")?)?;
    let mut events = Vec::new();
    for e in arr(f, "events")? {
        let wire: UnverifiedEvent = from_value(&e["event"])?;
        let event = wire.verify().map_err(|e| e.to_string())?;
        eq("event id", event.id().to_string().as_str(), s(e, "id")?)?;
        eq("origin", event.origin(), NodeId::from(node.public()))?;
        events.push(event);
    }
    let room: RoomId = s(f, "room_id")?.parse().map_err(|e| format!("{e}"))?;
    let timeline = resolve(room, &events).map_err(|e| e.to_string())?;
    let order = arr(f, "order")?;
    eq("order length", timeline.order.len(), order.len())?;
    for ((id, verdict), want) in timeline.order.iter().zip(order) {
        eq("order id", id.to_string().as_str(), s(want, "id")?)?;
        eq("accepted", Value::Bool(verdict.is_ok()), want["accepted"].clone())?;
        let reason = verdict.as_ref().err().map(|e| Value::String(e.code().into())).unwrap_or(Value::Null);
        eq("reason", reason, want["reason"].clone())?;
    }
    let st = &f["state"];
    let state = &timeline.state;
    let list =
        |v: &std::collections::BTreeSet<AccountId>| Value::from(v.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    eq("members", list(state.members()), st["members"].clone())?;
    eq("bans", list(state.bans()), st["bans"].clone())?;
    let roles: Vec<Value> = state.roles().iter().map(|(a, r)| serde_json::json!([a.to_string(), r])).collect();
    eq("roles", Value::from(roles), st["roles"].clone())?;
    eq("history hash", state.history_hash().to_string().as_str(), s(st, "history_hash")?)?;
    eq("accepted count", state.accepted(), n(st, "accepted")?)?;
    Ok(())
}

fn check_merkle(f: &Value) -> Check {
    eq("empty root", empty_root().to_string().as_str(), s(f, "empty_root")?)?;
    let mut log = MerkleLog::new();
    let leaves: Vec<Vec<u8>> = arr(f, "leaves_hex")?
        .iter()
        .map(|l| hex::decode(l.as_str().unwrap_or("?")).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let roots = arr(f, "roots")?;
    eq("roots count", roots.len(), leaves.len())?;
    for (leaf, want) in leaves.iter().zip(roots) {
        log.push(leaf);
        eq("size", log.size(), n(want, "size")?)?;
        eq("root", log.root().to_string().as_str(), s(want, "root")?)?;
    }
    for case in arr(f, "inclusion")? {
        let (index, size) = (n(case, "index")?, n(case, "size")?);
        let leaf: Sha256Hash = s(case, "leaf_hash")?.parse().map_err(|_| "leaf hash")?;
        eq("leaf hash", leaf, leaf_hash(leaves.get(index as usize).ok_or("index")?))?;
        let root: Sha256Hash = s(case, "root")?.parse().map_err(|_| "root")?;
        let proof = hashes(case, "proof")?;
        verify_inclusion(&leaf, index, size, &proof, &root).map_err(|e| e.to_string())?;
        eq("inclusion proof", log.inclusion_proof(index, size).map_err(|e| e.to_string())?, proof)?;
    }
    for case in arr(f, "consistency")? {
        let (old, new) = (n(case, "old")?, n(case, "new")?);
        let old_root: Sha256Hash = s(case, "old_root")?.parse().map_err(|_| "root")?;
        let new_root: Sha256Hash = s(case, "new_root")?.parse().map_err(|_| "root")?;
        let proof = hashes(case, "proof")?;
        verify_consistency(old, new, &old_root, &new_root, &proof).map_err(|e| e.to_string())?;
        eq("consistency proof", log.consistency_proof(old, new).map_err(|e| e.to_string())?, proof)?;
    }
    Ok(())
}

fn check_witness(f: &Value, note: &SignedCheckpoint, proof: Vec<Sha256Hash>) -> Check {
    use accord_proto::blocklist::witness::{
        AddCheckpoint, WitnessKey, check_quorum, checkpoint_text, cosign, cosignature_message,
    };
    let node = NodeId::from(seed_key(s(f, "node_seed")?)?.public());
    let key = seed_key(s(f, "seed")?)?;
    let witness = WitnessKey::of_node(&node, key.public());
    eq("witness name", witness.name(), s(f, "name")?)?;
    eq("witness key id", hex::encode(witness.key_id()).as_str(), s(f, "key_id_hex")?)?;
    eq("witness verifier key", witness.vkey().as_str(), s(f, "verifier_key")?)?;
    eq("vkey parses back", WitnessKey::parse_vkey(s(f, "verifier_key")?).map_err(|e| e.to_string())?, witness.clone())?;
    let text = checkpoint_text(note).ok_or("no checkpoint text")?;
    let time = n(f, "time")?;
    eq(
        "cosigned message",
        String::from_utf8(cosignature_message(text, time)).map_err(|e| e.to_string())?.as_str(),
        s(f, "message")?,
    )?;
    let line = cosign(&key, witness.name(), text, time);
    eq("cosignature line", line.as_str(), s(f, "cosignature")?)?;
    let cosigned = SignedCheckpoint::from_note(format!("{}{line}", note.note()));
    eq(
        "the cosignature verifies",
        check_quorum(&cosigned, std::slice::from_ref(&witness), 1).map_err(|e| e.to_string())?,
        1,
    )?;
    let request = AddCheckpoint::parse(s(f, "request")?.as_bytes()).map_err(|e| e.to_string())?;
    eq("request", request, AddCheckpoint { old_size: 3, proof, checkpoint: note.clone() })
}

fn check_blocklist(f: &Value) -> Check {
    let issuer = seed_key(s(f, "issuer_seed")?)?;
    let list: ListId = s(f, "list_id")?.parse().map_err(|e| format!("{e}"))?;
    eq("issuer", *list.issuer.public_key(), issuer.public())?;
    eq("origin", list.origin().as_str(), s(f, "origin")?)?;
    eq("key id", hex::encode(key_id(&list.issuer.to_string(), &issuer.public())).as_str(), s(f, "key_id_hex")?)?;
    let vkey = accord_proto::blocklist::checkpoint::verifier_key(&list.issuer.to_string(), &issuer.public());
    eq("verifier key", vkey.as_str(), s(f, "verifier_key")?)?;
    let mut log = MerkleLog::new();
    for e in arr(f, "entries")? {
        let bytes = s(e, "json")?.as_bytes();
        let entry = ListEntry::parse(bytes).map_err(|e| e.to_string())?;
        eq("entry re-encodes identically", entry.to_bytes().map_err(|e| e.to_string())?.as_slice(), bytes)?;
        eq("leaf hash", leaf_hash(bytes).to_string().as_str(), s(e, "leaf_hash")?)?;
        log.push(bytes);
    }
    let mut verified = Vec::new();
    for cp in arr(f, "checkpoints")? {
        let signed = SignedCheckpoint::from_note(s(cp, "note")?);
        let v = signed.verify(&list).map_err(|e| e.to_string())?;
        eq("checkpoint size", v.checkpoint.size, n(cp, "size")?)?;
        eq("checkpoint root", v.checkpoint.root, log.root_at(v.checkpoint.size).map_err(|e| e.to_string())?)?;
        eq("checkpoint text", v.checkpoint.to_text().as_str(), s(cp, "text")?)?;
        eq("re-signed note", v.checkpoint.sign(&issuer).map_err(|e| e.to_string())?.note(), s(cp, "note")?)?;
        verified.push(v);
    }
    let [old, new] = verified.as_slice() else { return Err("need two checkpoints".into()) };
    let proof = hashes(f, "consistency_3_4")?;
    verify_consistency(old.checkpoint.size, new.checkpoint.size, &old.checkpoint.root, &new.checkpoint.root, &proof)
        .map_err(|e| e.to_string())?;
    let inclusion = hashes(f, "inclusion_0_of_4")?;
    let first = leaf_hash(s(&arr(f, "entries")?[0], "json")?.as_bytes());
    verify_inclusion(&first, 0, 4, &inclusion, &new.checkpoint.root).map_err(|e| e.to_string())?;
    check_witness(&f["witness"], &new.signed, proof)?;
    check_pdq(&f["pdq"])
}

/// A PDQ entry parses, re-encodes identically and names the first hash of
/// the distances; each distance is the number of differing bits.
fn check_pdq(f: &Value) -> Check {
    let entry = &f["entry"];
    let bytes = s(entry, "json")?.as_bytes();
    let parsed = ListEntry::parse(bytes).map_err(|e| e.to_string())?;
    eq("pdq entry re-encodes identically", parsed.to_bytes().map_err(|e| e.to_string())?.as_slice(), bytes)?;
    eq("pdq leaf hash", leaf_hash(bytes).to_string().as_str(), s(entry, "leaf_hash")?)?;
    let ListEntry::Add { target: Target::Pdq { hash }, .. } = parsed else { return Err("not a pdq add".into()) };
    let distances = arr(f, "distances")?;
    eq("the entry's hash is the first pair's", hash.to_string().as_str(), s(&distances[0], "a")?)?;
    for d in distances {
        let a: PdqHash = s(d, "a")?.parse().map_err(|e| format!("{e}"))?;
        let b: PdqHash = s(d, "b")?.parse().map_err(|e| format!("{e}"))?;
        eq("pdq hashes are canonical", (a.to_string(), b.to_string()), (s(d, "a")?.to_owned(), s(d, "b")?.to_owned()))?;
        eq("pdq distance", u64::from(a.distance(&b)), n(d, "distance")?)?;
    }
    Ok(())
}

fn check_equivocation(f: &Value) -> Check {
    for key in ["same_size", "fork"] {
        let proof: EquivocationProof = from_value(&f[key])?;
        proof.verify().map_err(|e| format!("{key}: {e}"))?;
    }
    Ok(())
}

fn check_report(f: &Value) -> Check {
    let reporter = seed_key(s(f, "reporter_seed")?)?;
    let signed: Unverified<ReportBody> = from_value(&f["signed"])?;
    let report = Report::verify(&signed).map_err(|e| e.to_string())?;
    eq("reporter", report.body().reporter, reporter.account_id())?;
    eq("report id", report.id().to_string().as_str(), s(f, "report_id")?)?;
    let accused: Vec<String> = report.accused().iter().map(|a| a.to_string()).collect();
    eq("accused", Value::from(accused), f["accused"].clone())?;
    let resigned = SignedBytes::sign(Domain::Report, signed.raw().body.clone(), &reporter);
    eq("report signature", &resigned, signed.raw())?;
    Ok(())
}

/// Parses a message of `federation.json` into its Rust type and requires
/// that serialising it gives back the same JSON value.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(what: &str, v: &Value) -> Result<T, String> {
    let parsed: T = from_value(v).map_err(|e| format!("{what}: {e}"))?;
    eq(&format!("{what} round trip"), &serde_json::to_value(&parsed).map_err(|e| e.to_string())?, v)?;
    Ok(parsed)
}

/// Verifies each event singly (spec/federation.md §4 check 2).
fn verify_events(what: &str, events: &[UnverifiedEvent]) -> Check {
    for (i, e) in events.iter().enumerate() {
        e.verify().map_err(|e| format!("{what} event {i}: {e}"))?;
    }
    Ok(())
}

/// Verifies an identity pair, and that it is the pair of `account` homed at
/// `home` whose two signatures re-sign identically from the seeds.
fn check_pair(what: &str, pair: &IdentityPair, account: &SecretKey, home: &SecretKey) -> Check {
    let (doc, att) = pair.verify().map_err(|e| format!("{what}: {e}"))?;
    eq(&format!("{what} account"), doc.account, account.account_id())?;
    eq(&format!("{what} home"), doc.home, NodeId::from(home.public()))?;
    eq(&format!("{what} attesting node"), att.node, NodeId::from(home.public()))?;
    let identity = SignedBytes::sign(Domain::Identity, pair.identity.body.clone(), account);
    eq(&format!("{what} identity re-signed"), &identity, &pair.identity)?;
    let attestation = SignedBytes::sign(Domain::Attestation, pair.attestation.body.clone(), home);
    eq(&format!("{what} attestation re-signed"), &attestation, &pair.attestation)
}

/// The list announcements of `federation.json` (spec/federation.md §1.3):
/// blocklist.json's latest checkpoint announced for its list, and the same
/// announcement with one byte of the issuer's signature changed, which
/// must fail verification.
fn check_gossip(f: &Value, blocklist: &Value, equivocation: &Value) -> Check {
    use accord_proto::federation::{EQUIVOCATION_TOPIC, LISTS_TOPIC, ListAnnouncement, MAX_GOSSIP_BYTES};
    use base64::Engine as _;
    let gossip = &f["gossip"];
    eq(
        "gossip",
        gossip.as_object().map(|m| m.keys().map(String::as_str).collect::<Vec<_>>()),
        Some(vec![
            "announcement",
            "announcement_bad_signature",
            "equivocation",
            "equivocation_topic",
            "manifests_topic",
            "topic",
        ]),
    )?;
    eq("topic", s(gossip, "topic")?, LISTS_TOPIC)?;
    eq("manifests topic", s(gossip, "manifests_topic")?, accord_proto::federation::MANIFESTS_TOPIC)?;
    let to_vec = |v: &Value| serde_json::to_vec(v).map_err(|e| e.to_string());
    let bytes = to_vec(&gossip["announcement"])?;
    let (announcement, verified) = ListAnnouncement::verify(&bytes).map_err(|e| format!("announcement: {e}"))?;
    eq(
        "announcement round trip",
        &serde_json::to_value(&announcement).map_err(|e| e.to_string())?,
        &gossip["announcement"],
    )?;
    if bytes.len() > MAX_GOSSIP_BYTES {
        return Err("announcement over the gossip size limit".into());
    }
    let list: ListId = s(blocklist, "list_id")?.parse().map_err(|e| format!("{e}"))?;
    eq("announced list is blocklist.json's", &announcement.list, &list)?;
    let latest = arr(blocklist, "checkpoints")?.last().ok_or("blocklist.json has no checkpoint")?;
    eq("announced checkpoint is blocklist.json's latest", announcement.checkpoint.note(), s(latest, "note")?)?;
    eq("announced size", verified.checkpoint.size, n(latest, "size")?)?;

    // The same announcement with one byte of the signature changed.
    let bad_value = &gossip["announcement_bad_signature"];
    let bad: ListAnnouncement = round_trip("announcement_bad_signature", bad_value)?;
    let refused = ListAnnouncement::verify(&to_vec(bad_value)?).err();
    eq("announcement_bad_signature verification", refused.as_deref(), Some("bad_signature"))?;
    eq("announcement_bad_signature list", &bad.list, &announcement.list)?;
    // A note's last line is `— NAME BASE64(key id ‖ signature)`.
    let split = |note: &str| -> Result<(String, Vec<u8>), String> {
        let (head, blob) =
            note.strip_suffix('\n').and_then(|n| n.rsplit_once(' ')).ok_or("note without a signature line")?;
        Ok((head.to_string(), base64::engine::general_purpose::STANDARD.decode(blob).map_err(|e| e.to_string())?))
    };
    let (head, blob) = split(announcement.checkpoint.note())?;
    let (bad_head, bad_blob) = split(bad.checkpoint.note())?;
    eq("announcement_bad_signature: the note but its signature", bad_head, head)?;
    eq("announcement_bad_signature: signature length", bad_blob.len(), blob.len())?;
    let changed: Vec<usize> = (0..blob.len()).filter(|&i| blob[i] != bad_blob[i]).collect();
    if changed.len() != 1 || changed[0] < 4 {
        return Err(format!(
            "announcement_bad_signature: bytes {changed:?} of the signature blob differ, want one after the key id"
        ));
    }

    // An announcement naming another list of the same issuer, or carrying an
    // unknown field, is refused too.
    let mut other = gossip["announcement"].clone();
    other["list"] = Value::String(format!("{}/spam", list.issuer));
    eq(
        "announcement for another list",
        ListAnnouncement::verify(&to_vec(&other)?).err().as_deref(),
        Some("wrong_list"),
    )?;
    let mut extra = gossip["announcement"].clone();
    extra["extra"] = Value::from(1);
    if ListAnnouncement::verify(&to_vec(&extra)?).is_ok() {
        return Err("an announcement with an unknown field verifies".into());
    }

    // An equivocation proof on its own topic (spec/blocklists.md §10.6):
    // equivocation.json's fork, as the node that detected it publishes it.
    eq("equivocation topic", s(gossip, "equivocation_topic")?, EQUIVOCATION_TOPIC)?;
    let proof: EquivocationProof = round_trip("equivocation", &gossip["equivocation"])?;
    let published = serde_json::to_vec(&proof).map_err(|e| e.to_string())?;
    if published.len() > MAX_GOSSIP_BYTES {
        return Err("equivocation proof over the gossip size limit".into());
    }
    let received: EquivocationProof = serde_json::from_slice(&published).map_err(|e| e.to_string())?;
    received.verify().map_err(|e| format!("equivocation: {e}"))?;
    eq("equivocation is equivocation.json's fork", &proof, &from_value::<EquivocationProof>(&equivocation["fork"])?)?;
    eq("equivocation proof is about the announced list", &proof.list, &announcement.list)?;
    Ok(())
}

/// The list range fetch of `federation.json` (spec/federation.md §3.9,
/// spec/blocklists.md §10): a subscriber holding blocklist.json's entries
/// up to its first checkpoint asks for the rest and gets the latest
/// checkpoint with the missing leaves, which, appended to the leaves held,
/// make exactly the signed root.
fn check_list_entries(msgs: &Value, blocklist: &Value) -> Check {
    use accord_proto::federation::{FedRequest, FedResponse, MAX_LIST_ENTRIES_PER_RESPONSE};
    let list: ListId = s(blocklist, "list_id")?.parse().map_err(|e| format!("{e}"))?;
    let leaves: Vec<&str> = arr(blocklist, "entries")?.iter().map(|e| s(e, "json")).collect::<Result<_, _>>()?;
    let checkpoints = arr(blocklist, "checkpoints")?;
    let (held, latest) = match checkpoints.as_slice() {
        [first, .., last] => (n(first, "size")?, last),
        _ => return Err("blocklist.json needs two checkpoints".into()),
    };

    let request: FedRequest = round_trip("list_entries", &msgs["list_entries"])?;
    let want = FedRequest::ListEntries { list: list.clone(), from: held, limit: MAX_LIST_ENTRIES_PER_RESPONSE as u64 };
    eq("list_entries", &request, &want)?;

    let answer: FedResponse = round_trip("list_entries_answer", &msgs["list_entries_answer"])?;
    let FedResponse::ListEntries { checkpoint, entries } = &answer else {
        return Err("list_entries_answer: type".into());
    };
    let verified = checkpoint.verify(&list).map_err(|e| format!("list_entries_answer checkpoint: {e}"))?;
    eq("list_entries_answer checkpoint is blocklist.json's latest", checkpoint.note(), s(latest, "note")?)?;
    if entries.len() > MAX_LIST_ENTRIES_PER_RESPONSE {
        return Err("list_entries_answer: too many entries".into());
    }
    // The leaves held plus the leaves answered make the signed tree.
    let mut log = MerkleLog::new();
    for leaf in &leaves[..held as usize] {
        log.push(leaf.as_bytes());
    }
    for (i, leaf) in entries.iter().enumerate() {
        ListEntry::parse(leaf.as_bytes()).map_err(|e| format!("list_entries_answer entry {i}: {e}"))?;
        log.push(leaf.as_bytes());
    }
    eq("list_entries_answer: held + answered size", log.size(), verified.checkpoint.size)?;
    eq("list_entries_answer: root recomputed over held + answered leaves", log.root(), verified.checkpoint.root)?;
    let missing: Vec<&str> = leaves[held as usize..verified.checkpoint.size as usize].to_vec();
    eq("list_entries_answer entries", entries.iter().map(String::as_str).collect::<Vec<_>>(), missing)?;
    Ok(())
}

/// The push stream of `federation.json` (spec/federation.md §1.2a):
/// `request` as one frame, its length read back, and the length prefixes
/// a reader of requests refuses, with their codes.
fn check_push_stream(p: &Value, request: &str) -> Check {
    use accord_proto::federation::{
        MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, PUSH_STREAM_PROTOCOL, push_stream_frame, push_stream_frame_length,
    };
    eq("push stream protocol", s(p, "protocol")?, PUSH_STREAM_PROTOCOL)?;
    eq("push stream request limit", p["request_limit"].as_u64(), Some(MAX_REQUEST_BYTES))?;
    eq("push stream response limit", p["response_limit"].as_u64(), Some(MAX_RESPONSE_BYTES))?;
    let frame = push_stream_frame(request.as_bytes()).ok_or("the request is no frame")?;
    eq("push stream frame", hex::encode(&frame), s(p, "frame")?.to_string())?;
    let prefix: [u8; 4] = frame[..4].try_into().map_err(|_| "short frame")?;
    eq("push stream frame length", push_stream_frame_length(prefix, MAX_REQUEST_BYTES), Ok(request.len()))?;
    for case in arr(p, "refused_requests")? {
        let bytes = hex::decode(s(case, "prefix")?).map_err(|e| e.to_string())?;
        let prefix: [u8; 4] = bytes.as_slice().try_into().map_err(|_| "a prefix of 4 bytes")?;
        eq("push stream prefix length", u64::from(u32::from_be_bytes(prefix)), n(case, "length")?)?;
        let refused = push_stream_frame_length(prefix, MAX_REQUEST_BYTES).err().ok_or("a refused prefix was taken")?;
        eq("push stream refusal code", refused.code(), s(case, "code")?)?;
    }
    Ok(())
}

fn check_federation(f: &Value, envelopes: &Value, room_file: &Value, blocklist: &Value, equivocation: &Value) -> Check {
    use accord_proto::federation::{FedRequest, FedResponse, PROTOCOL, PushOutcome};
    eq("protocol", s(f, "protocol")?, PROTOCOL)?;
    check_push_stream(&f["push_stream"], s(f, "request")?)?;
    let alice = seed_key(s(&arr(envelopes, "cases")?[0], "seed")?)?;
    let request: FedRequest = serde_json::from_str(s(f, "request")?).map_err(|e| e.to_string())?;
    eq("request", &request, &FedRequest::Identities { accounts: vec![alice.account_id()] })?;
    eq("request encoding", serde_json::to_string(&request).map_err(|e| e.to_string())?.as_str(), s(f, "request")?)?;
    let response: FedResponse = serde_json::from_str(s(f, "response")?).map_err(|e| e.to_string())?;
    eq("response encoding", serde_json::to_string(&response).map_err(|e| e.to_string())?.as_str(), s(f, "response")?)?;
    let FedResponse::Identities { identities } = response else { return Err("not an identities answer".into()) };
    let provider = &f["room_provider"];
    eq("room provider domain", s(provider, "domain")?, accord_proto::federation::ROOM_PROVIDER_DOMAIN)?;
    let provided: accord_proto::RoomId =
        s(provider, "room")?.parse().map_err(|e| format!("room_provider.room: {e}"))?;
    eq("room provider room", provided.to_string(), s(room_file, "room_id")?.to_string())?;
    eq(
        "room provider key",
        accord_proto::federation::room_provider_key(&provided).to_string(),
        s(provider, "key")?.to_string(),
    )?;
    let [pair] = identities.as_slice() else { return Err("expected one identity".into()) };
    let (doc, att) = pair.verify().map_err(|e| e.to_string())?;
    eq("identity account", doc.account, alice.account_id())?;
    let cases = arr(envelopes, "cases")?;
    eq(
        "identity is the envelopes.json document",
        serde_json::to_value(&pair.identity).map_err(|e| e.to_string())?,
        cases[0]["envelope"].clone(),
    )?;
    eq(
        "attestation is the envelopes.json one",
        serde_json::to_value(&pair.attestation).map_err(|e| e.to_string())?,
        cases[1]["envelope"].clone(),
    )?;
    eq("attestation node", att.node, doc.home)?;
    let alice_pair = pair.clone();
    let error: FedResponse = serde_json::from_str(s(f, "error")?).map_err(|e| e.to_string())?;
    let FedResponse::Error { code, .. } = &error else { return Err("not an error".into()) };
    eq("error code", code.as_str(), "too_many")?;
    eq("error encoding", serde_json::to_string(&error).map_err(|e| e.to_string())?.as_str(), s(f, "error")?)?;

    // The other messages: each parses, serialises back to the same value,
    // and every signed object in it verifies; then each is compared with
    // the message the story of the file's description makes of room.json.
    let seeds = &f["seeds"];
    let seed = |name: &str| seed_key(s(seeds, name)?);
    let (bob, carol, dave, node, node_b) =
        (seed("bob")?, seed("carol")?, seed("dave")?, seed("node")?, seed("node_b")?);
    eq("alice's seed", seed("alice")?.public(), alice.public())?;
    eq("node seed is room.json's", s(seeds, "node")?, s(room_file, "node_seed")?)?;
    let room: RoomId = s(room_file, "room_id")?.parse().map_err(|e| format!("{e}"))?;
    let events: Vec<UnverifiedEvent> =
        arr(room_file, "events")?.iter().map(|e| from_value(&e["event"])).collect::<Result<_, _>>()?;
    let id = |i: usize| events.get(i).map(UnverifiedEvent::claimed_id).ok_or("room.json has fewer events");
    let msgs = &f["messages"];
    eq(
        "messages",
        msgs.as_object().map(|m| m.keys().map(String::as_str).collect::<Vec<_>>()),
        Some(vec![
            "fetch",
            "join",
            "join_answer",
            "list_entries",
            "list_entries_answer",
            "lists",
            "lists_answer",
            "manifest",
            "manifest_answer",
            "push",
            "pushed",
            "sync",
            "sync_answer",
        ]),
    )?;

    let push: FedRequest = round_trip("push", &msgs["push"])?;
    let FedRequest::Push { events: pushed_events, identities, .. } = &push else { return Err("push: type".into()) };
    verify_events("push", pushed_events)?;
    let [pushed_pair] = identities.as_slice() else { return Err("push: expected one identity".into()) };
    check_pair("push identity", pushed_pair, &alice, &node)?;
    let want = FedRequest::Push { room, events: events[4..5].to_vec(), identities: vec![alice_pair.clone()] };
    eq("push", &push, &want)?;

    let pushed: FedResponse = round_trip("pushed", &msgs["pushed"])?;
    let outcomes = vec![
        PushOutcome::Accepted { event: id(4)? },
        PushOutcome::Duplicate { event: id(3)? },
        PushOutcome::Retry { event: id(7)?, code: "missing_prev".into() },
        PushOutcome::Refused { event: id(5)?, code: "not_home".into() },
    ];
    eq("pushed", &pushed, &FedResponse::Pushed { outcomes })?;

    let sync: FedRequest = round_trip("sync", &msgs["sync"])?;
    let held = [(NodeId::from(node.public()), 5), (NodeId::from(node_b.public()), 2)].into_iter().collect();
    eq("sync", &sync, &FedRequest::Sync { room, held })?;

    let answer: FedResponse = round_trip("sync_answer", &msgs["sync_answer"])?;
    let FedResponse::Events { events: answered, identities, .. } = &answer else {
        return Err("sync_answer: type".into());
    };
    verify_events("sync_answer", answered)?;
    let [bob_pair, carol_pair] = identities.as_slice() else {
        return Err("sync_answer: expected two identities".into());
    };
    check_pair("sync_answer bob", bob_pair, &bob, &node)?;
    check_pair("sync_answer carol", carol_pair, &carol, &node)?;
    // Node 9's events above seq 5, in ascending order key (depth, id).
    let mut lacked: Vec<Event> =
        events[5..8].iter().map(|e| e.verify().map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    lacked.sort_by_key(Event::order_key);
    let want = FedResponse::Events {
        events: lacked.iter().map(Event::to_unverified).collect(),
        identities: vec![bob_pair.clone(), carol_pair.clone()],
        more: false,
        next: 0,
    };
    eq("sync_answer", &answer, &want)?;

    let fetch: FedRequest = round_trip("fetch", &msgs["fetch"])?;
    eq("fetch", &fetch, &FedRequest::Events { room, ids: vec![id(3)?, id(4)?] })?;

    let join: FedRequest = round_trip("join", &msgs["join"])?;
    let FedRequest::Join { joiner, .. } = &join else { return Err("join: type".into()) };
    check_pair("joiner", joiner, &dave, &node_b)?;
    eq("join", &join, &FedRequest::Join { room, joiner: joiner.clone(), after: 0 })?;

    let answer: FedResponse = round_trip("join_answer", &msgs["join_answer"])?;
    let FedResponse::Events { events: answered, .. } = &answer else { return Err("join_answer: type".into()) };
    verify_events("join_answer", answered)?;
    let want = FedResponse::Events {
        events: events.clone(),
        identities: vec![alice_pair, bob_pair.clone(), carol_pair.clone()],
        more: false,
        next: events.len() as u64,
    };
    eq("join_answer", &answer, &want)?;
    check_list_entries(msgs, blocklist)?;
    check_manifest(msgs, envelopes, blocklist, &node_b)?;
    check_lists(msgs, blocklist, &NodeId::from(node.public()))?;
    check_gossip(f, blocklist, equivocation)
}

/// The discovery of `federation.json` (spec/federation.md §3.12): node 9,
/// the issuer of blocklist.json's list, describes it with blocklist.json's
/// witness and its latest checkpoint.
fn check_lists(msgs: &Value, blocklist: &Value, issuer_node: &NodeId) -> Check {
    use accord_proto::federation::{FedRequest, FedResponse};
    let request: FedRequest = round_trip("lists", &msgs["lists"])?;
    eq("lists", &request, &FedRequest::Lists {})?;
    let answer: FedResponse = round_trip("lists_answer", &msgs["lists_answer"])?;
    let FedResponse::Lists { lists } = &answer else { return Err("lists_answer: type".into()) };
    let [listed] = lists.as_slice() else { return Err("lists_answer: one list expected".into()) };
    let list: ListId = s(blocklist, "list_id")?.parse().map_err(|e| format!("{e}"))?;
    eq("lists_answer list", &listed.list, &list)?;
    let verified = listed.verify(issuer_node).map_err(|e| format!("lists_answer: {e}"))?;
    let latest = arr(blocklist, "checkpoints")?.last().ok_or("blocklist.json has no checkpoint")?;
    eq("lists_answer checkpoint is blocklist.json's latest", listed.checkpoint.note(), s(latest, "note")?)?;
    eq("lists_answer size", verified.checkpoint.size, n(latest, "size")?)?;
    eq("lists_answer witnesses", listed.witnesses.clone(), vec![s(&blocklist["witness"], "verifier_key")?.to_string()])
}

/// The manifest exchange of `federation.json` (spec/federation.md §7.2):
/// node B's policy manifest, signed by node B in `accord/v1/manifest`,
/// declaring blocklist.json's list with its latest size; the same envelope
/// as the `policy manifest` case of envelopes.json.
fn check_manifest(msgs: &Value, envelopes: &Value, blocklist: &Value, node_b: &SecretKey) -> Check {
    use accord_proto::federation::{FedRequest, FedResponse, MAX_GOSSIP_BYTES};
    let request: FedRequest = round_trip("manifest", &msgs["manifest"])?;
    eq("manifest", &request, &FedRequest::Manifest {})?;
    let answer: FedResponse = round_trip("manifest_answer", &msgs["manifest_answer"])?;
    let FedResponse::Manifest { manifest: raw } = answer else { return Err("manifest_answer: type".into()) };
    let manifest =
        Unverified::<PolicyManifest>::from_raw(*raw.clone()).verify().map_err(|e| format!("manifest_answer: {e}"))?;
    eq("manifest_answer node", manifest.node, NodeId::from(node_b.public()))?;
    let list: ListId = s(blocklist, "list_id")?.parse().map_err(|e| format!("{e}"))?;
    let latest = arr(blocklist, "checkpoints")?.last().ok_or("blocklist.json has no checkpoint")?;
    let declared = vec![DeclaredList { list: list.clone(), size: n(latest, "size")? }];
    eq("manifest_answer lists", &manifest.lists, &declared)?;
    eq("manifest_answer declared size", manifest.declared(&list), Some(n(latest, "size")?))?;
    let resigned = SignedBytes::sign(Domain::Manifest, raw.body.clone(), node_b);
    eq("manifest_answer re-signed", &resigned, &*raw)?;
    let case = arr(envelopes, "cases")?
        .iter()
        .find(|c| c.get("domain").and_then(Value::as_str) == Some(Domain::Manifest.tag()))
        .ok_or("envelopes.json has no manifest case")?;
    eq(
        "manifest_answer is envelopes.json's manifest",
        &serde_json::to_value(&*raw).map_err(|e| e.to_string())?,
        &case["envelope"],
    )?;
    // Published as is on the manifests topic (spec/federation.md §1.3).
    if serde_json::to_vec(&*raw).map_err(|e| e.to_string())?.len() > MAX_GOSSIP_BYTES {
        return Err("manifest over the gossip size limit".into());
    }
    Ok(())
}

/// The inputs of `audit.json` (spec/reports.md §14) besides the seeds: the
/// actions' and the head's times, the reasons, and the text whose SHA-256
/// is the id of the dismissed case.
const AUDIT_TS: [u64; 3] = [1_764_000_100_000, 1_764_000_200_000, 1_764_000_300_000];
const AUDIT_REASONS: [&str; 3] = ["sells drugs in the room", "a quote of the offer, not an offer", "no abuse found"];
const AUDIT_OTHER_CASE: &str = "another case";

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

/// Signs an action (or head) as it is, valid or not: the rules are checked
/// by the verifier, not here.
fn sign_json<T: serde::Serialize>(domain: Domain, v: &T, key: &SecretKey) -> Result<SignedBytes, String> {
    Ok(SignedBytes::sign(domain, serde_json::to_vec(v).map_err(|e| e.to_string())?, key))
}

/// An export of `actions` whose head, over exactly these actions, is signed
/// by `signer` (the node, except for the `bad_head` case).
fn audit_export(node: &SecretKey, actions: Vec<SignedBytes>, signer: &SecretKey) -> Result<AuditLog, String> {
    let tree = audit_tree(&actions);
    let head = AuditHead {
        node: NodeId::from(node.public()),
        size: tree.size(),
        root: tree.root(),
        ts: Timestamp::from_millis(AUDIT_TS[2]),
    };
    Ok(AuditLog { head: sign_json(Domain::AuditHead, &head, signer)?, actions })
}

fn signed_case(name: &str, env: &SignedBytes) -> Result<Value, String> {
    Ok(serde_json::json!({
        "name": name,
        "body_utf8": String::from_utf8(env.body.clone()).map_err(|e| e.to_string())?,
        "envelope": to_json(env)?,
    }))
}

/// `audit.json` as spec/reports.md §14 and the seeds make it: every value
/// but the description is recomputed here (signing is deterministic), and
/// the expected refusal codes are the spec's (§9, §10).
fn build_audit(report: &Value) -> Result<Value, String> {
    let node = SecretKey::from_seed([5; 32]);
    let moderator = SecretKey::from_seed([6; 32]);
    let other_node = SecretKey::from_seed([9; 32]);
    let node_id = NodeId::from(node.public());
    let list = ListId { issuer: IssuerId::from(node.public()), name: "abuse".parse().map_err(|e| format!("{e}"))? };
    let case: Sha256Hash = s(report, "report_id")?.parse().map_err(|_| "report.json report_id")?;
    let other_case = Sha256Hash::digest(AUDIT_OTHER_CASE.as_bytes());
    let reason = |i: usize| accord_proto::text::Reason::new(AUDIT_REASONS[i]).map_err(|e| e.to_string());
    let block = ModAction {
        node: node_id,
        moderator: Moderator::Account(moderator.account_id()),
        case,
        action: Verdict::Block,
        list: Some(list.clone()),
        reason: Some(reason(0)?),
        expires: None,
        assignee: None,
        report: None,
        appeal: None,
        ts: Timestamp::from_millis(AUDIT_TS[0]),
    };
    let dismiss = ModAction {
        case: other_case,
        action: Verdict::Dismiss,
        list: None,
        reason: Some(reason(1)?),
        assignee: None,
        report: None,
        appeal: None,
        ts: Timestamp::from_millis(AUDIT_TS[1]),
        ..block.clone()
    };
    let signed =
        [sign_json(Domain::ModAction, &block, &moderator)?, sign_json(Domain::ModAction, &dismiss, &moderator)?];
    let mut actions = Vec::new();
    for (name, env) in ["block the case of report.json", "dismiss another case"].iter().zip(&signed) {
        let mut case = signed_case(name, env)?;
        case["body_sha256"] = Value::from(Sha256Hash::digest(&env.body).to_string());
        case["leaf_hash"] = Value::from(leaf_hash(&env.body).to_string());
        actions.push(case);
    }
    let export = audit_export(&node, signed.to_vec(), &node)?;

    // The refused exports (spec/reports.md §10), each with one defect.
    let mut altered = export.clone();
    let edited = ModAction { reason: Some(reason(2)?), ..dismiss.clone() };
    altered.actions[1].body = serde_json::to_vec(&edited).map_err(|e| e.to_string())?;
    let mut reordered = export.clone();
    reordered.actions.reverse();
    let reordered_root = audit_tree(&reordered.actions).root();
    let foreign = ModAction { node: NodeId::from(other_node.public()), ..dismiss.clone() };
    let foreign_log =
        audit_export(&node, vec![signed[0].clone(), sign_json(Domain::ModAction, &foreign, &moderator)?], &node)?;
    let bad_head = audit_export(&node, signed.to_vec(), &moderator)?;
    let tampered = serde_json::json!([
        {"name": "action 1 altered after signing (another reason)", "export": to_json(&altered)?,
         "code": "bad_action", "index": 1, "detail": "bad_signature"},
        {"name": "the actions reordered", "export": to_json(&reordered)?,
         "code": "root_mismatch", "size": 2, "root": reordered_root.to_string()},
        {"name": "the head signed by the moderator key instead of the node's", "export": to_json(&bad_head)?,
         "code": "bad_head", "detail": "signer_mismatch"},
        {"name": "action 1 names another node (the head is over it)", "export": to_json(&foreign_log)?,
         "code": "wrong_node", "index": 1},
    ]);

    // Actions breaking the rules of §9, each signed by the moderator.
    let suspend = ModAction { action: Verdict::Suspend, ..block.clone() };
    let invalid = [
        ("block without a list", ModAction { list: None, ..block.clone() }),
        ("suspend without expires", suspend),
        ("dismiss with a list", ModAction { list: Some(list.clone()), ..dismiss.clone() }),
    ];
    let mut invalid_actions = Vec::new();
    for (name, action) in &invalid {
        let mut case = signed_case(name, &sign_json(Domain::ModAction, action, &moderator)?)?;
        case["code"] = Value::from("invalid");
        invalid_actions.push(case);
    }

    let hex_seed = |b: u8| hex::encode([b; 32]);
    let tree = audit_tree(&export.actions);
    Ok(serde_json::json!({
        "node_seed": hex_seed(5),
        "moderator_seed": hex_seed(6),
        "other_node_seed": hex_seed(9),
        "node_id": node_id.to_string(),
        "moderator_account": moderator.account_id().to_string(),
        "list_id": list.to_string(),
        "report_case": case.to_string(),
        "other_case": other_case.to_string(),
        "other_case_sha256_of": AUDIT_OTHER_CASE,
        "actions": actions,
        "head": signed_case("head over the two actions", &export.head)?,
        "size": tree.size(),
        "root": tree.root().to_string(),
        "export": to_json(&export)?,
        "tampered": tampered,
        "invalid_actions": invalid_actions,
    }))
}

/// Compares two JSON values, naming the first path where they differ;
/// `description` keys are not compared.
fn same(path: &str, got: &Value, want: &Value) -> Check {
    match (got, want) {
        (Value::Object(a), Value::Object(b)) => {
            let keys = |m: &serde_json::Map<String, Value>| {
                m.keys().filter(|k| *k != "description").cloned().collect::<Vec<_>>()
            };
            eq(&format!("{path} keys"), keys(a), keys(b))?;
            keys(a).iter().try_for_each(|k| same(&format!("{path}.{k}"), &a[k], &b[k]))
        }
        (Value::Array(a), Value::Array(b)) => {
            eq(&format!("{path} length"), a.len(), b.len())?;
            a.iter().zip(b).enumerate().try_for_each(|(i, (x, y))| same(&format!("{path}.{i}"), x, y))
        }
        _ => eq(path, got, want),
    }
}

/// The outcome of verifying an export, as the fields of a `tampered` case
/// of `audit.json`: its code, and the action index, envelope code, or the
/// actions' size and root when the error has them.
fn audit_outcome(log: &AuditLog) -> Value {
    let e = match log.verify() {
        Ok(_) => return serde_json::json!({"code": "accepted"}),
        Err(e) => e,
    };
    let mut out = serde_json::json!({"code": e.code()});
    match &e {
        AuditError::Head(source) => out["detail"] = Value::from(source.code()),
        AuditError::Action { index, source } => {
            out["index"] = Value::from(*index);
            out["detail"] = Value::from(source.code());
        }
        AuditError::WrongNode { index } => out["index"] = Value::from(*index),
        AuditError::Mismatch { size, root } => {
            out["size"] = Value::from(*size);
            out["root"] = Value::from(root.to_string());
        }
        _ => {}
    }
    out
}

/// `audit.json` (spec/reports.md §14): the export verifies, its head is
/// over the actions' leaves, each tampered export is refused with its code
/// (and index), each invalid action with `invalid`; and every value is the
/// one the seeds make.
fn check_audit(f: &Value, report: &Value) -> Check {
    let node = seed_key(s(f, "node_seed")?)?;
    let moderator = seed_key(s(f, "moderator_seed")?)?;
    let export: AuditLog = from_value(&f["export"])?;
    let (head, verified) = export.verify().map_err(|e| format!("export: {}: {e}", e.code()))?;
    eq("head node", head.node, NodeId::from(node.public()))?;
    eq("head size", head.size, n(f, "size")?)?;
    eq("head root", head.root.to_string().as_str(), s(f, "root")?)?;
    eq("head envelope", to_json(&export.head)?, f["head"]["envelope"].clone())?;
    let cases = arr(f, "actions")?;
    eq("actions", verified.len(), cases.len())?;
    for ((action, raw), case) in verified.iter().zip(&export.actions).zip(cases) {
        eq("action envelope", to_json(raw)?, case["envelope"].clone())?;
        eq("action body", raw.body.as_slice(), s(case, "body_utf8")?.as_bytes())?;
        eq("action signer", *action.moderator.public_key(), moderator.public())?;
        eq("action leaf hash", leaf_hash(&raw.body).to_string().as_str(), s(case, "leaf_hash")?)?;
    }
    eq("block case", verified[0].case.to_string().as_str(), s(report, "report_id")?)?;
    for case in arr(f, "tampered")? {
        let name = s(case, "name")?;
        let log: AuditLog = from_value(&case["export"])?;
        let mut want = case.clone();
        if let Some(m) = want.as_object_mut() {
            m.remove("name");
            m.remove("export");
        }
        eq(&format!("{name}: outcome"), audit_outcome(&log), want)?;
    }
    for case in arr(f, "invalid_actions")? {
        let name = s(case, "name")?;
        let raw: SignedBytes = from_value(&case["envelope"])?;
        eq(&format!("{name}: body"), raw.body.as_slice(), s(case, "body_utf8")?.as_bytes())?;
        let code = Unverified::<ModAction>::from_raw(raw).verify().err().map(|e| e.code());
        eq(&format!("{name}: code"), code, Some(s(case, "code")?))?;
    }
    same("audit.json", &build_audit(report)?, f)
}

/// Prints `audit.json` as `build_audit` makes it (how the file was made):
/// `cargo test -p accord-proto --test it print_audit_vector -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_audit_vector() {
    let files = load();
    let mut doc = build_audit(&files["report.json"]).unwrap();
    doc["description"] = files.get("audit.json").map(|f| f["description"].clone()).unwrap_or_default();
    println!("{}", serde_json::to_string_pretty(&doc).unwrap());
}

fn check_all(files: &Files) -> Check {
    let expected = [
        "audit.json",
        "blocklist.json",
        "envelopes.json",
        "equivocation.json",
        "federation.json",
        "keys.json",
        "list_pages.json",
        "media.json",
        "merkle.json",
        "names.json",
        "report.json",
        "room.json",
    ];
    eq("vector files", files.keys().map(String::as_str).collect::<Vec<_>>(), expected.to_vec())?;
    let get = |name: &str| files.get(name).ok_or_else(|| format!("{name} missing"));
    check_keys(get("keys.json")?).map_err(|e| format!("keys.json: {e}"))?;
    check_envelopes(get("envelopes.json")?).map_err(|e| format!("envelopes.json: {e}"))?;
    check_room(get("room.json")?).map_err(|e| format!("room.json: {e}"))?;
    check_merkle(get("merkle.json")?).map_err(|e| format!("merkle.json: {e}"))?;
    check_blocklist(get("blocklist.json")?).map_err(|e| format!("blocklist.json: {e}"))?;
    check_equivocation(get("equivocation.json")?).map_err(|e| format!("equivocation.json: {e}"))?;
    check_report(get("report.json")?).map_err(|e| format!("report.json: {e}"))?;
    check_audit(get("audit.json")?, get("report.json")?).map_err(|e| format!("audit.json: {e}"))?;
    check_federation(
        get("federation.json")?,
        get("envelopes.json")?,
        get("room.json")?,
        get("blocklist.json")?,
        get("equivocation.json")?,
    )
    .map_err(|e| format!("federation.json: {e}"))?;
    check_media(get("media.json")?).map_err(|e| format!("media.json: {e}"))?;
    check_list_pages(get("list_pages.json")?, get("federation.json")?, get("blocklist.json")?)
        .map_err(|e| format!("list_pages.json: {e}"))?;
    check_names(get("names.json")?).map_err(|e| format!("names.json: {e}"))?;
    Ok(())
}

/// Verified node names (spec/names.md): the patterns of each name, the
/// `domain` entries' leaf and target hashes, the proof (accepted) and the
/// refused documents (each with its code).
fn check_names(f: &Value) -> Check {
    use accord_proto::names::{DomainName, check_name_proof};
    for p in f["patterns"].as_array().ok_or("patterns")? {
        let name: DomainName = s(p, "name")?.parse().map_err(|e| format!("{e}"))?;
        let got: Vec<String> = name.patterns().iter().map(ToString::to_string).collect();
        let want: Vec<String> =
            p["patterns"].as_array().ok_or("patterns")?.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
        eq("patterns", got, want)?;
    }
    for e in f["entries"].as_array().ok_or("entries")? {
        let json = s(e, "json")?;
        let entry = ListEntry::parse(json.as_bytes()).map_err(|e| e.to_string())?;
        eq("domain leaf hash", leaf_hash(json.as_bytes()).to_string(), s(e, "leaf_hash")?.to_owned())?;
        let ListEntry::Add { target, .. } = entry else { return Err("not an add".into()) };
        eq("domain target hash", target.index_key().1.to_string(), s(e, "target_hash")?.to_owned())?;
        eq(
            "hashed domain target",
            serde_json::to_string(&target.to_hashed()).map_err(|e| e.to_string())?,
            s(e, "hashed_target")?.to_owned(),
        )?;
    }
    let p = &f["proof"];
    let node: NodeId = s(p, "node")?.parse().map_err(|e| format!("{e}"))?;
    let name: DomainName = s(p, "name")?.parse().map_err(|e| format!("{e}"))?;
    let at = Timestamp::from_millis(p["checked_at"].as_u64().ok_or("checked_at")?);
    let proof = check_name_proof(s(p, "document")?.as_bytes(), &node, &name, at).map_err(|e| e.to_string())?;
    eq("checked a day after it was issued", at, proof.issued.plus_millis(24 * 3600 * 1000))?;
    let envelope: Value = serde_json::from_str(s(p, "document")?).map_err(|e| e.to_string())?;
    eq("name proof document", &envelope, &p["case"]["envelope"])?;
    check_envelope_case(&p["case"])?;
    let whats: Vec<&str> =
        f["refused"].as_array().ok_or("refused")?.iter().filter_map(|r| r["what"].as_str()).collect();
    eq("refused cases", whats, vec!["signed by node 9, body names node B", "names node 9", "expired"])?;
    for r in f["refused"].as_array().ok_or("refused")? {
        let code = check_name_proof(s(r, "document")?.as_bytes(), &node, &name, at).err().map(|e| e.code());
        eq("refused name proof", code, Some(s(r, "code")?))?;
    }
    Ok(())
}

/// The media fetch frames of `media.json` (spec/federation.md §10): the
/// request decodes to its fields and encodes back to its bytes; each
/// response decodes to its status (and a chunk to its total and bytes)
/// and encodes back; the refused requests are refused.
fn check_media(f: &Value) -> Check {
    use accord_proto::media::{MediaRequest, MediaResponse};
    let bytes = |v: &Value, key: &str| hex::decode(s(v, key)?).map_err(|e| e.to_string());
    let r = &f["request"];
    let request = MediaRequest::decode(&bytes(r, "hex")?).map_err(|e| e.to_string())?;
    eq("request hash", request.hash.to_string(), s(r, "hash")?.to_string())?;
    eq("request offset", request.offset, n(r, "offset")?)?;
    eq("request length", u64::from(request.length), n(r, "length")?)?;
    eq("request bytes", hex::encode(request.encode()), s(r, "hex")?.to_string())?;
    let responses = arr(f, "responses")?;
    eq("four responses", responses.len(), 4)?;
    for v in responses {
        let wire = bytes(v, "hex")?;
        let response = MediaResponse::decode(&wire).map_err(|e| e.to_string())?;
        eq("response bytes", response.encode(), wire.clone())?;
        eq("status byte", u64::from(wire[0]), n(v, "status")?)?;
        if let MediaResponse::Chunk { total, bytes: chunk } = &response {
            eq("chunk total", *total, n(v, "total")?)?;
            eq("chunk bytes", hex::encode(chunk), s(v, "bytes_hex")?.to_string())?;
        }
    }
    // The request cut short, then with lengths 0 and MAX_CHUNK + 1.
    let good = request.encode();
    let with_length = |length: u32| [&good[..40], &length.to_be_bytes()[..]].concat();
    let expected = [good[..43].to_vec(), with_length(0), with_length(accord_proto::media::MAX_CHUNK + 1)];
    let refused = arr(f, "refused_requests_hex")?;
    eq("three refused requests", refused.len(), expected.len())?;
    for (v, want) in refused.iter().zip(expected) {
        let wire = hex::decode(v.as_str().ok_or("not a string")?).map_err(|e| e.to_string())?;
        eq("refused request bytes", hex::encode(&wire), hex::encode(&want))?;
        if MediaRequest::decode(&wire).is_ok() {
            return Err(format!("request {} is accepted", hex::encode(&wire)));
        }
    }
    Ok(())
}

/// The binary list pages of `list_pages.json` (spec/federation.md §3.13):
/// the range fetch of federation.json's `list_entries` as a page request
/// and its page, whose leaves with those held make blocklist.json's signed
/// root; an error page; and the refused frames, rebuilt here from the good
/// ones, each refused with its code.
fn check_list_pages(f: &Value, federation: &Value, blocklist: &Value) -> Check {
    use accord_proto::limits::{MAX_CHECKPOINT_NOTE, MAX_LIST_ENTRY};
    use accord_proto::list_page::{
        LIST_PAGES_PROTOCOL, ListPage, ListPageRequest, ListPageResponse, MAX_PAGE_BYTES, MAX_PAGE_LEAVES,
        MAX_PAGE_REQUEST_BYTES,
    };
    let bytes = |v: &Value, key: &str| hex::decode(s(v, key)?).map_err(|e| e.to_string());
    eq("protocol", s(f, "protocol")?, LIST_PAGES_PROTOCOL)?;
    let limits = &f["limits"];
    eq("max_page_leaves", n(limits, "max_page_leaves")?, MAX_PAGE_LEAVES as u64)?;
    eq("max_page_bytes", n(limits, "max_page_bytes")?, MAX_PAGE_BYTES as u64)?;
    eq("max_request_bytes", n(limits, "max_request_bytes")?, MAX_PAGE_REQUEST_BYTES as u64)?;
    eq("max_leaf_bytes", n(limits, "max_leaf_bytes")?, MAX_LIST_ENTRY as u64)?;
    eq("max_checkpoint_bytes", n(limits, "max_checkpoint_bytes")?, MAX_CHECKPOINT_NOTE as u64)?;

    let list: ListId = s(blocklist, "list_id")?.parse().map_err(|e| format!("{e}"))?;
    let held = n(&federation["messages"]["list_entries"], "from")?;
    let r = &f["request"];
    let request_bytes = bytes(r, "hex")?;
    let request = ListPageRequest::decode(&request_bytes).map_err(|e| format!("request: {e}"))?;
    eq("request list", request.list.to_string(), s(r, "list")?.to_string())?;
    eq("request", &request, &ListPageRequest { list: list.clone(), from: held, limit: MAX_PAGE_LEAVES as u32 })?;
    eq("request from", request.from, n(r, "from")?)?;
    eq("request limit", u64::from(request.limit), n(r, "limit")?)?;
    eq("request bytes", request.encode(), request_bytes.clone())?;

    let p = &f["page"];
    let page_bytes = bytes(p, "hex")?;
    let ListPageResponse::Page(page) = ListPageResponse::decode(&page_bytes).map_err(|e| format!("page: {e}"))? else {
        return Err("page: status".into());
    };
    eq("page checkpoint", page.checkpoint.note(), s(p, "checkpoint")?)?;
    let latest = arr(blocklist, "checkpoints")?.last().ok_or("blocklist.json has no checkpoint")?;
    eq("page checkpoint is blocklist.json's latest", page.checkpoint.note(), s(latest, "note")?)?;
    let texts: Vec<&str> =
        arr(p, "leaves")?.iter().map(|l| l.as_str().ok_or("leaf: not a string")).collect::<Result<_, _>>()?;
    eq(
        "page leaves",
        page.leaves.iter().map(|l| l.as_slice()).collect::<Vec<_>>(),
        texts.iter().map(|t| t.as_bytes()).collect(),
    )?;
    let answered: Vec<&str> = arr(&federation["messages"]["list_entries_answer"], "entries")?
        .iter()
        .map(|e| e.as_str().ok_or("entry: not a string"))
        .collect::<Result<_, _>>()?;
    eq("page leaves are list_entries_answer's", texts.clone(), answered)?;
    let verified = page.checkpoint.verify(&list).map_err(|e| format!("page checkpoint: {e}"))?;
    let mut log = MerkleLog::new();
    for e in arr(blocklist, "entries")?.iter().take(held as usize) {
        log.push(s(e, "json")?.as_bytes());
    }
    for leaf in &page.leaves {
        ListEntry::parse(leaf).map_err(|e| format!("page leaf: {e}"))?;
        log.push(leaf);
    }
    eq("page: held + paged size", log.size(), verified.checkpoint.size)?;
    eq("page: root over held + paged leaves", log.root(), verified.checkpoint.root)?;
    let rebuilt = ListPageResponse::Page(ListPage::filled(page.checkpoint.clone(), page.leaves.clone())).encode();
    eq("page bytes", rebuilt, page_bytes.clone())?;

    let e = &f["error"];
    let error_bytes = bytes(e, "hex")?;
    let error = ListPageResponse::decode(&error_bytes).map_err(|e| format!("error: {e}"))?;
    let want = ListPageResponse::Error { code: s(e, "code")?.to_string(), message: s(e, "message")?.to_string() };
    eq("error", &error, &want)?;
    eq("error code", s(e, "code")?, "unknown_list")?;
    eq("error bytes", error.encode(), error_bytes)?;

    // The refused frames, rebuilt from the good ones.
    let count_at = 1 + 2 + page.checkpoint.note().len();
    let with_count = |c: u32| [&page_bytes[..count_at], &c.to_be_bytes()[..], &page_bytes[count_at + 4..]].concat();
    let head = &page_bytes[..count_at + 4];
    let pages: Vec<(&str, Vec<u8>)> = vec![
        ("page_truncated", page_bytes[..page_bytes.len() - 1].to_vec()),
        ("page_trailing_bytes", [&page_bytes[..], &[0]].concat()),
        ("page_bad_length", with_count(MAX_PAGE_LEAVES as u32 + 1)),
        ("page_truncated", with_count(2)),
        ("page_bad_length", [head, &4097u16.to_be_bytes()[..], b"xyz"].concat()),
        ("page_bad_length", [head, &[0, 0][..], b"xyz"].concat()),
        ("page_bad_length", vec![0, 0, 0]),
        ("page_bad_status", vec![2]),
        ("page_bad_text", vec![1, 1, b'X', 0, 0]),
    ];
    let cut = request_bytes.len();
    let requests: Vec<(&str, Vec<u8>)> = vec![
        ("page_truncated", request_bytes[..cut - 1].to_vec()),
        ("page_bad_length", [&request_bytes[..cut - 4], &[0u8; 4][..]].concat()),
        ("page_bad_length", vec![0]),
        ("page_bad_text", [&[3u8][..], b"x/y", &[0u8; 12][..]].concat()),
        ("page_trailing_bytes", [&request_bytes[..], &[0]].concat()),
    ];
    let check_refused = |key: &str, want: Vec<(&str, Vec<u8>)>, decode: &dyn Fn(&[u8]) -> Option<&'static str>| {
        let cases = arr(f, key)?;
        eq(key, cases.len(), want.len())?;
        for (case, (code, frame)) in cases.iter().zip(want) {
            eq(key, (s(case, "code")?, s(case, "hex")?.to_string()), (code, hex::encode(&frame)))?;
            eq("refused with its code", decode(&frame), Some(code))?;
        }
        Ok::<(), String>(())
    };
    check_refused("refused_pages", pages, &|b| ListPageResponse::decode(b).err().map(|e| e.code()))?;
    check_refused("refused_requests", requests, &|b| ListPageRequest::decode(b).err().map(|e| e.code()))?;
    Ok(())
}

#[test]
fn the_implementation_matches_every_committed_vector() {
    check_all(&load()).unwrap();
}

/// Every leaf value of a JSON document, as a path of keys and indexes.
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                path.push(k.clone());
                leaves(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(i.to_string());
                leaves(child, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn leaf_mut<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Object(map) => map.get_mut(k).expect("path exists"),
        Value::Array(items) => &mut items[k.parse::<usize>().expect("index")],
        _ => unreachable!("leaf reached early"),
    })
}

/// Changes one byte of a string (a character in its middle, to another of
/// the same kind so encodings stay plausible), flips a bool, bumps a number.
fn mutate(v: &mut Value) -> bool {
    match v {
        Value::String(text) if !text.is_empty() => {
            let mut bytes = text.clone().into_bytes();
            let i = bytes.len() / 2;
            let i = (i..bytes.len()).chain(0..i).find(|&j| bytes[j].is_ascii_alphanumeric()).unwrap_or(i);
            bytes[i] = match bytes[i] {
                b'0' => b'2',
                b'z' => b'x',
                b'Z' => b'X',
                b if b.is_ascii_alphanumeric() => b + 1,
                b => b ^ 0x01,
            };
            match String::from_utf8(bytes) {
                Ok(t) => {
                    *text = t;
                    true
                }
                Err(_) => false,
            }
        }
        Value::Bool(b) => {
            *b = !*b;
            true
        }
        Value::Number(num) => match num.as_u64() {
            Some(x) => {
                *v = Value::from(x + 1);
                true
            }
            None => false,
        },
        _ => false,
    }
}

#[test]
fn changing_any_value_of_any_vector_is_detected() {
    let files = load();
    let mut checked = 0;
    for (name, doc) in &files {
        let mut paths = Vec::new();
        leaves(doc, &mut Vec::new(), &mut paths);
        for path in paths {
            if path.last().is_some_and(|k| k == "description" || k == "name") {
                continue;
            }
            let mut changed = files.clone();
            let doc = changed.get_mut(name).expect("file");
            if !mutate(leaf_mut(doc, &path)) {
                continue;
            }
            assert!(check_all(&changed).is_err(), "{name} {}: change not detected", path.join("."));
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} values checked");
}

#[test]
fn flipping_one_byte_of_a_vector_signature_fails_verification() {
    let files = load();
    let mut changed = files.clone();
    let case = &mut changed.get_mut("envelopes.json").expect("file")["cases"][0];
    let mut env: SignedBytes = from_value(&case["envelope"]).expect("envelope");
    let mut sig = env.sig.to_bytes();
    sig[10] ^= 0x01;
    env.sig = accord_proto::Signature::from_bytes(&sig);
    case["envelope"] = serde_json::to_value(&env).expect("json");
    let err = check_all(&changed).unwrap_err();
    assert!(err.contains("envelope"), "{err}");
}

#[test]
fn flipping_one_byte_of_a_signature_in_a_federation_message_fails_verification() {
    let files = load();
    let flip = |env: &mut Value| {
        let mut raw: SignedBytes = from_value(env).expect("envelope");
        let mut sig = raw.sig.to_bytes();
        sig[10] ^= 0x01;
        raw.sig = accord_proto::Signature::from_bytes(&sig);
        *env = serde_json::to_value(&raw).expect("json");
    };
    let cases: [(&[&str], &str); 5] = [
        (&["push", "events", "0", "author"], "push event 0: author envelope"),
        (&["sync_answer", "events", "2", "origin"], "sync_answer event 2: origin stamp"),
        (&["join", "joiner", "attestation"], "joiner: attestation"),
        (&["sync_answer", "identities", "0", "identity"], "sync_answer bob: identity document"),
        (&["manifest_answer", "manifest"], "manifest_answer"),
    ];
    for (path, want) in cases {
        let mut changed = files.clone();
        let doc = changed.get_mut("federation.json").expect("file");
        let path: Vec<String> = ["messages"].iter().chain(path).map(|k| k.to_string()).collect();
        flip(leaf_mut(doc, &path));
        let err = check_all(&changed).unwrap_err();
        assert!(err.contains(want) && err.contains("signature does not verify"), "{}: {err}", path.join("."));
    }
}

#[test]
fn announcing_the_checkpoint_with_a_changed_signature_byte_fails_verification() {
    let files = load();
    let mut changed = files.clone();
    let gossip = &mut changed.get_mut("federation.json").expect("file")["gossip"];
    gossip["announcement"] = gossip["announcement_bad_signature"].clone();
    let err = check_all(&changed).unwrap_err();
    assert!(err.contains("announcement: bad_signature"), "{err}");
}

#[test]
fn a_list_entries_answer_with_a_changed_leaf_does_not_make_the_signed_root() {
    let files = load();
    let mut changed = files.clone();
    let answer = &mut changed.get_mut("federation.json").expect("file")["messages"]["list_entries_answer"];
    // Another valid entry in place of the one the issuer logged.
    answer["entries"][0] = Value::from(r#"{"op":"remove","created":1764000013000,"entry":0}"#);
    let err = check_all(&changed).unwrap_err();
    assert!(err.contains("root recomputed over held + answered leaves"), "{err}");
}

#[test]
fn an_equivocation_gossip_message_that_proves_nothing_fails_verification() {
    let files = load();
    let mut changed = files.clone();
    let proof = &mut changed.get_mut("federation.json").expect("file")["gossip"]["equivocation"];
    // Two identical checkpoints are consistent: no equivocation.
    proof["b"] = proof["a"].clone();
    proof["path"] = Value::Array(vec![]);
    let err = check_all(&changed).unwrap_err();
    assert!(err.contains("equivocation: the checkpoints are consistent"), "{err}");
}

/// Node B's manifest of `federation.json`, changed and signed again by node
/// B: the rules of spec/federation.md §7.1 (signer, list order, uniqueness,
/// the list count and size limits) refuse it with the envelope codes.
#[test]
fn a_manifest_breaking_a_rule_is_refused_even_when_signed_by_its_node() {
    use accord_proto::envelope::EnvelopeError;
    let files = load();
    let fed = &files["federation.json"];
    let node_b = seed_key(s(&fed["seeds"], "node_b").unwrap()).unwrap();
    let raw: SignedBytes = from_value(&fed["messages"]["manifest_answer"]["manifest"]).unwrap();
    let manifest = Unverified::<PolicyManifest>::from_raw(raw).verify().unwrap().payload().clone();
    let declared = manifest.lists[0].clone();
    let verify = |m: &PolicyManifest, key: &SecretKey| {
        let body = serde_json::to_vec(m).unwrap();
        Unverified::<PolicyManifest>::from_raw(SignedBytes::sign(Domain::Manifest, body, key)).verify().map(|_| ())
    };
    let with = |lists: Vec<DeclaredList>| PolicyManifest { lists, ..manifest.clone() };
    let named = |name: &str| DeclaredList {
        list: ListId { issuer: declared.list.issuer, name: name.parse().unwrap() },
        size: 1,
    };
    assert_eq!(verify(&manifest, &node_b), Ok(()));
    assert_eq!(verify(&with(vec![]), &node_b), Ok(()), "a node may declare no list");
    // Ordered by list id: issuer key bytes, then name bytes.
    assert_eq!(verify(&with(vec![declared.clone(), named("spam")]), &node_b), Ok(()));
    let invalid = |r: Result<(), EnvelopeError>| matches!(r, Err(EnvelopeError::Invalid(_)));
    assert!(invalid(verify(&with(vec![named("spam"), declared.clone()]), &node_b)), "out of order");
    assert!(invalid(verify(&with(vec![declared.clone(), declared.clone()]), &node_b)), "twice");
    let other = accord_proto::IssuerId::from(node_b.public());
    let mut issuers = [declared.list.issuer, other];
    issuers.sort_by_key(|i| *i.public_key().as_bytes());
    let by_issuer: Vec<DeclaredList> = issuers
        .iter()
        .map(|&issuer| DeclaredList { list: ListId { issuer, ..declared.list.clone() }, size: 1 })
        .collect();
    assert_eq!(verify(&with(by_issuer.clone()), &node_b), Ok(()));
    assert!(invalid(verify(&with(by_issuer.into_iter().rev().collect()), &node_b)), "issuers out of order");
    let many = |count: usize| with((0..count).map(|i| named(&format!("l{i:04}"))).collect());
    assert_eq!(verify(&many(MAX_MANIFEST_LISTS), &node_b), Ok(()));
    assert!(invalid(verify(&many(MAX_MANIFEST_LISTS + 1), &node_b)), "over the list limit");
    // Signed by another node than the one it names.
    let node = seed_key(s(&fed["seeds"], "node").unwrap()).unwrap();
    assert!(matches!(verify(&manifest, &node), Err(EnvelopeError::SignerMismatch { .. })));
    // Over 256 KiB: refused before the signature is checked.
    let big = SignedBytes::sign(Domain::Manifest, vec![b' '; accord_proto::policy::MAX_MANIFEST_BODY + 1], &node_b);
    assert!(matches!(Unverified::<PolicyManifest>::from_raw(big).verify(), Err(EnvelopeError::TooLarge { .. })));
}

/// Each tampered export of `audit.json` put in place of the export is
/// refused with its code (spec/reports.md §10), before any value is
/// compared with the rebuilt file.
#[test]
fn an_audit_export_with_one_defect_is_refused_with_its_code() {
    let files = load();
    let audit = &files["audit.json"];
    let cases = arr(audit, "tampered").unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let mut changed = files.clone();
        changed.get_mut("audit.json").expect("file")["export"] = case["export"].clone();
        let err = check_all(&changed).unwrap_err();
        let want = format!("audit.json: export: {}:", s(case, "code").unwrap());
        assert!(err.starts_with(&want), "{}: {err}", s(case, "name").unwrap());
    }
    // An invalid action signed in place of the first action of the export.
    let mut changed = files.clone();
    let doc = changed.get_mut("audit.json").expect("file");
    doc["export"]["actions"][0] = doc["invalid_actions"][0]["envelope"].clone();
    let err = check_all(&changed).unwrap_err();
    assert!(err.starts_with("audit.json: export: bad_action: action 0: invalid"), "{err}");
}

//! One function per decoder of the Accord protocol (`accord-proto`) that
//! reads untrusted input, fed arbitrary bytes. The `cargo fuzz` targets of
//! this crate call them (through `lib.rs`), and
//! `crates/accord-proto/tests/it/robustness.rs` includes this file so that
//! proptest feeds them the same kinds of input in CI.
//!
//! Each function must not panic, whatever the bytes; a refusal must be a
//! typed error, i.e. carry a non-empty stable `code()`. Signed objects are
//! also fed with the bytes as a body correctly signed by a fixed key, so
//! that the parsers behind the signature check are reached.

use accord_api::ErrorBody;
use accord_api::auth::{ChallengeRequest, LoginRequest};
use accord_api::events::SendEventRequest;
use accord_api::identities::IdentityResponse;
use accord_api::moderation::{ActionRequest, CaseDetail};
use accord_api::node::NodeInfo;
use accord_api::register::RegisterRequest;
use accord_api::reports::{ReportRequest, ReportsResponse};
use accord_api::rooms::{HistoryQuery, HistoryResponse};
use accord_api::stream::{ClientFrame, ServerFrame};
use accord_proto::audit::ModAction;
use accord_proto::auth::AuthResponse;
use accord_proto::blocklist::checkpoint::{SignedCheckpoint, key_id};
use accord_proto::blocklist::equivocation::EquivocationProof;
use accord_proto::blocklist::{ListEntry, merkle};
use accord_proto::event::{EventBody, OriginStamp, UnverifiedEvent};
use accord_proto::federation::{FedRequest, FedResponse, IdentityPair, ListAnnouncement, WireError};
use accord_proto::identity::{Attestation, Handle, IdentityDocument, SignedRotation};
use accord_proto::list_page::{ListPageError, ListPageRequest, ListPageResponse};
use accord_proto::policy::PolicyManifest;
use accord_proto::report::{Report, ReportBody};
use accord_proto::{
    AccountId, Domain, EventId, IssuerId, ListId, NodeId, RoomId, SecretKey, Sha256Hash, SignedBytes, Unverified,
};
use base64::Engine as _;

/// The fixed key that signs fuzzed bodies.
fn signer() -> SecretKey {
    SecretKey::from_seed([7; 32])
}

/// Splits input in two at its first `0xff` byte (or in the middle).
fn halves(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => data.split_at(data.len() / 2),
    }
}

/// Asserts that a refusal is typed.
fn typed<T>(result: Result<T, impl Coded>) {
    if let Err(e) = result {
        assert!(!e.code().is_empty(), "a refusal without a code");
    }
}

/// Errors with a stable code.
trait Coded {
    /// The code.
    fn code(&self) -> &'static str;
}

macro_rules! coded {
    ($($t:ty),* $(,)?) => {$(
        impl Coded for $t {
            fn code(&self) -> &'static str {
                <$t>::code(self)
            }
        }
    )*};
}

coded!(
    accord_proto::EnvelopeError,
    accord_proto::event::EventError,
    accord_proto::blocklist::CheckpointError,
    accord_proto::blocklist::EquivocationError,
    accord_proto::blocklist::EntryError,
    accord_proto::blocklist::ProofError,
    accord_proto::report::ReportError,
    ListPageError,
    accord_proto::federation::PairError,
    accord_proto::names::NameProofError,
);

/// Decodes `data` as the body of a `T` signed by the fixed key, and as a
/// JSON envelope claiming to carry a `T`.
fn signed<T: accord_proto::envelope::Payload>(domain: Domain, data: &[u8]) {
    typed(Unverified::<T>::from_raw(SignedBytes::sign(domain, data.to_vec(), &signer())).verify());
    if let Ok(envelope) = serde_json::from_slice::<Unverified<T>>(data) {
        typed(envelope.verify());
    }
}

/// Signed envelopes: the JSON form, and a body of every payload type.
pub fn envelope(data: &[u8]) {
    if let Ok(raw) = serde_json::from_slice::<SignedBytes>(data) {
        for domain in [Domain::Identity, Domain::Event, Domain::Report, Domain::Manifest] {
            let _ = raw.verify(domain);
        }
        typed(Unverified::<EventBody>::from_raw(raw).verify());
    }
    signed::<EventBody>(Domain::Event, data);
    signed::<OriginStamp>(Domain::EventOrigin, data);
    signed::<AuthResponse>(Domain::AuthChallenge, data);
}

/// Events as they travel: author body and origin stamp, each signed.
pub fn event(data: &[u8]) {
    if let Ok(event) = serde_json::from_slice::<UnverifiedEvent>(data) {
        typed(event.verify());
    }
    let (author, origin) = halves(data);
    let key = signer();
    let event = UnverifiedEvent {
        author: Unverified::from_raw(SignedBytes::sign(Domain::Event, author.to_vec(), &key)),
        origin: Unverified::from_raw(SignedBytes::sign(Domain::EventOrigin, origin.to_vec(), &key)),
    };
    typed(event.verify());
    for result in UnverifiedEvent::verify_many(&[event.clone(), event]) {
        typed(result);
    }
}

/// Identity documents, attestations, identity pairs, key rotations and
/// handles.
pub fn identity(data: &[u8]) {
    signed::<IdentityDocument>(Domain::Identity, data);
    signed::<Attestation>(Domain::Attestation, data);
    if let Ok(pair) = serde_json::from_slice::<IdentityPair>(data) {
        typed(pair.verify());
    }
    if let Ok(rotation) = serde_json::from_slice::<SignedRotation>(data) {
        typed(rotation.verify());
    }
    let text = String::from_utf8_lossy(data);
    let _ = Handle::parse(&text);
    let _ = text.parse::<AccountId>();
    let _ = text.parse::<NodeId>();
}

/// The list the fuzzed checkpoints claim to be of.
fn fuzz_list() -> ListId {
    let name = "fuzz".parse().unwrap_or_else(|_| unreachable!("a valid list name"));
    ListId { issuer: IssuerId::from(signer().public()), name }
}

/// Signed checkpoints: the note as given, and the bytes as checkpoint text
/// correctly signed by the list's issuer.
pub fn checkpoint(data: &[u8]) {
    let list = fuzz_list();
    let note = String::from_utf8_lossy(data).into_owned();
    typed(SignedCheckpoint::from_note(note.clone()).verify(&list));
    let key = signer();
    let name = list.issuer.to_string();
    let mut blob = key_id(&name, &key.public()).to_vec();
    blob.extend_from_slice(&key.sign_raw(note.as_bytes()).to_bytes());
    let signed = format!("{note}\n\u{2014} {name} {}\n", base64::engine::general_purpose::STANDARD.encode(&blob));
    typed(SignedCheckpoint::from_note(signed).verify(&list));
    if let Ok(announcement) = std::str::from_utf8(data) {
        let _ = ListAnnouncement::verify(announcement.as_bytes());
    }
}

/// Equivocation proofs, and Merkle inclusion and consistency proofs read
/// from the bytes (sizes, index and hashes).
pub fn proof(data: &[u8]) {
    if let Ok(proof) = serde_json::from_slice::<EquivocationProof>(data) {
        typed(proof.verify());
    }
    let number = |at: usize| {
        let mut b = [0u8; 8];
        for (i, byte) in data.iter().skip(at).take(8).enumerate() {
            b[i] = *byte;
        }
        u64::from_le_bytes(b)
    };
    let (a, b, c) = (number(0), number(8), number(16));
    let hashes: Vec<Sha256Hash> = data
        .get(24..)
        .unwrap_or_default()
        .chunks(32)
        .map(|chunk| {
            let mut h = [0u8; 32];
            h[..chunk.len()].copy_from_slice(chunk);
            Sha256Hash(h)
        })
        .collect();
    let (first, rest) = hashes.split_first().map(|(f, r)| (*f, r)).unwrap_or((Sha256Hash([0; 32]), &[]));
    typed(merkle::verify_inclusion(&first, a, b, rest, &first));
    typed(merkle::verify_consistency(a % (1 << 20), c, &first, &first, rest));
    // Small trees, to reach the arithmetic of real paths.
    typed(merkle::verify_inclusion(&first, a % 64, b % 64, rest, &first));
    typed(merkle::verify_consistency(a % 64, b % 64, &first, &first, rest));
}

/// Policy manifests.
pub fn manifest(data: &[u8]) {
    signed::<PolicyManifest>(Domain::Manifest, data);
}

/// Reports, and the events they carry as evidence.
pub fn report(data: &[u8]) {
    let key = signer();
    typed(Report::verify(&Unverified::from_raw(SignedBytes::sign(Domain::Report, data.to_vec(), &key))));
    if let Ok(report) = serde_json::from_slice::<Unverified<ReportBody>>(data) {
        typed(Report::verify(&report));
    }
}

/// Federation messages (requests, answers, gossip) and list entries as
/// peers hand them over. (Operators' imports in other formats are the
/// targets of `formats.rs`.)
pub fn federation(data: &[u8]) {
    let _ = serde_json::from_slice::<FedRequest>(data);
    let _ = serde_json::from_slice::<FedResponse>(data);
    let _ = ListAnnouncement::verify(data);
    typed(ListEntry::parse(data));
    let text = String::from_utf8_lossy(data);
    let _ = text.parse::<RoomId>();
    let _ = text.parse::<EventId>();
    let _ = text.parse::<ListId>();
}

/// The `/accord/federation/1` codec: a request and a response as the node
/// reads them from a stream ([`FedRequest::decode`],
/// [`FedResponse::decode`]). A refusal is typed; what decodes encodes and
/// decodes again to the same message; and the signed objects it carries
/// are verified as the receiving node verifies them.
pub fn federation_wire(data: &[u8]) {
    fn round_trips<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
        message: &T,
        decode: fn(&[u8]) -> Result<T, WireError>,
    ) {
        let bytes = serde_json::to_vec(message).expect("a decoded message encodes");
        assert_eq!(decode(&bytes).as_ref(), Ok(message), "a message does not decode to itself");
    }
    let mut events = Vec::new();
    let mut pairs = Vec::new();
    match FedRequest::decode(data) {
        Ok(request) => {
            round_trips(&request, FedRequest::decode);
            match request {
                FedRequest::Push { events: e, identities, .. } => {
                    events.extend(e);
                    pairs.extend(identities);
                }
                FedRequest::Join { joiner, .. } => pairs.push(*joiner),
                FedRequest::Report { report } => {
                    typed(Report::verify(&Unverified::<ReportBody>::from_raw(*report)));
                }
                FedRequest::ReportOutcome { action, .. } => {
                    typed(Unverified::<ModAction>::from_raw(*action).verify());
                }
                FedRequest::Appeal { appeal } => {
                    typed(Unverified::<accord_proto::appeal::AppealBody>::from_raw(*appeal).verify());
                }
                FedRequest::AppealOutcome { action } => {
                    typed(Unverified::<ModAction>::from_raw(*action).verify());
                }
                FedRequest::AddCheckpoint { body } => {
                    if let Ok(request) = accord_proto::blocklist::witness::AddCheckpoint::parse(body.as_bytes()) {
                        assert_eq!(
                            accord_proto::blocklist::witness::AddCheckpoint::parse(request.to_body().as_bytes()),
                            Ok(request),
                            "an add-checkpoint request round-trips"
                        );
                    }
                }
                _ => {}
            }
        }
        Err(e) => assert!(!e.code().is_empty(), "a refusal without a code"),
    }
    match FedResponse::decode(data) {
        Ok(response) => {
            round_trips(&response, FedResponse::decode);
            match response {
                FedResponse::Identities { identities } => pairs.extend(identities),
                FedResponse::Events { events: e, identities, .. } => {
                    events.extend(e);
                    pairs.extend(identities);
                }
                FedResponse::ListEntries { checkpoint, entries } => {
                    // The list the note names, so that a real one verifies.
                    let list = checkpoint
                        .note()
                        .lines()
                        .next()
                        .and_then(|origin| origin.strip_prefix("accord/v1/list/")?.parse::<ListId>().ok())
                        .unwrap_or_else(fuzz_list);
                    typed(checkpoint.verify(&list));
                    for entry in entries {
                        typed(ListEntry::parse(entry.as_bytes()));
                    }
                }
                FedResponse::Manifest { manifest } => {
                    typed(Unverified::<PolicyManifest>::from_raw(*manifest).verify());
                }
                _ => {}
            }
        }
        Err(e) => assert!(!e.code().is_empty(), "a refusal without a code"),
    }
    for event in &events {
        typed(event.verify());
    }
    for pair in &pairs {
        typed(pair.verify());
    }
}

/// The live stream's WebSocket frames from a client, as the node reads
/// them ([`ClientFrame::parse`]; a WebSocket text message is UTF-8): a
/// refusal carries a code, and a frame that parses encodes and parses
/// again to the same frame.
pub fn client_frame(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match ClientFrame::parse(&text) {
        Ok(frame) => {
            let again = serde_json::to_string(&frame).expect("a parsed frame encodes");
            assert_eq!(ClientFrame::parse(&again), Ok(frame), "a frame does not parse to itself");
        }
        Err(e) => assert!(!e.code().as_str().is_empty(), "a refusal without a code"),
    }
}

/// What clients send to the API, and what a client reads from a node:
/// every request body and live-stream frame of the client API
/// (`accord_api`), decoded as the node decodes them, with the signed
/// payloads they carry verified; the node's answers decoded as the SDK
/// decodes them; and the signed payloads of registration, login and
/// sending as signed bodies.
pub fn client_request(data: &[u8]) {
    signed::<AuthResponse>(Domain::AuthChallenge, data);
    signed::<IdentityDocument>(Domain::Identity, data);
    signed::<EventBody>(Domain::Event, data);
    let mut carried = Vec::new();
    if let Ok(body) = serde_json::from_slice::<RegisterRequest>(data) {
        carried.push(body.identity);
    }
    if let Ok(body) = serde_json::from_slice::<LoginRequest>(data) {
        carried.push(body.response);
    }
    if let Ok(body) = serde_json::from_slice::<SendEventRequest>(data) {
        carried.push(body.event);
    }
    if let Ok(body) = serde_json::from_slice::<ReportRequest>(data) {
        carried.push(body.report);
    }
    if let Ok(body) = serde_json::from_slice::<ActionRequest>(data) {
        carried.push(body.action);
    }
    for raw in carried {
        typed(Unverified::<IdentityDocument>::from_raw(raw.clone()).verify());
        typed(Unverified::<AuthResponse>::from_raw(raw.clone()).verify());
        typed(Unverified::<EventBody>::from_raw(raw.clone()).verify());
        typed(Report::verify(&Unverified::<ReportBody>::from_raw(raw)));
    }
    let _ = serde_json::from_slice::<ChallengeRequest>(data);
    let _ = serde_json::from_slice::<ClientFrame>(data);
    let _ = serde_json::from_slice::<HistoryQuery>(data);
    // Answers, as a client reads them: each one that decodes encodes again.
    fn reencodes<T: serde::Serialize + serde::de::DeserializeOwned>(data: &[u8]) {
        if let Ok(value) = serde_json::from_slice::<T>(data) {
            assert!(serde_json::to_vec(&value).is_ok(), "a decoded answer does not encode");
        }
    }
    reencodes::<ErrorBody>(data);
    reencodes::<NodeInfo>(data);
    reencodes::<IdentityResponse>(data);
    reencodes::<HistoryResponse>(data);
    reencodes::<ReportsResponse>(data);
    reencodes::<CaseDetail>(data);
    if let Ok(frame) = serde_json::from_slice::<ServerFrame>(data)
        && !matches!(frame, ServerFrame::Unknown)
    {
        assert!(serde_json::to_vec(&frame).is_ok(), "a decoded frame does not encode");
    }
}

/// Name proof documents as fetched from `https://NAME/.well-known/accord/node`
/// (spec/names.md §3), the bytes also as a body signed by the fixed key,
/// and domain patterns.
pub fn name_proof(data: &[u8]) {
    let key = signer();
    let node = NodeId::from(key.public());
    let signed = serde_json::to_vec(&SignedBytes::sign(Domain::NodeName, data.to_vec(), &key)).unwrap_or_default();
    let now = accord_proto::Timestamp::from_millis(1_764_000_000_000);
    if let Ok(name) = "chat.example.org".parse::<accord_proto::names::DomainName>() {
        typed(accord_proto::names::check_name_proof(data, &node, &name, now));
        typed(accord_proto::names::check_name_proof(&signed, &node, &name, now));
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(pattern) = text.parse::<accord_proto::names::DomainPattern>()
    {
        assert_eq!(pattern.to_string(), text, "a domain pattern does not re-encode as read");
        assert!(pattern.matches(pattern.base()), "a pattern does not match its own base name");
    }
}

/// The `/accord/list-pages/1` frames (spec/federation.md §3.13), as the
/// node decodes a peer's request and a peer's page: a refusal carries its
/// code; whatever decodes encodes back to the same bytes; a page's
/// checkpoint is verified for a list as a subscriber does.
pub fn list_page(data: &[u8]) {
    match ListPageRequest::decode(data) {
        Ok(request) => {
            assert_eq!(request.encode(), data, "a request does not re-encode as read");
            assert!(request.served() >= 1, "a request serves no leaf");
        }
        Err(e) => typed::<()>(Err(e)),
    }
    match ListPageResponse::decode(data) {
        Ok(response) => {
            assert_eq!(response.encode(), data, "a page does not re-encode as read");
            if let ListPageResponse::Page(page) = response {
                let list = ListId { issuer: IssuerId::from(signer().public()), name: "spam".parse().expect("name") };
                typed(page.checkpoint.verify(&list));
                for leaf in &page.leaves {
                    typed(ListEntry::parse(leaf));
                }
            }
        }
        Err(e) => typed::<()>(Err(e)),
    }
}

/// Every protocol decoder at once (the proptests' entry point).
pub fn all(data: &[u8]) {
    name_proof(data);
    envelope(data);
    event(data);
    identity(data);
    checkpoint(data);
    proof(data);
    manifest(data);
    report(data);
    federation(data);
    federation_wire(data);
    list_page(data);
    client_request(data);
    client_frame(data);
}

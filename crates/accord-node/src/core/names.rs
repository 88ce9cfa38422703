//! Verified node names (spec/names.md): the name proof this node signs,
//! the checks of peers' proofs fetched over HTTPS at the names they claim
//! (kept in the store until they are due again), and what follows from a
//! verified name — `domain` entries of the lists enforced here, and
//! `p2p.require_verified_names`.

use crate::config::NamesSection;
use crate::core::Core;
use crate::core::lists::Provenance;
use accord_api::names::NodeNameStatus;
use accord_proto::names::{
    DomainName, MAX_NAME_PROOF_DOCUMENT, NameProof, NameProofError, WELL_KNOWN_PATH, check_name_proof,
};
use accord_proto::{NodeId, Timestamp, Verified};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a fetch of a name proof may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a peer's name does not count as verified here: its check's stable
/// code (spec/names.md §3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameCheckError {
    /// The peer claims no name (its policy manifest names none), or this
    /// node holds no manifest of it.
    #[error("the node claims no name")]
    NoName,
    /// The claimed name is not a DNS name.
    #[error("the claimed name {0} is not a DNS name")]
    NotDns(String),
    /// The proof could not be fetched (DNS, TCP, TLS, HTTP status, size).
    #[error("fetching the name proof failed: {0}")]
    Fetch(String),
    /// The document fetched does not prove the name (see the proof's code).
    #[error(transparent)]
    Proof(#[from] NameProofError),
}

impl NameCheckError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            NameCheckError::NoName => "no_name",
            NameCheckError::NotDns(_) => "not_dns",
            NameCheckError::Fetch(_) => "unreachable",
            NameCheckError::Proof(e) => e.code(),
        }
    }
}

/// Why a name proof of this node cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnProofError {
    /// `node.name` is not a DNS name: no HTTPS server can prove it.
    #[error("node.name {0} is not a DNS name (lowercase labels of a-z 0-9 -, at least two)")]
    NotDns(String),
    /// Signing failed.
    #[error("signing the name proof failed: {0}")]
    Sign(String),
}

impl OwnProofError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            OwnProofError::NotDns(_) => "not_dns",
            OwnProofError::Sign(_) => "internal",
        }
    }
}

/// The name checks: an HTTPS client, and the outcomes held in memory (each
/// also in the store).
pub(crate) struct Names {
    client: reqwest::Client,
    held: Mutex<HashMap<NodeId, NodeNameStatus>>,
    /// One fetch at a time: concurrent checks of one peer wait for the
    /// first one's outcome instead of fetching again.
    fetching: tokio::sync::Mutex<()>,
}

impl Names {
    /// The HTTPS client of `[names]`: the webpki roots plus
    /// `extra_roots` (relative to the data directory `root`), and the
    /// `resolve` overrides.
    pub(crate) fn new(section: &NamesSection, root: &Path) -> Result<Names, String> {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for path in &section.extra_roots {
            let path = root.join(path);
            let pem = std::fs::read(&path).map_err(|e| format!("names.extra_roots: {}: {e}", path.display()))?;
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("names.extra_roots: {}: {e}", path.display()))?;
                roots.add(cert).map_err(|e| format!("names.extra_roots: {}: {e}", path.display()))?;
                found += 1;
            }
            if found == 0 {
                return Err(format!("names.extra_roots: {} holds no certificate", path.display()));
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut builder = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            // Each check connects afresh: a kept connection would go on
            // asking the server the name pointed at before, so a name
            // moved to another node would be checked against the old one.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("accord-node/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(tls);
        for (name, addr) in &section.resolve {
            builder = builder.resolve(name, *addr);
        }
        let client = builder.build().map_err(|e| format!("the name checks' HTTPS client: {e}"))?;
        Ok(Names { client, held: Mutex::new(HashMap::new()), fetching: tokio::sync::Mutex::new(()) })
    }

    fn held(&self, node: &NodeId) -> Option<NodeNameStatus> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).get(node).cloned()
    }

    fn keep(&self, status: NodeNameStatus) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(status.node, status);
    }

    /// Fetches `https://NAME/.well-known/accord/node`, at most
    /// [`MAX_NAME_PROOF_DOCUMENT`] bytes.
    async fn fetch(&self, name: &DomainName) -> Result<Vec<u8>, NameCheckError> {
        let url = format!("https://{name}{WELL_KNOWN_PATH}");
        let mut response = self.client.get(&url).send().await.map_err(|e| NameCheckError::Fetch(chain(&e)))?;
        if !response.status().is_success() {
            return Err(NameCheckError::Fetch(format!("{url} answered {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| NameCheckError::Fetch(chain(&e)))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_NAME_PROOF_DOCUMENT {
                return Err(NameProofError::TooLarge { len: body.len(), max: MAX_NAME_PROOF_DOCUMENT }.into());
            }
        }
        Ok(body)
    }
}

/// An error and its sources, on one line.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// The DNS name this node claims: `node.name`, if it is one.
pub(crate) fn claimed(state: &Core) -> Option<DomainName> {
    DomainName::parse(state.config.node.name.as_str()).ok()
}

/// This node's name proof, signed now, valid for `names.proof_days`, with
/// its p2p addresses.
pub fn own_proof(state: &Core, addrs: Vec<String>) -> Result<Verified<NameProof>, OwnProofError> {
    let name = DomainName::parse(state.config.node.name.as_str())
        .map_err(|_| OwnProofError::NotDns(state.config.node.name.to_string()))?;
    sign_proof(&state.node_key, name, addrs, state.config.names.proof_days)
}

/// A name proof of the node whose key is `key` for `name`, signed now,
/// valid for `days` days (the `accord-node name-proof` command's, too).
pub fn sign_proof(
    key: &accord_proto::SecretKey,
    name: DomainName,
    addrs: Vec<String>,
    days: u64,
) -> Result<Verified<NameProof>, OwnProofError> {
    let issued = Timestamp::now();
    let addrs = addrs.into_iter().take(accord_proto::names::MAX_NAME_PROOF_ADDRS).collect();
    let proof = NameProof {
        name,
        node: NodeId::from(key.public()),
        addrs,
        issued,
        expires: issued.plus_millis(days.clamp(1, 90) * 24 * 3600 * 1000),
    };
    Verified::sign(proof, key).map_err(|e| OwnProofError::Sign(e.to_string()))
}

/// The name a peer claims in the policy manifest held of it.
fn claim_of(state: &Core, node: &NodeId) -> Option<String> {
    if *node == state.node_id {
        return Some(state.config.node.name.to_string());
    }
    state.policy.get(node).and_then(|m| m.name.as_ref().map(ToString::to_string))
}

/// The last check of `node`'s name, from memory or the store.
pub fn status(state: &Core, node: &NodeId) -> Option<NodeNameStatus> {
    if let Some(held) = state.names.held(node) {
        return Some(held);
    }
    let stored = state.store.node_name(node).ok().flatten()?;
    state.names.keep(stored.clone());
    Some(stored)
}

/// `node`'s name as checked now or recently: the held outcome if it is for
/// the name claimed now and not due, else a new check (one fetch). `None`
/// when the node claims no name.
pub async fn current(state: &Core, node: &NodeId) -> Option<NodeNameStatus> {
    let claim = claim_of(state, node)?;
    let fresh = |s: &NodeNameStatus| s.name == claim && s.until > Timestamp::now();
    if let Some(held) = status(state, node).filter(fresh) {
        return Some(held);
    }
    let _one = state.names.fetching.lock().await;
    if let Some(held) = state.names.held(node).filter(fresh) {
        return Some(held);
    }
    Some(check(state, node, &claim).await)
}

/// Checks `node`'s claim to `claim` now and keeps the outcome.
async fn check(state: &Core, node: &NodeId, claim: &str) -> NodeNameStatus {
    let now = Timestamp::now();
    let outcome = match DomainName::parse(claim) {
        Err(_) => Err(NameCheckError::NotDns(claim.to_owned())),
        Ok(name) => match state.names.fetch(&name).await {
            Ok(document) => check_name_proof(&document, node, &name, Timestamp::now()).map_err(NameCheckError::from),
            Err(e) => Err(e),
        },
    };
    let names = &state.config.names;
    let status = match outcome {
        Ok(proof) => NodeNameStatus {
            node: *node,
            name: claim.to_owned(),
            verified: true,
            checked: now,
            // Checked again when due, and never trusted past the proof's
            // own expiry.
            until: now.plus_millis(names.recheck_secs.saturating_mul(1000)).min(proof.expires),
            code: None,
            message: None,
        },
        Err(e) => {
            tracing::info!("the name {claim} of {node} does not verify: {e}");
            state.metrics.fed_reject(&format!("name_{}", e.code()));
            NodeNameStatus {
                node: *node,
                name: claim.to_owned(),
                verified: false,
                checked: now,
                until: now.plus_millis(names.retry_secs.saturating_mul(1000)),
                code: Some(e.code().to_owned()),
                message: Some(e.to_string()),
            }
        }
    };
    if let Err(e) = state.store.put_node_name(&status).await {
        tracing::error!("keeping the name check of {node}: {e}");
    }
    state.names.keep(status.clone());
    status
}

/// Whether peers' names matter here: `p2p.require_verified_names`, or a
/// `domain` entry that may match.
fn needed(state: &Core) -> bool {
    state.config.p2p.require_verified_names || state.lists.may_match_domains()
}

/// Starts a check of `node`'s claimed name in the background when names
/// matter here and the held outcome is not for it or is due (a new
/// manifest arrived).
pub(crate) fn on_claim(state: &Arc<Core>, node: NodeId) {
    if !needed(state) {
        return;
    }
    let Some(claim) = claim_of(state, &node) else { return };
    if status(state, &node).is_some_and(|s| s.name == claim && s.until > Timestamp::now()) {
        return;
    }
    let core = state.clone();
    state.tasks.spawn(async move {
        current(&core, &node).await;
    });
}

/// The verified name of `node` as held now (no fetch), if it verified.
pub fn verified_name(state: &Core, node: &NodeId) -> Option<DomainName> {
    status(state, node)
        .filter(|s| s.verified && s.until > Timestamp::now())
        .and_then(|s| DomainName::parse(&s.name).ok())
}

/// Whether a `reject` entry of a `domain` target matches `node`'s verified
/// name as held now, and by what.
pub fn blocked(state: &Core, node: &NodeId) -> Option<Provenance> {
    let name = verified_name(state, node)?;
    state.lists.check_domain(&state.store, &name)
}

/// Why a peer does not meet this node's name policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamePolicyError {
    /// The peer's verified name falls under a `domain` entry.
    #[error("this node's name {name} is blocked by {} entry {}", .provenance.list, .provenance.entry)]
    Blocked {
        /// The verified name.
        name: DomainName,
        /// The entry.
        provenance: Box<Provenance>,
    },
    /// `p2p.require_verified_names` is on and the peer's name does not
    /// verify.
    #[error("this node requires peers' names to verify: {code}: {why}")]
    Unverified {
        /// The check's code ([`NameCheckError::code`]).
        code: String,
        /// Why.
        why: String,
    },
}

impl NamePolicyError {
    /// The stable code peers are answered with (spec/federation.md §3.8).
    pub fn code(&self) -> &'static str {
        match self {
            NamePolicyError::Blocked { .. } => "blocked",
            NamePolicyError::Unverified { .. } => "unverified_name",
        }
    }
}

/// Whether a peer meets this node's name policy: its verified name (checked
/// now if due) is not blocked, and, under `p2p.require_verified_names`, it
/// has one.
pub async fn meets(state: &Core, peer: &NodeId) -> Result<(), NamePolicyError> {
    // Names are fetched only when something here depends on them.
    if !needed(state) {
        return Ok(());
    }
    let status = current(state, peer).await;
    if let Some(s) = status.as_ref().filter(|s| s.verified)
        && let Ok(name) = DomainName::parse(&s.name)
        && let Some(provenance) = state.lists.check_domain(&state.store, &name)
    {
        return Err(NamePolicyError::Blocked { name, provenance: Box::new(provenance) });
    }
    if state.config.p2p.require_verified_names {
        match status {
            Some(s) if s.verified => {}
            Some(s) => {
                return Err(NamePolicyError::Unverified {
                    code: s.code.unwrap_or_default(),
                    why: s.message.unwrap_or_default(),
                });
            }
            None => {
                let e = NameCheckError::NoName;
                return Err(NamePolicyError::Unverified { code: e.code().into(), why: e.to_string() });
            }
        }
    }
    Ok(())
}

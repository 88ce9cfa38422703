//! Verified node names (spec/names.md): DNS names, the domain patterns
//! of blocklist `domain` targets, and the name proof a node serves over
//! HTTPS at its name to show that the name is its own.

use crate::codec::serde_via_str;
use crate::envelope::{Domain, EnvelopeError, Payload, SignedBytes, Unverified, Verified};
use crate::ids::NodeId;
use crate::keys::PublicKey;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a node serves its name proof, on HTTPS at its name.
pub const WELL_KNOWN_PATH: &str = "/.well-known/accord/node";
/// Largest name proof body, in bytes.
pub const MAX_NAME_PROOF_BODY: usize = 4096;
/// Largest name proof document (the JSON of its envelope), in bytes.
pub const MAX_NAME_PROOF_DOCUMENT: usize = 8192;
/// Longest a name proof may be valid: 90 days, in milliseconds.
pub const MAX_NAME_PROOF_VALIDITY: u64 = 90 * 24 * 3600 * 1000;
/// How far in the future `issued` may be (clock skew), in milliseconds.
pub const NAME_PROOF_SKEW: u64 = 5 * 60 * 1000;
/// Most addresses a name proof may list.
pub const MAX_NAME_PROOF_ADDRS: usize = 16;
/// Longest address text in a name proof, in bytes.
pub const MAX_NAME_PROOF_ADDR: usize = 256;

/// Why text is not a DNS name or a domain pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a DNS name: {0}")]
pub struct DomainError(pub String);

/// A DNS name as verified node names and domain targets use it: at least
/// two labels separated by `.`, each 1–63 bytes of `a-z 0-9 -` not
/// starting or ending with `-`, at most 253 bytes in all, lowercase, no
/// trailing dot, and a last label that is not all digits (not an IPv4
/// address).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

impl DomainName {
    /// Validates a DNS name (lowercase only).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() || s.len() > 253 {
            return Err(DomainError(format!("`{s}` is not 1 to 253 bytes")));
        }
        let labels: Vec<&str> = s.split('.').collect();
        if labels.len() < 2 {
            return Err(DomainError(format!("`{s}` has fewer than two labels")));
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(DomainError(format!(
                    "`{s}`: label `{label}` is not 1-63 of a-z 0-9 - (no - at either end)"
                )));
            }
        }
        if labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit())) {
            return Err(DomainError(format!("`{s}` ends in a numeric label (an address, not a name)")));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this name is `base` or a name under it.
    pub fn is_under(&self, base: &DomainName) -> bool {
        self.0 == base.0
            || (self.0.len() > base.0.len()
                && self.0.ends_with(&base.0)
                && self.0.as_bytes()[self.0.len() - base.0.len() - 1] == b'.')
    }

    /// Every domain pattern that matches this name, most specific first:
    /// the name itself, then `*.` and each of its suffixes of at least two
    /// labels (the name included).
    pub fn patterns(&self) -> Vec<DomainPattern> {
        let mut out = vec![DomainPattern::Exact(self.clone())];
        let mut rest = self.0.as_str();
        loop {
            if let Ok(base) = DomainName::parse(rest) {
                out.push(DomainPattern::Wildcard(base));
            }
            match rest.split_once('.') {
                Some((_, tail)) if tail.contains('.') => rest = tail,
                _ => break,
            }
        }
        out
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainName({})", self.0)
    }
}

impl FromStr for DomainName {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

serde_via_str!(DomainName);

/// What a `domain` target names: one DNS name exactly (`example.org`), or
/// a name and every name under it (`*.example.org`: `example.org`,
/// `chat.example.org`, `a.b.example.org`, …).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DomainPattern {
    /// Exactly this name.
    Exact(DomainName),
    /// This name and every name under it.
    Wildcard(DomainName),
}

impl DomainPattern {
    /// Whether a name falls under this pattern.
    pub fn matches(&self, name: &DomainName) -> bool {
        match self {
            DomainPattern::Exact(exact) => exact == name,
            DomainPattern::Wildcard(base) => name.is_under(base),
        }
    }

    /// The name the pattern is built on.
    pub fn base(&self) -> &DomainName {
        match self {
            DomainPattern::Exact(name) | DomainPattern::Wildcard(name) => name,
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainPattern::Exact(name) => f.write_str(name.as_str()),
            DomainPattern::Wildcard(base) => write!(f, "*.{base}"),
        }
    }
}

impl fmt::Debug for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainPattern({self})")
    }
}

impl FromStr for DomainPattern {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("*.") {
            Some(base) => Ok(DomainPattern::Wildcard(DomainName::parse(base)?)),
            None => Ok(DomainPattern::Exact(DomainName::parse(s)?)),
        }
    }
}

serde_via_str!(DomainPattern);

/// A node's signed statement that `name` is its name, served at
/// `https://NAME/.well-known/accord/node` (spec/names.md §2). Domain
/// `accord/v1/node-name`, signed by `node`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameProof {
    /// The name.
    pub name: DomainName,
    /// The node whose name it is; its key signs.
    pub node: NodeId,
    /// Where the node listens for peers (libp2p multiaddrs), informational;
    /// omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addrs: Vec<String>,
    /// When the node signed it.
    pub issued: Timestamp,
    /// When it stops proving anything.
    pub expires: Timestamp,
}

impl Payload for NameProof {
    const DOMAIN: Domain = Domain::NodeName;
    const MAX_BODY: usize = MAX_NAME_PROOF_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.node.public_key()
    }
    fn validate(&self) -> Result<(), String> {
        if self.expires <= self.issued {
            return Err("expires is not after issued".into());
        }
        if self.expires.as_millis() - self.issued.as_millis() > MAX_NAME_PROOF_VALIDITY {
            return Err("valid for more than 90 days".into());
        }
        if self.addrs.len() > MAX_NAME_PROOF_ADDRS {
            return Err(format!("more than {MAX_NAME_PROOF_ADDRS} addresses"));
        }
        if self.addrs.iter().any(|a| a.is_empty() || a.len() > MAX_NAME_PROOF_ADDR || a.chars().any(char::is_control)) {
            return Err("an address is empty, too long or holds a control character".into());
        }
        Ok(())
    }
}

/// Why a name proof document does not prove a node's name. Each variant
/// has a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameProofError {
    /// The document is longer than [`MAX_NAME_PROOF_DOCUMENT`].
    #[error("the document is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// The document is not the JSON of a signed envelope.
    #[error("the document is not a signed envelope: {0}")]
    NotEnvelope(String),
    /// The envelope does not verify as a name proof.
    #[error("the name proof does not verify: {0}")]
    Envelope(EnvelopeError),
    /// The proof names another node than the one that claims the name.
    #[error("the name proof names node {found}, not {expected}")]
    WrongNode {
        /// The node that claims the name.
        expected: Box<NodeId>,
        /// The node the proof names.
        found: Box<NodeId>,
    },
    /// The proof is for another name than the one it was fetched from.
    #[error("the name proof is for {found}, not {expected}")]
    WrongName {
        /// The name it was fetched from.
        expected: DomainName,
        /// The name it proves.
        found: DomainName,
    },
    /// The proof has expired.
    #[error("the name proof expired at {0}")]
    Expired(Timestamp),
    /// The proof was issued in the future (beyond the allowed clock skew).
    #[error("the name proof is issued at {0}, in the future")]
    NotYetValid(Timestamp),
}

impl NameProofError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            NameProofError::TooLarge { .. } => "too_large",
            NameProofError::NotEnvelope(_) => "malformed",
            NameProofError::Envelope(e) => e.code(),
            NameProofError::WrongNode { .. } => "wrong_node",
            NameProofError::WrongName { .. } => "wrong_name",
            NameProofError::Expired(_) => "expired",
            NameProofError::NotYetValid(_) => "not_yet_valid",
        }
    }
}

/// Checks a name proof document fetched from `https://NAME/.well-known/accord/node`
/// (spec/names.md §3): it is a signed name proof of `node` for `name`,
/// valid at `now`.
pub fn check_name_proof(
    document: &[u8],
    node: &NodeId,
    name: &DomainName,
    now: Timestamp,
) -> Result<Verified<NameProof>, NameProofError> {
    let proof = parse_name_proof(document)?;
    if proof.node != *node {
        return Err(NameProofError::WrongNode { expected: Box::new(*node), found: Box::new(proof.node) });
    }
    if proof.name != *name {
        return Err(NameProofError::WrongName { expected: name.clone(), found: proof.name.clone() });
    }
    if proof.issued.as_millis() > now.as_millis().saturating_add(NAME_PROOF_SKEW) {
        return Err(NameProofError::NotYetValid(proof.issued));
    }
    if proof.expires <= now {
        return Err(NameProofError::Expired(proof.expires));
    }
    Ok(proof)
}

/// Parses and verifies a name proof document without comparing it with a
/// claim (the fuzz target's entry point; [`check_name_proof`] adds the
/// comparisons).
pub fn parse_name_proof(document: &[u8]) -> Result<Verified<NameProof>, NameProofError> {
    if document.len() > MAX_NAME_PROOF_DOCUMENT {
        return Err(NameProofError::TooLarge { len: document.len(), max: MAX_NAME_PROOF_DOCUMENT });
    }
    let signed: SignedBytes =
        serde_json::from_slice(document).map_err(|e| NameProofError::NotEnvelope(e.to_string()))?;
    Unverified::<NameProof>::from_raw(signed).verify().map_err(NameProofError::Envelope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    fn name(s: &str) -> DomainName {
        s.parse().unwrap()
    }

    #[test]
    fn dns_names_are_lowercase_labels_of_at_least_two() {
        for ok in ["example.org", "chat.example.org", "xn--bcher-kva.example", "a-b.c0"] {
            assert!(DomainName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "localhost", "Example.org", "a..b", "-a.org", "a-.org", "a.org.", "1.2.3.4", "a_b.org", "*.org"]
        {
            assert!(DomainName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_wildcard_matches_its_base_and_every_name_under_it() {
        let wild: DomainPattern = "*.example.org".parse().unwrap();
        assert!(wild.matches(&name("example.org")));
        assert!(wild.matches(&name("a.b.example.org")));
        assert!(!wild.matches(&name("badexample.org")));
        assert!(!wild.matches(&name("example.org.evil.net")));
        let exact: DomainPattern = "example.org".parse().unwrap();
        assert!(exact.matches(&name("example.org")));
        assert!(!exact.matches(&name("chat.example.org")));
        assert!("*.org".parse::<DomainPattern>().is_err(), "a wildcard needs a base of two labels");
    }

    #[test]
    fn the_patterns_of_a_name_are_exactly_those_that_match_it() {
        let n = name("a.b.example.org");
        let texts: Vec<String> = n.patterns().iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["a.b.example.org", "*.a.b.example.org", "*.b.example.org", "*.example.org"]);
        assert!(n.patterns().iter().all(|p| p.matches(&n)));
    }

    #[test]
    fn a_name_proof_is_checked_against_node_name_and_time() {
        let key = SecretKey::from_seed([7; 32]);
        let node = NodeId::from(key.public());
        let proof = NameProof {
            name: name("chat.example.org"),
            node,
            addrs: vec![],
            issued: Timestamp::from_millis(1000),
            expires: Timestamp::from_millis(5000),
        };
        let doc = serde_json::to_vec(Verified::sign(proof, &key).unwrap().raw()).unwrap();
        let at = Timestamp::from_millis(2000);
        assert!(check_name_proof(&doc, &node, &name("chat.example.org"), at).is_ok());
        let other = NodeId::from(SecretKey::from_seed([8; 32]).public());
        assert_eq!(check_name_proof(&doc, &other, &name("chat.example.org"), at).unwrap_err().code(), "wrong_node");
        assert_eq!(check_name_proof(&doc, &node, &name("x.example.org"), at).unwrap_err().code(), "wrong_name");
        let late = Timestamp::from_millis(5000);
        assert_eq!(check_name_proof(&doc, &node, &name("chat.example.org"), late).unwrap_err().code(), "expired");
        assert_eq!(check_name_proof(b"{}", &node, &name("chat.example.org"), at).unwrap_err().code(), "malformed");
    }
}

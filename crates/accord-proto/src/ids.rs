//! Identifiers (spec/identities.md §1, spec/encoding.md §3).
//!
//! Keys and hashes have typo-resistant text forms: bech32m (BIP 350) with a
//! human-readable prefix per kind, so a mistyped or truncated id is detected
//! by its checksum instead of naming somebody else. Node ids use the libp2p
//! PeerId text form instead, because operators meet them in multiaddrs.

use crate::codec::serde_via_str;
use crate::hash::Sha256Hash;
use crate::keys::{KeyError, PublicKey};
use bech32::{Bech32m, Hrp, primitives::decode::CheckedHrpstring};
use std::fmt;
use std::str::FromStr;

/// Why a text is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseIdError {
    /// Not bech32m, or the checksum does not match (a typo).
    #[error("not a valid {kind} id (bech32m checksum or characters): {detail}")]
    Checksum {
        /// The kind of id expected.
        kind: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// A valid bech32m string with the prefix of another kind of id.
    #[error("expected a {kind} id starting with `{expected}1`, found prefix `{found}`")]
    WrongPrefix {
        /// The kind of id expected.
        kind: &'static str,
        /// The expected prefix.
        expected: &'static str,
        /// The prefix found.
        found: String,
    },
    /// The payload has the wrong length.
    #[error("{kind} id has {len} bytes, expected {expected}")]
    Length {
        /// The kind of id expected.
        kind: &'static str,
        /// Bytes found.
        len: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// The payload is not a usable public key.
    #[error("{kind} id does not hold a valid key: {source}")]
    Key {
        /// The kind of id expected.
        kind: &'static str,
        /// Why the key was refused.
        source: KeyError,
    },
    /// A name or handle breaks the character or length rules.
    #[error("invalid {kind}: {detail}")]
    Syntax {
        /// The kind of name expected.
        kind: &'static str,
        /// Which rule was broken.
        detail: String,
    },
}

/// Encodes 32 bytes as bech32m with the given prefix.
fn bech32m_encode(hrp: &'static str, bytes: &[u8; 32]) -> String {
    // The prefixes are fixed, valid ASCII and 32 bytes always fit in a
    // bech32m string, so neither step can fail.
    match Hrp::parse(hrp) {
        Ok(hrp) => bech32::encode::<Bech32m>(hrp, bytes).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

fn bech32m_decode(kind: &'static str, hrp: &'static str, text: &str) -> Result<[u8; 32], ParseIdError> {
    if text.len() > 100 {
        return Err(ParseIdError::Checksum { kind, detail: "too long".into() });
    }
    let checked =
        CheckedHrpstring::new::<Bech32m>(text).map_err(|e| ParseIdError::Checksum { kind, detail: e.to_string() })?;
    let found = checked.hrp();
    if found.as_str() != hrp {
        return Err(ParseIdError::WrongPrefix { kind, expected: hrp, found: found.to_string() });
    }
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ParseIdError::Checksum { kind, detail: "ids are lowercase".into() });
    }
    let bytes: Vec<u8> = checked.byte_iter().collect();
    let len = bytes.len();
    bytes.try_into().map_err(|_| ParseIdError::Length { kind, len, expected: 32 })
}

macro_rules! key_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $hrp:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(PublicKey);

        impl $name {
            /// The bech32m prefix of this kind of id.
            pub const PREFIX: &'static str = $hrp;

            /// The public key this id names.
            pub fn public_key(&self) -> &PublicKey {
                &self.0
            }

            /// The 32 key bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                self.0.as_bytes()
            }
        }

        impl From<PublicKey> for $name {
            fn from(key: PublicKey) -> Self {
                Self(key)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&bech32m_encode($hrp, self.0.as_bytes()))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let bytes = bech32m_decode($kind, $hrp, s)?;
                PublicKey::from_bytes(&bytes)
                    .map(Self)
                    .map_err(|source| ParseIdError::Key { kind: $kind, source })
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.as_bytes().cmp(other.as_bytes())
            }
        }

        serde_via_str!($name);
    };
}

key_id!(
    /// An account: the account's ed25519 public key. Text form: bech32m with
    /// prefix `acct`, e.g. `acct1…` (63 characters).
    AccountId,
    "account",
    "acct"
);

key_id!(
    /// A blocklist issuer: the ed25519 key that signs a list's checkpoints.
    /// Text form: bech32m with prefix `iss`.
    IssuerId,
    "issuer",
    "iss"
);

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $hrp:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Sha256Hash);

        impl $name {
            /// The bech32m prefix of this kind of id.
            pub const PREFIX: &'static str = $hrp;

            /// The 32 hash bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0 .0
            }

            /// The id whose hash bytes are `bytes`.
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(Sha256Hash(bytes))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&bech32m_encode($hrp, self.as_bytes()))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                bech32m_decode($kind, $hrp, s).map(Self::from_bytes)
            }
        }

        serde_via_str!($name);
    };
}

hash_id!(
    /// An event: SHA-256 of the author-signed event body bytes. Text form:
    /// bech32m with prefix `ev`.
    EventId,
    "event",
    "ev"
);

hash_id!(
    /// A room: the [`EventId`] of its `create` event. Text form: bech32m
    /// with prefix `room`.
    RoomId,
    "room",
    "room"
);

impl From<EventId> for RoomId {
    fn from(id: EventId) -> Self {
        RoomId(id.0)
    }
}

/// The SHA-256 of a piece of content (a message body's UTF-8 text, or a
/// file). Text form: 64 lowercase hex digits, as `sha256sum` prints.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ContentHash(pub Sha256Hash);

impl ContentHash {
    /// Hashes content.
    pub fn of(content: &[u8]) -> Self {
        Self(Sha256Hash::digest(content))
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ContentHash {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ParseIdError::Syntax {
                kind: "content hash",
                detail: "expected 64 lowercase hex digits".into(),
            });
        }
        Sha256Hash::parse_hex(s)
            .map(Self)
            .map_err(|e| ParseIdError::Syntax { kind: "content hash", detail: e.to_string() })
    }
}

serde_via_str!(ContentHash);

/// A node: the node's ed25519 key, which is also its libp2p identity.
///
/// Text form: the libp2p PeerId text (base58btc of the identity multihash
/// of the protobuf-encoded public key, `12D3KooW…`), so that it reads the
/// same in multiaddrs and libp2p logs. [`NodeId::to_peer_id_bytes`] and
/// [`NodeId::from_peer_id_bytes`] convert to and from `libp2p::PeerId`
/// bytes without this crate depending on libp2p.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(PublicKey);

/// The PeerId bytes of an ed25519 key are this prefix followed by the key:
/// multihash code 0x00 (identity), length 36, then the protobuf
/// `PublicKey { Type = Ed25519 (1), Data = 32 bytes }`.
const PEER_ID_PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

impl NodeId {
    /// The node's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.0
    }

    /// The 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The 38 bytes of the equivalent libp2p `PeerId` (`PeerId::to_bytes`).
    pub fn to_peer_id_bytes(&self) -> [u8; 38] {
        let mut out = [0u8; 38];
        out[..6].copy_from_slice(&PEER_ID_PREFIX);
        out[6..].copy_from_slice(self.0.as_bytes());
        out
    }

    /// Reads libp2p `PeerId` bytes; only ed25519 peer ids are node ids.
    pub fn from_peer_id_bytes(bytes: &[u8]) -> Result<Self, ParseIdError> {
        if bytes.len() != 38 || bytes[..6] != PEER_ID_PREFIX {
            return Err(ParseIdError::Syntax { kind: "node", detail: "not an ed25519 libp2p peer id".into() });
        }
        PublicKey::from_slice(&bytes[6..]).map(Self).map_err(|source| ParseIdError::Key { kind: "node", source })
    }
}

impl From<PublicKey> for NodeId {
    fn from(key: PublicKey) -> Self {
        Self(key)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.to_peer_id_bytes()).into_string())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl FromStr for NodeId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > 60 {
            return Err(ParseIdError::Syntax { kind: "node", detail: "too long".into() });
        }
        let bytes =
            bs58::decode(s).into_vec().map_err(|e| ParseIdError::Syntax { kind: "node", detail: e.to_string() })?;
        Self::from_peer_id_bytes(&bytes)
    }
}

impl PartialOrd for NodeId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NodeId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

serde_via_str!(NodeId);

/// Checks a name against the shared rule for list names, handle local parts
/// and node names: 1–`max` bytes of `a-z 0-9 . _ -`, starting with a letter
/// or digit.
pub(crate) fn check_name(kind: &'static str, s: &str, max: usize, allow_underscore: bool) -> Result<(), ParseIdError> {
    let err = |detail: &str| ParseIdError::Syntax { kind, detail: detail.to_string() };
    if s.is_empty() || s.len() > max {
        return Err(err(&format!("must be 1 to {max} characters")));
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(err("must start with a lowercase letter or digit"));
    }
    let ok = s.bytes().all(|b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || (allow_underscore && b == b'_')
    });
    if !ok {
        return Err(err(if allow_underscore {
            "may only contain a-z, 0-9, '.', '-' and '_'"
        } else {
            "may only contain a-z, 0-9, '.' and '-'"
        }));
    }
    Ok(())
}

/// The name of a list within its issuer: 1–64 of `a-z 0-9 . _ -`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListName(String);

impl ListName {
    /// Validates a list name.
    pub fn parse(s: &str) -> Result<Self, ParseIdError> {
        check_name("list name", s, 64, true)?;
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ListName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ListName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListName({})", self.0)
    }
}

impl FromStr for ListName {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

serde_via_str!(ListName);

/// A blocklist: its issuer's key and its name. Text form `ISSUER/NAME`,
/// e.g. `iss1…/csam`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListId {
    /// The key that signs the list's checkpoints.
    pub issuer: IssuerId,
    /// The list's name within the issuer.
    pub name: ListName,
}

impl ListId {
    /// The checkpoint origin line of this list (spec/blocklists.md §4):
    /// `accord/v1/list/ISSUER/NAME`.
    pub fn origin(&self) -> String {
        format!("accord/v1/list/{}/{}", self.issuer, self.name)
    }
}

impl fmt::Display for ListId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.issuer, self.name)
    }
}

impl fmt::Debug for ListId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListId({self})")
    }
}

impl FromStr for ListId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (issuer, name) = s
            .split_once('/')
            .ok_or_else(|| ParseIdError::Syntax { kind: "list id", detail: "expected ISSUER/NAME".into() })?;
        Ok(Self { issuer: issuer.parse()?, name: name.parse()? })
    }
}

serde_via_str!(ListId);

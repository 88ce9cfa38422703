//! Moderation: a moderator's signed action on a report case, and the audit
//! log of a node's actions, a Merkle log with a signed head
//! (spec/reports.md §7–§8).
//!
//! Every action a node takes on reports is signed by whoever took it (a
//! moderator account, or the node itself for its operator and for automatic
//! measures) and appended to the node's audit log. The log is the same
//! Merkle log as a blocklist's ([`crate::blocklist::merkle`]); its head (size
//! and root) is signed by the node, so an exported log can be checked by
//! anyone: every action's signature, and that the actions are exactly the
//! leaves the node signed.

use crate::blocklist::merkle::MerkleLog;
use crate::envelope::{Domain, EnvelopeError, Payload, SignedBytes, Unverified, Verified};
use crate::hash::Sha256Hash;
use crate::ids::{AccountId, ListId, NodeId, ParseIdError};
use crate::keys::PublicKey;
use crate::limits::{MAX_AUDIT_HEAD_BODY, MAX_MOD_ACTION_BODY};
use crate::text::Reason;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Who took a moderation action: a moderator account, or a node (its
/// operator through the admin endpoint, or the node's automatic measures).
/// Text form: the account id (`acct1…`) or the node id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Moderator {
    /// A moderator account.
    Account(AccountId),
    /// A node.
    Node(NodeId),
}

impl Moderator {
    /// The key that signs this moderator's actions.
    pub fn public_key(&self) -> &PublicKey {
        match self {
            Moderator::Account(a) => a.public_key(),
            Moderator::Node(n) => n.public_key(),
        }
    }
}

impl fmt::Display for Moderator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Moderator::Account(a) => a.fmt(f),
            Moderator::Node(n) => n.fmt(f),
        }
    }
}

impl FromStr for Moderator {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("acct1") { Ok(Moderator::Account(s.parse()?)) } else { Ok(Moderator::Node(s.parse()?)) }
    }
}

crate::codec::serde_via_str!(Moderator);

/// What a moderator decided about a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No action: the report does not hold.
    Dismiss,
    /// Hide the reported content: `reject` entries for the evidence
    /// messages' content on the named list.
    Hide,
    /// Suspend the accused accounts until `expires`: `reject` entries with
    /// that expiry on the named list.
    Suspend,
    /// Block the accused accounts: `reject` entries on the named list.
    Block,
    /// Hold the reported content for review: `quarantine` entries on the
    /// named list (the automatic measure of trusted reporters, spec/reports.md §6.3).
    Quarantine,
    /// Assign the case to the moderator named in `assignee` (or to nobody
    /// when absent); the case stays open (spec/reports.md §9.1).
    Assign,
    /// Mute `reporter`: its further reports are kept out of the queue
    /// (spec/reports.md §9.1).
    Mute,
    /// Lift the mute of `reporter`.
    Unmute,
    /// The node records an appeal it received against a decision (signed
    /// by the node; `appeal` names it; spec/reports.md §15).
    Appeal,
    /// The appealed decision stands.
    Uphold,
    /// The appealed decision is overturned: the entries it wrote are removed.
    Overturn,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 11] = [
        Verdict::Dismiss,
        Verdict::Hide,
        Verdict::Suspend,
        Verdict::Block,
        Verdict::Quarantine,
        Verdict::Assign,
        Verdict::Mute,
        Verdict::Unmute,
        Verdict::Appeal,
        Verdict::Uphold,
        Verdict::Overturn,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Dismiss => "dismiss",
            Verdict::Hide => "hide",
            Verdict::Suspend => "suspend",
            Verdict::Block => "block",
            Verdict::Quarantine => "quarantine",
            Verdict::Assign => "assign",
            Verdict::Mute => "mute",
            Verdict::Unmute => "unmute",
            Verdict::Appeal => "appeal",
            Verdict::Uphold => "uphold",
            Verdict::Overturn => "overturn",
        }
    }

    /// Whether the verdict writes entries to a list.
    pub fn needs_list(self) -> bool {
        matches!(self, Verdict::Hide | Verdict::Suspend | Verdict::Block | Verdict::Quarantine)
    }

    /// Whether the verdict decides a case (`dismiss`, `hide`, `suspend`,
    /// `block`) or holds its content (`quarantine`), rather than being a
    /// step of the work on it (assignment, mutes, appeals).
    pub fn is_decision(self) -> bool {
        self == Verdict::Dismiss || self.needs_list()
    }

    /// Whether a decision was against the accused, so that they may appeal it.
    pub fn is_appealable(self) -> bool {
        matches!(self, Verdict::Hide | Verdict::Suspend | Verdict::Block)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            format!(
                "unknown action `{s}` (dismiss, hide, suspend, block, quarantine, assign, mute, unmute, \
                     appeal, uphold, overturn)"
            )
        })
    }
}

/// A moderator's action on a report case (domain `accord/v1/mod-action`,
/// signed by the moderator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModAction {
    /// The node whose audit log holds the action (and whose lists it
    /// writes to).
    pub node: NodeId,
    /// Who decided.
    pub moderator: Moderator,
    /// The case: the id of its first report (spec/reports.md §4).
    pub case: Sha256Hash,
    /// The decision.
    pub action: Verdict,
    /// The list written to: one issued by `node`; present exactly when the
    /// action writes entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListId>,
    /// Why, for the audit log and the list entries' reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// For `suspend` (and only for it): when the suspension ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    /// For `assign` (and only for it): the moderator account the case goes
    /// to; absent, the case is unassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<AccountId>,
    /// For `mute` and `unmute` (and only for them): the id of a report the
    /// muted reporter filed in the case. The log never names a reporter:
    /// it is public, and reporters are not (spec/reports.md §9.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Sha256Hash>,
    /// For `appeal`, `uphold` and `overturn` (and only for them): the
    /// appeal id (SHA-256 of the appeal's body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal: Option<Sha256Hash>,
    /// When the action was taken.
    pub ts: Timestamp,
}

impl ModAction {
    /// `moderator`'s `action` on `case` at `node`, now, with `reason` and
    /// none of the fields that only some actions carry (list, expiry,
    /// assignee, report, appeal).
    pub fn new(node: NodeId, moderator: Moderator, case: Sha256Hash, action: Verdict, reason: Option<Reason>) -> Self {
        ModAction {
            node,
            moderator,
            case,
            action,
            list: None,
            reason,
            expires: None,
            assignee: None,
            report: None,
            appeal: None,
            ts: Timestamp::now(),
        }
    }
}

impl Payload for ModAction {
    const DOMAIN: Domain = Domain::ModAction;
    const MAX_BODY: usize = MAX_MOD_ACTION_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.moderator.public_key()
    }
    fn validate(&self) -> Result<(), String> {
        match (&self.list, self.action.needs_list()) {
            (None, true) => return Err(format!("`{}` needs a list", self.action)),
            (Some(_), false) => return Err(format!("`{}` writes no list entries", self.action)),
            (Some(list), true) if list.issuer.public_key() != self.node.public_key() => {
                return Err("the list is not issued by the node".into());
            }
            _ => {}
        }
        match (self.action, self.expires) {
            (Verdict::Suspend, None) => return Err("`suspend` needs `expires`".into()),
            (Verdict::Suspend, Some(expires)) if expires <= self.ts => {
                return Err("`expires` is not after `ts`".into());
            }
            (Verdict::Suspend, Some(_)) | (_, None) => {}
            (_, Some(_)) => return Err("only `suspend` has `expires`".into()),
        }
        if self.assignee.is_some() && self.action != Verdict::Assign {
            return Err("only `assign` has `assignee`".into());
        }
        let about_reporter = matches!(self.action, Verdict::Mute | Verdict::Unmute);
        if self.report.is_some() != about_reporter {
            return Err("`report` is present exactly for `mute` and `unmute`".into());
        }
        let about_appeal = matches!(self.action, Verdict::Appeal | Verdict::Uphold | Verdict::Overturn);
        if self.appeal.is_some() != about_appeal {
            return Err("`appeal` is present exactly for `appeal`, `uphold` and `overturn`".into());
        }
        if self.action == Verdict::Appeal && self.moderator != Moderator::Node(self.node) {
            return Err("an `appeal` is recorded by the node itself".into());
        }
        Ok(())
    }
}

/// The signed head of a node's audit log (domain `accord/v1/audit-head`,
/// signed by the node): how many actions it holds and their Merkle root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    /// The node.
    pub node: NodeId,
    /// Number of actions.
    pub size: u64,
    /// Merkle root over the actions' body bytes, in log order.
    pub root: Sha256Hash,
    /// When the head was signed.
    pub ts: Timestamp,
}

impl Payload for AuditHead {
    const DOMAIN: Domain = Domain::AuditHead;
    const MAX_BODY: usize = MAX_AUDIT_HEAD_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.node.public_key()
    }
}

/// A node's audit log as exported: the signed head and every action from
/// index 0, in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditLog {
    /// The head, signed by the node.
    pub head: SignedBytes,
    /// The actions, each signed by its moderator.
    pub actions: Vec<SignedBytes>,
}

/// Why an audit log does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The head does not verify.
    #[error("audit head: {0}")]
    Head(EnvelopeError),
    /// An action does not verify (forged or altered).
    #[error("action {index}: {source}")]
    Action {
        /// Its index in the log.
        index: u64,
        /// Why.
        source: EnvelopeError,
    },
    /// An action belongs to another node's log.
    #[error("action {index} names another node")]
    WrongNode {
        /// Its index in the log.
        index: u64,
    },
    /// The actions are not the ones the node signed: another number of
    /// them, or another root (an action was changed, added, removed or
    /// reordered).
    #[error("the actions do not match the signed head ({size} actions, root {root})")]
    Mismatch {
        /// Number of actions held.
        size: u64,
        /// Their root.
        root: Sha256Hash,
    },
}

impl AuditError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuditError::Head(_) => "bad_head",
            AuditError::Action { .. } => "bad_action",
            AuditError::WrongNode { .. } => "wrong_node",
            AuditError::Mismatch { .. } => "root_mismatch",
        }
    }
}

/// The Merkle log over actions' body bytes, in order.
pub fn audit_tree<'a>(actions: impl IntoIterator<Item = &'a SignedBytes>) -> MerkleLog {
    let mut log = MerkleLog::new();
    for action in actions {
        log.push(&action.body);
    }
    log
}

impl AuditLog {
    /// Verifies the export: the node's signature on the head, every
    /// action's moderator signature and node, and that the actions' Merkle
    /// root and count are the head's. Returns the head and the actions.
    pub fn verify(&self) -> Result<(Verified<AuditHead>, Vec<Verified<ModAction>>), AuditError> {
        let head = Unverified::<AuditHead>::from_raw(self.head.clone()).verify().map_err(AuditError::Head)?;
        let mut actions = Vec::with_capacity(self.actions.len());
        for (index, raw) in self.actions.iter().enumerate() {
            let index = index as u64;
            let action = Unverified::<ModAction>::from_raw(raw.clone())
                .verify()
                .map_err(|source| AuditError::Action { index, source })?;
            if action.node != head.node {
                return Err(AuditError::WrongNode { index });
            }
            actions.push(action);
        }
        let tree = audit_tree(&self.actions);
        if tree.size() != head.size || tree.root() != head.root {
            return Err(AuditError::Mismatch { size: tree.size(), root: tree.root() });
        }
        Ok((head, actions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    fn node_key() -> SecretKey {
        SecretKey::from_seed([5; 32])
    }

    fn action(node: &SecretKey, by: &SecretKey, verdict: Verdict, list: Option<&str>) -> ModAction {
        let node_id = NodeId::from(node.public());
        ModAction {
            node: node_id,
            moderator: Moderator::Account(by.account_id()),
            case: Sha256Hash::digest(b"case"),
            action: verdict,
            list: list.map(|name| ListId { issuer: crate::IssuerId::from(node.public()), name: name.parse().unwrap() }),
            reason: None,
            expires: None,
            assignee: None,
            report: None,
            appeal: None,
            ts: Timestamp::from_millis(1_764_000_000_000),
        }
    }

    fn export(node: &SecretKey, actions: Vec<SignedBytes>) -> AuditLog {
        let tree = audit_tree(&actions);
        let head = AuditHead {
            node: NodeId::from(node.public()),
            size: tree.size(),
            root: tree.root(),
            ts: Timestamp::from_millis(1_764_000_000_001),
        };
        AuditLog { head: Verified::sign(head, node).unwrap().raw().clone(), actions }
    }

    #[test]
    fn an_exported_log_verifies_and_tampering_is_detected() {
        let node = node_key();
        let moderator = SecretKey::from_seed([6; 32]);
        let a = Verified::sign(action(&node, &moderator, Verdict::Block, Some("abuse")), &moderator).unwrap();
        let b = Verified::sign(action(&node, &moderator, Verdict::Dismiss, None), &moderator).unwrap();
        let log = export(&node, vec![a.raw().clone(), b.raw().clone()]);
        let (head, actions) = log.verify().unwrap();
        assert_eq!((head.size, actions.len()), (2, 2));

        let mut altered = log.clone();
        altered.actions[1].body[10] ^= 1;
        assert_eq!(altered.verify().unwrap_err().code(), "bad_action");

        let mut dropped = log.clone();
        dropped.actions.pop();
        assert_eq!(dropped.verify().unwrap_err().code(), "root_mismatch");

        let mut swapped = log;
        swapped.actions.swap(0, 1);
        assert_eq!(swapped.verify().unwrap_err().code(), "root_mismatch");
    }

    #[test]
    fn actions_that_write_entries_name_a_list_of_the_node() {
        let node = node_key();
        let moderator = SecretKey::from_seed([6; 32]);
        assert!(Verified::sign(action(&node, &moderator, Verdict::Block, None), &moderator).is_err());
        assert!(Verified::sign(action(&node, &moderator, Verdict::Dismiss, Some("abuse")), &moderator).is_err());
        let mut foreign = action(&node, &moderator, Verdict::Block, Some("abuse"));
        foreign.list =
            Some(ListId { issuer: crate::IssuerId::from(moderator.public()), name: "abuse".parse().unwrap() });
        assert!(Verified::sign(foreign, &moderator).is_err());
        let mut suspend = action(&node, &moderator, Verdict::Suspend, Some("abuse"));
        assert!(Verified::sign(suspend.clone(), &moderator).is_err());
        suspend.expires = Some(Timestamp::from_millis(1_764_000_000_000 + 86_400_000));
        assert!(Verified::sign(suspend, &moderator).is_ok());
    }

    #[test]
    fn work_actions_carry_exactly_their_own_fields() {
        let node = node_key();
        let moderator = SecretKey::from_seed([6; 32]);
        let mut assign = action(&node, &moderator, Verdict::Assign, None);
        assign.assignee = Some(moderator.account_id());
        assert!(Verified::sign(assign.clone(), &moderator).is_ok());
        assign.report = Some(Sha256Hash::digest(b"a report"));
        assert!(Verified::sign(assign, &moderator).is_err());
        let mut mute = action(&node, &moderator, Verdict::Mute, None);
        assert!(Verified::sign(mute.clone(), &moderator).is_err());
        mute.report = Some(Sha256Hash::digest(b"a report"));
        assert!(Verified::sign(mute, &moderator).is_ok());
        let mut overturn = action(&node, &moderator, Verdict::Overturn, None);
        overturn.appeal = Some(Sha256Hash::digest(b"appeal"));
        assert!(Verified::sign(overturn, &moderator).is_ok());
        let mut recorded = action(&node, &moderator, Verdict::Appeal, None);
        recorded.appeal = Some(Sha256Hash::digest(b"appeal"));
        assert!(Verified::sign(recorded.clone(), &moderator).is_err(), "only the node records an appeal");
        recorded.moderator = Moderator::Node(NodeId::from(node.public()));
        assert!(Verified::sign(recorded, &node).is_ok());
    }

    #[test]
    fn moderators_read_back_from_text() {
        let account = Moderator::Account(SecretKey::from_seed([6; 32]).account_id());
        let node = Moderator::Node(NodeId::from(node_key().public()));
        for m in [account, node] {
            assert_eq!(m.to_string().parse::<Moderator>().unwrap(), m);
        }
    }
}

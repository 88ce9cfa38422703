//! Accounts: registration on this node, the verified identities it holds,
//! each account's home node, and what helps a user judge an account
//! (spec/client-api.md §3, spec/identities.md, spec/reports.md §13).

use crate::config::RegistrationPolicy;
use crate::core::Core;
use crate::core::lists::Provenance;
use accord_api::identities::{IdentityResponse, TrustSignals};
use accord_proto::blocklist::entry::{Action, TargetKind};
use accord_proto::identity::{AccountDeletion, Attestation, Handle, IdentityDocument, VerificationLevel};
use accord_proto::{AccountId, EnvelopeError, NodeId, Sha256Hash, SignedBytes, Timestamp, Unverified, Verified};
use accord_store::{Store, StoreError};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The accounts this node knows: handles of its own, the home node of
/// every account whose verified identity is stored, and the identity
/// documents already verified (a peer sending them again costs no
/// signature check).
#[derive(Default)]
pub struct Accounts {
    known: Mutex<Known>,
    /// One registration at a time keeps handles unique and invites
    /// single-use; it holds when each account of the last hour was
    /// created, for the node-wide ceiling (`registration.accounts_per_hour`).
    registration: tokio::sync::Mutex<VecDeque<Instant>>,
}

/// The window of the node-wide ceiling on new accounts.
const CEILING_WINDOW: Duration = Duration::from_secs(3600);

#[derive(Default)]
struct Known {
    handles: HashMap<Handle, AccountId>,
    homes: HashMap<AccountId, NodeId>,
    identities: HashSet<Sha256Hash>,
    /// Accounts that deleted themselves (spec/identities.md §5).
    deleted: HashSet<AccountId>,
}

impl Accounts {
    /// Reads the stored identities (each verified again) of the node
    /// `me`.
    pub fn load(store: &Store, me: NodeId) -> Result<Accounts, StoreError> {
        let accounts = Accounts::default();
        {
            let mut known = accounts.lock();
            for raw in store.identities()? {
                if let Ok(doc) = Unverified::<IdentityDocument>::from_raw(raw).verify() {
                    if doc.home == me {
                        known.handles.insert(doc.handle.clone(), doc.account);
                    }
                    known.homes.insert(doc.account, doc.home);
                    known.identities.insert(doc.body_hash());
                }
            }
            for raw in store.account_deletions()? {
                if let Ok(deletion) = Unverified::<AccountDeletion>::from_raw(raw).verify() {
                    known.deleted.insert(deletion.account);
                }
            }
        }
        Ok(accounts)
    }

    /// Whether the account deleted itself.
    pub fn is_deleted(&self, account: &AccountId) -> bool {
        self.lock().deleted.contains(account)
    }

    /// Records a stored deletion: the account's handle is free, its
    /// identity no longer known. Returns whether it was new.
    pub(crate) fn forget(&self, account: &AccountId) -> bool {
        let mut known = self.lock();
        known.handles.retain(|_, a| a != account);
        known.deleted.insert(*account)
    }

    /// The home node of a known account.
    pub fn home_of(&self, account: &AccountId) -> Option<NodeId> {
        self.lock().homes.get(account).copied()
    }

    /// How many accounts are registered here.
    pub fn local_count(&self) -> usize {
        self.lock().handles.len()
    }

    /// Whether the identity document with this hash is stored here.
    pub fn knows(&self, identity: &Sha256Hash) -> bool {
        self.lock().identities.contains(identity)
    }

    /// Records a verified and stored identity of another node's account.
    pub(crate) fn learn(&self, account: AccountId, home: NodeId, identity: Sha256Hash) {
        let mut known = self.lock();
        known.homes.insert(account, home);
        known.identities.insert(identity);
    }

    fn lock(&self) -> MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// The identity document does not verify.
    #[error(transparent)]
    Identity(#[from] EnvelopeError),
    /// A blocklist this node enforces blocks the account.
    #[error("blocked by {} entry {} ({})", .0.list, .0.entry, .0.category.as_str())]
    Blocked(Box<Provenance>),
    /// The document names another home node or node name.
    #[error("the identity document names another home node or node name")]
    WrongHome,
    /// The node takes no registrations.
    #[error("this node does not accept registrations")]
    Closed,
    /// Registration needs an invite code and none was given.
    #[error("an invite code is required")]
    InviteRequired,
    /// The invite code is unknown or used.
    #[error("unknown or already used invite code")]
    BadInvite,
    /// Too many registrations: from this address (or its /64), or new
    /// accounts on this node in the last hour. Retry after this many ms.
    #[error("too many registrations; retry in {0} ms")]
    RateLimited(u64),
    /// The account is registered already.
    #[error("this account is already registered")]
    AlreadyRegistered,
    /// Another account has the handle.
    #[error("this handle belongs to another account")]
    HandleTaken,
    /// The account deleted itself: its key is never registered again.
    #[error("this account was deleted")]
    Deleted,
    /// The node could not sign its attestation.
    #[error("signing the attestation: {0}")]
    Sign(EnvelopeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RegisterError {
    /// The stable error code (spec/client-api.md §1.1).
    pub fn code(&self) -> &'static str {
        match self {
            RegisterError::Identity(e) => e.code(),
            RegisterError::Blocked(_) => "blocked",
            RegisterError::WrongHome => "wrong_home",
            RegisterError::Closed => "registration_closed",
            RegisterError::InviteRequired | RegisterError::BadInvite => "bad_invite",
            RegisterError::RateLimited(_) => "rate_limited",
            RegisterError::AlreadyRegistered => "already_registered",
            RegisterError::HandleTaken => "handle_taken",
            RegisterError::Deleted => "account_deleted",
            RegisterError::Store(e) if e.is_no_space() => "storage_full",
            RegisterError::Sign(_) | RegisterError::Store(_) => "internal",
        }
    }
}

/// Registers the account of a signed identity document, homed here, and
/// returns the node's attestation of it.
pub async fn register(
    core: &Core,
    identity: SignedBytes,
    invite: Option<String>,
) -> Result<Verified<Attestation>, RegisterError> {
    let doc = Unverified::<IdentityDocument>::from_raw(identity).verify()?;
    if core.accounts.is_deleted(&doc.account) {
        return Err(RegisterError::Deleted);
    }
    if let Some(p) = core.lists.check_account(&core.store, &doc.account) {
        return Err(RegisterError::Blocked(Box::new(p)));
    }
    if doc.home != core.node_id || doc.handle.node() != &core.config.node.name {
        return Err(RegisterError::WrongHome);
    }
    let mut created = core.accounts.registration.lock().await;
    let policy = &core.config.registration;
    let (level, invite) = match policy.policy {
        RegistrationPolicy::Closed => return Err(RegisterError::Closed),
        RegistrationPolicy::Open => (VerificationLevel::Open, None),
        RegistrationPolicy::Invite => {
            let code = invite.ok_or(RegisterError::InviteRequired)?;
            if !policy.invites.contains(&code) || core.store.invite_used(&code)? {
                return Err(RegisterError::BadInvite);
            }
            (VerificationLevel::Invited, Some(code))
        }
    };
    if core.store.identity(&doc.account)?.is_some() {
        return Err(RegisterError::AlreadyRegistered);
    }
    if core.accounts.lock().handles.contains_key(&doc.handle) {
        return Err(RegisterError::HandleTaken);
    }
    // The node-wide ceiling: at most `accounts_per_hour` accounts created
    // in any hour, whatever addresses they came from.
    let now = Instant::now();
    while created.front().is_some_and(|at| now.duration_since(*at) >= CEILING_WINDOW) {
        created.pop_front();
    }
    if created.len() >= policy.accounts_per_hour as usize {
        let retry = created.front().map_or(CEILING_WINDOW, |oldest| CEILING_WINDOW - now.duration_since(*oldest));
        return Err(RegisterError::RateLimited(retry.as_millis().max(1) as u64));
    }
    let attestation = Verified::sign(
        Attestation {
            account: doc.account,
            identity: doc.body_hash(),
            node: core.node_id,
            registered: Timestamp::now(),
            level,
        },
        &core.node_key,
    )
    .map_err(RegisterError::Sign)?;
    core.store.put_identity(&doc.account, doc.raw(), attestation.raw(), invite.as_deref()).await?;
    created.push_back(now);
    {
        let mut known = core.accounts.lock();
        known.handles.insert(doc.handle.clone(), doc.account);
        known.homes.insert(doc.account, core.node_id);
        known.identities.insert(doc.body_hash());
    }
    core.metrics.registrations.inc();
    tracing::info!(account = %doc.account, handle = %doc.handle, "registered");
    Ok(attestation)
}

/// Why an account could not be looked up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// A blocklist this node enforces blocks the account.
    #[error("blocked by {} entry {} ({})", .0.list, .0.entry, .0.category.as_str())]
    Blocked(Box<Provenance>),
    /// No identity of the account is stored here.
    #[error("no such account on this node")]
    Unknown,
    /// The account deleted itself.
    #[error("this account was deleted")]
    Deleted,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LookupError {
    /// The stable error code (spec/client-api.md §1.1).
    pub fn code(&self) -> &'static str {
        match self {
            LookupError::Blocked(_) => "blocked",
            LookupError::Unknown => "unknown_account",
            LookupError::Deleted => "account_deleted",
            LookupError::Store(_) => "internal",
        }
    }
}

/// An account's identity, attestation and trust signals; blocked accounts
/// are not shown.
pub async fn lookup(core: &Core, account: &AccountId) -> Result<IdentityResponse, LookupError> {
    if core.accounts.is_deleted(account) {
        return Err(LookupError::Deleted);
    }
    if let Some(p) = core.lists.check_account(&core.store, account) {
        return Err(LookupError::Blocked(Box::new(p)));
    }
    let (identity, attestation) = core.store.identity(account)?.ok_or(LookupError::Unknown)?;
    let trust = trust(core, account, &attestation).await;
    Ok(IdentityResponse {
        identity: Unverified::from_raw(identity),
        attestation: Unverified::from_raw(attestation),
        trust,
    })
}

/// What helps a user judge an account before trusting it
/// (spec/reports.md §13), from the stored, verified attestation.
async fn trust(core: &Core, account: &AccountId, attestation: &SignedBytes) -> Option<TrustSignals> {
    // Stored identities were verified when stored; a record that does not
    // read back gives no signals rather than an error.
    let att = Unverified::<Attestation>::from_raw(attestation.clone()).verify().ok()?;
    let flags = core
        .lists
        .lookup(TargetKind::Account, &account.to_string())
        .filter(|m| m.action == Action::Quarantine)
        .and_then(|m| core.lists.provenance(&core.store, m))
        .into_iter()
        .collect();
    Some(TrustSignals {
        home: att.node,
        level: att.level,
        registered: att.registered,
        age_ms: Timestamp::now().as_millis().saturating_sub(att.registered.as_millis()),
        flags,
        reports: core.reports.open_cases_accusing(account).await as u64,
        home_name: crate::core::names::status(core, &att.node),
    })
}

//! Shared blocklists on this node (spec/blocklists.md): lists it issues,
//! lists it subscribes to, their verified logs, local exceptions, distrust
//! of equivocating issuers, and the enforcement index every entry point
//! consults.
//!
//! Logs are kept in memory as Merkle trees of their leaves (32 bytes a
//! node), so that a new range is verified by recomputing the signed root
//! over the leaves held plus the new ones: that proves the range and its
//! consistency with everything applied before. Nothing from a range is
//! applied unless the whole range verifies.

pub mod activity;
pub mod curation;
pub mod discovery;
pub(crate) mod distribution;
pub mod index;
pub mod witness;

use accord_proto::blocklist::checkpoint::{Checkpoint, SignedCheckpoint, VerifiedCheckpoint};
use accord_proto::blocklist::entry::{ListEntry, Target, TargetKind, target_hash};
use accord_proto::blocklist::equivocation::EquivocationProof;
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::blocklist::range::{RangeError, Received};
use accord_proto::blocklist::witness::{CosignatureError, WitnessKey, add_cosignatures, check_quorum};
use accord_proto::event::{Event, EventBody, EventContent, OriginStamp, UnverifiedEvent};
use accord_proto::{AccountId, IssuerId, ListId, ListName, NodeId, RoomId, SecretKey, Sha256Hash, Timestamp};
use accord_store::{ListRecord, OnRemoval, Store, StoreError, SubscriptionMode};
pub use curation::{Applied, Selection, Settings};
pub use index::{Index, Match, Policy, Provenance};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::RwLock;

/// Why a list operation failed. Each variant has a stable [`code`](Self::code).
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// No such list here.
    #[error("no such list on this node")]
    UnknownList,
    /// A list of that name exists already.
    #[error("a list of that name exists already")]
    Exists,
    /// Only the issuer can append to a list.
    #[error("this node is not the list's issuer")]
    NotIssuer,
    /// An entry is invalid (see the message).
    #[error("invalid entry: {0}")]
    BadEntry(String),
    /// A checkpoint does not verify or does not match.
    #[error("checkpoint refused: {0}")]
    BadCheckpoint(String),
    /// A range of leaves does not lead to the signed root.
    #[error("the entries do not match the signed checkpoint")]
    BadRange,
    /// The list's issuer equivocated; nothing of it is applied.
    #[error("the list's issuer is distrusted: {0}")]
    Distrusted(String),
    /// The checkpoint lacks the cosignatures the subscription requires
    /// (`missing_cosignatures`), or one of them does not verify
    /// (`bad_cosignature`).
    #[error("checkpoint not applied: {0}")]
    Uncosigned(#[from] CosignatureError),
    /// Suggestions are decided only for a subscription in `suggest` mode.
    #[error("the subscription is not in suggest mode")]
    NotSuggest,
    /// A peer's page of leaves does not decode (spec/federation.md §3.13).
    #[error("a page of leaves refused: {0}")]
    BadPage(#[from] accord_proto::list_page::ListPageError),
    /// The check of a page of leaves was interrupted (the node is
    /// stopping); nothing of the range is applied.
    #[error("the check of a page of leaves was interrupted: {0}")]
    Interrupted(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ListError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ListError::UnknownList => "unknown_list",
            ListError::Exists => "list_exists",
            ListError::NotIssuer => "not_issuer",
            ListError::BadEntry(_) => "invalid_entry",
            ListError::BadCheckpoint(_) => "bad_checkpoint",
            ListError::BadRange => "bad_range",
            ListError::Distrusted(_) => "distrusted",
            ListError::Uncosigned(e) => e.code(),
            ListError::NotSuggest => "not_suggest_mode",
            ListError::BadPage(e) => e.code(),
            ListError::Interrupted(_) | ListError::Store(_) => "internal",
        }
    }
}

/// The witnesses a subscription requires: at least `required` of
/// `witnesses` must have cosigned a checkpoint before it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    /// The named witnesses.
    pub witnesses: Vec<WitnessKey>,
    /// How many of them must have cosigned.
    pub required: usize,
}

/// What a received checkpoint means for a list held here.
#[derive(Debug)]
pub enum Observation {
    /// Not a list this node holds.
    NotHeld,
    /// Nothing new.
    Known,
    /// The list has grown: fetch from this index on.
    Behind(u64),
    /// The issuer signed a checkpoint incompatible with the log held.
    Equivocation(Box<EquivocationProof>),
    /// The issuer is distrusted.
    Distrusted,
}

struct ListLog {
    record: ListRecord,
    log: MerkleLog,
}

/// The lists of this node and the enforcement index.
pub struct Lists {
    logs: tokio::sync::Mutex<HashMap<ListId, ListLog>>,
    index: RwLock<Index>,
    key: SecretKey,
    /// Quarantined events a moderator released.
    released: RwLock<std::collections::HashSet<accord_proto::EventId>>,
    /// Index keys of ids checked recently (see [`Lists::id_key`]).
    id_keys: RwLock<HashMap<(TargetKind, [u8; 32]), Sha256Hash, foldhash::fast::RandomState>>,
    /// Who fetched each list lately, and the newest checkpoints seen.
    pub activity: activity::Activity,
    /// Counts the changes of the index (see [`Lists::changes`]).
    changes: tokio::sync::watch::Sender<u64>,
    /// The witness cosignatures each subscription requires.
    quorums: RwLock<HashMap<ListId, Quorum>>,
    /// The size each witness last cosigned of each own list, as far as
    /// this node knows (where to start the next request).
    witnessed: std::sync::Mutex<HashMap<(ListId, WitnessKey), u64>>,
}

/// Most ids whose index keys are remembered; the memory is forgotten
/// whole when full (about 5 MB at most).
const ID_KEYS_MAX: usize = 65_536;

fn policy(record: &ListRecord) -> Policy {
    Policy {
        enforced: (record.own || record.subscribed) && record.distrusted.is_none(),
        actions: record.actions.clone(),
        pdq_threshold: record.pdq_threshold.unwrap_or(accord_proto::pdq::DEFAULT_PDQ_THRESHOLD),
        mode: record.mode,
        priority: record.priority,
    }
}

/// What the index takes of an entry, read from it while its page is
/// checked (the index key of an `add` entry is a hash of its target).
#[derive(Debug)]
pub struct Indexed(Reading);

#[derive(Debug)]
enum Reading {
    Add {
        key: (TargetKind, Sha256Hash),
        pdq: Option<accord_pdq::PdqHash>,
        category: accord_proto::blocklist::entry::Category,
        action: accord_proto::blocklist::entry::Action,
        expires: Option<Timestamp>,
    },
    Remove {
        entry: u64,
    },
}

impl Indexed {
    /// What the index takes of `entry`.
    pub fn of(entry: ListEntry) -> Indexed {
        Indexed(match entry {
            ListEntry::Add { target, category, action, expires, .. } => {
                let pdq = match target {
                    Target::Pdq { hash } => Some(hash),
                    _ => None,
                };
                Reading::Add { key: target.index_key(), pdq, category, action, expires }
            }
            ListEntry::Remove { entry, .. } => Reading::Remove { entry },
        })
    }
}

/// Indexes one leaf (already verified to be in the signed log and
/// stored). A `remove` entry retracts the `add` entry it names, whose
/// target is read back from `store`, unless that entry is in `kept` (kept
/// after its removal, spec/blocklists.md §11.8).
fn index_leaf(index: &mut Index, store: &Store, list: &ListId, at: u64, leaf: &[u8], kept: &HashSet<u64>) {
    match ListEntry::parse(leaf) {
        Ok(entry) => index_entry(index, store, list, at, &Indexed::of(entry), kept),
        Err(e) => tracing::warn!("list {list}: leaf {at} does not parse: {e}"),
    }
}

/// Indexes one entry, read from a leaf already verified to be in the
/// signed log and stored (see [`index_leaf`]).
fn index_entry(index: &mut Index, store: &Store, list: &ListId, at: u64, entry: &Indexed, kept: &HashSet<u64>) {
    match entry.0 {
        Reading::Add { key, pdq, category, action, expires } => {
            index.add(list, at, key, category, action, expires);
            if let Some(hash) = pdq {
                index.add_pdq(list, at, hash, category, action);
            }
        }
        Reading::Remove { entry } if kept.contains(&entry) => index.keep(list, entry),
        Reading::Remove { entry } => match store.list_leaf(list, entry).ok().flatten().map(|l| ListEntry::parse(&l)) {
            Some(Ok(ListEntry::Add { target, .. })) => {
                index.remove(list, entry, target.index_key());
                if matches!(target, Target::Pdq { .. }) {
                    index.remove_pdq(list, entry);
                }
            }
            _ => tracing::warn!("list {list}: leaf {at} retracts entry {entry}, which is not an add entry"),
        },
    }
}

impl Lists {
    /// Loads every list from the store and builds the index. `key` is the
    /// node key, which issues this node's own lists.
    pub fn load(store: &Store, key: &SecretKey) -> Result<Lists, StoreError> {
        let mut logs = HashMap::new();
        let mut index = Index::default();
        for record in store.lists()? {
            let kept: HashSet<u64> = store.kept(&record.list)?.into_iter().map(|k| k.entry).collect();
            for s in store.suggestions(&record.list)? {
                if s.state == accord_api::curation::SuggestionState::Approved {
                    index.approve(&record.list, s.entry);
                }
            }
            let mut log = MerkleLog::new();
            let mut at = 0;
            while at < record.size {
                let leaves = store.list_leaves(&record.list, at..record.size, 65_536)?;
                if leaves.is_empty() {
                    break;
                }
                for leaf in &leaves {
                    log.push(leaf);
                    index_leaf(&mut index, store, &record.list, at, leaf, &kept);
                    at += 1;
                }
            }
            for entry in store.exceptions(&record.list)? {
                index.set_exception(&record.list, entry, true);
            }
            index.set_policy(&record.list, policy(&record));
            logs.insert(record.list.clone(), ListLog { record, log });
        }
        let released = RwLock::new(store.releases()?.into_iter().collect());
        index.build_pdq();
        Ok(Lists {
            logs: tokio::sync::Mutex::new(logs),
            index: RwLock::new(index),
            key: key.clone(),
            released,
            id_keys: RwLock::default(),
            activity: activity::Activity::default(),
            changes: tokio::sync::watch::Sender::new(0),
            quorums: RwLock::default(),
            witnessed: std::sync::Mutex::default(),
        })
    }

    /// The issuer id of this node's own lists.
    pub fn issuer(&self) -> IssuerId {
        IssuerId::from(self.key.public())
    }

    /// The id of this node's list called `name`.
    pub fn own_list(&self, name: ListName) -> ListId {
        ListId { issuer: self.issuer(), name }
    }

    /// The index, to change it: watchers of [`Lists::changes`] are told.
    fn index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.changes.send_modify(|generation| *generation += 1);
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    fn sign(&self, list: &ListId, log: &MerkleLog) -> Result<SignedCheckpoint, ListError> {
        let checkpoint = Checkpoint { list: list.clone(), size: log.size(), root: log.root(), time: Timestamp::now() };
        checkpoint.sign(&self.key).map_err(|e| ListError::BadCheckpoint(e.to_string()))
    }

    /// Creates a list issued by this node (enforced here) with its first,
    /// empty checkpoint, and what it is for (`description`, shown to peers
    /// that discover this node's lists).
    pub async fn create(
        &self,
        store: &Store,
        name: ListName,
        description: Option<String>,
    ) -> Result<ListRecord, ListError> {
        let list = self.own_list(name);
        let mut logs = self.logs.lock().await;
        if logs.contains_key(&list) {
            return Err(ListError::Exists);
        }
        let log = MerkleLog::new();
        let record = ListRecord {
            list: list.clone(),
            own: true,
            subscribed: true,
            actions: BTreeMap::new(),
            pdq_threshold: None,
            size: 0,
            checkpoint: Some(self.sign(&list, &log)?),
            distrusted: None,
            mode: SubscriptionMode::Apply,
            on_removal: OnRemoval::Undo,
            priority: 0,
            description,
        };
        store.put_list(&record).await?;
        self.index().set_policy(&list, policy(&record));
        logs.insert(list, ListLog { record: record.clone(), log });
        Ok(record)
    }

    /// Appends entries to a list this node issues; one new checkpoint for
    /// the whole batch. Returns the first new index and the checkpoint.
    pub async fn append_own(
        &self,
        store: &Store,
        list: &ListId,
        entries: &[ListEntry],
    ) -> Result<(u64, SignedCheckpoint), ListError> {
        let mut logs = self.logs.lock().await;
        let held = logs.get_mut(list).ok_or(ListError::UnknownList)?;
        if !held.record.own {
            return Err(ListError::NotIssuer);
        }
        let first = held.record.size;
        let mut leaves = Vec::with_capacity(entries.len());
        let mut indexed = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            if let ListEntry::Remove { entry: target, .. } = entry {
                let is_add = *target < first + i as u64
                    && match store.list_leaf(list, *target)? {
                        Some(leaf) => matches!(ListEntry::parse(&leaf), Ok(ListEntry::Add { .. })),
                        None => leaves
                            .get((*target - first) as usize)
                            .is_some_and(|l: &Vec<u8>| matches!(ListEntry::parse(l), Ok(ListEntry::Add { .. }))),
                    };
                if !is_add {
                    return Err(ListError::BadEntry(format!("entry {target} is not an add entry of this list")));
                }
            }
            let bytes = entry.to_bytes().map_err(|e| ListError::BadEntry(e.to_string()))?;
            // What is logged is what a subscriber will parse and index.
            let parsed = ListEntry::parse(&bytes).map_err(|e| ListError::BadEntry(e.to_string()))?;
            indexed.push(Indexed::of(parsed));
            leaves.push(bytes);
        }
        let mut log = held.log.clone();
        for leaf in &leaves {
            log.push(leaf);
        }
        let checkpoint = self.sign(list, &log)?;
        let mut record = held.record.clone();
        record.size = log.size();
        record.checkpoint = Some(checkpoint.clone());
        store.append_list(&record, first, leaves).await?;
        {
            let mut index = self.index();
            for (i, entry) in indexed.into_iter().enumerate() {
                index_entry(&mut index, store, list, first + i as u64, &entry, &HashSet::new());
            }
        }
        held.log = log;
        held.record = record;
        Ok((first, checkpoint))
    }

    /// Every list record.
    pub async fn records(&self) -> Vec<ListRecord> {
        let mut out: Vec<ListRecord> = self.logs.lock().await.values().map(|l| l.record.clone()).collect();
        out.sort_by(|a, b| a.list.cmp(&b.list));
        out
    }

    /// One list's record.
    pub async fn record(&self, list: &ListId) -> Option<ListRecord> {
        self.logs.lock().await.get(list).map(|l| l.record.clone())
    }

    /// Subscribes to a list (or changes how it is followed: actions,
    /// threshold, mode, removals, priority). Switching a list held to
    /// `suggest` or `notify` records its active entries as suggestions or
    /// notices (spec/blocklists.md §11.7).
    pub async fn subscribe(&self, store: &Store, list: &ListId, settings: Settings) -> Result<ListRecord, ListError> {
        let Settings { actions, pdq_threshold, mode, on_removal, priority } = settings;
        if pdq_threshold.is_some_and(|t| t > accord_proto::pdq::MAX_PDQ_THRESHOLD) {
            return Err(ListError::BadEntry(format!(
                "the PDQ threshold is at most {}",
                accord_proto::pdq::MAX_PDQ_THRESHOLD
            )));
        }
        let mut logs = self.logs.lock().await;
        let held = logs.entry(list.clone()).or_insert_with(|| ListLog {
            record: ListRecord {
                list: list.clone(),
                own: false,
                subscribed: true,
                actions: BTreeMap::new(),
                pdq_threshold: None,
                size: 0,
                checkpoint: None,
                distrusted: None,
                mode: SubscriptionMode::Apply,
                on_removal: OnRemoval::Undo,
                priority: 0,
                description: None,
            },
            log: MerkleLog::new(),
        });
        let switched = held.record.mode != mode && !held.record.own;
        held.record.subscribed = true;
        held.record.actions = actions;
        held.record.pdq_threshold = pdq_threshold;
        if !held.record.own {
            held.record.mode = mode;
            held.record.on_removal = on_removal;
        }
        held.record.priority = priority;
        if switched && mode != SubscriptionMode::Apply {
            let arrivals = curation::held_arrivals(store, &held.record)?;
            store.put_arrivals(&arrivals).await?;
        }
        store.put_list(&held.record).await?;
        self.index().set_policy(list, policy(&held.record));
        Ok(held.record.clone())
    }

    /// Stops enforcing a list; a list not issued here is forgotten.
    pub async fn unsubscribe(&self, store: &Store, list: &ListId) -> Result<(), ListError> {
        let mut logs = self.logs.lock().await;
        let held = logs.get_mut(list).ok_or(ListError::UnknownList)?;
        if held.record.own {
            return Err(ListError::NotIssuer);
        }
        store.delete_list(list).await?;
        logs.remove(list);
        self.activity.forget(list);
        let mut index = self.index();
        index.clear_list(list);
        index.set_policy(list, Policy::default());
        Ok(())
    }

    /// Sets (`Some(reason)`) or lifts a local exception to one entry.
    pub async fn set_exception(
        &self,
        store: &Store,
        list: &ListId,
        entry: u64,
        reason: Option<&str>,
    ) -> Result<(), ListError> {
        let logs = self.logs.lock().await;
        let held = logs.get(list).ok_or(ListError::UnknownList)?;
        if entry >= held.record.size {
            return Err(ListError::BadEntry(format!("the list has no entry {entry}")));
        }
        store.set_exception(list, entry, reason).await?;
        self.index().set_exception(list, entry, reason.is_some());
        Ok(())
    }

    /// What a verified checkpoint means for the list held here.
    pub async fn observe(&self, verified: &VerifiedCheckpoint) -> Observation {
        let logs = self.logs.lock().await;
        let Some(held) = logs.get(&verified.checkpoint.list) else { return Observation::NotHeld };
        self.activity.saw(&verified.checkpoint.list, verified.checkpoint.size, Timestamp::now());
        if held.record.distrusted.is_some() {
            return Observation::Distrusted;
        }
        let size = verified.checkpoint.size;
        if size > held.record.size {
            return Observation::Behind(held.record.size);
        }
        if held.log.root_at(size).ok() == Some(verified.checkpoint.root) {
            return Observation::Known;
        }
        // Signed by the issuer, yet not the log held: build the proof from
        // the checkpoint held (or, for the larger side, this one).
        let Some(ours) = held.record.checkpoint.as_ref().and_then(|c| c.verify(&held.record.list).ok()) else {
            return Observation::Known;
        };
        match EquivocationProof::build(&ours, verified, &held.log)
            .or_else(|| EquivocationProof::build(verified, &ours, &held.log))
        {
            Some(proof) => Observation::Equivocation(Box::new(proof)),
            None => Observation::Known,
        }
    }

    /// Requires (`Some`) or stops requiring witness cosignatures on the
    /// checkpoints of `list` before they are applied.
    pub fn set_quorum(&self, list: &ListId, quorum: Option<Quorum>) {
        let mut quorums = self.quorums.write().unwrap_or_else(|p| p.into_inner());
        match quorum {
            Some(q) => quorums.insert(list.clone(), q),
            None => quorums.remove(list),
        };
    }

    /// Checks that a checkpoint of `list` carries the witness
    /// cosignatures its subscription requires (nothing, if none).
    pub fn check_cosigned(&self, list: &ListId, checkpoint: &SignedCheckpoint) -> Result<(), ListError> {
        let quorum = self.quorums.read().unwrap_or_else(|p| p.into_inner()).get(list).cloned();
        if let Some(q) = quorum {
            check_quorum(checkpoint, &q.witnesses, q.required)?;
        }
        Ok(())
    }

    /// The size `witness` last cosigned of own list `list`, as far as this
    /// node knows (0 when it never did).
    pub fn witnessed_size(&self, list: &ListId, witness: &WitnessKey) -> u64 {
        let witnessed = self.witnessed.lock().unwrap_or_else(|p| p.into_inner());
        witnessed.get(&(list.clone(), witness.clone())).copied().unwrap_or(0)
    }

    /// Records that `witness` cosigned own list `list` at `size`.
    pub fn set_witnessed_size(&self, list: &ListId, witness: &WitnessKey, size: u64) {
        let mut witnessed = self.witnessed.lock().unwrap_or_else(|p| p.into_inner());
        witnessed.insert((list.clone(), witness.clone()), size);
    }

    /// The RFC 6962 consistency proof from size `old` to size `new` of a
    /// list held (empty when `old` is 0 or equals `new`); `None` if the
    /// sizes are not held.
    pub async fn consistency_proof(&self, list: &ListId, old: u64, new: u64) -> Option<Vec<Sha256Hash>> {
        if old == 0 || old == new {
            return Some(Vec::new());
        }
        let logs = self.logs.lock().await;
        logs.get(list)?.log.consistency_proof(old, new).ok()
    }

    /// Adds witnesses' cosignature lines to the held checkpoint of an own
    /// list, if it is still the checkpoint of `size` entries. Returns the
    /// held checkpoint.
    pub async fn add_cosignatures(
        &self,
        store: &Store,
        list: &ListId,
        size: u64,
        lines: &[String],
    ) -> Result<SignedCheckpoint, ListError> {
        let mut logs = self.logs.lock().await;
        let held = logs.get_mut(list).ok_or(ListError::UnknownList)?;
        let checkpoint = held.record.checkpoint.clone().ok_or(ListError::UnknownList)?;
        if held.record.size != size || lines.is_empty() {
            return Ok(checkpoint);
        }
        let cosigned = add_cosignatures(&checkpoint, lines)?;
        if cosigned != checkpoint {
            let mut record = held.record.clone();
            record.checkpoint = Some(cosigned.clone());
            store.put_list(&record).await?;
            held.record = record;
        }
        Ok(cosigned)
    }

    /// Applies a range of leaves `from..` that, with the leaves held, must
    /// make exactly the signed checkpoint's tree, each a valid entry
    /// (`accord_proto::blocklist::apply_range`). All or nothing.
    pub async fn apply_range(
        &self,
        store: &Store,
        verified: &VerifiedCheckpoint,
        from: u64,
        leaves: &[Vec<u8>],
    ) -> Result<Applied, ListError> {
        let mut received = Received::new(from);
        received.add(leaves.to_vec(), Indexed::of).map_err(|e| ListError::BadEntry(e.to_string()))?;
        self.apply_received(store, verified, received).await
    }

    /// [`Lists::apply_range`] for leaves received page by page, each
    /// already parsed and hashed ([`Received::add`] with [`Indexed::of`]):
    /// the range is applied if it makes exactly the signed checkpoint's
    /// tree. All or nothing.
    pub async fn apply_received(
        &self,
        store: &Store,
        verified: &VerifiedCheckpoint,
        received: Received<Indexed>,
    ) -> Result<Applied, ListError> {
        let list = &verified.checkpoint.list;
        let from = received.from();
        let mut logs = self.logs.lock().await;
        let held = logs.get_mut(list).ok_or(ListError::UnknownList)?;
        if let Some(why) = &held.record.distrusted {
            return Err(ListError::Distrusted(why.clone()));
        }
        self.check_cosigned(list, &verified.signed)?;
        let range = received.apply(&held.log, &verified.checkpoint).map_err(|e| match e {
            RangeError::InvalidEntry { .. } => ListError::BadEntry(e.to_string()),
            _ => ListError::BadRange,
        })?;
        let mut record = held.record.clone();
        record.size = range.log.size();
        record.checkpoint = Some(verified.signed.clone());
        let arrivals = curation::arrivals(store, &held.record, from, &range.leaves)?;
        let count = range.leaves.len();
        store.append_list_with(&record, from, range.leaves, &arrivals).await?;
        let mut kept: HashSet<u64> = store.kept(list)?.into_iter().map(|k| k.entry).collect();
        kept.extend(arrivals.kept.iter().map(|k| k.entry));
        // Indexed once stored, not while being written: a match must never
        // be found whose entry cannot be read (its provenance's reason).
        {
            let mut index = self.index();
            index.reserve(range.read.len());
            for (at, entry) in (from..).zip(&range.read) {
                index_entry(&mut index, store, list, at, entry, &kept);
            }
        }
        held.log = range.log;
        held.record = record;
        Ok(curation::applied(count, &arrivals))
    }

    /// Stops trusting every list of `issuer`: nothing of them is enforced
    /// or applied any more. Returns the lists affected.
    pub async fn distrust(&self, store: &Store, issuer: &IssuerId, why: &str) -> Result<Vec<ListId>, ListError> {
        let mut logs = self.logs.lock().await;
        let mut affected = Vec::new();
        for held in logs.values_mut().filter(|l| &l.record.list.issuer == issuer && l.record.distrusted.is_none()) {
            held.record.distrusted = Some(why.to_string());
            store.put_list(&held.record).await?;
            self.index().set_policy(&held.record.list, policy(&held.record));
            affected.push(held.record.list.clone());
        }
        Ok(affected)
    }

    /// The operator's decision to trust an issuer again after an
    /// equivocation: its lists are enforced and followed again.
    pub async fn trust(&self, store: &Store, issuer: &IssuerId) -> Result<Vec<ListId>, ListError> {
        let mut logs = self.logs.lock().await;
        let mut affected = Vec::new();
        for held in logs.values_mut().filter(|l| &l.record.list.issuer == issuer && l.record.distrusted.is_some()) {
            held.record.distrusted = None;
            store.put_list(&held.record).await?;
            self.index().set_policy(&held.record.list, policy(&held.record));
            affected.push(held.record.list.clone());
        }
        Ok(affected)
    }

    /// Leaves `from..from+limit` of a list and its checkpoint (for peers).
    pub async fn leaves(
        &self,
        store: &Store,
        list: &ListId,
        from: u64,
        limit: usize,
    ) -> Result<Option<(SignedCheckpoint, Vec<Vec<u8>>)>, ListError> {
        let (checkpoint, size) = {
            let logs = self.logs.lock().await;
            match logs.get(list).and_then(|l| l.record.checkpoint.clone().map(|c| (c, l.record.size))) {
                Some((c, size)) if from <= size => (c, size),
                _ => return Ok(None),
            }
        };
        Ok(Some((checkpoint, store.list_leaves(list, from..size, limit)?)))
    }

    /// Every PDQ entry that applies to an image with PDQ hash `hash` here,
    /// each within its list's threshold, as provenance with the distance,
    /// nearest first.
    pub fn match_pdq(&self, store: &Store, hash: &accord_pdq::PdqHash) -> Vec<(Provenance, u32)> {
        let found = self.index.read().unwrap_or_else(|p| p.into_inner()).lookup_pdq(hash, Timestamp::now());
        found.into_iter().filter_map(|(m, d)| Some((self.provenance(store, m)?, d))).collect()
    }

    /// Whether an image is blocked here, and by what: its PDQ hashes
    /// (`hashes`: the image's and its mirror image's, each strong enough to
    /// act on) are looked up. The strongest match: `reject` before
    /// `quarantine`, then the nearest.
    pub fn check_pdq(&self, store: &Store, hashes: &[accord_pdq::PdqHash]) -> Option<Provenance> {
        if hashes.is_empty() {
            return None;
        }
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        let now = Timestamp::now();
        let best = hashes
            .iter()
            .flat_map(|h| index.lookup_pdq(h, now))
            .min_by_key(|(m, d)| (m.action != accord_proto::blocklist::entry::Action::Reject, *d))?;
        drop(index);
        self.provenance(store, best.0)
    }

    /// Whether any `pdq` entry is enforced here.
    pub fn enforces_pdq(&self) -> bool {
        self.index.read().unwrap_or_else(|p| p.into_inner()).pdq_len() > 0
    }

    /// A receiver that sees a new value whenever what this node enforces
    /// changes (entries applied, subscriptions, trust, exceptions).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Leaf `index` of a list, the list's current signed checkpoint and the
    /// leaf's inclusion proof in that checkpoint's tree: what a third party
    /// needs to check that the issuer listed the entry. `None` when the
    /// list, its checkpoint or the leaf is not held.
    pub async fn entry_proof(
        &self,
        store: &Store,
        list: &ListId,
        index: u64,
    ) -> Result<Option<(SignedCheckpoint, Vec<u8>, Vec<Sha256Hash>)>, ListError> {
        let (checkpoint, proof) = {
            let logs = self.logs.lock().await;
            let Some(held) = logs.get(list) else { return Ok(None) };
            let Some(checkpoint) = held.record.checkpoint.clone() else { return Ok(None) };
            match held.log.inclusion_proof(index, held.record.size) {
                Ok(proof) => (checkpoint, proof),
                Err(_) => return Ok(None),
            }
        };
        Ok(store.list_leaf(list, index)?.map(|leaf| (checkpoint, leaf, proof)))
    }

    /// The strongest match for a target.
    pub fn lookup(&self, kind: TargetKind, text: &str) -> Option<Match> {
        self.lookup_hash(kind, &target_hash(kind, text))
    }

    fn lookup_hash(&self, kind: TargetKind, hash: &Sha256Hash) -> Option<Match> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).lookup(kind, hash, Timestamp::now())
    }

    /// What a target's check comes to here, with its provenance (the
    /// deciding list's priority and the entries it outranked).
    fn check_key(&self, store: &Store, kind: TargetKind, key: Sha256Hash) -> Option<Provenance> {
        let m = self.lookup_hash(kind, &key)?;
        self.provenance_of(store, m, Some((kind, key)))
    }

    /// The index key of an account, node or room id. Making one prints
    /// the id (bech32m or base58) and hashes the text, which costs more
    /// than the lookup itself; the ids of a node's traffic repeat, so the
    /// keys of recent ones are remembered.
    fn id_key(&self, kind: TargetKind, id: &[u8; 32], text: impl FnOnce() -> String) -> Sha256Hash {
        if let Some(key) = self.id_keys.read().unwrap_or_else(|p| p.into_inner()).get(&(kind, *id)) {
            return *key;
        }
        let key = target_hash(kind, &text());
        let mut keys = self.id_keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= ID_KEYS_MAX {
            keys.clear();
        }
        keys.insert((kind, *id), key);
        key
    }

    fn account_key(&self, account: &AccountId) -> Sha256Hash {
        self.id_key(TargetKind::Account, account.as_bytes(), || account.to_string())
    }

    fn node_key(&self, node: &NodeId) -> Sha256Hash {
        self.id_key(TargetKind::Node, node.as_bytes(), || node.to_string())
    }

    fn room_key(&self, room: &RoomId) -> Sha256Hash {
        self.id_key(TargetKind::Room, room.as_bytes(), || room.to_string())
    }

    /// The provenance of a match, with the entry's reason from the store.
    pub fn provenance(&self, store: &Store, m: Match) -> Option<Provenance> {
        self.provenance_of(store, m, None)
    }

    /// The provenance of a match on target `key`: the entry's reason from
    /// the store, the operator's decision that makes it apply (an approved
    /// suggestion, an entry kept after removal) and, when lists of lower
    /// priority spoke about the target, its priority and theirs.
    fn provenance_of(&self, store: &Store, m: Match, key: Option<(TargetKind, Sha256Hash)>) -> Option<Provenance> {
        let (list, mode, priority, kept, outranked) = {
            let index = self.index.read().unwrap_or_else(|p| p.into_inner());
            let list = index.list(m.list)?.clone();
            let policy = index.policy(m.list).cloned().unwrap_or_default();
            let outranked: Vec<_> = match key {
                Some((kind, hash)) if m.outranked => index
                    .votes(kind, &hash, Timestamp::now())
                    .into_iter()
                    .filter(|v| v.priority < policy.priority)
                    .filter_map(|v| {
                        Some(accord_api::provenance::Outranked {
                            list: index.list(v.list)?.clone(),
                            entry: v.entry,
                            priority: v.priority,
                            verdict: v.verdict,
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            (list, policy.mode, policy.priority, index.is_kept(m.list, m.entry), outranked)
        };
        let reason = store.list_leaf(&list, m.entry).ok().flatten().and_then(|leaf| match ListEntry::parse(&leaf) {
            Ok(ListEntry::Add { reason, .. }) => reason.map(|r| r.as_str().to_string()),
            _ => None,
        });
        let mut provenance = Provenance::of_entry(list, m.entry, m.category, m.action, reason);
        provenance.decision = curation::decision(store, &provenance.list, m.entry, mode, kept);
        if !outranked.is_empty() {
            provenance.priority = Some(priority);
            provenance.outranked = outranked;
        }
        Some(provenance)
    }

    /// Whether an account is refused here (a `reject` entry; a quarantine
    /// entry holds its content instead), and by what.
    pub fn check_account(&self, store: &Store, account: &AccountId) -> Option<Provenance> {
        self.check_key(store, TargetKind::Account, self.account_key(account))
            .filter(|p| p.action == accord_proto::blocklist::entry::Action::Reject)
    }

    /// Whether a node is cut off here (a `reject` entry), and by what.
    pub fn check_node(&self, store: &Store, node: &NodeId) -> Option<Provenance> {
        self.check_key(store, TargetKind::Node, self.node_key(node))
            .filter(|p| p.action == accord_proto::blocklist::entry::Action::Reject)
    }

    /// Whether a `domain` entry may match a name here (one was indexed
    /// since the node started): peers' names need checking.
    pub fn may_match_domains(&self) -> bool {
        self.index.read().unwrap_or_else(|p| p.into_inner()).any_domain()
    }

    /// Whether a DNS name is cut off here by a `reject` entry of a `domain`
    /// target — the name exactly, or a wildcard over it — and by what
    /// (spec/blocklists.md §2.2). Nodes are matched by their verified name.
    pub fn check_domain(&self, store: &Store, name: &accord_proto::names::DomainName) -> Option<Provenance> {
        if self.is_empty() {
            return None;
        }
        name.patterns()
            .iter()
            .find_map(|pattern| {
                self.lookup_hash(TargetKind::Domain, &target_hash(TargetKind::Domain, &pattern.to_string()))
                    .filter(|m| m.action == accord_proto::blocklist::entry::Action::Reject)
            })
            .and_then(|m| self.provenance(store, m))
    }

    /// Whether a room is blocked here, and by what.
    pub fn check_room(&self, store: &Store, room: &RoomId) -> Option<Provenance> {
        self.check_key(store, TargetKind::Room, self.room_key(room))
    }

    /// Whether an event is blocked here (its author, its origin node, its
    /// room or its content), and by what: the strongest match.
    pub fn check_event(&self, store: &Store, event: &Event) -> Option<Provenance> {
        let origin = event.origin();
        self.strongest(store, &event.author(), Some(&origin), &event.room(), event.content_key())
    }

    /// Whether an event body about to be sent is blocked here (its author,
    /// its room, its content), and by what.
    pub fn check_body(&self, store: &Store, body: &EventBody, room: RoomId) -> Option<Provenance> {
        let content = match &body.content {
            EventContent::Message { text, .. } => {
                Some(accord_proto::blocklist::entry::content_target_hash(&Sha256Hash::digest(text.as_str().as_bytes())))
            }
            _ => None,
        };
        self.strongest(store, &body.author, None, &room, content)
    }

    /// Whether a stored event is blocked or held here, read from its wire
    /// form without verifying it again (it was verified when stored). A
    /// quarantined event a moderator released is not held.
    pub fn check_wire(&self, store: &Store, event: &UnverifiedEvent) -> Option<Provenance> {
        // Every history page and live frame comes here: with nothing
        // enforced, skip parsing the event.
        if self.is_empty() {
            return None;
        }
        let body: EventBody = serde_json::from_slice(&event.author.raw().body).ok()?;
        let stamp: OriginStamp = serde_json::from_slice(&event.origin.raw().body).ok()?;
        let content = match &body.content {
            EventContent::Message { text, .. } => {
                Some(accord_proto::blocklist::entry::content_target_hash(&Sha256Hash::digest(text.as_str().as_bytes())))
            }
            _ => None,
        };
        let found = self.strongest(store, &body.author, Some(&stamp.origin), &stamp.room, content).or_else(|| {
            match &body.content {
                EventContent::Message { attachments, .. } => self.check_attachments(store, attachments),
                _ => None,
            }
        })?;
        let released = || self.released.read().unwrap_or_else(|p| p.into_inner()).contains(&event.claimed_id());
        if found.action == accord_proto::blocklist::entry::Action::Quarantine && released() {
            return None;
        }
        Some(found)
    }

    /// Whether an image a stored event carries is blocked here, and by
    /// what: the PDQ hashes its record keeps (computed here when it was
    /// stored, kept after a purge) are looked up.
    fn check_attachments(&self, store: &Store, attachments: &[accord_proto::media::Attachment]) -> Option<Provenance> {
        attachments.iter().filter(|a| a.media_type.is_image()).find_map(|a| {
            let pdq = store.blob_record(&a.hash).ok()??.pdq?;
            self.check_pdq(store, &pdq)
        })
    }

    /// A moderator releases a quarantined event: it is delivered from now on.
    pub async fn release(&self, store: &Store, event: accord_proto::EventId, reason: &str) -> Result<(), ListError> {
        store.put_release(&event, reason).await?;
        self.released.write().unwrap_or_else(|p| p.into_inner()).insert(event);
        Ok(())
    }

    fn strongest(
        &self,
        store: &Store,
        author: &AccountId,
        origin: Option<&NodeId>,
        room: &RoomId,
        content_key: Option<Sha256Hash>,
    ) -> Option<Provenance> {
        // One read lock of the index for the whole check.
        let best = {
            let index = self.index.read().unwrap_or_else(|p| p.into_inner());
            if index.is_empty() {
                return None;
            }
            let keys = [
                Some((TargetKind::Account, self.account_key(author))),
                Some((TargetKind::Room, self.room_key(room))),
                origin.map(|o| (TargetKind::Node, self.node_key(o))),
                content_key.map(|k| (TargetKind::Content, k)),
            ];
            // The clock is read only when an entry may have expired.
            let now = if index.has_expiring() { Timestamp::now() } else { Timestamp::MAX };
            keys.into_iter()
                .flatten()
                .filter_map(|(kind, key)| Some((index.lookup(kind, &key, now)?, (kind, key))))
                .min_by_key(|(m, _)| if m.action == accord_proto::blocklist::entry::Action::Reject { 0 } else { 1 })?
        };
        self.provenance_of(store, best.0, Some(best.1))
    }

    fn is_empty(&self) -> bool {
        self.index.read().unwrap_or_else(|p| p.into_inner()).is_empty()
    }

    /// What this node declares in its policy manifest: the lists it
    /// enforces (issued or subscribed, issuer trusted, not `notify`) and
    /// their sizes.
    pub async fn declared(&self) -> Vec<accord_proto::policy::DeclaredList> {
        let logs = self.logs.lock().await;
        let mut out: Vec<_> = logs
            .values()
            .filter(|l| (l.record.own || l.record.subscribed) && l.record.distrusted.is_none())
            .filter(|l| l.record.mode != SubscriptionMode::Notify)
            .map(|l| accord_proto::policy::DeclaredList { list: l.record.list.clone(), size: l.record.size })
            .collect();
        out.sort_by(|a, b| a.list.cmp(&b.list));
        out
    }

    /// Number of active entries enforced.
    pub fn indexed(&self) -> usize {
        self.index.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The plain target of a typed id, for admin commands.
pub fn target_of(kind: TargetKind, text: &str) -> Result<Target, String> {
    Ok(match kind {
        TargetKind::Account => Target::Account { id: text.parse().map_err(|e| format!("{e}"))? },
        TargetKind::Node => Target::Node { id: text.parse().map_err(|e| format!("{e}"))? },
        TargetKind::Room => Target::Room { id: text.parse().map_err(|e| format!("{e}"))? },
        TargetKind::Content => Target::Content { id: text.parse().map_err(|e| format!("{e}"))? },
        TargetKind::Pdq => Target::Pdq { hash: text.parse().map_err(|e| format!("{e}"))? },
        TargetKind::Domain => Target::Domain { name: text.parse().map_err(|e| format!("{e}"))? },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_key_is_the_target_hash_of_the_hex_text() {
        let hash = Sha256Hash::digest(b"some message");
        assert_eq!(
            accord_proto::blocklist::entry::content_target_hash(&hash),
            target_hash(TargetKind::Content, &hash.to_string())
        );
    }
}

//! First contact: before trust is given to an author the CLI has not seen
//! before, look the account up once and warn when it is young or flagged
//! (spec/reports.md §13).
//!
//! The authors already seen are kept in a small file next to the key file
//! (`KEYFILE.seen`, one account id per line), so that the warning comes
//! once per account, not once per run.

use accord_sdk::{AccountId, Timestamp, VerifiedIdentity};
use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file of authors seen, for the key file `key`.
pub(crate) fn seen_file(key: &Path) -> PathBuf {
    let mut name = key.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "accord.key".into());
    name.push(".seen");
    key.with_file_name(name)
}

/// The authors seen so far, and the minimum age under which an account is
/// worth a warning.
#[derive(Debug)]
pub(crate) struct FirstContact {
    path: PathBuf,
    seen: HashSet<AccountId>,
    me: AccountId,
    min_age: Duration,
}

impl FirstContact {
    /// Reads the file of authors seen; a missing or unreadable file is an
    /// empty one, and lines that are not account ids are skipped.
    pub(crate) fn load(path: PathBuf, me: AccountId, min_age: Duration) -> Self {
        let seen = std::fs::read_to_string(&path)
            .map(|text| text.lines().filter_map(|line| line.trim().parse().ok()).collect())
            .unwrap_or_default();
        Self { path, seen, me, min_age }
    }

    /// Whether `account` is met for the first time (never the account
    /// itself). Either way it counts as seen for the rest of the run; it
    /// is written to the file only by [`FirstContact::remember`].
    pub(crate) fn is_first(&mut self, account: &AccountId) -> bool {
        *account != self.me && self.seen.insert(*account)
    }

    /// Writes `account` to the file of authors seen (best effort: a file
    /// that cannot be written means the warning may come again).
    pub(crate) fn remember(&self, account: &AccountId) {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| writeln!(file, "{account}"));
        if let Err(err) = written {
            eprintln!("warning: cannot record {account} in {}: {err}", self.path.display());
        }
    }

    /// The minimum age.
    pub(crate) fn min_age(&self) -> Duration {
        self.min_age
    }
}

/// Why an account deserves a second look: younger than `min_age`, or under
/// quarantine by a blocklist entry. Empty when there is nothing to say.
///
/// The age is the node's (`trust.age_ms`); without trust signals (an older
/// node) it is `now` minus the attested registration time.
pub(crate) fn concerns(identity: &VerifiedIdentity, min_age: Duration, now: Timestamp) -> Vec<String> {
    let mut out = Vec::new();
    let age = account_age(identity, now);
    if age < min_age {
        out.push(format!("the account is {} old (younger than {})", human_age(age), human_age(min_age)));
    }
    for flag in identity.trust().map(|t| t.flags.as_slice()).unwrap_or_default() {
        out.push(format!("flagged by {flag}"));
    }
    out
}

/// The account's age: the node's figure, else from the attestation.
pub(crate) fn account_age(identity: &VerifiedIdentity, now: Timestamp) -> Duration {
    match identity.trust() {
        Some(trust) => trust.age,
        None => Duration::from_millis(now.as_millis().saturating_sub(identity.registered().as_millis())),
    }
}

/// `3 days`, `1 day`, `5 hours`, `12 minutes`.
pub(crate) fn human_age(age: Duration) -> String {
    let secs = age.as_secs();
    let (n, unit) = if secs >= 86_400 {
        (secs / 86_400, "day")
    } else if secs >= 3_600 {
        (secs / 3_600, "hour")
    } else {
        (secs / 60, "minute")
    };
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_sdk::SecretKey;

    fn account(seed: u8) -> AccountId {
        SecretKey::from_seed([seed; 32]).account_id()
    }

    #[test]
    fn the_seen_file_sits_next_to_the_key() {
        assert_eq!(seen_file(Path::new("/home/a/.accord/alice.key")), PathBuf::from("/home/a/.accord/alice.key.seen"));
        assert_eq!(seen_file(Path::new("alice.key")), PathBuf::from("alice.key.seen"));
    }

    #[test]
    fn an_author_is_first_met_once_across_runs() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("alice.key.seen");
        let (me, bob, carol) = (account(1), account(2), account(3));
        let mut contacts = FirstContact::load(path.clone(), me, Duration::from_secs(7 * 86_400));
        assert!(!contacts.is_first(&me), "one's own messages are no contact");
        assert!(contacts.is_first(&bob));
        contacts.remember(&bob);
        assert!(!contacts.is_first(&bob), "once per run");
        assert!(contacts.is_first(&carol));

        // The next run remembers bob (recorded) but not carol (not recorded).
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "not an account"))
            .expect("append junk");
        let mut next = FirstContact::load(path, me, Duration::from_secs(86_400));
        assert!(!next.is_first(&bob));
        assert!(next.is_first(&carol));
        assert_eq!(next.min_age(), Duration::from_secs(86_400));
    }

    /// An identity registered at `registered` (no trust signals).
    fn identity(registered: u64) -> VerifiedIdentity {
        use accord_sdk::proto::identity::{Attestation, IdentityDocument, VerificationLevel};
        use accord_sdk::proto::{NodeId, Verified};
        let (account, node) = (SecretKey::from_seed([1; 32]), SecretKey::from_seed([200; 32]));
        let doc = IdentityDocument {
            account: account.account_id(),
            handle: "bob@example.org".parse().expect("handle"),
            home: NodeId::from(node.public()),
            created: Timestamp::from_millis(registered),
        };
        let doc = Verified::sign(doc, &account).expect("sign");
        let att = Attestation {
            account: account.account_id(),
            identity: doc.body_hash(),
            node: NodeId::from(node.public()),
            registered: Timestamp::from_millis(registered),
            level: VerificationLevel::Open,
        };
        let att = Verified::sign(att, &node).expect("attest");
        VerifiedIdentity::from_verified(doc, att).expect("identity")
    }

    #[test]
    fn a_young_account_is_a_concern_an_old_one_is_not() {
        let day = 86_400_000;
        let now = Timestamp::from_millis(100 * day);
        let week = Duration::from_secs(7 * 86_400);
        let young = concerns(&identity(98 * day), week, now);
        assert_eq!(young, vec!["the account is 2 days old (younger than 7 days)".to_owned()]);
        assert!(concerns(&identity(90 * day), week, now).is_empty());
        assert!(concerns(&identity(98 * day), Duration::ZERO, now).is_empty(), "0 days turns the warning off");
    }

    #[test]
    fn ages_read_like_people_say_them() {
        assert_eq!(human_age(Duration::from_secs(7 * 86_400)), "7 days");
        assert_eq!(human_age(Duration::from_secs(86_400 + 5)), "1 day");
        assert_eq!(human_age(Duration::from_secs(5 * 3_600 + 59)), "5 hours");
        assert_eq!(human_age(Duration::from_secs(90)), "1 minute");
        assert_eq!(human_age(Duration::ZERO), "0 minutes");
    }
}

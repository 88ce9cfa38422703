//! Reading [`ListEntry`] and [`Target`] from JSON field by field.
//!
//! Both are tagged objects (`op`, `type`) whose tag sorts after most of
//! their fields in canonical form. serde's derived reading of such an enum
//! first copies the whole object into a generic buffer, then reads the
//! variant from it: an entry and its target were each copied once before
//! being read, which was most of the cost of checking a synced list's
//! leaves. Here every field is read straight into its type, and the tag
//! decides at the end which fields the variant allows. What is accepted is
//! what the derived reading accepted — the same fields per variant, no
//! unknown or repeated field, every value of its type — except a tag given
//! as a number (the variant's index), which the derived reading took by
//! accident and no canonical entry can hold.

use super::entry::{Action, Category, ListEntry, Target, TargetKind};
use crate::hash::Sha256Hash;
use crate::text::Reason;
use crate::time::Timestamp;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// Sets `slot` once; a second value for `field` is an error.
fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, field: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(field));
    }
    *slot = Some(value);
    Ok(())
}

/// The value of a required field.
fn required<T, E: de::Error>(slot: Option<T>, field: &'static str) -> Result<T, E> {
    slot.ok_or_else(|| E::missing_field(field))
}

/// An error for the first field `present` that the variant's fields,
/// `allowed`, do not name.
fn only<E: de::Error>(present: &[(&'static str, bool)], allowed: &'static [&'static str]) -> Result<(), E> {
    match present.iter().find(|(field, is)| *is && !allowed.contains(field)) {
        Some((field, _)) => Err(E::unknown_field(field, allowed)),
        None => Ok(()),
    }
}

/// Parses text read from a field into its type.
fn parsed<T: FromStr, E: de::Error>(text: Cow<'_, str>) -> Result<T, E>
where
    T::Err: fmt::Display,
{
    text.parse().map_err(E::custom)
}

/// `type` of a target.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum TargetType {
    Account,
    Node,
    Room,
    Content,
    Pdq,
    Domain,
    Hashed,
}

const ID_FIELDS: &[&str] = &["id"];
const PDQ_FIELDS: &[&str] = &["hash"];
const DOMAIN_FIELDS: &[&str] = &["name"];
const HASHED_FIELDS: &[&str] = &["kind", "hash"];

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
        d.deserialize_map(TargetVisitor)
    }
}

struct TargetVisitor;

impl<'de> Visitor<'de> for TargetVisitor {
    type Value = Target;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a target object with a `type`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Target, A::Error> {
        let mut ty: Option<TargetType> = None;
        let mut id: Option<Cow<'de, str>> = None;
        let mut hash: Option<Cow<'de, str>> = None;
        let mut name: Option<Cow<'de, str>> = None;
        let mut kind: Option<TargetKind> = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match &*key {
                "type" => once(&mut ty, map.next_value()?, "type")?,
                "id" => once(&mut id, map.next_value()?, "id")?,
                "hash" => once(&mut hash, map.next_value()?, "hash")?,
                "name" => once(&mut name, map.next_value()?, "name")?,
                "kind" => once(&mut kind, map.next_value()?, "kind")?,
                other => {
                    // The derived reading named the fields of the variant
                    // when it was known; before the tag, every field.
                    return Err(de::Error::unknown_field(other, &["type", "id", "hash", "name", "kind"]));
                }
            }
        }
        let ty = required(ty, "type")?;
        let allowed = match ty {
            TargetType::Account | TargetType::Node | TargetType::Room | TargetType::Content => ID_FIELDS,
            TargetType::Pdq => PDQ_FIELDS,
            TargetType::Domain => DOMAIN_FIELDS,
            TargetType::Hashed => HASHED_FIELDS,
        };
        only(
            &[("id", id.is_some()), ("hash", hash.is_some()), ("name", name.is_some()), ("kind", kind.is_some())],
            allowed,
        )?;
        Ok(match ty {
            TargetType::Account => Target::Account { id: parsed(required(id, "id")?)? },
            TargetType::Node => Target::Node { id: parsed(required(id, "id")?)? },
            TargetType::Room => Target::Room { id: parsed(required(id, "id")?)? },
            TargetType::Content => Target::Content { id: parsed(required(id, "id")?)? },
            TargetType::Pdq => Target::Pdq { hash: parsed(required(hash, "hash")?)? },
            TargetType::Domain => Target::Domain { name: parsed(required(name, "name")?)? },
            TargetType::Hashed => Target::Hashed {
                kind: required(kind, "kind")?,
                hash: parsed::<Sha256Hash, _>(required(hash, "hash")?)?,
            },
        })
    }
}

/// `op` of an entry.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Op {
    Add,
    Remove,
}

const ADD_FIELDS: &[&str] = &["op", "created", "target", "category", "action", "reason", "evidence", "expires"];
const REMOVE_FIELDS: &[&str] = &["op", "created", "entry", "reason"];

impl<'de> Deserialize<'de> for ListEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ListEntry, D::Error> {
        d.deserialize_map(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = ListEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list entry object with an `op`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ListEntry, A::Error> {
        let mut op: Option<Op> = None;
        let mut created: Option<Timestamp> = None;
        let mut target: Option<Target> = None;
        let mut category: Option<Category> = None;
        let mut action: Option<Action> = None;
        // `null` reads as absent, as `#[serde(default)]` on an option did.
        let mut reason: Option<Option<Reason>> = None;
        let mut evidence: Option<Option<Sha256Hash>> = None;
        let mut expires: Option<Option<Timestamp>> = None;
        let mut entry: Option<u64> = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match &*key {
                "op" => once(&mut op, map.next_value()?, "op")?,
                "created" => once(&mut created, map.next_value()?, "created")?,
                "target" => once(&mut target, map.next_value()?, "target")?,
                "category" => once(&mut category, map.next_value()?, "category")?,
                "action" => once(&mut action, map.next_value()?, "action")?,
                "reason" => once(&mut reason, map.next_value()?, "reason")?,
                "evidence" => once(&mut evidence, map.next_value()?, "evidence")?,
                "expires" => once(&mut expires, map.next_value()?, "expires")?,
                "entry" => once(&mut entry, map.next_value()?, "entry")?,
                other => return Err(de::Error::unknown_field(other, ADD_FIELDS)),
            }
        }
        let present = [
            ("target", target.is_some()),
            ("category", category.is_some()),
            ("action", action.is_some()),
            ("evidence", evidence.is_some()),
            ("expires", expires.is_some()),
            ("entry", entry.is_some()),
        ];
        match required(op, "op")? {
            Op::Add => {
                only(&present, ADD_FIELDS)?;
                Ok(ListEntry::Add {
                    created: required(created, "created")?,
                    target: required(target, "target")?,
                    category: required(category, "category")?,
                    action: required(action, "action")?,
                    reason: reason.flatten(),
                    evidence: evidence.flatten(),
                    expires: expires.flatten(),
                })
            }
            Op::Remove => {
                only(&present, REMOVE_FIELDS)?;
                Ok(ListEntry::Remove {
                    created: required(created, "created")?,
                    entry: required(entry, "entry")?,
                    reason: reason.flatten(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The field-by-field reading accepts exactly what serde's derived
    //! reading of the same enums accepted, and reads the same values.

    use super::*;
    use crate::ids::{AccountId, ContentHash, NodeId, RoomId};
    use crate::keys::SecretKey;
    use crate::names::DomainPattern;
    use crate::pdq::PdqHash;
    use serde::Serialize;
    use serde_json::{Value, json};

    /// [`Target`] as serde derives it.
    #[derive(Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
    enum DerivedTarget {
        Account { id: AccountId },
        Node { id: NodeId },
        Room { id: RoomId },
        Content { id: ContentHash },
        Pdq { hash: PdqHash },
        Domain { name: DomainPattern },
        Hashed { kind: TargetKind, hash: Sha256Hash },
    }

    /// [`ListEntry`] as serde derives it.
    #[derive(Serialize, Deserialize)]
    #[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
    enum DerivedEntry {
        Add {
            created: Timestamp,
            target: DerivedTarget,
            category: Category,
            action: Action,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            reason: Option<Reason>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            evidence: Option<Sha256Hash>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            expires: Option<Timestamp>,
        },
        Remove {
            created: Timestamp,
            entry: u64,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            reason: Option<Reason>,
        },
    }

    fn targets() -> Vec<Value> {
        let key = SecretKey::from_seed([7; 32]).public();
        let hash = Sha256Hash::digest(b"x").to_string();
        vec![
            json!({"type": "account", "id": AccountId::from(key).to_string()}),
            json!({"type": "node", "id": NodeId::from(key).to_string()}),
            json!({"type": "room", "id": RoomId(Sha256Hash::digest(b"r")).to_string()}),
            json!({"type": "content", "id": hash}),
            json!({"type": "pdq", "hash": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"}),
            json!({"type": "domain", "name": "*.example.org"}),
            json!({"type": "hashed", "kind": "account", "hash": hash}),
            json!({"type": "hashed", "kind": "pdq", "hash": hash}),
        ]
    }

    /// Valid entries, then each of them changed in the ways a hostile
    /// issuer or peer could: fields dropped, added, repeated, nulled,
    /// retyped, and the other variant's fields mixed in.
    fn corpus() -> Vec<String> {
        let mut valid = Vec::new();
        for target in targets() {
            valid.push(json!({"op": "add", "created": 5, "target": target, "category": "spam", "action": "reject"}));
            valid.push(json!({"op": "add", "created": 5, "target": target, "category": "csam", "action": "reject",
                "reason": "why", "evidence": Sha256Hash::digest(b"e").to_string(), "expires": 9}));
        }
        valid.push(json!({"op": "remove", "created": 5, "entry": 3}));
        valid.push(json!({"op": "remove", "created": 5, "entry": 3, "reason": "mistake"}));
        let mut corpus: Vec<String> = Vec::new();
        let fields =
            ["op", "created", "target", "category", "action", "reason", "evidence", "expires", "entry", "other"];
        let values = [
            json!(null),
            json!(1),
            json!("add"),
            json!("remove"),
            json!({}),
            json!([]),
            json!(-1),
            json!(1u64 << 60),
            json!({"type": "node"}),
            json!({"type": "content", "id": "ab", "x": 1}),
        ];
        for entry in &valid {
            corpus.push(entry.to_string());
            let object = entry.as_object().cloned().unwrap_or_default();
            for field in fields {
                let mut without = object.clone();
                without.remove(field);
                corpus.push(Value::Object(without).to_string());
                for value in &values {
                    let mut with = object.clone();
                    with.insert(field.to_string(), value.clone());
                    corpus.push(Value::Object(with).to_string());
                }
            }
            let text = entry.to_string();
            let inner = &text[1..text.len() - 1];
            corpus.push(format!("{{{inner},\"op\":\"add\"}}"));
            corpus.push(format!("{{{inner},\"created\":6}}"));
            if let Some(target) = entry.get("target") {
                let t = target.to_string();
                for field in ["type", "id", "hash", "name", "kind"] {
                    let mut changed = target.as_object().cloned().unwrap_or_default();
                    changed.remove(field);
                    corpus.push(text.replace(&t, &Value::Object(changed.clone()).to_string()));
                    for value in [json!("hashed"), json!("x"), json!(1), json!(null), json!("account")] {
                        changed.insert(field.to_string(), value);
                        corpus.push(text.replace(&t, &Value::Object(changed.clone()).to_string()));
                    }
                }
                let t_inner = &t[1..t.len() - 1];
                corpus.push(text.replace(&t, &format!("{{{t_inner},\"type\":\"node\"}}")));
                corpus.push(text.replace(&t, "[\"account\",\"x\"]"));
            }
        }
        corpus.extend(["null", "[]", "{}", "\"add\"", "[\"add\", 5]", "{\"op\":\"add\"}"].map(String::from));
        corpus
    }

    #[test]
    fn accepts_and_rejects_what_the_derived_reading_did() {
        let mut accepted = 0;
        for text in corpus() {
            let ours = serde_json::from_str::<ListEntry>(&text);
            let derived = serde_json::from_str::<DerivedEntry>(&text);
            let numeric_tag = text.contains("\"op\":1") || text.contains("\"type\":1");
            if numeric_tag {
                assert!(ours.is_err(), "{text}: a numeric tag is refused");
                continue;
            }
            assert_eq!(ours.is_ok(), derived.is_ok(), "{text}: ours {ours:?}, derived {:?}", derived.err());
            if let (Ok(ours), Ok(derived)) = (ours, derived) {
                assert_eq!(serde_json::to_value(&ours).ok(), serde_json::to_value(&derived).ok(), "{text}");
                accepted += 1;
            }
        }
        // The valid entries, and the changes that stay valid (a null
        // option, an added option), are read.
        assert!(accepted >= 20, "only {accepted} accepted");
    }

    #[test]
    fn a_target_alone_reads_as_derived() {
        for target in targets() {
            let text = target.to_string();
            let ours = serde_json::from_str::<Target>(&text).map(|t| serde_json::to_value(t).ok());
            let derived = serde_json::from_str::<DerivedTarget>(&text).map(|t| serde_json::to_value(t).ok());
            assert_eq!(ours.ok(), derived.ok(), "{text}");
        }
    }
}

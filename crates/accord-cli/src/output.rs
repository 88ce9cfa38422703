//! What the CLI prints: lines for people, or one JSON object per line.

use crate::UsageError;
use crate::contact::{self, FirstContact};
use accord_sdk::api::{ErrorBody, ErrorCode, ErrorDetail};
use accord_sdk::proto::event::Event;
use accord_sdk::{
    AccountId, ActionReceipt, BuildError, CaseDetail, CaseSummary, Client, EventContent, HiddenItem, KeyFileError,
    ModAction, Outcome, Provenance, ReportStatus, RoomId, RoomStateView, RoomSummary, SdkError, SendReceipt,
    TimelineEntry, TimelineItem, Timestamp, VerifiedAuditLog, VerifiedIdentity,
};
use chrono::{DateTime, Local};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Resolves accounts to handles through verified identity lookups,
/// remembering the answers (and the failures) for the run.
pub(crate) struct Names {
    client: Client,
    known: HashMap<AccountId, Option<String>>,
    contacts: Option<FirstContact>,
}

/// A warning about an author met for the first time.
pub(crate) struct Contact {
    account: AccountId,
    handle: String,
    concerns: Vec<String>,
}

impl Names {
    pub(crate) fn new(client: Client) -> Self {
        Self { client, known: HashMap::new(), contacts: None }
    }

    /// Also checks authors on first contact ([`Names::first_contact`]).
    pub(crate) fn with_first_contact(mut self, contacts: FirstContact) -> Self {
        self.contacts = Some(contacts);
        self
    }

    /// On the first message from `author` (ever, for this key): looks the
    /// account up and returns what is worrying about it, if anything.
    /// `None` for authors seen before, and when the lookup fails (the
    /// author is then tried again next time).
    pub(crate) async fn first_contact(&mut self, author: &AccountId) -> Option<Contact> {
        let contacts = self.contacts.as_mut()?;
        if !contacts.is_first(author) {
            return None;
        }
        let min_age = contacts.min_age();
        let identity = self.client.identity(author).await.ok()?;
        contacts.remember(author);
        let concerns = contact::concerns(&identity, min_age, Timestamp::now());
        if concerns.is_empty() {
            return None;
        }
        Some(Contact { account: *author, handle: identity.handle().to_string(), concerns })
    }

    /// The account's handle, if its identity could be found and verified.
    pub(crate) async fn handle(&mut self, account: &AccountId) -> Option<String> {
        if let Some(known) = self.known.get(account) {
            return known.clone();
        }
        let handle = self.client.identity(account).await.ok().map(|id| id.handle().to_string());
        self.known.insert(*account, handle.clone());
        handle
    }

    /// The handle, or the account id if there is none.
    pub(crate) async fn name(&mut self, account: &AccountId) -> String {
        self.handle(account).await.unwrap_or_else(|| account.to_string())
    }
}

/// Prints results in the chosen format.
pub(crate) struct Printer {
    json: bool,
}

impl Printer {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    fn line(&self, value: Value) {
        println!("{value}");
    }

    /// A remark for people (on standard error); nothing in JSON mode.
    pub(crate) fn note(&self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }

    pub(crate) fn error(&self, err: &anyhow::Error) {
        let (code, message) = describe(err);
        if self.json {
            // The node's error body, with the CLI's own codes beside the node's.
            let mut detail = ErrorDetail::new(ErrorCode::from_code(&code), message);
            detail.provenance = provenance(err).cloned().map(Box::new);
            eprintln!("{}", serde_json::to_string(&ErrorBody::from(detail)).unwrap_or_default());
        } else {
            eprintln!("error: {code}: {message}");
        }
    }

    pub(crate) fn keygen(&self, account: &AccountId, path: &Path) {
        if self.json {
            self.line(json!({"account": account, "key_file": path.display().to_string()}));
        } else {
            println!("{account}");
            eprintln!("key written to {}", path.display());
        }
    }

    pub(crate) fn identity(&self, what: &str, id: &VerifiedIdentity) {
        if self.json {
            self.line(identity_json(id));
        } else {
            println!("{what}: {}", id.handle());
            println!("  account:    {}", id.account());
            println!("  home node:  {}", id.home());
            println!("  level:      {}", wire_name(&id.level()));
            println!("  registered: {}", datetime(id.registered()));
        }
    }

    /// A warning about an author met for the first time: a line of the
    /// timeline for people, a JSON object on standard error.
    fn first_contact(&self, contact: &Contact) {
        if self.json {
            eprintln!(
                "{}",
                json!({"warning": {"code": "first_contact", "account": contact.account, "handle": contact.handle,
                                   "concerns": contact.concerns}})
            );
        } else {
            println!("!! first contact with {}: {}", contact.handle, contact.concerns.join("; "));
        }
    }

    /// An identity with its trust signals, and a warning when the account
    /// is younger than `min_age` or flagged.
    pub(crate) fn whois(&self, id: &VerifiedIdentity, min_age: Duration) {
        let now = Timestamp::now();
        let concerns = contact::concerns(id, min_age, now);
        let age = contact::account_age(id, now);
        if self.json {
            let mut value = identity_json(id);
            value["age_days"] = json!(age.as_secs() / 86_400);
            value["trust"] = json!(id.trust());
            value["warnings"] = json!(concerns);
            self.line(value);
            return;
        }
        println!("identity: {}", id.handle());
        println!("  account:      {}", id.account());
        println!("  home node:    {}", id.home());
        println!("  level:        {}", wire_name(&id.level()));
        println!("  registered:   {}", datetime(id.registered()));
        println!("  age:          {}", contact::human_age(age));
        match id.trust() {
            Some(trust) => {
                let flags: Vec<String> = trust.flags.iter().map(ToString::to_string).collect();
                println!("  flags:        {}", list(flags));
                println!("  open reports: {}", trust.reports);
                match &trust.home_name {
                    Some(n) if n.verified => println!("  home name:    {} (verified)", n.name),
                    Some(n) => println!(
                        "  home name:    {} (NOT verified: {})",
                        n.name,
                        n.code.as_deref().unwrap_or("unknown")
                    ),
                    None => println!("  home name:    (none claimed)"),
                }
            }
            None => println!("  (the node gives no trust signals)"),
        }
        for concern in &concerns {
            println!("warning: {concern}");
        }
    }

    /// One report's status.
    pub(crate) async fn report_status(&self, status: &ReportStatus, names: &mut Names) {
        if self.json {
            let mut value = serde_json::to_value(status).unwrap_or(Value::Null);
            if let Some(outcome) = &status.outcome {
                value["outcome"]["verified"] = Value::Bool(outcome.verify().is_ok());
            }
            self.line(value);
            return;
        }
        println!(
            "report {}  {}  {}  received {}",
            status.id,
            status.category,
            status.state.as_str(),
            datetime(status.received)
        );
        if status.case != status.id {
            println!("  case:      {}", status.case);
        }
        let mut accused = Vec::new();
        for a in &status.accused {
            accused.push(names.name(a).await);
        }
        println!("  accused:   {}", list(accused));
        let forwards: Vec<String> = status
            .forwards
            .iter()
            .map(|f| {
                let state = wire_name(&f.state);
                match &f.code {
                    Some(code) => format!("{} {state} ({code})", f.node),
                    None => format!("{} {state}", f.node),
                }
            })
            .collect();
        println!("  forwarded: {}", list(forwards));
        match &status.outcome {
            Some(outcome) => println!("  outcome:   {}", outcome_line(outcome, names).await),
            None => println!("  outcome:   none yet"),
        }
    }

    /// The account's reports.
    pub(crate) async fn reports(&self, reports: &[ReportStatus], names: &mut Names) {
        for status in reports {
            self.report_status(status, names).await;
        }
        if reports.is_empty() {
            self.note("no reports");
        }
    }

    /// The moderator queue.
    pub(crate) async fn cases(&self, cases: &[CaseSummary], names: &mut Names) {
        for case in cases {
            if self.json {
                self.line(serde_json::to_value(case).unwrap_or(Value::Null));
            } else {
                println!("{}", case_line(case, names).await);
            }
        }
        if cases.is_empty() {
            self.note("no cases");
        }
    }

    /// One case: its reports, evidence and context.
    pub(crate) async fn case_detail(&self, detail: &CaseDetail, names: &mut Names) {
        if self.json {
            let reports: Vec<Value> = detail
                .reports
                .iter()
                .map(|r| {
                    json!({"id": r.id(), "reporter": r.reporter(), "category": r.category(), "comment": r.comment(),
                           "ts": r.ts().as_millis(), "from": r.from, "accused": r.report.accused()})
                })
                .collect();
            let context: Vec<Value> = detail
                .context
                .iter()
                .map(|c| match c {
                    Ok(event) => event_json(event),
                    Err(err) => json!({"error": {"code": err.code(), "message": err.to_string()}}),
                })
                .collect();
            self.line(json!({
                "case": detail.case, "reports": reports,
                "evidence": detail.evidence.iter().map(event_json).collect::<Vec<_>>(), "context": context,
            }));
            return;
        }
        println!("{}", case_line(&detail.case, names).await);
        println!("reports:");
        for r in &detail.reports {
            let comment = r.comment().map(|c| format!(": \"{c}\"")).unwrap_or_default();
            println!(
                "  {} {} by {} ({}){comment}",
                datetime(r.ts()),
                r.category(),
                names.name(&r.reporter()).await,
                r.from
            );
        }
        println!("context:");
        for c in &detail.context {
            match c {
                Ok(event) => println!("  {}", event_line(event, names).await),
                Err(err) => println!("  !! {err}"),
            }
        }
        println!("evidence (signatures verified):");
        for event in &detail.evidence {
            println!("  {}  [{}]", event_line(event, names).await, event.id());
        }
    }

    /// An accepted moderation action.
    pub(crate) fn action_receipt(&self, receipt: &ActionReceipt) {
        let action = &receipt.action;
        if self.json {
            self.line(json!({
                "case": action.case, "action": action.action, "list": action.list,
                "index": receipt.index, "entries": receipt.entries,
            }));
            return;
        }
        println!("case {}: {} (audit log #{})", action.case, action.action, receipt.index);
        for entry in &receipt.entries {
            println!("  wrote {} #{}", entry.list, entry.index);
        }
    }

    /// Appeals, one per line: where each stands.
    pub(crate) fn appeals(&self, appeals: &[accord_sdk::AppealStatus]) {
        for a in appeals {
            if self.json {
                self.line(json!(a));
                continue;
            }
            let forward =
                a.forward.as_ref().map(|f| format!(", forward to {}: {:?}", f.node, f.state)).unwrap_or_default();
            println!("appeal {} of case {} at {}: {:?}{forward}", a.id, a.case, a.node, a.state);
            if let Some(by) = &a.decided_by {
                println!("  decided by {by}; appealed by {}: {}", a.account, a.reason);
            }
            if let Some(r) = &a.resolution {
                println!("  {} by {} (audit log #{})", r.action, r.moderator, r.index);
            }
        }
        if appeals.is_empty() && !self.json {
            println!("no appeals");
        }
    }

    /// A verified audit log, one action per line.
    pub(crate) async fn audit(&self, log: &VerifiedAuditLog, names: &mut Names) {
        let head = &log.head;
        if self.json {
            self.line(json!({"node": head.node, "size": head.size, "root": head.root, "ts": head.ts.as_millis(), "verified": true}));
            for (index, action) in log.actions.iter().enumerate() {
                let mut value = serde_json::to_value(action.payload()).unwrap_or(Value::Null);
                value["index"] = json!(index);
                self.line(value);
            }
            return;
        }
        println!(
            "audit log of {}: {} actions, root {}, signed {} (verified)",
            head.node,
            head.size,
            head.root,
            datetime(head.ts)
        );
        for (index, action) in log.actions.iter().enumerate() {
            println!("  #{index} {}", action_line(action, names).await);
        }
    }

    pub(crate) fn receipt(&self, receipt: &SendReceipt, human: String) {
        if self.json {
            self.line(json!({"event_id": receipt.event_id, "room": receipt.room, "cursor": receipt.cursor}));
        } else {
            println!("{human}");
        }
    }

    pub(crate) fn fetched(&self, hash: &accord_sdk::Sha256Hash, size: usize, path: &std::path::Path) {
        if self.json {
            self.line(json!({"hash": hash, "size": size, "path": path}));
        } else {
            println!("{size} bytes written to {}", path.display());
        }
    }

    pub(crate) fn exported(&self, export: &accord_sdk::VerifiedExport, path: &std::path::Path) {
        let (rooms, events, reports, decisions) =
            (export.export.rooms.len(), export.events.len(), export.reports.len(), export.decisions.len());
        if self.json {
            self.line(
                json!({"path": path, "rooms": rooms, "events": events, "reports": reports, "decisions": decisions}),
            );
        } else {
            println!(
                "{} written: {rooms} rooms, {events} events, {reports} reports, {decisions} decisions; every signature checked",
                path.display()
            );
        }
    }

    pub(crate) fn deleted(&self, answer: &accord_sdk::api::account::DeleteAccountResponse) {
        if self.json {
            self.line(json!(answer));
            return;
        }
        println!("account {} deleted; {} of its messages are shown as redacted", answer.account, answer.redacted);
        for kept in &answer.kept {
            println!("kept: {} {} ({})", kept.count, kept.what, kept.why);
        }
    }

    pub(crate) fn room_created(&self, room: RoomId) {
        if self.json {
            self.line(json!({"room": room}));
        } else {
            println!("{room}");
        }
    }

    pub(crate) fn rooms(&self, rooms: &[RoomSummary]) {
        for r in rooms {
            if self.json {
                self.line(json!({"room": r.room, "name": r.name, "role": r.role, "members": r.members}));
            } else {
                println!("{}  {}  ({}, {} members)", r.room, r.name, wire_name(&r.role), r.members);
            }
        }
        if rooms.is_empty() {
            self.note("no rooms");
        }
    }

    pub(crate) async fn state(&self, state: &RoomStateView, names: &mut Names) {
        if self.json {
            self.line(serde_json::to_value(state).unwrap_or(Value::Null));
            return;
        }
        println!("{}  \"{}\"", state.room, state.name);
        println!("  join rule: {}", wire_name(&state.join_rule));
        println!("  creator:   {}", names.name(&state.creator).await);
        let mut members = Vec::new();
        for m in &state.members {
            let name = names.name(m).await;
            members.push(match state.roles.get(m) {
                Some(role) => format!("{name} ({})", wire_name(role)),
                None => name,
            });
        }
        println!("  members ({}): {}", members.len(), list(members));
        let mut invites = Vec::new();
        for a in &state.invites {
            invites.push(names.name(a).await);
        }
        println!("  invites:   {}", list(invites));
        let mut bans = Vec::new();
        for a in &state.bans {
            bans.push(names.name(a).await);
        }
        println!("  bans:      {}", list(bans));
        println!("  events:    {} accepted, latest cursor {}", state.accepted, state.latest_cursor);
        println!("  history:   {}", state.history_hash);
    }

    /// One timeline entry (an item, or a hidden one), or the error
    /// standing in its place.
    pub(crate) async fn entry(&self, entry: &Result<TimelineEntry, SdkError>, names: &mut Names) {
        match entry {
            Ok(TimelineEntry::Item(item)) => {
                if self.json {
                    self.line(item_json(item, names.handle(&item.author()).await));
                } else {
                    println!("{}", item_line(item, names).await);
                }
                if matches!(item.content(), EventContent::Message { .. })
                    && let Some(contact) = names.first_contact(&item.author()).await
                {
                    self.first_contact(&contact);
                }
            }
            Ok(TimelineEntry::Hidden(hidden)) => {
                if self.json {
                    self.line(hidden_json(hidden));
                } else {
                    println!("{}", hidden_line(&hidden.provenance));
                }
            }
            // A kind of entry this program does not know: nothing to show.
            Ok(_) => {}
            Err(err) => {
                if self.json {
                    let (cursor, event) = match err {
                        SdkError::Verification { cursor, event, .. } => (*cursor, event.map(|e| e.to_string())),
                        _ => (None, None),
                    };
                    self.line(json!({
                        "cursor": cursor, "event_id": event,
                        "error": {"code": err.code(), "message": err.to_string()},
                    }));
                } else {
                    println!("!! {err}");
                }
            }
        }
    }
}

/// The cursor of a timeline entry, or of the item an error stands for
/// (0 for errors about no one item), for ordering.
pub(crate) fn entry_cursor(entry: &Result<TimelineEntry, SdkError>) -> u64 {
    match entry {
        Ok(entry) => entry.cursor(),
        Err(SdkError::Verification { cursor: Some(cursor), .. }) => *cursor,
        Err(_) => 0,
    }
}

/// `CASE  drugs  open  opened …  2 reports from 2 reporters  accused: …`.
async fn case_line(case: &CaseSummary, names: &mut Names) -> String {
    let mut accused = Vec::new();
    for a in &case.accused {
        accused.push(names.name(a).await);
    }
    let mut line = format!(
        "{}  {}  {}  opened {}  {} from {}  accused: {}",
        case.id,
        case.category,
        case.state.as_str(),
        datetime(case.opened),
        plural(case.reports, "report"),
        plural(case.reporters, "reporter"),
        list(accused)
    );
    if case.quarantined {
        line.push_str("  [quarantined]");
    }
    if let Some(r) = &case.resolution {
        let on = r.list.as_ref().map(|l| format!(" on {l}")).unwrap_or_default();
        line.push_str(&format!("  -> {}{on} (audit #{})", r.action, r.index));
    }
    line
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// `block on ISSUER/abuse by mod@node at …: reason (signature verified)`.
async fn outcome_line(outcome: &Outcome, names: &mut Names) -> String {
    let on = outcome.list.as_ref().map(|l| format!(" on {l}")).unwrap_or_default();
    let by = moderator_name(&outcome.moderator, names).await;
    let why = outcome.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
    let check = match outcome.verify() {
        Ok(_) => "signature verified".to_owned(),
        Err(err) => format!("DOES NOT VERIFY: {err}"),
    };
    format!("{}{on} by {by} at {}{why} ({check})", outcome.action, datetime(outcome.ts))
}

/// `2026-11-27 12:01:33 mod@node block case … on ISSUER/abuse: reason`.
async fn action_line(action: &ModAction, names: &mut Names) -> String {
    let on = action.list.as_ref().map(|l| format!(" on {l}")).unwrap_or_default();
    let until = action.expires.map(|e| format!(" until {}", datetime(e))).unwrap_or_default();
    let why = action.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
    let by = moderator_name(&action.moderator, names).await;
    format!("{} {by} {} case {}{on}{until}{why}", datetime(action.ts), action.action, action.case)
}

async fn moderator_name(moderator: &accord_sdk::Moderator, names: &mut Names) -> String {
    match moderator {
        accord_sdk::Moderator::Account(account) => names.name(account).await,
        accord_sdk::Moderator::Node(node) => format!("node {node}"),
    }
}

/// A verified event outside a timeline (a report's evidence or context).
async fn event_line(event: &Event, names: &mut Names) -> String {
    let who = names.name(&event.author()).await;
    let what = match event.content() {
        EventContent::Message { text, .. } => text.as_str().to_owned(),
        other => format!("* {}", other.kind()),
    };
    format!("{} {who}: {what}", datetime(event.body().ts))
}

fn event_json(event: &Event) -> Value {
    json!({
        "event_id": event.id(), "room": event.room(), "author": event.author(), "origin": event.origin(),
        "ts": event.body().ts.as_millis(), "content": serde_json::to_value(event.content()).unwrap_or(Value::Null),
    })
}

fn list(items: Vec<String>) -> String {
    if items.is_empty() { "-".to_owned() } else { items.join(", ") }
}

fn item_json(item: &TimelineItem, handle: Option<String>) -> Value {
    let content = if item.redacted {
        json!({"type": item.content().kind()})
    } else {
        serde_json::to_value(item.content()).unwrap_or(Value::Null)
    };
    json!({
        "cursor": item.cursor,
        "event_id": item.id(),
        "room": item.event.room(),
        "author": item.author(),
        "handle": handle,
        "origin": item.event.origin(),
        "ts": item.ts().as_millis(),
        "accepted": item.accepted,
        "redacted": item.redacted,
        "content": content,
    })
}

/// `{"cursor": 7, "hidden": PROVENANCE}`: the client API's hidden item
/// without the node's verdicts.
fn hidden_json(hidden: &HiddenItem) -> Value {
    json!({
        "cursor": hidden.cursor,
        "hidden": serde_json::to_value(&hidden.provenance).unwrap_or(Value::Null),
    })
}

/// ` [image/png 640x480, 12345 bytes: HASH]`, fetched with `accord fetch HASH`.
fn attachment_note(a: &accord_sdk::Attachment) -> String {
    match (a.width, a.height) {
        (Some(w), Some(h)) => format!(" [{} {w}x{h}, {} bytes: {}]", a.media_type, a.size, a.hash),
        _ => format!(" [{}, {} bytes: {}]", a.media_type, a.size, a.hash),
    }
}

/// `[hidden by iss1…/spam #3 (spam): reason]`.
fn hidden_line(provenance: &Provenance) -> String {
    format!("[hidden by {provenance}]")
}

/// `12:01:33 alice@node: hello`, or `12:01:34 * alice@node joined`.
async fn item_line(item: &TimelineItem, names: &mut Names) -> String {
    let when = datetime(item.ts());
    let who = names.name(&item.author()).await;
    let mut line = match item.content() {
        EventContent::Message { text, reply_to, attachments } => {
            let text = if item.redacted { "[redacted]" } else { text.as_str() };
            let mut line = match reply_to {
                Some(to) => format!("{when} {who} (re {to}): {text}"),
                None => format!("{when} {who}: {text}"),
            };
            if !item.redacted {
                for a in attachments {
                    line.push_str(&attachment_note(a));
                }
            }
            line
        }
        EventContent::Create { name, join_rule } => {
            format!("{when} * {who} created the room \"{name}\" ({})", wire_name(join_rule))
        }
        EventContent::Join {} => format!("{when} * {who} joined"),
        EventContent::Leave {} => format!("{when} * {who} left"),
        EventContent::Invite { target } => format!("{when} * {who} invited {}", names.name(target).await),
        EventContent::Kick { target, reason } => {
            format!("{when} * {who} kicked {}{}", names.name(target).await, because(reason.as_ref()))
        }
        EventContent::Ban { target, reason } => {
            format!("{when} * {who} banned {}{}", names.name(target).await, because(reason.as_ref()))
        }
        EventContent::Unban { target } => format!("{when} * {who} unbanned {}", names.name(target).await),
        EventContent::SetRole { target, role } => {
            format!("{when} * {who} made {} {}", names.name(target).await, wire_name(role))
        }
        EventContent::Redact { target, reason } => {
            format!("{when} * {who} redacted {target}{}", because(reason.as_ref()))
        }
    };
    if !item.accepted {
        line.push_str("  [refused by the room rules]");
    }
    line
}

fn because(reason: Option<&impl std::fmt::Display>) -> String {
    reason.map(|r| format!(" ({r})")).unwrap_or_default()
}

/// The name a value has on the wire (`public`, `owner`, `invited`, …).
fn wire_name<T: serde::Serialize + std::fmt::Debug>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => format!("{value:?}"),
    }
}

/// Local time: `12:01:33` today, `2026-11-27 12:01:33` on other days.
fn datetime(ts: Timestamp) -> String {
    let Some(utc) = i64::try_from(ts.as_millis()).ok().and_then(DateTime::from_timestamp_millis) else {
        return ts.to_string();
    };
    let local = utc.with_timezone(&Local);
    if local.date_naive() == Local::now().date_naive() {
        local.format("%H:%M:%S").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// The stable code and message of an error, for printing.
///
/// The message is the error's own text after any context added above it;
/// the errors of this program include their causes in their text, so the
/// source chain is not repeated.
pub(crate) fn describe(err: &anyhow::Error) -> (String, String) {
    let mut context = String::new();
    for cause in err.chain() {
        let known = if let Some(e) = cause.downcast_ref::<SdkError>() {
            Some(match e {
                SdkError::Api { code, message, retry_after_ms, provenance, .. } => {
                    let mut text = message.clone();
                    if let Some(ms) = retry_after_ms {
                        text.push_str(&format!(" (retry after {ms} ms)"));
                    }
                    if let Some(provenance) = provenance {
                        text.push_str(&format!(" (blocked by {provenance})"));
                    }
                    (code.to_string(), text)
                }
                other => (other.code().to_owned(), other.to_string()),
            })
        } else if let Some(e) = cause.downcast_ref::<KeyFileError>() {
            Some(("key_file".to_owned(), e.to_string()))
        } else if let Some(e) = cause.downcast_ref::<BuildError>() {
            Some(("bad_config".to_owned(), e.to_string()))
        } else {
            cause.downcast_ref::<UsageError>().map(|e| ("usage".to_owned(), e.to_string()))
        };
        if let Some((code, message)) = known {
            return (code, format!("{context}{message}"));
        }
        context.push_str(&cause.to_string());
        context.push_str(": ");
    }
    ("error".into(), format!("{err:#}"))
}

/// The blocklist entry behind an error, if the node named one.
fn provenance(err: &anyhow::Error) -> Option<&Provenance> {
    err.chain().find_map(|cause| cause.downcast_ref::<SdkError>()).and_then(SdkError::provenance)
}

/// The verified facts of an identity, as JSON.
fn identity_json(id: &VerifiedIdentity) -> Value {
    json!({
        "account": id.account(),
        "handle": id.handle().to_string(),
        "home": id.home(),
        "level": id.level(),
        "created": id.created().as_millis(),
        "registered": id.registered().as_millis(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_sdk::VerificationError;

    #[test]
    fn api_errors_print_the_node_code() {
        let err = anyhow::Error::new(SdkError::Api {
            status: 403,
            code: "not_member".into(),
            message: "author is not a member of this room".into(),
            retry_after_ms: None,
            provenance: None,
        });
        assert_eq!(describe(&err), ("not_member".into(), "author is not a member of this room".into()));
        let err = anyhow::Error::new(SdkError::Api {
            status: 429,
            code: "rate_limited".into(),
            message: "slow down".into(),
            retry_after_ms: Some(1500),
            provenance: None,
        });
        assert_eq!(describe(&err).1, "slow down (retry after 1500 ms)");
    }

    fn provenance_of(entry: u64, reason: Option<&str>) -> (String, Provenance) {
        let issuer = accord_sdk::proto::IssuerId::from(accord_sdk::SecretKey::from_seed([7; 32]).public());
        let list = format!("{issuer}/spam");
        let json = json!({"list": list, "entry": entry, "category": "spam", "action": "reject", "reason": reason});
        (list, serde_json::from_value(json).expect("provenance"))
    }

    #[test]
    fn blocked_errors_name_the_entry() {
        let (list, p) = provenance_of(3, Some("bulk ads"));
        let err = anyhow::Error::new(SdkError::Api {
            status: 403,
            code: "blocked".into(),
            message: "the account is blocked".into(),
            retry_after_ms: None,
            provenance: Some(Box::new(p.clone())),
        })
        .context("sending");
        assert_eq!(
            describe(&err),
            ("blocked".into(), format!("sending: the account is blocked (blocked by {list} #3 (spam): bulk ads)"))
        );
        assert_eq!(provenance(&err), Some(&p));
        assert_eq!(provenance(&anyhow::anyhow!("plain")), None);
    }

    #[test]
    fn hidden_items_print_their_provenance() {
        let (list, p) = provenance_of(3, Some("bulk ads"));
        assert_eq!(hidden_line(&p), format!("[hidden by {list} #3 (spam): bulk ads]"));
        let (_, without_reason) = provenance_of(4, None);
        assert_eq!(hidden_line(&without_reason), format!("[hidden by {list} #4 (spam)]"));
        let hidden = HiddenItem { cursor: 7, provenance: p };
        assert_eq!(
            hidden_json(&hidden),
            json!({"cursor": 7, "hidden": {"list": list, "entry": 3, "category": "spam", "action": "reject", "reason": "bulk ads"}})
        );
    }

    #[test]
    fn entries_order_by_cursor() {
        let (_, p) = provenance_of(1, None);
        let hidden: Result<TimelineEntry, SdkError> =
            Ok(TimelineEntry::Hidden(HiddenItem { cursor: 7, provenance: p }));
        assert_eq!(entry_cursor(&hidden), 7);
        let failed: Result<TimelineEntry, SdkError> = Err(SdkError::Verification {
            cursor: Some(5),
            event: None,
            reason: Box::new(VerificationError::ReceiptMismatch("x".into())),
        });
        assert_eq!(entry_cursor(&failed), 5);
        assert_eq!(entry_cursor(&Err(SdkError::Protocol("x".into()))), 0);
    }

    #[test]
    fn other_errors_have_codes_too() {
        let err = anyhow::Error::new(UsageError("no node".into()));
        assert_eq!(describe(&err).0, "usage");
        let err = anyhow::Error::new(SdkError::InvalidInput("empty".into()));
        assert_eq!(describe(&err).0, "invalid_input");
        assert_eq!(describe(&anyhow::anyhow!("plain")).0, "error");
        let err = anyhow::Error::new(SdkError::Protocol("bad".into())).context("reading history");
        assert_eq!(describe(&err), ("protocol".into(), "reading history: unexpected answer from the node: bad".into()));
    }

    #[test]
    fn wire_names_are_lowercase() {
        assert_eq!(wire_name(&accord_sdk::JoinRule::Invite), "invite");
        assert_eq!(wire_name(&accord_sdk::Role::Moderator), "moderator");
        assert_eq!(wire_name(&accord_sdk::VerificationLevel::Invited), "invited");
    }

    #[test]
    fn times_are_local_and_short_today() {
        let now = Timestamp::now();
        assert_eq!(datetime(now).len(), "12:01:33".len());
        assert_eq!(datetime(Timestamp::from_millis(0)).len(), "1970-01-01 00:00:00".len());
    }
}

//! `accord`: the Accord command-line client, built on `accord-sdk`.
//!
//! ```text
//! accord keygen --key alice.key
//! export ACCORD_NODE=http://127.0.0.1:8080 ACCORD_KEY=alice.key
//! accord register alice
//! accord room create general            # prints the room id
//! accord send room1… "hello"            # prints the event id
//! accord tail room1…                    # live, until Ctrl-C
//! accord report ev1… --category spam     # report a message to your node
//! accord whois acct1…                    # identity and trust signals
//! ```
//!
//! Before trust is given: `whois` prints an account's trust signals and
//! warns when it is younger than `--min-age-days` (default 7) or flagged;
//! `tail` and `history` print the same warning on first contact with an
//! author (the authors already seen are kept next to the key file, in
//! `KEYFILE.seen`).
//!
//! Output is for people by default; `--json` prints one JSON object per
//! line instead. Errors print their stable code and message on standard
//! error and exit with status 1 (2 for usage errors); a refusal because of
//! a blocklist entry (`blocked`) also names the entry. Timeline items the
//! node hides because of a blocklist entry print as
//! `[hidden by ISSUER/LIST #ENTRY (CATEGORY): REASON]`.
//!
//! An `https://` node is reached over TLS; `--ca-cert FILE` (or
//! `ACCORD_CA_CERT`) trusts a private CA's certificate besides the public
//! ones. Requests the node refuses with `rate_limited` are retried after
//! the delay it names, a few times, before the error is printed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod contact;
mod output;

use accord_sdk::keyfile;
use accord_sdk::proto::event::Role;
use accord_sdk::{
    AccountId, CaseFilter, Category, Client, EventId, HistoryQuery, JoinRule, KeyFileError, ListName, NodeId, RoomId,
    SdkError, SecretKey, Sha256Hash, TimelineEntry, Verdict,
};
use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use output::Printer;
use std::cmp::Reverse;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The Accord command-line client.
#[derive(Debug, Parser)]
#[command(name = "accord", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// The node's base URL, e.g. http://127.0.0.1:8080 or https://chat.example.org.
    #[arg(long, global = true, env = "ACCORD_NODE", value_name = "URL")]
    node: Option<String>,
    /// A CA certificate (PEM) to trust for an https:// node, besides the
    /// usual public CAs: for a node whose certificate a private CA signed.
    #[arg(long, global = true, env = "ACCORD_CA_CERT", value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// The account's key file.
    #[arg(long, global = true, env = "ACCORD_KEY", value_name = "FILE")]
    key: Option<PathBuf>,
    /// Print machine-readable JSON, one object per line.
    #[arg(long, global = true)]
    json: bool,
    /// Warn about accounts younger than this many days (`whois`, and first
    /// contact in `tail` and `history`).
    #[arg(long, global = true, env = "ACCORD_MIN_AGE_DAYS", value_name = "DAYS", default_value_t = 7)]
    min_age_days: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a new account key and write it to the --key file.
    Keygen {
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    #[command(flatten)]
    Node(Box<NodeCommand>),
}

/// The commands that talk to a node.
#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// Register the account on the node under a handle.
    Register {
        /// The handle: `name`, or `name@node` with the node's name.
        handle: String,
        /// The invite code, for nodes that register by invitation.
        #[arg(long, value_name = "CODE")]
        invite: Option<String>,
    },
    /// Rooms: create, join, leave, invite, list, state.
    #[command(subcommand)]
    Room(RoomCommand),
    /// Send a message to a room, with files if given; prints the event id.
    Send {
        /// The room id.
        room: RoomId,
        /// The message (may be left out when files are attached).
        #[arg(default_value = "")]
        text: String,
        /// A file to attach (uploaded first; images lose their metadata);
        /// repeat for several.
        #[arg(long = "file")]
        files: Vec<PathBuf>,
    },
    /// Fetch a file by its hash (as a message's attachment names it) and
    /// write it to a file, checking that its bytes hash to it.
    Fetch {
        /// The file's SHA-256 (64 hex digits).
        hash: accord_sdk::Sha256Hash,
        /// Where to write it.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// The image's thumbnail instead (not checked against the hash).
        #[arg(long)]
        thumbnail: bool,
    },
    /// Print a room's latest messages, oldest first (hidden ones as the
    /// blocklist entry that hides them).
    History {
        /// The room id.
        room: RoomId,
        /// How many events.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// Print a room's messages as they arrive, until Ctrl-C.
    Tail {
        /// The room id.
        room: RoomId,
    },
    /// Show an account's verified identity and trust signals (age, home
    /// node, attestation level, flags, open reports).
    Whois {
        /// The account id (`acct1…`).
        account: AccountId,
    },
    /// Report messages (by event id) or an account to your node.
    Report(ReportArgs),
    /// List your reports: where they were forwarded, how they ended.
    Reports,
    /// Appeal a decision against your account: the node that decided, the
    /// case, and the decision (its action's SHA-256, from that node's
    /// audit log). Your node forwards it there.
    Appeal {
        /// The node that decided.
        #[arg(long, value_name = "NODE")]
        node: NodeId,
        /// The case id (64 hex digits).
        #[arg(long, value_name = "CASE")]
        case: Sha256Hash,
        /// The decision (64 hex digits).
        #[arg(long, value_name = "HASH")]
        decision: Sha256Hash,
        /// Why the decision is wrong.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// List your appeals and where they stand.
    Appeals,
    /// Moderators of the node: the report queue, cases, actions, audit log.
    #[command(subcommand)]
    Mod(ModCommand),
    /// Export everything your node holds about your account (identity,
    /// rooms, your messages, reports you filed, decisions about you) to a
    /// JSON file, after checking every signature in it.
    Export {
        /// The file to write.
        #[arg(short, long, default_value = "accord-export.json")]
        out: PathBuf,
    },
    /// Delete your account: no node serves your identity, registers your
    /// key or logs it in again, and your messages are shown as redacted
    /// everywhere. Run `accord export` first: this cannot be undone.
    DeleteAccount {
        /// Confirms the deletion.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// The offending events (`ev1…`), from rooms you are a member of.
    #[arg(required_unless_present = "account")]
    events: Vec<EventId>,
    /// Report this account (as well as, or instead of, events).
    #[arg(long, value_name = "ACCOUNT")]
    account: Option<AccountId>,
    /// The harm: child_sexual_abuse, grooming, sex_trafficking, violence,
    /// drugs, harassment, impersonation, spam or other.
    #[arg(long, value_name = "CATEGORY")]
    category: Category,
    /// What you want the moderators to know.
    #[arg(long, value_name = "TEXT")]
    comment: Option<String>,
    /// How many messages before the first event to include as context.
    #[arg(long, value_name = "N", default_value_t = accord_sdk::DEFAULT_REPORT_CONTEXT as u8,
          value_parser = clap::value_parser!(u8).range(0..=16))]
    context: u8,
    /// The room of the events, if known (otherwise your rooms are searched).
    #[arg(long, value_name = "ROOM")]
    room: Option<RoomId>,
}

#[derive(Debug, Subcommand)]
enum ModCommand {
    /// The open cases, most severe first.
    Queue {
        /// Resolved cases too.
        #[arg(long)]
        all: bool,
    },
    /// One case: its reports and the verified evidence.
    Show {
        /// The case id (64 hex digits).
        case: Sha256Hash,
    },
    /// Resolve a case with a signed action.
    Resolve {
        /// The case id (64 hex digits).
        case: Sha256Hash,
        /// dismiss, hide (the messages' content), suspend or block (the
        /// accused accounts).
        #[arg(long, value_name = "ACTION", value_parser = parse_verdict)]
        action: Verdict,
        /// The node's list to write entries to (not for dismiss).
        #[arg(long, value_name = "NAME")]
        list: Option<ListName>,
        /// Why, for the audit log and the list entries.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// For suspend: how many days.
        #[arg(long, value_name = "N", default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=36_500))]
        days: u64,
    },
    /// Fetch and verify the node's audit log; print each action.
    Audit,
    /// Add an internal note to a case (seen only by moderators).
    Note {
        /// The case id (64 hex digits).
        case: Sha256Hash,
        /// The note.
        #[arg(long, value_name = "TEXT")]
        text: String,
    },
    /// Take a case (assign it to yourself), or, as an admin, assign it to another moderator.
    Assign {
        /// The case id (64 hex digits).
        case: Sha256Hash,
        /// The moderator (default: you).
        #[arg(long, value_name = "ACCOUNT")]
        to: Option<AccountId>,
    },
    /// Mute a reporter of a case: its further reports stay out of the queue.
    Mute {
        /// The case id (64 hex digits).
        case: Sha256Hash,
        /// The reporter.
        #[arg(long, value_name = "ACCOUNT")]
        reporter: AccountId,
        /// Why, for the audit log.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Appeals of the node's decisions.
    Appeals {
        /// Resolved appeals too.
        #[arg(long)]
        all: bool,
    },
    /// Uphold or overturn an appealed decision (not one you took).
    ResolveAppeal {
        /// The case id (64 hex digits).
        case: Sha256Hash,
        /// The appeal id (64 hex digits).
        appeal: Sha256Hash,
        /// uphold or overturn.
        #[arg(long, value_name = "ACTION", value_parser = parse_verdict)]
        action: Verdict,
        /// Why, for the audit log.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum RoomCommand {
    /// Create a room; prints its id.
    Create {
        /// The room's name.
        name: String,
        /// Only invited accounts may join.
        #[arg(long)]
        invite_only: bool,
    },
    /// Join a room.
    Join {
        /// The room id.
        room: RoomId,
        /// A node that holds the room, if your node does not yet: its node
        /// id or p2p address (`/ip4/…/tcp/…/p2p/NODE_ID`). Repeatable.
        /// Without it, your node finds a public room's hosts in the DHT.
        #[arg(long)]
        via: Vec<String>,
    },
    /// Leave a room.
    Leave {
        /// The room id.
        room: RoomId,
    },
    /// Invite an account to a room.
    Invite {
        /// The room id.
        room: RoomId,
        /// The account id to invite.
        account: AccountId,
    },
    /// List the rooms the account is a member of.
    List,
    /// Show a room's state.
    State {
        /// The room id.
        room: RoomId,
    },
    /// Remove a member from a room (they may join again).
    Kick {
        /// The room id.
        room: RoomId,
        /// The account id.
        account: AccountId,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Remove an account from a room and keep it out.
    Ban {
        /// The room id.
        room: RoomId,
        /// The account id.
        account: AccountId,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Lift a ban.
    Unban {
        /// The room id.
        room: RoomId,
        /// The account id.
        account: AccountId,
    },
    /// Hide the content of a message.
    Redact {
        /// The room id.
        room: RoomId,
        /// The event id.
        event: EventId,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Give a member a role: member, moderator or owner.
    Role {
        /// The room id.
        room: RoomId,
        /// The account id.
        account: AccountId,
        /// member, moderator or owner.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
}

/// A room role by its wire name.
fn parse_role(text: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("unknown role `{text}` (member, moderator, owner)"))
}

/// A moderator's verdict; `quarantine` is the node's own measure.
fn parse_verdict(text: &str) -> Result<Verdict, String> {
    match text.parse::<Verdict>()? {
        Verdict::Quarantine => Err("quarantine is taken by the node itself (dismiss, hide, suspend, block)".into()),
        verdict => Ok(verdict),
    }
}

/// A usage mistake found after parsing (a missing option); exit status 2.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer::new(cli.global.json);
    match run(cli, &printer).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let usage = err.downcast_ref::<UsageError>().is_some();
            printer.error(&err);
            if usage { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

async fn run(cli: Cli, out: &Printer) -> anyhow::Result<()> {
    let Global { node, key, ca_cert, min_age_days, .. } = cli.global;
    let min_age = Duration::from_secs(min_age_days.saturating_mul(86_400));
    let key_path = key.ok_or_else(|| UsageError("no key file: pass --key FILE or set ACCORD_KEY".into()))?;
    let command = match cli.command {
        Command::Keygen { force } => return keygen(&key_path, force, out),
        Command::Node(command) => *command,
    };
    let node = node.ok_or_else(|| UsageError("no node: pass --node URL or set ACCORD_NODE".into()))?;
    let key = keyfile::read(&key_path)?;
    let mut builder = Client::builder().node_url(node).key(key);
    if let Some(path) = ca_cert {
        let pem = std::fs::read(&path).with_context(|| format!("reading the CA certificate {}", path.display()))?;
        builder = builder.add_root_certificate_pem(pem);
    }
    let client = builder.build()?;
    let contacts = contact::FirstContact::load(contact::seen_file(&key_path), client.account(), min_age);
    let mut names = output::Names::new(client.clone()).with_first_contact(contacts);

    match command {
        NodeCommand::Register { handle, invite } => {
            let identity = client.register(&handle, invite.as_deref()).await?;
            out.identity("registered", &identity);
        }
        NodeCommand::Room(cmd) => room_command(&client, cmd, out, &mut names).await?,
        NodeCommand::Send { room, text, files } => {
            let mut attachments = Vec::with_capacity(files.len());
            for path in &files {
                let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let uploaded =
                    client.upload_media(bytes).await.with_context(|| format!("uploading {}", path.display()))?;
                attachments.push(uploaded.attachment());
            }
            if attachments.is_empty() && text.is_empty() {
                bail!("nothing to send: give a text, a --file or both");
            }
            let receipt = client.room(room).send_with_attachments(&text, attachments).await?;
            out.receipt(&receipt, receipt.event_id.to_string());
        }
        NodeCommand::Fetch { hash, output, thumbnail } => {
            let bytes =
                if thumbnail { client.fetch_thumbnail(&hash).await? } else { client.fetch_media(&hash).await? };
            std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
            out.fetched(&hash, bytes.len(), &output);
        }
        NodeCommand::History { room, limit } => history(&client, room, limit, out, &mut names).await?,
        NodeCommand::Tail { room } => tail(&client, room, out, &mut names).await?,
        NodeCommand::Whois { account } => {
            let identity = client.refresh_identity(&account).await?;
            out.whois(&identity, min_age);
        }
        NodeCommand::Report(args) => report(&client, args, out, &mut names).await?,
        NodeCommand::Reports => out.reports(&client.my_reports().await?, &mut names).await,
        NodeCommand::Appeal { node, case, decision, reason } => {
            out.appeals(&[client.appeal(node, case, decision, &reason).await?]);
        }
        NodeCommand::Appeals => out.appeals(&client.my_appeals().await?),
        NodeCommand::Mod(cmd) => mod_command(&client, cmd, out, &mut names).await?,
        NodeCommand::Export { out: path } => {
            let export = client.export_account().await?;
            std::fs::write(&path, serde_json::to_vec_pretty(&export.export)?)
                .with_context(|| format!("writing {}", path.display()))?;
            out.exported(&export, &path);
        }
        NodeCommand::DeleteAccount { yes } => {
            anyhow::ensure!(yes, "this deletes your account for good: run `accord export` first, then add --yes");
            out.deleted(&client.delete_account().await?);
        }
    }
    Ok(())
}

async fn report(client: &Client, args: ReportArgs, out: &Printer, names: &mut output::Names) -> anyhow::Result<()> {
    let ReportArgs { events, account, category, comment, context, room } = args;
    let mut builder = match account {
        Some(account) => client.report_account(account, category),
        None => client.report(category),
    };
    for event in events {
        builder = match room {
            Some(room) => builder.event_in(room, event),
            None => builder.event(event),
        };
    }
    builder = builder.context(usize::from(context));
    if let Some(comment) = comment {
        builder = builder.comment(comment);
    }
    let status = builder.await?;
    out.report_status(&status, names).await;
    Ok(())
}

async fn mod_command(client: &Client, cmd: ModCommand, out: &Printer, names: &mut output::Names) -> anyhow::Result<()> {
    match cmd {
        ModCommand::Queue { all } => {
            let filter = if all { CaseFilter::All } else { CaseFilter::Open };
            out.cases(&client.mod_cases(filter).await?, names).await;
        }
        ModCommand::Show { case } => out.case_detail(&client.mod_case(case).await?, names).await,
        ModCommand::Resolve { case, action, list, reason, days } => {
            if action.needs_list() && list.is_none() {
                return Err(UsageError(format!(
                    "`{action}` writes entries to one of the node's lists: pass --list NAME"
                ))
                .into());
            }
            let list = if action.needs_list() { list } else { None };
            let suspend_for = (action == Verdict::Suspend).then(|| Duration::from_secs(days.saturating_mul(86_400)));
            let receipt = client.mod_resolve(case, action, list, reason.as_deref(), suspend_for).await?;
            out.action_receipt(&receipt);
        }
        ModCommand::Audit => out.audit(&client.audit().await?, names).await,
        ModCommand::Note { case, text } => {
            let notes = client.mod_note(case, &text).await?;
            out.note(&format!("{} notes on case {case}", notes.len()));
        }
        ModCommand::Assign { case, to } => {
            out.action_receipt(&client.mod_assign(case, Some(to.unwrap_or(client.account()))).await?);
        }
        ModCommand::Mute { case, reporter, reason } => {
            out.action_receipt(&client.mod_mute(case, reporter, reason.as_deref()).await?);
        }
        ModCommand::Appeals { all } => {
            let filter = if all { accord_sdk::AppealFilter::All } else { accord_sdk::AppealFilter::Open };
            out.appeals(&client.mod_appeals(filter).await?);
        }
        ModCommand::ResolveAppeal { case, appeal, action, reason } => {
            out.action_receipt(&client.mod_resolve_appeal(case, appeal, action, reason.as_deref()).await?);
        }
    }
    Ok(())
}

fn keygen(path: &std::path::Path, force: bool, out: &Printer) -> anyhow::Result<()> {
    let key = SecretKey::generate().map_err(|e| KeyFileError::Randomness(e.to_string()))?;
    if force {
        keyfile::overwrite(path, &key)?;
    } else {
        keyfile::write(path, &key)?;
    }
    out.keygen(&key.account_id(), path);
    Ok(())
}

async fn room_command(
    client: &Client,
    cmd: RoomCommand,
    out: &Printer,
    names: &mut output::Names,
) -> anyhow::Result<()> {
    match cmd {
        RoomCommand::Create { name, invite_only } => {
            let rule = if invite_only { JoinRule::Invite } else { JoinRule::Public };
            let room = client.create_room(&name, rule).await?;
            out.room_created(room.id());
        }
        RoomCommand::Join { room, via } => {
            let receipt = client.room(room).join_via(&via).await?;
            out.receipt(&receipt, format!("joined {room}"));
        }
        RoomCommand::Leave { room } => {
            let receipt = client.room(room).leave().await?;
            out.receipt(&receipt, format!("left {room}"));
        }
        RoomCommand::Invite { room, account } => {
            let receipt = client.room(room).invite(account).await?;
            let who = names.name(&account).await;
            out.receipt(&receipt, format!("invited {who} to {room}"));
        }
        RoomCommand::List => out.rooms(&client.rooms().await?),
        RoomCommand::State { room } => {
            let state = client.room(room).state().await?;
            out.state(&state, names).await;
        }
        RoomCommand::Kick { room, account, reason } => {
            let receipt = client.room(room).kick(account, reason.as_deref()).await?;
            out.receipt(&receipt, format!("kicked {} from {room}", names.name(&account).await));
        }
        RoomCommand::Ban { room, account, reason } => {
            let receipt = client.room(room).ban(account, reason.as_deref()).await?;
            out.receipt(&receipt, format!("banned {} from {room}", names.name(&account).await));
        }
        RoomCommand::Unban { room, account } => {
            let receipt = client.room(room).unban(account).await?;
            out.receipt(&receipt, format!("unbanned {} in {room}", names.name(&account).await));
        }
        RoomCommand::Redact { room, event, reason } => {
            let receipt = client.room(room).redact(event, reason.as_deref()).await?;
            out.receipt(&receipt, format!("redacted {event}"));
        }
        RoomCommand::Role { room, account, role } => {
            let receipt = client.room(room).set_role(account, role).await?;
            let role = serde_json::to_value(role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            out.receipt(&receipt, format!("made {} {role} in {room}", names.name(&account).await));
        }
    }
    Ok(())
}

/// The latest `limit` events of a room, oldest first. Hidden items count
/// toward the limit: they take up cursors like the others.
async fn history(
    client: &Client,
    room: RoomId,
    limit: u32,
    out: &Printer,
    names: &mut output::Names,
) -> anyhow::Result<()> {
    let room = client.room(room);
    let latest = room.state().await?.latest_cursor;
    let mut entries = Vec::new();
    let mut query = Some(HistoryQuery::before(latest.saturating_add(1)).limit(limit.min(500)));
    while let Some(q) = query {
        let page = room.history(q).await?;
        let remaining = usize::try_from(limit).unwrap_or(usize::MAX).saturating_sub(entries.len());
        let mut got: Vec<Result<TimelineEntry, SdkError>> =
            page.items.into_iter().map(|i| i.map(TimelineEntry::Item)).collect();
        got.extend(page.hidden.into_iter().map(|h| Ok(TimelineEntry::Hidden(h))));
        // The page goes backward: newest first.
        got.sort_by_key(|entry| Reverse(output::entry_cursor(entry)));
        let count = got.len();
        entries.extend(got.into_iter().take(remaining));
        query = if count < remaining { page.next } else { None };
        if let Some(next) = query.as_mut() {
            let left = u32::try_from(remaining - count).unwrap_or(500);
            *next = next.limit(left.clamp(1, 500));
        }
    }
    entries.sort_by_key(output::entry_cursor);
    for entry in &entries {
        out.entry(entry, names).await;
    }
    Ok(())
}

/// Prints a room's new events as they arrive, until Ctrl-C or a fatal error.
async fn tail(client: &Client, room: RoomId, out: &Printer, names: &mut output::Names) -> anyhow::Result<()> {
    let room = client.room(room);
    let latest = room.state().await?.latest_cursor;
    let mut live = room.subscribe(latest);
    out.note(&format!("following {} from cursor {latest} (Ctrl-C to stop)", room.id()));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            // Entries, not the plain stream: hidden items are shown too.
            next = live.next_entry() => match next {
                // The stream ends after any error but these two, which
                // stand for one event or a range of cursors.
                Some(Err(err)) if !matches!(err, SdkError::Verification { .. } | SdkError::MissingCursors { .. }) => {
                    return Err(err.into());
                }
                Some(entry) => out.entry(&entry, names).await,
                None => bail!("the live stream ended"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("accord").chain(args.iter().copied()))
    }

    fn event_id() -> String {
        EventId::from_bytes([4; 32]).to_string()
    }

    #[test]
    fn a_report_names_events_or_an_account_and_a_category() {
        let ev = event_id();
        let cli = parse(&["report", &ev, &ev, "--category", "drugs", "--context", "3", "--comment", "pills"])
            .expect("events");
        let Command::Node(node) = cli.command else { panic!("not a node command") };
        let NodeCommand::Report(args) = *node else { panic!("not a report") };
        assert_eq!(args.events.len(), 2);
        assert_eq!(args.category, Category::Drugs);
        assert_eq!(args.context, 3);
        assert_eq!(args.comment.as_deref(), Some("pills"));

        let account = SecretKey::from_seed([2; 32]).account_id().to_string();
        let cli = parse(&["report", "--account", &account, "--category", "impersonation"]).expect("account");
        let Command::Node(node) = cli.command else { panic!("not a node command") };
        let NodeCommand::Report(args) = *node else { panic!("not a report") };
        assert!(args.events.is_empty());
        assert_eq!(args.context, 5, "the default context");

        assert!(parse(&["report", "--category", "spam"]).is_err(), "neither events nor an account");
        assert!(parse(&["report", &ev]).is_err(), "no category");
        assert!(parse(&["report", &ev, "--category", "gossip"]).is_err(), "unknown category");
        assert!(parse(&["report", &ev, "--category", "spam", "--context", "17"]).is_err(), "too much context");
    }

    #[test]
    fn moderators_resolve_with_one_of_four_actions() {
        let case = "ab".repeat(32);
        let cli = parse(&["mod", "resolve", &case, "--action", "suspend", "--list", "abuse", "--days", "3"])
            .expect("suspend");
        let Command::Node(node) = cli.command else { panic!("not a node command") };
        let NodeCommand::Mod(ModCommand::Resolve { action, list, days, .. }) = *node else { panic!("not resolve") };
        assert_eq!(action, Verdict::Suspend);
        assert_eq!(list.expect("list").as_str(), "abuse");
        assert_eq!(days, 3);
        assert!(parse(&["mod", "resolve", &case, "--action", "dismiss"]).is_ok());
        assert!(parse(&["mod", "resolve", &case, "--action", "quarantine", "--list", "x"]).is_err());
        assert!(parse(&["mod", "resolve", "not-a-case", "--action", "dismiss"]).is_err());
        assert!(parse(&["mod", "queue", "--all", "--json"]).is_ok());
        assert!(parse(&["mod", "audit"]).is_ok());
    }

    #[test]
    fn room_moderation_commands_parse() {
        let room = RoomId::from_bytes([1; 32]).to_string();
        let account = SecretKey::from_seed([2; 32]).account_id().to_string();
        let ev = event_id();
        assert!(parse(&["room", "kick", &room, &account, "--reason", "flooding"]).is_ok());
        assert!(parse(&["room", "ban", &room, &account]).is_ok());
        assert!(parse(&["room", "unban", &room, &account]).is_ok());
        assert!(parse(&["room", "redact", &room, &ev, "--reason", "spam"]).is_ok());
        let cli = parse(&["room", "role", &room, &account, "moderator"]).expect("role");
        let Command::Node(node) = cli.command else { panic!("not a node command") };
        assert!(matches!(*node, NodeCommand::Room(RoomCommand::Role { role: Role::Moderator, .. })));
        assert!(parse(&["room", "role", &room, &account, "king"]).is_err());
    }

    #[test]
    fn the_minimum_age_defaults_to_a_week() {
        let account = SecretKey::from_seed([2; 32]).account_id().to_string();
        assert_eq!(parse(&["whois", &account]).expect("whois").global.min_age_days, 7);
        assert_eq!(parse(&["whois", &account, "--min-age-days", "30"]).expect("whois").global.min_age_days, 30);
    }
}

//! `accord`: the Accord command-line client, built on `accord-sdk`.
//!
//! ```text
//! accord keygen --key alice.key
//! export ACCORD_NODE=http://127.0.0.1:8080 ACCORD_KEY=alice.key
//! accord register alice
//! accord room create general            # prints the room id
//! accord send room1… "hello"            # prints the event id
//! accord tail room1…                    # live, until Ctrl-C
//! ```
//!
//! Output is for people by default; `--json` prints one JSON object per
//! line instead. Errors print their stable code and message on standard
//! error and exit with status 1 (2 for usage errors); a refusal because of
//! a blocklist entry (`blocked`) also names the entry. Timeline items the
//! node hides because of a blocklist entry print as
//! `[hidden by ISSUER/LIST #ENTRY (CATEGORY): REASON]`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod output;

use accord_sdk::keyfile;
use accord_sdk::{AccountId, Client, HistoryQuery, JoinRule, KeyFileError, RoomId, SdkError, SecretKey, TimelineEntry};
use anyhow::bail;
use clap::{Args, Parser, Subcommand};
use output::Printer;
use std::cmp::Reverse;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// The node's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, global = true, env = "ACCORD_NODE", value_name = "URL")]
    node: Option<String>,
    /// The account's key file.
    #[arg(long, global = true, env = "ACCORD_KEY", value_name = "FILE")]
    key: Option<PathBuf>,
    /// Print machine-readable JSON, one object per line.
    #[arg(long, global = true)]
    json: bool,
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
    /// Send a text message to a room; prints the event id.
    Send {
        /// The room id.
        room: RoomId,
        /// The message.
        text: String,
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
    /// Show an account's verified identity.
    Whois {
        /// The account id (`acct1…`).
        account: AccountId,
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
    let Global { node, key, .. } = cli.global;
    let key_path = key.ok_or_else(|| UsageError("no key file: pass --key FILE or set ACCORD_KEY".into()))?;
    let command = match cli.command {
        Command::Keygen { force } => return keygen(&key_path, force, out),
        Command::Node(command) => *command,
    };
    let node = node.ok_or_else(|| UsageError("no node: pass --node URL or set ACCORD_NODE".into()))?;
    let key = keyfile::read(&key_path)?;
    let client = Client::builder().node_url(node).key(key).build()?;
    let mut names = output::Names::new(client.clone());

    match command {
        NodeCommand::Register { handle, invite } => {
            let identity = client.register(&handle, invite.as_deref()).await?;
            out.identity("registered", &identity);
        }
        NodeCommand::Room(cmd) => room_command(&client, cmd, out, &mut names).await?,
        NodeCommand::Send { room, text } => {
            let receipt = client.room(room).send_text(&text).await?;
            out.receipt(&receipt, receipt.event_id.to_string());
        }
        NodeCommand::History { room, limit } => history(&client, room, limit, out, &mut names).await?,
        NodeCommand::Tail { room } => tail(&client, room, out, &mut names).await?,
        NodeCommand::Whois { account } => {
            let identity = client.identity(&account).await?;
            out.identity("identity", &identity);
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

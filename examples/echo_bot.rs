//! # Echo bot
//!
//! A complete Accord application on `accord-sdk`, in one file. It shows:
//!
//! - keeping an account key in a file, made on the first run
//!   (`keyfile::read_or_generate`), and registering the account once;
//! - joining a room and following its live timeline with
//!   `Room::subscribe`, which verifies every event locally and reconnects
//!   without losing or repeating any;
//! - answering: every text message that is not the bot's own gets the
//!   reply `echo: TEXT`, signed by the bot's key.
//!
//! ## Running it
//!
//! You need a running node and a room on it. With a node listening for
//! clients at `http://127.0.0.1:8080` (use the address your node prints):
//!
//! ```text
//! # Once: a person's account and a public room (prints ROOM, the room id).
//! cargo run -p accord-cli -- keygen --key alice.key
//! cargo run -p accord-cli -- --node http://127.0.0.1:8080 --key alice.key register alice
//! cargo run -p accord-cli -- --node http://127.0.0.1:8080 --key alice.key room create lobby
//!
//! # The bot (makes echo.key and registers as "echo" on the first run):
//! cargo run --example echo_bot -- --node http://127.0.0.1:8080 --key echo.key ROOM
//!
//! # In another terminal: talk to it, and watch the answers.
//! cargo run -p accord-cli -- --node http://127.0.0.1:8080 --key alice.key send ROOM "hello"
//! cargo run -p accord-cli -- --node http://127.0.0.1:8080 --key alice.key history ROOM
//! ```
//!
//! Options: `--handle NAME` (default `echo`) and `--invite CODE` for nodes
//! that register by invitation. `ACCORD_NODE` and `ACCORD_KEY` may stand in
//! for `--node` and `--key`. For an invite-only room, invite the bot's
//! account (printed at start) before starting it. Stop it with Ctrl-C.

use accord_sdk::proto::limits::MAX_MESSAGE_TEXT;
use accord_sdk::{Client, RoomId, SdkError, TimelineItem, keyfile};
use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use std::path::PathBuf;
use std::time::Duration;

/// What the bot says before the echoed text.
const PREFIX: &str = "echo: ";

struct Options {
    node: String,
    key: PathBuf,
    handle: String,
    invite: Option<String>,
    room: RoomId,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = options()?;

    // The key never leaves this process: it signs the login, the identity
    // document and every message locally.
    let (key, created) = keyfile::read_or_generate(&opts.key)?;
    if created {
        println!("made a new key in {}", opts.key.display());
    }
    let client = Client::builder().node_url(&opts.node).key(key).build()?;
    let me = client.account();
    println!("bot account: {me}");

    // Register once; on later runs the node already knows the account.
    match client.identity(&me).await {
        Ok(identity) => println!("registered as {}", identity.handle()),
        Err(SdkError::Api { code, .. }) if code == "unknown_account" => {
            let identity = client.register(&opts.handle, opts.invite.as_deref()).await?;
            println!("registered as {} ({:?})", identity.handle(), identity.level());
        }
        Err(err) => return Err(err).context("looking up the bot's identity"),
    }

    let room = client.room(opts.room);
    match room.join().await {
        Ok(_) => println!("joined {}", room.id()),
        Err(SdkError::Api { code, .. }) if code == "already_member" => println!("already in {}", room.id()),
        Err(err) => return Err(err).context("joining the room"),
    }

    // Answer only what is said from now on.
    let latest = room.state().await?.latest_cursor;
    let mut live = room.subscribe(latest);
    println!("echoing new messages in {} (Ctrl-C to stop)", room.id());
    loop {
        let item = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            item = live.next() => item,
        };
        match item {
            Some(Ok(item)) => {
                if let Some(answer) = answer(&item, &client) {
                    reply(&room, &item, &answer).await;
                }
            }
            // One event that did not verify, or cursors the node could not
            // serve: reported, and the stream goes on.
            Some(Err(err @ (SdkError::Verification { .. } | SdkError::MissingCursors { .. }))) => {
                eprintln!("skipped: {err}");
            }
            Some(Err(err)) => return Err(err).context("the live stream stopped"),
            None => bail!("the live stream ended"),
        }
    }
    println!("stopped after cursor {}", live.last_cursor());
    Ok(())
}

/// The answer to `item`, if it calls for one: a text message by someone
/// else that is not itself an echo (so that two bots do not echo each
/// other forever).
fn answer(item: &TimelineItem, client: &Client) -> Option<String> {
    let text = item.text()?;
    if item.author() == client.account() || text.starts_with(PREFIX) {
        return None;
    }
    let mut answer = format!("{PREFIX}{text}");
    if answer.len() > MAX_MESSAGE_TEXT {
        let mut end = MAX_MESSAGE_TEXT;
        while !answer.is_char_boundary(end) {
            end -= 1;
        }
        answer.truncate(end);
    }
    Some(answer)
}

/// Sends the answer as a reply; waits and tries once more if rate limited.
async fn reply(room: &accord_sdk::Room, to: &TimelineItem, text: &str) {
    for _attempt in 0..2 {
        match room.send_reply(text, to.id()).await {
            Ok(receipt) => {
                println!("answered {} with {}", to.id(), receipt.event_id);
                return;
            }
            Err(SdkError::Api { code, retry_after_ms, .. }) if code == "rate_limited" => {
                tokio::time::sleep(Duration::from_millis(retry_after_ms.unwrap_or(1000))).await;
            }
            Err(err) => {
                eprintln!("could not answer {}: {err}", to.id());
                return;
            }
        }
    }
    eprintln!("could not answer {}: still rate limited", to.id());
}

/// Reads the command line (and `ACCORD_NODE` / `ACCORD_KEY`).
fn options() -> anyhow::Result<Options> {
    const USAGE: &str =
        "usage: echo_bot --node URL --key FILE [--handle NAME] [--invite CODE] ROOM (see the file's header)";
    let mut node = std::env::var("ACCORD_NODE").ok();
    let mut key = std::env::var_os("ACCORD_KEY").map(PathBuf::from);
    let mut handle = "echo".to_owned();
    let mut invite = None;
    let mut room = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--node" => node = Some(value()?),
            "--key" => key = Some(PathBuf::from(value()?)),
            "--handle" => handle = value()?,
            "--invite" => invite = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other if other.starts_with('-') => bail!("unknown option {other}\n{USAGE}"),
            other => room = Some(other.parse::<RoomId>().with_context(|| format!("room id `{other}`"))?),
        }
    }
    Ok(Options {
        node: node.with_context(|| format!("no node URL\n{USAGE}"))?,
        key: key.with_context(|| format!("no key file\n{USAGE}"))?,
        handle,
        invite,
        room: room.with_context(|| format!("no room id\n{USAGE}"))?,
    })
}

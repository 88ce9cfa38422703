//! `accord-node list …`, `subscribe`, `unsubscribe`: the operator's
//! commands, sent to the running node's admin listener (found in its data
//! directory: `admin.addr`, else `[admin] listen`) with the token from it.

use accord_node::DataDir;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Where the node is and how to reach it.
#[derive(Args, Clone)]
pub(crate) struct Target {
    /// The data directory of the running node.
    #[arg(long, default_value = "accord-data", global = true)]
    pub(crate) data_dir: PathBuf,
    /// Machine-readable output.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// What `list add` adds: the list, one target, and the entry's terms.
#[derive(Args)]
pub(crate) struct AddEntry {
    /// The list's name.
    name: String,
    /// Block an account.
    #[arg(long, group = "target")]
    account: Option<String>,
    /// Block a node.
    #[arg(long, group = "target")]
    node: Option<String>,
    /// Block a room.
    #[arg(long, group = "target")]
    room: Option<String>,
    /// Block content by its SHA-256 (hex).
    #[arg(long, group = "target")]
    content: Option<String>,
    /// Block images by PDQ hash (64 hex digits).
    #[arg(long, group = "target")]
    pdq: Option<String>,
    /// Block the nodes whose verified name is this DNS name
    /// (`example.org`), or falls under it (`*.example.org`).
    #[arg(long, group = "target")]
    domain: Option<String>,
    /// Block images like this one: its PDQ hash is computed here, and
    /// the image itself goes nowhere.
    #[arg(long, group = "target")]
    image: Option<std::path::PathBuf>,
    /// Publish only the target's hash.
    #[arg(long)]
    hashed: bool,
    /// The category (e.g. spam, harassment, child_sexual_abuse).
    #[arg(long)]
    category: String,
    /// reject or quarantine.
    #[arg(long, default_value = "reject")]
    action: String,
    /// Why.
    #[arg(long)]
    reason: Option<String>,
    /// SHA-256 of the evidence (e.g. a report).
    #[arg(long)]
    evidence: Option<String>,
    /// How long the entry applies: e.g. 30d, 12h, 90m, 45s.
    #[arg(long)]
    expires: Option<String>,
}

/// How a subscription follows its list (spec/blocklists.md §11.7–§11.9).
#[derive(Args, Clone, Default)]
pub(crate) struct Follow {
    /// apply (default: entries apply as they arrive), suggest (each waits
    /// for approval) or notify (recorded, never applied).
    #[arg(long)]
    pub(crate) mode: Option<String>,
    /// What the issuer's removal of an entry does here: undo (default) or keep.
    #[arg(long)]
    pub(crate) on_removal: Option<String>,
    /// Higher wins where lists disagree about a target (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) priority: Option<i64>,
}

/// Which pending suggestions a decision takes.
#[derive(Args, Clone)]
pub(crate) struct Decide {
    /// The list (NAME of this node's list, or ISSUER/NAME).
    list: String,
    /// The entries' indexes.
    entries: Vec<u64>,
    /// Every pending suggestion of the list.
    #[arg(long)]
    all: bool,
    /// Every pending suggestion of this category.
    #[arg(long)]
    category: Option<String>,
    /// Why.
    #[arg(long)]
    reason: Option<String>,
    /// Who decides (default operator).
    #[arg(long)]
    by: Option<String>,
}

/// List commands.
#[derive(Subcommand)]
pub(crate) enum ListCommand {
    /// Creates a list issued by this node.
    Create {
        /// The list's name.
        name: String,
        /// What the list is for, shown to peers that discover this node's
        /// lists (at most 1024 bytes).
        #[arg(long)]
        description: Option<String>,
    },
    /// Shows the lists a peer issues (PEER: its node id, or a p2p address
    /// ending in /p2p/NODE_ID): name, size, description, witnesses, last
    /// checkpoint. Subscribe with the list id it prints, or NODE_ID/NAME.
    Discover {
        /// The peer.
        peer: String,
    },
    /// Adds an entry (one new signed checkpoint).
    Add(Box<AddEntry>),
    /// Retracts an entry.
    Remove {
        /// The list's name.
        name: String,
        /// The entry's index.
        entry: u64,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Shows a list's entries (NAME of this node's list, or ISSUER/NAME).
    Show {
        /// The list.
        list: String,
    },
    /// Shows every list held: size, subscription, distrust.
    Status,
    /// Shows the evidence kept against peers that relayed what the lists
    /// they declare block.
    Evidence,
    /// Shows events held for review by quarantine entries.
    Quarantine,
    /// Trusts an issuer again after it was caught equivocating.
    Trust {
        /// The issuer (iss1…).
        issuer: String,
    },
    /// Releases a quarantined event (it is delivered from now on).
    Release {
        /// The event id.
        event: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Overrides one entry of a list here, without leaving the list.
    Allow {
        /// The list (ISSUER/NAME).
        list: String,
        /// The entry's index.
        entry: u64,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
        /// Lift the exception instead.
        #[arg(long)]
        lift: bool,
    },
    /// Imports entries from a file (one checkpoint for all).
    Import {
        /// The list's name.
        name: String,
        /// The file.
        file: PathBuf,
        /// mastodon-csv, matrix-policy or plain.
        #[arg(long)]
        format: String,
        /// Category of entries whose format has none.
        #[arg(long, default_value = "other")]
        category: String,
    },
    /// Shows the suggestions and notices of suggest and notify
    /// subscriptions (of one list, or all).
    Suggestions {
        /// The list (ISSUER/NAME).
        list: Option<String>,
        /// Only pending, approved, declined, noted or withdrawn ones.
        #[arg(long)]
        state: Option<String>,
    },
    /// Approves suggestions: they apply at once.
    Approve(Decide),
    /// Declines suggestions: their targets are not suggested again.
    Decline(Decide),
    /// Shows the entries kept after their issuer removed them.
    Kept {
        /// The list (ISSUER/NAME).
        list: Option<String>,
    },
    /// Adds a private note to an entry (kept here, never published).
    Note {
        /// The list (NAME of this node's list, or ISSUER/NAME).
        list: String,
        /// The entry's index.
        entry: u64,
        /// The note (the words that follow, joined by spaces).
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
        /// Who writes it (default operator).
        #[arg(long)]
        by: Option<String>,
    },
    /// Shows the private notes on a list's entries.
    Notes {
        /// The list (NAME of this node's list, or ISSUER/NAME).
        list: String,
        /// Only this entry's.
        entry: Option<u64>,
    },
    /// Exports the list's active entries.
    Export {
        /// The list's name.
        name: String,
        /// mastodon-csv, matrix-policy or plain.
        #[arg(long)]
        format: String,
    },
}

/// The running node's admin endpoint, on the admin listener it recorded in
/// its data directory.
pub(crate) struct Admin {
    link: accord_node::local::AdminLink,
}

impl Admin {
    pub(crate) fn new(dir: &DataDir) -> anyhow::Result<Admin> {
        Ok(Admin { link: accord_node::local::AdminLink::open(dir, None)? })
    }

    /// The list id of `list`: `ISSUER/NAME` as it is, or the name of one
    /// of the node's own lists.
    pub(crate) async fn list_id(&self, list: &str) -> anyhow::Result<String> {
        if list.contains('/') {
            return Ok(list.to_owned());
        }
        let v = self.call(reqwest::Method::GET, &format!("/lists/{list}/entries?limit=0"), None).await?;
        Ok(v["list"].as_str().context("the node named no list")?.to_owned())
    }

    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self.link.request(method, &format!("/admin{path}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| {
            format!("reaching the admin endpoint at {}: is the node running? (accord-node run)", self.link.endpoint())
        })?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            let v: Value = serde_json::from_str(&text).unwrap_or(json!({"error": {"message": text}}));
            bail!(
                "{} ({})",
                v["error"]["message"].as_str().unwrap_or("failed"),
                v["error"]["code"].as_str().unwrap_or("")
            );
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

/// Where a command on this machine reaches the node's API: its listen
/// address, or loopback when it listens on every interface.
pub(crate) fn local_api(api: std::net::SocketAddr) -> std::net::SocketAddr {
    if api.ip().is_unspecified() { std::net::SocketAddr::from(([127, 0, 0, 1], api.port())) } else { api }
}

fn duration_secs(text: &str) -> anyhow::Result<u64> {
    let (n, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = n.parse().with_context(|| format!("duration {text}"))?;
    Ok(n * match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("duration {text}: use s, m, h, d or w"),
    })
}

/// Entries sent to the node per staging request of a bulk import.
const STAGE_CHUNK: usize = 5000;

/// A progress bar on stderr, drawn only on a terminal.
struct Progress {
    what: String,
    done: usize,
    total: usize,
    draw: bool,
}

impl Progress {
    fn new(what: &str, total: usize) -> Progress {
        use std::io::IsTerminal;
        let mut p = Progress { what: what.into(), done: 0, total, draw: std::io::stderr().is_terminal() };
        p.advance(0);
        p
    }

    fn advance(&mut self, n: usize) {
        use std::io::Write;
        self.done += n;
        if self.draw {
            let width = 30;
            let filled = (self.done * width).checked_div(self.total).unwrap_or(width);
            eprint!(
                "\r{} [{}{}] {}/{}",
                self.what,
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.done,
                self.total
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn finish(&self) {
        if self.draw {
            eprintln!();
        }
    }
}

pub(crate) fn print(json_out: bool, value: &Value, human: impl FnOnce(&Value)) {
    if json_out {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        human(value);
    }
}

/// Runs a list command.
pub(crate) async fn list(target: Target, command: ListCommand) -> anyhow::Result<()> {
    let admin = Admin::new(&DataDir::new(&target.data_dir))?;
    let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);
    match command {
        ListCommand::Create { name, description } => {
            let mut body = json!({"name": name});
            if let Some(text) = description {
                body["description"] = json!(text);
            }
            let v = admin.call(post, "/lists", Some(body)).await?;
            print(target.json, &v, |v| println!("created {}", v["list"].as_str().unwrap_or_default()));
        }
        ListCommand::Add(add) => {
            let AddEntry {
                name,
                account,
                node,
                room,
                content,
                pdq,
                domain,
                image,
                hashed,
                category,
                action,
                reason,
                evidence,
                expires,
            } = *add;
            let pdq = match image {
                Some(path) => Some(image_pdq(&path)?),
                None => pdq,
            };
            let (kind, id) = match (account, node, room, content, pdq, domain) {
                (Some(id), ..) => ("account", id),
                (_, Some(id), ..) => ("node", id),
                (_, _, Some(id), ..) => ("room", id),
                (_, _, _, Some(id), ..) => ("content", id),
                (_, _, _, _, Some(id), _) => ("pdq", id),
                (.., Some(id)) => ("domain", id),
                _ => bail!("name a target: --account, --node, --room, --content, --pdq, --image or --domain"),
            };
            let expires_in = expires.as_deref().map(duration_secs).transpose()?;
            let body = json!({"kind": kind, "id": id, "hashed": hashed, "category": category, "action": action,
                "reason": reason, "evidence": evidence, "expires_in": expires_in});
            let v = admin.call(post, &format!("/lists/{name}/entries"), Some(body)).await?;
            print(target.json, &v, |v| {
                println!("entry {} added to {}", v["first"], v["list"].as_str().unwrap_or_default())
            });
        }
        ListCommand::Remove { name, entry, reason } => {
            let v = admin
                .call(post, &format!("/lists/{name}/remove"), Some(json!({"entry": entry, "reason": reason})))
                .await?;
            print(target.json, &v, |v| println!("entry {entry} retracted by entry {}", v["first"]));
        }
        ListCommand::Show { list } => {
            let path = if list.contains('/') {
                format!("/lists/-/entries?list={list}")
            } else {
                format!("/lists/{list}/entries")
            };
            let v = admin.call(get, &path, None).await?;
            print(target.json, &v, |v| {
                let id = v["list"].as_str().unwrap_or_default();
                println!("{id}  ({} entries)", v["size"]);
                if let Ok(list) = id.parse::<accord_proto::ListId>() {
                    let issuer = &list.issuer;
                    println!(
                        "issuer vkey {}",
                        accord_proto::blocklist::checkpoint::verifier_key(&issuer.to_string(), issuer.public_key())
                    );
                }
                for e in v["entries"].as_array().into_iter().flatten() {
                    println!("{:>6}  {}", e["index"], e["entry"]);
                }
            });
        }
        ListCommand::Discover { peer } => {
            // A p2p address's slashes stay inside the path's one segment.
            let v = admin.call(get, &format!("/discover/{}", peer.replace('/', "%2F")), None).await?;
            print(target.json, &v, |v| {
                let lists = v["lists"].as_array().cloned().unwrap_or_default();
                println!("{} issues {} list(s)", v["node"].as_str().unwrap_or_default(), lists.len());
                for l in lists {
                    let time = l["checkpoint_time"].as_i64().and_then(chrono::DateTime::from_timestamp_millis);
                    let time = time.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default();
                    println!("{}  size {}  last checkpoint {time}", l["list"].as_str().unwrap_or_default(), l["size"]);
                    if let Some(text) = l["description"].as_str() {
                        println!("    {text}");
                    }
                    for w in l["witnesses"].as_array().into_iter().flatten() {
                        println!("    witness {}", w.as_str().unwrap_or_default());
                    }
                }
            });
        }
        ListCommand::Status => {
            let v = admin.call(get, "/lists", None).await?;
            print(target.json, &v, |v| {
                for l in v["lists"].as_array().into_iter().flatten() {
                    let role = if l["own"].as_bool() == Some(true) { "issued here" } else { "subscribed" };
                    let trust = match l["distrusted"].as_str() {
                        Some(why) => format!("  DISTRUSTED: {why}"),
                        None => String::new(),
                    };
                    println!("{}  size {}  {role}{trust}", l["list"].as_str().unwrap_or_default(), l["size"]);
                    println!(
                        "    mode {}  on removal {}  priority {}",
                        l["mode"].as_str().unwrap_or("apply"),
                        l["on_removal"].as_str().unwrap_or("undo"),
                        l["priority"].as_i64().unwrap_or_default()
                    );
                    println!("    issuer vkey {}", l["vkey"].as_str().unwrap_or_default());
                    if let Some(text) = l["description"].as_str() {
                        println!("    {text}");
                    }
                }
                println!("{} entries enforced", v["indexed"]);
                println!("issuer vkey  {}", v["issuer_vkey"].as_str().unwrap_or_default());
                println!("witness vkey {}", v["witness_vkey"].as_str().unwrap_or_default());
            });
        }
        ListCommand::Trust { issuer } => {
            let v = admin.call(post, "/trust", Some(json!({"issuer": issuer}))).await?;
            print(target.json, &v, |v| println!("{issuer} trusted again: {}", v["lists"]));
        }
        ListCommand::Quarantine => {
            let v = admin.call(get, "/quarantine", None).await?;
            print(target.json, &v, |v| {
                for q in v["quarantine"].as_array().into_iter().flatten() {
                    println!(
                        "{}  room {} #{}  held by {} entry {}",
                        q["event_id"].as_str().unwrap_or_default(),
                        q["room"].as_str().unwrap_or_default(),
                        q["cursor"],
                        q["provenance"]["list"].as_str().unwrap_or_default(),
                        q["provenance"]["entry"]
                    );
                }
            });
        }
        ListCommand::Release { event, reason } => {
            let v = admin.call(post, "/quarantine/release", Some(json!({"event": event, "reason": reason}))).await?;
            print(target.json, &v, |_| println!("{event} released"));
        }
        ListCommand::Evidence => {
            let v = admin.call(get, "/evidence", None).await?;
            print(target.json, &v, |v| {
                for e in v["evidence"].as_array().into_iter().flatten() {
                    println!(
                        "{}  relayed {} blocked by {} entry {}",
                        e["peer"].as_str().unwrap_or_default(),
                        e["event"]["author"]["signer"].as_str().unwrap_or_default(),
                        e["provenance"]["list"].as_str().unwrap_or_default(),
                        e["provenance"]["entry"]
                    );
                }
            });
        }
        ListCommand::Allow { list, entry, reason, lift } => {
            let body = json!({"list": list, "entry": entry, "reason": reason, "lift": lift});
            let v = admin.call(post, "/exceptions", Some(body)).await?;
            print(target.json, &v, |_| {
                println!("{} entry {entry}: {}", list, if lift { "enforced again" } else { "not enforced here" })
            });
        }
        ListCommand::Import { name, file, format, category } => {
            use accord_formats as formats;
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let format: formats::Format = format.parse().map_err(|e: formats::FormatError| anyhow::anyhow!("{e}"))?;
            let category = category.parse().map_err(|e| anyhow::anyhow!("--category: {e}"))?;
            let parsed = formats::import(format, &text, category).map_err(|e| anyhow::anyhow!("{e}"))?;
            let total = parsed.entries.len();
            let mut bar = Progress::new(&format!("importing into {name}"), total);
            for chunk in parsed.entries.chunks(STAGE_CHUNK) {
                admin.call(post.clone(), &format!("/lists/{name}/stage"), Some(json!({"entries": chunk}))).await?;
                bar.advance(chunk.len());
            }
            let v = admin.call(post, &format!("/lists/{name}/commit"), None).await?;
            bar.finish();
            print(target.json, &v, |v| {
                println!(
                    "imported {} entries into {} (one checkpoint)",
                    v["count"],
                    v["list"].as_str().unwrap_or_default()
                );
            });
            for s in &parsed.skipped {
                eprintln!("skipped line {}: {} ({})", s.line, s.text, s.why);
            }
            eprintln!("{}", parsed.summary());
        }
        ListCommand::Suggestions { list, state } => {
            let mut query = Vec::new();
            if let Some(l) = &list {
                query.push(format!("list={l}"));
            }
            if let Some(s) = &state {
                query.push(format!("state={s}"));
            }
            let v = admin.call(get, &format!("/suggestions?{}", query.join("&")), None).await?;
            print(target.json, &v, |v| {
                for s in v["suggestions"].as_array().into_iter().flatten() {
                    println!(
                        "{} #{}  {}  {} {} ({})  {}",
                        s["list"].as_str().unwrap_or_default(),
                        s["entry"],
                        s["state"].as_str().unwrap_or_default(),
                        s["kind"].as_str().unwrap_or_default(),
                        s["action"].as_str().unwrap_or_default(),
                        s["category"].as_str().unwrap_or_default(),
                        s["reason"].as_str().unwrap_or_default()
                    );
                }
            });
        }
        ListCommand::Approve(d) => decide(&admin, target.json, d, "approve").await?,
        ListCommand::Decline(d) => decide(&admin, target.json, d, "decline").await?,
        ListCommand::Kept { list } => {
            let path = match &list {
                Some(l) => format!("/kept?list={l}"),
                None => "/kept".to_owned(),
            };
            let v = admin.call(get, &path, None).await?;
            print(target.json, &v, |v| {
                for k in v["kept"].as_array().into_iter().flatten() {
                    println!(
                        "{} #{}  {}",
                        k["list"].as_str().unwrap_or_default(),
                        k["entry"],
                        k["reason"].as_str().unwrap_or_default()
                    );
                }
            });
        }
        ListCommand::Note { list, entry, text, by } => {
            let list = admin.list_id(&list).await?;
            let v = admin
                .call(post, "/notes", Some(json!({"list": list, "entry": entry, "text": text.join(" "), "by": by})))
                .await?;
            print(target.json, &v, |_| println!("note kept on {list} #{entry} (private: never published)"));
        }
        ListCommand::Notes { list, entry } => {
            let list = admin.list_id(&list).await?;
            let path = match entry {
                Some(e) => format!("/notes?list={list}&entry={e}"),
                None => format!("/notes?list={list}"),
            };
            let v = admin.call(get, &path, None).await?;
            print(target.json, &v, |v| {
                for n in v["notes"].as_array().into_iter().flatten() {
                    println!(
                        "#{}  {} at {}: {}",
                        n["entry"],
                        n["by"].as_str().unwrap_or_default(),
                        n["at"],
                        n["text"].as_str().unwrap_or_default()
                    );
                }
            });
        }
        ListCommand::Export { name, format } => {
            let v = admin.call(get, &format!("/lists/{name}/export?format={format}"), None).await?;
            print!("{}", v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
        }
    }
    Ok(())
}

/// The PDQ hash of an image file, computed here; refused if the hash is
/// too weak to act on.
fn image_pdq(path: &std::path::Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let hashed =
        accord_pdq::hash_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e} ({})", path.display(), e.code()))?;
    anyhow::ensure!(
        hashed.quality.is_actionable(),
        "{}: its PDQ hash has quality {}, below {}: too weak to act on (a featureless image)",
        path.display(),
        hashed.quality.score(),
        accord_pdq::MIN_QUALITY
    );
    eprintln!("PDQ {} (quality {})", hashed.hash, hashed.quality.score());
    Ok(hashed.hash.to_string())
}

/// `accord-node list approve|decline LIST [INDEX…] [--all] [--category C]`.
async fn decide(admin: &Admin, json_out: bool, d: Decide, verb: &str) -> anyhow::Result<()> {
    let list = admin.list_id(&d.list).await?;
    let body = json!({
        "list": list, "entries": d.entries, "all": d.all, "category": d.category, "reason": d.reason, "by": d.by,
    });
    let v = admin.call(reqwest::Method::POST, &format!("/suggestions/{verb}"), Some(body)).await?;
    print(json_out, &v, |v| {
        let entries = v["entries"].as_array().map(Vec::len).unwrap_or_default();
        println!("{entries} suggestions of {list} {}: {}", v["state"].as_str().unwrap_or_default(), v["entries"]);
    });
    Ok(())
}

/// `accord-node subscribe LIST [--action CATEGORY=ACTION …] [--pdq-threshold N]
/// [--mode MODE] [--on-removal undo|keep] [--priority N]`.
pub(crate) async fn subscribe(
    target: Target,
    list: String,
    actions: Vec<String>,
    pdq_threshold: Option<u16>,
    follow: Follow,
) -> anyhow::Result<()> {
    let admin = Admin::new(&DataDir::new(&target.data_dir))?;
    let mut map = serde_json::Map::new();
    for a in actions {
        let (category, action) = a.split_once('=').with_context(|| format!("--action {a}: use CATEGORY=ACTION"))?;
        map.insert(category.to_string(), json!(action));
    }
    let list = list_id(&list);
    let mut body = json!({"list": list, "actions": map});
    if let Some(t) = pdq_threshold {
        body["pdq_threshold"] = json!(t);
    }
    if let Some(m) = follow.mode {
        body["mode"] = json!(m);
    }
    if let Some(r) = follow.on_removal {
        body["on_removal"] = json!(r);
    }
    if let Some(p) = follow.priority {
        body["priority"] = json!(p);
    }
    let v = admin.call(reqwest::Method::POST, "/subscriptions", Some(body)).await?;
    print(target.json, &v, |v| {
        println!(
            "subscribed to {list}: mode {}, on removal {}, priority {}",
            v["mode"].as_str().unwrap_or("apply"),
            v["on_removal"].as_str().unwrap_or("undo"),
            v["priority"]
        )
    });
    Ok(())
}

/// A list named `NODE_ID/NAME` (a node's own list, as discovered) as its
/// list id `ISSUER/NAME`: a node issues its lists with its node key. Any
/// other text is left as it is.
fn list_id(text: &str) -> String {
    match text.split_once('/') {
        Some((node, name)) => match node.parse::<accord_proto::NodeId>() {
            Ok(node) => format!("{}/{name}", accord_proto::IssuerId::from(*node.public_key())),
            Err(_) => text.to_string(),
        },
        None => text.to_string(),
    }
}

/// `accord-node unsubscribe LIST`.
pub(crate) async fn unsubscribe(target: Target, list: String) -> anyhow::Result<()> {
    let admin = Admin::new(&DataDir::new(&target.data_dir))?;
    let v = admin.call(reqwest::Method::POST, "/subscriptions/remove", Some(json!({"list": list}))).await?;
    print(target.json, &v, |_| println!("unsubscribed from {list}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{duration_secs, list_id};

    #[test]
    fn a_list_named_by_its_issuers_node_id_is_sent_as_its_list_id() {
        let key = accord_proto::SecretKey::generate().unwrap();
        let node = accord_proto::NodeId::from(key.public());
        let issuer = accord_proto::IssuerId::from(key.public());
        assert_eq!(list_id(&format!("{node}/spam")), format!("{issuer}/spam"));
        assert_eq!(list_id(&format!("{issuer}/spam")), format!("{issuer}/spam"));
        assert_eq!(list_id("spam"), "spam");
    }

    #[test]
    fn durations_read_in_common_units() {
        assert_eq!(duration_secs("45s").unwrap(), 45);
        assert_eq!(duration_secs("90m").unwrap(), 5400);
        assert_eq!(duration_secs("30d").unwrap(), 30 * 86_400);
        assert!(duration_secs("3y").is_err());
        assert!(duration_secs("d").is_err());
    }
}

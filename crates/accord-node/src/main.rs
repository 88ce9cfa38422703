//! `accord-node`: runs an Accord node.
//!
//! With no arguments it runs a node on `./accord-data`, creating the
//! directory, a default `accord.toml` and a node key on first run.

mod admin_cli;
mod backup_cli;
mod doctor_cli;
mod migrate_cli;
mod mod_cli;

use accord_node::{Config, DataDir, Node};
use accord_proto::NodeId;
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Runs and manages an Accord node.
#[derive(Parser)]
#[command(name = "accord-node", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a configuration and a node key into a data directory.
    Init {
        /// The data directory.
        #[arg(long, default_value = "accord-data")]
        data_dir: PathBuf,
        /// The node name (the part after `@` in handles).
        #[arg(long)]
        name: Option<String>,
        /// The client API address.
        #[arg(long)]
        api: Option<SocketAddr>,
        /// Where the admin endpoint and the dashboard listen: a loopback
        /// address (default 127.0.0.1:8081; port 0 for any free one) or
        /// unix:PATH for a Unix socket (relative to the data directory).
        #[arg(long)]
        admin: Option<accord_node::config::AdminListen>,
        /// A p2p listen multiaddr (repeatable).
        #[arg(long)]
        p2p: Vec<String>,
        /// A peer to connect to at start and whenever the connection drops:
        /// its p2p address ending in `/p2p/NODE_ID` (repeatable).
        #[arg(long)]
        bootstrap: Vec<String>,
    },
    /// Runs the node (initialising the data directory if needed).
    Run {
        /// The data directory.
        #[arg(long, default_value = "accord-data")]
        data_dir: PathBuf,
    },
    /// Blocklists: issue, show, import, export, allow (talks to the running node).
    List {
        #[command(flatten)]
        target: admin_cli::Target,
        #[command(subcommand)]
        command: admin_cli::ListCommand,
    },
    /// Reports: the moderator queue, cases, resolutions (talks to the running node).
    Reports {
        #[command(flatten)]
        target: admin_cli::Target,
        #[command(subcommand)]
        command: mod_cli::ReportsCommand,
    },
    /// Moderator accounts of this node.
    Moderators {
        #[command(flatten)]
        target: admin_cli::Target,
        #[command(subcommand)]
        command: mod_cli::ModeratorsCommand,
    },
    /// The signed moderation audit log: export, verify.
    Audit {
        #[command(flatten)]
        target: admin_cli::Target,
        #[command(subcommand)]
        command: mod_cli::AuditCommand,
    },
    /// Enforces a list issued elsewhere (ISSUER/NAME), fetched from peers.
    Subscribe {
        #[command(flatten)]
        target: admin_cli::Target,
        /// The list.
        list: String,
        /// Per-category action: CATEGORY=reject|quarantine|ignore (repeatable).
        #[arg(long = "action")]
        actions: Vec<String>,
        /// The PDQ distance within which an image matches the list's PDQ
        /// entries, 0 to 63 (default 31).
        #[arg(long)]
        pdq_threshold: Option<u16>,
        /// How the subscription follows the list: apply, suggest or notify.
        #[command(flatten)]
        follow: admin_cli::Follow,
    },
    /// Stops enforcing a list.
    Unsubscribe {
        #[command(flatten)]
        target: admin_cli::Target,
        /// The list.
        list: String,
    },
    /// Evidence that a peer relayed what a list it declares blocks.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Copies the running node's store, configuration and key into a new
    /// directory (docs/operating.md).
    Backup {
        /// The data directory of the running node.
        #[arg(long, default_value = "accord-data")]
        data_dir: PathBuf,
        /// The new directory the backup is made in.
        #[arg(long)]
        to: PathBuf,
    },
    /// Puts a backup into a new data directory, checked against what the
    /// backup describes; start the node there while the original is
    /// stopped.
    Restore {
        /// The backup's directory.
        #[arg(long)]
        from: PathBuf,
        /// The new data directory.
        #[arg(long, default_value = "accord-data")]
        data_dir: PathBuf,
    },
    /// Checks a data directory and its configuration and says what is
    /// wrong in words (permissions, disk space, ports taken, the store,
    /// peers unreachable); exits non-zero if a check fails.
    Doctor {
        /// The data directory.
        #[arg(long, default_value = "accord-data")]
        data_dir: PathBuf,
    },
    /// Writes this node's name proof (spec/names.md §2): the JSON to
    /// publish at https://NAME/.well-known/accord/node when the node's API
    /// does not serve that path itself.
    NameProof {
        /// The data directory.
        #[arg(long, default_value = "accord-data")]
        data_dir: PathBuf,
        /// Days the proof is valid, 1 to 90 (default: names.proof_days).
        #[arg(long)]
        days: Option<u64>,
        /// Write it to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Brings a stopped node's store up to this binary's schema version,
    /// printing each step (the node also does this at start, unless
    /// `[storage] migrate = "refuse"`).
    Migrate {
        /// The data directory.
        #[arg(long, default_value = "accord-data")]
        data_dir: PathBuf,
        /// Print the steps without running them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Prints the node id and addresses from a data directory.
    Info {
        /// The data directory.
        #[arg(long, default_value = "accord-data")]
        data_dir: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// Checks evidence as a third party, from the file alone (one record,
    /// or the answer of `GET /admin/evidence`): the peer's stamp and
    /// manifest, the issuer's checkpoint and the entry's inclusion in it.
    /// Exits non-zero if any record does not verify.
    Verify {
        /// The JSON file.
        file: PathBuf,
    },
}

/// `accord-node evidence verify FILE`.
fn verify_evidence(file: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).context("the file is not JSON")?;
    let records = match value.get("evidence") {
        Some(all) => all.clone(),
        None => serde_json::Value::Array(vec![value]),
    };
    let records: Vec<accord_api::admin::Evidence> =
        serde_json::from_value(records).context("the file does not hold evidence records")?;
    anyhow::ensure!(!records.is_empty(), "the file holds no evidence");
    let mut refused = 0;
    for record in &records {
        match accord_node::evidence::verify(record) {
            Ok(v) => println!(
                "verified: {} relayed event {} blocked by {} entry {}, declaring {} entries of it",
                v.peer, v.event, v.list, v.entry, v.declared
            ),
            Err(e) => {
                refused += 1;
                println!("refused ({}): {e}", e.code());
            }
        }
    }
    anyhow::ensure!(refused == 0, "{refused} of {} evidence records do not verify", records.len());
    Ok(())
}

/// Where the log filter can be changed while the node runs.
type LogFilter = tracing_subscriber::reload::Handle<tracing_subscriber::EnvFilter, tracing_subscriber::Registry>;

/// Logs to stderr at `level`, or as `RUST_LOG` says when it is set.
fn init_logging(level: &str) -> Option<LogFilter> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init()
        .ok()?;
    Some(handle)
}

async fn run(dir: DataDir) -> anyhow::Result<()> {
    if dir.init(None)? {
        println!("initialised {}", dir.root().display());
    }
    let (config, _) = dir.load()?;
    let log = init_logging(&config.log.level);
    let node = Node::start(dir.clone()).await.context("starting the node")?;
    let info = node.info();
    println!("node id: {}", info.node_id);
    println!("name:    {}", info.name);
    println!("api:     {}", info.api_url);
    match info.admin.url() {
        Some(url) => println!("admin:   {url}/dashboard (this machine only; the token is in admin.token)"),
        None => println!("admin:   {} (the operator's commands; the token is in admin.token)", info.admin),
    }
    for addr in &info.p2p {
        println!("p2p:     {addr}");
    }
    while let Signal::Reload = next_signal().await {
        reload(&node, &dir, log.as_ref()).await;
    }
    println!("shutting down");
    node.shutdown().await?;
    Ok(())
}

/// `SIGHUP`: the log level, the rate limits and the lists followed are
/// taken from the configuration file again; a configuration that does not
/// load changes nothing.
async fn reload(node: &Node, dir: &DataDir, log: Option<&LogFilter>) {
    let config = match accord_node::Config::load(&dir.config()) {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("SIGHUP: the configuration does not load, nothing changed: {e}");
            return;
        }
    };
    if std::env::var_os("RUST_LOG").is_none()
        && let Some(log) = log
        && let Err(e) = log.reload(tracing_subscriber::EnvFilter::new(&config.log.level))
    {
        tracing::warn!("SIGHUP: log level: {e}");
    }
    match node.reload(&config).await {
        Ok(reloaded) => tracing::warn!(
            lists = reloaded.lists.len(),
            "SIGHUP: configuration reloaded (log level, rate limits, lists followed)"
        ),
        Err(e) => tracing::error!("SIGHUP: {e}"),
    }
}

/// What the process was told.
enum Signal {
    /// Stop (`SIGTERM`, Ctrl-C).
    Stop,
    /// Reload the configuration (`SIGHUP`).
    Reload,
}

async fn next_signal() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
            let _ = tokio::signal::ctrl_c().await;
            return Signal::Stop;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Signal::Stop,
            _ = term.recv() => Signal::Stop,
            _ = hup.recv() => Signal::Reload,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if matches!(cli.command, None | Some(Command::Run { .. }))
        && let Err(e) = accord_node::allocator::reexec_with_settings()
    {
        eprintln!("warning: running with the allocator's defaults ({e})");
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(command(cli))
}

/// Runs the command given.
async fn command(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Run { data_dir: PathBuf::from("accord-data") }) {
        Command::Run { data_dir } => run(DataDir::new(data_dir)).await,
        Command::List { target, command } => admin_cli::list(target, command).await,
        Command::Reports { target, command } => mod_cli::reports(target, command).await,
        Command::Moderators { target, command } => mod_cli::moderators(target, command).await,
        Command::Audit { target, command } => mod_cli::audit(target, command).await,
        Command::Subscribe { target, list, actions, pdq_threshold, follow } => {
            admin_cli::subscribe(target, list, actions, pdq_threshold, follow).await
        }
        Command::Unsubscribe { target, list } => admin_cli::unsubscribe(target, list).await,
        Command::Evidence { command: EvidenceCommand::Verify { file } } => verify_evidence(&file),
        Command::Doctor { data_dir } => doctor_cli::doctor(data_dir).await,
        Command::NameProof { data_dir, days, out } => {
            let dir = DataDir::new(&data_dir);
            let (config, key) = dir.load().context("reading the data directory (run `accord-node init` first)")?;
            let name = config
                .node
                .name
                .as_str()
                .parse()
                .map_err(|e| anyhow::anyhow!("node.name {} cannot be proved: {e}", config.node.name))?;
            let node_id = NodeId::from(key.public());
            let addrs = config.p2p.listen.iter().map(|a| format!("{a}/p2p/{node_id}")).collect();
            let proof =
                accord_node::core::names::sign_proof(&key, name, addrs, days.unwrap_or(config.names.proof_days))?;
            let json = serde_json::to_string(proof.raw())? + "\n";
            match out {
                Some(path) => std::fs::write(&path, json).with_context(|| path.display().to_string())?,
                None => print!("{json}"),
            }
            Ok(())
        }
        Command::Migrate { data_dir, dry_run } => migrate_cli::migrate(data_dir, dry_run),
        Command::Backup { data_dir, to } => backup_cli::backup(data_dir, to).await,
        Command::Restore { from, data_dir } => backup_cli::restore(from, data_dir).await,
        Command::Init { data_dir, name, api, admin, p2p, bootstrap } => {
            let dir = DataDir::new(&data_dir);
            anyhow::ensure!(!dir.config().exists(), "{} already exists", dir.config().display());
            let mut config = Config::default();
            if let Some(name) = name {
                config.node.name = name.parse().context("--name")?;
            }
            if let Some(api) = api {
                config.api.listen = api;
            }
            if let Some(admin) = admin {
                config.admin.listen = admin;
            }
            if !p2p.is_empty() {
                config.p2p.listen = p2p;
            }
            config.p2p.bootstrap = bootstrap;
            config.check().map_err(|e| anyhow::anyhow!("the configuration: {e}"))?;
            dir.init(Some(&config))?;
            let (_, key) = dir.load()?;
            println!("initialised {}", dir.root().display());
            println!("node id: {}", NodeId::from(key.public()));
            Ok(())
        }
        Command::Info { data_dir, json } => {
            let dir = DataDir::new(&data_dir);
            let (config, key) = dir.load().context("reading the data directory (run `accord-node init` first)")?;
            let node_id = NodeId::from(key.public());
            let live = running_node(&config, dir.root()).await;
            let api_url = format!("{}://{}", config.api.scheme(), config.api.listen);
            let admin = dir.admin_endpoint(&config);
            if json {
                let info = serde_json::json!({
                    "node_id": node_id,
                    "name": config.node.name,
                    "api": config.api.listen,
                    "api_url": api_url,
                    "admin": admin,
                    "p2p": config.p2p.listen,
                    "bootstrap": config.p2p.bootstrap,
                    "registration": config.registration.policy,
                    "data_dir": dir.root(),
                    "running": live.is_some(),
                    "peers": live.as_ref().map(|l| l["peers"].clone()),
                });
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                println!("node id:      {node_id}");
                println!("name:         {}", config.node.name);
                println!("api:          {api_url}");
                println!("admin:        {admin}");
                for addr in &config.p2p.listen {
                    println!("p2p:          {addr}/p2p/{node_id}");
                }
                println!("registration: {:?}", config.registration.policy);
                println!("data dir:     {}", dir.root().display());
                match &live {
                    None => println!("running:      no (nothing answers on the API address)"),
                    Some(live) => {
                        let peers = live["peers"].as_array().cloned().unwrap_or_default();
                        println!("running:      yes, {} peer(s) connected", peers.len());
                        for peer in peers {
                            println!("peer:         {}", peer.as_str().unwrap_or_default());
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

/// What the node running on this data directory reports about itself
/// (`GET /v1/node`), if one answers.
async fn running_node(config: &Config, root: &std::path::Path) -> Option<serde_json::Value> {
    let host = admin_cli::local_api(config.api.listen);
    let client = accord_node::tls::local_client(config, root, Some(std::time::Duration::from_secs(2))).ok()?;
    client.get(format!("{}://{host}/v1/node", config.api.scheme())).send().await.ok()?.json().await.ok()
}

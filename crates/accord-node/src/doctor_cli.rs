//! `accord-node doctor`: checks a data directory and its configuration
//! and says what is wrong in words (docs/operating.md, "When something
//! happens"). Each finding is `ok`, `warn` or `FAIL`; any `FAIL` makes the
//! command exit non-zero.

use accord_api::admin::StatusResponse;
use accord_node::config::AdminListen;
use accord_node::{Config, DataDir};
use accord_store::{Migrate, Store, StoreConfig, StoreError, SyncPolicy};
use std::fmt;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Below this much free space RocksDB stops writes (its reserve for a
/// full write buffer).
const FREE_FAIL: u64 = 64 << 20;
/// Below this much free space the operator should act soon.
const FREE_WARN: u64 = 1 << 30;
/// A peer's clock further than this from the node's is worth a warning.
const SKEW_WARN_MS: i64 = 30_000;
/// How far ahead of a node's clock an event's `ts` may be before the node
/// refuses it (`bad_timestamp`, spec/client-api.md §1.1).
const TS_AHEAD_MS: i64 = 5 * 60_000;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Warn,
    Fail,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        })
    }
}

/// The findings so far.
#[derive(Default)]
struct Report {
    findings: Vec<(Level, &'static str, String)>,
}

impl Report {
    fn add(&mut self, level: Level, check: &'static str, detail: impl Into<String>) {
        self.findings.push((level, check, detail.into()));
    }
}

/// `accord-node doctor --data-dir DIR`.
pub(crate) async fn doctor(data_dir: PathBuf) -> anyhow::Result<()> {
    let report = examine(&DataDir::new(&data_dir)).await;
    for (level, check, detail) in &report.findings {
        println!("{level}  {check}: {detail}");
    }
    let failed = report.findings.iter().filter(|f| f.0 == Level::Fail).count();
    anyhow::ensure!(failed == 0, "{failed} checks failed");
    Ok(())
}

async fn examine(dir: &DataDir) -> Report {
    let mut report = Report::default();
    let root = dir.root();
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {
            let probe = root.join(".doctor-probe");
            let writable = std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe));
            if let Err(e) = writable {
                report.add(
                    Level::Fail,
                    "data directory",
                    format!("{} is not writable by this user ({e}); run as the node's user", root.display()),
                );
            } else if m.permissions().mode() & 0o077 != 0 {
                report.add(
                    Level::Warn,
                    "data directory",
                    format!(
                        "{} is open to other users (mode {:o}); chmod 700 it: it holds members' data",
                        root.display(),
                        m.permissions().mode() & 0o777
                    ),
                );
            } else {
                report.add(Level::Ok, "data directory", root.display().to_string());
            }
        }
        Ok(_) => {
            report.add(Level::Fail, "data directory", format!("{} is not a directory", root.display()));
            return report;
        }
        Err(e) => {
            report.add(
                Level::Fail,
                "data directory",
                format!("{}: {e} (accord-node init --data-dir {} makes one)", root.display(), root.display()),
            );
            return report;
        }
    }
    disk_space(&mut report, root);
    let config = match Config::load(&dir.config()) {
        Ok(config) => {
            report.add(Level::Ok, "configuration", dir.config().display().to_string());
            config
        }
        Err(e) => {
            report.add(Level::Fail, "configuration", e.to_string());
            return report;
        }
    };
    node_key(&mut report, &dir.key());
    let running = running(dir).await;
    match &running {
        Some((endpoint, _)) => {
            report.add(Level::Ok, "node", format!("running; its admin endpoint answers at {endpoint}"))
        }
        None => report.add(Level::Ok, "node", "not running"),
    }
    clock_sync(&mut report);
    if let Some((_, status)) = &running {
        readiness(&mut report, &config).await;
        peer_clocks(&mut report, status.as_ref().map_err(String::as_str));
    } else {
        store(&mut report, &dir.db());
        ports(&mut report, dir, &config);
    }
    peers(&mut report, &config);
    report
}

fn disk_space(report: &mut Report, root: &Path) {
    match rustix::fs::statvfs(root) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            let text = format!("{} MiB free where the data directory is", free >> 20);
            if free < FREE_FAIL {
                report.add(Level::Fail, "disk space", format!("{text}: writes are refused below 64 MiB; free space"));
            } else if free < FREE_WARN {
                report.add(Level::Warn, "disk space", format!("{text}: less than 1 GiB; free space soon"));
            } else {
                report.add(Level::Ok, "disk space", text);
            }
        }
        Err(e) => report.add(Level::Warn, "disk space", format!("cannot tell: {e}")),
    }
}

/// The key file reads only when no one else may read it (mode 0600).
fn node_key(report: &mut Report, path: &Path) {
    match accord_node::keyfile::read(path) {
        Ok(_) => report.add(Level::Ok, "node key", path.display().to_string()),
        Err(e) => report.add(Level::Fail, "node key", e.to_string()),
    }
}

/// The admin endpoint and the node's status (or why it did not read: a
/// starting node answers `503 starting`), if a node answers there.
async fn running(dir: &DataDir) -> Option<(String, Result<StatusResponse, String>)> {
    let link = accord_node::local::AdminLink::open(dir, Some(Duration::from_secs(3))).ok()?;
    let answer = link.request(reqwest::Method::GET, "/admin/status").send().await.ok()?;
    let endpoint = link.endpoint().to_string();
    if answer.status().is_success() {
        let status = answer.json().await.map_err(|e| e.to_string());
        return Some((endpoint, status));
    }
    let refusal = answer.json::<accord_api::ErrorBody>().await.ok()?;
    (refusal.error.code == accord_api::ErrorCode::Starting).then_some((endpoint, Err(refusal.error.message)))
}

/// Whether the kernel keeps the clock synchronised (NTP), as systemd's
/// `timedatectl` reports it (from the kernel's `adjtimex` status).
fn clock_sync(report: &mut Report) {
    let answer = std::process::Command::new("timedatectl")
        .args(["show", "--property=NTPSynchronized", "--value"])
        .output()
        .map_err(|e| format!("timedatectl: {e}"))
        .and_then(|out| {
            if out.status.success() {
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
            } else {
                Err(format!("timedatectl: {}", String::from_utf8_lossy(&out.stderr).trim()))
            }
        });
    let (level, detail) = match answer.as_deref() {
        Ok("yes") => (Level::Ok, "synchronised (NTP)".to_owned()),
        Ok("no") => (
            Level::Warn,
            "clock not synchronised (NTP): peers and members see this node's stamps by its clock, and a \
             node refuses events more than 5 minutes ahead of its own; enable NTP (timedatectl set-ntp true, \
             or chrony)"
                .to_owned(),
        ),
        Ok(other) => {
            (Level::Warn, format!("cannot tell whether the clock is synchronised (timedatectl said {other:?})"))
        }
        Err(e) => (Level::Warn, format!("cannot tell whether the clock is synchronised (NTP): {e}")),
    };
    report.add(level, "clock", detail);
}

/// The running node's estimates of its peers' clocks (from the stamps of
/// the events they pushed): a warning for each further than
/// [`SKEW_WARN_MS`] from this node's.
fn peer_clocks(report: &mut Report, status: Result<&StatusResponse, &str>) {
    let status = match status {
        Ok(status) => status,
        Err(why) => {
            report.add(Level::Warn, "clock", format!("peers' clocks not compared: {why}"));
            return;
        }
    };
    let offsets: Vec<(String, i64)> =
        status.peers.iter().filter_map(|p| Some((p.node.to_string(), p.clock_offset_ms?))).collect();
    if offsets.is_empty() {
        report.add(Level::Ok, "clock", "no peer has pushed an event since the node started: no clock to compare");
        return;
    }
    let mut agree = 0;
    for (node, offset) in &offsets {
        if offset.abs() <= SKEW_WARN_MS {
            agree += 1;
            continue;
        }
        let side = if *offset > 0 { "ahead of" } else { "behind" };
        let consequence = if offset.abs() > TS_AHEAD_MS {
            "beyond the 5 minutes within which events' timestamps are accepted; check which clock is wrong"
        } else {
            "check which clock is wrong"
        };
        report.add(
            Level::Warn,
            "clock",
            format!("peer {node}'s clock is {} s {side} this node's: {consequence}", offset.abs() / 1000),
        );
    }
    if agree > 0 {
        let largest = offsets.iter().map(|(_, o)| o.abs()).filter(|o| *o <= SKEW_WARN_MS).max().unwrap_or(0);
        report.add(
            Level::Ok,
            "clock",
            format!("{agree} peers' clocks agree with this node's within 30 s (largest offset {largest} ms)"),
        );
    }
}

async fn readiness(report: &mut Report, config: &Config) {
    let url = format!("{}://{}/readyz", config.api.scheme(), config.api.listen);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build();
    let answer = match client {
        Ok(client) => client.get(&url).send().await,
        Err(e) => {
            report.add(Level::Warn, "readiness", e.to_string());
            return;
        }
    };
    match answer {
        Ok(r) => match r.json::<accord_api::health::ReadyResponse>().await {
            Ok(ready) => {
                for check in ready.checks {
                    let level = if check.ok { Level::Ok } else { Level::Fail };
                    report.add(level, "readiness", format!("{}: {}", check.name, check.detail));
                }
            }
            Err(e) => report.add(Level::Fail, "readiness", format!("{url} did not answer as a node: {e}")),
        },
        Err(e) => report.add(Level::Fail, "readiness", format!("{url}: {e}")),
    }
}

fn store(report: &mut Report, db: &Path) {
    if !db.exists() {
        report.add(Level::Ok, "store", "none yet: the first start creates it");
        return;
    }
    match Store::open(&StoreConfig::new(db.to_path_buf()).sync(SyncPolicy::Fsync).migrate(Migrate::Refuse)) {
        Ok(store) => {
            let rooms = store.rooms().map(|r| r.len());
            let restored = store.restored().ok().flatten();
            let _ = store.close();
            match rooms {
                Ok(n) => report.add(Level::Ok, "store", format!("opens; {n} rooms")),
                Err(e) => report.add(Level::Fail, "store", format!("opens, but its rooms do not read: {e}")),
            }
            if let Some(at) = restored {
                report.add(
                    Level::Warn,
                    "store",
                    format!(
                        "restored from a backup at {at} and not caught up since: start it with its peers reachable"
                    ),
                );
            }
        }
        Err(StoreError::NeedsMigration { found, expected }) => {
            let steps: Vec<&str> = accord_store::migrate::pending(found).iter().map(|s| s.what).collect();
            report.add(
                Level::Warn,
                "store",
                format!(
                    "schema version {found}; this binary reads {expected} and migrates it at start ({}); \
                     back it up first (accord-node backup), or run accord-node migrate",
                    steps.join("; ")
                ),
            )
        }
        Err(e @ StoreError::TooNew { .. }) => report.add(Level::Fail, "store", e.to_string()),
        Err(e) => report.add(Level::Fail, "store", format!("does not open: {e}")),
    }
}

fn ports(report: &mut Report, dir: &DataDir, config: &Config) {
    bind(report, "client API", config.api.listen);
    match config.admin.listen.under(dir.root()) {
        AdminListen::Tcp(addr) if addr.port() != 0 => bind(report, "admin endpoint", addr),
        AdminListen::Tcp(_) => report.add(Level::Ok, "admin endpoint", "any free port"),
        AdminListen::Unix(path) => {
            let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
            if parent.is_dir() {
                report.add(Level::Ok, "admin endpoint", format!("Unix socket {}", path.display()))
            } else {
                report.add(Level::Fail, "admin endpoint", format!("{} does not exist", parent.display()))
            }
        }
    }
    for text in &config.p2p.listen {
        match tcp_of(text) {
            Some(addr) if addr.port() != 0 => bind(report, "peer port", addr),
            _ => report.add(Level::Ok, "peer port", format!("{text} (not checked)")),
        }
    }
}

fn bind(report: &mut Report, what: &'static str, addr: SocketAddr) {
    match TcpListener::bind(addr) {
        Ok(_) => report.add(Level::Ok, what, format!("{addr} is free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            report.add(Level::Fail, what, format!("{addr} is taken by another process"))
        }
        Err(e) => report.add(Level::Fail, what, format!("{addr}: {e}")),
    }
}

/// The TCP address of an `/ip4|ip6|dns…/HOST/tcp/PORT…` multiaddr.
fn tcp_of(multiaddr: &str) -> Option<SocketAddr> {
    use libp2p::multiaddr::{Multiaddr, Protocol};
    let addr: Multiaddr = multiaddr.parse().ok()?;
    let mut host = None;
    for protocol in addr.iter() {
        match protocol {
            Protocol::Ip4(ip) => host = Some(ip.to_string()),
            Protocol::Ip6(ip) => host = Some(ip.to_string()),
            Protocol::Dns(name) | Protocol::Dns4(name) | Protocol::Dns6(name) => host = Some(name.to_string()),
            Protocol::Tcp(port) => return (host?.as_str(), port).to_socket_addrs().ok()?.next(),
            _ => {}
        }
    }
    None
}

fn peers(report: &mut Report, config: &Config) {
    if config.p2p.bootstrap.is_empty() {
        report.add(Level::Ok, "peers", "no bootstrap peers configured");
        return;
    }
    for text in &config.p2p.bootstrap {
        if !text.contains("/p2p/") {
            report.add(Level::Fail, "peers", format!("{text} does not end with /p2p/NODE_ID"));
            continue;
        }
        match tcp_of(text) {
            Some(addr) => match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
                Ok(_) => report.add(Level::Ok, "peers", format!("{addr} answers")),
                Err(e) => {
                    report.add(Level::Warn, "peers", format!("{addr} does not answer ({e}): is it up, and open?"))
                }
            },
            None => report.add(Level::Ok, "peers", format!("{text} (not a TCP address; not checked)")),
        }
    }
}

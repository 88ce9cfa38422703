//! # accord-bench
//!
//! How fast Accord is, next to what the hardware allows: every scenario
//! drives real nodes (real RocksDB with the node's durability setting, real
//! libp2p on loopback, the real client API through the SDK), and every
//! figure is printed beside a ceiling measured by this binary on the same
//! machine in the same run (ed25519 verification on all cores, raw SHA-256
//! over the same number of Merkle nodes).
//!
//! ```sh
//! cargo run --release -p accord-bench                 # every scenario, full size
//! cargo run --release -p accord-bench -- ingest fanout
//! cargo run -p accord-bench -- --quick                # the CI smoke run
//! ```
//!
//! Each figure is one line on stdout:
//! `bench=<name> value=<v> unit=<u> ceiling=<c> ratio=<r>` (`-` where a
//! figure has no ceiling), or one JSON object per line with `--json`.
//! Progress goes to stderr. The process exits non-zero when a scenario
//! breaks (a message lost, a node error), never because of a timing.
#![forbid(unsafe_code)]

mod ceiling;
mod discovery;
mod fanout;
mod fanout_node;
mod flood;
mod growth;
mod ingest;
mod join;
mod listsync;
mod lookup;
mod media;
mod net;
mod pdq;
mod presigned;
mod propagation;
mod report;
mod scale;
mod simulation;
mod stats;

use clap::{Parser, ValueEnum};
use report::Report;
use std::time::Instant;

/// The scenarios, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Scenario {
    /// ed25519 verification (single, batch) on all cores and raw SHA-256.
    Ceilings,
    /// One node, K clients sending signed messages into rooms.
    Ingest,
    /// Three nodes: send-to-receive latency at offered rates, through the
    /// SDK and node only (events signed before the run, plain followers).
    Fanout,
    /// A large list: build, checkpoint, fresh subscriber sync.
    Listsync,
    /// Enforcement check cost per event, memory per entry.
    Lookup,
    /// PDQ: images hashed per second, matches among 100k and 1M hashes.
    Pdq,
    /// A list entry published until enforced on every node.
    Propagation,
    /// Twenty nodes, one room spanning all.
    Scale,
    /// Three nodes: photos uploaded on one, fetched and served by the others.
    Media,
    /// An honest client's acknowledgement time, quiet and while hostile
    /// peers flood its node.
    Flood,
    /// One node in a process of its own: resident memory idle, per room,
    /// per stored message and per idle WebSocket client, and the restart
    /// after a crash.
    Growth,
    /// Joins by room id alone through the DHT, beside joins through a
    /// named node, and refusals of rooms nobody announces.
    Discovery,
    /// A member of one node joins a room holding 100,000 events on
    /// another: until the join is acknowledged, until the whole history is
    /// held, the joining node's memory and the federation traffic.
    Join,
    /// 10, 20, 50 and 100 nodes in this process on libp2p's memory
    /// transport: list propagation, room delivery and CPU per node as the
    /// federation grows.
    Simulation,
}

/// Benchmarks Accord nodes against ceilings measured in the same run.
#[derive(Debug, Parser)]
#[command(name = "accord-bench", version)]
struct Args {
    /// Scenarios to run (all when none are named).
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
    /// Small sizes and short durations: a smoke test that checks every
    /// scenario still works (what CI runs).
    #[arg(long)]
    quick: bool,
    /// One JSON object per figure instead of `key=value` lines.
    #[arg(long)]
    json: bool,
    /// Internal: builds an enforcement index of this many entries in this
    /// fresh process and prints the bytes it took per entry (the lookup
    /// scenario runs it, so that no memory freed earlier is reused).
    #[arg(long, hide = true)]
    index_memory: Option<u64>,
    /// Messages the growth scenario stores at full size (default 200,000,
    /// in 1,000 rooms; `--growth-events 1000000` for the million that the
    /// memory and restart targets are set at, which takes several minutes).
    #[arg(long, default_value_t = 200_000)]
    growth_events: usize,
    /// Node counts the simulation scenario runs (default 10,20,50,100; in
    /// the smoke run 3,5).
    #[arg(long, value_delimiter = ',')]
    simulation_nodes: Vec<usize>,
    /// Seconds the scale scenario's twenty nodes run before the load is
    /// offered (default 30; 0 in the smoke run): the time a federation
    /// that has just started takes to form (Kademlia's first table
    /// refreshes, one second apart and doubling, take about half the two
    /// cores for a second each).
    #[arg(long)]
    scale_settle_secs: Option<u64>,
    /// RocksDB's memory budget, in MiB, of every node the scenarios start
    /// (default: the node's own default, `[storage] memory_mb`).
    #[arg(long)]
    memory_mb: Option<usize>,
    /// Internal: runs a node on this data directory until killed (the
    /// growth scenario measures it as a process of its own).
    #[arg(long, hide = true)]
    node_process: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The nodes measured run with the allocator's settings of
    // `accord-node run`, whether in this process or in one of their own.
    accord_node::allocator::reexec_with_settings()?;
    if let Some(mb) = args.memory_mb {
        net::set_memory_mb(mb);
    }
    if let Some(dir) = &args.node_process {
        return growth::serve(dir);
    }
    if let Some(n) = args.index_memory {
        println!("{}", lookup::index_bytes_per_entry(n)?);
        return Ok(());
    }
    let mut scenarios = args.scenarios.clone();
    if scenarios.is_empty() {
        scenarios = Scenario::value_variants().to_vec();
    }
    scenarios.sort();
    scenarios.dedup();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut report = Report::new(args.json);
    let started = Instant::now();
    // Ceilings are measured first, with no node running, so that nothing
    // else competes for the cores; the scenarios that compare against one
    // measure it when it was not asked for.
    let mut ceilings = ceiling::Ceilings::default();
    let mut failed = Vec::new();
    for scenario in scenarios {
        let t = Instant::now();
        eprintln!("== {scenario:?}");
        let result = runtime.block_on(run(scenario, &args, &mut ceilings, &mut report));
        match result {
            Ok(()) => eprintln!("== {scenario:?} done in {:.1} s", t.elapsed().as_secs_f64()),
            Err(e) => {
                eprintln!("== {scenario:?} FAILED: {e:#}");
                failed.push(format!("{scenario:?}"));
            }
        }
    }
    eprintln!("all done in {:.1} s", started.elapsed().as_secs_f64());
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    anyhow::ensure!(failed.is_empty(), "scenarios failed: {}", failed.join(", "));
    Ok(())
}

async fn run(
    scenario: Scenario,
    args: &Args,
    ceilings: &mut ceiling::Ceilings,
    report: &mut Report,
) -> anyhow::Result<()> {
    let quick = args.quick;
    match scenario {
        Scenario::Ceilings => ceilings.measure_all(quick, report),
        Scenario::Ingest => ingest::run(quick, ceilings, report).await,
        Scenario::Fanout => fanout::run(quick, report).await,
        Scenario::Listsync => listsync::run(quick, ceilings, report).await,
        Scenario::Lookup => lookup::run(quick, report).await,
        Scenario::Pdq => pdq::run(quick, report),
        Scenario::Propagation => propagation::run(quick, report).await,
        Scenario::Scale => {
            let settle = args.scale_settle_secs.unwrap_or(if quick { 0 } else { 30 });
            scale::run(quick, std::time::Duration::from_secs(settle), report).await
        }
        Scenario::Media => media::run(quick, report).await,
        Scenario::Flood => flood::run(quick, report).await,
        Scenario::Growth => growth::run(quick, args.growth_events, report).await,
        Scenario::Discovery => discovery::run(quick, report).await,
        Scenario::Join => join::run(quick, ceilings, report).await,
        Scenario::Simulation => simulation::run(quick, &args.simulation_nodes, report).await,
    }
}

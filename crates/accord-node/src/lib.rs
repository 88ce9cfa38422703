//! # accord-node
//!
//! The Accord node as a library: [`Node::start`] opens the data directory
//! (RocksDB store, node key, configuration), serves the client API and
//! joins the peer-to-peer network. The `accord-node` binary is a thin
//! command line over it, and tests start real nodes through it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod config;
mod federation;
pub mod keyfile;
pub mod lists;
pub mod metrics;
pub mod network;
mod node;
pub mod reports;
pub mod reputation;
pub mod rooms;
pub mod tls;

pub use config::Config;
pub use node::{DataDir, Node, NodeError, NodeInfo};

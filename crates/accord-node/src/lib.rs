//! # accord-node
//!
//! The Accord node as a library: [`Node::start`] opens the data directory
//! (RocksDB store, node key, configuration), assembles the node's
//! [`core`] and opens its doors onto it — the client API ([`api`]) with
//! the web client on one listener, the operator's endpoint ([`admin`])
//! with the dashboard ([`web`]) on a listener of its own, and the
//! federation protocol's handlers — over the peer-to-peer [`network`].
//! [`local`] is how the operator's tools on the machine reach the admin
//! listener. The `accord-node` binary is a
//! thin command line over it, and tests start real nodes through it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
mod admin_listener;
pub mod allocator;
pub mod api;
pub mod config;
pub mod core;
pub mod evidence;
mod federation;
pub mod http;
pub mod keyfile;
pub mod local;
pub mod metrics;
pub mod network;
mod node;
pub mod reputation;
pub mod tls;
pub mod web;

pub use crate::core::{lists, reports, rooms};
pub use config::Config;
pub use node::{DataDir, Node, NodeError, NodeInfo};

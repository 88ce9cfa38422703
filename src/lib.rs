//! Accord: a federated, accountable chat protocol.
//!
//! This facade package exists so that the repository's top-level `tests/`
//! (end-to-end tests of real nodes) and `examples/` are cargo targets. The
//! protocol lives in [`accord_proto`]; see the workspace `README.md`.
#![forbid(unsafe_code)]

pub use accord_proto as proto;

//! Specification tests of `accord-formats` (spec/blocklists.md §9): one
//! binary, a module per format, plus the limits, the round trip of exports
//! and the fuzz harness under proptest.

mod fixtures;
mod limits;
mod mastodon;
mod matrix;
mod pdq;
mod plain;
mod robustness;
mod round_trip;

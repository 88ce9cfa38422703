//! Specification tests of `accord-proto`: one binary, a module per topic.

mod checkpoint;
mod envelope;
mod fixtures;
mod ids;
mod merkle;
mod report;
mod robustness;
mod room;
mod vectors;

//! Specification tests of `accord-proto`: one binary, a module per topic.

mod checkpoint;
mod checkpoint_notes;
mod envelope;
mod fixtures;
mod ids;
mod merkle;
mod ranges;
mod report;
mod robustness;
mod room;
mod vectors;
mod witness;

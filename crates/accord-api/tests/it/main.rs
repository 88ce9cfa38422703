//! The client API's wire types against the spec's examples and against
//! the JSON the node produces.

mod errors;
mod fixtures;
mod live;
mod node_shapes;
mod spec_examples;

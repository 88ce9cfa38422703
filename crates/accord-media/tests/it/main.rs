//! Integration tests of accord-media: one binary, a module per subject.

mod robustness;

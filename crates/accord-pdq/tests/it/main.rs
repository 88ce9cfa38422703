//! accord-pdq's tests: the multi-index against a flat scan. (The
//! differential test against Meta's reference is the repository's
//! `tests/it/pdq_reference.rs`, on the images of `accord_testkit::images`.)

mod index;

//! The fuzz harness: one function per decoder of untrusted input, fed
//! arbitrary bytes. Each `cargo fuzz` target calls the function of the same
//! name; the proptests of the main workspace run the same functions in CI.
//!
//! `protocol.rs` holds the decoders of the Accord protocol (`accord-proto`,
//! run by `crates/accord-proto/tests/it/robustness.rs`); `formats.rs` the
//! blocklist import formats (`accord-formats`, run by
//! `crates/accord-formats/tests/it/robustness.rs`); `media.rs` the upload
//! path's decoders and the media fetch frames (`accord-media`, run by
//! `crates/accord-media/tests/it/robustness.rs`). Each file stands alone,
//! so that each crate's tests can include it without the other crate.

mod formats;
mod media;
mod protocol;

pub use formats::{all_formats, mastodon_csv, matrix_policy, pdq_hex, plain, threatexchange_csv};
pub use media::{all_media, media_inspect, media_upload, media_wire};
pub use protocol::{
    all, checkpoint, client_frame, client_request, envelope, event, federation, federation_wire, identity, list_page,
    manifest, name_proof, proof, report,
};

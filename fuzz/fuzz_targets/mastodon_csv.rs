//! Fuzzes `accord_fuzz::mastodon_csv` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::mastodon_csv(data));

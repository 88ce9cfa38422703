//! Fuzzes `accord_fuzz::media_upload` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::media_upload(data));

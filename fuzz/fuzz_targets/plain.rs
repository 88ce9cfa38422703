//! Fuzzes `accord_fuzz::plain` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::plain(data));

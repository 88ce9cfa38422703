//! Fuzzes `accord_fuzz::envelope` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::envelope(data));

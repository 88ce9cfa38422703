//! Fuzzes `accord_fuzz::identity` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::identity(data));

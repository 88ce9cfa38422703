//! Fuzzes `accord_fuzz::client_request` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::client_request(data));

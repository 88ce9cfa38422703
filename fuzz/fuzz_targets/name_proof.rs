//! Fuzzes `accord_fuzz::name_proof` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::name_proof(data));

//! Fuzzes `accord_fuzz::matrix_policy` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::matrix_policy(data));

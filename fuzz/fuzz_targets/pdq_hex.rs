//! Fuzzes `accord_fuzz::pdq_hex` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::pdq_hex(data));

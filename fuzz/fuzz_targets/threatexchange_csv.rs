//! Fuzzes `accord_fuzz::threatexchange_csv` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::threatexchange_csv(data));

//! Fuzzes `accord_fuzz::federation_wire` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::federation_wire(data));

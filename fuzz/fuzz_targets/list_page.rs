//! Fuzzes `accord_fuzz::list_page` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| accord_fuzz::list_page(data));

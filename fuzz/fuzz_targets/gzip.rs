//! Differential fuzz target: see tests/reference (the check) and TESTING.md (the campaigns).
#![no_main]

#[path = "../../tests/reference/mod.rs"]
mod reference;

libfuzzer_sys::fuzz_target!(|data: &[u8]| reference::check_gzip_bytes(data));

//! The WebUI guard's `?token=` percent-decoding (and its encoder's round trip).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cafleet_fuzz::props::check_query_decode(data));

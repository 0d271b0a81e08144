//! K1: the keystroke sanitiser, truncation and inline-preview builder of `src/tmux.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cafleet_fuzz::props::check_keystrokes(data));

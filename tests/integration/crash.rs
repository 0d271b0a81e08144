//! (placeholder; filled in by the crash harness work)

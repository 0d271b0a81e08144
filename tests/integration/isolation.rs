//! (placeholder; filled in by the isolation harness work)

//! (placeholder; filled in by the load harness work)

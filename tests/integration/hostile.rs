//! (placeholder; filled in by the hostile harness work)

//! Whole HTTP requests through the real router: the Host / Origin / token guard (W1, W2),
//! JSON-only API responses, no reflected HTML, message text stored byte-exact.
#![no_main]

use cafleet_fuzz::props::{WebFixture, check_web, web_fixture};
use std::sync::OnceLock;

struct Harness {
    rt: tokio::runtime::Runtime,
    fixture: WebFixture,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        // Speed: no tmux (previews fail at once instead of spawning one tmux per message)
        // and the database on tmpfs where there is one (fsync is then free).
        // SAFETY: runs once, before the harness starts any other thread.
        unsafe { std::env::set_var("PATH", "") };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("tempdir");
        let fixture = rt.block_on(web_fixture(dir.path()));
        Harness {
            rt,
            fixture,
            _dir: dir,
        }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let h = harness();
    h.rt.block_on(check_web(&h.fixture, data));
});

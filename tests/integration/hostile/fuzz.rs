//! Fuzz properties in CI: the committed seeds plus seeded pseudo-random inputs.

use super::*;

/// xorshift64*: a small, seeded, reproducible generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Fragments the generator strings together: escapes, controls, invisible and odd code
/// points (as UTF-8), field separators and URL / JSON syntax.
const FRAGMENTS: &[&[u8]] = &[
    b"\x1b[",
    b"\x1b]",
    b"\x1bP",
    b"\x1b\\",
    b"\x07",
    b"\x00",
    b"\r\n",
    b"\r",
    b"\n",
    b"\t",
    b"\x7f",
    b"\xc2\x9b",
    b"\xc2\x85",
    b"\xe2\x80\xae",
    b"\xe2\x80\x8b",
    b"\xe2\x81\xa6",
    b"\xef\xbb\xbf",
    b"\xf3\xa0\x80\x81",
    b"\xe3\x85\xa4",
    b"\xef\xb8\x8f",
    b"\xe2\x80\xa8",
    b"\x1b[200~",
    b"\x1b[201~",
    b"\xf0\x9f\x98\x80",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xff",
    b"%",
    b"%2B",
    b"%zz",
    b"%c3%a9",
    b"+",
    b"token=",
    b"s3cr+t/tok=en",
    b"&",
    b"?",
    b"/",
    b"..",
    b"http://",
    b"127.0.0.1:8000",
    b"localhost:8000",
    b"{\"from_agent_id\":2,\"to_agent_id\":3,\"text\":\"",
    b"\"}",
    b"\\u0000",
    b"\\ud800",
    b"<script>",
    b"$(",
    b"`",
    b"-",
    b"'; DROP TABLE tasks; --",
];

/// One pseudo-random input of up to `max` fragments, random bytes mixed in.
fn random_input(rng: &mut Rng, max: usize) -> Vec<u8> {
    let n = rng.below(max + 1);
    let mut out = Vec::new();
    for _ in 0..n {
        match rng.below(4) {
            0 => out.push(rng.next() as u8),
            1 => out.extend_from_slice(b"abc xyz"),
            _ => out.extend_from_slice(FRAGMENTS[rng.below(FRAGMENTS.len())]),
        }
    }
    out
}

/// The committed seeds of one fuzz target.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "too few seeds in {}", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn keystroke_and_query_properties_hold_on_seeds_and_random_inputs() {
    for s in seeds("keystrokes") {
        props::check_keystrokes(&s);
    }
    for s in seeds("query_decode") {
        props::check_query_decode(&s);
    }
    let mut rng = Rng(0x5EED_CAF1_EE70_0001);
    for _ in 0..4000 {
        let input = random_input(&mut rng, 24);
        props::check_keystrokes(&input);
        props::check_query_decode(&input);
    }
    // Every code point once, each alone and after a CR (the CR LF pairing).
    let all: String = (0..=0x10FFFFu32).filter_map(char::from_u32).collect();
    props::check_sanitize(&all);
    for c in (0..0x3000u32)
        .chain(0xE0000..0xE1000)
        .filter_map(char::from_u32)
    {
        props::check_preview(1, 2, &format!("\r{c}x"), 3);
    }
}

/// Found by fuzzing: `percent_decode` panicked (a `str` slice off a char boundary) on `%a`
/// followed by a multi-byte character, reachable with `?token=%aé` on any request; and it
/// decoded `%+1` as the byte 0x01.
#[test]
fn query_decode_of_non_ascii_and_signed_escapes() {
    props::check_query_decode("%aé".as_bytes());
    props::check_query_decode(b"%+1");
}

#[tokio::test]
async fn web_request_properties_hold_on_seeds_and_random_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let fx = props::web_fixture(dir.path()).await;
    for s in seeds("web_request") {
        props::check_web(&fx, &s).await;
    }
    let mut rng = Rng(0x5EED_CAF1_EE70_0002);
    for _ in 0..600 {
        // A few structured fields, each random.
        let mut input: Vec<u8> = (0..7).map(|_| rng.next() as u8).collect();
        for _ in 0..6 {
            input.push(0xFF);
            input.extend(random_input(&mut rng, 6).into_iter().filter(|b| *b != 0xFF));
        }
        props::check_web(&fx, &input).await;
    }
}

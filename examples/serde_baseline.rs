//! Baseline for benches/compare.sh: a plain serde_json parse of every line of the given files
//! (one thread, no checks), to compare `prep validate` with.

use std::io::BufRead;

fn main() {
    let mut lines = 0u64;
    for path in std::env::args().skip(1) {
        let f =
            std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path).expect("open"));
        for line in f.split(b'\n') {
            let line = line.expect("read");
            let _: serde::de::IgnoredAny = serde_json::from_slice(&line).expect("JSON");
            lines += 1;
        }
    }
    eprintln!("{lines} lines");
}

//! Baseline for benches/compare.sh: the MD5 and SHA-256 of the given files, side by side as
//! prep computes them for manifest-files.json. This is the part of a conversion's CPU that no
//! encoder work can remove (DuckDB computes no checksums).

fn main() {
    for path in std::env::args().skip(1) {
        let d = prep::sink::file_digests(std::path::Path::new(&path), true, true).expect("read");
        eprintln!("{path}: {d:?}");
    }
}

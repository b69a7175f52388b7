//! Baseline for benches/compare.sh: the MD5 and SHA-256 of the given files, on two threads as
//! prep computes them for manifest-files.json. This is the part of a conversion's CPU that no
//! encoder work can remove (DuckDB computes no checksums).

use md5::{Digest, Md5};
use sha2::Sha256;
use std::io::Read;

fn main() {
    for path in std::env::args().skip(1) {
        let mut f = std::fs::File::open(&path).expect("open");
        let (mut md5, mut sha) = (Md5::new(), Sha256::new());
        let mut buf = vec![0u8; 4 << 20];
        loop {
            let n = f.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            std::thread::scope(|s| {
                s.spawn(|| sha.update(chunk));
                md5.update(chunk);
            });
        }
        eprintln!("{path}: {:x} {:x}", md5.finalize(), sha.finalize());
    }
}

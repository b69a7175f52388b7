//! Baseline for benches/compare.sh: the MD5 and CRC64-NVME of the given files, as `prep
//! validate` checks them against manifest-files.json (eight files' MD5s at a time in SIMD lanes,
//! as `prep convert` computes them). This is the part of a conversion's CPU that no encoder work
//! can remove (DuckDB computes no checksums).

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let wanted = prep::hashing::Wanted {
        md5: true,
        crc64: true,
        sha256: false,
    };
    let digests = prep::hashing::files_digests(&paths, wanted).expect("read");
    for (path, d) in paths.iter().zip(digests) {
        eprintln!("{path}: {d:?}");
    }
}

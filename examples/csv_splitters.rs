//! prep's CSV record splitter against the csv crate (csv-core's state machine) on one file:
//! records, cells and bytes per second of each, one thread, the file read from memory. The
//! numbers behind keeping the hand-written splitter (BENCHMARKS.md, "CSV splitter").
//!
//! cargo run --release --example csv_splitters -- FILE.csv [RUNS]

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: csv_splitters FILE.csv [RUNS]");
    let runs: usize = args
        .next()
        .map_or(5, |r| r.parse().expect("RUNS is a number"));
    let text = std::fs::read(&path).expect("readable file");
    let mb = text.len() as f64 / 1e6;
    let mut best = [f64::MAX; 2];
    let mut counts = [(0u64, 0u64); 2];
    for _ in 0..runs {
        // prep's splitter.
        let t = Instant::now();
        let mut s = prep::input::csv_split::Splitter::new(&text[..], b',');
        let mut cells = Vec::new();
        let (mut records, mut n) = (0u64, 0u64);
        while s.next_record(&mut cells).unwrap().is_some() {
            records += 1;
            n += cells.len() as u64;
        }
        best[0] = best[0].min(t.elapsed().as_secs_f64());
        counts[0] = (records, n);
        // The csv crate (csv-core underneath), records reused as prep reuses its cells.
        let t = Instant::now();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&text[..]);
        let mut rec = csv::ByteRecord::new();
        let (mut records, mut n) = (0u64, 0u64);
        while r.read_byte_record(&mut rec).unwrap() {
            records += 1;
            n += rec.len() as u64;
        }
        best[1] = best[1].min(t.elapsed().as_secs_f64());
        counts[1] = (records, n);
    }
    assert_eq!(counts[0], counts[1], "both split the file alike");
    println!(
        "{path}: {mb:.0} MB, {} records, {} cells",
        counts[0].0, counts[0].1
    );
    for (name, s) in [
        ("prep csv_split", best[0]),
        ("csv crate (csv-core)", best[1]),
    ] {
        println!("{name:<22} {s:.3} s  {:.0} MB/s", mb / s);
    }
    println!("ratio: {:.2}x", best[1] / best[0]);
}

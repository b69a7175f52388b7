//! The duplicate-key index alone, fed generated keys (a benchmark for BENCHMARKS.md, not a test):
//! `cargo run --release --example dup_index -- KEYS [MEMORY_MIB] [TMP_DIR]`. One key in a hundred
//! repeats an earlier one. Prints the time to insert and to read every duplicate back, the
//! duplicates found (checked against the generator's count), the peak RSS of the process and the
//! spill's peak disk use (sampled).

use prep::pipeline::duplicates::{DupFinder, Spill};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keys: u64 = args.first().map_or(Ok(20_000_000), |a| a.parse())?;
    let memory: usize = args.get(1).map_or(Ok(256), |a| a.parse())?;
    let tmp = args
        .get(2)
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let spill = Spill {
        dir: tmp.clone(),
        memory: memory << 20,
    };
    let peak_disk = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let (insert_s, read_s, found) = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                peak_disk.fetch_max(dir_bytes(&tmp), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        });
        let run = || -> anyhow::Result<(f64, f64, u64)> {
            let started = Instant::now();
            let mut index = DupFinder::new(Some(spill));
            let mut key = Vec::with_capacity(16);
            for i in 0..keys {
                // Every hundredth item repeats the key of an item about a third of the way back
                // (one that carries its own key).
                let k = match (i % 100 == 99, i / 3) {
                    (false, _) => i,
                    (true, k) if k % 100 == 99 => k - 1,
                    (true, k) => k,
                };
                key.clear();
                key.extend_from_slice(format!("k{k:011}").as_bytes());
                index.insert(prep::model::keys::key_hash(&key), &key, 0, i)?;
            }
            let inserted = started.elapsed().as_secs_f64();
            let started = Instant::now();
            let mut found = index.finish()?;
            let mut n = 0u64;
            while found.next_duplicate()?.is_some() {
                n += 1;
            }
            Ok((inserted, started.elapsed().as_secs_f64(), n))
        };
        let r = run();
        done.store(true, Ordering::Relaxed);
        r
    })?;
    let want = keys / 100;
    assert_eq!(found, want, "duplicates found");
    println!(
        "{keys} keys, --dup-memory {memory} MiB: insert {insert_s:.2} s, sort + read back {read_s:.3} s, \
         {found} duplicates, peak RSS {} MiB, spill peak {:.2} GB ({:.1} bytes a key)",
        peak_rss_mib(),
        peak_disk.load(Ordering::Relaxed) as f64 / 1e9,
        peak_disk.load(Ordering::Relaxed) as f64 / keys as f64
    );
    Ok(())
}

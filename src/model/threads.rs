//! Thread priorities: producers (readers, encoders) yield to the consumers at the end of the line
//! (hashing, compression, writing), and background work to both.

pub use super::sys::lower_priority;

/// Nice value for the threads that make work: reading input units and encoding batches. The
/// consumers at the end of the line (a part's MD5 chain and its SHA-256 thread, zstd's workers)
/// stay at 0, so they run as soon as they have data instead of sharing a core with producers
/// that are already ahead; when a consumer fell behind that way, the bounded queues filled and
/// a core idled (BENCHMARKS.md has the measurement).
pub const PRODUCER_NICE: i32 = 6;

/// Nice value for the thread that reads a CSV file: one file is one unit that a single thread
/// splits in order, and on two cores that thread paces the conversion, so it gets a little more
/// of a core than the encoders it feeds (nice 0 measured the same as 3). Parquet, whose row groups
/// are read in parallel, keeps [`PRODUCER_NICE`].
pub const CSV_READER_NICE: i32 = 3;

/// Nice value for work needed only at the end (the inputs' SHA-256 for the manifest): it takes
/// the cores' idle moments instead of competing with the conversion.
pub const BACKGROUND_NICE: i32 = 10;

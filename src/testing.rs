//! Helpers shared by the unit tests.

/// A deterministic xorshift64 generator (never seeded with 0), so random-input tests reproduce.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// The plain CRC64-NVME the integration tests use too.
#[path = "../tests/reference/crc.rs"]
#[allow(unreachable_pub)]
mod crc;
pub(crate) use crc::crc64nvme;

//! SHA-256 of several streams at once. With the SHA extensions (SHA-NI), one stream runs at the
//! speed of its chain of dependent round instructions, while the core could start several of
//! them at a time: two to four independent streams interleaved in one loop run about twice as
//! fast together (BENCHMARKS.md has the measurement). The
//! part writer hashes its eight open uncompressed parts this way, four at a time, beside their
//! MD5 lanes ([`super::md5x`]), and [`super::files_digests`] eight files at a time. Without
//! SHA-NI the lanes go one after the other through the sha2 crate's block function. Tests
//! compare every path with the sha2 crate.
#![allow(unsafe_code)]

pub(crate) use super::lanes::{update, update_one, LANES};
use super::lanes::{Blocks, Stream};

/// One SHA-256 stream.
pub type Sha256 = Stream<Sha256Blocks>;

/// SHA-256's block function, up to four streams interleaved.
pub struct Sha256Blocks;

impl Blocks for Sha256Blocks {
    type State = [u32; 8];
    type Digest = [u8; 32];
    const INIT: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    const LENGTH_BE: bool = true;

    fn compress_lanes(
        state: &mut [[u32; 8]; LANES],
        data: &[&[u8]; LANES],
        live: &[bool; LANES],
        blocks: usize,
    ) {
        for l in 0..LANES {
            assert!(!live[l] || data[l].len() >= blocks * 64);
        }
        #[cfg(target_arch = "x86_64")]
        if x86::available() {
            // The live lanes, up to four side by side (more do not run faster).
            // (An array, not a Vec: this runs for every piece the part writer hashes.)
            let mut idx = [0usize; LANES];
            let mut n = 0;
            for l in (0..LANES).filter(|&l| live[l]) {
                idx[n] = l;
                n += 1;
            }
            for group in idx[..n].chunks(x86::WIDTH) {
                let mut st: [[u32; 8]; x86::WIDTH] =
                    std::array::from_fn(|k| group.get(k).map_or([0; 8], |&l| state[l]));
                let lanes: [&[u8]; x86::WIDTH] =
                    std::array::from_fn(|k| group.get(k).map_or(&[][..], |&l| data[l]));
                // SAFETY: SHA-NI, SSSE3 and SSE4.1 are present (checked above).
                unsafe {
                    match group.len() {
                        1 => x86::compress::<1>(&mut st, lanes, blocks),
                        2 => x86::compress::<2>(&mut st, lanes, blocks),
                        3 => x86::compress::<3>(&mut st, lanes, blocks),
                        _ => x86::compress::<4>(&mut st, lanes, blocks),
                    }
                }
                for (k, &l) in group.iter().enumerate() {
                    state[l] = st[k];
                }
            }
            return;
        }
        for l in 0..LANES {
            if live[l] {
                let (whole, _) = data[l][..blocks * 64].as_chunks::<64>();
                sha2::block_api::compress256(&mut state[l], whole);
            }
        }
    }

    fn digest(state: &[u32; 8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Streams interleaved at most: four were as fast as three, and faster than two or one.
    pub(super) const WIDTH: usize = 4;

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("ssse3")
            && std::arch::is_x86_feature_detected!("sse4.1")
    }

    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// 16 bytes of `b` from `at` (bounds-checked: only the load itself is unsafe).
    #[target_feature(enable = "sse2")]
    fn load(b: &[u8], at: usize) -> __m128i {
        let bytes: &[u8; 16] = b[at..at + 16].try_into().expect("16 bytes");
        // SAFETY: `bytes` is 16 readable bytes; the load is unaligned.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    /// Four words as one vector.
    #[target_feature(enable = "sse2")]
    fn load_words(w: &[u32]) -> __m128i {
        let w: &[u32; 4] = w[..4].try_into().expect("4 words");
        // SAFETY: `w` is 16 readable bytes; the load is unaligned.
        unsafe { _mm_loadu_si128(w.as_ptr().cast()) }
    }

    /// A vector as four words.
    #[target_feature(enable = "sse2")]
    fn store_words(v: __m128i, w: &mut [u32]) {
        let mut out = [0u32; 4];
        // SAFETY: `out` is 16 writable bytes; the store is unaligned.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) };
        w[..4].copy_from_slice(&out);
    }

    /// `blocks` blocks of each of the first `N` streams (`data[s]` holds at least
    /// `blocks * 64` bytes; checked). The streams' instructions are interleaved round by round
    /// (the rounds are written out, the streams looped over, which the compiler unrolls), so
    /// the core works on one stream while another's round waits. Callers check the CPU
    /// features first ([`available`]).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) fn compress<const N: usize>(
        state: &mut [[u32; 8]; WIDTH],
        data: [&[u8]; WIDTH],
        blocks: usize,
    ) {
        for d in &data[..N] {
            assert!(d.len() >= blocks * 64, "a stream shorter than its blocks");
        }
        // Big-endian words.
        let swap = _mm_set_epi64x(
            0x0C0D_0E0F_0809_0A0Bu64 as i64,
            0x0405_0607_0001_0203u64 as i64,
        );
        // SHA-NI keeps the state as (a, b, e, f) and (c, d, g, h).
        let mut abef = [_mm_setzero_si128(); N];
        let mut cdgh = [_mm_setzero_si128(); N];
        for s in 0..N {
            let dcba = load_words(&state[s][..4]);
            let hgfe = load_words(&state[s][4..]);
            let cdab = _mm_shuffle_epi32(dcba, 0xB1);
            let efgh = _mm_shuffle_epi32(hgfe, 0x1B);
            abef[s] = _mm_alignr_epi8(cdab, efgh, 8);
            cdgh[s] = _mm_blend_epi16(efgh, cdab, 0xF0);
        }
        for b in 0..blocks {
            let (abef0, cdgh0) = (abef, cdgh);
            let mut w = [[_mm_setzero_si128(); 4]; N];
            for s in 0..N {
                for (i, w) in w[s].iter_mut().enumerate() {
                    *w = _mm_shuffle_epi8(load(data[s], b * 64 + 16 * i), swap);
                }
            }
            // Four rounds on message words w[i] (after extending the schedule into it, from
            // round 4 on).
            macro_rules! rounds4 {
                ($r:expr, $i:expr) => {
                    for s in 0..N {
                        let w = &mut w[s];
                        if $r >= 4 {
                            let t1 = _mm_sha256msg1_epu32(w[$i], w[($i + 1) % 4]);
                            let t2 = _mm_alignr_epi8(w[($i + 3) % 4], w[($i + 2) % 4], 4);
                            w[$i] = _mm_sha256msg2_epu32(_mm_add_epi32(t1, t2), w[($i + 3) % 4]);
                        }
                        let k = load_words(&K[4 * $r..]);
                        let t1 = _mm_add_epi32(w[$i], k);
                        cdgh[s] = _mm_sha256rnds2_epu32(cdgh[s], abef[s], t1);
                        let t2 = _mm_shuffle_epi32(t1, 0x0E);
                        abef[s] = _mm_sha256rnds2_epu32(abef[s], cdgh[s], t2);
                    }
                };
            }
            rounds4!(0, 0);
            rounds4!(1, 1);
            rounds4!(2, 2);
            rounds4!(3, 3);
            rounds4!(4, 0);
            rounds4!(5, 1);
            rounds4!(6, 2);
            rounds4!(7, 3);
            rounds4!(8, 0);
            rounds4!(9, 1);
            rounds4!(10, 2);
            rounds4!(11, 3);
            rounds4!(12, 0);
            rounds4!(13, 1);
            rounds4!(14, 2);
            rounds4!(15, 3);
            for s in 0..N {
                abef[s] = _mm_add_epi32(abef[s], abef0[s]);
                cdgh[s] = _mm_add_epi32(cdgh[s], cdgh0[s]);
            }
        }
        for s in 0..N {
            let feba = _mm_shuffle_epi32(abef[s], 0x1B);
            let dchg = _mm_shuffle_epi32(cdgh[s], 0xB1);
            let dcba = _mm_blend_epi16(feba, dchg, 0xF0);
            let hgef = _mm_alignr_epi8(dchg, feba, 8);
            store_words(dcba, &mut state[s][..4]);
            store_words(hgef, &mut state[s][4..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::lanes::testing::bytes;
    use sha2::Digest;

    fn reference(data: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(data).into()
    }

    #[test]
    fn known_digests() {
        let hex = |d: [u8; 32]| crate::hashing::hex(&d);
        assert_eq!(
            hex(Sha256::default().finish()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut m = Sha256::default();
        update_one(&mut m, b"abc");
        assert_eq!(
            hex(m.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// See [`lanes_match_at_every_split`](crate::hashing::lanes::testing::lanes_match_at_every_split).
    #[test]
    fn lanes_match_sha2_at_every_split() {
        crate::hashing::lanes::testing::lanes_match_at_every_split::<Sha256Blocks>(reference);
    }

    /// Each interleaving width gives the sha2 crate's block function's states, stream by
    /// stream, and leaves the streams past it alone.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_width_matches_the_block_function() {
        if !x86::available() {
            eprintln!("no SHA-NI here; the sha2 crate's path is tested above");
            return;
        }
        let data: Vec<Vec<u8>> = (0..LANES).map(|l| bytes(64 * 33, l as u64 + 9)).collect();
        let mut want = [[0u32; 8]; LANES];
        for (l, s) in want.iter_mut().enumerate() {
            *s = [l as u32 + 1; 8];
            sha2::block_api::compress256(s, data[l].as_chunks::<64>().0);
        }
        let lanes: [&[u8]; x86::WIDTH] = std::array::from_fn(|l| &data[l][..]);
        let init: [[u32; 8]; x86::WIDTH] = std::array::from_fn(|l| [l as u32 + 1; 8]);
        macro_rules! width {
            ($n:literal) => {{
                let mut st = init;
                // SAFETY: the CPU has the features (checked above).
                unsafe { x86::compress::<$n>(&mut st, lanes, 33) };
                assert_eq!(st[..$n], want[..$n], "width {}", $n);
                assert_eq!(st[$n..], init[$n..], "width {}", $n);
            }};
        }
        width!(1);
        width!(2);
        width!(3);
        width!(4);
    }
}

//! MD5 of several streams at once. One MD5 is a single chain of dependent steps, so a core
//! mostly waits on it; eight independent streams in the eight 32-bit lanes of a 256-bit register
//! advance together for about the price of one (measurements: BENCHMARKS.md; the streams
//! themselves: [`super::lanes`]). The part writer keeps eight uncompressed parts open side by
//! side to use it, and [`super::files_digests`] reads eight files at a time.
//!
//! With AVX2 the lanes run in 256-bit registers; with SSE2 alone (every x86-64), four at a time
//! in 128-bit registers. Elsewhere the lanes run one after the other. Tests compare every path
//! with the md-5 crate. (An AVX-512 variant, with one-instruction rotations and round
//! functions, was removed: it was never shown to gain the 15 % end to end that a hand-written
//! fast path must.)
#![allow(unsafe_code)]

pub(crate) use super::lanes::{update, update_one, LANES};
use super::lanes::{Blocks, Stream};

/// One MD5 stream.
pub type Md5 = Stream<Md5Blocks>;

/// MD5's block function, [`LANES`] lanes at a time.
pub struct Md5Blocks;

impl Blocks for Md5Blocks {
    type State = [u32; 4];
    type Digest = [u8; 16];
    const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    const LENGTH_BE: bool = false;

    fn compress_lanes(
        state: &mut [[u32; 4]; LANES],
        data: &[&[u8]; LANES],
        live: &[bool; LANES],
        blocks: usize,
    ) {
        compress_lanes(state, data, live, blocks)
    }

    fn digest(state: &[u32; 4]) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(state) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// `blocks` 64-byte blocks of each live lane's input.
fn compress_lanes(
    state: &mut [[u32; 4]; LANES],
    data: &[&[u8]; LANES],
    live: &[bool; LANES],
    blocks: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        // Dead lanes read a block of zeros again and again; their state is thrown away.
        static ZERO: [u8; 64] = [0; 64];
        let lanes: [&[u8]; LANES] =
            std::array::from_fn(|l| if live[l] { data[l] } else { &ZERO[..] });
        let step: [usize; LANES] = std::array::from_fn(|l| if live[l] { 64 } else { 0 });
        for l in 0..LANES {
            assert!(!live[l] || data[l].len() >= blocks * 64);
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { x86::avx2(state, lanes, step, blocks) }
        } else {
            sse2_halves(state, lanes, step, blocks)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for l in 0..LANES {
        if live[l] {
            for block in data[l][..blocks * 64].chunks_exact(64) {
                compress_one(&mut state[l], block);
            }
        }
    }
}

/// The lanes four at a time in 128-bit vectors (SSE2: every x86-64 has it).
#[cfg(target_arch = "x86_64")]
fn sse2_halves(
    state: &mut [[u32; 4]; LANES],
    data: [&[u8]; LANES],
    step: [usize; LANES],
    blocks: usize,
) {
    for h in 0..LANES / 4 {
        let mut st: [[u32; 4]; 4] = std::array::from_fn(|l| state[4 * h + l]);
        // SAFETY: every x86-64 CPU has SSE2.
        unsafe {
            x86::sse2(
                &mut st,
                std::array::from_fn(|l| data[4 * h + l]),
                std::array::from_fn(|l| step[4 * h + l]),
                blocks,
            )
        };
        state[4 * h..4 * h + 4].copy_from_slice(&st);
    }
}

const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];
const S: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

/// Which message word step `i` reads.
const fn word(i: usize) -> usize {
    match i / 16 {
        0 => i,
        1 => (5 * i + 1) % 16,
        2 => (3 * i + 5) % 16,
        _ => (7 * i) % 16,
    }
}

/// The plain block function, where there is no SIMD.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn compress_one(state: &mut [u32; 4], block: &[u8]) {
    let m: [u32; 16] =
        std::array::from_fn(|w| u32::from_le_bytes(block[4 * w..4 * w + 4].try_into().unwrap()));
    let [mut a, mut b, mut c, mut d] = *state;
    for i in 0..64 {
        let f = match i / 16 {
            0 => (b & c) | (!b & d),
            1 => (b & d) | (c & !d),
            2 => b ^ c ^ d,
            _ => c ^ (b | !d),
        };
        let t = a
            .wrapping_add(f)
            .wrapping_add(K[i])
            .wrapping_add(m[word(i)])
            .rotate_left(S[i / 16 * 4 + i % 4]);
        a = d;
        d = c;
        c = b;
        b = b.wrapping_add(t);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{word, K, LANES, S};
    use std::arch::x86_64::*;

    /// One step: `wa = wb + rol(wa + fun(wb, wc, wd) + K[k] + m[word(k)], S)`; `$add` and
    /// `$set1` are the vector width's addition and broadcast.
    macro_rules! step {
        ($add:ident, $set1:ident, $m:ident, $rol:ident, $fun:ident, $k:expr, $wa:ident, $wb:ident, $wc:ident, $wd:ident) => {{
            const I: usize = $k;
            let km = $add($m[word(I)], $set1(K[I] as i32));
            let t = $add($add($wa, km), $fun($wb, $wc, $wd));
            $wa = $add($wb, $rol(t, S[I / 16 * 4 + I % 4]));
        }};
    }
    /// Four steps, the words' roles rotating.
    macro_rules! four {
        ($add:ident, $set1:ident, $m:ident, $rol:ident, $fun:ident, $k:expr, $a:ident, $b:ident, $c:ident, $d:ident) => {
            step!($add, $set1, $m, $rol, $fun, $k, $a, $b, $c, $d);
            step!($add, $set1, $m, $rol, $fun, $k + 1, $d, $a, $b, $c);
            step!($add, $set1, $m, $rol, $fun, $k + 2, $c, $d, $a, $b);
            step!($add, $set1, $m, $rol, $fun, $k + 3, $b, $c, $d, $a);
        };
    }
    /// One block's 64 steps on the state vectors `a, b, c, d` (every lane's word a, and so on)
    /// with the block's words `m[w]`; `$f/$g/$h/$i` are the round functions and `$rol` the
    /// rotation of the flavour the macro is expanded in.
    macro_rules! block {
        ($add:ident, $set1:ident, $m:ident, $f:ident, $g:ident, $h:ident, $i:ident, $rol:ident, $a:ident, $b:ident, $c:ident, $d:ident) => {{
            let (a0, b0, c0, d0) = ($a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $f, 0, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $f, 4, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $f, 8, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $f, 12, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $g, 16, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $g, 20, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $g, 24, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $g, 28, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $h, 32, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $h, 36, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $h, 40, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $h, 44, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $i, 48, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $i, 52, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $i, 56, $a, $b, $c, $d);
            four!($add, $set1, $m, $rol, $i, 60, $a, $b, $c, $d);
            $a = $add($a, a0);
            $b = $add($b, b0);
            $c = $add($c, c0);
            $d = $add($d, d0);
        }};
    }

    /// 16 bytes of `b` from `at` (bounds-checked: only the load itself is unsafe).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load16(b: &[u8], at: usize) -> __m128i {
        let bytes: &[u8; 16] = b[at..at + 16].try_into().expect("16 bytes");
        // SAFETY: `bytes` is 16 readable bytes; the load is unaligned.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    /// Four words as one vector.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn words4(v: &[u32; 4]) -> __m128i {
        // SAFETY: `v` is 16 readable bytes; the load is unaligned.
        unsafe { _mm_loadu_si128(v.as_ptr().cast()) }
    }

    /// Eight words as one vector.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn words8(v: &[u32; 8]) -> __m256i {
        // SAFETY: `v` is 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
    }

    /// A vector as four words.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn store4(v: __m128i) -> [u32; 4] {
        let mut out = [0u32; 4];
        // SAFETY: `out` is 16 writable bytes; the store is unaligned.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) };
        out
    }

    /// A vector as eight words.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn store8(v: __m256i) -> [u32; 8] {
        let mut out = [0u32; 8];
        // SAFETY: `out` is 32 writable bytes; the store is unaligned.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
        out
    }

    /// Row `q` (bytes 16q..16q+16) of the blocks at `at[0..4]` of `d[0..4]`, transposed: word
    /// 4q+k of the four lanes in element k.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn rows4(d: &[&[u8]], at: &[usize], q: usize) -> [__m128i; 4] {
        let r0 = load16(d[0], at[0] + 16 * q);
        let r1 = load16(d[1], at[1] + 16 * q);
        let r2 = load16(d[2], at[2] + 16 * q);
        let r3 = load16(d[3], at[3] + 16 * q);
        let t0 = _mm_unpacklo_epi32(r0, r1);
        let t1 = _mm_unpacklo_epi32(r2, r3);
        let t2 = _mm_unpackhi_epi32(r0, r1);
        let t3 = _mm_unpackhi_epi32(r2, r3);
        [
            _mm_unpacklo_epi64(t0, t1),
            _mm_unpackhi_epi64(t0, t1),
            _mm_unpacklo_epi64(t2, t3),
            _mm_unpackhi_epi64(t2, t3),
        ]
    }

    /// Four lanes in 128-bit vectors.
    macro_rules! body4 {
        ($state:ident, $data:ident, $step:ident, $blocks:ident, $f:ident, $g:ident, $h:ident, $i:ident, $rol:ident) => {{
            let load = |w: usize| words4(&std::array::from_fn(|l| $state[l][w]));
            let (mut a, mut b, mut c, mut d) = (load(0), load(1), load(2), load(3));
            let mut at = [0usize; 4];
            for _ in 0..$blocks {
                let mut m = [_mm_setzero_si128(); 16];
                for q in 0..4 {
                    m[4 * q..4 * q + 4].copy_from_slice(&rows4(&$data, &at, q));
                }
                block!(
                    _mm_add_epi32,
                    _mm_set1_epi32,
                    m,
                    $f,
                    $g,
                    $h,
                    $i,
                    $rol,
                    a,
                    b,
                    c,
                    d
                );
                for l in 0..4 {
                    at[l] += $step[l];
                }
            }
            for (w, v) in [a, b, c, d].into_iter().enumerate() {
                let lanes = store4(v);
                for l in 0..4 {
                    $state[l][w] = lanes[l];
                }
            }
        }};
    }

    /// Eight lanes in 256-bit vectors.
    macro_rules! body8 {
        ($state:ident, $data:ident, $step:ident, $blocks:ident, $f:ident, $g:ident, $h:ident, $i:ident, $rol:ident) => {{
            let load = |w: usize| words8(&std::array::from_fn(|l| $state[l][w]));
            let (mut a, mut b, mut c, mut d) = (load(0), load(1), load(2), load(3));
            let mut at = [0usize; LANES];
            for _ in 0..$blocks {
                let mut m = [_mm256_setzero_si256(); 16];
                for q in 0..4 {
                    let lo = rows4(&$data[..4], &at[..4], q);
                    let hi = rows4(&$data[4..], &at[4..], q);
                    for k in 0..4 {
                        m[4 * q + k] = _mm256_set_m128i(hi[k], lo[k]);
                    }
                }
                block!(
                    _mm256_add_epi32,
                    _mm256_set1_epi32,
                    m,
                    $f,
                    $g,
                    $h,
                    $i,
                    $rol,
                    a,
                    b,
                    c,
                    d
                );
                for l in 0..LANES {
                    at[l] += $step[l];
                }
            }
            for (w, v) in [a, b, c, d].into_iter().enumerate() {
                let lanes = store8(v);
                for l in 0..LANES {
                    $state[l][w] = lanes[l];
                }
            }
        }};
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn rol_sse2(x: __m128i, s: u32) -> __m128i {
        _mm_or_si128(
            _mm_sll_epi32(x, _mm_cvtsi32_si128(s as i32)),
            _mm_srl_epi32(x, _mm_cvtsi32_si128(32 - s as i32)),
        )
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    fn f_sse2(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_xor_si128(d, _mm_and_si128(b, _mm_xor_si128(c, d)))
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    fn g_sse2(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_xor_si128(c, _mm_and_si128(d, _mm_xor_si128(b, c)))
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    fn h_sse2(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_xor_si128(_mm_xor_si128(b, c), d)
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    fn i_sse2(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_xor_si128(c, _mm_or_si128(b, _mm_xor_si128(d, _mm_set1_epi32(-1))))
    }

    /// Four lanes, with what every x86-64 has: `blocks` blocks of each `data[l]`, `step[l]`
    /// bytes apart (0: the same block again; the loads are bounds-checked).
    #[target_feature(enable = "sse2")]
    pub(super) fn sse2(
        state: &mut [[u32; 4]; 4],
        data: [&[u8]; 4],
        step: [usize; 4],
        blocks: usize,
    ) {
        body4!(state, data, step, blocks, f_sse2, g_sse2, h_sse2, i_sse2, rol_sse2)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn rol_avx2(x: __m256i, s: u32) -> __m256i {
        _mm256_or_si256(
            _mm256_sll_epi32(x, _mm_cvtsi32_si128(s as i32)),
            _mm256_srl_epi32(x, _mm_cvtsi32_si128(32 - s as i32)),
        )
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    fn f_avx2(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    fn g_avx2(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c)))
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    fn h_avx2(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_xor_si256(_mm256_xor_si256(b, c), d)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    fn i_avx2(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_xor_si256(
            c,
            _mm256_or_si256(b, _mm256_xor_si256(d, _mm256_set1_epi32(-1))),
        )
    }

    /// Eight lanes with AVX2, as [`sse2`]; callers check that the CPU has AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn avx2(
        state: &mut [[u32; 4]; LANES],
        data: [&[u8]; LANES],
        step: [usize; LANES],
        blocks: usize,
    ) {
        body8!(state, data, step, blocks, f_avx2, g_avx2, h_avx2, i_avx2, rol_avx2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::lanes::testing::bytes;
    use md5::Digest;

    fn reference(data: &[u8]) -> [u8; 16] {
        md5::Md5::digest(data).into()
    }

    #[test]
    fn known_digests() {
        let hex = |d: [u8; 16]| crate::hashing::hex(&d);
        assert_eq!(
            hex(Md5::default().finish()),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        let mut m = Md5::default();
        update_one(&mut m, b"abc");
        assert_eq!(hex(m.finish()), "900150983cd24fb0d6963f7d28e17f72");
    }

    /// See [`lanes_match_at_every_split`](crate::hashing::lanes::testing::lanes_match_at_every_split).
    #[test]
    fn lanes_match_md5_at_every_split() {
        crate::hashing::lanes::testing::lanes_match_at_every_split::<Md5Blocks>(reference);
    }

    /// Every SIMD flavour this CPU has gives the plain block function's states.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_flavour_matches_the_plain_function() {
        let data: Vec<Vec<u8>> = (0..LANES).map(|l| bytes(64 * 33, l as u64 + 9)).collect();
        let lanes: [&[u8]; LANES] = std::array::from_fn(|l| &data[l][..]);
        let init: [[u32; 4]; LANES] = std::array::from_fn(|l| [1, 2, 3, l as u32]);
        let mut want = init;
        for (l, s) in want.iter_mut().enumerate() {
            for block in data[l].chunks_exact(64) {
                compress_one(s, block);
            }
        }
        let mut got = init;
        sse2_halves(&mut got, lanes, [64; LANES], 33);
        assert_eq!(got, want, "sse2");
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut got = init;
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { x86::avx2(&mut got, lanes, [64; LANES], 33) };
            assert_eq!(got, want, "avx2");
        }
    }
}

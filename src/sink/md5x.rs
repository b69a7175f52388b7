//! MD5 of several streams at once. One MD5 is a single chain of dependent steps (about 4.7
//! cycles a byte here, whatever the implementation), so a core mostly waits on it; four
//! independent streams in the four 32-bit lanes of a SIMD register advance together for about
//! the price of one (the streams themselves: [`super::lanes`]). The part writer keeps four uncompressed parts open side by side to use it,
//! and [`super::files_digests`] reads four files at a time.
//!
//! x86-64 has SSE2 everywhere; with AVX-512 (VL) rotations and the round functions are one
//! instruction each. Elsewhere the lanes run one after the other. Tests compare every path with
//! the md-5 crate.

pub use super::lanes::{update, update_one, LANES};
use super::lanes::{Blocks, Stream};

/// One MD5 stream.
pub type Md5 = Stream<Md5Blocks>;

/// MD5's block function, four lanes at a time.
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
        let ptr: [*const u8; LANES] = std::array::from_fn(|l| {
            if live[l] {
                data[l].as_ptr()
            } else {
                ZERO.as_ptr()
            }
        });
        let step: [usize; LANES] = std::array::from_fn(|l| if live[l] { 64 } else { 0 });
        for l in 0..LANES {
            assert!(!live[l] || data[l].len() >= blocks * 64);
        }
        // SAFETY: every live pointer has `blocks` blocks behind it (asserted above); dead
        // lanes do not move.
        unsafe {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                x86::avx512(state, ptr, step, blocks)
            } else {
                x86::sse2(state, ptr, step, blocks)
            }
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

    /// One step: `wa = wb + rol(wa + fun(wb, wc, wd) + K[k] + m[word(k)], S)`.
    macro_rules! step {
        ($m:ident, $rol:ident, $fun:ident, $k:expr, $wa:ident, $wb:ident, $wc:ident, $wd:ident) => {{
            const I: usize = $k;
            let km = _mm_add_epi32($m[word(I)], _mm_set1_epi32(K[I] as i32));
            let t = _mm_add_epi32(_mm_add_epi32($wa, km), $fun($wb, $wc, $wd));
            $wa = _mm_add_epi32($wb, $rol(t, S[I / 16 * 4 + I % 4]));
        }};
    }
    /// Four steps, the words' roles rotating.
    macro_rules! four {
        ($m:ident, $rol:ident, $fun:ident, $k:expr, $a:ident, $b:ident, $c:ident, $d:ident) => {
            step!($m, $rol, $fun, $k, $a, $b, $c, $d);
            step!($m, $rol, $fun, $k + 1, $d, $a, $b, $c);
            step!($m, $rol, $fun, $k + 2, $c, $d, $a, $b);
            step!($m, $rol, $fun, $k + 3, $b, $c, $d, $a);
        };
    }

    /// The 64 steps over `blocks` blocks per lane; `$f/$g/$h/$i` are the round functions and
    /// `$rol` the rotation of the flavour the macro is expanded in.
    macro_rules! lanes_body {
        ($state:ident, $ptr:ident, $step:ident, $blocks:ident, $f:ident, $g:ident, $h:ident, $i:ident, $rol:ident) => {{
            // State as four vectors of lanes: a = the `a` word of lanes 0..3, and so on.
            let load = |w: usize| {
                _mm_set_epi32(
                    $state[3][w] as i32,
                    $state[2][w] as i32,
                    $state[1][w] as i32,
                    $state[0][w] as i32,
                )
            };
            let (mut a, mut b, mut c, mut d) = (load(0), load(1), load(2), load(3));
            let mut p = $ptr;
            for _ in 0..$blocks {
                // Four 16-byte rows per lane, transposed so that m[w] holds word w of every lane.
                let mut m = [_mm_setzero_si128(); 16];
                for q in 0..4 {
                    let r0 = _mm_loadu_si128(p[0].add(16 * q) as *const __m128i);
                    let r1 = _mm_loadu_si128(p[1].add(16 * q) as *const __m128i);
                    let r2 = _mm_loadu_si128(p[2].add(16 * q) as *const __m128i);
                    let r3 = _mm_loadu_si128(p[3].add(16 * q) as *const __m128i);
                    let t0 = _mm_unpacklo_epi32(r0, r1);
                    let t1 = _mm_unpacklo_epi32(r2, r3);
                    let t2 = _mm_unpackhi_epi32(r0, r1);
                    let t3 = _mm_unpackhi_epi32(r2, r3);
                    m[4 * q] = _mm_unpacklo_epi64(t0, t1);
                    m[4 * q + 1] = _mm_unpackhi_epi64(t0, t1);
                    m[4 * q + 2] = _mm_unpacklo_epi64(t2, t3);
                    m[4 * q + 3] = _mm_unpackhi_epi64(t2, t3);
                }
                let (a0, b0, c0, d0) = (a, b, c, d);
                four!(m, $rol, $f, 0, a, b, c, d);
                four!(m, $rol, $f, 4, a, b, c, d);
                four!(m, $rol, $f, 8, a, b, c, d);
                four!(m, $rol, $f, 12, a, b, c, d);
                four!(m, $rol, $g, 16, a, b, c, d);
                four!(m, $rol, $g, 20, a, b, c, d);
                four!(m, $rol, $g, 24, a, b, c, d);
                four!(m, $rol, $g, 28, a, b, c, d);
                four!(m, $rol, $h, 32, a, b, c, d);
                four!(m, $rol, $h, 36, a, b, c, d);
                four!(m, $rol, $h, 40, a, b, c, d);
                four!(m, $rol, $h, 44, a, b, c, d);
                four!(m, $rol, $i, 48, a, b, c, d);
                four!(m, $rol, $i, 52, a, b, c, d);
                four!(m, $rol, $i, 56, a, b, c, d);
                four!(m, $rol, $i, 60, a, b, c, d);
                a = _mm_add_epi32(a, a0);
                b = _mm_add_epi32(b, b0);
                c = _mm_add_epi32(c, c0);
                d = _mm_add_epi32(d, d0);
                for l in 0..LANES {
                    p[l] = p[l].add($step[l]);
                }
            }
            let mut out = [[0u32; 4]; 4];
            for (w, v) in [a, b, c, d].into_iter().enumerate() {
                let mut lanes = [0u32; 4];
                _mm_storeu_si128(lanes.as_mut_ptr() as *mut __m128i, v);
                out[w] = lanes;
            }
            for l in 0..LANES {
                for w in 0..4 {
                    $state[l][w] = out[w][l];
                }
            }
        }};
    }

    #[inline(always)]
    unsafe fn rol_sse2(x: __m128i, s: u32) -> __m128i {
        _mm_or_si128(
            _mm_sll_epi32(x, _mm_cvtsi32_si128(s as i32)),
            _mm_srl_epi32(x, _mm_cvtsi32_si128(32 - s as i32)),
        )
    }
    #[inline(always)]
    unsafe fn f_sse2(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_xor_si128(d, _mm_and_si128(b, _mm_xor_si128(c, d)))
    }
    #[inline(always)]
    unsafe fn g_sse2(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_xor_si128(c, _mm_and_si128(d, _mm_xor_si128(b, c)))
    }
    #[inline(always)]
    unsafe fn h_sse2(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_xor_si128(_mm_xor_si128(b, c), d)
    }
    #[inline(always)]
    unsafe fn i_sse2(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_xor_si128(c, _mm_or_si128(b, _mm_xor_si128(d, _mm_set1_epi32(-1))))
    }

    /// # Safety
    /// Each `ptr[l]` must have `blocks * step[l]` readable bytes (plus 64 when `step[l]` is 0).
    pub(super) unsafe fn sse2(
        state: &mut [[u32; 4]; LANES],
        ptr: [*const u8; LANES],
        step: [usize; LANES],
        blocks: usize,
    ) {
        lanes_body!(state, ptr, step, blocks, f_sse2, g_sse2, h_sse2, i_sse2, rol_sse2)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    unsafe fn rol_512(x: __m128i, s: u32) -> __m128i {
        _mm_rolv_epi32(x, _mm_set1_epi32(s as i32))
    }
    // vpternlogd truth tables (operands b, c, d): F = b ? c : d, G = d ? b : c, H = b ^ c ^ d,
    // I = c ^ (b | !d).
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    unsafe fn f_512(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_ternarylogic_epi32::<0xCA>(b, c, d)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    unsafe fn g_512(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_ternarylogic_epi32::<0xE4>(b, c, d)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    unsafe fn h_512(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_ternarylogic_epi32::<0x96>(b, c, d)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    unsafe fn i_512(b: __m128i, c: __m128i, d: __m128i) -> __m128i {
        _mm_ternarylogic_epi32::<0x39>(b, c, d)
    }

    /// # Safety
    /// As [`sse2`], on a CPU with AVX-512F and AVX-512VL.
    #[target_feature(enable = "avx512f,avx512vl")]
    pub(super) unsafe fn avx512(
        state: &mut [[u32; 4]; LANES],
        ptr: [*const u8; LANES],
        step: [usize; LANES],
        blocks: usize,
    ) {
        lanes_body!(state, ptr, step, blocks, f_512, g_512, h_512, i_512, rol_512)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::lanes::testing::bytes;
    use md5::Digest;

    fn reference(data: &[u8]) -> [u8; 16] {
        md5::Md5::digest(data).into()
    }

    #[test]
    fn known_digests() {
        let hex = |d: [u8; 16]| crate::sink::hex(&d);
        assert_eq!(
            hex(Md5::default().finish()),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        let mut m = Md5::default();
        update([Some((&mut m, &b"abc"[..])), None, None, None]);
        assert_eq!(hex(m.finish()), "900150983cd24fb0d6963f7d28e17f72");
    }

    /// See [`lanes_match_at_every_split`](crate::sink::lanes::testing::lanes_match_at_every_split).
    #[test]
    fn lanes_match_md5_at_every_split() {
        crate::sink::lanes::testing::lanes_match_at_every_split::<Md5Blocks>(reference);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_and_avx512_agree() {
        let data: Vec<Vec<u8>> = (0..LANES).map(|l| bytes(64 * 33, l as u64 + 9)).collect();
        let ptr: [*const u8; LANES] = std::array::from_fn(|l| data[l].as_ptr());
        let mut a = [[1u32, 2, 3, 4]; LANES];
        let mut b = a;
        unsafe { x86::sse2(&mut a, ptr, [64; LANES], 33) };
        for (l, s) in b.iter_mut().enumerate() {
            for block in data[l].chunks_exact(64) {
                compress_one(s, block);
            }
        }
        assert_eq!(a, b);
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            let mut c = [[1u32, 2, 3, 4]; LANES];
            unsafe { x86::avx512(&mut c, ptr, [64; LANES], 33) };
            assert_eq!(c, b);
        }
    }
}

//! Appending bytes: the short-copy fast path every writer uses, and base64.
//!
//! [`put`] is a fast path (unsafe, allowed in this module only): its plain reference is
//! `Vec::extend_from_slice`, and the unit test below compares the two at every length and
//! alignment it handles.
#![allow(unsafe_code)]

use base64::Engine;

/// Append `s` to `out`. Most pieces of an item are short (names, numbers, small values); those
/// are moved with two overlapping loads and stores instead of a call to memcpy, which costs more
/// than the copy at these sizes.
#[inline(always)]
pub fn put(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n > 32 {
        out.extend_from_slice(s);
        return;
    }
    out.reserve(32);
    let len = out.len();
    // SAFETY: `reserve(32)` leaves at least 32 writable bytes after `len`, and every store below
    // ends at most `n <= 32` bytes after it; every load reads inside `s` (the pairs overlap when
    // `n` is not a power of two). The `n` bytes after `len` are then initialised.
    unsafe {
        let src = s.as_ptr();
        let dst = out.as_mut_ptr().add(len);
        if n >= 16 {
            let a = src.cast::<[u8; 16]>().read_unaligned();
            let b = src.add(n - 16).cast::<[u8; 16]>().read_unaligned();
            dst.cast::<[u8; 16]>().write_unaligned(a);
            dst.add(n - 16).cast::<[u8; 16]>().write_unaligned(b);
        } else if n >= 8 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let a = src.cast::<u32>().read_unaligned();
            let b = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            *dst = *src;
            *dst.add(n / 2) = *src.add(n / 2);
            *dst.add(n - 1) = *src.add(n - 1);
        }
        out.set_len(len + n);
    }
}

/// Append standard, padded base64.
pub fn base64_into(v: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let n = v.len().div_ceil(3) * 4;
    out.resize(start + n, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(v, &mut out[start..])
        .expect("buffer sized for base64");
    out.truncate(start + written);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same bytes as `extend_from_slice`, at every length the short paths take and past
    /// them, after any number of bytes already in the vector, whatever its spare capacity.
    #[test]
    fn put_is_extend_from_slice() {
        let src: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for before in 0..40 {
            for start in 0..8 {
                for n in 0..=48 {
                    let s = &src[start..start + n];
                    let mut got: Vec<u8> = Vec::with_capacity(before + (n % 7));
                    got.extend((0..before).map(|i| i as u8));
                    let mut want = got.clone();
                    put(&mut got, s);
                    want.extend_from_slice(s);
                    assert_eq!(got, want, "{before} bytes before, {n} put");
                }
            }
        }
    }

    #[test]
    fn base64_is_the_crate_s_padded_standard() {
        for n in 0..10 {
            let v: Vec<u8> = (0..n).map(|i| (i * 41) as u8).collect();
            let mut out = b"x".to_vec();
            base64_into(&v, &mut out);
            let want = base64::engine::general_purpose::STANDARD.encode(&v);
            assert_eq!(out, [b"x".as_slice(), want.as_bytes()].concat());
        }
    }
}

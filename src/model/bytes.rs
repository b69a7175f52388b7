//! Appending bytes: the one append every writer uses, and base64.

use base64::Engine;

/// Append `s` to `out`. (Short pieces were once copied with overlapping loads and stores instead
/// of `memcpy`; that measured no end-to-end gain and went, with its `unsafe`.)
#[inline(always)]
pub fn put(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s);
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

//! Escaping string bodies for DynamoDB JSON and Ion, and the search for the next byte to escape,
//! eight bytes at a time in a word. (A 32-byte AVX2 search beside it measured no end-to-end gain
//! on the benchmark data, converting or validating, so it was removed with its `unsafe`.) The
//! plain references are the table itself (`ESCAPE`, checked byte by byte in the unit tests
//! below) and, in tests/reference, serde_json's escaper and a byte-at-a-time one, compared by the
//! differential tests and the `escape` fuzz target.

use crate::model::bytes::put;

/// 0 = copy, b'u' = \u00XX, anything else = that character after a backslash.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// The index of the first byte at or after `i` that a JSON string must escape (quote, backslash,
/// control character), or `v.len()`. Eight bytes at a time: most strings have none.
#[inline]
pub fn find_escape(v: &[u8], i: usize) -> usize {
    find_special::<false>(v, i)
}

/// [`find_escape`], also stopping at non-ASCII bytes when `NON_ASCII` (for a reader that checks
/// their UTF-8).
#[inline]
pub fn find_special<const NON_ASCII: bool>(v: &[u8], i: usize) -> usize {
    find_special_words::<NON_ASCII>(v, i)
}

/// The bytes of an eight-byte little-endian word that [`find_special`] stops at, as their top
/// bits. Only the lowest flagged byte is exact (borrows only run towards higher bytes), which is
/// the one a search wants.
#[inline(always)]
pub(crate) fn special_in_word<const NON_ASCII: bool>(c: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let hit = zero(c ^ (ONES * b'"' as u64))
        | zero(c ^ (ONES * b'\\' as u64))
        | (c.wrapping_sub(ONES * 0x20) & !c & HIGH);
    if NON_ASCII {
        hit | (c & HIGH)
    } else {
        hit
    }
}

#[inline]
fn find_special_words<const NON_ASCII: bool>(v: &[u8], mut i: usize) -> usize {
    while i + 8 <= v.len() {
        let c = u64::from_le_bytes(v[i..i + 8].try_into().expect("eight bytes"));
        let hit = special_in_word::<NON_ASCII>(c);
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    if i < v.len() && v.len() >= 8 {
        // The last eight bytes, overlapping bytes before `i`. Those may hold a hit (a search
        // resumes right after the byte it escaped), and a hit's borrow flags the byte above it
        // wrongly (`"#`, `\]`, `\n` then a space). So they are replaced by a byte that is never
        // flagged and never borrows before the word is classified.
        let last = v.len() - 8;
        let c = u64::from_le_bytes(v[last..].try_into().expect("eight bytes"));
        let keep = u64::MAX << ((i - last) * 8);
        let c = (c & keep) | (0x4141_4141_4141_4141 & !keep);
        let hit = special_in_word::<NON_ASCII>(c) & keep;
        return if hit != 0 {
            last + (hit.trailing_zeros() / 8) as usize
        } else {
            v.len()
        };
    }
    while i < v.len() && ESCAPE[v[i] as usize] == 0 && !(NON_ASCII && v[i] >= 0x80) {
        i += 1;
    }
    i
}

/// Escape a UTF-8 string for a JSON (and Ion: the escapes used are common to both) string body.
#[inline]
pub fn escape_into(v: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    loop {
        let i = find_escape(v, start);
        put(out, &v[start..i]);
        let Some(&c) = v.get(i) else {
            return;
        };
        let e = ESCAPE[c as usize];
        out.push(b'\\');
        if e == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"u00");
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        } else {
            out.push(e);
        }
        start = i + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut out = vec![];
        escape_into("a\"b\\c\n\u{1}é😀\u{7f}".as_bytes(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\\"b\\\\c\\n\\u0001é😀\u{7f}"
        );
    }

    /// The eight-at-a-time scan finds exactly the first byte the table escapes, whatever
    /// surrounds it (high bytes and zero bytes included, which trip naive bit tricks).
    #[test]
    fn find_escape_agrees_with_the_table() {
        // Whole words and a tail shorter than a word.
        for len in [20, 75] {
            for fill in [b'a', 0x80, 0xff, b'!', b'~', 0x20, 0x7f] {
                for b in 0..=255u8 {
                    for p in 0..len {
                        let mut v = vec![fill; len];
                        v[p] = b;
                        let escaped = |c: u8| ESCAPE[c as usize] != 0;
                        let want = v.iter().position(|&c| escaped(c)).unwrap_or(len);
                        assert_eq!(find_escape(&v, 0), want, "fill {fill} byte {b} at {p}");
                        let from = p.min(5);
                        let want = (from..len).find(|&k| escaped(v[k])).unwrap_or(len);
                        assert_eq!(find_escape(&v, from), want);
                        let special = |c: u8| escaped(c) || c >= 0x80;
                        let want = v.iter().position(|&c| special(c)).unwrap_or(len);
                        assert_eq!(find_special::<true>(&v, 0), want, "{fill} {b} {p}");
                    }
                }
            }
        }
        let mut out = vec![];
        escape_into("0123456789\"abcdefgh\u{1f}ijklmnop\\".as_bytes(), &mut out);
        assert_eq!(out, b"0123456789\\\"abcdefgh\\u001fijklmnop\\\\");
    }
}

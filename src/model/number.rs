//! DynamoDB numbers: syntax, canonical text, range and the size they count for in an item.
//!
//! Numbers are handled as decimal text, never through f64, so `1.50` becomes `1.5` and a
//! 38-digit decimal keeps every digit.

use crate::model::bytes::put;
use crate::model::rules::{self, Rule};

/// Why a text is not a storable DynamoDB number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumError {
    Syntax,
    TooManyDigits,
    Overflow,
    Underflow,
}

impl NumError {
    pub fn rule(self) -> &'static Rule {
        match self {
            NumError::Syntax => &rules::NUMBER_SYNTAX,
            NumError::TooManyDigits => &rules::NUMBER_TOO_MANY_DIGITS,
            NumError::Overflow => &rules::NUMBER_OVERFLOW,
            NumError::Underflow => &rules::NUMBER_UNDERFLOW,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            NumError::Syntax => "is not a valid number",
            NumError::TooManyDigits => "has more than 38 significant digits",
            NumError::Overflow => "is too large (magnitude above 9.99…E+125)",
            NumError::Underflow => "is too small (non-zero magnitude below 1E-130)",
        }
    }
}

/// Largest decimal exponent of the leading digit DynamoDB accepts (9.99…E+125).
const MAX_EXP: i64 = 125;
/// Smallest decimal exponent of the leading digit (1E-130).
const MIN_EXP: i64 = -130;
/// Integers with up to this many digits are written in plain notation; beyond, with an exponent.
const PLAIN_INT_DIGITS: i64 = 38;
/// Fractions down to this exponent of the leading digit are written plainly (`0.0000001`).
const PLAIN_MIN_EXP: i64 = -7;

/// Parse `text` as a DynamoDB number, append its canonical form to `out`, and return the number of
/// bytes it counts for in DynamoDB's item size formula.
///
/// Accepted syntax: `-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?`. Canonical form: no leading or trailing
/// zeros, `-` only for non-zero values, plain notation for integers of up to 38 digits and for
/// fractions down to 1E-7, otherwise `d.dddE±x`.
pub fn canonicalize(text: &[u8], out: &mut Vec<u8>) -> Result<usize, NumError> {
    if let Some((size, len)) = plain_canonical(text) {
        // Most numbers in files (`1200`, `-3.25`, `0.001`, `12.50`) are written as they would
        // be, or with zeros after the point to drop.
        put(out, &text[..len]);
        return Ok(size);
    }
    canonicalize_parsed(text, out)
}

/// For a number in plain notation whose canonical form is a prefix of its text: its size and
/// that prefix's length. That is `-`, then `0` or digits without a leading zero, then perhaps
/// `.` and digits (zeros at the end are dropped, and the point with them when nothing is left),
/// with at most 38 significant digits and the leading digit's exponent in plain notation's
/// range. `None` for anything else (zero, exponents, leading zeros, ...): the full parse
/// decides. One pass over the text, where the parse makes several.
#[inline]
fn plain_canonical(text: &[u8]) -> Option<(usize, usize)> {
    let neg = text.first() == Some(&b'-');
    let int_start = neg as usize;
    let int_end = digits_from(text, int_start);
    let int_digits = int_end - int_start;
    let zero_int = text.get(int_start) == Some(&b'0');
    if int_digits == 0 || (zero_int && int_digits > 1) {
        return None;
    }
    // The canonical text's end: the point and trailing zeros of a fraction dropped.
    let mut end = int_end;
    if int_end < text.len() {
        let frac_start = int_end + 1;
        if text[int_end] != b'.' {
            return None;
        }
        let frac_end = digits_from(text, frac_start);
        if frac_end != text.len() || frac_end == frac_start {
            return None;
        }
        let kept = text[frac_start..frac_end]
            .iter()
            .rposition(|&c| c != b'0')
            .map_or(0, |k| k + 1);
        if kept > 0 {
            end = frac_start + kept;
        }
    }
    let (sig, lead) = if end == int_end {
        if zero_int {
            return None;
        }
        let zeros = text[int_start..int_end]
            .iter()
            .rev()
            .take_while(|&&c| c == b'0')
            .count();
        (int_digits - zeros, int_digits as i64 - 1)
    } else if zero_int {
        let frac = &text[int_end + 1..end];
        let zeros = frac.iter().take_while(|&&c| c == b'0').count();
        (frac.len() - zeros, -(zeros as i64) - 1)
    } else {
        (int_digits + end - int_end - 1, int_digits as i64 - 1)
    };
    (sig <= rules::MAX_NUMBER_DIGITS && (PLAIN_MIN_EXP..PLAIN_INT_DIGITS).contains(&lead))
        .then(|| (number_size(sig, lead, neg), end))
}

/// [`canonicalize`] by the full parse.
fn canonicalize_parsed(text: &[u8], out: &mut Vec<u8>) -> Result<usize, NumError> {
    let p = parse(text)?;
    if p.sig == 0 {
        out.push(b'0');
        return Ok(1);
    }
    if already_canonical(text, &p) {
        // Most numbers in files (`1200`, `-3.25`, `0.001`) are written as they would be.
        put(out, text);
    } else {
        write_parsed(text, &p, out);
    }
    Ok(p.size())
}

/// The canonical text of a parsed non-zero number, from its significant digits.
fn write_parsed(text: &[u8], p: &Parsed, out: &mut Vec<u8>) {
    let mut digits = [0u8; rules::MAX_NUMBER_DIGITS];
    let mut n = 0;
    for &c in text[p.first..=p.last].iter().filter(|&&c| c != b'.') {
        digits[n] = c;
        n += 1;
    }
    write_canonical(p.neg, &digits[..n], p.lead, out);
}

/// Whether a valid non-zero number's text is its canonical form: plain notation in the range
/// [`write_canonical`] writes plainly, no exponent, no leading zero but the one of `0.`, and a
/// fraction (if any) ending in its last significant digit.
fn already_canonical(text: &[u8], p: &Parsed) -> bool {
    let int_start = p.neg as usize;
    !p.has_exp
        && (PLAIN_MIN_EXP..PLAIN_INT_DIGITS).contains(&p.lead)
        && if p.lead >= 0 {
            p.first == int_start
        } else {
            text[int_start..].starts_with(b"0.")
        }
        && (!p.has_point || p.last == text.len() - 1)
}

/// The size of a valid number, without writing its canonical text.
pub fn checked_size(text: &[u8]) -> Result<usize, NumError> {
    match plain_canonical(text) {
        Some((size, _)) => Ok(size),
        None => parse(text).map(|p| p.size()),
    }
}

/// Where a number's significant digits are in its text (leading and trailing zeros dropped,
/// perhaps with the decimal point between them) and the exponent of the first; `sig == 0` is
/// zero.
struct Parsed {
    neg: bool,
    /// A decimal point, and an `e` part, were written.
    has_point: bool,
    has_exp: bool,
    first: usize,
    last: usize,
    sig: usize,
    lead: i64,
}

impl Parsed {
    fn size(&self) -> usize {
        if self.sig == 0 {
            1
        } else {
            number_size(self.sig, self.lead, self.neg)
        }
    }
}

#[inline]
fn digits_from(text: &[u8], mut i: usize) -> usize {
    // Eight at a time: a byte is a digit when neither adding 0x46 nor subtracting 0x30 carries
    // into its top bit.
    while let Some(w) = text.get(i..i + 8) {
        let x = u64::from_le_bytes(w.try_into().expect("eight bytes"));
        let not_digit = (x.wrapping_add(0x4646_4646_4646_4646)
            | x.wrapping_sub(0x3030_3030_3030_3030))
            & 0x8080_8080_8080_8080;
        if not_digit != 0 {
            return i + (not_digit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < text.len() && text[i].is_ascii_digit() {
        i += 1;
    }
    i
}

#[inline]
fn parse(text: &[u8]) -> Result<Parsed, NumError> {
    let neg = text.first() == Some(&b'-');
    let int_start = neg as usize;
    let int_end = digits_from(text, int_start);
    let mut i = int_end;
    let (mut frac_start, mut frac_end) = (i, i);
    let has_point = text.get(i) == Some(&b'.');
    if has_point {
        frac_start = i + 1;
        frac_end = digits_from(text, frac_start);
        i = frac_end;
    }
    if int_end == int_start && frac_end == frac_start {
        return Err(NumError::Syntax);
    }
    let mut exp: i64 = 0;
    let has_exp = matches!(text.get(i), Some(b'e' | b'E'));
    if has_exp {
        i += 1;
        let eneg = match text.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while i < text.len() && text[i].is_ascii_digit() {
            // Saturate: anything this large is out of range whatever the mantissa.
            exp = (exp * 10 + (text[i] - b'0') as i64).min(1_000_000_000);
            i += 1;
        }
        if i == start {
            return Err(NumError::Syntax);
        }
        if eneg {
            exp = -exp;
        }
    }
    if i != text.len() {
        return Err(NumError::Syntax);
    }
    let (int, frac) = (&text[int_start..int_end], &text[frac_start..frac_end]);
    let nonzero = |c: &u8| *c != b'0';
    // The first significant digit and its exponent before the `e` part.
    let (first, lead) = match int.iter().position(nonzero) {
        Some(p) => (int_start + p, (int.len() - p - 1) as i64),
        None => match frac.iter().position(nonzero) {
            Some(q) => (frac_start + q, -(q as i64) - 1),
            None => {
                return Ok(Parsed {
                    neg,
                    has_point,
                    has_exp,
                    first: 0,
                    last: 0,
                    sig: 0,
                    lead: 0,
                })
            }
        },
    };
    // Trailing zeros are not significant.
    let last = match frac.iter().rposition(nonzero) {
        Some(q) => frac_start + q,
        None => int_start + int.iter().rposition(nonzero).expect("a first digit exists"),
    };
    let point_between = first < int_end && last >= frac_start && frac_start > int_end;
    let sig = last - first + 1 - point_between as usize;
    if sig > rules::MAX_NUMBER_DIGITS {
        return Err(NumError::TooManyDigits);
    }
    let lead = lead + exp;
    if lead > MAX_EXP {
        return Err(NumError::Overflow);
    }
    if lead < MIN_EXP {
        return Err(NumError::Underflow);
    }
    Ok(Parsed {
        neg,
        has_point,
        has_exp,
        first,
        last,
        sig,
        lead,
    })
}

fn write_canonical(neg: bool, digits: &[u8], lead: i64, out: &mut Vec<u8>) {
    if neg {
        out.push(b'-');
    }
    let n = digits.len() as i64;
    if (0..PLAIN_INT_DIGITS).contains(&lead) {
        if lead + 1 >= n {
            put(out, digits);
            out.extend(std::iter::repeat_n(b'0', (lead + 1 - n) as usize));
        } else {
            let split = (lead + 1) as usize;
            put(out, &digits[..split]);
            out.push(b'.');
            put(out, &digits[split..]);
        }
    } else if (PLAIN_MIN_EXP..0).contains(&lead) {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-lead - 1) as usize));
        put(out, digits);
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            put(out, &digits[1..]);
        }
        out.push(b'E');
        out.push(if lead < 0 { b'-' } else { b'+' });
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(b.format(lead.unsigned_abs()).as_bytes());
    }
}

/// DynamoDB's size of a non-zero number: 1 + ceil(d/2), one more when the digit count and the
/// leading digit's exponent are both even (the base-100 digit pairs straddle), one more if negative.
pub(crate) fn number_size(sig_digits: usize, lead_exp: i64, neg: bool) -> usize {
    let d = sig_digits;
    let mut size = 1 + d.div_ceil(2);
    if d.is_multiple_of(2) && lead_exp.rem_euclid(2) == 0 {
        size += 1;
    }
    if neg {
        size += 1;
    }
    size
}

/// Size of a number already in canonical form (as written by [`canonicalize`] or an integer
/// formatter). Cheap: no validation.
pub fn canonical_size(text: &[u8]) -> usize {
    if !text.is_empty() && !text.iter().any(|&c| c == b'.' || c == b'E') {
        return int_text_size(text);
    }
    let neg = text.first() == Some(&b'-');
    let body = if neg { &text[1..] } else { text };
    if body == b"0" {
        return 1;
    }
    let (mant, exp) = match body.iter().position(|&c| c == b'E') {
        Some(p) => {
            let e: i64 = std::str::from_utf8(&body[p + 1..])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (&body[..p], Some(e))
        }
        None => (body, None),
    };
    let int_len = mant.iter().position(|&c| c == b'.').unwrap_or(mant.len());
    let mut first_sig = None;
    let mut last_sig = 0;
    let mut idx = 0usize;
    let mut lead = 0i64;
    for (pos, &c) in mant.iter().enumerate() {
        if c == b'.' {
            continue;
        }
        if c != b'0' {
            if first_sig.is_none() {
                first_sig = Some(idx);
                lead = if pos < int_len {
                    (int_len - pos - 1) as i64
                } else {
                    -((pos - int_len) as i64)
                };
            }
            last_sig = idx;
        }
        idx += 1;
    }
    let Some(first) = first_sig else { return 1 };
    let lead = match exp {
        Some(e) => e,
        None => lead,
    };
    number_size(last_sig - first + 1, lead, neg)
}

/// Append an integer (already canonical) and return its DynamoDB size.
#[inline]
pub fn write_int<I: itoa::Integer>(v: I, out: &mut Vec<u8>) -> usize {
    let mut b = itoa::Buffer::new();
    let s = b.format(v).as_bytes();
    out.extend_from_slice(s);
    int_text_size(s)
}

#[inline]
pub fn int_text_size(s: &[u8]) -> usize {
    let neg = s[0] == b'-';
    let body = if neg { &s[1..] } else { s };
    if body == b"0" {
        return 1;
    }
    let trailing = body.iter().rev().take_while(|&&c| c == b'0').count();
    number_size(body.len() - trailing, body.len() as i64 - 1, neg)
}

/// Append the shortest text that round-trips `v`, canonicalised; NaN and infinities are errors
/// for the caller to report (`None`).
pub fn write_float(v: f64, out: &mut Vec<u8>) -> Option<Result<usize, NumError>> {
    write_shortest(v, v.is_finite(), v == 0.0, out)
}

/// [`write_float`] for any float `ryu` formats, told whether it is finite and zero.
fn write_shortest<F: ryu::Float>(
    v: F,
    finite: bool,
    zero: bool,
    out: &mut Vec<u8>,
) -> Option<Result<usize, NumError>> {
    if !finite {
        return None;
    }
    if zero {
        out.push(b'0');
        return Some(Ok(1));
    }
    let mut b = ryu::Buffer::new();
    Some(canonicalize_or_undo(b.format_finite(v), out))
}

/// Canonicalise float text; on error leave `out` as it was.
fn canonicalize_or_undo(text: &str, out: &mut Vec<u8>) -> Result<usize, NumError> {
    let mark = out.len();
    let r = canonicalize(text.as_bytes(), out);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

/// Shortest round-trip text for an f32 (so 0.1f32 is `0.1`, not `0.10000000149011612`).
pub fn write_f32(v: f32, out: &mut Vec<u8>) -> Option<Result<usize, NumError>> {
    write_shortest(v, v.is_finite(), v == 0.0, out)
}

/// Shortest text that round-trips an f16 (so 0.1 stays `0.1`, not `0.0999755859375`).
pub fn write_f16(v: half::f16, out: &mut Vec<u8>) -> Option<Result<usize, NumError>> {
    if !v.is_finite() {
        return None;
    }
    let x = v.to_f64();
    if x == 0.0 {
        out.push(b'0');
        return Some(Ok(1));
    }
    for precision in 0..17 {
        let s = format!("{x:.precision$e}");
        if s.parse::<f64>().map(half::f16::from_f64) == Ok(v) {
            return Some(canonicalize_or_undo(&s, out));
        }
    }
    write_float(x, out)
}

/// Append the exact decimal `unscaled × 10^-scale`, canonicalised.
pub fn write_decimal(unscaled: &str, scale: i8, out: &mut Vec<u8>) -> Result<usize, NumError> {
    let mut tmp = [0u8; 100];
    let u = unscaled.as_bytes();
    let mut len = 0;
    for &c in u.iter().take(80) {
        tmp[len] = c;
        len += 1;
    }
    tmp[len] = b'E';
    len += 1;
    let mut b = itoa::Buffer::new();
    for &c in b.format(-(scale as i32)).as_bytes() {
        tmp[len] = c;
        len += 1;
    }
    canonicalize(&tmp[..len], out)
}

/// Canonical text of `±magnitude × 10^-scale` (a decimal whose unscaled value fits in 64 bits,
/// the usual case) written directly, without text to parse again, and its size. `None` (nothing
/// written) when the exponent is outside DynamoDB's range: [`write_decimal`] then explains.
pub fn write_scaled(neg: bool, magnitude: u64, scale: i8, out: &mut Vec<u8>) -> Option<usize> {
    if magnitude == 0 {
        out.push(b'0');
        return Some(1);
    }
    let mut b = itoa::Buffer::new();
    let text = b.format(magnitude).as_bytes();
    let sig = text.len() - text.iter().rev().take_while(|&&c| c == b'0').count();
    let lead = text.len() as i64 - 1 - scale as i64;
    if !(MIN_EXP..=MAX_EXP).contains(&lead) {
        return None;
    }
    write_canonical(neg, &text[..sig], lead, out);
    Some(number_size(sig, lead, neg))
}

/// Canonical text of a number, for tests and cold paths.
pub fn canonical(text: &str) -> Result<String, NumError> {
    let mut out = Vec::new();
    canonicalize(text.as_bytes(), &mut out)?;
    Ok(String::from_utf8(out).expect("ascii"))
}

/// Convert canonical DynamoDB number text to an Ion decimal literal (`42.`, `1.5`, `1.5d-7`).
pub fn write_ion_decimal(canonical: &[u8], out: &mut Vec<u8>) {
    match canonical.iter().position(|&c| c == b'E') {
        Some(p) => {
            out.extend_from_slice(&canonical[..p]);
            out.push(b'd');
            let rest = &canonical[p + 1..];
            let rest = rest.strip_prefix(b"+").unwrap_or(rest);
            out.extend_from_slice(rest);
        }
        None => {
            out.extend_from_slice(canonical);
            if !canonical.contains(&b'.') {
                out.push(b'.');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts taken as they are by `canonicalize` are exactly what the digit-by-digit writer
    /// makes of them, over random texts of signs, zeros, digits, points and exponents (valid and
    /// not), so the shortcut never changes an output.
    #[test]
    fn as_is_shortcut_agrees_with_the_general_writer() {
        let mut next = crate::testing::xorshift(0x9E37_79B9_7F4A_7C15);
        let alphabet = b"0000123456789..-eE+";
        let (mut taken, mut checked) = (0, 0);
        for _ in 0..400_000 {
            let len = 1 + (next() % 14) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let Ok(p) = parse(&text) else { continue };
            if p.sig == 0 {
                continue;
            }
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            canonicalize(&text, &mut fast).unwrap();
            write_parsed(&text, &p, &mut slow);
            assert_eq!(fast, slow, "{}", String::from_utf8_lossy(&text));
            checked += 1;
            taken += already_canonical(&text, &p) as usize;
        }
        // Both sides of the shortcut were exercised.
        assert!(
            taken > 1000 && checked - taken > 1000,
            "{taken} of {checked}"
        );
        for (t, want) in [
            ("1200", true),
            ("-3.25", true),
            ("0.001", true),
            ("-0.5", true),
            ("12.50", false),
            ("012", false),
            (".5", false),
            ("1.", false),
            ("1e3", false),
            ("0.00000001", false),
        ] {
            let p = parse(t.as_bytes()).unwrap();
            assert_eq!(already_canonical(t.as_bytes(), &p), want, "{t}");
        }
    }

    /// The one-pass shortcut gives what the full parse gives (text, size, or error) over random
    /// texts of signs, zeros, digits, points and exponents, long ones (past 38 digits, past
    /// plain notation's 38 integer digits) included.
    #[test]
    fn one_pass_shortcut_agrees_with_the_full_parse() {
        let mut next = crate::testing::xorshift(0x2545_F491_4F6C_DD1D);
        let alphabet = b"000001234567899.-e";
        let mut taken = 0;
        for round in 0..300_000 {
            let len = 1 + (next() % if round % 10 == 0 { 48 } else { 16 }) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let (mut fast, mut slow) = (b"x".to_vec(), b"x".to_vec());
            let got = canonicalize(&text, &mut fast);
            let want = canonicalize_parsed(&text, &mut slow);
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&text));
            assert_eq!(checked_size(&text), parse(&text).map(|p| p.size()));
            assert_eq!(fast, slow, "{}", String::from_utf8_lossy(&text));
            taken += plain_canonical(&text).is_some() as usize;
        }
        assert!(taken > 10_000, "{taken}");
        for (t, len) in [
            ("1200", 4),
            ("-3.25", 5),
            ("0.001", 5),
            ("-0.5", 4),
            ("0.0000001", 9),
            ("12.50", 4),
            ("1200.00", 4),
            ("-0.0500", 5),
        ] {
            assert_eq!(plain_canonical(t.as_bytes()).map(|p| p.1), Some(len), "{t}");
        }
        assert!(plain_canonical("9".repeat(38).as_bytes()).is_some());
        for t in [
            "0",
            "-0",
            "0.00",
            "012",
            ".5",
            "1.",
            "1e3",
            "0.00000001",
            "-",
            "1-",
        ] {
            assert!(plain_canonical(t.as_bytes()).is_none(), "{t}");
        }
        assert!(plain_canonical("9".repeat(39).as_bytes()).is_none());
        // At the edges of 38 significant digits and of plain notation, with and without zeros
        // to drop, both ways agree.
        let z = |n: usize| "0".repeat(n);
        for t in [
            format!("1.{}1", z(36)),
            format!("1.{}1", z(37)),
            format!("-1.{}10", z(36)),
            format!("0.{}{}", z(6), "9".repeat(38)),
            format!("0.{}{}", z(6), "9".repeat(39)),
            format!("0.{}1", z(6)),
            format!("0.{}1", z(7)),
            format!("{}.50", "9".repeat(37)),
            format!("{}.50", "9".repeat(38)),
            format!("1{}.000", z(37)),
            format!("1{}", z(38)),
        ] {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            assert_eq!(
                canonicalize(t.as_bytes(), &mut fast),
                canonicalize_parsed(t.as_bytes(), &mut slow),
                "{t}"
            );
            assert_eq!(fast, slow, "{t}");
        }
    }

    /// The direct decimal writer agrees with formatting the unscaled integer and parsing it back.
    #[test]
    fn scaled_decimals_match_the_text_path() {
        let mut magnitudes = vec![0u64, 1, 5, 10, 100, 120, 1005, 123_456_789, u64::MAX];
        magnitudes.extend((0..19).map(|k| 10u64.pow(k)));
        magnitudes.extend((1..19).map(|k| 10u64.pow(k) - 1));
        magnitudes.extend((0..200u64).map(|k| k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (k % 60)));
        for &m in &magnitudes {
            for scale in [
                -128i8, -110, -40, -5, -1, 0, 1, 2, 3, 7, 9, 18, 20, 38, 76, 127,
            ] {
                for neg in [false, true] {
                    let text = format!("{}{m}", if neg && m != 0 { "-" } else { "" });
                    let mut want = Vec::new();
                    let want_size = write_decimal(&text, scale, &mut want);
                    let mut got = Vec::new();
                    match write_scaled(neg && m != 0, m, scale, &mut got) {
                        Some(size) => {
                            assert_eq!(Ok(size), want_size, "{text}E-{scale}");
                            assert_eq!(got, want, "{text}E-{scale}");
                        }
                        None => {
                            assert!(want_size.is_err(), "{text}E-{scale}");
                            assert!(got.is_empty());
                        }
                    }
                }
            }
        }
    }

    /// The word-at-a-time digit run stops exactly where a byte-by-byte one would.
    #[test]
    fn digit_runs_end_at_the_first_non_digit() {
        for len in 0..20 {
            for p in 0..len {
                for b in 0..=255u8 {
                    let mut v: Vec<u8> = (0..len).map(|k| b'0' + (k % 10) as u8).collect();
                    v[p] = b;
                    let want = v.iter().position(|c| !c.is_ascii_digit()).unwrap_or(len);
                    assert_eq!(digits_from(&v, 0), want, "{v:?}");
                }
            }
        }
    }

    fn c(s: &str) -> Result<String, NumError> {
        canonical(s)
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(c("1.50").unwrap(), "1.5");
        assert_eq!(c("0").unwrap(), "0");
        assert_eq!(c("-0").unwrap(), "0");
        assert_eq!(c("-0.000").unwrap(), "0");
        assert_eq!(c("00123").unwrap(), "123");
        assert_eq!(c("1e3").unwrap(), "1000");
        assert_eq!(c("1E+3").unwrap(), "1000");
        assert_eq!(c("12.5e-1").unwrap(), "1.25");
        assert_eq!(c(".5").unwrap(), "0.5");
        assert_eq!(c("5.").unwrap(), "5");
        assert_eq!(c("-123.4500").unwrap(), "-123.45");
        assert_eq!(c("0.0000001").unwrap(), "0.0000001");
        assert_eq!(c("0.00000001").unwrap(), "1E-8");
        assert_eq!(c("1.5e-7").unwrap(), "0.00000015");
        assert_eq!(c("1e38").unwrap(), "1E+38");
        assert_eq!(c("1e37").unwrap(), "10000000000000000000000000000000000000");
        assert_eq!(c("6522.73").unwrap(), "6522.73");
        assert_eq!(c("100").unwrap(), "100");
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "", "-", "+1", " 1", "1 ", "1,5", "1e", "1e+", "abc", "NaN", "Infinity", "0x10", ".",
            "-.", "1..2", "1e5.5", "--1",
        ] {
            assert_eq!(c(bad), Err(NumError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn range_edges() {
        assert_eq!(c("1E-130").unwrap(), "1E-130");
        assert_eq!(c("-1E-130").unwrap(), "-1E-130");
        assert_eq!(c("1E-131"), Err(NumError::Underflow));
        assert_eq!(c("0.9E-130"), Err(NumError::Underflow));
        let max = "9.9999999999999999999999999999999999999E+125";
        assert_eq!(c(max).unwrap(), max);
        assert_eq!(c("1E+126"), Err(NumError::Overflow));
        assert_eq!(c("-1E+126"), Err(NumError::Overflow));
        assert_eq!(c("0E+999999"), Ok("0".into()));
        assert_eq!(c("1e99999999999999999999"), Err(NumError::Overflow));
        assert_eq!(c("1e-99999999999999999999"), Err(NumError::Underflow));
    }

    #[test]
    fn digit_limit() {
        let d38 = "12345678901234567890123456789012345678";
        assert_eq!(c(d38).unwrap(), d38);
        let d39 = "123456789012345678901234567890123456789";
        assert_eq!(c(d39), Err(NumError::TooManyDigits));
        // Trailing zeros do not count as significant digits.
        assert!(c("123456789012345678901234567890123456780").is_ok());
        assert_eq!(c(&format!("0.{d38}")).unwrap(), format!("0.{d38}"));
        assert_eq!(c(&format!("0.{d39}")), Err(NumError::TooManyDigits));
        // Many leading zeros are fine.
        assert_eq!(c(&format!("{}1", "0".repeat(100))).unwrap(), "1");
        // A long run of digits well past the buffer still counts.
        assert_eq!(c(&"1".repeat(200)), Err(NumError::TooManyDigits));
    }

    #[test]
    fn sizes() {
        assert_eq!(canonicalize(b"0", &mut vec![]).unwrap(), 1);
        // 1: d=1, e=0 → 1 + 1
        assert_eq!(canonicalize(b"1", &mut vec![]).unwrap(), 2);
        // 12: d=2, e=1 (odd) → 1 + 1
        assert_eq!(canonicalize(b"12", &mut vec![]).unwrap(), 2);
        // 1.2: d=2, e=0 (even) → 1 + 1 + 1
        assert_eq!(canonicalize(b"1.2", &mut vec![]).unwrap(), 3);
        // -1.2 adds one byte for the sign
        assert_eq!(canonicalize(b"-1.2", &mut vec![]).unwrap(), 4);
        // 38 digits, exponent 37 (odd) → 1 + 19
        let d38 = "12345678901234567890123456789012345678";
        assert_eq!(canonicalize(d38.as_bytes(), &mut vec![]).unwrap(), 20);
        for s in [
            "0", "1", "-1", "12", "1.2", "-1.25", "100", "0.05", "1E-130", "1.5E+100", d38,
        ] {
            let mut out = vec![];
            let size = canonicalize(s.as_bytes(), &mut out).unwrap();
            assert_eq!(canonical_size(&out), size, "{s}");
        }
        assert_eq!(
            int_text_size(b"100"),
            canonicalize(b"100", &mut vec![]).unwrap()
        );
        assert_eq!(
            int_text_size(b"-42"),
            canonicalize(b"-42", &mut vec![]).unwrap()
        );
    }

    /// The size-only check agrees with canonicalisation, errors included.
    #[test]
    fn checked_size_matches_canonicalize() {
        for t in [
            "0",
            "-0",
            "0.000",
            "1",
            "-1",
            "10",
            "100",
            "1.5",
            "-1.50",
            "12.5",
            "0.001",
            "1e3",
            "1E-130",
            "1e-131",
            "9.9999999999999999999999999999999999999E+125",
            "1e126",
            "12345678901234567890123456789012345678",
            "123456789012345678901234567890123456789",
            "1000000000000000000000000000000000000000000",
            "",
            "-",
            "1.2.3",
            "e5",
            "NaN",
            ".5",
            "5.",
            "+1",
            "1e",
            "00012.3400",
        ] {
            let mut out = vec![];
            assert_eq!(
                checked_size(t.as_bytes()),
                canonicalize(t.as_bytes(), &mut out),
                "{t}"
            );
            if let Ok(size) = checked_size(t.as_bytes()) {
                assert_eq!(size, canonical_size(&out), "{t}");
            }
        }
    }

    #[test]
    fn floats_round_trip() {
        for v in [
            0.1f64,
            1.0,
            -2.5,
            1e-7,
            6.02214076e23,
            123456.789,
            f64::MIN_POSITIVE * 1e200,
        ] {
            let mut out = vec![];
            write_float(v, &mut out).unwrap().unwrap();
            let s = String::from_utf8(out).unwrap();
            assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
        }
        let mut out = vec![];
        write_float(1.0, &mut out).unwrap().unwrap();
        assert_eq!(out, b"1");
        assert!(write_float(f64::NAN, &mut vec![]).is_none());
        assert!(write_float(f64::INFINITY, &mut vec![]).is_none());
        assert_eq!(
            write_float(1e300, &mut vec![]).unwrap(),
            Err(NumError::Overflow)
        );
        assert_eq!(
            write_float(1e-200, &mut vec![]).unwrap(),
            Err(NumError::Underflow)
        );
        let mut out = vec![];
        write_f32(0.1f32, &mut out).unwrap().unwrap();
        assert_eq!(out, b"0.1");
        let mut out = vec![];
        write_float(-0.0, &mut out).unwrap().unwrap();
        assert_eq!(out, b"0");
        // Shortest round-trip text, as numpy prints f16: 65504 reads back from "65500".
        for (v, text) in [
            (0.1f32, "0.1"),
            (65504.0, "65500"),
            (-2.0, "-2"),
            (1.5, "1.5"),
        ] {
            let h = half::f16::from_f32(v);
            let mut out = vec![];
            write_f16(h, &mut out).unwrap().unwrap();
            assert_eq!(String::from_utf8(out.clone()).unwrap(), text);
            let back: f64 = String::from_utf8(out).unwrap().parse().unwrap();
            assert_eq!(half::f16::from_f64(back), h);
        }
        assert!(write_f16(half::f16::NAN, &mut vec![]).is_none());
    }

    #[test]
    fn decimals_exact() {
        let mut out = vec![];
        write_decimal("652273", 2, &mut out).unwrap();
        assert_eq!(out, b"6522.73");
        let mut out = vec![];
        write_decimal("-150", 2, &mut out).unwrap();
        assert_eq!(out, b"-1.5");
        let mut out = vec![];
        write_decimal("99999999999999999999999999999999999999", 10, &mut out).unwrap();
        assert_eq!(out, b"9999999999999999999999999999.9999999999");
        let mut out = vec![];
        write_decimal("5", -3, &mut out).unwrap();
        assert_eq!(out, b"5000");
    }

    #[test]
    fn ion_decimals() {
        let ion = |s: &str| {
            let mut out = vec![];
            write_ion_decimal(canonical(s).unwrap().as_bytes(), &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(ion("42"), "42.");
        assert_eq!(ion("6522.73"), "6522.73");
        assert_eq!(ion("1.5e-8"), "1.5d-8");
        assert_eq!(ion("1e100"), "1d100");
        assert_eq!(ion("0"), "0.");
    }
}

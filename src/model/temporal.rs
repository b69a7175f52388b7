//! Dates, times and timestamps as DynamoDB strings (RFC 3339 / ISO 8601), written without
//! allocation and without a date library.

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`). A second, 32-bit form of the same arithmetic (Neri and Schneider's) was
/// removed: a date is one attribute of a row, and it never gained the 15 % end to end that a
/// hand-written fast path must.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A timestamp's text is built in a stack buffer and appended with one copy (the pushes it
/// replaced each checked the vector's capacity).
struct Text {
    buf: [u8; 48],
    len: usize,
}

impl Text {
    fn new() -> Text {
        Text {
            buf: [0; 48],
            len: 0,
        }
    }
    fn byte(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }
    fn two(&mut self, v: u32) {
        self.buf[self.len] = b'0' + (v / 10) as u8;
        self.buf[self.len + 1] = b'0' + (v % 10) as u8;
        self.len += 2;
    }
    /// `.` and exactly `digits` (at most 18) digits of `frac`; nothing when `digits` is 0.
    fn fraction(&mut self, mut frac: u64, digits: u32) {
        if digits == 0 {
            return;
        }
        self.byte(b'.');
        let digits = digits as usize;
        for i in (0..digits).rev() {
            self.buf[self.len + i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        self.len += digits;
    }
    /// `YYYY-MM-DD`; false (nothing written) for years outside 0000–9999.
    fn date(&mut self, days: i64) -> bool {
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return false;
        }
        let y = y as u32;
        self.two(y / 100);
        self.two(y % 100);
        self.byte(b'-');
        self.two(m);
        self.byte(b'-');
        self.two(d);
        true
    }
    fn time(&mut self, secs_of_day: i64) {
        let s = secs_of_day as u32;
        self.two(s / 3600);
        self.byte(b':');
        self.two(s / 60 % 60);
        self.byte(b':');
        self.two(s % 60);
    }
    /// The whole buffer is copied (a fixed size: a few vector moves instead of a call to
    /// `memcpy`, which showed in the timestamp writer's profile) and `len` bytes of it kept.
    fn append_to(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.extend_from_slice(&self.buf);
        out.truncate(at + self.len);
    }
}

/// Whole seconds and the fraction of `value` units of 10^-`digits` seconds; the usual unit
/// counts get constant divisors (a multiplication instead of a 64-bit division).
fn split_seconds(value: i64, digits: u32) -> (i64, u64) {
    fn by(value: i64, per_sec: i64) -> (i64, u64) {
        (value.div_euclid(per_sec), value.rem_euclid(per_sec) as u64)
    }
    match digits {
        0 => (value, 0),
        3 => by(value, 1_000),
        6 => by(value, 1_000_000),
        9 => by(value, 1_000_000_000),
        _ => by(value, 10i64.pow(digits)),
    }
}

/// `YYYY-MM-DD`; years outside 0000–9999 keep their sign and digits (`-0001`, `+10000`).
pub(crate) fn write_date(days: i64, out: &mut Vec<u8>) {
    let mut t = Text::new();
    if t.date(days) {
        t.append_to(out);
        return;
    }
    let (y, m, d) = civil_from_days(days);
    out.extend_from_slice(format!("{y:+05}-{m:02}-{d:02}").as_bytes());
}

/// `HH:MM:SS[.fraction]` for `value` units of 10^-`digits` seconds since midnight; the fraction
/// has exactly `digits` digits. A value outside the day (a Parquet or Arrow file can hold one)
/// keeps its sign and all of its hours (`-00:00:01`, `25:00:00`) rather than wrapping.
pub(crate) fn write_time_of_day(value: i64, digits: u32, out: &mut Vec<u8>) {
    let (secs, frac) = split_seconds(value, digits);
    let mut t = Text::new();
    if (0..86_400).contains(&secs) {
        t.time(secs);
    } else {
        let (secs, f) = split_seconds(value.checked_abs().unwrap_or(i64::MAX), digits);
        let sign = if value < 0 { "-" } else { "" };
        let text = format!(
            "{sign}{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        out.extend_from_slice(text.as_bytes());
        t.fraction(f, digits);
        t.append_to(out);
        return;
    }
    t.fraction(frac, digits);
    t.append_to(out);
}

/// RFC 3339 timestamp for `value` units of 10^-`digits` seconds since the epoch; `utc` appends
/// `Z` (columns with a time zone), otherwise the time is naive and has no suffix.
pub(crate) fn write_timestamp(value: i64, digits: u32, utc: bool, out: &mut Vec<u8>) {
    let (secs, frac) = split_seconds(value, digits);
    let days = secs.div_euclid(86_400);
    let mut t = Text::new();
    if !t.date(days) {
        write_date(days, out);
    }
    t.byte(b'T');
    t.time(secs.rem_euclid(86_400));
    t.fraction(frac, digits);
    if utc {
        t.byte(b'Z');
    }
    t.append_to(out);
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
    })
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// An ISO-8601 / RFC 3339 date or timestamp as (seconds, nanoseconds) since the epoch, UTC:
/// `YYYY-MM-DD`, then optionally `T` (or a space) `HH:MM[:SS[.fraction]]` and a zone (`Z`,
/// `±HH:MM`, `±HHMM`, `±HH`). Text without a zone is taken as UTC. `None` when it is not one.
pub fn parse_iso8601(s: &str) -> Option<(i64, u32)> {
    let b = s.trim().as_bytes();
    let y = digits(b, 0, 4)? as i64;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (m, d) = (digits(b, 5, 2)?, digits(b, 8, 2)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let mut nanos = 0u32;
    let mut at = 10;
    if at == b.len() {
        return Some((secs, 0));
    }
    if !matches!(b[at], b'T' | b't' | b' ') {
        return None;
    }
    let (h, mi) = (digits(b, at + 1, 2)?, digits(b, at + 4, 2)?);
    if b.get(at + 3) != Some(&b':') || h > 23 || mi > 59 {
        return None;
    }
    secs += (h * 3600 + mi * 60) as i64;
    at += 6;
    if b.get(at) == Some(&b':') {
        let sec = digits(b, at + 1, 2)?;
        if sec > 60 {
            return None;
        }
        // A leap second is the last second of its minute, as most systems read it.
        secs += sec.min(59) as i64;
        at += 3;
        if matches!(b.get(at), Some(b'.' | b',')) {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                if at - start < 9 {
                    nanos = nanos * 10 + (b[at] - b'0') as u32;
                }
                at += 1;
            }
            if at == start {
                return None;
            }
            let n = (at - start).min(9);
            nanos *= 10u32.pow(9 - n as u32);
        }
    }
    match b.get(at) {
        None => {}
        Some(b'Z' | b'z') if at + 1 == b.len() => {}
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, at + 1, 2)?;
            let om = match b.len() - at {
                3 => 0,
                5 => digits(b, at + 3, 2)?,
                6 if b[at + 3] == b':' => digits(b, at + 4, 2)?,
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let offset = (oh * 3600 + om * 60) as i64;
            secs -= if sign == b'+' { offset } else { -offset };
        }
        _ => return None,
    }
    Some((secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = vec![];
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(s(|o| write_date(0, o)), "1970-01-01");
        assert_eq!(s(|o| write_date(19_723, o)), "2024-01-01");
        assert_eq!(s(|o| write_date(-1, o)), "1969-12-31");
        assert_eq!(s(|o| write_date(11_016, o)), "2000-02-29");
        assert_eq!(s(|o| write_date(-719_528, o)), "0000-01-01");
        assert_eq!(s(|o| write_date(-719_529, o)), "-0001-12-31");
        assert_eq!(s(|o| write_date(2_932_897, o)), "+10000-01-01");
    }

    #[test]
    fn times_and_timestamps() {
        assert_eq!(s(|o| write_time_of_day(3_723, 0, o)), "01:02:03");
        assert_eq!(s(|o| write_time_of_day(3_723_004, 3, o)), "01:02:03.004");
        assert_eq!(
            s(|o| write_time_of_day(86_399_999_999, 6, o)),
            "23:59:59.999999"
        );
        assert_eq!(s(|o| write_time_of_day(5, 9, o)), "00:00:00.000000005");
        // Outside the day: sign and hours kept, never wrapped or garbled.
        assert_eq!(s(|o| write_time_of_day(-1_500, 3, o)), "-00:00:01.500");
        assert_eq!(s(|o| write_time_of_day(90_000, 0, o)), "25:00:00");
        assert_eq!(
            s(|o| write_time_of_day(i64::MIN, 9, o)),
            "-2562047:47:16.854775807"
        );
        assert_eq!(s(|o| write_time_of_day(7, 2, o)), "00:00:00.07");
        assert_eq!(
            s(|o| write_timestamp(1_700_000_000_123_456, 6, true, o)),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(
            s(|o| write_timestamp(0, 0, false, o)),
            "1970-01-01T00:00:00"
        );
        // Before the epoch the fraction still counts forward from the second below.
        assert_eq!(
            s(|o| write_timestamp(-1, 3, true, o)),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            s(|o| write_timestamp(1, 9, false, o)),
            "1970-01-01T00:00:00.000000001"
        );
        assert_eq!(
            s(|o| write_timestamp(253_402_300_800_000, 3, true, o)),
            "+10000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            s(|o| write_timestamp(-62_167_219_200_001, 3, false, o)),
            "-0001-12-31T23:59:59.999"
        );
    }
}

//! Dates, times and timestamps as DynamoDB strings (RFC 3339 / ISO 8601), written without
//! allocation and without a date library.

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// `YYYY-MM-DD`; years outside 0000–9999 keep their sign and digits (`-0001`, `+10000`).
pub fn write_date(days: i64, out: &mut Vec<u8>) {
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        let y = y as u32;
        push2(out, y / 100);
        push2(out, y % 100);
    } else {
        out.extend_from_slice(format!("{y:+05}").as_bytes());
    }
    out.push(b'-');
    push2(out, m);
    out.push(b'-');
    push2(out, d);
}

/// `HH:MM:SS[.fraction]` for `value` units of 10^-`digits` seconds since midnight; the fraction
/// has exactly `digits` digits.
pub fn write_time_of_day(value: i64, digits: u32, out: &mut Vec<u8>) {
    let per_sec = 10i64.pow(digits);
    let secs = value.div_euclid(per_sec);
    let frac = value.rem_euclid(per_sec);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    push2(out, h as u32);
    out.push(b':');
    push2(out, m as u32);
    out.push(b':');
    push2(out, s as u32);
    write_fraction(frac, digits, out);
}

fn write_fraction(frac: i64, digits: u32, out: &mut Vec<u8>) {
    if digits == 0 {
        return;
    }
    out.push(b'.');
    let mut b = itoa::Buffer::new();
    let s = b.format(frac);
    out.extend(std::iter::repeat_n(b'0', digits as usize - s.len()));
    out.extend_from_slice(s.as_bytes());
}

/// RFC 3339 timestamp for `value` units of 10^-`digits` seconds since the epoch; `utc` appends
/// `Z` (columns with a time zone), otherwise the time is naive and has no suffix.
pub fn write_timestamp(value: i64, digits: u32, utc: bool, out: &mut Vec<u8>) {
    let per_sec = 10i64.pow(digits);
    let secs = value.div_euclid(per_sec);
    let frac = value.rem_euclid(per_sec);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    write_date(days, out);
    out.push(b'T');
    write_time_of_day(sod, 0, out);
    write_fraction(frac, digits, out);
    if utc {
        out.push(b'Z');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}

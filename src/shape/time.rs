//! Dates and times for templates and TTL: the strftime subset templates take, ISO-8601 text
//! read as an instant, and durations such as `90d`.
//!
//! The strftime subset: `%Y` year (four digits; outside 0000–9999 signed, as prep writes
//! dates), `%m` month, `%d` day, `%H` hour, `%M` minute, `%S` second (all two digits), `%j` day
//! of the year (three digits), `%s` seconds since the epoch, `%3f` `%6f` `%9f` the second's
//! fraction in that many digits, `%F` = `%Y-%m-%d`, `%T` = `%H:%M:%S`, `%%` a percent sign.
//! Timestamps with a time zone are formatted in UTC; zone-less ones as they are.

use crate::model::temporal::civil_from_days;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeItem {
    Lit(String),
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    DayOfYear,
    Epoch,
    /// The fraction of the second in 3, 6 or 9 digits.
    Frac(u32),
}

/// The directives, for messages.
pub(crate) const STRFTIME_SUBSET: &str = "%Y %m %d %H %M %S %j %s %3f %6f %9f %F %T %%";

/// Parse a strftime format of the subset above.
pub(crate) fn parse_strftime(s: &str) -> Result<Vec<TimeItem>, String> {
    let mut items = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars();
    let flush = |lit: &mut String, items: &mut Vec<TimeItem>| {
        if !lit.is_empty() {
            items.push(TimeItem::Lit(std::mem::take(lit)));
        }
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        let d = chars
            .next()
            .ok_or("the format ends in a lone %; write %% for a percent sign")?;
        let item = match d {
            '%' => {
                lit.push('%');
                continue;
            }
            'Y' => TimeItem::Year,
            'm' => TimeItem::Month,
            'd' => TimeItem::Day,
            'H' => TimeItem::Hour,
            'M' => TimeItem::Minute,
            'S' => TimeItem::Second,
            'j' => TimeItem::DayOfYear,
            's' => TimeItem::Epoch,
            'F' => {
                flush(&mut lit, &mut items);
                items.extend([
                    TimeItem::Year,
                    TimeItem::Lit("-".into()),
                    TimeItem::Month,
                    TimeItem::Lit("-".into()),
                    TimeItem::Day,
                ]);
                continue;
            }
            'T' => {
                flush(&mut lit, &mut items);
                items.extend([
                    TimeItem::Hour,
                    TimeItem::Lit(":".into()),
                    TimeItem::Minute,
                    TimeItem::Lit(":".into()),
                    TimeItem::Second,
                ]);
                continue;
            }
            n @ ('3' | '6' | '9') => {
                if chars.next() != Some('f') {
                    return Err(format!(
                        "%{n} must be followed by f (%{n}f: {n} fraction digits)"
                    ));
                }
                TimeItem::Frac(n.to_digit(10).expect("digit"))
            }
            other => {
                return Err(format!(
                    "%{other} is not in the supported strftime subset ({STRFTIME_SUBSET})"
                ))
            }
        };
        flush(&mut lit, &mut items);
        items.push(item);
    }
    flush(&mut lit, &mut items);
    Ok(items)
}

fn two(v: u32, out: &mut Vec<u8>) {
    out.push(b'0' + (v / 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Append the instant `secs` + `nanos` (UTC, or zone-less) as `items` say.
pub fn format(secs: i64, nanos: u32, items: &[TimeItem], out: &mut Vec<u8>) {
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    for item in items {
        match item {
            TimeItem::Lit(s) => out.extend_from_slice(s.as_bytes()),
            TimeItem::Year => {
                if (0..=9999).contains(&y) {
                    let y = y as u32;
                    two(y / 100, out);
                    two(y % 100, out);
                } else {
                    out.extend_from_slice(format!("{y:+05}").as_bytes());
                }
            }
            TimeItem::Month => two(m, out),
            TimeItem::Day => two(d, out),
            TimeItem::Hour => two(tod / 3600, out),
            TimeItem::Minute => two(tod / 60 % 60, out),
            TimeItem::Second => two(tod % 60, out),
            TimeItem::DayOfYear => {
                let doy = (days - days_from_civil(y, 1, 1) + 1) as u32;
                out.push(b'0' + (doy / 100) as u8);
                two(doy % 100, out);
            }
            TimeItem::Epoch => {
                let mut b = itoa::Buffer::new();
                out.extend_from_slice(b.format(secs).as_bytes());
            }
            TimeItem::Frac(n) => {
                let v = nanos / 10u32.pow(9 - n);
                let mut b = itoa::Buffer::new();
                let s = b.format(v);
                out.resize(out.len() + *n as usize - s.len(), b'0');
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
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

/// A duration such as `90d`, `12h`, `1d12h`, `30m`, `45s` or `2w`, in seconds.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "{s:?} is not a duration; write a number and a unit (s, m, h, d, w), e.g. 90d or 1d12h"
        )
    };
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: i64 = num.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        num.clear();
    }
    if !num.is_empty() || s.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(secs: i64, nanos: u32, f: &str) -> String {
        let mut o = Vec::new();
        format(secs, nanos, &parse_strftime(f).unwrap(), &mut o);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn formats_the_subset() {
        let t = 1_714_521_600 + 3_723; // 2024-05-01T01:02:03Z
        assert_eq!(
            fmt(t, 5_000_000, "%Y-%m-%dT%H:%M:%S.%3fZ"),
            "2024-05-01T01:02:03.005Z"
        );
        assert_eq!(
            fmt(t, 5_000_000, "%F %T %6f %9f"),
            "2024-05-01 01:02:03 005000 005000000"
        );
        assert_eq!(fmt(t, 0, "%j|%s|100%%"), "122|1714525323|100%");
        assert_eq!(fmt(-1, 0, "%F %T"), "1969-12-31 23:59:59");
        assert_eq!(fmt(253_402_300_800, 0, "%Y"), "+10000");
        for bad in ["%Q", "%", "%3x", "%e"] {
            assert!(parse_strftime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_iso_8601() {
        assert_eq!(parse_iso8601("1970-01-01"), Some((0, 0)));
        assert_eq!(
            parse_iso8601("2024-05-01T01:02:03Z"),
            Some((1_714_525_323, 0))
        );
        assert_eq!(
            parse_iso8601("2024-05-01 01:02:03.5"),
            Some((1_714_525_323, 500_000_000))
        );
        assert_eq!(
            parse_iso8601("2024-05-01T03:02:03+02:00"),
            Some((1_714_525_323, 0))
        );
        assert_eq!(
            parse_iso8601("2024-04-30T20:02:03-0500"),
            Some((1_714_525_323, 0))
        );
        assert_eq!(parse_iso8601("2024-05-01T01:02"), Some((1_714_525_320, 0)));
        assert_eq!(
            parse_iso8601("2024-05-01T01:02:03.1234567891Z"),
            Some((1_714_525_323, 123_456_789))
        );
        for bad in [
            "2024-02-30",
            "2023-02-29",
            "2024-13-01",
            "2024-05-01T24:00",
            "2024-05-01X",
            "24-05-01",
            "2024-05-01T01:02:03.Z",
            "2024-05-01T01:02:03+2",
            "today",
            "",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d"), Ok(90 * 86_400));
        assert_eq!(parse_duration("1d12h"), Ok(129_600));
        assert_eq!(parse_duration("2w30s"), Ok(1_209_630));
        for bad in ["", "90", "d", "9x", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}

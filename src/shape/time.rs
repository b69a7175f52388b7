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

pub(crate) use crate::model::temporal::days_from_civil;
pub use crate::model::temporal::parse_iso8601;

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

//! The report as one self-contained HTML file: inline CSS and SVG, no script, nothing fetched
//! from the network, so it opens the same from a laptop, an S3 console download or a CI
//! artifact.

use super::{Bucket, HotKey, Summary};
use crate::pipeline::progress::{human_bytes as bytes, thousands as count};
use std::fmt::Write;

/// The charts' bar colours, one per chart (the browser test finds each chart by its colour).
pub const COLOUR_SIZES: &str = "#2b6cb0";
pub const COLOUR_HOT: &str = "#c05621";
pub const COLOUR_GSI: &str = "#2f855a";
pub const COLOUR_FILES: &str = "#6b46c1";

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// Dollars: cents, or more digits below a cent.
pub fn usd(v: f64) -> String {
    if v >= 0.01 || v == 0.0 {
        format!("${v:.2}")
    } else {
        format!("${v:.6}")
    }
}

/// A unit price: as many decimals as it has, at least two ($0.625, $0.15).
pub fn price(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0');
    let decimals = s.split('.').nth(1).map_or(0, str::len);
    if decimals < 2 {
        format!("${v:.2}")
    } else {
        format!("${s}")
    }
}

/// Horizontal bars, one per row: (label, value, value as shown).
fn bars(rows: &[(String, u64, String)], colour: &str, title: &str) -> String {
    let row_h = 22;
    let label_w = 260;
    let bar_w = 420;
    let h = row_h * rows.len().max(1) + 10;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" aria-label="{}" width="{}" height="{h}" viewBox="0 0 {} {h}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title),
        label_w + bar_w + 140,
        label_w + bar_w + 140
    );
    if rows.is_empty() {
        let _ = write!(s, r#"<text x="4" y="16">nothing to show</text>"#);
    }
    for (i, (label, v, shown)) in rows.iter().enumerate() {
        let y = i * row_h + 4;
        let w = if *v == 0 {
            0
        } else {
            ((*v as f64 / max as f64) * bar_w as f64).ceil().max(2.0) as usize
        };
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{}" y="{y}" width="{w}" height="{}" fill="{colour}"><title>{}: {}</title></rect><text x="{}" y="{}">{}</text>"#,
            label_w - 6,
            y + 14,
            esc(label),
            label_w,
            row_h - 6,
            esc(label),
            esc(shown),
            label_w + w + 6,
            y + 14,
            esc(shown)
        );
    }
    s.push_str("</svg>");
    s
}

fn size_rows(h: &[Bucket]) -> Vec<(String, u64, String)> {
    h.iter()
        .map(|b| {
            (
                format!("{} – {}", bytes(b.from), bytes(b.to)),
                b.items,
                count(b.items),
            )
        })
        .collect()
}

fn hot_rows(hot: &[HotKey]) -> Vec<(String, u64, String)> {
    hot.iter()
        .map(|h| {
            let shown = if h.error_at_most > 0 {
                format!(
                    "{} items (up to +{})",
                    count(h.items),
                    count(h.error_at_most)
                )
            } else {
                format!("{} items", count(h.items))
            };
            (clip(&h.key), h.items, shown)
        })
        .collect()
}

/// Labels are cut to fit beside the bars.
fn clip(s: &str) -> String {
    if s.chars().count() > 36 {
        format!("{}…", s.chars().take(35).collect::<String>())
    } else {
        s.to_string()
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:980px;color:#1a202c}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #e2e8f0}\
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #edf2f7;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#c53030;font-weight:600}.ok{color:#2f855a}\
svg.chart text{font:12px system-ui,sans-serif;fill:#2d3748}.note{color:#4a5568}";

/// The whole report.
pub fn render(s: &Summary, title: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(title)
    );
    let _ = write!(h, "<h1>{}</h1>", esc(title));
    let v = &s.volume;
    let _ = write!(
        h,
        "<h2 id=\"volume\">Volume</h2><table><tr><th>files</th><td class=n>{}</td></tr><tr><th>items</th><td class=n>{}</td></tr><tr><th>lines</th><td class=n>{}</td></tr><tr><th>uncompressed (billed)</th><td class=n>{}</td></tr><tr><th>stored</th><td class=n>{}</td></tr><tr><th>item bytes (DynamoDB's size)</th><td class=n>{}</td></tr></table>",
        count(v.files as u64),
        count(v.items),
        count(v.lines),
        bytes(v.uncompressed_bytes),
        bytes(v.stored_bytes),
        bytes(v.item_bytes)
    );

    h.push_str("<h2 id=\"cost\">Cost</h2>");
    match &s.cost {
        Some(c) => {
            let _ = write!(
                h,
                "<table><tr><th></th><th class=n>quantity</th><th class=n>price</th><th class=n>cost</th></tr><tr><th>Import from S3</th><td class=n>{:.3} {}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                c.import.quantity,
                c.import.unit,
                price(c.import.price),
                usd(c.import.usd)
            );
            for (what, line) in [
                ("BatchWriteItem on demand, instead", &c.batch_write),
                ("Storage a month, after", &c.storage_monthly),
            ] {
                if let Some(l) = line {
                    let _ = write!(
                        h,
                        "<tr><th>{what}</th><td class=n>{:.3} {}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                        l.quantity,
                        l.unit,
                        price(l.price),
                        usd(l.usd)
                    );
                }
            }
            let _ = write!(
                h,
                "</table><p class=note>{}: {}</p>",
                esc(&c.region),
                esc(&c.source)
            );
        }
        None => h.push_str("<p class=note>no prices for this region (see the notes)</p>"),
    }

    let z = &s.item_sizes;
    let _ = write!(
        h,
        "<h2 id=\"sizes\">Item sizes</h2><table><tr><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>mean</th><th>near 400 KB</th></tr><tr><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{:.0} B</td><td class=n>{}</td></tr></table>",
        bytes(z.min),
        bytes(z.p50),
        bytes(z.p90),
        bytes(z.p99),
        bytes(z.max),
        z.mean,
        count(z.near_limit)
    );
    h.push_str(&bars(&size_rows(&z.histogram), COLOUR_SIZES, "item sizes"));
    if !z.largest.is_empty() {
        h.push_str("<table><tr><th>largest items</th><th class=n>size</th></tr>");
        for l in &z.largest {
            let _ = write!(
                h,
                "<tr><td>{}:{}</td><td class=n>{}</td></tr>",
                esc(&l.file),
                l.line,
                bytes(l.size)
            );
        }
        h.push_str("</table>");
    }

    h.push_str("<h2 id=\"keys\">Key design</h2>");
    for k in &s.keys {
        let distinct = k.distinct_partition_keys.shown();
        let _ = write!(
            h,
            "<h3>{}</h3><table><tr><th>items</th><td class=n>{}</td></tr><tr><th>distinct partition keys</th><td class=n>{distinct}</td></tr><tr><th>items per key p50 / p99 / max</th><td class=n>{} / {} / {}{}</td></tr><tr><th>bytes per key p50 / p99 / max</th><td class=n>{} / {} / {}</td></tr></table>",
            esc(&k.title()),
            count(k.items),
            count(k.items_per_key.p50),
            count(k.items_per_key.p99),
            count(k.items_per_key.max),
            if k.items_per_key.exact { "" } else { " (estimated)" },
            bytes(k.bytes_per_key.p50),
            bytes(k.bytes_per_key.p99),
            bytes(k.bytes_per_key.max)
        );
        if let Some(order) = &k.order {
            let class = if order.sorted_files.is_empty() {
                ""
            } else {
                " class=bad"
            };
            let _ = write!(h, "<p{class}>{}</p>", esc(&order.sentence()));
        }
        h.push_str(&bars(
            &hot_rows(&k.hottest),
            COLOUR_HOT,
            &format!("hottest keys of {}", k.title()),
        ));
    }
    if s.keys.len() > 1 {
        let total = s.volume.items;
        let rows: Vec<(String, u64, String)> = s.keys[1..]
            .iter()
            .map(|k| {
                let share = super::percent(k.items, total);
                (
                    k.index.clone().unwrap_or_default(),
                    k.items,
                    format!("{} items ({share:.1} %)", count(k.items)),
                )
            })
            .collect();
        h.push_str("<h3>GSI coverage (items each index holds)</h3>");
        h.push_str(&bars(&rows, COLOUR_GSI, "GSI coverage"));
    }

    h.push_str("<h2 id=\"files\">Files</h2>");
    let _ = write!(
        h,
        "<p>stored size min / p50 / max: {} / {} / {}; items min / p50 / max: {} / {} / {}</p>",
        bytes(v.file_bytes.min),
        bytes(v.file_bytes.p50),
        bytes(v.file_bytes.max),
        count(v.file_items.min),
        count(v.file_items.p50),
        count(v.file_items.max)
    );
    // The largest files, so that a folder of thousands stays readable.
    let mut files: Vec<_> = v.per_file.iter().collect();
    files.sort_by(|a, b| {
        b.stored_bytes
            .cmp(&a.stored_bytes)
            .then(a.file.cmp(&b.file))
    });
    let rows: Vec<(String, u64, String)> = files
        .iter()
        .take(40)
        .map(|f| {
            let name = f.file.rsplit('/').next().unwrap_or(&f.file).to_string();
            (clip(&name), f.stored_bytes, bytes(f.stored_bytes))
        })
        .collect();
    h.push_str(&bars(&rows, COLOUR_FILES, "file sizes"));

    h.push_str("<h2 id=\"attributes\">Attributes</h2><table><tr><th>name</th><th class=n>items</th><th class=n>share</th><th>types</th><th class=n>depth</th><th class=n>set members max</th></tr>");
    for a in s.attributes.names.iter().take(200) {
        let types: Vec<String> = a
            .types
            .iter()
            .map(|t| {
                if a.drift {
                    format!(
                        "{} {} (first {}:{})",
                        t.ty,
                        count(t.items),
                        t.first.file,
                        t.first.line
                    )
                } else {
                    t.ty.to_string()
                }
            })
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{:.1} %</td><td{}>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&a.name),
            count(a.items),
            a.share * 100.0,
            if a.drift { " class=bad" } else { "" },
            esc(&types.join("; ")),
            a.max_depth,
            a.set_members_max
        );
    }
    h.push_str("</table>");

    h.push_str("<h2 id=\"limits\">Limits</h2><table>");
    for l in &s.limits {
        let _ = write!(
            h,
            "<tr><td class={}>{}</td><td>{}</td><td class=n>{}</td><td class=n>limit {}</td><td class=note>{}</td></tr>",
            if l.ok { "ok" } else { "bad" },
            if l.ok { "ok" } else { "over" },
            esc(&l.check),
            count(l.value as u64),
            count(l.limit as u64),
            esc(&l.note)
        );
    }
    h.push_str("</table>");
    if !s.notes.is_empty() {
        h.push_str("<h2>Notes</h2><ul>");
        for n in &s.notes {
            let _ = write!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.000123), "$0.000123");
        assert_eq!(price(0.625), "$0.625");
        assert_eq!(price(0.15), "$0.15");
        assert_eq!(price(1.0), "$1.00");
    }

    #[test]
    fn bars_scale_to_the_largest() {
        let svg = bars(
            &[("a".into(), 10, "10".into()), ("b".into(), 5, "5".into())],
            COLOUR_SIZES,
            "t",
        );
        assert!(svg.contains(r#"width="420""#), "{svg}");
        assert!(svg.contains(r#"width="210""#), "{svg}");
        assert!(!svg.contains("<script"));
    }
}

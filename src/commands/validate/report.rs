//! Printing findings: text for people, JSON lines, GitHub workflow annotations, SARIF 2.1.0 and
//! JUnit XML for CI systems.

use super::{Finding, Report};
use crate::model::rules::{self, Severity};
use serde_json::{json, Value};
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
    Github,
    Sarif,
    Junit,
}

/// Text from the data made safe for a terminal or a CI log: control characters (C0, DEL, C1:
/// escape sequences could retitle or clear the terminal) are written as `\u{1b}`, visibly.
pub(crate) fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    let control = |c: char| c.is_control();
    if !s.chars().any(control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if control(c) {
            let _ = write!(o, "\\u{{{:x}}}", c as u32);
        } else {
            o.push(c);
        }
    }
    std::borrow::Cow::Owned(o)
}

fn location(f: &Finding) -> String {
    let mut s = visible(&f.file).into_owned();
    if let Some(l) = f.line {
        let _ = write!(s, ":{l}");
        if let Some(c) = f.column {
            let _ = write!(s, ":{c}");
        }
    }
    s
}

/// Render the report; `max` caps the findings shown (all are counted in the summary).
pub fn render(r: &Report, format: OutputFormat, max: Option<usize>, colour: bool) -> String {
    let shown: Vec<&Finding> = r.findings.iter().take(max.unwrap_or(usize::MAX)).collect();
    match format {
        OutputFormat::Text => text(r, &shown, colour),
        OutputFormat::Json => json_lines(r, &shown),
        OutputFormat::Github => github(r, &shown),
        OutputFormat::Sarif => sarif(&shown),
        OutputFormat::Junit => junit(r, &shown),
    }
}

fn paint(s: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub(crate) fn summary_line(r: &Report) -> String {
    let mut s = format!(
        "{} error{}, {} warning{} in {} file{} ({} lines, {} items checked)",
        r.errors,
        plural(r.errors),
        r.warnings,
        plural(r.warnings),
        r.files,
        plural(r.files as u64),
        r.lines,
        r.items
    );
    if r.unread_items > 0 {
        let _ = write!(
            s,
            "; {} item{} in {} file{} would never be read by the import",
            r.unread_items,
            plural(r.unread_items),
            r.unread_files,
            plural(r.unread_files)
        );
    }
    s
}

fn text(r: &Report, shown: &[&Finding], colour: bool) -> String {
    let mut s = String::new();
    let mut last_file: Option<&str> = None;
    for f in shown {
        if last_file != Some(f.file.as_str()) {
            if last_file.is_some() {
                s.push('\n');
            }
            let _ = writeln!(s, "{}", paint(&visible(&f.file), "1", colour));
            last_file = Some(&f.file);
        }
        let (label, c) = match f.rule.severity {
            Severity::Error => ("error", "31"),
            Severity::Warning => ("warning", "33"),
        };
        let _ = writeln!(
            s,
            "  {}: {} {} [{}] {}",
            location(f),
            paint(label, c, colour),
            paint(f.rule.code, c, colour),
            f.rule.name,
            visible(&f.message)
        );
        if let Some(e) = &f.excerpt {
            let _ = writeln!(s, "    | {}", visible(e));
        }
    }
    let total = r.errors + r.warnings;
    if (shown.len() as u64) < total {
        let _ = writeln!(
            s,
            "\n… {} more findings not shown (--max-errors {})",
            total - shown.len() as u64,
            shown.len()
        );
    }
    if !r.counts.is_empty() {
        let by: Vec<String> = r
            .counts
            .iter()
            .map(|(c, n)| {
                let name = rules::find(c).map(|r| r.name).unwrap_or("");
                format!("{c} {name}: {n}")
            })
            .collect();
        let _ = writeln!(s, "\nby rule: {}", by.join(", "));
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {}", visible(n));
    }
    let line = summary_line(r);
    let _ = writeln!(
        s,
        "{}",
        if r.errors > 0 {
            paint(&line, "31;1", colour)
        } else if r.warnings > 0 {
            paint(&line, "33;1", colour)
        } else {
            paint(&line, "32;1", colour)
        }
    );
    s
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "code": f.rule.code,
        "rule": f.rule.name,
        "severity": f.rule.severity.as_str(),
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "message": f.message,
        "excerpt": f.excerpt,
        "unread": f.unread.map(|u| json!({
            "items": u.items,
            "firstLine": u.first_line,
            "lastLine": u.last_line,
        })),
    })
}

pub(crate) fn summary_json(r: &Report) -> Value {
    json!({
        "errors": r.errors,
        "warnings": r.warnings,
        "files": r.files,
        "lines": r.lines,
        "items": r.items,
        "bytes": r.bytes,
        "unreadItems": r.unread_items,
        "unreadFiles": r.unread_files,
        "byRule": r.counts,
        "notes": r.notes,
    })
}

fn json_lines(r: &Report, shown: &[&Finding]) -> String {
    let mut s = String::new();
    for f in shown {
        let _ = writeln!(s, "{}", finding_json(f));
    }
    let _ = writeln!(s, "{}", json!({ "summary": summary_json(r) }));
    s
}

/// Escaping of GitHub workflow command properties and data.
fn gh_data(s: &str) -> String {
    let s = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    visible(&s).into_owned()
}
fn gh_prop(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn github(r: &Report, shown: &[&Finding]) -> String {
    let mut s = String::new();
    for f in shown {
        let level = match f.rule.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = format!("file={}", gh_prop(&f.file));
        if let Some(l) = f.line {
            let _ = write!(props, ",line={l}");
        }
        if let Some(c) = f.column {
            let _ = write!(props, ",col={c}");
        }
        let _ = write!(
            props,
            ",title={}",
            gh_prop(&format!("{} {}", f.rule.code, f.rule.name))
        );
        let _ = writeln!(s, "::{level} {props}::{}", gh_data(&f.message));
    }
    let _ = writeln!(s, "{}", summary_line(r));
    s
}

fn sarif(shown: &[&Finding]) -> String {
    let rules_json: Vec<Value> = rules::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.explanation},
                "help": {"text": format!("{}\nBad: {}\nGood: {}", r.explanation, r.bad, r.good)},
                "defaultConfiguration": {"level": match r.severity { Severity::Error => "error", Severity::Warning => "warning" }},
            })
        })
        .collect();
    let results: Vec<Value> = shown
        .iter()
        .map(|f| {
            let index = rules::ALL.iter().position(|r| r.code == f.rule.code).unwrap_or(0);
            let mut region = serde_json::Map::new();
            if let Some(l) = f.line {
                region.insert("startLine".into(), json!(l.max(1)));
                if let Some(c) = f.column {
                    region.insert("startColumn".into(), json!(c.max(1)));
                }
                if let Some(e) = &f.excerpt {
                    region.insert("snippet".into(), json!({"text": e}));
                }
            }
            let mut physical = json!({"artifactLocation": {"uri": f.file.replace('\\', "/")}});
            if !region.is_empty() {
                physical["region"] = Value::Object(region);
            }
            let mut result = json!({
                "ruleId": f.rule.code,
                "ruleIndex": index,
                "level": match f.rule.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": {"text": f.message},
                "locations": [{"physicalLocation": physical}],
            });
            if let Some(u) = f.unread {
                result["properties"] = json!({
                    "unreadItems": u.items,
                    "unreadFirstLine": u.first_line,
                    "unreadLastLine": u.last_line,
                });
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "prep",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/prep-tool/prep",
                "rules": rules_json,
            }},
            "results": results,
        }],
    });
    format!("{}\n", serde_json::to_string_pretty(&doc).expect("json"))
}

fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

fn junit(r: &Report, shown: &[&Finding]) -> String {
    let mut files: Vec<&str> = Vec::new();
    for f in shown {
        if !files.contains(&f.file.as_str()) {
            files.push(&f.file);
        }
    }
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"prep validate\" tests=\"{}\" failures=\"{}\">",
        files.len().max(1),
        r.errors
    );
    let failures = shown
        .iter()
        .filter(|f| f.rule.severity == Severity::Error)
        .count();
    let _ = writeln!(
        s,
        "  <testsuite name=\"prep validate\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        files.len().max(1)
    );
    if files.is_empty() {
        let _ = writeln!(
            s,
            "    <testcase classname=\"prep.validate\" name=\"all files\"/>"
        );
    }
    for file in files {
        let _ = writeln!(
            s,
            "    <testcase classname=\"prep.validate\" name=\"{}\">",
            xml(file)
        );
        for f in shown.iter().filter(|f| f.file == file) {
            let body = format!(
                "{} {} {}{}",
                location(f),
                f.rule.code,
                f.message,
                f.excerpt
                    .as_ref()
                    .map(|e| format!("\n| {e}"))
                    .unwrap_or_default()
            );
            let tag = match f.rule.severity {
                Severity::Error => "failure",
                Severity::Warning => "system-out",
            };
            if tag == "failure" {
                let _ = writeln!(
                    s,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    f.rule.code,
                    xml(&f.message),
                    xml(&body)
                );
            } else {
                let _ = writeln!(s, "      <system-out>warning: {}</system-out>", xml(&body));
            }
        }
        let _ = writeln!(s, "    </testcase>");
    }
    let _ = writeln!(s, "  </testsuite>\n</testsuites>");
    s
}

//! Realistic text and real public datasets through `prep convert` (DynamoDB JSON and Ion,
//! compressed and not), read back by serde_json / ion-rs and compared cell by cell with the csv
//! crate's reading of the same input; then `prep validate` of the output.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

/// The input's rows as the csv crate reads them: header, then records.
fn csv_rows(path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// Every written item equals its row: empty cells left out, S cells byte for byte, N cells
/// equal as numbers.
fn compare(out: &Path, header: &[String], rows: &[Vec<String>], numeric: &[&str]) {
    let items = check_output(out);
    assert_eq!(items.len(), rows.len(), "every row written");
    for (k, (item, row)) in items.iter().zip(rows).enumerate() {
        let present = row.iter().filter(|c| !c.is_empty()).count();
        assert_eq!(item.len(), present, "row {k}: {item:?}");
        for (name, cell) in header.iter().zip(row) {
            if cell.is_empty() {
                continue;
            }
            let got = item
                .get(name)
                .unwrap_or_else(|| panic!("row {k} lacks {name}"));
            let want = if numeric.contains(&name.as_str()) {
                Value::String(canon(cell))
            } else {
                Value::String(cell.clone())
            };
            assert_eq!(got, &want, "row {k} column {name}");
        }
    }
}

fn validate_clean(out: &Path) {
    let o = prep()
        .args(["validate", out.to_str().unwrap(), "--output-format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
}

#[test]
fn text_people_really_write() {
    let d = tempfile::tempdir().unwrap();
    let cells = [
        "221B Baker Street\n    London NW1 6XE\n    United Kingdom",
        "C:\\Users\\dev\\]projects\\#1\\file.txt",
        "\\\\server\\share\\",
        "Tag: \"#1\" and #hashtag #2024",
        "{\"json\": \"inside\", \"n\": [1, 2.50, null], \"esc\": \"a\\\"b\"}",
        "emoji 😀👩‍👩‍👧🏳️‍🌈 and ünïcödé",
        "שלום עולם — مرحبا بالعالم \u{202e}reversed\u{202c}",
        "nul \u{0} bell \u{7} esc \u{1b}[2J del \u{7f} tab\tend",
        "line\r\nwindows\rold mac",
        "trailing spaces   ",
        "   leading spaces",
        "\"",
        "\\",
        "#",
    ];
    let mut w = csv::Writer::from_path(d.path().join("text.csv")).unwrap();
    w.write_record(["id", "text", "note"]).unwrap();
    for (i, c) in cells.iter().enumerate() {
        let note = cells[(i + 5) % cells.len()];
        w.write_record([&i.to_string(), *c, note]).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let input = d.path().join("text.csv").to_string_lossy().into_owned();
    let (header, rows) = csv_rows(&input);
    for format in ["dynamodb-json", "ion"] {
        for compress in ["none", "zstd"] {
            let out = d.path().join(format!("{format}-{compress}"));
            let (code, s, err) = convert(
                &out,
                &[
                    &input,
                    "--key",
                    "id:N",
                    "--format",
                    format,
                    "--compress",
                    compress,
                ],
            );
            assert_eq!(code, 0, "{err}");
            assert_eq!(s["itemsWritten"], cells.len() as u64);
            compare(&out, &header, &rows, &["id"]);
            validate_clean(&out);
        }
    }
}

#[test]
fn public_datasets() {
    let d = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], &[&str]); 2] = [
        (
            "public/penguins-raw.csv",
            &["--key", "studyName", "--sort-key", "Sample Number"],
            &[
                "Sample Number",
                "Culmen Length (mm)",
                "Culmen Depth (mm)",
                "Flipper Length (mm)",
                "Body Mass (g)",
            ],
        ),
        (
            "public/seattle-weather.csv",
            &["--key", "date"],
            &["precipitation", "temp_max", "temp_min", "wind"],
        ),
    ];
    for (name, keys, numeric) in cases {
        let input = fixture(name);
        let (header, rows) = csv_rows(&input);
        for format in ["dynamodb-json", "ion"] {
            let out = d
                .path()
                .join(format!("{}-{format}", name.replace('/', "-")));
            let mut args = vec![input.as_str(), "--format", format];
            args.extend(keys);
            let (code, s, err) = convert(&out, &args);
            assert_eq!(code, 0, "{name}: {err}");
            assert_eq!(s["rowsRead"], rows.len() as u64);
            assert_eq!(s["duplicateCount"].as_u64().unwrap_or(0), 0, "{name}: {s}");
            compare(&out, &header, &rows, numeric);
            validate_clean(&out);
        }
    }
}

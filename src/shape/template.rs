//! Templates: literal text with `{column}` placeholders, parsed once and rendered column-wise
//! over a batch.
//!
//! Syntax: `{column}`; `{a.b}` for field `b` of struct column `a` (a column whose own name
//! contains the dot wins); `{id:08}` zero-pads an integer to width 8 (the sign counts in the
//! width, as in printf); `{created:%Y-%m-%d}` formats a date or timestamp with the strftime
//! subset of [`crate::shape::time`]; `{{` and `}}` are literal braces. A value renders as prep
//! writes it (numbers canonical and exact, timestamps RFC 3339), and a null or empty value is a
//! missing value: the row is rejected, never written as `CUSTOMER#`.

use crate::encoding::plan::build;
use crate::encoding::target::{EncodeOptions, Target, Timestamps};
use crate::encoding::ColumnEncoder;
use crate::model::rules::{self, Rule};
use crate::shape::time::{self, TimeItem};
use anyhow::{bail, Result};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Fields, Schema, TimeUnit};

/// The widest zero padding a placeholder may ask for.
pub(crate) const MAX_PAD: usize = 64;

/// One parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// As the user wrote it (for messages).
    pub text: String,
    pub pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Lit(String),
    Field(Placeholder),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// The column (or `struct.field` path) as written.
    pub path: String,
    pub format: Format,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Plain,
    /// Zero-pad an integer to this width.
    Pad(usize),
    /// strftime items for a date or timestamp.
    Time(Vec<TimeItem>),
}

impl Template {
    /// Parse `text`; the error says where and what to write instead.
    pub fn parse(text: &str) -> Result<Template> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => bail!(
                    "template {text:?}: a lone '}}' at byte {at}; write '}}}}' for a literal brace"
                ),
                '{' => {
                    let mut inner = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        match c {
                            '}' => {
                                closed = true;
                                break;
                            }
                            '{' => bail!(
                                "template {text:?}: '{{' inside a placeholder at byte {at}; placeholders do not nest (write '{{{{' for a literal brace)"
                            ),
                            c => inner.push(c),
                        }
                    }
                    if !closed {
                        bail!(
                            "template {text:?}: the placeholder at byte {at} has no closing '}}'; write '{{{{' for a literal brace"
                        );
                    }
                    if !lit.is_empty() {
                        pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    pieces.push(Piece::Field(placeholder(text, &inner)?));
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(Template {
            text: text.to_string(),
            pieces,
        })
    }

    /// The placeholders, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(f) => Some(f),
            Piece::Lit(_) => None,
        })
    }

    /// A template with no placeholder: a constant.
    #[cfg(test)]
    pub(crate) fn is_constant(&self) -> bool {
        self.placeholders().next().is_none()
    }
}

fn placeholder(text: &str, inner: &str) -> Result<Placeholder> {
    let (path, spec) = match inner.split_once(':') {
        Some((p, s)) => (p, Some(s)),
        None => (inner, None),
    };
    if path.is_empty() {
        bail!("template {text:?}: an empty placeholder {{{inner}}}; name a column, e.g. {{id}}");
    }
    let format = match spec {
        None => Format::Plain,
        Some(s) if s.starts_with('%') => Format::Time(time::parse_strftime(s).map_err(|e| {
            anyhow::anyhow!("template {text:?}: {{{inner}}}: {e}")
        })?),
        Some(s) if s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()) => {
            let width: usize = s[1..].parse().unwrap_or(usize::MAX);
            if width == 0 || width > MAX_PAD {
                bail!("template {text:?}: {{{inner}}}: the padded width must be 1 to {MAX_PAD}");
            }
            Format::Pad(width)
        }
        Some(s) => bail!(
            "template {text:?}: {{{inner}}}: unknown format {s:?}; write {{{path}:08}} to zero-pad an integer to 8 digits, or {{{path}:%Y-%m-%d}} to format a date or timestamp"
        ),
    };
    Ok(Placeholder {
        path: path.to_string(),
        format,
    })
}

/// Why a placeholder gave no text for a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    Null,
    Empty,
    /// The value cannot take the placeholder's format (not an integer, not a date, NaN).
    Bad(String),
}

impl Miss {
    /// The rule a row breaks when its placeholder misses.
    pub fn rule(&self) -> &'static Rule {
        match self {
            Miss::Null | Miss::Empty => &rules::TEMPLATE_VALUE_MISSING,
            Miss::Bad(_) => &rules::TEMPLATE_VALUE_FORMAT,
        }
    }
}

/// Where a placeholder's values are: the column, the struct levels above it (their nulls), and
/// a typed view for dates and timestamps.
struct Cells {
    enc: Box<dyn ColumnEncoder>,
    parents: Vec<NullBuffer>,
    time: Option<TimeView>,
}

/// Dates and timestamps as (seconds, nanoseconds) since the epoch.
enum TimeView {
    Days(ScalarBuffer<i32>),
    Millis(ScalarBuffer<i64>),
    /// Units of 10^-digits seconds.
    Units(ScalarBuffer<i64>, u32),
}

impl TimeView {
    fn of(a: &ArrayRef) -> Option<TimeView> {
        Some(match a.data_type() {
            DataType::Date32 => TimeView::Days(
                a.as_primitive::<arrow_array::types::Date32Type>()
                    .values()
                    .clone(),
            ),
            DataType::Date64 => TimeView::Millis(
                a.as_primitive::<arrow_array::types::Date64Type>()
                    .values()
                    .clone(),
            ),
            DataType::Timestamp(unit, _) => {
                use arrow_array::types::*;
                let (values, digits) = match unit {
                    TimeUnit::Second => {
                        (a.as_primitive::<TimestampSecondType>().values().clone(), 0)
                    }
                    TimeUnit::Millisecond => (
                        a.as_primitive::<TimestampMillisecondType>()
                            .values()
                            .clone(),
                        3,
                    ),
                    TimeUnit::Microsecond => (
                        a.as_primitive::<TimestampMicrosecondType>()
                            .values()
                            .clone(),
                        6,
                    ),
                    TimeUnit::Nanosecond => (
                        a.as_primitive::<TimestampNanosecondType>().values().clone(),
                        9,
                    ),
                };
                TimeView::Units(values, digits)
            }
            _ => return None,
        })
    }

    fn at(&self, i: usize) -> (i64, u32) {
        match self {
            TimeView::Days(d) => (d[i] as i64 * 86_400, 0),
            TimeView::Millis(m) => (
                m[i].div_euclid(1000),
                (m[i].rem_euclid(1000) * 1_000_000) as u32,
            ),
            TimeView::Units(v, digits) => {
                let per = 10i64.pow(*digits);
                (
                    v[i].div_euclid(per),
                    (v[i].rem_euclid(per) * 10i64.pow(9 - digits)) as u32,
                )
            }
        }
    }
}

impl Cells {
    fn is_null(&self, i: usize) -> bool {
        self.parents.iter().any(|n| n.is_null(i)) || self.enc.is_null(i)
    }

    /// Append value `i` as `format` asks, or say why there is none.
    fn render(
        &self,
        i: usize,
        format: &Format,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), Miss> {
        if self.is_null(i) {
            return Err(Miss::Null);
        }
        if let (Format::Time(items), Some(t)) = (format, &self.time) {
            let (secs, nanos) = t.at(i);
            time::format(secs, nanos, items, out);
            return Ok(());
        }
        scratch.clear();
        self.enc.raw(i, scratch).map_err(|e| Miss::Bad(e.message))?;
        if scratch.is_empty() {
            return Err(Miss::Empty);
        }
        match format {
            Format::Plain => out.extend_from_slice(scratch),
            Format::Pad(width) => pad_integer(scratch, *width, out)?,
            Format::Time(items) => {
                let text = std::str::from_utf8(scratch).unwrap_or("");
                let (secs, nanos) = time::parse_iso8601(text).ok_or_else(|| {
                    Miss::Bad(format!(
                        "{:?} is not an ISO-8601 date or timestamp",
                        String::from_utf8_lossy(scratch)
                    ))
                })?;
                time::format(secs, nanos, items, out);
            }
        }
        Ok(())
    }
}

/// `text` (an integer: optional sign, then digits) zero-padded to `width`, the sign counted in
/// the width and written before the zeros; wider values are written whole.
pub(crate) fn pad_integer(text: &[u8], width: usize, out: &mut Vec<u8>) -> Result<(), Miss> {
    let (sign, digits) = match text.first() {
        Some(b'-') => (&text[..1], &text[1..]),
        Some(b'+') => (&b""[..], &text[1..]),
        _ => (&b""[..], text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Miss::Bad(format!(
            "{:?} is not an integer, so it cannot be zero-padded",
            String::from_utf8_lossy(text)
        )));
    }
    out.extend_from_slice(sign);
    let used = sign.len() + digits.len();
    out.resize(out.len() + width.saturating_sub(used), b'0');
    out.extend_from_slice(digits);
    Ok(())
}

/// A column (or struct field) found by a placeholder's path: its index path and Arrow type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The top-level column, then the struct field indexes below it.
    pub indexes: Vec<usize>,
    pub data_type: DataType,
}

/// Find `path` in `schema`: a column of that very name, else `a.b.c` through struct fields.
pub fn resolve(schema: &Schema, path: &str) -> Option<Resolved> {
    if let Ok(i) = schema.index_of(path) {
        return Some(Resolved {
            indexes: vec![i],
            data_type: schema.field(i).data_type().clone(),
        });
    }
    let mut parts = path.split('.');
    let first = parts.next()?;
    let top = schema.index_of(first).ok()?;
    let mut indexes = vec![top];
    let mut dt = schema.field(top).data_type().clone();
    for p in parts {
        let fields: Fields = match &dt {
            DataType::Struct(f) => f.clone(),
            _ => return None,
        };
        let (k, f) = fields.find(p)?;
        indexes.push(k);
        dt = f.data_type().clone();
    }
    Some(Resolved {
        indexes,
        data_type: dt,
    })
}

/// Whether a placeholder may use a column of type `dt` with `format`; the error says why not.
pub fn check_type(dt: &DataType, format: &Format) -> std::result::Result<(), String> {
    let base = match dt {
        DataType::Dictionary(_, v) => v.as_ref(),
        d => d,
    };
    let text = matches!(
        base,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    let temporal = matches!(
        base,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
    );
    let integer = base.is_integer()
        || matches!(
            base,
            DataType::Decimal128(_, 0) | DataType::Decimal256(_, 0)
        );
    match base {
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => {
            return Err(format!("it is a binary column ({base}); binary values cannot be part of a text key. Encode it first (e.g. as hex or base64 text in the source), or leave it out of the template"));
        }
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(_, _)
        | DataType::Map(_, _) => {
            return Err(format!(
                "it is a {base} column; a template takes scalar values"
            ));
        }
        DataType::Struct(_) => {
            return Err(
                "it is a struct column; name one of its fields, e.g. {column.field}".to_string(),
            );
        }
        _ => {}
    }
    match format {
        Format::Plain => Ok(()),
        Format::Pad(_) if integer || text => Ok(()),
        Format::Pad(_) => Err(format!(
            "zero padding takes an integer column, and this one is {base}"
        )),
        Format::Time(_) if temporal || text => Ok(()),
        Format::Time(_) => Err(format!(
            "a date format takes a date, timestamp or ISO-8601 text column, and this one is {base}"
        )),
    }
}

/// A template's text for every row of a batch: the rows' texts end to end, where each ends,
/// and for the rows that have none (their text is empty), which placeholder missed and why.
pub struct Rendered {
    pub values: Vec<u8>,
    pub ends: Vec<usize>,
    pub misses: Vec<(usize, String, Miss)>,
}

/// A template bound to the columns of a schema, ready to render batches of it.
#[derive(Clone, Debug)]
pub struct Bound {
    pub template: Template,
    /// Per placeholder, in order: where its values are.
    pub columns: Vec<Resolved>,
}

impl Bound {
    /// Render every row of `batch`.
    pub fn render(&self, batch: &RecordBatch) -> Rendered {
        let rows = batch.num_rows();
        let cells: Vec<Cells> = self.columns.iter().map(|r| cells(batch, r)).collect();
        let mut values = Vec::with_capacity(rows * (self.template.text.len() + 8));
        let mut ends = Vec::with_capacity(rows);
        let mut misses = Vec::new();
        let mut scratch = Vec::new();
        'rows: for i in 0..rows {
            let mark = values.len();
            let mut k = 0;
            for p in &self.template.pieces {
                match p {
                    Piece::Lit(s) => values.extend_from_slice(s.as_bytes()),
                    Piece::Field(f) => {
                        if let Err(m) = cells[k].render(i, &f.format, &mut scratch, &mut values) {
                            values.truncate(mark);
                            misses.push((i, f.path.clone(), m));
                            ends.push(values.len());
                            continue 'rows;
                        }
                        k += 1;
                    }
                }
            }
            ends.push(values.len());
        }
        Rendered {
            values,
            ends,
            misses,
        }
    }
}

/// The placeholder's encoder over `batch`: numbers as N (canonical), everything else as S.
fn cells(batch: &RecordBatch, r: &Resolved) -> Cells {
    let mut array = batch.column(r.indexes[0]).clone();
    let mut parents = Vec::new();
    for &k in &r.indexes[1..] {
        if let Some(n) = array.logical_nulls() {
            parents.push(n);
        }
        array = array.as_struct().column(k).clone();
    }
    let base = match array.data_type() {
        DataType::Dictionary(_, v) => v.as_ref().clone(),
        d => d.clone(),
    };
    let target = if base.is_numeric() {
        Target::N
    } else {
        Target::S
    };
    let opts = EncodeOptions {
        timestamps: Timestamps::Rfc3339,
    };
    let enc = build(&array, &target, &opts)
        .or_else(|_| build(&array, &Target::Auto, &opts))
        .expect("the column's type was checked when the template was bound");
    Cells {
        time: TimeView::of(&array),
        enc,
        parents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_placeholders_and_braces() {
        let t = Template::parse("CUSTOMER#{id:08}#{{x}}#{created:%Y-%m}").unwrap();
        assert_eq!(
            t.pieces,
            vec![
                Piece::Lit("CUSTOMER#".into()),
                Piece::Field(Placeholder {
                    path: "id".into(),
                    format: Format::Pad(8)
                }),
                Piece::Lit("#{x}#".into()),
                Piece::Field(Placeholder {
                    path: "created".into(),
                    format: Format::Time(vec![
                        TimeItem::Year,
                        TimeItem::Lit("-".into()),
                        TimeItem::Month
                    ]),
                }),
            ]
        );
        assert!(Template::parse("Order").unwrap().is_constant());
        for bad in [
            "a{", "a}", "{}", "{a:8}", "{a:00}", "{a:x}", "{a{b}}", "{a:%Q}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        let e = Template::parse("A#{id:8}").unwrap_err().to_string();
        assert!(e.contains("{id:08}"), "{e}");
    }

    #[test]
    fn pads_with_the_sign_in_the_width() {
        let p = |s: &str, w| {
            let mut o = Vec::new();
            pad_integer(s.as_bytes(), w, &mut o).map(|()| String::from_utf8(o).unwrap())
        };
        assert_eq!(p("42", 5).unwrap(), "00042");
        assert_eq!(p("-42", 5).unwrap(), "-0042");
        assert_eq!(p("+42", 4).unwrap(), "0042");
        assert_eq!(p("123456", 3).unwrap(), "123456");
        assert!(p("4.2", 5).is_err());
        assert!(p("-", 5).is_err());
    }
}

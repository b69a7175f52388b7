//! Encoders for text columns (Utf8, LargeUtf8, Utf8View — and every CSV column): as S, or parsed
//! into N, B, BOOL, a set split on a delimiter, or a JSON document.

use super::{
    sets::finish_set, AttrType, ColumnEncoder, ItemWriter, NullMask, RuleFailure, WriteOutcome,
};
use crate::model::number;
use crate::model::rules;
use arrow_array::{Array, LargeStringArray, StringArray, StringViewArray};
use base64::Engine;
use serde_json::Value;

/// Arrays of UTF-8 strings.
pub(crate) trait TextArr: Send + Sync {
    fn null(&self, i: usize) -> bool;
    fn nulls(&self) -> Option<&arrow_buffer::NullBuffer>;
    fn text(&self, i: usize) -> &str;
}
macro_rules! text_arr {
    ($($t:ty),*) => {$(
        impl TextArr for $t {
            #[inline]
            fn null(&self, i: usize) -> bool { self.is_null(i) }
            #[inline]
            fn nulls(&self) -> Option<&arrow_buffer::NullBuffer> { Array::nulls(self) }
            #[inline]
            fn text(&self, i: usize) -> &str { self.value(i) }
        }
    )*};
}
text_arr!(StringArray, LargeStringArray, StringViewArray);

/// What a text cell becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TextMode {
    S,
    N,
    /// Base64 text decoded to bytes.
    B,
    Bool,
    /// A set of the given kind (SS, NS, BS) from the cell split on `delim`.
    Set {
        kind: AttrType,
        delim: String,
    },
    /// A JSON document; `expect` restricts the top level to L or M.
    Json {
        expect: Option<AttrType>,
    },
}

pub(crate) struct TextEnc<A: TextArr> {
    pub a: A,
    pub mode: TextMode,
}

pub(crate) fn short(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{:?}…", s.chars().take(40).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

/// Parse text as a DynamoDB number into canonical form.
pub(crate) fn text_number(s: &str, buf: &mut Vec<u8>) -> Result<usize, RuleFailure> {
    number::canonicalize(s.as_bytes(), buf).map_err(|e| {
        let rule = match e {
            number::NumError::Syntax => &rules::VALUE_CONVERSION,
            other => other.rule(),
        };
        RuleFailure::new(rule, format!("value {} {}", short(s), e.describe()))
    })
}

pub(crate) fn text_bool(s: &str) -> Result<bool, RuleFailure> {
    if s.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(RuleFailure::new(
            &rules::VALUE_CONVERSION,
            format!("value {} is not true or false", short(s)),
        ))
    }
}

pub(crate) fn text_base64(s: &str, buf: &mut Vec<u8>) -> Result<(), RuleFailure> {
    base64::engine::general_purpose::STANDARD
        .decode_vec(s.trim_end_matches(['\r', '\n']), buf)
        .map_err(|e| {
            RuleFailure::new(
                &rules::VALUE_CONVERSION,
                format!("value {} is not standard padded base64 ({e})", short(s)),
            )
        })
}

impl<A: TextArr> ColumnEncoder for TextEnc<A> {
    #[inline]
    fn is_null(&self, i: usize) -> bool {
        self.a.null(i)
    }
    fn null_mask(&self) -> NullMask {
        NullMask::of(self.a.nulls())
    }
    fn ty(&self) -> Option<AttrType> {
        match &self.mode {
            TextMode::S => Some(AttrType::S),
            TextMode::N => Some(AttrType::N),
            TextMode::B => Some(AttrType::B),
            TextMode::Bool => Some(AttrType::Bool),
            TextMode::Set { kind, .. } => Some(*kind),
            TextMode::Json { expect } => *expect,
        }
    }
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        let s = self.a.text(i);
        match &self.mode {
            TextMode::S => {
                buf.extend_from_slice(s.as_bytes());
                Ok(AttrType::S)
            }
            TextMode::N => {
                text_number(s, buf)?;
                Ok(AttrType::N)
            }
            TextMode::B => {
                text_base64(s, buf)?;
                Ok(AttrType::B)
            }
            TextMode::Bool => {
                buf.extend_from_slice(if text_bool(s)? { b"true" } else { b"false" });
                Ok(AttrType::Bool)
            }
            TextMode::Json { .. } => {
                match serde_json::from_str::<Value>(s) {
                    Ok(Value::String(t)) => {
                        buf.extend_from_slice(t.as_bytes());
                        return Ok(AttrType::S);
                    }
                    Ok(Value::Number(n)) => {
                        text_number(&n.to_string(), buf)?;
                        return Ok(AttrType::N);
                    }
                    _ => {}
                }
                Err(RuleFailure::new(
                    &rules::KEY_NESTED,
                    format!("JSON value {} is not a string or number", short(s)),
                ))
            }
            TextMode::Set { .. } => Err(RuleFailure::new(
                &rules::KEY_NESTED,
                "a set cannot be a key or set member",
            )),
        }
    }
    fn json_head(&self) -> Option<&'static [u8]> {
        match self.mode {
            TextMode::S => Some(super::HEAD_S),
            TextMode::N => Some(super::HEAD_N),
            _ => None,
        }
    }
    #[inline]
    fn write_rest(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let s = self.a.text(i);
        if let TextMode::N = self.mode {
            let size = w.n_rest(|out| text_number(s, out))?;
            return Ok(WriteOutcome::Written {
                ty: AttrType::N,
                size,
            });
        }
        super::escape_into(s.as_bytes(), &mut w.out);
        w.close_string();
        Ok(WriteOutcome::Written {
            ty: AttrType::S,
            size: s.len(),
        })
    }
    #[inline]
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let s = self.a.text(i);
        match &self.mode {
            TextMode::S => Ok(WriteOutcome::Written {
                ty: AttrType::S,
                size: w.s(s),
            }),
            TextMode::N => {
                let size = w.n_with(|out| text_number(s, out))?;
                Ok(WriteOutcome::Written {
                    ty: AttrType::N,
                    size,
                })
            }
            TextMode::B => {
                let mut buf = std::mem::take(&mut w.scratch);
                buf.clear();
                let r = text_base64(s, &mut buf).map(|()| WriteOutcome::Written {
                    ty: AttrType::B,
                    size: w.b(&buf),
                });
                w.scratch = buf;
                r
            }
            TextMode::Bool => Ok(WriteOutcome::Written {
                ty: AttrType::Bool,
                size: w.bool(text_bool(s)?),
            }),
            TextMode::Set { kind, delim } => {
                w.members.clear();
                w.spans.clear();
                for part in s.split(delim.as_str()) {
                    let part = part.trim();
                    if part.is_empty() {
                        continue;
                    }
                    let start = w.members.len();
                    let mut members = std::mem::take(&mut w.members);
                    let r = match kind {
                        AttrType::NS => text_number(part, &mut members).map(|_| ()),
                        AttrType::BS => text_base64(part, &mut members),
                        _ => {
                            members.extend_from_slice(part.as_bytes());
                            Ok(())
                        }
                    };
                    w.members = members;
                    r?;
                    w.spans.push((start, w.members.len()));
                }
                finish_set(w, *kind)
            }
            TextMode::Json { expect } => {
                let v: Value = serde_json::from_str(s).map_err(|e| {
                    RuleFailure::new(
                        &rules::VALUE_CONVERSION,
                        format!("value {} is not valid JSON ({e})", short(s)),
                    )
                })?;
                let top = json_ty(&v);
                if let Some(want) = expect {
                    if top != *want {
                        return Err(RuleFailure::new(
                            &rules::VALUE_CONVERSION,
                            format!(
                                "JSON value {} is {} where {} was declared",
                                short(s),
                                top.as_str(),
                                want.as_str()
                            ),
                        ));
                    }
                }
                let size = write_json(&v, w)?;
                Ok(WriteOutcome::Written { ty: top, size })
            }
        }
    }
}

fn json_ty(v: &Value) -> AttrType {
    match v {
        Value::Null => AttrType::Null,
        Value::Bool(_) => AttrType::Bool,
        Value::Number(_) => AttrType::N,
        Value::String(_) => AttrType::S,
        Value::Array(_) => AttrType::L,
        Value::Object(_) => AttrType::M,
    }
}

/// Write a parsed JSON document as DynamoDB values; numbers keep their exact text.
pub(crate) fn write_json(v: &Value, w: &mut ItemWriter) -> Result<usize, RuleFailure> {
    Ok(match v {
        Value::Null => w.null(),
        Value::Bool(b) => w.bool(*b),
        Value::Number(n) => {
            let mut buf = Vec::new();
            let size = text_number(&n.to_string(), &mut buf)?;
            w.n(&buf, size)
        }
        Value::String(s) => w.s(s),
        Value::Array(items) => {
            w.open(AttrType::L)?;
            let mut size = 3;
            for (j, item) in items.iter().enumerate() {
                if j > 0 {
                    w.out.push(b',');
                }
                size += 1 + write_json(item, w)?;
            }
            w.close(AttrType::L);
            size
        }
        Value::Object(map) => {
            w.open(AttrType::M)?;
            let mut size = 3;
            for (j, (k, item)) in map.iter().enumerate() {
                super::check_name(k)?;
                w.name(k, j == 0);
                size += 1 + k.len() + write_json(item, w)?;
            }
            w.close(AttrType::M);
            size
        }
    })
}

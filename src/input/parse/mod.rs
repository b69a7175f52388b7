//! Reading DynamoDB JSON and Ion item lines back: the attribute-value model, line parsers with
//! precise errors, and a streaming reader that reports a bad line and goes on with the next.

#[doc(hidden)]
pub mod ion;
pub(crate) mod json;
mod json_fast;
#[doc(hidden)]
pub mod lines;

use crate::model::rules::Rule;
use std::fmt;

/// A DynamoDB attribute value as read from a file. Numbers keep their text as written.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    S(String),
    N(String),
    B(Vec<u8>),
    Bool(bool),
    Null,
    L(Vec<AttrValue>),
    M(Vec<(String, AttrValue)>),
    SS(Vec<String>),
    NS(Vec<String>),
    BS(Vec<Vec<u8>>),
}

impl AttrValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            AttrValue::S(_) => "S",
            AttrValue::N(_) => "N",
            AttrValue::B(_) => "B",
            AttrValue::Bool(_) => "BOOL",
            AttrValue::Null => "NULL",
            AttrValue::L(_) => "L",
            AttrValue::M(_) => "M",
            AttrValue::SS(_) => "SS",
            AttrValue::NS(_) => "NS",
            AttrValue::BS(_) => "BS",
        }
    }

    /// Plain JSON (numbers as written, binaries as base64), for rejects and comparisons.
    pub fn to_plain(&self) -> serde_json::Value {
        use serde_json::Value;
        let b64 = |b: &[u8]| {
            let mut o = Vec::new();
            crate::model::bytes::base64_into(b, &mut o);
            Value::String(String::from_utf8_lossy(&o).into_owned())
        };
        match self {
            AttrValue::S(s) => Value::String(s.clone()),
            AttrValue::N(n) => serde_json::from_str::<serde_json::Number>(n)
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(n.clone())),
            AttrValue::B(b) => b64(b),
            AttrValue::Bool(b) => Value::Bool(*b),
            AttrValue::Null => Value::Null,
            AttrValue::L(l) => Value::Array(l.iter().map(AttrValue::to_plain).collect()),
            AttrValue::M(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_plain())).collect())
            }
            AttrValue::SS(v) => Value::Array(v.iter().map(|s| Value::String(s.clone())).collect()),
            AttrValue::NS(v) => Value::Array(v.iter().map(|s| Value::String(s.clone())).collect()),
            AttrValue::BS(v) => Value::Array(v.iter().map(|b| b64(b)).collect()),
        }
    }
}

/// One item: its attributes in file order.
pub type Item = Vec<(String, AttrValue)>;

/// The item as plain JSON.
pub fn item_to_plain(item: &Item) -> serde_json::Value {
    serde_json::Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), v.to_plain()))
            .collect(),
    )
}

/// Why a line could not be read, with where in the line (1-based column, when known) and the
/// attribute path (`Item.tags.SS[2]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub rule: &'static Rule,
    pub column: Option<usize>,
    pub path: Vec<String>,
    pub message: String,
}

impl ParseError {
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Self {
        ParseError {
            rule,
            column: None,
            path: Vec::new(),
            message: message.into(),
        }
    }

    /// Prepend a path segment while the error travels up.
    pub fn at(mut self, segment: impl Into<String>) -> Self {
        self.path.insert(0, segment.into());
        self
    }

    /// `Item.tags.SS[2]`.
    pub(crate) fn path_text(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            if seg.starts_with('[') || s.is_empty() {
                s.push_str(seg);
            } else {
                s.push('.');
                s.push_str(seg);
            }
        }
        s
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path_text())?;
        }
        f.write_str(&self.message)?;
        if let Some(c) = self.column {
            write!(f, " (column {c})")?;
        }
        Ok(())
    }
}

/// The two line formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFormat {
    DynamodbJson,
    Ion,
}

impl LineFormat {
    pub fn parse_line(self, line: &[u8]) -> Result<Item, ParseError> {
        let text = std::str::from_utf8(line).map_err(|e| {
            let mut err = ParseError::new(
                &crate::model::rules::INVALID_UTF8,
                "the line is not valid UTF-8",
            );
            err.column = Some(e.valid_up_to() + 1);
            err
        })?;
        if text.trim().is_empty() {
            return Err(ParseError::new(
                &crate::model::rules::BLANK_LINE,
                "blank line",
            ));
        }
        if text.starts_with('\u{feff}') {
            let mut e = ParseError::new(
                &crate::model::rules::BOM,
                "the line starts with a UTF-8 byte order mark",
            );
            e.column = Some(1);
            return Err(e);
        }
        match self {
            LineFormat::DynamodbJson => match json_fast::parse_line(text) {
                Some(item) => Ok(item),
                None => json::parse_line(text),
            },
            LineFormat::Ion => ion::parse_line(text),
        }
    }
}

//! What a column is asked to become (`--type`, declared key types, CSV inference) and how
//! timestamps are written: the options every encoder is built with, the column plan's and the
//! JSON documents' alike.

use crate::encoding::AttrType;
use crate::model::keys::ScalarType;
use anyhow::{bail, Result};
use std::fmt;

/// What a column is asked to become.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The default mapping of its Arrow type.
    Auto,
    S,
    N,
    B,
    Bool,
    /// SS/NS/BS from a list column, or from text split on `delim` (default `,`).
    Set {
        kind: AttrType,
        delim: Option<String>,
    },
    L,
    M,
    /// Parse a text cell as JSON.
    Json,
}

impl Target {
    /// Parse the TYPE of `--type COLUMN=TYPE`.
    pub fn parse(s: &str) -> Result<Self> {
        let (head, delim) = match s.split_once(':') {
            Some((h, d)) => (h, Some(d.to_string())),
            None => (s, None),
        };
        let t = match head.to_ascii_uppercase().as_str() {
            "S" => Target::S,
            "N" => Target::N,
            "B" => Target::B,
            "BOOL" => Target::Bool,
            "SS" => Target::Set { kind: AttrType::SS, delim: delim.clone() },
            "NS" => Target::Set { kind: AttrType::NS, delim: delim.clone() },
            "BS" => Target::Set { kind: AttrType::BS, delim: delim.clone() },
            "L" => Target::L,
            "M" => Target::M,
            "JSON" => Target::Json,
            _ => bail!("unknown type {s:?}: expected S, N, B, BOOL, SS, NS, BS (optionally SS:DELIM), L, M or JSON"),
        };
        if delim.is_some() && !matches!(t, Target::Set { .. }) {
            bail!("{s:?}: only sets take a delimiter (e.g. SS:;)");
        }
        if let Target::Set { delim: Some(d), .. } = &t {
            if d.is_empty() {
                bail!("{s:?}: empty set delimiter");
            }
        }
        Ok(t)
    }

    pub(crate) fn from_key(t: ScalarType) -> Self {
        match t {
            ScalarType::S => Target::S,
            ScalarType::N => Target::N,
            ScalarType::B => Target::B,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Auto => f.write_str("its default type"),
            Target::S => f.write_str("S"),
            Target::N => f.write_str("N"),
            Target::B => f.write_str("B"),
            Target::Bool => f.write_str("BOOL"),
            Target::Set { kind, .. } => f.write_str(kind.as_str()),
            Target::L => f.write_str("L"),
            Target::M => f.write_str("M"),
            Target::Json => f.write_str("JSON"),
        }
    }
}

/// How timestamps are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timestamps {
    Rfc3339,
    /// An epoch number in 10^-digits seconds (0, 3 or 6).
    Epoch(u32),
}

#[derive(Clone, Copy, Debug)]
pub struct EncodeOptions {
    pub timestamps: Timestamps,
}

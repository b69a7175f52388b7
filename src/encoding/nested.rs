//! Encoders for nested Arrow columns: lists (L or sets), structs and maps (M), dictionaries.

use super::sets::{finish_set, member_ty};
use super::{
    check_name, text::TextArr, AttrType, ColumnEncoder, ItemWriter, Nulls, RuleFailure,
    WriteOutcome,
};
use crate::model::rules;
use arrow_buffer::{NullBuffer, OffsetBuffer};

/// Where each list value's elements are in the child array.
pub enum Offsets {
    I32(OffsetBuffer<i32>),
    I64(OffsetBuffer<i64>),
    Fixed(usize),
}

impl Offsets {
    #[inline]
    pub fn range(&self, i: usize) -> (usize, usize) {
        match self {
            Offsets::I32(o) => (o[i] as usize, o[i + 1] as usize),
            Offsets::I64(o) => (o[i] as usize, o[i + 1] as usize),
            Offsets::Fixed(n) => (i * n, (i + 1) * n),
        }
    }
}

/// List, LargeList, FixedSizeList → L; a null element becomes NULL.
pub(crate) struct ListEnc {
    pub nulls: Option<NullBuffer>,
    pub offsets: Offsets,
    pub child: Box<dyn ColumnEncoder>,
}

impl ColumnEncoder for ListEnc {
    fn is_null(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
    fn ty(&self) -> Option<AttrType> {
        Some(AttrType::L)
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let (start, end) = self.offsets.range(i);
        w.open(AttrType::L)?;
        let mut size = 3;
        for j in start..end {
            if j > start {
                w.out.push(b',');
            }
            size += 1;
            if self.child.is_null(j) {
                size += w.null();
                continue;
            }
            match self.child.write(j, w)? {
                WriteOutcome::Written { size: s, .. } => size += s,
                WriteOutcome::Omit => size += w.null(),
            }
        }
        w.close(AttrType::L);
        Ok(WriteOutcome::Written {
            ty: AttrType::L,
            size,
        })
    }
}

/// A list column written as SS, NS or BS.
pub(crate) struct SetEnc {
    pub nulls: Option<NullBuffer>,
    pub offsets: Offsets,
    pub child: Box<dyn ColumnEncoder>,
    pub kind: AttrType,
}

impl ColumnEncoder for SetEnc {
    fn is_null(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
    fn ty(&self) -> Option<AttrType> {
        Some(self.kind)
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let (start, end) = self.offsets.range(i);
        w.members.clear();
        w.spans.clear();
        let want = member_ty(self.kind);
        for j in start..end {
            if self.child.is_null(j) {
                return Err(RuleFailure::new(
                    &rules::SET_ELEMENT,
                    format!("{} member {} is null", self.kind.as_str(), j - start),
                ));
            }
            let from = w.members.len();
            let mut members = std::mem::take(&mut w.members);
            let r = self.child.raw(j, &mut members);
            w.members = members;
            let ty = r?;
            if ty != want {
                return Err(RuleFailure::new(
                    &rules::SET_ELEMENT,
                    format!(
                        "{} member {} is {}, not {}",
                        self.kind.as_str(),
                        j - start,
                        ty.as_str(),
                        want.as_str()
                    ),
                ));
            }
            w.spans.push((from, w.members.len()));
        }
        finish_set(w, self.kind)
    }
}

/// Struct → M. Null fields follow `--nulls` (left out, or NULL).
pub(crate) struct StructEnc {
    pub nulls: Option<NullBuffer>,
    pub fields: Vec<(String, Box<dyn ColumnEncoder>)>,
}

impl ColumnEncoder for StructEnc {
    fn is_null(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
    fn ty(&self) -> Option<AttrType> {
        Some(AttrType::M)
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        w.open(AttrType::M)?;
        let mut size = 3;
        let mut first = true;
        for (name, enc) in &self.fields {
            if enc.is_null(i) {
                if w.nulls == Nulls::Null {
                    w.name(name, first);
                    first = false;
                    size += 1 + name.len() + w.null();
                }
                continue;
            }
            let mark = w.out.len();
            w.name(name, first);
            match enc.write(i, w)? {
                WriteOutcome::Written { size: s, .. } => {
                    size += 1 + name.len() + s;
                    first = false;
                }
                WriteOutcome::Omit => w.out.truncate(mark),
            }
        }
        w.close(AttrType::M);
        Ok(WriteOutcome::Written {
            ty: AttrType::M,
            size,
        })
    }
}

/// Map with string keys → M.
pub(crate) struct MapEnc {
    pub nulls: Option<NullBuffer>,
    pub offsets: Offsets,
    pub keys: Box<dyn TextArr>,
    pub values: Box<dyn ColumnEncoder>,
}

impl ColumnEncoder for MapEnc {
    fn is_null(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
    fn ty(&self) -> Option<AttrType> {
        Some(AttrType::M)
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let (start, end) = self.offsets.range(i);
        w.open(AttrType::M)?;
        let mut size = 3;
        let mut first = true;
        for j in start..end {
            let key = self.keys.text(j);
            check_name(key)?;
            if self.values.is_null(j) {
                if w.nulls == Nulls::Null {
                    w.name(key, first);
                    first = false;
                    size += 1 + key.len() + w.null();
                }
                continue;
            }
            let mark = w.out.len();
            w.name(key, first);
            match self.values.write(j, w)? {
                WriteOutcome::Written { size: s, .. } => {
                    size += 1 + key.len() + s;
                    first = false;
                }
                WriteOutcome::Omit => w.out.truncate(mark),
            }
        }
        w.close(AttrType::M);
        Ok(WriteOutcome::Written {
            ty: AttrType::M,
            size,
        })
    }
}

/// Dictionary → its value type.
pub(crate) struct DictEnc {
    pub key_nulls: Option<NullBuffer>,
    pub keys: Vec<usize>,
    pub values: Box<dyn ColumnEncoder>,
}

impl ColumnEncoder for DictEnc {
    fn is_null(&self, i: usize) -> bool {
        self.key_nulls.as_ref().is_some_and(|n| n.is_null(i)) || self.values.is_null(self.keys[i])
    }
    fn ty(&self) -> Option<AttrType> {
        self.values.ty()
    }
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        self.values.raw(self.keys[i], buf)
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        self.values.write(self.keys[i], w)
    }
}

/// A column whose every value is null (Arrow Null type, or a dictionary with no values).
pub(crate) struct NullEnc;

impl ColumnEncoder for NullEnc {
    fn is_null(&self, _: usize) -> bool {
        true
    }
    fn ty(&self) -> Option<AttrType> {
        Some(AttrType::Null)
    }
}

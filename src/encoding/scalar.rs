//! Encoders for Arrow scalar columns: integers, floats, decimals, booleans, binaries, temporals.

use super::{
    AttrType, ColumnEncoder, ItemWriter, NullMask, RuleFailure, WriteOutcome, HEAD_BOOL, HEAD_N,
    HEAD_S,
};
use crate::model::rules;
use crate::model::{number, temporal};
use arrow_array::types::DecimalType;
use arrow_array::{
    Array, ArrowPrimitiveType, BinaryArray, BinaryViewArray, BooleanArray, FixedSizeBinaryArray,
    LargeBinaryArray, PrimitiveArray,
};
use arrow_buffer::i256;

/// Integers as N (or as their text, S).
pub(crate) struct IntEnc<T: ArrowPrimitiveType> {
    pub a: PrimitiveArray<T>,
    pub as_text: bool,
}

impl<T: ArrowPrimitiveType> ColumnEncoder for IntEnc<T>
where
    T::Native: itoa::Integer,
{
    fn is_null(&self, i: usize) -> bool {
        self.a.is_null(i)
    }
    fn null_mask(&self) -> NullMask {
        NullMask::of(self.a.nulls())
    }
    fn ty(&self) -> Option<AttrType> {
        Some(if self.as_text {
            AttrType::S
        } else {
            AttrType::N
        })
    }
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        let mut b = itoa::Buffer::new();
        super::put(buf, b.format(self.a.value(i)).as_bytes());
        Ok(self.ty().unwrap())
    }
    #[inline]
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let mut b = itoa::Buffer::new();
        let s = b.format(self.a.value(i));
        if self.as_text {
            let size = w.s(s);
            return Ok(WriteOutcome::Written {
                ty: AttrType::S,
                size,
            });
        }
        let size = w.n(s.as_bytes(), number::int_text_size(s.as_bytes()));
        Ok(WriteOutcome::Written {
            ty: AttrType::N,
            size,
        })
    }
    fn json_head(&self) -> Option<&'static [u8]> {
        Some(if self.as_text { HEAD_S } else { HEAD_N })
    }
    #[inline]
    fn write_rest(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let mut b = itoa::Buffer::new();
        let s = b.format(self.a.value(i)).as_bytes();
        super::put(&mut w.out, s);
        w.close_string();
        Ok(if self.as_text {
            WriteOutcome::Written {
                ty: AttrType::S,
                size: s.len(),
            }
        } else {
            WriteOutcome::Written {
                ty: AttrType::N,
                size: number::int_text_size(s),
            }
        })
    }
}

/// Floating-point values that can be written as shortest round-trip text.
pub(crate) trait FloatValue: Copy + Send + Sync + std::fmt::Display {
    fn write(self, out: &mut Vec<u8>) -> Option<Result<usize, number::NumError>>;
}
impl FloatValue for f64 {
    fn write(self, out: &mut Vec<u8>) -> Option<Result<usize, number::NumError>> {
        number::write_float(self, out)
    }
}
impl FloatValue for f32 {
    fn write(self, out: &mut Vec<u8>) -> Option<Result<usize, number::NumError>> {
        number::write_f32(self, out)
    }
}
impl FloatValue for half::f16 {
    fn write(self, out: &mut Vec<u8>) -> Option<Result<usize, number::NumError>> {
        number::write_f16(self, out)
    }
}

/// Floats as N (NaN/±Inf reject the row) or as text (S).
pub(crate) struct FloatEnc<T: ArrowPrimitiveType> {
    pub a: PrimitiveArray<T>,
    pub as_text: bool,
}

impl<T: ArrowPrimitiveType> FloatEnc<T>
where
    T::Native: FloatValue,
{
    fn canonical(&self, i: usize, buf: &mut Vec<u8>) -> Result<usize, RuleFailure> {
        let v = self.a.value(i);
        match v.write(buf) {
            Some(Ok(size)) => Ok(size),
            Some(Err(e)) => Err(RuleFailure::new(
                e.rule(),
                format!("float {v} {}", e.describe()),
            )),
            None => Err(RuleFailure::new(
                &rules::NUMBER_NOT_FINITE,
                format!("float {v} is not a finite number"),
            )),
        }
    }
}

impl<T: ArrowPrimitiveType> ColumnEncoder for FloatEnc<T>
where
    T::Native: FloatValue,
{
    fn is_null(&self, i: usize) -> bool {
        self.a.is_null(i)
    }
    fn null_mask(&self) -> NullMask {
        NullMask::of(self.a.nulls())
    }
    fn ty(&self) -> Option<AttrType> {
        Some(if self.as_text {
            AttrType::S
        } else {
            AttrType::N
        })
    }
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        if self.as_text {
            let v = self.a.value(i);
            if v.write(buf).is_none() {
                buf.extend_from_slice(match v.to_string().as_str() {
                    "inf" => b"Infinity".as_slice(),
                    "-inf" => b"-Infinity",
                    _ => b"NaN",
                });
            }
            return Ok(AttrType::S);
        }
        self.canonical(i, buf)?;
        Ok(AttrType::N)
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        if self.as_text {
            let mut buf = std::mem::take(&mut w.scratch);
            buf.clear();
            self.raw(i, &mut buf)?;
            let size = w.s(std::str::from_utf8(&buf).unwrap_or(""));
            w.scratch = buf;
            return Ok(WriteOutcome::Written {
                ty: AttrType::S,
                size,
            });
        }
        let size = w.n_with(|out| self.canonical(i, out))?;
        Ok(WriteOutcome::Written {
            ty: AttrType::N,
            size,
        })
    }
    fn json_head(&self) -> Option<&'static [u8]> {
        (!self.as_text).then_some(HEAD_N)
    }
    fn write_rest(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let size = w.n_rest(|out| self.canonical(i, out))?;
        Ok(WriteOutcome::Written {
            ty: AttrType::N,
            size,
        })
    }
}

/// Unscaled decimal integers as text without going through floating point.
pub(crate) trait DecimalText {
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R;
    /// Sign and magnitude, when the magnitude fits in 64 bits.
    fn small(&self) -> Option<(bool, u64)>;
}
impl DecimalText for i128 {
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        // On the stack: no allocation per value.
        f(itoa::Buffer::new().format(*self))
    }
    fn small(&self) -> Option<(bool, u64)> {
        u64::try_from(self.unsigned_abs())
            .ok()
            .map(|m| (*self < 0, m))
    }
}
impl DecimalText for i256 {
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(&self.to_string())
    }
    fn small(&self) -> Option<(bool, u64)> {
        self.to_i128().and_then(|v| v.small())
    }
}

/// Decimal128/256 as N, exact from the unscaled integer and scale (or as that text, S).
pub(crate) struct DecimalEnc<T: DecimalType> {
    pub a: PrimitiveArray<T>,
    pub scale: i8,
    pub as_text: bool,
}

impl<T: DecimalType> ColumnEncoder for DecimalEnc<T>
where
    T::Native: DecimalText,
{
    fn is_null(&self, i: usize) -> bool {
        self.a.is_null(i)
    }
    fn null_mask(&self) -> NullMask {
        NullMask::of(self.a.nulls())
    }
    fn ty(&self) -> Option<AttrType> {
        Some(if self.as_text {
            AttrType::S
        } else {
            AttrType::N
        })
    }
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        self.canonical(i, buf)?;
        Ok(self.ty().unwrap())
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        if !self.as_text {
            let size = w.n_with(|out| self.canonical(i, out))?;
            return Ok(WriteOutcome::Written {
                ty: AttrType::N,
                size,
            });
        }
        let mut buf = std::mem::take(&mut w.scratch);
        buf.clear();
        let r = self.canonical(i, &mut buf).map(|_| WriteOutcome::Written {
            ty: AttrType::S,
            size: w.scalar(AttrType::S, &buf),
        });
        w.scratch = buf;
        r
    }
    fn json_head(&self) -> Option<&'static [u8]> {
        (!self.as_text).then_some(HEAD_N)
    }
    fn write_rest(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let size = w.n_rest(|out| self.canonical(i, out))?;
        Ok(WriteOutcome::Written {
            ty: AttrType::N,
            size,
        })
    }
}

impl<T: DecimalType> DecimalEnc<T>
where
    T::Native: DecimalText,
{
    /// Canonical text of value `i` into `buf`; returns its size as a number.
    fn canonical(&self, i: usize, buf: &mut Vec<u8>) -> Result<usize, RuleFailure> {
        let scale = self.scale;
        let v = self.a.value(i);
        if let Some(size) = v
            .small()
            .and_then(|(neg, magnitude)| number::write_scaled(neg, magnitude, scale, buf))
        {
            return Ok(size);
        }
        v.with_text(|digits| {
            number::write_decimal(digits, scale, buf).map_err(|e| {
                RuleFailure::new(
                    e.rule(),
                    format!("decimal {digits}E-{scale} {}", e.describe()),
                )
            })
        })
    }
}

/// Booleans as BOOL, or as `true`/`false` text (S), or 1/0 (N).
pub(crate) struct BoolEnc {
    pub a: BooleanArray,
    pub ty: AttrType,
}

impl ColumnEncoder for BoolEnc {
    fn is_null(&self, i: usize) -> bool {
        self.a.is_null(i)
    }
    fn null_mask(&self) -> NullMask {
        NullMask::of(self.a.nulls())
    }
    fn ty(&self) -> Option<AttrType> {
        Some(self.ty)
    }
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        let v = self.a.value(i);
        buf.extend_from_slice(match (self.ty, v) {
            (AttrType::N, true) => b"1".as_slice(),
            (AttrType::N, false) => b"0",
            (_, true) => b"true",
            (_, false) => b"false",
        });
        Ok(self.ty)
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        if self.ty == AttrType::Bool {
            let size = w.bool(self.a.value(i));
            return Ok(WriteOutcome::Written {
                ty: AttrType::Bool,
                size,
            });
        }
        let mut buf = std::mem::take(&mut w.scratch);
        buf.clear();
        let ty = self.raw(i, &mut buf)?;
        let size = w.scalar(ty, &buf);
        w.scratch = buf;
        Ok(WriteOutcome::Written { ty, size })
    }
    fn json_head(&self) -> Option<&'static [u8]> {
        (self.ty == AttrType::Bool).then_some(HEAD_BOOL)
    }
    fn write_rest(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let t: &[u8] = if self.a.value(i) { b"true}" } else { b"false}" };
        super::put(&mut w.out, t);
        Ok(WriteOutcome::Written {
            ty: AttrType::Bool,
            size: 1,
        })
    }
}

/// Arrays of byte strings.
pub(crate) trait BytesArr: Send + Sync {
    fn null(&self, i: usize) -> bool;
    fn bytes(&self, i: usize) -> &[u8];
}
macro_rules! bytes_arr {
    ($($t:ty),*) => {$(
        impl BytesArr for $t {
            fn null(&self, i: usize) -> bool { self.is_null(i) }
            fn bytes(&self, i: usize) -> &[u8] { self.value(i) }
        }
    )*};
}
bytes_arr!(
    BinaryArray,
    LargeBinaryArray,
    BinaryViewArray,
    FixedSizeBinaryArray
);

/// Binaries as B (or, when every value is UTF-8 text, as S).
pub(crate) struct BytesEnc<A: BytesArr> {
    pub a: A,
    pub as_text: bool,
}

impl<A: BytesArr> ColumnEncoder for BytesEnc<A> {
    fn is_null(&self, i: usize) -> bool {
        self.a.null(i)
    }
    fn ty(&self) -> Option<AttrType> {
        Some(if self.as_text {
            AttrType::S
        } else {
            AttrType::B
        })
    }
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        let v = self.a.bytes(i);
        if self.as_text && std::str::from_utf8(v).is_err() {
            return Err(RuleFailure::new(
                &rules::INVALID_UTF8,
                "binary value is not valid UTF-8 text",
            ));
        }
        buf.extend_from_slice(v);
        Ok(self.ty().unwrap())
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        if !self.as_text {
            let size = w.b(self.a.bytes(i));
            return Ok(WriteOutcome::Written {
                ty: AttrType::B,
                size,
            });
        }
        let v = self.a.bytes(i);
        match std::str::from_utf8(v) {
            Ok(s) => Ok(WriteOutcome::Written {
                ty: AttrType::S,
                size: w.s(s),
            }),
            Err(_) => Err(RuleFailure::new(
                &rules::INVALID_UTF8,
                "binary value is not valid UTF-8 text",
            )),
        }
    }
}

/// How a temporal column is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TemporalKind {
    /// Days since the epoch → `YYYY-MM-DD`.
    Date32,
    /// Milliseconds since the epoch → `YYYY-MM-DD`.
    Date64,
    /// Units of 10^-digits s since midnight → `HH:MM:SS[.f]`.
    Time { digits: u32 },
    /// Units of 10^-digits s since the epoch → RFC 3339, or an epoch number in 10^-`epoch` s.
    Timestamp {
        digits: u32,
        utc: bool,
        epoch: Option<u32>,
    },
}

pub(crate) struct TemporalEnc<T: ArrowPrimitiveType> {
    pub a: PrimitiveArray<T>,
    pub kind: TemporalKind,
}

impl<T: ArrowPrimitiveType> ColumnEncoder for TemporalEnc<T>
where
    T::Native: Into<i64>,
{
    fn is_null(&self, i: usize) -> bool {
        self.a.is_null(i)
    }
    fn null_mask(&self) -> NullMask {
        NullMask::of(self.a.nulls())
    }
    fn ty(&self) -> Option<AttrType> {
        Some(match self.kind {
            TemporalKind::Timestamp { epoch: Some(_), .. } => AttrType::N,
            _ => AttrType::S,
        })
    }
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        let v: i64 = self.a.value(i).into();
        match self.kind {
            TemporalKind::Date32 => temporal::write_date(v, buf),
            TemporalKind::Date64 => temporal::write_date(v.div_euclid(86_400_000), buf),
            TemporalKind::Time { digits } => temporal::write_time_of_day(v, digits, buf),
            TemporalKind::Timestamp {
                digits,
                epoch: Some(target),
                ..
            } => {
                let e = if target >= digits {
                    v.checked_mul(10i64.pow(target - digits)).ok_or_else(|| {
                        RuleFailure::new(
                            &rules::VALUE_CONVERSION,
                            format!("timestamp {v} does not fit in the epoch unit"),
                        )
                    })?
                } else {
                    v.div_euclid(10i64.pow(digits - target))
                };
                number::write_int(e, buf);
                return Ok(AttrType::N);
            }
            TemporalKind::Timestamp { digits, utc, .. } => {
                temporal::write_timestamp(v, digits, utc, buf)
            }
        }
        Ok(AttrType::S)
    }
    fn json_head(&self) -> Option<&'static [u8]> {
        Some(match self.ty() {
            Some(AttrType::N) => HEAD_N,
            _ => HEAD_S,
        })
    }
    /// Dates, times and timestamps are digits and punctuation: nothing to escape.
    fn write_rest(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let start = w.out.len();
        let ty = self.raw(i, &mut w.out)?;
        let size = match ty {
            AttrType::N => number::int_text_size(&w.out[start..]),
            _ => w.out.len() - start,
        };
        w.close_string();
        Ok(WriteOutcome::Written { ty, size })
    }
}

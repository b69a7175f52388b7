//! Ion text lines as DynamoDB exports them: `$ion_1_0 {Item:{"pk":"a","n":42.}}`, read with
//! ion-rs.

use super::{AttrValue, Item, ParseError};
use crate::model::rules;
use ion_rs::{Element, IonType, Value};

/// Containers a line may open inside each other before it is refused unread: ion-rs builds
/// elements recursively, so a line of a few KB nested thousands deep would overflow the stack.
/// Far above what an item can hold (the line's struct, `Item`, then 32 levels of L/M), so any
/// line that could be valid is read and its nesting checked by the item rules (V001).
pub(crate) const MAX_LINE_DEPTH: usize = 64;

/// Parse one line (without its newline).
pub fn parse_line(line: &str) -> Result<Item, ParseError> {
    match scan(line.as_bytes(), MAX_LINE_DEPTH) {
        Scan::Ok => {}
        Scan::TooDeep => {
            return Err(ParseError::new(
                &rules::NESTING_TOO_DEEP,
                format!(
                    "the line nests containers more than {MAX_LINE_DEPTH} deep; DynamoDB allows {} levels of lists and maps",
                    rules::MAX_NESTING
                ),
            ))
        }
        Scan::SExpression(at) => {
            return Err(refused(
                &rules::ION_TYPE,
                "an Ion s-expression has no DynamoDB type (lists are [...])",
                at,
            ))
        }
        Scan::BadEscape(at) => {
            return Err(refused(
                &rules::LINE_NOT_PARSEABLE,
                "not valid Ion: a \\u or \\U escape that is no character (a lone low surrogate, or past U+10FFFF)",
                at,
            ))
        }
        Scan::SymbolIdTooLarge(at) => {
            return Err(refused(
                &rules::LINE_NOT_PARSEABLE,
                "not valid Ion: a symbol ID ($ and digits) too large for any symbol table",
                at,
            ))
        }
    }
    // ion-rs reads untrusted text here: should it panic on some input (as it did on an
    // overflowing symbol ID, found by fuzzing), the line is refused, not the run.
    let read = crate::model::guard::decoding(|| Element::read_all(line.as_bytes()));
    let seq = match read {
        Ok(r) => r.map_err(|e| {
            ParseError::new(&rules::LINE_NOT_PARSEABLE, format!("not valid Ion: {e}"))
        })?,
        Err(_) => {
            return Err(ParseError::new(
                &rules::LINE_NOT_PARSEABLE,
                "not valid Ion: the Ion reader failed on this line",
            ))
        }
    };
    let mut values = seq.iter();
    let top = values
        .next()
        .ok_or_else(|| ParseError::new(&rules::ITEM_WRAPPER, "the line holds no Ion value"))?;
    if values.next().is_some() {
        return Err(ParseError::new(
            &rules::LINE_NOT_PARSEABLE,
            "the line holds more than one top-level value; one item per line",
        ));
    }
    let s = top.as_struct().ok_or_else(|| {
        ParseError::new(
            &rules::ITEM_WRAPPER,
            "the line is not a struct; expected {Item:{...}}",
        )
    })?;
    let item = s.get("Item").ok_or_else(|| {
        ParseError::new(&rules::ITEM_WRAPPER, "no Item field; expected {Item:{...}}")
    })?;
    let mut items_seen = 0;
    for (name, _) in s.fields() {
        match name.text() {
            Some("Item") if items_seen == 0 => items_seen += 1,
            Some("Item") => {
                return Err(ParseError::new(
                    &rules::DUPLICATE_NAME,
                    "the field Item appears twice; what DynamoDB keeps is not defined, so write it once",
                ))
            }
            other => {
                return Err(ParseError::new(
                    &rules::EXTRA_TOP_LEVEL_KEY,
                    format!("top-level field {:?} besides Item", other.unwrap_or("$0")),
                ))
            }
        }
    }
    let attrs = item
        .as_struct()
        .ok_or_else(|| ParseError::new(&rules::ITEM_WRAPPER, "Item is not a struct").at("Item"))?;
    let mut out = Vec::new();
    for (name, v) in attrs.fields() {
        let name = name.text().unwrap_or("").to_string();
        let av = value(v).map_err(|e| e.at(name.clone()).at("Item"))?;
        out.push((name, av));
    }
    no_repeated_names(&out).map_err(|e| e.at("Item"))?;
    Ok(out)
}

/// A struct's fields, each name once (Ion allows repeated field names; what DynamoDB keeps of
/// them is not defined).
fn no_repeated_names(fields: &[(String, AttrValue)]) -> Result<(), ParseError> {
    let mut names = std::collections::HashSet::with_capacity(fields.len());
    for (n, _) in fields {
        if !names.insert(n.as_str()) {
            return Err(ParseError::new(
                &rules::DUPLICATE_NAME,
                format!("the name {n:?} appears twice in one struct; what DynamoDB keeps is not defined, so write it once"),
            ));
        }
    }
    Ok(())
}

/// A line [`scan`] refused, at byte `at`.
fn refused(rule: &'static rules::Rule, message: &str, at: usize) -> ParseError {
    let mut e = ParseError::new(rule, message);
    e.column = Some(at + 1);
    e
}

/// What [`scan`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    Ok,
    /// More than the allowed containers inside each other.
    TooDeep,
    /// A symbol ID (`$123`) that no symbol table can hold, at this byte.
    SymbolIdTooLarge(usize),
    /// An s-expression, at this byte.
    SExpression(usize),
    /// A `\u`/`\U` escape that is no character (a lone low surrogate, past U+10FFFF), at this
    /// byte.
    BadEscape(usize),
}

/// Whether Ion text opens more than `max` containers (`{`, `[`, `(`) inside each other.
#[cfg(test)]
pub(crate) fn nesting_exceeds(text: &[u8], max: usize) -> bool {
    scan(text, max) == Scan::TooDeep
}

/// A lexical pass over Ion text, without recursion, for what ion-rs must not be given: more than
/// `max` containers inside each other (it recurses, and overflows the stack), and symbol IDs
/// past `u32` (it panics). Strings (`"…"`, `'''…'''`), quoted symbols, comments and lobs
/// (`{{…}}`) are skipped, so what is inside them does not count — but overflowing symbol IDs are
/// looked for inside comments too, in case ion-rs ends one elsewhere. S-expressions, which have
/// no DynamoDB type, are refused at their `(`: inside them `/` and `*` are operators, and the
/// lexical rules this pass shares with ion-rs would no longer hold (the fuzzer found a symbol ID
/// behind an operator `/*`). Malformed text is left to the parser.
pub fn scan(text: &[u8], max: usize) -> Scan {
    // An escape at `i` (a backslash): where it ends, or the error of a `\u`/`\U` escape that
    // is no character (ion-rs unwraps `char::from_u32` on it and panics; a high surrogate
    // starts a pair, which it checks).
    fn escape(t: &[u8], i: usize) -> Result<usize, usize> {
        let hex = match t.get(i + 1) {
            Some(b'u') => 4,
            Some(b'U') => 8,
            _ => return Ok(i + 2),
        };
        let Some(digits) = t.get(i + 2..i + 2 + hex) else {
            return Ok(i + 2);
        };
        let cp = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match cp {
            // A high surrogate and the `\u` after it: ion-rs checks the pair (and errs).
            Some(0xd800..=0xdbff) if t.get(i + 2 + hex..i + 4 + hex) == Some(b"\\u") => {
                Ok(i + 8 + hex)
            }
            Some(c) if (0xdc00..=0xdfff).contains(&c) || c > 0x10ffff => Err(i),
            _ => Ok(i + 2),
        }
    }
    // The end of a quoted run that started at `i` (after its opening `q`), escapes skipped.
    fn quoted(t: &[u8], mut i: usize, q: u8) -> Result<usize, usize> {
        while i < t.len() {
            match t[i] {
                b'\\' => i = escape(t, i)?,
                c if c == q => return Ok(i + 1),
                _ => i += 1,
            }
        }
        Ok(t.len())
    }
    fn long_string(t: &[u8], mut i: usize) -> Result<usize, usize> {
        while i < t.len() {
            if t[i] == b'\\' {
                i = escape(t, i)?;
            } else if t[i..].starts_with(b"'''") {
                return Ok(i + 3);
            } else {
                i += 1;
            }
        }
        Ok(t.len())
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        match text[i] {
            b'"' | b'\'' => {
                let end = if rest.starts_with(b"'''") {
                    long_string(text, i + 3)
                } else {
                    quoted(text, i + 1, text[i])
                };
                match end {
                    Ok(end) => i = end,
                    Err(at) => return Scan::BadEscape(at),
                }
            }
            b'/' if rest.starts_with(b"//") || rest.starts_with(b"/*") => {
                // A line comment ends at CR as well as LF (the fuzzer found this: `//` then CR
                // then a symbol ID the scan had taken for comment).
                let len = if rest[1] == b'/' {
                    memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len())
                } else {
                    memchr::memmem::find(&rest[2..], b"*/").map_or(rest.len(), |k| k + 4)
                };
                if let Some(at) = overflowing_symbol_id(&rest[..len]) {
                    return Scan::SymbolIdTooLarge(i + at);
                }
                i += len;
            }
            b'(' => return Scan::SExpression(i),
            b'{' if rest.starts_with(b"{{") => {
                // A blob or clob: base64, or one or more strings, up to `}}`.
                i += 2;
                while i < text.len() && !text[i..].starts_with(b"}}") {
                    let end = match text[i] {
                        b'"' => quoted(text, i + 1, b'"'),
                        b'\'' if text[i..].starts_with(b"'''") => long_string(text, i + 3),
                        _ => Ok(i + 1),
                    };
                    match end {
                        Ok(end) => i = end,
                        Err(at) => return Scan::BadEscape(at),
                    }
                }
                i += 2;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Scan::TooDeep;
                }
                i += 1;
            }
            // Wherever a `$` stands (ion-rs reads `$0$99…` as two symbol IDs), digits after it
            // that overflow are refused; an identifier such as `a$99…9` is refused with them.
            b'$' => {
                let digits = symbol_id_digits(&text[i + 1..]);
                if digits.is_none() {
                    return Scan::SymbolIdTooLarge(i);
                }
                i += 1 + digits.unwrap_or(0);
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    Scan::Ok
}

/// The digits after a `$` (0 when none), or None when they are too many for a symbol ID.
fn symbol_id_digits(after: &[u8]) -> Option<usize> {
    let digits = after.iter().take_while(|c| c.is_ascii_digit()).count();
    let fits = std::str::from_utf8(&after[..digits])
        .ok()
        .is_some_and(|d| d.parse::<u32>().is_ok());
    (digits == 0 || fits).then_some(digits)
}

/// Where `text` holds a `$` followed by more digits than a symbol ID can have.
fn overflowing_symbol_id(text: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'$', text).find(|&k| symbol_id_digits(&text[k + 1..]).is_none())
}

/// An Ion decimal as DynamoDB number text (`-15E-1`), exact.
pub fn decimal_text(d: &ion_rs::Decimal) -> String {
    let c = d.coefficient();
    let neg = c.is_negative();
    let mag = c.magnitude().to_string();
    format!("{}{mag}E{}", if neg { "-" } else { "" }, d.exponent())
}

fn set_members<'a>(
    kind: &str,
    seq: impl Iterator<Item = &'a Element>,
    want: IonType,
) -> Result<Vec<&'a Element>, ParseError> {
    let mut out = Vec::new();
    for (i, e) in seq.enumerate() {
        if e.ion_type() != want || e.is_null() {
            return Err(ParseError::new(
                &rules::SET_ELEMENT,
                format!("{kind} member is {}, not a {}", e.ion_type(), want),
            )
            .at(format!("[{i}]"))
            .at(kind.to_string()));
        }
        out.push(e);
    }
    Ok(out)
}

/// One Ion value as an attribute value.
pub fn value(e: &Element) -> Result<AttrValue, ParseError> {
    let ann = e.annotations();
    let set_kind = ["$dynamodb_SS", "$dynamodb_NS", "$dynamodb_BS"]
        .into_iter()
        .find(|a| ann.contains(a));
    if let Some(kind) = set_kind {
        let list = e.as_list().ok_or_else(|| {
            ParseError::new(
                &rules::DESCRIPTOR_VALUE,
                format!("{kind} annotates a {}, not a list", e.ion_type()),
            )
        })?;
        return Ok(match kind {
            "$dynamodb_SS" => AttrValue::SS(
                set_members("SS", list.iter(), IonType::String)?
                    .into_iter()
                    .map(|m| m.as_string().unwrap_or("").to_string())
                    .collect(),
            ),
            "$dynamodb_NS" => AttrValue::NS(
                set_members("NS", list.iter(), IonType::Decimal)?
                    .into_iter()
                    .map(|m| m.as_decimal().map(|d| decimal_text(&d)).unwrap_or_default())
                    .collect(),
            ),
            _ => AttrValue::BS(
                set_members("BS", list.iter(), IonType::Blob)?
                    .into_iter()
                    .map(|m| m.as_blob().unwrap_or(&[]).to_vec())
                    .collect(),
            ),
        });
    }
    if e.is_null() {
        return Ok(AttrValue::Null);
    }
    Ok(match e.value() {
        Value::Null(_) => AttrValue::Null,
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::String(s) => AttrValue::S(s.text().to_string()),
        Value::Decimal(d) => AttrValue::N(decimal_text(d)),
        Value::Blob(b) => AttrValue::B(b.as_ref().to_vec()),
        Value::Int(i) => {
            return Err(ParseError::new(
                &rules::ION_NUMBER_TYPE,
                format!("{i} is an Ion int; write numbers as decimals ({i}.)"),
            ))
        }
        Value::Float(f) => {
            return Err(ParseError::new(
                &rules::ION_NUMBER_TYPE,
                format!("{f:e} is an Ion float; write numbers as decimals"),
            ))
        }
        Value::List(l) => {
            let mut out = Vec::with_capacity(l.len());
            for (i, x) in l.iter().enumerate() {
                out.push(value(x).map_err(|err| err.at(format!("[{i}]")))?);
            }
            AttrValue::L(out)
        }
        Value::Struct(s) => {
            let mut out = Vec::new();
            for (k, x) in s.fields() {
                let k = k.text().unwrap_or("").to_string();
                out.push((k.clone(), value(x).map_err(|err| err.at(k))?));
            }
            no_repeated_names(&out)?;
            AttrValue::M(out)
        }
        other => {
            return Err(ParseError::new(
                &rules::ION_TYPE,
                format!("an Ion {} has no DynamoDB type", other.ion_type()),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thousands of nested containers are refused before ion-rs recurses into them (V001), in
    /// lists, structs and s-expressions; brackets inside strings, symbols, comments and lobs do
    /// not count; 32 levels of L/M inside an item are read.
    #[test]
    fn deep_nesting_is_refused_before_it_is_read() {
        for (open, close) in [("[", "]"), ("{a:", "}")] {
            let line = format!(
                "$ion_1_0 {{Item:{{\"pk\":\"a\",\"x\":{}1.{}}}}}",
                open.repeat(3000),
                close.repeat(3000)
            );
            let e = parse_line(&line).unwrap_err();
            assert_eq!(e.rule.code, "V001", "{open}: {e}");
        }
        let ok = format!(
            "$ion_1_0 {{Item:{{\"pk\":\"a\",\"x\":{}1.{}}}}}",
            "[".repeat(32),
            "]".repeat(32)
        );
        assert!(parse_line(&ok).is_ok());
        let hidden = format!(
            "$ion_1_0 {{Item:{{\"pk\":\"{0}\",'{0}':\"x\",\"c\":'\'\'{0}\'\'\',\"b\":{{{{\"{0}\"}}}} /* {0} */}}}} // {0}",
            "[{(".repeat(100)
        );
        assert!(
            !nesting_exceeds(hidden.as_bytes(), MAX_LINE_DEPTH),
            "{hidden}"
        );
        assert!(nesting_exceeds(b"[[[", 2));
        assert!(!nesting_exceeds(b"[[]][[]]", 2));
        assert!(
            !nesting_exceeds(b"\"\\\"[[[\"", 2),
            "escaped quote inside a string"
        );
    }

    /// ion-rs panicked on a symbol ID past usize (found twice by the ion_line fuzz target): such
    /// a line is refused (F001) before it is read, wherever its `$` stands; symbol IDs that fit,
    /// and `$` inside strings, are left to the reader.
    #[test]
    fn overflowing_symbol_ids_are_refused() {
        let e = parse_line("$999999999999999999999999998e ::").unwrap_err();
        assert_eq!(e.rule.code, "F001", "{e}");
        let line = format!(
            "$ion_1_0 {{Item:{{\"pk\":\"a\",\"x\":$9{}}}}}",
            "9".repeat(30)
        );
        assert_eq!(parse_line(&line).unwrap_err().rule.code, "F001");
        assert_eq!(scan(b"\"$99999999999999999999999\" a$1", 64), Scan::Ok);
        assert_eq!(
            scan(b"// x\r$99999999999999999999999", 64),
            Scan::SymbolIdTooLarge(5)
        );
        assert_eq!(
            scan(b"/* $99999999999999999999999 */", 64),
            Scan::SymbolIdTooLarge(3),
            "looked for inside comments too"
        );
        // S-expressions (where `/*` is an operator, and a symbol ID hid behind one) are refused.
        assert_eq!(
            scan(b"[1, (k/*n $999999999999999999)]", 64),
            Scan::SExpression(4)
        );
        let e = parse_line("$ion_1_0 {Item:{\"pk\":\"a\",\"x\":(1 2)}}").unwrap_err();
        assert_eq!(e.rule.code, "A007", "{e}");
    }

    /// ion-rs panicked on a `\u`/`\U` escape that is no character (the ion_line fuzz target's
    /// fifth finding): refused as F001 in strings, quoted symbols and long strings; surrogate
    /// pairs and ordinary escapes are read.
    #[test]
    fn escapes_that_are_no_character_are_refused() {
        for bad in [
            r#"$ion_1_0 {Item:{"pk":"\udc00"}}"#,
            r#"$ion_1_0 {Item:{"pk":"a","x":"\UC999d199"}}"#,
            r#"$ion_1_0 {Item:{"pk":"a",'\udfff':"x"}}"#,
            r#"$ion_1_0 {Item:{"pk":"a","x":'''\U00110000'''}}"#,
        ] {
            let e = parse_line(bad).unwrap_err();
            assert_eq!(e.rule.code, "F001", "{bad}: {e}");
        }
        let item =
            parse_line(r#"$ion_1_0 {Item:{"pk":"\ud83d\ude00 \u00e9 \U0001F600"}}"#).unwrap();
        assert_eq!(item[0].1, AttrValue::S("😀 é 😀".into()));
        assert_eq!(
            scan(b"n\x0b$0000$000000200695555555555555516341$", 64),
            Scan::SymbolIdTooLarge(7)
        );
        assert!(parse_line("$ion_1_0 {Item:{\"pk\":\"a\",\"x\":$12}}").is_err());
        assert!(parse_line("$ion_1_0 {Item:{\"pk\":\"$99999999999999999999999\"}}").is_ok());
    }

    #[test]
    fn reads_export_lines() {
        let item = parse_line(r#"$ion_1_0 {Item:{"pk":"user#1","n":42.,"price":6522.73,"small":1.5d-7,"tags":$dynamodb_SS::["a","b"],"ns":$dynamodb_NS::[1.,2.5],"raw":{{aGVsbG8=}},"bs":$dynamodb_BS::[{{aGk=}}],"gone":null,"t":true,"l":[1.,"x"],"m":{'k':"v"}}}"#).unwrap();
        let get = |k: &str| item.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("pk"), AttrValue::S("user#1".into()));
        let n = |k: &str| match get(k) {
            AttrValue::N(t) => crate::model::number::canonical(&t).unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(n("n"), "42");
        assert_eq!(n("price"), "6522.73");
        assert_eq!(n("small"), "0.00000015");
        assert_eq!(get("tags"), AttrValue::SS(vec!["a".into(), "b".into()]));
        assert_eq!(get("raw"), AttrValue::B(b"hello".to_vec()));
        assert_eq!(get("bs"), AttrValue::BS(vec![b"hi".to_vec()]));
        assert_eq!(get("gone"), AttrValue::Null);
        assert_eq!(
            get("m"),
            AttrValue::M(vec![("k".into(), AttrValue::S("v".into()))])
        );
        if let AttrValue::NS(v) = get("ns") {
            assert_eq!(crate::model::number::canonical(&v[1]).unwrap(), "2.5");
        } else {
            panic!()
        }
    }

    #[test]
    fn malformed_lines() {
        let code = |l: &str| parse_line(l).unwrap_err().rule.code;
        assert_eq!(code(r#"$ion_1_0 {Item:{"pk":"a"}"#), "F001");
        assert_eq!(code(r#"$ion_1_0 {"pk":"a"}"#), "F002");
        assert_eq!(code(r#"$ion_1_0 {Item:{"pk":"a"},x:1.}"#), "F003");
        assert_eq!(code(r#"$ion_1_0 {Item:{"n":42}}"#), "A006");
        assert_eq!(code(r#"$ion_1_0 {Item:{"n":1.5e0}}"#), "A006");
        assert_eq!(code(r#"$ion_1_0 {Item:{"t":2024-01-01T}}"#), "A007");
        assert_eq!(code(r#"$ion_1_0 {Item:{"s":$dynamodb_NS::["1"]}}"#), "T003");
        assert_eq!(code(r#"$ion_1_0 {Item:{"b":{{not base64!}}}}"#), "F001");
        assert_eq!(
            super::super::LineFormat::Ion
                .parse_line(b"  ")
                .unwrap_err()
                .rule
                .code,
            "F004"
        );
    }
}

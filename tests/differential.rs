//! Every hand-written fast path against its plain reference (tests/reference): property tests
//! whose generators aim at the edges (runs of quotes, backslashes, control characters and
//! multi-byte UTF-8 at every offset around word and block boundaries), exhaustive sweeps where
//! the space is small, and a replay of the fuzz corpora (fuzz/corpus) through the same checks.

mod reference;

use proptest::prelude::*;
use reference::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text made of the pieces escaping and scanning trip over, after `0..70` plain bytes so every
/// piece lands at every offset of a word and of a 32-byte block.
fn edge_text() -> BoxedStrategy<String> {
    let piece = prop_oneof![
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\"#".to_string()),
        Just("\\]".to_string()),
        Just("\n  ".to_string()),
        Just("\r\n".to_string()),
        Just("\t".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{7f}".to_string()),
        Just(" ".to_string()),
        Just("#".to_string()),
        Just("]".to_string()),
        Just("é".to_string()),
        Just("😀".to_string()),
        Just("\u{202e}".to_string()),
        Just("שלום".to_string()),
        (0u8..0x20).prop_map(|c| (c as char).to_string()),
        (0x20u8..0x7f).prop_map(|c| (c as char).to_string()),
        any::<char>().prop_map(|c| c.to_string()),
        "[a-z]{1,12}",
    ];
    (0usize..70, proptest::collection::vec(piece, 0..48))
        .prop_map(|(pad, pieces)| format!("{}{}", "p".repeat(pad), pieces.concat()))
        .boxed()
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn escaping_matches_serde_json(s in edge_text()) {
        check_escape(s.as_bytes());
    }

    #[test]
    fn escaping_any_bytes_matches_the_reference(v in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_escape(&v);
    }
}

/// Two special bytes at every pair of offsets, each followed by the byte a borrow would flag
/// (`"#`, `\]`, a control character then a space), over every length up to three words past a
/// 32-byte block: the search must resume exactly after each escape.
#[test]
fn escaping_every_pair_of_hits_at_every_offset() {
    let hits: [(u8, u8); 4] = [(b'"', b'#'), (b'\\', b']'), (b'\n', b' '), (0x1f, b'?')];
    for len in 2..=72usize {
        for p in 0..len {
            for q in p + 1..len {
                for &(a, after_a) in &hits {
                    for &(b, _) in &hits[..2] {
                        let mut v = vec![after_a; len];
                        v[p] = a;
                        v[q] = b;
                        check_escaped(&v);
                    }
                }
            }
        }
    }
}

/// The defect's own repro: a hit's borrow flagged the byte after it in the last word.
#[test]
fn escaping_the_reported_strings() {
    for s in [
        "Tag: \"#1\"",
        "path C:\\]x",
        "ab\ncd\n  ok",
        "C:\\Users\\]dev\\#1",
    ] {
        check_escape(s.as_bytes());
    }
}

/// Number texts around the grammar's edges: signs, leading and trailing zeros, points,
/// exponents near the range limits, up to 45 digits, and stray bytes.
fn number_text() -> impl Strategy<Value = String> {
    let digits = |max| {
        proptest::collection::vec(
            prop_oneof![4 => Just('0'), 6 => proptest::char::range('0', '9')],
            0..max,
        )
        .prop_map(|v| v.into_iter().collect::<String>())
    };
    let exp = prop_oneof![
        Just(String::new()),
        (
            prop_oneof![Just("e"), Just("E")],
            prop_oneof![Just(""), Just("+"), Just("-")],
            prop_oneof![
                (0i64..12).prop_map(|e| e.to_string()),
                (120i64..140).prop_map(|e| e.to_string()),
                "[0-9]{1,25}"
            ]
        )
            .prop_map(|(e, s, d)| format!("{e}{s}{d}")),
    ];
    let num = (
        prop_oneof![8 => Just(""), 3 => Just("-"), 1 => Just("+")],
        digits(45),
        prop_oneof![Just(None), digits(45).prop_map(Some)],
        exp,
    )
        .prop_map(|(sign, int, frac, exp)| match frac {
            Some(f) => format!("{sign}{int}.{f}{exp}"),
            None => format!("{sign}{int}{exp}"),
        });
    prop_oneof![
        10 => num,
        1 => (any::<String>()).prop_map(|s| s.chars().take(8).collect()),
        1 => "[0-9.eE+ -]{0,12}",
    ]
}

proptest! {
    #![proptest_config(config(8000))]

    #[test]
    fn numbers_match_the_big_decimal_reference(t in number_text()) {
        check_number(t.as_bytes());
    }
}

#[test]
fn numbers_at_the_limits() {
    for t in [
        "0",
        "-0",
        "0.000",
        ".5",
        "5.",
        "-.5",
        "00",
        "0e999999999999999999999",
        "1e-130",
        "1e-131",
        "9.9999999999999999999999999999999999999e125",
        "1e126",
        "10e125",
        "99999999999999999999999999999999999999",
        "999999999999999999999999999999999999999",
        "12345678901234567890123456789012345678000",
        "0.0000001",
        "0.00000001",
        "1.50",
        "-1200",
        "1e37",
        "1e38",
        "+1",
        " 1",
        "1 ",
        "1e",
        "e1",
        ".",
        "-",
        "1..2",
        "1e+-2",
        "0x10",
        "NaN",
        "Infinity",
        "1_000",
    ] {
        check_number(t.as_bytes());
    }
}

/// CSV text over the grammar's bytes (delimiters, quotes, CR, LF, spaces, UTF-8), long enough to
/// cross the splitter's 64-byte windows.
fn csv_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(&b","[..]),
        Just(&b"\""[..]),
        Just(&b"\"\""[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\n"[..]),
        Just(&b"\r"[..]),
        Just(&b" "[..]),
        Just(&b"ab"[..]),
        Just(&b"x"[..]),
        Just("é".as_bytes()),
        Just(&b"\t"[..]),
        Just(&b";"[..]),
        Just(&b"\xef\xbb\xbf"[..]),
    ];
    proptest::collection::vec(piece, 0..200).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(600))]

    #[test]
    fn csv_splitter_matches_the_csv_crate(t in csv_text(), d in prop_oneof![Just(b','), Just(b';'), Just(b'\t')]) {
        check_csv(&t, d);
    }
}

/// DynamoDB JSON lines: valid items built from the edge pieces, and the same lines damaged.
fn json_line() -> impl Strategy<Value = Vec<u8>> {
    let s = edge_text()
        .prop_map(|s| serde_json::to_string(&s).unwrap())
        .boxed();
    let value = prop_oneof![
        s.clone().prop_map(|s| format!("{{\"S\":{s}}}")),
        number_text().prop_map(|n| format!("{{\"N\":{}}}", serde_json::to_string(&n).unwrap())),
        Just("{\"BOOL\":true}".to_string()),
        Just("{\"NULL\":true}".to_string()),
        Just("{\"NULL\":false}".to_string()),
        Just("{\"B\":\"aGk=\"}".to_string()),
        Just("{\"B\":\"a\"}".to_string()),
        s.clone().prop_map(|s| format!("{{\"SS\":[{s},\"x\"]}}")),
        Just("{\"NS\":[\"1\",\"1.0\"]}".to_string()),
        s.clone()
            .prop_map(|s| format!("{{\"L\":[{{\"S\":{s}}},{{\"N\":\"1\"}}]}}")),
        s.clone()
            .prop_map(|s| format!("{{\"M\":{{{s}:{{\"S\":{s}}}}}}}")),
        Just("{\"S\":\"a\",\"N\":\"1\"}".to_string()),
        // Clean sets of each kind and nesting of several depths (prep inspect's tallies).
        Just("{\"SS\":[\"a\",\"b\",\"c\"]}".to_string()),
        Just("{\"NS\":[\"1\",\"2.5\",\"-3E+2\"]}".to_string()),
        Just("{\"BS\":[\"aGk=\",\"aA==\"]}".to_string()),
        Just("{\"L\":[]}".to_string()),
        Just("{\"M\":{}}".to_string()),
        Just("{\"M\":{\"x\":{\"L\":[{\"M\":{\"y\":{\"L\":[{\"N\":\"1\"}]}}},{\"S\":\"z\"}]},\"w\":{\"S\":\"v\"}}}".to_string()),
    ];
    // Plain names (the scanner's fast path) beside edge names, and the GSI key g.
    let name = prop_oneof![
        2 => s,
        1 => Just("\"a\"".to_string()),
        1 => Just("\"tags\"".to_string()),
        1 => Just("\"g\"".to_string()),
    ];
    let attrs = proptest::collection::vec((name, value), 0..6);
    let pk = prop_oneof![
        edge_text()
            .prop_map(|s| format!("\"pk\":{{\"S\":{}}}", serde_json::to_string(&s).unwrap())),
        Just("\"pk\":{\"N\":\"1\"}".to_string()),
        Just(String::new()),
    ];
    let sk = number_text()
        .prop_map(|n| format!("\"sk\":{{\"N\":{}}}", serde_json::to_string(&n).unwrap()));
    let line = (pk, sk, attrs, any::<bool>()).prop_map(|(pk, sk, attrs, ws)| {
        let mut fields: Vec<String> = [pk, sk].into_iter().filter(|f| !f.is_empty()).collect();
        fields.extend(attrs.into_iter().map(|(n, v)| format!("{n}:{v}")));
        let sep = if ws { ", " } else { "," };
        format!("{{\"Item\":{{{}}}}}", fields.join(sep)).into_bytes()
    });
    (
        line,
        any::<u16>(),
        prop_oneof![3 => Just(None), 1 => any::<u8>().prop_map(Some)],
    )
        .prop_map(|(mut l, at, byte)| {
            if let Some(b) = byte {
                let at = at as usize % (l.len() + 1);
                l.insert(at, b);
            }
            l
        })
}

proptest! {
    #![proptest_config(config(800))]

    /// Where the validate scanner takes a line it agrees with the full reader (size and key), and
    /// every line prep accepts is written back as valid JSON.
    #[test]
    fn validate_scanner_matches_the_full_reader(l in json_line()) {
        check_json_line(&l);
    }

    #[test]
    fn ion_lines_never_panic_and_write_valid_json(s in edge_text(), n in number_text()) {
        let name = serde_json::to_string(&s).unwrap();
        let line = format!("$ion_1_0 {{Item:{{\"pk\":{name},{name}:{n},\"sk\":1.}}}}");
        check_ion_line(line.as_bytes());
    }
}

/// prep validate with and without its fast scanner reports the same findings on a file of
/// generated lines, clean and damaged.
#[test]
fn validate_findings_are_the_same_with_and_without_the_scanner() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let mut text = Vec::new();
        for _ in 0..300 {
            let l = json_line().new_tree(&mut runner).unwrap().current();
            if l.contains(&b'\n') || l.contains(&b'\r') {
                continue;
            }
            text.extend_from_slice(&l);
            text.push(b'\n');
        }
        let path = dir.path().join(format!("items{round}.json"));
        std::fs::write(&path, &text).unwrap();
        let run = |fast| {
            let keys = prep::model::keys::KeySchema {
                table_name: None,
                partition: prep::model::keys::KeyAttr::parse("pk:S").unwrap(),
                sort: Some(prep::model::keys::KeyAttr::parse("sk:N").unwrap()),
                gsis: vec![],
                vectors: Default::default(),
            };
            let opts = prep::commands::validate::ValidateOptions {
                paths: vec![path.to_string_lossy().into_owned()],
                keys: Some(keys),
                format: None,
                compression: None,
                header_list: None,
                delimiter: None,
                threads: 2,
                batch_rows: 64,
                duplicates: true,
                dup_memory: 256 << 20,
                tmp_dir: None,
                region: None,
                fast,
                max_line: prep::input::parse::lines::DEFAULT_MAX_LINE,
                aws: Default::default(),
                ttl: None,
                profile: None,
            };
            let r = prep::commands::validate::run(&opts).unwrap();
            let findings: Vec<(String, Option<u64>, String)> = r
                .findings
                .iter()
                .map(|f| (f.rule.code.to_string(), f.line, f.message.clone()))
                .collect();
            (findings, r.items, r.errors)
        };
        let (fast, slow) = (run(true), run(false));
        assert_eq!(fast, slow, "round {round}");
        assert!(fast.1 > 0, "some lines are clean items");
        assert!(fast.2 > 0, "some lines are bad");
    }
}

/// Part digests (MD5 in SIMD lanes, CRC64-NVME, SHA-256 for manifests of earlier versions)
/// against the md-5 crate, a bitwise CRC and the sha2 crate, for files of every length around
/// the block and padding edges, hashed together in lanes.
#[test]
fn lane_hashes_match_md5_crc64_and_sha2() {
    use md5::Digest;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::deterministic();
    let lens = proptest::collection::vec(
        prop_oneof![
            0usize..200,
            (1usize << 16) - 100..(1usize << 16) + 100,
            0usize..1_500_000
        ],
        1..11,
    );
    let all = prep::hashing::Wanted {
        md5: true,
        crc64: true,
        sha256: true,
    };
    for round in 0..5 {
        let lens = lens.new_tree(&mut runner).unwrap().current();
        let mut files = Vec::new();
        for (k, n) in lens.iter().enumerate() {
            let data: Vec<u8> = (0..*n).map(|i| (i * 31 + k * 7 + round) as u8).collect();
            let p = dir.path().join(format!("f{round}-{k}"));
            std::fs::write(&p, &data).unwrap();
            files.push((p, data));
        }
        let paths: Vec<&std::path::Path> = files.iter().map(|(p, _)| p.as_path()).collect();
        let got = prep::hashing::files_digests(&paths, all).unwrap();
        for ((_, data), d) in files.iter().zip(got) {
            use base64::Engine;
            let md5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data));
            let sha: String = sha2::Sha256::digest(data)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let n = data.len();
            assert_eq!(d.md5_base64.as_deref(), Some(md5.as_str()), "{n} bytes");
            assert_eq!(d.sha256_hex.as_deref(), Some(sha.as_str()), "{n} bytes");
            assert_eq!(d.crc64nvme, Some(reference::crc64nvme(data)), "{n} bytes");
            assert_eq!(d.bytes, n as u64);
        }
    }
}

proptest! {
    #![proptest_config(config(600))]

    /// The CRC64-NVME an S3 input takes from its readers' ranges (any order, overlapping,
    /// repeated, missing, from several threads) is the plain CRC of the whole object, and the
    /// gaps it reports are exactly the bytes no range covered.
    #[test]
    fn read_digests_match_a_plain_crc(v in proptest::collection::vec(any::<u8>(), 0..4000)) {
        check_read_digest(&v);
    }

    /// The duplicate-key index against a HashMap: keys from a small alphabet (many repeats),
    /// hashed by a weak hash (many collisions), in memory and spilled.
    #[test]
    fn duplicates_match_a_hash_map(
        keys in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..4), 0..400),
        weak in 0u64..4,
    ) {
        let hash: fn(&[u8]) -> u64 = match weak {
            0 => |_| 7,
            1 => |k| k.len() as u64,
            2 => |k| k.iter().map(|&b| b as u64).sum(),
            _ => prep::model::keys::key_hash,
        };
        check_duplicates(&keys, hash);
    }

}

proptest! {
    #![proptest_config(config(128))]

    /// gzip in pieces against flate2's decoder: bytes from a small alphabet (long matches,
    /// reaching back across pieces) in pieces shorter and longer than deflate's window.
    /// (Few cases: the test build's deflate is unoptimised, and each piece starts a compressor.)
    #[test]
    fn gzip_pieces_read_back_as_one_member(
        v in proptest::collection::vec(0u8..3, 0..40_000),
        piece in 1000usize..50_000,
        level in 0u32..10,
    ) {
        check_gzip(&v, piece, level);
    }

    /// The same for any bytes in pieces of a few bytes each.
    #[test]
    fn gzip_tiny_pieces_read_back_as_one_member(
        v in proptest::collection::vec(any::<u8>(), 0..1500),
        piece in 1usize..100,
        level in 0u32..10,
    ) {
        check_gzip(&v, piece, level);
    }
}

/// JSON text of a value: strings over the edge pieces, numbers of every size (past DynamoDB's
/// 38 digits and exponent range too), arrays and objects whose names repeat now and then,
/// nested up to past DynamoDB's 32 levels.
fn json_value() -> BoxedStrategy<String> {
    let number = "-?(0|[1-9][0-9]{0,44})(\\.[0-9]{1,8})?([eE][+-]?[0-9]{1,3})?";
    let leaf = prop_oneof![
        4 => edge_text().prop_map(|t| serde_json::to_string(&t).unwrap()),
        4 => number,
        1 => Just("true".to_string()),
        1 => Just("false".to_string()),
        1 => Just("null".to_string()),
    ];
    leaf.prop_recursive(34, 200, 6, |inner| {
        let name = prop_oneof![
            Just("a".to_string()),
            Just("b".to_string()),
            Just(String::new()),
            edge_text(),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5)
                .prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec((name, inner), 0..5).prop_map(|v| {
                let fields: Vec<String> = v
                    .iter()
                    .map(|(k, x)| format!("{}:{x}", serde_json::to_string(k).unwrap()))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
    .boxed()
}

/// A document line: mostly an object with a string `pk` and generated fields; now and then
/// another value, a repeated name, or the line cut short.
fn json_document() -> impl Strategy<Value = Vec<u8>> {
    let pk = prop_oneof![
        8 => "[a-z0-9#]{1,12}".prop_map(|k| format!("\"pk\":\"{k}\"")),
        1 => Just("\"pk\":\"\"".to_string()),
        1 => Just("\"pk\":7".to_string()),
        1 => Just(String::new()),
    ];
    let field = ("[a-z]{1,3}|pk", json_value()).prop_map(|(k, v)| format!("\"{k}\":{v}"));
    let doc = (pk, proptest::collection::vec(field, 0..6)).prop_map(|(pk, fields)| {
        let all: Vec<String> = std::iter::once(pk)
            .filter(|p| !p.is_empty())
            .chain(fields)
            .collect();
        format!("{{{}}}", all.join(", "))
    });
    prop_oneof![
        12 => doc.clone().prop_map(String::into_bytes),
        1 => json_value().prop_map(String::into_bytes),
        1 => (doc, any::<prop::sample::Index>()).prop_map(|(d, i)| {
            let b = d.into_bytes();
            b[..i.index(b.len())].to_vec()
        }),
    ]
}

proptest! {
    #![proptest_config(config(3000))]

    /// Plain JSON documents against the reference: every accepted document written back with
    /// every value digit for digit, every other one rejected with a code the reference names.
    #[test]
    fn json_documents_match_the_reference(line in json_document()) {
        check_json_document(&line);
    }
}

#[test]
fn json_documents_at_the_edges() {
    // Objects past the 32 names that are compared by a scan, with and without a repeat at the end.
    let wide = |n: usize, repeat: bool| {
        let mut f: Vec<String> = (0..n).map(|k| format!("\"f{k}\":{k}")).collect();
        if repeat {
            f.push("\"f3\":0".to_string());
        }
        (
            format!("{{\"pk\":\"a\",\"m\":{{{}}}}}", f.join(",")),
            format!("{{\"pk\":\"a\",{}}}", f.join(",")),
        )
    };
    let deep = |n: usize| format!("{{\"pk\":\"a\",\"x\":{}1{}}}", "[".repeat(n), "]".repeat(n));
    for doc in [
        r#"{"pk":"a","n":12345678901234567890123456789012345678}"#.to_string(),
        r#"{"pk":"a","n":123456789012345678901234567890123456789}"#.to_string(),
        r#"{"pk":"a","n":1e126,"m":1e-130}"#.to_string(),
        r#"{"pk":"a","n":-0.0e-5}"#.to_string(),
        r#"{"pk":"a","m":{"x":1,"x":2}}"#.to_string(),
        r#"{"pk":"a","":1}"#.to_string(),
        r#"{"pk":"a","m":{"":1}}"#.to_string(),
        r#"{"pk":"a","z":null,"l":[null,{}]}"#.to_string(),
        r#"{"pk":""}"#.to_string(),
        r#"{"pk":null}"#.to_string(),
        r#"{"pk":["a"]}"#.to_string(),
        "\"pk\"".to_string(),
        r#"{"pk":"\u00e9\ud83d\ude00"}"#.to_string(),
        "{\"pk\":\"a\"}\r".to_string(),
        "{".to_string(),
        wide(100, false).0,
        wide(100, false).1,
        wide(100, true).0,
        wide(100, true).1,
        deep(31),
        deep(32),
        deep(33),
        deep(200),
    ] {
        check_json_document(doc.as_bytes());
    }
    check_json_document(b"{\"pk\":\"\xff\"}");
}

/// Every input kept by the fuzz campaigns (fuzz/corpus/TARGET, crashes included) through the
/// same check as the target, so a fixed finding stays fixed.
#[test]
fn fuzz_corpora_replay() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    type Check = fn(&[u8]);
    let targets: [(&str, Check); 10] = [
        ("escape", check_escape),
        ("number", check_number),
        ("csv_split", |d| check_csv(d, b',')),
        ("json_line", check_json_line),
        ("json_document", check_json_document),
        ("ion_line", check_ion_line),
        ("read_digest", check_read_digest),
        ("template", check_template_bytes),
        ("duplicates", check_duplicates_bytes),
        ("gzip", check_gzip_bytes),
    ];
    let mut replayed = 0;
    for (name, check) in targets {
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("no corpus for {name} at {}", dir.display());
        };
        for e in entries {
            let p = e.unwrap().path();
            let data = std::fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "{name}: {} fails its check", p.display());
            replayed += 1;
        }
    }
    assert!(replayed > 0);
}

/// Text for the template generator's literal pieces and values.
fn template_text() -> BoxedStrategy<String> {
    prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("#".to_string()),
        Just(":".to_string()),
        Just("%".to_string()),
        Just("é😀".to_string()),
        "[A-Z#]{1,6}",
    ]
    .boxed()
}

/// A placeholder of the zoo's columns (and some it lacks) with every kind of format.
fn placeholder() -> BoxedStrategy<String> {
    let column = prop_oneof![
        Just("s"),
        Just("a.b"),
        Just("int"),
        Just("small"),
        Just("f"),
        Just("dec"),
        Just("dec0"),
        Just("b"),
        Just("d"),
        Just("ts"),
        Just("tz"),
        Just("dict"),
        Just("st.x"),
        Just("st.n"),
        Just("st"),
        Just("bin"),
        Just("nope"),
        Just("st.nope"),
        Just(""),
    ];
    let directive = prop_oneof![
        Just("%Y"),
        Just("%m"),
        Just("%d"),
        Just("%H"),
        Just("%M"),
        Just("%S"),
        Just("%j"),
        Just("%s"),
        Just("%3f"),
        Just("%6f"),
        Just("%9f"),
        Just("%F"),
        Just("%T"),
        Just("%%"),
        Just("-"),
        Just(" "),
        Just("T"),
        Just("%q"),
        Just("%"),
    ];
    let format = prop_oneof![
        Just(String::new()),
        (0usize..70).prop_map(|w| format!(":0{w}")),
        (1usize..9).prop_map(|w| format!(":{w}")),
        proptest::collection::vec(directive, 1..6).prop_map(|d| format!(":{}", d.concat())),
        Just(":x".to_string()),
    ];
    (column, format)
        .prop_map(|(c, f)| format!("{{{c}{f}}}"))
        .boxed()
}

fn zoo_row() -> impl Strategy<Value = ZooRow> {
    (
        proptest::option::of(prop_oneof![
            "[0-9]{1,20}",
            "-[0-9]{1,5}",
            "(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T[01][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]0[0-9]:[0-5][0-9])?)?",
            ".{0,8}",
        ]),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<f64>()),
        proptest::option::of(-3_000_000i32..3_000_000),
        proptest::option::of(-60_000_000_000_000i64..250_000_000_000_000),
    )
        .prop_map(|(text, int, float, days, millis)| ZooRow { text, int, float, days, millis })
}

proptest! {
    #![proptest_config(config(2000))]

    /// Templates parse, bind and render as the reference says, over every column type they
    /// take (and those they refuse), padding, dates, braces and unicode.
    #[test]
    fn templates_match_the_reference(
        pieces in proptest::collection::vec(prop_oneof![template_text(), placeholder()], 0..6),
        rows in proptest::collection::vec(zoo_row(), 1..6),
    ) {
        check_template(&pieces.concat(), &template_zoo(&rows));
    }

    /// ISO-8601 text reads as chrono reads it, where chrono reads it.
    #[test]
    fn iso_8601_matches_chrono(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,12})?)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?") {
        check_iso8601(&s);
    }
}

/// The fixed rows of the edges through every placeholder of every column with each kind of
/// format.
#[test]
fn templates_over_the_edge_rows() {
    let zoo = template_zoo(&zoo_rows());
    let columns = [
        "s", "a.b", "int", "small", "f", "dec", "dec0", "b", "d", "ts", "tz", "dict", "st.x",
        "st.n", "st", "bin", "nope",
    ];
    let formats = [
        "",
        ":08",
        ":01",
        ":%F %T.%9f|%j|%s",
        ":%Y%m%d%H%M%S%3f%6f%%",
        ":x",
    ];
    for c in columns {
        for f in formats {
            check_template(&format!("A#{{{c}{f}}}#{{{{}}}}"), &zoo);
        }
    }
}
/// Clean DynamoDB JSON lines (plain names, valid keys and values of every type, nesting and
/// sets), so that the validate scanner's fast path takes them: what it records for
/// `prep inspect` is held to the facts read from the parsed item.
fn clean_json_line() -> impl Strategy<Value = Vec<u8>> {
    let text = "[a-zA-Z0-9 #._-]{1,12}";
    let number = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (any::<i32>(), 0u32..6).prop_map(|(m, e)| format!(
            "{m}.{:0>width$}",
            7,
            width = e as usize
        )),
        Just("-3E+2".to_string()),
        Just("0.000100".to_string()),
    ];
    let scalar = prop_oneof![
        text.prop_map(|t| format!("{{\"S\":\"{t}\"}}")),
        number.clone().prop_map(|n| format!("{{\"N\":\"{n}\"}}")),
        Just("{\"B\":\"aGk=\"}".to_string()),
        Just("{\"BOOL\":false}".to_string()),
        Just("{\"NULL\":true}".to_string()),
        proptest::collection::btree_set(text, 1..5).prop_map(|m| {
            let m: Vec<String> = m.into_iter().map(|x| format!("\"{x}\"")).collect();
            format!("{{\"SS\":[{}]}}", m.join(","))
        }),
        proptest::collection::btree_set(0u32..1000, 1..5).prop_map(|m| {
            let m: Vec<String> = m.into_iter().map(|x| format!("\"{x}\"")).collect();
            format!("{{\"NS\":[{}]}}", m.join(","))
        }),
        Just("{\"BS\":[\"aGk=\",\"aA==\",\"AA==\"]}".to_string()),
    ];
    let value = scalar.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("{{\"L\":[{}]}}", v.join(","))),
            proptest::collection::btree_map("[a-z]{1,3}", inner, 0..4).prop_map(|m| {
                let m: Vec<String> = m.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{\"M\":{{{}}}}}", m.join(","))
            }),
        ]
    });
    let g = prop_oneof![
        Just(None),
        Just(Some("{\"B\":\"AAE=\"}".to_string())),
        Just(Some("{\"NULL\":true}".to_string())),
    ];
    (
        text,
        number,
        proptest::collection::btree_map("[a-f]{1,6}", value, 0..6),
        g,
    )
        .prop_map(|(pk, sk, attrs, g)| {
            let mut fields = vec![
                format!("\"pk\":{{\"S\":\"{pk}\"}}"),
                format!("\"sk\":{{\"N\":\"{sk}\"}}"),
            ];
            fields.extend(attrs.into_iter().map(|(n, v)| format!("\"x{n}\":{v}")));
            if let Some(g) = g {
                fields.insert(1, format!("\"g\":{g}"));
            }
            format!("{{\"Item\":{{{}}}}}", fields.join(",")).into_bytes()
        })
}

proptest! {
    #![proptest_config(config(400))]

    /// The scanner takes these lines; its size, key and recorded facts agree with the reader.
    #[test]
    fn inspect_facts_of_the_fast_path_match_the_parsed_item(l in clean_json_line()) {
        let keys = line_keys();
        let mut scanner = prep::encoding::scan::LineScanner::new(&keys);
        prop_assert!(
            scanner.scan(&l, &mut Vec::new()).is_some(),
            "the fast path declined {:?}",
            String::from_utf8_lossy(&l)
        );
        check_json_line(&l);
    }
}

//! The rule registry: every check prep makes on an item has a stable code here, so the converter,
//! the validator and the docs name a limit once. Codes never change meaning once released.

use std::fmt;

/// How bad a finding is: an `Error` makes the import fail (or lose data); a `Warning` means the
/// import succeeds but something is silently lost or slow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One rule: code, short name, one-line message, why it matters, and a bad and a good example.
#[derive(Debug)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub explanation: &'static str,
    pub bad: &'static str,
    pub good: &'static str,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}
impl Eq for Rule {}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.name)
    }
}

macro_rules! rules {
    ($( $ident:ident = { $code:literal, $name:literal, $sev:ident, $summary:literal, $expl:literal, $bad:literal, $good:literal } )*) => {
        $( pub static $ident: Rule = Rule {
            code: $code, name: $name, severity: Severity::$sev, summary: $summary,
            explanation: $expl, bad: $bad, good: $good,
        }; )*
        /// Every rule, in code order.
        pub static ALL: &[&Rule] = &[ $( &$ident ),* ];
    };
}

rules! {
    LINE_NOT_PARSEABLE = { "F001", "line-not-parseable", Error,
        "Line is not valid DynamoDB JSON or Ion",
        "Each line must be one complete item. A line the import cannot parse fails it, and may make it skip the rest of the file.",
        r#"{"Item":{"pk":{"S":"a"}}"#,
        r#"{"Item":{"pk":{"S":"a"}}}"# }
    ITEM_WRAPPER = { "F002", "item-wrapper-missing", Error,
        "Line is not an object with an Item key",
        "DynamoDB JSON and Ion lines wrap the attributes in Item: {\"Item\":{...}} or $ion_1_0 {Item:{...}}. A bare attribute map or a JSON array of items is not accepted.",
        r#"{"pk":{"S":"a"}}"#,
        r#"{"Item":{"pk":{"S":"a"}}}"# }
    EXTRA_TOP_LEVEL_KEY = { "F003", "extra-top-level-key", Error,
        "Line has top-level keys besides Item",
        "Only Item may appear at the top level of a line.",
        r#"{"Item":{"pk":{"S":"a"}},"Meta":1}"#,
        r#"{"Item":{"pk":{"S":"a"}}}"# }
    BLANK_LINE = { "F004", "blank-line", Warning,
        "Blank line",
        "The import skips empty and whitespace-only lines: they are neither items nor errors (measured against DynamoDB). A blank line usually means the file was edited or joined by hand, so prep points it out; prep convert never writes one.",
        "(an empty line between items)",
        "(no empty lines)" }
    BOM = { "F005", "byte-order-mark", Error,
        "File starts with a UTF-8 byte order mark",
        "A BOM before the first item makes the first line unparseable for the import. Save the file as UTF-8 without BOM.",
        "\\xEF\\xBB\\xBF{\"Item\":...}",
        "{\"Item\":...}" }
    PRETTY_PRINTED = { "F006", "pretty-printed-item", Error,
        "Item spans several lines",
        "Each item must be on one line. Pretty-printed JSON (an item over many lines) fails the import on its first line.",
        "{\n  \"Item\": {\"pk\": {\"S\": \"a\"}}\n}",
        r#"{"Item":{"pk":{"S":"a"}}}"# }
    UNKNOWN_DESCRIPTOR = { "A001", "unknown-descriptor", Error,
        "Attribute value has an unknown type descriptor",
        "An attribute value is an object with exactly one of S, N, B, BOOL, NULL, M, L, SS, NS, BS (case-sensitive).",
        r#"{"Item":{"pk":{"STRING":"a"}}}"#,
        r#"{"Item":{"pk":{"S":"a"}}}"# }
    MULTIPLE_DESCRIPTORS = { "A002", "multiple-descriptors", Error,
        "Attribute value has more or fewer than one type descriptor",
        "\"Supplied AttributeValue has more than one datatypes set\" — or none. Each value carries exactly one descriptor.",
        r#"{"Item":{"pk":{"S":"a","N":"1"}}}"#,
        r#"{"Item":{"pk":{"S":"a"}}}"# }
    NULL_NOT_TRUE = { "A003", "null-not-true", Error,
        "NULL attribute value is not true",
        "\"Null attribute value types must have the value of true\". Leave the attribute out instead of writing NULL false.",
        r#"{"Item":{"pk":{"S":"a"},"x":{"NULL":false}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"x":{"NULL":true}}}"# }
    BAD_BASE64 = { "A004", "bad-base64", Error,
        "Binary value is not valid base64",
        "B and BS values are standard base64 (A-Z a-z 0-9 + /) with padding.",
        r#"{"Item":{"pk":{"S":"a"},"b":{"B":"aGk"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"b":{"B":"aGk="}}}"# }
    DESCRIPTOR_VALUE = { "A005", "descriptor-value-type", Error,
        "Descriptor holds a value of the wrong JSON type",
        "S and N hold JSON strings (numbers too are strings: {\"N\":\"1\"}), BOOL and NULL booleans, M an object, L and sets arrays.",
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":1}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1"}}}"# }
    ION_NUMBER_TYPE = { "A006", "ion-number-not-decimal", Error,
        "Ion number is an int or a float, not a decimal",
        "DynamoDB reads numbers from Ion decimals only: write 42. or 1.5 or 15d-1, never 42 (int) or 1.5e0 (float).",
        r#"$ion_1_0 {Item:{"pk":"a","n":42}}"#,
        r#"$ion_1_0 {Item:{"pk":"a","n":42.}}"# }
    ION_TYPE = { "A007", "ion-type-unsupported", Error,
        "Ion value type has no DynamoDB equivalent",
        "Only strings, decimals, blobs, bools, nulls, lists (optionally annotated as sets) and structs map to DynamoDB types; timestamps, symbols, clobs and s-expressions do not.",
        r#"$ion_1_0 {Item:{"pk":"a","t":2024-01-01T}}"#,
        r#"$ion_1_0 {Item:{"pk":"a","t":"2024-01-01"}}"# }
    DUPLICATE_NAME = { "A008", "duplicate-name", Error,
        "A name appears twice in one object of the line (an attribute, a map key, a descriptor, Item)",
        "JSON and Ion allow a repeated name, and readers then keep the first or the last value silently; what DynamoDB keeps is not defined. Write each name once.",
        "{\"Item\":{\"pk\":{\"S\":\"a\"},\"x\":{\"S\":\"1\"},\"x\":{\"S\":\"2\"}}}",
        "{\"Item\":{\"pk\":{\"S\":\"a\"},\"x\":{\"S\":\"2\"}}}" }
    KEY_MISSING = { "K001", "key-missing", Error,
        "Missing the key attribute in the item",
        "Every item must carry the table's partition key (and sort key, if the table has one) as a top-level attribute. DynamoDB rejects the item and the import ends FAILED with ItemValidationError.",
        r#"{"Item":{"name":{"S":"x"}}}   (table key pk)"#,
        r#"{"Item":{"pk":{"S":"user#1"},"name":{"S":"x"}}}"# }
    KEY_TYPE = { "K002", "key-type-mismatch", Error,
        "Key attribute has a different type than the key schema declares",
        "Key attributes must have exactly the declared type (S, N or B). A number where the table declares S fails the item (\"Type mismatch for key pk expected: S actual: N\").",
        r#"{"Item":{"pk":{"N":"1"}}}   (pk declared S)"#,
        r#"{"Item":{"pk":{"S":"1"}}}"# }
    KEY_EMPTY = { "K003", "key-empty", Error,
        "Key attribute is an empty string or empty binary",
        "Key values must be at least one byte long; empty strings and binaries are only allowed outside keys.",
        r#"{"Item":{"pk":{"S":""}}}"#,
        r#"{"Item":{"pk":{"S":"a"}}}"# }
    PARTITION_KEY_TOO_LONG = { "K004", "partition-key-too-long", Error,
        "Partition key value is longer than 2048 bytes",
        "A partition key value may hold at most 2048 bytes (UTF-8 bytes for S, decoded bytes for B).",
        r#"{"Item":{"pk":{"S":"<2049 bytes>"}}}"#,
        r#"{"Item":{"pk":{"S":"<2048 bytes or fewer>"}}}"# }
    SORT_KEY_TOO_LONG = { "K005", "sort-key-too-long", Error,
        "Sort key value is longer than 1024 bytes",
        "A sort key value may hold at most 1024 bytes (UTF-8 bytes for S, decoded bytes for B).",
        r#"{"Item":{"pk":{"S":"a"},"sk":{"S":"<1025 bytes>"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"S":"<1024 bytes or fewer>"}}}"# }
    GSI_KEY_TYPE = { "K006", "gsi-key-type-mismatch", Error,
        "Global secondary index key attribute has a different type than the index declares",
        "When an item carries an attribute that is a key of a GSI, it must have the GSI's declared type; otherwise the item is rejected.",
        r#"{"Item":{"pk":{"S":"a"},"gsi_pk":{"N":"1"}}}   (gsi_pk declared S)"#,
        r#"{"Item":{"pk":{"S":"a"},"gsi_pk":{"S":"1"}}}"# }
    GSI_KEY_EMPTY = { "K007", "gsi-key-empty", Error,
        "Global secondary index key attribute is empty",
        "GSI key attributes, when present, must be non-empty strings or binaries.",
        r#"{"Item":{"pk":{"S":"a"},"gsi_pk":{"S":""}}}"#,
        r#"{"Item":{"pk":{"S":"a"}}}   (leave the attribute out: the item is simply not indexed)"# }
    KEY_NESTED = { "K008", "key-not-top-level", Error,
        "Key attribute is nested or not a scalar",
        "Key attributes must be top-level scalar attributes (S, N or B); a map, list, set or BOOL cannot be a key.",
        r#"{"Item":{"pk":{"M":{"id":{"S":"a"}}}}}"#,
        r#"{"Item":{"pk":{"S":"a"}}}"# }
    NUMBER_SYNTAX = { "N001", "number-syntax", Error,
        "Not a valid DynamoDB number",
        "Numbers are decimal text: an optional '-', digits with an optional fraction, an optional exponent. No '+' sign, whitespace, hex, NaN or Infinity.",
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1,5"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1.5"}}}"# }
    NUMBER_TOO_MANY_DIGITS = { "N002", "number-too-many-digits", Error,
        "Number has more than 38 significant digits",
        "DynamoDB numbers keep at most 38 significant digits (\"Attempting to store more than 38 significant digits in a Number\"). Store longer values as strings.",
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":"123456789012345678901234567890123456789"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"n":{"S":"123456789012345678901234567890123456789"}}}"# }
    NUMBER_OVERFLOW = { "N003", "number-overflow", Error,
        "Number magnitude is above 9.9999999999999999999999999999999999999E+125",
        "DynamoDB cannot store numbers with a magnitude of 1E+126 or more (\"Number overflow\").",
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1E+126"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1E+125"}}}"# }
    NUMBER_UNDERFLOW = { "N004", "number-underflow", Error,
        "Non-zero number magnitude is below 1E-130",
        "DynamoDB cannot store non-zero numbers smaller in magnitude than 1E-130 (\"Number underflow\").",
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1E-131"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1E-130"}}}"# }
    NUMBER_NOT_FINITE = { "N005", "number-not-finite", Error,
        "Floating-point value is NaN or infinite",
        "DynamoDB numbers have no NaN or Infinity. prep rejects the row instead of inventing a value; use --type COLUMN=S to keep such values as text.",
        r#"price = NaN"#,
        r#"price = 1.5"# }
    SET_EMPTY = { "T001", "set-empty", Error,
        "Set is empty",
        "SS, NS and BS sets must hold at least one element. prep leaves an attribute with an empty set out of the item (and counts it); in a file it fails the import.",
        r#"{"Item":{"pk":{"S":"a"},"tags":{"SS":[]}}}"#,
        r#"{"Item":{"pk":{"S":"a"}}}"# }
    SET_DUPLICATES = { "T002", "set-duplicates", Error,
        "Set holds duplicate members",
        "Set members must be unique (\"Input collection contains duplicates\"); NS members compare as numbers, so \"1\" and \"1.0\" are duplicates.",
        r#"{"Item":{"pk":{"S":"a"},"tags":{"SS":["x","x"]}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"tags":{"SS":["x"]}}}"# }
    SET_ELEMENT = { "T003", "set-element-type", Error,
        "Set member is null or of the wrong type",
        "Every member of an SS must be a string, of an NS a number, of a BS a binary; a set cannot hold nulls. Use L for mixed or nullable lists.",
        r#"{"Item":{"pk":{"S":"a"},"nums":{"NS":["1",2]}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"nums":{"NS":["1","2"]}}}"# }
    NESTING_TOO_DEEP = { "V001", "nesting-too-deep", Error,
        "Lists and maps nest more than 32 levels",
        "DynamoDB supports nested attributes up to 32 levels deep.",
        r#"{"L":[{"L":[ ... 33 levels ... ]}]}"#,
        r#"{"L":[{"L":[ ... 32 levels or fewer ... ]}]}"# }
    ATTRIBUTE_NAME_EMPTY = { "V002", "attribute-name-empty", Error,
        "Attribute name is empty",
        "Attribute names (including map keys) must be 1 to 65,535 bytes long.",
        r#"{"Item":{"pk":{"S":"a"},"":{"S":"x"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"x":{"S":"x"}}}"# }
    ATTRIBUTE_NAME_TOO_LONG = { "V003", "attribute-name-too-long", Error,
        "Attribute name is longer than allowed",
        "Attribute names may be up to 65,535 bytes; names of key attributes of the table and its indexes at most 255 bytes.",
        r#"a key attribute named with 256 characters"#,
        r#"a key attribute named with 255 characters or fewer"# }
    INVALID_UTF8 = { "V004", "invalid-utf8", Error,
        "Text is not valid UTF-8",
        "DynamoDB strings are UTF-8; invalid byte sequences (or unpaired surrogate escapes) fail the item. Re-encode the source as UTF-8, or store the bytes as B.",
        r#"a CSV cell with the byte 0xFF"#,
        r#"the same cell re-encoded as UTF-8"# }
    VALUE_CONVERSION = { "V005", "value-conversion", Error,
        "Cell does not fit the column's DynamoDB type",
        "The column was typed (by --type, a key declaration or CSV inference) and this cell cannot be converted. Fix the cell, or declare the column as text with --type COLUMN=S.",
        r#"qty column inferred N, cell "about 3""#,
        r#"--type qty=S, or the cell "3""# }
    ITEM_TOO_LARGE = { "I001", "item-too-large", Error,
        "Item is larger than 400 KB (409,600 bytes)",
        "The item size (attribute name bytes plus value sizes) may not exceed 409,600 bytes (\"Item size has exceeded the maximum allowed size\"). Move large values to S3 and store a pointer.",
        r#"an item with a 500 KB description string"#,
        r#"an item with an S3 URL in place of the description"# }
    CSV_FIELD_COUNT = { "C001", "csv-field-count", Error,
        "CSV row has a different number of fields than the header",
        "Each CSV record must have one field per header column; a stray delimiter or an unbalanced quote usually causes this.",
        "pk,name\\na,b,c",
        "pk,name\\na,\"b,c\"" }
    CSV_HEADER_MISSING = { "C002", "csv-header-missing", Error,
        "CSV file has no header line",
        "Without InputFormatOptions.Csv.HeaderList, the first line of EVERY CSV object is its header. A file without one imports its first row as column names. Add the header, or pass the names as --header-list (HeaderList).",
        "a,1,x   (first line is data)",
        "pk,n,s\na,1,x" }
    CSV_DELIMITER = { "C003", "csv-delimiter-not-allowed", Error,
        "CSV delimiter is not one the import accepts",
        "The CSV import accepts comma, semicolon, colon, pipe, tab and space as delimiter.",
        "--delimiter '#'",
        "--delimiter ';'" }
    CSV_HEADER_LIST = { "C004", "csv-header-list-invalid", Error,
        "HeaderList is not 1-255 printable ASCII names without quotes or commas",
        "InputFormatOptions.Csv.HeaderList holds 1 to 255 column names of printable ASCII, without double quotes or commas.",
        "--header-list 'naïve,b'",
        "--header-list 'naive,b'" }
    CSV_KEY_COLUMN = { "C005", "csv-key-column-missing", Error,
        "A key column is not in the CSV header",
        "Key columns must appear in the header with exactly the key attribute's name (case-sensitive), or every row fails.",
        "PK,name   (table key pk)",
        "pk,name" }
    CSV_QUOTE = { "C006", "csv-unescaped-quote", Error,
        "CSV field has an unescaped or unbalanced quote",
        "Quotes inside a field must be doubled and the field quoted (RFC 4180): \"say \"\"hi\"\"\". A bare quote inside an unquoted field, or text after a closing quote, fails the import.",
        "a,say \"hi\"",
        "a,\"say \"\"hi\"\"\"" }
    CSV_DUPLICATE_HEADER = { "C007", "csv-duplicate-header", Error,
        "CSV header names a column twice",
        "Each column name may appear once in the header.",
        "pk,n,n",
        "pk,n,m" }
    JSON_NOT_PARSEABLE = { "J001", "json-document-not-parseable", Error,
        "A plain JSON input's line (or array element) is not valid JSON",
        "prep convert reads plain JSON (JSON Lines, or one array of objects) as one item per document. A line that is not JSON, or not UTF-8, cannot become an item: it is rejected with its line number and the rest of the file is read.",
        r#"{"id": 1, "name": "Ann"#,
        r#"{"id": 1, "name": "Ann"}"# }
    JSON_NOT_OBJECT = { "J002", "json-document-not-object", Error,
        "A plain JSON input's document is not an object",
        "Each document of a plain JSON input becomes one item, and an item is a set of named attributes: a document that is a number, a string, an array or null has no attribute names. It is rejected with its line number.",
        r#"[1, 2, 3]"#,
        r#"{"id": 1, "tags": [1, 2, 3]}"# }
    MIXED_OBJECTS = { "X001", "mixed-format-or-compression", Error,
        "Files under one import prefix differ in format or compression",
        "Every object under the import's S3 prefix must share one InputFormat and one InputCompressionType.",
        "data/a.json.gz, data/b.json.zst",
        "data/a.json.gz, data/b.json.gz" }
    TOO_MANY_OBJECTS = { "X002", "too-many-objects", Error,
        "More than 50,000 objects under the import prefix",
        "One import reads at most 50,000 objects. Use larger parts (prep convert --part-size).",
        "60,000 files in data/",
        "fewer, larger files" }
    IMPORT_QUOTA = { "X003", "import-size-quota", Error,
        "Total object size is over the import quota",
        "Imports in flight may hold 15 TB of (compressed) objects in us-east-1, us-west-2 and eu-west-1 and 1 TB elsewhere (a quota that can be raised). Split the data into several imports or ask for a higher quota.",
        "2 TB of data for an import in ap-south-1",
        "under 1 TB, or several imports" }
    NON_DATA_OBJECT = { "X004", "non-data-object", Error,
        "A file that is not data sits among the data files",
        "The import reads every object under its prefix as data; a manifest, marker (_SUCCESS) or note there fails it. Keep manifests beside the data/ folder, never inside.",
        "data/manifest-files.json",
        "manifest-files.json next to data/" }
    DECLARED_MISMATCH = { "X005", "declared-format-mismatch", Error,
        "The file's actual format or compression differs from what the import will be told",
        "InputFormat and InputCompressionType must match every object; a gzip file imported as ZSTD (or DynamoDB JSON as ION) fails.",
        "--compression zstd for a .json.gz file",
        "--compression gzip" }
    MANIFEST_MISMATCH = { "X006", "manifest-mismatch", Error,
        "A data file does not match its manifest entry",
        "The manifest's checksum, size or item count differs from the file: it was changed, truncated or replaced after it was written.",
        "md5Checksum differs from the file's MD5",
        "re-run the export or prep convert" }
    UNREADABLE_OBJECT = { "X007", "unreadable-object", Error,
        "A data file cannot be read to its end",
        "Its gzip or zstd stream is damaged, or it is cut short or cannot be read: the import fails on it (and may skip the rest of it). Nothing after the damage was checked; fetch or write the file again.",
        "a part with one flipped byte",
        "the part as prep convert wrote it" }
    SORTED_BY_KEY = { "W001", "sorted-by-partition-key", Warning,
        "Items are ordered by partition key",
        "The import writes items in object order; input sorted by partition key makes a rolling hot partition and slows the import. Shuffle the rows first.",
        "user#0001, user#0002, user#0003, …",
        "rows in random order" }
    UNEVEN_PARTS = { "W002", "uneven-part-sizes", Warning,
        "Data files differ greatly in size",
        "The import parallelises over objects; many similarly sized objects import fastest. Re-split with prep convert --part-size.",
        "one 5 GB file and twenty 1 MB files",
        "twenty-one files of about 250 MB" }
    CSV_STRING_COLUMNS = { "W003", "csv-columns-import-as-strings", Warning,
        "CSV columns that look numeric or boolean will import as strings",
        "The CSV import types only key columns; every other column becomes S. Convert with prep convert to keep numbers, booleans and sets.",
        "price column 12.50 imported as S",
        "prep convert file.csv --key pk" }
    CSV_NUMERIC_KEY = { "W004", "csv-numeric-key-as-string", Warning,
        "A numeric-looking key column is declared S",
        "Key values like 0012 and 12 are different strings; if the key is a number, declare it N.",
        "--key id:S with ids 1, 2, 3",
        "--key id:N" }
    DUPLICATE_KEY = { "D001", "duplicate-primary-key", Warning,
        "Primary key appears more than once",
        "The import does not fail on duplicate primary keys: the items overwrite each other in random order, so all but one are silently lost. prep lists every duplicate in duplicates.jsonl; --duplicates error makes them fail the run.",
        r#"{"Item":{"pk":{"S":"a"},"v":{"N":"1"}}}\n{"Item":{"pk":{"S":"a"},"v":{"N":"2"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"v":{"N":"2"}}}"# }
    TEMPLATE_VALUE_MISSING = { "M001", "template-value-missing", Error,
        "A value a template needs is null or empty",
        "A key or attribute computed from a template (--key PK=CUSTOMER#{id}, --set) needs every column it names. A row whose value is null or empty is rejected rather than written as CUSTOMER#, which would put unrelated rows under one key.",
        "--key PK=CUSTOMER#{id} with a row whose id is empty",
        "--key PK=CUSTOMER#{id} with id 42: PK = CUSTOMER#42" }
    TEMPLATE_VALUE_FORMAT = { "M002", "template-value-format", Error,
        "A value cannot take its placeholder's format",
        "{id:08} zero-pads integers and {created:%Y-%m-%d} formats dates and timestamps (or ISO-8601 text); a value that is no integer, no date, or not a finite number cannot be rendered, and its row is rejected. A --set NAME:N template whose text is no number is rejected as V005, one DynamoDB cannot store by N002-N005.",
        "--sort-key SK=ORDER#{created:%Y-%m-%d} with created = \"yesterday\"",
        "--sort-key SK=ORDER#{created:%Y-%m-%d} with created = 2024-05-01T10:00:00Z: SK = ORDER#2024-05-01" }
    SORT_KEY_UNPADDED = { "M003", "sort-key-integer-unpadded", Warning,
        "A sort-key template embeds an integer without zero padding",
        "Sort keys of type S sort byte by byte, so ORDER#10 sorts before ORDER#9 and range queries (begins_with, between) return items out of numeric order. Pad the integer to a fixed width: {n:010}.",
        "--sort-key SK=ORDER#{order_no}",
        "--sort-key SK=ORDER#{order_no:010}" }
    TTL_NOT_NUMBER = { "E001", "ttl-not-a-number", Error,
        "The TTL attribute is not a Number",
        "DynamoDB's Time to Live reads a Number of seconds since the epoch and silently ignores any other type: an item whose TTL attribute is a string (an ISO date, say) never expires. Compute the seconds with --ttl NAME=COLUMN.",
        r#"{"Item":{"pk":{"S":"a"},"expires":{"S":"2030-01-01T00:00:00Z"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"expires":{"N":"1893456000"}}}"# }
    TTL_NOT_SECONDS = { "E002", "ttl-not-seconds", Error,
        "The TTL value is in milliseconds or microseconds",
        "DynamoDB's Time to Live reads seconds since the epoch. A value beyond the year 5000 is almost always milliseconds or microseconds, which TTL reads as a date thousands of years away: the item never expires. Divide it, or read the column with --ttl NAME=COLUMN:ms.",
        r#"{"Item":{"pk":{"S":"a"},"expires":{"N":"1893456000000"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"expires":{"N":"1893456000"}}}"# }
    TTL_NEGATIVE = { "E003", "ttl-negative", Error,
        "The TTL value is negative",
        "A TTL before 1970 is not a valid expiry time; DynamoDB's Time to Live ignores it and the item never expires.",
        r#"{"Item":{"pk":{"S":"a"},"expires":{"N":"-1"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"expires":{"N":"1893456000"}}}"# }
    TTL_SOURCE = { "E004", "ttl-source-not-a-time", Error,
        "A TTL cannot be computed from this value",
        "--ttl NAME=COLUMN computes epoch seconds from a timestamp, a date, ISO-8601 text or epoch seconds (COLUMN:ms, :us, :ns for other units). A value that is none of these has no expiry time, and its row is rejected.",
        "--ttl expires=created with created = \"next week\"",
        "--ttl expires=created+90d with created = 2024-05-01T00:00:00Z: expires = 1722297600" }
}

/// Look a rule up by code (case-insensitive) or by name.
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// Largest item DynamoDB stores, in bytes of its size formula.
pub const MAX_ITEM_BYTES: usize = 409_600;
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;
pub const MAX_NESTING: u32 = 32;
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 65_535;
pub(crate) const MAX_KEY_NAME_BYTES: usize = 255;
pub(crate) const MAX_NUMBER_DIGITS: usize = 38;
pub const MAX_IMPORT_OBJECTS: usize = 50_000;

pub(crate) const TB: u64 = 1_000_000_000_000;

/// The import's size quota in `region` (X003): 15 TB in us-east-1, us-west-2 and eu-west-1,
/// 1 TB elsewhere; unknown regions are given the larger one (a note says so).
pub(crate) fn import_quota(region: Option<&str>) -> u64 {
    let big_regions = ["us-east-1", "us-west-2", "eu-west-1"];
    match region {
        Some(r) if !big_regions.contains(&r) => TB,
        _ => 15 * TB,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_complete() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for r in ALL {
            assert!(codes.insert(r.code), "duplicate code {}", r.code);
            assert!(names.insert(r.name), "duplicate name {}", r.name);
            assert!(!r.summary.is_empty() && !r.explanation.is_empty());
            assert!(!r.bad.is_empty() && !r.good.is_empty());
            assert_eq!(r.code.len(), 4);
        }
        assert_eq!(find("k001").unwrap().name, "key-missing");
        assert_eq!(find("item-too-large").unwrap().code, "I001");
        assert!(find("Z999").is_none());
    }
}

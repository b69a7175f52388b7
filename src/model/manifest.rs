//! The names of the files prep writes beside the parts of an output (and reads back): one
//! place for them, so that every reader and writer agrees.

/// Every part's key, size, checksums and item count, one JSON line each.
pub const MANIFEST_FILES: &str = "manifest-files.json";
/// The output's counts, key schema and inputs; written last: a folder with it is complete.
pub const MANIFEST_SUMMARY: &str = "manifest-summary.json";
/// ImportTable's request (TableCreationParameters, format, compression, source).
pub const IMPORT_TABLE: &str = "import-table.json";
/// The rows that were not written, with their rule codes.
pub const REJECTS: &str = "rejects.jsonl";
/// Every extra item of a primary key seen before.
pub const DUPLICATES: &str = "duplicates.jsonl";
/// What the output holds and will cost (`prep convert --report`), as `prep inspect --json`.
pub const REPORT_JSON: &str = "report.json";
/// The same as one self-contained HTML page.
pub const REPORT_HTML: &str = "report.html";

/// The files prep writes in an output besides its parts, in the order a clean-up removes them:
/// the summary first, so that a half-removed output never looks complete.
pub const PREP_FILES: &[&str] = &[
    MANIFEST_SUMMARY,
    MANIFEST_FILES,
    IMPORT_TABLE,
    REJECTS,
    DUPLICATES,
    REPORT_JSON,
    REPORT_HTML,
];

// The documents themselves. Fields that earlier versions of prep, or DynamoDB's exports, do
// not write are optional, so that every folder either ever made still reads.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of manifest-files.json: a part (or a DynamoDB export's data file).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartEntry {
    /// Required by prep's readers of exports; prep always writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_count: Option<u64>,
    /// Base64 MD5 of the stored bytes (DynamoDB's exports carry it too).
    #[serde(default)]
    pub md5_checksum: String,
    /// Base64 CRC64-NVME of the stored bytes, as S3 reports a full-object checksum (prep's
    /// outputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<String>,
    /// Hex SHA-256 of the stored bytes (outputs of prep before CRC64-NVME; still checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncompressed_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_bytes: Option<u64>,
    /// The part's key relative to the output (`data/…`), or an export's full key.
    pub data_file_s3_key: String,
    /// Where the part is in S3 (an output written to or uploaded into S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// Why a line of manifest-files.json could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BadLine {
    NotJson,
    NoDataFileKey,
    /// A field of the wrong type: serde's words.
    Invalid(String),
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadLine::NotJson => f.write_str("the manifest line is not JSON"),
            BadLine::NoDataFileKey => f.write_str("the manifest line has no dataFileS3Key"),
            BadLine::Invalid(e) => write!(f, "the manifest line is not a part entry: {e}"),
        }
    }
}

impl PartEntry {
    /// Every non-blank line of manifest-files.json `text`, with its line number (from 1).
    pub fn lines(text: &str) -> impl Iterator<Item = (usize, Result<PartEntry, BadLine>)> + '_ {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, PartEntry::parse(l)))
    }

    pub fn parse(line: &str) -> Result<PartEntry, BadLine> {
        let v: Value = serde_json::from_str(line).map_err(|_| BadLine::NotJson)?;
        if !v.get("dataFileS3Key").is_some_and(Value::is_string) {
            return Err(BadLine::NoDataFileKey);
        }
        serde_json::from_value(v).map_err(|e| BadLine::Invalid(e.to_string()))
    }

    /// The line as manifest-files.json holds it (no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("serialisable")
    }
}

/// manifest-summary.json: a prep output's counts, keys and inputs, or a DynamoDB export's
/// summary (which has no `tool`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    #[serde(default)]
    pub version: String,
    /// "prep" for prep's outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default)]
    pub manifest_files_s3_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_read: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_key_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_sets_omitted: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncompressed_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_schema: Option<KeysRecord>,
    /// A DynamoDB export's bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    /// A DynamoDB export's size (its summary has no uncompressedBytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_size_bytes: Option<u64>,
    #[serde(default)]
    pub inputs: Vec<InputRecord>,
}

impl Summary {
    /// Whether prep wrote it (a DynamoDB export's summary names no tool).
    pub fn is_prep(&self) -> bool {
        self.tool.as_deref() == Some("prep")
    }
}

/// One input as the summary records it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRecord {
    pub path: String,
    pub format: String,
    pub rows: u64,
    pub bytes: u64,
    /// Base64 CRC64-NVME of the input (null where a shard did not read it).
    #[serde(default)]
    pub crc64nvme: Option<String>,
    /// Hex SHA-256 of the input, as earlier versions recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The entity type of a map file this input belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
}

/// The key schema as a summary (`keySchema`), a shard's settings and `--json` reports record it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeysRecord {
    pub partition_key: AttrRecord,
    #[serde(default)]
    pub sort_key: Option<AttrRecord>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<GsiRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_indexes: Option<VectorRecord>,
}

/// A key attribute: its name and type (`S`, `N`, `B`; `?` where unresolved).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttrRecord {
    pub name: String,
    #[serde(rename = "type", default)]
    pub ty: Option<String>,
}

/// A GSI's keys. A multi-attribute side is a list (`partitionKeys`); `partitionKey` holds its
/// first attribute for readers that know only one (and is all that earlier versions wrote).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GsiRecord {
    pub name: String,
    #[serde(default)]
    pub partition_key: Option<AttrRecord>,
    #[serde(default)]
    pub sort_key: Option<AttrRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_keys: Vec<AttrRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort_keys: Vec<AttrRecord>,
}

/// Vector indexes, carried unchanged from a table definition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VectorRecord {
    #[serde(default)]
    pub indexes: Vec<Value>,
    #[serde(default)]
    pub attribute_definitions: Vec<Value>,
}

/// import-table.json: ImportTable's `--cli-input-json` document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportTable {
    pub input_format: String,
    pub input_compression_type: String,
    pub table_creation_parameters: TableDefinition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket_source: Option<S3BucketSource>,
    /// Other request fields (InputFormatOptions, ClientToken), as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_format_options: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// Where an import reads from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3BucketSource {
    pub s3_bucket: String,
    pub s3_key_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket_owner: Option<String>,
}

/// A table definition: ImportTable's `TableCreationParameters`, CreateTable's input, or the
/// `Table` of `aws dynamodb describe-table` output (whose state fields are ignored).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    #[serde(default)]
    pub table_name: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeyElement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_secondary_indexes: Vec<IndexDefinition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vector_indexes: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<Throughput>,
    #[serde(
        rename = "SSESpecification",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sse_specification: Option<Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

/// One entry of a KeySchema: `HASH` or `RANGE`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDefinition {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<Throughput>,
}

/// Provisioned capacity (describe-table's extra fields are ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Throughput {
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
}

/// A finished part, as listed in manifest-files.json.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartInfo {
    pub key: String,
    pub items: u64,
    pub uncompressed: u64,
    pub stored: u64,
    pub md5_base64: String,
    /// Base64 CRC64-NVME.
    pub crc64nvme: String,
    /// The object's ETag, where the store gives one (S3).
    pub etag: Option<String>,
}

/// The billing of the table an import creates, for import-table.json.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Billing {
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_capacity: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_capacity: Option<u64>,
}

/// What the manifests say of the output as a whole, beside the parts and the counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputFacts {
    pub table: String,
    /// ImportTable's InputFormat and InputCompressionType.
    pub format: String,
    pub compression: String,
    /// The billing of the table the import creates (a map file's), for import-table.json.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<Billing>,
}

/// One entity type's share of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityCounts {
    pub name: String,
    pub rows_read: u64,
    pub items_written: u64,
    pub rows_rejected: u64,
}

/// A JSON document as prep writes it: pretty, with a final newline.
pub fn pretty<T: Serialize>(doc: &T) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(doc).expect("serialisable")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_lines_of_exports_and_earlier_versions_read() {
        let export = r#"{"itemCount":3,"md5Checksum":"abc==","etag":"e-1","dataFileS3Key":"AWSDynamoDB/x/data/a.json.gz"}"#;
        let p = PartEntry::parse(export).unwrap();
        assert_eq!(p.item_count, Some(3));
        assert_eq!(p.etag.as_deref(), Some("e-1"));
        assert_eq!((p.sha256, p.crc64nvme), (None, None));
        let earlier =
            r#"{"itemCount":2,"md5Checksum":"m","sha256":"s","dataFileS3Key":"data/part-0.json"}"#;
        assert_eq!(
            PartEntry::parse(earlier).unwrap().sha256.as_deref(),
            Some("s")
        );
        let ours = PartEntry {
            item_count: Some(2),
            md5_checksum: "m".into(),
            crc64nvme: Some("c".into()),
            sha256: None,
            uncompressed_bytes: Some(10),
            stored_bytes: Some(5),
            data_file_s3_key: "data/part-0.json.zst".into(),
            s3_key: None,
            etag: None,
        };
        assert_eq!(
            ours.to_line(),
            r#"{"itemCount":2,"md5Checksum":"m","crc64nvme":"c","uncompressedBytes":10,"storedBytes":5,"dataFileS3Key":"data/part-0.json.zst"}"#
        );
        assert_eq!(PartEntry::parse(&ours.to_line()).unwrap(), ours);
        assert_eq!(PartEntry::parse("{"), Err(BadLine::NotJson));
        assert_eq!(
            PartEntry::parse(r#"{"itemCount":1}"#),
            Err(BadLine::NoDataFileKey)
        );
        assert!(matches!(
            PartEntry::parse(r#"{"itemCount":"x","dataFileS3Key":"k"}"#),
            Err(BadLine::Invalid(_))
        ));
        let lines: Vec<_> = PartEntry::lines("\n{\"dataFileS3Key\":\"a\"}\n\n").collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].0, 2);
    }

    #[test]
    fn summaries_and_import_tables_read_as_written() {
        let export = r#"{"version":"2020-06-30","exportArn":"arn:x","itemCount":7,"outputFormat":"DYNAMODB_JSON","manifestFilesS3Key":"m"}"#;
        let s: Summary = serde_json::from_str(export).unwrap();
        assert!(!s.is_prep());
        assert_eq!(s.item_count, Some(7));
        let doc = r#"{"InputFormat":"DYNAMODB_JSON","InputCompressionType":"ZSTD",
            "TableCreationParameters":{"TableName":"t","AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],
            "KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"},
            "S3BucketSource":{"S3Bucket":"b","S3KeyPrefix":"p/data/"}}"#;
        let t: ImportTable = serde_json::from_str(doc).unwrap();
        assert_eq!(
            t.s3_bucket_source.as_ref().unwrap().s3_key_prefix,
            "p/data/"
        );
        let again: ImportTable = serde_json::from_str(&pretty(&t)).unwrap();
        assert_eq!(again, t);
        let v: Value = serde_json::from_str(&pretty(&t)).unwrap();
        let w: Value = serde_json::from_str(doc).unwrap();
        assert_eq!(v, w);
    }
}

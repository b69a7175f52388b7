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

/// The files prep writes in an output besides its parts, in the order a clean-up removes them:
/// the summary first, so that a half-removed output never looks complete.
pub const PREP_FILES: &[&str] = &[
    MANIFEST_SUMMARY,
    MANIFEST_FILES,
    IMPORT_TABLE,
    REJECTS,
    DUPLICATES,
];

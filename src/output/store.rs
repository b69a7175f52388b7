//! Where an import folder goes. The part writer and the manifests reach it only through
//! [`OutputStore`]: a local folder today ([`LocalFolder`]); an S3 prefix, parts streamed as
//! multipart uploads, is the next implementation. Names are relative to the folder's root, with
//! `/` between levels (`data/part-00000.json.zst`, `manifest-summary.json`), as S3 keys are.

use std::io;

/// A folder (or prefix) that parts and manifests are written into.
pub trait OutputStore: Send + Sync + std::fmt::Debug {
    /// How messages name the object `name`: a path, or an `s3://` URI.
    fn display(&self, name: &str) -> String;
    /// A new part: the bytes written to it become the object `name` only when it is committed,
    /// and nothing of it remains if it is dropped before.
    fn create_part(&self, name: &str) -> io::Result<Box<dyn PartSink>>;
    /// A whole small object (a manifest), durable and in place at once: a reader sees the old
    /// object or the new one, never part of it.
    fn put(&self, name: &str, body: &[u8]) -> io::Result<()>;
    /// A side file (rejects, duplicates): many small writes, which the caller buffers.
    fn create_file(&self, name: &str) -> io::Result<Box<dyn PartSink>> {
        self.create_part(name)
    }
    /// Bucket, key prefix and expected owner, where the output is in S3 (the manifests then
    /// name each part's key and ETag, and import-table.json its `S3BucketSource`).
    fn s3_location(&self) -> Option<(String, String, Option<String>)> {
        None
    }
    /// Remove what this run wrote (after a failure or an interruption): no manifest, part,
    /// rejects or duplicates file of it stays.
    fn discard(&self);
}

/// The bytes of one part on their way into a store.
pub trait PartSink: Send {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    /// Everything written is durable, under the part's name; the object's ETag where the store
    /// has one.
    fn commit(self: Box<Self>) -> io::Result<Option<String>>;
}

//! One S3 object writer, for `prep upload` and for outputs written straight to S3 (`--out
//! s3://`): a whole object in one PutObject, or a multipart upload chunk by chunk. Every body
//! goes with its CRC64-NVME (and, where the caller has it, its Content-MD5), which S3 checks; a
//! multipart upload is a full-object CRC64-NVME one, so S3 checks the whole object's checksum
//! too, not only each part's. The checksum S3 answers is compared with what was sent, and a
//! HeadObject after the write confirms the size (and the checksum) of what S3 holds. Callers own the lifecycle around it:
//! the output aborts a part dropped before its commit, the upload resumes from its journal.

use super::{b64, describe, PutSettings};
use crate::hashing::Crc64;
use anyhow::{anyhow, bail, Result};
use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
};
use aws_sdk_s3::Client;
use bytes::Bytes;
use md5::{Digest, Md5};

/// A bucket objects are written into, with the settings every object gets.
#[derive(Clone, Copy)]
pub(crate) struct Bucket<'a> {
    pub client: &'a Client,
    pub name: &'a str,
    pub put: &'a PutSettings,
}

/// A whole object's body and what goes with it.
pub(crate) struct Body<'a> {
    pub data: ByteStream,
    pub len: u64,
    /// Base64 CRC64-NVME of the body.
    pub crc64nvme: String,
    /// Base64 MD5 of the body, where the caller has it (S3 then checks it too).
    pub md5: Option<String>,
    pub content_type: &'a str,
    /// One metadata entry (`prep upload` marks its objects with their CRC64-NVME).
    pub metadata: Option<(&'a str, &'a str)>,
}

impl<'a> Body<'a> {
    /// A body in memory, its CRC64-NVME (and with `with_md5`, its MD5) computed here.
    pub(crate) fn bytes(data: impl Into<Bytes>, content_type: &'a str, with_md5: bool) -> Body<'a> {
        let data: Bytes = data.into();
        Body {
            len: data.len() as u64,
            crc64nvme: Crc64::of(&data).base64(),
            md5: with_md5.then(|| b64(&Md5::digest(&data))),
            data: ByteStream::new(SdkBody::from(data)),
            content_type,
            metadata: None,
        }
    }
}

impl Bucket<'_> {
    pub(crate) fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    /// One whole object in one PutObject; its ETag once a HeadObject confirms it.
    pub(crate) async fn put(&self, key: &str, body: Body<'_>) -> Result<String> {
        let mut req = self
            .client
            .put_object()
            .bucket(self.name)
            .key(key)
            .content_type(body.content_type)
            .content_length(body.len as i64)
            .set_content_md5(body.md5)
            .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
            .checksum_crc64_nvme(&body.crc64nvme)
            .body(body.data);
        if let Some((k, v)) = body.metadata {
            req = req.metadata(k, v);
        }
        let r = super::put_settings!(self.put, req)
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "uploading {} failed (after retries): {}",
                    self.url(key),
                    describe(&e)
                )
            })?;
        if let Some(got) = r.checksum_crc64_nvme() {
            if got != body.crc64nvme {
                bail!(
                    "{}: S3 computed CRC64-NVME {got}, we sent {}",
                    self.url(key),
                    body.crc64nvme
                );
            }
        }
        self.confirm(key, body.len, &body.crc64nvme).await
    }

    /// Start a multipart upload of `key` whose checksum is the whole object's CRC64-NVME; its
    /// upload id.
    pub(crate) async fn start_multipart(
        &self,
        key: &str,
        content_type: &str,
        metadata: Option<(&str, &str)>,
    ) -> Result<String> {
        let mut req = self
            .client
            .create_multipart_upload()
            .bucket(self.name)
            .key(key)
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
            .checksum_type(ChecksumType::FullObject);
        if let Some((k, v)) = metadata {
            req = req.metadata(k, v);
        }
        let r = super::put_settings!(self.put, req)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "cannot start the multipart upload of {}: {}",
                    self.url(key),
                    describe(&e)
                )
            })?;
        r.upload_id()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("S3 returned no upload id for {}", self.url(key)))
    }

    /// Chunk `number` (from 1) of upload `id`, with its CRC64-NVME `crc` and, when asked, its
    /// Content-MD5; what CompleteMultipartUpload needs of it.
    pub(crate) async fn upload_part(
        &self,
        key: &str,
        id: &str,
        number: i32,
        chunk: Bytes,
        crc: &Crc64,
        with_md5: bool,
    ) -> Result<CompletedPart> {
        let crc = crc.base64();
        let md5 = with_md5.then(|| b64(&Md5::digest(&chunk)));
        let r = self
            .client
            .upload_part()
            .bucket(self.name)
            .key(key)
            .upload_id(id)
            .part_number(number)
            .set_content_md5(md5)
            .content_length(chunk.len() as i64)
            .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
            .checksum_crc64_nvme(&crc)
            .set_expected_bucket_owner(self.put.expected_bucket_owner.clone())
            .body(ByteStream::from(chunk))
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "uploading part {number} of {} failed (after retries): {}",
                    self.url(key),
                    describe(&e)
                )
            })?;
        if let Some(got) = r.checksum_crc64_nvme() {
            if got != crc {
                bail!(
                    "part {number} of {}: S3 computed CRC64-NVME {got}, we sent {crc}",
                    self.url(key)
                );
            }
        }
        Ok(CompletedPart::builder()
            .part_number(number)
            .e_tag(r.e_tag().unwrap_or(""))
            .checksum_crc64_nvme(crc)
            .build())
    }

    /// Complete upload `id` from `parts` (in order), with the whole object's CRC64-NVME
    /// `whole`, which S3 checks against the parts it holds; S3's answer is compared with it,
    /// and a HeadObject confirms `size` bytes; the object's ETag.
    pub(crate) async fn complete(
        &self,
        key: &str,
        id: &str,
        parts: Vec<CompletedPart>,
        whole: &str,
        size: u64,
    ) -> Result<String> {
        let r = self
            .client
            .complete_multipart_upload()
            .bucket(self.name)
            .key(key)
            .upload_id(id)
            .set_expected_bucket_owner(self.put.expected_bucket_owner.clone())
            .checksum_type(ChecksumType::FullObject)
            .checksum_crc64_nvme(whole)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| anyhow!("completing {} failed: {}", self.url(key), describe(&e)))?;
        if let Some(got) = r.checksum_crc64_nvme() {
            if got != whole {
                bail!(
                    "{}: S3 reports CRC64-NVME {got}, we sent {whole}",
                    self.url(key)
                );
            }
        }
        self.confirm(key, size, whole).await
    }

    /// Abort upload `id` of `key`: S3 drops (and stops billing) its parts.
    pub(crate) async fn abort(&self, key: &str, id: &str) -> Result<()> {
        self.client
            .abort_multipart_upload()
            .bucket(self.name)
            .key(key)
            .upload_id(id)
            .set_expected_bucket_owner(self.put.expected_bucket_owner.clone())
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "cannot abort the multipart upload of {}: {}",
                    self.url(key),
                    describe(&e)
                )
            })?;
        Ok(())
    }

    /// HeadObject after a write: S3 must hold `size` bytes, and the CRC64-NVME it reports (if
    /// any) must be `crc`; the object's ETag.
    pub(crate) async fn confirm(&self, key: &str, size: u64, crc: &str) -> Result<String> {
        let h = self
            .client
            .head_object()
            .bucket(self.name)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .set_expected_bucket_owner(self.put.expected_bucket_owner.clone())
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "{}: HeadObject after the upload failed: {}",
                    self.url(key),
                    describe(&e)
                )
            })?;
        if h.content_length() != Some(size as i64) {
            bail!(
                "{}: S3 holds {:?} bytes, {size} were sent",
                self.url(key),
                h.content_length()
            );
        }
        if let Some(got) = h.checksum_crc64_nvme() {
            if got != crc {
                bail!(
                    "{}: S3 reports CRC64-NVME {got}, we sent {crc}",
                    self.url(key)
                );
            }
        }
        Ok(h.e_tag().unwrap_or("").to_string())
    }
}

pub(crate) fn content_type(key: &str) -> &'static str {
    if key.ends_with(".jsonl") || key.ends_with(crate::model::manifest::MANIFEST_FILES) {
        "application/x-ndjson"
    } else if key.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

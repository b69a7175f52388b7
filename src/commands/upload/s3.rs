//! The S3 side of an upload: client from the standard AWS configuration chain, listing what is
//! there, single and multipart PUTs with MD5 and CRC64-NVME checksums (a multipart object's
//! whole CRC64-NVME checked by S3), verification, manifests last.

use super::plan::{Local, LocalPart};
use super::{ObjectReport, Outcome, UploadOptions, UploadReport};
use crate::aws::client;
use crate::aws::object::{content_type, Body, Bucket};
use crate::hashing::Crc64;
use crate::model::manifest::{ImportTable, S3BucketSource};
use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumMode, CompletedPart};
use aws_sdk_s3::Client;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

/// Metadata key holding the whole object's CRC64-NVME (base64), so a re-run can tell our
/// objects on servers that do not keep the checksum itself.
const META_CRC: &str = "prep-crc64nvme";

/// Byte ranges of the chunks of a part.
fn chunks(size: u64, chunk: u64) -> Vec<(u64, u64)> {
    let mut v = Vec::new();
    let mut off = 0;
    while off < size {
        let len = chunk.min(size - off);
        v.push((off, len));
        off += len;
    }
    if v.is_empty() {
        v.push((0, 0));
    }
    v
}

fn read_range(path: &std::path::Path, off: u64, len: u64) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    std::fs::File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(off))?;
            f.read_exact(&mut buf)
        })
        .map_err(|e| {
            anyhow!(
                "cannot read bytes {off}..{} of {}: {e}; the part changed after it was checked against the manifest: convert again",
                off + len,
                path.display()
            )
        })?;
    Ok(buf)
}

/// Per-chunk CRC64-NVME digests, computed from disk (only for multipart objects); together
/// they must give the part's, which the manifest holds and S3 checks the whole object against.
fn chunk_digests(p: &LocalPart, chunk: u64) -> Result<Vec<Crc64>> {
    let mut out = Vec::new();
    let mut whole = Crc64::default();
    for (off, len) in chunks(p.size, chunk) {
        let buf = read_range(&p.path, off, len)?;
        let crc = Crc64::of(&buf);
        whole.append(&crc);
        out.push(crc);
    }
    if whole.base64() != p.crc64nvme {
        bail!(
            "{}: its CRC64-NVME is now {}, not the manifest's {}; the part changed after it was checked: convert again",
            p.path.display(),
            whole.base64(),
            p.crc64nvme
        );
    }
    Ok(out)
}

struct Ctx {
    journal: super::journal::Journal,
    client: Client,
    opts: UploadOptions,
    sem: Arc<Semaphore>,
}

impl Ctx {
    fn bucket(&self) -> Bucket<'_> {
        Bucket {
            client: &self.client,
            name: &self.opts.bucket,
            put: &self.opts.put,
        }
    }

    fn key(&self, rel: &str) -> String {
        format!("{}{rel}", self.opts.prefix)
    }
    fn tick(&self, n: u64) {
        self.opts.observer.advance(n, "uploading");
    }
}

/// What S3 already holds under the prefix's `data/` (key → size), and which of those objects
/// are not this output's parts (sorted): the dry run and the upload both go by it.
async fn existing(
    client: &Client,
    opts: &UploadOptions,
    local: &Local,
) -> Result<(HashMap<String, u64>, Vec<String>)> {
    let data_prefix = format!("{}data/", opts.prefix);
    let owner = opts.put.expected_bucket_owner.as_deref();
    let listed = crate::aws::list_objects(client, &opts.bucket, &data_prefix, owner).await?;
    let ours: std::collections::HashSet<String> = local
        .parts
        .iter()
        .map(|p| format!("{}{}", opts.prefix, p.rel_key))
        .collect();
    let mut foreign: Vec<String> = listed
        .iter()
        .filter(|o| !ours.contains(&o.key))
        .map(|o| o.key.clone())
        .collect();
    foreign.sort();
    Ok((
        listed.into_iter().map(|o| (o.key, o.size)).collect(),
        foreign,
    ))
}

/// HeadObject with checksums, as the bucket owner check requires.
async fn head(
    ctx: &Ctx,
    key: &str,
) -> Result<
    aws_sdk_s3::operation::head_object::HeadObjectOutput,
    aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::head_object::HeadObjectError>,
> {
    let mut req = ctx
        .client
        .head_object()
        .bucket(&ctx.opts.bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled);
    if let Some(o) = &ctx.opts.put.expected_bucket_owner {
        req = req.expected_bucket_owner(o);
    }
    req.send().await
}

/// Is the object at `key` already exactly this part (size and CRC64-NVME, as S3 keeps it or as
/// our metadata records it)?
async fn already_there(ctx: &Ctx, key: &str, p: &LocalPart) -> Result<Option<String>> {
    let Ok(h) = head(ctx, key).await else {
        return Ok(None);
    };
    let same_size = h.content_length() == Some(p.size as i64);
    let same_crc = h.checksum_crc64_nvme() == Some(p.crc64nvme.as_str())
        || h.metadata()
            .and_then(|m| m.get(META_CRC))
            .is_some_and(|s| *s == p.crc64nvme);
    Ok((same_size && same_crc).then(|| h.e_tag().unwrap_or("").to_string()))
}

async fn put_single(ctx: &Ctx, key: &str, p: &LocalPart) -> Result<String> {
    let _permit = ctx.sem.acquire().await?;
    let data = ByteStream::from_path(&p.path)
        .await
        .with_context(|| format!("cannot read {}", p.path.display()))?;
    let body = Body {
        data,
        len: p.size,
        crc64nvme: p.crc64nvme.clone(),
        md5: Some(p.md5_base64.clone()),
        content_type: content_type(key),
        metadata: Some((META_CRC, &p.crc64nvme)),
    };
    let etag = ctx.bucket().put(key, body).await?;
    ctx.tick(p.size);
    Ok(etag)
}

/// Resume from the journal: the upload it names for `key`, with the parts that S3 still lists with
/// the size and ETag the journal recorded. An upload that cannot be confirmed is aborted.
async fn journaled(
    ctx: &Ctx,
    key: &str,
    p: &LocalPart,
    chunk: u64,
    digests: &[Crc64],
    stale: &mut Vec<String>,
) -> Option<(String, HashMap<i32, CompletedPart>)> {
    let j = ctx.journal.get(key)?;
    if j.chunk != chunk || j.crc64nvme != p.crc64nvme {
        let _ = abort(ctx, key, &j.upload_id).await;
        ctx.journal.finish(key);
        stale.push(key.to_string());
        return None;
    }
    let listed = ctx
        .client
        .list_parts()
        .bucket(&ctx.opts.bucket)
        .key(key)
        .upload_id(&j.upload_id)
        .send()
        .await;
    let Ok(listed) = listed else {
        let _ = abort(ctx, key, &j.upload_id).await;
        ctx.journal.finish(key);
        stale.push(key.to_string());
        return None;
    };
    let mut good = HashMap::new();
    for part in listed.parts() {
        let n = part.part_number().unwrap_or(0);
        let (Some(done), Some(d)) = (j.parts.get(&n), digests.get((n - 1).max(0) as usize)) else {
            continue;
        };
        let same_size = part.size() == Some(done.size as i64);
        // Servers that list parts without ETags are trusted on size: the journal only holds
        // parts S3 acknowledged after checking their CRC64-NVME.
        let same_etag = part.e_tag().is_none_or(|e| e == done.etag);
        if same_size && same_etag && done.crc64nvme == d.base64() {
            good.insert(
                n,
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag(&done.etag)
                    .checksum_crc64_nvme(&done.crc64nvme)
                    .build(),
            );
        }
    }
    Some((j.upload_id, good))
}

/// Find our in-progress multipart upload for `key` whose parts fit this file's chunking.
async fn resumable(
    ctx: &Ctx,
    key: &str,
    digests: &[Crc64],
    stale: &mut Vec<String>,
) -> Result<Option<(String, HashMap<i32, CompletedPart>)>> {
    let mut req = ctx
        .client
        .list_multipart_uploads()
        .bucket(&ctx.opts.bucket)
        .prefix(key);
    if let Some(o) = &ctx.opts.put.expected_bucket_owner {
        req = req.expected_bucket_owner(o);
    }
    // A server that cannot list uploads has nothing for us to resume: start afresh.
    let Ok(r) = req.send().await else {
        return Ok(None);
    };
    let mut found = None;
    for u in r.uploads() {
        if u.key() != Some(key) {
            continue;
        }
        let Some(id) = u.upload_id() else { continue };
        if found.is_some() {
            abort(ctx, key, id).await?;
            stale.push(key.to_string());
            continue;
        }
        let parts = match ctx
            .client
            .list_parts()
            .bucket(&ctx.opts.bucket)
            .key(key)
            .upload_id(id)
            .send()
            .await
        {
            Ok(p) => p,
            // Parts we cannot see cannot be reused: start over (some S3-compatible servers
            // answer ListParts in a shape the SDK does not read).
            Err(_) => {
                abort(ctx, key, id).await?;
                stale.push(key.to_string());
                continue;
            }
        };
        let mut good = HashMap::new();
        let mut fits = true;
        for part in parts.parts() {
            let n = part.part_number().unwrap_or(0);
            let want = digests.get((n - 1).max(0) as usize).map(Crc64::base64);
            match (part.checksum_crc64_nvme(), want) {
                (Some(got), Some(want)) if got == want => {
                    good.insert(
                        n,
                        CompletedPart::builder()
                            .part_number(n)
                            .e_tag(part.e_tag().unwrap_or(""))
                            .checksum_crc64_nvme(got)
                            .build(),
                    );
                }
                _ => fits = false,
            }
        }
        if fits {
            found = Some((id.to_string(), good));
        } else {
            abort(ctx, key, id).await?;
            stale.push(key.to_string());
        }
    }
    Ok(found)
}

async fn abort(ctx: &Ctx, key: &str, id: &str) -> Result<()> {
    ctx.bucket().abort(key, id).await
}

async fn put_multipart(
    ctx: Arc<Ctx>,
    key: String,
    p: LocalPart,
    stale: &mut Vec<String>,
) -> Result<(String, usize)> {
    let chunk = ctx.opts.multipart_chunksize;
    let digests = {
        let p = p.clone();
        tokio::task::spawn_blocking(move || chunk_digests(&p, chunk)).await??
    };
    let from_journal = journaled(&ctx, &key, &p, chunk, &digests, stale).await;
    let found = match from_journal {
        Some(x) => Some(x),
        None => resumable(&ctx, &key, &digests, stale).await?,
    };
    let (upload_id, mut done) = match found {
        Some(x) => x,
        None => {
            let id = ctx
                .bucket()
                .start_multipart(&key, content_type(&key), Some((META_CRC, &p.crc64nvme)))
                .await?;
            ctx.journal.start(
                &key,
                super::journal::Upload {
                    upload_id: id.clone(),
                    chunk,
                    crc64nvme: p.crc64nvme.clone(),
                    parts: Default::default(),
                },
            );
            (id, HashMap::new())
        }
    };
    let reused = done.len();
    for (i, (_, len)) in chunks(p.size, chunk).iter().enumerate() {
        if done.contains_key(&(i as i32 + 1)) {
            ctx.tick(*len);
        }
    }
    let mut tasks = Vec::new();
    for (i, (off, len)) in chunks(p.size, chunk).into_iter().enumerate() {
        let n = i as i32 + 1;
        if done.contains_key(&n) {
            continue;
        }
        let ctx = ctx.clone();
        let (key, id, path) = (key.clone(), upload_id.clone(), p.path.clone());
        let crc = digests[i];
        tasks.push(tokio::spawn(async move {
            let _permit = ctx.sem.acquire().await?;
            let buf = tokio::task::spawn_blocking(move || read_range(&path, off, len)).await??;
            let part = ctx
                .bucket()
                .upload_part(&key, &id, n, buf.into(), &crc, true)
                .await?;
            ctx.tick(len);
            ctx.journal.part(
                &key,
                n,
                super::journal::PartDone {
                    etag: part.e_tag().unwrap_or("").to_string(),
                    crc64nvme: crc.base64(),
                    size: len,
                },
            );
            Ok::<_, anyhow::Error>(part)
        }));
    }
    for t in tasks {
        let part = t.await??;
        done.insert(part.part_number().unwrap_or(0), part);
    }
    let mut parts: Vec<CompletedPart> = done.into_values().collect();
    parts.sort_by_key(|p| p.part_number());
    let etag = ctx
        .bucket()
        .complete(&key, &upload_id, parts, &p.crc64nvme, p.size)
        .await?;
    ctx.journal.finish(&key);
    Ok((etag, reused))
}

async fn put_small_object(ctx: &Ctx, key: &str, body: Vec<u8>, content_type: &str) -> Result<()> {
    ctx.bucket()
        .put(key, Body::bytes(body, content_type, true))
        .await?;
    Ok(())
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The import-table.json an upload writes: the folder's, with where the import reads from.
fn import_table_for(opts: &UploadOptions, local: &Local) -> ImportTable {
    let mut import = local.import_table.clone();
    import.s3_bucket_source = Some(S3BucketSource {
        s3_bucket: opts.bucket.clone(),
        s3_key_prefix: format!("{}data/", opts.prefix),
        s3_bucket_owner: opts.put.expected_bucket_owner.clone(),
    });
    import
}

/// A dry run's plan: every object it would send with its size, and the import-table.json it
/// would write. `unchecked`: why the prefix itself could not be looked at (no AWS access).
fn plan(opts: &UploadOptions, local: &Local, unchecked: Option<String>) -> UploadReport {
    let key = |rel: &str| format!("{}{rel}", opts.prefix);
    let mut report = UploadReport {
        bucket: opts.bucket.clone(),
        prefix: opts.prefix.clone(),
        unchecked,
        import_table: Some(import_table_for(opts, local)),
        ..Default::default()
    };
    for p in &local.parts {
        report.objects.push(ObjectReport {
            key: key(&p.rel_key),
            bytes: p.size,
            etag: None,
            outcome: Outcome::WouldUpload,
            multipart: p.size > opts.multipart_threshold,
        });
    }
    for m in [
        crate::model::manifest::MANIFEST_FILES,
        crate::model::manifest::MANIFEST_SUMMARY,
        crate::model::manifest::IMPORT_TABLE,
    ] {
        let size = std::fs::metadata(local.dir.join(m))
            .map(|m| m.len())
            .unwrap_or(0);
        report.objects.push(ObjectReport {
            key: key(m),
            bytes: size,
            etag: None,
            outcome: Outcome::WouldUpload,
            multipart: false,
        });
    }
    report
}

pub(crate) async fn upload(opts: &UploadOptions, local: Local) -> Result<UploadReport> {
    let started = Instant::now();
    let total: u64 = local.parts.iter().map(|p| p.size).sum();
    // A dry run needs no AWS access for its plan: what it cannot check, it says.
    if opts.dry_run {
        let checked = async { existing(&client(&opts.aws).await?, opts, &local).await }.await;
        let unchecked = match checked {
            Ok((_, foreign)) => {
                let foreign = foreign.len();
                (foreign > 0 && !opts.force).then(|| {
                    format!("s3://{}/{}data/ already holds {foreign} object(s) that are not part of this output: the upload would refuse them (use another prefix, delete them, or pass --force)", opts.bucket, opts.prefix)
                })
            }
            Err(e) => Some(format!(
                "s3://{}/{} could not be checked: {e:#}",
                opts.bucket, opts.prefix
            )),
        };
        let mut report = plan(opts, &local, unchecked);
        report.elapsed_s = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    opts.observer.begin(Some(total), "uploading");
    let client = client(&opts.aws).await?;
    let ctx = Arc::new(Ctx {
        journal: super::journal::Journal::open(&local.dir, &opts.bucket),
        client,
        opts: opts.clone(),
        sem: Arc::new(Semaphore::new(opts.concurrency.max(1))),
    });
    let (existing, foreign) = existing(&ctx.client, opts, &local).await?;
    if !foreign.is_empty() && !opts.force {
        bail!(
            "s3://{}/{}data/ already holds {} object(s) that are not part of this output (e.g. {}); the import would read them too. Use another prefix, delete them, or pass --force",
            opts.bucket,
            opts.prefix,
            foreign.len(),
            foreign.iter().take(3).map(String::as_str).collect::<Vec<_>>().join(", ")
        );
    }
    let mut report = UploadReport {
        bucket: opts.bucket.clone(),
        prefix: opts.prefix.clone(),
        ..Default::default()
    };
    // Data parts, in parallel (the semaphore bounds requests in flight across and within files).
    let mut tasks = Vec::new();
    for p in local.parts.clone() {
        let ctx = ctx.clone();
        let key = ctx.key(&p.rel_key);
        let present = existing.contains_key(&key);
        tasks.push(tokio::spawn(async move {
            if present {
                if let Some(etag) = already_there(&ctx, &key, &p).await? {
                    ctx.tick(p.size);
                    return Ok::<_, anyhow::Error>((
                        ObjectReport {
                            key,
                            bytes: p.size,
                            etag: Some(etag),
                            outcome: Outcome::Skipped,
                            multipart: p.size > ctx.opts.multipart_threshold,
                        },
                        Vec::new(),
                    ));
                }
            }
            if p.size > ctx.opts.multipart_threshold {
                let mut stale = Vec::new();
                let (etag, reused) =
                    put_multipart(ctx.clone(), key.clone(), p.clone(), &mut stale).await?;
                let outcome = if reused > 0 {
                    Outcome::Resumed {
                        reused_parts: reused,
                    }
                } else {
                    Outcome::Uploaded
                };
                Ok((
                    ObjectReport {
                        key,
                        bytes: p.size,
                        etag: Some(etag),
                        outcome,
                        multipart: true,
                    },
                    stale,
                ))
            } else {
                let etag = put_single(&ctx, &key, &p).await?;
                Ok((
                    ObjectReport {
                        key,
                        bytes: p.size,
                        etag: Some(etag),
                        outcome: Outcome::Uploaded,
                        multipart: false,
                    },
                    Vec::new(),
                ))
            }
        }));
    }
    let mut first_error = None;
    for t in tasks {
        match t
            .await
            .map_err(|e| anyhow!("an upload task failed: {e}"))
            .and_then(|r| r)
        {
            Ok((o, stale)) => {
                if o.outcome != Outcome::Skipped {
                    report.bytes_sent += o.bytes;
                }
                report.aborted_uploads.extend(stale);
                report.objects.push(o);
            }
            Err(e) => {
                if first_error.is_none() {
                    first_error = Some(e);
                }
            }
        }
    }
    ctx.opts.observer.end();
    if let Some(e) = first_error {
        return Err(e.context("the upload is incomplete; run the same command again to resume (finished objects are skipped)"));
    }

    // Manifests last: they must never point at a missing or partial object.
    let etags: HashMap<&str, &str> = report
        .objects
        .iter()
        .map(|o| (o.key.as_str(), o.etag.as_deref().unwrap_or("")))
        .collect();
    let mut files = String::new();
    for (line, p) in local.manifest_lines.iter().zip(&local.parts) {
        let mut v = line.clone();
        let key = ctx.key(&p.rel_key);
        v.etag = Some(etags.get(key.as_str()).copied().unwrap_or("").to_string());
        v.s3_key = Some(key);
        files.push_str(&v.to_line());
        files.push('\n');
    }
    let import = import_table_for(opts, &local);
    let import_text = crate::model::manifest::pretty(&import);
    let summary_text = crate::model::manifest::pretty(&local.summary);
    put_small_object(
        &ctx,
        &ctx.key(crate::model::manifest::MANIFEST_FILES),
        files.clone().into_bytes(),
        "application/x-ndjson",
    )
    .await?;
    put_small_object(
        &ctx,
        &ctx.key(crate::model::manifest::MANIFEST_SUMMARY),
        summary_text.into_bytes(),
        "application/json",
    )
    .await?;
    put_small_object(
        &ctx,
        &ctx.key(crate::model::manifest::IMPORT_TABLE),
        import_text.clone().into_bytes(),
        "application/json",
    )
    .await?;
    std::fs::write(
        local.dir.join(crate::model::manifest::MANIFEST_FILES),
        files,
    )?;
    ctx.journal.remove();
    std::fs::write(
        local.dir.join(crate::model::manifest::IMPORT_TABLE),
        &import_text,
    )?;
    let mut cmd = String::from("aws dynamodb import-table");
    if let Some(p) = &opts.aws.profile {
        cmd.push_str(&format!(" --profile {}", shell_quote(p)));
    }
    if let Some(r) = &opts.aws.region {
        cmd.push_str(&format!(" --region {}", shell_quote(r)));
    }
    let path = local
        .dir
        .canonicalize()
        .unwrap_or(local.dir.clone())
        .join(crate::model::manifest::IMPORT_TABLE);
    cmd.push_str(&format!(
        " --cli-input-json file://{}",
        shell_quote(&path.display().to_string())
    ));
    report.import_command = cmd;
    report.elapsed_s = started.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_and_quoting() {
        assert_eq!(chunks(10, 4), vec![(0, 4), (4, 4), (8, 2)]);
        assert_eq!(chunks(8, 4), vec![(0, 4), (4, 4)]);
        assert_eq!(chunks(0, 4), vec![(0, 0)]);
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("/tmp/x.json"), "/tmp/x.json");
    }
}

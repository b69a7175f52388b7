//! Where an input's bytes come from. Readers reach an input only through [`InputObject`]: a
//! local file today ([`LocalFile`]); an S3 object, read with ranged GETs, is the next
//! implementation. Every format's needs are covered by three kinds of access: a stream from an
//! offset (CSV and item lines, Arrow IPC streams), byte ranges (Parquet footers and row groups,
//! magic bytes) and a seekable reader (Arrow IPC files).

use crate::hashing::{FileDigests, Wanted};
use base64::Engine;
use bytes::Bytes;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `Read + Seek`, boxed.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// An input's bytes, wherever they are.
pub trait InputObject: Send + Sync + std::fmt::Debug {
    /// How messages name it: a path, or an `s3://` URI.
    fn display(&self) -> String;
    /// The name its format is told by when its bytes do not tell (a file name or an S3 key).
    fn name(&self) -> String;
    /// Its size in bytes.
    fn size(&self) -> u64;
    /// Its bytes from `offset` to the end, in order.
    fn read_from(&self, offset: u64) -> io::Result<Box<dyn Read + Send>>;
    /// `len` bytes at `offset` (fewer only at the end).
    fn read_range(&self, offset: u64, len: usize) -> io::Result<Bytes>;
    /// A reader that can seek anywhere in it.
    fn seekable(&self) -> io::Result<Box<dyn ReadSeek>>;
    /// The local file it is, for the steps that want one (hashing several files in lanes).
    fn local_path(&self) -> Option<&Path> {
        None
    }
    /// The version it was read at, where the store has one (an S3 object's ETag).
    fn etag(&self) -> Option<String> {
        None
    }
    /// Its version id, where the store keeps versions (an object in a versioned S3 bucket),
    /// once it has been read.
    fn version(&self) -> Option<String> {
        None
    }
    /// Its CRC64-NVME (base64) from the bytes the run's reads fetched (the bytes no read
    /// fetched are read now), so a remote input need not be downloaded twice; `None` for an
    /// object that does not take its digest from its reads.
    fn crc64_of_reads(&self) -> io::Result<Option<String>> {
        Ok(None)
    }
    /// The run is done with it: a copy held for its reads (a small S3 object's) is let go.
    fn release(&self) {}
    /// The digest its reads feed, where it takes one ([`crate::input::s3::S3Inputs::digesting_reads`]).
    fn read_digest(&self) -> Option<Arc<crate::input::read_digest::ReadDigest>> {
        None
    }
}

/// A file on a local disk.
#[derive(Debug)]
pub struct LocalFile {
    path: PathBuf,
    size: u64,
}

impl LocalFile {
    /// The file at `path`, checked to be readable. No descriptor is held between reads: a
    /// run may list 50,000 inputs (an import's limit), far more than a process may keep open.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path).map_err(|e| named(path, "cannot open", e))?;
        let size = file
            .metadata()
            .map_err(|e| named(path, "cannot read", e))?
            .len();
        Ok(LocalFile {
            path: path.to_path_buf(),
            size,
        })
    }
}

/// An I/O error that names the file, keeping its kind.
fn named(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

impl InputObject for LocalFile {
    fn display(&self) -> String {
        self.path.display().to_string()
    }

    fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_from(&self, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        let mut f = File::open(&self.path).map_err(|e| named(&self.path, "cannot open", e))?;
        if offset > 0 {
            f.seek(io::SeekFrom::Start(offset))?;
        }
        Ok(Box::new(f))
    }

    fn read_range(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        let len = len.min(self.size.saturating_sub(offset) as usize);
        let mut buf = vec![0u8; len];
        let file = File::open(&self.path).map_err(|e| named(&self.path, "cannot open", e))?;
        read_exact_at(&file, &mut buf, offset).map_err(|e| named(&self.path, "cannot read", e))?;
        Ok(Bytes::from(buf))
    }

    fn seekable(&self) -> io::Result<Box<dyn ReadSeek>> {
        Ok(Box::new(
            File::open(&self.path).map_err(|e| named(&self.path, "cannot open", e))?,
        ))
    }

    fn local_path(&self) -> Option<&Path> {
        Some(&self.path)
    }
}

#[cfg(unix)]
fn read_exact_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    let mut f = f.try_clone()?;
    f.seek(io::SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

/// An input as Parquet's random-access reader wants it.
#[derive(Clone, Debug)]
pub(crate) struct Chunks(pub Arc<dyn InputObject>);

impl parquet::file::reader::Length for Chunks {
    fn len(&self) -> u64 {
        self.0.size()
    }
}

impl parquet::file::reader::ChunkReader for Chunks {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let r = self
            .0
            .read_from(start)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        Ok(Box::new(io::BufReader::new(r)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let b = self
            .0
            .read_range(start, length)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        if b.len() < length {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "{}: {length} bytes asked at {start}, the input ends first",
                self.0.display()
            )));
        }
        Ok(b)
    }
}

/// The digests of an input: [`crate::hashing::file_digests`] for a local file, else streamed
/// through the plain hashers.
pub fn digests(obj: &dyn InputObject, wanted: Wanted) -> anyhow::Result<FileDigests> {
    if let Some(p) = obj.local_path() {
        return crate::hashing::file_digests(p, wanted);
    }
    use md5::Digest;
    let mut r = obj.read_from(0)?;
    let mut m = wanted.md5.then(md5::Md5::new);
    let mut c = wanted.crc64.then(crate::hashing::Crc64::default);
    let mut s = wanted.sha256.then(sha2::Sha256::new);
    let mut buf = vec![0u8; crate::hashing::READ_CHUNK];
    let mut bytes = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("cannot read {}", obj.display())))
            }
        };
        bytes += n as u64;
        if let Some(m) = &mut m {
            m.update(&buf[..n]);
        }
        if let Some(c) = &mut c {
            c.update(&buf[..n]);
        }
        if let Some(s) = &mut s {
            s.update(&buf[..n]);
        }
    }
    Ok(FileDigests {
        md5_base64: m.map(|m| base64::engine::general_purpose::STANDARD.encode(m.finalize())),
        crc64nvme: c.map(|c| c.base64()),
        sha256_hex: s.map(|s| crate::hashing::hex(&s.finalize())),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_file_in_every_kind_of_access() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let f = LocalFile::open(&path).unwrap();
        assert_eq!((f.size(), f.name().as_str()), (10_000, "f.bin"));
        assert_eq!(f.local_path(), Some(path.as_path()));
        let mut v = Vec::new();
        f.read_from(9_990).unwrap().read_to_end(&mut v).unwrap();
        assert_eq!(v, &data[9_990..]);
        assert_eq!(f.read_range(100, 50).unwrap(), &data[100..150]);
        assert_eq!(
            f.read_range(9_995, 50).unwrap(),
            &data[9_995..],
            "short at the end"
        );
        let mut s = f.seekable().unwrap();
        s.seek(io::SeekFrom::End(-3)).unwrap();
        let mut t = Vec::new();
        s.read_to_end(&mut t).unwrap();
        assert_eq!(t, &data[9_997..]);
        let e = LocalFile::open(&dir.path().join("missing")).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }
}

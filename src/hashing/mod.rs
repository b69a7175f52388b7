//! File digests — MD5 as manifests carry it, CRC64-NVME as S3 verifies it ([`crc64`]), and
//! SHA-256 only to check what earlier versions recorded — and MD5 in lanes ([`md5x`]: eight
//! streams at a time, with the `md-5` crate as the plain reference its tests compare
//! against). Below the readers and the part writer, which both hash what they read or write.

use anyhow::{Context, Result};
use base64::Engine;
use sha2::Digest;
use std::fs::File;
use std::path::Path;

pub mod crc64;
#[doc(hidden)]
pub mod lanes;
#[doc(hidden)]
pub mod md5x;

pub use crc64::Crc64;

pub fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &c in b {
        s.push(H[(c >> 4) as usize] as char);
        s.push(H[(c & 15) as usize] as char);
    }
    s
}

/// Which digests of a file to compute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub md5: bool,
    pub crc64: bool,
    /// Only to check a digest an earlier version of prep recorded.
    pub sha256: bool,
}

impl Wanted {
    pub const MD5: Wanted = Wanted {
        md5: true,
        crc64: false,
        sha256: false,
    };
    pub const CRC64: Wanted = Wanted {
        md5: false,
        crc64: true,
        sha256: false,
    };
}

/// Digests of a file's bytes, each only when asked for.
#[derive(Debug)]
pub struct FileDigests {
    /// MD5, base64 (as manifests' md5Checksum).
    pub md5_base64: Option<String>,
    /// CRC64-NVME, base64 (as S3 reports it).
    pub crc64nvme: Option<String>,
    /// SHA-256, hex.
    pub sha256_hex: Option<String>,
    pub bytes: u64,
}

/// The digests of a file; see [`files_digests`].
pub fn file_digests(path: &Path, wanted: Wanted) -> Result<FileDigests> {
    let mut d = files_digests(&[path], wanted)?;
    Ok(d.pop().expect("one file, one result"))
}

/// Bytes read from a file at a time, per hash lane: small enough that the hash finds what the
/// read just copied still in the core's cache (2 MiB reads measured slower).
pub const READ_CHUNK: usize = 256 << 10;

/// A file being hashed in one of [`files_digests`]' lanes.
struct Reading {
    index: usize,
    file: File,
    md5: Option<md5x::Md5>,
    crc: Option<Crc64>,
    sha: Option<sha2::Sha256>,
    bytes: u64,
    buf: Vec<u8>,
    len: usize,
}

/// The digests of each file (in the order given). Up to eight files are read at a time, a chunk
/// of each in turn, so that their MD5s advance together in [`md5x`]'s lanes; a lane whose file
/// ends takes the next file.
pub fn files_digests<P: AsRef<Path>>(paths: &[P], wanted: Wanted) -> Result<Vec<FileDigests>> {
    let mut done: Vec<Option<FileDigests>> = (0..paths.len()).map(|_| None).collect();
    let mut next = 0;
    let mut lanes: [Option<Reading>; lanes::LANES] = Default::default();
    let mut spare: Vec<Vec<u8>> = Vec::new();
    loop {
        for lane in lanes.iter_mut().filter(|l| l.is_none()) {
            let Some(path) = paths.get(next) else { break };
            let path = path.as_ref();
            let file =
                File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            *lane = Some(Reading {
                index: next,
                file,
                md5: wanted.md5.then(md5x::Md5::default),
                crc: wanted.crc64.then(Crc64::default),
                sha: wanted.sha256.then(sha2::Sha256::new),
                bytes: 0,
                buf: spare.pop().unwrap_or_else(|| vec![0u8; READ_CHUNK]),
                len: 0,
            });
            next += 1;
        }
        if lanes.iter().all(Option::is_none) {
            break;
        }
        for r in lanes.iter_mut().flatten() {
            r.len = read_full(&mut r.file, &mut r.buf)
                .with_context(|| format!("cannot read {}", paths[r.index].as_ref().display()))?;
            r.bytes += r.len as u64;
            if let Some(c) = &mut r.crc {
                c.update(&r.buf[..r.len]);
            }
            if let Some(s) = &mut r.sha {
                s.update(&r.buf[..r.len]);
            }
        }
        let mut it = lanes.iter_mut();
        md5x::update(std::array::from_fn(|_| {
            let r = it.next()?.as_mut()?;
            Some((r.md5.as_mut()?, &r.buf[..r.len]))
        }));
        for lane in lanes.iter_mut() {
            let Some(r) = lane else { continue };
            if r.len < r.buf.len() {
                // The end of this file.
                let r = lane.take().expect("checked");
                done[r.index] = Some(FileDigests {
                    md5_base64: r
                        .md5
                        .map(|m| base64::engine::general_purpose::STANDARD.encode(m.finish())),
                    crc64nvme: r.crc.map(|c| c.base64()),
                    sha256_hex: r.sha.map(|h| hex(&h.finalize())),
                    bytes: r.bytes,
                });
                spare.push(r.buf);
            }
        }
    }
    Ok(done
        .into_iter()
        .map(|d| d.expect("every file read"))
        .collect())
}

/// Fill `buf` unless the file ends first; the bytes read.
fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match std::io::Read::read(f, &mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Md5;
    use sha2::Sha256;

    /// Many files at once (more than the lanes, of different lengths, so lanes take new files
    /// as theirs end): each file's digests, in the order given.
    #[test]
    fn files_digests_hash_each_file_in_its_lane() {
        let dir = tempfile::tempdir().unwrap();
        let lens = [
            READ_CHUNK * 2 + 3,
            0,
            10,
            READ_CHUNK,
            5 << 20,
            1,
            READ_CHUNK - 1,
            64,
        ];
        let mut paths = Vec::new();
        let mut want = Vec::new();
        for (k, len) in lens.into_iter().enumerate() {
            let data: Vec<u8> = (0..len).map(|i| (i * 13 + k * 101) as u8).collect();
            let path = dir.path().join(format!("f{k}"));
            std::fs::write(&path, &data).unwrap();
            paths.push(path);
            want.push((
                base64::engine::general_purpose::STANDARD.encode(Md5::digest(&data)),
                hex(&Sha256::digest(&data)),
                Crc64::of(&data).base64(),
                len as u64,
            ));
        }
        let all = Wanted {
            md5: true,
            crc64: true,
            sha256: true,
        };
        let got = files_digests(&paths, all).unwrap();
        assert_eq!(got.len(), want.len());
        for (g, (m, s, c, n)) in got.iter().zip(&want) {
            assert_eq!(g.md5_base64.as_ref(), Some(m));
            assert_eq!(g.sha256_hex.as_ref(), Some(s));
            assert_eq!(g.crc64nvme.as_ref(), Some(c));
            assert_eq!(g.bytes, *n);
        }
        let err = files_digests(&[dir.path().join("missing")], all).unwrap_err();
        assert!(format!("{err:#}").contains("missing"), "{err:#}");
    }

    /// Whichever digests are asked for, over files of several read chunks, empty ones too.
    #[test]
    fn file_digests_are_those_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 5, (9 << 20) + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let path = dir.path().join(format!("{len}"));
            std::fs::write(&path, &data).unwrap();
            let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&data));
            let sha = hex(&Sha256::digest(&data));
            let crc = Crc64::of(&data).base64();
            for k in 1..8u8 {
                let w = Wanted {
                    md5: k & 1 != 0,
                    crc64: k & 2 != 0,
                    sha256: k & 4 != 0,
                };
                let d = file_digests(&path, w).unwrap();
                assert_eq!(d.md5_base64, w.md5.then(|| md5.clone()), "{len}");
                assert_eq!(d.crc64nvme, w.crc64.then(|| crc.clone()), "{len}");
                assert_eq!(d.sha256_hex, w.sha256.then(|| sha.clone()), "{len}");
                assert_eq!(d.bytes, len as u64);
            }
        }
    }
}

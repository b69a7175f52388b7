//! File digests (MD5 as manifests carry it, SHA-256) and the hashes in lanes behind them: MD5
//! eight streams at a time ([`md5x`]) and SHA-256 four at a time ([`sha256x`]), each with the
//! `md-5` / `sha2` crates as the plain reference its tests compare against. Below the readers and
//! the part writer, which both hash what they read or write.

use anyhow::{Context, Result};
use base64::Engine;
use std::fs::File;
use std::path::Path;

#[doc(hidden)]
pub mod lanes;
#[doc(hidden)]
pub mod md5x;
#[doc(hidden)]
pub mod sha256x;

pub fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &c in b {
        s.push(H[(c >> 4) as usize] as char);
        s.push(H[(c & 15) as usize] as char);
    }
    s
}

/// Digests of a file's bytes, each only when asked for.
#[derive(Debug)]
pub struct FileDigests {
    /// MD5, base64 (as manifests' md5Checksum).
    pub md5_base64: Option<String>,
    /// SHA-256, hex.
    pub sha256_hex: Option<String>,
    pub bytes: u64,
}

/// The MD5 and/or SHA-256 of a file; see [`files_digests`].
pub fn file_digests(path: &Path, md5: bool, sha256: bool) -> Result<FileDigests> {
    let mut d = files_digests(&[path], md5, sha256)?;
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
    sha: Option<sha256x::Sha256>,
    bytes: u64,
    buf: Vec<u8>,
    len: usize,
}

/// The MD5 and/or SHA-256 of each file (in the order given). Up to eight files are read at a
/// time, a chunk of each in turn, so that their digests advance together in [`md5x`]'s and
/// [`sha256x`]'s lanes; a lane whose file ends takes the next file.
pub fn files_digests<P: AsRef<Path>>(
    paths: &[P],
    md5: bool,
    sha256: bool,
) -> Result<Vec<FileDigests>> {
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
                md5: md5.then(md5x::Md5::default),
                sha: sha256.then(sha256x::Sha256::default),
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
        }
        let mut it = lanes.iter_mut();
        md5x::update(std::array::from_fn(|_| {
            let r = it.next()?.as_mut()?;
            Some((r.md5.as_mut()?, &r.buf[..r.len]))
        }));
        let mut it = lanes.iter_mut();
        sha256x::update(std::array::from_fn(|_| {
            let r = it.next()?.as_mut()?;
            Some((r.sha.as_mut()?, &r.buf[..r.len]))
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
                    sha256_hex: r.sha.map(|h| hex(&h.finish())),
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

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    Ok(file_digests(path, false, true)?
        .sha256_hex
        .expect("asked for"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};
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
                len as u64,
            ));
        }
        let got = files_digests(&paths, true, true).unwrap();
        assert_eq!(got.len(), want.len());
        for (g, (m, s, n)) in got.iter().zip(&want) {
            assert_eq!(g.md5_base64.as_ref(), Some(m));
            assert_eq!(g.sha256_hex.as_ref(), Some(s));
            assert_eq!(g.bytes, *n);
        }
        let err = files_digests(&[dir.path().join("missing")], true, true).unwrap_err();
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
            for (m, h) in [(true, true), (true, false), (false, true)] {
                let d = file_digests(&path, m, h).unwrap();
                assert_eq!(d.md5_base64, m.then(|| md5.clone()), "{len}");
                assert_eq!(d.sha256_hex, h.then(|| sha.clone()), "{len}");
                assert_eq!(d.bytes, len as u64);
            }
            assert_eq!(sha256_file(&path).unwrap(), sha);
        }
    }
}

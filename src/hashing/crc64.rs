//! CRC64-NVME, the full-object checksum S3 verifies end to end (multipart uploads included)
//! and prep records for every part and input. The `crc-fast` crate computes it with carry-less
//! multiplication; a digest keeps its length, so the digests of adjacent ranges combine into
//! the digest of both, in whatever order the ranges were read.

use crc_fast::CrcAlgorithm::Crc64Nvme;

/// The CRC64-NVME of the bytes so far, with their count.
#[derive(Clone, Copy, Debug)]
pub struct Crc64(crc_fast::Digest);

impl Default for Crc64 {
    fn default() -> Self {
        Crc64(crc_fast::Digest::new(Crc64Nvme))
    }
}

impl Crc64 {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Crc64 {
        let mut c = Crc64::default();
        c.update(data);
        c
    }

    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Append the bytes `next` was taken over, as if they had followed these.
    pub fn append(&mut self, next: &Crc64) {
        self.0.combine(&next.0);
    }

    /// How many bytes went in.
    pub fn len(&self) -> u64 {
        self.0.get_amount()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn value(&self) -> u64 {
        self.0.finalize()
    }

    /// As S3 writes it (`x-amz-checksum-crc64nvme`) and manifests carry it.
    pub fn base64(&self) -> String {
        base64(self.value())
    }
}

/// A CRC64-NVME as S3 writes it: the base64 of its eight big-endian bytes.
pub fn base64(value: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(value.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue's check value, and ranges combined equal the whole at every split.
    #[test]
    fn check_value_and_ranges_combine() {
        assert_eq!(Crc64::of(b"123456789").value(), 0xAE8B_1486_0A79_9888);
        assert_eq!(Crc64::of(b"").value(), 0);
        for n in [1, 7, 8, 15, 16, 17, 255, 256, 257, 4096, 65_537] {
            let data = crate::hashing::lanes::testing::bytes(n, n as u64);
            assert_eq!(
                Crc64::of(&data).base64(),
                crate::testing::crc64nvme(&data),
                "{n}"
            );
        }
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
        let whole = Crc64::of(&data);
        for cut in [0, 1, 63, 64, 65, 2500, 4999, 5000] {
            let mut a = Crc64::of(&data[..cut]);
            a.append(&Crc64::of(&data[cut..]));
            assert_eq!((a.value(), a.len()), (whole.value(), 5000), "cut {cut}");
        }
        assert_eq!(base64(0xAE8B_1486_0A79_9888), "rosUhgp5mIg=");
    }
}

//! CRC64-NVME bit by bit: the plain reference for prep's digests (the `crc-fast` crate's), kept
//! apart so that the CLI tests can use it without the rest of the references.

/// CRC64-NVME bit by bit (reflected polynomial 0x9A6C9329AC4BC9B5, all-ones start and final
/// xor), as S3 writes it: the base64 of its big-endian bytes.
pub fn crc64nvme(data: &[u8]) -> String {
    use base64::Engine;
    let mut crc = !0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x9A6C_9329_AC4B_C9B5
            } else {
                crc >> 1
            };
        }
    }
    base64::engine::general_purpose::STANDARD.encode((!crc).to_be_bytes())
}

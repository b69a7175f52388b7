//! Several independent hash streams advanced together. A Merkle–Damgård hash (MD5) is one
//! chain of dependent block steps, so one stream leaves most of a core's execution units idle;
//! [`md5x`](super::md5x) runs eight MD5 streams in the lanes of a SIMD register for about the
//! price of one. This module holds the streams' unfinished blocks, their lengths and the
//! padding, apart from the block function.

/// Streams hashed together: eight MD5s fill a 256-bit register. (Sixteen would fill AVX-512's,
/// but gained little on CPUs that run 512-bit operations as two halves, and would need sixteen
/// parts open, each with its stage and waiting batches.)
pub const LANES: usize = 8;

/// A block function over up to [`LANES`] streams at once.
pub trait Blocks {
    /// The chaining state of one stream.
    type State: Copy;
    /// The digest of one stream.
    type Digest;
    const INIT: Self::State;
    /// Whether the padding's bit length is big-endian (SHA-2) rather than little-endian (MD5).
    const LENGTH_BE: bool;

    /// `blocks` 64-byte blocks of each live lane's input: `data[l]` holds at least `blocks * 64`
    /// bytes where `live[l]`; the other lanes' states are left as they are.
    fn compress_lanes(
        state: &mut [Self::State; LANES],
        data: &[&[u8]; LANES],
        live: &[bool; LANES],
        blocks: usize,
    );

    fn digest(state: &Self::State) -> Self::Digest;
}

/// One stream: the chaining state, bytes not yet a whole block, and the length so far.
pub struct Stream<B: Blocks> {
    state: B::State,
    carry: [u8; 64],
    carry_len: usize,
    total: u64,
}

impl<B: Blocks> Clone for Stream<B> {
    fn clone(&self) -> Self {
        Stream {
            state: self.state,
            carry: self.carry,
            carry_len: self.carry_len,
            total: self.total,
        }
    }
}

impl<B: Blocks> Default for Stream<B> {
    fn default() -> Self {
        Stream {
            state: B::INIT,
            carry: [0; 64],
            carry_len: 0,
            total: 0,
        }
    }
}

impl<B: Blocks> Stream<B> {
    /// The digest: the padding and length go through the same block function.
    pub fn finish(mut self) -> B::Digest {
        let bits = self.total.wrapping_mul(8);
        let mut tail = [0u8; 128];
        let n = self.carry_len;
        tail[..n].copy_from_slice(&self.carry[..n]);
        tail[n] = 0x80;
        let len = if n < 56 { 64 } else { 128 };
        tail[len - 8..len].copy_from_slice(&if B::LENGTH_BE {
            bits.to_be_bytes()
        } else {
            bits.to_le_bytes()
        });
        let mut state = [self.state; LANES];
        let data: [&[u8]; LANES] = std::array::from_fn(|_| &tail[..len]);
        B::compress_lanes(
            &mut state,
            &data,
            &std::array::from_fn(|l| l == 0),
            len / 64,
        );
        self.state = state[0];
        B::digest(&self.state)
    }
}

/// Append to one stream (the other lanes idle).
pub fn update_one<B: Blocks>(s: &mut Stream<B>, data: &[u8]) {
    let mut streams: [Option<(&mut Stream<B>, &[u8])>; LANES] = Default::default();
    streams[0] = Some((s, data));
    update(streams);
}

/// Append `data[l]` to stream `l`, for every lane that has one. All lanes advance in the same
/// steps, so the work is that of the longest input; callers give lanes inputs of similar
/// length.
pub fn update<B: Blocks>(streams: [Option<(&mut Stream<B>, &[u8])>; LANES]) {
    let mut st: [Option<&mut Stream<B>>; LANES] = Default::default();
    let mut rest: [&[u8]; LANES] = [&[]; LANES];
    for (l, s) in streams.into_iter().enumerate() {
        if let Some((m, d)) = s {
            m.total += d.len() as u64;
            st[l] = Some(m);
            rest[l] = d;
        }
    }
    // Complete the blocks begun by earlier inputs.
    let mut carried: [Option<[u8; 64]>; LANES] = [None; LANES];
    for l in 0..LANES {
        let Some(m) = st[l].as_deref_mut() else {
            continue;
        };
        if m.carry_len > 0 {
            let take = (64 - m.carry_len).min(rest[l].len());
            m.carry[m.carry_len..m.carry_len + take].copy_from_slice(&rest[l][..take]);
            m.carry_len += take;
            rest[l] = &rest[l][take..];
            if m.carry_len == 64 {
                carried[l] = Some(m.carry);
                m.carry_len = 0;
            }
        }
    }
    if carried.iter().any(Option::is_some) {
        let blocks: [&[u8]; LANES] =
            std::array::from_fn(|l| carried[l].as_ref().map_or(&[][..], |b| &b[..]));
        run(&mut st, blocks);
    }
    // Whole blocks, then keep the tail for next time.
    let whole: [&[u8]; LANES] = std::array::from_fn(|l| {
        let n = rest[l].len() / 64 * 64;
        &rest[l][..n]
    });
    run(&mut st, whole);
    for l in 0..LANES {
        if let Some(m) = st[l].as_deref_mut() {
            // Empty when an unfinished carry took all of this input.
            let tail = &rest[l][whole[l].len()..];
            m.carry[m.carry_len..m.carry_len + tail.len()].copy_from_slice(tail);
            m.carry_len += tail.len();
        }
    }
}

/// Whole blocks for each lane (lengths multiples of 64, possibly different): the lanes run
/// together for as many blocks as the shortest non-empty one holds, then the rest again.
fn run<B: Blocks>(st: &mut [Option<&mut Stream<B>>; LANES], mut blocks: [&[u8]; LANES]) {
    loop {
        let Some(n) = blocks
            .iter()
            .filter(|b| !b.is_empty())
            .map(|b| b.len())
            .min()
        else {
            return;
        };
        let live: [bool; LANES] = std::array::from_fn(|l| !blocks[l].is_empty());
        let mut state: [B::State; LANES] = std::array::from_fn(|l| match &st[l] {
            Some(m) => m.state,
            None => B::INIT,
        });
        B::compress_lanes(&mut state, &blocks, &live, n / 64);
        for l in 0..LANES {
            if live[l] {
                st[l]
                    .as_deref_mut()
                    .expect("a live lane has a stream")
                    .state = state[l];
                blocks[l] = &blocks[l][n..];
            }
        }
    }
}

/// What the lane tests of every block function share.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Deterministic bytes (xorshift), so failures reproduce.
    pub(crate) fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut next = crate::testing::xorshift(seed | 1);
        (0..n).map(|_| next() as u8).collect()
    }

    /// Streams fed in pieces of uneven, unaligned lengths, with lanes sitting out at times (so
    /// every count of live lanes runs), give `reference`'s digests at every length around the
    /// block and padding edges.
    pub(crate) fn lanes_match_at_every_split<B: Blocks>(reference: fn(&[u8]) -> B::Digest)
    where
        B::Digest: PartialEq + std::fmt::Debug,
    {
        for n in [
            0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 4096, 65_537,
        ] {
            let data: Vec<Vec<u8>> = (0..LANES)
                .map(|l| bytes(n + 7 * l, (n * 4 + l) as u64))
                .collect();
            for cut in [1usize, 3, 64, 100, 777] {
                let mut ms: Vec<Stream<B>> = vec![Stream::default(); LANES];
                let mut at = [0usize; LANES];
                let mut round = 0;
                while (0..LANES).any(|l| at[l] < data[l].len()) {
                    let mut it = ms.iter_mut();
                    let args: [Option<(&mut Stream<B>, &[u8])>; LANES] = std::array::from_fn(|l| {
                        let m = it.next().unwrap();
                        // Lane l sits out every (l + 2)-th round.
                        if at[l] >= data[l].len() || (round + l) % (l + 2) == 0 {
                            return None;
                        }
                        let len = (cut * (l + 1)).min(data[l].len() - at[l]);
                        let piece = &data[l][at[l]..at[l] + len];
                        at[l] += len;
                        Some((m, piece))
                    });
                    update(args);
                    round += 1;
                }
                for (l, m) in ms.into_iter().enumerate() {
                    assert_eq!(m.finish(), reference(&data[l]), "n={n} cut={cut} lane={l}");
                }
            }
        }
    }
}

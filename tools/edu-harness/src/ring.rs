//! A model of the device's ring, as the I/O contract describes it.
//!
//! Byte `i` of a transfer starting at offset `start` maps to device offset
//! `(start + i) % ring`, where `ring` is `DeviceInfo::buffer_size`: 4096, or less when the
//! driver's `UsableRingBytes` parameter shortens it (QEMU <= 8.2.0; see `edu_api`). The model remembers which bytes it knows: the buffer
//! survives driver reloads and guest reboots, so at the start of a run nothing is known.

use core::fmt;

/// Size of the whole device buffer, as an index type (the longest ring).
pub const RING: usize = edu_api::DEVICE_BUFFER_SIZE as usize;

/// What the harness knows about the device buffer.
#[derive(Clone, PartialEq, Eq)]
pub struct RingModel {
    /// Ring length.
    len: usize,
    /// Expected contents.
    bytes: Vec<u8>,
    /// Whether each byte's contents are known.
    known: Vec<bool>,
}

/// The first byte a read returned that the model did not expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Index in the transfer.
    pub index: usize,
    /// Device offset of that byte.
    pub offset: usize,
    /// The model's byte.
    pub expected: u8,
    /// The byte returned.
    pub actual: u8,
    /// How many bytes differed in total.
    pub count: usize,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "byte {} (device offset {}) is 0x{:02X}, expected 0x{:02X}; {} byte(s) differ",
            self.index, self.offset, self.actual, self.expected, self.count
        )
    }
}

impl fmt::Debug for RingModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = self.known.iter().filter(|&&k| k).count();
        write!(f, "RingModel {{ known: {known}/{} }}", self.len)
    }
}

impl Default for RingModel {
    fn default() -> Self {
        Self::new()
    }
}

impl RingModel {
    /// A model of a 4096-byte ring that knows nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::with_len(RING)
    }

    /// A model of a ring of `len` bytes (at least 1) that knows nothing.
    #[must_use]
    pub fn with_len(len: usize) -> Self {
        let len = len.max(1);
        Self {
            len,
            bytes: vec![0; len],
            known: vec![false; len],
        }
    }

    /// The ring length.
    #[must_use]
    pub const fn ring_len(&self) -> usize {
        self.len
    }

    /// Records a completed write of `data` starting at device offset `start`: the last byte
    /// written to each offset wins.
    pub fn write(&mut self, start: usize, data: &[u8]) {
        // Only the last ring-length bytes can survive; skip the rest to keep huge writes cheap.
        let skip = data.len().saturating_sub(self.len);
        for (i, &byte) in data.iter().enumerate().skip(skip) {
            let offset = (start + i) % self.len;
            if let (Some(slot), Some(known)) =
                (self.bytes.get_mut(offset), self.known.get_mut(offset))
            {
                *slot = byte;
                *known = true;
            }
        }
    }

    /// Forgets the bytes a transfer of `len` bytes from `start` may have touched (a write that
    /// was cancelled or failed part-way).
    pub fn forget(&mut self, start: usize, len: usize) {
        for i in 0..len.min(self.len) {
            if let Some(known) = self.known.get_mut((start + i) % self.len) {
                *known = false;
            }
        }
    }

    /// What a read of `len` bytes from `start` returns, where known (`None` where not).
    #[must_use]
    pub fn expected(&self, start: usize, len: usize) -> Vec<Option<u8>> {
        (0..len)
            .map(|i| {
                let offset = (start + i) % self.len;
                match (self.known.get(offset), self.bytes.get(offset)) {
                    (Some(true), Some(&byte)) => Some(byte),
                    _ => None,
                }
            })
            .collect()
    }

    /// Whether every byte a read of `len` bytes from `start` returns is known.
    #[must_use]
    pub fn all_known(&self, start: usize, len: usize) -> bool {
        (0..len.min(self.len)).all(|i| {
            self.known
                .get((start + i) % self.len)
                .copied()
                .unwrap_or(false)
        })
    }

    /// Compares the data a read from `start` returned with the model, byte for byte, skipping
    /// unknown bytes.
    ///
    /// # Errors
    /// The first differing byte, with the total number of differing bytes.
    pub fn check(&self, start: usize, actual: &[u8]) -> Result<(), Mismatch> {
        let mut first: Option<Mismatch> = None;
        let mut count = 0;
        for (index, &got) in actual.iter().enumerate() {
            let offset = (start + index) % self.len;
            if let (Some(true), Some(&want)) = (self.known.get(offset), self.bytes.get(offset))
                && want != got
            {
                count += 1;
                if first.is_none() {
                    first = Some(Mismatch {
                        index,
                        offset,
                        expected: want,
                        actual: got,
                        count: 0,
                    });
                }
            }
        }
        first.map_or(Ok(()), |m| Err(Mismatch { count, ..m }))
    }
}

/// The smallest number of device commands a transfer of `len` bytes from `start` needs in a
/// ring of `ring` bytes: each command moves at most `ring` bytes and cannot run past its end.
#[must_use]
pub const fn min_fragments(start: usize, len: usize, ring: usize) -> u64 {
    if len == 0 || ring == 0 {
        return 0;
    }
    let span = (start % ring) + len;
    span.div_ceil(ring) as u64
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_ring_wraps_at_its_own_length() {
        let mut ring = RingModel::with_len(4095);
        assert_eq!(ring.ring_len(), 4095);
        ring.write(4094, &[1, 2, 3]);
        assert_eq!(ring.expected(4094, 3), vec![Some(1), Some(2), Some(3)]);
        assert_eq!(ring.expected(0, 2), vec![Some(2), Some(3)]);
        assert!(ring.check(4094, &[1, 2, 3]).is_ok());
        assert!(ring.check(0, &[2, 4]).is_err());
    }

    #[test]
    fn long_write_leaves_the_last_4096_bytes() {
        let mut ring = RingModel::new();
        let data: Vec<u8> = (0..RING + 10)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        ring.write(0, &data);
        // Offset k holds the last byte written to k: for k < 10 that is data[RING + k].
        assert_eq!(ring.expected(0, 1), vec![Some(data[RING])]);
        assert_eq!(ring.expected(9, 1), vec![Some(data[RING + 9])]);
        assert_eq!(ring.expected(10, 1), vec![Some(data[10])]);
        assert!(ring.all_known(0, RING));
    }

    #[test]
    fn long_read_repeats_the_buffer() {
        let mut ring = RingModel::new();
        let data: Vec<u8> = (0..RING)
            .map(|i| u8::try_from(i * 7 % 256).unwrap())
            .collect();
        ring.write(0, &data);
        let expected = ring.expected(0, 2 * RING + 3);
        assert_eq!(expected[RING], Some(data[0]));
        assert_eq!(expected[2 * RING + 2], Some(data[2]));
    }

    #[test]
    fn offsets_wrap_around() {
        let mut ring = RingModel::new();
        ring.write(4095, &[1, 2, 3]);
        assert_eq!(ring.expected(4095, 3), vec![Some(1), Some(2), Some(3)]);
        assert_eq!(ring.expected(0, 2), vec![Some(2), Some(3)]);
        assert_eq!(ring.expected(2, 1), vec![None]);
    }

    #[test]
    fn check_reports_the_first_difference_and_the_count() {
        let mut ring = RingModel::new();
        ring.write(0, &[1, 2, 3, 4]);
        assert_eq!(
            ring.check(0, &[1, 2, 3, 4, 99]),
            Ok(()),
            "unknown bytes are not compared"
        );
        let err = ring.check(0, &[1, 0, 3, 0]).unwrap_err();
        assert_eq!(
            (err.index, err.offset, err.expected, err.actual, err.count),
            (1, 1, 2, 0, 2)
        );
    }

    #[test]
    fn forget_makes_bytes_unknown() {
        let mut ring = RingModel::new();
        ring.write(0, &[5; 16]);
        ring.forget(4, 4);
        assert!(!ring.all_known(0, 16));
        assert!(ring.all_known(0, 4));
        assert_eq!(ring.expected(4, 1), vec![None]);
    }

    #[test]
    fn fragments_count_ring_segments() {
        assert_eq!(min_fragments(0, 0, RING), 0);
        assert_eq!(min_fragments(0, 1, RING), 1);
        assert_eq!(min_fragments(0, 4096, RING), 1);
        assert_eq!(min_fragments(0, 4097, RING), 2);
        assert_eq!(min_fragments(4095, 2, RING), 2);
        assert_eq!(min_fragments(0, 1 << 20, RING), 256);
        // A 4095-byte ring (UsableRingBytes on QEMU <= 8.2.0).
        assert_eq!(min_fragments(0, 4096, 4095), 2);
        assert_eq!(min_fragments(4094, 1, 4095), 1);
        assert_eq!(min_fragments(4094, 2, 4095), 2);
    }
}

//! Device models driven by the simulator engine.
//!
//! Every model here is a pure, deterministic state machine. It knows nothing about the engine's
//! event queue, virtual clock or interrupt controller: the engine calls a model (an MMIO access, a
//! timer that the model asked for has expired, a configuration change) and the model answers by
//! pushing [`Effect`]s into a vector the engine passes in. Memory is reached only through the
//! [`DmaBus`] trait, with bus (physical) addresses, so the engine decides what memory exists.
//!
//! * [`edu`]: QEMU's `edu` teaching device, register-exact (bus-master DMA profile).
//! * [`sysdma`]: a small platform DMA controller plus a FIFO peripheral, invented for the
//!   system-mode DMA profile (no real product).
//!
//! Nothing here reads a wall clock or draws random numbers; faults are injected explicitly by the
//! caller, which owns the seed.

pub mod edu;
pub mod sysdma;

use core::fmt;

/// Memory as a bus-master device or a DMA controller sees it: bus (physical) addresses.
pub trait DmaBus {
    /// Reads `buf.len()` bytes at bus address `addr`.
    ///
    /// # Errors
    ///
    /// [`BusFault`] if any byte is not backed by memory.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), BusFault>;

    /// Writes `data` at bus address `addr`.
    ///
    /// # Errors
    ///
    /// [`BusFault`] if any byte is not backed by memory.
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), BusFault>;
}

/// An access to an address with no memory behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusFault {
    /// The first bus address of the access that has no memory behind it.
    pub addr: u64,
}

impl fmt::Display for BusFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no memory at bus address {:#x}", self.addr)
    }
}

impl std::error::Error for BusFault {}

/// What a model asks the engine to do after a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Call the model's `timer_fired(token)` after `delay_ns` of virtual time.
    ArmTimer {
        /// Opaque value handed back to the model when the timer fires.
        token: u64,
        /// Virtual time from now until the timer fires, in nanoseconds.
        delay_ns: u64,
    },
    /// Cancel a timer armed with that token (if still pending).
    CancelTimer {
        /// The token the timer was armed with.
        token: u64,
    },
    /// Drive the `INTx` line (level-triggered) high.
    IntxAssert,
    /// Drive the `INTx` line low.
    IntxDeassert,
    /// Send one MSI message (vector 0).
    Msi,
}

/// Events a model's log keeps at least: the most recent ones.
///
/// The log holds between this many and twice this many events, so a long run's logs stay bounded while a test still sees every
/// event of the requests it is looking at.
pub const LOG_KEEP: usize = 4096;

/// Appends an event to a model's log, forgetting the oldest [`LOG_KEEP`] events once it holds
/// twice that many (amortised O(1) per event).
pub(crate) fn log_event<T>(log: &mut Vec<T>, event: T) {
    if log.len() >= 2 * LOG_KEEP {
        log.drain(..LOG_KEEP);
    }
    log.push(event);
}

/// A sparse, byte-granular memory for the models' unit tests.
#[cfg(test)]
mod test_support {
    use std::collections::BTreeMap;

    use super::{BusFault, DmaBus};

    /// Bus memory made of explicitly backed ranges; everything else faults.
    #[derive(Default)]
    pub(super) struct TestMemory {
        bytes: BTreeMap<u64, u8>,
    }

    impl TestMemory {
        /// Backs `len` bytes at `addr`, filled with zeros.
        pub(super) fn back(&mut self, addr: u64, len: u64) {
            for a in addr..addr + len {
                self.bytes.insert(a, 0);
            }
        }

        /// Backs memory at `addr` holding `data`.
        pub(super) fn fill(&mut self, addr: u64, data: &[u8]) {
            for (a, b) in (addr..).zip(data) {
                self.bytes.insert(a, *b);
            }
        }

        /// Reads `len` backed bytes at `addr` (panics if not backed).
        pub(super) fn get(&self, addr: u64, len: u64) -> Vec<u8> {
            (addr..addr + len).map(|a| self.bytes[&a]).collect()
        }
    }

    impl DmaBus for TestMemory {
        fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), BusFault> {
            for (a, slot) in (addr..).zip(buf.iter_mut()) {
                *slot = *self.bytes.get(&a).ok_or(BusFault { addr: a })?;
            }
            Ok(())
        }

        fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), BusFault> {
            // Check first so that a faulting write changes nothing.
            for a in (addr..).take(data.len()) {
                if !self.bytes.contains_key(&a) {
                    return Err(BusFault { addr: a });
                }
            }
            for (a, b) in (addr..).zip(data) {
                self.bytes.insert(a, *b);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::{LOG_KEEP, log_event};

    #[test]
    fn a_log_keeps_its_most_recent_events_and_stays_bounded() {
        let mut log = Vec::new();
        let total = 5 * LOG_KEEP + 7;
        for event in 0..total {
            log_event(&mut log, event);
            assert!(log.len() <= 2 * LOG_KEEP, "after {event}: {}", log.len());
        }
        assert!(log.len() >= LOG_KEEP);
        // The newest events, oldest first, none missing in between.
        let first = total - log.len();
        assert!(log.iter().copied().eq(first..total));
        assert!(
            log.capacity() <= 4 * LOG_KEEP,
            "capacity {}",
            log.capacity()
        );
    }
}

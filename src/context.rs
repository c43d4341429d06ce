//! The device context and the state behind it.

use kmdf_safe::atomic::{AtomicBool, AtomicU32, AtomicU64};

use edu_api::Statistics;

use kmdf_safe::declare_context;
use kmdf_safe::dma::{BusMaster, ChannelCore, DmaChannel, DmaEnabler, SystemMode};
use kmdf_safe::interrupt::Interrupt;
use kmdf_safe::mmio::Bar;
use kmdf_safe::request::{CancelRendezvous, Queue};
use kmdf_safe::sync::SpinLock;
use kmdf_safe::timer::Timer;
use kmdf_safe::{Device, Error, HardwareSlot};

/// Per-device state, the context of the WDFDEVICE.
pub struct DeviceContext {
    /// The device.
    pub device: Device,
    /// The default queue (sequential: the device runs one DMA command at a time).
    pub queue: Queue,
    /// The watchdog of the request in flight (one timer, re-armed while transfers progress).
    pub watchdog: Timer,
    /// `EvtProgramDma` parked a command and armed the watchdog at the recovery period, which
    /// the request's start must not override (an atomic: read once per request, no lock).
    pub recovery_armed: AtomicBool,
    /// What the ISR recorded for the DPC (atomics: no lock on the per-transfer path).
    pub isr: IsrRecord,
    /// Registers, interrupt and DMA objects, while the hardware is prepared.
    pub hw: HardwareSlot<Hardware>,
    /// The operation in flight and the statistics.
    pub io: SpinLock<IoState>,
    /// What the registry configured (read in `EvtDriverDeviceAdd`).
    pub params: crate::params::Parameters,
}
declare_context!(DeviceContext);

impl DeviceContext {
    /// Length of the device's ring: the prepared hardware's, else the configured edu ring.
    #[must_use]
    pub fn ring_len(&self) -> usize {
        self.hw
            .get()
            .map_or(self.params.usable_ring_bytes, |hw| hw.ring)
    }
}

/// What exists while the hardware is prepared.
pub struct Hardware {
    /// The register BAR.
    pub bar: Bar,
    /// How the device moves data.
    pub personality: Personality,
    /// Length of the ring in the device buffer: edu's usable part (`UsableRingBytes`), or
    /// the FIFO peripheral's whole ring.
    pub ring: usize,
}

/// The device's DMA personality, chosen from its resources in prepare-hardware.
pub enum Personality {
    /// The edu device's own bus-master engine.
    BusMaster {
        /// Packet-profile enabler, 28-bit addresses, 4 KiB transfers.
        enabler: DmaEnabler,
        /// The reusable transaction.
        channel: DmaChannel<BusMaster>,
        /// The device interrupt.
        interrupt: Interrupt<IsrState>,
        /// Whether the interrupt is message-signalled.
        msi: bool,
    },
    /// A FIFO peripheral served by a platform DMA controller.
    System {
        /// System-profile enabler.
        enabler: DmaEnabler,
        /// The reusable transaction.
        channel: DmaChannel<SystemMode>,
    },
}

impl Personality {
    /// The channel, whatever the personality.
    #[must_use]
    pub fn channel(&self) -> &ChannelCore {
        match self {
            Self::BusMaster { channel, .. } => channel,
            Self::System { channel, .. } => channel,
        }
    }

    /// The enabler.
    #[must_use]
    pub const fn enabler(&self) -> &DmaEnabler {
        match self {
            Self::BusMaster { enabler, .. } | Self::System { enabler, .. } => enabler,
        }
    }
}

/// What the ISR leaves for the DPC.
#[derive(Default)]
pub struct IsrRecord {
    /// Interrupt causes acknowledged and not yet handled.
    pub causes: AtomicU32,
    /// Interrupts claimed since the DPC last ran.
    pub claimed: AtomicU64,
}

/// The interrupt object's lock-protected state: none (the record above is atomic; the lock
/// still serialises the watchdog's register access with the ISR).
#[derive(Default)]
pub struct IsrState;
declare_context!(IsrState);

/// Kinds of DMA operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// `ReadFile` or `IOCTL_EDU_DMA_READ_AT`.
    Read,
    /// `WriteFile` or `IOCTL_EDU_DMA_WRITE_AT`.
    Write,
    /// First half of `IOCTL_EDU_LOOPBACK`: input to the device.
    LoopbackWrite,
    /// Second half of `IOCTL_EDU_LOOPBACK`: the device back to the output.
    LoopbackRead,
}

/// The DMA operation in flight.
#[derive(Clone, Copy, Debug)]
pub struct Op {
    /// What it does.
    pub kind: OpKind,
    /// Ring position of its first byte.
    pub base: u32,
    /// Bytes the request asks to move.
    pub length: usize,
}

/// The transfer the device is working on.
#[derive(Clone, Copy, Debug)]
pub struct Programmed {
    /// Bytes the device was told to move.
    pub count: usize,
    /// Length of the framework's transfer (`count` may be shorter at the ring's end).
    pub length: usize,
    /// Which transfer this is (counts every `EvtProgramDma` of the device): lets a watchdog
    /// that decided on a stale view tell that the transfer it judged is gone.
    pub seq: u64,
}

/// One edu DMA command: the register values that start it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EduCommand {
    /// Source address.
    pub source: u64,
    /// Destination address.
    pub destination: u64,
    /// Byte count.
    pub count: u64,
    /// Command (RUN, direction, interrupt).
    pub command: u64,
}

/// Why an operation must end early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The request was cancelled (or purged).
    Cancelled,
    /// The watchdog expired: the device stopped making progress.
    Timeout,
    /// The device is gone.
    Removed,
    /// The DMA controller reported an error.
    DeviceError,
}

impl EndReason {
    /// The status the request completes with.
    #[must_use]
    pub const fn error(self) -> Error {
        match self {
            Self::Cancelled => Error::CANCELLED,
            Self::Timeout => Error::IO_TIMEOUT,
            Self::Removed => Error::DEVICE_REMOVED,
            Self::DeviceError => Error::DEVICE_DATA_ERROR,
        }
    }
}

/// The operation in flight and the counters (under the device's spin lock).
#[derive(Default)]
pub struct IoState {
    /// The operation in flight.
    pub op: Option<Op>,
    /// The transfer the device is working on.
    pub programmed: Option<Programmed>,
    /// Set when the operation must end at the next transfer boundary.
    pub end: Option<EndReason>,
    /// Who completes the current request if its cancel callback is involved: whichever of
    /// the DMA path (`io::finish_request`) and the cancel callback comes last.
    pub rendezvous: CancelRendezvous,
    /// A previous command never finished: the engine may still be busy.
    pub engine_suspect: bool,
    /// A command waiting for the engine to become idle after a timeout.
    pub deferred: Option<EduCommand>,
    /// Watchdog polls spent waiting for the engine.
    pub recovery_polls: u32,
    /// Transfers completed for the request in flight (the watchdog's measure of progress).
    pub progress: u64,
    /// Transfers programmed since the device started (numbers [`Programmed::seq`]).
    pub programs: u64,
    /// The transfer the watchdog last found idle with no "DMA done" reported (confirmed as
    /// dropped when it finds it so again, `cancel::IDLE_CONFIRM_MS` later).
    pub unreported: Option<u64>,
    /// `progress` at the watchdog's last tick.
    pub progress_seen: u64,
    /// When the watchdog's period of the request in flight began (`KeQueryUnbiasedInterruptTime`,
    /// 100 ns units): its start, or the last tick that found progress. A transfer is judged
    /// stalled only once a whole period has passed since, so a tick that fired for the previous
    /// request and ran late on its processor cannot judge the next request's first transfer.
    pub watched_since: u64,
    /// The hardware disappeared.
    pub removed: bool,
    /// Counters.
    pub stats: Statistics,
}

impl IoState {
    /// Whether the device has moved on from transfer `seq` (a [`Programmed::seq`]): another
    /// processor completed it, and perhaps programmed the next. `None` names no transfer and
    /// never has moved on.
    #[must_use]
    pub fn moved_on_from(&self, seq: Option<u64>) -> bool {
        seq.is_some_and(|seq| self.programmed.map(|work| work.seq) != Some(seq))
    }
}

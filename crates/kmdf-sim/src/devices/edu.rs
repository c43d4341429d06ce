//! QEMU's `edu` teaching device (PCI `1234:11e8`), modelled register by register.
//!
//! The specification is the team's `edu-device.md` (shared docs); section numbers below refer to it.
//!
//! # What is modelled
//!
//! * BAR0 MMIO (§3, §4): access sizes (4 bytes below `0x80`; 4 or 8 bytes from `0x80`), all ones
//!   for sizes the device rejects, unimplemented offsets and the write-only registers, zero
//!   extension of 4-byte writes to the 64-bit DMA registers; how QEMU's memory core splits or
//!   rejects accesses before they reach the device (below).
//! * Identification and liveness (§5), the factorial unit (§6), interrupt status, raise and
//!   acknowledge with the `INTx` level and MSI rules (§7), and the DMA engine with its busy rule,
//!   address mask, timer and device-buffer range check in each QEMU version's flavour (§8).
//! * The two bits of PCI configuration space that change the device's behaviour: MSI enable
//!   ([`Edu::set_msi_enabled`]) and Bus Master Enable ([`Edu::set_bus_master`]). Without Bus
//!   Master Enable, DMA reads of RAM see zeros, DMA writes to RAM are dropped and MSIs are not
//!   delivered, as with QEMU's disabled bus-master address space.
//! * Memory that is not backed ([`BusFault`] from the bus): like QEMU, the device ignores the error;
//!   unbacked bytes read as zero and writes to them are dropped. The fault is recorded in the log.
//!
//! # The device has no error status
//!
//! Completion of a DMA command (RUN bit clearing, cause `0x100`) says nothing about success, and
//! there is no error register. A "DMA error" on edu can therefore only show up to a driver as an
//! engine that never finishes (RUN stays set), a completion interrupt that never comes, or all-ones
//! reads from a device that has gone away. The faults of [`EduFault`] produce exactly those
//! symptoms, plus silent data corruption ([`EduFault::ShortCopy`]) that only a data comparison can
//! catch.
//!
//! # Simulator extensions (not part of the real device)
//!
//! * Fault injection ([`Edu::inject`]). All faults are simulator inventions.
//! * The event log ([`Edu::log`]), [`Edu::bytes_moved`], [`Edu::fatal`] and the buffer back door
//!   ([`Edu::buffer_mut`]).
//!
//! # Checked against QEMU
//!
//! `tools/edu-qtest` drives QEMU's own device (under the qtest accelerator) and this model
//! through the same command streams and compares every answer (docs/evidence.md). What that
//! established and the model now does:
//!
//! * Access sizes follow QEMU's memory core (`address_space_rw`, the path of KVM MMIO exits,
//!   qtest and DMA), see `pieces`: an 8-byte access at a 4-aligned offset is two 4-byte device
//!   accesses (`readq 0x84` = all ones | low half of `0x88` << 32; `writeq 0x04` writes the
//!   liveness register and starts a factorial); 1- and 2-byte reads and misaligned reads read 0.
//! * The Interrupt Disable bit of the PCI Command register ([`Edu::set_intx_disable`]) holds the
//!   line low while the level (PCI Status bit 3) is kept.
//! * The DMA deadline is the current whole millisecond + 100 ms ([`Edu::set_now`]).
//! * DMA whose RAM-side range lies in the device's own BAR0 reaches its registers
//!   ([`Edu::set_bar0`]).
//! * A PCI reset ([`Edu::pci_reset`]) drops `INTx` and keeps every device register.
//!
//! # Where the model knowingly differs from QEMU
//!
//! * Factorial: QEMU computes on a host thread with no delay, so completion time is arbitrary; the
//!   model completes [`EduConfig::factorial_delay_ns`] after the write.
//! * TCG: a guest under TCG (no KVM) has misaligned MMIO accesses split differently by the
//!   softmmu slow path; the model follows KVM and qtest. Drivers make no misaligned accesses.
//! * DMA ranges that only partly overlap BAR0 are treated as memory.
//! * QEMU versions that abort on a bad DMA range: the model records [`Edu::fatal`] and goes inert
//!   (reads all ones, ignores writes and timers) instead of ending the process.
//! * QEMU 9.1 up to `42f599172ae0` copies an out-of-range DMA anyway, touching QEMU's own memory
//!   outside the 4 KiB buffer. The model copies only the part inside the buffer, records
//!   [`Edu::fatal`] and otherwise completes the command as the guest would see it.
//! * `INTx` effects are emitted only when the line level changes (QEMU's PCI core also ignores a
//!   set to the current level).

use core::mem;

use super::{BusFault, DmaBus, Effect};

/// Size in bytes of the device's internal DMA buffer (`DMA_SIZE`).
pub const DMA_BUFFER_SIZE: usize = 4096;
/// Device-side address of the first byte of the DMA buffer (`DMA_START`).
pub const DMA_BUFFER_START: u64 = 0x4_0000;
/// Device-side address one past the last byte of the DMA buffer.
pub const DMA_BUFFER_END: u64 = DMA_BUFFER_START + 4096;
/// Size in bytes of BAR0.
pub const BAR0_SIZE: u64 = 0x10_0000;
/// Value of the identification register (major 1, minor 0).
pub const ID_VALUE: u32 = 0x0100_00ED;

/// Register offsets in BAR0 (§4).
pub mod reg {
    /// Identification (RO, 4 bytes).
    pub const ID: u64 = 0x00;
    /// Liveness check (RW, 4 bytes): stores the complement of the value written.
    pub const LIVENESS: u64 = 0x04;
    /// Factorial input / result (RW, 4 bytes).
    pub const FACTORIAL: u64 = 0x08;
    /// Status (RW, 4 bytes): bit 0 computing (RO), bit 7 interrupt on factorial.
    pub const STATUS: u64 = 0x20;
    /// Interrupt status (RO, 4 bytes).
    pub const IRQ_STATUS: u64 = 0x24;
    /// Interrupt raise (WO, 4 bytes).
    pub const IRQ_RAISE: u64 = 0x60;
    /// Interrupt acknowledge (WO, 4 bytes).
    pub const IRQ_ACK: u64 = 0x64;
    /// DMA source address (RW, 4 or 8 bytes).
    pub const DMA_SRC: u64 = 0x80;
    /// DMA destination address (RW, 4 or 8 bytes).
    pub const DMA_DST: u64 = 0x88;
    /// DMA transfer count in bytes (RW, 4 or 8 bytes).
    pub const DMA_COUNT: u64 = 0x90;
    /// DMA command (RW, 4 or 8 bytes).
    pub const DMA_CMD: u64 = 0x98;
}

/// Status register bit 0: a factorial is being computed (read-only).
pub const STATUS_COMPUTING: u32 = 0x01;
/// Status register bit 7: raise cause [`IRQ_FACTORIAL`] when a factorial finishes.
pub const STATUS_IRQ_FACTORIAL: u32 = 0x80;
/// Interrupt cause: factorial finished.
pub const IRQ_FACTORIAL: u32 = 0x0000_0001;
/// Interrupt cause: DMA command finished.
pub const IRQ_DMA: u32 = 0x0000_0100;
/// DMA command bit 0: start / busy (RUN).
pub const CMD_RUN: u64 = 0x1;
/// DMA command bit 1: direction, set = device buffer to RAM.
pub const CMD_TO_RAM: u64 = 0x2;
/// DMA command bit 2: raise cause [`IRQ_DMA`] when done.
pub const CMD_IRQ: u64 = 0x4;

/// Which QEMU range-check behaviour to model (§8.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QemuVersion {
    /// QEMU up to 8.2.0 (e.g. 2.8.1, 6.2): a range ending exactly at the buffer end, a zero count
    /// or any out-of-range transfer aborts QEMU (the usable maximum from `0x40000` is 4095 bytes).
    AbortOffByOne,
    /// QEMU 8.2.1 and 9.0.x: a range ending at the buffer end is accepted; a zero count or an
    /// out-of-range transfer still aborts QEMU.
    AbortFixedBound,
    /// QEMU 9.1.0 until before commit `42f599172ae0`: zero counts are accepted; an out-of-range
    /// transfer is logged and then copied anyway, outside QEMU's buffer.
    LogAndCopy,
    /// After commit `42f599172ae0`: an out-of-range transfer is logged and skipped; the command
    /// still completes (RUN clears, cause `0x100` if requested).
    #[default]
    LogAndSkip,
}

/// Construction parameters of an [`Edu`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EduConfig {
    /// Mask combined (bitwise AND) with the RAM-side DMA address (QEMU property `dma_mask`). Default `0x0FFF_FFFF`.
    pub dma_mask: u64,
    /// Virtual time from a command write to the DMA copy. Default 100 ms, as QEMU.
    pub dma_delay_ns: u64,
    /// Virtual time from a factorial write to its result. Default 1 µs (QEMU: no fixed delay).
    pub factorial_delay_ns: u64,
    /// Range-check behaviour. Default: the current upstream behaviour.
    pub qemu: QemuVersion,
}

impl Default for EduConfig {
    fn default() -> Self {
        Self {
            dma_mask: 0x0FFF_FFFF,
            dma_delay_ns: 100_000_000,
            factorial_delay_ns: 1_000,
            qemu: QemuVersion::from_env().unwrap_or_default(),
        }
    }
}

impl QemuVersion {
    /// Name of the environment variable that picks the default mode for a whole run (the
    /// scenario suite in each version's mode): `8.2.0` (or `abort-off-by-one`), `8.2.1`
    /// (`abort-fixed-bound`), `9.1` (`log-and-copy`), `newest` (`log-and-skip`).
    pub const ENV: &str = "KMDF_SIM_EDU_QEMU";

    /// The mode named by [`QemuVersion::ENV`], if set to a known name.
    #[must_use]
    pub fn from_env() -> Option<Self> {
        Self::from_name(&std::env::var(Self::ENV).ok()?)
    }

    /// Parses a mode name (see [`QemuVersion::ENV`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "8.2.0" | "abort-off-by-one" => Some(Self::AbortOffByOne),
            "8.2.1" | "abort-fixed-bound" => Some(Self::AbortFixedBound),
            "9.1" | "log-and-copy" => Some(Self::LogAndCopy),
            "newest" | "log-and-skip" => Some(Self::LogAndSkip),
            _ => None,
        }
    }
}

/// Faults the simulator can inject (all are simulator extensions).
///
/// Faults are one-shot. Unless stated otherwise, a fault applies to the next DMA command accepted
/// after the injection (not to one already running). Several different DMA faults may be pending
/// at once and then apply to the same command; injecting the same kind again replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EduFault {
    /// RUN never clears: nothing is copied and no interrupt is raised. Since edu has no reset, the
    /// DMA engine stays busy for the rest of the device's life.
    StuckEngine,
    /// The copy is done and RUN clears, and cause `0x100` is set in interrupt status, but the
    /// interrupt is not signalled (no `INTx` assert, no MSI). The line stays as it was until the
    /// next raise.
    LostInterrupt,
    /// The copy is done and RUN clears on time; the raise of cause `0x100` (status bit and signal)
    /// happens `extra_ns` later.
    LateInterrupt {
        /// Delay of the raise after the copy, in nanoseconds.
        extra_ns: u64,
    },
    /// Applies at once, not to a DMA: signal the interrupt with no status bit set (an MSI, or an
    /// `INTx` pulse if the line is low).
    SpuriousInterrupt,
    /// Only the first `bytes` bytes of the command are copied; completion is otherwise normal.
    ShortCopy {
        /// Number of bytes actually copied (capped at the programmed count).
        bytes: u64,
    },
    /// Applies at once: every later MMIO read returns all ones, writes are ignored, a pending DMA
    /// or factorial never completes and the `INTx` line is released.
    SurpriseRemoval,
    /// The next command hangs for `ns` nanoseconds after its normal completion time, then the
    /// engine drops it: RUN clears, nothing is copied and no interrupt is raised. A simulator
    /// extension modelling an engine that recovers on its own (QEMU's edu never hangs).
    Hang {
        /// How long RUN stays set past the normal completion time.
        ns: u64,
    },
    /// The next command runs `extra_ns` past its normal completion time, then completes as
    /// usual: the copy (so the device writes or reads memory late), RUN clears, the interrupt.
    /// A simulator extension for a slow or stalled engine that recovers (QEMU's edu is never
    /// late); the driver must not give the command's buffer back before it is done.
    SlowCommand {
        /// How long the command runs past its normal completion time.
        extra_ns: u64,
    },
}

/// Direction of a DMA command (command bit 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EduDmaDirection {
    /// Bit clear: RAM (source register) to the device buffer (destination register).
    RamToDevice,
    /// Bit set: device buffer (source register) to RAM (destination register).
    DeviceToRam,
}

/// Result of the device-side range check of one DMA command (§8.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeCheck {
    /// The device-side range lies inside the buffer for the configured QEMU version.
    InRange,
    /// Out of range, logged and skipped ([`QemuVersion::LogAndSkip`]); the command still completes.
    Skipped,
    /// Out of range and copied anyway ([`QemuVersion::LogAndCopy`]): the model copied only the
    /// part inside the buffer and recorded a fatal error.
    CopiedOutOfRange,
    /// Out of range in a version that aborts QEMU: nothing copied, fatal error recorded.
    Aborted,
}

/// How a DMA command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EduDmaOutcome {
    /// RUN cleared (the copy may still have been skipped, short or faulted).
    Completed,
    /// [`EduFault::StuckEngine`]: RUN stays set forever.
    Stuck,
    /// [`EduFault::Hang`]: RUN stayed set, then the command was dropped without a copy.
    Hung,
    /// The real QEMU would have aborted; the model is now inert.
    Aborted,
}

/// One DMA command as the device executed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EduDma {
    /// Direction (command bit 1).
    pub direction: EduDmaDirection,
    /// Command register value the transfer ran with.
    pub command: u64,
    /// RAM-side address as programmed.
    pub ram_addr: u64,
    /// RAM-side address used, after the bitwise AND with the DMA mask.
    pub ram_addr_used: u64,
    /// Whether the mask changed the RAM-side address.
    pub truncated: bool,
    /// Device-side address as programmed (`0x40000 + offset` when used correctly).
    pub device_addr: u64,
    /// `device_addr - 0x40000`, wrapping.
    pub device_offset: u64,
    /// Count register value.
    pub count: u64,
    /// Outcome of the device-side range check.
    pub range: RangeCheck,
    /// Whether Bus Master Enable was set when the copy ran.
    pub bus_master: bool,
    /// Bytes that really moved between backed RAM and the buffer.
    pub bytes_copied: u64,
    /// First address with no memory behind it, if the bus reported one.
    pub bus_fault: Option<BusFault>,
    /// Number of bytes that hit unbacked memory (read as zero, or dropped on write).
    pub unbacked_bytes: u64,
    /// The [`EduFault::ShortCopy`] limit applied to this command, if any.
    pub short_copy: Option<u64>,
    /// How the command ended.
    pub outcome: EduDmaOutcome,
}

/// What caused an interrupt raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaiseSource {
    /// A write to the raise register `0x60`.
    Software,
    /// A factorial finished with status bit `0x80` set.
    Factorial,
    /// A DMA command finished with command bit `0x4` set.
    Dma,
    /// A DMA completion raise delayed by [`EduFault::LateInterrupt`].
    LateDma,
}

/// How a raise (or a spurious interrupt) was signalled to the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqSignal {
    /// The `INTx` line went from low to high.
    IntxAsserted,
    /// The `INTx` line was already high; nothing changed on the wire.
    IntxAlreadyHigh,
    /// Spurious interrupt: the `INTx` line was pulsed high then low.
    IntxPulse,
    /// One MSI message was sent.
    Msi,
    /// MSI is enabled but Bus Master Enable is clear, so the message went nowhere.
    MsiDropped,
    /// Interrupt status stayed zero, so nothing was signalled.
    NotSignalled,
    /// [`EduFault::LostInterrupt`]: the status bit was set but nothing was signalled.
    Suppressed,
}

/// Why a write was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoredWrite {
    /// Access size not honoured at that offset.
    AccessSize,
    /// Read-only register.
    ReadOnly,
    /// No register at that offset.
    Unimplemented,
    /// A DMA register written while command bit 0 (RUN) is set.
    DmaBusy,
    /// The factorial register written while a computation is in progress.
    FactorialBusy,
    /// A command write with bit 0 clear.
    CommandWithoutRun,
}

/// One entry of the device's event log (a simulator extension for tests and the verifier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EduEvent {
    /// A command write started a DMA and armed the DMA timer.
    DmaStarted {
        /// Command value stored.
        command: u64,
        /// Source register at start.
        src: u64,
        /// Destination register at start.
        dst: u64,
        /// Count register at start.
        count: u64,
    },
    /// A DMA command ran (its timer fired).
    Dma(EduDma),
    /// Cause bits were set in interrupt status through the raise path.
    Raise {
        /// Bits raised.
        cause: u32,
        /// Who raised them.
        source: RaiseSource,
        /// Interrupt status after the raise.
        status: u32,
        /// What reached the platform.
        signal: IrqSignal,
    },
    /// A write to the acknowledge register.
    Ack {
        /// Bits written.
        value: u32,
        /// Interrupt status after the acknowledge.
        status: u32,
        /// Whether the `INTx` line went low.
        intx_lowered: bool,
    },
    /// A spurious interrupt was injected.
    SpuriousInterrupt {
        /// What reached the platform.
        signal: IrqSignal,
    },
    /// A factorial finished.
    FactorialDone {
        /// The input `n`.
        input: u32,
        /// `n!` modulo 2³².
        result: u32,
    },
    /// An MMIO write had no effect.
    WriteIgnored {
        /// BAR0 offset.
        offset: u64,
        /// Access size in bytes.
        size: u8,
        /// Value written.
        value: u64,
        /// Why it was ignored.
        reason: IgnoredWrite,
    },
    /// A fault was injected.
    FaultInjected(EduFault),
}

/// Whether the device still answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Presence {
    Alive,
    Removed,
    Aborted,
}

/// The four DMA registers.
#[derive(Clone, Copy, Debug, Default)]
struct DmaRegs {
    src: u64,
    dst: u64,
    count: u64,
    cmd: u64,
}

/// DMA faults pending for, or applied to, one command.
#[derive(Clone, Copy, Debug, Default)]
struct DmaFaults {
    stuck: bool,
    hang_ns: Option<u64>,
    slow_ns: Option<u64>,
    lost: bool,
    late_ns: Option<u64>,
    short: Option<u64>,
}

/// The two PCI configuration bits the model depends on.
#[derive(Clone, Copy, Debug)]
struct PciState {
    msi_enabled: bool,
    bus_master: bool,
    intx_disabled: bool,
}

/// What a copy achieved.
#[derive(Clone, Copy, Debug, Default)]
struct CopyResult {
    copied: u64,
    fault: Option<BusFault>,
    unbacked: u64,
}

/// QEMU's `edu` device. See the module documentation.
#[derive(Clone, Debug)]
pub struct Edu {
    config: EduConfig,
    liveness: u32,
    factorial: u32,
    status: u32,
    irq_status: u32,
    dma: DmaRegs,
    buf: [u8; DMA_BUFFER_SIZE],
    pci: PciState,
    intx_level: bool,
    presence: Presence,
    /// Virtual time of the current access, as last given to [`Edu::set_now`].
    now_ns: u64,
    /// Guest-physical address of BAR0, if known ([`Edu::set_bar0`]).
    bar0: Option<u64>,
    pending_faults: DmaFaults,
    active_faults: DmaFaults,
    /// Delayed DMA raises: (timer token, cause).
    late_raises: Vec<(u64, u32)>,
    next_late_token: u64,
    fatal: Option<String>,
    log: Vec<EduEvent>,
    bytes_moved: u64,
}

impl Edu {
    /// Timer token of the DMA timer.
    pub const TOKEN_DMA: u64 = 1;
    /// Timer token of the factorial completion.
    pub const TOKEN_FACTORIAL: u64 = 2;
    /// Timer token of the end of a [`EduFault::Hang`].
    pub const TOKEN_UNHANG: u64 = 3;
    /// First timer token used for raises delayed by [`EduFault::LateInterrupt`]; each delayed
    /// raise gets the next token from here on.
    pub const TOKEN_LATE_IRQ_BASE: u64 = 0x1_0000;

    /// A device in its power-on state: all registers 0, buffer zeroed, `INTx` low, MSI disabled,
    /// Bus Master Enable set.
    #[must_use]
    pub fn new(config: EduConfig) -> Self {
        Self {
            config,
            liveness: 0,
            factorial: 0,
            status: 0,
            irq_status: 0,
            dma: DmaRegs::default(),
            buf: [0; DMA_BUFFER_SIZE],
            pci: PciState {
                msi_enabled: false,
                bus_master: true,
                intx_disabled: false,
            },
            intx_level: false,
            presence: Presence::Alive,
            now_ns: 0,
            bar0: None,
            pending_faults: DmaFaults::default(),
            active_faults: DmaFaults::default(),
            late_raises: Vec::new(),
            next_late_token: Self::TOKEN_LATE_IRQ_BASE,
            fatal: None,
            log: Vec::new(),
            bytes_moved: 0,
        }
    }

    /// The configuration the device was built with.
    #[must_use]
    pub const fn config(&self) -> &EduConfig {
        &self.config
    }

    /// An MMIO read of `size` bytes (1, 2, 4 or 8) at BAR0 `offset`, as QEMU's memory core
    /// delivers it to the device (see `pieces`): an access is split at its natural alignment
    /// into pieces of at most 8 bytes; pieces under 4 bytes never reach the device and read 0;
    /// the device answers all ones for an 8-byte piece below `0x80`, an unimplemented offset or
    /// a write-only register. Returns the pieces combined little-endian, zero-extended.
    pub fn mmio_read(&mut self, offset: u64, size: u8) -> u64 {
        if self.presence != Presence::Alive {
            return all_ones(size);
        }
        let mut value = 0_u64;
        for (at, len) in pieces(offset, u64::from(size)) {
            let piece = if len >= 4 {
                self.device_read(at, piece_size(len))
            } else {
                0
            };
            value |= piece << (8 * (at - offset));
        }
        value & all_ones(size)
    }

    /// An MMIO write of `size` bytes at BAR0 `offset`, split as for [`Edu::mmio_read`]; pieces
    /// under 4 bytes are dropped. Bits of `value` above the access size are ignored.
    pub fn mmio_write(&mut self, offset: u64, size: u8, value: u64, effects: &mut Vec<Effect>) {
        if self.presence != Presence::Alive {
            return;
        }
        let value = value & all_ones(size);
        for (at, len) in pieces(offset, u64::from(size)) {
            let piece = (value >> (8 * (at - offset))) & all_ones(piece_size(len));
            if len >= 4 {
                self.device_write(at, piece_size(len), piece, effects);
            } else {
                self.ignored(at, piece_size(len), piece, IgnoredWrite::AccessSize);
            }
        }
    }

    /// One access as the device's own read callback sees it (4 or 8 bytes).
    fn device_read(&self, offset: u64, size: u8) -> u64 {
        let ones = all_ones(size);
        if !size_honoured(offset, size) {
            return ones;
        }
        let value = match offset {
            reg::ID => u64::from(ID_VALUE),
            reg::LIVENESS => u64::from(self.liveness),
            reg::FACTORIAL => u64::from(self.factorial),
            reg::STATUS => u64::from(self.status),
            reg::IRQ_STATUS => u64::from(self.irq_status),
            reg::DMA_SRC => self.dma.src,
            reg::DMA_DST => self.dma.dst,
            reg::DMA_COUNT => self.dma.count,
            reg::DMA_CMD => self.dma.cmd,
            _ => return ones,
        };
        value & ones
    }

    /// One access as the device's own write callback sees it (4 or 8 bytes).
    fn device_write(&mut self, offset: u64, size: u8, value: u64, effects: &mut Vec<Effect>) {
        if !size_honoured(offset, size) {
            self.ignored(offset, size, value, IgnoredWrite::AccessSize);
            return;
        }
        let value = value & all_ones(size);
        let low = low32(value);
        match offset {
            reg::LIVENESS => self.liveness = !low,
            reg::FACTORIAL => {
                if self.status & STATUS_COMPUTING == 0 {
                    self.factorial = low;
                    self.status |= STATUS_COMPUTING;
                    effects.push(Effect::ArmTimer {
                        token: Self::TOKEN_FACTORIAL,
                        delay_ns: self.config.factorial_delay_ns,
                    });
                } else {
                    self.ignored(offset, size, value, IgnoredWrite::FactorialBusy);
                }
            }
            reg::STATUS => {
                if low & STATUS_IRQ_FACTORIAL == 0 {
                    self.status &= !STATUS_IRQ_FACTORIAL;
                } else {
                    self.status |= STATUS_IRQ_FACTORIAL;
                }
            }
            reg::IRQ_RAISE => self.raise(low, RaiseSource::Software, effects),
            reg::IRQ_ACK => self.acknowledge(low, effects),
            reg::DMA_SRC | reg::DMA_DST | reg::DMA_COUNT => {
                if self.dma_running() {
                    self.ignored(offset, size, value, IgnoredWrite::DmaBusy);
                } else if offset == reg::DMA_SRC {
                    self.dma.src = value;
                } else if offset == reg::DMA_DST {
                    self.dma.dst = value;
                } else {
                    self.dma.count = value;
                }
            }
            reg::DMA_CMD => self.write_command(offset, size, value, effects),
            reg::ID | reg::IRQ_STATUS => self.ignored(offset, size, value, IgnoredWrite::ReadOnly),
            _ => self.ignored(offset, size, value, IgnoredWrite::Unimplemented),
        }
    }

    /// The guest OS enabled or disabled the MSI capability (default disabled).
    ///
    /// Enabling MSI while the `INTx` line is high releases it, as QEMU's MSI code deasserts `INTx`
    /// when MSI is switched on; the returned [`Effect::IntxDeassert`] must then be applied by the
    /// caller. Disabling MSI does not re-assert the line until the next raise. Returns `None` when
    /// the line does not change.
    pub const fn set_msi_enabled(&mut self, on: bool) -> Option<Effect> {
        self.pci.msi_enabled = on;
        if on && self.intx_level {
            self.intx_level = false;
            if self.pci.intx_disabled {
                None
            } else {
                Some(Effect::IntxDeassert)
            }
        } else {
            None
        }
    }

    /// The guest OS set or cleared the Interrupt Disable bit (bit 10) of the PCI Command
    /// register (default clear). While it is set the device's `INTx` level is kept (PCI Status
    /// bit 3, [`Edu::intx_level`]) but the line the interrupt controller sees stays low; clearing
    /// it drives the line to the kept level. Returns the line change, if any, which the caller
    /// must apply.
    pub const fn set_intx_disable(&mut self, on: bool) -> Option<Effect> {
        let was = self.pci.intx_disabled;
        self.pci.intx_disabled = on;
        if was == on || !self.intx_level {
            None
        } else if on {
            Some(Effect::IntxDeassert)
        } else {
            Some(Effect::IntxAssert)
        }
    }

    /// A PCI reset of the function (system reset): the `INTx` level drops, MSI is disabled and
    /// the Command register is cleared (no bus mastering, Interrupt Disable clear). Like QEMU's
    /// edu, which has no reset handler of its own, the device registers, the interrupt status,
    /// the buffer and a running command are kept.
    pub fn pci_reset(&mut self, effects: &mut Vec<Effect>) {
        if self.intx_level {
            self.intx_level = false;
            if !self.pci.intx_disabled {
                effects.push(Effect::IntxDeassert);
            }
        }
        self.pci = PciState {
            msi_enabled: false,
            bus_master: false,
            intx_disabled: false,
        };
    }

    /// Tells the device the current virtual time. QEMU arms the DMA timer on a millisecond
    /// clock (deadline = current whole millisecond + 100 ms), so a command's delay depends on
    /// when it is written: the simulator calls this before each access and timer.
    pub const fn set_now(&mut self, now_ns: u64) {
        self.now_ns = now_ns;
    }

    /// Where BAR0 sits in the bus address space. With a `dma_mask` wide enough to reach it, a
    /// DMA command whose RAM-side range lies in BAR0 reads or writes the device's own registers,
    /// as in QEMU. `None` (the default): DMA sees memory only.
    pub const fn set_bar0(&mut self, bar0: Option<u64>) {
        self.bar0 = bar0;
    }

    /// The guest OS set or cleared Bus Master Enable in the PCI Command register (default set).
    /// While clear, DMA does not reach memory and MSIs are not delivered (§7, §8.3).
    pub const fn set_bus_master(&mut self, on: bool) {
        self.pci.bus_master = on;
    }

    /// Whether MSI is enabled.
    #[must_use]
    pub const fn msi_enabled(&self) -> bool {
        self.pci.msi_enabled
    }

    /// Whether Bus Master Enable is set.
    #[must_use]
    pub const fn bus_master(&self) -> bool {
        self.pci.bus_master
    }

    /// A timer armed by this device has fired. Unknown or stale tokens are ignored.
    pub fn timer_fired(&mut self, token: u64, bus: &mut dyn DmaBus, effects: &mut Vec<Effect>) {
        if self.presence != Presence::Alive {
            return;
        }
        match token {
            Self::TOKEN_DMA => self.run_dma(bus, effects),
            Self::TOKEN_FACTORIAL => self.finish_factorial(effects),
            Self::TOKEN_UNHANG => self.dma.cmd &= !CMD_RUN,
            _ => {
                if let Some(pos) = self.late_raises.iter().position(|&(t, _)| t == token) {
                    let (_, cause) = self.late_raises.remove(pos);
                    self.raise(cause, RaiseSource::LateDma, effects);
                }
            }
        }
    }

    /// Injects a fault. See [`EduFault`] for when each one applies.
    pub fn inject(&mut self, fault: EduFault, effects: &mut Vec<Effect>) {
        if self.presence != Presence::Alive {
            return;
        }
        super::log_event(&mut self.log, EduEvent::FaultInjected(fault));
        match fault {
            EduFault::StuckEngine => self.pending_faults.stuck = true,
            EduFault::Hang { ns } => self.pending_faults.hang_ns = Some(ns),
            EduFault::SlowCommand { extra_ns } => self.pending_faults.slow_ns = Some(extra_ns),
            EduFault::LostInterrupt => self.pending_faults.lost = true,
            EduFault::LateInterrupt { extra_ns } => self.pending_faults.late_ns = Some(extra_ns),
            EduFault::ShortCopy { bytes } => self.pending_faults.short = Some(bytes),
            EduFault::SpuriousInterrupt => {
                let signal = if self.pci.msi_enabled {
                    self.send_msi(effects)
                } else if self.intx_level {
                    IrqSignal::IntxAlreadyHigh
                } else {
                    effects.push(Effect::IntxAssert);
                    effects.push(Effect::IntxDeassert);
                    IrqSignal::IntxPulse
                };
                super::log_event(&mut self.log, EduEvent::SpuriousInterrupt { signal });
            }
            EduFault::SurpriseRemoval => {
                self.presence = Presence::Removed;
                if self.dma_running() {
                    effects.push(Effect::CancelTimer {
                        token: Self::TOKEN_DMA,
                    });
                }
                if self.status & STATUS_COMPUTING != 0 {
                    effects.push(Effect::CancelTimer {
                        token: Self::TOKEN_FACTORIAL,
                    });
                }
                for (token, _) in self.late_raises.drain(..) {
                    effects.push(Effect::CancelTimer { token });
                }
                if self.intx_level {
                    self.intx_level = false;
                    if !self.pci.intx_disabled {
                        effects.push(Effect::IntxDeassert);
                    }
                }
            }
        }
    }

    /// The 4 KiB device buffer (device addresses `0x40000..0x41000`).
    #[must_use]
    pub const fn buffer(&self) -> &[u8; DMA_BUFFER_SIZE] {
        &self.buf
    }

    /// Back door to the device buffer for test setup (simulator extension).
    pub const fn buffer_mut(&mut self) -> &mut [u8; DMA_BUFFER_SIZE] {
        &mut self.buf
    }

    /// The interrupt status register (`0x24`).
    #[must_use]
    pub const fn interrupt_status(&self) -> u32 {
        self.irq_status
    }

    /// The current level of the `INTx` line as driven by the device.
    #[must_use]
    pub const fn intx_level(&self) -> bool {
        self.intx_level
    }

    /// Whether a DMA command is in progress (command bit 0).
    #[must_use]
    pub const fn dma_running(&self) -> bool {
        self.dma.cmd & CMD_RUN != 0
    }

    /// Whether [`EduFault::SurpriseRemoval`] has been injected.
    #[must_use]
    pub fn is_removed(&self) -> bool {
        self.presence == Presence::Removed
    }

    /// Set when the real QEMU would have aborted (or, for [`QemuVersion::LogAndCopy`], corrupted
    /// its own memory). The engine should stop the run and report this.
    #[must_use]
    pub fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }

    /// The event log, oldest first: the most recent events only, at least
    /// [`super::LOG_KEEP`] of them.
    #[must_use]
    pub fn log(&self) -> &[EduEvent] {
        &self.log
    }

    /// Removes and returns the event log.
    pub fn take_log(&mut self) -> Vec<EduEvent> {
        mem::take(&mut self.log)
    }

    /// Sum over completed DMA commands of the bytes really copied between backed RAM and the
    /// device buffer.
    #[must_use]
    pub const fn bytes_moved(&self) -> u64 {
        self.bytes_moved
    }

    fn ignored(&mut self, offset: u64, size: u8, value: u64, reason: IgnoredWrite) {
        super::log_event(
            &mut self.log,
            EduEvent::WriteIgnored {
                offset,
                size,
                value,
                reason,
            },
        );
    }

    fn write_command(&mut self, offset: u64, size: u8, value: u64, effects: &mut Vec<Effect>) {
        if value & CMD_RUN == 0 {
            self.ignored(offset, size, value, IgnoredWrite::CommandWithoutRun);
            return;
        }
        if self.dma_running() {
            self.ignored(offset, size, value, IgnoredWrite::DmaBusy);
            return;
        }
        self.dma.cmd = value;
        self.active_faults = mem::take(&mut self.pending_faults);
        super::log_event(
            &mut self.log,
            EduEvent::DmaStarted {
                command: value,
                src: self.dma.src,
                dst: self.dma.dst,
                count: self.dma.count,
            },
        );
        // QEMU: deadline = whole milliseconds of the virtual clock + 100 ms.
        let into_ms = self.now_ns % 1_000_000;
        effects.push(Effect::ArmTimer {
            token: Self::TOKEN_DMA,
            delay_ns: self.config.dma_delay_ns.saturating_sub(into_ms),
        });
    }

    /// Sends one MSI if the bus-master path allows it.
    fn send_msi(&self, effects: &mut Vec<Effect>) -> IrqSignal {
        if self.pci.bus_master {
            effects.push(Effect::Msi);
            IrqSignal::Msi
        } else {
            IrqSignal::MsiDropped
        }
    }

    /// Signals the current interrupt status (the tail of QEMU's raise path).
    fn signal(&mut self, effects: &mut Vec<Effect>) -> IrqSignal {
        if self.irq_status == 0 {
            IrqSignal::NotSignalled
        } else if self.pci.msi_enabled {
            self.send_msi(effects)
        } else if self.intx_level {
            IrqSignal::IntxAlreadyHigh
        } else {
            self.intx_level = true;
            if !self.pci.intx_disabled {
                effects.push(Effect::IntxAssert);
            }
            IrqSignal::IntxAsserted
        }
    }

    fn raise(&mut self, cause: u32, source: RaiseSource, effects: &mut Vec<Effect>) {
        self.irq_status |= cause;
        let signal = self.signal(effects);
        super::log_event(
            &mut self.log,
            EduEvent::Raise {
                cause,
                source,
                status: self.irq_status,
                signal,
            },
        );
    }

    fn acknowledge(&mut self, value: u32, effects: &mut Vec<Effect>) {
        self.irq_status &= !value;
        let lower = self.irq_status == 0 && !self.pci.msi_enabled && self.intx_level;
        if lower {
            self.intx_level = false;
            if !self.pci.intx_disabled {
                effects.push(Effect::IntxDeassert);
            }
        }
        super::log_event(
            &mut self.log,
            EduEvent::Ack {
                value,
                status: self.irq_status,
                intx_lowered: lower,
            },
        );
    }

    fn finish_factorial(&mut self, effects: &mut Vec<Effect>) {
        if self.status & STATUS_COMPUTING == 0 {
            return;
        }
        let input = self.factorial;
        let result = (1..=input).fold(1_u32, u32::wrapping_mul);
        self.factorial = result;
        self.status &= !STATUS_COMPUTING;
        super::log_event(&mut self.log, EduEvent::FactorialDone { input, result });
        if self.status & STATUS_IRQ_FACTORIAL != 0 {
            self.raise(IRQ_FACTORIAL, RaiseSource::Factorial, effects);
        }
    }

    fn run_dma(&mut self, bus: &mut dyn DmaBus, effects: &mut Vec<Effect>) {
        if !self.dma_running() {
            return;
        }
        let mut faults = mem::take(&mut self.active_faults);
        if let Some(extra_ns) = faults.slow_ns.take() {
            // Not done yet: the same command finishes (with the remaining faults) later.
            self.active_faults = faults;
            effects.push(Effect::ArmTimer {
                token: Self::TOKEN_DMA,
                delay_ns: extra_ns,
            });
            return;
        }
        let DmaRegs {
            src,
            dst,
            count,
            cmd,
        } = self.dma;
        let direction = if cmd & CMD_TO_RAM == 0 {
            EduDmaDirection::RamToDevice
        } else {
            EduDmaDirection::DeviceToRam
        };
        let (ram_addr, device_addr) = match direction {
            EduDmaDirection::RamToDevice => (src, dst),
            EduDmaDirection::DeviceToRam => (dst, src),
        };
        let ram_addr_used = ram_addr & self.config.dma_mask;
        let mut record = EduDma {
            direction,
            command: cmd,
            ram_addr,
            ram_addr_used,
            truncated: ram_addr_used != ram_addr,
            device_addr,
            device_offset: device_addr.wrapping_sub(DMA_BUFFER_START),
            count,
            range: RangeCheck::InRange,
            bus_master: self.pci.bus_master,
            bytes_copied: 0,
            bus_fault: None,
            unbacked_bytes: 0,
            short_copy: faults.short,
            outcome: EduDmaOutcome::Completed,
        };

        if faults.stuck {
            record.outcome = EduDmaOutcome::Stuck;
            super::log_event(&mut self.log, EduEvent::Dma(record));
            return;
        }
        if let Some(ns) = faults.hang_ns {
            record.outcome = EduDmaOutcome::Hung;
            super::log_event(&mut self.log, EduEvent::Dma(record));
            effects.push(Effect::ArmTimer {
                token: Self::TOKEN_UNHANG,
                delay_ns: ns,
            });
            return;
        }

        let span = self.check_range(&mut record);
        if record.range == RangeCheck::Aborted {
            record.outcome = EduDmaOutcome::Aborted;
            super::log_event(&mut self.log, EduEvent::Dma(record));
            return;
        }
        if let Some((dev_start, len)) = span {
            let len = faults.short.map_or(len, |s| len.min(s));
            let ram = ram_addr_used.wrapping_add(dev_start.wrapping_sub(device_addr));
            let result = self.copy(direction, ram, dev_start, len, bus, effects);
            record.bytes_copied = result.copied;
            record.bus_fault = result.fault;
            record.unbacked_bytes = result.unbacked;
        }

        self.dma.cmd &= !CMD_RUN;
        self.bytes_moved = self.bytes_moved.saturating_add(record.bytes_copied);
        super::log_event(&mut self.log, EduEvent::Dma(record));
        if cmd & CMD_IRQ != 0 {
            self.dma_done_interrupt(faults, effects);
        }
    }

    /// Applies the configured QEMU version's range check to `record` (setting `record.range`) and
    /// returns the device-side span to copy as (first device address, length), if any. An
    /// aborting version records the fatal error and makes the device inert.
    fn check_range(&mut self, record: &mut EduDma) -> Option<(u64, u64)> {
        let (device_addr, count, qemu) = (record.device_addr, record.count, self.config.qemu);
        if range_ok(qemu, device_addr, count) {
            return Some((device_addr, count));
        }
        match qemu {
            QemuVersion::AbortOffByOne | QemuVersion::AbortFixedBound => {
                record.range = RangeCheck::Aborted;
                self.fatal = Some(format!(
                    "edu: DMA device range {device_addr:#x}+{count:#x} out of bounds \
                     ({qemu:?} aborts QEMU)"
                ));
                self.presence = Presence::Aborted;
                None
            }
            QemuVersion::LogAndCopy => {
                record.range = RangeCheck::CopiedOutOfRange;
                self.fatal = Some(format!(
                    "edu: DMA device range {device_addr:#x}+{count:#x} out of bounds \
                     (LogAndCopy copies outside QEMU's buffer)"
                ));
                let end = device_addr.saturating_add(count).min(DMA_BUFFER_END);
                let start = device_addr.max(DMA_BUFFER_START);
                (start < end).then(|| (start, end - start))
            }
            QemuVersion::LogAndSkip => {
                record.range = RangeCheck::Skipped;
                None
            }
        }
    }

    /// Raises cause `0x100` for a finished command, subject to the interrupt faults.
    fn dma_done_interrupt(&mut self, faults: DmaFaults, effects: &mut Vec<Effect>) {
        if faults.lost {
            self.irq_status |= IRQ_DMA;
            super::log_event(
                &mut self.log,
                EduEvent::Raise {
                    cause: IRQ_DMA,
                    source: RaiseSource::Dma,
                    status: self.irq_status,
                    signal: IrqSignal::Suppressed,
                },
            );
        } else if let Some(extra_ns) = faults.late_ns {
            let token = self.next_late_token;
            self.next_late_token = self.next_late_token.wrapping_add(1);
            self.late_raises.push((token, IRQ_DMA));
            effects.push(Effect::ArmTimer {
                token,
                delay_ns: extra_ns,
            });
        } else {
            self.raise(IRQ_DMA, RaiseSource::Dma, effects);
        }
    }

    /// Copies `len` bytes between RAM at `ram` and the buffer at device address `dev_start`
    /// (already known to lie inside the buffer).
    fn copy(
        &mut self,
        direction: EduDmaDirection,
        ram: u64,
        dev_start: u64,
        len: u64,
        bus: &mut dyn DmaBus,
        effects: &mut Vec<Effect>,
    ) -> CopyResult {
        let Some(window) = buffer_window(dev_start, len) else {
            return CopyResult::default();
        };
        if let Some(offset) = self.own_registers(ram, len) {
            return self.copy_own_registers(direction, offset, window, effects);
        }
        let Some(slice) = self.buf.get_mut(window) else {
            return CopyResult::default();
        };
        match (direction, self.pci.bus_master) {
            // No bus master: RAM reads see unassigned memory (zeros), writes go nowhere.
            (EduDmaDirection::RamToDevice, false) => {
                slice.fill(0);
                CopyResult::default()
            }
            (EduDmaDirection::DeviceToRam, false) => CopyResult::default(),
            (EduDmaDirection::RamToDevice, true) => read_ram(bus, ram, slice),
            (EduDmaDirection::DeviceToRam, true) => write_ram(bus, ram, slice),
        }
    }
}

impl Edu {
    /// BAR0 offset of a bus-master range that lies wholly in the device's own BAR0.
    fn own_registers(&self, ram: u64, len: u64) -> Option<u64> {
        let bar = self.bar0?;
        let offset = ram.checked_sub(bar)?;
        let end = offset.checked_add(len)?;
        (self.pci.bus_master && len > 0 && end <= BAR0_SIZE).then_some(offset)
    }

    /// DMA between the buffer and the device's own registers: QEMU's memory core splits the
    /// range as it splits an MMIO access (see [`pieces`]).
    fn copy_own_registers(
        &mut self,
        direction: EduDmaDirection,
        offset: u64,
        window: core::ops::Range<usize>,
        effects: &mut Vec<Effect>,
    ) -> CopyResult {
        let len = len_u64(window.len());
        match direction {
            EduDmaDirection::RamToDevice => {
                let mut bytes = Vec::with_capacity(window.len());
                for (at, n) in pieces(offset, len) {
                    let value = if n >= 4 {
                        self.device_read(at, piece_size(n))
                    } else {
                        0
                    };
                    let count = usize::try_from(n).unwrap_or(0);
                    bytes.extend(value.to_le_bytes().iter().take(count));
                }
                if let Some(slice) = self.buf.get_mut(window) {
                    slice.copy_from_slice(&bytes);
                }
            }
            EduDmaDirection::DeviceToRam => {
                let bytes = self.buf.get(window).map(<[u8]>::to_vec).unwrap_or_default();
                for (at, n) in pieces(offset, len) {
                    let mut word = [0_u8; 8];
                    let from = usize::try_from(at - offset).unwrap_or(0);
                    let count = usize::try_from(n).unwrap_or(0);
                    for (slot, byte) in word.iter_mut().zip(bytes.iter().skip(from).take(count)) {
                        *slot = *byte;
                    }
                    let value = u64::from_le_bytes(word);
                    if n >= 4 {
                        self.device_write(at, piece_size(n), value, effects);
                    } else {
                        self.ignored(at, piece_size(n), value, IgnoredWrite::AccessSize);
                    }
                }
            }
        }
        CopyResult {
            copied: len,
            fault: None,
            unbacked: 0,
        }
    }
}

/// How QEMU's memory core cuts an access of `len` bytes at BAR0 `offset`.
///
/// This is `address_space_rw`, the path of KVM MMIO exits, qtest and DMA: pieces of at most 8
/// bytes (the device's maximum), never larger than the alignment of their address, each a power
/// of two. Returns (offset, length) pairs. Pieces under 4 bytes (the device's minimum) are
/// rejected by the core. (TCG's slow path splits misaligned accesses differently; drivers do not
/// make them.)
fn pieces(offset: u64, len: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut at, mut left) = (offset, len);
    while left > 0 {
        let mut n = left.min(8);
        if at != 0 {
            n = n.min(1 << at.trailing_zeros());
        }
        n = 1 << n.ilog2();
        out.push((at, n));
        at += n;
        left -= n;
    }
    out
}

/// A piece length (1 to 8) as an access size.
fn piece_size(len: u64) -> u8 {
    u8::try_from(len).unwrap_or(8)
}

/// Reads RAM into `dst`; unbacked bytes read as zero (QEMU's unassigned-memory read value).
fn read_ram(bus: &mut dyn DmaBus, ram: u64, dst: &mut [u8]) -> CopyResult {
    let len = len_u64(dst.len());
    match bus.read(ram, dst) {
        Ok(()) => CopyResult {
            copied: len,
            fault: None,
            unbacked: 0,
        },
        Err(fault) => {
            let mut unbacked = 0_u64;
            for (addr, slot) in (0_u64..).map(|i| ram.wrapping_add(i)).zip(dst.iter_mut()) {
                let mut byte = [0_u8];
                if bus.read(addr, &mut byte).is_ok() {
                    *slot = byte[0];
                } else {
                    *slot = 0;
                    unbacked += 1;
                }
            }
            CopyResult {
                copied: len - unbacked,
                fault: Some(fault),
                unbacked,
            }
        }
    }
}

/// Writes `src` to RAM; bytes aimed at unbacked memory are dropped.
fn write_ram(bus: &mut dyn DmaBus, ram: u64, src: &[u8]) -> CopyResult {
    let len = len_u64(src.len());
    match bus.write(ram, src) {
        Ok(()) => CopyResult {
            copied: len,
            fault: None,
            unbacked: 0,
        },
        Err(fault) => {
            let mut unbacked = 0_u64;
            for (addr, byte) in (0_u64..).map(|i| ram.wrapping_add(i)).zip(src.chunks(1)) {
                if bus.write(addr, byte).is_err() {
                    unbacked += 1;
                }
            }
            CopyResult {
                copied: len - unbacked,
                fault: Some(fault),
                unbacked,
            }
        }
    }
}

/// The index range of the buffer covering device addresses `[dev_start, dev_start + len)`.
fn buffer_window(dev_start: u64, len: u64) -> Option<core::ops::Range<usize>> {
    let start = usize::try_from(dev_start.checked_sub(DMA_BUFFER_START)?).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    (end <= DMA_BUFFER_SIZE).then_some(start..end)
}

/// The device-side range check of each QEMU version (§8.7).
fn range_ok(version: QemuVersion, start: u64, count: u64) -> bool {
    let Some(end) = start.checked_add(count) else {
        return false;
    };
    let starts_inside = (DMA_BUFFER_START..DMA_BUFFER_END).contains(&start);
    match version {
        QemuVersion::AbortOffByOne => starts_inside && count > 0 && end < DMA_BUFFER_END,
        QemuVersion::AbortFixedBound => starts_inside && count > 0 && end <= DMA_BUFFER_END,
        QemuVersion::LogAndCopy | QemuVersion::LogAndSkip => {
            start >= DMA_BUFFER_START && end <= DMA_BUFFER_END
        }
    }
}

/// Whether the device honours an access of `size` bytes at `offset` (§3).
const fn size_honoured(offset: u64, size: u8) -> bool {
    size == 4 || (offset >= 0x80 && size == 8)
}

/// All ones truncated to an access of `size` bytes.
const fn all_ones(size: u8) -> u64 {
    match size {
        0 => 0,
        1..=7 => (1_u64 << (8 * size)) - 1,
        _ => u64::MAX,
    }
}

/// The low 32 bits of `value`.
const fn low32(value: u64) -> u32 {
    let [a, b, c, d, ..] = value.to_le_bytes();
    u32::from_le_bytes([a, b, c, d])
}

/// A slice length as `u64` (lossless on every supported target).
fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::super::test_support::TestMemory;
    use super::*;

    const RAM: u64 = 0x10_0000;

    fn edu() -> Edu {
        Edu::new(EduConfig::default())
    }

    fn edu_with(qemu: QemuVersion) -> Edu {
        Edu::new(EduConfig {
            qemu,
            ..EduConfig::default()
        })
    }

    fn w(edu: &mut Edu, offset: u64, value: u64) -> Vec<Effect> {
        let mut fx = Vec::new();
        edu.mmio_write(offset, 4, value, &mut fx);
        fx
    }

    fn r(edu: &mut Edu, offset: u64) -> u64 {
        edu.mmio_read(offset, 4)
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| u8::try_from((i * 7 + 3) % 251).unwrap())
            .collect()
    }

    /// Programs one DMA command; returns the effects of the command write.
    fn program(edu: &mut Edu, src: u64, dst: u64, count: u64, cmd: u64) -> Vec<Effect> {
        let mut fx = Vec::new();
        edu.mmio_write(reg::DMA_SRC, 8, src, &mut fx);
        edu.mmio_write(reg::DMA_DST, 8, dst, &mut fx);
        edu.mmio_write(reg::DMA_COUNT, 8, count, &mut fx);
        edu.mmio_write(reg::DMA_CMD, 8, cmd, &mut fx);
        fx
    }

    /// Programs one DMA command and fires its timer; returns the effects of the timer.
    fn run(
        edu: &mut Edu,
        mem: &mut TestMemory,
        src: u64,
        dst: u64,
        count: u64,
        cmd: u64,
    ) -> Vec<Effect> {
        let fx = program(edu, src, dst, count, cmd);
        assert_eq!(
            fx,
            [Effect::ArmTimer {
                token: Edu::TOKEN_DMA,
                delay_ns: 100_000_000
            }]
        );
        let mut fx = Vec::new();
        edu.timer_fired(Edu::TOKEN_DMA, mem, &mut fx);
        fx
    }

    fn last_dma(edu: &Edu) -> EduDma {
        edu.log()
            .iter()
            .rev()
            .find_map(|e| match e {
                EduEvent::Dma(d) => Some(*d),
                _ => None,
            })
            .unwrap()
    }

    // ----- §3 access rules -----

    #[test]
    fn id_reads_0x010000ed_and_ignores_writes() {
        let mut e = edu();
        assert_eq!(r(&mut e, reg::ID), 0x0100_00ED);
        w(&mut e, reg::ID, 0x1234_5678);
        assert_eq!(r(&mut e, reg::ID), 0x0100_00ED);
    }

    #[test]
    fn liveness_initially_zero() {
        assert_eq!(r(&mut edu(), reg::LIVENESS), 0);
    }

    #[test]
    fn liveness_returns_complement() {
        let mut e = edu();
        w(&mut e, reg::LIVENESS, 0x1234_5678);
        assert_eq!(r(&mut e, reg::LIVENESS), 0xEDCB_A987);
        w(&mut e, reg::LIVENESS, 0);
        assert_eq!(r(&mut e, reg::LIVENESS), 0xFFFF_FFFF);
    }

    #[test]
    fn small_reads_are_zero_and_aligned_8_byte_reads_below_0x80_all_ones() {
        let mut e = edu();
        assert_eq!(e.mmio_read(reg::ID, 8), u64::MAX);
        assert_eq!(e.mmio_read(reg::ID, 2), 0);
        assert_eq!(e.mmio_read(reg::ID, 1), 0);
        assert_eq!(
            e.mmio_read(0x02, 4),
            0,
            "misaligned 4-byte read: two rejected halves"
        );
    }

    #[test]
    fn eight_byte_access_at_0x04_is_split_into_liveness_and_factorial() {
        let mut e = edu();
        let mut fx = Vec::new();
        e.mmio_write(reg::LIVENESS, 8, 0x0000_0005_0000_00F0, &mut fx);
        assert_eq!(r(&mut e, reg::LIVENESS), 0xFFFF_FF0F);
        assert_eq!(r(&mut e, reg::STATUS), u64::from(STATUS_COMPUTING));
        assert!(fx.iter().any(|f| matches!(
            f,
            Effect::ArmTimer {
                token: Edu::TOKEN_FACTORIAL,
                ..
            }
        )));
        assert_eq!(e.mmio_read(reg::LIVENESS, 8), 0x0000_0005_FFFF_FF0F);
    }

    #[test]
    fn eight_byte_access_at_0x84_reaches_the_destination_register() {
        let mut e = edu();
        w(&mut e, reg::DMA_DST, 0x0102_0304_0506_0708);
        assert_eq!(e.mmio_read(0x84, 8), 0x0506_0708_FFFF_FFFF);
        let mut fx = Vec::new();
        e.mmio_write(0x84, 8, 0xCAFE_F00D_DEAD_BEEF, &mut fx);
        assert_eq!(
            r(&mut e, reg::DMA_DST),
            0xCAFE_F00D,
            "4-byte write zero-extends"
        );
        assert_eq!(r(&mut e, reg::DMA_SRC), 0, "0x84 itself is no register");
    }

    #[test]
    fn non_4_byte_write_below_0x80_is_ignored() {
        let mut e = edu();
        let mut fx = Vec::new();
        e.mmio_write(reg::ID, 8, 0x1234, &mut fx);
        e.mmio_write(reg::LIVENESS, 2, 0x1234, &mut fx);
        e.mmio_write(reg::IRQ_RAISE, 1, 0x1, &mut fx);
        assert!(fx.is_empty());
        assert_eq!(r(&mut e, reg::LIVENESS), 0);
        assert_eq!(e.interrupt_status(), 0);
        assert!(matches!(
            e.log()[1],
            EduEvent::WriteIgnored {
                reason: IgnoredWrite::AccessSize,
                ..
            }
        ));
    }

    #[test]
    fn intx_disable_keeps_the_level_but_holds_the_line_low() {
        let mut e = edu();
        assert_eq!(e.set_intx_disable(true), None);
        let fx = w(&mut e, reg::IRQ_RAISE, 1);
        assert!(fx.is_empty());
        assert!(e.intx_level(), "PCI status bit 3 follows the level");
        assert_eq!(e.set_intx_disable(false), Some(Effect::IntxAssert));
        assert_eq!(e.set_intx_disable(true), Some(Effect::IntxDeassert));
        assert!(w(&mut e, reg::IRQ_ACK, 1).is_empty());
        assert!(!e.intx_level());
        assert_eq!(e.set_intx_disable(false), None);
    }

    #[test]
    fn pci_reset_drops_intx_and_keeps_registers() {
        let mut e = edu();
        w(&mut e, reg::LIVENESS, 0x55);
        w(&mut e, reg::IRQ_RAISE, 0x10);
        let mut fx = Vec::new();
        e.pci_reset(&mut fx);
        assert_eq!(fx, vec![Effect::IntxDeassert]);
        assert!(!e.bus_master() && !e.msi_enabled() && !e.intx_level());
        assert_eq!(e.interrupt_status(), 0x10);
        assert_eq!(r(&mut e, reg::LIVENESS), u64::from(!0x55_u32));
    }

    #[test]
    fn dma_delay_counts_from_the_whole_millisecond() {
        let mut e = edu();
        e.set_now(5_250_000);
        let fx = program(&mut e, 0, DMA_BUFFER_START, 4, CMD_RUN);
        assert!(fx.contains(&Effect::ArmTimer {
            token: Edu::TOKEN_DMA,
            delay_ns: 99_750_000
        }));
    }

    #[test]
    fn dma_into_own_bar_reaches_the_registers() {
        let mut e = Edu::new(EduConfig {
            dma_mask: u64::MAX,
            ..EduConfig::default()
        });
        e.set_bar0(Some(0xE000_0000));
        let mut mem = TestMemory::default();
        e.buffer_mut()[..4].copy_from_slice(&7_u32.to_le_bytes());
        program(
            &mut e,
            DMA_BUFFER_START,
            0xE000_0060,
            4,
            CMD_RUN | CMD_TO_RAM,
        );
        let mut fx = Vec::new();
        e.timer_fired(Edu::TOKEN_DMA, &mut mem, &mut fx);
        assert_eq!(e.interrupt_status(), 7, "the DMA wrote the raise register");
        assert!(fx.contains(&Effect::IntxAssert));
        program(&mut e, 0xE000_0000, DMA_BUFFER_START, 8, CMD_RUN);
        e.timer_fired(Edu::TOKEN_DMA, &mut mem, &mut fx);
        assert_eq!(
            e.buffer()[..8],
            [0xFF; 8],
            "8-byte read of 0x00 is refused by the device"
        );
    }

    #[test]
    fn dma_registers_accept_4_and_8_byte_access_only() {
        let mut e = edu();
        let mut fx = Vec::new();
        e.mmio_write(reg::DMA_SRC, 8, 0x1_2345_6789_ABCD, &mut fx);
        assert_eq!(e.mmio_read(reg::DMA_SRC, 8), 0x1_2345_6789_ABCD);
        assert_eq!(e.mmio_read(reg::DMA_SRC, 4), 0x6789_ABCD);
        assert_eq!(e.mmio_read(reg::DMA_SRC, 2), 0);
        e.mmio_write(reg::DMA_SRC, 2, 0x55, &mut fx);
        assert_eq!(e.mmio_read(reg::DMA_SRC, 8), 0x1_2345_6789_ABCD);
    }

    #[test]
    fn four_byte_write_to_64_bit_register_zero_extends() {
        let mut e = edu();
        let mut fx = Vec::new();
        e.mmio_write(reg::DMA_DST, 8, 0xFFFF_FFFF_FFFF_FFFF, &mut fx);
        e.mmio_write(reg::DMA_DST, 4, 0xAAAA_BBBB_1234_5678, &mut fx);
        assert_eq!(e.mmio_read(reg::DMA_DST, 8), 0x1234_5678);
    }

    #[test]
    fn unimplemented_offsets_read_all_ones() {
        let mut e = edu();
        for off in [
            0x0C, 0x10, 0x28, 0x7C, 0x84, 0x8C, 0x94, 0x9C, 0xA0, 0x1000, 0xF_FFFC,
        ] {
            assert_eq!(e.mmio_read(off, 4), 0xFFFF_FFFF, "offset {off:#x}");
        }
        assert_eq!(
            e.mmio_read(0x8C, 8),
            0xFFFF_FFFF,
            "0x8c then the low half of 0x90"
        );
        assert_eq!(e.mmio_read(0xA0, 8), u64::MAX);
    }

    #[test]
    fn write_only_registers_read_all_ones() {
        let mut e = edu();
        assert_eq!(r(&mut e, reg::IRQ_RAISE), 0xFFFF_FFFF);
        assert_eq!(r(&mut e, reg::IRQ_ACK), 0xFFFF_FFFF);
    }

    #[test]
    fn writes_to_upper_halves_of_dma_registers_are_ignored() {
        let mut e = edu();
        w(&mut e, 0x84, 0xDEAD_BEEF);
        assert_eq!(e.mmio_read(reg::DMA_SRC, 8), 0);
        assert!(matches!(
            e.log()[0],
            EduEvent::WriteIgnored {
                offset: 0x84,
                reason: IgnoredWrite::Unimplemented,
                ..
            }
        ));
    }

    // ----- §6 factorial -----

    #[test]
    fn factorial_completes_after_delay_and_reads_input_until_then() {
        let mut e = edu();
        let fx = w(&mut e, reg::FACTORIAL, 5);
        assert_eq!(
            fx,
            [Effect::ArmTimer {
                token: Edu::TOKEN_FACTORIAL,
                delay_ns: 1_000
            }]
        );
        assert_eq!(r(&mut e, reg::STATUS), 0x01);
        assert_eq!(r(&mut e, reg::FACTORIAL), 5);
        let mut fx = Vec::new();
        e.timer_fired(Edu::TOKEN_FACTORIAL, &mut TestMemory::default(), &mut fx);
        assert!(fx.is_empty());
        assert_eq!(r(&mut e, reg::FACTORIAL), 120);
        assert_eq!(r(&mut e, reg::STATUS), 0);
        assert_eq!(e.interrupt_status(), 0);
    }

    #[test]
    fn factorial_wraps_modulo_2_pow_32_and_zero_gives_one() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        let mut fx = Vec::new();
        w(&mut e, reg::FACTORIAL, 13);
        e.timer_fired(Edu::TOKEN_FACTORIAL, &mut mem, &mut fx);
        assert_eq!(r(&mut e, reg::FACTORIAL), 0x7328_CC00); // 6227020800 mod 2^32
        w(&mut e, reg::FACTORIAL, 0);
        e.timer_fired(Edu::TOKEN_FACTORIAL, &mut mem, &mut fx);
        assert_eq!(r(&mut e, reg::FACTORIAL), 1);
    }

    #[test]
    fn factorial_write_ignored_while_computing() {
        let mut e = edu();
        w(&mut e, reg::FACTORIAL, 4);
        let fx = w(&mut e, reg::FACTORIAL, 6);
        assert!(fx.is_empty());
        assert_eq!(r(&mut e, reg::FACTORIAL), 4);
        e.timer_fired(
            Edu::TOKEN_FACTORIAL,
            &mut TestMemory::default(),
            &mut Vec::new(),
        );
        assert_eq!(r(&mut e, reg::FACTORIAL), 24);
    }

    #[test]
    fn factorial_raises_cause_1_when_status_bit_0x80_set() {
        let mut e = edu();
        w(&mut e, reg::STATUS, 0x80);
        w(&mut e, reg::FACTORIAL, 3);
        assert_eq!(r(&mut e, reg::STATUS), 0x81);
        let mut fx = Vec::new();
        e.timer_fired(Edu::TOKEN_FACTORIAL, &mut TestMemory::default(), &mut fx);
        assert_eq!(fx, [Effect::IntxAssert]);
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0x1);
        assert_eq!(r(&mut e, reg::STATUS), 0x80);
    }

    #[test]
    fn status_bit_0_not_writable_bit_7_set_and_cleared() {
        let mut e = edu();
        w(&mut e, reg::STATUS, 0xFFFF_FFFF);
        assert_eq!(r(&mut e, reg::STATUS), 0x80);
        w(&mut e, reg::FACTORIAL, 1);
        w(&mut e, reg::STATUS, 0x01);
        assert_eq!(r(&mut e, reg::STATUS), 0x01);
    }

    // ----- §7 interrupts -----

    #[test]
    fn raise_sets_status_and_asserts_intx_once() {
        let mut e = edu();
        assert_eq!(w(&mut e, reg::IRQ_RAISE, 0x10), [Effect::IntxAssert]);
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0x10);
        assert!(e.intx_level());
        assert!(w(&mut e, reg::IRQ_RAISE, 0x20).is_empty());
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0x30);
    }

    #[test]
    fn raise_of_zero_with_empty_status_signals_nothing() {
        let mut e = edu();
        assert!(w(&mut e, reg::IRQ_RAISE, 0).is_empty());
        assert!(!e.intx_level());
        e.set_msi_enabled(true);
        assert!(w(&mut e, reg::IRQ_RAISE, 0).is_empty());
    }

    #[test]
    fn ack_lowers_intx_only_when_status_clears() {
        let mut e = edu();
        w(&mut e, reg::IRQ_RAISE, 0x101);
        assert!(w(&mut e, reg::IRQ_ACK, 0x100).is_empty());
        assert!(e.intx_level());
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0x1);
        assert_eq!(w(&mut e, reg::IRQ_ACK, 0x1), [Effect::IntxDeassert]);
        assert!(!e.intx_level());
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0);
    }

    #[test]
    fn msi_resent_while_status_nonzero() {
        let mut e = edu();
        e.set_msi_enabled(true);
        assert_eq!(w(&mut e, reg::IRQ_RAISE, 0x4), [Effect::Msi]);
        assert_eq!(w(&mut e, reg::IRQ_RAISE, 0), [Effect::Msi]);
        assert_eq!(w(&mut e, reg::IRQ_RAISE, 0x4), [Effect::Msi]);
        assert!(!e.intx_level());
    }

    #[test]
    fn ack_with_msi_lowers_nothing_and_keeps_unacked_bits() {
        let mut e = edu();
        e.set_msi_enabled(true);
        w(&mut e, reg::IRQ_RAISE, 0x3);
        assert!(w(&mut e, reg::IRQ_ACK, 0x1).is_empty());
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0x2);
        assert!(w(&mut e, reg::IRQ_ACK, 0x2).is_empty());
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0);
    }

    #[test]
    fn enabling_msi_releases_intx_and_disabling_does_not_reassert() {
        let mut e = edu();
        w(&mut e, reg::IRQ_RAISE, 0x1);
        assert_eq!(e.set_msi_enabled(true), Some(Effect::IntxDeassert));
        assert_eq!(e.set_msi_enabled(false), None);
        assert!(!e.intx_level());
        assert_eq!(w(&mut e, reg::IRQ_RAISE, 0), [Effect::IntxAssert]);
    }

    #[test]
    fn msi_not_delivered_without_bus_master() {
        let mut e = edu();
        e.set_msi_enabled(true);
        e.set_bus_master(false);
        assert!(w(&mut e, reg::IRQ_RAISE, 0x1).is_empty());
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0x1);
        assert!(matches!(
            e.log().last(),
            Some(EduEvent::Raise {
                signal: IrqSignal::MsiDropped,
                ..
            })
        ));
    }

    // ----- §8 DMA -----

    #[test]
    fn dma_ram_to_device_copies_when_timer_fires() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        let data = pattern(64);
        mem.fill(RAM, &data);
        program(&mut e, RAM, DMA_BUFFER_START + 0x10, 64, 0x5);
        assert_eq!(r(&mut e, reg::DMA_CMD), 0x5);
        assert!(e.buffer()[0x10..0x50].iter().all(|&b| b == 0));
        let mut fx = Vec::new();
        e.timer_fired(Edu::TOKEN_DMA, &mut mem, &mut fx);
        assert_eq!(fx, [Effect::IntxAssert]);
        assert_eq!(&e.buffer()[0x10..0x50], &data[..]);
        assert_eq!(r(&mut e, reg::DMA_CMD), 0x4);
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0x100);
        assert_eq!(e.bytes_moved(), 64);
    }

    #[test]
    fn dma_device_to_ram_copies_and_keeps_registers() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.back(RAM, 32);
        let data = pattern(32);
        e.buffer_mut()[0x100..0x120].copy_from_slice(&data);
        let fx = run(&mut e, &mut mem, DMA_BUFFER_START + 0x100, RAM, 32, 0x3);
        assert!(fx.is_empty());
        assert_eq!(mem.get(RAM, 32), data);
        assert_eq!(e.mmio_read(reg::DMA_CMD, 8), 0x2);
        assert_eq!(e.mmio_read(reg::DMA_SRC, 8), DMA_BUFFER_START + 0x100);
        assert_eq!(e.mmio_read(reg::DMA_DST, 8), RAM);
        assert_eq!(e.mmio_read(reg::DMA_COUNT, 8), 32);
        assert_eq!(e.interrupt_status(), 0);
    }

    #[test]
    fn dma_registers_ignore_writes_while_running() {
        let mut e = edu();
        program(&mut e, RAM, DMA_BUFFER_START, 8, 0x1);
        let mut fx = Vec::new();
        e.mmio_write(reg::DMA_SRC, 8, 0x9999, &mut fx);
        e.mmio_write(reg::DMA_DST, 4, 0x9999, &mut fx);
        e.mmio_write(reg::DMA_COUNT, 8, 0x9999, &mut fx);
        e.mmio_write(reg::DMA_CMD, 8, 0x7, &mut fx);
        assert!(fx.is_empty(), "a second command must not re-arm the timer");
        assert_eq!(e.mmio_read(reg::DMA_SRC, 8), RAM);
        assert_eq!(e.mmio_read(reg::DMA_DST, 8), DMA_BUFFER_START);
        assert_eq!(e.mmio_read(reg::DMA_COUNT, 8), 8);
        assert_eq!(e.mmio_read(reg::DMA_CMD, 8), 0x1);
        let busy = e
            .log()
            .iter()
            .filter(|ev| {
                matches!(
                    ev,
                    EduEvent::WriteIgnored {
                        reason: IgnoredWrite::DmaBusy,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(busy, 4);
    }

    #[test]
    fn command_write_without_run_is_ignored() {
        let mut e = edu();
        let fx = w(&mut e, reg::DMA_CMD, 0x6);
        assert!(fx.is_empty());
        assert_eq!(r(&mut e, reg::DMA_CMD), 0);
    }

    #[test]
    fn dma_without_irq_bit_raises_nothing() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.back(RAM, 4);
        let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 4, 0x1);
        assert!(fx.is_empty());
        assert_eq!(e.interrupt_status(), 0);
        assert_eq!(r(&mut e, reg::DMA_CMD), 0);
    }

    #[test]
    fn dma_mask_truncates_ram_address() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        let data = pattern(16);
        mem.fill(0x0234_5000, &data);
        mem.back(0x3234_5000, 16);
        run(&mut e, &mut mem, 0x3234_5000, DMA_BUFFER_START, 16, 0x1);
        assert_eq!(&e.buffer()[..16], &data[..]);
        let d = last_dma(&e);
        assert_eq!(d.ram_addr, 0x3234_5000);
        assert_eq!(d.ram_addr_used, 0x0234_5000);
        assert!(d.truncated);
        assert_eq!(d.bytes_copied, 16);
    }

    #[test]
    fn dma_mask_of_32_bits_does_not_truncate_below_4g() {
        let mut e = Edu::new(EduConfig {
            dma_mask: 0xFFFF_FFFF,
            ..EduConfig::default()
        });
        let mut mem = TestMemory::default();
        mem.fill(0x8000_0000, &[1, 2, 3]);
        run(&mut e, &mut mem, 0x8000_0000, DMA_BUFFER_START, 3, 0x1);
        assert_eq!(&e.buffer()[..3], &[1, 2, 3]);
        assert!(!last_dma(&e).truncated);
    }

    #[test]
    fn full_4k_from_0x40000_accepted() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        let data = pattern(4096);
        mem.fill(RAM, &data);
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 4096, 0x1);
        assert_eq!(&e.buffer()[..], &data[..]);
        assert_eq!(last_dma(&e).range, RangeCheck::InRange);
        assert!(e.fatal().is_none());
    }

    #[test]
    fn full_4k_from_0x40000_accepted_from_8_2_1() {
        let mut e = edu_with(QemuVersion::AbortFixedBound);
        let mut mem = TestMemory::default();
        mem.fill(RAM, &pattern(4096));
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 4096, 0x1);
        assert!(e.fatal().is_none());
        assert_eq!(e.bytes_moved(), 4096);
    }

    #[test]
    fn full_4k_from_0x40000_aborts_before_8_2_1_but_4095_works() {
        let mut e = edu_with(QemuVersion::AbortOffByOne);
        let mut mem = TestMemory::default();
        mem.fill(RAM, &pattern(4096));
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 4095, 0x1);
        assert!(e.fatal().is_none());
        let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 4096, 0x5);
        assert!(fx.is_empty());
        assert!(e.fatal().is_some());
        let d = last_dma(&e);
        assert_eq!(
            (d.range, d.outcome),
            (RangeCheck::Aborted, EduDmaOutcome::Aborted)
        );
        assert_eq!(e.bytes_moved(), 4095);
        // The VM is gone: the model is inert.
        assert_eq!(r(&mut e, reg::ID), 0xFFFF_FFFF);
    }

    #[test]
    fn zero_count_aborts_up_to_9_0_and_is_a_no_op_after() {
        for (version, aborts) in [
            (QemuVersion::AbortOffByOne, true),
            (QemuVersion::AbortFixedBound, true),
            (QemuVersion::LogAndCopy, false),
            (QemuVersion::LogAndSkip, false),
        ] {
            let mut e = edu_with(version);
            let mut mem = TestMemory::default();
            let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 0, 0x5);
            assert_eq!(e.fatal().is_some(), aborts, "{version:?}");
            assert_eq!(fx.is_empty(), aborts, "{version:?}");
            if !aborts {
                assert_eq!(last_dma(&e).range, RangeCheck::InRange);
                assert_eq!(e.interrupt_status(), 0x100);
            }
        }
    }

    #[test]
    fn out_of_range_skipped_but_completion_signalled() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.fill(RAM, &pattern(0x20));
        e.buffer_mut().fill(0xAA);
        let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START + 0xFF0, 0x20, 0x5);
        assert_eq!(fx, [Effect::IntxAssert]);
        assert!(e.buffer().iter().all(|&b| b == 0xAA));
        assert_eq!(r(&mut e, reg::DMA_CMD), 0x4);
        assert_eq!(e.interrupt_status(), 0x100);
        let d = last_dma(&e);
        assert_eq!((d.range, d.bytes_copied), (RangeCheck::Skipped, 0));
        assert!(e.fatal().is_none());
    }

    #[test]
    fn device_address_below_buffer_is_out_of_range() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.back(RAM, 16);
        run(&mut e, &mut mem, 0x3_FFF0, RAM, 16, 0x3);
        assert_eq!(last_dma(&e).range, RangeCheck::Skipped);
        assert_eq!(last_dma(&e).device_offset, 0u64.wrapping_sub(0x10));
    }

    #[test]
    fn huge_count_is_out_of_range_without_overflow() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START, u64::MAX, 0x1);
        assert_eq!(last_dma(&e).range, RangeCheck::Skipped);
    }

    #[test]
    fn out_of_range_on_9_1_copies_in_buffer_part_and_is_fatal() {
        let mut e = edu_with(QemuVersion::LogAndCopy);
        let mut mem = TestMemory::default();
        let data = pattern(0x20);
        mem.fill(RAM, &data);
        let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START + 0xFF0, 0x20, 0x5);
        assert_eq!(fx, [Effect::IntxAssert]);
        assert_eq!(&e.buffer()[0xFF0..], &data[..0x10]);
        let d = last_dma(&e);
        assert_eq!(
            (d.range, d.bytes_copied),
            (RangeCheck::CopiedOutOfRange, 0x10)
        );
        assert!(e.fatal().is_some());
        assert_eq!(r(&mut e, reg::ID), 0x0100_00ED);
    }

    #[test]
    fn out_of_range_aborts_on_9_0() {
        let mut e = edu_with(QemuVersion::AbortFixedBound);
        let mut mem = TestMemory::default();
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START + 0xFF0, 0x20, 0x5);
        assert!(e.fatal().unwrap().contains("out of bounds"));
        assert_eq!(e.bytes_moved(), 0);
    }

    #[test]
    fn unbacked_ram_reads_as_zero_and_is_logged() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.fill(RAM, &[1, 2, 3, 4]);
        e.buffer_mut().fill(0xAA);
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 8, 0x1);
        assert_eq!(&e.buffer()[..9], &[1, 2, 3, 4, 0, 0, 0, 0, 0xAA]);
        let d = last_dma(&e);
        assert_eq!(d.bus_fault, Some(BusFault { addr: RAM + 4 }));
        assert_eq!((d.bytes_copied, d.unbacked_bytes), (4, 4));
        assert_eq!(e.bytes_moved(), 4);
        assert_eq!(r(&mut e, reg::DMA_CMD), 0);
    }

    #[test]
    fn unbacked_ram_writes_are_dropped() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.back(RAM + 2, 2);
        e.buffer_mut()[..4].copy_from_slice(&[9, 8, 7, 6]);
        run(&mut e, &mut mem, DMA_BUFFER_START, RAM, 4, 0x3);
        assert_eq!(mem.get(RAM + 2, 2), [7, 6]);
        let d = last_dma(&e);
        assert_eq!(d.bus_fault, Some(BusFault { addr: RAM }));
        assert_eq!((d.bytes_copied, d.unbacked_bytes), (2, 2));
    }

    #[test]
    fn dma_without_bus_master_does_not_reach_memory() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.fill(RAM, &[5; 8]);
        e.set_bus_master(false);
        e.buffer_mut().fill(0xAA);
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 4, 0x1);
        assert_eq!(&e.buffer()[..5], &[0, 0, 0, 0, 0xAA]);
        run(&mut e, &mut mem, DMA_BUFFER_START + 4, RAM, 4, 0x3);
        assert_eq!(mem.get(RAM, 8), [5; 8]);
        assert_eq!(e.bytes_moved(), 0);
        assert!(!last_dma(&e).bus_master);
    }

    #[test]
    fn bytes_moved_sums_completed_transfers() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.fill(RAM, &pattern(300));
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 100, 0x1);
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START + 100, 200, 0x1);
        run(&mut e, &mut mem, DMA_BUFFER_START, RAM, 300, 0x3);
        assert_eq!(e.bytes_moved(), 600);
    }

    #[test]
    fn dma_timer_with_run_clear_does_nothing() {
        let mut e = edu();
        let mut fx = Vec::new();
        e.timer_fired(Edu::TOKEN_DMA, &mut TestMemory::default(), &mut fx);
        assert!(fx.is_empty());
        assert!(e.log().is_empty());
    }

    // ----- faults -----

    #[test]
    fn fault_hang_drops_the_command_after_the_delay() {
        let mut e = Edu::new(EduConfig::default());
        e.inject(EduFault::Hang { ns: 5_000 }, &mut Vec::new());
        let mut fx = Vec::new();
        e.mmio_write(0x80, 8, 0x1000, &mut fx);
        e.mmio_write(0x88, 8, 0x40000, &mut fx);
        e.mmio_write(0x90, 8, 16, &mut fx);
        e.mmio_write(0x98, 8, CMD_RUN | CMD_IRQ, &mut fx);
        let mut fx = Vec::new();
        e.timer_fired(Edu::TOKEN_DMA, &mut TestMemory::default(), &mut fx);
        assert_eq!(
            fx,
            vec![Effect::ArmTimer {
                token: Edu::TOKEN_UNHANG,
                delay_ns: 5_000
            }]
        );
        assert_eq!(
            e.mmio_read(0x98, 8) & CMD_RUN,
            CMD_RUN,
            "still running while hung"
        );
        e.timer_fired(
            Edu::TOKEN_UNHANG,
            &mut TestMemory::default(),
            &mut Vec::new(),
        );
        assert_eq!(
            e.mmio_read(0x98, 8) & CMD_RUN,
            0,
            "the engine dropped the command"
        );
        assert_eq!(e.interrupt_status(), 0, "no completion interrupt");
        assert_eq!(e.bytes_moved(), 0);
    }

    #[test]
    fn fault_stuck_engine_never_clears_run() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.fill(RAM, &[1; 8]);
        e.inject(EduFault::StuckEngine, &mut Vec::new());
        let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 8, 0x5);
        assert!(fx.is_empty());
        assert_eq!(r(&mut e, reg::DMA_CMD), 0x5);
        assert_eq!(e.interrupt_status(), 0);
        assert!(e.buffer()[..8].iter().all(|&b| b == 0));
        assert_eq!(last_dma(&e).outcome, EduDmaOutcome::Stuck);
        // Still busy: a new command is ignored.
        assert!(w(&mut e, reg::DMA_CMD, 0x1).is_empty());
        assert_eq!(e.bytes_moved(), 0);
    }

    #[test]
    fn fault_lost_interrupt_sets_status_without_signal() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.fill(RAM, &[7; 4]);
        e.inject(EduFault::LostInterrupt, &mut Vec::new());
        let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 4, 0x5);
        assert!(fx.is_empty());
        assert!(!e.intx_level());
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0x100);
        assert_eq!(r(&mut e, reg::DMA_CMD), 0x4);
        assert_eq!(&e.buffer()[..4], &[7; 4]);
        // The line stays low until the next raise, which then signals the pending bit.
        assert_eq!(w(&mut e, reg::IRQ_RAISE, 0), [Effect::IntxAssert]);
        // One-shot: the next command interrupts normally.
        w(&mut e, reg::IRQ_ACK, 0x100);
        let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 4, 0x5);
        assert_eq!(fx, [Effect::IntxAssert]);
    }

    #[test]
    fn fault_late_interrupt_signals_after_extra_delay() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.fill(RAM, &[3; 4]);
        e.inject(
            EduFault::LateInterrupt {
                extra_ns: 5_000_000,
            },
            &mut Vec::new(),
        );
        let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 4, 0x5);
        let token = Edu::TOKEN_LATE_IRQ_BASE;
        assert_eq!(
            fx,
            [Effect::ArmTimer {
                token,
                delay_ns: 5_000_000
            }]
        );
        assert_eq!(r(&mut e, reg::DMA_CMD), 0x4);
        assert_eq!(&e.buffer()[..4], &[3; 4]);
        assert_eq!(e.interrupt_status(), 0);
        let mut fx = Vec::new();
        e.timer_fired(token, &mut mem, &mut fx);
        assert_eq!(fx, [Effect::IntxAssert]);
        assert_eq!(e.interrupt_status(), 0x100);
        // A second firing of the same token does nothing.
        fx.clear();
        e.timer_fired(token, &mut mem, &mut fx);
        assert!(fx.is_empty());
    }

    #[test]
    fn fault_spurious_interrupt_pulses_intx_with_empty_status() {
        let mut e = edu();
        let mut fx = Vec::new();
        e.inject(EduFault::SpuriousInterrupt, &mut fx);
        assert_eq!(fx, [Effect::IntxAssert, Effect::IntxDeassert]);
        assert_eq!(e.interrupt_status(), 0);
        assert!(!e.intx_level());
    }

    #[test]
    fn fault_spurious_interrupt_sends_msi_with_empty_status() {
        let mut e = edu();
        let mut fx = Vec::new();
        assert_eq!(e.set_msi_enabled(true), None);
        e.inject(EduFault::SpuriousInterrupt, &mut fx);
        assert_eq!(fx, [Effect::Msi]);
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0);
    }

    #[test]
    fn fault_short_copy_copies_prefix_only() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        let data = pattern(64);
        mem.fill(RAM, &data);
        e.inject(EduFault::ShortCopy { bytes: 10 }, &mut Vec::new());
        let fx = run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 64, 0x5);
        assert_eq!(fx, [Effect::IntxAssert]);
        assert_eq!(&e.buffer()[..10], &data[..10]);
        assert!(e.buffer()[10..64].iter().all(|&b| b == 0));
        assert_eq!(r(&mut e, reg::DMA_CMD), 0x4);
        assert_eq!(e.bytes_moved(), 10);
        assert_eq!(last_dma(&e).short_copy, Some(10));
    }

    #[test]
    fn fault_surprise_removal_reads_all_ones_and_drops_pending_dma() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.fill(RAM, &[1; 4]);
        w(&mut e, reg::IRQ_RAISE, 0x8);
        program(&mut e, RAM, DMA_BUFFER_START, 4, 0x5);
        let mut fx = Vec::new();
        e.inject(EduFault::SurpriseRemoval, &mut fx);
        assert_eq!(
            fx,
            [
                Effect::CancelTimer {
                    token: Edu::TOKEN_DMA
                },
                Effect::IntxDeassert
            ]
        );
        assert_eq!(r(&mut e, reg::ID), 0xFFFF_FFFF);
        assert_eq!(e.mmio_read(reg::DMA_CMD, 8), u64::MAX);
        assert_eq!(r(&mut e, reg::IRQ_STATUS), 0xFFFF_FFFF);
        assert!(w(&mut e, reg::IRQ_RAISE, 0x1).is_empty());
        fx.clear();
        e.timer_fired(Edu::TOKEN_DMA, &mut mem, &mut fx);
        assert!(fx.is_empty());
        assert_eq!(e.bytes_moved(), 0);
        assert!(e.is_removed());
    }

    #[test]
    fn faults_apply_to_next_command_not_running_one() {
        let mut e = edu();
        let mut mem = TestMemory::default();
        mem.fill(RAM, &[2; 8]);
        program(&mut e, RAM, DMA_BUFFER_START, 8, 0x1);
        e.inject(EduFault::ShortCopy { bytes: 1 }, &mut Vec::new());
        e.timer_fired(Edu::TOKEN_DMA, &mut mem, &mut Vec::new());
        assert_eq!(e.bytes_moved(), 8);
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 8, 0x1);
        assert_eq!(e.bytes_moved(), 9);
        run(&mut e, &mut mem, RAM, DMA_BUFFER_START, 8, 0x1);
        assert_eq!(e.bytes_moved(), 17);
    }
}

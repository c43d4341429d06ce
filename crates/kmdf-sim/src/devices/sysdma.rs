//! A platform DMA controller and a FIFO peripheral, for the system-mode DMA profile.
//!
//! **This is a simulator device, not a real product.** It stands for the usual system-on-chip
//! arrangement that Windows describes with an ACPI `FixedDMA` resource: a peripheral with no DMA
//! engine of its own, a shared DMA controller owned by the HAL, and a request line (DREQ) from
//! the peripheral to the controller. It is deliberately small.
//!
//! # The two parts
//!
//! * [`DmaController`]: programmed only by the simulated HAL (the engine), never by the driver.
//!   Each channel moves one contiguous memory range to or from the peripheral's data port, one
//!   chunk per timer tick, so a stop in the middle leaves a real partial count. In demand mode a
//!   channel moves data only while the peripheral asserts its request line ([`FifoPeripheral::dreq`]);
//!   without demand mode it moves data whether or not the peripheral is ready, and bytes the
//!   peripheral cannot take or supply are lost (the peripheral flags overrun / underrun).
//!   Completion, error and cancellation are reported through [`DmaController::take_completion`],
//!   which the engine turns into the HAL completion routine and from there into KMDF's
//!   `EvtDmaTransactionDmaTransferComplete`.
//! * [`FifoPeripheral`]: the device the driver programs through a 4 KiB MMIO BAR. Its backing store
//!   is a 4 KiB ring, so a driver can offer the same I/O semantics as with `edu`: byte `i` of a
//!   transfer lands at (or comes from) ring offset `(OFFSET + i) % 4096`.
//!
//! # Peripheral registers (32-bit accesses only; anything else reads all ones, writes ignored)
//!
//! | Offset | Name | Access | Behaviour |
//! | --- | --- | --- | --- |
//! | `0x00` | ID | RO | `0x534D_0001` |
//! | `0x04` | LIVENESS | RW | A write stores the bitwise complement; initial 0 |
//! | `0x08` | CTRL | RW | Bit 0 `DREQ_ENABLE`, bit 1 DIR (1 = peripheral to memory), bit 2 RESET (self-clearing, reads 0). A write with RESET set clears CTRL, STATUS and COUNT and ignores the other bits; otherwise bits 0..1 are stored and, if bit 0 is set, COUNT is cleared. |
//! | `0x0C` | STATUS | RO | Bit 0 OVERRUN (a byte was pushed while the port was not accepting), bit 1 UNDERRUN (a byte was popped while the port was not supplying); cleared only by RESET |
//! | `0x10` | DATA | RW | The data port: a write pushes 4 bytes (little-endian), a read pops 4 bytes |
//! | `0x14` | COUNT | RO | Bytes moved through the data port since the last RESET or CTRL write with bit 0 set (wraps at 2³²) |
//! | `0x18` | OFFSET | RW | Ring position of the next byte; writes keep the low 12 bits; advances and wraps at 4096 |
//!
//! The data port *accepts* bytes while `DREQ_ENABLE` is set with DIR = 0 and *supplies* bytes
//! while `DREQ_ENABLE` is set with DIR = 1; the request line is asserted whenever `DREQ_ENABLE` is
//! set (the ring can always take or give a byte). There is no staging FIFO beyond the ring, so
//! RESET "empties the FIFO" trivially: it leaves the ring contents and OFFSET alone. A rejected push
//! drops the byte; a rejected pop returns 0. Neither counts in COUNT nor moves OFFSET. The
//! peripheral raises no interrupts: completion comes from the controller through the HAL.
//!
//! # Controller model
//!
//! * Throughput [`ControllerConfig::bytes_per_us`], moved in chunks of
//!   [`ControllerConfig::chunk_bytes`]; a chunk of `n` bytes takes `ceil(n·1000/bytes_per_us)` ns
//!   and its bytes move when its timer fires. Defaults: 64 bytes/µs and 256-byte chunks, so 4096
//!   bytes take 16 ticks of 4 µs = 64 µs.
//! * In demand mode a tick that finds the request line low moves nothing and polls again one full
//!   chunk time later.
//! * Memory is byte-granular, with no width or alignment rules (`DmaWidth` is not modelled).
//! * A [`BusFault`] ends the transfer with [`CompletionStatus::Error`]; the bytes before the faulting
//!   address still count.
//! * If [`ControllerConfig::data_port`] is set, a transfer whose device address is not that port
//!   ends with [`CompletionStatus::Error`] and 0 further bytes at its first tick.
//! * [`DmaController::stop`] invalidates the channel's pending timer (tokens carry a generation,
//!   so a stale timer that still fires is ignored) and queues one [`CompletionStatus::Cancelled`]
//!   completion. A stop after the transfer finished reports `already_finished` and queues nothing:
//!   a transfer never gets two completions.
//!
//! # Simulator extensions
//!
//! Fault injection ([`ControllerFault`], [`PeripheralFault`]) and the controller's event log.

use core::fmt;
use core::mem;
use std::collections::VecDeque;

use super::{BusFault, DmaBus, Effect};

/// Size in bytes of the peripheral's MMIO BAR.
pub const BAR_SIZE: u64 = 0x1000;
/// Size in bytes of the peripheral's ring buffer.
pub const RING_SIZE: usize = 4096;
/// Value of the peripheral's ID register.
pub const PERIPHERAL_ID: u32 = 0x534D_0001;
/// Largest chunk the controller moves per tick.
pub const MAX_CHUNK_BYTES: u32 = 4096;

/// Peripheral register offsets.
pub mod reg {
    /// Identification (RO).
    pub const ID: u64 = 0x00;
    /// Liveness check (RW, stores the complement).
    pub const LIVENESS: u64 = 0x04;
    /// Control (RW).
    pub const CTRL: u64 = 0x08;
    /// Status (RO).
    pub const STATUS: u64 = 0x0C;
    /// Data port (RW, 4 bytes per access).
    pub const DATA: u64 = 0x10;
    /// Bytes moved through the data port (RO).
    pub const COUNT: u64 = 0x14;
    /// Ring position of the next byte (RW).
    pub const OFFSET: u64 = 0x18;
}

/// CTRL bit 0: assert the DMA request line and open the data port.
pub const CTRL_DREQ_ENABLE: u32 = 0x1;
/// CTRL bit 1: direction, set = peripheral to memory (a read from the device).
pub const CTRL_DIR_TO_MEMORY: u32 = 0x2;
/// CTRL bit 2: reset (self-clearing).
pub const CTRL_RESET: u32 = 0x4;
/// STATUS bit 0: a byte was pushed while the data port was not accepting.
pub const STATUS_OVERRUN: u32 = 0x1;
/// STATUS bit 1: a byte was popped while the data port was not supplying.
pub const STATUS_UNDERRUN: u32 = 0x2;

/// Faults of the peripheral (simulator extensions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeripheralFault {
    /// From now on MMIO reads return all ones, writes are ignored, the request line stays low,
    /// pushed bytes are dropped and popped bytes read `0xFF`.
    SurpriseRemoval,
}

/// The FIFO peripheral the driver programs. See the module documentation for its registers.
#[derive(Clone, Debug)]
pub struct FifoPeripheral {
    liveness: u32,
    ctrl: u32,
    status: u32,
    count: u32,
    offset: usize,
    ring: [u8; RING_SIZE],
    removed: bool,
}

impl Default for FifoPeripheral {
    fn default() -> Self {
        Self::new()
    }
}

impl FifoPeripheral {
    /// A peripheral in its power-on state: all registers 0, ring zeroed.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            liveness: 0,
            ctrl: 0,
            status: 0,
            count: 0,
            offset: 0,
            ring: [0; RING_SIZE],
            removed: false,
        }
    }

    /// Bus address of the data port of a peripheral whose BAR starts at `bar_base`.
    #[must_use]
    pub const fn data_port_addr(bar_base: u64) -> u64 {
        bar_base.wrapping_add(reg::DATA)
    }

    /// An MMIO read of `size` bytes at BAR `offset`. A read of DATA pops 4 bytes.
    pub fn mmio_read(&mut self, offset: u64, size: u8) -> u64 {
        if self.removed || size != 4 {
            return all_ones(size);
        }
        let value = match offset {
            reg::ID => PERIPHERAL_ID,
            reg::LIVENESS => self.liveness,
            reg::CTRL => self.ctrl,
            reg::STATUS => self.status,
            reg::DATA => {
                let bytes = [
                    self.fifo_pop(),
                    self.fifo_pop(),
                    self.fifo_pop(),
                    self.fifo_pop(),
                ];
                u32::from_le_bytes(bytes)
            }
            reg::COUNT => self.count,
            reg::OFFSET => u32::try_from(self.offset).unwrap_or(u32::MAX),
            _ => return all_ones(size),
        };
        u64::from(value)
    }

    /// An MMIO write of `size` bytes at BAR `offset`. A write of DATA pushes 4 bytes. The
    /// peripheral has no interrupts, so it never pushes effects; the parameter keeps the calling
    /// convention of the other models.
    pub fn mmio_write(&mut self, offset: u64, size: u8, value: u64, _effects: &mut Vec<Effect>) {
        if self.removed || size != 4 {
            return;
        }
        let [a, b, c, d, ..] = value.to_le_bytes();
        let value = u32::from_le_bytes([a, b, c, d]);
        match offset {
            reg::LIVENESS => self.liveness = !value,
            reg::CTRL => {
                if value & CTRL_RESET == 0 {
                    self.ctrl = value & (CTRL_DREQ_ENABLE | CTRL_DIR_TO_MEMORY);
                    if value & CTRL_DREQ_ENABLE != 0 {
                        self.count = 0;
                    }
                } else {
                    self.ctrl = 0;
                    self.status = 0;
                    self.count = 0;
                }
            }
            reg::DATA => {
                for byte in [a, b, c, d] {
                    self.fifo_push(byte);
                }
            }
            reg::OFFSET => self.offset = ring_index(value),
            _ => {}
        }
    }

    /// The peripheral arms no timers, so this does nothing; it exists so that the engine can
    /// dispatch timers to every model part alike.
    pub const fn timer_fired(&mut self, token: u64, effects: &mut Vec<Effect>) {
        let _ = (token, effects);
    }

    /// Whether the peripheral asserts its DMA request line.
    #[must_use]
    pub const fn dreq(&self) -> bool {
        !self.removed && self.ctrl & CTRL_DREQ_ENABLE != 0
    }

    /// The controller (or a CPU write of DATA) delivers one byte to the data port.
    pub fn fifo_push(&mut self, byte: u8) {
        if self.removed {
            return;
        }
        if self.ctrl & (CTRL_DREQ_ENABLE | CTRL_DIR_TO_MEMORY) == CTRL_DREQ_ENABLE {
            if let Some(slot) = self.ring.get_mut(self.offset) {
                *slot = byte;
            }
            self.advance();
        } else {
            self.status |= STATUS_OVERRUN;
        }
    }

    /// The controller (or a CPU read of DATA) takes one byte from the data port.
    pub fn fifo_pop(&mut self) -> u8 {
        if self.removed {
            return 0xFF;
        }
        if self.ctrl & (CTRL_DREQ_ENABLE | CTRL_DIR_TO_MEMORY)
            == CTRL_DREQ_ENABLE | CTRL_DIR_TO_MEMORY
        {
            let byte = self.ring.get(self.offset).copied().unwrap_or(0);
            self.advance();
            byte
        } else {
            self.status |= STATUS_UNDERRUN;
            0
        }
    }

    /// The ring buffer.
    #[must_use]
    pub const fn ring(&self) -> &[u8; RING_SIZE] {
        &self.ring
    }

    /// Back door to the ring for test setup (simulator extension).
    pub const fn ring_mut(&mut self) -> &mut [u8; RING_SIZE] {
        &mut self.ring
    }

    /// Injects a fault; it applies at once.
    pub const fn inject(&mut self, fault: PeripheralFault) {
        match fault {
            PeripheralFault::SurpriseRemoval => self.removed = true,
        }
    }

    /// Whether [`PeripheralFault::SurpriseRemoval`] has been injected.
    #[must_use]
    pub const fn is_removed(&self) -> bool {
        self.removed
    }

    const fn advance(&mut self) {
        self.offset = (self.offset + 1) % RING_SIZE;
        self.count = self.count.wrapping_add(1);
    }
}

/// Construction parameters of a [`DmaController`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerConfig {
    /// Throughput in bytes per microsecond of virtual time (0 is treated as 1). Default 64.
    pub bytes_per_us: u64,
    /// Number of channels. Default 4.
    pub channels: u32,
    /// Bytes moved per timer tick, clamped to `1..=4096`. Default 256.
    pub chunk_bytes: u32,
    /// If set, the only device address that reaches the peripheral (its data port); transfers
    /// aimed elsewhere end with [`CompletionStatus::Error`]. Default `None` (no check).
    pub data_port: Option<u64>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            bytes_per_us: 64,
            channels: 4,
            chunk_bytes: 256,
            data_port: None,
        }
    }
}

/// Direction of a controller transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferDirection {
    /// Memory to peripheral (a write to the device).
    MemoryToDevice,
    /// Peripheral to memory (a read from the device).
    DeviceToMemory,
}

/// What the HAL programs into a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferSpec {
    /// Bus address of the memory side (one contiguous range).
    pub mem_addr: u64,
    /// Number of bytes (must be non-zero).
    pub length: u32,
    /// Direction.
    pub direction: TransferDirection,
    /// Bus address of the device side (the peripheral's data port).
    pub device_addr: u64,
    /// Move data only while the peripheral asserts its request line.
    pub demand_mode: bool,
}

/// Why the controller refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerError {
    /// The channel number is not below [`ControllerConfig::channels`].
    NoSuchChannel,
    /// The channel already has a transfer in progress (running or stalled).
    Busy,
    /// A transfer of zero bytes.
    ZeroLength,
}

impl fmt::Display for ControllerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoSuchChannel => "no such DMA channel",
            Self::Busy => "DMA channel busy",
            Self::ZeroLength => "zero-length DMA transfer",
        })
    }
}

impl std::error::Error for ControllerError {}

/// How a transfer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionStatus {
    /// All requested bytes moved (or, with [`ControllerFault::ShortTransfer`], fewer).
    Complete,
    /// The transfer failed (bus fault, wrong device address, or [`ControllerFault::Error`]).
    Error,
    /// The transfer was stopped by [`DmaController::stop`].
    Cancelled,
}

/// One finished transfer, for the HAL completion routine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControllerCompletion {
    /// Channel number.
    pub channel: u32,
    /// How it ended.
    pub status: CompletionStatus,
    /// Bytes really moved.
    pub bytes: u64,
}

/// Result of [`DmaController::stop`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopOutcome {
    /// Bytes moved by the transfer, up to the stop (or in total, if it had finished).
    pub bytes: u64,
    /// The transfer had already finished (completed, failed or been stopped) before this call; no
    /// new completion was queued.
    pub already_finished: bool,
    /// False if the channel does not exist or has never been started (then nothing happened).
    pub started: bool,
}

impl StopOutcome {
    /// The outcome for a channel with nothing to stop.
    pub const NOT_STARTED: Self = Self {
        bytes: 0,
        already_finished: false,
        started: false,
    };
}

/// Faults of the controller (simulator extensions). One pending fault at a time (a new injection
/// replaces it); it applies to the next transfer started on any channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerFault {
    /// The transfer ends with [`CompletionStatus::Error`] once `after_bytes` bytes have moved (or
    /// at the end of the transfer, if it is shorter).
    Error {
        /// Bytes moved before the error.
        after_bytes: u32,
    },
    /// The transfer stops making progress once `after_bytes` bytes have moved and never
    /// completes; only [`DmaController::stop`] ends it.
    Stall {
        /// Bytes moved before the stall.
        after_bytes: u32,
    },
    /// The transfer stops moving once `after_bytes` bytes have moved, for `ns` nanoseconds,
    /// then goes on to its end (a channel held up by a higher-priority one or by the bus). A
    /// pause at or past the transfer's end has no effect.
    Pause {
        /// Bytes moved before the pause.
        after_bytes: u32,
        /// How long the pause lasts.
        ns: u64,
    },
    /// The transfer completes with [`CompletionStatus::Complete`] after moving only `bytes` bytes,
    /// and reports that count.
    ShortTransfer {
        /// Bytes moved.
        bytes: u32,
    },
}

/// A channel's state as seen from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelState {
    /// Never started.
    Idle,
    /// Transfer in progress.
    Running {
        /// Bytes moved so far.
        moved: u32,
    },
    /// Transfer stalled by [`ControllerFault::Stall`].
    Stalled {
        /// Bytes moved before the stall.
        moved: u32,
    },
    /// Last transfer finished.
    Finished {
        /// How it ended.
        status: CompletionStatus,
        /// Bytes it moved.
        bytes: u32,
    },
}

/// One entry of the controller's event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerEvent {
    /// A transfer was started.
    Started {
        /// Channel number.
        channel: u32,
        /// What was programmed.
        spec: TransferSpec,
        /// The injected fault that applies to it, if any.
        fault: Option<ControllerFault>,
    },
    /// The memory side of a transfer hit unbacked memory.
    BusFault {
        /// Channel number.
        channel: u32,
        /// Where.
        fault: BusFault,
    },
    /// A transfer's device address was not the configured data port.
    WrongDeviceAddress {
        /// Channel number.
        channel: u32,
        /// The address programmed.
        device_addr: u64,
    },
    /// A transfer stalled ([`ControllerFault::Stall`]).
    Stalled {
        /// Channel number.
        channel: u32,
        /// Bytes moved before the stall.
        bytes: u32,
    },
    /// A transfer finished and its completion was queued.
    Finished(ControllerCompletion),
    /// [`DmaController::stop`] was called on a started channel.
    Stopped {
        /// Channel number.
        channel: u32,
        /// Bytes reported.
        bytes: u64,
        /// Whether it had already finished.
        already_finished: bool,
    },
}

/// How a transfer ends once it reaches its byte limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EndAction {
    Complete,
    Error,
    Stall,
}

#[derive(Clone, Copy, Debug)]
struct Transfer {
    spec: TransferSpec,
    moved: u32,
    limit: u32,
    end: EndAction,
    /// A pause still to come: at this many bytes moved, for this many nanoseconds.
    pause: Option<(u32, u64)>,
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Idle,
    Running(Transfer),
    Stalled(Transfer),
    Finished {
        status: CompletionStatus,
        bytes: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct Channel {
    generation: u32,
    slot: Slot,
}

/// The platform DMA controller. See the module documentation.
#[derive(Clone, Debug)]
pub struct DmaController {
    config: ControllerConfig,
    channels: Vec<Channel>,
    pending_fault: Option<ControllerFault>,
    completions: VecDeque<ControllerCompletion>,
    log: Vec<ControllerEvent>,
    bytes_moved: u64,
}

impl DmaController {
    /// The data port transfers must aim at, if the controller checks it.
    #[must_use]
    pub const fn data_port(&self) -> Option<u64> {
        self.config.data_port
    }

    /// Moves the data port the controller checks against (the peripheral's BAR moved).
    pub const fn set_data_port(&mut self, port: Option<u64>) {
        self.config.data_port = port;
    }

    /// A controller with all channels idle.
    #[must_use]
    pub fn new(config: ControllerConfig) -> Self {
        let mut config = config;
        config.bytes_per_us = config.bytes_per_us.max(1);
        config.chunk_bytes = config.chunk_bytes.clamp(1, MAX_CHUNK_BYTES);
        let idle = Channel {
            generation: 0,
            slot: Slot::Idle,
        };
        let count = usize::try_from(config.channels).unwrap_or(0);
        Self {
            config,
            channels: vec![idle; count],
            pending_fault: None,
            completions: VecDeque::new(),
            log: Vec::new(),
            bytes_moved: 0,
        }
    }

    /// The configuration in effect (after clamping).
    #[must_use]
    pub const fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// Timer token of `channel`'s current transfer generation.
    #[must_use]
    pub fn token(channel: u32, generation: u32) -> u64 {
        (u64::from(generation) << 32) | u64::from(channel)
    }

    /// Starts a transfer on `channel` (called by the simulated HAL): `length` bytes between memory
    /// at bus address `mem_addr` and the device at bus address `device_addr`, memory to device if
    /// `to_device`, else device to memory; in demand mode data moves only while the peripheral
    /// asserts its request line. Arms the channel's first tick.
    ///
    /// # Errors
    ///
    /// [`ControllerError::NoSuchChannel`], [`ControllerError::Busy`] if a transfer is running or
    /// stalled on the channel, [`ControllerError::ZeroLength`].
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors what the HAL hands a controller: channel, memory range, direction, \
                  device address and mode"
    )]
    pub fn start(
        &mut self,
        channel: u32,
        mem_addr: u64,
        length: u32,
        to_device: bool,
        device_addr: u64,
        demand_mode: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<(), ControllerError> {
        let spec = TransferSpec {
            mem_addr,
            length,
            direction: if to_device {
                TransferDirection::MemoryToDevice
            } else {
                TransferDirection::DeviceToMemory
            },
            device_addr,
            demand_mode,
        };
        self.start_transfer(channel, spec, effects)
    }

    /// [`DmaController::start`] with the parameters in one value.
    ///
    /// # Errors
    ///
    /// As [`DmaController::start`].
    pub fn start_transfer(
        &mut self,
        channel: u32,
        spec: TransferSpec,
        effects: &mut Vec<Effect>,
    ) -> Result<(), ControllerError> {
        let chunk = self.config.chunk_bytes;
        let poll = self.chunk_delay_ns(chunk);
        let ch = channel_mut(&mut self.channels, channel).ok_or(ControllerError::NoSuchChannel)?;
        if matches!(ch.slot, Slot::Running(_) | Slot::Stalled(_)) {
            return Err(ControllerError::Busy);
        }
        if spec.length == 0 {
            return Err(ControllerError::ZeroLength);
        }
        let fault = self.pending_fault.take();
        let mut pause = None;
        let (limit, end) = match fault {
            None => (spec.length, EndAction::Complete),
            Some(ControllerFault::Pause { after_bytes, ns }) => {
                pause = Some((after_bytes.min(spec.length), ns));
                (spec.length, EndAction::Complete)
            }
            Some(ControllerFault::Error { after_bytes }) => {
                (after_bytes.min(spec.length), EndAction::Error)
            }
            Some(ControllerFault::Stall { after_bytes }) => {
                (after_bytes.min(spec.length), EndAction::Stall)
            }
            Some(ControllerFault::ShortTransfer { bytes }) => {
                (bytes.min(spec.length), EndAction::Complete)
            }
        };
        ch.generation = ch.generation.wrapping_add(1);
        ch.slot = Slot::Running(Transfer {
            spec,
            moved: 0,
            limit,
            end,
            pause: pause.filter(|&(at, _)| at > 0),
        });
        let token = Self::token(channel, ch.generation);
        let first = chunk.min(limit);
        let paused = pause.filter(|&(at, _)| at == 0).map_or(0, |(_, ns)| ns);
        let delay_ns = if first == 0 {
            poll
        } else {
            self.chunk_delay_ns(first)
        }
        .saturating_add(paused);
        effects.push(Effect::ArmTimer { token, delay_ns });
        super::log_event(
            &mut self.log,
            ControllerEvent::Started {
                channel,
                spec,
                fault,
            },
        );
        Ok(())
    }

    /// Stops `channel` (the HAL's cancel of a mapped transfer). A running or stalled transfer ends
    /// at once with the bytes moved so far and one [`CompletionStatus::Cancelled`] completion is
    /// queued. A finished transfer is left alone and reported with `already_finished`. A channel
    /// that does not exist or has never been started reports `started: false`; nothing happens.
    pub fn stop(&mut self, channel: u32) -> StopOutcome {
        let Some(ch) = channel_mut(&mut self.channels, channel) else {
            return StopOutcome::NOT_STARTED;
        };
        let outcome = match ch.slot {
            Slot::Idle => return StopOutcome::NOT_STARTED,
            Slot::Running(t) | Slot::Stalled(t) => {
                ch.generation = ch.generation.wrapping_add(1);
                let bytes = u64::from(t.moved);
                ch.slot = Slot::Finished {
                    status: CompletionStatus::Cancelled,
                    bytes: t.moved,
                };
                self.completions.push_back(ControllerCompletion {
                    channel,
                    status: CompletionStatus::Cancelled,
                    bytes,
                });
                StopOutcome {
                    bytes,
                    already_finished: false,
                    started: true,
                }
            }
            Slot::Finished { bytes, .. } => StopOutcome {
                bytes: u64::from(bytes),
                already_finished: true,
                started: true,
            },
        };
        super::log_event(
            &mut self.log,
            ControllerEvent::Stopped {
                channel,
                bytes: outcome.bytes,
                already_finished: outcome.already_finished,
            },
        );
        outcome
    }

    /// A timer armed by the controller has fired: moves the channel's next chunk between memory
    /// and the peripheral. Unknown and stale tokens are ignored.
    pub fn timer_fired(
        &mut self,
        token: u64,
        bus: &mut dyn DmaBus,
        peripheral: &mut FifoPeripheral,
        effects: &mut Vec<Effect>,
    ) {
        let [c0, c1, c2, c3, g0, g1, g2, g3] = token.to_le_bytes();
        let channel = u32::from_le_bytes([c0, c1, c2, c3]);
        let generation = u32::from_le_bytes([g0, g1, g2, g3]);
        let chunk = self.config.chunk_bytes;
        let poll = self.chunk_delay_ns(chunk);
        let data_port = self.config.data_port;
        let Some(ch) = channel_mut(&mut self.channels, channel) else {
            return;
        };
        if ch.generation != generation {
            return;
        }
        let Slot::Running(mut t) = ch.slot else {
            return;
        };

        if t.spec.demand_mode && !peripheral.dreq() {
            effects.push(Effect::ArmTimer {
                token,
                delay_ns: poll,
            });
            return;
        }

        let failed = if data_port.is_some_and(|port| port != t.spec.device_addr) {
            super::log_event(
                &mut self.log,
                ControllerEvent::WrongDeviceAddress {
                    channel,
                    device_addr: t.spec.device_addr,
                },
            );
            true
        } else {
            let until_pause = t
                .pause
                .map_or(u32::MAX, |(at, _)| at.saturating_sub(t.moved));
            let n = chunk.min(t.limit.saturating_sub(t.moved)).min(until_pause);
            let mem_addr = t.spec.mem_addr.wrapping_add(u64::from(t.moved));
            let (done, fault) = move_chunk(t.spec.direction, bus, peripheral, mem_addr, n);
            t.moved = t.moved.saturating_add(done);
            self.bytes_moved = self.bytes_moved.saturating_add(u64::from(done));
            if let Some(fault) = fault {
                super::log_event(&mut self.log, ControllerEvent::BusFault { channel, fault });
            }
            fault.is_some()
        };

        let status = if failed {
            CompletionStatus::Error
        } else if t.moved < t.limit {
            let paused = match t.pause {
                Some((at, ns)) if t.moved >= at => {
                    t.pause = None;
                    ns
                }
                _ => 0,
            };
            ch.slot = Slot::Running(t);
            let next = chunk.min(t.limit - t.moved);
            let delay_ns = chunk_delay_ns(self.config.bytes_per_us, next).saturating_add(paused);
            effects.push(Effect::ArmTimer { token, delay_ns });
            return;
        } else {
            match t.end {
                EndAction::Complete => CompletionStatus::Complete,
                EndAction::Error => CompletionStatus::Error,
                EndAction::Stall => {
                    ch.slot = Slot::Stalled(t);
                    super::log_event(
                        &mut self.log,
                        ControllerEvent::Stalled {
                            channel,
                            bytes: t.moved,
                        },
                    );
                    return;
                }
            }
        };
        ch.slot = Slot::Finished {
            status,
            bytes: t.moved,
        };
        let completion = ControllerCompletion {
            channel,
            status,
            bytes: u64::from(t.moved),
        };
        self.completions.push_back(completion);
        super::log_event(&mut self.log, ControllerEvent::Finished(completion));
    }

    /// The oldest completion not yet taken, if any.
    pub fn take_completion(&mut self) -> Option<ControllerCompletion> {
        self.completions.pop_front()
    }

    /// Injects a fault for the next transfer started on any channel (replacing a pending one).
    pub const fn inject(&mut self, fault: ControllerFault) {
        self.pending_fault = Some(fault);
    }

    /// The state of `channel`, or `None` if there is no such channel.
    #[must_use]
    pub fn channel_state(&self, channel: u32) -> Option<ChannelState> {
        let ch = self.channels.get(usize::try_from(channel).ok()?)?;
        Some(match ch.slot {
            Slot::Idle => ChannelState::Idle,
            Slot::Running(t) => ChannelState::Running { moved: t.moved },
            Slot::Stalled(t) => ChannelState::Stalled { moved: t.moved },
            Slot::Finished { status, bytes } => ChannelState::Finished { status, bytes },
        })
    }

    /// Total bytes moved by all channels since creation.
    #[must_use]
    pub const fn bytes_moved(&self) -> u64 {
        self.bytes_moved
    }

    /// The event log, oldest first: the most recent events only, at least
    /// [`super::LOG_KEEP`] of them.
    #[must_use]
    pub fn log(&self) -> &[ControllerEvent] {
        &self.log
    }

    /// Removes and returns the event log.
    pub fn take_log(&mut self) -> Vec<ControllerEvent> {
        mem::take(&mut self.log)
    }

    fn chunk_delay_ns(&self, bytes: u32) -> u64 {
        chunk_delay_ns(self.config.bytes_per_us, bytes)
    }
}

/// Virtual time to move `bytes` at `bytes_per_us`, rounded up, at least 1 ns.
fn chunk_delay_ns(bytes_per_us: u64, bytes: u32) -> u64 {
    let per_us = bytes_per_us.max(1);
    (u64::from(bytes) * 1000).div_ceil(per_us).max(1)
}

fn channel_mut(channels: &mut [Channel], channel: u32) -> Option<&mut Channel> {
    usize::try_from(channel)
        .ok()
        .and_then(|i| channels.get_mut(i))
}

/// Moves up to `n` bytes; returns the bytes moved and the bus fault that cut the chunk short.
fn move_chunk(
    direction: TransferDirection,
    bus: &mut dyn DmaBus,
    peripheral: &mut FifoPeripheral,
    mem_addr: u64,
    n: u32,
) -> (u32, Option<BusFault>) {
    let mut scratch = [0_u8; MAX_CHUNK_BYTES as usize];
    let Some(buf) = usize::try_from(n).ok().and_then(|n| scratch.get_mut(..n)) else {
        return (0, None);
    };
    match direction {
        TransferDirection::MemoryToDevice => {
            let (good, fault) = match bus.read(mem_addr, buf) {
                Ok(()) => (buf.len(), None),
                Err(fault) => {
                    let prefix = prefix_len(mem_addr, fault, buf.len());
                    let good = buf.get_mut(..prefix).map_or(0, |p| {
                        if bus.read(mem_addr, p).is_ok() {
                            prefix
                        } else {
                            0
                        }
                    });
                    (good, Some(fault))
                }
            };
            for &byte in buf.iter().take(good) {
                peripheral.fifo_push(byte);
            }
            (u32::try_from(good).unwrap_or(0), fault)
        }
        TransferDirection::DeviceToMemory => {
            for slot in buf.iter_mut() {
                *slot = peripheral.fifo_pop();
            }
            match bus.write(mem_addr, buf) {
                Ok(()) => (n, None),
                Err(fault) => {
                    let prefix = prefix_len(mem_addr, fault, buf.len());
                    let good = buf.get(..prefix).map_or(0, |p| {
                        if bus.write(mem_addr, p).is_ok() {
                            prefix
                        } else {
                            0
                        }
                    });
                    (u32::try_from(good).unwrap_or(0), Some(fault))
                }
            }
        }
    }
}

/// Number of bytes of an access at `start` of `len` bytes that lie before `fault`.
fn prefix_len(start: u64, fault: BusFault, len: usize) -> usize {
    fault
        .addr
        .checked_sub(start)
        .and_then(|d| usize::try_from(d).ok())
        .map_or(0, |d| d.min(len))
}

/// The ring index selected by an OFFSET write (low 12 bits).
fn ring_index(value: u32) -> usize {
    usize::try_from(value).map_or(0, |v| v % RING_SIZE)
}

/// All ones truncated to an access of `size` bytes.
const fn all_ones(size: u8) -> u64 {
    match size {
        0 => 0,
        1..=7 => (1_u64 << (8 * size)) - 1,
        _ => u64::MAX,
    }
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::super::test_support::TestMemory;
    use super::*;

    const BAR: u64 = 0xFE00_0000;
    const PORT: u64 = BAR + 0x10;
    const MEM: u64 = 0x20_0000;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| u8::try_from((i * 13 + 5) % 256).unwrap())
            .collect()
    }

    fn w(p: &mut FifoPeripheral, offset: u64, value: u32) {
        let mut fx = Vec::new();
        p.mmio_write(offset, 4, u64::from(value), &mut fx);
        assert!(fx.is_empty());
    }

    fn r(p: &mut FifoPeripheral, offset: u64) -> u64 {
        p.mmio_read(offset, 4)
    }

    /// A tiny event loop over virtual time for the controller's timers.
    struct Clock {
        now: u64,
        timers: Vec<(u64, u64)>, // (deadline, token)
    }

    impl Clock {
        fn new() -> Self {
            Self {
                now: 0,
                timers: Vec::new(),
            }
        }

        fn arm(&mut self, effects: Vec<Effect>) {
            for e in effects {
                match e {
                    Effect::ArmTimer { token, delay_ns } => {
                        self.timers.push((self.now + delay_ns, token));
                    }
                    other => panic!("unexpected effect {other:?}"),
                }
            }
        }

        /// Fires the earliest timer; false if none is pending.
        fn step(
            &mut self,
            c: &mut DmaController,
            mem: &mut TestMemory,
            p: &mut FifoPeripheral,
        ) -> bool {
            let Some(i) = (0..self.timers.len()).min_by_key(|&i| self.timers[i]) else {
                return false;
            };
            let (when, token) = self.timers.remove(i);
            self.now = when;
            let mut fx = Vec::new();
            c.timer_fired(token, mem, p, &mut fx);
            self.arm(fx);
            true
        }

        fn run(
            &mut self,
            c: &mut DmaController,
            mem: &mut TestMemory,
            p: &mut FifoPeripheral,
            max_steps: usize,
        ) -> usize {
            let mut steps = 0;
            while steps < max_steps && self.step(c, mem, p) {
                steps += 1;
            }
            steps
        }
    }

    fn spec(direction: TransferDirection, length: u32, demand_mode: bool) -> TransferSpec {
        TransferSpec {
            mem_addr: MEM,
            length,
            direction,
            device_addr: PORT,
            demand_mode,
        }
    }

    fn controller() -> DmaController {
        DmaController::new(ControllerConfig {
            data_port: Some(PORT),
            ..ControllerConfig::default()
        })
    }

    fn start(c: &mut DmaController, clock: &mut Clock, channel: u32, s: TransferSpec) {
        let mut fx = Vec::new();
        c.start_transfer(channel, s, &mut fx).unwrap();
        clock.arm(fx);
    }

    // ----- peripheral registers -----

    #[test]
    fn peripheral_id_reads_0x534d0001_and_ignores_writes() {
        let mut p = FifoPeripheral::new();
        assert_eq!(r(&mut p, reg::ID), 0x534D_0001);
        w(&mut p, reg::ID, 0);
        assert_eq!(r(&mut p, reg::ID), 0x534D_0001);
    }

    #[test]
    fn peripheral_liveness_returns_complement() {
        let mut p = FifoPeripheral::new();
        assert_eq!(r(&mut p, reg::LIVENESS), 0);
        w(&mut p, reg::LIVENESS, 0x0F0F_1234);
        assert_eq!(r(&mut p, reg::LIVENESS), 0xF0F0_EDCB);
    }

    #[test]
    fn peripheral_non_32_bit_access_reads_all_ones_and_is_ignored() {
        let mut p = FifoPeripheral::new();
        assert_eq!(p.mmio_read(reg::ID, 8), u64::MAX);
        assert_eq!(p.mmio_read(reg::ID, 2), 0xFFFF);
        assert_eq!(p.mmio_read(reg::ID, 1), 0xFF);
        p.mmio_write(reg::LIVENESS, 8, 5, &mut Vec::new());
        p.mmio_write(reg::CTRL, 2, 1, &mut Vec::new());
        assert_eq!(r(&mut p, reg::LIVENESS), 0);
        assert!(!p.dreq());
    }

    #[test]
    fn peripheral_unimplemented_offsets_read_all_ones() {
        let mut p = FifoPeripheral::new();
        for off in [0x1C, 0x20, 0x02, 0xFFC, 0x1000] {
            assert_eq!(r(&mut p, off), 0xFFFF_FFFF, "offset {off:#x}");
        }
    }

    #[test]
    fn ctrl_reads_back_enable_and_dir_only() {
        let mut p = FifoPeripheral::new();
        w(&mut p, reg::CTRL, 0xFFFF_FFF3);
        assert_eq!(r(&mut p, reg::CTRL), 0x3);
        assert!(p.dreq());
        w(&mut p, reg::CTRL, 0x2);
        assert_eq!(r(&mut p, reg::CTRL), 0x2);
        assert!(!p.dreq());
    }

    #[test]
    fn status_count_and_id_are_read_only() {
        let mut p = FifoPeripheral::new();
        w(&mut p, reg::STATUS, 0x3);
        w(&mut p, reg::COUNT, 0x55);
        assert_eq!(r(&mut p, reg::STATUS), 0);
        assert_eq!(r(&mut p, reg::COUNT), 0);
    }

    #[test]
    fn data_port_write_pushes_four_bytes_little_endian() {
        let mut p = FifoPeripheral::new();
        w(&mut p, reg::OFFSET, 0x100);
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        w(&mut p, reg::DATA, 0x4433_2211);
        assert_eq!(&p.ring()[0x100..0x104], &[0x11, 0x22, 0x33, 0x44]);
        assert_eq!(r(&mut p, reg::COUNT), 4);
        assert_eq!(r(&mut p, reg::OFFSET), 0x104);
        assert_eq!(r(&mut p, reg::STATUS), 0);
    }

    #[test]
    fn data_port_read_pops_four_bytes_little_endian() {
        let mut p = FifoPeripheral::new();
        p.ring_mut()[8..12].copy_from_slice(&[0xAA, 0xBB, 0xCC, 0xDD]);
        w(&mut p, reg::OFFSET, 8);
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE | CTRL_DIR_TO_MEMORY);
        assert_eq!(r(&mut p, reg::DATA), 0xDDCC_BBAA);
        assert_eq!(r(&mut p, reg::COUNT), 4);
        assert_eq!(r(&mut p, reg::OFFSET), 12);
    }

    #[test]
    fn offset_keeps_low_12_bits_and_ring_wraps_at_4096() {
        let mut p = FifoPeripheral::new();
        w(&mut p, reg::OFFSET, 0x1FFE);
        assert_eq!(r(&mut p, reg::OFFSET), 0xFFE);
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        w(&mut p, reg::DATA, 0x0403_0201);
        assert_eq!(&p.ring()[0xFFE..], &[1, 2]);
        assert_eq!(&p.ring()[..2], &[3, 4]);
        assert_eq!(r(&mut p, reg::OFFSET), 2);
    }

    #[test]
    fn push_while_not_accepting_sets_overrun_and_drops_byte() {
        let mut p = FifoPeripheral::new();
        p.fifo_push(0x77); // not enabled
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE | CTRL_DIR_TO_MEMORY);
        p.fifo_push(0x77); // wrong direction
        assert_eq!(r(&mut p, reg::STATUS), u64::from(STATUS_OVERRUN));
        assert_eq!(r(&mut p, reg::COUNT), 0);
        assert_eq!(r(&mut p, reg::OFFSET), 0);
        assert!(p.ring().iter().all(|&b| b == 0));
    }

    #[test]
    fn pop_while_not_supplying_sets_underrun_and_returns_zero() {
        let mut p = FifoPeripheral::new();
        p.ring_mut()[0] = 9;
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        assert_eq!(p.fifo_pop(), 0);
        assert_eq!(r(&mut p, reg::STATUS), u64::from(STATUS_UNDERRUN));
        assert_eq!(r(&mut p, reg::OFFSET), 0);
    }

    #[test]
    fn reset_clears_ctrl_status_count_but_keeps_ring_and_offset() {
        let mut p = FifoPeripheral::new();
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        w(&mut p, reg::DATA, 0x0403_0201);
        p.fifo_pop();
        w(&mut p, reg::CTRL, CTRL_RESET | CTRL_DREQ_ENABLE);
        assert_eq!(r(&mut p, reg::CTRL), 0);
        assert_eq!(r(&mut p, reg::STATUS), 0);
        assert_eq!(r(&mut p, reg::COUNT), 0);
        assert_eq!(r(&mut p, reg::OFFSET), 4);
        assert_eq!(&p.ring()[..4], &[1, 2, 3, 4]);
        assert!(!p.dreq());
    }

    #[test]
    fn ctrl_write_setting_dreq_enable_clears_count() {
        let mut p = FifoPeripheral::new();
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        w(&mut p, reg::DATA, 0);
        assert_eq!(r(&mut p, reg::COUNT), 4);
        w(&mut p, reg::CTRL, 0);
        assert_eq!(r(&mut p, reg::COUNT), 4);
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        assert_eq!(r(&mut p, reg::COUNT), 0);
    }

    #[test]
    fn data_port_addr_is_bar_plus_0x10() {
        assert_eq!(FifoPeripheral::data_port_addr(BAR), 0xFE00_0010);
    }

    #[test]
    fn peripheral_surprise_removal_reads_all_ones() {
        let mut p = FifoPeripheral::new();
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE | CTRL_DIR_TO_MEMORY);
        p.inject(PeripheralFault::SurpriseRemoval);
        assert!(!p.dreq());
        assert_eq!(r(&mut p, reg::ID), 0xFFFF_FFFF);
        assert_eq!(r(&mut p, reg::COUNT), 0xFFFF_FFFF);
        assert_eq!(p.fifo_pop(), 0xFF);
        w(&mut p, reg::CTRL, CTRL_RESET);
        assert!(p.is_removed());
    }

    // ----- controller -----

    #[test]
    fn start_rejects_bad_channel_zero_length_and_busy_channel() {
        let mut c = controller();
        let mut fx = Vec::new();
        let s = spec(TransferDirection::MemoryToDevice, 16, false);
        assert_eq!(
            c.start_transfer(4, s, &mut fx),
            Err(ControllerError::NoSuchChannel)
        );
        let zero = TransferSpec { length: 0, ..s };
        assert_eq!(
            c.start_transfer(0, zero, &mut fx),
            Err(ControllerError::ZeroLength)
        );
        assert!(fx.is_empty());
        c.start(0, MEM, 16, true, PORT, false, &mut fx).unwrap();
        assert_eq!(c.start_transfer(0, s, &mut fx), Err(ControllerError::Busy));
        assert!(matches!(
            c.log()[0],
            ControllerEvent::Started { spec, .. } if spec == s
        ));
        assert_eq!(
            fx,
            [Effect::ArmTimer {
                token: DmaController::token(0, 1),
                delay_ns: 250
            }]
        );
    }

    #[test]
    fn memory_to_peripheral_transfer_moves_all_bytes() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        let data = pattern(4096);
        mem.fill(MEM, &data);
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        start(
            &mut c,
            &mut clock,
            1,
            spec(TransferDirection::MemoryToDevice, 4096, true),
        );
        let steps = clock.run(&mut c, &mut mem, &mut p, 100);
        assert_eq!(steps, 16);
        assert_eq!(clock.now, 64_000);
        assert_eq!(&p.ring()[..], &data[..]);
        assert_eq!(r(&mut p, reg::COUNT), 4096);
        assert_eq!(r(&mut p, reg::STATUS), 0);
        assert_eq!(
            c.take_completion(),
            Some(ControllerCompletion {
                channel: 1,
                status: CompletionStatus::Complete,
                bytes: 4096
            })
        );
        assert_eq!(c.take_completion(), None);
        assert_eq!(c.bytes_moved(), 4096);
    }

    #[test]
    fn peripheral_to_memory_transfer_moves_all_bytes_with_ring_wrap() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        let data = pattern(4096);
        p.ring_mut().copy_from_slice(&data);
        mem.back(MEM, 600);
        w(&mut p, reg::OFFSET, 0xF00);
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE | CTRL_DIR_TO_MEMORY);
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::DeviceToMemory, 600, true),
        );
        let steps = clock.run(&mut c, &mut mem, &mut p, 100);
        assert_eq!(steps, 3); // 256 + 256 + 88
        assert_eq!(clock.now, 4_000 + 4_000 + 1_375);
        let expected: Vec<u8> = (0..600).map(|i| data[(0xF00 + i) % 4096]).collect();
        assert_eq!(mem.get(MEM, 600), expected);
        assert_eq!(r(&mut p, reg::OFFSET), (0xF00 + 600) % 4096);
        assert_eq!(r(&mut p, reg::COUNT), 600);
        let done = c.take_completion().unwrap();
        assert_eq!((done.status, done.bytes), (CompletionStatus::Complete, 600));
    }

    #[test]
    fn demand_mode_makes_no_progress_until_dreq_enable() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(512));
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 512, true),
        );
        clock.run(&mut c, &mut mem, &mut p, 10);
        assert_eq!(c.channel_state(0), Some(ChannelState::Running { moved: 0 }));
        assert_eq!(r(&mut p, reg::STATUS), 0);
        assert_eq!(c.take_completion(), None);
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        clock.run(&mut c, &mut mem, &mut p, 10);
        assert_eq!(&p.ring()[..512], &pattern(512)[..]);
        assert_eq!(c.take_completion().unwrap().bytes, 512);
    }

    #[test]
    fn non_demand_mode_moves_without_dreq_and_peripheral_flags_overrun() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(64));
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 64, false),
        );
        clock.run(&mut c, &mut mem, &mut p, 10);
        let done = c.take_completion().unwrap();
        assert_eq!((done.status, done.bytes), (CompletionStatus::Complete, 64));
        assert_eq!(r(&mut p, reg::STATUS), u64::from(STATUS_OVERRUN));
        assert_eq!(r(&mut p, reg::COUNT), 0);
        assert!(p.ring().iter().all(|&b| b == 0));
    }

    #[test]
    fn stop_in_the_middle_reports_real_partial_count() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(4096));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        start(
            &mut c,
            &mut clock,
            2,
            spec(TransferDirection::MemoryToDevice, 4096, true),
        );
        for _ in 0..3 {
            assert!(clock.step(&mut c, &mut mem, &mut p));
        }
        let out = c.stop(2);
        assert_eq!(
            out,
            StopOutcome {
                bytes: 768,
                already_finished: false,
                started: true
            }
        );
        assert_eq!(
            c.take_completion(),
            Some(ControllerCompletion {
                channel: 2,
                status: CompletionStatus::Cancelled,
                bytes: 768
            })
        );
        // The stale timer still fires but moves nothing.
        assert_eq!(clock.run(&mut c, &mut mem, &mut p, 100), 1);
        assert_eq!(r(&mut p, reg::COUNT), 768);
        assert_eq!(&p.ring()[..768], &pattern(768)[..]);
        assert!(p.ring()[768..].iter().all(|&b| b == 0));
        assert_eq!(c.take_completion(), None);
    }

    #[test]
    fn stale_timer_of_stopped_transfer_does_not_advance_the_next_one() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(1024));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 1024, true),
        );
        assert!(clock.step(&mut c, &mut mem, &mut p));
        assert_eq!(c.stop(0).bytes, 256);
        w(&mut p, reg::OFFSET, 0);
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 512, true),
        );
        // Two live ticks for 512 bytes plus the one stale tick, which must move nothing.
        assert_eq!(clock.run(&mut c, &mut mem, &mut p, 100), 3);
        assert_eq!(
            c.take_completion().unwrap().status,
            CompletionStatus::Cancelled
        );
        assert_eq!(
            c.take_completion(),
            Some(ControllerCompletion {
                channel: 0,
                status: CompletionStatus::Complete,
                bytes: 512
            })
        );
        assert_eq!(r(&mut p, reg::COUNT), 768);
        assert_eq!(c.bytes_moved(), 768);
    }

    #[test]
    fn stop_after_completion_reports_already_finished_without_new_completion() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(16));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 16, true),
        );
        clock.run(&mut c, &mut mem, &mut p, 10);
        let out = c.stop(0);
        assert_eq!(
            out,
            StopOutcome {
                bytes: 16,
                already_finished: true,
                started: true
            }
        );
        assert_eq!(
            c.take_completion().unwrap().status,
            CompletionStatus::Complete
        );
        assert_eq!(c.take_completion(), None);
    }

    #[test]
    fn stop_on_never_started_or_missing_channel_does_nothing() {
        let mut c = controller();
        assert_eq!(c.stop(0), StopOutcome::NOT_STARTED);
        assert_eq!(c.stop(9), StopOutcome::NOT_STARTED);
        assert_eq!(c.take_completion(), None);
        assert!(c.log().is_empty());
    }

    #[test]
    fn channels_run_independently() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(256));
        mem.back(MEM + 0x1000, 256);
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 256, true),
        );
        let other = TransferSpec {
            mem_addr: MEM + 0x1000,
            ..spec(TransferDirection::MemoryToDevice, 256, true)
        };
        start(&mut c, &mut clock, 3, other);
        clock.run(&mut c, &mut mem, &mut p, 10);
        let a = c.take_completion().unwrap();
        let b = c.take_completion().unwrap();
        assert_eq!((a.channel, a.bytes), (0, 256));
        assert_eq!((b.channel, b.bytes), (3, 256));
        assert_eq!(&p.ring()[..256], &pattern(256)[..]);
        assert!(p.ring()[256..512].iter().all(|&b| b == 0));
    }

    #[test]
    fn bus_fault_ends_transfer_with_error_and_prefix_count() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(300));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 512, true),
        );
        clock.run(&mut c, &mut mem, &mut p, 10);
        assert_eq!(
            c.take_completion(),
            Some(ControllerCompletion {
                channel: 0,
                status: CompletionStatus::Error,
                bytes: 300
            })
        );
        assert_eq!(&p.ring()[..300], &pattern(300)[..]);
        assert_eq!(r(&mut p, reg::COUNT), 300);
        assert!(c.log().contains(&ControllerEvent::BusFault {
            channel: 0,
            fault: BusFault { addr: MEM + 300 }
        }));
    }

    #[test]
    fn wrong_device_address_ends_with_error() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(16));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        let s = TransferSpec {
            device_addr: BAR,
            ..spec(TransferDirection::MemoryToDevice, 16, true)
        };
        start(&mut c, &mut clock, 0, s);
        clock.run(&mut c, &mut mem, &mut p, 10);
        let done = c.take_completion().unwrap();
        assert_eq!((done.status, done.bytes), (CompletionStatus::Error, 0));
        assert_eq!(r(&mut p, reg::COUNT), 0);
    }

    #[test]
    fn fault_error_stops_with_error_after_bytes() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(1024));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        c.inject(ControllerFault::Error { after_bytes: 300 });
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 1024, true),
        );
        assert_eq!(clock.run(&mut c, &mut mem, &mut p, 100), 2);
        assert_eq!(
            c.take_completion(),
            Some(ControllerCompletion {
                channel: 0,
                status: CompletionStatus::Error,
                bytes: 300
            })
        );
        assert_eq!(r(&mut p, reg::COUNT), 300);
        // One-shot: the next transfer completes.
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 16, true),
        );
        clock.run(&mut c, &mut mem, &mut p, 100);
        assert_eq!(
            c.take_completion().unwrap().status,
            CompletionStatus::Complete
        );
    }

    #[test]
    fn fault_pause_holds_the_transfer_then_completes_it() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(1024));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        let pause = 5_000_000;
        c.inject(ControllerFault::Pause {
            after_bytes: 300,
            ns: pause,
        });
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 1024, true),
        );
        // Not before the pause is over.
        while clock.now < pause {
            assert_eq!(c.take_completion(), None, "at {} ns", clock.now);
            if clock.run(&mut c, &mut mem, &mut p, 1) == 0 {
                break;
            }
        }
        clock.run(&mut c, &mut mem, &mut p, 100);
        assert!(clock.now > pause, "{} ns", clock.now);
        assert_eq!(
            c.take_completion(),
            Some(ControllerCompletion {
                channel: 0,
                status: CompletionStatus::Complete,
                bytes: 1024
            })
        );
        assert_eq!(p.ring()[..1024], pattern(1024)[..]);
    }

    #[test]
    fn fault_stall_stops_progress_without_completion() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(1024));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        c.inject(ControllerFault::Stall { after_bytes: 512 });
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 1024, true),
        );
        assert_eq!(clock.run(&mut c, &mut mem, &mut p, 100), 2);
        assert_eq!(c.take_completion(), None);
        assert_eq!(
            c.channel_state(0),
            Some(ChannelState::Stalled { moved: 512 })
        );
        let mut fx = Vec::new();
        let s = spec(TransferDirection::MemoryToDevice, 8, true);
        assert_eq!(c.start_transfer(0, s, &mut fx), Err(ControllerError::Busy));
        assert_eq!(c.stop(0).bytes, 512);
        assert_eq!(
            c.take_completion().unwrap().status,
            CompletionStatus::Cancelled
        );
    }

    #[test]
    fn fault_stall_at_zero_bytes_moves_nothing() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(64));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        c.inject(ControllerFault::Stall { after_bytes: 0 });
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 64, true),
        );
        assert_eq!(clock.run(&mut c, &mut mem, &mut p, 100), 1);
        assert_eq!(c.channel_state(0), Some(ChannelState::Stalled { moved: 0 }));
        assert_eq!(r(&mut p, reg::COUNT), 0);
    }

    #[test]
    fn fault_short_transfer_completes_with_real_count() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.back(MEM, 1024);
        p.ring_mut().copy_from_slice(&pattern(4096));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE | CTRL_DIR_TO_MEMORY);
        c.inject(ControllerFault::ShortTransfer { bytes: 100 });
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::DeviceToMemory, 1024, true),
        );
        clock.run(&mut c, &mut mem, &mut p, 100);
        assert_eq!(
            c.take_completion(),
            Some(ControllerCompletion {
                channel: 0,
                status: CompletionStatus::Complete,
                bytes: 100
            })
        );
        assert_eq!(mem.get(MEM, 100), pattern(100));
        assert!(mem.get(MEM + 100, 924).iter().all(|&b| b == 0));
        assert_eq!(c.bytes_moved(), 100);
    }

    #[test]
    fn peripheral_removal_during_demand_transfer_stops_progress() {
        let mut c = controller();
        let mut clock = Clock::new();
        let mut mem = TestMemory::default();
        let mut p = FifoPeripheral::new();
        mem.fill(MEM, &pattern(1024));
        w(&mut p, reg::CTRL, CTRL_DREQ_ENABLE);
        start(
            &mut c,
            &mut clock,
            0,
            spec(TransferDirection::MemoryToDevice, 1024, true),
        );
        clock.step(&mut c, &mut mem, &mut p);
        p.inject(PeripheralFault::SurpriseRemoval);
        clock.run(&mut c, &mut mem, &mut p, 20);
        assert_eq!(
            c.channel_state(0),
            Some(ChannelState::Running { moved: 256 })
        );
        assert_eq!(c.take_completion(), None);
    }

    #[test]
    fn config_is_clamped() {
        let c = DmaController::new(ControllerConfig {
            bytes_per_us: 0,
            chunk_bytes: 1_000_000,
            ..ControllerConfig::default()
        });
        assert_eq!(c.config().bytes_per_us, 1);
        assert_eq!(c.config().chunk_bytes, 4096);
        assert_eq!(c.channel_state(3), Some(ChannelState::Idle));
        assert_eq!(c.channel_state(4), None);
    }
}

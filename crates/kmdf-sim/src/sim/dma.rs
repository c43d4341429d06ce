//! DMA enablers, transactions, common buffers and the simulated HAL behind them
//! (`kmdf-dma-semantics.md` §1–§4, §6).
//!
//! The transaction state machine follows §2.1, with the Transfer state split into the
//! sub-states of the simulator note there: waiting for map registers, programmed (a transfer
//! handed to `EvtProgramDma` and not yet completed), and between transfers.

use std::collections::VecDeque;

use super::engine;
use super::hw::Model;
use super::io::wdf_status;
use super::mem::{BlockId, PAGE, Placement};
use super::objects::{Id, Kind, handle};
use super::{Event, Irql, State, with};
use crate::devices::sysdma::CompletionStatus;
use crate::mirror::constants::{
    STATUS_BUFFER_TOO_SMALL, STATUS_CANCELLED, STATUS_INFO_LENGTH_MISMATCH,
    STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_PARAMETER,
    STATUS_MORE_PROCESSING_REQUIRED, STATUS_SUCCESS, STATUS_UNSUCCESSFUL,
};
use crate::mirror::types::{
    _WDF_DMA_DIRECTION, _WDF_DMA_PROFILE, DMA_COMPLETION_STATUS, NTSTATUS,
    PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE, PFN_WDF_PROGRAM_DMA, SCATTER_GATHER_ELEMENT,
    WDF_DMA_ENABLER_CONFIG, WDF_DMA_SYSTEM_PROFILE_CONFIG,
};
use crate::verifier::Severity;

const PAGE_USIZE: usize = 4096;

/// Configuration of a system-profile adapter (§1.7).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SystemConfig {
    pub(crate) demand: bool,
    pub(crate) device_address: u64,
    pub(crate) hw: usize,
    /// The controller channel and request line the adapter was built for.
    pub(crate) request: (u32, u32),
}

/// A WDFDMAENABLER and its adapter.
pub(crate) struct Enabler {
    pub(crate) device: Id,
    pub(crate) profile: i32,
    pub(crate) maximum_length: usize,
    pub(crate) width: u32,
    pub(crate) version: u32,
    pub(crate) map_registers: u32,
    pub(crate) fragment_length: usize,
    /// System profiles: the configuration per direction (index = `WDF_DMA_DIRECTION`). A
    /// non-duplex enabler is configured once for both.
    pub(crate) system: [Option<SystemConfig>; 2],
    pub(crate) pool: Option<BlockId>,
    pub(crate) registers_free: Vec<bool>,
    pub(crate) waiters: VecDeque<Id>,
}

impl Enabler {
    const fn packet_like(&self) -> bool {
        matches!(
            self.profile,
            _WDF_DMA_PROFILE::WdfDmaProfilePacket
                | _WDF_DMA_PROFILE::WdfDmaProfilePacket64
                | _WDF_DMA_PROFILE::WdfDmaProfileSystem
                | _WDF_DMA_PROFILE::WdfDmaProfileSystemDuplex
        )
    }

    const fn is_system(&self) -> bool {
        matches!(
            self.profile,
            _WDF_DMA_PROFILE::WdfDmaProfileSystem | _WDF_DMA_PROFILE::WdfDmaProfileSystemDuplex
        )
    }

    const fn is_duplex_system(&self) -> bool {
        self.profile == _WDF_DMA_PROFILE::WdfDmaProfileSystemDuplex
    }

    /// The system configuration that serves `direction`, if that direction was configured.
    pub(crate) fn system_for(&self, direction: i32) -> Option<SystemConfig> {
        usize::try_from(direction)
            .ok()
            .and_then(|d| self.system.get(d).copied().flatten())
    }

    /// Whether any direction was configured.
    pub(crate) fn system_configured(&self) -> bool {
        self.system.iter().any(Option::is_some)
    }

    const fn is_packet(&self) -> bool {
        matches!(
            self.profile,
            _WDF_DMA_PROFILE::WdfDmaProfilePacket | _WDF_DMA_PROFILE::WdfDmaProfilePacket64
        )
    }

    /// First bus address the device cannot reach.
    const fn limit(&self) -> u64 {
        if self.width >= 64 {
            u64::MAX
        } else {
            1u64 << self.width
        }
    }

    /// First fit of `count` contiguous free map registers.
    fn take_registers(&mut self, count: u32) -> Option<u32> {
        let count = count as usize;
        let total = self.registers_free.len();
        (0..=total.checked_sub(count)?)
            .find(|start| {
                self.registers_free
                    .get(*start..start + count)
                    .is_some_and(|run| run.iter().all(|f| *f))
            })
            .map(|start| {
                for slot in self.registers_free.iter_mut().skip(start).take(count) {
                    *slot = false;
                }
                u32::try_from(start).unwrap_or(0)
            })
    }

    fn give_registers(&mut self, first: u32, count: u32) {
        for slot in self
            .registers_free
            .iter_mut()
            .skip(first as usize)
            .take(count as usize)
        {
            *slot = true;
        }
    }
}

/// Transaction states of §2.1 (Reserved and Deleted are not modelled as states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxState {
    Created,
    Initialized,
    /// Executing; see [`Sub`].
    Transfer(Sub),
    Completed,
    Failed,
    Released,
}

impl TxState {
    /// The numeric state KMDF reports in bugcheck parameter 3.
    const fn number(self) -> u32 {
        match self {
            Self::Created => 1,
            Self::Initialized => 3,
            Self::Transfer(_) => 4,
            Self::Completed => 5,
            Self::Failed => 6,
            Self::Released => 7,
        }
    }
}

/// Sub-states of Transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sub {
    /// `Execute` returned; the HAL has not granted map registers yet.
    Waiting,
    /// The HAL granted the map registers and its adapter-control routine is on its way (on
    /// another processor): `WdfDmaTransactionCancel` can no longer win, `EvtProgramDma` (or,
    /// after a stop, an invented `DmaCancelled` notification) follows.
    Granted,
    /// A transfer was handed to `EvtProgramDma` and awaits its `DmaCompleted*`.
    Programmed,
}

/// The logical mapping of the transfer in flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mapping {
    /// Offset of the transfer within the transaction's buffer.
    pub(crate) offset: usize,
    /// Bounce copy: pool byte offset of the transfer's first byte.
    pub(crate) bounce: Option<usize>,
}

/// A WDFDMATRANSACTION.
#[expect(
    clippy::struct_excessive_bools,
    reason = "each flag is one independent fact of KMDF's transaction (and HAL) state"
)]
pub(crate) struct Transaction {
    pub(crate) enabler: Id,
    pub(crate) state: TxState,
    pub(crate) request: Option<Id>,
    pub(crate) irp_ref: bool,
    pub(crate) direction: i32,
    /// Block, byte offset of the transaction's first byte in it, length.
    pub(crate) buffer: (BlockId, usize, usize),
    pub(crate) program: PFN_WDF_PROGRAM_DMA,
    pub(crate) context: usize,
    pub(crate) transferred: usize,
    pub(crate) current: usize,
    pub(crate) mfl: usize,
    pub(crate) stopped: bool,
    pub(crate) transfer_complete: PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE,
    pub(crate) transfer_complete_context: usize,
    pub(crate) device_offset: u32,
    pub(crate) registers: Option<(u32, u32)>,
    pub(crate) mapping: Option<Mapping>,
    /// The transfer-complete notification for the mapped transfer has arrived.
    pub(crate) notified: bool,
    pub(crate) generation: u64,
    /// Bytes the hardware really moved in this transaction (system DMA controller count).
    pub(crate) moved: u64,
    /// The scatter/gather list of the mapped transfer (scatter/gather profiles only: it lives
    /// until the transfer ends, §2.5).
    pub(crate) sg_list: Option<Vec<u64>>,
    /// `EvtProgramDma` is running for this transaction (KMDF is staging it).
    pub(crate) staging: bool,
    /// A HAL completion that arrived while staging: KMDF delivers it on the staging thread as
    /// soon as `EvtProgramDma` returns (§3.1), nested in the caller of the staging.
    pub(crate) held: Option<(i32, u64)>,
    /// `EvtProgramDma` was called and returned for this initialisation (Learn forbids a later
    /// `Cancel`).
    pub(crate) programmed_once: bool,
    /// Bus ranges the device may access for the mapped transfer (its SG elements); empty when
    /// no transfer is mapped. The "DMA after the end" rule checks device accesses against them.
    pub(crate) windows: Vec<(u64, u64)>,
}

impl Transaction {
    /// Resets what belongs to one initialisation (stop, offsets, notifications, counts).
    const fn fresh_initialisation(&mut self) {
        self.stopped = false;
        self.device_offset = 0;
        self.notified = false;
        self.moved = 0;
        self.held = None;
        self.programmed_once = false;
    }

    /// A transfer is mapped and its `EvtProgramDma` is about to run.
    const fn begin_staging(&mut self) {
        self.state = TxState::Transfer(Sub::Programmed);
        self.staging = true;
    }

    /// Ends the mapped transfer: its mapping and its scatter/gather list.
    fn unmap(&mut self) -> Option<Mapping> {
        self.windows.clear();
        if let Some(list) = self.sg_list.take() {
            engine::poison_list(list);
        }
        self.mapping.take()
    }
}

/// A WDFCOMMONBUFFER.
pub(crate) struct CommonBuffer {
    pub(crate) block: BlockId,
    pub(crate) length: usize,
}

/// How a `DmaCompleted*` call reports the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Completion {
    Full,
    Partial(usize),
    Final(usize),
}

impl Completion {
    const fn ddi(self) -> &'static str {
        match self {
            Self::Full => "WdfDmaTransactionDmaCompleted",
            Self::Partial(_) => "WdfDmaTransactionDmaCompletedWithLength",
            Self::Final(_) => "WdfDmaTransactionDmaCompletedFinal",
        }
    }
}

/// Pages touched by `[offset, offset + len)`.
const fn span(offset: usize, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (offset % PAGE_USIZE + len).div_ceil(PAGE_USIZE)
    }
}

impl State {
    pub(crate) fn enabler(&mut self, id: Id) -> Option<&mut Enabler> {
        match self.obj_mut(id).map(|o| &mut o.kind) {
            Some(Kind::Enabler(e)) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn tx(&mut self, id: Id) -> Option<&mut Transaction> {
        match self.obj_mut(id).map(|o| &mut o.kind) {
            Some(Kind::Transaction(t)) => Some(t),
            _ => None,
        }
    }

    fn tx_fatal(&mut self, rule: &'static str, ddi: &'static str, id: Id, state: TxState) {
        self.finding(
            rule,
            Severity::Fatal,
            format!(
                "{ddi} on transaction {:#x} in state {state:?} (bugcheck 0x10D/0x8, P3={})",
                handle(id),
                state.number()
            ),
        );
    }

    /// `WdfDmaEnablerCreate`.
    #[expect(
        clippy::too_many_lines,
        reason = "the DDI's checks, in the order KMDF makes them"
    )]
    pub(crate) fn enabler_create(
        &mut self,
        device: Id,
        config: &WDF_DMA_ENABLER_CONFIG,
    ) -> Result<Id, NTSTATUS> {
        if !self.verifier_irql("WdfDmaEnablerCreate", Irql::Passive, "E1") {
            return Err(STATUS_INVALID_DEVICE_REQUEST);
        }
        if config.Size as usize != core::mem::size_of::<WDF_DMA_ENABLER_CONFIG>() {
            self.finding(
                "E2",
                Severity::Error,
                format!("WDF_DMA_ENABLER_CONFIG.Size is {}", config.Size),
            );
            return Err(STATUS_INFO_LENGTH_MISMATCH);
        }
        let profile = config.Profile;
        if !(1..=8).contains(&profile) || config.MaximumLength == 0 {
            self.finding(
                "E2",
                Severity::Error,
                format!("invalid profile {profile} or MaximumLength 0"),
            );
            return Err(STATUS_INVALID_PARAMETER);
        }
        let system = matches!(
            profile,
            _WDF_DMA_PROFILE::WdfDmaProfileSystem | _WDF_DMA_PROFILE::WdfDmaProfileSystemDuplex
        );
        let wide = matches!(
            profile,
            _WDF_DMA_PROFILE::WdfDmaProfilePacket64
                | _WDF_DMA_PROFILE::WdfDmaProfileScatterGather64
                | _WDF_DMA_PROFILE::WdfDmaProfileScatterGather64Duplex
        );
        let width_override = config.AddressWidthOverride;
        if width_override != 0 && (system || (!wide && width_override > 32) || width_override < 24)
        {
            self.finding(
                "E3",
                Severity::Error,
                format!("AddressWidthOverride {width_override} is not valid for profile {profile}"),
            );
            return Err(STATUS_INVALID_PARAMETER);
        }
        let implied = if system || width_override != 0 { 3 } else { 2 };
        let version = match config.WdmDmaVersionOverride {
            0 => implied,
            v if v < implied || v > 3 => {
                self.finding(
                    "E4",
                    Severity::Error,
                    format!("WdmDmaVersionOverride {v} is below the implied version {implied}"),
                );
                return Err(STATUS_INVALID_PARAMETER);
            }
            v => v,
        };
        if config.Flags & 2 != 0 && version < 3 {
            self.finding(
                "E4",
                Severity::Error,
                "REQUIRE_SINGLE_TRANSFER needs DMA version 3".into(),
            );
            return Err(STATUS_INVALID_PARAMETER);
        }
        if config.Flags & 2 != 0 {
            // §2.6.5's checks (TOO_MANY_TRANSFERS, NOT_ENOUGH_MAP_REGISTERS, TOO_FRAGMENTED)
            // are not modelled: say so rather than split transfers KMDF would refuse.
            self.finding(
                "HAL",
                Severity::Warning,
                "REQUIRE_SINGLE_TRANSFER is not simulated: transactions are split into transfers as without it".into(),
            );
        }
        let width = if width_override != 0 {
            width_override
        } else if wide {
            64
        } else {
            32
        };
        let maximum_length = config.MaximumLength & 0xFFFF_FFFF;
        let registers = self
            .policy
            .map_registers
            .unwrap_or_else(|| {
                u32::try_from(maximum_length.div_ceil(PAGE_USIZE) + 1)
                    .unwrap_or(u32::MAX)
                    .min(4096)
            })
            .max(2);
        let fragment_length = maximum_length.min((registers as usize - 1) * PAGE_USIZE);
        let mut enabler = Enabler {
            device,
            profile,
            maximum_length,
            width,
            version,
            map_registers: registers,
            fragment_length,
            system: [None; 2],
            pool: None,
            registers_free: vec![true; registers as usize],
            waiters: VecDeque::new(),
        };
        if !system {
            let limit = enabler.limit();
            enabler.pool = Some(self.mem.alloc(
                registers as usize * PAGE_USIZE,
                Placement::ContiguousBelow(limit),
                &mut self.rng,
            ));
        }
        Ok(self.create(Kind::Enabler(Box::new(enabler)), Some(device), true))
    }

    /// `WdfDmaEnablerConfigureSystemProfile`.
    pub(crate) fn configure_system(
        &mut self,
        id: Id,
        config: Option<&WDF_DMA_SYSTEM_PROFILE_CONFIG>,
        channel: Option<(u32, u32)>,
        direction: i32,
    ) -> NTSTATUS {
        let Some(config) = config else {
            self.finding(
                "E8",
                Severity::Error,
                "WdfDmaEnablerConfigureSystemProfile: ProfileConfig is NULL".into(),
            );
            return STATUS_INVALID_PARAMETER;
        };
        if config.Size as usize != core::mem::size_of::<WDF_DMA_SYSTEM_PROFILE_CONFIG>() {
            self.finding(
                "E8",
                Severity::Error,
                format!("WDF_DMA_SYSTEM_PROFILE_CONFIG.Size is {}", config.Size),
            );
            return STATUS_INFO_LENGTH_MISMATCH;
        }
        let Some((ch, line)) = channel else {
            self.finding(
                "E8",
                Severity::Error,
                "WdfDmaEnablerConfigureSystemProfile: DmaDescriptor is NULL or not a DMA resource"
                    .into(),
            );
            return STATUS_INVALID_PARAMETER;
        };
        if direction != 0 && direction != 1 {
            return STATUS_INVALID_PARAMETER;
        }
        let Some(enabler) = self.enabler(id) else {
            return STATUS_INVALID_PARAMETER;
        };
        // Duplex: each direction once; otherwise one call configures both.
        let configured = if enabler.is_duplex_system() {
            enabler.system_for(direction).is_some()
        } else {
            enabler.system_configured()
        };
        if !enabler.is_system() || configured {
            self.finding("E8", Severity::Error, "WdfDmaEnablerConfigureSystemProfile: adapter already exists (bus-master enabler, or this direction configured twice)".into());
            return STATUS_INVALID_PARAMETER;
        }
        let device = enabler.device;
        let hw = self
            .hw
            .iter()
            .position(|h| h.dma_channel == Some((ch, line)));
        let Some(hw) = hw else {
            self.finding(
                "E8",
                Severity::Error,
                format!("no DMA controller channel {ch}/{line}"),
            );
            return STATUS_UNSUCCESSFUL;
        };
        // SAFETY-free: reading a union member of a value we own.
        let address = crate::mirror::quad(config.DeviceAddress).cast_unsigned();
        let demand = config.DemandMode != 0;
        let _ = device;
        let registers = self.enabler(id).map_or(2, |e| e.map_registers);
        let pool = self.mem.alloc(
            registers as usize * PAGE_USIZE,
            Placement::ContiguousBelow(1 << 32),
            &mut self.rng,
        );
        if let Some(enabler) = self.enabler(id) {
            let config = Some(SystemConfig {
                demand,
                device_address: address,
                hw,
                request: (ch, line),
            });
            let duplex = enabler.is_duplex_system();
            match usize::try_from(direction)
                .ok()
                .and_then(|d| enabler.system.get_mut(d))
            {
                Some(slot) if duplex => *slot = config,
                _ => enabler.system = [config; 2],
            }
            if let Some(earlier) = enabler.pool.replace(pool) {
                // Duplex: the second direction's call; the adapters share one pool here.
                enabler.pool = Some(earlier);
                self.mem.free(pool);
            }
        }
        STATUS_SUCCESS
    }

    /// `WdfDmaTransactionCreate`.
    pub(crate) fn tx_create(&mut self, enabler: Id) -> Id {
        let transaction = Transaction {
            enabler,
            state: TxState::Created,
            request: None,
            irp_ref: false,
            direction: 0,
            buffer: (0, 0, 0),
            program: None,
            context: 0,
            transferred: 0,
            current: 0,
            mfl: 0,
            stopped: false,
            transfer_complete: None,
            transfer_complete_context: 0,
            device_offset: 0,
            registers: None,
            mapping: None,
            notified: false,
            sg_list: None,
            staging: false,
            held: None,
            programmed_once: false,
            windows: Vec::new(),
            generation: 0,
            moved: 0,
        };
        self.create(
            Kind::Transaction(Box::new(transaction)),
            Some(enabler),
            true,
        )
    }

    /// `WdfDmaTransactionInitializeUsingRequest`.
    pub(crate) fn tx_initialize(
        &mut self,
        id: Id,
        request_raw: usize,
        program: PFN_WDF_PROGRAM_DMA,
        direction: i32,
    ) -> NTSTATUS {
        const DDI: &str = "WdfDmaTransactionInitializeUsingRequest";
        let Some(state) = self.tx(id).map(|t| t.state) else {
            return STATUS_INVALID_PARAMETER;
        };
        if !matches!(state, TxState::Created | TxState::Released) {
            self.tx_fatal("T2", DDI, id, state);
            return STATUS_INVALID_DEVICE_REQUEST;
        }
        if program.is_none() {
            self.finding(
                "NULLARG",
                Severity::Fatal,
                format!("{DDI}: EvtProgramDmaFunction is NULL"),
            );
            return STATUS_INVALID_PARAMETER;
        }
        if direction != 0 && direction != 1 {
            return self.init_failed(id, STATUS_INVALID_PARAMETER);
        }
        let Some(request) = self.resolve(request_raw, DDI, "WDFREQUEST") else {
            return STATUS_INVALID_PARAMETER;
        };
        let Some((_, irp)) = self.irp_of(request) else {
            return STATUS_INVALID_PARAMETER;
        };
        if irp.neither {
            // §2.3: a neither-I/O read or write has no MDL to map.
            self.finding(
                "T4",
                Severity::Error,
                format!("{DDI}: read/write request of a device using neither I/O"),
            );
            return self.init_failed(id, STATUS_INVALID_DEVICE_REQUEST);
        }
        let write = direction == _WDF_DMA_DIRECTION::WdfDmaDirectionWriteToDevice;
        let (major_ok, slot, length, t5) = match &irp.op {
            super::io::IoOp::Read { len } => (!write, irp.user.or(irp.system), *len, false),
            super::io::IoOp::Write { data } => (write, irp.user.or(irp.system), data.len(), false),
            op @ (super::io::IoOp::Ioctl { .. } | super::io::IoOp::IoctlWithData { .. }) => {
                let (code, input, output_len) = op.ioctl_parts().unwrap_or((0, &[], 0));
                match code & 3 {
                    0 => (
                        true,
                        irp.system,
                        if write { input.len() } else { output_len },
                        !write && output_len > input.len(),
                    ),
                    1 => (write, irp.user, output_len, false),
                    2 => (!write, irp.user, output_len, false),
                    _ => {
                        self.finding(
                            "T4",
                            Severity::Error,
                            format!("{DDI}: METHOD_NEITHER request"),
                        );
                        return self.init_failed(id, STATUS_INVALID_DEVICE_REQUEST);
                    }
                }
            }
        };
        if !major_ok {
            return self.init_failed(id, STATUS_INVALID_DEVICE_REQUEST);
        }
        if t5 {
            self.finding("T5", Severity::Fatal, format!("{DDI}: METHOD_BUFFERED read of {length} bytes over an MDL of only InputBufferLength bytes"));
            return self.init_failed(id, STATUS_INVALID_PARAMETER);
        }
        let Some((block, _)) = slot.filter(|_| length > 0) else {
            return self.init_failed(id, STATUS_BUFFER_TOO_SMALL);
        };
        let Some(enabler_id) = self.tx(id).map(|t| t.enabler) else {
            return STATUS_INVALID_PARAMETER;
        };
        let Some(enabler) = self.enabler(enabler_id) else {
            return STATUS_INVALID_PARAMETER;
        };
        if enabler.is_system() && enabler.system_for(direction).is_none() {
            self.finding(
                "E9",
                Severity::Fatal,
                format!("{DDI}: system-profile enabler not configured for this direction"),
            );
            return STATUS_INVALID_DEVICE_REQUEST;
        }
        let mfl = enabler.fragment_length;
        let Some(t) = self.tx(id) else {
            return STATUS_INVALID_PARAMETER;
        };
        t.state = TxState::Initialized;
        t.request = Some(request);
        t.direction = direction;
        t.buffer = (block, 0, length);
        t.program = program;
        t.transferred = 0;
        t.current = 0;
        t.mfl = mfl;
        t.fresh_initialisation();
        STATUS_SUCCESS
    }

    fn init_failed(&mut self, id: Id, status: NTSTATUS) -> NTSTATUS {
        self.release_tx(id);
        status
    }

    /// Frees what a transaction holds and resets it to Released (used by Release and by a
    /// failed Initialize).
    pub(crate) fn release_tx(&mut self, id: Id) {
        self.end_resources(id);
        if let Some(request) = self.tx(id).and_then(|t| t.request.take()) {
            self.drop_irp_ref(id, request);
        }
        if let Some(t) = self.tx(id) {
            t.state = TxState::Released;
            t.transferred = 0;
            t.current = 0;
            t.program = None;
            t.context = 0;
            t.transfer_complete = None;
            t.transfer_complete_context = 0;
            t.unmap();
            t.generation += 1;
        }
    }

    fn drop_irp_ref(&mut self, tx: Id, request: Id) {
        let held = self
            .tx(tx)
            .is_some_and(|t| std::mem::replace(&mut t.irp_ref, false));
        if held && let Some(Kind::Request(r)) = self.obj_mut(request).map(|o| &mut o.kind) {
            r.irp_refs = r.irp_refs.saturating_sub(1);
        }
    }

    /// Returns map registers, the v2 packet slot and waiting-list membership.
    fn end_resources(&mut self, id: Id) {
        let Some(t) = self.tx(id) else { return };
        let registers = t.registers.take();
        let enabler_id = t.enabler;
        t.unmap();
        if let Some(enabler) = self.enabler(enabler_id) {
            enabler.waiters.retain(|w| *w != id);
            if let Some((first, count)) = registers {
                enabler.give_registers(first, count);
            }
        }
        let device = self.enabler(enabler_id).map(|e| e.device);
        if let Some(Kind::Device(d)) = device.and_then(|d| self.obj_mut(d)).map(|o| &mut o.kind)
            && d.packet_slot == Some(id)
        {
            d.packet_slot = None;
        }
        if registers.is_some() {
            self.grant_waiters(enabler_id);
        }
    }

    /// Gives freed map registers to the next waiting transaction, later.
    fn grant_waiters(&mut self, enabler: Id) {
        let Some(next) = self
            .enabler(enabler)
            .and_then(|e| e.waiters.front().copied())
        else {
            return;
        };
        let generation = self.tx(next).map_or(0, |t| t.generation);
        let latency = self.delay(self.policy.grant_latency_ns);
        self.schedule(
            latency,
            Event::Grant {
                tx: next,
                generation,
            },
        );
    }

    /// Map registers the first transfer needs (§2.6.1).
    fn registers_needed(&mut self, id: Id) -> u32 {
        let Some(t) = self.tx(id) else { return 1 };
        let (_, start, length) = t.buffer;
        let first = length.min(t.mfl);
        let enabler = t.enabler;
        let all = self.enabler(enabler).map_or(1, |e| e.map_registers);
        if self.enabler(enabler).is_some_and(|e| e.is_system()) {
            return all;
        }
        let pages = if first == length {
            span(start, first)
        } else {
            span(PAGE_USIZE - 1, first)
        };
        u32::try_from(pages).unwrap_or(all).min(all)
    }

    /// Tries to take map registers now; false when the transaction must wait.
    fn try_grant(&mut self, id: Id) -> bool {
        let need = self.registers_needed(id);
        let Some(enabler_id) = self.tx(id).map(|t| t.enabler) else {
            return false;
        };
        let Some(enabler) = self.enabler(enabler_id) else {
            return false;
        };
        if enabler.waiters.front().is_some_and(|w| *w != id) {
            return false;
        }
        let Some(first) = enabler.take_registers(need) else {
            return false;
        };
        enabler.waiters.retain(|w| *w != id);
        if let Some(t) = self.tx(id) {
            t.registers = Some((first, need));
        }
        true
    }

    /// Computes and maps the next transfer; returns the SG elements for `EvtProgramDma`.
    fn map_next(&mut self, id: Id) -> Option<Vec<SCATTER_GATHER_ELEMENT>> {
        let t = self.tx(id)?;
        let (block, start, length) = t.buffer;
        let offset = t.transferred;
        let len = (length - offset).min(t.mfl);
        let (write, registers, enabler_id) = (t.direction == 1, t.registers, t.enabler);
        let enabler = self.enabler(enabler_id)?;
        let (limit, pool, packet_like) = (enabler.limit(), enabler.pool, enabler.packet_like());
        let at = start + offset;
        let pages = span(at, len);
        let pfns: Vec<u64> = (0..pages)
            .filter_map(|p| self.mem.bus_addr(block, (at / PAGE_USIZE + p) * PAGE_USIZE))
            .collect();
        let contiguous = pfns
            .windows(2)
            .all(|w| w.get(1).copied() == w.first().map(|a| a + PAGE));
        let first_bus = self.mem.bus_addr(block, at)?;
        let reachable = first_bus
            .checked_add(len as u64)
            .is_some_and(|end| end <= limit);
        let mut elements = Vec::new();
        let bounce = if packet_like && contiguous && reachable {
            elements.push(element(first_bus, len));
            None
        } else if packet_like {
            let (first_reg, _) = registers?;
            let pool_offset = first_reg as usize * PAGE_USIZE + at % PAGE_USIZE;
            let pool = pool?;
            if write {
                self.mem.copy_blocks((block, at), (pool, pool_offset), len);
            }
            elements.push(element(self.mem.bus_addr(pool, pool_offset)?, len));
            Some(pool_offset)
        } else {
            // Scatter/gather: one element per physically contiguous, reachable run.
            let mut done = 0;
            while done < len {
                let here = at + done;
                let chunk = (PAGE_USIZE - here % PAGE_USIZE).min(len - done);
                let bus = self.mem.bus_addr(block, here)?;
                match elements.last_mut() {
                    Some(last)
                        if crate::mirror::quad(last.Address).cast_unsigned()
                            + u64::from(last.Length)
                            == bus
                            && bus + chunk as u64 <= limit =>
                    {
                        last.Length += u32::try_from(chunk).unwrap_or(0);
                    }
                    _ => elements.push(element(bus, chunk)),
                }
                done += chunk;
            }
            if elements.iter().any(|e| {
                crate::mirror::quad(e.Address).cast_unsigned() + u64::from(e.Length) > limit
            }) {
                self.finding(
                    "HAL",
                    Severity::Warning,
                    "scatter/gather bounce buffering above the address width is not simulated"
                        .into(),
                );
            }
            None
        };
        let t = self.tx(id)?;
        t.current = len;
        t.mapping = Some(Mapping { offset, bounce });
        t.notified = false;
        t.windows = elements
            .iter()
            .map(|e| {
                (
                    crate::mirror::quad(e.Address).cast_unsigned(),
                    u64::from(e.Length),
                )
            })
            .collect();
        Some(elements)
    }

    /// Flushes the transfer in flight for `reported` bytes (bounce copy for reads).
    fn flush(&mut self, id: Id, reported: usize) {
        let Some(t) = self.tx(id) else { return };
        let (block, start, _) = t.buffer;
        let (mapping, read, enabler) = (t.unmap(), t.direction == 0, t.enabler);
        let pool = self.enabler(enabler).and_then(|e| e.pool);
        if let (
            Some(Mapping {
                offset,
                bounce: Some(pool_offset),
                ..
            }),
            Some(pool),
            true,
        ) = (mapping, pool, read)
        {
            self.mem
                .copy_blocks((pool, pool_offset), (block, start + offset), reported);
        }
    }

    /// Ends a transaction (§2.7 step 7).
    fn end_tx(&mut self, id: Id, status: NTSTATUS) {
        self.end_resources(id);
        let request = self.tx(id).and_then(|t| t.request);
        if let Some(request) = request {
            self.drop_irp_ref(id, request);
        }
        if let Some(t) = self.tx(id) {
            t.state = if status >= 0 {
                TxState::Completed
            } else {
                TxState::Failed
            };
            t.current = 0;
            t.generation += 1;
        }
    }

    /// Starts the system DMA controller for the mapped transfer.
    fn start_controller(&mut self, id: Id, elements: &[SCATTER_GATHER_ELEMENT]) {
        let Some(t) = self.tx(id) else { return };
        let (enabler, direction, offset, generation) =
            (t.enabler, t.direction, t.device_offset, t.generation);
        let has_callback = t.transfer_complete.is_some();
        let Some(config) = self.enabler(enabler).and_then(|e| e.system_for(direction)) else {
            return;
        };
        let Some(first) = elements.first() else {
            return;
        };
        let address = crate::mirror::quad(first.Address).cast_unsigned();
        let length = first.Length;
        if self
            .hw
            .get(config.hw)
            .is_some_and(|h| h.dma_channel != Some(config.request))
        {
            let (ch, line) = config.request;
            self.finding(
                "STALE",
                Severity::Fatal,
                format!("system DMA through an adapter built for channel {ch}/{line}, which the device no longer owns (its resources changed at a restart): the enabler must be rebuilt in EvtDevicePrepareHardware"),
            );
            return;
        }
        let Some(hw) = self.hw.get_mut(config.hw) else {
            return;
        };
        let channel = hw.dma_channel.map_or(0, |c| c.0);
        hw.active_tx = Some((id, generation));
        let mut effects = Vec::new();
        let result = match &mut hw.model {
            Model::System { controller, .. } => controller.start(
                channel,
                address,
                length,
                direction == 1,
                config.device_address + u64::from(offset),
                config.demand,
                &mut effects,
            ),
            Model::Edu(_) => Ok(()),
        };
        if result.is_err() {
            self.finding(
                "HAL",
                Severity::Error,
                "system DMA controller refused the transfer".into(),
            );
        }
        if !has_callback {
            self.log(|| "system transfer mapped without a transfer-complete callback".into());
        }
        self.apply_effects(config.hw, super::hw::Source::Controller, effects);
    }

    /// Turns finished controller transfers into HAL completion notifications: held for the
    /// staging thread when KMDF is staging the transaction, otherwise delivered later (an
    /// event); with `inline`, returned for the caller to deliver on its own thread.
    pub(crate) fn controller_completions(
        &mut self,
        index: usize,
        inline: bool,
    ) -> Vec<(Id, u64, i32, u64)> {
        let mut now = Vec::new();
        loop {
            let Some(hw) = self.hw.get_mut(index) else {
                return now;
            };
            let Model::System { controller, .. } = &mut hw.model else {
                return now;
            };
            let Some(done) = controller.take_completion() else {
                return now;
            };
            let Some((tx, generation)) = hw.active_tx.take() else {
                continue;
            };
            let status = match done.status {
                CompletionStatus::Complete => DMA_COMPLETION_STATUS::DmaComplete,
                CompletionStatus::Error => DMA_COMPLETION_STATUS::DmaError,
                CompletionStatus::Cancelled => DMA_COMPLETION_STATUS::DmaCancelled,
            };
            if let Some(t) = self.tx(tx)
                && t.staging
                && t.generation == generation
            {
                t.held = Some((status, done.bytes));
                self.log(|| {
                    "system transfer done while staging: KMDF holds the notification".into()
                });
                continue;
            }
            if inline {
                now.push((tx, generation, status, done.bytes));
                continue;
            }
            let latency = self.delay((500, 5_000));
            self.schedule(
                latency,
                Event::SystemDone {
                    tx,
                    generation,
                    status,
                    bytes: done.bytes,
                },
            );
        }
    }

    /// Bus ranges a device may access now: the mapped transfers of executing transactions and
    /// every common buffer.
    pub(crate) fn dma_windows(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for object in self.objects.iter() {
            match &object.kind {
                Kind::Transaction(t) => out.extend(t.windows.iter().copied()),
                Kind::CommonBuffer(c) => {
                    if let Some(start) = self.mem.bus_addr(c.block, 0) {
                        out.push((start, c.length as u64));
                    }
                }
                _ => {}
            }
        }
        out
    }
}

fn element(address: u64, length: usize) -> SCATTER_GATHER_ELEMENT {
    SCATTER_GATHER_ELEMENT {
        Address: crate::mirror::types::PHYSICAL_ADDRESS {
            QuadPart: address.cast_signed(),
        },
        Length: u32::try_from(length).unwrap_or(u32::MAX),
        Reserved: 0,
    }
}

/// `WdfDmaTransactionExecute`.
pub(crate) fn execute(raw: usize, context: usize) -> NTSTATUS {
    let start = with(|s| {
        s.ddi();
        if !s.check_irql("WdfDmaTransactionExecute", Irql::Dispatch) {
            return Err(STATUS_INVALID_DEVICE_REQUEST);
        }
        let id = s
            .resolve(raw, "WdfDmaTransactionExecute", "WDFDMATRANSACTION")
            .ok_or(STATUS_INVALID_PARAMETER)?;
        let state = s.tx(id).map(|t| t.state).ok_or(STATUS_INVALID_PARAMETER)?;
        if state != TxState::Initialized {
            s.tx_fatal("T6", "WdfDmaTransactionExecute", id, state);
            return Err(STATUS_INVALID_DEVICE_REQUEST);
        }
        let (request, enabler) = s
            .tx(id)
            .map(|t| (t.request, t.enabler))
            .ok_or(STATUS_INVALID_PARAMETER)?;
        match request.map(|r| (r, s.obj_mut(r).map(|o| &mut o.kind))) {
            Some((_, Some(Kind::Request(r)))) => r.irp_refs += 1,
            Some(_) => {
                // Initialised with a request that was completed since: KMDF takes its
                // reference on a freed object (§4.3: no reference is held before Execute).
                s.finding(
                    "R2",
                    Severity::Fatal,
                    format!("WdfDmaTransactionExecute: transaction {raw:#x} was initialised with a request that has been completed since (use after free)"),
                );
                return Err(STATUS_INVALID_DEVICE_REQUEST);
            }
            None => {}
        }
        if let Some(t) = s.tx(id) {
            t.irp_ref = request.is_some();
            t.state = TxState::Transfer(Sub::Waiting);
            t.context = context;
        }
        let (packet, version, device) = s
            .enabler(enabler)
            .map(|e| (e.is_packet(), e.version, e.device))
            .ok_or(STATUS_INVALID_PARAMETER)?;
        if packet && version == 2 {
            let busy = match s.obj_mut(device).map(|o| &mut o.kind) {
                Some(Kind::Device(d)) if d.packet_slot.is_some() => true,
                Some(Kind::Device(d)) => {
                    d.packet_slot = Some(id);
                    false
                }
                _ => false,
            };
            if busy {
                s.finding("T8", Severity::Error, "WdfDmaTransactionExecute: another packet transaction of this device is executing (DMA v2)".into());
                s.end_tx(id, wdf_status::BUSY);
                return Err(wdf_status::BUSY);
            }
        }
        if s.policy.execute_failure_percent > 0
            && s.rng.chance(s.policy.execute_failure_percent, 100)
        {
            // The HAL could not allocate the adapter channel: KMDF ends the transaction
            // (TransferFailed), drops the request reference and returns the error.
            s.log(|| {
                format!("transaction {raw:#x}: the HAL could not allocate the adapter channel")
            });
            s.end_tx(id, STATUS_INSUFFICIENT_RESOURCES);
            return Err(STATUS_INSUFFICIENT_RESOURCES);
        }
        if let Some(e) = s.enabler(enabler) {
            e.waiters.push_back(id);
        }
        let defer = s.rng.chance(s.policy.deferred_grant_percent, 100);
        if !defer && s.try_grant(id) {
            return Ok(Some(id));
        }
        if defer {
            let generation = s.tx(id).map_or(0, |t| t.generation);
            let latency = s.delay(s.policy.grant_latency_ns);
            s.schedule(latency, Event::Grant { tx: id, generation });
        }
        s.log(|| format!("transaction {raw:#x} waits for map registers"));
        Ok(None)
    });
    match start {
        Err(status) => status,
        Ok(Some(id)) => {
            stage(id);
            STATUS_SUCCESS
        }
        Ok(None) => STATUS_SUCCESS,
    }
}

/// A deferred grant arrives (HAL adapter-control callback, at DISPATCH_LEVEL).
pub(crate) fn grant(id: Id, generation: u64) {
    let go = with(|s| {
        let current = s.tx(id).map(|t| (t.state, t.generation));
        if current == Some((TxState::Transfer(Sub::Granted), generation)) {
            // Granted already, when a `Cancel` lost the race against this routine.
            return true;
        }
        if current != Some((TxState::Transfer(Sub::Waiting), generation)) {
            return false;
        }
        if s.try_grant(id) {
            true
        } else {
            // Not enough registers yet: a later release schedules another grant.
            false
        }
    });
    if go {
        engine::at_irql(Irql::Dispatch, "HAL adapter control", || stage(id));
    }
}

/// Maps the next transfer and calls `EvtProgramDma` (or reports a stopped system transfer).
pub(crate) fn stage(id: Id) {
    let call = with(|s| {
        let t = s.tx(id)?;
        let (stopped, program, context, direction, enabler) =
            (t.stopped, t.program, t.context, t.direction, t.enabler);
        let is_system = s.enabler(enabler).is_some_and(|e| e.is_system());
        let device = s.enabler(enabler).map(|e| e.device)?;
        if stopped && is_system {
            // §3.1: mapping after a stop fails; KMDF invents a DmaCancelled notification.
            let (cb, cb_context) = s
                .tx(id)
                .map(|t| (t.transfer_complete, t.transfer_complete_context))?;
            if let Some(t) = s.tx(id) {
                t.state = TxState::Transfer(Sub::Programmed);
                t.notified = true;
            }
            return Some(Staged::Cancelled {
                cb,
                cb_context,
                device,
                direction,
            });
        }
        let elements = s.map_next(id)?;
        s.tx(id)?.begin_staging();
        if is_system {
            s.start_controller(id, &elements);
        }
        s.stats.program_dma_calls += 1;
        let length = elements.iter().map(|e| e.Length).sum::<u32>();
        s.log(|| {
            format!(
                "EvtProgramDma: {} element(s), {length} bytes",
                elements.len()
            )
        });
        Some(Staged::Program {
            program,
            context,
            direction,
            device,
            elements,
        })
    });
    match call {
        Some(Staged::Program {
            program,
            context,
            direction,
            device,
            elements,
        }) => {
            // The initialisation this staging belongs to: by the time EvtProgramDma returns,
            // another processor may have completed the transfer, released the transaction and
            // initialised it again (the device finished while the callback still ran).
            let generation = with(|s| s.tx(id).map(|t| t.generation));
            let list = engine::at_irql(Irql::Dispatch, "EvtProgramDma", || {
                engine::call_program_dma(
                    program,
                    handle(id),
                    handle(device),
                    context,
                    direction,
                    &elements,
                )
            });
            let held = end_staging(id, generation);
            // T15: packet and system lists die with EvtProgramDma; a scatter/gather list stays
            // valid until the transfer's DmaCompleted* (or the transaction ends).
            with(|s| {
                let sg = s
                    .tx(id)
                    .map(|t| t.enabler)
                    .and_then(|e| s.enabler(e))
                    .is_some_and(|e| !e.is_packet() && !e.is_system());
                match s.tx(id) {
                    Some(t) if sg && Some(t.generation) == generation => t.sg_list = Some(list),
                    _ => engine::poison_list(list),
                }
            });
            // KMDF delivers a notification it held during staging right after EvtProgramDma
            // returns, on this thread: nested in whatever called the staging (Execute, the
            // grant, or the driver's own DmaCompleted*).
            if let Some((generation, status, bytes)) = held {
                system_done(id, generation, status, bytes);
            }
        }
        Some(Staged::Cancelled {
            cb,
            cb_context,
            device,
            direction,
        }) => {
            engine::at_irql(
                Irql::Dispatch,
                "EvtDmaTransactionDmaTransferComplete",
                || {
                    engine::call_transfer_complete(
                        cb,
                        handle(id),
                        handle(device),
                        cb_context,
                        direction,
                        DMA_COMPLETION_STATUS::DmaCancelled,
                    );
                },
            );
        }
        None => {}
    }
}

/// Ends the staging of transaction `id` after its `EvtProgramDma` returned; returns a HAL
/// notification held meanwhile (generation, status, bytes).
fn end_staging(id: Id, staged: Option<u64>) -> Option<(u64, i32, u64)> {
    with(|s| {
        if s.tx(id).map(|t| t.generation) != staged {
            // The staged transfer already ended; the transaction belongs to a newer one.
            return None;
        }
        // A controller may finish a short transfer before EvtProgramDma has returned (demand
        // mode: the peripheral raised its request line inside the callback).
        if s.rng.chance(s.policy.fast_completion_percent, 100) {
            s.run_controller_now(id);
        }
        let t = s.tx(id)?;
        t.staging = false;
        // From here the driver knows EvtProgramDma ran: a later Cancel breaks Learn's rule. (A
        // Cancel on another processor while the callback is still running simply loses.)
        t.programmed_once = true;
        let generation = t.generation;
        t.held
            .take()
            .map(|(status, bytes)| (generation, status, bytes))
    })
}

enum Staged {
    Program {
        program: PFN_WDF_PROGRAM_DMA,
        context: usize,
        direction: i32,
        device: Id,
        elements: Vec<SCATTER_GATHER_ELEMENT>,
    },
    Cancelled {
        cb: PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE,
        cb_context: usize,
        device: Id,
        direction: i32,
    },
}

/// What a `DmaCompleted*` call does after its bookkeeping.
enum Step {
    Done(bool, NTSTATUS),
    Next(Id),
}

/// The `DmaCompleted*` family. Returns the BOOLEAN result and the status.
pub(crate) fn completed(raw: usize, how: Completion) -> (bool, NTSTATUS) {
    match with(|s| completed_step(s, raw, how)) {
        Step::Done(finished, status) => (finished, status),
        Step::Next(id) => {
            // More to do: stage the next transfer now, nested in this call (§2.7).
            stage(id);
            (false, STATUS_MORE_PROCESSING_REQUIRED)
        }
    }
}

fn completed_step(s: &mut State, raw: usize, how: Completion) -> Step {
    let ddi = how.ddi();
    s.ddi();
    if !s.check_irql(ddi, Irql::Dispatch) {
        return Step::Done(true, STATUS_INVALID_DEVICE_REQUEST);
    }
    let Some(id) = s.resolve(raw, ddi, "WDFDMATRANSACTION") else {
        return Step::Done(true, STATUS_INVALID_PARAMETER);
    };
    let Some(t) = s.tx(id) else {
        return Step::Done(true, STATUS_INVALID_PARAMETER);
    };
    let state = t.state;
    let TxState::Transfer(sub) = state else {
        s.tx_fatal("T9", ddi, id, state);
        return Step::Done(true, STATUS_INVALID_DEVICE_REQUEST);
    };
    if sub != Sub::Programmed {
        s.finding("T10", Severity::Fatal, format!("{ddi}: DMA completion without a programmed transfer (transaction {raw:#x} is waiting for map registers)"));
        return Step::Done(true, STATUS_INVALID_DEVICE_REQUEST);
    }
    let (enabler, current, notified, has_cb, stopped) = (
        t.enabler,
        t.current,
        t.notified,
        t.transfer_complete.is_some(),
        t.stopped,
    );
    let is_system = s.enabler(enabler).is_some_and(|e| e.is_system());
    if is_system && has_cb && !notified {
        s.finding("S5", Severity::Fatal, format!("{ddi}: system transfer completed before its EvtDmaTransactionDmaTransferComplete arrived"));
        return Step::Done(true, STATUS_INVALID_DEVICE_REQUEST);
    }
    let reported = match how {
        Completion::Full => current,
        Completion::Partial(n) | Completion::Final(n) if n <= current => n,
        Completion::Partial(n) | Completion::Final(n) => {
            s.finding(
                "T11",
                Severity::Error,
                format!("{ddi}: length {n} exceeds the current transfer length {current}"),
            );
            s.flush(id, 0);
            s.end_tx(id, STATUS_INVALID_PARAMETER);
            return Step::Done(true, STATUS_INVALID_PARAMETER);
        }
    };
    s.flush(id, reported);
    let Some(t) = s.tx(id) else {
        return Step::Done(true, STATUS_INVALID_PARAMETER);
    };
    t.transferred += reported;
    t.current = 0;
    let remaining = t.buffer.2 - t.transferred;
    s.log(|| format!("{ddi}: +{reported} bytes, {remaining} remaining"));
    if remaining == 0 || matches!(how, Completion::Final(_)) {
        s.end_tx(id, STATUS_SUCCESS);
        return Step::Done(true, STATUS_SUCCESS);
    }
    if stopped {
        s.end_tx(id, STATUS_CANCELLED);
        return Step::Done(true, STATUS_CANCELLED);
    }
    Step::Next(id)
}

/// `WdfDmaTransactionRelease`.
pub(crate) fn release(raw: usize) -> NTSTATUS {
    with(|s| {
        s.ddi();
        if !s.check_irql("WdfDmaTransactionRelease", Irql::Dispatch) {
            return STATUS_INVALID_DEVICE_REQUEST;
        }
        let Some(id) = s.resolve(raw, "WdfDmaTransactionRelease", "WDFDMATRANSACTION") else {
            return STATUS_INVALID_PARAMETER;
        };
        match s.tx(id).map(|t| t.state) {
            Some(TxState::Released) => STATUS_SUCCESS,
            Some(state @ TxState::Transfer(_)) => {
                s.tx_fatal("T18", "WdfDmaTransactionRelease", id, state);
                STATUS_SUCCESS
            }
            Some(_) => {
                s.release_tx(id);
                STATUS_SUCCESS
            }
            None => STATUS_INVALID_PARAMETER,
        }
    })
}

/// `WdfDmaTransactionCancel`.
pub(crate) fn cancel(raw: usize) -> bool {
    with(|s| {
        s.ddi();
        if !s.check_irql("WdfDmaTransactionCancel", Irql::Dispatch) {
            return false;
        }
        let Some(id) = s.resolve(raw, "WdfDmaTransactionCancel", "WDFDMATRANSACTION") else {
            return false;
        };
        let Some((state, enabler)) = s.tx(id).map(|t| (t.state, t.enabler)) else {
            return false;
        };
        if s.enabler(enabler).is_some_and(|e| e.version < 3) {
            s.finding(
                "T24",
                Severity::Error,
                "WdfDmaTransactionCancel on a DMA v2 enabler".into(),
            );
            return false;
        }
        let programmed_once = s.tx(id).is_some_and(|t| t.programmed_once);
        match state {
            TxState::Created | TxState::Released => {
                s.tx_fatal("T27", "WdfDmaTransactionCancel", id, state);
                false
            }
            TxState::Completed | TxState::Failed => {
                s.finding("T27", Severity::Fatal, format!("WdfDmaTransactionCancel({raw:#x}) on a transaction that already ended and was not released: KMDF dereferences the adapter pointer that ReleaseResources cleared (a crash, with or without verifier)"));
                false
            }
            TxState::Transfer(_) if programmed_once => {
                s.finding("T27", Severity::Error, format!("WdfDmaTransactionCancel({raw:#x}) after EvtProgramDma was called for this initialisation (Learn forbids it; KMDF returns FALSE)"));
                false
            }
            TxState::Transfer(Sub::Waiting)
                if s.rng.chance(s.policy.cancel_loses_percent, 100) && s.try_grant(id) =>
            {
                // The HAL granted the registers a moment ago and its adapter-control routine
                // is on its way on another processor: too late to cancel.
                let generation = s.tx(id).map_or(0, |t| t.generation);
                if let Some(t) = s.tx(id) {
                    t.state = TxState::Transfer(Sub::Granted);
                }
                s.schedule(0, Event::Grant { tx: id, generation });
                s.log(|| format!("WdfDmaTransactionCancel({raw:#x}) lost to a grant in progress"));
                false
            }
            TxState::Transfer(Sub::Waiting) => {
                s.end_resources(id);
                let request = s.tx(id).and_then(|t| t.request);
                if let Some(request) = request {
                    s.drop_irp_ref(id, request);
                }
                if let Some(t) = s.tx(id) {
                    t.state = TxState::Failed;
                    t.generation += 1;
                }
                s.log(|| {
                    format!(
                        "WdfDmaTransactionCancel({raw:#x}) won: the allocation was still queued"
                    )
                });
                true
            }
            _ => false,
        }
    })
}

/// `WdfDmaTransactionStopSystemTransfer`.
pub(crate) fn stop_system_transfer(raw: usize) {
    let inline = with(|s| {
        s.ddi();
        if !s.check_irql("WdfDmaTransactionStopSystemTransfer", Irql::Dispatch) {
            return Vec::new();
        }
        let Some(id) = s.resolve(
            raw,
            "WdfDmaTransactionStopSystemTransfer",
            "WDFDMATRANSACTION",
        ) else {
            return Vec::new();
        };
        let Some((state, enabler, stopped, notified, direction)) = s
            .tx(id)
            .map(|t| (t.state, t.enabler, t.stopped, t.notified, t.direction))
        else {
            return Vec::new();
        };
        let Some(config) = s
            .enabler(enabler)
            .and_then(|e| e.is_system().then(|| e.system_for(direction)))
        else {
            s.finding(
                "S1",
                Severity::Error,
                "WdfDmaTransactionStopSystemTransfer on a non-system profile: ignored".into(),
            );
            return Vec::new();
        };
        if matches!(state, TxState::Completed | TxState::Failed) {
            s.finding("S2", Severity::Fatal, format!("WdfDmaTransactionStopSystemTransfer({raw:#x}) on a transaction that already ended and was not released: CancelMappedTransfer dereferences the adapter pointer ReleaseResources cleared (a crash)"));
            return Vec::new();
        }
        if stopped || !matches!(state, TxState::Transfer(_)) {
            s.finding("S2", Severity::Fatal, format!("WdfDmaTransactionStopSystemTransfer: the HAL refuses the cancel (state {state:?}, already stopped: {stopped}) (bugcheck 0x10D/0x8)"));
            return Vec::new();
        }
        if let Some(t) = s.tx(id) {
            t.stopped = true;
        }
        s.log(|| format!("StopSystemTransfer({raw:#x})"));
        if state != TxState::Transfer(Sub::Programmed) || notified {
            // Not mapped yet (the grant will report DmaCancelled) or already reported.
            return Vec::new();
        }
        let Some(config) = config else {
            return Vec::new();
        };
        let Some(hw) = s.hw.get_mut(config.hw) else {
            return Vec::new();
        };
        let channel = hw.dma_channel.map_or(0, |c| c.0);
        if let Model::System { controller, .. } = &mut hw.model {
            controller.stop(channel);
        }
        // The HAL may run its completion routine before this call returns, on this thread.
        let inline = s.rng.chance(s.policy.inline_stop_completion_percent, 100);
        s.controller_completions(config.hw, inline)
    });
    for (tx, generation, status, bytes) in inline {
        system_done(tx, generation, status, bytes);
    }
}

/// The HAL's completion routine for a system transfer: KMDF calls the driver's
/// `EvtDmaTransactionDmaTransferComplete`.
pub(crate) fn system_done(id: Id, generation: u64, status: i32, bytes: u64) {
    let call = with(|s| {
        let t = s.tx(id)?;
        if t.generation != generation || t.state != TxState::Transfer(Sub::Programmed) || t.notified
        {
            return None;
        }
        t.notified = true;
        t.moved += bytes;
        let (cb, context, direction, enabler) = (
            t.transfer_complete,
            t.transfer_complete_context,
            t.direction,
            t.enabler,
        );
        let device = s.enabler(enabler).map(|e| e.device)?;
        s.log(|| format!("system transfer done: status {status}, {bytes} bytes"));
        cb.map(|cb| (cb, context, direction, device))
    });
    if let Some((cb, context, direction, device)) = call {
        engine::at_irql(
            Irql::Dispatch,
            "EvtDmaTransactionDmaTransferComplete",
            || {
                engine::call_transfer_complete(
                    Some(cb),
                    handle(id),
                    handle(device),
                    context,
                    direction,
                    status,
                );
            },
        );
    }
}

/// `WdfDmaTransactionSetMaximumLength`.
pub(crate) fn set_maximum_length(raw: usize, length: usize) {
    with(|s| {
        if !s.ddi_at_most("WdfDmaTransactionSetMaximumLength", Irql::Dispatch) {
            return;
        }
        let Some(id) = s.resolve(
            raw,
            "WdfDmaTransactionSetMaximumLength",
            "WDFDMATRANSACTION",
        ) else {
            return;
        };
        let Some(state) = s.tx(id).map(|t| t.state) else {
            return;
        };
        if state != TxState::Initialized || length == 0 {
            s.finding(
                "T21",
                Severity::Fatal,
                format!("WdfDmaTransactionSetMaximumLength({length}) in state {state:?}"),
            );
            return;
        }
        if let Some(t) = s.tx(id)
            && length < t.mfl
        {
            t.mfl = length;
        }
    });
}

/// The system-only setters (§3.1, §3.4): checks the profile (S1).
pub(crate) fn system_setter(raw: usize, ddi: &'static str, apply: impl FnOnce(&mut Transaction)) {
    with(|s| {
        if !s.ddi_at_most(ddi, Irql::Dispatch) {
            return;
        }
        let Some(id) = s.resolve(raw, ddi, "WDFDMATRANSACTION") else {
            return;
        };
        let Some(enabler) = s.tx(id).map(|t| t.enabler) else {
            return;
        };
        if !s.enabler(enabler).is_some_and(|e| e.is_system()) {
            s.finding(
                "S1",
                Severity::Error,
                format!("{ddi} on a non-system profile: ignored"),
            );
            return;
        }
        if let Some(t) = s.tx(id) {
            apply(t);
        }
    });
}

/// Reads a transaction field (the query DDIs).
pub(crate) fn query<R: Default>(
    raw: usize,
    ddi: &'static str,
    read: impl FnOnce(&Transaction) -> R,
) -> R {
    with(|s| {
        if !s.ddi_at_most(ddi, Irql::Dispatch) {
            return R::default();
        }
        let Some(id) = s.resolve(raw, ddi, "WDFDMATRANSACTION") else {
            return R::default();
        };
        s.tx(id).map(|t| read(t)).unwrap_or_default()
    })
}

/// `WdfCommonBufferCreate`.
pub(crate) fn common_buffer_create(
    enabler_raw: usize,
    length: usize,
    attributes: Option<&crate::mirror::types::WDF_OBJECT_ATTRIBUTES>,
) -> Result<usize, NTSTATUS> {
    with(|s| {
        s.ddi();
        let enabler = s
            .resolve(enabler_raw, "WdfCommonBufferCreate", "WDFDMAENABLER")
            .ok_or(STATUS_INVALID_PARAMETER)?;
        if !s.verifier_irql("WdfCommonBufferCreate", Irql::Passive, "E1") {
            return Err(STATUS_INVALID_DEVICE_REQUEST);
        }
        if length == 0 {
            s.finding(
                "C1",
                Severity::Error,
                "WdfCommonBufferCreate: Length is 0".into(),
            );
            return Err(STATUS_INVALID_PARAMETER);
        }
        // fxcommonbufferapi.cpp validates the attributes after the length: a parent is
        // reported under C1 (`State::attributes_check`).
        s.attributes_check(
            "WdfCommonBufferCreate",
            attributes,
            super::objects::validate::PARENT_NOT_ALLOWED,
        )?;
        if length > u32::MAX as usize {
            s.finding(
                "C1",
                Severity::Error,
                format!("WdfCommonBufferCreate: Length {length:#x} is 4 GiB or more"),
            );
            return Err(STATUS_INSUFFICIENT_RESOURCES);
        }
        let limit = s.enabler(enabler).map_or(1 << 32, |e| e.limit());
        let block = s
            .mem
            .alloc(length, Placement::ContiguousBelow(limit), &mut s.rng);
        let id = s.create(
            Kind::CommonBuffer(Box::new(CommonBuffer { block, length })),
            Some(enabler),
            true,
        );
        Ok(handle(id))
    })
}

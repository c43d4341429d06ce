//! A minimal KMDF driver written against `kmdf_sim::mirror` for the simulator's own
//! integration tests, and the rig that runs it.
//!
//! The driver drives the edu device (bus-master, packet profile, DMA v3, 28-bit address
//! width) or the system-DMA FIFO peripheral (system profile, demand mode, transfer-complete
//! callback). Each test picks one [`Bad`] behaviour: the driver then breaks exactly that rule
//! at the documented place, so the test can assert the verifier's finding.
//!
//! Driver state lives in a thread-local (one machine per test thread) made of `Cell`s, so the
//! callbacks the framework nests inside each other (`EvtProgramDma` inside
//! `WdfDmaTransactionDmaCompleted` inside `EvtInterruptDpc`) never hold a borrow across a call.
//! Nothing in a callback panics: callbacks only record what happened ([`Ev`]) and tests assert
//! on the record afterwards.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the driver and helpers"
)]
#![allow(
    unreachable_pub,
    reason = "a test crate's shared module: `pub` marks what the test files use"
)]
#![allow(
    clippy::missing_safety_doc,
    reason = "the callbacks are called only by the simulator, with KMDF's contract for each"
)]
#![allow(
    clippy::panic,
    reason = "test helpers fail the test by panicking, with the report"
)]

use core::cell::{Cell, RefCell};
use core::ptr::null_mut;

use kmdf_sim::devices::edu::EduConfig;
use kmdf_sim::devices::sysdma::ControllerConfig;
use kmdf_sim::mirror::ext::{read32, write32, write64};
use kmdf_sim::mirror::*;
use kmdf_sim::{
    DeviceHandle, HardwareConfig, IoCompletion, IoOp, Irp, Machine, MachineConfig, Policy, Report,
    Severity,
};

/// One virtual second, in nanoseconds.
pub const SECOND: u64 = 1_000_000_000;

/// `STATUS_WDF_BUSY`.
pub const STATUS_WDF_BUSY: NTSTATUS = 0xC020_0204_u32.cast_signed();
/// `STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED`.
pub const STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED: NTSTATUS = 0xC020_020F_u32.cast_signed();
/// `STATUS_WDF_PARENT_NOT_SPECIFIED`.
pub const STATUS_WDF_PARENT_NOT_SPECIFIED: NTSTATUS = 0xC020_0212_u32.cast_signed();
/// `STATUS_WDF_OBJECT_ATTRIBUTES_INVALID`.
pub const STATUS_WDF_OBJECT_ATTRIBUTES_INVALID: NTSTATUS = 0xC020_0209_u32.cast_signed();

/// `CTL_CODE(0x8000, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)`: raise a software interrupt.
pub const IOCTL_RAISE: u32 = 0x8000_2000;
/// `CTL_CODE(0x8000, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)`: DMA read into the system buffer.
pub const IOCTL_READ_BUFFERED: u32 = 0x8000_2004;
/// `CTL_CODE(0x8000, 0x802, METHOD_NEITHER, FILE_ANY_ACCESS)`: DMA read with neither I/O.
pub const IOCTL_READ_NEITHER: u32 = 0x8000_200B;

/// edu registers (`edu-device.md` §4).
mod edu {
    pub(super) const IRQ_STATUS: usize = 0x24;
    pub(super) const IRQ_RAISE: usize = 0x60;
    pub(super) const IRQ_ACK: usize = 0x64;
    pub(super) const DMA_SRC: usize = 0x80;
    pub(super) const DMA_DST: usize = 0x88;
    pub(super) const DMA_COUNT: usize = 0x90;
    pub(super) const DMA_CMD: usize = 0x98;
    pub(super) const CMD_RUN: u64 = 0x1;
    pub(super) const CMD_TO_RAM: u64 = 0x2;
    pub(super) const CMD_IRQ: u64 = 0x4;
    pub(super) const BUFFER: u64 = 0x4_0000;
    pub(super) const BUFFER_SIZE: usize = 4096;
    pub(super) const IRQ_DMA: u32 = 0x100;
    /// The cause bit the driver raises through `IOCTL_RAISE`.
    pub(super) const IRQ_SOFTWARE: u32 = 0x1000;
}

/// FIFO peripheral registers (`devices::sysdma`).
mod fifo {
    pub(super) const CTRL: usize = 0x08;
    pub(super) const DATA: u64 = 0x10;
    pub(super) const COUNT: usize = 0x14;
    pub(super) const OFFSET: usize = 0x18;
    pub(super) const DREQ_ENABLE: u32 = 0x1;
    pub(super) const DIR_TO_MEMORY: u32 = 0x2;
    pub(super) const RING_SIZE: usize = 4096;
}

/// What the in-test driver does wrong (one rule each); [`Bad::Nothing`] is a correct driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bad {
    /// A correct driver.
    Nothing,
    /// E1: create the DMA enabler from the interrupt DPC (DISPATCH_LEVEL) instead of
    /// `EvtDevicePrepareHardware`.
    EnablerInDpc,
    /// E2: `WDF_DMA_ENABLER_CONFIG.Size` 8 bytes short.
    EnablerSize,
    /// E2: `MaximumLength` 0.
    EnablerZeroLength,
    /// E8: `WdfDmaEnablerConfigureSystemProfile` on the bus-master enabler.
    ConfigureSystemOnBusMaster,
    /// E8: configure the (non-duplex) system enabler twice.
    ConfigureSystemTwice,
    /// E9: configure a duplex system enabler for writes only, then serve a read.
    DuplexWriteOnly,
    /// T4: the device uses neither I/O, so reads and writes carry no MDL for DMA.
    NeitherIo,
    /// T1: `WdfDmaTransactionCreate` with a `ParentObject`.
    TransactionParent,
    /// ATTRIBUTES: `WdfDmaTransactionCreate` with `WDF_OBJECT_ATTRIBUTES.Size` 8 bytes short.
    TransactionAttributesSize,
    /// ATTRIBUTES: `WdfDmaTransactionCreate` with attributes zeroed, not made with
    /// `WDF_OBJECT_ATTRIBUTES_INIT` (execution level and synchronization scope `Invalid`).
    TransactionAttributesZeroed,
    /// ATTRIBUTES: `WdfInterruptCreate` with a `ParentObject`, without automatic serialization.
    InterruptParent,
    /// MAP: the BAR mapped cached (`PAGE_READWRITE` without `PAGE_NOCACHE`).
    MapCached,
    /// ATTRIBUTES: `WdfTimerCreate` without attributes (a parent is required).
    TimerWithoutParent,
    /// MAP: the BAR mapped with `PAGE_NOCACHE` and no page protection.
    MapNoProtection,
    /// T2: initialise the transaction a second time without releasing it.
    InitializeTwice,
    /// T4: initialise a read request's transaction for the write direction.
    WrongDirection,
    /// T6: execute twice.
    ExecuteTwice,
    /// T8: execute a second packet transaction while the first one runs.
    SecondPacketTransaction,
    /// T9: call `DmaCompleted` again after it returned TRUE.
    CompleteAfterFinal,
    /// T10: call `DmaCompleted` right after `Execute`, before any `EvtProgramDma`.
    CompleteWhileWaiting,
    /// T11: `DmaCompletedWithLength` one byte longer than the current transfer.
    CompleteTooLong,
    /// T13: `EvtProgramDma` returns FALSE without `DmaCompletedFinal`.
    ProgramFalse,
    /// T18: `WdfDmaTransactionRelease` right after `Execute`.
    ReleaseWhileExecuting,
    /// T19: `WdfObjectDelete` of the transaction right after `Execute`.
    DeleteWhileExecuting,
    /// T21: `WdfDmaTransactionSetMaximumLength` before `Initialize`.
    MaximumLengthBeforeInitialize,
    /// T24: `WdfDmaTransactionCancel` (v3 only) on a DMA v2 enabler.
    CancelOnV2,
    /// T27: `WdfDmaTransactionCancel` on a transaction in state Created.
    CancelCreated,
    /// S1: `StopSystemTransfer` and `SetTransferCompleteCallback` on a bus-master transaction.
    StopOnBusMaster,
    /// S2: the cancel routine stops the system transfer twice.
    StopTwice,
    /// S5: `DmaCompleted` right after `Execute`, before the transfer-complete callback.
    CompleteBeforeNotification,
    /// LOCK: `EvtIoRead` returns holding a spin lock.
    SpinLockHeld,
    /// T16: `EvtIoRead` holds a spin lock across `Execute`; `EvtProgramDma` releases it and so
    /// returns at PASSIVE_LEVEL.
    ReleaseCallerLock,
    /// T17: the ISR calls `WdfDmaTransactionDmaCompleted` at DIRQL.
    DmaDdiInIsr,
    /// T17: the ISR calls `WdfDmaTransactionGetBytesTransferred` (a query, ≤ DISPATCH_LEVEL
    /// like every DMA DDI) at DIRQL.
    DmaQueryInIsr,
    /// I1: `WdfInterruptAcquireLock` twice in a row.
    InterruptLockTwice,
    /// I1: `WdfInterruptAcquireLock` in `EvtDevicePrepareHardware`, before the interrupt is
    /// connected.
    InterruptLockBeforeConnect,
    /// STORM: the ISR claims the interrupt but never acknowledges the device.
    NoAck,
    /// R1: `EvtIoRead` keeps the request and never completes it.
    NeverComplete,
    /// R2: complete the request right after `Execute`, while the transaction references it.
    CompleteWhileReferenced,
    /// R2: complete the request between `InitializeUsingRequest` and `Execute`, then execute.
    CompleteBeforeExecute,
    /// R1/R3: complete the request twice.
    CompleteTwice,
    /// R4: mark the request cancelable, then complete it.
    CompleteCancelable,
    /// D13/R5: `WdfRequestUnmarkCancelable` on a request that was never marked.
    UnmarkNotCancelable,
    /// R6: `WdfRequestMarkCancelableEx` twice.
    MarkCancelableTwice,
    /// R8: complete a read with success and `Information` = length + 1.
    InformationTooLarge,
    /// BADHANDLE: `WdfDmaTransactionExecute` on a made-up handle.
    BogusHandle,
    /// BADHANDLE: `WdfDmaTransactionExecute` on the enabler's handle.
    WrongHandleType,
    /// NULLARG: `WdfDmaTransactionDmaCompleted` with a NULL status pointer.
    NullStatus,
    /// LEAK: `EvtDeviceReleaseHardware` does not unmap the BAR.
    LeakMapping,
    /// BADHANDLE: create a spin lock whose `ParentObject` was deleted before.
    SpinLockDeadParent,
    /// C1: `WdfCommonBufferCreate` with `Length` 0.
    CommonBufferZeroLength,
    /// C1: `WdfCommonBufferCreate` with a `ParentObject`.
    CommonBufferParent,
    /// C2: delete the common buffer from the interrupt DPC (DISPATCH_LEVEL).
    CommonBufferDeleteInDpc,
    /// E9: never configure the system enabler, then initialise a transaction on it.
    SkipSystemConfigure,
    /// R9: complete an IOCTL that has no output buffer with `Information` 4.
    InformationOnEmptyIoctl,
    /// Not a misbehaviour (T13's correct twin): `EvtProgramDma` cannot start the device, so it
    /// ends the transaction with `DmaCompletedFinal(0)`, releases it, completes the request with
    /// `STATUS_DEVICE_NOT_READY` and returns FALSE.
    ProgramAborts,
    /// Not a misbehaviour: the DPC unmaps the BAR at DISPATCH_LEVEL (`MmUnmapIoSpace` is
    /// documented for IRQL <= DISPATCH_LEVEL).
    UnmapAtDispatch,
    /// R2: the request is cancelable while its DMA runs (`EvtProgramDma` does not unmark it)
    /// and the cancel routine completes it without asking the transaction.
    CancelCompletesBlindly,
    /// Not a misbehaviour (§3.2, D1): after a stop the transfer-complete callback calls
    /// `DmaCompleted` instead of `DmaCompletedFinal`.
    CompleteInsteadOfFinal,
    /// Not a misbehaviour (§7.2, third ordering): the system cancel routine stops the transfer
    /// without trying `WdfDmaTransactionCancel` first.
    StopWithoutCancel,
}

/// How the driver configures its DMA and what it does wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Knobs {
    /// `WDF_DMA_ENABLER_CONFIG.Profile`.
    pub profile: WDF_DMA_PROFILE,
    /// `WDF_DMA_ENABLER_CONFIG.MaximumLength`.
    pub maximum_length: usize,
    /// `WDF_DMA_ENABLER_CONFIG.AddressWidthOverride`.
    pub width: u32,
    /// `WDF_DMA_ENABLER_CONFIG.WdmDmaVersionOverride`.
    pub version: u32,
    /// The misbehaviour.
    pub bad: Bad,
    /// `(n, length)`: report the `n`-th transfer (from 0) with `DmaCompletedWithLength(length)`.
    pub partial: Option<(usize, usize)>,
    /// `WdfDmaTransactionSetMaximumLength` after `Initialize`.
    pub set_maximum_length: Option<usize>,
    /// Length of a common buffer created after the enabler (0: none).
    pub common_buffer: usize,
    /// Bus-master cancellation, pattern A of §4.4: mark the request cancelable before
    /// initialising, unmark it in `EvtProgramDma`, cancel the transaction in `EvtRequestCancel`.
    pub cancelable: bool,
}

impl Knobs {
    /// Bus-master edu: packet profile, 4 KiB transfers, 28-bit width (the edu `dma_mask`), v3.
    pub const PACKET: Self = Self {
        profile: _WDF_DMA_PROFILE::WdfDmaProfilePacket,
        maximum_length: 4096,
        width: 28,
        version: 3,
        bad: Bad::Nothing,
        partial: None,
        set_maximum_length: None,
        common_buffer: 0,
        cancelable: false,
    };

    /// Packet profile with both overrides 0: DMA v2 and a 32-bit width.
    pub const PACKET_V2: Self = Self {
        width: 0,
        version: 0,
        ..Self::PACKET
    };

    /// System profile (no overrides allowed; DMA v3 is implied).
    pub const SYSTEM: Self = Self {
        profile: _WDF_DMA_PROFILE::WdfDmaProfileSystem,
        width: 0,
        version: 0,
        ..Self::PACKET
    };

    /// These knobs with a misbehaviour.
    #[must_use]
    pub const fn with(self, bad: Bad) -> Self {
        Self { bad, ..self }
    }

    const fn system(&self) -> bool {
        matches!(
            self.profile,
            _WDF_DMA_PROFILE::WdfDmaProfileSystem | _WDF_DMA_PROFILE::WdfDmaProfileSystemDuplex
        )
    }
}

/// What the driver saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    /// `EvtProgramDma` ran.
    Program {
        /// Length of the first (only) element.
        length: usize,
        /// `SgList->NumberOfElements`.
        elements: u32,
        /// Logical address of the first element.
        address: u64,
        /// `WdfDmaTransactionGetBytesTransferred` inside the callback.
        transferred: usize,
        /// `WdfDmaTransactionGetCurrentDmaTransferLength` inside the callback.
        current: usize,
    },
    /// A `DmaCompleted*` call returned.
    Completed {
        /// Its BOOLEAN result.
        finished: bool,
        /// The status it stored.
        status: NTSTATUS,
    },
    /// `EvtDmaTransactionDmaTransferComplete` ran with this `DMA_COMPLETION_STATUS`.
    TransferComplete(i32),
    /// Scatter/gather profiles: the DPC read `NumberOfElements` of the list `EvtProgramDma`
    /// received, before `DmaCompleted*` (the list is still valid then, §2.5).
    ListInDpc(u32),
    /// A DDI or callback and the value it returned (statuses, BOOLEANs as 0/1).
    Ddi(&'static str, i64),
}

/// The driver's state. Handles are kept as raw framework handles.
struct Driver {
    knobs: Cell<Knobs>,
    device: Cell<WDFDEVICE>,
    interrupt: Cell<WDFINTERRUPT>,
    enabler: Cell<WDFDMAENABLER>,
    tx: Cell<WDFDMATRANSACTION>,
    tx2: Cell<WDFDMATRANSACTION>,
    common_buffer: Cell<WDFCOMMONBUFFER>,
    lock: Cell<WDFSPINLOCK>,
    bar: Cell<usize>,
    bar_len: Cell<u64>,
    bar_phys: Cell<u64>,
    dma_descriptor: Cell<PCM_PARTIAL_RESOURCE_DESCRIPTOR>,
    /// The list the last `EvtProgramDma` received.
    sg_list: Cell<PSCATTER_GATHER_LIST>,
    /// Interrupt causes the ISR saved for the DPC.
    isr_status: Cell<u32>,
    /// `DmaCompleted*` calls made for the current transaction.
    completions: Cell<usize>,
    /// The request the current transaction serves.
    request: Cell<WDFREQUEST>,
    /// System path: references on the request (DMA path + cancel path), §4.4 B.
    refs: Cell<u32>,
    /// System path: the status the first finisher chose.
    final_status: Cell<Option<NTSTATUS>>,
    log: RefCell<Vec<Ev>>,
}

impl Driver {
    const fn new() -> Self {
        Self {
            knobs: Cell::new(Knobs::PACKET),
            device: Cell::new(null_mut()),
            interrupt: Cell::new(null_mut()),
            enabler: Cell::new(null_mut()),
            tx: Cell::new(null_mut()),
            tx2: Cell::new(null_mut()),
            common_buffer: Cell::new(null_mut()),
            lock: Cell::new(null_mut()),
            bar: Cell::new(0),
            bar_len: Cell::new(0),
            bar_phys: Cell::new(0),
            dma_descriptor: Cell::new(null_mut()),
            sg_list: Cell::new(null_mut()),
            isr_status: Cell::new(0),
            completions: Cell::new(0),
            request: Cell::new(null_mut()),
            refs: Cell::new(0),
            final_status: Cell::new(None),
            log: RefCell::new(Vec::new()),
        }
    }
}

thread_local! {
    static DRIVER: Driver = const { Driver::new() };
}

fn drv<R>(f: impl FnOnce(&Driver) -> R) -> R {
    DRIVER.with(f)
}

fn knobs() -> Knobs {
    drv(|d| d.knobs.get())
}

fn bad() -> Bad {
    knobs().bad
}

fn record(event: Ev) {
    drv(|d| d.log.borrow_mut().push(event));
}

fn note(name: &'static str, value: impl Into<i64>) {
    record(Ev::Ddi(name, value.into()));
}

/// Resets the driver's state for a new machine on this thread.
pub fn install(knobs: Knobs) {
    drv(|d| {
        d.knobs.set(knobs);
        d.device.set(null_mut());
        d.interrupt.set(null_mut());
        d.enabler.set(null_mut());
        d.tx.set(null_mut());
        d.tx2.set(null_mut());
        d.common_buffer.set(null_mut());
        d.lock.set(null_mut());
        d.bar.set(0);
        d.bar_len.set(0);
        d.bar_phys.set(0);
        d.dma_descriptor.set(null_mut());
        d.isr_status.set(0);
        d.completions.set(0);
        d.request.set(null_mut());
        d.refs.set(0);
        d.final_status.set(None);
        d.log.borrow_mut().clear();
    });
}

/// Everything the driver recorded so far.
#[must_use]
pub fn events() -> Vec<Ev> {
    drv(|d| d.log.borrow().clone())
}

/// Takes the record, leaving it empty.
pub fn take_events() -> Vec<Ev> {
    drv(|d| core::mem::take(&mut *d.log.borrow_mut()))
}

/// The values a named DDI returned, in order.
#[must_use]
pub fn ddi(name: &str) -> Vec<i64> {
    events()
        .into_iter()
        .filter_map(|e| match e {
            Ev::Ddi(n, v) if n == name => Some(v),
            _ => None,
        })
        .collect()
}

/// `(length, bytes transferred before it)` of every `EvtProgramDma`.
#[must_use]
pub fn programs() -> Vec<(usize, usize)> {
    events()
        .into_iter()
        .filter_map(|e| match e {
            Ev::Program {
                length,
                transferred,
                ..
            } => Some((length, transferred)),
            _ => None,
        })
        .collect()
}

/// `(finished, status)` of every `DmaCompleted*` call.
#[must_use]
pub fn completions() -> Vec<(bool, NTSTATUS)> {
    events()
        .into_iter()
        .filter_map(|e| match e {
            Ev::Completed { finished, status } => Some((finished, status)),
            _ => None,
        })
        .collect()
}

fn size_u32<T>() -> u32 {
    u32::try_from(core::mem::size_of::<T>()).unwrap_or(u32::MAX)
}

const fn status_of(boolean: BOOLEAN) -> bool {
    boolean != 0
}

// --- Thin wrappers over the mirror DDIs the driver calls often. ---

fn initialize(
    tx: WDFDMATRANSACTION,
    request: WDFREQUEST,
    direction: WDF_DMA_DIRECTION,
) -> NTSTATUS {
    // SAFETY: handles are passed by value and validated by the framework; `program_dma` has the
    // EVT_WDF_PROGRAM_DMA signature.
    unsafe { WdfDmaTransactionInitializeUsingRequest(tx, request, Some(program_dma), direction) }
}

fn execute(tx: WDFDMATRANSACTION) -> NTSTATUS {
    // SAFETY: a handle by value and a NULL context, which the driver never dereferences.
    unsafe { WdfDmaTransactionExecute(tx, null_mut()) }
}

fn release(tx: WDFDMATRANSACTION) -> NTSTATUS {
    // SAFETY: a handle by value.
    unsafe { WdfDmaTransactionRelease(tx) }
}

fn dma_completed(tx: WDFDMATRANSACTION) -> (bool, NTSTATUS) {
    let mut status = 0;
    // SAFETY: `status` is a live local the DDI writes once.
    let finished = unsafe { WdfDmaTransactionDmaCompleted(tx, &raw mut status) };
    (status_of(finished), status)
}

fn dma_completed_with_length(tx: WDFDMATRANSACTION, length: usize) -> (bool, NTSTATUS) {
    let mut status = 0;
    // SAFETY: `status` is a live local the DDI writes once.
    let finished = unsafe { WdfDmaTransactionDmaCompletedWithLength(tx, length, &raw mut status) };
    (status_of(finished), status)
}

fn dma_completed_final(tx: WDFDMATRANSACTION, length: usize) -> (bool, NTSTATUS) {
    let mut status = 0;
    // SAFETY: `status` is a live local the DDI writes once.
    let finished = unsafe { WdfDmaTransactionDmaCompletedFinal(tx, length, &raw mut status) };
    (status_of(finished), status)
}

fn bytes_transferred(tx: WDFDMATRANSACTION) -> usize {
    // SAFETY: a handle by value.
    unsafe { WdfDmaTransactionGetBytesTransferred(tx) }
}

fn current_length(tx: WDFDMATRANSACTION) -> usize {
    // SAFETY: a handle by value.
    unsafe { WdfDmaTransactionGetCurrentDmaTransferLength(tx) }
}

fn cancel(tx: WDFDMATRANSACTION) -> bool {
    // SAFETY: a handle by value.
    status_of(unsafe { WdfDmaTransactionCancel(tx) })
}

fn stop_system_transfer(tx: WDFDMATRANSACTION) {
    // SAFETY: a handle by value.
    unsafe { WdfDmaTransactionStopSystemTransfer(tx) };
}

fn complete(request: WDFREQUEST, status: NTSTATUS, information: usize) {
    // SAFETY: a handle by value.
    unsafe { WdfRequestCompleteWithInformation(request, status, information as u64) };
}

fn mark_cancelable(request: WDFREQUEST, routine: PFN_WDF_REQUEST_CANCEL) -> NTSTATUS {
    // SAFETY: a handle by value and a routine with the EVT_WDF_REQUEST_CANCEL signature.
    unsafe { WdfRequestMarkCancelableEx(request, routine) }
}

fn unmark_cancelable(request: WDFREQUEST) -> NTSTATUS {
    // SAFETY: a handle by value.
    unsafe { WdfRequestUnmarkCancelable(request) }
}

fn delete(object: WDFOBJECT) {
    // SAFETY: a handle by value.
    unsafe { WdfObjectDelete(object) };
}

fn acquire_interrupt_lock() {
    let interrupt = drv(|d| d.interrupt.get());
    // SAFETY: a handle by value.
    unsafe { WdfInterruptAcquireLock(interrupt) };
}

fn release_interrupt_lock() {
    let interrupt = drv(|d| d.interrupt.get());
    // SAFETY: a handle by value.
    unsafe { WdfInterruptReleaseLock(interrupt) };
}

fn spin_lock(acquire: bool) {
    let lock = drv(|d| d.lock.get());
    if acquire {
        // SAFETY: a handle by value.
        unsafe { WdfSpinLockAcquire(lock) };
    } else {
        // SAFETY: a handle by value.
        unsafe { WdfSpinLockRelease(lock) };
    }
}

fn register(offset: usize) -> usize {
    drv(|d| d.bar.get()) + offset
}

// --- DriverEntry, device add, PnP. ---

/// The driver's `DriverEntry`.
///
/// # Safety
/// Called by the simulator with its driver object and registry path.
pub unsafe extern "system" fn driver_entry(
    driver: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    let mut config = WDF_DRIVER_CONFIG {
        Size: size_u32::<WDF_DRIVER_CONFIG>(),
        EvtDriverDeviceAdd: Some(device_add),
        ..WDF_DRIVER_CONFIG::default()
    };
    let mut handle: WDFDRIVER = null_mut();
    // SAFETY: the framework's own pointers, a live config and a live out handle.
    unsafe {
        WdfDriverCreate(
            driver,
            registry_path,
            WDF_NO_OBJECT_ATTRIBUTES,
            &raw mut config,
            &raw mut handle,
        )
    }
}

unsafe extern "C" fn device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let mut init = init;
    let io_type = if bad() == Bad::NeitherIo {
        _WDF_DEVICE_IO_TYPE::WdfDeviceIoNeither
    } else {
        _WDF_DEVICE_IO_TYPE::WdfDeviceIoDirect
    };
    // SAFETY: `init` is the framework's device-init handle for this call.
    unsafe { WdfDeviceInitSetIoType(init, io_type) };
    let mut pnp = WDF_PNPPOWER_EVENT_CALLBACKS {
        Size: size_u32::<WDF_PNPPOWER_EVENT_CALLBACKS>(),
        EvtDevicePrepareHardware: Some(prepare_hardware),
        EvtDeviceReleaseHardware: Some(release_hardware),
        ..WDF_PNPPOWER_EVENT_CALLBACKS::default()
    };
    // SAFETY: `init` as above; `pnp` is live for the call (the framework copies it).
    unsafe { WdfDeviceInitSetPnpPowerEventCallbacks(init, &raw mut pnp) };
    let mut device: WDFDEVICE = null_mut();
    // SAFETY: `init` and `device` are live locals; the framework consumes `init`.
    let status =
        unsafe { WdfDeviceCreate(&raw mut init, WDF_NO_OBJECT_ATTRIBUTES, &raw mut device) };
    if status < 0 {
        return status;
    }
    drv(|d| d.device.set(device));
    let mut queue = WDF_IO_QUEUE_CONFIG {
        Size: size_u32::<WDF_IO_QUEUE_CONFIG>(),
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential,
        PowerManaged: _WDF_TRI_STATE::WdfUseDefault,
        DefaultQueue: 1,
        EvtIoRead: Some(io_read),
        EvtIoWrite: Some(io_write),
        EvtIoDeviceControl: Some(io_device_control),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    // SAFETY: a live config; the queue handle is not needed (NULL out pointer is allowed).
    let status =
        unsafe { WdfIoQueueCreate(device, &raw mut queue, WDF_NO_OBJECT_ATTRIBUTES, null_mut()) };
    if status < 0 {
        return status;
    }
    let mut lock: WDFSPINLOCK = null_mut();
    // SAFETY: a live out handle; the lock's parent defaults to the driver.
    let status = unsafe { WdfSpinLockCreate(WDF_NO_OBJECT_ATTRIBUTES, &raw mut lock) };
    drv(|d| d.lock.set(lock));
    status
}

/// Reads a `CmResourceTypeMemory` descriptor: (start, length).
fn memory_range(descriptor: &CM_PARTIAL_RESOURCE_DESCRIPTOR) -> (u64, u64) {
    // SAFETY: the caller checked `Type == CmResourceTypeMemory`, so `Memory` is the member.
    let memory = unsafe { descriptor.u.Memory };
    let start = memory.Start;
    // SAFETY: every member of LARGE_INTEGER covers the same 8 bytes.
    let start = unsafe { start.QuadPart };
    (start.cast_unsigned(), u64::from(memory.Length))
}

unsafe extern "C" fn prepare_hardware(
    device: WDFDEVICE,
    raw: WDFCMRESLIST,
    translated: WDFCMRESLIST,
) -> NTSTATUS {
    // SAFETY: a handle by value.
    let count = unsafe { WdfCmResourceListGetCount(translated) };
    for index in 0..count {
        // SAFETY: a handle and an index below the count.
        let translated_descriptor = unsafe { WdfCmResourceListGetDescriptor(translated, index) };
        // SAFETY: as above, for the raw list, which has the same layout.
        let raw_descriptor = unsafe { WdfCmResourceListGetDescriptor(raw, index) };
        // SAFETY: the framework's descriptor, valid while the resource lists live (until
        // release hardware); NULL is checked by `as_ref`.
        let Some(descriptor) = (unsafe { translated_descriptor.as_ref() }) else {
            continue;
        };
        let kind = u32::from(descriptor.Type);
        if kind == CmResourceTypeMemory {
            let (start, length) = memory_range(descriptor);
            let protect = match bad() {
                Bad::MapCached => PAGE_READWRITE,
                Bad::MapNoProtection => PAGE_NOCACHE,
                _ => PAGE_READWRITE | PAGE_NOCACHE,
            };
            // SAFETY: maps the device's own BAR; unmapped in release hardware.
            let va = unsafe {
                MmMapIoSpaceEx(
                    PHYSICAL_ADDRESS {
                        QuadPart: start.cast_signed(),
                    },
                    length,
                    protect,
                )
            };
            if va.is_null() {
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            drv(|d| {
                d.bar.set(va as usize);
                d.bar_len.set(length);
                d.bar_phys.set(start);
            });
        } else if kind == CmResourceTypeInterrupt {
            let status = create_interrupt(device, raw_descriptor, translated_descriptor);
            if status < 0 {
                return status;
            }
        } else if kind == CmResourceTypeDma {
            drv(|d| d.dma_descriptor.set(translated_descriptor));
        }
    }
    if bad() == Bad::SpinLockDeadParent {
        spin_lock_with_dead_parent();
    }
    if bad() == Bad::TimerWithoutParent {
        timer_without_parent();
    }
    if bad() == Bad::EnablerInDpc {
        return STATUS_SUCCESS;
    }
    let status = create_enabler(device);
    if status < 0 {
        return status;
    }
    let status = configure_system_profile();
    if status < 0 {
        return status;
    }
    create_common_buffer(device);
    create_transactions(device)
}

/// Creates the common buffer the knobs ask for and records its status, logical address and
/// length; the driver keeps going whatever the result.
fn create_common_buffer(device: WDFDEVICE) {
    let (enabler, knobs) = drv(|d| (d.enabler.get(), d.knobs.get()));
    let length = match knobs.bad {
        Bad::CommonBufferZeroLength => 0,
        Bad::CommonBufferParent | Bad::CommonBufferDeleteInDpc => 4096,
        _ => knobs.common_buffer,
    };
    if length == 0 && knobs.bad != Bad::CommonBufferZeroLength {
        return;
    }
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        Size: size_u32::<WDF_OBJECT_ATTRIBUTES>(),
        ParentObject: device.cast(),
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let with_parent = knobs.bad == Bad::CommonBufferParent;
    let attributes = if with_parent {
        &raw mut attributes
    } else {
        WDF_NO_OBJECT_ATTRIBUTES
    };
    let mut buffer: WDFCOMMONBUFFER = null_mut();
    // SAFETY: live attributes (or NULL) and a live out handle.
    let status = unsafe { WdfCommonBufferCreate(enabler, length, attributes, &raw mut buffer) };
    note("WdfCommonBufferCreate", status);
    if status < 0 {
        return;
    }
    drv(|d| d.common_buffer.set(buffer));
    // SAFETY: a handle by value.
    let logical = unsafe { WdfCommonBufferGetAlignedLogicalAddress(buffer) };
    // SAFETY: every member of LARGE_INTEGER covers the same 8 bytes.
    note("WdfCommonBufferGetAlignedLogicalAddress", unsafe {
        logical.QuadPart
    });
    // SAFETY: a handle by value.
    let length = unsafe { WdfCommonBufferGetLength(buffer) };
    note(
        "WdfCommonBufferGetLength",
        i64::try_from(length).unwrap_or(-1),
    );
    // SAFETY: a handle by value.
    let va = unsafe { WdfCommonBufferGetAlignedVirtualAddress(buffer) };
    if !va.is_null() {
        // SAFETY: the buffer's own `length` bytes, owned by the driver until it is deleted.
        unsafe { va.cast::<u8>().write_bytes(0xA5, length) };
    }
}

/// `WDF_OBJECT_ATTRIBUTES_INIT`: the right size, execution level and synchronization scope
/// inherited from the parent.
fn initialized_attributes() -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES {
        Size: size_u32::<WDF_OBJECT_ATTRIBUTES>(),
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ..WDF_OBJECT_ATTRIBUTES::default()
    }
}

fn create_interrupt(
    device: WDFDEVICE,
    raw: PCM_PARTIAL_RESOURCE_DESCRIPTOR,
    translated: PCM_PARTIAL_RESOURCE_DESCRIPTOR,
) -> NTSTATUS {
    let mut config = WDF_INTERRUPT_CONFIG {
        Size: size_u32::<WDF_INTERRUPT_CONFIG>(),
        EvtInterruptIsr: Some(isr),
        EvtInterruptDpc: Some(dpc),
        InterruptRaw: raw,
        InterruptTranslated: translated,
        ..WDF_INTERRUPT_CONFIG::default()
    };
    let mut interrupt: WDFINTERRUPT = null_mut();
    let mut attributes = initialized_attributes();
    attributes.ParentObject = device.cast();
    let attributes = if bad() == Bad::InterruptParent {
        &raw mut attributes
    } else {
        WDF_NO_OBJECT_ATTRIBUTES
    };
    // SAFETY: a live config, attributes (or NULL) and out handle; the descriptors come from
    // the framework.
    let status =
        unsafe { WdfInterruptCreate(device, &raw mut config, attributes, &raw mut interrupt) };
    drv(|d| d.interrupt.set(interrupt));
    if status >= 0 && bad() == Bad::InterruptLockBeforeConnect {
        acquire_interrupt_lock();
    }
    status
}

fn create_enabler(device: WDFDEVICE) -> NTSTATUS {
    let knobs = knobs();
    let mut config = WDF_DMA_ENABLER_CONFIG {
        Size: size_u32::<WDF_DMA_ENABLER_CONFIG>(),
        Profile: knobs.profile,
        MaximumLength: knobs.maximum_length,
        AddressWidthOverride: knobs.width,
        WdmDmaVersionOverride: knobs.version,
        ..WDF_DMA_ENABLER_CONFIG::default()
    };
    match knobs.bad {
        Bad::EnablerSize => config.Size -= 8,
        Bad::EnablerZeroLength => config.MaximumLength = 0,
        _ => {}
    }
    let mut enabler: WDFDMAENABLER = null_mut();
    // SAFETY: a live config and out handle.
    let status = unsafe {
        WdfDmaEnablerCreate(
            device,
            &raw mut config,
            WDF_NO_OBJECT_ATTRIBUTES,
            &raw mut enabler,
        )
    };
    note("WdfDmaEnablerCreate", status);
    drv(|d| d.enabler.set(enabler));
    status
}

fn configure_system_profile() -> NTSTATUS {
    let knobs = knobs();
    let enabler = drv(|d| d.enabler.get());
    let mut fake = CM_PARTIAL_RESOURCE_DESCRIPTOR {
        Type: u8::try_from(CmResourceTypeDma).unwrap_or(0),
        ..CM_PARTIAL_RESOURCE_DESCRIPTOR::default()
    };
    fake.u.Dma = _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_6 {
        Channel: 3,
        Port: 7,
        Reserved1: 0,
    };
    let descriptor = match (knobs.system(), knobs.bad) {
        (true, Bad::SkipSystemConfigure) => return STATUS_SUCCESS,
        (true, _) => drv(|d| d.dma_descriptor.get()),
        (false, Bad::ConfigureSystemOnBusMaster) => &raw mut fake,
        (false, _) => return STATUS_SUCCESS,
    };
    let address = drv(|d| d.bar_phys.get()) + fifo::DATA;
    let mut config = WDF_DMA_SYSTEM_PROFILE_CONFIG {
        Size: size_u32::<WDF_DMA_SYSTEM_PROFILE_CONFIG>(),
        DemandMode: 1,
        LoopedTransfer: 0,
        DmaWidth: _DMA_WIDTH::Width32Bits,
        DeviceAddress: PHYSICAL_ADDRESS {
            QuadPart: address.cast_signed(),
        },
        DmaDescriptor: descriptor,
    };
    let write = _WDF_DMA_DIRECTION::WdfDmaDirectionWriteToDevice;
    let read = _WDF_DMA_DIRECTION::WdfDmaDirectionReadFromDevice;
    // A duplex enabler is configured once per direction.
    let directions: &[WDF_DMA_DIRECTION] = match knobs.bad {
        Bad::ConfigureSystemTwice => &[write, write],
        Bad::DuplexWriteOnly => &[write],
        _ if knobs.profile == _WDF_DMA_PROFILE::WdfDmaProfileSystemDuplex => &[write, read],
        _ => &[write],
    };
    let mut first = STATUS_SUCCESS;
    for (round, &direction) in directions.iter().enumerate() {
        // SAFETY: a live config whose descriptor is the framework's (or a live local).
        let status =
            unsafe { WdfDmaEnablerConfigureSystemProfile(enabler, &raw mut config, direction) };
        note("WdfDmaEnablerConfigureSystemProfile", status);
        if round == 0 {
            first = status;
        }
    }
    // A misconfigured bus-master enabler is still usable: carry on.
    if knobs.system() {
        first
    } else {
        STATUS_SUCCESS
    }
}

fn create_transactions(device: WDFDEVICE) -> NTSTATUS {
    let enabler = drv(|d| d.enabler.get());
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        Size: size_u32::<WDF_OBJECT_ATTRIBUTES>(),
        ParentObject: device.cast(),
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    if bad() == Bad::TransactionAttributesSize {
        attributes.ParentObject = null_mut();
        attributes.Size -= 8;
    }
    if bad() == Bad::TransactionAttributesZeroed {
        attributes.ParentObject = null_mut();
    }
    let with_parent = matches!(
        bad(),
        Bad::TransactionParent | Bad::TransactionAttributesSize | Bad::TransactionAttributesZeroed
    );
    let attributes = if with_parent {
        &raw mut attributes
    } else {
        WDF_NO_OBJECT_ATTRIBUTES
    };
    let mut tx: WDFDMATRANSACTION = null_mut();
    // SAFETY: live attributes (or NULL) and a live out handle.
    let status = unsafe { WdfDmaTransactionCreate(enabler, attributes, &raw mut tx) };
    note("WdfDmaTransactionCreate", status);
    if status < 0 {
        return status;
    }
    drv(|d| d.tx.set(tx));
    let mut tx2: WDFDMATRANSACTION = null_mut();
    // SAFETY: as above.
    let status =
        unsafe { WdfDmaTransactionCreate(enabler, WDF_NO_OBJECT_ATTRIBUTES, &raw mut tx2) };
    drv(|d| d.tx2.set(tx2));
    status
}

fn timer_without_parent() {
    const unsafe extern "C" fn never(_timer: WDFTIMER) {}
    let mut config = WDF_TIMER_CONFIG {
        Size: size_u32::<WDF_TIMER_CONFIG>(),
        EvtTimerFunc: Some(never),
        ..WDF_TIMER_CONFIG::default()
    };
    let mut timer: WDFTIMER = null_mut();
    // SAFETY: a live config and out handle; no attributes on purpose.
    let status =
        unsafe { WdfTimerCreate(&raw mut config, WDF_NO_OBJECT_ATTRIBUTES, &raw mut timer) };
    note("WdfTimerCreate", status);
}

fn spin_lock_with_dead_parent() {
    let mut first: WDFSPINLOCK = null_mut();
    // SAFETY: a live out handle.
    let status = unsafe { WdfSpinLockCreate(WDF_NO_OBJECT_ATTRIBUTES, &raw mut first) };
    note("WdfSpinLockCreate", status);
    delete(first.cast());
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        Size: size_u32::<WDF_OBJECT_ATTRIBUTES>(),
        ParentObject: first.cast(),
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let mut orphan: WDFSPINLOCK = null_mut();
    // SAFETY: live attributes and out handle; the parent handle is stale on purpose.
    let status = unsafe { WdfSpinLockCreate(&raw mut attributes, &raw mut orphan) };
    note("WdfSpinLockCreate", status);
}

unsafe extern "C" fn release_hardware(_device: WDFDEVICE, _translated: WDFCMRESLIST) -> NTSTATUS {
    let (bar, length) = drv(|d| (d.bar.replace(0), d.bar_len.get()));
    if bar != 0 && bad() != Bad::LeakMapping {
        // SAFETY: the mapping made in prepare hardware, unmapped once.
        unsafe { MmUnmapIoSpace(bar as PVOID, length) };
    }
    let enabler = drv(|d| {
        d.tx.set(null_mut());
        d.tx2.set(null_mut());
        d.common_buffer.set(null_mut());
        d.enabler.replace(null_mut())
    });
    if !enabler.is_null() {
        delete(enabler.cast());
    }
    STATUS_SUCCESS
}

// --- I/O. ---

unsafe extern "C" fn io_read(_queue: WDFQUEUE, request: WDFREQUEST, length: usize) {
    start(
        request,
        length,
        _WDF_DMA_DIRECTION::WdfDmaDirectionReadFromDevice,
    );
}

unsafe extern "C" fn io_write(_queue: WDFQUEUE, request: WDFREQUEST, length: usize) {
    start(
        request,
        length,
        _WDF_DMA_DIRECTION::WdfDmaDirectionWriteToDevice,
    );
}

unsafe extern "C" fn io_device_control(
    _queue: WDFQUEUE,
    request: WDFREQUEST,
    output_length: usize,
    _input_length: usize,
    code: ULONG,
) {
    match code {
        IOCTL_RAISE => {
            write32(register(edu::IRQ_RAISE), edu::IRQ_SOFTWARE);
            let information = if bad() == Bad::InformationOnEmptyIoctl {
                4
            } else {
                0
            };
            complete(request, STATUS_SUCCESS, information);
        }
        IOCTL_READ_BUFFERED | IOCTL_READ_NEITHER => {
            start(
                request,
                output_length,
                _WDF_DMA_DIRECTION::WdfDmaDirectionReadFromDevice,
            );
        }
        _ => complete(request, STATUS_INVALID_DEVICE_REQUEST, 0),
    }
}

/// Misbehaviours that replace the request handling entirely. True when the request was dealt
/// with.
fn before_initialize(request: WDFREQUEST, length: usize, tx: WDFDMATRANSACTION) -> bool {
    match bad() {
        Bad::NeverComplete => true,
        Bad::InformationTooLarge => {
            complete(request, STATUS_SUCCESS, length + 1);
            true
        }
        Bad::CompleteTwice => {
            complete(request, STATUS_SUCCESS, 0);
            complete(request, STATUS_SUCCESS, 0);
            true
        }
        Bad::CompleteCancelable => {
            note(
                "WdfRequestMarkCancelableEx",
                mark_cancelable(request, Some(bus_master_cancel)),
            );
            complete(request, STATUS_SUCCESS, 0);
            true
        }
        Bad::SpinLockHeld => {
            spin_lock(true);
            true
        }
        Bad::InterruptLockTwice => {
            acquire_interrupt_lock();
            acquire_interrupt_lock();
            true
        }
        Bad::CancelCreated => {
            note("WdfDmaTransactionCancel", cancel(tx));
            true
        }
        Bad::MaximumLengthBeforeInitialize => {
            // SAFETY: a handle by value.
            unsafe { WdfDmaTransactionSetMaximumLength(tx, 1024) };
            true
        }
        Bad::BogusHandle => {
            note(
                "WdfDmaTransactionExecute",
                execute(0x1234_5678 as WDFDMATRANSACTION),
            );
            true
        }
        Bad::WrongHandleType => {
            note(
                "WdfDmaTransactionExecute",
                execute(drv(|d| d.enabler.get()).cast()),
            );
            true
        }
        Bad::MarkCancelableTwice => {
            note(
                "WdfRequestMarkCancelableEx",
                mark_cancelable(request, Some(bus_master_cancel)),
            );
            note(
                "WdfRequestMarkCancelableEx",
                mark_cancelable(request, Some(bus_master_cancel)),
            );
            note("WdfRequestUnmarkCancelable", unmark_cancelable(request));
            false
        }
        Bad::UnmarkNotCancelable => {
            note("WdfRequestUnmarkCancelable", unmark_cancelable(request));
            false
        }
        _ => false,
    }
}

/// Starts DMA for a request (read, write or a DMA IOCTL).
fn start(request: WDFREQUEST, length: usize, direction: WDF_DMA_DIRECTION) {
    let knobs = knobs();
    let (tx, tx2) = drv(|d| {
        d.request.set(request);
        d.completions.set(0);
        (d.tx.get(), d.tx2.get())
    });
    if before_initialize(request, length, tx) {
        return;
    }
    if knobs.cancelable || knobs.bad == Bad::CancelCompletesBlindly {
        let status = mark_cancelable(request, Some(bus_master_cancel));
        note("WdfRequestMarkCancelableEx", status);
        if status < 0 {
            complete(request, status, 0);
            return;
        }
    }
    if knobs.system() {
        let status = mark_cancelable(request, Some(system_cancel));
        note("WdfRequestMarkCancelableEx", status);
        if status < 0 {
            complete(request, status, 0);
            return;
        }
        drv(|d| {
            d.refs.set(2);
            d.final_status.set(None);
        });
    }
    let direction = if knobs.bad == Bad::WrongDirection {
        1 - direction
    } else {
        direction
    };
    let status = initialize(tx, request, direction);
    note("WdfDmaTransactionInitializeUsingRequest", status);
    if status < 0 {
        if knobs.system() {
            unmark_cancelable(request);
        }
        complete(request, status, 0);
        return;
    }
    if knobs.bad == Bad::InitializeTwice {
        note(
            "WdfDmaTransactionInitializeUsingRequest",
            initialize(tx, request, direction),
        );
        return;
    }
    if let Some(maximum) = knobs.set_maximum_length {
        // SAFETY: a handle by value.
        unsafe { WdfDmaTransactionSetMaximumLength(tx, maximum) };
    }
    if knobs.system() {
        // SAFETY: a handle by value and a callback with the transfer-complete signature.
        unsafe {
            WdfDmaTransactionSetTransferCompleteCallback(tx, Some(transfer_complete), null_mut());
        };
    }
    if knobs.bad == Bad::ReleaseCallerLock {
        spin_lock(true);
    }
    if knobs.bad == Bad::CompleteBeforeExecute {
        complete(request, STATUS_SUCCESS, 0);
        note("WdfDmaTransactionExecute", execute(tx));
        return;
    }
    let status = execute(tx);
    note("WdfDmaTransactionExecute", status);
    if status < 0 {
        release(tx);
        if knobs.system() {
            unmark_cancelable(request);
        }
        complete(request, status, 0);
        return;
    }
    after_execute(request, tx, tx2, direction);
}

/// Misbehaviours right after a successful `Execute`.
fn after_execute(
    request: WDFREQUEST,
    tx: WDFDMATRANSACTION,
    tx2: WDFDMATRANSACTION,
    direction: WDF_DMA_DIRECTION,
) {
    match bad() {
        Bad::ExecuteTwice => note("WdfDmaTransactionExecute", execute(tx)),
        Bad::SecondPacketTransaction => {
            note(
                "WdfDmaTransactionInitializeUsingRequest",
                initialize(tx2, request, direction),
            );
            note("WdfDmaTransactionExecute", execute(tx2));
            note("WdfDmaTransactionRelease", release(tx2));
        }
        Bad::CompleteWhileWaiting | Bad::CompleteBeforeNotification => {
            let (finished, status) = dma_completed(tx);
            record(Ev::Completed { finished, status });
        }
        Bad::ReleaseWhileExecuting => note("WdfDmaTransactionRelease", release(tx)),
        Bad::DeleteWhileExecuting => delete(tx.cast()),
        Bad::CompleteWhileReferenced => complete(request, STATUS_SUCCESS, 0),
        Bad::CancelOnV2 => note("WdfDmaTransactionCancel", cancel(tx)),
        Bad::StopOnBusMaster => {
            stop_system_transfer(tx);
            // SAFETY: a handle by value and a callback with the transfer-complete signature.
            unsafe {
                WdfDmaTransactionSetTransferCompleteCallback(
                    tx,
                    Some(transfer_complete),
                    null_mut(),
                );
            };
        }
        _ => {}
    }
}

/// `EvtRequestCancel` of the bus-master path (pattern A of §4.4).
unsafe extern "C" fn bus_master_cancel(request: WDFREQUEST) {
    note("EvtRequestCancel", 0);
    if bad() == Bad::CancelCompletesBlindly {
        complete(request, STATUS_CANCELLED, 0);
        return;
    }
    let tx = drv(|d| d.tx.get());
    // Learn: never after EvtProgramDma (this test driver runs one request on one processor, so
    // the check cannot race).
    if !programs().is_empty() {
        return;
    }
    let won = cancel(tx);
    note("WdfDmaTransactionCancel", won);
    if won {
        // Nothing was or will be programmed: the cancel path owns the clean-up.
        release(tx);
        complete(request, STATUS_CANCELLED, 0);
    }
    // Otherwise EvtProgramDma has run or will run and the DMA path completes the request.
}

// --- DMA callbacks. ---

unsafe extern "C" fn program_dma(
    tx: WDFDMATRANSACTION,
    _device: WDFDEVICE,
    _context: WDFCONTEXT,
    direction: WDF_DMA_DIRECTION,
    sg: PSCATTER_GATHER_LIST,
) -> BOOLEAN {
    // SAFETY: the framework's list, valid for the duration of this callback.
    let Some(list) = (unsafe { sg.as_ref() }) else {
        return 0;
    };
    drv(|d| d.sg_list.set(sg));
    let elements = list.NumberOfElements;
    // SAFETY: the list holds `NumberOfElements` initialised elements.
    let first = unsafe { list.Elements.as_slice(elements as usize) }
        .first()
        .copied()
        .unwrap_or_default();
    // SAFETY: every member of LARGE_INTEGER covers the same 8 bytes.
    let address = unsafe { first.Address.QuadPart }.cast_unsigned();
    let length = first.Length as usize;
    let transferred = bytes_transferred(tx);
    record(Ev::Program {
        length,
        elements,
        address,
        transferred,
        current: current_length(tx),
    });
    match bad() {
        Bad::ProgramFalse => return 0,
        Bad::ProgramAborts => {
            let (finished, status) = dma_completed_final(tx, 0);
            record(Ev::Completed { finished, status });
            // SAFETY: a handle by value.
            let request = unsafe { WdfDmaTransactionGetRequest(tx) };
            release(tx);
            complete(request, STATUS_DEVICE_NOT_READY, 0);
            return 0;
        }
        Bad::ReleaseCallerLock => spin_lock(false),
        _ => {}
    }
    if knobs().cancelable {
        let request = drv(|d| d.request.get());
        let unmarked = unmark_cancelable(request);
        note("WdfRequestUnmarkCancelable", unmarked);
        if unmarked == STATUS_CANCELLED {
            let (finished, status) = dma_completed_final(tx, 0);
            record(Ev::Completed { finished, status });
            release(tx);
            complete(request, STATUS_CANCELLED, 0);
            return 0;
        }
    }
    let read = direction == _WDF_DMA_DIRECTION::WdfDmaDirectionReadFromDevice;
    if knobs().system() {
        let offset = transferred % fifo::RING_SIZE;
        write32(register(fifo::OFFSET), u32::try_from(offset).unwrap_or(0));
        let ctrl = fifo::DREQ_ENABLE | if read { fifo::DIR_TO_MEMORY } else { 0 };
        write32(register(fifo::CTRL), ctrl);
    } else {
        // The device buffer is a 4 KiB ring: byte i of the transaction is at i % 4096, unless the
        // transfer would wrap, in which case it starts over at 0.
        let mut offset = transferred % edu::BUFFER_SIZE;
        if offset + length > edu::BUFFER_SIZE {
            offset = 0;
        }
        let device = edu::BUFFER + offset as u64;
        let (source, destination, command) = if read {
            (
                device,
                address,
                edu::CMD_RUN | edu::CMD_IRQ | edu::CMD_TO_RAM,
            )
        } else {
            (address, device, edu::CMD_RUN | edu::CMD_IRQ)
        };
        acquire_interrupt_lock();
        write64(register(edu::DMA_SRC), source);
        write64(register(edu::DMA_DST), destination);
        write64(register(edu::DMA_COUNT), length as u64);
        write64(register(edu::DMA_CMD), command);
        release_interrupt_lock();
    }
    1
}

unsafe extern "C" fn isr(interrupt: WDFINTERRUPT, _message: ULONG) -> BOOLEAN {
    let status = read32(register(edu::IRQ_STATUS));
    if status == 0 {
        return 0;
    }
    if bad() != Bad::NoAck {
        write32(register(edu::IRQ_ACK), status);
    }
    drv(|d| d.isr_status.set(d.isr_status.get() | status));
    if bad() == Bad::DmaDdiInIsr {
        let (finished, status) = dma_completed(drv(|d| d.tx.get()));
        record(Ev::Completed { finished, status });
    }
    if bad() == Bad::DmaQueryInIsr {
        let _ = bytes_transferred(drv(|d| d.tx.get()));
    }
    // SAFETY: a handle by value.
    unsafe { WdfInterruptQueueDpcForIsr(interrupt) };
    1
}

unsafe extern "C" fn dpc(_interrupt: WDFINTERRUPT, _device: WDFOBJECT) {
    let status = drv(|d| d.isr_status.replace(0));
    if status & edu::IRQ_SOFTWARE != 0 {
        match bad() {
            Bad::EnablerInDpc => {
                create_enabler(drv(|d| d.device.get()));
            }
            Bad::CommonBufferDeleteInDpc => {
                delete(drv(|d| d.common_buffer.replace(null_mut())).cast());
            }
            Bad::UnmapAtDispatch => {
                let (bar, length) = drv(|d| (d.bar.replace(0), d.bar_len.get()));
                // SAFETY: the mapping made in prepare hardware; release hardware skips it now.
                unsafe { MmUnmapIoSpace(bar as PVOID, length) };
            }
            _ => {}
        }
    }
    if status & edu::IRQ_DMA != 0 {
        dma_done();
    }
}

/// The DPC's end of a bus-master transfer (§7.1).
fn dma_done() {
    let knobs = knobs();
    if matches!(
        knobs.profile,
        _WDF_DMA_PROFILE::WdfDmaProfileScatterGather
            | _WDF_DMA_PROFILE::WdfDmaProfileScatterGather64
    ) {
        let list = drv(|d| d.sg_list.get());
        // SAFETY: a scatter/gather profile's list stays valid until this transfer's
        // DmaCompleted*, which has not been called yet.
        record(Ev::ListInDpc(unsafe { (*list).NumberOfElements }));
    }
    let (tx, index) = drv(|d| {
        let index = d.completions.get();
        d.completions.set(index + 1);
        (d.tx.get(), index)
    });
    let (finished, status) = match (knobs.partial, knobs.bad) {
        (Some((at, length)), _) if at == index => dma_completed_with_length(tx, length),
        (_, Bad::CompleteTooLong) => dma_completed_with_length(tx, current_length(tx) + 1),
        (_, Bad::NullStatus) => {
            // SAFETY: deliberately NULL: the framework must catch it.
            let finished = unsafe { WdfDmaTransactionDmaCompleted(tx, null_mut()) };
            (status_of(finished), STATUS_SUCCESS)
        }
        _ => dma_completed(tx),
    };
    record(Ev::Completed { finished, status });
    if !finished {
        return;
    }
    if knobs.bad == Bad::CompleteAfterFinal {
        let (finished, status) = dma_completed(tx);
        record(Ev::Completed { finished, status });
        return;
    }
    // SAFETY: a handle by value.
    let request = unsafe { WdfDmaTransactionGetRequest(tx) };
    let moved = bytes_transferred(tx);
    release(tx);
    complete(request, status, if status >= 0 { moved } else { 0 });
}

// --- System-mode DMA: the reference-counted completion of §4.4 B. ---

unsafe extern "C" fn transfer_complete(
    tx: WDFDMATRANSACTION,
    _device: WDFDEVICE,
    _context: WDFCONTEXT,
    _direction: WDF_DMA_DIRECTION,
    status: DMA_COMPLETION_STATUS::Type,
) {
    record(Ev::TransferComplete(status));
    let (finished, result) =
        if status == DMA_COMPLETION_STATUS::DmaComplete || bad() == Bad::CompleteInsteadOfFinal {
            dma_completed(tx)
        } else {
            // Stopped or failed: end with the count the peripheral saw (§3.1, §7.2).
            let moved = read32(register(fifo::COUNT)) as usize;
            dma_completed_final(tx, moved)
        };
    record(Ev::Completed {
        finished,
        status: result,
    });
    if !finished {
        return;
    }
    if result < 0 {
        choose_status(result);
    }
    let request = drv(|d| d.request.get());
    let unmarked = unmark_cancelable(request);
    note("WdfRequestUnmarkCancelable", unmarked);
    if unmarked == STATUS_SUCCESS {
        drop_reference();
    }
    drop_reference();
}

unsafe extern "C" fn system_cancel(_request: WDFREQUEST) {
    note("EvtRequestCancel", 0);
    choose_status(STATUS_CANCELLED);
    let tx = drv(|d| d.tx.get());
    // Learn: never after EvtProgramDma (checked race-free: one request on one processor).
    let try_cancel = bad() != Bad::StopWithoutCancel && programs().is_empty();
    let won = try_cancel && cancel(tx);
    if try_cancel {
        note("WdfDmaTransactionCancel", won);
    }
    if won {
        drop_reference();
    } else {
        stop_system_transfer(tx);
        note("WdfDmaTransactionStopSystemTransfer", 0);
        if bad() == Bad::StopTwice {
            stop_system_transfer(tx);
            note("WdfDmaTransactionStopSystemTransfer", 0);
        }
    }
    drop_reference();
}

/// Records the completion status unless an earlier finisher chose one.
fn choose_status(status: NTSTATUS) {
    drv(|d| {
        let chosen = d.final_status.get().unwrap_or(status);
        d.final_status.set(Some(chosen));
    });
}

fn drop_reference() {
    let left = drv(|d| {
        let left = d.refs.get().saturating_sub(1);
        d.refs.set(left);
        left
    });
    if left > 0 {
        return;
    }
    let (tx, request, status) = drv(|d| (d.tx.get(), d.request.get(), d.final_status.get()));
    let moved = bytes_transferred(tx);
    release(tx);
    complete(request, status.unwrap_or(STATUS_SUCCESS), moved);
}

// --- The rig. ---

/// Hardware to attach in slot 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hw {
    /// edu with MSI, default 28-bit `dma_mask`.
    EduMsi,
    /// edu with a line-based (`INTx`) interrupt.
    EduIntx,
    /// edu with MSI and a 32-bit `dma_mask` (matches a DMA v2 packet enabler).
    Edu32,
    /// System-DMA FIFO peripheral and controller channel.
    System,
}

/// How to build a rig.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Machine seed.
    pub seed: u64,
    /// Hardware.
    pub hw: Hw,
    /// Framework/HAL policy.
    pub policy: Policy,
    /// Driver configuration and misbehaviour.
    pub knobs: Knobs,
    /// Record the machine's trace.
    pub trace: bool,
}

impl Setup {
    /// A quiet policy: grants inside `Execute`, I/O callbacks at PASSIVE_LEVEL, `EvtRequestCancel`
    /// at the moment of cancellation, `Cancel` never losing to a grant, system-DMA notifications
    /// always late, removal noticed at once.
    #[must_use]
    pub fn quiet() -> Policy {
        Policy {
            deferred_grant_percent: 0,
            dispatch_io_percent: 0,
            deferred_cancel_percent: 0,
            cancel_loses_percent: 0,
            inline_stop_completion_percent: 0,
            fast_completion_percent: 0,
            removal_notice_ns: (0, 0),
            // The test driver here is written for one processor (it keeps its state in plain
            // cells): the simulator's own tests run it serially.
            processors: 1,
            schedule: kmdf_sim::Schedule::Serial,
            ..Policy::default()
        }
    }

    /// The edu packet driver with one misbehaviour.
    #[must_use]
    pub fn bad(bad: Bad) -> Self {
        Self {
            seed: 1,
            hw: Hw::EduMsi,
            policy: Self::quiet(),
            knobs: Knobs::PACKET.with(bad),
            trace: false,
        }
    }

    /// The system-DMA driver with one misbehaviour.
    #[must_use]
    pub fn system(bad: Bad) -> Self {
        Self {
            hw: Hw::System,
            knobs: Knobs::SYSTEM.with(bad),
            ..Self::bad(bad)
        }
    }
}

/// A machine with the in-test driver loaded and its device added (or failed to start).
pub struct Rig {
    /// The machine.
    pub machine: Machine,
    /// The device, or the status its start failed with.
    pub start: Result<DeviceHandle, NTSTATUS>,
}

impl Rig {
    /// Boots a machine, loads the driver and adds hardware 0.
    #[must_use]
    pub fn new(setup: Setup) -> Self {
        install(setup.knobs);
        let hardware = match setup.hw {
            Hw::EduMsi => HardwareConfig::Edu {
                config: EduConfig::default(),
                msi: true,
            },
            Hw::EduIntx => HardwareConfig::Edu {
                config: EduConfig::default(),
                msi: false,
            },
            Hw::Edu32 => HardwareConfig::Edu {
                config: EduConfig {
                    dma_mask: 0xFFFF_FFFF,
                    ..EduConfig::default()
                },
                msi: true,
            },
            Hw::System => HardwareConfig::SystemDma {
                controller: ControllerConfig::default(),
            },
        };
        let mut machine = Machine::new(MachineConfig {
            seed: setup.seed,
            policy: setup.policy,
            hardware: vec![hardware],
            trace: setup.trace,
        });
        let entry = machine.load_driver(driver_entry);
        assert_eq!(entry, STATUS_SUCCESS, "DriverEntry\n{}", machine.report());
        let start = machine.add_device(0);
        Self { machine, start }
    }

    /// The started device.
    ///
    /// # Panics
    /// If the device failed to start.
    #[must_use]
    pub fn device(&self) -> DeviceHandle {
        match self.start {
            Ok(device) => device,
            Err(status) => panic!(
                "device start failed with {status:#010x}\n{}",
                self.machine.report()
            ),
        }
    }

    /// Sends a request.
    pub fn submit(&mut self, op: IoOp) -> Irp {
        let device = self.device();
        self.machine.submit(device, op)
    }

    /// Sends a request and runs until it completes, the machine halts or 600 virtual seconds
    /// pass.
    pub fn run(&mut self, op: IoOp) -> Option<IoCompletion> {
        let irp = self.submit(op);
        self.machine.run_until_complete(irp, 600 * SECOND)
    }

    /// Like [`Rig::run`], for a request that must complete.
    ///
    /// # Panics
    /// If it does not.
    pub fn must(&mut self, op: IoOp) -> IoCompletion {
        match self.run(op) {
            Some(done) => done,
            None => panic!("request never completed\n{}", self.machine.report()),
        }
    }

    /// Reads `len` bytes; the request must complete.
    pub fn read(&mut self, len: usize) -> IoCompletion {
        self.must(IoOp::Read { len })
    }

    /// Writes `data`; the request must complete.
    pub fn write(&mut self, data: &[u8]) -> IoCompletion {
        self.must(IoOp::Write {
            data: data.to_vec(),
        })
    }

    /// Unloads and returns the end-of-run report.
    pub fn unload(&mut self) -> Report {
        self.machine.unload()
    }

    /// Unloads and asserts the verifier found nothing.
    ///
    /// # Panics
    /// If it found something.
    pub fn unload_clean(mut self) {
        let report = self.unload();
        assert!(report.is_clean(), "verifier not clean\n{report}");
    }
}

/// Asserts `report` has a finding of `rule` with `severity`.
///
/// # Panics
/// If it has none.
pub fn assert_finding(report: &Report, rule: &str, severity: Severity) {
    assert!(
        report.of(rule).iter().any(|f| f.severity == severity),
        "expected a {severity:?} {rule} finding\n{report}"
    );
}

/// Asserts that some `rule` finding of `report` mentions `text`.
///
/// # Panics
/// If none does.
pub fn assert_message(report: &Report, rule: &str, text: &str) {
    assert!(
        report.of(rule).iter().any(|f| f.message.contains(text)),
        "expected a {rule} finding mentioning {text:?}\n{report}"
    );
}

/// Asserts every finding of `report` is of one of `rules`.
///
/// # Panics
/// If another rule appears.
pub fn assert_only(report: &Report, rules: &[&str]) {
    let mut others = report.findings.iter().filter(|f| !rules.contains(&f.rule));
    assert!(
        others.next().is_none(),
        "unexpected findings besides {rules:?}\n{report}"
    );
}

/// A deterministic byte pattern.
#[must_use]
pub fn pattern(len: usize, salt: u64) -> Vec<u8> {
    let mut x = salt | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

//! DMA: the enabler (adapter configuration), and the channel that owns one reusable DMA
//! transaction and the request it is running for (`kmdf-dma-semantics.md` §1–§4).
//!
//! The transaction object is created once per channel and reused for every request; the hot
//! path creates no framework object and allocates nothing.
//!
//! Typestate lives in the channel's phase: idle → in flight (the channel owns the request) →
//! idle again when a `DmaCompleted*` call returns TRUE, when `EvtProgramDma` aborts, or when
//! `WdfDmaTransactionCancel` wins. Every way out hands the driver a [`Finished`] that owns the
//! request, so no request can be lost or completed twice.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

use super::device::{Device, DeviceHandler, DmaResource};
use super::irql::{AtMostDispatch, Dispatch, Passive};
use super::object::{attributes, wdf_size_of};
use super::request::Request;
use super::sys::{self, wdf_call};
use super::{Error, Result, Status};

/// Direction of a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Device to memory (a read).
    FromDevice,
    /// Memory to device (a write).
    ToDevice,
}

impl Direction {
    const fn raw(self) -> sys::WDF_DMA_DIRECTION {
        match self {
            Self::FromDevice => sys::_WDF_DMA_DIRECTION::WdfDmaDirectionReadFromDevice,
            Self::ToDevice => sys::_WDF_DMA_DIRECTION::WdfDmaDirectionWriteToDevice,
        }
    }

    const fn from_raw(raw: sys::WDF_DMA_DIRECTION) -> Self {
        if raw == sys::_WDF_DMA_DIRECTION::WdfDmaDirectionWriteToDevice {
            Self::ToDevice
        } else {
            Self::FromDevice
        }
    }
}

/// DMA profile of an enabler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Bus master, one contiguous logical range per transfer, 32-bit addresses.
    Packet,
    /// Bus master, one contiguous logical range per transfer, 64-bit addresses.
    Packet64,
    /// A platform DMA controller moves the data (system-mode DMA).
    System,
}

/// A device address width in bits, 24 to 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressWidth(u32);

impl AddressWidth {
    /// A width of `bits` (24..=64), as `AddressWidthOverride` accepts.
    #[must_use]
    pub const fn new(bits: u32) -> Option<Self> {
        if bits >= 24 && bits <= 64 {
            Some(Self(bits))
        } else {
            None
        }
    }

    /// The width in bits.
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }
}

/// Configuration of a DMA enabler (`WDF_DMA_ENABLER_CONFIG`).
#[derive(Clone, Copy, Debug)]
pub struct EnablerConfig {
    /// The profile.
    pub profile: Profile,
    /// Largest single device transfer, in bytes.
    pub maximum_length: usize,
    /// Device address width, for bus-master profiles (selects DMA version 3).
    pub address_width: Option<AddressWidth>,
}

/// A DMA enabler (WDFDMAENABLER).
///
/// # Invariants
/// `handle` is a live enabler whose parent is the device whose hardware state stores this
/// value; all enablers use DMA version 3.
#[derive(Debug)]
pub struct DmaEnabler {
    handle: NonNull<sys::WDFDMAENABLER__>,
}

// SAFETY: enabler handles may be used from any CPU.
unsafe impl Send for DmaEnabler {}
// SAFETY: as above; no interior state.
unsafe impl Sync for DmaEnabler {}

/// Width of each controller access in system-mode DMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaWidth {
    /// 8 bits.
    Bits8,
    /// 16 bits.
    Bits16,
    /// 32 bits.
    Bits32,
}

impl DmaEnabler {
    /// Wraps `WdfDmaEnablerCreate` with `WdmDmaVersionOverride = 3`.
    ///
    /// # Errors
    /// The failing status of the DDI (e.g. `STATUS_INVALID_PARAMETER` for a width the profile
    /// does not allow).
    pub fn create(device: Device, config: &EnablerConfig, _cx: &Passive<'_>) -> Result<Self> {
        let mut raw = sys::WDF_DMA_ENABLER_CONFIG {
            Size: wdf_size_of::<sys::WDF_DMA_ENABLER_CONFIG>(),
            Profile: match config.profile {
                Profile::Packet => sys::_WDF_DMA_PROFILE::WdfDmaProfilePacket,
                Profile::Packet64 => sys::_WDF_DMA_PROFILE::WdfDmaProfilePacket64,
                Profile::System => sys::_WDF_DMA_PROFILE::WdfDmaProfileSystem,
            },
            MaximumLength: config.maximum_length,
            AddressWidthOverride: config.address_width.map_or(0, AddressWidth::bits),
            WdmDmaVersionOverride: 3,
            ..Default::default()
        };
        let mut attributes = attributes(device.as_object());
        let mut handle: sys::WDFDMAENABLER = core::ptr::null_mut();
        // SAFETY: the device is live; locals valid for the call; PASSIVE_LEVEL by the token.
        let status = unsafe {
            wdf_call!(
                WdfDmaEnablerCreate,
                device.as_raw(),
                &raw mut raw,
                &raw mut attributes,
                &raw mut handle
            )
        };
        Status::from_raw(status).ok()?;
        // INVARIANT: created under the device, with version 3.
        NonNull::new(handle)
            .map(|handle| Self { handle })
            .ok_or(Error::INSUFFICIENT_RESOURCES)
    }

    /// Wraps `WdfDmaEnablerConfigureSystemProfile` for both directions of a non-duplex system
    /// enabler.
    ///
    /// # Errors
    /// The failing status of the DDI.
    pub fn configure_system(
        &self,
        channel: &DmaResource<'_>,
        device_address: u64,
        width: DmaWidth,
        demand_mode: bool,
        _cx: &Passive<'_>,
    ) -> Result {
        let mut config = sys::WDF_DMA_SYSTEM_PROFILE_CONFIG {
            Size: wdf_size_of::<sys::WDF_DMA_SYSTEM_PROFILE_CONFIG>(),
            DemandMode: u8::from(demand_mode),
            DmaWidth: match width {
                DmaWidth::Bits8 => sys::_DMA_WIDTH::Width8Bits,
                DmaWidth::Bits16 => sys::_DMA_WIDTH::Width16Bits,
                DmaWidth::Bits32 => sys::_DMA_WIDTH::Width32Bits,
            },
            DeviceAddress: sys::PHYSICAL_ADDRESS {
                QuadPart: device_address.cast_signed(),
            },
            DmaDescriptor: channel.translated,
            ..Default::default()
        };
        // SAFETY: the enabler is live (invariant); the descriptor points into the current
        // prepare-hardware callback's translated list (invariant of `DmaResource`); PASSIVE.
        let status = unsafe {
            wdf_call!(
                WdfDmaEnablerConfigureSystemProfile,
                self.handle.as_ptr(),
                &raw mut config,
                Direction::FromDevice.raw()
            )
        };
        Status::from_raw(status).ok()
    }

    /// Wraps `WdfDmaEnablerGetFragmentLength`: the largest transfer the framework hands to
    /// `EvtProgramDma` in that direction.
    #[must_use]
    pub fn fragment_length(&self, direction: Direction, _cx: &impl AtMostDispatch) -> usize {
        // SAFETY: the enabler is live (invariant); IRQL <= DISPATCH_LEVEL by the token.
        unsafe {
            wdf_call!(
                WdfDmaEnablerGetFragmentLength,
                self.handle.as_ptr(),
                direction.raw()
            )
        }
    }

    /// Wraps `WdfDmaEnablerGetMaximumLength`.
    #[must_use]
    pub fn maximum_length(&self, _cx: &impl AtMostDispatch) -> usize {
        // SAFETY: as in `fragment_length`.
        unsafe { wdf_call!(WdfDmaEnablerGetMaximumLength, self.handle.as_ptr()) }
    }

    /// Wraps `WdfObjectDelete`: deletes the enabler and its transactions.
    pub fn delete(self, _cx: &Passive<'_>) {
        // SAFETY: the enabler is live (invariant) and consumed; its transactions are idle,
        // since the caller deletes it in release-hardware, after D0 exit finished all DMA.
        unsafe { wdf_call!(WdfObjectDelete, self.handle.as_ptr().cast()) };
    }
}

/// One transfer the framework asks `EvtProgramDma` to start.
pub struct Transfer<'cb> {
    /// Bytes of the transaction already completed: this transfer's offset in the buffer.
    pub offset: usize,
    /// Bytes in this transfer.
    pub length: usize,
    /// Direction.
    pub direction: Direction,
    elements: &'cb [sys::SCATTER_GATHER_ELEMENT],
}

impl Transfer<'_> {
    /// The logical address of the first element: for packet and system profiles, the one
    /// contiguous range of the transfer.
    #[must_use]
    pub fn address(&self) -> u64 {
        self.elements.first().map_or(0, |element| {
            let address = element.Address;
            // SAFETY: every member of LARGE_INTEGER covers the same plain 8 bytes.
            unsafe { address.QuadPart }.cast_unsigned()
        })
    }

    /// The scatter/gather elements: `(logical address, length)`.
    pub fn elements(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.elements.iter().map(|element| {
            let address = element.Address;
            // SAFETY: as in `address`.
            (unsafe { address.QuadPart }.cast_unsigned(), element.Length)
        })
    }
}

/// What `EvtProgramDma` did.
#[must_use]
pub enum Programmed {
    /// The device was started for the transfer.
    Started,
    /// The transfer cannot be started. Bus master: the channel ends the transaction with
    /// `DmaCompletedFinal` and hands back the request through [`DmaHandler::aborted`]. System
    /// mode: the channel stops the mapped transfer and the framework reports it through
    /// [`DmaHandler::transfer_complete`] (the driver records why before returning this).
    Abort(Error),
}

/// How the device reports a finished transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// All bytes of the current transfer moved (`WdfDmaTransactionDmaCompleted`).
    Full,
    /// Only this many bytes moved; the rest is staged again
    /// (`WdfDmaTransactionDmaCompletedWithLength`).
    WithLength(usize),
    /// End the transaction now, counting this many bytes of the current transfer
    /// (`WdfDmaTransactionDmaCompletedFinal`).
    Final(usize),
}

/// A transaction that ended: the request it ran for, the framework's status, and the bytes
/// transferred (`WdfDmaTransactionGetBytesTransferred`, read before the release).
#[must_use = "complete the request"]
pub struct Finished {
    /// The request, for the driver to complete.
    pub request: Request,
    /// The framework's status for the transaction.
    pub status: Result,
    /// Bytes transferred.
    pub bytes: usize,
}

/// What a `DmaCompleted*` call led to.
#[must_use]
pub enum Progress {
    /// More transfers follow; the framework already programmed the next one.
    More,
    /// The transaction ended.
    Done(Finished),
    /// No transfer was in flight (a stale or duplicate completion): nothing was called.
    Idle,
}

/// Status of a system-mode transfer (`DMA_COMPLETION_STATUS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemDmaStatus {
    /// The controller finished the transfer.
    Complete,
    /// Aborted.
    Aborted,
    /// The controller reported an error.
    Error,
    /// Stopped by `WdfDmaTransactionStopSystemTransfer`.
    Cancelled,
}

/// DMA callbacks, implemented by the device context.
pub trait DmaHandler: DeviceHandler {
    /// The channel of the device's transaction, while the hardware is prepared.
    fn dma_channel(&self) -> Option<&ChannelCore>;
    /// `EvtProgramDma` (DISPATCH_LEVEL).
    fn program(&self, transfer: &Transfer<'_>, cx: &Dispatch<'_>) -> Programmed;
    /// A transaction ended inside `EvtProgramDma` after [`Programmed::Abort`].
    fn aborted(&self, finished: Finished, cx: &Dispatch<'_>);
    /// `EvtDmaTransactionDmaTransferComplete` (system-mode channels only, DISPATCH_LEVEL).
    fn transfer_complete(&self, status: SystemDmaStatus, cx: &Dispatch<'_>);
}

/// Marker: a bus-master channel.
#[derive(Debug)]
pub enum BusMaster {}
/// Marker: a system-mode channel (only these can stop a transfer).
#[derive(Debug)]
pub enum SystemMode {}

/// Where the channel's transaction is.
enum Phase {
    Idle,
    Starting,
    InFlight(Request),
}

/// The shared part of every channel (see [`DmaChannel`]).
///
/// # Invariants
/// `transaction` is a live WDFDMATRANSACTION and `lock` a live WDFSPINLOCK, both children of
/// the enabler that the owner of this value keeps alive alongside it; `phase` is only reached with `lock` held. The transaction is in
/// KMDF's Created/Released state exactly when the phase is `Idle`; `InFlight` holds
/// the request the transaction was initialised with.
pub struct ChannelCore {
    transaction: NonNull<sys::WDFDMATRANSACTION__>,
    lock: NonNull<sys::WDFSPINLOCK__>,
    phase: UnsafeCell<Phase>,
    /// `WdfDmaTransactionStopSystemTransfer` was called for the current initialisation.
    stopped: AtomicBool,
    /// The transaction is executing: the phase is `InFlight` (read without the lock on the
    /// completion path, which must not take it: `EvtProgramDma` runs nested in `DmaCompleted*`).
    executing: AtomicBool,
    /// A `DmaCompleted*` call is under way (one completer at a time).
    completing: AtomicBool,
    system: bool,
}

// SAFETY: the handles may be used from any CPU; `phase` is guarded by `lock` (invariant) and
// `Request` is `Send`.
unsafe impl Send for ChannelCore {}
// SAFETY: as above.
unsafe impl Sync for ChannelCore {}

/// A DMA channel: one reusable transaction and the request it runs for.
pub struct DmaChannel<K> {
    core: ChannelCore,
    _kind: PhantomData<K>,
}

impl<K> core::ops::Deref for DmaChannel<K> {
    type Target = ChannelCore;

    fn deref(&self) -> &ChannelCore {
        &self.core
    }
}

/// Runs `f` on the phase with the channel lock held.
fn with_phase<R>(core: &ChannelCore, f: impl FnOnce(&mut Phase) -> R) -> R {
    // SAFETY: the lock is live (invariant); every caller runs at <= DISPATCH_LEVEL (all
    // public entry points take such a token) and never holds it already (it is released
    // before any DDI that can call back into the driver).
    unsafe { wdf_call!(WdfSpinLockAcquire, core.lock.as_ptr()) };
    // SAFETY: the lock is held, so this is the only reference to the phase.
    let result = f(unsafe { &mut *core.phase.get() });
    // SAFETY: acquired just above.
    unsafe { wdf_call!(WdfSpinLockRelease, core.lock.as_ptr()) };
    result
}

impl<K> DmaChannel<K> {
    /// Creates the transaction and the channel lock.
    ///
    /// # Errors
    /// The failing status of the DDIs.
    fn create_with(enabler: &DmaEnabler, system: bool) -> Result<Self> {
        let mut tx_attributes = attributes(core::ptr::null_mut());
        let mut transaction: sys::WDFDMATRANSACTION = core::ptr::null_mut();
        // SAFETY: the enabler is live; locals valid for the call; no parent (the enabler is).
        let status = unsafe {
            wdf_call!(
                WdfDmaTransactionCreate,
                enabler.handle.as_ptr(),
                &raw mut tx_attributes,
                &raw mut transaction
            )
        };
        Status::from_raw(status).ok()?;
        let transaction = NonNull::new(transaction).ok_or(Error::INSUFFICIENT_RESOURCES)?;
        // The lock is parented to the enabler, so it goes away with the enabler and its
        // transaction when the hardware is released.
        let mut lock_attributes = attributes(enabler.handle.as_ptr().cast());
        let mut lock: sys::WDFSPINLOCK = core::ptr::null_mut();
        // SAFETY: locals valid for the call; the parent is a live enabler.
        let status =
            unsafe { wdf_call!(WdfSpinLockCreate, &raw mut lock_attributes, &raw mut lock) };
        Status::from_raw(status).ok()?;
        let lock = NonNull::new(lock).ok_or(Error::INSUFFICIENT_RESOURCES)?;
        // INVARIANT: a new transaction is in the Created state; the phase is Idle.
        Ok(Self {
            core: ChannelCore {
                transaction,
                lock,
                phase: UnsafeCell::new(Phase::Idle),
                stopped: AtomicBool::new(false),
                executing: AtomicBool::new(false),
                completing: AtomicBool::new(false),
                system,
            },
            _kind: PhantomData,
        })
    }
}

impl DmaChannel<BusMaster> {
    /// Wraps `WdfDmaTransactionCreate` (once, for reuse) on a bus-master enabler.
    ///
    /// # Errors
    /// The failing status of the DDIs.
    pub fn create(enabler: &DmaEnabler, _cx: &Passive<'_>) -> Result<Self> {
        Self::create_with(enabler, false)
    }
}

impl DmaChannel<SystemMode> {
    /// Wraps `WdfDmaTransactionCreate` (once, for reuse) on a configured system enabler.
    ///
    /// # Errors
    /// The failing status of the DDIs.
    pub fn create(enabler: &DmaEnabler, _cx: &Passive<'_>) -> Result<Self> {
        Self::create_with(enabler, true)
    }

    /// Wraps `WdfDmaTransactionStopSystemTransfer` for the transfer in flight, if any. The
    /// framework then reports the transfer through `transfer_complete`. Call at most once per
    /// request.
    pub fn stop_system_transfer(&self, _cx: &impl AtMostDispatch) {
        self.core.stop_once();
    }
}

impl ChannelCore {
    /// `WdfDmaTransactionStopSystemTransfer`, at most once per initialisation (a second stop
    /// is a bugcheck when the HAL refuses it, §3.2), and only while the transaction executes.
    fn stop_once(&self) {
        debug_assert!(
            self.system,
            "StopSystemTransfer is for system-profile transactions"
        );
        let tx = self.transaction.as_ptr();
        with_phase(self, |phase| {
            if matches!(phase, Phase::InFlight(_)) && !self.stopped.swap(true, Ordering::AcqRel) {
                // SAFETY: the transaction is executing (phase) on a system-profile enabler (only
                // `DmaChannel<SystemMode>` and the program trampoline of a system channel call
                // this); first stop of this initialisation (flag); the DDI returns at once and
                // calls nothing in the driver; IRQL <= DISPATCH_LEVEL (spin lock held).
                unsafe { wdf_call!(WdfDmaTransactionStopSystemTransfer, tx) };
            }
        });
    }
    /// Whether a transaction is running.
    #[must_use]
    pub fn busy(&self, _cx: &impl AtMostDispatch) -> bool {
        with_phase(self, |phase| !matches!(phase, Phase::Idle))
    }

    /// `WdfDmaTransactionInitializeUsingRequest` then `WdfDmaTransactionExecute` for `request`.
    /// `maximum_length` lowers the transfer size (`WdfDmaTransactionSetMaximumLength`).
    /// System-mode channels register `C::transfer_complete` before executing.
    ///
    /// # Errors
    /// The request and the failing status: the channel is idle again and the caller completes
    /// the request.
    pub fn start<C: DmaHandler>(
        &self,
        handler: &C,
        request: Request,
        direction: Direction,
        maximum_length: Option<usize>,
        _cx: &impl AtMostDispatch,
    ) -> core::result::Result<(), (Request, Error)> {
        let busy = with_phase(self, |phase| {
            if matches!(phase, Phase::Idle) {
                *phase = Phase::Starting;
                false
            } else {
                true
            }
        });
        if busy {
            return Err((request, Error::DEVICE_BUSY));
        }
        let tx = self.transaction.as_ptr();
        // SAFETY: the transaction is Created/Released (phase was Idle, invariant); the request
        // is driver-owned; the callback is a trampoline for the device's context type; IRQL <=
        // DISPATCH_LEVEL by the token.
        let status = unsafe {
            wdf_call!(
                WdfDmaTransactionInitializeUsingRequest,
                tx,
                request.as_raw(),
                Some(evt_wdf_program_dma::<C>),
                direction.raw()
            )
        };
        if let Err(error) = Status::from_raw(status).ok() {
            // INVARIANT: a failed initialisation leaves the transaction released.
            with_phase(self, |phase| *phase = Phase::Idle);
            return Err((request, error));
        }
        if let Some(length) = maximum_length.filter(|length| *length > 0) {
            // SAFETY: the transaction is Initialized and not yet executing; `length` > 0.
            unsafe { wdf_call!(WdfDmaTransactionSetMaximumLength, tx, length) };
        }
        // The handler travels as the callbacks' context, so the per-transfer callbacks find it
        // without a context lookup.
        let context: sys::WDFCONTEXT = core::ptr::from_ref(handler).cast_mut().cast();
        if self.system {
            // SAFETY: a system-profile transaction (created by `DmaChannel<SystemMode>`), after
            // initialisation and before execution, as the DDI requires; re-registered for every
            // request because Release clears it. The context is the device context, which
            // outlives the transaction.
            unsafe {
                wdf_call!(
                    WdfDmaTransactionSetTransferCompleteCallback,
                    tx,
                    Some(evt_wdf_dma_transaction_dma_transfer_complete::<C>),
                    context
                );
            };
        }
        // INVARIANT: the request moves into the channel before Execute, because EvtProgramDma
        // (and even the completion) can run before Execute returns.
        with_phase(self, |phase| *phase = Phase::InFlight(request));
        self.stopped.store(false, Ordering::Release);
        self.executing.store(true, Ordering::Release);
        // SAFETY: the transaction is Initialized (just above); the context is the device
        // context, which outlives the transaction (both belong to the device).
        let status = unsafe { wdf_call!(WdfDmaTransactionExecute, tx, context) };
        if let Err(error) = Status::from_raw(status).ok() {
            let request = with_phase(self, |phase| match core::mem::replace(phase, Phase::Idle) {
                Phase::InFlight(request) => Some(request),
                other => {
                    *phase = other;
                    None
                }
            });
            self.executing.store(false, Ordering::Release);
            // SAFETY: a failed Execute leaves the transaction TransferFailed; Release makes it
            // reusable (§2.10).
            let _released = unsafe { wdf_call!(WdfDmaTransactionRelease, tx) };
            // INVARIANT: released and idle again. The request is always there: only the
            // completion paths take it, and they need a programmed transfer, which a failed
            // Execute never made.
            return match request {
                Some(request) => Err((request, error)),
                None => Ok(()),
            };
        }
        Ok(())
    }

    /// Reports the transfer in flight as done (`DmaCompleted`, `…WithLength` or `…Final`).
    /// Must not be called with a lock held: the framework may call `EvtProgramDma` for the
    /// next transfer inside this call.
    pub fn completed(&self, how: Completion, _cx: &impl AtMostDispatch) -> Progress {
        // Lock-free on purpose: this is the per-fragment path, and the framework calls the
        // driver's EvtProgramDma for the next transfer inside the DDI below.
        if !self.executing.load(Ordering::Acquire) || self.completing.swap(true, Ordering::AcqRel) {
            return Progress::Idle;
        }
        let progress = if self.executing.load(Ordering::Acquire) {
            let (finished, status) = self.dma_completed(how);
            if finished == 0 {
                // More transfers follow (or the nested EvtProgramDma aborted and finished the
                // transaction itself).
                Progress::More
            } else {
                match self.finish(Status::from_raw(status)) {
                    Some(done) => Progress::Done(done),
                    None => Progress::Idle,
                }
            }
        } else {
            Progress::Idle
        };
        self.completing.store(false, Ordering::Release);
        progress
    }

    /// Calls the `DmaCompleted*` DDI for `how`; returns its BOOLEAN and status.
    fn dma_completed(&self, how: Completion) -> (sys::BOOLEAN, sys::NTSTATUS) {
        let tx = self.transaction.as_ptr();
        let mut status: sys::NTSTATUS = sys::STATUS_SUCCESS;
        let finished = match how {
            // SAFETY: (for all three arms) the transaction is executing (`executing`, set by
            // `start` after Execute's preconditions, cleared by `finish`) with a programmed
            // transfer (the driver completes only transfers its EvtProgramDma started); this is
            // the only completer (`completing`); no lock is held, so the nested EvtProgramDma may
            // take any; IRQL <= DISPATCH_LEVEL (callers' tokens).
            Completion::Full => unsafe {
                wdf_call!(WdfDmaTransactionDmaCompleted, tx, &raw mut status)
            },
            // SAFETY: as above; `length` is at most the current transfer's (the driver reports
            // what the device moved of what it programmed).
            Completion::WithLength(length) => unsafe {
                wdf_call!(
                    WdfDmaTransactionDmaCompletedWithLength,
                    tx,
                    length,
                    &raw mut status
                )
            },
            // SAFETY: as above.
            Completion::Final(length) => unsafe {
                wdf_call!(
                    WdfDmaTransactionDmaCompletedFinal,
                    tx,
                    length,
                    &raw mut status
                )
            },
        };
        (finished, status)
    }

    /// Reads the byte count, releases the transaction and hands back the request: PLX's order
    /// (§2.8, §2.10).
    fn finish(&self, status: Status) -> Option<Finished> {
        let tx = self.transaction.as_ptr();
        // SAFETY: the transaction ended (a DmaCompleted* returned TRUE, or Cancel won) and is
        // not yet released: the count is final and valid.
        let bytes = unsafe { wdf_call!(WdfDmaTransactionGetBytesTransferred, tx) };
        // SAFETY: the transaction is TransferCompleted/TransferFailed, not Transfer.
        let _released = unsafe { wdf_call!(WdfDmaTransactionRelease, tx) };
        let request = with_phase(self, |phase| match core::mem::replace(phase, Phase::Idle) {
            // INVARIANT: released, so the phase is Idle again.
            Phase::InFlight(request) => Some(request),
            Phase::Idle | Phase::Starting => None,
        });
        self.executing.store(false, Ordering::Release);
        request.map(|request| Finished {
            request,
            status: status.ok(),
            bytes,
        })
    }

    /// Wraps `WdfDmaTransactionCancel`: succeeds only while the transaction still waits for
    /// map registers, before any `EvtProgramDma`. On success no DMA callback will run for it
    /// again and the returned token gives back the request (0 bytes moved). The DDI calls
    /// nothing in the driver, so callers may hold their own locks.
    pub fn try_cancel(&self, _cx: &impl AtMostDispatch) -> Option<CancelWon<'_>> {
        let tx = self.transaction.as_ptr();
        let won = with_phase(self, |phase| {
            if !matches!(phase, Phase::InFlight(_)) {
                return false;
            }
            // SAFETY: the transaction is executing (phase InFlight) on a DMA v3 enabler
            // (invariant of `DmaEnabler`); the DDI calls nothing in the driver; IRQL <=
            // DISPATCH_LEVEL (spin lock held).
            unsafe { wdf_call!(WdfDmaTransactionCancel, tx) != 0 }
        });
        won.then_some(CancelWon { channel: self })
    }
}

/// `WdfDmaTransactionCancel` won: the transaction will make no more callbacks.
#[must_use = "finish the cancelled transaction to get the request back"]
pub struct CancelWon<'a> {
    channel: &'a ChannelCore,
}

impl CancelWon<'_> {
    /// Releases the transaction and returns the request.
    pub fn finish(self, _cx: &impl AtMostDispatch) -> Option<Finished> {
        self.channel.finish(Status::CANCELLED)
    }
}

/// `EvtProgramDma` trampoline.
///
/// # Safety
/// Installed only by [`ChannelCore::start::<C>`].
unsafe extern "C" fn evt_wdf_program_dma<C: DmaHandler>(
    transaction: sys::WDFDMATRANSACTION,
    _device: sys::WDFDEVICE,
    context: sys::WDFCONTEXT,
    direction: sys::WDF_DMA_DIRECTION,
    sg_list: sys::PSCATTER_GATHER_LIST,
) -> sys::BOOLEAN {
    // SAFETY: `start::<C>` passed `&C`, the device context, as the Execute context; it lives
    // as long as the device, which outlives the transaction.
    let Some(context) = (unsafe { context.cast::<C>().cast_const().as_ref() }) else {
        return 0;
    };
    // SAFETY: the list is valid for the duration of this callback (§2.5).
    let Some(list) = (unsafe { sg_list.as_ref() }) else {
        return 0;
    };
    // SAFETY: the list holds `NumberOfElements` initialised elements in its allocation.
    let elements = unsafe { list.Elements.as_slice(list.NumberOfElements as usize) };
    // SAFETY: the transaction is live and executing.
    let offset = unsafe { wdf_call!(WdfDmaTransactionGetBytesTransferred, transaction) };
    // The elements cover exactly the current transfer (§2.5).
    let length = elements.iter().map(|element| element.Length as usize).sum();
    let transfer = Transfer {
        offset,
        length,
        direction: Direction::from_raw(direction),
        elements,
    };
    // SAFETY: EvtProgramDma runs at DISPATCH_LEVEL.
    let cx = unsafe { Dispatch::new() };
    match context.program(&transfer, &cx) {
        Programmed::Started => 1,
        Programmed::Abort(_) if context.dma_channel().is_some_and(|channel| channel.system) => {
            // A system transfer is already mapped on the controller, and with a transfer-complete
            // callback registered no DmaCompleted* may precede its notification (§3.1): stop
            // it; the callback then ends the transaction.
            if let Some(channel) = context.dma_channel() {
                channel.stop_once();
            }
            0
        }
        Programmed::Abort(error) => {
            let mut status: sys::NTSTATUS = sys::STATUS_SUCCESS;
            // SAFETY: KMDF allows DmaCompletedFinal from EvtProgramDma to end the transaction
            // (§2.5); no transfer was started, so 0 bytes of it count.
            let _ended = unsafe {
                wdf_call!(
                    WdfDmaTransactionDmaCompletedFinal,
                    transaction,
                    0,
                    &raw mut status
                )
            };
            if let Some(mut finished) = context
                .dma_channel()
                .and_then(|channel| channel.finish(Status::from_raw(status)))
            {
                finished.status = Err(error);
                context.aborted(finished, &cx);
            }
            0
        }
    }
}

/// `EvtDmaTransactionDmaTransferComplete` trampoline.
///
/// # Safety
/// Installed only by [`ChannelCore::start::<C>`] on system-mode channels.
unsafe extern "C" fn evt_wdf_dma_transaction_dma_transfer_complete<C: DmaHandler>(
    _transaction: sys::WDFDMATRANSACTION,
    _device: sys::WDFDEVICE,
    context: sys::WDFCONTEXT,
    _direction: sys::WDF_DMA_DIRECTION,
    status: sys::DMA_COMPLETION_STATUS::Type,
) {
    // SAFETY: `start::<C>` registered `&C`, the device context, as this callback's context; it
    // lives as long as the device, which outlives the transaction.
    let Some(context) = (unsafe { context.cast::<C>().cast_const().as_ref() }) else {
        return;
    };
    let status = match status {
        sys::DMA_COMPLETION_STATUS::DmaComplete => SystemDmaStatus::Complete,
        sys::DMA_COMPLETION_STATUS::DmaCancelled => SystemDmaStatus::Cancelled,
        sys::DMA_COMPLETION_STATUS::DmaAborted => SystemDmaStatus::Aborted,
        _ => SystemDmaStatus::Error,
    };
    // SAFETY: the callback runs at DISPATCH_LEVEL.
    let cx = unsafe { Dispatch::new() };
    context.transfer_complete(status, &cx);
}

/// A common buffer (WDFCOMMONBUFFER): memory the CPU and the device share, physically
/// contiguous and reachable with the enabler's address width.
///
/// # Invariants
/// `handle` is a live common buffer whose parent is the enabler the owner keeps alive
/// alongside it; `virtual_address..+length` is its mapping for the CPU and `logical` the
/// address the device uses for its first byte.
pub struct CommonBuffer {
    handle: NonNull<sys::WDFCOMMONBUFFER__>,
    virtual_address: NonNull<u8>,
    logical: u64,
    length: usize,
}

// SAFETY: the handle and the mapping may be used from any CPU; CPU access goes through
// `&mut self` (see `write`/`read`), so the value itself carries no shared mutable state.
unsafe impl Send for CommonBuffer {}
// SAFETY: shared references only expose the addresses and the length.
unsafe impl Sync for CommonBuffer {}

impl CommonBuffer {
    /// Wraps `WdfCommonBufferCreate` and the address/length queries.
    ///
    /// # Errors
    /// The failing status of the DDI (`STATUS_INVALID_PARAMETER` for a zero length,
    /// `STATUS_INSUFFICIENT_RESOURCES` when no memory within the enabler's width is left).
    pub fn create(enabler: &DmaEnabler, length: usize, _cx: &Passive<'_>) -> Result<Self> {
        let mut handle: sys::WDFCOMMONBUFFER = core::ptr::null_mut();
        // SAFETY: the enabler is live; no attributes (the parent is always the enabler); the
        // out pointer is a local; PASSIVE_LEVEL by the token.
        let status = unsafe {
            wdf_call!(
                WdfCommonBufferCreate,
                enabler.handle.as_ptr(),
                length,
                core::ptr::null_mut(),
                &raw mut handle
            )
        };
        Status::from_raw(status).ok()?;
        let handle = NonNull::new(handle).ok_or(Error::INSUFFICIENT_RESOURCES)?;
        // SAFETY: a live common buffer (just created).
        let virtual_address =
            unsafe { wdf_call!(WdfCommonBufferGetAlignedVirtualAddress, handle.as_ptr()) };
        // SAFETY: as above.
        let logical =
            unsafe { wdf_call!(WdfCommonBufferGetAlignedLogicalAddress, handle.as_ptr()) };
        // SAFETY: every member of LARGE_INTEGER covers the same plain 8 bytes.
        let logical = unsafe { logical.QuadPart }.cast_unsigned();
        // SAFETY: as above.
        let length = unsafe { wdf_call!(WdfCommonBufferGetLength, handle.as_ptr()) };
        let virtual_address =
            NonNull::new(virtual_address.cast::<u8>()).ok_or(Error::INSUFFICIENT_RESOURCES)?;
        // INVARIANT: the framework's answers for a buffer parented to `enabler`.
        Ok(Self {
            handle,
            virtual_address,
            logical,
            length,
        })
    }

    /// The device address of the first byte (`WdfCommonBufferGetAlignedLogicalAddress`).
    #[must_use]
    pub const fn logical_address(&self) -> u64 {
        self.logical
    }

    /// The length in bytes (`WdfCommonBufferGetLength`).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.length
    }

    /// True for an empty buffer (never: the framework refuses length 0).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Copies `data` into the buffer at `offset`; false when it does not fit. The caller must
    /// not have a device transfer touching the buffer in flight (the device's DMA is not
    /// ordered with the CPU's copy); `&mut self` keeps CPU accesses exclusive.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> bool {
        if offset
            .checked_add(data.len())
            .is_none_or(|end| end > self.length)
        {
            return false;
        }
        // SAFETY: `offset..offset + len` lies inside the mapping (checked; invariant), raw
        // pointers only (no reference to memory a device may also access), non-overlapping
        // with the caller's slice (framework memory).
        unsafe {
            core::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.virtual_address.as_ptr().wrapping_add(offset),
                data.len(),
            );
        };
        true
    }

    /// Copies bytes out of the buffer at `offset` into `out`; false when it does not fit. Same
    /// ordering obligation as [`Self::write`].
    pub fn read(&mut self, offset: usize, out: &mut [u8]) -> bool {
        if offset
            .checked_add(out.len())
            .is_none_or(|end| end > self.length)
        {
            return false;
        }
        // SAFETY: as in `write`, with the copy's direction reversed.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.virtual_address.as_ptr().wrapping_add(offset),
                out.as_mut_ptr(),
                out.len(),
            );
        };
        true
    }

    /// Wraps `WdfObjectDelete`: frees the buffer (PASSIVE_LEVEL, as the HAL requires, §6).
    pub fn delete(self, _cx: &Passive<'_>) {
        // SAFETY: the buffer is live (invariant) and consumed; PASSIVE_LEVEL by the token.
        unsafe { wdf_call!(WdfObjectDelete, self.handle.as_ptr().cast()) };
    }
}

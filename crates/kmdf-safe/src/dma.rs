//! DMA: the enabler (adapter configuration), and the channel that owns one reusable DMA
//! transaction and the request it is running for (`kmdf-dma-semantics.md` §1–§4).
//!
//! The transaction object is created once per channel and reused for every request; the hot
//! path creates no framework object and allocates nothing.
//!
//! The channel's phase, under its spin lock, says who may touch the transaction. A run goes
//! idle → running (the channel owns the request) → ended → idle. Exactly one path ends a run:
//! the `DmaCompleted*` call that returns TRUE, the `WdfDmaTransactionCancel` that wins, or a
//! failed Execute; it marks the run ended under the lock before anything else can see it, so a
//! cancel routine, a watchdog or a removal on another processor never calls `Cancel` or
//! `StopSystemTransfer` on an ended transaction (a NULL dereference in KMDF). No lock is held
//! across a DDI that can call back into the driver: a `DmaCompleted*` call may run the next
//! `EvtProgramDma` and deliver a held system-DMA notification nested inside it, and a
//! `StopSystemTransfer` may deliver the notification before it returns. Every way out hands the
//! driver a [`Finished`] that owns the request, so no request is lost or completed twice.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;

use super::device::{Device, DeviceHandler, DmaResource};
use super::irql::{AtMostDispatch, Dispatch, Passive};
use super::object::{attributes, wdf_size_of};
use super::request::Request;
use super::sys::atomic::{AtomicBool, Ordering};
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
    /// No transaction was running (a stale or duplicate completion): nothing was called.
    Idle,
    /// A stop of the transfer was under way: the completion went to the stopper, which ends
    /// the transaction when its call returns.
    Handed,
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

/// Whether the transaction of the current run must end early, and who acted on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EndRequest {
    /// Nobody asked.
    None,
    /// Asked, and not acted on yet: whoever clears the last obstacle (Execute returning, the
    /// last completer leaving) cancels or stops the transaction.
    Pending,
    /// Acted on (cancel tried, stop issued), or nothing to do for this kind of channel.
    Done,
}

/// `WdfDmaTransactionStopSystemTransfer` for the current run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Not issued.
    None,
    /// Issued and not returned yet: completers hand their completion to the stopper instead of
    /// ending the transaction under it.
    InProgress,
    /// Returned (at most one stop per initialisation, §3.2).
    Done,
}

/// One initialisation of the transaction, from `start` until it ends.
struct Run {
    request: Request,
    /// Tells runs apart: a nested completion may end this run and `start` the next one while
    /// an outer frame of this run is still on the stack.
    epoch: u32,
    /// `WdfDmaTransactionExecute` returned success: before that nothing may cancel or stop.
    executed: bool,
    /// `EvtProgramDma` was entered for this run: `WdfDmaTransactionCancel` is no longer
    /// allowed (Learn) and could only lose.
    programmed: bool,
    /// `DmaCompleted*` calls under way (nested or on other processors). While any is, the
    /// transaction may already have ended inside KMDF: nothing but those calls may touch it.
    completers: u32,
    end: EndRequest,
    stop: Stop,
    /// A completion that arrived while a stop was in progress, for the stopper to report.
    handed: Option<Completion>,
}

/// Where the channel's transaction is. The transaction is in KMDF's Created/Released state
/// exactly when the phase is `Idle`.
enum Phase {
    Idle,
    /// The transaction may be executing (see [`Run`]).
    Running(Run),
    /// A `DmaCompleted*` returned TRUE (or the cancel won, or Execute failed): the ender reads
    /// the count and releases; nobody else touches the transaction.
    Ended,
}

/// The lock-protected part of a channel.
struct Guarded {
    phase: Phase,
    next_epoch: u32,
}

/// The shared part of every channel (see [`DmaChannel`]).
///
/// # Invariants
/// `transaction` is a live WDFDMATRANSACTION and `lock` a live WDFSPINLOCK, both children of
/// the enabler that the owner of this value keeps alive alongside it; `guarded` is only reached
/// with `lock` held. `context` is the device context of type `C` that the trampolines
/// installed by `create::<C>` expect; it lives as long as the device, which outlives the
/// enabler and so this value.
pub struct ChannelCore {
    transaction: NonNull<sys::WDFDMATRANSACTION__>,
    lock: NonNull<sys::WDFSPINLOCK__>,
    guarded: UnsafeCell<Guarded>,
    context: sys::WDFCONTEXT,
    /// Set when a run starts, cleared by its first `EvtProgramDma`, which then marks the run
    /// programmed under the lock.
    unmarked: AtomicBool,
    program: sys::PFN_WDF_PROGRAM_DMA,
    transfer_complete: sys::PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE,
    system: bool,
}

// SAFETY: the handles may be used from any CPU; `guarded` is reached only under `lock`
// (invariant); `Request` is `Send`; `context` points at a `Sync` device context.
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

/// Runs `f` with the channel lock held.
fn locked<R>(core: &ChannelCore, f: impl FnOnce(&mut Guarded) -> R) -> R {
    // SAFETY: the lock is live (invariant); every caller runs at <= DISPATCH_LEVEL (all
    // public entry points take such a token, the trampolines run at DISPATCH_LEVEL) and never
    // holds it already: it is released before any DDI that can call back into the driver.
    unsafe { wdf_call!(WdfSpinLockAcquire, core.lock.as_ptr()) };
    // SAFETY: the lock is held, so this is the only reference to the guarded state.
    let result = f(unsafe { &mut *core.guarded.get() });
    // SAFETY: acquired just above.
    unsafe { wdf_call!(WdfSpinLockRelease, core.lock.as_ptr()) };
    result
}

impl<K> DmaChannel<K> {
    /// Creates the transaction and the channel lock, bound to the device context `C`.
    ///
    /// # Errors
    /// The failing status of the DDIs; `STATUS_INVALID_DEVICE_STATE` when the device has no
    /// context of type `C`.
    fn create_with<C: DmaHandler>(
        enabler: &DmaEnabler,
        device: Device,
        system: bool,
    ) -> Result<Self> {
        // SAFETY: `device` is live and was created by `DeviceInit::create::<C>` (the
        // `DmaHandler` bound ties the type to a device context); the reference is only turned
        // into the callbacks' context pointer.
        let context = unsafe { device.context::<C>() }.ok_or(Error::INVALID_DEVICE_STATE)?;
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
        // INVARIANT: a new transaction is in the Created state and the phase is Idle; the
        // context is `C`'s, which the trampolines below expect.
        Ok(Self {
            core: ChannelCore {
                transaction,
                lock,
                guarded: UnsafeCell::new(Guarded {
                    phase: Phase::Idle,
                    next_epoch: 0,
                }),
                context: core::ptr::from_ref(context).cast_mut().cast(),
                unmarked: AtomicBool::new(false),
                program: Some(evt_wdf_program_dma::<C>),
                transfer_complete: if system {
                    Some(evt_wdf_dma_transaction_dma_transfer_complete::<C>)
                } else {
                    None
                },
                system,
            },
            _kind: PhantomData,
        })
    }
}

impl DmaChannel<BusMaster> {
    /// Wraps `WdfDmaTransactionCreate` (once, for reuse) on a bus-master enabler; the
    /// framework's DMA callbacks go to the context `C` of `device`.
    ///
    /// # Errors
    /// The failing status of the DDIs.
    pub fn create<C: DmaHandler>(
        enabler: &DmaEnabler,
        device: Device,
        _cx: &Passive<'_>,
    ) -> Result<Self> {
        Self::create_with::<C>(enabler, device, false)
    }
}

impl DmaChannel<SystemMode> {
    /// Wraps `WdfDmaTransactionCreate` (once, for reuse) on a configured system enabler; the
    /// framework's DMA callbacks go to the context `C` of `device`.
    ///
    /// # Errors
    /// The failing status of the DDIs.
    pub fn create<C: DmaHandler>(
        enabler: &DmaEnabler,
        device: Device,
        _cx: &Passive<'_>,
    ) -> Result<Self> {
        Self::create_with::<C>(enabler, device, true)
    }
}

/// One run of a channel: one initialisation of its transaction, from `start` until it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunId(u32);

/// What the lock holder decided, to be carried out after the lock is dropped.
enum Action {
    Nothing,
    /// The run ended (a completion returned TRUE, or the cancel won under the lock): release
    /// and hand back the request with this status.
    Ended(Request, Status),
    /// The stop was claimed: issue it.
    Stop,
}

impl ChannelCore {
    /// `WdfDmaTransactionInitializeUsingRequest` then `WdfDmaTransactionExecute` for `request`.
    /// Transfers are at most the enabler's maximum length. System-mode channels register the transfer-complete callback before executing.
    ///
    /// `Ok(Some(..))`: an end requested while Execute ran cancelled the transaction before any
    /// transfer (0 bytes); the caller finishes the request as for any ended transaction.
    ///
    /// # Errors
    /// The request and the failing status: the channel is idle again and the caller completes
    /// the request.
    pub fn start(
        &self,
        request: Request,
        direction: Direction,
        _cx: &impl AtMostDispatch,
    ) -> core::result::Result<Option<Finished>, (Request, Error)> {
        let raw_request = request.as_raw();
        let epoch = locked(self, |g| {
            if !matches!(g.phase, Phase::Idle) {
                return Err(request);
            }
            g.next_epoch = g.next_epoch.wrapping_add(1);
            // INVARIANT: the request moves into the channel before Execute, because
            // EvtProgramDma (and even the completion) can run before Execute returns.
            g.phase = Phase::Running(Run {
                request,
                epoch: g.next_epoch,
                executed: false,
                programmed: false,
                completers: 0,
                end: EndRequest::None,
                stop: Stop::None,
                handed: None,
            });
            self.unmarked.store(true, Ordering::Release);
            Ok(g.next_epoch)
        });
        let epoch = match epoch {
            Ok(epoch) => epoch,
            Err(request) => return Err((request, Error::DEVICE_BUSY)),
        };
        let tx = self.transaction.as_ptr();
        // SAFETY: the transaction is Created/Released (the phase was Idle, invariant) and only
        // this caller touches it until Execute (`executed` is false); the request is
        // driver-owned and held by the channel; the callback is the trampoline for this
        // channel's context type; IRQL <= DISPATCH_LEVEL by the token.
        let status = unsafe {
            wdf_call!(
                WdfDmaTransactionInitializeUsingRequest,
                tx,
                raw_request,
                self.program,
                direction.raw()
            )
        };
        if let Err(error) = Status::from_raw(status).ok() {
            // INVARIANT: a failed initialisation leaves the transaction released.
            return Err((self.abandon_run(epoch), error));
        }
        if self.system {
            // SAFETY: a system-profile transaction (created by `DmaChannel<SystemMode>`), after
            // initialisation and before execution, as the DDI requires; re-registered for every
            // request because Release clears it. The context is the device context, which
            // outlives the transaction (invariant).
            unsafe {
                wdf_call!(
                    WdfDmaTransactionSetTransferCompleteCallback,
                    tx,
                    self.transfer_complete,
                    self.context
                );
            };
        }
        // SAFETY: the transaction is Initialized (just above); the context is the device
        // context, which outlives the transaction (invariant). No lock is held: EvtProgramDma
        // may run inside.
        let status = unsafe { wdf_call!(WdfDmaTransactionExecute, tx, self.context) };
        if let Err(error) = Status::from_raw(status).ok() {
            // A failed Execute ended the transaction (TransferFailed) without any callback.
            let request = self.end_run(epoch);
            let _ = self.release();
            return match request {
                Some(request) => Err((request, error)),
                None => Ok(None),
            };
        }
        locked(self, |g| {
            if let Phase::Running(run) = &mut g.phase
                && run.epoch == epoch
            {
                run.executed = true;
            }
        });
        // A cancel or stop asked for while Execute ran is carried out now.
        Ok(self.follow_up(epoch))
    }

    /// The epoch of the run in progress (the caller is one of its callbacks).
    fn running_epoch(&self) -> Option<u32> {
        locked(self, |g| match &g.phase {
            Phase::Running(run) => Some(run.epoch),
            Phase::Idle | Phase::Ended => None,
        })
    }

    /// Takes the request of run `epoch` out of a transaction that was never executed and goes
    /// back to Idle.
    fn abandon_run(&self, epoch: u32) -> Request {
        let request = locked(self, |g| {
            match core::mem::replace(&mut g.phase, Phase::Idle) {
                Phase::Running(run) if run.epoch == epoch => Some(run.request),
                other => {
                    g.phase = other;
                    None
                }
            }
        });
        #[expect(
            clippy::unreachable,
            reason = "only `start` reaches this, before Execute, when nothing else can end the run"
        )]
        request.unwrap_or_else(|| unreachable!("kmdf: run {epoch} vanished before Execute"))
    }

    /// Marks run `epoch` ended and takes its request (the caller releases the transaction).
    fn end_run(&self, epoch: u32) -> Option<Request> {
        locked(self, |g| {
            match core::mem::replace(&mut g.phase, Phase::Ended) {
                Phase::Running(run) if run.epoch == epoch => Some(run.request),
                other => {
                    g.phase = other;
                    None
                }
            }
        })
    }

    /// Reads the byte count and releases the ended transaction: PLX's order (§2.8, §2.10).
    /// Returns the count; the phase is Idle afterwards.
    fn release(&self) -> usize {
        let tx = self.transaction.as_ptr();
        // SAFETY: the phase is Ended: the transaction ended (a DmaCompleted* returned TRUE, the
        // cancel won, or Execute failed), is not yet released, and only this caller touches it.
        let bytes = unsafe { wdf_call!(WdfDmaTransactionGetBytesTransferred, tx) };
        // SAFETY: as above: TransferCompleted/TransferFailed, not Transfer.
        let _released = unsafe { wdf_call!(WdfDmaTransactionRelease, tx) };
        // INVARIANT: released, so the phase is Idle again.
        locked(self, |g| g.phase = Phase::Idle);
        bytes
    }

    /// Ends a run that has ended in KMDF: release, and hand the driver its request.
    fn finish(&self, request: Request, status: Status) -> Finished {
        let bytes = self.release();
        Finished {
            request,
            status: status.ok(),
            bytes,
        }
    }

    /// Reports the transfer in flight as done (`DmaCompleted`, `…WithLength` or `…Final`).
    /// Must not be called with a lock held: the framework may call `EvtProgramDma` for the
    /// next transfer inside this call, and may deliver a held completion nested in it.
    pub fn completed(&self, how: Completion, _cx: &impl AtMostDispatch) -> Progress {
        let claim = locked(self, |g| match &mut g.phase {
            Phase::Running(run) if run.stop == Stop::InProgress => {
                // A stop is on its way: ending the transaction now would pull it out from
                // under that call. The stopper reports this completion when it returns.
                debug_assert!(run.handed.is_none(), "one notification per transfer");
                run.handed = Some(how);
                None
            }
            Phase::Running(run) => {
                run.completers += 1;
                Some(Some(run.epoch))
            }
            Phase::Idle | Phase::Ended => Some(None),
        });
        match claim {
            None => Progress::Handed,
            Some(None) => Progress::Idle,
            Some(Some(epoch)) => self.complete_now(epoch, how),
        }
    }

    /// Calls the `DmaCompleted*` DDI for run `epoch` (the caller counted itself among the
    /// completers) and settles what it led to.
    fn complete_now(&self, epoch: u32, how: Completion) -> Progress {
        let (ended, status) = self.dma_completed(how);
        let action = locked(self, |g| {
            let Phase::Running(run) = &mut g.phase else {
                // A nested completion ended this run (and maybe started the next): nothing
                // is left for this frame.
                return Action::Nothing;
            };
            if run.epoch != epoch {
                return Action::Nothing;
            }
            run.completers -= 1;
            if ended == 0 {
                // More transfers follow: an end asked for meanwhile is carried out now, in
                // this critical section (the per-fragment path takes the lock only twice).
                return self.decide(g, epoch);
            }
            match core::mem::replace(&mut g.phase, Phase::Ended) {
                Phase::Running(run) => Action::Ended(run.request, Status::from_raw(status)),
                other => {
                    g.phase = other;
                    Action::Nothing
                }
            }
        });
        match self.act(action, epoch) {
            Some(finished) => Progress::Done(finished),
            None => Progress::More,
        }
    }

    /// Calls the `DmaCompleted*` DDI for `how`; returns its BOOLEAN and status.
    fn dma_completed(&self, how: Completion) -> (sys::BOOLEAN, sys::NTSTATUS) {
        let tx = self.transaction.as_ptr();
        let mut status: sys::NTSTATUS = sys::STATUS_SUCCESS;
        let finished = match how {
            // SAFETY: (for all three arms) the transaction is executing: the caller counted
            // itself as a completer of the running run under the lock, so no other path ends
            // or releases it before this call returns; the driver completes only transfers its
            // EvtProgramDma started (or that the framework notified); no lock is held, so the
            // nested EvtProgramDma and a held completion may take any; IRQL <= DISPATCH_LEVEL.
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

    /// Asks the running transaction to end as soon as it can. Before any `EvtProgramDma`,
    /// `WdfDmaTransactionCancel` is tried (a win gives the request back here, 0 bytes); on a
    /// system channel the mapped transfer is stopped (`WdfDmaTransactionStopSystemTransfer`),
    /// and its notification then ends the transaction; on a bus-master channel the driver's
    /// next completion ends it. When a DDI must not be called right now (Execute has not
    /// returned, a `DmaCompleted*` is under way), the request is left for the path that is in
    /// the way, which acts on it when it leaves. Call with no lock held: the stop may deliver
    /// the transfer's notification before it returns.
    ///
    /// `run` names the run to end ([`Self::current_run`]): if it already ended and another one
    /// started meanwhile (on another processor), nothing happens, so a late canceller never ends
    /// the next request's transfer.
    pub fn request_end(&self, run: RunId, _cx: &impl AtMostDispatch) -> Option<Finished> {
        let epoch = locked(self, |g| match &mut g.phase {
            Phase::Running(current)
                if current.epoch == run.0 && current.end == EndRequest::None =>
            {
                current.end = EndRequest::Pending;
                Some(current.epoch)
            }
            _ => None,
        })?;
        self.follow_up(epoch)
    }

    /// The run in progress, if any: take it under the lock that says which request the driver
    /// means to end, and hand it to [`Self::request_end`] once that lock is dropped.
    #[must_use]
    pub fn current_run(&self, _cx: &impl AtMostDispatch) -> Option<RunId> {
        locked(self, |g| match &g.phase {
            Phase::Running(run) => Some(RunId(run.epoch)),
            Phase::Idle | Phase::Ended => None,
        })
    }

    /// Carries out a pending end request of run `epoch` if nothing stands in its way any
    /// more.
    fn follow_up(&self, epoch: u32) -> Option<Finished> {
        let action = locked(self, |g| self.decide(g, epoch));
        self.act(action, epoch)
    }

    /// With the lock held: what a pending end request of run `epoch` calls for now (a cancel
    /// is tried right here, under the lock).
    fn decide(&self, g: &mut Guarded, epoch: u32) -> Action {
        let tx = self.transaction.as_ptr();
        let Phase::Running(run) = &mut g.phase else {
            return Action::Nothing;
        };
        if run.epoch != epoch
            || run.end != EndRequest::Pending
            || !run.executed
            || run.completers > 0
            || run.stop == Stop::InProgress
        {
            return Action::Nothing;
        }
        run.end = EndRequest::Done;
        if !run.programmed {
            // SAFETY: the run is executing (Execute returned, no completer, not ended: nothing
            // else can end it while the lock is held, and the only other ender before
            // EvtProgramDma is this call) on a DMA v3 enabler (invariant of `DmaEnabler`); no
            // EvtProgramDma ran yet (Learn's condition); the DDI calls nothing in the driver,
            // so holding the lock is allowed; <= DISPATCH_LEVEL (the lock is held).
            let won = unsafe { wdf_call!(WdfDmaTransactionCancel, tx) } != 0;
            if won {
                return match core::mem::replace(&mut g.phase, Phase::Ended) {
                    Phase::Running(run) => Action::Ended(run.request, Status::CANCELLED),
                    other => {
                        g.phase = other;
                        Action::Nothing
                    }
                };
            }
        }
        if self.system && run.stop == Stop::None {
            run.stop = Stop::InProgress;
            return Action::Stop;
        }
        Action::Nothing
    }

    /// Carries out what [`Self::decide`] (or an ending completion) chose, with the lock
    /// dropped.
    fn act(&self, action: Action, epoch: u32) -> Option<Finished> {
        match action {
            Action::Nothing => None,
            Action::Ended(request, status) => Some(self.finish(request, status)),
            Action::Stop => self.stop_now(epoch),
        }
    }

    /// Issues the claimed stop of run `epoch`, then reports a completion handed over meanwhile.
    fn stop_now(&self, epoch: u32) -> Option<Finished> {
        let tx = self.transaction.as_ptr();
        // SAFETY: the caller claimed the stop (`Stop::InProgress`) while the run executed
        // with no completer: completers that arrive now hand their completion over instead of
        // ending the transaction, so it stays in Transfer until this call returns; first stop
        // of this initialisation; a system-profile transaction (only system channels claim
        // stops); no lock held, so the framework may deliver the notification inline;
        // IRQL <= DISPATCH_LEVEL.
        unsafe { wdf_call!(WdfDmaTransactionStopSystemTransfer, tx) };
        let handed = locked(self, |g| match &mut g.phase {
            Phase::Running(run) if run.epoch == epoch => {
                run.stop = Stop::Done;
                let handed = run.handed.take();
                if handed.is_some() {
                    run.completers += 1;
                }
                handed
            }
            _ => None,
        })?;
        match self.complete_now(epoch, handed) {
            Progress::Done(finished) => Some(finished),
            Progress::More | Progress::Idle | Progress::Handed => None,
        }
    }
}

/// `EvtProgramDma` trampoline.
///
/// # Safety
/// Installed only by [`DmaChannel::create::<C>`], whose context is `C`'s device context.
unsafe extern "C" fn evt_wdf_program_dma<C: DmaHandler>(
    transaction: sys::WDFDMATRANSACTION,
    _device: sys::WDFDEVICE,
    context: sys::WDFCONTEXT,
    direction: sys::WDF_DMA_DIRECTION,
    sg_list: sys::PSCATTER_GATHER_LIST,
) -> sys::BOOLEAN {
    // SAFETY: the channel passed its context, `C`'s device context, to Execute; it lives as
    // long as the device, which outlives the transaction.
    let Some(context) = (unsafe { context.cast::<C>().cast_const().as_ref() }) else {
        return 0;
    };
    let Some(channel) = context.dma_channel() else {
        return 0;
    };
    // SAFETY: the list is valid for the duration of this callback (§2.5).
    let Some(list) = (unsafe { sg_list.as_ref() }) else {
        return 0;
    };
    // SAFETY: the list holds `NumberOfElements` initialised elements in its allocation.
    let elements = unsafe { list.Elements.as_slice(list.NumberOfElements as usize) };
    // The first EvtProgramDma of a run marks it (from now on `Cancel` is off limits); the
    // flag spares the lock on every later transfer of the run.
    if channel.unmarked.swap(false, Ordering::AcqRel) {
        locked(channel, |g| {
            if let Phase::Running(run) = &mut g.phase {
                run.programmed = true;
            }
        });
    }
    // SAFETY: the transaction is live and executing (this callback is part of it).
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
        Programmed::Abort(_) if channel.system => {
            let Some(epoch) = channel.running_epoch() else {
                return 0;
            };
            // A system transfer is already mapped on the controller, and with a transfer-complete
            // callback registered no DmaCompleted* may precede its notification (§3.1): stop
            // it (unless a stop is already on its way); the notification then ends the
            // transaction through `transfer_complete`. KMDF holds a notification that arrives
            // during this callback and delivers it after it returns.
            let claimed = locked(channel, |g| match &mut g.phase {
                Phase::Running(run) if run.epoch == epoch && run.stop == Stop::None => {
                    run.stop = Stop::InProgress;
                    run.end = EndRequest::Done;
                    true
                }
                _ => false,
            });
            if claimed && let Some(finished) = channel.stop_now(epoch) {
                context.aborted(finished, &cx);
            }
            0
        }
        Programmed::Abort(error) => {
            let Some(epoch) = channel.running_epoch() else {
                return 0;
            };
            // KMDF allows DmaCompletedFinal from EvtProgramDma to end the transaction (§2.5);
            // no transfer was started, so 0 bytes of it count.
            let counted = locked(channel, |g| match &mut g.phase {
                Phase::Running(run) if run.epoch == epoch => {
                    run.completers += 1;
                    true
                }
                _ => false,
            });
            if counted
                && let Progress::Done(mut finished) =
                    channel.complete_now(epoch, Completion::Final(0))
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
/// Installed only by [`DmaChannel::create::<C>`] on system-mode channels.
unsafe extern "C" fn evt_wdf_dma_transaction_dma_transfer_complete<C: DmaHandler>(
    _transaction: sys::WDFDMATRANSACTION,
    _device: sys::WDFDEVICE,
    context: sys::WDFCONTEXT,
    _direction: sys::WDF_DMA_DIRECTION,
    status: sys::DMA_COMPLETION_STATUS::Type,
) {
    // SAFETY: the channel registered its context, `C`'s device context, with this callback; it
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
    /// ordered with the CPU's copy); `&mut self` keeps CPU accesses exclusive. The accesses are
    /// volatile byte stores, so a device writing meanwhile garbles bytes but is not undefined
    /// behaviour.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> bool {
        if offset
            .checked_add(data.len())
            .is_none_or(|end| end > self.length)
        {
            return false;
        }
        let start = self.virtual_address.as_ptr().wrapping_add(offset);
        for (i, &byte) in data.iter().enumerate() {
            // SAFETY: `offset + i` lies inside the mapping (checked; invariant); a volatile
            // store through a raw pointer, since the device may access this memory outside
            // the compiler's view (no reference to it is ever made).
            unsafe { start.wrapping_add(i).write_volatile(byte) };
        }
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
        let start = self.virtual_address.as_ptr().wrapping_add(offset);
        for (i, byte) in out.iter_mut().enumerate() {
            // SAFETY: as in `write`: in bounds, volatile, raw pointer only.
            *byte = unsafe { start.wrapping_add(i).read_volatile() };
        }
        true
    }

    /// Wraps `WdfObjectDelete`: frees the buffer (PASSIVE_LEVEL, as the HAL requires, §6).
    pub fn delete(self, _cx: &Passive<'_>) {
        // SAFETY: the buffer is live (invariant) and consumed; PASSIVE_LEVEL by the token.
        unsafe { wdf_call!(WdfObjectDelete, self.handle.as_ptr().cast()) };
    }
}

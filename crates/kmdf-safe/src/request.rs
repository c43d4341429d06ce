//! I/O queues and requests: presenting requests to the driver, their buffers, cancellation,
//! and completion exactly once.

use core::marker::PhantomData;
use core::ptr::NonNull;

use super::device::{Device, DeviceHandler};
use super::irql::{AtMostDispatch, Passive, UpToDispatch};
use super::object::{attributes, wdf_size_of};
use super::sys::{self, wdf_call};
use super::{Error, Result, Status};

/// A request the driver owns (WDFREQUEST).
///
/// Move-only: completing it consumes it, so a request cannot be completed twice or used after
/// completion. While a DMA transaction runs for it, the transaction's channel holds it.
///
/// ```compile_fail
/// # use kmdf_safe::{Request, Status, irql::UpToDispatch};
/// fn twice(request: Request, cx: &UpToDispatch<'_>) {
///     request.complete(Status::SUCCESS, cx);
///     request.complete(Status::SUCCESS, cx); // use of moved value
/// }
/// ```
///
/// Holding a buffer across completion does not compile either (the buffer borrows the request):
///
/// ```compile_fail
/// # use kmdf_safe::{Request, Status, irql::UpToDispatch};
/// fn stale(mut request: Request, cx: &UpToDispatch<'_>) -> u8 {
///     let buffer = request.input_buffer(1, cx).unwrap();
///     request.complete(Status::SUCCESS, cx);
///     buffer[0]
/// }
/// ```
///
/// # Invariants
/// `handle` is a request presented to the driver by a queue and not yet completed; `cancelable`
/// is true exactly while `WdfRequestMarkCancelableEx` is in effect. A cancelable request leaves
/// that state only through [`Request::unmark`], which gives it back only when its cancel
/// callback will not run.
#[must_use = "complete the request"]
pub struct Request {
    handle: NonNull<sys::WDFREQUEST__>,
    cancelable: bool,
}

// SAFETY: a driver-owned request may be completed from any CPU at <= DISPATCH_LEVEL.
unsafe impl Send for Request {}

impl Request {
    /// # Safety
    /// `raw` is a request just presented to the driver by a queue.
    pub(crate) unsafe fn from_raw(raw: sys::WDFREQUEST) -> Option<Self> {
        // INVARIANT: the caller's contract; new requests are not cancelable.
        NonNull::new(raw).map(|handle| Self {
            handle,
            cancelable: false,
        })
    }

    /// The raw handle.
    pub(crate) const fn as_raw(&self) -> sys::WDFREQUEST {
        self.handle.as_ptr()
    }

    /// Whether `other` is the handle of this request (for matching a cancel callback).
    #[must_use]
    pub fn is(&self, other: &CancelledRequest<'_>) -> bool {
        self.handle == other.handle
    }

    /// Wraps `WdfRequestCompleteWithInformation`; consumes the request.
    ///
    /// `information` must not exceed the request's buffer length when `status` is a success
    /// (the verifier's rule R8); KMDF-private statuses should be mapped before (§5.2).
    pub fn complete_with_information(
        self,
        status: Status,
        information: usize,
        _cx: &impl AtMostDispatch,
    ) {
        debug_assert!(
            !self.cancelable,
            "unmark a cancelable request before completing it"
        );
        // CAST: usize and ULONG_PTR have the same width on every Windows target.
        let information = information as sys::ULONG_PTR;
        // SAFETY: the request is driver-owned and not yet completed (invariant); this consumes
        // it, so it cannot be completed again; IRQL <= DISPATCH_LEVEL by the token.
        unsafe {
            wdf_call!(
                WdfRequestCompleteWithInformation,
                self.as_raw(),
                status.raw(),
                information
            );
        };
    }

    /// Completes with no information.
    pub fn complete(self, status: Status, cx: &impl AtMostDispatch) {
        self.complete_with_information(status, 0, cx);
    }

    /// Wraps `WdfRequestRetrieveInputBuffer`: the input buffer, at least `minimum` bytes.
    ///
    /// # Errors
    /// `STATUS_BUFFER_TOO_SMALL` when shorter or absent, `STATUS_INVALID_DEVICE_REQUEST` when
    /// the request has no input buffer of this kind.
    pub fn input_buffer(&mut self, minimum: usize, _cx: &impl AtMostDispatch) -> Result<&[u8]> {
        let mut buffer: sys::PVOID = core::ptr::null_mut();
        let mut length: usize = 0;
        // SAFETY: the request is driver-owned (invariant); the out pointers are locals.
        let status = unsafe {
            wdf_call!(
                WdfRequestRetrieveInputBuffer,
                self.as_raw(),
                minimum,
                &raw mut buffer,
                &raw mut length
            )
        };
        Status::from_raw(status).ok()?;
        if buffer.is_null() {
            return Err(Error::BUFFER_TOO_SMALL);
        }
        // SAFETY: KMDF returns a buffer of `length` bytes that stays valid until the request is
        // completed; the slice borrows `self`, so it cannot outlive completion.
        Ok(unsafe { core::slice::from_raw_parts(buffer.cast::<u8>(), length) })
    }

    /// Wraps `WdfRequestRetrieveOutputBuffer`: the output buffer, at least `minimum` bytes.
    ///
    /// # Errors
    /// As [`Self::input_buffer`].
    pub fn output_buffer(
        &mut self,
        minimum: usize,
        _cx: &impl AtMostDispatch,
    ) -> Result<&mut [u8]> {
        let mut buffer: sys::PVOID = core::ptr::null_mut();
        let mut length: usize = 0;
        // SAFETY: the request is driver-owned (invariant); the out pointers are locals.
        let status = unsafe {
            wdf_call!(
                WdfRequestRetrieveOutputBuffer,
                self.as_raw(),
                minimum,
                &raw mut buffer,
                &raw mut length
            )
        };
        Status::from_raw(status).ok()?;
        if buffer.is_null() {
            return Err(Error::BUFFER_TOO_SMALL);
        }
        // SAFETY: as in `input_buffer`; `&mut self` makes this the only view of the buffer.
        Ok(unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), length) })
    }

    /// Wraps `WdfRequestMarkCancelableEx` with the device context's [`RequestCancel`].
    ///
    /// # Errors
    /// `STATUS_CANCELLED` when the request was already cancelled: the callback will not run
    /// and the caller completes the request, which comes back with the error.
    pub fn mark_cancelable<C: RequestCancel>(
        mut self,
        _cx: &impl AtMostDispatch,
    ) -> core::result::Result<Self, (Self, Error)> {
        debug_assert!(!self.cancelable, "request is already cancelable");
        // SAFETY: the request is driver-owned and not cancelable (invariant); the callback is a
        // trampoline for the device's context type, which every queue of the device shares.
        let status = unsafe {
            wdf_call!(
                WdfRequestMarkCancelableEx,
                self.as_raw(),
                Some(evt_wdf_request_cancel::<C>)
            )
        };
        if let Err(error) = Status::from_raw(status).ok() {
            return Err((self, error));
        }
        // INVARIANT: the mark took effect.
        self.cancelable = true;
        Ok(self)
    }

    /// Wraps `WdfRequestUnmarkCancelable`: the request back, no longer cancelable, or, when its
    /// cancel callback has run or will run, a [`CancelPending`] that cannot be completed until
    /// that callback hands over a [`CancelRan`]. A request that is not cancelable comes back
    /// unchanged.
    ///
    /// # Errors
    /// [`CancelPending`] when `WdfRequestUnmarkCancelable` returns `STATUS_CANCELLED`.
    ///
    /// Completing a request whose cancel callback is due does not compile:
    ///
    /// ```compile_fail
    /// # use kmdf_safe::{Request, Status, irql::UpToDispatch};
    /// fn racy(request: Request, cx: &UpToDispatch<'_>) {
    ///     if let Err(_pending) = request.unmark(cx) {
    ///         request.complete(Status::CANCELLED, cx); // use of moved value: `request`
    ///     }
    /// }
    /// ```
    ///
    /// nor does completing the [`CancelPending`] without the callback's [`CancelRan`]:
    ///
    /// ```compile_fail
    /// # use kmdf_safe::{Request, Status, irql::UpToDispatch};
    /// fn racy(request: Request, cx: &UpToDispatch<'_>) {
    ///     match request.unmark(cx) {
    ///         Ok(request) => request.complete(Status::SUCCESS, cx),
    ///         Err(pending) => pending.complete(Status::CANCELLED, cx), // no such method
    ///     }
    /// }
    /// ```
    ///
    /// What compiles: complete an unmarked request at once, and a pending one with the proof
    /// that its callback ran.
    ///
    /// ```
    /// # use kmdf_safe::{CancelPending, CancelRan, Request, Status, irql::UpToDispatch};
    /// fn finish(request: Request, ran: Option<CancelRan>, cx: &UpToDispatch<'_>) -> Option<CancelPending> {
    ///     match (request.unmark(cx), ran) {
    ///         (Ok(request), _) => request.complete(Status::SUCCESS, cx),
    ///         (Err(pending), Some(ran)) => {
    ///             if let Err(mismatch) = pending.complete_with_information(ran, Status::CANCELLED, 0, cx) {
    ///                 return Some(mismatch.pending);
    ///             }
    ///         }
    ///         // Park it for the callback.
    ///         (Err(pending), None) => return Some(pending),
    ///     }
    ///     None
    /// }
    /// ```
    pub fn unmark(
        mut self,
        _cx: &impl AtMostDispatch,
    ) -> core::result::Result<Self, CancelPending> {
        if !self.cancelable {
            return Ok(self);
        }
        // SAFETY: the request is driver-owned and cancelable (invariant).
        let status = unsafe { wdf_call!(WdfRequestUnmarkCancelable, self.as_raw()) };
        // INVARIANT: either way the request is no longer cancelable by the driver's mark.
        self.cancelable = false;
        if status == sys::STATUS_CANCELLED {
            Err(CancelPending {
                handle: self.handle,
            })
        } else {
            Ok(self)
        }
    }

    /// Wraps `WdfRequestStopAcknowledge` without requeueing: the driver keeps the request and
    /// lets a power transition proceed.
    pub fn stop_acknowledge(&self, _cx: &impl AtMostDispatch) {
        // SAFETY: the request is driver-owned (invariant).
        unsafe { wdf_call!(WdfRequestStopAcknowledge, self.as_raw(), 0) };
    }
}

/// The request a cancel callback is about. It cannot be completed through this handle: the
/// driver's own [`Request`] value (held by its DMA path) is the one that completes.
pub struct CancelledRequest<'cb> {
    handle: NonNull<sys::WDFREQUEST__>,
    _callback: PhantomData<&'cb ()>,
}

impl CancelledRequest<'_> {
    /// Gives up this handle for the proof that the request's cancel callback has been
    /// called, which completes the request's [`CancelPending`] (from the DMA path, if it
    /// arrives later, or right here if it parked it first).
    pub const fn into_ran(self) -> CancelRan {
        CancelRan {
            handle: self.handle,
        }
    }
}

/// A request whose cancel callback has run or will run.
///
/// `WdfRequestUnmarkCancelable` returned `STATUS_CANCELLED`. It can be completed only together
/// with that callback's [`CancelRan`]: completing it earlier would hand the callback a freed
/// request.
///
/// # Invariants
/// `handle` is a driver-owned request, not yet completed, no longer cancelable by the driver,
/// whose `EvtRequestCancel` has been or will be called.
#[must_use = "complete it with the cancel callback's `CancelRan`"]
#[derive(Debug)]
pub struct CancelPending {
    handle: NonNull<sys::WDFREQUEST__>,
}

// SAFETY: as for `Request`.
unsafe impl Send for CancelPending {}

/// Proof that the cancel callback of a request has been called and has given up its handle
/// ([`CancelledRequest::into_ran`]).
///
/// A proof is meant to be used for the request it came from while that request is still
/// pending; dropping it unused is harmless. (A proof kept past its request's completion
/// could match a later request that reuses the handle: keep it with the request's state.)
#[must_use = "complete the pending request with it"]
#[derive(Debug)]
pub struct CancelRan {
    handle: NonNull<sys::WDFREQUEST__>,
}

// SAFETY: a proof holds no access to the request; the handle is only compared.
unsafe impl Send for CancelRan {}

/// A [`CancelRan`] presented for another request: nothing was completed.
#[derive(Debug)]
pub struct Mismatch {
    /// The request, still pending.
    pub pending: CancelPending,
    /// The proof, for the request it belongs to.
    pub ran: CancelRan,
}

impl CancelPending {
    /// Wraps `WdfRequestCompleteWithInformation` once the cancel callback has been called;
    /// consumes the request.
    ///
    /// # Errors
    /// [`Mismatch`] when `ran` is about another request; both come back and nothing is
    /// completed.
    pub fn complete_with_information(
        self,
        ran: CancelRan,
        status: Status,
        information: usize,
        _cx: &impl AtMostDispatch,
    ) -> core::result::Result<(), Mismatch> {
        if ran.handle != self.handle {
            return Err(Mismatch { pending: self, ran });
        }
        // CAST: usize and ULONG_PTR have the same width on every Windows target.
        let information = information as sys::ULONG_PTR;
        // SAFETY: the request is driver-owned and not completed (invariant); its cancel
        // callback has been called and gave up its handle (`ran`, same request), so no one else
        // will touch it; this consumes it; IRQL <= DISPATCH_LEVEL by the token.
        unsafe {
            wdf_call!(
                WdfRequestCompleteWithInformation,
                self.handle.as_ptr(),
                status.raw(),
                information
            );
        };
        Ok(())
    }
}

/// Where a cancel callback and the path completing a [`CancelPending`] request meet.
///
/// Whichever of the two arrives second gets the [`DueCompletion`] and makes it
/// (`kmdf-dma-semantics.md` §4.4, pattern B).
///
/// Guarantees: the request is completed only with its own callback's proof, once, by one of
/// the two parties. Left to the driver: keeping the rendezvous under a lock both parties take
/// (a spin lock in the device context), making the completion after releasing that lock, and
/// resetting it to [`Open`](Self::Open) when a new request becomes cancelable. One request at
/// a time per rendezvous.
#[derive(Debug, Default)]
pub enum CancelRendezvous {
    /// Neither has arrived.
    #[default]
    Open,
    /// The cancel callback arrived first and left its proof.
    CallbackRan(CancelRan),
    /// The completing path arrived first and parked its completion.
    Parked {
        /// The request, which only the callback's proof lets complete.
        request: CancelPending,
        /// Its status.
        status: Status,
        /// Its information (bytes transferred).
        information: usize,
    },
}

impl CancelRendezvous {
    /// The completing path arrives with a request whose cancel callback is due. Returns the
    /// completion to make now when the callback already ran; otherwise parks it.
    pub fn completion_arrives(
        &mut self,
        request: CancelPending,
        status: Status,
        information: usize,
    ) -> Option<DueCompletion> {
        match core::mem::take(self) {
            Self::CallbackRan(ran) => Some(DueCompletion {
                request,
                ran,
                status,
                information,
            }),
            // One request at a time: nothing else can be parked here.
            Self::Open | Self::Parked { .. } => {
                *self = Self::Parked {
                    request,
                    status,
                    information,
                };
                None
            }
        }
    }

    /// The cancel callback arrives with its proof. Returns the parked completion to make now
    /// when the completing path already arrived; otherwise leaves the proof.
    pub fn callback_arrives(&mut self, ran: CancelRan) -> Option<DueCompletion> {
        match core::mem::take(self) {
            Self::Parked {
                request,
                status,
                information,
            } => Some(DueCompletion {
                request,
                ran,
                status,
                information,
            }),
            Self::Open | Self::CallbackRan(_) => {
                *self = Self::CallbackRan(ran);
                None
            }
        }
    }
}

/// A completion both parties of a [`CancelRendezvous`] have arrived for.
#[must_use = "make the completion (after releasing the rendezvous's lock)"]
#[derive(Debug)]
pub struct DueCompletion {
    request: CancelPending,
    ran: CancelRan,
    status: Status,
    information: usize,
}

impl DueCompletion {
    /// Completes the request with the status and information the completing path gave.
    ///
    /// # Errors
    /// [`Mismatch`] when the proof came from another request's callback (the driver used one
    /// rendezvous for two requests at once); nothing is completed.
    pub fn complete(self, cx: &impl AtMostDispatch) -> core::result::Result<(), Mismatch> {
        self.request
            .complete_with_information(self.ran, self.status, self.information, cx)
    }
}

/// `EvtRequestCancel`, implemented by the device context.
pub trait RequestCancel: DeviceHandler {
    /// The request was cancelled while marked cancelable.
    fn cancel(&self, request: CancelledRequest<'_>, cx: &mut UpToDispatch<'_>);
}

/// `EvtRequestCancel` trampoline.
///
/// # Safety
/// Installed only by [`Request::mark_cancelable::<C>`] for requests of a device whose context is
/// `C`.
unsafe extern "C" fn evt_wdf_request_cancel<C: RequestCancel>(request: sys::WDFREQUEST) {
    // SAFETY: the request is live during its cancel callback.
    let queue = unsafe { wdf_call!(WdfRequestGetIoQueue, request) };
    // SAFETY: the queue is live while it has a request.
    let device = unsafe { wdf_call!(WdfIoQueueGetDevice, queue) };
    // SAFETY: a live device (the queue's parent), created with `C` (installation).
    let Some(context) = (unsafe { Device::context_of::<C>(device) }) else {
        return;
    };
    let Some(handle) = NonNull::new(request) else {
        return;
    };
    // SAFETY: EvtRequestCancel runs at <= DISPATCH_LEVEL.
    let mut cx = unsafe { UpToDispatch::new() };
    context.cancel(
        CancelledRequest {
            handle,
            _callback: PhantomData,
        },
        &mut cx,
    );
}

/// How a queue presents requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatching {
    /// One request at a time: the next is presented after the current one completes.
    Sequential,
    /// Requests are presented as they arrive.
    Parallel,
}

/// Why a request is being stopped (`EvtIoStop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopAction {
    /// The device is leaving D0 and will return.
    Suspend,
    /// The queue is being purged (removal): finish the request soon.
    Purge,
}

/// Callbacks of a device's queues, implemented by the device context.
pub trait QueueHandler: DeviceHandler {
    /// `EvtIoRead`.
    fn read(&self, request: Request, length: usize, cx: &mut UpToDispatch<'_>);
    /// `EvtIoWrite`.
    fn write(&self, request: Request, length: usize, cx: &mut UpToDispatch<'_>);
    /// `EvtIoDeviceControl`.
    fn device_control(
        &self,
        request: Request,
        code: u32,
        input_length: usize,
        output_length: usize,
        cx: &mut UpToDispatch<'_>,
    );
    /// `EvtIoStop` for a request the driver owns.
    fn stop(&self, request: &CancelledRequest<'_>, action: StopAction, cx: &mut UpToDispatch<'_>);
}

/// A framework queue (WDFQUEUE).
///
/// # Invariants
/// `handle` is a live queue parented to the device whose context stores this value.
#[derive(Debug)]
pub struct Queue {
    #[expect(
        dead_code,
        reason = "the handle is kept for the queue's owner; the framework deletes the queue with the device"
    )]
    handle: NonNull<sys::WDFQUEUE__>,
}

// SAFETY: queue handles may be used from any CPU.
unsafe impl Send for Queue {}
// SAFETY: as above; no interior state.
unsafe impl Sync for Queue {}

impl Queue {
    /// Wraps `WdfIoQueueCreate`: the device's default queue, power-managed, with `C`'s
    /// read, write, device-control and stop callbacks.
    ///
    /// # Errors
    /// The failing status of the DDI.
    pub fn create_default<C: QueueHandler>(
        device: Device,
        dispatching: Dispatching,
        _cx: &Passive<'_>,
    ) -> Result<Self> {
        let mut config = sys::WDF_IO_QUEUE_CONFIG {
            Size: wdf_size_of::<sys::WDF_IO_QUEUE_CONFIG>(),
            DispatchType: match dispatching {
                Dispatching::Sequential => {
                    sys::_WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential
                }
                Dispatching::Parallel => {
                    sys::_WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel
                }
            },
            PowerManaged: sys::_WDF_TRI_STATE::WdfUseDefault,
            DefaultQueue: 1,
            EvtIoRead: Some(evt_wdf_io_queue_io_read::<C>),
            EvtIoWrite: Some(evt_wdf_io_queue_io_write::<C>),
            EvtIoDeviceControl: Some(evt_wdf_io_queue_io_device_control::<C>),
            EvtIoStop: Some(evt_wdf_io_queue_io_stop::<C>),
            ..Default::default()
        };
        let mut attributes = attributes(device.as_object());
        let mut handle: sys::WDFQUEUE = core::ptr::null_mut();
        // SAFETY: the device is live; the pointers are locals valid for the call; PASSIVE.
        let status = unsafe {
            wdf_call!(
                WdfIoQueueCreate,
                device.as_raw(),
                &raw mut config,
                &raw mut attributes,
                &raw mut handle
            )
        };
        Status::from_raw(status).ok()?;
        // INVARIANT: created with the device as parent.
        NonNull::new(handle)
            .map(|handle| Self { handle })
            .ok_or(Error::INSUFFICIENT_RESOURCES)
    }
}

/// Recovers the device context and the request in a queue trampoline.
///
/// # Safety
/// `queue` is a live queue of a device created with context `C`, and `request` a request it
/// is presenting.
unsafe fn presented<'a, C: QueueHandler>(
    queue: sys::WDFQUEUE,
    request: sys::WDFREQUEST,
) -> Option<(&'a C, Request)> {
    // SAFETY: the queue is live (caller).
    let device = unsafe { wdf_call!(WdfIoQueueGetDevice, queue) };
    // SAFETY: the queue's parent device is live and was created with `C` (caller).
    let context = unsafe { Device::context_of::<C>(device) }?;
    // SAFETY: the framework presents `request` to the driver with this callback.
    let request = unsafe { Request::from_raw(request) }?;
    Some((context, request))
}

/// `EvtIoRead` trampoline.
///
/// # Safety
/// Installed only by [`Queue::create_default::<C>`].
unsafe extern "C" fn evt_wdf_io_queue_io_read<C: QueueHandler>(
    queue: sys::WDFQUEUE,
    request: sys::WDFREQUEST,
    length: usize,
) {
    // SAFETY: the framework's callback for a queue created with `C`.
    let Some((context, request)) = (unsafe { presented::<C>(queue, request) }) else {
        return;
    };
    // SAFETY: I/O callbacks of a queue without passive execution level run at <= DISPATCH.
    let mut cx = unsafe { UpToDispatch::new() };
    context.read(request, length, &mut cx);
}

/// `EvtIoWrite` trampoline.
///
/// # Safety
/// Installed only by [`Queue::create_default::<C>`].
unsafe extern "C" fn evt_wdf_io_queue_io_write<C: QueueHandler>(
    queue: sys::WDFQUEUE,
    request: sys::WDFREQUEST,
    length: usize,
) {
    // SAFETY: the framework's callback for a queue created with `C`.
    let Some((context, request)) = (unsafe { presented::<C>(queue, request) }) else {
        return;
    };
    // SAFETY: as for EvtIoRead.
    let mut cx = unsafe { UpToDispatch::new() };
    context.write(request, length, &mut cx);
}

/// `EvtIoDeviceControl` trampoline.
///
/// # Safety
/// Installed only by [`Queue::create_default::<C>`].
unsafe extern "C" fn evt_wdf_io_queue_io_device_control<C: QueueHandler>(
    queue: sys::WDFQUEUE,
    request: sys::WDFREQUEST,
    output_length: usize,
    input_length: usize,
    code: sys::ULONG,
) {
    // SAFETY: the framework's callback for a queue created with `C`.
    let Some((context, request)) = (unsafe { presented::<C>(queue, request) }) else {
        return;
    };
    // SAFETY: as for EvtIoRead.
    let mut cx = unsafe { UpToDispatch::new() };
    context.device_control(request, code, input_length, output_length, &mut cx);
}

/// `EvtIoStop` trampoline.
///
/// # Safety
/// Installed only by [`Queue::create_default::<C>`].
unsafe extern "C" fn evt_wdf_io_queue_io_stop<C: QueueHandler>(
    queue: sys::WDFQUEUE,
    request: sys::WDFREQUEST,
    flags: sys::ULONG,
) {
    // SAFETY: the queue is live during its callback.
    let device = unsafe { wdf_call!(WdfIoQueueGetDevice, queue) };
    // SAFETY: the queue's parent device is live and was created with `C` (installation).
    let Some(context) = (unsafe { Device::context_of::<C>(device) }) else {
        return;
    };
    let Some(handle) = NonNull::new(request) else {
        return;
    };
    let purge =
        flags & sys::_WDF_REQUEST_STOP_ACTION_FLAGS::WdfRequestStopActionPurge.cast_unsigned() != 0;
    let action = if purge {
        StopAction::Purge
    } else {
        StopAction::Suspend
    };
    // SAFETY: EvtIoStop runs at <= DISPATCH_LEVEL.
    let mut cx = unsafe { UpToDispatch::new() };
    context.stop(
        &CancelledRequest {
            handle,
            _callback: PhantomData,
        },
        action,
        &mut cx,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handle for the rendezvous's bookkeeping only: nothing here calls the framework.
    fn handle(n: usize) -> NonNull<sys::WDFREQUEST__> {
        NonNull::new(core::ptr::without_provenance_mut(n * 8)).unwrap()
    }

    fn pending(n: usize) -> CancelPending {
        CancelPending { handle: handle(n) }
    }

    fn ran(n: usize) -> CancelRan {
        CancelRan { handle: handle(n) }
    }

    #[test]
    fn the_second_to_arrive_gets_the_completion_with_the_completing_paths_values() {
        let status = Status::from(Err(Error::CANCELLED));

        // The completing path first: it parks; the callback then takes the completion.
        let mut rendezvous = CancelRendezvous::default();
        assert!(
            rendezvous
                .completion_arrives(pending(1), status, 512)
                .is_none()
        );
        assert!(matches!(
            rendezvous,
            CancelRendezvous::Parked {
                information: 512,
                ..
            }
        ));
        let due = rendezvous.callback_arrives(ran(1)).unwrap();
        assert!(matches!(rendezvous, CancelRendezvous::Open));
        assert_eq!((due.request.handle, due.ran.handle), (handle(1), handle(1)));
        assert_eq!((due.status, due.information), (status, 512));

        // The callback first: it leaves its proof; the completing path then takes it.
        let mut rendezvous = CancelRendezvous::default();
        assert!(rendezvous.callback_arrives(ran(2)).is_none());
        assert!(matches!(rendezvous, CancelRendezvous::CallbackRan(_)));
        let due = rendezvous
            .completion_arrives(pending(2), status, 7)
            .unwrap();
        assert!(matches!(rendezvous, CancelRendezvous::Open));
        assert_eq!((due.request.handle, due.ran.handle), (handle(2), handle(2)));
        assert_eq!((due.status, due.information), (status, 7));
    }
}

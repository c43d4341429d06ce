//! I/O: IRPs sent by the test, the framework's queues and requests, cancellation and
//! completion (`kmdf-dma-semantics.md` §4.2, §5.2).

use std::collections::VecDeque;

use super::mem::{BlockId, Placement};
use super::objects::{DevicePower, Id, Kind};
use super::{Event, State};
use crate::mirror::constants::{
    STATUS_BUFFER_TOO_SMALL, STATUS_CANCELLED, STATUS_DEVICE_BUSY, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_INTERNAL_ERROR, STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_DEVICE_STATE,
    STATUS_SUCCESS,
};
use crate::mirror::types::{
    _WDF_DEVICE_IO_TYPE, _WDF_IO_QUEUE_DISPATCH_TYPE, _WDF_REQUEST_TYPE, NTSTATUS,
    PFN_WDF_REQUEST_CANCEL, WDF_IO_QUEUE_CONFIG,
};
use crate::verifier::Severity;

/// `STATUS_WDF_*` values the completion path translates (`wdfstatus.h`).
pub(crate) mod wdf_status {
    /// `STATUS_WDF_PAUSED`.
    pub(crate) const PAUSED: i32 = 0xC020_0203_u32.cast_signed();
    /// `STATUS_WDF_BUSY`.
    pub(crate) const BUSY: i32 = 0xC020_0204_u32.cast_signed();
    /// `STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED`.
    pub(crate) const PARENT_NOT_ALLOWED: i32 = 0xC020_020F_u32.cast_signed();
    /// `STATUS_WDF_OBJECT_ATTRIBUTES_INVALID`.
    pub(crate) const ATTRIBUTES_INVALID: i32 = 0xC020_0209_u32.cast_signed();
    /// `STATUS_WDF_SYNCHRONIZATION_SCOPE_INVALID`.
    pub(crate) const SYNCHRONIZATION_SCOPE_INVALID: i32 = 0xC020_0210_u32.cast_signed();
    /// `STATUS_WDF_EXECUTION_LEVEL_INVALID`.
    pub(crate) const EXECUTION_LEVEL_INVALID: i32 = 0xC020_0211_u32.cast_signed();
    /// `STATUS_WDF_PARENT_NOT_SPECIFIED`.
    pub(crate) const PARENT_NOT_SPECIFIED: i32 = 0xC020_0212_u32.cast_signed();
    /// `STATUS_WDF_INTERNAL_ERROR`.
    pub(crate) const INTERNAL_ERROR: i32 = 0xC020_0201_u32.cast_signed();
    /// `STATUS_WDF_NOT_ENOUGH_MAP_REGISTERS`.
    pub(crate) const NOT_ENOUGH_MAP_REGISTERS: i32 = 0xC020_0214_u32.cast_signed();
}

/// What a test asks of the device, as an application would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoOp {
    /// `ReadFile` of `len` bytes.
    Read {
        /// Bytes to read.
        len: usize,
    },
    /// `WriteFile` of these bytes.
    Write {
        /// The data.
        data: Vec<u8>,
    },
    /// `DeviceIoControl`.
    Ioctl {
        /// The IOCTL code (the method is in its low two bits).
        code: u32,
        /// Input bytes.
        input: Vec<u8>,
        /// Output buffer length.
        output_len: usize,
    },
    /// `DeviceIoControl` whose output buffer already holds data the driver reads
    /// (`METHOD_IN_DIRECT`).
    IoctlWithData {
        /// The IOCTL code.
        code: u32,
        /// Input bytes.
        input: Vec<u8>,
        /// Contents of the output buffer.
        data: Vec<u8>,
    },
}

impl IoOp {
    /// The IOCTL code, input and output length, as the driver sees a device-control request.
    pub(crate) fn ioctl_parts(&self) -> Option<(u32, &[u8], usize)> {
        match self {
            Self::Ioctl {
                code,
                input,
                output_len,
            } => Some((*code, input, *output_len)),
            Self::IoctlWithData { code, input, data } => Some((*code, input, data.len())),
            Self::Read { .. } | Self::Write { .. } => None,
        }
    }
}

/// How an IRP ended, as user mode sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoCompletion {
    /// The status the I/O manager saw (KMDF-private statuses already translated).
    pub status: NTSTATUS,
    /// `IoStatus.Information`.
    pub information: u64,
    /// The caller's output buffer after completion: read data, or IOCTL output.
    pub output: Vec<u8>,
    /// Virtual time of completion, in nanoseconds.
    pub time_ns: u64,
}

/// An I/O request packet the test sent, until it completes (its completion then waits in
/// `State::completed` until the test collects it).
pub(crate) struct Irp {
    pub(crate) op: IoOp,
    /// System buffer (buffered I/O, IOCTL input).
    pub(crate) system: Option<(BlockId, usize)>,
    /// User buffer locked for direct I/O (the MDL).
    pub(crate) user: Option<(BlockId, usize)>,
    pub(crate) request: Option<Id>,
    pub(crate) cancel: bool,
    /// A read or write on a device with neither I/O: the buffer is the caller's virtual
    /// address only (no MDL, no system buffer), kept in `system` for the simulator's access.
    pub(crate) neither: bool,
}

/// Where a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestState {
    Queued,
    Owned,
}

/// A WDFREQUEST.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent flags of the framework's request state"
)]
pub(crate) struct Request {
    pub(crate) irp: u64,
    pub(crate) queue: Id,
    pub(crate) state: RequestState,
    pub(crate) major: i32,
    pub(crate) cancel_routine: PFN_WDF_REQUEST_CANCEL,
    pub(crate) cancel_called: bool,
    /// `EvtRequestCancel` is due but has not run yet.
    pub(crate) cancel_pending: bool,
    pub(crate) irp_refs: u32,
    pub(crate) stop_acked: bool,
    /// `EvtIoStop` is running for this request (`WdfRequestStopAcknowledge` is legal).
    pub(crate) in_stop: bool,
    /// Acknowledged with `Requeue=TRUE`: goes back to the head of its queue once the queue
    /// has stopped.
    pub(crate) requeue: bool,
    pub(crate) information: u64,
}

/// A WDFQUEUE.
pub(crate) struct Queue {
    pub(crate) device: Id,
    pub(crate) config: WDF_IO_QUEUE_CONFIG,
    pub(crate) pending: VecDeque<Id>,
    pub(crate) owned: Vec<Id>,
    pub(crate) dispatch_scheduled: bool,
}

impl Queue {
    const fn sequential(&self) -> bool {
        self.config.DispatchType == _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential
    }

    const fn power_managed(&self) -> bool {
        self.config.PowerManaged != crate::mirror::types::_WDF_TRI_STATE::WdfFalse
    }
}

/// Translates KMDF-private statuses as `FxRequest::CompleteInternal` does (§5.2 step 5).
pub(crate) const fn translate(status: NTSTATUS) -> NTSTATUS {
    if status.cast_unsigned() & 0x0FFF_0000 != 0x0020_0000 {
        return status;
    }
    match status {
        wdf_status::PAUSED | wdf_status::BUSY => STATUS_DEVICE_BUSY,
        wdf_status::INTERNAL_ERROR => STATUS_INTERNAL_ERROR,
        wdf_status::NOT_ENOUGH_MAP_REGISTERS => STATUS_INSUFFICIENT_RESOURCES,
        _ => STATUS_INVALID_DEVICE_REQUEST,
    }
}

impl State {
    pub(crate) fn request(&mut self, id: Id) -> Option<&mut Request> {
        match self.obj_mut(id).map(|o| &mut o.kind) {
            Some(Kind::Request(r)) => Some(r),
            _ => None,
        }
    }

    pub(crate) fn queue_mut(&mut self, id: Id) -> Option<&mut Queue> {
        match self.obj_mut(id).map(|o| &mut o.kind) {
            Some(Kind::Queue(q)) => Some(q),
            _ => None,
        }
    }

    /// Sends an IRP to a device; returns its id.
    #[expect(clippy::needless_pass_by_value, reason = "the IRP keeps the operation")]
    #[expect(
        clippy::too_many_lines,
        reason = "buffer set-up for each kind of request, in one place"
    )]
    pub(crate) fn submit(&mut self, device: Id, op: IoOp) -> u64 {
        let id = self.next_irp;
        self.next_irp += 1;
        let io_type = match self.obj(device).map(|o| &o.kind) {
            Some(Kind::Device(d)) => d.io_type,
            _ => _WDF_DEVICE_IO_TYPE::WdfDeviceIoBuffered,
        };
        let direct = io_type == _WDF_DEVICE_IO_TYPE::WdfDeviceIoDirect;
        let (major, system, user) = match &op {
            IoOp::Read { len } => {
                let block = self.mem.alloc(*len, Placement::Scattered, &mut self.rng);
                let slot = Some((block, *len));
                (
                    _WDF_REQUEST_TYPE::WdfRequestTypeRead,
                    if direct { None } else { slot },
                    if direct { slot } else { None },
                )
            }
            IoOp::Write { data } => {
                let block = self
                    .mem
                    .alloc(data.len(), Placement::Scattered, &mut self.rng);
                self.mem.write_block(block, 0, data);
                let slot = Some((block, data.len()));
                (
                    _WDF_REQUEST_TYPE::WdfRequestTypeWrite,
                    if direct { None } else { slot },
                    if direct { slot } else { None },
                )
            }
            IoOp::Ioctl { .. } | IoOp::IoctlWithData { .. } => {
                let (code, input, output_len) = op.ioctl_parts().unwrap_or((0, &[], 0));
                let method = code & 3;
                let system_len = if method == 0 {
                    input.len().max(output_len)
                } else {
                    input.len()
                };
                let system = (system_len > 0).then(|| {
                    let block = self
                        .mem
                        .alloc(system_len, Placement::Scattered, &mut self.rng);
                    self.mem.write_block(block, 0, input);
                    (block, system_len)
                });
                let user = (method == 1 || method == 2) && output_len > 0;
                let user = user.then(|| {
                    let block = self
                        .mem
                        .alloc(output_len, Placement::Scattered, &mut self.rng);
                    if let IoOp::IoctlWithData { data, .. } = &op {
                        self.mem.write_block(block, 0, data);
                    }
                    (block, output_len)
                });
                (_WDF_REQUEST_TYPE::WdfRequestTypeDeviceControl, system, user)
            }
        };
        self.irps.insert(
            id,
            Irp {
                op: op.clone(),
                system,
                user,
                request: None,
                cancel: false,
                neither: io_type == _WDF_DEVICE_IO_TYPE::WdfDeviceIoNeither
                    && matches!(op, IoOp::Read { .. } | IoOp::Write { .. }),
            },
        );
        self.log(|| format!("IRP {id} sent: {op:?}", op = short(&op)));
        let zero = matches!(&op, IoOp::Read { len: 0 })
            || matches!(&op, IoOp::Write { data } if data.is_empty());
        let queue = match self.obj(device).map(|o| &o.kind) {
            Some(Kind::Device(d)) if d.power != DevicePower::Removed => {
                d.dispatch.get(&major).copied().or(d.default_queue)
            }
            _ => None,
        };
        let Some(queue) = queue else {
            let status = if self.obj(device).is_some() {
                STATUS_INVALID_DEVICE_REQUEST
            } else {
                crate::mirror::constants::STATUS_DEVICE_REMOVED
            };
            self.finish_irp(id, status, 0);
            return id;
        };
        let allow_zero = self
            .queue_mut(queue)
            .is_some_and(|q| q.config.AllowZeroLengthRequests != 0);
        if zero && !allow_zero {
            self.finish_irp(id, STATUS_SUCCESS, 0);
            return id;
        }
        let request = self.create(
            Kind::Request(Box::new(Request {
                irp: id,
                queue,
                state: RequestState::Queued,
                major,
                cancel_routine: None,
                cancel_called: false,
                cancel_pending: false,
                irp_refs: 0,
                stop_acked: false,
                in_stop: false,
                requeue: false,
                information: 0,
            })),
            Some(queue),
            false,
        );
        if let Some(irp) = self.irps.get_mut(&id) {
            irp.request = Some(request);
        }
        if let Some(q) = self.queue_mut(queue) {
            q.pending.push_back(request);
        }
        self.kick_queue(queue);
        id
    }

    /// Schedules presentation of a queue's requests, once.
    pub(crate) fn kick_queue(&mut self, queue: Id) {
        let Some(q) = self.queue_mut(queue) else {
            return;
        };
        if q.dispatch_scheduled || q.pending.is_empty() {
            return;
        }
        q.dispatch_scheduled = true;
        let delay = self.delay((500, 5_000));
        self.schedule(delay, Event::Dispatch(queue));
    }

    /// Takes the next request a queue may present now, if any.
    pub(crate) fn next_presentable(&mut self, queue: Id) -> Option<(Id, Queue)> {
        let device_power = {
            let device = self.queue_mut(queue)?.device;
            match self.obj(device).map(|o| &o.kind) {
                Some(Kind::Device(d)) => d.power,
                _ => return None,
            }
        };
        let q = self.queue_mut(queue)?;
        q.dispatch_scheduled = false;
        if q.power_managed() && device_power != DevicePower::D0 {
            return None;
        }
        if q.sequential() && !q.owned.is_empty() {
            return None;
        }
        let request = q.pending.pop_front()?;
        q.owned.push(request);
        let snapshot = Queue {
            device: q.device,
            config: q.config,
            pending: VecDeque::new(),
            owned: Vec::new(),
            dispatch_scheduled: false,
        };
        if let Some(r) = self.request(request) {
            r.state = RequestState::Owned;
        }
        Some((request, snapshot))
    }

    /// The IRP behind a request.
    pub(crate) fn irp_of(&mut self, request: Id) -> Option<(u64, &Irp)> {
        let irp = self.request(request)?.irp;
        self.irps.get(&irp).map(|i| (irp, i))
    }

    /// Resolves a request handle that must be driver-owned (R3).
    pub(crate) fn owned_request(&mut self, raw: usize, ddi: &'static str) -> Option<Id> {
        let id = self.resolve(raw, ddi, "WDFREQUEST")?;
        self.exercised("DoubleCompletion");
        self.exercised("InvalidReqAccess");
        let state = self.request(id).map(|r| r.state);
        if state != Some(RequestState::Owned) {
            self.finding(
                "R3",
                Severity::Error,
                format!("{ddi}: request {raw:#x} is not owned by the driver"),
            );
            return None;
        }
        Some(id)
    }

    /// `WdfRequestCompleteWithInformation` (and `WdfRequestComplete` with the stored value).
    pub(crate) fn complete_request(
        &mut self,
        raw: usize,
        status: NTSTATUS,
        information: Option<u64>,
    ) {
        let Some(id) = self.owned_request(raw, "WdfRequestCompleteWithInformation") else {
            return;
        };
        self.exercised("CompleteCanceledReq");
        self.exercised("ReqNotCanceledLocal");
        let Some(request) = self.request(id) else {
            return;
        };
        let info = information.unwrap_or(request.information);
        let (irp_id, refs, cancelable, queue, major, cancel_pending) = (
            request.irp,
            request.irp_refs,
            request.cancel_routine.is_some(),
            request.queue,
            request.major,
            request.cancel_pending,
        );
        if cancel_pending {
            self.finding(
                "R5",
                Severity::Fatal,
                format!("request {raw:#x} completed while its EvtRequestCancel is still due (WdfRequestUnmarkCancelable returned STATUS_CANCELLED): the callback would receive a freed request"),
            );
            return;
        }
        if self.called_from("EvtDeviceSurpriseRemoval") {
            // EvtDeviceSurpriseRemoval is not synchronised with the power-down path: the
            // queue's EvtIoStop, a DPC or a cancel callback may be completing the same request.
            self.compliance_finding(
                "EvtSurpriseRemoveNoRequestComplete",
                format!("request {raw:#x} completed from EvtDeviceSurpriseRemoval (complete requests from EvtIoStop or the self-managed I/O callbacks instead)"),
            );
            if translate(status) == STATUS_CANCELLED {
                self.compliance_finding(
                    "NoCancelFromEvtSurpriseRemove",
                    format!("request {raw:#x} cancelled (completed with STATUS_CANCELLED) from EvtDeviceSurpriseRemoval"),
                );
            }
        }
        if refs > 0 {
            self.finding(
                "R2",
                Severity::Fatal,
                format!("request {raw:#x} completed while a DMA transaction holds {refs} reference(s) on its IRP (bugcheck 0x10D/0x3)"),
            );
            return;
        }
        // The request being cancelled lost its cancel routine when its IRP was cancelled, so
        // this fires for any other request still cancelable, inside EvtRequestCancel or not.
        if cancelable {
            self.finding(
                "R4",
                Severity::Error,
                format!("request {raw:#x} completed while still cancelable"),
            );
        }
        let length = self.irps.get(&irp_id).map_or(0, |irp| match &irp.op {
            IoOp::Read { len } => *len as u64,
            IoOp::Write { data } | IoOp::IoctlWithData { data, .. } => data.len() as u64,
            IoOp::Ioctl { output_len, .. } => *output_len as u64,
        });
        let checked = major != _WDF_REQUEST_TYPE::WdfRequestTypeDeviceControl || length > 0;
        if status >= 0 && checked && info > length {
            self.finding(
                "R8",
                Severity::Fatal,
                format!("request {raw:#x} completed with success and Information {info} > buffer length {length} (bugcheck 0x10D/0x6)"),
            );
            return;
        }
        let buffered = self.irps.get(&irp_id).is_some_and(|irp| matches!(irp.op, IoOp::Ioctl { code, .. } | IoOp::IoctlWithData { code, .. } if code % 4 == 0));
        if buffered && length == 0 && info != 0 {
            self.finding(
                "R9",
                Severity::Error,
                format!("IOCTL with no output buffer completed with Information {info}"),
            );
        }
        if let Some(q) = self.queue_mut(queue) {
            q.owned.retain(|r| *r != id);
        }
        self.remove(id);
        self.finish_irp(irp_id, translate(status), info);
        self.kick_queue(queue);
    }

    /// Completes an IRP towards user mode: copies back buffered output, frees its buffers and
    /// its record, and keeps only the result until the test collects it.
    pub(crate) fn finish_irp(&mut self, irp_id: u64, status: NTSTATUS, information: u64) {
        let now = self.now;
        let Some(irp) = self.irps.remove(&irp_id) else {
            return;
        };
        let (system, user) = (irp.system, irp.user);
        let out_len = match &irp.op {
            IoOp::Read { len } => *len,
            IoOp::Ioctl { output_len, .. } => *output_len,
            IoOp::Write { .. } | IoOp::IoctlWithData { .. } => 0,
        };
        let source = match &irp.op {
            IoOp::Ioctl { code, .. } if code % 4 == 0 => system,
            IoOp::Ioctl { .. } => user,
            IoOp::Read { .. } => user.or(system),
            IoOp::Write { .. } | IoOp::IoctlWithData { .. } => None,
        };
        // The I/O manager copies a buffered IOCTL's output back only when the status is not an
        // error (NT_ERROR: severity bits 11).
        let copy = if matches!(irp.op, IoOp::Ioctl { code, .. } if code % 4 == 0) {
            if status.cast_unsigned() >> 30 == 3 {
                0
            } else {
                usize::try_from(information).unwrap_or(0).min(out_len)
            }
        } else {
            out_len
        };
        let output = source
            .and_then(|(block, _)| self.mem.read_block(block, 0, copy))
            .unwrap_or_default();
        for (block, _) in [system, user].into_iter().flatten() {
            self.mem.free(block);
        }
        self.completed.insert(
            irp_id,
            IoCompletion {
                status,
                information,
                output,
                time_ns: now,
            },
        );
        self.stats.completions += 1;
        self.log(|| {
            format!("IRP {irp_id} completed: status {status:#010x}, information {information}")
        });
    }

    /// Marks `request` as being in its `EvtIoStop` (or no longer, with `inside` false).
    pub(crate) fn set_in_stop(&mut self, request: Id, inside: bool) {
        if let Some(r) = self.request(request) {
            r.in_stop = inside;
        }
    }

    /// After `EvtIoStop` returned for `request`: it must have been completed or acknowledged
    /// there (`EvtIoStopCompleteOrStopAck`; `EvtIoStopCancel` for a request that was not
    /// cancelable).
    pub(crate) fn io_stop_returned(&mut self, request: Id, cancelable: bool) {
        self.set_in_stop(request, false);
        self.exercised("EvtIoStopCompleteOrStopAck");
        if !cancelable {
            self.exercised("EvtIoStopCancel");
        }
        let Some(r) = self.request(request) else {
            // Completed inside EvtIoStop.
            return;
        };
        if r.stop_acked || r.cancel_pending {
            return;
        }
        let raw = super::objects::handle(request);
        self.compliance_finding(
            "EvtIoStopCompleteOrStopAck",
            format!("EvtIoStop returned without completing or acknowledging request {raw:#x} (WdfRequestStopAcknowledge)"),
        );
        if !cancelable {
            self.compliance_finding(
                "EvtIoStopCancel",
                format!("EvtIoStop returned without completing or acknowledging request {raw:#x}, which is not cancelable: nothing but the driver's own completion ends it"),
            );
        }
    }

    /// After the `EvtIoStop` round of a power-down (`DrvAckIoStop`): every request the driver
    /// owns from a power-managed queue must be acknowledged or completed by now, or the
    /// power-down waits on the driver's own completion (on Windows, bugcheck 0x9F if it never
    /// comes).
    /// `presented` is how many requests the driver owned when the power-down began (the
    /// rule is exercised when there were any).
    pub(crate) fn check_stop_acknowledged(&mut self, device: Id, presented: usize) {
        if presented == 0 {
            return;
        }
        self.exercised("DrvAckIoStop");
        let owned = super::engine::owned_requests(self, device);
        let mut unacknowledged = Vec::new();
        let mut unaware = 0;
        for (queue, request) in owned {
            let has_stop = self
                .queue_mut(queue)
                .is_some_and(|q| q.config.EvtIoStop.is_some());
            if let Some(r) = self.request(request)
                && !r.stop_acked
                && !r.cancel_pending
            {
                unacknowledged.push(format!("{:#x}", super::objects::handle(request)));
                unaware += usize::from(!has_stop);
            }
        }
        if !unacknowledged.is_empty() {
            self.compliance_finding(
                "DrvAckIoStop",
                format!(
                    "power-down: {} request(s) owned by the driver neither acknowledged nor completed in EvtIoStop ({}){}; the power transition waits for the driver's own completion",
                    unacknowledged.len(),
                    unacknowledged.join(", "),
                    if unaware > 0 {
                        format!(", {unaware} of them from a queue with no EvtIoStop")
                    } else {
                        String::new()
                    }
                ),
            );
        }
    }

    /// The test cancels an IRP (`CancelIoEx`).
    pub(crate) fn cancel_irp(&mut self, irp_id: u64) -> Option<(Id, PFN_WDF_REQUEST_CANCEL)> {
        // A completed IRP is no longer here: cancelling it does nothing.
        let irp = self.irps.get_mut(&irp_id)?;
        irp.cancel = true;
        let request = irp.request?;
        let (state, queue, routine) = {
            let r = self.request(request)?;
            (r.state, r.queue, r.cancel_routine)
        };
        match state {
            RequestState::Queued => {
                if let Some(q) = self.queue_mut(queue) {
                    q.pending.retain(|r| *r != request);
                }
                self.remove(request);
                self.finish_irp(irp_id, STATUS_CANCELLED, 0);
                None
            }
            RequestState::Owned if routine.is_some() => {
                if let Some(r) = self.request(request) {
                    r.cancel_routine = None;
                    r.cancel_called = true;
                }
                Some((request, routine))
            }
            RequestState::Owned => None,
        }
    }

    /// `WdfRequestMarkCancelableEx`.
    pub(crate) fn mark_cancelable(
        &mut self,
        raw: usize,
        routine: PFN_WDF_REQUEST_CANCEL,
    ) -> NTSTATUS {
        let Some(id) = self.owned_request(raw, "WdfRequestMarkCancelableEx") else {
            return STATUS_INVALID_DEVICE_REQUEST;
        };
        self.exercised("MarkCancOnCancReqLocal");
        if routine.is_none() {
            self.finding(
                "NULLARG",
                Severity::Fatal,
                "WdfRequestMarkCancelableEx: EvtRequestCancel is NULL".into(),
            );
            return STATUS_INVALID_DEVICE_REQUEST;
        }
        let irp = self.request(id).map(|r| r.irp);
        let cancelled = irp
            .and_then(|i| self.irps.get(&i))
            .is_some_and(|i| i.cancel);
        let Some(r) = self.request(id) else {
            return STATUS_INVALID_DEVICE_REQUEST;
        };
        if r.cancel_routine.is_some() {
            self.finding(
                "R6",
                Severity::Error,
                format!("WdfRequestMarkCancelableEx: request {raw:#x} is already cancelable"),
            );
            return STATUS_INVALID_DEVICE_REQUEST;
        }
        if cancelled {
            return STATUS_CANCELLED;
        }
        r.cancel_routine = routine;
        r.cancel_called = false;
        STATUS_SUCCESS
    }

    /// `WdfRequestUnmarkCancelable`.
    pub(crate) fn unmark_cancelable(&mut self, raw: usize) -> NTSTATUS {
        let Some(id) = self.owned_request(raw, "WdfRequestUnmarkCancelable") else {
            return STATUS_INVALID_DEVICE_REQUEST;
        };
        let Some(r) = self.request(id) else {
            return STATUS_INVALID_DEVICE_REQUEST;
        };
        if r.cancel_routine.is_some() {
            r.cancel_routine = None;
            return STATUS_SUCCESS;
        }
        if r.cancel_called {
            return STATUS_CANCELLED;
        }
        self.finding(
            "D13/R5",
            Severity::Error,
            format!("WdfRequestUnmarkCancelable: request {raw:#x} is not cancelable"),
        );
        STATUS_INVALID_DEVICE_REQUEST
    }

    /// `WdfRequestRetrieveInputBuffer` / `WdfRequestRetrieveOutputBuffer`.
    pub(crate) fn retrieve_buffer(
        &mut self,
        raw: usize,
        output: bool,
        minimum: usize,
    ) -> Result<(*mut u8, usize), NTSTATUS> {
        let ddi = if output {
            "WdfRequestRetrieveOutputBuffer"
        } else {
            "WdfRequestRetrieveInputBuffer"
        };
        let (rule, callback) = if output {
            ("OutputBufferAPI", "EvtIoWrite")
        } else {
            ("InputBufferAPI", "EvtIoRead")
        };
        if self.called_from(callback) {
            self.compliance_finding(
                rule,
                format!(
                    "{ddi} called from {callback}: a {} request has no {} buffer",
                    if output { "write" } else { "read" },
                    if output { "output" } else { "input" }
                ),
            );
        }
        let id = self
            .owned_request(raw, ddi)
            .ok_or(STATUS_INVALID_DEVICE_REQUEST)?;
        let (_, irp) = self.irp_of(id).ok_or(STATUS_INVALID_DEVICE_REQUEST)?;
        let (slot, len) = match (&irp.op, output) {
            (IoOp::Read { len }, true) => (irp.user.or(irp.system), *len),
            (IoOp::Write { data }, false) => (irp.user.or(irp.system), data.len()),
            (IoOp::Read { .. }, false) | (IoOp::Write { .. }, true) => {
                return Err(STATUS_INVALID_DEVICE_REQUEST);
            }
            (op, output) => {
                let (code, input, output_len) = op.ioctl_parts().unwrap_or((0, &[], 0));
                match (code & 3, output) {
                    (3, _) => return Err(STATUS_INVALID_DEVICE_REQUEST),
                    (_, false) => (irp.system, input.len()),
                    (0, true) => (irp.system, output_len),
                    (_, true) => (irp.user, output_len),
                }
            }
        };
        if len == 0 || len < minimum {
            return Err(STATUS_BUFFER_TOO_SMALL);
        }
        let (block, _) = slot.ok_or(STATUS_BUFFER_TOO_SMALL)?;
        let va = self
            .mem
            .block(block)
            .map(super::mem::Block::va)
            .ok_or(STATUS_INVALID_DEVICE_STATE)?;
        Ok((va, len))
    }
}

/// A one-line description of an operation for traces.
pub(crate) fn short(op: &IoOp) -> String {
    match op {
        IoOp::Read { len } => format!("read {len} bytes"),
        IoOp::Write { data } => format!("write {} bytes", data.len()),
        IoOp::Ioctl {
            code,
            input,
            output_len,
        } => {
            format!("ioctl {code:#010x} in {} out {output_len}", input.len())
        }
        IoOp::IoctlWithData { code, input, data } => {
            format!(
                "ioctl {code:#010x} in {} with {} data bytes",
                input.len(),
                data.len()
            )
        }
    }
}

//! The event loop, calls into the driver, and the PnP/power sequences.
//!
//! Every call into the driver goes through [`at_irql`], which sets the IRQL the callback is
//! documented to run at, names the callback for findings, and checks on return that the
//! callback left at the same IRQL holding no lock it did not hold on entry (rule T16, LOCK).

use super::objects::{DevicePower, Id, Kind, handle};
use super::sched::{self, Schedule};
use super::{Event, Irql, State, dma, with};
use crate::mirror::constants::STATUS_SUCCESS;
use crate::mirror::types::{
    _WDF_POWER_DEVICE_STATE, _WDF_REQUEST_STOP_ACTION_FLAGS, _WDF_REQUEST_TYPE,
    CM_PARTIAL_RESOURCE_DESCRIPTOR, NTSTATUS, PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE,
    PFN_WDF_PROGRAM_DMA, PFN_WDF_REQUEST_CANCEL, SCATTER_GATHER_ELEMENT, SCATTER_GATHER_LIST,
    WDFCMRESLIST, WDFCONTEXT, WDFDEVICE, WDFDMATRANSACTION, WDFINTERRUPT, WDFQUEUE, WDFREQUEST,
    WDFTIMER,
};
use crate::verifier::Severity;

/// Runs `f` as a callback named `name` at `irql`.
///
/// Called from the test's stack while the machine schedules several processors, the callback becomes an activity of its own (see
/// [`sched`]); inside an activity (a callback the framework makes from a DDI, such as
/// `EvtProgramDma` from `WdfDmaTransactionExecute`) it runs on the calling processor.
pub(crate) fn at_irql<R>(irql: Irql, name: &'static str, f: impl FnOnce() -> R) -> R {
    if sched::needs_activity() {
        #[expect(
            clippy::panic,
            reason = "the callback can never return: the DEADLOCK finding says why"
        )]
        return sched::run_activity(name, || {
            // An activity that nests on a busy processor (an ISR, a DPC, a grant preempting a
            // thread) is not called *from* the callback below it: mark the boundary.
            with(|s| s.context.push(super::ACTIVITY_BOUNDARY));
            let result = run_at(irql, name, f);
            with(|s| s.context.pop());
            result
        })
        .unwrap_or_else(|| panic!("kmdf-sim: {name} deadlocked (see the DEADLOCK finding)"));
    }
    run_at(irql, name, f)
}

/// Runs `f` on the running processor as a callback named `name` at `irql`.
fn run_at<R>(irql: Irql, name: &'static str, f: impl FnOnce() -> R) -> R {
    let (saved, depth) = with(|s| {
        let saved = s.irql;
        s.irql = irql;
        s.context.push(name);
        s.log(|| format!("-> {name}"));
        (saved, s.held.len())
    });
    let result = f();
    with(|s| {
        s.log(|| format!("<- {name}"));
        if s.held.len() > depth {
            s.finding(
                "LOCK",
                Severity::Fatal,
                format!("{name} returned holding {} lock(s)", s.held.len() - depth),
            );
            s.held.truncate(depth);
        } else if s.irql != irql {
            let now = s.irql;
            s.finding(
                "T16",
                Severity::Fatal,
                format!("{name} entered at {irql:?} and returned at {now:?}"),
            );
        }
        s.irql = saved;
        s.context.pop();
    });
    result
}

/// Calls `EvtProgramDma` with a scatter/gather list built for the call, and returns the list's
/// storage: the caller decides how long it lives (T15) and poisons it with [`poison_list`].
pub(crate) fn call_program_dma(
    program: PFN_WDF_PROGRAM_DMA,
    transaction: usize,
    device: usize,
    context: usize,
    direction: i32,
    elements: &[SCATTER_GATHER_ELEMENT],
) -> Vec<u64> {
    let Some(program) = program else {
        return Vec::new();
    };
    // SCATTER_GATHER_LIST header (16 bytes) followed by the elements, 8-byte aligned.
    let words = 2 + 3 * elements.len();
    let mut storage = vec![0u64; words];
    let list = storage.as_mut_ptr().cast::<SCATTER_GATHER_LIST>();
    // The header is 16 bytes: the elements start at word 2 (`Elements` is at offset 16).
    let first = storage
        .as_mut_ptr()
        .wrapping_add(2)
        .cast::<SCATTER_GATHER_ELEMENT>();
    // SAFETY: `storage` is 8-byte aligned and large enough for the header; `list` points at it.
    unsafe { (*list).NumberOfElements = u32::try_from(elements.len()).unwrap_or(0) };
    // SAFETY: `first..first + len` lies inside `storage` (3 words per element after the header).
    unsafe { std::ptr::copy_nonoverlapping(elements.as_ptr(), first, elements.len()) };
    // SAFETY: `program` is the driver's EvtProgramDma registered with this transaction; the
    // handles are live framework handles; `list` is valid for the duration of the call.
    let _started = unsafe {
        program(
            transaction as WDFDMATRANSACTION,
            device as WDFDEVICE,
            context as WDFCONTEXT,
            direction,
            list,
        )
    };
    storage
}

/// Ends a scatter/gather list's life (T15): poisoned so a pointer the driver kept reads garbage
/// rather than a plausible list, then freed.
pub(crate) fn poison_list(mut storage: Vec<u64>) {
    storage.fill(0xDEAD_BEEF_DEAD_BEEF);
}

/// Calls `EvtDmaTransactionDmaTransferComplete`.
pub(crate) fn call_transfer_complete(
    callback: PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE,
    transaction: usize,
    device: usize,
    context: usize,
    direction: i32,
    status: i32,
) {
    if let Some(callback) = callback {
        // SAFETY: the driver registered `callback` for this transaction with
        // WdfDmaTransactionSetTransferCompleteCallback; the handles are live.
        unsafe {
            callback(
                transaction as WDFDMATRANSACTION,
                device as WDFDEVICE,
                context as WDFCONTEXT,
                direction,
                status,
            );
        }
    }
}

/// Runs one event (with several processors: one slice of an activity, or the start of the
/// next event); false when nothing is left or the machine halted.
pub(crate) fn step() -> bool {
    if with(|s| s.sched.schedule != Schedule::Serial) {
        return sched::step();
    }
    let next = with(|s| {
        if s.halted {
            return None;
        }
        let (&key, _) = s.queue.iter().next()?;
        let event = s.queue.remove(&key)?;
        s.now = s.now.max(key.0);
        Some(event)
    });
    let Some(event) = next else { return false };
    handle_event(event);
    true
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "events are consumed as they are handled"
)]
pub(crate) fn handle_event(event: Event) {
    match event {
        Event::Dispatch(queue) => present(queue),
        Event::Isr { interrupt, message } => isr(interrupt, message),
        Event::Dpc(interrupt) => dpc(interrupt),
        Event::Timer { timer, generation } => timer_fired(timer, generation),
        Event::Device {
            hw,
            token,
            controller,
        } => with(|s| s.device_timer(hw, token, controller)),
        Event::Grant { tx, generation } => dma::grant(tx, generation),
        Event::Cancel { irp } => cancel(irp),
        Event::CancelCallback { request, routine } => cancel_callback(request, routine),
        Event::SystemDone {
            tx,
            generation,
            status,
            bytes,
        } => dma::system_done(tx, generation, status, bytes),
    }
}

/// When the machine next has something to do: now while an activity is in flight, else the
/// time of the next event.
pub(crate) fn next_time() -> Option<u64> {
    with(|s| {
        if s.sched.busy() {
            Some(s.now)
        } else {
            s.queue.keys().next().map(|k| k.0)
        }
    })
}

/// Presents the next request of a queue to the driver.
fn present(queue: Id) {
    let call = with(|s| {
        let (request, q) = s.next_presentable(queue)?;
        let (irp, op) = s.irp_of(request).map(|(i, irp)| (i, irp.op.clone()))?;
        let irql = if s.rng.chance(s.policy.dispatch_io_percent, 100) {
            Irql::Dispatch
        } else {
            Irql::Passive
        };
        s.log(|| format!("present IRP {irp} ({}) at {irql:?}", super::io::short(&op)));
        s.kick_queue(queue);
        Some((request, q, op, irql))
    });
    let Some((request, q, op, irql)) = call else {
        return;
    };
    let (qh, rh) = (handle(queue) as WDFQUEUE, handle(request) as WDFREQUEST);
    let config = q.config;
    // The Microsoft rules scoped to one of these callbacks (InputBufferAPI, OutputBufferAPI)
    // look for its name in the context.
    let name = match op {
        super::io::IoOp::Read { .. } => "EvtIoRead",
        super::io::IoOp::Write { .. } => "EvtIoWrite",
        _ => "EvtIoDeviceControl",
    };
    with(|s| match name {
        "EvtIoRead" => s.exercised("InputBufferAPI"),
        "EvtIoWrite" => s.exercised("OutputBufferAPI"),
        _ => {}
    });
    at_irql(irql, name, || match op {
        super::io::IoOp::Read { len } => match config.EvtIoRead.or(None) {
            // SAFETY: the driver registered this callback in WDF_IO_QUEUE_CONFIG; the
            // handles are the queue and a request it owns from now on.
            Some(f) => unsafe { f(qh, rh, len) },
            None => unhandled(request),
        },
        super::io::IoOp::Write { data } => match config.EvtIoWrite {
            // SAFETY: as above.
            Some(f) => unsafe { f(qh, rh, data.len()) },
            None => unhandled(request),
        },
        op @ (super::io::IoOp::Ioctl { .. } | super::io::IoOp::IoctlWithData { .. }) => {
            let (code, input, output_len) = op.ioctl_parts().unwrap_or((0, &[], 0));
            match config.EvtIoDeviceControl {
                // SAFETY: as above.
                Some(f) => unsafe { f(qh, rh, output_len, input.len(), code) },
                None => unhandled(request),
            }
        }
    });
}

/// A request type the queue has no callback for: the framework fails it.
fn unhandled(request: Id) {
    with(|s| {
        s.complete_request(
            handle(request),
            crate::mirror::constants::STATUS_INVALID_DEVICE_REQUEST,
            Some(0),
        );
    });
}

fn isr(interrupt: Id, message: u32) {
    let call = with(|s| {
        let Some(Kind::Interrupt(i)) = s.obj_mut(interrupt).map(|o| &mut o.kind) else {
            return None;
        };
        i.isr_pending = false;
        if !i.connected {
            return None;
        }
        let isr = i.isr;
        s.stats.isr_calls += 1;
        Some(isr)
    });
    let Some(call) = call else { return };
    // The ISR runs holding its interrupt's lock: it spins while another processor holds it.
    if !sched::wait_for(interrupt) {
        return;
    }
    with(|s| {
        if let Some(Kind::Interrupt(i)) = s.obj_mut(interrupt).map(|o| &mut o.kind) {
            i.lock_held = true;
        }
        s.lock_owned(interrupt);
    });
    let claimed = at_irql(Irql::Dirql, "EvtInterruptIsr", || match call {
        // SAFETY: the driver registered this ISR with WdfInterruptCreate; the handle is live.
        Some(isr) => unsafe { isr(handle(interrupt) as WDFINTERRUPT, message) },
        None => 0,
    });
    with(|s| {
        s.lock_released(interrupt);
        let device = match s.obj_mut(interrupt).map(|o| &mut o.kind) {
            Some(Kind::Interrupt(i)) => {
                i.lock_held = false;
                i.device
            }
            _ => return,
        };
        let hw = match s.obj(device).map(|o| &o.kind) {
            Some(Kind::Device(d)) => d.hw,
            _ => return,
        };
        let level = s.hw.get(hw).is_some_and(|h| !h.msi && h.intx);
        let limit = s.policy.storm_limit;
        let Some(Kind::Interrupt(i)) = s.obj_mut(interrupt).map(|o| &mut o.kind) else {
            return;
        };
        if level {
            i.storm += 1;
            if i.storm > limit {
                s.finding(
                    "STORM",
                    Severity::Fatal,
                    format!(
                        "interrupt line still asserted after {limit} ISR runs (claimed: {})",
                        claimed != 0
                    ),
                );
                return;
            }
            s.raise_interrupt(hw);
        } else {
            i.storm = 0;
        }
    });
}

fn dpc(interrupt: Id) {
    let call = with(|s| {
        let Some(Kind::Interrupt(i)) = s.obj_mut(interrupt).map(|o| &mut o.kind) else {
            return None;
        };
        i.dpc_queued = false;
        let (dpc, device) = (i.dpc, i.device);
        s.stats.dpc_calls += 1;
        Some((dpc, device))
    });
    let Some((Some(dpc), device)) = call else {
        return;
    };
    at_irql(Irql::Dispatch, "EvtInterruptDpc", || {
        // SAFETY: the driver registered this DPC with WdfInterruptCreate; handles are live.
        unsafe {
            dpc(
                handle(interrupt) as WDFINTERRUPT,
                handle(device) as crate::mirror::types::WDFOBJECT,
            );
        };
    });
}

fn timer_fired(timer: Id, generation: u64) {
    let call = with(|s| {
        let Some(Kind::Timer(t)) = s.obj_mut(timer).map(|o| &mut o.kind) else {
            return None;
        };
        if t.generation != generation || !t.queued {
            return None;
        }
        if t.running {
            // KMDF never runs a timer's callback concurrently with itself: the expiry waits
            // until the running callback returns on its processor.
            s.schedule(1_000, Event::Timer { timer, generation });
            return None;
        }
        t.queued = false;
        t.running = true;
        Some((t.callback, t.period_ms))
    });
    let Some((callback, period)) = call else {
        return;
    };
    at_irql(Irql::Dispatch, "EvtTimerFunc", || {
        if let Some(callback) = callback {
            // SAFETY: the driver registered this callback with WdfTimerCreate.
            unsafe { callback(handle(timer) as WDFTIMER) };
        }
    });
    with(|s| {
        if let Some(Kind::Timer(t)) = s.obj_mut(timer).map(|o| &mut o.kind) {
            t.running = false;
            if period > 0 && !t.queued {
                t.queued = true;
                t.generation += 1;
                let generation = t.generation;
                s.schedule(
                    u64::from(period) * 1_000_000,
                    Event::Timer { timer, generation },
                );
            }
        }
    });
}

fn cancel(irp: u64) {
    let Some((request, Some(routine))) = with(|s| s.cancel_irp(irp)) else {
        return;
    };
    // The cancel routine may be on its way on another processor: from here until it runs,
    // WdfRequestUnmarkCancelable returns STATUS_CANCELLED and the request is not the driver's
    // to complete.
    let deferred = with(|s| {
        if !s.rng.chance(s.policy.deferred_cancel_percent, 100) {
            return false;
        }
        if let Some(r) = s.request(request) {
            r.cancel_pending = true;
        }
        let delay = s.delay(s.policy.cancel_latency_ns);
        s.schedule(
            delay,
            Event::CancelCallback {
                request,
                routine: Some(routine),
            },
        );
        true
    });
    if !deferred {
        cancel_callback(request, Some(routine));
    }
}

/// Calls `EvtRequestCancel` for a request whose IRP was cancelled.
fn cancel_callback(request: Id, routine: PFN_WDF_REQUEST_CANCEL) {
    let Some(routine) = routine else { return };
    let present = with(|s| {
        s.request(request)
            .map(|r| r.cancel_pending = false)
            .is_some()
    });
    if !present {
        // The completion that freed it was reported as R5 already.
        return;
    }
    let irql = with(|s| {
        if s.rng.chance(1, 2) {
            Irql::Dispatch
        } else {
            Irql::Passive
        }
    });
    at_irql(irql, "EvtRequestCancel", || {
        // SAFETY: the driver registered `routine` with WdfRequestMarkCancelableEx for this
        // request, which it still owns.
        unsafe { routine(handle(request) as WDFREQUEST) };
    });
}

/// Calls an `NTSTATUS (WDFDEVICE, …)` PnP/power callback at PASSIVE_LEVEL.
fn pnp_call(name: &'static str, f: impl FnOnce() -> NTSTATUS) -> NTSTATUS {
    at_irql(Irql::Passive, name, f)
}

/// The device's PnP callbacks and hardware index.
fn device_info(device: Id) -> Option<(crate::mirror::types::WDF_PNPPOWER_EVENT_CALLBACKS, usize)> {
    with(|s| match s.obj(device).map(|o| &o.kind) {
        Some(Kind::Device(d)) => Some((d.pnp, d.hw)),
        _ => None,
    })
}

fn set_power(device: Id, power: DevicePower) {
    with(|s| {
        if let Some(Kind::Device(d)) = s.obj_mut(device).map(|o| &mut o.kind) {
            d.power = power;
            // KMDF enables the device's interfaces once it has started (they stay enabled
            // across stops and power-downs; removal disables them, see `surprise_removal`,
            // and an orderly removal deletes the device).
            if power == DevicePower::D0 {
                d.interfaces_enabled = true;
            }
        }
    });
}

/// Prepare hardware, then enter D0 (the start sequence).
pub(crate) fn start(device: Id) -> NTSTATUS {
    let Some((pnp, hw)) = device_info(device) else {
        return crate::mirror::constants::STATUS_INVALID_DEVICE_STATE;
    };
    let (raw, translated) = with(|s| {
        let resources: Vec<CM_PARTIAL_RESOURCE_DESCRIPTOR> =
            s.hw.get(hw)
                .map(|h| h.resources.clone())
                .unwrap_or_default();
        let raw = s.create(
            Kind::ResList {
                descriptors: resources.clone(),
            },
            Some(device),
            false,
        );
        let translated = s.create(
            Kind::ResList {
                descriptors: resources,
            },
            Some(device),
            false,
        );
        if let Some(Kind::Device(d)) = s.obj_mut(device).map(|o| &mut o.kind) {
            d.resources = Some((raw, translated));
        }
        (raw, translated)
    });
    let status = match pnp.EvtDevicePrepareHardware {
        // SAFETY: registered by the driver in WDF_PNPPOWER_EVENT_CALLBACKS; handles are live.
        Some(f) => pnp_call("EvtDevicePrepareHardware", || unsafe {
            f(
                handle(device) as WDFDEVICE,
                handle(raw) as WDFCMRESLIST,
                handle(translated) as WDFCMRESLIST,
            )
        }),
        None => STATUS_SUCCESS,
    };
    if status < 0 {
        return status;
    }
    set_power(device, DevicePower::Prepared);
    d0_entry(device, _WDF_POWER_DEVICE_STATE::WdfPowerDeviceD3Final)
}

/// D0 entry: `EvtDeviceD0Entry`, connect interrupts, post-interrupt callback, queues resume.
pub(crate) fn d0_entry(device: Id, previous: i32) -> NTSTATUS {
    let Some((pnp, hw)) = device_info(device) else {
        return crate::mirror::constants::STATUS_INVALID_DEVICE_STATE;
    };
    if let Some(f) = pnp.EvtDeviceD0Entry {
        // SAFETY: registered by the driver; the device handle is live.
        let status = pnp_call("EvtDeviceD0Entry", || unsafe {
            f(handle(device) as WDFDEVICE, previous)
        });
        if status < 0 {
            return status;
        }
    }
    with(|s| {
        for interrupt in interrupts_of(s, device) {
            if let Some(Kind::Interrupt(i)) = s.obj_mut(interrupt).map(|o| &mut o.kind) {
                i.connected = true;
            }
        }
        if s.hw.get(hw).is_some_and(|h| h.intx && !h.msi) {
            s.raise_interrupt(hw);
        }
    });
    if let Some(f) = pnp.EvtDeviceD0EntryPostInterruptsEnabled {
        // SAFETY: registered by the driver; the device handle is live.
        let status = pnp_call("EvtDeviceD0EntryPostInterruptsEnabled", || unsafe {
            f(handle(device) as WDFDEVICE, previous)
        });
        if status < 0 {
            return status;
        }
    }
    set_power(device, DevicePower::D0);
    with(|s| {
        for queue in queues_of(s, device) {
            s.kick_queue(queue);
        }
    });
    STATUS_SUCCESS
}

fn interrupts_of(s: &State, device: Id) -> Vec<Id> {
    match s.obj(device).map(|o| &o.kind) {
        Some(Kind::Device(d)) => d.interrupts.clone(),
        _ => Vec::new(),
    }
}

fn queues_of(s: &State, device: Id) -> Vec<Id> {
    match s.obj(device).map(|o| &o.kind) {
        Some(Kind::Device(d)) => d.queues.clone(),
        _ => Vec::new(),
    }
}

/// Requests the driver owns from the device's power-managed queues.
pub(crate) fn owned_requests(s: &mut State, device: Id) -> Vec<(Id, Id)> {
    let mut out = Vec::new();
    for queue in queues_of(s, device) {
        if let Some(q) = s.queue_mut(queue)
            && q.config.PowerManaged != crate::mirror::types::_WDF_TRI_STATE::WdfFalse
        {
            out.extend(q.owned.iter().map(|r| (queue, *r)));
        }
    }
    out
}

/// Leaves D0: stop power-managed queues (EvtIoStop for owned requests, then wait until each
/// is completed or acknowledged), disconnect interrupts, `EvtDeviceD0Exit`.
pub(crate) fn d0_exit(device: Id, target: i32, purge: bool, wait_ns: u64) -> NTSTATUS {
    let Some((pnp, _)) = device_info(device) else {
        return crate::mirror::constants::STATUS_INVALID_DEVICE_STATE;
    };
    set_power(device, DevicePower::Prepared);
    if purge {
        with(|s| {
            for queue in queues_of(s, device) {
                let pending: Vec<Id> = s
                    .queue_mut(queue)
                    .map(|q| q.pending.drain(..).collect())
                    .unwrap_or_default();
                for request in pending {
                    let irp = match s.obj(request).map(|o| &o.kind) {
                        Some(Kind::Request(r)) => r.irp,
                        _ => continue,
                    };
                    s.remove(request);
                    s.finish_irp(irp, crate::mirror::constants::STATUS_CANCELLED, 0);
                }
            }
        });
    }
    let action = if purge {
        _WDF_REQUEST_STOP_ACTION_FLAGS::WdfRequestStopActionPurge
    } else {
        _WDF_REQUEST_STOP_ACTION_FLAGS::WdfRequestStopActionSuspend
    };
    let owned = with(|s| owned_requests(s, device));
    let presented = owned.len();
    for (queue, request) in owned {
        let (stop, cancelable) = with(|s| {
            let stop = s.queue_mut(queue).and_then(|q| q.config.EvtIoStop);
            let cancelable = matches!(s.obj(request).map(|o| &o.kind), Some(Kind::Request(r)) if r.cancel_routine.is_some());
            (stop, cancelable)
        });
        let flags = action
            | if cancelable {
                _WDF_REQUEST_STOP_ACTION_FLAGS::WdfRequestStopRequestCancelable
            } else {
                0
            };
        if let Some(stop) = stop {
            with(|s| s.set_in_stop(request, true));
            at_irql(Irql::Dispatch, "EvtIoStop", || {
                // SAFETY: registered by the driver in its queue configuration; the request is
                // one the driver owns from that queue.
                unsafe {
                    stop(
                        handle(queue) as WDFQUEUE,
                        handle(request) as WDFREQUEST,
                        flags.cast_unsigned(),
                    );
                };
            });
            with(|s| s.io_stop_returned(request, cancelable));
        }
    }
    with(|s| s.check_stop_acknowledged(device, presented));
    let deadline = with(|s| s.now) + wait_ns;
    loop {
        let waiting = with(|s| {
            owned_requests(s, device).into_iter().filter(|(_, r)| !matches!(s.obj(*r).map(|o| &o.kind), Some(Kind::Request(q)) if q.stop_acked)).count()
        });
        if waiting == 0 {
            break;
        }
        let before = next_time();
        if before.is_none_or(|t| t > deadline) || !step() {
            with(|s| {
                s.finding("POWER", Severity::Fatal, format!("power-down waited {} ms for {waiting} request(s) the driver neither completed nor acknowledged (DrvAckIoStop): KMDF's verifier breaks after 60 s (bugcheck 0x1E without a debugger) and Windows' power watchdog bugchecks 0x9F", wait_ns / 1_000_000));
            });
            break;
        }
    }
    if let Some(f) = pnp.EvtDeviceD0ExitPreInterruptsDisabled {
        // SAFETY: registered by the driver; the device handle is live.
        pnp_call("EvtDeviceD0ExitPreInterruptsDisabled", || unsafe {
            f(handle(device) as WDFDEVICE, target)
        });
    }
    with(|s| {
        for interrupt in interrupts_of(s, device) {
            if let Some(Kind::Interrupt(i)) = s.obj_mut(interrupt).map(|o| &mut o.kind) {
                i.connected = false;
            }
        }
    });
    flush_dpcs(device);
    match pnp.EvtDeviceD0Exit {
        // SAFETY: registered by the driver; the device handle is live.
        Some(f) => pnp_call("EvtDeviceD0Exit", || unsafe {
            f(handle(device) as WDFDEVICE, target)
        }),
        None => STATUS_SUCCESS,
    }
}

/// Flushes a device's DPCs after its interrupts were disconnected.
///
/// KMDF does this (`FxInterrupt::FlushAndRundown` flushes the queued DPCs): every DPC already
/// queued runs now, and every DPC or other callback running on another processor finishes,
/// before `EvtDeviceD0Exit` and the release of the hardware.
fn flush_dpcs(device: Id) {
    sched::quiesce();
    let queued: Vec<Id> = with(|s| {
        let interrupts = interrupts_of(s, device);
        let keys: Vec<_> = s
            .queue
            .iter()
            .filter(|(_, event)| matches!(event, Event::Dpc(i) if interrupts.contains(i)))
            .map(|(key, _)| *key)
            .collect();
        keys.iter()
            .filter_map(|key| match s.queue.remove(key) {
                Some(Event::Dpc(interrupt)) => Some(interrupt),
                _ => None,
            })
            .collect()
    });
    for interrupt in queued {
        dpc(interrupt);
    }
    sched::quiesce();
}

/// Release hardware.
pub(crate) fn release_hardware(device: Id) -> NTSTATUS {
    let Some((pnp, _)) = device_info(device) else {
        return crate::mirror::constants::STATUS_INVALID_DEVICE_STATE;
    };
    let translated = with(|s| match s.obj(device).map(|o| &o.kind) {
        Some(Kind::Device(d)) => d.resources.map(|r| r.1),
        _ => None,
    });
    let status = match (pnp.EvtDeviceReleaseHardware, translated) {
        // SAFETY: registered by the driver; handles are live.
        (Some(f), Some(t)) => pnp_call("EvtDeviceReleaseHardware", || unsafe {
            f(handle(device) as WDFDEVICE, handle(t) as WDFCMRESLIST)
        }),
        _ => STATUS_SUCCESS,
    };
    with(|s| {
        if let Some(Kind::Device(d)) = s.obj_mut(device).map(|o| &mut o.kind)
            && let Some((raw, translated)) = d.resources.take()
        {
            s.remove(raw);
            s.remove(translated);
        }
    });
    // Interrupts created in prepare-hardware are deleted by the framework after release.
    let created_in_prepare: Vec<Id> = with(|s| {
        interrupts_of(s, device)
            .into_iter()
            .filter(|i| matches!(s.obj(*i).map(|o| &o.kind), Some(Kind::Interrupt(x)) if x.from_prepare))
            .collect()
    });
    for interrupt in created_in_prepare {
        delete_tree(interrupt, false);
        with(|s| {
            if let Some(Kind::Device(d)) = s.obj_mut(device).map(|o| &mut o.kind) {
                d.interrupts.retain(|i| *i != interrupt);
            }
            for h in &mut s.hw {
                if h.interrupt == Some(interrupt) {
                    h.interrupt = None;
                }
            }
        });
    }
    status
}

/// Surprise removal notification.
pub(crate) fn surprise_removal(device: Id) {
    if let Some((pnp, _)) = device_info(device)
        && let Some(f) = pnp.EvtDeviceSurpriseRemoval
    {
        with(|s| {
            s.exercised("EvtSurpriseRemoveNoRequestComplete");
            s.exercised("NoCancelFromEvtSurpriseRemove");
        });
        at_irql(Irql::Passive, "EvtDeviceSurpriseRemoval", || {
            // SAFETY: registered by the driver; the device handle is live.
            unsafe { f(handle(device) as WDFDEVICE) };
        });
    }
    // KMDF disables the device's interfaces in its removal clean-up, after the callback
    // (FxPkgPnp::PnpCleanupForRemove, reached from the surprise-removal states).
    with(|s| {
        if let Some(Kind::Device(d)) = s.obj_mut(device).map(|o| &mut o.kind) {
            d.interfaces_enabled = false;
        }
    });
}

/// Deletes an object and its descendants: cleanup callbacks children first, then frees.
pub(crate) fn delete_tree(root: Id, by_driver: bool) {
    let order = with(|s| s.subtree(root));
    for id in order {
        let cleanup = with(|s| {
            let object = s.obj(id)?;
            let name = object.kind.name();
            let executing = matches!(&object.kind, Kind::Transaction(t) if matches!(t.state, dma::TxState::Transfer(_)));
            let passive_only = matches!(object.kind, Kind::CommonBuffer(_) | Kind::Enabler(_));
            if executing {
                s.finding(
                    "T13",
                    Severity::Error,
                    format!("transaction {:#x} is still executing at deletion: a transfer was never completed (EvtProgramDma returned FALSE without DmaCompletedFinal, or a completion was lost)", handle(id)),
                );
                s.finding(
                    "T19",
                    Severity::Fatal,
                    format!(
                        "WdfObjectDelete: transaction {:#x} deleted while executing",
                        handle(id)
                    ),
                );
            }
            if by_driver && passive_only && s.irql > Irql::Passive {
                s.finding(
                    "C2",
                    Severity::Fatal,
                    format!("{name} deleted above PASSIVE_LEVEL"),
                );
            }
            s.obj(id).map(|o| o.cleanup)
        });
        if let Some(Some(cleanup)) = cleanup {
            at_irql(with(|s| s.irql), "EvtCleanupCallback", || {
                // SAFETY: registered by the driver in the object's attributes; the handle is
                // still valid during cleanup.
                unsafe { cleanup(handle(id) as crate::mirror::types::WDFOBJECT) };
            });
        }
        with(|s| {
            if let Some(object) = s.remove(id) {
                match object.kind {
                    Kind::Enabler(e) => {
                        if let Some(pool) = e.pool {
                            s.mem.free(pool);
                        }
                    }
                    Kind::CommonBuffer(c) => s.mem.free(c.block),
                    Kind::Transaction(t) => {
                        if let Some(request) = t.request
                            && let Some(Kind::Request(r)) = s.obj_mut(request).map(|o| &mut o.kind)
                            && t.irp_ref
                        {
                            r.irp_refs = r.irp_refs.saturating_sub(1);
                        }
                    }
                    // Deleting a queued timer cancels it (its event finds no object).
                    _ => {}
                }
            }
        });
    }
}

/// `_WDF_REQUEST_TYPE` of a request type used for dispatch configuration.
pub(crate) const fn is_io_type(kind: i32) -> bool {
    matches!(
        kind,
        _WDF_REQUEST_TYPE::WdfRequestTypeRead
            | _WDF_REQUEST_TYPE::WdfRequestTypeWrite
            | _WDF_REQUEST_TYPE::WdfRequestTypeDeviceControl
    )
}

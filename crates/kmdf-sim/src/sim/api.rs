//! Bodies of the mirror functions that are not DMA transactions: each resolves its handles,
//! checks the rules KMDF checks, and acts on the machine state.

use super::engine::{self, at_irql};
use super::objects::{
    Device, DeviceInit, DevicePower, Id, Interrupt, Kind, Timer, handle, validate,
};
use super::{Held, Irql, State, with};
use crate::mirror::constants::{
    CmResourceTypeDma, STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_DEVICE_STATE,
    STATUS_INVALID_PARAMETER, STATUS_SUCCESS,
};
use crate::mirror::types::{
    _WDF_IO_QUEUE_DISPATCH_TYPE, CM_PARTIAL_RESOURCE_DESCRIPTOR, GUID, NTSTATUS,
    PCM_PARTIAL_RESOURCE_DESCRIPTOR, PFN_WDF_REQUEST_CANCEL, ULONG, WDF_DEVICE_IO_TYPE,
    WDF_DMA_ENABLER_CONFIG, WDF_DMA_SYSTEM_PROFILE_CONFIG, WDF_DRIVER_CONFIG, WDF_INTERRUPT_CONFIG,
    WDF_IO_QUEUE_CONFIG, WDF_OBJECT_ATTRIBUTES, WDF_PNPPOWER_EVENT_CALLBACKS, WDF_REQUEST_TYPE,
    WDF_TIMER_CONFIG,
};
use crate::verifier::Severity;

/// A required pointer argument was NULL (bugcheck 0x10D/0x4).
pub(crate) fn null_argument(ddi: &'static str) {
    with(|s| {
        s.finding(
            "NULLARG",
            Severity::Fatal,
            format!("{ddi}: a required pointer is NULL"),
        );
    });
}

fn size_ok<T>(s: &mut State, ddi: &'static str, what: &'static str, size: ULONG) -> bool {
    if size as usize == core::mem::size_of::<T>() {
        return true;
    }
    s.finding(
        "SIZE",
        Severity::Error,
        format!(
            "{ddi}: {what}.Size is {size}, expected {}",
            core::mem::size_of::<T>()
        ),
    );
    false
}

/// Applies validated attributes to an object created by a DMA helper.
pub(crate) fn apply_attributes(raw: usize, attributes: Option<&WDF_OBJECT_ATTRIBUTES>) {
    with(|s| {
        if let Some(id) = super::objects::id_of(raw) {
            s.apply_attributes(id, attributes);
        }
    });
}

/// `WdfDriverCreate`.
pub(crate) fn driver_create(
    attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
    config: Option<&WDF_DRIVER_CONFIG>,
) -> Result<usize, NTSTATUS> {
    with(|s| {
        if !s.ddi_at_most("WdfDriverCreate", Irql::Passive) {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        let Some(config) = config else {
            s.finding(
                "NULLARG",
                Severity::Fatal,
                "WdfDriverCreate: DriverConfig is NULL".into(),
            );
            return Err(STATUS_INVALID_PARAMETER);
        };
        if !size_ok::<WDF_DRIVER_CONFIG>(s, "WdfDriverCreate", "WDF_DRIVER_CONFIG", config.Size) {
            return Err(crate::mirror::constants::STATUS_INFO_LENGTH_MISMATCH);
        }
        if s.driver.is_some() {
            s.finding(
                "DRIVER",
                Severity::Error,
                "WdfDriverCreate called twice".into(),
            );
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        s.attributes_check(
            "WdfDriverCreate",
            attributes,
            validate::PARENT_NOT_ALLOWED
                | validate::EXECUTION_LEVEL_ALLOWED
                | validate::SYNCHRONIZATION_SCOPE_ALLOWED,
        )?;
        let id = s.create(
            Kind::Driver {
                device_add: config.EvtDriverDeviceAdd,
                unload: config.EvtDriverUnload,
            },
            None,
            true,
        );
        s.apply_attributes(id, attributes);
        s.driver = Some(id);
        Ok(handle(id))
    })
}

fn init_mut<'a>(s: &'a mut State, raw: usize, ddi: &'static str) -> Option<&'a mut DeviceInit> {
    if s.inits.get(&raw).is_none_or(|i| i.consumed) {
        s.finding(
            "BADHANDLE",
            Severity::Fatal,
            format!("{ddi}: {raw:#x} is not a live PWDFDEVICE_INIT"),
        );
        return None;
    }
    s.inits.get_mut(&raw)
}

/// `WdfDeviceInitSetPnpPowerEventCallbacks`.
pub(crate) fn init_set_pnp(raw: usize, callbacks: Option<&WDF_PNPPOWER_EVENT_CALLBACKS>) {
    with(|s| {
        s.ddi();
        let Some(callbacks) = callbacks.copied() else {
            s.finding(
                "NULLARG",
                Severity::Fatal,
                "WdfDeviceInitSetPnpPowerEventCallbacks: NULL callbacks".into(),
            );
            return;
        };
        if !size_ok::<WDF_PNPPOWER_EVENT_CALLBACKS>(
            s,
            "WdfDeviceInitSetPnpPowerEventCallbacks",
            "WDF_PNPPOWER_EVENT_CALLBACKS",
            callbacks.Size,
        ) {
            return;
        }
        if let Some(init) = init_mut(s, raw, "WdfDeviceInitSetPnpPowerEventCallbacks") {
            init.pnp = Some(callbacks);
        }
    });
}

/// `WdfDeviceInitSetIoType`.
pub(crate) fn init_set_io_type(raw: usize, io_type: WDF_DEVICE_IO_TYPE) {
    with(|s| {
        s.ddi();
        if let Some(init) = init_mut(s, raw, "WdfDeviceInitSetIoType") {
            init.io_type = io_type;
        }
    });
}

/// `WdfDeviceCreate`.
pub(crate) fn device_create(
    init_raw: usize,
    attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
) -> Result<usize, NTSTATUS> {
    with(|s| {
        s.ddi();
        if !s.check_irql("WdfDeviceCreate", Irql::Passive) {
            return Err(STATUS_INVALID_DEVICE_REQUEST);
        }
        let (pnp, io_type, hw) = {
            let init = init_mut(s, init_raw, "WdfDeviceCreate").ok_or(STATUS_INVALID_PARAMETER)?;
            (init.pnp.unwrap_or_default(), init.io_type, init.hw)
        };
        let io_type = if io_type == 0 {
            crate::mirror::types::_WDF_DEVICE_IO_TYPE::WdfDeviceIoBuffered
        } else {
            io_type
        };
        let device = Device {
            pnp,
            io_type,
            hw,
            power: DevicePower::Added,
            queues: Vec::new(),
            default_queue: None,
            dispatch: std::collections::HashMap::new(),
            interrupts: Vec::new(),
            interfaces: Vec::new(),
            interfaces_enabled: false,
            alignment: 0,
            packet_slot: None,
            resources: None,
        };
        s.attributes_check(
            "WdfDeviceCreate",
            attributes,
            validate::PARENT_NOT_ALLOWED
                | validate::EXECUTION_LEVEL_ALLOWED
                | validate::SYNCHRONIZATION_SCOPE_ALLOWED,
        )?;
        // Consumed only now: KMDF leaves *DeviceInit alone when validation fails
        // (fxdeviceapi.cpp), so the driver may still use or free it.
        if let Some(init) = s.inits.get_mut(&init_raw) {
            init.consumed = true;
        }
        let id = s.create(Kind::Device(Box::new(device)), s.driver, true);
        s.apply_attributes(id, attributes);
        if let Some(h) = s.hw.get_mut(hw) {
            h.device = Some(id);
        }
        Ok(handle(id))
    })
}

fn device_mut<'a>(s: &'a mut State, raw: usize, ddi: &'static str) -> Option<(Id, &'a mut Device)> {
    let id = s.resolve(raw, ddi, "WDFDEVICE")?;
    match s.obj_mut(id).map(|o| &mut o.kind) {
        Some(Kind::Device(d)) => Some((id, d)),
        _ => None,
    }
}

/// `WdfDeviceCreateDeviceInterface`.
pub(crate) fn device_interface(raw: usize, guid: Option<GUID>) -> NTSTATUS {
    with(|s| {
        if !s.ddi_at_most("WdfDeviceCreateDeviceInterface", Irql::Passive) {
            return STATUS_INVALID_DEVICE_STATE;
        }
        let Some(guid) = guid else {
            s.finding(
                "NULLARG",
                Severity::Fatal,
                "WdfDeviceCreateDeviceInterface: NULL GUID".into(),
            );
            return STATUS_INVALID_PARAMETER;
        };
        match device_mut(s, raw, "WdfDeviceCreateDeviceInterface") {
            Some((_, d)) => {
                d.interfaces.push(guid);
                STATUS_SUCCESS
            }
            None => STATUS_INVALID_PARAMETER,
        }
    })
}

/// `WdfDeviceSetAlignmentRequirement`.
pub(crate) fn device_alignment(raw: usize, alignment: ULONG) {
    with(|s| {
        if !s.ddi_at_most("WdfDeviceSetAlignmentRequirement", Irql::Dispatch) {
            return;
        }
        if let Some((_, d)) = device_mut(s, raw, "WdfDeviceSetAlignmentRequirement") {
            d.alignment = alignment;
        }
    });
}

/// `WdfObjectGetTypedContextWorker`.
pub(crate) fn context(raw: usize, unique: usize) -> *mut u8 {
    with(|s| {
        s.ddi();
        s.context_of(raw, unique)
    })
}

/// `WdfObjectDelete`.
pub(crate) fn object_delete(raw: usize) {
    let id = with(|s| {
        if !s.ddi_at_most("WdfObjectDelete", Irql::Dispatch) {
            return None;
        }
        let id = s.resolve(raw, "WdfObjectDelete", "WDFOBJECT")?;
        let name = s.obj(id).map(|o| o.kind.name());
        if matches!(
            name,
            Some("WDFDEVICE" | "WDFDRIVER" | "WDFREQUEST" | "WDFCMRESLIST")
        ) {
            s.finding(
                "DELETE",
                Severity::Error,
                format!(
                    "WdfObjectDelete: a {} cannot be deleted by the driver",
                    name.unwrap_or("?")
                ),
            );
            return None;
        }
        Some(id)
    });
    if let Some(id) = id {
        engine::delete_tree(id, true);
    }
}

fn descriptors<'a>(
    s: &'a mut State,
    raw: usize,
    ddi: &'static str,
) -> Option<&'a mut Vec<CM_PARTIAL_RESOURCE_DESCRIPTOR>> {
    let id = s.resolve(raw, ddi, "WDFCMRESLIST")?;
    match s.obj_mut(id).map(|o| &mut o.kind) {
        Some(Kind::ResList { descriptors }) => Some(descriptors),
        _ => None,
    }
}

/// `WdfCmResourceListGetCount`.
pub(crate) fn resource_count(raw: usize) -> ULONG {
    with(|s| {
        if !s.ddi_at_most("WdfCmResourceListGetCount", Irql::Dispatch) {
            return 0;
        }
        descriptors(s, raw, "WdfCmResourceListGetCount")
            .map_or(0, |d| u32::try_from(d.len()).unwrap_or(0))
    })
}

/// `WdfCmResourceListGetDescriptor`.
pub(crate) fn resource_descriptor(raw: usize, index: ULONG) -> PCM_PARTIAL_RESOURCE_DESCRIPTOR {
    with(|s| {
        if !s.ddi_at_most("WdfCmResourceListGetDescriptor", Irql::Dispatch) {
            return core::ptr::null_mut();
        }
        descriptors(s, raw, "WdfCmResourceListGetDescriptor")
            .and_then(|d| d.get_mut(index as usize))
            .map_or(core::ptr::null_mut(), core::ptr::from_mut)
    })
}

/// `WdfIoQueueCreate`.
pub(crate) fn queue_create(
    device_raw: usize,
    config: Option<&WDF_IO_QUEUE_CONFIG>,
    attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
) -> Result<usize, NTSTATUS> {
    with(|s| {
        if !s.ddi_at_most("WdfIoQueueCreate", Irql::Dispatch) {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        let Some(config) = config.copied() else {
            s.finding(
                "NULLARG",
                Severity::Fatal,
                "WdfIoQueueCreate: NULL config".into(),
            );
            return Err(STATUS_INVALID_PARAMETER);
        };
        if !size_ok::<WDF_IO_QUEUE_CONFIG>(
            s,
            "WdfIoQueueCreate",
            "WDF_IO_QUEUE_CONFIG",
            config.Size,
        ) {
            return Err(crate::mirror::constants::STATUS_INFO_LENGTH_MISMATCH);
        }
        if !matches!(
            config.DispatchType,
            _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential
                | _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel
        ) {
            s.finding(
                "QUEUE",
                Severity::Error,
                format!(
                    "WdfIoQueueCreate: dispatch type {} is not simulated",
                    config.DispatchType
                ),
            );
            return Err(STATUS_INVALID_PARAMETER);
        }
        let (device, d) =
            device_mut(s, device_raw, "WdfIoQueueCreate").ok_or(STATUS_INVALID_PARAMETER)?;
        if config.DefaultQueue != 0 && d.default_queue.is_some() {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        let queue = super::io::Queue {
            device,
            config,
            pending: std::collections::VecDeque::new(),
            owned: Vec::new(),
            dispatch_scheduled: false,
        };
        s.attributes_check(
            "WdfIoQueueCreate",
            attributes,
            validate::EXECUTION_LEVEL_ALLOWED | validate::SYNCHRONIZATION_SCOPE_ALLOWED,
        )?;
        let id = s.create(Kind::Queue(Box::new(queue)), Some(device), true);
        s.apply_attributes(id, attributes);
        if let Some((_, d)) = device_mut(s, device_raw, "WdfIoQueueCreate") {
            d.queues.push(id);
            if config.DefaultQueue != 0 {
                d.default_queue = Some(id);
            }
        }
        Ok(handle(id))
    })
}

/// `WdfDeviceConfigureRequestDispatching`.
pub(crate) fn configure_dispatching(
    device_raw: usize,
    queue_raw: usize,
    kind: WDF_REQUEST_TYPE,
) -> NTSTATUS {
    with(|s| {
        s.ddi();
        let Some(queue) = s.resolve(
            queue_raw,
            "WdfDeviceConfigureRequestDispatching",
            "WDFQUEUE",
        ) else {
            return STATUS_INVALID_PARAMETER;
        };
        if !engine::is_io_type(kind) {
            return STATUS_INVALID_PARAMETER;
        }
        match device_mut(s, device_raw, "WdfDeviceConfigureRequestDispatching") {
            Some((_, d)) => {
                d.dispatch.insert(kind, queue);
                STATUS_SUCCESS
            }
            None => STATUS_INVALID_PARAMETER,
        }
    })
}

/// `WdfRequestComplete(WithInformation)`.
pub(crate) fn request_complete(raw: usize, status: NTSTATUS, information: Option<u64>) {
    with(|s| {
        s.ddi();
        if s.check_irql("WdfRequestCompleteWithInformation", Irql::Dispatch) {
            s.complete_request(raw, status, information);
        }
    });
}

/// `WdfRequestRetrieve{Input,Output}Buffer`.
pub(crate) fn request_buffer(
    raw: usize,
    output: bool,
    minimum: usize,
) -> Result<(*mut u8, usize), NTSTATUS> {
    with(|s| {
        if !s.ddi_at_most(
            if output {
                "WdfRequestRetrieveOutputBuffer"
            } else {
                "WdfRequestRetrieveInputBuffer"
            },
            Irql::Dispatch,
        ) {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        s.retrieve_buffer(raw, output, minimum)
    })
}

/// `WdfRequestMarkCancelableEx`.
pub(crate) fn mark_cancelable(raw: usize, routine: PFN_WDF_REQUEST_CANCEL) -> NTSTATUS {
    with(|s| {
        if !s.ddi_at_most("WdfRequestMarkCancelableEx", Irql::Dispatch) {
            return STATUS_INVALID_DEVICE_STATE;
        }
        s.mark_cancelable(raw, routine)
    })
}

/// `WdfRequestUnmarkCancelable`.
pub(crate) fn unmark_cancelable(raw: usize) -> NTSTATUS {
    with(|s| {
        if !s.ddi_at_most("WdfRequestUnmarkCancelable", Irql::Dispatch) {
            return STATUS_INVALID_DEVICE_STATE;
        }
        s.unmark_cancelable(raw)
    })
}

/// `WdfRequestStopAcknowledge`.
pub(crate) fn stop_acknowledge(raw: usize, requeue: bool) {
    with(|s| {
        if !s.ddi_at_most("WdfRequestStopAcknowledge", Irql::Dispatch) {
            return;
        }
        let Some(id) = s.owned_request(raw, "WdfRequestStopAcknowledge") else {
            return;
        };
        s.exercised("StopAckWithinEvtIoStop");
        if !s.request(id).is_some_and(|r| r.in_stop) {
            // FxRequest::VerifyStopAcknowledge (VerifyRequestIsInEvtIoStopContext): the
            // acknowledgement is ignored.
            s.finding(
                "StopAckWithinEvtIoStop",
                Severity::Error,
                format!("WdfRequestStopAcknowledge: request {raw:#x} is not in its EvtIoStop callback; the acknowledgement is ignored"),
            );
            return;
        }
        if !requeue {
            s.exercised("EvtIoStopResume");
            let queue = s.request(id).map(|r| r.queue);
            let resume = queue
                .and_then(|q| s.queue_mut(q))
                .is_some_and(|q| q.config.EvtIoResume.is_some());
            if !resume {
                s.compliance_finding(
                    "EvtIoStopResume",
                    format!("WdfRequestStopAcknowledge(Requeue=FALSE) for request {raw:#x} on a queue without EvtIoResume: the driver keeps the request across the power-down and is never told the device is back"),
                );
            }
        }
        let cancelable = s.request(id).is_some_and(|r| r.cancel_routine.is_some());
        if requeue && cancelable {
            // FxRequest::VerifyStopAcknowledge: a cancelable request cannot go back to its
            // queue; the acknowledgement is ignored.
            s.finding(
                "STOP",
                Severity::Error,
                format!("WdfRequestStopAcknowledge(Requeue=TRUE): request {raw:#x} is still cancelable (call WdfRequestUnmarkCancelable first); the acknowledgement is ignored"),
            );
            return;
        }
        if let Some(r) = s.request(id) {
            r.stop_acked = true;
            r.requeue = requeue;
        }
    });
}

/// `WdfInterruptCreate`.
pub(crate) fn interrupt_create(
    device_raw: usize,
    config: Option<&WDF_INTERRUPT_CONFIG>,
    attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
) -> Result<usize, NTSTATUS> {
    with(|s| {
        if !s.ddi_at_most("WdfInterruptCreate", Irql::Dispatch) {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        let Some(config) = config.copied() else {
            s.finding(
                "NULLARG",
                Severity::Fatal,
                "WdfInterruptCreate: NULL config".into(),
            );
            return Err(STATUS_INVALID_PARAMETER);
        };
        if !size_ok::<WDF_INTERRUPT_CONFIG>(
            s,
            "WdfInterruptCreate",
            "WDF_INTERRUPT_CONFIG",
            config.Size,
        ) {
            return Err(crate::mirror::constants::STATUS_INFO_LENGTH_MISMATCH);
        }
        if config.EvtInterruptIsr.is_none() {
            s.finding(
                "NULLARG",
                Severity::Fatal,
                "WdfInterruptCreate: EvtInterruptIsr is NULL".into(),
            );
            return Err(STATUS_INVALID_PARAMETER);
        }
        let from_prepare = s.context.contains(&"EvtDevicePrepareHardware");
        let (device, d) =
            device_mut(s, device_raw, "WdfInterruptCreate").ok_or(STATUS_INVALID_PARAMETER)?;
        let (hw, power) = (d.hw, d.power);
        if power == DevicePower::D0
            || (from_prepare
                && (config.InterruptRaw.is_null() || config.InterruptTranslated.is_null()))
        {
            s.finding("INTERRUPT", Severity::Error, "WdfInterruptCreate after start, or in EvtDevicePrepareHardware without InterruptRaw/InterruptTranslated".into());
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        let interrupt = Interrupt {
            device,
            isr: config.EvtInterruptIsr,
            dpc: config.EvtInterruptDpc,
            connected: false,
            dpc_queued: false,
            lock_held: false,
            isr_pending: false,
            storm: 0,
            from_prepare,
        };
        // A parent only with automatic serialization (fxinterruptapi.cpp).
        let interrupt_flags = if config.AutomaticSerialization == 0 {
            validate::PARENT_NOT_ALLOWED
        } else {
            validate::NONE
        };
        s.attributes_check("WdfInterruptCreate", attributes, interrupt_flags)?;
        let id = s.create(Kind::Interrupt(Box::new(interrupt)), Some(device), true);
        s.apply_attributes(id, attributes);
        if let Some((_, d)) = device_mut(s, device_raw, "WdfInterruptCreate") {
            d.interrupts.push(id);
        }
        if let Some(h) = s.hw.get_mut(hw) {
            h.interrupt = Some(id);
        }
        Ok(handle(id))
    })
}

fn interrupt_mut<'a>(
    s: &'a mut State,
    raw: usize,
    ddi: &'static str,
) -> Option<(Id, &'a mut Interrupt)> {
    let id = s.resolve(raw, ddi, "WDFINTERRUPT")?;
    match s.obj_mut(id).map(|o| &mut o.kind) {
        Some(Kind::Interrupt(i)) => Some((id, i)),
        _ => None,
    }
}

/// `WdfInterruptQueueDpcForIsr`.
pub(crate) fn queue_dpc(raw: usize) -> bool {
    with(|s| {
        s.ddi();
        let Some((id, i)) = interrupt_mut(s, raw, "WdfInterruptQueueDpcForIsr") else {
            return false;
        };
        if i.dpc_queued {
            s.log(|| "WdfInterruptQueueDpcForIsr: already queued".into());
            return false;
        }
        i.dpc_queued = true;
        let latency = s.delay(s.policy.dpc_latency_ns);
        s.schedule(latency, super::Event::Dpc(id));
        s.log(|| format!("WdfInterruptQueueDpcForIsr: DPC in {latency} ns"));
        true
    })
}

/// `WdfInterruptAcquireLock` / `WdfInterruptReleaseLock`.
pub(crate) fn interrupt_lock(raw: usize, acquire: bool) {
    // Another processor's ISR or holder: spin until it releases the lock.
    if acquire
        && let Some(id) = super::objects::id_of(raw)
        && !super::sched::wait_for(id)
        && with(|s| s.halted)
    {
        return;
    }
    with(|s| {
        s.ddi();
        let irql = s.irql;
        let in_isr = s.context.last() == Some(&"EvtInterruptIsr");
        s.exercised(if acquire {
            "WdfInterruptLock"
        } else {
            "WdfInterruptLockRelease"
        });
        let Some((id, i)) = interrupt_mut(s, raw, "WdfInterruptAcquireLock") else {
            return;
        };
        let (connected, held) = (i.connected, i.lock_held);
        let innermost = s.held.last().map(|h| h.lock) == Some(id);
        let problem = match (acquire, connected, held || in_isr, irql > Irql::Dispatch) {
            (true, false, _, _) => Some((
                Severity::Error,
                "WdfInterruptAcquireLock: interrupt not connected; nothing acquired",
            )),
            (true, _, true, _) => Some((
                Severity::Fatal,
                "WdfInterruptAcquireLock: the interrupt lock is already held (deadlock)",
            )),
            (true, _, _, true) => Some((
                Severity::Fatal,
                "WdfInterruptAcquireLock above DISPATCH_LEVEL",
            )),
            (false, _, _, _) if !held || !innermost => Some((
                Severity::Fatal,
                "WdfInterruptReleaseLock without a matching acquire",
            )),
            _ => None,
        };
        if let Some((severity, message)) = problem {
            s.finding("I1", severity, message.into());
            return;
        }
        set_interrupt_lock(s, id, acquire);
        if acquire {
            s.lock_taken(id);
            s.held.push(Held {
                lock: id,
                saved: irql,
            });
            s.irql = Irql::Dirql;
        } else if let Some(held) = s.held.pop() {
            s.irql = held.saved;
            s.lock_released(id);
        }
    });
}

fn set_interrupt_lock(s: &mut State, id: Id, value: bool) {
    if let Some(Kind::Interrupt(i)) = s.obj_mut(id).map(|o| &mut o.kind) {
        i.lock_held = value;
    }
}

/// `WdfInterruptGetDevice`.
pub(crate) fn interrupt_device(raw: usize) -> usize {
    with(|s| {
        s.ddi();
        interrupt_mut(s, raw, "WdfInterruptGetDevice").map_or(0, |(_, i)| handle(i.device))
    })
}

/// `WdfSpinLockCreate`.
pub(crate) fn spin_lock_create(
    attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
) -> Result<usize, NTSTATUS> {
    with(|s| {
        if !s.ddi_at_most("WdfSpinLockCreate", Irql::Dispatch) {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        let parent = match attributes.map(|a| a.ParentObject as usize) {
            Some(raw) if raw != 0 => Some(
                s.resolve(raw, "WdfSpinLockCreate", "WDFOBJECT")
                    .ok_or(STATUS_INVALID_PARAMETER)?,
            ),
            _ => s.driver,
        };
        s.attributes_check("WdfSpinLockCreate", attributes, validate::NONE)?;
        let id = s.create(Kind::SpinLock { holder: false }, parent, true);
        s.apply_attributes(id, attributes);
        Ok(handle(id))
    })
}

/// `WdfSpinLockAcquire` / `WdfSpinLockRelease`.
pub(crate) fn spin_lock(raw: usize, acquire: bool) {
    // Held by another processor: spin (the activity is not runnable) until it is released.
    if acquire
        && let Some(id) = super::objects::id_of(raw)
        && !super::sched::wait_for(id)
        && with(|s| s.halted)
    {
        return;
    }
    with(|s| {
        s.ddi();
        let Some(id) = s.resolve(raw, "WdfSpinLockAcquire", "WDFSPINLOCK") else {
            return;
        };
        s.exercised(if acquire {
            "WdfSpinlock"
        } else {
            "WdfSpinLockRelease"
        });
        let irql = s.irql;
        let held = matches!(
            s.obj(id).map(|o| &o.kind),
            Some(Kind::SpinLock { holder: true })
        );
        let innermost = s.held.last().map(|h| h.lock) == Some(id);
        let problem = match (acquire, held, irql > Irql::Dispatch) {
            (true, true, _) => Some(format!(
                "WdfSpinLockAcquire: {raw:#x} is already held (deadlock)"
            )),
            (true, _, true) => Some(format!("WdfSpinLockAcquire at {irql:?}")),
            (false, _, _) if !held || !innermost => Some(format!(
                "WdfSpinLockRelease: {raw:#x} is not the innermost held lock"
            )),
            _ => None,
        };
        if let Some(message) = problem {
            s.finding("LOCK", Severity::Fatal, message);
            return;
        }
        if let Some(Kind::SpinLock { holder }) = s.obj_mut(id).map(|o| &mut o.kind) {
            *holder = acquire;
        }
        if acquire {
            s.lock_taken(id);
            s.held.push(Held {
                lock: id,
                saved: irql,
            });
            s.irql = Irql::Dispatch;
        } else if let Some(held) = s.held.pop() {
            s.irql = held.saved;
            s.lock_released(id);
        }
    });
}

/// `WdfTimerCreate`.
pub(crate) fn timer_create(
    config: Option<&WDF_TIMER_CONFIG>,
    attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
) -> Result<usize, NTSTATUS> {
    with(|s| {
        if !s.ddi_at_most("WdfTimerCreate", Irql::Dispatch) {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        // fxtimerapi.cpp: a parent is required before anything else is looked at.
        s.attributes_check(
            "WdfTimerCreate",
            attributes,
            validate::PARENT_REQUIRED | validate::EXECUTION_LEVEL_ALLOWED,
        )?;
        let Some(config) = config.copied() else {
            s.finding(
                "NULLARG",
                Severity::Fatal,
                "WdfTimerCreate: NULL config".into(),
            );
            return Err(STATUS_INVALID_PARAMETER);
        };
        if !size_ok::<WDF_TIMER_CONFIG>(s, "WdfTimerCreate", "WDF_TIMER_CONFIG", config.Size) {
            return Err(crate::mirror::constants::STATUS_INFO_LENGTH_MISMATCH);
        }
        let raw_parent = attributes.map_or(0, |a| a.ParentObject as usize);
        let Some(parent) = s.resolve(raw_parent, "WdfTimerCreate", "WDFOBJECT") else {
            return Err(STATUS_INVALID_PARAMETER);
        };
        // FxTimer::Initialize: the parent must be a device or have one among its ancestors.
        let mut ancestor = Some(parent);
        while let Some(id) = ancestor
            && s.obj(id).map(|o| o.kind.name()) != Some("WDFDEVICE")
        {
            ancestor = s.obj(id).and_then(|o| o.parent);
        }
        if ancestor.is_none() {
            s.finding(
                "TIMER",
                Severity::Error,
                "WdfTimerCreate: ParentObject has no device among its ancestors".into(),
            );
            return Err(STATUS_INVALID_DEVICE_REQUEST);
        }
        let timer = Timer {
            callback: config.EvtTimerFunc,
            period_ms: config.Period,
            generation: 0,
            queued: false,
            running: false,
        };
        let id = s.create(Kind::Timer(Box::new(timer)), Some(parent), true);
        s.apply_attributes(id, attributes);
        Ok(handle(id))
    })
}

fn timer_mut<'a>(s: &'a mut State, raw: usize, ddi: &'static str) -> Option<(Id, &'a mut Timer)> {
    let id = s.resolve(raw, ddi, "WDFTIMER")?;
    match s.obj_mut(id).map(|o| &mut o.kind) {
        Some(Kind::Timer(t)) => Some((id, t)),
        _ => None,
    }
}

/// `WdfTimerStart`: negative due times are relative, in 100 ns units.
pub(crate) fn timer_start(raw: usize, due: i64) -> bool {
    with(|s| {
        if !s.ddi_at_most("WdfTimerStart", Irql::Dispatch) {
            return false;
        }
        let now = s.now;
        let Some((id, t)) = timer_mut(s, raw, "WdfTimerStart") else {
            return false;
        };
        let was = t.queued;
        t.queued = true;
        t.generation += 1;
        let generation = t.generation;
        let delay = if due < 0 {
            due.unsigned_abs() * 100
        } else {
            (due.cast_unsigned() * 100).saturating_sub(now)
        };
        s.schedule(
            delay,
            super::Event::Timer {
                timer: id,
                generation,
            },
        );
        was
    })
}

/// `WdfTimerStop`.
pub(crate) fn timer_stop(raw: usize, wait: bool) -> bool {
    with(|s| {
        if !s.ddi_at_most("WdfTimerStop", Irql::Dispatch) {
            return false;
        }
        let irql = s.irql;
        let in_callback = s.context.contains(&"EvtTimerFunc");
        let Some((_, t)) = timer_mut(s, raw, "WdfTimerStop") else {
            return false;
        };
        let was = t.queued;
        t.queued = false;
        t.generation += 1;
        if wait && (irql > Irql::Passive || (in_callback && t.running)) {
            s.finding(
                "TIMER",
                Severity::Fatal,
                format!("WdfTimerStop(Wait=TRUE) at {irql:?} or from its own callback (deadlock)"),
            );
        }
        was
    })
}

/// The parent of an object.
pub(crate) fn parent_of(raw: usize) -> usize {
    with(|s| {
        if !s.ddi_at_most("WdfTimerGetParentObject", Irql::Dispatch) {
            return 0;
        }
        let Some(id) = s.resolve(raw, "WdfTimerGetParentObject", "WDFOBJECT") else {
            return 0;
        };
        s.obj(id).and_then(|o| o.parent).map_or(0, handle)
    })
}

/// `WdfDmaEnablerCreate`.
pub(crate) fn enabler_create(
    device_raw: usize,
    config: Option<&WDF_DMA_ENABLER_CONFIG>,
    attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
) -> Result<usize, NTSTATUS> {
    with(|s| {
        s.ddi();
        let device = s
            .resolve(device_raw, "WdfDmaEnablerCreate", "WDFDEVICE")
            .ok_or(STATUS_INVALID_PARAMETER)?;
        let Some(config) = config.copied() else {
            s.finding(
                "NULLARG",
                Severity::Fatal,
                "WdfDmaEnablerCreate: NULL config".into(),
            );
            return Err(STATUS_INVALID_PARAMETER);
        };
        s.attributes_check("WdfDmaEnablerCreate", attributes, validate::NONE)?;
        let id = s.enabler_create(device, &config)?;
        s.apply_attributes(id, attributes);
        Ok(handle(id))
    })
}

/// `WdfDmaEnablerConfigureSystemProfile`.
pub(crate) fn configure_system_profile(
    raw: usize,
    config: Option<&WDF_DMA_SYSTEM_PROFILE_CONFIG>,
    descriptor: Option<CM_PARTIAL_RESOURCE_DESCRIPTOR>,
    direction: i32,
) -> NTSTATUS {
    with(|s| {
        s.ddi();
        // The header annotates PASSIVE_LEVEL; KMDF does not check it and proceeds.
        s.verifier_irql("WdfDmaEnablerConfigureSystemProfile", Irql::Passive, "E1");
        let Some(id) = s.resolve(raw, "WdfDmaEnablerConfigureSystemProfile", "WDFDMAENABLER")
        else {
            return STATUS_INVALID_PARAMETER;
        };
        let channel = descriptor
            .filter(|d| u32::from(d.Type) == CmResourceTypeDma)
            .map(|d| {
                // SAFETY-free: a DMA descriptor's `Dma` member is the one KMDF reads.
                let dma = crate::mirror::dma_member(&d);
                (dma.Channel, dma.Port)
            });
        s.configure_system(id, config, channel, direction)
    })
}

/// `WdfDmaEnablerGetMaximumLength` / `GetFragmentLength`.
pub(crate) fn enabler_query(raw: usize, fragment: bool, direction: i32) -> usize {
    with(|s| {
        if !s.ddi_at_most("WdfDmaEnablerGetMaximumLength", Irql::Dispatch) {
            return 0;
        }
        let Some(id) = s.resolve(raw, "WdfDmaEnablerGetMaximumLength", "WDFDMAENABLER") else {
            return 0;
        };
        if fragment && direction != 0 && direction != 1 {
            s.finding(
                "ENABLER",
                Severity::Error,
                "WdfDmaEnablerGetFragmentLength: invalid direction".into(),
            );
            return 0;
        }
        let Some(e) = s.enabler(id) else { return 0 };
        let system_unconfigured = matches!(e.profile, 7 | 8) && !e.system_configured();
        match (fragment, system_unconfigured) {
            (_, true) => 0,
            (true, false) => e.fragment_length,
            (false, false) => e.maximum_length,
        }
    })
}

/// `WdfDmaTransactionCreate`.
pub(crate) fn transaction_create(
    enabler_raw: usize,
    attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
) -> Result<usize, NTSTATUS> {
    with(|s| {
        s.ddi();
        if !s.check_irql("WdfDmaTransactionCreate", Irql::Dispatch) {
            return Err(STATUS_INVALID_DEVICE_REQUEST);
        }
        let enabler = s
            .resolve(enabler_raw, "WdfDmaTransactionCreate", "WDFDMAENABLER")
            .ok_or(STATUS_INVALID_PARAMETER)?;
        // A parent is reported under T1 (`State::attributes_check`).
        s.attributes_check(
            "WdfDmaTransactionCreate",
            attributes,
            validate::PARENT_NOT_ALLOWED,
        )?;
        let id = s.tx_create(enabler);
        s.apply_attributes(id, attributes);
        Ok(handle(id))
    })
}

/// `WdfDmaTransactionInitializeUsingRequest`.
pub(crate) fn transaction_initialize(
    raw: usize,
    request: usize,
    program: crate::mirror::types::PFN_WDF_PROGRAM_DMA,
    direction: i32,
) -> NTSTATUS {
    with(|s| {
        s.ddi();
        if !s.check_irql("WdfDmaTransactionInitializeUsingRequest", Irql::Dispatch) {
            return STATUS_INVALID_DEVICE_REQUEST;
        }
        let Some(id) = s.resolve(
            raw,
            "WdfDmaTransactionInitializeUsingRequest",
            "WDFDMATRANSACTION",
        ) else {
            return STATUS_INVALID_PARAMETER;
        };
        s.tx_initialize(id, request, program, direction)
    })
}

/// Common-buffer queries: (virtual address, logical address, length).
pub(crate) fn common_buffer(raw: usize) -> (*mut u8, u64, usize) {
    with(|s| {
        if !s.ddi_at_most("WdfCommonBufferGetAlignedVirtualAddress", Irql::Dispatch) {
            return (core::ptr::null_mut(), 0, 0);
        }
        let Some(id) = s.resolve(
            raw,
            "WdfCommonBufferGetAlignedVirtualAddress",
            "WDFCOMMONBUFFER",
        ) else {
            return (core::ptr::null_mut(), 0, 0);
        };
        let Some(Kind::CommonBuffer(c)) = s.obj(id).map(|o| &o.kind) else {
            return (core::ptr::null_mut(), 0, 0);
        };
        let (block, length) = (c.block, c.length);
        let va = s
            .mem
            .block(block)
            .map_or(core::ptr::null_mut(), super::mem::Block::va);
        (va, s.mem.bus_addr(block, 0).unwrap_or(0), length)
    })
}

/// `MmMapIoSpaceEx`.
pub(crate) fn map_io(phys: u64, len: u64, protect: u32) -> u64 {
    /// `PAGE_READONLY`, `PAGE_READWRITE`, `PAGE_EXECUTE`, `PAGE_EXECUTE_READ`,
    /// `PAGE_EXECUTE_READWRITE`: the caller sets exactly one.
    const PROTECTIONS: [u32; 5] = [0x02, 0x04, 0x10, 0x20, 0x40];
    /// `PAGE_NOCACHE`, `PAGE_WRITECOMBINE`: at most one.
    const NOCACHE: u32 = 0x200;
    const WRITECOMBINE: u32 = 0x400;
    with(|s| {
        s.ddi();
        s.check_irql("MmMapIoSpaceEx", Irql::Dispatch);
        let caching = protect & (NOCACHE | WRITECOMBINE);
        if !PROTECTIONS.contains(&(protect & !(NOCACHE | WRITECOMBINE)))
            || caching == NOCACHE | WRITECOMBINE
        {
            s.finding(
                "MAP",
                Severity::Error,
                format!(
                    "MmMapIoSpaceEx: Protect {protect:#x} is not one page protection with at \
                     most one of PAGE_NOCACHE and PAGE_WRITECOMBINE"
                ),
            );
            return 0;
        }
        if caching == 0 {
            // Legal for memory, wrong for registers: reads may come from the cache and
            // writes may never reach the device.
            s.finding(
                "MAP",
                Severity::Warning,
                format!(
                    "MmMapIoSpaceEx: device memory {phys:#x} mapped cached (Protect \
                     {protect:#x}, no PAGE_NOCACHE)"
                ),
            );
        }
        s.map_io(phys, len)
    })
}

/// `KeQueryUnbiasedInterruptTime`: virtual time in 100 ns units (the simulated machine never
/// sleeps, so biased and unbiased time agree).
pub(crate) fn interrupt_time() -> u64 {
    with(|s| {
        s.ddi();
        s.now / 100
    })
}

/// `MmUnmapIoSpace`.
pub(crate) fn unmap_io(va: u64) {
    with(|s| {
        s.ddi();
        s.check_irql("MmUnmapIoSpace", Irql::Dispatch);
        s.unmap_io(va);
    });
}

/// Calls `EvtDriverDeviceAdd` for a piece of hardware; returns the new device.
pub(crate) fn device_add(hw: usize) -> Result<Id, NTSTATUS> {
    let (driver, add, init) = with(|s| {
        let driver = s.driver?;
        let add = match s.obj(driver).map(|o| &o.kind) {
            Some(Kind::Driver { device_add, .. }) => *device_add,
            _ => None,
        };
        let init = 0x0000_7C00_0000_0000 + s.next_init * 0x100;
        s.next_init += 1;
        s.inits.insert(
            init,
            DeviceInit {
                hw,
                ..DeviceInit::default()
            },
        );
        Some((driver, add, init))
    })
    .ok_or(STATUS_INVALID_DEVICE_STATE)?;
    let Some(add) = add else {
        return Err(STATUS_INVALID_DEVICE_STATE);
    };
    let status = at_irql(Irql::Passive, "EvtDriverDeviceAdd", || {
        // SAFETY: `add` is the driver's EvtDriverDeviceAdd from WdfDriverCreate; `init` is a
        // device-init handle valid until WdfDeviceCreate consumes it.
        unsafe {
            add(
                handle(driver) as crate::mirror::types::WDFDRIVER,
                init as crate::mirror::types::PWDFDEVICE_INIT,
            )
        }
    });
    with(|s| {
        s.inits.remove(&init);
        let device = s.hw.get(hw).and_then(|h| h.device);
        if status < 0 {
            if let Some(device) = device {
                s.log(|| {
                    format!("EvtDriverDeviceAdd failed: {status:#x}; device {device} deleted")
                });
            }
            return Err(status);
        }
        device.ok_or_else(|| {
            s.finding(
                "DEVICE",
                Severity::Error,
                "EvtDriverDeviceAdd returned success without creating a device".into(),
            );
            STATUS_INVALID_DEVICE_STATE
        })
    })
}

/// `WdfIoQueueGetDevice`.
pub(crate) fn queue_device(raw: usize) -> usize {
    with(|s| {
        if !s.ddi_at_most("WdfIoQueueGetDevice", Irql::Dispatch) {
            return 0;
        }
        let Some(id) = s.resolve(raw, "WdfIoQueueGetDevice", "WDFQUEUE") else {
            return 0;
        };
        s.queue_mut(id).map_or(0, |q| handle(q.device))
    })
}

/// `WdfRequestGetIoQueue`.
pub(crate) fn request_queue(raw: usize) -> usize {
    with(|s| {
        if !s.ddi_at_most("WdfRequestGetIoQueue", Irql::Dispatch) {
            return 0;
        }
        let Some(id) = s.resolve(raw, "WdfRequestGetIoQueue", "WDFREQUEST") else {
            return 0;
        };
        match s.obj(id).map(|o| &o.kind) {
            Some(Kind::Request(r)) => handle(r.queue),
            _ => 0,
        }
    })
}

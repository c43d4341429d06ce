//! `EvtIoStop` and what KMDF does with the acknowledgement, across power-down, stop for a
//! rebalance and removal; and the RELEASE rule. The in-test driver holds its read requests
//! (no DMA) so the test decides what its `EvtIoStop` does with them.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]
#![allow(
    clippy::missing_safety_doc,
    clippy::panic,
    clippy::expect_used,
    reason = "test driver and test code"
)]

use core::cell::{Cell, RefCell};
use core::ptr::null_mut;

use kmdf_sim::devices::edu::EduConfig;
use kmdf_sim::mirror::*;
use kmdf_sim::{
    DeviceHandle, HardwareConfig, IoOp, Machine, MachineConfig, NewResources, Policy, Report,
    Severity,
};

/// What the driver's `EvtIoStop` does with the request it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnStop {
    /// `WdfRequestStopAcknowledge(Requeue=TRUE)`.
    Requeue,
    /// `WdfRequestStopAcknowledge(Requeue=FALSE)`: the driver keeps it.
    AckKeep,
    /// Nothing: neither acknowledged nor completed.
    Nothing,
    /// The request is cancelable; `Requeue=TRUE` without unmarking it.
    RequeueCancelable,
}

struct Driver {
    hold: Cell<bool>,
    on_stop: Cell<OnStop>,
    keep_mapping: Cell<bool>,
    bar: Cell<(usize, u64)>,
    held: Cell<WDFREQUEST>,
    presented: Cell<u32>,
    stops: RefCell<Vec<u32>>,
}

thread_local! {
    static DRIVER: Driver = const {
        Driver {
            hold: Cell::new(true),
            on_stop: Cell::new(OnStop::Requeue),
            keep_mapping: Cell::new(false),
            bar: Cell::new((0, 0)),
            held: Cell::new(null_mut()),
            presented: Cell::new(0),
            stops: RefCell::new(Vec::new()),
        }
    };
}

fn drv<R>(f: impl FnOnce(&Driver) -> R) -> R {
    DRIVER.with(f)
}

fn size_u32<T>() -> u32 {
    u32::try_from(core::mem::size_of::<T>()).unwrap_or(0)
}

unsafe extern "system" fn driver_entry(
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
    let mut pnp = WDF_PNPPOWER_EVENT_CALLBACKS {
        Size: size_u32::<WDF_PNPPOWER_EVENT_CALLBACKS>(),
        EvtDevicePrepareHardware: Some(prepare_hardware),
        EvtDeviceReleaseHardware: Some(release_hardware),
        ..WDF_PNPPOWER_EVENT_CALLBACKS::default()
    };
    // SAFETY: `init` is the framework's device-init handle; `pnp` is live for the call.
    unsafe { WdfDeviceInitSetPnpPowerEventCallbacks(init, &raw mut pnp) };
    let mut device: WDFDEVICE = null_mut();
    // SAFETY: live locals; the framework consumes `init`.
    let status =
        unsafe { WdfDeviceCreate(&raw mut init, WDF_NO_OBJECT_ATTRIBUTES, &raw mut device) };
    if status < 0 {
        return status;
    }
    let mut queue = WDF_IO_QUEUE_CONFIG {
        Size: size_u32::<WDF_IO_QUEUE_CONFIG>(),
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential,
        PowerManaged: _WDF_TRI_STATE::WdfUseDefault,
        DefaultQueue: 1,
        EvtIoRead: Some(io_read),
        EvtIoStop: Some(io_stop),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    // SAFETY: a live config; the queue handle is not needed.
    unsafe { WdfIoQueueCreate(device, &raw mut queue, WDF_NO_OBJECT_ATTRIBUTES, null_mut()) }
}

unsafe extern "C" fn prepare_hardware(
    _device: WDFDEVICE,
    _raw: WDFCMRESLIST,
    translated: WDFCMRESLIST,
) -> NTSTATUS {
    // SAFETY: a handle by value.
    let count = unsafe { WdfCmResourceListGetCount(translated) };
    for index in 0..count {
        // SAFETY: a handle and an index below the count.
        let pointer = unsafe { WdfCmResourceListGetDescriptor(translated, index) };
        // SAFETY: the framework's descriptor, valid until release hardware; NULL is checked.
        let Some(descriptor) = (unsafe { pointer.as_ref() }) else {
            continue;
        };
        if u32::from(descriptor.Type) == CmResourceTypeMemory {
            // SAFETY: the type says `Memory` is the member.
            let memory = unsafe { descriptor.u.Memory };
            // SAFETY: every member of LARGE_INTEGER covers the same 8 bytes.
            let start = unsafe { memory.Start.QuadPart };
            let length = u64::from(memory.Length);
            // SAFETY: maps the device's own BAR.
            let va = unsafe {
                MmMapIoSpaceEx(
                    PHYSICAL_ADDRESS { QuadPart: start },
                    length,
                    PAGE_READWRITE | PAGE_NOCACHE,
                )
            };
            drv(|d| d.bar.set((va as usize, length)));
        }
    }
    STATUS_SUCCESS
}

unsafe extern "C" fn release_hardware(_device: WDFDEVICE, _translated: WDFCMRESLIST) -> NTSTATUS {
    let (va, length) = drv(|d| d.bar.get());
    if va != 0 && !drv(|d| d.keep_mapping.get()) {
        // SAFETY: the mapping made in prepare hardware, unmapped once.
        unsafe { MmUnmapIoSpace(va as PVOID, length) };
        drv(|d| d.bar.set((0, 0)));
    }
    STATUS_SUCCESS
}

unsafe extern "C" fn cancel(request: WDFREQUEST) {
    drv(|d| d.held.set(null_mut()));
    // SAFETY: the request is the driver's until this completion.
    unsafe { WdfRequestCompleteWithInformation(request, STATUS_CANCELLED, 0) };
}

unsafe extern "C" fn io_read(_queue: WDFQUEUE, request: WDFREQUEST, length: usize) {
    drv(|d| d.presented.set(d.presented.get() + 1));
    if !drv(|d| d.hold.get()) {
        // SAFETY: a request the driver owns, completed once.
        unsafe { WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, length as u64) };
        return;
    }
    drv(|d| d.held.set(request));
    if drv(|d| d.on_stop.get()) == OnStop::RequeueCancelable {
        // SAFETY: a request the driver owns; the routine completes it.
        let _ = unsafe { WdfRequestMarkCancelableEx(request, Some(cancel)) };
    }
}

unsafe extern "C" fn io_stop(_queue: WDFQUEUE, request: WDFREQUEST, flags: ULONG) {
    drv(|d| d.stops.borrow_mut().push(flags));
    match drv(|d| d.on_stop.get()) {
        OnStop::Requeue | OnStop::RequeueCancelable => {
            // The request goes back to the queue: the driver forgets it and will complete it
            // when it is presented again.
            drv(|d| {
                d.held.set(null_mut());
                d.hold.set(false);
            });
            // SAFETY: a request the driver owns, in its EvtIoStop.
            unsafe { WdfRequestStopAcknowledge(request, 1) };
        }
        // SAFETY: as above.
        OnStop::AckKeep => unsafe { WdfRequestStopAcknowledge(request, 0) },
        OnStop::Nothing => {}
    }
}

fn boot(on_stop: OnStop) -> (Machine, DeviceHandle) {
    drv(|d| {
        d.hold.set(true);
        d.on_stop.set(on_stop);
        d.keep_mapping.set(false);
        d.presented.set(0);
        d.stops.borrow_mut().clear();
    });
    let mut machine = Machine::new(MachineConfig {
        seed: 7,
        policy: Policy::default(),
        hardware: vec![HardwareConfig::Edu {
            config: EduConfig::default(),
            msi: true,
        }],
        trace: false,
    });
    assert_eq!(machine.load_driver(driver_entry), STATUS_SUCCESS);
    let device = machine.add_device(0).expect("start");
    (machine, device)
}

const SECOND: u64 = 1_000_000_000;
const SUSPEND: u32 = _WDF_REQUEST_STOP_ACTION_FLAGS::WdfRequestStopActionSuspend.cast_unsigned();
const PURGE: u32 = _WDF_REQUEST_STOP_ACTION_FLAGS::WdfRequestStopActionPurge.cast_unsigned();
const CANCELABLE: u32 =
    _WDF_REQUEST_STOP_ACTION_FLAGS::WdfRequestStopRequestCancelable.cast_unsigned();

fn assert_clean(report: &Report) {
    assert!(report.is_clean(), "{report}");
}

#[test]
fn requeued_at_power_down_the_request_is_presented_again_after_d0_entry() {
    let (mut machine, device) = boot(OnStop::Requeue);
    let irp = machine.submit(device, IoOp::Read { len: 16 });
    machine.run_for(SECOND);
    assert_eq!(drv(|d| d.presented.get()), 1);
    assert_eq!(machine.power_down(device), STATUS_SUCCESS);
    assert_eq!(drv(|d| d.stops.borrow().clone()), [SUSPEND]);
    assert_eq!(machine.stats().requeued, 1);
    machine.run_for(SECOND);
    assert!(machine.completion(irp).is_none(), "queued while in D3");
    assert_eq!(drv(|d| d.presented.get()), 1, "not presented in D3");
    assert_eq!(machine.power_up(device), STATUS_SUCCESS);
    let done = machine
        .run_until_complete(irp, SECOND)
        .expect("presented again");
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 16));
    assert_eq!(drv(|d| d.presented.get()), 2);
    assert_clean(&machine.unload());
}

#[test]
fn requeued_at_a_stop_the_request_finishes_after_the_restart() {
    let (mut machine, device) = boot(OnStop::Requeue);
    let irp = machine.submit(device, IoOp::Read { len: 32 });
    machine.run_for(SECOND);
    let new = NewResources {
        bar_base: Some(0xF800_0000),
        ..NewResources::default()
    };
    assert_eq!(machine.query_stop(device), STATUS_SUCCESS);
    assert_eq!(machine.stop(device), STATUS_SUCCESS);
    assert!(machine.completion(irp).is_none());
    assert_eq!(machine.restart(device, new), STATUS_SUCCESS);
    let done = machine
        .run_until_complete(irp, SECOND)
        .expect("after restart");
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 32));
    assert_eq!(drv(|d| d.stops.borrow().clone()), [SUSPEND]);
    assert_eq!(drv(|d| d.presented.get()), 2);
    assert_clean(&machine.unload());
}

#[test]
fn requeued_at_removal_the_framework_cancels_the_request() {
    let (mut machine, device) = boot(OnStop::Requeue);
    let irp = machine.submit(device, IoOp::Read { len: 8 });
    machine.run_for(SECOND);
    machine.remove(device);
    assert_eq!(drv(|d| d.stops.borrow().clone()), [PURGE]);
    let done = machine
        .take_completion(irp)
        .expect("cancelled by the purge");
    assert_eq!((done.status, done.information), (STATUS_CANCELLED, 0));
    assert_eq!(drv(|d| d.presented.get()), 1, "never presented again");
    assert_clean(&machine.unload());
}

#[test]
fn acknowledged_and_kept_the_request_gets_evtiostop_again_at_the_next_power_down() {
    let (mut machine, device) = boot(OnStop::AckKeep);
    let irp = machine.submit(device, IoOp::Read { len: 4 });
    machine.run_for(SECOND);
    assert_eq!(machine.power_down(device), STATUS_SUCCESS);
    assert_eq!(machine.stats().requeued, 0);
    assert_eq!(machine.power_up(device), STATUS_SUCCESS);
    assert_eq!(machine.power_down(device), STATUS_SUCCESS);
    assert_eq!(drv(|d| d.stops.borrow().clone()), [SUSPEND, SUSPEND]);
    assert_eq!(machine.power_up(device), STATUS_SUCCESS);
    let held = drv(|d| d.held.replace(null_mut()));
    // SAFETY: the request the driver kept; the test completes it as the driver would.
    unsafe { WdfRequestCompleteWithInformation(held, STATUS_SUCCESS, 4) };
    let done = machine.take_completion(irp).expect("completed");
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 4));
    assert_eq!(drv(|d| d.presented.get()), 1);
    assert_clean(&machine.unload());
}

#[test]
fn requeue_of_a_cancelable_request_is_refused_and_the_power_down_times_out() {
    let (mut machine, device) = boot(OnStop::RequeueCancelable);
    let _irp = machine.submit(device, IoOp::Read { len: 4 });
    machine.run_for(SECOND);
    let _ = machine.power_down(device);
    assert_eq!(drv(|d| d.stops.borrow().clone()), [SUSPEND | CANCELABLE]);
    let report = machine.report();
    let stop = report.of("STOP");
    assert_eq!(stop.len(), 1, "{report}");
    assert_eq!(stop[0].severity, Severity::Error);
    assert!(stop[0].message.contains("still cancelable"), "{report}");
    assert_eq!(
        report.of("POWER").len(),
        1,
        "the acknowledgement was ignored: {report}"
    );
    assert_eq!(machine.stats().requeued, 0);
}

#[test]
fn a_request_neither_acknowledged_nor_completed_across_a_stop_is_fatal() {
    let (mut machine, device) = boot(OnStop::Nothing);
    let _irp = machine.submit(device, IoOp::Read { len: 4 });
    machine.run_for(SECOND);
    assert_eq!(machine.query_stop(device), STATUS_SUCCESS);
    let _ = machine.stop(device);
    let report = machine.report();
    let power = report.of("POWER");
    assert_eq!(power.len(), 1, "{report}");
    assert_eq!(power[0].severity, Severity::Fatal);
    assert!(machine.halted());
}

#[test]
fn a_mapping_kept_past_release_hardware_is_reported_at_the_stop() {
    let (mut machine, device) = boot(OnStop::Requeue);
    drv(|d| d.keep_mapping.set(true));
    assert_eq!(machine.query_stop(device), STATUS_SUCCESS);
    assert_eq!(machine.stop(device), STATUS_SUCCESS);
    let report = machine.report();
    let release = report.of("RELEASE");
    assert_eq!(release.len(), 1, "{report}");
    assert_eq!(release[0].severity, Severity::Error);
    assert!(release[0].message.contains("BAR mapping"), "{report}");
}

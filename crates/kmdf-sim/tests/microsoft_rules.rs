//! Microsoft's KMDF DDI compliance rules the simulator checks at run time under their own
//! names (`docs/verifier-rules.md`, part 2): each is broken on purpose by a small in-test
//! driver and seen in the report, kept by a well-behaved driver and seen exercised in the
//! rule coverage.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]
#![allow(
    clippy::missing_safety_doc,
    clippy::panic,
    clippy::expect_used,
    clippy::struct_excessive_bools,
    reason = "test driver and test code"
)]

use core::cell::Cell;
use core::ptr::null_mut;

use kmdf_sim::devices::edu::EduConfig;
use kmdf_sim::mirror::*;
use kmdf_sim::{
    DeviceHandle, HardwareConfig, IoOp, MICROSOFT_RUN_TIME_RULES, Machine, MachineConfig, Policy,
    Report, RuleCoverage, Severity,
};

/// What the driver's `EvtIoStop` does with the request it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnStop {
    /// `WdfRequestStopAcknowledge(Requeue=TRUE)`; the request is completed when presented
    /// again.
    Requeue,
    /// `WdfRequestStopAcknowledge(Requeue=FALSE)`: the driver keeps it (completed at a
    /// purge).
    AckKeep,
    /// Completes it.
    Complete,
    /// Nothing.
    Nothing,
}

/// How the in-test driver behaves; every field's default is the correct behaviour.
#[derive(Clone, Copy, Debug)]
struct Behaviour {
    on_stop: OnStop,
    /// Register `EvtIoStop`.
    stop: bool,
    /// Register `EvtIoResume`.
    resume: bool,
    /// Mark held requests cancelable.
    cancelable: bool,
    /// `EvtIoRead` asks for the request's input buffer (`InputBufferAPI`).
    read_takes_input: bool,
    /// `EvtIoWrite` asks for the request's output buffer (`OutputBufferAPI`).
    write_takes_output: bool,
    /// `EvtIoRead` calls `WdfRequestStopAcknowledge` (`StopAckWithinEvtIoStop`).
    ack_in_read: bool,
    /// `EvtDeviceSurpriseRemoval` completes the held request with this status.
    complete_on_surprise: Option<NTSTATUS>,
}

const GOOD: Behaviour = Behaviour {
    on_stop: OnStop::Requeue,
    stop: true,
    resume: true,
    cancelable: false,
    read_takes_input: false,
    write_takes_output: false,
    ack_in_read: false,
    complete_on_surprise: None,
};

struct Driver {
    behaviour: Cell<Behaviour>,
    /// Hold reads (complete them when presented otherwise).
    hold: Cell<bool>,
    held: Cell<WDFREQUEST>,
    resumed: Cell<u32>,
}

thread_local! {
    static DRIVER: Driver = const {
        Driver {
            behaviour: Cell::new(GOOD),
            hold: Cell::new(true),
            held: Cell::new(null_mut()),
            resumed: Cell::new(0),
        }
    };
}

fn drv<R>(f: impl FnOnce(&Driver) -> R) -> R {
    DRIVER.with(f)
}

fn behaviour() -> Behaviour {
    drv(|d| d.behaviour.get())
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
        EvtDeviceSurpriseRemoval: Some(surprise_removal),
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
        EvtIoWrite: Some(io_write),
        EvtIoStop: if behaviour().stop {
            Some(io_stop)
        } else {
            None
        },
        EvtIoResume: if behaviour().resume {
            Some(io_resume)
        } else {
            None
        },
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    // SAFETY: a live config; the queue handle is not needed.
    unsafe { WdfIoQueueCreate(device, &raw mut queue, WDF_NO_OBJECT_ATTRIBUTES, null_mut()) }
}

unsafe extern "C" fn cancel(request: WDFREQUEST) {
    drv(|d| d.held.set(null_mut()));
    // SAFETY: the request is the driver's until this completion.
    unsafe { WdfRequestCompleteWithInformation(request, STATUS_CANCELLED, 0) };
}

/// Completes the held request (unmarking it first when it is cancelable), if any.
fn complete_held(status: NTSTATUS) {
    let request = drv(|d| d.held.replace(null_mut()));
    if request.is_null() {
        return;
    }
    if behaviour().cancelable {
        // SAFETY: a request the driver owns and marked cancelable.
        let unmarked = unsafe { WdfRequestUnmarkCancelable(request) };
        if unmarked == STATUS_CANCELLED {
            // The cancel routine completes it.
            return;
        }
    }
    // SAFETY: a request the driver owns, completed once.
    unsafe { WdfRequestCompleteWithInformation(request, status, 0) };
}

unsafe extern "C" fn io_read(_queue: WDFQUEUE, request: WDFREQUEST, length: usize) {
    let b = behaviour();
    if b.read_takes_input {
        let (mut buffer, mut got): (PVOID, usize) = (null_mut(), 0);
        // SAFETY: a request the driver owns and live out pointers.
        let _ = unsafe { WdfRequestRetrieveInputBuffer(request, 1, &raw mut buffer, &raw mut got) };
    }
    if b.ack_in_read {
        // SAFETY: a request the driver owns (but not in EvtIoStop).
        unsafe { WdfRequestStopAcknowledge(request, 0) };
    }
    if !drv(|d| d.hold.get()) {
        // SAFETY: a request the driver owns, completed once.
        unsafe { WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, length as u64) };
        return;
    }
    drv(|d| d.held.set(request));
    if b.cancelable {
        // SAFETY: a request the driver owns; the routine completes it.
        let _ = unsafe { WdfRequestMarkCancelableEx(request, Some(cancel)) };
    }
}

unsafe extern "C" fn io_write(_queue: WDFQUEUE, request: WDFREQUEST, length: usize) {
    if behaviour().write_takes_output {
        let (mut buffer, mut got): (PVOID, usize) = (null_mut(), 0);
        // SAFETY: a request the driver owns and live out pointers.
        let _ =
            unsafe { WdfRequestRetrieveOutputBuffer(request, 1, &raw mut buffer, &raw mut got) };
    }
    // SAFETY: a request the driver owns, completed once.
    unsafe { WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, length as u64) };
}

const PURGE: u32 = _WDF_REQUEST_STOP_ACTION_FLAGS::WdfRequestStopActionPurge.cast_unsigned();

unsafe extern "C" fn io_stop(_queue: WDFQUEUE, request: WDFREQUEST, flags: ULONG) {
    match behaviour().on_stop {
        // A removal: a request kept across a suspend is completed now.
        OnStop::AckKeep if flags & PURGE != 0 => complete_held(STATUS_CANCELLED),
        OnStop::Requeue => {
            drv(|d| {
                d.held.set(null_mut());
                d.hold.set(false);
            });
            // SAFETY: a request the driver owns, in its EvtIoStop.
            unsafe { WdfRequestStopAcknowledge(request, 1) };
        }
        // SAFETY: as above.
        OnStop::AckKeep => unsafe { WdfRequestStopAcknowledge(request, 0) },
        OnStop::Complete => complete_held(STATUS_CANCELLED),
        OnStop::Nothing => {}
    }
}

unsafe extern "C" fn io_resume(_queue: WDFQUEUE, _request: WDFREQUEST) {
    drv(|d| d.resumed.set(d.resumed.get() + 1));
}

unsafe extern "C" fn surprise_removal(_device: WDFDEVICE) {
    if let Some(status) = behaviour().complete_on_surprise {
        complete_held(status);
    }
}

const SECOND: u64 = 1_000_000_000;

fn boot(b: Behaviour) -> (Machine, DeviceHandle) {
    drv(|d| {
        d.behaviour.set(b);
        d.hold.set(true);
        d.held.set(null_mut());
        d.resumed.set(0);
    });
    let mut machine = Machine::new(MachineConfig {
        seed: 11,
        policy: Policy {
            // A power-down that waits on the driver gives up (POWER) after 1 s here.
            power_deadline_ns: SECOND,
            ..Policy::default()
        },
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

/// The rules `report` names, sorted and without repeats.
fn rules(report: &Report) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> = report
        .findings
        .iter()
        .chain(&report.compliance)
        .map(|f| f.rule)
        .collect();
    rules.sort_unstable();
    rules.dedup();
    rules
}

/// Holds one read, powers the device down and returns the report.
fn power_down_holding_a_read(b: Behaviour) -> (Machine, DeviceHandle, Report) {
    let (mut machine, device) = boot(b);
    let _irp = machine.submit(device, IoOp::Read { len: 8 });
    machine.run_for(SECOND);
    assert!(!drv(|d| d.held.get()).is_null(), "the read is held");
    let _ = machine.power_down(device);
    let report = machine.report();
    (machine, device, report)
}

#[test]
fn evtiostop_that_neither_completes_nor_acknowledges_breaks_the_stop_rules() {
    let (machine, _, report) = power_down_holding_a_read(Behaviour {
        on_stop: OnStop::Nothing,
        ..GOOD
    });
    assert_eq!(
        rules(&report),
        [
            "DrvAckIoStop",
            "EvtIoStopCancel",
            "EvtIoStopCompleteOrStopAck",
            "POWER"
        ],
        "{report}"
    );
    for rule in [
        "DrvAckIoStop",
        "EvtIoStopCancel",
        "EvtIoStopCompleteOrStopAck",
    ] {
        let found = report.of(rule);
        assert_eq!(found.len(), 1, "{report}");
        assert_eq!(found[0].severity, Severity::Warning);
    }
    assert!(report.compliance.iter().all(|f| f.rule != "POWER"));
    // The compliance rules name the request and the callback; POWER is the run-time effect.
    assert!(
        report.of("EvtIoStopCompleteOrStopAck")[0]
            .message
            .contains("EvtIoStop returned")
    );
    assert!(
        machine.halted(),
        "the power-down never ended: POWER is fatal"
    );
}

#[test]
fn a_cancelable_request_left_alone_in_evtiostop_is_not_an_evtiostopcancel_violation() {
    let (_machine, _, report) = power_down_holding_a_read(Behaviour {
        on_stop: OnStop::Nothing,
        cancelable: true,
        ..GOOD
    });
    assert!(report.has("EvtIoStopCompleteOrStopAck"), "{report}");
    assert!(report.has("DrvAckIoStop"), "{report}");
    assert!(!report.has("EvtIoStopCancel"), "{report}");
}

#[test]
fn completing_or_requeueing_in_evtiostop_keeps_every_stop_rule() {
    for on_stop in [OnStop::Requeue, OnStop::Complete] {
        let (mut machine, device, report) =
            power_down_holding_a_read(Behaviour { on_stop, ..GOOD });
        assert!(report.is_compliant(), "{on_stop:?}: {report}");
        let coverage = machine.rule_coverage();
        for rule in [
            "DrvAckIoStop",
            "EvtIoStopCompleteOrStopAck",
            "EvtIoStopCancel",
        ] {
            assert_eq!(coverage.count(rule), 1, "{on_stop:?} {rule}: {coverage}");
        }
        assert_eq!(machine.power_up(device), STATUS_SUCCESS);
        let report = machine.unload();
        assert!(report.is_compliant(), "{on_stop:?}: {report}");
    }
}

#[test]
fn a_queue_without_evtiostop_breaks_drvackiostop() {
    let (_machine, _, report) = power_down_holding_a_read(Behaviour {
        stop: false,
        ..GOOD
    });
    // No EvtIoStop ran, so only the power-down's own check applies.
    assert_eq!(rules(&report), ["DrvAckIoStop", "POWER"], "{report}");
    let drv_ack = report.of("DrvAckIoStop");
    assert!(drv_ack[0].message.contains("1 request(s)"), "{report}");
    assert!(
        drv_ack[0]
            .message
            .contains("1 of them from a queue with no EvtIoStop"),
        "{report}"
    );
}

#[test]
fn acknowledging_without_requeue_needs_evtioresume() {
    let (mut machine, device, report) = power_down_holding_a_read(Behaviour {
        on_stop: OnStop::AckKeep,
        resume: false,
        ..GOOD
    });
    let resume = report.of("EvtIoStopResume");
    assert_eq!(resume.len(), 1, "{report}");
    assert_eq!(resume[0].severity, Severity::Warning);
    assert!(report.is_clean(), "Windows detects nothing: {report}");
    assert!(!report.is_compliant());
    assert_eq!(machine.power_up(device), STATUS_SUCCESS);
    complete_held(STATUS_SUCCESS);
    drop(machine);

    let (mut machine, device, report) = power_down_holding_a_read(Behaviour {
        on_stop: OnStop::AckKeep,
        ..GOOD
    });
    assert!(report.is_compliant(), "{report}");
    assert_eq!(machine.rule_coverage().count("EvtIoStopResume"), 1);
    assert_eq!(machine.power_up(device), STATUS_SUCCESS);
    complete_held(STATUS_SUCCESS);
    assert!(machine.unload().is_compliant());
}

#[test]
fn stop_acknowledge_outside_evtiostop_is_a_verifier_error_and_is_ignored() {
    let (mut machine, device) = boot(Behaviour {
        ack_in_read: true,
        ..GOOD
    });
    let _irp = machine.submit(device, IoOp::Read { len: 8 });
    machine.run_for(SECOND);
    let report = machine.report();
    let found = report.of("StopAckWithinEvtIoStop");
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].context, "EvtIoRead");
    assert_eq!(rules(&report), ["StopAckWithinEvtIoStop"], "{report}");
    // Ignored: the request was not acknowledged, so EvtIoStop still has to act; it requeues.
    assert_eq!(machine.power_down(device), STATUS_SUCCESS);
    assert_eq!(rules(&machine.report()), ["StopAckWithinEvtIoStop"]);
}

#[test]
fn completing_from_evtdevicesurpriseremoval_breaks_its_rule() {
    let (mut machine, device) = boot(Behaviour {
        complete_on_surprise: Some(STATUS_DEVICE_REMOVED),
        ..GOOD
    });
    let irp = machine.submit(device, IoOp::Read { len: 8 });
    machine.run_for(SECOND);
    machine.surprise_remove(device);
    let done = machine.take_completion(irp).expect("completed");
    assert_eq!(done.status, STATUS_DEVICE_REMOVED);
    let report = machine.report();
    assert_eq!(
        rules(&report),
        ["EvtSurpriseRemoveNoRequestComplete"],
        "{report}"
    );
    assert_eq!(
        report.of("EvtSurpriseRemoveNoRequestComplete")[0].context,
        "EvtDeviceSurpriseRemoval"
    );
}

#[test]
fn cancelling_from_evtdevicesurpriseremoval_breaks_both_surprise_removal_rules() {
    let (mut machine, device) = boot(Behaviour {
        complete_on_surprise: Some(STATUS_CANCELLED),
        ..GOOD
    });
    let irp = machine.submit(device, IoOp::Read { len: 8 });
    machine.run_for(SECOND);
    machine.surprise_remove(device);
    assert_eq!(
        machine.take_completion(irp).map(|c| c.status),
        Some(STATUS_CANCELLED)
    );
    let report = machine.report();
    assert_eq!(
        rules(&report),
        [
            "EvtSurpriseRemoveNoRequestComplete",
            "NoCancelFromEvtSurpriseRemove"
        ],
        "{report}"
    );
}

#[test]
fn input_buffer_in_evtioread_and_output_buffer_in_evtiowrite_break_their_rules() {
    let (mut machine, device) = boot(Behaviour {
        read_takes_input: true,
        write_takes_output: true,
        ..GOOD
    });
    drv(|d| d.hold.set(false));
    let read = machine.submit(device, IoOp::Read { len: 8 });
    let write = machine.submit(device, IoOp::Write { data: vec![1; 8] });
    assert!(machine.run_until_complete(read, SECOND).is_some());
    assert!(machine.run_until_complete(write, SECOND).is_some());
    let report = machine.report();
    assert_eq!(
        rules(&report),
        ["InputBufferAPI", "OutputBufferAPI"],
        "{report}"
    );
    assert_eq!(report.of("InputBufferAPI")[0].context, "EvtIoRead");
    assert_eq!(report.of("OutputBufferAPI")[0].context, "EvtIoWrite");
    assert!(report.is_clean(), "{report}");
}

/// A well-behaved driver through reads, writes, power-downs (requeue and keep), a stop and a
/// surprise removal: every Microsoft rule the simulator enforces at run time is exercised, and
/// none is broken.
#[test]
fn representative_scenarios_exercise_every_run_time_microsoft_rule() {
    let mut total = RuleCoverage::default();
    for on_stop in [OnStop::Requeue, OnStop::AckKeep, OnStop::Complete] {
        let (mut machine, device) = boot(Behaviour { on_stop, ..GOOD });
        let read = machine.submit(device, IoOp::Read { len: 8 });
        machine.run_for(SECOND);
        let write = machine.submit(device, IoOp::Write { data: vec![2; 4] });
        assert_eq!(machine.power_down(device), STATUS_SUCCESS);
        assert_eq!(machine.power_up(device), STATUS_SUCCESS);
        if on_stop == OnStop::AckKeep {
            complete_held(STATUS_SUCCESS);
        }
        assert!(machine.run_until_complete(read, SECOND).is_some());
        assert!(machine.run_until_complete(write, SECOND).is_some());
        drv(|d| d.hold.set(true));
        let _last = machine.submit(device, IoOp::Read { len: 8 });
        machine.run_for(SECOND);
        machine.surprise_remove(device);
        let report = machine.unload();
        assert!(report.is_compliant(), "{on_stop:?}: {report}");
        total.merge(&machine.rule_coverage());
    }
    assert_eq!(
        total.never(MICROSOFT_RUN_TIME_RULES),
        [] as [&str; 0],
        "{total}"
    );
}

#[test]
fn coverage_counts_without_findings_and_lists_what_never_ran() {
    let (machine, _) = boot(GOOD);
    let coverage = machine.rule_coverage();
    assert_eq!(
        coverage.never(MICROSOFT_RUN_TIME_RULES),
        MICROSOFT_RUN_TIME_RULES
    );
    assert!(
        coverage
            .to_string()
            .contains("never exercised: DrvAckIoStop")
    );
}

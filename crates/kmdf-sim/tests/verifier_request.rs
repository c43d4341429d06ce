//! Verifier rules of requests (`kmdf-dma-semantics.md` §4.2, §4.3, §5.2, §8 R*), each broken on
//! purpose by the in-test driver.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]

mod common;

use common::{
    Bad, Knobs, Rig, SECOND, Setup, assert_finding, assert_message, assert_only, ddi, programs,
};
use kmdf_sim::mirror::{STATUS_CANCELLED, STATUS_INVALID_DEVICE_REQUEST, STATUS_SUCCESS};
use kmdf_sim::{IoOp, Policy, Severity};

const READ: IoOp = IoOp::Read { len: 512 };

fn status(value: i32) -> i64 {
    i64::from(value)
}

#[test]
fn r1_request_never_completed_is_reported_at_unload() {
    let mut rig = Rig::new(Setup::bad(Bad::NeverComplete));
    let irp = rig.submit(READ);
    assert!(rig.machine.run_until_complete(irp, 10 * SECOND).is_none());
    assert!(
        rig.machine.report().is_clean(),
        "nothing is wrong until the end of the run"
    );
    let report = rig.unload();
    let r1 = report.of("R1");
    assert_eq!(r1.len(), 1, "{report}");
    assert!(r1.iter().all(|f| f.severity == Severity::Error && f.message.contains(&format!("IRP {}", irp.0))));
    // Power-down waits for the owned request, and its buffer is still allocated at the end.
    assert_only(&report, &["R1", "POWER", "LEAK"]);
}

#[test]
fn r2_request_completed_while_the_transaction_holds_its_irp_is_fatal() {
    let mut rig = Rig::new(Setup::bad(Bad::CompleteWhileReferenced));
    let irp = rig.submit(READ);
    assert!(
        rig.machine.run_until_complete(irp, 10 * SECOND).is_none(),
        "the completion is refused"
    );
    assert_eq!(ddi("WdfDmaTransactionExecute"), [status(STATUS_SUCCESS)]);
    assert_finding(&rig.machine.report(), "R2", Severity::Fatal);
    assert!(rig.machine.halted());
}

#[test]
fn r2_execute_after_the_request_was_completed_is_fatal() {
    let mut rig = Rig::new(Setup::bad(Bad::CompleteBeforeExecute));
    let irp = rig.submit(READ);
    let done = rig
        .machine
        .run_until_complete(irp, 10 * SECOND)
        .expect("the early completion");
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 0));
    assert_eq!(
        ddi("WdfDmaTransactionExecute"),
        [status(STATUS_INVALID_DEVICE_REQUEST)]
    );
    let report = rig.machine.report();
    assert_message(&report, "R2", "completed since");
    assert_finding(&report, "R2", Severity::Fatal);
    assert!(rig.machine.halted());
}

#[test]
fn r3_second_completion_of_a_request_uses_a_dead_handle_and_is_fatal() {
    // The first completion frees the request (no WdfObjectReference in this driver), so the
    // second call passes a stale handle. KMDF's "already completed" VBREAK (§5.2) needs a
    // referenced request; without one the kernel dereferences freed memory (BADHANDLE here).
    let mut rig = Rig::new(Setup::bad(Bad::CompleteTwice));
    let irp = rig.submit(READ);
    let first = rig
        .machine
        .run_until_complete(irp, 10 * SECOND)
        .expect("the first completion");
    assert_eq!((first.status, first.information), (STATUS_SUCCESS, 0));
    let report = rig.machine.report();
    assert_finding(&report, "BADHANDLE", Severity::Fatal);
    assert_eq!(report.findings.len(), 1, "{report}");
    assert!(rig.machine.halted());
}

#[test]
fn r4_request_completed_while_still_cancelable_is_reported() {
    let mut rig = Rig::new(Setup::bad(Bad::CompleteCancelable));
    let done = rig.must(READ);
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 0));
    assert_eq!(ddi("WdfRequestMarkCancelableEx"), [status(STATUS_SUCCESS)]);
    assert!(!rig.machine.halted());
    let report = rig.unload();
    assert_finding(&report, "R4", Severity::Error);
    assert_only(&report, &["R4"]);
}

#[test]
fn r5_unmark_cancelable_on_a_request_never_marked_fails_with_invalid_device_request() {
    let mut rig = Rig::new(Setup::bad(Bad::UnmarkNotCancelable));
    let done = rig.must(READ);
    assert_eq!(
        (done.status, done.information),
        (STATUS_SUCCESS, 512),
        "the driver carries on"
    );
    assert_eq!(
        ddi("WdfRequestUnmarkCancelable"),
        [status(STATUS_INVALID_DEVICE_REQUEST)]
    );
    let report = rig.unload();
    assert_finding(&report, "D13/R5", Severity::Error);
    assert_only(&report, &["D13/R5"]);
}

#[test]
fn r6_mark_cancelable_twice_fails_with_invalid_device_request() {
    let mut rig = Rig::new(Setup::bad(Bad::MarkCancelableTwice));
    let done = rig.must(READ);
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 512));
    assert_eq!(
        ddi("WdfRequestMarkCancelableEx"),
        [
            status(STATUS_SUCCESS),
            status(STATUS_INVALID_DEVICE_REQUEST)
        ]
    );
    assert_eq!(
        ddi("WdfRequestUnmarkCancelable"),
        [status(STATUS_SUCCESS)],
        "still cancelable once"
    );
    let report = rig.unload();
    assert_finding(&report, "R6", Severity::Error);
    assert_only(&report, &["R6"]);
}

#[test]
fn r8_success_with_information_beyond_the_read_length_is_fatal() {
    let mut rig = Rig::new(Setup::bad(Bad::InformationTooLarge));
    let irp = rig.submit(READ);
    assert!(
        rig.machine.run_until_complete(irp, 10 * SECOND).is_none(),
        "the completion is refused"
    );
    let report = rig.machine.report();
    assert_finding(&report, "R8", Severity::Fatal);
    assert_message(&report, "R8", "Information 513");
    assert!(rig.machine.halted());
}

#[test]
fn r9_ioctl_without_output_buffer_completed_with_information_is_reported() {
    let mut rig = Rig::new(Setup::bad(Bad::InformationOnEmptyIoctl));
    let op = IoOp::Ioctl {
        code: common::IOCTL_RAISE,
        input: vec![],
        output_len: 0,
    };
    let done = rig.must(op);
    assert_eq!(done.status, STATUS_SUCCESS);
    assert!(done.output.is_empty(), "nothing is copied back");
    rig.machine.run_for(SECOND);
    let report = rig.unload();
    assert_finding(&report, "R9", Severity::Error);
    assert_only(&report, &["R9"]);
}

#[test]
fn r2_cancel_routine_completing_a_request_whose_dma_is_in_flight_is_fatal() {
    let mut rig = Rig::new(Setup::bad(Bad::CancelCompletesBlindly));
    let irp = rig.submit(READ);
    // The edu DMA takes 100 ms; the cancel arrives 1 ms after the request was sent.
    rig.machine.cancel_after(irp, 1_000_000);
    let _ = rig.machine.run_until_complete(irp, SECOND);
    assert_eq!(ddi("WdfDmaTransactionExecute"), [status(STATUS_SUCCESS)]);
    assert_eq!(ddi("EvtRequestCancel"), [0]);
    assert_finding(&rig.machine.report(), "R2", Severity::Fatal);
    assert!(rig.machine.halted());
}

#[test]
fn r2_control_cancel_while_waiting_for_map_registers_wins_and_completes_cancelled() {
    // Pattern A of §4.4: the grant comes 1 ms after Execute, the cancel after 100 µs.
    let policy = Policy {
        deferred_grant_percent: 100,
        grant_latency_ns: (1_000_000, 1_000_000),
        ..Setup::quiet()
    };
    let knobs = Knobs {
        cancelable: true,
        ..Knobs::PACKET
    };
    let mut rig = Rig::new(Setup {
        policy,
        knobs,
        ..Setup::bad(Bad::Nothing)
    });
    let irp = rig.submit(READ);
    rig.machine.cancel_after(irp, 100_000);
    let done = rig
        .machine
        .run_until_complete(irp, SECOND)
        .expect("the cancel path completes it");
    assert_eq!((done.status, done.information), (STATUS_CANCELLED, 0));
    assert_eq!(
        ddi("WdfDmaTransactionCancel"),
        [1],
        "the allocation was still queued"
    );
    assert!(
        programs().is_empty(),
        "no EvtProgramDma after a successful Cancel"
    );
    rig.machine.run_for(10_000_000);
    assert!(programs().is_empty(), "the stale grant is dropped");
    rig.unload_clean();
}

#[test]
fn r4_control_request_unmarked_in_program_dma_is_not_cancelled_later() {
    let knobs = Knobs {
        cancelable: true,
        ..Knobs::PACKET
    };
    let mut rig = Rig::new(Setup {
        knobs,
        ..Setup::bad(Bad::Nothing)
    });
    let irp = rig.submit(READ);
    rig.machine.cancel_after(irp, 1_000_000);
    let done = rig
        .machine
        .run_until_complete(irp, SECOND)
        .expect("the DMA path completes it");
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 512));
    assert_eq!(ddi("WdfRequestUnmarkCancelable"), [status(STATUS_SUCCESS)]);
    assert!(
        ddi("EvtRequestCancel").is_empty(),
        "a non-cancelable request gets no cancel callback"
    );
    rig.unload_clean();
}

#[test]
fn r1_control_every_request_completed_once_leaves_the_verifier_clean() {
    let mut rig = Rig::new(Setup::bad(Bad::Nothing));
    for len in [1, 512, 4096, 4097] {
        let done = rig.read(len);
        assert_eq!(
            (done.status, done.information),
            (STATUS_SUCCESS, len as u64)
        );
    }
    assert_eq!(rig.machine.stats().completions, 4);
    rig.unload_clean();
}

/// A read on a pattern-A driver, cancelled with `EvtRequestCancel` arriving late.
///
/// The request is cancelable until `EvtProgramDma` unmarks it; the IRP is cancelled at 10 µs,
/// map registers are granted at 100 µs, and the callback runs `callback_ns` after the
/// cancellation.
fn late_cancel(callback_ns: u64) -> (Rig, kmdf_sim::Irp) {
    let policy = Policy {
        deferred_grant_percent: 100,
        grant_latency_ns: (100_000, 100_000),
        deferred_cancel_percent: 100,
        cancel_latency_ns: (callback_ns, callback_ns),
        ..Setup::quiet()
    };
    let mut rig = Rig::new(Setup {
        policy,
        knobs: Knobs {
            cancelable: true,
            ..Knobs::PACKET
        },
        ..Setup::bad(Bad::Nothing)
    });
    let irp = rig.submit(READ);
    rig.machine.cancel_after(irp, 10_000);
    (rig, irp)
}

#[test]
fn r5_completion_while_the_cancel_callback_is_still_due_is_fatal() {
    // The cancel routine is slow to arrive (another processor): the IRP is cancelled at 10 µs,
    // EvtProgramDma runs at 100 µs and EvtRequestCancel only at 500 µs. In between,
    // WdfRequestUnmarkCancelable returns STATUS_CANCELLED and the request is not the driver's to
    // complete. This driver completes it in EvtProgramDma anyway, which is only safe when the
    // callback has already run.
    let (mut rig, irp) = late_cancel(500_000);
    assert!(rig.machine.run_until_complete(irp, SECOND).is_none());
    assert_eq!(
        ddi("WdfRequestUnmarkCancelable"),
        [status(STATUS_CANCELLED)],
        "EvtProgramDma saw the cancellation before the callback ran"
    );
    let report = rig.machine.report();
    assert_finding(&report, "R5", Severity::Fatal);
    assert_eq!(report.findings.len(), 1, "{report}");
    assert!(rig.machine.halted());
}

#[test]
fn deferred_cancel_callback_runs_once_and_a_correct_driver_completes_once() {
    // The same window with the cancel arriving first: EvtRequestCancel runs at 50 µs, after
    // the cancellation at 10 µs but before the grant at 100 µs. Cancel wins (nothing was
    // programmed) and the callback completes the request.
    let (mut rig, irp) = late_cancel(40_000);
    let done = rig
        .machine
        .run_until_complete(irp, SECOND)
        .expect("the callback completes the request");
    assert_eq!((done.status, done.information), (STATUS_CANCELLED, 0));
    assert!(programs().is_empty(), "nothing was programmed");
    rig.unload_clean();
}

//! System-mode DMA rules (`kmdf-dma-semantics.md` §3, §8 S*) with the in-test driver on the
//! FIFO peripheral and its controller channel, plus S1 on the bus-master driver.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]
#![allow(
    clippy::expect_used,
    reason = "test helpers fail the test when a request never completes"
)]

mod common;

use common::{
    Bad, Ev, Rig, SECOND, Setup, assert_finding, assert_only, completions, ddi, events, pattern,
    programs,
};
use kmdf_sim::devices::sysdma::ControllerEvent;
use kmdf_sim::mirror::{DMA_COMPLETION_STATUS, STATUS_CANCELLED, STATUS_SUCCESS};
use kmdf_sim::{IoOp, Severity};

#[test]
fn s1_stop_system_transfer_on_a_bus_master_transaction_is_ignored_with_a_finding() {
    let mut rig = Rig::new(Setup::bad(Bad::StopOnBusMaster));
    let data = pattern(4096, 1);
    let done = rig.write(&data);
    assert_eq!(
        (done.status, done.information),
        (STATUS_SUCCESS, 4096),
        "the transfer was not stopped"
    );
    assert_eq!(rig.machine.edu(0, |edu| edu.buffer().to_vec()), data);
    assert!(
        !events()
            .iter()
            .any(|e| matches!(e, Ev::TransferComplete(_))),
        "the callback was not registered"
    );
    let report = rig.unload();
    // StopSystemTransfer and SetTransferCompleteCallback: one finding each.
    assert_eq!(report.of("S1").len(), 2, "{report}");
    assert_finding(&report, "S1", Severity::Error);
    assert_only(&report, &["S1"]);
}

#[test]
fn s2_stop_system_transfer_twice_is_fatal() {
    let mut rig = Rig::new(Setup::system(Bad::StopTwice));
    let irp = rig.submit(IoOp::Write {
        data: pattern(4096, 2),
    });
    rig.machine.cancel_after(irp, 30_000);
    let _ = rig.machine.run_until_complete(irp, SECOND);
    assert!(
        ddi("WdfDmaTransactionCancel").is_empty(),
        "EvtProgramDma already ran: the test driver does not try Cancel"
    );
    assert_eq!(ddi("WdfDmaTransactionStopSystemTransfer").len(), 2);
    assert_finding(&rig.machine.report(), "S2", Severity::Fatal);
    assert!(rig.machine.halted());
}

#[test]
fn s5_dma_completed_before_the_transfer_complete_callback_is_fatal() {
    let mut rig = Rig::new(Setup::system(Bad::CompleteBeforeNotification));
    let irp = rig.submit(IoOp::Write {
        data: pattern(4096, 5),
    });
    let _ = rig.machine.run_until_complete(irp, SECOND);
    assert_eq!(ddi("WdfDmaTransactionExecute"), [i64::from(STATUS_SUCCESS)]);
    assert_eq!(completions().len(), 1);
    assert!(
        !events()
            .iter()
            .any(|e| matches!(e, Ev::TransferComplete(_)))
    );
    assert_finding(&rig.machine.report(), "S5", Severity::Fatal);
    assert!(rig.machine.halted());
}

#[test]
fn e9_system_transaction_initialized_on_an_unconfigured_enabler_is_fatal() {
    let mut rig = Rig::new(Setup::system(Bad::SkipSystemConfigure));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert!(ddi("WdfDmaEnablerConfigureSystemProfile").is_empty());
    let irp = rig.submit(IoOp::Write {
        data: pattern(512, 9),
    });
    let _ = rig.machine.run_until_complete(irp, SECOND);
    assert!(!events().iter().any(|e| matches!(e, Ev::Program { .. })));
    assert_finding(&rig.machine.report(), "E9", Severity::Fatal);
    assert!(rig.machine.halted());
}

/// A system write of `len` bytes cancelled 30 µs in, whose transfer-complete callback calls
/// `DmaCompleted` (not `…Final`) after the stop.
fn stopped_then_completed(len: usize) -> (Rig, kmdf_sim::IoCompletion, Option<u64>) {
    let mut rig = Rig::new(Setup::system(Bad::CompleteInsteadOfFinal));
    let irp = rig.submit(IoOp::Write {
        data: pattern(len, 7),
    });
    rig.machine.cancel_after(irp, 30_000);
    let done = rig
        .machine
        .run_until_complete(irp, SECOND)
        .expect("the stopped write completes");
    let stopped = rig.machine.system_dma(0, |_, controller| {
        controller.log().iter().find_map(|e| match e {
            ControllerEvent::Stopped {
                bytes,
                already_finished: false,
                ..
            } => Some(*bytes),
            _ => None,
        })
    });
    (rig, done, stopped)
}

#[test]
fn s7_dma_completed_after_a_stop_with_bytes_remaining_ends_cancelled_and_over_counts() {
    let (rig, done, stopped) = stopped_then_completed(8192);
    let stopped = stopped.expect("the controller was stopped");
    assert!(
        stopped < 4096,
        "stopped inside the first transfer: {stopped}"
    );
    assert_eq!(programs().len(), 1, "the next transfer is never staged");
    // Never FALSE after a stop (§3.2, D1): TRUE with STATUS_CANCELLED because bytes remain.
    assert_eq!(completions(), [(true, STATUS_CANCELLED)]);
    // DmaCompleted counts the stopped transfer in full, so the byte count over-counts.
    assert_eq!((done.status, done.information), (STATUS_CANCELLED, 4096));
    rig.unload_clean();
}

#[test]
fn s7_dma_completed_after_a_stop_of_the_last_transfer_ends_with_success() {
    let (rig, done, stopped) = stopped_then_completed(4096);
    assert!(stopped.is_some_and(|bytes| bytes < 4096));
    assert_eq!(
        completions(),
        [(true, STATUS_SUCCESS)],
        "nothing remains, so success"
    );
    // The canceller chose the request's status; the count is the (over-counted) full transfer.
    assert_eq!((done.status, done.information), (STATUS_CANCELLED, 4096));
    rig.unload_clean();
}

#[test]
fn s5_control_system_round_trip_completes_from_the_transfer_complete_callback() {
    let mut rig = Rig::new(Setup::system(Bad::Nothing));
    let data = pattern(4096, 9);
    let written = rig.write(&data);
    assert_eq!(
        (written.status, written.information),
        (STATUS_SUCCESS, 4096)
    );
    assert_eq!(
        rig.machine
            .system_dma(0, |peripheral, _| peripheral.ring().to_vec()),
        data
    );
    let read = rig.read(4096);
    assert_eq!((read.status, read.information), (STATUS_SUCCESS, 4096));
    assert_eq!(read.output, data);
    let notifications: Vec<i32> = events()
        .iter()
        .filter_map(|e| {
            if let Ev::TransferComplete(s) = e {
                Some(*s)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(notifications, [DMA_COMPLETION_STATUS::DmaComplete; 2]);
    assert_eq!(completions(), [(true, STATUS_SUCCESS); 2]);
    assert_eq!(
        ddi("WdfRequestUnmarkCancelable"),
        [i64::from(STATUS_SUCCESS); 2]
    );
    rig.unload_clean();
}

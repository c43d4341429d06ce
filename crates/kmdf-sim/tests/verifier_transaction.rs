//! Verifier rules of DMA transactions (`kmdf-dma-semantics.md` §2, §4.1, §8 T*), each broken on
//! purpose by the in-test driver, with correct counterparts where the rule has a legal twin.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]

mod common;

use common::{
    Bad, Ev, Hw, Knobs, Rig, SECOND, Setup, assert_finding, assert_only, completions, ddi, events,
    pattern, programs,
};
use kmdf_sim::devices::edu::EduEvent;
use kmdf_sim::mirror::{
    _WDF_DMA_PROFILE, STATUS_DEVICE_NOT_READY, STATUS_INVALID_DEVICE_REQUEST,
    STATUS_INVALID_PARAMETER, STATUS_MORE_PROCESSING_REQUIRED, STATUS_SUCCESS,
};
use kmdf_sim::{IoOp, Policy, Severity};

const READ: IoOp = IoOp::Read { len: 512 };

/// Runs one 512-byte read through a driver with `bad` and returns the rig.
fn read_with(bad: Bad) -> (Rig, Option<kmdf_sim::IoCompletion>) {
    let mut rig = Rig::new(Setup::bad(bad));
    let done = rig.run(READ);
    (rig, done)
}

fn assert_fatal(rig: &Rig, rule: &str) {
    let report = rig.machine.report();
    assert_finding(&report, rule, Severity::Fatal);
    assert!(
        rig.machine.halted(),
        "a bugcheck halts the machine\n{report}"
    );
}

fn status(value: i32) -> i64 {
    i64::from(value)
}

#[test]
fn t2_initialize_twice_without_release_is_fatal() {
    let (rig, done) = read_with(Bad::InitializeTwice);
    assert!(done.is_none());
    let inits = ddi("WdfDmaTransactionInitializeUsingRequest");
    assert_eq!(inits.len(), 2);
    assert_eq!(inits.first(), Some(&status(STATUS_SUCCESS)));
    assert_fatal(&rig, "T2");
}

#[test]
fn t4_read_request_initialized_for_the_write_direction_fails_with_invalid_device_request() {
    let mut rig = Rig::new(Setup::bad(Bad::WrongDirection));
    for _ in 0..2 {
        // The failed initialisation released the transaction, so the second one is legal (no T2).
        let done = rig.read(512);
        assert_eq!(
            (done.status, done.information),
            (STATUS_INVALID_DEVICE_REQUEST, 0)
        );
    }
    assert_eq!(
        ddi("WdfDmaTransactionInitializeUsingRequest"),
        [status(STATUS_INVALID_DEVICE_REQUEST); 2]
    );
    assert!(programs().is_empty());
    // KMDF returns the status without a verifier break (§2.3), so nothing is reported.
    rig.unload_clean();
}

#[test]
fn t4_method_neither_ioctl_fails_with_invalid_device_request_and_a_finding() {
    let mut rig = Rig::new(Setup::bad(Bad::Nothing));
    let op = IoOp::Ioctl {
        code: common::IOCTL_READ_NEITHER,
        input: vec![],
        output_len: 512,
    };
    let done = rig.must(op);
    assert_eq!(
        (done.status, done.information),
        (STATUS_INVALID_DEVICE_REQUEST, 0)
    );
    assert_eq!(
        ddi("WdfDmaTransactionInitializeUsingRequest"),
        [status(STATUS_INVALID_DEVICE_REQUEST)]
    );
    let report = rig.unload();
    assert_finding(&report, "T4", Severity::Error);
    assert_only(&report, &["T4"]);
}

#[test]
fn t4_read_on_a_neither_io_device_fails_with_invalid_device_request_and_a_finding() {
    let mut rig = Rig::new(Setup::bad(Bad::NeitherIo));
    let done = rig.read(512);
    assert_eq!(
        (done.status, done.information),
        (STATUS_INVALID_DEVICE_REQUEST, 0)
    );
    assert!(programs().is_empty());
    let report = rig.unload();
    assert_finding(&report, "T4", Severity::Error);
    assert_only(&report, &["T4"]);
}

#[test]
fn t5_method_buffered_read_longer_than_the_input_buffer_is_fatal() {
    let mut rig = Rig::new(Setup::bad(Bad::Nothing));
    let op = IoOp::Ioctl {
        code: common::IOCTL_READ_BUFFERED,
        input: vec![0; 16],
        output_len: 4096,
    };
    let _ = rig.run(op);
    assert_eq!(
        ddi("WdfDmaTransactionInitializeUsingRequest"),
        [status(STATUS_INVALID_PARAMETER)]
    );
    assert!(
        programs().is_empty(),
        "no transfer may start over a short MDL"
    );
    assert_fatal(&rig, "T5");
}

#[test]
fn t5_method_buffered_read_within_the_input_buffer_is_accepted() {
    let mut rig = Rig::new(Setup::bad(Bad::Nothing));
    let data = pattern(4096, 5);
    assert_eq!(rig.write(&data).status, STATUS_SUCCESS);
    let op = IoOp::Ioctl {
        code: common::IOCTL_READ_BUFFERED,
        input: vec![0; 4096],
        output_len: 4096,
    };
    let done = rig.must(op);
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 4096));
    assert_eq!(
        done.output, data,
        "the system buffer carries the device data back"
    );
    rig.unload_clean();
}

#[test]
fn t6_execute_twice_is_fatal() {
    let (rig, _) = read_with(Bad::ExecuteTwice);
    let executes = ddi("WdfDmaTransactionExecute");
    assert_eq!(executes.len(), 2);
    assert_eq!(executes.first(), Some(&status(STATUS_SUCCESS)));
    assert_fatal(&rig, "T6");
}

#[test]
fn t8_second_packet_transaction_of_a_v2_device_fails_with_wdf_busy() {
    let knobs = Knobs::PACKET_V2.with(Bad::SecondPacketTransaction);
    let mut rig = Rig::new(Setup {
        hw: Hw::Edu32,
        knobs,
        ..Setup::bad(Bad::Nothing)
    });
    let data = pattern(4096, 8);
    let done = rig.write(&data);
    assert_eq!(
        (done.status, done.information),
        (STATUS_SUCCESS, 4096),
        "the first transaction is unaffected"
    );
    assert_eq!(
        ddi("WdfDmaTransactionExecute"),
        [status(STATUS_SUCCESS), status(common::STATUS_WDF_BUSY)]
    );
    assert_eq!(
        ddi("WdfDmaTransactionRelease"),
        [status(STATUS_SUCCESS)],
        "release after a failed Execute"
    );
    assert_eq!(rig.machine.edu(0, |edu| edu.buffer().to_vec()), data);
    let report = rig.unload();
    assert_finding(&report, "T8", Severity::Error);
    assert_only(&report, &["T8"]);
}

#[test]
fn t9_dma_completed_after_the_transaction_ended_is_fatal() {
    let (rig, _) = read_with(Bad::CompleteAfterFinal);
    let calls = completions();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls.first(), Some(&(true, STATUS_SUCCESS)));
    assert_fatal(&rig, "T9");
}

#[test]
fn t10_dma_completed_while_waiting_for_map_registers_is_fatal() {
    let policy = Policy {
        deferred_grant_percent: 100,
        ..Setup::quiet()
    };
    let mut rig = Rig::new(Setup {
        policy,
        ..Setup::bad(Bad::CompleteWhileWaiting)
    });
    let _ = rig.run(READ);
    assert_eq!(ddi("WdfDmaTransactionExecute"), [status(STATUS_SUCCESS)]);
    assert!(
        programs().is_empty(),
        "the HAL had not granted the map registers yet"
    );
    assert_eq!(completions().len(), 1);
    assert_fatal(&rig, "T10");
}

#[test]
fn t11_dma_completed_with_length_beyond_the_transfer_ends_it_with_invalid_parameter() {
    let (mut rig, done) = read_with(Bad::CompleteTooLong);
    let done = done.expect("the driver completes the request with the error");
    assert_eq!(
        (done.status, done.information),
        (STATUS_INVALID_PARAMETER, 0)
    );
    assert_eq!(
        completions(),
        [(true, STATUS_INVALID_PARAMETER)],
        "TRUE: the transaction ended"
    );
    assert!(!rig.machine.halted());
    let report = rig.unload();
    assert_finding(&report, "T11", Severity::Error);
    assert_only(&report, &["T11"]);
}

/// The stuck transaction of T13: `EvtProgramDma` returned FALSE and nobody ended it.
fn stuck_transaction() -> Rig {
    let mut rig = Rig::new(Setup::bad(Bad::ProgramFalse));
    let irp = rig.submit(READ);
    assert!(
        rig.machine.run_until_complete(irp, 60 * SECOND).is_none(),
        "the request hangs"
    );
    assert_eq!(programs(), [(512, 0)]);
    let started = rig.machine.edu(0, |edu| {
        edu.log()
            .iter()
            .any(|e| matches!(e, EduEvent::DmaStarted { .. }))
    });
    assert!(!started, "the driver never started the device");
    assert!(
        !rig.machine.halted(),
        "KMDF ignores EvtProgramDma's return value"
    );
    rig
}

#[test]
fn t13_program_dma_returning_false_alone_leaves_the_transaction_stuck_until_unload() {
    let mut rig = stuck_transaction();
    let report = rig.unload();
    // Release hardware deletes the enabler with the transaction still in Transfer (T19), and the
    // request never completes (R1).
    assert_finding(&report, "T19", Severity::Fatal);
    assert_finding(&report, "R1", Severity::Error);
}

#[test]
fn t13_program_dma_returning_false_alone_is_reported_as_t13() {
    let mut rig = stuck_transaction();
    let report = rig.unload();
    assert!(report.has("T13"), "{report}");
}

#[test]
fn t13_control_program_dma_that_ends_with_final_before_returning_false_leaves_nothing_stuck() {
    let mut rig = Rig::new(Setup::bad(Bad::ProgramAborts));
    let done = rig.read(512);
    assert_eq!(
        (done.status, done.information),
        (STATUS_DEVICE_NOT_READY, 0)
    );
    assert_eq!(programs(), [(512, 0)]);
    assert_eq!(
        completions(),
        [(true, STATUS_SUCCESS)],
        "Final always ends the transaction"
    );
    assert_eq!(
        ddi("WdfDmaTransactionExecute"),
        [status(STATUS_SUCCESS)],
        "Execute still succeeds"
    );
    let started = rig.machine.edu(0, |edu| {
        edu.log()
            .iter()
            .any(|e| matches!(e, EduEvent::DmaStarted { .. }))
    });
    assert!(!started);
    rig.unload_clean();
}

#[test]
fn t11_control_with_length_zero_restages_the_same_transfer() {
    let knobs = Knobs {
        partial: Some((0, 0)),
        ..Knobs::PACKET
    };
    let mut rig = Rig::new(Setup {
        knobs,
        ..Setup::bad(Bad::Nothing)
    });
    let data = pattern(4096, 11);
    let done = rig.write(&data);
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 4096));
    assert_eq!(
        programs(),
        [(4096, 0), (4096, 0)],
        "the retry starts at the same offset"
    );
    assert_eq!(
        completions(),
        [
            (false, STATUS_MORE_PROCESSING_REQUIRED),
            (true, STATUS_SUCCESS)
        ]
    );
    assert_eq!(rig.machine.edu(0, |edu| edu.buffer().to_vec()), data);
    rig.unload_clean();
}

#[test]
fn t18_release_while_executing_is_fatal() {
    let (rig, _) = read_with(Bad::ReleaseWhileExecuting);
    assert_fatal(&rig, "T18");
}

#[test]
fn t19_delete_while_executing_is_fatal() {
    let (rig, _) = read_with(Bad::DeleteWhileExecuting);
    assert_fatal(&rig, "T19");
}

#[test]
fn t21_set_maximum_length_before_initialize_is_fatal() {
    let (rig, _) = read_with(Bad::MaximumLengthBeforeInitialize);
    assert!(ddi("WdfDmaTransactionInitializeUsingRequest").is_empty());
    assert_fatal(&rig, "T21");
}

#[test]
fn t21_set_maximum_length_after_initialize_shortens_every_transfer() {
    let knobs = Knobs {
        set_maximum_length: Some(1024),
        ..Knobs::PACKET
    };
    let mut rig = Rig::new(Setup {
        knobs,
        ..Setup::bad(Bad::Nothing)
    });
    let data = pattern(4096, 21);
    assert_eq!(rig.write(&data).information, 4096);
    assert_eq!(
        programs(),
        [(1024, 0), (1024, 1024), (1024, 2048), (1024, 3072)]
    );
    let read = rig.read(4096);
    assert_eq!((read.status, read.information), (STATUS_SUCCESS, 4096));
    assert_eq!(read.output, data);
    rig.unload_clean();
}

#[test]
fn t24_cancel_on_a_dma_v2_enabler_is_refused_with_a_finding() {
    let knobs = Knobs::PACKET_V2.with(Bad::CancelOnV2);
    let mut rig = Rig::new(Setup {
        hw: Hw::Edu32,
        knobs,
        ..Setup::bad(Bad::Nothing)
    });
    let done = rig.read(512);
    assert_eq!(
        (done.status, done.information),
        (STATUS_SUCCESS, 512),
        "nothing was cancelled"
    );
    assert_eq!(ddi("WdfDmaTransactionCancel"), [0]);
    let report = rig.unload();
    assert_finding(&report, "T24", Severity::Error);
    assert_only(&report, &["T24"]);
}

#[test]
fn t27_cancel_on_a_created_transaction_is_fatal() {
    let (rig, _) = read_with(Bad::CancelCreated);
    assert_eq!(ddi("WdfDmaTransactionCancel"), [0]);
    assert_fatal(&rig, "T27");
}

#[test]
fn t10_control_deferred_grant_programs_after_execute_returned() {
    // §7.1 variation (a): the HAL grants later, so Execute returns before EvtProgramDma runs.
    let policy = Policy {
        deferred_grant_percent: 100,
        ..Setup::quiet()
    };
    let mut rig = Rig::new(Setup {
        policy,
        ..Setup::bad(Bad::Nothing)
    });
    let done = rig.read(512);
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 512));
    let order: Vec<&str> = events()
        .iter()
        .filter_map(|e| match e {
            Ev::Ddi("WdfDmaTransactionExecute", _) => Some("execute"),
            Ev::Program { .. } => Some("program"),
            Ev::Completed { .. } => Some("completed"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["execute", "program", "completed"]);
    rig.unload_clean();
}

#[test]
fn t15_a_scatter_gather_list_stays_valid_until_its_transfer_completes() {
    // Packet and system lists die with EvtProgramDma; a scatter/gather profile's list is the
    // driver's until the transfer's DmaCompleted*, so the DPC may still read it.
    let knobs = Knobs {
        profile: _WDF_DMA_PROFILE::WdfDmaProfileScatterGather64,
        width: 0,
        ..Knobs::PACKET
    };
    let mut rig = Rig::new(Setup {
        knobs,
        // Scatter/gather bouncing is not simulated and edu masks addresses to 28 bits, so the
        // device's writes land outside the mapped pages; this test is about the list's life.
        policy: kmdf_sim::Policy {
            check_dma_windows: false,
            ..Setup::quiet()
        },
        ..Setup::bad(Bad::Nothing)
    });
    let done = rig.must(IoOp::Read { len: 3 * 4096 });
    assert_eq!(done.status, STATUS_SUCCESS);
    let mut programmed = Vec::new();
    let mut read_in_dpc = Vec::new();
    for event in events() {
        match event {
            Ev::Program { elements, .. } => programmed.push(elements),
            Ev::ListInDpc(elements) => read_in_dpc.push(elements),
            _ => {}
        }
    }
    assert_eq!(programmed.len(), 3, "one transfer per page");
    assert_eq!(read_in_dpc, programmed, "the DPC saw each list intact");
    assert!(!rig.machine.report().has("T15"), "{}", rig.machine.report());
}

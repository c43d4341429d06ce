//! Framework-wide verifier rules: handles and arguments (BADHANDLE, NULLARG), the interrupt
//! lock (I1), interrupt storms (STORM), locks and IRQL on callback return (LOCK, T16), DDIs at
//! DIRQL (T17) and what is left at unload (LEAK), each broken on purpose by the in-test driver.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]

mod common;

use common::{
    Bad, Hw, IOCTL_RAISE, Rig, SECOND, Setup, assert_finding, assert_message, assert_only, ddi,
};
use kmdf_sim::mirror::STATUS_SUCCESS;
use kmdf_sim::{IoOp, Policy, Severity};

const READ: IoOp = IoOp::Read { len: 512 };

const fn raise() -> IoOp {
    IoOp::Ioctl {
        code: IOCTL_RAISE,
        input: vec![],
        output_len: 0,
    }
}

/// Runs one read through a driver with `bad`; returns the rig once the machine stopped.
fn read_with(bad: Bad) -> Rig {
    let mut rig = Rig::new(Setup::bad(bad));
    let _ = rig.run(READ);
    rig
}

fn assert_fatal(rig: &Rig, rule: &str) {
    let report = rig.machine.report();
    assert_finding(&report, rule, Severity::Fatal);
    assert!(
        rig.machine.halted(),
        "a bugcheck halts the machine\n{report}"
    );
}

#[test]
fn badhandle_made_up_transaction_handle_is_fatal() {
    let rig = read_with(Bad::BogusHandle);
    assert_fatal(&rig, "BADHANDLE");
    let report = rig.machine.report();
    assert_message(&report, "BADHANDLE", "0x12345678");
}

#[test]
fn badhandle_enabler_passed_as_a_transaction_is_fatal() {
    let rig = read_with(Bad::WrongHandleType);
    assert_fatal(&rig, "BADHANDLE");
    let report = rig.machine.report();
    assert_message(
        &report,
        "BADHANDLE",
        "WDFDMAENABLER, not a WDFDMATRANSACTION",
    );
}

#[test]
fn badhandle_spin_lock_parent_that_was_deleted_is_fatal() {
    let rig = Rig::new(Setup::bad(Bad::SpinLockDeadParent));
    assert_eq!(
        ddi("WdfSpinLockCreate").first(),
        Some(&i64::from(STATUS_SUCCESS))
    );
    assert_fatal(&rig, "BADHANDLE");
}

#[test]
fn nullarg_dma_completed_without_a_status_pointer_is_fatal() {
    let rig = read_with(Bad::NullStatus);
    assert_fatal(&rig, "NULLARG");
}

#[test]
fn i1_interrupt_lock_acquired_twice_is_a_fatal_deadlock() {
    let rig = read_with(Bad::InterruptLockTwice);
    assert_fatal(&rig, "I1");
    let report = rig.machine.report();
    assert_message(&report, "I1", "deadlock");
}

#[test]
fn i1_interrupt_lock_before_the_interrupt_is_connected_acquires_nothing() {
    let mut rig = Rig::new(Setup::bad(Bad::InterruptLockBeforeConnect));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert!(!rig.machine.halted());
    // Nothing was acquired, so prepare hardware returned holding no lock and the device works.
    let done = rig.read(512);
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 512));
    let report = rig.unload();
    assert_finding(&report, "I1", Severity::Error);
    assert_only(&report, &["I1"]);
}

#[test]
fn storm_intx_isr_that_never_acknowledges_is_fatal() {
    let policy = Policy {
        storm_limit: 20,
        ..Setup::quiet()
    };
    let mut rig = Rig::new(Setup {
        hw: Hw::EduIntx,
        policy,
        ..Setup::bad(Bad::NoAck)
    });
    let raised = rig.must(raise());
    assert_eq!(raised.status, STATUS_SUCCESS);
    rig.machine.run_for(SECOND);
    assert_fatal(&rig, "STORM");
    assert_eq!(
        rig.machine.stats().isr_calls,
        21,
        "the limit plus the run that tripped it"
    );
    assert!(
        rig.machine.edu(0, kmdf_sim::devices::edu::Edu::intx_level),
        "the line is still asserted"
    );
}

#[test]
fn storm_control_intx_isr_that_acknowledges_runs_once_per_interrupt() {
    let policy = Policy {
        storm_limit: 20,
        ..Setup::quiet()
    };
    let mut rig = Rig::new(Setup {
        hw: Hw::EduIntx,
        policy,
        ..Setup::bad(Bad::Nothing)
    });
    assert_eq!(rig.must(raise()).status, STATUS_SUCCESS);
    rig.machine.run_for(SECOND);
    let data = common::pattern(4096, 3);
    assert_eq!(rig.write(&data).information, 4096);
    assert_eq!(rig.read(4096).output, data);
    assert_eq!(
        rig.machine.stats().isr_calls,
        3,
        "one software raise and two DMA completions"
    );
    assert!(!rig.machine.edu(0, kmdf_sim::devices::edu::Edu::intx_level));
    rig.unload_clean();
}

#[test]
fn lock_callback_returning_with_a_spin_lock_held_is_fatal() {
    let rig = read_with(Bad::SpinLockHeld);
    assert_fatal(&rig, "LOCK");
    let report = rig.machine.report();
    assert_message(&report, "LOCK", "EvtIoRead returned holding 1 lock");
}

#[test]
fn t16_program_dma_returning_below_its_entry_irql_is_fatal() {
    // EvtIoRead (PASSIVE) takes a spin lock and executes; EvtProgramDma (entered at DISPATCH,
    // nested in Execute) releases the caller's lock and so returns at PASSIVE_LEVEL.
    let rig = read_with(Bad::ReleaseCallerLock);
    assert_fatal(&rig, "T16");
    let report = rig.machine.report();
    assert_message(
        &report,
        "T16",
        "EvtProgramDma entered at Dispatch and returned at Passive",
    );
    assert!(!report.has("LOCK"), "no lock is left held\n{report}");
}

#[test]
fn t17_dma_ddi_called_from_the_isr_is_fatal() {
    let rig = read_with(Bad::DmaDdiInIsr);
    assert_fatal(&rig, "T17/IRQL");
    let report = rig.machine.report();
    assert!(
        report
            .of("T17/IRQL")
            .iter()
            .all(|f| f.context == "EvtInterruptIsr"),
        "{report}"
    );
    assert_message(&report, "T17/IRQL", "WdfDmaTransactionDmaCompleted");
}

#[test]
fn t17_dma_query_called_from_the_isr_is_fatal() {
    let rig = read_with(Bad::DmaQueryInIsr);
    assert_fatal(&rig, "T17/IRQL");
    assert_message(
        &rig.machine.report(),
        "T17/IRQL",
        "WdfDmaTransactionGetBytesTransferred called at Dirql",
    );
}

#[test]
fn t17_mmio_unmapped_at_dispatch_level_is_legal() {
    let mut rig = Rig::new(Setup::bad(Bad::UnmapAtDispatch));
    assert_eq!(rig.must(raise()).status, STATUS_SUCCESS);
    rig.machine.run_for(SECOND);
    assert!(rig.machine.report().is_clean(), "{}", rig.machine.report());
    rig.unload_clean();
}

#[test]
fn leak_mmio_mapping_never_unmapped_is_reported_at_unload() {
    let mut rig = Rig::new(Setup::bad(Bad::LeakMapping));
    let done = rig.read(512);
    assert_eq!(done.status, STATUS_SUCCESS);
    let report = rig.unload();
    assert_finding(&report, "LEAK", Severity::Error);
    assert!(
        report
            .of("LEAK")
            .iter()
            .all(|f| f.message.contains("MMIO mappings never unmapped")),
        "{report}"
    );
    // The removal at unload reports it first, at EvtDeviceReleaseHardware.
    assert_finding(&report, "RELEASE", Severity::Error);
    assert_only(&report, &["LEAK", "RELEASE"]);
}

#[test]
fn leak_objects_of_a_driver_that_parents_everything_go_with_the_device() {
    // The object part of LEAK only sees driver-created objects that no deletion reaches: with
    // every object parented to the driver or the device (enabler, transactions, interrupt,
    // queue, spin lock), unload deletes them all and the check stays silent.
    let mut rig = Rig::new(Setup::bad(Bad::Nothing));
    assert_eq!(rig.read(512).status, STATUS_SUCCESS);
    assert!(
        rig.machine.stats().objects_created >= 7,
        "{:?}",
        rig.machine.stats()
    );
    rig.unload_clean();
}

#[test]
fn map_device_memory_mapped_cached_is_reported() {
    // Legal for memory, wrong for registers: reads may come from the cache.
    let mut rig = Rig::new(Setup::bad(Bad::MapCached));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    let report = rig.unload();
    assert_finding(&report, "MAP", Severity::Warning);
    assert_only(&report, &["MAP"]);
}

#[test]
fn map_without_a_page_protection_fails_and_is_reported() {
    let mut rig = Rig::new(Setup::bad(Bad::MapNoProtection));
    assert_eq!(
        rig.start.err(),
        Some(kmdf_sim::mirror::STATUS_INSUFFICIENT_RESOURCES)
    );
    let report = rig.unload();
    assert_finding(&report, "MAP", Severity::Error);
    assert_only(&report, &["MAP"]);
}

#[test]
fn a_timer_without_a_parent_fails_with_parent_not_specified() {
    let mut rig = Rig::new(Setup::bad(Bad::TimerWithoutParent));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert_eq!(
        ddi("WdfTimerCreate"),
        [i64::from(common::STATUS_WDF_PARENT_NOT_SPECIFIED)]
    );
    let report = rig.unload();
    assert_finding(&report, "ATTRIBUTES", Severity::Error);
    assert_only(&report, &["ATTRIBUTES"]);
}

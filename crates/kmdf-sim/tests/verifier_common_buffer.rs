//! Common-buffer rules (`kmdf-dma-semantics.md` §6, §8 C1, C2), broken on purpose by the in-test
//! driver, and a correct common buffer reachable with the enabler's address width.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]

mod common;

use common::{Bad, IOCTL_RAISE, Knobs, Rig, SECOND, Setup, assert_finding, assert_only, ddi};
use kmdf_sim::mirror::{STATUS_INVALID_PARAMETER, STATUS_SUCCESS};
use kmdf_sim::{IoOp, Severity};

#[test]
fn c1_common_buffer_of_length_zero_fails_with_invalid_parameter() {
    let mut rig = Rig::new(Setup::bad(Bad::CommonBufferZeroLength));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert_eq!(
        ddi("WdfCommonBufferCreate"),
        [i64::from(STATUS_INVALID_PARAMETER)]
    );
    let report = rig.unload();
    assert_finding(&report, "C1", Severity::Error);
    assert_only(&report, &["C1"]);
}

#[test]
fn c1_common_buffer_with_a_parent_object_fails_with_parent_assignment_not_allowed() {
    let mut rig = Rig::new(Setup::bad(Bad::CommonBufferParent));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert_eq!(
        ddi("WdfCommonBufferCreate"),
        [i64::from(common::STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED)]
    );
    let report = rig.unload();
    assert_finding(&report, "C1", Severity::Error);
    assert_only(&report, &["C1"]);
}

#[test]
fn c2_common_buffer_deleted_from_a_dpc_is_fatal() {
    let mut rig = Rig::new(Setup::bad(Bad::CommonBufferDeleteInDpc));
    assert_eq!(ddi("WdfCommonBufferCreate"), [i64::from(STATUS_SUCCESS)]);
    let raised = rig.must(IoOp::Ioctl {
        code: IOCTL_RAISE,
        input: vec![],
        output_len: 0,
    });
    assert_eq!(raised.status, STATUS_SUCCESS);
    rig.machine.run_for(SECOND);
    let report = rig.machine.report();
    assert_finding(&report, "C2", Severity::Fatal);
    assert!(
        report
            .of("C2")
            .iter()
            .all(|f| f.context == "EvtInterruptDpc"),
        "{report}"
    );
    assert!(rig.machine.halted());
}

#[test]
fn c1_control_common_buffer_is_reachable_within_the_enabler_address_width() {
    let knobs = Knobs {
        common_buffer: 3 * 4096,
        ..Knobs::PACKET
    };
    let mut rig = Rig::new(Setup {
        knobs,
        ..Setup::bad(Bad::Nothing)
    });
    assert_eq!(ddi("WdfCommonBufferCreate"), [i64::from(STATUS_SUCCESS)]);
    assert_eq!(ddi("WdfCommonBufferGetLength"), [3 * 4096]);
    let logical = ddi("WdfCommonBufferGetAlignedLogicalAddress");
    assert!(
        logical.iter().all(|a| *a > 0 && a + 3 * 4096 <= 1 << 28),
        "the 28-bit device must reach it: {logical:x?}"
    );
    // Deleted with its enabler in release hardware: nothing is left.
    assert_eq!(rig.read(512).status, STATUS_SUCCESS);
    rig.unload_clean();
}

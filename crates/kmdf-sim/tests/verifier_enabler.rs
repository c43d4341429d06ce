//! Verifier rules of the DMA enabler (`kmdf-dma-semantics.md` §1, §8 E*) and of transaction
//! creation (T1), each broken on purpose by the in-test driver.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]

mod common;

use common::{Bad, Knobs, Rig, SECOND, Setup, assert_finding, assert_only, ddi};
use kmdf_sim::mirror::{
    _WDF_DMA_PROFILE, STATUS_INFO_LENGTH_MISMATCH, STATUS_INVALID_DEVICE_REQUEST,
    STATUS_INVALID_PARAMETER, STATUS_SUCCESS,
};
use kmdf_sim::{IoOp, Severity};

/// Starts the device with `setup` and asserts that `WdfDmaEnablerCreate` failed it with
/// `status`, reporting only `rule` (an error, not a bugcheck).
fn enabler_create_fails(setup: Setup, status: i32, rule: &str) {
    let mut rig = Rig::new(setup);
    assert_eq!(rig.start.err(), Some(status));
    assert_eq!(ddi("WdfDmaEnablerCreate"), [i64::from(status)]);
    let report = rig.unload();
    assert_finding(&report, rule, Severity::Error);
    assert_only(&report, &[rule]);
}

#[test]
fn e1_enabler_created_from_a_dpc_fails_with_invalid_device_request() {
    let mut rig = Rig::new(Setup::bad(Bad::EnablerInDpc));
    let raised = rig.must(IoOp::Ioctl {
        code: common::IOCTL_RAISE,
        input: vec![],
        output_len: 0,
    });
    assert_eq!(raised.status, STATUS_SUCCESS);
    rig.machine.run_for(SECOND);
    assert_eq!(
        ddi("WdfDmaEnablerCreate"),
        [i64::from(STATUS_INVALID_DEVICE_REQUEST)]
    );
    let report = rig.machine.report();
    assert_finding(&report, "E1", Severity::Error);
    assert!(
        !rig.machine.halted(),
        "an IRQLCHK failure is not a bugcheck\n{report}"
    );
}

#[test]
fn e2_enabler_config_size_mismatch_fails_with_info_length_mismatch() {
    enabler_create_fails(
        Setup::bad(Bad::EnablerSize),
        STATUS_INFO_LENGTH_MISMATCH,
        "E2",
    );
}

#[test]
fn e2_enabler_maximum_length_zero_fails_with_invalid_parameter() {
    enabler_create_fails(
        Setup::bad(Bad::EnablerZeroLength),
        STATUS_INVALID_PARAMETER,
        "E2",
    );
}

#[test]
fn e3_address_width_40_on_the_32_bit_packet_profile_fails_with_invalid_parameter() {
    let knobs = Knobs {
        width: 40,
        ..Knobs::PACKET
    };
    enabler_create_fails(
        Setup {
            knobs,
            ..Setup::bad(Bad::Nothing)
        },
        STATUS_INVALID_PARAMETER,
        "E3",
    );
}

#[test]
fn e3_address_width_40_on_the_64_bit_packet_profile_is_accepted() {
    let knobs = Knobs {
        width: 40,
        profile: _WDF_DMA_PROFILE::WdfDmaProfilePacket64,
        ..Knobs::PACKET
    };
    let rig = Rig::new(Setup {
        knobs,
        ..Setup::bad(Bad::Nothing)
    });
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert_eq!(ddi("WdfDmaEnablerCreate"), [i64::from(STATUS_SUCCESS)]);
    rig.unload_clean();
}

#[test]
fn e4_version_override_below_the_implied_version_fails_with_invalid_parameter() {
    // A non-zero AddressWidthOverride implies DMA v3; asking for v2 is below it.
    let knobs = Knobs {
        version: 2,
        ..Knobs::PACKET
    };
    enabler_create_fails(
        Setup {
            knobs,
            ..Setup::bad(Bad::Nothing)
        },
        STATUS_INVALID_PARAMETER,
        "E4",
    );
}

#[test]
fn e8_configure_system_profile_on_a_bus_master_enabler_fails_with_invalid_parameter() {
    let mut rig = Rig::new(Setup::bad(Bad::ConfigureSystemOnBusMaster));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert_eq!(
        ddi("WdfDmaEnablerConfigureSystemProfile"),
        [i64::from(STATUS_INVALID_PARAMETER)]
    );
    // The bus-master enabler itself is untouched and still works.
    let read = rig.read(512);
    assert_eq!((read.status, read.information), (STATUS_SUCCESS, 512));
    let report = rig.unload();
    assert_finding(&report, "E8", Severity::Error);
    assert_only(&report, &["E8"]);
}

#[test]
fn e8_configuring_a_non_duplex_system_enabler_twice_fails_with_invalid_parameter() {
    let mut rig = Rig::new(Setup::system(Bad::ConfigureSystemTwice));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert_eq!(
        ddi("WdfDmaEnablerConfigureSystemProfile"),
        [
            i64::from(STATUS_SUCCESS),
            i64::from(STATUS_INVALID_PARAMETER)
        ]
    );
    let data = common::pattern(1024, 8);
    let written = rig.write(&data);
    assert_eq!(
        (written.status, written.information),
        (STATUS_SUCCESS, 1024)
    );
    let report = rig.unload();
    assert_finding(&report, "E8", Severity::Error);
    assert_only(&report, &["E8"]);
}

fn duplex(bad: Bad) -> Setup {
    Setup {
        knobs: Knobs {
            profile: _WDF_DMA_PROFILE::WdfDmaProfileSystemDuplex,
            ..Knobs::SYSTEM.with(bad)
        },
        ..Setup::system(bad)
    }
}

#[test]
fn e8_a_duplex_system_enabler_is_configured_once_per_direction_and_serves_both() {
    let mut rig = Rig::new(duplex(Bad::Nothing));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert_eq!(
        ddi("WdfDmaEnablerConfigureSystemProfile"),
        [i64::from(STATUS_SUCCESS), i64::from(STATUS_SUCCESS)],
        "write, then read"
    );
    let data = common::pattern(1024, 9);
    let written = rig.write(&data);
    assert_eq!(
        (written.status, written.information),
        (STATUS_SUCCESS, 1024)
    );
    let read = rig.must(IoOp::Read { len: 1024 });
    assert_eq!((read.status, read.information), (STATUS_SUCCESS, 1024));
    assert_eq!(read.output, data);
    rig.unload_clean();
}

#[test]
fn e9_a_transaction_for_a_direction_the_duplex_enabler_never_configured_is_fatal() {
    let mut rig = Rig::new(duplex(Bad::DuplexWriteOnly));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    let written = rig.write(&common::pattern(64, 10));
    assert_eq!(written.status, STATUS_SUCCESS, "writes were configured");
    let irp = rig.submit(IoOp::Read { len: 64 });
    let _ = rig.machine.run_until_complete(irp, SECOND);
    assert_eq!(
        ddi("WdfDmaTransactionInitializeUsingRequest").last(),
        Some(&i64::from(STATUS_INVALID_DEVICE_REQUEST))
    );
    let report = rig.machine.report();
    assert_finding(&report, "E9", Severity::Fatal);
    assert!(rig.machine.halted());
}

#[test]
fn t1_transaction_created_with_a_parent_object_fails_with_parent_assignment_not_allowed() {
    let mut rig = Rig::new(Setup::bad(Bad::TransactionParent));
    assert_eq!(
        rig.start.err(),
        Some(common::STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED)
    );
    assert_eq!(
        ddi("WdfDmaTransactionCreate"),
        [i64::from(common::STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED)]
    );
    let report = rig.unload();
    assert_finding(&report, "T1", Severity::Error);
    assert_only(&report, &["T1"]);
}

#[test]
fn attributes_of_the_wrong_size_fail_creation_with_info_length_mismatch_and_create_nothing() {
    let mut rig = Rig::new(Setup::bad(Bad::TransactionAttributesSize));
    assert_eq!(rig.start.err(), Some(STATUS_INFO_LENGTH_MISMATCH));
    assert_eq!(
        ddi("WdfDmaTransactionCreate"),
        [i64::from(STATUS_INFO_LENGTH_MISMATCH)]
    );
    // No transaction was left behind: the unload finds nothing else (no LEAK).
    let report = rig.unload();
    assert_finding(&report, "ATTRIBUTES", Severity::Error);
    assert_only(&report, &["ATTRIBUTES"]);
}

#[test]
fn attributes_not_made_with_wdf_object_attributes_init_fail_creation_with_attributes_invalid() {
    // Zeroed attributes carry WdfExecutionLevelInvalid and WdfSynchronizationScopeInvalid,
    // which KMDF's FxValidateObjectAttributes refuses.
    let mut rig = Rig::new(Setup::bad(Bad::TransactionAttributesZeroed));
    assert_eq!(
        rig.start.err(),
        Some(common::STATUS_WDF_OBJECT_ATTRIBUTES_INVALID)
    );
    assert_eq!(
        ddi("WdfDmaTransactionCreate"),
        [i64::from(common::STATUS_WDF_OBJECT_ATTRIBUTES_INVALID)]
    );
    let report = rig.unload();
    assert_finding(&report, "ATTRIBUTES", Severity::Error);
    assert_only(&report, &["ATTRIBUTES"]);
}

#[test]
fn interrupt_with_a_parent_object_and_no_automatic_serialization_fails_to_be_created() {
    let mut rig = Rig::new(Setup::bad(Bad::InterruptParent));
    assert_eq!(
        rig.start.err(),
        Some(common::STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED)
    );
    let report = rig.unload();
    assert_finding(&report, "ATTRIBUTES", Severity::Error);
    assert_only(&report, &["ATTRIBUTES"]);
}

#[test]
fn e2_control_a_correct_enabler_config_starts_the_device_cleanly() {
    let rig = Rig::new(Setup::bad(Bad::Nothing));
    assert!(rig.start.is_ok(), "{}", rig.machine.report());
    assert_eq!(ddi("WdfDmaEnablerCreate"), [i64::from(STATUS_SUCCESS)]);
    assert_eq!(
        rig.machine.report().findings.len(),
        0,
        "{}",
        rig.machine.report()
    );
    rig.unload_clean();
}

//! The sequence diagrams of `kmdf-dma-semantics.md` §7, replayed step by step with the in-test
//! driver: the order of the callbacks and DDI results, the byte counts, and the data.
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
    Bad, Ev, Knobs, Rig, Setup, completions, ddi, events, pattern, programs, take_events,
};
use kmdf_sim::devices::edu::{EduDmaDirection, EduEvent};
use kmdf_sim::devices::sysdma::ControllerEvent;
use kmdf_sim::mirror::{
    DMA_COMPLETION_STATUS, STATUS_CANCELLED, STATUS_MORE_PROCESSING_REQUIRED, STATUS_SUCCESS,
};
use kmdf_sim::{IoOp, Policy};

const MORE: i32 = STATUS_MORE_PROCESSING_REQUIRED;

/// One line per step the driver saw, for order comparisons.
fn steps() -> Vec<String> {
    events()
        .iter()
        .map(|e| match e {
            Ev::Program {
                length,
                elements,
                transferred,
                current,
                ..
            } => {
                format!("program {length} at {transferred} ({elements} element, current {current})")
            }
            Ev::Completed { finished, status } => format!("completed {finished} {status:#010x}"),
            Ev::TransferComplete(status) => format!("transfer complete {status}"),
            Ev::ListInDpc(elements) => format!("list in DPC: {elements} element(s)"),
            Ev::Ddi(name, value) => format!("{name} {:#x}", value & 0xFFFF_FFFF),
        })
        .collect()
}

/// The 7.1 setup: packet profile, `MaximumLength` 4 KiB, two map registers, so the fragment length
/// is min(4096, (2 - 1) * 4096) = 4096.
fn setup_7_1(knobs: Knobs) -> Setup {
    let policy = Policy {
        map_registers: Some(2),
        ..Setup::quiet()
    };
    Setup {
        policy,
        knobs,
        ..Setup::bad(Bad::Nothing)
    }
}

/// Counts of the device's device-to-RAM DMA commands.
fn device_reads(rig: &Rig) -> Vec<u64> {
    rig.machine.edu(0, |edu| {
        edu.log()
            .iter()
            .filter_map(|e| match e {
                EduEvent::Dma(d) if d.direction == EduDmaDirection::DeviceToRam => Some(d.count),
                _ => None,
            })
            .collect()
    })
}

#[test]
fn seq_7_1_packet_read_of_10_kib_runs_as_three_transfers() {
    let mut rig = Rig::new(setup_7_1(Knobs::PACKET));
    let device_data = pattern(4096, 71);
    assert_eq!(
        rig.write(&device_data).information,
        4096,
        "fill the device buffer"
    );
    take_events();

    let done = rig.read(10 * 1024);

    let expected = [
        "WdfDmaTransactionInitializeUsingRequest 0x0",
        // Granted inside Execute: the first EvtProgramDma runs before Execute returns.
        "program 4096 at 0 (1 element, current 4096)",
        "WdfDmaTransactionExecute 0x0",
        // Transfer #2 is staged inside the first DmaCompleted, before it returns FALSE.
        "program 4096 at 4096 (1 element, current 4096)",
        "completed false 0xc0000016",
        "program 2048 at 8192 (1 element, current 2048)",
        "completed false 0xc0000016",
        "completed true 0x00000000",
    ];
    assert_eq!(steps(), expected);
    assert_eq!(programs(), [(4096, 0), (4096, 4096), (2048, 8192)]);
    assert_eq!(
        completions(),
        [(false, MORE), (false, MORE), (true, STATUS_SUCCESS)]
    );
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 10240));
    assert_eq!(device_reads(&rig), [4096, 4096, 2048]);
    // Each transfer starts at device-buffer offset (bytes transferred) % 4096 = 0.
    let expected_data: Vec<u8> = device_data
        .iter()
        .chain(&device_data)
        .chain(&device_data[..2048])
        .copied()
        .collect();
    assert_eq!(done.output, expected_data);
    rig.unload_clean();
}

#[test]
fn seq_7_1a_deferred_grant_runs_the_first_program_dma_after_execute_returned() {
    let mut setup = setup_7_1(Knobs::PACKET);
    setup.policy.deferred_grant_percent = 100;
    let mut rig = Rig::new(setup);
    take_events();
    let done = rig.read(10 * 1024);
    let steps = steps();
    assert_eq!(
        steps.get(1).map(String::as_str),
        Some("WdfDmaTransactionExecute 0x0")
    );
    assert_eq!(
        steps.get(2).map(String::as_str),
        Some("program 4096 at 0 (1 element, current 4096)")
    );
    // Later transfers are still staged inside DmaCompleted: the map registers are held for the
    // whole transaction.
    assert_eq!(programs(), [(4096, 0), (4096, 4096), (2048, 8192)]);
    assert_eq!(
        completions(),
        [(false, MORE), (false, MORE), (true, STATUS_SUCCESS)]
    );
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 10240));
    rig.unload_clean();
}

#[test]
fn seq_7_1b_partial_second_transfer_moves_the_third_to_offset_7096_with_3144_bytes() {
    let knobs = Knobs {
        partial: Some((1, 3000)),
        ..Knobs::PACKET
    };
    let mut rig = Rig::new(setup_7_1(knobs));
    let device_data = pattern(4096, 72);
    assert_eq!(rig.write(&device_data).information, 4096);
    take_events();

    let done = rig.read(10 * 1024);

    // Three transfers in total; the third starts where the reported bytes end.
    assert_eq!(programs(), [(4096, 0), (4096, 4096), (3144, 7096)]);
    assert_eq!(
        completions(),
        [(false, MORE), (false, MORE), (true, STATUS_SUCCESS)]
    );
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 10240));
    assert_eq!(device_reads(&rig), [4096, 4096, 3144]);
    // Transfer #2 delivered 3000 bytes; transfer #3 (which would wrap the 4 KiB device buffer, so the
    // driver starts it at device-buffer offset 0) overwrote the rest of that transfer's range.
    let expected: Vec<u8> = device_data
        .iter()
        .chain(&device_data[..3000])
        .chain(&device_data[..3144])
        .copied()
        .collect();
    assert_eq!(done.output, expected);
    rig.unload_clean();
}

#[test]
fn seq_7_1c_second_packet_transaction_of_a_v2_device_is_busy() {
    let knobs = Knobs::PACKET_V2.with(Bad::SecondPacketTransaction);
    let mut rig = Rig::new(Setup {
        hw: common::Hw::Edu32,
        ..setup_7_1(knobs)
    });
    let done = rig.read(10 * 1024);
    assert_eq!((done.status, done.information), (STATUS_SUCCESS, 10240));
    assert_eq!(
        ddi("WdfDmaTransactionExecute"),
        [0, i64::from(common::STATUS_WDF_BUSY)]
    );
    assert_eq!(
        programs(),
        [(4096, 0), (4096, 4096), (2048, 8192)],
        "only the first transaction ran"
    );
    let report = rig.unload();
    common::assert_only(&report, &["T8"]);
}

/// Runs the 7.2 write and cancels it `cancel_ns` after it was sent.
fn cancelled_system_write(
    policy: Policy,
    cancel_ns: u64,
) -> (Rig, kmdf_sim::IoCompletion, Vec<u8>) {
    cancelled_system_write_with(Bad::Nothing, policy, cancel_ns)
}

/// [`cancelled_system_write`] with a driver variant.
fn cancelled_system_write_with(
    bad: Bad,
    policy: Policy,
    cancel_ns: u64,
) -> (Rig, kmdf_sim::IoCompletion, Vec<u8>) {
    let mut rig = Rig::new(Setup {
        policy,
        ..Setup::system(bad)
    });
    take_events();
    let data = pattern(4096, 72);
    let irp = rig.submit(IoOp::Write { data: data.clone() });
    rig.machine.cancel_after(irp, cancel_ns);
    let done = rig
        .machine
        .run_until_complete(irp, common::SECOND)
        .expect("the cancelled write completes");
    (rig, done, data)
}

#[test]
fn seq_7_2_system_transfer_stopped_by_cancellation_completes_cancelled_with_the_bytes_moved() {
    let (rig, done, data) = cancelled_system_write(Setup::quiet(), 30_000);

    let expected = [
        "WdfRequestMarkCancelableEx 0x0",
        "WdfDmaTransactionInitializeUsingRequest 0x0",
        "program 4096 at 0 (1 element, current 4096)",
        "WdfDmaTransactionExecute 0x0",
        "EvtRequestCancel 0x0",
        // EvtProgramDma already ran, so Cancel is no longer allowed (Learn); the cancel routine
        // stops the transfer.
        "WdfDmaTransactionStopSystemTransfer 0x0",
        "transfer complete 3",
        // DmaCompletedFinal ends the transaction with success; the request keeps STATUS_CANCELLED.
        "completed true 0x00000000",
        "WdfRequestUnmarkCancelable 0xc0000120",
    ];
    assert_eq!(steps(), expected);
    assert_eq!(
        events()
            .iter()
            .find_map(|e| if let Ev::TransferComplete(s) = e {
                Some(*s)
            } else {
                None
            }),
        Some(DMA_COMPLETION_STATUS::DmaCancelled)
    );
    // The controller's own count at the stop: what the driver read from the peripheral's COUNT
    // register and passed to DmaCompletedFinal.
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
    assert_eq!(done.status, STATUS_CANCELLED);
    assert_eq!(
        Some(done.information),
        stopped,
        "Information is the count passed to Final"
    );
    assert!(
        done.information > 0 && done.information < 4096,
        "stopped mid-transfer: {}",
        done.information
    );
    let peripheral_ring = rig
        .machine
        .system_dma(0, |peripheral, _| peripheral.ring().to_vec());
    let n = usize::try_from(done.information).unwrap_or(0);
    assert_eq!(
        peripheral_ring.get(..n),
        data.get(..n),
        "the moved prefix reached the peripheral"
    );
    assert!(
        peripheral_ring
            .get(n..)
            .is_some_and(|rest| rest.iter().all(|b| *b == 0)),
        "nothing after the stop"
    );
    rig.unload_clean();
}

#[test]
fn seq_7_2_cancel_while_the_channel_is_still_queued_wins_and_nothing_is_programmed() {
    let policy = Policy {
        deferred_grant_percent: 100,
        grant_latency_ns: (1_000_000, 1_000_000),
        ..Setup::quiet()
    };
    let (mut rig, done, _) = cancelled_system_write(policy, 100_000);
    assert_eq!(
        ddi("WdfDmaTransactionCancel"),
        [1],
        "the allocation was still queued"
    );
    assert!(
        programs().is_empty(),
        "no EvtProgramDma after a successful Cancel"
    );
    assert!(ddi("WdfDmaTransactionStopSystemTransfer").is_empty());
    assert!(
        !events()
            .iter()
            .any(|e| matches!(e, Ev::TransferComplete(_)))
    );
    assert_eq!((done.status, done.information), (STATUS_CANCELLED, 0));
    rig.machine.run_for(10_000_000);
    rig.unload_clean();
}

#[test]
fn seq_7_2_stop_before_the_transfer_was_mapped_reports_dma_cancelled_without_program_dma() {
    let policy = Policy {
        deferred_grant_percent: 100,
        grant_latency_ns: (1_000_000, 1_000_000),
        ..Setup::quiet()
    };
    let (rig, done, _) = cancelled_system_write_with(Bad::StopWithoutCancel, policy, 100_000);
    let expected = [
        "WdfRequestMarkCancelableEx 0x0",
        "WdfDmaTransactionInitializeUsingRequest 0x0",
        "WdfDmaTransactionExecute 0x0",
        "EvtRequestCancel 0x0",
        "WdfDmaTransactionStopSystemTransfer 0x0",
        // At the grant, mapping fails and KMDF invents the notification (§3.1).
        "transfer complete 3",
        "completed true 0x00000000",
        "WdfRequestUnmarkCancelable 0xc0000120",
    ];
    assert_eq!(steps(), expected);
    assert_eq!((done.status, done.information), (STATUS_CANCELLED, 0));
    let started = rig.machine.system_dma(0, |_, controller| {
        controller
            .log()
            .iter()
            .any(|e| matches!(e, ControllerEvent::Started { .. }))
    });
    assert!(!started, "the controller never ran");
    rig.unload_clean();
}

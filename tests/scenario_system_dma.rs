//! The system-mode personality: a FIFO peripheral served by a platform DMA controller.
//! Round trips, cancellation through `WdfDmaTransactionStopSystemTransfer`, controller errors,
//! stalls and short transfers, each completed once with the bytes that really moved.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::similar_names,
    clippy::cast_possible_truncation,
    reason = "test code: a failed expectation is a test failure"
)]
mod common;

use common::{Hw, Rig, SECOND, pattern, ring_after_write, ring_read, status};
use edu_api::{DeviceInfo, DmaMode, IOCTL_EDU_GET_INFO};
use kmdf_sim::IoOp;
use kmdf_sim::devices::sysdma::{ControllerEvent, ControllerFault};

const US: u64 = 1_000;

fn ring(rig: &Rig) -> Vec<u8> {
    rig.machine
        .system_dma(0, |peripheral, _| peripheral.ring().to_vec())
}

/// Bytes the controller moved in total.
fn controller_moved(rig: &Rig) -> u64 {
    rig.machine
        .system_dma(0, |_, controller| controller.bytes_moved())
}

#[test]
fn system_profile_round_trips_move_the_data() {
    for size in [1, 4096, 4097, 1 << 20] {
        let mut rig = Rig::new(40 + size as u64, Hw::System);
        let data = pattern(size, size as u64);
        let written = rig.write(&data);
        assert_eq!(
            (written.status, written.information),
            (status::SUCCESS, size as u64),
            "write {size}"
        );
        let expected = ring_after_write(&[0; 4096], 0, &data);
        assert_eq!(ring(&rig), expected, "peripheral ring after {size}");
        let back = rig.read(size);
        assert_eq!(
            (back.status, back.information),
            (status::SUCCESS, size as u64),
            "read {size}"
        );
        assert_eq!(
            back.output,
            ring_read(&expected, 0, size),
            "read data {size}"
        );
        assert_eq!(controller_moved(&rig), 2 * size as u64);
        rig.finish_clean();
    }
}

#[test]
fn get_info_reports_system_mode() {
    let mut rig = Rig::new(41, Hw::System);
    let done = rig.ioctl(IOCTL_EDU_GET_INFO, &[], DeviceInfo::SIZE);
    let info = DeviceInfo::from_bytes(&done.output).expect("info");
    assert_eq!(info.dma_mode, DmaMode::System as u32);
    assert_eq!(info.device_id, 0x534D_0001);
    rig.finish_clean();
}

#[test]
fn cancel_stops_the_controller_and_reports_the_bytes_it_moved() {
    let mut rig = Rig::new(42, Hw::System);
    let irp = rig.submit_write(64 * 1024, 3);
    rig.machine.cancel_after(irp, 100 * US);
    let done = rig.wait(irp);
    assert_eq!(done.status, status::CANCELLED);
    assert!(
        done.information > 0 && done.information < 64 * 1024,
        "{}",
        done.information
    );
    assert_eq!(
        done.information,
        controller_moved(&rig),
        "Information equals what the controller moved"
    );
    // The cancel stopped the transfer in flight (WdfDmaTransactionStopSystemTransfer) rather
    // than waiting for it to finish.
    let stopped_mid_transfer = rig.machine.system_dma(0, |_, controller| {
        controller.log().iter().any(|event| {
            matches!(
                event,
                ControllerEvent::Stopped {
                    already_finished: false,
                    ..
                }
            )
        })
    });
    assert!(stopped_mid_transfer, "no transfer was stopped in flight");
    rig.assert_usable("after the stop");
    rig.finish_clean();
}

#[test]
fn cancel_at_any_moment_completes_once_with_the_bytes_moved() {
    for seed in 0..40 {
        let mut rig = Rig::new(2000 + seed, Hw::System);
        let len = 5 * 4096 + 33;
        let irp = rig.machine.submit(rig.device, IoOp::Read { len });
        rig.machine
            .cancel_after(irp, kmdf_sim::Rng::new(seed).below(400 * US));
        let done = rig.wait(irp);
        assert_eq!(done.information, controller_moved(&rig), "seed {seed}");
        assert!(
            matches!(done.status, status::SUCCESS | status::CANCELLED),
            "seed {seed}: {:#x}",
            done.status
        );
        if done.status == status::SUCCESS {
            assert_eq!(done.information, len as u64, "seed {seed}");
        }
        rig.finish_clean();
    }
}

#[test]
fn controller_error_fails_the_request_with_the_bytes_moved() {
    let mut rig = Rig::new(43, Hw::System);
    rig.machine
        .inject_controller(0, ControllerFault::Error { after_bytes: 1000 });
    let done = rig.write(&pattern(4096, 4));
    assert_eq!(
        (done.status, done.information),
        (status::DEVICE_DATA_ERROR, 1000)
    );
    assert_eq!(done.information, controller_moved(&rig));
    rig.finish_clean();
}

#[test]
fn stalled_controller_is_stopped_by_the_watchdog() {
    let mut rig = Rig::new(44, Hw::System);
    rig.machine
        .inject_controller(0, ControllerFault::Stall { after_bytes: 512 });
    let done = rig.write(&pattern(8192, 5));
    assert_eq!(done.status, status::IO_TIMEOUT);
    assert_eq!(done.information, controller_moved(&rig));
    assert!(done.time_ns >= SECOND, "the 1 s watchdog fired");
    let next = rig.read(64);
    assert_eq!(
        (next.status, next.information),
        (status::SUCCESS, 64),
        "the next request works"
    );
    rig.finish_clean();
}

#[test]
fn short_transfer_is_completed_with_its_length_and_the_rest_restaged() {
    let mut rig = Rig::new(45, Hw::System);
    rig.machine
        .inject_controller(0, ControllerFault::ShortTransfer { bytes: 1500 });
    let data = pattern(4096, 6);
    let done = rig.write(&data);
    assert_eq!((done.status, done.information), (status::SUCCESS, 4096));
    assert_eq!(
        ring(&rig),
        ring_after_write(&[0; 4096], 0, &data),
        "the restaged rest landed right"
    );
    rig.finish_clean();
}

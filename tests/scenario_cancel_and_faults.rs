//! Cancellation, the watchdog, device faults, power and removal on the simulated edu device:
//! every request completes exactly once, with the right status and the bytes that really
//! moved, and the verifier stays clean.

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

use common::{Hw, Rig, SECOND, bytes_after_commands, command_ends, pattern, status};
use kmdf_sim::devices::edu::{Edu, EduFault};
use kmdf_sim::{IoOp, Policy};

const MS: u64 = 1_000_000;

/// Bytes the edu engine copied so far.
fn moved(rig: &Rig) -> u64 {
    rig.machine.edu(0, Edu::bytes_moved)
}

#[test]
fn cancel_while_waiting_for_map_registers_wins_with_zero_bytes() {
    let policy = Policy {
        deferred_grant_percent: 100,
        grant_latency_ns: (10 * MS, 10 * MS),
        ..Policy::default()
    };
    let mut rig = Rig::with_policy(21, Hw::EduMsi, policy);
    let irp = rig.submit_write(16384, 1);
    rig.machine.cancel_after(irp, MS);
    let done = rig.wait(irp);
    assert_eq!((done.status, done.information), (status::CANCELLED, 0));
    assert_eq!(moved(&rig), 0, "nothing was programmed");
    rig.assert_usable("the channel is reusable");
    rig.finish_clean();
}

#[test]
fn cancel_mid_transfer_ends_at_the_fragment_boundary_with_the_bytes_moved() {
    let mut rig = Rig::new(22, Hw::EduMsi);
    let irp = rig.submit_write(16 * 4096, 2);
    rig.machine.cancel_after(irp, 250 * MS);
    let done = rig.wait(irp);
    assert_eq!(done.status, status::CANCELLED);
    assert_eq!(
        done.information,
        bytes_after_commands(16 * 4096, 3),
        "the third fragment was in flight and finished"
    );
    assert_eq!(
        done.information,
        moved(&rig),
        "Information equals what the device moved"
    );
    rig.finish_clean();
}

#[test]
fn cancel_of_a_read_reports_the_bytes_already_delivered() {
    let mut rig = Rig::new(23, Hw::EduIntx);
    let irp = rig.machine.submit(rig.device, IoOp::Read { len: 8 * 4096 });
    rig.machine.cancel_after(irp, 150 * MS);
    let done = rig.wait(irp);
    assert_eq!(
        (done.status, done.information),
        (status::CANCELLED, bytes_after_commands(8 * 4096, 2))
    );
    assert_eq!(done.information, moved(&rig));
    rig.finish_clean();
}

#[test]
fn cancel_at_any_moment_completes_once_with_the_bytes_moved() {
    for seed in 0..40 {
        let mut rig = Rig::new(
            1000 + seed,
            if seed % 2 == 0 {
                Hw::EduMsi
            } else {
                Hw::EduIntx
            },
        );
        let len = 3 * 4096 + 100;
        let irp = rig.submit_write(len, seed);
        let at = kmdf_sim::Rng::new(seed).below(450 * MS);
        rig.machine.cancel_after(irp, at);
        let done = rig.wait(irp);
        assert_eq!(
            done.information,
            moved(&rig),
            "seed {seed}: Information equals bytes moved"
        );
        match done.status {
            status::SUCCESS => assert_eq!(done.information, len as u64, "seed {seed}"),
            status::CANCELLED => assert!(
                done.information < len as u64
                    && (done.information == 0 || command_ends(len).contains(&done.information)),
                "seed {seed}"
            ),
            other => panic!("seed {seed}: unexpected status {other:#x}"),
        }
        rig.finish_clean();
    }
}

#[test]
fn lost_interrupt_is_recovered_by_the_watchdog() {
    let mut rig = Rig::new(24, Hw::EduMsi);
    rig.machine.inject_edu(0, EduFault::LostInterrupt);
    let data = pattern(4096 + 7, 3);
    let done = rig.write(&data);
    assert_eq!(
        (done.status, done.information),
        (status::SUCCESS, data.len() as u64)
    );
    assert!(
        done.time_ns >= SECOND,
        "the watchdog (1 s) noticed the finished command"
    );
    assert_eq!(rig.read(data.len()).status, status::SUCCESS);
    rig.finish_clean();
}

#[test]
fn late_and_spurious_interrupts_do_not_complete_anything_twice() {
    let mut rig = Rig::new(25, Hw::EduIntx);
    rig.machine
        .inject_edu(0, EduFault::LateInterrupt { extra_ns: 50 * MS });
    let irp = rig.submit_write(3 * 4096, 4);
    rig.machine.run_for(20 * MS);
    rig.machine.inject_edu(0, EduFault::SpuriousInterrupt);
    rig.machine.raise_foreign_interrupt(0);
    let done = rig.wait(irp);
    assert_eq!((done.status, done.information), (status::SUCCESS, 3 * 4096));
    assert_eq!(moved(&rig), 3 * 4096);
    rig.finish_clean();
}

#[test]
fn hung_engine_times_out_with_the_bytes_moved_and_the_next_request_works() {
    let mut rig = Rig::new(26, Hw::EduMsi);
    let irp = rig.submit_write(3 * 4096, 5);
    rig.machine.run_for(50 * MS);
    rig.machine.inject_edu(0, EduFault::Hang { ns: 1500 * MS });
    let done = rig.wait(irp);
    assert_eq!(
        (done.status, done.information),
        (status::IO_TIMEOUT, bytes_after_commands(3 * 4096, 1)),
        "one fragment done, the second hung"
    );
    assert_eq!(done.information, moved(&rig));
    rig.assert_usable("once the engine recovered");
    rig.finish_clean();
}

#[test]
fn permanently_stuck_engine_fails_requests_with_a_timeout_instead_of_hanging() {
    let mut rig = Rig::new(27, Hw::EduMsi);
    rig.machine.inject_edu(0, EduFault::StuckEngine);
    let first = rig.write(&[1; 64]);
    assert_eq!((first.status, first.information), (status::IO_TIMEOUT, 0));
    let second = rig.write(&[2; 64]);
    assert_eq!(
        (second.status, second.information),
        (status::IO_TIMEOUT, 0),
        "after the 2 s recovery budget"
    );
    rig.finish_clean();
}

#[test]
fn power_down_ends_the_transfer_in_flight_at_its_boundary_then_power_up_works() {
    let mut rig = Rig::new(28, Hw::EduMsi);
    let data = pattern(5 * 4096, 7);
    let irp = rig
        .machine
        .submit(rig.device, IoOp::Write { data: data.clone() });
    rig.machine.run_for(120 * MS);
    assert_eq!(rig.machine.power_down(rig.device), status::SUCCESS);
    let done = rig
        .machine
        .take_completion(irp)
        .expect("completed before D0 exit finished");
    // EvtIoStop(Suspend): the command in flight finishes, no further one starts.
    assert_eq!(done.status, status::CANCELLED);
    assert_eq!(done.information, moved(&rig));
    assert!(done.information >= 4096 && done.information < data.len() as u64);
    assert_eq!(rig.machine.power_up(rig.device), status::SUCCESS);
    let back = rig.read(16);
    assert_eq!((back.status, back.information), (status::SUCCESS, 16));
    rig.finish_clean();
}

#[test]
fn surprise_removal_mid_transfer_completes_the_request_as_removed() {
    let mut rig = Rig::new(29, Hw::EduMsi);
    let irp = rig.submit_write(6 * 4096, 8);
    let queued = rig.machine.submit(rig.device, IoOp::Read { len: 10 });
    rig.machine.run_for(250 * MS);
    let device = rig.device;
    rig.machine.surprise_remove(device);
    let done = rig
        .machine
        .take_completion(irp)
        .expect("completed during removal");
    assert!(
        matches!(done.status, status::DEVICE_REMOVED | status::CANCELLED),
        "{:#x}",
        done.status
    );
    assert_eq!(
        done.information,
        moved(&rig),
        "bytes that moved before the device vanished"
    );
    let purged = rig
        .machine
        .take_completion(queued)
        .expect("queued request purged");
    assert_eq!((purged.status, purged.information), (status::CANCELLED, 0));
    let report = rig.machine.unload();
    assert!(report.is_clean(), "{report}");
}

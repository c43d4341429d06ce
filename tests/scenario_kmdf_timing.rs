//! The framework's real completion timing and the defects it exposed (issue 9): system-DMA
//! notifications held during staging and delivered nested, delivered inline inside
//! `WdfDmaTransactionStopSystemTransfer`, or made up by KMDF when a stop wins before the first
//! mapping; `WdfDmaTransactionCancel` losing to a grant; EvtIoStop on a power-down; an edu
//! command that outlives the watchdog; the INF's operating-system floor.
//!
//! Each test is named for the behaviour and failed on the driver before its fix (the
//! commit that added it says how).

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test code: a failed expectation is a test failure"
)]
mod common;

use common::{
    Hw, Rig, SECOND, bytes_after_commands, command_ends, pattern, ring_after_write, status,
};
use kmdf_sim::devices::edu::{Edu, EduFault};
use kmdf_sim::devices::sysdma::{ControllerEvent, PeripheralFault};
use kmdf_sim::{IoOp, Policy};

const MS: u64 = 1_000_000;

/// Bytes the system DMA controller moved in total.
fn controller_moved(rig: &Rig) -> u64 {
    rig.machine
        .system_dma(0, |_, controller| controller.bytes_moved())
}

/// The peripheral's 4 KiB ring.
fn peripheral_ring(rig: &Rig) -> Vec<u8> {
    rig.machine
        .system_dma(0, |peripheral, _| peripheral.ring().to_vec())
}

/// A policy where nothing else is random: grants inside Execute, passive I/O, immediate
/// cancel callbacks; the test then turns on the one behaviour it is about.
fn calm() -> Policy {
    Policy {
        deferred_grant_percent: 0,
        dispatch_io_percent: 0,
        deferred_cancel_percent: 0,
        cancel_loses_percent: 0,
        inline_stop_completion_percent: 0,
        fast_completion_percent: 0,
        ..Policy::default()
    }
}

#[test]
fn system_notification_held_during_staging_is_answered_and_the_request_completes() {
    // The controller finishes each transfer before EvtProgramDma returns; KMDF holds the
    // notification and delivers it right after the callback, nested inside the driver's
    // DmaCompleted* for the previous transfer. A completion guard that drops a nested
    // completion leaves the transaction executing forever.
    for seed in 0..8 {
        let policy = Policy {
            fast_completion_percent: 100,
            ..calm()
        };
        let mut rig = Rig::with_policy(900 + seed, Hw::System, policy);
        let data = pattern(5 * 4096 + 17, seed);
        let irp = rig
            .machine
            .submit(rig.device, IoOp::Write { data: data.clone() });
        let done = rig.wait(irp);
        assert_eq!(
            (done.status, done.information),
            (status::SUCCESS, data.len() as u64),
            "seed {seed}"
        );
        assert_eq!(
            peripheral_ring(&rig),
            ring_after_write(&[0; 4096], 0, &data),
            "seed {seed}: the peripheral's ring holds the data"
        );
        assert_eq!(controller_moved(&rig), data.len() as u64);
        rig.finish_clean();
    }
}

#[test]
fn stop_that_delivers_its_notification_inline_neither_deadlocks_nor_loses_the_request() {
    // The HAL runs the completion routine inside WdfDmaTransactionStopSystemTransfer, on the
    // cancelling thread, and KMDF calls the transfer-complete callback from there. A driver
    // that holds its own lock across the stop takes it again in the callback.
    for seed in 0..8 {
        let policy = Policy {
            inline_stop_completion_percent: 100,
            ..calm()
        };
        let mut rig = Rig::with_policy(910 + seed, Hw::System, policy);
        let data = pattern(64 * 1024, seed);
        let irp = rig
            .machine
            .submit(rig.device, IoOp::Write { data: data.clone() });
        rig.machine.cancel_after(irp, 200_000 + seed * 37_000);
        let done = rig.wait(irp);
        assert_eq!(done.status, status::CANCELLED, "seed {seed}");
        assert_eq!(
            done.information,
            controller_moved(&rig),
            "seed {seed}: the bytes the controller moved"
        );
        assert!(done.information < data.len() as u64, "seed {seed}");
        let expected = ring_after_write(&[0; 4096], 0, &data[..done.information as usize]);
        assert_eq!(peripheral_ring(&rig), expected, "seed {seed}");
        rig.assert_usable("after an inline stop");
        rig.finish_clean();
    }
}

#[test]
fn stop_that_wins_before_the_first_mapping_completes_the_request_cancelled() {
    // The cancel arrives while the transaction waits for its channel; WdfDmaTransactionCancel
    // loses to a grant already on its way, the driver stops the transfer, and KMDF reports the
    // stop with a made-up DmaCancelled notification without ever calling EvtProgramDma. The
    // driver must answer that notification like any other.
    let mut before_mapping = 0;
    for seed in 0..8 {
        let policy = Policy {
            deferred_grant_percent: 100,
            grant_latency_ns: (50_000, 50_000),
            cancel_loses_percent: 100,
            ..calm()
        };
        let mut rig = Rig::with_policy(920 + seed, Hw::System, policy);
        let irp = rig.submit_write(8192, seed);
        rig.machine.cancel_after(irp, 10_000);
        let done = rig.wait(irp);
        assert_eq!(done.status, status::CANCELLED, "seed {seed}");
        assert_eq!(
            done.information,
            controller_moved(&rig),
            "seed {seed}: the bytes the controller moved"
        );
        // The window: the stop won before the first mapping, so the controller never started
        // (the schedule decides whether the cancel arrives in it).
        let started = rig.machine.system_dma(0, |_, controller| {
            controller
                .log()
                .iter()
                .filter(|event| matches!(event, ControllerEvent::Started { .. }))
                .count()
        });
        before_mapping += u32::from(started == 0);
        rig.assert_usable("after a stop before the first mapping");
        rig.finish_clean();
    }
    assert!(
        before_mapping > 0,
        "no seed stopped before the first mapping: the test no longer reaches its window"
    );
}

#[test]
fn system_transfer_whose_program_fails_still_completes_the_request() {
    // The peripheral stops answering; EvtProgramDma cannot start it and the channel stops the
    // mapped transfer. The DmaCancelled notification that follows must still end the
    // transaction, or the request hangs and removal deletes an executing transaction.
    for (seed, inline) in [(0, 0), (1, 100), (2, 0), (3, 100)] {
        let policy = Policy {
            inline_stop_completion_percent: inline,
            ..calm()
        };
        let mut rig = Rig::with_policy(930 + seed, Hw::System, policy);
        rig.machine
            .inject_peripheral(0, PeripheralFault::SurpriseRemoval);
        let irp = rig.submit_write(3 * 4096, seed);
        let done = rig.wait(irp);
        assert_eq!(
            (done.status, done.information),
            (status::DEVICE_REMOVED, 0),
            "seed {seed}"
        );
        let report = rig.machine.unload();
        assert!(report.is_clean(), "seed {seed}: {report}");
    }
}

#[test]
fn cancel_after_the_first_transfer_never_calls_wdf_dma_transaction_cancel() {
    // Learn forbids WdfDmaTransactionCancel once EvtProgramDma has run (KMDF returns FALSE);
    // a bus-master cancellation mid-request ends at the next transfer boundary instead.
    let mut rig = Rig::with_policy(940, Hw::EduMsi, calm());
    let irp = rig.submit_write(6 * 4096, 3);
    rig.machine.cancel_after(irp, 150 * MS);
    let done = rig.wait(irp);
    assert_eq!(done.status, status::CANCELLED);
    assert_eq!(done.information, rig.machine.edu(0, Edu::bytes_moved));
    assert!(done.information >= 4096 && done.information < 6 * 4096);
    let report = rig.machine.report();
    assert!(!report.has("T27"), "{report}");
    rig.finish_clean();
}

#[test]
fn power_down_ends_a_16_mib_request_at_the_next_transfer_within_the_deadline() {
    // EvtIoStop(Suspend) for a request of 4096 edu commands (about 410 s): ignoring it holds
    // the power-down far past KMDF's verifier limit and Windows' power watchdog (0x9F).
    let mut rig = Rig::with_policy(950, Hw::EduMsi, calm());
    let len = edu_api::MAX_TRANSFER_LENGTH;
    let irp = rig.submit_write(len, 5);
    rig.machine.run_for(350 * MS);
    let before = rig.machine.now();
    assert_eq!(rig.machine.power_down(rig.device), status::SUCCESS);
    assert!(
        rig.machine.now() - before < SECOND,
        "the power-down waited {} ms",
        (rig.machine.now() - before) / MS
    );
    let done = rig
        .machine
        .completion(irp)
        .expect("completed before D0 exit finished");
    assert_eq!(done.status, status::CANCELLED);
    assert_eq!(done.information, rig.machine.edu(0, Edu::bytes_moved));
    assert!(
        command_ends(len).contains(&done.information),
        "ended at a transfer boundary"
    );
    assert!(done.information >= bytes_after_commands(len, 3) && done.information < len as u64);
    assert_eq!(rig.machine.power_up(rig.device), status::SUCCESS);
    rig.assert_usable("after the power-up");
    rig.finish_clean();
}

#[test]
fn watchdog_never_gives_a_buffer_back_while_the_edu_engine_still_runs_the_command() {
    // The command runs 1.5 s late (past the 1 s watchdog), then copies as usual. Ending the
    // transaction at the watchdog would free the map registers and complete the request while
    // the command still owns the buffer: its late copy lands in memory the driver gave back.
    for (seed, extra) in [(0, 1_500), (1, 1_200), (2, 2_400)] {
        let mut rig = Rig::with_policy(960 + seed, Hw::EduMsi, calm());
        rig.machine.inject_edu(
            0,
            EduFault::SlowCommand {
                extra_ns: extra * MS,
            },
        );
        let data = pattern(2 * 4096, seed);
        let irp = rig
            .machine
            .submit(rig.device, IoOp::Write { data: data.clone() });
        let done = rig.wait(irp);
        assert_eq!(done.status, status::IO_TIMEOUT, "seed {seed}");
        let first = bytes_after_commands(2 * 4096, 1);
        assert_eq!(
            done.information, first,
            "seed {seed}: the late command counts, nothing after it runs"
        );
        assert_eq!(rig.machine.edu(0, Edu::bytes_moved), first);
        let first = first as usize;
        let buffer = rig.machine.edu(0, |edu| edu.buffer().to_vec());
        assert_eq!(&buffer[..first], &data[..first], "seed {seed}");
        rig.assert_usable("after the late command");
        rig.finish_clean();
    }
}

#[test]
fn inf_models_require_a_windows_build_that_has_kmdf_1_33() {
    // KMDF 1.33 ships with Windows Server 2022 (build 20348) and Windows 11 (22000): a lower
    // target decoration lets the package install where the driver cannot load.
    let inx = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/inf/edu_dma.inx"))
        .expect("the INX");
    let builds: Vec<u32> = inx
        .lines()
        .filter(|line| !line.trim_start().starts_with(';'))
        .filter_map(|line| line.split("NT$ARCH$.10.0...").nth(1))
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .expect("a build number")
        })
        .collect();
    assert_eq!(
        builds.len(),
        2,
        "the manufacturer line and the models section"
    );
    for build in builds {
        assert!(build >= 20348, "decorated for build {build}");
    }
}

#[test]
fn cancel_racing_the_last_completion_on_another_processor_never_touches_the_ended_transaction() {
    // Four processors: the cancel routine (or the watchdog) runs while the transfer-complete
    // callback of the last transfer ends the transaction on another processor. A channel that
    // still says "running" between DmaCompleted* returning TRUE and the release lets the
    // canceller call StopSystemTransfer on the ended transaction: KMDF dereferences the
    // adapter pointer its release cleared (S2, fatal here).
    let mut cancelled = 0;
    for seed in 0..160_u64 {
        let schedule = if seed % 2 == 0 {
            kmdf_sim::Schedule::RandomWalk {
                switch_percent: 10 + seed % 40,
            }
        } else {
            kmdf_sim::Schedule::Pct {
                depth: 1 + u32::try_from(seed % 4).unwrap_or(0),
            }
        };
        let policy = Policy {
            processors: 4,
            schedule,
            ..Policy::default()
        };
        let mut rig = Rig::with_policy(970 + seed, Hw::System, policy);
        let data = pattern(2 * 4096, seed);
        let irp = rig
            .machine
            .submit(rig.device, IoOp::Write { data: data.clone() });
        // Sweep the cancellation over the whole request, most densely around its end.
        rig.machine.cancel_after(irp, 20_000 + seed * 2_500);
        let done = rig.wait(irp);
        assert!(
            matches!(done.status, status::SUCCESS | status::CANCELLED),
            "seed {seed}: {:#x}",
            done.status
        );
        cancelled += u32::from(done.status == status::CANCELLED);
        assert_eq!(done.information, controller_moved(&rig), "seed {seed}");
        let report = rig.machine.unload();
        assert!(report.is_clean(), "seed {seed}: {report}");
    }
    assert!(cancelled > 0, "no seed cancelled before the end");
}

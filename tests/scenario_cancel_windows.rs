//! Cancellation placed in each window of `kmdf-dma-semantics.md` §4 on purpose, rather than at
//! a random time: the machine is stepped one event at a time until the window is open, and the
//! test asserts that it really was open when the IRP was cancelled. Each window runs over many
//! seeds, with `EvtRequestCancel` delivered at once or late (as from another processor).

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]
mod common;

use common::{Hw, Rig, bytes_after_commands, command_ends, status};
use kmdf_sim::devices::edu::Edu;
use kmdf_sim::{IoOp, Irp, Policy, Stats};

const FRAGMENT: usize = 4096;
const SEEDS: u64 = 40;

/// Steps the machine until `open` holds (checked before every event), then cancels `irp`.
/// Panics when the request completes or the machine runs dry first: the window never opened.
fn cancel_when(rig: &mut Rig, irp: Irp, what: &str, open: impl Fn(&Stats) -> bool) -> Stats {
    for _ in 0..1_000_000 {
        let stats = rig.machine.stats();
        if open(&stats) {
            assert!(
                rig.machine.completion(irp).is_none(),
                "{what}: the request completed before the window opened"
            );
            rig.machine.cancel_after(irp, 0);
            return stats;
        }
        assert!(rig.machine.step(), "{what}: the machine ran dry first");
    }
    panic!("{what}: the window never opened");
}

/// Runs the request to completion and checks the contract: cancelled with the bytes that moved,
/// or (when every byte had moved already) successful; the next request works; verifier clean.
fn finish(mut rig: Rig, irp: Irp, length: usize, what: &str) -> (i32, u64) {
    let done = rig.wait(irp);
    let moved = rig.machine.edu(0, Edu::bytes_moved);
    assert_eq!(done.information, moved, "{what}: Information = bytes moved");
    match done.status {
        status::CANCELLED => assert!(moved < length as u64, "{what}: cancelled after all moved"),
        status::SUCCESS => assert_eq!(moved, length as u64, "{what}: success with bytes missing"),
        other => panic!("{what}: status {other:#x}"),
    }
    rig.assert_usable(what);
    rig.finish_clean();
    (done.status, done.information)
}

fn policy(seed: u64) -> Policy {
    Policy {
        // Half the seeds deliver EvtRequestCancel late, after the DPC or EvtProgramDma.
        deferred_cancel_percent: if seed.is_multiple_of(2) { 0 } else { 100 },
        cancel_latency_ns: (1_000, 80_000),
        ..Policy::default()
    }
}

#[test]
fn cancel_between_an_interrupt_and_its_dpc_mid_request() {
    let mut cancelled = 0_u64;
    for seed in 0..SEEDS {
        let mut rig = Rig::with_policy(seed, Hw::EduMsi, policy(seed));
        let length = 3 * FRAGMENT;
        let irp = rig.submit_write(length, seed);
        let what = format!("seed {seed}");
        // The first fragment's interrupt has been taken, its DPC not yet run.
        let at = cancel_when(&mut rig, irp, &what, |s| {
            s.isr_calls >= 1 && s.dpc_calls < s.isr_calls
        });
        assert_eq!(
            at.program_dma_calls, 1,
            "{what}: cancelled during fragment 1"
        );
        cancelled += u64::from(finish(rig, irp, length, &what).0 == status::CANCELLED);
    }
    assert_eq!(
        cancelled, SEEDS,
        "two fragments were left: always cancelled"
    );
}

#[test]
fn cancel_between_the_last_interrupt_and_its_dpc_succeeds_with_everything_moved() {
    for seed in 0..SEEDS {
        let mut rig = Rig::with_policy(seed, Hw::EduMsi, policy(seed));
        let length = 2 * FRAGMENT;
        let irp = rig.machine.submit(rig.device, IoOp::Read { len: length });
        let what = format!("seed {seed}");
        // Two commands on the whole buffer; three when a shortened ring splits one.
        let commands = command_ends(length).len() as u64;
        let at = cancel_when(&mut rig, irp, &what, |s| {
            s.isr_calls >= commands && s.dpc_calls < s.isr_calls
        });
        assert_eq!(
            at.program_dma_calls, commands,
            "{what}: the last fragment's interrupt"
        );
        // Every byte moved before the cancel could act: the request succeeds in full.
        assert_eq!(finish(rig, irp, length, &what).0, status::SUCCESS, "{what}");
    }
}

#[test]
fn cancel_while_a_fragment_is_programmed_and_running() {
    for seed in 0..SEEDS {
        let mut rig = Rig::with_policy(seed, Hw::EduIntx, policy(seed));
        let length = 3 * FRAGMENT;
        let irp = rig.submit_write(length, seed);
        let what = format!("seed {seed}");
        // EvtProgramDma has started fragment 2; the engine has not finished it.
        let at = cancel_when(&mut rig, irp, &what, |s| {
            s.program_dma_calls == 2 && s.isr_calls == 1
        });
        assert_eq!(at.dpc_calls, 1, "{what}");
        // edu cannot abort: fragment 2 finishes, fragment 3 never starts.
        assert_eq!(
            finish(rig, irp, length, &what),
            (status::CANCELLED, bytes_after_commands(length, 2)),
            "{what}"
        );
    }
}

#[test]
fn cancelled_before_the_map_registers_arrive_and_delivered_after_evt_program_dma() {
    // The IRP is cancelled while Execute waits for map registers; EvtRequestCancel arrives only
    // after the grant, when EvtProgramDma has programmed the first fragment.
    for seed in 0..SEEDS {
        let policy = Policy {
            deferred_grant_percent: 100,
            grant_latency_ns: (200_000, 200_000),
            deferred_cancel_percent: 100,
            cancel_latency_ns: (400_000, 400_000),
            // This test places the cancellation in one window exactly: on several processors
            // the cancel routine may overtake the grant (the interleavings cover that).
            processors: 1,
            schedule: kmdf_sim::Schedule::Serial,
            ..Policy::default()
        };
        let mut rig = Rig::with_policy(seed, Hw::EduMsi, policy);
        let length = 3 * FRAGMENT;
        let irp = rig.submit_write(length, seed);
        let what = format!("seed {seed}");
        // The driver has taken the request (its EvtIoWrite made WDF calls) and Execute is
        // waiting for the grant.
        let presented = rig.machine.stats().ddi_calls;
        cancel_when(&mut rig, irp, &what, |s| {
            s.ddi_calls > presented && s.program_dma_calls == 0
        });
        // The grant came first, so the first fragment was programmed and ran to its end (edu
        // cannot abort); the late cancel stopped the request at that boundary.
        assert_eq!(
            finish(rig, irp, length, &what),
            (status::CANCELLED, bytes_after_commands(length, 1)),
            "{what}"
        );
    }
}

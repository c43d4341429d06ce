//! The driver's `DbgPrintEx` log as the simulator captures it: what start, a timeout, a
//! removal, a cancellation and the release report, at which level, and that per-request lines
//! stay off at the default verbosity.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a test failure"
)]
mod common;

use common::{Hw, Rig, status};
use kmdf_sim::devices::edu::EduFault;
use kmdf_sim::{DebugLine, IoOp};

const MS: u64 = 1_000_000;
/// `DPFLTR_IHVDRIVER_ID`.
const IHVDRIVER: u32 = 77;
const ERROR: u32 = 0;
const WARNING: u32 = 1;
const TRACE: u32 = 2;
const INFO: u32 = 3;

/// The captured lines, checked for the component and prefix every line must carry.
fn captured(rig: &Rig) -> Vec<DebugLine> {
    let lines = rig.machine.debug_output();
    for line in &lines {
        assert_eq!(line.component, IHVDRIVER, "{line:?}");
        assert!(line.text.starts_with("edu-dma: "), "{line:?}");
    }
    lines
}

/// The one line at `level` that contains `text`.
fn find<'a>(lines: &'a [DebugLine], level: u32, text: &str) -> &'a DebugLine {
    let found: Vec<_> = lines
        .iter()
        .filter(|line| line.level == level && line.text.contains(text))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one level-{level} line with {text:?} in {lines:#?}"
    );
    found[0]
}

#[test]
fn start_reports_resources_and_personality() {
    let rig = Rig::new(1, Hw::EduIntx);
    let lines = captured(&rig);
    let start = find(&lines, INFO, "start: edu at BAR0");
    assert!(
        start.text.contains("bus-master DMA") && start.text.contains("line-based interrupt"),
        "{start:?}"
    );
    find(&lines, INFO, "D0 entry from D3Final");
    rig.finish_clean();

    // The state the device returns from, as KMDF reports it: D3 after a power-down.
    let mut rig = Rig::new(1, Hw::EduMsi);
    assert_eq!(rig.machine.power_down(rig.device), 0);
    assert_eq!(rig.machine.power_up(rig.device), 0);
    let lines = captured(&rig);
    find(&lines, INFO, "D0 entry from D3Final");
    find(&lines, INFO, "D0 entry from D3:");
    rig.finish_clean();

    let rig = Rig::new(2, Hw::System);
    let lines = captured(&rig);
    let start = find(&lines, INFO, "start: FIFO peripheral at BAR0");
    assert!(
        start.text.contains("system-mode DMA on controller channel"),
        "{start:?}"
    );
    rig.finish_clean();
}

#[test]
fn a_timeout_is_logged_when_the_watchdog_acts_and_when_the_request_fails() {
    let mut rig = Rig::new(26, Hw::EduMsi);
    let irp = rig.submit_write(3 * 4096, 5);
    rig.machine.run_for(50 * MS);
    let before = captured(&rig).len();
    rig.machine.inject_edu(0, EduFault::Hang { ns: 1500 * MS });
    let done = rig.wait(irp);
    assert_eq!((done.status, done.information), (status::IO_TIMEOUT, 4096));
    let lines = captured(&rig);
    let watchdog = find(
        &lines[before..],
        WARNING,
        "watchdog: transfer 2 made no progress",
    );
    let failed = find(
        &lines[before..],
        WARNING,
        "request failed: STATUS_IO_TIMEOUT after 4096 bytes",
    );
    assert!(watchdog.time_ns >= 50 * MS + 1000 * MS, "{watchdog:?}");
    assert!(failed.time_ns >= watchdog.time_ns);
    rig.finish_clean();
}

#[test]
fn a_stuck_engine_is_logged_as_an_error() {
    let mut rig = Rig::new(27, Hw::EduMsi);
    rig.machine.inject_edu(0, EduFault::StuckEngine);
    let first = rig.write(&[1; 64]);
    assert_eq!(first.status, status::IO_TIMEOUT);
    find(
        &captured(&rig),
        ERROR,
        "timeout: edu engine stuck on transfer 1",
    );
    rig.finish_clean();
}

#[test]
fn a_surprise_removal_is_logged_with_the_request_it_ended() {
    let mut rig = Rig::new(29, Hw::EduMsi);
    let irp = rig.submit_write(6 * 4096, 8);
    rig.machine.run_for(250 * MS);
    let device = rig.device;
    rig.machine.surprise_remove(device);
    let done = rig.machine.take_completion(irp).expect("completed");
    let lines = captured(&rig);
    find(
        &lines,
        WARNING,
        "surprise removal: the device is gone; a request in flight: true",
    );
    if done.status == status::DEVICE_REMOVED {
        find(&lines, WARNING, "request failed: STATUS_DEVICE_REMOVED");
    }
    let release = find(&lines, INFO, "release: ");
    assert!(release.text.contains("release: 1 requests"), "{release:?}");
    let report = rig.machine.unload();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn release_reports_the_cancellation_count() {
    let mut rig = Rig::new(28, Hw::EduMsi);
    let irp = rig.submit_write(5 * 4096, 3);
    rig.machine.run_for(120 * MS);
    rig.machine.cancel_after(irp, 0);
    let done = rig.wait(irp);
    assert_eq!(done.status, status::CANCELLED);
    let ok = rig.write(&[7; 32]);
    assert_eq!(ok.status, status::SUCCESS);
    let device = rig.device;
    rig.machine.remove(device);
    let lines = captured(&rig);
    let release = find(&lines, INFO, "release: ");
    assert!(
        release
            .text
            .starts_with("edu-dma: release: 2 requests (1 cancelled, 0 timed out, 0 failed)"),
        "{release:?}"
    );
    let report = rig.machine.unload();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn per_request_lines_only_when_trace_is_enabled() {
    let mut rig = Rig::new(3, Hw::EduMsi);
    // EDU_DEBUG turns every level on; this test is about the default.
    rig.machine.set_driver_log_mask(0b1011);
    let ok = rig.write(&[1; 64]);
    assert_eq!(ok.status, status::SUCCESS);
    let bad = rig.run(IoOp::Ioctl {
        code: 0x0022_2FFC,
        input: Vec::new(),
        output_len: 0,
    });
    assert_eq!(bad.status, status::INVALID_DEVICE_REQUEST);
    assert!(
        captured(&rig).iter().all(|line| line.level != TRACE),
        "{:#?}",
        captured(&rig)
    );

    rig.machine.set_driver_log_mask(0xF);
    let ok = rig.write(&[2; 64]);
    assert_eq!(ok.status, status::SUCCESS);
    find(
        &captured(&rig),
        TRACE,
        "request completed: STATUS_SUCCESS, 64 bytes",
    );
    assert_eq!(
        rig.machine.log_lines().last().map(String::as_str),
        Some("edu-dma: request completed: STATUS_SUCCESS, 64 bytes")
    );
    rig.finish_clean();
}

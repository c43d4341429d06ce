//! Behaviour that `cargo mutants` found no test watching (issue 17, `scripts/mutants.sh`):
//! a device gone under `EvtProgramDma`, an edu engine that stays busy past the recovery budget
//! while the next request waits for it, and the statistics and watchdog progress of long
//! system-DMA requests. Each test asserts what a caller sees: the status, the bytes, the data
//! on the device, the time the request took, and `IOCTL_EDU_GET_STATS`.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test code: a failed expectation is a test failure"
)]
mod common;

use common::{Hw, Rig, SECOND, pattern, status};
use edu_api::{IOCTL_EDU_GET_STATS, Statistics};
use kmdf_sim::devices::edu::{Edu, EduFault};
use kmdf_sim::devices::sysdma::{
    ControllerConfig, ControllerEvent, FifoPeripheral, PeripheralFault,
};
use kmdf_sim::{HardwareConfig, IoOp, Machine, MachineConfig, Policy};

const MS: u64 = 1_000_000;

fn stats(rig: &mut Rig) -> Statistics {
    let done = rig.ioctl(IOCTL_EDU_GET_STATS, &[], Statistics::SIZE);
    assert_eq!(done.status, status::SUCCESS);
    Statistics::from_bytes(&done.output).expect("statistics")
}

/// One processor, callbacks run one at a time: the times below are exact.
fn serial() -> Policy {
    Policy {
        processors: 1,
        schedule: kmdf_sim::Schedule::Serial,
        ..Policy::default()
    }
}

#[test]
fn edu_whose_registers_are_gone_fails_each_request_with_device_removed() {
    // The registers read all ones (the device left the bus without a PnP notice yet): the
    // driver's EvtProgramDma refuses the transfer, and the request must still complete.
    let mut rig = Rig::new(1701, Hw::EduMsi);
    rig.machine.inject_edu(0, EduFault::SurpriseRemoval);
    let before = rig.machine.now();
    let first = rig.write(&pattern(3 * 4096, 1));
    assert_eq!(
        (first.status, first.information),
        (status::DEVICE_REMOVED, 0)
    );
    assert!(
        rig.machine.now() - before < 100 * MS,
        "completed at once, not by the watchdog"
    );
    let second = rig.read(4096);
    assert_eq!(
        (second.status, second.information),
        (status::DEVICE_REMOVED, 0)
    );
    // Once the device is known gone, requests fail without another DMA transaction: the log
    // shows the failed programming once.
    assert_eq!(
        warnings(&rig, "program DMA failed"),
        1,
        "{:#?}",
        rig.machine.debug_output()
    );
    let counters = stats(&mut rig);
    assert_eq!(
        (
            counters.requests,
            counters.errors,
            counters.bytes_written,
            counters.bytes_read,
            counters.fragments
        ),
        (2, 2, 0, 0, 0)
    );
    rig.finish_clean();
}

#[test]
fn system_peripheral_gone_fails_the_request_with_device_removed() {
    // The peripheral no longer identifies itself when the transfer is programmed: the request
    // reports the removal, not a data error.
    let mut rig = Rig::new(1702, Hw::System);
    rig.machine
        .inject_peripheral(0, PeripheralFault::SurpriseRemoval);
    let done = rig.write(&pattern(2 * 4096, 2));
    assert_eq!((done.status, done.information), (status::DEVICE_REMOVED, 0));
    let again = rig.write(&pattern(100, 3));
    assert_eq!(
        (again.status, again.information),
        (status::DEVICE_REMOVED, 0)
    );
    let counters = stats(&mut rig);
    assert_eq!((counters.requests, counters.errors), (2, 2));
    rig.finish_clean();
}

/// A machine with the FIFO peripheral behind a slow controller (`bytes_per_us`).
fn slow_system(seed: u64, bytes_per_us: u64) -> Rig {
    let mut machine = Machine::new(MachineConfig {
        seed,
        policy: Policy::default(),
        hardware: vec![HardwareConfig::SystemDma {
            controller: ControllerConfig {
                bytes_per_us,
                ..ControllerConfig::default()
            },
        }],
        trace: false,
    });
    assert_eq!(machine.load_driver(edu_dma::driver_entry), 0, "DriverEntry");
    let device = machine.add_device(0).expect("device start");
    Rig { machine, device }
}

#[test]
fn long_system_transfer_that_keeps_moving_is_not_timed_out_and_counts_its_transfers() {
    // 1 byte/µs: 2 MiB take about 2 s, twice the watchdog's period. Every transfer that
    // completes is progress: the watchdog must not end the request.
    let mut rig = slow_system(1703, 1);
    let len = 2 << 20;
    let data = pattern(len, 4);
    let before = rig.machine.now();
    let written = rig.write(&data);
    let took = rig.machine.now() - before;
    assert_eq!(
        (written.status, written.information),
        (status::SUCCESS, len as u64)
    );
    assert!(took > 2 * SECOND, "the transfer took {} ms", took / MS);
    let started = rig.machine.system_dma(0, |_, controller| {
        controller
            .log()
            .iter()
            .filter(|event| matches!(event, ControllerEvent::Started { .. }))
            .count() as u64
    });
    assert!(started >= (len / 4096) as u64);
    let counters = stats(&mut rig);
    assert_eq!(
        (
            counters.requests,
            counters.bytes_written,
            counters.fragments,
            counters.timeouts
        ),
        (1, len as u64, started, 0),
        "one fragment per controller transfer"
    );
    rig.finish_clean();
}

/// Submits a write of `data` and returns it with the time it took.
fn timed_write(rig: &mut Rig, data: &[u8]) -> (kmdf_sim::IoCompletion, u64) {
    let before = rig.machine.now();
    let irp = rig.machine.submit(
        rig.device,
        IoOp::Write {
            data: data.to_vec(),
        },
    );
    let done = rig.wait(irp);
    (done, rig.machine.now() - before)
}

#[test]
fn request_parked_behind_a_late_edu_command_runs_once_the_engine_is_idle() {
    // The first command hangs for 4.5 s, then the engine drops it: the watchdog (1 s) then the
    // recovery budget (2 s) give up on it first, and the request times out with nothing
    // counted. The engine is still busy when the next write is programmed, and still busy at
    // the watchdog's first look 1 s later: that command waits, is polled, and starts as soon
    // as the engine goes idle (within the recovery budget), then moves its data.
    let mut rig = Rig::with_policy(1704, Hw::EduMsi, serial());
    rig.machine.inject_edu(0, EduFault::Hang { ns: 4_500 * MS });
    let (first, took) = timed_write(&mut rig, &pattern(4096, 5));
    assert_eq!((first.status, first.information), (status::IO_TIMEOUT, 0));
    assert!(
        took < 3_500 * MS,
        "gave up after the recovery budget, not when the engine finished: {} ms",
        took / MS
    );
    let data = pattern(4096, 6);
    let (second, took) = timed_write(&mut rig, &data);
    assert_eq!(
        (second.status, second.information),
        (status::SUCCESS, 4096),
        "started once the engine was idle ({} ms)",
        took / MS
    );
    assert!(
        took > SECOND && took < 2 * SECOND,
        "waited for the engine: {} ms",
        took / MS
    );
    let buffer = rig.machine.edu(0, |edu| edu.buffer().to_vec());
    assert_eq!(&buffer[..4096], &data[..]);
    let counters = stats(&mut rig);
    assert_eq!(
        (
            counters.requests,
            counters.timeouts,
            counters.bytes_written,
            counters.fragments
        ),
        (2, 1, 4096, 1)
    );
    rig.assert_usable("after the recovery");
    rig.finish_clean();
}

#[test]
fn cancelled_request_parked_behind_a_late_edu_command_ends_at_once_without_moving_data() {
    // The engine hangs on the first command past the recovery budget; the second request's
    // command waits for it and is cancelled meanwhile: the parked command is dropped at the
    // next poll, not started when the engine goes idle.
    let mut rig = Rig::with_policy(1705, Hw::EduMsi, serial());
    rig.machine.inject_edu(0, EduFault::Hang { ns: 3_500 * MS });
    let (first, _) = timed_write(&mut rig, &pattern(4096, 7));
    assert_eq!((first.status, first.information), (status::IO_TIMEOUT, 0));
    let irp = rig.submit_write(4096, 8);
    rig.machine.cancel_after(irp, 100 * MS);
    let before = rig.machine.now();
    let done = rig.wait(irp);
    let took = rig.machine.now() - before;
    // The status is STATUS_IO_TIMEOUT today, not STATUS_CANCELLED: see
    // `cancel_of_a_request_parked_behind_a_late_edu_command_reports_cancelled`.
    assert_eq!(done.information, 0);
    assert!(
        took < 300 * MS,
        "ended at the next poll, not when the engine went idle: {} ms",
        took / MS
    );
    assert_eq!(
        rig.machine.edu(0, Edu::bytes_moved),
        0,
        "nothing was copied"
    );
    rig.finish_clean();
}

#[test]
fn cancel_of_a_request_parked_behind_a_late_edu_command_reports_cancelled() {
    let mut rig = Rig::with_policy(1705, Hw::EduMsi, serial());
    rig.machine.inject_edu(0, EduFault::Hang { ns: 3_500 * MS });
    let (first, _) = timed_write(&mut rig, &pattern(4096, 7));
    assert_eq!((first.status, first.information), (status::IO_TIMEOUT, 0));
    let irp = rig.submit_write(4096, 8);
    rig.machine.cancel_after(irp, 100 * MS);
    let done = rig.wait(irp);
    assert_eq!((done.status, done.information), (status::CANCELLED, 0));
    // Cancelled, not timed out: the log says nothing of a dropped command.
    assert_eq!(errors(&rig, "command dropped"), 0);
    rig.finish_clean();
}

#[test]
fn command_parked_behind_an_engine_that_never_recovers_is_dropped_as_a_timeout_and_logged() {
    // An edu command that hangs for 20 s: the first request times out after the recovery
    // budget; the second waits behind the busy engine for a budget of its own, then fails
    // with STATUS_IO_TIMEOUT, logged once at error level.
    let mut rig = Rig::with_policy(1706, Hw::EduMsi, serial());
    rig.machine
        .inject_edu(0, EduFault::Hang { ns: 20 * SECOND });
    let (first, _) = timed_write(&mut rig, &pattern(4096, 7));
    assert_eq!((first.status, first.information), (status::IO_TIMEOUT, 0));
    let (second, took) = timed_write(&mut rig, &pattern(4096, 8));
    assert_eq!((second.status, second.information), (status::IO_TIMEOUT, 0));
    assert!(took < 5 * SECOND, "gave up after {} ms", took / MS);
    assert_eq!(
        errors(&rig, "command dropped"),
        1,
        "{:#?}",
        rig.machine.debug_output()
    );
    rig.machine.run_for(20 * SECOND);
    rig.assert_usable("after the engine came back");
    rig.finish_clean();
}

#[test]
fn edu_interrupt_raised_after_the_watchdog_saw_the_engine_idle_still_completes_the_request() {
    // The copy ends on time but its "DMA done" is raised 1.2 s later: the watchdog (1 s) finds
    // the engine idle with nothing reported. It must look again before it concludes the
    // command was dropped; the late interrupt then completes the request with its bytes.
    let mut rig = Rig::with_policy(1706, Hw::EduMsi, serial());
    rig.machine.inject_edu(
        0,
        EduFault::LateInterrupt {
            extra_ns: 1_200 * MS,
        },
    );
    let data = pattern(4096, 9);
    let (done, took) = timed_write(&mut rig, &data);
    assert_eq!((done.status, done.information), (status::SUCCESS, 4096));
    assert!(took > SECOND, "the watchdog looked first: {} ms", took / MS);
    let buffer = rig.machine.edu(0, |edu| edu.buffer().to_vec());
    assert_eq!(&buffer[..4096], &data[..]);
    let counters = stats(&mut rig);
    assert_eq!(
        (
            counters.requests,
            counters.timeouts,
            counters.bytes_written,
            counters.fragments
        ),
        (1, 0, 4096, 1)
    );
    rig.assert_usable("after the late interrupt");
    rig.finish_clean();
}

#[test]
fn edu_command_that_ends_just_inside_the_recovery_budget_is_waited_for() {
    // The watchdog finds the engine busy at 1 s; the driver then polls it for its 2 s recovery
    // budget (until 3 s) before it gives up. This command ends at 2.97 s: the request must end
    // with it (timed out, with the bytes it moved), never before it, when the late copy would
    // touch a buffer the driver already gave back.
    let mut rig = Rig::with_policy(1707, Hw::EduMsi, serial());
    rig.machine.inject_edu(
        0,
        EduFault::SlowCommand {
            extra_ns: 2_870 * MS,
        },
    );
    let data = pattern(4096, 10);
    let (done, took) = timed_write(&mut rig, &data);
    assert_eq!((done.status, done.information), (status::IO_TIMEOUT, 4096));
    assert!(
        took > 2_900 * MS && took < 3 * SECOND,
        "ended with the command: {} ms",
        took / MS
    );
    let buffer = rig.machine.edu(0, |edu| edu.buffer().to_vec());
    assert_eq!(&buffer[..4096], &data[..]);
    rig.assert_usable("after the late command");
    rig.finish_clean();
}

/// The driver's warnings (`DbgPrint` level 1) that contain `text`.
/// Driver log lines at error level (`DbgPrintEx` level 0) that contain `text`.
fn errors(rig: &Rig, text: &str) -> usize {
    rig.machine
        .debug_output()
        .iter()
        .filter(|line| line.level == 0 && line.text.contains(text))
        .count()
}

fn warnings(rig: &Rig, text: &str) -> usize {
    rig.machine
        .debug_output()
        .iter()
        .filter(|line| line.level == 1 && line.text.contains(text))
        .count()
}

#[test]
fn watchdog_warns_when_the_edu_engine_makes_no_progress_and_once_for_a_dropped_command() {
    // Stuck engine: every look of the watchdog that finds the transfer still running says so,
    // from the first (what an operator reads to tell a stuck device from a slow one).
    let mut rig = Rig::with_policy(1708, Hw::EduMsi, serial());
    rig.machine.inject_edu(0, EduFault::StuckEngine);
    let stuck = rig.write(&[1; 64]);
    assert_eq!((stuck.status, stuck.information), (status::IO_TIMEOUT, 0));
    assert!(
        warnings(&rig, "watchdog: transfer 1 made no progress") > 1,
        "{:#?}",
        rig.machine.debug_output()
    );
    rig.finish_clean();

    // A command the engine dropped (idle, never reported) is looked at twice before it is
    // given up: one warning, not two.
    let mut rig = Rig::with_policy(1709, Hw::EduMsi, serial());
    rig.machine.inject_edu(0, EduFault::Hang { ns: 200 * MS });
    let dropped = rig.write(&[2; 64]);
    assert_eq!(
        (dropped.status, dropped.information),
        (status::IO_TIMEOUT, 0)
    );
    assert_eq!(
        warnings(&rig, "watchdog: transfer 1 made no progress"),
        1,
        "{:#?}",
        rig.machine.debug_output()
    );
    rig.finish_clean();
}

#[test]
fn interrupts_that_are_not_the_edus_are_not_claimed_or_counted() {
    // A shared line raised by another device, and edu's own signal with no cause pending: the
    // ISR must decline both (claiming another device's interrupt starves its driver), and
    // GET_STATS counts only the interrupts the driver claimed.
    for hw in [Hw::EduIntx, Hw::EduMsi] {
        let mut rig = Rig::with_policy(1710, hw, serial());
        if hw == Hw::EduIntx {
            rig.machine.raise_foreign_interrupt(0);
        }
        rig.machine.inject_edu(0, EduFault::SpuriousInterrupt);
        rig.machine.run_for(10 * MS);
        assert_eq!(stats(&mut rig).interrupts, 0, "{hw:?}: nothing claimed");
        let done = rig.write(&pattern(4096, 11));
        assert_eq!((done.status, done.information), (status::SUCCESS, 4096));
        assert_eq!(
            stats(&mut rig).interrupts,
            1,
            "{hw:?}: one DMA, one interrupt"
        );
        rig.finish_clean();
    }
}

const DEVICE_HARDWARE_ERROR: i32 = 0xC000_0483_u32.cast_signed();

#[test]
fn device_that_does_not_identify_as_an_edu_fails_to_start_with_hardware_error() {
    // The registers read all ones before start (the identification is not edu 1.x, and the
    // liveness register does not answer): start must fail, not bring up a dead device.
    let mut machine = Machine::new(MachineConfig {
        seed: 1720,
        policy: Policy::default(),
        hardware: vec![HardwareConfig::Edu {
            config: kmdf_sim::devices::edu::EduConfig::default(),
            msi: true,
        }],
        trace: false,
    });
    assert_eq!(machine.load_driver(edu_dma::driver_entry), 0, "DriverEntry");
    machine.inject_edu(0, EduFault::SurpriseRemoval);
    assert_eq!(
        machine.add_device(0).map(|_| ()),
        Err(DEVICE_HARDWARE_ERROR),
        "{:#?}",
        machine.debug_output()
    );
    let report = machine.unload();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn system_transfers_reach_the_peripherals_data_port() {
    // A controller that only reaches the peripheral at its data port (BAR + 0x10): a driver
    // that gives the controller another device address moves no data to or from the FIFO ring.
    let port = FifoPeripheral::data_port_addr(0xFE00_0000);
    let mut machine = Machine::new(MachineConfig {
        seed: 1721,
        policy: Policy::default(),
        hardware: vec![HardwareConfig::SystemDma {
            controller: ControllerConfig {
                data_port: Some(port),
                ..ControllerConfig::default()
            },
        }],
        trace: false,
    });
    assert_eq!(machine.load_driver(edu_dma::driver_entry), 0, "DriverEntry");
    let device = machine.add_device(0).expect("device start");
    let mut rig = Rig { machine, device };
    let data = pattern(3000, 21);
    let written = rig.write(&data);
    assert_eq!(
        (written.status, written.information),
        (status::SUCCESS, 3000)
    );
    let fifo = rig
        .machine
        .system_dma(0, |peripheral, _| peripheral.ring().to_vec());
    assert_eq!(
        &fifo[..3000],
        &data[..],
        "the FIFO ring holds the written bytes"
    );
    let read = rig.read(3000);
    assert_eq!((read.status, read.information), (status::SUCCESS, 3000));
    assert_eq!(read.output, data, "the read returns the ring's bytes");
    rig.finish_clean();
}

#[test]
fn edu_done_raised_while_powered_down_is_not_counted_after_d0_entry() {
    // The "DMA done" of a command the watchdog already gave up on arrives while the device is
    // in D3 (line-based interrupt, disconnected). Its cause is stale at D0 entry: the driver
    // must drop it, not claim it as an interrupt of the next command.
    let mut rig = Rig::with_policy(1724, Hw::EduIntx, serial());
    rig.machine.inject_edu(
        0,
        EduFault::LateInterrupt {
            extra_ns: 3 * SECOND,
        },
    );
    let first = rig.write(&pattern(4096, 1));
    assert_eq!((first.status, first.information), (status::IO_TIMEOUT, 0));
    assert_eq!(rig.machine.power_down(rig.device), 0, "power down");
    rig.machine.run_for(4 * SECOND);
    assert_eq!(rig.machine.power_up(rig.device), 0, "power up");
    let before = stats(&mut rig);
    assert_eq!(
        before.interrupts, 0,
        "nothing claimed before the power-down"
    );
    let data = pattern(4096, 2);
    let written = rig.write(&data);
    assert_eq!(
        (written.status, written.information),
        (status::SUCCESS, 4096)
    );
    let read = rig.read(4096);
    assert_eq!((read.status, read.information), (status::SUCCESS, 4096));
    assert_eq!(read.output, data);
    let after = stats(&mut rig);
    assert_eq!(
        (after.interrupts, after.fragments, after.timeouts),
        (2, 2, 1),
        "one interrupt per command after D0 entry"
    );
    rig.finish_clean();
}

#[test]
fn request_whose_dma_cannot_start_fails_with_insufficient_resources_and_counts_as_an_error() {
    // WdfDmaTransactionExecute fails when the HAL cannot allocate the adapter channel: the
    // transaction ended without a callback, and only the driver can complete the request.
    for hw in [Hw::EduMsi, Hw::System] {
        let policy = Policy {
            execute_failure_percent: 100,
            ..Policy::default()
        };
        let mut rig = Rig::with_policy(1707, hw, policy);
        let done = rig.write(&pattern(3 * 4096, 9));
        assert_eq!(
            (done.status, done.information),
            (status::INSUFFICIENT_RESOURCES, 0),
            "{hw:?}"
        );
        let counters = stats(&mut rig);
        assert_eq!((counters.requests, counters.errors), (1, 1), "{hw:?}");
        let report = rig.machine.unload();
        assert!(report.is_clean(), "{hw:?}: {report}");
    }
}

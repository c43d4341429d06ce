//! PnP and power as the WDK's Device Fundamentals tests exercise them, on the simulated machine:
//! query-stop, stop and restart with rebalanced resources (BAR moved, another interrupt vector,
//! MSI to INTx and back, another DMA request line), query-remove with cancel, disable and
//! enable, system sleep and hibernation with I/O in flight and queued, two devices of each
//! personality at once, and driver unload with devices present. Each test checks the data after
//! the transition, the byte counts and a clean verifier.

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
use edu_api::{DeviceInfo, GUID_DEVINTERFACE_EDU_DMA, IOCTL_EDU_GET_INFO};
use kmdf_sim::devices::edu::EduConfig;
use kmdf_sim::devices::sysdma::ControllerConfig;
use kmdf_sim::{
    DeviceHandle, GUID, HardwareConfig, IoOp, Irp, Machine, MachineConfig, NewResources, Policy,
    SystemSleep,
};

const PAGE: usize = 4096;

/// The data ring of the rig's device (edu buffer or FIFO peripheral ring).
fn ring_of(machine: &Machine, hw: Hw) -> Vec<u8> {
    match hw {
        Hw::System => machine.system_dma(0, |p, _| p.ring().to_vec()),
        Hw::EduMsi | Hw::EduIntx => machine.edu(0, |e| e.buffer().to_vec()),
    }
}

/// Bytes the hardware moved in total.
fn moved_of(rig: &Rig, hw: Hw) -> u64 {
    match hw {
        Hw::System => rig.machine.system_dma(0, |_, c| c.bytes_moved()),
        Hw::EduMsi | Hw::EduIntx => rig.machine.edu(0, kmdf_sim::devices::edu::Edu::bytes_moved),
    }
}

fn info(rig: &mut Rig) -> DeviceInfo {
    let done = rig.ioctl(IOCTL_EDU_GET_INFO, &[], DeviceInfo::SIZE);
    assert_eq!(done.status, status::SUCCESS);
    DeviceInfo::from_bytes(&done.output).expect("device info")
}

/// Writes `data`, checks the device holds it, returns the ring.
fn write_and_check(rig: &mut Rig, hw: Hw, data: &[u8]) -> Vec<u8> {
    let done = rig.write(data);
    assert_eq!(
        (done.status, done.information),
        (status::SUCCESS, data.len() as u64),
        "write"
    );
    let ring = ring_of(&rig.machine, hw);
    assert_eq!(ring, ring_after_write(&[0; PAGE], 0, data), "device ring");
    ring
}

/// Reads `len` bytes back and checks them against `ring`.
fn read_and_check(rig: &mut Rig, ring: &[u8], len: usize, what: &str) {
    let back = rig.read(len);
    assert_eq!(
        (back.status, back.information),
        (status::SUCCESS, len as u64),
        "{what}: read"
    );
    assert_eq!(back.output, ring_read(ring, 0, len), "{what}: data");
}

/// Runs until the driver has programmed at least `transfers` transfers in all.
fn run_until_programmed(machine: &mut Machine, transfers: u64) {
    for _ in 0..1_000_000 {
        if machine.stats().program_dma_calls >= transfers {
            return;
        }
        assert!(machine.step(), "the machine ran dry\n{}", machine.report());
    }
    panic!("never reached {transfers} transfers");
}

/// Checks the end of a request the framework stopped in flight.
///
/// Cancelled with the bytes moved, which the device holds. edu stops at a transfer boundary (a whole command); the system DMA
/// controller is stopped at once, mid-transfer, and reports what it moved.
fn assert_ended_at_boundary(machine: &Machine, hw: Hw, done: &kmdf_sim::IoCompletion, data: &[u8]) {
    assert_eq!(done.status, status::CANCELLED, "the request in flight");
    let moved = done.information as usize;
    assert!(moved > 0 && moved < data.len(), "part of it moved: {moved}");
    if hw != Hw::System {
        assert_eq!(moved % PAGE, 0, "ended at a transfer boundary: {moved}");
    }
    assert_eq!(
        ring_of(machine, hw),
        ring_after_write(&[0; PAGE], 0, &data[..moved]),
        "the device holds exactly the bytes reported"
    );
}

#[test]
fn rebalance_moves_the_bar_and_the_vector_and_the_data_survives() {
    for hw in [Hw::EduMsi, Hw::EduIntx, Hw::System] {
        let mut rig = Rig::new(101, hw);
        let data = pattern(PAGE, 1);
        let ring = write_and_check(&mut rig, hw, &data);
        let accesses = rig.machine.stats().register_accesses;
        assert_eq!(rig.machine.query_stop(rig.device), status::SUCCESS);
        assert_eq!(rig.machine.stop(rig.device), status::SUCCESS);
        assert!(!rig.machine.is_started(rig.device));
        let new = NewResources {
            bar_base: Some(0xFD00_0000),
            vector: Some(0x62),
            ..NewResources::default()
        };
        assert_eq!(rig.machine.restart(rig.device, new), status::SUCCESS);
        assert!(rig.machine.is_started(rig.device));
        assert!(
            rig.machine.stats().register_accesses > accesses,
            "the driver reached the registers at the new address"
        );
        read_and_check(
            &mut rig,
            &ring,
            PAGE,
            &format!("{hw:?} after the rebalance"),
        );
        assert_eq!(moved_of(&rig, hw), 2 * PAGE as u64, "{hw:?}: bytes moved");
        rig.finish_clean();
    }
}

#[test]
fn repeated_rebalances_leave_no_framework_object_behind() {
    // What release-hardware frees (the DMA enabler and its transactions, the interrupt, the
    // mapping) must not pile up across stops and restarts: a device rebalanced for weeks holds
    // as many objects as a new one.
    for hw in [Hw::EduMsi, Hw::System] {
        let mut rig = Rig::new(109, hw);
        let data = pattern(PAGE, 3);
        write_and_check(&mut rig, hw, &data);
        let started = rig.machine.footprint().live_objects;
        for round in 0..4_u64 {
            assert_eq!(
                rig.machine.rebalance(rig.device, NewResources::default()),
                0
            );
            write_and_check(&mut rig, hw, &data);
            assert_eq!(
                rig.machine.footprint().live_objects,
                started,
                "{hw:?}: framework objects after rebalance {round}"
            );
        }
        rig.finish_clean();
    }
}

#[test]
fn rebalance_switches_msi_to_intx_and_back() {
    let hw = Hw::EduMsi;
    let mut rig = Rig::new(102, hw);
    assert_eq!(info(&mut rig).msi, 1);
    let data = pattern(3 * PAGE, 2);
    let ring = write_and_check(&mut rig, hw, &data);
    let to_intx = NewResources {
        msi: Some(false),
        vector: Some(0x33),
        ..NewResources::default()
    };
    assert_eq!(rig.machine.rebalance(rig.device, to_intx), status::SUCCESS);
    assert!(!rig.machine.edu(0, kmdf_sim::devices::edu::Edu::msi_enabled));
    assert_eq!(
        info(&mut rig).msi,
        0,
        "the driver rebuilt its interrupt as INTx"
    );
    let isr_before = rig.machine.stats().isr_calls;
    read_and_check(&mut rig, &ring, 3 * PAGE, "over INTx");
    assert!(
        rig.machine.stats().isr_calls >= isr_before + 3,
        "one interrupt per transfer"
    );
    let to_msi = NewResources {
        msi: Some(true),
        ..NewResources::default()
    };
    assert_eq!(rig.machine.rebalance(rig.device, to_msi), status::SUCCESS);
    assert_eq!(info(&mut rig).msi, 1, "back to MSI");
    let data = pattern(PAGE + 17, 3);
    let ring = write_and_check(&mut rig, hw, &data);
    read_and_check(&mut rig, &ring, PAGE + 17, "over MSI again");
    rig.finish_clean();
}

#[test]
fn system_dma_rebalance_to_another_request_line_rebuilds_the_adapter() {
    let hw = Hw::System;
    let mut rig = Rig::new(103, hw);
    let data = pattern(2 * PAGE + 5, 4);
    let ring = write_and_check(&mut rig, hw, &data);
    let new = NewResources {
        bar_base: Some(0xFC00_0000),
        dma_request: Some((2, 11)),
        ..NewResources::default()
    };
    assert_eq!(rig.machine.rebalance(rig.device, new), status::SUCCESS);
    read_and_check(&mut rig, &ring, 2 * PAGE + 5, "on line 2/11");
    assert_eq!(moved_of(&rig, Hw::System), 2 * (2 * PAGE as u64 + 5));
    rig.finish_clean();
}

#[test]
fn stop_ends_the_request_in_flight_at_a_boundary_and_holds_the_queued_one_until_restart() {
    for hw in [Hw::EduMsi, Hw::System] {
        let mut rig = Rig::new(104, hw);
        let first = pattern(16 * PAGE, 5);
        let second = pattern(PAGE, 6);
        let irp1 = rig.machine.submit(
            rig.device,
            IoOp::Write {
                data: first.clone(),
            },
        );
        run_until_programmed(&mut rig.machine, 3);
        let irp2 = rig.machine.submit(
            rig.device,
            IoOp::Write {
                data: second.clone(),
            },
        );
        assert_eq!(rig.machine.query_stop(rig.device), status::SUCCESS);
        assert_eq!(rig.machine.stop(rig.device), status::SUCCESS);
        let done1 = rig
            .machine
            .take_completion(irp1)
            .expect("ended by the stop");
        assert_ended_at_boundary(&rig.machine, hw, &done1, &first);
        // A request sent while stopped waits too.
        let irp3 = rig.machine.submit(rig.device, IoOp::Read { len: PAGE });
        rig.machine.run_for(SECOND);
        assert!(
            rig.machine.completion(irp2).is_none(),
            "{hw:?}: held while stopped"
        );
        assert!(
            rig.machine.completion(irp3).is_none(),
            "{hw:?}: held while stopped"
        );
        let new = NewResources {
            bar_base: Some(0xFB00_0000),
            ..NewResources::default()
        };
        assert_eq!(rig.machine.restart(rig.device, new), status::SUCCESS);
        let done2 = rig.wait(irp2);
        assert_eq!(
            (done2.status, done2.information),
            (status::SUCCESS, PAGE as u64)
        );
        let done3 = rig.wait(irp3);
        assert_eq!(
            (done3.status, done3.information),
            (status::SUCCESS, PAGE as u64)
        );
        assert_eq!(
            done3.output, second,
            "{hw:?}: the data written after the restart"
        );
        assert_eq!(
            moved_of(&rig, hw),
            done1.information + 2 * PAGE as u64,
            "{hw:?}: the device moved exactly the bytes reported"
        );
        rig.finish_clean();
    }
}

#[test]
fn sleep_and_hibernate_end_the_request_in_flight_and_hold_new_ones_until_wake() {
    for (hw, state) in [
        (Hw::EduIntx, SystemSleep::S3),
        (Hw::System, SystemSleep::S4),
    ] {
        let mut rig = Rig::new(105, hw);
        let first = pattern(8 * PAGE, 7);
        let irp1 = rig.machine.submit(
            rig.device,
            IoOp::Write {
                data: first.clone(),
            },
        );
        run_until_programmed(&mut rig.machine, 2);
        assert_eq!(rig.machine.sleep(rig.device, state), status::SUCCESS);
        let done1 = rig
            .machine
            .take_completion(irp1)
            .expect("ended by the power-down");
        assert_ended_at_boundary(&rig.machine, hw, &done1, &first);
        let second = pattern(PAGE, 8);
        let irp2 = rig.machine.submit(
            rig.device,
            IoOp::Write {
                data: second.clone(),
            },
        );
        rig.machine.run_for(5 * SECOND);
        assert!(
            rig.machine.completion(irp2).is_none(),
            "{state:?}: waits in the queue"
        );
        assert_eq!(rig.machine.wake(rig.device), status::SUCCESS);
        let done2 = rig.wait(irp2);
        assert_eq!(
            (done2.status, done2.information),
            (status::SUCCESS, PAGE as u64)
        );
        let ring = ring_of(&rig.machine, hw);
        assert_eq!(ring, second);
        read_and_check(&mut rig, &ring, PAGE, &format!("after {state:?}"));
        rig.finish_clean();
    }
}

#[test]
fn query_remove_then_cancel_keeps_the_device_and_its_io() {
    let hw = Hw::EduMsi;
    let mut rig = Rig::new(106, hw);
    let data = pattern(2 * PAGE, 9);
    let irp = rig
        .machine
        .submit(rig.device, IoOp::Write { data: data.clone() });
    run_until_programmed(&mut rig.machine, 1);
    assert_eq!(rig.machine.query_remove(rig.device), status::SUCCESS);
    rig.machine.cancel_remove(rig.device);
    let done = rig.wait(irp);
    assert_eq!(
        (done.status, done.information),
        (status::SUCCESS, 2 * PAGE as u64)
    );
    let ring = ring_of(&rig.machine, hw);
    assert_eq!(
        ring,
        ring_after_write(&[0; PAGE], 0, &data),
        "the whole write landed"
    );
    read_and_check(&mut rig, &ring, 2 * PAGE, "after the cancelled remove");
    rig.finish_clean();
}

/// What an application finds when it looks up the driver's device interface.
fn edu_interface(machine: &Machine) -> Vec<DeviceHandle> {
    let guid = GUID_DEVINTERFACE_EDU_DMA;
    machine.interface_devices(&GUID {
        Data1: guid.data1,
        Data2: guid.data2,
        Data3: guid.data3,
        Data4: guid.data4,
    })
}

#[test]
fn applications_find_the_device_through_its_interface_while_it_is_present() {
    // The harness and every application open the device through GUID_DEVINTERFACE_EDU_DMA:
    // a started device exposes it, through power transitions; a removed one does not.
    for hw in [Hw::EduMsi, Hw::System] {
        let mut rig = Rig::new(108, hw);
        assert_eq!(
            edu_interface(&rig.machine),
            vec![rig.device],
            "{hw:?} started"
        );
        assert_eq!(rig.machine.power_down(rig.device), status::SUCCESS);
        assert_eq!(
            edu_interface(&rig.machine),
            vec![rig.device],
            "{hw:?} in D3"
        );
        assert_eq!(rig.machine.power_up(rig.device), status::SUCCESS);
        assert_eq!(rig.machine.disable(rig.device), status::SUCCESS);
        assert!(edu_interface(&rig.machine).is_empty(), "{hw:?} disabled");
        rig.device = rig.machine.enable(0).expect("enable");
        assert_eq!(
            edu_interface(&rig.machine),
            vec![rig.device],
            "{hw:?} enabled"
        );
        rig.machine.surprise_remove(rig.device);
        assert!(edu_interface(&rig.machine).is_empty(), "{hw:?} removed");
        rig.finish_clean();
    }
}

#[test]
fn disable_cancels_what_is_queued_and_enable_brings_a_new_device() {
    for hw in [Hw::EduMsi, Hw::System] {
        let mut rig = Rig::new(107, hw);
        let first = pattern(8 * PAGE, 10);
        let irp1 = rig.machine.submit(
            rig.device,
            IoOp::Write {
                data: first.clone(),
            },
        );
        run_until_programmed(&mut rig.machine, 2);
        let irp2 = rig.submit_write(PAGE, 11);
        assert_eq!(rig.machine.disable(rig.device), status::SUCCESS);
        let done1 = rig.machine.take_completion(irp1).expect("purged");
        assert_ended_at_boundary(&rig.machine, hw, &done1, &first);
        let done2 = rig
            .machine
            .take_completion(irp2)
            .expect("cancelled from the queue");
        assert_eq!((done2.status, done2.information), (status::CANCELLED, 0));
        let refused = rig.machine.submit(rig.device, IoOp::Read { len: 4 });
        let refused = rig.wait(refused);
        assert_eq!(
            refused.status,
            status::DEVICE_REMOVED,
            "{hw:?}: no device while disabled"
        );
        let ring = ring_of(&rig.machine, hw);
        rig.device = rig.machine.enable(0).expect("enable");
        read_and_check(&mut rig, &ring, PAGE, &format!("{hw:?} after enable"));
        rig.assert_usable("after enable");
        rig.finish_clean();
    }
}

fn four_devices() -> (Machine, Vec<DeviceHandle>) {
    let mut machine = Machine::new(MachineConfig {
        seed: 108,
        policy: Policy::default(),
        hardware: vec![
            HardwareConfig::Edu {
                config: EduConfig::default(),
                msi: true,
            },
            HardwareConfig::Edu {
                config: EduConfig::default(),
                msi: false,
            },
            HardwareConfig::SystemDma {
                controller: ControllerConfig::default(),
            },
            HardwareConfig::SystemDma {
                controller: ControllerConfig::default(),
            },
        ],
        trace: false,
    });
    assert_eq!(machine.load_driver(edu_dma::driver_entry), 0);
    let devices = (0..4)
        .map(|hw| machine.add_device(hw).expect("start"))
        .collect();
    (machine, devices)
}

#[test]
fn two_devices_of_each_personality_run_while_one_of_each_is_rebalanced() {
    let (mut machine, devices) = four_devices();
    let data: Vec<Vec<u8>> = (0..4).map(|i| pattern(3 * PAGE, 20 + i)).collect();
    let writes: Vec<Irp> = devices
        .iter()
        .zip(&data)
        .map(|(d, data)| machine.submit(*d, IoOp::Write { data: data.clone() }))
        .collect();
    for irp in &writes {
        let done = machine
            .run_until_complete(*irp, 10 * SECOND)
            .expect("write");
        assert_eq!(
            (done.status, done.information),
            (status::SUCCESS, 3 * PAGE as u64)
        );
    }
    // Devices 1 and 3 keep working while 0 and 2 are rebalanced.
    let busy: Vec<Irp> = [1usize, 3]
        .iter()
        .map(|&i| machine.submit(devices[i], IoOp::Read { len: 3 * PAGE }))
        .collect();
    let edu = NewResources {
        bar_base: Some(0xF000_0000),
        msi: Some(false),
        ..NewResources::default()
    };
    assert_eq!(machine.rebalance(devices[0], edu), status::SUCCESS);
    let system = NewResources {
        dma_request: Some((1, 12)),
        ..NewResources::default()
    };
    assert_eq!(machine.rebalance(devices[2], system), status::SUCCESS);
    for (irp, i) in busy.iter().zip([1usize, 3]) {
        let done = machine.run_until_complete(*irp, 10 * SECOND).expect("read");
        assert_eq!(done.status, status::SUCCESS);
        assert_eq!(
            done.output,
            ring_read(&ring_after_write(&[0; PAGE], 0, &data[i]), 0, 3 * PAGE)
        );
    }
    for i in [0usize, 2] {
        let irp = machine.submit(devices[i], IoOp::Read { len: 3 * PAGE });
        let done = machine.run_until_complete(irp, 10 * SECOND).expect("read");
        assert_eq!(
            done.status,
            status::SUCCESS,
            "device {i} after its rebalance"
        );
        assert_eq!(
            done.output,
            ring_read(&ring_after_write(&[0; PAGE], 0, &data[i]), 0, 3 * PAGE)
        );
    }
    let report = machine.unload();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn driver_unload_with_devices_present_and_io_outstanding_completes_everything_once() {
    let (mut machine, devices) = four_devices();
    let mut irps = Vec::new();
    for (i, device) in devices.iter().enumerate() {
        irps.push(machine.submit(
            *device,
            IoOp::Write {
                data: pattern(8 * PAGE, 30 + i as u64),
            },
        ));
        irps.push(machine.submit(*device, IoOp::Read { len: PAGE }));
    }
    run_until_programmed(&mut machine, 4);
    let report = machine.unload();
    assert!(report.is_clean(), "{report}");
    let completed = machine.stats().completions;
    assert_eq!(completed, irps.len() as u64, "each request completed once");
    for irp in irps {
        let done = machine.take_completion(irp).expect("completed at unload");
        assert!(
            done.status == status::SUCCESS || done.status == status::CANCELLED,
            "{done:?}"
        );
        assert!(done.information as usize <= 8 * PAGE);
    }
}

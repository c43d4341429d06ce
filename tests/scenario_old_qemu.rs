//! The driver on QEMU <= 8.2.0, whose edu device aborts the VM on a DMA that ends at the buffer
//! end (0x41000): with `UsableRingBytes` = 4095 nothing reaches it and every request works;
//! without it the first transfer that touches the last byte takes the (simulated) VM down.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::similar_names,
    reason = "test code: a failed expectation is a test failure"
)]
mod common;

use common::{Rig, pattern, ring_after_write, ring_read, status};
use edu_api::{
    DeviceInfo, DmaAt, IOCTL_EDU_DMA_READ_AT, IOCTL_EDU_DMA_WRITE_AT, IOCTL_EDU_GET_INFO,
    IOCTL_EDU_LOOPBACK,
};
use kmdf_sim::IoOp;
use kmdf_sim::devices::edu::{EduEvent, QemuVersion};

/// Highest device-side end address of any DMA command the model saw.
fn highest_dma_end(rig: &Rig) -> u64 {
    rig.machine.edu(0, |edu| {
        edu.log()
            .iter()
            .filter_map(|event| match event {
                EduEvent::DmaStarted {
                    command,
                    src,
                    dst,
                    count,
                    ..
                } => {
                    // Command bit 1: device buffer to RAM (the source is the device side).
                    let device = if command & 2 != 0 { src } else { dst };
                    Some(device + count)
                }
                _ => None,
            })
            .max()
            .unwrap_or(0)
    })
}

fn info(rig: &mut Rig) -> DeviceInfo {
    let done = rig.ioctl(IOCTL_EDU_GET_INFO, &[], DeviceInfo::SIZE);
    assert_eq!(done.status, status::SUCCESS);
    DeviceInfo::from_bytes(&done.output).expect("info")
}

#[test]
fn with_4095_usable_bytes_the_driver_runs_on_qemu_8_2_0() {
    let mut rig = Rig::edu_on(1, QemuVersion::AbortOffByOne, Some(4095));
    assert_eq!(info(&mut rig).buffer_size, 4095);
    let at = |offset| DmaAt {
        offset,
        reserved: 0,
    };
    // Writes and reads that wrap the ring, from offset 0 (ReadFile/WriteFile) and from
    // offsets up to the last usable one (DMA_WRITE_AT/DMA_READ_AT).
    let mut ring = vec![0u8; 4095];
    for (i, (offset, len)) in [(0, 4096), (0, 9000), (4094, 4095), (4000, 200), (1, 4095)]
        .into_iter()
        .enumerate()
    {
        let data = pattern(len, i as u64);
        let done = rig.run(IoOp::IoctlWithData {
            code: IOCTL_EDU_DMA_WRITE_AT,
            input: at(offset).to_bytes().to_vec(),
            data: data.clone(),
        });
        assert_eq!(
            (done.status, done.information),
            (status::SUCCESS, len as u64)
        );
        ring = ring_after_write(&ring, offset as usize, &data);
        let back = rig.run(IoOp::Ioctl {
            code: IOCTL_EDU_DMA_READ_AT,
            input: at(offset).to_bytes().to_vec(),
            output_len: len,
        });
        assert_eq!(
            (back.status, back.information),
            (status::SUCCESS, len as u64)
        );
        assert!(
            back.output == ring_read(&ring, offset as usize, len),
            "read {i}"
        );
    }
    let done = rig.write(&pattern(5000, 50));
    assert_eq!(done.status, status::SUCCESS);
    ring = ring_after_write(&ring, 0, &pattern(5000, 50));
    let back = rig.read(4095);
    assert!(back.output == ring_read(&ring, 0, 4095), "plain read");
    // The highest usable offset works; the buffer's last byte is outside the ring.
    let done = rig.run(IoOp::Ioctl {
        code: IOCTL_EDU_DMA_READ_AT,
        input: at(4094).to_bytes().to_vec(),
        output_len: 2,
    });
    assert_eq!(done.status, status::SUCCESS);
    assert!(done.output == ring_read(&ring, 4094, 2));
    let done = rig.run(IoOp::Ioctl {
        code: IOCTL_EDU_DMA_READ_AT,
        input: at(4095).to_bytes().to_vec(),
        output_len: 1,
    });
    assert_eq!(done.status, status::INVALID_PARAMETER);
    // Loopback up to the ring length.
    let data = pattern(4095, 99);
    let done = rig.ioctl(IOCTL_EDU_LOOPBACK, &data, 4095);
    assert_eq!(done.status, status::SUCCESS);
    assert!(done.output == data, "loopback of 4095 bytes");
    let done = rig.ioctl(IOCTL_EDU_LOOPBACK, &pattern(4096, 1), 4096);
    assert_eq!(done.status, status::INVALID_PARAMETER);

    assert!(highest_dma_end(&rig) < 0x4_1000);
    assert_eq!(
        rig.machine.edu(0, |edu| edu.fatal().map(str::to_string)),
        None
    );
    rig.finish_clean();
}

#[test]
fn without_the_parameter_qemu_8_2_0_aborts_on_the_first_full_transfer() {
    let mut rig = Rig::edu_on(2, QemuVersion::AbortOffByOne, None);
    assert_eq!(info(&mut rig).buffer_size, 4096);
    let done = rig.write(&pattern(4096, 5));
    assert_ne!(done.status, status::SUCCESS, "the device went inert");
    let fatal = rig.machine.edu(0, |edu| edu.fatal().map(str::to_string));
    assert!(fatal.is_some(), "the model records QEMU's abort");
    let report = rig.machine.unload();
    assert!(
        report
            .of("DEVICE")
            .iter()
            .any(|f| f.severity == kmdf_sim::Severity::Fatal),
        "{report}"
    );
}

#[test]
fn newer_qemu_versions_run_the_whole_buffer_without_the_parameter() {
    for qemu in [
        QemuVersion::AbortFixedBound,
        QemuVersion::LogAndCopy,
        QemuVersion::LogAndSkip,
    ] {
        let mut rig = Rig::edu_on(3, qemu, None);
        let data = pattern(8192, 7);
        let done = rig.write(&data);
        assert_eq!((done.status, done.information), (status::SUCCESS, 8192));
        let back = rig.read(4096);
        assert!(back.output == data[4096..], "{qemu:?}");
        assert_eq!(highest_dma_end(&rig), 0x4_1000, "{qemu:?}");
        rig.finish_clean();
    }
}

#[test]
fn the_inf_and_the_kit_name_the_parameter_the_driver_reads() {
    let root = env!("CARGO_MANIFEST_DIR");
    let inx = std::fs::read_to_string(format!("{root}/inf/edu_dma.inx")).expect("the INX");
    let line = inx
        .lines()
        .find(|line| !line.trim_start().starts_with(';') && line.contains("UsableRingBytes"))
        .expect("an AddReg line for the parameter");
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let default = edu_dma::params::Parameters::default().usable_ring_bytes;
    assert_eq!(
        fields,
        [
            "HKR",
            "Parameters",
            edu_dma::params::USABLE_RING_BYTES,
            "0x00010003",
            &default.to_string()
        ],
        "REG_DWORD without clobbering a value the kit set, default as the driver's"
    );
    let kit = std::fs::read_to_string(format!("{root}/scripts/Install-Driver.ps1"))
        .expect("Install-Driver.ps1");
    assert!(kit.contains("-Name 'UsableRingBytes'"));
    assert!(
        kit.contains("$UsableRingBytes = 4095"),
        "-OldQemu sets 4095"
    );
}

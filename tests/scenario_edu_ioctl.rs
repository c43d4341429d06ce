//! The I/O contract on the simulated edu device: every IOCTL, every invalid input with its
//! documented status, and DMA through buffers above the device's 28-bit address limit.

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

use common::{Hw, Rig, pattern, ring_after_write, ring_len, ring_read, status};
use edu_api::{
    DeviceInfo, DmaAt, IOCTL_EDU_DMA_READ_AT, IOCTL_EDU_DMA_WRITE_AT, IOCTL_EDU_GET_INFO,
    IOCTL_EDU_GET_STATS, IOCTL_EDU_LOOPBACK, IOCTL_EDU_RESET, Statistics,
};
use kmdf_sim::IoOp;
use kmdf_sim::devices::edu::EduEvent;

fn write_at(rig: &mut Rig, offset: u32, data: &[u8]) -> kmdf_sim::IoCompletion {
    let input = DmaAt {
        offset,
        reserved: 0,
    }
    .to_bytes()
    .to_vec();
    rig.run(IoOp::IoctlWithData {
        code: IOCTL_EDU_DMA_WRITE_AT,
        input,
        data: data.to_vec(),
    })
}

fn read_at(rig: &mut Rig, offset: u32, len: usize) -> kmdf_sim::IoCompletion {
    rig.ioctl(
        IOCTL_EDU_DMA_READ_AT,
        &DmaAt {
            offset,
            reserved: 0,
        }
        .to_bytes(),
        len,
    )
}

fn stats(rig: &mut Rig) -> Statistics {
    let done = rig.ioctl(IOCTL_EDU_GET_STATS, &[], Statistics::SIZE);
    assert_eq!(done.status, status::SUCCESS);
    Statistics::from_bytes(&done.output).expect("statistics")
}

#[test]
fn get_info_reports_the_device_and_the_dma_limits() {
    let mut rig = Rig::new(11, Hw::EduMsi);
    let done = rig.ioctl(IOCTL_EDU_GET_INFO, &[], DeviceInfo::SIZE);
    assert_eq!(
        (done.status, done.information),
        (status::SUCCESS, DeviceInfo::SIZE as u64)
    );
    let info = DeviceInfo::from_bytes(&done.output).expect("info");
    assert_eq!(info.api_version, edu_api::API_VERSION);
    assert_eq!(info.device_id, 0x0100_00ED);
    assert_eq!(
        (info.address_width, info.max_transfer, info.fragment_length),
        (28, 4096, 4096)
    );
    assert_eq!((info.buffer_size as usize, info.msi), (ring_len(), 1));
    rig.finish_clean();
}

#[test]
fn dma_at_an_offset_wraps_around_the_ring() {
    let mut rig = Rig::new(12, Hw::EduIntx);
    let data = pattern(6000, 12);
    let done = write_at(&mut rig, 4000, &data);
    assert_eq!((done.status, done.information), (status::SUCCESS, 6000));
    let ring = ring_after_write(&vec![0; ring_len()], 4000, &data);
    assert_eq!(
        rig.machine
            .edu(0, |edu| edu.buffer()[..ring_len()].to_vec()),
        ring
    );
    let last = ring_len() as u32 - 1;
    let back = read_at(&mut rig, last, 300);
    assert_eq!((back.status, back.information), (status::SUCCESS, 300));
    assert_eq!(back.output, ring_read(&ring, last as usize, 300));
    rig.finish_clean();
}

#[test]
fn loopback_returns_the_input() {
    let mut rig = Rig::new(13, Hw::EduMsi);
    for len in [1, 17, ring_len()] {
        let data = pattern(len, len as u64);
        let done = rig.ioctl(IOCTL_EDU_LOOPBACK, &data, len);
        assert_eq!(
            (done.status, done.information),
            (status::SUCCESS, len as u64),
            "loopback {len}"
        );
        assert_eq!(done.output, data, "loopback {len} data");
    }
    rig.finish_clean();
}

#[test]
fn statistics_count_requests_bytes_and_fragments_and_reset_clears_them() {
    let mut rig = Rig::new(14, Hw::EduMsi);
    assert_eq!(rig.write(&pattern(5000, 1)).status, status::SUCCESS);
    assert_eq!(rig.read(100).status, status::SUCCESS);
    assert_eq!(
        rig.ioctl(IOCTL_EDU_LOOPBACK, &[7; 10], 10).status,
        status::SUCCESS
    );
    assert_eq!(
        rig.ioctl(0x0022_2FFF, &[], 0).status,
        status::INVALID_DEVICE_REQUEST
    );
    let counters = stats(&mut rig);
    assert_eq!(counters.requests, 4);
    assert_eq!(
        (counters.bytes_written, counters.bytes_read),
        (5000 + 10, 100 + 10)
    );
    assert_eq!(
        counters.fragments,
        2 + 1 + 2,
        "5000 bytes = 2 commands, 100 = 1, loopback = 2"
    );
    assert_eq!(counters.errors, 1);
    assert_eq!(counters.interrupts, 5, "one MSI per command");
    let reset = rig.ioctl(IOCTL_EDU_RESET, &[], 0);
    assert_eq!((reset.status, reset.information), (status::SUCCESS, 0));
    let after = stats(&mut rig);
    assert_eq!(
        (after.requests, after.bytes_written, after.fragments),
        (1, 0, 0),
        "only the reset itself"
    );
    rig.finish_clean();
}

#[test]
fn every_invalid_input_gets_its_documented_status_and_moves_nothing() {
    let mut rig = Rig::new(15, Hw::EduMsi);
    let header = |offset: u32, reserved: u32| DmaAt { offset, reserved }.to_bytes().to_vec();
    let cases: Vec<(&str, IoOp, i32)> = vec![
        (
            "unknown code",
            IoOp::Ioctl {
                code: 0x0022_3000,
                input: vec![],
                output_len: 0,
            },
            status::INVALID_DEVICE_REQUEST,
        ),
        (
            "info output short",
            IoOp::Ioctl {
                code: IOCTL_EDU_GET_INFO,
                input: vec![],
                output_len: 31,
            },
            status::BUFFER_TOO_SMALL,
        ),
        (
            "stats output short",
            IoOp::Ioctl {
                code: IOCTL_EDU_GET_STATS,
                input: vec![],
                output_len: 8,
            },
            status::BUFFER_TOO_SMALL,
        ),
        (
            "read-at header short",
            IoOp::Ioctl {
                code: IOCTL_EDU_DMA_READ_AT,
                input: vec![0; 7],
                output_len: 16,
            },
            status::BUFFER_TOO_SMALL,
        ),
        (
            "read-at no header",
            IoOp::Ioctl {
                code: IOCTL_EDU_DMA_READ_AT,
                input: vec![],
                output_len: 16,
            },
            status::BUFFER_TOO_SMALL,
        ),
        (
            "read-at offset 4096",
            IoOp::Ioctl {
                code: IOCTL_EDU_DMA_READ_AT,
                input: header(4096, 0),
                output_len: 16,
            },
            status::INVALID_PARAMETER,
        ),
        (
            "read-at reserved",
            IoOp::Ioctl {
                code: IOCTL_EDU_DMA_READ_AT,
                input: header(0, 1),
                output_len: 16,
            },
            status::INVALID_PARAMETER,
        ),
        (
            "read-at no data",
            IoOp::Ioctl {
                code: IOCTL_EDU_DMA_READ_AT,
                input: header(0, 0),
                output_len: 0,
            },
            status::INVALID_PARAMETER,
        ),
        (
            "write-at offset huge",
            IoOp::IoctlWithData {
                code: IOCTL_EDU_DMA_WRITE_AT,
                input: header(u32::MAX, 0),
                data: vec![1; 8],
            },
            status::INVALID_PARAMETER,
        ),
        (
            "read-at too long",
            IoOp::Ioctl {
                code: IOCTL_EDU_DMA_READ_AT,
                input: header(0, 0),
                output_len: edu_api::MAX_TRANSFER_LENGTH + 1,
            },
            status::INVALID_BUFFER_SIZE,
        ),
        (
            "read too long",
            IoOp::Read {
                len: edu_api::MAX_TRANSFER_LENGTH + 1,
            },
            status::INVALID_BUFFER_SIZE,
        ),
        (
            "loopback empty",
            IoOp::Ioctl {
                code: IOCTL_EDU_LOOPBACK,
                input: vec![],
                output_len: 0,
            },
            status::INVALID_PARAMETER,
        ),
        (
            "loopback too long",
            IoOp::Ioctl {
                code: IOCTL_EDU_LOOPBACK,
                input: vec![0; 4097],
                output_len: 4097,
            },
            status::INVALID_PARAMETER,
        ),
        (
            "loopback lengths differ",
            IoOp::Ioctl {
                code: IOCTL_EDU_LOOPBACK,
                input: vec![0; 8],
                output_len: 16,
            },
            status::INVALID_PARAMETER,
        ),
        (
            "neither-method code",
            IoOp::Ioctl {
                code: 0x0022_2003,
                input: vec![1],
                output_len: 1,
            },
            status::INVALID_DEVICE_REQUEST,
        ),
    ];
    for (name, op, expected) in cases {
        let done = rig.run(op);
        assert_eq!((done.status, done.information), (expected, 0), "{name}");
    }
    assert_eq!(
        rig.machine.edu(0, kmdf_sim::devices::edu::Edu::bytes_moved),
        0,
        "no DMA for invalid input"
    );
    for op in [IoOp::Read { len: 0 }, IoOp::Write { data: vec![] }] {
        let done = rig.run(op);
        assert_eq!(
            (done.status, done.information),
            (status::SUCCESS, 0),
            "zero-length I/O"
        );
    }
    rig.finish_clean();
}

#[test]
fn buffers_above_the_28_bit_limit_are_bounced_never_truncated() {
    let mut rig = Rig::new(16, Hw::EduMsi);
    let data = pattern(64 * 1024, 16);
    assert_eq!(rig.write(&data).status, status::SUCCESS);
    let back = rig.read(64 * 1024);
    assert_eq!(
        back.output,
        ring_read(
            &ring_after_write(&vec![0; ring_len()], 0, &data),
            0,
            64 * 1024
        )
    );
    let dmas: Vec<_> = rig.machine.edu(0, |edu| {
        edu.log()
            .iter()
            .filter_map(|event| match event {
                EduEvent::Dma(dma) => Some(*dma),
                _ => None,
            })
            .collect()
    });
    // 16 commands each way on the whole buffer; a shortened ring splits at its end too.
    if ring_len() == 4096 {
        assert_eq!(dmas.len(), 32);
    } else {
        assert!(dmas.len() >= 2 * (64 * 1024_usize).div_ceil(ring_len()));
    }
    for dma in &dmas {
        assert!(!dma.truncated, "{dma:?}");
        assert!(dma.ram_addr_used + dma.count <= 1 << 28, "{dma:?}");
    }
    rig.finish_clean();
}

#[test]
fn a_loopback_whose_read_half_times_out_still_counts_the_bytes_written() {
    const MS: u64 = 1_000_000;
    let mut rig = Rig::new(17, Hw::EduMsi);
    let data = pattern(ring_len(), 17);
    let irp = rig.machine.submit(
        rig.device,
        IoOp::Ioctl {
            code: IOCTL_EDU_LOOPBACK,
            input: data,
            output_len: ring_len(),
        },
    );
    // The write half's command is running (it takes 100 ms); the next command, the read
    // half's, hangs.
    rig.machine.run_for(50 * MS);
    rig.machine
        .inject_edu(0, kmdf_sim::devices::edu::EduFault::Hang { ns: 1500 * MS });
    let done = rig.wait(irp);
    assert_eq!(
        (done.status, done.information),
        (status::IO_TIMEOUT, 0),
        "the read half moved nothing"
    );
    let after = stats(&mut rig);
    assert_eq!(
        (after.bytes_written, after.bytes_read, after.timeouts),
        (ring_len() as u64, 0, 1),
        "the write half reached the device"
    );
    rig.finish_clean();
}

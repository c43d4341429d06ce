//! IOCTL and request fuzzing: arbitrary control codes (all four transfer methods, the
//! driver's own codes and their neighbours), buffer sizes and contents, reads and writes of
//! arbitrary lengths, thrown at the driver in the simulator. Every input must complete with a
//! documented status, never report more bytes than the buffer holds, never halt the machine
//! (a bugcheck on Windows), and leave the verifier clean.
//!
//! Seeded structured generation (no external fuzzer): the toolchain here is stable-only, so
//! libFuzzer's coverage instrumentation is unavailable, and the interesting space (codes x
//! methods x lengths around the validation boundaries) is small enough to enumerate by
//! construction. The default budget fits CI; `EDU_FUZZ_INPUTS=1000000 cargo test --release
//! --test fuzz_ioctl` is the long run.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use common::{Hw, Rig, SECOND, status};
use edu_api::{ALL_IOCTLS, DmaAt};
use kmdf_sim::{IoOp, Rng};

/// Lengths that sit on the validation boundaries, and random ones.
const fn length(rng: &mut Rng) -> usize {
    const EDGES: [usize; 14] = [
        0,
        1,
        7,
        8,
        31,
        32,
        63,
        64,
        4095,
        4096,
        4097,
        8192,
        65536,
        edu_api::MAX_TRANSFER_LENGTH + 1,
    ];
    if rng.chance(2, 3) {
        EDGES[rng.below(EDGES.len() as u64) as usize]
    } else {
        rng.below(20_000) as usize
    }
}

const fn code(rng: &mut Rng) -> u32 {
    match rng.below(4) {
        0 => ALL_IOCTLS[rng.below(ALL_IOCTLS.len() as u64) as usize],
        // Our codes with another method or access.
        1 => {
            (ALL_IOCTLS[rng.below(ALL_IOCTLS.len() as u64) as usize] & !0xC003)
                | (rng.below(4) as u32)
                | ((rng.below(4) as u32) << 14)
        }
        // Neighbouring function numbers on our device type.
        2 => edu_api::ctl_code(
            0x22,
            0x7F0 + rng.below(0x30) as u32,
            rng.below(4) as u32,
            rng.below(4) as u32,
        ),
        _ => rng.next_u64() as u32,
    }
}

fn input(rng: &mut Rng, code: u32) -> Vec<u8> {
    let len = if rng.chance(1, 2) {
        DmaAt::SIZE
    } else {
        length(rng).min(70_000)
    };
    let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    if bytes.len() >= DmaAt::SIZE
        && rng.chance(1, 2)
        && (code == edu_api::IOCTL_EDU_DMA_READ_AT || code == edu_api::IOCTL_EDU_DMA_WRITE_AT)
    {
        // A plausible header, so the DMA paths run too.
        let offset = rng.below(4200) as u32;
        bytes[..DmaAt::SIZE].copy_from_slice(
            &DmaAt {
                offset,
                reserved: u32::from(rng.chance(1, 8)),
            }
            .to_bytes(),
        );
    }
    bytes
}

fn operation(rng: &mut Rng) -> IoOp {
    match rng.below(8) {
        0 => IoOp::Read { len: length(rng) },
        1 => IoOp::Write {
            data: vec![0xA5; length(rng)],
        },
        2 => {
            let code = code(rng);
            let input = input(rng, code);
            IoOp::IoctlWithData {
                code,
                input,
                data: vec![0x5A; length(rng)],
            }
        }
        _ => {
            let code = code(rng);
            let input = input(rng, code);
            IoOp::Ioctl {
                code,
                input,
                output_len: length(rng),
            }
        }
    }
}

const fn capacity(op: &IoOp) -> u64 {
    match op {
        IoOp::Read { len } => *len as u64,
        IoOp::Write { data } | IoOp::IoctlWithData { data, .. } => data.len() as u64,
        IoOp::Ioctl { output_len, .. } => *output_len as u64,
    }
}

#[test]
fn arbitrary_requests_get_documented_statuses_only() {
    let inputs: u64 = std::env::var("EDU_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let seed: u64 = std::env::var("EDU_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0xF022);
    let documented = [
        status::SUCCESS,
        status::INVALID_DEVICE_REQUEST,
        status::INVALID_PARAMETER,
        status::BUFFER_TOO_SMALL,
        status::INVALID_BUFFER_SIZE,
    ];
    let mut rng = Rng::new(seed);
    let wall = std::time::Instant::now();
    let (mut tried, mut by_status) = (0u64, std::collections::BTreeMap::<i32, u64>::new());
    // A fresh machine every 500 inputs keeps each run short and also covers unload.
    while tried < inputs {
        let hw = if rng.chance(1, 4) {
            Hw::System
        } else {
            Hw::EduMsi
        };
        let mut rig = Rig::new(rng.next_u64(), hw);
        for _ in 0..500.min(inputs - tried) {
            let op = operation(&mut rng);
            let cap = capacity(&op);
            let irp = rig.machine.submit(rig.device, op.clone());
            let done = rig
                .machine
                .run_until_complete(irp, 600 * SECOND)
                .unwrap_or_else(|| {
                    panic!(
                        "input {tried} never completed: {op:?}\n{}",
                        rig.machine.report()
                    )
                });
            assert!(
                documented.contains(&done.status),
                "input {tried}: status {:#x} for {op:?}",
                done.status
            );
            assert!(
                done.information <= cap,
                "input {tried}: information {} > {cap} for {op:?}",
                done.information
            );
            assert!(
                !rig.machine.halted(),
                "input {tried} halted the machine: {op:?}\n{}",
                rig.machine.report()
            );
            *by_status.entry(done.status).or_default() += 1;
            tried += 1;
        }
        rig.finish_clean();
    }
    let counts: Vec<String> = by_status
        .iter()
        .map(|(status, count)| format!("{:#010x}={count}", status.cast_unsigned()))
        .collect();
    common::check_recorded_counts(
        &format!("fuzz seed={seed:#x} inputs={tried}"),
        &counts.join(" "),
    );
    let statuses: Vec<String> = by_status
        .iter()
        .map(|(status, count)| format!("{:#010x}: {count}", status.cast_unsigned()))
        .collect();
    eprintln!(
        "fuzz_ioctl: {tried} inputs (seed {seed:#x}) in {:.1} s; statuses {}",
        wall.elapsed().as_secs_f64(),
        statuses.join(", ")
    );
}

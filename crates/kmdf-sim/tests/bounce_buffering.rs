//! Simulated physical memory and the HAL's bounce buffers, end to end (`kmdf-dma-semantics.md`
//! §1.5): user pages are scattered over 64 GiB, the edu device reaches only 28 bits
//! (`dma_mask` `0x0FFF_FFFF`), and the enabler's declared address width decides which pages the
//! HAL bounces. Declaring the wrong width must visibly corrupt the data.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]
#![allow(
    clippy::expect_used,
    reason = "test helpers fail the test when a request never completes"
)]

mod common;

use common::{Bad, Ev, Knobs, Rig, Setup, events, pattern, take_events};
use kmdf_sim::devices::edu::{EduDma, EduEvent};
use kmdf_sim::mirror::{_WDF_DMA_PROFILE, STATUS_SUCCESS};
use kmdf_sim::{IoCompletion, IoOp};

const SIZE: usize = 64 * 1024;
const CHUNK: usize = 4096;
const SEED: u64 = 11;

/// What one 64 KiB write looked like from the driver and from the device.
struct Run {
    rig: Rig,
    done: IoCompletion,
    data: Vec<u8>,
    /// `(logical address, length)` of every `EvtProgramDma`.
    programs: Vec<(u64, usize)>,
    /// The device's DMA records.
    dmas: Vec<EduDma>,
    /// The device buffer right after each DMA command.
    buffers: Vec<Vec<u8>>,
}

impl Run {
    fn mismatched_chunks(&self) -> usize {
        self.buffers
            .iter()
            .zip(self.data.chunks(CHUNK))
            .filter(|(buffer, chunk)| buffer.as_slice() != *chunk)
            .count()
    }
}

/// Writes 64 KiB with `knobs`, stepping the machine to snapshot the device buffer after each of
/// the 16 one-page DMA commands (each lands at device offset 0).
fn write_64k(knobs: Knobs) -> Run {
    let mut rig = Rig::new(Setup {
        seed: SEED,
        knobs,
        // These runs show what a wrong address width does to the data, so the device's
        // accesses outside the mapped transfer (the truncated addresses) are not stopped by the
        // DMA-END rule (an IOMMU would stop them on a real machine).
        policy: kmdf_sim::Policy {
            check_dma_windows: false,
            ..Setup::quiet()
        },
        ..Setup::bad(Bad::Nothing)
    });
    take_events();
    let data = pattern(SIZE, SEED);
    let irp = rig.submit(IoOp::Write { data: data.clone() });
    let mut buffers = Vec::new();
    while rig.machine.completion(irp).is_none() && rig.machine.step() {
        let (count, buffer) = rig.machine.edu(0, |edu| {
            (
                edu.log()
                    .iter()
                    .filter(|e| matches!(e, EduEvent::Dma(_)))
                    .count(),
                edu.buffer().to_vec(),
            )
        });
        if count > buffers.len() {
            buffers.push(buffer);
        }
    }
    let done = rig
        .machine
        .take_completion(irp)
        .expect("the write completes");
    let programs = events()
        .iter()
        .filter_map(|e| {
            if let Ev::Program {
                address, length, ..
            } = e
            {
                Some((*address, *length))
            } else {
                None
            }
        })
        .collect();
    let dmas = rig.machine.edu(0, |edu| {
        edu.log()
            .iter()
            .filter_map(|e| {
                if let EduEvent::Dma(d) = e {
                    Some(*d)
                } else {
                    None
                }
            })
            .collect()
    });
    Run {
        rig,
        done,
        data,
        programs,
        dmas,
        buffers,
    }
}

#[test]
fn bounce_28_bit_enabler_delivers_every_byte_of_a_scattered_64_kib_write() {
    let run = write_64k(Knobs::PACKET);
    assert_eq!(
        (run.done.status, run.done.information),
        (STATUS_SUCCESS, SIZE as u64)
    );
    assert_eq!(run.programs.len(), SIZE / CHUNK);
    assert!(
        run.programs
            .iter()
            .all(|(address, length)| address + *length as u64 <= 1 << 28),
        "every logical address fits 28 bits: {:x?}",
        run.programs
    );
    // Bounced pages all go through the enabler's two-page bounce pool, so the same logical
    // address recurs; pages already below 256 MiB keep their own address.
    let mut addresses: Vec<u64> = run.programs.iter().map(|(address, _)| *address).collect();
    addresses.sort_unstable();
    addresses.dedup();
    assert!(
        addresses.len() < run.programs.len(),
        "no transfer was bounced: {:x?}",
        run.programs
    );
    assert!(
        run.dmas.iter().all(|d| !d.truncated),
        "the device's mask never had to cut an address"
    );
    assert_eq!(run.buffers.len(), SIZE / CHUNK);
    assert_eq!(
        run.mismatched_chunks(),
        0,
        "each page reached the device intact"
    );
    run.rig.unload_clean();
}

#[test]
fn bounce_32_bit_enabler_on_a_28_bit_device_truncates_addresses_and_corrupts_data() {
    // The driver wrongly declares 32 bits while the device still masks to 28: the HAL leaves
    // pages between 256 MiB and 4 GiB in place and bounces the rest below 4 GiB only.
    let run = write_64k(Knobs {
        width: 32,
        ..Knobs::PACKET
    });
    assert_eq!(
        (run.done.status, run.done.information),
        (STATUS_SUCCESS, SIZE as u64),
        "nothing reports an error"
    );
    assert!(
        run.programs
            .iter()
            .all(|(address, length)| address + *length as u64 <= 1 << 32)
    );
    assert!(
        run.programs.iter().any(|(address, _)| *address >= 1 << 28),
        "{:x?}",
        run.programs
    );
    assert!(
        run.dmas.iter().any(|d| d.truncated),
        "the device cut some address to 28 bits"
    );
    assert!(
        run.mismatched_chunks() > 0,
        "truncated DMA read the wrong memory"
    );
    run.rig.unload_clean();
}

#[test]
fn bounce_64_bit_enabler_hands_the_device_user_pages_above_4_gib() {
    // Without bouncing the logical addresses are the user pages themselves: the scattered
    // placement really puts some above 4 GiB, which is what the 28-bit run had to bounce.
    let knobs = Knobs {
        profile: _WDF_DMA_PROFILE::WdfDmaProfilePacket64,
        width: 64,
        ..Knobs::PACKET
    };
    let run = write_64k(knobs);
    assert_eq!(run.done.status, STATUS_SUCCESS);
    assert!(
        run.programs.iter().any(|(address, _)| *address >= 1 << 32),
        "{:x?}",
        run.programs
    );
    assert!(run.dmas.iter().any(|d| d.truncated));
    assert!(run.mismatched_chunks() > 0);
    run.rig.unload_clean();
}

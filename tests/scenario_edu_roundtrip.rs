//! The driver on the simulated edu device: writes and reads of many sizes, data verified
//! byte for byte, Information equal to the bytes moved, verifier clean at unload.

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

fn roundtrip(seed: u64, hw: Hw, size: usize) {
    let mut rig = Rig::new(seed, hw);
    let data = pattern(size, seed ^ size as u64);
    let written = rig.write(&data);
    assert_eq!(
        (written.status, written.information),
        (status::SUCCESS, size as u64),
        "write of {size} (seed {seed})"
    );
    let expected = ring_after_write(&vec![0; ring_len()], 0, &data);
    assert_eq!(
        rig.machine
            .edu(0, |edu| edu.buffer()[..ring_len()].to_vec()),
        expected,
        "device buffer after write of {size}"
    );
    let back = rig.read(size);
    assert_eq!(
        (back.status, back.information),
        (status::SUCCESS, size as u64),
        "read of {size} (seed {seed})"
    );
    assert_eq!(
        back.output,
        ring_read(&expected, 0, size),
        "read data of {size} (seed {seed})"
    );
    let moved = rig.machine.edu(0, kmdf_sim::devices::edu::Edu::bytes_moved);
    assert_eq!(moved, 2 * size as u64, "bytes the device moved");
    rig.finish_clean();
}

#[test]
fn one_byte_round_trip() {
    roundtrip(1, Hw::EduMsi, 1);
}

#[test]
fn one_page_round_trip() {
    roundtrip(2, Hw::EduMsi, 4096);
}

#[test]
fn page_plus_one_round_trip_takes_two_fragments() {
    roundtrip(3, Hw::EduIntx, 4097);
}

#[test]
fn one_mebibyte_round_trip() {
    roundtrip(4, Hw::EduMsi, 1 << 20);
}

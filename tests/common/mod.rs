//! Shared arrangement for host tests: a simulated machine with the driver loaded.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]
#![allow(
    unreachable_pub,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test helpers"
)]

use kmdf_sim::devices::edu::{EduConfig, QemuVersion};
use kmdf_sim::devices::sysdma::ControllerConfig;
use kmdf_sim::{
    DeviceHandle, HardwareConfig, IoCompletion, IoOp, Irp, Machine, MachineConfig, Policy,
};

/// One virtual second, in nanoseconds.
pub const SECOND: u64 = 1_000_000_000;

/// `STATUS_*` values the tests compare against.
pub mod status {
    pub const SUCCESS: i32 = 0;
    pub const CANCELLED: i32 = 0xC000_0120_u32.cast_signed();
    pub const IO_TIMEOUT: i32 = 0xC000_00B5_u32.cast_signed();
    pub const INVALID_PARAMETER: i32 = 0xC000_000D_u32.cast_signed();
    pub const INVALID_DEVICE_REQUEST: i32 = 0xC000_0010_u32.cast_signed();
    pub const BUFFER_TOO_SMALL: i32 = 0xC000_0023_u32.cast_signed();
    pub const INVALID_BUFFER_SIZE: i32 = 0xC000_0206_u32.cast_signed();
    pub const DEVICE_DATA_ERROR: i32 = 0xC000_009C_u32.cast_signed();
    pub const DEVICE_REMOVED: i32 = 0xC000_02B6_u32.cast_signed();
    pub const DEVICE_BUSY: i32 = 0x8000_0011_u32.cast_signed();
    pub const INSUFFICIENT_RESOURCES: i32 = 0xC000_009A_u32.cast_signed();
}

/// Which hardware to attach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hw {
    /// edu with MSI.
    EduMsi,
    /// edu with a line-based interrupt.
    EduIntx,
    /// System-DMA FIFO peripheral.
    System,
}

/// A machine with the driver loaded and one device started.
pub struct Rig {
    pub machine: Machine,
    pub device: DeviceHandle,
}

impl Rig {
    pub fn new(seed: u64, hw: Hw) -> Self {
        Self::with_policy(seed, hw, Policy::default())
    }

    pub fn with_policy(seed: u64, hw: Hw, policy: Policy) -> Self {
        let hardware = match hw {
            Hw::EduMsi => HardwareConfig::Edu {
                config: EduConfig::default(),
                msi: true,
            },
            Hw::EduIntx => HardwareConfig::Edu {
                config: EduConfig::default(),
                msi: false,
            },
            Hw::System => HardwareConfig::SystemDma {
                controller: ControllerConfig::default(),
            },
        };
        Self::build(seed, hardware, policy, usable_ring_bytes())
    }

    /// An edu device (MSI) whose model imitates `qemu`, with `UsableRingBytes` set to `ring`
    /// (`None`: not set, the driver's default).
    pub fn edu_on(seed: u64, qemu: QemuVersion, ring: Option<u32>) -> Self {
        let hardware = HardwareConfig::Edu {
            config: EduConfig {
                qemu,
                ..EduConfig::default()
            },
            msi: true,
        };
        Self::build(seed, hardware, Policy::default(), ring)
    }

    fn build(seed: u64, hardware: HardwareConfig, policy: Policy, ring: Option<u32>) -> Self {
        let mut machine = Machine::new(MachineConfig {
            seed,
            policy,
            hardware: vec![hardware],
            trace: false,
        });
        // What the kit's installer sets on QEMU <= 8.2.0 (README, "QEMU versions"): with the
        // model in that version's mode (KMDF_SIM_EDU_QEMU=8.2.0) the suite runs as a user on
        // such a QEMU would run the driver.
        if let Some(bytes) = ring {
            machine.set_parameter(edu_dma::params::USABLE_RING_BYTES, bytes);
        }
        assert_eq!(machine.load_driver(edu_dma::driver_entry), 0, "DriverEntry");
        let device = machine.add_device(0).expect("device start");
        Self { machine, device }
    }

    pub fn run(&mut self, op: IoOp) -> IoCompletion {
        let irp = self.machine.submit(self.device, op);
        self.machine
            .run_until_complete(irp, 600 * SECOND)
            .unwrap_or_else(|| panic!("request never completed\n{}", self.machine.report()))
    }

    pub fn write(&mut self, data: &[u8]) -> IoCompletion {
        self.run(IoOp::Write {
            data: data.to_vec(),
        })
    }

    pub fn read(&mut self, len: usize) -> IoCompletion {
        self.run(IoOp::Read { len })
    }

    pub fn ioctl(&mut self, code: u32, input: &[u8], output_len: usize) -> IoCompletion {
        self.run(IoOp::Ioctl {
            code,
            input: input.to_vec(),
            output_len,
        })
    }

    /// Submits a write of `pattern(len, seed)` without waiting for it.
    pub fn submit_write(&mut self, len: usize, seed: u64) -> Irp {
        self.machine.submit(
            self.device,
            IoOp::Write {
                data: pattern(len, seed),
            },
        )
    }

    /// Runs the machine until `irp` completes; panics (with the verifier's report) when it has
    /// not after 10 s of virtual time.
    pub fn wait(&mut self, irp: Irp) -> IoCompletion {
        self.machine
            .run_until_complete(irp, 10 * SECOND)
            .unwrap_or_else(|| panic!("request never completed\n{}", self.machine.report()))
    }

    /// Asserts that a new 100-byte write succeeds in full: the device and the driver's DMA
    /// channel are usable again.
    pub fn assert_usable(&mut self, what: &str) {
        let next = self.write(&[7; 100]);
        assert_eq!(
            (next.status, next.information),
            (status::SUCCESS, 100),
            "{what}: the next request"
        );
    }

    /// Unloads the driver and asserts the verifier found nothing.
    pub fn finish_clean(mut self) {
        let report = self.machine.unload();
        assert!(report.is_clean(), "{report}");
    }
}

/// The `UsableRingBytes` parameter the rigs set: 4095 when the edu model imitates QEMU <=
/// 8.2.0, else none (the driver's default, 4096).
pub fn usable_ring_bytes() -> Option<u32> {
    (EduConfig::default().qemu == QemuVersion::AbortOffByOne).then_some(4095)
}

/// The edu ring length the driver uses in this run (see [`usable_ring_bytes`]; the FIFO
/// peripheral's ring is always 4096).
pub fn ring_len() -> usize {
    usable_ring_bytes().map_or(4096, |bytes| bytes as usize)
}

/// Bytes the first `commands` edu commands of a transfer of `len` bytes from ring position 0
/// move.
///
/// Each framework transfer is at most 4096 bytes (page-aligned buffers) and the driver
/// cuts a command at the end of the ring ([`ring_len`]), completing the rest later. With the
/// whole buffer this is `commands * 4096` (capped at `len`).
pub fn bytes_after_commands(len: usize, commands: usize) -> u64 {
    command_ends(len)
        .get(commands.wrapping_sub(1))
        .map_or(0, |&end| end)
}

/// The byte counts at which each edu command of a transfer of `len` bytes from ring position 0
/// ends (see [`bytes_after_commands`]).
pub fn command_ends(len: usize) -> Vec<u64> {
    let ring = ring_len();
    let mut ends = Vec::new();
    let mut offset = 0;
    while offset < len {
        let transfer = (len - offset).min(4096);
        offset += transfer.min(ring - offset % ring);
        ends.push(offset as u64);
    }
    ends
}

/// A seeded byte pattern.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = kmdf_sim::Rng::new(seed);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// What a read of `len` bytes from ring position `base` returns, given the ring contents.
pub fn ring_read(ring: &[u8], base: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| ring[(base + i) % ring.len()]).collect()
}

/// The ring after writing `data` from position `base` over `before`.
pub fn ring_after_write(before: &[u8], base: usize, data: &[u8]) -> Vec<u8> {
    let mut ring = before.to_vec();
    let n = ring.len();
    for (i, byte) in data.iter().enumerate() {
        ring[(base + i) % n] = *byte;
    }
    ring
}

/// The exact counts behind `docs/evidence.md`, one row per measured run.
pub const EVIDENCE_COUNTS: &str = "docs/evidence-counts.txt";

/// Compares a run's counts with the row recorded for the same run, if one is recorded.
///
/// The row has the same `key` (e.g. `interleavings start=0 seeds=5000`). Also prints the row (`counts: ...`)
/// for `scripts/evidence.sh`. A recorded figure that no longer matches fails the test, so the
/// figures in the docs cannot drift silently.
pub fn check_recorded_counts(key: &str, counts: &str) {
    let row = format!("{key} {counts}");
    eprintln!("counts: {row}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(EVIDENCE_COUNTS);
    let recorded = std::fs::read_to_string(&path).expect("docs/evidence-counts.txt");
    let prefix = format!("{key} ");
    // scripts/evidence.sh --update re-measures: it prints the rows rather than compare them.
    if std::env::var_os("EDU_EVIDENCE_UPDATE").is_some() {
        return;
    }
    if let Some(line) = recorded.lines().find(|line| line.starts_with(&prefix)) {
        assert_eq!(
            line, row,
            "the counts recorded in {EVIDENCE_COUNTS} (quoted in docs/evidence.md) no longer match \
             this run; if the change is intended, run scripts/evidence.sh --update and update the \
             figures in docs/evidence.md"
        );
    }
}

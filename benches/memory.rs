//! Memory of a long simulated run (a benchmark, not a test): resident memory of this process
//! after 10 000, 100 000 and 1 000 000 requests to the driver on the simulated edu device.
//!
//! One machine runs every request in turn: reads, writes and `METHOD_BUFFERED` loopbacks of 1
//! byte to 16 KiB, each waited for (and so collected) before the next. At each mark it prints
//! the process's resident memory (`VmRSS`, and `VmHWM`, the peak, from `/proc/self/status`),
//! the growth per request since the first mark, the wall time, and what the simulated machine
//! holds ([`kmdf_sim::Footprint`]). A leak shows as bytes per request well above zero.
//!
//! `cargo bench --bench memory [-- <largest mark>]` (default 1 000 000; e.g. `-- 100000` for
//! a quick run).
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::expect_used,
    reason = "a benchmark report"
)]

use std::time::Instant;

use kmdf_sim::devices::edu::EduConfig;
use kmdf_sim::{HardwareConfig, IoOp, Machine, MachineConfig, Policy, Rng};

/// `IOCTL_EDU_LOOPBACK`: `METHOD_BUFFERED`, the device echoes the input.
const LOOPBACK: u32 = edu_api::IOCTL_EDU_LOOPBACK;

/// Resident and peak resident bytes of this process, where `/proc` tells.
fn resident() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find_map(|l| l.strip_prefix(name))?;
        let kib: u64 = line
            .trim_start_matches(':')
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(kib * 1024)
    };
    Some((field("VmRSS")?, field("VmHWM")?))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The next request of the mix.
fn next_op(rng: &mut Rng) -> (IoOp, u64) {
    let len = usize::try_from(1 + rng.below(16 * 1024)).unwrap_or(1);
    match rng.below(3) {
        0 => (IoOp::Read { len }, len as u64),
        1 => (
            IoOp::Write {
                data: vec![0x5A; len],
            },
            len as u64,
        ),
        _ => {
            let echo = len.min(4096);
            (
                IoOp::Ioctl {
                    code: LOOPBACK,
                    input: vec![0xC3; echo],
                    output_len: echo,
                },
                echo as u64,
            )
        }
    }
}

fn main() {
    let largest: u64 = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let marks: Vec<u64> = [10_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|m| *m <= largest)
        .collect();
    let mut machine = Machine::new(MachineConfig {
        seed: 0x004D_454D,
        policy: Policy::default(),
        hardware: vec![HardwareConfig::Edu {
            config: EduConfig::default(),
            msi: true,
        }],
        trace: false,
    });
    assert_eq!(machine.load_driver(edu_dma::driver_entry), 0);
    let device = machine.add_device(0).expect("device");
    let mut rng = Rng::new(7);
    let booted = resident();
    if let Some((rss, _)) = booted {
        println!(
            "memory: machine booted, driver loaded: resident {:.1} MiB",
            mib(rss)
        );
    }
    println!(
        "{:>9}  {:>13}  {:>13}  {:>18}  {:>8}  footprint",
        "requests", "resident MiB", "peak MiB", "bytes/request*", "wall s"
    );
    let started = Instant::now();
    let mut first: Option<(u64, u64)> = None;
    let mut done = 0_u64;
    for mark in marks {
        while done < mark {
            let (op, expected) = next_op(&mut rng);
            let irp = machine.submit(device, op);
            let completion = machine
                .run_until_complete(irp, 3_600_000_000_000)
                .expect("completed");
            assert_eq!((completion.status, completion.information), (0, expected));
            done += 1;
        }
        let (rss, peak) = resident().unwrap_or((0, 0));
        let per_request = first.map_or_else(
            || "-".to_owned(),
            |(at, rss0)| {
                let growth = rss.cast_signed() - rss0.cast_signed();
                format!("{:.3}", growth as f64 / (done - at) as f64)
            },
        );
        if first.is_none() {
            first = Some((done, rss));
        }
        println!(
            "{done:>9}  {:>13.1}  {:>13.1}  {per_request:>18}  {:>8.1}  {:?}",
            mib(rss),
            mib(peak),
            started.elapsed().as_secs_f64(),
            machine.footprint()
        );
    }
    println!("* resident growth since the first mark, divided by the requests sent since then");
    let report = machine.unload();
    assert!(report.is_clean(), "{report}");
}

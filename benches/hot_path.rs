//! Hot-path cost of the driver, measured on the simulated machine (a benchmark, not a test).
//!
//! For each personality and direction it runs many one-fragment requests and many
//! sixteen-fragment requests after a warm-up, and reports, per request and per additional
//! fragment: WDF/kernel calls the driver made (context lookups included), device register
//! accesses, framework objects the driver created, and heap allocations made while requests
//! ran. The allocation count is the whole process's, simulator included: the driver itself
//! cannot allocate (it links no allocator on the host and never uses `alloc`). Instruction
//! counts in driver code come from running this benchmark under callgrind
//! (`benches/callgrind.sh`).
//!
//! `cargo bench --bench hot_path [-- <requests>]`.
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::expect_used,
    reason = "a benchmark report"
)]
#![allow(unsafe_code, reason = "a counting global allocator")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use kmdf_sim::devices::edu::EduConfig;
use kmdf_sim::devices::sysdma::ControllerConfig;
use kmdf_sim::{HardwareConfig, IoOp, Machine, MachineConfig, Policy, Stats};

/// Counts allocations of the whole process.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Totals of one measured run.
struct Run {
    stats: Stats,
    allocations: u64,
    fragments: u64,
}

/// Runs `count` requests of `bytes` in one direction on a fresh machine; returns the deltas.
fn measure(hardware: &HardwareConfig, write: bool, bytes: usize, count: u64) -> Run {
    let policy = Policy {
        deferred_grant_percent: 0,
        ..Policy::default()
    };
    let mut machine = Machine::new(MachineConfig {
        seed: 1,
        policy,
        hardware: vec![hardware.clone()],
        trace: false,
    });
    assert_eq!(machine.load_driver(edu_dma::driver_entry), 0);
    let device = machine.add_device(0).expect("device");
    let data = vec![0x5A; bytes];
    let run = |machine: &mut Machine, count: u64| {
        for _ in 0..count {
            let op = if write {
                IoOp::Write { data: data.clone() }
            } else {
                IoOp::Read { len: bytes }
            };
            let irp = machine.submit(device, op);
            let done = machine
                .run_until_complete(irp, 3_600_000_000_000)
                .expect("completed");
            assert_eq!((done.status, done.information), (0, bytes as u64));
        }
    };
    run(&mut machine, 10);
    let before = machine.stats();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    run(&mut machine, count);
    let after = machine.stats();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    let report = machine.unload();
    assert!(report.is_clean(), "{report}");
    Run {
        stats: Stats {
            ddi_calls: after.ddi_calls - before.ddi_calls,
            register_accesses: after.register_accesses - before.register_accesses,
            objects_created: after.objects_created - before.objects_created,
            program_dma_calls: after.program_dma_calls - before.program_dma_calls,
            isr_calls: after.isr_calls - before.isr_calls,
            dpc_calls: after.dpc_calls - before.dpc_calls,
            completions: after.completions - before.completions,
            requeued: after.requeued - before.requeued,
        },
        allocations,
        fragments: after.program_dma_calls - before.program_dma_calls,
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if args.first().map(String::as_str) == Some("callgrind") {
        // A fixed workload for `benches/callgrind.sh`: edu writes of sixteen fragments.
        let requests = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
        let hardware = HardwareConfig::Edu {
            config: EduConfig::default(),
            msi: true,
        };
        let run = measure(&hardware, true, 16 * 4096, requests);
        println!(
            "callgrind workload: {requests} requests, {} fragments",
            run.fragments
        );
        return;
    }
    let requests: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    println!("hot path, {requests} requests per line; per request = a + b per fragment");
    println!(
        "driver allocations: 0 by construction (no_std, no alloc crate); \"simulator allocations\" counts the whole process (event queue, SG lists, IRP buffers)"
    );
    for (name, hardware) in [
        (
            "edu",
            HardwareConfig::Edu {
                config: EduConfig::default(),
                msi: true,
            },
        ),
        (
            "system",
            HardwareConfig::SystemDma {
                controller: ControllerConfig::default(),
            },
        ),
    ] {
        for (direction, write) in [("write", true), ("read", false)] {
            let one = measure(&hardware, write, 4096, requests);
            let many = measure(&hardware, write, 16 * 4096, requests);
            let per = |n: u64| n as f64 / requests as f64;
            let fragments = (many.fragments - one.fragments) as f64 / requests as f64;
            let marginal = |a: u64, b: u64| (per(b) - per(a)) / fragments;
            let base = |a: u64, b: u64| per(a) - marginal(a, b);
            let wdf = (
                base(one.stats.ddi_calls, many.stats.ddi_calls),
                marginal(one.stats.ddi_calls, many.stats.ddi_calls),
            );
            let registers = (
                base(one.stats.register_accesses, many.stats.register_accesses),
                marginal(one.stats.register_accesses, many.stats.register_accesses),
            );
            let objects = one.stats.objects_created + many.stats.objects_created;
            println!(
                "{name:6} {direction:5}: WDF calls {:5.2} + {:5.2}/fragment | register accesses {:5.2} + {:5.2}/fragment | objects created {objects} | simulator allocations {:5.2} + {:5.2}/fragment",
                wdf.0,
                wdf.1,
                registers.0,
                registers.1,
                base(one.allocations, many.allocations),
                marginal(one.allocations, many.allocations),
            );
            // The exact counts, for scripts/evidence.sh and docs/evidence-counts.txt.
            println!(
                "counts: hot_path {name} {direction} requests={requests} wdf_calls={:.2}+{:.2} register_accesses={:.2}+{:.2} objects_created={objects}",
                wdf.0, wdf.1, registers.0, registers.1
            );
        }
    }
}

//! Seeded interleavings: the driver under random orderings of interrupts, DPCs, map-register
//! grants, cancellation and faults (DMA errors, lost, late and spurious interrupts, hung and
//! stalled engines, short transfers, D0 exit, surprise removal, PnP stop and restart, resource
//! rebalance, system sleep and hibernation), injected at random event boundaries.
//!
//! Every seed asserts: each request completed exactly once (the simulator's verifier reports a
//! second completion or a missing one), with a documented status; the bytes reported equal the
//! bytes the device model moved; data read back matches a model of the device buffer; and the
//! verifier is clean at unload. A failing seed is printed and becomes a regression test.
//!
//! The default budget fits CI; `EDU_SEEDS=100000 cargo test --release --test interleavings`
//! runs the long sweep (`EDU_SEED_START` moves the window).
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::similar_names,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use common::{SECOND, pattern, status, usable_ring_bytes};
use edu_api::{DmaAt, IOCTL_EDU_DMA_READ_AT, IOCTL_EDU_DMA_WRITE_AT, IOCTL_EDU_LOOPBACK};
use kmdf_sim::devices::edu::{Edu, EduConfig, EduFault};
use kmdf_sim::devices::sysdma::{ControllerConfig, ControllerFault};
use kmdf_sim::{
    HardwareConfig, IoOp, Irp, Machine, MachineConfig, NewResources, Policy, Rng, RuleCoverage,
    Schedule, SystemSleep, microsoft_rules_counted,
};

const MS: u64 = 1_000_000;

/// One request of a plan.
#[derive(Clone, Debug)]
enum Kind {
    Write { base: u32, data: Vec<u8> },
    Read { base: u32, len: usize },
    Loopback { data: Vec<u8> },
}

impl Kind {
    fn op(&self) -> IoOp {
        match self {
            Self::Write { base: 0, data } => IoOp::Write { data: data.clone() },
            Self::Write { base, data } => IoOp::IoctlWithData {
                code: IOCTL_EDU_DMA_WRITE_AT,
                input: DmaAt {
                    offset: *base,
                    reserved: 0,
                }
                .to_bytes()
                .to_vec(),
                data: data.clone(),
            },
            Self::Read { base: 0, len } => IoOp::Read { len: *len },
            Self::Read { base, len } => IoOp::Ioctl {
                code: IOCTL_EDU_DMA_READ_AT,
                input: DmaAt {
                    offset: *base,
                    reserved: 0,
                }
                .to_bytes()
                .to_vec(),
                output_len: *len,
            },
            Self::Loopback { data } => IoOp::Ioctl {
                code: IOCTL_EDU_LOOPBACK,
                input: data.clone(),
                output_len: data.len(),
            },
        }
    }

    const fn len(&self) -> usize {
        match self {
            Self::Write { data, .. } | Self::Loopback { data } => data.len(),
            Self::Read { len, .. } => *len,
        }
    }
}

/// What can happen at an event boundary.
#[derive(Clone, Copy, Debug)]
enum Fault {
    Cancel(usize),
    Edu(EduFault),
    Controller(ControllerFault),
    PowerCycle,
    SurpriseRemoval,
    /// Query-stop, stop, a pause, restart with the same resources.
    Stop {
        pause_ns: u64,
    },
    /// Query-stop, stop, restart with other resources.
    Rebalance(NewResources),
    /// System sleep or hibernation, a pause, wake.
    Sleep {
        state: SystemSleep,
        pause_ns: u64,
    },
}

/// A PnP or power transition for a seed, drawn from a generator of its own so that every
/// other choice of the seed stays the one it made before these were drawn.
fn pnp_fault(seed: u64, system: bool) -> Option<Fault> {
    let mut rng = Rng::new(seed ^ 0x5107_BA1A_2CE5_11E9);
    if !rng.chance(1, 3) {
        return None;
    }
    let pause_ns = rng.below(300 * MS);
    Some(match rng.below(3) {
        0 => Fault::Stop { pause_ns },
        1 => Fault::Rebalance(NewResources {
            bar_base: Some([0xF000_0000, 0xF800_0000, 0xFE00_0000][rng.below(3) as usize]),
            vector: Some(0x40 + rng.below(0x40) as u32),
            msi: (!system).then(|| rng.chance(1, 2)),
            dma_request: system.then(|| (rng.below(4) as u32, 7 + rng.below(8) as u32)),
        }),
        _ => Fault::Sleep {
            state: if rng.chance(1, 2) {
                SystemSleep::S3
            } else {
                SystemSleep::S4
            },
            pause_ns,
        },
    })
}

/// The model of the device's ring (4 KiB, or edu's shortened ring on QEMU <= 8.2.0).
struct RingModel(Vec<u8>);

impl RingModel {
    fn write(&mut self, base: u32, data: &[u8]) {
        let len = self.0.len();
        for (i, byte) in data.iter().enumerate() {
            self.0[(base as usize + i) % len] = *byte;
        }
    }

    fn read(&self, base: u32, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| self.0[(base as usize + i) % self.0.len()])
            .collect()
    }
}

/// The processor count and schedule of a seed.
///
/// They are drawn from a generator of their own so that every other choice of the seed is the one it made with a single processor. With
/// `KMDF_SIM_CPUS` unset or `draw`: 1 to 4 processors and a random-walk or PCT schedule drawn
/// from the seed. `KMDF_SIM_CPUS=1`: one processor, callbacks one at a time (the serial
/// schedule of the earlier simulator); `KMDF_SIM_CPUS=<n>`: n processors and a drawn schedule.
fn processors(seed: u64) -> (usize, Schedule) {
    let mut rng = Rng::new(seed ^ 0xC0FF_EE00_D15C_0BA1);
    match std::env::var("KMDF_SIM_CPUS").as_deref() {
        Err(_) | Ok("draw") => (1 + rng.below(4) as usize, Schedule::draw(&mut rng)),
        Ok(n) => match n.parse::<usize>() {
            Ok(0 | 1) | Err(_) => (1, Schedule::Serial),
            Ok(n) => (n, Schedule::draw(&mut rng)),
        },
    }
}

/// Runs one seed.
///
/// # Errors
/// A description of the first violated property.
fn run_seed(seed: u64) -> Result<Tally, String> {
    run_seed_with(seed, false)
}

/// Runs one seed, with or without DMA start failures.
///
/// With `start_failures`, `WdfDmaTransactionExecute` also fails now and then (the HAL cannot
/// allocate the adapter channel, 1 to 30 percent of the starts, drawn apart from the rest so
/// the other draws are those of [`run_seed`]).
///
/// # Errors
/// A description of the first violated property.
fn run_seed_with(seed: u64, start_failures: bool) -> Result<Tally, String> {
    let (processors, schedule) = processors(seed);
    let mut rng = Rng::new(seed);
    let system = rng.chance(1, 3);
    let hardware = if system {
        HardwareConfig::SystemDma {
            controller: ControllerConfig::default(),
        }
    } else {
        HardwareConfig::Edu {
            config: EduConfig::default(),
            msi: rng.chance(1, 2),
        }
    };
    let mut failures = Rng::new(seed ^ 0xFA11_ED0E_7EC0_7E00);
    let policy = Policy {
        deferred_grant_percent: rng.below(101),
        dispatch_io_percent: rng.below(101),
        map_registers: if rng.chance(1, 3) {
            Some(2 + rng.below(3) as u32)
        } else {
            None
        },
        execute_failure_percent: if start_failures {
            1 + failures.below(30)
        } else {
            0
        },
        processors,
        schedule,
        ..Policy::default()
    };
    let trace = std::env::var("EDU_DEBUG").is_ok();
    let mut machine = Machine::new(MachineConfig {
        seed,
        policy,
        hardware: vec![hardware],
        trace,
    });
    // The edu ring: what the kit sets on QEMU <= 8.2.0 (KMDF_SIM_EDU_QEMU=8.2.0), else 4096.
    let ring_bytes = if system { None } else { usable_ring_bytes() };
    let ring_len = ring_bytes.map_or(4096, |bytes| bytes as usize);
    if let Some(bytes) = ring_bytes {
        machine.set_parameter(edu_dma::params::USABLE_RING_BYTES, bytes);
    }
    if machine.load_driver(edu_dma::driver_entry) != 0 {
        return Err("DriverEntry failed".into());
    }
    let device = machine
        .add_device(0)
        .map_err(|s| format!("start failed {s:#x}"))?;

    let count = 1 + rng.below(4) as usize;
    let plan: Vec<Kind> = (0..count)
        .map(|i| {
            let limit = if rng.chance(1, 4) { 20_000 } else { 5_000 };
            let len = 1 + rng.below(limit) as usize;
            let base = if rng.chance(1, 3) {
                rng.below(ring_len as u64) as u32
            } else {
                0
            };
            match rng.below(3) {
                0 => Kind::Write {
                    base,
                    data: pattern(len, seed * 16 + i as u64),
                },
                1 => Kind::Read { base, len },
                _ => Kind::Loopback {
                    data: pattern(len.min(ring_len), seed * 16 + i as u64),
                },
            }
        })
        .collect();
    let irps: Vec<Irp> = plan
        .iter()
        .map(|kind| machine.submit(device, kind.op()))
        .collect();

    let mut faults: Vec<Fault> = Vec::new();
    for _ in 0..rng.below(4) {
        faults.push(match rng.below(if system { 5 } else { 6 }) {
            0 => Fault::Cancel(rng.below(count as u64) as usize),
            1 => Fault::PowerCycle,
            2 if rng.chance(1, 3) => Fault::SurpriseRemoval,
            2 => Fault::Cancel(0),
            _ if system => Fault::Controller(match rng.below(3) {
                0 => ControllerFault::Error {
                    after_bytes: rng.below(4096) as u32,
                },
                1 => ControllerFault::Stall {
                    after_bytes: rng.below(4096) as u32,
                },
                _ => ControllerFault::ShortTransfer {
                    bytes: 1 + rng.below(4000) as u32,
                },
            }),
            _ => Fault::Edu(match rng.below(4) {
                0 => EduFault::LostInterrupt,
                1 => EduFault::LateInterrupt {
                    extra_ns: rng.below(300 * MS),
                },
                2 => EduFault::SpuriousInterrupt,
                _ => EduFault::Hang {
                    ns: rng.below(2500 * MS),
                },
            }),
        });
    }

    // Injected last, so the faults drawn before it keep their moments.
    if let Some(fault) = pnp_fault(seed, system) {
        faults.insert(0, fault);
    }

    // Run, injecting each fault at a random event boundary.
    let mut removed = false;
    let injected = faults.len() as u64;
    let mut pnp = 0u64;
    let mut steps = 0u64;
    while let Some(fault) = faults.last().copied() {
        if rng.chance(1, 8) {
            faults.pop();
            if trace {
                eprintln!("inject {fault:?} at step {steps}");
            }
            match fault {
                Fault::Cancel(index) => machine.cancel_after(irps[index], 0),
                Fault::Edu(fault) => machine.inject_edu(0, fault),
                Fault::Controller(fault) => machine.inject_controller(0, fault),
                Fault::PowerCycle if !removed => {
                    if machine.power_down(device) != status::SUCCESS
                        || machine.power_up(device) != status::SUCCESS
                    {
                        return Err("power cycle failed".into());
                    }
                }
                Fault::SurpriseRemoval if !removed => {
                    machine.surprise_remove(device);
                    removed = true;
                }
                Fault::Stop { .. } | Fault::Rebalance(_) | Fault::Sleep { .. } if !removed => {
                    pnp += 1;
                    pnp_transition(&mut machine, device, fault)?;
                }
                Fault::PowerCycle
                | Fault::SurpriseRemoval
                | Fault::Stop { .. }
                | Fault::Rebalance(_)
                | Fault::Sleep { .. } => {}
            }
        }
        if !machine.step() {
            break;
        }
        steps += 1;
        if steps > 2_000_000 {
            return Err("no progress".into());
        }
    }
    machine.run_until_idle(600 * SECOND);
    if trace {
        for line in machine.trace() {
            eprintln!("{line}");
        }
        if !system {
            machine.edu(0, |edu| {
                for event in edu.log() {
                    eprintln!("edu: {event:?}");
                }
            });
        }
    }
    if machine.halted() {
        return Err(format!("machine halted\n{}", machine.report()));
    }

    // Every request completed, with a documented status and sound byte counts; data matches
    // the ring model, replayed in completion order (the queue is sequential).
    let mut done: Vec<(usize, kmdf_sim::IoCompletion)> = Vec::new();
    for (index, irp) in irps.iter().enumerate() {
        let completion = machine
            .take_completion(*irp)
            .ok_or_else(|| format!("request {index} never completed"))?;
        done.push((index, completion));
    }
    done.sort_by_key(|(index, c)| (c.time_ns, *index));
    if std::env::var("EDU_DEBUG").is_ok() {
        eprintln!(
            "plan: {:?}",
            plan.iter()
                .map(|k| match k {
                    Kind::Write { base, data } => format!("write@{base} {}", data.len()),
                    Kind::Read { base, len } => format!("read@{base} {len}"),
                    Kind::Loopback { data } => format!("loopback {}", data.len()),
                })
                .collect::<Vec<_>>()
        );
        for (index, c) in &done {
            eprintln!(
                "  request {index}: status {:#x} info {} at {} ns",
                c.status, c.information, c.time_ns
            );
        }
    }
    let mut ring = RingModel(vec![0; ring_len]);
    let mut expected_moved = 0u64;
    let mut not_started = 0u64;
    let mut recovered = 0u64;
    let mut exact = true;
    // False once a request moved an unknown prefix (a loopback ended in its write half).
    let mut ring_known = true;
    for (index, completion) in &done {
        let kind = &plan[*index];
        let info = completion.information as usize;
        let allowed = [
            status::SUCCESS,
            status::CANCELLED,
            status::IO_TIMEOUT,
            status::DEVICE_DATA_ERROR,
            status::DEVICE_REMOVED,
            status::DEVICE_BUSY,
        ];
        // Only where the machine makes DMA starts fail (`run_seed_with`).
        let not_started_allowed =
            start_failures && completion.status == status::INSUFFICIENT_RESOURCES;
        if !allowed.contains(&completion.status) && !not_started_allowed {
            return Err(format!(
                "request {index}: undocumented status {:#x}",
                completion.status
            ));
        }
        if completion.status == status::SUCCESS && not_started > 0 {
            // A request that ran after one whose DMA could not start: the channel recovered.
            recovered += 1;
        }
        if completion.status == status::INSUFFICIENT_RESOURCES {
            not_started += 1;
            if info != 0 {
                return Err(format!(
                    "request {index}: its DMA never started, yet information {info}"
                ));
            }
        }
        if info > kind.len() || (completion.status == status::SUCCESS && info != kind.len()) {
            return Err(format!(
                "request {index}: information {info} for {} bytes, status {:#x}",
                kind.len(),
                completion.status
            ));
        }
        match kind {
            Kind::Write { base, data } => {
                ring.write(*base, &data[..info]);
                expected_moved += info as u64;
            }
            Kind::Read { base, .. } => {
                let want = ring.read(*base, info);
                if ring_known && completion.output[..info] != want[..] {
                    return Err(format!(
                        "request {index}: read data differs from the device buffer"
                    ));
                }
                expected_moved += info as u64;
            }
            Kind::Loopback { data } => {
                // The write half moved everything when the read half ran at all.
                if info > 0 || completion.status == status::SUCCESS {
                    ring.write(0, data);
                    // The I/O manager copies buffered output back only on a non-error status.
                    let returned = if completion.status.cast_unsigned() >> 30 == 3 {
                        0
                    } else {
                        info
                    };
                    if completion.output.len() != returned
                        || completion.output[..] != data[..returned]
                    {
                        return Err(format!("request {index}: loopback data differs"));
                    }
                    expected_moved += data.len() as u64 + info as u64;
                } else {
                    // The write half may have moved part of the data: from here the device
                    // buffer and the byte total are unknown to the model.
                    exact = false;
                    ring_known = false;
                }
            }
        }
    }
    let moved = if system {
        machine.system_dma(0, |_, controller| controller.bytes_moved())
    } else {
        machine.edu(0, Edu::bytes_moved)
    };
    // After a surprise removal the device cannot confirm its last transfer, so the requests may
    // report fewer bytes than the engine moved, never more.
    let consistent = if removed {
        expected_moved <= moved
    } else {
        expected_moved == moved
    };
    if exact && !consistent {
        return Err(format!(
            "device moved {moved} bytes, requests report {expected_moved}"
        ));
    }
    let stats = machine.stats();
    let report = machine.unload();
    if !report.is_clean() {
        return Err(format!("verifier:\n{report}"));
    }
    let mut violated: Vec<&'static str> = report.compliance.iter().map(|f| f.rule).collect();
    violated.sort_unstable();
    violated.dedup();
    Ok(Tally {
        requests: count as u64,
        fragments: stats.program_dma_calls,
        ddi_calls: stats.ddi_calls,
        faults: injected,
        pnp,
        coverage: machine.rule_coverage(),
        violated: violated.into_iter().map(|rule| (rule, 1)).collect(),
        not_started,
        recovered,
    })
}

/// What one seed exercised.
#[derive(Default)]
struct Tally {
    requests: u64,
    fragments: u64,
    ddi_calls: u64,
    faults: u64,
    /// PnP and power transitions among the faults.
    pnp: u64,
    /// How often each verifier rule's check ran.
    coverage: RuleCoverage,
    /// Seeds whose report holds a compliance violation of each Microsoft rule.
    violated: std::collections::BTreeMap<&'static str, u64>,
    /// Requests completed with `STATUS_INSUFFICIENT_RESOURCES` (their DMA could not start).
    not_started: u64,
    /// Requests that succeeded after one of those, in completion order.
    recovered: u64,
}

/// Runs a stop, rebalance or sleep fault.
///
/// # Errors
/// A transition the driver failed.
fn pnp_transition(
    machine: &mut Machine,
    device: kmdf_sim::DeviceHandle,
    fault: Fault,
) -> Result<(), String> {
    match fault {
        Fault::Stop { pause_ns } => {
            if machine.query_stop(device) != status::SUCCESS
                || machine.stop(device) != status::SUCCESS
            {
                return Err("stop failed".into());
            }
            machine.run_for(pause_ns);
            if machine.restart(device, NewResources::default()) != status::SUCCESS {
                return Err("restart failed".into());
            }
        }
        Fault::Rebalance(resources) => {
            let rebalanced = machine.rebalance(device, resources);
            if rebalanced != status::SUCCESS {
                return Err(format!(
                    "rebalance to {resources:?} failed: {rebalanced:#x}"
                ));
            }
        }
        Fault::Sleep { state, pause_ns } => {
            if machine.sleep(device, state) != status::SUCCESS {
                return Err(format!("{state:?} failed"));
            }
            machine.run_for(pause_ns);
            if machine.wake(device) != status::SUCCESS {
                return Err("wake failed".into());
            }
        }
        _ => {}
    }
    Ok(())
}

fn budget(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_interleavings_keep_every_property() {
    let start = budget("EDU_SEED_START", 0);
    let seeds = budget("EDU_SEEDS", 5_000);
    let wall = std::time::Instant::now();
    let mut total = Tally::default();
    let mut failed = 0u64;
    for seed in start..start + seeds {
        match run_seed(seed) {
            Ok(tally) => {
                total.requests += tally.requests;
                total.fragments += tally.fragments;
                total.ddi_calls += tally.ddi_calls;
                total.faults += tally.faults;
                total.pnp += tally.pnp;
                total.coverage.merge(&tally.coverage);
                if std::env::var_os("EDU_SHOW_RULE")
                    .is_some_and(|r| tally.violated.contains_key(r.to_str().unwrap_or_default()))
                {
                    eprintln!("seed {seed} breaks {:?}", std::env::var("EDU_SHOW_RULE"));
                }
                for (rule, n) in tally.violated {
                    *total.violated.entry(rule).or_insert(0) += n;
                }
            }
            Err(why) => {
                let (processors, schedule) = processors(seed);
                let cpus = std::env::var("KMDF_SIM_CPUS")
                    .map(|v| format!("KMDF_SIM_CPUS={v} "))
                    .unwrap_or_default();
                let message = format!(
                    "seed {seed} failed ({processors} processor(s), {schedule:?}): {why}\nreplay: {cpus}EDU_SEED_START={seed} EDU_SEEDS=1 cargo test --test interleavings"
                );
                assert!(std::env::var("EDU_KEEP_GOING").is_ok(), "{message}");
                eprintln!("{}", message.lines().next().unwrap_or_default());
                failed += 1;
            }
        }
    }
    // Which of Microsoft's rules the sweep drove, and which the driver broke (compliance
    // violations Windows does not detect at run time; docs/verifier-rules.md, part 2).
    eprintln!("interleavings: {}", total.coverage);
    eprintln!(
        "interleavings: seeds with compliance violations: {}",
        if total.violated.is_empty() {
            "none".to_owned()
        } else {
            total
                .violated
                .iter()
                .map(|(rule, n)| format!("{rule} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let counted = microsoft_rules_counted();
    let never = total.coverage.never(&counted);
    eprintln!(
        "interleavings: {} of {} run-time Microsoft rules exercised; never: {}",
        counted.len() - never.len(),
        counted.len(),
        if never.is_empty() {
            "none".to_owned()
        } else {
            never.join(", ")
        }
    );
    // Every Microsoft rule checked at run time is reached by the sweep, but the two about
    // WdfRequestStopAcknowledge, which the driver never calls (crates/kmdf-sim/tests/
    // microsoft_rules.rs exercises those with its own driver).
    if seeds >= 1_000 {
        assert_eq!(
            never,
            ["EvtIoStopResume", "StopAckWithinEvtIoStop"],
            "{}",
            total.coverage
        );
    }
    assert_eq!(failed, 0, "{failed} seed(s) failed");
    assert!(
        seeds < 100 || total.pnp > 0,
        "no seed injected a stop, rebalance or sleep"
    );
    if std::env::var_os("KMDF_SIM_CPUS").is_none() {
        common::check_recorded_counts(
            &format!("interleavings start={start} seeds={seeds}"),
            &format!(
                "requests={} transfers={} faults={} wdf_calls={}",
                total.requests, total.fragments, total.faults, total.ddi_calls
            ),
        );
    }
    eprintln!(
        "interleavings: {seeds} seeds from {start} passed in {:.1} s: {} requests, {} DMA transfers, {} faults injected ({} stops, rebalances and sleeps), {} WDF calls",
        wall.elapsed().as_secs_f64(),
        total.requests,
        total.fragments,
        total.faults,
        total.pnp,
        total.ddi_calls
    );
}

/// Seeds that once failed, each for the driver bug it found (fixed since).
#[test]
fn random_interleavings_with_dma_start_failures_keep_every_property() {
    // Every request whose DMA cannot start (WdfDmaTransactionExecute fails) must still be
    // completed once, with STATUS_INSUFFICIENT_RESOURCES and 0 bytes, and the next one must run.
    let start = budget("EDU_FAILURE_SEED_START", 0);
    let seeds = budget("EDU_FAILURE_SEEDS", 1_000);
    let (mut not_started, mut recovered) = (0, 0);
    for seed in start..start + seeds {
        match run_seed_with(seed, true) {
            Ok(tally) => {
                not_started += tally.not_started;
                recovered += tally.recovered;
            }
            Err(why) => {
                let (processors, schedule) = processors(seed);
                panic!(
                    "seed {seed} failed ({processors} processor(s), {schedule:?}): {why}\nreplay: \
                     EDU_FAILURE_SEED_START={seed} EDU_FAILURE_SEEDS=1 cargo test --test \
                     interleavings random_interleavings_with_dma_start_failures"
                );
            }
        }
    }
    eprintln!(
        "interleavings with start failures: {seeds} seeds, {not_started} requests not started, \
         {recovered} succeeded after one"
    );
    assert!(
        seeds < 50 || not_started > 0,
        "no DMA start failed in {seeds} seeds"
    );
    assert!(
        seeds < 50 || recovered > 0,
        "no request succeeded after a failed start: the channel may be stuck"
    );
}

#[test]
fn regression_seeds() {
    for (seed, found) in [
        (
            5,
            "a hung command the engine dropped was taken for a lost interrupt: data counted that never moved",
        ),
        (
            19,
            "a loopback cancelled in its write half reported the written bytes as read back",
        ),
        (
            20,
            "surprise removal of the system-DMA peripheral never stopped the controller: power-down hung",
        ),
        (
            84,
            "a stalled controller followed by a read at an offset (model of partial writes)",
        ),
        (
            400,
            "EvtProgramDma aborted a mapped system transfer with DmaCompletedFinal before its transfer-complete callback (bugcheck)",
        ),
    ] {
        if let Err(why) = run_seed(seed) {
            panic!("regression seed {seed} ({found}) fails again: {why}");
        }
    }
}

/// Seeds whose run breaks a Microsoft compliance rule other than the `EvtIoStop` pair every
/// power-down with a request in flight breaks (`tests/microsoft_rules_driver.rs`).
fn compliance_of(seed: u64) -> Vec<(&'static str, u64)> {
    run_seed(seed)
        .unwrap_or_else(|why| panic!("seed {seed}: {why}"))
        .violated
        .into_iter()
        .collect()
}

#[test]
fn surprise_removal_completes_no_request() {
    for seed in [20, 47, 139] {
        let broken = compliance_of(seed);
        assert!(
            !broken
                .iter()
                .any(|(rule, _)| *rule == "EvtSurpriseRemoveNoRequestComplete"),
            "seed {seed}: {broken:?}"
        );
    }
}

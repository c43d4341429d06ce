//! The scheduler of several simulated processors: activities really interleave at switch
//! points, spin locks exclude, deadlocks and lock-order inversions are reported with their
//! cycle, a timer callback never runs concurrently with itself, and a seed replays bit for bit.
//!
//! A small driver of its own: a parallel default queue whose `EvtIoRead` does what the test's
//! mode asks (log its steps around instrumented atomics, take one lock, or take two locks in
//! an order that depends on the request), and a timer that restarts itself from its callback.
#![allow(
    unsafe_code,
    reason = "a test driver: KMDF callbacks and DDIs are unsafe fns; every block is argued"
)]
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a test failure"
)]

use std::cell::{Cell, RefCell};
use std::ptr::null_mut;

use kmdf_sim::mirror::atomic::{AtomicU32, Ordering};
use kmdf_sim::mirror::*;
use kmdf_sim::{HardwareConfig, IoOp, Machine, MachineConfig, Policy, Report, Schedule, Severity};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Log entry and exit around a few atomic operations.
    Steps,
    /// Take lock A around the same steps.
    OneLock,
    /// Odd requests take A then B, even ones B then A.
    TwoLocks,
    /// Start the self-restarting timer.
    Timer,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Steps) };
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static LOCKS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    static TIMER: Cell<usize> = const { Cell::new(0) };
    static NEXT: Cell<u32> = const { Cell::new(0) };
}

thread_local! {
    // Per test thread: tests run in parallel, each with its own machine.
    static INSIDE: AtomicU32 = const { AtomicU32::new(0) };
    static WORK: AtomicU32 = const { AtomicU32::new(0) };
    static RUNS: AtomicU32 = const { AtomicU32::new(0) };
}

fn log(line: String) {
    LOG.with(|l| l.borrow_mut().push(line));
}

const fn size_u32<T>() -> u32 {
    #[expect(clippy::cast_possible_truncation, reason = "WDF structures are small")]
    let size = size_of::<T>() as u32;
    size
}

/// A few switch points.
fn work() {
    for _ in 0..4 {
        WORK.with(|a| a.fetch_add(1, Ordering::Relaxed));
    }
}

/// A KMDF callback.
///
/// # Safety
/// Called by the framework with live handles.
unsafe extern "system" fn driver_entry(
    driver: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    let mut config = WDF_DRIVER_CONFIG {
        Size: size_u32::<WDF_DRIVER_CONFIG>(),
        EvtDriverDeviceAdd: Some(device_add),
        ..WDF_DRIVER_CONFIG::default()
    };
    // SAFETY: the framework's own pointers and a live config; no driver handle wanted.
    unsafe {
        WdfDriverCreate(
            driver,
            registry_path,
            WDF_NO_OBJECT_ATTRIBUTES,
            &raw mut config,
            null_mut(),
        )
    }
}

/// A KMDF callback.
///
/// # Safety
/// Called by the framework with live handles.
unsafe extern "C" fn device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let mut init = init;
    let mut device: WDFDEVICE = null_mut();
    // SAFETY: live locals; the framework consumes `init`.
    let status =
        unsafe { WdfDeviceCreate(&raw mut init, WDF_NO_OBJECT_ATTRIBUTES, &raw mut device) };
    assert_eq!(status, 0);
    let mut queue = WDF_IO_QUEUE_CONFIG {
        Size: size_u32::<WDF_IO_QUEUE_CONFIG>(),
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel,
        PowerManaged: _WDF_TRI_STATE::WdfFalse,
        DefaultQueue: 1,
        EvtIoRead: Some(io_read),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    // SAFETY: a live config; no queue handle wanted.
    let status =
        unsafe { WdfIoQueueCreate(device, &raw mut queue, WDF_NO_OBJECT_ATTRIBUTES, null_mut()) };
    assert_eq!(status, 0);
    let (mut a, mut b): (WDFSPINLOCK, WDFSPINLOCK) = (null_mut(), null_mut());
    // SAFETY: live out handles.
    unsafe {
        assert_eq!(WdfSpinLockCreate(WDF_NO_OBJECT_ATTRIBUTES, &raw mut a), 0);
    }
    // SAFETY: as above.
    unsafe {
        assert_eq!(WdfSpinLockCreate(WDF_NO_OBJECT_ATTRIBUTES, &raw mut b), 0);
    }
    LOCKS.with(|l| l.set((a as usize, b as usize)));
    let mut config = WDF_TIMER_CONFIG {
        Size: size_u32::<WDF_TIMER_CONFIG>(),
        EvtTimerFunc: Some(timer_func),
        ..WDF_TIMER_CONFIG::default()
    };
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        Size: size_u32::<WDF_OBJECT_ATTRIBUTES>(),
        ParentObject: device.cast(),
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let mut timer: WDFTIMER = null_mut();
    // SAFETY: live config, attributes and out handle.
    let status = unsafe { WdfTimerCreate(&raw mut config, &raw mut attributes, &raw mut timer) };
    assert_eq!(status, 0);
    TIMER.with(|t| t.set(timer as usize));
    0
}

fn lock(raw: usize, acquire: bool) {
    if acquire {
        // SAFETY: a live lock created in device add.
        unsafe { WdfSpinLockAcquire(raw as WDFSPINLOCK) };
    } else {
        // SAFETY: as above; this path holds it.
        unsafe { WdfSpinLockRelease(raw as WDFSPINLOCK) };
    }
}

/// A KMDF callback.
///
/// # Safety
/// Called by the framework with live handles.
unsafe extern "C" fn io_read(_queue: WDFQUEUE, request: WDFREQUEST, _length: usize) {
    let n = NEXT.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    let (a, b) = LOCKS.with(Cell::get);
    match MODE.with(Cell::get) {
        Mode::Steps => {
            log(format!("start {n}"));
            work();
            log(format!("end {n}"));
        }
        Mode::OneLock => {
            log(format!("want {n}"));
            lock(a, true);
            let inside = INSIDE.with(|a| a.fetch_add(1, Ordering::Relaxed));
            log(format!("got {n} with {inside} inside"));
            work();
            INSIDE.with(|a| a.fetch_sub(1, Ordering::Relaxed));
            log(format!("release {n}"));
            lock(a, false);
        }
        Mode::TwoLocks => {
            let (first, second) = if n % 2 == 1 { (a, b) } else { (b, a) };
            lock(first, true);
            work();
            lock(second, true);
            lock(second, false);
            lock(first, false);
        }
        Mode::Timer => {
            // SAFETY: the timer created in device add, alive until the device goes.
            unsafe { WdfTimerStart(TIMER.with(Cell::get) as WDFTIMER, -10) };
        }
    }
    // SAFETY: the request the framework just presented; completed once.
    unsafe { WdfRequestCompleteWithInformation(request, 0, 0) };
}

/// A KMDF callback.
///
/// # Safety
/// Called by the framework with live handles.
unsafe extern "C" fn timer_func(timer: WDFTIMER) {
    let inside = INSIDE.with(|a| a.fetch_add(1, Ordering::Relaxed));
    log(format!("timer with {inside} inside"));
    let runs = RUNS.with(|a| a.fetch_add(1, Ordering::Relaxed));
    if runs < 40 {
        // Due at once: the next expiry is ready while this callback still runs.
        // SAFETY: this timer, alive while its callback runs.
        unsafe { WdfTimerStart(timer, -1) };
    }
    work();
    INSIDE.with(|a| a.fetch_sub(1, Ordering::Relaxed));
}

struct Run {
    log: Vec<String>,
    trace: Vec<String>,
    report: Report,
    halted: bool,
}

/// Boots the driver with `processors` under `schedule`, sends `reads` reads, runs to idle.
fn run(seed: u64, processors: usize, schedule: Schedule, mode: Mode, reads: usize) -> Run {
    MODE.with(|m| m.set(mode));
    LOG.with(|l| l.borrow_mut().clear());
    NEXT.with(|c| c.set(0));
    INSIDE.with(|a| a.store(0, Ordering::Relaxed));
    WORK.with(|a| a.store(0, Ordering::Relaxed));
    RUNS.with(|a| a.store(0, Ordering::Relaxed));
    let mut machine = Machine::new(MachineConfig {
        seed,
        policy: Policy {
            processors,
            schedule,
            dispatch_io_percent: 100,
            ..Policy::default()
        },
        hardware: vec![HardwareConfig::Edu {
            config: kmdf_sim::devices::edu::EduConfig::default(),
            msi: true,
        }],
        trace: true,
    });
    assert_eq!(machine.load_driver(driver_entry), 0);
    let device = machine.add_device(0).expect("device starts");
    for _ in 0..reads {
        machine.submit(device, IoOp::Read { len: 8 });
    }
    machine.run_for(50_000_000);
    let halted = machine.halted();
    let report = if halted {
        machine.report()
    } else {
        machine.unload()
    };
    Run {
        log: LOG.with(|l| l.borrow().clone()),
        trace: machine.trace(),
        report,
        halted,
    }
}

const WALK: Schedule = Schedule::RandomWalk { switch_percent: 40 };

/// True when some request started before another one that started earlier had ended.
fn interleaved(log: &[String]) -> bool {
    let mut open = 0;
    for line in log {
        if line.starts_with("start") {
            if open > 0 {
                return true;
            }
            open += 1;
        } else {
            open -= 1;
        }
    }
    false
}

#[test]
fn two_activities_interleave_at_switch_points_only_with_several_processors() {
    let serial =
        (0..50).filter(|&seed| interleaved(&run(seed, 1, Schedule::Serial, Mode::Steps, 3).log));
    assert_eq!(
        serial.count(),
        0,
        "one processor runs callbacks one at a time"
    );
    let one_walk = (0..50).filter(|&seed| interleaved(&run(seed, 1, WALK, Mode::Steps, 3).log));
    assert_eq!(
        one_walk.count(),
        0,
        "one processor cannot interleave two I/O callbacks"
    );
    let many = (0..50)
        .filter(|&seed| {
            let run = run(seed, 2, WALK, Mode::Steps, 3);
            assert!(run.report.is_clean(), "seed {seed}: {}", run.report);
            assert_eq!(run.log.len(), 6, "seed {seed}: every request ran once");
            interleaved(&run.log)
        })
        .count();
    assert!(
        many > 5,
        "two processors interleave the callbacks in some seeds ({many} of 50)"
    );
    let pct = (0..50)
        .filter(|&seed| interleaved(&run(seed, 3, Schedule::Pct { depth: 2 }, Mode::Steps, 3).log))
        .count();
    assert!(pct > 0, "PCT interleaves too ({pct} of 50)");
}

#[test]
fn a_spin_lock_excludes_the_second_acquirer_until_release() {
    let mut waited = 0;
    for seed in 0..60 {
        let run = run(seed, 3, WALK, Mode::OneLock, 3);
        assert!(run.report.is_clean(), "seed {seed}: {}", run.report);
        for line in &run.log {
            assert!(
                !line.ends_with("with 1 inside"),
                "seed {seed}: two holders\n{:?}",
                run.log
            );
        }
        // A request asked for the lock while another held it, and got it only after release.
        let mut holder = None;
        for line in &run.log {
            let n: &str = line.split(' ').nth(1).unwrap_or("");
            match line.split(' ').next() {
                Some("got") => holder = Some(n.to_string()),
                Some("release") => holder = None,
                Some("want") if holder.is_some() => waited += 1,
                _ => {}
            }
        }
        assert_eq!(run.log.len(), 9, "seed {seed}: every request ran");
    }
    assert!(waited > 0, "some acquirer found the lock held and waited");
}

#[test]
fn opposite_lock_orders_deadlock_with_the_cycle_named_or_report_the_inversion() {
    let (mut deadlocks, mut inversions) = (0, 0);
    for seed in 0..80 {
        let run = run(seed, 2, WALK, Mode::TwoLocks, 2);
        if let Some(finding) = run.report.findings.iter().find(|f| f.rule == "DEADLOCK") {
            assert!(run.halted, "a deadlock halts the machine");
            assert_eq!(finding.severity, Severity::Fatal);
            let message = &finding.message;
            assert!(
                message.contains("cpu0") && message.contains("cpu1") && message.contains("EvtIo"),
                "the cycle names processors and callbacks: {message}"
            );
            assert_eq!(message.matches("waits for lock").count(), 2, "{message}");
            deadlocks += 1;
        } else {
            let finding = run
                .report
                .findings
                .iter()
                .find(|f| f.rule == "LOCKORDER")
                .unwrap_or_else(|| panic!("seed {seed}: no LOCKORDER\n{}", run.report));
            assert_eq!(finding.severity, Severity::Error);
            assert!(
                finding.message.matches("EvtIo").count() >= 2,
                "{}",
                finding.message
            );
            inversions += 1;
        }
    }
    assert!(
        deadlocks > 0,
        "some seed interleaves the two orders into a deadlock"
    );
    assert!(
        inversions > 0,
        "other seeds finish and report the inversion"
    );
}

#[test]
fn a_lock_taken_twice_by_its_holder_is_a_fatal_self_deadlock() {
    // Same lock acquired twice on one processor: the pre-existing rule, message says deadlock.
    for processors in [1, 3] {
        let schedule = if processors == 1 {
            Schedule::Serial
        } else {
            WALK
        };
        MODE.with(|m| m.set(Mode::Steps));
        let mut machine = Machine::new(MachineConfig {
            seed: 7,
            policy: Policy {
                processors,
                schedule,
                ..Policy::default()
            },
            hardware: vec![HardwareConfig::Edu {
                config: kmdf_sim::devices::edu::EduConfig::default(),
                msi: true,
            }],
            trace: false,
        });
        assert_eq!(machine.load_driver(driver_entry), 0);
        machine.add_device(0).expect("device starts");
        let (a, _) = LOCKS.with(Cell::get);
        lock(a, true);
        lock(a, true);
        let report = machine.report();
        let finding = report
            .findings
            .iter()
            .find(|f| f.rule == "LOCK")
            .expect("LOCK finding");
        assert!(finding.message.contains("deadlock"), "{}", finding.message);
        assert!(machine.halted());
    }
}

#[test]
fn a_timer_callback_never_runs_concurrently_with_itself() {
    for seed in 0..30 {
        let run = run(seed, 4, WALK, Mode::Timer, 1);
        let runs = run.log.iter().filter(|l| l.starts_with("timer")).count();
        assert!(
            runs > 10,
            "seed {seed}: the timer kept restarting ({runs} runs)"
        );
        assert!(
            run.log.iter().all(|l| l == "timer with 0 inside"),
            "seed {seed}: {:?}",
            run.log
        );
        assert!(run.report.is_clean(), "seed {seed}: {}", run.report);
    }
}

#[test]
fn a_seed_replays_bit_for_bit() {
    for (processors, schedule) in [(2, WALK), (4, Schedule::Pct { depth: 3 })] {
        let first = run(11, processors, schedule, Mode::OneLock, 4);
        let again = run(11, processors, schedule, Mode::OneLock, 4);
        assert_eq!(first.trace, again.trace);
        assert_eq!(first.log, again.log);
        assert_eq!(first.report, again.report);
        assert!(
            first.trace.iter().any(|l| l.contains("cpu")),
            "the trace names processors"
        );
        let differs =
            (12..30).any(|seed| run(seed, processors, schedule, Mode::OneLock, 4).log != first.log);
        assert!(differs, "other seeds choose other interleavings");
    }
}

//! The simulated machine's state: framework objects, hardware, events and findings.
//!
//! One machine is installed per thread (tests run on their own threads), in a thread-local
//! slot. Mirror functions reach it through [`with`], which borrows the state for the duration
//! of a closure. No borrow is ever held while a driver callback runs: code that calls into the
//! driver first copies what it needs out of the state, drops the borrow, calls, and borrows
//! again. A re-entrant borrow would be a simulator bug and panics.
#![allow(
    clippy::missing_errors_doc,
    reason = "internal functions return the NTSTATUS KMDF returns; the DDI docs list them"
)]

pub(crate) mod api;
pub(crate) mod dbgprint;
pub(crate) mod dma;
pub(crate) mod engine;
pub(crate) mod hw;
pub(crate) mod io;
pub(crate) mod mem;
pub(crate) mod objects;
pub(crate) mod pnp;
pub(crate) mod registry;
pub(crate) mod rng;
pub(crate) mod sched;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use crate::mirror::types::PFN_WDF_REQUEST_CANCEL;
use crate::verifier::{Finding, Severity};
use io::IoCompletion;
use mem::PhysMem;
use objects::{Id, Objects};
use rng::Rng;

/// Non-fatal findings a machine keeps: a driver that breaks a rule on every request of a long
/// run reports the first ones and a count of the rest, instead of growing without bound.
pub(crate) const FINDINGS_KEEP: usize = 10_000;

/// Marks, in a processor's callback stack, where an activity that nested on it (preempting the
/// callback below) begins.
pub(crate) const ACTIVITY_BOUNDARY: &str = "|";

/// Interrupt request levels the simulator distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Irql {
    /// PASSIVE_LEVEL (0).
    Passive = 0,
    /// DISPATCH_LEVEL (2).
    Dispatch = 2,
    /// A device interrupt level.
    Dirql = 5,
}

/// A lock the current context holds, for the "lock held on return" rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) lock: Id,
    pub(crate) saved: Irql,
}

/// Tunables of the simulated framework and HAL, chosen by the test or the seed.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Probability (out of 100) that the HAL grants map registers later instead of inside
    /// `WdfDmaTransactionExecute`/`DmaCompleted*`.
    pub deferred_grant_percent: u64,
    /// Probability (out of 100) that an I/O callback is presented at DISPATCH_LEVEL rather
    /// than PASSIVE_LEVEL (KMDF only promises PASSIVE with `WdfExecutionLevelPassive`).
    pub dispatch_io_percent: u64,
    /// Range of the delay between queuing a DPC and running it, in nanoseconds.
    pub dpc_latency_ns: (u64, u64),
    /// Delay of a deferred map-register grant, in nanoseconds.
    pub grant_latency_ns: (u64, u64),
    /// Map registers per adapter (`None`: `BYTES_TO_PAGES(MaximumLength) + 1`).
    pub map_registers: Option<u32>,
    /// Consecutive ISR runs with the line still asserted before the storm rule fires.
    pub storm_limit: u32,
    /// Probability (out of 100) that `EvtRequestCancel` runs some time after the I/O manager
    /// cancelled the IRP instead of at once: the window in which the cancel routine is on its
    /// way on another processor, `WdfRequestUnmarkCancelable` already returns
    /// `STATUS_CANCELLED`, and the driver must leave completion to the callback.
    pub deferred_cancel_percent: u64,
    /// Range of that delay, in nanoseconds.
    pub cancel_latency_ns: (u64, u64),
    /// Probability (out of 100) that `WdfDmaTransactionCancel` on a transaction waiting for map
    /// registers loses to a grant already under way on another processor: the HAL took the
    /// registers and its adapter-control routine follows (`EvtProgramDma`, or an invented
    /// `DmaCancelled` notification after a stop).
    pub cancel_loses_percent: u64,
    /// Probability (out of 100) that the HAL runs a stopped system transfer's completion
    /// routine before `WdfDmaTransactionStopSystemTransfer` returns, on the calling thread
    /// (§3.2); otherwise it arrives later.
    pub inline_stop_completion_percent: u64,
    /// Probability (out of 100) that the system DMA controller finishes a transfer before
    /// `EvtProgramDma` returns; KMDF holds that notification and delivers it right after the
    /// callback, nested in the caller of the staging (§3.1).
    pub fast_completion_percent: u64,
    /// Probability (out of 100) that `WdfDmaTransactionExecute` fails with
    /// `STATUS_INSUFFICIENT_RESOURCES` because the HAL could not allocate the adapter channel
    /// (§2.4 step 5): the transaction ends (`TransferFailed`) with no callback, and the driver
    /// must release it and complete the request itself. 0 by default; no draw is made at 0, so
    /// seeds replay as before.
    pub execute_failure_percent: u64,
    /// Range of the delay between a surprise removal (the hardware is gone: registers read all
    /// ones) and the framework telling the driver, in nanoseconds.
    pub removal_notice_ns: (u64, u64),
    /// How long a power-down may wait for the driver's requests (EvtIoStop acknowledged or
    /// completed) before the verifier's wait limit (60 s, then a break: bugcheck 0x1E without a
    /// debugger) and Windows' power watchdog (0x9F) end the machine.
    pub power_deadline_ns: u64,
    /// How far virtual time may run while a callback at DISPATCH_LEVEL or above is suspended
    /// mid-way (a slow processor), in nanoseconds. Windows bounds how long a DPC or ISR may run
    /// (the DPC watchdog, 0x133); a PASSIVE_LEVEL callback may be held up for any time.
    pub dispatch_stall_ns: u64,
    /// Report device DMA outside every mapped transfer and common buffer (rule DMA-END). Off
    /// only for tests that show what a misconfigured address width does to the data.
    pub check_dma_windows: bool,
    /// Number of processors (at least 1).
    pub processors: usize,
    /// How activities on the processors interleave. [`sched::Schedule::Serial`] runs one
    /// callback at a time to its end (an ISR never preempts), as the simulator did with one
    /// processor; the other schedules switch at DDI entries and returns, register accesses,
    /// lock operations and instrumented atomics.
    pub schedule: sched::Schedule,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            deferred_grant_percent: 25,
            dispatch_io_percent: 30,
            dpc_latency_ns: (1_000, 40_000),
            grant_latency_ns: (1_000, 200_000),
            map_registers: None,
            storm_limit: 1_000,
            deferred_cancel_percent: 50,
            cancel_latency_ns: (1_000, 60_000),
            cancel_loses_percent: 30,
            inline_stop_completion_percent: 50,
            fast_completion_percent: 20,
            execute_failure_percent: 0,
            removal_notice_ns: (0, 2_000_000),
            power_deadline_ns: 60_000_000_000,
            check_dma_windows: true,
            dispatch_stall_ns: 1_000_000,
            processors: 2,
            schedule: sched::Schedule::RandomWalk { switch_percent: 20 },
        }
    }
}

/// An event in virtual time.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    /// Present requests of a queue.
    Dispatch(Id),
    /// Run the ISR of an interrupt object.
    Isr { interrupt: Id, message: u32 },
    /// Run the DPC of an interrupt object.
    Dpc(Id),
    /// A framework timer expires.
    Timer { timer: Id, generation: u64 },
    /// A device model's own timer.
    Device {
        hw: usize,
        token: u64,
        controller: bool,
    },
    /// The HAL grants a waiting transaction its map registers / channel.
    Grant { tx: Id, generation: u64 },
    /// The test cancels an I/O request.
    Cancel { irp: u64 },
    /// A deferred `EvtRequestCancel` call (see [`Policy::deferred_cancel_percent`]).
    CancelCallback {
        request: Id,
        routine: PFN_WDF_REQUEST_CANCEL,
    },
    /// The HAL reports a system-DMA transfer complete.
    SystemDone {
        tx: Id,
        generation: u64,
        status: i32,
        bytes: u64,
    },
}

/// The state of one simulated machine.
pub(crate) struct State {
    pub(crate) now: u64,
    pub(crate) rng: Rng,
    pub(crate) policy: Policy,
    pub(crate) seq: u64,
    pub(crate) queue: BTreeMap<(u64, u64, u64), Event>,
    pub(crate) irql: Irql,
    pub(crate) held: Vec<Held>,
    pub(crate) context: Vec<&'static str>,
    pub(crate) objects: Objects,
    pub(crate) findings: Vec<Finding>,
    /// Microsoft compliance-rule violations Windows does not detect at run time
    /// ([`State::compliance_finding`]).
    pub(crate) compliance: Vec<Finding>,
    /// Non-fatal findings not kept because [`FINDINGS_KEEP`] were kept already.
    pub(crate) findings_dropped: u64,
    pub(crate) halted: bool,
    pub(crate) mem: PhysMem,
    pub(crate) hw: Vec<hw::Hardware>,
    pub(crate) driver: Option<Id>,
    pub(crate) inits: HashMap<usize, objects::DeviceInit>,
    pub(crate) next_init: usize,
    /// IRPs sent and not completed yet.
    pub(crate) irps: HashMap<u64, io::Irp>,
    /// Completions the test has not collected yet (`Machine::take_completion`); a collected
    /// IRP leaves the machine.
    pub(crate) completed: HashMap<u64, IoCompletion>,
    pub(crate) next_irp: u64,
    pub(crate) stats: Stats,
    pub(crate) trace: Vec<String>,
    pub(crate) tracing: bool,
    /// What the driver printed with `DbgPrintEx`.
    pub(crate) debug: dbgprint::DebugOutput,
    pub(crate) sched: sched::Sched,
    /// Values of the driver's service `Parameters` key (`REG_DWORD`), by lower-case name
    /// (registry names are case-insensitive); set through `Machine::set_parameter`.
    pub(crate) parameters: BTreeMap<String, u32>,
    /// How many times each rule's check ran (see [`State::exercised`]).
    pub(crate) coverage: BTreeMap<&'static str, u64>,
}

/// Counters a test or benchmark reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// WDF and kernel functions the driver called (register accesses not included).
    pub ddi_calls: u64,
    /// Device register reads and writes.
    pub register_accesses: u64,
    /// Framework objects the driver created.
    pub objects_created: u64,
    /// Times `EvtProgramDma` ran.
    pub program_dma_calls: u64,
    /// ISR invocations.
    pub isr_calls: u64,
    /// DPC invocations.
    pub dpc_calls: u64,
    /// Requests completed.
    pub completions: u64,
    /// Requests the driver acknowledged in `EvtIoStop` with `Requeue=TRUE` that went back to
    /// their queue.
    pub requeued: u64,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

impl State {
    pub(crate) fn new(seed: u64, policy: Policy) -> Self {
        let sched = sched::Sched::new(seed, policy.processors, policy.schedule);
        Self {
            now: 0,
            rng: Rng::new(seed),
            policy,
            seq: 0,
            queue: BTreeMap::new(),
            irql: Irql::Passive,
            held: Vec::new(),
            context: Vec::new(),
            objects: Objects::new(),
            findings: Vec::new(),
            compliance: Vec::new(),
            findings_dropped: 0,
            halted: false,
            mem: PhysMem::new(),
            hw: Vec::new(),
            driver: None,
            inits: HashMap::new(),
            next_init: 1,
            irps: HashMap::new(),
            completed: HashMap::new(),
            next_irp: 1,
            stats: Stats::default(),
            trace: Vec::new(),
            tracing: false,
            debug: dbgprint::DebugOutput::new(),
            sched,
            parameters: BTreeMap::new(),
            coverage: BTreeMap::new(),
        }
    }

    /// Schedules an event `delay` ns from now; ties are ordered by the seed.
    pub(crate) fn schedule(&mut self, delay: u64, event: Event) {
        self.seq += 1;
        let tie = self.rng.next_u64();
        self.queue.insert((self.now + delay, tie, self.seq), event);
    }

    /// A delay drawn from a `(min, max)` range.
    pub(crate) const fn delay(&mut self, range: (u64, u64)) -> u64 {
        range.0 + self.rng.below(range.1.saturating_sub(range.0) + 1)
    }

    /// Counts one evaluation of `rule`'s check: its trigger point was reached, whether or not
    /// the rule was broken there (`Machine::rule_coverage`).
    pub(crate) fn exercised(&mut self, rule: &'static str) {
        *self.coverage.entry(rule).or_insert(0) += 1;
    }

    /// Whether the running code was called, directly or through DDIs it called, from callback
    /// `name`. A callback the framework starts on its own (an ISR, a DPC, a timer, a queue's
    /// I/O callbacks, `EvtIoStop`, `EvtRequestCancel`) begins a new chain even when it runs
    /// nested on the same processor, as a DPC interrupting passive-level code does.
    pub(crate) fn called_from(&self, name: &str) -> bool {
        const ROOTS: [&str; 9] = [
            "EvtInterruptIsr",
            "EvtInterruptDpc",
            "EvtTimerFunc",
            "EvtIoRead",
            "EvtIoWrite",
            "EvtIoDeviceControl",
            "EvtIoStop",
            "EvtRequestCancel",
            "EvtDeviceSurpriseRemoval",
        ];
        for callback in self.context.iter().rev() {
            if *callback == name {
                return true;
            }
            if ROOTS.contains(callback) || *callback == ACTIVITY_BOUNDARY {
                return false;
            }
        }
        false
    }

    /// Records a violation of a Microsoft KMDF DDI compliance rule that Windows itself does not
    /// detect at run time (Static Driver Verifier would report it; the running system goes on,
    /// and so does the machine). Kept apart from the findings: `Report::is_clean` is about
    /// what the running system detects, `Report::is_compliant` about both.
    pub(crate) fn compliance_finding(&mut self, rule: &'static str, message: String) {
        if self.compliance.len() >= FINDINGS_KEEP {
            return;
        }
        let finding = Finding {
            rule,
            severity: Severity::Warning,
            message,
            context: self.context.last().copied().unwrap_or("test"),
            processor: self.sched.current.filter(|_| self.sched.processors() > 1),
            time_ns: self.now,
        };
        if self.tracing {
            self.trace.push(format!("COMPLIANCE {finding}"));
        }
        self.compliance.push(finding);
    }

    /// Records a verifier finding. Fatal findings (the bugchecks of real KMDF) halt the machine.
    pub(crate) fn finding(&mut self, rule: &'static str, severity: Severity, message: String) {
        let call = self.context.last().copied().unwrap_or("test");
        let finding = Finding {
            rule,
            severity,
            message,
            context: call,
            processor: self.sched.current.filter(|_| self.sched.processors() > 1),
            time_ns: self.now,
        };
        if self.tracing {
            self.trace.push(format!("FINDING {finding}"));
        }
        if severity == Severity::Fatal {
            self.halted = true;
        } else if self.findings.len() >= FINDINGS_KEEP {
            self.findings_dropped += 1;
            return;
        }
        self.findings.push(finding);
    }

    /// Appends a line to the trace, when tracing is on.
    pub(crate) fn log(&mut self, line: impl FnOnce() -> String) {
        if self.tracing {
            let at = self.now;
            let text = line();
            let cpu = match self.sched.current {
                Some(cpu) if self.sched.processors() > 1 => format!("cpu{cpu} "),
                _ => String::new(),
            };
            self.trace.push(format!(
                "{:>6}.{:06} ms  {cpu}{text}",
                at / 1_000_000,
                at % 1_000_000
            ));
        }
    }

    /// Checks the current IRQL against a DDI's maximum.
    pub(crate) fn check_irql(&mut self, ddi: &'static str, max: Irql) -> bool {
        if self.irql > max {
            let irql = self.irql;
            self.finding(
                "T17/IRQL",
                Severity::Fatal,
                format!("{ddi} called at {irql:?}; its maximum is {max:?}"),
            );
            return false;
        }
        true
    }

    /// A KMDF verifier IRQL check (`FxVerifierCheckIrqlLevel`, §0.2 IRQLCHK): above `max` (up
    /// to DISPATCH_LEVEL) it breaks into the verifier under `rule` and the DDI fails; the machine
    /// goes on. Above DISPATCH_LEVEL the call is fatal (T17), as for every DMA DDI.
    pub(crate) fn verifier_irql(
        &mut self,
        ddi: &'static str,
        max: Irql,
        rule: &'static str,
    ) -> bool {
        // Above DISPATCH_LEVEL the call faults before the verifier's check can run (T17).
        if !self.check_irql(ddi, Irql::Dispatch) {
            return false;
        }
        if self.irql > max {
            let irql = self.irql;
            self.finding(
                rule,
                Severity::Error,
                format!("{ddi} called at {irql:?}; KMDF requires {max:?}"),
            );
            return false;
        }
        true
    }

    /// Counts one DDI call.
    pub(crate) const fn ddi(&mut self) {
        self.stats.ddi_calls += 1;
    }

    /// Counts one DDI call and checks the header's `_IRQL_requires_max_` for it (§9.1): above
    /// `max` the call is reported under T17/IRQL (fatal) and must not proceed.
    pub(crate) fn ddi_at_most(&mut self, ddi: &'static str, max: Irql) -> bool {
        self.ddi();
        self.check_irql(ddi, max)
    }
}

/// Installs a new machine state on this thread, replacing any previous one.
pub(crate) fn install(state: State) {
    STATE.with(|slot| *slot.borrow_mut() = Some(state));
}

/// Removes this thread's machine state.
pub(crate) fn uninstall() -> Option<State> {
    STATE.with(|slot| slot.borrow_mut().take())
}

/// Whether a machine is installed on this thread.
pub(crate) fn installed() -> bool {
    STATE.with(|slot| slot.borrow().is_some())
}

/// Runs `f` on this thread's machine.
///
/// # Panics
/// If no machine is installed (a mirror function was called outside a simulation), or on a
/// re-entrant borrow (a simulator bug).
pub(crate) fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|slot| {
        let mut guard = slot.borrow_mut();
        #[expect(
            clippy::expect_used,
            reason = "a mirror call outside a simulation is a test bug"
        )]
        let state = guard
            .as_mut()
            .expect("kmdf-sim: no simulated machine on this thread");
        f(state)
    })
}

//! `kmdf-sim`: a deterministic simulator of the KMDF subset a DMA driver uses.
//!
//! It lets a KMDF driver's own callbacks and wrappers run in ordinary host tests:
//! - [`mirror`] is a stand-in for `wdk-sys` with the same item names and types, whose WDF
//!   functions act on a simulated machine and check KMDF's rules as they go;
//! - [`Machine`] is that machine: a discrete-event engine in virtual time, framework objects,
//!   simulated physical memory, a HAL with map registers and bounce buffers, and device
//!   models ([`devices::edu`], [`devices::sysdma`]);
//! - [`verifier`] reports each broken rule with its name from `kmdf-dma-semantics.md` §8.
//!
//! A seed chooses among events that are ready at the same time and among the framework's
//! legal behaviours (deferred map-register grants, a cancel routine that arrives late, the IRQL
//! of I/O callbacks, latencies), so a test can explore many interleavings and replay any one.
//!
//! # Several processors
//!
//! A machine has [`Policy::processors`] processors (2 by default). Every callback the framework
//! makes runs as an activity (a stackful coroutine on the test's own thread) on a processor with
//! its own IRQL and held locks; a [`Schedule`] chosen by the seed (a random walk, or PCT with
//! priority change points) may switch processors at every DDI entry and return, every register
//! access, every spin-lock and interrupt-lock operation and every operation of the instrumented
//! atomics the driver takes from its seam ([`mirror::atomic`]). Locks really exclude; a cycle of
//! waiting processors is a `DEADLOCK` finding, locks taken in both orders a `LOCKORDER` one. An
//! ISR may preempt a processor at or below DISPATCH_LEVEL; a DPC re-queued while it runs may run
//! on another processor at the same time (KMDF takes no lock around `EvtInterruptDpc` without
//! automatic serialization); a timer callback never overlaps itself; disconnecting interrupts
//! flushes their DPCs. Virtual time may run while an activity is suspended (a slow processor),
//! for as long as the seed likes at PASSIVE_LEVEL and at most [`Policy::dispatch_stall_ns`] at
//! DISPATCH_LEVEL or above. Runs replay bit for bit from the seed.
//!
//! # KMDF's completion timing
//!
//! Policies the seed draws from: a `WdfDmaTransactionCancel` that loses to a grant already under
//! way; a system-DMA notification held while KMDF stages a transfer and delivered right after
//! `EvtProgramDma` returns (nested in the caller's `DmaCompleted*`), delivered inline inside
//! `WdfDmaTransactionStopSystemTransfer`, or made up (`DmaCancelled`, no `EvtProgramDma`) when a
//! stop wins before the first mapping; a surprise removal whose hardware is gone before the
//! framework tells the driver; an edu command that completes late and still writes memory.
//! `Cancel` or `StopSystemTransfer` on an ended but unreleased transaction is fatal (KMDF
//! dereferences a NULL adapter pointer), and so are device DMA outside every mapped transfer
//! and common buffer (`DMA-END`) and a power-down that outlives its deadline (`POWER`).
//!
//! # Where the simulator knowingly differs from Windows
//!
//! - Processors switch only at the points above, never between two plain memory accesses of
//!   the driver, and the atomics behave as sequentially consistent whatever ordering the driver
//!   asks for: a missing `Acquire`/`Release` or a race on plain memory between two switch points
//!   is not found (safe Rust forbids the latter outside the wrapper layer).
//! - KMDF never runs two `EvtProgramDma` of one packet transaction at once: a completion that
//!   arrives on another processor while staging defers the next staging to the staging thread.
//!   The simulator models that deferral for system-DMA notifications only; for the bus-master
//!   path it stages at once on the completing processor (more concurrency than KMDF allows, so
//!   a stricter test, not a kinder one).
//! - Interrupts have no affinity: an ISR starts on any idle processor or nests on one at or
//!   below DISPATCH_LEVEL; a DPC may run on another processor than the ISR that queued it.
//! - IRP buffers are page-aligned (no sub-page offset); the scatter/gather profile's bouncing
//!   is not modelled (a warning says so); the transaction states `Reserved` and
//!   `AllocateResources` are not modelled; a second completion of a request is `BADHANDLE`
//!   (the request is freed at the first), where KMDF's verifier may first report R3.
//! - `DMA-END` checks the device side (where a device reads or writes); Driver Verifier checks
//!   the adapter side (map registers, buffers) and an IOMMU blocks the access, so a real machine
//!   may report such a bug differently or not at all.
//! - A removal is noticed at most 2 ms after the hardware is gone (`Policy::removal_notice_ns`);
//!   the power-down deadline is the KMDF verifier's 60 s, not Windows' longer power watchdog.
//! - One simulated machine per test thread; requests come from the test, not from user-mode
//!   threads with their own timing.

#![allow(
    unsafe_code,
    reason = "a framework simulator calls the driver's callbacks through function pointers and hands it raw memory; every block is argued"
)]

pub mod devices;
pub mod machine;
pub mod mirror;
pub(crate) mod sim;
pub mod verifier;

pub use machine::{DeviceHandle, DriverEntry, Footprint, Irp, Machine, MachineConfig, SystemSleep};
pub use mirror::types::GUID;
pub use sim::dbgprint::DebugLine;
pub use sim::hw::{HardwareConfig, NewResources};
pub use sim::io::{IoCompletion, IoOp};
pub use sim::rng::Rng;
pub use sim::sched::Schedule;
pub use sim::{Irql, Policy, Stats};
pub use verifier::{
    Finding, MICROSOFT_RULES_BY_SIMULATOR_RULE, MICROSOFT_RUN_TIME_RULES, Report, RuleCoverage,
    Severity, microsoft_rules_counted,
};

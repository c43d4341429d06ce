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
pub use sim::dbgprint::DebugLine;
pub use sim::hw::{HardwareConfig, NewResources};
pub use sim::io::{IoCompletion, IoOp};
pub use sim::rng::Rng;
pub use sim::sched::Schedule;
pub use sim::{Irql, Policy, Stats};
pub use verifier::{Finding, Report, Severity};

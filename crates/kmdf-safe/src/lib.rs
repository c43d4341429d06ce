//! Safe Rust wrappers over the KMDF objects a DMA driver uses, and the seam that sends their
//! calls to `wdk-sys` (Windows) or to the `kmdf-sim` simulator (any other host, or a Windows
//! host building with `--cfg kmdf_sim`). This crate holds all of a driver's `unsafe` code: a
//! driver built on it can be `#![forbid(unsafe_code)]`, with its entry point made by
//! [`driver_entry!`].
//!
//! # What the wrappers guarantee, and what they leave to the driver
//!
//! - [`irql`]: trampolines hand each callback the token of the IRQL KMDF documents for it, and
//!   every DDI wrapper asks for the token of its documented maximum IRQL, so a PASSIVE_LEVEL
//!   call from a DISPATCH_LEVEL path does not compile. Tokens are lent mutably to whatever
//!   raises the IRQL (spin lock, interrupt lock), which lends the raised level's token instead.
//!   Left to the driver: how long it stays at a raised IRQL.
//! - [`object`]: [`declare_context!`] declares a context type once; the framework allocates
//!   it with the object and the wrapper initialises it once and drops it in the object's
//!   cleanup callback, so a context is never read uninitialised or after it is freed. Contexts
//!   are shared (`&T`): the driver chooses the interior mutability (spin locks, atomics).
//! - [`device`]: `DriverEntry`'s body, device add, PnP and power callbacks as trait methods,
//!   and hardware resources. Hardware state lives in a [`HardwareSlot`] filled in prepare and
//!   emptied in release. Left to the driver: what its hardware state is and how it is torn down.
//! - [`request`]: a request is consumed by its completion, so it completes exactly once; a
//!   request whose cancel callback is due cannot be completed until that callback ran, and
//!   [`CancelRendezvous`] lets whichever of the callback and the completing path comes second
//!   complete it. Left to the driver: which status and byte count it reports, when it makes a
//!   request cancelable, and the lock around the rendezvous.
//! - [`dma`]: the DMA enabler, common buffers, and a channel that owns one reusable transaction
//!   and the request it runs for, bound to the device context when created; one path ends each
//!   run. CPU access to a common buffer the device can write is volatile or `unsafe`. Left to
//!   the driver: programming its device from the scatter/gather list and reporting the bytes
//!   the device moved.
//! - [`interrupt`]: ISR, DPC, and state shared with the ISR reachable only under the interrupt
//!   lock, with a DIRQL token. Left to the driver: acknowledging its device's interrupt.
//! - [`sync`], [`timer`], [`registry`], [`mmio`], [`log`], [`status`]: spin locks that own the
//!   data they protect; timers whose callback is a context method; read-only access to the
//!   service's `Parameters` key; typed register access through a mapped BAR (width and access
//!   checked at compile time; what the values mean is the driver's); `DbgPrintEx` logging
//!   without allocation; `NTSTATUS` as types.
//!
//! Shared rules, argued once here and cited by the `SAFETY` comments:
//! - Handles held by wrapper values are live: long-lived objects (queues, interrupts, enablers,
//!   transactions, spin locks, timers) are parented to the device and stored only in the
//!   device's context or in hardware state it owns, which the framework frees before them.
//! - Callbacks are generic trampolines (`evt_wdf_*::<C>`) installed only by the wrapper that
//!   creates the object; each recovers the device context `C`, wraps the handles, creates the
//!   IRQL token KMDF documents for the callback, and calls a trait method.
//! - IRQL is carried by tokens ([`irql`]); DDIs take the token of their documented maximum.
//!
//! # Backend, allocator and panic handler
//!
//! The backend is chosen by target, not by a Cargo feature: `wdk-sys` when the target is
//! Windows, `kmdf-sim` otherwise or under `--cfg kmdf_sim`. On Windows the crate is a WDK
//! library (its build script calls `wdk_build::configure_wdk_library_build`); the driver
//! binary's build script configures linking. The crate does not install a global allocator
//! or a panic handler: as in Microsoft's samples the driver binary does (`wdk-alloc`'s
//! `WdkAllocator` and `extern crate wdk_panic`, neither needs `unsafe`), so each driver picks
//! its own and host tests keep std's.
#![cfg_attr(not(test), no_std)]
#![expect(
    unsafe_code,
    reason = "the wrapper layer and its seam are the home of all unsafe code"
)]

pub mod device;
pub mod dma;
pub mod interrupt;
pub mod irql;
pub mod log;
pub mod mmio;
pub mod object;
pub mod registry;
pub mod request;
pub mod status;
pub mod sync;
mod sys;
pub mod timer;

pub use device::{
    Device, DeviceHandler, DeviceInit, Driver, Guid, HardwareSlot, PowerState, Prepare, Release,
    Resource, Resources,
};
pub use object::{ContextTypeInfo, MEMORY_ALLOCATION_ALIGNMENT, ObjectContext};
pub use request::{CancelPending, CancelRan, CancelRendezvous, DueCompletion, Mismatch, Request};
pub use status::{Error, Result, Status};

/// Atomics for state the driver shares between callbacks.
///
/// `core::sync::atomic` on Windows; under the simulator, types with the same API whose every operation is a switch point of
/// the simulated processors' schedule.
pub mod atomic {
    pub use super::sys::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
}

/// Types `DriverEntry` receives, for [`driver_entry!`].
#[expect(non_camel_case_types, reason = "the C names of the kernel types")]
pub mod entry {
    pub use super::device::driver_entry;
    /// `NTSTATUS`.
    pub type NTSTATUS = super::sys::NTSTATUS;
    /// `PCUNICODE_STRING`.
    pub type PCUNICODE_STRING = super::sys::PCUNICODE_STRING;
    /// `PDRIVER_OBJECT`.
    pub type PDRIVER_OBJECT = super::sys::PDRIVER_OBJECT;
}

/// Defines the driver's entry point for the [`Driver`] type given.
///
/// The expansion is a public `unsafe extern "system" fn driver_entry` exported as `DriverEntry`, whose body is
/// [`entry::driver_entry`]. Invoke it once, at the driver crate's root; host tests pass the
/// function to the simulator's loader (`Machine::load_driver(my_driver::driver_entry)`).
///
/// The expansion is this crate's `unsafe` code, so the driver crate itself can be
/// `#![forbid(unsafe_code)]`.
#[macro_export]
macro_rules! driver_entry {
    ($driver:ty) => {
        /// The driver's entry point, called by the kernel (or the simulator's loader) when the
        /// driver loads.
        ///
        /// # Safety
        /// Called once, with a valid driver object and registry path.
        #[unsafe(export_name = "DriverEntry")] // No other symbol in the driver has this name.
        pub unsafe extern "system" fn driver_entry(
            driver: $crate::entry::PDRIVER_OBJECT,
            registry_path: $crate::entry::PCUNICODE_STRING,
        ) -> $crate::entry::NTSTATUS {
            // SAFETY: the kernel's arguments, passed on unchanged; called once.
            unsafe { $crate::entry::driver_entry::<$driver>(driver, registry_path) }
        }
    };
}

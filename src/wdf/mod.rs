//! Safe wrappers over the KMDF objects the driver uses. This module and its seam
//! (`sys`, private) are the only places with `unsafe` code.
//!
//! Shared rules, argued once here and cited by the `SAFETY` comments:
//! - Handles held by wrapper values are live: long-lived objects (queues, interrupts, enablers,
//!   transactions, spin locks, timers) are parented to the device and stored only in the
//!   device's context or in hardware state it owns, which the framework frees before them.
//! - Callbacks are generic trampolines (`evt_wdf_*::<C>`) installed only by the wrapper that
//!   creates the object; each recovers the device context `C`, wraps the handles, creates the
//!   IRQL token KMDF documents for the callback, and calls a trait method.
//! - IRQL is carried by tokens ([`irql`]); DDIs take the token of their documented maximum.

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
pub(crate) mod sys;
pub mod timer;

pub use device::{
    Device, DeviceHandler, DeviceInit, Driver, HardwareSlot, PowerState, Prepare, Release,
    Resource, Resources,
};
pub use object::{ContextTypeInfo, MEMORY_ALLOCATION_ALIGNMENT, ObjectContext};
pub use request::{CancelPending, CancelRan, Mismatch, Request};
pub use status::{Error, Result, Status};

/// Types `DriverEntry` receives, for the one export in `lib.rs`.
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

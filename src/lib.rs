//! A KMDF DMA driver for QEMU's `edu` device (bus-master packet DMA) and for a system-mode DMA
//! peripheral served by a platform DMA controller, written in Rust.
//!
//! Layout: [`wdf`] holds the safe wrappers over WDF and the seam to `wdk-sys` (or, on any
//! host other than Windows, to `kmdf-sim`); it is the only module with `unsafe` code, apart
//! from the `DriverEntry` export below. Everything else is driver logic in safe Rust:
//! [`driver`] (device add, prepare/release, power), [`io`] (requests and IOCTLs), [`dma`] (the
//! whole DMA path), [`interrupt`] (ISR and DPC), [`cancel`] (cancellation and the watchdog),
//! [`regs`] (device registers) and [`context`] (device state).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

pub mod cancel;
pub mod context;
pub mod dma;
pub mod driver;
pub mod interrupt;
pub mod io;
pub mod params;
pub mod regs;
#[expect(
    unsafe_code,
    reason = "the wrapper layer and its seam are the home of all unsafe code"
)]
pub mod wdf;

use wdf::entry::{NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT};

/// The driver's entry point, called by the kernel when the driver loads.
///
/// # Safety
/// Called once by the kernel (or the simulator's loader) with a valid driver object and
/// registry path.
#[expect(unsafe_code, reason = "the one exported entry point the kernel calls")]
#[unsafe(export_name = "DriverEntry")] // No other symbol in the driver has this name.
pub unsafe extern "system" fn driver_entry(
    driver: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    // SAFETY: the kernel's arguments, passed on unchanged; called once.
    unsafe { wdf::entry::driver_entry::<driver::EduDriver>(driver, registry_path) }
}

//! A KMDF DMA driver for QEMU's `edu` device (bus-master packet DMA) and for a system-mode DMA
//! peripheral served by a platform DMA controller, written in Rust.
//!
//! Layout: the safe wrappers over WDF, their seam to `wdk-sys` (or, on any host other than
//! Windows, to `kmdf-sim`) and the `DriverEntry` export ([`kmdf_safe::driver_entry!`]) live in
//! the `kmdf-safe` crate (crates/kmdf-safe), which holds all the `unsafe` code. This crate is
//! driver logic in safe Rust: [`driver`] (device add, prepare/release, power), [`io`]
//! (requests and IOCTLs), [`dma`] (the whole DMA path), [`interrupt`] (ISR and DPC),
//! [`cancel`] (cancellation and the watchdog), [`regs`] (device registers) and [`context`]
//! (device state).
//!
//! On Windows (unless simulated with `--cfg kmdf_sim`) this crate, the driver binary, also
//! links the kernel's pool allocator (`wdk-alloc`) as the global allocator and the kernel
//! panic handler (`wdk-panic`), as Microsoft's driver samples do in the driver crate.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod cancel;
pub mod context;
pub mod dma;
pub mod driver;
pub mod interrupt;
pub mod io;
pub mod params;
pub mod regs;

#[cfg(all(windows, not(kmdf_sim)))]
extern crate wdk_panic;

/// The kernel's pool allocator, for `alloc` (the driver itself allocates nothing on the hot
/// path).
#[cfg(all(windows, not(kmdf_sim)))]
#[global_allocator]
static GLOBAL_ALLOCATOR: wdk_alloc::WdkAllocator = wdk_alloc::WdkAllocator;

kmdf_safe::driver_entry!(driver::EduDriver);

//! The seam: the one place that decides where WDF calls go.
//!
//! On Windows this re-exports `wdk_sys` (types, constants, and `MmMapIoSpaceEx`/
//! `MmUnmapIoSpace`/`DbgPrintEx`/`KeQueryUnbiasedInterruptTime` from `wdk_sys::ntddk`) and routes [`wdf_call!`] to
//! `call_unsafe_wdf_function_binding!`, which calls through KMDF's function table. The kernel
//! panic handler and the pool allocator are not here: the driver binary links them (see the
//! crate docs).
//!
//! Everywhere else it re-exports `kmdf_sim::mirror`, whose items carry the same names, types
//! and signatures, and routes [`wdf_call!`] to the mirror's functions. Nothing else in the
//! crate names `wdk_sys` or `kmdf_sim`, and the driver names neither.
//!
//! `SAFETY` comments at call sites argue the Windows contract of the DDI; the simulator's
//! verifier checks the same contract at run time.

#[cfg(all(windows, not(kmdf_sim)))]
pub(crate) use wdk_sys::ntddk::{
    DbgPrintEx, KeQueryUnbiasedInterruptTime, MmMapIoSpaceEx, MmUnmapIoSpace,
};
#[cfg(all(windows, not(kmdf_sim)))]
pub(crate) use wdk_sys::*;

#[cfg(any(not(windows), kmdf_sim))]
pub(crate) use kmdf_sim::mirror::*;

/// Atomics: core's on Windows.
///
/// Elsewhere the glob above brings `kmdf_sim::mirror::atomic`, whose types have the same API
/// and make every operation a switch point of the simulated processors' schedule, so races
/// through atomics are explored like races through DDIs.
#[cfg(all(windows, not(kmdf_sim)))]
pub(crate) mod atomic {
    // `pub`: the crate root re-exports these as `kmdf_safe::atomic`.
    pub use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
}

/// Calls a WDF function: `wdf_call!(WdfFoo, arg, ...)`. The expansion is an unsafe call; the
/// caller wraps it in `unsafe { }` with a `SAFETY` comment.
#[cfg(all(windows, not(kmdf_sim)))]
macro_rules! wdf_call {
    ($function:ident $(, $argument:expr)* $(,)?) => {
        ::wdk_sys::call_unsafe_wdf_function_binding!($function $(, $argument)*)
    };
}

/// Calls a WDF function: `wdf_call!(WdfFoo, arg, ...)`. The expansion is an unsafe call; the
/// caller wraps it in `unsafe { }` with a `SAFETY` comment.
#[cfg(any(not(windows), kmdf_sim))]
macro_rules! wdf_call {
    ($function:ident $(, $argument:expr)* $(,)?) => {
        $crate::sys::$function($($argument),*)
    };
}

pub(crate) use wdf_call;

/// The current IRQL where it can be observed (the simulator), for debug assertions in the
/// IRQL token constructors. `None` on Windows, where the tokens rest on the callback contracts.
#[cfg(any(not(windows), kmdf_sim))]
#[expect(
    clippy::unnecessary_wraps,
    reason = "the Windows half has nothing to observe"
)]
pub(crate) fn observed_irql() -> Option<u8> {
    Some(kmdf_sim::mirror::ext::current_irql())
}

/// The current IRQL where it can be observed (the simulator), for debug assertions in the
/// IRQL token constructors. `None` on Windows, where the tokens rest on the callback contracts.
#[cfg(all(windows, not(kmdf_sim)))]
pub(crate) const fn observed_irql() -> Option<u8> {
    None
}

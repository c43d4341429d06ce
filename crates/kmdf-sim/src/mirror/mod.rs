//! The mirror of `wdk-sys`: the items a KMDF driver uses, with the names, field names, types
//! and function signatures `wdk-sys` 0.5 generates from the KMDF 1.33 headers, backed by the
//! simulator.
//!
//! A driver's seam module re-exports `wdk_sys` on Windows and this module elsewhere; the same
//! source then compiles in both worlds. WDF functions appear here as plain `unsafe fn`s whose
//! parameter lists are those of the KMDF function table without `DriverGlobals`, which is what
//! a driver writes inside `call_unsafe_wdf_function_binding!` on Windows.
//!
//! Kept to the items a DMA driver of this kind uses; `MDL` and `DRIVER_OBJECT` are opaque
//! here because such a driver never reads their fields.
#![expect(
    non_snake_case,
    non_camel_case_types,
    non_upper_case_globals,
    reason = "the C names, as wdk-sys spells them"
)]
#![expect(
    clippy::pub_underscore_fields,
    reason = "bindgen's padding and opaque fields, spelled as wdk-sys spells them"
)]

pub mod atomic;
pub mod constants;
pub mod functions;
pub mod types;

pub use constants::*;
pub use functions::*;
pub use types::*;

/// Reads `(ContextSize, UniqueType)` of a context type info the driver owns.
pub(crate) fn read_type_info(info: PCWDF_OBJECT_CONTEXT_TYPE_INFO) -> (usize, usize) {
    if info.is_null() {
        return (0, 0);
    }
    // SAFETY: a non-null type info is a static the driver declared (WDF_DECLARE_CONTEXT_TYPE
    // equivalent); it lives for the whole run.
    let info = unsafe { &*info };
    let unique = if info.UniqueType.is_null() {
        core::ptr::from_ref(info)
    } else {
        info.UniqueType
    };
    (info.ContextSize, unique as usize)
}

/// The 64-bit value of a `PHYSICAL_ADDRESS`.
pub(crate) const fn quad(address: PHYSICAL_ADDRESS) -> i64 {
    // SAFETY: every member of `LARGE_INTEGER` covers the same 8 bytes of plain integers, so
    // reading `QuadPart` is valid whichever member was written.
    unsafe { address.QuadPart }
}

/// The `Dma` member of a resource descriptor whose type is `CmResourceTypeDma`.
pub(crate) const fn dma_member(
    descriptor: &CM_PARTIAL_RESOURCE_DESCRIPTOR,
) -> _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_6 {
    // SAFETY: the union's members are plain integers; the caller checked the type.
    unsafe { descriptor.u.Dma }
}

/// Host-only extensions the driver's seam uses where Windows has hardware.
///
/// Register access through a mapping made with [`MmMapIoSpaceEx`], and the current IRQL for
/// debug checks. Every register access is a switch point of the processor schedule.
pub mod ext {
    use crate::sim::{self, with};

    /// Reads a 32-bit register at a mapped address.
    #[must_use]
    pub fn read32(va: usize) -> u32 {
        sim::sched::point();
        u32::try_from(with(|s| s.mmio_read(va as u64, 4)) & 0xFFFF_FFFF).unwrap_or(u32::MAX)
    }

    /// Writes a 32-bit register at a mapped address.
    pub fn write32(va: usize, value: u32) {
        sim::sched::point();
        with(|s| s.mmio_write(va as u64, 4, u64::from(value)));
    }

    /// Reads a 64-bit register at a mapped address.
    #[must_use]
    pub fn read64(va: usize) -> u64 {
        sim::sched::point();
        with(|s| s.mmio_read(va as u64, 8))
    }

    /// Writes a 64-bit register at a mapped address.
    pub fn write64(va: usize, value: u64) {
        sim::sched::point();
        with(|s| s.mmio_write(va as u64, 8, value));
    }

    /// Whether the driver's verbosity switch lets a `DbgPrintEx` line at `Level` through.
    ///
    /// On Windows the driver keeps that switch itself; here the machine holds it, per machine
    /// (`Machine::set_driver_log_mask`).
    #[must_use]
    pub fn dbg_print_enabled(Level: super::ULONG) -> bool {
        sim::installed() && with(|s| s.debug.enabled(Level))
    }

    /// `DbgPrintEx(ComponentId, Level, "%s", Line)`.
    ///
    /// The one shape of the variadic kernel function the driver uses, without the variadic
    /// part (which stable Rust cannot define). Records the line in the machine's debug output. Not a switch point of the schedule:
    /// logging changes no interleaving. Returns `STATUS_SUCCESS`, as `DbgPrintEx` does.
    #[expect(
        clippy::must_use_candidate,
        reason = "DbgPrintEx's result is ignored by callers"
    )]
    pub fn dbg_print_ex(
        ComponentId: super::ULONG,
        Level: super::ULONG,
        Line: &core::ffi::CStr,
    ) -> super::ULONG {
        if sim::installed() {
            let text = Line.to_string_lossy();
            let text = text.trim_end_matches('\n').to_owned();
            with(|s| {
                let time_ns = s.now;
                s.log(|| format!("DbgPrintEx level {Level}: {text}"));
                s.debug.push(crate::sim::dbgprint::DebugLine {
                    time_ns,
                    component: ComponentId,
                    level: Level,
                    text,
                });
            });
        }
        0
    }

    /// The IRQL the running simulated processor runs at (0 PASSIVE, 2 DISPATCH, above: DIRQL).
    #[must_use]
    pub fn current_irql() -> u8 {
        if !sim::installed() {
            return 0;
        }
        with(|s| s.irql as u8)
    }
}

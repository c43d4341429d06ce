//! Device registers: a mapped BAR and typed register access.
//!
//! [`Bar`] is the only way to reach registers. On Windows it is the pointer returned by
//! `MmMapIoSpaceEx`, accessed with volatile reads and writes through raw pointers (never
//! references). On the host it is the simulator's mapping token, and each access goes to the
//! device model. Register types implement [`Register`] (with [`Readable`]/[`Writable`]), so an
//! access with the wrong width or to an undefined offset cannot be written.

use core::ptr::NonNull;

use super::irql::Passive;
use super::sys;
use super::{Error, Result};

/// A register of a BAR: its offset and raw width.
pub trait Register: Copy {
    /// Byte offset in the BAR.
    const OFFSET: usize;
    /// The raw value type (`u32` or `u64`).
    type Raw: RawValue;
    /// From the raw value.
    fn from_raw(raw: Self::Raw) -> Self;
    /// To the raw value.
    fn into_raw(self) -> Self::Raw;
}

/// Registers that may be read.
pub trait Readable: Register {}
/// Registers that may be written.
pub trait Writable: Register {}

/// Raw register widths.
///
/// The accessors are `unsafe`: the trait is public (register types name it), so only the
/// caller can vouch for the address. [`Bar::read`] and [`Bar::write`] are the callers.
pub trait RawValue: Copy + sealed::Sealed {
    /// Reads at `address`.
    ///
    /// # Safety
    /// `address` lies inside a live BAR mapping and is aligned to `size_of::<Self>()`.
    #[doc(hidden)]
    unsafe fn read(address: usize) -> Self;
    /// Writes at `address`.
    ///
    /// # Safety
    /// As for [`RawValue::read`].
    #[doc(hidden)]
    unsafe fn write(address: usize, value: Self);
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

#[cfg(all(windows, not(kmdf_sim)))]
impl RawValue for u32 {
    unsafe fn read(address: usize) -> Self {
        // SAFETY: the caller guarantees `address` lies inside a live MmMapIoSpaceEx mapping,
        // 4-byte aligned.
        unsafe { core::ptr::read_volatile(address as *const Self) }
    }
    unsafe fn write(address: usize, value: Self) {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile(address as *mut Self, value) }
    }
}

#[cfg(all(windows, not(kmdf_sim)))]
impl RawValue for u64 {
    unsafe fn read(address: usize) -> Self {
        // SAFETY: as for `u32`, 8-byte aligned.
        unsafe { core::ptr::read_volatile(address as *const Self) }
    }
    unsafe fn write(address: usize, value: Self) {
        // SAFETY: as for `u32`, 8-byte aligned.
        unsafe { core::ptr::write_volatile(address as *mut Self, value) }
    }
}

#[cfg(any(not(windows), kmdf_sim))]
impl RawValue for u32 {
    unsafe fn read(address: usize) -> Self {
        kmdf_sim::mirror::ext::read32(address)
    }
    unsafe fn write(address: usize, value: Self) {
        kmdf_sim::mirror::ext::write32(address, value);
    }
}

#[cfg(any(not(windows), kmdf_sim))]
impl RawValue for u64 {
    unsafe fn read(address: usize) -> Self {
        kmdf_sim::mirror::ext::read64(address)
    }
    unsafe fn write(address: usize, value: Self) {
        kmdf_sim::mirror::ext::write64(address, value);
    }
}

/// A mapped memory BAR.
///
/// # Invariants
/// `base..base + length` is a live `MmMapIoSpaceEx` mapping, unmapped only by [`Bar::unmap`],
/// which consumes the value. The driver keeps the value in its hardware state, which exists
/// only between prepare-hardware and release-hardware.
#[derive(Debug)]
pub struct Bar {
    base: NonNull<core::ffi::c_void>,
    length: usize,
}

// SAFETY: the mapping may be accessed from any CPU at any IRQL.
unsafe impl Send for Bar {}
// SAFETY: accesses are single volatile operations; serialising them is the driver's job (the
// interrupt lock), as on any MMIO.
unsafe impl Sync for Bar {}

impl Bar {
    /// Wraps `MmMapIoSpaceEx(start, length, PAGE_READWRITE | PAGE_NOCACHE)`.
    ///
    /// # Errors
    /// `STATUS_INSUFFICIENT_RESOURCES` when the mapping fails.
    pub fn map(start: u64, length: usize, _cx: &Passive<'_>) -> Result<Self> {
        let address = sys::PHYSICAL_ADDRESS {
            QuadPart: start.cast_signed(),
        };
        // CAST: usize and SIZE_T have the same width on every Windows target.
        let bytes = length as sys::SIZE_T;
        // SAFETY: `start..start + length` is a memory resource the PnP manager assigned to
        // this device (the caller takes it from the translated resource list); PASSIVE_LEVEL.
        let base =
            unsafe { sys::MmMapIoSpaceEx(address, bytes, sys::PAGE_READWRITE | sys::PAGE_NOCACHE) };
        // INVARIANT: a non-null result is a live mapping of `length` bytes.
        NonNull::new(base)
            .map(|base| Self { base, length })
            .ok_or(Error::INSUFFICIENT_RESOURCES)
    }

    /// Wraps `MmUnmapIoSpace`.
    pub fn unmap(self, _cx: &Passive<'_>) {
        // CAST: as in `map`.
        let bytes = self.length as sys::SIZE_T;
        // SAFETY: the mapping is live (invariant) and consumed here, so no access follows.
        unsafe { sys::MmUnmapIoSpace(self.base.as_ptr(), bytes) };
    }

    fn address<R: Register>(&self) -> Option<usize> {
        let width = core::mem::size_of::<R::Raw>();
        let end = R::OFFSET.checked_add(width)?;
        // `Register` is a safe trait, so a misaligned offset is refused here, not assumed away
        // (both checks fold to constants per register).
        (R::OFFSET % width == 0 && end <= self.length)
            .then(|| self.base.as_ptr() as usize + R::OFFSET)
    }

    /// Reads a register. A register outside the BAR (or misaligned) reads as all ones, as a
    /// missing device does.
    #[must_use]
    pub fn read<R: Readable>(&self) -> R
    where
        R::Raw: AllOnes,
    {
        R::from_raw(self.address::<R>().map_or(R::Raw::ALL_ONES, |address| {
            // SAFETY: `address` checked that the register lies inside this live mapping
            // (invariant) at an offset that is a multiple of its width; the base is page-aligned.
            unsafe { R::Raw::read(address) }
        }))
    }

    /// Writes a register. A register outside the BAR (or misaligned) is not written.
    pub fn write<R: Writable>(&self, value: R) {
        if let Some(address) = self.address::<R>() {
            // SAFETY: as in `read`.
            unsafe { R::Raw::write(address, value.into_raw()) };
        }
    }
}

/// The all-ones value of a raw width.
pub trait AllOnes {
    /// All bits set.
    const ALL_ONES: Self;
}
impl AllOnes for u32 {
    const ALL_ONES: Self = Self::MAX;
}
impl AllOnes for u64 {
    const ALL_ONES: Self = Self::MAX;
}

/// Declares a register type: `register!(/// doc\n Name: u32 at 0x24, read, write)`.
#[macro_export]
macro_rules! register {
    ($(#[$doc:meta])* $name:ident: $raw:ident at $offset:literal $(, $access:ident)+) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
        #[repr(transparent)]
        pub struct $name(pub $raw);
        impl $crate::mmio::Register for $name {
            const OFFSET: usize = $offset;
            type Raw = $raw;
            fn from_raw(raw: $raw) -> Self { Self(raw) }
            fn into_raw(self) -> $raw { self.0 }
        }
        $($crate::register!(@access $name $access);)+
    };
    (@access $name:ident read) => { impl $crate::mmio::Readable for $name {} };
    (@access $name:ident write) => { impl $crate::mmio::Writable for $name {} };
}

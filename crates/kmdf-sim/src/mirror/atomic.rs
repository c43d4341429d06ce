//! Atomics a driver takes from its seam, each operation a switch point.
//!
//! The subset of `core::sync::atomic` a driver uses, with the same names and signatures,
//! where every operation is a switch point of the simulated processors' schedule. On Windows the seam re-exports `core::sync::atomic` instead.

use core::fmt;
pub use core::sync::atomic::Ordering;

use crate::sim::sched::point;

macro_rules! integer_atomic {
    ($(#[$doc:meta])* $name:ident, $int:ty) => {
        $(#[$doc])*
        #[derive(Default)]
        #[repr(transparent)]
        pub struct $name(core::sync::atomic::$name);

        impl $name {
            /// A new atomic holding `value`.
            #[must_use]
            pub const fn new(value: $int) -> Self {
                Self(core::sync::atomic::$name::new(value))
            }

            /// Loads the value.
            pub fn load(&self, order: Ordering) -> $int {
                point();
                self.0.load(order)
            }

            /// Stores `value`.
            pub fn store(&self, value: $int, order: Ordering) {
                point();
                self.0.store(value, order);
            }

            /// Stores `value`, returning the previous value.
            pub fn swap(&self, value: $int, order: Ordering) -> $int {
                point();
                self.0.swap(value, order)
            }

            /// Stores `new` if the value is `current`.
            ///
            /// # Errors
            /// The value found when it was not `current`.
            pub fn compare_exchange(
                &self,
                current: $int,
                new: $int,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$int, $int> {
                point();
                self.0.compare_exchange(current, new, success, failure)
            }

            /// Adds `value`, returning the previous value (wrapping).
            pub fn fetch_add(&self, value: $int, order: Ordering) -> $int {
                point();
                self.0.fetch_add(value, order)
            }

            /// Subtracts `value`, returning the previous value (wrapping).
            pub fn fetch_sub(&self, value: $int, order: Ordering) -> $int {
                point();
                self.0.fetch_sub(value, order)
            }

            /// Bitwise or with `value`, returning the previous value.
            pub fn fetch_or(&self, value: $int, order: Ordering) -> $int {
                point();
                self.0.fetch_or(value, order)
            }

            /// Bitwise and with `value`, returning the previous value.
            pub fn fetch_and(&self, value: $int, order: Ordering) -> $int {
                point();
                self.0.fetch_and(value, order)
            }

            /// The value, consuming the atomic.
            #[must_use]
            pub const fn into_inner(self) -> $int {
                self.0.into_inner()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
    };
}

integer_atomic!(
    /// `core::sync::atomic::AtomicU32` with switch points.
    AtomicU32,
    u32
);
integer_atomic!(
    /// `core::sync::atomic::AtomicU64` with switch points.
    AtomicU64,
    u64
);
integer_atomic!(
    /// `core::sync::atomic::AtomicUsize` with switch points.
    AtomicUsize,
    usize
);

/// `core::sync::atomic::AtomicBool` with switch points.
#[derive(Default)]
#[repr(transparent)]
pub struct AtomicBool(core::sync::atomic::AtomicBool);

impl AtomicBool {
    /// A new atomic holding `value`.
    #[must_use]
    pub const fn new(value: bool) -> Self {
        Self(core::sync::atomic::AtomicBool::new(value))
    }

    /// Loads the value.
    pub fn load(&self, order: Ordering) -> bool {
        point();
        self.0.load(order)
    }

    /// Stores `value`.
    pub fn store(&self, value: bool, order: Ordering) {
        point();
        self.0.store(value, order);
    }

    /// Stores `value`, returning the previous value.
    pub fn swap(&self, value: bool, order: Ordering) -> bool {
        point();
        self.0.swap(value, order)
    }

    /// Stores `new` if the value is `current`.
    ///
    /// # Errors
    /// The value found when it was not `current`.
    pub fn compare_exchange(
        &self,
        current: bool,
        new: bool,
        success: Ordering,
        failure: Ordering,
    ) -> Result<bool, bool> {
        point();
        self.0.compare_exchange(current, new, success, failure)
    }

    /// Logical or with `value`, returning the previous value.
    pub fn fetch_or(&self, value: bool, order: Ordering) -> bool {
        point();
        self.0.fetch_or(value, order)
    }

    /// Logical and with `value`, returning the previous value.
    pub fn fetch_and(&self, value: bool, order: Ordering) -> bool {
        point();
        self.0.fetch_and(value, order)
    }

    /// The value, consuming the atomic.
    #[must_use]
    pub const fn into_inner(self) -> bool {
        self.0.into_inner()
    }
}

impl fmt::Debug for AtomicBool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

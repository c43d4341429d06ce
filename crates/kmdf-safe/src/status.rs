//! `NTSTATUS` as types: [`Status`] is any value, [`Error`] a failing one, [`Result`] their
//! combination. Raw integers never cross a wrapper API.

use core::fmt;
use core::num::NonZeroI32;

use super::sys;

/// Any `NTSTATUS`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
#[must_use]
pub struct Status(sys::NTSTATUS);

/// A failing `NTSTATUS`.
///
/// # Invariants
/// The value is negative, i.e. `NT_SUCCESS` is false.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct Error(NonZeroI32);

/// Result of a wrapper operation.
pub type Result<T = (), E = Error> = core::result::Result<T, E>;

/// Defines error constants from their `ntstatus.h` values, with names for `Debug`.
macro_rules! errors {
    ($($name:ident = $value:expr;)*) => {
        impl Error {
            $(
                #[doc = concat!("`STATUS_", stringify!($name), "`.")]
                pub const $name: Self = Self::new_const($value);
            )*
        }

        /// The symbolic name of a status, when it is one the driver uses.
        const fn name(raw: i32) -> Option<&'static str> {
            $(if raw == $value { return Some(concat!("STATUS_", stringify!($name))); })*
            None
        }
    };
}

errors! {
    UNSUCCESSFUL = sys::STATUS_UNSUCCESSFUL;
    INVALID_PARAMETER = sys::STATUS_INVALID_PARAMETER;
    INVALID_DEVICE_REQUEST = sys::STATUS_INVALID_DEVICE_REQUEST;
    BUFFER_TOO_SMALL = sys::STATUS_BUFFER_TOO_SMALL;
    INSUFFICIENT_RESOURCES = sys::STATUS_INSUFFICIENT_RESOURCES;
    DEVICE_DATA_ERROR = sys::STATUS_DEVICE_DATA_ERROR;
    DEVICE_NOT_READY = sys::STATUS_DEVICE_NOT_READY;
    IO_TIMEOUT = sys::STATUS_IO_TIMEOUT;
    NOT_SUPPORTED = sys::STATUS_NOT_SUPPORTED;
    CANCELLED = sys::STATUS_CANCELLED;
    INVALID_DEVICE_STATE = sys::STATUS_INVALID_DEVICE_STATE;
    INVALID_BUFFER_SIZE = sys::STATUS_INVALID_BUFFER_SIZE;
    DEVICE_REMOVED = sys::STATUS_DEVICE_REMOVED;
    DEVICE_HARDWARE_ERROR = sys::STATUS_DEVICE_HARDWARE_ERROR;
    DEVICE_BUSY = sys::STATUS_DEVICE_BUSY;
    MORE_PROCESSING_REQUIRED = sys::STATUS_MORE_PROCESSING_REQUIRED;
}

impl Error {
    /// Builds a constant; a non-failing value fails to compile (the constants are evaluated
    /// at compile time).
    #[expect(
        clippy::panic,
        reason = "only evaluated in constants, where it is a compile error"
    )]
    const fn new_const(raw: i32) -> Self {
        match NonZeroI32::new(raw) {
            // INVARIANT: only negative values pass.
            Some(value) if raw < 0 => Self(value),
            _ => panic!("an Error must be a failing NTSTATUS"),
        }
    }

    /// A failing status from its value; `None` for success and informational values.
    #[must_use]
    pub const fn from_raw(raw: i32) -> Option<Self> {
        match NonZeroI32::new(raw) {
            // INVARIANT: only negative values are wrapped.
            Some(value) if raw < 0 => Some(Self(value)),
            _ => None,
        }
    }

    /// The `NTSTATUS` value.
    #[must_use]
    pub const fn raw(self) -> i32 {
        self.0.get()
    }

    /// `true` for the KMDF-private statuses (facility 0x20) that KMDF would translate at
    /// completion (`kmdf-dma-semantics.md` §5.2); drivers map them first.
    #[must_use]
    pub const fn is_framework_private(self) -> bool {
        self.raw().cast_unsigned() & 0x0FFF_0000 == 0x0020_0000
    }
}

impl Status {
    /// `STATUS_SUCCESS`.
    pub const SUCCESS: Self = Self(sys::STATUS_SUCCESS);
    /// `STATUS_CANCELLED`.
    pub const CANCELLED: Self = Self(sys::STATUS_CANCELLED);

    /// Wraps a raw value.
    pub(crate) const fn from_raw(raw: sys::NTSTATUS) -> Self {
        Self(raw)
    }

    /// The raw value.
    #[must_use]
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// `NT_SUCCESS`.
    #[must_use]
    pub const fn is_success(self) -> bool {
        self.0 >= 0
    }

    /// `Ok(())` for success statuses, `Err` otherwise.
    ///
    /// # Errors
    /// The status itself when it is a failing one.
    pub const fn ok(self) -> Result {
        match NonZeroI32::new(self.0) {
            // INVARIANT: only negative values are wrapped in `Error`.
            Some(value) if self.0 < 0 => Err(Error(value)),
            _ => Ok(()),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        Self(error.raw())
    }
}

impl From<Result> for Status {
    fn from(result: Result) -> Self {
        match result {
            Ok(()) => Self::SUCCESS,
            Err(error) => error.into(),
        }
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match name(self.0) {
            Some(name) => f.write_str(name),
            None if self.0 == 0 => f.write_str("STATUS_SUCCESS"),
            None => write!(f, "NTSTATUS({:#010x})", self.0.cast_unsigned()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Status(self.raw()), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_splits_success_from_failure() {
        assert_eq!(Status::SUCCESS.ok(), Ok(()));
        assert_eq!(Status::from(Error::CANCELLED).ok(), Err(Error::CANCELLED));
        assert_eq!(
            Status::from_raw(0x0000_0103).ok(),
            Ok(()),
            "STATUS_PENDING is a success"
        );
    }

    #[test]
    fn only_failing_values_are_errors() {
        assert_eq!(Error::from_raw(0), None, "STATUS_SUCCESS");
        assert_eq!(Error::from_raw(0x0000_0103), None, "STATUS_PENDING");
        assert_eq!(
            Error::from_raw(0x8000_0005_u32.cast_signed()).map(Error::raw),
            Some(0x8000_0005_u32.cast_signed()),
            "STATUS_BUFFER_OVERFLOW, a warning, fails NT_SUCCESS"
        );
        assert_eq!(
            Error::from_raw(Error::CANCELLED.raw()),
            Some(Error::CANCELLED)
        );
    }

    #[test]
    fn nt_success_is_the_sign_bit() {
        assert!(Status::SUCCESS.is_success());
        assert!(Status::from_raw(0x0000_0103).is_success(), "STATUS_PENDING");
        assert!(
            Status::from_raw(0x4000_0000).is_success(),
            "an informational value"
        );
        assert!(!Status::CANCELLED.is_success());
        assert!(!Status::from_raw(0x8000_0005_u32.cast_signed()).is_success());
    }

    #[test]
    fn debug_names_the_status() {
        assert_eq!(format!("{:?}", Error::IO_TIMEOUT), "STATUS_IO_TIMEOUT");
        assert_eq!(
            format!("{:?}", Status::from_raw(0x0020_0000 | -0x4000_0000)),
            "NTSTATUS(0xc0200000)"
        );
    }

    #[test]
    fn framework_private_statuses_are_recognised() {
        let busy = Status::from_raw(0xC020_0204_u32.cast_signed())
            .ok()
            .unwrap_err();
        assert!(busy.is_framework_private());
        assert!(!Error::CANCELLED.is_framework_private());
    }
}

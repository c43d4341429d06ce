//! The driver's log: `DbgPrintEx` lines with component `DPFLTR_IHVDRIVER_ID`.
//!
//! Each line starts with the driver's [`Driver::LOG_PREFIX`](crate::Driver::LOG_PREFIX) and
//! `": "` (the edu driver's is `edu-dma`), recorded by `DriverEntry` before the driver runs;
//! a line logged before that has no prefix.
//!
//! `error!`, `warning!`, `info!` and `trace!` take `format!`-style arguments. The line is
//! formatted with `core::fmt` into a buffer on the stack ([`LINE_MAX`] bytes, longer lines are
//! cut), then printed as `DbgPrintEx(DPFLTR_IHVDRIVER_ID, level, "%s", line)`: no allocation,
//! no format string of the driver's reaches the kernel's printf, and the one variadic call
//! shape passes a single pointer. `DbgPrintEx` accepts ANSI `%s` at any IRQL up to DIRQL; the
//! driver logs at DISPATCH_LEVEL at most.
//!
//! Levels are `DbgPrintEx`'s: 0 error, 1 warning, 2 trace (per request), 3 info (start,
//! personality, removal, counts). Before formatting, a line is checked against the driver's
//! verbosity switch ([`Level::enabled`]), whose default lets errors, warnings and info lines
//! through and keeps the per-request trace lines off, so nothing is formatted per request or
//! per fragment unless asked. The kernel's own filter (the `IHVDRIVER` mask) then decides what
//! a debugger shows. On Windows the switch is the static `LOG_MASK` (set it from `WinDbg`:
//! `x edu_dma!*LOG_MASK*`, then `ed <address> 0xf`); in the simulator it is per machine
//! (`Machine::set_driver_log_mask`), and the line goes to the machine's debug output instead
//! of the kernel's.

use core::ffi::CStr;
use core::fmt::{self, Write as _};
use core::sync::atomic::{AtomicPtr, Ordering};

use super::sys;

/// The longest line printed, in bytes, without the terminating NUL.
pub const LINE_MAX: usize = 191;

/// A `DbgPrintEx` level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `DPFLTR_ERROR_LEVEL`: a failure the driver could not hide from its caller's device.
    Error,
    /// `DPFLTR_WARNING_LEVEL`: a recovery (timeout, removal in flight, device error).
    Warning,
    /// `DPFLTR_TRACE_LEVEL`: per-request details; off by default.
    Trace,
    /// `DPFLTR_INFO_LEVEL`: the device's life (start, personality, power, removal, counts).
    Info,
}

impl Level {
    /// The `Level` argument of `DbgPrintEx`.
    #[must_use]
    pub const fn dpfltr(self) -> u32 {
        match self {
            Self::Error => sys::DPFLTR_ERROR_LEVEL,
            Self::Warning => sys::DPFLTR_WARNING_LEVEL,
            Self::Trace => sys::DPFLTR_TRACE_LEVEL,
            Self::Info => sys::DPFLTR_INFO_LEVEL,
        }
    }

    /// Whether the driver's verbosity switch lets this level through.
    #[must_use]
    pub fn enabled(self) -> bool {
        #[cfg(all(windows, not(kmdf_sim)))]
        {
            LOG_MASK.load(core::sync::atomic::Ordering::Relaxed) & (1 << self.dpfltr()) != 0
        }
        #[cfg(any(not(windows), kmdf_sim))]
        {
            sys::ext::dbg_print_enabled(self.dpfltr())
        }
    }
}

/// The driver's verbosity switch on Windows: bit n lets level n through. A plain core atomic,
/// not the simulator's: it is configuration, not state the driver synchronizes on.
#[cfg(all(windows, not(kmdf_sim)))]
pub static LOG_MASK: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0b1011);

/// `DPFLTR_IHVDRIVER_ID` as the `ComponentId` argument.
const COMPONENT: u32 = sys::_DPFLTR_TYPE::DPFLTR_IHVDRIVER_ID.cast_unsigned();

/// A line being formatted: up to `LINE_MAX` bytes, then at least one NUL (the buffer starts
/// zeroed and its last byte is never written).
struct Line {
    bytes: [u8; LINE_MAX + 1],
    len: usize,
}

impl fmt::Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for &byte in text.as_bytes() {
            // The last byte is never written: it stays the terminating NUL.
            let Some(slot) = self.bytes.get_mut(self.len).filter(|_| self.len < LINE_MAX) else {
                break;
            };
            // An interior NUL would end the C string early.
            *slot = if byte == 0 { b'?' } else { byte };
            self.len += 1;
        }
        Ok(())
    }
}

/// The driver's prefix.
///
/// Null until [`set_prefix`], then a pointer made from a `&'static &'static str`. A plain core atomic, like `LOG_MASK`: configuration, written once
/// at `DriverEntry` before any other callback.
static PREFIX: AtomicPtr<&'static str> = AtomicPtr::new(core::ptr::null_mut());

/// Records the driver's prefix (from `DriverEntry`).
pub(crate) fn set_prefix(prefix: &'static &'static str) {
    PREFIX.store(core::ptr::from_ref(prefix).cast_mut(), Ordering::Release);
}

/// The driver's prefix, empty before `DriverEntry` recorded it.
fn prefix() -> &'static str {
    let prefix = PREFIX.load(Ordering::Acquire);
    // SAFETY: `prefix` is null or came from a `&'static &'static str` in `set_prefix`; it is
    // only ever read through.
    unsafe { prefix.as_ref() }.copied().unwrap_or("")
}

/// Formats and prints one line at `level` (the macros check [`Level::enabled`] first).
pub fn print(level: Level, arguments: fmt::Arguments<'_>) {
    let line = format(prefix(), arguments);
    let Ok(text) = CStr::from_bytes_until_nul(&line.bytes) else {
        return;
    };
    emit(level, text);
}

/// The prefixed, terminated line (on Windows with the newline `DbgPrintEx` does not add).
fn format(prefix: &str, arguments: fmt::Arguments<'_>) -> Line {
    let mut line = Line {
        bytes: [0; LINE_MAX + 1],
        len: 0,
    };
    if !prefix.is_empty() {
        let _ = line.write_str(prefix);
        let _ = line.write_str(": ");
    }
    let _ = line.write_fmt(arguments);
    #[cfg(all(windows, not(kmdf_sim)))]
    let _ = line.write_str("\n");
    line
}

#[cfg(all(windows, not(kmdf_sim)))]
fn emit(level: Level, text: &CStr) {
    // SAFETY: `DbgPrintEx` with the format "%s" reads exactly one argument, a NUL-terminated
    // ANSI string; `text` is one, live for the call. ANSI conversions are allowed at any IRQL
    // up to DIRQL, and the driver logs at DISPATCH_LEVEL at most.
    let _ = unsafe { sys::DbgPrintEx(COMPONENT, level.dpfltr(), c"%s".as_ptr(), text.as_ptr()) };
}

#[cfg(any(not(windows), kmdf_sim))]
fn emit(level: Level, text: &CStr) {
    let _ = sys::ext::dbg_print_ex(COMPONENT, level.dpfltr(), text);
}

/// Logs at `DPFLTR_ERROR_LEVEL`: `error!("what {}", value)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __kmdf_log_error {
    ($($argument:tt)*) => {
        $crate::__kmdf_log_at!(Error, $($argument)*)
    };
}

/// Logs at `DPFLTR_WARNING_LEVEL`.
#[doc(hidden)]
#[macro_export]
macro_rules! __kmdf_log_warning {
    ($($argument:tt)*) => {
        $crate::__kmdf_log_at!(Warning, $($argument)*)
    };
}

/// Logs at `DPFLTR_INFO_LEVEL` (the device's life; on by default in the driver's switch).
#[doc(hidden)]
#[macro_export]
macro_rules! __kmdf_log_info {
    ($($argument:tt)*) => {
        $crate::__kmdf_log_at!(Info, $($argument)*)
    };
}

/// Logs at `DPFLTR_TRACE_LEVEL` (per request; off by default, and then not even formatted).
#[doc(hidden)]
#[macro_export]
macro_rules! __kmdf_log_trace {
    ($($argument:tt)*) => {
        $crate::__kmdf_log_at!(Trace, $($argument)*)
    };
}

/// Checks the switch, then formats and prints.
#[doc(hidden)]
#[macro_export]
macro_rules! __kmdf_log_at {
    ($level:ident, $($argument:tt)*) => {
        if $crate::log::Level::$level.enabled() {
            $crate::log::print($crate::log::Level::$level, format_args!($($argument)*));
        }
    };
}

pub use crate::__kmdf_log_error as error;
pub use crate::__kmdf_log_info as info;
pub use crate::__kmdf_log_trace as trace;
pub use crate::__kmdf_log_warning as warning;

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> &str {
        CStr::from_bytes_until_nul(&line.bytes)
            .expect("terminated")
            .to_str()
            .expect("ASCII")
    }

    #[test]
    fn lines_are_prefixed_cut_and_terminated() {
        let short = format("edu-dma", format_args!("transfer {} of {:#x}", 3, 0x1000));
        assert_eq!(text(&short), "edu-dma: transfer 3 of 0x1000");
        let bare = format("", format_args!("early"));
        assert_eq!(text(&bare), "early");
        let long = format("edu-dma", format_args!("{}", "x".repeat(500)));
        assert_eq!(long.len, LINE_MAX);
        assert_eq!(text(&long).len(), LINE_MAX);
        assert_eq!(long.bytes.last(), Some(&0));
        let nul = format("edu-dma", format_args!("a\0b"));
        assert_eq!(text(&nul), "edu-dma: a?b");
    }
}

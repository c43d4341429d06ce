//! Differential test of the kmdf-sim edu model against QEMU's own edu device.
//!
//! Starts `qemu-system-x86_64` (a build with the qtest accelerator; `run.sh` builds and caches
//! one) once per case, drives its edu device and the model through the same command stream and
//! compares every answer. Usage:
//!
//! ```text
//! edu-qtest --qemu <qemu-system-x86_64> [--mode abort-off-by-one|abort-fixed-bound|log-and-skip]
//!           [--only <substring>] [--markdown]
//! ```
//!
//! Exit status 0 when every transcript matches, 1 on a mismatch, 2 on a usage or QEMU error.

#![allow(
    clippy::missing_errors_doc,
    reason = "a test tool: every error ends the run with its message"
)]

#[cfg(unix)]
mod cases;
#[cfg(unix)]
mod model;
#[cfg(unix)]
mod qemu;
#[cfg(unix)]
mod run;
#[cfg(unix)]
mod target;

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    run::main()
}

/// QEMU's qtest protocol runs over a Unix socket, and the tool builds QEMU from Debian's
/// sources: it exists only on Unix hosts.
#[cfg(not(unix))]
fn main() -> std::process::ExitCode {
    eprintln!("edu-qtest needs a Unix host: QEMU's qtest protocol runs over a Unix socket");
    std::process::ExitCode::from(2)
}

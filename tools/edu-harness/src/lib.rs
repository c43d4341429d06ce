//! User-mode test harness for the edu DMA driver.
//!
//! The scenarios in [`scenario`] drive a [`target::Target`]: on Windows the real driver through
//! overlapped Win32 I/O (`windows`), elsewhere the simulated machine running the driver's own
//! code (`sim`). Both report completions as the driver made them (`NTSTATUS`, `Information`,
//! data), and the scenarios check them against the I/O contract in `edu_api`.

pub mod app;
pub mod cli;
pub mod client;
pub mod memory;
pub mod prng;
pub mod report;
pub mod ring;
pub mod scenario;
#[cfg(any(not(windows), kmdf_sim))]
pub mod sim;
#[cfg(all(test, any(not(windows), kmdf_sim)))]
mod simulated_run;
pub mod status;
pub mod target;
#[cfg(windows)]
pub mod windows;

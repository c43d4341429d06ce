//! The harness process's own memory: how much is resident now and at most so far.
//!
//! A soak (`--seconds`) reports it so a leak shows at a glance: with `--sim` the simulated
//! machine lives in this process, so a simulator leak shows here; with `--device` it is the
//! harness alone (the driver's kernel memory is not part of it; Driver Verifier's pool
//! tracking covers that).
//!
//! Linux reads `VmRSS` and `VmHWM` from `/proc/self/status`; Windows asks
//! `GetProcessMemoryInfo` for the working set and its peak. Elsewhere nothing is measured.

use core::fmt;

/// Resident memory of this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessMemory {
    /// Bytes resident now (Linux `VmRSS`, Windows working set).
    pub resident_bytes: u64,
    /// Most bytes resident at once since the process started (Linux `VmHWM`, Windows peak
    /// working set), when the system reports it.
    pub peak_resident_bytes: Option<u64>,
}

/// Bytes as MiB with one decimal, for display.
fn mib(bytes: u64) -> f64 {
    // Precision loss only above 2^53 bytes.
    #[expect(clippy::cast_precision_loss, reason = "a size for display")]
    let bytes = bytes as f64;
    bytes / (1024.0 * 1024.0)
}

impl fmt::Display for ProcessMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resident {:.1} MiB", mib(self.resident_bytes))?;
        if let Some(peak) = self.peak_resident_bytes {
            write!(f, ", peak {:.1} MiB", mib(peak))?;
        }
        Ok(())
    }
}

/// The value in bytes of a `Name:   1234 kB` line of `/proc/<pid>/status`.
fn status_field(status: &str, name: &str) -> Option<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?;
    let mut parts = line.split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => value.checked_mul(1024),
        _ => None,
    }
}

/// Reads the resident and peak resident sizes from the text of `/proc/<pid>/status`.
#[must_use]
pub fn parse_proc_status(status: &str) -> Option<ProcessMemory> {
    Some(ProcessMemory {
        resident_bytes: status_field(status, "VmRSS")?,
        peak_resident_bytes: status_field(status, "VmHWM"),
    })
}

/// This process's memory now, if the system tells.
#[cfg(target_os = "linux")]
#[must_use]
pub fn sample() -> Option<ProcessMemory> {
    parse_proc_status(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// This process's memory now: the working set and its peak (`GetProcessMemoryInfo`).
#[cfg(windows)]
#[must_use]
#[expect(
    unsafe_code,
    reason = "two Win32 calls through windows-sys; each block states its contract"
)]
pub fn sample() -> Option<ProcessMemory> {
    use windows_sys::Win32::System::ProcessStatus::{
        GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };
    use windows_sys::Win32::System::Threading::GetCurrentProcess;

    let size = u32::try_from(size_of::<PROCESS_MEMORY_COUNTERS>()).ok()?;
    let mut counters = PROCESS_MEMORY_COUNTERS {
        cb: size,
        ..PROCESS_MEMORY_COUNTERS::default()
    };
    // SAFETY: no arguments; returns the current-process pseudo-handle, which needs no closing.
    let process = unsafe { GetCurrentProcess() };
    // SAFETY: `counters` is a writable PROCESS_MEMORY_COUNTERS of exactly `size` bytes, and
    // `process` is a valid handle with the query rights (it is this process).
    let ok = unsafe { GetProcessMemoryInfo(process, &raw mut counters, size) };
    (ok != 0).then(|| ProcessMemory {
        resident_bytes: u64::try_from(counters.WorkingSetSize).unwrap_or(u64::MAX),
        peak_resident_bytes: u64::try_from(counters.PeakWorkingSetSize).ok(),
    })
}

/// Nothing is measured on this system.
#[cfg(not(any(target_os = "linux", windows)))]
#[must_use]
pub const fn sample() -> Option<ProcessMemory> {
    None
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tedu-harness\nVmPeak:\t  900000 kB\nVmHWM:\t  524288 kB\n\
                          VmRSS:\t  262144 kB\nThreads:\t1\n";

    #[test]
    fn proc_status_gives_resident_and_peak_in_bytes() {
        assert_eq!(
            parse_proc_status(STATUS),
            Some(ProcessMemory {
                resident_bytes: 256 << 20,
                peak_resident_bytes: Some(512 << 20),
            })
        );
        let no_peak = parse_proc_status("VmRSS:\t 4 kB\n").unwrap();
        assert_eq!(
            (no_peak.resident_bytes, no_peak.peak_resident_bytes),
            (4096, None)
        );
        assert_eq!(parse_proc_status("VmHWM:\t 4 kB\n"), None, "no VmRSS");
        assert_eq!(parse_proc_status("VmRSS:\t 4 MB\n"), None, "unknown unit");
        assert_eq!(parse_proc_status("VmRSSx:\t 4 kB\n"), None, "another field");
    }

    #[test]
    fn display_labels_both_figures_in_mib() {
        let memory = parse_proc_status(STATUS).unwrap();
        assert_eq!(memory.to_string(), "resident 256.0 MiB, peak 512.0 MiB");
        let alone = ProcessMemory {
            resident_bytes: 3 << 19,
            peak_resident_bytes: None,
        };
        assert_eq!(alone.to_string(), "resident 1.5 MiB");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_resident_memory_below_its_peak() {
        let memory = sample().expect("/proc/self/status is readable");
        assert!(memory.resident_bytes > 0);
        assert!(memory.peak_resident_bytes.unwrap() >= memory.resident_bytes);
    }
}

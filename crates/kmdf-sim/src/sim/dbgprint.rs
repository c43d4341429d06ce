//! The kernel debug output (`DbgPrintEx`) as the simulator keeps it: the lines the driver
//! printed, with their component and level, for tests to read and `EDU_DEBUG` to show.

use std::collections::VecDeque;

/// Lines kept; older ones are dropped (and counted), as a debugger's buffer would.
pub(crate) const KEEP: usize = 512;

/// The mask the driver's own verbosity switch starts with: errors, warnings and info
/// (lifecycle) lines; trace (per-request) lines off. Bit n enables level n.
pub(crate) const DEFAULT_DRIVER_MASK: u32 = 0b1011;

/// One `DbgPrintEx` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugLine {
    /// Virtual time, ns.
    pub time_ns: u64,
    /// `ComponentId` (`DPFLTR_IHVDRIVER_ID` for this driver).
    pub component: u32,
    /// `Level` (0 error, 1 warning, 2 trace, 3 info).
    pub level: u32,
    /// The text, without a trailing newline.
    pub text: String,
}

/// The machine's debug output.
#[derive(Debug)]
pub(crate) struct DebugOutput {
    pub(crate) lines: VecDeque<DebugLine>,
    pub(crate) dropped: u64,
    /// Which levels the driver is asked to print (its verbosity switch).
    pub(crate) driver_mask: u32,
    /// Print each line to stderr as it comes (`EDU_DEBUG`).
    pub(crate) echo: bool,
}

impl DebugOutput {
    pub(crate) fn new() -> Self {
        let echo = std::env::var_os("EDU_DEBUG").is_some();
        Self {
            lines: VecDeque::new(),
            dropped: 0,
            driver_mask: if echo { 0xF } else { DEFAULT_DRIVER_MASK },
            echo,
        }
    }

    /// Whether a line at `level` passes the driver's mask (`DbgPrintEx`'s rule: a level
    /// below 32 is a bit number, a larger one a mask).
    pub(crate) const fn enabled(&self, level: u32) -> bool {
        let bits = if level < 32 { 1 << level } else { level };
        self.driver_mask & bits != 0
    }

    pub(crate) fn push(&mut self, line: DebugLine) {
        if self.echo {
            eprintln!(
                "{:>6}.{:06} ms  [dbgprint {}] {}",
                line.time_ns / 1_000_000,
                line.time_ns % 1_000_000,
                line.level,
                line.text
            );
        }
        if self.lines.len() == KEEP {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }
}

//! The verifier: what the simulator reports when the driver breaks a KMDF rule.
//!
//! Every rule is named as in section 8 of `kmdf-dma-semantics.md` (E*, C*, T*, S*, R*, I*),
//! or with a short name for rules outside that table (`BADHANDLE`, `NULLARG`, `LEAK`, `LOCK`,
//! `STORM`, ...). A [`Severity::Fatal`] finding stands for a bugcheck on Windows
//! (`WDF_VIOLATION` or a kernel IRQL crash): the machine halts, as the real one would. An
//! [`Severity::Error`] stands for a KMDF verifier break (VBREAK): the DDI returns the status
//! KMDF returns, and the run goes on so the driver's error path runs as on Windows.

use std::fmt;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// A documented contract was broken in a way Windows does not detect at once (would
    /// corrupt state or hang later).
    Warning,
    /// KMDF verifier break: the call fails or is ignored and the machine goes on.
    Error,
    /// Bugcheck on Windows: the simulated machine halts.
    Fatal,
}

/// One rule broken once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule's name, e.g. `T9` or `R1`.
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What happened: the call, the object and the state.
    pub message: String,
    /// The callback or test step that was running.
    pub context: &'static str,
    /// The processor it ran on, when the machine has several.
    pub processor: Option<usize>,
    /// Virtual time of the finding, in nanoseconds.
    pub time_ns: u64,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpu = self
            .processor
            .map(|c| format!("cpu{c} "))
            .unwrap_or_default();
        write!(
            f,
            "[{:?} {}] {} (in {cpu}{}, t={} ns)",
            self.severity, self.rule, self.message, self.context, self.time_ns
        )
    }
}

/// The findings of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Every finding, in order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when nothing was found.
    #[must_use]
    pub const fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Findings of one rule.
    #[must_use]
    pub fn of(&self, rule: &str) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.rule == rule).collect()
    }

    /// True when at least one finding of `rule` exists.
    #[must_use]
    pub fn has(&self, rule: &str) -> bool {
        self.findings.iter().any(|f| f.rule == rule)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.findings.is_empty() {
            return f.write_str("verifier: clean");
        }
        writeln!(f, "verifier: {} finding(s)", self.findings.len())?;
        for finding in &self.findings {
            writeln!(f, "  {finding}")?;
        }
        Ok(())
    }
}

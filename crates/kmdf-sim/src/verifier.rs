//! The verifier: what the simulator reports when the driver breaks a KMDF rule.
//!
//! Every rule is named as in section 8 of `kmdf-dma-semantics.md` (E*, C*, T*, S*, R*, I*),
//! or with a short name for rules outside that table (`BADHANDLE`, `NULLARG`, `LEAK`, `LOCK`,
//! `STORM`, ...). A [`Severity::Fatal`] finding stands for a bugcheck on Windows
//! (`WDF_VIOLATION` or a kernel IRQL crash): the machine halts, as the real one would. An
//! [`Severity::Error`] stands for a KMDF verifier break (VBREAK): the DDI returns the status
//! KMDF returns, and the run goes on so the driver's error path runs as on Windows.

use std::collections::BTreeMap;
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

impl Finding {
    /// Where the rule is explained; see [`rule_doc_link`].
    #[must_use]
    pub fn doc_link(&self) -> String {
        rule_doc_link(self.rule)
    }
}

/// The section of `docs/verifier-rules.md` that explains `rule`, as a path and anchor relative
/// to the repository root (`T17/IRQL` → `docs/verifier-rules.md#t17irql`).
#[must_use]
pub fn rule_doc_link(rule: &str) -> String {
    let anchor: String = rule
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("docs/verifier-rules.md#{anchor}")
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpu = self
            .processor
            .map(|c| format!("cpu{c} "))
            .unwrap_or_default();
        write!(
            f,
            "[{:?} {}] {} (in {cpu}{}, t={} ns; see {})",
            self.severity,
            self.rule,
            self.message,
            self.context,
            self.time_ns,
            self.doc_link()
        )
    }
}

/// The findings of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Every finding, in order.
    pub findings: Vec<Finding>,
    /// Violations of Microsoft KMDF DDI compliance rules ([`MICROSOFT_RUN_TIME_RULES`]) that
    /// Windows does not detect at run time: Static Driver Verifier would report them, the
    /// running system goes on. Not part of [`Report::is_clean`]; see [`Report::is_compliant`].
    pub compliance: Vec<Finding>,
}

impl Report {
    /// True when nothing was found.
    #[must_use]
    pub const fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// True when nothing was found and no compliance rule was broken either.
    #[must_use]
    pub const fn is_compliant(&self) -> bool {
        self.findings.is_empty() && self.compliance.is_empty()
    }

    /// Findings of one rule (compliance violations included).
    #[must_use]
    pub fn of(&self, rule: &str) -> Vec<&Finding> {
        self.findings
            .iter()
            .chain(&self.compliance)
            .filter(|f| f.rule == rule)
            .collect()
    }

    /// True when at least one finding of `rule` exists (compliance violations included).
    #[must_use]
    pub fn has(&self, rule: &str) -> bool {
        self.findings
            .iter()
            .chain(&self.compliance)
            .any(|f| f.rule == rule)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.findings.is_empty() {
            f.write_str("verifier: clean")?;
            if !self.compliance.is_empty() {
                writeln!(f)?;
            }
        } else {
            writeln!(f, "verifier: {} finding(s)", self.findings.len())?;
            for finding in &self.findings {
                writeln!(f, "  {finding}")?;
            }
        }
        if !self.compliance.is_empty() {
            writeln!(
                f,
                "compliance (Microsoft KMDF DDI rules Windows does not detect at run time): {} violation(s)",
                self.compliance.len()
            )?;
            for finding in &self.compliance {
                writeln!(f, "  {finding}")?;
            }
        }
        Ok(())
    }
}

/// Microsoft KMDF DDI compliance rules checked at run time under their own names.
///
/// These are Static Driver Verifier's names of rules that apply to this driver; each one's
/// check site counts its evaluations ([`RuleCoverage`]).
pub const MICROSOFT_RUN_TIME_RULES: &[&str] = &[
    "DrvAckIoStop",
    "EvtIoStopCompleteOrStopAck",
    "EvtIoStopCancel",
    "EvtIoStopResume",
    "StopAckWithinEvtIoStop",
    "EvtSurpriseRemoveNoRequestComplete",
    "NoCancelFromEvtSurpriseRemove",
    "InputBufferAPI",
    "OutputBufferAPI",
];

/// Microsoft KMDF DDI compliance rules checked at run time by a simulator rule of another
/// name: (Microsoft rule, simulator rule). Their check sites count them too.
pub const MICROSOFT_RULES_BY_SIMULATOR_RULE: &[(&str, &str)] = &[
    ("CompleteCanceledReq", "R5"),
    ("DeferredRequestCompleted", "R1"),
    ("DoubleCompletion", "R3"),
    ("InvalidReqAccess", "R3"),
    ("MarkCancOnCancReqLocal", "R6"),
    ("ReqNotCanceledLocal", "R4"),
    ("RequestCompleted", "R1"),
    ("WdfInterruptLock", "I1"),
    ("WdfInterruptLockRelease", "I1"),
    ("WdfSpinlock", "LOCK"),
    ("WdfSpinLockRelease", "LOCK"),
];

/// Every Microsoft rule whose check site counts its evaluations: [`MICROSOFT_RUN_TIME_RULES`]
/// and the Microsoft names of [`MICROSOFT_RULES_BY_SIMULATOR_RULE`].
#[must_use]
pub fn microsoft_rules_counted() -> Vec<&'static str> {
    MICROSOFT_RUN_TIME_RULES
        .iter()
        .copied()
        .chain(
            MICROSOFT_RULES_BY_SIMULATOR_RULE
                .iter()
                .map(|(rule, _)| *rule),
        )
        .collect()
}

/// Which rules a run exercised: how many times each rule's trigger point was reached (its
/// check evaluated), whether or not the rule was broken there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleCoverage {
    /// Evaluations per rule; a rule never reached has no entry.
    pub counts: BTreeMap<&'static str, u64>,
}

impl RuleCoverage {
    /// How many times `rule`'s check ran.
    #[must_use]
    pub fn count(&self, rule: &str) -> u64 {
        self.counts.get(rule).copied().unwrap_or(0)
    }

    /// Adds another run's counts (a sweep of many machines).
    pub fn merge(&mut self, other: &Self) {
        for (rule, n) in &other.counts {
            *self.counts.entry(rule).or_insert(0) += n;
        }
    }

    /// The rules of `rules` whose check never ran.
    #[must_use]
    pub fn never<'a>(&self, rules: &[&'a str]) -> Vec<&'a str> {
        rules
            .iter()
            .copied()
            .filter(|rule| self.count(rule) == 0)
            .collect()
    }
}

impl fmt::Display for RuleCoverage {
    /// One line per Microsoft rule counted ([`microsoft_rules_counted`]; never-exercised ones
    /// marked), then any other rule counted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rule coverage (check evaluations):")?;
        for rule in MICROSOFT_RUN_TIME_RULES {
            let n = self.count(rule);
            let mark = if n == 0 { "  NEVER EXERCISED" } else { "" };
            writeln!(f, "  {rule:<36} {n:>10}{mark}")?;
        }
        for (rule, by) in MICROSOFT_RULES_BY_SIMULATOR_RULE {
            let n = self.count(rule);
            let mark = if n == 0 { "  NEVER EXERCISED" } else { "" };
            writeln!(f, "  {:<36} {n:>10}{mark}", format!("{rule} ({by})"))?;
        }
        let counted = microsoft_rules_counted();
        for (rule, n) in &self.counts {
            if !counted.contains(rule) {
                writeln!(f, "  {rule:<36} {n:>10}")?;
            }
        }
        let never = self.never(&counted);
        write!(
            f,
            "  never exercised: {}",
            if never.is_empty() {
                "none".to_owned()
            } else {
                never.join(", ")
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_names_its_rule_and_points_to_its_section() {
        let finding = Finding {
            rule: "T17/IRQL",
            severity: Severity::Fatal,
            message: "WdfDmaTransactionExecute called at Dirql".into(),
            context: "EvtInterruptIsr",
            time_ns: 42,
            processor: None,
        };
        assert_eq!(
            finding.to_string(),
            "[Fatal T17/IRQL] WdfDmaTransactionExecute called at Dirql (in EvtInterruptIsr, \
             t=42 ns; see docs/verifier-rules.md#t17irql)"
        );
    }

    /// The rule-name literal (`"T9"`, `"T17/IRQL"`, `"LEAK"`) that starts `text` after
    /// blanks, if any.
    fn literal_at(text: &str) -> Option<&str> {
        let rest = text.trim_start().strip_prefix('"')?;
        let literal = rest.split('"').next()?;
        let is_rule = literal.starts_with(|c: char| c.is_ascii_uppercase())
            && literal
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-');
        is_rule.then_some(literal)
    }

    /// Every rule name the simulator's sources pass to `finding(...)`, `tx_fatal(...)` (first
    /// argument) or `verifier_irql(...)` (last argument).
    fn rules_in(dir: &std::path::Path, rules: &mut std::collections::BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("read source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                rules_in(&path, rules);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source file");
            for call in ["finding(", "tx_fatal("] {
                for (at, _) in text.match_indices(call) {
                    if let Some(rule) = literal_at(&text[at + call.len()..]) {
                        rules.insert(rule.to_owned());
                    }
                }
            }
            for (at, _) in text.match_indices("verifier_irql(") {
                let args = text[at..].split(')').next().unwrap_or("");
                if let Some(rule) = args.rsplit(',').next().and_then(literal_at) {
                    rules.insert(rule.to_owned());
                }
            }
        }
    }

    #[test]
    fn every_rule_the_simulator_raises_has_a_section_in_the_rules_document() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut rules = std::collections::BTreeSet::new();
        rules_in(&root.join("src"), &mut rules);
        // Guards against a scanner that silently finds nothing.
        assert!(rules.len() > 40, "found only {rules:?}");
        let doc = std::fs::read_to_string(root.join("../../docs/verifier-rules.md"))
            .expect("docs/verifier-rules.md");
        let anchors: std::collections::BTreeSet<String> = doc
            .lines()
            .filter_map(|line| line.strip_prefix("### "))
            .map(|heading| {
                heading
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .map(|c| c.to_ascii_lowercase())
                    .collect()
            })
            .collect();
        let missing: Vec<&String> = rules
            .iter()
            .filter(|rule| {
                let link = rule_doc_link(rule);
                let anchor = link.rsplit('#').next().unwrap_or_default();
                !anchors.contains(anchor)
            })
            .collect();
        assert!(missing.is_empty(), "rules without a section: {missing:?}");
    }
}

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
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '/' || c == '-');
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

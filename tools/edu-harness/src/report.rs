//! Output: one line per scenario, the summary line CI reads, and the `--json` object.

use core::fmt::Write as _;

use crate::cli::{Args, Backend, DEFAULT_TIMEOUT_SECONDS};
use crate::memory::ProcessMemory;
use crate::scenario::{Outcome, Scenario};

/// The closing line, exactly `N passed, M failed` (CI parses this form).
#[must_use]
pub fn summary_line(passed: usize, failed: usize) -> String {
    format!("{passed} passed, {failed} failed")
}

/// Counts passed and failed outcomes.
#[must_use]
pub fn tally(outcomes: &[Outcome]) -> (usize, usize) {
    let passed = outcomes.iter().filter(|o| o.passed).count();
    (passed, outcomes.len() - passed)
}

/// `PASS name  bytes  fragments  throughput  wall time`, then the failure message on the next
/// line.
///
/// Bytes are bytes moved through the device, fragments its DMA commands. When the backend
/// has its own clock (the simulator's virtual time), the throughput is per second of that
/// clock and says so, and the virtual time follows the wall time.
#[must_use]
pub fn scenario_line(outcome: &Outcome) -> String {
    let verdict = if outcome.passed { "PASS" } else { "FAIL" };
    let clock = if outcome.virtual_elapsed.is_some() {
        " virtual"
    } else {
        ""
    };
    let mut line = format!(
        "{verdict} {:<11} {:>10} B  {:>6} frag  {:>12}{clock}  {:>8.2} s wall",
        outcome.name,
        outcome.bytes,
        outcome.fragments,
        human_rate(outcome.throughput()),
        outcome.elapsed.as_secs_f64(),
    );
    if let Some(virtual_time) = outcome.virtual_elapsed {
        // Writing to a String cannot fail.
        let _ = write!(line, ", {:.1} s virtual", virtual_time.as_secs_f64());
    }
    if let Some(message) = &outcome.message {
        // Writing to a String cannot fail.
        let _ = write!(line, "\n     {message}");
    }
    line
}

/// The command line that repeats a run.
///
/// It names the backend, seed, the scenarios when not all, the stress bound, `--timeout` when
/// not the default and `--device-path`. A `--seconds` run ends on the
/// wall clock, so its replay names the iterations the stress scenario started instead (the
/// failing one included): with the same seed those are the same requests.
#[must_use]
pub fn replay_command(args: &Args, stress_iterations: u64) -> String {
    let backend = match args.backend {
        Backend::Sim => "--sim",
        Backend::Device => "--device",
    };
    let mut command = format!("edu-harness {backend} --seed {:#x}", args.seed);
    // Writing to a String cannot fail.
    if args.scenarios != Scenario::ALL {
        for scenario in &args.scenarios {
            let _ = write!(command, " --scenario {}", scenario.name());
        }
    }
    match (args.iterations, args.seconds) {
        (Some(iterations), _) => {
            let _ = write!(command, " --iterations {iterations}");
        }
        (None, Some(_)) if stress_iterations > 0 => {
            let _ = write!(command, " --iterations {stress_iterations}");
        }
        _ => {}
    }
    if args.timeout != DEFAULT_TIMEOUT_SECONDS {
        let _ = write!(command, " --timeout {}", args.timeout);
    }
    if let Some(path) = &args.device_path {
        let _ = write!(command, " --device-path \"{path}\"");
    }
    command
}

/// A rate in B/s, KiB/s or MiB/s.
#[must_use]
pub fn human_rate(bytes_per_second: f64) -> String {
    const KIB: f64 = 1024.0;
    if bytes_per_second >= KIB * KIB {
        format!("{:.1} MiB/s", bytes_per_second / (KIB * KIB))
    } else if bytes_per_second >= KIB {
        format!("{:.1} KiB/s", bytes_per_second / KIB)
    } else {
        format!("{bytes_per_second:.0} B/s")
    }
}

/// Escapes a string for a JSON string literal (RFC 8259 §7).
#[must_use]
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The harness's resident memory after the scenarios ran, and what it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryReport<'a> {
    /// The figures ([`crate::memory::sample`]), taken after the last scenario and before the
    /// end-of-run checks (with `--sim`: while the simulated machine still holds everything the
    /// run left in it).
    pub memory: ProcessMemory,
    /// What the figures cover ([`crate::target::Target::memory_scope`]).
    pub scope: &'a str,
}

/// The text report's memory line (printed for `--seconds` runs), e.g.
/// `memory: resident 41.2 MiB, peak 43.0 MiB at the end of the run (the harness process,
/// simulated machine included)`.
#[must_use]
pub fn memory_line(memory: &MemoryReport<'_>) -> String {
    format!(
        "memory: {} at the end of the run ({})",
        memory.memory, memory.scope
    )
}

/// Everything the `--json` object carries.
///
/// Fields: `target` (`device` or `simulator`), `seed` (decimal), `passed` and `failed` (counts
/// of scenarios; a finish finding counts as a failure), `summary` (the text summary line),
/// `replay` (the command that repeats the run, see [`replay_command`], or `null` when nothing
/// failed), `finish` (the end-of-run finding or `null`), `verdict` (the simulator's verifier
/// summary, or `null`), `process_memory`, and `scenarios`, each with `name`, `passed`,
/// `bytes` (bytes moved through the device; a loopback counts both directions), `fragments`
/// (DMA commands, from the driver's statistics), `elapsed_ms` (wall-clock milliseconds),
/// `virtual_ms` (milliseconds of the simulator's virtual time, `null` on the device),
/// `throughput_bps` (bytes, not bits, per second of the scenario's clock), `clock` (`virtual`
/// or `wall`: which time `throughput_bps` divides by) and `message` (why it failed, or `null`).
/// `process_memory` is `null` where the system does not report memory, else
/// `{"resident_end_bytes": N, "resident_peak_bytes": N or null, "scope": "..."}`: this
/// process's resident bytes after the last scenario (Linux `VmRSS`, Windows working set), the
/// most it had resident at once (Linux `VmHWM`, Windows peak working set), and what that covers
/// (with `--sim` the simulated machine is part of the process; with `--device` the driver's
/// kernel memory is not).
#[derive(Debug)]
pub struct RunReport<'a> {
    /// Backend name.
    pub target: &'a str,
    /// The run's seed.
    pub seed: u64,
    /// The replay command, when something failed.
    pub replay: Option<&'a str>,
    /// Scenario outcomes.
    pub outcomes: &'a [Outcome],
    /// The backend's end-of-run finding, if any.
    pub finish_error: Option<&'a str>,
    /// The backend's closing remark ([`crate::target::Target::verdict`]), if any.
    pub verdict: Option<&'a str>,
    /// The harness's memory after the scenarios, where the system reports it.
    pub memory: Option<MemoryReport<'a>>,
}

impl RunReport<'_> {
    /// Failures, counting an end-of-run finding as one.
    #[must_use]
    pub fn failed(&self) -> usize {
        tally(self.outcomes).1 + usize::from(self.finish_error.is_some())
    }

    /// Passed scenarios.
    #[must_use]
    pub fn passed(&self) -> usize {
        tally(self.outcomes).0
    }

    /// The JSON object (one line).
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        let _ = write!(
            out,
            concat!(
                "\"target\":{},\"seed\":{},\"passed\":{},\"failed\":{},",
                "\"summary\":{},\"replay\":{},\"finish\":{},\"verdict\":{},\"process_memory\":{},",
                "\"scenarios\":["
            ),
            json_string(self.target),
            self.seed,
            self.passed(),
            self.failed(),
            json_string(&summary_line(self.passed(), self.failed())),
            self.replay.map_or_else(|| "null".to_owned(), json_string),
            self.finish_error
                .map_or_else(|| "null".to_owned(), json_string),
            self.verdict.map_or_else(|| "null".to_owned(), json_string),
            self.memory
                .map_or_else(|| "null".to_owned(), |m| memory_json(&m)),
        );
        for (i, o) in self.outcomes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                concat!(
                    "{{\"name\":{},\"passed\":{},\"bytes\":{},\"fragments\":{},",
                    "\"elapsed_ms\":{},\"throughput_bps\":{:.0},\"virtual_ms\":{},",
                    "\"clock\":{},\"message\":{}}}"
                ),
                json_string(o.name),
                o.passed,
                o.bytes,
                o.fragments,
                o.elapsed.as_millis(),
                o.throughput(),
                o.virtual_elapsed
                    .map_or_else(|| "null".to_owned(), |d| d.as_millis().to_string()),
                if o.virtual_elapsed.is_some() {
                    "\"virtual\""
                } else {
                    "\"wall\""
                },
                o.message
                    .as_deref()
                    .map_or_else(|| "null".to_owned(), json_string),
            );
        }
        out.push_str("]}");
        out
    }
}

/// The `process_memory` object of the `--json` report.
fn memory_json(memory: &MemoryReport<'_>) -> String {
    format!(
        "{{\"resident_end_bytes\":{},\"resident_peak_bytes\":{},\"scope\":{}}}",
        memory.memory.resident_bytes,
        memory
            .memory
            .peak_resident_bytes
            .map_or_else(|| "null".to_owned(), |peak| peak.to_string()),
        json_string(memory.scope)
    )
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn outcome(name: &'static str, passed: bool, message: Option<&str>) -> Outcome {
        Outcome {
            name,
            passed,
            bytes: 2048,
            fragments: 3,
            elapsed: Duration::from_secs(2),
            virtual_elapsed: None,
            message: message.map(str::to_owned),
        }
    }

    fn parsed(list: &[&str]) -> Args {
        crate::cli::parse(list.iter().map(|s| (*s).to_owned())).unwrap()
    }

    #[test]
    fn replay_repeats_what_the_run_depends_on() {
        assert_eq!(
            replay_command(&parsed(&["--sim", "--seed", "5"]), 200),
            "edu-harness --sim --seed 0x5"
        );
        // A wall-clock bound becomes the iterations the stress scenario started.
        assert_eq!(
            replay_command(
                &parsed(&[
                    "--sim",
                    "--scenario",
                    "stress",
                    "--seconds",
                    "1.5",
                    "--timeout",
                    "5"
                ]),
                1234
            ),
            "edu-harness --sim --seed 0xed05eed --scenario stress --iterations 1234 --timeout 5"
        );
        assert_eq!(
            replay_command(
                &parsed(&["--device", "--iterations", "7", "--device-path", "X"]),
                7
            ),
            "edu-harness --device --seed 0xed05eed --iterations 7 --device-path \"X\""
        );
    }

    #[test]
    fn summary_line_has_the_exact_ci_form() {
        assert_eq!(summary_line(7, 0), "7 passed, 0 failed");
        assert_eq!(summary_line(1, 12), "1 passed, 12 failed");
    }

    #[test]
    fn scenario_line_starts_with_the_verdict_and_name() {
        let line = scenario_line(&outcome("info", true, None));
        assert!(line.starts_with("PASS info "), "{line}");
        assert!(
            line.contains("2048 B") && line.contains("3 frag") && line.contains("1.0 KiB/s"),
            "{line}"
        );
        let simulated = scenario_line(&Outcome {
            virtual_elapsed: Some(Duration::from_secs(8)),
            ..outcome("roundtrip", true, None)
        });
        assert!(
            simulated.contains("256 B/s virtual")
                && simulated.ends_with("2.00 s wall, 8.0 s virtual"),
            "{simulated}"
        );
        assert!(line.ends_with("1.0 KiB/s      2.00 s wall"), "{line}");
        let failed = scenario_line(&outcome("cancel", false, Some("boom")));
        assert!(
            failed.starts_with("FAIL cancel ") && failed.ends_with("\n     boom"),
            "{failed}"
        );
    }

    #[test]
    fn json_escaping_covers_quotes_backslashes_and_controls() {
        assert_eq!(json_string("plain"), "\"plain\"");
        assert_eq!(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(json_string("x\ny\tz\r"), "\"x\\ny\\tz\\r\"");
        assert_eq!(json_string("\u{1}\u{1f}"), "\"\\u0001\\u001f\"");
        assert_eq!(json_string("é"), "\"é\"");
    }

    #[test]
    fn json_report_counts_a_finish_finding_as_a_failure() {
        let outcomes = [
            outcome("info", true, None),
            outcome("cancel", false, Some("bad \"x\"")),
        ];
        let report = RunReport {
            target: "simulator",
            seed: 5,
            outcomes: &outcomes,
            finish_error: Some("leak"),
            verdict: Some("verifier: 1 finding(s)"),
            memory: None,
            replay: Some("edu-harness --sim --seed 0x5"),
        };
        assert_eq!((report.passed(), report.failed()), (1, 2));
        let json = report.to_json();
        assert!(
            json.starts_with("{\"target\":\"simulator\",\"seed\":5,\"passed\":1,\"failed\":2,"),
            "{json}"
        );
        assert!(
            json.contains(
                "\"summary\":\"1 passed, 2 failed\",\"replay\":\"edu-harness --sim --seed 0x5\","
            ),
            "{json}"
        );
        assert!(
            json.contains("\"finish\":\"leak\",\"verdict\":\"verifier: 1 finding(s)\","),
            "{json}"
        );
        assert!(json.contains("\"message\":\"bad \\\"x\\\"\""), "{json}");
        assert!(
            json.contains(
                "\"elapsed_ms\":2000,\"throughput_bps\":1024,\"virtual_ms\":null,\"clock\":\"wall\","
            ),
            "{json}"
        );
        assert!(json.ends_with("}]}"), "{json}");
        assert!(json.contains(",\"process_memory\":null,"), "{json}");
    }

    #[test]
    fn memory_is_labelled_in_text_and_json() {
        let memory = MemoryReport {
            memory: ProcessMemory {
                resident_bytes: 40 << 20,
                peak_resident_bytes: Some(41 << 20),
            },
            scope: "the harness process, simulated machine included",
        };
        assert_eq!(
            memory_line(&memory),
            "memory: resident 40.0 MiB, peak 41.0 MiB at the end of the run (the harness \
             process, simulated machine included)"
        );
        let outcomes = [outcome("stress", true, None)];
        let report = RunReport {
            target: "simulator",
            seed: 1,
            outcomes: &outcomes,
            finish_error: None,
            verdict: None,
            memory: Some(memory),
            replay: None,
        };
        let json = report.to_json();
        assert!(
            json.contains(concat!(
                "\"verdict\":null,\"process_memory\":{\"resident_end_bytes\":41943040,",
                "\"resident_peak_bytes\":42991616,\"scope\":\"the harness process, simulated ",
                "machine included\"},\"scenarios\":[{"
            )),
            "{json}"
        );
        let no_peak = RunReport {
            memory: Some(MemoryReport {
                memory: ProcessMemory {
                    resident_bytes: 4096,
                    peak_resident_bytes: None,
                },
                scope: "x",
            }),
            ..report
        };
        assert!(
            no_peak
                .to_json()
                .contains("{\"resident_end_bytes\":4096,\"resident_peak_bytes\":null,"),
            "{}",
            no_peak.to_json()
        );
    }

    #[test]
    fn rates_pick_a_unit() {
        assert_eq!(human_rate(10.0), "10 B/s");
        assert_eq!(human_rate(2048.0), "2.0 KiB/s");
        assert_eq!(human_rate(3.0 * 1024.0 * 1024.0), "3.0 MiB/s");
    }
}

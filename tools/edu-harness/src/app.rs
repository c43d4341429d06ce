//! One run of the harness as the command line asks for it.
//!
//! The handshake, the scenarios, the report and the exit status. `main` only parses the arguments and opens the backend, so
//! tests can run the whole report path against any [`Target`].

use std::io::Write;

use crate::cli::Args;
use crate::memory;
use crate::report::{self, MemoryReport, RunReport};
use crate::scenario::{Config, Engine};
use crate::target::{Target, TargetError};

/// Exit status when a scenario failed, or a request did not complete within the time limit.
pub const EXIT_FAIL: u8 = 1;
/// Exit status when the run could not start (bad arguments, no device, version mismatch).
pub const EXIT_SETUP: u8 = 2;

/// Reports a run that could not start, in the requested format; returns the exit status.
pub fn setup_failure(args: &Args, error: &TargetError, out: &mut dyn Write) -> u8 {
    eprintln!("edu-harness: {error}");
    if args.json {
        let _ = writeln!(
            out,
            "{{\"error\":{}}}",
            report::json_string(&error.to_string())
        );
    }
    EXIT_SETUP
}

/// Whether an error means the driver stopped completing requests (a test failure, exit 1)
/// rather than a run that could not start.
const fn is_hang(error: &TargetError) -> bool {
    matches!(
        error,
        TargetError::Timeout { .. } | TargetError::Stalled { .. }
    )
}

/// Runs the selected scenarios against `target`, writes the report to `out`.
///
/// Returns the exit status: 0 all passed, 1 something failed (including a request that never completed,
/// even during the handshake), 2 the run could not start. `progress` draws the stress
/// scenario's progress on standard error.
pub fn run(args: &Args, target: &mut dyn Target, progress: bool, out: &mut dyn Write) -> u8 {
    let text = !args.json;
    let config = Config {
        seed: args.seed,
        iterations: args.iterations,
        seconds: args.seconds,
        progress: text && !args.quiet && progress,
    };
    let name = target.name();
    let mut engine = Engine::new(target, config);
    let info = match engine.handshake() {
        Ok(info) => info,
        Err(error) if is_hang(&error) => {
            eprintln!("edu-harness: {error}");
            if text {
                let _ = writeln!(out, "FAIL handshake   {error}");
                let _ = writeln!(out, "{}", report::summary_line(0, 1));
            } else {
                let _ = writeln!(
                    out,
                    "{{\"error\":{}}}",
                    report::json_string(&error.to_string())
                );
            }
            return EXIT_FAIL;
        }
        Err(error) => return setup_failure(args, &error, out),
    };
    if text && !args.quiet {
        let _ = writeln!(
            out,
            "edu-harness: target {name}, seed {:#x}, contract v{}, device 0x{:08X}, DMA mode {}, \
             {}-bit addressing, fragment {} B, ring {} B, {}",
            args.seed,
            info.api_version,
            info.device_id,
            info.dma_mode,
            info.address_width,
            info.fragment_length,
            info.buffer_size,
            if info.msi == 1 {
                "MSI"
            } else {
                "line interrupt"
            },
        );
    }
    let mut outcomes = Vec::with_capacity(args.scenarios.len());
    for &scenario in &args.scenarios {
        let outcome = engine.run(scenario);
        if text && (!args.quiet || !outcome.passed) {
            let _ = writeln!(out, "{}", report::scenario_line(&outcome));
        }
        outcomes.push(outcome);
    }
    let stress_iterations = engine.stress_iterations();
    drop(engine);
    // Sampled before the end-of-run checks: with --sim, the simulated machine still holds
    // whatever the run left in it.
    let memory = memory::sample().map(|memory| MemoryReport {
        memory,
        scope: target.memory_scope(),
    });
    let finish = target.finish().err().map(|error| error.to_string());
    let verdict = target.verdict();
    let replay = report::replay_command(args, stress_iterations);
    let failed = outcomes.iter().any(|outcome| !outcome.passed) || finish.is_some();
    let summary = RunReport {
        replay: failed.then_some(replay.as_str()),
        target: name,
        seed: args.seed,
        outcomes: &outcomes,
        finish_error: finish.as_deref(),
        verdict: verdict.as_deref(),
        memory,
    };
    if text {
        if let Some(finding) = &finish {
            let _ = writeln!(out, "FAIL finish      {finding}");
        }
        if let Some(verdict) = verdict.as_deref().filter(|_| !args.quiet) {
            let _ = writeln!(out, "{name}: {verdict}");
        }
        if let Some(memory) = memory.filter(|_| args.seconds.is_some()) {
            let _ = writeln!(out, "{}", report::memory_line(&memory));
        }
        if summary.failed() > 0 {
            let _ = writeln!(out, "replay with: {replay}");
        }
        let _ = writeln!(
            out,
            "{}",
            report::summary_line(summary.passed(), summary.failed())
        );
    } else {
        let _ = writeln!(out, "{}", summary.to_json());
    }
    if summary.failed() == 0 { 0 } else { EXIT_FAIL }
}

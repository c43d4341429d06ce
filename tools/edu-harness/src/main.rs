//! `edu-harness`: runs the driver's test scenarios against the real device (Windows) or the
//! simulated machine, prints one line per scenario and the summary line `N passed, M failed`.
//! Run `edu-harness --help` for the options.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use edu_harness::cli::{self, Args, Backend, USAGE};
use edu_harness::memory;
use edu_harness::report::{self, MemoryReport, RunReport};
use edu_harness::scenario::{Config, Engine};
use edu_harness::target::{Target, TargetError};

/// Exit status when the run could not start (bad arguments, no device, version mismatch).
const EXIT_SETUP: u8 = 2;

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("edu-harness: {message}\n\n{USAGE}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let opened = match args.backend {
        Backend::Device => open_device(),
        Backend::Sim => open_sim(args.seed),
    };
    match opened {
        Ok(mut target) => run(&args, target.as_mut()),
        Err(error) => setup_failure(&args, &error),
    }
}

/// Reports a run that could not start, in the requested format.
fn setup_failure(args: &Args, error: &TargetError) -> ExitCode {
    eprintln!("edu-harness: {error}");
    if args.json {
        println!("{{\"error\":{}}}", report::json_string(&error.to_string()));
    }
    ExitCode::from(EXIT_SETUP)
}

/// Runs the selected scenarios and prints the report.
fn run(args: &Args, target: &mut dyn Target) -> ExitCode {
    let text = !args.json;
    let config = Config {
        seed: args.seed,
        iterations: args.iterations,
        seconds: args.seconds,
        progress: text && !args.quiet && std::io::stderr().is_terminal(),
    };
    let name = target.name();
    let mut engine = Engine::new(target, config);
    let info = match engine.handshake() {
        Ok(info) => info,
        Err(error) => return setup_failure(args, &error),
    };
    if text && !args.quiet {
        println!(
            "edu-harness: target {name}, seed {:#x}, contract v{}, device 0x{:08X}, DMA mode {}, \
             {}-bit addressing, fragment {} B, {}",
            args.seed,
            info.api_version,
            info.device_id,
            info.dma_mode,
            info.address_width,
            info.fragment_length,
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
            println!("{}", report::scenario_line(&outcome));
        }
        outcomes.push(outcome);
    }
    drop(engine);
    // Sampled before the end-of-run checks: with --sim, the simulated machine still holds
    // whatever the run left in it.
    let memory = memory::sample().map(|memory| MemoryReport {
        memory,
        scope: target.memory_scope(),
    });
    let finish = target.finish().err().map(|error| error.to_string());
    let verdict = target.verdict();
    let summary = RunReport {
        target: name,
        seed: args.seed,
        outcomes: &outcomes,
        finish_error: finish.as_deref(),
        verdict: verdict.as_deref(),
        memory,
    };
    if text {
        if let Some(finding) = &finish {
            println!("FAIL finish      {finding}");
        }
        if let Some(verdict) = verdict.as_deref().filter(|_| !args.quiet) {
            println!("{name}: {verdict}");
        }
        if let Some(memory) = memory.filter(|_| args.seconds.is_some()) {
            println!("{}", report::memory_line(&memory));
        }
        if summary.failed() > 0 {
            println!("replay with: --seed {:#x}", args.seed);
        }
        println!(
            "{}",
            report::summary_line(summary.passed(), summary.failed())
        );
    } else {
        println!("{}", summary.to_json());
    }
    if summary.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Opens the real device.
///
/// # Errors
/// Device not found, access denied, or the failing Win32 call.
#[cfg(windows)]
fn open_device() -> Result<Box<dyn Target>, TargetError> {
    Ok(Box::new(edu_harness::windows::WindowsTarget::open()?))
}

/// The real device exists only in Windows builds.
///
/// # Errors
/// Always [`TargetError::Unsupported`].
#[cfg(not(windows))]
fn open_device() -> Result<Box<dyn Target>, TargetError> {
    Err(TargetError::Unsupported(
        "--device drives the real driver and exists only in Windows builds; use --sim".to_owned(),
    ))
}

/// Builds the simulated machine with the driver loaded on it.
///
/// # Errors
/// Whatever the simulator reports while building the machine and starting the driver.
#[cfg(not(windows))]
fn open_sim(seed: u64) -> Result<Box<dyn Target>, TargetError> {
    Ok(Box::new(edu_harness::sim::SimTarget::new(seed)?))
}

/// The simulator is built only on non-Windows hosts.
///
/// # Errors
/// Always [`TargetError::Unsupported`].
#[cfg(windows)]
fn open_sim(_seed: u64) -> Result<Box<dyn Target>, TargetError> {
    Err(TargetError::Unsupported(
        "--sim exists only in non-Windows builds (the simulator runs on the build host); \
         use --device"
            .to_owned(),
    ))
}

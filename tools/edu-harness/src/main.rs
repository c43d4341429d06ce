//! `edu-harness`: runs the driver's test scenarios against the real device (Windows) or the
//! simulated machine, prints one line per scenario and the summary line `N passed, M failed`.
//! Run `edu-harness --help` for the options.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use edu_harness::app;
#[cfg(not(windows))]
use edu_harness::cli::Args;
use edu_harness::cli::{self, Backend, USAGE};
use edu_harness::target::{Target, TargetError};

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("edu-harness: {message}\n\n{USAGE}");
            return ExitCode::from(app::EXIT_SETUP);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let opened = match args.backend {
        Backend::Device => open_device(&args),
        Backend::Sim => open_sim(args.seed, args.ring_bytes),
    };
    let mut stdout = std::io::stdout().lock();
    let progress = std::io::stderr().is_terminal();
    let code = match opened {
        Ok(mut target) => app::run(&args, target.as_mut(), progress, &mut stdout),
        Err(error) => app::setup_failure(&args, &error, &mut stdout),
    };
    ExitCode::from(code)
}

/// Opens the real device.
///
/// # Errors
/// Device not found, access denied, or the failing Win32 call.
#[cfg(windows)]
fn open_device(args: &cli::Args) -> Result<Box<dyn Target>, TargetError> {
    use edu_harness::windows::{WindowsTarget, interface_path};
    let path = match &args.device_path {
        Some(path) => path.clone(),
        None => interface_path()?,
    };
    let timeout = std::time::Duration::from_secs(args.timeout);
    Ok(Box::new(WindowsTarget::open_path(&path, timeout)?))
}

/// The real device exists only in Windows builds.
///
/// # Errors
/// Always [`TargetError::Unsupported`].
#[cfg(not(windows))]
fn open_device(_args: &Args) -> Result<Box<dyn Target>, TargetError> {
    Err(TargetError::Unsupported(
        "--device drives the real driver and exists only in Windows builds; use --sim".to_owned(),
    ))
}

/// Builds the simulated machine with the driver loaded on it.
///
/// # Errors
/// Whatever the simulator reports while building the machine and starting the driver.
#[cfg(any(not(windows), kmdf_sim))]
fn open_sim(seed: u64, ring_bytes: Option<u32>) -> Result<Box<dyn Target>, TargetError> {
    let ring_bytes = ring_bytes.or_else(edu_harness::sim::SimTarget::default_ring_bytes);
    Ok(Box::new(edu_harness::sim::SimTarget::with_ring_bytes(
        seed, ring_bytes,
    )?))
}

/// The simulator is built on Windows only with `--cfg kmdf_sim`.
///
/// # Errors
/// Always [`TargetError::Unsupported`].
#[cfg(all(windows, not(kmdf_sim)))]
fn open_sim(_seed: u64, _ring_bytes: Option<u32>) -> Result<Box<dyn Target>, TargetError> {
    Err(TargetError::Unsupported(
        "--sim needs a build with the simulator: on Windows set RUSTFLAGS to \
         \"--cfg kmdf_sim -C target-feature=+crt-static\" (see the README); or use --device"
            .to_owned(),
    ))
}

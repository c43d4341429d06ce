//! Command-line parsing (hand-written; the grammar is small).

use core::time::Duration;

use crate::scenario::Scenario;

/// Seed used when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 0x0ED0_5EED;

/// Usage text for `--help` and errors.
pub const USAGE: &str = "\
usage: edu-harness [--sim | --device] [--scenario NAME]... [--seed N]
                   [--iterations N] [--seconds S] [--timeout S]
                   [--device-path PATH] [--ring-bytes N] [--json] [--quiet]

  --device          drive the real device through its driver (Windows; the default there)
  --sim             drive the simulated machine (non-Windows hosts; the default there)
  --scenario NAME   run only this scenario (repeatable); NAME is one of
                    info roundtrip ioctls invalid cancel concurrent stress pnp
                    power, or all
  --seed N          seed of every random choice (decimal or 0x-hex)
  --iterations N    bound the stress scenario by iterations
  --seconds S       bound the stress scenario by wall-clock seconds (a soak; fractions
                    allowed, e.g. 1.5); the report then adds the harness process's resident memory at the end of the run
                    and its peak, on a line starting with memory:
  --timeout S       wait at most S seconds (default 30) for any one request to
                    complete; a request that does not is reported, the run stops
                    and the exit status is 1 (the request's buffers stay allocated,
                    because the driver still owns them)
  --device-path P   open this device interface path instead of looking up the
                    first present edu DMA device (Windows)
  --ring-bytes N    --sim: set the driver's UsableRingBytes parameter to N (1..=4096)
                    before it starts; 4095 is what QEMU <= 8.2.0 needs (the default
                    with KMDF_SIM_EDU_QEMU=8.2.0, else the driver's own 4096)
  --json            print one JSON object instead of the text report (its process_memory
                    holds resident_end_bytes, resident_peak_bytes and their scope)
  --quiet           print only failures and the summary (with --seconds, the memory line too)
  -h, --help        show this text

Exit status: 0 when every scenario passed, 1 when any failed, 2 when the run could not start.";

/// Which backend to drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The real driver (Windows).
    Device,
    /// The simulated machine (non-Windows hosts).
    Sim,
}

impl Backend {
    /// The backend this build uses when none is named.
    #[must_use]
    pub const fn host_default() -> Self {
        if cfg!(windows) {
            Self::Device
        } else {
            Self::Sim
        }
    }
}

/// Seconds `--timeout` defaults to: far above the slowest request the scenarios issue (a
/// 64 KiB transfer is 16 device commands of about 1 ms each), far below "hung".
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// Parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    /// Backend to drive.
    pub backend: Backend,
    /// Scenarios in run order (all of them when none is named).
    pub scenarios: Vec<Scenario>,
    /// Seed.
    pub seed: u64,
    /// `--iterations`.
    pub iterations: Option<u64>,
    /// `--seconds`: the stress scenario's wall-clock bound.
    pub seconds: Option<Duration>,
    /// `--timeout`: the limit on each wait for a request, in seconds.
    pub timeout: u64,
    /// `--device-path`: a device interface path to open instead of looking one up.
    pub device_path: Option<String>,
    /// `--ring-bytes`: the `UsableRingBytes` parameter of the simulated driver.
    pub ring_bytes: Option<u32>,
    /// `--json`.
    pub json: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// `--help`.
    pub help: bool,
}

/// Parses a decimal or `0x`-prefixed hexadecimal number.
///
/// # Errors
/// A message naming the option whose value is not a number.
fn number(option: &str, text: &str) -> Result<u64, String> {
    let cleaned = text.replace('_', "");
    let parsed = cleaned
        .strip_prefix("0x")
        .or_else(|| cleaned.strip_prefix("0X"))
        .map_or_else(|| cleaned.parse(), |hex| u64::from_str_radix(hex, 16));
    parsed.map_err(|_| format!("{option}: '{text}' is not a number"))
}

/// Parses a non-negative number of seconds, fractions allowed (`1.5`, `0.25`, `600`).
///
/// # Errors
/// A message naming the option whose value is not such a number.
fn seconds(option: &str, text: &str) -> Result<Duration, String> {
    text.replace('_', "")
        .parse::<f64>()
        .ok()
        .and_then(|value| Duration::try_from_secs_f64(value).ok())
        .ok_or_else(|| format!("{option}: '{text}' is not a number of seconds (e.g. 600 or 1.5)"))
}

/// Parses the arguments after the program name.
///
/// # Errors
/// A message naming the offending argument.
pub fn parse<I>(args: I) -> Result<Args, String>
where
    I: IntoIterator<Item = String>,
{
    let mut parsed = Args {
        backend: Backend::host_default(),
        scenarios: Vec::new(),
        seed: DEFAULT_SEED,
        iterations: None,
        seconds: None,
        timeout: DEFAULT_TIMEOUT_SECONDS,
        device_path: None,
        ring_bytes: None,
        json: false,
        quiet: false,
        help: false,
    };
    let mut backend_named: Option<&str> = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Accept both `--option value` and `--option=value`.
        let (option, inline) = match arg.split_once('=') {
            Some((option, value)) if option.starts_with("--") => {
                (option.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{option} needs a value"))
        };
        match option.as_str() {
            "--sim" | "--device" => {
                let backend = if option == "--sim" {
                    Backend::Sim
                } else {
                    Backend::Device
                };
                if backend_named.is_some_and(|named| named != option) {
                    return Err("--sim and --device exclude each other".to_owned());
                }
                backend_named = Some(if option == "--sim" {
                    "--sim"
                } else {
                    "--device"
                });
                parsed.backend = backend;
            }
            "--scenario" => {
                let name = value()?;
                if name == "all" {
                    parsed.scenarios.extend(Scenario::ALL);
                } else {
                    let scenario = Scenario::from_name(&name)
                        .ok_or_else(|| format!("--scenario: unknown scenario '{name}'"))?;
                    parsed.scenarios.push(scenario);
                }
            }
            "--seed" => parsed.seed = number("--seed", &value()?)?,
            "--iterations" => parsed.iterations = Some(number("--iterations", &value()?)?),
            "--seconds" => parsed.seconds = Some(seconds("--seconds", &value()?)?),
            "--timeout" => {
                parsed.timeout = number("--timeout", &value()?)?;
                if parsed.timeout == 0 {
                    return Err("--timeout: must be at least 1 second".to_owned());
                }
            }
            "--device-path" => parsed.device_path = Some(value()?),
            "--ring-bytes" => {
                let bytes = number("--ring-bytes", &value()?)?;
                parsed.ring_bytes = Some(
                    u32::try_from(bytes)
                        .ok()
                        .filter(|bytes| (1..=4096).contains(bytes))
                        .ok_or_else(|| "--ring-bytes: must be 1..=4096".to_owned())?,
                );
            }
            "--json" => parsed.json = true,
            "--quiet" => parsed.quiet = true,
            "-h" | "--help" => parsed.help = true,
            _ => return Err(format!("unknown argument '{arg}'")),
        }
    }
    if parsed.scenarios.is_empty() {
        parsed.scenarios = Scenario::ALL.to_vec();
    }
    Ok(parsed)
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    clippy::missing_errors_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_run_everything_with_the_fixed_seed() {
        let parsed = args(&[]).unwrap();
        assert_eq!(parsed.backend, Backend::host_default());
        assert_eq!(parsed.scenarios, Scenario::ALL.to_vec());
        assert_eq!(parsed.seed, DEFAULT_SEED);
        assert_eq!(
            (parsed.iterations, parsed.seconds, parsed.json, parsed.quiet),
            (None, None, false, false)
        );
    }

    #[test]
    fn options_take_separate_or_inline_values() {
        let parsed = args(&[
            "--sim",
            "--scenario",
            "cancel",
            "--scenario=info",
            "--seed",
            "0x10",
            "--iterations=5",
            "--seconds",
            "1_000",
            "--json",
            "--quiet",
        ])
        .unwrap();
        assert_eq!(parsed.backend, Backend::Sim);
        assert_eq!(parsed.scenarios, vec![Scenario::Cancel, Scenario::Info]);
        assert_eq!(parsed.seed, 16);
        assert_eq!(parsed.iterations, Some(5));
        assert_eq!(parsed.seconds, Some(Duration::from_secs(1000)));
        assert!(parsed.json && parsed.quiet);
        assert_eq!(args(&["--device"]).unwrap().backend, Backend::Device);
        assert_eq!(
            args(&["--scenario", "all"]).unwrap().scenarios,
            Scenario::ALL.to_vec()
        );
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        assert!(
            args(&["--scenario", "bogus"])
                .unwrap_err()
                .contains("bogus")
        );
        assert!(args(&["--seed"]).unwrap_err().contains("needs a value"));
        assert!(
            args(&["--seed", "x1"])
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            args(&["--frobnicate"])
                .unwrap_err()
                .contains("--frobnicate")
        );
        assert!(
            args(&["--sim", "--device"])
                .unwrap_err()
                .contains("exclude")
        );
        assert!(args(&["--sim", "--sim"]).is_ok());
        assert!(args(&["-h"]).unwrap().help);
    }

    #[test]
    fn seconds_may_be_fractional_but_not_negative_or_words() {
        assert_eq!(
            args(&["--seconds", "1.5"]).unwrap().seconds,
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            args(&["--seconds=0.25"]).unwrap().seconds,
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            args(&["--seconds", "90"]).unwrap().seconds,
            Some(Duration::from_secs(90))
        );
        for bad in ["-1", "NaN", "inf", "1.5s", "0x10"] {
            assert!(
                args(&["--seconds", bad])
                    .unwrap_err()
                    .contains("not a number of seconds"),
                "{bad}"
            );
        }
    }

    #[test]
    fn timeout_and_device_path_are_parsed() {
        assert_eq!(args(&[]).unwrap().timeout, DEFAULT_TIMEOUT_SECONDS);
        assert_eq!(args(&[]).unwrap().device_path, None);
        let parsed = args(&["--timeout=5", "--device-path", r"\\.\pipe\edu"]).unwrap();
        assert_eq!(parsed.timeout, 5);
        assert_eq!(parsed.device_path.as_deref(), Some(r"\\.\pipe\edu"));
        assert!(
            args(&["--timeout", "0"])
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(args(&["--timeout"]).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn ring_bytes_is_checked_against_the_buffer() {
        assert_eq!(
            args(&["--ring-bytes", "4095"]).unwrap().ring_bytes,
            Some(4095)
        );
        assert_eq!(args(&[]).unwrap().ring_bytes, None);
        assert!(args(&["--ring-bytes=0"]).unwrap_err().contains("1..=4096"));
        assert!(
            args(&["--ring-bytes=4097"])
                .unwrap_err()
                .contains("1..=4096")
        );
    }
}

//! The comparison itself (Unix hosts only: QEMU's qtest runs over a Unix socket).

use std::path::PathBuf;
use std::process::ExitCode;

use kmdf_sim::devices::edu::{EduConfig, QemuVersion};

use crate::cases::{self, Transcript};
use crate::target::Target;
use crate::{model, qemu};

struct Options {
    qemu: PathBuf,
    mode: QemuVersion,
    only: Option<String>,
    markdown: bool,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut qemu = None;
    let mut mode = QemuVersion::AbortOffByOne;
    let mut only = None;
    let mut markdown = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--qemu" => qemu = args.next().map(PathBuf::from),
            "--mode" => {
                let text = args.next().unwrap_or_default();
                mode = QemuVersion::from_name(&text)
                    .ok_or_else(|| format!("unknown mode {text:?}"))?;
            }
            "--only" => only = args.next(),
            "--markdown" => markdown = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Options {
        qemu: qemu.ok_or("--qemu <path> is required")?,
        mode,
        only,
        markdown,
    })
}

/// Runs one stream on one target; an error on a dead device is part of the transcript.
fn record(case: &cases::Case, target: &mut dyn Target) -> Result<Transcript, String> {
    let mut transcript = Transcript::default();
    if let Err(error) = (case.run)(target, &mut transcript) {
        if target.alive() {
            return Err(error);
        }
        transcript.lines.push("device aborted".to_owned());
    }
    Ok(transcript)
}

/// Differences the model keeps on purpose: (case name, reason).
const DOCUMENTED: &[(&str, &str)] = &[];

pub(crate) fn main() -> ExitCode {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("edu-qtest: {e}");
            return ExitCode::from(2);
        }
    };
    let scratch = std::env::temp_dir().join(format!("edu-qtest-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        eprintln!("edu-qtest: {}: {e}", scratch.display());
        return ExitCode::from(2);
    }
    let bios = scratch.join("empty-bios.bin");
    if let Err(e) = std::fs::write(&bios, vec![0_u8; 64 * 1024]) {
        eprintln!("edu-qtest: {e}");
        return ExitCode::from(2);
    }
    let code = run(&options, &scratch, &bios);
    let _ = std::fs::remove_dir_all(&scratch);
    code
}

fn run(options: &Options, scratch: &std::path::Path, bios: &std::path::Path) -> ExitCode {
    let (mut matched, mut documented, mut failed) = (0, 0, 0);
    let mut rows = Vec::new();
    for (index, case) in cases::all().into_iter().enumerate() {
        if options
            .only
            .as_ref()
            .is_some_and(|only| !case.name.contains(only.as_str()))
        {
            continue;
        }
        let launch = qemu::Launch {
            binary: options.qemu.clone(),
            bios: bios.to_path_buf(),
            dma_mask: case.dma_mask,
            scratch: scratch.to_path_buf(),
        };
        let qemu_side = qemu::Qemu::start(&launch, &format!("case{index}")).and_then(|mut q| {
            let t = record(&case, &mut q);
            t.map(|t| (t, q.stderr()))
        });
        let (real, stderr) = match qemu_side {
            Ok(r) => r,
            Err(e) => {
                eprintln!("edu-qtest: case {:?}: QEMU: {e}", case.name);
                return ExitCode::from(2);
            }
        };
        let config = EduConfig {
            dma_mask: case.dma_mask.unwrap_or(0x0FFF_FFFF),
            factorial_delay_ns: 0,
            qemu: options.mode,
            ..EduConfig::default()
        };
        let mut model = model::Model::new(config, qemu::BAR0);
        let simulated = match record(&case, &mut model) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("edu-qtest: case {:?}: model: {e}", case.name);
                return ExitCode::from(2);
            }
        };
        let reason = DOCUMENTED
            .iter()
            .find(|(name, _)| *name == case.name)
            .map(|(_, why)| *why);
        let same = real.lines == simulated.lines;
        let verdict = match (same, reason) {
            (true, _) => {
                matched += 1;
                "match"
            }
            (false, Some(_)) => {
                documented += 1;
                "documented difference"
            }
            (false, None) => {
                failed += 1;
                "MISMATCH"
            }
        };
        let aborted = real.lines.last().is_some_and(|l| l == "device aborted");
        rows.push(format!(
            "| {} | {} | {} | {verdict} |",
            case.name,
            real.lines.len(),
            if aborted { "aborted" } else { "ran" }
        ));
        if !options.markdown {
            println!("{verdict:>9}  {} ({} answers)", case.name, real.lines.len());
        }
        if !same {
            print_difference(&real, &simulated, reason, aborted, &stderr);
        }
    }
    if options.markdown {
        println!("| Case | Answers | QEMU | Result |\n| --- | --- | --- | --- |");
        for row in &rows {
            println!("{row}");
        }
    }
    println!(
        "edu-qtest: {matched} matched, {documented} documented differences, {failed} mismatches"
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints the lines where the two transcripts differ.
fn print_difference(
    real: &Transcript,
    simulated: &Transcript,
    reason: Option<&str>,
    aborted: bool,
    stderr: &str,
) {
    if let Some(why) = reason {
        println!("           documented: {why}");
    }
    let longest = real.lines.len().max(simulated.lines.len());
    for i in 0..longest {
        let q = real.lines.get(i).map_or("-", String::as_str);
        let m = simulated.lines.get(i).map_or("-", String::as_str);
        if q != m {
            println!("           qemu : {q}\n           model: {m}");
        }
    }
    if aborted {
        for line in stderr.lines().filter(|l| l.contains("EDU")) {
            println!("           QEMU: {line}");
        }
    }
}

//! The command streams. Each case runs on a fresh QEMU and a fresh model; every answer is
//! written to a transcript line, and the two transcripts must be equal.

use std::fmt::Write as _;

use crate::target::{Error, Target};

/// Transcript of one case on one target.
#[derive(Default)]
pub(crate) struct Transcript {
    /// One line per answer.
    pub(crate) lines: Vec<String>,
}

impl Transcript {
    fn note(&mut self, label: &str, value: impl core::fmt::Display) {
        self.lines.push(format!("{label} = {value}"));
    }
}

/// A command stream: drives one target, writes its answers to the transcript.
pub(crate) type Stream = Box<dyn Fn(&mut dyn Target, &mut Transcript) -> Result<(), Error>>;

/// A case: name, `dma_mask` (None = QEMU's default), and the stream.
pub(crate) struct Case {
    /// Short name.
    pub(crate) name: String,
    /// The `dma_mask` property, when the case needs another one.
    pub(crate) dma_mask: Option<u64>,
    /// The command stream.
    pub(crate) run: Stream,
}

const MS: u64 = 1_000_000;
const RAM_SRC: u64 = 0x0010_0000;
const RAM_DST: u64 = 0x0020_0000;
const BUF: u64 = 0x4_0000;

fn hex(t: &mut Transcript, label: &str, value: u64) {
    t.note(label, format_args!("{value:#x}"));
}

fn rd(d: &mut dyn Target, t: &mut Transcript, offset: u64, size: u8) -> Result<(), Error> {
    let value = d.read(offset, size)?;
    hex(t, &format!("read{size} {offset:#x}"), value);
    Ok(())
}

fn irq_state(d: &mut dyn Target, t: &mut Transcript, when: &str) -> Result<(), Error> {
    let status = d.read(0x24, 4)?;
    let line = d.intx_line()?;
    let pci = d.intx_status()?;
    let msi = d.take_msis()?;
    t.note(
        when,
        format_args!("irq_status={status:#x} intx_line={line} pci_status_bit3={pci} msi={msi}"),
    );
    Ok(())
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i % 251).unwrap_or(0).wrapping_add(seed))
        .collect()
}

fn digest(bytes: &[u8]) -> String {
    // FNV-1a: short, order-sensitive; the transcripts compare it, not the bytes themselves.
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut s = String::new();
    let _ = write!(s, "len={} fnv={hash:016x}", bytes.len());
    s
}

/// Programs and starts one command (registers as 8-byte writes, as the driver does).
fn start(d: &mut dyn Target, src: u64, dst: u64, count: u64, cmd: u64) -> Result<(), Error> {
    d.write(0x80, 8, src)?;
    d.write(0x88, 8, dst)?;
    d.write(0x90, 8, count)?;
    d.write(0x98, 8, cmd)
}

/// One command, observed before, near and after its deadline.
fn dma(
    d: &mut dyn Target,
    t: &mut Transcript,
    src: u64,
    dst: u64,
    count: u64,
    cmd: u64,
) -> Result<(), Error> {
    start(d, src, dst, count, cmd)?;
    rd(d, t, 0x98, 8)?;
    d.step(98 * MS)?;
    rd(d, t, 0x98, 8)?;
    d.step(2 * MS)?;
    rd(d, t, 0x98, 8)?;
    irq_state(d, t, "after dma")?;
    d.write(0x64, 4, 0xFFFF_FFFF)?;
    Ok(())
}

/// RAM → buffer at `dev`, then buffer at `dev` → RAM, `len` bytes each way.
fn round_trip(d: &mut dyn Target, t: &mut Transcript, dev: u64, len: u64) -> Result<(), Error> {
    let n = usize::try_from(len).unwrap_or(0).min(8192);
    d.mem_write(RAM_SRC, &pattern(n, 7))?;
    d.mem_write(RAM_DST, &vec![0xEE; n + 16])?;
    dma(d, t, RAM_SRC, dev, len, 0x5)?;
    t.note("alive after to-device", d.alive());
    dma(d, t, dev, RAM_DST, len, 0x7)?;
    let back = d.mem_read(RAM_DST, n + 16)?;
    t.note("ram after from-device", digest(&back));
    Ok(())
}

fn case(
    name: &str,
    dma_mask: Option<u64>,
    run: impl Fn(&mut dyn Target, &mut Transcript) -> Result<(), Error> + 'static,
) -> Case {
    Case {
        name: name.to_owned(),
        dma_mask,
        run: Box::new(run),
    }
}

/// Every case.
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "one flat list of command streams reads best"
)]
pub(crate) fn all() -> Vec<Case> {
    let mut cases = vec![
        case("identification", None, |d, t| {
            for size in [4, 8, 2, 1] {
                rd(d, t, 0x00, size)?;
            }
            rd(d, t, 0x02, 4)?;
            rd(d, t, 0x01, 4)?;
            rd(d, t, 0x00, 4)
        }),
        case("liveness", None, |d, t| {
            rd(d, t, 0x04, 4)?;
            d.write(0x04, 4, 0x1234_5678)?;
            rd(d, t, 0x04, 4)?;
            d.write(0x04, 2, 0xFFFF)?;
            d.write(0x04, 1, 0xFF)?;
            rd(d, t, 0x04, 4)?;
            d.write(0x00, 8, 0xAAAA_AAAA_5555_5555)?;
            rd(d, t, 0x04, 4)?;
            rd(d, t, 0x04, 2)?;
            rd(d, t, 0x06, 2)
        }),
        case("factorial", None, |d, t| {
            for n in [0_u64, 1, 5, 12, 13, 20] {
                d.write(0x08, 4, n)?;
                d.settle()?;
                rd(d, t, 0x20, 4)?;
                rd(d, t, 0x08, 4)?;
            }
            irq_state(d, t, "no interrupt without status bit 7")
        }),
        case("factorial interrupt", None, |d, t| {
            d.write(0x20, 4, 0x81)?;
            rd(d, t, 0x20, 4)?;
            d.write(0x08, 4, 4)?;
            d.settle()?;
            rd(d, t, 0x08, 4)?;
            irq_state(d, t, "after factorial")?;
            d.write(0x64, 4, 1)?;
            irq_state(d, t, "after ack")?;
            d.write(0x20, 4, 0)?;
            rd(d, t, 0x20, 4)
        }),
        case("interrupt raise and ack, INTx", None, |d, t| {
            irq_state(d, t, "initial")?;
            d.write(0x60, 4, 0)?;
            irq_state(d, t, "raise 0")?;
            d.write(0x60, 4, 0x1234)?;
            irq_state(d, t, "raise 0x1234")?;
            d.write(0x60, 4, 0x8000_0000)?;
            irq_state(d, t, "raise 0x80000000")?;
            d.write(0x64, 4, 0x1000)?;
            irq_state(d, t, "ack 0x1000")?;
            d.write(0x64, 4, 0xFFFF_FFFF)?;
            irq_state(d, t, "ack all")?;
            d.write(0x24, 4, 0x55)?;
            irq_state(d, t, "write to status (read-only)")?;
            rd(d, t, 0x60, 4)?;
            rd(d, t, 0x64, 4)
        }),
        case("interrupt raise and ack, MSI", None, |d, t| {
            d.set_msi(true)?;
            d.write(0x60, 4, 1)?;
            irq_state(d, t, "raise 1")?;
            d.write(0x60, 4, 0)?;
            irq_state(d, t, "raise 0 with status set")?;
            d.write(0x64, 4, 1)?;
            irq_state(d, t, "ack")?;
            d.write(0x60, 4, 0)?;
            irq_state(d, t, "raise 0 with status clear")?;
            d.set_command(false, false)?;
            d.write(0x60, 4, 2)?;
            irq_state(d, t, "raise without bus master")?;
            d.set_command(true, false)?;
            d.write(0x64, 4, 2)?;
            d.set_msi(false)?;
            d.write(0x60, 4, 4)?;
            irq_state(d, t, "raise after MSI disabled")
        }),
        case("MSI enable while INTx high", None, |d, t| {
            d.write(0x60, 4, 1)?;
            irq_state(d, t, "raised")?;
            d.set_msi(true)?;
            irq_state(d, t, "MSI enabled")?;
            d.set_msi(false)?;
            irq_state(d, t, "MSI disabled again")?;
            d.write(0x60, 4, 2)?;
            irq_state(d, t, "raise")
        }),
        case("INTx disable bit", None, |d, t| {
            d.set_command(true, true)?;
            d.write(0x60, 4, 1)?;
            irq_state(d, t, "raise while disabled")?;
            d.set_command(true, false)?;
            irq_state(d, t, "disable bit cleared")?;
            d.set_command(true, true)?;
            irq_state(d, t, "disable bit set again")?;
            d.write(0x64, 4, 1)?;
            irq_state(d, t, "ack while disabled")?;
            d.set_command(true, false)?;
            irq_state(d, t, "disable bit cleared after ack")
        }),
        case("DMA registers: sizes and halves", None, |d, t| {
            d.write(0x80, 8, 0x1122_3344_5566_7788)?;
            rd(d, t, 0x80, 8)?;
            rd(d, t, 0x80, 4)?;
            rd(d, t, 0x84, 4)?;
            d.write(0x80, 4, 0xAABB_CCDD)?;
            rd(d, t, 0x80, 8)?;
            d.write(0x84, 4, 0x9999)?;
            rd(d, t, 0x80, 8)?;
            d.write(0x88, 8, 0x0102_0304_0506_0708)?;
            rd(d, t, 0x84, 8)?;
            d.write(0x84, 8, 0xCAFE_F00D_DEAD_BEEF)?;
            rd(d, t, 0x80, 8)?;
            rd(d, t, 0x88, 8)?;
            rd(d, t, 0x8c, 8)?;
            d.write(0x90, 2, 0x77)?;
            d.write(0x90, 1, 0x77)?;
            rd(d, t, 0x90, 8)?;
            rd(d, t, 0x90, 2)?;
            rd(d, t, 0x90, 1)?;
            rd(d, t, 0x82, 4)?;
            rd(d, t, 0x82, 8)?;
            rd(d, t, 0x81, 8)
        }),
        case(
            "8-byte access at 0x04 (liveness + factorial)",
            None,
            |d, t| {
                d.write(0x04, 8, 0x0000_0005_0000_00F0)?;
                d.settle()?;
                rd(d, t, 0x04, 4)?;
                rd(d, t, 0x08, 4)?;
                rd(d, t, 0x20, 4)?;
                rd(d, t, 0x04, 8)?;
                rd(d, t, 0x1c, 8)?;
                rd(d, t, 0x20, 8)
            },
        ),
        case("unimplemented offsets", None, |d, t| {
            for offset in [
                0x0c, 0x10, 0x1c, 0x28, 0x68, 0x7c, 0xa0, 0xa8, 0x100, 0xF_FFF8,
            ] {
                d.write(offset, 4, 0x1234)?;
                rd(d, t, offset, 4)?;
                d.write(offset, 8, 0x1234)?;
                rd(d, t, offset, 8)?;
            }
            rd(d, t, 0x04, 4)?;
            rd(d, t, 0x80, 8)
        }),
        case("command without RUN, writes while running", None, |d, t| {
            d.write(0x98, 8, 0x4)?;
            rd(d, t, 0x98, 8)?;
            d.mem_write(RAM_SRC, &pattern(64, 1))?;
            start(d, RAM_SRC, BUF, 64, 0x5)?;
            d.step(10 * MS)?;
            d.write(0x80, 8, 0x1)?;
            d.write(0x88, 4, 0x2)?;
            d.write(0x90, 8, 0x3)?;
            d.write(0x98, 8, 0x7)?;
            for offset in [0x80, 0x88, 0x90, 0x98] {
                rd(d, t, offset, 8)?;
            }
            d.step(90 * MS)?;
            rd(d, t, 0x98, 8)?;
            irq_state(d, t, "after the command")?;
            d.write(0x64, 4, 0x100)?;
            dma(d, t, BUF, RAM_DST, 64, 0x3)?;
            let back = d.mem_read(RAM_DST, 64)?;
            t.note("copied back", digest(&back));
            Ok(())
        }),
        case("DMA timing phase", None, |d, t| {
            for phase in [0, 1, MS / 2, MS - 1] {
                d.step(phase)?;
                start(d, RAM_SRC, BUF, 4, 0x1)?;
                d.step(99 * MS - phase - 1)?;
                rd(d, t, 0x98, 8)?;
                d.step(1)?;
                rd(d, t, 0x98, 8)?;
                d.step(MS - 1)?;
                rd(d, t, 0x98, 8)?;
                d.step(1)?;
                rd(d, t, 0x98, 8)?;
            }
            Ok(())
        }),
        case("DMA without bus master", None, |d, t| {
            d.mem_write(RAM_SRC, &pattern(32, 3))?;
            dma(d, t, RAM_SRC, BUF, 32, 0x1)?;
            d.set_command(false, false)?;
            d.mem_write(RAM_SRC, &pattern(32, 9))?;
            dma(d, t, RAM_SRC, BUF, 16, 0x1)?;
            d.mem_write(RAM_DST, &[0xEE; 32])?;
            dma(d, t, BUF, RAM_DST, 32, 0x3)?;
            t.note("ram untouched", digest(&d.mem_read(RAM_DST, 32)?));
            d.set_command(true, false)?;
            dma(d, t, BUF, RAM_DST, 32, 0x3)?;
            t.note("zeros then old data", digest(&d.mem_read(RAM_DST, 32)?));
            Ok(())
        }),
        case("RAM address past the DMA mask", None, |d, t| {
            d.mem_write(RAM_SRC, &pattern(256, 5))?;
            dma(d, t, RAM_SRC | 0x1000_0000, BUF, 256, 0x1)?;
            dma(d, t, BUF, RAM_DST | 0xF000_0000, 256, 0x3)?;
            t.note(
                "ram at the masked address",
                digest(&d.mem_read(RAM_DST, 256)?),
            );
            Ok(())
        }),
        case("RAM address past the end of RAM", None, |d, t| {
            d.mem_write(RAM_SRC, &pattern(64, 5))?;
            dma(d, t, RAM_SRC, BUF, 64, 0x1)?;
            dma(d, t, 0x0900_0000, BUF, 32, 0x1)?;
            dma(d, t, BUF, RAM_DST, 64, 0x3)?;
            t.note(
                "unbacked bytes read as zero",
                digest(&d.mem_read(RAM_DST, 64)?),
            );
            Ok(())
        }),
        case("reset keeps device registers", None, |d, t| {
            d.write(0x04, 4, 0x55)?;
            d.write(0x80, 8, 0x1234)?;
            d.write(0x20, 4, 0x80)?;
            d.write(0x60, 4, 0x10)?;
            irq_state(d, t, "before reset")?;
            start(d, RAM_SRC, BUF, 8, 0x5)?;
            d.reset()?;
            irq_state(d, t, "after reset")?;
            for offset in [0x04, 0x20, 0x80, 0x98] {
                rd(d, t, offset, 4)?;
            }
            d.step(100 * MS)?;
            rd(d, t, 0x98, 4)?;
            irq_state(d, t, "command finished after reset")
        }),
    ];
    for (name, dev, len) in [
        ("DMA 1 byte", BUF, 1),
        ("DMA 4095 bytes", BUF, 4095),
        ("DMA 4096 bytes (ends at buffer end)", BUF, 4096),
        ("DMA 4097 bytes", BUF, 4097),
        ("DMA 0 bytes", BUF, 0),
        ("DMA last byte only", BUF + 0xFFF, 1),
        ("DMA 2 bytes ending at buffer end", BUF + 0xFFE, 2),
        ("DMA 2 bytes from the last byte (past end)", BUF + 0xFFF, 2),
        ("DMA 0 bytes at buffer end", BUF + 0x1000, 0),
        ("DMA 1 byte before buffer start", BUF - 1, 1),
        ("DMA 2048 bytes from the middle", BUF + 0x800, 0x800),
    ] {
        cases.push(case(name, None, move |d, t| round_trip(d, t, dev, len)));
    }
    cases.push(case(
        "DMA at the device's own BAR0",
        Some(0xFFFF_FFFF),
        |d, t| {
            let bar = d.bar0();
            d.write(0x04, 4, 0x0F0F_0F0F)?;
            dma(d, t, bar, BUF, 8, 0x1)?;
            dma(d, t, bar + 0x80, BUF + 8, 24, 0x1)?;
            dma(d, t, BUF, RAM_DST, 32, 0x3)?;
            t.note("registers read by DMA", digest(&d.mem_read(RAM_DST, 32)?));
            d.mem_write(RAM_SRC, &0xA5A5_A5A5_u32.to_le_bytes())?;
            dma(d, t, RAM_SRC, BUF, 4, 0x1)?;
            dma(d, t, BUF, bar + 0x04, 4, 0x3)?;
            rd(d, t, 0x04, 4)?;
            dma(d, t, BUF, bar + 0x60, 4, 0x3)?;
            irq_state(d, t, "raise written by DMA")
        },
    ));
    cases
}

//! A QEMU process with one edu device, driven through the qtest protocol.
//!
//! QEMU connects to two unix sockets this side listens on: qtest (register, memory, port and
//! clock commands, plus `IRQ raise`/`IRQ lower` lines once interrupts are intercepted) and QMP
//! (only for `system_reset`). The machine has no guest: PCI configuration is done here through
//! ports `0xcf8`/`0xcfc`, as firmware would.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::target::{Error, Target};

/// Where BAR0 is placed (inside q35's 32-bit PCI hole, as libqos does).
pub(crate) const BAR0: u64 = 0xE000_0000;
/// Guest RAM address MSI messages are aimed at, so that they can be seen with a memory read.
pub(crate) const MSI_CATCHER: u64 = 0x0070_0000;
/// MSI data value programmed into the capability.
pub(crate) const MSI_DATA: u32 = 0x4D51;
/// First I/O APIC input that PCI `INTx` lines are routed to; lower inputs are ISA devices (the
/// PIT toggles input 0 all the time).
const FIRST_PCI_GSI: u32 = 16;

/// How to start QEMU.
#[derive(Clone, Debug)]
pub(crate) struct Launch {
    /// The qtest-capable `qemu-system-x86_64`.
    pub(crate) binary: PathBuf,
    /// A 64 KiB firmware image (never executed under qtest; q35 refuses to start without one).
    pub(crate) bios: PathBuf,
    /// The edu `dma_mask` property, if not the default.
    pub(crate) dma_mask: Option<u64>,
    /// Scratch directory for the sockets and QEMU's standard error.
    pub(crate) scratch: PathBuf,
}

/// A running QEMU.
pub(crate) struct Qemu {
    child: Child,
    qtest: BufReader<UnixStream>,
    qmp: BufReader<UnixStream>,
    /// PCI configuration address of the edu function (bus 0).
    devfn: u32,
    msi_cap: u32,
    raised: BTreeSet<u32>,
    command: u16,
    stderr_path: PathBuf,
    dead: bool,
}

fn io(context: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| format!("{context}: {e}")
}

fn accept(listener: &UnixListener, child: &mut Child, what: &str) -> Result<UnixStream, Error> {
    listener.set_nonblocking(true).map_err(io("listener"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).map_err(io("socket"))?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .map_err(io("socket"))?;
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("QEMU exited ({status}) before connecting {what}"));
                }
                if Instant::now() > deadline {
                    return Err(format!("QEMU did not connect {what}"));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(format!("accept {what}: {e}")),
        }
    }
}

fn parse_hex(text: &str) -> Result<u64, Error> {
    let digits = text.trim().trim_start_matches("0x");
    u64::from_str_radix(digits, 16).map_err(|e| format!("bad number {text:?}: {e}"))
}

impl Qemu {
    /// Starts QEMU, waits for both connections and sets up PCI configuration (BAR0, memory
    /// space, bus mastering, MSI address) and interrupt interception.
    ///
    /// # Errors
    /// When QEMU cannot be started or does not answer.
    pub(crate) fn start(launch: &Launch, tag: &str) -> Result<Self, Error> {
        let qtest_path = launch.scratch.join(format!("{tag}.qtest"));
        let qmp_path = launch.scratch.join(format!("{tag}.qmp"));
        let stderr_path = launch.scratch.join(format!("{tag}.stderr"));
        for path in [&qtest_path, &qmp_path] {
            let _ = std::fs::remove_file(path);
        }
        let qtest_listener = UnixListener::bind(&qtest_path).map_err(io("bind qtest"))?;
        let qmp_listener = UnixListener::bind(&qmp_path).map_err(io("bind qmp"))?;
        let device = launch
            .dma_mask
            .map_or_else(|| "edu".to_owned(), |mask| format!("edu,dma_mask={mask}"));
        let stderr = std::fs::File::create(&stderr_path).map_err(io("stderr file"))?;
        let mut child = Command::new(&launch.binary)
            .args(["-machine", "q35", "-display", "none", "-nodefaults"])
            .args(["-device", &device, "-accel", "qtest"])
            .arg("-bios")
            .arg(&launch.bios)
            .arg("-qtest")
            .arg(format!("unix:{}", qtest_path.display()))
            .arg("-qmp")
            .arg(format!("unix:{}", qmp_path.display()))
            .args(["-qtest-log", "/dev/null"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", launch.binary.display()))?;
        let qtest = accept(&qtest_listener, &mut child, "qtest")?;
        let qmp = accept(&qmp_listener, &mut child, "QMP")?;
        let mut qemu = Self {
            child,
            qtest: BufReader::new(qtest),
            qmp: BufReader::new(qmp),
            devfn: 0,
            msi_cap: 0,
            raised: BTreeSet::new(),
            command: 0,
            stderr_path,
            dead: false,
        };
        qemu.qmp_line()?;
        qemu.qmp_command("qmp_capabilities")?;
        qemu.cmd("irq_intercept_in ioapic")?;
        qemu.find_edu()?;
        qemu.configure_pci()?;
        Ok(qemu)
    }

    /// What QEMU wrote to standard error (the abort message, when it aborted).
    #[must_use]
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn qmp_line(&mut self) -> Result<String, Error> {
        let mut line = String::new();
        let n = self.qmp.read_line(&mut line).map_err(io("QMP read"))?;
        if n == 0 {
            return Err("QMP closed".to_owned());
        }
        Ok(line)
    }

    /// Runs a QMP command; returns the lines (events) that came before its answer.
    fn qmp_command(&mut self, name: &str) -> Result<Vec<String>, Error> {
        let text = format!("{{\"execute\": \"{name}\"}}\n");
        self.qmp
            .get_mut()
            .write_all(text.as_bytes())
            .map_err(io("QMP write"))?;
        let mut before = Vec::new();
        loop {
            let line = self.qmp_line()?;
            if line.contains("\"return\"") {
                return Ok(before);
            }
            if line.contains("\"error\"") {
                return Err(format!("QMP {name}: {line}"));
            }
            before.push(line);
        }
    }

    /// Sends one qtest command and returns the text after `OK`.
    fn cmd(&mut self, command: &str) -> Result<String, Error> {
        if self.dead {
            return Err("QEMU is gone".to_owned());
        }
        let sent = self
            .qtest
            .get_mut()
            .write_all(format!("{command}\n").as_bytes());
        if sent.is_err() {
            return Err(self.died());
        }
        loop {
            let mut line = String::new();
            let n = self.qtest.read_line(&mut line).map_err(io("qtest read"))?;
            if n == 0 {
                return Err(self.died());
            }
            let line = line.trim_end();
            if let Some(irq) = line.strip_prefix("IRQ ") {
                self.irq_line(irq);
            } else if let Some(rest) = line.strip_prefix("OK") {
                return Ok(rest.trim().to_owned());
            } else {
                return Err(format!("qtest {command:?}: {line}"));
            }
        }
    }

    fn died(&mut self) -> Error {
        self.dead = true;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        "QEMU is gone".to_owned()
    }

    fn irq_line(&mut self, text: &str) {
        let mut words = text.split_whitespace();
        let (Some(kind), Some(pin)) = (words.next(), words.next()) else {
            return;
        };
        let Ok(pin) = pin.parse::<u32>() else {
            return;
        };
        if pin < FIRST_PCI_GSI {
            return;
        }
        if kind == "raise" {
            self.raised.insert(pin);
        } else {
            self.raised.remove(&pin);
        }
    }

    const fn config_address(&self, offset: u32) -> u32 {
        0x8000_0000 | (self.devfn << 8) | (offset & 0xFC)
    }

    fn config_read(&mut self, offset: u32) -> Result<u32, Error> {
        self.cmd(&format!("outl 0xcf8 {:#x}", self.config_address(offset)))?;
        let value = parse_hex(&self.cmd("inl 0xcfc")?)?;
        u32::try_from(value).map_err(|e| e.to_string())
    }

    fn config_write(&mut self, offset: u32, value: u32) -> Result<(), Error> {
        self.cmd(&format!("outl 0xcf8 {:#x}", self.config_address(offset)))?;
        self.cmd(&format!("outl 0xcfc {value:#x}"))?;
        Ok(())
    }

    fn find_edu(&mut self) -> Result<(), Error> {
        for slot in 0..32 {
            self.devfn = slot << 3;
            if self.config_read(0)? == 0x11E8_1234 {
                let mut cap = self.config_read(0x34)? & 0xFC;
                while cap != 0 {
                    let header = self.config_read(cap)?;
                    if header & 0xFF == 0x05 {
                        self.msi_cap = cap;
                        return Ok(());
                    }
                    cap = (header >> 8) & 0xFC;
                }
                return Err("edu has no MSI capability".to_owned());
            }
        }
        Err("no edu device on bus 0".to_owned())
    }

    fn configure_pci(&mut self) -> Result<(), Error> {
        let bar = u32::try_from(BAR0).map_err(|e| e.to_string())?;
        self.config_write(0x10, bar)?;
        let cap = self.msi_cap;
        let msi_low = u32::try_from(MSI_CATCHER).map_err(|e| e.to_string())?;
        self.config_write(cap + 4, msi_low)?;
        self.config_write(cap + 8, 0)?;
        self.config_write(cap + 12, MSI_DATA)?;
        self.write_command(0x0006)
    }

    fn write_command(&mut self, command: u16) -> Result<(), Error> {
        // Writing 0 to the status half leaves its write-1-to-clear bits alone.
        self.config_write(0x04, u32::from(command))?;
        self.command = command;
        Ok(())
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Target for Qemu {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, Error> {
        let op = match size {
            1 => "readb",
            2 => "readw",
            4 => "readl",
            _ => "readq",
        };
        parse_hex(&self.cmd(&format!("{op} {:#x}", BAR0 + offset))?)
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), Error> {
        let op = match size {
            1 => "writeb",
            2 => "writew",
            4 => "writel",
            _ => "writeq",
        };
        self.cmd(&format!("{op} {:#x} {value:#x}", BAR0 + offset))?;
        Ok(())
    }

    fn mem_write(&mut self, addr: u64, data: &[u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        let mut hex = String::with_capacity(data.len() * 2);
        for byte in data {
            let _ = write!(hex, "{byte:02x}");
        }
        self.cmd(&format!("write {addr:#x} {} 0x{hex}", data.len()))?;
        Ok(())
    }

    fn mem_read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, Error> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let text = self.cmd(&format!("read {addr:#x} {len}"))?;
        let digits = text.trim_start_matches("0x").as_bytes();
        digits
            .chunks(2)
            .map(|pair| {
                let s = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
                u8::from_str_radix(s, 16).map_err(|e| e.to_string())
            })
            .collect()
    }

    fn step(&mut self, ns: u64) -> Result<(), Error> {
        self.cmd(&format!("clock_step {ns}"))?;
        Ok(())
    }

    fn settle(&mut self) -> Result<(), Error> {
        // The factorial thread needs no virtual time, only a little real time.
        std::thread::sleep(Duration::from_millis(20));
        Ok(())
    }

    fn intx_line(&mut self) -> Result<bool, Error> {
        // A round trip flushes the IRQ lines QEMU sent before it.
        self.cmd("clock_step 0")?;
        Ok(!self.raised.is_empty())
    }

    fn intx_status(&mut self) -> Result<bool, Error> {
        Ok(self.config_read(0x04)? & (1 << 19) != 0)
    }

    fn take_msis(&mut self) -> Result<u32, Error> {
        let bytes = self.mem_read(MSI_CATCHER, 4)?;
        let seen = bytes == MSI_DATA.to_le_bytes();
        if seen {
            self.mem_write(MSI_CATCHER, &[0; 4])?;
        }
        Ok(u32::from(seen))
    }

    fn set_command(&mut self, bus_master: bool, intx_disable: bool) -> Result<(), Error> {
        let mut command = 0x0002;
        if bus_master {
            command |= 0x0004;
        }
        if intx_disable {
            command |= 0x0400;
        }
        self.write_command(command)
    }

    fn set_msi(&mut self, on: bool) -> Result<(), Error> {
        let cap = self.msi_cap;
        let header = self.config_read(cap)?;
        let control = if on {
            header | (1 << 16)
        } else {
            header & !(1 << 16)
        };
        self.config_write(cap, control)
    }

    fn reset(&mut self) -> Result<(), Error> {
        let before = self.qmp_command("system_reset")?;
        let mut done = before.iter().any(|line| line.contains("\"RESET\""));
        while !done {
            done = self.qmp_line()?.contains("\"RESET\"");
        }
        self.configure_pci()
    }

    fn alive(&mut self) -> bool {
        !self.dead && matches!(self.child.try_wait(), Ok(None))
    }

    fn bar0(&self) -> u64 {
        BAR0
    }
}

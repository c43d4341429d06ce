//! The kmdf-sim edu model behind the same operations as QEMU: guest RAM, a virtual clock with
//! the model's timers, the `INTx` line and MSI messages.

use kmdf_sim::devices::edu::{Edu, EduConfig};
use kmdf_sim::devices::{BusFault, DmaBus, Effect};

use crate::target::{Error, Target};

/// Guest RAM size of the QEMU side (q35's default, 128 MiB).
const RAM_SIZE: usize = 128 << 20;

/// Guest RAM: reads past its end see no memory (the model then reads zeros, as QEMU's
/// unassigned memory does).
struct Ram(Vec<u8>);

impl Ram {
    fn window(&self, addr: u64, len: usize) -> Result<core::ops::Range<usize>, BusFault> {
        let start = usize::try_from(addr).map_err(|_| BusFault { addr })?;
        let end = start.checked_add(len).ok_or(BusFault { addr })?;
        if end > self.0.len() {
            return Err(BusFault {
                addr: addr.max(u64::try_from(self.0.len()).unwrap_or(u64::MAX)),
            });
        }
        Ok(start..end)
    }
}

impl DmaBus for Ram {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), BusFault> {
        let window = self.window(addr, buf.len())?;
        let src = self.0.get(window).ok_or(BusFault { addr })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), BusFault> {
        let window = self.window(addr, data.len())?;
        let dst = self.0.get_mut(window).ok_or(BusFault { addr })?;
        dst.copy_from_slice(data);
        Ok(())
    }
}

/// The model with its surroundings.
pub(crate) struct Model {
    edu: Edu,
    ram: Ram,
    now: u64,
    /// Pending timers: (deadline, arming order, token).
    timers: Vec<(u64, u64, u64)>,
    armed: u64,
    line: bool,
    msis: u32,
    bar0: u64,
}

impl Model {
    /// A model configured like QEMU's device (`dma_mask` as given), with BAR0 at `bar0`.
    #[must_use]
    pub(crate) fn new(config: EduConfig, bar0: u64) -> Self {
        let mut edu = Edu::new(config);
        edu.set_bar0(Some(bar0));
        Self {
            edu,
            ram: Ram(vec![0; RAM_SIZE]),
            now: 0,
            timers: Vec::new(),
            armed: 0,
            line: false,
            msis: 0,
            bar0,
        }
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::ArmTimer { token, delay_ns } => {
                    self.timers.retain(|&(_, _, t)| t != token);
                    self.armed += 1;
                    self.timers
                        .push((self.now.saturating_add(delay_ns), self.armed, token));
                }
                Effect::CancelTimer { token } => self.timers.retain(|&(_, _, t)| t != token),
                Effect::IntxAssert => self.line = true,
                Effect::IntxDeassert => self.line = false,
                Effect::Msi => self.msis += 1,
            }
        }
    }

    /// Runs every timer due at or before `until`, in deadline order, then sets the clock.
    fn run_until(&mut self, until: u64) {
        loop {
            let next = self
                .timers
                .iter()
                .copied()
                .filter(|&(deadline, _, _)| deadline <= until)
                .min();
            let Some(timer) = next else {
                break;
            };
            self.timers.retain(|&t| t != timer);
            let (deadline, _, token) = timer;
            self.now = self.now.max(deadline);
            self.edu.set_now(self.now);
            let mut effects = Vec::new();
            self.edu.timer_fired(token, &mut self.ram, &mut effects);
            self.apply(effects);
        }
        self.now = until;
        self.edu.set_now(self.now);
    }

    fn check(&self) -> Result<(), Error> {
        if self.edu.fatal().is_some() {
            Err("model aborted".to_owned())
        } else {
            Ok(())
        }
    }
}

impl Target for Model {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, Error> {
        self.check()?;
        Ok(self.edu.mmio_read(offset, size))
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), Error> {
        self.check()?;
        let mut effects = Vec::new();
        self.edu.mmio_write(offset, size, value, &mut effects);
        self.apply(effects);
        Ok(())
    }

    fn mem_write(&mut self, addr: u64, data: &[u8]) -> Result<(), Error> {
        self.check()?;
        self.ram.write(addr, data).map_err(|e| e.to_string())
    }

    fn mem_read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, Error> {
        self.check()?;
        let mut buf = vec![0; len];
        self.ram.read(addr, &mut buf).map_err(|e| e.to_string())?;
        Ok(buf)
    }

    fn step(&mut self, ns: u64) -> Result<(), Error> {
        self.check()?;
        self.run_until(self.now.saturating_add(ns));
        self.check()
    }

    fn settle(&mut self) -> Result<(), Error> {
        self.check()?;
        // The tool configures a zero factorial delay: due timers run without moving the clock.
        self.run_until(self.now);
        Ok(())
    }

    fn intx_line(&mut self) -> Result<bool, Error> {
        self.check()?;
        Ok(self.line)
    }

    fn intx_status(&mut self) -> Result<bool, Error> {
        self.check()?;
        Ok(self.edu.intx_level())
    }

    fn take_msis(&mut self) -> Result<u32, Error> {
        self.check()?;
        // QEMU's side can only see whether a message arrived since the last look.
        let seen = u32::from(self.msis > 0);
        self.msis = 0;
        Ok(seen)
    }

    fn set_command(&mut self, bus_master: bool, intx_disable: bool) -> Result<(), Error> {
        self.check()?;
        self.edu.set_bus_master(bus_master);
        let effect = self.edu.set_intx_disable(intx_disable);
        self.apply(effect.into_iter().collect());
        Ok(())
    }

    fn set_msi(&mut self, on: bool) -> Result<(), Error> {
        self.check()?;
        let effect = self.edu.set_msi_enabled(on);
        self.apply(effect.into_iter().collect());
        Ok(())
    }

    fn reset(&mut self) -> Result<(), Error> {
        self.check()?;
        let mut effects = Vec::new();
        self.edu.pci_reset(&mut effects);
        self.apply(effects);
        // As the QEMU side does after a reset: memory space and bus mastering on again.
        self.edu.set_bus_master(true);
        Ok(())
    }

    fn alive(&mut self) -> bool {
        self.edu.fatal().is_none()
    }

    fn bar0(&self) -> u64 {
        self.bar0
    }
}

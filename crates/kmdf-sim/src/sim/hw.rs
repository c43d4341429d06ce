//! Hardware attached to the simulated machine: device models behind a BAR, their interrupt
//! lines, their resources, and the MMIO mappings the driver makes of them.

use std::collections::HashMap;

use super::mem::Bus;
use super::objects::Id;
use super::{Event, State};
use crate::devices::Effect;
use crate::devices::edu::{Edu, EduConfig};
use crate::devices::sysdma::{ControllerConfig, DmaController, FifoPeripheral};
use crate::mirror::constants::{
    CM_RESOURCE_INTERRUPT_MESSAGE, CmResourceTypeDma, CmResourceTypeInterrupt, CmResourceTypeMemory,
};
use crate::mirror::types::{
    _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_3 as InterruptDesc,
    _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_5 as MemoryDesc,
    _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_6 as DmaDesc,
    CM_PARTIAL_RESOURCE_DESCRIPTOR, PHYSICAL_ADDRESS,
};
use crate::verifier::Severity;

/// Where MMIO mappings of the simulated machine appear in the driver's address space.
const MMIO_VA_BASE: u64 = 0x0000_7B00_0000_0000;
/// Distance between the mappings of two devices.
const MMIO_VA_STRIDE: u64 = 0x1000_0000;

/// The device model behind a BAR.
pub(crate) enum Model {
    /// QEMU's edu device.
    Edu(Box<Edu>),
    /// A FIFO peripheral served by a platform DMA controller.
    System {
        peripheral: Box<FifoPeripheral>,
        controller: Box<DmaController>,
    },
}

/// Which model part armed a timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    Device,
    Controller,
}

/// One piece of hardware.
pub(crate) struct Hardware {
    pub(crate) model: Model,
    pub(crate) bar_base: u64,
    pub(crate) bar_len: u64,
    pub(crate) msi: bool,
    /// The interrupt vector in the resource list.
    pub(crate) vector: u32,
    pub(crate) intx: bool,
    pub(crate) device: Option<Id>,
    pub(crate) interrupt: Option<Id>,
    pub(crate) mapped: Option<u64>,
    pub(crate) timers: HashMap<(Source, u64), (u64, u64, u64)>,
    pub(crate) resources: Vec<CM_PARTIAL_RESOURCE_DESCRIPTOR>,
    /// Controller channel and request line of a system-DMA peripheral.
    pub(crate) dma_channel: Option<(u32, u32)>,
    /// The system transaction the controller is currently serving.
    pub(crate) active_tx: Option<(Id, u64)>,
}

/// What to attach.
#[derive(Clone, Debug)]
pub enum HardwareConfig {
    /// An edu device at a PCI slot.
    Edu {
        /// Device configuration.
        config: EduConfig,
        /// Whether the OS enabled MSI (the INF opts in; Windows then uses a message interrupt).
        msi: bool,
    },
    /// A system-DMA FIFO peripheral with its controller channel.
    SystemDma {
        /// Controller configuration.
        controller: ControllerConfig,
    },
}

/// Resources the PnP manager assigns when it restarts a device after a stop (a rebalance).
/// Fields left `None` keep their current value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NewResources {
    /// The BAR's new physical address (must not overlap another device's BAR).
    pub bar_base: Option<u64>,
    /// The interrupt's new vector (edu).
    pub vector: Option<u32>,
    /// Message-signalled (`true`) or line-based (`false`) interrupt (edu).
    pub msi: Option<bool>,
    /// The DMA controller channel and request line (system DMA peripheral).
    pub dma_request: Option<(u32, u32)>,
}

/// A `CmResourceType*` value as the descriptor's `UCHAR`.
fn resource_type(kind: u32) -> u8 {
    u8::try_from(kind).unwrap_or(0)
}

fn memory(start: u64, len: u32) -> CM_PARTIAL_RESOURCE_DESCRIPTOR {
    let mut d = CM_PARTIAL_RESOURCE_DESCRIPTOR {
        Type: resource_type(CmResourceTypeMemory),
        ..Default::default()
    };
    d.u.Memory = MemoryDesc {
        Start: PHYSICAL_ADDRESS {
            QuadPart: start.cast_signed(),
        },
        Length: len,
    };
    d
}

/// The interrupt vector a device gets at its first start.
const FIRST_VECTOR: u32 = 0x51;

fn interrupt(msi: bool, vector: u32) -> CM_PARTIAL_RESOURCE_DESCRIPTOR {
    let flags = if msi {
        u16::try_from(CM_RESOURCE_INTERRUPT_MESSAGE).unwrap_or(0)
    } else {
        0
    };
    let mut d = CM_PARTIAL_RESOURCE_DESCRIPTOR {
        Type: resource_type(CmResourceTypeInterrupt),
        Flags: flags,
        ..Default::default()
    };
    d.u.Interrupt = InterruptDesc {
        Level: 11,
        Vector: vector,
        Affinity: 1,
    };
    d
}

fn dma(channel: u32, line: u32) -> CM_PARTIAL_RESOURCE_DESCRIPTOR {
    let mut d = CM_PARTIAL_RESOURCE_DESCRIPTOR {
        Type: resource_type(CmResourceTypeDma),
        ..Default::default()
    };
    d.u.Dma = DmaDesc {
        Channel: channel,
        Port: line,
        Reserved1: 0,
    };
    d
}

impl State {
    /// Attaches hardware; returns its index.
    pub(crate) fn attach(&mut self, config: &HardwareConfig) -> usize {
        let index = self.hw.len();
        let bar_base = 0xFE00_0000 + (index as u64) * 0x10_0000;
        let (model, bar_len, msi, resources, dma_channel) = match config {
            HardwareConfig::Edu { config, msi } => {
                let mut edu = Edu::new(config.clone());
                edu.set_msi_enabled(*msi);
                let resources = vec![memory(bar_base, 0x10_0000), interrupt(*msi, FIRST_VECTOR)];
                (Model::Edu(Box::new(edu)), 0x10_0000, *msi, resources, None)
            }
            HardwareConfig::SystemDma { controller } => {
                // Each peripheral gets its own request line on channel 3 (7 for the first).
                let earlier = self
                    .hw
                    .iter()
                    .filter(|h| matches!(h.model, Model::System { .. }))
                    .count();
                let line = 7 + u32::try_from(earlier).unwrap_or(0);
                let peripheral = Box::new(FifoPeripheral::new());
                let controller = Box::new(DmaController::new(controller.clone()));
                let resources = vec![memory(bar_base, 0x1000), dma(3, line)];
                (
                    Model::System {
                        peripheral,
                        controller,
                    },
                    0x1000,
                    false,
                    resources,
                    Some((3, line)),
                )
            }
        };
        self.hw.push(Hardware {
            model,
            bar_base,
            bar_len,
            msi,
            vector: FIRST_VECTOR,
            intx: false,
            device: None,
            interrupt: None,
            mapped: None,
            timers: HashMap::new(),
            resources,
            dma_channel,
            active_tx: None,
        });
        index
    }

    /// Assigns new resources to hardware `index` (its device is stopped: no mapping, no
    /// connected interrupt). The hardware answers at the new BAR address, raises the new kind
    /// of interrupt and serves the new request line from now on.
    ///
    /// # Panics
    /// If the new BAR overlaps another device's, or the hardware does not exist.
    pub(crate) fn reassign(&mut self, index: usize, new: NewResources) {
        let bar_len = self.hw.get(index).map(|h| h.bar_len).unwrap_or_default();
        if let Some(base) = new.bar_base {
            let overlaps = self.hw.iter().enumerate().any(|(i, h)| {
                i != index && base < h.bar_base + h.bar_len && h.bar_base < base + bar_len
            });
            assert!(
                !overlaps,
                "kmdf-sim: BAR {base:#x} overlaps another device's"
            );
        }
        let Some(hw) = self.hw.get_mut(index) else {
            #[expect(clippy::panic, reason = "a test named hardware that does not exist")]
            {
                panic!("kmdf-sim: no hardware {index}")
            }
        };
        let old_base = hw.bar_base;
        let mut effects = Vec::new();
        if let Some(base) = new.bar_base {
            hw.bar_base = base;
        }
        if let Some(msi) = new.msi {
            hw.msi = msi;
            if let Model::Edu(edu) = &mut hw.model {
                effects.extend(edu.set_msi_enabled(msi));
            }
        }
        if let Some(vector) = new.vector {
            hw.vector = vector;
        }
        if let Some(request) = new.dma_request {
            hw.dma_channel = Some(request);
        }
        if let Model::System { controller, .. } = &mut hw.model
            && controller.data_port() == Some(FifoPeripheral::data_port_addr(old_base))
        {
            controller.set_data_port(Some(FifoPeripheral::data_port_addr(hw.bar_base)));
        }
        for d in &mut hw.resources {
            let kind = u32::from(d.Type);
            if kind == CmResourceTypeMemory {
                *d = memory(hw.bar_base, u32::try_from(hw.bar_len).unwrap_or(u32::MAX));
            } else if kind == CmResourceTypeInterrupt {
                *d = interrupt(hw.msi, hw.vector);
            } else if kind == CmResourceTypeDma
                && let Some((channel, line)) = hw.dma_channel
            {
                *d = dma(channel, line);
            }
        }
        self.apply_effects(index, Source::Device, effects);
    }

    /// `MmMapIoSpaceEx`: maps a BAR; returns the virtual address or 0.
    pub(crate) fn map_io(&mut self, phys: u64, len: u64) -> u64 {
        let found = self
            .hw
            .iter()
            .position(|h| phys >= h.bar_base && phys + len <= h.bar_base + h.bar_len);
        let Some(index) = found else {
            self.finding(
                "MMIO",
                Severity::Error,
                format!("MmMapIoSpaceEx: {phys:#x}+{len:#x} is no device's BAR"),
            );
            return 0;
        };
        let va = MMIO_VA_BASE + index as u64 * MMIO_VA_STRIDE;
        let Some(hw) = self.hw.get_mut(index) else {
            return 0;
        };
        if hw.mapped.is_some() {
            self.finding(
                "MMIO",
                Severity::Warning,
                format!("MmMapIoSpaceEx: BAR {phys:#x} mapped twice"),
            );
        }
        if let Some(hw) = self.hw.get_mut(index) {
            hw.mapped = Some(va);
        }
        va + (phys - self.hw.get(index).map_or(0, |h| h.bar_base))
    }

    /// `MmUnmapIoSpace`.
    pub(crate) fn unmap_io(&mut self, va: u64) {
        let index = va.checked_sub(MMIO_VA_BASE).map(|o| o / MMIO_VA_STRIDE);
        match index
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.hw.get_mut(i))
        {
            Some(hw) if hw.mapped.is_some() => hw.mapped = None,
            _ => self.finding(
                "MMIO",
                Severity::Fatal,
                format!("MmUnmapIoSpace: {va:#x} is not mapped"),
            ),
        }
    }

    /// Resolves an MMIO access; reports accesses through unmapped or foreign addresses.
    fn mmio_target(&mut self, va: u64, size: u8) -> Option<(usize, u64)> {
        let index = va.checked_sub(MMIO_VA_BASE).map(|o| o / MMIO_VA_STRIDE);
        let index = index.and_then(|i| usize::try_from(i).ok());
        let ok = index.and_then(|i| self.hw.get(i)).and_then(|hw| {
            let base = hw.mapped?;
            let offset = va.checked_sub(base)?;
            (offset + u64::from(size) <= hw.bar_len).then_some(offset)
        });
        if let (Some(i), Some(offset)) = (index, ok) {
            Some((i, offset))
        } else {
            self.finding(
                "MMIO",
                Severity::Fatal,
                format!("register access at {va:#x}: not inside a live MmMapIoSpaceEx mapping"),
            );
            None
        }
    }

    /// A register read from the driver.
    pub(crate) fn mmio_read(&mut self, va: u64, size: u8) -> u64 {
        self.stats.register_accesses += 1;
        let Some((index, offset)) = self.mmio_target(va, size) else {
            return u64::MAX;
        };
        let Some(hw) = self.hw.get_mut(index) else {
            return u64::MAX;
        };
        match &mut hw.model {
            Model::Edu(edu) => edu.mmio_read(offset, size),
            Model::System { peripheral, .. } => peripheral.mmio_read(offset, size),
        }
    }

    /// A register write from the driver.
    pub(crate) fn mmio_write(&mut self, va: u64, size: u8, value: u64) {
        self.stats.register_accesses += 1;
        let Some((index, offset)) = self.mmio_target(va, size) else {
            return;
        };
        let mut effects = Vec::new();
        if let Some(hw) = self.hw.get_mut(index) {
            match &mut hw.model {
                Model::Edu(edu) => {
                    edu.set_now(self.now);
                    edu.mmio_write(offset, size, value, &mut effects);
                }
                Model::System { peripheral, .. } => {
                    peripheral.mmio_write(offset, size, value, &mut effects);
                }
            }
        }
        self.apply_effects(index, Source::Device, effects);
    }

    /// Turns model effects into events and interrupt-line changes.
    pub(crate) fn apply_effects(&mut self, index: usize, source: Source, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::ArmTimer { token, delay_ns } => {
                    self.seq += 1;
                    let tie = self.rng.next_u64();
                    let key = (self.now + delay_ns, tie, self.seq);
                    self.queue.insert(
                        key,
                        Event::Device {
                            hw: index,
                            token,
                            controller: source == Source::Controller,
                        },
                    );
                    if let Some(hw) = self.hw.get_mut(index) {
                        hw.timers.insert((source, token), key);
                    }
                }
                Effect::CancelTimer { token } => {
                    if let Some(key) = self
                        .hw
                        .get_mut(index)
                        .and_then(|h| h.timers.remove(&(source, token)))
                    {
                        self.queue.remove(&key);
                    }
                }
                Effect::IntxAssert => {
                    if let Some(hw) = self.hw.get_mut(index) {
                        hw.intx = true;
                    }
                    self.raise_interrupt(index);
                }
                Effect::IntxDeassert => {
                    if let Some(hw) = self.hw.get_mut(index) {
                        hw.intx = false;
                    }
                }
                Effect::Msi => self.raise_interrupt(index),
            }
        }
    }

    /// Signals the interrupt object connected to a device, if any.
    pub(crate) fn raise_interrupt(&mut self, index: usize) {
        let Some(interrupt) = self.hw.get(index).and_then(|h| h.interrupt) else {
            return;
        };
        let pending = match self.obj_mut(interrupt).map(|o| &mut o.kind) {
            Some(super::objects::Kind::Interrupt(i)) if i.connected && !i.isr_pending => {
                i.isr_pending = true;
                true
            }
            _ => false,
        };
        if pending {
            let latency = self.delay((200, 2_000));
            self.schedule(
                latency,
                Event::Isr {
                    interrupt,
                    message: 0,
                },
            );
        }
    }

    /// A device-model timer fired.
    pub(crate) fn device_timer(&mut self, index: usize, token: u64, controller: bool) {
        let source = if controller {
            Source::Controller
        } else {
            Source::Device
        };
        let mut effects = Vec::new();
        let windows = if self.policy.check_dma_windows {
            Some(self.dma_windows())
        } else {
            None
        };
        let Self { hw, mem, .. } = self;
        let Some(hardware) = hw.get_mut(index) else {
            return;
        };
        hardware.timers.remove(&(source, token));
        let mut bus = Bus::checked(mem, windows.as_deref());
        match &mut hardware.model {
            Model::Edu(edu) => {
                edu.set_now(self.now);
                edu.timer_fired(token, &mut bus, &mut effects);
            }
            Model::System {
                peripheral,
                controller: ctl,
            } => {
                if controller {
                    ctl.timer_fired(token, &mut bus, peripheral, &mut effects);
                } else {
                    peripheral.timer_fired(token, &mut effects);
                }
            }
        }
        let strays = bus.strays;
        if let Some(&(address, length, write)) = strays.first() {
            let access = if write { "wrote" } else { "read" };
            let more = strays.len() - 1;
            self.finding(
                "DMA-END",
                Severity::Fatal,
                format!("the device {access} {length} byte(s) at bus address {address:#x} (and {more} more access(es)), outside every mapped transfer and common buffer: DMA after the end (its transaction ended, its map registers were freed or its request was completed); Driver Verifier's DMA checks bugcheck (0xE6)"),
            );
        }
        self.apply_effects(index, source, effects);
        if controller {
            let _ = self.controller_completions(index, false);
        }
    }

    /// Runs the pending timers of the system DMA controller that serves transaction `tx` now,
    /// instead of when they are due: a controller that finishes a short transfer at once.
    pub(crate) fn run_controller_now(&mut self, tx: super::objects::Id) {
        let Some((enabler, direction)) = self.tx(tx).map(|t| (t.enabler, t.direction)) else {
            return;
        };
        let Some(config) = self.enabler(enabler).and_then(|e| e.system_for(direction)) else {
            return;
        };
        let index = config.hw;
        let due: Vec<(u64, (u64, u64, u64))> = self
            .hw
            .get(index)
            .map(|h| {
                h.timers
                    .iter()
                    .filter(|((source, _), _)| *source == Source::Controller)
                    .map(|((_, token), key)| (*token, *key))
                    .collect()
            })
            .unwrap_or_default();
        let mut due = due;
        due.sort_unstable_by_key(|(_, key)| *key);
        for (token, key) in due {
            self.queue.remove(&key);
            self.device_timer(index, token, true);
        }
    }
}

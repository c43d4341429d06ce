//! Device add, hardware preparation and release, and power transitions.

use crate::context::{DeviceContext, Hardware, IoState, Personality};
use crate::regs::{self, ctrl};
use kmdf_safe::dma::{
    AddressWidth, BusMaster, DmaChannel, DmaEnabler, DmaWidth, EnablerConfig, Profile, SystemMode,
};
use kmdf_safe::interrupt::Interrupt;
use kmdf_safe::irql::Passive;
use kmdf_safe::log::{error, info, trace, warning};
use kmdf_safe::mmio::Bar;
use kmdf_safe::request::{Dispatching, Queue};
use kmdf_safe::sync::SpinLock;
use kmdf_safe::timer::Timer;
use kmdf_safe::{
    Device, DeviceHandler, DeviceInit, Driver, Error, HardwareSlot, PowerState, Prepare, Release,
    Resource, Resources, Result,
};

/// The driver.
pub struct EduDriver;

/// The device interface applications open (`edu_api::GUID_DEVINTERFACE_EDU_DMA`).
const INTERFACE: kmdf_safe::Guid = {
    let guid = edu_api::GUID_DEVINTERFACE_EDU_DMA;
    kmdf_safe::Guid {
        data1: guid.data1,
        data2: guid.data2,
        data3: guid.data3,
        data4: guid.data4,
    }
};

impl Driver for EduDriver {
    const LOG_PREFIX: &'static str = "edu-dma";

    fn device_add(mut init: DeviceInit<'_>, cx: &mut Passive<'_>) -> Result {
        let params = crate::params::Parameters::read(&init, cx);
        init.set_direct_io();
        init.create::<DeviceContext>(
            |device, cx| {
                let queue =
                    Queue::create_default::<DeviceContext>(device, Dispatching::Sequential, cx)?;
                let watchdog = Timer::create::<DeviceContext>(device, cx)?;
                let io = SpinLock::create(device, IoState::default(), cx)?;
                device.create_interface(&INTERFACE, cx)?;
                Ok(DeviceContext {
                    device,
                    queue,
                    watchdog,
                    isr: crate::context::IsrRecord::default(),
                    recovery_armed: kmdf_safe::atomic::AtomicBool::new(false),
                    hw: HardwareSlot::default(),
                    io,
                    params,
                })
            },
            cx,
        )?;
        Ok(())
    }
}

/// What prepare-hardware found in the resource list.
struct Found<'a> {
    memory: Option<(u64, u32)>,
    interrupt: Option<kmdf_safe::device::InterruptResource<'a>>,
    dma: Option<kmdf_safe::device::DmaResource<'a>>,
}

fn scan<'a>(resources: &'a Resources<'_>) -> Found<'a> {
    let mut found = Found {
        memory: None,
        interrupt: None,
        dma: None,
    };
    for resource in resources.iter() {
        match resource {
            Resource::Memory { start, length } if found.memory.is_none() => {
                found.memory = Some((start, length));
            }
            Resource::Interrupt(interrupt) if found.interrupt.is_none() => {
                found.interrupt = Some(interrupt);
            }
            Resource::Dma(dma) if found.dma.is_none() => found.dma = Some(dma),
            _ => {}
        }
    }
    found
}

/// Checks the edu identification and that MMIO works (liveness register).
///
/// # Errors
/// `STATUS_DEVICE_HARDWARE_ERROR` when the device is not an edu 1.x or MMIO does not work.
fn check_edu(bar: &Bar) -> Result {
    let identification = bar.read::<regs::Identification>().0;
    if !regs::is_edu(identification) {
        error!("start: identification {identification:#010x} is not an edu 1.x");
        return Err(Error::DEVICE_HARDWARE_ERROR);
    }
    let probe = 0x5A5A_0F0F;
    bar.write(regs::Liveness(probe));
    let answer = bar.read::<regs::Liveness>().0;
    if answer != !probe {
        error!("start: liveness check read {answer:#010x} for {probe:#010x}: MMIO does not work");
        return Err(Error::DEVICE_HARDWARE_ERROR);
    }
    Ok(())
}

/// Builds the bus-master personality (edu).
///
/// # Errors
/// A failing identification or liveness check, no interrupt resource, or a failing DDI.
fn bus_master(
    device: Device,
    bar: &Bar,
    resources: &Found<'_>,
    cx: &Passive<'_>,
) -> Result<Personality> {
    check_edu(bar)?;
    let Some(interrupt_resource) = resources.interrupt else {
        error!("start: no interrupt resource for the edu");
        return Err(Error::DEVICE_HARDWARE_ERROR);
    };
    let config = EnablerConfig {
        profile: Profile::Packet,
        maximum_length: regs::BUFFER_SIZE,
        address_width: AddressWidth::new(regs::EDU_ADDRESS_BITS),
    };
    let enabler = DmaEnabler::create(device, &config, cx)?;
    let channel = DmaChannel::<BusMaster>::create::<DeviceContext>(&enabler, device, cx)?;
    let interrupt = Interrupt::create::<DeviceContext>(device, &interrupt_resource, cx)?;
    Ok(Personality::BusMaster {
        enabler,
        channel,
        interrupt,
        msi: interrupt_resource.message,
    })
}

/// Builds the system-mode personality (FIFO peripheral on a DMA controller channel).
///
/// # Errors
/// A wrong identification, or a failing DDI.
fn system(
    device: Device,
    bar: &Bar,
    bar_start: u64,
    resources: &Found<'_>,
    cx: &Passive<'_>,
) -> Result<Personality> {
    let identification = bar.read::<regs::PeripheralId>().0;
    if identification != regs::PERIPHERAL_ID {
        error!(
            "start: peripheral identification {identification:#010x} is not the FIFO peripheral"
        );
        return Err(Error::DEVICE_HARDWARE_ERROR);
    }
    let Some(channel_resource) = resources.dma else {
        return Err(Error::DEVICE_HARDWARE_ERROR);
    };
    let config = EnablerConfig {
        profile: Profile::System,
        maximum_length: regs::BUFFER_SIZE,
        address_width: None,
    };
    let enabler = DmaEnabler::create(device, &config, cx)?;
    enabler.configure_system(
        &channel_resource,
        bar_start + regs::PERIPHERAL_DATA_PORT,
        DmaWidth::Bits8,
        true,
        cx,
    )?;
    let channel = DmaChannel::<SystemMode>::create::<DeviceContext>(&enabler, device, cx)?;
    Ok(Personality::System { enabler, channel })
}

impl DeviceHandler for DeviceContext {
    fn prepare_hardware(
        &self,
        device: Device,
        resources: &Resources<'_>,
        slot: &Prepare<'_>,
        cx: &mut Passive<'_>,
    ) -> Result {
        let found = scan(resources);
        let Some((start, length)) = found.memory else {
            error!("start: no memory resource (BAR0)");
            return Err(Error::DEVICE_HARDWARE_ERROR);
        };
        let bar = Bar::map(start, length as usize, cx).inspect_err(|error| {
            error!("start: mapping BAR0 at {start:#x} ({length} bytes) failed: {error:?}");
        })?;
        let (personality, ring) = if found.dma.is_some() {
            (system(device, &bar, start, &found, cx), regs::BUFFER_SIZE)
        } else {
            (
                bus_master(device, &bar, &found, cx),
                self.params.usable_ring_bytes,
            )
        };
        match personality {
            Ok(personality) => {
                log_start(start, length, &personality, &found);
                self.hw.set(
                    Hardware {
                        bar,
                        personality,
                        ring,
                    },
                    slot,
                );
                Ok(())
            }
            Err(error) => {
                error!("start failed: {error:?}");
                // Objects already created are the device's children and go with it.
                bar.unmap(cx);
                Err(error)
            }
        }
    }

    fn release_hardware(
        &self,
        _device: Device,
        slot: &Release<'_>,
        cx: &mut Passive<'_>,
    ) -> Result {
        let stats = self.io.lock(&cx.up_to_dispatch()).stats;
        info!(
            "release: {} requests ({} cancelled, {} timed out, {} failed), {} bytes read, {} bytes written, {} interrupts",
            stats.requests,
            stats.cancelled,
            stats.timeouts,
            stats.errors,
            stats.bytes_read,
            stats.bytes_written,
            stats.interrupts
        );
        if let Some(hardware) = self.hw.take(slot) {
            let Hardware {
                bar, personality, ..
            } = hardware;
            bar.unmap(cx);
            match personality {
                // The interrupt object is deleted by the framework after release-hardware;
                // deleting the enabler deletes its transaction and the channel's lock.
                Personality::BusMaster { enabler, .. } | Personality::System { enabler, .. } => {
                    enabler.delete(cx);
                }
            }
        }
        Ok(())
    }

    fn d0_entry(&self, _device: Device, previous: PowerState, _cx: &mut Passive<'_>) -> Result {
        let Some(hw) = self.hw.get() else {
            error!("D0 entry without prepared hardware");
            return Err(Error::DEVICE_NOT_READY);
        };
        info!("D0 entry from {previous:?}: resetting the device's interrupt and control state");
        match &hw.personality {
            Personality::BusMaster { .. } => {
                // The model keeps state across resets: drop stale causes and the factorial
                // interrupt enable before interrupts are connected (edu-device.md §11.2).
                regs::clear_causes(&hw.bar);
                hw.bar.write(regs::DeviceStatus(0));
            }
            Personality::System { .. } => hw.bar.write(regs::PeripheralCtrl(ctrl::RESET)),
        }
        Ok(())
    }

    fn d0_exit_pre_interrupts_disabled(
        &self,
        _device: Device,
        _target: PowerState,
        cx: &mut Passive<'_>,
    ) -> Result {
        // The watchdog takes the interrupt lock: it must be finished (on every processor)
        // before the framework disconnects the interrupt. Every request has been completed or
        // acknowledged by now (EvtIoStop), so nothing starts it again.
        let _was_queued = self.watchdog.cancel_and_wait(cx);
        Ok(())
    }

    fn d0_exit(&self, _device: Device, _target: PowerState, cx: &mut Passive<'_>) -> Result {
        // After this the watchdog callback is not running and will not run.
        let _was_queued = self.watchdog.cancel_and_wait(cx);
        if let Some(Hardware {
            bar,
            personality: Personality::System { .. },
            ..
        }) = self.hw.get()
        {
            bar.write(regs::PeripheralCtrl(0));
        }
        Ok(())
    }

    fn surprise_removal(&self, _device: Device, cx: &mut Passive<'_>) {
        // Only the record: no request is completed or cancelled from here
        // (EvtSurpriseRemoveNoRequestComplete, NoCancelFromEvtSurpriseRemove). The framework
        // purges the queue next, and EvtIoStop(Purge) ends the operation in flight, which then
        // completes as removed; the edu's registers already read all ones, so no new transfer
        // can start meanwhile.
        let busy = {
            let up = cx.up_to_dispatch();
            let mut io = self.io.lock(&up);
            io.removed = true;
            if io.op.is_some() {
                io.end.get_or_insert(crate::context::EndReason::Removed);
            }
            io.op.is_some()
        };
        warning!("surprise removal: the device is gone; a request in flight: {busy}");
    }
}

/// Logs what start found and chose (info level).
fn log_start(start: u64, length: u32, personality: &Personality, found: &Found<'_>) {
    match personality {
        Personality::BusMaster { msi, .. } => info!(
            "start: edu at BAR0 {start:#x} ({length} bytes), bus-master DMA (packet profile, {}-bit addresses), {} interrupt",
            regs::EDU_ADDRESS_BITS,
            if *msi { "MSI" } else { "line-based" }
        ),
        Personality::System { .. } => {
            let (channel, line) = found
                .dma
                .map_or((0, 0), |dma| (dma.channel, dma.request_line));
            info!(
                "start: FIFO peripheral at BAR0 {start:#x} ({length} bytes), system-mode DMA on controller channel {channel}, request line {line}"
            );
        }
    }
}

/// Logs a request's completion: a warning for a failure the device or the framework caused,
/// a trace line for everything else (successes, cancellations, invalid requests).
pub(crate) fn log_completion(status: kmdf_safe::Status, information: usize) {
    match status.ok() {
        Err(
            Error::IO_TIMEOUT
            | Error::DEVICE_REMOVED
            | Error::DEVICE_DATA_ERROR
            | Error::DEVICE_NOT_READY
            | Error::DEVICE_HARDWARE_ERROR
            | Error::INSUFFICIENT_RESOURCES,
        ) => warning!("request failed: {status:?} after {information} bytes"),
        _ => trace!("request completed: {status:?}, {information} bytes"),
    }
}

//! The simulated machine as a test sees it: load a driver, plug devices, send I/O, inject
//! faults, run virtual time, and read the verifier's report.

use std::marker::PhantomData;

use crate::devices::edu::{Edu, EduFault};
use crate::devices::sysdma::{ControllerFault, DmaController, FifoPeripheral};
use crate::mirror::types::_WDF_POWER_DEVICE_STATE;
use crate::mirror::types::{GUID, NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT, UNICODE_STRING};
use crate::sim::hw::{HardwareConfig, Model, NewResources, Source};
use crate::sim::io::{IoCompletion, IoOp};
use crate::sim::objects::handle;
use crate::sim::objects::{DevicePower, Kind};
use crate::sim::pnp;
use crate::sim::sched::AtDdi;
use crate::sim::{self, Event, Irql, Policy, State, Stats, engine, with};
use crate::verifier::{Finding, Report, RuleCoverage, Severity};

/// A driver's `DriverEntry`.
pub type DriverEntry = unsafe extern "system" fn(PDRIVER_OBJECT, PCUNICODE_STRING) -> NTSTATUS;

/// An I/O request sent by [`Machine::submit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Irp(pub u64);

/// A device the driver created for a piece of hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceHandle {
    id: usize,
    /// Index of the hardware it drives.
    pub hw: usize,
}

/// The system sleep state of [`Machine::sleep`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemSleep {
    /// S3, suspend to RAM.
    S3,
    /// S4, hibernation.
    S4,
}

/// How to build a machine.
#[derive(Clone, Debug, Default)]
pub struct MachineConfig {
    /// The seed of every choice the machine makes.
    pub seed: u64,
    /// Framework and HAL tunables.
    pub policy: Policy,
    /// Hardware, in slot order.
    pub hardware: Vec<HardwareConfig>,
    /// Record a human-readable trace of what happens.
    pub trace: bool,
}

/// Counts of what a machine holds ([`Machine::footprint`]).
///
/// In a run that collects its completions, none of these grows with the number of requests sent: each is bounded by what
/// is in flight at once (or, for findings and the trace, by what the test asked for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Requests sent and not completed.
    pub open_irps: usize,
    /// Completions not collected yet ([`Machine::take_completion`]).
    pub uncollected_completions: usize,
    /// Slots of the framework's handle table (live objects plus free slots kept for reuse).
    pub object_slots: usize,
    /// Framework objects alive.
    pub live_objects: usize,
    /// Blocks of simulated physical memory allocated.
    pub memory_blocks: usize,
    /// Page frames of simulated physical memory in use.
    pub memory_frames: usize,
    /// Events scheduled and not run yet.
    pub events: usize,
    /// Verifier findings.
    pub findings: usize,
    /// Trace lines (only when tracing).
    pub trace_lines: usize,
    /// Events in the device models' logs (each keeps its most recent events only).
    pub device_log_events: usize,
}

/// A simulated machine. One may exist per thread at a time; it is not `Send`.
pub struct Machine {
    driver_object: Box<[u64; 64]>,
    registry_path: Box<UNICODE_STRING>,
    _not_send: PhantomData<*mut ()>,
}

impl Machine {
    /// Boots a machine with the given hardware.
    ///
    /// # Panics
    /// If another machine is alive on this thread.
    #[must_use]
    pub fn new(config: MachineConfig) -> Self {
        assert!(!sim::installed(), "kmdf-sim: one machine per thread");
        let mut state = State::new(config.seed, config.policy);
        state.tracing = config.trace;
        for hardware in &config.hardware {
            state.attach(hardware);
        }
        sim::install(state);
        Self {
            driver_object: Box::new([0; 64]),
            registry_path: Box::new(UNICODE_STRING::default()),
            _not_send: PhantomData,
        }
    }

    /// Calls the driver's `DriverEntry` at PASSIVE_LEVEL.
    pub fn load_driver(&mut self, entry: DriverEntry) -> NTSTATUS {
        let object = self.driver_object.as_mut_ptr().cast();
        let path = core::ptr::from_ref(&*self.registry_path);
        engine::at_irql(Irql::Passive, "DriverEntry", || {
            // SAFETY: `entry` is a driver's DriverEntry; the driver object and registry path
            // are live for the machine's lifetime.
            unsafe { entry(object, path) }
        })
    }

    /// Stores a `REG_DWORD` value under the driver's service `Parameters` key (what an INF
    /// `AddReg` or `reg add` would leave there), for `WdfDriverOpenParametersRegistryKey` and
    /// `WdfRegistryQueryULong`. Names are case-insensitive. Set it before the driver reads it
    /// (the edu driver reads its parameters in `EvtDriverDeviceAdd`).
    pub fn set_parameter(&mut self, name: &str, value: u32) {
        with(|s| s.parameters.insert(name.to_lowercase(), value));
    }

    /// Removes a value set by [`Machine::set_parameter`].
    pub fn clear_parameter(&mut self, name: &str) {
        with(|s| s.parameters.remove(&name.to_lowercase()));
    }

    /// Runs `EvtDriverDeviceAdd` for hardware `hw`, then starts the device (prepare hardware,
    /// D0 entry).
    ///
    /// # Errors
    /// The failing status of device add, prepare hardware or D0 entry.
    pub fn add_device(&mut self, hw: usize) -> Result<DeviceHandle, NTSTATUS> {
        let id = sim::api::device_add(hw)?;
        let status = engine::start(id);
        if status < 0 {
            return Err(status);
        }
        Ok(DeviceHandle { id, hw })
    }

    /// Sends an I/O request to a device, as an application's `ReadFile`/`WriteFile`/
    /// `DeviceIoControl` would. It completes as virtual time runs.
    pub fn submit(&mut self, device: DeviceHandle, op: IoOp) -> Irp {
        Irp(with(|s| s.submit(device.id, op)))
    }

    /// Cancels a request after `delay_ns` of virtual time (`CancelIoEx`).
    pub fn cancel_after(&mut self, irp: Irp, delay_ns: u64) {
        with(|s| s.schedule(delay_ns, Event::Cancel { irp: irp.0 }));
    }

    /// Cancels a request (`CancelIoEx`) at the moment the driver enters its `nth` DDI call
    /// from now (1: the next one), on whichever processor makes it. That processor waits at
    /// the call while the cancellation runs on another one, until the cancel callback ends
    /// or waits for a lock; then both go on. Counted as [`Machine::ddi_entries`] counts.
    /// Needs two processors or more and a schedule other than [`crate::Schedule::Serial`]
    /// (a test bug: panics). With the calls of a run counted once, a test can cancel at
    /// every one of them in turn.
    pub fn cancel_at_ddi(&mut self, irp: Irp, nth: u64) {
        with(|s| {
            assert!(
                s.sched.processors() > 1 && s.sched.schedule != crate::Schedule::Serial,
                "cancel_at_ddi needs two processors and a schedule other than Serial"
            );
            s.at_ddi_entry(nth, AtDdi::Event(Event::Cancel { irp: irp.0 }));
        });
    }

    /// Holds the processor that makes the driver's `nth` DDI call from now (1: the next) at
    /// that call for `ns` of virtual time, while the other processors run what comes due: a
    /// processor slowed by an interrupt storm, a hypervisor or a higher-priority DPC. At
    /// DISPATCH_LEVEL and above the hold is at most [`crate::Policy::dispatch_stall_ns`], as
    /// for any switch. Same conditions and count as [`Machine::cancel_at_ddi`]. Combined with
    /// it, a stall at one of the cancel callback's own calls ends the cancel's hold: the
    /// interrupted processor goes on while the callback is slowed.
    pub fn stall_at_ddi(&mut self, nth: u64, ns: u64) {
        with(|s| {
            assert!(
                s.sched.processors() > 1 && s.sched.schedule != crate::Schedule::Serial,
                "stall_at_ddi needs two processors and a schedule other than Serial"
            );
            s.at_ddi_entry(nth, AtDdi::Stall(ns));
        });
    }

    /// The DDI calls the driver has entered so far, counted only under a schedule other than
    /// [`crate::Schedule::Serial`] (where the driver's callbacks are activities): the count
    /// [`Machine::cancel_at_ddi`] uses.
    #[must_use]
    pub fn ddi_entries(&self) -> u64 {
        with(|s| s.sched.ddi_entries)
    }

    /// Runs one event. False when nothing is left to run or the machine halted on a fatal
    /// finding.
    pub fn step(&mut self) -> bool {
        engine::step()
    }

    /// Runs events until `irp` completes, the machine halts, or `limit_ns` of virtual time
    /// pass; returns the completion if there is one. The completion is collected, as by
    /// [`Machine::take_completion`]: the request leaves the machine.
    pub fn run_until_complete(&mut self, irp: Irp, limit_ns: u64) -> Option<IoCompletion> {
        let deadline = self.now() + limit_ns;
        loop {
            if let Some(done) = self.take_completion(irp) {
                return Some(done);
            }
            let next = engine::next_time();
            if next.is_none_or(|t| t > deadline) || !engine::step() {
                return self.take_completion(irp);
            }
        }
    }

    /// Runs events for `ns` of virtual time.
    pub fn run_for(&mut self, ns: u64) {
        let deadline = self.now() + ns;
        loop {
            let next = engine::next_time();
            if next.is_none_or(|t| t > deadline) || !engine::step() {
                break;
            }
        }
        with(|s| s.now = s.now.max(deadline));
    }

    /// Runs until every request sent so far has completed (or `limit_ns` pass).
    pub fn run_until_idle(&mut self, limit_ns: u64) {
        let deadline = self.now() + limit_ns;
        loop {
            let busy = with(|s| !s.irps.is_empty());
            let next = engine::next_time();
            if !busy || next.is_none_or(|t| t > deadline) || !engine::step() {
                break;
            }
        }
    }

    /// The completion of a request, once it completed, left in the machine: a later call (or
    /// [`Machine::take_completion`]) sees it again. `None` before completion and after the
    /// completion was collected.
    #[must_use]
    pub fn completion(&self, irp: Irp) -> Option<IoCompletion> {
        with(|s| s.completed.get(&irp.0).cloned())
    }

    /// Collects the completion of a request, once it completed: the request then leaves the
    /// machine (its completion is returned once, later calls return `None`). A long run must
    /// collect what it sends, or the completions it leaves behind pile up.
    pub fn take_completion(&mut self, irp: Irp) -> Option<IoCompletion> {
        with(|s| s.completed.remove(&irp.0))
    }

    /// How much state the machine holds, by kind: what a long run must keep flat.
    #[must_use]
    pub fn footprint(&self) -> Footprint {
        with(|s| Footprint {
            open_irps: s.irps.len(),
            uncollected_completions: s.completed.len(),
            object_slots: s.objects.slots(),
            live_objects: s.objects.live(),
            memory_blocks: s.mem.live_blocks(),
            memory_frames: s.mem.live_frames(),
            events: s.queue.len(),
            findings: s.findings.len(),
            trace_lines: s.trace.len(),
            device_log_events: s
                .hw
                .iter()
                .map(|h| match &h.model {
                    Model::Edu(edu) => edu.log().len(),
                    Model::System { controller, .. } => controller.log().len(),
                })
                .sum(),
        })
    }

    /// Virtual time, in nanoseconds.
    #[must_use]
    pub fn now(&self) -> u64 {
        with(|s| s.now)
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        with(|s| s.stats)
    }

    /// Which verifier rules this machine's run exercised so far (their check reached, broken
    /// or not); see [`RuleCoverage`].
    #[must_use]
    pub fn rule_coverage(&self) -> RuleCoverage {
        with(|s| RuleCoverage {
            counts: s.coverage.clone(),
        })
    }

    /// Whether a fatal finding (a bugcheck on Windows) halted the machine.
    #[must_use]
    pub fn halted(&self) -> bool {
        with(|s| s.halted)
    }

    /// The findings so far. After the first 10 000 non-fatal findings the rest are only
    /// counted, in a last `FINDINGS` warning.
    #[must_use]
    pub fn report(&self) -> Report {
        with(|s| {
            let mut findings = s.findings.clone();
            if s.findings_dropped > 0 {
                findings.push(Finding {
                    rule: "FINDINGS",
                    severity: Severity::Warning,
                    message: format!(
                        "{} further finding(s) not kept: the first {} are above",
                        s.findings_dropped,
                        sim::FINDINGS_KEEP
                    ),
                    context: "report",
                    time_ns: s.now,
                    processor: None,
                });
            }
            Report {
                findings,
                compliance: s.compliance.clone(),
            }
        })
    }

    /// The text of the lines the driver printed with `DbgPrintEx` (its kernel debug output),
    /// oldest first; the most recent 512 are kept.
    #[must_use]
    pub fn log_lines(&self) -> Vec<String> {
        with(|s| s.debug.lines.iter().map(|line| line.text.clone()).collect())
    }

    /// The driver's `DbgPrintEx` lines with their time, component and level.
    #[must_use]
    pub fn debug_output(&self) -> Vec<crate::DebugLine> {
        with(|s| s.debug.lines.iter().cloned().collect())
    }

    /// Sets the driver's verbosity switch: bit n lets `DbgPrintEx` level n through (0 error,
    /// 1 warning, 2 trace, 3 info). The default is `0b1011` (no per-request trace lines);
    /// `EDU_DEBUG` in the environment makes it `0xF` and prints each line to stderr.
    pub fn set_driver_log_mask(&mut self, mask: u32) {
        with(|s| s.debug.driver_mask = mask);
    }

    /// The trace, when enabled.
    #[must_use]
    pub fn trace(&self) -> Vec<String> {
        with(|s| s.trace.clone())
    }

    /// Reads the edu model of hardware `hw`.
    ///
    /// # Panics
    /// If `hw` is not an edu device.
    pub fn edu<R>(&self, hw: usize, f: impl FnOnce(&Edu) -> R) -> R {
        with(|s| match s.hw.get(hw).map(|h| &h.model) {
            Some(Model::Edu(edu)) => f(edu),
            #[expect(clippy::panic, reason = "a test asked for the wrong kind of hardware")]
            _ => panic!("hardware {hw} is not an edu device"),
        })
    }

    /// Reads the system-DMA peripheral and controller of hardware `hw`.
    ///
    /// # Panics
    /// If `hw` is not a system-DMA peripheral.
    pub fn system_dma<R>(
        &self,
        hw: usize,
        f: impl FnOnce(&FifoPeripheral, &DmaController) -> R,
    ) -> R {
        with(|s| match s.hw.get(hw).map(|h| &h.model) {
            Some(Model::System {
                peripheral,
                controller,
            }) => f(peripheral, controller),
            #[expect(clippy::panic, reason = "a test asked for the wrong kind of hardware")]
            _ => panic!("hardware {hw} is not a system-DMA peripheral"),
        })
    }

    /// Injects a fault into an edu device.
    pub fn inject_edu(&mut self, hw: usize, fault: EduFault) {
        with(|s| {
            let mut effects = Vec::new();
            if let Some(Model::Edu(edu)) = s.hw.get_mut(hw).map(|h| &mut h.model) {
                edu.inject(fault, &mut effects);
            }
            s.apply_effects(hw, Source::Device, effects);
        });
    }

    /// Injects a fault into a system DMA controller.
    pub fn inject_controller(&mut self, hw: usize, fault: ControllerFault) {
        with(|s| {
            if let Some(Model::System { controller, .. }) = s.hw.get_mut(hw).map(|h| &mut h.model) {
                controller.inject(fault);
            }
        });
    }

    /// Injects a fault into a system-DMA FIFO peripheral (the hardware only: the framework is
    /// not told, as when a peripheral stops answering before anyone notices).
    pub fn inject_peripheral(&mut self, hw: usize, fault: crate::devices::sysdma::PeripheralFault) {
        with(|s| {
            if let Some(Model::System { peripheral, .. }) = s.hw.get_mut(hw).map(|h| &mut h.model) {
                peripheral.inject(fault);
            }
        });
    }

    /// Raises the device's interrupt line as another device sharing it would: the ISR runs
    /// while the device itself has nothing to report.
    pub fn raise_foreign_interrupt(&mut self, hw: usize) {
        with(|s| s.raise_interrupt(hw));
    }

    /// Leaves D0 for D3 (system sleep or idle): stops power-managed queues, then the power-down
    /// callbacks; requests acknowledged with `Requeue=TRUE` go back to their queue.
    pub fn power_down(&mut self, device: DeviceHandle) -> NTSTATUS {
        pnp::power_down(device.id, _WDF_POWER_DEVICE_STATE::WdfPowerDeviceD3, false)
    }

    /// Returns to D0.
    pub fn power_up(&mut self, device: DeviceHandle) -> NTSTATUS {
        pnp::power_up(device.id, _WDF_POWER_DEVICE_STATE::WdfPowerDeviceD3)
    }

    /// System sleep (S3) or hibernation (S4): the device leaves D0 for D3 (requests that
    /// arrive meanwhile wait in the power-managed queue) until [`Machine::wake`].
    pub fn sleep(&mut self, device: DeviceHandle, state: SystemSleep) -> NTSTATUS {
        with(|s| s.log(|| format!("system enters {state:?}")));
        self.power_down(device)
    }

    /// The system wakes: the device returns to D0 and its queues resume.
    pub fn wake(&mut self, device: DeviceHandle) -> NTSTATUS {
        with(|s| s.log(|| "system returns to S0".to_string()));
        self.power_up(device)
    }

    /// `IRP_MN_QUERY_STOP_DEVICE`: `EvtDeviceQueryStop` (success when the driver has none).
    /// A failure vetoes the stop; nothing else changes.
    pub fn query_stop(&mut self, device: DeviceHandle) -> NTSTATUS {
        sim::sched::quiesce();
        pnp::query(device.id, pnp::Query::Stop)
    }

    /// `IRP_MN_STOP_DEVICE`: D0 exit to `WdfPowerDeviceD3Final` with the queues held
    /// (`EvtIoStop` with `WdfRequestStopActionSuspend`), then `EvtDeviceReleaseHardware`.
    /// Requests sent while the device is stopped wait in its power-managed queues.
    pub fn stop(&mut self, device: DeviceHandle) -> NTSTATUS {
        pnp::stop(device.id)
    }

    /// `IRP_MN_START_DEVICE` after a stop: the hardware gets `resources`, then
    /// `EvtDevicePrepareHardware` with the new lists, D0 entry, and the held requests run.
    pub fn restart(&mut self, device: DeviceHandle, resources: NewResources) -> NTSTATUS {
        pnp::restart(device.id, resources)
    }

    /// A resource rebalance: query-stop, stop, restart with `resources`. Returns the first
    /// failing status (a vetoed query leaves the device started).
    pub fn rebalance(&mut self, device: DeviceHandle, resources: NewResources) -> NTSTATUS {
        let query = self.query_stop(device);
        if query < 0 {
            return query;
        }
        let stop = self.stop(device);
        let start = self.restart(device, resources);
        if stop < 0 { stop } else { start }
    }

    /// `IRP_MN_QUERY_REMOVE_DEVICE`: `EvtDeviceQueryRemove` (success when the driver has
    /// none). Follow with [`Machine::cancel_remove`] or [`Machine::remove`].
    pub fn query_remove(&mut self, device: DeviceHandle) -> NTSTATUS {
        sim::sched::quiesce();
        pnp::query(device.id, pnp::Query::Remove)
    }

    /// `IRP_MN_CANCEL_REMOVE_DEVICE`: the device stays started; the driver is not called
    /// (KMDF's `PnpEventQueryRemoveCanceled` returns to Started).
    pub fn cancel_remove(&mut self, device: DeviceHandle) {
        with(|s| {
            s.log(|| format!("remove of device {:#x} cancelled", handle(device.id)));
        });
    }

    /// Disables the device (Device Manager's Disable, `CM_Disable_DevNode`): query-remove,
    /// then removal. Returns the query's status; a veto leaves the device started.
    pub fn disable(&mut self, device: DeviceHandle) -> NTSTATUS {
        let query = self.query_remove(device);
        if query >= 0 {
            self.remove(device);
        }
        query
    }

    /// Enables a disabled device: a new `EvtDriverDeviceAdd` for the hardware, then start.
    ///
    /// # Errors
    /// As [`Machine::add_device`].
    pub fn enable(&mut self, hw: usize) -> Result<DeviceHandle, NTSTATUS> {
        self.add_device(hw)
    }

    /// The devices that expose device interface `guid` now, as an application finds them
    /// (`CM_Get_Device_Interface_List` with `CM_GET_DEVICE_INTERFACE_LIST_PRESENT`): the
    /// driver registered it with `WdfDeviceCreateDeviceInterface`, KMDF enabled it when the
    /// device started, and disables it when the device is removed (surprise or orderly).
    #[must_use]
    pub fn interface_devices(&self, guid: &GUID) -> Vec<DeviceHandle> {
        with(|s| {
            s.objects
                .iter_ids()
                .filter_map(|(id, object)| match &object.kind {
                    Kind::Device(d) if d.interfaces_enabled && d.interfaces.contains(guid) => {
                        Some(DeviceHandle { id, hw: d.hw })
                    }
                    _ => None,
                })
                .collect()
        })
    }

    /// Whether the device is started (prepared and in D0).
    #[must_use]
    pub fn is_started(&self, device: DeviceHandle) -> bool {
        with(
            |s| matches!(s.obj(device.id).map(|o| &o.kind), Some(Kind::Device(d)) if d.power == DevicePower::D0),
        )
    }

    /// Surprise removal: the hardware disappears (reads return all ones), then the framework
    /// notifies the driver, purges the queues, powers down, releases hardware and deletes the
    /// device.
    pub fn surprise_remove(&mut self, device: DeviceHandle) {
        sim::sched::quiesce();
        with(|s| {
            let mut effects = Vec::new();
            match s.hw.get_mut(device.hw).map(|h| &mut h.model) {
                Some(Model::Edu(edu)) => edu.inject(EduFault::SurpriseRemoval, &mut effects),
                Some(Model::System { peripheral, .. }) => {
                    peripheral.inject(crate::devices::sysdma::PeripheralFault::SurpriseRemoval);
                }
                None => {}
            }
            s.apply_effects(device.hw, Source::Device, effects);
        });
        // The hardware is gone at once; the framework learns of it later (the bus driver
        // reports the device missing, PnP sends the IRP): meanwhile the driver only sees
        // registers that read all ones.
        let notice = with(|s| s.delay(s.policy.removal_notice_ns));
        self.run_for(notice);
        engine::surprise_removal(device.id);
        self.remove(device);
    }

    /// Orderly removal (device disabled or driver unloading): D0 exit with the queues purged
    /// (when powered), release hardware (when prepared), queued requests cancelled, the
    /// device deleted.
    pub fn remove(&mut self, device: DeviceHandle) {
        sim::sched::quiesce();
        pnp::remove(device.id);
    }

    /// Removes every device, unloads the driver, and runs the end-of-run checks (no request
    /// outstanding, nothing leaked, no lock held, no mapping left). Returns the report.
    pub fn unload(&mut self) -> Report {
        sim::sched::quiesce();
        let devices: Vec<DeviceHandle> = with(|s| {
            s.hw.iter()
                .enumerate()
                .filter_map(|(hw, h)| {
                    h.device
                        .filter(|d| s.obj(*d).is_some())
                        .map(|id| DeviceHandle { id, hw })
                })
                .collect()
        });
        for device in devices {
            self.remove(device);
        }
        let driver = with(|s| s.driver);
        if let Some(driver) = driver {
            let unload = with(|s| match s.obj(driver).map(|o| &o.kind) {
                Some(Kind::Driver { unload, .. }) => *unload,
                _ => None,
            });
            if let Some(unload) = unload {
                engine::at_irql(Irql::Passive, "EvtDriverUnload", || {
                    // SAFETY: the driver's EvtDriverUnload from WdfDriverCreate.
                    unsafe {
                        unload(
                            crate::sim::objects::handle(driver) as crate::mirror::types::WDFDRIVER
                        );
                    };
                });
            }
            engine::delete_tree(driver, false);
        }
        with(end_of_run);
        self.report()
    }
}

/// The end-of-run checks.
fn end_of_run(s: &mut State) {
    s.exercised("RequestCompleted");
    s.exercised("DeferredRequestCompleted");
    let mut open: Vec<u64> = s.irps.keys().copied().collect();
    open.sort_unstable();
    for irp in open {
        s.finding(
            "R1",
            Severity::Error,
            format!("IRP {irp} was never completed"),
        );
    }
    let left: Vec<String> = s
        .objects
        .iter()
        .filter(|o| o.driver_created)
        .map(|o| o.kind.name().to_string())
        .collect();
    if !left.is_empty() {
        s.finding(
            "LEAK",
            Severity::Error,
            format!("objects left after unload: {left:?}"),
        );
    }
    if !s.held.is_empty() {
        s.finding(
            "LOCK",
            Severity::Error,
            format!("{} lock(s) held at the end", s.held.len()),
        );
    }
    let mapped: Vec<usize> =
        s.hw.iter()
            .enumerate()
            .filter(|(_, h)| h.mapped.is_some())
            .map(|(i, _)| i)
            .collect();
    if !mapped.is_empty() {
        s.finding(
            "LEAK",
            Severity::Error,
            format!("MMIO mappings never unmapped (hardware {mapped:?})"),
        );
    }
    // Buffers of requests never completed are already reported as R1.
    let open_buffers: usize = s
        .irps
        .values()
        .map(|irp| usize::from(irp.system.is_some()) + usize::from(irp.user.is_some()))
        .sum();
    let leaked = s.mem.live_blocks().saturating_sub(open_buffers);
    if leaked > 0 {
        s.finding(
            "LEAK",
            Severity::Error,
            format!("{leaked} memory block(s) never freed"),
        );
    }
    let fatal: Vec<String> =
        s.hw.iter()
            .filter_map(|h| match &h.model {
                Model::Edu(edu) => edu.fatal().map(str::to_string),
                Model::System { .. } => None,
            })
            .collect();
    for message in fatal {
        s.finding("DEVICE", Severity::Fatal, message);
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        sim::sched::teardown();
        sim::uninstall();
    }
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::*;

    #[test]
    fn findings_beyond_the_cap_are_counted_and_fatal_ones_always_kept() {
        let machine = Machine::new(MachineConfig::default());
        with(|s| {
            for n in 0..sim::FINDINGS_KEEP + 5 {
                s.finding("R4", Severity::Error, format!("finding {n}"));
            }
        });
        assert_eq!(machine.footprint().findings, sim::FINDINGS_KEEP);
        assert!(!machine.halted());
        with(|s| s.finding("T9", Severity::Fatal, "a bugcheck".into()));
        assert!(machine.halted());
        let report = machine.report();
        assert_eq!(report.findings.len(), sim::FINDINGS_KEEP + 2);
        assert_eq!(report.of("R4").len(), sim::FINDINGS_KEEP);
        assert_eq!(
            report.of("R4").last().map(|f| f.message.as_str()),
            Some("finding 9999"),
            "the first ones are kept"
        );
        assert!(report.has("T9"), "{:?}", report.findings.last());
        let note = report.findings.last().expect("the count");
        assert_eq!((note.rule, note.severity), ("FINDINGS", Severity::Warning));
        assert!(
            note.message.starts_with("5 further finding(s) not kept"),
            "{}",
            note.message
        );
    }
}

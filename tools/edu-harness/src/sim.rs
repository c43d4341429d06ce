//! Simulated backend: the driver's own code (`edu_dma::driver_entry`) running on
//! `kmdf_sim`'s simulated machine with an edu device, in virtual time.
//!
//! The simulator has no file handles: every handle index maps to the one device. Requests are
//! handed to the framework inside [`Target::submit`] (its queue presents them later in virtual
//! time, in order), so the ordering promise of [`Target`] holds. Waiting runs virtual time
//! until the request completes; a fatal verifier finding halts the machine and fails the wait.
//! [`Target::finish`] unloads the driver and fails unless the verifier's report is clean.

use std::cell::Cell;
use std::collections::HashMap;

use kmdf_sim::devices::edu::{EduConfig, QemuVersion};
use kmdf_sim::{
    DeviceHandle, GUID, HardwareConfig, IoCompletion, IoOp, Irp, Machine, MachineConfig,
    NewResources, Policy, Report, SystemSleep,
};

use crate::status::describe;
use crate::target::{Completion, Op, Target, TargetError, Ticket, Transition};

/// How long [`Target::wait`] lets virtual time run before it gives up on a request: ten
/// minutes, far beyond the 16 MiB maximum transfer (4096 commands of 100 ms, about 410 s).
pub const WAIT_LIMIT_NS: u64 = 600_000_000_000;

thread_local! {
    /// Whether a [`SimTarget`] is alive on this thread (the simulator allows one machine per
    /// thread and panics on a second).
    static ALIVE: Cell<bool> = const { Cell::new(false) };
}

/// The simulated machine with the driver loaded and one edu device started.
pub struct SimTarget {
    /// The machine.
    machine: Machine,
    /// The device the driver created for the edu hardware.
    device: DeviceHandle,
    /// Handles handed out so far (all refer to `device`).
    handles: usize,
    /// Requests submitted and not yet waited for, by ticket number.
    in_flight: HashMap<u64, Irp>,
    /// Number of the next ticket.
    next_ticket: u64,
    /// The verifier's report once the driver was unloaded.
    unloaded: Option<Report>,
    /// Rebalances so far: each moves the BAR and the vector and switches between MSI and
    /// INTx.
    rebalances: u32,
}

impl core::fmt::Debug for SimTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimTarget")
            .field("device", &self.device)
            .field("handles", &self.handles)
            .field("in_flight", &self.in_flight.len())
            .field("now_ns", &self.now_ns())
            .field("unloaded", &self.unloaded.is_some())
            .finish_non_exhaustive()
    }
}

impl SimTarget {
    /// Boots a machine with one edu device (MSI), loads the driver and starts the device; the
    /// seed chooses among the framework's legal behaviours, so a run replays exactly.
    ///
    /// # Errors
    /// [`TargetError::Unsupported`] if another `SimTarget` is alive on this thread;
    /// [`TargetError::Simulator`] if `DriverEntry` or the device start fails.
    pub fn new(seed: u64) -> Result<Self, TargetError> {
        Self::with_ring_bytes(seed, Self::default_ring_bytes())
    }

    /// The `UsableRingBytes` a machine gets when none is named: 4095 when the edu model
    /// imitates QEMU <= 8.2.0 (`KMDF_SIM_EDU_QEMU=8.2.0`), as the kit sets it on such a host;
    /// otherwise none (the driver's default, the whole 4096-byte buffer).
    #[must_use]
    pub fn default_ring_bytes() -> Option<u32> {
        (EduConfig::default().qemu == QemuVersion::AbortOffByOne).then_some(4095)
    }

    /// As [`SimTarget::new`], with the driver's `UsableRingBytes` parameter set to
    /// `ring_bytes` (`None`: not set).
    ///
    /// # Errors
    /// As [`SimTarget::new`].
    pub fn with_ring_bytes(seed: u64, ring_bytes: Option<u32>) -> Result<Self, TargetError> {
        if ALIVE.get() {
            return Err(TargetError::Unsupported(
                "a second simulated machine on the same thread (drop the first SimTarget)"
                    .to_owned(),
            ));
        }
        let mut machine = Machine::new(MachineConfig {
            seed,
            policy: Policy::default(),
            hardware: vec![HardwareConfig::Edu {
                config: EduConfig::default(),
                msi: true,
            }],
            trace: false,
        });
        if let Some(bytes) = ring_bytes {
            machine.set_parameter(edu_dma::params::USABLE_RING_BYTES, bytes);
        }
        let status = machine.load_driver(edu_dma::driver_entry);
        if status != 0 {
            return Err(TargetError::Simulator(format!(
                "DriverEntry failed with {}; {}",
                describe(status),
                machine.report()
            )));
        }
        machine.add_device(0).map_err(|status| {
            TargetError::Simulator(format!(
                "starting the edu device failed with {}; {}",
                describe(status),
                machine.report()
            ))
        })?;
        // Opened as on Windows: through the device interface the driver registers.
        let device = find_device(&machine)?;
        ALIVE.set(true);
        Ok(Self {
            machine,
            device,
            handles: 1,
            in_flight: HashMap::new(),
            next_ticket: 1,
            unloaded: None,
            rebalances: 0,
        })
    }

    /// Virtual time since the machine booted, in nanoseconds.
    #[must_use]
    pub fn now_ns(&self) -> u64 {
        self.machine.now()
    }

    /// The verifier's findings so far (after [`Target::finish`]: the end-of-run report).
    #[must_use]
    pub fn report(&self) -> Report {
        self.unloaded
            .clone()
            .unwrap_or_else(|| self.machine.report())
    }

    /// Fails with the verifier's report when the machine halted on a fatal finding.
    ///
    /// # Errors
    /// [`TargetError::Simulator`] with the report, once the machine halted.
    fn check_running(&self) -> Result<(), TargetError> {
        if self.machine.halted() {
            Err(TargetError::Simulator(format!(
                "the machine halted (bugcheck) at t={} ns; {}",
                self.now_ns(),
                self.machine.report()
            )))
        } else {
            Ok(())
        }
    }
}

impl Drop for SimTarget {
    fn drop(&mut self) {
        ALIVE.set(false);
    }
}

/// The simulator's form of an operation.
/// The device an application finds through `GUID_DEVINTERFACE_EDU_DMA`, as the Windows
/// backend looks it up.
///
/// # Errors
/// [`TargetError::DeviceNotFound`] when no present device exposes the interface.
fn find_device(machine: &Machine) -> Result<DeviceHandle, TargetError> {
    let guid = edu_api::GUID_DEVINTERFACE_EDU_DMA;
    machine
        .interface_devices(&GUID {
            Data1: guid.data1,
            Data2: guid.data2,
            Data3: guid.data3,
            Data4: guid.data4,
        })
        .first()
        .copied()
        .ok_or(TargetError::DeviceNotFound)
}

fn io_op(op: Op) -> IoOp {
    match op {
        Op::Read { len } => IoOp::Read { len },
        Op::Write { data } => IoOp::Write { data },
        Op::Ioctl {
            code,
            input,
            output_len,
        } => IoOp::Ioctl {
            code,
            input,
            output_len,
        },
        Op::IoctlInDirect { code, input, data } => IoOp::IoctlWithData { code, input, data },
    }
}

/// The harness's form of a completion: the output buffer truncated to `Information`, as user
/// mode sees it (the simulator returns a read's or a `METHOD_OUT_DIRECT` IOCTL's whole buffer).
///
/// # Errors
/// [`TargetError::Unsupported`] for an `Information` that does not fit a `usize`.
fn completion(done: IoCompletion) -> Result<Completion, TargetError> {
    let information = usize::try_from(done.information).map_err(|_| {
        TargetError::Unsupported(format!("Information {} above usize", done.information))
    })?;
    let mut output = done.output;
    output.truncate(information);
    Ok(Completion::driver(done.status, information, output))
}

impl Target for SimTarget {
    fn open_handle(&mut self) -> Result<usize, TargetError> {
        let handle = self.handles;
        self.handles += 1;
        Ok(handle)
    }

    fn submit(&mut self, handle: usize, op: Op) -> Result<Ticket, TargetError> {
        if handle >= self.handles {
            return Err(TargetError::UnknownHandle(handle));
        }
        if self.unloaded.is_some() {
            return Err(TargetError::Unsupported(
                "a request after the driver was unloaded".to_owned(),
            ));
        }
        self.check_running()?;
        let irp = self.machine.submit(self.device, io_op(op));
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.in_flight.insert(ticket, irp);
        Ok(Ticket(ticket))
    }

    fn cancel(&mut self, ticket: Ticket) -> Result<(), TargetError> {
        let irp = *self
            .in_flight
            .get(&ticket.0)
            .ok_or(TargetError::UnknownTicket(ticket))?;
        self.machine.cancel_after(irp, 0);
        Ok(())
    }

    fn wait(&mut self, ticket: Ticket) -> Result<Completion, TargetError> {
        let irp = self
            .in_flight
            .remove(&ticket.0)
            .ok_or(TargetError::UnknownTicket(ticket))?;
        let done = self.machine.run_until_complete(irp, WAIT_LIMIT_NS);
        self.check_running()?;
        let done = done.ok_or_else(|| {
            TargetError::Simulator(format!(
                "request {} did not complete within {} s of virtual time (t={} ns); {}",
                irp.0,
                WAIT_LIMIT_NS / 1_000_000_000,
                self.now_ns(),
                self.machine.report()
            ))
        })?;
        completion(done)
    }

    fn advance(&mut self, micros: u64) {
        self.machine.run_for(micros.saturating_mul(1000));
    }

    fn supports(&self, _transition: Transition) -> bool {
        true
    }

    fn keeps_device_memory(&self, _transition: Transition) -> bool {
        // The model's buffer survives D3 and a new device add, as nothing resets it.
        true
    }

    fn transition(&mut self, transition: Transition) -> Result<(), TargetError> {
        self.check_running()?;
        let failed = |what: &str, status: i32, machine: &Machine| {
            TargetError::Simulator(format!(
                "{what} failed with {}; {}",
                describe(status),
                machine.report()
            ))
        };
        match transition {
            Transition::Rebalance => {
                self.rebalances += 1;
                let odd = self.rebalances % 2 == 1;
                let resources = NewResources {
                    // The first device's BAR is at 0xFE00_0000; alternate with another window.
                    bar_base: Some(if odd { 0xF800_0000 } else { 0xFE00_0000 }),
                    vector: Some(0x51 + self.rebalances % 16),
                    msi: Some(!odd),
                    dma_request: None,
                };
                let status = self.machine.rebalance(self.device, resources);
                if status < 0 {
                    return Err(failed("the rebalance", status, &self.machine));
                }
            }
            Transition::DisableEnable => {
                let status = self.machine.disable(self.device);
                if status < 0 {
                    return Err(failed("the disable", status, &self.machine));
                }
                self.machine
                    .enable(self.device.hw)
                    .map_err(|status| failed("the enable", status, &self.machine))?;
                self.device = find_device(&self.machine)?;
            }
            Transition::Sleep | Transition::Hibernate => {
                let state = if transition == Transition::Sleep {
                    SystemSleep::S3
                } else {
                    SystemSleep::S4
                };
                let status = self.machine.sleep(self.device, state);
                if status < 0 {
                    return Err(failed("the power-down", status, &self.machine));
                }
                // The machine sleeps a while; requests that arrive meanwhile wait.
                self.machine.run_for(200_000_000);
                let status = self.machine.wake(self.device);
                if status < 0 {
                    return Err(failed("the wake", status, &self.machine));
                }
            }
        }
        self.check_running()
    }

    fn name(&self) -> &'static str {
        "simulator"
    }

    fn finish(&mut self) -> Result<(), TargetError> {
        let report = if let Some(report) = &self.unloaded {
            report.clone()
        } else {
            let report = self.machine.unload();
            self.unloaded = Some(report.clone());
            report
        };
        if report.is_clean() {
            Ok(())
        } else {
            Err(TargetError::Simulator(
                report.to_string().trim_end().to_owned(),
            ))
        }
    }

    fn elapsed_ns(&self) -> Option<u64> {
        Some(self.now_ns())
    }

    fn memory_scope(&self) -> &'static str {
        "the harness process, simulated machine included"
    }

    fn verdict(&self) -> Option<String> {
        let counters = self.machine.stats();
        let when = if self.unloaded.is_some() {
            "after unload"
        } else {
            "so far"
        };
        Some(format!(
            "{} ({when}); virtual time {:.3} s; {} requests completed, {} DMA programs, {} ISRs, \
             {} DPCs",
            self.report()
                .to_string()
                .lines()
                .next()
                .unwrap_or("verifier: ?"),
            ns_to_seconds(self.now_ns()),
            counters.completions,
            counters.program_dma_calls,
            counters.isr_calls,
            counters.dpc_calls,
        ))
    }
}

/// Nanoseconds as seconds, for display.
fn ns_to_seconds(ns: u64) -> f64 {
    // Precision loss only above 2^53 ns (104 days of virtual time).
    #[expect(clippy::cast_precision_loss, reason = "a duration for display")]
    let ns = ns as f64;
    ns / 1e9
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::*;
    use crate::status::{STATUS_CANCELLED, STATUS_SUCCESS};

    #[test]
    fn one_machine_per_thread_is_an_error_not_a_panic() {
        let first = SimTarget::new(1).unwrap();
        assert!(matches!(
            SimTarget::new(2),
            Err(TargetError::Unsupported(_))
        ));
        drop(first);
        let again = SimTarget::new(3);
        assert!(again.is_ok());
    }

    #[test]
    fn write_then_read_round_trips_and_output_is_truncated() {
        let mut sim = SimTarget::new(7).unwrap();
        let data: Vec<u8> = (0..=255).collect();
        let write = sim.submit(0, Op::Write { data: data.clone() }).unwrap();
        let done = sim.wait(write).unwrap();
        assert_eq!((done.status, done.information), (STATUS_SUCCESS, 256));
        assert!(done.output.is_empty());
        let read = sim
            .submit(
                0,
                Op::Ioctl {
                    code: edu_api::IOCTL_EDU_DMA_READ_AT,
                    input: crate::client::header(0),
                    output_len: 256,
                },
            )
            .unwrap();
        let done = sim.wait(read).unwrap();
        assert_eq!(done.output, data);
        assert!(
            sim.elapsed_ns().unwrap() >= 200_000_000,
            "two 100 ms commands"
        );
        assert_eq!(sim.wait(read), Err(TargetError::UnknownTicket(read)));
        assert_eq!(
            sim.submit(5, Op::Read { len: 1 }),
            Err(TargetError::UnknownHandle(5))
        );
        assert_eq!(sim.finish(), Ok(()));
        assert!(sim.verdict().unwrap().starts_with("verifier: clean"));
    }

    #[test]
    fn cancelled_read_reports_only_what_moved() {
        let mut sim = SimTarget::new(9).unwrap();
        let ticket = sim.submit(0, Op::Read { len: 64 * 4096 }).unwrap();
        sim.advance(250_000);
        sim.cancel(ticket).unwrap();
        let done = sim.wait(ticket).unwrap();
        assert_eq!(done.status, STATUS_CANCELLED);
        assert!(done.information < 64 * 4096);
        assert_eq!(done.output.len(), done.information);
        assert_eq!(sim.finish(), Ok(()));
    }

    fn msi(sim: &mut SimTarget) -> u32 {
        let ticket = sim
            .submit(
                0,
                Op::Ioctl {
                    code: edu_api::IOCTL_EDU_GET_INFO,
                    input: Vec::new(),
                    output_len: edu_api::DeviceInfo::SIZE,
                },
            )
            .unwrap();
        let done = sim.wait(ticket).unwrap();
        edu_api::DeviceInfo::from_bytes(&done.output).unwrap().msi
    }

    #[test]
    fn rebalances_alternate_intx_and_msi_and_a_write_in_flight_ends_at_a_command_boundary() {
        let mut sim = SimTarget::new(11).unwrap();
        assert_eq!(msi(&mut sim), 1);
        let data: Vec<u8> = (0..16 * 4096_u32)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let ticket = sim.submit(0, Op::Write { data }).unwrap();
        sim.advance(250_000);
        sim.transition(Transition::Rebalance).unwrap();
        let done = sim.wait(ticket).unwrap();
        assert_eq!(done.status, STATUS_CANCELLED);
        assert!(done.information > 0 && done.information < 16 * 4096);
        assert_eq!(done.information % 4096, 0, "{}", done.information);
        assert_eq!(msi(&mut sim), 0, "INTx after the first rebalance");
        sim.transition(Transition::Rebalance).unwrap();
        assert_eq!(msi(&mut sim), 1, "MSI after the second");
        assert_eq!(sim.finish(), Ok(()));
    }

    #[test]
    fn a_read_sent_during_a_disable_is_cancelled_and_handles_work_after_the_enable() {
        let mut sim = SimTarget::new(12).unwrap();
        let long = sim
            .submit(
                0,
                Op::Write {
                    data: vec![5; 8 * 4096],
                },
            )
            .unwrap();
        let queued = sim.submit(0, Op::Read { len: 4096 }).unwrap();
        sim.advance(150_000);
        sim.transition(Transition::DisableEnable).unwrap();
        assert_eq!(sim.wait(long).unwrap().status, STATUS_CANCELLED);
        let queued = sim.wait(queued).unwrap();
        assert_eq!((queued.status, queued.information), (STATUS_CANCELLED, 0));
        let read = sim.submit(0, Op::Read { len: 4096 }).unwrap();
        let read = sim.wait(read).unwrap();
        assert_eq!((read.status, read.output), (STATUS_SUCCESS, vec![5; 4096]));
        assert_eq!(sim.finish(), Ok(()));
    }
}

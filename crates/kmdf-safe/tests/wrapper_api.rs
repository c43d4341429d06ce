//! Wrapper API the edu driver does not use, or uses without looking at the result, exercised
//! by a small driver of its own on the simulator's edu device (issue 17: `cargo mutants` found
//! these wrappers unwatched): timer start and stop results, resource lists, registers outside
//! the BAR, an interrupt whose shared state has a size, completing without information,
//! matching a request in `EvtIoStop` and acknowledging it, and the context dropped when its
//! device goes away.
#![allow(unsafe_code, reason = "the test driver's DriverEntry export")]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code"
)]

use std::cell::{Cell, RefCell};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use kmdf_safe::entry::{NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT};
use kmdf_safe::interrupt::{Claim, Interrupt, InterruptHandler};
use kmdf_safe::irql::{Dirql, Dispatch, Passive, UpToDispatch};
use kmdf_safe::mmio::Bar;
use kmdf_safe::request::{CancelledRequest, Dispatching, Queue, QueueHandler, StopAction};
use kmdf_safe::timer::{Timer, TimerHandler};
use kmdf_safe::{
    Device, DeviceHandler, DeviceInit, Driver, Error, HardwareSlot, PowerState, Prepare, Release,
    Request, Resource, Resources, Result, Status, declare_context, register,
};
use kmdf_sim::devices::edu::EduConfig;
use kmdf_sim::{HardwareConfig, IoOp, Machine, MachineConfig, Policy};

register!(
    /// edu identification.
    Id: u32 at 0x00, read
);
register!(
    /// edu interrupt status.
    IntrStatus: u32 at 0x24, read
);
register!(
    /// edu: raise these interrupt causes.
    IntrRaise: u32 at 0x60, write
);
register!(
    /// edu: acknowledge these interrupt causes.
    IntrAck: u32 at 0x64, write
);
register!(
    /// The first word past edu's 1 MiB BAR.
    PastTheBar: u32 at 0x10_0000, read
);

/// `IOCTL` codes of the test driver (buffered): raise an interrupt and complete; hold the
/// request; complete the held request and this one.
const RAISE: u32 = 0x0022_2000;
const HOLD: u32 = 0x0022_2004;
const RELEASE: u32 = 0x0022_2008;

/// What the test driver observed, per thread (each test has its own machine).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Seen {
    resources: u32,
    resources_empty: bool,
    id: u32,
    past_the_bar: u32,
    /// `Timer::start_ms`, `cancel`, `cancel_and_wait` results, in call order.
    timer: Vec<bool>,
    /// The interrupt count the DPC read from the shared state.
    dpc_saw: Vec<u32>,
    /// `EvtIoStop`: which held request it was about (`Request::is`), acknowledged.
    stop_matched: Vec<(Option<usize>, StopAction)>,
}

thread_local! {
    static SEEN: RefCell<Seen> = RefCell::new(Seen::default());
}

fn seen(f: impl FnOnce(&mut Seen)) {
    SEEN.with(|s| f(&mut s.borrow_mut()));
}

thread_local! {
    /// Set when the device context is dropped (its cleanup callback ran).
    static DROPPED: Cell<bool> = const { Cell::new(false) };
}

struct TestDriver;

/// State the ISR shares with the DPC: it has a size, so it lives in the interrupt's context.
#[derive(Default)]
struct Shared {
    interrupts: u32,
}
declare_context!(Shared);

struct Hardware {
    bar: Bar,
    /// Kept while the hardware is prepared (the framework disconnects and deletes it).
    _interrupt: Interrupt<Shared>,
}

struct Context {
    hardware: HardwareSlot<Hardware>,
    timer: Timer,
    _queue: Queue,
    held: Mutex<Vec<Request>>,
    raised: AtomicU32,
}
declare_context!(Context);

impl Drop for Context {
    fn drop(&mut self) {
        DROPPED.set(true);
    }
}

impl Driver for TestDriver {
    const LOG_PREFIX: &'static str = "wrapper-api-test";

    fn device_add(init: DeviceInit<'_>, cx: &mut Passive<'_>) -> Result {
        init.create::<Context>(
            |device, cx| {
                Ok(Context {
                    hardware: HardwareSlot::default(),
                    timer: Timer::create::<Context>(device, cx)?,
                    _queue: Queue::create_default::<Context>(device, Dispatching::Parallel, cx)?,
                    held: Mutex::new(Vec::new()),
                    raised: AtomicU32::new(0),
                })
            },
            cx,
        )?;
        Ok(())
    }
}

impl DeviceHandler for Context {
    fn prepare_hardware(
        &self,
        device: Device,
        resources: &Resources<'_>,
        slot: &Prepare<'_>,
        cx: &mut Passive<'_>,
    ) -> Result {
        let mut memory = None;
        let mut interrupt = None;
        for resource in resources.iter() {
            match resource {
                Resource::Memory { start, length } => memory = Some((start, length)),
                Resource::Interrupt(found) => {
                    interrupt = Some(Interrupt::create::<Self>(device, &found, cx)?);
                }
                _ => {}
            }
        }
        let (start, length) = memory.ok_or(Error::DEVICE_HARDWARE_ERROR)?;
        let interrupt = interrupt.ok_or(Error::DEVICE_HARDWARE_ERROR)?;
        let bar = Bar::map(start, length as usize, cx)?;
        let id = bar.read::<Id>().0;
        let past_the_bar = bar.read::<PastTheBar>().0;
        // Start and stop results: not queued, queued (re-armed), queued, not queued; with a
        // wait: queued, not queued.
        let timer = vec![
            self.timer.start_ms(60_000, cx),
            self.timer.start_ms(60_000, cx),
            self.timer.cancel(cx),
            self.timer.cancel(cx),
            self.timer.start_ms(60_000, cx),
            self.timer.cancel_and_wait(cx),
            self.timer.cancel_and_wait(cx),
        ];
        seen(|s| {
            s.resources = resources.len();
            s.resources_empty = resources.is_empty();
            s.id = id;
            s.past_the_bar = past_the_bar;
            s.timer = timer;
        });
        self.hardware.set(
            Hardware {
                bar,
                _interrupt: interrupt,
            },
            slot,
        );
        Ok(())
    }

    fn release_hardware(
        &self,
        _device: Device,
        slot: &Release<'_>,
        cx: &mut Passive<'_>,
    ) -> Result {
        if let Some(hardware) = self.hardware.take(slot) {
            hardware.bar.unmap(cx);
        }
        Ok(())
    }

    fn d0_entry(&self, _device: Device, _previous: PowerState, _cx: &mut Passive<'_>) -> Result {
        Ok(())
    }

    fn d0_exit(&self, _device: Device, _target: PowerState, _cx: &mut Passive<'_>) -> Result {
        Ok(())
    }

    fn surprise_removal(&self, _device: Device, _cx: &mut Passive<'_>) {}
}

impl TimerHandler for Context {
    fn timer(&self, _cx: &mut Dispatch<'_>) {
        panic!("every start was cancelled");
    }
}

impl InterruptHandler for Context {
    type Shared = Shared;

    fn isr(&self, shared: &mut Shared, _message: u32, _cx: &Dirql<'_>) -> Claim {
        let Some(hardware) = self.hardware.get() else {
            return Claim::NotMine;
        };
        let causes = hardware.bar.read::<IntrStatus>().0;
        if causes == 0 || causes == u32::MAX {
            return Claim::NotMine;
        }
        hardware.bar.write(IntrAck(causes));
        shared.interrupts += 1;
        Claim::QueueDpc
    }

    fn dpc(&self, interrupt: &Interrupt<Shared>, cx: &mut Dispatch<'_>) {
        let count = interrupt.lock(cx).interrupts;
        seen(|s| s.dpc_saw.push(count));
    }
}

impl QueueHandler for Context {
    fn read(&self, request: Request, _length: usize, cx: &mut UpToDispatch<'_>) {
        request.complete(Error::INVALID_DEVICE_REQUEST.into(), cx);
    }

    fn write(&self, request: Request, _length: usize, cx: &mut UpToDispatch<'_>) {
        request.complete(Error::INVALID_DEVICE_REQUEST.into(), cx);
    }

    fn device_control(
        &self,
        request: Request,
        code: u32,
        _input_length: usize,
        _output_length: usize,
        cx: &mut UpToDispatch<'_>,
    ) {
        match code {
            RAISE => {
                if let Some(hardware) = self.hardware.get() {
                    self.raised.fetch_add(1, Ordering::SeqCst);
                    hardware.bar.write(IntrRaise(0x1));
                }
                request.complete(Status::SUCCESS, cx);
            }
            HOLD => self.held.lock().unwrap().push(request),
            RELEASE => {
                let status = if self.release_held(cx) {
                    Status::SUCCESS
                } else {
                    Error::INVALID_DEVICE_STATE.into()
                };
                request.complete(status, cx);
            }
            _ => request.complete(Error::INVALID_DEVICE_REQUEST.into(), cx),
        }
    }

    fn stop(&self, request: &CancelledRequest<'_>, action: StopAction, cx: &mut UpToDispatch<'_>) {
        let matched = {
            let held = self.held.lock().unwrap();
            let matched = held.iter().position(|mine| mine.is(request));
            if let Some(mine) = matched.and_then(|index| held.get(index)) {
                // Keep it across the power-down: the transition may go on.
                mine.stop_acknowledge(cx);
            }
            drop(held);
            matched
        };
        seen(|s| s.stop_matched.push((matched, action)));
    }
}

impl Context {
    /// Completes the held requests, if any (the test calls it through another IOCTL).
    fn release_held(&self, cx: &UpToDispatch<'_>) -> bool {
        let held: Vec<Request> = self.held.lock().unwrap().drain(..).collect();
        let any = !held.is_empty();
        for request in held {
            request.complete(Status::SUCCESS, cx);
        }
        any
    }
}

/// The test driver's `DriverEntry`.
///
/// # Safety
/// Called once by the simulator's loader with a driver object and a registry path.
unsafe extern "system" fn entry(
    driver: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    // SAFETY: called once by the simulator's loader with its driver object and path.
    unsafe { kmdf_safe::device::driver_entry::<TestDriver>(driver, registry_path) }
}

fn machine(seed: u64) -> Machine {
    let mut machine = Machine::new(MachineConfig {
        seed,
        policy: Policy::default(),
        hardware: vec![HardwareConfig::Edu {
            config: EduConfig::default(),
            msi: true,
        }],
        trace: false,
    });
    assert_eq!(machine.load_driver(entry), 0);
    machine
}

const fn ioctl(code: u32) -> IoOp {
    IoOp::Ioctl {
        code,
        input: Vec::new(),
        output_len: 0,
    }
}

#[test]
fn resources_registers_and_timer_results_are_what_kmdf_reports() {
    let mut machine = machine(5);
    machine.add_device(0).expect("device start");
    let seen = SEEN.with(|s| s.borrow().clone());
    // edu: one BAR and one interrupt.
    assert_eq!((seen.resources, seen.resources_empty), (2, false));
    assert_eq!(seen.id & 0xFF, 0xED, "edu identification {:#x}", seen.id);
    assert_eq!(
        seen.past_the_bar,
        u32::MAX,
        "a register past the BAR reads all ones"
    );
    assert_eq!(
        seen.timer,
        [false, true, true, false, false, true, false],
        "WdfTimerStart: already queued; WdfTimerStop: was queued"
    );
    let report = machine.unload();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn the_isr_and_the_dpc_share_state_through_the_interrupt_context() {
    let mut machine = machine(6);
    let device = machine.add_device(0).expect("device start");
    for _ in 0..3 {
        let irp = machine.submit(device, ioctl(RAISE));
        let done = machine
            .run_until_complete(irp, 1_000_000_000)
            .expect("completed");
        // `Request::complete`: the status and no information.
        assert_eq!((done.status, done.information), (0, 0));
        machine.run_for(10_000_000);
    }
    let seen = SEEN.with(|s| s.borrow().clone());
    assert_eq!(
        seen.dpc_saw,
        [1, 2, 3],
        "the DPC reads what the ISR counted"
    );
    let report = machine.unload();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn held_requests_are_matched_and_acknowledged_in_evt_io_stop_and_the_context_is_dropped() {
    DROPPED.set(false);
    let mut machine = machine(7);
    let device = machine.add_device(0).expect("device start");
    let held = [
        machine.submit(device, ioctl(HOLD)),
        machine.submit(device, ioctl(HOLD)),
    ];
    machine.run_for(1_000_000);
    // The power-down waits for EvtIoStop's acknowledgment of each request the driver holds.
    assert_eq!(machine.power_down(device), 0, "{}", machine.report());
    let mut matched = SEEN.with(|s| s.borrow().stop_matched.clone());
    matched.sort_by_key(|(index, _)| *index);
    assert_eq!(
        matched,
        [
            (Some(0), StopAction::Suspend),
            (Some(1), StopAction::Suspend)
        ],
        "each EvtIoStop names one of the held requests"
    );
    for irp in held {
        assert!(
            machine.completion(irp).is_none(),
            "still held by the driver"
        );
    }
    assert_eq!(machine.power_up(device), 0);
    // Another IOCTL completes the held ones from the driver's own path.
    let release = machine.submit(device, ioctl(RELEASE));
    let done = machine
        .run_until_complete(release, 1_000_000_000)
        .expect("completed");
    assert_eq!(done.status, 0);
    for irp in held {
        let done = machine
            .take_completion(irp)
            .expect("the held request completed");
        assert_eq!((done.status, done.information), (0, 0));
    }
    assert!(!DROPPED.get());
    let report = machine.unload();
    assert!(report.is_clean(), "{report}");
    assert!(DROPPED.get(), "the device context was dropped");
}

//! The `CommonBuffer` wrapper, exercised by a minimal driver of its own written only against
//! the public wrapper API (so the wrappers serve drivers other than edu-dma).
#![allow(unsafe_code, reason = "the test driver's DriverEntry export")]
#![allow(clippy::expect_used, reason = "test code")]

use std::cell::RefCell;

use kmdf_safe::declare_context;
use kmdf_safe::dma::{AddressWidth, CommonBuffer, DmaEnabler, EnablerConfig, Profile};
use kmdf_safe::entry::{NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT};
use kmdf_safe::irql::Passive;
use kmdf_safe::{
    Device, DeviceHandler, DeviceInit, Driver, PowerState, Prepare, Release, Resources, Result,
};
use kmdf_sim::devices::edu::EduConfig;
use kmdf_sim::{HardwareConfig, Machine, MachineConfig, Policy};

/// What prepare-hardware leaves alive (KMDF deletes it with the device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Nothing,
    Enabler,
    Both,
}

/// What the test driver observed.
#[expect(clippy::struct_excessive_bools, reason = "one flag per observation")]
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Seen {
    length: usize,
    logical: u64,
    round_trip: bool,
    out_of_range_refused: bool,
    zero_length_refused: bool,
    empty: bool,
}

thread_local! {
    static SEEN: RefCell<Option<Seen>> = const { RefCell::new(None) };
    /// Which objects prepare-hardware leaves alive instead of deleting them.
    static KEEP: std::cell::Cell<Keep> = const { std::cell::Cell::new(Keep::Nothing) };
}

struct TestDriver;
struct Context;
declare_context!(Context);

impl Driver for TestDriver {
    const LOG_PREFIX: &'static str = "common-buffer-test";

    fn device_add(init: DeviceInit<'_>, cx: &mut Passive<'_>) -> Result {
        init.create::<Context>(|_device, _cx| Ok(Context), cx)?;
        Ok(())
    }
}

impl DeviceHandler for Context {
    fn prepare_hardware(
        &self,
        device: Device,
        _resources: &Resources<'_>,
        _slot: &Prepare<'_>,
        cx: &mut Passive<'_>,
    ) -> Result {
        let config = EnablerConfig {
            profile: Profile::Packet,
            maximum_length: 4096,
            address_width: AddressWidth::new(28),
        };
        let enabler = DmaEnabler::create(device, &config, cx)?;
        let mut buffer = CommonBuffer::create(&enabler, 8192, cx)?;
        let pattern: Vec<u8> = (0..=255).collect();
        let mut back = [0u8; 256];
        let round_trip = buffer.write(8192 - 256, &pattern)
            && buffer.read(8192 - 256, &mut back)
            && back[..] == pattern[..];
        let seen = Seen {
            length: buffer.len(),
            logical: buffer.logical_address(),
            round_trip,
            out_of_range_refused: !buffer.write(8192 - 255, &pattern)
                && !buffer.read(8192 - 255, &mut back)
                && !buffer.read(usize::MAX, &mut back),
            empty: buffer.is_empty(),
            zero_length_refused: CommonBuffer::create(&enabler, 0, cx).is_err(),
        };
        SEEN.with(|slot| *slot.borrow_mut() = Some(seen));
        // A wrapper going out of scope deletes nothing: KMDF deletes what is left with the
        // device.
        match KEEP.get() {
            Keep::Nothing => {
                buffer.delete(cx);
                enabler.delete(cx);
            }
            Keep::Enabler => buffer.delete(cx),
            Keep::Both => {}
        }
        Ok(())
    }

    fn release_hardware(
        &self,
        _device: Device,
        _slot: &Release<'_>,
        _cx: &mut Passive<'_>,
    ) -> Result {
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

fn started_machine() -> Machine {
    let hardware = HardwareConfig::Edu {
        config: EduConfig::default(),
        msi: true,
    };
    let mut machine = Machine::new(MachineConfig {
        seed: 3,
        policy: Policy::default(),
        hardware: vec![hardware],
        trace: false,
    });
    assert_eq!(machine.load_driver(entry), 0);
    machine.add_device(0).expect("device start");
    machine
}

#[test]
fn deleting_the_buffer_and_the_enabler_frees_each_object() {
    let live = |keep| {
        KEEP.set(keep);
        let live = started_machine().footprint().live_objects;
        KEEP.set(Keep::Nothing);
        live
    };
    let (nothing, enabler, both) = (live(Keep::Nothing), live(Keep::Enabler), live(Keep::Both));
    assert_eq!(enabler - nothing, 1, "DmaEnabler::delete frees the enabler");
    assert_eq!(both - enabler, 1, "CommonBuffer::delete frees the buffer");
}

#[test]
fn common_buffer_is_contiguous_within_the_address_width_and_copies_bounded() {
    let mut machine = started_machine();
    let seen = SEEN
        .with(|slot| slot.borrow().clone())
        .expect("prepare-hardware ran");
    assert_eq!(seen.length, 8192);
    assert!(!seen.empty);
    assert!(
        seen.logical != 0 && seen.logical.is_multiple_of(4096) && seen.logical + 8192 <= 1 << 28,
        "logical address {:#x}: a page the HAL gave out, within 28 bits",
        seen.logical
    );
    assert!(
        seen.round_trip,
        "bytes written through the CPU mapping read back"
    );
    assert!(seen.out_of_range_refused, "copies past the end are refused");
    assert!(
        seen.zero_length_refused,
        "a zero-length buffer is refused (STATUS_INVALID_PARAMETER)"
    );
    let report = machine.unload();
    // The zero-length attempt is the one finding: rule C1, reported and refused as KMDF does.
    assert!(report.findings.iter().all(|f| f.rule == "C1"), "{report}");
    assert_eq!(report.of("C1").len(), 1, "{report}");
}

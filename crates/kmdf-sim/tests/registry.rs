//! The driver's `Parameters` key: `WdfDriverOpenParametersRegistryKey`, `WdfRegistryQueryULong`
//! and `WdfRegistryClose` over the values set with `Machine::set_parameter`, and the REGISTRY
//! rule. The in-test driver queries from its `DriverEntry`, after `WdfDriverCreate`.
#![allow(
    unsafe_code,
    clippy::panic,
    clippy::expect_used,
    reason = "the in-test driver calls the mirror's unsafe DDIs; a failed expectation fails the test"
)]

use core::cell::RefCell;
use core::ptr::null_mut;

use kmdf_sim::mirror::*;
use kmdf_sim::{Machine, MachineConfig, Severity};

/// One query: the access to open the key with, and the value name.
struct Query {
    access: u32,
    name: &'static str,
}

thread_local! {
    static QUERIES: RefCell<Vec<Query>> = const { RefCell::new(Vec::new()) };
    /// (open status, query status, value) per query.
    static RESULTS: RefCell<Vec<(NTSTATUS, NTSTATUS, u32)>> = const { RefCell::new(Vec::new()) };
}

const KEY_READ: u32 = 0x0002_0019;
const STATUS_OBJECT_NAME_NOT_FOUND: NTSTATUS = 0xC000_0034_u32.cast_signed();
const STATUS_ACCESS_DENIED: NTSTATUS = 0xC000_0022_u32.cast_signed();

/// The in-test driver's `DriverEntry`: creates the driver, then runs the queued queries.
///
/// # Safety
/// Called by the simulator with its driver object and registry path.
unsafe extern "system" fn driver_entry(
    driver: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    let mut config = WDF_DRIVER_CONFIG {
        Size: u32::try_from(core::mem::size_of::<WDF_DRIVER_CONFIG>()).unwrap_or(0),
        ..WDF_DRIVER_CONFIG::default()
    };
    let mut handle: WDFDRIVER = null_mut();
    // SAFETY: the framework's own pointers, a live config and a live out handle.
    let status = unsafe {
        WdfDriverCreate(
            driver,
            registry_path,
            WDF_NO_OBJECT_ATTRIBUTES,
            &raw mut config,
            &raw mut handle,
        )
    };
    if status < 0 {
        return status;
    }
    let queries = QUERIES.with(RefCell::take);
    for query in queries {
        let mut key: WDFKEY = null_mut();
        // SAFETY: a live driver handle and a live out handle.
        let opened = unsafe {
            WdfDriverOpenParametersRegistryKey(
                handle,
                query.access,
                WDF_NO_OBJECT_ATTRIBUTES,
                &raw mut key,
            )
        };
        let mut units: Vec<u16> = query.name.encode_utf16().collect();
        let bytes = u16::try_from(units.len() * 2).unwrap_or(0);
        let name = UNICODE_STRING {
            Length: bytes,
            MaximumLength: bytes,
            Buffer: units.as_mut_ptr(),
        };
        let mut value: ULONG = 0;
        // SAFETY: the key from the open above; `name` describes `units`, alive for the call.
        let answer = unsafe { WdfRegistryQueryULong(key, &raw const name, &raw mut value) };
        // SAFETY: the open key, closed once.
        unsafe { WdfRegistryClose(key) };
        RESULTS.with(|r| r.borrow_mut().push((opened, answer, value)));
    }
    STATUS_SUCCESS
}

fn run(values: &[(&str, u32)], queries: Vec<Query>) -> (Vec<(NTSTATUS, NTSTATUS, u32)>, Machine) {
    QUERIES.with(|q| *q.borrow_mut() = queries);
    RESULTS.with(|r| r.borrow_mut().clear());
    let mut machine = Machine::new(MachineConfig::default());
    for &(name, value) in values {
        machine.set_parameter(name, value);
    }
    assert_eq!(machine.load_driver(driver_entry), STATUS_SUCCESS);
    (RESULTS.with(RefCell::take), machine)
}

#[test]
fn set_values_are_read_back_case_insensitively_and_missing_ones_are_not_found() {
    let (results, mut machine) = run(
        &[("UsableRingBytes", 4095), ("Other", 7)],
        vec![
            Query {
                access: KEY_READ,
                name: "usableringbytes",
            },
            Query {
                access: KEY_READ,
                name: "Other",
            },
            Query {
                access: KEY_READ,
                name: "Absent",
            },
        ],
    );
    assert_eq!(
        results,
        [
            (STATUS_SUCCESS, STATUS_SUCCESS, 4095),
            (STATUS_SUCCESS, STATUS_SUCCESS, 7),
            (STATUS_SUCCESS, STATUS_OBJECT_NAME_NOT_FOUND, 0),
        ]
    );
    // Every key was closed: nothing is left at unload.
    let report = machine.unload();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn a_cleared_value_is_no_longer_found() {
    QUERIES.with(|q| {
        *q.borrow_mut() = vec![Query {
            access: KEY_READ,
            name: "UsableRingBytes",
        }];
    });
    let mut machine = Machine::new(MachineConfig::default());
    machine.set_parameter("UsableRingBytes", 1);
    machine.clear_parameter("USABLERINGBYTES");
    assert_eq!(machine.load_driver(driver_entry), STATUS_SUCCESS);
    let results = RESULTS.with(RefCell::take);
    assert_eq!(results, [(STATUS_SUCCESS, STATUS_OBJECT_NAME_NOT_FOUND, 0)]);
}

#[test]
fn registry_query_on_a_key_opened_without_query_access_is_denied() {
    let (results, machine) = run(
        &[("UsableRingBytes", 4095)],
        vec![Query {
            access: 0x0002, // KEY_SET_VALUE only
            name: "UsableRingBytes",
        }],
    );
    assert_eq!(results, [(STATUS_SUCCESS, STATUS_ACCESS_DENIED, 0)]);
    let report = machine.report();
    assert!(
        report
            .of("REGISTRY")
            .iter()
            .any(|f| f.severity == Severity::Error && f.message.contains("KEY_QUERY_VALUE")),
        "{report}"
    );
}

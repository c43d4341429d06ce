//! A long run holds its state flat: once a test collects a completion the request leaves the
//! machine, and nothing else the machine keeps grows with the number of requests sent. The
//! end-of-run checks still see a request the driver never completed.
#![allow(
    unsafe_code,
    reason = "the in-test driver calls the mirror's unsafe DDIs"
)]

mod common;

use common::{Bad, Rig, SECOND, Setup, assert_only};
use kmdf_sim::mirror::{STATUS_INVALID_DEVICE_REQUEST, STATUS_SUCCESS};
use kmdf_sim::{Footprint, IoOp, Policy, Severity};

/// An IOCTL code the in-test driver does not know: it fails the request at once.
const UNKNOWN_IOCTL: u32 = 0x8000_2FFC;

/// Sends `count` reads and writes of 1 to 12 KiB, each run to completion.
fn churn(rig: &mut Rig, count: u64, salt: u64) {
    for n in 0..count {
        let len = usize::try_from(1 + (n * 2654 + salt) % (3 * 4096)).unwrap_or(1);
        let op = if n % 2 == 0 {
            IoOp::Read { len }
        } else {
            IoOp::Write {
                data: vec![0xA5; len],
            }
        };
        let done = rig.must(op);
        assert_eq!(
            (done.status, done.information),
            (STATUS_SUCCESS, len as u64),
            "request {n}"
        );
    }
}

#[test]
fn collected_requests_leave_the_machine_and_its_state_stays_flat() {
    let mut rig = Rig::new(Setup {
        seed: 13,
        policy: Policy::default(),
        ..Setup::bad(Bad::Nothing)
    });
    // Past the handle table's quarantine (about a thousand deleted objects), so slots are
    // being reused from here on.
    churn(&mut rig, 1_500, 0);
    let warm = rig.machine.footprint();
    churn(&mut rig, 3_000, 7);
    let after = rig.machine.footprint();
    // The device model's log keeps its most recent events: between LOG_KEEP and twice that.
    let log = kmdf_sim::devices::LOG_KEEP..=2 * kmdf_sim::devices::LOG_KEEP;
    assert!(log.contains(&after.device_log_events), "{after:?}");
    assert_eq!(
        Footprint {
            device_log_events: 0,
            ..after
        },
        Footprint {
            device_log_events: 0,
            ..warm
        },
        "3000 more requests must leave the machine holding the same state"
    );
    assert_eq!(
        (
            after.open_irps,
            after.uncollected_completions,
            after.findings
        ),
        (0, 0, 0),
        "{after:?}"
    );
    assert!(after.object_slots < 1_100, "{after:?}");
    assert!(rig.machine.stats().completions >= 4_500);
    rig.unload_clean();
}

#[test]
fn a_completion_is_seen_until_taken_and_taken_once() {
    let mut rig = Rig::new(Setup::bad(Bad::Nothing));
    let irp = rig.submit(IoOp::Read { len: 100 });
    assert_eq!(rig.machine.completion(irp), None, "not completed yet");
    rig.machine.run_for(10 * SECOND);
    let peeked = rig.machine.completion(irp).expect("completed");
    assert_eq!((peeked.status, peeked.information), (STATUS_SUCCESS, 100));
    assert_eq!(
        rig.machine.completion(irp),
        Some(peeked.clone()),
        "a peek keeps it"
    );
    assert_eq!(rig.machine.footprint().uncollected_completions, 1);
    assert_eq!(rig.machine.take_completion(irp), Some(peeked));
    assert_eq!(rig.machine.take_completion(irp), None, "taken once");
    assert_eq!(rig.machine.completion(irp), None);
    assert_eq!(rig.machine.footprint().uncollected_completions, 0);
    // Cancelling a request that left the machine does nothing.
    rig.machine.cancel_after(irp, 0);
    rig.machine.run_for(SECOND);
    assert!(rig.machine.report().is_clean(), "{}", rig.machine.report());
    rig.unload_clean();
}

#[test]
fn r1_still_names_the_one_request_never_completed_after_many_collected() {
    // This driver keeps every read and never completes it; IOCTLs it does not know it fails.
    let mut rig = Rig::new(Setup::bad(Bad::NeverComplete));
    for n in 0..2_000 {
        let done = rig.must(IoOp::Ioctl {
            code: UNKNOWN_IOCTL,
            input: Vec::new(),
            output_len: 0,
        });
        assert_eq!(done.status, STATUS_INVALID_DEVICE_REQUEST, "request {n}");
    }
    let kept = rig.submit(IoOp::Read { len: 512 });
    assert!(rig.machine.run_until_complete(kept, 10 * SECOND).is_none());
    let footprint = rig.machine.footprint();
    assert_eq!(
        (footprint.open_irps, footprint.uncollected_completions),
        (1, 0),
        "{footprint:?}"
    );
    let report = rig.unload();
    let r1 = report.of("R1");
    assert_eq!(r1.len(), 1, "{report}");
    assert!(
        r1.iter().all(|f| f.severity == Severity::Error
            && f.message == format!("IRP {} was never completed", kept.0)),
        "{report}"
    );
    assert_only(&report, &["R1", "POWER", "LEAK"]);
}

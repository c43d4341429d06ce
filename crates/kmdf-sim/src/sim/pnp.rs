//! PnP and power sequences beyond the first start.
//!
//! Query-stop, stop and restart with new resources (a rebalance), query-remove and its
//! cancellation, orderly removal, system sleep and hibernation, and what KMDF's queues do with
//! requests the driver acknowledged in `EvtIoStop`.
//!
//! The order of the callbacks follows KMDF's PnP and power state machines
//! (`pnpstatemachine.cpp`, `powerstatemachine.cpp`): a query asks the driver
//! (`EvtDeviceQueryStop`, `EvtDeviceQueryRemove`) and changes nothing else; a stop powers the
//! device down to `WdfPowerDeviceD3Final` with the power-managed queues held (`EvtIoStop` with
//! `WdfRequestStopActionSuspend`: queued requests stay queued), then releases the hardware; the
//! restart prepares the hardware with the new resource lists and enters D0, after which the held
//! requests are presented. Sleep and hibernation leave D0 for `WdfPowerDeviceD3` the same way
//! without releasing the hardware.

use super::engine;
use super::hw::NewResources;
use super::objects::{DevicePower, Id, Kind, handle};
use super::{Irql, with};
use crate::mirror::constants::{STATUS_CANCELLED, STATUS_INVALID_DEVICE_STATE, STATUS_SUCCESS};
use crate::mirror::types::{_WDF_POWER_DEVICE_STATE, NTSTATUS, WDFDEVICE};
use crate::verifier::Severity;

/// Which PnP query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Query {
    /// `IRP_MN_QUERY_STOP_DEVICE`: `EvtDeviceQueryStop`.
    Stop,
    /// `IRP_MN_QUERY_REMOVE_DEVICE`: `EvtDeviceQueryRemove`.
    Remove,
}

fn power_of(device: Id) -> Option<DevicePower> {
    with(|s| match s.obj(device).map(|o| &o.kind) {
        Some(Kind::Device(d)) => Some(d.power),
        _ => None,
    })
}

fn set_power(device: Id, power: DevicePower) {
    with(|s| {
        if let Some(Kind::Device(d)) = s.obj_mut(device).map(|o| &mut o.kind) {
            d.power = power;
        }
    });
}

/// Asks the driver whether the device may be stopped or removed. A failing status vetoes: the
/// device stays started, as KMDF's `PnpEventQuery*AskDriver` states return to Started.
pub(crate) fn query(device: Id, what: Query) -> NTSTATUS {
    let callbacks = with(|s| match s.obj(device).map(|o| &o.kind) {
        Some(Kind::Device(d)) => Some((d.pnp.EvtDeviceQueryStop, d.pnp.EvtDeviceQueryRemove)),
        _ => None,
    });
    let Some((stop, remove)) = callbacks else {
        return STATUS_INVALID_DEVICE_STATE;
    };
    if power_of(device) != Some(DevicePower::D0) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    let (callback, name) = match what {
        Query::Stop => (stop, "EvtDeviceQueryStop"),
        Query::Remove => (remove, "EvtDeviceQueryRemove"),
    };
    let status = callback.map_or(STATUS_SUCCESS, |f| {
        engine::at_irql(Irql::Passive, name, || {
            // SAFETY: registered by the driver in WDF_PNPPOWER_EVENT_CALLBACKS; the device
            // handle is live.
            unsafe { f(handle(device) as WDFDEVICE) }
        })
    });
    with(|s| s.log(|| format!("{name}: {status:#x}")));
    status
}

/// Owned requests of the device's queues, with what their last `EvtIoStop` acknowledgement
/// asked for.
fn acknowledged(device: Id) -> Vec<(Id, Id, bool)> {
    with(|s| {
        let queues = match s.obj(device).map(|o| &o.kind) {
            Some(Kind::Device(d)) => d.queues.clone(),
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        for queue in queues {
            let owned = s
                .queue_mut(queue)
                .map(|q| q.owned.clone())
                .unwrap_or_default();
            for request in owned {
                if let Some(r) = s.request(request)
                    && r.stop_acked
                {
                    out.push((queue, request, r.requeue));
                }
            }
        }
        out
    })
}

/// Carries out the `EvtIoStop` acknowledgements once the queues stopped.
///
/// Requests acknowledged with `Requeue=TRUE` go back to the head of their queue in the order
/// they were presented (or, when the queue purges, are cancelled by the framework); the others
/// stay the driver's.
fn settle_acknowledged(device: Id, purge: bool) {
    let requeued: Vec<(Id, Id)> = acknowledged(device)
        .into_iter()
        .filter(|(_, _, requeue)| *requeue)
        .map(|(queue, request, _)| (queue, request))
        .collect();
    with(|s| {
        for &(queue, request) in requeued.iter().rev() {
            if let Some(q) = s.queue_mut(queue) {
                q.owned.retain(|r| *r != request);
                if !purge {
                    q.pending.push_front(request);
                }
            }
            let irp = s.request(request).map(|r| {
                r.state = super::io::RequestState::Queued;
                r.stop_acked = false;
                r.requeue = false;
                r.irp
            });
            s.stats.requeued += 1;
            if purge && let Some(irp) = irp {
                s.remove(request);
                s.finish_irp(irp, STATUS_CANCELLED, 0);
            }
            s.log(|| format!("request {:#x} requeued", handle(request)));
        }
    });
}

/// Forgets the acknowledgements of the last power-down: a request the driver kept gets
/// `EvtIoStop` again at the next one.
fn clear_acknowledgements(device: Id) {
    let owned = acknowledged(device);
    with(|s| {
        for (_, request, _) in owned {
            if let Some(r) = s.request(request) {
                r.stop_acked = false;
                r.requeue = false;
            }
        }
    });
}

/// Leaves D0 for `target`: queues held (or purged), `EvtIoStop`, the power-down callbacks,
/// then what the acknowledgements asked for.
pub(crate) fn power_down(device: Id, target: i32, purge: bool) -> NTSTATUS {
    super::sched::quiesce();
    let deadline = with(|s| s.policy.power_deadline_ns);
    let status = engine::d0_exit(device, target, purge, deadline);
    settle_acknowledged(device, purge);
    status
}

/// Returns to D0 from `previous`.
pub(crate) fn power_up(device: Id, previous: i32) -> NTSTATUS {
    super::sched::quiesce();
    clear_acknowledgements(device);
    engine::d0_entry(device, previous)
}

/// `EvtDeviceReleaseHardware`, then the checks of what must not outlive it.
pub(crate) fn release(device: Id) -> NTSTATUS {
    let status = engine::release_hardware(device);
    with(|s| {
        let Some(Kind::Device(d)) = s.obj(device).map(|o| &o.kind) else {
            return;
        };
        let hw = d.hw;
        let interrupts: Vec<Id> = d.interrupts.clone();
        if s.hw.get(hw).is_some_and(|h| h.mapped.is_some()) {
            s.finding(
                "RELEASE",
                Severity::Error,
                format!("hardware {hw}: the BAR mapping outlived EvtDeviceReleaseHardware (MmUnmapIoSpace it there: the next start maps the resources the PnP manager assigns then)"),
            );
        }
        let connected = interrupts
            .iter()
            .filter(
                |i| matches!(s.obj(**i).map(|o| &o.kind), Some(Kind::Interrupt(x)) if x.connected),
            )
            .count();
        if connected > 0 {
            s.finding(
                "RELEASE",
                Severity::Error,
                format!("{connected} interrupt(s) still connected after EvtDeviceReleaseHardware"),
            );
        }
    });
    status
}

/// Stops a started device (`IRP_MN_STOP_DEVICE` after a successful query).
///
/// D0 exit to `WdfPowerDeviceD3Final` with the queues held, then release hardware. Requests
/// that arrive meanwhile wait in the power-managed queues.
pub(crate) fn stop(device: Id) -> NTSTATUS {
    if power_of(device) != Some(DevicePower::D0) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    let exit = power_down(
        device,
        _WDF_POWER_DEVICE_STATE::WdfPowerDeviceD3Final,
        false,
    );
    let released = release(device);
    set_power(device, DevicePower::Added);
    with(|s| s.log(|| format!("device stopped (D0 exit {exit:#x}, release {released:#x})")));
    if exit < 0 { exit } else { released }
}

/// Restarts a stopped device with new resources: prepare hardware with the new lists, D0
/// entry, and the held requests are presented.
pub(crate) fn restart(device: Id, new: NewResources) -> NTSTATUS {
    let Some((power, hw)) = with(|s| match s.obj(device).map(|o| &o.kind) {
        Some(Kind::Device(d)) => Some((d.power, d.hw)),
        _ => None,
    }) else {
        return STATUS_INVALID_DEVICE_STATE;
    };
    if power != DevicePower::Added {
        return STATUS_INVALID_DEVICE_STATE;
    }
    with(|s| s.reassign(hw, new));
    clear_acknowledgements(device);
    super::sched::quiesce();
    engine::start(device)
}

/// Orderly removal: D0 exit with the queues purged (when in D0), release hardware (when
/// prepared), requests still queued cancelled, the device deleted.
pub(crate) fn remove(device: Id) {
    let power = power_of(device);
    if power == Some(DevicePower::D0) {
        power_down(device, _WDF_POWER_DEVICE_STATE::WdfPowerDeviceD3Final, true);
    }
    // Also after a failed start: the resource lists still exist and the driver gets
    // EvtDeviceReleaseHardware (none after a stop, which released them already).
    if power.is_some() {
        release(device);
    }
    with(|s| {
        // A device removed while stopped or asleep still has its queued requests: the
        // queues are purged (KMDF's FxPkgIo::StopProcessingForPower(FxIoStopProcessingForPowerPurgeNonManaged) and queue deletion).
        let queues = match s.obj(device).map(|o| &o.kind) {
            Some(Kind::Device(d)) => d.queues.clone(),
            _ => Vec::new(),
        };
        for queue in queues {
            let pending: Vec<Id> = s
                .queue_mut(queue)
                .map(|q| q.pending.drain(..).collect())
                .unwrap_or_default();
            for request in pending {
                let Some(irp) = s.request(request).map(|r| r.irp) else {
                    continue;
                };
                s.remove(request);
                s.finish_irp(irp, STATUS_CANCELLED, 0);
            }
        }
        if let Some(Kind::Device(d)) = s.obj_mut(device).map(|o| &mut o.kind) {
            d.power = DevicePower::Removed;
        }
    });
    engine::delete_tree(device, false);
}

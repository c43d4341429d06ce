//! A framework timer whose callback is a method of the device context.

use core::ptr::NonNull;

use super::device::{Device, DeviceHandler};
use super::irql::{AtMostDispatch, Dispatch, Passive};
use super::object::{attributes, wdf_size_of};
use super::sys::{self, wdf_call};
use super::{Error, Result, Status};

/// `EvtTimerFunc`, implemented by the device context.
pub trait TimerHandler: DeviceHandler {
    /// The timer expired (DISPATCH_LEVEL).
    fn timer(&self, cx: &mut Dispatch<'_>);
}

/// A one-shot framework timer (WDFTIMER) parented to a device.
///
/// # Invariants
/// `handle` is a live timer whose parent is the device whose context stores this value.
#[derive(Debug)]
pub struct Timer {
    handle: NonNull<sys::WDFTIMER__>,
}

// SAFETY: timer handles may be used from any CPU.
unsafe impl Send for Timer {}
// SAFETY: as above; no interior state.
unsafe impl Sync for Timer {}

impl Timer {
    /// Wraps `WdfTimerCreate`: a one-shot timer calling `C::timer`.
    ///
    /// # Errors
    /// The failing status of the DDI.
    pub fn create<C: TimerHandler>(device: Device, _cx: &Passive<'_>) -> Result<Self> {
        let mut config = sys::WDF_TIMER_CONFIG {
            Size: wdf_size_of::<sys::WDF_TIMER_CONFIG>(),
            EvtTimerFunc: Some(evt_wdf_timer::<C>),
            ..Default::default()
        };
        let mut attributes = attributes(device.as_object());
        let mut handle: sys::WDFTIMER = core::ptr::null_mut();
        // SAFETY: locals valid for the call; the parent is a live device; PASSIVE_LEVEL.
        let status = unsafe {
            wdf_call!(
                WdfTimerCreate,
                &raw mut config,
                &raw mut attributes,
                &raw mut handle
            )
        };
        Status::from_raw(status).ok()?;
        // INVARIANT: created with the device as parent.
        NonNull::new(handle)
            .map(|handle| Self { handle })
            .ok_or(Error::INSUFFICIENT_RESOURCES)
    }

    /// Wraps `WdfTimerStart` with a relative due time in milliseconds. Returns true when the
    /// timer was already queued (it is re-armed).
    pub fn start_ms(&self, milliseconds: u32, _cx: &impl AtMostDispatch) -> bool {
        // Relative due times are negative, in 100 ns units.
        let due = -(i64::from(milliseconds) * 10_000);
        // SAFETY: the timer is live (invariant); IRQL <= DISPATCH_LEVEL by the token.
        unsafe { wdf_call!(WdfTimerStart, self.handle.as_ptr(), due) != 0 }
    }

    /// Wraps `WdfTimerStop` without waiting; returns true when the timer was queued.
    #[must_use = "tells whether the timer was still queued"]
    pub fn cancel(&self, _cx: &impl AtMostDispatch) -> bool {
        // SAFETY: the timer is live (invariant); Wait=FALSE is allowed at <= DISPATCH_LEVEL.
        unsafe { wdf_call!(WdfTimerStop, self.handle.as_ptr(), 0) != 0 }
    }

    /// Wraps `WdfTimerStop(Wait = TRUE)`: after it returns the callback is not running and
    /// will not run.
    #[must_use = "tells whether the timer was still queued"]
    pub fn cancel_and_wait(&self, _cx: &Passive<'_>) -> bool {
        // SAFETY: the timer is live (invariant); waiting needs PASSIVE_LEVEL (token) and must
        // not happen from the timer's own callback, which runs at DISPATCH_LEVEL.
        unsafe { wdf_call!(WdfTimerStop, self.handle.as_ptr(), 1) != 0 }
    }
}

/// `EvtTimerFunc` trampoline.
///
/// # Safety
/// Installed only by [`Timer::create::<C>`].
unsafe extern "C" fn evt_wdf_timer<C: TimerHandler>(timer: sys::WDFTIMER) {
    // SAFETY: the timer is live during its callback.
    let device = unsafe { wdf_call!(WdfTimerGetParentObject, timer) };
    // SAFETY: the parent is the live device created with `C` (installation).
    let Some(context) = (unsafe { Device::context_of::<C>(device.cast()) }) else {
        return;
    };
    // SAFETY: EvtTimerFunc runs at DISPATCH_LEVEL (not a passive-level timer).
    let mut cx = unsafe { Dispatch::new() };
    context.timer(&mut cx);
}

/// Wraps `KeQueryUnbiasedInterruptTime`: the time since boot in 100 ns units.
///
/// The time the system slept is not counted. Callable at any IRQL; for measuring how long
/// something took (a watchdog period, say), not the time of day.
#[must_use]
pub fn unbiased_interrupt_time() -> u64 {
    // SAFETY: no argument and no precondition; the kernel allows the call at any IRQL.
    unsafe { sys::KeQueryUnbiasedInterruptTime() }
}

//! `SpinLock<T>`: a WDFSPINLOCK that owns the data it protects.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use super::irql::{AtMostDispatch, Dispatch, TrueAtDispatch};
use super::object::attributes;
use super::sys::{self, wdf_call};
use super::{Device, Result};

/// Data behind a framework spin lock (`WdfSpinLockCreate`, `WdfSpinLockAcquire`,
/// `WdfSpinLockRelease`).
///
/// # Invariants
/// `handle` is a WDFSPINLOCK whose parent is the device whose context holds this value, so it
/// lives as long as the value; `data` is only reached through a [`SpinLockGuard`], i.e. with
/// the lock held.
pub struct SpinLock<T> {
    handle: NonNull<sys::WDFSPINLOCK__>,
    data: UnsafeCell<T>,
}

// SAFETY: the handle may be used from any CPU; `T: Send` is required because the lock moves
// access to `T` between CPUs.
unsafe impl<T: Send> Send for SpinLock<T> {}
// SAFETY: all access to `data` is serialised by the lock (invariant).
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// Wraps `WdfSpinLockCreate`, parented to `device`.
    ///
    /// # Errors
    /// The failing status of `WdfSpinLockCreate`.
    pub fn create(device: Device, value: T, _cx: &impl AtMostDispatch) -> Result<Self> {
        let mut attributes = attributes(device.as_object());
        let mut handle: sys::WDFSPINLOCK = core::ptr::null_mut();
        // SAFETY: both pointers are to locals valid for the call; the token proves IRQL <=
        // DISPATCH_LEVEL; the parent is a live device (invariant of `Device`).
        let status = unsafe { wdf_call!(WdfSpinLockCreate, &raw mut attributes, &raw mut handle) };
        super::Status::from_raw(status).ok()?;
        let handle = NonNull::new(handle).ok_or(super::Error::INSUFFICIENT_RESOURCES)?;
        // INVARIANT: the lock was created with the device as parent.
        Ok(Self {
            handle,
            data: UnsafeCell::new(value),
        })
    }

    /// Wraps `WdfSpinLockAcquire`. While the guard lives the IRQL is DISPATCH_LEVEL; the
    /// guard lends out a [`Dispatch`] token for calls made under the lock.
    ///
    /// The token is borrowed for as long as the guard lives. Only tokens that stay true at
    /// DISPATCH_LEVEL are accepted ([`TrueAtDispatch`]); a [`Passive`](super::irql::Passive)
    /// token is lent with `up_to_dispatch`, which keeps it mutably borrowed until the guard
    /// is dropped, so a PASSIVE_LEVEL wait under the lock does not compile:
    ///
    /// ```compile_fail
    /// # use kmdf_safe::{irql::Passive, sync::SpinLock, timer::Timer};
    /// fn wait_under_lock(lock: &SpinLock<u32>, timer: &Timer, cx: &mut Passive<'_>) {
    ///     let up = cx.up_to_dispatch();
    ///     let guard = lock.lock(&up);
    ///     let _ = timer.cancel_and_wait(cx); // `*cx` is still borrowed by the guard
    ///     drop(guard);
    /// }
    /// ```
    ///
    /// Nor does taking the lock with the PASSIVE token itself:
    ///
    /// ```compile_fail
    /// # use kmdf_safe::{irql::Passive, sync::SpinLock};
    /// fn lock_passive(lock: &SpinLock<u32>, cx: &mut Passive<'_>) -> u32 {
    ///     *lock.lock(cx) // `Passive: TrueAtDispatch` is not satisfied
    /// }
    /// ```
    ///
    /// Waiting after the guard is gone is fine:
    ///
    /// ```
    /// # use kmdf_safe::{irql::Passive, sync::SpinLock, timer::Timer};
    /// fn wait_after_lock(lock: &SpinLock<u32>, timer: &Timer, cx: &mut Passive<'_>) -> u32 {
    ///     let value = {
    ///         let up = cx.up_to_dispatch();
    ///         let mut guard = lock.lock(&up);
    ///         *guard += 1;
    ///         *guard
    ///     };
    ///     let _ = timer.cancel_and_wait(cx);
    ///     value
    /// }
    /// ```
    ///
    /// The lock is not re-entrant: taking it again while holding it deadlocks (the simulator
    /// reports it).
    pub fn lock<'a, C: TrueAtDispatch>(&'a self, _cx: &'a C) -> SpinLockGuard<'a, T> {
        // SAFETY: the handle is live (invariant); the token proves IRQL <= DISPATCH_LEVEL.
        // Re-acquisition by the holder is a deadlock, not memory unsafety: the data is only
        // reached through the one guard that holds the lock.
        unsafe { wdf_call!(WdfSpinLockAcquire, self.handle.as_ptr()) };
        SpinLockGuard {
            lock: self,
            // SAFETY: the lock is held, which raised the IRQL to DISPATCH_LEVEL, until the
            // guard (which owns this token and lends it only by shared reference) drops.
            cx: unsafe { Dispatch::new() },
        }
    }
}

/// Holds a [`SpinLock`]; releases it when dropped.
///
/// It keeps the caller's token borrowed (`'a`) and lends only a shared [`Dispatch`] token: no
/// `&mut` token can be had from it, so the interrupt lock (which needs one) cannot be taken
/// under a spin lock while the caller's DISPATCH-or-lower token is still usable.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
    /// Also makes the guard neither `Send` nor `Sync`.
    cx: Dispatch<'a>,
}

impl<'a, T> SpinLockGuard<'a, T> {
    /// The IRQL while the lock is held.
    #[must_use]
    pub const fn cx(&self) -> &Dispatch<'a> {
        &self.cx
    }
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the lock is held for the guard's lifetime (invariant of `SpinLock`).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held, and `&mut self` makes this the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard acquired the lock, which is live (invariant).
        unsafe { wdf_call!(WdfSpinLockRelease, self.lock.handle.as_ptr()) };
    }
}

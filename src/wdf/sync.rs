//! `SpinLock<T>`: a WDFSPINLOCK that owns the data it protects.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use super::irql::{AtMostDispatch, Dispatch};
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
    /// The lock is not re-entrant: taking it again while holding it deadlocks (the simulator
    /// reports it).
    pub fn lock<C: AtMostDispatch>(&self, _cx: &C) -> SpinLockGuard<'_, T> {
        // SAFETY: the handle is live (invariant); the token proves IRQL <= DISPATCH_LEVEL.
        // Re-acquisition by the holder is a deadlock, not memory unsafety: the data is only
        // reached through the one guard that holds the lock.
        unsafe { wdf_call!(WdfSpinLockAcquire, self.handle.as_ptr()) };
        SpinLockGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }
}

/// Holds a [`SpinLock`]; releases it when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> SpinLockGuard<'_, T> {
    /// The IRQL while the lock is held.
    #[must_use]
    pub fn cx(&self) -> Dispatch<'_> {
        // SAFETY: holding a spin lock raises to DISPATCH_LEVEL until the guard drops.
        unsafe { Dispatch::new() }
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

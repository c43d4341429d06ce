//! Interrupts: the ISR, the DPC, and state shared between them under the interrupt lock.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use super::device::{Device, DeviceHandler, InterruptResource};
use super::irql::{AtMostDispatch, Dirql, Dispatch, Passive};
use super::object::{
    ObjectContext, attributes_with_context, context_ptr, init_context, wdf_size_of,
};
use super::sys::{self, wdf_call};
use super::{Error, Result, Status};

/// What the ISR decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The device did not interrupt (shared line or spurious).
    NotMine,
    /// Handled; nothing for the DPC.
    Handled,
    /// Handled; queue the DPC.
    QueueDpc,
}

/// ISR and DPC of a device, implemented by the device context.
pub trait InterruptHandler: DeviceHandler {
    /// State the ISR records for the DPC, stored as the interrupt object's context and reached
    /// only under the interrupt lock. Declare it with `declare_context!`.
    type Shared: ObjectContext + Default;

    /// `EvtInterruptIsr`, at DIRQL with the interrupt lock held.
    fn isr(&self, shared: &mut Self::Shared, message: u32, cx: &Dirql<'_>) -> Claim;

    /// `EvtInterruptDpc`, at DISPATCH_LEVEL.
    fn dpc(&self, interrupt: &Interrupt<Self::Shared>, cx: &mut Dispatch<'_>);
}

/// A framework interrupt object (WDFINTERRUPT) whose ISR shares `S` with the driver.
///
/// # Invariants
/// `handle` is a live interrupt created by [`Interrupt::create`] with context `S`, which is
/// reached only with the interrupt lock held (in the ISR, or through an [`InterruptGuard`]); the value is stored in its device's context, which outlives it
/// (the framework deletes interrupts created in prepare-hardware after release-hardware, and
/// the driver drops this value in release-hardware).
pub struct Interrupt<S> {
    handle: NonNull<sys::WDFINTERRUPT__>,
    _shared: PhantomData<S>,
}

// SAFETY: interrupt handles may be used from any CPU; the state is guarded by the lock.
unsafe impl<S: ObjectContext> Send for Interrupt<S> {}
// SAFETY: as above.
unsafe impl<S: ObjectContext> Sync for Interrupt<S> {}

impl<S: ObjectContext + Default> Interrupt<S> {
    /// Wraps `WdfInterruptCreate` from `EvtDevicePrepareHardware`, for the given resource, with
    /// `C`'s ISR and DPC.
    ///
    /// # Errors
    /// The failing status of the DDI.
    pub fn create<C: InterruptHandler<Shared = S>>(
        device: Device,
        resource: &InterruptResource<'_>,
        _cx: &Passive<'_>,
    ) -> Result<Self> {
        let mut config = sys::WDF_INTERRUPT_CONFIG {
            Size: wdf_size_of::<sys::WDF_INTERRUPT_CONFIG>(),
            ShareVector: sys::_WDF_TRI_STATE::WdfUseDefault,
            EvtInterruptIsr: Some(evt_wdf_interrupt_isr::<C>),
            EvtInterruptDpc: Some(evt_wdf_interrupt_dpc::<C>),
            InterruptRaw: resource.raw,
            InterruptTranslated: resource.translated,
            ReportInactiveOnPowerDown: sys::_WDF_TRI_STATE::WdfUseDefault,
            ..Default::default()
        };
        let mut attributes = attributes_with_context::<S>();
        let mut handle: sys::WDFINTERRUPT = core::ptr::null_mut();
        // SAFETY: the device is live; the descriptors come from the current prepare-hardware
        // callback (invariant of `InterruptResource`); locals valid for the call; PASSIVE.
        let status = unsafe {
            wdf_call!(
                WdfInterruptCreate,
                device.as_raw(),
                &raw mut config,
                &raw mut attributes,
                &raw mut handle
            )
        };
        Status::from_raw(status).ok()?;
        let handle = NonNull::new(handle).ok_or(Error::INSUFFICIENT_RESOURCES)?;
        // SAFETY: just created with this context type; it is not connected until D0 entry, so
        // the ISR cannot run before the state is written.
        unsafe { init_context(handle.as_ptr().cast(), S::default()) };
        // INVARIANT: created with context `S`.
        Ok(Self {
            handle,
            _shared: PhantomData,
        })
    }
}

impl<S: ObjectContext> Interrupt<S> {
    /// The shared state's address (no framework call for a zero-sized state).
    fn shared(&self) -> *mut S {
        if core::mem::size_of::<S>() == 0 {
            return NonNull::dangling().as_ptr();
        }
        // SAFETY: the interrupt is live and was created with context `S` (invariant); the
        // pointer is dereferenced only under the interrupt lock.
        unsafe { context_ptr::<S>(self.handle.as_ptr().cast()) }.unwrap_or(core::ptr::null_mut())
    }

    /// Wraps `WdfInterruptAcquireLock`: the shared state, with the lock held (at DIRQL) until
    /// the guard drops. Keep the guard short: copy out what the ISR left and drop it before any
    /// DMA or request DDI.
    ///
    /// The caller's token is borrowed mutably for as long as the guard lives, and the guard
    /// lends only a [`Dirql`] token, which no DMA or request DDI accepts:
    ///
    /// ```compile_fail
    /// # use kmdf_safe::{Request, Status, interrupt::Interrupt, irql::Dispatch, ObjectContext};
    /// fn complete_at_dirql<S: ObjectContext>(
    ///     interrupt: &Interrupt<S>,
    ///     request: Request,
    ///     cx: &mut Dispatch<'_>,
    /// ) {
    ///     let guard = interrupt.lock(cx);
    ///     request.complete(Status::SUCCESS, cx); // `*cx` is still borrowed by the guard
    ///     drop(guard);
    /// }
    /// ```
    ///
    /// Nor can it be taken with a token only borrowed shared (a spin lock guard's, say), since
    /// that token's other borrowers could still use it:
    ///
    /// ```compile_fail
    /// # use kmdf_safe::{interrupt::Interrupt, irql::Dispatch, ObjectContext};
    /// fn shared<S: ObjectContext>(interrupt: &Interrupt<S>, cx: &Dispatch<'_>) {
    ///     let _guard = interrupt.lock(cx); // expected `&mut _`, found `&Dispatch<'_>`
    /// }
    /// ```
    ///
    /// Completing after the guard is dropped is fine:
    ///
    /// ```
    /// # use kmdf_safe::{Request, Status, interrupt::Interrupt, irql::Dispatch, ObjectContext};
    /// fn complete_after<S: ObjectContext>(
    ///     interrupt: &Interrupt<S>,
    ///     request: Request,
    ///     cx: &mut Dispatch<'_>,
    /// ) {
    ///     {
    ///         let guard = interrupt.lock(cx);
    ///         let _at_dirql = guard.cx();
    ///     }
    ///     request.complete(Status::SUCCESS, cx);
    /// }
    /// ```
    pub fn lock<'a, C: AtMostDispatch>(&'a self, _cx: &'a mut C) -> InterruptGuard<'a, S> {
        // SAFETY: the interrupt is live (invariant); IRQL <= DISPATCH_LEVEL by the token, so
        // this is not the ISR, which already holds the lock.
        unsafe { wdf_call!(WdfInterruptAcquireLock, self.handle.as_ptr()) };
        InterruptGuard {
            interrupt: self,
            shared: self.shared(),
            // SAFETY: the interrupt lock is held (at the device's DIRQL) until the guard, which
            // owns this token, drops.
            cx: unsafe { Dirql::new() },
        }
    }
}

/// Holds an interrupt lock; releases it when dropped.
///
/// It keeps the caller's token mutably borrowed (`'a`) and lends only a [`Dirql`] token.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct InterruptGuard<'a, S: ObjectContext> {
    interrupt: &'a Interrupt<S>,
    shared: *mut S,
    cx: Dirql<'a>,
}

impl<'a, S: ObjectContext> InterruptGuard<'a, S> {
    /// The IRQL while the lock is held.
    #[must_use]
    pub const fn cx(&self) -> &Dirql<'a> {
        &self.cx
    }
}

impl<S: ObjectContext> Deref for InterruptGuard<'_, S> {
    type Target = S;

    fn deref(&self) -> &S {
        // SAFETY: the context is initialised before the interrupt can be connected (non-null),
        // and the lock is held for the guard's lifetime (invariant of `Interrupt`).
        unsafe { &*self.shared }
    }
}

impl<S: ObjectContext> DerefMut for InterruptGuard<'_, S> {
    fn deref_mut(&mut self) -> &mut S {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference.
        unsafe { &mut *self.shared }
    }
}

impl<S: ObjectContext> Drop for InterruptGuard<'_, S> {
    fn drop(&mut self) {
        // SAFETY: this guard acquired the lock of a live interrupt.
        unsafe { wdf_call!(WdfInterruptReleaseLock, self.interrupt.handle.as_ptr()) };
    }
}

/// Finds the device context behind an interrupt.
///
/// # Safety
/// `interrupt` is live and belongs to a device created with context `C`.
unsafe fn device_context<'a, C: DeviceHandler>(interrupt: sys::WDFINTERRUPT) -> Option<&'a C> {
    // SAFETY: the interrupt is live (caller).
    let device = unsafe { wdf_call!(WdfInterruptGetDevice, interrupt) };
    // SAFETY: its device is live and was created with `C` (caller).
    unsafe { Device::context_of::<C>(device) }
}

/// `EvtInterruptIsr` trampoline.
///
/// # Safety
/// Installed only by [`Interrupt::create::<C>`].
unsafe extern "C" fn evt_wdf_interrupt_isr<C: InterruptHandler>(
    interrupt: sys::WDFINTERRUPT,
    message: sys::ULONG,
) -> sys::BOOLEAN {
    // SAFETY: the framework's callback for an interrupt created by `create::<C>`.
    let Some(context) = (unsafe { device_context::<C>(interrupt) }) else {
        return 0;
    };
    let Some(handle) = NonNull::new(interrupt) else {
        return 0;
    };
    // INVARIANT: a live interrupt created with context `C::Shared` (installation).
    let wrapper = Interrupt::<C::Shared> {
        handle,
        _shared: PhantomData,
    };
    let shared = wrapper.shared();
    if shared.is_null() {
        return 0;
    }
    // SAFETY: non-null; the ISR runs with the interrupt lock held, so this is the only
    // reference (invariant of `Interrupt`); a zero-sized state needs no storage.
    let shared = unsafe { &mut *shared };
    // SAFETY: EvtInterruptIsr runs at DIRQL with the interrupt lock held.
    let cx = unsafe { Dirql::new() };
    match context.isr(shared, message, &cx) {
        Claim::NotMine => 0,
        Claim::Handled => 1,
        Claim::QueueDpc => {
            // SAFETY: called from the ISR of this live interrupt, as the DDI requires.
            let _queued = unsafe { wdf_call!(WdfInterruptQueueDpcForIsr, interrupt) };
            1
        }
    }
}

/// `EvtInterruptDpc` trampoline.
///
/// # Safety
/// Installed only by [`Interrupt::create::<C>`].
unsafe extern "C" fn evt_wdf_interrupt_dpc<C: InterruptHandler>(
    interrupt: sys::WDFINTERRUPT,
    device: sys::WDFOBJECT,
) {
    // SAFETY: the associated object is the device the interrupt was created for
    // (`Interrupt::create` takes a `Device`), live and created with `C` (installation).
    let Some(context) = (unsafe { Device::context_of::<C>(device.cast()) }) else {
        return;
    };
    let Some(handle) = NonNull::new(interrupt) else {
        return;
    };
    // INVARIANT: a live interrupt created with context `C::Shared`.
    let interrupt = Interrupt::<C::Shared> {
        handle,
        _shared: PhantomData,
    };
    // SAFETY: EvtInterruptDpc runs at DISPATCH_LEVEL.
    let mut cx = unsafe { Dispatch::new() };
    context.dpc(&interrupt, &mut cx);
}

//! Typed object contexts (`WDF_DECLARE_CONTEXT_TYPE` in Rust) and object attributes.
//!
//! A context type is declared once with [`declare_context!`](crate::declare_context), which
//! makes a static [`ContextTypeInfo<T>`] whose `UniqueType` points at itself, as the C macro
//! does. The framework allocates the context (zeroed) with the object; the wrapper writes the
//! value with `ptr::write` once the object exists and drops it in the object's cleanup
//! callback. Contexts are only ever reached through `&T`, so they are `Sync` and use interior
//! mutability.

use super::sys::atomic::{AtomicBool, Ordering};
use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use super::sys::{self, wdf_call};

/// `sizeof(T)` as the `ULONG` that WDF `Size` fields hold, checked at compile time.
pub(crate) const fn wdf_size_of<T>() -> sys::ULONG {
    let size = core::mem::size_of::<T>();
    if size > u32::MAX as usize {
        // A WDF structure of 4 GiB cannot exist; KMDF rejects the wrong size.
        return u32::MAX;
    }
    // CAST: checked just above to fit in 32 bits.
    #[expect(clippy::cast_possible_truncation, reason = "checked just above")]
    let size = size as sys::ULONG;
    size
}

/// `MEMORY_ALLOCATION_ALIGNMENT`: the alignment KMDF gives an object's context.
///
/// The context field of KMDF's `FxContextHeader` is declared with it: 16 bytes on 64-bit
/// Windows, 8 on 32-bit. A context type needing more would be misaligned.
pub const MEMORY_ALLOCATION_ALIGNMENT: usize = if cfg!(target_pointer_width = "64") {
    16
} else {
    8
};

/// The memory KMDF allocates for a context of type `T`.
///
/// # Invariants
/// `value` is initialised exactly when `initialized` is true.
#[repr(C)]
pub(crate) struct ContextCell<T> {
    initialized: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Static description of a context type, handed to KMDF in `WDF_OBJECT_ATTRIBUTES`.
///
/// # Invariants
/// `raw.UniqueType` points at `raw` of the same static, and `raw.ContextSize` is the size of
/// `ContextCell<T>`; the `T` parameter ties the description to one Rust type.
#[repr(transparent)]
pub struct ContextTypeInfo<T> {
    raw: sys::WDF_OBJECT_CONTEXT_TYPE_INFO,
    _type: PhantomData<fn() -> T>,
}

// SAFETY: the structure is immutable after construction and only read by KMDF and by this
// module; its raw pointers point at 'static data.
unsafe impl<T> Sync for ContextTypeInfo<T> {}

impl<T> ContextTypeInfo<T> {
    /// Describes `T`. `this` must be the static being initialised, as
    /// [`declare_context!`](crate::declare_context) writes it.
    ///
    /// A type whose alignment exceeds what the framework guarantees for contexts
    /// ([`MEMORY_ALLOCATION_ALIGNMENT`]) does not compile:
    ///
    /// ```compile_fail,E0080
    /// #[repr(align(32))]
    /// struct Wide(u8);
    /// kmdf_safe::declare_context!(Wide); // evaluation panicked: context type over-aligned
    /// ```
    ///
    /// ```
    /// #[repr(align(16))]
    /// struct Aligned(u8);
    /// kmdf_safe::declare_context!(Aligned);
    /// ```
    #[must_use]
    pub const fn new(name: &'static CStr, this: &'static Self) -> Self {
        const {
            assert!(
                core::mem::align_of::<ContextCell<T>>() <= MEMORY_ALLOCATION_ALIGNMENT,
                "context type over-aligned: KMDF aligns contexts to MEMORY_ALLOCATION_ALIGNMENT"
            );
        }
        Self {
            raw: sys::WDF_OBJECT_CONTEXT_TYPE_INFO {
                Size: wdf_size_of::<sys::WDF_OBJECT_CONTEXT_TYPE_INFO>(),
                ContextName: name.as_ptr(),
                ContextSize: core::mem::size_of::<ContextCell<T>>(),
                // INVARIANT: `this` is the static itself (`declare_context!`).
                UniqueType: core::ptr::from_ref(this).cast(),
                EvtDriverGetUniqueContextType: None,
            },
            _type: PhantomData,
        }
    }

    const fn as_raw(&'static self) -> sys::PCWDF_OBJECT_CONTEXT_TYPE_INFO {
        core::ptr::from_ref(&self.raw)
    }
}

/// A type used as a framework object context. Implement it with
/// [`declare_context!`](crate::declare_context).
pub trait ObjectContext: Sized + Sync + Send + 'static {
    /// The type's static description.
    fn type_info() -> &'static ContextTypeInfo<Self>;
}

/// Declares a context type: `declare_context!(DeviceContext);`.
#[macro_export]
macro_rules! declare_context {
    ($type:ty) => {
        impl $crate::ObjectContext for $type {
            fn type_info() -> &'static $crate::ContextTypeInfo<Self> {
                static INFO: $crate::ContextTypeInfo<$type> = $crate::ContextTypeInfo::new(
                    match ::core::ffi::CStr::from_bytes_with_nul(
                        concat!(stringify!($type), "\0").as_bytes(),
                    ) {
                        Ok(name) => name,
                        Err(_) => c"context",
                    },
                    &INFO,
                );
                &INFO
            }
        }
    };
}

/// `WDF_OBJECT_ATTRIBUTES` for an object with a context of type `T` and a cleanup callback
/// that drops it.
///
/// No parent: the two objects that carry a typed context here take none (a
/// device's parent is its driver; an interrupt without automatic serialization refuses one
/// with `STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED`, `FxValidateObjectAttributes`), and KMDF
/// parents both to what they belong to.
pub(crate) fn attributes_with_context<T: ObjectContext>() -> sys::WDF_OBJECT_ATTRIBUTES {
    sys::WDF_OBJECT_ATTRIBUTES {
        Size: wdf_size_of::<sys::WDF_OBJECT_ATTRIBUTES>(),
        EvtCleanupCallback: Some(evt_wdf_object_context_cleanup::<T>),
        ExecutionLevel: sys::_WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope:
            sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ContextTypeInfo: T::type_info().as_raw(),
        ..Default::default()
    }
}

/// `WDF_OBJECT_ATTRIBUTES` with only a parent.
pub(crate) fn attributes(parent: sys::WDFOBJECT) -> sys::WDF_OBJECT_ATTRIBUTES {
    sys::WDF_OBJECT_ATTRIBUTES {
        Size: wdf_size_of::<sys::WDF_OBJECT_ATTRIBUTES>(),
        ExecutionLevel: sys::_WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope:
            sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ParentObject: parent,
        ..Default::default()
    }
}

/// The context cell of an object.
///
/// # Safety
/// `object` is a live framework object created with [`attributes_with_context::<T>`].
unsafe fn cell<'a, T: ObjectContext>(object: sys::WDFOBJECT) -> Option<&'a ContextCell<T>> {
    // SAFETY: `object` is live (caller); the type info is `T`'s static description.
    let raw = unsafe {
        wdf_call!(
            WdfObjectGetTypedContextWorker,
            object,
            T::type_info().as_raw()
        )
    };
    // SAFETY: KMDF returns the context memory it allocated for `T` (ContextSize of
    // ContextCell<T>, zeroed, 16-byte aligned), or NULL; it lives as long as the object.
    unsafe { raw.cast::<ContextCell<T>>().as_ref() }
}

/// Writes the context value of a newly created object.
///
/// # Safety
/// `object` was just created with [`attributes_with_context::<T>`] and no callback of it can
/// run before this returns.
pub(crate) unsafe fn init_context<T: ObjectContext>(object: sys::WDFOBJECT, value: T) {
    // SAFETY: the caller's contract.
    let Some(cell) = (unsafe { cell::<T>(object) }) else {
        return;
    };
    // SAFETY: no other reference to the value exists yet (caller), and the framework's zeroed
    // memory is an uninitialised `MaybeUninit<T>`; `ptr::write` does not drop the old bytes.
    unsafe { core::ptr::write(cell.value.get().cast::<T>(), value) };
    // INVARIANT: the value was written just above.
    cell.initialized.store(true, Ordering::Release);
}

/// The context value of an object, once initialised.
///
/// # Safety
/// `object` is a live framework object created with [`attributes_with_context::<T>`], and
/// stays live for `'a`.
pub(crate) unsafe fn context<'a, T: ObjectContext>(object: sys::WDFOBJECT) -> Option<&'a T> {
    // SAFETY: the caller's contract.
    let cell = unsafe { cell::<T>(object) }?;
    if !cell.initialized.load(Ordering::Acquire) {
        return None;
    }
    // SAFETY: initialised (invariant); only shared references are ever formed, and the value
    // is dropped only in cleanup, after the last callback of the object.
    Some(unsafe { &*cell.value.get().cast::<T>() })
}

/// Raw pointer to the context value of an object, once initialised, for wrappers that
/// serialise access themselves (the interrupt lock).
///
/// # Safety
/// As [`context`]; the caller forms references from the pointer only under its own exclusion.
pub(crate) unsafe fn context_ptr<T: ObjectContext>(object: sys::WDFOBJECT) -> Option<*mut T> {
    // SAFETY: the caller's contract.
    let cell = unsafe { cell::<T>(object) }?;
    cell.initialized
        .load(Ordering::Acquire)
        .then(|| cell.value.get().cast::<T>())
}

/// `EvtCleanupCallback`: drops the context value.
///
/// # Safety
/// Installed only by [`attributes_with_context::<T>`]; KMDF calls it once, when the object is
/// deleted, after the object's other callbacks.
unsafe extern "C" fn evt_wdf_object_context_cleanup<T: ObjectContext>(object: sys::WDFOBJECT) {
    // SAFETY: the object is live during its cleanup callback and was created with `T`.
    let Some(cell) = (unsafe { cell::<T>(object) }) else {
        return;
    };
    if cell.initialized.swap(false, Ordering::AcqRel) {
        // SAFETY: initialised (invariant), and no reference to it outlives the object's last
        // callback, which precedes cleanup.
        unsafe { core::ptr::drop_in_place(cell.value.get().cast::<T>()) };
    }
}

//! The driver object's entry, the device object, its PnP/power callbacks and its hardware
//! resources.

use core::marker::PhantomData;
use core::ptr::NonNull;

use super::irql::Passive;
use super::object::{ObjectContext, attributes_with_context, context, init_context, wdf_size_of};
use super::sys::{self, wdf_call};
use super::{Error, Result, Status};

/// A device interface class GUID, field by field as in `GUID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guid {
    /// First 32 bits.
    pub data1: u32,
    /// Next 16 bits.
    pub data2: u16,
    /// Next 16 bits.
    pub data3: u16,
    /// Last 64 bits, in byte order.
    pub data4: [u8; 8],
}

/// A framework device object (WDFDEVICE).
///
/// # Invariants
/// `handle` is a live WDFDEVICE. Values are handed out by trampolines for the duration of a
/// callback, or stored inside the device's own context (or a descendant's), which the
/// framework frees before the device itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    handle: NonNull<sys::WDFDEVICE__>,
}

// SAFETY: a WDFDEVICE handle may be used from any CPU at any IRQL its DDIs allow.
unsafe impl Send for Device {}
// SAFETY: as above; `Device` has no interior state.
unsafe impl Sync for Device {}

impl Device {
    /// # Safety
    /// `raw` is a live WDFDEVICE for as long as the value is used (see the invariant).
    pub(crate) unsafe fn from_raw(raw: sys::WDFDEVICE) -> Option<Self> {
        // INVARIANT: the caller's contract.
        NonNull::new(raw).map(|handle| Self { handle })
    }

    /// The raw handle.
    pub(crate) const fn as_raw(self) -> sys::WDFDEVICE {
        self.handle.as_ptr()
    }

    /// The handle as a `WDFOBJECT`.
    pub(crate) const fn as_object(self) -> sys::WDFOBJECT {
        self.handle.as_ptr().cast()
    }

    /// Wraps `WdfDeviceCreateDeviceInterface` (no reference string).
    ///
    /// # Errors
    /// The failing status of the DDI.
    pub fn create_interface(self, guid: &Guid, _cx: &Passive<'_>) -> Result {
        let guid = sys::GUID {
            Data1: guid.data1,
            Data2: guid.data2,
            Data3: guid.data3,
            Data4: guid.data4,
        };
        // SAFETY: the device is live (invariant); `guid` is a local valid for the call; a NULL
        // reference string is allowed; the token proves PASSIVE_LEVEL.
        let status = unsafe {
            wdf_call!(
                WdfDeviceCreateDeviceInterface,
                self.as_raw(),
                &raw const guid,
                core::ptr::null()
            )
        };
        Status::from_raw(status).ok()
    }

    /// The context of a device handed to a callback.
    ///
    /// # Safety
    /// `raw` is a live device created with context type `C`, live for `'a`.
    pub(crate) unsafe fn context_of<'a, C: ObjectContext>(raw: sys::WDFDEVICE) -> Option<&'a C> {
        // SAFETY: the caller's contract.
        let device = unsafe { Self::from_raw(raw) }?;
        // SAFETY: the caller's contract.
        unsafe { device.context::<C>() }
    }

    /// The device's context.
    ///
    /// # Safety
    /// The device was created with context type `C` (by [`DeviceInit::create`]) and is live for
    /// `'a`.
    pub(crate) unsafe fn context<'a, C: ObjectContext>(self) -> Option<&'a C> {
        // SAFETY: the caller's contract.
        unsafe { context::<C>(self.as_object()) }
    }
}

/// Device power states as the power callbacks report them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerState {
    /// D0.
    D0,
    /// D1 or D2.
    Intermediate,
    /// D3 (sleep, idle); the device may return.
    D3,
    /// D3 for removal or the driver's first D0 entry.
    D3Final,
    /// Preparing for hibernation.
    Hibernate,
    /// Any other value.
    Other,
}

impl PowerState {
    const fn from_raw(raw: sys::WDF_POWER_DEVICE_STATE) -> Self {
        match raw {
            sys::_WDF_POWER_DEVICE_STATE::WdfPowerDeviceD0 => Self::D0,
            sys::_WDF_POWER_DEVICE_STATE::WdfPowerDeviceD1
            | sys::_WDF_POWER_DEVICE_STATE::WdfPowerDeviceD2 => Self::Intermediate,
            sys::_WDF_POWER_DEVICE_STATE::WdfPowerDeviceD3 => Self::D3,
            sys::_WDF_POWER_DEVICE_STATE::WdfPowerDeviceD3Final => Self::D3Final,
            sys::_WDF_POWER_DEVICE_STATE::WdfPowerDevicePrepareForHibernation => Self::Hibernate,
            _ => Self::Other,
        }
    }
}

/// PnP and power callbacks of a device, implemented by its context type.
pub trait DeviceHandler: ObjectContext {
    /// `EvtDevicePrepareHardware`: map registers, find interrupts and DMA channels.
    ///
    /// # Errors
    /// A failure fails the device start.
    fn prepare_hardware(
        &self,
        device: Device,
        resources: &Resources<'_>,
        slot: &Prepare<'_>,
        cx: &mut Passive<'_>,
    ) -> Result;
    /// `EvtDeviceReleaseHardware`: undo `prepare_hardware`.
    ///
    /// # Errors
    /// Reported to the framework.
    fn release_hardware(&self, device: Device, slot: &Release<'_>, cx: &mut Passive<'_>) -> Result;
    /// `EvtDeviceD0Entry`.
    ///
    /// # Errors
    /// A failure fails the power-up.
    fn d0_entry(&self, device: Device, previous: PowerState, cx: &mut Passive<'_>) -> Result;
    /// `EvtDeviceD0ExitPreInterruptsDisabled`: the device still has its interrupts; the last
    /// moment to stop work that takes the interrupt lock (a timer, say), since the framework
    /// disconnects them next. The default does nothing.
    ///
    /// # Errors
    /// Reported to the framework.
    fn d0_exit_pre_interrupts_disabled(
        &self,
        device: Device,
        target: PowerState,
        cx: &mut Passive<'_>,
    ) -> Result {
        let _ = (device, target, cx);
        Ok(())
    }
    /// `EvtDeviceD0Exit`.
    ///
    /// # Errors
    /// Reported to the framework.
    fn d0_exit(&self, device: Device, target: PowerState, cx: &mut Passive<'_>) -> Result;
    /// `EvtDeviceSurpriseRemoval`: the hardware is gone; do not touch it.
    fn surprise_removal(&self, device: Device, cx: &mut Passive<'_>);
}

/// The `PWDFDEVICE_INIT` handed to `EvtDriverDeviceAdd`.
///
/// # Invariants
/// `raw` is the live device-init structure of the current `EvtDriverDeviceAdd` call, not yet
/// consumed by `WdfDeviceCreate`; `driver` is the live driver object that call received.
pub struct DeviceInit<'cb> {
    raw: sys::PWDFDEVICE_INIT,
    driver: sys::WDFDRIVER,
    _callback: PhantomData<&'cb mut ()>,
}

impl DeviceInit<'_> {
    /// # Safety
    /// `raw` and `driver` are the arguments of the current `EvtDriverDeviceAdd`.
    pub(crate) const unsafe fn from_raw(driver: sys::WDFDRIVER, raw: sys::PWDFDEVICE_INIT) -> Self {
        // INVARIANT: the caller's contract.
        Self {
            raw,
            driver,
            _callback: PhantomData,
        }
    }

    /// The driver object, for the driver-wide DDIs (the `Parameters` key).
    pub(crate) const fn driver(&self) -> sys::WDFDRIVER {
        self.driver
    }

    /// Wraps `WdfDeviceInitSetIoType(WdfDeviceIoDirect)`: reads and writes arrive with the
    /// caller's buffer locked (an MDL), the form DMA wants.
    pub fn set_direct_io(&mut self) {
        // SAFETY: `raw` is live and unconsumed (invariant).
        unsafe {
            wdf_call!(
                WdfDeviceInitSetIoType,
                self.raw,
                sys::_WDF_DEVICE_IO_TYPE::WdfDeviceIoDirect
            );
        };
    }

    /// Wraps `WdfDeviceInitSetPnpPowerEventCallbacks` and `WdfDeviceCreate`: creates the device
    /// with a context of type `C`, whose PnP/power callbacks become the device's. `build`
    /// creates the device's children and returns the context value, which is written before
    /// any callback of the device can run.
    ///
    /// # Errors
    /// The failing status of `WdfDeviceCreate`, or `build`'s error (the framework then deletes
    /// the device and its children).
    pub fn create<C: DeviceHandler>(
        mut self,
        build: impl FnOnce(Device, &mut Passive<'_>) -> Result<C>,
        cx: &mut Passive<'_>,
    ) -> Result<Device> {
        let mut callbacks = sys::WDF_PNPPOWER_EVENT_CALLBACKS {
            Size: wdf_size_of::<sys::WDF_PNPPOWER_EVENT_CALLBACKS>(),
            EvtDevicePrepareHardware: Some(evt_wdf_device_prepare_hardware::<C>),
            EvtDeviceReleaseHardware: Some(evt_wdf_device_release_hardware::<C>),
            EvtDeviceD0Entry: Some(evt_wdf_device_d0_entry::<C>),
            EvtDeviceD0Exit: Some(evt_wdf_device_d0_exit::<C>),
            EvtDeviceD0ExitPreInterruptsDisabled: Some(
                evt_wdf_device_d0_exit_pre_interrupts_disabled::<C>,
            ),
            EvtDeviceSurpriseRemoval: Some(evt_wdf_device_surprise_removal::<C>),
            ..Default::default()
        };
        // SAFETY: `raw` is live (invariant); `callbacks` is a local the framework copies.
        unsafe {
            wdf_call!(
                WdfDeviceInitSetPnpPowerEventCallbacks,
                self.raw,
                &raw mut callbacks
            );
        };
        let mut attributes = attributes_with_context::<C>();
        let mut handle: sys::WDFDEVICE = core::ptr::null_mut();
        // SAFETY: `self.raw` is live and consumed here (KMDF sets it to NULL on success); the
        // other pointers are locals valid for the call; PASSIVE_LEVEL by the token.
        let status = unsafe {
            wdf_call!(
                WdfDeviceCreate,
                &raw mut self.raw,
                &raw mut attributes,
                &raw mut handle
            )
        };
        Status::from_raw(status).ok()?;
        // SAFETY: WdfDeviceCreate succeeded, so `handle` is a live device.
        let device = unsafe { Device::from_raw(handle) }.ok_or(Error::INSUFFICIENT_RESOURCES)?;
        let value = build(device, cx)?;
        // SAFETY: the device was created with `C` just above; none of its callbacks run before
        // EvtDriverDeviceAdd returns, and this runs inside it.
        unsafe { init_context::<C>(device.as_object(), value) };
        Ok(device)
    }
}

/// The hardware resources handed to `EvtDevicePrepareHardware`.
///
/// # Invariants
/// Both lists are the framework's raw and translated lists of the current callback.
pub struct Resources<'cb> {
    raw: sys::WDFCMRESLIST,
    translated: sys::WDFCMRESLIST,
    _callback: PhantomData<&'cb ()>,
}

/// One hardware resource.
#[derive(Clone, Copy)]
pub enum Resource<'cb> {
    /// A memory range (a BAR).
    Memory {
        /// Physical start address.
        start: u64,
        /// Length in bytes.
        length: u32,
    },
    /// An interrupt.
    Interrupt(InterruptResource<'cb>),
    /// A system DMA channel.
    Dma(DmaResource<'cb>),
    /// Anything else.
    Other,
}

/// An interrupt resource: the raw and translated descriptors `WdfInterruptCreate` needs when
/// called from `EvtDevicePrepareHardware`.
///
/// # Invariants
/// Both pointers point into the framework's resource lists of the current callback.
#[derive(Clone, Copy)]
pub struct InterruptResource<'cb> {
    pub(crate) raw: sys::PCM_PARTIAL_RESOURCE_DESCRIPTOR,
    pub(crate) translated: sys::PCM_PARTIAL_RESOURCE_DESCRIPTOR,
    /// Message-signalled (MSI) rather than line-based.
    pub message: bool,
    _callback: PhantomData<&'cb ()>,
}

/// A system DMA channel resource (`CmResourceTypeDma`).
///
/// # Invariants
/// `translated` points into the framework's translated resource list of the current callback.
#[derive(Clone, Copy)]
pub struct DmaResource<'cb> {
    pub(crate) translated: sys::PCM_PARTIAL_RESOURCE_DESCRIPTOR,
    /// Controller channel.
    pub channel: u32,
    /// Request line.
    pub request_line: u32,
    _callback: PhantomData<&'cb ()>,
}

impl Resources<'_> {
    /// Wraps `WdfCmResourceListGetCount`.
    #[must_use]
    pub fn len(&self) -> u32 {
        // SAFETY: the translated list is live during the callback (invariant).
        unsafe { wdf_call!(WdfCmResourceListGetCount, self.translated) }
    }

    /// True when there are no resources.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wraps `WdfCmResourceListGetDescriptor` on both lists: resource `index`.
    #[must_use]
    pub fn get(&self, index: u32) -> Option<Resource<'_>> {
        // SAFETY: the lists are live during the callback (invariant); an out-of-range index
        // yields NULL.
        let translated =
            unsafe { wdf_call!(WdfCmResourceListGetDescriptor, self.translated, index) };
        // SAFETY: as above.
        let raw = unsafe { wdf_call!(WdfCmResourceListGetDescriptor, self.raw, index) };
        // SAFETY: a non-NULL descriptor points into the framework's list, alive for 'cb.
        let descriptor = unsafe { translated.as_ref() }?;
        let kind = u32::from(descriptor.Type);
        Some(if kind == sys::CmResourceTypeMemory {
            // SAFETY: the type says the `Memory` member is the valid one; it is plain data.
            let memory = unsafe { descriptor.u.Memory };
            let start = memory.Start;
            // SAFETY: every member of LARGE_INTEGER covers the same plain 8 bytes.
            let start = unsafe { start.QuadPart }.cast_unsigned();
            Resource::Memory {
                start,
                length: memory.Length,
            }
        } else if kind == sys::CmResourceTypeInterrupt {
            let message = u32::from(descriptor.Flags) & sys::CM_RESOURCE_INTERRUPT_MESSAGE != 0;
            // INVARIANT: both descriptors come from the current callback's lists.
            Resource::Interrupt(InterruptResource {
                raw,
                translated,
                message,
                _callback: PhantomData,
            })
        } else if kind == sys::CmResourceTypeDma {
            // SAFETY: the type says the `Dma` member is the valid one; it is plain data.
            let dma = unsafe { descriptor.u.Dma };
            // INVARIANT: the descriptor comes from the current callback's translated list.
            Resource::Dma(DmaResource {
                translated,
                channel: dma.Channel,
                request_line: dma.Port,
                _callback: PhantomData,
            })
        } else {
            Resource::Other
        })
    }

    /// All resources, in order.
    pub fn iter(&self) -> impl Iterator<Item = Resource<'_>> {
        (0..self.len()).filter_map(|index| self.get(index))
    }
}

/// Recovers the device and its context in a PnP trampoline.
///
/// # Safety
/// `device` is the WDFDEVICE of the current PnP callback, created by [`DeviceInit::create::<C>`].
unsafe fn device_and_context<'a, C: DeviceHandler>(
    device: sys::WDFDEVICE,
) -> Option<(Device, &'a C)> {
    // SAFETY: the framework passes a live device to its own callbacks.
    let device = unsafe { Device::from_raw(device) }?;
    // SAFETY: created with `C` (caller); alive for the callback.
    let context = unsafe { device.context::<C>() }?;
    Some((device, context))
}

/// `EvtDevicePrepareHardware` trampoline.
///
/// # Safety
/// Installed only by [`DeviceInit::create::<C>`].
unsafe extern "C" fn evt_wdf_device_prepare_hardware<C: DeviceHandler>(
    device: sys::WDFDEVICE,
    raw: sys::WDFCMRESLIST,
    translated: sys::WDFCMRESLIST,
) -> sys::NTSTATUS {
    // SAFETY: the framework's own callback, for a device created with `C` (installation).
    let Some((device, context)) = (unsafe { device_and_context::<C>(device) }) else {
        return Error::INVALID_DEVICE_STATE.raw();
    };
    // INVARIANT: the lists are this callback's.
    let resources = Resources {
        raw,
        translated,
        _callback: PhantomData,
    };
    // SAFETY: EvtDevicePrepareHardware runs at PASSIVE_LEVEL.
    let mut cx = unsafe { Passive::new() };
    Status::from(context.prepare_hardware(device, &resources, &Prepare(PhantomData), &mut cx)).raw()
}

/// `EvtDeviceReleaseHardware` trampoline.
///
/// # Safety
/// Installed only by [`DeviceInit::create::<C>`].
unsafe extern "C" fn evt_wdf_device_release_hardware<C: DeviceHandler>(
    device: sys::WDFDEVICE,
    _translated: sys::WDFCMRESLIST,
) -> sys::NTSTATUS {
    // SAFETY: the framework's own callback, for a device created with `C` (installation).
    let Some((device, context)) = (unsafe { device_and_context::<C>(device) }) else {
        return Error::INVALID_DEVICE_STATE.raw();
    };
    // SAFETY: EvtDeviceReleaseHardware runs at PASSIVE_LEVEL.
    let mut cx = unsafe { Passive::new() };
    Status::from(context.release_hardware(device, &Release(PhantomData), &mut cx)).raw()
}

/// `EvtDeviceD0Entry` trampoline.
///
/// # Safety
/// Installed only by [`DeviceInit::create::<C>`].
unsafe extern "C" fn evt_wdf_device_d0_entry<C: DeviceHandler>(
    device: sys::WDFDEVICE,
    previous: sys::WDF_POWER_DEVICE_STATE,
) -> sys::NTSTATUS {
    // SAFETY: the framework's own callback, for a device created with `C` (installation).
    let Some((device, context)) = (unsafe { device_and_context::<C>(device) }) else {
        return Error::INVALID_DEVICE_STATE.raw();
    };
    // SAFETY: EvtDeviceD0Entry runs at PASSIVE_LEVEL (the driver is not power-pageable-only).
    let mut cx = unsafe { Passive::new() };
    Status::from(context.d0_entry(device, PowerState::from_raw(previous), &mut cx)).raw()
}

/// `EvtDeviceD0ExitPreInterruptsDisabled` trampoline.
///
/// # Safety
/// Installed only by [`DeviceInit::create::<C>`].
unsafe extern "C" fn evt_wdf_device_d0_exit_pre_interrupts_disabled<C: DeviceHandler>(
    device: sys::WDFDEVICE,
    target: sys::WDF_POWER_DEVICE_STATE,
) -> sys::NTSTATUS {
    // SAFETY: the framework's own callback, for a device created with `C` (installation).
    let Some((device, context)) = (unsafe { device_and_context::<C>(device) }) else {
        return Error::INVALID_DEVICE_STATE.raw();
    };
    // SAFETY: EvtDeviceD0ExitPreInterruptsDisabled runs at PASSIVE_LEVEL.
    let mut cx = unsafe { Passive::new() };
    let target = PowerState::from_raw(target);
    Status::from(context.d0_exit_pre_interrupts_disabled(device, target, &mut cx)).raw()
}

/// `EvtDeviceD0Exit` trampoline.
///
/// # Safety
/// Installed only by [`DeviceInit::create::<C>`].
unsafe extern "C" fn evt_wdf_device_d0_exit<C: DeviceHandler>(
    device: sys::WDFDEVICE,
    target: sys::WDF_POWER_DEVICE_STATE,
) -> sys::NTSTATUS {
    // SAFETY: the framework's own callback, for a device created with `C` (installation).
    let Some((device, context)) = (unsafe { device_and_context::<C>(device) }) else {
        return Error::INVALID_DEVICE_STATE.raw();
    };
    // SAFETY: EvtDeviceD0Exit runs at PASSIVE_LEVEL.
    let mut cx = unsafe { Passive::new() };
    Status::from(context.d0_exit(device, PowerState::from_raw(target), &mut cx)).raw()
}

/// `EvtDeviceSurpriseRemoval` trampoline.
///
/// # Safety
/// Installed only by [`DeviceInit::create::<C>`].
unsafe extern "C" fn evt_wdf_device_surprise_removal<C: DeviceHandler>(device: sys::WDFDEVICE) {
    // SAFETY: the framework's own callback, for a device created with `C` (installation).
    if let Some((device, context)) = unsafe { device_and_context::<C>(device) } {
        // SAFETY: EvtDeviceSurpriseRemoval runs at PASSIVE_LEVEL.
        let mut cx = unsafe { Passive::new() };
        context.surprise_removal(device, &mut cx);
    }
}

/// What a driver implements: its log prefix and `EvtDriverDeviceAdd`.
pub trait Driver {
    /// The start of each of the driver's log lines (followed by `": "`), e.g. its service name.
    const LOG_PREFIX: &'static str;

    /// `EvtDriverDeviceAdd`: configure `init` and create the device.
    ///
    /// # Errors
    /// A failure makes the framework delete the device.
    fn device_add(init: DeviceInit<'_>, cx: &mut Passive<'_>) -> Result;
}

/// The body of `DriverEntry`: `WdfDriverCreate` with `D`'s device-add callback.
///
/// # Safety
/// Called once, from the driver's `DriverEntry`, with the arguments the kernel passed it.
pub unsafe fn driver_entry<D: Driver>(
    driver_object: sys::PDRIVER_OBJECT,
    registry_path: sys::PCUNICODE_STRING,
) -> sys::NTSTATUS {
    crate::log::set_prefix(&D::LOG_PREFIX);
    let mut config = sys::WDF_DRIVER_CONFIG {
        Size: wdf_size_of::<sys::WDF_DRIVER_CONFIG>(),
        EvtDriverDeviceAdd: Some(evt_wdf_driver_device_add::<D>),
        ..Default::default()
    };
    let mut driver: sys::WDFDRIVER = core::ptr::null_mut();
    // SAFETY: the kernel's arguments (caller's contract); `config` and `driver` are locals
    // valid for the call; no attributes; DriverEntry runs at PASSIVE_LEVEL.
    unsafe {
        wdf_call!(
            WdfDriverCreate,
            driver_object,
            registry_path,
            core::ptr::null_mut(),
            &raw mut config,
            &raw mut driver
        )
    }
}

/// `EvtDriverDeviceAdd` trampoline.
///
/// # Safety
/// Installed only by [`driver_entry::<D>`].
unsafe extern "C" fn evt_wdf_driver_device_add<D: Driver>(
    driver: sys::WDFDRIVER,
    init: sys::PWDFDEVICE_INIT,
) -> sys::NTSTATUS {
    // SAFETY: the framework passes its live driver object and this callback's live
    // device-init structure.
    let init = unsafe { DeviceInit::from_raw(driver, init) };
    // SAFETY: EvtDriverDeviceAdd runs at PASSIVE_LEVEL.
    let mut cx = unsafe { Passive::new() };
    Status::from(D::device_add(init, &mut cx)).raw()
}

/// Proof of running in `EvtDevicePrepareHardware`.
pub struct Prepare<'cb>(PhantomData<&'cb ()>);
/// Proof of running in `EvtDeviceReleaseHardware`.
pub struct Release<'cb>(PhantomData<&'cb ()>);

/// State that exists only while the hardware is prepared (mapped registers, interrupt, DMA
/// objects): filled in prepare-hardware, emptied in release-hardware (the idea of Rust-for-Linux's `Devres`).
///
/// # Invariants
/// `value` is written only through [`HardwareSlot::set`] and [`HardwareSlot::take`], which need
/// the [`Prepare`]/[`Release`] proofs. KMDF runs those callbacks when no other callback of the
/// device can run: interrupts are disconnected (before D0 entry, after D0 exit), power-managed
/// queues present nothing and own no request outside D0, and the driver stops its timer with
/// a wait in D0 exit. So readers (every other callback) never overlap a writer.
pub struct HardwareSlot<T> {
    value: core::cell::UnsafeCell<Option<T>>,
}

// SAFETY: writes never overlap reads (invariant); `T: Send + Sync` for the shared reads.
unsafe impl<T: Send + Sync> Sync for HardwareSlot<T> {}
// SAFETY: moving the slot moves a `T: Send`.
unsafe impl<T: Send> Send for HardwareSlot<T> {}

impl<T> Default for HardwareSlot<T> {
    fn default() -> Self {
        Self {
            value: core::cell::UnsafeCell::new(None),
        }
    }
}

impl<T> HardwareSlot<T> {
    /// Stores the prepared hardware state.
    pub fn set(&self, value: T, _slot: &Prepare<'_>) {
        // SAFETY: no reader runs during prepare-hardware (invariant).
        unsafe { *self.value.get() = Some(value) };
    }

    /// Removes the hardware state for tear-down.
    pub fn take(&self, _slot: &Release<'_>) -> Option<T> {
        // SAFETY: no reader runs during release-hardware (invariant).
        unsafe { (*self.value.get()).take() }
    }

    /// The hardware state, while prepared.
    #[must_use]
    pub fn get(&self) -> Option<&T> {
        // SAFETY: no writer runs while any other callback runs (invariant).
        unsafe { (*self.value.get()).as_ref() }
    }
}

//! The WDF and kernel functions the driver calls.
//!
//! Parameter lists are those of the KMDF 1.33 function table minus `DriverGlobals` (which
//! `call_unsafe_wdf_function_binding!` supplies on Windows), so that the same call expression
//! compiles in both worlds.
//!
//! Each function checks what KMDF checks (handle type, IRQL, state, arguments) and reports
//! breaches to the verifier; pointer arguments are dereferenced only here, at the boundary.

use core::ffi::c_void;

use super::constants::{STATUS_INVALID_PARAMETER, STATUS_SUCCESS};
use super::types::{
    ACCESS_MASK, BOOLEAN, GUID, LONGLONG, NTSTATUS, PCM_PARTIAL_RESOURCE_DESCRIPTOR,
    PCUNICODE_STRING, PCWDF_OBJECT_CONTEXT_TYPE_INFO, PDRIVER_OBJECT,
    PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE, PFN_WDF_PROGRAM_DMA, PFN_WDF_REQUEST_CANCEL,
    PHYSICAL_ADDRESS, PULONG, PVOID, PWDF_DMA_ENABLER_CONFIG, PWDF_DMA_SYSTEM_PROFILE_CONFIG,
    PWDF_DRIVER_CONFIG, PWDF_INTERRUPT_CONFIG, PWDF_IO_QUEUE_CONFIG, PWDF_OBJECT_ATTRIBUTES,
    PWDF_PNPPOWER_EVENT_CALLBACKS, PWDF_TIMER_CONFIG, PWDFDEVICE_INIT, SIZE_T, ULONG, ULONG_PTR,
    ULONGLONG, WDF_DEVICE_IO_TYPE, WDF_DMA_DIRECTION, WDF_REQUEST_TYPE, WDFCMRESLIST,
    WDFCOMMONBUFFER, WDFCONTEXT, WDFDEVICE, WDFDMAENABLER, WDFDMATRANSACTION, WDFDRIVER,
    WDFINTERRUPT, WDFKEY, WDFOBJECT, WDFQUEUE, WDFREQUEST, WDFSPINLOCK, WDFTIMER,
};
use crate::sim::{api, dma};

/// Reads an optional pointer argument.
///
/// # Safety
/// `ptr` is null or valid for reads of `T`.
const unsafe fn opt<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: the caller's contract.
    unsafe { ptr.as_ref() }
}

/// Stores through an out pointer, reporting a NULL one (bugcheck 0x10D/0x4).
///
/// # Safety
/// `ptr` is null or valid for writes of `T`.
unsafe fn out<T>(ptr: *mut T, ddi: &'static str, value: T) {
    if ptr.is_null() {
        api::null_argument(ddi);
        return;
    }
    // SAFETY: non-null, and the caller's contract makes it valid for writes.
    unsafe { ptr.write(value) };
}

/// `WdfDriverCreate`.
///
/// # Safety
/// KMDF's contract: pointers valid for the call.
pub unsafe fn WdfDriverCreate(
    DriverObject: PDRIVER_OBJECT,
    RegistryPath: PCUNICODE_STRING,
    DriverAttributes: PWDF_OBJECT_ATTRIBUTES,
    DriverConfig: PWDF_DRIVER_CONFIG,
    Driver: *mut WDFDRIVER,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    let _ = (DriverObject, RegistryPath);
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(DriverAttributes) };
    // SAFETY: the caller's contract.
    let config = unsafe { opt(DriverConfig) };
    let result = api::driver_create(attributes, config);
    let (status, handle) = match result {
        Ok(handle) => (STATUS_SUCCESS, handle),
        Err(status) => (status, 0),
    };
    if !Driver.is_null() {
        // SAFETY: the caller's contract.
        unsafe { out(Driver, "WdfDriverCreate", handle as WDFDRIVER) };
    }
    status
}

/// `WdfDeviceInitSetPnpPowerEventCallbacks`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDeviceInitSetPnpPowerEventCallbacks(
    DeviceInit: PWDFDEVICE_INIT,
    PnpPowerEventCallbacks: PWDF_PNPPOWER_EVENT_CALLBACKS,
) {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let callbacks = unsafe { opt(PnpPowerEventCallbacks) };
    api::init_set_pnp(DeviceInit as usize, callbacks);
}

/// `WdfDeviceInitSetIoType`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDeviceInitSetIoType(DeviceInit: PWDFDEVICE_INIT, IoType: WDF_DEVICE_IO_TYPE) {
    let _switch = crate::sim::sched::ddi();
    api::init_set_io_type(DeviceInit as usize, IoType);
}

/// `WdfDeviceCreate`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDeviceCreate(
    DeviceInit: *mut PWDFDEVICE_INIT,
    DeviceAttributes: PWDF_OBJECT_ATTRIBUTES,
    Device: *mut WDFDEVICE,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    if DeviceInit.is_null() {
        api::null_argument("WdfDeviceCreate");
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: non-null and valid per the caller's contract.
    let init = unsafe { *DeviceInit } as usize;
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(DeviceAttributes) };
    match api::device_create(init, attributes) {
        Ok(handle) => {
            // SAFETY: the caller's contract; KMDF sets *DeviceInit to NULL on success.
            unsafe { *DeviceInit = core::ptr::null_mut() };
            // SAFETY: the caller's contract.
            unsafe { out(Device, "WdfDeviceCreate", handle as WDFDEVICE) };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfDeviceCreateDeviceInterface`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDeviceCreateDeviceInterface(
    Device: WDFDEVICE,
    InterfaceClassGUID: *const GUID,
    ReferenceString: PCUNICODE_STRING,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    let _ = ReferenceString;
    // SAFETY: the caller's contract.
    let guid = unsafe { opt(InterfaceClassGUID) };
    api::device_interface(Device as usize, guid.copied())
}

/// `WdfDeviceSetAlignmentRequirement`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDeviceSetAlignmentRequirement(Device: WDFDEVICE, AlignmentRequirement: ULONG) {
    let _switch = crate::sim::sched::ddi();
    api::device_alignment(Device as usize, AlignmentRequirement);
}

/// `WdfObjectGetTypedContextWorker`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfObjectGetTypedContextWorker(
    Handle: WDFOBJECT,
    TypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
) -> PVOID {
    let _switch = crate::sim::sched::ddi();
    let unique = super::read_type_info(TypeInfo).1;
    api::context(Handle as usize, unique).cast()
}

/// `WdfObjectDelete`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfObjectDelete(Object: WDFOBJECT) {
    let _switch = crate::sim::sched::ddi();
    api::object_delete(Object as usize);
}

/// `WdfCmResourceListGetCount`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfCmResourceListGetCount(List: WDFCMRESLIST) -> ULONG {
    let _switch = crate::sim::sched::ddi();
    api::resource_count(List as usize)
}

/// `WdfCmResourceListGetDescriptor`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfCmResourceListGetDescriptor(
    List: WDFCMRESLIST,
    Index: ULONG,
) -> PCM_PARTIAL_RESOURCE_DESCRIPTOR {
    let _switch = crate::sim::sched::ddi();
    api::resource_descriptor(List as usize, Index)
}

/// `WdfIoQueueCreate`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfIoQueueCreate(
    Device: WDFDEVICE,
    Config: PWDF_IO_QUEUE_CONFIG,
    QueueAttributes: PWDF_OBJECT_ATTRIBUTES,
    Queue: *mut WDFQUEUE,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let config = unsafe { opt(Config) };
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(QueueAttributes) };
    match api::queue_create(Device as usize, config, attributes) {
        Ok(handle) => {
            if !Queue.is_null() {
                // SAFETY: the caller's contract.
                unsafe { out(Queue, "WdfIoQueueCreate", handle as WDFQUEUE) };
            }
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfDeviceConfigureRequestDispatching`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDeviceConfigureRequestDispatching(
    Device: WDFDEVICE,
    Queue: WDFQUEUE,
    RequestType: WDF_REQUEST_TYPE,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    api::configure_dispatching(Device as usize, Queue as usize, RequestType)
}

/// `WdfRequestCompleteWithInformation`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfRequestCompleteWithInformation(
    Request: WDFREQUEST,
    Status: NTSTATUS,
    Information: ULONG_PTR,
) {
    let _switch = crate::sim::sched::ddi();
    api::request_complete(Request as usize, Status, Some(Information));
}

/// `WdfRequestComplete`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfRequestComplete(Request: WDFREQUEST, Status: NTSTATUS) {
    let _switch = crate::sim::sched::ddi();
    api::request_complete(Request as usize, Status, None);
}

/// `WdfRequestRetrieveInputBuffer`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfRequestRetrieveInputBuffer(
    Request: WDFREQUEST,
    MinimumRequiredLength: usize,
    Buffer: *mut PVOID,
    Length: *mut usize,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    unsafe { retrieve(Request, false, MinimumRequiredLength, Buffer, Length) }
}

/// `WdfRequestRetrieveOutputBuffer`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfRequestRetrieveOutputBuffer(
    Request: WDFREQUEST,
    MinimumRequiredSize: usize,
    Buffer: *mut PVOID,
    Length: *mut usize,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    unsafe { retrieve(Request, true, MinimumRequiredSize, Buffer, Length) }
}

/// Shared body of the two retrieve functions.
///
/// # Safety
/// `buffer` valid for writes; `length` null or valid for writes.
unsafe fn retrieve(
    request: WDFREQUEST,
    output: bool,
    minimum: usize,
    buffer: *mut PVOID,
    length: *mut usize,
) -> NTSTATUS {
    let ddi = if output {
        "WdfRequestRetrieveOutputBuffer"
    } else {
        "WdfRequestRetrieveInputBuffer"
    };
    match api::request_buffer(request as usize, output, minimum) {
        Ok((va, len)) => {
            // SAFETY: the caller's contract.
            unsafe { out(buffer, ddi, va.cast::<c_void>()) };
            if !length.is_null() {
                // SAFETY: non-null and valid per the caller's contract.
                unsafe { length.write(len) };
            }
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfRequestMarkCancelableEx`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfRequestMarkCancelableEx(
    Request: WDFREQUEST,
    EvtRequestCancel: PFN_WDF_REQUEST_CANCEL,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    api::mark_cancelable(Request as usize, EvtRequestCancel)
}

/// `WdfRequestUnmarkCancelable`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfRequestUnmarkCancelable(Request: WDFREQUEST) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    api::unmark_cancelable(Request as usize)
}

/// `WdfRequestStopAcknowledge`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfRequestStopAcknowledge(Request: WDFREQUEST, Requeue: BOOLEAN) {
    let _switch = crate::sim::sched::ddi();
    api::stop_acknowledge(Request as usize, Requeue != 0);
}

/// `WdfInterruptCreate`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfInterruptCreate(
    Device: WDFDEVICE,
    Configuration: PWDF_INTERRUPT_CONFIG,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    Interrupt: *mut WDFINTERRUPT,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let config = unsafe { opt(Configuration) };
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(Attributes) };
    match api::interrupt_create(Device as usize, config, attributes) {
        Ok(handle) => {
            // SAFETY: the caller's contract.
            unsafe { out(Interrupt, "WdfInterruptCreate", handle as WDFINTERRUPT) };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfInterruptQueueDpcForIsr`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfInterruptQueueDpcForIsr(Interrupt: WDFINTERRUPT) -> BOOLEAN {
    let _switch = crate::sim::sched::ddi();
    BOOLEAN::from(api::queue_dpc(Interrupt as usize))
}

/// `WdfInterruptAcquireLock`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfInterruptAcquireLock(Interrupt: WDFINTERRUPT) {
    let _switch = crate::sim::sched::ddi();
    api::interrupt_lock(Interrupt as usize, true);
}

/// `WdfInterruptReleaseLock`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfInterruptReleaseLock(Interrupt: WDFINTERRUPT) {
    let _switch = crate::sim::sched::ddi();
    api::interrupt_lock(Interrupt as usize, false);
}

/// `WdfInterruptGetDevice`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfInterruptGetDevice(Interrupt: WDFINTERRUPT) -> WDFDEVICE {
    let _switch = crate::sim::sched::ddi();
    api::interrupt_device(Interrupt as usize) as WDFDEVICE
}

/// `WdfSpinLockCreate`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfSpinLockCreate(
    SpinLockAttributes: PWDF_OBJECT_ATTRIBUTES,
    SpinLock: *mut WDFSPINLOCK,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(SpinLockAttributes) };
    match api::spin_lock_create(attributes) {
        Ok(handle) => {
            // SAFETY: the caller's contract.
            unsafe { out(SpinLock, "WdfSpinLockCreate", handle as WDFSPINLOCK) };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfSpinLockAcquire`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfSpinLockAcquire(SpinLock: WDFSPINLOCK) {
    let _switch = crate::sim::sched::ddi();
    api::spin_lock(SpinLock as usize, true);
}

/// `WdfSpinLockRelease`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfSpinLockRelease(SpinLock: WDFSPINLOCK) {
    let _switch = crate::sim::sched::ddi();
    api::spin_lock(SpinLock as usize, false);
}

/// `WdfTimerCreate`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfTimerCreate(
    Config: PWDF_TIMER_CONFIG,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    Timer: *mut WDFTIMER,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let config = unsafe { opt(Config) };
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(Attributes) };
    match api::timer_create(config, attributes) {
        Ok(handle) => {
            // SAFETY: the caller's contract.
            unsafe { out(Timer, "WdfTimerCreate", handle as WDFTIMER) };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfTimerStart`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfTimerStart(Timer: WDFTIMER, DueTime: LONGLONG) -> BOOLEAN {
    let _switch = crate::sim::sched::ddi();
    BOOLEAN::from(api::timer_start(Timer as usize, DueTime))
}

/// `WdfTimerStop`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfTimerStop(Timer: WDFTIMER, Wait: BOOLEAN) -> BOOLEAN {
    let _switch = crate::sim::sched::ddi();
    BOOLEAN::from(api::timer_stop(Timer as usize, Wait != 0))
}

/// `WdfTimerGetParentObject`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfTimerGetParentObject(Timer: WDFTIMER) -> WDFOBJECT {
    let _switch = crate::sim::sched::ddi();
    api::parent_of(Timer as usize) as WDFOBJECT
}

/// `WdfDmaEnablerCreate`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaEnablerCreate(
    Device: WDFDEVICE,
    Config: PWDF_DMA_ENABLER_CONFIG,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    DmaEnablerHandle: *mut WDFDMAENABLER,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let config = unsafe { opt(Config) };
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(Attributes) };
    match api::enabler_create(Device as usize, config, attributes) {
        Ok(handle) => {
            // SAFETY: the caller's contract.
            unsafe {
                out(
                    DmaEnablerHandle,
                    "WdfDmaEnablerCreate",
                    handle as WDFDMAENABLER,
                );
            };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfDmaEnablerConfigureSystemProfile`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaEnablerConfigureSystemProfile(
    DmaEnabler: WDFDMAENABLER,
    ProfileConfig: PWDF_DMA_SYSTEM_PROFILE_CONFIG,
    ConfigDirection: WDF_DMA_DIRECTION,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let config = unsafe { opt(ProfileConfig) };
    // SAFETY: the descriptor pointer, when present, points into a resource list the framework
    // handed to the driver (or a copy the driver owns).
    let descriptor = config
        .and_then(|c| unsafe { opt(c.DmaDescriptor) })
        .copied();
    api::configure_system_profile(DmaEnabler as usize, config, descriptor, ConfigDirection)
}

/// `WdfDmaEnablerGetMaximumLength`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaEnablerGetMaximumLength(DmaEnabler: WDFDMAENABLER) -> usize {
    let _switch = crate::sim::sched::ddi();
    api::enabler_query(DmaEnabler as usize, false, 0)
}

/// `WdfDmaEnablerGetFragmentLength`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaEnablerGetFragmentLength(
    DmaEnabler: WDFDMAENABLER,
    DmaDirection: WDF_DMA_DIRECTION,
) -> usize {
    let _switch = crate::sim::sched::ddi();
    api::enabler_query(DmaEnabler as usize, true, DmaDirection)
}

/// `WdfDmaTransactionCreate`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionCreate(
    DmaEnabler: WDFDMAENABLER,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    DmaTransaction: *mut WDFDMATRANSACTION,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(Attributes) };
    match api::transaction_create(DmaEnabler as usize, attributes) {
        Ok(handle) => {
            // SAFETY: the caller's contract.
            unsafe {
                out(
                    DmaTransaction,
                    "WdfDmaTransactionCreate",
                    handle as WDFDMATRANSACTION,
                );
            };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfDmaTransactionInitializeUsingRequest`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionInitializeUsingRequest(
    DmaTransaction: WDFDMATRANSACTION,
    Request: WDFREQUEST,
    EvtProgramDmaFunction: PFN_WDF_PROGRAM_DMA,
    DmaDirection: WDF_DMA_DIRECTION,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    api::transaction_initialize(
        DmaTransaction as usize,
        Request as usize,
        EvtProgramDmaFunction,
        DmaDirection,
    )
}

/// `WdfDmaTransactionExecute`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionExecute(
    DmaTransaction: WDFDMATRANSACTION,
    Context: WDFCONTEXT,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    dma::execute(DmaTransaction as usize, Context as usize)
}

/// `WdfDmaTransactionRelease`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionRelease(DmaTransaction: WDFDMATRANSACTION) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    dma::release(DmaTransaction as usize)
}

/// Shared body of the `DmaCompleted*` family.
///
/// # Safety
/// `status` null or valid for writes.
unsafe fn completed(
    transaction: WDFDMATRANSACTION,
    how: dma::Completion,
    status: *mut NTSTATUS,
) -> BOOLEAN {
    if status.is_null() {
        api::null_argument("WdfDmaTransactionDmaCompleted*");
        return 1;
    }
    let (finished, result) = dma::completed(transaction as usize, how);
    // SAFETY: non-null and valid per the caller's contract.
    unsafe { status.write(result) };
    BOOLEAN::from(finished)
}

/// `WdfDmaTransactionDmaCompleted`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionDmaCompleted(
    DmaTransaction: WDFDMATRANSACTION,
    Status: *mut NTSTATUS,
) -> BOOLEAN {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    unsafe { completed(DmaTransaction, dma::Completion::Full, Status) }
}

/// `WdfDmaTransactionDmaCompletedWithLength`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionDmaCompletedWithLength(
    DmaTransaction: WDFDMATRANSACTION,
    TransferredLength: usize,
    Status: *mut NTSTATUS,
) -> BOOLEAN {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    unsafe {
        completed(
            DmaTransaction,
            dma::Completion::Partial(TransferredLength),
            Status,
        )
    }
}

/// `WdfDmaTransactionDmaCompletedFinal`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionDmaCompletedFinal(
    DmaTransaction: WDFDMATRANSACTION,
    FinalTransferredLength: usize,
    Status: *mut NTSTATUS,
) -> BOOLEAN {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    unsafe {
        completed(
            DmaTransaction,
            dma::Completion::Final(FinalTransferredLength),
            Status,
        )
    }
}

/// `WdfDmaTransactionGetBytesTransferred`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionGetBytesTransferred(DmaTransaction: WDFDMATRANSACTION) -> usize {
    let _switch = crate::sim::sched::ddi();
    dma::query(
        DmaTransaction as usize,
        "WdfDmaTransactionGetBytesTransferred",
        |t| t.transferred,
    )
}

/// `WdfDmaTransactionGetCurrentDmaTransferLength`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionGetCurrentDmaTransferLength(
    DmaTransaction: WDFDMATRANSACTION,
) -> usize {
    let _switch = crate::sim::sched::ddi();
    dma::query(
        DmaTransaction as usize,
        "WdfDmaTransactionGetCurrentDmaTransferLength",
        |t| t.current,
    )
}

/// `WdfDmaTransactionGetRequest`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionGetRequest(DmaTransaction: WDFDMATRANSACTION) -> WDFREQUEST {
    let _switch = crate::sim::sched::ddi();
    dma::query(
        DmaTransaction as usize,
        "WdfDmaTransactionGetRequest",
        |t| t.request.map_or(0, crate::sim::objects::handle),
    ) as WDFREQUEST
}

/// `WdfDmaTransactionSetMaximumLength`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionSetMaximumLength(
    DmaTransaction: WDFDMATRANSACTION,
    MaximumLength: usize,
) {
    let _switch = crate::sim::sched::ddi();
    dma::set_maximum_length(DmaTransaction as usize, MaximumLength);
}

/// `WdfDmaTransactionCancel`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionCancel(DmaTransaction: WDFDMATRANSACTION) -> BOOLEAN {
    let _switch = crate::sim::sched::ddi();
    BOOLEAN::from(dma::cancel(DmaTransaction as usize))
}

/// `WdfDmaTransactionStopSystemTransfer`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionStopSystemTransfer(DmaTransaction: WDFDMATRANSACTION) {
    let _switch = crate::sim::sched::ddi();
    dma::stop_system_transfer(DmaTransaction as usize);
}

/// `WdfDmaTransactionSetTransferCompleteCallback`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionSetTransferCompleteCallback(
    DmaTransaction: WDFDMATRANSACTION,
    DmaCompletionRoutine: PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE,
    DmaCompletionContext: PVOID,
) {
    let _switch = crate::sim::sched::ddi();
    dma::system_setter(
        DmaTransaction as usize,
        "WdfDmaTransactionSetTransferCompleteCallback",
        |t| {
            t.transfer_complete = DmaCompletionRoutine;
            t.transfer_complete_context = DmaCompletionContext as usize;
        },
    );
}

/// `WdfDmaTransactionSetDeviceAddressOffset`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfDmaTransactionSetDeviceAddressOffset(
    DmaTransaction: WDFDMATRANSACTION,
    Offset: ULONG,
) {
    let _switch = crate::sim::sched::ddi();
    dma::system_setter(
        DmaTransaction as usize,
        "WdfDmaTransactionSetDeviceAddressOffset",
        |t| {
            t.device_offset = Offset;
        },
    );
}

/// `WdfCommonBufferCreate`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfCommonBufferCreate(
    DmaEnabler: WDFDMAENABLER,
    Length: usize,
    Attributes: PWDF_OBJECT_ATTRIBUTES,
    CommonBuffer: *mut WDFCOMMONBUFFER,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(Attributes) };
    match dma::common_buffer_create(DmaEnabler as usize, Length, attributes) {
        Ok(handle) => {
            api::apply_attributes(handle, attributes);
            // SAFETY: the caller's contract.
            unsafe {
                out(
                    CommonBuffer,
                    "WdfCommonBufferCreate",
                    handle as WDFCOMMONBUFFER,
                );
            };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfCommonBufferGetAlignedVirtualAddress`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfCommonBufferGetAlignedVirtualAddress(CommonBuffer: WDFCOMMONBUFFER) -> PVOID {
    let _switch = crate::sim::sched::ddi();
    api::common_buffer(CommonBuffer as usize).0.cast()
}

/// `WdfCommonBufferGetAlignedLogicalAddress`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfCommonBufferGetAlignedLogicalAddress(
    CommonBuffer: WDFCOMMONBUFFER,
) -> PHYSICAL_ADDRESS {
    let _switch = crate::sim::sched::ddi();
    PHYSICAL_ADDRESS {
        QuadPart: api::common_buffer(CommonBuffer as usize).1.cast_signed(),
    }
}

/// `WdfCommonBufferGetLength`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfCommonBufferGetLength(CommonBuffer: WDFCOMMONBUFFER) -> usize {
    let _switch = crate::sim::sched::ddi();
    api::common_buffer(CommonBuffer as usize).2
}

/// `MmMapIoSpaceEx` (`wdk_sys::ntddk`).
///
/// # Safety
/// The kernel's contract.
#[must_use]
pub unsafe fn MmMapIoSpaceEx(
    PhysicalAddress: PHYSICAL_ADDRESS,
    NumberOfBytes: SIZE_T,
    Protect: ULONG,
) -> PVOID {
    let _switch = crate::sim::sched::ddi();
    api::map_io(
        super::quad(PhysicalAddress).cast_unsigned(),
        NumberOfBytes,
        Protect,
    ) as PVOID
}

/// `KeQueryUnbiasedInterruptTime` (`wdk_sys::ntddk`): 100 ns units of virtual time.
///
/// # Safety
/// None beyond the kernel's (callable at any IRQL, no argument); `unsafe` as in `wdk-sys`.
#[must_use]
pub unsafe fn KeQueryUnbiasedInterruptTime() -> ULONGLONG {
    let _switch = crate::sim::sched::ddi();
    api::interrupt_time()
}

/// `MmUnmapIoSpace` (`wdk_sys::ntddk`).
///
/// # Safety
/// The kernel's contract.
pub unsafe fn MmUnmapIoSpace(BaseAddress: PVOID, NumberOfBytes: SIZE_T) {
    let _switch = crate::sim::sched::ddi();
    let _ = NumberOfBytes;
    api::unmap_io(BaseAddress as u64);
}

/// `WdfIoQueueGetDevice`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfIoQueueGetDevice(Queue: WDFQUEUE) -> WDFDEVICE {
    let _switch = crate::sim::sched::ddi();
    api::queue_device(Queue as usize) as WDFDEVICE
}

/// `WdfRequestGetIoQueue`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfRequestGetIoQueue(Request: WDFREQUEST) -> WDFQUEUE {
    let _switch = crate::sim::sched::ddi();
    api::request_queue(Request as usize) as WDFQUEUE
}

/// `WdfDriverOpenParametersRegistryKey`.
///
/// # Safety
/// KMDF's contract: `KeyAttributes` null or valid, `Key` valid for writes.
pub unsafe fn WdfDriverOpenParametersRegistryKey(
    Driver: WDFDRIVER,
    DesiredAccess: ACCESS_MASK,
    KeyAttributes: PWDF_OBJECT_ATTRIBUTES,
    Key: *mut WDFKEY,
) -> NTSTATUS {
    const DDI: &str = "WdfDriverOpenParametersRegistryKey";
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let attributes = unsafe { opt(KeyAttributes) };
    let (status, handle) =
        match crate::sim::registry::open_parameters_key(Driver as usize, DesiredAccess, attributes)
        {
            Ok(handle) => (STATUS_SUCCESS, handle),
            Err(status) => (status, 0),
        };
    // SAFETY: the caller's contract.
    unsafe { out(Key, DDI, handle as WDFKEY) };
    status
}

/// `WdfRegistryQueryULong`.
///
/// # Safety
/// KMDF's contract: `ValueName` null or a valid `UNICODE_STRING` whose buffer holds `Length`
/// bytes, `Value` valid for writes.
pub unsafe fn WdfRegistryQueryULong(
    Key: WDFKEY,
    ValueName: PCUNICODE_STRING,
    Value: PULONG,
) -> NTSTATUS {
    let _switch = crate::sim::sched::ddi();
    // SAFETY: the caller's contract.
    let name = unsafe { opt(ValueName) }.map(|name| {
        let units = usize::from(name.Length / 2);
        if name.Buffer.is_null() || units == 0 {
            return String::new();
        }
        // SAFETY: the caller's contract: `Buffer` holds `Length` bytes.
        let text = unsafe { core::slice::from_raw_parts(name.Buffer, units) };
        String::from_utf16_lossy(text)
    });
    match crate::sim::registry::query_ulong(Key as usize, name.as_deref()) {
        Ok(value) => {
            // SAFETY: the caller's contract.
            unsafe { out(Value, "WdfRegistryQueryULong", value) };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `WdfRegistryClose`.
///
/// # Safety
/// KMDF's contract.
pub unsafe fn WdfRegistryClose(Key: WDFKEY) {
    let _switch = crate::sim::sched::ddi();
    crate::sim::registry::close(Key as usize);
}

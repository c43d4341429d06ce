//! Types, structures, enumerations and constants, spelled as `wdk-sys` 0.5 generates them from
//! the KMDF 1.33 and WDK headers (bindgen with `ModuleConsts` enums, `derive_default`).
//!
//! Integer typedefs are fixed to their Windows x64/ARM64 widths (`ULONG` is 32-bit here even
//! though the host's `c_ulong` is 64-bit), so layouts and `Size` fields match the target.

use core::ffi::{c_char, c_int, c_void};

/// `UCHAR`.
pub type UCHAR = u8;
/// `CHAR`.
pub type CHAR = c_char;
/// `CCHAR`.
pub type CCHAR = c_char;
/// `USHORT`.
pub type USHORT = u16;
/// `ULONG` (32-bit on Windows).
pub type ULONG = u32;
/// `PULONG`.
pub type PULONG = *mut ULONG;
/// `ACCESS_MASK`.
pub type ACCESS_MASK = ULONG;
/// `LONG` (32-bit on Windows).
pub type LONG = i32;
/// `LONGLONG`.
pub type LONGLONG = i64;
/// `ULONGLONG`.
pub type ULONGLONG = u64;
/// `ULONG_PTR`.
pub type ULONG_PTR = u64;
/// `SIZE_T`.
pub type SIZE_T = ULONG_PTR;
/// `KAFFINITY`.
pub type KAFFINITY = ULONG_PTR;
/// `BOOLEAN`.
pub type BOOLEAN = UCHAR;
/// `NTSTATUS`.
pub type NTSTATUS = LONG;
/// `PVOID`.
pub type PVOID = *mut c_void;
/// `PCHAR`.
pub type PCHAR = *mut CHAR;
/// `LPCSTR`.
pub type LPCSTR = *const CHAR;
/// `PCWSTR`.
pub type PCWSTR = *const u16;
/// `KIRQL`.
pub type KIRQL = UCHAR;

/// Declares an opaque handle struct and its pointer typedef, as `DECLARE_HANDLE` does.
macro_rules! declare_handle {
    ($($(#[$doc:meta])* $name:ident => $opaque:ident;)*) => {$(
        #[doc = concat!("Opaque target of [`", stringify!($name), "`].")]
        #[repr(C)]
        #[derive(Debug, Default, Copy, Clone)]
        pub struct $opaque {
            /// Placeholder member of the C declaration.
            pub unused: c_int,
        }
        $(#[$doc])*
        pub type $name = *mut $opaque;
    )*};
}

declare_handle! {
    /// `WDFDRIVER`.
    WDFDRIVER => WDFDRIVER__;
    /// `WDFDEVICE`.
    WDFDEVICE => WDFDEVICE__;
    /// `WDFQUEUE`.
    WDFQUEUE => WDFQUEUE__;
    /// `WDFREQUEST`.
    WDFREQUEST => WDFREQUEST__;
    /// `WDFINTERRUPT`.
    WDFINTERRUPT => WDFINTERRUPT__;
    /// `WDFDMAENABLER`.
    WDFDMAENABLER => WDFDMAENABLER__;
    /// `WDFDMATRANSACTION`.
    WDFDMATRANSACTION => WDFDMATRANSACTION__;
    /// `WDFCOMMONBUFFER`.
    WDFCOMMONBUFFER => WDFCOMMONBUFFER__;
    /// `WDFSPINLOCK`.
    WDFSPINLOCK => WDFSPINLOCK__;
    /// `WDFTIMER`.
    WDFTIMER => WDFTIMER__;
    /// `WDFCMRESLIST`.
    WDFCMRESLIST => WDFCMRESLIST__;
    /// `WDFWAITLOCK`.
    WDFWAITLOCK => WDFWAITLOCK__;
    /// `WDFKEY`.
    WDFKEY => WDFKEY__;
}

/// `HANDLE`.
pub type HANDLE = *mut c_void;
/// `WDFOBJECT` (a plain `HANDLE` in the headers).
pub type WDFOBJECT = HANDLE;
/// `WDFCONTEXT`.
pub type WDFCONTEXT = PVOID;

/// `WDFDEVICE_INIT` (opaque).
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct WDFDEVICE_INIT {
    _unused: [u8; 0],
}
/// `PWDFDEVICE_INIT`.
pub type PWDFDEVICE_INIT = *mut WDFDEVICE_INIT;

/// `DRIVER_OBJECT` (opaque here: the driver only passes it on).
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _DRIVER_OBJECT {
    _unused: [u8; 0],
}
/// `DRIVER_OBJECT`.
pub type DRIVER_OBJECT = _DRIVER_OBJECT;
/// `PDRIVER_OBJECT`.
pub type PDRIVER_OBJECT = *mut _DRIVER_OBJECT;

/// `UNICODE_STRING`.
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _UNICODE_STRING {
    /// Length in bytes, without a terminator.
    pub Length: USHORT,
    /// Capacity in bytes.
    pub MaximumLength: USHORT,
    /// The characters.
    pub Buffer: *mut u16,
}
impl Default for _UNICODE_STRING {
    fn default() -> Self {
        Self {
            Length: 0,
            MaximumLength: 0,
            Buffer: core::ptr::null_mut(),
        }
    }
}
/// `UNICODE_STRING`.
pub type UNICODE_STRING = _UNICODE_STRING;
/// `PCUNICODE_STRING`.
pub type PCUNICODE_STRING = *const UNICODE_STRING;

/// `GUID`.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone, PartialEq, Eq)]
pub struct _GUID {
    /// First 32 bits.
    pub Data1: ULONG,
    /// Next 16 bits.
    pub Data2: USHORT,
    /// Next 16 bits.
    pub Data3: USHORT,
    /// Last 64 bits.
    pub Data4: [UCHAR; 8],
}
/// `GUID`.
pub type GUID = _GUID;

/// `LARGE_INTEGER` / `PHYSICAL_ADDRESS`.
#[repr(C)]
#[derive(Copy, Clone)]
pub union _LARGE_INTEGER {
    /// Low and high halves.
    pub __bindgen_anon_1: _LARGE_INTEGER__bindgen_ty_1,
    /// Low and high halves (named form).
    pub u: _LARGE_INTEGER__bindgen_ty_2,
    /// The 64-bit value.
    pub QuadPart: LONGLONG,
}
/// Halves of a [`_LARGE_INTEGER`].
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _LARGE_INTEGER__bindgen_ty_1 {
    /// Low 32 bits.
    pub LowPart: ULONG,
    /// High 32 bits.
    pub HighPart: LONG,
}
/// Halves of a [`_LARGE_INTEGER`] (the named `u` member).
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _LARGE_INTEGER__bindgen_ty_2 {
    /// Low 32 bits.
    pub LowPart: ULONG,
    /// High 32 bits.
    pub HighPart: LONG,
}
impl Default for _LARGE_INTEGER {
    fn default() -> Self {
        Self { QuadPart: 0 }
    }
}
/// `LARGE_INTEGER`.
pub type LARGE_INTEGER = _LARGE_INTEGER;
/// `PHYSICAL_ADDRESS`.
pub type PHYSICAL_ADDRESS = LARGE_INTEGER;

/// Declares a bindgen `ModuleConsts` enumeration: a module with `Type` and its constants, and
/// the typedef name as an alias of `Type`.
macro_rules! module_enum {
    ($(#[$doc:meta])* $module:ident as $alias:ident { $($name:ident = $value:expr,)* }) => {
        $(#[$doc])*
        pub mod $module {
            /// The C enumeration's integer type.
            pub type Type = ::core::ffi::c_int;
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: Type = $value;
            )*
        }
        $(#[$doc])*
        pub use self::$module::Type as $alias;
    };
}

module_enum! {
    /// `WDF_DMA_DIRECTION`.
    _WDF_DMA_DIRECTION as WDF_DMA_DIRECTION {
        WdfDmaDirectionReadFromDevice = 0,
        WdfDmaDirectionWriteToDevice = 1,
    }
}
module_enum! {
    /// `WDF_DMA_PROFILE`.
    _WDF_DMA_PROFILE as WDF_DMA_PROFILE {
        WdfDmaProfileInvalid = 0,
        WdfDmaProfilePacket = 1,
        WdfDmaProfileScatterGather = 2,
        WdfDmaProfilePacket64 = 3,
        WdfDmaProfileScatterGather64 = 4,
        WdfDmaProfileScatterGatherDuplex = 5,
        WdfDmaProfileScatterGather64Duplex = 6,
        WdfDmaProfileSystem = 7,
        WdfDmaProfileSystemDuplex = 8,
    }
}
module_enum! {
    /// `WDF_IO_QUEUE_DISPATCH_TYPE`.
    _WDF_IO_QUEUE_DISPATCH_TYPE as WDF_IO_QUEUE_DISPATCH_TYPE {
        WdfIoQueueDispatchInvalid = 0,
        WdfIoQueueDispatchSequential = 1,
        WdfIoQueueDispatchParallel = 2,
        WdfIoQueueDispatchManual = 3,
        WdfIoQueueDispatchMax = 4,
    }
}
module_enum! {
    /// `WDF_TRI_STATE`.
    _WDF_TRI_STATE as WDF_TRI_STATE {
        WdfFalse = 0,
        WdfTrue = 1,
        WdfUseDefault = 2,
    }
}
module_enum! {
    /// `WDF_EXECUTION_LEVEL`.
    _WDF_EXECUTION_LEVEL as WDF_EXECUTION_LEVEL {
        WdfExecutionLevelInvalid = 0,
        WdfExecutionLevelInheritFromParent = 1,
        WdfExecutionLevelPassive = 2,
        WdfExecutionLevelDispatch = 3,
    }
}
module_enum! {
    /// `WDF_SYNCHRONIZATION_SCOPE`.
    _WDF_SYNCHRONIZATION_SCOPE as WDF_SYNCHRONIZATION_SCOPE {
        WdfSynchronizationScopeInvalid = 0,
        WdfSynchronizationScopeInheritFromParent = 1,
        WdfSynchronizationScopeDevice = 2,
        WdfSynchronizationScopeQueue = 3,
        WdfSynchronizationScopeNone = 4,
    }
}
module_enum! {
    /// `WDF_POWER_DEVICE_STATE`.
    _WDF_POWER_DEVICE_STATE as WDF_POWER_DEVICE_STATE {
        WdfPowerDeviceInvalid = 0,
        WdfPowerDeviceD0 = 1,
        WdfPowerDeviceD1 = 2,
        WdfPowerDeviceD2 = 3,
        WdfPowerDeviceD3 = 4,
        WdfPowerDeviceD3Final = 5,
        WdfPowerDevicePrepareForHibernation = 6,
        WdfPowerDeviceMaximum = 7,
    }
}
module_enum! {
    /// `WDF_DEVICE_IO_TYPE`.
    _WDF_DEVICE_IO_TYPE as WDF_DEVICE_IO_TYPE {
        WdfDeviceIoUndefined = 0,
        WdfDeviceIoNeither = 1,
        WdfDeviceIoBuffered = 2,
        WdfDeviceIoDirect = 3,
        WdfDeviceIoBufferedOrDirect = 4,
        WdfDeviceIoMaximum = 5,
    }
}
module_enum! {
    /// `WDF_REQUEST_TYPE` (the values are the IRP major function codes).
    _WDF_REQUEST_TYPE as WDF_REQUEST_TYPE {
        WdfRequestTypeCreate = 0,
        WdfRequestTypeCreateNamedPipe = 1,
        WdfRequestTypeClose = 2,
        WdfRequestTypeRead = 3,
        WdfRequestTypeWrite = 4,
        WdfRequestTypeDeviceControl = 14,
        WdfRequestTypeDeviceControlInternal = 15,
    }
}
/// `DMA_COMPLETION_STATUS`: a typedef of an anonymous enumeration, so bindgen names the module
/// after the typedef and generates no type alias; the type is `DMA_COMPLETION_STATUS::Type`.
pub mod DMA_COMPLETION_STATUS {
    /// The C enumeration's integer type.
    pub type Type = ::core::ffi::c_int;
    /// `DmaComplete`.
    pub const DmaComplete: Type = 0;
    /// `DmaAborted`.
    pub const DmaAborted: Type = 1;
    /// `DmaError`.
    pub const DmaError: Type = 2;
    /// `DmaCancelled`.
    pub const DmaCancelled: Type = 3;
}
module_enum! {
    /// `DMA_WIDTH`.
    _DMA_WIDTH as DMA_WIDTH {
        Width8Bits = 0,
        Width16Bits = 1,
        Width32Bits = 2,
        Width64Bits = 3,
        WidthNoWrap = 4,
        MaximumDmaWidth = 5,
    }
}
module_enum! {
    /// `WDF_REQUEST_STOP_ACTION_FLAGS`.
    _WDF_REQUEST_STOP_ACTION_FLAGS as WDF_REQUEST_STOP_ACTION_FLAGS {
        WdfRequestStopActionInvalid = 0,
        WdfRequestStopActionSuspend = 1,
        WdfRequestStopActionPurge = 2,
        WdfRequestStopRequestCancelable = 268_435_456,
    }
}

module_enum! {
    /// `DPFLTR_TYPE`: the `DbgPrintEx` component IDs (those a third-party driver uses).
    _DPFLTR_TYPE as DPFLTR_TYPE {
        DPFLTR_IHVDRIVER_ID = 77,
        DPFLTR_DEFAULT_ID = 101,
    }
}
/// `WDF_SPECIAL_FILE_TYPE` (only passed through).
pub type WDF_SPECIAL_FILE_TYPE = c_int;
/// `DEVICE_RELATION_TYPE` (only passed through).
pub type DEVICE_RELATION_TYPE = c_int;

/// `PFN_WDF_DRIVER_DEVICE_ADD`.
pub type PFN_WDF_DRIVER_DEVICE_ADD =
    Option<unsafe extern "C" fn(Driver: WDFDRIVER, DeviceInit: PWDFDEVICE_INIT) -> NTSTATUS>;
/// `PFN_WDF_DRIVER_UNLOAD`.
pub type PFN_WDF_DRIVER_UNLOAD = Option<unsafe extern "C" fn(Driver: WDFDRIVER)>;
/// `PFN_WDF_OBJECT_CONTEXT_CLEANUP`.
pub type PFN_WDF_OBJECT_CONTEXT_CLEANUP = Option<unsafe extern "C" fn(Object: WDFOBJECT)>;
/// `PFN_WDF_OBJECT_CONTEXT_DESTROY`.
pub type PFN_WDF_OBJECT_CONTEXT_DESTROY = Option<unsafe extern "C" fn(Object: WDFOBJECT)>;
/// `PFN_GET_UNIQUE_CONTEXT_TYPE`.
pub type PFN_GET_UNIQUE_CONTEXT_TYPE =
    Option<unsafe extern "C" fn() -> PCWDF_OBJECT_CONTEXT_TYPE_INFO>;
/// `PFN_WDF_DEVICE_D0_ENTRY`.
pub type PFN_WDF_DEVICE_D0_ENTRY = Option<
    unsafe extern "C" fn(Device: WDFDEVICE, PreviousState: WDF_POWER_DEVICE_STATE) -> NTSTATUS,
>;
/// `PFN_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED`.
pub type PFN_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED = PFN_WDF_DEVICE_D0_ENTRY;
/// `PFN_WDF_DEVICE_D0_EXIT`.
pub type PFN_WDF_DEVICE_D0_EXIT = Option<
    unsafe extern "C" fn(Device: WDFDEVICE, TargetState: WDF_POWER_DEVICE_STATE) -> NTSTATUS,
>;
/// `PFN_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED`.
pub type PFN_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED = PFN_WDF_DEVICE_D0_EXIT;
/// `PFN_WDF_DEVICE_PREPARE_HARDWARE`.
pub type PFN_WDF_DEVICE_PREPARE_HARDWARE = Option<
    unsafe extern "C" fn(
        Device: WDFDEVICE,
        ResourcesRaw: WDFCMRESLIST,
        ResourcesTranslated: WDFCMRESLIST,
    ) -> NTSTATUS,
>;
/// `PFN_WDF_DEVICE_RELEASE_HARDWARE`.
pub type PFN_WDF_DEVICE_RELEASE_HARDWARE =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, ResourcesTranslated: WDFCMRESLIST) -> NTSTATUS>;
/// `PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP` and the other `VOID (WDFDEVICE)` callbacks.
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP = Option<unsafe extern "C" fn(Device: WDFDEVICE)>;
/// `PFN_WDF_DEVICE_SELF_MANAGED_IO_FLUSH`.
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_FLUSH = Option<unsafe extern "C" fn(Device: WDFDEVICE)>;
/// `PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT`.
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT =
    Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
/// `PFN_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND`.
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND =
    Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
/// `PFN_WDF_DEVICE_SELF_MANAGED_IO_RESTART`.
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_RESTART =
    Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
/// `PFN_WDF_DEVICE_SURPRISE_REMOVAL`.
pub type PFN_WDF_DEVICE_SURPRISE_REMOVAL = Option<unsafe extern "C" fn(Device: WDFDEVICE)>;
/// `PFN_WDF_DEVICE_QUERY_REMOVE`.
pub type PFN_WDF_DEVICE_QUERY_REMOVE = Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
/// `PFN_WDF_DEVICE_QUERY_STOP`.
pub type PFN_WDF_DEVICE_QUERY_STOP = Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
/// `PFN_WDF_DEVICE_USAGE_NOTIFICATION`.
pub type PFN_WDF_DEVICE_USAGE_NOTIFICATION = Option<
    unsafe extern "C" fn(
        Device: WDFDEVICE,
        NotificationType: WDF_SPECIAL_FILE_TYPE,
        IsInNotificationPath: BOOLEAN,
    ),
>;
/// `PFN_WDF_DEVICE_RELATIONS_QUERY`.
pub type PFN_WDF_DEVICE_RELATIONS_QUERY =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, RelationType: DEVICE_RELATION_TYPE)>;
/// `PFN_WDF_DEVICE_USAGE_NOTIFICATION_EX`.
pub type PFN_WDF_DEVICE_USAGE_NOTIFICATION_EX = Option<
    unsafe extern "C" fn(
        Device: WDFDEVICE,
        NotificationType: WDF_SPECIAL_FILE_TYPE,
        IsInNotificationPath: BOOLEAN,
    ) -> NTSTATUS,
>;
/// `PFN_WDF_IO_QUEUE_IO_DEFAULT`.
pub type PFN_WDF_IO_QUEUE_IO_DEFAULT =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
/// `PFN_WDF_IO_QUEUE_IO_READ`.
pub type PFN_WDF_IO_QUEUE_IO_READ =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, Length: usize)>;
/// `PFN_WDF_IO_QUEUE_IO_WRITE`.
pub type PFN_WDF_IO_QUEUE_IO_WRITE =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, Length: usize)>;
/// `PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL`.
pub type PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL = Option<
    unsafe extern "C" fn(
        Queue: WDFQUEUE,
        Request: WDFREQUEST,
        OutputBufferLength: usize,
        InputBufferLength: usize,
        IoControlCode: ULONG,
    ),
>;
/// `PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL`.
pub type PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL = PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL;
/// `PFN_WDF_IO_QUEUE_IO_STOP`.
pub type PFN_WDF_IO_QUEUE_IO_STOP =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, ActionFlags: ULONG)>;
/// `PFN_WDF_IO_QUEUE_IO_RESUME`.
pub type PFN_WDF_IO_QUEUE_IO_RESUME =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
/// `PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE`.
pub type PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
/// `PFN_WDF_REQUEST_CANCEL`.
pub type PFN_WDF_REQUEST_CANCEL = Option<unsafe extern "C" fn(Request: WDFREQUEST)>;
/// `PFN_WDF_INTERRUPT_ISR`.
pub type PFN_WDF_INTERRUPT_ISR =
    Option<unsafe extern "C" fn(Interrupt: WDFINTERRUPT, MessageID: ULONG) -> BOOLEAN>;
/// `PFN_WDF_INTERRUPT_DPC`.
pub type PFN_WDF_INTERRUPT_DPC =
    Option<unsafe extern "C" fn(Interrupt: WDFINTERRUPT, AssociatedObject: WDFOBJECT)>;
/// `PFN_WDF_INTERRUPT_ENABLE`.
pub type PFN_WDF_INTERRUPT_ENABLE =
    Option<unsafe extern "C" fn(Interrupt: WDFINTERRUPT, AssociatedDevice: WDFDEVICE) -> NTSTATUS>;
/// `PFN_WDF_INTERRUPT_DISABLE`.
pub type PFN_WDF_INTERRUPT_DISABLE = PFN_WDF_INTERRUPT_ENABLE;
/// `PFN_WDF_INTERRUPT_WORKITEM`.
pub type PFN_WDF_INTERRUPT_WORKITEM =
    Option<unsafe extern "C" fn(Interrupt: WDFINTERRUPT, AssociatedObject: WDFOBJECT)>;
/// `PFN_WDF_PROGRAM_DMA`.
pub type PFN_WDF_PROGRAM_DMA = Option<
    unsafe extern "C" fn(
        Transaction: WDFDMATRANSACTION,
        Device: WDFDEVICE,
        Context: WDFCONTEXT,
        Direction: WDF_DMA_DIRECTION,
        SgList: PSCATTER_GATHER_LIST,
    ) -> BOOLEAN,
>;
/// `PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE`.
pub type PFN_WDF_DMA_TRANSACTION_DMA_TRANSFER_COMPLETE = Option<
    unsafe extern "C" fn(
        Transaction: WDFDMATRANSACTION,
        Device: WDFDEVICE,
        Context: WDFCONTEXT,
        Direction: WDF_DMA_DIRECTION,
        Status: DMA_COMPLETION_STATUS::Type,
    ),
>;
/// `PFN_WDF_DMA_ENABLER_FILL` and the other `NTSTATUS (WDFDMAENABLER)` enabler callbacks.
pub type PFN_WDF_DMA_ENABLER_FILL =
    Option<unsafe extern "C" fn(DmaEnabler: WDFDMAENABLER) -> NTSTATUS>;
/// `PFN_WDF_DMA_ENABLER_FLUSH`.
pub type PFN_WDF_DMA_ENABLER_FLUSH = PFN_WDF_DMA_ENABLER_FILL;
/// `PFN_WDF_DMA_ENABLER_DISABLE`.
pub type PFN_WDF_DMA_ENABLER_DISABLE = PFN_WDF_DMA_ENABLER_FILL;
/// `PFN_WDF_DMA_ENABLER_ENABLE`.
pub type PFN_WDF_DMA_ENABLER_ENABLE = PFN_WDF_DMA_ENABLER_FILL;
/// `PFN_WDF_DMA_ENABLER_SELFMANAGED_IO_START`.
pub type PFN_WDF_DMA_ENABLER_SELFMANAGED_IO_START = PFN_WDF_DMA_ENABLER_FILL;
/// `PFN_WDF_DMA_ENABLER_SELFMANAGED_IO_STOP`.
pub type PFN_WDF_DMA_ENABLER_SELFMANAGED_IO_STOP = PFN_WDF_DMA_ENABLER_FILL;
/// `PFN_WDF_TIMER`.
pub type PFN_WDF_TIMER = Option<unsafe extern "C" fn(Timer: WDFTIMER)>;

/// `WDF_OBJECT_CONTEXT_TYPE_INFO`.
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _WDF_OBJECT_CONTEXT_TYPE_INFO {
    /// `sizeof` this structure.
    pub Size: ULONG,
    /// The context type's name.
    pub ContextName: LPCSTR,
    /// Size of the context in bytes.
    pub ContextSize: usize,
    /// The canonical type-info pointer (points at itself in `WDF_DECLARE_CONTEXT_TYPE`).
    pub UniqueType: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
    /// Optional lookup function for the unique type.
    pub EvtDriverGetUniqueContextType: PFN_GET_UNIQUE_CONTEXT_TYPE,
}
impl Default for _WDF_OBJECT_CONTEXT_TYPE_INFO {
    fn default() -> Self {
        Self {
            Size: 0,
            ContextName: core::ptr::null_mut(),
            ContextSize: 0,
            UniqueType: core::ptr::null(),
            EvtDriverGetUniqueContextType: None,
        }
    }
}
/// `WDF_OBJECT_CONTEXT_TYPE_INFO`.
pub type WDF_OBJECT_CONTEXT_TYPE_INFO = _WDF_OBJECT_CONTEXT_TYPE_INFO;
/// `PCWDF_OBJECT_CONTEXT_TYPE_INFO`.
pub type PCWDF_OBJECT_CONTEXT_TYPE_INFO = *const _WDF_OBJECT_CONTEXT_TYPE_INFO;

/// `WDF_OBJECT_ATTRIBUTES`.
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _WDF_OBJECT_ATTRIBUTES {
    /// `sizeof` this structure.
    pub Size: ULONG,
    /// Called when the object is being deleted.
    pub EvtCleanupCallback: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    /// Called when the object's memory is freed.
    pub EvtDestroyCallback: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    /// Execution level of the object's callbacks.
    pub ExecutionLevel: WDF_EXECUTION_LEVEL,
    /// Synchronization scope of the object's callbacks.
    pub SynchronizationScope: WDF_SYNCHRONIZATION_SCOPE,
    /// Parent object, where allowed.
    pub ParentObject: WDFOBJECT,
    /// Context size overriding the type's size.
    pub ContextSizeOverride: usize,
    /// Context type.
    pub ContextTypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
}
impl Default for _WDF_OBJECT_ATTRIBUTES {
    fn default() -> Self {
        Self {
            Size: 0,
            EvtCleanupCallback: None,
            EvtDestroyCallback: None,
            ExecutionLevel: 0,
            SynchronizationScope: 0,
            ParentObject: core::ptr::null_mut(),
            ContextSizeOverride: 0,
            ContextTypeInfo: core::ptr::null(),
        }
    }
}
/// `WDF_OBJECT_ATTRIBUTES`.
pub type WDF_OBJECT_ATTRIBUTES = _WDF_OBJECT_ATTRIBUTES;
/// `PWDF_OBJECT_ATTRIBUTES`.
pub type PWDF_OBJECT_ATTRIBUTES = *mut _WDF_OBJECT_ATTRIBUTES;

/// `WDF_DRIVER_CONFIG`.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_DRIVER_CONFIG {
    /// `sizeof` this structure.
    pub Size: ULONG,
    /// Device-add callback.
    pub EvtDriverDeviceAdd: PFN_WDF_DRIVER_DEVICE_ADD,
    /// Unload callback.
    pub EvtDriverUnload: PFN_WDF_DRIVER_UNLOAD,
    /// `WDF_DRIVER_INIT_FLAGS`.
    pub DriverInitFlags: ULONG,
    /// Pool tag.
    pub DriverPoolTag: ULONG,
}
/// `WDF_DRIVER_CONFIG`.
pub type WDF_DRIVER_CONFIG = _WDF_DRIVER_CONFIG;
/// `PWDF_DRIVER_CONFIG`.
pub type PWDF_DRIVER_CONFIG = *mut _WDF_DRIVER_CONFIG;

/// `WDF_PNPPOWER_EVENT_CALLBACKS`.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_PNPPOWER_EVENT_CALLBACKS {
    /// `sizeof` this structure.
    pub Size: ULONG,
    /// D0 entry.
    pub EvtDeviceD0Entry: PFN_WDF_DEVICE_D0_ENTRY,
    /// D0 entry after interrupts are enabled.
    pub EvtDeviceD0EntryPostInterruptsEnabled: PFN_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED,
    /// D0 exit.
    pub EvtDeviceD0Exit: PFN_WDF_DEVICE_D0_EXIT,
    /// D0 exit before interrupts are disabled.
    pub EvtDeviceD0ExitPreInterruptsDisabled: PFN_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED,
    /// Prepare hardware.
    pub EvtDevicePrepareHardware: PFN_WDF_DEVICE_PREPARE_HARDWARE,
    /// Release hardware.
    pub EvtDeviceReleaseHardware: PFN_WDF_DEVICE_RELEASE_HARDWARE,
    /// Self-managed I/O cleanup.
    pub EvtDeviceSelfManagedIoCleanup: PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP,
    /// Self-managed I/O flush.
    pub EvtDeviceSelfManagedIoFlush: PFN_WDF_DEVICE_SELF_MANAGED_IO_FLUSH,
    /// Self-managed I/O init.
    pub EvtDeviceSelfManagedIoInit: PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT,
    /// Self-managed I/O suspend.
    pub EvtDeviceSelfManagedIoSuspend: PFN_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND,
    /// Self-managed I/O restart.
    pub EvtDeviceSelfManagedIoRestart: PFN_WDF_DEVICE_SELF_MANAGED_IO_RESTART,
    /// Surprise removal.
    pub EvtDeviceSurpriseRemoval: PFN_WDF_DEVICE_SURPRISE_REMOVAL,
    /// Query remove.
    pub EvtDeviceQueryRemove: PFN_WDF_DEVICE_QUERY_REMOVE,
    /// Query stop.
    pub EvtDeviceQueryStop: PFN_WDF_DEVICE_QUERY_STOP,
    /// Usage notification.
    pub EvtDeviceUsageNotification: PFN_WDF_DEVICE_USAGE_NOTIFICATION,
    /// Relations query.
    pub EvtDeviceRelationsQuery: PFN_WDF_DEVICE_RELATIONS_QUERY,
    /// Usage notification (extended).
    pub EvtDeviceUsageNotificationEx: PFN_WDF_DEVICE_USAGE_NOTIFICATION_EX,
}
/// `WDF_PNPPOWER_EVENT_CALLBACKS`.
pub type WDF_PNPPOWER_EVENT_CALLBACKS = _WDF_PNPPOWER_EVENT_CALLBACKS;
/// `PWDF_PNPPOWER_EVENT_CALLBACKS`.
pub type PWDF_PNPPOWER_EVENT_CALLBACKS = *mut _WDF_PNPPOWER_EVENT_CALLBACKS;

/// `WDF_IO_QUEUE_CONFIG`.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct _WDF_IO_QUEUE_CONFIG {
    /// `sizeof` this structure.
    pub Size: ULONG,
    /// Sequential, parallel or manual.
    pub DispatchType: WDF_IO_QUEUE_DISPATCH_TYPE,
    /// Whether the queue follows the device's power state.
    pub PowerManaged: WDF_TRI_STATE,
    /// Whether zero-length reads and writes reach the driver.
    pub AllowZeroLengthRequests: BOOLEAN,
    /// Whether this is the device's default queue.
    pub DefaultQueue: BOOLEAN,
    /// Default handler.
    pub EvtIoDefault: PFN_WDF_IO_QUEUE_IO_DEFAULT,
    /// Read handler.
    pub EvtIoRead: PFN_WDF_IO_QUEUE_IO_READ,
    /// Write handler.
    pub EvtIoWrite: PFN_WDF_IO_QUEUE_IO_WRITE,
    /// Device-control handler.
    pub EvtIoDeviceControl: PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL,
    /// Internal device-control handler.
    pub EvtIoInternalDeviceControl: PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL,
    /// Stop handler.
    pub EvtIoStop: PFN_WDF_IO_QUEUE_IO_STOP,
    /// Resume handler.
    pub EvtIoResume: PFN_WDF_IO_QUEUE_IO_RESUME,
    /// Canceled-on-queue handler.
    pub EvtIoCanceledOnQueue: PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE,
    /// Dispatch-type settings.
    pub Settings: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1,
    /// Driver (KMDF 1.9+ field).
    pub Driver: WDFDRIVER,
}
/// `WDF_IO_QUEUE_CONFIG.Settings`.
#[repr(C)]
#[derive(Copy, Clone)]
pub union _WDF_IO_QUEUE_CONFIG__bindgen_ty_1 {
    /// Parallel-queue settings.
    pub Parallel: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1__bindgen_ty_1,
}
/// `WDF_IO_QUEUE_CONFIG.Settings.Parallel`.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_IO_QUEUE_CONFIG__bindgen_ty_1__bindgen_ty_1 {
    /// Maximum requests presented at once (0 = unlimited).
    pub NumberOfPresentedRequests: ULONG,
}
impl Default for _WDF_IO_QUEUE_CONFIG__bindgen_ty_1 {
    fn default() -> Self {
        Self {
            Parallel: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1__bindgen_ty_1::default(),
        }
    }
}
impl Default for _WDF_IO_QUEUE_CONFIG {
    fn default() -> Self {
        Self {
            Size: 0,
            DispatchType: 0,
            PowerManaged: 0,
            AllowZeroLengthRequests: 0,
            DefaultQueue: 0,
            EvtIoDefault: None,
            EvtIoRead: None,
            EvtIoWrite: None,
            EvtIoDeviceControl: None,
            EvtIoInternalDeviceControl: None,
            EvtIoStop: None,
            EvtIoResume: None,
            EvtIoCanceledOnQueue: None,
            Settings: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1::default(),
            Driver: core::ptr::null_mut(),
        }
    }
}
/// `WDF_IO_QUEUE_CONFIG`.
pub type WDF_IO_QUEUE_CONFIG = _WDF_IO_QUEUE_CONFIG;
/// `PWDF_IO_QUEUE_CONFIG`.
pub type PWDF_IO_QUEUE_CONFIG = *mut _WDF_IO_QUEUE_CONFIG;

/// `CM_PARTIAL_RESOURCE_DESCRIPTOR`.
#[repr(C)]
#[derive(Copy, Clone, Default)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR {
    /// `CmResourceType*`.
    pub Type: UCHAR,
    /// `CmResourceShare*`.
    pub ShareDisposition: UCHAR,
    /// Type-specific flags.
    pub Flags: USHORT,
    /// Type-specific data.
    pub u: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1,
}
/// `CM_PARTIAL_RESOURCE_DESCRIPTOR.u` (members packed to 4 bytes, as `wdm.h` declares them).
#[repr(C)]
#[derive(Copy, Clone)]
pub union _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1 {
    /// Generic start/length view.
    pub Generic: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_1,
    /// I/O port range.
    pub Port: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_2,
    /// Line-based interrupt.
    pub Interrupt: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_3,
    /// Message-signalled interrupt.
    pub MessageInterrupt: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4,
    /// Memory range.
    pub Memory: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_5,
    /// System DMA channel.
    pub Dma: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_6,
    /// System DMA channel (v3).
    pub DmaV3: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_7,
    /// Device-private words.
    pub DevicePrivate: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_8,
    /// Bus numbers.
    pub BusNumber: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_9,
    /// Device-specific data.
    pub DeviceSpecificData: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_10,
    /// Large memory range (40-bit length encoding).
    pub Memory40: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_11,
    /// Large memory range (48-bit length encoding).
    pub Memory48: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_12,
    /// Large memory range (64-bit length encoding).
    pub Memory64: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_13,
    /// GPIO/serial connection.
    pub Connection: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_14,
}
impl Default for _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1 {
    fn default() -> Self {
        Self {
            DevicePrivate: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_8::default(),
        }
    }
}
/// `Generic` member of the resource union.
#[repr(C, packed(4))]
#[derive(Copy, Clone, Default)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_1 {
    /// Start address.
    pub Start: PHYSICAL_ADDRESS,
    /// Length.
    pub Length: ULONG,
}
/// `Port` member of the resource union.
#[repr(C, packed(4))]
#[derive(Copy, Clone, Default)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_2 {
    /// Start address.
    pub Start: PHYSICAL_ADDRESS,
    /// Length.
    pub Length: ULONG,
}
/// `Interrupt` member of the resource union.
#[repr(C, packed(4))]
#[derive(Debug, Default, Copy, Clone)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_3 {
    /// `Level`.
    pub Level: ULONG,
    /// `Vector`.
    pub Vector: ULONG,
    /// `Affinity`.
    pub Affinity: KAFFINITY,
}
/// `MessageInterrupt` member of the resource union.
#[repr(C)]
#[derive(Copy, Clone, Default)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4 {
    /// Raw or translated view.
    pub __bindgen_anon_1: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4__bindgen_ty_1,
}
/// Views of a message-interrupt descriptor.
#[repr(C)]
#[derive(Copy, Clone)]
pub union _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4__bindgen_ty_1 {
    /// Raw view.
    pub Raw:
        _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4__bindgen_ty_1__bindgen_ty_1,
    /// Translated view.
    pub Translated:
        _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4__bindgen_ty_1__bindgen_ty_2,
}
impl Default for _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4__bindgen_ty_1 {
    fn default() -> Self {
        Self { Translated: _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4__bindgen_ty_1__bindgen_ty_2::default() }
    }
}
/// Raw view of a message-interrupt descriptor.
#[repr(C, packed(4))]
#[derive(Debug, Default, Copy, Clone)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4__bindgen_ty_1__bindgen_ty_1 {
    /// Reserved.
    pub Reserved: USHORT,
    /// Number of messages.
    pub MessageCount: USHORT,
    /// Vector.
    pub Vector: ULONG,
    /// Affinity.
    pub Affinity: KAFFINITY,
}
/// Translated view of a message-interrupt descriptor.
#[repr(C, packed(4))]
#[derive(Debug, Default, Copy, Clone)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_4__bindgen_ty_1__bindgen_ty_2 {
    /// IRQL.
    pub Level: ULONG,
    /// Vector.
    pub Vector: ULONG,
    /// Affinity.
    pub Affinity: KAFFINITY,
}
/// `Memory` member of the resource union.
#[repr(C, packed(4))]
#[derive(Copy, Clone, Default)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_5 {
    /// Start address.
    pub Start: PHYSICAL_ADDRESS,
    /// Length.
    pub Length: ULONG,
}
/// `Dma` member of the resource union.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_6 {
    /// `Channel`.
    pub Channel: ULONG,
    /// `Port`.
    pub Port: ULONG,
    /// `Reserved1`.
    pub Reserved1: ULONG,
}
/// `DmaV3` member of the resource union.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_7 {
    /// `Channel`.
    pub Channel: ULONG,
    /// `RequestLine`.
    pub RequestLine: ULONG,
    /// `TransferWidth`.
    pub TransferWidth: UCHAR,
    /// `Reserved1`.
    pub Reserved1: UCHAR,
    /// `Reserved2`.
    pub Reserved2: UCHAR,
    /// `Reserved3`.
    pub Reserved3: UCHAR,
}
/// `DevicePrivate` member of the resource union.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_8 {
    /// `Data`.
    pub Data: [ULONG; 3usize],
}
/// `BusNumber` member of the resource union.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_9 {
    /// `Start`.
    pub Start: ULONG,
    /// `Length`.
    pub Length: ULONG,
    /// `Reserved`.
    pub Reserved: ULONG,
}
/// `DeviceSpecificData` member of the resource union.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_10 {
    /// `DataSize`.
    pub DataSize: ULONG,
    /// `Reserved1`.
    pub Reserved1: ULONG,
    /// `Reserved2`.
    pub Reserved2: ULONG,
}
/// `Memory40` member of the resource union.
#[repr(C, packed(4))]
#[derive(Copy, Clone, Default)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_11 {
    /// Start address.
    pub Start: PHYSICAL_ADDRESS,
    /// Length.
    pub Length40: ULONG,
}
/// `Memory48` member of the resource union.
#[repr(C, packed(4))]
#[derive(Copy, Clone, Default)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_12 {
    /// Start address.
    pub Start: PHYSICAL_ADDRESS,
    /// Length.
    pub Length48: ULONG,
}
/// `Memory64` member of the resource union.
#[repr(C, packed(4))]
#[derive(Copy, Clone, Default)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_13 {
    /// Start address.
    pub Start: PHYSICAL_ADDRESS,
    /// Length.
    pub Length64: ULONG,
}
/// `Connection` member of the resource union.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _CM_PARTIAL_RESOURCE_DESCRIPTOR__bindgen_ty_1__bindgen_ty_14 {
    /// `Class`.
    pub Class: UCHAR,
    /// `Type`.
    pub Type: UCHAR,
    /// `Reserved1`.
    pub Reserved1: UCHAR,
    /// `Reserved2`.
    pub Reserved2: UCHAR,
    /// `IdLowPart`.
    pub IdLowPart: ULONG,
    /// `IdHighPart`.
    pub IdHighPart: ULONG,
}
/// `CM_PARTIAL_RESOURCE_DESCRIPTOR`.
pub type CM_PARTIAL_RESOURCE_DESCRIPTOR = _CM_PARTIAL_RESOURCE_DESCRIPTOR;
/// `PCM_PARTIAL_RESOURCE_DESCRIPTOR`.
pub type PCM_PARTIAL_RESOURCE_DESCRIPTOR = *mut _CM_PARTIAL_RESOURCE_DESCRIPTOR;

/// `WDF_INTERRUPT_CONFIG`.
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _WDF_INTERRUPT_CONFIG {
    /// `sizeof` this structure.
    pub Size: ULONG,
    /// Optional spin lock shared with other interrupts.
    pub SpinLock: WDFSPINLOCK,
    /// Whether the vector is shared.
    pub ShareVector: WDF_TRI_STATE,
    /// Whether floating-point state is saved.
    pub FloatingSave: BOOLEAN,
    /// Whether the DPC is synchronized with the device's scope.
    pub AutomaticSerialization: BOOLEAN,
    /// ISR.
    pub EvtInterruptIsr: PFN_WDF_INTERRUPT_ISR,
    /// DPC.
    pub EvtInterruptDpc: PFN_WDF_INTERRUPT_DPC,
    /// Enable callback.
    pub EvtInterruptEnable: PFN_WDF_INTERRUPT_ENABLE,
    /// Disable callback.
    pub EvtInterruptDisable: PFN_WDF_INTERRUPT_DISABLE,
    /// Work-item callback.
    pub EvtInterruptWorkItem: PFN_WDF_INTERRUPT_WORKITEM,
    /// Raw resource, when created in prepare-hardware.
    pub InterruptRaw: PCM_PARTIAL_RESOURCE_DESCRIPTOR,
    /// Translated resource, when created in prepare-hardware.
    pub InterruptTranslated: PCM_PARTIAL_RESOURCE_DESCRIPTOR,
    /// Wait lock for passive-level interrupts.
    pub WaitLock: WDFWAITLOCK,
    /// Passive-level handling.
    pub PassiveHandling: BOOLEAN,
    /// Report inactive on power down.
    pub ReportInactiveOnPowerDown: WDF_TRI_STATE,
    /// Wake capability.
    pub CanWakeDevice: BOOLEAN,
}
impl Default for _WDF_INTERRUPT_CONFIG {
    fn default() -> Self {
        Self {
            Size: 0,
            SpinLock: core::ptr::null_mut(),
            ShareVector: 0,
            FloatingSave: 0,
            AutomaticSerialization: 0,
            EvtInterruptIsr: None,
            EvtInterruptDpc: None,
            EvtInterruptEnable: None,
            EvtInterruptDisable: None,
            EvtInterruptWorkItem: None,
            InterruptRaw: core::ptr::null_mut(),
            InterruptTranslated: core::ptr::null_mut(),
            WaitLock: core::ptr::null_mut(),
            PassiveHandling: 0,
            ReportInactiveOnPowerDown: 0,
            CanWakeDevice: 0,
        }
    }
}
/// `WDF_INTERRUPT_CONFIG`.
pub type WDF_INTERRUPT_CONFIG = _WDF_INTERRUPT_CONFIG;
/// `PWDF_INTERRUPT_CONFIG`.
pub type PWDF_INTERRUPT_CONFIG = *mut _WDF_INTERRUPT_CONFIG;

/// `WDF_DMA_ENABLER_CONFIG`.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_DMA_ENABLER_CONFIG {
    /// `sizeof` this structure.
    pub Size: ULONG,
    /// DMA profile.
    pub Profile: WDF_DMA_PROFILE,
    /// Largest single transfer.
    pub MaximumLength: usize,
    /// Power callback.
    pub EvtDmaEnablerFill: PFN_WDF_DMA_ENABLER_FILL,
    /// Power callback.
    pub EvtDmaEnablerFlush: PFN_WDF_DMA_ENABLER_FLUSH,
    /// Power callback.
    pub EvtDmaEnablerDisable: PFN_WDF_DMA_ENABLER_DISABLE,
    /// Power callback.
    pub EvtDmaEnablerEnable: PFN_WDF_DMA_ENABLER_ENABLE,
    /// Power callback.
    pub EvtDmaEnablerSelfManagedIoStart: PFN_WDF_DMA_ENABLER_SELFMANAGED_IO_START,
    /// Power callback.
    pub EvtDmaEnablerSelfManagedIoStop: PFN_WDF_DMA_ENABLER_SELFMANAGED_IO_STOP,
    /// Device address width in bits (0 = implied by the profile).
    pub AddressWidthOverride: ULONG,
    /// WDM DMA version (0 = default).
    pub WdmDmaVersionOverride: ULONG,
    /// `WDF_DMA_ENABLER_CONFIG_FLAGS`.
    pub Flags: ULONG,
}
/// `WDF_DMA_ENABLER_CONFIG`.
pub type WDF_DMA_ENABLER_CONFIG = _WDF_DMA_ENABLER_CONFIG;
/// `PWDF_DMA_ENABLER_CONFIG`.
pub type PWDF_DMA_ENABLER_CONFIG = *mut _WDF_DMA_ENABLER_CONFIG;

/// `WDF_DMA_SYSTEM_PROFILE_CONFIG`.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct _WDF_DMA_SYSTEM_PROFILE_CONFIG {
    /// `sizeof` this structure.
    pub Size: ULONG,
    /// Demand mode.
    pub DemandMode: BOOLEAN,
    /// Looped (auto-initialize) transfer.
    pub LoopedTransfer: BOOLEAN,
    /// Width of each controller access.
    pub DmaWidth: DMA_WIDTH,
    /// Bus address of the peripheral's data register.
    pub DeviceAddress: PHYSICAL_ADDRESS,
    /// Translated DMA resource.
    pub DmaDescriptor: PCM_PARTIAL_RESOURCE_DESCRIPTOR,
}
impl Default for _WDF_DMA_SYSTEM_PROFILE_CONFIG {
    fn default() -> Self {
        Self {
            Size: 0,
            DemandMode: 0,
            LoopedTransfer: 0,
            DmaWidth: 0,
            DeviceAddress: PHYSICAL_ADDRESS::default(),
            DmaDescriptor: core::ptr::null_mut(),
        }
    }
}
/// `WDF_DMA_SYSTEM_PROFILE_CONFIG`.
pub type WDF_DMA_SYSTEM_PROFILE_CONFIG = _WDF_DMA_SYSTEM_PROFILE_CONFIG;
/// `PWDF_DMA_SYSTEM_PROFILE_CONFIG`.
pub type PWDF_DMA_SYSTEM_PROFILE_CONFIG = *mut _WDF_DMA_SYSTEM_PROFILE_CONFIG;

/// `WDF_TIMER_CONFIG`.
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct _WDF_TIMER_CONFIG {
    /// `sizeof` this structure.
    pub Size: ULONG,
    /// Timer callback.
    pub EvtTimerFunc: PFN_WDF_TIMER,
    /// Period in milliseconds (0 = one-shot).
    pub Period: ULONG,
    /// Synchronize with the parent's scope.
    pub AutomaticSerialization: BOOLEAN,
    /// Tolerable delay in milliseconds.
    pub TolerableDelay: ULONG,
    /// Alignment padding (`DECLSPEC_ALIGN(8)` in the header).
    pub __bindgen_padding_0: [u8; 4usize],
    /// High-resolution timer.
    pub UseHighResolutionTimer: BOOLEAN,
}
/// `WDF_TIMER_CONFIG`.
pub type WDF_TIMER_CONFIG = _WDF_TIMER_CONFIG;
/// `PWDF_TIMER_CONFIG`.
pub type PWDF_TIMER_CONFIG = *mut _WDF_TIMER_CONFIG;

/// `SCATTER_GATHER_ELEMENT`.
#[repr(C)]
#[derive(Copy, Clone, Default)]
pub struct _SCATTER_GATHER_ELEMENT {
    /// Logical (device) address.
    pub Address: PHYSICAL_ADDRESS,
    /// Length in bytes.
    pub Length: ULONG,
    /// Reserved.
    pub Reserved: ULONG_PTR,
}
/// `SCATTER_GATHER_ELEMENT`.
pub type SCATTER_GATHER_ELEMENT = _SCATTER_GATHER_ELEMENT;

/// bindgen's representation of a C flexible array member.
#[repr(C)]
#[derive(Default)]
pub struct __IncompleteArrayField<T>(::core::marker::PhantomData<T>, [T; 0]);
impl<T> __IncompleteArrayField<T> {
    /// A new, empty field.
    #[inline]
    #[must_use]
    pub const fn new() -> Self {
        Self(::core::marker::PhantomData, [])
    }
    /// Pointer to the first element.
    #[inline]
    pub const fn as_ptr(&self) -> *const T {
        ::core::ptr::from_ref(self).cast::<T>()
    }
    /// Mutable pointer to the first element.
    #[inline]
    pub const fn as_mut_ptr(&mut self) -> *mut T {
        ::core::ptr::from_mut(self).cast::<T>()
    }
    /// The first `len` elements.
    ///
    /// # Safety
    /// `len` elements must be initialised and live in the same allocation as `self`.
    #[inline]
    pub const unsafe fn as_slice(&self, len: usize) -> &[T] {
        // SAFETY: the caller guarantees `len` initialised elements follow `self`.
        unsafe { ::core::slice::from_raw_parts(self.as_ptr(), len) }
    }
}
impl<T> ::core::fmt::Debug for __IncompleteArrayField<T> {
    fn fmt(&self, fmt: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        fmt.write_str("__IncompleteArrayField")
    }
}

/// `SCATTER_GATHER_LIST`.
#[repr(C)]
#[derive(Default, Debug)]
pub struct _SCATTER_GATHER_LIST {
    /// Number of elements.
    pub NumberOfElements: ULONG,
    /// Reserved.
    pub Reserved: ULONG_PTR,
    /// The elements.
    pub Elements: __IncompleteArrayField<SCATTER_GATHER_ELEMENT>,
}
/// `SCATTER_GATHER_LIST`.
pub type SCATTER_GATHER_LIST = _SCATTER_GATHER_LIST;
/// `PSCATTER_GATHER_LIST`.
pub type PSCATTER_GATHER_LIST = *mut _SCATTER_GATHER_LIST;

/// `MDL` (opaque here: the driver hands MDLs to the framework but never walks them).
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct _MDL {
    _unused: [u8; 0],
}
/// `PMDL`.
pub type PMDL = *mut _MDL;

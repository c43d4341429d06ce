//! Constants as `wdk-sys` exposes them: `NTSTATUS` values from its hand-written list,
//! `#define`d integers as bindgen types them (`u32` for non-negative literals), and the
//! `WDF_NO_*` helpers.

use super::types::{NTSTATUS, PVOID, PWDF_OBJECT_ATTRIBUTES};

/// `STATUS_SUCCESS`.
pub const STATUS_SUCCESS: NTSTATUS = 0;
/// `STATUS_PENDING`.
pub const STATUS_PENDING: NTSTATUS = 0x0000_0103;
/// `STATUS_DEVICE_BUSY` (a warning status).
pub const STATUS_DEVICE_BUSY: NTSTATUS = 0x8000_0011_u32.cast_signed();
/// `STATUS_UNSUCCESSFUL`.
pub const STATUS_UNSUCCESSFUL: NTSTATUS = 0xC000_0001_u32.cast_signed();
/// `STATUS_INFO_LENGTH_MISMATCH`.
pub const STATUS_INFO_LENGTH_MISMATCH: NTSTATUS = 0xC000_0004_u32.cast_signed();
/// `STATUS_INVALID_PARAMETER`.
pub const STATUS_INVALID_PARAMETER: NTSTATUS = 0xC000_000D_u32.cast_signed();
/// `STATUS_INVALID_DEVICE_REQUEST`.
pub const STATUS_INVALID_DEVICE_REQUEST: NTSTATUS = 0xC000_0010_u32.cast_signed();
/// `STATUS_MORE_PROCESSING_REQUIRED`.
pub const STATUS_MORE_PROCESSING_REQUIRED: NTSTATUS = 0xC000_0016_u32.cast_signed();
/// `STATUS_BUFFER_TOO_SMALL`.
pub const STATUS_BUFFER_TOO_SMALL: NTSTATUS = 0xC000_0023_u32.cast_signed();
/// `STATUS_INSUFFICIENT_RESOURCES`.
pub const STATUS_INSUFFICIENT_RESOURCES: NTSTATUS = 0xC000_009A_u32.cast_signed();
/// `STATUS_DEVICE_DATA_ERROR`.
pub const STATUS_DEVICE_DATA_ERROR: NTSTATUS = 0xC000_009C_u32.cast_signed();
/// `STATUS_DEVICE_NOT_CONNECTED`.
pub const STATUS_DEVICE_NOT_CONNECTED: NTSTATUS = 0xC000_009D_u32.cast_signed();
/// `STATUS_DEVICE_NOT_READY`.
pub const STATUS_DEVICE_NOT_READY: NTSTATUS = 0xC000_00A3_u32.cast_signed();
/// `STATUS_IO_TIMEOUT`.
pub const STATUS_IO_TIMEOUT: NTSTATUS = 0xC000_00B5_u32.cast_signed();
/// `STATUS_NOT_SUPPORTED`.
pub const STATUS_NOT_SUPPORTED: NTSTATUS = 0xC000_00BB_u32.cast_signed();
/// `STATUS_INTERNAL_ERROR`.
pub const STATUS_INTERNAL_ERROR: NTSTATUS = 0xC000_00E5_u32.cast_signed();
/// `STATUS_CANCELLED`.
pub const STATUS_CANCELLED: NTSTATUS = 0xC000_0120_u32.cast_signed();
/// `STATUS_INVALID_DEVICE_STATE`.
pub const STATUS_INVALID_DEVICE_STATE: NTSTATUS = 0xC000_0184_u32.cast_signed();
/// `STATUS_INVALID_BUFFER_SIZE`.
pub const STATUS_INVALID_BUFFER_SIZE: NTSTATUS = 0xC000_0206_u32.cast_signed();
/// `STATUS_DEVICE_REMOVED`.
pub const STATUS_DEVICE_REMOVED: NTSTATUS = 0xC000_02B6_u32.cast_signed();
/// `STATUS_DEVICE_HARDWARE_ERROR`.
pub const STATUS_DEVICE_HARDWARE_ERROR: NTSTATUS = 0xC000_0483_u32.cast_signed();

/// `WDF_NO_OBJECT_ATTRIBUTES`.
pub const WDF_NO_OBJECT_ATTRIBUTES: PWDF_OBJECT_ATTRIBUTES = core::ptr::null_mut();
/// `WDF_NO_EVENT_CALLBACK`.
pub const WDF_NO_EVENT_CALLBACK: PVOID = core::ptr::null_mut();
/// `WDF_NO_HANDLE`.
pub const WDF_NO_HANDLE: PVOID = core::ptr::null_mut();
/// `WDF_NO_CONTEXT`.
pub const WDF_NO_CONTEXT: PVOID = core::ptr::null_mut();

/// `CmResourceTypePort`.
pub const CmResourceTypePort: u32 = 1;
/// `CmResourceTypeInterrupt`.
pub const CmResourceTypeInterrupt: u32 = 2;
/// `CmResourceTypeMemory`.
pub const CmResourceTypeMemory: u32 = 3;
/// `CmResourceTypeDma`.
pub const CmResourceTypeDma: u32 = 4;
/// `CM_RESOURCE_INTERRUPT_LATCHED`.
pub const CM_RESOURCE_INTERRUPT_LATCHED: u32 = 1;
/// `CM_RESOURCE_INTERRUPT_MESSAGE`.
pub const CM_RESOURCE_INTERRUPT_MESSAGE: u32 = 2;
/// `CM_RESOURCE_DMA_V3`.
pub const CM_RESOURCE_DMA_V3: u32 = 0x0100;
/// `PAGE_READWRITE`.
pub const PAGE_READWRITE: u32 = 0x04;
/// `PAGE_NOCACHE`.
pub const PAGE_NOCACHE: u32 = 0x200;

/// `DPFLTR_ERROR_LEVEL` (`DbgPrintEx` level 0: shown by the default filter).
pub const DPFLTR_ERROR_LEVEL: u32 = 0;
/// `DPFLTR_WARNING_LEVEL`.
pub const DPFLTR_WARNING_LEVEL: u32 = 1;
/// `DPFLTR_TRACE_LEVEL`.
pub const DPFLTR_TRACE_LEVEL: u32 = 2;
/// `DPFLTR_INFO_LEVEL`.
pub const DPFLTR_INFO_LEVEL: u32 = 3;

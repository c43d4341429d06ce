//! The I/O contract between the edu DMA driver and user mode.
//!
//! `no_std`, dependency-free, shared by the driver, the user-mode harness and the tests.
//! Every wire struct is `#[repr(C)]`, made only of fixed-width integers, and has an explicit
//! byte encoding ([`DeviceInfo::to_bytes`], …) so neither side ever reinterprets raw memory.
//!
//! # Data path
//! `ReadFile`/`WriteFile` move data between the caller's buffer and the device's 4 KiB DMA
//! buffer. The device buffer is treated as a ring of [`DeviceInfo::buffer_size`] bytes (4096,
//! or fewer when the driver's `UsableRingBytes` parameter shortens it for QEMU 8.2.0 and
//! older): byte `i` of a transfer maps to device offset `(start + i) % buffer_size`, where
//! `start` is 0 for `ReadFile`/`WriteFile` and the given offset for
//! [`IOCTL_EDU_DMA_READ_AT`]/[`IOCTL_EDU_DMA_WRITE_AT`]. So a write longer than the ring leaves
//! its last `buffer_size` bytes in the device, and a longer read returns the ring repeated. Transfers longer than [`MAX_TRANSFER_LENGTH`] are refused with
//! `STATUS_INVALID_BUFFER_SIZE`. Zero-length reads and writes are completed by the framework
//! with success and 0 bytes.
#![no_std]

/// Version of this contract. [`DeviceInfo::api_version`] carries the driver's value so a
/// harness can refuse to run against a driver built from a different contract.
pub const API_VERSION: u32 = 1;

/// Size in bytes of the edu device's DMA buffer.
pub const DEVICE_BUFFER_SIZE: u32 = 4096;

/// Largest read, write or DMA-at-offset transfer the driver accepts, in bytes (16 MiB).
pub const MAX_TRANSFER_LENGTH: usize = 16 * 1024 * 1024;

/// Device interface GUID registered by the driver: `{5E3C9A52-8D1F-4B7E-9C2A-3F6D1E8B7A40}`.
pub const GUID_DEVINTERFACE_EDU_DMA: Guid = Guid {
    data1: 0x5E3C_9A52,
    data2: 0x8D1F,
    data3: 0x4B7E,
    data4: [0x9C, 0x2A, 0x3F, 0x6D, 0x1E, 0x8B, 0x7A, 0x40],
};

/// A GUID in the Windows field layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
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

/// `FILE_DEVICE_UNKNOWN`.
pub const FILE_DEVICE_UNKNOWN: u32 = 0x22;
/// `METHOD_BUFFERED`.
pub const METHOD_BUFFERED: u32 = 0;
/// `METHOD_IN_DIRECT`.
pub const METHOD_IN_DIRECT: u32 = 1;
/// `METHOD_OUT_DIRECT`.
pub const METHOD_OUT_DIRECT: u32 = 2;
/// `METHOD_NEITHER`.
pub const METHOD_NEITHER: u32 = 3;
/// `FILE_ANY_ACCESS`.
pub const FILE_ANY_ACCESS: u32 = 0;
/// `FILE_READ_ACCESS`.
pub const FILE_READ_ACCESS: u32 = 1;
/// `FILE_WRITE_ACCESS`.
pub const FILE_WRITE_ACCESS: u32 = 2;

/// The `CTL_CODE` macro of `winioctl.h`/`wdm.h`.
#[must_use]
pub const fn ctl_code(device_type: u32, function: u32, method: u32, access: u32) -> u32 {
    (device_type << 16) | (access << 14) | (function << 2) | method
}

/// The transfer method encoded in an IOCTL code (`METHOD_FROM_CTL_CODE`).
#[must_use]
pub const fn method_of(code: u32) -> u32 {
    code & 3
}

/// Returns a [`DeviceInfo`]. `METHOD_BUFFERED`; no input; output at least
/// [`DeviceInfo::SIZE`] bytes. Information = [`DeviceInfo::SIZE`].
pub const IOCTL_EDU_GET_INFO: u32 =
    ctl_code(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS);
/// Returns [`Statistics`]. `METHOD_BUFFERED`; no input; output at least
/// [`Statistics::SIZE`] bytes. Information = [`Statistics::SIZE`].
pub const IOCTL_EDU_GET_STATS: u32 =
    ctl_code(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS);
/// Resets the device state the driver relies on (acknowledges stale interrupt causes) and
/// zeroes the statistics. `METHOD_BUFFERED`; no input or output. Information = 0.
pub const IOCTL_EDU_RESET: u32 = ctl_code(
    FILE_DEVICE_UNKNOWN,
    0x802,
    METHOD_BUFFERED,
    FILE_WRITE_ACCESS,
);
/// DMA from the caller's output buffer into the device buffer at an offset.
///
/// `METHOD_IN_DIRECT`: input is a [`DmaAt`] header; the *output* buffer holds the data to
/// write (the I/O manager maps it for reading). Information = bytes moved.
pub const IOCTL_EDU_DMA_WRITE_AT: u32 = ctl_code(
    FILE_DEVICE_UNKNOWN,
    0x803,
    METHOD_IN_DIRECT,
    FILE_WRITE_ACCESS,
);
/// DMA from the device buffer at an offset into the caller's output buffer.
/// `METHOD_OUT_DIRECT`: input is a [`DmaAt`] header; the output buffer receives the data.
/// Information = bytes moved.
pub const IOCTL_EDU_DMA_READ_AT: u32 = ctl_code(
    FILE_DEVICE_UNKNOWN,
    0x804,
    METHOD_OUT_DIRECT,
    FILE_READ_ACCESS,
);
/// Loopback: DMA the input bytes into the device buffer at offset 0, then back.
///
/// The same number of bytes returns into the output buffer. `METHOD_BUFFERED`; input and output
/// lengths must be equal and between 1 and [`DeviceInfo::buffer_size`] (at most
/// [`DEVICE_BUFFER_SIZE`]). Information = bytes read
/// back (0 when the request ends during the write half). On an error status the I/O manager
/// copies no buffered output back, so the caller's output buffer is left as it was.
pub const IOCTL_EDU_LOOPBACK: u32 = ctl_code(
    FILE_DEVICE_UNKNOWN,
    0x805,
    METHOD_BUFFERED,
    FILE_READ_ACCESS | FILE_WRITE_ACCESS,
);

/// Every IOCTL the driver implements; any other code fails with
/// `STATUS_INVALID_DEVICE_REQUEST`.
pub const ALL_IOCTLS: [u32; 6] = [
    IOCTL_EDU_GET_INFO,
    IOCTL_EDU_GET_STATS,
    IOCTL_EDU_RESET,
    IOCTL_EDU_DMA_WRITE_AT,
    IOCTL_EDU_DMA_READ_AT,
    IOCTL_EDU_LOOPBACK,
];

/// Reads a little-endian `u32` at `at`, if the slice is long enough.
fn get_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    let mut word = [0; 4];
    word.copy_from_slice(raw);
    Some(u32::from_le_bytes(word))
}

/// Reads a little-endian `u64` at `at`, if the slice is long enough.
fn get_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let raw = bytes.get(at..at.checked_add(8)?)?;
    let mut word = [0; 8];
    word.copy_from_slice(raw);
    Some(u64::from_le_bytes(word))
}

/// Copies `value` into `out[at..at + N]`; `out` is always large enough where this is used.
fn put(out: &mut [u8], at: usize, value: &[u8]) {
    if let Some(slot) = out.get_mut(at..at + value.len()) {
        slot.copy_from_slice(value);
    }
}

/// Input header of [`IOCTL_EDU_DMA_READ_AT`] and [`IOCTL_EDU_DMA_WRITE_AT`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct DmaAt {
    /// Device-buffer offset of the first byte, below [`DeviceInfo::buffer_size`] (at most
    /// [`DEVICE_BUFFER_SIZE`]); a larger one fails with `STATUS_INVALID_PARAMETER`.
    pub offset: u32,
    /// Must be zero.
    pub reserved: u32,
}

impl DmaAt {
    /// Wire size in bytes.
    pub const SIZE: usize = 8;

    /// Encodes the header.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0; Self::SIZE];
        put(&mut out, 0, &self.offset.to_le_bytes());
        put(&mut out, 4, &self.reserved.to_le_bytes());
        out
    }

    /// Decodes the header; `None` if `bytes` is shorter than [`Self::SIZE`].
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self {
            offset: get_u32(bytes, 0)?,
            reserved: get_u32(bytes, 4)?,
        })
    }
}

/// DMA personality of the bound device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DmaMode {
    /// Bus-master packet DMA (the edu device's own engine).
    BusMaster = 1,
    /// System-mode DMA through a platform DMA controller.
    System = 2,
}

/// Output of [`IOCTL_EDU_GET_INFO`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct DeviceInfo {
    /// The driver's [`API_VERSION`].
    pub api_version: u32,
    /// Identification register (0x010000ED for edu 1.0).
    pub device_id: u32,
    /// [`DmaMode`] as a number.
    pub dma_mode: u32,
    /// Address width declared to the DMA enabler, in bits.
    pub address_width: u32,
    /// Largest single device transfer (the enabler's `MaximumLength`).
    pub max_transfer: u32,
    /// Fragment length the framework uses (`WdfDmaEnablerGetFragmentLength`).
    pub fragment_length: u32,
    /// Bytes of the device buffer the driver uses as its ring: 4096, or the smaller
    /// `UsableRingBytes` set for QEMU 8.2.0 and older.
    pub buffer_size: u32,
    /// 1 when the interrupt is message-signalled.
    pub msi: u32,
}

impl DeviceInfo {
    /// Wire size in bytes.
    pub const SIZE: usize = 32;

    /// Encodes the structure.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let fields = [
            self.api_version,
            self.device_id,
            self.dma_mode,
            self.address_width,
            self.max_transfer,
            self.fragment_length,
            self.buffer_size,
            self.msi,
        ];
        let mut out = [0; Self::SIZE];
        for (i, field) in fields.iter().enumerate() {
            put(&mut out, i * 4, &field.to_le_bytes());
        }
        out
    }

    /// Decodes the structure; `None` if `bytes` is too short.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self {
            api_version: get_u32(bytes, 0)?,
            device_id: get_u32(bytes, 4)?,
            dma_mode: get_u32(bytes, 8)?,
            address_width: get_u32(bytes, 12)?,
            max_transfer: get_u32(bytes, 16)?,
            fragment_length: get_u32(bytes, 20)?,
            buffer_size: get_u32(bytes, 24)?,
            msi: get_u32(bytes, 28)?,
        })
    }
}

/// Output of [`IOCTL_EDU_GET_STATS`]: counters since load or the last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Statistics {
    /// Requests completed (all kinds).
    pub requests: u64,
    /// Bytes moved from the device to callers.
    pub bytes_read: u64,
    /// Bytes moved from callers to the device.
    pub bytes_written: u64,
    /// Device DMA commands that completed.
    pub fragments: u64,
    /// Requests completed with an error status (cancellations and timeouts excluded).
    pub errors: u64,
    /// Requests completed with `STATUS_CANCELLED`.
    pub cancelled: u64,
    /// Requests completed with `STATUS_IO_TIMEOUT`.
    pub timeouts: u64,
    /// Interrupts claimed by the ISR.
    pub interrupts: u64,
}

impl Statistics {
    /// Wire size in bytes.
    pub const SIZE: usize = 64;

    /// Encodes the structure.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let fields = [
            self.requests,
            self.bytes_read,
            self.bytes_written,
            self.fragments,
            self.errors,
            self.cancelled,
            self.timeouts,
            self.interrupts,
        ];
        let mut out = [0; Self::SIZE];
        for (i, field) in fields.iter().enumerate() {
            put(&mut out, i * 8, &field.to_le_bytes());
        }
        out
    }

    /// Decodes the structure; `None` if `bytes` is too short.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self {
            requests: get_u64(bytes, 0)?,
            bytes_read: get_u64(bytes, 8)?,
            bytes_written: get_u64(bytes, 16)?,
            fragments: get_u64(bytes, 24)?,
            errors: get_u64(bytes, 32)?,
            cancelled: get_u64(bytes, 40)?,
            timeouts: get_u64(bytes, 48)?,
            interrupts: get_u64(bytes, 56)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_codes_follow_ctl_code() {
        assert_eq!(IOCTL_EDU_GET_INFO, 0x0022_2000);
        assert_eq!(method_of(IOCTL_EDU_DMA_WRITE_AT), METHOD_IN_DIRECT);
        assert_eq!(method_of(IOCTL_EDU_DMA_READ_AT), METHOD_OUT_DIRECT);
        assert_eq!(method_of(IOCTL_EDU_LOOPBACK), METHOD_BUFFERED);
        let mut sorted = ALL_IOCTLS;
        sorted.sort_unstable();
        assert!(
            sorted.windows(2).all(|w| w[0] != w[1]),
            "codes are distinct"
        );
    }

    #[test]
    fn wire_structs_round_trip() {
        let info = DeviceInfo {
            api_version: API_VERSION,
            device_id: 0x0100_00ED,
            dma_mode: DmaMode::BusMaster as u32,
            address_width: 28,
            max_transfer: 4096,
            fragment_length: 4096,
            buffer_size: 4096,
            msi: 1,
        };
        assert_eq!(DeviceInfo::from_bytes(&info.to_bytes()), Some(info));
        assert_eq!(DeviceInfo::from_bytes(&info.to_bytes()[..31]), None);
        let stats = Statistics {
            requests: 1,
            bytes_read: 2,
            interrupts: u64::MAX,
            ..Default::default()
        };
        assert_eq!(Statistics::from_bytes(&stats.to_bytes()), Some(stats));
        let at = DmaAt {
            offset: 17,
            reserved: 0,
        };
        assert_eq!(DmaAt::from_bytes(&at.to_bytes()), Some(at));
        assert_eq!(DmaAt::from_bytes(&[0; 7]), None);
    }
}

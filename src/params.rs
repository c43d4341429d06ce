//! Driver parameters from the service's `Parameters` registry key, read once per device in
//! `EvtDriverDeviceAdd`.
//!
//! `UsableRingBytes` (`REG_DWORD`, 1..=4096, default 4096): how much of edu's 4 KiB buffer the
//! driver uses as its ring. QEMU up to 8.2.0 aborts the whole VM on a DMA whose end reaches
//! the buffer's end (its range check is off by one), so on those versions it must be 4095:
//! no transfer then touches the last byte. Out-of-range values are ignored (the default
//! applies). The FIFO peripheral's ring is its own and always 4096 bytes.

use crate::regs;
use kmdf_safe::device::DeviceInit;
use kmdf_safe::irql::Passive;
use kmdf_safe::registry::{ValueName, query_parameter_u32};

/// Name of the ring-length value.
pub const USABLE_RING_BYTES: &str = "UsableRingBytes";
const USABLE_RING_BYTES_NAME: ValueName<15> = ValueName::ascii(USABLE_RING_BYTES);

/// What the registry configures for a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parameters {
    /// Bytes of edu's buffer used as the ring (offsets `0..usable_ring_bytes`).
    pub usable_ring_bytes: usize,
}

impl Default for Parameters {
    fn default() -> Self {
        Self {
            usable_ring_bytes: regs::BUFFER_SIZE,
        }
    }
}

impl Parameters {
    /// The parameters from the stored values (`None`: not set or unreadable).
    #[must_use]
    pub fn from_values(usable_ring_bytes: Option<u32>) -> Self {
        let ring = usable_ring_bytes
            .and_then(|value| usize::try_from(value).ok())
            .filter(|value| (1..=regs::BUFFER_SIZE).contains(value))
            .unwrap_or(regs::BUFFER_SIZE);
        Self {
            usable_ring_bytes: ring,
        }
    }

    /// Reads the parameters (a key or value that cannot be read leaves the default).
    #[must_use]
    pub fn read(init: &DeviceInit<'_>, cx: &Passive<'_>) -> Self {
        Self::from_values(query_parameter_u32(init, &USABLE_RING_BYTES_NAME, cx).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_length_defaults_and_rejects_out_of_range_values() {
        assert_eq!(Parameters::from_values(None).usable_ring_bytes, 4096);
        assert_eq!(Parameters::from_values(Some(4095)).usable_ring_bytes, 4095);
        assert_eq!(Parameters::from_values(Some(1)).usable_ring_bytes, 1);
        assert_eq!(Parameters::from_values(Some(0)).usable_ring_bytes, 4096);
        assert_eq!(Parameters::from_values(Some(4097)).usable_ring_bytes, 4096);
        assert_eq!(
            Parameters::from_values(Some(u32::MAX)).usable_ring_bytes,
            4096
        );
    }
}

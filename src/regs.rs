//! Device registers: the edu device (`edu-device.md` §4) and the system-DMA FIFO peripheral.

use kmdf_safe::mmio::Bar;
use kmdf_safe::register;

/// edu identification value, major 1 minor 0.
pub const EDU_ID: u32 = 0x0100_00ED;
/// Device-side address of the edu DMA buffer.
pub const EDU_BUFFER_BASE: u64 = 0x4_0000;
/// Size of the device buffer (edu's DMA buffer, the peripheral's ring).
pub const BUFFER_SIZE: usize = 4096;
/// Address width of the edu DMA engine with QEMU's default `dma_mask` (28 bits).
pub const EDU_ADDRESS_BITS: u32 = 28;
/// edu interrupt cause: DMA finished.
pub const CAUSE_DMA: u32 = 0x100;
/// edu DMA command bits.
pub mod cmd {
    /// Start / busy.
    pub const RUN: u64 = 0x1;
    /// Direction: device buffer to RAM.
    pub const TO_RAM: u64 = 0x2;
    /// Raise cause 0x100 when done.
    pub const IRQ: u64 = 0x4;
}

register!(
    /// edu identification (RO).
    Identification: u32 at 0x00, read
);
register!(
    /// edu liveness check: reads the complement of the last write.
    Liveness: u32 at 0x04, read, write
);
register!(
    /// edu status (bit 7: interrupt on factorial).
    DeviceStatus: u32 at 0x20, read, write
);
register!(
    /// edu interrupt status (RO): accumulated causes.
    InterruptStatus: u32 at 0x24, read
);
register!(
    /// edu interrupt acknowledge (WO): clears the written causes.
    InterruptAck: u32 at 0x64, write
);
register!(
    /// edu DMA source address.
    DmaSource: u64 at 0x80, read, write
);
register!(
    /// edu DMA destination address.
    DmaDestination: u64 at 0x88, read, write
);
register!(
    /// edu DMA byte count.
    DmaCount: u64 at 0x90, read, write
);
register!(
    /// edu DMA command.
    DmaCommand: u64 at 0x98, read, write
);

/// FIFO peripheral identification value.
pub const PERIPHERAL_ID: u32 = 0x534D_0001;
/// Offset of the peripheral's FIFO data port in its BAR (the DMA controller's device address).
pub const PERIPHERAL_DATA_PORT: u64 = 0x10;
/// FIFO peripheral control bits.
pub mod ctrl {
    /// Assert the DMA request line.
    pub const DREQ_ENABLE: u32 = 0x1;
    /// Direction: peripheral to memory.
    pub const TO_MEMORY: u32 = 0x2;
    /// Reset FIFO, status and count.
    pub const RESET: u32 = 0x4;
}

register!(
    /// Peripheral identification (RO).
    PeripheralId: u32 at 0x00, read
);
register!(
    /// Peripheral control.
    PeripheralCtrl: u32 at 0x08, read, write
);
register!(
    /// Peripheral status (RO): overrun/underrun.
    PeripheralStatus: u32 at 0x0C, read
);
register!(
    /// Bytes moved through the data port since DREQ was enabled (RO).
    PeripheralCount: u32 at 0x14, read
);
register!(
    /// Ring position of the next byte.
    PeripheralOffset: u32 at 0x18, read, write
);

/// What the edu DMA engine is doing, from one read of its command register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The register reads all ones: the device is gone.
    Removed,
    /// RUN is set: a command is in progress.
    Busy,
    /// RUN is clear.
    Idle,
}

/// Reads the edu engine state (one register access).
#[must_use]
pub fn engine(bar: &Bar) -> Engine {
    match bar.read::<DmaCommand>().0 {
        u64::MAX => Engine::Removed,
        command if command & cmd::RUN != 0 => Engine::Busy,
        _ => Engine::Idle,
    }
}

/// Acknowledges every edu interrupt cause (stale causes would look like the next command's).
pub fn clear_causes(bar: &Bar) {
    bar.write(InterruptAck(u32::MAX));
}

/// Whether an identification value is an edu device of major version 1.
#[must_use]
pub const fn is_edu(id: u32) -> bool {
    id & 0xFF00_00FF == EDU_ID & 0xFF00_00FF
}

/// Device-side offset of byte `offset` of a transfer that starts at ring position `base`, in a
/// ring of `ring_len` bytes (the start of the device buffer; `1..=BUFFER_SIZE`).
#[must_use]
pub const fn ring_offset(base: u32, offset: usize, ring_len: usize) -> usize {
    (base as usize + offset) % ring_len
}

/// Bytes of a transfer of `length` that fit before a ring of `ring_len` bytes wraps, from
/// position `ring`.
#[must_use]
pub const fn until_wrap(ring: usize, length: usize, ring_len: usize) -> usize {
    let room = ring_len.saturating_sub(ring);
    if length < room { length } else { room }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identification_accepts_minor_versions_only() {
        assert!(is_edu(0x0100_00ED));
        assert!(is_edu(0x0107_00ED));
        assert!(!is_edu(0x0200_00ED));
        assert!(!is_edu(u32::MAX));
    }

    #[test]
    fn ring_arithmetic_wraps_at_the_buffer_end() {
        assert_eq!(ring_offset(0, 4096, BUFFER_SIZE), 0);
        assert_eq!(ring_offset(4095, 2, BUFFER_SIZE), 1);
        assert_eq!(until_wrap(4000, 4096, BUFFER_SIZE), 96);
        assert_eq!(until_wrap(0, 4096, BUFFER_SIZE), 4096);
        assert_eq!(until_wrap(10, 5, BUFFER_SIZE), 5);
    }

    #[test]
    fn a_shortened_ring_never_reaches_the_buffer_end() {
        // UsableRingBytes = 4095 (QEMU <= 8.2.0): no command ends at 0x41000.
        let ring = BUFFER_SIZE - 1;
        assert_eq!(ring_offset(0, 4095, ring), 0);
        assert_eq!(ring_offset(4094, 1, ring), 0);
        assert_eq!(until_wrap(0, 4096, ring), 4095);
        assert_eq!(until_wrap(4000, 4096, ring), 95);
        for start in 0..ring {
            assert!(start + until_wrap(start, 4096, ring) < BUFFER_SIZE);
        }
    }
}

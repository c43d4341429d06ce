//! What a test case can do to a device: the same operations on QEMU and on the model.

/// Error of a QEMU session (I/O, protocol, process).
pub(crate) type Error = String;

/// The operations a case drives. BAR0 offsets for register accesses, guest-physical addresses
/// for memory, nanoseconds for time.
pub(crate) trait Target {
    /// An MMIO read of `size` bytes at BAR0 `offset`.
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, Error>;
    /// An MMIO write of `size` bytes at BAR0 `offset`.
    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), Error>;
    /// Writes guest RAM.
    fn mem_write(&mut self, addr: u64, data: &[u8]) -> Result<(), Error>;
    /// Reads guest RAM.
    fn mem_read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, Error>;
    /// Advances the virtual clock by `ns`, running timers that fall due.
    fn step(&mut self, ns: u64) -> Result<(), Error>;
    /// Gives the factorial unit time to finish (QEMU computes on a host thread).
    fn settle(&mut self) -> Result<(), Error>;
    /// Level of the device's `INTx` line as the interrupt controller sees it.
    fn intx_line(&mut self) -> Result<bool, Error>;
    /// PCI Status register bit 3 (interrupt status: the device's own `INTx` level).
    fn intx_status(&mut self) -> Result<bool, Error>;
    /// MSI messages delivered since the last call.
    fn take_msis(&mut self) -> Result<u32, Error>;
    /// Writes the PCI Command register's Bus Master Enable and Interrupt Disable bits
    /// (memory space stays enabled).
    fn set_command(&mut self, bus_master: bool, intx_disable: bool) -> Result<(), Error>;
    /// Enables or disables the MSI capability.
    fn set_msi(&mut self, on: bool) -> Result<(), Error>;
    /// A system reset (PCI configuration is set up again afterwards).
    fn reset(&mut self) -> Result<(), Error>;
    /// Whether the device (QEMU process) is still there.
    fn alive(&mut self) -> bool;
    /// Guest-physical address of BAR0.
    fn bar0(&self) -> u64;
}

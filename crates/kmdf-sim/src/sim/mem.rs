//! Simulated physical memory.
//!
//! Every byte the simulated machine owns lives in a page-aligned host allocation (a
//! [`Block`]). Each 4 KiB page of a block is given a page frame number (PFN) by a seeded
//! allocator, so a buffer that is contiguous for the CPU is scattered in physical memory, and
//! some of its pages sit above 4 GiB or above a device's address width. Devices and the
//! simulated HAL reach memory only through bus (physical) addresses; the driver reaches it only
//! through the virtual address of a block.
//!
//! Host memory is touched only through raw pointers (`ptr::copy_nonoverlapping`), never through
//! references kept across calls, because the driver may hold pointers into the same blocks.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::collections::{BTreeMap, HashMap};
use std::ptr::NonNull;

use crate::devices::{BusFault, DmaBus};
use crate::sim::rng::Rng;

/// Page size of the simulated machine.
pub(crate) const PAGE: u64 = 4096;
/// PFNs below this are never handed out (the first MiB).
const LOW_START: u64 = 0x100;
/// End of the zone below 256 MiB.
const ZONE_28: u64 = 0x1_0000;
/// End of the zone below 4 GiB.
const ZONE_32: u64 = 0x10_0000;
/// End of simulated RAM (64 GiB).
const RAM_END: u64 = 0x100_0000;

/// Identifies a block.
pub(crate) type BlockId = u64;

/// Where the pages of a new block go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Each page anywhere in RAM, chosen by the seed (the default for I/O buffers).
    Scattered,
    /// Physically contiguous, below the given bus address limit (common buffers, bounce pools).
    ContiguousBelow(u64),
}

/// A page-aligned host allocation with a PFN per page.
pub(crate) struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    pfns: Vec<u64>,
}

impl Block {
    /// Host address of the first byte.
    pub(crate) const fn va(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// PFN of page `index`.
    pub(crate) fn pfn(&self, index: usize) -> Option<u64> {
        self.pfns.get(index).copied()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `alloc_zeroed(self.layout)` and is freed only here.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// The machine's physical memory.
pub(crate) struct PhysMem {
    blocks: HashMap<BlockId, Block>,
    frames: BTreeMap<u64, (BlockId, usize)>,
    next_block: BlockId,
}

impl PhysMem {
    pub(crate) fn new() -> Self {
        Self {
            blocks: HashMap::new(),
            frames: BTreeMap::new(),
            next_block: 1,
        }
    }

    /// Allocates a zeroed block of at least `len` bytes (at least one page).
    pub(crate) fn alloc(&mut self, len: usize, placement: Placement, rng: &mut Rng) -> BlockId {
        let pages = len.div_ceil(4096).max(1);
        let layout = Layout::from_size_align(pages * 4096, 4096)
            .unwrap_or_else(|_| Layout::new::<[u8; 4096]>());
        // SAFETY: `layout` has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout)
        };
        let pfns = self.pick_frames(pages, placement, rng);
        let id = self.next_block;
        self.next_block += 1;
        for (index, pfn) in pfns.iter().enumerate() {
            self.frames.insert(*pfn, (id, index));
        }
        self.blocks.insert(id, Block { ptr, layout, pfns });
        id
    }

    /// Frees a block; its frames become free.
    pub(crate) fn free(&mut self, id: BlockId) {
        if let Some(block) = self.blocks.remove(&id) {
            for pfn in &block.pfns {
                self.frames.remove(pfn);
            }
        }
    }

    pub(crate) fn block(&self, id: BlockId) -> Option<&Block> {
        self.blocks.get(&id)
    }

    /// Number of blocks alive (for leak checks).
    pub(crate) fn live_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Number of page frames in use.
    pub(crate) fn live_frames(&self) -> usize {
        self.frames.len()
    }

    fn is_free_run(&self, start: u64, pages: u64) -> bool {
        self.frames.range(start..start + pages).next().is_none()
    }

    fn pick_frames(&self, pages: usize, placement: Placement, rng: &mut Rng) -> Vec<u64> {
        let count = pages as u64;
        match placement {
            Placement::Scattered => {
                let mut out: Vec<u64> = Vec::with_capacity(pages);
                while out.len() < pages {
                    // One page in three below 256 MiB, one in three below 4 GiB, the rest above.
                    let zone = rng.below(3);
                    let (lo, hi) = match zone {
                        0 => (LOW_START, ZONE_28),
                        1 => (ZONE_28, ZONE_32),
                        _ => (ZONE_32, RAM_END),
                    };
                    let pfn = lo + rng.below(hi - lo);
                    // Occasionally keep the next page adjacent, so contiguous runs also occur.
                    let pfn = match out.last() {
                        Some(prev) if rng.below(4) == 0 => prev + 1,
                        _ => pfn,
                    };
                    if !self.frames.contains_key(&pfn) && !out.contains(&pfn) && pfn < RAM_END {
                        out.push(pfn);
                    }
                }
                out
            }
            Placement::ContiguousBelow(limit) => {
                let top = (limit / PAGE).clamp(LOW_START + count, RAM_END);
                self.contiguous(count, LOW_START, top, rng)
            }
        }
    }

    fn contiguous(&self, count: u64, lo: u64, hi: u64, rng: &mut Rng) -> Vec<u64> {
        let span = hi.saturating_sub(lo + count).max(1);
        let mut start = lo + rng.below(span);
        for _ in 0..span {
            if start + count > hi {
                start = lo;
            }
            if self.is_free_run(start, count) {
                return (start..start + count).collect();
            }
            start += count;
        }
        // Memory this full does not happen in the simulator's sizes; fall back to the top.
        (hi - count..hi).collect()
    }

    /// Translates a bus address to a host pointer valid for `len` bytes within one page.
    fn frame_ptr(&self, addr: u64, len: u64) -> Option<*mut u8> {
        let pfn = addr / PAGE;
        let offset = addr % PAGE;
        if offset + len > PAGE {
            return None;
        }
        let (block, index) = self.frames.get(&pfn)?;
        let block = self.blocks.get(block)?;
        // `index < pages` and `offset + len <= PAGE`: inside the block.
        let byte = (index * 4096) + usize::try_from(offset).ok()?;
        Some(block.va().wrapping_add(byte))
    }

    /// Copies between a bus range and host memory, page by page.
    ///
    /// # Errors
    /// The first address with no memory behind it.
    fn bus_copy(
        &self,
        addr: u64,
        len: usize,
        mut each: impl FnMut(*mut u8, usize, usize),
    ) -> Result<(), BusFault> {
        let mut done = 0usize;
        while done < len {
            let at = addr + done as u64;
            let chunk = usize::try_from((PAGE - at % PAGE).min((len - done) as u64)).unwrap_or(0);
            let ptr = self
                .frame_ptr(at, chunk as u64)
                .ok_or(BusFault { addr: at })?;
            each(ptr, done, chunk);
            done += chunk;
        }
        Ok(())
    }

    /// Reads bytes at a bus address.
    ///
    /// # Errors
    /// The first address with no memory behind it.
    pub(crate) fn read_bus(&self, addr: u64, buf: &mut [u8]) -> Result<(), BusFault> {
        let out = buf.as_mut_ptr();
        self.bus_copy(addr, buf.len(), |src, at, n| {
            // SAFETY: `src` is valid for `n` bytes inside a live block (`frame_ptr`), and
            // `out + at .. + n` lies inside `buf`; the two never overlap (the caller's buffer is
            // not simulated memory).
            unsafe { std::ptr::copy_nonoverlapping(src, out.wrapping_add(at), n) };
        })
    }

    /// Writes bytes at a bus address.
    ///
    /// # Errors
    /// The first address with no memory behind it.
    pub(crate) fn write_bus(&self, addr: u64, data: &[u8]) -> Result<(), BusFault> {
        let src = data.as_ptr();
        self.bus_copy(addr, data.len(), |dst, at, n| {
            // SAFETY: as in `read_bus`, with the roles of the two ranges swapped.
            unsafe { std::ptr::copy_nonoverlapping(src.wrapping_add(at), dst, n) };
        })
    }

    /// Copies `len` bytes from one block range to another (bounce copies).
    pub(crate) fn copy_blocks(
        &self,
        from: (BlockId, usize),
        to: (BlockId, usize),
        len: usize,
    ) -> bool {
        let (Some(a), Some(b)) = (self.blocks.get(&from.0), self.blocks.get(&to.0)) else {
            return false;
        };
        if from.1 + len > a.layout.size() || to.1 + len > b.layout.size() {
            return false;
        }
        // SAFETY: both ranges were checked to lie inside live blocks; distinct blocks never
        // overlap, and bounce copies are always between distinct blocks.
        unsafe { std::ptr::copy(a.va().wrapping_add(from.1), b.va().wrapping_add(to.1), len) };
        true
    }

    /// Reads `len` bytes of a block at `offset` (test and harness access).
    pub(crate) fn read_block(&self, id: BlockId, offset: usize, len: usize) -> Option<Vec<u8>> {
        let block = self.blocks.get(&id)?;
        if offset.checked_add(len)? > block.layout.size() {
            return None;
        }
        let mut out = vec![0u8; len];
        // SAFETY: the range was checked to lie inside the live block; `out` is a fresh Vec.
        unsafe {
            std::ptr::copy_nonoverlapping(block.va().wrapping_add(offset), out.as_mut_ptr(), len);
        };
        Some(out)
    }

    /// Writes bytes into a block at `offset`.
    pub(crate) fn write_block(&self, id: BlockId, offset: usize, data: &[u8]) -> bool {
        let Some(block) = self.blocks.get(&id) else {
            return false;
        };
        if offset + data.len() > block.layout.size() {
            return false;
        }
        // SAFETY: the range was checked to lie inside the live block.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                block.va().wrapping_add(offset),
                data.len(),
            );
        };
        true
    }

    /// Bus address of byte `offset` of a block.
    pub(crate) fn bus_addr(&self, id: BlockId, offset: usize) -> Option<u64> {
        let block = self.blocks.get(&id)?;
        let pfn = block.pfn(offset / 4096)?;
        Some(pfn * PAGE + (offset % 4096) as u64)
    }
}

/// Bus view of physical memory for the device models.
///
/// Accesses outside the windows the framework has mapped for the device (its mapped transfers
/// and common buffers) are recorded as strays: the device touched memory the driver no longer
/// lent it.
pub(crate) struct Bus<'a> {
    mem: &'a PhysMem,
    windows: Option<&'a [(u64, u64)]>,
    /// `(address, length, write)` of each access outside every window.
    pub(crate) strays: Vec<(u64, usize, bool)>,
}

impl<'a> Bus<'a> {
    /// A bus whose accesses are checked against `windows` (`(start, length)` ranges), or not
    /// checked at all (`None`).
    pub(crate) const fn checked(mem: &'a PhysMem, windows: Option<&'a [(u64, u64)]>) -> Self {
        Self {
            mem,
            windows,
            strays: Vec::new(),
        }
    }

    fn check(&mut self, addr: u64, len: usize, write: bool) {
        let Some(windows) = self.windows else {
            return;
        };
        let end = addr.saturating_add(len as u64);
        let inside = len == 0
            || windows
                .iter()
                .any(|&(start, length)| addr >= start && end <= start.saturating_add(length));
        if !inside {
            self.strays.push((addr, len, write));
        }
    }
}

impl DmaBus for Bus<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), BusFault> {
        self.check(addr, buf.len(), false);
        self.mem.read_bus(addr, buf)
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), BusFault> {
        self.check(addr, data.len(), true);
        self.mem.write_bus(addr, data)
    }
}

//! The edu interrupt: the ISR acknowledges and records causes, the DPC acts on them.

use kmdf_safe::atomic::Ordering;

use crate::context::{DeviceContext, IsrState};
use crate::regs;
use kmdf_safe::interrupt::{Claim, Interrupt, InterruptHandler};
use kmdf_safe::irql::{Dirql, Dispatch};

impl InterruptHandler for DeviceContext {
    type Shared = IsrState;

    fn isr(&self, _shared: &mut IsrState, _message: u32, _cx: &Dirql<'_>) -> Claim {
        let Some(hw) = self.hw.get() else {
            return Claim::NotMine;
        };
        if !self.latch_causes(&hw.bar) {
            return Claim::NotMine;
        }
        self.isr.claimed.fetch_add(1, Ordering::Relaxed);
        Claim::QueueDpc
    }

    fn dpc(&self, _interrupt: &Interrupt<IsrState>, cx: &mut Dispatch<'_>) {
        // Everything the ISR recorded since the last DPC (several ISRs may share one DPC).
        let claimed = self.isr.claimed.swap(0, Ordering::AcqRel);
        let _recheck = self.edu_command_done(claimed, None, cx);
    }
}

impl DeviceContext {
    /// Reads the edu's pending causes, acknowledges them at once (with INTx the line stays
    /// asserted until every cause is cleared) and records them for the DPC. False when nothing
    /// is pending or the device is gone (all ones): not this device's interrupt. Runs in the
    /// ISR or under the interrupt lock.
    pub(crate) fn latch_causes(&self, bar: &kmdf_safe::mmio::Bar) -> bool {
        let causes = bar.read::<regs::InterruptStatus>().0;
        if causes == 0 || causes == u32::MAX {
            return false;
        }
        bar.write(regs::InterruptAck(causes));
        self.isr.causes.fetch_or(causes, Ordering::AcqRel);
        true
    }

    /// Consumes a recorded "DMA done" cause: true at most once per cause.
    pub(crate) fn take_dma_done(&self) -> bool {
        self.isr
            .causes
            .fetch_and(!regs::CAUSE_DMA, Ordering::AcqRel)
            & regs::CAUSE_DMA
            != 0
    }
}

//! The edu interrupt: the ISR acknowledges and records causes, the DPC acts on them.

use core::sync::atomic::Ordering;

use crate::context::{DeviceContext, IsrState};
use crate::regs;
use crate::wdf::interrupt::{Claim, Interrupt, InterruptHandler};
use crate::wdf::irql::{Dirql, Dispatch};

impl InterruptHandler for DeviceContext {
    type Shared = IsrState;

    fn isr(&self, _shared: &mut IsrState, _message: u32, _cx: &Dirql<'_>) -> Claim {
        let Some(hw) = self.hw.get() else {
            return Claim::NotMine;
        };
        let causes = hw.bar.read::<regs::InterruptStatus>().0;
        // Nothing pending, or the device is gone (all ones): not this device's interrupt.
        if causes == 0 || causes == u32::MAX {
            return Claim::NotMine;
        }
        // Acknowledge at once: with INTx the line stays asserted until every cause is cleared.
        hw.bar.write(regs::InterruptAck(causes));
        self.isr.causes.fetch_or(causes, Ordering::AcqRel);
        self.isr.claimed.fetch_add(1, Ordering::Relaxed);
        Claim::QueueDpc
    }

    fn dpc(&self, _interrupt: &Interrupt<IsrState>, cx: &Dispatch<'_>) {
        // Everything the ISR recorded since the last DPC (several ISRs may share one DPC).
        let claimed = self.isr.claimed.swap(0, Ordering::AcqRel);
        let causes = self
            .isr
            .causes
            .fetch_and(!regs::CAUSE_DMA, Ordering::AcqRel);
        // The cause says "a command finished", not which: only an idle engine confirms the
        // command in flight is done (a late interrupt of an earlier command is ignored).
        let done = causes & regs::CAUSE_DMA != 0
            && self
                .hw
                .get()
                .is_some_and(|hw| hw.bar.read::<regs::DmaCommand>().0 & regs::cmd::RUN == 0);
        if done {
            self.edu_command_done(claimed, cx);
        } else if claimed > 0 {
            self.io.lock(cx).stats.interrupts += claimed;
        }
    }
}

//! The edu interrupt: the ISR acknowledges and records causes, the DPC acts on them.

use crate::context::{DeviceContext, IsrState};
use crate::regs;
use crate::wdf::interrupt::{Claim, Interrupt, InterruptHandler};
use crate::wdf::irql::{Dirql, Dispatch};

impl InterruptHandler for DeviceContext {
    type Shared = IsrState;

    fn isr(&self, shared: &mut IsrState, _message: u32, _cx: &Dirql<'_>) -> Claim {
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
        shared.causes |= causes;
        shared.claimed += 1;
        Claim::QueueDpc
    }

    fn dpc(&self, interrupt: &Interrupt<IsrState>, cx: &Dispatch<'_>) {
        // Take everything the ISR recorded since the last DPC, under the interrupt lock, and
        // act on it after releasing the lock (DMA DDIs are not allowed above DISPATCH_LEVEL).
        let (causes, claimed) = {
            let mut shared = interrupt.lock(cx);
            let taken = (shared.causes, shared.claimed);
            *shared = IsrState::default();
            taken
        };
        self.io.lock(cx).stats.interrupts += claimed;
        if causes & regs::CAUSE_DMA == 0 {
            return;
        }
        // The cause says "a command finished", not which: only an idle engine confirms the
        // command in flight is done (a late interrupt of an earlier command is ignored).
        let idle = self
            .hw
            .get()
            .is_some_and(|hw| hw.bar.read::<regs::DmaCommand>().0 & regs::cmd::RUN == 0);
        if idle {
            self.edu_command_done(cx);
        }
    }
}

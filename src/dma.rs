//! The DMA path, both personalities and both directions in one place.
//!
//! `EvtProgramDma` → the device moves one transfer → completion (interrupt DPC, the system
//! DMA controller's transfer-complete callback, or the watchdog) → `DmaCompleted*` → the next
//! transfer or the end of the transaction → the request completes with
//! `WdfDmaTransactionGetBytesTransferred`.

use crate::context::{
    DeviceContext, EduCommand, EndReason, OpKind, Personality, Programmed as Work,
};
use crate::regs::{self, cmd, ctrl};
use kmdf_safe::Error;
use kmdf_safe::dma::{
    ChannelCore, Completion, Direction, DmaHandler, Finished, Programmed, Progress,
    SystemDmaStatus, Transfer,
};
use kmdf_safe::irql::{Dispatch, TrueAtDispatch};

/// Maps a framework status to one the application may see (KMDF would otherwise translate
/// facility-0x20 statuses to `STATUS_INVALID_DEVICE_REQUEST` itself, §5.2).
#[must_use]
pub const fn map_framework(error: Error) -> Error {
    if error.is_framework_private() {
        Error::DEVICE_DATA_ERROR
    } else {
        error
    }
}

/// What the watchdog hands [`DeviceContext::edu_command_done`] for a transfer it judged
/// stalled with the engine idle.
pub struct Stalled<'a> {
    /// The transfer judged stalled ([`crate::context::Programmed::seq`]).
    pub seq: u64,
    /// The device interrupt, whose lock serialises the latching of causes with the ISR.
    pub interrupt: &'a kmdf_safe::interrupt::Interrupt<crate::context::IsrState>,
}

/// How `program_edu` left the engine.
enum EduStart {
    /// The command is running; it moves this many bytes.
    Running(usize),
    /// The engine still runs a command that timed out; this one waits for it.
    Waiting(EduCommand, usize),
}

impl DeviceContext {
    /// Reports the transfer the device finished (`Completion` chosen by the caller) and acts on
    /// what the framework says: nothing more (next transfer already programmed), or the end.
    pub fn complete_transfer(&self, how: Completion, cx: &impl TrueAtDispatch) {
        let Some(hw) = self.hw.get() else { return };
        match hw.personality.channel().completed(how, cx) {
            Progress::More | Progress::Idle | Progress::Handed => {}
            Progress::Done(finished) => self.transaction_done(finished, cx),
        }
    }

    /// A transaction ended: count its bytes, then start the loopback's second half or complete
    /// the request with the bytes transferred.
    pub fn transaction_done(&self, finished: Finished, cx: &impl TrueAtDispatch) {
        let Finished {
            request,
            status,
            bytes,
        } = finished;
        let (end, op) = {
            let mut io = self.io.lock(cx);
            io.programmed = None;
            // Bytes are counted per transaction and direction, whatever becomes of the request:
            // a loopback's write half reached the device even if its read half fails.
            let moved = bytes as u64;
            match io.op.map(|op| op.kind) {
                Some(OpKind::Read | OpKind::LoopbackRead) => io.stats.bytes_read += moved,
                Some(OpKind::Write | OpKind::LoopbackWrite) => io.stats.bytes_written += moved,
                None => {}
            }
            (io.end, io.op)
        };
        let kind = op.map(|op| op.kind);
        let complete = op.is_some_and(|op| bytes == op.length);
        let result = match (end, status) {
            // Cancelled during the last transfer: everything moved, so the request succeeded
            // (a loopback's write half still stops there).
            (Some(EndReason::Cancelled), Ok(()))
                if complete && kind != Some(OpKind::LoopbackWrite) =>
            {
                Ok(())
            }
            (Some(reason), _) => Err(reason.error()),
            (None, Ok(())) => Ok(()),
            (None, Err(error)) => Err(map_framework(error)),
        };
        match (op, result) {
            (Some(op), Ok(())) if op.kind == OpKind::LoopbackWrite => {
                self.start_dma(request, OpKind::LoopbackRead, 0, op.length, cx);
            }
            // A loopback that ends in its write half returns nothing to the caller.
            (Some(op), result) if op.kind == OpKind::LoopbackWrite => {
                self.finish_request(request, result, 0, cx);
            }
            (_, result) => self.finish_request(request, result, bytes, cx),
        }
    }

    /// Asks the operation in flight to end at the next transfer boundary; for system DMA,
    /// stops the controller now. Safe to call when nothing is in flight. Takes no lock across
    /// the channel's DDIs: stopping a system transfer may deliver its notification (and so
    /// `transfer_complete`) before the call returns.
    pub fn end_early(&self, reason: EndReason, cx: &impl TrueAtDispatch) {
        self.end_early_if(reason, None, cx);
    }

    /// [`Self::end_early`], only while transfer `only` (if given) is still the one programmed.
    pub fn end_early_if(&self, reason: EndReason, only: Option<u64>, cx: &impl TrueAtDispatch) {
        let Some(hw) = self.hw.get() else { return };
        let channel = hw.personality.channel();
        let run = {
            let mut io = self.io.lock(cx);
            if io.op.is_none() || io.moved_on_from(only) {
                return;
            }
            io.end.get_or_insert(reason);
            // The run of this operation, named while the I/O lock says which operation it is:
            // by the time the end is asked for, it may have finished and the next request's
            // run begun on another processor. Between a loopback's halves there is no run:
            // the next EvtProgramDma sees the end reason.
            channel.current_run(io.cx())
        };
        // The channel cancels (before any transfer), stops (system DMA) or leaves the end to
        // the next completion, whichever is legal at this moment.
        if let Some(run) = run
            && let Some(finished) = channel.request_end(run, cx)
        {
            self.transaction_done(finished, cx);
        }
    }

    /// Completes the edu command in flight if the device reported it done: the "DMA done"
    /// cause is consumed, the engine confirmed idle and the transfer taken in one critical
    /// section of the I/O lock, so the DPC and the watchdog (on other processors) agree on who
    /// completes it, and neither takes a cause without acting on it. `interrupts` counts the
    /// interrupts that reported it (the DPC).
    ///
    /// The watchdog passes `stalled`: the transfer it judged (nothing happens unless it is
    /// still the one programmed), the interrupt whose lock keeps the ISR off the status
    /// registers while pending causes are latched, and what to do when the idle engine never
    /// reported the command: it was dropped, so the transaction ends with the bytes of the
    /// transfers that did complete. That is concluded only when the watchdog sees the same
    /// transfer idle and unreported twice, `cancel::IDLE_CONFIRM_MS` apart (a cause may be raised a
    /// little after the engine goes idle); returns true when the watchdog should look again
    /// that soon.
    pub fn edu_command_done(
        &self,
        interrupts: u64,
        stalled: Option<&Stalled<'_>>,
        cx: &mut Dispatch<'_>,
    ) -> bool {
        let Some(hw) = self.hw.get() else {
            return false;
        };
        if let Some(stalled) = stalled {
            // Pending causes the ISR has not seen move into the record, with the ISR kept off
            // the status registers meanwhile. (A cause latched here that turns out to be a
            // later command's stays in the record for the DPC or the next look.)
            let _lock = stalled.interrupt.lock(cx);
            let _latched = self.latch_causes(&hw.bar);
        }
        let how = {
            let mut io = self.io.lock(cx);
            io.stats.interrupts += interrupts;
            if io.moved_on_from(stalled.map(|stalled| stalled.seq)) {
                // Another processor completed it (and maybe programmed the next).
                return false;
            }
            let done = self.take_dma_done();
            // The cause says "a command finished", not which: only an idle engine confirms
            // the command in flight is done (a late interrupt of an earlier one is ignored).
            let idle = regs::engine(&hw.bar) == regs::Engine::Idle;
            if done && !idle {
                // The engine already runs the next command: the cause was an earlier one's.
                return false;
            }
            if !done {
                match stalled {
                    None => return false,
                    Some(stalled) if io.unreported != Some(stalled.seq) => {
                        io.unreported = Some(stalled.seq);
                        return true;
                    }
                    Some(_) => {}
                }
            }
            let Some(work) = io.programmed.take() else {
                return false;
            };
            if done {
                io.stats.fragments += 1;
                io.progress += 1;
                how_to_complete(work, work.count, io.end.is_some())
            } else {
                // Idle, and no "DMA done" was ever raised: the command was dropped.
                kmdf_safe::log::warning!("timeout: edu dropped transfer {}", work.seq);
                io.end = Some(EndReason::Timeout);
                drop(io);
                // Stale causes would otherwise look like the next command's completion.
                regs::clear_causes(&hw.bar);
                Completion::Final(0)
            }
        };
        self.complete_transfer(how, cx);
        false
    }

    /// Programs one edu command for `transfer`, or parks it when a command that timed out
    /// still owns the engine (edu cannot be aborted; the watchdog starts it once idle).
    ///
    /// # Errors
    /// `STATUS_DEVICE_REMOVED` when the registers read all ones, `STATUS_DEVICE_BUSY` when the
    /// engine is busy although no earlier command timed out.
    fn program_edu(
        bar: &kmdf_safe::mmio::Bar,
        transfer: &Transfer<'_>,
        base: u32,
        ring_len: usize,
        suspect: bool,
    ) -> Result<EduStart, Error> {
        let engine = regs::engine(bar);
        if engine == regs::Engine::Removed {
            return Err(Error::DEVICE_REMOVED);
        }
        let ring = regs::ring_offset(base, transfer.offset, ring_len);
        let count = regs::until_wrap(ring, transfer.length, ring_len);
        let device = regs::EDU_BUFFER_BASE + ring as u64;
        let (source, destination, direction) = match transfer.direction {
            Direction::ToDevice => (transfer.address(), device, 0),
            Direction::FromDevice => (device, transfer.address(), cmd::TO_RAM),
        };
        let command = EduCommand {
            source,
            destination,
            count: count as u64,
            command: cmd::RUN | cmd::IRQ | direction,
        };
        if engine == regs::Engine::Busy {
            return if suspect {
                Ok(EduStart::Waiting(command, count))
            } else {
                Err(Error::DEVICE_BUSY)
            };
        }
        start_command(bar, command);
        Ok(EduStart::Running(count))
    }

    /// Points the FIFO peripheral at the ring and raises its DMA request line.
    ///
    /// # Errors
    /// `STATUS_DEVICE_REMOVED` when the peripheral no longer identifies itself.
    fn program_peripheral(
        bar: &kmdf_safe::mmio::Bar,
        transfer: &Transfer<'_>,
        base: u32,
        ring_len: usize,
    ) -> Result<usize, Error> {
        if bar.read::<regs::PeripheralId>().0 != regs::PERIPHERAL_ID {
            return Err(Error::DEVICE_REMOVED);
        }
        let ring = regs::ring_offset(base, transfer.offset, ring_len);
        let direction = if transfer.direction == Direction::FromDevice {
            ctrl::TO_MEMORY
        } else {
            0
        };
        bar.write(regs::PeripheralOffset(u32::try_from(ring).unwrap_or(0)));
        // Enabling the request line starts the controller (demand mode) and zeroes COUNT.
        bar.write(regs::PeripheralCtrl(ctrl::DREQ_ENABLE | direction));
        Ok(transfer.length)
    }
}

/// Writes the four DMA registers, the command last (it starts the engine).
pub fn start_command(bar: &kmdf_safe::mmio::Bar, command: EduCommand) {
    bar.write(regs::DmaSource(command.source));
    bar.write(regs::DmaDestination(command.destination));
    bar.write(regs::DmaCount(command.count));
    bar.write(regs::DmaCommand(command.command));
}

/// Chooses the `DmaCompleted*` form for a finished device command.
#[must_use]
pub const fn how_to_complete(work: Work, moved: usize, ending: bool) -> Completion {
    if ending {
        Completion::Final(moved)
    } else if moved < work.length {
        Completion::WithLength(moved)
    } else {
        Completion::Full
    }
}

impl DmaHandler for DeviceContext {
    fn dma_channel(&self) -> Option<&ChannelCore> {
        self.hw.get().map(|hw| hw.personality.channel())
    }

    fn program(&self, transfer: &Transfer<'_>, cx: &Dispatch<'_>) -> Programmed {
        let Some(hw) = self.hw.get() else {
            return Programmed::Abort(Error::DEVICE_NOT_READY);
        };
        let mut io = self.io.lock(cx);
        if let Some(reason) = io.end {
            return Programmed::Abort(reason.error());
        }
        let base = io.op.map_or(0, |op| op.base);
        let started = match &hw.personality {
            Personality::BusMaster { .. } => {
                Self::program_edu(&hw.bar, transfer, base, hw.ring, io.engine_suspect)
            }
            Personality::System { .. } => {
                Self::program_peripheral(&hw.bar, transfer, base, hw.ring).map(EduStart::Running)
            }
        };
        match started {
            Ok(start) => {
                let (count, waiting) = match start {
                    EduStart::Running(count) => (count, false),
                    EduStart::Waiting(command, count) => {
                        io.deferred = Some(command);
                        io.recovery_polls = 0;
                        (count, true)
                    }
                };
                io.programs += 1;
                io.programmed = Some(Work {
                    count,
                    length: transfer.length,
                    seq: io.programs,
                });
                drop(io);
                if waiting {
                    self.recovery_armed
                        .store(true, kmdf_safe::atomic::Ordering::Release);
                    // Poll the engine more often than the watchdog's period until it is idle.
                    self.poll_recovering_engine(cx);
                }
                Programmed::Started
            }
            Err(error) => {
                kmdf_safe::log::warning!("program DMA failed: {error:?}");
                let removed = error == Error::DEVICE_REMOVED;
                io.removed |= removed;
                if matches!(hw.personality, Personality::System { .. }) {
                    // The channel stops the mapped transfer; its completion reports why.
                    io.end.get_or_insert(if removed {
                        EndReason::Removed
                    } else {
                        EndReason::DeviceError
                    });
                }
                Programmed::Abort(error)
            }
        }
    }

    fn aborted(&self, finished: Finished, cx: &Dispatch<'_>) {
        self.transaction_done(finished, cx);
    }

    fn transfer_complete(&self, status: SystemDmaStatus, cx: &Dispatch<'_>) {
        let Some(hw) = self.hw.get() else { return };
        // A removed peripheral reads all ones: it confirms nothing of this transfer.
        let count = hw.bar.read::<regs::PeripheralCount>().0;
        let moved = if count == u32::MAX { 0 } else { count as usize };
        hw.bar.write(regs::PeripheralCtrl(0));
        let how = {
            let mut io = self.io.lock(cx);
            if matches!(status, SystemDmaStatus::Error | SystemDmaStatus::Aborted) {
                kmdf_safe::log::warning!("system DMA ended {status:?}, {moved} bytes");
                io.end.get_or_insert(EndReason::DeviceError);
            }
            match io.programmed.take() {
                Some(work) => {
                    io.stats.fragments += 1;
                    io.progress += 1;
                    // The peripheral counts what really went through its data port.
                    how_to_complete(
                        work,
                        moved.min(work.length),
                        io.end.is_some() || status == SystemDmaStatus::Cancelled,
                    )
                }
                // Every notification is answered with one DmaCompleted*: this one is for a
                // transfer the driver never started (its EvtProgramDma aborted, or a stop won
                // before the first mapping and KMDF made up the notification, §3.1). Nothing
                // of it moved.
                None => Completion::Final(0),
            }
        };
        self.complete_transfer(how, cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_statuses_are_mapped_before_completion() {
        let too_fragmented = Error::from_raw(0xC020_020A_u32.cast_signed()).unwrap();
        assert_eq!(map_framework(too_fragmented), Error::DEVICE_DATA_ERROR);
        assert_eq!(map_framework(Error::CANCELLED), Error::CANCELLED);
    }

    #[test]
    fn completion_form_follows_what_the_device_moved() {
        let work = Work {
            count: 4096,
            length: 4096,
            seq: 1,
        };
        assert_eq!(how_to_complete(work, 4096, false), Completion::Full);
        assert_eq!(
            how_to_complete(
                Work {
                    count: 96,
                    length: 4096,
                    seq: 1,
                },
                96,
                false
            ),
            Completion::WithLength(96)
        );
        assert_eq!(how_to_complete(work, 4096, true), Completion::Final(4096));
        assert_eq!(how_to_complete(work, 0, true), Completion::Final(0));
    }
}

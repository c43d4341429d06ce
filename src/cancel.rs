//! Cancellation and the watchdog.
//!
//! A request is cancelable from the moment its DMA starts. Cancellation never completes the
//! request behind the DMA path's back: it marks the operation to end early and then
//! - wins outright if the transaction still waits for map registers (`WdfDmaTransactionCancel`
//!   returns TRUE: no transfer was programmed, 0 bytes moved);
//! - for system-mode DMA, stops the controller (`WdfDmaTransactionStopSystemTransfer`); the
//!   transfer-complete callback then ends the transaction with `DmaCompletedFinal` at the
//!   count the peripheral really moved;
//! - for the edu engine, which cannot be aborted, lets the command in flight finish (at most
//!   100 ms, bounded by the watchdog); its completion then ends the transaction with
//!   `DmaCompletedFinal`.
//!
//! The request completes with `STATUS_CANCELLED` and the bytes transferred. When its cancel
//! callback is still due to run, the completion waits for it (see `io::finish_request`).

use crate::context::{DeviceContext, EndReason, Personality};
use crate::regs;
use kmdf_safe::dma::Completion;
use kmdf_safe::irql::{AtMostDispatch, Dispatch, UpToDispatch};
use kmdf_safe::request::{CancelledRequest, RequestCancel};
use kmdf_safe::timer::TimerHandler;

/// Watchdog period: a request in flight must complete a transfer within it (ten times edu's
/// 100 ms per command).
pub const WATCHDOG_MS: u32 = 1_000;
/// How long a tick must find a transfer without progress before judging it (100 ns units).
///
/// `KeQueryUnbiasedInterruptTime`'s units, three quarters of [`WATCHDOG_MS`]. A timer
/// may expire up to a clock tick early by that clock, and a tick that fires a hair before a
/// whole period must still judge; a tick that fired for the previous request and ran late finds
/// the next request's period only milliseconds old.
const PERIOD_FLOOR_100NS: u64 = 7_500_000;
const _: () = assert!(PERIOD_FLOOR_100NS * 4 == WATCHDOG_MS as u64 * 10_000 * 3);
/// Poll period while a command waits for an engine that timed out earlier.
pub const RECOVERY_POLL_MS: u32 = 50;
/// Polls before giving up on such an engine (2 s).
pub const RECOVERY_POLLS: u32 = 40;
/// How long the watchdog waits before it concludes that an idle engine dropped a command it
/// never reported (a late "DMA done" gets this long to appear).
pub const IDLE_CONFIRM_MS: u32 = 500;

impl RequestCancel for DeviceContext {
    fn cancel(&self, request: CancelledRequest<'_>, cx: &mut UpToDispatch<'_>) {
        kmdf_safe::log::trace!("cancel callback: ending the DMA in flight");
        // Ends the operation in flight, if any (nothing when the DMA path already finished).
        self.end_early(EndReason::Cancelled, cx);
        // Whichever of this callback and the DMA path comes last completes the request. If the
        // DMA path finished first (before this callback was called, or inside `end_early` when
        // the cancel won outright) it parked the completion: make it now. Otherwise leave a
        // mark for `finish_request`.
        let ran = request.into_ran();
        let due = self.io.lock(cx).rendezvous.callback_arrives(ran);
        if let Some(due) = due {
            let completed = due.complete(cx);
            // One request at a time: the parked request is the one being cancelled.
            debug_assert!(completed.is_ok(), "cancel proof of another request");
        }
    }
}

impl TimerHandler for DeviceContext {
    fn timer(&self, cx: &mut Dispatch<'_>) {
        let Some(hw) = self.hw.get() else {
            return;
        };
        if let Personality::BusMaster { .. } = hw.personality
            && self.resume_deferred(&hw.bar, cx)
        {
            return;
        }
        let now = kmdf_safe::timer::unbiased_interrupt_time();
        let stalled = {
            let mut io = self.io.lock(cx);
            if io.op.is_none() {
                return;
            }
            if io.progress != io.progress_seen {
                io.watched_since = now;
            }
            // No progress for a whole period, measured: this tick may have fired for the
            // request before and run late (its processor held up) while that request finished
            // and this one started; its period then began after `now` was read, or only just.
            let period_over = now.saturating_sub(io.watched_since) >= PERIOD_FLOOR_100NS;
            // The transfer judged stalled, by number: by the time the watchdog acts on it,
            // another processor may have completed it and programmed the next one.
            let stalled = io
                .programmed
                .filter(|_| io.progress == io.progress_seen && period_over)
                .map(|work| work.seq);
            io.progress_seen = io.progress;
            stalled
        };
        let period = match stalled {
            Some(seq) => self.stalled(hw, seq, cx),
            None => WATCHDOG_MS,
        };
        // Keep watching until the request completes (completion cancels the timer).
        if self.io.lock(cx).op.is_some() {
            let _was_queued = self.watchdog.start_ms(period, cx);
        }
    }
}

impl DeviceContext {
    /// Arms the watchdog for the next poll of an edu engine that timed out earlier, which a
    /// command programmed by the DMA path now waits for ([`RECOVERY_POLL_MS`]).
    pub fn poll_recovering_engine(&self, cx: &impl AtMostDispatch) {
        let _was_queued = self.watchdog.start_ms(RECOVERY_POLL_MS, cx);
    }

    /// Transfer `seq` made no progress for a whole watchdog period. Returns the period after
    /// which the watchdog looks again. Every action re-checks, under the I/O lock, that `seq` is
    /// still the transfer programmed.
    fn stalled(&self, hw: &crate::context::Hardware, seq: u64, cx: &mut Dispatch<'_>) -> u32 {
        // A second look at an idle, unreported transfer (see [`IDLE_CONFIRM_MS`]) is not
        // news.
        if self.io.lock(&*cx).unreported != Some(seq) {
            kmdf_safe::log::warning!("watchdog: transfer {seq} made no progress");
        }
        match &hw.personality {
            Personality::BusMaster { interrupt, .. } => match regs::engine(&hw.bar) {
                regs::Engine::Removed => self.abandon(EndReason::Removed, Some(seq), cx),
                regs::Engine::Busy => return self.busy_engine(seq, cx),
                regs::Engine::Idle => {
                    // The engine finished: either its "DMA done" never reached a DPC (lost
                    // interrupt), or the command was dropped.
                    let stalled = crate::dma::Stalled { seq, interrupt };
                    if self.edu_command_done(0, Some(&stalled), cx) {
                        return IDLE_CONFIRM_MS;
                    }
                }
            },
            Personality::System { .. } => {
                // Stop the controller; its completion ends the transaction at the real count.
                self.end_early_if(EndReason::Timeout, Some(seq), cx);
            }
        }
        WATCHDOG_MS
    }

    /// The edu engine still runs the transfer's command after a whole watchdog period. Until
    /// the command ends, the buffer (and the map registers behind it) belong to the device:
    /// ending the transaction now would let the command's late copy land in memory the driver
    /// gave back. So the request is marked to end with this command (no further transfers), and
    /// the engine is polled; when it finishes, its completion ends the transaction with the
    /// bytes it moved. Only after the recovery budget (2 s) does the driver give up on a
    /// command that never ends (edu cannot be aborted or reset); see the README's limits.
    fn busy_engine(&self, seq: u64, cx: &Dispatch<'_>) -> u32 {
        let give_up = {
            let mut io = self.io.lock(cx);
            if io.moved_on_from(Some(seq)) {
                // It finished meanwhile: the busy engine runs the next transfer.
                return WATCHDOG_MS;
            }
            io.end.get_or_insert(EndReason::Timeout);
            io.engine_suspect = true;
            io.recovery_polls += 1;
            io.recovery_polls > RECOVERY_POLLS
        };
        if give_up {
            kmdf_safe::log::error!("timeout: edu engine stuck on transfer {seq}");
            self.abandon(EndReason::Timeout, Some(seq), cx);
            WATCHDOG_MS
        } else {
            RECOVERY_POLL_MS
        }
    }

    /// Handles a command parked behind an engine that timed out: starts it once the engine is
    /// idle, polls again, or gives up after the recovery budget. True when a command was parked.
    fn resume_deferred(&self, bar: &kmdf_safe::mmio::Bar, cx: &Dispatch<'_>) -> bool {
        let mut io = self.io.lock(cx);
        let Some(command) = io.deferred else {
            return false;
        };
        if regs::engine(bar) == regs::Engine::Idle {
            // The engine recovered: stale causes are dropped, then the parked command starts.
            kmdf_safe::log::warning!("recovery: edu engine idle again");
            regs::clear_causes(bar);
            crate::dma::start_command(bar, command);
            io.deferred = None;
            io.engine_suspect = false;
            io.progress_seen = io.progress.wrapping_sub(1);
            drop(io);
            let _was_queued = self.watchdog.start_ms(WATCHDOG_MS, cx);
        } else if io.recovery_polls >= RECOVERY_POLLS || io.end.is_some() {
            io.deferred = None;
            // A parked command that was cancelled (or whose device went away) ends for that
            // reason; only one that outlived the recovery budget is a timeout.
            let reason = io.end.unwrap_or(EndReason::Timeout);
            drop(io);
            if reason == EndReason::Timeout {
                kmdf_safe::log::error!("timeout: edu engine stuck, command dropped");
            }
            self.abandon(reason, None, cx);
        } else {
            io.recovery_polls += 1;
            drop(io);
            let _was_queued = self.watchdog.start_ms(RECOVERY_POLL_MS, cx);
        }
        true
    }

    /// Gives up on the edu command in flight: it will never be reported, so the transaction
    /// ends now with the bytes of the transfers that did complete. With `only`, nothing
    /// happens unless that transfer is still the one programmed.
    fn abandon(&self, reason: EndReason, only: Option<u64>, cx: &Dispatch<'_>) {
        {
            let mut io = self.io.lock(cx);
            if io.moved_on_from(only) {
                return;
            }
            if io.programmed.take().is_none() {
                return;
            }
            kmdf_safe::log::warning!("transfer abandoned: {reason:?}");
            io.end = Some(reason);
            if reason == EndReason::Removed {
                io.removed = true;
            }
        }
        // Stale causes would otherwise look like the next command's completion.
        if let Some(hw) = self.hw.get()
            && reason != EndReason::Removed
        {
            regs::clear_causes(&hw.bar);
        }
        self.complete_transfer(Completion::Final(0), cx);
    }
}

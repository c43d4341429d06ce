//! Requests: validation of reads, writes and IOCTLs, the non-DMA IOCTLs, and the one place
//! where every request is completed.

use edu_api::{DeviceInfo, DmaAt, DmaMode, Statistics};

use crate::cancel::WATCHDOG_MS;
use crate::context::{DeviceContext, OpKind, Personality};
use crate::dma::map_framework;
use crate::regs;
use kmdf_safe::dma::Direction;
use kmdf_safe::irql::{AtMostDispatch, TrueAtDispatch, UpToDispatch};
use kmdf_safe::request::{CancelRendezvous, CancelledRequest, QueueHandler, StopAction};
use kmdf_safe::{Error, Request, Result, Status};

/// Largest transfer accepted, as in the I/O contract.
const MAX_TRANSFER: usize = edu_api::MAX_TRANSFER_LENGTH;

/// Validates a data length: non-zero and not above the contract's maximum.
///
/// # Errors
/// `STATUS_INVALID_PARAMETER` for 0, `STATUS_INVALID_BUFFER_SIZE` above the maximum.
pub const fn check_length(length: usize) -> Result {
    if length == 0 {
        Err(Error::INVALID_PARAMETER)
    } else if length > MAX_TRANSFER {
        Err(Error::INVALID_BUFFER_SIZE)
    } else {
        Ok(())
    }
}

/// Validates a `DmaAt` header; returns the offset.
///
/// # Errors
/// `STATUS_BUFFER_TOO_SMALL` for a short header, `STATUS_INVALID_PARAMETER` for an offset
/// outside the ring of `ring` bytes or a non-zero reserved field.
pub fn check_dma_at(input: &[u8], ring: usize) -> Result<u32> {
    let header = DmaAt::from_bytes(input).ok_or(Error::BUFFER_TOO_SMALL)?;
    if header.reserved != 0 || header.offset as usize >= ring {
        return Err(Error::INVALID_PARAMETER);
    }
    Ok(header.offset)
}

/// Validates loopback lengths: equal, between 1 and the ring length `ring`.
///
/// # Errors
/// `STATUS_INVALID_PARAMETER` otherwise.
pub const fn check_loopback(input_length: usize, output_length: usize, ring: usize) -> Result {
    if input_length == 0 || input_length > ring || output_length != input_length {
        Err(Error::INVALID_PARAMETER)
    } else {
        Ok(())
    }
}

impl DeviceContext {
    /// Completes a request, exactly once, and counts it. A request that was made cancelable
    /// is unmarked first; if its cancel callback has run or will run, the completion is made
    /// by whichever of the two comes last (`kmdf-dma-semantics.md` §4.2, pattern B).
    pub fn finish_request(
        &self,
        request: Request,
        result: Result,
        information: usize,
        cx: &impl TrueAtDispatch,
    ) {
        let status = Status::from(result);
        crate::driver::log_completion(status, information);
        {
            let mut io = self.io.lock(cx);
            count(&mut io.stats, status);
            io.op = None;
            io.programmed = None;
            io.end = None;
        }
        let _was_queued = self.watchdog.cancel(cx);
        let request = match request.unmark(cx) {
            Ok(request) => {
                request.complete_with_information(status, information, cx);
                return;
            }
            Err(pending) => pending,
        };
        let due = self
            .io
            .lock(cx)
            .rendezvous
            .completion_arrives(request, status, information);
        if let Some(due) = due {
            let completed = due.complete(cx);
            // One request at a time: the callback's proof is this request's.
            debug_assert!(completed.is_ok(), "cancel proof of another request");
        }
    }

    /// Starts a DMA operation for a request: marks it cancelable and executes the channel's
    /// transaction. Any failure completes the request.
    pub fn start_dma(
        &self,
        request: Request,
        kind: OpKind,
        base: u32,
        length: usize,
        cx: &impl TrueAtDispatch,
    ) {
        let Some(hw) = self.hw.get() else {
            self.finish_request(request, Err(Error::DEVICE_NOT_READY), 0, cx);
            return;
        };
        {
            let mut io = self.io.lock(cx);
            if io.removed {
                drop(io);
                self.finish_request(request, Err(Error::DEVICE_REMOVED), 0, cx);
                return;
            }
            io.op = Some(crate::context::Op { kind, base, length });
            io.programmed = None;
            io.progress = 0;
            io.progress_seen = 0;
            // Read under the lock: a late watchdog tick reads the I/O state only after this.
            io.watched_since = kmdf_safe::timer::unbiased_interrupt_time();
            io.recovery_polls = 0;
            if kind != OpKind::LoopbackRead {
                // A new request: its own cancellation state. (The loopback's second half keeps
                // the first half's, so a cancel between the halves is not lost.)
                io.end = None;
                io.rendezvous = CancelRendezvous::Open;
            }
        }
        let request = if kind == OpKind::LoopbackRead {
            request
        } else {
            match request.mark_cancelable::<Self>(cx) {
                Ok(request) => request,
                Err((request, error)) => {
                    self.finish_request(request, Err(error), 0, cx);
                    return;
                }
            }
        };
        let direction = match kind {
            OpKind::Read | OpKind::LoopbackRead => Direction::FromDevice,
            OpKind::Write | OpKind::LoopbackWrite => Direction::ToDevice,
        };
        self.recovery_armed
            .store(false, kmdf_safe::atomic::Ordering::Release);
        match hw.personality.channel().start(request, direction, cx) {
            Ok(None) => {
                // A first command parked inside Execute behind a busy engine has armed the
                // watchdog at the recovery period already: keep that one.
                if !self
                    .recovery_armed
                    .swap(false, kmdf_safe::atomic::Ordering::AcqRel)
                {
                    let _was_queued = self.watchdog.start_ms(WATCHDOG_MS, cx);
                }
            }
            // Cancelled while Execute ran, before any transfer.
            Ok(Some(finished)) => self.transaction_done(finished, cx),
            Err((request, error)) => self.finish_request(request, Err(map_framework(error)), 0, cx),
        }
    }

    /// The device information.
    ///
    /// # Errors
    /// `STATUS_DEVICE_NOT_READY` when the hardware is not prepared.
    fn info(&self, cx: &impl AtMostDispatch) -> Result<DeviceInfo> {
        let hw = self.hw.get().ok_or(Error::DEVICE_NOT_READY)?;
        let (mode, device_id, width, msi) = match &hw.personality {
            Personality::BusMaster { msi, .. } => (
                DmaMode::BusMaster,
                hw.bar.read::<regs::Identification>().0,
                regs::EDU_ADDRESS_BITS,
                u32::from(*msi),
            ),
            Personality::System { .. } => (
                DmaMode::System,
                hw.bar.read::<regs::PeripheralId>().0,
                32,
                0,
            ),
        };
        let enabler = hw.personality.enabler();
        Ok(DeviceInfo {
            api_version: edu_api::API_VERSION,
            device_id,
            dma_mode: mode as u32,
            address_width: width,
            max_transfer: u32::try_from(enabler.maximum_length(cx)).unwrap_or(u32::MAX),
            fragment_length: u32::try_from(enabler.fragment_length(Direction::FromDevice, cx))
                .unwrap_or(u32::MAX),
            buffer_size: u32::try_from(hw.ring).unwrap_or(edu_api::DEVICE_BUFFER_SIZE),
            msi,
        })
    }

    /// Copies `bytes` into the output buffer and completes with their length.
    fn reply(&self, mut request: Request, bytes: &[u8], cx: &impl TrueAtDispatch) {
        let result = request.output_buffer(bytes.len(), cx).map(|out| {
            if let Some(slot) = out.get_mut(..bytes.len()) {
                slot.copy_from_slice(bytes);
            }
        });
        let length = if result.is_ok() { bytes.len() } else { 0 };
        self.finish_request(request, result, length, cx);
    }

    /// Clears stale interrupt causes and the statistics.
    ///
    /// # Errors
    /// `STATUS_DEVICE_NOT_READY` when the hardware is not prepared.
    fn reset(&self, cx: &impl TrueAtDispatch) -> Result {
        let hw = self.hw.get().ok_or(Error::DEVICE_NOT_READY)?;
        if let Personality::BusMaster { .. } = hw.personality {
            regs::clear_causes(&hw.bar);
        }
        self.io.lock(cx).stats = Statistics::default();
        kmdf_safe::log::info!("IOCTL reset: causes and statistics cleared");
        Ok(())
    }
}

/// Counts a completed request by its status. (Bytes are counted per transaction, in
/// `transaction_done`.)
fn count(counters: &mut Statistics, status: Status) {
    counters.requests += 1;
    match status.ok() {
        Ok(()) => {}
        Err(Error::CANCELLED) => counters.cancelled += 1,
        Err(Error::IO_TIMEOUT) => counters.timeouts += 1,
        Err(_) => counters.errors += 1,
    }
}

impl QueueHandler for DeviceContext {
    fn read(&self, request: Request, length: usize, cx: &mut UpToDispatch<'_>) {
        match check_length(length) {
            Ok(()) => self.start_dma(request, OpKind::Read, 0, length, cx),
            Err(error) => self.finish_request(request, Err(error), 0, cx),
        }
    }

    fn write(&self, request: Request, length: usize, cx: &mut UpToDispatch<'_>) {
        match check_length(length) {
            Ok(()) => self.start_dma(request, OpKind::Write, 0, length, cx),
            Err(error) => self.finish_request(request, Err(error), 0, cx),
        }
    }

    fn device_control(
        &self,
        mut request: Request,
        code: u32,
        input_length: usize,
        output_length: usize,
        cx: &mut UpToDispatch<'_>,
    ) {
        match code {
            edu_api::IOCTL_EDU_GET_INFO => match self.info(cx) {
                Ok(info) => self.reply(request, &info.to_bytes(), cx),
                Err(error) => self.finish_request(request, Err(error), 0, cx),
            },
            edu_api::IOCTL_EDU_GET_STATS => {
                let stats = self.io.lock(cx).stats;
                self.reply(request, &stats.to_bytes(), cx);
            }
            edu_api::IOCTL_EDU_RESET => {
                let result = self.reset(cx);
                self.finish_request(request, result, 0, cx);
            }
            edu_api::IOCTL_EDU_DMA_WRITE_AT | edu_api::IOCTL_EDU_DMA_READ_AT => {
                let checked = request
                    .input_buffer(DmaAt::SIZE, cx)
                    .and_then(|input| check_dma_at(input, self.ring_len()))
                    .and_then(|offset| check_length(output_length).map(|()| offset));
                let kind = if code == edu_api::IOCTL_EDU_DMA_WRITE_AT {
                    OpKind::Write
                } else {
                    OpKind::Read
                };
                match checked {
                    Ok(offset) => self.start_dma(request, kind, offset, output_length, cx),
                    Err(error) => self.finish_request(request, Err(error), 0, cx),
                }
            }
            edu_api::IOCTL_EDU_LOOPBACK => {
                match check_loopback(input_length, output_length, self.ring_len()) {
                    Ok(()) => self.start_dma(request, OpKind::LoopbackWrite, 0, input_length, cx),
                    Err(error) => self.finish_request(request, Err(error), 0, cx),
                }
            }
            _ => self.finish_request(request, Err(Error::INVALID_DEVICE_REQUEST), 0, cx),
        }
    }

    fn stop(
        &self,
        _request: &CancelledRequest<'_>,
        _action: StopAction,
        cx: &mut UpToDispatch<'_>,
    ) {
        // Suspend (power-down) and purge (removal) alike: the request in flight ends at the
        // next transfer boundary (system DMA: the controller stops now) and completes with
        // the bytes moved. Letting a long request run to its end would hold the power
        // transition for up to 4096 edu commands (about 410 s for 16 MiB), far past KMDF's
        // verifier limit (60 s) and Windows' power watchdog (bugcheck 0x9F); the framework
        // waits for the completion, which comes within one command (at most 100 ms) or the
        // watchdog.
        self.end_early(crate::context::EndReason::Cancelled, cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_checked_against_the_contract() {
        assert_eq!(check_length(0), Err(Error::INVALID_PARAMETER));
        assert_eq!(check_length(1), Ok(()));
        assert_eq!(check_length(MAX_TRANSFER), Ok(()));
        assert_eq!(
            check_length(MAX_TRANSFER + 1),
            Err(Error::INVALID_BUFFER_SIZE)
        );
    }

    #[test]
    fn dma_at_headers_are_validated() {
        assert_eq!(
            check_dma_at(
                &DmaAt {
                    offset: 4095,
                    reserved: 0
                }
                .to_bytes(),
                4096
            ),
            Ok(4095)
        );
        assert_eq!(
            check_dma_at(
                &DmaAt {
                    offset: 4096,
                    reserved: 0
                }
                .to_bytes(),
                4096
            ),
            Err(Error::INVALID_PARAMETER)
        );
        assert_eq!(
            check_dma_at(
                &DmaAt {
                    offset: 0,
                    reserved: 1
                }
                .to_bytes(),
                4096
            ),
            Err(Error::INVALID_PARAMETER)
        );
        assert_eq!(check_dma_at(&[0; 7], 4096), Err(Error::BUFFER_TOO_SMALL));
    }

    #[test]
    fn loopback_lengths_must_match_and_fit() {
        assert_eq!(check_loopback(1, 1, 4096), Ok(()));
        assert_eq!(check_loopback(4096, 4096, 4096), Ok(()));
        assert_eq!(
            check_loopback(4097, 4097, 4096),
            Err(Error::INVALID_PARAMETER)
        );
        assert_eq!(check_loopback(0, 0, 4096), Err(Error::INVALID_PARAMETER));
        assert_eq!(check_loopback(8, 7, 4096), Err(Error::INVALID_PARAMETER));
    }

    #[test]
    fn a_shortened_ring_narrows_offsets_and_loopback_lengths() {
        let at = |offset| {
            DmaAt {
                offset,
                reserved: 0,
            }
            .to_bytes()
        };
        assert_eq!(check_dma_at(&at(4094), 4095), Ok(4094));
        assert_eq!(check_dma_at(&at(4095), 4095), Err(Error::INVALID_PARAMETER));
        assert_eq!(check_loopback(4095, 4095, 4095), Ok(()));
        assert_eq!(
            check_loopback(4096, 4096, 4095),
            Err(Error::INVALID_PARAMETER)
        );
    }
}

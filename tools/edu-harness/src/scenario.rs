//! The scenario engine.
//!
//! Each scenario drives a [`Target`] through the I/O contract and checks every completion:
//! status, `Information`, data byte for byte against [`RingModel`], and the statistics counters.
//!
//! The engine works the same on both backends; only time differs (real on Windows, virtual in
//! the simulator). Every random choice comes from the run's seed, so a failing run replays.

use core::fmt;
use core::ops::RangeInclusive;
use std::io::Write as _;
use std::time::{Duration, Instant};

use edu_api::{
    DEVICE_BUFFER_SIZE, DeviceInfo, DmaAt, FILE_ANY_ACCESS, FILE_DEVICE_UNKNOWN,
    MAX_TRANSFER_LENGTH, METHOD_BUFFERED, METHOD_NEITHER, Statistics, ctl_code,
};

use crate::client::{Failure, Request, Step, decode_info, decode_stats, ensure, wide};
use crate::prng::SplitMix64;
use crate::ring::{RING, RingModel, min_fragments};
use crate::status::{
    STATUS_BUFFER_TOO_SMALL, STATUS_CANCELLED, STATUS_INVALID_BUFFER_SIZE,
    STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_PARAMETER, STATUS_SUCCESS, describe,
};
use crate::target::{Completion, Op, Origin, Target, TargetError, Ticket, Transition};

/// Identification register value of edu 1.0.
pub const EDU_DEVICE_ID: u32 = 0x0100_00ED;

/// Transfer sizes of the `roundtrip` scenario.
pub const ROUNDTRIP_SIZES: [usize; 9] = [1, 2, 100, 4095, 4096, 4097, 8192, 65536, 1 << 20];

/// Nominal duration of one edu DMA command (at most 4096 bytes), in microseconds.
pub const COMMAND_MICROS: u64 = 100_000;

/// Length of the transfers the `cancel` scenario interrupts (64 device commands).
pub const CANCEL_LENGTH: usize = 256 * 1024;

/// Handles the `concurrent` scenario spreads its requests over.
pub const CONCURRENT_HANDLES: usize = 4;

/// Requests the `concurrent` scenario keeps in flight at once.
pub const CONCURRENT_REQUESTS: usize = 16;

/// Length of the write the `pnp` and `power` scenarios keep in flight across each transition
/// (16 device commands).
pub const TRANSITION_LENGTH: usize = 16 * 4096;

/// Iterations of the `stress` scenario when neither `--iterations` nor `--seconds` is given.
pub const DEFAULT_STRESS_ITERATIONS: u64 = 100;

/// A scenario the harness can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// `GET_INFO` decodes and describes an edu device speaking our contract version.
    Info,
    /// Write a pattern, read it back, for sizes from 1 byte to 1 MiB.
    Roundtrip,
    /// Every IOCTL, including wrap-around offsets and the statistics counters.
    Ioctls,
    /// Each invalid input fails with its documented status and moves no data.
    Invalid,
    /// Long transfers cancelled at a random moment; the device keeps working.
    Cancel,
    /// Several handles with many requests in flight at once.
    Concurrent,
    /// Random requests and sizes, bounded by `--iterations` or `--seconds`.
    Stress,
    /// I/O in flight while the device is stopped and restarted with other resources, and
    /// disabled and enabled; data verified afterwards.
    Pnp,
    /// I/O in flight while the system sleeps (S3) and hibernates (S4); data verified
    /// afterwards.
    Power,
}

impl Scenario {
    /// Every scenario, in the order a full run executes them.
    pub const ALL: [Self; 9] = [
        Self::Info,
        Self::Roundtrip,
        Self::Ioctls,
        Self::Invalid,
        Self::Cancel,
        Self::Concurrent,
        Self::Stress,
        Self::Pnp,
        Self::Power,
    ];

    /// The name used on the command line and in reports.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Roundtrip => "roundtrip",
            Self::Ioctls => "ioctls",
            Self::Invalid => "invalid",
            Self::Cancel => "cancel",
            Self::Concurrent => "concurrent",
            Self::Stress => "stress",
            Self::Pnp => "pnp",
            Self::Power => "power",
        }
    }

    /// The scenario with this name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Random stream number of this scenario (see [`SplitMix64::stream`]).
    const fn stream(self) -> u64 {
        match self {
            Self::Info => 1,
            Self::Roundtrip => 2,
            Self::Ioctls => 3,
            Self::Invalid => 4,
            Self::Cancel => 5,
            Self::Concurrent => 6,
            Self::Stress => 7,
            Self::Pnp => 8,
            Self::Power => 9,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Run-wide settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Seed of every random choice.
    pub seed: u64,
    /// Bound of the `stress` scenario in iterations.
    pub iterations: Option<u64>,
    /// Bound of the `stress` scenario in wall-clock time.
    pub seconds: Option<Duration>,
    /// Whether long scenarios may draw a progress bar on stderr.
    pub progress: bool,
}

/// How one scenario went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Scenario name.
    pub name: &'static str,
    /// Whether every check held.
    pub passed: bool,
    /// Bytes moved through the device (a loopback counts both directions).
    pub bytes: u64,
    /// Device commands the driver issued, from the `GET_STATS` delta.
    pub fragments: u64,
    /// Wall-clock time the scenario took.
    pub elapsed: Duration,
    /// Time the scenario took on the backend's own clock, when it has one (the simulator's
    /// virtual time); `None` when wall time is the device's time.
    pub virtual_elapsed: Option<Duration>,
    /// What went wrong, for a failed scenario.
    pub message: Option<String>,
}

impl Outcome {
    /// The time the device took: the backend's own clock if it has one, else wall time.
    #[must_use]
    pub fn device_time(&self) -> Duration {
        self.virtual_elapsed.unwrap_or(self.elapsed)
    }

    /// Bytes per second of device time ([`Self::device_time`]), 0 when no time passed.
    #[must_use]
    pub fn throughput(&self) -> f64 {
        let seconds = self.device_time().as_secs_f64();
        if seconds > 0.0 {
            // Precision loss only above 2^53 bytes.
            #[expect(clippy::cast_precision_loss, reason = "a rate for display")]
            let bytes = self.bytes as f64;
            bytes / seconds
        } else {
            0.0
        }
    }
}

/// A request planned against the buffer model, waiting for its completion.
struct Planned {
    /// The request.
    request: Request,
    /// The model as it was when the request reached the driver (for reads).
    before: Option<RingModel>,
    /// Its ticket.
    ticket: Ticket,
}

/// Runs scenarios against one target, keeping what is known about the device between them.
pub struct Engine<'t> {
    /// The device.
    target: &'t mut dyn Target,
    /// Settings.
    config: Config,
    /// The device buffer as far as the harness knows it.
    ring: RingModel,
    /// Length of the driver's ring (`DeviceInfo::buffer_size`, learnt at the handshake).
    ring_len: usize,
    /// Open handle indexes; `handles[0]` is the constructor's handle.
    handles: Vec<usize>,
    /// Bytes moved in the current scenario.
    bytes: u64,
    /// Statistics at the start of the current scenario (or after its last reset).
    base: Statistics,
    /// Fragments counted before the last reset in the current scenario.
    carried_fragments: u64,
    /// Iterations the `stress` scenario started (0 when it did not run).
    stress_iterations: u64,
}

impl fmt::Debug for Engine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("target", &self.target.name())
            .field("config", &self.config)
            .field("ring", &self.ring)
            .field("handles", &self.handles)
            .finish_non_exhaustive()
    }
}

impl<'t> Engine<'t> {
    /// An engine for `target`, which has handle 0 open.
    pub fn new(target: &'t mut dyn Target, config: Config) -> Self {
        Self {
            target,
            config,
            ring: RingModel::new(),
            ring_len: RING,
            handles: vec![0],
            bytes: 0,
            base: Statistics::default(),
            carried_fragments: 0,
            stress_iterations: 0,
        }
    }

    /// Asks the driver for its `DeviceInfo` and refuses a different contract version.
    ///
    /// # Errors
    /// [`TargetError::VersionMismatch`], or whatever the backend reports; a driver that cannot
    /// answer `GET_INFO` is reported as [`TargetError::Unsupported`].
    pub fn handshake(&mut self) -> Result<DeviceInfo, TargetError> {
        let request = Request::GetInfo;
        let done = self.exec(0, &request).map_err(into_target_error)?;
        request
            .verify(&self.ring, &done)
            .map_err(into_target_error)?;
        let info = decode_info(&done.output).map_err(into_target_error)?;
        // The ring the driver uses: the whole buffer, or less with UsableRingBytes.
        let ring = usize::try_from(info.buffer_size).unwrap_or(RING);
        if (1..=RING).contains(&ring) && ring != self.ring_len {
            self.ring_len = ring;
            self.ring = RingModel::with_len(ring);
        }
        Ok(info)
    }

    /// Iterations the `stress` scenario started, the last (possibly failed) one included: with
    /// the seed, `--iterations` of this many replays a `--seconds` run.
    #[must_use]
    pub const fn stress_iterations(&self) -> u64 {
        self.stress_iterations
    }

    /// Runs one scenario and reports how it went. A backend error fails the scenario; the
    /// engine stays usable for the next one.
    pub fn run(&mut self, scenario: Scenario) -> Outcome {
        let started = Instant::now();
        let clock = self.target.elapsed_ns();
        self.bytes = 0;
        self.carried_fragments = 0;
        let mut rng = SplitMix64::stream(self.config.seed, scenario.stream());
        let result = self.stats().and_then(|base| {
            self.base = base;
            match scenario {
                Scenario::Info => self.info(),
                Scenario::Roundtrip => self.roundtrip(&mut rng),
                Scenario::Ioctls => self.ioctls(&mut rng),
                Scenario::Invalid => self.invalid(),
                Scenario::Cancel => self.cancel(&mut rng),
                Scenario::Concurrent => self.concurrent(&mut rng),
                Scenario::Stress => self.stress(&mut rng),
                Scenario::Pnp => self.transitions(
                    &mut rng,
                    &[
                        Transition::Rebalance,
                        Transition::Rebalance,
                        Transition::DisableEnable,
                    ],
                ),
                Scenario::Power => {
                    self.transitions(&mut rng, &[Transition::Sleep, Transition::Hibernate])
                }
            }
        });
        if result.is_err() {
            // A scenario that stopped part-way may not have recorded what its last requests
            // left in the device: forget everything rather than fail the next scenario.
            self.ring = RingModel::with_len(self.ring_len);
        }
        // Count fragments even for a failed scenario, if the driver still answers.
        let fragments = self.stats().map_or(0, |end| {
            self.carried_fragments + end.fragments.saturating_sub(self.base.fragments)
        });
        Outcome {
            name: scenario.name(),
            passed: result.is_ok(),
            bytes: self.bytes,
            fragments,
            elapsed: started.elapsed(),
            virtual_elapsed: clock
                .zip(self.target.elapsed_ns())
                .map(|(start, end)| Duration::from_nanos(end.saturating_sub(start))),
            message: result.err().map(|failure| failure.to_string()),
        }
    }

    // ----------------------------------------------------------------------------------------
    // Building blocks.

    /// Submits one request and waits for it.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn exec(&mut self, handle: usize, request: &Request) -> Step<Completion> {
        self.exec_op(handle, request.op())
    }

    /// Submits one operation and waits for it.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn exec_op(&mut self, handle: usize, op: Op) -> Step<Completion> {
        let ticket = self.target.submit(handle, op)?;
        Ok(self.target.wait(ticket)?)
    }

    /// Runs a request that must succeed, checks it against the model and records its effect.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn expect(&mut self, handle: usize, request: &Request) -> Step<Completion> {
        let done = self.exec(handle, request)?;
        request.verify(&self.ring, &done)?;
        request.apply(&mut self.ring);
        self.bytes += wide(request.moved());
        Ok(done)
    }

    /// Current statistics.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn stats(&mut self) -> Step<Statistics> {
        let done = self.expect(0, &Request::GetStats)?;
        decode_stats(&done.output)
    }

    /// Resets the device and checks that the counters went to zero.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn reset(&mut self) -> Step {
        let before = self.stats()?;
        self.carried_fragments += before.fragments.saturating_sub(self.base.fragments);
        self.expect(0, &Request::Reset)?;
        let after = self.stats()?;
        self.base = after;
        let zero = [
            ("bytes_read", after.bytes_read),
            ("bytes_written", after.bytes_written),
            ("fragments", after.fragments),
            ("errors", after.errors),
            ("cancelled", after.cancelled),
            ("timeouts", after.timeouts),
        ];
        for (name, value) in zero {
            ensure(value == 0, || {
                format!("after RESET, statistics.{name} is {value}, expected 0")
            })?;
        }
        // The reset itself and the GET_STATS that reads the counters may or may not count.
        ensure(after.requests <= 2, || {
            format!(
                "after RESET, statistics.requests is {}, expected at most 2",
                after.requests
            )
        })
    }

    /// Submits requests in order, each checked later against the model as it stood when the
    /// request reached the driver. Returns them in submission order.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn submit_planned(&mut self, batch: Vec<(usize, Request)>) -> Step<Vec<Planned>> {
        let mut planned = Vec::with_capacity(batch.len());
        let mut model = self.ring.clone();
        for (handle, request) in batch {
            let before = request.reads().map(|_| model.clone());
            let ticket = self.target.submit(handle, request.op())?;
            request.apply(&mut model);
            planned.push(Planned {
                request,
                before,
                ticket,
            });
        }
        Ok(planned)
    }

    /// Waits for planned requests in `order` (indexes into `planned`), verifies each and then
    /// commits their effects to the model.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn complete_planned(&mut self, planned: &[Planned], order: &[usize]) -> Step {
        let mut first_failure = None;
        for &index in order {
            let Some(item) = planned.get(index) else {
                continue;
            };
            // Always wait for every request, even after a failure, so nothing stays in flight.
            let done = self.target.wait(item.ticket)?;
            let model = item.before.as_ref().unwrap_or(&self.ring);
            if let Err(failure) = item.request.verify(model, &done) {
                first_failure.get_or_insert(failure);
            } else {
                self.bytes += wide(item.request.moved());
            }
        }
        if let Some(failure) = first_failure {
            // Which writes landed is unknown now; forget everything rather than guess.
            self.ring = RingModel::with_len(self.ring_len);
            return Err(failure);
        }
        for item in planned {
            item.request.apply(&mut self.ring);
        }
        Ok(())
    }

    /// Handles for the concurrent scenarios, opening more as needed.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn handles(&mut self, count: usize) -> Step<Vec<usize>> {
        while self.handles.len() < count {
            let handle = self.target.open_handle()?;
            self.handles.push(handle);
        }
        Ok(self.handles.iter().copied().take(count).collect())
    }

    /// Draws a progress bar on stderr (only when enabled).
    fn progress(&self, label: &str, done: u64, total: u64) {
        if !self.config.progress || total == 0 {
            return;
        }
        let width = 30;
        let filled = usize::try_from(done.min(total) * width / total).unwrap_or(0);
        let bar: String = (0..usize::try_from(width).unwrap_or(0))
            .map(|i| if i < filled { '#' } else { '-' })
            .collect();
        let mut err = std::io::stderr().lock();
        // Progress output is best effort.
        let _ = write!(err, "\r{label} [{bar}] {done}/{total}");
        let _ = err.flush();
    }

    /// Clears the progress bar line.
    fn progress_done(&self) {
        if self.config.progress {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{:60}\r", "");
            let _ = err.flush();
        }
    }

    // ----------------------------------------------------------------------------------------
    // Scenarios.

    /// `info`: `GET_INFO` decodes, speaks our version, and describes an edu device.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn info(&mut self) -> Step {
        let done = self.expect(0, &Request::GetInfo)?;
        let info = decode_info(&done.output)?;
        ensure(info.device_id == EDU_DEVICE_ID, || {
            format!(
                "device_id is 0x{:08X}, expected 0x{EDU_DEVICE_ID:08X}",
                info.device_id
            )
        })?;
        let ring = self.ring_len;
        ensure(
            (1..=DEVICE_BUFFER_SIZE).contains(&info.buffer_size)
                && info.buffer_size as usize == ring,
            || {
                format!(
                    "buffer_size is {}, expected {ring} (the handshake's; at most \
                     {DEVICE_BUFFER_SIZE})",
                    info.buffer_size
                )
            },
        )?;
        ensure(matches!(info.dma_mode, 1 | 2), || {
            format!(
                "dma_mode is {}, expected 1 (bus master) or 2 (system)",
                info.dma_mode
            )
        })?;
        ensure((24..=64).contains(&info.address_width), || {
            format!("address_width is {}, expected 24..=64", info.address_width)
        })?;
        ensure(info.msi <= 1, || {
            format!("msi is {}, expected 0 or 1", info.msi)
        })
    }

    /// `roundtrip`: for each size, write a seeded pattern and read it back.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn roundtrip(&mut self, rng: &mut SplitMix64) -> Step {
        for size in ROUNDTRIP_SIZES {
            self.expect(0, &Request::Write(rng.bytes(size)))?;
            ensure(self.ring.all_known(0, size), || {
                format!("model gap after a {size}-byte write")
            })?;
            self.expect(0, &Request::Read(size))?;
        }
        Ok(())
    }

    /// Runs `request` between two `GET_STATS` and checks the counters moved as the contract
    /// says: bytes exactly, fragments at least the ring segments touched.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn expect_counted(&mut self, request: &Request) -> Step {
        let before = self.stats()?;
        self.expect(0, request)?;
        let after = self.stats()?;
        let what = request.describe();
        let delta = |pick: fn(&Statistics) -> u64| pick(&after).wrapping_sub(pick(&before));
        let (read, written, fragments) = match request {
            Request::Read(len) | Request::ReadAt(_, len) => (*len, 0, request.reads()),
            Request::Write(data) | Request::WriteAt(_, data) => (0, data.len(), None),
            Request::Loopback(data) => (data.len(), data.len(), None),
            _ => (0, 0, None),
        };
        let expected_fragments = fragments
            .or_else(|| request.writes().map(|(start, data)| (start, data.len())))
            .map_or(0, |(start, len)| min_fragments(start, len, self.ring_len));
        let checks = [
            ("bytes_read", delta(|s| s.bytes_read), wide(read)),
            ("bytes_written", delta(|s| s.bytes_written), wide(written)),
        ];
        for (name, got, want) in checks {
            ensure(got == want, || {
                format!("{what}: statistics.{name} moved by {got}, expected {want}")
            })?;
        }
        let got = delta(|s| s.fragments);
        ensure(got >= expected_fragments, || {
            format!(
                "{what}: statistics.fragments moved by {got}, \
                 expected at least {expected_fragments}"
            )
        })?;
        // The request and one of the two GET_STATS around it (whichever way GET_STATS counts
        // itself, exactly one of them falls between the two snapshots).
        let requests = delta(|s| s.requests);
        ensure(requests == 2, || {
            format!("{what}: statistics.requests moved by {requests}, expected 2")
        })?;
        let errors = delta(|s| s.errors);
        ensure(errors == 0, || {
            format!("{what}: statistics.errors moved by {errors}")
        })
    }

    /// `ioctls`: every IOCTL, offsets up to the ring's last (4095, or 4094 with a 4095-byte
    /// ring), wrap-around lengths, counters, reset.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn ioctls(&mut self, rng: &mut SplitMix64) -> Step {
        self.reset()?;
        // Offsets past a shortened ring's end stand for its last byte.
        let last = u32::try_from(self.ring_len - 1).unwrap_or(0);
        let cases: [(u32, usize); 10] = [
            (0, 1),
            (1, 17),
            (100, 4096),
            (2048, 100),
            (4000, 200),
            (4095, 1),
            (4095, 2),
            (4095, 4097),
            (7, 8192 + 5),
            (3000, 4096),
        ];
        for (offset, len) in cases {
            let offset = offset.min(last);
            self.expect_counted(&Request::WriteAt(offset, rng.bytes(len)))?;
            self.expect_counted(&Request::ReadAt(offset, len))?;
        }
        // Reads that start elsewhere than the last write, across the wrap.
        for (offset, len) in [(4090, 20), (0, 4096), (4095, 4096), (1234, 10_000)] {
            self.expect_counted(&Request::ReadAt(offset.min(last), len))?;
        }
        ensure(self.ring.all_known(0, self.ring_len), || {
            "model gap after the DMA_*_AT battery".to_owned()
        })?;
        for len in [1, 17, self.ring_len] {
            self.expect_counted(&Request::Loopback(rng.bytes(len)))?;
            // The loopback left its data at offset 0: a plain read sees it.
            self.expect(0, &Request::Read(len))?;
        }
        self.expect(0, &Request::GetInfo)?;
        self.reset()
    }

    /// `invalid`: each invalid input fails with its documented status, reports no bytes, moves
    /// no data, and counts as an error.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn invalid(&mut self) -> Step {
        let before = self.stats()?;
        let mut failures = 0_u64;
        for (what, status, shape) in INVALID_CASES {
            let done = self.exec_op(0, shape.op())?;
            ensure(done.status == status, || {
                format!(
                    "{what}: completed with {}, expected {}",
                    done.describe_status(),
                    describe(status)
                )
            })?;
            // The contract's statuses are the driver's: the same number from the I/O manager
            // or KMDF (a synchronous failure) means the driver never saw the request.
            ensure(
                status == STATUS_SUCCESS || done.origin == Origin::Driver,
                || format!("{what}: {}", done.describe_status()),
            )?;
            ensure(done.information == 0, || {
                format!(
                    "{what}: reported Information {}, expected 0",
                    done.information
                )
            })?;
            if status != STATUS_SUCCESS {
                failures += 1;
            }
        }
        let after = self.stats()?;
        let delta = |pick: fn(&Statistics) -> u64| pick(&after).wrapping_sub(pick(&before));
        let checks = [
            ("bytes_read", delta(|s| s.bytes_read), 0),
            ("bytes_written", delta(|s| s.bytes_written), 0),
            ("fragments", delta(|s| s.fragments), 0),
            ("cancelled", delta(|s| s.cancelled), 0),
            ("timeouts", delta(|s| s.timeouts), 0),
            ("errors", delta(|s| s.errors), failures),
            // Each failed case, plus one of the two GET_STATS; the framework completes the
            // zero-length reads and writes without the driver.
            ("requests", delta(|s| s.requests), failures + 1),
        ];
        for (name, got, want) in checks {
            ensure(got == want, || {
                format!("invalid requests moved statistics.{name} by {got}, expected {want}")
            })?;
        }
        Ok(())
    }

    /// `cancel`: a 64-fragment read and write, each cancelled after a random delay; a loopback
    /// cancelled during its first half and one during its second half; then three requests in
    /// flight, the first two cancelled.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn cancel(&mut self, rng: &mut SplitMix64) -> Step {
        let full = wide(CANCEL_LENGTH.div_ceil(self.ring_len)) * COMMAND_MICROS;
        for write in [false, true] {
            let request = if write {
                Request::Write(rng.bytes(CANCEL_LENGTH))
            } else {
                Request::Read(CANCEL_LENGTH)
            };
            // Up to 10% past the nominal duration, so "finished first" happens too.
            let delay = rng.below(full + full / 10);
            self.cancelled(&request, delay)?;
            // The device still works.
            let probe = rng.bytes(64);
            self.expect(0, &Request::Write(probe))?;
            self.expect(0, &Request::Read(64))?;
        }
        // A loopback is two device commands: input to the device, then back to the output.
        let first_half = rng.below(COMMAND_MICROS);
        let second_half = COMMAND_MICROS + rng.below(COMMAND_MICROS);
        for delay in [first_half, second_half] {
            self.cancelled(&Request::Loopback(rng.bytes(self.ring_len)), delay)?;
            self.expect(0, &Request::Read(self.ring_len))?;
        }
        // Cancelling the request in flight and one queued behind it leaves the queue working.
        let delay = rng.below(2 * COMMAND_MICROS);
        self.cancel_in_line(rng, delay)
    }

    /// `concurrent`: many requests on several handles in flight at once, completed in random
    /// order, data checked against the arrival order.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn concurrent(&mut self, rng: &mut SplitMix64) -> Step {
        let handles = self.handles(CONCURRENT_HANDLES)?;
        for _round in 0..2 {
            let batch: Vec<(usize, Request)> = (0..CONCURRENT_REQUESTS)
                .map(|_| {
                    let handle = rng.pick(&handles).copied().unwrap_or(0);
                    (handle, random_request(rng, 6000, true, self.ring_len))
                })
                .collect();
            let planned = self.submit_planned(batch)?;
            let mut order: Vec<usize> = (0..planned.len()).collect();
            shuffle(rng, &mut order);
            self.complete_planned(&planned, &order)?;
        }
        // A whole-buffer read on another handle sees the combined result (known bytes only).
        let last = handles.last().copied().unwrap_or(0);
        self.expect(last, &Request::Read(self.ring_len))?;
        Ok(())
    }

    /// `stress`: random batches, sizes and cancellations until the iteration or time bound.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn stress(&mut self, rng: &mut SplitMix64) -> Step {
        let handles = self.handles(2)?;
        let deadline = self.config.seconds.map(|s| Instant::now() + s);
        let iterations = match (self.config.iterations, self.config.seconds) {
            (Some(n), _) => n,
            (None, Some(_)) => u64::MAX,
            (None, None) => DEFAULT_STRESS_ITERATIONS,
        };
        let started = Instant::now();
        let mut done = 0_u64;
        while done < iterations && deadline.is_none_or(|d| Instant::now() < d) {
            // Iterations started, the one that may fail included: what a replay must run.
            self.stress_iterations = done + 1;
            if rng.chance(1, 10) {
                self.stress_cancel(rng)?;
            } else if rng.chance(1, 20) {
                let code = ctl_code(FILE_DEVICE_UNKNOWN, 0x8F0, METHOD_BUFFERED, FILE_ANY_ACCESS);
                let result = self.exec_op(
                    0,
                    Op::Ioctl {
                        code,
                        input: Vec::new(),
                        output_len: 0,
                    },
                )?;
                ensure(result.status == STATUS_INVALID_DEVICE_REQUEST, || {
                    format!("unknown IOCTL completed with {}", result.describe_status())
                })?;
            } else {
                let count = rng.range(1, 4);
                let batch = (0..count)
                    .map(|_| {
                        let handle = rng.pick(&handles).copied().unwrap_or(0);
                        let max = if rng.chance(1, 8) {
                            65536
                        } else {
                            self.ring_len
                        };
                        (handle, random_request(rng, max, false, self.ring_len))
                    })
                    .collect();
                let planned = self.submit_planned(batch)?;
                let order: Vec<usize> = (0..planned.len()).collect();
                self.complete_planned(&planned, &order)?;
            }
            done += 1;
            if started.elapsed() > Duration::from_secs(2) || iterations >= 200 {
                match deadline {
                    Some(d) => {
                        let millis = |t: Duration| u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
                        let total = millis(self.config.seconds.unwrap_or_default());
                        let left = millis(d.saturating_duration_since(Instant::now()));
                        self.progress("stress", total.saturating_sub(left), total);
                    }
                    None => self.progress("stress", done, iterations),
                }
            }
        }
        self.progress_done();
        ensure(done > 0, || {
            "stress ran no iteration (--seconds 0?)".to_owned()
        })
    }

    /// One cancelled transfer of 4 to 64 KiB (or a loopback) for `stress`.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn stress_cancel(&mut self, rng: &mut SplitMix64) -> Step {
        let len = rng.range(self.ring_len, 16 * self.ring_len);
        let offset = u32::try_from(rng.below(self.ring_len as u64)).unwrap_or(0);
        let request = match rng.below(5) {
            0 => Request::Read(len),
            1 => Request::Write(rng.bytes(len)),
            2 => Request::ReadAt(offset, len),
            3 => Request::WriteAt(offset, rng.bytes(len)),
            _ => {
                let echo = rng.range(1, self.ring_len);
                Request::Loopback(rng.bytes(echo))
            }
        };
        let commands = match &request {
            Request::Loopback(_) => 2,
            _ => wide(len.div_ceil(self.ring_len)),
        };
        self.cancelled(&request, rng.below(commands * COMMAND_MICROS))
    }

    /// Submits `request` on handle 0, cancels it after `delay` µs and checks how it ended (see
    /// [`Self::settle`]) and that the statistics agree.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn cancelled(&mut self, request: &Request, delay: u64) -> Step {
        let before = self.stats()?;
        let ticket = self.target.submit(0, request.op())?;
        self.target.advance(delay);
        self.target.cancel(ticket)?;
        let done = self.target.wait(ticket)?;
        let what = format!("{} cancelled after {delay} us", request.describe());
        let expected = self.settle(request, &done, &what)?;
        let after = self.stats()?;
        expected.check(&before, &after, &what)
    }

    /// `cancel`, second part: three requests in flight at once; the first is cancelled after
    /// `delay` µs and the second at the same moment (usually before the driver saw it). The
    /// third must complete normally and read what the first two really left in the device.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn cancel_in_line(&mut self, rng: &mut SplitMix64, delay: u64) -> Step {
        let first_len = rng.range(2 * self.ring_len, 4 * self.ring_len);
        let first = Request::Write(rng.bytes(first_len));
        let offset = u32::try_from(rng.below(self.ring_len as u64)).unwrap_or(0);
        let second = Request::WriteAt(offset, rng.bytes(self.ring_len));
        let third = Request::Read(self.ring_len);
        let what = format!(
            "{}, {} and {}, the first two cancelled after {delay} us",
            first.describe(),
            second.describe(),
            third.describe()
        );
        let before = self.stats()?;
        let tickets = [
            self.target.submit(0, first.op())?,
            self.target.submit(0, second.op())?,
            self.target.submit(0, third.op())?,
        ];
        self.target.advance(delay);
        for ticket in tickets.iter().take(2) {
            self.target.cancel(*ticket)?;
        }
        let mut done = Vec::with_capacity(tickets.len());
        for ticket in tickets {
            done.push(self.target.wait(ticket)?);
        }
        let mut expected = Expected::default();
        for (request, done) in [first, second, third].iter().zip(&done) {
            expected.add(&self.settle(request, done, &what)?);
        }
        let third = done.get(2);
        ensure(third.is_some_and(|d| d.status == STATUS_SUCCESS), || {
            format!(
                "{what}: the third completed with {}",
                third.map_or_else(|| "nothing".to_owned(), Completion::describe_status)
            )
        })?;
        let after = self.stats()?;
        expected.check(&before, &after, &what)
    }

    /// `pnp` and `power`: a long write in flight and a read queued behind it while the device
    /// goes through each transition the backend supports. Each completion is settled (the write
    /// may end cancelled with the bytes it moved; the read runs after the transition, or is
    /// cancelled when the device is removed), then a write and a read of the whole buffer check
    /// the data path after the transition.
    ///
    /// # Errors
    /// The first check that failed, or the backend error that stopped the step.
    fn transitions(&mut self, rng: &mut SplitMix64, list: &[Transition]) -> Step {
        let mut ran = 0;
        for &transition in list {
            if !self.target.supports(transition) {
                continue;
            }
            ran += 1;
            self.expect(0, &Request::Write(rng.bytes(RING)))?;
            let long = Request::Write(rng.bytes(TRANSITION_LENGTH));
            let queued = Request::Read(RING);
            let what = format!(
                "{} and {} around a {}",
                long.describe(),
                queued.describe(),
                transition.name()
            );
            let before = self.stats()?;
            let tickets = [
                self.target.submit(0, long.op())?,
                self.target.submit(0, queued.op())?,
            ];
            // A few device commands into the long write.
            self.target
                .advance(COMMAND_MICROS + rng.below(3 * COMMAND_MICROS));
            self.target.transition(transition)?;
            let first = self.target.wait(tickets[0])?;
            let second = self.target.wait(tickets[1])?;
            self.settle(&long, &first, &what)?;
            if !self.target.keeps_device_memory(transition) {
                // The device lost power or was re-created: its buffer is unknown until written.
                self.ring = RingModel::new();
            }
            self.settle(&queued, &second, &what)?;
            if transition == Transition::DisableEnable {
                // A new device: its counters started from zero at the enable.
                self.carried_fragments += before.fragments.saturating_sub(self.base.fragments);
                self.base = Statistics::default();
            }
            let probe = rng.bytes(RING);
            self.expect(0, &Request::Write(probe))?;
            self.expect(0, &Request::Read(RING))?;
        }
        ensure(ran > 0, || {
            format!(
                "the {} backend supports none of these transitions",
                self.target.name()
            )
        })
    }

    /// Checks how a request that may have been cancelled ended, and records its effect:
    /// - `STATUS_SUCCESS`: exactly as if it had not been cancelled;
    /// - `STATUS_CANCELLED`: `Information` at most the length requested, and the data a read
    ///   returned matches the model; a write then left exactly its first `Information` bytes in
    ///   the device (the driver never abandons a device command part-way).
    ///
    /// Returns what the statistics must show for it.
    ///
    /// # Errors
    /// The first check that failed.
    fn settle(&mut self, request: &Request, done: &Completion, what: &str) -> Step<Expected> {
        let info = done.information;
        let was_cancelled = done.status != STATUS_SUCCESS;
        if was_cancelled {
            ensure(done.status == STATUS_CANCELLED, || {
                format!(
                    "{what}: {} completed with {}, expected STATUS_CANCELLED or STATUS_SUCCESS",
                    request.describe(),
                    done.describe_status()
                )
            })?;
            let requested = request.information();
            ensure(info <= requested, || {
                format!(
                    "{what}: {} reported Information {info} > {requested} requested",
                    request.describe()
                )
            })?;
            ensure(done.output.len() <= info, || {
                format!(
                    "{what}: {} returned {} bytes but Information {info}",
                    request.describe(),
                    done.output.len()
                )
            })?;
            if let Some((start, _)) = request.reads() {
                self.ring.check(start, &done.output).map_err(|mismatch| {
                    Failure::Check(format!("{what}: {}: {mismatch}", request.describe()))
                })?;
            }
        } else {
            request
                .verify(&self.ring, done)
                .map_err(|failure| match failure {
                    Failure::Check(message) => Failure::Check(format!("{what}: {message}")),
                    other @ Failure::Target(_) => other,
                })?;
        }
        // A cancelled request that reports no bytes either moved none or (on a backend whose
        // failed requests may not carry the driver's count, see
        // `Target::failed_information_exact`) moved an unknown number: then forget what it
        // may have written and accept any count from 0 to the length requested. A count
        // above 0 is always the driver's own (nothing else writes one).
        let unknown = was_cancelled && info == 0 && !self.target.failed_information_exact();
        if unknown {
            if let Some((start, data)) = request.writes() {
                self.ring.forget(start, data.len());
            }
            if let Request::Loopback(data) = request {
                self.ring.forget(0, data.len());
            }
            let most = wide(request.information());
            let mut expected = Expected {
                cancelled: 0..=1,
                ..Expected::default()
            };
            match request {
                Request::Read(_) | Request::ReadAt(..) => expected.bytes_read = 0..=most,
                Request::Write(_) | Request::WriteAt(..) => expected.bytes_written = 0..=most,
                Request::Loopback(data) => {
                    expected.bytes_read = 0..=most;
                    expected.bytes_written = 0..=wide(data.len());
                }
                Request::GetInfo | Request::GetStats | Request::Reset => {}
            }
            return Ok(expected);
        }
        // Record what the device holds now.
        match request {
            _ if !was_cancelled => request.apply(&mut self.ring),
            Request::Loopback(data) if info > 0 => self.ring.write(0, data),
            Request::Loopback(data) => self.ring.forget(0, data.len()),
            _ => {
                if let Some((start, data)) = request.writes() {
                    self.ring.write(start, data.get(..info).unwrap_or(data));
                }
            }
        }
        self.bytes += if was_cancelled {
            wide(info)
        } else {
            wide(request.moved())
        };
        let info = wide(info);
        let mut expected = Expected {
            // A request cancelled before the driver saw it is completed by the framework and
            // not counted; one that moved data was seen by the driver.
            cancelled: match (was_cancelled, info) {
                (false, _) => 0..=0,
                (true, 0) => 0..=1,
                (true, _) => 1..=1,
            },
            ..Expected::default()
        };
        match request {
            Request::Read(_) | Request::ReadAt(..) => expected.bytes_read = info..=info,
            Request::Write(_) | Request::WriteAt(..) => expected.bytes_written = info..=info,
            // Information is what came back; the write half moved at least that much.
            Request::Loopback(data) => {
                expected.bytes_read = info..=info;
                expected.bytes_written = info..=wide(data.len());
            }
            Request::GetInfo | Request::GetStats | Request::Reset => {}
        }
        Ok(expected)
    }
}

/// What the statistics must show for a group of requests that may have been cancelled: each
/// counter's move between two `GET_STATS`, as an inclusive range.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expected {
    /// `bytes_read`.
    bytes_read: RangeInclusive<u64>,
    /// `bytes_written`.
    bytes_written: RangeInclusive<u64>,
    /// `cancelled`.
    cancelled: RangeInclusive<u64>,
}

impl Default for Expected {
    fn default() -> Self {
        Self {
            bytes_read: 0..=0,
            bytes_written: 0..=0,
            cancelled: 0..=0,
        }
    }
}

impl Expected {
    /// Adds another request's expectations.
    fn add(&mut self, other: &Self) {
        let sum = |a: &RangeInclusive<u64>, b: &RangeInclusive<u64>| {
            a.start().saturating_add(*b.start())..=a.end().saturating_add(*b.end())
        };
        self.bytes_read = sum(&self.bytes_read, &other.bytes_read);
        self.bytes_written = sum(&self.bytes_written, &other.bytes_written);
        self.cancelled = sum(&self.cancelled, &other.cancelled);
    }

    /// Checks the counters' moves from `before` to `after`; errors and timeouts must not move.
    ///
    /// # Errors
    /// [`Failure::Check`] naming the first counter out of range.
    fn check(&self, before: &Statistics, after: &Statistics, what: &str) -> Step {
        let delta = |pick: fn(&Statistics) -> u64| pick(after).wrapping_sub(pick(before));
        let checks = [
            (
                "bytes_read",
                delta(|s| s.bytes_read),
                self.bytes_read.clone(),
            ),
            (
                "bytes_written",
                delta(|s| s.bytes_written),
                self.bytes_written.clone(),
            ),
            ("cancelled", delta(|s| s.cancelled), self.cancelled.clone()),
            ("errors", delta(|s| s.errors), 0..=0),
            ("timeouts", delta(|s| s.timeouts), 0..=0),
        ];
        for (name, got, want) in checks {
            ensure(want.contains(&got), || {
                let want = if want.start() == want.end() {
                    want.start().to_string()
                } else {
                    format!("{}..={}", want.start(), want.end())
                };
                format!("{what}: statistics.{name} moved by {got}, expected {want}")
            })?;
        }
        Ok(())
    }
}

/// The input buffer of an invalid-input case.
#[derive(Clone, Copy, Debug)]
enum Input {
    /// No input buffer.
    Empty,
    /// A `DmaAt` header with this offset and reserved field.
    Header(u32, u32),
    /// `len` bytes that are not a header.
    Bytes(usize),
}

/// The shape of an invalid-input request.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// `ReadFile` of this length.
    Read(usize),
    /// `WriteFile` of this length.
    Write(usize),
    /// `DeviceIoControl` with an output buffer of this length.
    Ioctl(u32, Input, usize),
    /// `IOCTL_EDU_DMA_WRITE_AT` with this much data in the output buffer.
    WriteAt(Input, usize),
}

impl Shape {
    /// Builds the operation (the big buffers only when the case runs).
    fn op(self) -> Op {
        let input = |input: Input| match input {
            Input::Empty => Vec::new(),
            Input::Header(offset, reserved) => DmaAt { offset, reserved }.to_bytes().to_vec(),
            Input::Bytes(len) => vec![0x3C; len],
        };
        match self {
            Self::Read(len) => Op::Read { len },
            Self::Write(len) => Op::Write {
                data: vec![0xA5; len],
            },
            Self::Ioctl(code, data, output_len) => Op::Ioctl {
                code,
                input: input(data),
                output_len,
            },
            Self::WriteAt(data, len) => Op::IoctlInDirect {
                code: edu_api::IOCTL_EDU_DMA_WRITE_AT,
                input: input(data),
                data: vec![0x5A; len],
            },
        }
    }
}

/// One past the longest transfer the driver accepts.
const TOO_LONG: usize = MAX_TRANSFER_LENGTH + 1;
/// An IOCTL code the driver does not implement.
const UNKNOWN_IOCTL: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x806, METHOD_BUFFERED, FILE_ANY_ACCESS);
/// `GET_INFO`'s function number with another transfer method: a different, unknown code.
const INFO_NEITHER: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x800, METHOD_NEITHER, FILE_ANY_ACCESS);
/// Short names for the table below.
const READ_AT: u32 = edu_api::IOCTL_EDU_DMA_READ_AT;
/// Short name for the table below.
const LOOPBACK: u32 = edu_api::IOCTL_EDU_LOOPBACK;
/// Short name for the table below.
const GET_INFO: u32 = edu_api::IOCTL_EDU_GET_INFO;
/// Short name for the table below.
const GET_STATS: u32 = edu_api::IOCTL_EDU_GET_STATS;

/// The `invalid` scenario's cases: what each breaks (exactly one rule), the status the driver's
/// contract gives for it, and the request. Every case must report `Information` 0.
const INVALID_CASES: [(&str, i32, Shape); 23] = [
    (
        "unknown IOCTL code 0x806",
        STATUS_INVALID_DEVICE_REQUEST,
        Shape::Ioctl(UNKNOWN_IOCTL, Input::Empty, 0),
    ),
    (
        "GET_INFO's function with METHOD_NEITHER",
        STATUS_INVALID_DEVICE_REQUEST,
        Shape::Ioctl(INFO_NEITHER, Input::Empty, DeviceInfo::SIZE),
    ),
    (
        "GET_INFO, no output buffer",
        STATUS_BUFFER_TOO_SMALL,
        Shape::Ioctl(GET_INFO, Input::Empty, 0),
    ),
    (
        "GET_INFO, output one byte short",
        STATUS_BUFFER_TOO_SMALL,
        Shape::Ioctl(GET_INFO, Input::Empty, DeviceInfo::SIZE - 1),
    ),
    (
        "GET_STATS, output one byte short",
        STATUS_BUFFER_TOO_SMALL,
        Shape::Ioctl(GET_STATS, Input::Empty, Statistics::SIZE - 1),
    ),
    (
        "DMA_WRITE_AT, header one byte short",
        STATUS_BUFFER_TOO_SMALL,
        Shape::WriteAt(Input::Bytes(DmaAt::SIZE - 1), 16),
    ),
    (
        "DMA_READ_AT, no header",
        STATUS_BUFFER_TOO_SMALL,
        Shape::Ioctl(READ_AT, Input::Empty, 16),
    ),
    (
        "DMA_READ_AT, offset 4096",
        STATUS_INVALID_PARAMETER,
        Shape::Ioctl(READ_AT, Input::Header(4096, 0), 16),
    ),
    (
        "DMA_WRITE_AT, offset 0xFFFFFFFF",
        STATUS_INVALID_PARAMETER,
        Shape::WriteAt(Input::Header(u32::MAX, 0), 16),
    ),
    (
        "DMA_READ_AT, reserved 1",
        STATUS_INVALID_PARAMETER,
        Shape::Ioctl(READ_AT, Input::Header(0, 1), 16),
    ),
    (
        "DMA_WRITE_AT, reserved 0x80000000",
        STATUS_INVALID_PARAMETER,
        Shape::WriteAt(Input::Header(0, 0x8000_0000), 16),
    ),
    (
        "DMA_WRITE_AT, no data",
        STATUS_INVALID_PARAMETER,
        Shape::WriteAt(Input::Header(0, 0), 0),
    ),
    (
        "DMA_READ_AT, no data buffer",
        STATUS_INVALID_PARAMETER,
        Shape::Ioctl(READ_AT, Input::Header(0, 0), 0),
    ),
    (
        "ReadFile, MAX_TRANSFER_LENGTH + 1",
        STATUS_INVALID_BUFFER_SIZE,
        Shape::Read(TOO_LONG),
    ),
    (
        "WriteFile, MAX_TRANSFER_LENGTH + 1",
        STATUS_INVALID_BUFFER_SIZE,
        Shape::Write(TOO_LONG),
    ),
    (
        "DMA_READ_AT, MAX_TRANSFER_LENGTH + 1",
        STATUS_INVALID_BUFFER_SIZE,
        Shape::Ioctl(READ_AT, Input::Header(0, 0), TOO_LONG),
    ),
    (
        "DMA_WRITE_AT, MAX_TRANSFER_LENGTH + 1",
        STATUS_INVALID_BUFFER_SIZE,
        Shape::WriteAt(Input::Header(0, 0), TOO_LONG),
    ),
    (
        "LOOPBACK, empty",
        STATUS_INVALID_PARAMETER,
        Shape::Ioctl(LOOPBACK, Input::Empty, 0),
    ),
    (
        "LOOPBACK, 4097 bytes",
        STATUS_INVALID_PARAMETER,
        Shape::Ioctl(LOOPBACK, Input::Bytes(RING + 1), RING + 1),
    ),
    (
        "LOOPBACK, output shorter than input",
        STATUS_INVALID_PARAMETER,
        Shape::Ioctl(LOOPBACK, Input::Bytes(16), 15),
    ),
    (
        "LOOPBACK, output longer than input",
        STATUS_INVALID_PARAMETER,
        Shape::Ioctl(LOOPBACK, Input::Bytes(16), 17),
    ),
    ("zero-length ReadFile", STATUS_SUCCESS, Shape::Read(0)),
    ("zero-length WriteFile", STATUS_SUCCESS, Shape::Write(0)),
];

/// A random valid request for a ring of `ring_len` bytes: mostly DMA transfers up to `max`
/// bytes, sometimes a loopback or a query. With `queries`, `GET_INFO`/`GET_STATS` are among the choices.
fn random_request(rng: &mut SplitMix64, max: usize, queries: bool, ring_len: usize) -> Request {
    let len = rng.range(1, max);
    let offset = u32::try_from(rng.below(ring_len as u64)).unwrap_or(0);
    let kinds = if queries { 7 } else { 5 };
    match rng.below(kinds) {
        0 => Request::Write(rng.bytes(len)),
        1 => Request::Read(len),
        2 => Request::WriteAt(offset, rng.bytes(len)),
        3 => Request::ReadAt(offset, len),
        4 => Request::Loopback(rng.bytes(len.min(ring_len))),
        5 => Request::GetInfo,
        _ => Request::GetStats,
    }
}

/// Fisher–Yates shuffle driven by `rng`.
fn shuffle<T>(rng: &mut SplitMix64, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = rng.range(0, i);
        items.swap(i, j);
    }
}

/// Turns a step failure during the handshake into a target error.
fn into_target_error(failure: Failure) -> TargetError {
    match failure {
        Failure::Target(error) => error,
        Failure::Check(message) => TargetError::Unsupported(format!("GET_INFO: {message}")),
    }
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::from_name(scenario.name()), Some(scenario));
        }
        assert_eq!(Scenario::from_name("nope"), None);
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<usize> = (0..20).collect();
        let mut b = a.clone();
        shuffle(&mut SplitMix64::new(3), &mut a);
        shuffle(&mut SplitMix64::new(3), &mut b);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        assert_ne!(a, sorted, "seed 3 moves something");
    }

    #[test]
    fn random_requests_stay_within_the_contract() {
        let mut rng = SplitMix64::new(11);
        for _ in 0..500 {
            let request = random_request(&mut rng, 6000, true, RING);
            assert!(request.information() <= 6000);
            if let Request::Loopback(data) = &request {
                assert!((1..=RING).contains(&data.len()));
            }
            if let Request::ReadAt(offset, _) | Request::WriteAt(offset, _) = request {
                assert!(offset < DEVICE_BUFFER_SIZE);
            }
        }
    }

    #[test]
    fn throughput_is_bytes_per_second() {
        let outcome = Outcome {
            name: "x",
            passed: true,
            bytes: 1000,
            fragments: 0,
            elapsed: Duration::from_millis(500),
            virtual_elapsed: None,
            message: None,
        };
        assert!((outcome.throughput() - 2000.0).abs() < 1e-9);
        let simulated = Outcome {
            virtual_elapsed: Some(Duration::from_secs(4)),
            ..outcome.clone()
        };
        assert_eq!(simulated.device_time(), Duration::from_secs(4));
        assert!(
            (simulated.throughput() - 250.0).abs() < 1e-9,
            "virtual time wins"
        );
        assert!(
            Outcome {
                elapsed: Duration::ZERO,
                ..outcome
            }
            .throughput()
            .abs()
                < 1e-12
        );
    }
}

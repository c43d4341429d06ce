//! The backend abstraction: what the scenarios need from "a device", real or simulated.
//!
//! A [`Target`] accepts operations the way a user-mode program issues them (`ReadFile`,
//! `WriteFile`, `DeviceIoControl`), lets several be in flight at once, and reports each one's
//! completion with the `NTSTATUS` and `Information` the driver completed it with.
//!
//! Ordering promise every backend keeps: [`Target::submit`] hands the request to the driver
//! before it returns, so requests reach the driver in submission order. The scenarios rely on
//! this to predict the device buffer's contents when several requests are in flight.

use core::fmt;

/// One I/O operation as user mode issues it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `ReadFile` of `len` bytes.
    Read {
        /// Bytes requested.
        len: usize,
    },
    /// `WriteFile` of `data`.
    Write {
        /// Bytes to write.
        data: Vec<u8>,
    },
    /// `DeviceIoControl` with an input buffer and an output buffer of `output_len` bytes that
    /// the driver fills (`METHOD_BUFFERED`, `METHOD_OUT_DIRECT`).
    Ioctl {
        /// The control code.
        code: u32,
        /// Input buffer contents.
        input: Vec<u8>,
        /// Size of the output buffer.
        output_len: usize,
    },
    /// `DeviceIoControl` whose *output* buffer carries data to the driver (`METHOD_IN_DIRECT`,
    /// e.g. [`edu_api::IOCTL_EDU_DMA_WRITE_AT`]): the I/O manager maps `data` for reading and
    /// the driver DMAs from it. [`Completion::output`] is empty for this operation.
    IoctlInDirect {
        /// The control code.
        code: u32,
        /// Input buffer contents.
        input: Vec<u8>,
        /// The output buffer, already holding the data the driver reads.
        data: Vec<u8>,
    },
}

impl Op {
    /// Number of bytes the caller asked to move: the read, write, or IOCTL data length.
    #[must_use]
    pub const fn requested(&self) -> usize {
        match self {
            Self::Read { len } => *len,
            Self::Write { data } | Self::IoctlInDirect { data, .. } => data.len(),
            Self::Ioctl { output_len, .. } => *output_len,
        }
    }
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// `NTSTATUS` as the driver completed it.
    pub status: i32,
    /// `IoStatus.Information`: bytes transferred (or returned, for IOCTLs).
    pub information: usize,
    /// Bytes returned: the read data, or the IOCTL output buffer truncated to `information`.
    pub output: Vec<u8>,
    /// Who set [`Completion::status`].
    pub origin: Origin,
}

impl Completion {
    /// A completion the driver made (the status arrived through the completion path).
    #[must_use]
    pub const fn driver(status: i32, information: usize, output: Vec<u8>) -> Self {
        Self {
            status,
            information,
            output,
            origin: Origin::Driver,
        }
    }

    /// The status for messages, saying who set it: a synchronous failure is the I/O manager's
    /// or the framework's, never the driver's.
    #[must_use]
    pub fn describe_status(&self) -> String {
        match self.origin {
            Origin::Driver => crate::status::describe(self.status),
            Origin::BeforeDriver { win32 } => format!(
                "{} (failed synchronously with Win32 error {win32}: rejected by the I/O manager \
                 or KMDF before the driver saw the request)",
                crate::status::describe(self.status)
            ),
        }
    }
}

/// Where a completion's status came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The request pended and completed through the completion path: on Windows the I/O
    /// status block holds the status the driver (or KMDF, for a request it cancelled in a
    /// queue) completed it with. KMDF pends every request it queues, so every status the
    /// driver sets arrives this way.
    Driver,
    /// The call failed before the request pended: the I/O manager or the framework rejected
    /// it, and the status is the one [`crate::status`] translates the Win32 error back to.
    BeforeDriver {
        /// The Win32 error the call returned.
        win32: u32,
    },
}

/// A PnP or power transition the `pnp` and `power` scenarios put the device through while
/// their I/O runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    /// Stop and restart with other resources (a resource rebalance).
    Rebalance,
    /// Disable, then enable the device (a remove and a new device add).
    DisableEnable,
    /// System sleep (S3) and wake.
    Sleep,
    /// Hibernation (S4) and resume.
    Hibernate,
}

impl Transition {
    /// A short name for messages.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rebalance => "rebalance",
            Self::DisableEnable => "disable/enable",
            Self::Sleep => "sleep (S3)",
            Self::Hibernate => "hibernate (S4)",
        }
    }
}

/// Handle to an operation in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket(pub u64);

/// Why a backend could not do what the harness asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// No present device exposes the edu DMA device interface.
    DeviceNotFound,
    /// Opening the device failed with `ERROR_ACCESS_DENIED`.
    AccessDenied,
    /// The driver speaks a different version of the I/O contract.
    VersionMismatch {
        /// `DeviceInfo::api_version` reported by the driver.
        driver: u32,
        /// `edu_api::API_VERSION` this harness was built with.
        harness: u32,
    },
    /// A request did not complete within the harness's time limit. Its buffers stay
    /// allocated (leaked on purpose): the driver still owns them and may write to them later.
    Timeout {
        /// The request's ticket number.
        ticket: u64,
        /// The limit, in seconds.
        seconds: u64,
    },
    /// A request was refused because an earlier one never completed: the run stops rather
    /// than wait again for a driver that has stopped answering.
    Stalled {
        /// The ticket number of the request that did not complete.
        ticket: u64,
    },
    /// A Configuration Manager call failed with a `CONFIGRET` (not a Win32 error).
    ConfigManager {
        /// The failing function.
        call: &'static str,
        /// The `CONFIGRET` value.
        code: u32,
        /// Its name in `cfgmgr32.h`, when known.
        name: Option<&'static str>,
    },
    /// An operating-system call failed.
    Os {
        /// The failing function.
        call: &'static str,
        /// The Win32 error code (`GetLastError`).
        code: u32,
    },
    /// The simulator's verifier (or the simulated machine) reported a finding.
    Simulator(String),
    /// A handle index that [`Target::open_handle`] never returned.
    UnknownHandle(usize),
    /// A ticket that is not in flight (never submitted, or already waited for).
    UnknownTicket(Ticket),
    /// The harness asked for something the backend cannot express (e.g. a buffer over 4 GiB).
    Unsupported(String),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DeviceNotFound => write!(
                f,
                "device not found: no present device exposes the edu DMA interface \
                 (is the driver installed and the device started? see docs/test-machine.md)"
            ),
            Self::AccessDenied => write!(
                f,
                "access denied opening the device: run elevated; the device SDDL admits only \
                 SYSTEM and Administrators"
            ),
            Self::VersionMismatch { driver, harness } => write!(
                f,
                "version mismatch: the driver implements I/O contract version {driver}, this \
                 harness was built for version {harness}; rebuild both from the same tree"
            ),
            Self::Timeout { ticket, seconds } => write!(
                f,
                "request {ticket} did not complete within {seconds} s; the driver still owns its \
                 buffer (left allocated on purpose); the run stops here"
            ),
            Self::Stalled { ticket } => write!(
                f,
                "not issued: request {ticket} never completed, so the driver is not answering"
            ),
            Self::ConfigManager { call, code, name } => match name {
                Some(name) => write!(f, "{call} failed with CONFIGRET {code:#04x} ({name})"),
                None => write!(f, "{call} failed with CONFIGRET {code:#04x}"),
            },
            Self::Os { call, code } => write!(f, "{call} failed with Win32 error {code}"),
            Self::Simulator(finding) => write!(f, "simulator finding: {finding}"),
            Self::UnknownHandle(index) => write!(f, "harness bug: unknown handle index {index}"),
            Self::UnknownTicket(ticket) => {
                write!(f, "harness bug: ticket {} is not in flight", ticket.0)
            }
            Self::Unsupported(what) => write!(f, "unsupported by this backend: {what}"),
        }
    }
}

impl std::error::Error for TargetError {}

/// A device the scenarios can drive: the real one through Win32, or the simulated machine.
pub trait Target {
    /// Opens one more handle to the device; returns its index (handle 0 is opened by the
    /// constructor).
    ///
    /// # Errors
    /// The backend's error when the device cannot be opened again.
    fn open_handle(&mut self) -> Result<usize, TargetError>;

    /// Starts an operation on a handle without waiting (overlapped I/O on Windows).
    ///
    /// # Errors
    /// [`TargetError::UnknownHandle`], or a backend error when the request cannot be issued.
    /// A request the driver fails is *not* an error here: it completes with its status.
    fn submit(&mut self, handle: usize, op: Op) -> Result<Ticket, TargetError>;

    /// Requests cancellation (`CancelIoEx` on Windows); the operation still completes through
    /// [`Target::wait`].
    ///
    /// # Errors
    /// [`TargetError::UnknownTicket`], or a backend error.
    fn cancel(&mut self, ticket: Ticket) -> Result<(), TargetError>;

    /// Waits for the operation to complete and returns its completion.
    ///
    /// # Errors
    /// [`TargetError::UnknownTicket`], or a backend error (for the simulator: a verifier finding
    /// or a request that can never complete).
    fn wait(&mut self, ticket: Ticket) -> Result<Completion, TargetError>;

    /// Lets time pass: real sleep on Windows, virtual time in the simulator.
    fn advance(&mut self, micros: u64);

    /// Whether this backend can put the device through `transition`.
    fn supports(&self, transition: Transition) -> bool {
        let _ = transition;
        false
    }

    /// Whether the device still holds its buffer after `transition` (the simulated device does;
    /// a real one that lost power or was re-created may not).
    fn keeps_device_memory(&self, transition: Transition) -> bool {
        transition == Transition::Rebalance
    }

    /// Puts the device through `transition` and back to working, while the requests in flight
    /// keep running (they end as the driver ends them: at a transfer boundary, or held in the
    /// queue and finished afterwards). Handle indexes stay valid: a backend whose transition
    /// removes the device reopens them afterwards. Completions stay collectable through
    /// [`Target::wait`].
    ///
    /// # Errors
    /// [`TargetError::Unsupported`] when [`Target::supports`] says no (the default), or the
    /// backend's error.
    fn transition(&mut self, transition: Transition) -> Result<(), TargetError> {
        Err(TargetError::Unsupported(format!(
            "{} on this backend",
            transition.name()
        )))
    }

    /// A short name for reports ("windows" or "simulator").
    fn name(&self) -> &'static str;

    /// Backend-specific checks at the end of a run (the simulator's verifier); `Ok(())` on
    /// Windows.
    ///
    /// # Errors
    /// The findings, as [`TargetError::Simulator`].
    fn finish(&mut self) -> Result<(), TargetError>;

    /// The backend's own clock, in nanoseconds since it started, when it differs from wall
    /// time: the simulator's virtual time. `None` (the default) means wall time is the clock,
    /// and throughput is measured against it.
    fn elapsed_ns(&self) -> Option<u64> {
        None
    }

    /// What the harness's resident-memory figure covers with this backend, for the report.
    /// The default (the real device): the harness alone, not the driver.
    fn memory_scope(&self) -> &'static str {
        "the harness process only, not the driver's kernel memory"
    }

    /// Whether [`Completion::information`] of a request that completed with an error status is
    /// the count the driver set. `true` (the default) for the simulator. The Windows backend
    /// says `false`: Microsoft documents `OVERLAPPED.InternalHigh` only for requests that
    /// complete without error, so a 0 there may mean "not reported" (see `windows.rs`).
    fn failed_information_exact(&self) -> bool {
        true
    }

    /// One line about the backend's state for the report (the simulator: the verifier's
    /// verdict and the virtual time); `None` (the default) when there is nothing to add.
    fn verdict(&self) -> Option<String> {
        None
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
    fn requested_counts_the_data_length() {
        assert_eq!(Op::Read { len: 7 }.requested(), 7);
        assert_eq!(Op::Write { data: vec![0; 3] }.requested(), 3);
        let ioctl = Op::Ioctl {
            code: 1,
            input: vec![0; 8],
            output_len: 5,
        };
        assert_eq!(ioctl.requested(), 5);
        let in_direct = Op::IoctlInDirect {
            code: 1,
            input: vec![0; 8],
            data: vec![0; 9],
        };
        assert_eq!(in_direct.requested(), 9);
    }

    #[test]
    fn access_denied_message_tells_to_run_elevated() {
        let text = TargetError::AccessDenied.to_string();
        assert!(text.contains("run elevated"), "{text}");
        assert!(text.contains("SYSTEM and Administrators"), "{text}");
        let mismatch = TargetError::VersionMismatch {
            driver: 2,
            harness: 1,
        }
        .to_string();
        assert!(
            mismatch.contains("version 2") && mismatch.contains("version 1"),
            "{mismatch}"
        );
    }

    #[test]
    fn timeout_and_config_manager_errors_say_what_happened() {
        let timeout = TargetError::Timeout {
            ticket: 7,
            seconds: 3,
        }
        .to_string();
        assert!(
            timeout.starts_with(
                "request 7 did not complete within 3 s; the driver still owns its buffer"
            ),
            "{timeout}"
        );
        let cr = TargetError::ConfigManager {
            call: "CM_Get_Device_Interface_ListW",
            code: 0x13,
            name: Some("CR_FAILURE"),
        }
        .to_string();
        assert_eq!(
            cr,
            "CM_Get_Device_Interface_ListW failed with CONFIGRET 0x13 (CR_FAILURE)"
        );
        assert!(!cr.contains("Win32"), "{cr}");
    }

    #[test]
    fn synchronous_failures_are_not_attributed_to_the_driver() {
        let done = Completion {
            origin: Origin::BeforeDriver { win32: 22 },
            ..Completion::driver(crate::status::STATUS_INVALID_DEVICE_STATE, 0, Vec::new())
        };
        let text = done.describe_status();
        assert!(
            text.starts_with("STATUS_INVALID_DEVICE_STATE (0xC0000184)"),
            "{text}"
        );
        assert!(text.contains("before the driver saw the request"), "{text}");
        let driver = Completion::driver(crate::status::STATUS_CANCELLED, 0, Vec::new());
        assert_eq!(driver.describe_status(), "STATUS_CANCELLED (0xC0000120)");
    }
}

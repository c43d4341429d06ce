//! The real backend: the edu DMA driver through Win32 overlapped I/O.
//!
//! The device is found through its device interface (`GUID_DEVINTERFACE_EDU_DMA`, present
//! devices only) and opened with `FILE_FLAG_OVERLAPPED`, so several requests can be in flight
//! on one handle. Each request gets its own `OVERLAPPED` and manual-reset event; the
//! `OVERLAPPED` and the buffers live in boxes owned by the in-flight table until the request has
//! completed, so the I/O manager never sees them move or disappear.
//!
//! **Every wait has a limit** ([`WindowsTarget::timeout`]). A request that does not complete
//! within it is reported as [`TargetError::Timeout`] ("request N did not complete within S s;
//! the driver still owns its buffer"), cancelled without waiting, and its `OVERLAPPED`, event
//! and buffers are *leaked on purpose*: the driver may still complete it and write into them at
//! any later time, so they must stay valid until the process ends. After that the target is
//! stalled: further requests are refused at once ([`TargetError::Stalled`]) and requests still
//! in flight are collected only if already complete, so one stuck driver costs the run one time
//! limit, not one per request. Dropping the target cancels what is still in flight and waits at
//! most one time limit for all of it together, leaking whatever is still outstanding. (Windows
//! itself may keep the exiting process around while it cancels the thread's outstanding
//! requests; the harness's report and exit status are settled before that.)
//!
//! **Status reporting.** Once a request has gone through the overlapped path, its `OVERLAPPED`
//! holds the I/O status block: `Internal` is the `NTSTATUS` the request completed with (the
//! driver's, or KMDF's for a request it cancelled while queued), reported as
//! [`Origin::Driver`]. A request the I/O system fails before it pends does not write the status
//! block; its Win32 error is translated back with [`crate::status::synchronous_status`] and
//! reported as [`Origin::BeforeDriver`]: the I/O manager or KMDF rejected it, never the driver
//! (KMDF pends every request it queues).
//!
//! **Byte counts of failed requests.** `InternalHigh` is `IoStatus.Information`. Microsoft
//! documents it only for requests that complete without error. In practice the I/O manager
//! copies the whole status block, `Information` included, for every request that pended (which
//! all of this driver's do), but a request failed synchronously never writes it, so the harness
//! sees the 0 it initialised. [`Target::failed_information_exact`] is therefore `false` here:
//! the scenarios treat a failed request's 0 as "unknown" and check a non-zero count exactly.
#![expect(
    unsafe_code,
    reason = "Win32 calls through windows-sys; each block states its contract"
)]

use std::collections::HashMap;
use std::ptr;
use std::time::{Duration, Instant};

use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
    CM_GET_DEVICE_INTERFACE_LIST_PRESENT, CM_Get_Device_Interface_List_SizeW,
    CM_Get_Device_Interface_ListW, CONFIGRET, CR_ACCESS_DENIED, CR_BUFFER_SMALL,
    CR_CALL_NOT_IMPLEMENTED, CR_DEFAULT, CR_FAILURE, CR_INVALID_DATA, CR_INVALID_DEVNODE,
    CR_INVALID_FLAG, CR_INVALID_MACHINENAME, CR_INVALID_POINTER, CR_INVALID_PROPERTY,
    CR_MACHINE_UNAVAILABLE, CR_NO_CM_SERVICES, CR_NO_SUCH_DEVICE_INTERFACE, CR_NO_SUCH_DEVNODE,
    CR_NO_SUCH_REGISTRY_KEY, CR_NO_SUCH_VALUE, CR_OUT_OF_MEMORY, CR_REGISTRY_ERROR,
    CR_REMOTE_COMM_FAILURE, CR_SUCCESS,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_ACCESS_DENIED, ERROR_IO_INCOMPLETE, ERROR_IO_PENDING, ERROR_NOT_FOUND,
    FALSE, GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE, TRUE, WAIT_OBJECT_0,
    WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_OVERLAPPED, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING, ReadFile,
    WriteFile,
};
use windows_sys::Win32::System::IO::{
    CancelIoEx, DeviceIoControl, GetOverlappedResult, OVERLAPPED,
};
use windows_sys::Win32::System::Threading::{CreateEventW, WaitForSingleObject};
use windows_sys::core::GUID;

use crate::status::{nt, synchronous_status};
use crate::target::{Completion, Op, Origin, Target, TargetError, Ticket, Transition};

/// `STATUS_PENDING`: what `OVERLAPPED.Internal` holds until the request completes.
const STATUS_PENDING: i32 = 0x103;

/// The default limit on each wait (see [`crate::cli::DEFAULT_TIMEOUT_SECONDS`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(crate::cli::DEFAULT_TIMEOUT_SECONDS);

/// The `CONFIGRET` values the interface lookup can meet, with their `cfgmgr32.h` names.
/// `CONFIGRET` is its own number space: `CR_FAILURE` (0x13) is not `ERROR_WRITE_PROTECT` (19).
pub const CONFIGRET_NAMES: [(CONFIGRET, &str); 21] = [
    (CR_SUCCESS, "CR_SUCCESS"),
    (CR_DEFAULT, "CR_DEFAULT"),
    (CR_OUT_OF_MEMORY, "CR_OUT_OF_MEMORY"),
    (CR_INVALID_POINTER, "CR_INVALID_POINTER"),
    (CR_INVALID_FLAG, "CR_INVALID_FLAG"),
    (CR_INVALID_DEVNODE, "CR_INVALID_DEVNODE"),
    (CR_NO_SUCH_DEVNODE, "CR_NO_SUCH_DEVNODE"),
    (CR_FAILURE, "CR_FAILURE"),
    (CR_REGISTRY_ERROR, "CR_REGISTRY_ERROR"),
    (CR_BUFFER_SMALL, "CR_BUFFER_SMALL"),
    (CR_INVALID_DATA, "CR_INVALID_DATA"),
    (CR_NO_SUCH_VALUE, "CR_NO_SUCH_VALUE"),
    (CR_NO_SUCH_REGISTRY_KEY, "CR_NO_SUCH_REGISTRY_KEY"),
    (CR_INVALID_MACHINENAME, "CR_INVALID_MACHINENAME"),
    (CR_REMOTE_COMM_FAILURE, "CR_REMOTE_COMM_FAILURE"),
    (CR_MACHINE_UNAVAILABLE, "CR_MACHINE_UNAVAILABLE"),
    (CR_NO_CM_SERVICES, "CR_NO_CM_SERVICES"),
    (CR_ACCESS_DENIED, "CR_ACCESS_DENIED"),
    (CR_CALL_NOT_IMPLEMENTED, "CR_CALL_NOT_IMPLEMENTED"),
    (CR_INVALID_PROPERTY, "CR_INVALID_PROPERTY"),
    (CR_NO_SUCH_DEVICE_INTERFACE, "CR_NO_SUCH_DEVICE_INTERFACE"),
];

/// The error for a failed Configuration Manager call.
fn config_manager_error(call: &'static str, code: CONFIGRET) -> TargetError {
    TargetError::ConfigManager {
        call,
        code,
        name: CONFIGRET_NAMES
            .iter()
            .find(|(value, _)| *value == code)
            .map(|(_, name)| *name),
    }
}

/// The calling thread's last Win32 error (read through std, which wraps `GetLastError`).
fn last_error() -> u32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .and_then(|code| u32::try_from(code).ok())
        .unwrap_or(0)
}

/// A duration as a `WaitForSingleObject` timeout, below `INFINITE`.
fn millis(limit: Duration) -> u32 {
    u32::try_from(limit.as_millis()).map_or(u32::MAX - 1, |ms| ms.min(u32::MAX - 1))
}

/// Whole seconds of a limit, for reports (at least 1 when the limit is not zero).
fn seconds(limit: Duration) -> u64 {
    limit.as_secs().max(u64::from(!limit.is_zero()))
}

/// A kernel handle closed on drop.
#[derive(Debug)]
struct OwnedHandle(HANDLE);

impl Drop for OwnedHandle {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a valid handle this value owns exclusively (it is only created from
        // a successful CreateFileW/CreateEventW), and it is closed exactly once, here.
        let _ = unsafe { CloseHandle(self.0) };
    }
}

/// How a submitted request stands.
#[derive(Debug)]
enum State {
    /// Issued; the I/O manager owns the `OVERLAPPED` and the buffers until it completes.
    Issued,
    /// Failed before it pended: the I/O system never took the buffers.
    Failed(Result<Completion, TargetError>),
    /// Completed and collected.
    Collected,
}

/// Which Win32 call issued the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `ReadFile`.
    Read,
    /// `WriteFile`.
    Write,
    /// `DeviceIoControl` with an output buffer the driver fills; `buffered` for
    /// `METHOD_BUFFERED` codes, whose output the I/O manager copies back only on a non-error
    /// status.
    Ioctl { buffered: bool },
    /// `DeviceIoControl` with an output buffer the driver reads.
    IoctlInDirect,
}

impl Kind {
    /// Name of the Win32 call, for errors.
    const fn call(self) -> &'static str {
        match self {
            Self::Read => "ReadFile",
            Self::Write => "WriteFile",
            Self::Ioctl { .. } | Self::IoctlInDirect => "DeviceIoControl",
        }
    }

    /// Whether the buffer's contents are returned to the caller.
    const fn returns_data(self) -> bool {
        matches!(self, Self::Read | Self::Ioctl { .. })
    }
}

/// One request in flight, with everything the I/O manager may touch until it completes.
struct InFlight {
    /// Its ticket number, for reports.
    ticket: u64,
    /// The device handle it was issued on (owned by [`WindowsTarget::handles`]).
    device: HANDLE,
    /// Which call issued it.
    kind: Kind,
    /// Boxed so its address is stable while the request is in flight.
    overlapped: Box<OVERLAPPED>,
    /// The manual-reset event signalled at completion.
    event: OwnedHandle,
    /// The IOCTL input buffer (empty for reads and writes).
    input: Box<[u8]>,
    /// The data buffer: read destination, write source or IOCTL output buffer.
    buffer: Box<[u8]>,
    /// Progress.
    state: State,
    /// How long [`Drop`] waits for the request after cancelling it.
    drop_limit: Duration,
}

impl InFlight {
    /// Waits up to `limit` for the request and turns its status block into a [`Completion`].
    /// `None`: still in flight when the limit passed (or the wait itself failed); the caller
    /// must not free the entry (see [`abandon`]).
    fn collect(&mut self, limit: Duration) -> Option<Result<Completion, TargetError>> {
        match std::mem::replace(&mut self.state, State::Collected) {
            State::Failed(result) => Some(result),
            State::Collected => Some(Err(TargetError::Unsupported(
                "request already collected".to_owned(),
            ))),
            State::Issued => {
                let result = self.completed(limit);
                if result.is_none() {
                    self.state = State::Issued;
                }
                result
            }
        }
    }

    /// The completion of an issued request, once it has one, waiting at most `limit`.
    fn completed(&self, limit: Duration) -> Option<Result<Completion, TargetError>> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // SAFETY: `event` is the open event handle this request was issued with.
            let waited = unsafe { WaitForSingleObject(self.event.0, millis(left)) };
            if waited == WAIT_TIMEOUT {
                return None;
            }
            if waited != WAIT_OBJECT_0 {
                // The wait itself failed: nothing says the request is done, so it stays owned.
                return None;
            }
            let mut transferred = 0_u32;
            // SAFETY: `device` is open (the target keeps its handles until every request is
            // collected or abandoned) and `overlapped` is the structure this request was issued
            // with, alive and unmoved (boxed). bWait = FALSE: no wait here; the event above
            // already said the request completed.
            let ok = unsafe {
                GetOverlappedResult(
                    self.device,
                    &raw const *self.overlapped,
                    &raw mut transferred,
                    FALSE,
                )
            };
            let error = if ok == FALSE { last_error() } else { 0 };
            if error == ERROR_IO_INCOMPLETE {
                // Signalled but not complete (cannot happen with a private event; be safe).
                if Instant::now() >= deadline {
                    return None;
                }
                continue;
            }
            return Some(self.completion(error));
        }
    }

    /// Reads the status block of a completed request.
    ///
    /// # Errors
    /// [`TargetError::Os`] for a request that failed with no status block and a Win32 error
    /// outside the translation tables.
    fn completion(&self, error: u32) -> Result<Completion, TargetError> {
        let status = nt(u32::try_from(self.overlapped.Internal & 0xFFFF_FFFF).unwrap_or(0));
        let (status, origin) = if status == STATUS_PENDING {
            // Not written by the I/O system: fall back on the Win32 translation.
            let status = synchronous_status(error).ok_or(TargetError::Os {
                call: "GetOverlappedResult",
                code: error,
            })?;
            (status, Origin::BeforeDriver { win32: error })
        } else {
            (status, Origin::Driver)
        };
        let information = self.overlapped.InternalHigh;
        // NT_ERROR: the I/O manager copied no buffered output back.
        let copied_back = !(matches!(self.kind, Kind::Ioctl { buffered: true })
            && status.cast_unsigned() >> 30 == 3);
        let output = if self.kind.returns_data() && copied_back {
            self.buffer
                .get(..information.min(self.buffer.len()))
                .unwrap_or_default()
                .to_vec()
        } else {
            Vec::new()
        };
        Ok(Completion {
            status,
            information,
            output,
            origin,
        })
    }

    /// Asks the I/O manager to cancel the request; it still completes through the status
    /// block. `false` when there was nothing to cancel (already complete).
    ///
    /// # Errors
    /// [`TargetError::Os`] when `CancelIoEx` fails for another reason than "not found".
    fn request_cancel(&self) -> Result<bool, TargetError> {
        if !matches!(self.state, State::Issued) {
            return Ok(false);
        }
        // SAFETY: the device handle is open and `overlapped` identifies this request.
        let ok = unsafe { CancelIoEx(self.device, &raw const *self.overlapped) };
        if ok == FALSE {
            let error = last_error();
            // ERROR_NOT_FOUND: it already completed; collecting it reports how.
            if error == ERROR_NOT_FOUND {
                return Ok(false);
            }
            return Err(TargetError::Os {
                call: "CancelIoEx",
                code: error,
            });
        }
        Ok(true)
    }
}

/// Gives up on a request that did not complete in time.
///
/// Asks for its cancellation without waiting, then leaks it. The driver owns its `OVERLAPPED`, event and buffers until it
/// completes the request, which may be never or after this process has moved on: freeing
/// them would let the kernel write into reused memory, so they stay allocated, on purpose,
/// until the process ends.
fn abandon(entry: InFlight) {
    let _ = entry.request_cancel();
    // Never dropped, so its Drop (cancel and wait) never runs and nothing in it is freed.
    let _: &'static mut InFlight = Box::leak(Box::new(entry));
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !matches!(self.state, State::Issued) {
            return;
        }
        // Abandoned while in flight (e.g. the harness bailed out): cancel it and wait, within
        // the limit, so the I/O manager is finished with the buffers before they are freed.
        let _ = self.request_cancel();
        if self.collect(self.drop_limit).is_some() {
            return;
        }
        eprintln!(
            "edu-harness: request {} did not complete within {} s of its cancellation; the \
             driver still owns its buffer, which is left allocated",
            self.ticket,
            seconds(self.drop_limit)
        );
        // Move everything the driver may still touch out of `self` and leak it.
        let overlapped = std::mem::take(&mut self.overlapped);
        let _ = Box::leak(overlapped);
        let _ = Box::leak(std::mem::take(&mut self.input));
        let _ = Box::leak(std::mem::take(&mut self.buffer));
        let event = std::mem::replace(&mut self.event, OwnedHandle(ptr::null_mut()));
        let _ = Box::leak(Box::new(event));
    }
}

/// The edu DMA device, opened through its driver.
pub struct WindowsTarget {
    /// Requests in flight. Declared before `handles` so it is dropped first: abandoned requests
    /// are cancelled and waited for while their device handle is still open.
    in_flight: HashMap<u64, InFlight>,
    /// Open device handles; index 0 is opened by [`WindowsTarget::open`].
    handles: Vec<OwnedHandle>,
    /// NUL-terminated device interface path.
    path: Vec<u16>,
    /// Next ticket number.
    next_ticket: u64,
    /// The limit on each wait.
    timeout: Duration,
    /// The ticket of the first request that did not complete within the limit.
    stalled: Option<u64>,
    /// Completions collected early (before a disable closed the handles), by ticket.
    finished: HashMap<u64, Result<Completion, TargetError>>,
}

impl WindowsTarget {
    /// Finds the first present device exposing `GUID_DEVINTERFACE_EDU_DMA` and opens it, with
    /// the default time limit.
    ///
    /// # Errors
    /// [`TargetError::DeviceNotFound`], [`TargetError::AccessDenied`], or the failing call.
    pub fn open() -> Result<Self, TargetError> {
        Self::open_path(&interface_path()?, DEFAULT_TIMEOUT)
    }

    /// Opens `path` (a device interface path, or anything `CreateFileW` opens for overlapped
    /// I/O, such as a named pipe in the tests) with `timeout` as the limit on each wait.
    ///
    /// # Errors
    /// [`TargetError::AccessDenied`], [`TargetError::Unsupported`] for a zero limit or a path
    /// with a NUL in it, or the failing call.
    pub fn open_path(path: &str, timeout: Duration) -> Result<Self, TargetError> {
        if timeout.is_zero() {
            return Err(TargetError::Unsupported("a time limit of zero".to_owned()));
        }
        if path.contains('\0') {
            return Err(TargetError::Unsupported(format!(
                "device path {path:?} contains NUL"
            )));
        }
        let mut wide: Vec<u16> = path.encode_utf16().collect();
        wide.push(0);
        let mut target = Self {
            in_flight: HashMap::new(),
            handles: Vec::new(),
            path: wide,
            next_ticket: 1,
            timeout,
            stalled: None,
            finished: HashMap::new(),
        };
        target.open_handle()?;
        Ok(target)
    }

    /// The limit on each wait.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The device interface path, for reports.
    #[must_use]
    pub fn path(&self) -> String {
        String::from_utf16_lossy(self.path.strip_suffix(&[0]).unwrap_or(&self.path))
    }
}

impl Drop for WindowsTarget {
    fn drop(&mut self) {
        // Cancel everything first, so the requests wind down together, then give all of them
        // one time limit in total (none once a request has already timed out).
        for entry in self.in_flight.values() {
            let _ = entry.request_cancel();
        }
        let total = if self.stalled.is_some() {
            Duration::ZERO
        } else {
            self.timeout
        };
        let deadline = Instant::now() + total;
        for (_, mut entry) in self.in_flight.drain() {
            entry.drop_limit = deadline.saturating_duration_since(Instant::now());
            drop(entry);
        }
    }
}

impl WindowsTarget {
    /// Disables and enables the device with the configuration manager, as Device Manager does.
    ///
    /// Windows vetoes the query-remove of a device with open handles, so the requests in flight
    /// are collected first (kept for [`Target::wait`]) and the handles closed; after the enable
    /// the same number of handles is opened again on the same interface path.
    ///
    /// # Errors
    /// A request that did not complete within the limit, or the failing call.
    fn disable_enable(&mut self) -> Result<(), TargetError> {
        let tickets: Vec<u64> = self.in_flight.keys().copied().collect();
        for ticket in tickets {
            let Some(mut entry) = self.in_flight.remove(&ticket) else {
                continue;
            };
            if let Some(result) = entry.collect(self.timeout) {
                self.finished.insert(ticket, result);
            } else {
                abandon(entry);
                self.stalled = Some(ticket);
                return Err(TargetError::Timeout {
                    ticket,
                    seconds: seconds(self.timeout),
                });
            }
        }
        let instance = pnp::instance_id(&self.path)?;
        let count = self.handles.len();
        self.handles.clear();
        pnp::disable_enable(&instance)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.open_handle() {
                Ok(_) => break,
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        while self.handles.len() < count {
            self.open_handle()?;
        }
        Ok(())
    }
}

/// Configuration-manager and power calls of the `pnp` and `power` scenarios.
mod pnp {
    use std::ptr;
    use std::time::Duration;

    use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
        CM_DISABLE_UI_NOT_OK, CM_Disable_DevNode, CM_Enable_DevNode,
        CM_Get_Device_Interface_PropertyW, CM_LOCATE_DEVNODE_NORMAL, CM_Locate_DevNodeW,
        CR_BUFFER_SMALL, CR_SUCCESS,
    };
    use windows_sys::Win32::Devices::Properties::{DEVPKEY_Device_InstanceId, DEVPROPTYPE};
    use windows_sys::Win32::Foundation::{FALSE, LUID, TRUE, WAIT_OBJECT_0};
    use windows_sys::Win32::Security::{
        AdjustTokenPrivileges, LUID_AND_ATTRIBUTES, LookupPrivilegeValueW, SE_PRIVILEGE_ENABLED,
        SE_SHUTDOWN_NAME, TOKEN_ADJUST_PRIVILEGES, TOKEN_PRIVILEGES, TOKEN_QUERY,
    };
    use windows_sys::Win32::System::Power::SetSuspendState;
    use windows_sys::Win32::System::Threading::{
        CreateWaitableTimerW, GetCurrentProcess, OpenProcessToken, SetWaitableTimer,
        WaitForSingleObject,
    };

    use super::{OwnedHandle, config_manager_error, last_error, millis};
    use crate::target::TargetError;

    /// How long the machine sleeps before its wake timer resumes it.
    const SLEEP_SECONDS: i64 = 30;

    /// The device instance ID (NUL-terminated UTF-16) behind a device interface path.
    ///
    /// # Errors
    /// The failing `CM_Get_Device_Interface_PropertyW`.
    pub(super) fn instance_id(path: &[u16]) -> Result<Vec<u16>, TargetError> {
        let call = "CM_Get_Device_Interface_PropertyW";
        let key = DEVPKEY_Device_InstanceId;
        let mut kind: DEVPROPTYPE = 0;
        let mut size: u32 = 0;
        // SAFETY: `path` is NUL-terminated; a null buffer with size 0 asks for the size.
        let code = unsafe {
            CM_Get_Device_Interface_PropertyW(
                path.as_ptr(),
                &raw const key,
                &raw mut kind,
                ptr::null_mut(),
                &raw mut size,
                0,
            )
        };
        if code != CR_BUFFER_SMALL && code != CR_SUCCESS {
            return Err(config_manager_error(call, code));
        }
        let mut buffer = vec![0u16; (size as usize).div_ceil(2)];
        // SAFETY: `buffer` holds `size` bytes; the other pointers are live locals.
        let code = unsafe {
            CM_Get_Device_Interface_PropertyW(
                path.as_ptr(),
                &raw const key,
                &raw mut kind,
                buffer.as_mut_ptr().cast(),
                &raw mut size,
                0,
            )
        };
        if code != CR_SUCCESS {
            return Err(config_manager_error(call, code));
        }
        if buffer.last() != Some(&0) {
            buffer.push(0);
        }
        Ok(buffer)
    }

    /// `CM_Locate_DevNodeW`, `CM_Disable_DevNode`, `CM_Enable_DevNode`.
    ///
    /// # Errors
    /// The failing call (`CR_REMOVE_VETOED` when something still holds the device open).
    pub(super) fn disable_enable(instance: &[u16]) -> Result<(), TargetError> {
        let mut node: u32 = 0;
        // SAFETY: `instance` is NUL-terminated; `node` is a live out value.
        let code = unsafe {
            CM_Locate_DevNodeW(&raw mut node, instance.as_ptr(), CM_LOCATE_DEVNODE_NORMAL)
        };
        if code != CR_SUCCESS {
            return Err(config_manager_error("CM_Locate_DevNodeW", code));
        }
        // SAFETY: a devnode handle from CM_Locate_DevNodeW.
        let code = unsafe { CM_Disable_DevNode(node, CM_DISABLE_UI_NOT_OK) };
        if code != CR_SUCCESS {
            return Err(config_manager_error("CM_Disable_DevNode", code));
        }
        // SAFETY: as above.
        let code = unsafe { CM_Enable_DevNode(node, 0) };
        if code != CR_SUCCESS {
            return Err(config_manager_error("CM_Enable_DevNode", code));
        }
        Ok(())
    }

    /// Enables `SeShutdownPrivilege` in the process token (`SetSuspendState` needs it).
    ///
    /// # Errors
    /// The failing call.
    fn enable_shutdown_privilege() -> Result<(), TargetError> {
        let mut token = ptr::null_mut();
        // SAFETY: no arguments; returns the pseudo-handle of this process.
        let process = unsafe { GetCurrentProcess() };
        // SAFETY: the pseudo-handle of this process and a live out handle.
        let ok = unsafe {
            OpenProcessToken(
                process,
                TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY,
                &raw mut token,
            )
        };
        if ok == FALSE {
            return Err(TargetError::Os {
                call: "OpenProcessToken",
                code: last_error(),
            });
        }
        let token = OwnedHandle(token);
        let mut luid = LUID {
            LowPart: 0,
            HighPart: 0,
        };
        // SAFETY: a null system name means this machine; the name is a static wide string.
        let ok = unsafe { LookupPrivilegeValueW(ptr::null(), SE_SHUTDOWN_NAME, &raw mut luid) };
        if ok == FALSE {
            return Err(TargetError::Os {
                call: "LookupPrivilegeValueW",
                code: last_error(),
            });
        }
        let privileges = TOKEN_PRIVILEGES {
            PrivilegeCount: 1,
            Privileges: [LUID_AND_ATTRIBUTES {
                Luid: luid,
                Attributes: SE_PRIVILEGE_ENABLED,
            }],
        };
        // SAFETY: a token opened with TOKEN_ADJUST_PRIVILEGES and a live TOKEN_PRIVILEGES; no
        // previous state is asked for.
        let ok = unsafe {
            AdjustTokenPrivileges(
                token.0,
                FALSE,
                &raw const privileges,
                0,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        // AdjustTokenPrivileges succeeds without assigning a privilege the token lacks
        // (ERROR_NOT_ALL_ASSIGNED): then SetSuspendState fails and reports it.
        if ok == FALSE {
            return Err(TargetError::Os {
                call: "AdjustTokenPrivileges",
                code: last_error(),
            });
        }
        Ok(())
    }

    /// Sleeps (S3) or hibernates (S4) the machine until its wake timer resumes it.
    ///
    /// The timer is armed [`SLEEP_SECONDS`] ahead; the call returns once the system has resumed
    /// and the timer fired (waiting at most `limit` after the resume). Wake timers must be
    /// allowed by the power plan, and S3 or hibernation available.
    ///
    /// # Errors
    /// The failing call.
    pub(super) fn suspend(hibernate: bool, limit: Duration) -> Result<(), TargetError> {
        enable_shutdown_privilege()?;
        // SAFETY: null attributes and name; manual reset.
        let timer = unsafe { CreateWaitableTimerW(ptr::null(), TRUE, ptr::null()) };
        if timer.is_null() {
            return Err(TargetError::Os {
                call: "CreateWaitableTimerW",
                code: last_error(),
            });
        }
        let timer = OwnedHandle(timer);
        // Relative due time, in 100 ns units.
        let due: i64 = -SLEEP_SECONDS * 10_000_000;
        // SAFETY: a timer handle and a live due time; no completion routine; fResume wakes
        // the system.
        let ok = unsafe { SetWaitableTimer(timer.0, &raw const due, 0, None, ptr::null(), TRUE) };
        if ok == FALSE {
            return Err(TargetError::Os {
                call: "SetWaitableTimer",
                code: last_error(),
            });
        }
        // SAFETY: plain arguments; the call returns after the system resumes.
        let ok = unsafe { SetSuspendState(hibernate, false, false) };
        if !ok {
            return Err(TargetError::Os {
                call: "SetSuspendState",
                code: last_error(),
            });
        }
        // SAFETY: a live timer handle.
        let waited = unsafe { WaitForSingleObject(timer.0, millis(limit)) };
        if waited != WAIT_OBJECT_0 {
            return Err(TargetError::Os {
                call: "WaitForSingleObject (wake timer)",
                code: last_error(),
            });
        }
        Ok(())
    }
}

/// Looks up the first present device exposing `GUID_DEVINTERFACE_EDU_DMA`.
///
/// # Errors
/// [`TargetError::DeviceNotFound`] for an empty list, or the failing call as
/// [`TargetError::ConfigManager`].
pub fn interface_path() -> Result<String, TargetError> {
    let id = edu_api::GUID_DEVINTERFACE_EDU_DMA;
    let guid = GUID {
        data1: id.data1,
        data2: id.data2,
        data3: id.data3,
        data4: id.data4,
    };
    // The list can grow between the two calls when a device arrives; retry a few times.
    for _ in 0..5 {
        let mut len = 0_u32;
        // SAFETY: `len` and `guid` are valid for the call; a null device ID asks for every
        // device's interfaces.
        let result = unsafe {
            CM_Get_Device_Interface_List_SizeW(
                &raw mut len,
                &raw const guid,
                ptr::null(),
                CM_GET_DEVICE_INTERFACE_LIST_PRESENT,
            )
        };
        if result != CR_SUCCESS {
            return Err(config_manager_error(
                "CM_Get_Device_Interface_List_SizeW",
                result,
            ));
        }
        // An empty list is a single NUL.
        if len <= 1 {
            return Err(TargetError::DeviceNotFound);
        }
        let mut list = vec![0_u16; usize::try_from(len).unwrap_or(0)];
        // SAFETY: `list` has room for `len` UTF-16 units, as passed; `guid` is valid.
        let result = unsafe {
            CM_Get_Device_Interface_ListW(
                &raw const guid,
                ptr::null(),
                list.as_mut_ptr(),
                len,
                CM_GET_DEVICE_INTERFACE_LIST_PRESENT,
            )
        };
        if result == CR_BUFFER_SMALL {
            continue;
        }
        if result != CR_SUCCESS {
            return Err(config_manager_error(
                "CM_Get_Device_Interface_ListW",
                result,
            ));
        }
        let first: Vec<u16> = list.iter().copied().take_while(|&unit| unit != 0).collect();
        if first.is_empty() {
            return Err(TargetError::DeviceNotFound);
        }
        return Ok(String::from_utf16_lossy(&first));
    }
    Err(config_manager_error(
        "CM_Get_Device_Interface_ListW",
        CR_BUFFER_SMALL,
    ))
}

/// Converts a buffer length for a Win32 call.
///
/// # Errors
/// [`TargetError::Unsupported`] for a buffer of 4 GiB or more.
fn length(call: &str, len: usize) -> Result<u32, TargetError> {
    u32::try_from(len)
        .map_err(|_| TargetError::Unsupported(format!("{call} of {len} bytes (over 4 GiB)")))
}

/// A pointer for an optional Win32 buffer: null when empty.
const fn optional_mut(buffer: &mut [u8]) -> *mut u8 {
    if buffer.is_empty() {
        ptr::null_mut()
    } else {
        buffer.as_mut_ptr()
    }
}

/// Issues an entry's request with the Win32 call of its kind; returns the call's result.
fn issue(entry: &mut InFlight, code: u32, input_len: u32, buffer_len: u32) -> i32 {
    let device = entry.device;
    let overlapped: *mut OVERLAPPED = &raw mut *entry.overlapped;
    match entry.kind {
        // SAFETY: `buffer` (boxed, owned by `entry`, which the caller puts into the in-flight
        // table or abandons, never frees while issued) holds `buffer_len` writable bytes and stays alive and unmoved until the
        // request is collected; `overlapped` likewise. The byte-count pointer may be null
        // for overlapped I/O.
        Kind::Read => unsafe {
            ReadFile(
                device,
                entry.buffer.as_mut_ptr(),
                buffer_len,
                ptr::null_mut(),
                overlapped,
            )
        },
        // SAFETY: as for ReadFile; the buffer is only read.
        Kind::Write => unsafe {
            WriteFile(
                device,
                entry.buffer.as_ptr(),
                buffer_len,
                ptr::null_mut(),
                overlapped,
            )
        },
        // SAFETY: both buffers are boxed, owned by `entry` and valid for the lengths passed
        // (null when empty) until the request is collected; `overlapped` likewise.
        Kind::Ioctl { .. } | Kind::IoctlInDirect => unsafe {
            DeviceIoControl(
                device,
                code,
                optional_mut(&mut entry.input).cast_const().cast(),
                input_len,
                optional_mut(&mut entry.buffer).cast(),
                buffer_len,
                ptr::null_mut(),
                overlapped,
            )
        },
    }
}

impl Target for WindowsTarget {
    fn open_handle(&mut self) -> Result<usize, TargetError> {
        // SAFETY: `path` is a NUL-terminated UTF-16 string; null security attributes and template
        // handle are allowed.
        let handle = unsafe {
            CreateFileW(
                self.path.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_OVERLAPPED,
                ptr::null_mut(),
            )
        };
        if handle == INVALID_HANDLE_VALUE {
            return Err(match last_error() {
                ERROR_ACCESS_DENIED => TargetError::AccessDenied,
                code => TargetError::Os {
                    call: "CreateFileW",
                    code,
                },
            });
        }
        self.handles.push(OwnedHandle(handle));
        Ok(self.handles.len() - 1)
    }

    fn submit(&mut self, handle: usize, op: Op) -> Result<Ticket, TargetError> {
        if let Some(ticket) = self.stalled {
            return Err(TargetError::Stalled { ticket });
        }
        let device = self
            .handles
            .get(handle)
            .ok_or(TargetError::UnknownHandle(handle))?
            .0;
        let (kind, code, input, buffer) = match op {
            Op::Read { len } => (Kind::Read, 0, Vec::new(), vec![0; len]),
            Op::Write { data } => (Kind::Write, 0, Vec::new(), data),
            Op::Ioctl {
                code,
                input,
                output_len,
            } => (
                Kind::Ioctl {
                    buffered: edu_api::method_of(code) == edu_api::METHOD_BUFFERED,
                },
                code,
                input,
                vec![0; output_len],
            ),
            Op::IoctlInDirect { code, input, data } => (Kind::IoctlInDirect, code, input, data),
        };
        let buffer_len = length(kind.call(), buffer.len())?;
        let input_len = length(kind.call(), input.len())?;
        // SAFETY: null attributes and name are allowed; manual reset, initially non-signalled.
        let event = unsafe { CreateEventW(ptr::null(), TRUE, FALSE, ptr::null()) };
        if event.is_null() {
            return Err(TargetError::Os {
                call: "CreateEventW",
                code: last_error(),
            });
        }
        let event = OwnedHandle(event);
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let mut entry = InFlight {
            ticket,
            device,
            kind,
            overlapped: Box::new(OVERLAPPED {
                hEvent: event.0,
                ..Default::default()
            }),
            event,
            input: input.into_boxed_slice(),
            buffer: buffer.into_boxed_slice(),
            state: State::Issued,
            drop_limit: self.timeout,
        };
        let ok = issue(&mut entry, code, input_len, buffer_len);
        if ok == FALSE {
            let error = last_error();
            if error != ERROR_IO_PENDING {
                // Failed before it pended: no status block, no buffers in use, and not the
                // driver's doing (the I/O manager or KMDF rejected it).
                let result = synchronous_status(error)
                    .map(|status| Completion {
                        status,
                        information: 0,
                        output: Vec::new(),
                        origin: Origin::BeforeDriver { win32: error },
                    })
                    .ok_or_else(|| TargetError::Os {
                        call: kind.call(),
                        code: error,
                    });
                entry.state = State::Failed(result);
            }
        }
        self.in_flight.insert(ticket, entry);
        Ok(Ticket(ticket))
    }

    fn cancel(&mut self, ticket: Ticket) -> Result<(), TargetError> {
        let entry = self
            .in_flight
            .get(&ticket.0)
            .ok_or(TargetError::UnknownTicket(ticket))?;
        entry.request_cancel().map(|_| ())
    }

    fn wait(&mut self, ticket: Ticket) -> Result<Completion, TargetError> {
        if let Some(result) = self.finished.remove(&ticket.0) {
            return result;
        }
        let mut entry = self
            .in_flight
            .remove(&ticket.0)
            .ok_or(TargetError::UnknownTicket(ticket))?;
        // Once a request has timed out, collect only what has already completed.
        let limit = if self.stalled.is_some() {
            Duration::ZERO
        } else {
            self.timeout
        };
        if let Some(result) = entry.collect(limit) {
            return result;
        }
        abandon(entry);
        if let Some(first) = self.stalled {
            return Err(TargetError::Stalled { ticket: first });
        }
        self.stalled = Some(ticket.0);
        Err(TargetError::Timeout {
            ticket: ticket.0,
            seconds: seconds(self.timeout),
        })
    }

    fn advance(&mut self, micros: u64) {
        std::thread::sleep(Duration::from_micros(micros));
    }

    fn supports(&self, transition: Transition) -> bool {
        // Windows offers no call that makes the PnP manager rebalance a device's resources;
        // the DevFund rebalance cases (scripts/Invoke-DeviceFundamentals.ps1) exercise it.
        transition != Transition::Rebalance
    }

    fn transition(&mut self, transition: Transition) -> Result<(), TargetError> {
        match transition {
            Transition::DisableEnable => self.disable_enable(),
            Transition::Sleep => pnp::suspend(false, self.timeout),
            Transition::Hibernate => pnp::suspend(true, self.timeout),
            Transition::Rebalance => Err(TargetError::Unsupported(
                "a resource rebalance from user mode (run the DevFund rebalance cases)".to_owned(),
            )),
        }
    }

    fn name(&self) -> &'static str {
        "windows"
    }

    fn finish(&mut self) -> Result<(), TargetError> {
        Ok(())
    }

    fn failed_information_exact(&self) -> bool {
        false
    }
}

/// The overlapped I/O core against a named pipe served by the test itself.
///
/// The pipe is a stand-in device whose requests pend until the server end answers, can be cancelled, and can be made never
/// to complete. Runs on Windows and, in CI, under Wine (`tools/edu-harness/wine/`).
#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use std::fs::File;
    use std::io::{Read as _, Write as _};
    use std::os::windows::io::FromRawHandle as _;
    use std::sync::atomic::{AtomicU32, Ordering};

    use edu_api::{DeviceInfo, IOCTL_EDU_GET_INFO, IOCTL_EDU_GET_STATS, Statistics};
    use windows_sys::Win32::Foundation::RtlNtStatusToDosError;
    use windows_sys::Win32::Storage::FileSystem::PIPE_ACCESS_DUPLEX;
    use windows_sys::Win32::System::Pipes::{
        CreateNamedPipeW, PIPE_READMODE_BYTE, PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES, PIPE_WAIT,
    };

    use super::*;
    use crate::status::{
        STATUS_CANCELLED, STATUS_SUCCESS, STATUS_TABLE, SYNCHRONOUS_TABLE, describe,
    };

    /// A pipe name no other test (or test process) uses.
    fn pipe_name(tag: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        format!(r"\\.\pipe\edu-harness-{}-{tag}-{n}", std::process::id())
    }

    /// Creates one more listening instance of the pipe `name`: the server end, blocking.
    fn serve(name: &str) -> File {
        let wide: Vec<u16> = name.encode_utf16().chain([0]).collect();
        // SAFETY: `wide` is NUL-terminated; null security attributes are allowed.
        let handle = unsafe {
            CreateNamedPipeW(
                wide.as_ptr(),
                PIPE_ACCESS_DUPLEX,
                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                PIPE_UNLIMITED_INSTANCES,
                65536,
                65536,
                0,
                ptr::null(),
            )
        };
        assert_ne!(
            handle,
            INVALID_HANDLE_VALUE,
            "CreateNamedPipeW: {}",
            last_error()
        );
        // SAFETY: a fresh handle nothing else owns; the File closes it.
        unsafe { File::from_raw_handle(handle) }
    }

    /// A target on a fresh pipe and the server end of its handle 0.
    fn connect(tag: &str, timeout: Duration) -> (WindowsTarget, File, String) {
        let name = pipe_name(tag);
        let server = serve(&name);
        let target = WindowsTarget::open_path(&name, timeout).unwrap();
        (target, server, name)
    }

    /// Whether the request is still pending in the I/O system.
    fn pending(target: &WindowsTarget, ticket: Ticket) -> bool {
        let entry = &target.in_flight[&ticket.0];
        nt(u32::try_from(entry.overlapped.Internal & 0xFFFF_FFFF).unwrap()) == STATUS_PENDING
    }

    /// Polls until the request has left the pending state (at most 5 s).
    fn until_done(target: &WindowsTarget, ticket: Ticket) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while pending(target, ticket) {
            assert!(
                Instant::now() < deadline,
                "request {} never completed",
                ticket.0
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_read_pends_until_the_server_answers() {
        let (mut target, mut server, _) = connect("read", Duration::from_secs(10));
        let ticket = target.submit(0, Op::Read { len: 8 }).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            pending(&target, ticket),
            "nothing to read yet: the read must pend"
        );
        server.write_all(b"edu-dma!").unwrap();
        let done = target.wait(ticket).unwrap();
        assert_eq!(
            done,
            Completion::driver(STATUS_SUCCESS, 8, b"edu-dma!".to_vec())
        );
        // A short answer completes a longer read with what arrived.
        let ticket = target.submit(0, Op::Read { len: 100 }).unwrap();
        server.write_all(b"abc").unwrap();
        let done = target.wait(ticket).unwrap();
        assert_eq!((done.information, done.output), (3, b"abc".to_vec()));
    }

    #[test]
    fn a_write_reaches_the_server_with_its_byte_count() {
        let (mut target, mut server, _) = connect("write", Duration::from_secs(10));
        let data: Vec<u8> = (0..=255).collect();
        let ticket = target.submit(0, Op::Write { data: data.clone() }).unwrap();
        let done = target.wait(ticket).unwrap();
        assert_eq!(done, Completion::driver(STATUS_SUCCESS, 256, Vec::new()));
        let mut got = vec![0; 256];
        server.read_exact(&mut got).unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn cancelling_a_pending_read_completes_it_cancelled_and_the_handle_still_works() {
        let (mut target, mut server, _) = connect("cancel", Duration::from_secs(10));
        let ticket = target.submit(0, Op::Read { len: 16 }).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(pending(&target, ticket));
        target.cancel(ticket).unwrap();
        let done = target.wait(ticket).unwrap();
        assert_eq!(done.status, STATUS_CANCELLED, "{}", describe(done.status));
        assert_eq!(
            done.origin,
            Origin::Driver,
            "it pended, so the status block has it"
        );
        assert_eq!((done.information, done.output.len()), (0, 0));
        // The handle still works after the cancellation.
        let ticket = target.submit(0, Op::Read { len: 2 }).unwrap();
        server.write_all(b"ok").unwrap();
        assert_eq!(target.wait(ticket).unwrap().output, b"ok");
    }

    #[test]
    fn cancelling_a_completed_request_changes_nothing() {
        let (mut target, mut server, _) = connect("done", Duration::from_secs(10));
        server.write_all(b"ready").unwrap();
        let ticket = target.submit(0, Op::Read { len: 5 }).unwrap();
        until_done(&target, ticket);
        // CancelIoEx finds nothing to cancel (ERROR_NOT_FOUND), which is not an error.
        assert!(!target.in_flight[&ticket.0].request_cancel().unwrap());
        target.cancel(ticket).unwrap();
        let done = target.wait(ticket).unwrap();
        assert_eq!(
            done,
            Completion::driver(STATUS_SUCCESS, 5, b"ready".to_vec())
        );
        // Cancelling a collected ticket is the harness's bug, reported as such.
        assert_eq!(
            target.cancel(ticket),
            Err(TargetError::UnknownTicket(ticket))
        );
    }

    #[test]
    fn several_handles_keep_their_requests_apart() {
        let (mut target, first, name) = connect("many", Duration::from_secs(10));
        let mut servers = vec![first];
        for expected in 1..4 {
            servers.push(serve(&name));
            assert_eq!(target.open_handle().unwrap(), expected);
        }
        let reads: Vec<Ticket> = (0..4)
            .map(|handle| target.submit(handle, Op::Read { len: 4 }).unwrap())
            .collect();
        let write = target
            .submit(
                2,
                Op::Write {
                    data: b"to-2".to_vec(),
                },
            )
            .unwrap();
        // Answer in reverse order; each read must see its own handle's bytes.
        for (index, server) in servers.iter_mut().enumerate().rev() {
            server.write_all(format!("h{index}:x").as_bytes()).unwrap();
        }
        for (index, ticket) in reads.into_iter().enumerate().rev() {
            let done = target.wait(ticket).unwrap();
            assert_eq!(done.output, format!("h{index}:x").into_bytes());
        }
        assert_eq!(target.wait(write).unwrap().information, 4);
        let mut got = [0; 4];
        servers[2].read_exact(&mut got).unwrap();
        assert_eq!(&got, b"to-2");
    }

    #[test]
    fn a_request_that_never_completes_is_reported_within_the_limit() {
        let (mut target, _server, _) = connect("hang", Duration::from_secs(1));
        let started = Instant::now();
        let stuck = target.submit(0, Op::Read { len: 4 }).unwrap();
        let behind = target.submit(0, Op::Read { len: 4 }).unwrap();
        let error = target.wait(stuck).unwrap_err();
        let waited = started.elapsed();
        assert_eq!(
            error,
            TargetError::Timeout {
                ticket: stuck.0,
                seconds: 1
            }
        );
        assert!(
            error.to_string().starts_with(
                "request 1 did not complete within 1 s; the driver still owns its buffer"
            ),
            "{error}"
        );
        assert!(
            waited >= Duration::from_millis(900),
            "gave up early: {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(4),
            "waited too long: {waited:?}"
        );
        // From now on nothing waits again: the request behind it and new ones fail at once.
        let again = Instant::now();
        assert_eq!(
            target.wait(behind),
            Err(TargetError::Stalled { ticket: stuck.0 })
        );
        assert_eq!(
            target.submit(0, Op::Read { len: 1 }),
            Err(TargetError::Stalled { ticket: stuck.0 })
        );
        drop(target);
        assert!(
            again.elapsed() < Duration::from_secs(1),
            "{:?}",
            again.elapsed()
        );
    }

    #[test]
    fn dropping_the_target_cancels_what_is_in_flight_within_one_limit() {
        let (mut target, _server, _) = connect("drop", Duration::from_secs(2));
        for _ in 0..3 {
            target.submit(0, Op::Read { len: 8 }).unwrap();
        }
        let started = Instant::now();
        drop(target);
        // The pipe honours cancellation, so this takes far less than the limit.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    /// A stand-in device for a whole harness run: `GET_INFO` and `GET_STATS` are answered
    /// here, everything else goes through the Windows backend to the pipe, whose server never
    /// answers a read.
    struct PipeDevice {
        inner: WindowsTarget,
        canned: HashMap<u64, Completion>,
        next: u64,
    }

    impl Target for PipeDevice {
        fn open_handle(&mut self) -> Result<usize, TargetError> {
            self.inner.open_handle()
        }
        fn submit(&mut self, handle: usize, op: Op) -> Result<Ticket, TargetError> {
            let answer = match &op {
                Op::Ioctl { code, .. } if *code == IOCTL_EDU_GET_INFO => {
                    let info = DeviceInfo {
                        api_version: edu_api::API_VERSION,
                        device_id: 0x0100_00ED,
                        fragment_length: 4096,
                        buffer_size: edu_api::DEVICE_BUFFER_SIZE,
                        max_transfer: 4096,
                        address_width: 28,
                        dma_mode: 1,
                        ..DeviceInfo::default()
                    };
                    info.to_bytes().to_vec()
                }
                Op::Ioctl { code, .. } if *code == IOCTL_EDU_GET_STATS => {
                    Statistics::default().to_bytes().to_vec()
                }
                _ => return self.inner.submit(handle, op),
            };
            self.next += 1;
            let ticket = (1 << 40) + self.next;
            let done = Completion::driver(STATUS_SUCCESS, answer.len(), answer);
            self.canned.insert(ticket, done);
            Ok(Ticket(ticket))
        }
        fn cancel(&mut self, ticket: Ticket) -> Result<(), TargetError> {
            if self.canned.contains_key(&ticket.0) {
                return Ok(());
            }
            self.inner.cancel(ticket)
        }
        fn wait(&mut self, ticket: Ticket) -> Result<Completion, TargetError> {
            match self.canned.remove(&ticket.0) {
                Some(done) => Ok(done),
                None => self.inner.wait(ticket),
            }
        }
        fn advance(&mut self, micros: u64) {
            self.inner.advance(micros);
        }
        fn name(&self) -> &'static str {
            "pipe"
        }
        fn finish(&mut self) -> Result<(), TargetError> {
            Ok(())
        }
    }

    #[test]
    fn a_run_whose_request_never_completes_reports_it_and_exits_1_within_the_limit() {
        let args = crate::cli::parse(
            [
                "--device",
                "--scenario",
                "roundtrip",
                "--scenario",
                "info",
                "--timeout",
                "1",
            ]
            .map(str::to_owned),
        )
        .unwrap();
        let (inner, _server, _) = connect("run", Duration::from_secs(args.timeout));
        let mut device = PipeDevice {
            inner,
            canned: HashMap::new(),
            next: 0,
        };
        let mut out = Vec::new();
        let started = Instant::now();
        let code = crate::app::run(&args, &mut device, false, &mut out);
        let took = started.elapsed();
        drop(device);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(code, crate::app::EXIT_FAIL, "{out}");
        assert!(
            out.contains("did not complete within 1 s; the driver still owns its buffer"),
            "{out}"
        );
        assert!(out.contains("roundtrip"), "{out}");
        // `info` needs only GET_INFO and GET_STATS, which the stand-in answers; the stalled
        // backend refuses nothing it does not have to.
        assert!(out.lines().any(|l| l == "1 passed, 1 failed"), "{out}");
        assert!(took < Duration::from_secs(5), "the run took {took:?}");
    }

    #[test]
    fn the_status_tables_agree_with_ntdll() {
        for mapping in STATUS_TABLE.iter().chain(&SYNCHRONOUS_TABLE) {
            // SAFETY: a pure table lookup.
            let win32 = unsafe { RtlNtStatusToDosError(mapping.status) };
            assert_eq!(win32, mapping.win32, "{mapping:?}");
        }
    }

    #[test]
    fn the_interface_lookup_reports_configret_values_by_name() {
        match interface_path() {
            Ok(path) => assert!(!path.is_empty()),
            Err(TargetError::DeviceNotFound) => {}
            Err(TargetError::ConfigManager { name, code, call }) => {
                assert!(name.is_some(), "{call}: unnamed CONFIGRET {code:#x}");
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
        let error = config_manager_error("CM_Get_Device_Interface_ListW", CR_FAILURE).to_string();
        assert_eq!(
            error,
            "CM_Get_Device_Interface_ListW failed with CONFIGRET 0x13 (CR_FAILURE)"
        );
        let unknown = config_manager_error("CM_X", 0x99).to_string();
        assert_eq!(unknown, "CM_X failed with CONFIGRET 0x99");
    }

    #[test]
    fn zero_time_limits_and_bad_paths_are_refused() {
        assert!(matches!(
            WindowsTarget::open_path(r"\\.\pipe\x", Duration::ZERO),
            Err(TargetError::Unsupported(_))
        ));
        assert!(matches!(
            WindowsTarget::open_path("a\0b", Duration::from_secs(1)),
            Err(TargetError::Unsupported(_))
        ));
        let missing = WindowsTarget::open_path(&pipe_name("absent"), Duration::from_secs(1));
        assert!(
            matches!(
                missing,
                Err(TargetError::Os {
                    call: "CreateFileW",
                    ..
                })
            ),
            "{:?}",
            missing.err()
        );
        assert_eq!(millis(Duration::from_secs(u64::MAX)), u32::MAX - 1);
        assert_eq!(seconds(Duration::from_millis(300)), 1);
    }
}

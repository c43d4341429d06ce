//! The real backend: the edu DMA driver through Win32 overlapped I/O.
//!
//! The device is found through its device interface (`GUID_DEVINTERFACE_EDU_DMA`, present
//! devices only) and opened with `FILE_FLAG_OVERLAPPED`, so several requests can be in flight
//! on one handle. Each request gets its own `OVERLAPPED` and manual-reset event; the
//! `OVERLAPPED` and the buffers live in boxes owned by the in-flight table until the request has
//! completed, so the I/O manager never sees them move or disappear.
//!
//! Status reporting: once a request has gone through the overlapped path, its `OVERLAPPED`
//! holds the I/O status block (`Internal` = the `NTSTATUS` the driver completed with,
//! `InternalHigh` = `Information`), so the harness reports the driver's exact status. A request
//! the I/O system fails before it pends does not write the status block; for those the Win32
//! error is translated back with [`crate::status::STATUS_TABLE`].
#![expect(
    unsafe_code,
    reason = "Win32 calls through windows-sys; each block states its contract"
)]

use std::collections::HashMap;
use std::ptr;
use std::time::Duration;

use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
    CM_GET_DEVICE_INTERFACE_LIST_PRESENT, CM_Get_Device_Interface_List_SizeW,
    CM_Get_Device_Interface_ListW, CR_BUFFER_SMALL, CR_SUCCESS,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_ACCESS_DENIED, ERROR_IO_PENDING, ERROR_NOT_FOUND, FALSE, GENERIC_READ,
    GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE, TRUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_OVERLAPPED, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING, ReadFile,
    WriteFile,
};
use windows_sys::Win32::System::IO::{
    CancelIoEx, DeviceIoControl, GetOverlappedResult, OVERLAPPED,
};
use windows_sys::Win32::System::Threading::CreateEventW;
use windows_sys::core::GUID;

use crate::status::{nt, status_from_win32};
use crate::target::{Completion, Op, Target, TargetError, Ticket};

/// `STATUS_PENDING`: what `OVERLAPPED.Internal` holds until the request completes.
const STATUS_PENDING: i32 = 0x103;

/// The calling thread's last Win32 error (read through std, which wraps `GetLastError`).
fn last_error() -> u32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .and_then(|code| u32::try_from(code).ok())
        .unwrap_or(0)
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
    /// The device handle it was issued on (owned by [`WindowsTarget::handles`]).
    device: HANDLE,
    /// Which call issued it.
    kind: Kind,
    /// Boxed so its address is stable while the request is in flight.
    overlapped: Box<OVERLAPPED>,
    /// The manual-reset event signalled at completion.
    _event: OwnedHandle,
    /// The IOCTL input buffer (empty for reads and writes).
    input: Box<[u8]>,
    /// The data buffer: read destination, write source or IOCTL output buffer.
    buffer: Box<[u8]>,
    /// Progress.
    state: State,
}

impl InFlight {
    /// Waits for the request and turns its status block into a [`Completion`].
    ///
    /// # Errors
    /// The Win32 error of a request that failed with a status outside the translation table.
    fn collect(&mut self) -> Result<Completion, TargetError> {
        match std::mem::replace(&mut self.state, State::Collected) {
            State::Failed(result) => result,
            State::Collected => Err(TargetError::Unsupported(
                "request already collected".to_owned(),
            )),
            State::Issued => {
                let mut transferred = 0_u32;
                // SAFETY: `device` is open (the target keeps its handles until every request is
                // collected) and `overlapped` is the structure this request was issued with; it
                // stays alive and unmoved (boxed) during the wait, and bWait = TRUE returns only
                // after the request completed, when the I/O manager is done with the buffers.
                let ok = unsafe {
                    GetOverlappedResult(
                        self.device,
                        &raw const *self.overlapped,
                        &raw mut transferred,
                        TRUE,
                    )
                };
                let error = if ok == FALSE { last_error() } else { 0 };
                let status = nt(u32::try_from(self.overlapped.Internal & 0xFFFF_FFFF).unwrap_or(0));
                let status = if status == STATUS_PENDING {
                    // Not written by the I/O system: fall back on the Win32 translation.
                    status_from_win32(error).ok_or(TargetError::Os {
                        call: "GetOverlappedResult",
                        code: error,
                    })?
                } else {
                    status
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
                })
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if matches!(self.state, State::Issued) {
            // Abandoned while in flight (e.g. the harness bailed out): cancel it and wait, so the
            // I/O manager is finished with the buffers before they are freed.
            // SAFETY: `device` is open (handles outlive the in-flight table, see the field order
            // of `WindowsTarget`) and `overlapped` identifies this request.
            let _ = unsafe { CancelIoEx(self.device, &raw const *self.overlapped) };
            let _ = self.collect();
        }
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
}

impl WindowsTarget {
    /// Finds the first present device exposing `GUID_DEVINTERFACE_EDU_DMA` and opens it.
    ///
    /// # Errors
    /// [`TargetError::DeviceNotFound`], [`TargetError::AccessDenied`], or the failing call.
    pub fn open() -> Result<Self, TargetError> {
        let path = interface_path()?;
        let mut target = Self {
            in_flight: HashMap::new(),
            handles: Vec::new(),
            path,
            next_ticket: 1,
        };
        target.open_handle()?;
        Ok(target)
    }

    /// The device interface path, for reports.
    #[must_use]
    pub fn path(&self) -> String {
        String::from_utf16_lossy(self.path.strip_suffix(&[0]).unwrap_or(&self.path))
    }
}

/// Reads the interface list of present edu DMA devices and returns the first path,
/// NUL-terminated.
///
/// # Errors
/// The failing call, or [`TargetError::DeviceNotFound`] for an empty list.
fn interface_path() -> Result<Vec<u16>, TargetError> {
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
            return Err(TargetError::Os {
                call: "CM_Get_Device_Interface_List_SizeW",
                code: result,
            });
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
            return Err(TargetError::Os {
                call: "CM_Get_Device_Interface_ListW",
                code: result,
            });
        }
        let first: Vec<u16> = list.iter().copied().take_while(|&unit| unit != 0).collect();
        if first.is_empty() {
            return Err(TargetError::DeviceNotFound);
        }
        let mut path = first;
        path.push(0);
        return Ok(path);
    }
    Err(TargetError::Os {
        call: "CM_Get_Device_Interface_ListW",
        code: CR_BUFFER_SMALL,
    })
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
        let mut entry = InFlight {
            device,
            kind,
            overlapped: Box::new(OVERLAPPED {
                hEvent: event.0,
                ..Default::default()
            }),
            _event: event,
            input: input.into_boxed_slice(),
            buffer: buffer.into_boxed_slice(),
            state: State::Issued,
        };
        let overlapped: *mut OVERLAPPED = &raw mut *entry.overlapped;
        let ok = match kind {
            // SAFETY: `buffer` (boxed, owned by `entry`, which goes into the in-flight table
            // below) holds `buffer_len` writable bytes and stays alive and unmoved until the
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
        };
        if ok == FALSE {
            let error = last_error();
            if error != ERROR_IO_PENDING {
                // Failed before it pended: no status block, no buffers in use.
                let result = status_from_win32(error)
                    .map(|status| Completion {
                        status,
                        information: 0,
                        output: Vec::new(),
                    })
                    .ok_or_else(|| TargetError::Os {
                        call: kind.call(),
                        code: error,
                    });
                entry.state = State::Failed(result);
            }
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.in_flight.insert(ticket, entry);
        Ok(Ticket(ticket))
    }

    fn cancel(&mut self, ticket: Ticket) -> Result<(), TargetError> {
        let entry = self
            .in_flight
            .get(&ticket.0)
            .ok_or(TargetError::UnknownTicket(ticket))?;
        if !matches!(entry.state, State::Issued) {
            return Ok(());
        }
        // SAFETY: the device handle is open and `overlapped` identifies this request.
        let ok = unsafe { CancelIoEx(entry.device, &raw const *entry.overlapped) };
        if ok == FALSE {
            let error = last_error();
            // ERROR_NOT_FOUND: it already completed; `wait` reports how.
            if error != ERROR_NOT_FOUND {
                return Err(TargetError::Os {
                    call: "CancelIoEx",
                    code: error,
                });
            }
        }
        Ok(())
    }

    fn wait(&mut self, ticket: Ticket) -> Result<Completion, TargetError> {
        let mut entry = self
            .in_flight
            .remove(&ticket.0)
            .ok_or(TargetError::UnknownTicket(ticket))?;
        entry.collect()
    }

    fn advance(&mut self, micros: u64) {
        std::thread::sleep(Duration::from_micros(micros));
    }

    fn name(&self) -> &'static str {
        "windows"
    }

    fn finish(&mut self) -> Result<(), TargetError> {
        Ok(())
    }
}

//! The `NTSTATUS` values the driver completes requests with, and their Win32 equivalents.
//!
//! User mode never sees an `NTSTATUS` directly when a request fails synchronously: the I/O
//! manager translates it (`RtlNtStatusToDosError`) into the Win32 error that `GetLastError`
//! returns. A request that pended does not need the translation: its `OVERLAPPED` holds the
//! exact status. And every status our driver sets arrives that way, because KMDF marks every
//! request it queues pending before the driver sees it; a *synchronous* failure therefore comes
//! from the I/O manager (probing buffers, checking parameters) or from KMDF itself (a queue
//! that is not accepting requests, a request type no queue handles), never from the driver.
//!
//! [`STATUS_TABLE`] lists the statuses our driver uses and their Win32 errors;
//! [`SYNCHRONOUS_TABLE`] the ones only the I/O manager or the framework produce before the
//! driver sees a request. [`synchronous_status`] translates a synchronous Win32 error back
//! through both; the Windows backend marks such a completion as not the driver's
//! ([`crate::target::Origin::BeforeDriver`]).
//!
//! Source of the pairs: Microsoft Knowledge Base article 113996, "INFO: Mapping NT Status
//! Error Codes to Win32 Error Codes" (withdrawn by Microsoft; republished by OSR as "NTSTATUS to
//! Win32 Error Code Mappings", 2020). `STATUS_DEVICE_REMOVED` postdates that table; its pair
//! (`ERROR_DEVICE_REMOVED`, 1617) was checked against the `RtlNtStatusToDosError` table of the
//! Wine/ReactOS `ntdll` (`lib/rtl/error.c`), which records what Windows returns.
//! Values of the constants: `ntstatus.h` and `winerror.h`.

/// `STATUS_SUCCESS`.
pub const STATUS_SUCCESS: i32 = 0;
/// `STATUS_INVALID_PARAMETER` (0xC000000D).
pub const STATUS_INVALID_PARAMETER: i32 = nt(0xC000_000D);
/// `STATUS_INVALID_DEVICE_REQUEST` (0xC0000010).
pub const STATUS_INVALID_DEVICE_REQUEST: i32 = nt(0xC000_0010);
/// `STATUS_BUFFER_TOO_SMALL` (0xC0000023).
pub const STATUS_BUFFER_TOO_SMALL: i32 = nt(0xC000_0023);
/// `STATUS_DEVICE_DATA_ERROR` (0xC000009C).
pub const STATUS_DEVICE_DATA_ERROR: i32 = nt(0xC000_009C);
/// `STATUS_DEVICE_NOT_READY` (0xC00000A3).
pub const STATUS_DEVICE_NOT_READY: i32 = nt(0xC000_00A3);
/// `STATUS_IO_TIMEOUT` (0xC00000B5).
pub const STATUS_IO_TIMEOUT: i32 = nt(0xC000_00B5);
/// `STATUS_DEVICE_DOES_NOT_EXIST` (0xC00000C0).
pub const STATUS_DEVICE_DOES_NOT_EXIST: i32 = nt(0xC000_00C0);
/// `STATUS_CANCELLED` (0xC0000120).
pub const STATUS_CANCELLED: i32 = nt(0xC000_0120);
/// `STATUS_INVALID_BUFFER_SIZE` (0xC0000206).
pub const STATUS_INVALID_BUFFER_SIZE: i32 = nt(0xC000_0206);
/// `STATUS_DEVICE_REMOVED` (0xC00002B6).
pub const STATUS_DEVICE_REMOVED: i32 = nt(0xC000_02B6);
/// `STATUS_INVALID_DEVICE_STATE` (0xC0000184): KMDF fails a request with it, synchronously,
/// when the queue it belongs to is not accepting requests (stopped, purged, device leaving).
pub const STATUS_INVALID_DEVICE_STATE: i32 = nt(0xC000_0184);
/// `STATUS_INSUFFICIENT_RESOURCES` (0xC000009A): the I/O manager or KMDF could not allocate
/// what the request needs (IRP, MDL, system buffer, request object).
pub const STATUS_INSUFFICIENT_RESOURCES: i32 = nt(0xC000_009A);
/// `STATUS_ACCESS_VIOLATION` (0xC0000005): the I/O manager could not probe or lock a user
/// buffer.
pub const STATUS_ACCESS_VIOLATION: i32 = nt(0xC000_0005);
/// `STATUS_DEVICE_BUSY` (0x80000011): a *warning* status, not an error one.
pub const STATUS_DEVICE_BUSY: i32 = nt(0x8000_0011);

/// Reinterprets the unsigned spelling of an `NTSTATUS` (as `ntstatus.h` writes it).
#[must_use]
pub const fn nt(value: u32) -> i32 {
    i32::from_ne_bytes(value.to_ne_bytes())
}

/// The unsigned spelling of an `NTSTATUS`, for printing as `0x…`.
#[must_use]
pub const fn nt_bits(status: i32) -> u32 {
    u32::from_ne_bytes(status.to_ne_bytes())
}

/// `NT_SUCCESS`: success and informational statuses.
#[must_use]
pub const fn nt_success(status: i32) -> bool {
    status >= 0
}

/// One row of the translation table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusMapping {
    /// The `NTSTATUS` the driver completes with.
    pub status: i32,
    /// Its name in `ntstatus.h`.
    pub status_name: &'static str,
    /// The Win32 error the I/O manager reports for it.
    pub win32: u32,
    /// Its name in `winerror.h`.
    pub win32_name: &'static str,
}

/// The statuses our driver uses and the Win32 errors user mode sees for them (see the module
/// documentation for the source). Each Win32 error appears once, so the table reads both ways.
pub const STATUS_TABLE: [StatusMapping; 12] = [
    row(STATUS_SUCCESS, "STATUS_SUCCESS", 0, "ERROR_SUCCESS"),
    row(
        STATUS_CANCELLED,
        "STATUS_CANCELLED",
        995,
        "ERROR_OPERATION_ABORTED",
    ),
    row(
        STATUS_IO_TIMEOUT,
        "STATUS_IO_TIMEOUT",
        121,
        "ERROR_SEM_TIMEOUT",
    ),
    row(
        STATUS_INVALID_PARAMETER,
        "STATUS_INVALID_PARAMETER",
        87,
        "ERROR_INVALID_PARAMETER",
    ),
    row(
        STATUS_BUFFER_TOO_SMALL,
        "STATUS_BUFFER_TOO_SMALL",
        122,
        "ERROR_INSUFFICIENT_BUFFER",
    ),
    row(
        STATUS_INVALID_DEVICE_REQUEST,
        "STATUS_INVALID_DEVICE_REQUEST",
        1,
        "ERROR_INVALID_FUNCTION",
    ),
    row(
        STATUS_INVALID_BUFFER_SIZE,
        "STATUS_INVALID_BUFFER_SIZE",
        1784,
        "ERROR_INVALID_USER_BUFFER",
    ),
    row(
        STATUS_DEVICE_DATA_ERROR,
        "STATUS_DEVICE_DATA_ERROR",
        23,
        "ERROR_CRC",
    ),
    row(
        STATUS_DEVICE_NOT_READY,
        "STATUS_DEVICE_NOT_READY",
        21,
        "ERROR_NOT_READY",
    ),
    row(STATUS_DEVICE_BUSY, "STATUS_DEVICE_BUSY", 170, "ERROR_BUSY"),
    row(
        STATUS_DEVICE_REMOVED,
        "STATUS_DEVICE_REMOVED",
        1617,
        "ERROR_DEVICE_REMOVED",
    ),
    row(
        STATUS_DEVICE_DOES_NOT_EXIST,
        "STATUS_DEVICE_DOES_NOT_EXIST",
        55,
        "ERROR_DEV_NOT_EXIST",
    ),
];

/// Statuses the I/O manager or KMDF fail a request with before the driver sees it.
///
/// Their Win32 errors come from the same sources as [`STATUS_TABLE`]; checked against `RtlNtStatusToDosError` by
/// the Windows backend's tests). Disjoint from [`STATUS_TABLE`] in both columns. The I/O
/// manager's and KMDF's other synchronous statuses (`STATUS_INVALID_PARAMETER`,
/// `STATUS_INVALID_DEVICE_REQUEST`, ...) share numbers with the driver's and are found in
/// [`STATUS_TABLE`]; the completion's origin, not the number, says who set them.
pub const SYNCHRONOUS_TABLE: [StatusMapping; 3] = [
    row(
        STATUS_INVALID_DEVICE_STATE,
        "STATUS_INVALID_DEVICE_STATE",
        22,
        "ERROR_BAD_COMMAND",
    ),
    row(
        STATUS_INSUFFICIENT_RESOURCES,
        "STATUS_INSUFFICIENT_RESOURCES",
        1450,
        "ERROR_NO_SYSTEM_RESOURCES",
    ),
    row(
        STATUS_ACCESS_VIOLATION,
        "STATUS_ACCESS_VIOLATION",
        998,
        "ERROR_NOACCESS",
    ),
];

/// The status a synchronous failure stands for, given the Win32 error the call returned
/// ([`STATUS_TABLE`], then [`SYNCHRONOUS_TABLE`]); `None` for an error outside both.
#[must_use]
pub fn synchronous_status(win32: u32) -> Option<i32> {
    STATUS_TABLE
        .iter()
        .chain(&SYNCHRONOUS_TABLE)
        .find(|m| m.win32 == win32)
        .map(|m| m.status)
}

/// Builds a table row.
const fn row(
    status: i32,
    status_name: &'static str,
    win32: u32,
    win32_name: &'static str,
) -> StatusMapping {
    StatusMapping {
        status,
        status_name,
        win32,
        win32_name,
    }
}

/// The `NTSTATUS` the driver used, given the Win32 error user mode saw; `None` for an error
/// outside the table.
#[must_use]
pub fn status_from_win32(win32: u32) -> Option<i32> {
    STATUS_TABLE
        .iter()
        .find(|m| m.win32 == win32)
        .map(|m| m.status)
}

/// The Win32 error user mode sees for a status in the table.
#[must_use]
pub fn win32_from_status(status: i32) -> Option<u32> {
    STATUS_TABLE
        .iter()
        .find(|m| m.status == status)
        .map(|m| m.win32)
}

/// A printable name: `STATUS_CANCELLED (0xC0000120)`, or just the number if unknown.
#[must_use]
pub fn describe(status: i32) -> String {
    STATUS_TABLE
        .iter()
        .chain(&SYNCHRONOUS_TABLE)
        .find(|m| m.status == status)
        .map_or_else(
            || format!("0x{:08X}", nt_bits(status)),
            |m| format!("{} (0x{:08X})", m.status_name, nt_bits(status)),
        )
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips_both_ways() {
        for mapping in STATUS_TABLE {
            assert_eq!(
                win32_from_status(mapping.status),
                Some(mapping.win32),
                "{mapping:?}"
            );
            assert_eq!(
                status_from_win32(mapping.win32),
                Some(mapping.status),
                "{mapping:?}"
            );
        }
    }

    #[test]
    fn table_has_no_duplicate_keys() {
        for (i, a) in STATUS_TABLE.iter().enumerate() {
            for b in &STATUS_TABLE[i + 1..] {
                assert_ne!(a.status, b.status, "{a:?} / {b:?}");
                assert_ne!(a.win32, b.win32, "{a:?} / {b:?}");
            }
        }
    }

    #[test]
    fn constants_have_the_documented_bits() {
        assert_eq!(nt_bits(STATUS_CANCELLED), 0xC000_0120);
        assert_eq!(nt_bits(STATUS_INVALID_BUFFER_SIZE), 0xC000_0206);
        assert_eq!(STATUS_INVALID_PARAMETER, -1_073_741_811);
        assert!(
            !nt_success(STATUS_DEVICE_BUSY),
            "a warning is not NT_SUCCESS"
        );
        assert!(nt_success(STATUS_SUCCESS));
        assert_eq!(status_from_win32(121), Some(STATUS_IO_TIMEOUT));
        assert_eq!(status_from_win32(23), Some(STATUS_DEVICE_DATA_ERROR));
        assert_eq!(
            status_from_win32(5),
            None,
            "ERROR_ACCESS_DENIED is not a driver status"
        );
    }

    #[test]
    fn synchronous_table_is_disjoint_and_translates_back() {
        for (i, a) in SYNCHRONOUS_TABLE.iter().enumerate() {
            for b in STATUS_TABLE.iter().chain(&SYNCHRONOUS_TABLE[i + 1..]) {
                assert_ne!(a.status, b.status, "{a:?} / {b:?}");
                assert_ne!(a.win32, b.win32, "{a:?} / {b:?}");
            }
            assert_eq!(synchronous_status(a.win32), Some(a.status), "{a:?}");
            assert_eq!(
                status_from_win32(a.win32),
                None,
                "not a driver status: {a:?}"
            );
        }
        assert_eq!(synchronous_status(22), Some(STATUS_INVALID_DEVICE_STATE));
        assert_eq!(nt_bits(STATUS_INVALID_DEVICE_STATE), 0xC000_0184);
        assert_eq!(synchronous_status(995), Some(STATUS_CANCELLED));
        assert_eq!(synchronous_status(5), None);
        assert_eq!(
            describe(STATUS_INVALID_DEVICE_STATE),
            "STATUS_INVALID_DEVICE_STATE (0xC0000184)"
        );
    }

    #[test]
    fn describe_names_known_statuses() {
        assert_eq!(describe(STATUS_CANCELLED), "STATUS_CANCELLED (0xC0000120)");
        assert_eq!(describe(nt(0xC000_0001)), "0xC0000001");
    }
}

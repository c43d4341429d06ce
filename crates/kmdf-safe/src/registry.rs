//! The driver's service `Parameters` key
//! (`HKLM\SYSTEM\CurrentControlSet\Services\<service>\Parameters`), read-only.

use super::device::DeviceInit;
use super::irql::Passive;
use super::sys::{self, wdf_call};
use super::{Error, Result, Status};

/// `KEY_READ`.
///
/// winnt.h: `STANDARD_RIGHTS_READ | KEY_QUERY_VALUE | KEY_ENUMERATE_SUB_KEYS | KEY_NOTIFY`,
/// without `SYNCHRONIZE`. Spelt out because bindgen does not evaluate the macro's expression,
/// so `wdk-sys` has no such constant.
const KEY_READ: u32 = 0x0002_0019;

/// A value name as the registry DDIs take it: UTF-16 code units, no terminator.
#[derive(Clone, Copy, Debug)]
pub struct ValueName<const N: usize>([u16; N]);

impl<const N: usize> ValueName<N> {
    /// Encodes an ASCII name (`N` must be its length; checked at compile time where the
    /// name is a `const`).
    ///
    /// # Panics
    /// If `name` is not ASCII or not `N` bytes long.
    #[must_use]
    #[expect(
        clippy::indexing_slicing,
        reason = "const fn (no `get`): `i < N` and the length assertion bound every index"
    )]
    pub const fn ascii(name: &str) -> Self {
        let bytes = name.as_bytes();
        assert!(bytes.len() == N, "ValueName: length mismatch");
        let mut units = [0u16; N];
        let mut i = 0;
        while i < N {
            assert!(bytes[i].is_ascii(), "ValueName: not ASCII");
            units[i] = bytes[i] as u16;
            i += 1;
        }
        Self(units)
    }
}

/// Reads a `REG_DWORD` value of the driver's `Parameters` key.
///
/// Opens the key (`WdfDriverOpenParametersRegistryKey`, `KEY_READ`), queries the value
/// (`WdfRegistryQueryULong`) and closes the key (`WdfRegistryClose`).
///
/// # Errors
/// The failing status of opening the key or querying the value (a missing value:
/// `STATUS_OBJECT_NAME_NOT_FOUND`).
pub fn query_parameter_u32<const N: usize>(
    init: &DeviceInit<'_>,
    name: &ValueName<N>,
    _cx: &Passive<'_>,
) -> Result<u32> {
    let length = u16::try_from(N * 2).map_err(|_| Error::INVALID_PARAMETER)?;
    let mut key: sys::WDFKEY = core::ptr::null_mut();
    // SAFETY: the driver object of the current EvtDriverDeviceAdd is live (DeviceInit's
    // invariant); no attributes (the key is parented to the driver and closed below); `key` is
    // a local valid for writes; PASSIVE_LEVEL by the token.
    let status = unsafe {
        wdf_call!(
            WdfDriverOpenParametersRegistryKey,
            init.driver(),
            KEY_READ,
            core::ptr::null_mut(),
            &raw mut key
        )
    };
    Status::from_raw(status).ok()?;
    let mut units = name.0;
    let string = sys::UNICODE_STRING {
        Length: length,
        MaximumLength: length,
        Buffer: units.as_mut_ptr(),
    };
    let mut value: sys::ULONG = 0;
    // SAFETY: `key` was opened above with KEY_READ (which includes KEY_QUERY_VALUE) and is not
    // closed yet; `string` describes `units`, a local that outlives the call; `value` is a
    // local valid for writes; PASSIVE_LEVEL by the token.
    let status = unsafe {
        wdf_call!(
            WdfRegistryQueryULong,
            key,
            &raw const string,
            &raw mut value
        )
    };
    // SAFETY: `key` is the open key from above, closed exactly once; PASSIVE_LEVEL.
    unsafe { wdf_call!(WdfRegistryClose, key) };
    Status::from_raw(status).ok()?;
    Ok(value)
}

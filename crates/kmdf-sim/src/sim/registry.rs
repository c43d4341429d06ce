//! The driver's service `Parameters` key.
//!
//! `WdfDriverOpenParametersRegistryKey`, `WdfRegistryQueryULong` and `WdfRegistryClose` over
//! the values a test stored with `Machine::set_parameter` (`REG_DWORD` only, as the driver
//! reads nothing else).

use super::engine;
use super::objects::{Kind, handle};
use super::{Irql, with};
use crate::mirror::constants::{STATUS_INVALID_DEVICE_STATE, STATUS_INVALID_PARAMETER};
use crate::mirror::types::{NTSTATUS, WDF_OBJECT_ATTRIBUTES};
use crate::verifier::Severity;

/// `STATUS_OBJECT_NAME_NOT_FOUND`: the value does not exist (what the registry answers).
pub(crate) const STATUS_OBJECT_NAME_NOT_FOUND: NTSTATUS = 0xC000_0034_u32.cast_signed();

/// `STATUS_ACCESS_DENIED`: the key was not opened for querying values.
pub(crate) const STATUS_ACCESS_DENIED: NTSTATUS = 0xC000_0022_u32.cast_signed();

/// `KEY_QUERY_VALUE`, the right `WdfRegistryQueryULong` needs.
const KEY_QUERY_VALUE: u32 = 0x0001;

/// Whether `DesiredAccess` includes querying values.
pub(crate) const fn grants_query(access: u32) -> bool {
    // GENERIC_READ, GENERIC_ALL, MAXIMUM_ALLOWED and KEY_READ/KEY_ALL_ACCESS include it.
    access & (KEY_QUERY_VALUE | 0x8000_0000 | 0x1000_0000 | 0x0200_0000) != 0
}

/// `WdfDriverOpenParametersRegistryKey`.
pub(crate) fn open_parameters_key(
    driver: usize,
    access: u32,
    attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
) -> Result<usize, NTSTATUS> {
    const DDI: &str = "WdfDriverOpenParametersRegistryKey";
    with(|s| {
        if !s.ddi_at_most(DDI, Irql::Passive) {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        let Some(driver) = s.resolve(driver, DDI, "WDFDRIVER") else {
            return Err(STATUS_INVALID_PARAMETER);
        };
        s.attributes_check(DDI, attributes, super::objects::validate::NONE)?;
        let id = s.create(Kind::RegistryKey { access }, Some(driver), true);
        s.apply_attributes(id, attributes);
        Ok(handle(id))
    })
}

/// `WdfRegistryQueryULong`: the value, or `STATUS_OBJECT_NAME_NOT_FOUND`.
pub(crate) fn query_ulong(key: usize, name: Option<&str>) -> Result<u32, NTSTATUS> {
    const DDI: &str = "WdfRegistryQueryULong";
    with(|s| {
        if !s.ddi_at_most(DDI, Irql::Passive) {
            return Err(STATUS_INVALID_DEVICE_STATE);
        }
        let Some(id) = s.resolve(key, DDI, "WDFKEY") else {
            return Err(STATUS_INVALID_PARAMETER);
        };
        let Some(name) = name else {
            s.finding(
                "NULLARG",
                Severity::Fatal,
                format!("{DDI}: ValueName is NULL"),
            );
            return Err(STATUS_INVALID_PARAMETER);
        };
        if let Some(Kind::RegistryKey { access }) = s.obj(id).map(|o| &o.kind)
            && !grants_query(*access)
        {
            s.finding(
                "REGISTRY",
                Severity::Error,
                format!("{DDI}: the key was opened without KEY_QUERY_VALUE ({access:#x})"),
            );
            return Err(STATUS_ACCESS_DENIED);
        }
        s.parameters
            .get(&name.to_lowercase())
            .copied()
            .ok_or(STATUS_OBJECT_NAME_NOT_FOUND)
    })
}

/// `WdfRegistryClose`: deletes the key object.
pub(crate) fn close(key: usize) {
    const DDI: &str = "WdfRegistryClose";
    let id = with(|s| {
        if !s.ddi_at_most(DDI, Irql::Passive) {
            return None;
        }
        s.resolve(key, DDI, "WDFKEY")
    });
    if let Some(id) = id {
        engine::delete_tree(id, true);
    }
}

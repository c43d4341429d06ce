//! Typed requests over a [`Target`](crate::target::Target): builds the [`Op`] for each driver
//! entry point and checks a completion against what the I/O contract promises.

use core::fmt;

use edu_api::{DeviceInfo, DmaAt, Statistics};

use crate::ring::RingModel;
use crate::status::STATUS_SUCCESS;
use crate::target::{Completion, Op, TargetError};

/// Why a scenario step failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The driver did something the contract does not allow.
    Check(String),
    /// The backend could not carry out the step.
    Target(TargetError),
}

impl From<TargetError> for Failure {
    fn from(error: TargetError) -> Self {
        Self::Target(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Check(message) => f.write_str(message),
            Self::Target(error) => write!(f, "{error}"),
        }
    }
}

/// Result of one scenario step.
pub type Step<T = ()> = Result<T, Failure>;

/// Fails the step with `message` unless `condition` holds.
///
/// # Errors
/// [`Failure::Check`] with the message.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> Step {
    if condition {
        Ok(())
    } else {
        Err(Failure::Check(message()))
    }
}

/// A request the harness knows how to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `ReadFile` of `len` bytes (device offset 0).
    Read(usize),
    /// `WriteFile` (device offset 0).
    Write(Vec<u8>),
    /// `IOCTL_EDU_DMA_READ_AT`.
    ReadAt(u32, usize),
    /// `IOCTL_EDU_DMA_WRITE_AT`.
    WriteAt(u32, Vec<u8>),
    /// `IOCTL_EDU_LOOPBACK` with equal input and output lengths.
    Loopback(Vec<u8>),
    /// `IOCTL_EDU_GET_INFO`.
    GetInfo,
    /// `IOCTL_EDU_GET_STATS`.
    GetStats,
    /// `IOCTL_EDU_RESET`.
    Reset,
}

impl Request {
    /// The operation user mode issues for this request.
    #[must_use]
    pub fn op(&self) -> Op {
        match self {
            Self::Read(len) => Op::Read { len: *len },
            Self::Write(data) => Op::Write { data: data.clone() },
            Self::ReadAt(offset, len) => Op::Ioctl {
                code: edu_api::IOCTL_EDU_DMA_READ_AT,
                input: header(*offset),
                output_len: *len,
            },
            Self::WriteAt(offset, data) => Op::IoctlInDirect {
                code: edu_api::IOCTL_EDU_DMA_WRITE_AT,
                input: header(*offset),
                data: data.clone(),
            },
            Self::Loopback(data) => Op::Ioctl {
                code: edu_api::IOCTL_EDU_LOOPBACK,
                input: data.clone(),
                output_len: data.len(),
            },
            Self::GetInfo => Op::Ioctl {
                code: edu_api::IOCTL_EDU_GET_INFO,
                input: Vec::new(),
                output_len: DeviceInfo::SIZE,
            },
            Self::GetStats => Op::Ioctl {
                code: edu_api::IOCTL_EDU_GET_STATS,
                input: Vec::new(),
                output_len: Statistics::SIZE,
            },
            Self::Reset => Op::Ioctl {
                code: edu_api::IOCTL_EDU_RESET,
                input: Vec::new(),
                output_len: 0,
            },
        }
    }

    /// The `Information` a successful completion reports.
    #[must_use]
    pub const fn information(&self) -> usize {
        match self {
            Self::Read(len) | Self::ReadAt(_, len) => *len,
            Self::Write(data) | Self::WriteAt(_, data) | Self::Loopback(data) => data.len(),
            Self::GetInfo => DeviceInfo::SIZE,
            Self::GetStats => Statistics::SIZE,
            Self::Reset => 0,
        }
    }

    /// Bytes the request moves through the device (both directions for a loopback).
    #[must_use]
    pub const fn moved(&self) -> usize {
        match self {
            Self::Read(len) | Self::ReadAt(_, len) => *len,
            Self::Write(data) | Self::WriteAt(_, data) => data.len(),
            Self::Loopback(data) => data.len() * 2,
            Self::GetInfo | Self::GetStats | Self::Reset => 0,
        }
    }

    /// The device-buffer range a read returns, as `(start, len)`.
    #[must_use]
    pub fn reads(&self) -> Option<(usize, usize)> {
        match self {
            Self::Read(len) => Some((0, *len)),
            Self::ReadAt(offset, len) => Some((widen(*offset), *len)),
            _ => None,
        }
    }

    /// The device-buffer contents a write leaves, as `(start, data)`.
    #[must_use]
    pub fn writes(&self) -> Option<(usize, &[u8])> {
        match self {
            Self::Write(data) | Self::Loopback(data) => Some((0, data)),
            Self::WriteAt(offset, data) => Some((widen(*offset), data)),
            _ => None,
        }
    }

    /// A short description for failure messages, e.g. `DMA_WRITE_AT(offset 4095, 2 bytes)`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Read(len) => format!("ReadFile({len} bytes)"),
            Self::Write(data) => format!("WriteFile({} bytes)", data.len()),
            Self::ReadAt(offset, len) => format!("DMA_READ_AT(offset {offset}, {len} bytes)"),
            Self::WriteAt(offset, data) => {
                format!("DMA_WRITE_AT(offset {offset}, {} bytes)", data.len())
            }
            Self::Loopback(data) => format!("LOOPBACK({} bytes)", data.len()),
            Self::GetInfo => "GET_INFO".to_owned(),
            Self::GetStats => "GET_STATS".to_owned(),
            Self::Reset => "RESET".to_owned(),
        }
    }

    /// Records in `ring` what a successful completion of this request left in the device.
    pub fn apply(&self, ring: &mut RingModel) {
        if let Some((start, data)) = self.writes() {
            ring.write(start, data);
        }
    }

    /// Checks a completion against the contract: success, `Information`, returned data (reads
    /// against `ring` as it was when the request reached the driver; loopbacks against their
    /// input) and decodable structures.
    ///
    /// # Errors
    /// [`Failure::Check`] describing the first violation.
    pub fn verify(&self, ring: &RingModel, done: &Completion) -> Step {
        let what = self.describe();
        ensure(done.status == STATUS_SUCCESS, || {
            format!(
                "{what} completed with {}, expected STATUS_SUCCESS",
                done.describe_status()
            )
        })?;
        let want = self.information();
        ensure(done.information == want, || {
            format!(
                "{what} reported Information {}, expected {want}",
                done.information
            )
        })?;
        if matches!(self, Self::Write(_) | Self::WriteAt(..) | Self::Reset) {
            return Ok(());
        }
        ensure(done.output.len() == want, || {
            format!(
                "{what} returned {} bytes of output, expected {want}",
                done.output.len()
            )
        })?;
        if let Some((start, _)) = self.reads() {
            ring.check(start, &done.output)
                .map_err(|mismatch| Failure::Check(format!("{what}: {mismatch}")))?;
        }
        if let Self::Loopback(data) = self
            && let Some(index) = data.iter().zip(&done.output).position(|(a, b)| a != b)
        {
            return Err(Failure::Check(format!(
                "{what}: byte {index} came back different"
            )));
        }
        if matches!(self, Self::GetInfo) {
            decode_info(&done.output)?;
        }
        if matches!(self, Self::GetStats) {
            decode_stats(&done.output)?;
        }
        Ok(())
    }
}

/// Encodes a `DmaAt` header with `reserved` = 0.
#[must_use]
pub fn header(offset: u32) -> Vec<u8> {
    DmaAt {
        offset,
        reserved: 0,
    }
    .to_bytes()
    .to_vec()
}

/// Decodes `GET_INFO` output and checks the contract version.
///
/// # Errors
/// [`Failure::Check`] if too short, [`TargetError::VersionMismatch`] if the version differs.
pub fn decode_info(bytes: &[u8]) -> Step<DeviceInfo> {
    let info = DeviceInfo::from_bytes(bytes)
        .ok_or_else(|| Failure::Check(format!("GET_INFO returned {} bytes", bytes.len())))?;
    if info.api_version != edu_api::API_VERSION {
        return Err(Failure::Target(TargetError::VersionMismatch {
            driver: info.api_version,
            harness: edu_api::API_VERSION,
        }));
    }
    Ok(info)
}

/// Decodes `GET_STATS` output.
///
/// # Errors
/// [`Failure::Check`] if too short.
pub fn decode_stats(bytes: &[u8]) -> Step<Statistics> {
    Statistics::from_bytes(bytes)
        .ok_or_else(|| Failure::Check(format!("GET_STATS returned {} bytes", bytes.len())))
}

/// `u32` to `usize` (every supported target has at least 32-bit pointers).
#[must_use]
pub fn widen(value: u32) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// `usize` to `u64`, saturating.
#[must_use]
pub fn wide(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::*;
    use crate::status::STATUS_CANCELLED;

    fn done(status: i32, information: usize, output: Vec<u8>) -> Completion {
        Completion::driver(status, information, output)
    }

    #[test]
    fn write_at_uses_the_output_buffer_for_data() {
        let op = Request::WriteAt(4095, vec![1, 2]).op();
        assert_eq!(
            op,
            Op::IoctlInDirect {
                code: edu_api::IOCTL_EDU_DMA_WRITE_AT,
                input: vec![0xFF, 0x0F, 0, 0, 0, 0, 0, 0],
                data: vec![1, 2],
            }
        );
    }

    #[test]
    fn verify_checks_status_information_and_data() {
        let mut ring = RingModel::new();
        Request::Write(vec![9, 8, 7]).apply(&mut ring);
        let read = Request::Read(3);
        assert_eq!(read.verify(&ring, &done(0, 3, vec![9, 8, 7])), Ok(()));
        assert!(read.verify(&ring, &done(0, 2, vec![9, 8])).is_err());
        assert!(read.verify(&ring, &done(0, 3, vec![9, 0, 7])).is_err());
        assert!(
            read.verify(&ring, &done(STATUS_CANCELLED, 3, vec![9, 8, 7]))
                .is_err()
        );
        let echo = Request::Loopback(vec![1, 2]);
        assert_eq!(echo.verify(&ring, &done(0, 2, vec![1, 2])), Ok(()));
        assert!(echo.verify(&ring, &done(0, 2, vec![2, 1])).is_err());
    }

    #[test]
    fn info_with_another_version_is_a_mismatch() {
        let info = DeviceInfo {
            api_version: edu_api::API_VERSION + 1,
            ..DeviceInfo::default()
        };
        assert_eq!(
            decode_info(&info.to_bytes()),
            Err(Failure::Target(TargetError::VersionMismatch {
                driver: edu_api::API_VERSION + 1,
                harness: edu_api::API_VERSION,
            }))
        );
        assert!(decode_info(&[0; 4]).is_err());
    }
}

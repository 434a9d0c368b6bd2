//! The info-center: a log buffer in Comware's line format, fed from `tracing`.

use crate::cli::Registry;

/// The device's log buffer (`display logbuffer`).
#[derive(Default)]
pub struct LogBuffer {}

impl LogBuffer {
    /// Record one log line (`%Nov 21 10:38:12:320 2026 SYSNAME MODULE/SEVERITY/MNEMONIC: MESSAGE`).
    pub fn push(
        &self,
        _sysname: &str,
        _module: &str,
        _severity: u8,
        _mnemonic: &str,
        _message: &str,
    ) {
    }
}

pub fn register(_r: &mut Registry) {}

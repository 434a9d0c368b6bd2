//! The info-center: a log buffer in Comware's line format, fed from `tracing`.

use crate::cli::Registry;

/// The device's log buffer (`display logbuffer`).
#[derive(Default)]
pub struct LogBuffer {}

pub fn register(_r: &mut Registry) {}

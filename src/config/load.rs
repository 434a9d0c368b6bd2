//! Loading a configuration file: every line goes through the same parser as typed commands.

use crate::device::Device;

/// A line of a configuration file that was not applied.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// Apply `text` (a `display current-configuration`-style file) to the device's running
/// configuration; bad lines are skipped and returned, the rest is applied and published once.
pub fn load_text(_device: &Device, _text: &str) -> Vec<LoadError> {
    todo!("cli branch")
}

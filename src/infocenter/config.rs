//! The info-center part of the configuration and its rendering.

use super::buffer::DEFAULT_SIZE;

/// What the info-center keeps in the running configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoCenterConfig {
    /// `info-center logbuffer size N` (entries; 0 keeps nothing).
    pub logbuffer_size: usize,
}

impl Default for InfoCenterConfig {
    fn default() -> Self {
        InfoCenterConfig {
            logbuffer_size: DEFAULT_SIZE,
        }
    }
}

impl InfoCenterConfig {
    /// The lines of `display current-configuration` for the info-center, each with its
    /// one-space indent and without the `#` separators; empty when everything is default.
    /// They form a global section of their own after ` sysname`.
    pub fn render(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.logbuffer_size != DEFAULT_SIZE {
            lines.push(format!(
                " info-center logbuffer size {}",
                self.logbuffer_size
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_renders_nothing() {
        assert!(InfoCenterConfig::default().render().is_empty());
        let c = InfoCenterConfig {
            logbuffer_size: 512,
        };
        assert_eq!(c.render(), [" info-center logbuffer size 512"]);
    }
}

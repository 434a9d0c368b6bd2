//! Configuration files on the device's storage: `flash:/NAME.cfg` names map to `DATA/NAME.cfg`,
//! and `DATA/startup.next` records which file is the next main startup configuration (the file
//! `save` last wrote under a name of the user's choice). Without that record the next startup
//! file is `startup.cfg`.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::atomic;

/// The next startup file of a new device.
pub const DEFAULT_STARTUP: &str = "startup.cfg";
/// Holds the name of the next main startup file (not a `.cfg` name, so no save can hit it).
const NEXT_STARTUP_RECORD: &str = "startup.next";
/// Longest file name accepted, `.cfg` included.
const MAX_NAME: usize = 64;

/// Why a typed file name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileNameError {
    #[error(
        "The file name is invalid. Enter a name such as flash:/startup.cfg (letters, digits, '-', '_' and '.')."
    )]
    Invalid,
    #[error("The file name must end with .cfg.")]
    Extension,
}

/// A validated configuration file name (`backup.cfg`), without the `flash:/` prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfgFile(String);

impl CfgFile {
    /// The default next startup file.
    pub fn default_startup() -> CfgFile {
        CfgFile(DEFAULT_STARTUP.to_string())
    }

    /// Accept `flash:/NAME.cfg` or `NAME.cfg`: one file directly on the storage, no path
    /// separators, no other device, `.cfg` extension (any case).
    pub fn parse(input: &str) -> Result<CfgFile, FileNameError> {
        let typed = input.trim();
        let name = typed.strip_prefix("flash:/").unwrap_or(typed);
        let allowed =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '@');
        if name.is_empty()
            || name.len() > MAX_NAME
            || name.starts_with('.')
            || !name.chars().all(allowed)
        {
            return Err(FileNameError::Invalid);
        }
        if name.len() <= 4 || !name.to_ascii_lowercase().ends_with(".cfg") {
            return Err(FileNameError::Extension);
        }
        Ok(CfgFile(name.to_string()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// Where the file lives in the data directory.
    pub fn path(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(&self.0)
    }
}

impl fmt::Display for CfgFile {
    /// `flash:/startup.cfg`, as Comware names files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flash:/{}", self.0)
    }
}

/// The next main startup file: the recorded choice, or `startup.cfg`. A record that is not a
/// valid name (edited by hand, damaged) is ignored with a warning.
pub fn next_startup(data_dir: &Path) -> CfgFile {
    let record = data_dir.join(NEXT_STARTUP_RECORD);
    match fs::read_to_string(&record) {
        Ok(text) => CfgFile::parse(&text).unwrap_or_else(|e| {
            tracing::warn!(file = %record.display(), error = %e, "ignoring the next startup file record");
            CfgFile::default_startup()
        }),
        Err(_) => CfgFile::default_startup(),
    }
}

/// Make `file` the next main startup file (written atomically).
pub fn set_next_startup(data_dir: &Path, file: &CfgFile) -> io::Result<()> {
    atomic::write(
        &data_dir.join(NEXT_STARTUP_RECORD),
        format!("{}\n", file.name()).as_bytes(),
    )
}

/// The file start-up loads when no `--config` is given.
pub fn startup_config_path(data_dir: &Path) -> PathBuf {
    next_startup(data_dir).path(data_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            CfgFile::parse("flash:/startup.cfg").unwrap().name(),
            "startup.cfg"
        );
        assert_eq!(
            CfgFile::parse("  backup.CFG ").unwrap().to_string(),
            "flash:/backup.CFG"
        );
        assert_eq!(
            CfgFile::parse("b-1_2.cfg").unwrap().path(Path::new("/d")),
            Path::new("/d/b-1_2.cfg")
        );
        for bad in [
            "",
            "flash:/",
            "../x.cfg",
            "a/b.cfg",
            "a\\b.cfg",
            "usb:/a.cfg",
            ".cfg",
            ".hidden.cfg",
            "a b.cfg",
            "é.cfg",
        ] {
            assert_eq!(CfgFile::parse(bad), Err(FileNameError::Invalid), "{bad:?}");
        }
        for bad in ["a.txt", "a", "acfg", "a.cfg.bak"] {
            assert_eq!(
                CfgFile::parse(bad),
                Err(FileNameError::Extension),
                "{bad:?}"
            );
        }
        assert_eq!(
            CfgFile::parse(&format!("{}.cfg", "a".repeat(61))),
            Err(FileNameError::Invalid)
        );
    }

    #[test]
    fn next_startup_record() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(next_startup(dir.path()), CfgFile::default_startup());
        let b = CfgFile::parse("b.cfg").unwrap();
        set_next_startup(dir.path(), &b).unwrap();
        assert_eq!(next_startup(dir.path()), b);
        assert_eq!(startup_config_path(dir.path()), dir.path().join("b.cfg"));
        fs::write(dir.path().join(NEXT_STARTUP_RECORD), "../../etc/passwd").unwrap();
        assert_eq!(next_startup(dir.path()), CfgFile::default_startup());
    }
}

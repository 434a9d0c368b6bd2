//! Reading a configuration file as text before it is loaded (`session::load`): a file that is binary or not
//! UTF-8 is refused with a clear reason (and the line where the bad byte is).

use std::path::{Path, PathBuf};

/// Why a configuration file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: binary file (NUL byte), not a configuration", path.display())]
    Binary { path: PathBuf, line: usize },
    #[error("{}:{line}: not UTF-8 text (byte 0x{byte:02x} at offset {offset})", path.display())]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        offset: usize,
        byte: u8,
    },
}

/// The file's text, or why it is not a text file.
pub fn read_config_text(path: &Path) -> Result<String, ConfigFileError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let line_of = |offset: usize| bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(ConfigFileError::Binary {
            path: path.to_path_buf(),
            line: line_of(offset),
        });
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let offset = e.valid_up_to();
            Err(ConfigFileError::NotUtf8 {
                path: path.to_path_buf(),
                line: line_of(offset),
                offset,
                byte: bytes[offset],
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<String, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cfg");
        std::fs::write(&path, bytes).unwrap();
        read_config_text(&path).map_err(|e| e.to_string().replace(&*path.to_string_lossy(), "F"))
    }

    #[test]
    fn text_binary_and_bad_utf8() {
        assert_eq!(read(b"sysname A\n").unwrap(), "sysname A\n");
        assert_eq!(
            read(b"a\nb\0c").unwrap_err(),
            "F:2: binary file (NUL byte), not a configuration"
        );
        assert_eq!(
            read(b"a\n\nsysname \xff\n").unwrap_err(),
            "F:3: not UTF-8 text (byte 0xff at offset 11)"
        );
        assert!(
            read_config_text(Path::new("/nonexistent/x.cfg"))
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
    }
}

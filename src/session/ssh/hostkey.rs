//! The SSH host key: ed25519, generated on first start into the data directory (mode 0600)
//! and reused afterwards, so clients see the same key across restarts.

use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;

/// The key file's name inside the data directory.
pub const HOST_KEY_FILE: &str = "ssh_host_ed25519_key";

#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    #[error("cannot read or write the SSH host key {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "the SSH host key {path} is not an OpenSSH private key ({reason}); move it away to generate a new one"
    )]
    Invalid { path: PathBuf, reason: String },
}

/// Load `DIR/ssh_host_ed25519_key`, or generate and store it when it does not exist.
pub fn load_or_create(data_dir: &Path) -> Result<PrivateKey, HostKeyError> {
    let path = data_dir.join(HOST_KEY_FILE);
    let io_err = |source| HostKeyError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            return PrivateKey::from_openssh(text).map_err(|e| HostKeyError::Invalid {
                path: path.clone(),
                reason: e.to_string(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(io_err)?;
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| io_err(io::Error::other(e.to_string())))?;
    // Written under a temporary name with mode 0600 from the start, then renamed.
    let tmp = data_dir.join(format!("{HOST_KEY_FILE}.{}.tmp", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(e)
    })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::HashAlg;

    #[test]
    fn generated_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(HOST_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(
            first.fingerprint(HashAlg::Sha256),
            again.fingerprint(HashAlg::Sha256)
        );
        std::fs::write(dir.path().join(HOST_KEY_FILE), "garbage").unwrap();
        assert!(matches!(
            load_or_create(dir.path()),
            Err(HostKeyError::Invalid { .. })
        ));
    }
}

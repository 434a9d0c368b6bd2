//! Who may log in over SSH: the decision, free of I/O. It follows the vty line's
//! `authentication-mode`: `none` lets anyone in with the line's role, `password` checks the
//! line's password, `scheme` checks a local user with `service-type ssh` (password or one of
//! the user's authorized keys) and gives the user's role.

use russh::keys::PublicKey;

use crate::aaa::password::{self, Scratch};
use crate::aaa::users::MAX_USER_NAME;
use crate::aaa::{AuthMode, LineConfig};
use crate::config::Config;
use crate::session::Role;

/// Longest password looked at; longer ones fail without hashing.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// What the client proved.
pub enum Credential<'a> {
    Password(&'a str),
    Key(&'a PublicKey),
}

/// Why a login was refused (the reason in the `SSHS_LOG` line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Oversized user name or password.
    Oversized,
    UnknownUser,
    WrongPassword,
    /// The user has no `service-type ssh`.
    ServiceNotAllowed,
    /// `authentication-mode password` without a password set.
    NoLinePassword,
    KeyNotAuthorized,
    /// Public keys only authenticate local users (`authentication-mode scheme`).
    KeyNeedsScheme,
    /// All password checkers are busy and their queue is full (a login flood).
    Busy,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Oversized => "the user name or password is too long",
            Refusal::UnknownUser => "of an unknown user name",
            Refusal::WrongPassword => "of a wrong password",
            Refusal::ServiceNotAllowed => "the user's service types do not allow this access",
            Refusal::NoLinePassword => "the line has no password set",
            Refusal::KeyNotAuthorized => "the public key is not authorized",
            Refusal::KeyNeedsScheme => "public keys need authentication-mode scheme",
            Refusal::Busy => "the server is busy checking other logins",
        }
    }
}

/// May anyone log in on vty line `vty` without credentials (`authentication-mode none`)?
pub fn open_line(config: &Config, vty: usize) -> Option<Role> {
    let line = config.lines.vty(vty);
    (line.auth == AuthMode::None).then_some(line.role)
}

/// The access a login asks for (the local user's `service-type` must allow it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Ssh,
    /// The console.
    Terminal,
}

/// Decide an SSH login on vty line `vty`; the role on success. A password is checked in
/// `scratch` (see [`password::verify_in`]).
pub fn authenticate(
    config: &Config,
    vty: usize,
    user: &str,
    credential: Credential<'_>,
    scratch: &mut Scratch,
) -> Result<Role, Refusal> {
    authenticate_on(
        config,
        config.lines.vty(vty),
        Service::Ssh,
        user,
        credential,
        scratch,
    )
}

/// Decide a login on `line` for `service`; the role on success.
pub fn authenticate_on(
    config: &Config,
    line: &LineConfig,
    service: Service,
    user: &str,
    credential: Credential<'_>,
    scratch: &mut Scratch,
) -> Result<Role, Refusal> {
    let oversized = match credential {
        Credential::Password(p) => p.len() > MAX_PASSWORD_BYTES,
        Credential::Key(_) => false,
    };
    if user.chars().count() > MAX_USER_NAME || oversized {
        return Err(Refusal::Oversized);
    }
    match line.auth {
        AuthMode::None => Ok(line.role),
        AuthMode::Password => match credential {
            Credential::Key(_) => Err(Refusal::KeyNeedsScheme),
            Credential::Password(p) => {
                let stored = line.password.as_ref().ok_or(Refusal::NoLinePassword)?;
                if password::verify_in(p, stored, scratch) {
                    Ok(line.role)
                } else {
                    Err(Refusal::WrongPassword)
                }
            }
        },
        AuthMode::Scheme => {
            let local = config.users.get(user).ok_or(Refusal::UnknownUser)?;
            let proved = match credential {
                Credential::Password(p) => match &local.password {
                    Some(stored) if password::verify_in(p, stored, scratch) => Ok(()),
                    _ => Err(Refusal::WrongPassword),
                },
                Credential::Key(key) => {
                    if key_authorized(&local.keys, key) {
                        Ok(())
                    } else {
                        Err(Refusal::KeyNotAuthorized)
                    }
                }
            };
            proved?;
            let allowed = match service {
                Service::Ssh => local.ssh,
                Service::Terminal => local.terminal,
            };
            if !allowed {
                return Err(Refusal::ServiceNotAllowed);
            }
            Ok(local.role)
        }
    }
}

/// Is `key` among the user's authorized keys (compared by key material, not comment)?
pub fn key_authorized(keys: &[String], key: &PublicKey) -> bool {
    keys.iter()
        .filter_map(|k| PublicKey::from_openssh(k).ok())
        .any(|k| k.key_data() == key.key_data())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aaa::LocalUser;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM/7LMFoG8lWXdvsSttO6L4hS1Ek5uAE3tdk+YYurKFh";

    fn config() -> Config {
        let mut c = Config::new(&[]);
        let hash = password::hash("good").unwrap();
        c.users.insert(
            "admin".into(),
            LocalUser {
                password: Some(hash.clone()),
                ssh: true,
                role: Role::NetworkAdmin,
                keys: vec![KEY.into()],
                ..LocalUser::default()
            },
        );
        c.users.insert(
            "console-only".into(),
            LocalUser {
                password: Some(hash),
                terminal: true,
                ..LocalUser::default()
            },
        );
        c
    }

    #[test]
    fn modes() {
        let mut c = config();
        let key = PublicKey::from_openssh(KEY).unwrap();
        let s = &mut Scratch::default();
        // New device: password mode without a password lets nobody in.
        assert_eq!(
            authenticate(&c, 0, "x", Credential::Password("good"), s),
            Err(Refusal::NoLinePassword)
        );
        assert_eq!(open_line(&c, 0), None);
        for l in &mut c.lines.vty {
            l.auth = AuthMode::Scheme;
        }
        assert_eq!(
            authenticate(&c, 0, "admin", Credential::Password("good"), s),
            Ok(Role::NetworkAdmin)
        );
        assert_eq!(
            authenticate(&c, 0, "admin", Credential::Password("bad"), s),
            Err(Refusal::WrongPassword)
        );
        assert_eq!(
            authenticate(&c, 0, "admin", Credential::Key(&key), s),
            Ok(Role::NetworkAdmin)
        );
        assert_eq!(
            authenticate(&c, 0, "nobody", Credential::Password("good"), s),
            Err(Refusal::UnknownUser)
        );
        assert_eq!(
            authenticate(&c, 0, "console-only", Credential::Password("good"), s),
            Err(Refusal::ServiceNotAllowed)
        );
        assert_eq!(
            authenticate(&c, 0, &"u".repeat(500), Credential::Password("good"), s),
            Err(Refusal::Oversized)
        );
        assert_eq!(
            authenticate(&c, 0, "admin", Credential::Password(&"p".repeat(300)), s),
            Err(Refusal::Oversized)
        );
        c.lines.vty[1].auth = AuthMode::None;
        assert_eq!(open_line(&c, 1), Some(Role::NetworkOperator));
    }
}

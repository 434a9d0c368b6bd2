//! Console login: what `line console 0` asks before the shell starts. With
//! `authentication-mode none` (a new device) nobody is asked; `password` asks for the line's
//! password; `scheme` asks for a local user with `service-type terminal` and its password.
//! Every success and failure is logged.

use super::ssh::auth::{self, Credential, Service};
use super::table::Identity;
use crate::aaa::AuthMode;
use crate::aaa::password::Scratch;
use crate::device::Device;

/// Where the login dialogue happens.
pub trait LoginIo {
    /// Show `prompt` and read one line (without echo when `secret`); `None` at end of input.
    fn ask(&mut self, prompt: &str, secret: bool) -> Option<String>;
    /// Show a message.
    fn say(&mut self, text: &str);
}

/// Ask for credentials until they are right; `None` when the input ends.
pub fn console_login(device: &Device, io: &mut dyn LoginIo) -> Option<Identity> {
    loop {
        let config = device.config.snapshot();
        let line = config.lines.console.clone();
        let (user, decided) = match line.auth {
            AuthMode::None => ("**".to_string(), Ok(line.role)),
            AuthMode::Password => {
                let password = io.ask("Password:", true)?;
                let decided = auth::authenticate_on(
                    &config,
                    &line,
                    Service::Terminal,
                    "**",
                    Credential::Password(&password),
                    &mut Scratch::default(),
                );
                ("**".to_string(), decided)
            }
            AuthMode::Scheme => {
                let user = io.ask("Username:", false)?.trim().to_string();
                let password = io.ask("Password:", true)?;
                let decided = auth::authenticate_on(
                    &config,
                    &line,
                    Service::Terminal,
                    &user,
                    Credential::Password(&password),
                    &mut Scratch::default(),
                );
                (user, decided)
            }
        };
        match decided {
            Ok(role) => {
                if line.auth != AuthMode::None {
                    device.log(
                        "SHELL",
                        5,
                        "SHELL_LOGIN",
                        &format!("{} logged in from con0.", shown(&user)),
                    );
                }
                return Some(Identity {
                    user,
                    role,
                    peer: "**".into(),
                });
            }
            Err(refusal) => {
                device.log(
                    "SHELL",
                    5,
                    "SHELL_LOGIN_FAILED",
                    &format!(
                        "{} failed to log in from con0 because {}.",
                        shown(&user),
                        refusal.reason()
                    ),
                );
                // Then it asks again.
                io.say("Login failed: wrong user name or password, or the user may not use the console.\n");
            }
        }
    }
}

/// The user name as logs show it (cut, so a pasted essay stays out of the log).
fn shown(user: &str) -> String {
    if user == "**" {
        "Console".into()
    } else {
        user.chars().take(64).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aaa::{LocalUser, password};
    use crate::device::testing::test_device;
    use crate::session::Role;

    struct Script {
        answers: Vec<&'static str>,
        said: String,
        asked: Vec<(String, bool)>,
    }

    impl LoginIo for Script {
        fn ask(&mut self, prompt: &str, secret: bool) -> Option<String> {
            self.asked.push((prompt.to_string(), secret));
            (!self.answers.is_empty()).then(|| self.answers.remove(0).to_string())
        }
        fn say(&mut self, text: &str) {
            self.said.push_str(text);
        }
    }

    fn script(answers: &[&'static str]) -> Script {
        Script {
            answers: answers.to_vec(),
            said: String::new(),
            asked: Vec::new(),
        }
    }

    #[test]
    fn none_asks_nothing() {
        let (_dir, device) = test_device();
        let mut io = script(&[]);
        let who = console_login(&device, &mut io).unwrap();
        assert_eq!(who.role, Role::NetworkAdmin);
        assert!(io.asked.is_empty());
    }

    #[test]
    fn scheme_retries_until_right_and_logs() {
        let (_dir, device) = test_device();
        {
            let mut c = device.config.lock();
            c.lines.console.auth = AuthMode::Scheme;
            c.users.insert(
                "ops".into(),
                LocalUser {
                    password: Some(password::hash("pw").unwrap()),
                    terminal: true,
                    ..LocalUser::default()
                },
            );
            c.users.insert(
                "sshonly".into(),
                LocalUser {
                    password: Some(password::hash("pw").unwrap()),
                    ssh: true,
                    ..LocalUser::default()
                },
            );
        }
        device.config.publish();
        let mut io = script(&["ops", "bad", "sshonly", "pw", "ops", "pw"]);
        let who = console_login(&device, &mut io).unwrap();
        assert_eq!(
            (who.user.as_str(), who.role),
            ("ops", Role::NetworkOperator)
        );
        assert_eq!(io.asked[1], ("Password:".to_string(), true));
        assert_eq!(io.said.matches("Login failed").count(), 2);
        let logs: String = device
            .logs
            .entries()
            .iter()
            .map(|e| format!("{e}\n"))
            .collect();
        assert!(
            logs.contains(
                "SHELL_LOGIN_FAILED: ops failed to log in from con0 because of a wrong password."
            ),
            "{logs}"
        );
        assert!(
            logs.contains("SHELL_LOGIN: ops logged in from con0."),
            "{logs}"
        );
        // End of input: nobody.
        assert!(console_login(&device, &mut script(&["ops"])).is_none());
    }
}

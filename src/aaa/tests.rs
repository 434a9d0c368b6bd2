//! The login and access commands through a real session and the built-in grammar: views and
//! prompts, what they change in the configuration, what they print, and their errors.

use crate::session::{Interaction, Role, Session, SessionState};
use crate::testing::{self, Silent};

use super::{AuthMode, LineRange};

fn admin() -> Session {
    let mut s = Session::new(
        testing::device(),
        SessionState::new(Role::NetworkAdmin, "**", "vty9", "**"),
    );
    assert!(s.execute("system-view", &mut Silent).ok);
    s
}

fn run(s: &mut Session, line: &str) -> String {
    let o = s.execute(line, &mut Silent);
    assert!(o.ok, "{line}: {}", o.output);
    o.output
}

#[test]
fn local_user_view_and_settings() {
    let mut s = admin();
    assert_eq!(
        run(&mut s, "local-user admin class manage"),
        "New local user added.\n"
    );
    assert_eq!(s.prompt(), "[Duet-luser-manage-admin]");
    run(&mut s, "password simple Pa55word");
    run(&mut s, "service-type ssh terminal");
    run(&mut s, "authorization-attribute user-role network-admin");
    // Entering an existing user says nothing.
    run(&mut s, "quit");
    assert_eq!(run(&mut s, "local-user admin"), "");
    let this = run(&mut s, "display this");
    assert!(
        this.starts_with("#\nlocal-user admin class manage\n password hash $argon2id$"),
        "{this}"
    );
    assert!(
        this.contains(
            " service-type ssh terminal\n authorization-attribute user-role network-admin\n"
        ),
        "{this}"
    );
    assert!(!this.contains("Pa55word"));
    run(&mut s, "undo service-type terminal");
    // Roles add up, as on Comware: the operator role every user holds does not demote.
    run(&mut s, "authorization-attribute user-role network-operator");
    assert_eq!(
        s.device.config.lock().users["admin"].role,
        Role::NetworkAdmin
    );
    run(
        &mut s,
        "undo authorization-attribute user-role network-admin",
    );
    let user = s.device.config.lock().users["admin"].clone();
    assert!(user.ssh && !user.terminal);
    assert_eq!(user.role, Role::NetworkOperator);
    assert!(super::password::verify(
        "Pa55word",
        user.password.as_deref().unwrap()
    ));
    // The history keeps no password.
    assert!(!s.state.history.iter().any(|h| h.contains("Pa55word")));

    let shown = run(&mut s, "display local-user");
    assert!(shown.contains("Device management user admin:"), "{shown}");
    assert!(shown.contains("Service type:              SSH"), "{shown}");
    assert!(shown.ends_with("Total 1 local users matched.\n"), "{shown}");

    // A command of system view from the user view moves up, as Comware does.
    run(&mut s, "undo local-user admin");
    assert_eq!(s.prompt(), "[Duet]");
    assert!(s.device.config.lock().users.is_empty());
    let o = s.execute("undo local-user admin", &mut Silent);
    assert_eq!(o.output, "The local user admin does not exist.\n");
}

#[test]
fn bad_user_names_and_hashes_are_refused() {
    let mut s = admin();
    for bad in [
        "local-user a@b",
        "local-user all",
        &format!("local-user {}", "u".repeat(56)),
    ] {
        let o = s.execute(bad, &mut Silent);
        assert!(
            !o.ok && o.output.contains("% Wrong parameter"),
            "{bad}: {}",
            o.output
        );
    }
    run(&mut s, "local-user ops");
    let o = s.execute("password hash not-a-hash", &mut Silent);
    assert!(o.output.contains("% Wrong parameter"), "{}", o.output);
    let o = s.execute("ssh authorized-key ssh-ed25519 garbage", &mut Silent);
    assert!(o.output.contains("% Wrong parameter"), "{}", o.output);
    assert_eq!(
        s.device.config.lock().users["ops"],
        super::LocalUser::default()
    );
}

#[test]
fn line_views_apply_to_their_range() {
    let mut s = admin();
    run(&mut s, "line vty 0 63");
    assert_eq!(s.prompt(), "[Duet-line-vty0-63]");
    run(&mut s, "authentication-mode scheme");
    run(&mut s, "line vty 5");
    assert_eq!(
        s.state.views.last(),
        Some(&LineRange::Vty { first: 5, last: 5 }.view())
    );
    run(&mut s, "idle-timeout 1 30");
    run(&mut s, "user-role network-admin");
    run(&mut s, "line console 0");
    assert_eq!(s.prompt(), "[Duet-line-console0]");
    run(&mut s, "authentication-mode password");
    run(&mut s, "set authentication password simple console-pw");
    let c = s.device.config.lock().clone();
    assert!(c.lines.vty.iter().all(|l| l.auth == AuthMode::Scheme));
    assert_eq!(c.lines.vty[5].idle_secs, 90);
    assert_eq!(c.lines.vty[5].role, Role::NetworkAdmin);
    assert_eq!(c.lines.vty[4].idle_secs, 600);
    assert_eq!(c.lines.console.auth, AuthMode::Password);
    let text = c.render();
    assert!(text.contains("#\nline console 0\n authentication-mode password\n set authentication password hash $argon2id$"), "{text}");
    assert!(text.contains("#\nline vty 0 4\n authentication-mode scheme\n#\nline vty 5\n authentication-mode scheme\n user-role network-admin\n idle-timeout 1 30\n#\nline vty 6 63\n"), "{text}");
    drop(c);
    let o = s.execute("line vty 9 3", &mut Silent);
    assert!(o.output.contains("% Wrong parameter"), "{}", o.output);
    run(&mut s, "line vty 5");
    run(&mut s, "undo idle-timeout");
    run(&mut s, "undo user-role network-admin");
    run(&mut s, "undo authentication-mode");
    let c = s.device.config.lock().clone();
    assert_eq!(c.lines.vty[5], super::LineConfig::vty_default());
}

#[test]
fn ssh_server_settings_and_displays() {
    let mut s = admin();
    run(&mut s, "ssh server enable");
    run(&mut s, "ssh server port 2222");
    run(&mut s, "ssh server login-lockout 60");
    run(&mut s, "ssh server authentication-timeout 20");
    let text = s.device.config.lock().render();
    assert!(
        text.contains(
            "#\n ssh server enable\n ssh server port 2222\n ssh server login-lockout 60\n ssh server authentication-timeout 20\n#\n"
        ),
        "{text}"
    );
    let status = run(&mut s, "display ssh server status");
    assert!(status.starts_with(" Stelnet server: Enable\n"), "{status}");
    assert!(
        status.contains(" SSH authentication-timeout : 20 second(s)\n"),
        "{status}"
    );
    assert!(
        status.contains(" SSH connections logging in : 0 (at most 64, 8 per source), 0 refused\n"),
        "{status}"
    );
    assert!(
        status.contains(" SSH server state : Not listening\n"),
        "{status}"
    );
    run(&mut s, "undo ssh server enable");
    run(&mut s, "undo ssh server port");
    run(&mut s, "undo ssh server login-lockout");
    run(&mut s, "undo ssh server authentication-timeout");
    assert_eq!(
        s.device.config.lock().ssh,
        super::SshServerConfig::default()
    );
    assert_eq!(
        run(&mut s, "display ssh server session"),
        " Conn     Ver  State        SerType  Username         Peer\n"
    );
}

/// Answers every question with "Y".
struct Yes;
impl Interaction for Yes {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        Some("Y".into())
    }
}

#[test]
fn display_users_and_free_line() {
    use crate::session::table::{Access, Identity};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let mut s = admin();
    let me = Identity {
        user: "**".into(),
        role: Role::NetworkAdmin,
        peer: "**".into(),
    };
    s.device
        .sessions
        .register("vty9", Access::Control, &me, Box::new(|| {}));
    let freed = Arc::new(AtomicBool::new(false));
    let flag = freed.clone();
    let other = Identity {
        user: "admin".into(),
        role: Role::NetworkAdmin,
        peer: "192.0.2.7".into(),
    };
    s.device.sessions.register(
        "vty2",
        Access::Ssh,
        &other,
        Box::new(move || flag.store(true, Ordering::SeqCst)),
    );
    let users = run(&mut s, "display users");
    let rows: Vec<&str> = users.lines().collect();
    assert!(rows[1].starts_with("  3    VTY 2 "), "{users}");
    assert!(rows[1].contains(" SSH      admin"), "{users}");
    assert_eq!(rows[2].trim(), "Location: 192.0.2.7");
    assert!(rows[3].starts_with("+ 10   VTY 9 "), "{users}");

    run(&mut s, "return");
    let o = s.execute("free line vty 9", &mut Yes);
    assert_eq!(o.output, "The current line cannot be freed.\n");
    let o = s.execute("free line vty 4", &mut Yes);
    assert_eq!(o.output, "No user is logged in on line vty 4.\n");
    // "No" changes nothing.
    assert!(s.execute("free line vty 2", &mut Silent).ok);
    assert!(!freed.load(Ordering::SeqCst));
    let o = s.execute("free line vty 2", &mut Yes);
    assert_eq!(o.output, " [OK]  Line vty2 freed.\n");
    assert!(freed.load(Ordering::SeqCst));
}

#[test]
fn operators_cannot_configure_logins() {
    let mut s = Session::new(
        testing::device(),
        SessionState::new(Role::NetworkOperator, "oper", "vty0", "192.0.2.1"),
    );
    let o = s.execute("system-view", &mut Silent);
    assert_eq!((o.ok, o.output.as_str()), (false, "Permission denied.\n"));
    assert!(s.execute("display local-user", &mut Silent).ok);
    assert!(s.execute("display users", &mut Silent).ok);
    let o = s.execute("free line vty 1", &mut Yes);
    assert_eq!(o.output, "Permission denied.\n");
}

/// `display users`, `display ssh server session` and `display local-user` line up as Comware's
/// do, byte for byte; a name longer than its column pushes the rest of the row. The idle and
/// login-time columns change with the clock: they are masked before comparing.
#[test]
fn user_displays_line_up() {
    use crate::session::table::{Access, Identity};

    let mut s = admin();
    run(&mut s, "local-user admin class manage");
    run(&mut s, "service-type ssh terminal");
    run(&mut s, "quit");
    let long = "u".repeat(20);
    for (line, access, user, peer) in [
        ("vty9", Access::Control, "**", "**"),
        ("vty2", Access::Ssh, "admin", "192.0.2.7:50022"),
        ("vty3", Access::Ssh, long.as_str(), "192.0.2.8:50023"),
    ] {
        let who = Identity {
            user: user.into(),
            role: Role::NetworkAdmin,
            peer: peer.into(),
        };
        s.device
            .sessions
            .register(line, access, &who, Box::new(|| {}));
    }
    let mask = |text: &str| -> String {
        text.lines()
            .map(|l| {
                let mut chars: Vec<char> = l.chars().collect();
                if chars.len() > 46 && chars[15..23].iter().filter(|c| **c == ':').count() == 2 {
                    chars[15..23].fill('i');
                    chars[26..41].fill('t');
                }
                chars.into_iter().collect::<String>() + "\n"
            })
            .collect()
    };
    assert_eq!(
        mask(&run(&mut s, "display users")),
        format!(
            "  Idx  Line    Idle       Time                 Type     User\n\
             \x20 3    VTY 2   iiiiiiii   ttttttttttttttt      SSH      admin\n\
             \x20              Location: 192.0.2.7:50022\n\
             \x20 4    VTY 3   iiiiiiii   ttttttttttttttt      SSH      {long}\n\
             \x20              Location: 192.0.2.8:50023\n\
             + 10   VTY 9   iiiiiiii   ttttttttttttttt      CONTROL  **\n\
             Following are more details.\n\
             +    : Current operation user.\n"
        )
    );
    assert_eq!(
        run(&mut s, "display ssh server session"),
        format!(
            " Conn     Ver  State        SerType  Username         Peer\n \
             VTY 2    2.0  Established  Stelnet  admin            192.0.2.7:50022\n \
             VTY 3    2.0  Established  Stelnet  {long} 192.0.2.8:50023\n"
        )
    );
    assert_eq!(
        run(&mut s, "display local-user"),
        "Device management user admin:\n\
         \x20 State:                     Active\n\
         \x20 Service type:              SSH/Terminal\n\
         \x20 Access limit:              Disabled      Current access number: 1\n\
         \x20 Password:                  Not set\n\
         \x20 Authorized public keys:    0\n\
         \x20 Authorization attributes:\n\
         \x20   User role list:          network-operator\n\
         Total 1 local users matched.\n"
    );
}

//! System displays: the configuration (`display current-configuration`, `display this`,
//! `display saved-configuration`, `display startup`), `display version` and `display clock`.

use std::fs;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use crate::cli::View;
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError, grammar, secret};
use crate::config::render::{self, COMWARE_RELEASE};
use crate::config::startup;
use crate::device::Ctx;
use crate::session::Role;
use crate::system::clock::TimeZone;

/// Configuration text as the session's role may see it. Every display of configuration text
/// goes through here: a network-operator gets each secret (key, password hash, ciphertext)
/// as `******` (cli::secret::mask_config; design.md §9: secrets never reach an operator's
/// display), network-admin the text itself.
fn for_role(ctx: &Ctx<'_>, text: String) -> Result<String, CmdError> {
    if ctx.session.role == Role::NetworkAdmin {
        return Ok(text);
    }
    let grammar = grammar::builtin().map_err(|e| CmdError::msg(e.to_string()))?;
    Ok(secret::mask_config(grammar, &text))
}

/// `display current-configuration [ interface [ IF ] | configuration [ MODULE ] ]`: the whole
/// configuration, the sections of the interfaces (or one), or the sections of the features
/// other than interfaces (or one feature's, named as in `crate::features::ALL`).
pub fn current_configuration(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let text = if args.has("interface") {
        interface_configuration(ctx, args)?
    } else if args.has("configuration") {
        module_configuration(ctx, args)?
    } else {
        ctx.device.config.lock().render()
    };
    let text = for_role(ctx, text)?;
    ctx.out.push_str(&text);
    Ok(())
}

/// The `interface X` sections: every port's, or the one `if` names.
fn interface_configuration(ctx: &Ctx<'_>, args: &Args) -> Result<String, CmdError> {
    let wanted = match args.str("if") {
        None => None,
        Some(typed) => {
            let name: crate::interface::name::IfName = typed
                .parse()
                .map_err(|_| CmdError::WrongParameter("if".into()))?;
            if !ctx.device.has_port(&name) {
                return Err(CmdError::WrongParameter("if".into()));
            }
            Some(name.to_string())
        }
    };
    let sections = ctx.device.config.lock().sections_of("interface");
    let sections = sections.unwrap_or_default();
    Ok(render::partial(sections.iter().filter(|s| {
        match (&s.view, &wanted) {
            (View::Interface(name), Some(w)) => name == w,
            (View::Interface(_), None) => true,
            _ => false,
        }
    })))
}

/// The features whose sections `display current-configuration configuration` shows: every one
/// but the interfaces (whose sections also carry VRRP's and DHCP's interface lines).
fn modules() -> impl Iterator<Item = &'static str> {
    crate::features::ALL
        .iter()
        .map(|f| f.name)
        .filter(|name| *name != "interface")
}

/// The sections of one feature (`module`), or of every feature but the interfaces.
fn module_configuration(ctx: &Ctx<'_>, args: &Args) -> Result<String, CmdError> {
    let config = ctx.device.config.lock();
    let chosen: Vec<&str> = match args.str("module") {
        None => modules().collect(),
        Some(typed) => {
            let lower = typed.to_ascii_lowercase();
            let found = modules().find(|m| *m == lower).ok_or_else(|| {
                CmdError::msg(format!(
                    "The feature {typed} does not exist. Choose one of: {}.",
                    modules().collect::<Vec<_>>().join(", ")
                ))
            })?;
            vec![found]
        }
    };
    // Comware order: the sections sorted as the whole text has them.
    let all = config.sections();
    let wanted: Vec<_> = chosen
        .iter()
        .filter_map(|m| config.sections_of(m))
        .flatten()
        .collect();
    Ok(render::partial(all.iter().filter(|s| wanted.contains(s))))
}

/// `display this`: the configuration of the session's current view.
pub fn this(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let text = ctx.device.config.lock().render_view(ctx.session.view());
    let text = for_role(ctx, text)?;
    ctx.out.push_str(&text);
    Ok(())
}

/// `display saved-configuration`: the next main startup file as saved.
pub fn saved_configuration(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let data_dir = &ctx.device.options.data_dir;
    let path = startup::next_startup(data_dir).path(data_dir);
    let text = match fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CmdError::msg(
                "The saved configuration file does not exist.",
            ));
        }
        Err(e) => {
            return Err(CmdError::msg(format!(
                "Failed to read the saved configuration file: {e}."
            )));
        }
    };
    let text = for_role(ctx, text)?;
    ctx.out.push_str(&text);
    if !text.is_empty() && !text.ends_with('\n') {
        ctx.out.push('\n');
    }
    Ok(())
}

/// `display startup`: the file loaded at start-up and the files the next start-up uses
/// (`NULL` for none; Duet has no backup startup file).
pub fn startup(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let data_dir = &ctx.device.options.data_dir;
    let next = startup::next_startup(data_dir);
    let next = if next.path(data_dir).exists() {
        next.to_string()
    } else {
        "NULL".to_string()
    };
    let current = ctx
        .device
        .current_startup
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_else(|| "NULL".to_string());
    ctx.line(format!(
        " Current startup saved-configuration file: {current}"
    ));
    ctx.line(format!(
        " Next main startup saved-configuration file: {next}"
    ));
    ctx.line(" Next backup startup saved-configuration file: NULL");
    Ok(())
}

/// `display version`
pub fn version(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let up = SystemTime::now()
        .duration_since(ctx.device.started)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    ctx.out.push_str(&version_lines(up));
    Ok(())
}

/// `display version` in Comware 7's shape, so that the community's parsers of Comware output
/// (ntc-templates' `hp_comware_display_version`, used by Netmiko and Ansible) read it:
/// `... Comware Software, Version V, Release R`, a copyright line, `MODEL uptime is ...`, then
/// the image line (Duet's build: profile, architecture, system).
fn version_lines(uptime_secs: u64) -> String {
    let release = env!("CARGO_PKG_VERSION");
    format!(
        "Duet Comware Software, Version {COMWARE_RELEASE}, Release {release}\n\
         Copyright (c) The Duet authors. Licensed under the Apache License 2.0.\n\
         Duet uptime is {}\n\
         \n\
         System image: duet\n\
         System image version: {COMWARE_RELEASE}, Release {release} ({} build, {}-{})\n",
        uptime_text(uptime_secs),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

/// Comware's uptime phrase: `0 weeks, 0 days, 1 hour, 7 minutes`.
fn uptime_text(secs: u64) -> String {
    let minutes = secs / 60;
    let parts = [
        (minutes / (7 * 24 * 60), "week"),
        (minutes / (24 * 60) % 7, "day"),
        (minutes / 60 % 24, "hour"),
        (minutes % 60, "minute"),
    ];
    parts
        .iter()
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `display clock`
pub fn clock(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let zone = ctx.device.config.lock().timezone.clone();
    ctx.line(clock_text(Utc::now(), zone.as_ref()));
    Ok(())
}

/// Comware's layout, without milliseconds (what ntc-templates' `hp_comware_display_clock`
/// parses): `10:38:12 UTC Sat 11/21/2026`; with `clock timezone` the time in that zone, its
/// name, and a second line `Time Zone : BJ add 08:00:00`.
fn clock_text(now: DateTime<Utc>, zone: Option<&TimeZone>) -> String {
    match zone {
        None => now.format("%H:%M:%S UTC %a %m/%d/%Y").to_string(),
        Some(z) => {
            let sign = if z.offset_secs < 0 { "minus" } else { "add" };
            let secs = z.offset_secs.unsigned_abs();
            format!(
                "{} {} {}\nTime Zone : {} {sign} {:02}:{:02}:{:02}",
                z.local(now).format("%H:%M:%S"),
                z.name,
                z.local(now).format("%a %m/%d/%Y"),
                z.name,
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Value;
    use crate::cli::View;
    use crate::system::save::save;
    use crate::testing::{TestBed, args};
    use chrono::TimeZone;

    #[test]
    fn current_configuration_is_the_render() {
        let mut t = TestBed::new();
        t.device.config.lock().sysname = "CoreA".into();
        let run = t.run(current_configuration, &args(&[]), &[]);
        assert_eq!(run.result, Ok(()));
        assert_eq!(run.out, t.config().render());
        assert!(run.out.contains("\n sysname CoreA\n"));
        assert!(run.out.ends_with("#\nreturn\n"));
    }

    #[test]
    fn this_follows_the_view() {
        let mut t = TestBed::new();
        assert_eq!(
            t.run(this, &args(&[]), &[]).out,
            "#\n sysname Duet\n#\nreturn\n"
        );
        t.session
            .views
            .push(View::Interface("GigabitEthernet1/0/2".into()));
        assert_eq!(
            t.run(this, &args(&[]), &[]).out,
            "#\ninterface GigabitEthernet1/0/2\n#\nreturn\n"
        );
    }

    #[test]
    fn saved_configuration_and_startup() {
        let mut t = TestBed::new();
        let run = t.run(saved_configuration, &args(&[]), &[]);
        assert_eq!(
            run.result,
            Err(CmdError::msg(
                "The saved configuration file does not exist."
            ))
        );
        let run = t.run(startup, &args(&[]), &[]);
        assert_eq!(
            run.out,
            " Current startup saved-configuration file: NULL\n Next main startup saved-configuration file: NULL\n Next backup startup saved-configuration file: NULL\n"
        );
        t.run(save, &args(&[("force", Value::Keyword)]), &[]);
        let saved = t.config().render();
        t.device.config.lock().sysname = "Changed".into();
        assert_eq!(t.run(saved_configuration, &args(&[]), &[]).out, saved);
        t.run(save, &args(&[]), &["y", "lab.cfg"]);
        let run = t.run(startup, &args(&[]), &[]);
        assert!(
            run.out
                .contains(" Next main startup saved-configuration file: flash:/lab.cfg\n"),
            "{}",
            run.out
        );
        assert!(
            t.run(saved_configuration, &args(&[]), &[])
                .out
                .contains(" sysname Changed\n")
        );
        t.run(crate::system::save::reset_saved, &args(&[]), &["y"]);
        let run = t.run(startup, &args(&[]), &[]);
        assert!(
            run.out
                .contains(" Next main startup saved-configuration file: NULL\n"),
            "{}",
            run.out
        );
    }

    /// Design invariant: a network-operator never sees a secret. Every configuration display
    /// shows `******` where a key, password hash or ciphertext stands; network-admin still
    /// sees the ciphered and hashed forms (what `save` writes and loading reads back).
    #[test]
    fn operators_see_no_secret_in_any_configuration_display() {
        let key = crate::vrrp::cipher::encrypt("HbKey42");
        let vrrp_key = crate::vrrp::cipher::encrypt("Vk9");
        let hash = crate::aaa::password::hash("Adm1nPw").unwrap();
        let mut t = TestBed::new();
        let text = format!(
            "hot-backup\n authentication-key cipher {key}\n\
             interface GigabitEthernet1/0/1\n ip address 10.1.1.1 24\n vrrp vrid 1 virtual-ip 10.1.1.254\n\
             \x20vrrp vrid 1 authentication-mode simple cipher {vrrp_key}\n\
             line vty 0 4\n set authentication password hash {hash}\n\
             local-user admin class manage\n password hash {hash}\n"
        );
        let errors = crate::session::load::load_text(&t.device, &text);
        assert!(errors.is_empty(), "{errors:?}");
        t.run(save, &args(&[("force", Value::Keyword)]), &[]);
        let secrets = [
            key.as_str(),
            vrrp_key.as_str(),
            hash.as_str(),
            "$argon2id$",
            "$c$3$",
        ];

        let admin = t.run(current_configuration, &args(&[]), &[]).out;
        assert!(admin.contains(&key) && admin.contains(&hash), "{admin}");

        t.session.role = crate::session::Role::NetworkOperator;
        let mut shown = vec![
            t.run(current_configuration, &args(&[]), &[]).out,
            t.run(saved_configuration, &args(&[]), &[]).out,
        ];
        for view in [
            crate::hotbackup::commands::hot_backup_view(),
            View::Interface("GigabitEthernet1/0/1".into()),
            crate::aaa::LineRange::Vty { first: 0, last: 4 }.view(),
            crate::aaa::users::user_view("admin"),
        ] {
            t.session.views = vec![View::User, View::System, view];
            shown.push(t.run(this, &args(&[]), &[]).out);
        }
        for out in &shown {
            for secret in secrets {
                assert!(!out.contains(secret), "an operator sees {secret}: {out}");
            }
            assert!(out.contains("******"), "{out}");
        }
        assert!(
            shown[0].contains("\n authentication-key cipher ******\n"),
            "{}",
            shown[0]
        );
        assert!(
            shown[0].contains("\n password hash ******\n"),
            "{}",
            shown[0]
        );
        assert_eq!(
            shown[0], shown[1],
            "the saved file shows as the running one"
        );
    }

    #[test]
    fn current_startup_is_what_was_there_at_start() {
        let t = TestBed::new();
        fs::create_dir_all(&t.device.options.data_dir).unwrap();
        fs::write(t.data_file("startup.cfg"), "#\nreturn\n").unwrap();
        let device = crate::device::Device::new(t.device.options.clone());
        let mut t2 = TestBed {
            device,
            session: t.session.clone(),
            dir: t.dir,
        };
        let run = t2.run(startup, &args(&[]), &[]);
        assert!(
            run.out
                .starts_with(" Current startup saved-configuration file: flash:/startup.cfg\n"),
            "{}",
            run.out
        );
    }

    #[test]
    fn version_layout() {
        let mut t = TestBed::new();
        let run = t.run(version, &args(&[]), &[]);
        let lines: Vec<&str> = run.out.lines().collect();
        assert_eq!(lines.len(), 6, "{}", run.out);
        assert_eq!(
            lines[0],
            format!(
                "Duet Comware Software, Version 7.1.064, Release {}",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(
            lines[2],
            "Duet uptime is 0 weeks, 0 days, 0 hours, 0 minutes"
        );
        assert!(lines[5].contains(" build, "), "{}", run.out);
    }

    /// The rules of ntc-templates' `hp_comware_display_version` (its Start state, restated
    /// here as regexes; the template itself is not copied): every line of our output must
    /// match one of them (the template sends any other line to Error), and the values
    /// scripts read come out right.
    #[test]
    fn version_parses_with_the_community_template() {
        let rules = [
            r"^\s*HPE?\s+Comware\s+(Platform\s+)?Software,\s+Version\s+(?P<version>\S+),\s+Release\s+(?P<release>\S+)",
            r"^\s*Copyright",
            r"^\s*.*Comware\s+Software,\s+Version\s+(?P<version>\S+),\s+Release\s+(?P<release>\S+)",
            r"^\s*(?P<model>.+?)\s+uptime\s+is\s+(?P<uptime>.+)",
            r"^\s*System\s+image:\s+(?P<system_image>\S+)",
            r"^\s*System\s+image\s+version:\s+(?P<system_image_version>\S+),\s+Release\s+(?P<system_release>\S+)",
            r"^\s*$",
        ];
        let rules: Vec<regex::Regex> = rules
            .iter()
            .map(|r| regex::Regex::new(r).unwrap())
            .collect();
        let mut values = std::collections::BTreeMap::new();
        for line in version_lines(3600 + 7 * 60).lines() {
            let caps = rules
                .iter()
                .find_map(|r| r.captures(line))
                .unwrap_or_else(|| panic!("no rule of the template matches {line:?}"));
            for r in &rules {
                for name in r.capture_names().flatten() {
                    if let Some(m) = caps.name(name) {
                        values.insert(name.to_string(), m.as_str().to_string());
                    }
                }
            }
        }
        let release = env!("CARGO_PKG_VERSION").to_string();
        assert_eq!(values["version"], "7.1.064");
        assert_eq!(values["release"], release);
        assert_eq!(values["model"], "Duet");
        assert_eq!(values["uptime"], "0 weeks, 0 days, 1 hour, 7 minutes");
        assert_eq!(values["system_image"], "duet");
        // The template's SystemImageCompileDate state would want a `Compiled` line next; a
        // line that matches nothing there is ignored, so ending the output is fine.
        assert_eq!(values["system_release"], release);
    }

    /// ntc-templates' `hp_comware_display_clock`: `TIME ZONE DAYWEEK MONTH/DAY/YEAR`, the
    /// time without milliseconds.
    #[test]
    fn clock_parses_with_the_community_template() {
        let rule = regex::Regex::new(
            r"^(?P<time>\d+:\d+:\d+)\s+(?P<zone>\S+)\s+(?P<dayweek>\w+)\s+(?P<month>\d+)/(?P<day>\d+)/(?P<year>\d+)",
        )
        .unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 6, 9, 5, 1).unwrap();
        let text = clock_text(at, None);
        let caps = rule.captures(&text).expect("the template's rule matches");
        assert_eq!(&caps["time"], "09:05:01");
        assert_eq!(&caps["zone"], "UTC");
        assert_eq!(&caps["dayweek"], "Fri");
        assert_eq!(
            (&caps["month"], &caps["day"], &caps["year"]),
            ("03", "06", "2026")
        );
    }

    #[test]
    fn uptime_phrase() {
        assert_eq!(uptime_text(59), "0 weeks, 0 days, 0 hours, 0 minutes");
        assert_eq!(
            uptime_text(3600 + 7 * 60),
            "0 weeks, 0 days, 1 hour, 7 minutes"
        );
        assert_eq!(
            uptime_text(8 * 86400 + 2 * 3600 + 60),
            "1 week, 1 day, 2 hours, 1 minute"
        );
        assert_eq!(
            uptime_text(15 * 86400),
            "2 weeks, 1 day, 0 hours, 0 minutes"
        );
    }

    #[test]
    fn clock_layout() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 10, 38, 12).unwrap()
            + chrono::Duration::milliseconds(320);
        assert_eq!(clock_text(at, None), "10:38:12 UTC Sat 11/21/2026");
        let bj = crate::system::clock::TimeZone {
            name: "BJ".into(),
            offset_secs: 8 * 3600,
        };
        assert_eq!(
            clock_text(at, Some(&bj)),
            "18:38:12 BJ Sat 11/21/2026\nTime Zone : BJ add 08:00:00"
        );
        let west = crate::system::clock::TimeZone {
            name: "Z5".into(),
            offset_secs: -(5 * 3600 + 30 * 60),
        };
        assert_eq!(
            clock_text(at, Some(&west)),
            "05:08:12 Z5 Sat 11/21/2026\nTime Zone : Z5 minus 05:30:00"
        );
        let mut t = TestBed::new();
        let out = t.run(clock, &args(&[]), &[]).out;
        assert!(out.ends_with('\n') && out.contains(" UTC "), "{out}");
    }
}

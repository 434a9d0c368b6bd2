//! `track N interface IF [physical]` / `undo track N` (system view) and `display track
//! {all | N}` (commands/track.yaml).

use std::time::SystemTime;

use super::{EntryStatus, TrackObject, evaluate};
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::device::Ctx;
use crate::interface::name::IfName;

fn entry_number(args: &Args) -> Result<u16, CmdError> {
    args.int("entry")
        .and_then(|n| u16::try_from(n).ok())
        .filter(|n| (1..=super::MAX_ENTRY).contains(n))
        .ok_or_else(|| CmdError::WrongParameter("entry".into()))
}

/// `track N interface IF [physical]` creates entry N; as on Comware, an existing entry is
/// not changed in place (`undo track N` first). `undo track N` deletes it: a VRRP group that
/// tracks it sees NotReady and takes its reduction back.
pub fn entry(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let n = entry_number(args)?;
    if args.undo {
        let removed = ctx.device.config.lock().track.entries.remove(&n);
        return match removed {
            Some(_) => Ok(()),
            None => Err(CmdError::msg(format!(
                "The track entry {n} does not exist."
            ))),
        };
    }
    let interface: IfName = args
        .str("if")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| CmdError::WrongParameter("if".into()))?;
    if !ctx.device.has_port(&interface) {
        return Err(CmdError::msg(format!(
            "The interface {interface} does not exist."
        )));
    }
    let object = TrackObject::Interface {
        interface,
        physical: args.has("physical"),
    };
    let mut config = ctx.device.config.lock();
    match config.track.entries.get(&n) {
        Some(existing) if *existing == object => Ok(()),
        Some(_) => Err(CmdError::msg(format!(
            "The track entry {n} already exists with another tracked object. To change it, delete it with undo track {n} first."
        ))),
        None => {
            config.track.entries.insert(n, object);
            Ok(())
        }
    }
}

/// `display track {all | N}` in Comware 7's layout.
pub fn display(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let configured = ctx.device.config.lock().track.entries.clone();
    let published = ctx.device.track_states.borrow().clone();
    let ifs = ctx.device.interfaces();
    let now = SystemTime::now();
    // The engine's view when it has published this entry, else evaluated here (a device
    // whose engines do not run, `duet check`).
    let status = |n: u16, object: &TrackObject| -> EntryStatus {
        published
            .entries
            .get(&n)
            .filter(|e| &e.object == object)
            .cloned()
            .unwrap_or_else(|| EntryStatus {
                object: object.clone(),
                state: evaluate(object, &ifs),
                since: now,
            })
    };
    let wanted: Vec<(u16, TrackObject)> = if args.has("all") {
        configured.into_iter().collect()
    } else {
        let n = entry_number(args)?;
        match configured.get(&n) {
            Some(object) => vec![(n, object.clone())],
            None => {
                return Err(CmdError::msg(format!(
                    "The track entry {n} does not exist."
                )));
            }
        }
    };
    for (n, object) in wanted {
        let e = status(n, &object);
        let secs = now.duration_since(e.since).map_or(0, |d| d.as_secs());
        ctx.line(format!("Track ID: {n}"));
        ctx.line(format!("  State: {}", e.state.text()));
        ctx.line(format!("  Duration: {}", duration_text(secs)));
        ctx.line("  Notification delay: Positive 0, Negative 0 (in seconds)");
        ctx.line("  Tracked object:");
        match &object {
            TrackObject::Interface {
                interface,
                physical,
            } => ctx.line(format!(
                "    Interface {}: {interface}",
                if *physical {
                    "physical status"
                } else {
                    "status"
                }
            )),
        }
    }
    Ok(())
}

/// `0 days 0 hours 0 minutes 7 seconds`
fn duration_text(secs: u64) -> String {
    format!(
        "{} days {} hours {} minutes {} seconds",
        secs / 86_400,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use crate::session::{Role, Session, SessionState};
    use crate::testing::{self, Silent};

    fn run(s: &mut Session, line: &str) -> String {
        let o = s.execute(line, &mut Silent);
        assert!(o.ok, "{line}: {}", o.output);
        o.output
    }

    fn fail(s: &mut Session, line: &str) -> String {
        let o = s.execute(line, &mut Silent);
        assert!(!o.ok, "{line} succeeded: {}", o.output);
        o.output
    }

    #[test]
    fn entries_are_created_shown_rendered_and_deleted() {
        let mut s = Session::new(
            testing::device(),
            SessionState::new(Role::NetworkAdmin, "**", "con0", "**"),
        );
        run(&mut s, "system-view");
        run(&mut s, "track 1 interface ge1/0/2");
        run(&mut s, "track 2 interface GigabitEthernet 1/0/3 physical");
        // The same again is accepted; another object is refused.
        run(&mut s, "track 1 interface ge1/0/2");
        assert!(fail(&mut s, "track 1 interface ge1/0/3").contains("undo track 1 first"),);
        assert!(fail(&mut s, "track 3 interface ge1/0/9").contains("does not exist"));
        let text = run(&mut s, "display current-configuration");
        assert!(
            text.contains(
                "#\ntrack 1 interface GigabitEthernet1/0/2\ntrack 2 interface GigabitEthernet1/0/3 physical\n#\n"
            ),
            "{text}"
        );
        let shown = run(&mut s, "display track all");
        assert_eq!(
            shown,
            "Track ID: 1\n  State: Negative\n  Duration: 0 days 0 hours 0 minutes 0 seconds\n  \
             Notification delay: Positive 0, Negative 0 (in seconds)\n  Tracked object:\n    \
             Interface status: GigabitEthernet1/0/2\n\
             Track ID: 2\n  State: Negative\n  Duration: 0 days 0 hours 0 minutes 0 seconds\n  \
             Notification delay: Positive 0, Negative 0 (in seconds)\n  Tracked object:\n    \
             Interface physical status: GigabitEthernet1/0/3\n"
        );
        assert!(run(&mut s, "display track 2").starts_with("Track ID: 2\n"));
        assert!(fail(&mut s, "display track 7").contains("The track entry 7 does not exist."));
        run(&mut s, "undo track 1");
        assert!(fail(&mut s, "undo track 1").contains("does not exist"));
        assert!(run(&mut s, "display track all").starts_with("Track ID: 2\n"));
    }

    #[test]
    fn durations_read_as_comware_prints_them() {
        assert_eq!(
            super::duration_text(86_400 + 2 * 3600 + 3 * 60 + 4),
            "1 days 2 hours 3 minutes 4 seconds"
        );
    }
}

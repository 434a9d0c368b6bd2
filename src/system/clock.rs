//! `clock timezone NAME { add | minus } HH:MM:SS` and `clock datetime`.
//!
//! What Duet owns and what it does not: the time zone is Duet's own setting — a name and an
//! offset from UTC kept in the running configuration, for the device's displays — and
//! changes nothing on the host (not `/etc/localtime`, not `TZ`). The clock itself belongs to
//! the host: Linux has one system clock for every network namespace (time namespaces cover
//! only the monotonic and boot clocks), and the host's time service (NTP, chrony, systemd-
//! timesyncd) or its administrator sets it. Setting it from a device's shell would move the
//! time of the host and of every other device on it, and the time service would set it back,
//! so `clock datetime` checks its arguments and then refuses with a sentence saying where to
//! set the time.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};

use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::device::Ctx;

/// Longest zone name Comware accepts.
const MAX_ZONE_NAME: usize = 32;
/// Largest offset: 23:59:59.
const MAX_OFFSET_SECS: u32 = 24 * 3600 - 1;

/// `clock timezone NAME { add | minus } HH:MM:SS`: the zone the device's displays use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeZone {
    pub name: String,
    /// Seconds east of UTC (`minus` is negative).
    pub offset_secs: i32,
}

impl TimeZone {
    /// The configuration line: ` clock timezone BJ add 08:00:00`.
    pub fn render(&self) -> String {
        let sign = if self.offset_secs < 0 { "minus" } else { "add" };
        let secs = self.offset_secs.unsigned_abs();
        format!(
            " clock timezone {} {sign} {:02}:{:02}:{:02}",
            self.name,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }

    /// `now` in this zone.
    pub fn local(&self, now: DateTime<Utc>) -> DateTime<FixedOffset> {
        let offset = FixedOffset::east_opt(self.offset_secs)
            .unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
        now.with_timezone(&offset)
    }
}

/// `HH:MM:SS` (or `HH:MM`, or `0`) as seconds; `None` when out of range.
fn parse_offset(text: &str) -> Option<u32> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut secs = 0u32;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = part.parse().ok()?;
        let limit = if i == 0 { 23 } else { 59 };
        if n > limit {
            return None;
        }
        secs += n * [3600, 60, 1][i];
    }
    Some(secs).filter(|s| *s <= MAX_OFFSET_SECS)
}

/// `clock timezone NAME { add | minus } HH:MM:SS` / `undo clock timezone` (back to UTC).
pub fn timezone(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let zone = if args.undo {
        None
    } else {
        let name = args.str("name").unwrap_or_default();
        let printable = name.chars().all(|c| c.is_ascii_graphic());
        if name.is_empty() || name.len() > MAX_ZONE_NAME || !printable {
            return Err(CmdError::WrongParameter("name".into()));
        }
        let secs = parse_offset(args.str("offset").unwrap_or_default())
            .ok_or_else(|| CmdError::WrongParameter("offset".into()))?;
        let secs = i32::try_from(secs).map_err(|_| CmdError::WrongParameter("offset".into()))?;
        Some(TimeZone {
            name: name.to_string(),
            offset_secs: if args.has("minus") { -secs } else { secs },
        })
    };
    ctx.device.config.lock().timezone = zone;
    Ok(())
}

/// Why `clock datetime` does not set the clock (see the module comment).
pub const HOST_OWNS_CLOCK: &str = "The clock belongs to the host Duet runs on and is not changed from the device: set the time on the host (its NTP service or date command).";

/// `clock datetime HH:MM[:SS] { MM/DD/YYYY | YYYY/MM/DD }`: checks the time and date as
/// Comware does, then refuses (the host owns the clock).
pub fn datetime(_ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let time = args.str("time").unwrap_or_default();
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
        .ok()
        .or_else(|| (time == "0").then(NaiveTime::default));
    if time.is_none() {
        return Err(CmdError::WrongParameter("time".into()));
    }
    let date = args.str("date").unwrap_or_default();
    let date = NaiveDate::parse_from_str(date, "%m/%d/%Y")
        .or_else(|_| NaiveDate::parse_from_str(date, "%Y/%m/%d"))
        .ok()
        .filter(|d| (2000..=2035).contains(&chrono::Datelike::year(d)));
    if date.is_none() {
        return Err(CmdError::WrongParameter("date".into()));
    }
    Err(CmdError::msg(HOST_OWNS_CLOCK))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Value;
    use crate::testing::{TestBed, args, undo};
    use chrono::TimeZone as _;

    fn zone(name: &str, sign: &str, offset: &str) -> Args {
        args(&[
            ("name", Value::Str(name.into())),
            (sign, Value::Keyword),
            ("offset", Value::Str(offset.into())),
        ])
    }

    #[test]
    fn set_render_and_undo() {
        let mut t = TestBed::new();
        assert_eq!(
            t.run(timezone, &zone("BJ", "add", "08:00:00"), &[]).result,
            Ok(())
        );
        let tz = t.config().timezone.unwrap();
        assert_eq!(tz.render(), " clock timezone BJ add 08:00:00");
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 20, 0, 0).unwrap();
        assert_eq!(
            tz.local(at).format("%H:%M %m/%d").to_string(),
            "04:00 11/22"
        );
        assert_eq!(
            t.run(timezone, &zone("NY", "minus", "5:30"), &[]).result,
            Ok(())
        );
        assert_eq!(
            t.config().timezone.unwrap().render(),
            " clock timezone NY minus 05:30:00"
        );
        assert_eq!(t.run(timezone, &undo(&[]), &[]).result, Ok(()));
        assert_eq!(t.config().timezone, None);
    }

    #[test]
    fn bad_offsets_and_names_change_nothing() {
        let mut t = TestBed::new();
        for (name, offset, slot) in [
            ("BJ", "24:00:00", "offset"),
            ("BJ", "08:60:00", "offset"),
            ("BJ", "8:0:0:0", "offset"),
            ("BJ", "x", "offset"),
            ("BJ", "", "offset"),
            (&"z".repeat(33) as &str, "01:00:00", "name"),
            ("tab\tzone", "01:00:00", "name"),
        ] {
            let run = t.run(timezone, &zone(name, "add", offset), &[]);
            assert_eq!(
                run.result,
                Err(CmdError::WrongParameter(slot.into())),
                "{name} {offset}"
            );
            assert_eq!(t.config().timezone, None);
        }
    }

    #[test]
    fn datetime_checks_then_refuses() {
        let mut t = TestBed::new();
        let at = |time: &str, date: &str| {
            args(&[
                ("time", Value::Str(time.into())),
                ("date", Value::Str(date.into())),
            ])
        };
        for (time, date) in [
            ("14:10:20", "8/1/2026"),
            ("0:6", "2026/01/01"),
            ("0", "12/31/2035"),
        ] {
            let run = t.run(datetime, &at(time, date), &[]);
            assert_eq!(
                run.result,
                Err(CmdError::msg(HOST_OWNS_CLOCK)),
                "{time} {date}"
            );
        }
        for (time, date, slot) in [
            ("25:00:00", "8/1/2026", "time"),
            ("14:10:20", "13/1/2026", "date"),
            ("14:10:20", "2/30/2026", "date"),
            ("14:10:20", "1/1/1999", "date"),
        ] {
            let run = t.run(datetime, &at(time, date), &[]);
            assert_eq!(
                run.result,
                Err(CmdError::WrongParameter(slot.into())),
                "{time} {date}"
            );
        }
    }
}

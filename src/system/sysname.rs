//! `sysname NAME` / `undo sysname`: the device name shown in prompts, logs and the configuration.

use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::config::DEFAULT_SYSNAME;
use crate::device::Ctx;

/// Longest name Comware accepts.
const MAX_SYSNAME: usize = 64;

/// `sysname NAME` sets the name; `undo sysname` restores `Duet`.
pub fn sysname(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let name = if args.undo {
        DEFAULT_SYSNAME.to_string()
    } else {
        let name = args
            .str("name")
            .ok_or_else(|| CmdError::WrongParameter("name".into()))?;
        // One printable word: it is the prompt and a line of the configuration file.
        let printable = name.chars().all(|c| !c.is_control() && !c.is_whitespace());
        if name.is_empty() || name.chars().count() > MAX_SYSNAME || !printable {
            return Err(CmdError::WrongParameter("name".into()));
        }
        name.to_string()
    };
    ctx.device.config.lock().sysname = name;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Value;
    use crate::testing::{TestBed, args, undo};

    #[test]
    fn set_and_undo() {
        let mut t = TestBed::new();
        let run = t.run(sysname, &args(&[("name", Value::Str("CoreA".into()))]), &[]);
        assert_eq!((run.result, run.out.as_str()), (Ok(()), ""));
        assert_eq!(t.device.sysname(), "CoreA");
        assert_eq!(t.run(sysname, &undo(&[]), &[]).result, Ok(()));
        assert_eq!(t.device.sysname(), "Duet");
    }

    #[test]
    fn bad_names_change_nothing() {
        let mut t = TestBed::new();
        let before = t.config();
        for bad in ["", "two words", "tab\there", &"x".repeat(65)] {
            let run = t.run(
                sysname,
                &args(&[("name", Value::Str(bad.to_string()))]),
                &[],
            );
            assert_eq!(
                run.result,
                Err(CmdError::WrongParameter("name".into())),
                "{bad:?}"
            );
            assert_eq!(t.config(), before);
        }
        assert_eq!(
            t.run(sysname, &args(&[]), &[]).result,
            Err(CmdError::WrongParameter("name".into()))
        );
        assert_eq!(
            t.run(sysname, &args(&[("name", Value::Str("x".repeat(64)))]), &[])
                .result,
            Ok(())
        );
    }
}

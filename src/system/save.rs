//! `save [force]` and `reset saved-configuration`: Comware 7's dialogues around the atomic
//! write of the rendered configuration to the next startup file.

use std::fs::{self, File};
use std::path::Path;

use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::config::atomic;
use crate::config::startup::{self, CfgFile};
use crate::device::Ctx;
use crate::session::Interaction;

const CONFIRM_SAVE: &str =
    "The current configuration will be written to the device. Are you sure? [Y/N]:";
const CONFIRM_ERASE: &str = "The saved configuration file will be erased. Are you sure? [Y/N]:";
/// Asked again after an answer that is neither yes nor no.
const CHOOSE: &str = "Before pressing ENTER you must choose 'YES' or 'NO'[Y/N]:";

/// Ask a yes/no question until the answer is one: `y`/`yes` or `n`/`no` in any case. Anything
/// else (an empty line included) asks again; end of input means no.
pub(crate) fn confirm(io: &mut dyn Interaction, question: &str) -> bool {
    let mut prompt = question;
    loop {
        match io.ask(prompt).map(|a| a.trim().to_ascii_lowercase()) {
            None => return false,
            Some(a) if a == "y" || a == "yes" => return true,
            Some(a) if a == "n" || a == "no" => return false,
            Some(_) => prompt = CHOOSE,
        }
    }
}

/// Which file to write to, after the questions; `None` when the user declined.
fn choose_target(
    io: &mut dyn Interaction,
    data_dir: &Path,
    current: &CfgFile,
) -> Result<Option<CfgFile>, CmdError> {
    if !confirm(io, CONFIRM_SAVE) {
        return Ok(None);
    }
    let question = format!(
        "Please input the file name(*.cfg)[{current}]\n(To leave the existing filename unchanged, press the enter key):"
    );
    let target = match io.ask(&question) {
        None => return Ok(None),
        Some(answer) if answer.trim().is_empty() => current.clone(),
        Some(answer) => CfgFile::parse(&answer).map_err(|e| CmdError::msg(e.to_string()))?,
    };
    if target.path(data_dir).exists()
        && !confirm(io, &format!("{target} exists, overwrite? [Y/N]:"))
    {
        return Ok(None);
    }
    Ok(Some(target))
}

/// `save [force]`: write the running configuration to the next startup file, or to a file the
/// user names, which then becomes the next startup file. `force` asks nothing.
pub fn save(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let data_dir = ctx.device.options.data_dir.clone();
    let current = startup::next_startup(&data_dir);
    let target = if args.has("force") {
        current.clone()
    } else {
        match choose_target(ctx.io, &data_dir, &current)? {
            Some(target) => target,
            None => return Ok(()),
        }
    };
    let text = ctx.device.config.lock().render();
    ctx.line("Validating file. Please wait...");
    let failed = |e: std::io::Error| {
        CmdError::msg(format!(
            "Failed to save the configuration to {target}: {e}."
        ))
    };
    crate::datadir::create(&data_dir).map_err(failed)?;
    atomic::write(&target.path(&data_dir), text.as_bytes()).map_err(failed)?;
    if target != current {
        startup::set_next_startup(&data_dir, &target).map_err(|e| {
            CmdError::msg(format!(
                "Saved to {target}, but failed to make it the next startup file: {e}."
            ))
        })?;
    }
    ctx.line("Saved the current configuration to mainboard device successfully.");
    Ok(())
}

/// `save FILE`: write the running configuration to that file after one confirmation. Unlike
/// the dialogue of `save`, the next startup file stays what it was (Comware 7's `save
/// file-url`); `startup saved-configuration FILE` makes it the next one.
pub fn save_file(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let data_dir = ctx.device.options.data_dir.clone();
    let target = CfgFile::parse(args.str("file").unwrap_or_default())
        .map_err(|e| CmdError::msg(e.to_string()))?;
    if !confirm(
        ctx.io,
        &format!("The current configuration will be saved to {target}. Continue? [Y/N]:"),
    ) {
        return Ok(());
    }
    let text = ctx.device.config.lock().render();
    ctx.line("Now saving current configuration to the device.");
    ctx.line(format!("Saving configuration {target}. Please wait..."));
    let failed = |e: std::io::Error| {
        CmdError::msg(format!(
            "Failed to save the configuration to {target}: {e}."
        ))
    };
    crate::datadir::create(&data_dir).map_err(failed)?;
    atomic::write(&target.path(&data_dir), text.as_bytes()).map_err(failed)?;
    ctx.line("Configuration is saved to device successfully.");
    Ok(())
}

/// `startup saved-configuration FILE [main]`: the next start-up (and `reboot`) loads FILE,
/// which must exist.
pub fn startup_saved_configuration(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let data_dir = ctx.device.options.data_dir.clone();
    let file = CfgFile::parse(args.str("file").unwrap_or_default())
        .map_err(|e| CmdError::msg(e.to_string()))?;
    if !file.path(&data_dir).is_file() {
        return Err(CmdError::msg(format!("The file {file} does not exist.")));
    }
    startup::set_next_startup(&data_dir, &file).map_err(|e| {
        CmdError::msg(format!(
            "Failed to set {file} as the next startup configuration file: {e}."
        ))
    })?;
    ctx.line("Please wait ...... Done.");
    Ok(())
}

/// `reset saved-configuration`: erase the next main startup file, after confirmation.
pub fn reset_saved(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let data_dir = ctx.device.options.data_dir.clone();
    let path = startup::next_startup(&data_dir).path(&data_dir);
    if !path.exists() {
        return Err(CmdError::msg(
            "The saved configuration file does not exist.",
        ));
    }
    if !confirm(ctx.io, CONFIRM_ERASE) {
        return Ok(());
    }
    ctx.line("Configuration file in flash: is being cleared.");
    ctx.line("Please wait ...");
    let failed =
        |e: std::io::Error| CmdError::msg(format!("Failed to clear the configuration file: {e}."));
    fs::remove_file(&path).map_err(failed)?;
    File::open(&data_dir)
        .and_then(|d| d.sync_all())
        .map_err(failed)?;
    ctx.line("Configuration file is cleared.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Value;
    use crate::testing::{TestBed, args};

    const FILE_QUESTION: &str = "Please input the file name(*.cfg)[flash:/startup.cfg]\n(To leave the existing filename unchanged, press the enter key):";
    const SAVED: &str = "Validating file. Please wait...\nSaved the current configuration to mainboard device successfully.\n";

    fn saved_text(t: &TestBed, name: &str) -> Option<String> {
        fs::read_to_string(t.data_file(name)).ok()
    }

    #[test]
    fn save_yes_default_name() {
        let mut t = TestBed::new();
        let run = t.run(save, &args(&[]), &["y", ""]);
        assert_eq!(run.result, Ok(()));
        assert_eq!(run.asked, [CONFIRM_SAVE, FILE_QUESTION]);
        assert_eq!(run.out, SAVED);
        assert_eq!(saved_text(&t, "startup.cfg"), Some(t.config().render()));
    }

    #[test]
    fn save_existing_file_asks_to_overwrite() {
        let mut t = TestBed::new();
        assert_eq!(
            t.run(save, &args(&[("force", Value::Keyword)]), &[]).result,
            Ok(())
        );
        t.device.config.lock().sysname = "Second".into();
        let run = t.run(save, &args(&[]), &["Y", "", "yes"]);
        assert_eq!(
            run.asked,
            [
                CONFIRM_SAVE,
                FILE_QUESTION,
                "flash:/startup.cfg exists, overwrite? [Y/N]:"
            ]
        );
        assert_eq!(run.out, SAVED);
        assert!(
            saved_text(&t, "startup.cfg")
                .unwrap()
                .contains(" sysname Second\n")
        );
    }

    #[test]
    fn declining_overwrite_keeps_the_old_file() {
        let mut t = TestBed::new();
        t.run(save, &args(&[("force", Value::Keyword)]), &[]);
        let before = saved_text(&t, "startup.cfg");
        t.device.config.lock().sysname = "Second".into();
        let run = t.run(save, &args(&[]), &["y", "", "n"]);
        assert_eq!((run.result, run.out.as_str()), (Ok(()), ""));
        assert_eq!(saved_text(&t, "startup.cfg"), before);
    }

    #[test]
    fn save_no_writes_nothing() {
        let mut t = TestBed::new();
        let run = t.run(save, &args(&[]), &["n"]);
        assert_eq!((run.result, run.out.as_str()), (Ok(()), ""));
        assert_eq!(run.asked, [CONFIRM_SAVE]);
        assert!(!t.data_file("startup.cfg").exists());
    }

    #[test]
    fn empty_answer_asks_to_choose_then_yes() {
        let mut t = TestBed::new();
        let run = t.run(save, &args(&[]), &["", "maybe", "y", ""]);
        assert_eq!(run.asked, [CONFIRM_SAVE, CHOOSE, CHOOSE, FILE_QUESTION]);
        assert_eq!(run.out, SAVED);
        assert!(t.data_file("startup.cfg").exists());
    }

    #[test]
    fn end_of_input_is_no() {
        for answers in [&[][..], &["y"][..], &[""][..]] {
            let mut t = TestBed::new();
            let run = t.run(save, &args(&[]), answers);
            assert_eq!((run.result, run.out.as_str()), (Ok(()), ""), "{answers:?}");
            assert!(!t.data_file("startup.cfg").exists(), "{answers:?}");
        }
    }

    #[test]
    fn save_force_asks_nothing() {
        let mut t = TestBed::new();
        let run = t.run(save, &args(&[("force", Value::Keyword)]), &[]);
        assert!(run.asked.is_empty());
        assert_eq!(run.out, SAVED);
        assert_eq!(saved_text(&t, "startup.cfg"), Some(t.config().render()));
    }

    #[test]
    fn save_under_another_name_becomes_next_startup() {
        let mut t = TestBed::new();
        let run = t.run(save, &args(&[]), &["y", "flash:/lab.cfg"]);
        assert_eq!(run.out, SAVED);
        assert!(t.data_file("lab.cfg").exists());
        assert!(!t.data_file("startup.cfg").exists());
        let data_dir = t.device.options.data_dir.clone();
        assert_eq!(startup::next_startup(&data_dir).name(), "lab.cfg");
        // The next dialogue offers the new name, and `save force` writes there.
        let run = t.run(save, &args(&[]), &["y", "", "n"]);
        assert!(run.asked[1].contains("[flash:/lab.cfg]"), "{:?}", run.asked);
        t.device.config.lock().sysname = "Forced".into();
        t.run(save, &args(&[("force", Value::Keyword)]), &[]);
        assert!(
            saved_text(&t, "lab.cfg")
                .unwrap()
                .contains(" sysname Forced\n")
        );
    }

    #[test]
    fn bad_file_names_are_refused() {
        for (name, message) in [
            ("lab.txt", "The file name must end with .cfg."),
            (
                "../x.cfg",
                "The file name is invalid. Enter a name such as flash:/startup.cfg (letters, digits, '-', '_' and '.').",
            ),
            (
                "sub/x.cfg",
                "The file name is invalid. Enter a name such as flash:/startup.cfg (letters, digits, '-', '_' and '.').",
            ),
        ] {
            let mut t = TestBed::new();
            let run = t.run(save, &args(&[]), &["y", name]);
            assert_eq!(run.result, Err(CmdError::msg(message)), "{name}");
            assert_eq!(run.out, "");
            let data_dir = t.device.options.data_dir.clone();
            assert!(
                !data_dir.exists() || fs::read_dir(&data_dir).unwrap().next().is_none(),
                "{name}: nothing written"
            );
        }
    }

    #[test]
    fn failed_write_reports_and_keeps_the_old_file() {
        let mut t = TestBed::new();
        t.run(save, &args(&[("force", Value::Keyword)]), &[]);
        let before = saved_text(&t, "startup.cfg");
        // Occupy the temporary file's place with a directory so the write fails.
        let tmp = atomic::temp_path(&t.data_file("startup.cfg")).unwrap();
        fs::create_dir(&tmp).unwrap();
        t.device.config.lock().sysname = "Lost".into();
        let run = t.run(save, &args(&[("force", Value::Keyword)]), &[]);
        assert!(
            matches!(&run.result, Err(CmdError::Message(m)) if m.starts_with("Failed to save the configuration to flash:/startup.cfg: ")),
            "{:?}",
            run.result
        );
        assert_eq!(saved_text(&t, "startup.cfg"), before);
    }

    #[test]
    fn save_to_a_named_file_keeps_the_next_startup_file() {
        let mut t = TestBed::new();
        let file = args(&[("file", Value::Str("flash:/backup.cfg".into()))]);
        let run = t.run(save_file, &file, &["n"]);
        assert_eq!((run.result, run.out.as_str()), (Ok(()), ""));
        assert_eq!(
            run.asked,
            ["The current configuration will be saved to flash:/backup.cfg. Continue? [Y/N]:"]
        );
        assert!(!t.data_file("backup.cfg").exists());
        let run = t.run(save_file, &file, &["y"]);
        assert_eq!(
            run.out,
            "Now saving current configuration to the device.\nSaving configuration flash:/backup.cfg. Please wait...\nConfiguration is saved to device successfully.\n"
        );
        assert_eq!(saved_text(&t, "backup.cfg"), Some(t.config().render()));
        let data_dir = t.device.options.data_dir.clone();
        assert_eq!(startup::next_startup(&data_dir).name(), "startup.cfg");
        let run = t.run(
            save_file,
            &args(&[("file", Value::Str("x.txt".into()))]),
            &["y"],
        );
        assert_eq!(
            run.result,
            Err(CmdError::msg("The file name must end with .cfg."))
        );
        assert!(run.asked.is_empty());
    }

    #[test]
    fn startup_saved_configuration_sets_the_next_file() {
        let mut t = TestBed::new();
        let data_dir = t.device.options.data_dir.clone();
        let lab = args(&[("file", Value::Str("lab.cfg".into()))]);
        let run = t.run(startup_saved_configuration, &lab, &[]);
        assert_eq!(
            run.result,
            Err(CmdError::msg("The file flash:/lab.cfg does not exist."))
        );
        assert_eq!(startup::next_startup(&data_dir).name(), "startup.cfg");
        t.run(
            save_file,
            &args(&[("file", Value::Str("lab.cfg".into()))]),
            &["y"],
        );
        let run = t.run(startup_saved_configuration, &lab, &[]);
        assert_eq!(run.result, Ok(()));
        assert_eq!(run.out, "Please wait ...... Done.\n");
        assert_eq!(startup::next_startup(&data_dir).name(), "lab.cfg");
    }

    #[test]
    fn reset_saved_configuration() {
        let mut t = TestBed::new();
        t.run(save, &args(&[("force", Value::Keyword)]), &[]);
        let run = t.run(reset_saved, &args(&[]), &["n"]);
        assert_eq!((run.result, run.out.as_str()), (Ok(()), ""));
        assert!(t.data_file("startup.cfg").exists());
        let run = t.run(reset_saved, &args(&[]), &["", "y"]);
        assert_eq!(run.asked, [CONFIRM_ERASE, CHOOSE]);
        assert_eq!(run.result, Ok(()));
        assert_eq!(
            run.out,
            "Configuration file in flash: is being cleared.\nPlease wait ...\nConfiguration file is cleared.\n"
        );
        assert!(!t.data_file("startup.cfg").exists());
        let run = t.run(reset_saved, &args(&[]), &["y"]);
        assert_eq!(
            run.result,
            Err(CmdError::msg(
                "The saved configuration file does not exist."
            ))
        );
        assert!(run.asked.is_empty());
    }

    #[test]
    fn reset_end_of_input_is_no() {
        let mut t = TestBed::new();
        t.run(save, &args(&[("force", Value::Keyword)]), &[]);
        let run = t.run(reset_saved, &args(&[]), &[]);
        assert_eq!((run.result, run.out.as_str()), (Ok(()), ""));
        assert!(t.data_file("startup.cfg").exists());
    }
}

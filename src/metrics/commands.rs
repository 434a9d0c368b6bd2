//! `metrics enable`, `metrics listen A.B.C.D [port P]` (grammar in commands/metrics.yaml).

use super::config::{DEFAULT_PORT, MetricsConfig};
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Registry};

pub fn register(r: &mut Registry) {
    r.add("metrics.enable", enable);
    r.add("metrics.listen", listen);
}

/// `metrics enable` / `undo metrics enable`: the endpoint task (re)binds when the
/// configuration is published.
fn enable(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    ctx.device.config.lock().metrics.enabled = !args.undo;
    Ok(())
}

/// `metrics listen A.B.C.D [port P]` / `undo metrics listen` (back to 127.0.0.1 and the
/// default port).
fn listen(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let mut cfg = ctx.device.config.lock();
    if args.undo {
        let enabled = cfg.metrics.enabled;
        cfg.metrics = MetricsConfig {
            enabled,
            ..Default::default()
        };
        return Ok(());
    }
    let address = args
        .ipv4("address")
        .ok_or_else(|| CmdError::WrongParameter("address".into()))?;
    if address.is_multicast() || address.is_broadcast() {
        return Err(CmdError::msg(format!(
            "The endpoint cannot listen on {address}: give an address of this device, or 0.0.0.0."
        )));
    }
    let port = match args.int("tcp") {
        Some(p) => u16::try_from(p).map_err(|_| CmdError::WrongParameter("tcp".into()))?,
        None => DEFAULT_PORT,
    };
    cfg.metrics.address = address;
    cfg.metrics.port = port;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::device::testing::TestIo;

    #[test]
    fn enable_listen_render_and_undo() {
        let (_d, mut s) = crate::device::testing::admin_session();
        for line in [
            "system-view",
            "metrics listen 10.1.1.1 port 9101",
            "metrics enable",
        ] {
            let o = s.execute(line, &mut TestIo);
            assert!(o.ok, "{line}: {}", o.output);
        }
        let text = s.device.config.lock().render();
        assert!(
            text.contains("#\n metrics listen 10.1.1.1 port 9101\n metrics enable\n#\n"),
            "{text}"
        );
        let (_d2, fresh) = crate::device::testing::test_device();
        assert!(crate::session::load::load_text(&fresh, &text).is_empty());
        assert_eq!(fresh.config.lock().metrics, s.device.config.lock().metrics);
        let o = s.execute("metrics listen 224.0.0.1", &mut TestIo);
        assert!(!o.ok && o.output.contains("cannot listen"), "{}", o.output);
        for line in ["undo metrics listen", "undo metrics enable"] {
            assert!(s.execute(line, &mut TestIo).ok);
        }
        assert_eq!(
            s.device.config.lock().metrics,
            super::MetricsConfig::default()
        );
    }
}

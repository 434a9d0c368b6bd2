//! `ping [-c N] [-s SIZE] [-t TIMEOUT] [-a SOURCE] HOST` and `tracert HOST`: ICMP echo from the
//! device (its network namespace and addresses on Linux, the simulated LAN on sim), with
//! Comware 7's output, each line shown as it comes, Ctrl+C stopping the run.
//!
//! `tracert` probes with ICMP echo requests of growing TTL (Comware sends UDP datagrams; the
//! hops answer an echo request the same way, with ICMP time exceeded, and the target with an
//! echo reply instead of port unreachable), three per hop, up to 30 hops.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Device, NetKind};
use crate::net::probe::{LinuxProber, Outcome, Probe, ProbeError, Prober, SimProber};

/// Comware 7's defaults.
const DEFAULT_COUNT: u64 = 5;
const DEFAULT_SIZE: usize = 56;
const DEFAULT_TIMEOUT_MS: u64 = 2000;
/// Pause between two echo requests (Comware's `-m` default).
const INTERVAL: Duration = Duration::from_millis(200);
const TRACERT_MAX_HOPS: u8 = 30;
const TRACERT_PROBES: usize = 3;
const TRACERT_TIMEOUT: Duration = Duration::from_millis(5000);
/// Bytes of data in a tracert probe (40 bytes each packet with the IP and ICMP headers).
const TRACERT_DATA: usize = 12;

/// A fresh ICMP identifier per run, so two runs at once (two sessions) never take each
/// other's answers.
fn next_id() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    (std::process::id() as u16) ^ NEXT.fetch_add(0x3b1, Ordering::Relaxed)
}

/// The prober of the device's network.
fn prober(device: &Device) -> Result<Box<dyn Prober>, CmdError> {
    // Probe from the addresses the last command gave the ports, as Comware does: a ping
    // typed right after `ip address` must not race the interface engine.
    device.settled_interfaces();
    let failed = |e: ProbeError| CmdError::msg(e.to_string());
    match &device.options.net {
        NetKind::Sim => {
            let (lan, node) = device
                .sim
                .get()
                .ok_or_else(|| failed(ProbeError::NoNetwork))?;
            Ok(Box::new(SimProber {
                lan: lan.clone(),
                node: *node,
            }))
        }
        NetKind::Linux { .. } => Ok(Box::new(LinuxProber::new().map_err(failed)?)),
    }
}

/// Wait `pause`, unless the user stops first (true).
fn pause_or_stop(ctx: &mut Ctx<'_>, pause: Duration) -> bool {
    let deadline = std::time::Instant::now() + pause;
    while std::time::Instant::now() < deadline {
        if ctx.io.interrupted() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20).min(pause));
    }
    ctx.io.interrupted()
}

/// Milliseconds with three decimals, as Comware prints round trips.
fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// traceroute's mark after a time for an ICMP destination unreachable (RFC 792 codes;
/// RFC 1812 5.2.7.1 for 13): `!N` network, `!H` host, `!P` protocol, `!X` prohibited; the port
/// unreachable of a target that answered is no mark.
fn unreachable_mark(code: u8) -> &'static str {
    match code {
        0 | 6 | 9 => " !N",
        1 | 7 | 10 => " !H",
        2 => " !P",
        3 => "",
        13 => " !X",
        _ => " !",
    }
}

/// The counters of one ping run and its summary lines.
#[derive(Default)]
struct Stats {
    sent: u64,
    rtts: Vec<f64>,
}

impl Stats {
    fn summary(&self, dst: Ipv4Addr) -> Vec<String> {
        let received = self.rtts.len() as u64;
        let loss = if self.sent == 0 {
            0.0
        } else {
            (self.sent - received) as f64 * 100.0 / self.sent as f64
        };
        let mut lines = vec![
            String::new(),
            format!("--- Ping statistics for {dst} ---"),
            format!(
                "{} packet(s) transmitted, {received} packet(s) received, {loss:.1}% packet loss",
                self.sent
            ),
        ];
        if !self.rtts.is_empty() {
            let n = self.rtts.len() as f64;
            let min = self.rtts.iter().copied().fold(f64::INFINITY, f64::min);
            let max = self.rtts.iter().copied().fold(0.0, f64::max);
            let avg = self.rtts.iter().sum::<f64>() / n;
            let var = self.rtts.iter().map(|r| (r - avg) * (r - avg)).sum::<f64>() / n;
            lines.push(format!(
                "round-trip min/avg/max/std-dev = {min:.3}/{avg:.3}/{max:.3}/{:.3} ms",
                var.sqrt()
            ));
        }
        lines
    }
}

/// `ping [-c COUNT] [-s SIZE] [-t TIMEOUT] [-a SOURCE] HOST`
pub fn ping(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let dst = args
        .ipv4("host")
        .ok_or_else(|| CmdError::WrongParameter("host".into()))?;
    let count = args.int("count").unwrap_or(DEFAULT_COUNT);
    let data_len = args
        .int("size")
        .map_or(Ok(DEFAULT_SIZE), usize::try_from)
        .map_err(|_| CmdError::WrongParameter("size".into()))?;
    let timeout = Duration::from_millis(args.int("timeout").unwrap_or(DEFAULT_TIMEOUT_MS));
    let source = args.ipv4("source");
    if let Some(source) = source {
        let local = ctx
            .device
            .interfaces()
            .values()
            .any(|port| port.addresses.iter().any(|(a, _)| *a == source));
        if !local {
            return Err(CmdError::msg(ProbeError::NotLocal(source).to_string()));
        }
    }
    let mut prober = prober(ctx.device)?;
    let sim = matches!(ctx.device.options.net, NetKind::Sim);
    // A Ctrl+C typed before the command started is not meant for it.
    ctx.io.interrupted();
    let from = source.map(|s| format!(" from {s}")).unwrap_or_default();
    ctx.progress_line(format!(
        "Ping {dst} ({dst}){from}: {data_len} data bytes, press CTRL+C to break"
    ));
    let id = next_id();
    let mut stats = Stats::default();
    for seq in 0..count {
        let probe = Probe {
            dst,
            source,
            ttl: 255,
            data_len,
            timeout,
            id,
            seq: seq as u16,
        };
        let io = &mut *ctx.io;
        let outcome = prober
            .probe(&probe, &mut || io.interrupted())
            .map_err(|e| CmdError::msg(e.to_string()))?;
        if outcome == Outcome::Stopped {
            break;
        }
        stats.sent += 1;
        match outcome {
            Outcome::Reply {
                from,
                ttl,
                data_len,
                rtt,
            } => {
                stats.rtts.push(rtt.as_secs_f64() * 1000.0);
                ctx.progress_line(format!(
                    "{data_len} bytes from {from}: icmp_seq={seq} ttl={ttl} time={} ms",
                    ms(rtt)
                ));
            }
            Outcome::Unreachable { from, .. } => {
                ctx.progress_line(format!("Destination unreachable (reported by {from})"));
            }
            Outcome::TimeExceeded { from, .. } => {
                ctx.progress_line(format!("TTL exceeded in transit (reported by {from})"));
            }
            Outcome::Timeout | Outcome::Stopped => ctx.progress_line("Request time out"),
        }
        // Virtual time on the simulated LAN: no pause, but Ctrl+C still stops a long run.
        let stop = if sim {
            ctx.io.interrupted()
        } else {
            seq + 1 < count && pause_or_stop(ctx, INTERVAL)
        };
        if stop {
            break;
        }
    }
    for line in stats.summary(dst) {
        ctx.progress_line(line);
    }
    Ok(())
}

/// `tracert HOST`
pub fn tracert(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let dst = args
        .ipv4("host")
        .ok_or_else(|| CmdError::WrongParameter("host".into()))?;
    let mut prober = prober(ctx.device)?;
    ctx.io.interrupted();
    ctx.progress_line(format!(
        "traceroute to {dst} ({dst}), {TRACERT_MAX_HOPS} hops at most, 40 bytes each packet, press CTRL+C to break"
    ));
    let id = next_id();
    let mut seq: u16 = 0;
    for ttl in 1..=TRACERT_MAX_HOPS {
        let mut line = format!("{ttl:>2} ");
        let mut shown: Option<Ipv4Addr> = None;
        let mut arrived = false;
        for _ in 0..TRACERT_PROBES {
            let probe = Probe {
                dst,
                source: None,
                ttl,
                data_len: TRACERT_DATA,
                timeout: TRACERT_TIMEOUT,
                id,
                seq,
            };
            seq = seq.wrapping_add(1);
            let io = &mut *ctx.io;
            let outcome = prober
                .probe(&probe, &mut || io.interrupted())
                .map_err(|e| CmdError::msg(e.to_string()))?;
            let (from, rtt) = match outcome {
                Outcome::Stopped => {
                    ctx.progress_line(line);
                    return Ok(());
                }
                Outcome::Timeout => {
                    line.push_str(" *");
                    continue;
                }
                Outcome::Reply { from, rtt, .. } => {
                    arrived |= from == dst;
                    (from, rtt)
                }
                Outcome::Unreachable { from, rtt, code } => {
                    // The path ends here: the target refused, or a router has no way on.
                    arrived = true;
                    if shown != Some(from) {
                        line.push_str(&format!(" {from} ({from})"));
                        shown = Some(from);
                    }
                    line.push_str(&format!("  {} ms{}", ms(rtt), unreachable_mark(code)));
                    continue;
                }
                Outcome::TimeExceeded { from, rtt } => (from, rtt),
            };
            if shown != Some(from) {
                line.push_str(&format!(" {from} ({from})"));
                shown = Some(from);
            }
            line.push_str(&format!("  {} ms", ms(rtt)));
        }
        ctx.progress_line(line);
        if arrived {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_lines() {
        let dst = Ipv4Addr::new(10, 1, 1, 1);
        let mut s = Stats {
            sent: 5,
            rtts: vec![11.0, 1.0, 0.0, 0.0, 0.0],
        };
        assert_eq!(
            s.summary(dst),
            [
                "",
                "--- Ping statistics for 10.1.1.1 ---",
                "5 packet(s) transmitted, 5 packet(s) received, 0.0% packet loss",
                "round-trip min/avg/max/std-dev = 0.000/2.400/11.000/4.317 ms",
            ]
        );
        s.rtts.clear();
        s.sent = 3;
        assert_eq!(
            s.summary(dst)[2],
            "3 packet(s) transmitted, 0 packet(s) received, 100.0% packet loss"
        );
        assert_eq!(
            s.summary(dst).len(),
            3,
            "no round-trip line without replies"
        );
        assert_eq!(
            Stats::default().summary(dst)[2],
            "0 packet(s) transmitted, 0 packet(s) received, 0.0% packet loss"
        );
    }
}

//! The VRRP lines of an interface section in `display current-configuration`, after
//! `ip address`, in Comware order: `vrrp version`, then per group its virtual IPs, priority,
//! preemption, authentication (ciphered key), timer, tracking and shutdown. Defaults are not
//! shown; preemption off shows as `undo vrrp vrid N preempt-mode`.

use super::cipher;
use super::config::{
    DEFAULT_INTERVAL_CS, DEFAULT_PRIORITY, DEFAULT_REDUCTION, InterfaceVrrp, TrackAction,
};
use super::packet::Version;

pub fn render_vrrp(cfg: &InterfaceVrrp) -> Vec<String> {
    let mut lines = Vec::new();
    if cfg.version == Version::V2 {
        lines.push(" vrrp version 2".to_string());
    }
    for (vrid, g) in &cfg.groups {
        let head = format!(" vrrp vrid {vrid}");
        for vip in &g.virtual_ips {
            lines.push(format!("{head} virtual-ip {vip}"));
        }
        if g.priority != DEFAULT_PRIORITY {
            lines.push(format!("{head} priority {}", g.priority));
        }
        if !g.preempt {
            lines.push(format!(" undo vrrp vrid {vrid} preempt-mode"));
        } else if g.preempt_delay_cs != 0 {
            lines.push(format!("{head} preempt-mode delay {}", g.preempt_delay_cs));
        }
        if let Some(key) = &g.simple_key {
            lines.push(format!(
                "{head} authentication-mode simple cipher {}",
                cipher::encrypt(key)
            ));
        }
        if g.advertise_interval_cs != DEFAULT_INTERVAL_CS {
            lines.push(format!(
                "{head} timer advertise {}",
                g.advertise_interval_cs
            ));
        }
        for t in &g.tracks {
            if t.reduced == DEFAULT_REDUCTION {
                lines.push(format!("{head} track interface {}", t.interface));
            } else {
                lines.push(format!(
                    "{head} track interface {} reduced {}",
                    t.interface, t.reduced
                ));
            }
        }
        for t in &g.track_entries {
            lines.push(match t.action {
                TrackAction::Reduce(r) => format!("{head} track {} priority reduced {r}", t.entry),
                TrackAction::Switchover => format!("{head} track {} switchover", t.entry),
            });
        }
        if g.shutdown {
            lines.push(format!("{head} shutdown"));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::config::{GroupConfig, TrackedInterface};

    #[test]
    fn defaults_render_only_the_virtual_ips() {
        let mut cfg = InterfaceVrrp::default();
        assert!(render_vrrp(&cfg).is_empty());
        cfg.groups
            .insert(1, GroupConfig::new(1, vec!["10.0.0.254".parse().unwrap()]));
        assert_eq!(render_vrrp(&cfg), [" vrrp vrid 1 virtual-ip 10.0.0.254"]);
    }

    #[test]
    fn every_setting_in_comware_order() {
        let mut g = GroupConfig::new(
            7,
            vec!["10.0.0.254".parse().unwrap(), "10.0.0.253".parse().unwrap()],
        );
        g.version = Version::V2;
        g.priority = 120;
        g.preempt_delay_cs = 500;
        g.simple_key = Some("abc".into());
        g.advertise_interval_cs = 300;
        g.tracks = vec![
            TrackedInterface {
                interface: "ge1/0/2".parse().unwrap(),
                reduced: 10,
            },
            TrackedInterface {
                interface: "ge1/0/3".parse().unwrap(),
                reduced: 50,
            },
        ];
        g.shutdown = true;
        let mut off = GroupConfig::new(8, vec!["10.0.0.252".parse().unwrap()]);
        off.version = Version::V2;
        off.preempt = false;
        off.preempt_delay_cs = 0;
        let cfg = InterfaceVrrp {
            version: Version::V2,
            groups: [(7, g), (8, off)].into_iter().collect(),
        };
        let key = cipher::encrypt("abc");
        assert_eq!(
            render_vrrp(&cfg),
            [
                " vrrp version 2".to_string(),
                " vrrp vrid 7 virtual-ip 10.0.0.254".into(),
                " vrrp vrid 7 virtual-ip 10.0.0.253".into(),
                " vrrp vrid 7 priority 120".into(),
                " vrrp vrid 7 preempt-mode delay 500".into(),
                format!(" vrrp vrid 7 authentication-mode simple cipher {key}"),
                " vrrp vrid 7 timer advertise 300".into(),
                " vrrp vrid 7 track interface GigabitEthernet1/0/2".into(),
                " vrrp vrid 7 track interface GigabitEthernet1/0/3 reduced 50".into(),
                " vrrp vrid 7 shutdown".into(),
                " vrrp vrid 8 virtual-ip 10.0.0.252".into(),
                " undo vrrp vrid 8 preempt-mode".into(),
            ]
        );
    }
}

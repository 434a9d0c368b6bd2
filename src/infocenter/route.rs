//! Feeding the log buffers from `tracing`.
//!
//! Engines and sessions log with Comware fields:
//!
//! ```
//! tracing::info!(module = "IFNET", severity = 5u8, mnemonic = "LINK_UPDOWN", "Line protocol state ...");
//! ```
//!
//! [`InfoCenterLayer`] takes every event that carries `module` and `mnemonic` (and optionally
//! `severity`; without it the tracing level decides) and delivers it to the outputs (log
//! buffer, log hosts, journal: `super::output`) of the device whose `device` span encloses the
//! event. Several devices run in one process (the
//! demo runs A and B together), so each device has its own span ([`crate::device::Device::span`]),
//! entered by its tasks (`.instrument(device.span())`) and its session threads
//! (`let _g = device.span().entered();`). Events outside any device span only reach the
//! operator log.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock, Weak};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::buffer::LogEntry;
use super::journal;
use super::output::deliver;
use crate::device::Device;

/// The name of the span that marks a device's work; its `device` field holds the device's
/// log id.
pub const DEVICE_SPAN: &str = "device";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static DEVICES: LazyLock<RwLock<HashMap<u64, Weak<Device>>>> = LazyLock::new(Default::default);

/// Make `device` reachable from its span; returns its log id (unique in the process).
pub fn register(device: Weak<Device>) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    DEVICES
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, device);
    id
}

/// Forget a device (when it is dropped).
pub fn unregister(id: u64) {
    DEVICES
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
}

fn lookup(id: u64) -> Option<Arc<Device>> {
    DEVICES
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)?
        .upgrade()
}

/// The span of the device with this log id.
pub fn device_span(id: u64) -> tracing::Span {
    tracing::info_span!(DEVICE_SPAN, device = id)
}

/// Stored in a device span's extensions: which device it belongs to.
struct DeviceTag(u64);

/// A `tracing_subscriber` layer that routes Comware-style events to the log buffer of the
/// device whose span encloses them. Install it through [`info_center_layer`], which adds
/// the call-site filter.
#[derive(Clone, Copy, Debug, Default)]
pub struct InfoCenterLayer;

#[derive(Default)]
struct DeviceField(Option<u64>);

impl Visit for DeviceField {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "device" {
            self.0 = Some(value);
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "device" {
            self.0 = u64::try_from(value).ok();
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The Comware fields of one event.
#[derive(Default)]
struct ComwareFields {
    module: Option<String>,
    severity: Option<u8>,
    mnemonic: Option<String>,
    message: String,
}

impl Visit for ComwareFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "module" => self.module = Some(value.to_string()),
            "mnemonic" => self.mnemonic = Some(value.to_string()),
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "severity" {
            self.severity = Some(value.min(7) as u8);
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "severity" {
            self.severity = Some(value.clamp(0, 7) as u8);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                self.message.clear();
                let _ = write!(self.message, "{value:?}");
            }
            // `module = %name` and friends arrive here.
            "module" => self.module = Some(format!("{value:?}")),
            "mnemonic" => self.mnemonic = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

/// The Comware severity a tracing level stands for when an event gives none.
fn severity_of(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

impl<S> Layer<S> for InfoCenterLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != DEVICE_SPAN {
            return;
        }
        let mut field = DeviceField::default();
        attrs.record(&mut field);
        if let (Some(device), Some(span)) = (field.0, ctx.span(id)) {
            span.extensions_mut().insert(DeviceTag(device));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = ComwareFields::default();
        event.record(&mut fields);
        let (Some(module), Some(mnemonic)) = (fields.module, fields.mnemonic) else {
            return;
        };
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        // The innermost device span wins (a session of device A never runs inside B's span,
        // but nesting must not confuse the routing if it happens).
        let Some(id) = scope
            .into_iter()
            .find_map(|span| span.extensions().get::<DeviceTag>().map(|t| t.0))
        else {
            return;
        };
        if let Some(device) = lookup(id) {
            let severity = fields
                .severity
                .unwrap_or_else(|| severity_of(*event.metadata().level()));
            // The snapshot, not the locked configuration: an event may be emitted while a
            // command holds the configuration lock.
            let cfg = device.config.snapshot();
            let entry = LogEntry::now(&cfg.sysname, &module, severity, &mnemonic, &fields.message);
            deliver(&device.logs, &device.loghost, &cfg.infocenter, entry);
        }
    }
}

/// Only the device span and events with a `mnemonic` field concern the info-center; the
/// decision is per call site, so other events cost nothing here once registered.
fn is_comware_callsite(meta: &Metadata<'_>) -> bool {
    if meta.is_span() {
        meta.name() == DEVICE_SPAN
    } else {
        meta.fields().field("mnemonic").is_some()
    }
}

/// The info-center layer with its call-site filter: what a subscriber should install.
pub fn info_center_layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    InfoCenterLayer.with_filter(filter_fn(is_comware_callsite))
}

/// Why the process-wide logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot open the log file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("a global tracing subscriber is already installed")]
    AlreadySet,
}

/// Install the process-wide subscriber: the info-center layer (every Comware event, whatever
/// `RUST_LOG` says, so the log buffers see everything) and the operator log on stderr, or appended to `log_file`,
/// filtered by `RUST_LOG` (default `info` to a file, `error` on stderr). ANSI colours only on a terminal.
pub fn init_tracing(log_file: Option<&Path>) -> Result<(), InitError> {
    // A log file is asked for: it gets `info`. Stderr shares the terminal with the console, so it
    // gets errors only unless RUST_LOG says otherwise; the info-center buffer gets everything.
    let default = if log_file.is_some() { "info" } else { "error" };
    // Under systemd, Comware lines also go to the journal with their fields (journal.rs).
    journal::init_from_env();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let operator = match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| InitError::File {
                    path: path.display().to_string(),
                    source,
                })?;
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .boxed()
        }
        None => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(info_center_layer())
        .with(operator.with_filter(filter))
        .try_init()
        .map_err(|_| InitError::AlreadySet)
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::device::testing::test_device;

    #[test]
    fn events_reach_the_buffer_of_their_device() {
        let (_da, a) = test_device();
        let (_db, b) = test_device();
        a.config.lock().sysname = "A".into();
        a.config.publish();
        b.config.lock().sysname = "B".into();
        b.config.publish();
        let subscriber = tracing_subscriber::registry().with(info_center_layer());
        tracing::subscriber::with_default(subscriber, || {
            a.span().in_scope(|| {
                tracing::warn!(
                    module = "VRRP",
                    severity = 6u8,
                    mnemonic = "STATUS",
                    "to {}",
                    "Master"
                );
                // Nested spans of the device still route to it.
                tracing::info_span!("session", line = "con0").in_scope(|| {
                    tracing::info!(module = "SHELL", mnemonic = "SHELL_LOGIN", "logged in");
                });
            });
            b.span().in_scope(|| {
                tracing::error!(module = "IFNET", mnemonic = "PHY_UPDOWN", "down");
                tracing::info!("plain operator log, not for the buffer");
            });
            tracing::info!(module = "X", mnemonic = "Y", "outside every device");
        });
        let la: Vec<String> = a
            .logs
            .entries()
            .iter()
            .map(|e| {
                format!(
                    "{} {}/{}/{}: {}",
                    e.sysname, e.module, e.severity, e.mnemonic, e.message
                )
            })
            .collect();
        let lb: Vec<String> = b
            .logs
            .entries()
            .iter()
            .map(|e| {
                format!(
                    "{} {}/{}/{}: {}",
                    e.sysname, e.module, e.severity, e.mnemonic, e.message
                )
            })
            .collect();
        assert_eq!(
            la,
            [
                "A VRRP/6/STATUS: to Master",
                "A SHELL/6/SHELL_LOGIN: logged in"
            ]
        );
        assert_eq!(lb, ["B IFNET/3/PHY_UPDOWN: down"]);
    }

    #[test]
    fn a_dropped_device_is_forgotten() {
        let (_d, a) = test_device();
        let weak = Arc::downgrade(&a);
        let subscriber = tracing_subscriber::registry().with(info_center_layer());
        tracing::subscriber::with_default(subscriber, || {
            let span = a.span();
            drop(a);
            assert!(
                weak.upgrade().is_none(),
                "the routing table holds no strong reference"
            );
            let (_db, b) = test_device();
            // Logging in the span of a device that is gone reaches nobody, and does not panic.
            span.in_scope(|| tracing::info!(module = "X", mnemonic = "Y", "late"));
            assert_eq!(b.logs.stats().current, 0);
        });
    }

    /// A Comware event of a device with a log host reaches it as a syslog datagram; one the
    /// `info-center source` rules deny for log hosts still reaches the buffer, not the host.
    #[test]
    fn events_reach_the_log_hosts_of_their_device() {
        use crate::infocenter::config::{Destination, LogHost, SourceRule};
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let (_d, a) = test_device();
        {
            let mut cfg = a.config.lock();
            cfg.sysname = "A".into();
            cfg.infocenter.loghosts.push(LogHost {
                address: std::net::Ipv4Addr::LOCALHOST,
                port: server.local_addr().unwrap().port(),
                facility: 7,
            });
            cfg.infocenter
                .sources
                .insert(("SHELL".into(), Destination::Loghost), SourceRule::Deny);
        }
        a.config.publish();
        let subscriber = tracing_subscriber::registry().with(info_center_layer());
        tracing::subscriber::with_default(subscriber, || {
            a.span().in_scope(|| {
                tracing::info!(
                    module = "SHELL",
                    mnemonic = "SHELL_LOGIN",
                    "not for the host"
                );
                tracing::warn!(
                    module = "VRRP",
                    severity = 6u8,
                    mnemonic = "VRRP_STATUS_CHANGE",
                    "to Master"
                );
            });
        });
        let mut buf = [0u8; 2048];
        let n = server.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(text.starts_with("<190>"), "{text}");
        assert!(
            text.ends_with(" A %%10VRRP/6/VRRP_STATUS_CHANGE: to Master"),
            "{text}"
        );
        assert_eq!(a.logs.stats().current, 2);
    }

    #[test]
    fn level_gives_severity_when_none_is_set() {
        assert_eq!(severity_of(Level::ERROR), 3);
        assert_eq!(severity_of(Level::WARN), 4);
        assert_eq!(severity_of(Level::INFO), 6);
        assert_eq!(severity_of(Level::TRACE), 7);
    }
}

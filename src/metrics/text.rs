//! The Prometheus text exposition format (version 0.0.4), written by hand: families of
//! `# HELP` / `# TYPE` lines and samples. It is a few lines of code, and a crate
//! (prometheus-client) would want its own registry of long-lived metric objects, while Duet's
//! values already live in the engines' status and are read at scrape time.

use std::fmt::Write as _;

use super::histogram::{BOUNDS, HistogramSnapshot};

/// The value of the `Content-Type` header of a scrape.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The kind of a metric family (`# TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A scrape's text, built family by family. Each family is written once, with all its
/// samples after its `# TYPE` line, as the format requires.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Start a family. `name` follows Prometheus's conventions: `duet_` prefix, unit suffix,
    /// `_total` for counters (the samples then use the full name).
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        // A counter's family name is without `_total` (OpenMetrics); the text format accepts
        // either, promtool's lint prefers the sample's name with `_total`.
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }

    /// A whole histogram family's samples (`_bucket`, `_sum`, `_count`).
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        let bucket = format!("{name}_bucket");
        for (bound, n) in BOUNDS.iter().zip(&h.cumulative) {
            let le = number(*bound);
            let mut l = labels.to_vec();
            l.push(("le", &le));
            self.sample(&bucket, &l, *n as f64);
        }
        let mut l = labels.to_vec();
        l.push(("le", "+Inf"));
        self.sample(&bucket, &l, h.count as f64);
        self.sample(&format!("{name}_sum"), labels, h.sum_seconds);
        self.sample(&format!("{name}_count"), labels, h.count as f64);
    }

    pub fn into_text(self) -> String {
        self.out
    }
}

/// A sample value: integers without a fraction, others as Rust prints them (shortest form that
/// reads back the same), infinities and NaN as the format spells them.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Label values escape `\`, `"` and newlines.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Help text escapes `\` and newlines.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escapes() {
        let mut e = Exposition::default();
        e.family("duet_x_total", "Things.\nCounted", Kind::Counter);
        e.sample("duet_x_total", &[("pool", "a\"b\\c\nd")], 3.0);
        e.family("duet_ratio", "A ratio.", Kind::Gauge);
        e.sample("duet_ratio", &[], 0.25);
        assert_eq!(
            e.into_text(),
            "# HELP duet_x_total Things.\\nCounted\n# TYPE duet_x_total counter\n\
             duet_x_total{pool=\"a\\\"b\\\\c\\nd\"} 3\n\
             # HELP duet_ratio A ratio.\n# TYPE duet_ratio gauge\nduet_ratio 0.25\n"
        );
    }

    #[test]
    fn histogram_samples() {
        let h = super::super::histogram::Histogram::default();
        h.observe(std::time::Duration::from_millis(2));
        let mut e = Exposition::default();
        e.histogram("duet_h_seconds", &[], &h.snapshot());
        let text = e.into_text();
        assert!(
            text.contains("duet_h_seconds_bucket{le=\"0.001\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("duet_h_seconds_bucket{le=\"0.0025\"} 1\n"));
        assert!(text.contains("duet_h_seconds_bucket{le=\"+Inf\"} 1\n"));
        assert!(text.contains("duet_h_seconds_sum 0.002\n"));
        assert!(text.contains("duet_h_seconds_count 1\n"));
    }
}

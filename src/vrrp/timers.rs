//! VRRP timer arithmetic (RFC 5798 section 6.1, RFC 3768 section 6.1), exact to the
//! nanosecond: keepalived computes Skew_Time in microseconds, not whole centiseconds, and a
//! peer that rounds takes over at a measurably different moment (3.6094 s, not 3.60 s, for
//! priority 100 and 1 s adverts).

use std::time::Duration;

use super::packet::Version;

const NANOS_PER_CS: u64 = 10_000_000;
const NANOS_PER_S: u64 = 1_000_000_000;

/// A centisecond count as a duration.
pub fn cs(centiseconds: u64) -> Duration {
    Duration::from_nanos(centiseconds * NANOS_PER_CS)
}

/// Skew_Time for a router of `priority` whose master advertises every `master_interval_cs`.
/// v3: ((256 - Priority) * Master_Adver_Interval) / 256. v2: (256 - Priority) / 256 seconds.
pub fn skew_time(version: Version, priority: u8, master_interval_cs: u16) -> Duration {
    let weight = 256 - u64::from(priority);
    let unit = match version {
        Version::V3 => u64::from(master_interval_cs) * NANOS_PER_CS,
        Version::V2 => NANOS_PER_S,
    };
    Duration::from_nanos(unit * weight / 256)
}

/// Master_Down_Interval: (3 * Master_Adver_Interval) + Skew_Time.
pub fn master_down_interval(version: Version, priority: u8, master_interval_cs: u16) -> Duration {
    cs(3 * u64::from(master_interval_cs)) + skew_time(version, priority, master_interval_cs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_keepalived_measurements() {
        // platform-notes: keepalived, v2, 1 s adverts, priority 100 -> 3,609.6 ms median,
        // and ~610 ms after a priority 0 advert.
        assert_eq!(
            master_down_interval(Version::V2, 100, 100),
            Duration::from_micros(3_609_375)
        );
        assert_eq!(
            skew_time(Version::V2, 100, 100),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            master_down_interval(Version::V3, 100, 100),
            Duration::from_micros(3_609_375)
        );
    }

    #[test]
    fn v3_skew_scales_with_the_interval_and_v2_does_not() {
        assert_eq!(
            skew_time(Version::V3, 200, 50),
            Duration::from_nanos(109_375_000)
        );
        assert_eq!(
            skew_time(Version::V2, 200, 500),
            Duration::from_micros(218_750)
        );
        assert_eq!(
            master_down_interval(Version::V3, 254, 4095),
            Duration::from_nanos(122_850_000_000 + 319_921_875)
        );
        assert_eq!(
            skew_time(Version::V3, 255, 100),
            Duration::from_nanos(3_906_250)
        );
    }
}

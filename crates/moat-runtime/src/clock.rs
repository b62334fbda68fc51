//! Timestamps (ns since the epoch) as the UTC strings Falco prints. The calendar date comes
//! from moat-core's [`format_date`], shared with every other timestamp Moat writes.

use moat_core::time::format_date;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// `HH:MM:SS.nnnnnnnnn` (`evt.time`).
pub(crate) fn time_ns(ts: u64) -> String {
    format!("{}.{:09}", time_s(ts), ts % NANOS_PER_SECOND)
}

/// `HH:MM:SS` (`evt.time.s`).
pub(crate) fn time_s(ts: u64) -> String {
    let of_day = ts / NANOS_PER_SECOND % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (`evt.datetime`).
pub(crate) fn datetime(ts: u64) -> String {
    format!("{} {}", format_date(ts / NANOS_PER_SECOND), time_ns(ts))
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (`evt.time.iso8601`, the alert `time`).
pub(crate) fn iso8601(ts: u64) -> String {
    format!("{}T{}Z", format_date(ts / NANOS_PER_SECOND), time_ns(ts))
}

/// Now, in ns since the epoch (0 if the clock is before it).
pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_as_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000000Z");
        // 2024-02-29T12:34:56.000000123Z: a leap day.
        let ts = 1_709_210_096 * 1_000_000_000 + 123;
        assert_eq!(iso8601(ts), "2024-02-29T12:34:56.000000123Z");
        assert_eq!(datetime(ts), "2024-02-29 12:34:56.000000123");
        assert_eq!(time_s(ts), "12:34:56");
    }
}

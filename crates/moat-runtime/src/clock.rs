//! Timestamps (ns since the epoch) as the UTC strings Falco prints.
//!
//! Written by hand: converting days to a civil date is a few lines, and the crate's
//! dependencies are kept to the rule engine and serde.

/// A UTC date and time split into parts.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    nanos: u64,
}

fn civil(ts: u64) -> Civil {
    let secs = ts / 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let of_day = secs % 86_400;
    let (year, month, day) = date_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: of_day / 3600,
        minute: of_day % 3600 / 60,
        second: of_day % 60,
        nanos: ts % 1_000_000_000,
    }
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn date_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `HH:MM:SS.nnnnnnnnn` (`evt.time`).
pub(crate) fn time_ns(ts: u64) -> String {
    let c = civil(ts);
    format!("{:02}:{:02}:{:02}.{:09}", c.hour, c.minute, c.second, c.nanos)
}

/// `HH:MM:SS` (`evt.time.s`).
pub(crate) fn time_s(ts: u64) -> String {
    let c = civil(ts);
    format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)
}

/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (`evt.datetime`).
pub(crate) fn datetime(ts: u64) -> String {
    let c = civil(ts);
    format!("{:04}-{:02}-{:02} {}", c.year, c.month, c.day, time_ns(ts))
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (`evt.time.iso8601`, the alert `time`).
pub(crate) fn iso8601(ts: u64) -> String {
    let c = civil(ts);
    format!("{:04}-{:02}-{:02}T{}Z", c.year, c.month, c.day, time_ns(ts))
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

//! Calendar arithmetic for the timestamps Moat writes and reads (UTC, RFC 3339), without a
//! clock: callers pass seconds since the Unix epoch, and the parser gives nanoseconds. Written
//! by hand because it is a few dozen lines and moat-core depends on serde only.

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(seconds: u64) -> String {
    let rest = seconds % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(seconds),
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    )
}

/// Seconds since the Unix epoch as the UTC date `YYYY-MM-DD`.
pub fn format_date(seconds: u64) -> String {
    let (year, month, day) = civil_from_days(seconds / 86_400);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Proleptic Gregorian date of the given day count since 1970-01-01, using 400-year eras.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each year.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// An RFC 3339 time (`2024-02-29T12:34:56.123456789Z`, `…+02:00`) as ns since the epoch;
/// `None` for malformed text and times before 1970 (Docker's `0001-01-01T00:00:00Z`, never
/// started). The inverse of [`format_rfc3339`], with fractions and zone offsets.
pub fn parse_rfc3339_ns(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u64> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let separators_ok = bytes.get(4) == Some(&b'-')
        && bytes.get(7) == Some(&b'-')
        && matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        && bytes.get(13) == Some(&b':')
        && bytes.get(16) == Some(&b':');
    if !separators_ok {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let rest = text.get(19..)?;
    let (nanos, zone) = fraction_ns(rest)?;
    let offset = zone_offset_seconds(zone)?;
    let days = days_from_civil(year, month, day)?;
    let seconds = i64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()? - offset;
    let seconds = u64::try_from(seconds).ok()?;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// The nanoseconds of an optional `.fraction` at the start of `rest`, and what follows it.
fn fraction_ns(rest: &str) -> Option<(u64, &str)> {
    let Some(fraction) = rest.strip_prefix('.') else {
        return Some((0, rest));
    };
    let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    // Nanosecond precision: digits beyond the ninth are dropped.
    let kept = &fraction[..digits.min(9)];
    let nanos = kept.parse::<u64>().ok()? * 10u64.pow(9 - kept.len() as u32);
    Some((nanos, &fraction[digits..]))
}

/// Seconds east of UTC of `Z` or `±HH:MM`.
fn zone_offset_seconds(zone: &str) -> Option<i64> {
    if zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = zone.get(1..)?.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` before 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    // Years start in March so that the leap day is the last day of a year.
    let year = if month <= 2 { year.checked_sub(1)? } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_become_ns_since_the_epoch() {
        let t = 1_709_210_096u64 * 1_000_000_000;
        assert_eq!(parse_rfc3339_ns("2024-02-29T12:34:56Z"), Some(t));
        assert_eq!(parse_rfc3339_ns("2024-02-29T12:34:56.000000123Z"), Some(t + 123));
        assert_eq!(parse_rfc3339_ns("2024-02-29T12:34:56.5Z"), Some(t + 500_000_000));
        assert_eq!(
            parse_rfc3339_ns("2024-02-29T12:34:56.1234567891Z"),
            Some(t + 123_456_789)
        );
        assert_eq!(parse_rfc3339_ns("2024-02-29T14:34:56+02:00"), Some(t));
        assert_eq!(
            parse_rfc3339_ns("2024-02-29T07:04:56.000000123-05:30"),
            Some(t + 123)
        );
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ns("2000-03-01T00:00:00Z"),
            Some(951_868_800 * 1_000_000_000)
        );
    }

    #[test]
    fn unstarted_and_malformed_times_have_no_value() {
        for text in [
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2024-02-29 12:34:56",
            "2024-02-29T12:34:56",
            "2024-13-01T00:00:00Z",
            "2024-02-29T12:34:56.Z",
            "2024-02-29T12:34:56+0200",
            "2024-2-29T12:34:56Z",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_rfc3339_ns(text), None, "{text}");
        }
    }

    #[test]
    fn known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_date(4_102_444_799), "2099-12-31");
    }
}

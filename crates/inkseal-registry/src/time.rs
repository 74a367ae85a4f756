//! RFC 3339 UTC timestamps without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as (RFC 3339 UTC with milliseconds, Unix seconds).
pub(crate) fn now() -> (String, i64) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    (format_millis(secs, since.subsec_millis()), secs)
}

/// Unix seconds now (0 if the clock is before 1970).
pub(crate) fn now_unix() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`: fixed width, so text order is time order (for years 0–9999).
pub(crate) fn format_millis(unix_secs: i64, millis: u32) -> String {
    let days = unix_secs.div_euclid(86_400);
    let sod = unix_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        millis.min(999)
    )
}

/// Proleptic Gregorian date of a day count from 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    // Both are in range by construction.
    (y, m as u32, d as u32)
}

/// Whether `s` is an RFC 3339 timestamp in UTC: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
pub(crate) fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return false;
    }
    let rest = &b[19..];
    let tail_ok = match rest {
        [b'Z'] => true,
        [b'.', frac @ .., b'Z'] => !frac.is_empty() && frac.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    tail_ok
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) <= 23
        && num(14..16) <= 59
        && num(17..19) <= 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_millis(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            format_millis(1_709_251_199, 999),
            "2024-02-29T23:59:59.999Z"
        );
        assert_eq!(
            format_millis(253_402_300_799, 0),
            "9999-12-31T23:59:59.000Z"
        );
        assert_eq!(format_millis(-1, 0), "1969-12-31T23:59:59.000Z");
    }

    #[test]
    fn now_is_valid_and_sorts_as_text() {
        let (a, secs) = now();
        assert!(is_rfc3339_utc(&a), "{a}");
        assert!(secs > 1_600_000_000);
        assert!(format_millis(secs - 1, 999) < a);
        assert!(format_millis(secs + 1, 0) > a);
    }

    #[test]
    fn validates_rfc3339_utc() {
        for ok in [
            "2026-05-01T12:00:00Z",
            "2026-05-01T12:00:00.1Z",
            "2026-05-01T23:59:60.000Z",
        ] {
            assert!(is_rfc3339_utc(ok), "{ok}");
        }
        for bad in [
            "",
            "2026-05-01",
            "2026-05-01 12:00:00Z",
            "2026-05-01T12:00:00",
            "2026-05-01T12:00:00+02:00",
            "2026-13-01T12:00:00Z",
            "2026-05-01T24:00:00Z",
            "2026-05-01T12:00:00.Z",
            "2026-05-01T12:00:00.12xZ",
        ] {
            assert!(!is_rfc3339_utc(bad), "{bad}");
        }
    }
}

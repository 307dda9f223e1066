//! How rolepick writes the time credentials have left, everywhere it shows
//! it: the picker's countdown, `rolepick list`'s EXPIRES column and
//! `rolepick prompt`'s `{left}`. One place, so the forms stay consistent.

use crate::clock::secs_until;
use std::time::SystemTime;

/// What is shown once the time is up.
pub const EXPIRED: &str = "expired";

/// `11h 58m`: hours and minutes, for an hour or more.
fn hours_minutes(secs: i64) -> String {
    format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
}

/// The picker's countdown: `59:12` under an hour, `11h 58m` above,
/// `expired` when past.
pub fn countdown(secs: i64) -> String {
    match secs {
        s if s <= 0 => EXPIRED.into(),
        s if s < 3600 => format!("{:02}:{:02}", s / 60, s % 60),
        s => hours_minutes(s),
    }
}

/// `rolepick list`: `59m 12s` under an hour, `11h 58m` above, `expired`
/// when past.
pub fn remaining(now: SystemTime, expiry: SystemTime) -> String {
    match secs_until(now, expiry) {
        s if s <= 0 => EXPIRED.into(),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => hours_minutes(s),
    }
}

/// `rolepick prompt`, short enough for a shell prompt: `45s`, `42m`,
/// `3h05m`, `expired`.
pub fn compact(secs: i64) -> String {
    match secs {
        s if s <= 0 => EXPIRED.into(),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `template` with `{profile}` and `{left}` (the [`compact`] time left
/// until `expiry`) filled in; without an expiry, `{left}` and the space
/// before it are dropped.
pub fn prompt_line(
    template: &str,
    profile: &str,
    expiry: Option<SystemTime>,
    now: SystemTime,
) -> String {
    let filled = match expiry {
        Some(e) => template.replace("{left}", &compact(secs_until(now, e))),
        None => template.replace(" {left}", "").replace("{left}", ""),
    };
    filled.replace("{profile}", profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn time_left_is_compact() {
        assert_eq!(compact(-5), "expired");
        assert_eq!(compact(0), "expired");
        assert_eq!(compact(45), "45s");
        assert_eq!(compact(42 * 60 + 59), "42m");
        assert_eq!(compact(3 * 3600 + 5 * 60), "3h05m");
    }

    #[test]
    fn template_fills_profile_and_left() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let exp = Some(now + Duration::from_secs(600));
        assert_eq!(prompt_line("{profile} {left}", "dev", exp, now), "dev 10m");
        assert_eq!(
            prompt_line("[{profile}|{left}]", "dev", exp, now),
            "[dev|10m]"
        );
        assert_eq!(prompt_line("{profile} {left}", "dev", None, now), "dev");
        assert_eq!(
            prompt_line("[{profile} {left}] ", "dev", exp, now),
            "[dev 10m] "
        );
    }

    #[test]
    fn list_shows_minutes_and_seconds_under_an_hour() {
        assert_eq!(remaining(at(0), at(59 * 60 + 12)), "59m 12s");
        assert_eq!(remaining(at(0), at(11 * 3600 + 58 * 60 + 30)), "11h 58m");
        assert_eq!(remaining(at(100), at(100)), "expired");
        assert_eq!(remaining(at(100), at(5)), "expired");
    }

    #[test]
    fn the_picker_counts_down_as_a_clock_under_an_hour() {
        assert_eq!(countdown(59 * 60 + 12), "59:12");
        assert_eq!(countdown(65), "01:05");
        assert_eq!(countdown(3600), "1h 00m");
        assert_eq!(countdown(0), "expired");
    }
}

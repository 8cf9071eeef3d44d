//! `exclude-newer`: a cooldown that locks the newest commit older than some age.
//!
//! A freshly pushed commit is the one most likely to be a mistake or an attack, so a project can
//! ask to lock only commits that have been public for a while (`exclude-newer = "7 days"`), or
//! none after a fixed instant (`exclude-newer = "2026-01-01T00:00:00Z"`), as uv's
//! `exclude-newer` does for packages. This module holds the setting's value and the instants it
//! compares (parsing, printing); [`crate::resolve`] applies it to a revision's history. Everything
//! here is pure: "now" is a value the caller passes in.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// The forms `exclude-newer` accepts, for error messages.
pub const ACCEPTED_FORMS: &str = "use a duration like \"7 days\", \"36h\", \"2 weeks\", \"30m\" (minutes), or an RFC 3339 timestamp like \"2026-01-01T00:00:00Z\"";

/// An instant, in whole seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `seconds` after 1970-01-01T00:00:00Z (negative: before it).
    pub const fn from_unix_seconds(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative: before it).
    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// The system clock, for the CLI (the library takes "now" as a value).
    pub fn now() -> Timestamp {
        let seconds = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Timestamp(seconds)
    }

    /// Parses RFC 3339 (`2026-01-01T00:00:00Z`, `…T12:00:00.123+02:00`, as the Hub writes dates
    /// too) or a bare date (`2026-01-01`, midnight UTC). Fractions of a second are dropped.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let text = text.trim();
        let (date, time) = match text.find(['T', 't', ' ']) {
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        };
        let days = parse_date(date)?;
        let seconds = match time {
            None => 0,
            Some(time) => parse_time(time)?,
        };
        Some(Timestamp(days * 86_400 + seconds))
    }

    /// `2026-01-01` (UTC): precise enough for people reading about cooldowns.
    pub fn date(self) -> String {
        let (year, month, day) = civil_from_days(self.0.div_euclid(86_400));
        format!("{year:04}-{month:02}-{day:02}")
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, to the second.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let second = self.0.rem_euclid(86_400);
        write!(
            f,
            "{}T{:02}:{:02}:{:02}Z",
            self.date(),
            second / 3600,
            second / 60 % 60,
            second % 60
        )
    }
}

/// As RFC 3339 text, the way `--json` documents carry instants.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `YYYY-MM-DD` → days since 1970-01-01.
fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let year = fixed_digits(parts.next()?, 4)?;
    let month = fixed_digits(parts.next()?, 2)?;
    let day = fixed_digits(parts.next()?, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&month) {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `HH:MM:SS[.frac](Z|±HH:MM)` → seconds since midnight UTC (may leave the day).
fn parse_time(text: &str) -> Option<i64> {
    let (clock, offset) = if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = text.rfind(['+', '-'])?;
        let (clock, zone) = text.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = zone[1..].split_once(':')?;
        let (hours, minutes) = (fixed_digits(hours, 2)?, fixed_digits(minutes, 2)?);
        if hours > 23 || minutes > 59 {
            return None;
        }
        (clock, sign * (hours * 3600 + minutes * 60))
    };
    let (clock, fraction) = match clock.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (clock, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut parts = clock.split(':');
    let hour = fixed_digits(parts.next()?, 2)?;
    let minute = fixed_digits(parts.next()?, 2)?;
    let second = fixed_digits(parts.next()?, 2)?;
    // 60 is a leap second; counting it as the next second's start is close enough here.
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(hour * 3600 + minute * 60 + second - offset)
}

/// Exactly `width` ASCII digits.
fn fixed_digits(text: &str, width: usize) -> Option<i64> {
    (text.len() == width && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// A validated `exclude-newer` value; displays as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcludeNewer {
    text: String,
    rule: Rule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Commits must be at least this many seconds old.
    Age(i64),
    /// Commits must be dated at or before this instant.
    Before(Timestamp),
}

impl ExcludeNewer {
    /// Parses a duration (`7 days`, `36h`, `1 week 2 days`) or an RFC 3339 timestamp.
    pub fn parse(text: &str) -> Result<ExcludeNewer, String> {
        let rule = if let Some(seconds) = parse_age(text)? {
            Rule::Age(seconds)
        } else if let Some(instant) = Timestamp::parse(text) {
            Rule::Before(instant)
        } else {
            return Err("neither a duration nor an RFC 3339 timestamp".to_owned());
        };
        Ok(ExcludeNewer {
            text: text.to_owned(),
            rule,
        })
    }

    /// The newest instant a commit may be dated to be locked `now`.
    pub fn cutoff(&self, now: Timestamp) -> Timestamp {
        match self.rule {
            Rule::Age(seconds) => Timestamp(now.0.saturating_sub(seconds)),
            Rule::Before(instant) => instant,
        }
    }

    /// The value as written in models.toml.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// "newer than 7 days" / "newer than 2026-01-01T00:00:00Z", for messages.
    pub fn describe(&self) -> String {
        match self.rule {
            Rule::Age(_) => format!("newer than {}", self.text.trim()),
            Rule::Before(instant) => format!("dated after {instant}"),
        }
    }
}

impl fmt::Display for ExcludeNewer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `Ok(None)`: not shaped like a duration (maybe a timestamp). `Err`: a duration gone wrong.
fn parse_age(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    // A timestamp starts with a 4-digit year and a dash; durations never contain a dash.
    if text.contains('-') || text.is_empty() {
        return Ok(None);
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number before `{rest}`"));
        }
        let number: i64 = rest[..digits]
            .parse()
            .map_err(|_| "the number is too large".to_owned())?;
        rest = rest[digits..].trim_start();
        let letters = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..letters];
        let seconds = match unit.to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 7 * 86_400,
            "" => return Err(format!("`{number}` has no unit")),
            other => return Err(format!("unknown unit `{other}`")),
        };
        total = number
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| "the duration is too large".to_owned())?;
        rest = rest[letters..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    if total == 0 {
        return Err("the duration is zero".to_owned());
    }
    Ok(Some(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn durations_accept_the_usual_spellings() {
        let age = |text: &str| {
            let now = at("2026-01-31T00:00:00Z");
            now.0 - ExcludeNewer::parse(text).unwrap().cutoff(now).0
        };
        assert_eq!(age("7 days"), 7 * 86_400);
        assert_eq!(age("1 day"), 86_400);
        assert_eq!(age("36h"), 36 * 3600);
        assert_eq!(age("2 weeks"), 14 * 86_400);
        assert_eq!(age("30m"), 30 * 60, "m is minutes");
        assert_eq!(age("1 week 2 days"), 9 * 86_400);
        assert_eq!(age("1d, 12h"), 36 * 3600);
        assert_eq!(age(" 90 Seconds "), 90);
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        let error = |text: &str| ExcludeNewer::parse(text).unwrap_err();
        assert_eq!(error("7"), "`7` has no unit");
        assert_eq!(error("7 fortnights"), "unknown unit `fortnights`");
        assert_eq!(error("0 days"), "the duration is zero");
        assert_eq!(error("days"), "expected a number before `days`");
        assert_eq!(
            error("soon-ish"),
            "neither a duration nor an RFC 3339 timestamp"
        );
        assert_eq!(error(""), "neither a duration nor an RFC 3339 timestamp");
        assert_eq!(error("99999999999999 weeks"), "the duration is too large");
    }

    #[test]
    fn timestamps_are_rfc_3339_and_an_absolute_cutoff() {
        assert_eq!(at("1970-01-01T00:00:00Z").unix_seconds(), 0);
        assert_eq!(at("2024-01-01T00:00:00.000Z").unix_seconds(), 1_704_067_200);
        assert_eq!(at("2024-02-29T12:34:56Z").unix_seconds(), 1_709_210_096);
        assert_eq!(at("2024-01-01T02:00:00+02:00"), at("2024-01-01T00:00:00Z"));
        assert_eq!(at("2023-12-31T22:30:00-01:30"), at("2024-01-01T00:00:00Z"));
        assert_eq!(at("2026-01-01"), at("2026-01-01T00:00:00Z"));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-1-01T00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        let rule = ExcludeNewer::parse("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(
            rule.cutoff(at("2030-01-01T00:00:00Z")),
            at("2026-01-01T00:00:00Z")
        );
        assert_eq!(rule.describe(), "dated after 2026-01-01T00:00:00Z");
        assert_eq!(rule.to_string(), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn timestamps_print_as_rfc_3339_and_round_trip() {
        for text in [
            "1969-12-31T23:59:59Z",
            "2000-02-29T00:00:00Z",
            "2026-11-25T14:37:23Z",
        ] {
            assert_eq!(at(text).to_string(), text);
        }
        assert_eq!(at("2026-11-25T14:37:23Z").date(), "2026-11-25");
    }
}

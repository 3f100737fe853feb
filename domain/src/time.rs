//! Business and recording time as a plain value.
//!
//! The domain never reads a clock: a `Timestamp` arrives with the command (business time, `occurred_at`)
//! or is assigned by the store when it records an event (`recorded_at`). Microseconds since the Unix epoch,
//! UTC, as a signed 64-bit integer: enough for ±292,000 years and cheap to encode.

use serde::{Deserialize, Serialize};

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn unix_micros(self) -> i64 {
        self.0
    }
}

/// The offset of China Standard Time from UTC (no daylight saving): the default for a book's business
/// dates, so that an order placed at 07:30 on the 1st in Shanghai belongs to the 1st, not the 31st.
pub const CHINA_UTC_OFFSET_MINUTES: i32 = 8 * 60;

/// A calendar month (会计期间 / budget period).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Period {
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
}

impl Period {
    /// A period from its year and month; `None` unless the month is 1 to 12 and the year 1970 to 9999.
    pub fn new(year: u16, month: u8) -> Option<Period> {
        ((1970..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Period { year, month })
    }

    /// The month holding `at` in a time zone `utc_offset_minutes` east of UTC.
    pub fn containing(at: Timestamp, utc_offset_minutes: i32) -> Period {
        let local_micros = at.0 + i64::from(utc_offset_minutes) * 60_000_000;
        let days = local_micros.div_euclid(86_400_000_000);
        let (year, month, _) = civil_from_days(days);
        Period { year: year.clamp(0, 9999) as u16, month: month as u8 }
    }

    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Period> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        Period::new(year.parse().ok()?, month.parse().ok()?)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Year, month (1–12) and day (1–31) of a count of days since 1970-01-01 in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(days: i64, hours: i64) -> Timestamp {
        Timestamp((days * 24 + hours) * 3_600_000_000)
    }

    #[test]
    fn the_period_of_a_moment_depends_on_the_books_time_zone() {
        // 2026-10-31T23:30Z is already 1 November in Shanghai.
        let days_to_2026_10_31 = 20_757;
        let late = Timestamp(micros(days_to_2026_10_31, 23).0 + 30 * 60_000_000);
        assert_eq!(Period::containing(late, 0), Period::new(2026, 10).unwrap());
        assert_eq!(Period::containing(late, CHINA_UTC_OFFSET_MINUTES), Period::new(2026, 11).unwrap());
        assert_eq!(Period::containing(Timestamp(0), 0).to_string(), "1970-01");
        // A leap day: 2024-02-29.
        assert_eq!(Period::containing(micros(19_782, 12), 0), Period::new(2024, 2).unwrap());
        assert_eq!(Period::containing(micros(19_783, 12), 0), Period::new(2024, 3).unwrap());
    }

    #[test]
    fn a_period_is_written_and_read_as_year_dash_month() {
        let period = Period::parse("2026-11").unwrap();
        assert_eq!(period, Period { year: 2026, month: 11 });
        assert_eq!(period.to_string(), "2026-11");
        for bad in ["2026-13", "2026-00", "26-11", "2026-1", "2026/11", "", "1969-12"] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
    }
}

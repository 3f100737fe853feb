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

    /// The month before (`None` before 1970-01).
    pub fn previous(self) -> Option<Period> {
        if self.month == 1 { Period::new(self.year - 1, 12) } else { Period::new(self.year, self.month - 1) }
    }

    /// The month after (`None` after 9999-12).
    pub fn next(self) -> Option<Period> {
        if self.month == 12 { Period::new(self.year + 1, 1) } else { Period::new(self.year, self.month + 1) }
    }

    /// Days from 1970-01-01 to the first of this month.
    fn first_day(self) -> i64 {
        days_from_civil(i64::from(self.year), i64::from(self.month), 1)
    }

    /// The last microsecond of the month in a time zone `utc_offset_minutes` east of UTC.
    pub fn last_instant(self, utc_offset_minutes: i32) -> Timestamp {
        let end = match self.next() {
            Some(next) => next.first_day(),
            None => days_from_civil(i64::from(self.year) + 1, 1, 1),
        };
        Timestamp(end * DAY_MICROS - i64::from(utc_offset_minutes) * MINUTE_MICROS - 1)
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

const MINUTE_MICROS: i64 = 60_000_000;
const DAY_MICROS: i64 = 86_400_000_000;

/// Noon of the date `YYYY-MM-DD` in a time zone `utc_offset_minutes` east of UTC (a business date read
/// from a file; noon keeps it inside the day whatever the offset); `None` unless it is a real date of a
/// valid period.
pub fn parse_local_date(text: &str, utc_offset_minutes: i32) -> Option<Timestamp> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (year, month, day): (u16, u8, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let period = Period::new(year, month)?;
    let days_in_month = period.last_instant(0).0.div_euclid(DAY_MICROS) + 1 - period.first_day();
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    let local_noon = (period.first_day() + day - 1) * DAY_MICROS + 12 * 3_600 * 1_000_000;
    Some(Timestamp(local_noon - i64::from(utc_offset_minutes) * MINUTE_MICROS))
}

/// The local day an instant falls on, in a time zone `utc_offset_minutes` east of UTC, as days since
/// 1970-01-01 (the key daily series use).
pub fn local_day(at: Timestamp, utc_offset_minutes: i32) -> i64 {
    (at.0 + i64::from(utc_offset_minutes) * MINUTE_MICROS).div_euclid(DAY_MICROS)
}

/// `YYYY-MM-DD` of a local day ([`local_day`]).
pub fn format_day(day: i64) -> String {
    let (year, month, day) = civil_from_days(day);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`, the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn the_last_instant_of_a_month_is_still_in_it_in_the_books_time_zone() {
        for (year, month) in [(2026, 11), (2026, 12), (2024, 2), (2027, 1)] {
            let period = Period::new(year, month).unwrap();
            let last = period.last_instant(CHINA_UTC_OFFSET_MINUTES);
            assert_eq!(Period::containing(last, CHINA_UTC_OFFSET_MINUTES), period);
            assert_eq!(
                Period::containing(Timestamp(last.0 + 1), CHINA_UTC_OFFSET_MINUTES),
                period.next().unwrap()
            );
        }
        assert_eq!(Period::new(1970, 1).unwrap().previous(), None);
        assert_eq!(Period::new(2027, 1).unwrap().previous(), Period::new(2026, 12));
    }

    #[test]
    fn an_instant_falls_on_its_local_day_and_the_day_prints_as_a_date() {
        let noon = parse_local_date("2026-11-30", CHINA_UTC_OFFSET_MINUTES).unwrap();
        let day = local_day(noon, CHINA_UTC_OFFSET_MINUTES);
        assert_eq!(format_day(day), "2026-11-30");
        // 2026-11-30T20:00Z is already 1 December in China.
        let evening_utc = Timestamp(noon.0 + 16 * 3_600_000_000);
        assert_eq!(format_day(local_day(evening_utc, CHINA_UTC_OFFSET_MINUTES)), "2026-12-01");
        assert_eq!(format_day(local_day(evening_utc, 0)), "2026-11-30");
    }

    #[test]
    fn a_local_date_is_read_as_its_noon_and_an_impossible_one_is_refused() {
        // 12:00 in Shanghai on 10 November 2026 is 04:00 UTC.
        assert_eq!(
            parse_local_date("2026-11-10", CHINA_UTC_OFFSET_MINUTES),
            Some(Timestamp(1_794_283_200_000_000))
        );
        assert!(parse_local_date("2024-02-29", 0).is_some());
        for bad in ["2026-02-29", "2026-13-01", "2026-11-31", "2026/11/10", "26-11-10", "2026-11-1"] {
            assert_eq!(parse_local_date(bad, 0), None, "{bad}");
        }
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

//! The business's clock: every order date, business day and local time is Pacific
//! (America/Los_Angeles), as the original platform's are.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;

use crate::error::{ApiError, ApiResult};

/// The zone's name, as reports state it.
pub const ZONE: &str = "America/Los_Angeles";

/// Today's business day at `now`.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Los_Angeles).date_naive()
}

/// The instant `day` starts.
pub fn midnight(day: NaiveDate) -> ApiResult<DateTime<Utc>> {
    at(day, NaiveTime::MIN)
}

/// A wall-clock time on a business day as an instant; a time a clock change skips is
/// taken an hour later (as the clock reads it), a repeated one the first time.
pub fn at(day: NaiveDate, time: NaiveTime) -> ApiResult<DateTime<Utc>> {
    let local = day.and_time(time);
    Los_Angeles
        .from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            Los_Angeles
                .from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::internal(format!("{local} in Pacific time")))
}

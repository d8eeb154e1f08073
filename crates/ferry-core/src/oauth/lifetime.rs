//! Durations that come from outside (a token reply's `expires_in` and
//! `refresh_token_expires_in`, a `Retry-After` header), turned into times Ferry can act on.
//!
//! A provider's number is untrusted input like any other: it is clamped to a range that
//! makes sense before it is added to a time, so a huge value can neither overflow a date
//! nor park an account until 2058, and a zero lifetime is refused as malformed instead of
//! becoming a token that is always about to expire.

use chrono::{DateTime, Duration, Utc};

/// Access tokens live an hour or two at both providers; a longer claim is treated as this,
/// so Ferry at worst refreshes earlier than it had to.
pub const MAX_ACCESS_LIFETIME: Duration = Duration::hours(24);
/// Without `expires_in` (RFC 6749 makes it optional), assume the usual hour.
pub const DEFAULT_ACCESS_LIFETIME: Duration = Duration::hours(1);
/// Grants end after days or months (Google's time-based access, Testing status); ten
/// years is far beyond any of them and still far from overflowing a date.
pub const MAX_GRANT_LIFETIME: Duration = Duration::days(3650);
/// The longest Ferry honours a `Retry-After`: a provider asking for longer is retried after
/// this, so an account never sits idle for days on one header.
pub const MAX_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Why a lifetime was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    #[error("the token reply says the token is already expired (expires_in 0)")]
    Zero,
}

/// When an access token that `expires_in` seconds from `now` expires: absent means the
/// default hour, zero is malformed, anything beyond a day counts as a day.
pub fn access_expires_at(
    now: DateTime<Utc>,
    expires_in: Option<u64>,
) -> Result<DateTime<Utc>, LifetimeError> {
    let lifetime = match expires_in {
        None => DEFAULT_ACCESS_LIFETIME,
        Some(0) => return Err(LifetimeError::Zero),
        Some(seconds) => clamp_seconds(seconds, MAX_ACCESS_LIFETIME),
    };
    Ok(add(now, lifetime))
}

/// When a grant that ends `expires_in` seconds from `now` ends (`refresh_token_expires_in`).
pub fn grant_expires_at(now: DateTime<Utc>, expires_in: u64) -> DateTime<Utc> {
    add(now, clamp_seconds(expires_in, MAX_GRANT_LIFETIME))
}

/// Reads a `Retry-After` header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), at most
/// [`MAX_RETRY_AFTER`]. A date in the past means "now"; anything unreadable is ignored.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<std::time::Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        std::time::Duration::from_secs(seconds)
    } else {
        let at = DateTime::parse_from_rfc2822(value).ok()?;
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(std::time::Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

fn clamp_seconds(seconds: u64, max: Duration) -> Duration {
    let max_seconds = u64::try_from(max.num_seconds()).unwrap_or(0);
    // In range after the clamp, so the conversion cannot fail.
    Duration::seconds(i64::try_from(seconds.min(max_seconds)).unwrap_or(0))
}

/// `now + by`, saturating at the latest representable time instead of panicking.
fn add(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    now.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn access_lifetimes_are_defaulted_refused_or_clamped() {
        assert_eq!(access_expires_at(t0(), None), Ok(t0() + Duration::hours(1)));
        assert_eq!(access_expires_at(t0(), Some(0)), Err(LifetimeError::Zero));
        assert_eq!(
            access_expires_at(t0(), Some(3599)),
            Ok(t0() + Duration::seconds(3599))
        );
        for huge in [86_401, 8_200_000_000_000, u64::MAX] {
            assert_eq!(
                access_expires_at(t0(), Some(huge)),
                Ok(t0() + MAX_ACCESS_LIFETIME),
                "{huge}"
            );
        }
        assert_eq!(grant_expires_at(t0(), u64::MAX), t0() + MAX_GRANT_LIFETIME);
        assert_eq!(grant_expires_at(t0(), 60), t0() + Duration::minutes(1));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        let secs = std::time::Duration::from_secs;
        assert_eq!(retry_after("7", t0()), Some(secs(7)));
        assert_eq!(retry_after(" 120 ", t0()), Some(secs(120)));
        assert_eq!(retry_after("1000000000", t0()), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("1000000000000000", t0()), Some(MAX_RETRY_AFTER));
        let in_90s = (t0() + Duration::seconds(90)).to_rfc2822();
        assert_eq!(retry_after(&in_90s, t0()), Some(secs(90)));
        let past = (t0() - Duration::days(1)).to_rfc2822();
        assert_eq!(retry_after(&past, t0()), Some(secs(0)));
        for junk in ["", "-5", "soon", "1.5", "Fri, 99 Foo 2026"] {
            assert_eq!(retry_after(junk, t0()), None, "{junk:?}");
        }
    }
}

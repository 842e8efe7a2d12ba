//! How the engine writes times and counts in Ukrainian: on copies, in letters and in verdicts.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Kyiv;

/// "26.11.2026 12:00:05 (за київським часом, UTC+02:00)".
pub fn kyiv_time(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Kyiv);
    format!("{} (за київським часом, UTC{})", local.format("%d.%m.%Y %H:%M:%S"), local.format("%:z"))
}

/// "26.11.2026 12:00:05 (Kyiv time, UTC+02:00)": the English pages' form of the same instant.
pub fn kyiv_time_en(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Kyiv);
    format!("{} (Kyiv time, UTC{})", local.format("%d.%m.%Y %H:%M:%S"), local.format("%:z"))
}

/// "30 днів", "1 день", "3 дні": Ukrainian plural forms.
pub fn days_uk(n: u32) -> String {
    let word = match (n % 10, n % 100) {
        (1, r) if r != 11 => "день",
        (2..=4, r) if !(12..=14).contains(&r) => "дні",
        _ => "днів",
    };
    format!("{n} {word}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kyiv_time_shows_the_offset_in_winter_and_summer() {
        let winter = DateTime::parse_from_rfc3339("2026-11-26T10:00:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(kyiv_time(winter), "26.11.2026 12:00:05 (за київським часом, UTC+02:00)");
        let summer = DateTime::parse_from_rfc3339("2026-07-01T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(kyiv_time(summer), "01.07.2026 13:00:00 (за київським часом, UTC+03:00)");
    }

    #[test]
    fn ukrainian_plurals_of_days() {
        assert_eq!(days_uk(1), "1 день");
        assert_eq!(days_uk(3), "3 дні");
        assert_eq!(days_uk(11), "11 днів");
        assert_eq!(days_uk(22), "22 дні");
        assert_eq!(days_uk(30), "30 днів");
    }
}

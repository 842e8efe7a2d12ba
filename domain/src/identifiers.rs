//! Identifiers and contact data with their real check rules: ЄДРПОУ, РНОКПП, e-mail, phone.
//!
//! Each type is validated by its `parse`, which commands use. Deserialising does not validate:
//! it is for stored data (events recorded under older rules must still load), never for
//! untrusted input.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("ЄДРПОУ має складатися з 8 цифр")]
    EdrpouFormat,
    #[error("ЄДРПОУ {0}: неправильне контрольне число")]
    EdrpouChecksum(String),
    #[error("РНОКПП має складатися з 10 цифр")]
    RnokppFormat,
    #[error("РНОКПП {0}: неправильне контрольне число")]
    RnokppChecksum(String),
    #[error("«{0}» не схоже на адресу електронної пошти")]
    Email(String),
    #[error("«{0}» не схоже на український номер телефону (+380XXXXXXXXX)")]
    Phone(String),
}

/// Serde and display for a validated string newtype.
///
/// `parse` is the only validating constructor, and commands use it. Deserialisation is for
/// stored data only (events, snapshots, outbox jobs): it takes the stored string as it is,
/// without checking it again, so an event recorded under older, looser rules still loads after
/// the rules become stricter. Never deserialise these types from untrusted input (an HTTP
/// body): take a `String` there and call `parse`. `TryFrom<String>` validates, like `parse`.
macro_rules! string_newtype {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = IdentifierError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
        /// For stored data only: accepts the stored string as-is (see `string_newtype!`).
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn all_digits(s: &str, len: usize) -> Option<Vec<u32>> {
    if s.len() != len {
        return None;
    }
    s.chars().map(|c| c.to_digit(10)).collect()
}

/// ЄДРПОУ: the 8-digit code of a legal entity, with its check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Edrpou(String);

impl Edrpou {
    pub fn parse(raw: &str) -> Result<Self, IdentifierError> {
        let raw = raw.trim();
        let digits = all_digits(raw, 8).ok_or(IdentifierError::EdrpouFormat)?;
        if edrpou_check_digit(&digits) != digits[7] {
            return Err(IdentifierError::EdrpouChecksum(raw.to_string()));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The State Statistics Service's rule: weights 1..7 (or 7,1..6 for codes between 30 and 60
/// million); if the remainder is 10, weights plus two; a second remainder of 10 counts as 0.
fn edrpou_check_digit(d: &[u32]) -> u32 {
    let number: u32 = d.iter().fold(0, |acc, x| acc * 10 + x);
    let base: [u32; 7] = if (30_000_000..60_000_000).contains(&number) { [7, 1, 2, 3, 4, 5, 6] } else { [1, 2, 3, 4, 5, 6, 7] };
    let sum = |extra: u32| -> u32 { d[..7].iter().zip(base.iter()).map(|(x, w)| x * (w + extra)).sum::<u32>() % 11 };
    let first = sum(0);
    let rem = if first == 10 { sum(2) } else { first };
    if rem == 10 {
        0
    } else {
        rem
    }
}

string_newtype!(Edrpou);

/// РНОКПП: a natural person's 10-digit taxpayer number. Its first five digits count days from
/// 1899-12-31 (the date of birth), the ninth is odd for men, the tenth is a check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rnokpp(String);

impl Rnokpp {
    pub fn parse(raw: &str) -> Result<Self, IdentifierError> {
        let raw = raw.trim();
        let digits = all_digits(raw, 10).ok_or(IdentifierError::RnokppFormat)?;
        if rnokpp_check_digit(&digits) != digits[9] {
            return Err(IdentifierError::RnokppChecksum(raw.to_string()));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The date of birth encoded in the first five digits.
    pub fn birth_date(&self) -> Option<chrono::NaiveDate> {
        // `get`, not slicing: a stored value is not re-validated and may be short or non-ASCII.
        let days: i64 = self.0.get(..5)?.parse().ok()?;
        chrono::NaiveDate::from_ymd_opt(1899, 12, 31)?.checked_add_signed(chrono::Duration::days(days))
    }
    /// Computes the check digit for nine leading digits: for making valid demo data.
    pub fn with_check_digit(first_nine: &str) -> Result<Self, IdentifierError> {
        let digits = all_digits(first_nine, 9).ok_or(IdentifierError::RnokppFormat)?;
        let mut full = digits.clone();
        full.push(0);
        let check = rnokpp_check_digit(&full);
        Ok(Self(format!("{first_nine}{check}")))
    }
}

fn rnokpp_check_digit(d: &[u32]) -> u32 {
    const WEIGHTS: [i64; 9] = [-1, 5, 7, 9, 4, 6, 10, 5, 7];
    let sum: i64 = d[..9].iter().zip(WEIGHTS).map(|(x, w)| *x as i64 * w).sum();
    (sum.rem_euclid(11) % 10) as u32
}

string_newtype!(Rnokpp);

/// An e-mail address as a mailbox accepts it: one `@`, a dotted domain, no spaces. The domain is
/// lower-cased; the local part is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, IdentifierError> {
        let raw = raw.trim();
        let bad = || IdentifierError::Email(raw.to_string());
        let (local, domain) = raw.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local.chars().all(|c| !c.is_whitespace() && !c.is_control() && c != ',' && c != '<' && c != '>' && c != '"');
        if !domain_ok || !local_ok || raw.len() > 254 {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype!(EmailAddress);

/// A Ukrainian phone number, stored as +380XXXXXXXXX. Spaces, dashes and brackets are accepted on
/// input, as is the national form 0XXXXXXXXX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, IdentifierError> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        let national = digits
            .strip_prefix("+380")
            .or_else(|| digits.strip_prefix("380"))
            .map(str::to_string)
            .or_else(|| digits.strip_prefix('0').map(str::to_string));
        match national {
            Some(n) if n.len() == 9 && n.chars().all(|c| c.is_ascii_digit()) => Ok(Self(format!("+380{n}"))),
            _ => Err(IdentifierError::Phone(raw.trim().to_string())),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype!(PhoneNumber);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edrpou_accepts_real_codes_and_rejects_a_changed_digit() {
        // Public codes of well-known bodies.
        for code in ["00032129", "14360570", "00013480", "43395033", "37508596"] {
            assert!(Edrpou::parse(code).is_ok(), "{code} should be valid");
        }
        assert_eq!(Edrpou::parse("00032128"), Err(IdentifierError::EdrpouChecksum("00032128".into())));
        assert_eq!(Edrpou::parse("1436057"), Err(IdentifierError::EdrpouFormat));
        assert_eq!(Edrpou::parse("1436057a"), Err(IdentifierError::EdrpouFormat));
    }

    #[test]
    fn rnokpp_checks_its_last_digit_and_knows_the_birth_date() {
        let made = Rnokpp::with_check_digit("321456789").unwrap();
        assert!(Rnokpp::parse(made.as_str()).is_ok());
        let mut wrong = made.as_str().to_string();
        let last = wrong.pop().unwrap().to_digit(10).unwrap();
        wrong.push(char::from_digit((last + 1) % 10, 10).unwrap());
        assert!(matches!(Rnokpp::parse(&wrong), Err(IdentifierError::RnokppChecksum(_))));
        assert_eq!(Rnokpp::parse("12345"), Err(IdentifierError::RnokppFormat));
        // 32145 days after 1899-12-31 is 1988-01-04.
        assert_eq!(made.birth_date(), chrono::NaiveDate::from_ymd_opt(1988, 1, 4));
    }

    #[test]
    fn email_and_phone_are_normalised() {
        assert_eq!(EmailAddress::parse(" Hotel@Palazzo.UA ").unwrap().as_str(), "Hotel@palazzo.ua");
        for bad in ["no-at.ua", "a@b", "a b@c.ua", "a@.ua", "@c.ua"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(PhoneNumber::parse("(067) 123-45-67").unwrap().as_str(), "+380671234567");
        assert_eq!(PhoneNumber::parse("+380 67 123 45 67").unwrap().as_str(), "+380671234567");
        assert!(PhoneNumber::parse("12345").is_err());
    }

    #[test]
    fn stored_values_load_as_they_were_written_even_when_parse_would_refuse_them() {
        let edrpou: Edrpou = serde_json::from_str("\"00032128\"").unwrap();
        let rnokpp: Rnokpp = serde_json::from_str("\"1234\"").unwrap();
        let email: EmailAddress = serde_json::from_str("\" Desk@Palazzo \"").unwrap();
        let phone: PhoneNumber = serde_json::from_str("\"067 123\"").unwrap();
        assert!(Edrpou::parse("00032128").is_err() && Rnokpp::parse("1234").is_err());
        assert!(EmailAddress::parse("Desk@Palazzo").is_err() && PhoneNumber::parse("067 123").is_err());
        // Kept byte for byte: no trimming or lower-casing on load either.
        assert_eq!((edrpou.as_str(), rnokpp.as_str(), email.as_str(), phone.as_str()), ("00032128", "1234", " Desk@Palazzo ", "067 123"));
        // A stored РНОКПП too short, or not ASCII where the date is, has no date of birth rather
        // than panicking.
        assert_eq!(rnokpp.birth_date(), None);
        let odd: Rnokpp = serde_json::from_str("\"1234\u{0456}5678\"").unwrap();
        assert_eq!(odd.birth_date(), None);
    }

    #[test]
    fn values_serialise_as_plain_strings_and_try_from_still_validates() {
        let email = EmailAddress::parse("desk@palazzo.ua").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), "\"desk@palazzo.ua\"");
        assert_eq!(serde_json::from_str::<EmailAddress>(&serde_json::to_string(&email).unwrap()).unwrap(), email);
        assert_eq!(serde_json::to_string(&Edrpou::parse("14360570").unwrap()).unwrap(), "\"14360570\"");
        assert_eq!(serde_json::to_string(&PhoneNumber::parse("0671234567").unwrap()).unwrap(), "\"+380671234567\"");
        assert_eq!(Rnokpp::try_from("12345".to_string()), Err(IdentifierError::RnokppFormat));
        assert_eq!(EmailAddress::try_from("a@b".to_string()), Err(IdentifierError::Email("a@b".into())));
        assert!(serde_json::from_str::<Rnokpp>("12345").is_err(), "a number is not a stored string");
    }
}

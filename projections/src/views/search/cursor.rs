//! The search's page cursor: where the last page ended, opaque to the partner and useless to
//! anyone else. It is base64url (no padding) of
//!
//! `version (1) ‖ partner id (16) ‖ filters digest (16) ‖ relevance (8, f64 bits) ‖
//!  received at (8, µs since 1970) ‖ share request id (16) ‖ copy index (4) ‖ HMAC-SHA-256 (32)`
//!
//! with the MAC under the search-cursor key over everything before it. A cursor whose bytes were
//! changed, that another partner was given, or that another query made is refused: the keyset
//! position it carries only ever narrows a query that is scoped to the caller anyway, but a
//! cursor applied to another query would silently skip results.

use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use diia_qr_domain::{RuleKind, RuleViolation};
use uuid::Uuid;

use crate::keys::PurposeKey;

const VERSION: u8 = 1;
const MAC_LEN: usize = 32;
const BODY_LEN: usize = 1 + 16 + 16 + 8 + 8 + 16 + 4;

/// A digest of everything that decides which results a query has and in what order (all but
/// the page size and the cursor itself): a cursor is only good for the query that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiltersDigest([u8; 16]);

impl FiltersDigest {
    /// The first 128 bits of SHA-256 of the query's canonical form.
    pub fn of(canonical: &str) -> Self {
        let hash = openssl::sha::sha256(canonical.as_bytes());
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&hash[..16]);
        Self(digest)
    }
}

/// The sort key of the last result a page showed: the next page starts after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CursorPosition {
    /// 0 when the results are sorted by date.
    pub relevance: f64,
    pub received_at: DateTime<Utc>,
    pub share_request_id: Uuid,
    pub copy_index: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("курсор сторінки пошкоджено або змінено; почніть пошук з першої сторінки")]
    Invalid,
    #[error("цей курсор сторінки видано іншому партнерові; почніть пошук з першої сторінки")]
    OtherPartner,
    #[error("курсор сторінки належить іншому пошуку; повторіть той самий пошук або почніть з першої сторінки")]
    OtherQuery,
}

impl RuleViolation for CursorError {
    fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "search-cursor-invalid",
            Self::OtherPartner => "search-cursor-other-partner",
            Self::OtherQuery => "search-cursor-other-query",
        }
    }
    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }
}

/// The cursor that continues `partner_id`'s query `filters` after `position`.
pub fn seal(key: &PurposeKey, partner_id: Uuid, filters: FiltersDigest, position: &CursorPosition) -> String {
    let mut bytes = Vec::with_capacity(BODY_LEN + MAC_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(partner_id.as_bytes());
    bytes.extend_from_slice(&filters.0);
    bytes.extend_from_slice(&position.relevance.to_bits().to_be_bytes());
    bytes.extend_from_slice(&position.received_at.timestamp_micros().to_be_bytes());
    bytes.extend_from_slice(position.share_request_id.as_bytes());
    bytes.extend_from_slice(&position.copy_index.to_be_bytes());
    let mac = key.mac(&bytes);
    bytes.extend_from_slice(&mac);
    BASE64_URL_SAFE_NO_PAD.encode(bytes)
}

/// The position `cursor` carries, if it is intact, `partner_id`'s and made by query `filters`.
pub fn open(key: &PurposeKey, cursor: &str, partner_id: Uuid, filters: FiltersDigest) -> Result<CursorPosition, CursorError> {
    let bytes = BASE64_URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| CursorError::Invalid)?;
    if bytes.len() != BODY_LEN + MAC_LEN {
        return Err(CursorError::Invalid);
    }
    let (body, mac) = bytes.split_at(BODY_LEN);
    // The MAC first: nothing of a cursor we did not make is read, not even its version.
    if !key.verify(body, mac) {
        return Err(CursorError::Invalid);
    }
    let mut reader = Reader(body);
    if reader.take::<1>()? != [VERSION] {
        return Err(CursorError::Invalid);
    }
    if Uuid::from_bytes(reader.take()?) != partner_id {
        return Err(CursorError::OtherPartner);
    }
    if FiltersDigest(reader.take()?) != filters {
        return Err(CursorError::OtherQuery);
    }
    let relevance = f64::from_bits(u64::from_be_bytes(reader.take()?));
    let received_at = DateTime::from_timestamp_micros(i64::from_be_bytes(reader.take()?)).ok_or(CursorError::Invalid)?;
    let share_request_id = Uuid::from_bytes(reader.take()?);
    let copy_index = i32::from_be_bytes(reader.take()?);
    Ok(CursorPosition { relevance, received_at, share_request_id, copy_index })
}

/// Reads fixed-size fields off the front of a byte string.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], CursorError> {
        let (field, rest) = self.0.split_first_chunk::<N>().ok_or(CursorError::Invalid)?;
        self.0 = rest;
        Ok(*field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyGenerations, KeyPurpose, KeyRing};

    fn key(secret: &[u8]) -> PurposeKey {
        KeyRing::derive(secret, KeyGenerations::default()).unwrap().key(KeyPurpose::SearchCursors).clone()
    }

    fn position() -> CursorPosition {
        CursorPosition {
            relevance: 1.234_567_890_123,
            received_at: DateTime::from_timestamp_micros(1_795_000_000_123_456).unwrap(),
            share_request_id: Uuid::from_u128(0x1234),
            copy_index: 2,
        }
    }

    #[test]
    fn a_cursor_opens_for_its_partner_and_query_exactly_as_it_was_sealed() {
        let (key, partner, filters) = (key(b"secret"), Uuid::from_u128(7), FiltersDigest::of("q=маряна"));
        let cursor = seal(&key, partner, filters, &position());
        assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{cursor}");
        assert_eq!(open(&key, &cursor, partner, filters), Ok(position()));
    }

    #[test]
    fn another_partner_another_query_or_another_key_is_refused() {
        let (key, partner, filters) = (key(b"secret"), Uuid::from_u128(7), FiltersDigest::of("q=маряна"));
        let cursor = seal(&key, partner, filters, &position());
        assert_eq!(open(&key, &cursor, Uuid::from_u128(8), filters), Err(CursorError::OtherPartner));
        assert_eq!(open(&key, &cursor, partner, FiltersDigest::of("q=ольга")), Err(CursorError::OtherQuery));
        assert_eq!(open(&super::tests::key(b"other"), &cursor, partner, filters), Err(CursorError::Invalid));
    }

    #[test]
    fn any_one_character_changed_is_refused() {
        let (key, partner, filters) = (key(b"secret"), Uuid::from_u128(7), FiltersDigest::of(""));
        let cursor = seal(&key, partner, filters, &position());
        for i in 0..cursor.len() {
            let mut altered = cursor.clone().into_bytes();
            altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(altered).unwrap();
            assert_eq!(open(&key, &altered, partner, filters), Err(CursorError::Invalid), "character {i}");
        }
        for garbage in ["", "не курсор", "AAAA", &cursor[..cursor.len() - 4]] {
            assert_eq!(open(&key, garbage, partner, filters), Err(CursorError::Invalid), "{garbage}");
        }
    }
}

//! The QR token scheme: what a printed QR carries, its short code, and the links built from them.
//!
//! A token is `base64url(service id ‖ QR version ‖ HMAC[..16])` under the QR-tokens key:
//! unguessable (a 128-bit MAC), yet reproducible, so a partner can download its QR again at any
//! time. The Service aggregate keeps only SHA-256 digests of the tokens it issued, so it tells
//! rotated, revoked and forged apart. The short code is 8 Crockford base32 characters (40 bits)
//! of a MAC over the token under its own key, printed `XXXX-XXXX`.

use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
use diia_qr_projections::digest::sha256_hex;
use diia_qr_projections::keys::{KeyPurpose, KeyRing, PurposeKey};
use serde::Serialize;
use uuid::Uuid;

/// Crockford's base32: no I, L, O or U, so a code read aloud or typed is not mistaken.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TOKEN_BYTES: usize = 16 + 4 + 16;

/// A QR link, the version of the service's QR it belongs to, and its printed short code and link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QrLink {
    pub service_id: Uuid,
    pub qr_version: u32,
    pub link: String,
    /// `XXXX-XXXX`: printed beside the QR, shown by the app after a scan.
    pub short_code: String,
    /// `<base>/q/XXXXXXXX`: for a phone whose camera fails.
    pub short_link: String,
}

pub struct QrTokens {
    token_key: PurposeKey,
    short_code_key: PurposeKey,
    public_base_url: String,
}

impl QrTokens {
    pub fn new(keys: &KeyRing, public_base_url: &str) -> Self {
        Self {
            token_key: keys.key(KeyPurpose::QrTokens).clone(),
            short_code_key: keys.key(KeyPurpose::QrShortCodes).clone(),
            public_base_url: public_base_url.trim_end_matches('/').to_string(),
        }
    }

    /// The token of a service's QR version.
    pub fn token(&self, service_id: Uuid, qr_version: u32) -> String {
        let mut body = service_id.as_bytes().to_vec();
        body.extend_from_slice(&qr_version.to_be_bytes());
        let mac = self.token_key.mac(&[b"qr-token\n".as_slice(), &body].concat());
        body.extend_from_slice(&mac[..16]);
        BASE64_URL_SAFE_NO_PAD.encode(body)
    }

    /// The service a token names, if it has a token's shape. Whether the service issued it is
    /// for the Service aggregate to say, by the token's digest.
    pub fn service_of(token: &str) -> Option<Uuid> {
        let bytes = BASE64_URL_SAFE_NO_PAD.decode(token).ok().filter(|b| b.len() == TOKEN_BYTES)?;
        Uuid::from_slice(&bytes[..16]).ok()
    }

    /// Eight Crockford base32 characters (40 bits) of a MAC over the token: the first candidate.
    pub fn short_code(&self, token: &str) -> String {
        self.short_code_candidate(token, 0)
    }

    /// The `attempt`-th candidate short code of a token. 40 bits clash among a country's
    /// services (a birthday bound near a million): a clash takes the next candidate, so every
    /// code names one service.
    pub fn short_code_candidate(&self, token: &str, attempt: u32) -> String {
        let input = if attempt == 0 { format!("qr-short-code\n{token}") } else { format!("qr-short-code\n{attempt}\n{token}") };
        let mac = self.short_code_key.mac(input.as_bytes());
        let bits = mac[..5].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        (0..8).rev().map(|i| CROCKFORD[((bits >> (i * 5)) & 31) as usize] as char).collect()
    }

    /// The full link a token is printed as.
    pub fn link_of(&self, token: &str) -> String {
        format!("{}/qr/v1/{token}", self.public_base_url)
    }

    /// The link of a QR version and its short code as issued (`code`, undashed).
    pub fn qr_link(&self, service_id: Uuid, qr_version: u32, token: &str, code: &str) -> QrLink {
        QrLink {
            service_id,
            qr_version,
            link: self.link_of(token),
            short_code: display_short_code(code),
            short_link: format!("{}/q/{code}", self.public_base_url),
        }
    }
}

/// What a citizen scanned or typed, before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// The QR's link or its bare token.
    Token(String),
    /// A short code, normalised, from the short link or typed by hand.
    ShortCode(String),
}

impl QrTokens {
    /// What a citizen scanned or typed: the QR's link or the short link (on this service's
    /// public base URL, with or without its scheme), the bare token, or the short code as typed.
    /// A link to any other place is refused, whatever its path holds: a poster pasted over with
    /// a lookalike site's QR must not open a request here, nor be shown as this service's.
    pub fn parse_scanned(&self, scanned: &str) -> Result<Scanned, ForeignLink> {
        let scanned = scanned.trim().trim_end_matches('/');
        if !scanned.contains('/') {
            return Ok(match normalise_short_code(scanned) {
                Some(code) => Scanned::ShortCode(code),
                None => Scanned::Token(scanned.to_string()),
            });
        }
        let without_scheme = |s: &'_ str| -> String { s.split_once("://").map_or(s, |(_, rest)| rest).to_owned() };
        let (base, link) = (without_scheme(&self.public_base_url), without_scheme(scanned));
        let path = match link.get(..base.len()) {
            // The whole host: `qr.example.ua.evil.example` only starts like this service's.
            Some(prefix) if prefix.eq_ignore_ascii_case(&base) && link[base.len()..].starts_with('/') => &link[base.len()..],
            _ => return Err(ForeignLink),
        };
        if let Some(token) = path.strip_prefix("/qr/v1/").filter(|t| !t.contains(['/', '?', '#'])) {
            return Ok(Scanned::Token(token.to_string()));
        }
        // This service's host with a path that is neither: names no QR, as any unknown token.
        Ok(match path.strip_prefix("/q/").and_then(normalise_short_code) {
            Some(code) => Scanned::ShortCode(code),
            None => Scanned::Token(path.to_string()),
        })
    }
}

/// A scanned link that is not this service's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignLink;

/// The digest of a QR token kept in the Service aggregate: the token itself never is.
pub fn token_digest(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// A short code as printed: `XXXX-XXXX` (anything else as it is).
pub fn display_short_code(code: &str) -> String {
    if code.len() == 8 && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// Normalises a typed short code: case, dashes and spaces ignored; O read as 0, I and L as 1.
pub fn normalise_short_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (code.len() == 8 && code.bytes().all(|b| CROCKFORD.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use diia_qr_projections::keys::KeyGenerations;

    use super::*;

    fn tokens_with(secret: &[u8], generations: KeyGenerations) -> QrTokens {
        QrTokens::new(&KeyRing::derive(secret, generations).unwrap(), "https://qr.example.ua/")
    }
    fn tokens() -> QrTokens {
        tokens_with(b"secret", KeyGenerations::default())
    }
    const SERVICE: Uuid = Uuid::from_u128(0x5e);

    #[test]
    fn a_token_is_reproducible_names_its_service_and_differs_per_version() {
        let t = tokens();
        let token = t.token(SERVICE, 1);
        assert_eq!(token, t.token(SERVICE, 1));
        assert_ne!(token, t.token(SERVICE, 2));
        assert_ne!(token, t.token(Uuid::from_u128(0x5f), 1));
        assert_eq!(QrTokens::service_of(&token), Some(SERVICE));
        assert_eq!(token.len(), 48, "36 bytes in base64url without padding");
    }

    #[test]
    fn a_token_of_another_key_differs_only_in_its_mac() {
        let ours = tokens().token(SERVICE, 1);
        let theirs = tokens_with(b"another secret", KeyGenerations::default()).token(SERVICE, 1);
        assert_ne!(ours, theirs);
        assert_eq!(QrTokens::service_of(&theirs), Some(SERVICE), "the shape alone proves nothing");
        assert_ne!(token_digest(&ours), token_digest(&theirs));
    }

    #[test]
    fn what_is_not_a_token_names_no_service() {
        for junk in ["", "not a token", "AAAA", &"A".repeat(47), &format!("{}x", tokens().token(SERVICE, 1))] {
            assert_eq!(QrTokens::service_of(junk), None, "{junk}");
        }
    }

    #[test]
    fn tokens_and_short_codes_survive_a_session_key_rotation() {
        let before = tokens();
        let after = tokens_with(b"secret", KeyGenerations { sessions: 7, ..KeyGenerations::default() });
        let token = before.token(SERVICE, 3);
        assert_eq!(token, after.token(SERVICE, 3));
        assert_eq!(before.short_code(&token), after.short_code(&token));
    }

    #[test]
    fn a_short_code_is_eight_crockford_characters_printed_in_two_halves() {
        let t = tokens();
        let token = t.token(SERVICE, 1);
        let code = t.short_code(&token);
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|b| CROCKFORD.contains(&b)), "{code}");
        assert_ne!(code, t.short_code(&t.token(SERVICE, 2)));
        let link = t.qr_link(SERVICE, 1, &token, &code);
        assert_ne!(t.short_code_candidate(&token, 1), code, "a clash's next candidate differs");
        assert_eq!(link.link, format!("https://qr.example.ua/qr/v1/{token}"));
        assert_eq!(link.short_code, format!("{}-{}", &code[..4], &code[4..]));
        assert_eq!(link.short_link, format!("https://qr.example.ua/q/{code}"));
    }

    #[test]
    fn typed_short_codes_forgive_case_dashes_spaces_and_look_alike_letters() {
        assert_eq!(normalise_short_code("abcd-efgh").as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalise_short_code(" 7k3m 9q2x ").as_deref(), Some("7K3M9Q2X"));
        assert_eq!(normalise_short_code("O1IL-0000").as_deref(), Some("01110000"));
        assert_eq!(normalise_short_code("ABCD-EFG"), None, "seven characters");
        assert_eq!(normalise_short_code("ABCD-EFGU"), None, "U is not in Crockford's alphabet");
        assert_eq!(normalise_short_code("АВСD-EFGH"), None, "Cyrillic look-alikes are not Latin");
        assert_eq!(display_short_code("ABCDEFGH"), "ABCD-EFGH");
        // Eight bytes, but not eight characters: split at byte 4 it would panic mid-letter.
        assert_eq!(display_short_code("aҐҐҐb"), "aҐҐҐb");
    }

    #[test]
    fn what_was_scanned_is_told_apart_and_only_this_services_links_are_taken() {
        let tokens = tokens();
        let token = tokens.token(SERVICE, 1);
        assert_eq!(tokens.parse_scanned(&format!("https://qr.example.ua/qr/v1/{token}/")), Ok(Scanned::Token(token.clone())));
        assert_eq!(tokens.parse_scanned(&format!("QR.example.ua/qr/v1/{token}")), Ok(Scanned::Token(token.clone())));
        assert_eq!(tokens.parse_scanned(&format!("  {token} ")), Ok(Scanned::Token(token.clone())));
        assert_eq!(tokens.parse_scanned("https://qr.example.ua/q/7K3M9Q2X"), Ok(Scanned::ShortCode("7K3M9Q2X".into())));
        assert_eq!(tokens.parse_scanned("7k3m-9q2x"), Ok(Scanned::ShortCode("7K3M9Q2X".into())));
        assert_eq!(tokens.parse_scanned("hello"), Ok(Scanned::Token("hello".into())));
        // Another host, even one that holds this service's link in its path or name, is refused.
        for foreign in [
            format!("https://evil.example/qr/v1/{token}"),
            format!("https://qr.example.ua.evil.example/qr/v1/{token}"),
            format!("https://evil.example/?next=https://qr.example.ua/qr/v1/{token}"),
            "https://evil.example/q/7K3M9Q2X".to_string(),
        ] {
            assert_eq!(tokens.parse_scanned(&foreign), Err(ForeignLink), "{foreign}");
        }
        let elsewhere = tokens.parse_scanned(&format!("https://qr.example.ua/qr/v1/{token}/more"));
        assert!(matches!(elsewhere, Ok(Scanned::Token(t)) if QrTokens::service_of(&t).is_none()), "this host, no QR's path");
    }
}

/// Whatever a camera or a keyboard hands over: no input makes the parsers panic, a link is taken
/// only on this service's own host, and a typed code normalises once and for all.
#[cfg(test)]
mod hostile_input {
    use diia_qr_projections::keys::{KeyGenerations, KeyRing};
    use proptest::prelude::*;

    use super::*;

    fn tokens() -> QrTokens {
        QrTokens::new(&KeyRing::derive(b"secret", KeyGenerations::default()).unwrap(), "https://qr.example.ua/")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn any_scanned_text_is_parsed_without_panicking(scanned in "\\PC{0,200}") {
            let _ = tokens().parse_scanned(&scanned);
            let _ = QrTokens::service_of(&scanned);
            let _ = display_short_code(&scanned);
        }

        #[test]
        fn a_link_to_another_host_is_foreign_whatever_its_path(
            host in "[a-z0-9-]{1,20}(\\.[a-z]{2,6}){1,2}",
            path in "(/[A-Za-z0-9._~%-]{0,30}){1,4}",
        ) {
            prop_assume!(!host.eq_ignore_ascii_case("qr.example.ua"));
            prop_assert_eq!(tokens().parse_scanned(&format!("https://{host}{path}")), Err(ForeignLink));
            prop_assert_eq!(tokens().parse_scanned(&format!("https://{host}/qr/v1/{}", tokens().token(Uuid::from_u128(5), 1))), Err(ForeignLink));
        }

        #[test]
        fn a_typed_short_code_normalises_to_eight_crockford_characters_once(typed in "[0-9A-Za-z -]{0,20}") {
            if let Some(code) = normalise_short_code(&typed) {
                prop_assert_eq!(code.len(), 8);
                prop_assert!(code.bytes().all(|b| CROCKFORD.contains(&b)));
                prop_assert_eq!(normalise_short_code(&code), Some(code.clone()));
                prop_assert_eq!(normalise_short_code(&display_short_code(&code)), Some(code));
            }
        }

        #[test]
        fn every_token_names_its_service_and_its_short_code_parses_back(id in any::<u128>(), version in 1u32..1000) {
            let t = tokens();
            let token = t.token(Uuid::from_u128(id), version);
            prop_assert_eq!(QrTokens::service_of(&token), Some(Uuid::from_u128(id)));
            let code = t.short_code(&token);
            prop_assert_eq!(t.parse_scanned(&format!("https://qr.example.ua/q/{}", display_short_code(&code))), Ok(Scanned::ShortCode(code)));
        }
    }
}

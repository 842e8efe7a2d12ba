//! Keys by purpose. The service secret is never used as a key itself: each purpose derives its
//! own 256-bit key with HKDF-SHA-256 (RFC 5869), with the purpose and its generation as `info`.
//! Rotating one purpose (raising its generation) voids only what that key made: ending every
//! session leaves printed QR codes and pending mailbox codes working.

use std::fmt;

use diia_qr_domain::branch::EmailConfirmationCodes;
use diia_qr_domain::identifiers::EmailAddress;
use openssl::md::Md;
use openssl::pkey::Id;
use openssl::pkey_ctx::PkeyCtx;

use crate::digest::hmac_sha256;

/// What a derived key is for. Each has its own key and its own generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// Sign-in sessions (bearer tokens).
    Sessions,
    /// The MAC inside every QR token: printed posters depend on it.
    QrTokens,
    /// Short codes printed beside the QR (`XXXX-XXXX`).
    QrShortCodes,
    /// Eight-digit codes that confirm a branch's mailbox.
    MailboxCodes,
    /// The MAC on search result cursors, so a cursor cannot be forged or carried to another partner.
    SearchCursors,
    /// The seed of the audit log's Ed25519 key, which signs checkpoints: rotating it starts a
    /// new log key (publish the new verifier key beside the old one).
    AuditLog,
    /// The keyed digest that files audit entries under a citizen's РНОКПП (never in an entry).
    /// It has no generation flag: rotating it would lose every citizen's past entries.
    AuditCitizenIndex,
    /// The AES-256-GCM key that wraps the citizens' Diia.Signature keys at rest. It has no
    /// generation flag: a new one could not unwrap the keys already held.
    SignatureKeyWrapping,
    /// The seed of the development liveness provider's Ed25519 key (a real provider has its own).
    DevLivenessProvider,
}

impl KeyPurpose {
    pub const ALL: [KeyPurpose; 9] = [
        Self::Sessions,
        Self::QrTokens,
        Self::QrShortCodes,
        Self::MailboxCodes,
        Self::SearchCursors,
        Self::AuditLog,
        Self::AuditCitizenIndex,
        Self::SignatureKeyWrapping,
        Self::DevLivenessProvider,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Sessions => "sessions",
            Self::QrTokens => "qr-tokens",
            Self::QrShortCodes => "qr-short-codes",
            Self::MailboxCodes => "mailbox-codes",
            Self::SearchCursors => "search-cursors",
            Self::AuditLog => "audit-log",
            Self::AuditCitizenIndex => "audit-citizen-index",
            Self::SignatureKeyWrapping => "signature-key-wrapping",
            Self::DevLivenessProvider => "dev-liveness-provider",
        }
    }
}

/// The generation of each purpose's key; all start at 1. Raise one to rotate that key alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyGenerations {
    pub sessions: u32,
    pub qr_tokens: u32,
    pub qr_short_codes: u32,
    pub mailbox_codes: u32,
    pub search_cursors: u32,
    pub audit_log: u32,
}

impl Default for KeyGenerations {
    fn default() -> Self {
        Self { sessions: 1, qr_tokens: 1, qr_short_codes: 1, mailbox_codes: 1, search_cursors: 1, audit_log: 1 }
    }
}

impl KeyGenerations {
    fn of(&self, purpose: KeyPurpose) -> u32 {
        match purpose {
            KeyPurpose::Sessions => self.sessions,
            KeyPurpose::QrTokens => self.qr_tokens,
            KeyPurpose::QrShortCodes => self.qr_short_codes,
            KeyPurpose::MailboxCodes => self.mailbox_codes,
            KeyPurpose::SearchCursors => self.search_cursors,
            KeyPurpose::AuditLog => self.audit_log,
            KeyPurpose::AuditCitizenIndex | KeyPurpose::SignatureKeyWrapping | KeyPurpose::DevLivenessProvider => 1,
        }
    }
}

/// A key for one purpose: it only makes MACs.
#[derive(Clone)]
pub struct PurposeKey([u8; 32]);

impl PurposeKey {
    /// HMAC-SHA-256 of `data` under this key.
    pub fn mac(&self, data: &[u8]) -> Vec<u8> {
        hmac_sha256(&self.0, data)
    }

    /// Whether `tag` is the MAC of `data`, compared in constant time.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let expected = self.mac(data);
        expected.len() == tag.len() && openssl::memcmp::eq(&expected, tag)
    }

    /// The key's bytes, for a purpose whose key is the seed of another kind of key (the audit
    /// log's Ed25519 key, the AES key that wraps signing keys).
    pub fn seed(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for PurposeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PurposeKey(…)")
    }
}

/// The keys of every purpose, derived once at start from the service secret.
#[derive(Clone)]
pub struct KeyRing {
    sessions: PurposeKey,
    qr_tokens: PurposeKey,
    qr_short_codes: PurposeKey,
    mailbox_codes: PurposeKey,
    search_cursors: PurposeKey,
    audit_log: PurposeKey,
    audit_citizen_index: PurposeKey,
    signature_key_wrapping: PurposeKey,
    dev_liveness_provider: PurposeKey,
}

impl KeyRing {
    pub fn derive(secret: &[u8], generations: KeyGenerations) -> Result<Self, openssl::error::ErrorStack> {
        let key = |purpose: KeyPurpose| derive_key(secret, purpose, generations.of(purpose));
        Ok(Self {
            sessions: key(KeyPurpose::Sessions)?,
            qr_tokens: key(KeyPurpose::QrTokens)?,
            qr_short_codes: key(KeyPurpose::QrShortCodes)?,
            mailbox_codes: key(KeyPurpose::MailboxCodes)?,
            search_cursors: key(KeyPurpose::SearchCursors)?,
            audit_log: key(KeyPurpose::AuditLog)?,
            audit_citizen_index: key(KeyPurpose::AuditCitizenIndex)?,
            signature_key_wrapping: key(KeyPurpose::SignatureKeyWrapping)?,
            dev_liveness_provider: key(KeyPurpose::DevLivenessProvider)?,
        })
    }

    pub fn key(&self, purpose: KeyPurpose) -> &PurposeKey {
        match purpose {
            KeyPurpose::Sessions => &self.sessions,
            KeyPurpose::QrTokens => &self.qr_tokens,
            KeyPurpose::QrShortCodes => &self.qr_short_codes,
            KeyPurpose::MailboxCodes => &self.mailbox_codes,
            KeyPurpose::SearchCursors => &self.search_cursors,
            KeyPurpose::AuditLog => &self.audit_log,
            KeyPurpose::AuditCitizenIndex => &self.audit_citizen_index,
            KeyPurpose::SignatureKeyWrapping => &self.signature_key_wrapping,
            KeyPurpose::DevLivenessProvider => &self.dev_liveness_provider,
        }
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyRing(…)")
    }
}

/// HKDF-SHA-256 (extract and expand) with `diia-qr/<purpose>/v<generation>` as info.
fn derive_key(secret: &[u8], purpose: KeyPurpose, generation: u32) -> Result<PurposeKey, openssl::error::ErrorStack> {
    let mut ctx = PkeyCtx::new_id(Id::HKDF)?;
    ctx.derive_init()?;
    ctx.set_hkdf_md(Md::sha256())?;
    ctx.set_hkdf_salt(b"diia-qr key derivation")?;
    ctx.set_hkdf_key(secret)?;
    ctx.add_hkdf_info(format!("diia-qr/{}/v{generation}", purpose.label()).as_bytes())?;
    let mut key = [0u8; 32];
    ctx.derive(Some(&mut key))?;
    Ok(PurposeKey(key))
}

/// Branch mailbox codes: an HMAC of the branch, the address and a nonce under the mailbox-codes
/// key, so the event log holds no code and the mailer derives the same one.
pub struct MailboxConfirmationCodes {
    key: PurposeKey,
}

impl MailboxConfirmationCodes {
    pub fn new(keys: &KeyRing) -> Self {
        Self { key: keys.key(KeyPurpose::MailboxCodes).clone() }
    }
}

impl EmailConfirmationCodes for MailboxConfirmationCodes {
    /// Eight digits: easy to type, 10^8 possibilities against an attacker without the mailbox.
    fn code_for(&self, branch_id: &str, email: &EmailAddress, nonce: &str) -> String {
        let mac = self.key.mac(format!("branch-email\n{branch_id}\n{email}\n{nonce}").as_bytes());
        let n = u64::from_be_bytes(mac[..8].try_into().expect("a SHA-256 MAC has 32 bytes"));
        format!("{:08}", n % 100_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(secret: &[u8], generations: KeyGenerations) -> KeyRing {
        KeyRing::derive(secret, generations).unwrap()
    }

    #[test]
    fn hkdf_matches_rfc_5869_test_case_1() {
        // RFC 5869 A.1, through the same OpenSSL calls as `derive_key` (salt and info differ there).
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut ctx = PkeyCtx::new_id(Id::HKDF).unwrap();
        ctx.derive_init().unwrap();
        ctx.set_hkdf_md(Md::sha256()).unwrap();
        ctx.set_hkdf_salt(&salt).unwrap();
        ctx.set_hkdf_key(&ikm).unwrap();
        ctx.add_hkdf_info(&info).unwrap();
        let mut okm = [0u8; 42];
        ctx.derive(Some(&mut okm)).unwrap();
        let hex: String = okm.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    }

    #[test]
    fn every_purpose_has_its_own_key() {
        let keys = ring(b"secret", KeyGenerations::default());
        let macs: Vec<Vec<u8>> = KeyPurpose::ALL.iter().map(|p| keys.key(*p).mac(b"same data")).collect();
        for (i, a) in macs.iter().enumerate() {
            for b in &macs[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_ne!(macs[0], hmac_sha256(b"secret", b"same data"), "the secret itself is never the key");
    }

    #[test]
    fn rotating_the_session_key_leaves_the_others_as_they_were() {
        let before = ring(b"secret", KeyGenerations::default());
        let after = ring(b"secret", KeyGenerations { sessions: 2, ..KeyGenerations::default() });
        assert_ne!(before.key(KeyPurpose::Sessions).mac(b"x"), after.key(KeyPurpose::Sessions).mac(b"x"));
        for purpose in [KeyPurpose::QrTokens, KeyPurpose::QrShortCodes, KeyPurpose::MailboxCodes] {
            assert_eq!(before.key(purpose).mac(b"x"), after.key(purpose).mac(b"x"), "{purpose:?}");
        }
    }

    #[test]
    fn a_mac_verifies_only_with_its_own_data_and_key() {
        let keys = ring(b"secret", KeyGenerations::default());
        let key = keys.key(KeyPurpose::Sessions);
        let tag = key.mac(b"claims");
        assert!(key.verify(b"claims", &tag));
        assert!(!key.verify(b"claimz", &tag));
        assert!(!key.verify(b"claims", &tag[..31]));
        assert!(!keys.key(KeyPurpose::QrTokens).verify(b"claims", &tag));
    }

    #[test]
    fn mailbox_codes_are_eight_digits_stable_and_depend_on_every_input() {
        let codes = MailboxConfirmationCodes::new(&ring(b"secret", KeyGenerations::default()));
        let email = EmailAddress::parse("desk@palazzo.ua").unwrap();
        let code = codes.code_for("b1", &email, "n1");
        assert!(code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(code, codes.code_for("b1", &email, "n1"));
        assert_ne!(code, codes.code_for("b2", &email, "n1"));
        assert_ne!(code, codes.code_for("b1", &email, "n2"));
        let other = MailboxConfirmationCodes::new(&ring(b"other", KeyGenerations::default()));
        assert_ne!(code, other.code_for("b1", &email, "n1"));
    }
}

//! Branch e-mail confirmation codes: an HMAC of the branch, the address and a nonce under a
//! service secret, so the event log holds no code and the mailer can derive the same one.

use diia_qr_domain::branch::EmailConfirmationCodes;
use diia_qr_domain::identifiers::EmailAddress;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

pub struct HmacConfirmationCodes {
    secret: Vec<u8>,
}

impl HmacConfirmationCodes {
    pub fn new(secret: &[u8]) -> Self {
        Self { secret: secret.to_vec() }
    }
}

impl EmailConfirmationCodes for HmacConfirmationCodes {
    /// Eight digits: easy to type, 10^8 possibilities against an attacker without the mailbox.
    fn code_for(&self, branch_id: &str, email: &EmailAddress, nonce: &str) -> String {
        let mac = hmac_sha256(&self.secret, format!("branch-email\n{branch_id}\n{email}\n{nonce}").as_bytes());
        let n = u64::from_be_bytes(mac[..8].try_into().expect("a SHA-256 MAC has 32 bytes"));
        format!("{:08}", n % 100_000_000)
    }
}

/// SHA-256 as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256; OpenSSL cannot fail here short of memory exhaustion.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = PKey::hmac(key).expect("an HMAC key of any length");
    let mut signer = Signer::new(MessageDigest::sha256(), &key).expect("SHA-256 HMAC");
    signer.update(data).expect("HMAC update");
    signer.sign_to_vec().expect("HMAC final")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_depend_on_every_input() {
        let codes = HmacConfirmationCodes::new(b"secret");
        let email = EmailAddress::parse("desk@palazzo.ua").unwrap();
        let code = codes.code_for("b1", &email, "n1");
        assert_eq!(code.len(), 8);
        assert_eq!(code, codes.code_for("b1", &email, "n1"));
        assert_ne!(code, codes.code_for("b2", &email, "n1"));
        assert_ne!(code, codes.code_for("b1", &email, "n2"));
        assert_ne!(code, HmacConfirmationCodes::new(b"other").code_for("b1", &email, "n1"));
    }
}

//! Hashes and MACs the engine uses everywhere: SHA-256 as hex, HMAC-SHA-256.

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

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
    fn sha256_and_hmac_match_published_vectors() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        // RFC 4231 test case 2.
        let mac: String = hmac_sha256(b"Jefe", b"what do ya want for nothing?").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(mac, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}

//! Signed checkpoints: the tree's size and root as a C2SP `tlog-checkpoint`, signed as a C2SP
//! `signed-note` with the log's Ed25519 key.
//!
//! The same text format as Go's checksum database, Sigstore's Rekor and the transparency-dev
//! witnesses, so their tools (`golang.org/x/mod/sumdb/note`) check our checkpoints too.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::sign::{Signer, Verifier};

use super::tree::Hash;

/// The signed-note signature type of Ed25519.
const ED25519: u8 = 0x01;
/// At most this many signature lines are read; signed-note asks verifiers to take at least 16.
const MAX_SIGNATURES: usize = 100;
/// What starts a signature line: an em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a log key or verifier key cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A key name must be non-empty, without spaces, control characters or `+` (signed-note).
    #[error("неприпустима назва ключа «{0}»: потрібна непорожня назва без пробілів, керівних символів і «+»")]
    InvalidName(String),
    /// Not `<name>+<8 hex digits>+<base64 of 0x01 and a 32-byte Ed25519 key>`.
    #[error("ключ перевірки журналу має неправильний формат: {0}")]
    MalformedVerifierKey(&'static str),
    /// The key id in a verifier key is not the one its name and public key give.
    #[error("ідентифікатор у ключі перевірки журналу не відповідає його назві й відкритому ключу")]
    KeyIdMismatch,
    /// OpenSSL refused the key material.
    #[error("OpenSSL не прийняв ключ Ed25519: {0}")]
    Crypto(String),
}

/// Why a signed checkpoint was not made or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Not a signed note: no blank line before the signatures, a malformed signature line,
    /// a control character, too many signatures.
    #[error("контрольна точка не є підписаною нотаткою: {0}")]
    MalformedNote(&'static str),
    /// The signed text is not a checkpoint: origin, size and root lines.
    #[error("текст контрольної точки має неправильний формат: {0}")]
    MalformedCheckpoint(&'static str),
    /// No signature by the expected key (name and key id): the checkpoint is not the log's.
    #[error("контрольну точку не підписано ключем журналу {key}")]
    NotSignedByLog { key: String },
    /// A signature names the log's key but does not verify: the text was altered.
    #[error("підпис контрольної точки не перевіряється ключем {key}: текст змінено або підпис підроблено")]
    BadSignature { key: String },
    /// OpenSSL failed while signing or verifying.
    #[error("OpenSSL не виконав підпис Ed25519: {0}")]
    Crypto(String),
}

impl NoteError {
    /// A stable machine code for this error, for exports and logs.
    pub fn code(&self) -> &'static str {
        match self {
            NoteError::MalformedNote(_) => "malformed-note",
            NoteError::MalformedCheckpoint(_) => "malformed-checkpoint",
            NoteError::NotSignedByLog { .. } => "not-signed-by-log",
            NoteError::BadSignature { .. } => "bad-signature",
            NoteError::Crypto(_) => "crypto",
        }
    }
}

/// The log's signing key: an Ed25519 private key and the key name it signs under.
#[derive(Clone)]
pub struct LogKey {
    name: String,
    private: PKey<Private>,
    public: [u8; 32],
}

impl LogKey {
    /// A fresh random key under `name`.
    pub fn generate(name: &str) -> Result<LogKey, KeyError> {
        check_key_name(name)?;
        let private = PKey::generate_ed25519().map_err(crypto_key)?;
        LogKey::with_private(name, private)
    }

    /// The key whose 32-byte Ed25519 seed (RFC 8032's private key) is `seed`, under `name`.
    pub fn from_raw(name: &str, seed: &[u8; 32]) -> Result<LogKey, KeyError> {
        check_key_name(name)?;
        let private = PKey::private_key_from_raw_bytes(seed, Id::ED25519).map_err(crypto_key)?;
        LogKey::with_private(name, private)
    }

    fn with_private(name: &str, private: PKey<Private>) -> Result<LogKey, KeyError> {
        let public = private.raw_public_key().map_err(crypto_key)?;
        let public = public.try_into().map_err(|_| KeyError::Crypto("відкритий ключ Ed25519 не має 32 байтів".into()))?;
        Ok(LogKey { name: name.to_owned(), private, public })
    }

    /// The key name signatures carry, e.g. `diia-qr.example/audit`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// The signed-note key id: the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key).
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, &self.public)
    }

    /// The verifier key to publish: `<name>+<key id, 8 hex digits>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self) -> String {
        verifier_key_string(&self.name, &self.public)
    }

    /// The verifier for this key, as an auditor would parse it from [`LogKey::verifier_key`].
    pub fn verifier(&self) -> Result<LogVerifier, KeyError> {
        LogVerifier::parse(&self.verifier_key())
    }

    fn sign(&self, text: &[u8]) -> Result<Vec<u8>, NoteError> {
        let mut signer = Signer::new_without_digest(&self.private).map_err(crypto_note)?;
        signer.sign_oneshot_to_vec(text).map_err(crypto_note)
    }
}

impl std::fmt::Debug for LogKey {
    // The private key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey").field("verifier_key", &self.verifier_key()).finish_non_exhaustive()
    }
}

/// A published log key that checkpoints are verified against.
#[derive(Clone)]
pub struct LogVerifier {
    name: String,
    key_id: [u8; 4],
    public: PKey<Public>,
    public_raw: [u8; 32],
}

impl LogVerifier {
    /// Reads a verifier key string `<name>+<key id>+<base64(0x01 || public key)>`, checking the
    /// key id against the name and key.
    pub fn parse(verifier_key: &str) -> Result<LogVerifier, KeyError> {
        // The base64 part may itself hold `+`, so split twice only.
        let mut parts = verifier_key.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_base64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::MalformedVerifierKey("потрібні три частини, розділені «+»"));
        };
        check_key_name(name)?;
        let key_id = parse_key_id(id_hex).ok_or(KeyError::MalformedVerifierKey("ідентифікатор ключа не є 8 шістнадцятковими цифрами"))?;
        let key = STANDARD.decode(key_base64).map_err(|_| KeyError::MalformedVerifierKey("ключ не закодовано в base64"))?;
        let Some((&ED25519, public_raw)) = key.split_first() else {
            return Err(KeyError::MalformedVerifierKey("ключ не є ключем Ed25519 (тип 0x01)"));
        };
        let public_raw: [u8; 32] =
            public_raw.try_into().map_err(|_| KeyError::MalformedVerifierKey("відкритий ключ Ed25519 має бути 32 байти"))?;
        if self::key_id(name, &public_raw) != key_id {
            return Err(KeyError::KeyIdMismatch);
        }
        let public = PKey::public_key_from_raw_bytes(&public_raw, Id::ED25519).map_err(crypto_key)?;
        Ok(LogVerifier { name: name.to_owned(), key_id, public, public_raw })
    }

    /// The key name signatures by this key carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id of this key.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_raw
    }

    /// The key as `<name>+<key id>`, the way errors name it.
    fn label(&self) -> String {
        format!("{}+{}", self.name, hex(&self.key_id))
    }

    fn verifies(&self, text: &[u8], signature: &[u8]) -> Result<bool, NoteError> {
        let mut verifier = Verifier::new_without_digest(&self.public).map_err(crypto_note)?;
        verifier.verify_oneshot(signature, text).map_err(crypto_note)
    }
}

impl std::fmt::Display for LogVerifier {
    /// The verifier key string, as [`LogVerifier::parse`] reads it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&verifier_key_string(&self.name, &self.public_raw))
    }
}

impl std::fmt::Debug for LogVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LogVerifier").field(&self.to_string()).finish()
    }
}

/// A tree head as a C2SP tlog-checkpoint: which log, how many leaves, which root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name, e.g. `diia-qr.example/audit`.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The root over those leaves.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: origin, decimal size and base64 root, each line ending in `\n`.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root))
    }

    /// Reads a checkpoint's note text; extension lines after the root are allowed and ignored.
    pub fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
        let lines = text.strip_suffix('\n').ok_or(NoteError::MalformedCheckpoint("текст не закінчується новим рядком"))?;
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(NoteError::MalformedCheckpoint("потрібні три рядки: походження, розмір і корінь"));
        };
        if !is_valid_origin(origin) {
            return Err(NoteError::MalformedCheckpoint("походження порожнє або містить керівні символи"));
        }
        let size = parse_size(size).ok_or(NoteError::MalformedCheckpoint("розмір не є десятковим числом без провідних нулів"))?;
        let root = STANDARD.decode(root).ok().and_then(|root| Hash::try_from(root).ok());
        let root = root.ok_or(NoteError::MalformedCheckpoint("корінь не є 32 байтами в base64"))?;
        if lines.any(str::is_empty) {
            return Err(NoteError::MalformedCheckpoint("порожній рядок розширення"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }
}

/// The whole signed note for `checkpoint`: its body, a blank line and the log's signature line.
///
/// Refuses an origin that is empty or holds a control character: its body would not read back
/// as the same checkpoint (a newline in it would even shift the size and root lines).
pub fn sign_note(key: &LogKey, checkpoint: &Checkpoint) -> Result<String, NoteError> {
    if !is_valid_origin(&checkpoint.origin) {
        return Err(NoteError::MalformedCheckpoint("походження порожнє або містить керівні символи"));
    }
    sign_text(key, &checkpoint.body())
}

/// The checkpoint in `note` once a signature by `verifier` checks out over its text.
///
/// Signatures by other keys (witnesses, a rotated key) are ignored; a signature that names the
/// log's key but fails rejects the whole note.
pub fn open_note(note: &str, verifier: &LogVerifier) -> Result<Checkpoint, NoteError> {
    Checkpoint::parse_body(verified_text(note, verifier)?)
}

/// A signed note over `text` (which ends in a newline) with one signature by `key`.
fn sign_text(key: &LogKey, text: &str) -> Result<String, NoteError> {
    if !text.ends_with('\n') || has_control_character(text) {
        return Err(NoteError::MalformedNote("текст має закінчуватися новим рядком і не містити керівних символів"));
    }
    let mut signature = key.key_id().to_vec();
    signature.extend(key.sign(text.as_bytes())?);
    Ok(format!("{text}\n{SIGNATURE_PREFIX}{} {}\n", key.name, STANDARD.encode(signature)))
}

/// The text of a signed note, once a signature by `verifier` checks out over it.
fn verified_text<'a>(note: &'a str, verifier: &LogVerifier) -> Result<&'a str, NoteError> {
    if has_control_character(note) {
        return Err(NoteError::MalformedNote("нотатка містить керівні символи"));
    }
    // The text ends at the last blank line; it keeps its own final newline.
    let split = note.rfind("\n\n").ok_or(NoteError::MalformedNote("немає порожнього рядка перед підписами"))?;
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    let signatures = signatures.strip_suffix('\n').ok_or(NoteError::MalformedNote("немає підписів або останній рядок не закінчено"))?;
    let mut verified = false;
    for (count, line) in signatures.split('\n').enumerate() {
        if count == MAX_SIGNATURES {
            return Err(NoteError::MalformedNote("забагато підписів"));
        }
        let (name, key_id, signature) = parse_signature_line(line)?;
        if name != verifier.name || key_id != verifier.key_id {
            continue;
        }
        if signature.len() != 64 || !verifier.verifies(text.as_bytes(), &signature)? {
            return Err(NoteError::BadSignature { key: verifier.label() });
        }
        verified = true;
    }
    if verified {
        Ok(text)
    } else {
        Err(NoteError::NotSignedByLog { key: verifier.label() })
    }
}

/// `— <name> <base64(key id || signature)>` split into its name, key id and signature bytes.
fn parse_signature_line(line: &str) -> Result<(&str, [u8; 4], Vec<u8>), NoteError> {
    let malformed = NoteError::MalformedNote("рядок підпису має бути «— назва base64»");
    let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or(malformed.clone())?;
    let (name, encoded) = rest.split_once(' ').ok_or(malformed.clone())?;
    if check_key_name(name).is_err() {
        return Err(malformed);
    }
    let mut bytes = STANDARD.decode(encoded).map_err(|_| malformed.clone())?;
    if bytes.len() < 5 {
        return Err(malformed);
    }
    let signature = bytes.split_off(4);
    let key_id = [bytes[0], bytes[1], bytes[2], bytes[3]];
    Ok((name, key_id, signature))
}

/// Whether `text` holds an ASCII control character (below U+0020) other than a newline, which
/// signed-note forbids anywhere in a note.
fn has_control_character(text: &str) -> bool {
    text.chars().any(|c| c < ' ' && c != '\n')
}

/// A non-empty origin on one line: anything else would not read back as the same checkpoint.
fn is_valid_origin(origin: &str) -> bool {
    !origin.is_empty() && !origin.chars().any(|c| c < ' ')
}

fn check_key_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty() || name.chars().any(|c| c == '+' || c.is_whitespace() || c < ' ') {
        return Err(KeyError::InvalidName(name.to_owned()));
    }
    Ok(())
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut hasher = openssl::sha::Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(&[b'\n', ED25519]);
    hasher.update(public);
    let digest = hasher.finish();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn verifier_key_string(name: &str, public: &[u8; 32]) -> String {
    let mut key = vec![ED25519];
    key.extend_from_slice(public);
    format!("{name}+{}+{}", hex(&key_id(name, public)), STANDARD.encode(key))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Exactly eight lower-case hex digits, as signed-note writes a key id.
fn parse_key_id(text: &str) -> Option<[u8; 4]> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    u32::from_str_radix(text, 16).ok().map(u32::to_be_bytes)
}

/// A tree size as tlog-checkpoint writes it: ASCII digits, no sign, no leading zero but in `0`.
fn parse_size(text: &str) -> Option<u64> {
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

fn crypto_key(error: openssl::error::ErrorStack) -> KeyError {
    KeyError::Crypto(error.to_string())
}

fn crypto_note(error: openssl::error::ErrorStack) -> NoteError {
    NoteError::Crypto(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tree::{leaf_hash, root};

    const ORIGIN: &str = "diia-qr.example/audit";

    fn checkpoint() -> Checkpoint {
        let leaves: Vec<Hash> = (0..5_u8).map(|n| leaf_hash(&[n])).collect();
        Checkpoint { origin: ORIGIN.into(), size: 5, root: root(&leaves) }
    }

    fn test_key() -> LogKey {
        LogKey::from_raw(ORIGIN, &[7; 32]).unwrap()
    }

    /// The text signed in golang.org/x/mod's sumdb/note/note_test.go (`TestSign`, `TestOpen`).
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_PETER_SIG: &str =
        "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const GO_ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const GO_ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    #[test]
    fn a_signed_checkpoint_opens_to_the_same_checkpoint() {
        let key = test_key();
        let note = sign_note(&key, &checkpoint()).unwrap();
        let body = checkpoint().body();
        assert!(note.starts_with(&format!("{body}\n— {ORIGIN} ")), "{note}");
        assert!(note.ends_with('\n') && note.lines().count() == 5, "{note}");
        assert_eq!(open_note(&note, &key.verifier().unwrap()), Ok(checkpoint()));
    }

    #[test]
    fn the_body_is_three_lines_with_a_standard_base64_root() {
        let checkpoint = Checkpoint { origin: ORIGIN.into(), size: 0, root: crate::audit::tree::empty_root() };
        assert_eq!(checkpoint.body(), "diia-qr.example/audit\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
        assert_eq!(Checkpoint::parse_body(&checkpoint.body()), Ok(checkpoint));
    }

    #[test]
    fn a_changed_size_root_or_origin_fails_the_signature() {
        let key = test_key();
        let verifier = key.verifier().unwrap();
        let note = sign_note(&key, &checkpoint()).unwrap();
        let body = checkpoint().body();
        let signature_block = &note[body.len()..];
        let root = STANDARD.encode(checkpoint().root);
        let mut other_root = checkpoint().root;
        other_root[31] ^= 1;
        let altered = [
            format!("{ORIGIN}\n6\n{root}\n"),
            format!("{ORIGIN}\n5\n{}\n", STANDARD.encode(other_root)),
            format!("diia-qr.example/audit2\n5\n{root}\n"),
            format!("{ORIGIN}\n5\n{root}\nextension\n"),
        ];
        for text in altered {
            let forged = format!("{text}{signature_block}");
            assert_eq!(open_note(&forged, &verifier), Err(NoteError::BadSignature { key: format!("{ORIGIN}+{}", hex(&key.key_id())) }));
        }
    }

    #[test]
    fn a_signature_by_another_key_with_the_same_name_is_not_the_logs() {
        let log = test_key();
        let impostor = LogKey::generate(ORIGIN).unwrap();
        let note = sign_note(&impostor, &checkpoint()).unwrap();
        let label = format!("{ORIGIN}+{}", hex(&log.key_id()));
        assert_eq!(open_note(&note, &log.verifier().unwrap()), Err(NoteError::NotSignedByLog { key: label.clone() }));
        // Even with the log's key id copied into it, the impostor's signature does not verify.
        let (line_head, encoded) = note.trim_end().rsplit_once(' ').unwrap();
        let mut bytes = STANDARD.decode(encoded).unwrap();
        bytes[..4].copy_from_slice(&log.key_id());
        let forged = format!("{line_head} {}\n", STANDARD.encode(bytes));
        assert_eq!(open_note(&forged, &log.verifier().unwrap()), Err(NoteError::BadSignature { key: label }));
    }

    #[test]
    fn unknown_signers_are_ignored_and_the_logs_signature_is_found_among_them() {
        let log = test_key();
        let witness = LogKey::from_raw("witness.example/w1", &[9; 32]).unwrap();
        let by_log = sign_note(&log, &checkpoint()).unwrap();
        let by_witness = sign_note(&witness, &checkpoint()).unwrap();
        let body = checkpoint().body();
        let both = format!("{}{}", by_witness, &by_log[body.len() + 1..]);
        assert_eq!(both.lines().count(), 6, "{both}");
        assert_eq!(open_note(&both, &log.verifier().unwrap()), Ok(checkpoint()));
        assert_eq!(open_note(&by_witness, &log.verifier().unwrap()).unwrap_err().code(), "not-signed-by-log");
    }

    #[test]
    fn key_ids_match_the_go_reference_keys() {
        // golang.org/x/mod sumdb/note/note_test.go: `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>`.
        let private = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let decoded = STANDARD.decode(private).unwrap();
        assert_eq!(decoded[0], ED25519);
        let seed: [u8; 32] = decoded[1..].try_into().unwrap();
        let peter = LogKey::from_raw("PeterNeumann", &seed).unwrap();
        assert_eq!(peter.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(peter.verifier_key(), GO_PETER_VKEY);
        // The id recomputed by hand from the published vkey, apart from `key_id`'s hasher.
        let public = &STANDARD.decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap()[1..];
        let digest = openssl::sha::sha256(&[b"PeterNeumann\n\x01".as_slice(), public].concat());
        assert_eq!(digest[..4], [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(LogVerifier::parse(GO_ENOCH_VKEY).unwrap().key_id(), [0xaf, 0x0c, 0xfe, 0x78]);
        // c2sp.org/signed-note's example verifier key.
        let c2sp = LogVerifier::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").unwrap();
        assert_eq!(c2sp.key_id(), [0x53, 0x0d, 0x90, 0x3a]);
    }

    #[test]
    fn signing_reproduces_the_go_reference_signature_byte_for_byte() {
        // Ed25519 is deterministic, so the same seed and text give Go's `TestSign` note exactly.
        let seed: [u8; 32] = STANDARD.decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz").unwrap()[1..].try_into().unwrap();
        let peter = LogKey::from_raw("PeterNeumann", &seed).unwrap();
        assert_eq!(sign_text(&peter, GO_TEXT).unwrap(), format!("{GO_TEXT}\n{GO_PETER_SIG}"));
    }

    #[test]
    fn the_go_and_c2sp_reference_notes_verify() {
        let peter = LogVerifier::parse(GO_PETER_VKEY).unwrap();
        let enoch = LogVerifier::parse(GO_ENOCH_VKEY).unwrap();
        let note = format!("{GO_TEXT}\n{GO_PETER_SIG}{GO_ENOCH_SIG}");
        assert_eq!(verified_text(&note, &peter), Ok(GO_TEXT));
        assert_eq!(verified_text(&note, &enoch), Ok(GO_TEXT));
        // Go's "Invalid signature" case: four characters spliced into Peter's signature.
        let spliced = format!("{GO_TEXT}\n{}ABCD{}", &GO_PETER_SIG[..60], &GO_PETER_SIG[60..]);
        assert_eq!(verified_text(&spliced, &peter), Err(NoteError::BadSignature { key: "PeterNeumann+c74f20a3".into() }));
        let c2sp = LogVerifier::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").unwrap();
        let example = "This is an example message.\n\n— example.com/foo \
                       Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        assert_eq!(verified_text(example, &c2sp), Ok("This is an example message.\n"));
        // It is signed text, but not a checkpoint.
        assert_eq!(open_note(example, &c2sp).unwrap_err().code(), "malformed-checkpoint");
    }

    #[test]
    fn malformed_notes_are_refused_as_go_refuses_them() {
        // The bad messages of Go's `TestOpen`.
        let peter = LogVerifier::parse(GO_PETER_VKEY).unwrap();
        let bad = [
            GO_TEXT.to_owned(),
            format!("{GO_TEXT}\n"),
            format!("{GO_TEXT}\n{}", GO_PETER_SIG.trim_end()),
            format!("\x01{GO_TEXT}\n{GO_PETER_SIG}"),
            format!("{GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="),
            format!("{GO_TEXT}\n{GO_PETER_SIG}Unexpected line.\n"),
            format!("{GO_TEXT}\n{}", GO_PETER_SIG.repeat(101)),
        ];
        for note in bad {
            assert_eq!(verified_text(&note, &peter).unwrap_err().code(), "malformed-note", "{note:?}");
        }
    }

    #[test]
    fn checkpoint_bodies_follow_tlog_checkpoint_strictly() {
        let root = STANDARD.encode([0_u8; 32]);
        let with_extension = Checkpoint::parse_body(&format!("{ORIGIN}\n12\n{root}\nextension one\nextension two\n"));
        assert_eq!(with_extension, Ok(Checkpoint { origin: ORIGIN.into(), size: 12, root: [0; 32] }));
        let bad = [
            format!("{ORIGIN}\n012\n{root}\n"),
            format!("{ORIGIN}\n+12\n{root}\n"),
            format!("{ORIGIN}\n-1\n{root}\n"),
            format!("{ORIGIN}\n\n{root}\n"),
            format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
            format!("{ORIGIN}\n12\n{}\n", STANDARD.encode([0_u8; 31])),
            format!("{ORIGIN}\n12\n{}\n", root.trim_end_matches('=')),
            format!("{ORIGIN}\n12\n{root}"),
            format!("\n12\n{root}\n"),
            format!("{ORIGIN}\n12\n"),
            format!("{ORIGIN}\n12\n{root}\n\nextension\n"),
        ];
        for text in bad {
            assert_eq!(Checkpoint::parse_body(&text).unwrap_err().code(), "malformed-checkpoint", "{text:?}");
        }
        assert_eq!(Checkpoint::parse_body(&format!("{ORIGIN}\n18446744073709551615\n{root}\n")).unwrap().size, u64::MAX);
    }

    #[test]
    fn key_names_and_verifier_keys_are_checked() {
        for name in ["", "a+b", "a b", "a\nb", "a\u{a0}b"] {
            assert_eq!(LogKey::from_raw(name, &[1; 32]).unwrap_err(), KeyError::InvalidName(name.into()));
        }
        let vkey = test_key().verifier_key();
        assert_eq!(LogVerifier::parse(&vkey).unwrap().to_string(), vkey);
        let upper_case_id = GO_PETER_VKEY.replace("c74f20a3", "C74F20A3");
        assert!(LogVerifier::parse(&upper_case_id).is_err());
        let wrong_id = vkey.replacen(&hex(&test_key().key_id()), "00000000", 1);
        assert_eq!(LogVerifier::parse(&wrong_id).unwrap_err(), KeyError::KeyIdMismatch);
        // Go's mangled keys: wrong length and unknown algorithm, each with a matching id.
        assert!(LogVerifier::parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==").is_err());
        assert!(LogVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
        let mut bytes = GO_PETER_VKEY.as_bytes().to_vec();
        for at in 0..bytes.len() {
            bytes[at] += 1;
            assert!(LogVerifier::parse(std::str::from_utf8(&bytes).unwrap()).is_err(), "{at}");
            bytes[at] -= 1;
        }
    }

    #[test]
    fn an_origin_that_would_not_read_back_is_not_signed() {
        for origin in ["", "diia-qr.example/audit\n5"] {
            let bad = Checkpoint { origin: origin.into(), ..checkpoint() };
            assert_eq!(sign_note(&test_key(), &bad).unwrap_err().code(), "malformed-checkpoint");
        }
    }

    #[test]
    fn a_key_debug_print_shows_no_private_key() {
        let printed = format!("{:?}", test_key());
        assert!(printed.contains(&test_key().verifier_key()) && !printed.contains("Private"), "{printed}");
    }
}

//! Verification of a presented copy, with or without its P7S: the file read with lopdf (the copy
//! id it claims), the seal (CMS over the exact bytes, by one of the service's own pinned seal
//! certificates), and the registry of issued copies, which says whether these bytes were issued,
//! when and for whom, and, for a copy that claims an id but differs, what changed.
//!
//! Genuine means all of: the bytes are in the registry; and, when a P7S is given, it is a valid
//! signature over them by a pinned seal certificate with a seal's key usage, valid at the time
//! the registry recorded. The signer's own claimed signing time never dates a copy.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use openssl::x509::{X509KeyUsage, X509};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::digest::sha256_hex;
use crate::documents::pdf::read::{self, PresentedPdf};
use crate::documents::wording::kyiv_time;
use crate::pki::revocation::{RevocationError, RevocationLists};
use crate::seal::{verify_detached_at, SealCertificates, VerifiedSignature, VerifyError};

/// What the registry knows of an issued copy. What anyone holding a copy id may read of it is
/// what the copy itself prints: never the share's or the partner's ids, nor a sole
/// proprietor's РНОКПП.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct IssuedCopy {
    pub copy_id: Uuid,
    #[serde(skip)]
    pub share_request_id: Uuid,
    #[serde(skip)]
    pub partner_id: Uuid,
    pub organisation_name: String,
    /// ЄДРПОУ of the addressee; a ФОП's registry code is its РНОКПП, shown to no one.
    #[serde(serialize_with = "public_registry_code")]
    pub registry_code: Option<String>,
    pub branch_name: String,
    pub branch_address: String,
    pub purposes: serde_json::Value,
    pub document_type: String,
    pub made_at: DateTime<Utc>,
}

/// A legal entity's ЄДРПОУ (8 digits) is public; a sole proprietor's 10-digit РНОКПП is not.
fn public_registry_code<S: serde::Serializer>(code: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&public_code(code.as_deref()), s)
}

fn public_code(code: Option<&str>) -> Option<&str> {
    code.filter(|c| c.len() == 8)
}

const COLUMNS: &str =
    "c.copy_id, c.share_request_id, c.partner_id, c.organisation_name, p.registry_code, c.branch_name, c.branch_address, \
                       c.purposes, c.document_type, c.made_at";

pub async fn issued_copy_by_digest(pool: &PgPool, pdf_sha256: &str) -> Result<Option<IssuedCopy>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM issued_copies c LEFT JOIN partners_view p USING (partner_id) WHERE c.pdf_sha256 = $1"))
        .bind(pdf_sha256)
        .fetch_optional(pool)
        .await
}

pub async fn issued_copy_by_id(pool: &PgPool, copy_id: Uuid) -> Result<Option<IssuedCopy>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM issued_copies c LEFT JOIN partners_view p USING (partner_id) WHERE c.copy_id = $1 \
         ORDER BY c.recorded_at LIMIT 1"
    ))
    .bind(copy_id)
    .fetch_optional(pool)
    .await
}

/// The files issued under one copy id (a re-delivery may render it again): their digests, lengths
/// and per-object digests, to compare a presented file with.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IssuedFile {
    pub pdf_sha256: String,
    pub pdf_length: Option<i64>,
    /// `[[object number, short digest], …]`; absent for rows recorded before it was kept.
    pub object_digests: Option<sqlx::types::Json<Vec<(u32, String)>>>,
}

pub async fn issued_files(pool: &PgPool, copy_id: Uuid) -> Result<Vec<IssuedFile>, sqlx::Error> {
    sqlx::query_as("SELECT pdf_sha256, pdf_length, object_digests FROM issued_copies WHERE copy_id = $1 ORDER BY recorded_at LIMIT 16")
        .bind(copy_id)
        .fetch_all(pool)
        .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// These exact bytes were issued by this service (and the P7S, if given, is its seal).
    Genuine,
    /// Offline only: the P7S is this service's seal over these bytes, which are a PDF; the
    /// registry was not consulted.
    Sealed,
    /// The file claims to be an issued copy, or the seal is over other bytes: it was changed.
    Altered,
    /// Not a copy this service made: no such copy was issued, or it was signed by someone else.
    NotIssued,
    /// The signature's own value does not match its signed attributes: damaged or forged.
    Invalid,
    /// The signature file is not a CMS signature at all.
    Malformed,
    /// The file is not a PDF that can be read (refused unread, or damaged beyond reading).
    Unreadable,
    /// The seal's certificate was revoked before the copy was made: whatever it sealed since is
    /// not the service's word.
    Revoked,
}

#[derive(Debug, Clone, Serialize)]
pub struct CopyVerification {
    pub verdict: Verdict,
    pub genuine: bool,
    /// One or two sentences for a person, in Ukrainian.
    pub message: String,
    /// The signer's claimed signing time, from the P7S (a claim: the registry dates a copy).
    pub signed_at: Option<DateTime<Utc>>,
    pub signed_at_kyiv: Option<String>,
    pub signer: Option<String>,
    /// What the registry says of the copy these bytes are, or claim to be.
    pub copy: Option<IssuedCopy>,
    /// The copy id the PDF carries (XMP or trailer), whether or not it was issued.
    pub claimed_copy_id: Option<Uuid>,
    /// What differs from the issued copy, for an altered one: which objects, which update.
    pub changes: Vec<String>,
    pub warnings: Vec<String>,
}

impl CopyVerification {
    fn new(verdict: Verdict, message: impl Into<String>) -> Self {
        Self {
            genuine: verdict == Verdict::Genuine,
            verdict,
            message: message.into(),
            signed_at: None,
            signed_at_kyiv: None,
            signer: None,
            copy: None,
            claimed_copy_id: None,
            changes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn with_signature(mut self, signature: &VerifiedSignature) -> Self {
        self.signed_at = signature.signing_time;
        self.signed_at_kyiv = signature.signing_time.map(kyiv_time);
        self.signer = Some(signature.signer_subject.clone());
        self
    }
}

/// What a verifier trusts: the CAs a seal certificate must chain to, the service's own seal
/// certificates, which alone make a copy, and their CAs' revocation lists (none offline, unless
/// given).
#[derive(Clone)]
pub struct SealTrust {
    pub anchors: Vec<X509>,
    pub seals: SealCertificates,
    pub revocation: Option<Arc<RevocationLists>>,
}

impl std::fmt::Debug for SealTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealTrust").field("anchors", &self.anchors.len()).field("revocation", &self.revocation.is_some()).finish()
    }
}

/// The seal alone: a valid signature over `pdf` by a pinned seal certificate (with a seal's key
/// usage, valid at `dated_at`, or at its claimed time offline), and `pdf` is a PDF. `Sealed` if
/// so, else the verdict that says why not. Needs no database, so it works offline.
pub fn check_seal(pdf: &[u8], p7s: &[u8], trust: &SealTrust, dated_at: Option<DateTime<Utc>>) -> CopyVerification {
    let signature = match verify_detached_at(p7s, pdf, &trust.anchors, dated_at) {
        Ok(signature) => signature,
        Err(VerifyError::ContentMismatch) => return CopyVerification::new(Verdict::Altered, VerifyError::ContentMismatch.to_string()),
        Err(e @ VerifyError::UntrustedSigner(_)) => {
            return CopyVerification::new(Verdict::NotIssued, format!("Це не копія, яку видав цей сервіс: {e}."))
        }
        Err(e @ VerifyError::Malformed(_)) => return CopyVerification::new(Verdict::Malformed, e.to_string()),
        Err(e @ VerifyError::Other(_)) => return CopyVerification::new(Verdict::Invalid, e.to_string()),
    };
    if !trust.seals.pins(&signature.signer_certificate) {
        return CopyVerification::new(
            Verdict::NotIssued,
            format!(
                "Це не копія, яку видав цей сервіс: підпис чинний, але його наклав «{}», а не печатка Дія.QR.",
                signature.signer_subject
            ),
        )
        .with_signature(&signature);
    }
    let seal_usage = signature.signer_certificate.key_usage().is_some_and(|u| u.contains(X509KeyUsage::NON_REPUDIATION));
    if !seal_usage {
        return CopyVerification::new(
            Verdict::NotIssued,
            "Це не копія, яку видав цей сервіс: сертифікат підписувача не має призначення печатки (nonRepudiation).",
        )
        .with_signature(&signature);
    }
    if let Err(refusal) = read::open(pdf) {
        return CopyVerification::new(
            Verdict::NotIssued,
            format!("Це не копія, яку видав цей сервіс: печаткою сервісу підписано не PDF-копію, а інший документ ({refusal})."),
        )
        .with_signature(&signature);
    }
    let mut warnings = Vec::new();
    if let Some(revocation) = &trust.revocation {
        // Checked at the registry's time of the copy when there is one: the signer's own claim
        // of when it signed is no proof (a stolen key can claim any time).
        let now = Utc::now();
        let at = dated_at.or(signature.signing_time).unwrap_or(now);
        match revocation.check(&signature.signer_certificate, at, now) {
            Err(RevocationError::Revoked(when)) => {
                return CopyVerification::new(
                    Verdict::Revoked,
                    format!(
                        "Сертифікат печатки «{}» відкликано {when}, до часу цієї копії: вона не є справжньою копією сервісу.",
                        signature.signer_subject
                    ),
                )
                .with_signature(&signature);
            }
            Err(other) => warnings.push(format!("Відкликання сертифіката печатки не перевірено: {other}.")),
            Ok(()) => {
                if let Err(RevocationError::Revoked(when)) = revocation.check(&signature.signer_certificate, now, now) {
                    warnings.push(format!(
                        "Сертифікат печатки відкликано {when}, уже після того, як копію сформовано: копія, зроблена раніше, лишається справжньою."
                    ));
                }
            }
        }
    }
    let when = signature.signing_time.map(kyiv_time).unwrap_or_else(|| "час не вказано".into());
    let mut sealed = CopyVerification::new(
        Verdict::Sealed,
        format!("Печатка сервісу «{}» справжня, накладена {when} (за підписом).", signature.signer_subject),
    )
    .with_signature(&signature);
    sealed.warnings = warnings;
    sealed
}

/// The whole verdict: the registry first (are these bytes an issued copy?), then the seal if a
/// P7S is given, then, for bytes never issued, what the file claims to be and what changed.
/// Warns when the organisation presenting the copy is not its addressee.
pub async fn verify_copy(
    pool: &PgPool,
    pdf: &[u8],
    p7s: Option<&[u8]>,
    trust: &SealTrust,
    presented_by: Option<&str>,
) -> Result<CopyVerification, sqlx::Error> {
    let issued = issued_copy_by_digest(pool, &sha256_hex(pdf)).await?;
    // Parsing the PDF and checking the CMS are CPU work on untrusted input: a blocking thread
    // does them, so the executor keeps serving other requests meanwhile.
    let (seal, presented) = {
        let (pdf, p7s, trust, dated_at) = (pdf.to_vec(), p7s.map(<[u8]>::to_vec), trust.clone(), issued.as_ref().map(|c| c.made_at));
        tokio::task::spawn_blocking(move || (p7s.map(|p7s| check_seal(&pdf, &p7s, &trust, dated_at)), read::open(&pdf)))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    };
    let claimed = presented.as_ref().ok().and_then(|p| p.copy_id);

    let mut result = match (&issued, &seal) {
        (Some(copy), None) => CopyVerification::new(
            Verdict::Genuine,
            format!(
                "Справжня копія: саме ці байти сервіс видав {} для організації «{}». Файл підпису не надано: перевірено за реєстром виданих копій.",
                kyiv_time(copy.made_at),
                copy.organisation_name
            ),
        ),
        (Some(copy), Some(seal)) if seal.verdict == Verdict::Sealed => {
            let mut genuine = CopyVerification::new(
                Verdict::Genuine,
                format!(
                    "Справжня копія: печатку «{}» перевірено, копію сформовано {} для організації «{}».",
                    seal.signer.as_deref().unwrap_or_default(),
                    kyiv_time(copy.made_at),
                    copy.organisation_name
                ),
            );
            // The copy's time is the registry's; the signer's claim only has to agree with it.
            genuine.signer = seal.signer.clone();
            genuine.signed_at = Some(copy.made_at);
            genuine.signed_at_kyiv = Some(kyiv_time(copy.made_at));
            genuine.warnings = seal.warnings.clone();
            if seal.signed_at.is_some_and(|claimed| (claimed - copy.made_at).num_seconds().abs() > 300) {
                genuine.warnings.push(format!(
                    "Час у підписі ({}) не збігається з часом реєстру ({}): чинним є час реєстру.",
                    seal.signed_at_kyiv.as_deref().unwrap_or_default(),
                    kyiv_time(copy.made_at)
                ));
            }
            genuine
        }
        (Some(_), Some(seal)) if seal.verdict == Verdict::Altered => CopyVerification::new(
            Verdict::Invalid,
            "Ці байти сервіс видав, але наданий файл підпису — від іншого документа: перевірте, що .p7s з того самого листа.",
        ),
        (_, Some(seal)) if seal.verdict != Verdict::Sealed && seal.verdict != Verdict::Altered => seal.clone(),
        _ => match &presented {
            Err(refusal) => CopyVerification::new(Verdict::Unreadable, format!("Це не копія, яку видав цей сервіс: {refusal}.")),
            Ok(presented) => never_issued(pool, pdf, presented, seal.as_ref()).await?,
        },
    };
    if result.copy.is_none() {
        result.copy = issued;
    }
    result.claimed_copy_id = claimed.or(result.copy.as_ref().map(|c| c.copy_id));
    if let (Some(copy), Some(presenter)) = (&result.copy, presented_by.map(str::trim).filter(|p| !p.is_empty())) {
        if copy.registry_code.as_deref() != Some(presenter) {
            result.warnings.push(format!(
                "Увага: копію надіслано організації «{}» (код {}), а пред'являє її організація з кодом {presenter}.",
                copy.organisation_name,
                public_code(copy.registry_code.as_deref()).unwrap_or("приховано")
            ));
        }
    }
    Ok(result)
}

/// Bytes the registry does not hold: altered if the file claims an issued copy's id (saying
/// what changed), else not a copy this service made.
async fn never_issued(
    pool: &PgPool,
    pdf: &[u8],
    presented: &PresentedPdf,
    seal: Option<&CopyVerification>,
) -> Result<CopyVerification, sqlx::Error> {
    let claimed = match presented.copy_id {
        Some(id) => issued_copy_by_id(pool, id).await?.map(|copy| (id, copy)),
        None => None,
    };
    let Some((copy_id, copy)) = claimed else {
        let message = match (presented.copy_id, seal) {
            (_, Some(seal)) if seal.verdict == Verdict::Sealed => {
                "Це не копія, яку видав цей сервіс: печатка сервісу справжня, але цих байтів немає в реєстрі виданих копій.".to_owned()
            }
            (_, Some(seal)) if seal.verdict == Verdict::Altered => format!("{} Копії з таким вмістом сервіс не видавав.", seal.message),
            (Some(id), _) => format!("Це не копія, яку видав цей сервіс: файл називає себе копією {id}, але такої копії не видавали."),
            (None, _) => {
                "Це не копія, яку видав цей сервіс: у файлі немає ідентифікатора копії Дія.QR, і таких байтів сервіс не видавав.".to_owned()
            }
        };
        let verdict = if seal.is_some_and(|s| s.verdict == Verdict::Altered) { Verdict::Altered } else { Verdict::NotIssued };
        return Ok(CopyVerification::new(verdict, message));
    };
    let files = issued_files(pool, copy_id).await?;
    let mut result = CopyVerification::new(
        Verdict::Altered,
        format!(
            "Копію змінено: файл називає себе копією {copy_id}, яку сервіс сформував {} для організації «{}», але його байти відрізняються від виданих.",
            kyiv_time(copy.made_at),
            copy.organisation_name
        ),
    );
    result.changes = what_changed(pdf, presented, &files);
    result.copy = Some(copy);
    Ok(result)
}

/// What distinguishes `pdf` from the files issued under its id, as far as lopdf can tell.
pub fn what_changed(pdf: &[u8], presented: &PresentedPdf, issued: &[IssuedFile]) -> Vec<String> {
    let mut changes = Vec::new();
    if presented.copy_ids_disagree {
        changes.push("ідентифікатор копії в метаданих XMP не збігається з ідентифікатором файлу (/ID)".to_owned());
    }
    // The issued bytes, then something appended: an incremental update or plain bytes.
    for &end in &presented.earlier_revision_ends {
        let prefix = sha256_hex(&pdf[..end]);
        if issued.iter().any(|f| f.pdf_sha256 == prefix) {
            let touched: Vec<String> = presented.objects_from(end).map(|o| o.describe()).collect();
            changes.push(if touched.is_empty() {
                format!("перші {end} байтів — видана копія, після її кінця дописано ще {} байтів", pdf.len() - end)
            } else {
                format!(
                    "перші {end} байтів — видана копія, після неї дописано інкрементне оновлення ({} байтів), яке додає або замінює: {}",
                    pdf.len() - end,
                    touched.join(", ")
                )
            });
            return changes;
        }
    }
    if presented.xref_repaired {
        changes.push("таблиця перехресних посилань не відповідає файлу: байти вставлено або вилучено".to_owned());
    }
    // Object by object against the issued file of the same length (or the first one).
    let reference = issued.iter().find(|f| f.pdf_length == Some(pdf.len() as i64)).or(issued.first());
    if let Some(file) = reference {
        if let Some(length) = file.pdf_length.filter(|&l| l != pdf.len() as i64) {
            changes.push(format!("розмір файлу {} байтів, а виданої копії — {length}", pdf.len()));
        }
        if let Some(issued_digests) = &file.object_digests {
            let presented_digests = read::object_digests(presented, pdf);
            for object in &presented.objects {
                let now = presented_digests.iter().find(|(n, _)| *n == object.number).map(|(_, d)| d);
                match issued_digests.iter().find(|(n, _)| *n == object.number) {
                    None => changes.push(format!("додано {}", object.describe())),
                    Some((_, then)) if Some(then) != now => changes.push(format!("змінено {}", object.describe())),
                    Some(_) => {}
                }
            }
            for (number, _) in issued_digests.iter() {
                if !presented.objects.iter().any(|o| o.number == *number) {
                    changes.push(format!("вилучено об'єкт {number}"));
                }
            }
        }
    }
    if changes.is_empty() {
        changes.push("байти файлу відрізняються від виданих".to_owned());
    }
    changes
}

#[cfg(test)]
mod tests;

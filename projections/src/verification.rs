//! Verification of a presented copy: its seal (CMS over the exact PDF bytes, checked against the
//! published trust anchors at the signing time), and the registry of issued copies, which says
//! when and for which organisation the copy was made.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::digest::sha256_hex;
use crate::documents::wording::kyiv_time;
use crate::seal::{verify_detached, VerifyError};

/// What the registry knows of an issued copy.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct IssuedCopy {
    pub copy_id: Uuid,
    pub share_request_id: Uuid,
    pub partner_id: Uuid,
    pub organisation_name: String,
    /// ЄДРПОУ (or a ФОП's РНОКПП) of the addressee.
    pub registry_code: Option<String>,
    pub branch_name: String,
    pub branch_address: String,
    pub purposes: serde_json::Value,
    pub document_type: String,
    pub made_at: DateTime<Utc>,
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
        "SELECT {COLUMNS} FROM issued_copies c LEFT JOIN partners_view p USING (partner_id) WHERE c.copy_id = $1 LIMIT 1"
    ))
    .bind(copy_id)
    .fetch_optional(pool)
    .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The seal is valid over these exact bytes and leads to a trusted anchor.
    Genuine,
    /// The signature does not match the document: it was changed after sealing.
    Altered,
    /// Signed, but not by a seal these anchors vouch for.
    Untrusted,
    /// The signature's own value does not match its signed attributes: damaged or forged.
    Invalid,
    /// The signature file is not a CMS signature at all.
    Malformed,
}

#[derive(Debug, Clone, Serialize)]
pub struct CopyVerification {
    pub verdict: Verdict,
    pub genuine: bool,
    /// One sentence for a person, in Ukrainian.
    pub message: String,
    pub signed_at: Option<DateTime<Utc>>,
    pub signed_at_kyiv: Option<String>,
    pub signer: Option<String>,
    pub copy: Option<IssuedCopy>,
    pub warnings: Vec<String>,
}

/// Checks the seal only: needs nothing but the trust anchors, so it works offline.
pub fn check_seal(pdf: &[u8], p7s: &[u8], anchors: &[openssl::x509::X509]) -> CopyVerification {
    let (verdict, message, signed_at, signer) = match verify_detached(p7s, pdf, anchors) {
        Ok(v) => {
            let when = v.signing_time.map(kyiv_time).unwrap_or_else(|| "час не вказано".into());
            (
                Verdict::Genuine,
                format!("Справжня копія: печатку «{}» накладено {when}.", v.signer_subject),
                v.signing_time,
                Some(v.signer_subject),
            )
        }
        Err(VerifyError::ContentMismatch) => (Verdict::Altered, VerifyError::ContentMismatch.to_string(), None, None),
        Err(e @ VerifyError::UntrustedSigner(_)) => (Verdict::Untrusted, e.to_string(), None, None),
        Err(e @ VerifyError::Malformed(_)) => (Verdict::Malformed, e.to_string(), None, None),
        Err(e @ VerifyError::Other(_)) => (Verdict::Invalid, e.to_string(), None, None),
    };
    CopyVerification {
        genuine: verdict == Verdict::Genuine,
        verdict,
        message,
        signed_at_kyiv: signed_at.map(kyiv_time),
        signed_at,
        signer,
        copy: None,
        warnings: Vec::new(),
    }
}

/// Checks the seal, then asks the registry when and for whom the copy was made, and warns when
/// the organisation presenting it is not the addressee.
pub async fn verify_copy(
    pool: &PgPool,
    pdf: &[u8],
    p7s: &[u8],
    anchors: &[openssl::x509::X509],
    presented_by: Option<&str>,
) -> Result<CopyVerification, sqlx::Error> {
    let mut result = check_seal(pdf, p7s, anchors);
    if !result.genuine {
        return Ok(result);
    }
    result.copy = issued_copy_by_digest(pool, &sha256_hex(pdf)).await?;
    match (&result.copy, presented_by.map(str::trim).filter(|p| !p.is_empty())) {
        (None, _) => result.warnings.push(
            "Цієї копії немає в реєстрі виданих копій цього сервісу: печатка справжня, але копію видав інший екземпляр Дія.QR.".into(),
        ),
        (Some(copy), Some(presenter)) if copy.registry_code.as_deref() != Some(presenter) => result.warnings.push(format!(
            "Увага: копію надіслано організації «{}» (код {}), а пред'являє її організація з кодом {presenter}.",
            copy.organisation_name,
            copy.registry_code.as_deref().unwrap_or("невідомий")
        )),
        _ => {}
    }
    if let Some(copy) = &result.copy {
        result.message =
            format!("{} Копію сформовано {} для організації «{}».", result.message, kyiv_time(copy.made_at), copy.organisation_name);
    }
    Ok(result)
}

//! A partner's received copies, again: the list of a share's copies, and each copy rendered and
//! sealed exactly as mailed (the same PDF, so it verifies as the mailed one), every download an
//! entry in the audit trail.

use diia_qr_domain::share_request::ShareStatus;
use diia_qr_projections::audit_trail::access::Access;
use diia_qr_projections::documents::copies::{copy_id, file_stem};
use diia_qr_projections::reactors::delivery::{record_issued, sent_copies, sign_copies, SentCopies};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{Engine, EngineError, PartnerIdentity, Rendered};

/// One copy a share sent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceivedCopy {
    pub copy_id: Uuid,
    pub document_type: String,
    /// The attachment's file name without extension, as in the letter.
    pub file_stem: String,
}

/// Which half of a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyPart {
    Pdf,
    Signature,
}

impl Engine {
    fn share_not_found() -> EngineError {
        EngineError::not_found("share-not-found", "такого отриманого запиту немає")
    }

    /// The copies a share sent to this partner.
    pub async fn received_copies(&self, who: &PartnerIdentity, share_request_id: Uuid) -> Result<Vec<ReceivedCopy>, EngineError> {
        let share = self.shares.load(share_request_id).await?;
        if share.snapshot().map(|s| s.partner_id) != Some(who.partner_id()) {
            return Err(Self::share_not_found());
        }
        if !matches!(share.status(), ShareStatus::Sent | ShareStatus::Delivered | ShareStatus::DeliveryFailed) {
            return Ok(Vec::new());
        }
        let Some(sent) = sent_copies(&self.pool, share_request_id).await? else { return Ok(Vec::new()) };
        Ok(sent
            .copies
            .iter()
            .map(|d| {
                let id = copy_id(sent.copy_seed, d);
                ReceivedCopy { copy_id: id, document_type: d.document_type.code().to_string(), file_stem: file_stem(d, id) }
            })
            .collect())
    }

    /// One copy's PDF or its P7S, rendered and sealed as when it was sent; recorded in the trail.
    pub async fn download_copy(
        &self,
        who: &PartnerIdentity,
        share_request_id: Uuid,
        wanted: Uuid,
        part: CopyPart,
    ) -> Result<Rendered, EngineError> {
        let share = self.shares.load(share_request_id).await?;
        if share.snapshot().map(|s| s.partner_id) != Some(who.partner_id()) {
            return Err(Self::share_not_found());
        }
        if let Some((at, reason)) = share.erased() {
            return Err(EngineError::Rule {
                code: "share-data-erased",
                kind: diia_qr_domain::RuleKind::Gone,
                diia_code: None,
                message: format!("копій більше немає: персональні дані видалено {} ({})", at.to_rfc3339(), reason.label_uk()),
            });
        }
        let Some(SentCopies { snapshot, copies, made_at, copy_seed }) = sent_copies(&self.pool, share_request_id).await? else {
            return Err(EngineError::not_found("copy-not-found", "цей запит ще не надсилав копій"));
        };
        let Some(document) = copies.into_iter().find(|d| copy_id(copy_seed, d) == wanted) else {
            return Err(EngineError::not_found("copy-not-found", "такої копії в цьому запиті немає"));
        };
        let access = Access {
            kind: "access.download",
            partner_id: Some(who.partner_id()),
            share_request_id: Some(share_request_id),
            actor_role: "partner-head",
            actor_id: who.head.rnokpp.to_string(),
            facts: vec![
                ("copy_id", json!(wanted.to_string())),
                ("document_type", json!(document.document_type.code())),
                ("part", json!(if part == CopyPart::Pdf { "pdf" } else { "p7s" })),
            ],
            committed: Vec::new(),
        };
        self.audit.record(&access).await?;
        let (seal, base, snap, docs) = (self.seal.clone(), self.settings.public_base_url.clone(), snapshot.clone(), vec![document]);
        let mut signed =
            tokio::task::spawn_blocking(move || sign_copies(seal.as_ref(), share_request_id, copy_seed, &snap, &docs, made_at, &base))
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?
                .map_err(EngineError::Internal)?;
        record_issued(&self.pool, share_request_id, &snapshot, &signed, made_at).await?;
        let copy = signed.remove(0);
        Ok(match part {
            CopyPart::Pdf => Rendered { content_type: "application/pdf", bytes: copy.pdf },
            CopyPart::Signature => Rendered { content_type: "application/pkcs7-signature", bytes: copy.p7s },
        })
    }
}

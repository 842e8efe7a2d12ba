//! Verification of copies, for anyone: the verdict on a presented PDF and its P7S, and what the
//! registry of issued copies says about a copy id. The published trust anchors too.

use diia_qr_projections::audit_trail::access::Access;
use diia_qr_projections::verification::{issued_copy_by_id, verify_copy, CopyVerification, IssuedCopy};
use serde_json::json;
use uuid::Uuid;

use super::{Engine, EngineError};

impl Engine {
    /// PEM of the certificates that verify the copies' seal.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// PEM of the service's seal certificates, current first: the only signers of a genuine
    /// copy, for verifiers to pin (`diia-qr verify --seal-certificates`).
    pub fn seal_certificates_pem(&self) -> &str {
        &self.seal_certificates_pem
    }

    /// The verdict is the answer, whatever it is: an altered copy is a verdict, not an error. A
    /// verdict on a copy this service issued is an access to its share: the trail records it.
    pub async fn verify_copy(&self, pdf: &[u8], p7s: Option<&[u8]>, presented_by: Option<&str>) -> Result<CopyVerification, EngineError> {
        let verification = verify_copy(&self.pool, pdf, p7s, &self.seal_trust, presented_by).await?;
        if let Some(copy) = &verification.copy {
            let mut facts = vec![
                ("copy_id", json!(copy.copy_id.to_string())),
                ("document_type", json!(copy.document_type)),
                ("verdict", serde_json::to_value(verification.verdict).unwrap_or_default()),
                ("with_signature", json!(p7s.is_some())),
            ];
            facts.push(("presenter_named", json!(presented_by.is_some_and(|p| !p.trim().is_empty()))));
            let access = Access {
                kind: "access.verification",
                partner_id: Some(copy.partner_id),
                share_request_id: Some(copy.share_request_id),
                actor_role: "public",
                actor_id: String::new(),
                facts,
                committed: presented_by
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| ("presented_by", p.trim().to_string()))
                    .into_iter()
                    .collect(),
            };
            self.audit.record(&access).await?;
        }
        Ok(verification)
    }

    pub async fn issued_copy(&self, copy_id: Uuid) -> Result<IssuedCopy, EngineError> {
        issued_copy_by_id(&self.pool, copy_id)
            .await?
            .ok_or_else(|| EngineError::not_found("copy-not-found", "копії з таким ідентифікатором не видавали"))
    }
}
